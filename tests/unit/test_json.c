/*
 * test_json.c -- the JSON reader (grammar, getters, unescaper) and the
 * escaping writer.
 *
 * go_escaped below is json.Marshal (Go 1.26) of the string built by
 * escape_input(): what kubectl would write for those bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "log.h"

static struct json	J;
static struct err	E;

static int
parse(const char *s)
{
	memset(&E, 0, sizeof(E));
	return json_parse(&J, s, strlen(s), &E);
}

/* Parses an exact-size heap copy, so ASan sees any read past len. */
static int
parse_exact(const char *s, size_t len)
{
	char	*b = malloc(len ? len : 1);
	int	 r;

	assert_non_null(b);
	memcpy(b, s, len);
	memset(&E, 0, sizeof(E));
	r = json_parse(&J, b, len, &E);
	free(b);
	return r;
}

static void
test_valid(void **state)
{
	static const struct {
		const char	*doc;
		int		 ntok;
	} v[] = {
		{ "{}", 1 },
		{ "[]", 1 },
		{ " \t\r\n{ } \n", 1 },
		{ "{\"a\":1}", 3 },
		{ "[1,2,3]", 4 },
		{ "[[],{},[[]]]", 5 },
		{ "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}", 12 },
		{ "[0,-0,0.5,-1.25e+10,1E5,1e-3,123456789012345678901234]", 8 },
		{ "{\"\":\"\"}", 3 },
		{ "\"str\"", 1 },
		{ "1", 1 },
		{ " -2.5e3 ", 1 },
		{ "true", 1 },
		{ "null ", 1 },
		{ "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"]", 2 },
		{ "[\"\\ud800\"]", 2 },	/* grammar is fine; getters refuse */
		{ "[\"raw \303\251 \377 \177\"]", 2 },	/* bytes >= 0x7f */
		{ "{ \"a\" : [ 1 , 2 ] , \"b\" : { } }", 7 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (parse_exact(v[i].doc, strlen(v[i].doc)) != 0)
			fail_msg("%s: %s", v[i].doc, E.msg);
		assert_int_equal(J.ntok, v[i].ntok);
	}
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "   ", "{", "}", "[", "]",
		"{\"a\":1,}", "[1,]", "[1 2]", "{\"a\":1 \"b\":2}",
		"[,1]", "[1,,2]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
		"{\"a\"::1}", "[\"a\":1]",
		"tru", "[tru]", "nul", "[nul]", "truex", "[truex]", "[nulll]",
		"[fals]", "[TRUE]", "[True]", "[Infinity]", "[NaN]",
		"01", "[01]", "[-01]", "[00]", "[-]", "-", "[1.]", "[.5]",
		"[1e]", "[1e+]", "[1E-]", "[+1]", "[1.e5]", "[0x10]", "[1..2]",
		"[1e5.5]", "[--1]", "[1-2]",
		"[\"a\001b\"]", "\"\037\"", "[\"tab\there\"]", "[\"nl\nx\"]",
		"[\"\\x\"]", "[\"\\a\"]", "[\"\\U0041\"]", "[\"\\u12g4\"]",
		"[\"\\u123\"]", "[\"\\u\"]", "[\"\\\"]", "[\"abc]", "\"abc",
		"['a']",
		"{}{}", "[][]", "{} x", "[1]]", "{\"a\":1}}", "[1] [2]", "[]x",
		"1 2", "\"a\" \"b\"", "[]\"\"",
		"{1:2}", "{true:1}", "{null:1}", "{[1]:1}", "{{}:1}",
		"{\"a\":1,\"b\"}", "[{]", "[}", "{]", "[1}", "{\"a\":1]",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_exact(bad[i], strlen(bad[i])) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(E.msg, "JSON"));
	}
	/* NUL bytes: inside, after, and in place of a value */
	assert_int_equal(parse_exact("{}\0", 3), -1);
	assert_non_null(strstr(E.msg, "after the top-level value"));
	assert_int_equal(parse_exact("[\"a\0b\"]", 7), -1);
	assert_non_null(strstr(E.msg, "control character"));
	assert_int_equal(parse_exact("[\0]", 3), -1);
	assert_int_equal(parse_exact("\0", 1), -1);
	/* the message says where */
	assert_int_equal(parse("[1,]"), -1);
	assert_string_equal(E.msg,
	    "invalid JSON at byte 3: unexpected character");
	assert_int_equal(parse("{\"a\":1 \"b\":2}"), -1);
	assert_string_equal(E.msg,
	    "invalid JSON at byte 7: expected ',' or '}'");
	assert_int_equal(parse("[01]"), -1);
	assert_string_equal(E.msg, "invalid JSON at byte 2: invalid number");
}

