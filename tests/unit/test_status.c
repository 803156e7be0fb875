/*
 * test_status.c -- unit tests of status.c: the status file's exact JSON,
 * its atomic replacement (temporary, rename, O_NOFOLLOW), a full
 * NAMESPACE_MAX file at its worst-case size parsed back, and every
 * verdict of status_check with its one-line reason, on good and on
 * malformed files.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "file.h"
#include "log.h"
#include "state.h"
#include "status.h"

#define NOW	1800000000LL

static struct state	st;
static char		buf[STATUS_MAX];
static char		rbuf[STATUS_MAX + 1];
static char		dir[64];
static struct err	err;

static void
state_two(void)
{
	memset(&st, 0, sizeof(st));
	strcpy(st.secret, "ar-pull");
	st.last_attempt = NOW - 10;
	st.last_success = NOW - 10;
	st.expiry = NOW + 3000;
	st.refresh_ok = 7;
	st.refresh_failed = 2;
	st.watch_restarts = 1;
	st.nns = 2;
	strcpy(st.ns[0].name, "team-a");
	st.ns[0].last_success = NOW - 10;
	st.ns[0].expiry = NOW + 3000;
	strcpy(st.ns[1].name, "team-b");
	st.ns[1].last_success = NOW - 10;
	st.ns[1].expiry = NOW + 3000;
}

static int
check(const char *doc, int64_t max_age, char *reason, size_t cap)
{
	return status_check(doc, strlen(doc), NOW, max_age, reason, cap);
}

/* Formats st and judges it. */
static int
check_st(char *reason, size_t cap)
{
	size_t	len;

	assert_int_equal(status_format(&st, buf, sizeof(buf), &len, &err), 0);
	return status_check(buf, len, NOW, 3600, reason, cap);
}

static void
test_format_exact(void **state)
{
	size_t	len;

	(void)state;
	state_two();
	strcpy(st.ns[1].last_error, "kube: 403 \"forbidden\"\n");
	assert_int_equal(status_format(&st, buf, sizeof(buf), &len, &err), 0);
	assert_string_equal(buf, "{\"secret\":\"ar-pull\",\"last_attempt\":"
	    "1799999990,\"last_success\":1799999990,\"expiry\":1800003000,"
	    "\"last_error\":\"\",\"refresh_ok\":7,\"refresh_failed\":2,"
	    "\"watch_restarts\":1,\"namespaces\":[{\"name\":\"team-a\","
	    "\"last_success\":1799999990,\"expiry\":1800003000,\"last_error\":"
	    "\"\"},{\"name\":\"team-b\",\"last_success\":1799999990,"
	    "\"expiry\":1800003000,\"last_error\":\"kube: 403 \\\"forbidden"
	    "\\\"\\n\"}]}\n");
	assert_int_equal(len, strlen(buf));
}

static void
test_format_limits(void **state)
{
	size_t	len;

	(void)state;
	state_two();
	st.nns = NAMESPACE_MAX + 1;
	assert_int_equal(status_format(&st, buf, sizeof(buf), &len, &err), -1);
	assert_non_null(strstr(err.msg, "NAMESPACE_MAX"));
	state_two();
	assert_int_equal(status_format(&st, buf, 100, &len, &err), -1);
	assert_non_null(strstr(err.msg, "STATUS_MAX"));
	assert_int_equal(status_format(&st, buf, 1, &len, &err), -1);
}

/* Every string at its longest and worst to escape. */
static void
state_worst(void)
{
	size_t	i;

	memset(&st, 0, sizeof(st));
	memset(st.secret, 0x01, NAME_MAX_REGCRED);
	memset(st.last_error, 0xff, ERR_MSG_MAX - 1);
	st.last_attempt = st.last_success = NOW - 1;
	st.expiry = NOW + 3000;
	st.refresh_ok = st.refresh_failed = st.watch_restarts = ~0ULL;
	st.nns = NAMESPACE_MAX;
	for (i = 0; i < NAMESPACE_MAX; i++) {
		memset(st.ns[i].name, 0x1f, NAME_MAX_REGCRED);
		memset(st.ns[i].last_error, 0xfe, ERR_MSG_MAX - 1);
		st.ns[i].last_success = NOW - 1;
		st.ns[i].expiry = 253402300799LL;
	}
}

static void
test_full_worst_case(void **state)
{
	char	reason[LOG_LINE_MAX];
	size_t	len;

	(void)state;
	state_worst();
	assert_int_equal(status_format(&st, buf, sizeof(buf), &len, &err), 0);
	assert_true(len > (size_t)NAMESPACE_MAX * 6 * ERR_MSG_MAX);
	assert_true(len < sizeof(buf));
	/* it parses back: NAMESPACE_MAX entries within JSON_TOKENS_MAX */
	assert_int_equal(status_check(buf, len, NOW, 3600, reason,
	    sizeof(reason)), 0);
	assert_non_null(strstr(reason, "128 namespaces"));
}

