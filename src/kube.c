/*
 * kube.c -- writing the Secret through the Kubernetes API.
 *
 * Owns: the apply document (type kubernetes.io/dockerconfigjson, label
 * app.kubernetes.io/managed-by=regcred, annotation regcred/token-expiry),
 * the one server-side apply PATCH (fieldManager=regcred, force=true:
 * creates or updates in place, so the Secret is never absent), and the
 * API's Status messages. Never GET (the answer echoes the Secret: it is
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

static int
kube_path(const struct kube_target *t, struct url *u, struct err *e)
{
	int	n;

	memset(u, 0, sizeof(*u));
	n = fmt_print(u->host, sizeof(u->host), "%s", t->host);
	if (n < 0 || (size_t)n >= sizeof(u->host))
		return err_set(e, "API host exceeds HOST_MAX");
	memcpy(u->port, t->port, sizeof(u->port));
	u->ipv6 = strchr(t->host, ':') != NULL;
	n = fmt_print(u->path, sizeof(u->path),
	    "/api/v1/namespaces/%s/secrets/%s" KUBE_QUERY, t->ns, t->secret);
	if (n < 0 || (size_t)n >= sizeof(u->path))
		return err_set(e, "API path exceeds URL_MAX");
	return 0;
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
	    r->status == 403 ? " (check the Role: regcred needs create and "
	    "patch on this Secret)" : "");
}

int
kube_apply(const struct kube_target *t, const struct anchors *a,
    const struct dial_table *d, const char *dockercfg, size_t cfglen,
    long long expires_at, int64_t deadline_ms, struct err *e)
{
	const struct http_resp	*r;
	struct http_hdr		 h[4];
	struct fetch_call	 fc;
	struct url		 u;
	size_t			 len = 0;
	int			 n, rc = -1;

	if (kube_path(t, &u, e) != 0)
		return -1;
	n = fmt_print(kube_auth, sizeof(kube_auth), "Bearer %.*s",
	    (int)t->tokenlen, t->token);
	if (n < 0 || (size_t)n >= sizeof(kube_auth)) {
		err_set(e, "service-account token exceeds TOKEN_MAX");
		goto done;
	}
	if (kube_body(t->ns, t->secret, dockercfg, cfglen, expires_at,
	    kube_doc, sizeof(kube_doc), &len, e) != 0)
		goto done;
	h[0] = (struct http_hdr){ "Content-Type", "application/apply-patch+yaml" };
	h[1] = (struct http_hdr){ "Accept", KUBE_ACCEPT };
	h[2] = (struct http_hdr){ "User-Agent", "regcred/" BUILD_VERSION };
	h[3] = (struct http_hdr){ "Authorization", kube_auth };
	fc = (struct fetch_call){ "kube", "PATCH", &u, t->server_name, a, h, 4,
	    kube_doc, len, d };
	if (fetch_call(&fc, deadline_ms, &r, e) == 0)
		rc = kube_status(&fc, r, e);
done:
	explicit_bzero(kube_doc, len);		/* only what was used */
	explicit_bzero(kube_auth, sizeof(kube_auth));
	fetch_wipe();
	return rc;
}
