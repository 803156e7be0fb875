/*
 * status.c -- the status file.
 *
 * Owns: the JSON record of a long-running run's refreshes (struct state,
 * written through the escaping writer), replacing the file atomically
 * (a temporary beside it, fsync, rename), and the verdict `regcred
 * status` gives on such a file: healthy when the last success is recent
 * and every namespace's token has more than STATUS_MIN_LEFT_S left, else
 * a one-line reason. The file is read with the strict parser (json.c);
 * anything it refuses, or a field of the wrong type, is unhealthy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>		/* rename */
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "status.h"

/* <limits.h> is shadowed by src/limits.h under -Isrc: spelled out here. */
#define STATUS_LLONG_MAX	((long long)(~0ULL >> 1))
/* Times read back: 0 (never) up to 9999-12-31T23:59:59Z. */
#define STATUS_TIME_MAX		253402300799LL

_Static_assert(sizeof(((struct state *)0)->ns) / sizeof(struct state_ns) ==
    NAMESPACE_MAX, "struct state holds NAMESPACE_MAX namespaces");

/* ---- writing ----------------------------------------------------------- */

static void
status_put_str(struct jw *w, const char *key, const char *s, size_t cap)
{
	jw_key(w, key, strlen(key));
	jw_string(w, s, strnlen(s, cap));
}

static void
status_put_int(struct jw *w, const char *key, long long v)
{
	jw_key(w, key, strlen(key));
	jw_int(w, v);
}

static long long
status_count(uint64_t v)
{
	return v > (uint64_t)STATUS_LLONG_MAX ? STATUS_LLONG_MAX :
	    (long long)v;
}

static void
status_put_ns(struct jw *w, const struct state_ns *ns)
{
	jw_object_open(w);
	status_put_str(w, "name", ns->name, sizeof(ns->name));
	status_put_int(w, "last_success", ns->last_success);
	status_put_int(w, "expiry", ns->expiry);
	status_put_str(w, "last_error", ns->last_error,
	    sizeof(ns->last_error));
	jw_object_close(w);
}

int
status_format(const struct state *s, char *buf, size_t cap, size_t *len,
    struct err *e)
{
	struct jw	w;
	size_t		i;

	if (s->nns > NAMESPACE_MAX)
		return err_set(e, "status: %zu namespaces (limit "
		    "NAMESPACE_MAX = %d)", s->nns, NAMESPACE_MAX);
	if (cap < 2)
		return err_set(e, "status file: no room to format it");
	jw_init(&w, buf, cap - 1);		/* room for the newline */
	jw_object_open(&w);
	status_put_str(&w, "secret", s->secret, sizeof(s->secret));
	status_put_int(&w, "last_attempt", s->last_attempt);
	status_put_int(&w, "last_success", s->last_success);
	status_put_int(&w, "expiry", s->expiry);
	status_put_str(&w, "last_error", s->last_error, sizeof(s->last_error));
	status_put_int(&w, "refresh_ok", status_count(s->refresh_ok));
	status_put_int(&w, "refresh_failed", status_count(s->refresh_failed));
	status_put_int(&w, "watch_restarts", status_count(s->watch_restarts));
	jw_key(&w, "namespaces", 10);
	jw_array_open(&w);
	for (i = 0; i < s->nns; i++)
		status_put_ns(&w, &s->ns[i]);
	jw_array_close(&w);
	jw_object_close(&w);
	if (jw_finish(&w, len, "status file (STATUS_MAX)", e) != 0)
		return -1;
	buf[(*len)++] = '\n';
	buf[*len] = '\0';
	return 0;
}

static int
status_write_all(int fd, const char *buf, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* path.tmp, written whole and synced; removed when a step fails. */
static int
status_write_tmp(const char *tmp, const char *buf, size_t len,
    struct err *e)
{
	int	fd, saved;

	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0644);
	if (fd == -1)
		return err_set(e, "status file %s: %s", tmp, strerror(errno));
	if (status_write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		saved = errno;
		(void)close(fd);
		(void)unlink(tmp);
		return err_set(e, "status file %s: %s", tmp, strerror(saved));
	}
	if (close(fd) != 0) {
		saved = errno;
		(void)unlink(tmp);
		return err_set(e, "status file %s: %s", tmp, strerror(saved));
	}
	return 0;
}

int
status_write(const struct state *s, const char *path, char *buf, size_t cap,
    struct err *e)
{
	char	tmp[PATH_MAX_REGCRED + 8];
	size_t	len;
	int	n, saved;

