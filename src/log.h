/*
 * log.h -- logging (struct err itself lives in err.h, a leaf).
 *
 * Every line printed goes through log_redact and loses its control bytes:
 * registered secrets (whole, cut short, or any piece of at least
 * LOG_PIECE_MIN bytes) and anything shaped like a token (a JWT, a Google
 * access token, also right after '=', '/', '+' or ':') are replaced by
 * "[REDACTED]".
 */
#ifndef REGCRED_LOG_H
#define REGCRED_LOG_H

#include <stddef.h>
#include "err.h"
#include "limits.h"


enum log_format { LOG_TEXT, LOG_JSON };


/*
 * Copies at most LOG_QUOTE_MAX bytes of untrusted src into dst (NUL
 * terminated), dropping control bytes and redacting secrets; appends
 * "..." when cut. Used for server messages quoted in errors.
 */
void	log_quote(char *dst, size_t cap, const char *src, size_t len);

/* Secrets that must never be printed; the memory must outlive its use
 * and must not change while registered. */
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
