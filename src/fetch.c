/*
 * fetch.c -- one HTTP exchange with retries.
 *
 * Owns: the retry policy. Connection, TLS I/O and truncation failures,
 * and statuses 408, 429 and 5xx, are retried with truncated exponential
 * backoff (RETRY_BASE_MS doubling up to RETRY_CAP_MS) and full jitter;
 * a Retry-After in delta-seconds lengthens the wait. Nothing is retried
 * past the deadline: the last response (or failure) is returned instead.
 * Certificate failures and other 4xx statuses are final at once.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "dial.h"
#include "fetch.h"
#include "fmt.h"
#include "http.h"
#include "log.h"
#include "tls.h"

int
fetch_status_retryable(int status)
{
	return status == 408 || status == 429 || status >= 500;
}

/* Backoff for attempt n (0-based): uniform in [cap/2, cap]. */
int64_t
fetch_backoff_ms(unsigned n, int retry_after)
{
	int64_t		cap = RETRY_BASE_MS;
	uint32_t	rnd = 0;
	int64_t		d;

	while (n-- > 0 && cap < RETRY_CAP_MS)
		cap *= 2;
	if (cap > RETRY_CAP_MS)
		cap = RETRY_CAP_MS;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = 0;
	d = cap / 2 + (int64_t)(rnd % (uint32_t)(cap / 2 + 1));
	if (retry_after >= 0 && (int64_t)retry_after * 1000 > d)
		d = (int64_t)retry_after * 1000;
	return d;
}

static void
fetch_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
fetch_do(const char *step, struct tls_conn *c, const struct tls_peer *p,
    const uint8_t *req, size_t reqlen, struct http_resp *resp, uint8_t *body,
    size_t bodycap, int64_t deadline_ms, struct err *e)
{
	unsigned	attempt;
	int64_t		wait;
	int		r, retryable, retry_after, last_status = 0;

	for (attempt = 0;; attempt++) {
		if (attempt > 0)	/* the last answer, before reuse */
			explicit_bzero(body, resp->bodylen < bodycap ?
			    resp->bodylen : bodycap);
		http_resp_init(resp, body, bodycap);
		r = c == NULL ? tls_roundtrip(p, req, reqlen, resp,
		    deadline_ms, &retryable, e) : tls_exchange(c, p, req,
		    reqlen, resp, 1, deadline_ms, &retryable, e);
		if (r == 0 && !fetch_status_retryable(resp->status))
			return 0;
		if (r != 0 && !retryable)
			return -1;
		if (r == 0)
			last_status = resp->status;
		retry_after = r == 0 ? resp->retry_after : -1;
		wait = fetch_backoff_ms(attempt, retry_after);
		/* no new try that could not finish before the deadline */
		if (dial_now_ms() + wait + RETRY_MIN_ATTEMPT_MS >= deadline_ms) {
			if (r != 0 && last_status != 0)
				err_prefix(e, "gave up after %u attempts (an "
				    "earlier one answered HTTP %d)", attempt + 1,
				    last_status);
			else if (r != 0)
				err_prefix(e, "gave up after %u attempt%s",
				    attempt + 1, attempt == 0 ? "" : "s");
			return r;
		}
		if (r == 0)
			log_info(step, "%s:%s answered HTTP %d; retrying in "
			    "%lld ms", p->host, p->port, resp->status,
			    (long long)wait);
		else
			log_info(step, "%s:%s: %s; retrying in %lld ms",
			    p->host, p->port, e->msg, (long long)wait);
		fetch_sleep_ms(wait);
	}
}

static uint8_t		fetch_req[HTTP_REQUEST_MAX];
static size_t		fetch_reqlen;		/* bytes of fetch_req used */
static uint8_t		fetch_body[HTTP_BODY_MAX];
static struct http_resp	fetch_resp;

void
fetch_describe(const struct fetch_call *fc, char *dst, size_t cap)
{
	const struct url	*u = fc->url;
	const char		*dflt = u->plain ? "80" : "443";
	int			 n;

	n = fmt_print(dst, cap, "%s %s://%s%s%s%s%s%s", fc->method,
	    u->plain ? "http" : "https", u->ipv6 ? "[" : "", u->host,
	    u->ipv6 ? "]" : "", strcmp(u->port, dflt) == 0 ? "" : ":",
	    strcmp(u->port, dflt) == 0 ? "" : u->port, u->path);
	if (n < 0 || (size_t)n >= cap)
		log_quote(dst, cap, u->host, strlen(u->host));
}

int
fetch_call(const struct fetch_call *fc, int64_t deadline_ms,
    const struct http_resp **resp, struct err *e)
{
	char		hostport[HOST_MAX + 10], what[URL_MAX + 32];
	struct http_req	hr;
	struct tls_peer	p;
	size_t		len;

	fetch_describe(fc, what, sizeof(what));
	if (url_hostport(fc->url, hostport, sizeof(hostport), e) != 0)
		return err_prefix(e, "%s", what);
	memset(&hr, 0, sizeof(hr));
	hr.method = fc->method;
	hr.host = hostport;
	hr.path = fc->url->path;
	hr.hdrs = fc->hdrs;
	hr.nhdrs = fc->nhdrs;
	hr.body = fc->body;
	hr.bodylen = fc->bodylen;
	hr.keepalive = fc->conn != NULL;
	fetch_reqlen = 0;	/* a failed write wipes what it wrote */
	if (http_request_write((char *)fetch_req, sizeof(fetch_req), &len, &hr,
	    e) != 0)
		return err_prefix(e, "%s", what);
	fetch_reqlen = len;
	p.host = fc->url->host;
	p.port = fc->url->port;
	p.server_name = fc->server_name ? fc->server_name : fc->url->host;
	p.anchors = fc->anchors;
	p.plain = fc->url->plain;
	p.dial = fc->dial;
	if (fetch_do(fc->step, fc->conn, &p, fetch_req, len, &fetch_resp, fetch_body,
	    sizeof(fetch_body), deadline_ms, e) != 0)
		return err_prefix(e, "%s", what);
	*resp = &fetch_resp;
	return 0;
}

/* Only what was used: whole-buffer wipes would make every page of the
 * largest buffers resident on every refresh. */
void
fetch_wipe(void)
{
	size_t	body = fetch_resp.bodylen;

	explicit_bzero(fetch_req, fetch_reqlen);
	explicit_bzero(fetch_body, body < sizeof(fetch_body) ? body :
	    sizeof(fetch_body));
	explicit_bzero(&fetch_resp, sizeof(fetch_resp));
	fetch_reqlen = 0;
}
