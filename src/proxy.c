/*
 * proxy.c -- which proxy, and which hosts go around it.
 *
 * Owns: parsing the proxy URL (scheme http or none, percent-decoded
 * userinfo, host and port checked as URL hosts are), the Basic
 * Proxy-Authorization value, and matching a host against NO_PROXY the way
 * Go's httpproxy and curl do (tests/unit/no_proxy_cases.txt says where
 * they differ), with our choices: a domain with a leading dot matches the
 * domain itself too (curl's reading; Go's matches subdomains only),
 * loopback hosts are proxied when asked (Go never proxies them; regcred
 * has no loopback endpoints outside tests), and link-local addresses (the
 * metadata servers) always go direct.
 */
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "dockercfg.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "proxy.h"

static int
proxy_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..len) into dst (NUL terminated). */
static int
proxy_decode(const char *s, size_t len, char *dst, size_t cap)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (o + 1 >= cap)
			return -1;
		if (s[i] == '%') {
			if (len - i < 3 || (hi = proxy_hex(s[i + 1])) < 0 ||
			    (lo = proxy_hex(s[i + 2])) < 0 || (hi == 0 && lo == 0))
				return -1;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dst[o++] = s[i];
	}
	dst[o] = '\0';
	return 0;
}

/* user:password -> p->user, p->password, p->auth. */
static int
proxy_userinfo(struct proxy *p, const char *s, size_t len, struct err *e)
{
	const char	*colon = memchr(s, ':', len);
	char		 both[2 * PROXY_CRED_MAX + 2];
	size_t		 ulen = colon != NULL ? (size_t)(colon - s) : len, n;
	int		 k, r;

	if (proxy_decode(s, ulen, p->user, sizeof(p->user)) != 0 ||
	    (colon != NULL && proxy_decode(colon + 1, len - ulen - 1,
	    p->password, sizeof(p->password)) != 0))
		return err_set(e, "proxy URL: the user name or password is "
		    "malformed or longer than %d bytes (PROXY_CRED_MAX)",
		    PROXY_CRED_MAX - 1);
	k = fmt_print(both, sizeof(both), "%s:%s", p->user, p->password);
	if (k < 0 || (size_t)k >= sizeof(both))
		return err_set(e, "proxy URL: credentials exceed PROXY_CRED_MAX");
	memcpy(p->auth, "Basic ", 6);
	r = b64_encode((const uint8_t *)both, (size_t)k, p->auth + 6,
	    sizeof(p->auth) - 6, &n, e);
	explicit_bzero(both, sizeof(both));
	return r;
}

/* host[:port][/]: checked as an https URL's authority would be. */
static int
proxy_hostport(struct proxy *p, const char *s, size_t len, struct err *e)
{
	char		buf[HOST_MAX + 32];
	struct url	u;
	int		n;

	while (len > 0 && s[len - 1] == '/')
		len--;
	if (memchr(s, '/', len) != NULL || memchr(s, '?', len) != NULL)
		return err_set(e, "proxy URL: a path is not allowed (want "
		    "http://host:port)");
	n = fmt_print(buf, sizeof(buf), "https://%.*s/", (int)len, s);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return err_set(e, "proxy URL: host longer than HOST_MAX");
	if (url_parse(buf, &u, e) != 0)
		return err_prefix(e, "proxy URL");
	memcpy(p->host, u.host, sizeof(p->host));
	p->ipv6 = u.ipv6;
	/* url_parse gave 443 for a missing port: http's is 80 */
	if (memchr(s, ']', len) != NULL ? strstr(buf, "]:") == NULL :
	    memchr(s, ':', len) == NULL)
		memcpy(p->port, "80", 3);
	else
		memcpy(p->port, u.port, sizeof(p->port));
	return 0;
}

int
proxy_parse(struct proxy *p, const char *url, struct err *e)
{
	const char	*s = url, *at, *end;
	size_t		 len;

	memset(p, 0, sizeof(*p));
	if (url[0] == '\0')
		return 0;
	if (strncasecmp(s, "https://", 8) == 0)
		return err_set(e, "proxy URL: https:// proxies are not "
		    "supported (TLS to the proxy itself); use http://");
	if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	else if (strstr(s, "://") != NULL)
		return err_set(e, "proxy URL: only http:// proxies are "
		    "supported");
	len = strlen(s);
	end = s + len;
	for (at = end; at > s && at[-1] != '@'; at--)
		;
	if (at > s && proxy_userinfo(p, s, (size_t)(at - 1 - s), e) != 0)
		return -1;
	if (proxy_hostport(p, at, (size_t)(end - at), e) != 0)
		return -1;
	p->on = 1;
	return 0;
}

void
proxy_name(const struct proxy *p, char *dst, size_t cap)
{
	if (fmt_print(dst, cap, "%s%s%s:%s", p->ipv6 ? "[" : "", p->host,
	    p->ipv6 ? "]" : "", p->port) < 0 && cap > 0)
		dst[0] = '\0';
}

/* ---- NO_PROXY ---------------------------------------------------------- */

struct np_entry {
	char	host[HOST_MAX];		/* lower case, no brackets */
	char	port[6];		/* "" = any */
	int	cidr;			/* prefix length, -1 = not a CIDR */
};

