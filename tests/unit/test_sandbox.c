/*
 * test_sandbox.c: the worker sandbox, entered for real in a child process.
 * What it refuses (files, execve, other socket families, executable
 * memory), what still works (TCP out and in, socketpairs, fcntl), what
 * kills (a system call outside the list), and what the kernel says about
 * the child (seccomp mode, no_new_privs, uid, root directory).  Run as
 * root, the child also chroots to a fresh empty directory and becomes
 * nobody.
 *
 * A sandboxed child must not call Check (its channel to the runner is a
 * file): it reports in lines on a pipe, "FAIL ..." or a final "OK", and
 * leaves with _exit.  Every check in a child is one that a child outside
 * the sandbox fails: the file opens, execve runs /bin/true (no "OK"),
 * bind succeeds (no SIGSYS).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/ssl.h>

#include "err.h"
#include "sandbox.h"
#include "suites.h"

/* A file any process can open outside the sandbox. */
#define READABLE	"/etc/passwd"
/* The development PKI (make certs). */
#define CERTS		"certs/dev/"

struct kid {
	pid_t	 pid;
	int	 rfd;		/* its report */
	int	 gofd;		/* a byte here lets it go on */
};

/* What the child's checks use, set up by the parent before the fork. */
struct net {
	int			 listener;	/* TCP, 127.0.0.1 */
	struct sockaddr_in	 addr;		/* where it listens */
	int			 sp[2];		/* a socketpair */
};

typedef void (*kid_body)(int out, void *arg);

static char basedir[64];	/* when root: a private scratch directory */
static char rootdir[80];	/* in it: the child's chroot, "root" */
static struct sandbox_opts opts;

static void say(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/* In a child: report what failed (with errno) and leave. */
#define EXPECT(out, cond) do {						\
	if (!(cond)) {							\
		say(out, "FAIL line %d: %s (errno: %s)\n", __LINE__,	\
		    #cond, strerror(errno));				\
		_exit(1);						\
	}								\
} while (0)

/*
 * Once per run, in the runner (an unchecked fixture), so that a failed
 * test cannot leave its directories behind.
 */
static void
setup(void)
{
	struct passwd *pw;

	memset(&opts, 0, sizeof(opts));
	basedir[0] = rootdir[0] = '\0';
	if (geteuid() != 0)
		return;
	snprintf(basedir, sizeof(basedir), "/tmp/eppgw-sandbox.XXXXXX");
	if (mkdtemp(basedir) == NULL) {
		perror("test_sandbox: mkdtemp");
		abort();
	}
	/*
	 * root's, empty: what sandbox_check_dir wants.  0755 as
	 * sandbox_check_dir makes it: in a 0700 root, nobody's lookups fail
	 * with EACCES even without the filter, and the checks would prove
	 * nothing.
	 */
	snprintf(rootdir, sizeof(rootdir), "%s/root", basedir);
	if (mkdir(rootdir, 0755) == -1 || chmod(rootdir, 0755) == -1) {
		perror("test_sandbox: mkdir");
		abort();
	}
	opts.chroot_dir = rootdir;
	pw = getpwnam("nobody");
	opts.uid = pw != NULL ? pw->pw_uid : 65534;
	opts.gid = pw != NULL ? pw->pw_gid : 65534;
	opts.drop = 1;
}

/* All that check_dir_rules may have left, then the rest. */
static void
teardown(void)
{
	static const char *const left[] = {
		"new/f", "new", "link", "file", "root",
	};
	char p[128];

	if (basedir[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", basedir, left[i]);
		if (unlink(p) == -1)
			rmdir(p);
	}
	rmdir(basedir);
}

/*
 * The child: start-up (pre, may be NULL), sandbox, "ready", wait for the
 * parent's look, then body.
 */
static void
kid_main(const struct sandbox_opts *o, int out, int go, kid_body pre,
    kid_body body, void *arg)
{
	char c;
	struct err e = ERR_INIT;

	if (pre != NULL)
		pre(out, arg);
	if (sandbox_enter(o, &e) == -1) {
		say(out, "FAIL sandbox_enter: %s\n", err_msg(&e));
		_exit(1);
	}
	say(out, "ready\n");
	if (read(go, &c, 1) != 1)
		_exit(1);
	body(out, arg);
	say(out, "OK\n");
	_exit(0);
}

static void
kid_start(struct kid *k, const struct sandbox_opts *o, kid_body pre,
    kid_body body, void *arg)
{
	int rep[2], go[2];

	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(go), 0);
	k->pid = fork();
	ck_assert_int_ne(k->pid, -1);
	if (k->pid == 0) {
		close(rep[0]);
		close(go[1]);
		kid_main(o, rep[1], go[0], pre, body, arg);
	}
	close(rep[1]);
	close(go[0]);
	k->rfd = rep[0];
	k->gofd = go[1];
}

/* The child's first line: "ready", or why not. */
static void
kid_ready(struct kid *k)
{
	char line[512];
	size_t n = 0;

	while (n < sizeof(line) - 1 && read(k->rfd, line + n, 1) == 1 &&
	    line[n] != '\n')
		n++;
	line[n] = '\0';
	ck_assert_msg(strcmp(line, "ready") == 0, "child: %s", line);
}

/* Let it go on; its whole report and wait status. */
static int
kid_finish(struct kid *k, char *report, size_t len)
{
	size_t n = 0;
	ssize_t r;
	int status;

	ck_assert_int_eq(write(k->gofd, "g", 1), 1);
	close(k->gofd);
	while (n < len - 1 && (r = read(k->rfd, report + n, len - 1 - n)) > 0)
		n += (size_t)r;
	report[n] = '\0';
	close(k->rfd);
	ck_assert_int_eq(waitpid(k->pid, &status, 0), k->pid);
	return status;
}

static void
kid_expect_ok(struct kid *k)
{
	char report[1024];
	int status = kid_finish(k, report, sizeof(report));

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strcmp(report, "OK\n") == 0, "child status %#x: %s", status,
	    report);
}

