/*
 * pem.c -- PEM objects of a CA bundle (--ca-file, the service-account
 * ca.crt), decoded in plain C in place of BearSSL's T0 PEM decoder (a few
 * microseconds instead of about 1 ms for Debian's bundle).
 *
 * Owns: finding the next object in untrusted text through a (buf, len,
 * pos) cursor and decoding its base64 into a caller's buffer. RFC 7468 as
 * OpenSSL reads it: text outside objects is skipped; an object is a line
 * "-----BEGIN NAME-----", base64 lines (any spaces, tabs, CR), and a line
 * "-----END NAME-----" with the same name (printable ASCII, as RFC 7468
 * says, where OpenSSL takes any byte); '=' padding only at the end;
 * RFC 1421 headers ("Proc-Type:") are refused, as is any other line
 * starting with "-----" inside an object.
 */
#include <string.h>

#include "pem.h"

#define PEM_BEGIN	"-----BEGIN "
#define PEM_END		"-----END "
#define PEM_DASHES	"-----"

/* The end of the line at pos (its '\n', or len). */
static size_t
pem_eol(const char *b, size_t len, size_t pos)
{
	const char	*nl = memchr(b + pos, '\n', len - pos);

	return nl == NULL ? len : (size_t)(nl - b);
}

/* Whether b[pos..eol) is `prefix` NAME "-----" with optional trailing
 * white space; the name's bounds in *name, *namelen. */
static int
pem_banner(const char *b, size_t pos, size_t eol, const char *prefix,
    const char **name, size_t *namelen)
{
	size_t	plen = strlen(prefix), end = eol;

	while (end > pos && (b[end - 1] == ' ' || b[end - 1] == '\t' ||
	    b[end - 1] == '\r'))
		end--;
	if (plen + 5 > end - pos || memcmp(b + pos, prefix, plen) != 0 ||
	    memcmp(b + end - 5, PEM_DASHES, 5) != 0)
		return 0;
	*name = b + pos + plen;
	*namelen = end - 5 - (pos + plen);
	return 1;
}

/* 0..63 for a base64 character, 64 for '=', 65 for white space, -1 else */
static int
pem_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return 64;
	return c == ' ' || c == '\t' || c == '\r' ? 65 : -1;
}

/* Base64 decoding state across the lines of one object. */
struct pem_b64s {
	uint32_t	acc;
	unsigned	n;		/* characters in the current quantum */
	unsigned	pad;		/* '=' seen */
	size_t		len;		/* bytes decoded (written or not) */
};

static int
pem_b64_put(struct pem_b64s *s, unsigned char *out, size_t cap, unsigned v)
{
	size_t	k;

	s->acc = s->acc << 6 | v;
	if (++s->n < 4)
		return 0;
	/* a whole quantum: 3 bytes, fewer for padding */
	k = 3 - s->pad;
	if (out != NULL && k > cap - s->len)
		return -1;
	if (out != NULL) {
		out[s->len] = (unsigned char)(s->acc >> 16);
		if (k > 1)
			out[s->len + 1] = (unsigned char)(s->acc >> 8);
		if (k > 2)
			out[s->len + 2] = (unsigned char)s->acc;
	}
	s->len += k;
	s->acc = 0;
	s->n = 0;
	return 0;
}

/* One base64 line; -1 malformed, -2 over cap. */
static int
pem_b64_line(struct pem_b64s *s, const char *b, size_t pos, size_t eol,
    unsigned char *out, size_t cap)
{
	int	v;

	for (; pos < eol; pos++) {
		v = pem_b64((unsigned char)b[pos]);
		if (v < 0)
			return -1;
		if (v == 65)
			continue;
		if (v == 64) {
			/* "xx==" or "xxx=": the 3rd or 4th of a quantum */
			if (s->n < 2)
				return -1;
			s->pad++;
			v = 0;
		} else if (s->pad > 0) {
			return -1;	/* data after padding */
		}
		if (pem_b64_put(s, out, cap, (unsigned)v) != 0)
			return -2;
	}
	return 0;
}

/* The body from *pos to the END line matching name; *pos past it. */
static int
pem_body(const char *b, size_t len, size_t *pos, const char *name,
    size_t namelen, unsigned char *out, size_t cap, size_t *outlen,
    struct err *e)
{
	struct pem_b64s	 s;
	const char	*n2;
	size_t		 eol, n2len;
	int		 r;

	memset(&s, 0, sizeof(s));
	while (*pos < len) {
		eol = pem_eol(b, len, *pos);
		if (eol - *pos >= 5 && memcmp(b + *pos, PEM_DASHES, 5) == 0) {
			if (!pem_banner(b, *pos, eol, PEM_END, &n2, &n2len) ||
			    n2len != namelen || memcmp(n2, name, namelen) != 0 ||
			    s.n != 0)
				return err_set(e, "malformed PEM");
			*pos = eol < len ? eol + 1 : eol;
			*outlen = s.len;
			return 0;
		}
		r = pem_b64_line(&s, b, *pos, eol, out, cap);
		if (r == -2)
			return err_set(e, "certificate over %d bytes (PEM_DER_MAX)",
			    PEM_DER_MAX);
		if (r != 0)
			return err_set(e, "malformed PEM");
		*pos = eol < len ? eol + 1 : eol;
	}
	return err_set(e, "truncated PEM");
}

/* RFC 7468 labels are printable ASCII: no NUL to cut "CERTIFICATE\0x"
 * short, no control byte. */
static int
pem_label_ok(const char *name, size_t namelen, size_t cap)
{
	size_t	i;

	if (namelen == 0 || namelen >= cap)
		return 0;
	for (i = 0; i < namelen; i++)
		if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] > 0x7e)
			return 0;
	return 1;
}

int
pem_next(const char *b, size_t len, size_t *pos, struct pem_obj *o,
    unsigned char *der, size_t cap, struct err *e)
{
	const char	*name;
	size_t		 eol, namelen;

	while (*pos < len) {
		eol = pem_eol(b, len, *pos);
		if (pem_banner(b, *pos, eol, PEM_BEGIN, &name, &namelen)) {
			*pos = eol < len ? eol + 1 : eol;
			if (!pem_label_ok(name, namelen, sizeof(o->name)))
				return err_set(e, "malformed PEM label");
			memcpy(o->name, name, namelen);
			o->name[namelen] = '\0';
			o->cert = strcmp(o->name, "CERTIFICATE") == 0;
			if (pem_body(b, len, pos, name, namelen, o->cert ? der :
			    NULL, cap, &o->len, e) != 0)
				return -1;
			return 1;
		}
		*pos = eol < len ? eol + 1 : eol;
	}
	return 0;
}
