/* cred.c: the external_account document, its sources, the subject token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cred.h"
#include "log.h"

static void
assert_fails(int rc, const struct err *e, const char *want)
{
	if (rc != -1)
		fail_msg("expected failure with \"%s\"", want);
	if (strstr(e->msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", e->msg, want);
}

/* ---- credential config ----------------------------------------------- */

#define CRED_HEAD \
	"{\"type\":\"external_account\"," \
	"\"audience\":\"//iam.googleapis.com/projects/1/locations/global/" \
	"workloadIdentityPools/p/providers/k\"," \
	"\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\"," \
	"\"token_url\":\"https://sts.googleapis.com/v1/token\","

static int
cred_doc(struct cred *c, struct err *e, const char *doc)
{
	memset(e, 0, sizeof(*e));
	return cred_parse(c, doc, strlen(doc), e);
}

static void
test_cred_impersonation(void **state)
{
	static const char doc[] = CRED_HEAD
	    "\"service_account_impersonation_url\":\"https://iamcredentials."
	    "googleapis.com/v1/projects/-/serviceAccounts/sa@p.iam."
	    "gserviceaccount.com:generateAccessToken\","
	    "\"service_account_impersonation\":{\"token_lifetime_seconds\":"
	    "7200},\"unknown_field\":[1,{\"x\":null}],"
	    "\"credential_source\":{\"file\":\"/var/run/token\","
	    "\"format\":{\"type\":\"text\"}}}";
	struct cred	c;
	struct err	e;

	(void)state;
	assert_int_equal(cred_doc(&c, &e, doc), 0);
	assert_string_equal(c.audience, "//iam.googleapis.com/projects/1/"
	    "locations/global/workloadIdentityPools/p/providers/k");
	assert_string_equal(c.subject_token_type,
	    "urn:ietf:params:oauth:token-type:jwt");
	assert_string_equal(c.token_url, "https://sts.googleapis.com/v1/token");
	assert_non_null(strstr(c.impersonation_url, "sa@p.iam."));
	assert_int_equal(c.lifetime_s, 7200);
	assert_string_equal(c.source_file, "/var/run/token");
	assert_int_equal(c.format, CRED_TEXT);
	assert_string_equal(c.client_id, "");
}

static void
test_cred_plain(void **state)
{
	static const char doc[] = CRED_HEAD
	    "\"credential_source\":{\"file\":\"/t\\/tok\"}}";
	struct cred	c;
	struct err	e;

	(void)state;
	assert_int_equal(cred_doc(&c, &e, doc), 0);
	assert_string_equal(c.impersonation_url, "");
	assert_int_equal(c.lifetime_s, 3600);
	assert_string_equal(c.source_file, "/t/tok");
	assert_int_equal(c.format, CRED_TEXT);
}

static void
test_cred_json_client(void **state)
{
	static const char doc[] = CRED_HEAD
	    "\"client_id\":\"cid\",\"client_secret\":\"csec\","
	    "\"workforce_pool_user_project\":\"proj\","
	    "\"universe_domain\":\"example.com\","
	    "\"service_account_impersonation_url\":null,"
	    "\"credential_source\":{\"file\":\"/t\",\"format\":{\"type\":"
	    "\"json\",\"subject_token_field_name\":\"id_token\"}}}";
	struct cred	c;
	struct err	e;

	(void)state;
	assert_int_equal(cred_doc(&c, &e, doc), 0);
	assert_int_equal(c.format, CRED_JSON);
	assert_string_equal(c.field_name, "id_token");
	assert_string_equal(c.client_id, "cid");
	assert_string_equal(c.client_secret, "csec");
	assert_string_equal(c.workforce_pool_user_project, "proj");
	assert_string_equal(c.impersonation_url, "");
}

