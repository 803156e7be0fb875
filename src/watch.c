/*
 * watch.c -- a Kubernetes watch of one Secret.
 *
 * Owns: the watch request (metadata only: the events never carry the
 * Secret's data when the server honours PartialObjectMetadata; they are
 * wiped as they are consumed anyway), reading its chunked stream without
 * blocking, cutting it into newline-delimited events of at most
 * WATCH_EVENT_MAX bytes, and parsing each (type, resourceVersion, an
 * ERROR's Status). What an event means is refresh.c's business.
 */
#include <string.h>

#include "buildinfo.h"
#include "dial.h"
#include "fmt.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "watch.h"

#define WATCH_ACCEPT	"application/json;as=PartialObjectMetadata;" \
			"g=meta.k8s.io;v=v1, application/json"

static uint8_t	watch_req[URL_MAX + TOKEN_MAX + 1024];
static char	watch_auth[TOKEN_MAX + 8];

static int
watch_request(const struct watch *w, const struct kube_target *t,
    size_t *len, struct err *e)
{
	char		query[URL_MAX];
	char		host[HOST_MAX + 10];
	struct http_hdr	h[3];
	struct url	u;
	struct http_req	r;
	int		n;

	n = fmt_print(query, sizeof(query), "?allowWatchBookmarks=true"
	    "&fieldSelector=metadata.name%%3D%s%s%s&timeoutSeconds=%d"
	    "&watch=true", t->secret, w->rv[0] ? "&resourceVersion=" : "",
	    w->rv, WATCH_TIMEOUT_S);
	if (n < 0 || (size_t)n >= sizeof(query))
		return err_set(e, "watch path exceeds URL_MAX");
	if (kube_url(t, w->ns, "secrets", "", query, &u, e) != 0 ||
	    url_hostport(&u, host, sizeof(host), e) != 0 ||
	    kube_bearer(t, watch_auth, sizeof(watch_auth), e) != 0)
		return -1;
	h[0] = (struct http_hdr){ "Accept", WATCH_ACCEPT };
	h[1] = (struct http_hdr){ "User-Agent", "regcred/" BUILD_VERSION };
	h[2] = (struct http_hdr){ "Authorization", watch_auth };
	r = (struct http_req){ "GET", host, u.path, h, 3, NULL, 0, 0 };
	return http_request_write((char *)watch_req, sizeof(watch_req), len,
	    &r, e);
}

/* Touches nothing of a watch never opened (its pages stay untouched). */
void
watch_close(struct watch *w)
{
	tls_conn_close(&w->conn);
	if (w->resp.bodylen > 0)
		explicit_bzero(w->buf, w->resp.bodylen < sizeof(w->buf) ?
		    w->resp.bodylen : sizeof(w->buf));
	w->resp.bodylen = 0;
	w->open = 0;
}

int
watch_start(struct watch *w, const struct kube_target *t,
    int64_t deadline_ms, struct err *e)
{
	struct tls_peer	p = { t->dial, t->host, t->port, t->server_name,
	    t->anchors, 0 };
	char		msg[LOG_QUOTE_MAX + 8];
	size_t		len = 0;
	int		r;

	tls_conn_init(&w->conn);
	http_resp_init(&w->resp, w->buf, sizeof(w->buf));
	r = watch_request(w, t, &len, e);
	if (r == 0)
		r = tls_stream_open(&w->conn, &p, watch_req, len, &w->resp,
		    deadline_ms, e);
	explicit_bzero(watch_req, len);
	explicit_bzero(watch_auth, sizeof(watch_auth));
	if (r == 0 && w->resp.status != 200) {
		kube_error_message((const char *)w->resp.body,
		    w->resp.bodylen, msg, sizeof(msg));
		r = err_set(e, "watch of Secret %s/%s: HTTP %d: %s%s", w->ns,
		    t->secret, w->resp.status, msg, w->resp.status == 403 ?
		    " (the Role needs watch on this Secret)" : "");
	}
	if (r != 0) {
		watch_close(w);
		if (w->resp.status == 410)	/* as the ERROR event's 410 */
			w->rv[0] = '\0';
		return w->resp.status == 401 ? -2 : -1;
	}
	w->open = 1;
	w->seen_ms = dial_now_ms();
	return 0;
}

static int
watch_type_parse(const char *s, enum watch_type *t)
{
	static const struct { char name[9]; enum watch_type t; } m[] = {
	    { "ADDED", WATCH_ADDED }, { "MODIFIED", WATCH_MODIFIED },
	    { "DELETED", WATCH_DELETED }, { "BOOKMARK", WATCH_BOOKMARK } };
	size_t	i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(s, m[i].name) == 0) {
			*t = m[i].t;
			return 0;
		}
	return -1;
}

