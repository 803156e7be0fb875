/*
 * fuzz_config.c -- flags and variables (config_parse).
 *
 * Input: NUL-separated strings. "NAME=value" with NAME one of the
 * variables regcred reads is set in the environment (all of them are
 * unset before each input); every other string is an argument, after
 * argv[0] = "regcred".
 * Properties: an accepted configuration has what its command needs
 * (credential config; refresh and run: a secret and a registry; status:
 * a status file and nothing else), values that
 * passed their checks (registries host[:port] without scheme, path or
 * spaces; Secret and namespace names in lowercase DNS form; timeout
 * 1..3600; Azure IDs; an https authority without a trailing '/'; a
 * numeric metrics address; --max-age 1..604800; a proxy URL proxy_parse
 * takes; ServiceAccount names in lowercase DNS form), --no-embedded-roots
 * only with --ca-file (refresh, run, token), every string NUL-terminated
 * in its buffer, and a --secret=V flag winning over REGCRED_SECRET.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "metrics.h"
#include "proxy.h"

#define ARGS_MAX	64
#define TERMINATED(f)	(strnlen((f), sizeof(f)) < sizeof(f))

static const char *const vars[] = {
	"REGCRED_CREDENTIAL_CONFIG", "GOOGLE_APPLICATION_CREDENTIALS",
	"REGCRED_REGISTRY", "REGCRED_SECRET", "REGCRED_NAMESPACE",
	"REGCRED_KUBE_SA_DIR", "REGCRED_KUBE_API", "REGCRED_KUBE_SERVER_NAME",
	"REGCRED_CA_FILE", "REGCRED_NO_EMBEDDED_ROOTS", "REGCRED_TIMEOUT",
	"REGCRED_LOG_FORMAT", "REGCRED_AZURE_CLIENT_ID", "AZURE_CLIENT_ID",
	"REGCRED_AZURE_TENANT_ID", "AZURE_TENANT_ID",
	"REGCRED_AZURE_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE",
	"REGCRED_AZURE_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST",
	"REGCRED_STATUS_FILE", "REGCRED_MAX_AGE", "REGCRED_METRICS_ADDR",
	"REGCRED_SERVICE_ACCOUNT", "REGCRED_PROXY", "https_proxy",
	"HTTPS_PROXY", "REGCRED_NO_PROXY", "no_proxy", "NO_PROXY",
};
#define NVARS	(sizeof(vars) / sizeof(vars[0]))

static struct config	c;
static char		copy[1 << 16];
static char		envs[NVARS][sizeof(copy)];	/* putenv keeps them */

/* Puts s in the environment if it names one of ours; 1 if it did.
 * (putenv with our own buffers: setenv would leak every value.) */
static int
env_set(const char *s)
{
	const char	*eq = strchr(s, '=');
	size_t		 i;

	if (eq == NULL)
		return 0;
	for (i = 0; i < NVARS; i++)
		if (strlen(vars[i]) == (size_t)(eq - s) &&
		    strncmp(s, vars[i], (size_t)(eq - s)) == 0) {
			memcpy(envs[i], s, strlen(s) + 1);
			putenv(envs[i]);
			return 1;
		}
	return 0;
}

