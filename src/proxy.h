/*
 * proxy.h -- egress through an HTTP proxy: the proxy URL as curl and Go
 * read it (http://[user:password@]host[:port], port 80 by default; an
 * https:// proxy is refused), and NO_PROXY matching. No I/O: dial.c opens
 * the CONNECT tunnel.
 */
#ifndef REGCRED_PROXY_H
#define REGCRED_PROXY_H

#include <stddef.h>
#include "limits.h"

struct err;

struct proxy {
	int	on;
	char	host[HOST_MAX];		/* without brackets */
	char	port[6];
	int	ipv6;
	char	auth[PROXY_AUTH_MAX];	/* "Basic base64(user:password)" or "" */
	char	user[PROXY_CRED_MAX];	/* decoded; wiped with the struct */
	char	password[PROXY_CRED_MAX];
};

/* Parses url into p (p->on set); "" leaves p off. Credentials are
 * percent-decoded; errors never quote them. */
int	proxy_parse(struct proxy *p, const char *url, struct err *e);

/*
 * 1 when host:port goes direct by the NO_PROXY list: comma-separated,
 * spaces trimmed, "*" alone matches all; a domain (a leading "." optional)
 * matches itself and its subdomains, case-insensitively, "*.d" only d's
 * subdomains; an IP literal or a CIDR matches addresses (IPv4 entries
 * also IPv4-mapped IPv6 hosts; "[v6]" only with ":port"); an entry with
 * ":port" matches that port only. Link-local hosts always go direct.
 */
int	proxy_bypass(const char *no_proxy, const char *host, const char *port);

/* "host:port" of the proxy, IPv6 bracketed, for messages. */
void	proxy_name(const struct proxy *p, char *dst, size_t cap);

#endif
