/*
 * json.c -- JSON in and out.
 *
 * Owns: the one compiled copy of jsmn (strict, static), the RFC 8259
 * grammar check that runs over the bytes beside jsmn's tokens (jsmn alone
 * accepts trailing commas, missing commas, "tru", "01", raw control bytes
 * and "{}{}"), the typed getters with their unescaper, and the escaping
 * writer (struct jw), which escapes like Go's encoding/json so that a
 * Secret we write is byte for byte what kubectl writes.
 *
 * Strings are taken as bytes: invalid UTF-8 inside a string is accepted
 * by the reader and passed through by the unescaper (only raw control
 * bytes, bad escapes, lone surrogates and \u0000 are refused, so decoded
 * text never holds a NUL). The writer, like Go, turns each byte of an
 * invalid UTF-8 sequence into \ufffd.
 */
#include <string.h>

#define JSON_JSMN_IMPL
#include "fmt.h"
#include "json.h"
#include "log.h"

/* <limits.h> is shadowed by src/limits.h under -Isrc: spelled out here. */
#define JSON_INT_MAX	((int)(~0U >> 1))
#define JSON_LLONG_MAX	((long long)(~0ULL >> 1))
#define JSON_LLONG_MIN	(-JSON_LLONG_MAX - 1)

/* Grammar check: a cursor over the bytes, matched against the tokens. */
struct jv {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	const jsmntok_t	*tok;		/* NULL: check the grammar only */
	int		 ntok;
	int		 ti;		/* next token to match */
	struct err	*e;
};

static int	jv_value(struct jv *v, int depth);

static int
jv_fail(struct jv *v, const char *what)
{
	return err_set(v->e, "invalid JSON at byte %zu: %s", v->pos, what);
}

static void
jv_ws(struct jv *v)
{
	while (v->pos < v->len && (v->buf[v->pos] == ' ' ||
	    v->buf[v->pos] == '\t' || v->buf[v->pos] == '\n' ||
	    v->buf[v->pos] == '\r'))
		v->pos++;
}

static int
jv_peek(const struct jv *v)
{
	return v->pos < v->len ? (unsigned char)v->buf[v->pos] : -1;
}

/* Claims the next token: it must have this type and start. */
static int
jv_claim(struct jv *v, jsmntype_t type, size_t start)
{
	const jsmntok_t	*t;

	if (v->tok == NULL)
		return 0;
	if (v->ti >= v->ntok)
		return jv_fail(v, "tokenizer disagrees (missing token)");
	t = &v->tok[v->ti];
	if (t->type != type || t->start < 0 || (size_t)t->start != start)
		return jv_fail(v, "tokenizer disagrees (token start)");
	return v->ti++;
}

/* Token t (from jv_claim) must end here and hold size children. */
static int
jv_check(struct jv *v, int t, size_t end, int size)
{
	if (v->tok == NULL)
		return 0;
	if (v->tok[t].end < 0 || (size_t)v->tok[t].end != end ||
	    v->tok[t].size != size)
		return jv_fail(v, "tokenizer disagrees (token end)");
	return 0;
}

static int
jv_ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* At the byte after a backslash. */
static int
jv_escape(struct jv *v)
{
	size_t	i;

	switch (jv_peek(v)) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n':
	case 'r': case 't':
		v->pos++;
		return 0;
	case 'u':
		v->pos++;
		for (i = 0; i < 4; i++, v->pos++)
			if (!jv_ishex(jv_peek(v)))
				return jv_fail(v, "bad \\u escape");
		return 0;
	case -1:
		return jv_fail(v, "unterminated string");
	default:
		return jv_fail(v, "invalid escape in string");
	}
}

static int
jv_string(struct jv *v, int is_key)
{
	size_t	start = v->pos;
	int	c, t;

	v->pos++;
	for (;;) {
		c = jv_peek(v);
		if (c == -1)
			return jv_fail(v, "unterminated string");
		if (c == '"')
			break;
		if (c < 0x20)
			return jv_fail(v, "control character in string");
		v->pos++;
		if (c == '\\' && jv_escape(v) < 0)
			return -1;
	}
	if ((t = jv_claim(v, JSMN_STRING, start + 1)) < 0 ||
	    jv_check(v, t, v->pos, is_key) < 0)
		return -1;
	v->pos++;
	return 0;
}

