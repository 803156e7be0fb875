/*
 * oauth.h -- the OAuth 2.0 wire shapes that Google STS and Entra ID share:
 * form bodies (application/x-www-form-urlencoded, as Python's urlencode
 * writes them), token answers (access_token, expires_in), the servers'
 * error messages, and the check every token passes before it goes into a
 * header or a JSON document. No I/O.
 */
#ifndef REGCRED_OAUTH_H
#define REGCRED_OAUTH_H

#include <stddef.h>
#include "limits.h"

struct err;
struct json;
struct fetch_call;
struct http_resp;

/* A token and when it expires; wiped by whoever holds it. */
struct oauth_token {
	char		token[TOKEN_MAX + 1];	/* with its NUL */
	size_t		len;
	long long	expires_at;	/* Unix seconds */
	int		assumed;	/* no expires_in: 3600 s assumed */
};

/* A form body being written into a caller's buffer; overflow is sticky. */
struct oauth_form {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	int	 failed;
};

void	oauth_form_init(struct oauth_form *f, char *buf, size_t cap);
/* key=value, percent-encoded as quote_plus does; empty values left out. */
void	oauth_form_add(struct oauth_form *f, const char *key, const char *v,
	    size_t vlen);
/* NUL-terminates; -1 naming `what` and the limit when it did not fit. */
int	oauth_form_finish(struct oauth_form *f, size_t *len, const char *what,
	    const char *limit, struct err *e);

/*
 * A 200 token answer: access_token (required) and expires_in (a number or
 * a numeric string, 1 s to 7 days; 3600 when absent); now is the Unix time
 * it arrived. `what` names the server in errors ("STS", "Entra ID").
 */
int	oauth_parse(const char *body, size_t len, long long now,
	    const char *what, struct oauth_token *t, struct err *e);
/* The string field key of the answer's top object j into t; one longer
 * than TOKEN_MAX is an error naming the limit. */
int	oauth_get_token(const struct json *j, const char *key, const char *what,
	    struct oauth_token *t, struct err *e);
/* An RFC 6750 b64token, not empty: it goes into a Bearer header and into
 * JSON strings unescaped (limits.h sizes .dockerconfigjson from that). */
int	oauth_token_check(const struct oauth_token *t, const char *what,
	    struct err *e);
/*
 * The server's own message from an error body (OAuth error /
 * error_description, or Google's {"error":{"message","status"}}), quoted
 * safely; falls back to the raw body.
 */
void	oauth_error_message(const char *body, size_t len, char *dst,
	    size_t cap);
/* 0 for HTTP 200; else -1 with "METHOD URL: HTTP n: message". */
int	oauth_status(const struct fetch_call *fc, const struct http_resp *r,
	    struct err *e);

#endif
