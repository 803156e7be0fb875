/*
 * dial.h -- where regcred connects: every host name is resolved once,
 * before the lockdown (sandbox.c), into a caller-owned table; connections
 * and their retries then use the addresses already resolved and never
 * the resolver again.
 */
#ifndef REGCRED_DIAL_H
#define REGCRED_DIAL_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct err;
struct proxy;

struct dial_addr {
	struct sockaddr_storage	sa;
	socklen_t		len;
};

struct dial_host {
	char			host[HOST_MAX];
	char			port[6];
	const struct proxy	*via;		/* NULL: direct */
	struct dial_addr	addr[DIAL_ADDRS_MAX];	/* host's, or via's */
	size_t			naddr;
};

struct dial_table {
	struct dial_host	h[DIAL_HOSTS_MAX];
	size_t			n;
};

/* Monotonic clock in milliseconds. */
int64_t	dial_now_ms(void);
/* The earlier of the overall deadline and now + limit_ms. */
int64_t	dial_deadline(int64_t deadline_ms, int64_t limit_ms);
/* Waits for fd to be ready for events; -1 naming `what` on timeout. */
int	dial_wait(int fd, short events, int64_t deadline_ms, const char *what,
	    struct err *e);

void	dial_init(struct dial_table *t);
/* Resolves host:port into t unless it is there already; through a proxy
 * (via not NULL) the proxy's name is resolved and the proxy resolves
 * host. via must outlive t. */
int	dial_resolve(struct dial_table *t, const char *host, const char *port,
	    const struct proxy *via, struct err *e);
/*
 * A connected non-blocking TCP socket (TCP_NODELAY) to one of host's
 * addresses, in the order the resolver gave them; each connect bounded by
 * CONNECT_TIMEOUT_MS and the deadline. Through a proxy: a connection to
 * the proxy, then CONNECT host:port (with Proxy-Authorization when the
 * proxy URL has credentials) and its 2xx answer, bounded by IO_TIMEOUT_MS;
 * TLS then runs through the tunnel. A host not in t is an error (it would
 * need the resolver, which the lockdown forbids). *retryable: connection
 * failures, 502/503/504 and 5xx from the proxy yes; 407, 403, other
 * refusals and malformed answers no.
 */
int	dial_connect(const struct dial_table *t, const char *host,
	    const char *port, int64_t deadline_ms, int *retryable,
	    struct err *e);

#endif
