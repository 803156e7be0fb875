/*
 * log.c -- error messages and the log lines on stderr.
 *
 * Owns: quoting of untrusted server text, the list of secrets that must
 * never be printed, and redaction of every line: registered secrets, whole
 * or cut or any piece of LOG_PIECE_MIN bytes (found through a bit filter
 * of their pieces' hashes, so a line costs one hash per byte), anything
 * shaped like a JWT or a Google access token, and control bytes. Text lines read "regcred: LEVEL STEP: MESSAGE"; JSON lines are
 * one object each with time, level, step and msg.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "json.h"
#include "log.h"

#define REDACTED	"[REDACTED]"
#define SECRET_MIN	8	/* shorter strings are not registered */
#define JWT_MIN		20	/* "eyJ" + this many token bytes is a JWT */
#define PIECE_BITS	16	/* the piece filter: 2^16 bits, 8 KiB */

struct secret {
	const char	*s;
	size_t		 len;
};

static struct secret	log_secrets[LOG_SECRETS_MAX];
static size_t		log_nsecrets;
/* Bit h set when some LOG_PIECE_MIN-byte piece of a secret hashes to h:
 * a line is searched for pieces only where its own piece's bit is set. */
static uint8_t		log_pieces[(1 << PIECE_BITS) / 8];
static enum log_format	log_fmt = LOG_TEXT;

/* FNV-1a of one piece, folded to PIECE_BITS. */
static unsigned
log_piece_hash(const char *s)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < LOG_PIECE_MIN; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return (unsigned)((h ^ h >> PIECE_BITS) & ((1u << PIECE_BITS) - 1));
}

int
log_secret_add(const char *s, size_t len)
{
	size_t		i;
	unsigned	h;

	if (len < SECRET_MIN)
		return 0;
	if (log_nsecrets == LOG_SECRETS_MAX)
		return -1;
	log_secrets[log_nsecrets].s = s;
	log_secrets[log_nsecrets].len = len;
	log_nsecrets++;
	for (i = 0; len >= LOG_PIECE_MIN && i <= len - LOG_PIECE_MIN; i++) {
		h = log_piece_hash(s + i);
		log_pieces[h / 8] |= (uint8_t)(1u << (h % 8));
	}
	return 0;
}

void
log_secret_clear(void)
{
	explicit_bzero(log_secrets, sizeof(log_secrets));
	explicit_bzero(log_pieces, sizeof(log_pieces));
	log_nsecrets = 0;
}

/* Where the LOG_PIECE_MIN bytes at p occur in the secret, or -1. */
static long
log_piece_find(const struct secret *sec, const char *p)
{
	size_t	i;

	for (i = 0; i + LOG_PIECE_MIN <= sec->len; i++)
		if (sec->s[i] == p[0] &&
		    memcmp(sec->s + i, p, LOG_PIECE_MIN) == 0)
			return (long)i;
	return -1;
}

/* Bytes from s[pos] that continue a piece of a registered secret. */
static size_t
log_piece_at(const char *s, size_t len, size_t pos)
{
	unsigned	 h;
	size_t		 i, n, off;
	long		 hit;

	if (len - pos < LOG_PIECE_MIN)
		return 0;
	h = log_piece_hash(s + pos);
	if (!(log_pieces[h / 8] & (1u << (h % 8))))
		return 0;
	for (i = 0; i < log_nsecrets; i++) {
		if ((hit = log_piece_find(&log_secrets[i], s + pos)) < 0)
			continue;
		off = (size_t)hit;
		for (n = LOG_PIECE_MIN; n < len - pos &&
		    off + n < log_secrets[i].len &&
		    s[pos + n] == log_secrets[i].s[off + n]; n++)
			;
		return n;
	}
	return 0;
}

static int
log_is_tokchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~' || c == '+' || c == '/' || c == '=';
}

/* Bytes that make a word go on: a token after one is inside a word. */
static int
log_is_wordchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* Length of a token-shaped string at s[pos..len), 0 if none. */
static size_t
log_token_at(const char *s, size_t len, size_t pos)
{
	size_t	i, n;

	if ((n = log_piece_at(s, len, pos)) > 0)
		return n;
	for (i = 0; i < log_nsecrets; i++) {
		/* a secret cut short by the end of the text still counts */
		n = log_secrets[i].len;
		if (n > len - pos)
			n = len - pos;
		if (n >= SECRET_MIN &&
		    memcmp(s + pos, log_secrets[i].s, n) == 0)
			return n;
	}
	if (pos > 0 && log_is_wordchar((unsigned char)s[pos - 1]))
		return 0;
	if (len - pos >= 5 && memcmp(s + pos, "ya29.", 5) == 0)
		n = 5;
	else if (len - pos >= 3 && memcmp(s + pos, "eyJ", 3) == 0)
		n = 3;
	else
		return 0;
	i = n;
	while (i < len - pos && log_is_tokchar((unsigned char)s[pos + i]))
		i++;
	if (n == 3 && i < JWT_MIN)
		return 0;
	return i;
}

/*
 * A line never ends in 8 or more of a secret's first bytes, even when the
 * text did not hold the secret there (a line cut to fit, a quote cut short,
 * a redaction that shortened what follows): to a reader it is a secret cut
 * short all the same, so that tail goes too.
 */
