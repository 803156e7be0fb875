/*
 * sts.c -- Google identity: STS token exchange and impersonation.
 *
 * Owns: the RFC 8693 form google-auth sends to token_url, HTTP Basic
 * client authentication when the config has client_id, the
 * generateAccessToken call to the impersonation URL, parsing both answers
 * (tokens must be RFC 6750 b64tokens: they go into Bearer headers
 * and JSON), and the servers' error messages. Buffers holding tokens are
 * wiped when a step ends.
 */
#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "config.h"
#include "cred.h"
#include "dockercfg.h"
#include "fetch.h"
#include "fmt.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "oauth.h"
#include "sts.h"

#define STS_GRANT	"urn:ietf:params:oauth:grant-type:token-exchange"
#define STS_REQUESTED	"urn:ietf:params:oauth:token-type:access_token"
#define SCOPE_CLOUD	"https://www.googleapis.com/auth/cloud-platform"
#define USER_AGENT	"regcred/" BUILD_VERSION
#define STS_CLIENT	"regcred google-byoid-sdk source/"

static char	sts_form_buf[FORM_MAX];
static size_t	sts_form_len;		/* bytes of sts_form_buf used */
static char	sts_auth[TOKEN_MAX + 16];	/* "Bearer ..." / "Basic ..." */
static char	sts_scratch[TOKEN_MAX + 1];

static int
sts_options(const struct cred *c, char *dst, size_t cap, size_t *len,
    struct err *e)
{
	struct jw	w;

	*len = 0;
	if (c->workforce_pool_user_project[0] == '\0' || c->client_id[0] != '\0')
		return 0;
	jw_init(&w, dst, cap);
	jw_object_open(&w);
	jw_key(&w, "userProject", 11);
	jw_string(&w, c->workforce_pool_user_project,
	    strlen(c->workforce_pool_user_project));
	jw_object_close(&w);
	return jw_finish(&w, len, "STS options", e);
}

int
sts_form(const struct cred *c, const char *subject, size_t sublen,
    char *dst, size_t cap, size_t *len, struct err *e)
{
	struct oauth_form	f;
	char		opts[512];
	size_t		olen;

	if (sts_options(c, opts, sizeof(opts), &olen, e) != 0)
		return -1;
	oauth_form_init(&f, dst, cap);
	oauth_form_add(&f, "grant_type", STS_GRANT, strlen(STS_GRANT));
	oauth_form_add(&f, "audience", c->audience, strlen(c->audience));
	oauth_form_add(&f, "scope", SCOPE_CLOUD, strlen(SCOPE_CLOUD));
	oauth_form_add(&f, "requested_token_type", STS_REQUESTED,
	    strlen(STS_REQUESTED));
	oauth_form_add(&f, "subject_token", subject, sublen);
	oauth_form_add(&f, "subject_token_type", c->subject_token_type,
	    strlen(c->subject_token_type));
	oauth_form_add(&f, "options", opts, olen);
	return oauth_form_finish(&f, len, "STS request", "FORM_MAX",
	    e);
}

int
sts_parse(const char *body, size_t len, long long now,
    struct oauth_token *t, struct err *e)
{
	return oauth_parse(body, len, now, "STS", t, e);
}

int
iam_body(const struct cred *c, char *dst, size_t cap, size_t *len,
    struct err *e)
{
	struct jw	w;
	char		life[32];
	int		n;

	n = fmt_print(life, sizeof(life), "%llds", c->lifetime_s);
	if (n < 0 || (size_t)n >= sizeof(life))
		return err_set(e, "token lifetime does not format");
	jw_init(&w, dst, cap);
	jw_object_open(&w);
	jw_key(&w, "scope", 5);
	jw_array_open(&w);
	jw_string(&w, SCOPE_CLOUD, strlen(SCOPE_CLOUD));
	jw_array_close(&w);
	jw_key(&w, "lifetime", 8);
	jw_string(&w, life, (size_t)n);
	jw_object_close(&w);
	return jw_finish(&w, len, "impersonation request", e);
}

