/*
 * test_bearssl_patches.c -- known answers for the BearSSL primitives that
 * vendor/patches/ change. A patch may change speed, never what is
 * accepted: good signatures verify, every one-bit change of a signature,
 * key or hash fails, and the patched code agrees with BearSSL's unpatched
 * implementations (i31 RSA, i15 ECDSA) on many random inputs.
 *
 *   0002  the ClientHello offers X25519 first, then P-256, P-384, P-521
 *   0003  br_rsa_i62_public: variable-time exponent (RSA-2048, RSA-4096)
 *   0004  br_ecdsa_i31_vrfy_raw: 1/s by modular division (P-256, P-384)
 *   0005  br_ec_prime_i31 muladd: one joint, variable-time ladder (P-384,
 *         P-521 and P-256), against br_ec_prime_i15 muladd (unpatched)
 *
 * Vectors: tests/unit/bearssl_vectors.h (gen_bearssl_vectors.py, Python
 * cryptography). Random inputs come from a fixed-seed HMAC-DRBG, so a
 * failure repeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bearssl.h"
#include "bearssl_vectors.h"

#define RANDOM_RSA	1000	/* random (modulus, x, e) triples */
#define RANDOM_P256	100	/* random keys and signatures */
#define RANDOM_P384	20
#define RANDOM_MULADD	24	/* 0005, P-256 (P-384 /2, P-521 /6) */

static br_hmac_drbg_context	drbg;

static void
rnd(void *buf, size_t len)
{
	br_hmac_drbg_generate(&drbg, buf, len);
}

static int
setup(void **state)
{
	(void)state;
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, "regcred-kat", 11);
	return 0;
}

/* --- 0003: RSA ---------------------------------------------------------- */

/* pkcs1_vrfy as the X.509 engine uses it: padding, OID and hash. */
static int
rsa_ok(const unsigned char *sig, size_t siglen, const unsigned char *n,
    size_t nlen, const unsigned char *e, size_t elen)
{
	br_rsa_public_key	pk = { (unsigned char *)n, nlen,
	    (unsigned char *)e, elen };
	unsigned char		out[32];

	return br_rsa_i62_pkcs1_vrfy(sig, siglen, BR_HASH_OID_SHA256,
	    sizeof(out), &pk, out) == 1 &&
	    memcmp(out, kat_sha256, sizeof(out)) == 0;
}

