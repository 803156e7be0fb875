/*
 * kube.h -- the Kubernetes API: one server-side apply PATCH of the
 * kubernetes.io/dockerconfigjson Secret (fieldManager=regcred,
 * force=true). Never GET, never DELETE.
 */
#ifndef REGCRED_KUBE_H
#define REGCRED_KUBE_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

struct err;
struct anchors;
struct dial_table;

struct kube_target {
	char		host[HOST_MAX];
	char		port[6];
	char		hostport[HOST_MAX + 10];	/* Host header */
	char		server_name[HOST_MAX];
	char		ns[NAME_MAX_REGCRED + 1];
	char		secret[NAME_MAX_REGCRED + 1];
	char		token[TOKEN_MAX + 1];		/* bearer, wiped */
	size_t		tokenlen;
};

/* The apply document for the Secret. */
int	kube_body(const char *ns, const char *name, const char *dockercfg,
	    size_t cfglen, long long expires_at, char *dst, size_t cap,
	    size_t *len, struct err *e);
/* message from a metav1.Status body; falls back to the raw body. */
void	kube_error_message(const char *body, size_t len, char *dst,
	    size_t cap);
int	kube_apply(const struct kube_target *t, const struct anchors *a,
	    const struct dial_table *d, const char *dockercfg, size_t cfglen,
	    long long expires_at, int64_t deadline_ms, struct err *e);

#endif