static void
test_tokens_limit(void **state)
{
	static char	doc[2 * JSON_TOKENS_MAX + 8];
	char		want[64];
	size_t		i, n;

	(void)state;
	/* an array of N zeros is N + 1 tokens */
	for (n = JSON_TOKENS_MAX - 1; n <= JSON_TOKENS_MAX; n++) {
		doc[0] = '[';
		for (i = 0; i < n; i++) {
			doc[1 + 2 * i] = '0';
			doc[2 + 2 * i] = ',';
		}
		doc[2 * n] = ']';
		doc[2 * n + 1] = '\0';
		if (n == JSON_TOKENS_MAX - 1) {
			assert_int_equal(parse(doc), 0);
			assert_int_equal(J.ntok, JSON_TOKENS_MAX);
		} else {
			assert_int_equal(parse(doc), -1);
			snprintf(want, sizeof(want), "too many JSON tokens "
			    "(limit JSON_TOKENS_MAX=%d)", JSON_TOKENS_MAX);
			assert_string_equal(E.msg, want);
		}
	}
}

/* depth levels of [ or {"k": around a 1. */
static void
nest(char *doc, size_t cap, int depth, int obj)
{
	size_t	o = 0;
	int	i;

	for (i = 0; i < depth; i++) {
		assert_true(cap - o > 8);
		if (obj) {
			memcpy(doc + o, "{\"k\":", 5);
			o += 5;
		} else
			doc[o++] = '[';
	}
	doc[o++] = '1';
	for (i = 0; i < depth; i++)
		doc[o++] = obj ? '}' : ']';
	doc[o] = '\0';
}

static void
test_depth(void **state)
{
	static char	doc[16 * JSON_DEPTH_MAX];
	int		obj;

	(void)state;
	for (obj = 0; obj <= 1; obj++) {
		nest(doc, sizeof(doc), JSON_DEPTH_MAX, obj);
		assert_int_equal(parse(doc), 0);
		nest(doc, sizeof(doc), JSON_DEPTH_MAX + 1, obj);
		assert_int_equal(parse(doc), -1);
		assert_non_null(strstr(E.msg, "JSON_DEPTH_MAX"));
	}
}

static void
test_truncated(void **state)
{
	static const char *const docs[] = {
		"{\"access_token\":\"ya29.a0\\u0041\\ud83d\\ude00\","
		    "\"expires_in\":3599,\"x\":[true,false,null,-1.5e+3,"
		    "{\"y\":[]}],\"token_type\":\"Bearer\"}",
		"[{\"a\":\"\\\"\"},123,[[]],\"\\\\\",1e10]",
	};
	size_t	d, n, len;

	(void)state;
	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		len = strlen(docs[d]);
		assert_int_equal(parse_exact(docs[d], len), 0);
		for (n = 0; n < len; n++)
			if (parse_exact(docs[d], n) != -1)
				fail_msg("prefix %zu accepted", n);
	}
}

static void
test_escapes(void **state)
{
	static const char	want[] = "a\"b\\c/d\be\ff\ng\rh\ti\303\251"
	    "\342\202\254\360\237\230\200A\360\237\230\200\357\277\277";
	char			buf[64];
	size_t			len;
	int			t;

	(void)state;
	assert_int_equal(parse("{\"k\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti"
	    "\\u00e9\\u20ac\\ud83d\\ude00\\u0041\\uD83D\\uDE00\\uffff\"}"), 0);
	assert_int_equal(json_find(&J, 0, "k", &t, &E), 1);
	assert_int_equal(json_string(&J, t, buf, sizeof(buf), &len, &E), 0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want));
	/* raw bytes pass through as they are */
	assert_int_equal(parse("[\"\303\251\377\"]"), 0);
	assert_int_equal(json_string(&J, 1, buf, sizeof(buf), &len, &E), 0);
	assert_string_equal(buf, "\303\251\377");
}

