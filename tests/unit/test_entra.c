/* entra.c and oauth.c: the Entra ID request, its answer, its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "entra.h"
#include "log.h"
#include "oauth.h"

static void
azure_fill(struct azure *az, const char *authority)
{
	memset(az, 0, sizeof(*az));
	snprintf(az->client_id, sizeof(az->client_id),
	    "11111111-2222-3333-4444-555555555555");
	snprintf(az->tenant_id, sizeof(az->tenant_id),
	    "72f988bf-86f1-41af-91ab-2d7cd011db47");
	snprintf(az->authority, sizeof(az->authority), "%s", authority);
}

static void
test_token_url(void **state)
{
	struct azure	az;
	struct err	e;
	char		url[URL_MAX], small[40];

	(void)state;
	azure_fill(&az, "");
	assert_int_equal(entra_token_url(&az, url, sizeof(url), &e), 0);
	assert_string_equal(url, "https://login.microsoftonline.com/"
	    "72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
	azure_fill(&az, "https://login.microsoftonline.us");
	assert_int_equal(entra_token_url(&az, url, sizeof(url), &e), 0);
	assert_string_equal(url, "https://login.microsoftonline.us/"
	    "72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
	assert_int_equal(entra_token_url(&az, small, sizeof(small), &e), -1);
	assert_non_null(strstr(e.msg, "URL_MAX"));
}

/* The body azure-identity 1.x (MSAL) sends, field for field (the
 * integration suite compares the two on the wire). */
static void
test_form(void **state)
{
	static const char want[] =
	    "client_id=11111111-2222-3333-4444-555555555555"
	    "&grant_type=client_credentials"
	    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "client-assertion-type%3Ajwt-bearer"
	    "&client_assertion=eyJh.eyJz.c2ln-_"
	    "&scope=api%3A%2F%2Fregcred-gar%2F.default";
	struct azure	az;
	struct err	e;
	char		out[1024], tiny[64];
	size_t		len;

	(void)state;
	azure_fill(&az, "");
	assert_int_equal(entra_form(&az, "api://regcred-gar", "eyJh.eyJz.c2ln-_",
	    16, out, sizeof(out), &len, &e), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, sizeof(want) - 1);
	assert_int_equal(entra_form(&az, "api://regcred-gar", "eyJh.eyJz.c2ln",
	    14, tiny, sizeof(tiny), &len, &e), -1);
	assert_non_null(strstr(e.msg, "Entra ID request exceeds"));
	assert_null(strstr(e.msg, "eyJ"));
}

static void
test_parse(void **state)
{
	static const char ok[] = "{\"token_type\":\"Bearer\",\"expires_in\":"
	    "3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0.eyJ1.c2ln\"}";
	static const char str[] = "{\"token_type\":\"Bearer\",\"expires_in\":"
	    "\"3599\",\"access_token\":\"a\"}";
	static const char *const bad[] = {
		"{\"token_type\":\"Bearer\",\"expires_in\":3599}",
		"{\"access_token\":\"a b\"}",
		"{\"access_token\":\"\"}",
		"{\"access_token\":\"a\",\"expires_in\":0}",
		"{\"access_token\":\"a\",\"access_token\":\"b\"}",
		"[\"access_token\"]",
		"<html>",
	};
	struct oauth_token	t;
	struct err		e;
	size_t			i;

	(void)state;
	assert_int_equal(entra_parse(ok, sizeof(ok) - 1, 1000, &t, &e), 0);
	assert_string_equal(t.token, "eyJ0.eyJ1.c2ln");
	assert_int_equal(t.expires_at, 1000 + 3599);
	assert_int_equal(t.assumed, 0);
	assert_int_equal(entra_parse("{\"access_token\":\"abc\"}", 22, 10, &t,
	    &e), 0);
	assert_int_equal(t.expires_at, 10 + 3600);	/* and it is logged */
	assert_int_equal(t.assumed, 1);
	assert_int_equal(entra_parse(str, sizeof(str) - 1, 0, &t, &e), 0);
	assert_int_equal(t.expires_at, 3599);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(entra_parse(bad[i], strlen(bad[i]), 0, &t, &e),
		    -1);
		assert_non_null(strstr(e.msg, "Entra ID"));
	}
}

/* Entra's error body: the AADSTS code and description are quoted; the
 * CR LF before "Trace ID" become nothing, never a line break. */
static void
test_error_message(void **state)
{
	static const char body[] = "{\"error\":\"invalid_client\","
	    "\"error_description\":\"AADSTS700213: No matching federated "
	    "identity record found for presented assertion subject "
	    "'system:serviceaccount:bifrost:regcred'. Check your federated "
	    "identity credential Subject, Audience and Issuer against the "
	    "presented assertion.\\r\\nTrace ID: 0d6f\\r\\nCorrelation ID: "
	    "9a1e\\r\\nTimestamp: 2026-11-30 13:00:00Z\",\"error_codes\":"
	    "[700213],\"timestamp\":\"2026-11-30 13:00:00Z\",\"trace_id\":"
	    "\"0d6f\",\"correlation_id\":\"9a1e\",\"error_uri\":"
	    "\"https://login.microsoftonline.com/error?code=700213\"}";
	char	m[LOG_QUOTE_MAX + 8];

	(void)state;
	oauth_error_message(body, sizeof(body) - 1, m, sizeof(m));
	assert_true(strncmp(m, "invalid_client: AADSTS700213: No matching "
	    "federated identity record found", 72) == 0);
	assert_null(strchr(m, '\r'));
	assert_null(strchr(m, '\n'));
	assert_true(strlen(m) <= LOG_QUOTE_MAX + 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_url),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_error_message),
	};

	return cmocka_run_group_tests_name("entra", tests, NULL, NULL);
}
