/*
 * fuzz_json.c -- the JSON reader (json_parse and the getters) and the
 * answer parsers built on it: sts_parse, iam_parse, entra_parse,
 * oauth_error_message and kube_error_message.
 *
 * Properties: json_parse accepts exactly what a small independent
 * RFC 8259 checker (below) accepts, within JSON_TOKENS_MAX tokens and
 * JSON_DEPTH_MAX nesting; json_string decodes as an independent
 * unescaper does and what it returns, written back by jw_string, reads
 * back the same (valid UTF-8); json_int agrees with strtoll; json_find
 * finds every key once or reports the duplicate; a token parsed is
 * printable ASCII within TOKEN_MAX with a sane expiry (IAM: the
 * expireTime fields, offset included, read back by gmtime); error
 * messages are NUL-terminated, without control bytes, and never show a
 * registered secret.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "oauth.h"
#include "sts.h"
#include "entra.h"

#define NOW		1764500000LL
#define SECRET		"fuzzSECRETfuzzSECRET"
#define BIG		(1 << 20)	/* longer inputs are skipped */

/* ---- the independent checker: recursive descent over the bytes ------- */

struct ref {
	const char	*s;
	size_t		 n, i;
	int		 ntok, depth, maxdepth;
};

static void
ref_ws(struct ref *r)
{
	while (r->i < r->n && strchr(" \t\r\n", r->s[r->i]) && r->s[r->i])
		r->i++;
}

static int
ref_lit(struct ref *r, const char *w)
{
	size_t	k = strlen(w);

	if (r->n - r->i < k || memcmp(r->s + r->i, w, k) != 0)
		return 0;
	r->i += k;
	return 1;
}

static int
ref_digits(struct ref *r)
{
	size_t	start = r->i;

	while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
		r->i++;
	return r->i > start;
}

static int
ref_number(struct ref *r)
{
	ref_lit(r, "-");
	if (!ref_lit(r, "0") && !(r->i < r->n && r->s[r->i] >= '1' &&
	    r->s[r->i] <= '9' && ref_digits(r)))
		return 0;
	if (ref_lit(r, ".") && !ref_digits(r))
		return 0;
	if (ref_lit(r, "e") || ref_lit(r, "E")) {
		if (!ref_lit(r, "+"))
			ref_lit(r, "-");
		if (!ref_digits(r))
			return 0;
	}
	return 1;
}

static int
ref_string(struct ref *r)
{
	unsigned char	c;
	int		k;

	if (!ref_lit(r, "\""))
		return 0;
	r->ntok++;
	while (r->i < r->n) {
		c = (unsigned char)r->s[r->i++];
		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0;
		if (c != '\\')
			continue;
		if (r->i >= r->n)
			return 0;
		c = (unsigned char)r->s[r->i++];
		if (c == 'u') {
			for (k = 0; k < 4; k++, r->i++)
				if (r->i >= r->n || !strchr("0123456789abcdef"
				    "ABCDEF", r->s[r->i]) || !r->s[r->i])
					return 0;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return 0;
		}
	}
	return 0;
}

static int	ref_value(struct ref *r);

static int
ref_items(struct ref *r, int obj)
{
	char	close = obj ? '}' : ']';

	r->i++;
	r->ntok++;
	if (++r->depth > r->maxdepth)
		r->maxdepth = r->depth;
	if (r->depth > 2 * JSON_DEPTH_MAX)	/* json_parse refuses it too */
		return 0;
	ref_ws(r);
	if (ref_lit(r, close == '}' ? "}" : "]"))
		return r->depth--, 1;
	do {
		ref_ws(r);
		if (obj) {
			if (!ref_string(r))
				return 0;
			ref_ws(r);
			if (!ref_lit(r, ":"))
				return 0;
			ref_ws(r);
		}
		if (!ref_value(r))
			return 0;
		ref_ws(r);
	} while (ref_lit(r, ","));
	r->depth--;
	return ref_lit(r, close == '}' ? "}" : "]");
}

static int
ref_value(struct ref *r)
{
	if (r->i >= r->n)
		return 0;
	switch (r->s[r->i]) {
	case '{': return ref_items(r, 1);
	case '[': return ref_items(r, 0);
	case '"': return ref_string(r);
	case 't': r->ntok++; return ref_lit(r, "true");
	case 'f': r->ntok++; return ref_lit(r, "false");
	case 'n': r->ntok++; return ref_lit(r, "null");
	default: r->ntok++; return ref_number(r);
	}
}

static int
ref_document(struct ref *r)
{
	if (r->n >= BIG)
		return 0;
	ref_ws(r);
	if (!ref_value(r))
		return 0;
	ref_ws(r);
	return r->i == r->n;
}

