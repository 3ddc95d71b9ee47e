/*
 * sandbox.c: the worker sandbox and the secret holders' memory protection
 * (see sandbox.h).
 *
 * Order matters in sandbox_enter(): the chroot needs root and the file
 * system, the uid switch needs root, and the seccomp filter comes last
 * because it forbids all of them.  Every step is checked; a step that
 * fails leaves the caller to exit, never to carry on half confined.
 */
#define _GNU_SOURCE	/* setresuid(2), setresgid(2), getresuid(2) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <seccomp.h>

#include "err.h"
#include "sandbox.h"

/*
 * Sanitizer builds (make asan): the runtimes read /proc to print a report
 * and LeakSanitizer ptraces us at exit; sanitizer_prepare() has that done
 * before the sandbox closes.  Nothing more goes into the filter: where a
 * runtime still probes files (the symbolizer, /proc/self/exe) it gets the
 * EACCES of the plain list and reports unsymbolized (module+offset),
 * with clang and GCC alike.  GCC says ASan with __SANITIZE_ADDRESS__,
 * clang with __has_feature; a GCC build with UBSan alone cannot be told
 * apart, and needs nothing here.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#if defined(SANDBOX_ASAN)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

#if defined(SANDBOX_SANITIZER)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(SANDBOX_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

/* What a refused file operation returns. */
#define REFUSED	SCMP_ACT_ERRNO(EACCES)

/* The system call is not one of this architecture's (a pseudo number). */
#define NOT_HERE(nr)	((nr) < 0)

/*
 * Opened, created, renamed, linked, executed or traced: the worker never
 * does any of it after start-up, but a library may try (OpenSSL loading a
 * configuration or a CA directory, libxml2 a catalog or an external
 * entity, glibc a time zone or NSS), and should see a clean error rather
 * than kill every session of the worker.  stat, access and readlink are
 * the probes that come before an open.
 */
static const int refused[] = {
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat),
	SCMP_SYS(truncate), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(link), SCMP_SYS(linkat),
	SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(chmod),
	SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(chown),
	SCMP_SYS(fchown), SCMP_SYS(lchown), SCMP_SYS(fchownat),
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace),
	SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),
};

/* Allowed whatever the arguments. */
static const int allowed[] = {
	/*
	 * I/O on descriptors the worker already holds: TLS records
	 * (OpenSSL's socket BIO reads and writes), libevent's buffers
	 * (readv, writev), its signal socketpair (send, recv), descriptors
	 * passed by the parent (recvmsg), stdio (fstat, lseek).
	 */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fstat),
	/*
	 * The event loop: libevent's epoll backend, its notification
	 * eventfd (or pipe), the timerfd of EVENT_BASE_FLAG_PRECISE_TIMER;
	 * poll for code that waits on one descriptor.
	 */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),
	/*
	 * Registrar connections come in, upstream connections go out (the
	 * socket family is filtered below).  No bind or listen: the parent
	 * owns the listeners.
	 */
	SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	/* Time (mostly the vDSO; these are its fallbacks), timeouts. */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	/* Who am I: logging (getpid), OpenSSL's fork detection. */
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	/* malloc (brk, mmap below), realloc of large blocks, free. */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* Signal handling, abort(3) (kill and tgkill below). */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall),
	/*
	 * The rest of a process's life: exit, locks (futex), OpenSSL's
	 * entropy (getrandom), glibc's thread bookkeeping (rseq,
	 * set_robust_list), uname and sysinfo (glibc's qsort sizes its
	 * buffer with _SC_PHYS_PAGES), yielding.
	 */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(futex),
	SCMP_SYS(getrandom), SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
	SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(sched_yield),
};

/*
 * One comparison: libseccomp's SCMP_An() macros leave datum_b out, which
 * -Wmissing-field-initializers (clang) counts against them.
 */
static struct scmp_arg_cmp
argcmp(unsigned int n, enum scmp_compare op, uint64_t a, uint64_t b)
{
	struct scmp_arg_cmp c = { n, op, a, b };

	return c;
}