static size_t
jv_digits(struct jv *v)
{
	size_t	n = 0;

	while (jv_peek(v) >= '0' && jv_peek(v) <= '9') {
		v->pos++;
		n++;
	}
	return n;
}

/* A number or literal must end at a delimiter ("01", "truex"). */
static int
jv_scalar_end(struct jv *v, size_t start, const char *what)
{
	int	c = jv_peek(v), t;

	if (c != -1 && c != ',' && c != ']' && c != '}' && c != ' ' &&
	    c != '\t' && c != '\n' && c != '\r')
		return jv_fail(v, what);
	if ((t = jv_claim(v, JSMN_PRIMITIVE, start)) < 0)
		return -1;
	return jv_check(v, t, v->pos, 0);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
jv_number(struct jv *v)
{
	size_t	start = v->pos;

	if (jv_peek(v) == '-')
		v->pos++;
	if (jv_peek(v) == '0')
		v->pos++;
	else if (jv_digits(v) == 0)
		return jv_fail(v, "invalid number");
	if (jv_peek(v) == '.') {
		v->pos++;
		if (jv_digits(v) == 0)
			return jv_fail(v, "invalid number (fraction)");
	}
	if (jv_peek(v) == 'e' || jv_peek(v) == 'E') {
		v->pos++;
		if (jv_peek(v) == '+' || jv_peek(v) == '-')
			v->pos++;
		if (jv_digits(v) == 0)
			return jv_fail(v, "invalid number (exponent)");
	}
	return jv_scalar_end(v, start, "invalid number");
}

static int
jv_literal(struct jv *v)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t	i, n, start = v->pos;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i]);
		if (n > v->len - v->pos || memcmp(v->buf + v->pos, lits[i], n))
			continue;
		v->pos += n;
		return jv_scalar_end(v, start, "invalid literal");
	}
	return jv_fail(v, "invalid literal");
}

/* One "key": value member of an object. */
static int
jv_member(struct jv *v, int depth)
{
	jv_ws(v);
	if (jv_peek(v) != '"')
		return jv_fail(v, "expected a string key");
	if (jv_string(v, 1) < 0)
		return -1;
	jv_ws(v);
	if (jv_peek(v) != ':')
		return jv_fail(v, "expected ':'");
	v->pos++;
	jv_ws(v);
	return jv_value(v, depth);
}

/* Objects and arrays: depth counts the containers around this one. */
static int
jv_container(struct jv *v, int depth, int is_obj)
{
	int	t, n = 0, close = is_obj ? '}' : ']';

	if (depth >= JSON_DEPTH_MAX)
		return jv_fail(v, "nesting deeper than JSON_DEPTH_MAX");
	if ((t = jv_claim(v, is_obj ? JSMN_OBJECT : JSMN_ARRAY, v->pos)) < 0)
		return -1;
	v->pos++;
	jv_ws(v);
	if (jv_peek(v) != close) {
		for (;;) {
			if (is_obj ? jv_member(v, depth + 1) :
			    jv_value(v, depth + 1))
				return -1;
			n++;
			jv_ws(v);
			if (jv_peek(v) != ',')
				break;
			v->pos++;
			jv_ws(v);
		}
		if (jv_peek(v) != close)
			return jv_fail(v, is_obj ? "expected ',' or '}'" :
			    "expected ',' or ']'");
	}
	v->pos++;
	return jv_check(v, t, v->pos, n);
}

static int
jv_value(struct jv *v, int depth)
{
	int	c = jv_peek(v);

	if (c == '{' || c == '[')
		return jv_container(v, depth, c == '{');
	if (c == '"')
		return jv_string(v, 0);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jv_number(v);
	if (c == 't' || c == 'f' || c == 'n')
		return jv_literal(v);
	if (c == -1)
		return jv_fail(v, "unexpected end of document");
	return jv_fail(v, "unexpected character");
}

/* The whole document: one value, whitespace around it, nothing else. */
static int
jv_document(struct json *j, int with_tokens, struct err *e)
{
	struct jv	v = { j->buf, j->len, 0, NULL, j->ntok, 0, e };

	if (with_tokens)
		v.tok = j->tok;
	jv_ws(&v);
	if (jv_value(&v, 0) < 0)
		return -1;
	jv_ws(&v);
	if (v.pos != v.len)
		return jv_fail(&v, "data after the top-level value");
	if (with_tokens && v.ti != v.ntok)
		return jv_fail(&v, "tokenizer disagrees (extra tokens)");
	return 0;
}