static void
test_escapes_refused(void **state)
{
	static const struct {
		const char	*doc;
		const char	*why;
	} v[] = {
		{ "[\"x\\ud83d\"]", "lone high surrogate" },
		{ "[\"\\ud83dx\"]", "lone high surrogate" },
		{ "[\"\\ud83d\\u0041\"]", "lone high surrogate" },
		{ "[\"\\ud83d\\ud83d\"]", "lone high surrogate" },
		{ "[\"\\ud83d\\ue000\"]", "lone high surrogate" },
		{ "[\"\\udbff\\\\\"]", "lone high surrogate" },
		{ "[\"\\ude00\"]", "lone low surrogate" },
		{ "[\"\\ude00\\ud83d\"]", "lone low surrogate" },
		{ "[\"\\udfff\"]", "lone low surrogate" },
		{ "[\"\\u0000\"]", "NUL" },
		{ "[\"ab\\u0000cd\"]", "NUL" },
	};
	char	buf[32];
	size_t	i, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(parse(v[i].doc), 0);
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(json_string(&J, 1, buf, sizeof(buf), &len,
		    &E), -1);
		if (strstr(E.msg, v[i].why) == NULL)
			fail_msg("%s: %s", v[i].doc, E.msg);
		assert_null(strstr(E.msg, "ab"));
		assert_int_equal(buf[0], '\0');		/* wiped */
	}
}

/* Decoding "ab\u00e9\ud83d\ude00" (9 bytes) at every capacity. */
static void
test_string_overflow(void **state)
{
	static const char	want[] = "ab\303\251\360\237\230\200";
	char			buf[16];
	size_t			cap, len;

	(void)state;
	assert_int_equal(parse("[\"ab\\u00e9\\ud83d\\ude00\"]"), 0);
	for (cap = 0; cap <= sizeof(want); cap++) {
		memset(buf, 'X', sizeof(buf));
		if (cap == sizeof(want)) {
			assert_int_equal(json_string(&J, 1, buf, cap, &len,
			    &E), 0);
			assert_int_equal(len, sizeof(want) - 1);
			assert_memory_equal(buf, want, sizeof(want));
			break;
		}
		assert_int_equal(json_string(&J, 1, buf, cap, &len, &E), -1);
		assert_non_null(strstr(E.msg, "exceeds its buffer"));
		assert_int_equal(buf[cap], 'X');
	}
	assert_int_equal(json_string(&J, 1, buf, 3, &len, &E), -1);
	assert_string_equal(E.msg, "string exceeds its buffer (3 bytes)");
	/* the named-key form says which key */
	assert_int_equal(parse("{\"access_token\":\"ya29.0123456789\"}"), 0);
	assert_int_equal(json_get_string(&J, 0, "access_token", buf, 8,
	    &len, NULL, &E), -1);
	assert_string_equal(E.msg,
	    "\"access_token\": string exceeds its buffer (8 bytes)");
}

