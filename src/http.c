/*
 * http.c -- HTTP/1.1 without I/O.
 *
 * Owns: https URL parsing and the Host header value, the request writer
 * (with header injection checks), and the incremental response parser: a
 * state machine fed arbitrary slices of bytes that checks the status line
 * and header block, and collects a Content-Length, chunked or
 * close-delimited body into the caller's fixed buffer. Every limit comes
 * from limits.h; going over one is an error naming it.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "fmt.h"
#include "http.h"
#include "log.h"

_Static_assert(HTTP_CHUNK_LINE_MAX <= HTTP_HEADER_MAX,
    "chunk-size lines are collected in http_resp.head");

#define HTTPS_PREFIX	"https://"
#define HTTP_PREFIX	"http://"
#define ULL_MAX		(~0ULL)

/* One header field of a response, pointing into http_resp.head. */
struct http_field {
	const char	*name;
	size_t		 namelen;
	const char	*val;
	size_t		 vallen;
};

/* What the header block says about framing. */
struct http_meta {
	int			 have_cl;
	unsigned long long	 cl;
	int			 chunked;
	size_t			 nfields;
};

/* Request output: overflow is remembered, checked once at the end. */
struct http_w {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	int	 full;
};

/* ---- character classes --------------------------------------------- */

static int
http_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    http_is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control byte other than HTAB (this includes NUL, CR, LF and DEL). */
static int
http_is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
http_hex_value(unsigned char c)
{
	if (http_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
http_is_token(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return 0;
	return i > 0;
}

/* ---- URLs ------------------------------------------------------------ */

static int
url_chars_check(const char *s, size_t len, struct err *e)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return err_set(e, "URL has a control byte, space or "
			    "non-ASCII byte at offset %zu", i);
		if (c == '#')
			return err_set(e, "URL has a fragment ('#' at offset "
			    "%zu)", i);
		if (strchr("\"<>\\^`{|}", c) != NULL)
			return err_set(e, "URL has '%c' at offset %zu, which "
			    "is not allowed in a URL", c, i);
	}
	return 0;
}

/* A DNS name (labels of letters, digits, '-', '_') or an IPv4 literal. */
static int
url_name_check(const char *h, struct err *e)
{
	struct in_addr	a4;
	size_t		i, label = 0;
	int		numeric = 1;
	unsigned char	c;

	for (i = 0; h[i] != '\0'; i++) {
		c = (unsigned char)h[i];
		if (c == '.') {
			if (label == 0)
				return err_set(e, "URL host has an empty label");
			label = 0;
			continue;
		}
		if (!http_is_digit(c))
			numeric = 0;
		if (!http_is_digit(c) && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && c != '-' && c != '_')
			return err_set(e, "URL host has '%c', not allowed in a "
			    "host name", c);
		if (++label > 63)
			return err_set(e, "URL host has a label longer than 63 "
			    "bytes");
	}
	if (label == 0)
		return err_set(e, "URL host has an empty label");
	if (numeric && inet_pton(AF_INET, h, &a4) != 1)
		return err_set(e, "URL host \"%s\" is not a valid IPv4 address",
		    h);
	return 0;
}

