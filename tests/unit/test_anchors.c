/* Unit tests for anchors.c: embedded roots and PEM bundles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "anchors.h"
#include "file.h"
#include "config.h"
#include "log.h"

#define MOZ "/usr/share/ca-certificates/mozilla/"

static struct anchors	A;
static char		pem[CA_FILE_MAX];
static char		two[CA_FILE_MAX];

static size_t
load(const char *path, char *buf, size_t cap)
{
	struct err	e;
	size_t		len;

	assert_int_equal(file_read(path, buf, cap, &len, "pem", &e), 0);
	return len;
}

static void
test_embedded(void **state)
{
	struct err	e;

	(void)state;
	anchors_init(&A);
	assert_int_equal(anchors_add_embedded(&A, &e), 0);
	assert_int_equal(A.n, anchors_embedded_num);
	assert_true(A.n >= 9);
	assert_int_equal(A.ta[0].flags & BR_X509_TA_CA, BR_X509_TA_CA);
}

static void
test_pem_rsa_and_ec(void **state)
{
	struct err	e;
	size_t		n1, n2;

	(void)state;
	anchors_init(&A);
	n1 = load(MOZ "GTS_Root_R1.crt", pem, sizeof(pem));
	assert_int_equal(anchors_add_pem(&A, pem, n1, "r1", &e), 0);
	assert_int_equal(A.n, 1);
	assert_int_equal(A.ta[0].pkey.key_type, BR_KEYTYPE_RSA);
	assert_int_equal(A.ta[0].pkey.key.rsa.nlen, 512);	/* RSA-4096 */
	assert_memory_equal(A.ta[0].dn.data, anchors_embedded[0].dn.data,
	    anchors_embedded[0].dn.len);
	n2 = load(MOZ "GTS_Root_R4.crt", two, sizeof(two));
	assert_int_equal(anchors_add_pem(&A, two, n2, "r4", &e), 0);
	assert_int_equal(A.n, 2);
	assert_int_equal(A.ta[1].pkey.key_type, BR_KEYTYPE_EC);
	assert_int_equal(A.ta[1].pkey.key.ec.curve, BR_EC_secp384r1);
}

static void
test_pem_without_final_newline(void **state)
{
	struct err	e;
	size_t		n;

	(void)state;
	anchors_init(&A);
	n = load(MOZ "GTS_Root_R4.crt", pem, sizeof(pem));
	while (n > 0 && pem[n - 1] == '\n')
		n--;
	assert_int_equal(anchors_add_pem(&A, pem, n, "r4", &e), 0);
	assert_int_equal(A.n, 1);
}

static void
test_pem_bad(void **state)
{
	static const char	nocert[] = "-----BEGIN PRIVATE KEY-----\n"
	    "AAAA\n-----END PRIVATE KEY-----\n";
	static const char	junk[] = "-----BEGIN CERTIFICATE-----\n"
	    "AAAAAAAA\n-----END CERTIFICATE-----\n";
	static const char	ed25519[] =
	    "-----BEGIN CERTIFICATE-----\n"
	    "MIIBQjCB9aADAgECAhQ31waQEnh6TWxAp7YI2d7QeNIUPzAFBgMrZXAwFzEVMBMG\n"
	    "A1UEAwwMZWQyNTUxOSByb290MB4XDTI2MTIwNzE2MzQyNVoXDTM2MTIwNDE2MzQy\n"
	    "NVowFzEVMBMGA1UEAwwMZWQyNTUxOSByb290MCowBQYDK2VwAyEApXb52phftkdy\n"
	    "ka6iCu6QFUfxnCI3YcUCFzDcm4D2vVWjUzBRMB0GA1UdDgQWBBTDjbmz0TOY3BbP\n"
	    "L0ew5GPwuPgSmjAfBgNVHSMEGDAWgBTDjbmz0TOY3BbPL0ew5GPwuPgSmjAPBgNV\n"
	    "HRMBAf8EBTADAQH/MAUGAytlcANBAPteT8778MxVtyiUJN/CXq4PY/DTXNZQBkov\n"
	    "Gsvy7oy7+23bvMPrDB16q12hZbm+slOzMb2RE58f3n8loHjWSQM=\n"
	    "-----END CERTIFICATE-----\n";
	struct err		e;
	size_t			n;

	(void)state;
	anchors_init(&A);
	assert_int_equal(anchors_add_pem(&A, "", 0, "empty", &e), -1);
	assert_non_null(strstr(e.msg, "no CERTIFICATE"));
	assert_int_equal(anchors_add_pem(&A, "hello\n", 6, "text", &e), -1);
	assert_int_equal(anchors_add_pem(&A, nocert, sizeof(nocert) - 1, "key",
	    &e), -1);
	assert_int_equal(anchors_add_pem(&A, junk, sizeof(junk) - 1, "junk",
	    &e), -1);
	assert_non_null(strstr(e.msg, "does not decode"));
	n = load(MOZ "GTS_Root_R1.crt", pem, sizeof(pem));
	assert_int_equal(anchors_add_pem(&A, pem, n / 2, "half", &e), -1);
	assert_int_equal(A.n, 0);
	assert_int_equal(A.used, 0);	/* nothing kept of what failed */
	/* an Ed25519 root, a key BearSSL 0.6 does not know: the subject is
	 * decoded (into the pool) before the key fails, and given back */
	assert_int_equal(anchors_add_pem(&A, ed25519, sizeof(ed25519) - 1,
	    "ed25519", &e), -1);
	assert_non_null(strstr(e.msg, "ed25519: certificate 1 does not decode"));
	assert_int_equal(A.n, 0);
	assert_int_equal(A.used, 0);
}

