/*
 * refresh.h -- one refresh (or `regcred token`): read every local input,
 * resolve every host, lock down, exchange the subject token, then apply
 * the Secret in every namespace over one kept-alive connection to the
 * API server and keep it in the named ServiceAccounts' imagePullSecrets.
 * Called by main.c (refresh, token) and by run.c in its child per
 * refresh. The lockdown is for the rest of the process's life.
 */
#ifndef REGCRED_REFRESH_H
#define REGCRED_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct config;

#define EXIT_USAGE	2
#define EXIT_IDENTITY	3
#define EXIT_KUBE	4

/* What a refresh did: plain data (run.c sends it over a pipe). */
struct refresh_result {
	int		code;		/* the exit code: 0, 2, 3, 4 */
	long long	expires_at;	/* the token's, Unix s; 0 if none */
	long long	lifetime_s;	/* its lifetime when issued */
	size_t		nns;
	char		ns[NAMESPACE_MAX][NAME_MAX_REGCRED + 1];
	char		ns_error[NAMESPACE_MAX][ERR_MSG_MAX];	/* "" ok */
	char		error[ERR_MSG_MAX];	/* the failure, "" ok */
};

/* Runs one refresh (cfg->cmd CMD_TOKEN: prints the token instead of
 * applying it), logging as it goes; returns the exit code, also in
 * res->code. Every secret is wiped before it returns. */
int	refresh_run(const struct config *cfg, struct refresh_result *res);
/*
 * refresh_run in two halves, for run's child: refresh_begin leaves the
 * token and the Secret's document in memory for refresh_heal, and
 * refresh_end wipes them.
 */
int	refresh_begin(const struct config *cfg, struct refresh_result *res);
void	refresh_end(void);
/*
 * After a refresh_begin that got a token: watches the Secret in every
 * namespace where it was applied and applies it again within moments of
 * its deletion or of a change by another writer, with the same token.
 * Reports on fd one byte per event: 'h' healed, 'w' a watch restarted,
 * 'r' a new refresh is needed (a Secret needs healing but the token has
 * less than HEAL_MIN_LEFT_S left; then returns 0). Otherwise runs until
 * the process is stopped.
 */
int	refresh_heal(const struct refresh_result *res, int fd);
/* The step running now and its exit code, for the watchdog. */
void	refresh_phase_get(const char **step, int *code);
/* Wipes every secret (async-signal-safe: for the watchdog). */
void	refresh_wipe_all(void);

#endif
