/*
 * Unit tests for sandbox.c: the seccomp program sandbox_lock installs,
 * run through a classic-BPF interpreter here, for the architecture the
 * test is built for. The arm64 build of this test (run under qemu-user,
 * which cannot enforce seccomp itself) is what shows the aarch64 filter
 * checks AUDIT_ARCH_AARCH64 and uses aarch64's system-call numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "sandbox.h"

#define RET_KILL	0x80000000U	/* SECCOMP_RET_KILL_PROCESS */
#define RET_ALLOW	0x7fff0000U	/* SECCOMP_RET_ALLOW */
#define ARCH_I386	0x40000003U	/* AUDIT_ARCH_I386 */
#define ARCH_X86_64	0xc000003eU
#define ARCH_AARCH64	0xc00000b7U

/* Runs the filter on struct seccomp_data {nr, arch, ip, args[6]}. */
static uint32_t
bpf_run(uint32_t nr, uint32_t arch, uint64_t arg0)
{
	struct sock_filter	f[SANDBOX_FILTER_MAX];
	uint32_t		data[16] = { 0 }, acc = 0;
	size_t			n, pc = 0, steps;

	n = sandbox_filter(f);
	assert_true(n > 0 && n <= SANDBOX_FILTER_MAX);
	data[0] = nr;
	data[1] = arch;
	data[4] = (uint32_t)arg0;		/* little endian: low word */
	data[5] = (uint32_t)(arg0 >> 32);
	for (steps = 0; steps < n; steps++) {
		assert_true(pc < n);
		switch (f[pc].code) {
		case 0x20:	/* BPF_LD | BPF_W | BPF_ABS */
			assert_true(f[pc].k % 4 == 0 && f[pc].k < sizeof(data));
			acc = data[f[pc].k / 4];
			pc++;
			break;
		case 0x15:	/* BPF_JMP | BPF_JEQ | BPF_K */
			pc += 1 + (acc == f[pc].k ? f[pc].jt : f[pc].jf);
			break;
		case 0x35:	/* BPF_JMP | BPF_JGE | BPF_K */
			pc += 1 + (acc >= f[pc].k ? f[pc].jt : f[pc].jf);
			break;
		case 0x06:	/* BPF_RET | BPF_K */
			return f[pc].k;
		default:
			fail_msg("unexpected BPF opcode %#x at %zu", f[pc].code, pc);
		}
	}
	fail_msg("the filter did not return");
	return 0;
}

static void
test_arch_is_this_build(void **state)
{
	(void)state;
#if defined(__x86_64__)
	assert_int_equal(SANDBOX_ARCH, ARCH_X86_64);
	assert_int_equal(SYS_write, 1);			/* x86_64 numbers */
	assert_int_equal(bpf_run(SYS_write, ARCH_AARCH64, 0), RET_KILL);
#elif defined(__aarch64__)
	assert_int_equal(SANDBOX_ARCH, ARCH_AARCH64);
	assert_int_equal(SYS_write, 64);		/* asm-generic numbers */
	assert_int_equal(SYS_ppoll, 73);
	assert_int_equal(bpf_run(SYS_write, ARCH_X86_64, 0), RET_KILL);
#endif
	assert_int_equal(bpf_run(SYS_write, SANDBOX_ARCH, 0), RET_ALLOW);
	assert_int_equal(bpf_run(SYS_write, ARCH_I386, 0), RET_KILL);
}

static void
test_network_phase_calls_allowed(void **state)
{
	static const uint32_t ok[] = {
		SYS_connect, SYS_sendto, SYS_recvfrom, SYS_ppoll, SYS_close,
		SYS_writev, SYS_clock_gettime, SYS_getrandom, SYS_exit_group,
		SYS_setitimer,
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(bpf_run(ok[i], SANDBOX_ARCH, 0), RET_ALLOW);
	assert_int_equal(bpf_run(SYS_socket, SANDBOX_ARCH, AF_INET), RET_ALLOW);
	assert_int_equal(bpf_run(SYS_socket, SANDBOX_ARCH, AF_INET6), RET_ALLOW);
}

static void
test_everything_else_killed(void **state)
{
	static const uint32_t bad[] = {
		SYS_execve, SYS_ptrace, SYS_unlinkat, SYS_bind, SYS_listen,
		SYS_clone, SYS_kill, SYS_setuid, SYS_mount, SYS_seccomp,
#ifndef __SANITIZE_ADDRESS__	/* the ASan build's runtime needs these */
		SYS_openat, SYS_mmap, SYS_read,
#endif
#ifdef SYS_open
		SYS_open,
#endif
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bpf_run(bad[i], SANDBOX_ARCH, 0), RET_KILL);
	assert_int_equal(bpf_run(SYS_socket, SANDBOX_ARCH, AF_UNIX), RET_KILL);
	assert_int_equal(bpf_run(SYS_socket, SANDBOX_ARCH, AF_NETLINK), RET_KILL);
	assert_int_equal(bpf_run(SYS_socket, SANDBOX_ARCH,
	    ((uint64_t)1 << 32) | AF_UNIX), RET_KILL);
	assert_int_equal(bpf_run(9999, SANDBOX_ARCH, 0), RET_KILL);
#if defined(__x86_64__)
	/* the x32 ABI: the same numbers with bit 30 set */
	assert_int_equal(bpf_run(0x40000000U | SYS_write, SANDBOX_ARCH, 0),
	    RET_KILL);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arch_is_this_build),
		cmocka_unit_test(test_network_phase_calls_allowed),
		cmocka_unit_test(test_everything_else_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
