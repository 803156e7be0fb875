/*
 * config.h -- what regcred is told to do: the command line, REGCRED_*
 * environment variables (a flag wins), the standard variables some
 * options also read (GOOGLE_APPLICATION_CREDENTIALS, AZURE_*), and the
 * service-account folder's files.
 */
#ifndef REGCRED_CONFIG_H
#define REGCRED_CONFIG_H

#include <stddef.h>
#include "limits.h"
#include "log.h"

enum cmd { CMD_REFRESH, CMD_RUN, CMD_TOKEN, CMD_VERSION, CMD_HELP,
    CMD_STATUS };

/* The Entra ID hop's settings (flags, REGCRED_AZURE_*, AZURE_*). */
struct azure {
	char	client_id[AZURE_ID_MAX];
	char	tenant_id[AZURE_ID_MAX];
	char	token_file[PATH_MAX_REGCRED];
	char	authority[URL_MAX];	/* https://host[/path], no trailing
					   '/'; "" = the default */
};

struct config {
	enum cmd	cmd;
	char		credential_config[PATH_MAX_REGCRED];
	char		registry[REGISTRY_MAX][HOST_MAX];
	size_t		nregistry;
	char		secret[NAME_MAX_REGCRED + 1];
	char		namespace[NAMESPACE_MAX][NAME_MAX_REGCRED + 1];
	size_t		nnamespace;	/* 0: <kube-sa-dir>/namespace */
	char		service_account[SERVICE_ACCOUNT_MAX][NAME_MAX_REGCRED + 1];
	size_t		nservice_account;	/* imagePullSecrets to keep */
	char		kube_sa_dir[PATH_MAX_REGCRED];
	char		kube_api[URL_MAX];		/* "" = from env */
	char		kube_server_name[HOST_MAX];	/* "" = derived */
	char		ca_file[PATH_MAX_REGCRED];	/* "" = none */
	int		no_embedded_roots;
	int		timeout_s;
	enum log_format	log_format;
	struct azure	az;
	char		proxy[URL_MAX];		/* "" = none (or turned off) */
	char		no_proxy[NO_PROXY_MAX];
	/* the status file and metrics (issue 10) */
	char		status_file[PATH_MAX_REGCRED];	/* "" = none */
	char		metrics_addr[METRICS_ADDR_MAX];	/* "" = off */
	int		max_age_s;		/* regcred status --max-age */
};

/*
 * Parses argv (argv[1] is the command) and REGCRED_* variables (read
 * with getenv; a flag wins over its variable). Checks what the command
 * needs: refresh needs --secret and at least one --registry, status
 * only --status-file (no credential config); otherwise a
 * credential config path must come from the flag, REGCRED_CREDENTIAL_CONFIG
 * or GOOGLE_APPLICATION_CREDENTIALS. Values are validated (registry is a
 * host[:port], secret/namespace are DNS-1123 names, timeout 1..3600,
 * --no-embedded-roots needs --ca-file; --metrics-addr is a numeric
 * HOST:PORT, --max-age 1..STATUS_MAX_AGE_MAX_S; Azure IDs are letters, digits,
 * '-' and '.'; the authority host is normalised as azure-identity does).
 */
int	config_parse(struct config *c, int argc, char **argv, struct err *e);
/* 1 if s is a valid namespace name (an RFC 1123 DNS label). */
int	config_namespace_ok(const char *s, size_t len);
/* The --help text. */
extern const char config_usage[];

/* <kube-sa-dir>/name (token, ca.crt, namespace), trailing white space
 * removed; empty is an error. */
int	config_read_sa(const struct config *c, const char *name, char *dst,
	    size_t cap, size_t *len, struct err *e);

#endif
