/*
 * test_http.c -- unit tests of http.c: URL parsing, the request writer and
 * the incremental response parser, fed canned bytes split at every
 * boundary, byte by byte and cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"
#include "log.h"

/* http_resp holds HTTP_HEADER_MAX bytes: keep it off the stack. */
static struct http_resp	resp;
static uint8_t		body[HTTP_BODY_MAX];
static struct err	err;
static char		big[HTTP_HEADER_MAX * 2];

/* ---- helpers --------------------------------------------------------- */

static int
feed_all(const char *msg, size_t n, size_t cap, size_t *used)
{
	http_resp_init(&resp, body, cap);
	err.msg[0] = '\0';
	return http_resp_feed(&resp, (const uint8_t *)msg, n, used, &err);
}

/* Feeds [0,i) then [i,n); *used is the total consumed. */
static int
feed_split(const char *msg, size_t n, size_t i, size_t *used)
{
	size_t	u1 = 0, u2 = 0;
	int	rc;

	http_resp_init(&resp, body, sizeof(body));
	err.msg[0] = '\0';
	rc = http_resp_feed(&resp, (const uint8_t *)msg, i, &u1, &err);
	*used = u1;
	if (rc != 0)
		return rc;
	assert_int_equal(u1, i);
	rc = http_resp_feed(&resp, (const uint8_t *)msg + i, n - i, &u2, &err);
	*used = i + u2;
	return rc;
}

static int
feed_bytes(const char *msg, size_t n, size_t *used)
{
	size_t	i, u = 0;
	int	rc;

	http_resp_init(&resp, body, sizeof(body));
	err.msg[0] = '\0';
	for (i = 0; i < n; i++) {
		rc = http_resp_feed(&resp, (const uint8_t *)msg + i, 1, &u,
		    &err);
		if (rc != 0) {
			*used = i + u;
			return rc;
		}
		assert_int_equal(u, 1);
	}
	*used = n;
	return 0;
}

static void
check_body(const char *want)
{
	assert_int_equal(resp.state, HS_DONE);
	assert_int_equal(resp.bodylen, strlen(want));
	assert_memory_equal(resp.body, want, resp.bodylen);
}

/* Whole, every split, byte by byte: complete after rlen bytes. */
static void
check_all_ways(const char *msg, size_t n, size_t rlen, const char *want,
    int status)
{
	size_t	i, used;

	assert_int_equal(feed_all(msg, n, sizeof(body), &used), 1);
	assert_int_equal(used, rlen);
	check_body(want);
	for (i = 0; i <= n; i++) {
		assert_int_equal(feed_split(msg, n, i, &used), 1);
		assert_int_equal(used, rlen);
		assert_int_equal(resp.status, status);
		check_body(want);
		assert_int_equal(http_resp_eof(&resp, 0, &err), 0);
	}
	assert_int_equal(feed_bytes(msg, n, &used), 1);
	assert_int_equal(used, rlen);
	check_body(want);
}

/* Every proper prefix is incomplete and reported truncated at EOF. */
static void
check_truncations(const char *msg, size_t rlen)
{
	size_t	i, used;

	for (i = 0; i < rlen; i++) {
		assert_int_equal(feed_all(msg, i, sizeof(body), &used), 0);
		assert_int_equal(used, i);
		assert_int_equal(http_resp_eof(&resp, 1, &err), -1);
		assert_non_null(strstr(err.msg, "truncated"));
		assert_int_equal(http_resp_eof(&resp, 0, &err), -1);
	}
	assert_int_equal(feed_all(msg, rlen, sizeof(body), &used), 1);
	assert_int_equal(http_resp_eof(&resp, 0, &err), 0);
}

static void
expect_fail(const char *msg, const char *needle)
{
	size_t	used;

	if (feed_all(msg, strlen(msg), sizeof(body), &used) != -1)
		fail_msg("accepted: %s", msg);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
	/* the same must fail when fed byte by byte */
	assert_int_equal(feed_bytes(msg, strlen(msg), &used), -1);
}

static void
expect_ok(const char *msg, int status)
{
	size_t	used;

	if (feed_all(msg, strlen(msg), sizeof(body), &used) != 1)
		fail_msg("rejected (%s): %s", err.msg, msg);
	assert_int_equal(used, strlen(msg));
	assert_int_equal(resp.status, status);
}

/* ---- complete responses ---------------------------------------------- */

static void
test_content_length_every_split(void **state)
{
	static const char	b[] = "{\"access_token\":\"x\",\"n\":1}";
	char			msg[512];
	size_t			rlen;
	int			n;

	(void)state;
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Retry-After: 7\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(b), b);
	assert_true(n > 0 && (size_t)n < sizeof(msg) - 16);
	rlen = (size_t)n;
	memcpy(msg + rlen, "HTTP/1.1 200", 12);	/* not consumed */
	check_all_ways(msg, rlen + 12, rlen, b, 200);
	assert_string_equal(resp.content_type,
	    "application/json; charset=utf-8");
	assert_int_equal(resp.retry_after, 7);
	check_truncations(msg, rlen);
}

