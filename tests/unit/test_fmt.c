/* Unit tests for fmt.c: fmt_print against the C library's snprintf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fmt.h"

#define SENTINEL	'#'
#define BUF		96

/*
 * Formats with fmt_print and with snprintf into buffers of every size
 * from 0 to BUF, checks the return value, the bytes and that nothing past
 * cap was written.
 */
static void
fmt_same(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fmt_same(const char *fmt, ...)
{
	char	got[BUF + 8], want[BUF + 8];
	va_list	ap, aq;
	size_t	cap;
	int	n, m;

	va_start(ap, fmt);
	for (cap = 0; cap <= BUF; cap++) {
		memset(got, SENTINEL, sizeof(got));
		memset(want, SENTINEL, sizeof(want));
		va_copy(aq, ap);
		n = fmt_vprint(got, cap, fmt, aq);
		va_end(aq);
		va_copy(aq, ap);
		m = vsnprintf(want, cap, fmt, aq);
		va_end(aq);
		assert_int_equal(n, m);
		assert_memory_equal(got, want, sizeof(got));
	}
	va_end(ap);
}

static void
test_strings(void **state)
{
	(void)state;
	fmt_same("plain text, no conversion");
	fmt_same("%s", "");
	fmt_same("%s", "");
	fmt_same("%s=%s;", "key", "value");
	fmt_same("[%.*s]", 3, "abcdef");
	fmt_same("[%.*s]", 0, "abcdef");
	fmt_same("[%.*s]", 10, "abc");
	fmt_same("[%.*s]", -1, "negative precision reads it all");
	fmt_same("got \"%.64s\"", "a long argument that is longer than sixty "
	    "four bytes, so the precision cuts it short somewhere");
	fmt_same("%c%c%c", 'a', ':', 'z');
	fmt_same("100%% sure, %s%%", "50");
}

static void
test_numbers(void **state)
{
	(void)state;
	fmt_same("%d %d %d", 0, -1, 42);
	fmt_same("%d %d", INT_MAX, INT_MIN);
	fmt_same("%u %u", 0U, UINT_MAX);
	fmt_same("%lld %lld %lld", 0LL, LLONG_MAX, LLONG_MIN);
	fmt_same("%llds", -3600LL);
	fmt_same("%llu", ULLONG_MAX);
	fmt_same("%zu %zu", (size_t)0, SIZE_MAX);
	fmt_same("%04d-%02d-%02dT%02d:%02d:%02dZ", 2026, 1, 9, 0, 5, 59);
	fmt_same("%04d|%02d|%02d", 12345, 123, -5);
	fmt_same("%02d|%04d", -7, -42);
	fmt_same("%5d|%3u|%8s|", -12, 7U, "pad");
	fmt_same("%020llu", ULLONG_MAX);
}

static void
test_unsupported_refused(void **state)
{
	char		 b[32];
	const char	*volatile null = NULL;

	(void)state;
	memset(b, SENTINEL, sizeof(b));
	assert_int_equal(fmt_print(b, sizeof(b), "%x", 255U), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%f", 1.5), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%p", (void *)b), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%ld", 1L), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%zd", (ssize_t)1), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%.3d", 1), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%ls", L"w"), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "ok %s", null), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%01001d", 1), -1);
	assert_int_equal(fmt_print(b, sizeof(b), "%.2147483648s", "a"), -1);
	/* still a string: what came before the bad conversion */
	assert_int_equal(fmt_print(b, sizeof(b), "ab%x", 1U), -1);
	assert_string_equal(b, "ab");
}

static void
test_refused_trailing_percent(void **state)
{
	char		 b[8];
	const char	*f = "50%", *g = "%d%";	/* not literals: the
						   compiler would refuse them */

	(void)state;
	assert_int_equal(fmt_print(b, sizeof(b), f), -1);
	assert_int_equal(fmt_print(b, sizeof(b), g, 1), -1);
}

static void
test_cap_zero_writes_nothing(void **state)
{
	char	b[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };

	(void)state;
	assert_int_equal(fmt_print(b, 0, "%s", "abc"), 3);
	assert_int_equal(b[0], SENTINEL);
	assert_int_equal(fmt_print(NULL, 0, "%d", 12345), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_unsupported_refused),
		cmocka_unit_test(test_refused_trailing_percent),
		cmocka_unit_test(test_cap_zero_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
