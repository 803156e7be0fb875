/*
 * test_dockercfg.c -- base64 and .dockerconfigjson bytes.
 *
 * The expected documents were produced by the real kubectl (v1.32,
 * `kubectl create secret docker-registry x --docker-server=S
 * --docker-username=oauth2accesstoken --docker-password=P
 * --dry-run=client -o json`, .data[".dockerconfigjson"] base64-decoded).
 * kubectl takes one server; the several-registry documents come from
 * json.Marshal (Go 1.26) of kubectl's own DockerConfigJSON types with a
 * map holding every server, which is what kubectl would marshal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dockercfg.h"
#include "json.h"
#include "log.h"

#define OUT_MAX	8192

struct kcase {
	const char	*server;
	const char	*pw;
	size_t		 pwlen;
	const char	*want;
};

static const struct kcase kubectl_cases[] = {
	/* Go escapes < & > (as u003c u0026 u003e) */
	{ "europe-docker.pkg.dev",
	    "ya29.a0AfB_byC<&>", 17,
	    "{\"auths\":{\"europe-docker.pkg.dev\":{\"username\":\"oauth2"
	    "accesstoken\",\"password\":\"ya29.a0AfB_byC\\u003c\\u0026\\u"
	    "003e\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46eWEyOS5hMEFmQl9ieU"
	    "M8Jj4=\"}}}" },
	/* quote and backslashes */
	{ "europe-docker.pkg.dev",
	    "ya29.c.b0\"q\\uote\\\\x", 19,
	    "{\"auths\":{\"europe-docker.pkg.dev\":{\"username\":\"oauth2"
	    "accesstoken\",\"password\":\"ya29.c.b0\\\"q\\\\uote\\\\\\\\x"
	    "\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46eWEyOS5jLmIwInFcdW90ZV"
	    "xceA==\"}}}" },
	/* escapes in the key, a control byte, U+2028 */
	{ "a\"<b>",
	    "x\001\342\200\250y", 6,
	    "{\"auths\":{\"a\\\"\\u003cb\\u003e\":{\"username\":\"oauth2a"
	    "ccesstoken\",\"password\":\"x\\u0001\\u2028y\",\"auth\":\"b2"
	    "F1dGgyYWNjZXNzdG9rZW46eAHigKh5\"}}}" },
	/* BS and FF short, DEL kept, bad UTF-8 as ufffd per byte, U+2029 */
	{ "r",
	    "a\010b\014c\177d\377e\303(\355\240\200z\037\342\200\251", 19,
	    "{\"auths\":{\"r\":{\"username\":\"oauth2accesstoken\",\"pass"
	    "word\":\"a\\bb\\fc\177d\\ufffde\\ufffd(\\ufffd\\ufffd\\ufffd"
	    "z\\u001f\\u2029\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46YQhiDGN"
	    "/ZP9lwyjtoIB6H+KAqQ==\"}}}" },
	/* tab, valid UTF-8 passed through, / not escaped */
	{ "us-docker.pkg.dev",
	    "tab\011\303\251\342\202\254\360\237\230\200 x/", 16,
	    "{\"auths\":{\"us-docker.pkg.dev\":{\"username\":\"oauth2acce"
	    "sstoken\",\"password\":\"tab\\t\303\251\342\202\254\360\237"
	    "\230\200 x/\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46dGFiCcOp4oK"
	    "s8J+YgCB4Lw==\"}}}" },
	/* a longer token */
	{ "europe-docker.pkg.dev",
	    "ya29.c.c0ASRK0GZAb1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-"
	    "_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-"
	    "_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-"
	    "_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_xYz0", 220,
	    "{\"auths\":{\"europe-docker.pkg.dev\":{\"username\":\"oauth2"
	    "accesstoken\",\"password\":\"ya29.c.c0ASRK0GZAb1-_Ab1-_Ab1-_"
	    "Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_"
	    "Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_"
	    "Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_Ab1-_"
	    "Ab1-_xYz0\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46eWEyOS5jLmMwQ"
	    "VNSSzBHWkFiMS1fQWIxLV9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxL"
	    "V9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxL"
	    "V9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxL"
	    "V9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1fQWIxL"
	    "V9BYjEtX0FiMS1fQWIxLV9BYjEtX0FiMS1feFl6MA==\"}}}" },
};

