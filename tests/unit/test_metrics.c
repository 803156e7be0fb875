/*
 * test_metrics.c -- unit tests of metrics.c: the address parser, the
 * request parser on good and hostile requests (every prefix of a good one
 * is "more"), the exact /metrics answer with escaped labels, the worst
 * case within METRICS_RESPONSE_MAX, and a real listener on 127.0.0.1:0
 * driven by a poll loop: every route's exact answer, garbage, a request
 * over the cap, a silent client dropped at its deadline while others are
 * served, two clients interleaved, more clients than slots.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dial.h"
#include "log.h"
#include "metrics.h"
#include "state.h"

#define NOW	1800000000LL
#define REQ(path)	"GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST		"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
#define HEAD		"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"

static struct metrics	m;
static struct state	st;
static char		out[METRICS_RESPONSE_MAX + 1];
static char		big[METRICS_REQUEST_MAX + 1024];
static int64_t		slowest;	/* longest poll-and-serve step, ms */

/* A step polls at most 10 ms and serves without waiting: anything near
 * METRICS_TIMEOUT_MS would mean it waited for a client (the bound leaves
 * room for a loaded machine). */
#define STEP_MAX_MS	(METRICS_TIMEOUT_MS / 4)

static const char BODY[] =
"# HELP regcred_token_expiry_timestamp_seconds Expiry of the token in each "
    "namespace's Secret (Unix seconds, 0: none applied yet).\n"
"# TYPE regcred_token_expiry_timestamp_seconds gauge\n"
"regcred_token_expiry_timestamp_seconds{namespace=\"team-a\","
    "secret=\"ar-pull\"} 1800003000\n"
"regcred_token_expiry_timestamp_seconds{namespace=\"a\\\"b\\\\c\\nd\","
    "secret=\"ar-pull\"} 0\n"
"# HELP regcred_refresh_total Refresh attempts, by result.\n"
"# TYPE regcred_refresh_total counter\n"
"regcred_refresh_total{result=\"ok\"} 7\n"
"regcred_refresh_total{result=\"error\"} 2\n"
"# HELP regcred_last_success_timestamp_seconds When every namespace was "
    "last applied (Unix seconds, 0: never).\n"
"# TYPE regcred_last_success_timestamp_seconds gauge\n"
"regcred_last_success_timestamp_seconds 1799999990\n"
"# HELP regcred_watch_restarts_total Restarts of the watch on the Secrets.\n"
"# TYPE regcred_watch_restarts_total counter\n"
"regcred_watch_restarts_total 1\n";

static void
state_two(void)
{
	memset(&st, 0, sizeof(st));
	strcpy(st.secret, "ar-pull");
	st.last_success = NOW - 10;
	st.refresh_ok = 7;
	st.refresh_failed = 2;
	st.watch_restarts = 1;
	st.nns = 2;
	strcpy(st.ns[0].name, "team-a");
	st.ns[0].expiry = NOW + 3000;
	strcpy(st.ns[1].name, "a\"b\\c\nd");
}

/* ---- the parser -------------------------------------------------------- */

struct pcase {
	const char		*req;
	enum metrics_route	 route;
	int			 head;
};