static void
test_cred_lifetime_bounds(void **state)
{
	static const char fmt[] = CRED_HEAD
	    "\"service_account_impersonation\":{\"token_lifetime_seconds\":%s},"
	    "\"credential_source\":{\"file\":\"/t\"}}";
	static const struct {
		const char	*v;
		int		 ok;
	} cases[] = {
		{ "600", 1 }, { "43200", 1 }, { "599", 0 }, { "43201", 0 },
		{ "3600.5", 0 }, { "\"3600\"", 0 }, { "-1", 0 }, { "1e3", 0 },
	};
	char		doc[1024];
	struct cred	c;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc), fmt, cases[i].v);
		if (!cases[i].ok) {
			assert_fails(cred_doc(&c, &e, doc), &e,
			    "token_lifetime_seconds");
			continue;
		}
		if (cred_doc(&c, &e, doc) != 0)
			fail_msg("%s refused: %s", cases[i].v, e.msg);
		assert_int_equal(c.lifetime_s, strtoll(cases[i].v, NULL, 10));
	}
}

static void
test_cred_must_fail(void **state)
{
	static const struct {
		const char	*doc;
		const char	*want;
	} cases[] = {
		{ "[]", "not a JSON object" },
		{ "{\"type\":\"external_account\",}", "credential config: " },
		{ "{\"type\":\"service_account\"}", "\"type\" is "
		    "\"service_account\"" },
		{ "{\"audience\":\"a\"}", "\"type\" is missing" },
		{ "{\"type\":1}", "\"type\" must be a string" },
		{ "{\"type\":\"external_account\",\"subject_token_type\":\"x\","
		    "\"token_url\":\"https://s\",\"credential_source\":"
		    "{\"file\":\"/t\"}}", "\"audience\" is missing" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"subject_token_type\":\"x\",\"credential_source\":"
		    "{\"file\":\"/t\"}}", "\"token_url\" is missing" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"token_url\":\"https://s\",\"credential_source\":"
		    "{\"file\":\"/t\"}}", "\"subject_token_type\" is missing" },
		{ "{\"type\":\"external_account\",\"audience\":5}",
		    "credential config: \"audience\" must be a string" },
		{ "{\"type\":\"external_account\",\"audience\":\"\"}",
		    "\"audience\" must not be empty" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"audience\":\"b\"}", "duplicate key" },
		{ CRED_HEAD "\"credential_source\":{\"executable\":{\"command\":"
		    "\"/bin/sh\"}}}", "executable is not supported" },
		{ CRED_HEAD "\"credential_source\":{\"url\":\"http://x\"}}",
		    "plain http:// is allowed only to the link-local" },
		{ CRED_HEAD "\"credential_source\":{\"environment_id\":"
		    "\"aws1\"}}", "AWS sources are not supported" },
		{ CRED_HEAD "\"credential_source\":{}}",
		    "\"credential_source\" needs \"file\" or \"url\"" },
		{ CRED_HEAD "\"credential_source\":{\"file\":7}}",
		    "\"credential_source.file\" must be a string" },
		{ CRED_HEAD "\"credential_source\":\"/t\"}",
		    "\"credential_source\" must be an object" },
		{ CRED_HEAD "\"x\":1}", "\"credential_source\" is missing" },
		{ CRED_HEAD "\"credential_source\":{\"file\":\"/t\",\"format\":"
		    "{\"type\":\"xml\"}}}", "must be \"text\" or \"json\"" },
		{ CRED_HEAD "\"credential_source\":{\"file\":\"/t\",\"format\":"
		    "{\"type\":\"json\"}}}", "subject_token_field_name\" is "
		    "missing" },
		{ CRED_HEAD "\"credential_source\":{\"file\":\"/t\",\"format\":"
		    "\"json\"}}", "\"credential_source.format\" must be an "
		    "object" },
		{ CRED_HEAD "\"client_id\":3,\"credential_source\":{\"file\":"
		    "\"/t\"}}", "\"client_id\" must be a string" },
		{ CRED_HEAD "\"service_account_impersonation_url\":\"http://"
		    "iam/x\",\"credential_source\":{\"file\":\"/t\"}}",
		    "\"service_account_impersonation_url\" must be an https://" },
		{ CRED_HEAD "\"service_account_impersonation\":3600,"
		    "\"credential_source\":{\"file\":\"/t\"}}",
		    "\"service_account_impersonation\" must be an object" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"subject_token_type\":\"x\",\"token_url\":"
		    "\"http://sts.googleapis.com/v1/token\"}",
		    "\"token_url\" must be an https:// URL" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"subject_token_type\":\"x\",\"token_url\":"
		    "\"https://sts/a b\"}", "\"token_url\": URL has a control "
		    "byte, space" },
		{ CRED_HEAD "\"credential_source\":{\"file\":\"/t\"},"
		    "\"service_account_impersonation_url\":\"https://iam:0/x\"}",
		    "\"service_account_impersonation_url\": URL port 0" },
		{ "{\"type\":\"external_account\",\"audience\":\"a\","
		    "\"subject_token_type\":\"x\",\"token_url\":"
		    "\"https://sts.googleapis.com./v1/token\"}", "\"token_url\"" },
	};
	struct cred	c;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 'x', sizeof(c));
		if (cred_doc(&c, &e, cases[i].doc) != -1)
			fail_msg("case %zu accepted", i);
		if (strncmp(e.msg, "credential config: ", 19) != 0 ||
		    strstr(e.msg, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg,
			    cases[i].want);
	}
}

