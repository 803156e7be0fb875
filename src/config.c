/*
 * config.c -- what regcred is told to do.
 *
 * Owns: the command line, its REGCRED_* variables and the standard
 * variables some options also read (GOOGLE_APPLICATION_CREDENTIALS, the
 * AZURE_* that the Azure Workload Identity webhook injects): a flag wins
 * over REGCRED_*, which wins over the standard one. The validation of
 * every value (registry host[:port], Kubernetes names, Azure IDs and
 * authority, timeout, log format), the --help text, and reading the
 * service-account folder.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "fmt.h"
#include "http.h"
#include "metrics.h"
#include "proxy.h"

#define SA_DIR_DEFAULT	"/var/run/secrets/kubernetes.io/serviceaccount"
#define TIMEOUT_MAX_S	3600
#define DNS_LABEL_MAX	63

const char config_usage[] =
"regcred refresh [options]   exchange, then server-side apply the Secret; exit\n"
"regcred run     [options]   the same, again at half of each token's lifetime,\n"
"                            until SIGTERM\n"
"regcred token   [options]   exchange, print only the access token on stdout\n"
"regcred status  --status-file PATH [--max-age S]\n"
"                            exit 0 when the last success is recent and every\n"
"                            Secret's token has more than 10 minutes left, else\n"
"                            1 with a one-line reason (an exec probe)\n"
"regcred version             version, git commit, compiler, musl, BearSSL, jsmn\n"
"regcred --help              (also -h and `regcred help`)\n"
"  --credential-config PATH  external_account JSON (default $GOOGLE_APPLICATION_CREDENTIALS)\n"
"  --registry HOST           docker server; repeatable; refresh needs one or more\n"
"  --secret NAME             Secret to write; refresh needs it\n"
"  --namespace NS            repeatable: the Secret in each (one apply each over\n"
"                            one connection); default <kube-sa-dir>/namespace\n"
"  --service-account NAME    repeatable: keep the Secret in this ServiceAccount's\n"
"                            imagePullSecrets in every namespace\n"
"  --kube-sa-dir DIR         default /var/run/secrets/kubernetes.io/serviceaccount\n"
"                            (token re-read every run, ca.crt, namespace)\n"
"  --kube-api URL            default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT\n"
"  --kube-server-name NAME   name to verify in the API server's certificate\n"
"                            (default: kubernetes.default.svc when the host is an IP,\n"
"                            else the host)\n"
"  --ca-file PATH            extra PEM roots for every endpoint except the API\n"
"                            server, added to the embedded ones\n"
"  --no-embedded-roots       trust only --ca-file (pinning, TLS-inspecting proxies)\n"
"  --timeout SECONDS         deadline for one refresh, retries included (default 60)\n"
"  --log-format json|text\n"
"Entra ID hop (for a credential config whose source is Azure IMDS):\n"
"  --azure-client-id ID      managed identity's client ID ($AZURE_CLIENT_ID)\n"
"  --azure-tenant-id ID      its tenant ($AZURE_TENANT_ID)\n"
"  --azure-token-file PATH   projected token for api://AzureADTokenExchange\n"
"                            ($AZURE_FEDERATED_TOKEN_FILE; re-read every run)\n"
"  --azure-authority-host URL  default https://login.microsoftonline.com/\n"
"                            ($AZURE_AUTHORITY_HOST)\n"
"Egress:\n"
"  --proxy URL               http://[user:password@]host[:port] for every\n"
"                            HTTPS endpoint ($https_proxy, $HTTPS_PROXY);\n"
"                            --proxy '' turns it off\n"
"  --no-proxy LIST           hosts, domains, IPs, CIDRs to reach directly\n"
"                            ($no_proxy, $NO_PROXY)\n"
"Status and metrics:\n"
"  --status-file PATH        JSON record of every attempt, replaced atomically\n"
"                            (written by a long-running run, read by status)\n"
"  --max-age SECONDS         status: the last success may be this old (default\n"
"                            3600, one default token lifetime; at most 604800)\n"
"  --metrics-addr HOST:PORT  serve GET /metrics and /healthz on this numeric\n"
"                            address (0.0.0.0:9090, [::]:9090); off by default\n"
"\n"
"Each option may also be set as REGCRED_<NAME> (upper-case, dashes to\n"
"underscores, e.g. REGCRED_KUBE_SA_DIR; REGCRED_REGISTRY=a,b is a\n"
"comma-separated list); a flag wins over its variable, which wins over\n"
"the standard variable named in parentheses.\n"
"Exit codes: 0 ok, 2 usage/config, 3 identity (token file, URL source,\n"
"Entra ID, STS, IAM), 4 Kubernetes\n"
"regcred status exits 0 healthy, 1 unhealthy (the reason on stderr), 2 usage\n";

/* ---- command line and environment ------------------------------------ */

