/*
 * sandbox.h -- the lockdown between regcred's phases: once every local
 * file is read and every host name resolved, the process gives up what
 * the network phase does not need: new privileges (PR_SET_NO_NEW_PRIVS),
 * every file-system right (a Landlock ruleset that grants none), and all
 * system calls but an allow-list (seccomp; anything else kills it).
 */
#ifndef REGCRED_SANDBOX_H
#define REGCRED_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct err;

enum sandbox_layer { SANDBOX_ON, SANDBOX_UNAVAILABLE };

/*
 * Applies all three; returns -1 when no-new-privs, Landlock or seccomp
 * is refused (e says why). A kernel without Landlock (before 5.13, or
 * not enabled) is not an error: *landlock says so and the caller logs
 * it. Nor is a system without seccomp(2) at all (ENOSYS: a kernel built
 * without it, or qemu-user, which refuses seccomp to its guests):
 * *seccomp says so and the caller logs it.
 */
int	sandbox_lock(enum sandbox_layer *landlock, enum sandbox_layer *seccomp,
	    struct err *e);

/* linux/filter.h's classic BPF instruction (musl has no kernel headers). */
struct sock_filter { uint16_t code; uint8_t jt, jf; uint32_t k; };

/* The audit architecture the filter requires (linux/audit.h). */
#if defined(__x86_64__)
#define SANDBOX_ARCH	0xc000003eU	/* AUDIT_ARCH_X86_64 */
#elif defined(__aarch64__)
#define SANDBOX_ARCH	0xc00000b7U	/* AUDIT_ARCH_AARCH64 */
#else
#error "sandbox.h: no seccomp architecture for this target"
#endif

/* The seccomp program sandbox_lock installs; returns its length. */
size_t	sandbox_filter(struct sock_filter f[SANDBOX_FILTER_MAX]);

#endif