/* us, europe, asia, europe, Z.example, us with password "ya29.p<w>" */
static const char multi_want1[] =
	    "{\"auths\":{\"Z.example\":{\"username\":\"oauth2accesstoken"
	    "\",\"password\":\"ya29.p\\u003cw\\u003e\",\"auth\":\"b2F1dGg"
	    "yYWNjZXNzdG9rZW46eWEyOS5wPHc+\"},\"asia-docker.pkg.dev\":{\""
	    "username\":\"oauth2accesstoken\",\"password\":\"ya29.p\\u003"
	    "cw\\u003e\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46eWEyOS5wPHc+"
	    "\"},\"europe-docker.pkg.dev\":{\"username\":\"oauth2accessto"
	    "ken\",\"password\":\"ya29.p\\u003cw\\u003e\",\"auth\":\"b2F1"
	    "dGgyYWNjZXNzdG9rZW46eWEyOS5wPHc+\"},\"us-docker.pkg.dev\":{"
	    "\"username\":\"oauth2accesstoken\",\"password\":\"ya29.p\\u0"
	    "03cw\\u003e\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46eWEyOS5wPHc"
	    "+\"}}}";

/* b, a, ab, a\303\251, aa, B with password "pw" */
static const char multi_want2[] =
	    "{\"auths\":{\"B\":{\"username\":\"oauth2accesstoken\",\"pass"
	    "word\":\"pw\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46cHc=\"},\"a"
	    "\":{\"username\":\"oauth2accesstoken\",\"password\":\"pw\","
	    "\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46cHc=\"},\"aa\":{\"usernam"
	    "e\":\"oauth2accesstoken\",\"password\":\"pw\",\"auth\":\"b2F"
	    "1dGgyYWNjZXNzdG9rZW46cHc=\"},\"ab\":{\"username\":\"oauth2ac"
	    "cesstoken\",\"password\":\"pw\",\"auth\":\"b2F1dGgyYWNjZXNzd"
	    "G9rZW46cHc=\"},\"a\303\251\":{\"username\":\"oauth2accesstok"
	    "en\",\"password\":\"pw\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46"
	    "cHc=\"},\"b\":{\"username\":\"oauth2accesstoken\",\"password"
	    "\":\"pw\",\"auth\":\"b2F1dGgyYWNjZXNzdG9rZW46cHc=\"}}}";

static char	out[OUT_MAX];

static void
check_build(const char *const *regs, size_t n, const char *pw, size_t pwlen,
    const char *want, size_t wantlen)
{
	struct err	e;
	size_t		len = 0;

	memset(out, 'X', sizeof(out));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, regs, n,
	    DOCKERCFG_USER, pw, pwlen, &e), 0);
	assert_int_equal(len, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[len], '\0');
}

static void
test_kubectl_bytes(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(kubectl_cases) / sizeof(kubectl_cases[0]);
	    i++) {
		const struct kcase *k = &kubectl_cases[i];

		check_build(&k->server, 1, k->pw, k->pwlen, k->want,
		    strlen(k->want));
	}
}

/* The output is valid JSON that reads back to the same password. */
static void
test_roundtrip(void **state)
{
	static struct json	j;
	struct err		e;
	char			pw[256];
	size_t			len, i;
	int			auths, ent;

	(void)state;
	for (i = 0; i < sizeof(kubectl_cases) / sizeof(kubectl_cases[0]);
	    i++) {
		const struct kcase *k = &kubectl_cases[i];

		if (k->pw[0] == 'a')	/* holds invalid UTF-8: not equal */
			continue;
		assert_int_equal(dockercfg_build(out, sizeof(out), &len,
		    &k->server, 1, DOCKERCFG_USER, k->pw, k->pwlen, &e), 0);
		assert_int_equal(json_parse(&j, out, len, &e), 0);
		assert_int_equal(json_find(&j, 0, "auths", &auths, &e), 1);
		assert_int_equal(json_find(&j, auths, k->server, &ent, &e), 1);
		assert_int_equal(json_get_string(&j, ent, "password", pw,
		    sizeof(pw), &len, NULL, &e), 0);
		assert_int_equal(len, k->pwlen);
		assert_memory_equal(pw, k->pw, len);
	}
}

