/* proxy.c: the proxy URL and NO_PROXY matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "proxy.h"

/*
 * NO_PROXY cases, written from Go's golang.org/x/net/http/httpproxy tests
 * and curl's documentation of NO_PROXY; where they differ the contract of
 * issue 11 decides (a leading dot still matches the domain itself, as
 * curl reads it).
 */
static const struct {
	const char	*no_proxy;
	const char	*host;
	const char	*port;
	int		 direct;
} np_cases[] = {
	{ "", "sts.googleapis.com", "443", 0 },
	{ "*", "sts.googleapis.com", "443", 1 },
	{ " * ", "10.0.0.1", "443", 1 },
	{ "*.com", "sts.googleapis.com", "443", 1 },	/* as Go: ".com" */
	{ "*.com", "sts.googleapis.org", "443", 0 },
	{ "googleapis.com", "sts.googleapis.com", "443", 1 },
	{ "googleapis.com", "googleapis.com", "443", 1 },
	{ ".googleapis.com", "sts.googleapis.com", "443", 1 },
	{ ".googleapis.com", "googleapis.com", "443", 1 },
	{ "*.googleapis.com", "sts.googleapis.com", "443", 1 },
	{ "*.googleapis.com", "googleapis.com", "443", 0 },	/* as Go */
	{ "googleapis.com", "notgoogleapis.com", "443", 0 },
	{ "googleapis.com", "googleapis.com.evil.example", "443", 0 },
	{ "GoogleAPIs.COM", "sts.googleapis.com", "443", 1 },
	{ "googleapis.com", "STS.GoogleAPIs.com", "443", 1 },
	{ "a.example, b.example", "b.example", "443", 1 },
	{ "a.example,,b.example", "b.example", "443", 1 },
	{ " a.example ,\tb.example\t", "a.example", "443", 1 },
	{ "a.example", "b.example", "443", 0 },
	{ "googleapis.com:443", "sts.googleapis.com", "443", 1 },
	{ "googleapis.com:8443", "sts.googleapis.com", "443", 0 },
	{ "kubernetes.default.svc", "kubernetes.default.svc", "443", 1 },
	{ ".svc", "kubernetes.default.svc", "443", 1 },
	{ ".cluster.local", "kubernetes.default.svc", "443", 0 },
	{ "10.0.0.1", "10.0.0.1", "443", 1 },
	{ "10.0.0.1", "10.0.0.2", "443", 0 },
	{ "10.0.0.1:443", "10.0.0.1", "443", 1 },
	{ "10.0.0.1:6443", "10.0.0.1", "443", 0 },
	{ "10.0.0.0/8", "10.96.0.1", "443", 1 },
	{ "10.0.0.0/8", "11.0.0.1", "443", 0 },
	{ "10.96.0.0/12", "10.111.255.255", "443", 1 },
	{ "10.96.0.0/12", "10.112.0.0", "443", 0 },
	{ "0.0.0.0/0", "192.0.2.1", "443", 1 },
	{ "10.0.0.0/8", "::1", "443", 0 },
	{ "::1", "::1", "443", 1 },
	{ "10.0.0.1", "::ffff:10.0.0.1", "443", 1 },	/* as Go */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", "443", 1 },
	{ "", "169.254.169.254", "80", 1 },	/* metadata: never proxied */
	{ "", "fe80::1", "80", 1 },
	{ "[::1]", "::1", "443", 0 },	/* Go and curl: no IP without :port */
	{ "[::1]:443", "::1", "443", 1 },
	{ "[::1]:8443", "::1", "443", 0 },
	{ "fd00:10:96::/112", "fd00:10:96::1", "443", 1 },
	{ "fd00:10:96::/112", "fd00:10:97::1", "443", 0 },
	{ "FD00::/8", "fd12::5", "443", 1 },
	{ "10.0.0.1", "ten.example", "443", 0 },	/* IP entries: IPs only */
	{ "example", "10.0.0.1", "443", 0 },
	{ "10.0.0.0/33", "10.0.0.1", "443", 0 },	/* a bad CIDR is skipped */
	{ "10.0.0.0/x", "10.0.0.1", "443", 0 },
	{ "localhost", "127.0.0.1", "443", 0 },		/* names are not resolved */
	{ ".", "sts.googleapis.com", "443", 0 },
	{ "com", "sts.googleapis.com", "443", 1 },
};

