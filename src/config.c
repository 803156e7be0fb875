/*
 * config.c -- what regcred is told to do.
 *
 * Owns: the command line and its REGCRED_* variables (a flag wins), the
 * validation of every value (registry host[:port], Kubernetes names,
 * timeout, log format), the --help text, the Google external_account
 * credential configuration, reading a local file into a fixed buffer,
 * and taking the subject token out of a token file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fmt.h"
#include "json.h"

#define SA_DIR_DEFAULT	"/var/run/secrets/kubernetes.io/serviceaccount"
#define TIMEOUT_MAX_S	3600
#define DNS_LABEL_MAX	63
#define LIFETIME_MIN_S	600
#define LIFETIME_MAX_S	43200
#define LIFETIME_DEF_S	3600
#define UNIVERSE_DEF	"googleapis.com"

const char config_usage[] =
"regcred refresh [options]   exchange, then server-side apply the Secret; exit\n"
"regcred token   [options]   exchange, print only the access token on stdout\n"
"regcred version             version, git commit, compiler, musl, BearSSL, jsmn\n"
"regcred --help              (also -h and `regcred help`)\n"
"  --credential-config PATH  external_account JSON (default $GOOGLE_APPLICATION_CREDENTIALS)\n"
"  --registry HOST           docker server; repeatable; refresh needs one or more\n"
"  --secret NAME             Secret to write; refresh needs it\n"
"  --namespace NS            default: contents of <kube-sa-dir>/namespace\n"
"  --kube-sa-dir DIR         default /var/run/secrets/kubernetes.io/serviceaccount\n"
"                            (token re-read every run, ca.crt, namespace)\n"
"  --kube-api URL            default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT\n"
"  --kube-server-name NAME   name to verify in the API server's certificate\n"
"                            (default: kubernetes.default.svc when the host is an IP,\n"
"                            else the host)\n"
"  --ca-file PATH            extra PEM roots for every endpoint except the API\n"
"                            server, added to the embedded ones\n"
"  --no-embedded-roots       trust only --ca-file (pinning, TLS-inspecting proxies)\n"
"  --timeout SECONDS         deadline for the whole run, retries included (default 60)\n"
"  --log-format json|text\n"
"\n"
"Each option may also be set as REGCRED_<NAME> (upper-case, dashes to\n"
"underscores, e.g. REGCRED_KUBE_SA_DIR; REGCRED_REGISTRY=a,b is a\n"
"comma-separated list); a flag wins over its variable.\n"
"Exit codes: 0 ok, 2 usage/config, 3 identity (token file, STS, IAM), 4 Kubernetes\n";

/* ---- command line and environment ------------------------------------ */

enum opt_id {
	OPT_CRED, OPT_REGISTRY, OPT_SECRET, OPT_NAMESPACE, OPT_SA_DIR,
	OPT_KUBE_API, OPT_SERVER_NAME, OPT_CA_FILE, OPT_NO_ROOTS,
	OPT_TIMEOUT, OPT_LOG_FORMAT, OPT_COUNT
};

/*
 * Names are arrays, not pointers: no load-time relocations in the
 * static-PIE binary. -Wc++-compat makes a name that would fill its array
 * (and so lose its NUL) an error.
 */
struct opt_def {
	char	flag[20];	/* "--secret" */
	char	env[26];	/* "REGCRED_SECRET" */
	char	limit[17];	/* string options: limit named in errors, */
	char	takes_value;
	size_t	off;		/* where the value goes in struct config */
	size_t	cap;		/* and its size */
};