	n = fmt_print(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return err_set(e, "status file path is too long (limit "
		    "PATH_MAX_REGCRED)");
	if (status_format(s, buf, cap, &len, e) != 0 ||
	    status_write_tmp(tmp, buf, len, e) != 0)
		return -1;
	if (rename(tmp, path) != 0) {
		saved = errno;
		(void)unlink(tmp);
		return err_set(e, "status file %s: rename: %s", path,
		    strerror(saved));
	}
	return 0;
}

/* ---- judging ------------------------------------------------------------ */

/* What one namespace entry (or the top level) says. */
struct status_entry {
	char		name[LOG_QUOTE_MAX + 4];	/* quoted for the reason */
	long long	last_success;
	long long	expiry;
	char		error[LOG_QUOTE_MAX + 4];	/* quoted; "" = none */
};

/* Formats the reason, one line (control bytes become spaces); returns rc. */
static int
status_say(int rc, char *reason, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
status_say(int rc, char *reason, size_t cap, const char *fmt, ...)
{
	va_list	ap;
	size_t	i;

	if (cap == 0)
		return rc;
	va_start(ap, fmt);
	if (fmt_vprint(reason, cap, fmt, ap) < 0)
		reason[0] = '\0';
	va_end(ap);
	for (i = 0; reason[i] != '\0'; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			reason[i] = ' ';
	return rc;
}

/* String key of obj, quoted (log_quote: one line, cut, redacted). */
static int
status_get_text(const struct json *j, int obj, const char *key, int need,
    char *dst, size_t cap, struct err *e)
{
	static char	text[STATUS_TEXT_MAX + 1];
	size_t		len;
	int		found;

	if (json_get_string(j, obj, key, text, sizeof(text), &len,
	    need ? NULL : &found, e) != 0)
		return -1;
	log_quote(dst, cap, text, len);
	explicit_bzero(text, len);
	return 0;
}

static int
status_get_time(const struct json *j, int obj, const char *key,
    long long *v, struct err *e)
{
	return json_get_int(j, obj, key, 0, STATUS_TIME_MAX, 0, v, NULL, e);
}

/* The top level, or one namespace entry (with a name). */
static int
status_entry_read(const struct json *j, int obj, int named,
    struct status_entry *en, struct err *e)
{
	memset(en, 0, sizeof(*en));
	if (json_type(j, obj) != JSON_OBJECT)
		return err_set(e, "not a JSON object");
	if ((named && status_get_text(j, obj, "name", 1, en->name,
	    sizeof(en->name), e) != 0) ||
	    status_get_time(j, obj, "last_success", &en->last_success,
	    e) != 0 || status_get_time(j, obj, "expiry", &en->expiry, e) != 0 ||
	    status_get_text(j, obj, "last_error", 0, en->error,
	    sizeof(en->error), e) != 0)
		return -1;
	return 0;
}

/* "; last error: ..." when there is one. */
static const char *
status_sep(const struct status_entry *en)
{
	return en->error[0] != '\0' ? "; last error: " : "";
}

/* 1 with the reason when this namespace's token has too little left. */
static int
status_ns_judge(const struct status_entry *en, int64_t now, char *reason,
    size_t cap)
{
	long long	left = en->expiry - now;

	if (en->expiry == 0)
		return status_say(1, reason, cap, "namespace %s: no Secret "
		    "applied yet%s%s", en->name, status_sep(en), en->error);
	if (left <= 0)
		return status_say(1, reason, cap, "namespace %s: token expired "
		    "%lld s ago%s%s", en->name, -left, status_sep(en),
		    en->error);
	if (left <= STATUS_MIN_LEFT_S)
		return status_say(1, reason, cap, "namespace %s: token expires "
		    "in %lld s (needs > %d)%s%s", en->name, left,
		    STATUS_MIN_LEFT_S, status_sep(en), en->error);
	return 0;
}

/* Every namespace; *soonest: the least time a token has left. */
static int
status_ns_all(const struct json *j, int arr, int64_t now, long long *soonest,
    char *reason, size_t cap)
{
	struct status_entry	en;
	struct err		e;
	int			i, t = arr + 1;

	for (i = 0; i < j->tok[arr].size; i++, t = json_skip(j, t)) {
		if (status_entry_read(j, t, 1, &en, &e) != 0)
			return status_say(1, reason, cap, "status file: "
			    "namespace %d: %s", i, e.msg);
		if (status_ns_judge(&en, now, reason, cap) != 0)
			return 1;
		if (i == 0 || en.expiry - now < *soonest)
			*soonest = en.expiry - now;
	}
	return 0;
}

/* The namespaces array: present, not empty, at most NAMESPACE_MAX. */
static int
status_ns_array(const struct json *j, int *arr, char *reason, size_t cap)
{
	struct err	e;
	int		r;

	r = json_find(j, 0, "namespaces", arr, &e);
	if (r != 1 || json_type(j, *arr) != JSON_ARRAY)
		return status_say(1, reason, cap, "status file: \"namespaces\" "
		    "%s", r == 0 ? "is missing" : r < 0 ? "occurs twice" :
		    "is not an array");
	if (j->tok[*arr].size == 0)
		return status_say(1, reason, cap, "status file lists no "
		    "namespace");
	if (j->tok[*arr].size > NAMESPACE_MAX)
		return status_say(1, reason, cap, "status file lists %d "
		    "namespaces (limit NAMESPACE_MAX = %d)", j->tok[*arr].size,
		    NAMESPACE_MAX);
	return 0;
}

int
status_check(const char *buf, size_t len, int64_t now, int64_t max_age_s,
    char *reason, size_t cap)
{
	static struct json	j;
	struct status_entry	top;
	struct err		e;
	long long		age, soonest = 0;
	int			arr;

	if (json_parse(&j, buf, len, &e) != 0 ||
	    status_entry_read(&j, 0, 0, &top, &e) != 0)
		return status_say(1, reason, cap, "status file: %s", e.msg);
	if (status_ns_array(&j, &arr, reason, cap) != 0)
		return 1;
	if (top.last_success == 0)
		return status_say(1, reason, cap, "no successful refresh yet%s%s",
		    status_sep(&top), top.error);
	age = now - top.last_success;
	if (age > max_age_s)
		return status_say(1, reason, cap, "last success %lld s ago "
		    "(--max-age %lld)%s%s", age, (long long)max_age_s,
		    status_sep(&top), top.error);
	if (status_ns_all(&j, arr, now, &soonest, reason, cap) != 0)
		return 1;
	return status_say(0, reason, cap, "ok: last success %lld s ago; %d "
	    "namespace%s, the soonest token expires in %lld s", age,
	    j.tok[arr].size, j.tok[arr].size == 1 ? "" : "s", soonest);
}
