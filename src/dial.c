/*
 * dial.c -- name resolution and TCP connections.
 *
 * Owns: the monotonic clock and bounded waits every socket operation uses,
 * resolving each host (or its proxy) once into a caller's table before
 * the lockdown (musl's resolver reads /etc/hosts and /etc/resolv.conf and
 * opens its own sockets: none of that is allowed afterwards), connecting
 * to those addresses in order, each attempt bounded by CONNECT_TIMEOUT_MS,
 * and opening CONNECT tunnels through an HTTP proxy (the proxy's answer
 * read with the bounded HTTP parser, byte by byte so that nothing of the
 * tunnel is consumed).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buildinfo.h"
#include "dial.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "proxy.h"

int64_t
dial_now_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
dial_deadline(int64_t deadline_ms, int64_t limit_ms)
{
	int64_t	d = dial_now_ms() + limit_ms;

	return d < deadline_ms ? d : deadline_ms;
}

int
dial_wait(int fd, short events, int64_t deadline_ms, const char *what,
    struct err *e)
{
	struct pollfd	pfd;
	int64_t		left;
	int		r;

	for (;;) {
		left = deadline_ms - dial_now_ms();
		if (left <= 0)
			return err_set(e, "timed out %s", what);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return err_set(e, "poll: %s", strerror(errno));
	}
}

void
dial_init(struct dial_table *t)
{
	memset(t, 0, sizeof(*t));
}

static const struct dial_host *
dial_find(const struct dial_table *t, const char *host, const char *port)
{
	size_t	i;

	for (i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->h[i].host, host) == 0 &&
		    strcmp(t->h[i].port, port) == 0)
			return &t->h[i];
	return NULL;
}

int
dial_resolve(struct dial_table *t, const char *host, const char *port,
    const struct proxy *via, struct err *e)
{
	struct addrinfo		 hints, *res, *ai;
	struct dial_host	*h;
	int			 r;

	if (dial_find(t, host, port) != NULL)
		return 0;
	if (t->n == DIAL_HOSTS_MAX)
		return err_set(e, "more than %d hosts (DIAL_HOSTS_MAX)",
		    DIAL_HOSTS_MAX);
	if (strlen(host) >= sizeof(h->host) || strlen(port) >= sizeof(h->port))
		return err_set(e, "host or port too long (HOST_MAX)");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(via != NULL ? via->host : host, via != NULL ?
	    via->port : port, &hints, &res)) != 0)
		return err_set(e, "resolving %s%s: %s", via != NULL ?
		    "the proxy " : "", via != NULL ? via->host : host,
		    gai_strerror(r));
	h = &t->h[t->n];
	memset(h, 0, sizeof(*h));
	memcpy(h->host, host, strlen(host) + 1);
	memcpy(h->port, port, strlen(port) + 1);
	h->via = via;
	for (ai = res; ai != NULL && h->naddr < DIAL_ADDRS_MAX; ai = ai->ai_next)
		if (ai->ai_addrlen <= sizeof(h->addr[0].sa)) {
			memcpy(&h->addr[h->naddr].sa, ai->ai_addr,
			    ai->ai_addrlen);
			h->addr[h->naddr++].len = ai->ai_addrlen;
		}
	freeaddrinfo(res);
	if (h->naddr == 0)
		return err_set(e, "resolving %s: no address", host);
	t->n++;
	return 0;
}

static int
dial_fail(int fd, struct err *e, const char *what, int err)
{
	err_set(e, "%s: %s", what, strerror(err));
	close(fd);
	return -1;
}

/* Non-blocking connect to one address, bounded by the deadline. */
static int
dial_one(const struct dial_addr *a, int64_t deadline_ms, struct err *e)
{
	socklen_t	len = sizeof(int);
	int		fd, soerr = 0, one = 1;

	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return err_set(e, "socket: %s", strerror(errno));
	/* BearSSL writes a flight record by record: without this, the last
	 * records wait for the peer's delayed ACK (40 ms per handshake) */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		return dial_fail(fd, e, "setsockopt TCP_NODELAY", errno);
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		return dial_fail(fd, e, "connect", errno);
	if (dial_wait(fd, POLLOUT, deadline_ms, "connecting", e) != 0) {
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return dial_fail(fd, e, "getsockopt", errno);
	if (soerr != 0)
		return dial_fail(fd, e, "connect", soerr);
	return fd;
}

/* ---- CONNECT tunnels ------------------------------------------------ */

static char		dial_req[HOST_MAX + PROXY_AUTH_MAX + 128];
static size_t		dial_reqlen;
static uint8_t		dial_body[PROXY_BODY_MAX];
static struct http_resp	dial_resp;

/* CONNECT host:port HTTP/1.1, Host, Proxy-Authorization when given. */
static int
dial_connect_req(const struct dial_host *h, struct err *e)
{
	const char	*v6 = strchr(h->host, ':') != NULL ? "[" : "";
	int		 n;

	n = fmt_print(dial_req, sizeof(dial_req), "CONNECT %s%s%s:%s "
	    "HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s%s%sUser-Agent: regcred/"
	    BUILD_VERSION "\r\n\r\n", v6, h->host, v6[0] ? "]" : "",
	    h->port, v6, h->host, v6[0] ? "]" : "", h->port,
	    h->via->auth[0] ? "Proxy-Authorization: " : "", h->via->auth,
	    h->via->auth[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(dial_req))
		return err_set(e, "CONNECT request does not fit");
	dial_reqlen = (size_t)n;
	return 0;
}

static int
dial_send_all(int fd, const char *buf, size_t len, int64_t deadline_ms,
    struct err *e)
{
	size_t	sent = 0;
	ssize_t	n;

	while (sent < len) {
		n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (dial_wait(fd, POLLOUT, dial_deadline(deadline_ms,
			    IO_TIMEOUT_MS), "sending CONNECT", e) != 0)
				return -1;
		} else
			return err_set(e, "send: %s", n < 0 ? strerror(errno) :
			    "closed");
	}
	return 0;
}

/*
 * Reads the proxy's answer byte by byte (nothing of the tunnel may be
 * consumed): 1 with dial_resp complete, or a refusal whose body did not
 * fit (it is quoted cut); -1 on failure.
 */
static int
dial_read_answer(int fd, int64_t deadline_ms, struct err *e)
{
	uint8_t	c;
	size_t	used;
	ssize_t	n;
	int	r;

	http_resp_init(&dial_resp, dial_body, sizeof(dial_body));
	dial_resp.tunnel = 1;
	for (;;) {
		n = recv(fd, &c, 1, 0);
		if (n == 1) {
			r = http_resp_feed(&dial_resp, &c, 1, &used, e);
			if (r == 1)
				return 1;
			if (r < 0)
				return dial_resp.status >= 300 ? 1 : -1;
		} else if (n == 0) {
			return http_resp_eof(&dial_resp, 1, e) == 0 ||
			    dial_resp.status >= 300 ? 1 : err_set(e,
			    "the proxy closed the connection during CONNECT");
		} else if (errno == EAGAIN || errno == EINTR) {
			if (dial_wait(fd, POLLIN, dial_deadline(deadline_ms,
			    IO_TIMEOUT_MS), "waiting for the proxy's answer to "
			    "CONNECT", e) != 0)
				return -1;
		} else
			return err_set(e, "recv: %s", strerror(errno));
	}
}

/* A non-2xx answer: what it means, the proxy's own words quoted cut. */
static int
dial_refused(const struct dial_host *h, int *retryable, struct err *e)
{
	char	q[LOG_QUOTE_MAX + 8];
	int	st = dial_resp.status;

	log_quote(q, sizeof(q), (const char *)dial_resp.body,
	    dial_resp.bodylen);
	*retryable = st >= 500;
	if (st == 407 || st == 401)	/* tinyproxy 1.11 answers 401 */
		return err_set(e, "HTTP 407: proxy authentication required: "
		    "the proxy credentials are missing or wrong (%s)",
		    h->via->auth[0] ? "the proxy refused the user and password "
		    "of the proxy URL" : "the proxy URL has none: give them as "
		    "http://user:password@host:port");
	return err_set(e, "HTTP %d: the proxy %s CONNECT to %s:%s%s%s", st,
	    st == 403 ? "refused (a policy refusal)" : st >= 500 ?
	    "could not open" : "refused", h->host, h->port, q[0] ? ": " : "",
	    q);
}

static int
dial_tunnel(int fd, const struct dial_host *h, int64_t deadline_ms,
    int *retryable, struct err *e)
{
	char	name[HOST_MAX + 10];
	int	r = -1;

	*retryable = 1;
	if (dial_connect_req(h, e) == 0 &&
	    dial_send_all(fd, dial_req, dial_reqlen, deadline_ms, e) == 0 &&
	    dial_read_answer(fd, deadline_ms, e) == 1)
		r = dial_resp.status / 100 == 2 ? 0 :
		    dial_refused(h, retryable, e);
	explicit_bzero(dial_req, dial_reqlen);
	explicit_bzero(dial_body, dial_resp.bodylen < sizeof(dial_body) ?
	    dial_resp.bodylen : sizeof(dial_body));
	if (r != 0) {
		proxy_name(h->via, name, sizeof(name));
		err_prefix(e, "proxy %s", name);
	}
	return r;
}

int
dial_connect(const struct dial_table *t, const char *host, const char *port,
    int64_t deadline_ms, int *retryable, struct err *e)
{
	const struct dial_host	*h = dial_find(t, host, port);
	char			 name[HOST_MAX + 10];
	size_t			 i;
	int			 fd = -1;

	*retryable = 1;
	if (h == NULL)
		return err_set(e, "%s:%s was not resolved before the lockdown",
		    host, port);
	for (i = 0; i < h->naddr && fd < 0; i++)
		fd = dial_one(&h->addr[i], dial_deadline(deadline_ms,
		    CONNECT_TIMEOUT_MS), e);
	if (fd < 0 && h->via != NULL) {
		proxy_name(h->via, name, sizeof(name));
		err_prefix(e, "proxy %s", name);
	}
	if (fd < 0 || h->via == NULL)
		return fd;
	if (dial_tunnel(fd, h, deadline_ms, retryable, e) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
