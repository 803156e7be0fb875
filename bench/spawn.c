/*
 * bench/spawn.c -- run one command and report its resource usage, from a
 * process small enough not to distort it.
 *
 *   spawn RESULT_FILE STDOUT_FILE STDERR_FILE -- argv...
 *
 * Writes one line to RESULT_FILE:
 *   wall_ns user_us sys_us maxrss_kib exit_code
 * from clock_gettime(CLOCK_MONOTONIC) around fork..wait4 and wait4's
 * rusage (the child and every descendant it waited for).
 *
 * Why a separate static program: Linux keeps the high-water RSS of the
 * address space a process had before execve() in its ru_maxrss. A child
 * spawned by Python inherits Python's ~10 MB that way, so a measured
 * ru_maxrss could never go below it. This helper is a static musl binary
 * of a few pages; a child fork()ed from it starts with that tiny footprint.
 * Benchmark tooling, not part of regcred.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int redirect(int fd, const char *path, int flags)
{
	int f = open(path, flags, 0644);

	if (f < 0 || dup2(f, fd) < 0)
		return -1;
	return close(f);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0, t1;
	int status, code;
	pid_t pid;
	FILE *out;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: spawn RESULT STDOUT STDERR -- argv...\n");
		return 2;
	}
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		if (redirect(0, "/dev/null", O_RDONLY) < 0 ||
		    redirect(1, argv[2], O_WRONLY | O_CREAT | O_TRUNC) < 0 ||
		    redirect(2, argv[3], O_WRONLY | O_CREAT | O_TRUNC) < 0)
			_exit(126);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return 1;
	t1 = now_ns();
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "w");
	if (out == NULL)
		return 1;
	fprintf(out, "%lld %lld %lld %ld %d\n", t1 - t0,
	    (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	    (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
	    ru.ru_maxrss, code);
	return fclose(out) == 0 ? 0 : 1;
}
