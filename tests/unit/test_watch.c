/* Unit tests for watch.c: one watch event line, as kube-apiserver streams
 * them (metadata only), and every way one can be wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "watch.h"

#define META(rv, name) "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":" \
	"\"meta.k8s.io/v1\",\"metadata\":{\"name\":\"" name "\",\"namespace\":" \
	"\"bifrost\",\"resourceVersion\":\"" rv "\",\"managedFields\":[{" \
	"\"manager\":\"regcred\",\"operation\":\"Apply\",\"fieldsV1\":{" \
	"\"f:data\":{\"f:.dockerconfigjson\":{}}}}]}}"

static struct err	e;

static int
parse(const char *line, struct watch_event *ev)
{
	/* a message left from before must not show through */
	snprintf(e.msg, sizeof(e.msg), "STALE");
	return watch_event_parse(line, strlen(line), "ar-pull", ev, &e);
}

static void
test_types(void **state)
{
	static const struct { const char *line; enum watch_type t;
	    const char *rv; } ok[] = {
	    { "{\"type\":\"ADDED\",\"object\":" META("101", "ar-pull") "}",
	      WATCH_ADDED, "101" },
	    { "{\"type\":\"MODIFIED\",\"object\":" META("102", "ar-pull") "}",
	      WATCH_MODIFIED, "102" },
	    { "{\"object\":" META("103", "ar-pull") ",\"type\":\"DELETED\"}",
	      WATCH_DELETED, "103" },
	    { "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Secret\","
	      "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"104\","
	      "\"creationTimestamp\":null}}}", WATCH_BOOKMARK, "104" },
	    { "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
	      "\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too "
	      "old resource version: 1 (200)\",\"reason\":\"Expired\",\"code\":"
	      "410}}", WATCH_GONE, "" } };
	struct watch_event	ev;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i].line, &ev) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		assert_int_equal(ev.type, ok[i].t);
		assert_string_equal(ev.rv, ok[i].rv);
	}
}

static void
test_refused(void **state)
{
	static const struct { const char *line, *needle; } bad[] = {
	    { "{\"type\":\"ADDED\",\"object\":" META("1", "other") "}",
	      "not the Secret \"ar-pull\"" },
	    { "{\"type\":\"ADDED\",\"object\":" META("1", "ar-pul") "}",
	      "not the Secret" },
	    { "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
	      "\"message\":\"etcd\\u0007 down\"}}", "code 500: etcd down" },
	    { "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\"}}", "code" },
	    { "{\"type\":\"SYNC\",\"object\":" META("1", "ar-pull") "}",
	      "unknown type \"SYNC\"" },
	    { "{\"type\":\"ADDED\"}", "missing \"object\"" },
	    { "{\"type\":\"ADDED\",\"object\":[]}", "\"object\" is not an" },
	    { "{\"object\":" META("1", "ar-pull") "}", "type" },
	    { "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":"
	      "\"ar-pull\"}}}", "resourceVersion" },
	    { "{\"type\":\"ADDED\",\"object\":{}}", "missing \"metadata\"" },
	    { "{\"type\":\"ADDED\",\"object\":{\"metadata\":[]}}",
	      "\"metadata\" is not an object" },
	    { "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":"
	      "{\"resourceVersion\":\"\"}}}", "empty resourceVersion" },
	    { "{\"type\":\"MODIFIED\",\"object\":" META("", "ar-pull") "}",
	      "empty resourceVersion" },
	    { "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceV"
	      "\\u0065rsion\":\"\",\"name\":\"ar-pull\"}}}",
	      "empty resourceVersion" },
	    { "{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":"
	      META("1", "ar-pull") "}", "duplicate" },
	    { "{\"type\":\"ADDED\",\"object\":" META("1", "ar-pull") "} x", "" },
	    { "{\"type\":\"ADDED\",\"object\":" META(
	      "1234567890123456789012345678901234567890123456789012345678901234",
	      "ar-pull") "}", "" },
	    { "", "" }, { "null", "not a JSON object" },
	    { "[]", "not a JSON object" } };
	struct watch_event	ev;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].line, &ev) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(e.msg, bad[i].needle) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg,
			    bad[i].needle);
		assert_null(strchr(e.msg, '\a'));
		if (strstr(e.msg, "STALE") != NULL)
			fail_msg("case %zu: \"%s\" shows a stale message", i,
			    e.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