static void
test_cred_too_long(void **state)
{
	static char	doc[URL_MAX + 512];
	char		aud[URL_MAX + 1];
	struct cred	c;
	struct err	e;

	(void)state;
	memset(aud, 'a', sizeof(aud));
	aud[URL_MAX - 1] = '\0';
	snprintf(doc, sizeof(doc), "{\"type\":\"external_account\","
	    "\"audience\":\"%s\",\"subject_token_type\":\"x\",\"token_url\":"
	    "\"https://s\",\"credential_source\":{\"file\":\"/t\"}}", aud);
	assert_int_equal(cred_doc(&c, &e, doc), 0);
	assert_int_equal(strlen(c.audience), URL_MAX - 1);
	aud[URL_MAX - 1] = 'a';
	aud[URL_MAX] = '\0';
	snprintf(doc, sizeof(doc), "{\"type\":\"external_account\","
	    "\"audience\":\"%s\",\"subject_token_type\":\"x\",\"token_url\":"
	    "\"https://s\",\"credential_source\":{\"file\":\"/t\"}}", aud);
	assert_fails(cred_doc(&c, &e, doc), &e, "\"audience\" is too long");
}

/* ---- subject token --------------------------------------------------- */

#define SECRET_MARK	"s3cr3tTOKENbytes"

static void
cred_text(struct cred *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->source_file, sizeof(c->source_file), "/sa/token");
	c->format = CRED_TEXT;
}

static void
cred_json(struct cred *c, const char *field)
{
	cred_text(c);
	c->format = CRED_JSON;
	snprintf(c->field_name, sizeof(c->field_name), "%s", field);
}

static int
token_of(const struct cred *c, const char *buf, char *tok, size_t cap,
    size_t *len, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return cred_subject_token(c, "token file /sa/token", buf, strlen(buf),
	    tok, cap, len, e);
}

static void
test_token_text(void **state)
{
	char		tok[TOKEN_MAX];
	struct cred	c;
	struct err	e;
	size_t		len;

	(void)state;
	cred_text(&c);
	assert_int_equal(token_of(&c, "eyJhbGc.x.y\r\n \t\n", tok, sizeof(tok),
	    &len, &e), 0);
	assert_string_equal(tok, "eyJhbGc.x.y");
	assert_int_equal(len, 11);
	assert_int_equal(token_of(&c, "abc", tok, sizeof(tok), &len, &e), 0);
	assert_string_equal(tok, "abc");
	assert_fails(token_of(&c, "", tok, sizeof(tok), &len, &e), &e,
	    "token file /sa/token is empty");
	assert_fails(token_of(&c, " \n\r\n", tok, sizeof(tok), &len, &e), &e,
	    "is empty");
	assert_fails(token_of(&c, SECRET_MARK "\001x\n", tok, sizeof(tok),
	    &len, &e), &e, "control character");
	assert_null(strstr(e.msg, SECRET_MARK));
	assert_int_equal(len, 0);
	assert_string_equal(tok, "");
}