static void
test_full_realistic(void **state)
{
	char	reason[LOG_LINE_MAX];
	size_t	i, len;

	(void)state;
	state_two();
	st.nns = NAMESPACE_MAX;
	for (i = 0; i < NAMESPACE_MAX; i++) {
		snprintf(st.ns[i].name, sizeof(st.ns[i].name), "ns-%zu", i);
		st.ns[i].expiry = NOW + 3000 + (long long)i;
	}
	st.ns[77].expiry = NOW + 700;
	assert_int_equal(status_format(&st, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(status_check(buf, len, NOW, 3600, reason,
	    sizeof(reason)), 0);
	assert_string_equal(reason, "ok: last success 10 s ago; 128 "
	    "namespaces, the soonest token expires in 700 s");
	st.ns[127].expiry = NOW + 600;
	assert_int_equal(check_st(reason, sizeof(reason)), 1);
	assert_string_equal(reason, "namespace ns-127: token expires in 600 s "
	    "(needs > 600)");
}

static void
test_verdicts(void **state)
{
	char	r[LOG_LINE_MAX];

	(void)state;
	state_two();
	assert_int_equal(check_st(r, sizeof(r)), 0);
	assert_string_equal(r, "ok: last success 10 s ago; 2 namespaces, the "
	    "soonest token expires in 3000 s");
	st.last_success = 0;
	strcpy(st.last_error, "sts: 400 invalid_grant");
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "no successful refresh yet; last error: sts: "
	    "400 invalid_grant");
	st.last_error[0] = '\0';
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "no successful refresh yet");
	st.last_success = NOW - 4000;
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "last success 4000 s ago (--max-age 3600)");
	st.last_success = NOW - 3600;
	assert_int_equal(check_st(r, sizeof(r)), 0);
	st.ns[1].expiry = NOW + 300;
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "namespace team-b: token expires in 300 s "
	    "(needs > 600)");
	st.ns[1].expiry = NOW + 601;
	assert_int_equal(check_st(r, sizeof(r)), 0);
	st.ns[1].expiry = NOW - 30;
	strcpy(st.ns[1].last_error, "kube: 403 Forbidden");
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "namespace team-b: token expired 30 s ago; "
	    "last error: kube: 403 Forbidden");
	st.ns[1].expiry = 0;
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_string_equal(r, "namespace team-b: no Secret applied yet; last "
	    "error: kube: 403 Forbidden");
	/* a last error alone (the token still good) is healthy */
	st.ns[1].expiry = NOW + 3000;
	assert_int_equal(check_st(r, sizeof(r)), 0);
	/* a clock behind the file's: age negative, still recent */
	st.last_success = NOW + 50;
	assert_int_equal(check_st(r, sizeof(r)), 0);
}

