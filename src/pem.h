/*
 * pem.h -- PEM objects of a CA bundle, decoded in plain C (untrusted
 * bytes, through a cursor).
 */
#ifndef REGCRED_PEM_H
#define REGCRED_PEM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct pem_obj {
	char	name[PEM_NAME_MAX];	/* "CERTIFICATE", ... */
	int	cert;			/* name is CERTIFICATE */
	size_t	len;			/* DER bytes (written for a cert) */
};

/*
 * Finds the next PEM object in b[*pos..len) and moves *pos past it.
 * Returns 1 with o filled (a CERTIFICATE's DER in der, at most cap
 * bytes; other objects are checked, not written), 0 when no BEGIN line
 * is left, -1 on a malformed or truncated object or a certificate over
 * cap (e says which).
 */
int	pem_next(const char *b, size_t len, size_t *pos, struct pem_obj *o,
	    unsigned char *der, size_t cap, struct err *e);

#endif
