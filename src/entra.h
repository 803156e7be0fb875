/*
 * entra.h -- the Entra ID hop: the pod's projected service-account token
 * (audience api://AzureADTokenExchange) is the client assertion of a
 * client-credentials request for a managed identity, exactly as
 * azure-identity's WorkloadIdentityCredential sends it; the access token
 * Entra ID answers with is the subject token for Google STS. Building the
 * request and reading the answer are apart from the I/O, for tests.
 */
#ifndef REGCRED_ENTRA_H
#define REGCRED_ENTRA_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct azure;
struct anchors;
struct dial_table;
struct oauth_token;

#define ENTRA_AUTHORITY_DEFAULT	"https://login.microsoftonline.com"

/* "<authority>/<tenant>/oauth2/v2.0/token". */
int	entra_token_url(const struct azure *az, char *dst, size_t cap,
	    struct err *e);
/* client_id, grant_type=client_credentials, client_assertion_type,
 * client_assertion, scope=<resource>/.default. */
int	entra_form(const struct azure *az, const char *resource,
	    const char *assertion, size_t alen, char *dst, size_t cap,
	    size_t *len, struct err *e);
/* A 200 answer: access_token and expires_in; now is its arrival time. */
int	entra_parse(const char *body, size_t len, long long now,
	    struct oauth_token *t, struct err *e);
/* The network step; failures name the request, the HTTP status and
 * Entra's "error: AADSTSnnnn: description". */
int	entra_exchange(const struct azure *az, const char *resource,
	    const struct anchors *a, const struct dial_table *d,
	    const char *assertion, size_t alen, int64_t deadline_ms,
	    struct oauth_token *out, struct err *e);

#endif