static const char chunked_msg[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; charset=UTF-8\r\n"
    "Vary: Origin\r\nVary: X-Origin\r\nVary: Referer\r\n"
    "Server: ESF\r\nX-XSS-Protection: 0\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n"
    "7 ; name=\"v\"\r\n, world\r\n"
    "A\r\n0123456789\r\n"
    "0\r\nX-Trailer: t\r\nX-Other:\tu v\r\n\r\n";

static void
test_chunked_every_split(void **state)
{
	char	msg[sizeof(chunked_msg) + 8];
	size_t	rlen = sizeof(chunked_msg) - 1;

	(void)state;
	memcpy(msg, chunked_msg, rlen);
	memcpy(msg + rlen, "junk", 4);
	check_all_ways(msg, rlen + 4, rlen, "hello, world0123456789", 200);
	assert_string_equal(resp.content_type,
	    "application/json; charset=UTF-8");
	assert_int_equal(resp.retry_after, -1);
	check_truncations(chunked_msg, rlen);
}

static void
test_chunked_uppercase_te(void **state)
{
	(void)state;
	expect_ok("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n", 200);
	check_body("abc");
}

static void
test_close_delimited(void **state)
{
	static const char	msg[] = "HTTP/1.0 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nabc def";
	size_t			i, used;

	(void)state;
	for (i = 0; i <= sizeof(msg) - 1; i++) {
		assert_int_equal(feed_split(msg, sizeof(msg) - 1, i, &used),
		    0);
		assert_int_equal(used, sizeof(msg) - 1);
		assert_int_equal(resp.state, HS_BODY_CLOSE);
		assert_int_equal(http_resp_eof(&resp, 0, &err), -1);
		assert_non_null(strstr(err.msg, "truncated"));
		assert_non_null(strstr(err.msg, "close_notify"));
		assert_int_equal(http_resp_eof(&resp, 1, &err), 0);
		check_body("abc def");
	}
	/* header block cut short: close_notify does not help */
	assert_int_equal(feed_all(msg, 20, sizeof(body), &used), 0);
	assert_int_equal(http_resp_eof(&resp, 1, &err), -1);
}

static void
test_continue_then_200(void **state)
{
	static const char	msg[] = "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n"
	    "Retry-After: 9\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	(void)state;
	check_all_ways(msg, sizeof(msg) - 1, sizeof(msg) - 1, "ok", 200);
	assert_int_equal(resp.retry_after, -1);	/* from the 103 only */
	check_truncations(msg, sizeof(msg) - 1);
}

static void
test_101_rejected(void **state)
{
	(void)state;
	expect_fail("HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: h2c\r\n\r\n", "101");
}

static void
test_no_body_statuses(void **state)
{
	static const char	*const msgs[] = {
	    "HTTP/1.1 204 No Content\r\n\r\n",
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" };
	size_t			i, used, n;
	char			buf[128];

	(void)state;
	for (i = 0; i < 2; i++) {
		n = strlen(msgs[i]);
		memcpy(buf, msgs[i], n);
		memcpy(buf + n, "abc", 3);
		assert_int_equal(feed_all(buf, n + 3, sizeof(body), &used), 1);
		assert_int_equal(used, n);
		assert_int_equal(resp.bodylen, 0);
	}
}

static void
test_redirect_is_a_status(void **state)
{
	(void)state;
	expect_ok("HTTP/1.1 302 Found\r\nLocation: https://x/\r\n"
	    "Content-Length: 0\r\n\r\n", 302);
	expect_ok("HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", 404);
	expect_ok("HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n", 599);
}

/* ---- status line ----------------------------------------------------- */

static void
test_status_line_bad(void **state)
{
	static const char	*const bad[] = {
	    "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 abc\r\n\r\n", "HTTP/2 200\r\n\r\n",
	    "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 600 X\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
	    "HTTP/1.2 200 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n",
	    "HTTP/1.1 200 O\rK\r\n\r\n", "\r\n", " HTTP/1.1 200 OK\r\n\r\n",
	    "HTTP/1.1 -20 OK\r\n\r\n", "HTTP/1.1\r\n\r\n" };
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i], NULL);
	expect_fail("HTTP/1.1 20 OK\r\n\r\n", "3 digits");
	expect_fail("HTTP/2 200\r\n\r\n", "HTTP/1.1");
}

