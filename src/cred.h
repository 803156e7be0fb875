/*
 * cred.h -- the Google external_account credential configuration, as
 * `gcloud iam workload-identity-pools create-cred-config` writes it, and
 * taking a subject token out of what its source yields (a token file's
 * contents or a URL's answer).
 */
#ifndef REGCRED_CRED_H
#define REGCRED_CRED_H

#include <stddef.h>
#include "limits.h"

struct err;

enum cred_format { CRED_TEXT, CRED_JSON };
enum cred_kind { CRED_FILE, CRED_URL };

struct cred_header {
	char	name[CRED_HEADER_NAME_MAX];
	char	value[CRED_HEADER_VALUE_MAX];
};

/* The fields of a Google external_account file regcred uses. */
struct cred {
	char		audience[URL_MAX];
	char		subject_token_type[256];
	char		token_url[URL_MAX];
	char		impersonation_url[URL_MAX];	/* "" = none */
	long long	lifetime_s;			/* default 3600 */
	enum cred_kind	kind;
	char		source_file[PATH_MAX_REGCRED];	/* CRED_FILE */
	char		source_url[URL_MAX];		/* CRED_URL */
	struct cred_header headers[CRED_HEADERS_MAX];	/* CRED_URL */
	size_t		nheaders;
	char		imds_resource[URL_MAX];	/* "" unless source_url is
						   Azure IMDS with resource= */
	enum cred_format format;
	char		field_name[256];		/* for CRED_JSON */
	char		client_id[256];			/* "" = none */
	char		client_secret[256];
	char		workforce_pool_user_project[256];
};

/*
 * Parses an external_account document: type must be external_account,
 * audience and token_url are required; credential_source is a file or a
 * url (https://, or http:// to a link-local metadata address only) with
 * optional headers; executable, AWS (environment_id) and X.509
 * certificate sources are refused, each with its own message; format text
 * or json (json needs subject_token_field_name). A url that is Azure IMDS
 * (http://169.254.169.254/metadata/identity/oauth2/token?...) has its
 * resource= parameter, percent-decoded, in imds_resource. Unknown fields
 * are ignored (universe_domain too: every endpoint regcred calls is named
 * in the file); a malformed known field is an error naming it.
 */
int	cred_parse(struct cred *c, const char *buf, size_t len, struct err *e);

/*
 * Extracts the subject token from what the source yielded: text format is
 * the whole of it with trailing whitespace removed; json format takes the
 * string field named field_name. Empty, control bytes or over cap-1 bytes
 * is an error; `what` names the source in errors ("token file /x").
 */
int	cred_subject_token(const struct cred *c, const char *what,
	    const char *buf, size_t len, char *tok, size_t cap, size_t *toklen,
	    struct err *e);

#endif