enum opt_id {
	OPT_CRED, OPT_REGISTRY, OPT_SECRET, OPT_NAMESPACE, OPT_SA,
	OPT_SA_DIR,
	OPT_KUBE_API, OPT_SERVER_NAME, OPT_CA_FILE, OPT_NO_ROOTS,
	OPT_TIMEOUT, OPT_LOG_FORMAT, OPT_AZ_CLIENT, OPT_AZ_TENANT,
	OPT_AZ_TOKEN_FILE, OPT_AZ_AUTHORITY, OPT_PROXY, OPT_NO_PROXY,
	OPT_STATUS_FILE, OPT_METRICS_ADDR, OPT_MAX_AGE,
	OPT_COUNT
};

/*
 * Names are arrays, not pointers: no load-time relocations in the
 * static-PIE binary. -Wc++-compat makes a name that would fill its array
 * (and so lose its NUL) an error.
 */
struct opt_def {
	char	flag[24];	/* "--secret" */
	char	env[30];	/* "REGCRED_SECRET" */
	char	std[32];	/* a standard variable read after env, or "" */
	char	std2[32];	/* and another one after that, or "" */
	char	limit[17];	/* string options: limit named in errors, */
	char	takes_value;
	size_t	off;		/* where the value goes in struct config */
	size_t	cap;		/* and its size */
};

#define OPT_STD2(f, v, std, std2, field, lim) \
	{ f, v, std, std2, lim, 1, offsetof(struct config, field), \
	    sizeof(((struct config *)0)->field) }