/* The child was killed by the filter: SIGSYS, before its "OK". */
static void
kid_expect_killed(struct kid *k)
{
	char report[1024];
	int status = kid_finish(k, report, sizeof(report));

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "child status %#x, not SIGSYS: %s", status, report);
	ck_assert_ptr_null(strstr(report, "OK"));
}

/* /proc/PID/status, as the parent sees it (unit_slurp() would trust the
 * size procfs reports: 0). */
static char *
proc_status(pid_t pid)
{
	char path[64], *buf;
	size_t n = 0, cap = 8192;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_ptr_nonnull(buf = malloc(cap));
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
body_relay(int out, void *arg)
{
	struct net *nt = arg;
	char c = 0;
	int s, a, fl;

	/* The self check, and what it stands for. */
	{
		struct err e = ERR_INIT;

		EXPECT(out, sandbox_verify(READABLE, &e) == 0);
	}
	errno = 0;
	EXPECT(out, open(READABLE, O_RDONLY) == -1 && errno == EACCES);
	EXPECT(out, openat(AT_FDCWD, READABLE, O_RDONLY) == -1 &&
	    errno == EACCES);
	EXPECT(out, mkdir("/x", 0700) == -1 && errno == EACCES);
	EXPECT(out, unlink("/x") == -1 && errno == EACCES);

	/* Out over TCP, and in: connect to the parent's listener, accept. */
	EXPECT(out, (s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	EXPECT(out, connect(s, (struct sockaddr *)&nt->addr,
	    sizeof(nt->addr)) == 0);
	EXPECT(out, (a = accept(nt->listener, NULL, NULL)) != -1);
	EXPECT(out, write(s, "t", 1) == 1);
	EXPECT(out, read(a, &c, 1) == 1 && c == 't');
	EXPECT(out, shutdown(s, SHUT_WR) == 0);
	EXPECT(out, read(a, &c, 1) == 0);
	close(a);
	close(s);
	EXPECT(out, (s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) != -1 || errno == EAFNOSUPPORT);
	if (s != -1)
		close(s);

	/* The parent's socketpair (the worker's channel to the parent). */
	EXPECT(out, write(nt->sp[0], "p", 1) == 1);
	EXPECT(out, read(nt->sp[1], &c, 1) == 1 && c == 'p');

	/* Descriptor flags, as libevent sets them; no dup. */
	EXPECT(out, (fl = fcntl(nt->sp[0], F_GETFL)) != -1);
	EXPECT(out, fcntl(nt->sp[0], F_SETFL, fl | O_NONBLOCK) == 0);
	EXPECT(out, fcntl(nt->sp[0], F_SETFD, FD_CLOEXEC) == 0);
	EXPECT(out, fcntl(nt->sp[0], F_DUPFD, 0) == -1 && errno == EINVAL);
	EXPECT(out, fcntl(nt->sp[0], F_DUPFD_CLOEXEC, 0) == -1 &&
	    errno == EINVAL);

	/* Other socket families: refused, not fatal. */
	EXPECT(out, socket(AF_UNIX, SOCK_STREAM, 0) == -1 && errno == EACCES);
	EXPECT(out, socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) == -1 &&
	    errno == EACCES);
	EXPECT(out, socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EACCES);
	EXPECT(out, socket(AF_PACKET, SOCK_RAW, 0) == -1 && errno == EACCES);

	/* Memory: yes; executable memory: no. */
	{
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		EXPECT(out, p != MAP_FAILED);
		EXPECT(out, mprotect(p, 4096, PROT_READ | PROT_EXEC) == -1 &&
		    errno == EACCES);
		EXPECT(out, munmap(p, 4096) == 0);
		EXPECT(out, mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
		    errno == EACCES);
		EXPECT(out, (p = malloc(1 << 20)) != NULL);
		free(p);
	}
}

START_TEST(confined_relay_works)
{
	struct net nt;
	struct kid k;
	socklen_t alen = sizeof(nt.addr);
	char *st, want[64];

	memset(&nt, 0, sizeof(nt));
	nt.addr.sin_family = AF_INET;
	nt.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(nt.listener = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(nt.listener, (struct sockaddr *)&nt.addr,
	    sizeof(nt.addr)), 0);
	ck_assert_int_eq(listen(nt.listener, 4), 0);
	ck_assert_int_eq(getsockname(nt.listener, (struct sockaddr *)&nt.addr,
	    &alen), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, nt.sp), 0);

	kid_start(&k, &opts, NULL, body_relay, &nt);
	kid_ready(&k);
	/* What the kernel says about the child, while it waits. */
	st = proc_status(k.pid);
	ck_assert_msg(strstr(st, "\nSeccomp:\t2\n") != NULL, "%s", st);
	ck_assert_msg(strstr(st, "\nNoNewPrivs:\t1\n") != NULL, "%s", st);
	if (opts.drop) {
		char link[64], target[PATH_MAX], real[PATH_MAX];
		ssize_t n;

		snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n",
		    (unsigned)opts.uid, (unsigned)opts.uid,
		    (unsigned)opts.uid, (unsigned)opts.uid);
		ck_assert_msg(strstr(st, want) != NULL, "%s", st);
		snprintf(want, sizeof(want), "\nGroups:\t%u \n",
		    (unsigned)opts.gid);
		ck_assert_msg(strstr(st, want) != NULL, "%s", st);
		/* Its root is the empty directory. */
		snprintf(link, sizeof(link), "/proc/%d/root", (int)k.pid);
		ck_assert_int_gt(n = readlink(link, target,
		    sizeof(target) - 1), 0);
		target[n] = '\0';
		ck_assert_ptr_nonnull(realpath(rootdir, real));
		ck_assert_str_eq(target, real);
	}
	free(st);
	kid_expect_ok(&k);
	close(nt.listener);
	close(nt.sp[0]);
	close(nt.sp[1]);
}
END_TEST