static void
test_status_line_good(void **state)
{
	(void)state;
	expect_ok("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200);
	expect_ok("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200);
	expect_ok("HTTP/1.1 500 Internal\tServer \x80\xff\r\n"
	    "Content-Length: 0\r\n\r\n", 500);
}

/* ---- header fields --------------------------------------------------- */

static void
test_header_control_bytes(void **state)
{
	char	msg[128];
	size_t	n, used;
	int	c, rc;

	(void)state;
	for (c = 0; c < 0x100; c++) {
		if (c == '\n')
			continue;	/* ends the line: tested below */
		n = (size_t)snprintf(msg, sizeof(msg),
		    "HTTP/1.1 200 OK\r\nX-A: a#b\r\nContent-Length: 0\r\n\r\n");
		*strchr(msg, '#') = (char)c;
		rc = feed_all(msg, n, sizeof(body), &used);
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			if (rc != -1)
				fail_msg("byte 0x%02x accepted", c);
			assert_non_null(strstr(err.msg, "control byte"));
		} else if (rc != 1) {
			fail_msg("byte 0x%02x rejected: %s", c, err.msg);
		}
	}
	expect_fail("HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n",
	    "CRLF");
	expect_fail("HTTP/1.1 200 OK\r\nContent-Length: 0\n\n", NULL);
	expect_ok("HTTP/1.1 200 OK\r\nX-A:\ta\tb \t\r\nX-B:\r\n"
	    "Content-Length: 0\r\n\r\n", 200);
}

static void
test_header_syntax(void **state)
{
	(void)state;
	expect_fail("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n"
	    "Content-Length: 0\r\n\r\n", "folding");
	expect_fail("HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\n"
	    "Content-Length: 0\r\n\r\n", "folding");
	expect_fail("HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 0\r\n\r\n",
	    "token");
	expect_fail("HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 0\r\n\r\n",
	    "token");
	expect_fail("HTTP/1.1 200 OK\r\n: b\r\nContent-Length: 0\r\n\r\n",
	    "token");
	expect_fail("HTTP/1.1 200 OK\r\nX-A\r\nContent-Length: 0\r\n\r\n",
	    "token");
	expect_fail("HTTP/1.1 200 OK\r\nX(A): b\r\nContent-Length: 0\r\n\r\n",
	    "token");
}

/* A response whose header block is exactly total bytes long. */
static size_t
build_padded(size_t total)
{
	static const char	head[] = "HTTP/1.1 200 OK\r\nContent-Length: 0"
	    "\r\nX-Pad: ";
	size_t			n = sizeof(head) - 1, pad = total - n - 4;

	memcpy(big, head, n);
	memset(big + n, 'p', pad);
	memcpy(big + n + pad, "\r\n\r\n", 4);
	return total;
}

static void
test_header_block_limit(void **state)
{
	size_t	n, used;

	(void)state;
	n = build_padded(HTTP_HEADER_MAX);
	assert_int_equal(feed_all(big, n, sizeof(body), &used), 1);
	assert_int_equal(used, HTTP_HEADER_MAX);
	assert_int_equal(feed_split(big, n, n / 2, &used), 1);
	n = build_padded(HTTP_HEADER_MAX + 1);
	assert_int_equal(feed_all(big, n, sizeof(body), &used), -1);
	assert_non_null(strstr(err.msg, "HTTP_HEADER_MAX"));
	assert_int_equal(feed_split(big, n, n - 1, &used), -1);
	assert_int_equal(feed_bytes(big, n, &used), -1);
	assert_int_equal(used, HTTP_HEADER_MAX);
}

static void
test_header_block_limit_counts_interim(void **state)
{
	static const char	cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	size_t			n, used;

	(void)state;
	n = build_padded(HTTP_HEADER_MAX - (sizeof(cont) - 1));
	memmove(big + sizeof(cont) - 1, big, n);
	memcpy(big, cont, sizeof(cont) - 1);
	assert_int_equal(feed_all(big, HTTP_HEADER_MAX, sizeof(body), &used),
	    1);
	n = build_padded(HTTP_HEADER_MAX + 1 - (sizeof(cont) - 1));
	memmove(big + sizeof(cont) - 1, big, n);
	memcpy(big, cont, sizeof(cont) - 1);
	assert_int_equal(feed_all(big, HTTP_HEADER_MAX + 1, sizeof(body),
	    &used), -1);
	assert_non_null(strstr(err.msg, "HTTP_HEADER_MAX"));
}

static size_t
build_lines(size_t nlines)
{
	size_t	i, n;

	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\n");
	for (i = 1; i < nlines; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-%zu: v\r\n",
		    i);
	memcpy(big + n, "\r\n", 2);
	return n + 2;
}

static void
test_header_line_count(void **state)
{
	size_t	n, used;

	(void)state;
	n = build_lines(HTTP_HEADERS_MAX);
	assert_int_equal(feed_all(big, n, sizeof(body), &used), 1);
	n = build_lines(HTTP_HEADERS_MAX + 1);
	assert_int_equal(feed_all(big, n, sizeof(body), &used), -1);
	assert_non_null(strstr(err.msg, "HTTP_HEADERS_MAX"));
}

static void
test_content_type_cut(void **state)
{
	char	msg[512];
	size_t	n, used;

	(void)state;
	n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %0300d\r\nContent-Length: 0\r\n\r\n", 7);
	assert_int_equal(feed_all(msg, n, sizeof(body), &used), 1);
	assert_int_equal(strlen(resp.content_type),
	    sizeof(resp.content_type) - 1);
	assert_memory_equal(resp.content_type, msg + 31,
	    sizeof(resp.content_type) - 1);
	/* cut before a UTF-8 sequence, not inside it */
	n = (size_t)snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %0126d\xc3\xa9xyz\r\nContent-Length: 0\r\n\r\n", 1);
	assert_int_equal(feed_all(msg, n, sizeof(body), &used), 1);
	assert_int_equal(strlen(resp.content_type), 126);
}

/* ---- framing headers ------------------------------------------------- */

static void
test_content_length_values(void **state)
{
	static const char	*const bad[] = { "+5", "-1", "5 5", "", "0x10",
	    "5,5", "99999999999999999999999", "18446744073709551616" };
	char			msg[256];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %s\r\n\r\nhello", bad[i]);
		expect_fail(msg, "Content-Length");
	}
	/* the largest value parses, then does not fit */
	expect_fail("HTTP/1.1 200 OK\r\nContent-Length: "
	    "18446744073709551615\r\n\r\n", "exceeds");
	expect_ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "content-length: 5\r\n\r\nhello", 200);
	check_body("hello");
	expect_fail("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\nhello!", "Content-Length");
	expect_ok("HTTP/1.1 200 OK\r\nContent-Length: 005\r\n\r\nhello", 200);
	check_body("hello");
}

