/*
 * sandbox.c -- self-confinement before the network phase.
 *
 * Owns: PR_SET_NO_NEW_PRIVS; a Landlock ruleset that handles every
 * file-system access right the kernel knows and grants none, so no path
 * can be opened, created or executed any more; a seccomp-bpf filter that
 * checks the audit architecture (and refuses the x32 ABI) and allows only
 * the system calls the network phase makes: sockets, poll, send and
 * receive, close, writes to stderr/stdout, clocks, sleep, getrandom and
 * exit. Anything else ends the process with SIGSYS. The filter is built
 * for the architecture compiled for (x86_64 or aarch64: audit arch and
 * system-call numbers both), and sandbox_filter hands it to tests.
 *
 * The kernel ABI constants are defined here (musl's headers carry no
 * kernel headers); they are stable uapi values, named as the kernel names
 * them in linux/seccomp.h, linux/filter.h, linux/audit.h and
 * linux/landlock.h.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* linux/filter.h (struct sock_filter is in sandbox.h) */
struct sock_fprog { unsigned short len; struct sock_filter *filter; };
#define BPF_LD_W_ABS	0x20	/* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K	0x15	/* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_JGE_K	0x35	/* BPF_JMP | BPF_JGE | BPF_K */
#define BPF_RET_K	0x06	/* BPF_RET | BPF_K */
#define STMT(c, k)	{ (c), 0, 0, (k) }
#define JUMP(c, k, t, f) { (c), (t), (f), (k) }

/* linux/seccomp.h: struct seccomp_data offsets, return values */
#define SECCOMP_SET_MODE_FILTER	1
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#define SECCOMP_RET_ALLOW	0x7fff0000U
#define DATA_NR			0
#define DATA_ARCH		4
#define DATA_ARG0_LO		16	/* args[0], low 32 bits (little endian) */

#if defined(__x86_64__)
#define X32_SYSCALL_BIT		0x40000000U
#endif

/* linux/landlock.h */
struct landlock_ruleset_attr { uint64_t handled_access_fs; };
#define LANDLOCK_CREATE_RULESET_VERSION	1U
#define LANDLOCK_FS_ABI1	((1ULL << 13) - 1)	/* EXECUTE..MAKE_SYM */
#define LANDLOCK_FS_REFER	(1ULL << 13)		/* ABI 2 */
#define LANDLOCK_FS_TRUNCATE	(1ULL << 14)		/* ABI 3 */
#define LANDLOCK_FS_IOCTL_DEV	(1ULL << 15)		/* ABI 5 */

/* What the network phase calls, after the last file was read. */
static const uint32_t sandbox_allowed[] = {
	SYS_socket, SYS_connect, SYS_setsockopt, SYS_getsockopt,
	SYS_sendto, SYS_recvfrom, SYS_close, SYS_ppoll,
	SYS_write, SYS_writev, SYS_clock_gettime, SYS_clock_nanosleep,
	SYS_getrandom, SYS_rt_sigreturn, SYS_exit, SYS_exit_group,
	SYS_setitimer,	/* alarm(0): a run child disarms its watchdog */
#ifdef SYS_alarm
	SYS_alarm,	/* (glibc's alarm) */
#endif
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_nanosleep
	SYS_nanosleep,
#endif
#ifdef SYS_gettimeofday
	SYS_gettimeofday,
#endif
#if defined(__SANITIZE_ADDRESS__)
	/* the ASan test build: its runtime maps memory and reports */
	SYS_mmap, SYS_munmap, SYS_madvise, SYS_mprotect, SYS_mremap,
	SYS_futex, SYS_sched_yield, SYS_getpid, SYS_gettid, SYS_tgkill,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_prctl,
	SYS_openat, SYS_read, SYS_readlinkat, SYS_fstat, SYS_lseek,
#ifdef SYS_readlink
	SYS_readlink,
#endif
#endif
};

#define NALLOWED	(sizeof(sandbox_allowed) / sizeof(sandbox_allowed[0]))


/* arch check, x32 check, socket() domain check, the allow-list */
#define FILTER_LEN	(NALLOWED + 16)
_Static_assert(FILTER_LEN <= SANDBOX_FILTER_MAX, "SANDBOX_FILTER_MAX too small");