#define OPT_STD(f, v, std, field, lim) OPT_STD2(f, v, std, "", field, lim)
#define OPT_STR(f, v, field, lim) OPT_STD(f, v, "", field, lim)

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wc++-compat"
static const struct opt_def config_opts[OPT_COUNT] = {
	[OPT_CRED] = OPT_STD("--credential-config", "REGCRED_CREDENTIAL_CONFIG",
	    "GOOGLE_APPLICATION_CREDENTIALS", credential_config,
	    "PATH_MAX_REGCRED"),
	[OPT_REGISTRY] = { "--registry", "REGCRED_REGISTRY", "", "", "", 1, 0,
	    0 },
	[OPT_SECRET] = OPT_STR("--secret", "REGCRED_SECRET", secret,
	    "NAME_MAX_REGCRED"),
	[OPT_NAMESPACE] = { "--namespace", "REGCRED_NAMESPACE", "", "", "", 1,
	    0, 0 },
	[OPT_SA] = { "--service-account", "REGCRED_SERVICE_ACCOUNT", "", "",
	    "", 1, 0, 0 },
	[OPT_SA_DIR] = OPT_STR("--kube-sa-dir", "REGCRED_KUBE_SA_DIR",
	    kube_sa_dir, "PATH_MAX_REGCRED"),
	[OPT_KUBE_API] = OPT_STR("--kube-api", "REGCRED_KUBE_API", kube_api,
	    "URL_MAX"),
	[OPT_SERVER_NAME] = OPT_STR("--kube-server-name",
	    "REGCRED_KUBE_SERVER_NAME", kube_server_name, "HOST_MAX"),
	[OPT_CA_FILE] = OPT_STR("--ca-file", "REGCRED_CA_FILE", ca_file,
	    "PATH_MAX_REGCRED"),
	[OPT_NO_ROOTS] = { "--no-embedded-roots", "REGCRED_NO_EMBEDDED_ROOTS",
	    "", "", "", 0, 0, 0 },
	[OPT_TIMEOUT] = { "--timeout", "REGCRED_TIMEOUT", "", "", "", 1, 0, 0 },
	[OPT_LOG_FORMAT] = { "--log-format", "REGCRED_LOG_FORMAT", "", "", "",
	    1, 0, 0 },
	[OPT_AZ_CLIENT] = OPT_STD("--azure-client-id", "REGCRED_AZURE_CLIENT_ID",
	    "AZURE_CLIENT_ID", az.client_id, "AZURE_ID_MAX"),
	[OPT_AZ_TENANT] = OPT_STD("--azure-tenant-id", "REGCRED_AZURE_TENANT_ID",
	    "AZURE_TENANT_ID", az.tenant_id, "AZURE_ID_MAX"),
	[OPT_AZ_TOKEN_FILE] = OPT_STD("--azure-token-file",
	    "REGCRED_AZURE_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE",
	    az.token_file, "PATH_MAX_REGCRED"),
	[OPT_AZ_AUTHORITY] = OPT_STD("--azure-authority-host",
	    "REGCRED_AZURE_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST",
	    az.authority, "URL_MAX"),
	/* every endpoint is HTTPS: https_proxy, then HTTPS_PROXY, as curl */
	[OPT_PROXY] = OPT_STD2("--proxy", "REGCRED_PROXY", "https_proxy",
	    "HTTPS_PROXY", proxy, "URL_MAX"),
	[OPT_NO_PROXY] = OPT_STD2("--no-proxy", "REGCRED_NO_PROXY", "no_proxy",
	    "NO_PROXY", no_proxy, "NO_PROXY_MAX"),
	[OPT_STATUS_FILE] = OPT_STR("--status-file", "REGCRED_STATUS_FILE",
	    status_file, "PATH_MAX_REGCRED"),
	[OPT_METRICS_ADDR] = OPT_STR("--metrics-addr", "REGCRED_METRICS_ADDR",
	    metrics_addr, "METRICS_ADDR_MAX"),
	[OPT_MAX_AGE] = { "--max-age", "REGCRED_MAX_AGE", "", "", "", 1, 0, 0 },
};
#pragma GCC diagnostic pop

/* Single-valued options as given, before they are checked and copied. */
struct opt_raw {
	const char	*val[OPT_COUNT];
	const char	*src[OPT_COUNT];	/* flag or variable, for errors */
	int		 nflags[OPT_COUNT];	/* list options: flags seen */
};

static int
is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int
is_alnum(char ch)
{
	return is_lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* One label: alnum and '-', not starting or ending with '-'. */
static int
config_label_ok(const char *s, size_t len, size_t max, int upper)
{
	size_t	i;

	if (len == 0 || len > max || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '-')
			continue;
		if (upper ? !is_alnum(s[i]) : !is_lower_alnum(s[i]))
			return 0;
	}
	return 1;
}

/* Dot-separated labels, none empty. */
static int
config_labels_ok(const char *s, size_t len, size_t max, int upper)
{
	size_t	pos = 0, n;
	const char *dot;

	while (pos <= len) {
		dot = memchr(s + pos, '.', len - pos);
		n = dot != NULL ? (size_t)(dot - (s + pos)) : len - pos;
		if (!config_label_ok(s + pos, n, max, upper))
			return 0;
		pos += n + 1;
	}
	return 1;
}

static int
config_v6_ok(const char *s, size_t len)
{
	size_t	i, colons = 0;

	if (len < 2 || len > 45)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == ':')
			colons++;
		else if (!is_alnum(s[i]) && s[i] != '.')
			return 0;
		else if (s[i] > 'f' || (s[i] > 'F' && s[i] < 'a'))
			return 0;
	}
	return colons >= 2;
}