/*
 * jsmn (strict) will not end a primitive at the end of the input, so a
 * valid document that is a bare number or literal is tokenized here.
 */
static int
json_scalar_root(struct json *j, struct err *e)
{
	size_t	s = 0, n = j->len;

	while (s < n && memchr(" \t\r\n", j->buf[s], 4) != NULL)
		s++;
	while (n > s && memchr(" \t\r\n", j->buf[n - 1], 4) != NULL)
		n--;
	if (s == n || j->buf[s] == '{' || j->buf[s] == '[' ||
	    j->buf[s] == '"')
		return err_set(e, "invalid JSON: tokenizer rejected it");
	j->tok[0].type = JSMN_PRIMITIVE;
	j->tok[0].start = (int)s;
	j->tok[0].end = (int)n;
	j->tok[0].size = 0;
	j->ntok = 1;
	return 0;
}

int
json_parse(struct json *j, const char *buf, size_t len, struct err *e)
{
	jsmn_parser	p;
	int		r;

	j->buf = buf;
	j->len = len;
	j->ntok = 0;
	if (len > (size_t)JSON_INT_MAX)
		return err_set(e, "JSON document too large (%zu bytes)", len);
	if (jv_document(j, 0, e) < 0)		/* the grammar first */
		return -1;
	jsmn_init(&p);
	r = jsmn_parse(&p, buf, len, j->tok, JSON_TOKENS_MAX);
	if (r == JSMN_ERROR_NOMEM)
		return err_set(e, "too many JSON tokens (limit "
		    "JSON_TOKENS_MAX=%d)", JSON_TOKENS_MAX);
	if (r <= 0)
		return json_scalar_root(j, e);
	j->ntok = r;			/* then the tokens, against it */
	if (jv_document(j, 1, e) < 0) {
		j->ntok = 0;
		return -1;
	}
	return 0;
}

enum json_type
json_type(const struct json *j, int t)
{
	if (t < 0 || t >= j->ntok)
		return JSON_NULL;
	switch (j->tok[t].type) {
	case JSMN_OBJECT:
		return JSON_OBJECT;
	case JSMN_ARRAY:
		return JSON_ARRAY;
	case JSMN_STRING:
		return JSON_STRING;
	default:
		break;
	}
	switch (j->buf[j->tok[t].start]) {
	case 't':
		return JSON_TRUE;
	case 'f':
		return JSON_FALSE;
	case 'n':
		return JSON_NULL;
	default:
		return JSON_NUMBER;
	}
}

int
json_skip(const struct json *j, int t)
{
	int	pending = 1;

	if (t < 0)
		return j->ntok;
	while (pending > 0 && t < j->ntok) {
		pending += j->tok[t].size - 1;
		t++;
	}
	return t;
}

static int
json_hex4(const char *s, size_t end, size_t pos, unsigned *cp)
{
	size_t	i;
	int	c;

	if (4 > end - pos)
		return -1;
	for (*cp = 0, i = 0; i < 4; i++) {
		c = (unsigned char)s[pos + i];
		if (!jv_ishex(c))
			return -1;
		*cp = *cp * 16 + (unsigned)(c <= '9' ? c - '0' :
		    (c | 0x20) - 'a' + 10);
	}
	return 0;
}

static int
json_utf8_put(unsigned cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* s[*pos] is the 'u' of \uXXXX; decodes it (and a low surrogate). */
static int
json_unesc_u(const char *s, size_t end, size_t *pos, unsigned char out[4],
    const char **why)
{
	unsigned	cp, lo;

	*why = "bad \\u escape";
	if (json_hex4(s, end, *pos + 1, &cp) < 0)
		return -1;
	*pos += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		*why = "lone low surrogate";
		return -1;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		*why = "lone high surrogate";
		if (6 > end - *pos || s[*pos] != '\\' || s[*pos + 1] != 'u' ||
		    json_hex4(s, end, *pos + 2, &lo) < 0 ||
		    lo < 0xdc00 || lo > 0xdfff)
			return -1;
		*pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0) {
		*why = "\\u0000 (NUL) in string";
		return -1;
	}
	return json_utf8_put(cp, out);
}

