/*
 * fetch.h -- one HTTP exchange with retries: connection failures, 408,
 * 429 and 5xx are retried with truncated exponential backoff and full
 * jitter, honouring Retry-After, while the deadline allows. The request
 * and response live in fetch.c's buffers (one exchange at a time) and are
 * wiped by fetch_wipe.
 */
#ifndef REGCRED_FETCH_H
#define REGCRED_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct tls_peer;
struct tls_conn;
struct http_resp;
struct http_hdr;
struct url;
struct anchors;
struct dial_table;

struct fetch_call {
	const char		*step;		/* for retry log lines */
	const char		*method;
	const struct url	*url;
	const char		*server_name;	/* NULL: the URL's host */
	const struct anchors	*anchors;
	const struct http_hdr	*hdrs;
	size_t			 nhdrs;
	const char		*body;
	size_t			 bodylen;
	const struct dial_table	*dial;		/* the resolved addresses */
	struct tls_conn		*conn;		/* kept alive between calls;
						   NULL: one per exchange */
};

/*
 * Returns 0 with a final response in resp (any status: the caller judges
 * it; after the last retry this may be a 5xx), -1 when no response came
 * before the deadline or the failure is final (e says why). Retries are
 * logged under `step`.
 */
int	fetch_do(const char *step, struct tls_conn *c, const struct tls_peer *p,
	    const uint8_t *req, size_t reqlen, struct http_resp *resp, uint8_t *body,
	    size_t bodycap,
	    int64_t deadline_ms, struct err *e);

/*
 * Writes the request and runs fetch_do. On success *resp points at the
 * response (body in resp->body, resp->bodylen bytes); on failure e reads
 * "METHOD https://host:port/path: cause".
 */
int	fetch_call(const struct fetch_call *fc, int64_t deadline_ms,
	    const struct http_resp **resp, struct err *e);
/* "METHOD https://host:port/path" (or http://) for messages. */
void	fetch_describe(const struct fetch_call *fc, char *dst, size_t cap);
/* 1 for 408, 429 and 5xx. */
int	fetch_status_retryable(int status);
/* The wait before retry n+1 (n from 0): uniform in [cap/2, cap], cap
 * doubling from RETRY_BASE_MS to RETRY_CAP_MS; at least Retry-After. */
int64_t	fetch_backoff_ms(unsigned n, int retry_after);
/* Wipes the request, the response and the body. */
void	fetch_wipe(void);

#endif
