/*
 * kube.c -- writing the Secret through the Kubernetes API.
 *
 * Owns: the apply document (type kubernetes.io/dockerconfigjson, label
 * app.kubernetes.io/managed-by=regcred, annotation regcred/token-expiry),
 * the server-side apply PATCH per namespace (fieldManager=regcred,
 * force=true: creates or updates in place, so the Secret is never
 * absent), the Secret's entry in ServiceAccounts' imagePullSecrets (an
 * atomic list: JSON Patch, never a replace), and the API's Status
 * messages. Requests go over the caller's kept-alive connection. Never GET (the answer echoes the Secret: it is
 * not read, let alone logged) and never DELETE.
 */
#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "dockercfg.h"
#include "fetch.h"
#include "fmt.h"
#include "http.h"
#include "json.h"
#include "kube.h"
#include "log.h"

#define KUBE_TYPE	"kubernetes.io/dockerconfigjson"
#define KUBE_LABEL	"app.kubernetes.io/managed-by"
#define KUBE_EXPIRY	"regcred/token-expiry"
#define KUBE_QUERY	"?fieldManager=regcred&force=true"
/* The answer to an apply is the whole Secret: asked as metadata only, it
 * never brings the tokens back (a server without it sends JSON). */
#define KUBE_ACCEPT	"application/json;as=PartialObjectMetadata;" \
			"g=meta.k8s.io;v=v1, application/json"

static char	kube_b64[B64_LEN(DOCKERCFG_MAX) + 1];
static char	kube_doc[APPLY_DOC_MAX];
static char	kube_auth[TOKEN_MAX + 8];

static void
kube_str(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k, strlen(k));
	jw_string(w, v, strlen(v));
}

static int
kube_rfc3339(long long t, char *dst, size_t cap, struct err *e)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	int		n;

	/* not strftime: it drags in musl's time-zone code */
	if (gmtime_r(&tt, &tm) == NULL)
		return err_set(e, "token expiry time does not format");
	n = fmt_print(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= cap)
		return err_set(e, "token expiry time does not format");
	return 0;
}

int
kube_body(const char *ns, const char *name, const char *dockercfg,
    size_t cfglen, long long expires_at, char *dst, size_t cap, size_t *len,
    struct err *e)
{
	struct jw	w;
	char		when[32];
	size_t		blen;

	if (kube_rfc3339(expires_at, when, sizeof(when), e) != 0 ||
	    b64_encode((const uint8_t *)dockercfg, cfglen, kube_b64,
	    sizeof(kube_b64), &blen, e) != 0)
		return -1;
	jw_init(&w, dst, cap);
	jw_object_open(&w);
	kube_str(&w, "apiVersion", "v1");
	kube_str(&w, "kind", "Secret");
	jw_key(&w, "metadata", 8);
	jw_object_open(&w);
	kube_str(&w, "name", name);
	kube_str(&w, "namespace", ns);
	jw_key(&w, "labels", 6);
	jw_object_open(&w);
	kube_str(&w, KUBE_LABEL, "regcred");
	jw_object_close(&w);
	jw_key(&w, "annotations", 11);
	jw_object_open(&w);
	kube_str(&w, KUBE_EXPIRY, when);
	jw_object_close(&w);
	jw_object_close(&w);
	kube_str(&w, "type", KUBE_TYPE);
	jw_key(&w, "data", 4);
	jw_object_open(&w);
	jw_key(&w, ".dockerconfigjson", 17);
	jw_string(&w, kube_b64, blen);
	jw_object_close(&w);
	jw_object_close(&w);
	explicit_bzero(kube_b64, blen);		/* only what was used */
	if (jw_finish(&w, len, "Secret apply document (APPLY_DOC_MAX)",
	    e) != 0) {
		explicit_bzero(dst, w.len < cap ? w.len : cap);
		return -1;
	}
	return 0;
}

void
kube_error_message(const char *body, size_t len, char *dst, size_t cap)
{
	static struct json	j;
	struct err		e;
	char			msg[LOG_QUOTE_MAX * 4];
	size_t			n;
	int			found = 0;

	if (json_parse(&j, body, len, &e) != 0) {
		if (len == 0)
			log_quote(dst, cap, "(empty body)", 12);
		else
			log_quote(dst, cap, body, len);
		return;
	}
	/* JSON without a Status message may echo a Secret: never quote it */
	if (json_type(&j, 0) != JSON_OBJECT ||
	    json_get_string(&j, 0, "message", msg, sizeof(msg), &n, &found,
	    &e) != 0 || !found) {
		log_quote(dst, cap, "(no Status message)", 19);
		return;
	}
	log_quote(dst, cap, msg, n);
}

