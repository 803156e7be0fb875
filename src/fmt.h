/*
 * fmt.h -- bounded formatting into a caller's buffer.
 *
 * fmt_print is snprintf for the conversions regcred uses, and nothing
 * else: %s, %.*s and %.Ns (precision bounds the bytes read), %c, %d, %u,
 * %lld, %llu, %zu, %%, and a width with the 0 flag for numbers (%02d,
 * %04d). Like snprintf it writes at most cap bytes, always NUL terminated
 * when cap > 0, and returns the length the whole result would have, so
 * `n < 0 || (size_t)n >= cap` detects truncation. Any other conversion,
 * a NULL %s argument and a result longer than INT_MAX return -1. The
 * compiler checks the arguments against the format (format attribute).
 *
 * It exists so that musl's vfprintf (floating point, wide characters,
 * positional arguments: 11 KiB) is not linked into the static binary.
 */
#ifndef REGCRED_FMT_H
#define REGCRED_FMT_H

#include <stdarg.h>
#include <stddef.h>

int	fmt_print(char *dst, size_t cap, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	fmt_vprint(char *dst, size_t cap, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));

#endif