static int
config_port_ok(const char *s, size_t len)
{
	size_t	i;
	long	port = 0;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* host[:port]: DNS name or IPv4, or [v6]; no scheme, path or spaces. */
static int
config_host_ok(const char *s, size_t len)
{
	const char	*end;
	size_t		 hlen;

	if (len > 0 && s[0] == '[') {
		end = memchr(s, ']', len);
		if (end == NULL || !config_v6_ok(s + 1, (size_t)(end - s) - 1))
			return 0;
		hlen = (size_t)(end - s) + 1;
	} else {
		end = memchr(s, ':', len);
		hlen = end != NULL ? (size_t)(end - s) : len;
		if (!config_labels_ok(s, hlen, DNS_LABEL_MAX, 1))
			return 0;
	}
	if (hlen == len)
		return 1;
	return s[hlen] == ':' && config_port_ok(s + hlen + 1, len - hlen - 1);
}

static int
config_registry_check(const char *s, size_t len, const char *src,
    struct err *e)
{
	if (len == 0)
		return err_set(e, "%s: empty registry", src);
	if (len >= HOST_MAX)
		return err_set(e, "%s: registry is too long (limit HOST_MAX: "
		    "at most %d bytes)", src, HOST_MAX - 1);
	if (!config_host_ok(s, len))
		return err_set(e, "%s: \"%.*s\" is not a registry host[:port] "
		    "(no scheme, path or spaces)", src, (int)len, s);
	return 0;
}

static int
config_name_check(enum opt_id id, const char *s, size_t len, const char *src,
    struct err *e)
{
	if (id == OPT_NAMESPACE && !config_label_ok(s, len, DNS_LABEL_MAX, 0))
		return err_set(e, "%s: \"%.*s\" is not a valid namespace "
		    "(lowercase letters, digits and '-', starting and ending "
		    "with a letter or digit, at most %d bytes)", src,
		    (int)(len > 64 ? 64 : len), s, DNS_LABEL_MAX);
	if (id == OPT_SA && !config_labels_ok(s, len, NAME_MAX_REGCRED, 0))
		return err_set(e, "%s: \"%.*s\" is not a valid ServiceAccount "
		    "name (lowercase letters, digits, '-' and '.', at most %d "
		    "bytes)", src, (int)(len > 64 ? 64 : len), s,
		    NAME_MAX_REGCRED);
	return 0;
}

/* Where list option id keeps its items: array, item size, count, limit. */
static char *
config_list(struct config *c, enum opt_id id, size_t *item, size_t **n,
    size_t *max, const char **limit)
{
	if (id == OPT_REGISTRY) {
		*item = sizeof(c->registry[0]), *n = &c->nregistry;
		*max = REGISTRY_MAX, *limit = "REGISTRY_MAX";
		return c->registry[0];
	}
	*item = sizeof(c->namespace[0]);
	if (id == OPT_NAMESPACE) {
		*n = &c->nnamespace, *max = NAMESPACE_MAX;
		*limit = "NAMESPACE_MAX";
		return c->namespace[0];
	}
	*n = &c->nservice_account, *max = SERVICE_ACCOUNT_MAX;
	*limit = "SERVICE_ACCOUNT_MAX";
	return c->service_account[0];
}

/* One item of a list option (--registry, --namespace, --service-account). */
static int
config_list_add(struct config *c, enum opt_id id, const char *s, size_t len,
    const char *src, struct err *e)
{
	const char	*limit;
	char		*a;
	size_t		 item, *n, max, i;

	a = config_list(c, id, &item, &n, &max, &limit);
	if (id == OPT_REGISTRY ? config_registry_check(s, len, src, e) != 0 :
	    config_name_check(id, s, len, src, e) != 0)
		return -1;
	if (*n >= max)
		return err_set(e, "%s: too many values (limit %s = %zu)", src,
		    limit, max);
	/* registry repeats are kept: dockercfg de-duplicates as Go's map
	 * would; a namespace or ServiceAccount twice is a mistake */
	for (i = 0; id != OPT_REGISTRY && i < *n; i++)
		if (strlen(a + i * item) == len &&
		    memcmp(a + i * item, s, len) == 0)
			return err_set(e, "%s: \"%.*s\" given twice", src,
			    (int)len, s);
	memcpy(a + *n * item, s, len);
	a[*n * item + len] = '\0';
	(*n)++;
	return 0;
}

/* REGCRED_REGISTRY=a,b (and the other lists): comma-separated, spaces
 * around items ignored. */
static int
config_list_env(struct config *c, enum opt_id id, const char *v,
    struct err *e)
{
	size_t		 len = strlen(v), pos = 0, end, a, b;
	const char	*comma;

	while (pos <= len) {
		comma = memchr(v + pos, ',', len - pos);
		end = comma != NULL ? (size_t)(comma - v) : len;
		for (a = pos; a < end && v[a] == ' '; a++)
			;
		for (b = end; b > a && v[b - 1] == ' '; b--)
			;
		if (config_list_add(c, id, v + a, b - a, config_opts[id].env,
		    e) == -1)
			return -1;
		pos = end + 1;
	}
	return 0;
}

static int
config_copy(struct config *c, const struct opt_def *d, const char *v,
    const char *src, struct err *e)
{
	size_t	len = strlen(v);

	if (len >= d->cap)
		return err_set(e, "%s is too long (limit %s: at most %zu bytes)",
		    src, d->limit, d->cap - 1);
	memcpy((char *)c + d->off, v, len + 1);
	return 0;
}

/* A whole number of seconds from 1 to max (no sign, no spaces), into
 * *out; the error names the option as src. */
static int
config_seconds(const char *v, long max, const char *src, int *out,
    struct err *e)
{
	size_t	i;
	long	n = 0;

	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || n > max)
			break;
		n = n * 10 + (v[i] - '0');
	}
	if (i == 0 || v[i] != '\0' || n < 1 || n > max)
		return err_set(e, "%s must be a whole number of seconds from "
		    "1 to %d", src, (int)max);
	*out = (int)n;
	return 0;
}

