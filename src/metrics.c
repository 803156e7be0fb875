/*
 * metrics.c -- the --metrics-addr listener.
 *
 * Owns: parsing the numeric HOST:PORT, the listening socket, at most
 * METRICS_CONNS_MAX connections driven by the caller's poll loop (every
 * call returns at once: a slow or silent client costs a slot until its
 * deadline, never a wait), the request parser for untrusted bytes (a
 * cursor over the request line and header block), and the answers: the
 * Prometheus text format (0.0.4) rendered from struct state, /healthz,
 * 404, 405 and 400. Every byte lives in struct metrics; nothing is
 * allocated per request.
 */
#define _GNU_SOURCE		/* accept4 (glibc; musl has it by default) */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "fmt.h"
#include "metrics.h"
#include "state.h"

#define METRICS_BACKLOG		16	/* connections waiting for a slot */
#define METRICS_PAUSE_MS	250	/* after accept failed for want of
					   descriptors or memory */
#define METRICS_PORT_MAX	65535

_Static_assert(METRICS_RESPONSE_MAX > METRICS_HEAD_MAX,
    "the body goes after room for the headers");

/* ---- the address ------------------------------------------------------ */

static int
metrics_port_parse(const char *s, in_port_t *port)
{
	size_t		i;
	unsigned long	v = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > METRICS_PORT_MAX)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

/* The numeric host (copied out of hostport) and the port after it. */
static int
metrics_addr_split(const char *hp, size_t len, char *host, int *v6,
    const char **port)
{
	const char	*close, *colon;
	size_t		 hlen;

	*v6 = hp[0] == '[';
	if (*v6) {
		if ((close = memchr(hp, ']', len)) == NULL)
			return -1;
		hlen = (size_t)(close - hp) - 1;
		memcpy(host, hp + 1, hlen);
		colon = close + 1;
	} else {
		if ((colon = memchr(hp, ':', len)) == NULL)
			return -1;
		hlen = (size_t)(colon - hp);
		memcpy(host, hp, hlen);
	}
	host[hlen] = '\0';
	if (*colon != ':')
		return -1;
	*port = colon + 1;
	return 0;
}

static int
metrics_sa_fill(const char *host, int v6, in_port_t port,
    struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in	s4;
	struct sockaddr_in6	s6;

	memset(sa, 0, sizeof(*sa));
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (v6) {
		if (inet_pton(AF_INET6, host, &s6.sin6_addr) != 1)
			return -1;
		s6.sin6_family = AF_INET6;
		s6.sin6_port = port;
		memcpy(sa, &s6, sizeof(s6));
		*salen = sizeof(s6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4.sin_addr) != 1)
		return -1;
	s4.sin_family = AF_INET;
	s4.sin_port = port;
	memcpy(sa, &s4, sizeof(s4));
	*salen = sizeof(s4);
	return 0;
}

int
metrics_addr_parse(const char *hp, struct sockaddr_storage *sa,
    socklen_t *salen, struct err *e)
{
	char		 host[METRICS_ADDR_MAX];
	const char	*port;
	size_t		 len = strnlen(hp, METRICS_ADDR_MAX);
	in_port_t	 p;
	int		 v6;

	if (len >= METRICS_ADDR_MAX)
		return err_set(e, "metrics address is too long (limit "
		    "METRICS_ADDR_MAX: at most %d bytes)", METRICS_ADDR_MAX - 1);
	if (len == 0 || metrics_addr_split(hp, len, host, &v6, &port) != 0)
		return err_set(e, "metrics address \"%s\": want HOST:PORT or "
		    "[IPv6]:PORT", hp);
	if (metrics_port_parse(port, &p) != 0)
		return err_set(e, "metrics address \"%s\": the port must be "
		    "0 to %d", hp, METRICS_PORT_MAX);
	if (metrics_sa_fill(host, v6, p, sa, salen) != 0)
		return err_set(e, "metrics address \"%s\": \"%s\" is not a "
		    "numeric %s address (no names: nothing is resolved%s)", hp,
		    host, v6 ? "IPv6" : "IPv4", v6 ? "" :
		    "; IPv6 goes in brackets; 0.0.0.0 listens on all");
	return 0;
}

/* ---- the listener ------------------------------------------------------ */

void
metrics_init(struct metrics *m)
{
	size_t	i;

	m->fd = -1;
	m->pause_ms = 0;
	for (i = 0; i < METRICS_CONNS_MAX; i++) {
		m->c[i].fd = -1;
		m->c[i].phase = METRICS_FREE;
		m->c[i].inlen = 0;
	}
}