static void
test_token_text_limit(void **state)
{
	static char	data[TOKEN_MAX + 2];
	char		tok[TOKEN_MAX];
	struct cred	c;
	struct err	e;
	size_t		len;

	(void)state;
	cred_text(&c);
	memset(data, 'a', TOKEN_MAX - 1);
	memcpy(data + TOKEN_MAX - 1, "\n", 2);
	assert_int_equal(token_of(&c, data, tok, sizeof(tok), &len, &e), 0);
	assert_int_equal(len, TOKEN_MAX - 1);
	memcpy(data + TOKEN_MAX - 1, "a\n", 3);
	assert_fails(token_of(&c, data, tok, sizeof(tok), &len, &e), &e,
	    "TOKEN_MAX");
	assert_null(strstr(e.msg, "aaaa"));
}

static void
test_token_json(void **state)
{
	char		tok[TOKEN_MAX], big[TOKEN_MAX + 64];
	struct cred	c;
	struct err	e;
	size_t		len, n;

	(void)state;
	cred_json(&c, "access_token");
	assert_int_equal(token_of(&c, "{\"x\":1,\"access_token\":\"ab\\/c\"}\n",
	    tok, sizeof(tok), &len, &e), 0);
	assert_string_equal(tok, "ab/c");
	assert_int_equal(len, 4);
	assert_fails(token_of(&c, "{\"id_token\":\"" SECRET_MARK "\"}", tok,
	    sizeof(tok), &len, &e), &e, "no \"access_token\" field");
	assert_null(strstr(e.msg, SECRET_MARK));
	assert_fails(token_of(&c, "{\"access_token\":5}", tok, sizeof(tok),
	    &len, &e), &e, "\"access_token\" must be a string");
	assert_fails(token_of(&c, "{\"access_token\":\"\"}", tok, sizeof(tok),
	    &len, &e), &e, "is empty");
	assert_fails(token_of(&c, "{\"access_token\":\"" SECRET_MARK "\"",
	    tok, sizeof(tok), &len, &e), &e, "token file /sa/token");
	assert_null(strstr(e.msg, SECRET_MARK));
	assert_fails(token_of(&c, "[\"" SECRET_MARK "\"]", tok, sizeof(tok),
	    &len, &e), &e, "not a JSON object");
	assert_fails(token_of(&c, "", tok, sizeof(tok), &len, &e), &e,
	    "token file /sa/token");
	n = (size_t)snprintf(big, sizeof(big), "{\"access_token\":\"");
	memset(big + n, 'b', TOKEN_MAX);
	memcpy(big + n + TOKEN_MAX, "\"}", 3);
	assert_fails(token_of(&c, big, tok, sizeof(tok), &len, &e), &e,
	    "TOKEN_MAX");
	assert_null(strstr(e.msg, "bbbb"));
}

/* ---- URL sources ----------------------------------------------------- */

/* What gcloud 528 writes for `create-cred-config ... --azure
 * --app-id-uri api://regcred-gar --service-account ...`, byte for byte. */
static const char gcloud_azure[] =
"{\n"
"  \"universe_domain\": \"googleapis.com\",\n"
"  \"type\": \"external_account\",\n"
"  \"audience\": \"//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/entra\",\n"
"  \"subject_token_type\": \"urn:ietf:params:oauth:token-type:jwt\",\n"
"  \"token_url\": \"https://sts.googleapis.com/v1/token\",\n"
"  \"credential_source\": {\n"
"    \"url\": \"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://regcred-gar\",\n"
"    \"headers\": {\n"
"      \"Metadata\": \"True\"\n"
"    },\n"
"    \"format\": {\n"
"      \"type\": \"json\",\n"
"      \"subject_token_field_name\": \"access_token\"\n"
"    }\n"
"  },\n"
"  \"service_account_impersonation_url\": \"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/ar-puller@my-project.iam.gserviceaccount.com:generateAccessToken\"\n"
"}";