static void
test_cl_te_conflict(void **state)
{
	(void)state;
	expect_fail("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	    "Transfer-Encoding");
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	    "Transfer-Encoding");
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "Transfer-Encoding");
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked"
	    "\r\n\r\n", "Transfer-Encoding");
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "repeated");
}

static void
test_retry_after(void **state)
{
	static const struct {
		const char	*v;
		int		 want;
	} cases[] = {
	    { "120", 120 }, { "0", 0 }, { "Wed, 21 Oct 2015 07:28:00 GMT", -1 },
	    { "-5", -1 }, { "", -1 }, { "1.5", -1 }, { " 30 ", 30 },
	    { "99999999999999999999999", HTTP_RETRY_AFTER_MAX },
	    { "86401", HTTP_RETRY_AFTER_MAX }, { "86399", 86399 } };
	char	msg[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "HTTP/1.1 429 Too Many Requests\r\n"
		    "Retry-After: %s\r\nContent-Length: 0\r\n\r\n", cases[i].v);
		expect_ok(msg, 429);
		if (resp.retry_after != cases[i].want)
			fail_msg("Retry-After \"%s\": %d, want %d", cases[i].v,
			    resp.retry_after, cases[i].want);
	}
	expect_ok("HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\n", 503);
	assert_int_equal(resp.retry_after, -1);
}

/* ---- bodies ---------------------------------------------------------- */

static void
test_body_limits(void **state)
{
	static const char	cl9[] = "HTTP/1.1 200 OK\r\nContent-Length: 9"
	    "\r\n\r\n123456789";
	static const char	ch9[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n";
	static const char	cl9c[] = "HTTP/1.1 200 OK\r\n\r\n123456789";
	const char		*m[3] = { cl9, ch9, cl9c };
	size_t			i, used;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(feed_all(m[i], strlen(m[i]), 8, &used), -1);
		assert_non_null(strstr(err.msg, "exceeds 8 bytes"));
		assert_int_equal(feed_all(m[i], strlen(m[i]), 9, &used),
		    i == 2 ? 0 : 1);
		assert_int_equal(http_resp_eof(&resp, 1, &err), 0);
		check_body("123456789");
	}
	snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %d"
	    "\r\n\r\n", HTTP_BODY_MAX + 1);
	expect_fail(big, "HTTP_BODY_MAX");
	snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n%x\r\n", HTTP_BODY_MAX + 1);
	expect_fail(big, "HTTP_BODY_MAX");
	/* no buffer at all */
	http_resp_init(&resp, NULL, 100);
	assert_int_equal(http_resp_feed(&resp, (const uint8_t *)cl9c,
	    strlen(cl9c), &used, &err), -1);
}