static void
test_no_proxy_table(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(np_cases) / sizeof(np_cases[0]); i++)
		if (proxy_bypass(np_cases[i].no_proxy, np_cases[i].host,
		    np_cases[i].port) != np_cases[i].direct)
			fail_msg("NO_PROXY \"%s\", %s:%s: want %s",
			    np_cases[i].no_proxy, np_cases[i].host,
			    np_cases[i].port, np_cases[i].direct ? "direct" :
			    "proxy");
}

/* The larger table of tests/unit/no_proxy_cases.txt (Go's and curl's
 * cases with where they differ, written for this project): read from the
 * unit tests' folder. */
static void
test_no_proxy_file(void **state)
{
	char	line[512], *v, *h = NULL, *p = NULL, *x = NULL;
	FILE	*f = fopen("no_proxy_cases.txt", "r");
	int	n = 0, bad = 0, want;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		v = line;
		h = strchr(v, '\t');
		p = h != NULL ? strchr(h + 1, '\t') : NULL;
		x = p != NULL ? strchr(p + 1, '\t') : NULL;
		if (x == NULL) {
			fail_msg("malformed case: %s", line);
			continue;
		}
		*h++ = *p++ = *x++ = '\0';
		want = strcmp(x, "direct") == 0;
		if (proxy_bypass(v, h, p) != want) {
			print_error("NO_PROXY \"%s\", %s:%s: want %s\n", v, h, p,
			    x);
			bad++;
		}
		n++;
	}
	fclose(f);
	assert_int_equal(bad, 0);
	assert_true(n >= 40);
}

static void
test_parse(void **state)
{
	struct proxy	p;
	struct err	e;
	char		name[64];

	(void)state;
	assert_int_equal(proxy_parse(&p, "", &e), 0);
	assert_int_equal(p.on, 0);
	assert_int_equal(proxy_parse(&p, "http://proxy.corp:3128", &e), 0);
	assert_int_equal(p.on, 1);
	assert_string_equal(p.host, "proxy.corp");
	assert_string_equal(p.port, "3128");
	assert_string_equal(p.auth, "");
	assert_int_equal(proxy_parse(&p, "http://proxy.corp/", &e), 0);
	assert_string_equal(p.port, "80");		/* as curl */
	assert_int_equal(proxy_parse(&p, "proxy.corp:8080", &e), 0);
	assert_string_equal(p.port, "8080");		/* no scheme: http */
	assert_int_equal(proxy_parse(&p, "HTTP://[fd00::1]:3128", &e), 0);
	assert_string_equal(p.host, "fd00::1");
	proxy_name(&p, name, sizeof(name));
	assert_string_equal(name, "[fd00::1]:3128");
	assert_int_equal(proxy_parse(&p, "http://[fd00::1]", &e), 0);
	assert_string_equal(p.port, "80");
	/* credentials, percent-decoded; the header is Basic of them */
	assert_int_equal(proxy_parse(&p, "http://al%40ice:p%3Ass@w0rd@p:1",
	    &e), 0);
	assert_string_equal(p.user, "al@ice");
	assert_string_equal(p.password, "p:ss@w0rd");
	assert_string_equal(p.auth, "Basic YWxAaWNlOnA6c3NAdzByZA==");
	assert_string_equal(p.host, "p");
}

static void
test_parse_refused(void **state)
{
	static const struct {
		const char	*url;
		const char	*want;
	} bad[] = {
		{ "https://proxy:443", "https:// proxies are not supported" },
		{ "socks5://proxy:1080", "only http:// proxies" },
		{ "http://proxy:3128/path", "a path is not allowed" },
		{ "http://proxy:0", "URL port 0" },
		{ "http://proxy:99999", "port" },
		{ "http://", "proxy URL" },
		{ "http://u:%zz@proxy", "malformed" },
		{ "http://u:%00@proxy", "malformed" },
		{ "http://pro xy:1", "proxy URL" },
	};
	struct proxy	p;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (proxy_parse(&p, bad[i].url, &e) != -1)
			fail_msg("accepted %s", bad[i].url);
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].url, e.msg,
			    bad[i].want);
	}
	/* the password is never in the message */
	assert_int_equal(proxy_parse(&p, "http://u:s3cr3tpw@pro xy", &e), -1);
	assert_null(strstr(e.msg, "s3cr3tpw"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_proxy_table),
		cmocka_unit_test(test_no_proxy_file),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_refused),
	};

	return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
