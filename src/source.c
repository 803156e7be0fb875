/*
 * source.c -- the subject token's source.
 *
 * Owns: choosing between a token file, a URL and the Entra ID hop (see
 * source.h), reading the local inputs of each in the local phase, and
 * fetching what must come over the network: a GET of the URL with the
 * credential config's headers, or the Entra ID exchange. Every token it
 * holds is registered for redaction and wiped by source_wipe.
 */
#include <string.h>

#include "buildinfo.h"
#include "config.h"
#include "cred.h"
#include "entra.h"
#include "fetch.h"
#include "file.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "source.h"

/* Names the Azure settings that are missing, "" when none. */
static void
source_missing(const struct azure *az, char *dst, size_t cap)
{
	int	n;

	n = fmt_print(dst, cap, "%s%s%s",
	    az->client_id[0] == '\0' ? " --azure-client-id (AZURE_CLIENT_ID)" :
	    "", az->tenant_id[0] == '\0' ?
	    " --azure-tenant-id (AZURE_TENANT_ID)" : "",
	    az->token_file[0] == '\0' ?
	    " --azure-token-file (AZURE_FEDERATED_TOKEN_FILE)" : "");
	if (n < 0)
		dst[0] = '\0';
}

int
source_plan(struct source *s, const struct cred *c, const struct azure *az,
    const struct anchors *a, int *ignored, struct err *e)
{
	char	missing[160];
	int	any;

	memset(s, 0, sizeof(*s));
	s->cred = c;
	s->az = az;
	s->anchors = a;
	s->kind = c->kind == CRED_FILE ? SOURCE_FILE : SOURCE_URL;
	any = az->client_id[0] != '\0' || az->tenant_id[0] != '\0' ||
	    az->token_file[0] != '\0';
	*ignored = any && c->imds_resource[0] == '\0';
	if (!any || c->imds_resource[0] == '\0')
		return 0;
	source_missing(az, missing, sizeof(missing));
	if (missing[0] != '\0')
		return err_set(e, "the credential source is Azure IMDS and "
		    "some Entra ID settings are given, but the Entra ID hop "
		    "also needs:%s", missing);
	s->kind = SOURCE_ENTRA;
	return 0;
}

int
source_endpoint(const struct source *s, char *host, size_t hcap, char *port,
    size_t pcap, struct err *e)
{
	char		url[URL_MAX];
	struct url	u;

	host[0] = port[0] = '\0';
	if (s->kind == SOURCE_FILE)
		return 0;
	if (s->kind == SOURCE_ENTRA) {
		if (entra_token_url(s->az, url, sizeof(url), e) != 0 ||
		    url_parse(url, &u, e) != 0)
			return err_prefix(e, "Entra ID token URL");
	} else if (url_parse_any(s->cred->source_url, &u, e) != 0)
		return err_prefix(e, "credential_source.url");
	if (strlen(u.host) >= hcap || strlen(u.port) >= pcap)
		return err_set(e, "source host exceeds HOST_MAX");
	memcpy(host, u.host, strlen(u.host) + 1);
	memcpy(port, u.port, strlen(u.port) + 1);
	return 0;
}

const char *
source_step(const struct source *s)
{
	return s->kind == SOURCE_ENTRA ? "entra" : "subject-token";
}

static int
source_read_file(struct source *s, char *scratch, size_t scap, char *tok,
    size_t cap, size_t *toklen, struct err *e)
{
	char	what[PATH_MAX_REGCRED + 16];
	size_t	len;
	int	n, r;

	n = fmt_print(what, sizeof(what), "token file %s",
	    s->cred->source_file);
	if (n < 0 || (size_t)n >= sizeof(what))
		return err_set(e, "token file path exceeds PATH_MAX_REGCRED");
	if (file_read(s->cred->source_file, scratch, scap, &len, "token file",
	    e) != 0)
		return -1;
	r = cred_subject_token(s->cred, what, scratch, len, tok, cap, toklen,
	    e);
	explicit_bzero(scratch, len);
	return r;
}

