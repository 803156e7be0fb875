/* x509.c: what a server certificate is for, and whom it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "x509.h"
#include "x509_vectors.h"

#define CHECK(c, name)	x509_policy_check(c, sizeof(c), name)

static void
test_server_auth(void **state)
{
	(void)state;
	assert_int_equal(CHECK(x509_server, "kubernetes.default.svc"), 0);
	assert_int_equal(CHECK(x509_server, "KUBERNETES"), 0);
	assert_int_equal(CHECK(x509_both, "kubernetes.default.svc"), 0);
	assert_int_equal(CHECK(x509_any_eku, "kubernetes.default.svc"), 0);
	assert_int_equal(CHECK(x509_no_eku, "kubernetes.default.svc"), 0);
	/* issued for client authentication only: refused, whatever it names */
	assert_int_equal(CHECK(x509_client, "kubernetes.default.svc"),
	    X509_ERR_NOT_SERVER_AUTH);
}

static void
test_names(void **state)
{
	(void)state;
	/* no fallback to the subject CN */
	assert_int_equal(CHECK(x509_cn_only, "kubernetes.default.svc"),
	    X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_server, "kubernetes.default"),
	    X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_server, "kubernetes.default.svc."),
	    X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_wildcard, "sts.googleapis.com"), 0);
	assert_int_equal(CHECK(x509_wildcard, "login.microsoftonline.com"), 0);
	/* one label only, never the bare domain, never deeper */
	assert_int_equal(CHECK(x509_wildcard, "googleapis.com"),
	    X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_wildcard, "a.b.googleapis.com"),
	    X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_wildcard, ".googleapis.com"),
	    X509_ERR_NO_SAN_MATCH);
	/* an IP literal never matches a DNS name (nor an IP SAN: BearSSL's
	 * rule, kept) */
	assert_int_equal(CHECK(x509_server, "10.0.0.1"), X509_ERR_NO_SAN_MATCH);
	assert_int_equal(CHECK(x509_ip_only, "127.0.0.1"),
	    X509_ERR_NO_SAN_MATCH);
}

/* Every cut of a good certificate is refused, never read past its end. */
static void
test_truncated(void **state)
{
	size_t	n;

	(void)state;
	for (n = 0; n < sizeof(x509_server); n++)
		assert_int_not_equal(x509_policy_check(x509_server, n,
		    "kubernetes.default.svc"), 0);
}

static void
test_is_ip(void **state)
{
	(void)state;
	assert_true(x509_is_ip("127.0.0.1"));
	assert_true(x509_is_ip("::1"));
	assert_true(x509_is_ip("fd00:ec2::254"));
	assert_false(x509_is_ip("kubernetes.default.svc"));
	assert_false(x509_is_ip("1.2.3"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_auth),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_is_ip),
	};

	return cmocka_run_group_tests_name("x509", tests, NULL, NULL);
}