static int
add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int ncmp,
    const struct scmp_arg_cmp *cmp, struct err *e)
{
	int r;

	if (NOT_HERE(nr))
		return 0;
	if ((r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp)) < 0) {
		char *name = seccomp_syscall_resolve_num_arch(
		    SCMP_ARCH_NATIVE, nr);

		/* libseccomp returns -errno: keep it as the cause. */
		errno = -r;
		err_set(e, ERR_SYSTEM, "seccomp rule for %s: %s",
		    name != NULL ? name : "?", strerror(-r));
		free(name);
		return -1;
	}
	return 0;
}

static int
add_list(scmp_filter_ctx ctx, uint32_t action, const int *nrs, size_t n,
    struct err *e)
{
	for (size_t i = 0; i < n; i++)
		if (add_rule(ctx, action, nrs[i], 0, NULL, e) == -1)
			return -1;
	return 0;
}

/*
 * The rules that look at arguments.  libseccomp takes one comparison per
 * argument in a rule, and an unconditional rule for a system call would
 * override its conditional ones: "everything else" is spelled as ranges.
 */
static int
add_filtered(scmp_filter_ctx ctx, struct err *e)
{
	struct scmp_arg_cmp c[2];
	const uint64_t pid = (uint64_t)getpid();
	const unsigned long ioctls[] = { FIONREAD, FIONBIO, TCGETS };

	/*
	 * Sockets: IPv4 and IPv6 only.  Other families fail with EACCES, so
	 * that glibc's syslog(3) reconnecting to /dev/log, or NSS asking
	 * nscd, loses a message instead of the worker; netlink, packet and
	 * the other kernel interfaces behind socket(2) stay closed.
	 */
	c[0] = argcmp(0, SCMP_CMP_EQ, AF_INET, 0);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, c, e) == -1)
		return -1;
	c[0] = argcmp(0, SCMP_CMP_EQ, AF_INET6, 0);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, c, e) == -1)
		return -1;
	for (int f = 0; f < AF_INET6; f++) {
		if (f == AF_INET)
			continue;
		c[0] = argcmp(0, SCMP_CMP_EQ, (uint64_t)f, 0);
		if (add_rule(ctx, REFUSED, SCMP_SYS(socket), 1, c, e) == -1)
			return -1;
	}
	c[0] = argcmp(0, SCMP_CMP_GT, AF_INET6, 0);
	if (add_rule(ctx, REFUSED, SCMP_SYS(socket), 1, c, e) == -1)
		return -1;

	/*
	 * ioctl: bytes waiting (libevent's evbuffer_read), non-blocking
	 * mode (OpenSSL's BIO_socket_nbio), isatty(3) (stdio).  The kernel
	 * reads the request as 32 bits, hence the mask.  Anything else
	 * kills: ioctl is the widest door into the kernel.
	 */
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		c[0] = argcmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    (uint64_t)ioctls[i]);
		if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, c,
		    e) == -1)
			return -1;
	}

	/*
	 * fcntl: descriptor and status flags (O_NONBLOCK, FD_CLOEXEC) are
	 * all libevent and OpenSSL use.  Not F_DUPFD, locks, leases, or
	 * F_SETOWN (SIGIO to another process): those fail with EINVAL, as
	 * an unknown command would.
	 */
	for (int cmd = F_GETFD; cmd <= F_SETFL; cmd++) {
		c[0] = argcmp(1, SCMP_CMP_EQ, (uint64_t)cmd, 0);
		if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, c,
		    e) == -1)
			return -1;
	}
	c[0] = argcmp(1, SCMP_CMP_EQ, F_DUPFD, 0);
	if (add_rule(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(fcntl), 1, c,
	    e) == -1)
		return -1;
	c[0] = argcmp(1, SCMP_CMP_GT, F_SETFL, 0);
	if (add_rule(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(fcntl), 1, c,
	    e) == -1)
		return -1;

	/*
	 * Memory: mapped or re-protected, never executable.  No JIT, no
	 * dlopen (OpenSSL engines and providers would dlopen; their open
	 * already fails), no shellcode page.  EACCES, as dlopen expects of
	 * a noexec mount.
	 */
	c[0] = argcmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, c, e) == -1 ||
	    add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, c, e) == -1)
		return -1;
	c[0] = argcmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
	if (add_rule(ctx, REFUSED, SCMP_SYS(mmap), 1, c, e) == -1 ||
	    add_rule(ctx, REFUSED, SCMP_SYS(mprotect), 1, c, e) == -1)
		return -1;

	/*
	 * fstat(3) is newfstatat(fd, "", AT_EMPTY_PATH) in glibc; statx
	 * likewise.  seccomp cannot see the path, so a path lookup with the
	 * flag passes too: in the chroot there is nothing to look at.
	 * Without the flag it is stat(2) on a path: refused, as above.
	 */
	c[0] = argcmp(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1, c, e) == -1)
		return -1;
	c[0] = argcmp(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0);
	if (add_rule(ctx, REFUSED, SCMP_SYS(newfstatat), 1, c, e) == -1)
		return -1;
	c[0] = argcmp(2, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(statx), 1, c, e) == -1)
		return -1;
	c[0] = argcmp(2, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0);
	if (add_rule(ctx, REFUSED, SCMP_SYS(statx), 1, c, e) == -1)
		return -1;

	/* Limits: read our own (getrlimit is prlimit64 in glibc). */
	c[0] = argcmp(0, SCMP_CMP_EQ, 0, 0);
	c[1] = argcmp(2, SCMP_CMP_EQ, 0, 0);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, c, e) == -1 ||
	    add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getrlimit), 0, NULL,
	    e) == -1)
		return -1;

	/*
	 * Signals to ourselves only: raise(3) and abort(3) are
	 * tgkill(getpid(), ...).  A process keeps its pid, so the number
	 * taken now stays right.
	 */
	c[0] = argcmp(0, SCMP_CMP_EQ, pid, 0);
	if (add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, c, e) == -1 ||
	    add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, c, e) == -1)
		return -1;
	return 0;
}

