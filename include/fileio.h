/*
 * fileio.h: small files the daemon keeps or reads, done safely.
 *
 * file_replace() is the one way to rewrite a file so that a crash at any
 * moment (kill -9, power loss) leaves either the old or the new content:
 * a temporary file beside it (.NAME.tmp, never following a symlink),
 * fsync, rename, fsync of the directory.  file_read() reads a bounded file and, when
 * asked, insists it is private (no group or other permission bits), as
 * secrets and state must be.
 */
#ifndef EPPGW_FILEIO_H
#define EPPGW_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

struct err;

/* 0, or -1 with errno set (the old file, if any, is untouched). */
int file_replace(const char *path, const void *data, size_t len, mode_t mode);
/* The same for name in the directory dirfd; sync_fn (NULL: fsync) makes
 * the data durable (the audit log's tests inject failures there). */
int file_replace_at(int dirfd, const char *name, const void *data,
    size_t len, mode_t mode, int (*sync_fn)(int));

/*
 * Read all of path (at most max bytes) into a NUL-terminated *out (caller
 * frees).  With private_only, a file readable or writable by group or
 * others is refused.  0, or -1 with e filled ("PATH: what", err.h);
 * ENOENT is reported in *missing (when not NULL) instead of as an error.
 */
int file_read(const char *path, size_t max, int private_only, char **out,
    size_t *len, int *missing, struct err *e);

#endif