static int
config_bool(struct config *c, const char *v, const char *src, struct err *e)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		c->no_embedded_roots = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		c->no_embedded_roots = 0;
	else
		return err_set(e, "%s must be 1, true, 0 or false", src);
	return 0;
}

static int
config_log_format(struct config *c, const char *v, const char *src,
    struct err *e)
{
	if (strcmp(v, "json") == 0)
		c->log_format = LOG_JSON;
	else if (strcmp(v, "text") == 0)
		c->log_format = LOG_TEXT;
	else
		return err_set(e, "%s must be json or text", src);
	return 0;
}

/* https://host[:port][/]: a path (a proxy's prefix) would be dropped,
 * so it is refused rather than ignored. */
static int
config_kube_api(struct config *c, const char *v, const char *src,
    struct err *e)
{
	struct url	u;

	if (url_parse(v, &u, e) != 0)
		return err_prefix(e, "%s", src);
	if (strcmp(u.path, "/") != 0)
		return err_set(e, "%s: a path or query (\"%.64s\") is not "
		    "supported: give https://host[:port]", src, u.path);
	return config_copy(c, &config_opts[OPT_KUBE_API], v, src, e);
}

/* Checked now (exit 2), parsed again where it is used. */
static int
config_proxy(struct config *c, const char *v, const char *src,
    struct err *e)
{
	struct proxy	p;
	int		r;

	r = proxy_parse(&p, v, e);
	explicit_bzero(&p, sizeof(p));
	if (r != 0)
		return err_prefix(e, "%s", src);
	return config_copy(c, &config_opts[OPT_PROXY], v, src, e);
}

/* ---- the status file and metrics ------------------------------------ */

/* A numeric HOST:PORT that metrics_open will take, port not 0. */
static int
config_metrics_addr(struct config *c, const char *v, const char *src,
    struct err *e)
{
	struct sockaddr_storage	sa;
	socklen_t		len;
	const char		*port;

	if (metrics_addr_parse(v, &sa, &len, e) != 0)
		return err_prefix(e, "%s", src);
	port = strrchr(v, ':') + 1;	/* parsed: there is one, then digits */
	if (strspn(port, "0") == strlen(port))
		return err_set(e, "%s: \"%s\": the port must be 1 to 65535",
		    src, v);
	return config_copy(c, &config_opts[OPT_METRICS_ADDR], v, src, e);
}

