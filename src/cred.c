/*
 * cred.c -- the external_account credential configuration.
 *
 * Owns: parsing Google's external_account JSON (the fields regcred uses,
 * each checked and named in errors), which credential sources regcred
 * takes (a file; a URL over https, or plain http to a link-local metadata
 * server; Azure IMDS recognised so main.c can take the Entra ID hop
 * instead) and which it refuses, and taking the subject token out of what
 * a source yields.
 */
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "cred.h"
#include "file.h"
#include "http.h"
#include "json.h"
#include "log.h"

#define LIFETIME_MIN_S	600
#define LIFETIME_MAX_S	43200
#define LIFETIME_DEF_S	3600
#define IMDS_V4		"169.254.169.254"
#define IMDS_V6		"fd00:ec2::254"
#define IMDS_TOKEN_PATH	"/metadata/identity/oauth2/token"


static const char *
cred_type_name(enum json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "an object";
	case JSON_STRING:
		return "a string";
	case JSON_NUMBER:
		return "a number";
	default:
		return "something else";
	}
}

/* 1 found with the wanted type (*t set), 0 absent (or null when
 * optional), -1 error. */
static int
cred_find(const struct json *j, int obj, const char *key, const char *path,
    enum json_type want, int required, int *t, struct err *e)
{
	int	r;

	r = json_find(j, obj, key, t, e);
	if (r == -1)
		return err_prefix(e, "\"%s\"", path);
	if (r == 1 && !required && json_type(j, *t) == JSON_NULL)
		r = 0;
	if (r == 0)
		return required ? err_set(e, "\"%s\" is missing", path) : 0;
	if (json_type(j, *t) != want)
		return err_set(e, "\"%s\" must be %s", path,
		    cred_type_name(want));
	return 1;
}

/* A string field into dst; required ones must not be empty. */
static int
cred_str(const struct json *j, int obj, const char *key, const char *path,
    char *dst, size_t cap, int required, struct err *e)
{
	size_t	n;
	int	r, t;

	dst[0] = '\0';
	r = cred_find(j, obj, key, path, JSON_STRING, required, &t, e);
	if (r != 1)
		return r;
	if (json_string(j, t, dst, cap, &n, e) == -1) {
		if ((size_t)(j->tok[t].end - j->tok[t].start) >= cap)
			return err_set(e, "\"%s\" is too long (at most %zu "
			    "bytes)", path, cap - 1);
		return err_prefix(e, "\"%s\"", path);
	}
	if (required && n == 0)
		return err_set(e, "\"%s\" must not be empty", path);
	return 1;
}

static int
cred_type(const struct json *j, struct err *e)
{
	char	type[64], q[LOG_QUOTE_MAX + 4];
	size_t	n;
	int	r, t;

	r = json_find(j, 0, "type", &t, e);
	if (r == -1)
		return err_prefix(e, "\"type\"");
	if (r == 0)
		return err_set(e, "\"type\" is missing (must be "
		    "\"external_account\")");
	if (json_type(j, t) != JSON_STRING)
		return err_set(e, "\"type\" must be a string");
	if (json_string(j, t, type, sizeof(type), &n, e) == -1)
		return err_set(e, "\"type\" must be \"external_account\"");
	if (strcmp(type, "external_account") != 0) {
		log_quote(q, sizeof(q), type, n);
		return err_set(e, "\"type\" is \"%s\", but regcred supports "
		    "only \"external_account\"", q);
	}
	return 0;
}

/* A whole https URL, as url_parse will take it at run time. */
static int
cred_https(const char *url, const char *path, struct err *e)
{
	struct url	u;

	if (strncmp(url, "https://", 8) != 0)
		return err_set(e, "\"%s\" must be an https:// URL", path);
	if (url_parse(url, &u, e) != 0)
		return err_prefix(e, "\"%s\"", path);
	return 0;
}

static int
cred_urls(struct cred *c, const struct json *j, struct err *e)
{
	if (cred_str(j, 0, "audience", "audience", c->audience,
	    sizeof(c->audience), 1, e) == -1 ||
	    cred_str(j, 0, "subject_token_type", "subject_token_type",
	    c->subject_token_type, sizeof(c->subject_token_type), 1, e) == -1 ||
	    cred_str(j, 0, "token_url", "token_url", c->token_url,
	    sizeof(c->token_url), 1, e) == -1 ||
	    cred_str(j, 0, "service_account_impersonation_url",
	    "service_account_impersonation_url", c->impersonation_url,
	    sizeof(c->impersonation_url), 0, e) == -1)
		return -1;
	if (cred_https(c->token_url, "token_url", e) == -1)
		return -1;
	if (c->impersonation_url[0] != '\0' && cred_https(c->impersonation_url,
	    "service_account_impersonation_url", e) == -1)
		return -1;
	return 0;
}

