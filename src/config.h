/*
 * config.h -- what regcred is told to do: the command line, REGCRED_*
 * environment variables (a flag wins), the external_account credential
 * configuration, and reading local files (config, token files, the
 * service-account folder). All files are read before any network I/O.
 */
#ifndef REGCRED_CONFIG_H
#define REGCRED_CONFIG_H

#include <stddef.h>
#include "limits.h"
#include "log.h"

enum cmd { CMD_REFRESH, CMD_TOKEN, CMD_VERSION, CMD_HELP };

struct config {
	enum cmd	cmd;
	char		credential_config[PATH_MAX_REGCRED];
	char		registry[REGISTRY_MAX][HOST_MAX];
	size_t		nregistry;
	char		secret[NAME_MAX_REGCRED + 1];
	char		namespace[NAME_MAX_REGCRED + 1];   /* "" = from sa dir */
	char		kube_sa_dir[PATH_MAX_REGCRED];
	char		kube_api[URL_MAX];		/* "" = from env */
	char		kube_server_name[HOST_MAX];	/* "" = derived */
	char		ca_file[PATH_MAX_REGCRED];	/* "" = none */
	int		no_embedded_roots;
	int		timeout_s;
	enum log_format	log_format;
};

/*
 * Parses argv (argv[1] is the command) and REGCRED_* variables (read
 * with getenv; a flag wins over its variable). Checks what the command
 * needs: refresh needs --secret and at least one --registry; a
 * credential config path must come from the flag, REGCRED_CREDENTIAL_CONFIG
 * or GOOGLE_APPLICATION_CREDENTIALS. Values are validated (registry is a
 * host[:port], secret/namespace are DNS-1123 names, timeout 1..3600,
 * --no-embedded-roots needs --ca-file).
 */
int	config_parse(struct config *c, int argc, char **argv, struct err *e);
/* 1 if s is a valid namespace name (an RFC 1123 DNS label). */
int	config_namespace_ok(const char *s, size_t len);
/* The --help text. */
extern const char config_usage[];

enum cred_format { CRED_TEXT, CRED_JSON };

/* The fields of a Google external_account file regcred uses. */
struct cred {
	char		audience[URL_MAX];
	char		subject_token_type[256];
	char		token_url[URL_MAX];
	char		impersonation_url[URL_MAX];	/* "" = none */
	long long	lifetime_s;			/* default 3600 */
	char		source_file[PATH_MAX_REGCRED];
	enum cred_format format;
	char		field_name[256];		/* for CRED_JSON */
	char		client_id[256];			/* "" = none */
	char		client_secret[256];
	char		workforce_pool_user_project[256];
	char		universe_domain[HOST_MAX];	/* default googleapis.com */
};

/*
 * Parses an external_account document: type must be external_account,
 * audience and token_url are required, credential_source.file is the only
 * source (executable and url are refused with a message), format text or
 * json (json needs subject_token_field_name). Unknown fields are ignored;
 * a malformed known field is an error naming it.
 */
int	cred_parse(struct cred *c, const char *buf, size_t len, struct err *e);

/* Reads a whole regular file of at most cap-1 bytes, NUL terminated.
 * `what` names it in errors ("credential config", "token file"...). */
int	config_read_file(const char *path, char *buf, size_t cap,
	    size_t *len, const char *what, struct err *e);

/* <kube-sa-dir>/name (token, ca.crt, namespace), trailing white space
 * removed; empty is an error. */
int	config_read_sa(const struct config *c, const char *name, char *dst,
	    size_t cap, size_t *len, struct err *e);

/*
 * Extracts the subject token from the token file's contents: text format
 * is the whole file with trailing whitespace removed; json format takes
 * the string field named field_name. Empty is an error.
 */
int	cred_subject_token(const struct cred *c, const char *buf, size_t len,
	    char *tok, size_t cap, size_t *toklen, struct err *e);

#endif
