/*
 * fuzz_watch.c -- one watch event line (watch_event_parse): what the API
 * server streams to `regcred run`, untrusted.
 *
 * Properties: the verdict is 0 or -1; an event accepted has a known type
 * and a NUL-terminated resourceVersion shorter than WATCH_RV_MAX (empty
 * only for 410 Gone) and, unless a bookmark or Gone, named the Secret;
 * an error message is NUL-terminated, free of control bytes and never
 * shows what the error buffer held before the call.
 */
#define _GNU_SOURCE	/* memmem */
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "watch.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_event	ev;
	struct err		e;
	int			r;

	if (size > WATCH_EVENT_MAX)
		return 0;
	/* not zeroed: a message from before (control bytes, which no
	 * message of ours holds) must never show through */
	memset(&e, 0x01, sizeof(e) - 1);
	e.msg[sizeof(e.msg) - 1] = '\0';
	r = watch_event_parse((const char *)data, size, "ar-pull", &ev, &e);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_CHECK(ev.type == WATCH_ADDED || ev.type == WATCH_MODIFIED ||
		    ev.type == WATCH_DELETED || ev.type == WATCH_BOOKMARK ||
		    ev.type == WATCH_GONE);
		FUZZ_CHECK(memchr(ev.rv, '\0', sizeof(ev.rv)) != NULL);
		FUZZ_CHECK(ev.type != WATCH_GONE || ev.rv[0] == '\0');
		FUZZ_CHECK(ev.type == WATCH_GONE || ev.rv[0] != '\0');
		FUZZ_CHECK(ev.type == WATCH_GONE || ev.type == WATCH_BOOKMARK ||
		    memmem(data, size, "ar-pull", 7) != NULL ||
		    memmem(data, size, "\\u", 2) != NULL);
		return 0;
	}
	FUZZ_CHECK(memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
	FUZZ_CHECK(!fuzz_has_ctl(e.msg, strlen(e.msg), 0));
	return 0;
}