#if defined(SANDBOX_SANITIZER)
/*
 * Before the chroot: the sanitizer runtime reads /proc/self/maps and
 * /proc/self/exe to print a report; have it cache them now.  LeakSanitizer
 * checks at exit by cloning a thread that ptraces us and reads
 * /proc/self/task: none of that works in the sandbox, so check now, for
 * everything allocated so far, which also turns the exit check off.
 */
static void
sanitizer_prepare(void)
{
	__sanitizer_sandbox_on_notify(NULL);
#if defined(SANDBOX_ASAN)
	__lsan_do_leak_check();
#endif
}
#endif

static int
load_filter(struct err *e)
{
	scmp_filter_ctx ctx;
	int r, rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return err_set(e, ERR_SYSTEM, "seccomp_init failed");
	/*
	 * A system call of another ABI (int 0x80, x32) is not the one the
	 * list names: kill.  TSYNC: every thread, or none.
	 */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		errno = -r;
		err_set(e, ERR_SYSTEM, "seccomp attributes: %s", strerror(-r));
		goto out;
	}
	if (add_list(ctx, REFUSED, refused,
	    sizeof(refused) / sizeof(refused[0]), e) == -1 ||
	    add_list(ctx, SCMP_ACT_ALLOW, allowed,
	    sizeof(allowed) / sizeof(allowed[0]), e) == -1 ||
	    add_filtered(ctx, e) == -1)
		goto out;
	if ((r = seccomp_load(ctx)) < 0) {
		errno = -r;
		err_set(e, ERR_SYSTEM, "seccomp_load: %s", strerror(-r));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

/* path opened as a directory, never through a symbolic link. */
static int
open_dir(const char *path, struct err *e)
{
	struct stat st;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1)
		return fd;
	saved = errno;
	/* Linux says ENOTDIR or ELOOP for a symbolic link: be clear. */
	if ((saved == ENOTDIR || saved == ELOOP) && lstat(path, &st) == 0 &&
	    S_ISLNK(st.st_mode))
		err_set(e, ERR_INVALID, "%s: a symbolic link, not a directory",
		    path);
	else {
		errno = saved;
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(saved));
	}
	return -1;
}