/* And for `... --aws` (gcloud writes url beside environment_id). */
static const char gcloud_aws[] =
"{\n"
"  \"universe_domain\": \"googleapis.com\",\n"
"  \"type\": \"external_account\",\n"
"  \"audience\": \"//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/aws\",\n"
"  \"subject_token_type\": \"urn:ietf:params:aws:token-type:aws4_request\",\n"
"  \"token_url\": \"https://sts.googleapis.com/v1/token\",\n"
"  \"credential_source\": {\n"
"    \"environment_id\": \"aws1\",\n"
"    \"region_url\": \"http://169.254.169.254/latest/meta-data/placement/availability-zone\",\n"
"    \"url\": \"http://169.254.169.254/latest/meta-data/iam/security-credentials\",\n"
"    \"regional_cred_verification_url\": \"https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15\"\n"
"  },\n"
"  \"token_info_url\": \"https://sts.googleapis.com/v1/introspect\"\n"
"}";

static void
test_cred_gcloud_azure(void **state)
{
	struct cred	c;
	struct err	e;

	(void)state;
	if (cred_doc(&c, &e, gcloud_azure) != 0)
		fail_msg("refused: %s", e.msg);
	assert_int_equal(c.kind, CRED_URL);
	assert_string_equal(c.source_url, "http://169.254.169.254/metadata/"
	    "identity/oauth2/token?api-version=2018-02-01&resource="
	    "api://regcred-gar");
	assert_string_equal(c.imds_resource, "api://regcred-gar");
	assert_int_equal(c.nheaders, 1);
	assert_string_equal(c.headers[0].name, "Metadata");
	assert_string_equal(c.headers[0].value, "True");
	assert_int_equal(c.format, CRED_JSON);
	assert_string_equal(c.field_name, "access_token");
	assert_non_null(strstr(c.impersonation_url, "ar-puller@"));
	assert_fails(cred_doc(&c, &e, gcloud_aws), &e,
	    "credential_source.environment_id: AWS sources are not supported");
}

#define URL_DOC(src) CRED_HEAD "\"credential_source\":{" src "}}"

static void
test_cred_url_sources(void **state)
{
	static const struct {
		const char	*doc;
		const char	*resource;
	} ok[] = {
		{ URL_DOC("\"url\":\"https://meta.example/token?a=b\""), "" },
		{ URL_DOC("\"url\":\"http://[fd00:ec2::254]/latest/api/token\""),
		    "" },
		{ URL_DOC("\"url\":\"http://[fd00:ec2:0:0::254]/x\""), "" },
		{ URL_DOC("\"url\":\"http://169.254.169.254:8080/metadata/"
		    "identity/oauth2/token?resource=api%3A%2F%2Fx%2By\""),
		    "api://x+y" },
		{ URL_DOC("\"url\":\"http://169.254.169.254/metadata/identity/"
		    "oauth2/token?api-version=1&resource=https://iam."
		    "googleapis.com/projects/1/x&z=1\""),
		    "https://iam.googleapis.com/projects/1/x" },
		{ URL_DOC("\"url\":\"http://169.254.169.254/metadata/identity/"
		    "oauth2/token?api-version=1\""), "" },
		{ URL_DOC("\"url\":\"http://169.254.169.254/metadata/identity/"
		    "oauth2/tokens?resource=r\""), "" },
		{ URL_DOC("\"url\":\"https://169.254.169.254/metadata/identity/"
		    "oauth2/token?resource=r\""), "" },
	};
	struct cred	c;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cred_doc(&c, &e, ok[i].doc) != 0)
			fail_msg("case %zu refused: %s", i, e.msg);
		assert_int_equal(c.kind, CRED_URL);
		assert_string_equal(c.imds_resource, ok[i].resource);
		assert_int_equal(c.format, CRED_TEXT);
	}
}