/* Quoted errors: one line, cut at LOG_QUOTE_MAX, tokens redacted. */
static void
test_reason_one_line(void **state)
{
	char	r[LOG_LINE_MAX], small[16];
	size_t	i;

	(void)state;
	state_two();
	st.last_success = 0;
	strcpy(st.last_error, "line one\nline two\r\x01 ya29.a0AfH6SMBxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_int_equal(check_st(r, sizeof(r)), 1);
	for (i = 0; r[i] != '\0'; i++)
		assert_true((unsigned char)r[i] >= 0x20 && r[i] != 0x7f);
	assert_null(strstr(r, "ya29."));
	assert_non_null(strstr(r, "line one line two"));
	memset(st.last_error, 'x', ERR_MSG_MAX - 1);
	assert_int_equal(check_st(r, sizeof(r)), 1);
	assert_true(strlen(r) < 60 + LOG_QUOTE_MAX);
	assert_string_equal(r + strlen(r) - 3, "...");
	assert_int_equal(check_st(small, sizeof(small)), 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(check_st(NULL, 0), 1);
}

static const char *const MALFORMED[] = {
	"",
	"not json",
	"[]",
	"{\"last_success\":1}",					/* no namespaces */
	"{\"last_success\":1,\"expiry\":1,\"namespaces\":{}}",
	"{\"last_success\":1,\"expiry\":1,\"namespaces\":[]}",
	"{\"last_success\":\"1\",\"expiry\":1,\"namespaces\":[]}",
	"{\"last_success\":-1,\"expiry\":1,\"namespaces\":[]}",
	"{\"last_success\":1.5,\"expiry\":1,\"namespaces\":[]}",
	"{\"last_success\":1,\"last_success\":2,\"expiry\":1,"
	    "\"namespaces\":[]}",
	"{\"last_success\":1799999990,\"expiry\":1,\"namespaces\":[1]}",
	"{\"last_success\":1799999990,\"expiry\":1,\"namespaces\":"
	    "[{\"name\":\"a\",\"last_success\":1}]}",		/* no expiry */
	"{\"last_success\":1799999990,\"expiry\":1,\"namespaces\":"
	    "[{\"last_success\":1,\"expiry\":1800003000}]}",	/* no name */
	"{\"last_success\":1799999990,\"expiry\":1,\"namespaces\":"
	    "[{\"name\":7,\"last_success\":1,\"expiry\":1800003000}]}",
	"{\"last_success\":1799999990,\"expiry\":1,\"last_error\":5,"
	    "\"namespaces\":[{\"name\":\"a\",\"last_success\":1,"
	    "\"expiry\":1800003000}]}",
	"{\"last_success\":1799999990,\"expiry\":1,\"namespaces\":"
	    "[{\"name\":\"a\",\"last_success\":1,\"expiry\":1800003000}],}",
	"{\"last_success\":99999999999999,\"expiry\":1,\"namespaces\":"
	    "[{\"name\":\"a\",\"last_success\":1,\"expiry\":1800003000}]}",
};

static void
test_malformed(void **state)
{
	char	r[LOG_LINE_MAX];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(MALFORMED) / sizeof(MALFORMED[0]); i++) {
		r[0] = '\0';
		assert_int_equal(check(MALFORMED[i], 3600, r, sizeof(r)), 1);
		assert_true(strncmp(r, "status file", 11) == 0);
	}
	/* the minimal healthy file, for contrast: unknown keys ignored */
	assert_int_equal(check("{\"last_success\":1799999990,\"expiry\":1,"
	    "\"future\":[1,{}],\"namespaces\":[{\"name\":\"a\","
	    "\"last_success\":1,\"expiry\":1800003000}]}", 3600, r, sizeof(r)),
	    0);
	assert_int_equal(check("{\"last_success\":1799999990,\"expiry\":1,"
	    "\"namespaces\":[{\"name\":\"a\",\"last_success\":1,"
	    "\"expiry\":1800003000}]}", 5, r, sizeof(r)), 1);
	assert_string_equal(r, "last success 10 s ago (--max-age 5)");
}

static void
path_in(char *dst, size_t cap, const char *name)
{
	snprintf(dst, cap, "%s/%s", dir, name);
}

static void
test_write_atomic(void **state)
{
	char		p[128], tmp[128];
	struct stat	sb;
	size_t		len;
	char		r[LOG_LINE_MAX];

	(void)state;
	state_two();
	path_in(p, sizeof(p), "status.json");
	path_in(tmp, sizeof(tmp), "status.json.tmp");
	assert_int_equal(status_write(&st, p, buf, sizeof(buf), &err), 0);
	assert_int_equal(stat(tmp, &sb), -1);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644 & ~022);
	assert_int_equal(file_read(p, rbuf, sizeof(rbuf), &len, "t", &err), 0);
	assert_int_equal(status_check(rbuf, len, NOW, 3600, r, sizeof(r)), 0);
	/* a second write replaces it (a new inode: renamed over) */
	st.ns[0].expiry = NOW + 100;
	assert_int_equal(status_write(&st, p, buf, sizeof(buf), &err), 0);
	assert_int_equal(file_read(p, rbuf, sizeof(rbuf), &len, "t", &err), 0);
	assert_int_equal(status_check(rbuf, len, NOW, 3600, r, sizeof(r)), 1);
	assert_string_equal(r, "namespace team-a: token expires in 100 s "
	    "(needs > 600)");
	unlink(p);
}

static void
test_write_refusals(void **state)
{
	char		p[128], tmp[128], lng[PATH_MAX_REGCRED + 8];
	struct stat	sb;

	(void)state;
	state_two();
	path_in(p, sizeof(p), "s.json");
	path_in(tmp, sizeof(tmp), "s.json.tmp");
	/* PATH.tmp a symlink: refused (O_NOFOLLOW), its target untouched */
	assert_int_equal(symlink("/etc/passwd-never-written", tmp), 0);
	assert_int_equal(status_write(&st, p, buf, sizeof(buf), &err), -1);
	assert_non_null(strstr(err.msg, "s.json.tmp"));
	assert_int_equal(lstat("/etc/passwd-never-written", &sb), -1);
	assert_int_equal(stat(p, &sb), -1);
	unlink(tmp);
	/* no such folder */
	path_in(p, sizeof(p), "nope/s.json");
	assert_int_equal(status_write(&st, p, buf, sizeof(buf), &err), -1);
	/* rename over a folder fails: the temporary is removed */
	path_in(p, sizeof(p), "adir");
	assert_int_equal(mkdir(p, 0755), 0);
	path_in(tmp, sizeof(tmp), "adir/x");
	assert_int_equal(mkdir(tmp, 0755), 0);
	assert_int_equal(status_write(&st, p, buf, sizeof(buf), &err), -1);
	assert_non_null(strstr(err.msg, "rename"));
	path_in(tmp, sizeof(tmp), "adir.tmp");
	assert_int_equal(lstat(tmp, &sb), -1);
	path_in(tmp, sizeof(tmp), "adir/x");
	rmdir(tmp);
	rmdir(p);
	/* too long */
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(status_write(&st, lng, buf, sizeof(buf), &err), -1);
	assert_non_null(strstr(err.msg, "PATH_MAX_REGCRED"));
}

static int
setup(void **state)
{
	(void)state;
	umask(022);
	snprintf(dir, sizeof(dir), "/tmp/regcred-test-status.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_full_worst_case),
		cmocka_unit_test(test_full_realistic),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_reason_one_line),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
