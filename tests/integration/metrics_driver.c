/*
 * metrics_driver.c -- test only (tests/integration/test_status_metrics.py
 * builds it): fills a struct state from its arguments, writes it with
 * status_write, then serves it with metrics.c on 127.0.0.1:0 from a poll
 * loop, as `regcred run`'s parent would, until stdin closes.
 *
 *   metrics_driver STATUS_FILE SECRET LAST_SUCCESS_AGO NS=LEFT[=ERROR]...
 *
 * Times are relative to now (seconds); LAST_SUCCESS_AGO -1 means never,
 * LEFT -1 no Secret applied. Prints the port on stdout.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "metrics.h"
#include "state.h"
#include "status.h"

static struct metrics	m;
static struct state	s;
static char		buf[STATUS_MAX];

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fill(int argc, char **argv, int64_t now)
{
	long	ago = atol(argv[3]);
	char	*eq, *eq2;
	int	i;

	snprintf(s.secret, sizeof(s.secret), "%s", argv[2]);
	s.last_attempt = now;
	s.last_success = ago < 0 ? 0 : now - ago;
	s.refresh_ok = 3;
	s.refresh_failed = 1;
	s.watch_restarts = 2;
	for (i = 4; i < argc && s.nns < NAMESPACE_MAX; i++) {
		struct state_ns	*ns = &s.ns[s.nns++];

		eq = strchr(argv[i], '=');
		eq2 = eq != NULL ? strchr(eq + 1, '=') : NULL;
		snprintf(ns->name, sizeof(ns->name), "%.*s", eq != NULL ?
		    (int)(eq - argv[i]) : (int)strlen(argv[i]), argv[i]);
		ns->expiry = eq == NULL || atol(eq + 1) < 0 ? 0 :
		    now + atol(eq + 1);
		ns->last_success = s.last_success;
		if (eq2 != NULL)
			snprintf(ns->last_error, sizeof(ns->last_error), "%s",
			    eq2 + 1);
		if (s.expiry == 0 || (ns->expiry != 0 && ns->expiry < s.expiry))
			s.expiry = ns->expiry;
	}
}

int
main(int argc, char **argv)
{
	struct pollfd	p[2 + METRICS_CONNS_MAX];
	struct err	e;
	size_t		n;

	if (argc < 4) {
		fputs("usage: metrics_driver FILE SECRET AGO NS=LEFT[=ERR]...\n",
		    stderr);
		return 2;
	}
	fill(argc, argv, (int64_t)time(NULL));
	if (strcmp(argv[1], "-") != 0 &&
	    status_write(&s, argv[1], buf, sizeof(buf), &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (metrics_open(&m, "127.0.0.1:0", &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	printf("%d\n", metrics_port(&m));
	fflush(stdout);
	for (;;) {
		p[0].fd = 0;
		p[0].events = POLLIN;
		n = 1 + metrics_pollfds(&m, p + 1, 1 + METRICS_CONNS_MAX);
		(void)poll(p, n, 100);
		if (p[0].revents != 0)
			break;
		metrics_serve(&m, p + 1, n - 1, &s, now_ms());
	}
	metrics_close(&m);
	return 0;
}