/* The good signature, then every one-bit change of it, n and e. */
static void
rsa_kat(const unsigned char *n, size_t nlen, const unsigned char *e,
    size_t elen, const unsigned char *sig, const unsigned char *em)
{
	br_rsa_public_key	pk = { (unsigned char *)n, nlen,
	    (unsigned char *)e, elen };
	unsigned char		x[512], nn[512], ee[4];
	size_t			i;

	memcpy(x, sig, nlen);
	assert_int_equal(br_rsa_i62_public(x, nlen, &pk), 1);
	assert_memory_equal(x, em, nlen);
	assert_true(rsa_ok(sig, nlen, n, nlen, e, elen));
	for (i = 0; i < nlen * 8; i++) {
		memcpy(x, sig, nlen);
		x[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_false(rsa_ok(x, nlen, n, nlen, e, elen));
		memcpy(nn, n, nlen);
		nn[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_false(rsa_ok(sig, nlen, nn, nlen, e, elen));
	}
	for (i = 0; i < elen * 8; i++) {
		memcpy(ee, e, elen);
		ee[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_false(rsa_ok(sig, nlen, n, nlen, ee, elen));
	}
}

static void
test_rsa2048_kat(void **state)
{
	(void)state;
	/* what TLS and X.509 use by default on this platform */
	assert_ptr_equal(br_rsa_public_get_default(), br_rsa_i62_public);
	rsa_kat(rsa2048_n, sizeof(rsa2048_n), rsa2048_e, sizeof(rsa2048_e),
	    rsa2048_sig, rsa2048_em);
}

static void
test_rsa4096_kat(void **state)
{
	(void)state;
	rsa_kat(rsa4096_n, sizeof(rsa4096_n), rsa4096_e, sizeof(rsa4096_e),
	    rsa4096_sig, rsa4096_em);
}

/* A random odd modulus of nlen bytes, x below it, an exponent of 1..4
 * bytes (sometimes 3 or 65537, sometimes with a leading zero byte). */
static void
rsa_random_case(unsigned char *n, size_t nlen, unsigned char *x,
    unsigned char *e, size_t *elen)
{
	unsigned char	pick;

	rnd(n, nlen);
	n[0] |= 0x80;
	n[nlen - 1] |= 1;
	rnd(x, nlen);
	x[0] &= 0x7f;
	rnd(&pick, 1);
	*elen = 1 + pick % 4;
	rnd(e, *elen);
	if (pick % 5 == 0)
		e[0] = 0;
	if (pick % 7 == 0) {
		memcpy(e, "\x01\x00\x01", 3);
		*elen = 3;
	}
	if (pick % 11 == 0) {
		e[0] = 3;
		*elen = 1;
	}
}

/* br_rsa_i62_public (patched) against br_rsa_i31_public (not patched). */
static void
test_rsa_vs_i31(void **state)
{
	unsigned char		n[512], x[512], y[512], e[4], len2;
	br_rsa_public_key	pk;
	size_t			i, nlen, elen;
	uint32_t		r62, r31;

	(void)state;
	for (i = 0; i < RANDOM_RSA; i++) {
		rnd(&len2, 1);
		nlen = i % 3 == 0 ? 512 : i % 3 == 1 ? 256 : 64 + len2 % 193;
		rsa_random_case(n, nlen, x, e, &elen);
		memcpy(y, x, nlen);
		pk = (br_rsa_public_key){ n, nlen, e, elen };
		r62 = br_rsa_i62_public(x, nlen, &pk);
		r31 = br_rsa_i31_public(y, nlen, &pk);
		assert_int_equal(r62, r31);
		if (r62)
			assert_memory_equal(x, y, nlen);
	}
	/* x >= n: both refuse */
	memset(x, 0xff, 256);
	memcpy(y, x, 256);
	pk = (br_rsa_public_key){ (unsigned char *)rsa2048_n, 256,
	    (unsigned char *)rsa2048_e, 3 };
	assert_int_equal(br_rsa_i62_public(x, 256, &pk), 0);
	assert_int_equal(br_rsa_i31_public(y, 256, &pk), 0);
}

/* --- 0004: ECDSA -------------------------------------------------------- */

static int
ec_ok(const br_ec_impl *impl, int curve, const unsigned char *q,
    size_t qlen, const void *hash, size_t hlen, const unsigned char *sig,
    size_t siglen)
{
	br_ec_public_key	pk = { curve, (unsigned char *)q, qlen };

	return (int)br_ecdsa_i31_vrfy_raw(impl, hash, hlen, &pk, sig, siglen);
}

/* The good signature, then every step-th one-bit change of it, the key
 * and the hash (step 1: every one; step 9: one bit of every byte, each
 * bit position in turn). */
static void
ec_kat(const br_ec_impl *impl, int curve, const unsigned char *q,
    size_t qlen, const unsigned char *hash, size_t hlen,
    const unsigned char *sig, size_t siglen, size_t step)
{
	unsigned char	b[160];
	size_t		i;

	assert_int_equal(ec_ok(impl, curve, q, qlen, hash, hlen, sig, siglen),
	    1);
	for (i = 0; i < siglen * 8; i += step) {
		memcpy(b, sig, siglen);
		b[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(ec_ok(impl, curve, q, qlen, hash, hlen, b,
		    siglen), 0);
	}
	for (i = 0; i < qlen * 8; i += step) {
		memcpy(b, q, qlen);
		b[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(ec_ok(impl, curve, b, qlen, hash, hlen, sig,
		    siglen), 0);
	}
	for (i = 0; i < hlen * 8; i += step) {
		memcpy(b, hash, hlen);
		b[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(ec_ok(impl, curve, q, qlen, b, hlen, sig,
		    siglen), 0);
	}
}

static void
test_p256_kat(void **state)
{
	br_ec_public_key	pk = { BR_EC_secp256r1, (unsigned char *)p256_q,
	    sizeof(p256_q) };

	(void)state;
	/* what TLS and X.509 use by default on this platform */
	assert_ptr_equal(br_ecdsa_vrfy_raw_get_default(), br_ecdsa_i31_vrfy_raw);
	assert_ptr_equal(br_ec_get_default(), &br_ec_all_m31);
	assert_int_equal(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, p256_hash,
	    sizeof(p256_hash), &pk, p256_der, sizeof(p256_der)), 1);
	ec_kat(&br_ec_all_m31, BR_EC_secp256r1, p256_q, sizeof(p256_q),
	    p256_hash, sizeof(p256_hash), p256_sig, sizeof(p256_sig), 1);
	/* br_ec_prime_i31 (0005) does P-256 too */
	assert_int_equal(ec_ok(&br_ec_prime_i31, BR_EC_secp256r1, p256_q,
	    sizeof(p256_q), p256_hash, sizeof(p256_hash), p256_sig,
	    sizeof(p256_sig)), 1);
}

/* P-384 and P-521: br_ec_all_m31 hands them to br_ec_prime_i31 (0005);
 * the one-bit changes go to br_ec_prime_i31 directly. */
static void
ec_kat_prime(int curve, const unsigned char *q, size_t qlen,
    const unsigned char *hash, size_t hlen, const unsigned char *sig,
    size_t siglen, const unsigned char *der, size_t derlen, size_t step)
{
	br_ec_public_key	pk = { curve, (unsigned char *)q, qlen };

	assert_int_equal(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, hlen,
	    &pk, der, derlen), 1);
	assert_int_equal(br_ecdsa_i31_vrfy_asn1(&br_ec_prime_i31, hash, hlen,
	    &pk, der, derlen), 1);
	assert_int_equal(ec_ok(&br_ec_all_m31, curve, q, qlen, hash, hlen,
	    sig, siglen), 1);
	ec_kat(&br_ec_prime_i31, curve, q, qlen, hash, hlen, sig, siglen, step);
}

static void
test_p384_kat(void **state)
{
	(void)state;
	ec_kat_prime(BR_EC_secp384r1, p384_q, sizeof(p384_q), p384_hash,
	    sizeof(p384_hash), p384_sig, sizeof(p384_sig), p384_der,
	    sizeof(p384_der), 1);
}

/* P-521: one bit of every byte (no P-521 root in Debian's bundle; every
 * bit would take 30 s under ASan and minutes under qemu-user). */
static void
test_p521_kat(void **state)
{
	(void)state;
	ec_kat_prime(BR_EC_secp521r1, p521_q, sizeof(p521_q), p521_hash,
	    sizeof(p521_hash), p521_sig, sizeof(p521_sig), p521_der,
	    sizeof(p521_der), 9);
}

/* Patched i31 and unpatched i15 give the same verdict. */
static void
ec_agree(const br_ec_public_key *pk, const unsigned char *h, size_t hlen,
    const unsigned char *sig, size_t siglen, uint32_t want)
{
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_all_m31, h, hlen, pk, sig,
	    siglen), want);
	assert_int_equal(br_ecdsa_i15_vrfy_raw(&br_ec_all_m15, h, hlen, pk, sig,
	    siglen), want);
}

/* Random keys and hashes, signed by BearSSL's i15 code (not patched):
 * both verifiers accept, and both refuse a random one-bit change. */
static void
ec_random(int curve, const br_hash_class *hc, size_t rounds)
{
	br_ec_private_key	sk;
	br_ec_public_key	pk;
	unsigned char		kb[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char		qb[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		h[64], sig[132];
	size_t			i, hlen, siglen;
	uint16_t		bit;

	hlen = (hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
	for (i = 0; i < rounds; i++) {
		assert_true(br_ec_keygen(&drbg.vtable, &br_ec_all_m15, &sk, kb,
		    curve) > 0);
		assert_true(br_ec_compute_pub(&br_ec_all_m15, &pk, qb, &sk) > 0);
		rnd(h, hlen);
		siglen = br_ecdsa_i15_sign_raw(&br_ec_all_m15, hc, h, &sk, sig);
		assert_true(siglen > 0);
		ec_agree(&pk, h, hlen, sig, siglen, 1);
		rnd(&bit, sizeof(bit));
		sig[bit / 8 % siglen] ^= (unsigned char)(1u << (bit % 8));
		ec_agree(&pk, h, hlen, sig, siglen, 0);
	}
}

static void
test_ecdsa_vs_i15(void **state)
{
	(void)state;
	ec_random(BR_EC_secp256r1, &br_sha256_vtable, RANDOM_P256);
	ec_random(BR_EC_secp384r1, &br_sha384_vtable, RANDOM_P384);
}

/* --- 0005: br_ec_prime_i31 muladd -------------------------------------- */

/* A curve: its field modulus p (to negate points) and order n. */
typedef struct {
	int			curve;
	const unsigned char	*p;
	size_t			len;	/* bytes of p, n, a scalar */
	const unsigned char	*n;
} ec_case;

static ec_case
ec_curve(int curve)
{
	ec_case		c = { curve, NULL, 0, NULL };
	size_t		nlen;

	if (curve == BR_EC_secp256r1)
		c.p = p256_p, c.len = sizeof(p256_p);
	if (curve == BR_EC_secp384r1)
		c.p = p384_p, c.len = sizeof(p384_p);
	if (curve == BR_EC_secp521r1)
		c.p = p521_p, c.len = sizeof(p521_p);
	c.n = br_ec_prime_i15.order(curve, &nlen);
	assert_int_equal(nlen, c.len);
	return c;
}

/* out = n - k (big-endian, k < n); n - 1, n - 2, ... */
static void
n_minus(const ec_case *c, unsigned k, unsigned char *out)
{
	size_t		i;
	unsigned	borrow = k, d;

	for (i = c->len; i-- > 0;) {
		d = c->n[i] - (borrow & 0xff);
		out[i] = (unsigned char)d;
		borrow = (borrow >> 8) + (d >> 8 & 1);
	}
}

/* A random scalar in 1..n-1. sparse: most 2-bit windows zero. */
static void
scalar_random(const ec_case *c, unsigned char *x, int sparse)
{
	unsigned char	m[66], nz;
	size_t		i;

	do {
		rnd(x, c->len);
		rnd(m, c->len);
		for (i = 0; sparse && i < c->len; i++)
			x[i] &= m[i] & (m[i] >> 1) & 0x41;
		x[0] &= c->n[0] == 1 ? 1 : 0xff;
		for (nz = 0, i = 0; i < c->len; i++)
			nz |= x[i];
	} while (memcmp(x, c->n, c->len) >= 0 || nz == 0);
}

/* A = k*G by BearSSL's unpatched i15 code; the point's length. */
static size_t
ec_point(const ec_case *c, const unsigned char *k, unsigned char *A)
{
	return br_ec_prime_i15.mulgen(A, k, c->len, c->curve);
}

/* N = -A: y = p - y (big-endian subtraction). Also checked against
 * (n-1)*A computed by br_ec_prime_i15.mul. */
static void
ec_neg(const ec_case *c, const unsigned char *A, unsigned char *N)
{
	unsigned char	m[BR_EC_KBUF_PUB_MAX_SIZE], k[66];
	const unsigned char *y = A + 1 + c->len;
	unsigned	borrow = 0, d;
	size_t		i, len = 1 + 2 * c->len;

	memcpy(N, A, 1 + c->len);
	for (i = c->len; i-- > 0;) {
		d = c->p[i] - y[i] - borrow;
		N[1 + c->len + i] = (unsigned char)d;
		borrow = d >> 8 & 1;
	}
	assert_int_equal(borrow, 0);
	memcpy(m, A, len);
	n_minus(c, 1, k);
	assert_int_equal(br_ec_prime_i15.mul(m, len, k, c->len, c->curve), 1);
	assert_memory_equal(m, N, len);
}

/* x*A + y*B by br_ec_prime_i31 (patched) and br_ec_prime_i15 (not):
 * the same verdict, and the same point when it succeeds. */
static uint32_t
muladd_agree(const ec_case *c, const unsigned char *A,
    const unsigned char *B, const unsigned char *x, size_t xlen,
    const unsigned char *y, size_t ylen)
{
	unsigned char	a31[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char	a15[BR_EC_KBUF_PUB_MAX_SIZE];
	size_t		len = 1 + 2 * c->len;
	uint32_t	r31, r15;

	memcpy(a31, A, len);
	memcpy(a15, A, len);
	r31 = br_ec_prime_i31.muladd(a31, B, len, x, xlen, y, ylen, c->curve);
	r15 = br_ec_prime_i15.muladd(a15, B, len, x, xlen, y, ylen, c->curve);
	assert_int_equal(r31, r15);
	if (r31)
		assert_memory_equal(a31, a15, len);
	return r31;
}

/* x, y with A and B, and with A against itself and its negation. */
static void
muladd_points(const ec_case *c, const unsigned char *A,
    const unsigned char *B, const unsigned char *x, const unsigned char *y)
{
	unsigned char	N[BR_EC_KBUF_PUB_MAX_SIZE];

	ec_neg(c, A, N);
	assert_int_equal(muladd_agree(c, A, B, x, c->len, y, c->len), 1);
	muladd_agree(c, A, NULL, x, c->len, y, c->len);
	muladd_agree(c, A, A, x, c->len, y, c->len);	/* table: A = B */
	muladd_agree(c, A, N, x, c->len, y, c->len);	/* table: A = -B */
	/* x*A + x*A: the doubling case of code_add */
	assert_int_equal(muladd_agree(c, A, A, x, c->len, x, c->len), 1);
	/* x*A + x*(-A): infinity, an error for both */
	assert_int_equal(muladd_agree(c, A, N, x, c->len, x, c->len), 0);
}

/* Random points and scalars, dense and sparse, on the three curves. */
static void
test_muladd_vs_i15(void **state)
{
	static const int	curves[] = { BR_EC_secp256r1, BR_EC_secp384r1,
	    BR_EC_secp521r1 };
	/* fewer on P-384 and P-521: i15 is slow there */
	static const size_t	rounds[] = { RANDOM_MULADD,
	    RANDOM_MULADD / 2, RANDOM_MULADD / 6 };
	unsigned char		A[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		B[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		a[66], b[66], x[66], y[66];
	size_t			i, j;
	ec_case			c;

	(void)state;
	for (j = 0; j < 3; j++) {
		c = ec_curve(curves[j]);
		for (i = 0; i < rounds[j]; i++) {
			scalar_random(&c, a, 0);
			scalar_random(&c, b, 0);
			assert_int_equal(ec_point(&c, a, A), 1 + 2 * c.len);
			ec_point(&c, b, B);
			scalar_random(&c, x, i % 4 == 1 || i % 4 == 3);
			scalar_random(&c, y, i % 4 >= 2);
			muladd_points(&c, A, B, x, y);
		}
	}
}

/* Small scalars (one byte long, the other full length), against a second
 * derivation: x*G + y*G = (x+y)*G by br_ec_prime_i15.mulgen. */
static void
muladd_small(const ec_case *c, const unsigned char *A,
    const unsigned char *N)
{
	unsigned char	G[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char	S[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char	x[1], y[66];
	const unsigned char *g;
	size_t		len;

	memset(y, 0, c->len);
	g = br_ec_prime_i15.generator(c->curve, &len);
	memcpy(G, g, len);
	for (x[0] = 1; x[0] <= 3; x[0]++) {
		for (y[c->len - 1] = 1; y[c->len - 1] <= 3; y[c->len - 1]++) {
			muladd_agree(c, A, A, x, 1, y, c->len);
			muladd_agree(c, A, N, x, 1, y, c->len);
			muladd_agree(c, A, N, y + c->len - 1, 1, x, 1);
			memcpy(S, G, len);
			assert_int_equal(br_ec_prime_i31.muladd(S, NULL, len,
			    x, 1, y, c->len, c->curve), 1);
			y[c->len - 1] += x[0];
			ec_point(c, y, G);
			y[c->len - 1] -= x[0];
			assert_memory_equal(S, G, len);
			memcpy(G, g, len);
		}
	}
}

/* Scalars 1, n-1, n-2 and sums that reach n (infinity). */
static void
muladd_extremes(const ec_case *c, const unsigned char *A,
    const unsigned char *N, const unsigned char *B)
{
	unsigned char	one[66], m1[66], m2[66], x[66];
	unsigned char	P[BR_EC_KBUF_PUB_MAX_SIZE];
	size_t		n = c->len;

	memset(one, 0, n);
	one[n - 1] = 1;
	n_minus(c, 1, m1);
	n_minus(c, 2, m2);
	scalar_random(c, x, 0);
	assert_int_equal(muladd_agree(c, A, A, one, n, m1, n), 0);
	assert_int_equal(muladd_agree(c, A, A, m1, n, one, n), 0);
	assert_int_equal(muladd_agree(c, A, N, m1, n, m1, n), 0);
	assert_int_equal(muladd_agree(c, A, A, m2, n, one, n), 1);
	assert_int_equal(muladd_agree(c, A, A, m1, n, m1, n), 1);
	assert_int_equal(muladd_agree(c, A, N, one, n, one, n), 0);
	assert_int_equal(muladd_agree(c, A, B, m1, n, x, n), 1);
	assert_int_equal(muladd_agree(c, A, B, x, n, m1, n), 1);
	muladd_agree(c, A, NULL, one, n, m1, n);
	/* a zero multiplier is an error, as bearssl_ec.h says (0.6: 1) */
	memset(x, 0, n);
	memcpy(P, A, 1 + 2 * n);
	assert_int_equal(br_ec_prime_i31.muladd(P, B, 1 + 2 * n, x, n, one, n,
	    c->curve), 0);
	memcpy(P, A, 1 + 2 * n);
	assert_int_equal(br_ec_prime_i31.muladd(P, B, 1 + 2 * n, one, n, x, n,
	    c->curve), 0);
}

/*
 * The one verdict 0005 changes. The signature (r = 0, s = 1) with a hash
 * of 0 (mod n): 0.6 computes 0*Q + 0*G as the all-zero point, whose X
 * equals r, and accepts for any key (the unpatched i15 code below still
 * does; so does 0.6's P-256 code, which 0005 does not touch: a hash of 0
 * cannot be produced, SECURITY.md). ECDSA requires r >= 1: the patched
 * ladder refuses.
 */
static void
test_ecdsa_r_zero(void **state)
{
	unsigned char		sig[96], h[48];
	br_ec_public_key	pk = { BR_EC_secp384r1, (unsigned char *)p384_q,
	    sizeof(p384_q) };

	(void)state;
	memset(sig, 0, sizeof(sig));
	memset(h, 0, sizeof(h));
	sig[sizeof(sig) - 1] = 1;
	assert_int_equal(br_ecdsa_i15_vrfy_raw(&br_ec_prime_i15, h, sizeof(h),
	    &pk, sig, sizeof(sig)), 1);
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_prime_i31, h, sizeof(h),
	    &pk, sig, sizeof(sig)), 0);
	assert_int_equal(br_ecdsa_i31_vrfy_raw(&br_ec_all_m31, h, sizeof(h),
	    &pk, sig, sizeof(sig)), 0);
}

static void
test_muladd_edges(void **state)
{
	static const int	curves[] = { BR_EC_secp256r1, BR_EC_secp384r1,
	    BR_EC_secp521r1 };
	unsigned char		A[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		N[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		B[BR_EC_KBUF_PUB_MAX_SIZE];
	unsigned char		a[66], b[66];
	const unsigned char	*g;
	size_t			j, len;
	ec_case			c;

	(void)state;
	for (j = 0; j < 3; j++) {
		c = ec_curve(curves[j]);
		scalar_random(&c, a, 0);
		ec_point(&c, a, A);
		ec_neg(&c, A, N);
		scalar_random(&c, a, 0);
		ec_point(&c, a, B);
		muladd_small(&c, A, N);
		muladd_extremes(&c, A, N, B);
		/* the generator, as B = NULL, against itself and -G */
		g = br_ec_prime_i15.generator(c.curve, &len);
		memcpy(A, g, len);
		ec_neg(&c, A, N);
		muladd_extremes(&c, A, N, B);
		muladd_points(&c, A, NULL, a, a);
		scalar_random(&c, a, 1);
		scalar_random(&c, b, 0);
		muladd_points(&c, N, A, a, b);
	}
}

/* --- 0002: the curves a ClientHello offers ------------------------------ */

/* Finds extension type in a ClientHello record; its body, or NULL. */
static const unsigned char *
hello_ext(const unsigned char *rec, size_t len, unsigned type, size_t *elen)
{
	size_t	pos = 5 + 4 + 2 + 32, end, n;

	assert_true(len > pos + 1);
	pos += 1 + rec[pos];				/* session ID */
	pos += 2 + (size_t)(rec[pos] << 8 | rec[pos + 1]);	/* suites */
	pos += 1 + rec[pos];				/* compression */
	end = pos + 2 + (size_t)(rec[pos] << 8 | rec[pos + 1]);
	assert_true(end <= len);
	for (pos += 2; pos + 4 <= end; pos += 4 + n) {
		n = (size_t)(rec[pos + 2] << 8 | rec[pos + 3]);
		if ((unsigned)(rec[pos] << 8 | rec[pos + 1]) == type) {
			*elen = n;
			return rec + pos + 4;
		}
	}
	return NULL;
}

static void
test_hello_x25519_first(void **state)
{
	static br_ssl_client_context	sc;
	static br_x509_minimal_context	xc;
	static unsigned char		iobuf[BR_SSL_BUFSIZE_BIDI];
	static const unsigned char	want[] = { 0, 8, 0, 29, 0, 23, 0, 24,
	    0, 25 };
	const unsigned char		*rec, *ext;
	size_t				len, elen = 0;

	(void)state;
	br_ssl_client_init_full(&sc, &xc, NULL, 0);
	br_ssl_engine_set_buffer(&sc.eng, iobuf, sizeof(iobuf), 1);
	br_ssl_engine_inject_entropy(&sc.eng, "0123456789abcdef0123456789abcdef",
	    32);
	assert_int_equal(br_ssl_client_reset(&sc, "example.com", 0), 1);
	rec = br_ssl_engine_sendrec_buf(&sc.eng, &len);
	assert_non_null(rec);
	assert_int_equal(rec[0], 22);			/* handshake */
	assert_int_equal(rec[5], 1);			/* ClientHello */
	ext = hello_ext(rec, len, 10, &elen);		/* supported_groups */
	assert_non_null(ext);
	assert_int_equal(elen, sizeof(want));
	assert_memory_equal(ext, want, sizeof(want));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_x25519_first),
		cmocka_unit_test(test_rsa2048_kat),
		cmocka_unit_test(test_rsa4096_kat),
		cmocka_unit_test(test_rsa_vs_i31),
		cmocka_unit_test(test_p256_kat),
		cmocka_unit_test(test_p384_kat),
		cmocka_unit_test(test_ecdsa_vs_i15),
		cmocka_unit_test(test_p521_kat),
		cmocka_unit_test(test_muladd_vs_i15),
		cmocka_unit_test(test_muladd_edges),
		cmocka_unit_test(test_ecdsa_r_zero),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
