/* Unit tests for kube.c: the apply document and Status messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kube.h"
#include "log.h"

static void
test_body_exact(void **state)
{
	static const char	cfg[] = "{\"auths\":{}}";
	char			out[1024];
	size_t			len;
	struct err		e;

	(void)state;
	assert_int_equal(kube_body("bifrost", "ar-pull", cfg, sizeof(cfg) - 1,
	    1795971600LL, out, sizeof(out), &len, &e), 0);
	assert_string_equal(out, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
	    "\"metadata\":{\"name\":\"ar-pull\",\"namespace\":\"bifrost\","
	    "\"labels\":{\"app.kubernetes.io/managed-by\":\"regcred\"},"
	    "\"annotations\":{\"regcred/token-expiry\":"
	    "\"2026-11-29T17:00:00Z\"}},"
	    "\"type\":\"kubernetes.io/dockerconfigjson\","
	    "\"data\":{\".dockerconfigjson\":\"eyJhdXRocyI6e319\"}}");
	assert_int_equal(len, strlen(out));
}

static void
test_body_overflow(void **state)
{
	static const char	cfg[] = "{\"auths\":{}}";
	char			out[100];
	size_t			len;
	struct err		e;

	(void)state;
	assert_int_equal(kube_body("ns", "n", cfg, sizeof(cfg) - 1, 0, out,
	    sizeof(out), &len, &e), -1);
	assert_non_null(strstr(e.msg, "Secret apply document"));
}

static void
test_status_message(void **state)
{
	static const char	st[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
	    "\"metadata\":{},\"status\":\"Failure\",\"message\":\"secrets "
	    "\\\"ar-pull\\\" is forbidden: User \\\"system:serviceaccount:"
	    "bifrost:regcred\\\" cannot patch resource \\\"secrets\\\"\","
	    "\"reason\":\"Forbidden\",\"code\":403}";
	static const char	echo[] = "{\"kind\":\"Secret\",\"data\":"
	    "{\".dockerconfigjson\":\"c2VjcmV0\"}}";
	char			m[LOG_QUOTE_MAX + 8];

	(void)state;
	kube_error_message(st, sizeof(st) - 1, m, sizeof(m));
	assert_string_equal(m, "secrets \"ar-pull\" is forbidden: User "
	    "\"system:serviceaccount:bifrost:regcred\" cannot patch resource "
	    "\"secrets\"");
	kube_error_message(echo, sizeof(echo) - 1, m, sizeof(m));
	assert_string_equal(m, "(no Status message)");
	assert_null(strstr(m, "c2VjcmV0"));
	kube_error_message("upstream\nreset", 14, m, sizeof(m));
	assert_string_equal(m, "upstream reset");
	kube_error_message("", 0, m, sizeof(m));
	assert_string_equal(m, "(empty body)");
	kube_error_message("{\"message\":7}", 13, m, sizeof(m));
	assert_string_equal(m, "(no Status message)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_exact),
		cmocka_unit_test(test_body_overflow),
		cmocka_unit_test(test_status_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