/* Decodes one character of string bytes s[*pos..end) into out. */
static int
json_unesc_next(const char *s, size_t end, size_t *pos, unsigned char out[4],
    const char **why)
{
	static const char	from[] = "\"\\/bfnrt";
	static const char	to[] = "\"\\/\b\f\n\r\t";
	const char		*p;

	if (s[*pos] != '\\') {
		out[0] = (unsigned char)s[(*pos)++];
		return 1;
	}
	(*pos)++;
	*why = "bad escape";
	if (*pos >= end)
		return -1;
	if (s[*pos] == 'u')
		return json_unesc_u(s, end, pos, out, why);
	if ((p = memchr(from, s[*pos], sizeof(from) - 1)) == NULL)
		return -1;
	out[0] = (unsigned char)to[p - from];
	(*pos)++;
	return 1;
}

/* 1 if string token t decodes to key exactly; 0 otherwise. */
static int
json_key_eq(const struct json *j, int t, const char *key)
{
	unsigned char	out[4];
	const char	*why;
	size_t		pos, end, klen, o = 0;
	int		n;

	if (j->tok[t].type != JSMN_STRING)
		return 0;
	pos = (size_t)j->tok[t].start;
	end = (size_t)j->tok[t].end;
	klen = strlen(key);
	while (pos < end) {
		if ((n = json_unesc_next(j->buf, end, &pos, out, &why)) < 0)
			return 0;
		if ((size_t)n > klen - o || memcmp(key + o, out, (size_t)n))
			return 0;
		o += (size_t)n;
	}
	return o == klen;
}

int
json_find(const struct json *j, int obj, const char *key, int *val,
    struct err *e)
{
	int	m, k, found = 0;

	if (obj < 0 || obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return err_set(e, "looking up \"%s\": not a JSON object", key);
	k = obj + 1;
	for (m = 0; m < j->tok[obj].size; m++) {
		if (k + 1 >= j->ntok)
			return err_set(e, "looking up \"%s\": object cut short",
			    key);
		if (json_key_eq(j, k, key)) {
			if (found)
				return err_set(e, "duplicate key \"%s\"", key);
			found = 1;
			*val = k + 1;
		}
		k = json_skip(j, k + 1);
	}
	return found;
}

int
json_string(const struct json *j, int t, char *dst, size_t cap,
    size_t *len, struct err *e)
{
	unsigned char	out[4];
	const char	*why;
	size_t		pos, end, o = 0;
	int		n;

	if (json_type(j, t) != JSON_STRING)
		return err_set(e, "not a string");
	if (cap == 0)
		return err_set(e, "string exceeds its buffer (0 bytes)");
	pos = (size_t)j->tok[t].start;
	end = (size_t)j->tok[t].end;
	while (pos < end) {
		n = json_unesc_next(j->buf, end, &pos, out, &why);
		if (n < 0 || (size_t)n > cap - 1 - o) {
			explicit_bzero(dst, cap);
			explicit_bzero(out, sizeof(out));
			if (n < 0)
				return err_set(e, "invalid string: %s", why);
			return err_set(e, "string exceeds its buffer "
			    "(%zu bytes)", cap);
		}
		memcpy(dst + o, out, (size_t)n);
		o += (size_t)n;
	}
	explicit_bzero(out, sizeof(out));
	dst[o] = '\0';
	if (len != NULL)
		*len = o;
	return 0;
}

/* -?(0|[1-9][0-9]*) into *v: 0, -1 not an integer, -2 out of range. */
static int
json_int_bytes(const char *s, size_t n, long long *v)
{
	unsigned long long	mag = 0, lim;
	size_t			i = 0;
	int			d;

	lim = (unsigned long long)JSON_LLONG_MAX;
	if (n > 0 && s[0] == '-') {
		i = 1;
		lim++;
	}
	if (i == n || (s[i] == '0' && n - i > 1))
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (mag > (lim - (unsigned long long)d) / 10)
			return -2;
		mag = mag * 10 + (unsigned long long)d;
	}
	if (s[0] != '-')
		*v = (long long)mag;
	else if (mag == (unsigned long long)JSON_LLONG_MAX + 1)
		*v = JSON_LLONG_MIN;
	else
		*v = -(long long)mag;
	return 0;
}