/*
 * What a worker does, in miniature: everything loaded before the sandbox
 * (event base, TLS contexts with their certificates and CA, a listener),
 * then in it a mutual-TLS exchange through bufferevent_openssl on the
 * epoll loop, the reply parsed with libxml2 and logged with jansson.
 * A system call the list forgot kills the child (SIGSYS); a file a library
 * reaches for must fail cleanly.
 */
struct mini {
	struct event_base	*base;
	SSL_CTX			*sctx, *cctx;
	int			 listener;
	struct sockaddr_in	 addr;
	struct bufferevent	*sb, *cb;
	char			 got[64];
	size_t			 ngot;
	int			 failed;
};

static SSL_CTX *
mini_ctx(int out, const SSL_METHOD *m, const char *who)
{
	char cert[128], key[128];
	SSL_CTX *ctx;

	snprintf(cert, sizeof(cert), CERTS "%s.pem", who);
	snprintf(key, sizeof(key), CERTS "%s.key", who);
	EXPECT(out, (ctx = SSL_CTX_new(m)) != NULL);
	EXPECT(out, SSL_CTX_use_certificate_chain_file(ctx, cert) == 1);
	EXPECT(out, SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) ==
	    1);
	EXPECT(out, SSL_CTX_load_verify_locations(ctx, CERTS "ca.pem",
	    NULL) == 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

static void
mini_pre(int out, void *arg)
{
	struct mini *m = arg;
	socklen_t alen = sizeof(m->addr);

	EXPECT(out, access(CERTS "ca.pem", R_OK) == 0);
	EXPECT(out, (m->base = event_base_new()) != NULL);
	EXPECT(out, strcmp(event_base_get_method(m->base), "epoll") == 0);
	m->sctx = mini_ctx(out, TLS_server_method(), "gateway");
	m->cctx = mini_ctx(out, TLS_client_method(), "registrar");
	memset(&m->addr, 0, sizeof(m->addr));
	m->addr.sin_family = AF_INET;
	m->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT(out, (m->listener = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	EXPECT(out, bind(m->listener, (struct sockaddr *)&m->addr,
	    sizeof(m->addr)) == 0);
	EXPECT(out, listen(m->listener, 4) == 0);
	EXPECT(out, getsockname(m->listener, (struct sockaddr *)&m->addr,
	    &alen) == 0);
}

/* The server answers what it reads with "pong:" and it. */
static void
mini_server_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	bufferevent_write(bev, "pong:", 5);
	bufferevent_write_buffer(bev, in);
}

static void
mini_client_read(struct bufferevent *bev, void *arg)
{
	struct mini *m = arg;

	m->ngot += bufferevent_read(bev, m->got + m->ngot,
	    sizeof(m->got) - 1 - m->ngot);
	m->got[m->ngot] = '\0';
	if (strstr(m->got, "</epp>") != NULL)
		event_base_loopbreak(m->base);
}

static void
mini_event(struct bufferevent *bev, short what, void *arg)
{
	struct mini *m = arg;

	/* The handshake is over: the client speaks first. */
	if (what & BEV_EVENT_CONNECTED) {
		if (bev == m->cb)
			bufferevent_write(bev, "<epp/></epp>", 12);
		return;
	}
	m->failed = what;
	event_base_loopbreak(m->base);
}

static void
body_mini(int out, void *arg)
{
	struct mini *m = arg;
	struct timeval tv = { 5, 0 };
	const char *hostile = "<!DOCTYPE x SYSTEM \"file://" READABLE "\">"
	    "<x>&ext;</x>";
	xmlDocPtr doc;
	json_t *j;
	char *js;
	int s, a;

	/* Upstream out, registrar in (the parent would pass it). */
	EXPECT(out, (s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) !=
	    -1);
	EXPECT(out, connect(s, (struct sockaddr *)&m->addr,
	    sizeof(m->addr)) == 0 || errno == EINPROGRESS);
	EXPECT(out, (a = accept(m->listener, NULL, NULL)) != -1);
	EXPECT(out, evutil_make_socket_nonblocking(a) == 0);
	EXPECT(out, (m->sb = bufferevent_openssl_socket_new(m->base, a,
	    SSL_new(m->sctx), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL);
	EXPECT(out, (m->cb = bufferevent_openssl_socket_new(m->base, s,
	    SSL_new(m->cctx), BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE)) != NULL);
	bufferevent_setcb(m->sb, mini_server_read, NULL, mini_event, m);
	bufferevent_setcb(m->cb, mini_client_read, NULL, mini_event, m);
	bufferevent_enable(m->sb, EV_READ | EV_WRITE);
	bufferevent_enable(m->cb, EV_READ | EV_WRITE);
	event_base_loopexit(m->base, &tv);
	EXPECT(out, event_base_dispatch(m->base) == 0);
	EXPECT(out, m->failed == 0);
	EXPECT(out, strcmp(m->got, "pong:<epp/></epp>") == 0);
	bufferevent_free(m->cb);
	bufferevent_free(m->sb);

	/* The reply (its first element) through libxml2. */
	EXPECT(out, (doc = xmlReadMemory(m->got + 5, 6, "reply.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) !=
	    NULL);
	xmlFreeDoc(doc);
	/*
	 * Options the gateway never uses make libxml2 open a file: it must
	 * come back with an error or a document, not die.
	 */
	doc = xmlReadMemory(hostile, (int)strlen(hostile), "h.xml", NULL,
	    XML_PARSE_DTDLOAD | XML_PARSE_NOENT | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	xmlFreeDoc(doc);

	/* A log line: jansson seeds its hash from /dev/urandom, refused. */
	EXPECT(out, (j = json_pack("{s:s, s:i}", "reply", m->got,
	    "code", 1000)) != NULL);
	EXPECT(out, (js = json_dumps(j, JSON_COMPACT)) != NULL);
	EXPECT(out, strstr(js, "pong:") != NULL);
	free(js);
	json_decref(j);
}

START_TEST(tls_relay_in_sandbox)
{
	struct mini m;
	struct kid k;

	memset(&m, 0, sizeof(m));
	kid_start(&k, &opts, mini_pre, body_mini, &m);
	kid_ready(&k);
	kid_expect_ok(&k);
}
END_TEST

static void
body_execve(int out, void *arg)
{
	char *argv[] = { "true", NULL };
	extern char **environ;

	(void)arg;
	/* Outside the sandbox this runs /bin/true: exit 0 without "OK". */
	EXPECT(out, execve("/bin/true", argv, environ) == -1 &&
	    errno == EACCES);
	EXPECT(out, execve("/bin/sh", argv, environ) == -1 && errno == EACCES);
}

START_TEST(execve_refused)
{
	struct kid k;

	kid_start(&k, &opts, NULL, body_execve, NULL);
	kid_ready(&k);
	kid_expect_ok(&k);
}
END_TEST

/* Outside the list: each of these kills the child. */
static void
body_forbidden(int out, void *arg)
{
	int which = *(int *)arg, s;
	struct sockaddr_in sin;

	switch (which) {
	case 0:
		/* A listener of its own: the parent owns them. */
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		EXPECT(out, (s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
		EXPECT(out, bind(s, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0);
		break;
	case 1:
		/* A signal to another process (its parent). */
		EXPECT(out, kill(getppid(), 0) == 0);
		break;
	case 2:
		/* An ioctl the relay does not need. */
		EXPECT(out, ioctl(out, FIOCLEX) == 0);
		break;
	case 3:
		/* A descriptor copied (dup is not on the list). */
		EXPECT(out, (s = dup(1)) != -1);
		break;
	}
}

START_TEST(outside_the_list_kills)
{
	struct kid k;
	int which = _i;

	kid_start(&k, &opts, NULL, body_forbidden, &which);
	kid_ready(&k);
	kid_expect_killed(&k);
}
END_TEST

START_TEST(verify_fails_closed)
{
	struct err e = ERR_INIT;

	/* Not sandboxed: the file opens, and a missing one is no proof. */
	ck_assert_int_eq(sandbox_verify(READABLE, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "can be opened"));
	ck_assert_int_eq(e.code, ERR_REFUSED);
	ck_assert_int_eq(sandbox_verify("/nonexistent/eppgw", &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "not refused"));
	ck_assert_int_eq(e.code, ERR_SYSTEM);
}
END_TEST

static void
body_protect(int out, void *arg)
{
	struct err e = ERR_INIT;

	(void)arg;
	EXPECT(out, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
	EXPECT(out, sandbox_protect_memory(&e) == 0);
	EXPECT(out, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	EXPECT(out, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
}

START_TEST(protect_memory)
{
	int rep[2], status;
	char report[512];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(rep[0]);
		body_protect(rep[1], NULL);
		say(rep[1], "OK\n");
		_exit(0);
	}
	close(rep[1]);
	ck_assert_int_ge(n = read(rep[0], report, sizeof(report) - 1), 0);
	report[n] = '\0';
	close(rep[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strcmp(report, "OK\n") == 0, "child: %s", report);
}
END_TEST

/* A sandbox_enter that must fail, in a child (it may have changed ids). */
static void
expect_enter_fails(const struct sandbox_opts *o, const char *why)
{
	int rep[2], status;
	char report[512];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		struct err e = ERR_INIT;

		close(rep[0]);
		if (sandbox_enter(o, &e) == 0) {
			say(rep[1], "entered");
			_exit(1);
		}
		say(rep[1], "%s", err_msg(&e));
		_exit(0);
	}
	close(rep[1]);
	ck_assert_int_ge(n = read(rep[0], report, sizeof(report) - 1), 0);
	report[n] = '\0';
	close(rep[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strstr(report, why) != NULL, "want \"%s\": %s", why, report);
}

START_TEST(check_dir_rules)
{
	char dir[PATH_MAX], sub[PATH_MAX + 8];
	struct err e = ERR_INIT;
	struct sandbox_opts o;
	struct stat st;
	mode_t mask;
	int fd;

	if (geteuid() != 0) {
		/* Never used when not root, so never looked at. */
		ck_assert_int_eq(sandbox_check_dir("/nonexistent/eppgw", &e),
		    0);
		return;
	}
	mask = umask(022);
	snprintf(dir, sizeof(dir), "%s/new", basedir);
	/* Missing: made, 0755, and fine. */
	ck_assert_msg(sandbox_check_dir(dir, &e) == 0, "%s",
	    err_msg(&e));
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(sandbox_check_dir(dir, &e), 0);

	/* Not empty. */
	snprintf(sub, sizeof(sub), "%s/f", dir);
	ck_assert_int_ne(fd = open(sub, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	ck_assert_int_eq(sandbox_check_dir(dir, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "not empty"));
	ck_assert_int_eq(e.code, ERR_INVALID);
	/* sandbox_enter checks again, on what it enters. */
	memset(&o, 0, sizeof(o));
	o.chroot_dir = dir;
	expect_enter_fails(&o, "not empty");
	ck_assert_int_eq(unlink(sub), 0);

	/* Writable by group, by others. */
	ck_assert_int_eq(chmod(dir, 0775), 0);
	ck_assert_int_eq(sandbox_check_dir(dir, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "writable"));
	ck_assert_int_eq(chmod(dir, 0757), 0);
	ck_assert_int_eq(sandbox_check_dir(dir, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "writable"));
	ck_assert_int_eq(chmod(dir, 0755), 0);

	/* Not root's. */
	ck_assert_int_eq(chown(dir, opts.uid, opts.gid), 0);
	ck_assert_int_eq(sandbox_check_dir(dir, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "not root"));
	ck_assert_int_eq(chown(dir, 0, 0), 0);

	/* A symbolic link to a good directory, and a file. */
	snprintf(sub, sizeof(sub), "%s/link", basedir);
	ck_assert_int_eq(symlink(dir, sub), 0);
	ck_assert_int_eq(sandbox_check_dir(sub, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "symbolic link"));
	ck_assert_int_eq(unlink(sub), 0);
	snprintf(sub, sizeof(sub), "%s/file", basedir);
	ck_assert_int_ne(fd = open(sub, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	ck_assert_int_eq(sandbox_check_dir(sub, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "Not a directory"));
	ck_assert_int_eq(unlink(sub), 0);

	/* No parent to make it in. */
	snprintf(sub, sizeof(sub), "%s/no/such", basedir);
	ck_assert_int_eq(sandbox_check_dir(sub, &e), -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "cannot create"));
	ck_assert_int_eq(e.code, ERR_SYSTEM);

	ck_assert_int_eq(rmdir(dir), 0);
	umask(mask);
}
END_TEST

START_TEST(no_drop_to_root)
{
	struct sandbox_opts o = opts;

	if (geteuid() != 0)
		return;
	o.uid = 0;
	expect_enter_fails(&o, "refusing");
	o = opts;
	o.gid = 0;
	expect_enter_fails(&o, "refusing");
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("sandbox");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, confined_relay_works);
	tcase_add_test(tc, tls_relay_in_sandbox);
	tcase_add_test(tc, execve_refused);
	tcase_add_loop_test(tc, outside_the_list_kills, 0, 4);
	tcase_add_test(tc, verify_fails_closed);
	tcase_add_test(tc, protect_memory);
	tcase_add_test(tc, check_dir_rules);
	tcase_add_test(tc, no_drop_to_root);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(sandbox_suite)
