/*
 * fuzz_metrics.c -- the metrics request parser, status_check on arbitrary
 * bytes, and the status file and /metrics answer rendered from arbitrary
 * state.
 *
 * Input: byte 0 picks the target (mod 3) and, for the parser, the cap
 * (bit 2: 64 bytes instead of METRICS_REQUEST_MAX); the rest is the data.
 * Properties:
 *  - parser: the verdict of a prefix is "more" or the final verdict, and
 *    once a prefix decides, every longer one decides the same (the
 *    listener parses what it has so far); a decided request's header
 *    block lies within the bytes; its answer renders, starts with a
 *    status line and carries no body for HEAD;
 *  - status_check: 0 or 1, a one-line reason within its buffer;
 *  - state: status_format always succeeds and status_check reads its own
 *    output back (never "status file: ..."); the /metrics body has one
 *    line per namespace beside the twelve fixed ones, every line a
 *    comment or a sample of a regcred_ family.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "metrics.h"
#include "state.h"
#include "status.h"

#define SMALL_CAP	64
#define PREFIX_ALL	256	/* every prefix up to this length */
#define PREFIX_SAMPLES	32
#define FIXED_LINES	12
#define TIME_MAX	253402300799LL

static struct state	st;
static char		out[METRICS_RESPONSE_MAX];
static char		file[STATUS_MAX];

static void
fuzz_parser(const char *d, size_t len, size_t cap)
{
	struct metrics_req	whole, r;
	size_t			k, n = len < cap ? len : cap, step, start, end;
	int			decided = 0;

	metrics_parse(d, n, cap, &whole);
	step = n <= PREFIX_ALL ? 1 : n / PREFIX_SAMPLES + 1;
	for (k = 0; k <= n; k += step) {
		metrics_parse(d, k, cap, &r);
		FUZZ_CHECK(r.route == METRICS_MORE || (r.route == whole.route &&
		    r.head == whole.head));
		FUZZ_CHECK(!decided || r.route != METRICS_MORE);
		decided = r.route != METRICS_MORE;
	}
	if (whole.route == METRICS_MORE) {
		FUZZ_CHECK(n < cap);
		return;
	}
	FUZZ_CHECK(whole.used <= n);
	memset(&st, 0, sizeof(st));
	end = metrics_answer(&whole, &st, out, sizeof(out), &start);
	FUZZ_CHECK(end > start && end <= sizeof(out));
	FUZZ_CHECK(memcmp(out + start, "HTTP/1.1 ", 9) == 0);
	if (whole.head)
		FUZZ_CHECK(memcmp(out + end - 4, "\r\n\r\n", 4) == 0);
}

static void
fuzz_check(const char *d, size_t len)
{
	char	reason[LOG_LINE_MAX];
	size_t	i, n;
	int	rc;

	memset(reason, 'Z', sizeof(reason));
	rc = status_check(d, len, 1800000000LL, 3600, reason, sizeof(reason));
	FUZZ_CHECK(rc == 0 || rc == 1);
	n = strnlen(reason, sizeof(reason));
	FUZZ_CHECK(n < sizeof(reason));
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)reason[i] >= 0x20 && reason[i] != 0x7f);
}

/* Takes up to cap-1 bytes of the data for a string of st. */
static void
take(const char **d, size_t *len, char *dst, size_t cap)
{
	size_t	n = *len > 0 ? (unsigned char)(*d)[0] % cap : 0;

	if (*len > 0) {
		(*d)++;
		(*len)--;
	}
	if (n > *len)
		n = *len;
	if (n > cap - 1)
		n = cap - 1;
	memset(dst, 0, cap);
	memcpy(dst, *d, n);
	*d += n;
	*len -= n;
}

static int64_t
take_time(const char **d, size_t *len)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < 5 && *len > 0; i++, (*d)++, (*len)--)
		v = v << 8 | (unsigned char)(*d)[0];
	return (int64_t)(v % (uint64_t)(TIME_MAX + 1));
}

static void
fuzz_state(const char *d, size_t len)
{
	char		reason[LOG_LINE_MAX];
	struct err	e;
	size_t		i, flen, start, end, lines = 0;
	struct metrics_req r = { METRICS_METRICS, 0, 0 };

	memset(&st, 0, sizeof(st));
	st.nns = len > 0 ? (unsigned char)d[0] % 9 : 0;
	take(&d, &len, st.secret, sizeof(st.secret));
	take(&d, &len, st.last_error, sizeof(st.last_error));
	st.last_success = take_time(&d, &len);
	st.refresh_ok = (uint64_t)take_time(&d, &len) << 24;
	for (i = 0; i < st.nns; i++) {
		take(&d, &len, st.ns[i].name, sizeof(st.ns[i].name));
		take(&d, &len, st.ns[i].last_error, sizeof(st.ns[i].last_error));
		st.ns[i].expiry = take_time(&d, &len);
	}
	FUZZ_CHECK(status_format(&st, file, sizeof(file), &flen, &e) == 0);
	(void)status_check(file, flen, 1800000000LL, 3600, reason,
	    sizeof(reason));
	FUZZ_CHECK(strncmp(reason, "status file", 11) != 0 || st.nns == 0);
	end = metrics_answer(&r, &st, out, sizeof(out), &start);
	FUZZ_CHECK(end > start);
	/* the headers end just before the body, which is at METRICS_HEAD_MAX */
	FUZZ_CHECK(memcmp(out + METRICS_HEAD_MAX - 4, "\r\n\r\n", 4) == 0);
	for (i = METRICS_HEAD_MAX; i < end; i = (size_t)((char *)memchr(out + i, '\n',
	    end - i) - out) + 1, lines++)
		FUZZ_CHECK(memcmp(out + i, "# ", 2) == 0 ||
		    memcmp(out + i, "regcred_", 8) == 0);
	FUZZ_CHECK(lines == FIXED_LINES + st.nns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*d = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_parser(d, size - 1, data[0] & 4 ? SMALL_CAP :
		    METRICS_REQUEST_MAX);
		break;
	case 1:
		fuzz_check(d, size - 1);
		break;
	default:
		fuzz_state(d, size - 1);
		break;
	}
	return 0;
}