/* ---- the independent unescaper ---------------------------------------- */

static int
hexval(const char *s)
{
	char	h[5] = { s[0], s[1], s[2], s[3], 0 };

	return (int)strtol(h, NULL, 16);
}

/* Decodes the string body s[0..n) (valid per ref_string); -1 on a lone
 * surrogate, \u0000 or more than cap-1 bytes. */
static long
unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t	i = 0, o = 0;
	long	cp;
	int	k;

	while (i < n) {
		if (s[i] != '\\') {
			cp = -1 - (unsigned char)s[i++];	/* raw byte */
		} else if (s[i + 1] != 'u') {
			cp = strchr("\"\\/", s[i + 1]) ? s[i + 1] :
			    "\b\f\n\r\t"[strchr("bfnrt", s[i + 1]) - "bfnrt"];
			i += 2;
		} else {
			cp = hexval(s + i + 2);
			i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u')
					return -1;
				k = hexval(s + i + 2);
				if (k < 0xdc00 || k > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (k - 0xdc00);
				i += 6;
			}
			if (cp == 0)
				return -1;
		}
		if (o + 4 > cap)
			return -2;
		if (cp < 0)
			out[o++] = (char)(-1 - cp);
		else if (cp < 0x80)
			out[o++] = (char)cp;
		else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
			out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	return (long)o;
}

/* Strict UTF-8 (no overlongs, surrogates or values over U+10FFFF). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t	i = 0, k, len;
	unsigned long cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 0;
		if (len == 0 || s[i] > 0xf4 || i + len > n)
			return 0;
		cp = s[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* ---- the getters -------------------------------------------------------- */

static struct json	j, back;
static char		dec[BIG], ref[BIG], wbuf[6 * TOKEN_MAX + 8];

static void
check_string(int t)
{
	const jsmntok_t	*k = &j.tok[t];
	struct err	 e;
	struct jw	 w;
	size_t		 len = 0, wlen;
	long		 r;

	r = unescape(j.buf + k->start, (size_t)(k->end - k->start), ref,
	    sizeof(ref));
	if (json_string(&j, t, dec, TOKEN_MAX, &len, &e) != 0) {
		FUZZ_CHECK(r < 0 || r > TOKEN_MAX - 1);
		return;
	}
	FUZZ_CHECK(r >= 0 && (size_t)r == len && memcmp(dec, ref, len) == 0);
	FUZZ_CHECK(dec[len] == '\0' && strlen(dec) == len);
	jw_init(&w, wbuf, sizeof(wbuf));
	jw_array_open(&w);
	jw_string(&w, dec, len);
	jw_array_close(&w);
	FUZZ_CHECK(jw_finish(&w, &wlen, "fuzz", &e) == 0);
	FUZZ_CHECK(json_parse(&back, wbuf, wlen, &e) == 0 && back.ntok == 2);
	if (!utf8_ok((const unsigned char *)dec, len))
		return;
	FUZZ_CHECK(json_string(&back, 1, ref, sizeof(ref), &wlen, &e) == 0);
	FUZZ_CHECK(wlen == len && memcmp(ref, dec, len) == 0);
}

static void
check_number(int t)
{
	const jsmntok_t	*k = &j.tok[t];
	struct err	 e;
	char		 s[64], *end;
	long long	 v, x;
	size_t		 n = (size_t)(k->end - k->start);
	int		 rc;

	rc = json_int(&j, t, -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL,
	    0, &v, &e);
	if (n >= sizeof(s))
		return;
	memcpy(s, j.buf + k->start, n);
	s[n] = '\0';
	if (strpbrk(s, ".eE") != NULL) {
		FUZZ_CHECK(rc != 0);
		return;
	}
	errno = 0;
	x = strtoll(s, &end, 10);
	FUZZ_CHECK(*end == '\0');
	FUZZ_CHECK((rc == 0) == (errno == 0));
	FUZZ_CHECK(rc != 0 || v == x);
}

/* Every key of object t is found once, or its duplicate reported. */
static void
check_object(int t)
{
	struct err	e;
	int		m, key, other, val, dups, r;
	long		len, olen;

	for (m = 0, key = t + 1; m < j.tok[t].size; m++) {
		len = unescape(j.buf + j.tok[key].start,
		    (size_t)(j.tok[key].end - j.tok[key].start), dec,
		    sizeof(dec));
		if (len >= 0) {
			dec[len] = '\0';
			dups = 0;
			for (r = 0, other = t + 1; r < j.tok[t].size; r++) {
				olen = unescape(j.buf + j.tok[other].start,
				    (size_t)(j.tok[other].end -
				    j.tok[other].start), ref, sizeof(ref));
				dups += olen == len && !memcmp(ref, dec, len);
				other = json_skip(&j, other + 1);
			}
			r = json_find(&j, t, dec, &val, &e);
			FUZZ_CHECK(r == (dups == 1 ? 1 : -1));
			FUZZ_CHECK(r != 1 || val == key + 1);
		}
		key = json_skip(&j, key + 1);
	}
}