static int
cred_lifetime(struct cred *c, const struct json *j, struct err *e)
{
	const char	*path =
	    "service_account_impersonation.token_lifetime_seconds";
	int		 r, obj, t;

	r = cred_find(j, 0, "service_account_impersonation",
	    "service_account_impersonation", JSON_OBJECT, 0, &obj, e);
	if (r != 1)
		return r;
	r = cred_find(j, obj, "token_lifetime_seconds", path, JSON_NUMBER, 0,
	    &t, e);
	if (r != 1)
		return r;
	if (json_int(j, t, LIFETIME_MIN_S, LIFETIME_MAX_S, 0, &c->lifetime_s,
	    e) == -1)
		return err_set(e, "\"%s\" must be a whole number of seconds "
		    "from %d to %d", path, LIFETIME_MIN_S, LIFETIME_MAX_S);
	return 0;
}

/* Sources regcred does not take, each with its reason. AWS first:
 * gcloud writes url and regional_cred_verification_url beside
 * environment_id, and the message must say AWS, not URL. */
static int
cred_refuse(const struct json *j, int src, struct err *e)
{
	static const struct {
		const char	*key;
		const char	*why;
	} no[] = {
		{ "environment_id", "credential_source.environment_id: AWS "
		    "sources are not supported (regcred runs in Kubernetes: "
		    "use a file or url source)" },
		{ "executable", "credential_source.executable is not "
		    "supported (regcred runs no programs)" },
		{ "certificate", "credential_source.certificate: X.509 "
		    "certificate (mTLS) sources are not supported" },
	};
	size_t	i;
	int	r, t;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		r = json_find(j, src, no[i].key, &t, e);
		if (r == -1)
			return err_prefix(e, "\"credential_source.%s\"",
			    no[i].key);
		if (r == 1)
			return err_set(e, "%s", no[i].why);
	}
	return 0;
}

static int
cred_format(struct cred *c, const struct json *j, int src, struct err *e)
{
	const char	*path = "credential_source.format.type";
	char		 type[32];
	int		 r, fmt;

	r = cred_find(j, src, "format", "credential_source.format",
	    JSON_OBJECT, 0, &fmt, e);
	if (r != 1)
		return r;
	r = cred_str(j, fmt, "type", path, type, sizeof(type), 0, e);
	if (r == -1)
		return -1;
	if (r == 0 || strcmp(type, "text") == 0) {
		c->format = CRED_TEXT;
		return 0;
	}
	if (strcmp(type, "json") != 0)
		return err_set(e, "\"%s\" must be \"text\" or \"json\"", path);
	c->format = CRED_JSON;
	r = cred_str(j, fmt, "subject_token_field_name",
	    "credential_source.format.subject_token_field_name",
	    c->field_name, sizeof(c->field_name), 1, e);
	return r == -1 ? -1 : 0;
}

/* Header names are tokens; regcred writes the framing headers itself. */
static int
cred_header_ok(const char *name, struct err *e)
{
	static const char	*const own[] = { "host", "content-length",
	    "transfer-encoding", "connection" };
	size_t			 i;

	if (name[0] == '\0')
		return err_set(e, "\"credential_source.headers\" has an empty "
		    "name");
	for (i = 0; name[i] != '\0'; i++)
		if (strchr("!#$%&'*+-.^_`|~", name[i]) == NULL &&
		    !((name[i] >= '0' && name[i] <= '9') ||
		    ((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'z')))
			return err_set(e, "\"credential_source.headers\": "
			    "\"%s\" is not a valid header name", name);
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcasecmp(name, own[i]) == 0)
			return err_set(e, "\"credential_source.headers\": "
			    "regcred sets %s itself", name);
	return 0;
}

/* A header value may hold HTAB, no other control byte (RFC 9110 5.5). */
static int
cred_has_ctl(const char *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f)
			return 1;
	return 0;
}

/* credential_source.headers: an object of string values. */
static int
cred_headers(struct cred *c, const struct json *j, int src, struct err *e)
{
	const char	*path = "credential_source.headers";
	struct cred_header *h;
	size_t		 n, k;
	int		 r, obj, t;

	r = cred_find(j, src, "headers", path, JSON_OBJECT, 0, &obj, e);
	if (r != 1)
		return r;
	for (k = 0, t = obj + 1; k < (size_t)j->tok[obj].size; k++) {
		if (c->nheaders == CRED_HEADERS_MAX)
			return err_set(e, "\"%s\" has more than %d entries "
			    "(CRED_HEADERS_MAX)", path, CRED_HEADERS_MAX);
		h = &c->headers[c->nheaders++];
		if (json_string(j, t, h->name, sizeof(h->name), &n, e) != 0)
			return err_set(e, "\"%s\": a name is not a valid "
			    "string of at most %d bytes", path,
			    CRED_HEADER_NAME_MAX - 1);
		if (cred_header_ok(h->name, e) != 0)
			return -1;
		if (json_type(j, t + 1) != JSON_STRING ||
		    json_string(j, t + 1, h->value, sizeof(h->value), &n, e))
			return err_set(e, "\"%s.%s\" must be a string of at "
			    "most %d bytes", path, h->name,
			    CRED_HEADER_VALUE_MAX - 1);
		if (cred_has_ctl(h->value, n))
			return err_set(e, "\"%s.%s\" holds a control "
			    "character (not allowed in an HTTP header)", path,
			    h->name);
		t = json_skip(j, t + 1);
	}
	return 0;
}

