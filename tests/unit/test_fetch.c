/* Unit tests for fetch.c: retry policy, backoff bounds, descriptions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fetch.h"
#include "http.h"
#include "log.h"

static void
test_retryable_statuses(void **state)
{
	static const int	yes[] = { 408, 429, 500, 502, 503, 504, 599 };
	static const int	no[] = { 200, 201, 204, 301, 302, 400, 401, 403,
	    404, 409, 422 };
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(fetch_status_retryable(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(fetch_status_retryable(no[i]));
}

static void
test_backoff_bounds(void **state)
{
	int64_t		cap, d;
	unsigned	n;
	int		k;

	(void)state;
	for (n = 0; n < 12; n++) {
		cap = RETRY_BASE_MS << (n < 5 ? n : 5);
		if (cap > RETRY_CAP_MS)
			cap = RETRY_CAP_MS;
		for (k = 0; k < 200; k++) {
			d = fetch_backoff_ms(n, -1);
			assert_true(d >= cap / 2);
			assert_true(d <= cap);
		}
	}
}

static void
test_backoff_jitters(void **state)
{
	int64_t	first, d;
	int	k, differ = 0;

	(void)state;
	first = fetch_backoff_ms(4, -1);
	for (k = 0; k < 50 && !differ; k++) {
		d = fetch_backoff_ms(4, -1);
		differ = d != first;
	}
	assert_true(differ);
}

static void
test_backoff_honours_retry_after(void **state)
{
	(void)state;
	assert_int_equal(fetch_backoff_ms(0, 7), 7000);
	assert_true(fetch_backoff_ms(3, 0) >= RETRY_BASE_MS * 8 / 2);
	assert_int_equal(fetch_backoff_ms(0, 86400), 86400LL * 1000);
}

static void
test_describe(void **state)
{
	struct fetch_call	fc;
	struct url		u;
	struct err		e;
	char			d[256];

	(void)state;
	memset(&fc, 0, sizeof(fc));
	fc.method = "PATCH";
	fc.url = &u;
	assert_int_equal(url_parse("https://[::1]:6443/api/v1/x?y=1", &u, &e),
	    0);
	fetch_describe(&fc, d, sizeof(d));
	assert_string_equal(d, "PATCH https://[::1]:6443/api/v1/x?y=1");
	assert_int_equal(url_parse("https://sts.googleapis.com/v1/token", &u,
	    &e), 0);
	fc.method = "POST";
	fetch_describe(&fc, d, sizeof(d));
	assert_string_equal(d, "POST https://sts.googleapis.com/v1/token");
	fetch_describe(&fc, d, 12);
	assert_true(strlen(d) < 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retryable_statuses),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_backoff_jitters),
		cmocka_unit_test(test_backoff_honours_retry_after),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
