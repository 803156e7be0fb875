/*
 * fuzz_pem.c -- PEM bundles as trust anchors (anchors_add_pem), with
 * pem.c's PEM decoder and BearSSL's X.509 decoder under it.
 *
 * Input: the bundle; it is added twice to one set, so that the set's
 * limits (ANCHORS_MAX, ANCHOR_POOL_MAX) are reached too.
 * Properties: the set never holds more than ANCHORS_MAX anchors nor uses
 * more than its pool; every anchor's name and key bytes lie in the used
 * part of the pool, with a non-empty name and key; an accepted bundle
 * adds at least one anchor and no more than it has PEM objects; pem_next
 * walks forward only, within the input, and gives objects with a name and,
 * for a certificate (the only object it writes), at most PEM_DER_MAX bytes.
 */
#include <string.h>
#include <strings.h>

#include "anchors.h"
#include "fuzz.h"
#include "log.h"
#include "pem.h"

static struct anchors	a;

static int
in_pool(const void *p, size_t len)
{
	const unsigned char	*u = p;

	return u >= a.pool && len > 0 && len <= a.used &&
	    (size_t)(u - a.pool) <= a.used - len;
}

static void
check_set(void)
{
	const br_x509_trust_anchor	*t;
	size_t				 i;

	FUZZ_CHECK(a.n <= ANCHORS_MAX && a.used <= sizeof(a.pool));
	for (i = 0; i < a.n; i++) {
		t = &a.ta[i];
		FUZZ_CHECK(in_pool(t->dn.data, t->dn.len));
		if (t->pkey.key_type == BR_KEYTYPE_RSA) {
			FUZZ_CHECK(in_pool(t->pkey.key.rsa.n,
			    t->pkey.key.rsa.nlen));
			FUZZ_CHECK(in_pool(t->pkey.key.rsa.e,
			    t->pkey.key.rsa.elen));
		} else {
			FUZZ_CHECK(t->pkey.key_type == BR_KEYTYPE_EC);
			FUZZ_CHECK(in_pool(t->pkey.key.ec.q,
			    t->pkey.key.ec.qlen));
		}
	}
}

/* PEM objects: lines starting "-----BEGIN " in any case (BearSSL's
 * decoder matches the banner case-insensitively and takes any name). */
static size_t
count_blocks(const char *s, size_t len)
{
	static const char	tag[] = "-----BEGIN ";
	size_t			 i, n = 0;

	for (i = 0; i + sizeof(tag) - 1 <= len; i++)
		if ((i == 0 || s[i - 1] == '\n') &&
		    strncasecmp(s + i, tag, sizeof(tag) - 1) == 0)
			n++;
	return n;
}

static unsigned char	der[PEM_DER_MAX];

static void
check_walk(const char *pem, size_t size)
{
	struct pem_obj	o;
	struct err	e;
	size_t		pos = 0, last;
	int		r;

	do {
		last = pos;
		r = pem_next(pem, size, &pos, &o, der, sizeof(der), &e);
		FUZZ_CHECK(pos <= size && (r != 1 || pos > last));
		if (r == 1)
			FUZZ_CHECK(o.name[0] != '\0' &&
			    (!o.cert || o.len <= sizeof(der)) &&
			    memchr(o.name, '\0', sizeof(o.name)) != NULL);
	} while (r == 1);
	FUZZ_CHECK(r == 0 || r == -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*pem = (const char *)data;
	struct err	 e;
	size_t		 before, blocks, round;

	if (size > CA_FILE_MAX)
		return 0;
	blocks = count_blocks(pem, size);
	check_walk(pem, size);
	anchors_init(&a);
	for (round = 0; round < 2; round++) {
		before = a.n;
		if (anchors_add_pem(&a, pem, size, "fuzz", &e) == 0) {
			FUZZ_CHECK(a.n > before && a.n - before <= blocks);
		}
		check_set();
	}
	return 0;
}