/* n decimal digits at s; -1 if any is not a digit. */
static int
sts_digits(const char *s, size_t n)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
sts_mday_max(int year, int mon)
{
	static const unsigned char	days[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int				leap;

	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return days[mon] + (mon == 1 && leap);
}

/* "Z", or "+hh:mm" / "-hh:mm": seconds east of UTC in *off. */
static int
sts_zone(const char *s, size_t len, long *off)
{
	int	h, m;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return 0;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    (h = sts_digits(s + 1, 2)) < 0 || h > 23 ||
	    (m = sts_digits(s + 4, 2)) < 0 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return 0;
}

/* RFC 3339: date-time with a valid day of its month, a fraction of at
 * least one digit after a dot, and Z or a numeric offset. */
static int
sts_parse_time(const char *s, size_t len, long long *out)
{
	struct tm	tm;
	size_t		pos = 19;
	long		off;
	time_t		t;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' &&
	    s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	if (s[pos] == '.') {
		for (pos++; pos < len && s[pos] >= '0' && s[pos] <= '9'; pos++)
			;
		if (pos == 20)
			return -1;
	}
	if (sts_zone(s + pos, len - pos, &off) != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = sts_digits(s, 4) - 1900;
	tm.tm_mon = sts_digits(s + 5, 2) - 1;
	tm.tm_mday = sts_digits(s + 8, 2);
	tm.tm_hour = sts_digits(s + 11, 2);
	tm.tm_min = sts_digits(s + 14, 2);
	tm.tm_sec = sts_digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
	    tm.tm_mday < 1 ||
	    tm.tm_mday > sts_mday_max(tm.tm_year + 1900, tm.tm_mon) ||
	    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (long long)t - off;
	return 0;
}

int
iam_parse(const char *body, size_t len, struct oauth_token *t, struct err *e)
{
	static struct json	j;
	char			when[64];
	size_t			wlen;

	if (json_parse(&j, body, len, e) != 0)
		return err_prefix(e, "IAM answer is not JSON");
	if (json_type(&j, 0) != JSON_OBJECT)
		return err_set(e, "IAM answer is not a JSON object");
	if (oauth_get_token(&j, "accessToken", "IAM", t, e) != 0)
		return -1;
	if (json_get_string(&j, 0, "expireTime", when, sizeof(when), &wlen,
	    NULL, e) != 0)
		return err_prefix(e, "IAM answer");
	if (sts_parse_time(when, wlen, &t->expires_at) != 0)
		return err_set(e, "IAM answer: \"expireTime\" is not an "
		    "RFC 3339 time");
	return oauth_token_check(t, "IAM accessToken", e);
}

static int
sts_basic(const struct cred *c, struct err *e)
{
	size_t	n, blen;
	int	k;

	k = fmt_print(sts_scratch, sizeof(sts_scratch), "%s:%s", c->client_id,
	    c->client_secret);
	if (k < 0 || (size_t)k >= sizeof(sts_scratch))
		return err_set(e, "client credentials exceed %d bytes "
		    "(TOKEN_MAX)", TOKEN_MAX);
	n = (size_t)k;
	memcpy(sts_auth, "Basic ", 6);
	if (b64_encode((const uint8_t *)sts_scratch, n, sts_auth + 6,
	    sizeof(sts_auth) - 6, &blen, e) != 0)
		return -1;
	explicit_bzero(sts_scratch, sizeof(sts_scratch));
	return 0;
}

static void
sts_wipe(void)
{
	explicit_bzero(sts_form_buf, sts_form_len);
	sts_form_len = 0;
	explicit_bzero(sts_auth, sizeof(sts_auth));
	explicit_bzero(sts_scratch, sizeof(sts_scratch));
	fetch_wipe();
}

static int
sts_run(const struct fetch_call *fc, int64_t deadline_ms,
    struct oauth_token *out, int iam, struct err *e)
{
	const struct http_resp	*r;
	char			 what[URL_MAX + 32];

	if (fetch_call(fc, deadline_ms, &r, e) != 0 || oauth_status(fc, r, e) != 0)
		return -1;
	if ((iam ? iam_parse((const char *)r->body, r->bodylen, out, e) :
	    sts_parse((const char *)r->body, r->bodylen, (long long)time(NULL),
	    out, e)) != 0) {
		fetch_describe(fc, what, sizeof(what));
		return err_prefix(e, "%s: HTTP %d", what, r->status);
	}
	return 0;
}

int
sts_exchange(const struct cred *c, const struct anchors *a,
    const struct dial_table *d, const char *subject, size_t sublen,
    int64_t deadline_ms, struct oauth_token *out, struct err *e)
{
	struct http_hdr		h[5];
	struct fetch_call	fc;
	struct url		u;
	size_t			len, nh = 0;
	int			r = -1;

	if (url_parse(c->token_url, &u, e) != 0)
		return err_prefix(e, "credential config: token_url");
	h[nh++] = (struct http_hdr){ "Content-Type",
	    "application/x-www-form-urlencoded" };
	h[nh++] = (struct http_hdr){ "Accept", "application/json" };
	h[nh++] = (struct http_hdr){ "User-Agent", USER_AGENT };
	h[nh++] = (struct http_hdr){ "x-goog-api-client",
	    c->kind == CRED_URL ? STS_CLIENT "url" : STS_CLIENT "file" };
	if (c->client_id[0] != '\0') {
		if (sts_basic(c, e) != 0)
			goto done;
		h[nh++] = (struct http_hdr){ "Authorization", sts_auth };
	}
	if (sts_form(c, subject, sublen, sts_form_buf, sizeof(sts_form_buf),
	    &len, e) != 0)
		goto done;
	sts_form_len = len;
	fc = (struct fetch_call){ "sts", "POST", &u, NULL, a, h, nh,
	    sts_form_buf, len, d, NULL };
	r = sts_run(&fc, deadline_ms, out, 0, e);
done:
	sts_wipe();
	return r;
}

int
iam_impersonate(const struct cred *c, const struct anchors *a,
    const struct dial_table *d, const struct oauth_token *fed,
    int64_t deadline_ms, struct oauth_token *out, struct err *e)
{
	struct http_hdr		h[4];
	struct fetch_call	fc;
	struct url		u;
	size_t			len;
	int			n, r = -1;

	if (url_parse(c->impersonation_url, &u, e) != 0)
		return err_prefix(e, "credential config: "
		    "service_account_impersonation_url");
	n = fmt_print(sts_auth, sizeof(sts_auth), "Bearer %.*s",
	    (int)fed->len, fed->token);
	if (n < 0 || (size_t)n >= sizeof(sts_auth)) {
		err_set(e, "federated token exceeds TOKEN_MAX");
		goto done;
	}
	if (iam_body(c, sts_form_buf, sizeof(sts_form_buf), &len, e) != 0)
		goto done;
	sts_form_len = len;
	h[0] = (struct http_hdr){ "Content-Type", "application/json" };
	h[1] = (struct http_hdr){ "Accept", "application/json" };
	h[2] = (struct http_hdr){ "User-Agent", USER_AGENT };
	h[3] = (struct http_hdr){ "Authorization", sts_auth };
	fc = (struct fetch_call){ "iam", "POST", &u, NULL, a, h, 4,
	    sts_form_buf, len, d, NULL };
	r = sts_run(&fc, deadline_ms, out, 1, e);
done:
	sts_wipe();
	return r;
}
