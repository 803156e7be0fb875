/*
 * main.c -- sequencing only.
 *
 * Reads every local input first (configuration, credential config, CA
 * files, token files), then talks to the network: the subject token's
 * URL or the Entra ID hop (when the source needs one), STS, IAM (when
 * the config impersonates), the Kubernetes API. Maps each failure to its exit
 * code (2 usage/config, 3 identity, 4 Kubernetes) and is the only place
 * that exits. All secrets are wiped before exit.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "anchors.h"
#include "buildinfo.h"
#include "config.h"
#include "dial.h"
#include "cred.h"
#include "dockercfg.h"
#include "fmt.h"
#include "http.h"
#include "kube.h"
#include "file.h"
#include "log.h"
#include "proxy.h"
#include "sandbox.h"
#include "source.h"
#include "sts.h"
#include "tls.h"

#define EXIT_USAGE	2
#define EXIT_IDENTITY	3
#define EXIT_KUBE	4
#define KUBE_SA_NAME	"kubernetes.default.svc"

/* Everything one refresh needs; static: no heap, not on the stack. */
struct run {
	struct config		cfg;
	struct cred		cred;
	struct anchors		google;		/* STS, IAM */
	struct anchors		kube;		/* the API server */
	struct source		source;		/* the subject token's */
	struct dial_table	dial;		/* every host, resolved once */
	struct proxy		proxy;		/* on: HTTPS goes through it */
	char			route[LOG_LINE_MAX];	/* the proxy info line */
#ifdef REGCRED_LOCKTEST
	const char		*locktest;
#endif
	struct kube_target	target;
	char			subject[TOKEN_MAX + 1];
	size_t			sublen;
	struct oauth_token	fed;
	struct oauth_token	access;
	size_t			cfglen;
};

static struct run	R;
/* The two large buffers live apart from R, so that a wipe of R (small)
 * and of the used part of these never makes all their pages resident. */
static char		M_file[CA_FILE_MAX];	/* one local file at a time */
static size_t		M_filelen, M_filehw;	/* its length, most ever used */
static char		M_dockercfg[DOCKERCFG_MAX];
static volatile sig_atomic_t	R_json;	/* log format, for the watchdog */

#if defined(__SANITIZE_ADDRESS__)
/*
 * LeakSanitizer stops the process at exit with a ptrace-ing thread, which
 * the lockdown forbids (and regcred allocates nothing itself; the unit
 * tests, never locked down and without main.c, keep leak checking).
 * ASan's own checks stay. Only the glibc ASan test build has this.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* The watchdog: what a stuck step (musl's resolver has no deadline) is. */
static const char *volatile	wd_step = "config";
static volatile sig_atomic_t	wd_code = EXIT_USAGE;

static void
main_phase(const char *step, int code)
{
	wd_step = step;
	wd_code = code;
}

static void
main_wd_write(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0)
		return;
}

/* R whole, the large buffers as far as used (async-signal-safe). */
static void
main_wipe_all(void)
{
	explicit_bzero(M_file, M_filehw);
	explicit_bzero(M_dockercfg, R.cfglen);
	explicit_bzero(&R, sizeof(R));
}

/* Keeps M_filehw, what the wipe at exit must cover. */
static void
main_file_used(void)
{
	if (M_filelen + 1 > M_filehw)
		M_filehw = M_filelen + 1;
}

/* Reads path into M_file, at most cap-1 bytes (cap names the limit). */
static int
main_read(const char *path, size_t cap, const char *what, struct err *e)
{
	int	r;

	r = file_read(path, M_file, cap, &M_filelen, what, e);
	main_file_used();
	return r;
}

/* SIGALRM: async-signal-safe calls only. */
static void
main_watchdog(int sig)
{
	(void)sig;
	main_wipe_all();
	main_wd_write(R_json ? "{\"level\":\"error\",\"step\":\"" :
	    "regcred: error ");
	main_wd_write((const char *)wd_step);
	main_wd_write(R_json ? "\",\"msg\":\"" : ": ");
	main_wd_write("--timeout passed and a step did not return (the "
	    "watchdog stopped it)");
	main_wd_write(R_json ? "\"}\n" : "\n");
	_exit(wd_code);
}

