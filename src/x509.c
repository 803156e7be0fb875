/*
 * x509.c -- what a server certificate is for, and whom it names.
 *
 * Owns: an X.509 class that forwards every call to BearSSL's minimal
 * engine and keeps a copy of the leaf certificate; when the engine has
 * accepted the chain, the leaf's extensions are read here (a DER cursor
 * over the copy) and the chain is refused unless the ExtendedKeyUsage, if
 * any, allows serverAuth and a subjectAltName dNSName matches the name.
 */
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "x509.h"

#define DER_SEQUENCE	0x30
#define DER_OID		0x06
#define DER_BOOLEAN	0x01
#define DER_OCTETS	0x04
#define DER_CTX0	0xa0	/* [0] EXPLICIT version */
#define DER_CTX3	0xa3	/* [3] EXPLICIT extensions */
#define DER_DNSNAME	0x82	/* GeneralName [2] IMPLICIT IA5String */

struct der {
	const unsigned char	*buf;
	size_t			 len;
	size_t			 pos;
};

/* OIDs, content bytes only. */
static const unsigned char oid_eku[] = { 0x55, 0x1d, 0x25 };	/* 2.5.29.37 */
static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };	/* 2.5.29.17 */
static const unsigned char oid_any_eku[] = { 0x55, 0x1d, 0x25, 0x00 };
static const unsigned char oid_server_auth[] =			/* 1.3.6.1.5.5.7.3.1 */
    { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };

/* One TLV at the cursor (definite lengths only); *v is its content. */
static int
der_next(struct der *d, unsigned *tag, struct der *v)
{
	size_t	n, k, i;

	if (2 > d->len - d->pos)
		return -1;
	*tag = d->buf[d->pos++];
	n = d->buf[d->pos++];
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || k > d->len - d->pos)
			return -1;
		for (n = 0, i = 0; i < k; i++)
			n = n << 8 | d->buf[d->pos++];
	}
	if (n > d->len - d->pos)
		return -1;
	v->buf = d->buf + d->pos;
	v->len = n;
	v->pos = 0;
	d->pos += n;
	return 0;
}

/* The next TLV must have this tag. */
static int
der_expect(struct der *d, unsigned want, struct der *v)
{
	unsigned	tag;

	return der_next(d, &tag, v) == 0 && tag == want ? 0 : -1;
}

static int
der_is(const struct der *v, const unsigned char *oid, size_t len)
{
	return v->len == len && memcmp(v->buf, oid, len) == 0;
}

/* Certificate -> tbsCertificate -> [3] extensions -> SEQUENCE OF. *exts
 * is left empty when there are none. */
static int
x509_extensions(const unsigned char *der, size_t len, struct der *exts)
{
	struct der	cert = { der, len, 0 }, c, tbs, v;
	unsigned	tag;
	int		i;

	memset(exts, 0, sizeof(*exts));
	if (der_expect(&cert, DER_SEQUENCE, &c) != 0 ||
	    der_expect(&c, DER_SEQUENCE, &tbs) != 0)
		return -1;
	/* version?, serial, signature, issuer, validity, subject, spki */
	for (i = 0; tbs.pos < tbs.len; i++) {
		if (der_next(&tbs, &tag, &v) != 0)
			return -1;
		if (tag == DER_CTX3 && i >= 6)
			return der_expect(&v, DER_SEQUENCE, exts);
	}
	return 0;
}

/* EKU: SEQUENCE OF OID; 1 when serverAuth or anyExtendedKeyUsage. */
static int
x509_eku_ok(struct der *val)
{
	struct der	seq, oid;

	if (der_expect(val, DER_SEQUENCE, &seq) != 0)
		return 0;
	while (seq.pos < seq.len) {
		if (der_expect(&seq, DER_OID, &oid) != 0)
			return 0;
		if (der_is(&oid, oid_server_auth, sizeof(oid_server_auth)) ||
		    der_is(&oid, oid_any_eku, sizeof(oid_any_eku)))
			return 1;
	}
	return 0;
}

/* RFC 6125: case-insensitive; "*" alone as the leftmost label matches
 * exactly one non-empty label, never for an IP literal. */
static int
x509_name_match(const struct der *dns, const char *name)
{
	size_t		nlen = strlen(name);
	const char	*dot;

	if (dns->len == 0 || memchr(dns->buf, '\0', dns->len) != NULL)
		return 0;
	if (dns->len == nlen &&
	    strncasecmp((const char *)dns->buf, name, nlen) == 0)
		return 1;
	if (dns->len < 3 || dns->buf[0] != '*' || dns->buf[1] != '.' ||
	    x509_is_ip(name))
		return 0;
	dot = strchr(name, '.');
	if (dot == NULL || dot == name || strlen(dot) != dns->len - 1)
		return 0;
	return strncasecmp((const char *)dns->buf + 1, dot, dns->len - 1) == 0;
}

