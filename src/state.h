/*
 * state.h -- what a long-running `regcred run` knows about its refreshes:
 * the record status.c writes to the status file and serves as metrics.
 * Filled in by run.c after every attempt; plain data, no secrets.
 */
#ifndef REGCRED_STATE_H
#define REGCRED_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

/* One namespace's Secret. Times are Unix seconds; 0 = never/unknown. */
struct state_ns {
	char		name[NAME_MAX_REGCRED + 1];
	int64_t		last_success;	/* last apply that succeeded */
	int64_t		expiry;		/* token expiry in the applied Secret */
	char		last_error[ERR_MSG_MAX];	/* "" after a success */
};

struct state {
	char		secret[NAME_MAX_REGCRED + 1];
	int64_t		last_attempt;
	int64_t		last_success;	/* every namespace applied */
	int64_t		expiry;		/* the current token's expiry */
	char		last_error[ERR_MSG_MAX];	/* "" after a success */
	uint64_t	refresh_ok;	/* regcred_refresh_total{result="ok"} */
	uint64_t	refresh_failed;	/* ...{result="error"} */
	uint64_t	watch_restarts;
	size_t		nns;
	struct state_ns	ns[NAMESPACE_MAX];
};

#endif