static void
main_watchdog_arm(int timeout_s)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_watchdog;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == 0)
		alarm((unsigned)(timeout_s + WATCHDOG_GRACE_S));
}

static int
fail(const char *step, const struct err *e, int code)
{
	log_error(step, e);
	return code;
}

static void
main_wipe(void)
{
	log_secret_clear();
	main_wipe_all();
}

/* Build facts are string macros (out/gen/buildinfo.h): no formatting. */
static void
main_version(void)
{
	fputs("regcred " BUILD_VERSION "\ncommit: " BUILD_COMMIT
	    "\ncompiler: " BUILD_CC "\n", stdout);
#ifdef __GLIBC__
	fputs("libc: glibc (test build)\n", stdout);
#else
	fputs("musl: " BUILD_MUSL "\n", stdout);
#endif
	fputs("bearssl: " BUILD_BEARSSL "\njsmn: " BUILD_JSMN
	    "\ntrust anchors (embedded):\n", stdout);
	fputs(anchors_embedded_names, stdout);
}

static int
main_plan_source(struct err *e)
{
	int	ignored;

	if (proxy_parse(&R.proxy, R.cfg.proxy, e) != 0)
		return -1;
	if (log_secret_add(R.proxy.password, strlen(R.proxy.password)) != 0 ||
	    log_secret_add(R.proxy.auth, strlen(R.proxy.auth)) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	if (source_plan(&R.source, &R.cred, &R.cfg.az, &R.google, &ignored,
	    e) != 0)
		return -1;
	R.source.dial = &R.dial;
	if (ignored)
		log_info("config", "Azure settings ignored: the credential "
		    "source is not Azure IMDS, so there is no Entra ID hop");
	if (R.source.kind == SOURCE_ENTRA)
		log_info("entra", "credential source is Azure IMDS: taking "
		    "the Entra ID hop for client %s in tenant %s instead",
		    R.cfg.az.client_id, R.cfg.az.tenant_id);
	return 0;
}

/* Credential config, Google-side trust anchors, the subject token's
 * source: exit 2 on failure. */
static int
main_read_config(struct err *e)
{
	const struct config	*c = &R.cfg;

	if (main_read(c->credential_config, FILE_MAX + 1, "credential config",
	    e) != 0 || cred_parse(&R.cred, M_file, M_filelen, e) != 0)
		return -1;
	if (log_secret_add(R.cred.client_secret,
	    strlen(R.cred.client_secret)) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	anchors_init(&R.google);
	if (!c->no_embedded_roots && anchors_add_embedded(&R.google, e) != 0)
		return -1;
	if (c->ca_file[0] != '\0' && (main_read(c->ca_file, sizeof(M_file),
	    "--ca-file", e) != 0 ||
	    anchors_add_pem(&R.google, M_file, M_filelen, c->ca_file, e) != 0))
		return -1;
	return main_plan_source(e);
}

/* The subject token's local inputs, re-read on every run: exit 3. */
static int
main_read_subject(struct err *e)
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
main_fetch_subject(int64_t deadline, struct err *e)
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
main_is_ip(const char *host)
{
	unsigned char	buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* API server address: --kube-api, else the in-cluster variables. */
static int
main_kube_url(struct url *u, struct err *e)
{
	const char	*h, *p;
	char		 url[URL_MAX];
	int		 n;

	if (R.cfg.kube_api[0] != '\0')
		return url_parse(R.cfg.kube_api, u, e);
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
main_kube_target(struct err *e)
{
	struct kube_target	*t = &R.target;
	struct url		 u;
	const char		*name;
	int			 n;

	if (main_kube_url(&u, e) != 0)
		return err_prefix(e, "API server address");
	memcpy(t->host, u.host, sizeof(t->host));
	memcpy(t->port, u.port, sizeof(t->port));
	name = R.cfg.kube_server_name[0] != '\0' ? R.cfg.kube_server_name :
	    main_is_ip(u.host) ? KUBE_SA_NAME : u.host;
	n = fmt_print(t->server_name, sizeof(t->server_name), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(t->server_name))
		return err_set(e, "API server name exceeds HOST_MAX");
	memcpy(t->secret, R.cfg.secret, sizeof(t->secret));
	memcpy(t->ns, R.cfg.namespace, sizeof(t->ns));
	return 0;
}

/* Service-account token, CA and namespace: exit 4 on failure. */
static int
main_read_kube(struct err *e)
{
	struct kube_target	*t = &R.target;
	size_t			 len;

	if (main_kube_target(e) != 0)
		return -1;
	if (t->ns[0] == '\0') {
		if (config_read_sa(&R.cfg, "namespace", t->ns, sizeof(t->ns),
		    &len, e) != 0)
			return -1;
		if (!config_namespace_ok(t->ns, len))
			return err_set(e, "%s/namespace does not hold a valid "
			    "namespace name", R.cfg.kube_sa_dir);
	}
	if (config_read_sa(&R.cfg, "token", t->token, sizeof(t->token),
	    &t->tokenlen, e) != 0)
		return -1;
	if (log_secret_add(t->token, t->tokenlen) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	if (config_read_sa(&R.cfg, "ca.crt", M_file, sizeof(M_file),
	    &M_filelen, e) != 0)
		return -1;
	main_file_used();
	anchors_init(&R.kube);
	return anchors_add_pem(&R.kube, M_file, M_filelen, "ca.crt", e);
}

/*
 * Direct or through the proxy: plain http (a link-local metadata server)
 * never goes through it; NO_PROXY is matched against the host and, for
 * the API server, also against the name verified in its certificate.
 * Appends "host:port via P" or "host:port direct" to the info line.
 */
static int
main_route(const char *host, const char *port, const char *alias, int plain,
    struct err *e)
{
	const struct proxy	*via = &R.proxy;
	char			 name[HOST_MAX + 10];
	size_t			 o = strlen(R.route);

	if (!R.proxy.on || plain ||
	    proxy_bypass(R.cfg.no_proxy, host, port) ||
	    (alias != NULL && proxy_bypass(R.cfg.no_proxy, alias, port)))
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
main_resolve_url(const char *url, int any, struct err *e)
{
	struct url	u;

	if ((any ? url_parse_any(url, &u, e) : url_parse(url, &u, e)) != 0)
		return -1;
	return main_route(u.host, u.port, NULL, u.plain, e);
}

/*
 * Every host the network phase reaches, resolved now: after the lockdown
 * there is no resolver. Sets *step and *code for a failure.
 */
static int
main_resolve(int refresh, const char **step, int *code, struct err *e)
{
	char	host[HOST_MAX], port[8];

	dial_init(&R.dial);
	*code = EXIT_IDENTITY;
	*step = source_step(&R.source);
	main_phase(*step, *code);
	if (source_endpoint(&R.source, host, sizeof(host), port, sizeof(port),
	    e) != 0 || (host[0] != '\0' && main_route(host, port, NULL,
	    R.source.kind == SOURCE_URL &&
	    strncasecmp(R.cred.source_url, "http://", 7) == 0, e) != 0))
		return -1;
	main_phase(*step = "sts", *code);
	if (main_resolve_url(R.cred.token_url, 0, e) != 0)
		return -1;
	main_phase(*step = "iam", *code);
	if (R.cred.impersonation_url[0] != '\0' &&
	    main_resolve_url(R.cred.impersonation_url, 0, e) != 0)
		return -1;
	*code = EXIT_KUBE;
	main_phase(*step = "kube", *code);
	if (refresh && main_route(R.target.host, R.target.port,
	    R.target.server_name, 0, e) != 0)
		return -1;
	if (R.route[0] != '\0')
		log_info("proxy", "%s", R.route);
	return 0;
}

/* No new privileges, no file system, an allow-list of system calls. */
static int
main_lockdown(struct err *e)
{
	enum sandbox_landlock	ll;

	main_phase("lockdown", EXIT_USAGE);
	if (sandbox_lock(&ll, e) != 0)
		return -1;
	if (ll == SANDBOX_LANDLOCK_UNAVAILABLE)
		log_info("lockdown", "this kernel has no Landlock: file access "
		    "is refused by seccomp alone");
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
main_locktest(const char *what)
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
main_identity(int64_t deadline, const char **step, struct err *e)
{
	*step = source_step(&R.source);
	main_phase(*step, EXIT_IDENTITY);
	if (main_fetch_subject(deadline, e) != 0)
		return -1;
	*step = "sts";
	main_phase("sts", EXIT_IDENTITY);
	if (sts_exchange(&R.cred, &R.google, &R.dial, R.subject, R.sublen,
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
	main_phase("iam", EXIT_IDENTITY);
	if (iam_impersonate(&R.cred, &R.google, &R.dial, &R.fed, deadline,
	    &R.access,
	    e) != 0)
		return -1;
	explicit_bzero(&R.fed, sizeof(R.fed));
	if (log_secret_add(R.access.token, R.access.len) != 0)
		return err_set(e, "too many secrets (LOG_SECRETS_MAX)");
	return 0;
}

static int
main_print_token(struct err *e)
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

static int
main_apply(int64_t deadline, struct err *e)
{
	const char	*regs[REGISTRY_MAX];
	size_t		 i;

	for (i = 0; i < R.cfg.nregistry; i++)
		regs[i] = R.cfg.registry[i];
	if (dockercfg_build(M_dockercfg, sizeof(M_dockercfg), &R.cfglen, regs,
	    R.cfg.nregistry, DOCKERCFG_USER, R.access.token, R.access.len,
	    e) != 0)
		return -1;
	return kube_apply(&R.target, &R.kube, &R.dial, M_dockercfg, R.cfglen,
	    R.access.expires_at, deadline, e);
}

/* One refresh (or token); returns the exit code. */
static int
main_run(void)
{
	struct err	 e;
	const char	*step;
	int64_t		 deadline;
	int		 refresh = R.cfg.cmd == CMD_REFRESH, code;

	main_phase("config", EXIT_USAGE);
	if (tls_init(&e) != 0)
		return fail("config", &e, EXIT_USAGE);
	if (main_read_config(&e) != 0)
		return fail("config", &e, EXIT_USAGE);
	main_phase(source_step(&R.source), EXIT_IDENTITY);
	if (main_read_subject(&e) != 0)
		return fail(source_step(&R.source), &e, EXIT_IDENTITY);
	main_phase("kube", EXIT_KUBE);
	if (refresh && main_read_kube(&e) != 0)
		return fail("kube", &e, EXIT_KUBE);
	deadline = dial_now_ms() + (int64_t)R.cfg.timeout_s * 1000;
	if (main_resolve(refresh, &step, &code, &e) != 0)
		return fail(step, &e, code);
	if (main_lockdown(&e) != 0)
		return fail("lockdown", &e, EXIT_USAGE);
#ifdef REGCRED_LOCKTEST
	main_locktest(R.locktest);
#endif
	if (main_identity(deadline, &step, &e) != 0)
		return fail(step, &e, EXIT_IDENTITY);
	if (!refresh)
		return main_print_token(&e) == 0 ? 0 :
		    fail("token", &e, EXIT_IDENTITY);
	main_phase("kube", EXIT_KUBE);
	if (main_apply(deadline, &e) != 0)
		return fail("kube", &e, EXIT_KUBE);
	log_info("kube", "applied Secret %s/%s for %zu registr%s; token "
	    "expires in %lld s", R.target.ns, R.target.secret,
	    R.cfg.nregistry, R.cfg.nregistry == 1 ? "y" : "ies",
	    R.access.expires_at - (long long)time(NULL));
	return 0;
}

/*
 * Before anything else: no core file and no ptrace by the same user (a
 * dump would hold every token), and a write to a closed pipe is EPIPE,
 * reported, never death by SIGPIPE.
 */
static void
main_harden(void)
{
	struct rlimit	rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct err	e;
	int		code;

	main_harden();
#ifdef REGCRED_LOCKTEST
	R.locktest = getenv("REGCRED_LOCKTEST");
#endif
	if (config_parse(&R.cfg, argc, argv, &e) != 0) {
		log_error("config", &e);
		fputs("run 'regcred --help' for usage\n", stderr);
		return EXIT_USAGE;
	}
	log_init(R.cfg.log_format);
	R_json = R.cfg.log_format == LOG_JSON;
	if (R.cfg.cmd == CMD_HELP) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (R.cfg.cmd == CMD_VERSION) {
		main_version();
		return 0;
	}
	/* armed before anything can block: getrandom before the pool is
	 * ready, a read from a hung mount, name resolution */
	main_watchdog_arm(R.cfg.timeout_s);
	code = main_run();
	main_wipe();
	return code;
}
