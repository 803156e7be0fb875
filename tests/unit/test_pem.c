/* Unit tests for pem.c: PEM objects of a CA bundle, against BearSSL's own
 * PEM decoder on Debian's whole bundle, and malformed inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bearssl.h"
#include "file.h"
#include "pem.h"

#define BUNDLE	"/etc/ssl/certs/ca-certificates.crt"

static char		text[CA_FILE_MAX];
static unsigned char	der[PEM_DER_MAX];

/* BearSSL's decoder, the reference: the DER of every object in turn. */
static unsigned char	ref[512][2048];
static size_t		reflen[512], nref;

static void
ref_append(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	assert_true(len <= sizeof(ref[0]) - reflen[nref]);
	memcpy(ref[nref] + reflen[nref], buf, len);
	reflen[nref] += len;
}

static void
ref_decode(const char *b, size_t len)
{
	br_pem_decoder_context	pc;
	size_t			pos = 0;

	nref = 0;
	br_pem_decoder_init(&pc);
	while (pos < len) {
		pos += br_pem_decoder_push(&pc, b + pos, len - pos);
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			assert_true(nref < 512);
			reflen[nref] = 0;
			br_pem_decoder_setdest(&pc, ref_append, NULL);
			break;
		case BR_PEM_END_OBJ:
			nref++;
			break;
		case BR_PEM_ERROR:
			fail();
		}
	}
}

static void
test_debian_bundle(void **state)
{
	struct pem_obj	o;
	struct err	e;
	size_t		len, pos = 0, n = 0;

	(void)state;
	assert_int_equal(file_read(BUNDLE, text, sizeof(text), &len, "b", &e),
	    0);
	ref_decode(text, len);
	assert_true(nref > 100);
	while (pem_next(text, len, &pos, &o, der, sizeof(der), &e) == 1) {
		assert_true(o.cert);
		assert_int_equal(o.len, reflen[n]);
		assert_memory_equal(der, ref[n], o.len);
		n++;
	}
	assert_int_equal(pos, len);
	assert_int_equal(n, nref);
}

/* r: what pem_next returns first; msg: in the error, if any */
static void
one(const char *s, int r, const char *msg)
{
	struct pem_obj	o;
	struct err	e;
	size_t		pos = 0;

	e.msg[0] = '\0';
	assert_int_equal(pem_next(s, strlen(s), &pos, &o, der, sizeof(der),
	    &e), r);
	if (msg != NULL)
		assert_non_null(strstr(e.msg, msg));
}

#define B	"-----BEGIN CERTIFICATE-----\n"
#define E	"-----END CERTIFICATE-----\n"

static void
test_forms(void **state)
{
	struct pem_obj	o;
	struct err	e;
	size_t		pos = 0;
	const char	*s = "text\n" B " AQID\r\n BA== \n" E "after\n"
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";

	(void)state;
	assert_int_equal(pem_next(s, strlen(s), &pos, &o, der, sizeof(der),
	    &e), 1);
	assert_true(o.cert);
	assert_int_equal(o.len, 4);
	assert_memory_equal(der, "\x01\x02\x03\x04", 4);
	memset(der, 0, 4);
	assert_int_equal(pem_next(s, strlen(s), &pos, &o, der, sizeof(der),
	    &e), 1);
	assert_false(o.cert);			/* checked, not written */
	assert_string_equal(o.name, "PRIVATE KEY");
	assert_int_equal(der[0], 0);
	assert_int_equal(pos, strlen(s));	/* no final newline */
	assert_int_equal(pem_next(s, strlen(s), &pos, &o, der, sizeof(der),
	    &e), 0);
	one("", 0, NULL);
	one("hello\n-----BEGIN CERTIFICATE\n", 0, NULL);
	one(B "AQI=\n" E, 1, NULL);
	one(B "AQ==\n" E, 1, NULL);
}

static void
test_malformed(void **state)
{
	(void)state;
	one(B "AQID\n", -1, "truncated PEM");
	one(B "AQID\n-----END X509 CRL-----\n", -1, "malformed");
	one(B "AQI\n" E, -1, "malformed");		/* cut quantum */
	one(B "AQ==AQID\n" E, -1, "malformed");		/* after padding */
	one(B "A===\n" E, -1, "malformed");
	one(B "AQ=D\n" E, -1, "malformed");
	one(B "AQ*D\n" E, -1, "malformed");
	one(B "Proc-Type: 4,ENCRYPTED\n\nAQID\n" E, -1, "malformed");
	one(B "-----BEGIN CERTIFICATE-----\n" E, -1, "malformed");
	one("-----BEGIN -----\n-----END -----\n", -1, "malformed");
	/* labels are printable ASCII: no control byte, no NUL to cut a
	 * name short to "CERTIFICATE" */
	one("-----BEGIN CERT\001-----\n-----END CERT\001-----\n", -1,
	    "malformed PEM label");
	one("-----BEGIN CERT\177-----\n-----END CERT\177-----\n", -1,
	    "malformed PEM label");
	one("-----BEGIN CERT\351-----\n-----END CERT\351-----\n", -1,
	    "malformed PEM label");
	one("-----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n", 1,
	    NULL);
}

/* A NUL inside the label, which strlen-based one() cannot carry. */
static void
test_label_nul(void **state)
{
	static const char	s[] = "-----BEGIN CERTIFICATE\0x-----\nAQID\n"
				    "-----END CERTIFICATE\0x-----\n";
	struct pem_obj		o;
	struct err		e;
	size_t			pos = 0;

	(void)state;
	e.msg[0] = '\0';
	assert_int_equal(pem_next(s, sizeof(s) - 1, &pos, &o, der,
	    sizeof(der), &e), -1);
	assert_non_null(strstr(e.msg, "malformed PEM label"));
}

static void
test_cap(void **state)
{
	static char	big[sizeof(B) + 4 * PEM_DER_MAX / 3 + 8 + sizeof(E)];
	struct pem_obj	o;
	struct err	e;
	size_t		n = 0, pos = 0;

	(void)state;
	n += (size_t)sprintf(big, B);
	memset(big + n, 'A', 4 * (PEM_DER_MAX / 3 + 1));
	n += 4 * (PEM_DER_MAX / 3 + 1);
	n += (size_t)sprintf(big + n, "\n" E);
	assert_int_equal(pem_next(big, n, &pos, &o, der, sizeof(der), &e), -1);
	assert_non_null(strstr(e.msg, "PEM_DER_MAX"));
	/* exactly PEM_DER_MAX bytes fit (16384 = 3 * 5461 + 1) */
	n = (size_t)sprintf(big, B);
	memset(big + n, 'A', 4 * (PEM_DER_MAX / 3));
	n += 4 * (PEM_DER_MAX / 3);
	n += (size_t)sprintf(big + n, "AA==\n" E);
	pos = 0;
	assert_int_equal(pem_next(big, n, &pos, &o, der, sizeof(der), &e), 1);
	assert_int_equal(o.len, PEM_DER_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_bundle),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_label_nul),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