size_t
sandbox_filter(struct sock_filter f[SANDBOX_FILTER_MAX])
{
	size_t	i = 0, k;

	f[i++] = (struct sock_filter)STMT(BPF_LD_W_ABS, DATA_ARCH);
	f[i++] = (struct sock_filter)JUMP(BPF_JEQ_K, SANDBOX_ARCH, 1, 0);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)STMT(BPF_LD_W_ABS, DATA_NR);
#ifdef X32_SYSCALL_BIT
	f[i++] = (struct sock_filter)JUMP(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
#endif
	/* socket(): IPv4 and IPv6 only (no AF_UNIX, AF_NETLINK...) */
	f[i++] = (struct sock_filter)JUMP(BPF_JEQ_K, SYS_socket, 0, 5);
	f[i++] = (struct sock_filter)STMT(BPF_LD_W_ABS, DATA_ARG0_LO);
	f[i++] = (struct sock_filter)JUMP(BPF_JEQ_K, AF_INET, 2, 0);
	f[i++] = (struct sock_filter)JUMP(BPF_JEQ_K, AF_INET6, 1, 0);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_ALLOW);
	for (k = 0; k < NALLOWED; k++)
		f[i++] = (struct sock_filter)JUMP(BPF_JEQ_K,
		    sandbox_allowed[k], (uint8_t)(NALLOWED - k), 0);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)STMT(BPF_RET_K, SECCOMP_RET_ALLOW);
	return i;
}

/* Every right of the kernel's Landlock ABI, granted to nothing. */
static int
sandbox_landlock(enum sandbox_layer *ll, struct err *e)
{
	struct landlock_ruleset_attr	attr;
	long				abi;
	int				fd;

	*ll = SANDBOX_UNAVAILABLE;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;	/* ENOSYS or EOPNOTSUPP: not in this kernel */
	attr.handled_access_fs = LANDLOCK_FS_ABI1 |
	    (abi >= 2 ? LANDLOCK_FS_REFER : 0) |
	    (abi >= 3 ? LANDLOCK_FS_TRUNCATE : 0) |
	    (abi >= 5 ? LANDLOCK_FS_IOCTL_DEV : 0);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return err_set(e, "landlock_create_ruleset: %s",
		    strerror(errno));
	if (syscall(SYS_landlock_restrict_self, fd, 0) != 0) {
		err_set(e, "landlock_restrict_self: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*ll = SANDBOX_ON;
	return 0;
}

/*
 * The allow-list. ENOSYS means no seccomp(2) at all: a kernel built
 * without it, or an emulator (qemu-user answers ENOSYS to seccomp(2) and
 * EINVAL to PR_SET_SECCOMP, so that a guest cannot filter the calls qemu
 * itself makes); *sc says so and the caller logs it. Any other refusal
 * is an error.
 */
static int
sandbox_seccomp(enum sandbox_layer *sc, struct err *e)
{
	struct sock_filter	f[SANDBOX_FILTER_MAX];
	struct sock_fprog	prog;

	prog.len = (unsigned short)sandbox_filter(f);
	prog.filter = f;
	*sc = SANDBOX_UNAVAILABLE;
#ifdef REGCRED_CALLGRIND
	/* bench twin only (out/regcred-callgrind, never shipped): valgrind
	 * 3.19 cannot run seccomp(2); the filter is not installed */
	return 0;
#endif
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		if (errno == ENOSYS)
			return 0;
		return err_set(e, "lockdown: seccomp: %s", strerror(errno));
	}
	*sc = SANDBOX_ON;
	return 0;
}

int
sandbox_lock(enum sandbox_layer *landlock, enum sandbox_layer *seccomp,
    struct err *e)
{
	*seccomp = SANDBOX_UNAVAILABLE;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return err_set(e, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
	if (sandbox_landlock(landlock, e) != 0)
		return err_prefix(e, "lockdown");
#ifdef REGCRED_LOCKTEST
	{
		const char *t = getenv("REGCRED_LOCKTEST");

		if (t != NULL && strcmp(t, "landlock") == 0)
			return 0;	/* Landlock alone, for its test */
	}
#endif
	return sandbox_seccomp(seccomp, e);
}
