/*
 * dockercfg.h -- base64 and the .dockerconfigjson document, byte for
 * byte as kubectl (Go's encoding/json) writes it.
 */
#ifndef REGCRED_DOCKERCFG_H
#define REGCRED_DOCKERCFG_H

#include <stddef.h>
#include <stdint.h>

struct err;

#define DOCKERCFG_USER	"oauth2accesstoken"

/* Standard alphabet with padding; dst is NUL terminated. */
int	b64_encode(const uint8_t *src, size_t len, char *dst, size_t cap,
	    size_t *outlen, struct err *e);

/*
 * {"auths":{"<reg>":{"username":"<user>","password":"<pw>","auth":"<b64>"}}}
 * one entry per registry, sorted by bytes and de-duplicated.
 */
int	dockercfg_build(char *dst, size_t cap, size_t *len,
	    const char *const *registries, size_t nregistries,
	    const char *user, const char *password, size_t pwlen,
	    struct err *e);

#endif
