/*
 * refresh.c -- one refresh, for every namespace.
 *
 * Owns the sequence of one refresh and its state (static: no heap): read
 * every local input (configuration, credential config, CA files, token
 * files), resolve every host, lock down, then talk to the network: the
 * subject token's URL or the Entra ID hop (when the source needs one),
 * STS, IAM (when the config impersonates), and the Kubernetes API, where
 * the Secret is applied in each namespace over one kept-alive connection
 * (one namespace failing does not stop the others) and kept in the named
 * ServiceAccounts' imagePullSecrets. Maps each failure to its exit code
 * (2 usage/config, 3 identity, 4 Kubernetes). Every secret is wiped
 * before refresh_run returns.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "anchors.h"
#include "config.h"
#include "dial.h"
#include "cred.h"
#include "dockercfg.h"
#include "file.h"
#include "fmt.h"
#include "http.h"
#include "kube.h"
#include "log.h"
#include "proxy.h"
#include "refresh.h"
#include "sandbox.h"
#include "source.h"
#include "sts.h"
#include "tls.h"
#include "watch.h"

#define KUBE_SA_NAME	"kubernetes.default.svc"

/* Everything one refresh needs; static: no heap, not on the stack. */
struct refresh {
	const struct config	*cfg;
	struct cred		cred;
	struct source		source;		/* the subject token's */
	struct dial_table	dial;		/* every host, resolved once */
	struct proxy		proxy;		/* on: HTTPS goes through it */
	char			route[LOG_LINE_MAX];	/* the proxy info line */
#ifdef REGCRED_LOCKTEST
	const char		*locktest;
#endif
	struct kube_target	target;
	const char		*ns[NAMESPACE_MAX];
	size_t			nns;
	char			sa_ns[NAME_MAX_REGCRED + 1];	/* from the
							   sa dir */
	char			rv[NAMESPACE_MAX][WATCH_RV_MAX];	/* each
					   Secret's after regcred's apply */
	char			subject[TOKEN_MAX + 1];
	size_t			sublen;
	struct oauth_token	fed;
	struct oauth_token	access;
	size_t			cfglen;
};

static struct refresh	R;
/* Trust anchors (public: CA names and keys, never wiped) live apart from
 * R, so that the wipe of R does not make their 300 KB of pools resident;
 * anchors_init touches only what a set uses. */
static struct anchors	M_google;	/* STS, IAM */
static struct anchors	M_kube;		/* the API server */
/* The large buffers live apart from R, so that a wipe of R (small) and
 * of the used part of these never makes all their pages resident. */
static char		M_file[CA_FILE_MAX];	/* one local file at a time */
static size_t		M_filelen, M_filehw;	/* its length, most ever used */
static char		M_dockercfg[DOCKERCFG_MAX];
static struct tls_conn	M_kubeconn;		/* to the API server */
/* healing (run's child): one watch per namespace, each on its own
 * connection; when a closed one is opened again, its backoff, and
 * whether poll saw bytes */
static struct watch	M_watch[NAMESPACE_MAX];
static int64_t		M_retry[NAMESPACE_MAX];	/* -1: not watched */
static int64_t		M_backoff[NAMESPACE_MAX];
static int		M_resync[NAMESPACE_MAX];	/* apply at reopen */
static int64_t		M_opened[NAMESPACE_MAX];	/* when (monotonic) */
static unsigned char	M_ready[NAMESPACE_MAX];

static const char *volatile	ph_step = "config";
static volatile sig_atomic_t	ph_code = EXIT_USAGE;

static void
refresh_phase(const char *step, int code)
{
	ph_step = step;
	ph_code = code;
}

void
refresh_phase_get(const char **step, int *code)
{
	*step = (const char *)ph_step;
	*code = ph_code;
}