static const struct pcase CASES[] = {
	{ REQ("/metrics"), METRICS_METRICS, 0 },
	{ REQ("/metrics?name[]=x&y"), METRICS_METRICS, 0 },
	{ REQ("/healthz"), METRICS_HEALTHZ, 0 },
	{ REQ("/healthz?"), METRICS_HEALTHZ, 0 },
	{ "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_METRICS, 1 },
	{ "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_HEALTHZ, 1 },
	{ "GET /healthz HTTP/1.0\r\n\r\n", METRICS_HEALTHZ, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nX:\t y \t\r\n"
	    "Content-Length: 00\r\nAccept: */*\r\n\r\n", METRICS_METRICS, 0 },
	{ "GET /metrics HTTP/1.1\r\nhOsT:\r\n\r\n", METRICS_METRICS, 0 },
	{ "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_NOT_ALLOWED, 0 },
	{ "get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_NOT_ALLOWED, 0 },
	{ "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_NOT_ALLOWED,
	    0 },
	{ REQ("/nope"), METRICS_NOT_FOUND, 0 },
	{ REQ("/"), METRICS_NOT_FOUND, 0 },
	{ REQ("/metrics/"), METRICS_NOT_FOUND, 0 },
	{ REQ("/metricsx"), METRICS_NOT_FOUND, 0 },
	{ REQ("/Metrics"), METRICS_NOT_FOUND, 0 },
	{ REQ("/healthz/../metrics"), METRICS_NOT_FOUND, 0 },
	{ "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_NOT_FOUND, 1 },
	{ "PUT /nope HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_NOT_FOUND, 0 },
	/* 400 */
	{ "hello\r\n\r\n", METRICS_BAD, 0 },
	{ "\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /healthz HTTP/1.1\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", METRICS_BAD,
	    0 },
	{ REQ("http://x/metrics"), METRICS_BAD, 0 },
	{ REQ("*"), METRICS_BAD, 0 },
	{ "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.10\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics http/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics\r\n\r\n", METRICS_BAD, 0 },
	{ "GET\r\n\r\n", METRICS_BAD, 0 },
	{ " GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /met\x80rics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /met\trics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\nHost: x\n\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", METRICS_BAD,
	    0 },
	{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nNoColon\r\nHost: x\r\n\r\n", METRICS_BAD,
	    0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n", METRICS_BAD,
	    0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x7fz\r\n\r\n", METRICS_BAD,
	    0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
	    METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
	    METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
	    METRICS_BAD, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", METRICS_BAD, 0 },
	{ "GET /nope HTTP/1.1\r\n\r\n", METRICS_BAD, 0 },
};

static void
test_parse_table(void **state)
{
	struct metrics_req	r;
	size_t			i, k, len;

	(void)state;
	for (i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
		len = strlen(CASES[i].req);
		metrics_parse(CASES[i].req, len, METRICS_REQUEST_MAX, &r);
		if (r.route != CASES[i].route || r.head != CASES[i].head)
			fail_msg("case %zu \"%s\": route %d head %d", i,
			    CASES[i].req, (int)r.route, r.head);
		if (r.route != METRICS_BAD)
			assert_int_equal(r.used, len);
		/* no prefix decides otherwise */
		for (k = 0; k < len; k++) {
			metrics_parse(CASES[i].req, k, METRICS_REQUEST_MAX, &r);
			assert_true(r.route == METRICS_MORE ||
			    r.route == CASES[i].route);
			if (CASES[i].route != METRICS_BAD)
				assert_int_equal(r.route, METRICS_MORE);
		}
	}
}

static void
test_parse_cap(void **state)
{
	struct metrics_req	r;
	const char		*part = REQ("/metrics");

	(void)state;
	/* incomplete: more, until it fills the cap */
	metrics_parse(part, strlen(part) - 2, METRICS_REQUEST_MAX, &r);
	assert_int_equal(r.route, METRICS_MORE);
	metrics_parse(part, strlen(part) - 2, strlen(part) - 2, &r);
	assert_int_equal(r.route, METRICS_BAD);
	/* exactly at the cap and complete: fine */
	metrics_parse(part, strlen(part), strlen(part), &r);
	assert_int_equal(r.route, METRICS_METRICS);
	/* bytes after the header block are not looked at */
	metrics_parse(REQ("/healthz") "garbage", strlen(REQ("/healthz")) + 7,
	    METRICS_REQUEST_MAX, &r);
	assert_int_equal(r.route, METRICS_HEALTHZ);
	assert_int_equal(r.used, strlen(REQ("/healthz")));
	metrics_parse("", 0, METRICS_REQUEST_MAX, &r);
	assert_int_equal(r.route, METRICS_MORE);
}

/* ---- the answers ------------------------------------------------------- */

static const char *
answer(enum metrics_route route, int head, size_t *len)
{
	struct metrics_req	r = { route, head, 0 };
	size_t			start, end;

	end = metrics_answer(&r, &st, out, sizeof(out) - 1, &start);
	assert_true(end > start);
	out[end] = '\0';
	*len = end - start;
	return out + start;
}

static void
test_answer_exact(void **state)
{
	char		want[sizeof(BODY) + 256];
	const char	*a;
	size_t		len;

	(void)state;
	state_two();
	snprintf(want, sizeof(want), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
	    strlen(BODY), BODY);
	a = answer(METRICS_METRICS, 0, &len);
	assert_string_equal(a, want);
	a = answer(METRICS_METRICS, 1, &len);
	*strstr(want, "\r\n\r\n") = '\0';
	assert_int_equal(len, strlen(want) + 4);
	assert_memory_equal(a, want, strlen(want));
	a = answer(METRICS_HEALTHZ, 0, &len);
	assert_string_equal(a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: 3\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\nok\n");
	a = answer(METRICS_NOT_ALLOWED, 0, &len);
	assert_non_null(strstr(a, "405 Method Not Allowed\r\n"));
	assert_non_null(strstr(a, "\r\nAllow: GET, HEAD\r\n"));
	a = answer(METRICS_NOT_FOUND, 1, &len);
	assert_string_equal(a, "HTTP/1.1 404 Not Found\r\nContent-Type: "
	    "text/plain; charset=utf-8\r\nContent-Length: 10\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
	a = answer(METRICS_BAD, 0, &len);
	assert_true(strncmp(a, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
}

/* No namespace yet, counters at their largest, every name at its worst. */
static void
test_answer_bounds(void **state)
{
	const char	*a;
	size_t		 len, i;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.refresh_ok = ~0ULL;
	a = answer(METRICS_METRICS, 0, &len);
	assert_non_null(strstr(a, "\nregcred_refresh_total{result=\"ok\"} "
	    "18446744073709551615\n"));
	assert_null(strstr(a, "{namespace="));
	memset(st.secret, '"', NAME_MAX_REGCRED);
	st.nns = NAMESPACE_MAX + 5;		/* clamped */
	for (i = 0; i < NAMESPACE_MAX; i++) {
		memset(st.ns[i].name, '\\', NAME_MAX_REGCRED);
		st.ns[i].expiry = -1 - 0x7fffffffffffffffLL;
	}
	a = answer(METRICS_METRICS, 0, &len);
	assert_true(len > (size_t)NAMESPACE_MAX * 4 * NAME_MAX_REGCRED);
	assert_true(len <= METRICS_RESPONSE_MAX - METRICS_HEAD_MAX +
	    (size_t)200);
}

/* ---- addresses --------------------------------------------------------- */

static void
test_addr(void **state)
{
	static const char *const good[] = { "127.0.0.1:0", "0.0.0.0:9090",
	    "[::1]:9090", "[::]:1", "10.1.2.3:65535", "[::ffff:1.2.3.4]:80" };
	static const char *const bad[] = { "", "localhost:9090", ":9090",
	    "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:9090",
	    "[::1]9090", "[::1]:", "[::1", "[fe80::1%eth0]:80", "1.2.3:80",
	    "127.0.0.1:80x", "127.0.0.1:-1", "127.0.0.1:123456",
	    "[127.0.0.1]:80", "01.2.3.4:80", "1.2.3.4 :80",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1" };
	struct sockaddr_storage	sa;
	socklen_t		len;
	struct err		e;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (metrics_addr_parse(good[i], &sa, &len, &e) != 0)
			fail_msg("%s refused: %s", good[i], e.msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (metrics_addr_parse(bad[i], &sa, &len, &e) == 0)
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(metrics_addr_parse("[::1]:9090", &sa, &len, &e), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(metrics_addr_parse("localhost:1", &sa, &len, &e), -1);
	assert_non_null(strstr(e.msg, "numeric"));
}

/* ---- a real listener ---------------------------------------------------- */

/* One turn of the caller's loop: poll (at most 10 ms), serve. */
static void
step(void)
{
	struct pollfd	p[METRICS_POLLFDS];
	size_t		n;
	int64_t		t0 = dial_now_ms(), took;
	int		to = metrics_timeout(&m, t0);

	n = metrics_pollfds(&m, p, sizeof(p) / sizeof(p[0]));
	(void)poll(p, n, to < 0 || to > 10 ? 10 : to);
	metrics_serve(&m, p, n, &st, dial_now_ms());
	took = dial_now_ms() - t0;
	if (took > slowest)
		slowest = took;
}

static int
client(void)
{
	struct sockaddr_in	a;
	int			fd;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)metrics_port(&m));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void
put(int fd, const char *s, size_t n)
{
	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Drives the loop and reads fd until EOF: the length, -1 on timeout,
 * -2 on a reset. */
static long
collect(int fd, char *dst, size_t cap, int64_t ms)
{
	int64_t	end = dial_now_ms() + ms;
	size_t	len = 0;
	ssize_t	n;

	while (dial_now_ms() < end) {
		step();
		n = recv(fd, dst + len, cap - 1 - len, MSG_DONTWAIT);
		if (n == 0) {
			dst[len] = '\0';
			return (long)len;
		}
		if (n > 0)
			len += (size_t)n;
		else if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -2;
	}
	return -1;
}

static long
ask(const char *req, size_t n)
{
	int	fd = client();
	long	r;

	put(fd, req, n);
	r = collect(fd, out, sizeof(out), 3000);
	close(fd);
	return r;
}

static void
pump(int64_t ms)
{
	int64_t	end = dial_now_ms() + ms;

	while (dial_now_ms() < end)
		step();
}

static int
setup_listener(void **state)
{
	struct err	e;

	(void)state;
	state_two();
	slowest = 0;
	if (metrics_open(&m, "127.0.0.1:0", &e) != 0) {
		print_error("%s\n", e.msg);
		return -1;
	}
	return metrics_port(&m) > 0 ? 0 : -1;
}

static int
teardown_listener(void **state)
{
	(void)state;
	metrics_close(&m);
	return 0;
}

static void
test_live_routes(void **state)
{
	const char	*body;

	(void)state;
	assert_true(ask(REQ("/metrics"), strlen(REQ("/metrics"))) > 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	body = strstr(out, "\r\n\r\n") + 4;
	assert_string_equal(body, BODY);
	assert_true(ask(REQ("/healthz"), strlen(REQ("/healthz"))) > 0);
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\nok\n");
	assert_true(ask(REQ("/nope"), strlen(REQ("/nope"))) > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_true(ask(POST, strlen(POST)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 405 ", 13) == 0);
	assert_true(ask(HEAD, strlen(HEAD)) > 0);
	assert_true(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
	assert_true(ask("hello\r\n\r\n", 9) > 0);
	assert_true(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	assert_true(ask("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",
	    13) > 0);
	assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	assert_true(slowest < STEP_MAX_MS);
}

/* Over METRICS_REQUEST_MAX without an end: 400, and the rest the client
 * sends is drained so that the answer is not lost to a reset. */
static void
test_live_over_cap(void **state)
{
	int	fd;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ", 39);
	fd = client();
	put(fd, big, sizeof(big));
	assert_true(collect(fd, out, sizeof(out), 3000) > 0);
	assert_true(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	close(fd);
	/* exactly at the cap with its end: answered */
	memset(big, 'a', METRICS_REQUEST_MAX);
	memcpy(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ", 39);
	memcpy(big + METRICS_REQUEST_MAX - 4, "\r\n\r\n", 4);
	assert_true(ask(big, METRICS_REQUEST_MAX) > 0);
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\nok\n");
}

/* A client that sends nothing holds a slot until METRICS_TIMEOUT_MS, no
 * longer, and the loop serves others meanwhile without waiting. */
static void
test_live_silent_client(void **state)
{
	int64_t	t0, took;
	int	idle;
	long	r;

	(void)state;
	idle = client();
	t0 = dial_now_ms();
	pump(100);
	assert_true(ask(REQ("/healthz"), strlen(REQ("/healthz"))) > 0);
	assert_true(dial_now_ms() - t0 < METRICS_TIMEOUT_MS / 2);
	r = collect(idle, out, sizeof(out), METRICS_TIMEOUT_MS + 1500);
	took = dial_now_ms() - t0;
	assert_int_equal(r, 0);			/* closed, nothing said */
	assert_true(took >= METRICS_TIMEOUT_MS - 50);
	assert_true(took < METRICS_TIMEOUT_MS + 1000);
	assert_true(slowest < STEP_MAX_MS);
	close(idle);
	/* half a request, then silence: the same */
	idle = client();
	put(idle, "GET /metrics HTTP/1.1\r\n", 23);
	t0 = dial_now_ms();
	r = collect(idle, out, sizeof(out), METRICS_TIMEOUT_MS + 1500);
	assert_int_equal(r, 0);
	assert_true(dial_now_ms() - t0 < METRICS_TIMEOUT_MS + 1000);
	close(idle);
}

static void
test_live_two_clients(void **state)
{
	const char	*req = REQ("/metrics");
	char		 other[sizeof(out)];
	int		 a, b;

	(void)state;
	a = client();
	b = client();
	put(a, req, 10);
	put(b, req, 20);
	pump(50);
	put(b, req + 20, strlen(req) - 20);
	pump(50);
	put(a, req + 10, strlen(req) - 10);
	assert_true(collect(b, other, sizeof(other), 3000) > 0);
	assert_true(collect(a, out, sizeof(out), 3000) > 0);
	assert_string_equal(out, other);
	assert_string_equal(strstr(out, "\r\n\r\n") + 4, BODY);
	close(a);
	close(b);
}

/* More clients than slots: the extra one waits in the backlog and is
 * answered once a slot frees (here: when the silent ones time out). */
static void
test_live_slots_full(void **state)
{
	int	idle[METRICS_CONNS_MAX], late;
	size_t	i;
	int64_t	t0;

	(void)state;
	for (i = 0; i < METRICS_CONNS_MAX; i++)
		idle[i] = client();
	pump(100);
	late = client();
	t0 = dial_now_ms();
	put(late, REQ("/healthz"), strlen(REQ("/healthz")));
	assert_true(collect(late, out, sizeof(out), 4000) > 0);
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\nok\n");
	assert_true(dial_now_ms() - t0 > METRICS_TIMEOUT_MS / 2);
	for (i = 0; i < METRICS_CONNS_MAX; i++)
		close(idle[i]);
	close(late);
	assert_true(slowest < STEP_MAX_MS);
}

/* Out of descriptors: accept fails, the listener rests a moment (poll
 * does not spin on it), then the waiting client is served. */
static void
test_live_out_of_fds(void **state)
{
	struct rlimit	old, low;
	struct pollfd	p[METRICS_POLLFDS];
	int		fd, next;
	int64_t		t0;

	(void)state;
	fd = client();
	put(fd, REQ("/healthz"), strlen(REQ("/healthz")));
	next = dup(0);
	assert_true(next >= 0);
	close(next);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)next;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	t0 = dial_now_ms();
	step();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(metrics_pollfds(&m, p, METRICS_POLLFDS), 0);
	assert_true(metrics_timeout(&m, dial_now_ms()) > 0);
	assert_true(collect(fd, out, sizeof(out), 3000) > 0);
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\nok\n");
	assert_true(dial_now_ms() - t0 >= 200);
	close(fd);
}

static void
test_open_errors(void **state)
{
	struct metrics	other;
	struct pollfd	p[2];
	struct err	e;
	char		addr[32];

	(void)state;
	metrics_init(&other);
	assert_int_equal(metrics_port(&other), -1);
	assert_int_equal(metrics_pollfds(&other, p, 2), 0);
	assert_int_equal(metrics_timeout(&other, 0), -1);
	metrics_serve(&other, p, 0, &st, 0);
	metrics_close(&other);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", metrics_port(&m));
	assert_int_equal(metrics_open(&other, addr, &e), -1);
	assert_non_null(strstr(e.msg, "in use"));
	assert_int_equal(metrics_open(&other, "localhost:0", &e), -1);
	assert_int_equal(other.fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_cap),
		cmocka_unit_test(test_answer_exact),
		cmocka_unit_test(test_answer_bounds),
		cmocka_unit_test(test_addr),
		cmocka_unit_test_setup_teardown(test_live_routes,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_live_over_cap,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_live_silent_client,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_live_two_clients,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_live_slots_full,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_live_out_of_fds,
		    setup_listener, teardown_listener),
		cmocka_unit_test_setup_teardown(test_open_errors,
		    setup_listener, teardown_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