#define OPT_STR(f, v, field, lim) \
	{ f, v, lim, 1, offsetof(struct config, field), \
	    sizeof(((struct config *)0)->field) }

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wc++-compat"
static const struct opt_def config_opts[OPT_COUNT] = {
	[OPT_CRED] = OPT_STR("--credential-config", "REGCRED_CREDENTIAL_CONFIG",
	    credential_config, "PATH_MAX_REGCRED"),
	[OPT_REGISTRY] = { "--registry", "REGCRED_REGISTRY", "", 1, 0, 0 },
	[OPT_SECRET] = OPT_STR("--secret", "REGCRED_SECRET", secret,
	    "NAME_MAX_REGCRED"),
	[OPT_NAMESPACE] = OPT_STR("--namespace", "REGCRED_NAMESPACE",
	    namespace, "NAME_MAX_REGCRED"),
	[OPT_SA_DIR] = OPT_STR("--kube-sa-dir", "REGCRED_KUBE_SA_DIR",
	    kube_sa_dir, "PATH_MAX_REGCRED"),
	[OPT_KUBE_API] = OPT_STR("--kube-api", "REGCRED_KUBE_API", kube_api,
	    "URL_MAX"),
	[OPT_SERVER_NAME] = OPT_STR("--kube-server-name",
	    "REGCRED_KUBE_SERVER_NAME", kube_server_name, "HOST_MAX"),
	[OPT_CA_FILE] = OPT_STR("--ca-file", "REGCRED_CA_FILE", ca_file,
	    "PATH_MAX_REGCRED"),
	[OPT_NO_ROOTS] = { "--no-embedded-roots", "REGCRED_NO_EMBEDDED_ROOTS",
	    "", 0, 0, 0 },
	[OPT_TIMEOUT] = { "--timeout", "REGCRED_TIMEOUT", "", 1, 0, 0 },
	[OPT_LOG_FORMAT] = { "--log-format", "REGCRED_LOG_FORMAT", "", 1, 0,
	    0 },
};
#pragma GCC diagnostic pop