static void
log_redact_tail(char *s, size_t cap, size_t n)
{
	size_t	i, k;
	int	again = 1;

	/* a tail dropped for want of room exposes a new one: until none */
	while (again) {
		again = 0;
		for (i = 0; i < log_nsecrets && !again; i++)
			for (k = log_secrets[i].len - 1; k >= SECRET_MIN; k--) {
				if (k > n || memcmp(s + n - k, log_secrets[i].s,
				    k) != 0)
					continue;
				n -= k;
				if (sizeof(REDACTED) - 1 < cap - n) {
					memcpy(s + n, REDACTED,
					    sizeof(REDACTED) - 1);
					n += sizeof(REDACTED) - 1;
				} else
					again = 1;
				s[n] = '\0';
				break;
			}
	}
}

void
log_redact(char *s, size_t cap)
{
	char	out[LOG_LINE_MAX];
	size_t	len, pos, o, n;

	len = strnlen(s, cap);
	for (pos = 0, o = 0; pos < len && o < sizeof(out) - 1; ) {
		n = log_token_at(s, len, pos);
		if (n == 0) {
			out[o++] = s[pos++];
			continue;
		}
		if (sizeof(REDACTED) - 1 > sizeof(out) - 1 - o)
			break;
		memcpy(out + o, REDACTED, sizeof(REDACTED) - 1);
		o += sizeof(REDACTED) - 1;
		pos += n;
	}
	out[o] = '\0';
	if (cap > 0) {
		n = o < cap - 1 ? o : cap - 1;
		memcpy(s, out, n);
		s[n] = '\0';
		log_redact_tail(s, cap, n);
	}
	explicit_bzero(out, sizeof(out));
}

void
log_quote(char *dst, size_t cap, const char *src, size_t len)
{
	size_t		i, o, max;
	unsigned char	c;

	if (cap == 0)
		return;
	if (cap < 4) {
		dst[0] = '\0';
		return;
	}
	max = cap - 1 < LOG_QUOTE_MAX ? cap - 1 : LOG_QUOTE_MAX;
	for (i = 0, o = 0; i < len && o < max; i++) {
		c = (unsigned char)src[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && (o == 0 || dst[o - 1] == ' '))
			continue;
		dst[o++] = (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	if (i < len && o > max - 3)
		o = max - 3;
	dst[o] = '\0';
	log_redact(dst, cap);	/* before "...": a cut secret still matches */
	o = strlen(dst);	/* log_redact checked its end (a cut secret) */
	if (i < len && cap - o > 3) {
		memcpy(dst + o, "...", 4);
	}
}

void
log_init(enum log_format fmt)
{
	log_fmt = fmt;
}

/* "regcred: LEVEL STEP: MESSAGE\n"; a cut line still ends in "\n". */
static size_t
log_line_text(char *line, size_t cap, const char *level, const char *step,
    const char *m)
{
	int	n;

	n = fmt_print(line, cap, "regcred: %s %s: %s\n", level, step, m);
	if (n < 0)
		return 0;
	if ((size_t)n >= cap) {
		memcpy(line + cap - 5, "...\n", 5);
		return cap - 1;
	}
	return (size_t)n;
}

/* One JSON object and "\n"; cap allows every byte of m to be escaped. */
static size_t
log_line_json(char *line, size_t cap, const char *level, const char *step,
    const char *m)
{
	struct jw	w;
	struct tm	tm;
	time_t		now = time(NULL);
	char		ts[32];

	if (gmtime_r(&now, &tm) == NULL ||
	    fmt_print(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec) >= (int)sizeof(ts))
		ts[0] = '\0';
	jw_init(&w, line, cap - 1);
	jw_object_open(&w);
	jw_key(&w, "time", 4);
	jw_string(&w, ts, strlen(ts));
	jw_key(&w, "level", 5);
	jw_string(&w, level, strlen(level));
	jw_key(&w, "step", 4);
	jw_string(&w, step, strlen(step));
	jw_key(&w, "msg", 3);
	jw_string(&w, m, strlen(m));
	jw_object_close(&w);
	if (w.failed || w.len > cap - 2)
		return 0;
	line[w.len] = '\n';
	return w.len + 1;
}

/* Copies len bytes of src, a control byte becoming a space: no value
 * (a flag, an escaped "\n" in a config) can start a line of its own. */
static void
log_clean(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' :
		    src[i];
	dst[len] = '\0';
}

static void
log_emit(const char *level, const char *step, const char *msg)
{
	static char	line[LOG_LINE_MAX * 6 + 256];
	char		m[LOG_LINE_MAX];
	size_t		len;

	len = strnlen(msg, sizeof(m) - 1);
	log_clean(m, msg, len);
	log_redact(m, sizeof(m));
	if (log_fmt == LOG_TEXT)
		len = log_line_text(line, sizeof(line), level, step, m);
	else
		len = log_line_json(line, sizeof(line), level, step, m);
	if (len > 0 && write(STDERR_FILENO, line, len) < 0)
		len = 0;	/* nowhere left to report it */
	explicit_bzero(m, sizeof(m));
	explicit_bzero(line, sizeof(line));
}

void
log_info(const char *step, const char *fmt, ...)
{
	struct err	e;
	va_list		ap;
	int		n;

	va_start(ap, fmt);
	n = fmt_vprint(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		e.msg[0] = '\0';
	else if ((size_t)n >= sizeof(e.msg))
		memcpy(e.msg + sizeof(e.msg) - 4, "...", 4);
	log_emit("info", step, e.msg);
}

void
log_error(const char *step, const struct err *e)
{
	log_emit("error", step, e->msg);
}