static void
test_types(void **state)
{
	static const char doc[] = "{\"o\":{},\"a\":[],\"s\":\"x\",\"n\":-1,"
	    "\"t\":true,\"f\":false,\"z\":null}";
	static const struct {
		const char	*key;
		enum json_type	 type;
	} v[] = {
		{ "o", JSON_OBJECT }, { "a", JSON_ARRAY }, { "s", JSON_STRING },
		{ "n", JSON_NUMBER }, { "t", JSON_TRUE }, { "f", JSON_FALSE },
		{ "z", JSON_NULL },
	};
	char		buf[16];
	long long	x;
	size_t		i, len;
	int		t;

	(void)state;
	assert_int_equal(parse(doc), 0);
	assert_int_equal(json_type(&J, 0), JSON_OBJECT);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(json_find(&J, 0, v[i].key, &t, &E), 1);
		assert_int_equal(json_type(&J, t), v[i].type);
		if (v[i].type != JSON_STRING) {
			assert_int_equal(json_get_string(&J, 0, v[i].key, buf,
			    sizeof(buf), &len, NULL, &E), -1);
			assert_non_null(strstr(E.msg, "is not a string"));
			assert_int_equal(json_string(&J, t, buf, sizeof(buf),
			    &len, &E), -1);
		}
		if (v[i].type != JSON_NUMBER) {
			assert_int_equal(json_get_int(&J, 0, v[i].key, 0, 9,
			    0, &x, NULL, &E), -1);
			assert_non_null(strstr(E.msg, "is not a number"));
		}
	}
	assert_int_equal(json_get_int(&J, 0, "t", 0, 9, 1, &x, NULL, &E), -1);
	assert_string_equal(E.msg, "\"t\" is not a number");
	assert_int_equal(json_get_string(&J, 0, "n", buf, sizeof(buf), &len,
	    NULL, &E), -1);
	assert_string_equal(E.msg, "\"n\" is not a string");
	/* json_find on something that is not an object */
	assert_int_equal(json_find(&J, 0, "a", &t, &E), 1);
	assert_int_equal(json_find(&J, t, "x", &t, &E), -1);
	assert_non_null(strstr(E.msg, "not a JSON object"));
	assert_int_equal(json_find(&J, 99, "x", &t, &E), -1);
	assert_int_equal(parse("[{\"a\":1}]"), 0);
	assert_int_equal(json_find(&J, 0, "a", &t, &E), -1);
}