/* Azure client and tenant IDs: GUIDs, or a tenant's domain name. */
static int
config_azure_id_ok(const char *v)
{
	size_t	i;

	for (i = 0; v[i] != '\0'; i++)
		if (!is_alnum(v[i]) && v[i] != '-' && v[i] != '.')
			return 0;
	return i > 0;
}

/*
 * As azure-identity normalises it: spaces and trailing '/' removed,
 * https:// added when there is no scheme, http:// refused. Stored without
 * the trailing '/'.
 */
static int
config_authority(struct config *c, const char *v, const char *src,
    struct err *e)
{
	char		*a = c->az.authority;
	struct url	 u;
	size_t		 len, pre = 0;

	while (*v == ' ')
		v++;
	for (len = strlen(v); len > 0 && (v[len - 1] == ' ' ||
	    v[len - 1] == '/'); len--)
		;
	if (len >= 7 && strncasecmp(v, "http://", 7) == 0)
		return err_set(e, "%s must be an https:// URL (Entra ID is "
		    "reached over TLS only)", src);
	if (len < 8 || strncasecmp(v, "https://", 8) != 0)
		pre = 8;
	if (len + pre >= sizeof(c->az.authority))
		return err_set(e, "%s is too long (limit URL_MAX)", src);
	memcpy(a, "https://", pre);
	memcpy(a + pre, v, len);
	a[len + pre] = '\0';
	if (url_parse(a, &u, e) != 0 || strchr(u.path, '?') != NULL)
		return err_set(e, "%s is not a valid https URL (want e.g. "
		    "https://login.microsoftonline.com/)", src);
	return 0;
}

static int
config_names_check(const struct config *c, enum opt_id id, const char *src,
    struct err *e)
{
	const char	*v = (const char *)c + config_opts[id].off;
	size_t		 len = strlen(v);

	if ((id == OPT_AZ_CLIENT || id == OPT_AZ_TENANT) &&
	    !config_azure_id_ok(v))
		return err_set(e, "%s: \"%.64s\" is not a valid Azure %s ID "
		    "(letters, digits, '-' and '.')", src, v,
		    id == OPT_AZ_CLIENT ? "client" : "tenant");
	if (id == OPT_SECRET && !config_labels_ok(v, len, NAME_MAX_REGCRED, 0))
		return err_set(e, "%s: \"%s\" is not a valid Secret name "
		    "(lowercase letters, digits, '-' and '.', starting and "
		    "ending with a letter or digit, at most %d bytes)", src, v,
		    NAME_MAX_REGCRED);
	return 0;
}

/* Checks one single-valued option and stores it in c. */
static int
config_apply(struct config *c, enum opt_id id, const char *v,
    const char *src, struct err *e)
{
	switch (id) {
	case OPT_NO_ROOTS:
		return config_bool(c, v, src, e);
	case OPT_TIMEOUT:
		return config_seconds(v, TIMEOUT_MAX_S, src, &c->timeout_s, e);
	case OPT_LOG_FORMAT:
		return config_log_format(c, v, src, e);
	case OPT_AZ_AUTHORITY:
		return config_authority(c, v, src, e);
	case OPT_KUBE_API:
		return config_kube_api(c, v, src, e);
	case OPT_PROXY:
		return config_proxy(c, v, src, e);
	case OPT_MAX_AGE:
		return config_seconds(v, STATUS_MAX_AGE_MAX_S, src,
		    &c->max_age_s, e);
	case OPT_METRICS_ADDR:
		return config_metrics_addr(c, v, src, e);
	default:
		break;
	}
	if (config_copy(c, &config_opts[id], v, src, e) == -1)
		return -1;
	return config_names_check(c, id, src, e);
}

