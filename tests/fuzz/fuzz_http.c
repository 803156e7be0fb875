/*
 * fuzz_http.c -- the HTTP response parser (http_resp_init, _feed, _eof).
 *
 * Input: byte 0 flags (bit 0: a 64-byte body buffer instead of
 * HTTP_BODY_MAX; bit 1: TLS close_notify seen at the end), byte 1 the
 * number of cuts (mod 8), then two bytes per cut (an offset into the
 * response), then the response bytes.
 * Properties: the verdict and every field are the same whether the
 * response is fed whole, in the chosen slices, or a byte at a time; a
 * complete response has a status in 200..599 (1xx are skipped), a body
 * within the buffer (none for 204/304), Retry-After -1..86400 and a
 * Content-Type without control bytes but HTAB.
 */
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "log.h"

#define SMALL_BODY	64
#define CUTS_MAX	8

struct outcome {
	int	rc;		/* 1 complete, -1 error */
	int	status;
	size_t	bodylen;
	int	retry_after;
	char	ct[128];
};

static struct http_resp	resp;
static uint8_t		body[3][HTTP_BODY_MAX];

/* Feeds d in the slices that end at cut[0..ncut) (ascending) and at len. */
static void
run(const uint8_t *d, size_t len, const size_t *cut, size_t ncut,
    int notify, size_t cap, uint8_t *b, struct outcome *o)
{
	struct err	e;
	size_t		pos = 0, end, used, i;
	int		rc = 0;

	http_resp_init(&resp, b, cap);
	for (i = 0; i <= ncut && rc == 0; i++) {
		end = i < ncut ? cut[i] : len;
		if (end < pos)
			continue;
		rc = http_resp_feed(&resp, d + pos, end - pos, &used, &e);
		FUZZ_CHECK(used <= end - pos);
		FUZZ_CHECK(rc != 0 || used == end - pos);
		pos = end;
	}
	if (rc == 0)
		rc = http_resp_eof(&resp, notify, &e) == 0 ? 1 : -1;
	memset(o, 0, sizeof(*o));
	o->rc = rc;
	if (rc != 1)
		return;
	o->status = resp.status;
	o->bodylen = resp.bodylen;
	o->retry_after = resp.retry_after;
	FUZZ_CHECK(strnlen(resp.content_type, sizeof(o->ct)) < sizeof(o->ct));
	memcpy(o->ct, resp.content_type, sizeof(o->ct));
}

static void
check_complete(const struct outcome *o, size_t cap)
{
	if (o->rc != 1)
		return;
	FUZZ_CHECK(o->status >= 200 && o->status <= 599);
	FUZZ_CHECK(o->bodylen <= cap);
	FUZZ_CHECK((o->status != 204 && o->status != 304) || o->bodylen == 0);
	FUZZ_CHECK(o->retry_after >= -1 &&
	    o->retry_after <= HTTP_RETRY_AFTER_MAX);
	FUZZ_CHECK(!fuzz_has_ctl(o->ct, strlen(o->ct), 1));
}

static void
same(const struct outcome *a, const uint8_t *ab, const struct outcome *b,
    const uint8_t *bb)
{
	FUZZ_CHECK(a->rc == b->rc);
	if (a->rc != 1)
		return;
	FUZZ_CHECK(a->status == b->status && a->bodylen == b->bodylen);
	FUZZ_CHECK(memcmp(ab, bb, a->bodylen) == 0);
	FUZZ_CHECK(a->retry_after == b->retry_after);
	FUZZ_CHECK(strcmp(a->ct, b->ct) == 0);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t	bytes[HTTP_BODY_MAX];
	struct outcome	whole, cut, one;
	size_t		cuts[CUTS_MAX], ncut, i, len, cap;
	int		notify;

	if (size < 2)
		return 0;
	cap = data[0] & 1 ? SMALL_BODY : HTTP_BODY_MAX;
	notify = (data[0] >> 1) & 1;
	ncut = data[1] % CUTS_MAX;
	if (size < 2 + 2 * ncut)
		return 0;
	len = size - 2 - 2 * ncut;
	for (i = 0; i < ncut; i++)
		cuts[i] = len == 0 ? 0 :
		    (size_t)(data[2 + 2 * i] | data[3 + 2 * i] << 8) % len;
	qsort(cuts, ncut, sizeof(cuts[0]), cmp_size);
	data += 2 + 2 * ncut;

	run(data, len, NULL, 0, notify, cap, body[0], &whole);
	check_complete(&whole, cap);
	run(data, len, cuts, ncut, notify, cap, body[1], &cut);
	same(&whole, body[0], &cut, body[1]);
	if (len <= HTTP_HEADER_MAX) {
		for (i = 0; i < len; i++)
			bytes[i] = i + 1;
		run(data, len, bytes, len, notify, cap, body[2], &one);
		same(&whole, body[0], &one, body[2]);
	}
	return 0;
}