static void
test_multi_sorted(void **state)
{
	static const char *const r1[] = { "us-docker.pkg.dev",
	    "europe-docker.pkg.dev", "asia-docker.pkg.dev",
	    "europe-docker.pkg.dev", "Z.example", "us-docker.pkg.dev" };
	static const char *const r2[] = { "b", "a", "ab", "a\303\251", "aa",
	    "B" };
	static const char *const r3[] = { "a", "ab", "b", "B", "aa",
	    "a\303\251" };
	static const char *const r4[] = { "B", "a", "aa", "ab", "a\303\251",
	    "b", "b", "B", "a\303\251", "a" };

	(void)state;
	check_build(r1, 6, "ya29.p<w>", 9, multi_want1,
	    sizeof(multi_want1) - 1);
	check_build(r2, 6, "pw", 2, multi_want2, sizeof(multi_want2) - 1);
	check_build(r3, 6, "pw", 2, multi_want2, sizeof(multi_want2) - 1);
	check_build(r4, 10, "pw", 2, multi_want2, sizeof(multi_want2) - 1);
	/* one registry given twice is one entry, as kubectl writes it */
	{
		const char *const dup[] = { kubectl_cases[0].server,
		    kubectl_cases[0].server, kubectl_cases[0].server };

		check_build(dup, 3, kubectl_cases[0].pw,
		    kubectl_cases[0].pwlen, kubectl_cases[0].want,
		    strlen(kubectl_cases[0].want));
	}
}

/* Every buffer too small fails, names the document, leaks nothing. */
static void
test_overflow_every_size(void **state)
{
	const struct kcase	*k = &kubectl_cases[0];
	const char *const	 regs[] = { "b.example", "a.example" };
	struct err		 e;
	size_t			 cap, len, want, i;

	(void)state;
	want = strlen(k->want);
	for (cap = 0; cap <= want + 1; cap++) {
		memset(out, 'X', sizeof(out));
		memset(&e, 0, sizeof(e));
		if (cap == want + 1) {
			assert_int_equal(dockercfg_build(out, cap, &len,
			    &k->server, 1, DOCKERCFG_USER, k->pw, k->pwlen,
			    &e), 0);
			assert_memory_equal(out, k->want, want + 1);
			continue;
		}
		assert_int_equal(dockercfg_build(out, cap, &len, &k->server,
		    1, DOCKERCFG_USER, k->pw, k->pwlen, &e), -1);
		assert_non_null(strstr(e.msg, ".dockerconfigjson exceeds"));
		assert_null(strstr(e.msg, "ya29"));
		for (i = 0; i < cap; i++)
			assert_int_equal(out[i], 0);	/* wiped */
		assert_int_equal(out[cap], 'X');	/* not past cap */
	}
	assert_int_equal(dockercfg_build(out, 40, &len, regs, 2,
	    DOCKERCFG_USER, "pw", 2, &e), -1);
	assert_non_null(strstr(e.msg, "(40 bytes)"));
}