/* An unset or empty variable counts as not set. */
static const char *
config_getenv(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static int
config_is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Finds "--name" or "--name=value"; -1 when unknown. */
static int
config_opt_find(const char *a, const char **eq)
{
	size_t	n, i;

	*eq = strchr(a, '=');
	n = *eq != NULL ? (size_t)(*eq - a) : strlen(a);
	for (i = 0; i < OPT_COUNT; i++)
		if (strlen(config_opts[i].flag) == n &&
		    strncmp(config_opts[i].flag, a, n) == 0)
			return (int)i;
	return -1;
}

static int
config_opt_value(enum opt_id id, int argc, char **argv, int *i,
    const char *eq, const char **v, struct err *e)
{
	const char	*flag = config_opts[id].flag;

	*v = NULL;
	if (!config_opts[id].takes_value) {
		if (eq != NULL)
			return err_set(e, "%s takes no value", flag);
		*v = "1";
		return 0;
	}
	if (eq != NULL)
		*v = eq + 1;
	else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
		*v = argv[++*i];
	else
		return err_set(e, "%s needs a value", flag);
	/* --proxy '' turns proxying off; --no-proxy '' empties the list */
	if (**v == '\0' && id != OPT_PROXY && id != OPT_NO_PROXY)
		return err_set(e, "%s needs a value (got an empty one)", flag);
	return 0;
}

/* Options that may repeat, collected into arrays. */
static int
config_is_list(enum opt_id id)
{
	return id == OPT_REGISTRY || id == OPT_NAMESPACE || id == OPT_SA;
}

static int
config_opt_store(struct config *c, struct opt_raw *r, enum opt_id id,
    const char *v, struct err *e)
{
	if (config_is_list(id)) {
		r->nflags[id]++;
		return config_list_add(c, id, v, strlen(v),
		    config_opts[id].flag, e);
	}
	if (r->val[id] != NULL)
		return err_set(e, "%s given more than once", config_opts[id].flag);
	r->val[id] = v;
	r->src[id] = config_opts[id].flag;
	return 0;
}

static int
config_args(struct config *c, struct opt_raw *r, int argc, char **argv,
    struct err *e)
{
	const char	*eq, *v = NULL;
	int		 i, id;

	for (i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			return err_set(e, "unexpected argument \"%.64s\" "
			    "(options start with --)", argv[i]);
		id = config_opt_find(argv[i], &eq);
		if (id < 0)
			return err_set(e, "unknown option \"%.*s\" (see "
			    "regcred --help)", eq != NULL ?
			    (int)(eq - argv[i]) : 64, argv[i]);
		if (config_opt_value((enum opt_id)id, argc, argv, &i, eq, &v,
		    e) == -1 || config_opt_store(c, r, (enum opt_id)id, v,
		    e) == -1)
			return -1;
	}
	return 0;
}

/* Takes option id from variable name when it is set; 1 if it was. */
static int
config_from_env(struct opt_raw *r, int id, const char *name)
{
	const char	*v;

	if (name[0] == '\0' || (v = config_getenv(name)) == NULL)
		return 0;
	r->val[id] = v;
	r->src[id] = name;
	return 1;
}

/* Variables fill what no flag set; then every value is checked. */
static int
config_merge(struct config *c, struct opt_raw *r, struct err *e)
{
	const char	*v;
	int		 i;

	for (i = 0; i < OPT_COUNT; i++) {
		if (config_is_list((enum opt_id)i) || r->val[i] != NULL)
			continue;
		if (!config_from_env(r, i, config_opts[i].env) &&
		    !config_from_env(r, i, config_opts[i].std))
			(void)config_from_env(r, i, config_opts[i].std2);
	}
	for (i = 0; i < OPT_COUNT; i++)
		if (!config_is_list((enum opt_id)i) && r->val[i] != NULL &&
		    config_apply(c, (enum opt_id)i, r->val[i], r->src[i],
		    e) == -1)
			return -1;
	for (i = 0; i < OPT_COUNT; i++)
		if (config_is_list((enum opt_id)i) && r->nflags[i] == 0 &&
		    (v = config_getenv(config_opts[i].env)) != NULL &&
		    config_list_env(c, (enum opt_id)i, v, e) == -1)
			return -1;
	return 0;
}

static const char *
config_cmd_name(enum cmd cmd)
{
	return cmd == CMD_RUN ? "run" : cmd == CMD_TOKEN ? "token" : "refresh";
}

/* What the command needs, once every source is merged. */
static int
config_needs(const struct config *c, struct err *e)
{
	if (c->cmd == CMD_STATUS)
		return c->status_file[0] != '\0' ? 0 : err_set(e, "status "
		    "needs --status-file (or REGCRED_STATUS_FILE)");
	if (c->credential_config[0] == '\0')
		return err_set(e, "no credential config: pass "
		    "--credential-config or set REGCRED_CREDENTIAL_CONFIG or "
		    "GOOGLE_APPLICATION_CREDENTIALS");
	if (c->cmd != CMD_TOKEN && c->secret[0] == '\0')
		return err_set(e, "%s needs --secret (or REGCRED_SECRET)",
		    config_cmd_name(c->cmd));
	if (c->cmd != CMD_TOKEN && c->nregistry == 0)
		return err_set(e, "%s needs at least one --registry (or "
		    "REGCRED_REGISTRY)", config_cmd_name(c->cmd));
	if (c->no_embedded_roots && c->ca_file[0] == '\0')
		return err_set(e, "--no-embedded-roots needs --ca-file (or "
		    "REGCRED_CA_FILE): no root would be trusted");
	return 0;
}

/* Sets c->cmd; 1 when nothing more is to be parsed (help, version). */
static int
config_command(struct config *c, int argc, char **argv, struct err *e)
{
	const char	*cmd;
	int		 i;

	if (argc < 2)
		return err_set(e, "no command given (want refresh, run, token, "
		    "status, version or help; see regcred --help)");
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "help") == 0 ||
	    config_is_help(cmd)) {
		c->cmd = strcmp(cmd, "version") == 0 ? CMD_VERSION : CMD_HELP;
		if (argc > 2)
			return err_set(e, "%s takes no options or arguments "
			    "(got \"%.64s\")", cmd, argv[2]);
		return 1;
	}
	for (i = 2; i < argc; i++)
		if (config_is_help(argv[i])) {
			c->cmd = CMD_HELP;
			return 1;
		}
	if (strcmp(cmd, "refresh") == 0)
		c->cmd = CMD_REFRESH;
	else if (strcmp(cmd, "run") == 0)
		c->cmd = CMD_RUN;
	else if (strcmp(cmd, "token") == 0)
		c->cmd = CMD_TOKEN;
	else if (strcmp(cmd, "status") == 0)
		c->cmd = CMD_STATUS;
	else
		return err_set(e, "unknown command \"%.64s\" (want refresh, "
		    "run, token, status, version or help)", cmd);
	return 0;
}