static void
test_missing(void **state)
{
	char		buf[16];
	long long	x = 7;
	size_t		len = 7;
	int		found = 7, t;

	(void)state;
	assert_int_equal(parse("{\"a\":{\"access_token\":\"x\"},"
	    "\"access_token_x\":\"y\",\"access\":\"z\"}"), 0);
	assert_int_equal(json_find(&J, 0, "access_token", &t, &E), 0);
	assert_int_equal(json_get_string(&J, 0, "access_token", buf,
	    sizeof(buf), &len, NULL, &E), -1);
	assert_string_equal(E.msg, "missing \"access_token\"");
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(json_get_string(&J, 0, "access_token", buf,
	    sizeof(buf), &len, &found, &E), 0);
	assert_int_equal(found, 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(json_get_int(&J, 0, "expires_in", 0, 9, 1, &x,
	    NULL, &E), -1);
	assert_string_equal(E.msg, "missing \"expires_in\"");
	found = 7;
	assert_int_equal(json_get_int(&J, 0, "expires_in", 0, 9, 1, &x,
	    &found, &E), 0);
	assert_int_equal(found, 0);
	assert_int_equal(x, 7);
	assert_int_equal(json_get_string(&J, 0, "access", buf, sizeof(buf),
	    &len, &found, &E), 0);
	assert_int_equal(found, 1);
	assert_string_equal(buf, "z");
}

/* A required object member: found, absent, of another type, twice. */
static void
test_get_object(void **state)
{
	int	t = -1, m;

	(void)state;
	assert_int_equal(parse("{\"metadata\":{\"name\":\"x\"},\"list\":[],"
	    "\"s\":\"{}\",\"n\":null}"), 0);
	assert_int_equal(json_get_object(&J, 0, "metadata", &t, &E), 0);
	assert_int_equal(json_type(&J, t), JSON_OBJECT);
	assert_int_equal(json_find(&J, t, "name", &m, &E), 1);
	assert_int_equal(json_get_object(&J, 0, "meta", &t, &E), -1);
	assert_string_equal(E.msg, "missing \"meta\"");
	assert_int_equal(json_get_object(&J, 0, "list", &t, &E), -1);
	assert_string_equal(E.msg, "\"list\" is not an object");
	assert_int_equal(json_get_object(&J, 0, "s", &t, &E), -1);
	assert_string_equal(E.msg, "\"s\" is not an object");
	assert_int_equal(json_get_object(&J, 0, "n", &t, &E), -1);
	assert_int_equal(json_get_object(&J, 1, "x", &t, &E), -1);
	assert_non_null(strstr(E.msg, "not a JSON object"));
	assert_int_equal(parse("{\"m\":{},\"m\":{}}"), 0);
	assert_int_equal(json_get_object(&J, 0, "m", &t, &E), -1);
	assert_string_equal(E.msg, "duplicate key \"m\"");
}

static void
test_duplicates(void **state)
{
	char		buf[16];
	long long	x;
	size_t		len;
	int		t;

	(void)state;
	assert_int_equal(parse("{\"a\":1,\"b\":2,\"a\":3}"), 0);
	assert_int_equal(json_find(&J, 0, "a", &t, &E), -1);
	assert_string_equal(E.msg, "duplicate key \"a\"");
	assert_int_equal(json_get_int(&J, 0, "a", 0, 9, 0, &x, NULL, &E), -1);
	assert_string_equal(E.msg, "duplicate key \"a\"");
	assert_int_equal(json_get_int(&J, 0, "b", 0, 9, 0, &x, NULL, &E), 0);
	assert_int_equal(x, 2);
	/* the same key spelled with an escape is the same key */
	assert_int_equal(parse("{\"token\":\"x\",\"t\\u006fken\":\"y\"}"), 0);
	assert_int_equal(json_get_string(&J, 0, "token", buf, sizeof(buf),
	    &len, NULL, &E), -1);
	assert_string_equal(E.msg, "duplicate key \"token\"");
	/* a key that decodes to something else is not a duplicate */
	assert_int_equal(parse("{\"token\":\"x\",\"token\\u0000\":\"y\","
	    "\"tok\":1,\"tokens\":2,\"\\ud800\":3}"), 0);
	assert_int_equal(json_get_string(&J, 0, "token", buf, sizeof(buf),
	    &len, NULL, &E), 0);
	assert_string_equal(buf, "x");
	/* a nested key of the same name is not a duplicate */
	assert_int_equal(parse("{\"a\":{\"a\":1,\"a\":2},\"b\":[{\"a\":3}],"
	    "\"a \":4}"), 0);
	assert_int_equal(json_find(&J, 0, "a", &t, &E), 1);
	assert_int_equal(json_type(&J, t), JSON_OBJECT);
	assert_int_equal(json_find(&J, t, "a", &t, &E), -1);
}

static void
test_skip(void **state)
{
	static const char doc[] = "{\"outer\":{\"token\":\"inner\","
	    "\"deep\":[{\"token\":\"x\"},[\"token\",{\"token\":{}}]]},"
	    "\"list\":[[\"token\"],{\"token\":1}],\"token\":\"top\","
	    "\"after\":[]}";
	char	buf[16];
	size_t	len;
	int	t, u;

	(void)state;
	assert_int_equal(parse(doc), 0);
	assert_int_equal(json_skip(&J, 0), J.ntok);
	assert_int_equal(json_get_string(&J, 0, "token", buf, sizeof(buf),
	    &len, NULL, &E), 0);
	assert_string_equal(buf, "top");
	/* skipping "outer"'s value lands on the key "list" */
	assert_int_equal(json_find(&J, 0, "outer", &t, &E), 1);
	u = json_skip(&J, t);
	assert_int_equal(json_type(&J, u), JSON_STRING);
	assert_int_equal(json_string(&J, u, buf, sizeof(buf), &len, &E), 0);
	assert_string_equal(buf, "list");
	assert_int_equal(json_find(&J, t, "deep", &u, &E), 1);
	assert_int_equal(json_type(&J, u), JSON_ARRAY);
	assert_int_equal(J.tok[u].size, 2);
	/* the last value's subtree ends at the end */
	assert_int_equal(json_find(&J, 0, "after", &t, &E), 1);
	assert_int_equal(json_skip(&J, t), J.ntok);
	/* a scalar is one token */
	assert_int_equal(json_find(&J, 0, "token", &t, &E), 1);
	assert_int_equal(json_skip(&J, t), t + 1);
	/* key order does not matter: inner first, outer after */
	assert_int_equal(parse("{\"x\":{\"expires_in\":1},\"expires_in\":2}"),
	    0);
	assert_int_equal(json_find(&J, 0, "expires_in", &t, &E), 1);
	assert_memory_equal(J.buf + J.tok[t].start, "2", 1);
}

static void
test_int(void **state)
{
	static const struct {
		const char	*doc;
		long long	 min, max;
		int		 allow_string;
		int		 ok;
		long long	 want;
	} v[] = {
		{ "[3599]", 0, 3600, 0, 1, 3599 },
		{ "[3600]", 0, 3600, 0, 1, 3600 },
		{ "[3601]", 0, 3600, 0, 0, 0 },
		{ "[-1]", 0, 3600, 0, 0, 0 },
		{ "[-1]", -1, 0, 0, 1, -1 },
		{ "[-0]", 0, 0, 0, 1, 0 },
		{ "[1.5]", 0, 9, 0, 0, 0 },
		{ "[1.0]", 0, 9, 0, 0, 0 },
		{ "[1e3]", 0, 9999, 0, 0, 0 },
		{ "[\"3599\"]", 0, 3600, 1, 1, 3599 },
		{ "[\"3599\"]", 0, 3600, 0, 0, 0 },
		{ "[\"-7\"]", -9, 9, 1, 1, -7 },
		{ "[\"\"]", 0, 9, 1, 0, 0 },
		{ "[\"-\"]", 0, 9, 1, 0, 0 },
		{ "[\" 1\"]", 0, 9, 1, 0, 0 },
		{ "[\"+1\"]", 0, 9, 1, 0, 0 },
		{ "[\"01\"]", 0, 9, 1, 0, 0 },
		{ "[\"1.5\"]", 0, 9, 1, 0, 0 },
		{ "[\"1x\"]", 0, 9, 1, 0, 0 },
		{ "[\"\\u0031\"]", 0, 9, 1, 0, 0 },
		{ "[\"99999999999999999999\"]", 0, 9, 1, 0, 0 },
		{ "[true]", 0, 9, 1, 0, 0 },
		{ "[null]", 0, 9, 1, 0, 0 },
		{ "[9223372036854775807]", 0, 9223372036854775807LL, 0, 1,
		    9223372036854775807LL },
		{ "[9223372036854775808]", 0, 9223372036854775807LL, 0, 0, 0 },
		{ "[-9223372036854775808]", -9223372036854775807LL - 1, 0, 0,
		    1, -9223372036854775807LL - 1 },
		{ "[-9223372036854775809]", -9223372036854775807LL - 1, 0, 0,
		    0, 0 },
		{ "[18446744073709551616]", 0, 9223372036854775807LL, 0, 0, 0 },
	};
	long long	x;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(parse(v[i].doc), 0);
		x = 12345;
		if (json_int(&J, 1, v[i].min, v[i].max, v[i].allow_string, &x,
		    &E) != (v[i].ok ? 0 : -1))
			fail_msg("%s: %s", v[i].doc, E.msg);
		assert_true(v[i].ok ? x == v[i].want : x == 12345);
	}
	assert_int_equal(parse("{\"expires_in\":3601}"), 0);
	assert_int_equal(json_get_int(&J, 0, "expires_in", 0, 3600, 1, &x,
	    NULL, &E), -1);
	assert_string_equal(E.msg,
	    "\"expires_in\": integer out of range [0, 3600]");
	assert_int_equal(parse("{\"expires_in\":\"3.5\"}"), 0);
	assert_int_equal(json_get_int(&J, 0, "expires_in", 0, 3600, 1, &x,
	    NULL, &E), -1);
	assert_string_equal(E.msg, "\"expires_in\": not an integer");
	assert_int_equal(json_get_int(&J, 0, "expires_in", 0, 3600, 0, &x,
	    NULL, &E), -1);
	assert_string_equal(E.msg, "\"expires_in\" is not a number");
}