/* The directory behind fd: root's, closed to group and others, empty. */
static int
check_dirfd(int fd, const char *path, struct err *e)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int dfd, rc = -1;

	if (fstat(fd, &st) == -1) {
		return err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		return err_set(e, ERR_INVALID, "%s: not a directory", path);
	}
	if (st.st_uid != 0) {
		return err_set(e, ERR_INVALID, "%s: owned by uid %u, not root",
		    path,
		    (unsigned)st.st_uid);
	}
	/* Anyone who could write here could plant files in the root. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		return err_set(e, ERR_INVALID,
		    "%s: writable by group or others (mode "
		    "%03o)", path, (unsigned)(st.st_mode & 07777));
	}
	/* Its own open file description: readdir moves the offset. */
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		err_set(e, ERR_INVALID, "%s: not empty (%s)", path, de->d_name);
		goto out;
	}
	if (errno != 0) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int
sandbox_check_dir(const char *path, struct err *e)
{
	int fd, rc;

	if (geteuid() != 0)
		return 0;
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		return err_set(e, ERR_SYSTEM, "cannot create %s: %s", path,
		    strerror(errno));
	}
	if ((fd = open_dir(path, e)) == -1)
		return -1;
	rc = check_dirfd(fd, path, e);
	close(fd);
	return rc;
}

/*
 * chroot to the very directory that was checked: by its descriptor, so
 * that a rename between check and chroot changes nothing.
 */
static int
enter_root(const char *path, struct err *e)
{
	int fd, rc = -1;

	if ((fd = open_dir(path, e)) == -1)
		return -1;
	if (check_dirfd(fd, path, e) == -1)
		goto out;
	if (fchdir(fd) == -1 || chroot(".") == -1 || chdir("/") == -1) {
		err_set(e, ERR_SYSTEM, "chroot %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
drop_ids(uid_t uid, gid_t gid, struct err *e)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* A "drop" to root would keep every capability: a mistake. */
	if (uid == 0 || gid == 0) {
		return err_set(e, ERR_INVALID,
		    "refusing to run the worker with uid "
		    "%u, gid %u", (unsigned)uid, (unsigned)gid);
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		return err_set(e, ERR_SYSTEM,
		    "cannot switch to uid %u, gid %u: %s",
		    (unsigned)uid, (unsigned)gid, strerror(errno));
	}
	/* Trust, but verify: all three ids, and no way back. */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		return err_set(e, ERR_REFUSED, "uid/gid switch did not take");
	}
	if (setuid(0) != -1) {
		return err_set(e, ERR_REFUSED,
		    "privileges could be regained after "
		    "dropping them");
	}
	return 0;
}

int
sandbox_enter(const struct sandbox_opts *o, struct err *e)
{
	const int root = geteuid() == 0;

#if defined(SANDBOX_SANITIZER)
	sanitizer_prepare();
#endif
	if (root && o->chroot_dir != NULL &&
	    enter_root(o->chroot_dir, e) == -1)
		return -1;
	if (root && o->drop && drop_ids(o->uid, o->gid, e) == -1)
		return -1;
	/* Set by seccomp_load too (SCMP_FLTATR_CTL_NNP); say it here. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		return err_set(e, ERR_SYSTEM, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	}
	return load_filter(e);
}

int
sandbox_verify(const char *path, struct err *e)
{
	int fd;

	/*
	 * Only the filter's own EACCES proves it is there: ENOENT would
	 * come from the chroot alone, or from a missing file.
	 */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		close(fd);
		return err_set(e, ERR_REFUSED,
		    "sandbox check: %s can be opened", path);
	}
	if (errno != EACCES) {
		return err_set(e, ERR_SYSTEM,
		    "sandbox check: %s: %s, not refused",
		    path, strerror(errno));
	}
	/*
	 * EACCES may also be the permissions of a 0700 root directory seen
	 * by the dropped uid.  Only the filter refuses a Unix socket.
	 */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		close(fd);
		return err_set(e, ERR_REFUSED,
		    "sandbox check: a Unix socket can be "
		    "made");
	}
	if (errno != EACCES) {
		return err_set(e, ERR_REFUSED,
		    "sandbox check: Unix socket: %s, not "
		    "refused", strerror(errno));
	}
	return 0;
}

int
sandbox_protect_memory(struct err *e)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		return err_set(e, ERR_SYSTEM, "prctl: %s", strerror(errno));
	}
	/* prctl reports success for values it ignores; read it back. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		return err_set(e, ERR_REFUSED,
		    "prctl: protection did not take");
	}
	return 0;
}
