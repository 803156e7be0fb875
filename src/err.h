/*
 * err.h -- how a module reports failure: return -1 with a message in a
 * struct err; only main.c prints it (through log.c) and exits. A leaf:
 * every module may use it, it uses nothing but fmt.
 */
#ifndef REGCRED_ERR_H
#define REGCRED_ERR_H

#include "limits.h"

struct err {
	char	msg[ERR_MSG_MAX];
};

/* Formats into e->msg (truncation is marked with "..."); returns -1. */
int	err_set(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the message already in e; returns -1. */
int	err_prefix(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