static int
url_port_parse(const char *s, size_t len, struct url *u, struct err *e)
{
	unsigned	v = 0;
	size_t		i;
	int		n;

	if (len == 0 || len > 5)
		return err_set(e, "URL port must be 1 to 5 digits");
	for (i = 0; i < len; i++) {
		if (!http_is_digit((unsigned char)s[i]))
			return err_set(e, "URL port has a non-digit");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return err_set(e, "URL port %u is not in 1..65535", v);
	n = fmt_print(u->port, sizeof(u->port), "%u", v);
	if (n < 0 || (size_t)n >= sizeof(u->port))
		return err_set(e, "URL port does not fit");
	return 0;
}

/* Splits [v6] or name from the authority; *rest is what follows it. */
static int
url_host_split(const char *a, size_t n, struct url *u, size_t *rest,
    struct err *e)
{
	const char	*p, *h = a;
	size_t		 hl;

	if (n > 0 && a[0] == '[') {
		p = memchr(a, ']', n);
		if (p == NULL)
			return err_set(e, "URL IPv6 host lacks its ']'");
		h = a + 1;
		hl = (size_t)(p - h);
		*rest = hl + 2;
		u->ipv6 = 1;
	} else {
		p = memchr(a, ':', n);
		hl = p != NULL ? (size_t)(p - a) : n;
		*rest = hl;
	}
	if (hl == 0)
		return err_set(e, "URL has an empty host");
	if (hl >= sizeof(u->host))
		return err_set(e, "URL host longer than %d bytes (HOST_MAX)",
		    HOST_MAX - 1);
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	return 0;
}

static int
url_authority_parse(const char *a, size_t n, struct url *u, struct err *e)
{
	struct in6_addr	a6;
	size_t		pos = 0;

	if (memchr(a, '@', n) != NULL)
		return err_set(e, "URL has userinfo ('@' before the path)");
	if (url_host_split(a, n, u, &pos, e) < 0)
		return -1;
	if (u->ipv6 && inet_pton(AF_INET6, u->host, &a6) != 1)
		return err_set(e, "URL host [%s] is not a valid IPv6 address",
		    u->host);
	if (!u->ipv6 && url_name_check(u->host, e) < 0)
		return -1;
	if (pos == n) {
		memcpy(u->port, u->plain ? "80" : "443", u->plain ? 3 : 4);
		return 0;
	}
	if (a[pos] != ':')
		return err_set(e, "URL has '%c' after the host", a[pos]);
	return url_port_parse(a + pos + 1, n - pos - 1, u, e);
}

static int
url_path_set(struct url *u, const char *s, size_t len, struct err *e)
{
	size_t	o = 0;

	if (len == 0 || s[0] == '?')
		u->path[o++] = '/';
	if (len > sizeof(u->path) - 1 - o)
		return err_set(e, "URL path longer than %d bytes (URL_MAX)",
		    URL_MAX - 1);
	memcpy(u->path + o, s, len);
	u->path[o + len] = '\0';
	return 0;
}

/* After the scheme: authority, then path and query. */
static int
url_rest_parse(const char *s, size_t len, size_t pos, struct url *u,
    struct err *e)
{
	size_t	end;

	end = pos + strcspn(s + pos, "/?");
	if (url_authority_parse(s + pos, end - pos, u, e) < 0)
		return -1;
	return url_path_set(u, s + end, len - end, e);
}

static int
url_length(const char *s, size_t *len, struct err *e)
{
	*len = strnlen(s, URL_MAX);
	if (*len >= URL_MAX)
		return err_set(e, "URL longer than %d bytes (URL_MAX)",
		    URL_MAX - 1);
	return url_chars_check(s, *len, e);
}

int
url_parse(const char *s, struct url *u, struct err *e)
{
	size_t	len, pos = sizeof(HTTPS_PREFIX) - 1;

	memset(u, 0, sizeof(*u));
	if (url_length(s, &len, e) < 0)
		return -1;
	if (pos > len || strncasecmp(s, HTTPS_PREFIX, pos) != 0)
		return err_set(e, "URL scheme is not https");
	return url_rest_parse(s, len, pos, u, e);
}

int
url_parse_any(const char *s, struct url *u, struct err *e)
{
	size_t	len, pos = sizeof(HTTP_PREFIX) - 1;

	memset(u, 0, sizeof(*u));
	if (url_length(s, &len, e) < 0)
		return -1;
	if (pos > len || strncasecmp(s, HTTP_PREFIX, pos) != 0)
		return url_parse(s, u, e);
	u->plain = 1;
	return url_rest_parse(s, len, pos, u, e);
}

int
url_hostport(const struct url *u, char *dst, size_t cap, struct err *e)
{
	int	dflt, n;

	dflt = u->port[0] == '\0' ||
	    strcmp(u->port, u->plain ? "80" : "443") == 0;
	n = fmt_print(dst, cap, "%s%s%s%s%s", u->ipv6 ? "[" : "", u->host,
	    u->ipv6 ? "]" : "", dflt ? "" : ":", dflt ? "" : u->port);
	if (n < 0 || (size_t)n >= cap)
		return err_set(e, "Host header value for %s does not fit %zu "
		    "bytes", u->host, cap);
	return 0;
}

/* ---- requests -------------------------------------------------------- */

static void
http_w_put(struct http_w *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = 1;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
http_w_str(struct http_w *w, const char *s)
{
	http_w_put(w, s, strlen(s));
}

/* Visible ASCII only: no space, no control byte (so no CR, LF, NUL). */
static int
http_is_visible(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0;
}

static int
http_value_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (http_is_ctl((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
http_hdr_check(const struct http_hdr *h, struct err *e)
{
	static const char *const own[] = { "Host", "Content-Length",
	    "Connection", "Transfer-Encoding" };
	size_t	i;

	if (h->name == NULL || h->value == NULL || !http_is_token(h->name))
		return err_set(e, "request header name is missing or not a "
		    "token");
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcasecmp(h->name, own[i]) == 0)
			return err_set(e, "request header %s is written by "
			    "http_request_write itself", own[i]);
	if (!http_value_ok(h->value))
		return err_set(e, "value of request header %.64s has CR, LF "
		    "or another control byte", h->name);
	return 0;
}

static int
http_req_check(const struct http_req *r, struct err *e)
{
	size_t	i;

	if (r->method == NULL || !http_is_token(r->method))
		return err_set(e, "HTTP method is missing or not a token");
	if (r->path == NULL || !http_is_visible(r->path))
		return err_set(e, "request path is empty or has a space, CR, "
		    "LF or another control byte");
	if (r->host == NULL || !http_is_visible(r->host))
		return err_set(e, "Host header value is empty or has a space, "
		    "CR, LF or another control byte");
	if (r->nhdrs > 0 && r->hdrs == NULL)
		return err_set(e, "request headers missing");
	for (i = 0; i < r->nhdrs; i++)
		if (http_hdr_check(&r->hdrs[i], e) < 0)
			return -1;
	if (r->body == NULL && r->bodylen > 0)
		return err_set(e, "request body missing");
	return 0;
}

static int
http_method_has_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0;
}

static void
http_w_head(struct http_w *w, const struct http_req *r)
{
	char	cl[48];
	size_t	i;
	int	n;

	http_w_str(w, r->method);
	http_w_put(w, " ", 1);
	http_w_str(w, r->path);
	http_w_str(w, " HTTP/1.1\r\nHost: ");
	http_w_str(w, r->host);
	http_w_put(w, "\r\n", 2);
	for (i = 0; i < r->nhdrs; i++) {
		http_w_str(w, r->hdrs[i].name);
		http_w_put(w, ": ", 2);
		http_w_str(w, r->hdrs[i].value);
		http_w_put(w, "\r\n", 2);
	}
	if (r->body != NULL || http_method_has_body(r->method)) {
		n = fmt_print(cl, sizeof(cl), "Content-Length: %zu\r\n",
		    r->bodylen);
		if (n < 0 || (size_t)n >= sizeof(cl))
			w->full = 1;
		else
			http_w_put(w, cl, (size_t)n);
	}
	http_w_str(w, r->keepalive ? "\r\n" : "Connection: close\r\n\r\n");
}

int
http_request_write(char *buf, size_t cap, size_t *len,
    const struct http_req *r, struct err *e)
{
	struct http_w	w = { buf, cap, 0, 0 };

	*len = 0;
	if (http_req_check(r, e) < 0)
		return -1;
	http_w_head(&w, r);
	if (r->body != NULL)
		http_w_put(&w, r->body, r->bodylen);
	if (w.full) {
		if (w.len > 0)
			explicit_bzero(buf, w.len);
		return err_set(e, "HTTP %s request for %.64s does not fit %zu "
		    "bytes%s", r->method, r->host, cap,
		    cap == HTTP_REQUEST_MAX ? " (HTTP_REQUEST_MAX)" : "");
	}
	*len = w.len;
	return 0;
}

/* ---- response: status line and header fields ------------------------- */

static int
http_bad(struct err *e, const char *what, const char *s, size_t len)
{
	char	q[LOG_QUOTE_MAX + 4];

	log_quote(q, sizeof(q), s, len);
	return err_set(e, "malformed HTTP response: %s: \"%s\"", what, q);
}

static int
http_status_parse(struct http_resp *r, const char *s, size_t len,
    struct err *e)
{
	size_t	pos, i;
	int	st = 0;

	if (len < 2 || s[len - 2] != '\r')
		return http_bad(e, "status line not ended by CRLF", s, len);
	len -= 2;
	if (9 > len || (memcmp(s, "HTTP/1.1 ", 9) != 0 &&
	    memcmp(s, "HTTP/1.0 ", 9) != 0))
		return http_bad(e, "status line does not start with "
		    "\"HTTP/1.1 \" or \"HTTP/1.0 \"", s, len);
	for (pos = 9, i = 0; i < 3; i++, pos++) {
		if (pos >= len || !http_is_digit((unsigned char)s[pos]))
			return http_bad(e, "status code is not 3 digits", s,
			    len);
		st = st * 10 + (s[pos] - '0');
	}
	if (pos < len && s[pos] != ' ')
		return http_bad(e, "status code is not 3 digits", s, len);
	for (; pos < len; pos++)
		if (http_is_ctl((unsigned char)s[pos]))
			return http_bad(e, "control byte in the reason phrase",
			    s, len);
	if (st < 100 || st > 599)
		return http_bad(e, "status code not in 100..599", s, len);
	if (st == 101)
		return err_set(e, "unexpected HTTP 101 (Switching Protocols)");
	r->status = st;
	return 0;
}

/* One header line, CRLF included. */
static int
http_field_parse(const char *s, size_t len, struct http_field *f,
    struct err *e)
{
	size_t	pos = 0, end, i;

	if (len < 2 || s[len - 2] != '\r')
		return http_bad(e, "header line not ended by CRLF", s, len);
	len -= 2;
	if (len > 0 && (s[0] == ' ' || s[0] == '\t'))
		return http_bad(e, "obsolete line folding", s, len);
	while (pos < len && http_is_tchar((unsigned char)s[pos]))
		pos++;
	if (pos == 0 || pos >= len || s[pos] != ':')
		return http_bad(e, "header name is not a token followed by "
		    "':'", s, len);
	f->name = s;
	f->namelen = pos;
	for (pos++; pos < len && (s[pos] == ' ' || s[pos] == '\t'); pos++)
		;
	for (end = len; end > pos && (s[end - 1] == ' ' ||
	    s[end - 1] == '\t'); end--)
		;
	for (i = pos; i < end; i++)
		if (http_is_ctl((unsigned char)s[i]))
			return http_bad(e, "control byte in the value of "
			    "header", s, f->namelen);
	f->val = s + pos;
	f->vallen = end - pos;
	return 0;
}

static int
http_field_is(const struct http_field *f, const char *name)
{
	size_t	n = strlen(name);

	return f->namelen == n && strncasecmp(f->name, name, n) == 0;
}

static int
http_cl_parse(const struct http_field *f, unsigned long long *v,
    struct err *e)
{
	unsigned long long	x = 0;
	unsigned		d;
	size_t			i;

	if (f->vallen == 0)
		return http_bad(e, "empty Content-Length", f->name, f->namelen);
	for (i = 0; i < f->vallen; i++) {
		if (!http_is_digit((unsigned char)f->val[i]))
			return http_bad(e, "Content-Length is not digits only",
			    f->val, f->vallen);
		d = (unsigned)(f->val[i] - '0');
		if (x > (ULL_MAX - d) / 10)
			return http_bad(e, "Content-Length overflows",
			    f->val, f->vallen);
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* delta-seconds, clamped; anything else (an HTTP-date) is -1. */
static int
http_retry_after_parse(const char *s, size_t len)
{
	long	x = 0;
	size_t	i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!http_is_digit((unsigned char)s[i]))
			return -1;
		if (x < HTTP_RETRY_AFTER_MAX)
			x = x * 10 + (s[i] - '0');
	}
	return x > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : (int)x;
}

static void
http_content_type_set(struct http_resp *r, const char *s, size_t len)
{
	size_t	n = len;

	if (n > sizeof(r->content_type) - 1) {
		n = sizeof(r->content_type) - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;	/* do not cut a UTF-8 sequence */
	}
	memcpy(r->content_type, s, n);
	r->content_type[n] = '\0';
}

/* Does a Connection value's comma-separated token list hold "close"? */
static int
http_has_close(const char *s, size_t len)
{
	size_t	pos = 0, a, b;

	while (pos < len) {
		while (pos < len && (s[pos] == ' ' || s[pos] == '\t' ||
		    s[pos] == ','))
			pos++;
		a = pos;
		while (pos < len && s[pos] != ',')
			pos++;
		b = pos;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		if (b - a == 5 && strncasecmp(s + a, "close", 5) == 0)
			return 1;
	}
	return 0;
}

static int
http_field_use(struct http_resp *r, struct http_meta *m,
    const struct http_field *f, struct err *e)
{
	unsigned long long	v = 0;

	if (http_field_is(f, "Content-Length")) {
		if (http_cl_parse(f, &v, e) < 0)
			return -1;
		if (m->have_cl && m->cl != v)
			return err_set(e, "malformed HTTP response: "
			    "Content-Length %llu and %llu", m->cl, v);
		m->have_cl = 1;
		m->cl = v;
	} else if (http_field_is(f, "Transfer-Encoding")) {
		if (m->chunked)
			return err_set(e, "malformed HTTP response: "
			    "Transfer-Encoding repeated");
		if (f->vallen != 7 || strncasecmp(f->val, "chunked", 7) != 0)
			return http_bad(e, "unsupported Transfer-Encoding "
			    "(only chunked)", f->val, f->vallen);
		m->chunked = 1;
	} else if (http_field_is(f, "Retry-After")) {
		r->retry_after = http_retry_after_parse(f->val, f->vallen);
	} else if (http_field_is(f, "Content-Type")) {
		http_content_type_set(r, f->val, f->vallen);
	} else if (http_field_is(f, "Connection")) {
		r->close |= http_has_close(f->val, f->vallen);
	}
	return 0;
}

/* ---- response: the header block -------------------------------------- */

/* Did the line just completed at the end of s (after the first) end the
 * block, i.e. was it empty ("\r\n", or a bare "\n" refused later)? */
static int
http_line_empty(const char *s, size_t len)
{
	return (len >= 2 && s[len - 2] == '\n') ||
	    (len >= 3 && s[len - 2] == '\r' && s[len - 3] == '\n');
}

static int
http_fields_parse(struct http_resp *r, struct http_meta *m, struct err *e)
{
	struct http_field	 f;
	const char		*s = r->head, *nl;
	size_t			 len = r->headlen, pos, n;

	nl = memchr(s, '\n', len);
	for (pos = (size_t)(nl - s) + 1; pos < len; pos += n) {
		nl = memchr(s + pos, '\n', len - pos);
		n = (size_t)(nl - (s + pos)) + 1;
		if (n == 2 && s[pos] == '\r')
			return 0;
		if (n == 1)
			return http_bad(e, "header block ended by a bare LF",
			    s, pos);
		if (++m->nfields > HTTP_HEADERS_MAX)
			return err_set(e, "HTTP response has more than %d "
			    "header lines (HTTP_HEADERS_MAX)",
			    HTTP_HEADERS_MAX);
		if (http_field_parse(s + pos, n, &f, e) < 0 ||
		    http_field_use(r, m, &f, e) < 0)
			return -1;
	}
	return http_bad(e, "header block not ended", s, len);
}

/* An interim 1xx response is forgotten; the next one starts. */
static void
http_resp_next(struct http_resp *r)
{
	r->state = HS_STATUS;
	r->status = 0;
	r->headlen = 0;
	r->retry_after = -1;
	r->content_type[0] = '\0';
}

static int
http_body_too_big(const struct http_resp *r, struct err *e)
{
	if (r->bodycap == HTTP_BODY_MAX)
		return err_set(e, "response body exceeds %d bytes "
		    "(HTTP_BODY_MAX)", HTTP_BODY_MAX);
	return err_set(e, "response body exceeds %zu bytes (the buffer for "
	    "it)", r->bodycap);
}

static int
http_head_done(struct http_resp *r, struct err *e)
{
	struct http_meta	m = { 0, 0, 0, 0 };

	if (http_fields_parse(r, &m, e) < 0)
		return -1;
	if (m.have_cl && m.chunked)
		return err_set(e, "malformed HTTP response: both "
		    "Content-Length and Transfer-Encoding");
	if (r->status < 200) {
		http_resp_next(r);
		return 0;
	}
	if (r->status == 204 || r->status == 304 ||
	    (r->tunnel && r->status / 100 == 2)) {
		r->state = HS_DONE;
	} else if (m.chunked) {
		r->headlen = 0;
		r->state = HS_CHUNK_SIZE;
	} else if (!m.have_cl) {
		r->close = 1;
		r->state = HS_BODY_CLOSE;
	} else if (m.cl > r->bodycap) {
		return http_body_too_big(r, e);
	} else {
		r->remaining = m.cl;
		r->state = m.cl == 0 ? HS_DONE : HS_BODY_LEN;
	}
	return 0;
}

/*
 * Appends bytes up to and including the next LF to head, at most
 * room bytes in all for this line. Returns 1 when a line is complete.
 */
static int
http_line_take(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, size_t room)
{
	const uint8_t	*nl;
	size_t		 n;

	nl = memchr(d + *pos, '\n', len - *pos);
	n = nl != NULL ? (size_t)(nl - (d + *pos)) + 1 : len - *pos;
	if (n > room)
		return -1;
	memcpy(r->head + r->headlen, d + *pos, n);
	r->headlen += n;
	*pos += n;
	return nl != NULL;
}

/*
 * Takes a header (or trailer) line, counted against HTTP_HEADER_MAX for
 * the whole response; 1 when a line is complete, 0 when more is needed.
 */
static int
http_counted_line(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	size_t	before = *pos;
	int	rc;

	rc = http_line_take(r, d, len, pos, HTTP_HEADER_MAX - r->headtotal);
	if (rc < 0)
		return err_set(e, "HTTP response header block%s exceeds %d "
		    "bytes (HTTP_HEADER_MAX)", r->state == HS_TRAILERS ?
		    " with its trailers" : "", HTTP_HEADER_MAX);
	r->headtotal += *pos - before;
	return rc;
}

static int
http_head_feed(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	int	rc;

	if ((rc = http_counted_line(r, d, len, pos, e)) <= 0)
		return rc;
	if (r->state == HS_STATUS) {
		r->state = HS_HEADERS;
		return http_status_parse(r, r->head, r->headlen, e);
	}
	if (!http_line_empty(r->head, r->headlen))
		return 0;
	return http_head_done(r, e);
}

/* ---- response: bodies ------------------------------------------------ */

static int
http_chunk_size_parse(const char *s, size_t len, unsigned long long *v,
    struct err *e)
{
	unsigned long long	x = 0;
	size_t			pos;
	int			h;

	if (len < 2 || s[len - 2] != '\r')
		return http_bad(e, "chunk-size line not ended by CRLF", s, len);
	len -= 2;
	for (pos = 0; pos < len; pos++) {
		h = http_hex_value((unsigned char)s[pos]);
		if (h < 0)
			break;
		if (x > (ULL_MAX >> 4))
			return http_bad(e, "chunk size overflows", s, len);
		x = (x << 4) | (unsigned)h;
	}
	if (pos == 0)
		return http_bad(e, "chunk size is not hexadecimal", s, len);
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t'))
		pos++;
	if (pos < len && s[pos] != ';')
		return http_bad(e, "chunk size is not hexadecimal", s, len);
	if (pos == len && pos > 0 && (s[pos - 1] == ' ' || s[pos - 1] == '\t'))
		return http_bad(e, "space after chunk size", s, len);
	for (; pos < len; pos++)
		if (http_is_ctl((unsigned char)s[pos]))
			return http_bad(e, "control byte in chunk extension",
			    s, len);
	*v = x;
	return 0;
}

static int
http_chunk_size_feed(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	unsigned long long	size = 0;
	int			rc;

	rc = http_line_take(r, d, len, pos, HTTP_CHUNK_LINE_MAX - r->headlen);
	if (rc < 0)
		return err_set(e, "chunk-size line exceeds %d bytes "
		    "(HTTP_CHUNK_LINE_MAX)", HTTP_CHUNK_LINE_MAX);
	if (rc == 0)
		return 0;
	if (http_chunk_size_parse(r->head, r->headlen, &size, e) < 0)
		return -1;
	r->headlen = 0;
	if (size == 0) {
		r->state = HS_TRAILERS;
	} else if (size > r->bodycap - r->bodylen) {
		return http_body_too_big(r, e);
	} else {
		r->remaining = size;
		r->state = HS_CHUNK_DATA;
	}
	return 0;
}

/* Content-Length and chunk data: remaining was checked against bodycap. */
static void
http_data_feed(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos)
{
	size_t	n = len - *pos;

	if (n > r->remaining)
		n = (size_t)r->remaining;
	memcpy(r->body + r->bodylen, d + *pos, n);
	r->bodylen += n;
	r->remaining -= n;
	*pos += n;
	if (r->remaining > 0)
		return;
	if (r->state == HS_BODY_LEN) {
		r->state = HS_DONE;
	} else {
		r->state = HS_CHUNK_CRLF;
		r->remaining = 2;
	}
}

static int
http_chunk_crlf_feed(struct http_resp *r, const uint8_t *d, size_t *pos,
    struct err *e)
{
	if (d[*pos] != (r->remaining == 2 ? '\r' : '\n'))
		return err_set(e, "malformed HTTP response: chunk data not "
		    "followed by CRLF");
	(*pos)++;
	if (--r->remaining == 0) {
		r->headlen = 0;
		r->state = HS_CHUNK_SIZE;
	}
	return 0;
}

static int
http_trailers_feed(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	struct http_field	f;
	int			rc;

	if ((rc = http_counted_line(r, d, len, pos, e)) <= 0)
		return rc;
	if (r->headlen == 2 && r->head[0] == '\r') {
		r->state = HS_DONE;
		return 0;
	}
	if (http_field_parse(r->head, r->headlen, &f, e) < 0)
		return err_prefix(e, "in the trailers");
	r->headlen = 0;
	return 0;
}

static int
http_close_feed(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	size_t	n = len - *pos;

	if (n > r->bodycap - r->bodylen)
		return http_body_too_big(r, e);
	memcpy(r->body + r->bodylen, d + *pos, n);
	r->bodylen += n;
	*pos += n;
	return 0;
}

/* ---- response: the state machine ------------------------------------- */

void
http_resp_init(struct http_resp *r, uint8_t *body, size_t bodycap)
{
	http_resp_next(r);
	r->headtotal = 0;
	r->body = body;
	r->bodycap = body != NULL ? bodycap : 0;
	r->bodylen = 0;
	r->remaining = 0;
	r->tunnel = 0;
	r->close = 0;
}

static int
http_resp_step(struct http_resp *r, const uint8_t *d, size_t len,
    size_t *pos, struct err *e)
{
	switch (r->state) {
	case HS_STATUS:
	case HS_HEADERS:
		return http_head_feed(r, d, len, pos, e);
	case HS_BODY_LEN:
	case HS_CHUNK_DATA:
		http_data_feed(r, d, len, pos);
		return 0;
	case HS_CHUNK_SIZE:
		return http_chunk_size_feed(r, d, len, pos, e);
	case HS_CHUNK_CRLF:
		return http_chunk_crlf_feed(r, d, pos, e);
	case HS_TRAILERS:
		return http_trailers_feed(r, d, len, pos, e);
	case HS_BODY_CLOSE:
		return http_close_feed(r, d, len, pos, e);
	case HS_DONE:
		break;
	}
	return 0;
}

int
http_resp_feed(struct http_resp *r, const uint8_t *data, size_t len,
    size_t *used, struct err *e)
{
	size_t	pos = 0;

	while (r->state != HS_DONE && pos < len) {
		if (http_resp_step(r, data, len, &pos, e) < 0) {
			*used = pos;
			return -1;
		}
	}
	*used = pos;
	return r->state == HS_DONE ? 1 : 0;
}

static const char *
http_state_what(const struct http_resp *r)
{
	switch (r->state) {
	case HS_STATUS:
		return r->headtotal == 0 ? "closed before any byte" :
		    "in the status line";
	case HS_HEADERS:
		return "in the header block";
	case HS_BODY_LEN:
		return "in a Content-Length body";
	case HS_CHUNK_SIZE:
	case HS_CHUNK_DATA:
	case HS_CHUNK_CRLF:
		return "in a chunked body";
	case HS_TRAILERS:
		return "in the trailers";
	case HS_BODY_CLOSE:
		return "body delimited by close, without TLS close_notify";
	case HS_DONE:
		break;
	}
	return "complete";
}

int
http_resp_eof(struct http_resp *r, int close_notify, struct err *e)
{
	if (r->state == HS_DONE)
		return 0;
	if (r->state == HS_BODY_CLOSE && close_notify) {
		r->state = HS_DONE;
		return 0;
	}
	if (r->state == HS_BODY_LEN)
		return err_set(e, "truncated response (%llu of the "
		    "Content-Length body bytes missing)", r->remaining);
	return err_set(e, "truncated response (%s, %zu body bytes)",
	    http_state_what(r), r->bodylen);
}

int
http_resp_reusable(const struct http_resp *r)
{
	return r->state == HS_DONE && !r->close && !r->tunnel &&
	    r->status >= 200;
}