static void
test_bad_chunks(void **state)
{
	static const char	*const bad[] = { "zz\r\n", "\r\n", "-5\r\n",
	    "0x5\r\nhello\r\n0\r\n\r\n", "5x\r\nhello\r\n0\r\n\r\n",
	    "5 x\r\nhello\r\n0\r\n\r\n", "ffffffffffffffffff\r\n",
	    "10000000000000000\r\n", "5\nhello\r\n0\r\n\r\n",
	    "5 \r\nhello\r\n0\r\n\r\n", "5\r\nhelloXY0\r\n\r\n",
	    "5\r\nhello\n0\r\n\r\n", "5\r\nhello\r\r\n0\r\n\r\n",
	    "5;a=\x01\r\nhello\r\n0\r\n\r\n",
	    "5\r\nhello\r\n0\r\nX-T: a\x01\r\n\r\n",
	    "5\r\nhello\r\n0\r\nX-T: a\n\r\n", "5\r\nhello\r\n0\r\n\n",
	    "5\r\nhello\r\n0\r\n bad\r\n\r\n" };
	char			msg[256];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s", bad[i]);
		expect_fail(msg, NULL);
	}
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "ffffffffffffffffff\r\n", "overflow");
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhelloXY", "CRLF");
	/* the largest chunk size parses, then does not fit */
	expect_fail("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "ffffffffffffffff\r\n", "exceeds");
	/* leading zeros are fine */
	expect_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "00000005\r\nhello\r\n000\r\n\r\n", 200);
	check_body("hello");
}

static void
test_chunk_line_limit(void **state)
{
	static const char	head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n";
	size_t			h = sizeof(head) - 1, ext, used;

	(void)state;
	/* "1;" + ext + CRLF == HTTP_CHUNK_LINE_MAX */
	ext = HTTP_CHUNK_LINE_MAX - 4;
	memcpy(big, head, h);
	memcpy(big + h, "1;", 2);
	memset(big + h + 2, 'e', ext);
	memcpy(big + h + 2 + ext, "\r\nx\r\n0\r\n\r\n", 10);
	assert_int_equal(feed_all(big, h + 2 + ext + 10, sizeof(body), &used),
	    1);
	check_body("x");
	ext++;
	memset(big + h + 2, 'e', ext);
	memcpy(big + h + 2 + ext, "\r\nx\r\n0\r\n\r\n", 10);
	assert_int_equal(feed_all(big, h + 2 + ext + 10, sizeof(body), &used),
	    -1);
	assert_non_null(strstr(err.msg, "HTTP_CHUNK_LINE_MAX"));
}

static void
test_trailers_count_against_header_limit(void **state)
{
	static const char	head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\nX-T: ";
	size_t			h = sizeof(head) - 1, pad, used;

	(void)state;
	/* header block (48 bytes) + trailers == HTTP_HEADER_MAX */
	pad = HTTP_HEADER_MAX - (h - 3) - 4;
	memcpy(big, head, h);
	memset(big + h, 't', pad);
	memcpy(big + h + pad, "\r\n\r\n", 4);
	assert_int_equal(feed_all(big, h + pad + 4, sizeof(body), &used), 1);
	assert_int_equal(resp.headtotal, HTTP_HEADER_MAX);
	pad++;
	memset(big + h, 't', pad);
	memcpy(big + h + pad, "\r\n\r\n", 4);
	assert_int_equal(feed_all(big, h + pad + 4, sizeof(body), &used), -1);
	assert_non_null(strstr(err.msg, "HTTP_HEADER_MAX"));
}

static void
test_eof_messages(void **state)
{
	static const char	cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 10"
	    "\r\n\r\nabc";
	size_t			used;

	(void)state;
	http_resp_init(&resp, body, sizeof(body));
	assert_int_equal(http_resp_eof(&resp, 1, &err), -1);
	assert_non_null(strstr(err.msg, "before any byte"));
	assert_int_equal(feed_all(cut, strlen(cut), sizeof(body), &used), 0);
	assert_int_equal(http_resp_eof(&resp, 1, &err), -1);
	assert_non_null(strstr(err.msg, "7 of the Content-Length"));
}

/* ---- request writer -------------------------------------------------- */

static void
test_request_exact(void **state)
{
	static const char	want_get[] = "GET /api/v1/x?y=1 HTTP/1.1\r\n"
	    "Host: kube:6443\r\nAccept: application/json\r\n"
	    "Authorization: Bearer abc\r\nConnection: close\r\n\r\n";
	static const char	want_post[] = "POST /v1/token HTTP/1.1\r\n"
	    "Host: sts.googleapis.com\r\nContent-Type: application/json\r\n"
	    "Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}";
	struct http_hdr		gh[] = { { "Accept", "application/json" },
	    { "Authorization", "Bearer abc" } };
	struct http_hdr		ph[] = { { "Content-Type", "application/json" } };
	struct http_req		r = { "GET", "kube:6443", "/api/v1/x?y=1", gh, 2,
	    NULL, 0, 0 };
	char			buf[512];
	size_t			len;

	(void)state;
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &r, &err),
	    0);
	assert_int_equal(len, sizeof(want_get) - 1);
	assert_memory_equal(buf, want_get, len);
	r = (struct http_req){ "POST", "sts.googleapis.com", "/v1/token", ph,
	    1, "{\"a\":1}", 7, 0 };
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &r, &err),
	    0);
	assert_int_equal(len, sizeof(want_post) - 1);
	assert_memory_equal(buf, want_post, len);
	/* the exact size fits, one byte less does not */
	assert_int_equal(http_request_write(buf, sizeof(want_post) - 1, &len,
	    &r, &err), 0);
	assert_int_equal(http_request_write(buf, sizeof(want_post) - 2, &len,
	    &r, &err), -1);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err.msg, "does not fit"));
}