int
metrics_open(struct metrics *m, const char *hostport, struct err *e)
{
	struct sockaddr_storage	sa;
	socklen_t		salen;
	int			fd, one = 1, saved;

	metrics_init(m);
	if (metrics_addr_parse(hostport, &sa, &salen, e) != 0)
		return -1;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return err_set(e, "metrics address %s: socket: %s", hostport,
		    strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&sa, salen) != 0 ||
	    listen(fd, METRICS_BACKLOG) != 0) {
		saved = errno;
		(void)close(fd);
		return err_set(e, "metrics address %s: %s", hostport,
		    strerror(saved));
	}
	m->fd = fd;
	return 0;
}

int
metrics_port(const struct metrics *m)
{
	struct sockaddr_storage	sa;
	struct sockaddr_in	s4;
	struct sockaddr_in6	s6;
	socklen_t		len = sizeof(sa);

	if (m->fd < 0 || getsockname(m->fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	if (sa.ss_family == AF_INET6) {
		memcpy(&s6, &sa, sizeof(s6));
		return ntohs(s6.sin6_port);
	}
	memcpy(&s4, &sa, sizeof(s4));
	return ntohs(s4.sin_port);
}

size_t
metrics_pollfds(const struct metrics *m, struct pollfd *p, size_t cap)
{
	size_t	i, n = 0;
	int	slot = 0;

	if (m->fd < 0)
		return 0;
	for (i = 0; i < METRICS_CONNS_MAX; i++)
		slot |= m->c[i].phase == METRICS_FREE;
	if (slot && m->pause_ms == 0 && n < cap) {		/* else new ones wait in the backlog */
		p[n].fd = m->fd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	for (i = 0; i < METRICS_CONNS_MAX && n < cap; i++) {
		if (m->c[i].phase == METRICS_FREE)
			continue;
		p[n].fd = m->c[i].fd;
		p[n].events = m->c[i].phase == METRICS_WRITE ? POLLOUT : POLLIN;
		p[n++].revents = 0;
	}
	return n;
}

int
metrics_timeout(const struct metrics *m, int64_t now_ms)
{
	int64_t	best = -1, left;
	size_t	i;

	if (m->pause_ms != 0)
		best = m->pause_ms > now_ms ? m->pause_ms - now_ms : 0;
	for (i = 0; i < METRICS_CONNS_MAX; i++) {
		if (m->c[i].phase == METRICS_FREE)
			continue;
		left = m->c[i].deadline_ms - now_ms;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

static void
metrics_drop(struct metrics_conn *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->phase = METRICS_FREE;
	c->inlen = 0;
}

/* Sends what the socket takes; when all is sent, half-closes and drains
 * what the client still sends (a close with unread bytes would reset the
 * connection and could destroy the answer in flight). */
static void
metrics_write(struct metrics_conn *c)
{
	ssize_t	n;

	while (c->outpos < c->outend) {
		n = send(c->fd, c->out + c->outpos, c->outend - c->outpos,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			metrics_drop(c);
			return;
		}
		c->outpos += (size_t)n;
	}
	(void)shutdown(c->fd, SHUT_WR);
	c->phase = METRICS_DRAIN;
}

/* One non-blocking read into c->in from inlen on; -1 dropped, 0 nothing
 * (would block), else the number of bytes. */
static ssize_t
metrics_recv(struct metrics_conn *c)
{
	ssize_t	n;

	do
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
		    MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		metrics_drop(c);
		return -1;
	}
	return n;
}

static void
metrics_read(struct metrics_conn *c, const struct state *s)
{
	struct metrics_req	r;
	ssize_t			n;
	size_t			start, end;

	if ((n = metrics_recv(c)) <= 0)
		return;
	c->inlen += (size_t)n;
	metrics_parse(c->in, c->inlen, sizeof(c->in), &r);
	if (r.route == METRICS_MORE)
		return;
	end = metrics_answer(&r, s, c->out, sizeof(c->out), &start);
	if (end == 0) {
		metrics_drop(c);
		return;
	}
	c->outpos = start;
	c->outend = end;
	c->phase = METRICS_WRITE;
	metrics_write(c);
}

/* After the answer: what the client sends is read and dropped. */
static void
metrics_drain(struct metrics_conn *c)
{
	c->inlen = 0;
	(void)metrics_recv(c);
}

static void
metrics_step(struct metrics_conn *c, short revents, const struct state *s)
{
	if (c->phase == METRICS_READ && (revents & (POLLIN | POLLERR | POLLHUP)))
		metrics_read(c, s);
	else if (c->phase == METRICS_WRITE &&
	    (revents & (POLLOUT | POLLERR | POLLHUP)))
		metrics_write(c);
	else if (c->phase == METRICS_DRAIN &&
	    (revents & (POLLIN | POLLERR | POLLHUP)))
		metrics_drain(c);
}

/* Takes what waits, while a slot is free; tries each one's request. */
static void
metrics_accept(struct metrics *m, const struct state *s, int64_t now_ms)
{
	struct metrics_conn	*c;
	size_t			 i;
	int			 fd;

	for (i = 0; i < METRICS_CONNS_MAX; i++) {
		c = &m->c[i];
		if (c->phase != METRICS_FREE)
			continue;
		fd = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
		    errno == ENOBUFS || errno == ENOMEM))
			m->pause_ms = now_ms + METRICS_PAUSE_MS;
		if (fd < 0)
			return;		/* none waits, or none can be had */
		c->fd = fd;
		c->phase = METRICS_READ;
		c->inlen = 0;
		c->deadline_ms = now_ms + METRICS_TIMEOUT_MS;
		metrics_read(c, s);	/* the request may be there already */
	}
}

void
metrics_serve(struct metrics *m, const struct pollfd *p, size_t n,
    const struct state *s, int64_t now_ms)
{
	size_t	i, k;
	int	listener = 0;

	if (m->fd < 0)
		return;
	for (i = 0; i < n; i++) {
		if (p[i].fd < 0 || p[i].revents == 0)
			continue;
		if (p[i].fd == m->fd) {
			listener = 1;
			continue;
		}
		for (k = 0; k < METRICS_CONNS_MAX; k++)
			if (m->c[k].phase != METRICS_FREE &&
			    m->c[k].fd == p[i].fd)
				metrics_step(&m->c[k], p[i].revents, s);
	}
	for (k = 0; k < METRICS_CONNS_MAX; k++)
		if (m->c[k].phase != METRICS_FREE &&
		    now_ms >= m->c[k].deadline_ms)
			metrics_drop(&m->c[k]);
	if (m->pause_ms != 0 && now_ms >= m->pause_ms)
		m->pause_ms = 0;		/* polled again from now on */
	if (listener)			/* after: no fd is reused mid-loop */
		metrics_accept(m, s, now_ms);
}

void
metrics_close(struct metrics *m)
{
	size_t	i;

	for (i = 0; i < METRICS_CONNS_MAX; i++)
		metrics_drop(&m->c[i]);
	if (m->fd >= 0)
		(void)close(m->fd);
	m->fd = -1;
}

/* ---- the request parser -------------------------------------------------- */

/* A cursor over the request's bytes. */
struct mp {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	size_t		 path, pathlen;		/* request target, no query */
	size_t		 method, methodlen;
	int		 http11;
	int		 hosts;
	int		 body;			/* Content-Length > 0, or TE */
};

static int
mp_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The next line: 1 with *end at its CR, 0 not complete, -1 a bare LF. */
static int
mp_line(const struct mp *c, size_t *end)
{
	const char	*lf;

	if (c->pos >= c->len)
		return 0;
	lf = memchr(c->buf + c->pos, '\n', c->len - c->pos);
	if (lf == NULL)
		return 0;
	*end = (size_t)(lf - c->buf);
	if (*end == c->pos || c->buf[*end - 1] != '\r')
		return -1;
	(*end)--;
	return 1;
}

/* method SP origin-form SP HTTP/1.x, the line ending at end. */
static int
mp_request_line(struct mp *c, size_t end)
{
	const char	*q;
	size_t		 i = c->pos, t;

	while (i < end && mp_tchar((unsigned char)c->buf[i]))
		i++;
	c->method = c->pos;
	c->methodlen = i - c->pos;
	if (c->methodlen == 0 || i == end || c->buf[i] != ' ')
		return -1;
	t = ++i;
	if (i == end || c->buf[i] != '/')
		return -1;
	while (i < end && (unsigned char)c->buf[i] > 0x20 &&
	    (unsigned char)c->buf[i] < 0x7f)
		i++;
	c->path = t;
	if ((q = memchr(c->buf + t, '?', i - t)) == NULL)
		q = c->buf + i;
	c->pathlen = (size_t)(q - (c->buf + t));
	if (i == end || c->buf[i] != ' ' || end - (i + 1) != 8 ||
	    memcmp(c->buf + i + 1, "HTTP/1.", 7) != 0)
		return -1;
	if (c->buf[i + 8] != '0' && c->buf[i + 8] != '1')
		return -1;
	c->http11 = c->buf[i + 8] == '1';
	return 0;
}

static int
mp_name_is(const struct mp *c, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(c->buf + c->pos, name, n) == 0;
}

/* Content-Length: digits only; anything but zero means a body. */
static int
mp_content_length(struct mp *c, size_t v, size_t end)
{
	size_t	i;

	if (v == end)
		return -1;
	for (i = v; i < end; i++) {
		if (c->buf[i] < '0' || c->buf[i] > '9')
			return -1;
		if (c->buf[i] != '0')
			c->body = 1;
	}
	return 0;
}

/* name ":" OWS value OWS; no control byte but HTAB; no obs-fold. */
static int
mp_header(struct mp *c, size_t end)
{
	size_t	i = c->pos, n, v, ve;

	while (i < end && mp_tchar((unsigned char)c->buf[i]))
		i++;
	n = i - c->pos;
	if (n == 0 || i == end || c->buf[i] != ':')
		return -1;
	for (v = i + 1; v < end; v++)
		if (((unsigned char)c->buf[v] < 0x20 && c->buf[v] != '\t') ||
		    c->buf[v] == 0x7f)
			return -1;
	for (v = i + 1; v < end && (c->buf[v] == ' ' || c->buf[v] == '\t');
	    v++)
		;
	for (ve = end; ve > v && (c->buf[ve - 1] == ' ' ||
	    c->buf[ve - 1] == '\t'); ve--)
		;
	if (mp_name_is(c, n, "host"))
		c->hosts++;
	else if (mp_name_is(c, n, "transfer-encoding"))
		c->body = 1;
	else if (mp_name_is(c, n, "content-length"))
		return mp_content_length(c, v, ve);
	return 0;
}

static enum metrics_route
mp_route(const struct mp *c, int *head)
{
	const char	*m = c->buf + c->method;
	int		 known;

	if (c->hosts > 1 || (c->http11 && c->hosts == 0) || c->body)
		return METRICS_BAD;
	*head = c->methodlen == 4 && memcmp(m, "HEAD", 4) == 0;
	known = (c->pathlen == 8 && memcmp(c->buf + c->path, "/metrics",
	    8) == 0) || (c->pathlen == 8 && memcmp(c->buf + c->path,
	    "/healthz", 8) == 0);
	if (!known)
		return METRICS_NOT_FOUND;
	if (!*head && !(c->methodlen == 3 && memcmp(m, "GET", 3) == 0))
		return METRICS_NOT_ALLOWED;
	return c->buf[c->path + 1] == 'm' ? METRICS_METRICS : METRICS_HEALTHZ;
}

/* Line by line; the first decisive line decides. */
static enum metrics_route
mp_run(struct mp *c, int *head)
{
	size_t	end;
	int	k;

	if ((k = mp_line(c, &end)) <= 0)
		return k == 0 ? METRICS_MORE : METRICS_BAD;
	if (mp_request_line(c, end) != 0)
		return METRICS_BAD;
	c->pos = end + 2;
	for (;;) {
		if ((k = mp_line(c, &end)) <= 0)
			return k == 0 ? METRICS_MORE : METRICS_BAD;
		if (end == c->pos)
			break;
		if (mp_header(c, end) != 0)
			return METRICS_BAD;
		c->pos = end + 2;
	}
	c->pos = end + 2;
	return mp_route(c, head);
}

void
metrics_parse(const char *buf, size_t len, size_t cap, struct metrics_req *r)
{
	struct mp	c;

	memset(&c, 0, sizeof(c));
	memset(r, 0, sizeof(*r));
	c.buf = buf;
	c.len = len;
	r->route = mp_run(&c, &r->head);
	if (r->route == METRICS_MORE && len >= cap)
		r->route = METRICS_BAD;
	if (r->route == METRICS_BAD)
		r->head = 0;
	r->used = r->route == METRICS_MORE ? 0 : c.pos;
}

/* ---- the answers -------------------------------------------------------- */

/* Output into a fixed buffer; overflow is remembered. */
struct mw {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	int	 full;
};

static void
mw_put(struct mw *w, const char *s, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
mw_print(struct mw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mw_print(struct mw *w, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = fmt_vprint(w->buf + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->full = 1;
	else
		w->len += (size_t)n;
}

/* A label value: backslash, double quote and newline escaped. */
static void
mw_label(struct mw *w, const char *s, size_t cap)
{
	size_t	i, n = strnlen(s, cap);

	for (i = 0; i < n; i++) {
		if (s[i] == '\\')
			mw_put(w, "\\\\", 2);
		else if (s[i] == '"')
			mw_put(w, "\\\"", 2);
		else if (s[i] == '\n')
			mw_put(w, "\\n", 2);
		else
			mw_put(w, s + i, 1);
	}
}

#define M_EXPIRY	"regcred_token_expiry_timestamp_seconds"
#define M_REFRESH	"regcred_refresh_total"
#define M_SUCCESS	"regcred_last_success_timestamp_seconds"
#define M_RESTARTS	"regcred_watch_restarts_total"

static void
metrics_body(struct mw *w, const struct state *s)
{
	size_t	i, n = s->nns < NAMESPACE_MAX ? s->nns : NAMESPACE_MAX;

	mw_print(w, "# HELP " M_EXPIRY " Expiry of the token in each "
	    "namespace's Secret (Unix seconds, 0: none applied yet).\n"
	    "# TYPE " M_EXPIRY " gauge\n");
	for (i = 0; i < n; i++) {
		mw_print(w, M_EXPIRY "{namespace=\"");
		mw_label(w, s->ns[i].name, sizeof(s->ns[i].name));
		mw_print(w, "\",secret=\"");
		mw_label(w, s->secret, sizeof(s->secret));
		mw_print(w, "\"} %lld\n", (long long)s->ns[i].expiry);
	}
	mw_print(w, "# HELP " M_REFRESH " Refresh attempts, by result.\n"
	    "# TYPE " M_REFRESH " counter\n"
	    M_REFRESH "{result=\"ok\"} %llu\n"
	    M_REFRESH "{result=\"error\"} %llu\n",
	    (unsigned long long)s->refresh_ok,
	    (unsigned long long)s->refresh_failed);
	mw_print(w, "# HELP " M_SUCCESS " When every namespace was last "
	    "applied (Unix seconds, 0: never).\n"
	    "# TYPE " M_SUCCESS " gauge\n" M_SUCCESS " %lld\n",
	    (long long)s->last_success);
	mw_print(w, "# HELP " M_RESTARTS " Restarts of the watch on the "
	    "Secrets.\n# TYPE " M_RESTARTS " counter\n" M_RESTARTS " %llu\n",
	    (unsigned long long)s->watch_restarts);
}

/* Status line, extra header and body of each route. */
static void
metrics_route_text(const struct metrics_req *r, struct mw *body,
    const struct state *s, const char **status, const char **extra,
    const char **ctype)
{
	*extra = "";
	*ctype = "text/plain; charset=utf-8";
	*status = "200 OK";
	if (r->route == METRICS_METRICS) {
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		metrics_body(body, s);
	} else if (r->route == METRICS_HEALTHZ) {
		mw_put(body, "ok\n", 3);
	} else if (r->route == METRICS_NOT_FOUND) {
		*status = "404 Not Found";
		mw_put(body, "not found\n", 10);
	} else if (r->route == METRICS_NOT_ALLOWED) {
		*status = "405 Method Not Allowed";
		*extra = "Allow: GET, HEAD\r\n";
		mw_put(body, "method not allowed: GET or HEAD\n", 32);
	} else {
		*status = "400 Bad Request";
		mw_put(body, "bad request\n", 12);
	}
}

size_t
metrics_answer(const struct metrics_req *r, const struct state *s,
    char *buf, size_t cap, size_t *start)
{
	struct mw	 body = { buf + METRICS_HEAD_MAX, 0, 0, 0 };
	const char	*status, *extra, *ctype;
	char		 head[METRICS_HEAD_MAX];
	int		 n;

	*start = 0;
	if (cap <= METRICS_HEAD_MAX)
		return 0;
	body.cap = cap - METRICS_HEAD_MAX;
	metrics_route_text(r, &body, s, &status, &extra, &ctype);
	if (body.full)
		return 0;
	n = fmt_print(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, ctype, body.len, extra);
	if (n < 0 || (size_t)n >= sizeof(head))
		return 0;
	*start = METRICS_HEAD_MAX - (size_t)n;
	memcpy(buf + *start, head, (size_t)n);
	return METRICS_HEAD_MAX + (r->head ? 0 : body.len);
}
