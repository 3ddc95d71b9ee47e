/*
 * sandbox.h: confine a process once its start-up is over.
 *
 * An EPP worker reads hostile input (TLS, framing, XML) and so may be
 * taken over by a memory bug.  sandbox_enter() leaves it with what a
 * network relay needs and nothing else: an empty root directory, an
 * unprivileged uid, no new privileges and a seccomp allow-list (libseccomp)
 * in which opening, creating, renaming or executing a file fails with
 * EACCES and any other system call outside the list kills the process.
 * Everything the worker will ever read from the file system (keys,
 * certificates, schemas, time zone) must be loaded before.
 *
 * The secret-holding processes (vault, audit writer, alerter) need files
 * and so are not sandboxed this way; sandbox_protect_memory() keeps a
 * compromised worker of the same uid from reading their memory.
 */
#ifndef EPPGW_SANDBOX_H
#define EPPGW_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

struct err;

struct sandbox_opts {
	const char	*chroot_dir;	/* empty, root-owned directory (see
					   sandbox_check_dir); used only when
					   running as root; NULL: no chroot */
	uid_t		 uid;		/* with drop, switched to after the */
	gid_t		 gid;		/* chroot when running as root */
	int		 drop;		/* 1: switch to uid/gid (never 0) */
};

/*
 * Enter the worker sandbox, irreversibly: when running as root, chroot to
 * chroot_dir and switch to uid/gid (supplementary groups: gid alone); then
 * PR_SET_NO_NEW_PRIVS and the seccomp allow-list, for every thread.  The
 * process stays dumpable as far as this module goes (but the kernel makes
 * a process that leaves uid 0 non-dumpable, fs.suid_dumpable).  When not
 * running as root, chroot_dir, uid and gid are ignored.  0, or -1 with
 * e filled (err.h); after -1 the process is in an unknown state and must
 * exit.
 */
int sandbox_enter(const struct sandbox_opts *o, struct err *e);

/*
 * The fail-closed self check, run right after sandbox_enter(): path (a
 * file the process could read before, e.g. its configuration) must now be
 * refused with the sandbox's EACCES, and so must an AF_UNIX socket (which
 * no chroot or uid refuses).  0 if so; -1 with e filled if either
 * succeeded (ERR_REFUSED) or failed otherwise (ERR_SYSTEM, e.g. ENOENT: a
 * chroot but no filter).
 */
int sandbox_verify(const char *path, struct err *e);

/*
 * For the secret-holding processes: PR_SET_DUMPABLE 0 (no ptrace and no
 * /proc/PID/mem by another process of the same uid, no core dump) and
 * PR_SET_NO_NEW_PRIVS.  0, or -1 with e filled.
 */
int sandbox_protect_memory(struct err *e);

/*
 * Make sure path can be a worker's root: when running as root, create it
 * (mode 0755) if missing; refuse it unless it is a directory (not a
 * symbolic link) owned by root, not writable by group or others, and
 * empty.  When not running as root it is never used: 0 without looking.
 * sandbox_enter() checks again, on the directory it then enters.  0, or
 * -1 with e filled ("PATH: what").
 */
int sandbox_check_dir(const char *path, struct err *e);

#endif
