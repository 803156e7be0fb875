/*
 * entra.c -- the Entra ID client-assertion exchange.
 *
 * Owns: the token endpoint's URL from the authority host and tenant, the
 * client-credentials form with the federated assertion, and reading
 * Entra's answer. Errors quote Entra's own "error: error_description"
 * (which carries the AADSTS code). The form buffer holds the assertion
 * and is wiped when the step ends.
 */
#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "config.h"
#include "entra.h"
#include "fetch.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "oauth.h"

#define ENTRA_ASSERTION_TYPE \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ENTRA_SCOPE_SUFFIX	"/.default"

static char	entra_form_buf[FORM_MAX];
static char	entra_scope[URL_MAX + sizeof(ENTRA_SCOPE_SUFFIX)];

int
entra_token_url(const struct azure *az, char *dst, size_t cap,
    struct err *e)
{
	int	n;

	n = fmt_print(dst, cap, "%s/%s/oauth2/v2.0/token",
	    az->authority[0] != '\0' ? az->authority : ENTRA_AUTHORITY_DEFAULT,
	    az->tenant_id);
	if (n < 0 || (size_t)n >= cap)
		return err_set(e, "Entra ID token URL exceeds %zu bytes "
		    "(URL_MAX)", cap - 1);
	return 0;
}

int
entra_form(const struct azure *az, const char *resource,
    const char *assertion, size_t alen, char *dst, size_t cap, size_t *len,
    struct err *e)
{
	struct oauth_form	f;
	int			n;

	n = fmt_print(entra_scope, sizeof(entra_scope), "%s%s", resource,
	    ENTRA_SCOPE_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(entra_scope))
		return err_set(e, "Entra ID scope exceeds URL_MAX");
	oauth_form_init(&f, dst, cap);
	oauth_form_add(&f, "client_id", az->client_id, strlen(az->client_id));
	oauth_form_add(&f, "grant_type", "client_credentials", 18);
	oauth_form_add(&f, "client_assertion_type", ENTRA_ASSERTION_TYPE,
	    sizeof(ENTRA_ASSERTION_TYPE) - 1);
	oauth_form_add(&f, "client_assertion", assertion, alen);
	oauth_form_add(&f, "scope", entra_scope, (size_t)n);
	return oauth_form_finish(&f, len, "Entra ID request", "FORM_MAX", e);
}

int
entra_parse(const char *body, size_t len, long long now,
    struct oauth_token *t, struct err *e)
{
	return oauth_parse(body, len, now, "Entra ID", t, e);
}

static int
entra_run(const struct fetch_call *fc, int64_t deadline_ms,
    struct oauth_token *out, struct err *e)
{
	const struct http_resp	*r;
	char			 what[URL_MAX + 32];

	if (fetch_call(fc, deadline_ms, &r, e) != 0 ||
	    oauth_status(fc, r, e) != 0)
		return -1;
	if (entra_parse((const char *)r->body, r->bodylen,
	    (long long)time(NULL), out, e) != 0) {
		fetch_describe(fc, what, sizeof(what));
		return err_prefix(e, "%s: HTTP %d", what, r->status);
	}
	return 0;
}

int
entra_exchange(const struct azure *az, const char *resource,
    const struct anchors *a, const struct dial_table *d,
    const char *assertion, size_t alen, int64_t deadline_ms,
    struct oauth_token *out, struct err *e)
{
	char			url[URL_MAX];
	struct http_hdr		h[3];
	struct fetch_call	fc;
	struct url		u;
	size_t			len = 0;
	int			r = -1;

	if (entra_token_url(az, url, sizeof(url), e) != 0)
		return -1;
	if (url_parse(url, &u, e) != 0)
		return err_prefix(e, "Entra ID token URL");
	h[0] = (struct http_hdr){ "Content-Type",
	    "application/x-www-form-urlencoded" };
	h[1] = (struct http_hdr){ "Accept", "application/json" };
	h[2] = (struct http_hdr){ "User-Agent", "regcred/" BUILD_VERSION };
	if (entra_form(az, resource, assertion, alen, entra_form_buf,
	    sizeof(entra_form_buf), &len, e) == 0) {
		fc = (struct fetch_call){ "entra", "POST", &u, NULL, a, h, 3,
		    entra_form_buf, len, d, NULL };
		r = entra_run(&fc, deadline_ms, out, e);
	}
	explicit_bzero(entra_form_buf, len);	/* a failed form wipes itself */
	fetch_wipe();
	return r;
}
