/*
 * log.h -- errors and logging.
 *
 * Modules report failure by returning -1 with a message in a struct err;
 * only main.c prints it and exits. Every line printed goes through
 * log_redact: control bytes are dropped, registered secrets and anything
 * shaped like a token are replaced by "[REDACTED]".
 */
#ifndef REGCRED_LOG_H
#define REGCRED_LOG_H

#include <stddef.h>
#include "limits.h"

struct err {
	char	msg[ERR_MSG_MAX];
};

enum log_format { LOG_TEXT, LOG_JSON };

/* Formats into e->msg (truncation is marked with "..."); returns -1. */
int	err_set(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the message already in e; returns -1. */
int	err_prefix(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Copies at most LOG_QUOTE_MAX bytes of untrusted src into dst (NUL
 * terminated), dropping control bytes and redacting secrets; appends
 * "..." when cut. Used for server messages quoted in errors.
 */
void	log_quote(char *dst, size_t cap, const char *src, size_t len);

/* Secrets that must never be printed; the memory must outlive its use. */
int	log_secret_add(const char *s, size_t len);
void	log_secret_clear(void);

void	log_init(enum log_format fmt);
/* One line on stderr: level, step, message (key=value in JSON mode). */
void	log_info(const char *step, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_error(const char *step, const struct err *e);

/* Redacts in place: secrets and token-shaped strings become [REDACTED]. */
void	log_redact(char *s, size_t cap);

#endif