static void
test_cred_url_must_fail(void **state)
{
	static const struct {
		const char	*doc;
		const char	*want;
	} cases[] = {
		{ URL_DOC("\"url\":\"http://metadata.google.internal/x\""),
		    "plain http:// is allowed only to the link-local" },
		{ URL_DOC("\"url\":\"http://127.0.0.1/x\""), "use https://" },
		{ URL_DOC("\"url\":\"http://[fd00:ec2::255]/x\""),
		    "use https://" },
		{ URL_DOC("\"url\":\"http://169.254.169.253/x\""),
		    "use https://" },
		{ URL_DOC("\"url\":\"ftp://x/y\""), "credential_source.url" },
		{ URL_DOC("\"url\":\"\""), "\"credential_source.url\" must not "
		    "be empty" },
		{ URL_DOC("\"url\":\"https://a/b\",\"file\":\"/t\""),
		    "both \"file\" and \"url\"" },
		{ URL_DOC("\"url\":\"http://169.254.169.254/metadata/identity/"
		    "oauth2/token?resource=\""), "resource= parameter is empty" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":[]"),
		    "\"credential_source.headers\" must be an object" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"M\":true}"),
		    "\"credential_source.headers.M\" must be a string" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"Host\":\"x\"}"),
		    "regcred sets Host itself" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"a b\":\"x\"}"),
		    "\"a b\" is not a valid header name" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"\":\"x\"}"),
		    "has an empty name" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"M\":"
		    "\"a\\r\\nHost: evil\"}"), "\"credential_source.headers.M\" "
		    "holds a control character" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"M\":"
		    "\"\\u007f\"}"), "holds a control character" },
		{ URL_DOC("\"url\":\"https://a/b\",\"headers\":{\"a\":\"1\","
		    "\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\","
		    "\"g\":\"7\",\"h\":\"8\",\"i\":\"9\"}"), "CRED_HEADERS_MAX" },
		{ URL_DOC("\"certificate\":{\"use_default_certificate_config\":"
		    "true}"), "X.509 certificate (mTLS) sources are not "
		    "supported" },
		{ URL_DOC("\"executable\":{\"command\":\"x\"},\"url\":"
		    "\"https://a\""), "regcred runs no programs" },
	};
	struct cred	c;
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_fails(cred_doc(&c, &e, cases[i].doc), &e, cases[i].want);
}

static void
test_token_from_url_answer(void **state)
{
	static const char imds[] = "{\"access_token\":\"eyJ0.e30.sig\","
	    "\"client_id\":\"c\",\"expires_in\":\"86399\",\"token_type\":"
	    "\"Bearer\"}";
	char		tok[TOKEN_MAX];
	struct cred	c;
	struct err	e;
	size_t		len;

	(void)state;
	cred_json(&c, "access_token");
	assert_int_equal(cred_subject_token(&c, "GET http://169.254.169.254/x",
	    imds, sizeof(imds) - 1, tok, sizeof(tok), &len, &e), 0);
	assert_string_equal(tok, "eyJ0.e30.sig");
	assert_fails(cred_subject_token(&c, "GET http://169.254.169.254/x",
	    "{}", 2, tok, sizeof(tok), &len, &e), &e,
	    "GET http://169.254.169.254/x has no \"access_token\" field");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cred_impersonation),
		cmocka_unit_test(test_cred_plain),
		cmocka_unit_test(test_cred_json_client),
		cmocka_unit_test(test_cred_lifetime_bounds),
		cmocka_unit_test(test_cred_must_fail),
		cmocka_unit_test(test_cred_too_long),
		cmocka_unit_test(test_cred_gcloud_azure),
		cmocka_unit_test(test_cred_url_sources),
		cmocka_unit_test(test_cred_url_must_fail),
		cmocka_unit_test(test_token_text),
		cmocka_unit_test(test_token_text_limit),
		cmocka_unit_test(test_token_json),
		cmocka_unit_test(test_token_from_url_answer),
	};

	return cmocka_run_group_tests_name("cred", tests, NULL, NULL);
}
