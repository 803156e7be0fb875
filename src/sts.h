/*
 * sts.h -- Google identity: the STS token exchange (RFC 8693) and
 * service-account impersonation (IAM Credentials generateAccessToken),
 * as google-auth does them. Request building and response parsing are
 * separate from the I/O so they can be tested on canned bytes.
 */
#ifndef REGCRED_STS_H
#define REGCRED_STS_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"
#include "oauth.h"

struct err;
struct cred;
struct anchors;
struct dial_table;


/* application/x-www-form-urlencoded STS body; empty fields left out. */
int	sts_form(const struct cred *c, const char *subject, size_t sublen,
	    char *dst, size_t cap, size_t *len, struct err *e);
/* Parses a 200 STS answer; now is the Unix time it arrived. */
int	sts_parse(const char *body, size_t len, long long now,
	    struct oauth_token *t, struct err *e);
/* {"scope":[...],"lifetime":"3600s"} */
int	iam_body(const struct cred *c, char *dst, size_t cap, size_t *len,
	    struct err *e);
int	iam_parse(const char *body, size_t len, struct oauth_token *t,
	    struct err *e);
/* The network steps. Every failure names step, host, status, message. */
int	sts_exchange(const struct cred *c, const struct anchors *a,
	    const struct dial_table *d, const char *subject, size_t sublen,
	    int64_t deadline_ms, struct oauth_token *out, struct err *e);
int	iam_impersonate(const struct cred *c, const struct anchors *a,
	    const struct dial_table *d, const struct oauth_token *fed,
	    int64_t deadline_ms, struct oauth_token *out, struct err *e);

#endif