/* Parses one trimmed entry; 0 to skip it (empty or unusable). */
static int
proxy_np_entry(const char *s, size_t len, struct np_entry *n)
{
	const char	*colon, *slash;
	size_t		 hl = len, i;

	memset(n, 0, sizeof(*n));
	n->cidr = -1;
	if ((slash = memchr(s, '/', len)) != NULL) {
		for (i = (size_t)(slash - s) + 1, n->cidr = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9' || n->cidr > 128)
				return 0;
			n->cidr = n->cidr * 10 + (s[i] - '0');
		}
		hl = (size_t)(slash - s);
	} else if (len > 0 && s[0] == '[') {
		/* "[v6]:port" only: Go and curl take "[v6]" alone for no IP */
		colon = memchr(s, ']', len);
		if (colon == NULL || (size_t)(colon - s) + 1 >= len ||
		    colon[1] != ':' || len - (size_t)(colon - s) - 2 >= 6)
			return 0;
		memcpy(n->port, colon + 2, len - (size_t)(colon - s) - 2);
		s++;
		hl = (size_t)(colon - s);
	} else if ((colon = memchr(s, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
		if (len - (size_t)(colon - s) - 1 >= 6)
			return 0;
		memcpy(n->port, colon + 1, len - (size_t)(colon - s) - 1);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(n->host))
		return 0;
	for (i = 0; i < hl; i++)
		n->host[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] | 0x20 :
		    s[i]);
	return 1;
}

/* Bits of a and b agree on the first `bits`. */
static int
proxy_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int	whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return rest == 0 ||
	    ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* An address as 16 bytes, IPv4 as IPv4-mapped IPv6 (as Go compares:
 * an IPv4 entry matches the host ::ffff:a.b.c.d); *v4 says which. */
static int
proxy_ip16(const char *s, unsigned char a[16], int *v4)
{
	static const unsigned char	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };

	*v4 = inet_pton(AF_INET, s, a + 12) == 1;
	if (*v4) {
		memcpy(a, mapped, sizeof(mapped));
		return 0;
	}
	return inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;
}

/* IP literal or CIDR entry against an IP host. */
static int
proxy_np_ip(const struct np_entry *n, const char *host)
{
	unsigned char	a[16], b[16];
	int		hv4, ev4;

	if (proxy_ip16(host, a, &hv4) != 0 || proxy_ip16(n->host, b, &ev4) != 0)
		return 0;
	if (n->cidr < 0)
		return memcmp(a, b, 16) == 0;
	if (n->cidr > (ev4 ? 32 : 128))
		return 0;
	return proxy_prefix_eq(a, b, n->cidr + (ev4 ? 96 : 0));
}

/* Link-local (169.254.0.0/16, fe80::/10) and AWS's fd00:ec2::254: the
 * metadata servers, never proxied whatever NO_PROXY says. */
static int
proxy_link_local(const char *host)
{
	static const unsigned char	ll4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff, 169, 254 };
	static const unsigned char	ll6[16] = { 0xfe, 0x80 };
	unsigned char			a[16], m[16];
	int				v4;

	if (proxy_ip16(host, a, &v4) != 0)
		return 0;
	if (v4)
		return proxy_prefix_eq(a, ll4, 112);
	return proxy_prefix_eq(a, ll6, 10) || (inet_pton(AF_INET6,
	    "fd00:ec2::254", m) == 1 && memcmp(a, m, 16) == 0);
}

/* A domain entry: itself and its subdomains, with or without a leading
 * "." (curl's reading); "*.d" its subdomains only (Go's). */
static int
proxy_np_domain(const struct np_entry *n, const char *host)
{
	const char	*d = n->host;
	size_t		 dl, hl = strlen(host);
	int		 star = d[0] == '*' && d[1] == '.';

	if (star)
		d++;
	if (d[0] == '.')
		d++;
	dl = strlen(d);
	if (dl == 0 || dl > hl || strcasecmp(host + hl - dl, d) != 0)
		return 0;
	return hl == dl ? !star : host[hl - dl - 1] == '.';
}

static int
proxy_np_match(const char *s, size_t len, const char *host, const char *port,
    int host_is_ip)
{
	struct np_entry	n;
	unsigned char	buf[16];
	int		entry_is_ip;

	if (!proxy_np_entry(s, len, &n))
		return 0;
	if (strcmp(n.host, "*") == 0 && n.port[0] == '\0')
		return 1;
	if (n.port[0] != '\0' && strcmp(n.port, port) != 0)
		return 0;
	entry_is_ip = n.cidr >= 0 || inet_pton(AF_INET, n.host, buf) == 1 ||
	    inet_pton(AF_INET6, n.host, buf) == 1;
	if (entry_is_ip)
		return host_is_ip && proxy_np_ip(&n, host);
	return !host_is_ip && proxy_np_domain(&n, host);
}

int
proxy_bypass(const char *no_proxy, const char *host, const char *port)
{
	unsigned char	buf[16];
	const char	*s = no_proxy, *end;
	size_t		 a, b;
	int		 ip;

	ip = inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
	if (ip && proxy_link_local(host))
		return 1;
	while (*s != '\0') {
		end = s + strcspn(s, ",");
		for (a = 0; s + a < end && (s[a] == ' ' || s[a] == '\t'); a++)
			;
		for (b = (size_t)(end - s); b > a && (s[b - 1] == ' ' ||
		    s[b - 1] == '\t'); b--)
			;
		if (b > a && proxy_np_match(s + a, b - a, host, port, ip))
			return 1;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}
