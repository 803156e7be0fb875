/*
 * kube.h -- the Kubernetes API: one server-side apply PATCH of the
 * kubernetes.io/dockerconfigjson Secret per namespace (fieldManager=
 * regcred, force=true), and the Secret's place in a ServiceAccount's
 * imagePullSecrets (JSON Patch). Never GET, never DELETE.
 */
#ifndef REGCRED_KUBE_H
#define REGCRED_KUBE_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

struct err;
struct url;
struct anchors;
struct dial_table;
struct tls_conn;

struct kube_target {
	char			 host[HOST_MAX];
	char			 port[6];
	char			 server_name[HOST_MAX];
	char			 secret[NAME_MAX_REGCRED + 1];
	char			 token[TOKEN_MAX + 1];	/* bearer, wiped */
	size_t			 tokenlen;
	const struct anchors	*anchors;	/* the API server's CA */
	const struct dial_table	*dial;
	struct tls_conn		*conn;		/* kept alive across calls */
};

/* The apply document for the Secret. */
int	kube_body(const char *ns, const char *name, const char *dockercfg,
	    size_t cfglen, long long expires_at, char *dst, size_t cap,
	    size_t *len, struct err *e);
/* message from a metav1.Status body; falls back to the raw body. */
void	kube_error_message(const char *body, size_t len, char *dst,
	    size_t cap);
/* /api/v1/namespaces/NS/KIND[/NAME]QUERY on t's API server (name ""
 * for the collection; query "" or from its "?"). */
int	kube_url(const struct kube_target *t, const char *ns, const char *kind,
	    const char *name, const char *query, struct url *u, struct err *e);
/* "Bearer TOKEN" of t's service-account token into dst. */
int	kube_bearer(const struct kube_target *t, char *dst, size_t cap,
	    struct err *e);
/* rv (rvcap bytes, may be NULL): the Secret's resourceVersion after the
 * apply, "" when the answer does not say. */
int	kube_apply(const struct kube_target *t, const char *ns,
	    const char *dockercfg, size_t cfglen, long long expires_at,
	    int64_t deadline_ms, char *rv, size_t rvcap, struct err *e);
/*
 * Makes sure ServiceAccount sa in ns lists the Secret in its
 * imagePullSecrets. The list is atomic (listType=atomic, no patch
 * strategy: an apply or a strategic merge patch would replace it), so:
 * a JSON Patch holding only a test reads the list (needs patch, not
 * get); when the Secret is missing, a JSON Patch tests the
 * resourceVersion read and appends it, keeping every other entry in its
 * place (a concurrent change fails the test and the read is redone).
 * *added says whether it was appended.
 */
int	kube_sa_ensure(const struct kube_target *t, const char *ns,
	    const char *sa, int64_t deadline_ms, int *added, struct err *e);

#endif
