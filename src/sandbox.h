/*
 * sandbox.h -- the lockdown between regcred's phases: once every local
 * file is read and every host name resolved, the process gives up what
 * the network phase does not need: new privileges (PR_SET_NO_NEW_PRIVS),
 * every file-system right (a Landlock ruleset that grants none), and all
 * system calls but an allow-list (seccomp; anything else kills it).
 */
#ifndef REGCRED_SANDBOX_H
#define REGCRED_SANDBOX_H

struct err;

enum sandbox_landlock { SANDBOX_LANDLOCK_ON, SANDBOX_LANDLOCK_UNAVAILABLE };

/*
 * Applies all three; returns -1 when no-new-privs or seccomp cannot be
 * applied (e says why). A kernel without Landlock (before 5.13, or not
 * enabled) is not an error: *landlock says so and the caller logs it.
 */
int	sandbox_lock(enum sandbox_landlock *landlock, struct err *e);

#endif