/* The bytes 0x00..0x7f, then valid and invalid UTF-8. */
static size_t
escape_input(char *b, size_t cap)
{
	static const char tail[] =
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8\xe2\x80\xa9"
	    "\xe2\x80\xaa\xc2\x80\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf"
	    "\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xe0\x80\xaf"
	    "\xf5\x80\x80\x80\x80\xe2\x82x\xf0\x9f\x98";
	size_t	i;

	assert_true(cap >= 0x80 + sizeof(tail));
	for (i = 0; i < 0x80; i++)
		b[i] = (char)i;
	memcpy(b + 0x80, tail, sizeof(tail) - 1);
	return 0x80 + sizeof(tail) - 1;
}

static const char go_escaped[] =
	    "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\"
	    "b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u00"
	    "13\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\"
	    "u001c\\u001d\\u001e\\u001f !\\\"#$%\\u0026'()*+,-./012345678"
	    "9:;\\u003c=\\u003e\077@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`ab"
	    "cdefghijklmnopqrstuvwxyz{|}~\177\303\251\342\202\254\360\237"
	    "\230\200\\u2028\\u2029\342\200\252\302\200\337\277\357\277"
	    "\277\364\217\277\277\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\uf"
	    "ffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	    "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdx\\ufffd\\u"
	    "fffd\\ufffd\"";