/* R whole, the large buffers as far as used (async-signal-safe). */
void
refresh_wipe_all(void)
{
	explicit_bzero(M_file, M_filehw);
	explicit_bzero(M_dockercfg, R.cfglen);
	explicit_bzero(&M_kubeconn, sizeof(M_kubeconn));
	explicit_bzero(&R, sizeof(R));
}

/* Keeps M_filehw, what the wipe must cover. */
static void
refresh_file_used(void)
{
	if (M_filelen + 1 > M_filehw)
		M_filehw = M_filelen + 1;
}

/* Reads path into M_file, at most cap-1 bytes (cap names the limit). */
static int
refresh_read(const char *path, size_t cap, const char *what, struct err *e)
{
	int	r;

	r = file_read(path, M_file, cap, &M_filelen, what, e);
	refresh_file_used();
	return r;
}

static int
refresh_secret(const char *s, size_t len, struct err *e)
{
	if (len > 0 && log_secret_add(s, len) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

static int
refresh_plan_source(struct err *e)
{
	int	ignored;

	if (proxy_parse(&R.proxy, R.cfg->proxy, e) != 0)
		return -1;
	if (refresh_secret(R.proxy.password, strlen(R.proxy.password), e) != 0 ||
	    refresh_secret(R.proxy.auth, strlen(R.proxy.auth), e) != 0)
		return -1;
	if (source_plan(&R.source, &R.cred, &R.cfg->az, &M_google, &ignored,
	    e) != 0)
		return -1;
	R.source.dial = &R.dial;
	if (ignored)
		log_info("config", "Azure settings ignored: the credential "
		    "source is not Azure IMDS, so there is no Entra ID hop");
	if (R.source.kind == SOURCE_ENTRA)
		log_info("entra", "credential source is Azure IMDS: taking "
		    "the Entra ID hop for client %s in tenant %s instead",
		    R.cfg->az.client_id, R.cfg->az.tenant_id);
	return 0;
}

/* Credential config, Google-side trust anchors, the subject token's
 * source: exit 2 on failure. */
static int
refresh_read_config(struct err *e)
{
	const struct config	*c = R.cfg;

	if (refresh_read(c->credential_config, FILE_MAX + 1, "credential config",
	    e) != 0 || cred_parse(&R.cred, M_file, M_filelen, e) != 0)
		return -1;
	if (log_secret_add(R.cred.client_secret,
	    strlen(R.cred.client_secret)) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	anchors_init(&M_google);
	if (!c->no_embedded_roots && anchors_add_embedded(&M_google, e) != 0)
		return -1;
	if (c->ca_file[0] != '\0' && (refresh_read(c->ca_file, sizeof(M_file),
	    "--ca-file", e) != 0 ||
	    anchors_add_pem(&M_google, M_file, M_filelen, c->ca_file, e) != 0))
		return -1;
	return refresh_plan_source(e);
}

/* The subject token's local inputs, re-read on every run: exit 3. */
static int
refresh_read_subject(struct err *e)
{
	if (source_read(&R.source, M_file, FILE_MAX + 1, R.subject,
	    sizeof(R.subject), &R.sublen, e) != 0)
		return -1;
	if (R.sublen > 0 && log_secret_add(R.subject, R.sublen) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

/* A URL's answer or Entra's token (nothing for a file): exit 3. */
static int
refresh_fetch_subject(int64_t deadline, struct err *e)
{
	if (R.source.kind == SOURCE_FILE)
		return 0;
	if (source_fetch(&R.source, deadline, R.subject, sizeof(R.subject),
	    &R.sublen, e) != 0)
		return -1;
	source_wipe(&R.source);
	if (log_secret_add(R.subject, R.sublen) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

static int
refresh_is_ip(const char *host)
{
	unsigned char	buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* API server address: --kube-api, else the in-cluster variables. */
static int
refresh_kube_url(struct url *u, struct err *e)
{
	const char	*h, *p;
	char		 url[URL_MAX];
	int		 n;

	if (R.cfg->kube_api[0] != '\0')
		return url_parse(R.cfg->kube_api, u, e);
	h = getenv("KUBERNETES_SERVICE_HOST");
	p = getenv("KUBERNETES_SERVICE_PORT");
	if (h == NULL || *h == '\0')
		return err_set(e, "no --kube-api and KUBERNETES_SERVICE_HOST "
		    "is not set (not in a pod?)");
	if (p == NULL || *p == '\0')
		p = "443";
	n = fmt_print(url, sizeof(url), strchr(h, ':') ? "https://[%s]:%s/" :
	    "https://%s:%s/", h, p);
	if (n < 0 || (size_t)n >= sizeof(url))
		return err_set(e, "KUBERNETES_SERVICE_HOST exceeds URL_MAX");
	return url_parse(url, u, e);
}

static int
refresh_kube_target(struct err *e)
{
	struct kube_target	*t = &R.target;
	struct url		 u;
	const char		*name;
	int			 n;

	if (refresh_kube_url(&u, e) != 0)
		return err_prefix(e, "API server address");
	memcpy(t->host, u.host, sizeof(t->host));
	memcpy(t->port, u.port, sizeof(t->port));
	name = R.cfg->kube_server_name[0] != '\0' ? R.cfg->kube_server_name :
	    refresh_is_ip(u.host) ? KUBE_SA_NAME : u.host;
	n = fmt_print(t->server_name, sizeof(t->server_name), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(t->server_name))
		return err_set(e, "API server name exceeds HOST_MAX");
	memcpy(t->secret, R.cfg->secret, sizeof(t->secret));
	t->anchors = &M_kube;
	t->dial = &R.dial;
	t->conn = &M_kubeconn;
	tls_conn_init(&M_kubeconn);
	return 0;
}

/* --namespace, or the pod's own from the service-account folder. */
static int
refresh_namespaces(struct err *e)
{
	size_t	len, i;

	for (i = 0; i < R.cfg->nnamespace; i++)
		R.ns[i] = R.cfg->namespace[i];
	R.nns = R.cfg->nnamespace;
	if (R.nns > 0)
		return 0;
	if (config_read_sa(R.cfg, "namespace", R.sa_ns, sizeof(R.sa_ns), &len,
	    e) != 0)
		return -1;
	if (!config_namespace_ok(R.sa_ns, len))
		return err_set(e, "%s/namespace does not hold a valid "
		    "namespace name", R.cfg->kube_sa_dir);
	R.ns[0] = R.sa_ns;
	R.nns = 1;
	return 0;
}

/* Service-account token, CA and namespace: exit 4 on failure. */
static int
refresh_read_kube(struct err *e)
{
	struct kube_target	*t = &R.target;

	if (refresh_kube_target(e) != 0 || refresh_namespaces(e) != 0)
		return -1;
	if (config_read_sa(R.cfg, "token", t->token, sizeof(t->token),
	    &t->tokenlen, e) != 0 || refresh_secret(t->token, t->tokenlen,
	    e) != 0)
		return -1;
	if (config_read_sa(R.cfg, "ca.crt", M_file, sizeof(M_file),
	    &M_filelen, e) != 0)
		return -1;
	refresh_file_used();
	anchors_init(&M_kube);
	return anchors_add_pem(&M_kube, M_file, M_filelen, "ca.crt", e);
}

/*
 * Direct or through the proxy: plain http (a link-local metadata server)
 * never goes through it; NO_PROXY is matched against the host and, for
 * the API server, also against the name verified in its certificate.
 * Appends "host:port via P" or "host:port direct" to the info line.
 */
static int
refresh_route(const char *host, const char *port, const char *alias, int plain,
    struct err *e)
{
	const struct proxy	*via = &R.proxy;
	char			 name[HOST_MAX + 10];
	size_t			 o = strlen(R.route);

	if (!R.proxy.on || plain ||
	    proxy_bypass(R.cfg->no_proxy, host, port) ||
	    (alias != NULL && proxy_bypass(R.cfg->no_proxy, alias, port)))
		via = NULL;
	if (R.proxy.on) {
		proxy_name(&R.proxy, name, sizeof(name));
		if (fmt_print(R.route + o, sizeof(R.route) - o, "%s%s%s%s:%s %s%s",
		    o ? "; " : "", strchr(host, ':') ? "[" : "", host,
		    strchr(host, ':') ? "]" : "", port, via ? "via " : "direct",
		    via ? name : plain ? " (metadata server)" :
		    " (NO_PROXY)") < 0)
			R.route[o] = '\0';
	}
	return dial_resolve(&R.dial, host, port, via, e);
}

/* host:port of an https URL (or a URL source's http) into the table. */
static int
refresh_resolve_url(const char *url, int any, struct err *e)
{
	struct url	u;

	if ((any ? url_parse_any(url, &u, e) : url_parse(url, &u, e)) != 0)
		return -1;
	return refresh_route(u.host, u.port, NULL, u.plain, e);
}

/*
 * Every host the network phase reaches, resolved now: after the lockdown
 * there is no resolver. Sets *step and *code for a failure.
 */
static int
refresh_resolve(int refresh, const char **step, int *code, struct err *e)
{
	char	host[HOST_MAX], port[8];

	dial_init(&R.dial);
	*code = EXIT_IDENTITY;
	*step = source_step(&R.source);
	refresh_phase(*step, *code);
	if (source_endpoint(&R.source, host, sizeof(host), port, sizeof(port),
	    e) != 0 || (host[0] != '\0' && refresh_route(host, port, NULL,
	    R.source.kind == SOURCE_URL &&
	    strncasecmp(R.cred.source_url, "http://", 7) == 0, e) != 0))
		return -1;
	refresh_phase(*step = "sts", *code);
	if (refresh_resolve_url(R.cred.token_url, 0, e) != 0)
		return -1;
	refresh_phase(*step = "iam", *code);
	if (R.cred.impersonation_url[0] != '\0' &&
	    refresh_resolve_url(R.cred.impersonation_url, 0, e) != 0)
		return -1;
	*code = EXIT_KUBE;
	refresh_phase(*step = "kube", *code);
	if (refresh && refresh_route(R.target.host, R.target.port,
	    R.target.server_name, 0, e) != 0)
		return -1;
	if (R.route[0] != '\0')
		log_info("proxy", "%s", R.route);
	return 0;
}

/* No new privileges, no file system, an allow-list of system calls. */
static int
refresh_lockdown(struct err *e)
{
	enum sandbox_layer	ll, sc;

	refresh_phase("lockdown", EXIT_USAGE);
	if (sandbox_lock(&ll, &sc, e) != 0)
		return -1;
	if (ll == SANDBOX_UNAVAILABLE)
		log_info("lockdown", "this kernel has no Landlock%s",
		    sc == SANDBOX_ON ? ": file access is refused by seccomp "
		    "alone" : "");
	if (sc == SANDBOX_UNAVAILABLE)
		log_info("lockdown", "NO seccomp here (ENOSYS: a kernel "
		    "without it, or an emulator such as qemu-user): no "
		    "system-call allow-list");
	return 0;
}

#ifdef REGCRED_LOCKTEST
/*
 * Test builds only (out/regcred-locktest, never shipped): after the
 * lockdown, do what it forbids, as REGCRED_LOCKTEST says. "open" and
 * "unix" must die by SIGSYS; "landlock" (seccomp left off by sandbox.c in
 * this build) must be refused by Landlock.
 */
static void
refresh_locktest(const char *what)
{
	int	fd = -1;

	if (what == NULL)
		return;
	if (strcmp(what, "open") == 0 || strcmp(what, "landlock") == 0)
		fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	else if (strcmp(what, "unix") == 0)
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
	log_info("lockdown", "locktest %s: %s", what, fd >= 0 ? "allowed" :
	    strerror(errno));
	_exit(fd >= 0 ? 98 : 97);
}
#endif

/* STS, then IAM when the config impersonates: exit 3 on failure. */
static int
refresh_identity(int64_t deadline, const char **step, struct err *e)
{
	*step = source_step(&R.source);
	refresh_phase(*step, EXIT_IDENTITY);
	if (refresh_fetch_subject(deadline, e) != 0)
		return -1;
	*step = "sts";
	refresh_phase("sts", EXIT_IDENTITY);
	if (sts_exchange(&R.cred, &M_google, &R.dial, R.subject, R.sublen,
	    deadline,
	    &R.fed, e) != 0)
		return -1;
	explicit_bzero(R.subject, sizeof(R.subject));
	if (log_secret_add(R.fed.token, R.fed.len) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	if (R.fed.assumed)
		log_info("sts", "the STS answer has no expires_in: assuming "
		    "the token lives 3600 s");
	if (R.cred.impersonation_url[0] == '\0') {
		R.access = R.fed;
		return 0;
	}
	*step = "iam";
	refresh_phase("iam", EXIT_IDENTITY);
	if (iam_impersonate(&R.cred, &M_google, &R.dial, &R.fed, deadline,
	    &R.access,
	    e) != 0)
		return -1;
	explicit_bzero(&R.fed, sizeof(R.fed));
	if (log_secret_add(R.access.token, R.access.len) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

static int
refresh_print_token(struct err *e)
{
	size_t	off = 0;
	ssize_t	n;

	R.access.token[R.access.len] = '\n';
	while (off < R.access.len + 1) {
		n = write(STDOUT_FILENO, R.access.token + off,
		    R.access.len + 1 - off);
		if (n <= 0)
			return err_set(e, "writing the token to stdout failed");
		off += (size_t)n;
	}
	return 0;
}

/* The Secret in namespace i, then in its ServiceAccounts; logs a failure
 * and keeps its message in res. */
static int
refresh_apply_ns(size_t i, int64_t deadline, struct refresh_result *res)
{
	const char	*ns = R.ns[i];
	struct err	 e;
	size_t		 k;
	int		 added;

	if (kube_apply(&R.target, ns, M_dockercfg, R.cfglen,
	    R.access.expires_at, deadline, R.rv[i], sizeof(R.rv[i]), &e) != 0)
		goto failed;
	for (k = 0; k < R.cfg->nservice_account; k++) {
		if (kube_sa_ensure(&R.target, ns, R.cfg->service_account[k],
		    deadline, &added, &e) != 0)
			goto failed;
		if (added)
			log_info("kube", "added %s to the imagePullSecrets of "
			    "ServiceAccount %s/%s", R.target.secret, ns,
			    R.cfg->service_account[k]);
	}
	log_info("kube", "applied Secret %s/%s for %zu registr%s; token "
	    "expires in %lld s", ns, R.target.secret, R.cfg->nregistry,
	    R.cfg->nregistry == 1 ? "y" : "ies",
	    R.access.expires_at - (long long)time(NULL));
	return 0;
failed:
	log_error("kube", &e);
	memcpy(res->ns_error[i], e.msg, sizeof(e.msg));
	return -1;
}

/* Every namespace, one failing not stopping the others; then an error
 * naming each that failed. */
static int
refresh_apply(int64_t deadline, struct refresh_result *res, struct err *e)
{
	const char	*regs[REGISTRY_MAX];
	char		 names[ERR_MSG_MAX];
	size_t		 i, nfail = 0, o = 0;
	int		 n;

	for (i = 0; i < R.cfg->nregistry; i++)
		regs[i] = R.cfg->registry[i];
	if (dockercfg_build(M_dockercfg, sizeof(M_dockercfg), &R.cfglen, regs,
	    R.cfg->nregistry, DOCKERCFG_USER, R.access.token, R.access.len,
	    e) != 0)
		return -1;
	names[0] = '\0';
	for (i = 0; i < R.nns; i++) {
		if (refresh_apply_ns(i, deadline, res) == 0)
			continue;
		n = fmt_print(names + o, sizeof(names) - o, "%s%s",
		    nfail ? ", " : "", R.ns[i]);
		if (n > 0 && (size_t)n < sizeof(names) - o)
			o += (size_t)n;
		nfail++;
	}
	tls_conn_close(&M_kubeconn);
	if (nfail == 0)
		return 0;
	return err_set(e, "%zu of %zu namespace%s failed (each logged above): "
	    "%s", nfail, R.nns, R.nns == 1 ? "" : "s", names);
}

static int
refresh_fail(struct refresh_result *res, const char *step,
    const struct err *e, int code)
{
	log_error(step, e);
	memcpy(res->error, e->msg, sizeof(e->msg));
	return code;
}

/* The local inputs, then every host resolved, then the lockdown. */
static int
refresh_prepare(int refresh, struct refresh_result *res, int64_t *deadline)
{
	struct err	 e;
	const char	*step;
	int		 code;

	refresh_phase("config", EXIT_USAGE);
	if (tls_init(&e) != 0 || refresh_read_config(&e) != 0)
		return refresh_fail(res, "config", &e, EXIT_USAGE);
	refresh_phase(source_step(&R.source), EXIT_IDENTITY);
	if (refresh_read_subject(&e) != 0)
		return refresh_fail(res, source_step(&R.source), &e,
		    EXIT_IDENTITY);
	refresh_phase("kube", EXIT_KUBE);
	if (refresh && refresh_read_kube(&e) != 0)
		return refresh_fail(res, "kube", &e, EXIT_KUBE);
	for (res->nns = 0; res->nns < R.nns; res->nns++)
		memcpy(res->ns[res->nns], R.ns[res->nns],
		    strlen(R.ns[res->nns]) + 1);
	*deadline = dial_now_ms() + (int64_t)R.cfg->timeout_s * 1000;
	if (refresh_resolve(refresh, &step, &code, &e) != 0)
		return refresh_fail(res, step, &e, code);
	if (refresh_lockdown(&e) != 0)
		return refresh_fail(res, "lockdown", &e, EXIT_USAGE);
#ifdef REGCRED_LOCKTEST
	refresh_locktest(R.locktest);
#endif
	return 0;
}

/* One refresh (or token); returns the exit code. */
static int
refresh_sequence(struct refresh_result *res)
{
	struct err	 e;
	const char	*step;
	int64_t		 deadline;
	int		 refresh = R.cfg->cmd != CMD_TOKEN, code;

	if ((code = refresh_prepare(refresh, res, &deadline)) != 0)
		return code;
	if (refresh_identity(deadline, &step, &e) != 0)
		return refresh_fail(res, step, &e, EXIT_IDENTITY);
	res->expires_at = R.access.expires_at;
	res->lifetime_s = R.access.expires_at - (long long)time(NULL);
	if (!refresh)
		return refresh_print_token(&e) == 0 ? 0 :
		    refresh_fail(res, "token", &e, EXIT_IDENTITY);
	refresh_phase("kube", EXIT_KUBE);
	if (refresh_apply(deadline, res, &e) != 0)
		return refresh_fail(res, "kube", &e, EXIT_KUBE);
	return 0;
}

int
refresh_begin(const struct config *cfg, struct refresh_result *res)
{
	memset(res, 0, sizeof(*res));
	R.cfg = cfg;
#ifdef REGCRED_LOCKTEST
	R.locktest = getenv("REGCRED_LOCKTEST");
#endif
	res->code = refresh_sequence(res);
	return res->code;
}

void
refresh_end(void)
{
	size_t	i;

	for (i = 0; i < R.nns; i++)
		watch_close(&M_watch[i]);
	log_secret_clear();
	refresh_wipe_all();
}

int
refresh_run(const struct config *cfg, struct refresh_result *res)
{
	refresh_begin(cfg, res);
	refresh_end();
	return res->code;
}

/* ---- healing: run's child, after a refresh ------------------------------ */

static void
refresh_report(int fd, char what)
{
	if (fd >= 0 && write(fd, &what, 1) < 0)
		(void)0;	/* the parent is gone: it stops us anyway */
}

/* Whether the token is too close to its end to apply with it again (a
 * new refresh must: reported to the parent). */
static int
refresh_heal_late(size_t i, const char *what, int fd)
{
	if (R.access.expires_at - (long long)time(NULL) >= HEAL_MIN_LEFT_S)
		return 0;
	log_info("heal", "Secret %s/%s %s; the token has less than %d s "
	    "left: a new refresh takes over", R.ns[i], R.target.secret, what,
	    HEAL_MIN_LEFT_S);
	refresh_report(fd, 'r');
	return 1;
}

/* The apply of the refresh, again, in namespace i; R.rv[i] follows. */
static int
refresh_heal_apply(size_t i, struct err *e)
{
	return kube_apply(&R.target, R.ns[i], M_dockercfg, R.cfglen,
	    R.access.expires_at, dial_now_ms() + (int64_t)R.cfg->timeout_s *
	    1000, R.rv[i], sizeof(R.rv[i]), e);
}

/* The Secret in namespace i deleted or changed by another: apply again;
 * -1 when the token is too close to its end (a new refresh must). */
static int
refresh_heal_one(size_t i, const struct watch_event *ev, int fd)
{
	const char	*what = ev->type == WATCH_DELETED ? "was deleted" :
			    "was changed by someone else";
	struct err	 e;

	if (refresh_heal_late(i, what, fd))
		return -1;
	log_info("heal", "Secret %s/%s %s (resourceVersion %s): applying it "
	    "again", R.ns[i], R.target.secret, what, ev->rv);
	if (refresh_heal_apply(i, &e) != 0) {
		log_error("heal", &e);
		return 0;
	}
	log_info("heal", "applied Secret %s/%s again", R.ns[i],
	    R.target.secret);
	refresh_report(fd, 'h');
	return 0;
}

/*
 * After a failure, to open watch i or while it streamed, or an end that
 * came early: 1 s doubling to 30 s. Only a watch that lived 30 s or more
 * before the server ended it (its timeout, 410 Gone) is opened again at
 * once and starts the backoff over, so a server that opens the watch and
 * then breaks or ends it every time is not asked again each second.
 */
static void
refresh_watch_backoff(size_t i, int64_t now)
{
	M_backoff[i] = M_backoff[i] == 0 ? WATCH_BACKOFF_MIN_MS :
	    M_backoff[i] * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS :
	    M_backoff[i] * 2;
	M_retry[i] = now + M_backoff[i];
}

/*
 * After 410 Gone the watch was opened again from now, where an absent
 * Secret sends nothing: what happened between the old resourceVersion
 * and now is lost, a deletion too. So, with the watch open (a change
 * from here on arrives as an event), apply again: the server changes
 * nothing when nothing changed. If that apply fails, the watch is closed
 * and, after the backoff, opened and the apply tried again.
 */
static int
refresh_watch_resync(size_t i, int fd)
{
	static const char	what[] = "may have changed while its watch "
				    "was too old (410 Gone)";
	struct err		e;

	if (refresh_heal_late(i, what, fd))
		return -1;
	if (refresh_heal_apply(i, &e) != 0) {	/* open again, try again */
		log_error("heal", &e);
		watch_close(&M_watch[i]);
		refresh_watch_backoff(i, dial_now_ms());
		refresh_report(fd, 'w');
		return 0;
	}
	M_resync[i] = 0;
	log_info("heal", "Secret %s/%s %s: applied it again", R.ns[i],
	    R.target.secret, what);
	return 0;
}

/*
 * A closed watch whose time has come is opened (bounded, blocking); -1
 * when the API refused the service-account token read for this refresh
 * (it expired: a bound token lives as long as the pod says, which may be
 * less than the time to the next refresh), so that a new refresh, which
 * reads it again, takes over.
 */
static int
refresh_watch_open(size_t i, int64_t now, int fd)
{
	struct watch	*w = &M_watch[i];
	struct err	 e;
	int		 r;

	if (w->open || M_retry[i] < 0 || now < M_retry[i])
		return 0;
	if (w->rv[0] == '\0')	/* from now: what came before is unseen */
		M_resync[i] = 1;
	if ((r = watch_start(w, &R.target, now + IO_TIMEOUT_MS, &e)) == 0) {
		M_opened[i] = now;
		return M_resync[i] ? refresh_watch_resync(i, fd) : 0;
	}
	log_error("heal", &e);
	if (r == -2) {
		log_info("heal", "the API server refused this refresh's "
		    "service-account token: a new refresh takes over");
		refresh_report(fd, 'r');
		return -1;
	}
	refresh_watch_backoff(i, now);
	refresh_report(fd, 'w');
	return 0;
}

/* Every event that has arrived on watch i; -1 when a new refresh
 * must take over. */
static int
refresh_watch_read(size_t i, int fd)
{
	struct watch_event	ev;
	struct err		e;
	int64_t			now;
	int			r;

	while ((r = watch_next(&M_watch[i], &R.target, &ev, &e)) == 1) {
		if (ev.type == WATCH_BOOKMARK || (ev.type != WATCH_DELETED &&
		    strcmp(ev.rv, R.rv[i]) == 0))
			continue;	/* regcred's own apply */
		if (refresh_heal_one(i, &ev, fd) != 0)
			return -1;
	}
	if (r == 0)
		return 0;
	if (r < 0)
		log_error("heal", &e);
	now = dial_now_ms();
	if (r < 0 || now - M_opened[i] < WATCH_BACKOFF_MAX_MS)
		refresh_watch_backoff(i, now);
	else {	/* ended after a while; after 410 Gone w->rv is "": from
		 * now, and refresh_watch_open applies again */
		M_backoff[i] = 0;
		M_retry[i] = now;
	}
	refresh_report(fd, 'w');
	return 0;
}

/* Waits until a watch has bytes, one may be reopened, or a second
 * passed. */
static void
refresh_heal_wait(int64_t now)
{
	static struct pollfd	p[NAMESPACE_MAX];
	static size_t		idx[NAMESPACE_MAX];
	int64_t			t = 1000;
	size_t			i, n = 0;

	for (i = 0; i < R.nns; i++) {
		if (M_watch[i].open) {
			p[n] = (struct pollfd){ M_watch[i].conn.fd, POLLIN, 0 };
			idx[n++] = i;
		} else if (M_retry[i] >= 0 && M_retry[i] - now < t) {
			t = M_retry[i] - now;
		}
	}
	if (poll(p, n, t < 0 ? 0 : (int)t) <= 0)
		return;
	for (i = 0; i < n; i++)
		if (p[i].revents != 0)
			M_ready[idx[i]] = 1;
}

int
refresh_heal(const struct refresh_result *res, int fd)
{
	int64_t	now;
	size_t	i;

	for (i = 0; i < R.nns; i++) {
		M_retry[i] = res->ns_error[i][0] == '\0' ? 0 : -1;
		M_resync[i] = 0;
		memcpy(M_watch[i].ns, R.ns[i], strlen(R.ns[i]) + 1);
		memcpy(M_watch[i].rv, R.rv[i], sizeof(M_watch[i].rv));
	}
	for (;;) {
		now = dial_now_ms();
		for (i = 0; i < R.nns; i++)
			if (refresh_watch_open(i, now, fd) != 0)
				return 0;
		refresh_heal_wait(dial_now_ms());
		for (i = 0; i < R.nns; i++) {
			if (!M_ready[i])
				continue;
			M_ready[i] = 0;
			if (refresh_watch_read(i, fd) != 0)
				return 0;
		}
	}
}
