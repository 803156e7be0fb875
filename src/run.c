/*
 * run.c -- `regcred run`, the long-running loop.
 *
 * Owns: the schedule (a refresh at once, then when half of the token's
 * real lifetime has passed, +-10 % jitter; after a failure a backoff of
 * RUN_BACKOFF_MIN_S doubling to RUN_BACKOFF_MAX_S), the child process
 * each refresh runs in (it reads every file anew, locks itself down,
 * sends its struct refresh_result up a pipe and exits: the parent never
 * holds a token), the record of what happened (struct state), and the
 * signals: SIGTERM or SIGINT stop the child and end the loop at once.
 * After every attempt it writes the status file; between them it serves
 * the metrics listener (metrics.c) from the same poll, never blocking.
 */
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dial.h"
#include "fmt.h"
#include "log.h"
#include "refresh.h"
#include "run.h"
#include "status.h"

static volatile sig_atomic_t	run_sigfd = -1;	/* the self-pipe's write end */

static void
run_on_signal(int sig)
{
	char	c = (char)sig;
	int	saved = errno;

	if (run_sigfd >= 0 && write(run_sigfd, &c, 1) < 0)
		(void)0;	/* full: a stop is already pending */
	errno = saved;
}

static int
run_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A pipe, both ends close-on-exec (pipe2 is not in _DEFAULT_SOURCE). */
static int
run_pipe(int fd[2], struct err *e)
{
	if (pipe(fd) != 0)
		return err_set(e, "pipe: %s", strerror(errno));
	(void)fcntl(fd[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* The self-pipe, and SIGTERM/SIGINT written into it. */
static int
run_signals(struct run *r, struct err *e)
{
	struct sigaction	sa;

	if (run_pipe(r->sigfd, e) != 0 || run_nonblock(r->sigfd[0]) != 0 ||
	    run_nonblock(r->sigfd[1]) != 0)
		return err_set(e, "the signal pipe: %s", strerror(errno));
	run_sigfd = r->sigfd[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return err_set(e, "sigaction: %s", strerror(errno));
	return 0;
}

/* In the child: one refresh, its result up the pipe; the exit code. */
static int
run_child(struct run *r, int wfd)
{
	const uint8_t	*p = (const uint8_t *)&r->res;
	size_t		 off = 0;
	ssize_t		 n;
	int		 code;

	close(r->sigfd[0]);
	close(r->sigfd[1]);
	metrics_close(&r->metrics);	/* a fork keeps descriptors */
	r->hooks->child_signals();
	r->hooks->watchdog_arm(r->cfg->timeout_s);
	code = refresh_begin(r->cfg, &r->res);
	alarm(0);		/* the refresh is over; healing has no end */
	while (off < sizeof(r->res)) {
		n = write(wfd, p + off, sizeof(r->res) - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off == sizeof(r->res) && r->res.expires_at != 0 &&
	    (code == 0 || code == EXIT_KUBE))
		(void)refresh_heal(&r->res, wfd);
	refresh_end();
	close(wfd);
	return code;
}

/* Forks the child for one refresh; 1 in the child (*code set). */
static int
run_spawn(struct run *r, int *code, struct err *e)
{
	int	fd[2];
	pid_t	pid;

	if (run_pipe(fd, e) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return err_set(e, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fd[0]);
		*code = run_child(r, fd[1]);
		return 1;
	}
	close(fd[1]);
	(void)run_nonblock(fd[0]);
	r->reported = 0;
	r->child = pid;
	r->resfd = fd[0];
	r->reslen = 0;
	memset(&r->res, 0, sizeof(r->res));
	return 0;
}

/* Uniform in [-pct %, +pct %] of ms. */
static int64_t
run_jitter(int64_t ms, int pct)
{
	uint32_t	rnd = 0;
	int64_t		span = ms * pct / 100;

	if (span <= 0 || getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return ms;
	return ms - span + (int64_t)(rnd % (uint32_t)(2 * span + 1));
}

static void
run_schedule(struct run *r, int ok)
{
	int64_t	wait_ms;
	int	i;

	if (ok) {
		r->failures = 0;
		wait_ms = run_jitter(r->res.lifetime_s * 1000 / 2, 10);
	} else {
		wait_ms = (int64_t)RUN_BACKOFF_MIN_S * 1000;
		for (i = 1; i < (int)r->failures &&
		    wait_ms < (int64_t)RUN_BACKOFF_MAX_S * 1000; i++)
			wait_ms *= 2;
		if (wait_ms > (int64_t)RUN_BACKOFF_MAX_S * 1000)
			wait_ms = (int64_t)RUN_BACKOFF_MAX_S * 1000;
	}
	if (wait_ms < (int64_t)RUN_MIN_INTERVAL_S * 1000)
		wait_ms = (int64_t)RUN_MIN_INTERVAL_S * 1000;
	r->next_ms = dial_now_ms() + wait_ms;
	log_info("run", "next refresh in %lld s%s", (long long)(wait_ms / 1000),
	    ok ? " (half the token's lifetime, with jitter)" :
	    " (backoff after a failure; the Secret is left as it is)");
}

/* The state entry for namespace name, made if new. */
static struct state_ns *
run_state_ns(struct state *s, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < s->nns; i++)
		if (strcmp(s->ns[i].name, name) == 0)
			return &s->ns[i];
	if (s->nns == NAMESPACE_MAX || n >= sizeof(s->ns[0].name))
		return NULL;
	memset(&s->ns[s->nns], 0, sizeof(s->ns[0]));
	memcpy(s->ns[s->nns].name, name, n + 1);
	return &s->ns[s->nns++];
}

/* What the child's result (or its death) says, into the state. */
static void
run_record(struct run *r, int code, const char *why)
{
	struct state	*s = &r->st;
	struct state_ns	*ns;
	int64_t		 now = (int64_t)time(NULL);
	size_t		 i;

	s->last_attempt = now;
	for (i = 0; i < r->res.nns && r->reslen == sizeof(r->res); i++) {
		if ((ns = run_state_ns(s, r->res.ns[i])) == NULL)
			continue;
		memcpy(ns->last_error, r->res.ns_error[i],
		    sizeof(ns->last_error));
		if (code == 0 || (code == EXIT_KUBE &&
		    r->res.ns_error[i][0] == '\0' && r->res.expires_at != 0)) {
			ns->last_success = now;
			ns->expiry = r->res.expires_at;
		}
	}
	if (code == 0) {
		s->refresh_ok++;
		s->last_success = now;
		s->expiry = r->res.expires_at;
		s->last_error[0] = '\0';
		return;
	}
	s->refresh_failed++;
	if (fmt_print(s->last_error, sizeof(s->last_error), "%s", why) < 0)
		s->last_error[0] = '\0';
}

/* --status-file after an attempt; a failure is logged, never fatal. */
static void
run_status(struct run *r)
{
	struct err	e;

	if (r->cfg->status_file[0] == '\0')
		return;
	if (status_write(&r->st, r->cfg->status_file, r->status,
	    sizeof(r->status), &e) != 0)
		log_error("status", &e);
}

/* The child's whole result arrived: judge the refresh (it may go on
 * healing until the next one). */
static void
run_result(struct run *r)
{
	r->reported = 1;
	if (r->res.code != 0)
		r->failures++;
	run_record(r, r->res.code, r->res.error);
	run_status(r);
	run_schedule(r, r->res.code == 0);
	memset(&r->res, 0, sizeof(r->res));	/* holds no token: tidy */
}

/* The child closed its pipe: wait for it; judge the refresh if it died
 * before reporting. */
static void
run_reap(struct run *r)
{
	char	why[ERR_MSG_MAX];
	int	status = 0, code;

	while (waitpid(r->child, &status, 0) < 0 && errno == EINTR)
		;
	close(r->resfd);
	r->resfd = -1;
	r->child = 0;
	if (r->reported) {
		if (WIFSIGNALED(status))
			log_info("run", "the healing process was killed by "
			    "signal %d; healing resumes with the next refresh",
			    WTERMSIG(status));
		return;
	}
	code = WIFEXITED(status) && WEXITSTATUS(status) != 0 ?
	    WEXITSTATUS(status) : EXIT_USAGE;
	if (WIFSIGNALED(status))
		(void)fmt_print(why, sizeof(why), "the refresh process was "
		    "killed by signal %d", WTERMSIG(status));
	else
		(void)fmt_print(why, sizeof(why), "the refresh process exited "
		    "with code %d before reporting", code);
	log_info("run", "%s", why);
	r->failures++;
	run_record(r, code, why);
	run_status(r);
	run_schedule(r, 0);
	memset(&r->res, 0, sizeof(r->res));
}

/* One byte from a healing child. */
static void
run_message(struct run *r, char m)
{
	if (m == 'w')
		r->st.watch_restarts++;
	else if (m == 'r')
		r->next_ms = dial_now_ms();	/* a refresh at once */
}

/* What the child sent so far (its result, then one byte per healing
 * event); at its end, run_reap. */
static void
run_read(struct run *r)
{
	char	msg[64];
	ssize_t	n, i;

	for (;;) {
		if (r->reslen < sizeof(r->res))
			n = read(r->resfd, (uint8_t *)&r->res + r->reslen,
			    sizeof(r->res) - r->reslen);
		else
			n = read(r->resfd, msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		if (r->reslen < sizeof(r->res)) {
			r->reslen += (size_t)n;
			if (r->reslen == sizeof(r->res))
				run_result(r);
			continue;
		}
		for (i = 0; i < n; i++)
			run_message(r, msg[i]);
	}
	run_reap(r);
}

/* SIGTERM to the child, SIGKILL if it lingers; waits for it. */
static void
run_stop(struct run *r)
{
	int64_t	until = dial_now_ms() + RUN_STOP_GRACE_MS;
	int	status;

	if (r->child > 0) {
		(void)kill(r->child, SIGTERM);
		while (waitpid(r->child, &status, WNOHANG) == 0) {
			if (dial_now_ms() >= until) {
				(void)kill(r->child, SIGKILL);
				(void)waitpid(r->child, &status, 0);
				break;
			}
			(void)poll(NULL, 0, 10);
		}
		close(r->resfd);
	}
	r->child = 0;
	r->resfd = -1;
	memset(&r->res, 0, sizeof(r->res));
}

/* How long poll may sleep: until the next refresh (not while one is
 * under way: its watchdog bounds it), or a metrics deadline. */
static int
run_timeout(const struct run *r)
{
	int64_t	t = -1, m;

	if (r->child == 0 || r->reported) {
		t = r->next_ms - dial_now_ms();
		if (t < 0)
			t = 0;
	}
	m = metrics_timeout(&r->metrics, dial_now_ms());
	if (m >= 0 && (t < 0 || m < t))
		t = m;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

/* Waits for the next event; 1 when a signal says stop. */
static int
run_wait(struct run *r)
{
	struct pollfd	p[2 + METRICS_POLLFDS];
	size_t		n = 1, nm;
	char		buf[16];
	int		child = -1;

	p[0] = (struct pollfd){ r->sigfd[0], POLLIN, 0 };
	if (r->child > 0) {
		child = (int)n;
		p[n++] = (struct pollfd){ r->resfd, POLLIN, 0 };
	}
	nm = metrics_pollfds(&r->metrics, p + n, METRICS_POLLFDS);
	if (poll(p, (nfds_t)(n + nm), run_timeout(r)) < 0)
		return 0;	/* EINTR: the self-pipe tells */
	if (p[0].revents & POLLIN) {
		while (read(r->sigfd[0], buf, sizeof(buf)) > 0)
			;
		return 1;
	}
	metrics_serve(&r->metrics, p + n, nm, &r->st, dial_now_ms());
	if (child > 0 && p[child].revents)
		run_read(r);
	return 0;
}

/* The listener, when asked for: a failure to bind is exit 2 at once. */
static int
run_metrics(struct run *r, struct err *e)
{
	metrics_init(&r->metrics);
	if (r->cfg->metrics_addr[0] == '\0')
		return 0;
	if (metrics_open(&r->metrics, r->cfg->metrics_addr, e) != 0)
		return err_prefix(e, "--metrics-addr %s", r->cfg->metrics_addr);
	log_info("run", "metrics on http://%s/metrics", r->cfg->metrics_addr);
	return 0;
}

/*
 * Every field but the large buffers (st.ns, res, status, the metrics
 * connections' buffers: about 1.6 MB), which are each written before
 * they are read. Zeroing them all made every page of them resident in
 * the one process that lives for weeks, and in each child it forks.
 */
static void
run_init(struct run *r, const struct config *cfg, const struct run_hooks *h)
{
	r->cfg = cfg;
	r->hooks = h;
	memset(&r->st, 0, offsetof(struct state, ns));
	r->reslen = 0;
	r->child = 0;
	r->resfd = -1;
	r->sigfd[0] = r->sigfd[1] = -1;
	r->next_ms = 0;
	r->failures = 0;
	r->reported = 0;
	r->status[0] = '\0';
}

int
run_main(struct run *r, const struct config *cfg, const struct run_hooks *h)
{
	struct err	e;
	int		code = 0;

	run_init(r, cfg, h);
	memcpy(r->st.secret, cfg->secret, sizeof(r->st.secret));
	if (run_signals(r, &e) != 0 || run_metrics(r, &e) != 0) {
		log_error("run", &e);
		return EXIT_USAGE;
	}
	r->next_ms = dial_now_ms();
	for (;;) {
		if (dial_now_ms() >= r->next_ms && (r->child == 0 ||
		    r->reported)) {
			run_stop(r);		/* the healing child, if any */
			if (run_spawn(r, &code, &e) == 1)
				return code;		/* the child's end */
			if (r->child == 0) {		/* fork failed */
				log_error("run", &e);
				r->failures++;
				run_schedule(r, 0);
			}
		}
		if (run_wait(r) == 1)
			break;
	}
	log_info("run", "stopping (signal)");
	run_stop(r);
	metrics_close(&r->metrics);
	return 0;
}