static void
test_writer_escapes(void **state)
{
	char		in[256], out[2048], back[256];
	struct jw	w;
	size_t		n, len;

	(void)state;
	n = escape_input(in, sizeof(in));
	jw_init(&w, out, sizeof(out));
	jw_string(&w, in, n);
	assert_int_equal(jw_finish(&w, &len, "test", &E), 0);
	assert_int_equal(len, sizeof(go_escaped) - 1);
	assert_memory_equal(out, go_escaped, sizeof(go_escaped));
	/* and what was written reads back (no NUL, valid UTF-8 part) */
	assert_int_equal(parse_exact(out, len), 0);
	jw_init(&w, out, sizeof(out));
	jw_string(&w, in + 1, 0x80 - 1 + 29);
	assert_int_equal(jw_finish(&w, &len, "test", &E), 0);
	assert_int_equal(json_parse(&J, out, len, &E), 0);
	assert_int_equal(json_string(&J, 0, back, sizeof(back), &len, &E), 0);
	assert_int_equal(len, 0x80 - 1 + 29);
	assert_memory_equal(back, in + 1, len);
}

/* {"a":[1,-2,"x",{},[]],"b":{"c":null-free},"<k>":""} */
static void
write_doc(struct jw *w)
{
	jw_object_open(w);
	jw_key(w, "a", 1);
	jw_array_open(w);
	jw_int(w, 1);
	jw_int(w, -2);
	jw_string(w, "x", 1);
	jw_object_open(w);
	jw_object_close(w);
	jw_array_open(w);
	jw_array_close(w);
	jw_array_close(w);
	jw_key(w, "b", 1);
	jw_object_open(w);
	jw_key(w, "c", 1);
	jw_int(w, -9223372036854775807LL - 1);
	jw_key(w, "d", 1);
	jw_int(w, 9223372036854775807LL);
	jw_object_close(w);
	jw_key(w, "<k>", 3);
	jw_string(w, "", 0);
	jw_object_close(w);
}

static void
test_writer_overflow(void **state)
{
	static const char want[] = "{\"a\":[1,-2,\"x\",{},[]],\"b\":{\"c\":"
	    "-9223372036854775808,\"d\":9223372036854775807},"
	    "\"\\u003ck\\u003e\":\"\"}";
	char		out[sizeof(want) + 8];
	struct jw	w;
	size_t		cap, len, i;

	(void)state;
	for (cap = 0; cap <= sizeof(want); cap++) {
		memset(out, 'X', sizeof(out));
		jw_init(&w, out, cap);
		write_doc(&w);
		if (cap == sizeof(want)) {
			assert_int_equal(jw_finish(&w, &len, "body", &E), 0);
			assert_int_equal(len, sizeof(want) - 1);
			assert_memory_equal(out, want, sizeof(want));
			break;
		}
		assert_int_equal(w.failed != 0, 1);
		assert_true(w.len < (cap ? cap : 1));
		assert_int_equal(jw_finish(&w, &len, "body", &E), -1);
		assert_non_null(strstr(E.msg, "body exceeds its buffer ("));
		for (i = 0; i < cap; i++)
			assert_int_equal(out[i], 0);
		assert_int_equal(out[cap], 'X');
	}
	memset(out, 'X', sizeof(out));
	jw_init(&w, out, 10);
	write_doc(&w);
	assert_int_equal(jw_finish(&w, &len, "STS request body", &E), -1);
	assert_string_equal(E.msg,
	    "STS request body exceeds its buffer (10 bytes)");
	/* sticky: a short write after the overflow does not land */
	jw_init(&w, out, 6);
	jw_object_open(&w);
	jw_key(&w, "long", 4);
	len = w.len;
	jw_object_close(&w);
	assert_int_equal(w.len, len);
	assert_int_equal(jw_finish(&w, &len, "x", &E), -1);
}