int
kube_url(const struct kube_target *t, const char *ns, const char *kind,
    const char *name, const char *query, struct url *u, struct err *e)
{
	int	n;

	memset(u, 0, sizeof(*u));
	n = fmt_print(u->host, sizeof(u->host), "%s", t->host);
	if (n < 0 || (size_t)n >= sizeof(u->host))
		return err_set(e, "API host exceeds HOST_MAX");
	memcpy(u->port, t->port, sizeof(u->port));
	u->ipv6 = strchr(t->host, ':') != NULL;
	n = fmt_print(u->path, sizeof(u->path),
	    "/api/v1/namespaces/%s/%s%s%s%s", ns, kind, name[0] ? "/" : "",
	    name, query);
	if (n < 0 || (size_t)n >= sizeof(u->path))
		return err_set(e, "API path exceeds URL_MAX");
	return 0;
}

int
kube_bearer(const struct kube_target *t, char *dst, size_t cap,
    struct err *e)
{
	int	n;

	n = fmt_print(dst, cap, "Bearer %.*s", (int)t->tokenlen, t->token);
	if (n < 0 || (size_t)n >= cap)
		return err_set(e, "service-account token exceeds TOKEN_MAX");
	return 0;
}

/* One PATCH of body (content type ct) to u, over t's connection. */
static int
kube_patch(const struct kube_target *t, const struct url *u, const char *ct,
    const char *accept, const char *body, size_t len, int64_t deadline_ms,
    const struct http_resp **r, struct fetch_call *fc, struct err *e)
{
	static struct http_hdr	h[4];

	if (kube_bearer(t, kube_auth, sizeof(kube_auth), e) != 0)
		return -1;
	h[0] = (struct http_hdr){ "Content-Type", ct };
	h[1] = (struct http_hdr){ "Accept", accept };
	h[2] = (struct http_hdr){ "User-Agent", "regcred/" BUILD_VERSION };
	h[3] = (struct http_hdr){ "Authorization", kube_auth };
	*fc = (struct fetch_call){ "kube", "PATCH", u, t->server_name,
	    t->anchors, h, 4, body, len, t->dial, t->conn };
	return fetch_call(fc, deadline_ms, r, e);
}

static int
kube_status(const struct fetch_call *fc, const struct http_resp *r,
    struct err *e)
{
	char	what[URL_MAX + 32], msg[LOG_QUOTE_MAX + 8];

	if (r->status == 200 || r->status == 201)
		return 0;
	fetch_describe(fc, what, sizeof(what));
	kube_error_message((const char *)r->body, r->bodylen, msg, sizeof(msg));
	return err_set(e, "%s: HTTP %d: %s%s", what, r->status, msg,
	    r->status == 422 ? " (the existing Secret was left as it is)" :
	    r->status == 403 ? " (check the Role and its RoleBinding in this "
	    "namespace: regcred needs create and "
	    "patch on this Secret)" : "");
}

/* metadata.resourceVersion of the answer, "" when absent or unusable. */
static void
kube_rv(const struct http_resp *r, char *rv, size_t cap)
{
	static struct json	j;
	struct err		e;
	size_t			n;
	int			md;

	if (rv == NULL || cap == 0)
		return;
	rv[0] = '\0';
	if (json_parse(&j, (const char *)r->body, r->bodylen, &e) != 0 ||
	    json_get_object(&j, 0, "metadata", &md, &e) != 0 ||
	    json_get_string(&j, md, "resourceVersion", rv, cap, &n, NULL,
	    &e) != 0)
		rv[0] = '\0';
}

int
kube_apply(const struct kube_target *t, const char *ns, const char *dockercfg,
    size_t cfglen, long long expires_at, int64_t deadline_ms, char *rv,
    size_t rvcap, struct err *e)
{
	const struct http_resp	*r;
	struct fetch_call	 fc;
	struct url		 u;
	size_t			 len = 0;
	int			 rc = -1;

	if (kube_url(t, ns, "secrets", t->secret, KUBE_QUERY, &u, e) != 0)
		return -1;
	if (kube_body(ns, t->secret, dockercfg, cfglen, expires_at,
	    kube_doc, sizeof(kube_doc), &len, e) != 0)
		goto done;
	if (kube_patch(t, &u, "application/apply-patch+yaml", KUBE_ACCEPT,
	    kube_doc, len, deadline_ms, &r, &fc, e) == 0 &&
	    (rc = kube_status(&fc, r, e)) == 0)
		kube_rv(r, rv, rvcap);
done:
	explicit_bzero(kube_doc, len);		/* only what was used */
	explicit_bzero(kube_auth, sizeof(kube_auth));
	fetch_wipe();
	return rc;
}

/* ---- the Secret in a ServiceAccount's imagePullSecrets ---------------- */

#define KUBE_JSON_PATCH	"application/json-patch+json"
#define KUBE_SA_QUERY	"?fieldManager=regcred"
#define KUBE_SA_TRIES	3	/* reads and appends raced by other writers */

static char	kube_sa_body[1024];

