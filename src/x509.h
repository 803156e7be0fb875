/*
 * x509.h -- the certificate policy BearSSL's minimal X.509 engine lacks,
 * as an X.509 class chained in front of it: the leaf's ExtendedKeyUsage
 * must be absent or allow serverAuth (or anyExtendedKeyUsage), and the
 * server name must match a subjectAltName dNSName (no fallback to the
 * subject CN; an IP literal never matches a DNS name). The minimal engine
 * still does the chain, signatures, dates and key usage.
 */
#ifndef REGCRED_X509_H
#define REGCRED_X509_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "limits.h"

/* Returned by end_chain, in BearSSL's X.509 error range. */
#define X509_ERR_NOT_SERVER_AUTH	61	/* EKU without serverAuth */
#define X509_ERR_NO_SAN_MATCH		BR_ERR_X509_BAD_SERVER_NAME
#define X509_ERR_LEAF_TOO_LARGE		63	/* over X509_LEAF_MAX */

struct x509_policy {
	const br_x509_class	*vtable;
	br_x509_minimal_context	*inner;
	const char		*name;		/* the name to verify */
	unsigned		 depth;		/* certificates seen */
	size_t			 leaflen;
	int			 leaf_over;
	unsigned char		 leaf[X509_LEAF_MAX];	/* the leaf's DER */
};

/* Wraps inner; name must outlive the handshake. */
void	x509_policy_init(struct x509_policy *p, br_x509_minimal_context *inner,
	    const char *name);

/* The policy checks on a leaf certificate's DER, for tests: 0 when it
 * may serve `name`, else one of the X509_ERR_* codes. */
unsigned x509_policy_check(const unsigned char *der, size_t len,
	    const char *name);

/* 1 when name is an IPv4 or IPv6 literal (never sent as SNI). */
int	x509_is_ip(const char *name);

#endif