/* keep-alive: no "Connection: close" in the request; only a response
 * delimited by length or chunks, without "Connection: close", is
 * reusable */
static void
test_keepalive(void **state)
{
	static const char	want[] = "PATCH /x HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 2\r\n\r\n{}";
	static const struct { const char *msg; int reusable; } c[] = {
	    { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 1 },
	    { "HTTP/1.1 403 No\r\nContent-Length: 0\r\n\r\n", 1 },
	    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "2\r\n{}\r\n0\r\n\r\n", 1 },
	    { "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	      "Content-Length: 2\r\n\r\n{}", 0 },
	    { "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n"
	      "Content-Length: 2\r\n\r\n{}", 0 },
	    { "HTTP/1.1 200 OK\r\nConnection:  upgrade ,close \r\n"
	      "Content-Length: 2\r\n\r\n{}", 0 },
	    { "HTTP/1.1 200 OK\r\nConnection: closed\r\n"
	      "Content-Length: 2\r\n\r\n{}", 1 },
	    { "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
	      "Content-Length: 2\r\n\r\n{}", 1 } };
	struct http_req		r = { "PATCH", "h", "/x", NULL, 0, "{}", 2, 1 };
	char			buf[512];
	size_t			len, used, i;

	(void)state;
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &r, &err),
	    0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(feed_all(c[i].msg, strlen(c[i].msg), 64,
		    &used), 1);
		if (http_resp_reusable(&resp) != c[i].reusable)
			fail_msg("case %zu: reusable %d", i, !c[i].reusable);
	}
	/* a body up to the end of the connection: never reusable */
	assert_int_equal(feed_all("HTTP/1.1 200 OK\r\n\r\nab", 21, 64,
	    &used), 0);
	assert_int_equal(http_resp_eof(&resp, 1, &err), 0);
	assert_int_equal(http_resp_reusable(&resp), 0);
	/* not complete: not reusable */
	assert_int_equal(feed_all("HTTP/1.1 200 OK\r\nContent-Length: 5"
	    "\r\n\r\nab", 39, 64, &used), 0);
	assert_int_equal(http_resp_reusable(&resp), 0);
}

static void
test_request_post_without_body(void **state)
{
	static const char	want[] = "POST /x HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct http_req		r = { "POST", "h", "/x", NULL, 0, NULL, 0, 0 };
	char			buf[512];
	size_t			len;

	(void)state;
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &r, &err),
	    0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
}

static void
test_request_injection(void **state)
{
	struct http_hdr	h[1];
	struct http_req	r;
	char		buf[512];
	size_t		len, i;
	static const struct http_hdr bad[] = {
	    { "X-A", "a\r\nX-Injected: 1" }, { "X-A", "a\nb" },
	    { "X-A", "a\rb" }, { "X-A", "a\x01" }, { "X-A", "a\x7f" },
	    { "X A", "v" }, { "X:A", "v" }, { "", "v" }, { "X\r\nY", "v" },
	    { "Host", "evil" }, { "content-length", "5" },
	    { "Transfer-Encoding", "chunked" }, { "Connection", "keep" } };

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h[0] = bad[i];
		r = (struct http_req){ "GET", "h", "/", h, 1, NULL, 0, 0 };
		if (http_request_write(buf, sizeof(buf), &len, &r, &err) != -1)
			fail_msg("header %zu accepted", i);
		assert_null(strstr(err.msg, "X-Injected"));
	}
	h[0] = (struct http_hdr){ "X-A", "tab\there" };
	r = (struct http_req){ "GET", "h", "/", h, 1, NULL, 0, 0 };
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &r, &err),
	    0);
}

