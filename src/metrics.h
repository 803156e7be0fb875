/*
 * metrics.h -- the --metrics-addr listener: GET /metrics (Prometheus text
 * format 0.0.4) and GET /healthz over plain HTTP/1.1, driven by the
 * parent's poll loop and never blocking it.
 *
 * At most METRICS_CONNS_MAX connections at once (more wait in the
 * listen backlog), one request each, answered with Connection: close;
 * a request line and headers of at most METRICS_REQUEST_MAX bytes; the
 * whole exchange (request, answer, lingering close) within
 * METRICS_TIMEOUT_MS of the accept. No allocation: every buffer is in
 * struct metrics.
 *
 * Answers: GET or HEAD /metrics (query ignored) 200 text/plain;
 * version=0.0.4; GET or HEAD /healthz 200 "ok\n"; another method on those
 * paths 405 (Allow: GET, HEAD); any other path 404; a malformed request,
 * HTTP/1.1 without exactly one Host, a request with a body, or one over
 * METRICS_REQUEST_MAX 400.
 */
#ifndef REGCRED_METRICS_H
#define REGCRED_METRICS_H

#include <sys/socket.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct err;
struct state;

/* What a request asks for, once its header block is complete. */
enum metrics_route {
	METRICS_MORE,		/* header block not complete yet */
	METRICS_METRICS,	/* GET /metrics */
	METRICS_HEALTHZ,	/* GET /healthz */
	METRICS_NOT_FOUND,	/* 404 */
	METRICS_NOT_ALLOWED,	/* 405: a known path, another method */
	METRICS_BAD		/* 400: malformed, or over the size cap */
};

struct metrics_req {
	enum metrics_route	route;
	int			head;	/* HEAD: no body in the answer */
	size_t			used;	/* bytes of the header block */
};

enum metrics_phase { METRICS_FREE, METRICS_READ, METRICS_WRITE,
    METRICS_DRAIN };

struct metrics_conn {
	int			fd;
	enum metrics_phase	phase;
	int64_t			deadline_ms;
	size_t			inlen;
	char			in[METRICS_REQUEST_MAX];
	size_t			outpos;		/* next byte to send */
	size_t			outend;		/* end of what is sent */
	char			out[METRICS_RESPONSE_MAX];
};

struct metrics {
	int			fd;		/* listener; -1 when off */
	int64_t			pause_ms;	/* accept failed (EMFILE...):
						   not polled until then */
	struct metrics_conn	c[METRICS_CONNS_MAX];
};

/* The most descriptors metrics_pollfds gives: the listener and each
 * connection. */
#define METRICS_POLLFDS		(1 + METRICS_CONNS_MAX)

/*
 * "HOST:PORT" or "[V6]:PORT" with a numeric address (no resolver) and a
 * port 0..65535 (0: any free port) into sa.
 */
int	metrics_addr_parse(const char *hostport, struct sockaddr_storage *sa,
	    socklen_t *salen, struct err *e);

/* m off: metrics_pollfds gives nothing, metrics_close does nothing. */
void	metrics_init(struct metrics *m);
/* Binds and listens (non-blocking, CLOEXEC, SO_REUSEADDR). */
int	metrics_open(struct metrics *m, const char *hostport, struct err *e);
/* The bound port (for port 0); -1 when off. */
int	metrics_port(const struct metrics *m);

/* The descriptors to poll, with their events; returns how many (at most
 * METRICS_POLLFDS; fewer when cap is smaller). The listener is left out
 * while every slot is taken, and for a moment after accept failed for
 * want of descriptors or memory (so that poll does not spin). */
size_t	metrics_pollfds(const struct metrics *m, struct pollfd *p, size_t cap);
/* Milliseconds until the earliest connection deadline (0 when one has
 * passed), -1 when there is none: the longest the caller may poll. */
int	metrics_timeout(const struct metrics *m, int64_t now_ms);
/*
 * Does what poll's answer allows, without blocking: accepts, reads,
 * answers from s, writes, closes; closes connections past their deadline.
 * p may hold descriptors that are not the listener's (they are skipped).
 */
void	metrics_serve(struct metrics *m, const struct pollfd *p, size_t n,
	    const struct state *s, int64_t now_ms);
/* Closes the listener and every connection. */
void	metrics_close(struct metrics *m);

/*
 * The parser, for untrusted bytes: judges buf[0..len) as a request line
 * and header block. METRICS_MORE while it is not complete and len < cap;
 * once complete (or at cap), the verdict depends on the header block only.
 */
void	metrics_parse(const char *buf, size_t len, size_t cap,
	    struct metrics_req *r);
/*
 * The whole answer for r from s into buf; *start: where it begins (the
 * headers are written just before the body); returns its end, 0 if it
 * did not fit.
 */
size_t	metrics_answer(const struct metrics_req *r, const struct state *s,
	    char *buf, size_t cap, size_t *start);

#endif
