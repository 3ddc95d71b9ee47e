/*
 * fileio.c: atomic replace and bounded, private reads (see fileio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "err.h"
#include "fileio.h"

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
file_replace_at(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode, int (*sync_fn)(int))
{
	char tmp[512];
	int fd = -1, r = -1, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (sync_fn == NULL)
		sync_fn = fsync;
	(void)unlinkat(dirfd, tmp, 0);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		goto out;
	if (write_all(fd, data, len) != 0 || sync_fn(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	/* The rename itself is durable once the directory is. */
	if (renameat(dirfd, tmp, dirfd, name) != 0 || fsync(dirfd) != 0)
		goto out;
	r = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (r != 0)
		(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return r;
}

int
file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	char *dcopy = NULL, *bcopy = NULL;
	int dfd = -1, r = -1, saved;

	if ((dcopy = strdup(path)) == NULL || (bcopy = strdup(path)) == NULL)
		goto out;
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		goto out;
	r = file_replace_at(dfd, basename(bcopy), data, len, mode, NULL);
out:
	saved = errno;
	if (dfd != -1)
		close(dfd);
	free(dcopy);
	free(bcopy);
	errno = saved;
	return r;
}

int
file_read(const char *path, size_t max, int private_only, char **out,
    size_t *len, int *missing, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	if (missing != NULL)
		*missing = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && missing != NULL) {
			*missing = 1;
			return 0;
		}
		return err_set(e, ERR_SYSTEM, "%s: %s", path,
		    strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%s: not a regular file", path);
		goto fail;
	}
	if (private_only && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_set(e, ERR_INVALID, "%s: readable by group or others "
		    "(chmod 600)", path);
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		err_set(e, ERR_LIMIT, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(e, ERR_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err_set(e, ERR_SYSTEM, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	if (len != NULL)
		*len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}