int
config_parse(struct config *c, int argc, char **argv, struct err *e)
{
	struct opt_raw	r;
	int		rc;

	memset(c, 0, sizeof(*c));
	memset(&r, 0, sizeof(r));
	memcpy(c->kube_sa_dir, SA_DIR_DEFAULT, sizeof(SA_DIR_DEFAULT));
	c->timeout_s = TIMEOUT_DEFAULT_S;
	c->max_age_s = STATUS_MAX_AGE_S;
	c->log_format = LOG_TEXT;
	if ((rc = config_command(c, argc, argv, e)) != 0)
		return rc == 1 ? 0 : -1;
	if (config_args(c, &r, argc, argv, e) == -1 ||
	    config_merge(c, &r, e) == -1)
		return -1;
	return config_needs(c, e);
}

int
config_read_sa(const struct config *c, const char *name, char *dst,
    size_t cap, size_t *len, struct err *e)
{
	char	path[PATH_MAX_REGCRED + 16];
	int	n;

	n = fmt_print(path, sizeof(path), "%s/%s", c->kube_sa_dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return err_set(e, "--kube-sa-dir exceeds PATH_MAX_REGCRED");
	if (file_read(path, dst, cap, len, name, e) != 0)
		return -1;
	*len = file_rtrim(dst, *len);
	dst[*len] = '\0';
	if (*len == 0)
		return err_set(e, "%s is empty", path);
	return 0;
}

int
config_namespace_ok(const char *s, size_t len)
{
	return config_label_ok(s, len, DNS_LABEL_MAX, 0);
}