static int
cred_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
		return (ch | 0x20) - 'a' + 10;
	return 16;
}

/* Percent-decodes the query value of key in u's path; 0 when absent. */
static int
cred_query(const char *path, const char *key, char *dst, size_t cap)
{
	const char	*q = strchr(path, '?'), *v, *end;
	size_t		 klen = strlen(key), n = 0;
	unsigned	 hi, lo;

	for (v = q; v != NULL; v = strchr(v + 1, '&'))
		if (strncmp(v + 1, key, klen) == 0 && v[1 + klen] == '=')
			break;
	if (v == NULL || cap == 0)
		return 0;
	v += 2 + klen;
	end = v + strcspn(v, "&");
	for (; v < end && n + 1 < cap; v++, n++) {
		if (*v == '%' && end - v >= 3 &&
		    (hi = (unsigned)cred_hex(v[1])) < 16 &&
		    (lo = (unsigned)cred_hex(v[2])) < 16) {
			dst[n] = (char)(hi << 4 | lo);
			v += 2;
		} else
			dst[n] = *v;
	}
	dst[n] = '\0';
	return v == end && n > 0 ? 1 : -1;
}

/* 169.254.169.254 or [fd00:ec2::254], however the v6 one is written. */
static int
cred_metadata_host(const struct url *u)
{
	struct in6_addr	a, m;

	if (!u->ipv6)
		return strcmp(u->host, IMDS_V4) == 0;
	return inet_pton(AF_INET6, u->host, &a) == 1 &&
	    inet_pton(AF_INET6, IMDS_V6, &m) == 1 &&
	    memcmp(&a, &m, sizeof(a)) == 0;
}

/* https anywhere; plain http only to a link-local metadata server. */
static int
cred_url(struct cred *c, struct err *e)
{
	struct url	u;

	if (url_parse_any(c->source_url, &u, e) != 0)
		return err_prefix(e, "\"credential_source.url\"");
	if (!u.plain)
		return 0;
	if (!cred_metadata_host(&u))
		return err_set(e, "\"credential_source.url\": plain http:// is "
		    "allowed only to the link-local metadata servers "
		    "(%s, [%s]); use https://", IMDS_V4, IMDS_V6);
	if (strcmp(u.host, IMDS_V4) != 0 ||
	    strncmp(u.path, IMDS_TOKEN_PATH, sizeof(IMDS_TOKEN_PATH) - 1) != 0 ||
	    (u.path[sizeof(IMDS_TOKEN_PATH) - 1] != '?' &&
	    u.path[sizeof(IMDS_TOKEN_PATH) - 1] != '\0'))
		return 0;
	if (cred_query(u.path, "resource", c->imds_resource,
	    sizeof(c->imds_resource)) < 0)
		return err_set(e, "\"credential_source.url\": the resource= "
		    "parameter is empty or longer than %d bytes (URL_MAX)",
		    URL_MAX - 1);
	return 0;
}

static int
cred_source(struct cred *c, const struct json *j, struct err *e)
{
	int	src, rf, ru;

	if (cred_find(j, 0, "credential_source", "credential_source",
	    JSON_OBJECT, 1, &src, e) == -1 || cred_refuse(j, src, e) == -1)
		return -1;
	if ((rf = cred_str(j, src, "file", "credential_source.file",
	    c->source_file, sizeof(c->source_file), 0, e)) == -1 ||
	    (ru = cred_str(j, src, "url", "credential_source.url",
	    c->source_url, sizeof(c->source_url), 0, e)) == -1)
		return -1;
	if (rf == 0 && ru == 0)
		return err_set(e, "\"credential_source\" needs \"file\" or "
		    "\"url\"");
	if ((rf == 1 && c->source_file[0] == '\0') ||
	    (ru == 1 && c->source_url[0] == '\0'))
		return err_set(e, "\"credential_source.%s\" must not be empty",
		    rf == 1 ? "file" : "url");
	if (rf == 1 && ru == 1)
		return err_set(e, "\"credential_source\" has both \"file\" "
		    "and \"url\": give one");
	c->kind = ru == 1 ? CRED_URL : CRED_FILE;
	if (c->kind == CRED_URL && (cred_url(c, e) != 0 ||
	    cred_headers(c, j, src, e) != 0))
		return -1;
	return cred_format(c, j, src, e);
}

