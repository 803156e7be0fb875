/*
 * fetch.h -- one HTTP exchange with retries: connection failures, 408,
 * 429 and 5xx are retried with truncated exponential backoff and full
 * jitter, honouring Retry-After, while the deadline allows.
 */
#ifndef REGCRED_FETCH_H
#define REGCRED_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct tls_peer;
struct http_resp;

/*
 * Returns 0 with a final response in resp (any status: the caller judges
 * it; after the last retry this may be a 5xx), -1 when no response came
 * before the deadline (e names host and cause).
 */
int	fetch_do(const struct tls_peer *p, const uint8_t *req, size_t reqlen,
	    struct http_resp *resp, uint8_t *body, size_t bodycap,
	    int64_t deadline_ms, struct err *e);

#endif
