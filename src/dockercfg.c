/*
 * dockercfg.c -- base64 and the .dockerconfigjson document.
 *
 * Owns: standard padded base64, and the exact bytes kubectl (Go's
 * encoding/json) writes for `kubectl create secret docker-registry`:
 * {"auths":{"<reg>":{"username":..,"password":..,"auth":base64(u:p)}}}
 * with one entry per registry, keys sorted by bytes and de-duplicated as
 * Go's encoder sorts a map. Escaping comes from json.c's writer. The
 * "user:password" scratch and its base64 are static and wiped after use.
 */
#include <string.h>

#include "dockercfg.h"
#include "json.h"
#include "limits.h"
#include "log.h"


static char	dockercfg_plain[DOCKER_AUTH_MAX];
static char	dockercfg_auth[B64_LEN(DOCKER_AUTH_MAX) + 1];

int
b64_encode(const uint8_t *src, size_t len, char *dst, size_t cap,
    size_t *outlen, struct err *e)
{
	static const char	abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			groups = len / 3 + (len % 3 != 0), i, o;
	uint32_t		v;

	if (cap == 0 || groups > (cap - 1) / 4)
		return err_set(e, "base64 of %zu bytes exceeds its buffer "
		    "(%zu bytes)", len, cap);
	for (i = 0, o = 0; i < len; i += 3, o += 4) {
		v = (uint32_t)src[i] << 16;
		if (len - i > 1)
			v |= (uint32_t)src[i + 1] << 8;
		if (len - i > 2)
			v |= src[i + 2];
		dst[o] = abc[v >> 18];
		dst[o + 1] = abc[(v >> 12) & 0x3f];
		dst[o + 2] = len - i > 1 ? abc[(v >> 6) & 0x3f] : '=';
		dst[o + 3] = len - i > 2 ? abc[v & 0x3f] : '=';
	}
	explicit_bzero(&v, sizeof(v));
	dst[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/* order[] = indexes of the distinct registries, sorted by bytes. */
static int
dockercfg_sort(const char *const *reg, size_t n, size_t *order,
    size_t *norder, struct err *e)
{
	size_t	i, k, m = 0;
	int	c;

	if (n == 0)
		return err_set(e, "no registry given");
	if (n > REGISTRY_MAX)
		return err_set(e, "%zu registries exceed REGISTRY_MAX=%d", n,
		    REGISTRY_MAX);
	for (i = 0; i < n; i++) {
		if (reg[i] == NULL || reg[i][0] == '\0')
			return err_set(e, "registry %zu is empty", i + 1);
		for (k = m, c = 1; k > 0; k--)
			if ((c = strcmp(reg[order[k - 1]], reg[i])) <= 0)
				break;
		if (k > 0 && c == 0)
			continue;			/* duplicate */
		memmove(order + k + 1, order + k, (m - k) * sizeof(*order));
		order[k] = i;
		m++;
	}
	*norder = m;
	return 0;
}

/* dockercfg_auth = base64(user ":" password). */
static int
dockercfg_auth_make(const char *user, const char *password, size_t pwlen,
    size_t *authlen, struct err *e)
{
	size_t	ulen = strlen(user);

	if (ulen == 0 || pwlen == 0)	/* kubectl refuses these too */
		return err_set(e, "registry %s is empty",
		    ulen == 0 ? "user" : "password");
	if (ulen > DOCKER_USER_MAX || pwlen > sizeof(dockercfg_plain) - 1 - ulen)
		return err_set(e, "registry user and password exceed "
		    "DOCKER_AUTH_MAX=%d bytes", DOCKER_AUTH_MAX);
	memcpy(dockercfg_plain, user, ulen);
	dockercfg_plain[ulen] = ':';
	memcpy(dockercfg_plain + ulen + 1, password, pwlen);
	return b64_encode((const uint8_t *)dockercfg_plain, ulen + 1 + pwlen,
	    dockercfg_auth, sizeof(dockercfg_auth), authlen, e);
}

static void
dockercfg_entry(struct jw *w, const char *reg, const char *user,
    const char *password, size_t pwlen, size_t authlen)
{
	jw_key(w, reg, strlen(reg));
	jw_object_open(w);
	jw_key(w, "username", 8);
	jw_string(w, user, strlen(user));
	jw_key(w, "password", 8);
	jw_string(w, password, pwlen);
	jw_key(w, "auth", 4);
	jw_string(w, dockercfg_auth, authlen);
	jw_object_close(w);
}

int
dockercfg_build(char *dst, size_t cap, size_t *len,
    const char *const *registries, size_t nregistries,
    const char *user, const char *password, size_t pwlen,
    struct err *e)
{
	size_t		order[REGISTRY_MAX], norder = 0, authlen = 0, i;
	struct jw	w;
	int		r;

	if (dockercfg_sort(registries, nregistries, order, &norder, e) < 0)
		return -1;
	jw_init(&w, dst, cap);
	r = dockercfg_auth_make(user, password, pwlen, &authlen, e);
	if (r == 0) {
		jw_object_open(&w);
		jw_key(&w, "auths", 5);
		jw_object_open(&w);
		for (i = 0; i < norder; i++)
			dockercfg_entry(&w, registries[order[i]], user,
			    password, pwlen, authlen);
		jw_object_close(&w);
		jw_object_close(&w);
		r = jw_finish(&w, len, ".dockerconfigjson", e);
	}
	explicit_bzero(dockercfg_plain, sizeof(dockercfg_plain));
	explicit_bzero(dockercfg_auth, sizeof(dockercfg_auth));
	if (r != 0)		/* what was written holds the token */
		explicit_bzero(dst, w.len < cap ? w.len : cap);
	return r;
}