/* An ERROR event's Status: 410 Gone, or a failure quoting it. */
static int
watch_error_event(const struct json *j, int obj, struct watch_event *ev,
    struct err *e)
{
	char		msg[LOG_QUOTE_MAX * 4], q[LOG_QUOTE_MAX + 8];
	long long	code = 0;
	size_t		n = 0;
	int		found;

	if (json_get_int(j, obj, "code", 100, 599, 0, &code, &found, e) != 0)
		return err_prefix(e, "watch ERROR event");
	if (code == 410) {
		ev->type = WATCH_GONE;
		return 0;
	}
	if (json_get_string(j, obj, "message", msg, sizeof(msg), &n, &found,
	    e) != 0 || !found)
		n = 0;
	log_quote(q, sizeof(q), msg, n);
	return err_set(e, "watch ERROR event: code %lld: %s", code, q);
}

int
watch_event_parse(const char *line, size_t len, const char *name,
    struct watch_event *ev, struct err *e)
{
	static struct json	j;
	char			type[16], got[NAME_MAX_REGCRED + 1];
	char			q[LOG_QUOTE_MAX + 8];
	size_t			n;
	int			obj, md;

	memset(ev, 0, sizeof(*ev));
	if (json_parse(&j, line, len, e) != 0 ||	/* a non-object root: */
	    json_get_string(&j, 0, "type", type, sizeof(type), &n, NULL,
	    e) != 0 ||				/* json_find says so */
	    json_get_object(&j, 0, "object", &obj, e) != 0)
		return err_prefix(e, "watch event");
	if (strcmp(type, "ERROR") == 0)
		return watch_error_event(&j, obj, ev, e);
	if (watch_type_parse(type, &ev->type) != 0) {
		log_quote(q, sizeof(q), type, n);
		return err_set(e, "watch event of unknown type \"%s\"", q);
	}
	if (json_get_object(&j, obj, "metadata", &md, e) != 0 ||
	    json_get_string(&j, md, "resourceVersion", ev->rv, sizeof(ev->rv),
	    &n, NULL, e) != 0)
		return err_prefix(e, "watch event");
	if (ev->rv[0] == '\0')	/* the next watch would start from now */
		return err_set(e, "watch event with an empty resourceVersion");
	if (ev->type == WATCH_BOOKMARK)
		return 0;
	if (json_get_string(&j, md, "name", got, sizeof(got), &n, NULL,
	    e) != 0)
		return err_prefix(e, "watch event metadata");
	if (strcmp(got, name) != 0) {
		log_quote(q, sizeof(q), got, n);
		return err_set(e, "watch event for \"%s\", not the Secret \"%s\"",
		    q, name);
	}
	return 0;
}

/* Takes the first complete line out of the buffer; 0 when none. */
static int
watch_line(struct watch *w, const char *name, struct watch_event *ev,
    struct err *e)
{
	uint8_t	*nl = memchr(w->buf, '\n', w->resp.bodylen);
	size_t	 used, rest;
	int	 r;

	if (nl == NULL)
		return 0;
	used = (size_t)(nl - w->buf) + 1;
	rest = w->resp.bodylen - used;
	r = watch_event_parse((const char *)w->buf, used - 1, name, ev, e);
	memmove(w->buf, w->buf + used, rest);
	explicit_bzero(w->buf + rest, used);
	w->resp.bodylen = rest;
	return r == 0 ? 1 : -1;
}

int
watch_next(struct watch *w, const struct kube_target *t,
    struct watch_event *ev, struct err *e)
{
	int	r;

	for (;;) {
		if ((r = watch_line(w, t->secret, ev, e)) != 0)
			break;
		if (w->resp.bodylen > WATCH_EVENT_MAX) {
			r = err_set(e, "a watch event exceeds WATCH_EVENT_MAX "
			    "(%d bytes)", WATCH_EVENT_MAX);
			break;
		}
		r = tls_stream_read(&w->conn, &w->resp, e);
		if (r == 2) {
			w->seen_ms = dial_now_ms();
			continue;
		}
		if (r == 0 && dial_now_ms() - w->seen_ms > WATCH_IDLE_S * 1000)
			r = err_set(e, "the watch was silent for %d s",
			    WATCH_IDLE_S);
		if (r == 0)
			return 0;
		r = r == 1 ? 2 : -1;	/* ended by the server, or failed */
		break;
	}
	if (r == 1 && ev->type == WATCH_GONE) {
		w->rv[0] = '\0';	/* too old: from now on */
		r = 2;
	} else if (r == 1) {
		memcpy(w->rv, ev->rv, sizeof(w->rv));
		return 1;
	}
	watch_close(w);
	return r;
}
