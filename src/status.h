/*
 * status.h -- the status file: what `regcred run` writes after every
 * attempt and what `regcred status` (an exec probe) judges.
 *
 * The file is one JSON object (times are Unix seconds, 0 = never):
 *   {"secret":S,"last_attempt":T,"last_success":T,"expiry":T,
 *    "last_error":S,"refresh_ok":N,"refresh_failed":N,"watch_restarts":N,
 *    "namespaces":[{"name":S,"last_success":T,"expiry":T,
 *                   "last_error":S},...]}
 * At most STATUS_MAX bytes (limits.h), at most NAMESPACE_MAX namespaces.
 */
#ifndef REGCRED_STATUS_H
#define REGCRED_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct state;

/* The file's JSON (with a final newline) into buf; *len its length. */
int	status_format(const struct state *s, char *buf, size_t cap,
	    size_t *len, struct err *e);

/*
 * Formats s into buf (cap: STATUS_MAX) and replaces path atomically:
 * writes path.tmp in the same folder (O_NOFOLLOW, mode 0644), fsyncs it
 * and renames it over path. path.tmp is removed when a step fails.
 */
int	status_write(const struct state *s, const char *path, char *buf,
	    size_t cap, struct err *e);

/*
 * Judges a status file's bytes at Unix time now: 0 healthy (the last
 * success is at most max_age_s old and every namespace's token has more
 * than STATUS_MIN_LEFT_S left), 1 not, or unreadable. reason (always
 * written, one line, no control bytes) says why, or sums up a healthy
 * state.
 */
int	status_check(const char *buf, size_t len, int64_t now,
	    int64_t max_age_s, char *reason, size_t cap);

#endif
