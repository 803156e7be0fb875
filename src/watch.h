/*
 * watch.h -- watching one Secret in one namespace: a Kubernetes watch
 * (GET ...?watch=true&fieldSelector=metadata.name=NAME, metadata only)
 * over its own connection, read without ever blocking, one event at a
 * time. Caller-owned state (static: no heap).
 */
#ifndef REGCRED_WATCH_H
#define REGCRED_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "limits.h"
#include "tls.h"

struct err;
struct kube_target;

enum watch_type { WATCH_ADDED, WATCH_MODIFIED, WATCH_DELETED,
    WATCH_BOOKMARK, WATCH_GONE };

struct watch_event {
	enum watch_type	type;
	char		rv[WATCH_RV_MAX];	/* the object's resourceVersion */
};

struct watch {
	struct tls_conn		conn;
	struct http_resp	resp;
	uint8_t			buf[WATCH_BUF_MAX];	/* events arriving */
	char			ns[NAME_MAX_REGCRED + 1];
	char			rv[WATCH_RV_MAX];	/* resume from; "" now */
	int			open;
	int64_t			seen_ms;	/* last bytes (monotonic) */
};

/* Opens the watch from w->rv (or from now when ""), bounded by
 * deadline_ms; a status other than 200 is an error quoting the server:
 * -2 for 401 (the service-account token read for this refresh expired),
 * else -1 (410 Gone clears w->rv, as the ERROR event does). */
int	watch_start(struct watch *w, const struct kube_target *t,
	    int64_t deadline_ms, struct err *e);
/*
 * Never waits. 1: an event in ev (w->rv follows it); 0: none yet (poll
 * w->conn.fd); 2: the watch ended (the server's timeout, or an ERROR
 * event: 410 Gone clears w->rv) and is closed; -1: it failed (e) and is
 * closed.
 */
int	watch_next(struct watch *w, const struct kube_target *t,
	    struct watch_event *ev, struct err *e);
void	watch_close(struct watch *w);
/* One event line: ADDED, MODIFIED, DELETED, BOOKMARK, or ERROR (410 is
 * WATCH_GONE, any other an error quoting its message). The object must be
 * the Secret `name` (a BOOKMARK names none). For tests and fuzzing too. */
int	watch_event_parse(const char *line, size_t len, const char *name,
	    struct watch_event *ev, struct err *e);

#endif
