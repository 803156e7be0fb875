/*
 * anchors.c -- trust anchor sets.
 *
 * Owns: copying the compiled-in roots into a set, and turning PEM bundles
 * (--ca-file, the service-account ca.crt; PEM decoded by pem.c) into trust
 * anchors whose DN and key bytes live in the set's fixed pool. A
 * certificate flagged as a CA becomes a CA anchor; any other certificate
 * is a pinned end-entity.
 */
#include <string.h>

#include "anchors.h"
#include "log.h"
#include "pem.h"

struct pool_sink {
	struct anchors	*a;
	unsigned char	*start;
	size_t		 len;
	int		 overflow;
};

static unsigned char	anchors_der[PEM_DER_MAX];	/* one certificate */

/* Empty; nothing but the counts is touched (only ta[0..n) and
 * pool[0..used) are ever read), so an unused pool never becomes resident. */
void
anchors_init(struct anchors *a)
{
	a->n = 0;
	a->used = 0;
}

int
anchors_add_embedded(struct anchors *a, struct err *e)
{
	size_t	i;

	if (anchors_embedded_num > ANCHORS_MAX - a->n)
		return err_set(e, "trust anchors: more than %d (ANCHORS_MAX)",
		    ANCHORS_MAX);
	for (i = 0; i < anchors_embedded_num; i++)
		a->ta[a->n++] = anchors_embedded[i];
	return 0;
}

/* Copies bytes into the pool; NULL when it is full. */
static unsigned char *
anchors_pool_put(struct anchors *a, const void *src, size_t len)
{
	unsigned char	*p;

	if (len > sizeof(a->pool) - a->used)
		return NULL;
	p = a->pool + a->used;
	memcpy(p, src, len);
	a->used += len;
	return p;
}

static void
anchors_dn_append(void *ctx, const void *buf, size_t len)
{
	struct pool_sink	*s = ctx;

	if (s->overflow || anchors_pool_put(s->a, buf, len) == NULL)
		s->overflow = 1;
	else
		s->len += len;
}

static int
anchors_set_key(struct anchors *a, br_x509_trust_anchor *ta,
    const br_x509_pkey *pk)
{
	unsigned char	*n, *x;

	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		n = anchors_pool_put(a, pk->key.rsa.n, pk->key.rsa.nlen);
		x = anchors_pool_put(a, pk->key.rsa.e, pk->key.rsa.elen);
		if (n == NULL || x == NULL)
			return -1;
		ta->pkey.key.rsa.n = n;
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = x;
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
		return 0;
	}
	x = anchors_pool_put(a, pk->key.ec.q, pk->key.ec.qlen);
	if (x == NULL)
		return -1;
	ta->pkey.key.ec.curve = pk->key.ec.curve;
	ta->pkey.key.ec.q = x;
	ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	return 0;
}

/* A key BearSSL decodes with no bytes (an INTEGER 0 as RSA modulus or
 * exponent, an empty EC point) can verify nothing: refused at start-up,
 * not at the first handshake. */
static int
anchors_key_empty(const br_x509_pkey *pk)
{
	if (pk->key_type == BR_KEYTYPE_RSA)
		return pk->key.rsa.nlen == 0 || pk->key.rsa.elen == 0;
	return pk->key.ec.qlen == 0;
}

/* Decodes one DER certificate into a new anchor. */
static int
anchors_add_der(struct anchors *a, const unsigned char *der, size_t len,
    const char *what, struct err *e)
{
	br_x509_decoder_context	 dc;
	struct pool_sink	 dn;
	br_x509_trust_anchor	*ta;
	br_x509_pkey		*pk;
	size_t			 mark = a->used;

	if (a->n == ANCHORS_MAX)
		return err_set(e, "%s: more than %d certificates (ANCHORS_MAX)",
		    what, ANCHORS_MAX);
	memset(&dn, 0, sizeof(dn));
	dn.a = a;
	dn.start = a->pool + a->used;
	br_x509_decoder_init(&dc, anchors_dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk == NULL || anchors_key_empty(pk)) {
		a->used = mark;		/* the name it took, given back */
		if (pk == NULL)
			return err_set(e, "%s: certificate %zu does not decode "
			    "(BearSSL error %d)", what, a->n + 1,
			    br_x509_decoder_last_error(&dc));
		return err_set(e, "%s: certificate %zu has an empty public "
		    "key", what, a->n + 1);
	}
	ta = &a->ta[a->n];
	memset(ta, 0, sizeof(*ta));
	ta->dn.data = dn.start;
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	if (dn.overflow || anchors_set_key(a, ta, pk) != 0) {
		a->used = mark;
		return err_set(e, "%s: anchors exceed %d bytes "
		    "(ANCHOR_POOL_MAX)", what, ANCHOR_POOL_MAX);
	}
	a->n++;
	return 0;
}

int
anchors_add_pem(struct anchors *a, const char *pem, size_t len,
    const char *what, struct err *e)
{
	struct pem_obj	o;
	size_t		pos = 0, before = a->n;
	int		r;

	while ((r = pem_next(pem, len, &pos, &o, anchors_der,
	    sizeof(anchors_der), e)) == 1) {
		if (o.cert && anchors_add_der(a, anchors_der, o.len, what,
		    e) != 0)
			return -1;
	}
	if (r < 0)
		return err_prefix(e, "%s", what);
	if (a->n == before)
		return err_set(e, "%s: no CERTIFICATE in PEM", what);
	return 0;
}
