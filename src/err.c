/*
 * err.c -- error messages.
 *
 * Owns: formatting a struct err (bounded, a cut message ends in "...")
 * and prefixing context to one. A leaf module, so that json, log and the
 * rest depend on it and never on each other for errors.
 */
#include <stdarg.h>
#include <string.h>

#include "err.h"
#include "fmt.h"

/* Marks a message the formatter cut short; clears one it could not format. */
static void
err_finish(struct err *e, int n)
{
	if (n < 0)
		e->msg[0] = '\0';
	else if ((size_t)n >= sizeof(e->msg))
		memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
}

int
err_set(struct err *e, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = fmt_vprint(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	err_finish(e, n);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char	pre[ERR_MSG_MAX];
	char	old[ERR_MSG_MAX];
	va_list	ap;
	int	n;

	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	n = fmt_vprint(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	if (n < 0)
		pre[0] = '\0';
	err_finish(e, fmt_print(e->msg, sizeof(e->msg), "%s: %s", pre, old));
	return -1;
}
