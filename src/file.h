/*
 * file.h -- reading local files into fixed buffers: the credential config,
 * token files, CA bundles and the service-account folder. Every local file
 * is read before any network I/O.
 */
#ifndef REGCRED_FILE_H
#define REGCRED_FILE_H

#include <stddef.h>

struct err;

/* Reads a whole regular file of at most cap-1 bytes, NUL terminated.
 * `what` names it in errors ("credential config", "token file"...).
 * Symlinks are followed (pod volumes are ..data/ symlinks). */
int	file_read(const char *path, char *buf, size_t cap, size_t *len,
	    const char *what, struct err *e);

/* Length of buf without its trailing spaces, tabs, CRs and LFs. */
size_t	file_rtrim(const char *buf, size_t len);

#endif