/* ---- the answer parsers -------------------------------------------------- */

static void
check_message(const char *m, size_t cap)
{
	size_t	n = strnlen(m, cap);

	FUZZ_CHECK(n < cap);
	FUZZ_CHECK(!fuzz_has_ctl(m, n, 0));
	FUZZ_CHECK(strstr(m, SECRET) == NULL);
}

static void
check_token(const struct oauth_token *t)
{
	FUZZ_CHECK(t->len > 0 && t->len <= TOKEN_MAX);
	FUZZ_CHECK(t->token[t->len] == '\0');
	for (size_t i = 0; i < t->len; i++)
		FUZZ_CHECK(t->token[i] > 0x20 && t->token[i] < 0x7f);
}

/* expireTime "YYYY-MM-DDThh:mm:ss[.f](Z|+hh:mm|-hh:mm)": the fields
 * gmtime gives back, once the offset is added again. */
static void
check_expiry(long long at)
{
	char		when[64];
	struct err	e;
	struct tm	tm;
	time_t		tt;
	size_t		n, z = 19;
	int		f[6], i;
	long		off = 0;

	FUZZ_CHECK(json_get_string(&j, 0, "expireTime", when, sizeof(when),
	    &n, NULL, &e) == 0 && n >= 20);
	for (i = 0; i < 6; i++)
		f[i] = atoi(when + (i == 0 ? 0 : 2 + 3 * i));
	if (when[z] == '.')
		for (z++; when[z] >= '0' && when[z] <= '9'; z++)
			;
	if (when[z] == '+' || when[z] == '-')
		off = (when[z] == '-' ? -60L : 60L) *
		    (atoi(when + z + 1) * 60L + atoi(when + z + 4));
	if (f[5] == 60)		/* a leap second rolls over */
		return;
	tt = (time_t)(at + off);
	FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL);
	FUZZ_CHECK(tm.tm_year + 1900 == f[0] && tm.tm_mon + 1 == f[1] &&
	    tm.tm_mday == f[2] && tm.tm_hour == f[3] && tm.tm_min == f[4] &&
	    tm.tm_sec == f[5]);
}

static void
check_answers(const char *buf, size_t len)
{
	static struct oauth_token	t;
	struct err			e;
	char				m[LOG_QUOTE_MAX + 4], small[12];

	if (sts_parse(buf, len, NOW, &t, &e) == 0) {
		check_token(&t);
		FUZZ_CHECK(t.expires_at > NOW && t.expires_at <= NOW + 7 * 86400);
	}
	if (entra_parse(buf, len, NOW, &t, &e) == 0) {
		check_token(&t);
		FUZZ_CHECK(t.expires_at > NOW && t.expires_at <= NOW + 7 * 86400);
	}
	if (iam_parse(buf, len, &t, &e) == 0) {
		check_token(&t);
		check_expiry(t.expires_at);
	}
	oauth_error_message(buf, len, m, sizeof(m));
	check_message(m, sizeof(m));
	oauth_error_message(buf, len, small, sizeof(small));
	check_message(small, sizeof(small));
	kube_error_message(buf, len, m, sizeof(m));
	check_message(m, sizeof(m));
	kube_error_message(buf, len, small, sizeof(small));
	check_message(small, sizeof(small));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	secret[] = SECRET;
	struct ref		 r = { (const char *)data, size, 0, 0, 0, 0 };
	struct err		 e;
	int			 ok, rc, t;

	if (size >= BIG)
		return 0;
	log_secret_clear();
	log_secret_add(secret, sizeof(secret) - 1);
	ok = ref_document(&r);
	rc = json_parse(&j, (const char *)data, size, &e);
	FUZZ_CHECK(rc != 0 || ok);
	FUZZ_CHECK(rc == 0 || !ok || r.ntok > JSON_TOKENS_MAX ||
	    r.maxdepth > JSON_DEPTH_MAX);
	if (rc == 0) {
		FUZZ_CHECK(j.ntok == r.ntok && json_skip(&j, 0) == j.ntok);
		for (t = 0; t < j.ntok; t++) {
			if (json_type(&j, t) == JSON_STRING)
				check_string(t);
			else if (json_type(&j, t) == JSON_NUMBER)
				check_number(t);
			else if (json_type(&j, t) == JSON_OBJECT)
				check_object(t);
		}
	}
	check_answers((const char *)data, size);
	return 0;
}