static void
test_bad_input(void **state)
{
	static char		big[DOCKER_AUTH_MAX + 1];
	const char *const	one[] = { "r" };
	const char *const	empty[] = { "r", "" };
	const char *const	null[] = { NULL };
	const char		*many[REGISTRY_MAX + 1];
	struct err		e;
	size_t			len, i, ulen = strlen(DOCKERCFG_USER);

	(void)state;
	for (i = 0; i < REGISTRY_MAX + 1; i++)
		many[i] = "r";
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, one, 0,
	    DOCKERCFG_USER, "pw", 2, &e), -1);
	assert_non_null(strstr(e.msg, "no registry"));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, many,
	    REGISTRY_MAX + 1, DOCKERCFG_USER, "pw", 2, &e), -1);
	assert_non_null(strstr(e.msg, "REGISTRY_MAX"));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, many,
	    REGISTRY_MAX, DOCKERCFG_USER, "pw", 2, &e), 0);
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, empty, 2,
	    DOCKERCFG_USER, "pw", 2, &e), -1);
	assert_non_null(strstr(e.msg, "registry 2 is empty"));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, null, 1,
	    DOCKERCFG_USER, "pw", 2, &e), -1);
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, one, 1,
	    DOCKERCFG_USER, "", 0, &e), -1);
	assert_non_null(strstr(e.msg, "password is empty"));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, one, 1,
	    "", "pw", 2, &e), -1);
	assert_non_null(strstr(e.msg, "user is empty"));
	/* user ":" password is limited to DOCKER_AUTH_MAX - 1 bytes */
	memset(big, 'p', sizeof(big));
	assert_int_equal(dockercfg_build(out, sizeof(out), &len, one, 1,
	    DOCKERCFG_USER, big, DOCKER_AUTH_MAX - ulen, &e), -1);
	assert_non_null(strstr(e.msg, "DOCKER_AUTH_MAX"));
	assert_null(strstr(e.msg, "ppppppppp"));
	assert_int_equal(dockercfg_build(out, 0, &len, one, 1,
	    DOCKERCFG_USER, big, DOCKER_AUTH_MAX - ulen - 1, &e), -1);
	assert_non_null(strstr(e.msg, "exceeds its buffer (0 bytes)"));
}

/* DOCKER_AUTH_MAX - 1 bytes of user:password fit, and encode right. */
static void
test_auth_limit(void **state)
{
	static char		big[DOCKER_AUTH_MAX];
	static char		doc[3 * DOCKER_AUTH_MAX];
	static char		b64[DOCKER_AUTH_MAX * 2];
	static char		plain[DOCKER_AUTH_MAX];
	static struct json	j;
	const char *const	one[] = { "r" };
	struct err		e;
	size_t			len, blen, ulen = strlen(DOCKERCFG_USER);
	size_t			pwlen = DOCKER_AUTH_MAX - ulen - 2;
	int			auths, ent;

	(void)state;
	memset(big, 'q', sizeof(big));
	assert_int_equal(dockercfg_build(doc, sizeof(doc), &len, one, 1,
	    DOCKERCFG_USER, big, pwlen, &e), 0);
	assert_int_equal(json_parse(&j, doc, len, &e), 0);
	assert_int_equal(json_find(&j, 0, "auths", &auths, &e), 1);
	assert_int_equal(json_find(&j, auths, "r", &ent, &e), 1);
	assert_int_equal(json_get_string(&j, ent, "auth", b64, sizeof(b64),
	    &blen, NULL, &e), 0);
	memcpy(plain, DOCKERCFG_USER ":", ulen + 1);
	memcpy(plain + ulen + 1, big, pwlen);
	{
		static char	again[DOCKER_AUTH_MAX * 2];
		size_t		alen;

		assert_int_equal(b64_encode((const uint8_t *)plain,
		    ulen + 1 + pwlen, again, sizeof(again), &alen, &e), 0);
		assert_int_equal(alen, blen);
		assert_memory_equal(again, b64, blen);
	}
}

/* RFC 4648 section 10 test vectors, plus binary bytes. */
static void
test_b64_vectors(void **state)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
	} v[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" },
		{ "fooba", 5, "Zm9vYmE=" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\377\376\375", 3, "//79" },
		{ "\000\020\203\020Q\207 \222\213", 9, "ABCDEFGHIJKL" },
		{ "\373\377", 2, "+/8=" },
	};
	char		buf[32];
	struct err	e;
	size_t		i, len, cap, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = strlen(v[i].want);
		for (cap = 0; cap <= n; cap++) {
			memset(buf, 'X', sizeof(buf));
			assert_int_equal(b64_encode((const uint8_t *)v[i].in,
			    v[i].len, buf, cap, &len, &e), -1);
			assert_non_null(strstr(e.msg, "exceeds its buffer"));
			assert_int_equal(buf[cap], 'X');
		}
		assert_int_equal(b64_encode((const uint8_t *)v[i].in,
		    v[i].len, buf, n + 1, &len, &e), 0);
		assert_int_equal(len, n);
		assert_string_equal(buf, v[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubectl_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_multi_sorted),
		cmocka_unit_test(test_overflow_every_size),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_auth_limit),
		cmocka_unit_test(test_b64_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