int
json_int(const struct json *j, int t, long long min, long long max,
    int allow_string, long long *v, struct err *e)
{
	enum json_type	type = json_type(j, t);
	long long	x;
	int		r;

	if (type != JSON_NUMBER && !(allow_string && type == JSON_STRING))
		return err_set(e, "not a number");
	r = json_int_bytes(j->buf + j->tok[t].start,
	    (size_t)(j->tok[t].end - j->tok[t].start), &x);
	if (r == -1)
		return err_set(e, "not an integer");
	if (r < 0 || x < min || x > max)
		return err_set(e, "integer out of range [%lld, %lld]", min,
		    max);
	*v = x;
	return 0;
}

int
json_get_string(const struct json *j, int obj, const char *key,
    char *dst, size_t cap, size_t *len, int *found, struct err *e)
{
	int	t, r;

	if ((r = json_find(j, obj, key, &t, e)) < 0)
		return -1;
	if (found != NULL)
		*found = r;
	if (r == 0) {
		if (found == NULL)
			return err_set(e, "missing \"%s\"", key);
		if (cap > 0)
			dst[0] = '\0';
		if (len != NULL)
			*len = 0;
		return 0;
	}
	if (json_type(j, t) != JSON_STRING)
		return err_set(e, "\"%s\" is not a string", key);
	if (json_string(j, t, dst, cap, len, e) < 0)
		return err_prefix(e, "\"%s\"", key);
	return 0;
}

int
json_get_int(const struct json *j, int obj, const char *key,
    long long min, long long max, int allow_string, long long *v,
    int *found, struct err *e)
{
	enum json_type	type;
	int		t, r;

	if ((r = json_find(j, obj, key, &t, e)) < 0)
		return -1;
	if (found != NULL)
		*found = r;
	if (r == 0)
		return found == NULL ? err_set(e, "missing \"%s\"", key) : 0;
	type = json_type(j, t);
	if (type != JSON_NUMBER && !(allow_string && type == JSON_STRING))
		return err_set(e, "\"%s\" is not a number", key);
	if (json_int(j, t, min, max, allow_string, v, e) < 0)
		return err_prefix(e, "\"%s\"", key);
	return 0;
}

int
json_get_object(const struct json *j, int obj, const char *key, int *val,
    struct err *e)
{
	int	r;

	if ((r = json_find(j, obj, key, val, e)) < 0)
		return -1;
	if (r == 0)
		return err_set(e, "missing \"%s\"", key);
	if (json_type(j, *val) != JSON_OBJECT)
		return err_set(e, "\"%s\" is not an object", key);
	return 0;
}

/* The writer. w->failed says why it stopped; w->first[] bits: */
#define JW_EMPTY	1	/* no member written yet at this level */
#define JW_OBJECT	2	/* this level is an object */

enum { JW_OK, JW_OVERFLOW, JW_MISUSE, JW_DEEP, JW_OPEN };

void
jw_init(struct jw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (cap == 0)
		w->failed = JW_OVERFLOW;
}

/* Keeps one byte free for jw_finish's NUL. */
static void
jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (n > w->cap - 1 - w->len) {
		w->failed = JW_OVERFLOW;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Comma before a value where needed; -1 when the writer cannot go on. */
static int
jw_begin_value(struct jw *w)
{
	unsigned char	*f;

	if (w->failed)
		return -1;
	if (w->depth == 0) {
		if (w->len > 0)
			w->failed = JW_MISUSE;	/* a second top-level value */
		return w->failed ? -1 : 0;
	}
	f = &w->first[w->depth - 1];
	if (*f & JW_OBJECT) {
		if (!w->want_value)
			w->failed = JW_MISUSE;	/* a value without a key */
		w->want_value = 0;
		return w->failed ? -1 : 0;
	}
	if (!(*f & JW_EMPTY))
		jw_put(w, ",", 1);
	*f &= (unsigned char)~JW_EMPTY;
	return w->failed ? -1 : 0;
}

static void
jw_open(struct jw *w, int is_obj)
{
	if (jw_begin_value(w) < 0)
		return;
	if (w->depth >= JSON_DEPTH_MAX) {
		w->failed = JW_DEEP;
		return;
	}
	jw_put(w, is_obj ? "{" : "[", 1);
	w->first[w->depth++] = (unsigned char)(JW_EMPTY |
	    (is_obj ? JW_OBJECT : 0));
}

static void
jw_close(struct jw *w, int is_obj)
{
	if (w->failed)
		return;
	if (w->depth == 0 || w->want_value ||
	    !(w->first[w->depth - 1] & JW_OBJECT) != !is_obj) {
		w->failed = JW_MISUSE;
		return;
	}
	jw_put(w, is_obj ? "}" : "]", 1);
	w->depth--;
}

void
jw_object_open(struct jw *w)
{
	jw_open(w, 1);
}

void
jw_object_close(struct jw *w)
{
	jw_close(w, 1);
}

void
jw_array_open(struct jw *w)
{
	jw_open(w, 0);
}

void
jw_array_close(struct jw *w)
{
	jw_close(w, 0);
}

/* One ASCII byte, escaped as Go's encoding/json (HTML-safe) does. */
static void
jw_ascii(struct jw *w, unsigned char c)
{
	static const char	hex[] = "0123456789abcdef";
	char			u[6] = { '\\', 'u', '0', '0', 0, 0 };
	char			b[2] = { '\\', 0 };

	switch (c) {
	case '"': case '\\':
		b[1] = (char)c;
		break;
	case '\b': b[1] = 'b'; break;
	case '\f': b[1] = 'f'; break;
	case '\n': b[1] = 'n'; break;
	case '\r': b[1] = 'r'; break;
	case '\t': b[1] = 't'; break;
	default:
		if (c >= 0x20 && c != '<' && c != '>' && c != '&') {
			jw_put(w, (const char *)&c, 1);
			return;
		}
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0xf];
		jw_put(w, u, sizeof(u));
		return;
	}
	jw_put(w, b, sizeof(b));
}