/* The Azure token file: a projected service-account token (a JWT). */
static int
source_read_assertion(struct source *s, struct err *e)
{
	const char	*path = s->az->token_file;
	size_t		 i;

	if (file_read(path, s->assertion, sizeof(s->assertion), &s->alen,
	    "Azure token file", e) != 0)
		return -1;
	s->alen = file_rtrim(s->assertion, s->alen);
	s->assertion[s->alen] = '\0';
	if (s->alen == 0)
		return err_set(e, "Azure token file %s is empty", path);
	for (i = 0; i < s->alen; i++)
		if ((unsigned char)s->assertion[i] <= ' ' ||
		    (unsigned char)s->assertion[i] >= 0x7f)
			return err_set(e, "Azure token file %s: the token holds "
			    "a space, control or non-ASCII byte", path);
	if (log_secret_add(s->assertion, s->alen) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

int
source_read(struct source *s, char *scratch, size_t scap, char *tok,
    size_t cap, size_t *toklen, struct err *e)
{
	*toklen = 0;
	switch (s->kind) {
	case SOURCE_FILE:
		return source_read_file(s, scratch, scap, tok, cap, toklen, e);
	case SOURCE_ENTRA:
		return source_read_assertion(s, e);
	default:
		return 0;
	}
}

/* GET the URL with the config's headers; the answer is the token. */
static int
source_get(struct source *s, int64_t deadline_ms, char *tok, size_t cap,
    size_t *toklen, struct err *e)
{
	const struct cred	*c = s->cred;
	struct http_hdr		 h[CRED_HEADERS_MAX + 1];
	const struct http_resp	*r;
	struct fetch_call	 fc;
	struct url		 u;
	char			 what[URL_MAX + 32], msg[LOG_QUOTE_MAX + 8];
	size_t			 i;

	if (url_parse_any(c->source_url, &u, e) != 0)
		return err_prefix(e, "credential_source.url");
	for (i = 0; i < c->nheaders; i++)
		h[i] = (struct http_hdr){ c->headers[i].name,
		    c->headers[i].value };
	h[i++] = (struct http_hdr){ "User-Agent", "regcred/" BUILD_VERSION };
	fc = (struct fetch_call){ "subject-token", "GET", &u, NULL,
	    s->anchors, h, i, NULL, 0, s->dial, NULL };
	if (fetch_call(&fc, deadline_ms, &r, e) != 0)
		return -1;
	fetch_describe(&fc, what, sizeof(what));
	if (r->status != 200) {
		log_quote(msg, sizeof(msg), (const char *)r->body, r->bodylen);
		return err_set(e, "%s: HTTP %d: %s", what, r->status,
		    r->bodylen > 0 ? msg : "(empty body)");
	}
	return cred_subject_token(c, what, (const char *)r->body, r->bodylen,
	    tok, cap, toklen, e);
}

static int
source_entra(struct source *s, int64_t deadline_ms, char *tok, size_t cap,
    size_t *toklen, struct err *e)
{
	if (entra_exchange(s->az, s->cred->imds_resource, s->anchors,
	    s->dial, s->assertion, s->alen, deadline_ms, &s->entra, e) != 0)
		return -1;
	explicit_bzero(s->assertion, sizeof(s->assertion));
	if (s->entra.len >= cap)
		return err_set(e, "Entra ID access_token exceeds %zu bytes "
		    "(TOKEN_MAX)", cap - 1);
	memcpy(tok, s->entra.token, s->entra.len);
	tok[s->entra.len] = '\0';
	*toklen = s->entra.len;
	explicit_bzero(&s->entra, sizeof(s->entra));
	return 0;
}

int
source_fetch(struct source *s, int64_t deadline_ms, char *tok, size_t cap,
    size_t *toklen, struct err *e)
{
	int	r = 0;

	if (s->kind == SOURCE_URL)
		r = source_get(s, deadline_ms, tok, cap, toklen, e);
	else if (s->kind == SOURCE_ENTRA)
		r = source_entra(s, deadline_ms, tok, cap, toklen, e);
	fetch_wipe();
	return r;
}

void
source_wipe(struct source *s)
{
	explicit_bzero(s->assertion, sizeof(s->assertion));
	explicit_bzero(&s->entra, sizeof(s->entra));
	s->alen = 0;
}