static int
cred_optional(struct cred *c, const struct json *j, struct err *e)
{
	if (cred_str(j, 0, "client_id", "client_id", c->client_id,
	    sizeof(c->client_id), 0, e) == -1 ||
	    cred_str(j, 0, "client_secret", "client_secret", c->client_secret,
	    sizeof(c->client_secret), 0, e) == -1 ||
	    cred_str(j, 0, "workforce_pool_user_project",
	    "workforce_pool_user_project", c->workforce_pool_user_project,
	    sizeof(c->workforce_pool_user_project), 0, e) == -1)
		return -1;
	return 0;
}

int
cred_parse(struct cred *c, const char *buf, size_t len, struct err *e)
{
	struct json	j;

	memset(c, 0, sizeof(*c));
	c->lifetime_s = LIFETIME_DEF_S;
	c->format = CRED_TEXT;
	if (json_parse(&j, buf, len, e) == -1 ||
	    (json_type(&j, 0) != JSON_OBJECT &&
	    err_set(e, "not a JSON object") == -1) ||
	    cred_type(&j, e) == -1 || cred_urls(c, &j, e) == -1 ||
	    cred_lifetime(c, &j, e) == -1 || cred_source(c, &j, e) == -1 ||
	    cred_optional(c, &j, e) == -1) {
		explicit_bzero(c, sizeof(*c));
		return err_prefix(e, "credential config");
	}
	return 0;
}


static int
cred_token_long(const char *what, size_t cap, struct err *e)
{
	return err_set(e, "%s: the token is longer than %zu bytes "
	    "(limit TOKEN_MAX)", what, cap - 1);
}

static int
cred_token_text(const char *what, const char *buf, size_t len,
    char *tok, size_t cap, size_t *toklen, struct err *e)
{
	len = file_rtrim(buf, len);
	if (len >= cap)
		return cred_token_long(what, cap, e);
	memcpy(tok, buf, len);
	tok[len] = '\0';
	*toklen = len;
	return 0;
}

/* Messages from json.c name byte offsets, never content; the ones
 * about the field are written here so the token is never quoted. */
static int
cred_token_json(const struct cred *c, const char *what,
    const char *buf, size_t len,
    char *tok, size_t cap, size_t *toklen, struct err *e)
{
	struct json	j;
	int		r, t;

	if (json_parse(&j, buf, len, e) == -1)
		return err_prefix(e, "%s", what);
	if (json_type(&j, 0) != JSON_OBJECT)
		return err_set(e, "%s: not a JSON object",
		    what);
	r = json_find(&j, 0, c->field_name, &t, e);
	if (r == -1)
		return err_set(e, "%s: \"%s\" occurs more than once",
		    what, c->field_name);
	if (r == 0)
		return err_set(e, "%s has no \"%s\" field",
		    what, c->field_name);
	if (json_type(&j, t) != JSON_STRING)
		return err_set(e, "%s: \"%s\" must be a string",
		    what, c->field_name);
	if (json_string(&j, t, tok, cap, toklen, e) == -1) {
		if ((size_t)(j.tok[t].end - j.tok[t].start) >= cap)
			return cred_token_long(what, cap, e);
		return err_set(e, "%s: \"%s\" is not a valid "
		    "string", what, c->field_name);
	}
	return 0;
}

/* Not empty, and no control bytes (the token goes into a form body). */
static int
cred_token_check(const char *what, const char *tok, size_t len,
    struct err *e)
{
	size_t	i;

	if (len == 0)
		return err_set(e, "%s is empty", what);
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] < ' ' || tok[i] == 0x7f)
			return err_set(e, "%s: the token contains "
			    "a control character", what);
	return 0;
}

int
cred_subject_token(const struct cred *c, const char *what, const char *buf,
    size_t len, char *tok, size_t cap, size_t *toklen, struct err *e)
{
	int	rc;

	*toklen = 0;
	if (cap == 0)
		return err_set(e, "%s: no room for the token",
		    what);
	tok[0] = '\0';
	if (c->format == CRED_JSON)
		rc = cred_token_json(c, what, buf, len, tok, cap, toklen, e);
	else
		rc = cred_token_text(what, buf, len, tok, cap, toklen, e);
	if (rc == 0)
		rc = cred_token_check(what, tok, *toklen, e);
	if (rc == -1) {
		explicit_bzero(tok, cap);
		*toklen = 0;
	}
	return rc;
}