static void
test_request_bad_line(void **state)
{
	static const struct http_req	bad[] = {
	    { "GE T", "h", "/", NULL, 0, NULL, 0, 0 },
	    { "", "h", "/", NULL, 0, NULL, 0, 0 },
	    { "GET", "h", "/a b", NULL, 0, NULL, 0, 0 },
	    { "GET", "h", "/a\r\nX: y", NULL, 0, NULL, 0, 0 },
	    { "GET", "h", "", NULL, 0, NULL, 0, 0 },
	    { "GET", "h\r\nX: y", "/", NULL, 0, NULL, 0, 0 },
	    { "GET", "", "/", NULL, 0, NULL, 0, 0 },
	    { "GET", "h", "/", NULL, 1, NULL, 0, 0 },
	    { "POST", "h", "/", NULL, 0, NULL, 3, 0 } };
	static const struct http_req	good = { "GET", "h", "/", NULL, 0,
	    NULL, 0, 0 };
	char				buf[512];
	size_t				len, i;

	(void)state;
	assert_int_equal(http_request_write(buf, sizeof(buf), &len, &good,
	    &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_request_write(buf, sizeof(buf), &len, &bad[i],
		    &err) != -1)
			fail_msg("request %zu accepted", i);
}

/* ---- URLs ------------------------------------------------------------ */

static void
check_url(const char *s, const char *host, const char *port,
    const char *path, int ipv6, const char *hostport)
{
	struct url	u;
	char		hp[HOST_MAX + 8];

	if (url_parse(s, &u, &err) != 0)
		fail_msg("url %s rejected: %s", s, err.msg);
	assert_string_equal(u.host, host);
	assert_string_equal(u.port, port);
	assert_string_equal(u.path, path);
	assert_int_equal(u.ipv6, ipv6);
	assert_int_equal(url_hostport(&u, hp, sizeof(hp), &err), 0);
	assert_string_equal(hp, hostport);
	/* one byte too small for the Host value fails */
	assert_int_equal(url_hostport(&u, hp, strlen(hostport), &err), -1);
}

static void
test_url_valid(void **state)
{
	(void)state;
	check_url("https://sts.googleapis.com/v1/token", "sts.googleapis.com",
	    "443", "/v1/token", 0, "sts.googleapis.com");
	check_url("HTTPS://Example.COM", "Example.COM", "443", "/", 0,
	    "Example.COM");
	check_url("https://[::1]:6443/api?x=1", "::1", "6443", "/api?x=1", 1,
	    "[::1]:6443");
	check_url("https://[fd00:10:96::1]", "fd00:10:96::1", "443", "/", 1,
	    "[fd00:10:96::1]");
	check_url("https://10.0.0.1:443?a=b", "10.0.0.1", "443", "/?a=b", 0,
	    "10.0.0.1");
	check_url("https://h:1/", "h", "1", "/", 0, "h:1");
	check_url("https://h:65535/", "h", "65535", "/", 0, "h:65535");
	check_url("https://h:08443/", "h", "8443", "/", 0, "h:8443");
	check_url("https://login.microsoftonline.com/t/oauth2/v2.0/token",
	    "login.microsoftonline.com", "443", "/t/oauth2/v2.0/token", 0,
	    "login.microsoftonline.com");
}

static void
test_url_invalid(void **state)
{
	static const char	*const bad[] = { "http://x/", "https:/x",
	    "https://", "https:///x", "https://user@host/",
	    "https://u:p@host/", "https://host/#frag", "https://host#f",
	    "https://host:0/", "https://host:65536/", "https://host:/",
	    "https://host:44a3/", "https://host:+443/", "https://host:123456/",
	    "https://ho st/", "https://host/a b", "https://host/\x01",
	    "https://host/\x7f", "https://h\xc3\xa9/", "https://[::1/",
	    "https://[::1]x/", "https://[zz::1]/", "https://[]/",
	    "https://[::1%25eth0]/", "https://[example.com]/",
	    "https://::1/", "https://a..b/", "https://.a/", "https://a./",
	    "https://999.1.1.1/", "https://1.2.3/", "https://01.2.3.4/",
	    "https://host\\@evil/", "https://ho<st/", " https://h/",
	    "https://h/\t", "ftp://h/", "https://h:-1/", "" };
	struct url		u;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (url_parse(bad[i], &u, &err) != -1)
			fail_msg("url %zu (%s) accepted", i, bad[i]);
	assert_int_equal(url_parse("https://u:secretpw@h/", &u, &err), -1);
	assert_null(strstr(err.msg, "secretpw"));
	assert_non_null(strstr(err.msg, "userinfo"));
}

/* url_parse_any: http too (port 80, plain), everything else as url_parse. */
static void
test_url_any(void **state)
{
	static const char	*const bad[] = { "http://", "http://u@h/",
	    "http://h/#f", "ftp://h/", "http:/h", "httpx://h/", "" };
	struct url		u;
	char			hp[64];
	size_t			i;

	(void)state;
	assert_int_equal(url_parse_any("http://169.254.169.254/metadata/"
	    "identity/oauth2/token?resource=api://x", &u, &err), 0);
	assert_int_equal(u.plain, 1);
	assert_string_equal(u.host, "169.254.169.254");
	assert_string_equal(u.port, "80");
	assert_string_equal(u.path, "/metadata/identity/oauth2/token?"
	    "resource=api://x");
	assert_int_equal(url_hostport(&u, hp, sizeof(hp), &err), 0);
	assert_string_equal(hp, "169.254.169.254");
	assert_int_equal(url_parse_any("HTTP://[fd00:ec2::254]:443/x", &u,
	    &err), 0);
	assert_int_equal(u.plain, 1);
	assert_int_equal(u.ipv6, 1);
	assert_int_equal(url_hostport(&u, hp, sizeof(hp), &err), 0);
	assert_string_equal(hp, "[fd00:ec2::254]:443");
	assert_int_equal(url_parse_any("https://h/x", &u, &err), 0);
	assert_int_equal(u.plain, 0);
	assert_string_equal(u.port, "443");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (url_parse_any(bad[i], &u, &err) != -1)
			fail_msg("url %zu (%s) accepted", i, bad[i]);
	/* url_parse itself still refuses http */
	assert_int_equal(url_parse("http://169.254.169.254/", &u, &err), -1);
}

static void
test_url_limits(void **state)
{
	char		s[URL_MAX + 16];
	struct url	u;
	size_t		i;

	(void)state;
	/* 4 labels of 63 and 3 dots: 255 bytes fit HOST_MAX, 256 do not */
	memcpy(s, "https://", 8);
	for (i = 0; i < 4; i++) {
		memset(s + 8 + i * 64, 'a', 63);
		s[8 + i * 64 + 63] = '.';
	}
	s[8 + 255] = '\0';
	assert_int_equal(url_parse(s, &u, &err), 0);
	assert_int_equal(strlen(u.host), HOST_MAX - 1);
	memcpy(s + 8 + 255, "b", 2);	/* 256 bytes */
	assert_int_equal(url_parse(s, &u, &err), -1);
	assert_non_null(strstr(err.msg, "HOST_MAX"));
	memset(s + 8, 'a', 64);		/* one 64-byte label */
	s[8 + 64] = '\0';
	assert_int_equal(url_parse(s, &u, &err), -1);
	assert_non_null(strstr(err.msg, "63"));
	s[8 + 63] = '\0';
	assert_int_equal(url_parse(s, &u, &err), 0);
	memset(s + 8, 'a', 256);	/* labels 63,63,63,62,1: 256 bytes */
	s[8 + 63] = s[8 + 127] = s[8 + 191] = s[8 + 254] = '.';
	s[8 + 256] = '\0';
	assert_int_equal(url_parse(s, &u, &err), -1);
	assert_non_null(strstr(err.msg, "HOST_MAX"));
	s[8 + 255] = '\0';		/* 255 bytes again: fits */
	s[8 + 254] = 'a';
	assert_int_equal(url_parse(s, &u, &err), 0);
	/* URL_MAX - 1 bytes fit, URL_MAX do not */
	memcpy(s, "https://h/", 10);
	memset(s + 10, 'p', URL_MAX - 11);
	s[URL_MAX - 1] = '\0';
	assert_int_equal(url_parse(s, &u, &err), 0);
	assert_int_equal(strlen(u.path), URL_MAX - 10);
	s[URL_MAX - 1] = 'p';
	s[URL_MAX] = '\0';
	assert_int_equal(url_parse(s, &u, &err), -1);
	assert_non_null(strstr(err.msg, "URL_MAX"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length_every_split),
		cmocka_unit_test(test_chunked_every_split),
		cmocka_unit_test(test_chunked_uppercase_te),
		cmocka_unit_test(test_close_delimited),
		cmocka_unit_test(test_continue_then_200),
		cmocka_unit_test(test_101_rejected),
		cmocka_unit_test(test_no_body_statuses),
		cmocka_unit_test(test_redirect_is_a_status),
		cmocka_unit_test(test_status_line_bad),
		cmocka_unit_test(test_status_line_good),
		cmocka_unit_test(test_header_control_bytes),
		cmocka_unit_test(test_header_syntax),
		cmocka_unit_test(test_header_block_limit),
		cmocka_unit_test(test_header_block_limit_counts_interim),
		cmocka_unit_test(test_header_line_count),
		cmocka_unit_test(test_content_type_cut),
		cmocka_unit_test(test_content_length_values),
		cmocka_unit_test(test_cl_te_conflict),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_chunk_line_limit),
		cmocka_unit_test(test_trailers_count_against_header_limit),
		cmocka_unit_test(test_eof_messages),
		cmocka_unit_test(test_request_exact),
		cmocka_unit_test(test_request_post_without_body),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_request_injection),
		cmocka_unit_test(test_request_bad_line),
		cmocka_unit_test(test_url_valid),
		cmocka_unit_test(test_url_invalid),
		cmocka_unit_test(test_url_limits),
		cmocka_unit_test(test_url_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