/* SAN: SEQUENCE OF GeneralName; 1 when a dNSName matches. */
static int
x509_san_ok(struct der *val, const char *name)
{
	struct der	seq, gn;
	unsigned	tag;

	if (der_expect(val, DER_SEQUENCE, &seq) != 0)
		return 0;
	while (seq.pos < seq.len) {
		if (der_next(&seq, &tag, &gn) != 0)
			return 0;
		if (tag == DER_DNSNAME && x509_name_match(&gn, name))
			return 1;
	}
	return 0;
}

/* Extension: extnID, critical?, extnValue OCTET STRING. */
static int
x509_extension(struct der *ext, struct der *oid, struct der *val)
{
	unsigned	tag;

	if (der_expect(ext, DER_OID, oid) != 0 || der_next(ext, &tag, val) != 0)
		return -1;
	if (tag == DER_BOOLEAN && der_next(ext, &tag, val) != 0)
		return -1;
	return tag == DER_OCTETS ? 0 : -1;
}

unsigned
x509_policy_check(const unsigned char *der, size_t len, const char *name)
{
	struct der	exts, ext, oid, val;
	int		san = 0, eku = 1;

	if (x509_extensions(der, len, &exts) != 0)
		return BR_ERR_X509_INVALID_VALUE;
	while (exts.pos < exts.len) {
		if (der_expect(&exts, DER_SEQUENCE, &ext) != 0 ||
		    x509_extension(&ext, &oid, &val) != 0)
			return BR_ERR_X509_INVALID_VALUE;
		if (der_is(&oid, oid_eku, sizeof(oid_eku)))
			eku = x509_eku_ok(&val);
		else if (der_is(&oid, oid_san, sizeof(oid_san)))
			san = san || x509_san_ok(&val, name);
	}
	if (!eku)
		return X509_ERR_NOT_SERVER_AUTH;
	return san ? 0 : X509_ERR_NO_SAN_MATCH;
}

int
x509_is_ip(const char *name)
{
	unsigned char	buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	    inet_pton(AF_INET6, name, buf) == 1;
}

/* ---- the class ------------------------------------------------------- */

#define POLICY(ctx)	((struct x509_policy *)(void *)(ctx))
#define INNER(p)	(&(p)->inner->vtable)

static void
x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct x509_policy	*p = POLICY(ctx);

	(void)server_name;	/* p->name, also when no SNI was sent */
	p->depth = 0;
	p->leaflen = 0;
	p->leaf_over = 0;
	(*INNER(p))->start_chain(INNER(p), NULL);
}

static void
x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct x509_policy	*p = POLICY(ctx);

	if (p->depth == 0 && length > sizeof(p->leaf))
		p->leaf_over = 1;
	(*INNER(p))->start_cert(INNER(p), length);
}

static void
x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct x509_policy	*p = POLICY(ctx);

	if (p->depth == 0 && !p->leaf_over) {
		if (len > sizeof(p->leaf) - p->leaflen)
			p->leaf_over = 1;
		else {
			memcpy(p->leaf + p->leaflen, buf, len);
			p->leaflen += len;
		}
	}
	(*INNER(p))->append(INNER(p), buf, len);
}

static void
x509_end_cert(const br_x509_class **ctx)
{
	struct x509_policy	*p = POLICY(ctx);

	p->depth++;
	(*INNER(p))->end_cert(INNER(p));
}

static unsigned
x509_end_chain(const br_x509_class **ctx)
{
	struct x509_policy	*p = POLICY(ctx);
	unsigned		 err;

	err = (*INNER(p))->end_chain(INNER(p));
	if (err != 0)
		return err;
	if (p->leaf_over)
		return X509_ERR_LEAF_TOO_LARGE;
	return x509_policy_check(p->leaf, p->leaflen, p->name);
}

static const br_x509_pkey *
x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct x509_policy	*p = (const void *)ctx;

	return (*INNER(p))->get_pkey((const br_x509_class *const *)INNER(p),
	    usages);
}

static const br_x509_class x509_policy_vtable = {
	sizeof(struct x509_policy),
	x509_start_chain,
	x509_start_cert,
	x509_append,
	x509_end_cert,
	x509_end_chain,
	x509_get_pkey,
};

void
x509_policy_init(struct x509_policy *p, br_x509_minimal_context *inner,
    const char *name)
{
	p->vtable = &x509_policy_vtable;
	p->inner = inner;
	p->name = name;
	p->depth = 0;
	p->leaflen = 0;
	p->leaf_over = 0;
}
