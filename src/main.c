/*
 * main.c -- sequencing only.
 *
 * Hardens the process, parses the configuration, and hands over: to
 * refresh.c for `refresh` and `token` (one refresh), to run.c for `run`
 * (a refresh at half of each token's lifetime, until a signal), to
 * status.c for `status` (the exec probe's verdict). Arms the
 * watchdog for a one-shot refresh. The only place that exits; maps
 * nothing itself (refresh.c returns the exit code: 2 usage/config, 3
 * identity, 4 Kubernetes).
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anchors.h"
#include "buildinfo.h"
#include "config.h"
#include "file.h"
#include "log.h"
#include "refresh.h"
#include "run.h"
#include "status.h"

#define EXIT_UNHEALTHY	1	/* regcred status */

static struct config		C;
static struct refresh_result	M_res;
static struct run		M_run;
static volatile sig_atomic_t	M_json;	/* log format, for the watchdog */
static char			M_status[STATUS_MAX + 1];	/* regcred status */

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

static void
main_wd_write(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0)
		return;
}

/* SIGALRM: what a stuck step (musl's resolver has no deadline) meets.
 * Async-signal-safe calls only. */
static void
main_watchdog(int sig)
{
	const char	*step;
	int		 code;

	(void)sig;
	refresh_phase_get(&step, &code);
	refresh_wipe_all();
	main_wd_write(M_json ? "{\"level\":\"error\",\"step\":\"" :
	    "regcred: error ");
	main_wd_write(step);
	main_wd_write(M_json ? "\",\"msg\":\"" : ": ");
	main_wd_write("--timeout passed and a step did not return (the "
	    "watchdog stopped it)");
	main_wd_write(M_json ? "\"}\n" : "\n");
	_exit(code);
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

/* A run child's SIGTERM (from its parent, stopping): wipe, end. */
static void
main_child_term(int sig)
{
	(void)sig;
	refresh_wipe_all();
	_exit(0);
}

static void
main_child_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_child_term;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGINT, &sa, NULL);
}

static const struct run_hooks	main_hooks = { main_watchdog_arm,
    main_child_signals };

/* Build facts are string macros (out/gen/buildinfo.h): no formatting.
 * buildinfo.h names every target's compiler and musl; this binary's
 * architecture picks its own. */
#if defined(__x86_64__)
#define MAIN_ARCH	"x86_64"
#define MAIN_CC		BUILD_CC_X86_64
#define MAIN_MUSL	BUILD_MUSL_X86_64
#elif defined(__aarch64__)
#define MAIN_ARCH	"aarch64"
#define MAIN_CC		BUILD_CC_AARCH64
#define MAIN_MUSL	BUILD_MUSL_AARCH64
#else
#error "main.c: regcred is built for x86_64 and aarch64"
#endif

static void
main_version(void)
{
	fputs("regcred " BUILD_VERSION "\ncommit: " BUILD_COMMIT
	    "\narch: " MAIN_ARCH "\ncompiler: " MAIN_CC "\n", stdout);
#ifdef __GLIBC__
	fputs("libc: glibc (test build)\n", stdout);
#else
	fputs("musl: " MAIN_MUSL "\n", stdout);
#endif
	fputs("bearssl: " BUILD_BEARSSL "\njsmn: " BUILD_JSMN
	    "\ntrust anchors (embedded):\n", stdout);
	fputs(anchors_embedded_names, stdout);
}

/*
 * regcred status: judges the status file (an exec probe). Healthy: the
 * summary on stdout, 0; else the reason on stderr, one line, 1. A file
 * that cannot be read is unhealthy too (it is written after the first
 * attempt). No watchdog: it only reads one file, and the probe's
 * timeoutSeconds bounds it.
 */
static int
main_status(void)
{
	struct err	e;
	char		reason[LOG_LINE_MAX];
	size_t		len;

	if (file_read(C.status_file, M_status, sizeof(M_status), &len,
	    "status file", &e) != 0) {
		log_error("status", &e);
		return EXIT_UNHEALTHY;
	}
	if (status_check(M_status, len, (int64_t)time(NULL), C.max_age_s,
	    reason, sizeof(reason)) != 0) {
		err_set(&e, "%s", reason);
		log_error("status", &e);
		return EXIT_UNHEALTHY;
	}
	log_redact(reason, sizeof(reason));
	fputs(reason, stdout);
	fputs("\n", stdout);
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

	main_harden();
	if (config_parse(&C, argc, argv, &e) != 0) {
		log_error("config", &e);
		fputs("run 'regcred --help' for usage\n", stderr);
		return EXIT_USAGE;
	}
	log_init(C.log_format);
	M_json = C.log_format == LOG_JSON;
	if (C.cmd == CMD_HELP) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (C.cmd == CMD_VERSION) {
		main_version();
		return 0;
	}
	if (C.cmd == CMD_STATUS)
		return main_status();
	if (C.cmd == CMD_RUN)
		return run_main(&M_run, &C, &main_hooks);
	/* armed before anything can block: getrandom before the pool is
	 * ready, a read from a hung mount, name resolution */
	main_watchdog_arm(C.timeout_s);
	return refresh_run(&C, &M_res);
}