static void
writer_must_fail(void (*fn)(struct jw *), const char *why)
{
	char		out[256];
	struct jw	w;
	size_t		len;

	jw_init(&w, out, sizeof(out));
	fn(&w);
	assert_int_equal(jw_finish(&w, &len, "doc", &E), -1);
	if (strstr(E.msg, why) == NULL)
		fail_msg("%s: want %s", E.msg, why);
}

static void
mis_value_no_key(struct jw *w)
{
	jw_object_open(w);
	jw_int(w, 1);
	jw_object_close(w);
}

static void
mis_key_in_array(struct jw *w)
{
	jw_array_open(w);
	jw_key(w, "k", 1);
	jw_int(w, 1);
	jw_array_close(w);
}

static void
mis_key_top(struct jw *w)
{
	jw_key(w, "k", 1);
}

static void
mis_two_keys(struct jw *w)
{
	jw_object_open(w);
	jw_key(w, "k", 1);
	jw_key(w, "l", 1);
	jw_int(w, 1);
	jw_object_close(w);
}

static void
mis_close_kind(struct jw *w)
{
	jw_object_open(w);
	jw_array_close(w);
}

static void
mis_close_key(struct jw *w)
{
	jw_object_open(w);
	jw_key(w, "k", 1);
	jw_object_close(w);
}

static void
mis_close_top(struct jw *w)
{
	jw_array_open(w);
	jw_array_close(w);
	jw_array_close(w);
}

static void
mis_two_values(struct jw *w)
{
	jw_object_open(w);
	jw_object_close(w);
	jw_object_open(w);
	jw_object_close(w);
}

static void
mis_open(struct jw *w)
{
	jw_object_open(w);
	jw_key(w, "k", 1);
	jw_array_open(w);
}

static void
mis_empty(struct jw *w)
{
	(void)w;
}

static void
mis_deep(struct jw *w)
{
	int	i;

	for (i = 0; i <= JSON_DEPTH_MAX; i++)
		jw_array_open(w);
	for (i = 0; i <= JSON_DEPTH_MAX; i++)
		jw_array_close(w);
}

static void
test_writer_misuse(void **state)
{
	char		out[256];
	struct jw	w;
	size_t		len;
	int		i;

	(void)state;
	writer_must_fail(mis_value_no_key, "out of order");
	writer_must_fail(mis_key_in_array, "out of order");
	writer_must_fail(mis_key_top, "out of order");
	writer_must_fail(mis_two_keys, "out of order");
	writer_must_fail(mis_close_kind, "out of order");
	writer_must_fail(mis_close_key, "out of order");
	writer_must_fail(mis_close_top, "out of order");
	writer_must_fail(mis_two_values, "out of order");
	writer_must_fail(mis_open, "not complete");
	writer_must_fail(mis_empty, "not complete");
	writer_must_fail(mis_deep, "JSON_DEPTH_MAX");
	/* at the depth limit it works, and reads back */
	jw_init(&w, out, sizeof(out));
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		jw_array_open(&w);
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		jw_array_close(&w);
	assert_int_equal(jw_finish(&w, &len, "doc", &E), 0);
	assert_int_equal(len, 2 * JSON_DEPTH_MAX);
	assert_int_equal(parse_exact(out, len), 0);
	/* a bare top-level string is a document too */
	jw_init(&w, out, sizeof(out));
	jw_string(&w, "a", 1);
	assert_int_equal(jw_finish(&w, &len, "doc", &E), 0);
	assert_string_equal(out, "\"a\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_tokens_limit),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_string_overflow),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_get_object),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_writer_escapes),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_writer_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
