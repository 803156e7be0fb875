/*
 * oauth.c -- OAuth 2.0 forms, token answers and error messages.
 *
 * Owns: percent-encoding form fields exactly as google-auth and MSAL
 * (Python's urlencode, quote_plus) do, reading a token answer, checking a
 * token's bytes, and extracting the server's own message from an error
 * body so every failure can quote it. Shared by sts.c and entra.c.
 */
#include <string.h>

#include "fetch.h"
#include "fmt.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "oauth.h"

void
oauth_form_init(struct oauth_form *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	f->failed = cap == 0;
}

static void
oauth_form_putc(struct oauth_form *f, char c)
{
	if (f->failed || f->len + 1 >= f->cap) {
		f->failed = 1;
		return;
	}
	f->buf[f->len++] = c;
}

void
oauth_form_add(struct oauth_form *f, const char *k, const char *v,
    size_t vlen)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;
	size_t			i;

	if (vlen == 0)
		return;
	if (f->len > 0)
		oauth_form_putc(f, '&');
	for (i = 0; k[i] != '\0'; i++)
		oauth_form_putc(f, k[i]);
	oauth_form_putc(f, '=');
	for (i = 0; i < vlen; i++) {
		c = (unsigned char)v[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			oauth_form_putc(f, (char)c);
		else if (c == ' ')
			oauth_form_putc(f, '+');
		else {
			oauth_form_putc(f, '%');
			oauth_form_putc(f, hex[c >> 4]);
			oauth_form_putc(f, hex[c & 15]);
		}
	}
}

int
oauth_form_finish(struct oauth_form *f, size_t *len, const char *what,
    const char *limit, struct err *e)
{
	*len = 0;
	if (f->failed) {
		explicit_bzero(f->buf, f->len);	/* it may hold a token */
		return err_set(e, "%s exceeds %zu bytes (%s)", what, f->cap,
		    limit);
	}
	f->buf[f->len] = '\0';
	*len = f->len;
	return 0;
}

/* RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / then '=' padding only. */
static int
oauth_b64token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '+' || c == '/';
}

int
oauth_token_check(const struct oauth_token *t, const char *what,
    struct err *e)
{
	size_t	i = 0;

	if (t->len == 0)
		return err_set(e, "%s is empty", what);
	while (i < t->len && oauth_b64token_char((unsigned char)t->token[i]))
		i++;
	while (i > 0 && i < t->len && t->token[i] == '=')
		i++;
	if (i != t->len)
		return err_set(e, "%s holds a byte a bearer token may not "
		    "(RFC 6750 b64token)", what);
	return 0;
}

int
oauth_get_token(const struct json *j, const char *key, const char *what,
    struct oauth_token *t, struct err *e)
{
	int	r, v;

	t->len = 0;
	r = json_find(j, 0, key, &v, e);
	if (r == -1)
		return err_prefix(e, "%s answer", what);
	if (r == 0)
		return err_set(e, "%s answer has no \"%s\"", what, key);
	if (json_type(j, v) != JSON_STRING)
		return err_set(e, "%s answer: \"%s\" is not a string", what,
		    key);
	if (json_string(j, v, t->token, sizeof(t->token), &t->len, e) != 0) {
		if ((size_t)(j->tok[v].end - j->tok[v].start) > TOKEN_MAX)
			return err_set(e, "%s %s is longer than %d bytes "
			    "(TOKEN_MAX)", what, key, TOKEN_MAX);
		return err_prefix(e, "%s answer: \"%s\"", what, key);
	}
	return 0;
}

int
oauth_parse(const char *body, size_t len, long long now, const char *what,
    struct oauth_token *t, struct err *e)
{
	static struct json	j;
	long long		expires_in;
	char			name[64];
	int			found, n;

	if (json_parse(&j, body, len, e) != 0)
		return err_prefix(e, "%s answer is not JSON", what);
	if (json_type(&j, 0) != JSON_OBJECT)
		return err_set(e, "%s answer is not a JSON object", what);
	if (oauth_get_token(&j, "access_token", what, t, e) != 0)
		return -1;
	if (json_get_int(&j, 0, "expires_in", 1, 7 * 86400, 1, &expires_in,
	    &found, e) != 0)
		return err_prefix(e, "%s answer", what);
	n = fmt_print(name, sizeof(name), "%s access_token", what);
	if (oauth_token_check(t, n < 0 ? "access_token" : name, e) != 0)
		return -1;
	t->expires_at = now + (found ? expires_in : 3600);
	t->assumed = !found;
	return 0;
}

/* "code: message" from an OAuth or a Google API error body. */
static int
oauth_error_json(const char *body, size_t len, char *code, size_t ccap,
    char *msg, size_t mcap)
{
	static struct json	j;
	struct err		e;
	size_t			n;
	int			inner;

	code[0] = msg[0] = '\0';
	if (json_parse(&j, body, len, &e) != 0 || json_type(&j, 0) != JSON_OBJECT)
		return -1;
	if (json_find(&j, 0, "error", &inner, &e) != 1)
		return -1;
	if (json_type(&j, inner) == JSON_STRING) {
		if (json_string(&j, inner, code, ccap, &n, &e) != 0)
			return -1;
		json_get_string(&j, 0, "error_description", msg, mcap, &n,
		    NULL, &e);
		return 0;
	}
	if (json_type(&j, inner) != JSON_OBJECT)
		return -1;
	json_get_string(&j, inner, "status", code, ccap, &n, NULL, &e);
	json_get_string(&j, inner, "message", msg, mcap, &n, NULL, &e);
	return 0;
}

void
oauth_error_message(const char *body, size_t len, char *dst, size_t cap)
{
	char	code[128], msg[LOG_QUOTE_MAX * 16], both[sizeof(msg) + 140];
	int	n;

	if (oauth_error_json(body, len, code, sizeof(code), msg,
	    sizeof(msg)) != 0 || (code[0] == '\0' && msg[0] == '\0')) {
		if (len == 0)
			log_quote(dst, cap, "(empty body)", 12);
		else
			log_quote(dst, cap, body, len);
		return;
	}
	n = fmt_print(both, sizeof(both), "%s%s%s", code,
	    code[0] != '\0' && msg[0] != '\0' ? ": " : "", msg);
	if (n < 0)
		both[0] = '\0';
	log_quote(dst, cap, both, strnlen(both, sizeof(both)));
}

int
oauth_status(const struct fetch_call *fc, const struct http_resp *r,
    struct err *e)
{
	char	what[URL_MAX + 32], msg[LOG_QUOTE_MAX + 8];

	if (r->status == 200)
		return 0;
	fetch_describe(fc, what, sizeof(what));
	oauth_error_message((const char *)r->body, r->bodylen, msg,
	    sizeof(msg));
	return err_set(e, "%s: HTTP %d: %s", what, r->status, msg);
}