static int
only(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

/* The status file and metrics options (status needs only the file). */
static void
check_status(void)
{
	struct sockaddr_storage	sa;
	socklen_t		len;
	struct err		e;

	FUZZ_CHECK(TERMINATED(c.status_file) && TERMINATED(c.metrics_addr));
	FUZZ_CHECK(c.max_age_s >= 1 && c.max_age_s <= 604800);
	FUZZ_CHECK(c.metrics_addr[0] == '\0' ||
	    metrics_addr_parse(c.metrics_addr, &sa, &len, &e) == 0);
	FUZZ_CHECK(c.cmd != CMD_STATUS || c.status_file[0] != '\0');
}

/* Proxy settings and the ServiceAccounts to keep the Secret in. */
static void
check_proxy_sa(void)
{
	struct proxy	p;
	struct err	e;
	size_t		i;

	FUZZ_CHECK(TERMINATED(c.proxy) && TERMINATED(c.no_proxy));
	FUZZ_CHECK(c.proxy[0] == '\0' || proxy_parse(&p, c.proxy, &e) == 0);
	FUZZ_CHECK(c.nservice_account <= SERVICE_ACCOUNT_MAX);
	for (i = 0; i < c.nservice_account; i++) {
		FUZZ_CHECK(TERMINATED(c.service_account[i]));
		FUZZ_CHECK(c.service_account[i][0] != '\0');
		FUZZ_CHECK(only(c.service_account[i],
		    "abcdefghijklmnopqrstuvwxyz0123456789-."));
	}
}

static void
check_namespaces(void)
{
	size_t	i;

	FUZZ_CHECK(c.nnamespace <= NAMESPACE_MAX);
	for (i = 0; i < c.nnamespace; i++) {
		FUZZ_CHECK(TERMINATED(c.namespace[i]));
		FUZZ_CHECK(only(c.namespace[i],
		    "abcdefghijklmnopqrstuvwxyz0123456789-"));
		FUZZ_CHECK(strlen(c.namespace[i]) <= 63);
	}
}

static void
check_config(int argc, char **argv)
{
	struct url	u;
	struct err	e;
	size_t		i;
	int		k;

	FUZZ_CHECK(TERMINATED(c.credential_config) && TERMINATED(c.secret) &&
	    TERMINATED(c.kube_sa_dir) &&
	    TERMINATED(c.kube_api) && TERMINATED(c.kube_server_name) &&
	    TERMINATED(c.ca_file) && TERMINATED(c.az.client_id) &&
	    TERMINATED(c.az.tenant_id) && TERMINATED(c.az.token_file) &&
	    TERMINATED(c.az.authority));
	if (c.cmd == CMD_VERSION || c.cmd == CMD_HELP)
		return;
	FUZZ_CHECK(c.cmd == CMD_REFRESH || c.cmd == CMD_RUN ||
	    c.cmd == CMD_TOKEN || c.cmd == CMD_STATUS);
	check_status();
	check_namespaces();
	check_proxy_sa();
	FUZZ_CHECK(c.cmd == CMD_STATUS || c.credential_config[0] != '\0');
	FUZZ_CHECK((c.cmd != CMD_REFRESH && c.cmd != CMD_RUN) ||
	    (c.secret[0] && c.nregistry > 0));
	FUZZ_CHECK(c.nregistry <= REGISTRY_MAX);
	for (i = 0; i < c.nregistry; i++) {
		FUZZ_CHECK(TERMINATED(c.registry[i]) && c.registry[i][0]);
		FUZZ_CHECK(strpbrk(c.registry[i], "/ @?#") == NULL);
		FUZZ_CHECK(!fuzz_has_ctl(c.registry[i], strlen(c.registry[i]), 0));
	}
	FUZZ_CHECK(only(c.secret, "abcdefghijklmnopqrstuvwxyz0123456789-."));
	FUZZ_CHECK(c.timeout_s >= 1 && c.timeout_s <= 3600);
	FUZZ_CHECK(c.cmd == CMD_STATUS || !c.no_embedded_roots ||
	    c.ca_file[0] != '\0');
	FUZZ_CHECK(c.log_format == LOG_TEXT || c.log_format == LOG_JSON);
	FUZZ_CHECK(only(c.az.client_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."));
	FUZZ_CHECK(only(c.az.tenant_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."));
	if (c.az.authority[0] != '\0') {
		FUZZ_CHECK(strncasecmp(c.az.authority, "https://", 8) == 0);
		FUZZ_CHECK(url_parse(c.az.authority, &u, &e) == 0);
		FUZZ_CHECK(c.az.authority[strlen(c.az.authority) - 1] != '/');
	}
	for (k = 2; k < argc; k++)
		if (strncmp(argv[k], "--secret=", 9) == 0)
			FUZZ_CHECK(strcmp(c.secret, argv[k] + 9) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*argv[ARGS_MAX + 1], *s;
	struct err	 e;
	size_t		 i;
	int		 argc = 1;

	if (size >= sizeof(copy))
		return 0;
	for (i = 0; i < NVARS; i++)
		unsetenv(vars[i]);
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "regcred";
	for (s = copy; s < copy + size && argc < ARGS_MAX;
	    s += strlen(s) + 1)
		if (!env_set(s))
			argv[argc++] = s;
	argv[argc] = NULL;
	if (config_parse(&c, argc, argv, &e) == 0)
		check_config(argc, argv);
	else
		FUZZ_CHECK(strnlen(e.msg, sizeof(e.msg)) < sizeof(e.msg));
	return 0;
}