/* Certificates BearSSL decodes with a key of no bytes (RSA modulus and
 * exponent INTEGER 0; a P-256 key whose point is empty): refused. */
static void
test_pem_empty_key(void **state)
{
	static const char	rsa[] = "-----BEGIN CERTIFICATE-----\n"
	    "MFkwRQIBATAAMAAwHhcNMjUwMTAxMDAwMDAwWhcNMzUxMjMxMjM1OTU5WjAAMBow"
	    "DQYJKoZIhvcNAQEBBQADCQAwBgIBAAIBADANBgkqhkiG9w0BAQsFAAMBAA==\n"
	    "-----END CERTIFICATE-----\n";
	static const char	ec[] = "-----BEGIN CERTIFICATE-----\n"
	    "MFcwQwIBATAAMAAwHhcNMjUwMTAxMDAwMDAwWhcNMzUxMjMxMjM1OTU5WjAAMBgw"
	    "EwYHKoZIzj0CAQYIKoZIzj0DAQcDAQAwDQYJKoZIhvcNAQELBQADAQA=\n"
	    "-----END CERTIFICATE-----\n";
	struct err		e;

	(void)state;
	anchors_init(&A);
	assert_int_equal(anchors_add_pem(&A, rsa, sizeof(rsa) - 1, "rsa", &e),
	    -1);
	assert_non_null(strstr(e.msg, "rsa: certificate 1 has an empty "
	    "public key"));
	assert_int_equal(anchors_add_pem(&A, ec, sizeof(ec) - 1, "ec", &e), -1);
	assert_non_null(strstr(e.msg, "empty public key"));
	assert_int_equal(A.n, 0);
	assert_int_equal(A.used, 0);
}

static void
test_limits(void **state)
{
	struct err	e;
	size_t		n, i;

	(void)state;
	anchors_init(&A);
	n = load(MOZ "GTS_Root_R1.crt", pem, sizeof(pem));
	for (i = 0; i < ANCHORS_MAX; i++)
		if (anchors_add_pem(&A, pem, n, "r1", &e) != 0)
			break;
	/* the pool (ANCHOR_POOL_MAX) or the count (ANCHORS_MAX) runs out */
	assert_true(i < ANCHORS_MAX || anchors_add_pem(&A, pem, n, "r1",
	    &e) == -1);
	assert_true(strstr(e.msg, "ANCHOR_POOL_MAX") != NULL ||
	    strstr(e.msg, "ANCHORS_MAX") != NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded),
		cmocka_unit_test(test_pem_rsa_and_ec),
		cmocka_unit_test(test_pem_without_final_newline),
		cmocka_unit_test(test_pem_bad),
		cmocka_unit_test(test_pem_empty_key),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
