/*
 * dial.c -- name resolution and TCP connections.
 *
 * Owns: the monotonic clock and bounded waits every socket operation uses,
 * resolving each host once into a caller's table before the lockdown
 * (musl's resolver reads /etc/hosts and /etc/resolv.conf and opens its own
 * sockets: none of that is allowed afterwards), and connecting to those
 * addresses in order, each attempt bounded by CONNECT_TIMEOUT_MS.
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

#include "dial.h"
#include "log.h"

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
    struct err *e)
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
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
		return err_set(e, "resolving %s: %s", host, gai_strerror(r));
	h = &t->h[t->n];
	memset(h, 0, sizeof(*h));
	memcpy(h->host, host, strlen(host) + 1);
	memcpy(h->port, port, strlen(port) + 1);
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

int
dial_connect(const struct dial_table *t, const char *host, const char *port,
    int64_t deadline_ms, struct err *e)
{
	const struct dial_host	*h = dial_find(t, host, port);
	size_t			 i;
	int			 fd = -1;

	if (h == NULL)
		return err_set(e, "%s:%s was not resolved before the lockdown",
		    host, port);
	for (i = 0; i < h->naddr && fd < 0; i++)
		fd = dial_one(&h->addr[i], dial_deadline(deadline_ms,
		    CONNECT_TIMEOUT_MS), e);
	return fd;
}