/* Single-valued options as given, before they are checked and copied. */
struct opt_raw {
	const char	*val[OPT_COUNT];
	const char	*src[OPT_COUNT];	/* flag or variable, for errors */
	int		 nregflags;
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
config_registry_add(struct config *c, const char *s, size_t len,
    const char *src, struct err *e)
{
	if (len == 0)
		return err_set(e, "%s: empty registry", src);
	if (c->nregistry >= REGISTRY_MAX)
		return err_set(e, "%s: too many registries (limit "
		    "REGISTRY_MAX = %d)", src, REGISTRY_MAX);
	if (len >= HOST_MAX)
		return err_set(e, "%s: registry is too long (limit HOST_MAX: "
		    "at most %d bytes)", src, HOST_MAX - 1);
	if (!config_host_ok(s, len))
		return err_set(e, "%s: \"%.*s\" is not a registry host[:port] "
		    "(no scheme, path or spaces)", src, (int)len, s);
	/* repeats are kept: dockercfg de-duplicates as Go's map would */
	memcpy(c->registry[c->nregistry], s, len);
	c->registry[c->nregistry][len] = '\0';
	c->nregistry++;
	return 0;
}

/* REGCRED_REGISTRY=a,b: comma-separated, spaces around items ignored. */
static int
config_registry_env(struct config *c, const char *v, struct err *e)
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
		if (config_registry_add(c, v + a, b - a, "REGCRED_REGISTRY",
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

static int
config_timeout(struct config *c, const char *v, const char *src,
    struct err *e)
{
	size_t	i;
	long	n = 0;

	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 5)
			break;
		n = n * 10 + (v[i] - '0');
	}
	if (i == 0 || v[i] != '\0' || n < 1 || n > TIMEOUT_MAX_S)
		return err_set(e, "%s must be a whole number of seconds from "
		    "1 to %d", src, TIMEOUT_MAX_S);
	c->timeout_s = (int)n;
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

static int
config_names_check(const struct config *c, enum opt_id id, const char *src,
    struct err *e)
{
	const char	*v = (const char *)c + config_opts[id].off;
	size_t		 len = strlen(v);

	if (id == OPT_SECRET && !config_labels_ok(v, len, NAME_MAX_REGCRED, 0))
		return err_set(e, "%s: \"%s\" is not a valid Secret name "
		    "(lowercase letters, digits, '-' and '.', starting and "
		    "ending with a letter or digit, at most %d bytes)", src, v,
		    NAME_MAX_REGCRED);
	if (id == OPT_NAMESPACE && !config_label_ok(v, len, DNS_LABEL_MAX, 0))
		return err_set(e, "%s: \"%s\" is not a valid namespace "
		    "(lowercase letters, digits and '-', starting and ending "
		    "with a letter or digit, at most %d bytes)", src, v,
		    DNS_LABEL_MAX);
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
		return config_timeout(c, v, src, e);
	case OPT_LOG_FORMAT:
		return config_log_format(c, v, src, e);
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
	if (**v == '\0')
		return err_set(e, "%s needs a value (got an empty one)", flag);
	return 0;
}

static int
config_opt_store(struct config *c, struct opt_raw *r, enum opt_id id,
    const char *v, struct err *e)
{
	if (id == OPT_REGISTRY) {
		r->nregflags++;
		return config_registry_add(c, v, strlen(v), "--registry", e);
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

/* Variables fill what no flag set; then every value is checked. */
static int
config_merge(struct config *c, struct opt_raw *r, struct err *e)
{
	const char	*v;
	int		 i;

	for (i = 0; i < OPT_COUNT; i++) {
		if (i == OPT_REGISTRY || r->val[i] != NULL)
			continue;
		if ((v = config_getenv(config_opts[i].env)) != NULL) {
			r->val[i] = v;
			r->src[i] = config_opts[i].env;
		}
	}
	if (r->val[OPT_CRED] == NULL &&
	    (v = config_getenv("GOOGLE_APPLICATION_CREDENTIALS")) != NULL) {
		r->val[OPT_CRED] = v;
		r->src[OPT_CRED] = "GOOGLE_APPLICATION_CREDENTIALS";
	}
	for (i = 0; i < OPT_COUNT; i++)
		if (i != OPT_REGISTRY && r->val[i] != NULL &&
		    config_apply(c, (enum opt_id)i, r->val[i], r->src[i],
		    e) == -1)
			return -1;
	if (r->nregflags == 0 &&
	    (v = config_getenv("REGCRED_REGISTRY")) != NULL)
		return config_registry_env(c, v, e);
	return 0;
}

/* What the command needs, once every source is merged. */
static int
config_needs(const struct config *c, struct err *e)
{
	if (c->credential_config[0] == '\0')
		return err_set(e, "no credential config: pass "
		    "--credential-config or set REGCRED_CREDENTIAL_CONFIG or "
		    "GOOGLE_APPLICATION_CREDENTIALS");
	if (c->cmd == CMD_REFRESH && c->secret[0] == '\0')
		return err_set(e, "refresh needs --secret (or REGCRED_SECRET)");
	if (c->cmd == CMD_REFRESH && c->nregistry == 0)
		return err_set(e, "refresh needs at least one --registry (or "
		    "REGCRED_REGISTRY)");
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
		return err_set(e, "no command given (want refresh, token, "
		    "version or help; see regcred --help)");
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
	else if (strcmp(cmd, "token") == 0)
		c->cmd = CMD_TOKEN;
	else
		return err_set(e, "unknown command \"%.64s\" (want refresh, "
		    "token, version or help)", cmd);
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
	c->log_format = LOG_TEXT;
	if ((rc = config_command(c, argc, argv, e)) != 0)
		return rc == 1 ? 0 : -1;
	if (config_args(c, &r, argc, argv, e) == -1 ||
	    config_merge(c, &r, e) == -1)
		return -1;
	return config_needs(c, e);
}

/* ---- local files ----------------------------------------------------- */

static const char *
config_limit_name(size_t cap)
{
	if (cap == FILE_MAX || cap == FILE_MAX + 1)
		return "FILE_MAX";
	if (cap == CA_FILE_MAX || cap == CA_FILE_MAX + 1)
		return "CA_FILE_MAX";
	if (cap == TOKEN_MAX || cap == TOKEN_MAX + 1)
		return "TOKEN_MAX";
	return "buffer size";
}

static ssize_t
config_read_some(int fd, char *buf, size_t n)
{
	ssize_t	k;

	do
		k = read(fd, buf, n);
	while (k == -1 && errno == EINTR);
	return k;
}

static int
config_read_fd(int fd, char *buf, size_t cap, size_t *len, const char *what,
    const char *path, struct err *e)
{
	size_t	n = 0;
	ssize_t	k;
	char	extra;

	while (n < cap - 1) {
		k = config_read_some(fd, buf + n, cap - 1 - n);
		if (k == -1)
			return err_set(e, "%s %s: %s", what, path,
			    strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n == cap - 1) {
		k = config_read_some(fd, &extra, 1);
		if (k == -1)
			return err_set(e, "%s %s: %s", what, path,
			    strerror(errno));
		if (k > 0)
			return err_set(e, "%s %s: larger than %zu bytes "
			    "(limit %s)", what, path, cap - 1,
			    config_limit_name(cap));
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}

int
config_read_file(const char *path, char *buf, size_t cap, size_t *len,
    const char *what, struct err *e)
{
	struct stat	st;
	int		fd, rc;

	*len = 0;
	if (cap == 0)
		return err_set(e, "%s %s: no room to read it", what, path);
	buf[0] = '\0';
	/* Symlinks are followed: pod volumes are ..data/ symlinks. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return err_set(e, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) == -1)
		rc = err_set(e, "%s %s: %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = err_set(e, "%s %s: not a regular file", what, path);
	else if (st.st_size > 0 && (unsigned long long)st.st_size >= cap)
		rc = err_set(e, "%s %s: larger than %zu bytes (limit %s)",
		    what, path, cap - 1, config_limit_name(cap));
	else
		rc = config_read_fd(fd, buf, cap, len, what, path, e);
	close(fd);
	if (rc == -1) {
		explicit_bzero(buf, cap);
		*len = 0;
	}
	return rc;
}

/* ---- external_account credential configuration ----------------------- */

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

/* https://, something after it, no spaces or control bytes. */
static int
cred_https(const char *url, const char *path, struct err *e)
{
	size_t	i;

	if (strncmp(url, "https://", 8) != 0 || url[8] == '\0')
		return err_set(e, "\"%s\" must be an https:// URL", path);
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return err_set(e, "\"%s\" contains a space or control "
			    "character", path);
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

/* Sources regcred does not take, each with its reason. */
static int
cred_refuse(const struct json *j, int src, struct err *e)
{
	static const struct {
		const char	*key;
		const char	*why;
	} no[] = {
		{ "executable", "credential_source.executable is not "
		    "supported (regcred runs no programs)" },
		{ "url", "credential_source.url is not supported yet (use a "
		    "file source)" },
		{ "environment_id", "credential_source.environment_id (AWS) "
		    "is not supported" },
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

static int
cred_source(struct cred *c, const struct json *j, struct err *e)
{
	int	src, r;

	if (cred_find(j, 0, "credential_source", "credential_source",
	    JSON_OBJECT, 1, &src, e) == -1 || cred_refuse(j, src, e) == -1)
		return -1;
	r = cred_str(j, src, "file", "credential_source.file",
	    c->source_file, sizeof(c->source_file), 0, e);
	if (r == -1)
		return -1;
	if (r == 0)
		return err_set(e, "\"credential_source.file\" is missing (a "
		    "file is the only supported source)");
	if (c->source_file[0] == '\0')
		return err_set(e, "\"credential_source.file\" must not be "
		    "empty");
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
	    sizeof(c->workforce_pool_user_project), 0, e) == -1 ||
	    cred_str(j, 0, "universe_domain", "universe_domain",
	    c->universe_domain, sizeof(c->universe_domain), 0, e) == -1)
		return -1;
	if (c->universe_domain[0] == '\0')
		memcpy(c->universe_domain, UNIVERSE_DEF, sizeof(UNIVERSE_DEF));
	if (!config_labels_ok(c->universe_domain, strlen(c->universe_domain),
	    DNS_LABEL_MAX, 1))
		return err_set(e, "\"universe_domain\" is not a DNS name");
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

/* ---- the subject token ----------------------------------------------- */

static int
cred_token_long(const struct cred *c, size_t cap, struct err *e)
{
	return err_set(e, "token file %s: the token is longer than %zu bytes "
	    "(limit TOKEN_MAX)", c->source_file, cap - 1);
}

/* Length of buf without its trailing spaces, tabs, CRs and LFs. */
static size_t
config_rtrim(const char *buf, size_t len)
{
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
	    buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	return len;
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
	if (config_read_file(path, dst, cap, len, name, e) != 0)
		return -1;
	*len = config_rtrim(dst, *len);
	dst[*len] = '\0';
	if (*len == 0)
		return err_set(e, "%s is empty", path);
	return 0;
}

static int
cred_token_text(const struct cred *c, const char *buf, size_t len,
    char *tok, size_t cap, size_t *toklen, struct err *e)
{
	len = config_rtrim(buf, len);
	if (len >= cap)
		return cred_token_long(c, cap, e);
	memcpy(tok, buf, len);
	tok[len] = '\0';
	*toklen = len;
	return 0;
}

/* Messages from json.c name byte offsets, never content; the ones
 * about the field are written here so the token is never quoted. */
static int
cred_token_json(const struct cred *c, const char *buf, size_t len,
    char *tok, size_t cap, size_t *toklen, struct err *e)
{
	struct json	j;
	int		r, t;

	if (json_parse(&j, buf, len, e) == -1)
		return err_prefix(e, "token file %s", c->source_file);
	if (json_type(&j, 0) != JSON_OBJECT)
		return err_set(e, "token file %s: not a JSON object",
		    c->source_file);
	r = json_find(&j, 0, c->field_name, &t, e);
	if (r == -1)
		return err_set(e, "token file %s: \"%s\" occurs more than once",
		    c->source_file, c->field_name);
	if (r == 0)
		return err_set(e, "token file %s has no \"%s\" field",
		    c->source_file, c->field_name);
	if (json_type(&j, t) != JSON_STRING)
		return err_set(e, "token file %s: \"%s\" must be a string",
		    c->source_file, c->field_name);
	if (json_string(&j, t, tok, cap, toklen, e) == -1) {
		if ((size_t)(j.tok[t].end - j.tok[t].start) >= cap)
			return cred_token_long(c, cap, e);
		return err_set(e, "token file %s: \"%s\" is not a valid "
		    "string", c->source_file, c->field_name);
	}
	return 0;
}

/* Not empty, and no control bytes (the token goes into a form body). */
static int
cred_token_check(const struct cred *c, const char *tok, size_t len,
    struct err *e)
{
	size_t	i;

	if (len == 0)
		return err_set(e, "token file %s is empty", c->source_file);
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] < ' ' || tok[i] == 0x7f)
			return err_set(e, "token file %s: the token contains "
			    "a control character", c->source_file);
	return 0;
}

int
cred_subject_token(const struct cred *c, const char *buf, size_t len,
    char *tok, size_t cap, size_t *toklen, struct err *e)
{
	int	rc;

	*toklen = 0;
	if (cap == 0)
		return err_set(e, "token file %s: no room for the token",
		    c->source_file);
	tok[0] = '\0';
	if (c->format == CRED_JSON)
		rc = cred_token_json(c, buf, len, tok, cap, toklen, e);
	else
		rc = cred_token_text(c, buf, len, tok, cap, toklen, e);
	if (rc == 0)
		rc = cred_token_check(c, tok, *toklen, e);
	if (rc == -1) {
		explicit_bzero(tok, cap);
		*toklen = 0;
	}
	return rc;
}

int
config_namespace_ok(const char *s, size_t len)
{
	return config_label_ok(s, len, DNS_LABEL_MAX, 0);
}