/* [{"op":"test","path":P,"value":V}, then an add of the Secret if add] */
static int
kube_sa_doc(const struct kube_target *t, const char *path, const char *value,
    int add, int has_list, size_t *len, struct err *e)
{
	struct jw	w;

	jw_init(&w, kube_sa_body, sizeof(kube_sa_body));
	jw_array_open(&w);
	jw_object_open(&w);
	kube_str(&w, "op", "test");
	kube_str(&w, "path", path);
	kube_str(&w, "value", value);
	jw_object_close(&w);
	if (add) {
		jw_object_open(&w);
		kube_str(&w, "op", "add");
		kube_str(&w, "path", has_list ? "/imagePullSecrets/-" :
		    "/imagePullSecrets");
		jw_key(&w, "value", 5);
		if (!has_list)
			jw_array_open(&w);
		jw_object_open(&w);
		kube_str(&w, "name", t->secret);
		jw_object_close(&w);
		if (!has_list)
			jw_array_close(&w);
		jw_object_close(&w);
	}
	jw_array_close(&w);
	return jw_finish(&w, len, "ServiceAccount patch", e);
}

/* From a ServiceAccount: its resourceVersion, whether imagePullSecrets
 * exists and whether it names the Secret. */
static int
kube_sa_parse(const struct kube_target *t, const struct http_resp *r,
    char *rv, size_t rvcap, int *has_list, int *present, struct err *e)
{
	static struct json	j;
	char			name[NAME_MAX_REGCRED + 1];
	size_t			n;
	int			md, list, el, i, found;

	*has_list = *present = 0;
	if (json_parse(&j, (const char *)r->body, r->bodylen, e) != 0 ||
	    json_get_object(&j, 0, "metadata", &md, e) != 0 ||
	    json_get_string(&j, md, "resourceVersion", rv, rvcap, &n, NULL,
	    e) != 0)
		return err_prefix(e, "the ServiceAccount in the answer");
	if ((found = json_find(&j, 0, "imagePullSecrets", &list, e)) < 0)
		return -1;
	if (!found || json_type(&j, list) == JSON_NULL)
		return 0;
	if (json_type(&j, list) != JSON_ARRAY)
		return err_set(e, "imagePullSecrets is not a list");
	*has_list = 1;
	for (i = 0, el = list + 1; i < j.tok[list].size; i++,
	    el = json_skip(&j, el)) {
		if (json_get_string(&j, el, "name", name, sizeof(name), &n,
		    &found, e) != 0)	/* also refuses a non-object */
			return err_prefix(e, "imagePullSecrets[%d]", i);
		if (found && strcmp(name, t->secret) == 0)
			*present = 1;
	}
	return 0;
}

/* One JSON Patch; 1 when a test failed (422), 0 done, -1 failed. */
static int
kube_sa_patch(const struct kube_target *t, const char *ns, const char *sa,
    size_t len, int64_t deadline_ms, char *rv, size_t rvcap, int *has_list,
    int *present, struct err *e)
{
	const struct http_resp	*r;
	struct fetch_call	 fc;
	struct url		 u;
	int			 rc;

	if (kube_url(t, ns, "serviceaccounts", sa, KUBE_SA_QUERY, &u, e) != 0 ||
	    kube_patch(t, &u, KUBE_JSON_PATCH, "application/json",
	    kube_sa_body, len, deadline_ms, &r, &fc, e) != 0)
		return -1;
	if (kube_status(&fc, r, e) != 0)
		rc = r->status == 422 && rv == NULL ? 1 : -1;
	else
		rc = rv == NULL ? 0 : kube_sa_parse(t, r, rv, rvcap, has_list,
		    present, e);
	fetch_wipe();
	return rc;
}

int
kube_sa_ensure(const struct kube_target *t, const char *ns, const char *sa,
    int64_t deadline_ms, int *added, struct err *e)
{
	char	rv[128];
	size_t	len;
	int	try, has_list, present, r;

	*added = 0;
	for (try = 0; try < KUBE_SA_TRIES; try++) {
		/* a test that always holds: the answer is the object */
		if (kube_sa_doc(t, "/metadata/name", sa, 0, 0, &len, e) != 0 ||
		    kube_sa_patch(t, ns, sa, len, deadline_ms, rv, sizeof(rv),
		    &has_list, &present, e) != 0)
			goto out;
		if (present)
			break;
		if (kube_sa_doc(t, "/metadata/resourceVersion", rv, 1,
		    has_list, &len, e) != 0 ||
		    (r = kube_sa_patch(t, ns, sa, len, deadline_ms, NULL, 0,
		    NULL, NULL, e)) < 0)
			goto out;
		if (r == 0) {
			*added = 1;
			break;
		}
	}
	explicit_bzero(kube_auth, sizeof(kube_auth));
	if (try == KUBE_SA_TRIES)
		return err_prefix(e, "ServiceAccount %s/%s: %d attempts to "
		    "add %s to imagePullSecrets were refused (changed "
		    "meanwhile?); the last", ns, sa, KUBE_SA_TRIES, t->secret);
	return 0;
out:
	explicit_bzero(kube_auth, sizeof(kube_auth));
	return -1;
}
