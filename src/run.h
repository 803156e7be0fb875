/*
 * run.h -- `regcred run`: a refresh now, then again at half of each
 * token's real lifetime (+-10 % jitter), failed refreshes retried with
 * backoff (RUN_BACKOFF_MIN_S doubling to RUN_BACKOFF_MAX_S), until
 * SIGTERM or SIGINT, writing --status-file after every attempt and
 * serving --metrics-addr. Each refresh runs in a child process of its own,
 * which reads every file anew, locks itself down, reports, and then heals
 * (refresh.h) until the next refresh replaces it; the parent holds no
 * token.
 */
#ifndef REGCRED_RUN_H
#define REGCRED_RUN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "refresh.h"
#include "state.h"

struct config;

/* What main.c does for a child: arm the watchdog for one refresh, and
 * make SIGTERM wipe and end it (main.c is the only place that exits). */
struct run_hooks {
	void	(*watchdog_arm)(int timeout_s);
	void	(*child_signals)(void);
};

/* The loop's context, caller-owned (static in main.c: no heap). */
struct run {
	const struct config	*cfg;
	const struct run_hooks	*hooks;
	struct state		 st;		/* what happened so far */
	struct refresh_result	 res;		/* the child's, arriving */
	size_t			 reslen;
	pid_t			 child;		/* 0: none running */
	int			 resfd;		/* its pipe, -1: none */
	int			 sigfd[2];	/* SIGTERM/SIGINT self-pipe */
	int64_t			 next_ms;	/* next refresh (monotonic) */
	unsigned		 failures;	/* in a row */
	int			 reported;	/* the child's result is in: it
						   is healing now */
	struct metrics		 metrics;	/* --metrics-addr, or off */
	char			 status[STATUS_MAX];	/* --status-file's
						   document being written */
};

/*
 * In the parent: returns 0 after SIGTERM/SIGINT (the child, if any, is
 * stopped first) or 2 when the loop cannot start. In a child: returns
 * the refresh's exit code, for main.c to exit with.
 */
int	run_main(struct run *r, const struct config *cfg,
	    const struct run_hooks *h);

#endif