/* Length of the valid UTF-8 sequence at s (Go's rules), 0 if invalid. */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		k, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (k > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return k;
}

static void
jw_quote(struct jw *w, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			i = 0, k;

	jw_put(w, "\"", 1);
	while (i < len && !w->failed) {
		if (u[i] < 0x80) {
			jw_ascii(w, u[i++]);
			continue;
		}
		k = json_utf8_len(u + i, len - i);
		if (k == 0)
			jw_put(w, "\\ufffd", 6);
		else if (k == 3 && u[i] == 0xe2 && u[i + 1] == 0x80 &&
		    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			jw_put(w, u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		else
			jw_put(w, s + i, k);
		i += k == 0 ? 1 : k;
	}
	jw_put(w, "\"", 1);
}

void
jw_key(struct jw *w, const char *k, size_t len)
{
	unsigned char	*f;

	if (w->failed)
		return;
	f = w->depth > 0 ? &w->first[w->depth - 1] : NULL;
	if (f == NULL || !(*f & JW_OBJECT) || w->want_value) {
		w->failed = JW_MISUSE;
		return;
	}
	if (!(*f & JW_EMPTY))
		jw_put(w, ",", 1);
	*f &= (unsigned char)~JW_EMPTY;
	jw_quote(w, k, len);
	jw_put(w, ":", 1);
	w->want_value = 1;
}

void
jw_string(struct jw *w, const char *s, size_t len)
{
	if (jw_begin_value(w) == 0)
		jw_quote(w, s, len);
}

void
jw_int(struct jw *w, long long v)
{
	char	b[24];
	int	n;

	if (jw_begin_value(w) < 0)
		return;
	n = fmt_print(b, sizeof(b), "%lld", v);
	if (n < 0 || (size_t)n >= sizeof(b)) {
		w->failed = JW_OVERFLOW;
		return;
	}
	jw_put(w, b, (size_t)n);
}

int
jw_finish(struct jw *w, size_t *len, const char *what, struct err *e)
{
	if (!w->failed && (w->depth != 0 || w->want_value || w->len == 0))
		w->failed = JW_OPEN;
	if (!w->failed) {
		w->buf[w->len] = '\0';
		if (len != NULL)
			*len = w->len;
		return 0;
	}
	if (w->cap > 0)
		explicit_bzero(w->buf, w->cap);	/* may hold a secret */
	switch (w->failed) {
	case JW_OVERFLOW:
		return err_set(e, "%s exceeds its buffer (%zu bytes)", what,
		    w->cap);
	case JW_DEEP:
		return err_set(e, "%s nests deeper than JSON_DEPTH_MAX=%d",
		    what, JSON_DEPTH_MAX);
	case JW_OPEN:
		return err_set(e, "%s: JSON document not complete", what);
	default:
		return err_set(e, "%s: JSON writer calls out of order", what);
	}
}
