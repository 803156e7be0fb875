/*
 * file.c -- reading local files.
 *
 * Owns: opening a path (symlinks followed, regular files only, no
 * controlling tty, never blocking on a FIFO), reading it whole into a
 * caller's fixed buffer, and refusing one that does not fit, naming the
 * limit. A failed read leaves the buffer wiped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "limits.h"
#include "log.h"

static const char *
file_limit_name(size_t cap)
{
	if (cap == FILE_MAX || cap == FILE_MAX + 1)
		return "FILE_MAX";
	if (cap == CA_FILE_MAX || cap == CA_FILE_MAX + 1)
		return "CA_FILE_MAX";
	if (cap == TOKEN_MAX || cap == TOKEN_MAX + 1)
		return "TOKEN_MAX";
	if (cap == STATUS_MAX || cap == STATUS_MAX + 1)
		return "STATUS_MAX";
	return "buffer size";
}

static ssize_t
file_read_some(int fd, char *buf, size_t n)
{
	ssize_t	k;

	do
		k = read(fd, buf, n);
	while (k == -1 && errno == EINTR);
	return k;
}

static int
file_read_fd(int fd, char *buf, size_t cap, size_t *len, const char *what,
    const char *path, struct err *e)
{
	size_t	n = 0;
	ssize_t	k;
	char	extra;
	int	rc = -1;

	*len = 0;
	while (n < cap - 1) {
		k = file_read_some(fd, buf + n, cap - 1 - n);
		if (k == -1) {
			err_set(e, "%s %s: %s", what, path, strerror(errno));
			goto fail;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n == cap - 1 && (k = file_read_some(fd, &extra, 1)) != 0) {
		if (k == -1)
			err_set(e, "%s %s: %s", what, path, strerror(errno));
		else
			err_set(e, "%s %s: larger than %zu bytes (limit %s)",
			    what, path, cap - 1, file_limit_name(cap));
		goto fail;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
fail:
	explicit_bzero(buf, n);		/* what was read, not the whole cap */
	return rc;
}

int
file_read(const char *path, char *buf, size_t cap, size_t *len,
    const char *what, struct err *e)
{
	struct stat	st;
	int		fd, rc;

	*len = 0;
	if (cap == 0)
		return err_set(e, "%s %s: no room to read it", what, path);
	buf[0] = '\0';
	/* Symlinks are followed: pod volumes are ..data/ symlinks. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return err_set(e, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) == -1)
		rc = err_set(e, "%s %s: %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = err_set(e, "%s %s: not a regular file", what, path);
	else if (st.st_size > 0 && (unsigned long long)st.st_size >= cap)
		rc = err_set(e, "%s %s: larger than %zu bytes (limit %s)",
		    what, path, cap - 1, file_limit_name(cap));
	else
		rc = file_read_fd(fd, buf, cap, len, what, path, e);
	close(fd);
	return rc;
}

size_t
file_rtrim(const char *buf, size_t len)
{
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
	    buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	return len;
}
