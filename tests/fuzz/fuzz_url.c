/*
 * fuzz_url.c -- URLs (url_parse, url_parse_any) and the Host header value
 * (url_hostport).
 *
 * Input: the URL (cut at its first NUL, as a C string would be).
 * Properties: an accepted URL has the scheme asked for; a host without
 * control bytes, spaces or delimiters ('/', '?', '#', '@'), an IPv6
 * literal only when bracketed and valid; a port of 1..65535 written
 * without leading zeros; a path starting with '/', without control bytes
 * or '#'. url_parse and url_parse_any agree on https URLs. The Host
 * value, put back together with the scheme and path, parses to the same
 * URL.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"
#include "log.h"

static char	s[URL_MAX + 16], again[2 * URL_MAX + 64];

static void
check_url(const struct url *u)
{
	struct in6_addr	a6;
	char		*end;
	unsigned long	 port;

	FUZZ_CHECK(u->host[0] != '\0' && strnlen(u->host, HOST_MAX) < HOST_MAX);
	FUZZ_CHECK(!fuzz_has_ctl(u->host, strlen(u->host), 0));
	FUZZ_CHECK(strpbrk(u->host, " /?#@[]") == NULL);
	FUZZ_CHECK(u->ipv6 ? inet_pton(AF_INET6, u->host, &a6) == 1 :
	    strchr(u->host, ':') == NULL);
	port = strtoul(u->port, &end, 10);
	FUZZ_CHECK(*end == '\0' && port >= 1 && port <= 65535);
	FUZZ_CHECK(u->port[0] != '0');
	FUZZ_CHECK(u->path[0] == '/' && strnlen(u->path, URL_MAX) < URL_MAX);
	FUZZ_CHECK(!fuzz_has_ctl(u->path, strlen(u->path), 0));
	FUZZ_CHECK(strchr(u->path, '#') == NULL);
}

/* scheme + Host value + path parses back to u. */
static void
check_hostport(const struct url *u)
{
	struct url	v;
	struct err	e;
	char		hp[HOST_MAX + 10];
	int		n;

	FUZZ_CHECK(url_hostport(u, hp, sizeof(hp), &e) == 0);
	n = snprintf(again, sizeof(again), "%s%s%s", u->plain ? "http://" :
	    "https://", hp, u->path);
	if (n < 0 || n >= URL_MAX)
		return;
	FUZZ_CHECK(url_parse_any(again, &v, &e) == 0);
	FUZZ_CHECK(strcmp(u->host, v.host) == 0 && strcmp(u->port,
	    v.port) == 0 && strcmp(u->path, v.path) == 0);
	FUZZ_CHECK(u->ipv6 == v.ipv6 && u->plain == v.plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url	u, any;
	struct err	e;
	int		r1, r2;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r1 = url_parse(s, &u, &e);
	r2 = url_parse_any(s, &any, &e);
	if (r1 == 0) {
		FUZZ_CHECK(strncasecmp(s, "https://", 8) == 0 && !u.plain);
		check_url(&u);
		check_hostport(&u);
		FUZZ_CHECK(r2 == 0 && memcmp(&u, &any, sizeof(u)) == 0);
	}
	if (r2 == 0) {
		FUZZ_CHECK(strncasecmp(s, any.plain ? "http://" :
		    "https://", any.plain ? 7 : 8) == 0);
		FUZZ_CHECK(any.plain || r1 == 0);
		check_url(&any);
		check_hostport(&any);
	}
	return 0;
}
