/* Unit tests for sts.c: the STS form, both answers, error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cred.h"
#include "log.h"
#include "sts.h"

#define AUD "//iam.googleapis.com/projects/1/locations/global/" \
	"workloadIdentityPools/p/providers/x"

static struct cred	C;

static int
setup(void **state)
{
	(void)state;
	memset(&C, 0, sizeof(C));
	snprintf(C.audience, sizeof(C.audience), "%s", AUD);
	snprintf(C.subject_token_type, sizeof(C.subject_token_type),
	    "urn:ietf:params:oauth:token-type:jwt");
	C.lifetime_s = 3600;
	return 0;
}

static void
test_form_exact(void **state)
{
	char		out[2048];
	size_t		len;
	struct err	e;

	(void)state;
	assert_int_equal(sts_form(&C, "ab c+/=", 7, out, sizeof(out), &len,
	    &e), 0);
	assert_string_equal(out,
	    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
	    "&audience=%2F%2Fiam.googleapis.com%2Fprojects%2F1%2Flocations%2F"
	    "global%2FworkloadIdentityPools%2Fp%2Fproviders%2Fx"
	    "&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform"
	    "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3A"
	    "access_token"
	    "&subject_token=ab+c%2B%2F%3D"
	    "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt");
	assert_int_equal(len, strlen(out));
}

static void
test_form_options_only_without_client(void **state)
{
	char		out[2048];
	size_t		len;
	struct err	e;

	(void)state;
	snprintf(C.workforce_pool_user_project,
	    sizeof(C.workforce_pool_user_project), "proj-1");
	assert_int_equal(sts_form(&C, "t", 1, out, sizeof(out), &len, &e), 0);
	assert_non_null(strstr(out,
	    "&options=%7B%22userProject%22%3A%22proj-1%22%7D"));
	snprintf(C.client_id, sizeof(C.client_id), "cid");
	assert_int_equal(sts_form(&C, "t", 1, out, sizeof(out), &len, &e), 0);
	assert_null(strstr(out, "options="));
}

static void
test_form_overflow(void **state)
{
	char		out[64];
	size_t		len;
	struct err	e;

	(void)state;
	assert_int_equal(sts_form(&C, "t", 1, out, sizeof(out), &len, &e), -1);
	assert_non_null(strstr(e.msg, "FORM_MAX"));
}

static void
test_sts_parse_ok(void **state)
{
	static const char	b[] = "{\"access_token\":\"ya29.d.fed\","
	    "\"issued_token_type\":\"urn:ietf:params:oauth:token-type:"
	    "access_token\",\"token_type\":\"Bearer\",\"expires_in\":3599}";
	static const char	s[] = "{\"access_token\":\"tok\","
	    "\"expires_in\":\"120\"}";
	struct oauth_token	t;
	struct err		e;

	(void)state;
	assert_int_equal(sts_parse(b, sizeof(b) - 1, 1000, &t, &e), 0);
	assert_string_equal(t.token, "ya29.d.fed");
	assert_int_equal(t.len, 10);
	assert_int_equal(t.expires_at, 4599);
	assert_int_equal(sts_parse(s, sizeof(s) - 1, 0, &t, &e), 0);
	assert_int_equal(t.expires_at, 120);
}

static void
test_sts_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"token_type\":\"Bearer\"}",
		"{\"access_token\":5}",
		"{\"access_token\":\"\"}",
		"{\"access_token\":\"a b\"}",
		"{\"access_token\":\"a\\u0001b\"}",
		"{\"access_token\":\"ab\",\"expires_in\":-5}",
		"{\"access_token\":\"ab\",\"expires_in\":1.5}",
		"{\"access_token\":\"ab\",\"access_token\":\"cd\"}",
		"{\"access_token\":\"ab\",}",
	};
	struct oauth_token	t;
	struct err		e;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		assert_int_equal(sts_parse(bad[i], strlen(bad[i]), 0, &t, &e),
		    -1);
		assert_true(strlen(e.msg) > 0);
	}
}

static void
test_iam_body(void **state)
{
	char		out[256];
	size_t		len;
	struct err	e;

	(void)state;
	C.lifetime_s = 1800;
	assert_int_equal(iam_body(&C, out, sizeof(out), &len, &e), 0);
	assert_string_equal(out, "{\"scope\":[\"https://www.googleapis.com/"
	    "auth/cloud-platform\"],\"lifetime\":\"1800s\"}");
}

static void
test_iam_parse(void **state)
{
	static const char	ok[] = "{\"accessToken\":\"ya29.c.imp\","
	    "\"expireTime\":\"2026-11-29T17:00:00Z\"}";
	static const char	frac[] = "{\"expireTime\":"
	    "\"2026-11-29T17:00:00.123456Z\",\"accessToken\":\"x\"}";
	static const char *const bad[] = {
		"{\"accessToken\":\"x\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"tomorrow\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:00\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-13-29T17:00:00Z\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:0xZ\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-02-29T17:00:00Z\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-04-31T17:00:00Z\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:00.Z\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:00+1:00\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:00+01:60\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29T17:00:00ZZ\"}",
		"{\"accessToken\":\"x\",\"expireTime\":\"2026-11-29 17:00:00Z\"}",
		"{\"expireTime\":\"2026-11-29T17:00:00Z\"}",
	};
	static const struct {
		const char	*when;
		long long	 at;
	} good[] = {
		{ "2026-11-29T18:00:00+01:00", 1795971600LL },
		{ "2026-11-29T16:30:00.5-00:30", 1795971600LL },
		{ "2026-11-29t17:00:00z", 1795971600LL },
		{ "2028-02-29T00:00:00Z", 1835395200LL },
	};
	char			doc[128];
	struct oauth_token	t;
	struct err		e;
	size_t			i;

	(void)state;
	assert_int_equal(iam_parse(ok, sizeof(ok) - 1, &t, &e), 0);
	assert_string_equal(t.token, "ya29.c.imp");
	assert_int_equal(t.expires_at, 1795971600LL);
	assert_int_equal(iam_parse(frac, sizeof(frac) - 1, &t, &e), 0);
	assert_int_equal(t.expires_at, 1795971600LL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (iam_parse(bad[i], strlen(bad[i]), &t, &e) != -1)
			fail_msg("accepted %s", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"accessToken\":\"x\","
		    "\"expireTime\":\"%s\"}", good[i].when);
		if (iam_parse(doc, strlen(doc), &t, &e) != 0)
			fail_msg("refused %s: %s", good[i].when, e.msg);
		assert_int_equal(t.expires_at, good[i].at);
	}
}

static void
test_error_messages(void **state)
{
	static const char	oauth[] = "{\"error\":\"invalid_grant\","
	    "\"error_description\":\"The audience does not match.\"}";
	static const char	google[] = "{\"error\":{\"code\":403,\"message\":"
	    "\"Permission denied\",\"status\":\"PERMISSION_DENIED\"}}";
	static const char	raw[] = "<html>\r\nBad Gateway\r\n</html>";
	char			m[LOG_QUOTE_MAX + 8];

	(void)state;
	oauth_error_message(oauth, sizeof(oauth) - 1, m, sizeof(m));
	assert_string_equal(m, "invalid_grant: The audience does not match.");
	oauth_error_message(google, sizeof(google) - 1, m, sizeof(m));
	assert_string_equal(m, "PERMISSION_DENIED: Permission denied");
	oauth_error_message(raw, sizeof(raw) - 1, m, sizeof(m));
	assert_string_equal(m, "<html> Bad Gateway </html>");
	oauth_error_message("", 0, m, sizeof(m));
	assert_string_equal(m, "(empty body)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_form_exact, setup),
		cmocka_unit_test_setup(test_form_options_only_without_client,
		    setup),
		cmocka_unit_test_setup(test_form_overflow, setup),
		cmocka_unit_test_setup(test_sts_parse_ok, setup),
		cmocka_unit_test_setup(test_sts_parse_bad, setup),
		cmocka_unit_test_setup(test_iam_body, setup),
		cmocka_unit_test_setup(test_iam_parse, setup),
		cmocka_unit_test_setup(test_error_messages, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
