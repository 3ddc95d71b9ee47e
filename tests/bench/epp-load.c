/*
 * epp-load: an EPP (RFC 5730/5734) load generator for `make bench`.
 *
 * One thread, one epoll set, non-blocking OpenSSL.  Every session connects,
 * completes a mutual-TLS handshake (the server certificate is verified
 * against --ca and the host name --servername), reads the greeting, logs in
 * and then waits.  Only when every session is logged in does the clock
 * start, so handshakes never pollute the command figures.  Then each session
 * loops: send the command with a fresh clTRID stamped in, read the response,
 * check it (result code 1xxx, clTRID echoed), record the latency.  There is
 * at most one command in flight per session, as with a real EPP client.
 *
 * Output: one machine-readable line on stdout, human text on stderr.
 *
 * With several --cmd files each session sends them in turn (session i starts
 * at file i mod the count), so that at any moment the mix is even.
 *
 * With --idle N the tool only opens and logs in N sessions, prints a "ready"
 * line, and holds them open so that the caller can read the target's memory.
 *
 * With --churn each of the -n sessions loops over a whole connection:
 * connect, TLS handshake (full: no resumption), greeting, login, logout,
 * the server's 1500 reply, close; the figures are then per connection
 * (conns_per_s, the latency of a whole cycle, CPU and context switches per
 * connection).
 *
 * For every --pid the tool reads, at the boundaries of the measured phase,
 * utime + stime (/proc/PID/stat) and the context switches (voluntary +
 * nonvoluntary, /proc/PID/task/TID/status summed over the threads) of the
 * process and of its children, and reports them per command (connection).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "frame.h"

#define READ_CHUNK	16384
#define MAX_PIDS	4
#define MAX_CMDS	8
#define MAX_EVENTS	256
#define SETUP_TIMEOUT_S	60
#define TRID_PLACEHOLDER "@@CLTRID@@"
/* Fixed width so that every command frame has the same length. */
#define TRID_FMT	"bench-%06u-%010u"
#define TRID_LEN	23	/* "bench-" + 6 + "-" + 10 */
#define FAIL_LOG_MAX	5

enum state {
	ST_NEW,		/* not started yet (ramp-up) */
	ST_CONNECTING,	/* non-blocking connect() in progress */
	ST_HANDSHAKE,
	ST_GREETING,	/* waiting for the server's greeting */
	ST_LOGIN,	/* <login> sent or being sent, waiting for the reply */
	ST_READY,	/* logged in, waiting for the clock to start */
	ST_CMD,		/* command loop */
	ST_LOGOUT,	/* --churn: <logout> sent, waiting for its 1500 */
	ST_CLOSED,
	ST_FAILED
};

enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_HOLD, PH_END };

struct session {
	int		 fd;
	SSL		*ssl;
	enum state	 st;
	unsigned	 id;
	uint32_t	 seq;
	uint32_t	 events;	/* current epoll interest */
	int		 registered;	/* fd is in the epoll set */
	int		 readable;	/* epoll said EPOLLIN since the last read */
	struct frame_decoder *dec;
	uint8_t		*out;		/* the frame being sent */
	size_t		 out_len, out_off, out_cap;
	uint64_t	 t_sent;	/* ns, CLOCK_MONOTONIC; --churn: connect() */
	char		 trid[TRID_LEN + 1];
};

struct pid_watch {
	char		 name[32];
	pid_t		 pid;
	uint64_t	 ticks0, ticks1;
	uint64_t	 csw0, csw1;	/* voluntary + nonvoluntary, all tasks */
	int		 ok;
};

struct options {
	const char	*connect, *cert, *key, *ca;
	const char	*cmd_files[MAX_CMDS];
	unsigned	 ncmds;
	const char	*servername, *login, *label;
	unsigned	 sessions, idle, ramp;
	double		 seconds, warmup, hold;
	int		 quiet, churn;
	struct pid_watch pids[MAX_PIDS];
	unsigned	 npids;
};

struct latencies {
	uint32_t	*ns;		/* capped at UINT32_MAX ns (4.3 s) */
	size_t		 n, cap;
};

struct load {
	struct options	 o;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	SSL_CTX		*ctx;
	int		 ep;
	struct session	*s;
	unsigned	 n;
	/* The command templates, split around the clTRID placeholder. */
	struct cmd_tmpl {
		char	*xml;
		size_t	 pre, post_off, post_len;
	}		 cmds_t[MAX_CMDS];
	uint8_t		*login_frame, *logout_frame;
	size_t		 login_len, logout_len;
	enum phase	 phase;
	unsigned	 next_start, in_setup, logged_in, failed, fail_logged;
	uint64_t	 t_start, t_phase_end, t_ready;
	/* Measured phase only. */
	uint64_t	 cmds, bad, errors;
	struct latencies lat;
	struct rusage	 ru0, ru1;
	uint64_t	 sys_busy0, sys_total0, sys_busy1, sys_total1;
	uint64_t	 t_meas0, t_meas1;
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
say(const struct load *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct load *L, const char *fmt, ...)
{
	va_list ap;

	if (L->o.quiet)
		return;
	va_start(ap, fmt);
	fputs("epp-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
ssl_errors_to_stderr(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "epp-load:   %s\n", buf);
	}
}

/* Byte search: payloads are not NUL-terminated; memmem is a GNU extension. */
static const uint8_t *
find_bytes(const uint8_t *hay, size_t hlen, const char *needle, size_t nlen)
{
	const uint8_t *p = hay, *end = hay + hlen;

	if (nlen == 0)
		return NULL;
	while ((size_t)(end - p) >= nlen &&
	    (p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1)) != NULL) {
		if (memcmp(p, needle, nlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* The first result code in a response, or -1.  Prefix-agnostic (epp:result). */
static int
result_code(const uint8_t *xml, size_t len)
{
	static const char tag[] = "result code=\"";
	const uint8_t *p = find_bytes(xml, len, tag, sizeof(tag) - 1);
	int code = 0, i;

	if (p == NULL)
		return -1;
	p += sizeof(tag) - 1;
	if ((size_t)(xml + len - p) < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	return code;
}

/* --- latency bookkeeping ------------------------------------------------ */

static int
lat_add(struct latencies *l, uint64_t ns)
{
	uint32_t *n;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 65536;
		if ((n = realloc(l->ns, cap * sizeof(*n))) == NULL)
			return -1;
		l->ns = n;
		l->cap = cap;
	}
	l->ns[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double
lat_pct_us(const struct latencies *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	i = (size_t)(p * (double)l->n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > l->n)
		i = l->n;
	return l->ns[i - 1] / 1000.0;
}

/* --- /proc readers (CPU of other processes over the measured phase) ---- */

/*
 * The fields of /proc/PID/stat after the ")" closing comm (p points at that
 * ")"'s successor): " S ppid pgrp session tty_nr tpgid flags minflt
 * cminflt majflt cmajflt utime stime ...".  Takes ppid, utime and stime.
 */
static int
stat_times(const char *p, long *ppid, unsigned long long *ut,
    unsigned long long *st)
{
	char *end;

	if (p[0] == '\0' || p[1] == '\0')
		return -1;
	p += 2;				/* the blank and the state letter */
	*ppid = strtol(p, &end, 10);
	if (end == p)
		return -1;
	for (int i = 0; i < 9; i++) {	/* pgrp .. cmajflt */
		p = end;
		(void)strtoll(p, &end, 10);
		if (end == p)
			return -1;
	}
	p = end;
	*ut = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	p = end;
	*st = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

/* The number after key at the start of a /proc/PID/status line. */
static int
status_ull(const char *line, const char *key, unsigned long long *v)
{
	size_t k = strlen(key);
	char *end;

	if (strncmp(line, key, k) != 0)
		return -1;
	*v = strtoull(line + k, &end, 10);
	return end == line + k ? -1 : 0;
}

/* utime + stime and the parent of one process, in clock ticks. */
static int
one_ticks(pid_t pid, uint64_t *ticks, long *ppid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	if ((p = strrchr(buf, ')')) != NULL &&
	    stat_times(p + 1, ppid, &ut, &st) == 0) {
		*ticks = ut + st;
		rc = 0;
	}
	fclose(f);
	return rc;
}

/*
 * Context switches (voluntary + nonvoluntary) of every thread of a
 * process: /proc/PID/status counts only the thread it names, so sum
 * /proc/PID/task/TID/status.  A thread that exited between two readings
 * takes its count with it; the relays measured here keep their threads.
 */
static uint64_t
one_csw(pid_t pid)
{
	char path[96], line[128];
	struct dirent *de;
	unsigned long long v;
	uint64_t sum = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/status",
		    (long)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (status_ull(line, "voluntary_ctxt_switches:",
			    &v) == 0 ||
			    status_ull(line, "nonvoluntary_ctxt_switches:",
			    &v) == 0)
				sum += v;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/*
 * utime + stime (clock ticks) and context switches of a process and of its
 * children: eppgw is a parent with its workers, vault, audit writer and
 * alerter (proc.h), and its cost per command is theirs together.
 */
static int
proc_ticks(pid_t pid, uint64_t *ticks, uint64_t *csw)
{
	struct dirent *de;
	uint64_t t;
	long ppid;
	DIR *d;

	if (one_ticks(pid, ticks, &ppid) != 0)
		return -1;
	*csw = one_csw(pid);
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long c = strtol(de->d_name, &end, 10);

		if (*end != '\0' || c <= 0 || c == (long)pid)
			continue;
		if (one_ticks((pid_t)c, &t, &ppid) == 0 && ppid == (long)pid) {
			*ticks += t;
			*csw += one_csw((pid_t)c);
		}
	}
	closedir(d);
	return 0;
}

/* Whole-machine busy and total jiffies from the first line of /proc/stat. */
static int
proc_busy(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f;
	int n, i;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return -1;
	*total = 0;
	for (i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4];	/* minus idle and iowait */
	return 0;
}

/* --- sessions ----------------------------------------------------------- */

static void
session_interest(struct load *L, struct session *s, uint32_t ev)
{
	struct epoll_event e;

	if (s->registered && s->events == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = s;
	if (epoll_ctl(L->ep, s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    s->fd, &e) == 0) {
		s->registered = 1;
		s->events = ev;
	}
}

static void
session_close(struct load *L, struct session *s, enum state final)
{
	int was_setup = s->st >= ST_CONNECTING && s->st < ST_READY;

	if (s->ssl != NULL) {
		/* One non-blocking close_notify; we do not wait for the peer's. */
		if (s->st >= ST_GREETING && final == ST_CLOSED)
			(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);	/* also leaves the epoll set */
		s->fd = -1;
	}
	if (was_setup)
		L->in_setup--;
	if (s->st == ST_READY || s->st == ST_CMD || s->st == ST_LOGOUT)
		L->logged_in--;
	s->registered = 0;
	s->st = final;
}

static void
session_fail(struct load *L, struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
session_fail(struct load *L, struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (L->fail_logged < FAIL_LOG_MAX) {
		fprintf(stderr, "epp-load: session %u: ", s->id);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		ssl_errors_to_stderr();
		if (++L->fail_logged == FAIL_LOG_MAX)
			fprintf(stderr, "epp-load: (further failures not shown)\n");
	}
	ERR_clear_error();
	/* Past setup, a lost session skews the run: always count it. */
	if (L->phase != PH_SETUP)
		L->errors++;
	L->failed++;
	session_close(L, s, ST_FAILED);
}

static int
out_reserve(struct session *s, size_t len)
{
	uint8_t *p;

	if (len <= s->out_cap)
		return 0;
	if ((p = realloc(s->out, len)) == NULL)
		return -1;
	s->out = p;
	s->out_cap = len;
	return 0;
}

static int
queue_login(struct load *L, struct session *s)
{
	if (out_reserve(s, L->login_len) == -1)
		return -1;
	memcpy(s->out, L->login_frame, L->login_len);
	s->out_len = L->login_len;
	s->out_off = 0;
	return 0;
}

static int
queue_logout(struct load *L, struct session *s)
{
	if (out_reserve(s, L->logout_len) == -1)
		return -1;
	memcpy(s->out, L->logout_frame, L->logout_len);
	s->out_len = L->logout_len;
	s->out_off = 0;
	return 0;
}

/*
 * Build the next command frame: header, template with a fresh clTRID.
 * Several templates take turns, each session starting at its own.
 */
static int
queue_command(struct load *L, struct session *s)
{
	const struct cmd_tmpl *c =
	    &L->cmds_t[(s->id + s->seq) % L->o.ncmds];
	size_t payload = c->pre + TRID_LEN + c->post_len;
	uint8_t *p;

	if (out_reserve(s, FRAME_HEADER_LEN + payload) == -1)
		return -1;
	snprintf(s->trid, sizeof(s->trid), TRID_FMT, s->id, ++s->seq);
	p = s->out;
	(void)frame_header_write(p, payload);
	p += FRAME_HEADER_LEN;
	memcpy(p, c->xml, c->pre);
	p += c->pre;
	memcpy(p, s->trid, TRID_LEN);
	p += TRID_LEN;
	memcpy(p, c->xml + c->post_off, c->post_len);
	s->out_len = FRAME_HEADER_LEN + payload;
	s->out_off = 0;
	s->t_sent = now_ns();
	return 0;
}

static int
command_ok(const struct session *s, const uint8_t *xml, size_t len)
{
	char needle[TRID_LEN + 3];
	int code = result_code(xml, len);

	if (code < 1000 || code > 1999)
		return 0;
	/* ">TRID<" matches <clTRID> with or without a namespace prefix. */
	snprintf(needle, sizeof(needle), ">%s<", s->trid);
	return find_bytes(xml, len, needle, TRID_LEN + 2) != NULL;
}

static void
on_response(struct load *L, struct session *s, const uint8_t *xml, size_t len)
{
	uint64_t t = now_ns();

	if (L->phase == PH_MEASURE) {
		if (!command_ok(s, xml, len))
			L->bad++;
		L->cmds++;
		if (lat_add(&L->lat, t - s->t_sent) == -1)
			L->errors++;
	}
	if (L->phase == PH_WARMUP || L->phase == PH_MEASURE) {
		if (queue_command(L, s) == -1)
			session_fail(L, s, "out of memory");
	} else
		session_close(L, s, ST_CLOSED);
}

/* A complete frame arrived; returns -1 if the session was closed. */
static int
on_frame(struct load *L, struct session *s, const uint8_t *xml, size_t len)
{
	int code;

	switch (s->st) {
	case ST_GREETING:
		if (find_bytes(xml, len, "greeting>", 9) == NULL) {
			session_fail(L, s, "first frame is not a <greeting>");
			return -1;
		}
		if (queue_login(L, s) == -1) {
			session_fail(L, s, "out of memory");
			return -1;
		}
		s->st = ST_LOGIN;
		return 0;
	case ST_LOGIN:
		if ((code = result_code(xml, len)) != 1000) {
			session_fail(L, s, "login refused: result code %d", code);
			return -1;
		}
		s->st = ST_READY;
		L->in_setup--;
		L->logged_in++;
		if (L->o.churn) {
			if (queue_logout(L, s) == -1) {
				session_fail(L, s, "out of memory");
				return -1;
			}
			s->st = ST_LOGOUT;
		}
		return 0;
	case ST_LOGOUT:
		/* One whole connection done; ramp_up starts the next one. */
		if ((code = result_code(xml, len)) != 1500) {
			session_fail(L, s, "logout: result code %d", code);
			return -1;
		}
		if (L->phase == PH_MEASURE) {
			L->cmds++;
			if (lat_add(&L->lat, now_ns() - s->t_sent) == -1)
				L->errors++;
		}
		session_close(L, s, ST_CLOSED);
		return -1;
	case ST_CMD:
		on_response(L, s, xml, len);
		return s->st == ST_CMD ? 0 : -1;
	default:
		/* Nothing is expected before the clock starts: flag it. */
		L->bad++;
		return 0;
	}
}

/* Feed one chunk of plaintext to the decoder; -1 if the session ended. */
static int
session_feed(struct load *L, struct session *s, const uint8_t *buf, size_t n)
{
	enum frame_status fst;
	const uint8_t *xml;
	size_t used, len;

	while (n > 0) {
		used = frame_decoder_feed(s->dec, buf, n, &fst);
		buf += used;
		n -= used;
		if (fst == FRAME_NEED_MORE)
			return 0;
		if (fst != FRAME_OK) {
			session_fail(L, s, "bad frame: %s", frame_status_str(fst));
			return -1;
		}
		xml = frame_decoder_payload(s->dec, &len);
		if (on_frame(L, s, xml, len) == -1)
			return -1;
		frame_decoder_next(s->dec);
	}
	return 0;
}

/*
 * Map an SSL_* return onto an epoll interest.  Returns 0 when the session
 * should wait, -1 when it failed (and was closed).
 */
static int
session_wait(struct load *L, struct session *s, int r, const char *op)
{
	int err = SSL_get_error(s->ssl, r);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		session_interest(L, s, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		session_interest(L, s, EPOLLOUT);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		session_fail(L, s, "%s: peer closed the session", op);
		return -1;
	case SSL_ERROR_SYSCALL:
		session_fail(L, s, "%s: %s", op,
		    errno ? strerror(errno) : "connection closed");
		return -1;
	default:
		session_fail(L, s, "%s: TLS error %d", op, err);
		return -1;
	}
}

static int
session_start_tls(struct load *L, struct session *s)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr != 0) {
		session_fail(L, s, "connect: %s", strerror(soerr));
		return -1;
	}
	if ((s->ssl = SSL_new(L->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1 ||
	    SSL_set_tlsext_host_name(s->ssl, L->o.servername) != 1 ||
	    SSL_set1_host(s->ssl, L->o.servername) != 1) {
		session_fail(L, s, "SSL_new");
		return -1;
	}
	SSL_set_connect_state(s->ssl);
	s->st = ST_HANDSHAKE;
	return 0;
}

/*
 * Drive a session as far as it goes without blocking.  Reads happen only
 * when epoll reported the socket readable or OpenSSL still holds buffered
 * bytes: a speculative SSL_read that ends in EAGAIN costs a syscall per
 * command, which matters at ~12 us per command.
 */
static void
session_drive(struct load *L, struct session *s, uint32_t ev)
{
	uint8_t buf[READ_CHUNK];
	int r;

	if (s->st == ST_NEW || s->st == ST_CLOSED || s->st == ST_FAILED)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		s->readable = 1;
	if (s->st == ST_CONNECTING) {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (session_start_tls(L, s) == -1)
			return;
	}
	if (s->st == ST_HANDSHAKE) {
		if ((r = SSL_connect(s->ssl)) != 1) {
			(void)session_wait(L, s, r, "handshake");
			return;
		}
		s->st = ST_GREETING;
	}
	for (;;) {
		while (s->out_off < s->out_len) {
			if ((r = SSL_write(s->ssl, s->out + s->out_off,
			    (int)(s->out_len - s->out_off))) <= 0) {
				(void)session_wait(L, s, r, "write");
				return;
			}
			s->out_off += (size_t)r;
		}
		s->out_off = s->out_len = 0;
		if (!s->readable && !SSL_has_pending(s->ssl)) {
			session_interest(L, s, EPOLLIN);
			return;
		}
		s->readable = 0;
		if ((r = SSL_read(s->ssl, buf, sizeof(buf))) <= 0) {
			(void)session_wait(L, s, r, "read");
			return;
		}
		if (session_feed(L, s, buf, (size_t)r) == -1)
			return;
	}
}

static void
session_connect(struct load *L, struct session *s)
{
	int one = 1;

	s->st = ST_CONNECTING;
	L->in_setup++;
	s->t_sent = now_ns();
	s->fd = socket(L->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		session_fail(L, s, "socket: %s", strerror(errno));
		return;
	}
	/* One command is one write: never let Nagle hold it back. */
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&L->addr, L->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		session_fail(L, s, "connect: %s", strerror(errno));
		return;
	}
	session_interest(L, s, EPOLLOUT);
}

/*
 * A --churn session starts its next connection afresh: new decoder (the
 * old one may hold the rest of the last frame), empty output.
 */
static void
session_restart(struct load *L, struct session *s)
{
	frame_decoder_free(s->dec);
	if ((s->dec = frame_decoder_new(FRAME_DEFAULT_MAX)) == NULL) {
		fprintf(stderr, "epp-load: out of memory\n");
		L->errors++;
		L->failed++;
		s->st = ST_FAILED;
		return;
	}
	s->out_len = s->out_off = 0;
	s->readable = 0;
	session_connect(L, s);
}

/* Keep at most --ramp sessions in setup so the listen backlog never overflows. */
static void
ramp_up(struct load *L)
{
	unsigned i;

	if (L->o.churn) {
		/* Outside the epoll batch: a closed session's last event is
		 * never taken for its next connection's. */
		if (L->phase != PH_WARMUP && L->phase != PH_MEASURE)
			return;
		for (i = 0; i < L->n && L->in_setup < L->o.ramp; i++)
			if (L->s[i].st == ST_NEW || L->s[i].st == ST_CLOSED)
				session_restart(L, &L->s[i]);
		return;
	}
	while (L->phase == PH_SETUP && L->next_start < L->n &&
	    L->in_setup < L->o.ramp)
		session_connect(L, &L->s[L->next_start++]);
}

/* --- phases ------------------------------------------------------------- */

static void
measure_snapshot(struct load *L, int end)
{
	struct pid_watch *w;
	unsigned i;

	for (i = 0; i < L->o.npids; i++) {
		w = &L->o.pids[i];
		if (!end)
			w->ok = proc_ticks(w->pid, &w->ticks0, &w->csw0) == 0;
		else if (w->ok)
			w->ok = proc_ticks(w->pid, &w->ticks1, &w->csw1) == 0;
	}
	if (!end) {
		getrusage(RUSAGE_SELF, &L->ru0);
		(void)proc_busy(&L->sys_busy0, &L->sys_total0);
		L->t_meas0 = now_ns();
	} else {
		L->t_meas1 = now_ns();
		getrusage(RUSAGE_SELF, &L->ru1);
		(void)proc_busy(&L->sys_busy1, &L->sys_total1);
	}
}

static void
start_commands(struct load *L)
{
	struct session *s;
	unsigned i;

	for (i = 0; i < L->n; i++) {
		s = &L->s[i];
		if (s->st != ST_READY)
			continue;
		s->st = ST_CMD;
		if (queue_command(L, s) == -1) {
			session_fail(L, s, "out of memory");
			continue;
		}
		session_drive(L, s, 0);
	}
}

static uint64_t
secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* Move between phases on time or on "everybody is logged in". */
static void
advance_phase(struct load *L)
{
	uint64_t t = now_ns();

	switch (L->phase) {
	case PH_SETUP:
		if (L->failed > 0) {
			L->phase = PH_END;
			return;
		}
		if (L->logged_in < L->n) {
			if (t - L->t_start > secs_ns(SETUP_TIMEOUT_S)) {
				fprintf(stderr, "epp-load: setup timed out: %u "
				    "of %u sessions logged in\n", L->logged_in,
				    L->n);
				L->failed++;
				L->phase = PH_END;
			}
			return;
		}
		L->t_ready = t;
		say(L, "%u sessions logged in after %.0f ms", L->n,
		    (double)(t - L->t_start) / 1e6);
		if (L->o.idle) {
			printf("ready sessions=%u setup_ms=%.0f\n", L->n,
			    (double)(t - L->t_start) / 1e6);
			fflush(stdout);
			L->phase = PH_HOLD;
			L->t_phase_end = t + secs_ns(L->o.hold);
			return;
		}
		L->phase = PH_WARMUP;
		L->t_phase_end = t + secs_ns(L->o.warmup);
		start_commands(L);
		return;
	case PH_WARMUP:
		if (t < L->t_phase_end)
			return;
		measure_snapshot(L, 0);
		L->phase = PH_MEASURE;
		L->t_phase_end = t + secs_ns(L->o.seconds);
		return;
	case PH_MEASURE:
		if (t < L->t_phase_end)
			return;
		measure_snapshot(L, 1);
		L->phase = PH_END;
		return;
	case PH_HOLD:
		if (t >= L->t_phase_end)
			L->phase = PH_END;
		return;
	case PH_END:
		return;
	}
}

static int
epoll_timeout_ms(const struct load *L)
{
	uint64_t t, left;

	if (L->phase == PH_SETUP)
		return 100;
	t = now_ns();
	if (t >= L->t_phase_end)
		return 0;
	left = (L->t_phase_end - t + 999999) / 1000000;
	return left > 1000 ? 1000 : (int)left;
}

static int
run_loop(struct load *L)
{
	struct epoll_event ev[MAX_EVENTS];
	int i, n;

	L->t_start = now_ns();
	if (L->o.churn) {
		/* No setup phase: connecting is what is measured. */
		L->t_ready = L->t_start;
		L->phase = PH_WARMUP;
		L->t_phase_end = L->t_start + secs_ns(L->o.warmup);
	}
	ramp_up(L);
	while (L->phase != PH_END) {
		if (stop_requested) {
			if (L->phase == PH_MEASURE)
				measure_snapshot(L, 1);
			break;
		}
		n = epoll_wait(L->ep, ev, MAX_EVENTS, epoll_timeout_ms(L));
		if (n == -1 && errno != EINTR) {
			perror("epp-load: epoll_wait");
			return -1;
		}
		for (i = 0; i < n; i++)
			session_drive(L, ev[i].data.ptr, ev[i].events);
		ramp_up(L);
		advance_phase(L);
	}
	return 0;
}

/* --- report ------------------------------------------------------------- */

static double
tv_us(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	    (double)(b->tv_usec - a->tv_usec);
}

static void
report(struct load *L)
{
	double secs = (double)(L->t_meas1 - L->t_meas0) / 1e9;
	double cmds = (double)L->cmds, self_us, busy = 0, tick_us;
	const char *unit = L->o.churn ? "conn" : "cmd";
	struct pid_watch *w;
	unsigned i;

	qsort(L->lat.ns, L->lat.n, sizeof(*L->lat.ns), cmp_u32);
	self_us = tv_us(&L->ru0.ru_utime, &L->ru1.ru_utime) +
	    tv_us(&L->ru0.ru_stime, &L->ru1.ru_stime);
	if (L->sys_total1 > L->sys_total0)
		busy = 100.0 * (double)(L->sys_busy1 - L->sys_busy0) /
		    (double)(L->sys_total1 - L->sys_total0);
	tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);
	if (L->o.label != NULL)
		printf("%s ", L->o.label);
	/* --churn: the unit is a connection (conns=, conns_per_s=, ...). */
	printf("sessions=%u secs=%.3f %ss=%llu %ss_per_s=%.0f p50_us=%.1f "
	    "p90_us=%.1f p99_us=%.1f max_us=%.1f bad=%llu errors=%llu "
	    "cpu_us_per_%s=%.1f busy_pct=%.0f", L->n, secs, unit,
	    (unsigned long long)L->cmds, unit, secs > 0 ? cmds / secs : 0,
	    lat_pct_us(&L->lat, 0.50), lat_pct_us(&L->lat, 0.90),
	    lat_pct_us(&L->lat, 0.99), lat_pct_us(&L->lat, 1.0),
	    (unsigned long long)L->bad, (unsigned long long)L->errors,
	    unit, cmds > 0 ? self_us / cmds : 0, busy);
	for (i = 0; i < L->o.npids; i++) {
		w = &L->o.pids[i];
		if (w->ok && cmds > 0)
			printf(" %s_cpu_us_per_%s=%.1f %s_csw_per_%s=%.2f",
			    w->name, unit,
			    (double)(w->ticks1 - w->ticks0) * tick_us / cmds,
			    w->name, unit,
			    (double)(w->csw1 - w->csw0) / cmds);
		else
			printf(" %s_cpu_us_per_%s=NA %s_csw_per_%s=NA",
			    w->name, unit, w->name, unit);
	}
	putchar('\n');
	fflush(stdout);
	say(L, "%u sessions: %.0f %ss/s over %.2f s, p50 %.0f us, "
	    "p99 %.0f us, %llu bad, %llu errors", L->n,
	    secs > 0 ? cmds / secs : 0, L->o.churn ? "connection" : "command",
	    secs, lat_pct_us(&L->lat, 0.50),
	    lat_pct_us(&L->lat, 0.99), (unsigned long long)L->bad,
	    (unsigned long long)L->errors);
}

/* --- setup -------------------------------------------------------------- */

static int
resolve(struct load *L, const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints, *res = NULL;
	size_t hl;
	int rc;

	if (colon == NULL || colon == hostport ||
	    (hl = (size_t)(colon - hostport)) >= sizeof(host)) {
		fprintf(stderr, "epp-load: -c wants HOST:PORT\n");
		return -1;
	}
	/* Accept [::1]:700 as well as 127.0.0.1:700. */
	if (hostport[0] == '[' && colon[-1] == ']') {
		hostport++;
		hl -= 2;
	}
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(stderr, "epp-load: %s: %s\n", hostport, gai_strerror(rc));
		return -1;
	}
	memcpy(&L->addr, res->ai_addr, res->ai_addrlen);
	L->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static SSL_CTX *
client_ctx(const struct options *o)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Pull whole records per read() instead of header then body. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
fail:
	fprintf(stderr, "epp-load: TLS setup failed (cert %s, key %s, ca %s)\n",
	    o->cert, o->key, o->ca);
	ssl_errors_to_stderr();
	SSL_CTX_free(ctx);
	return NULL;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = NULL;
	char *buf = NULL;
	long sz;

	if ((f = fopen(path, "rb")) == NULL)
		goto fail;
	if (fseek(f, 0, SEEK_END) == -1 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1)
		goto fail;
	if ((buf = malloc((size_t)sz + 1)) == NULL)
		goto fail;
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		goto fail;
	buf[sz] = '\0';
	*len = (size_t)sz;
	fclose(f);
	return buf;
fail:
	fprintf(stderr, "epp-load: %s: %s\n", path, strerror(errno));
	free(buf);
	if (f != NULL)
		fclose(f);
	return NULL;
}

/* Load each command and split it around the clTRID placeholder. */
static int
load_commands(struct load *L)
{
	struct cmd_tmpl *c;
	size_t len;
	unsigned i;
	char *p;

	for (i = 0; i < L->o.ncmds; i++) {
		c = &L->cmds_t[i];
		if ((c->xml = read_file(L->o.cmd_files[i], &len)) == NULL)
			return -1;
		/* Trailing newlines would only add bytes to every frame. */
		while (len > 0 && (c->xml[len - 1] == '\n' ||
		    c->xml[len - 1] == '\r'))
			c->xml[--len] = '\0';
		if ((p = strstr(c->xml, TRID_PLACEHOLDER)) == NULL) {
			fprintf(stderr, "epp-load: %s: no %s placeholder for "
			    "the clTRID\n", L->o.cmd_files[i],
			    TRID_PLACEHOLDER);
			return -1;
		}
		c->pre = (size_t)(p - c->xml);
		c->post_off = c->pre + strlen(TRID_PLACEHOLDER);
		c->post_len = len - c->post_off;
	}
	return 0;
}

/* A macro, not an array, so that -Wformat-nonliteral can check it. */
#define LOGIN_FMT \
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n" \
    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">\n" \
    "  <command>\n" \
    "    <login>\n" \
    "      <clID>%s</clID>\n" \
    "      <pw>%s</pw>\n" \
    "      <options>\n" \
    "        <version>1.0</version>\n" \
    "        <lang>en</lang>\n" \
    "      </options>\n" \
    "      <svcs>\n" \
    "        <objURI>urn:ietf:params:xml:ns:domain-1.0</objURI>\n" \
    "        <objURI>urn:ietf:params:xml:ns:host-1.0</objURI>\n" \
    "        <objURI>urn:ietf:params:xml:ns:contact-1.0</objURI>\n" \
    "        <svcExtension>\n" \
    "          <extURI>urn:ietf:params:xml:ns:secDNS-1.1</extURI>\n" \
    "        </svcExtension>\n" \
    "      </svcs>\n" \
    "    </login>\n" \
    "    <clTRID>bench-login</clTRID>\n" \
    "  </command>\n" \
    "</epp>\n"

#define LOGOUT_XML \
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n" \
    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">\n" \
    "  <command>\n" \
    "    <logout/>\n" \
    "    <clTRID>bench-logout</clTRID>\n" \
    "  </command>\n" \
    "</epp>\n"

static int
build_logout(struct load *L)
{
	size_t n = sizeof(LOGOUT_XML) - 1;

	if ((L->logout_frame = malloc(FRAME_HEADER_LEN + n)) == NULL)
		return -1;
	(void)frame_header_write(L->logout_frame, n);
	memcpy(L->logout_frame + FRAME_HEADER_LEN, LOGOUT_XML, n);
	L->logout_len = FRAME_HEADER_LEN + n;
	return 0;
}

static int
build_login(struct load *L)
{
	char clid[64], xml[2048];
	const char *colon = strchr(L->o.login, ':');
	size_t cl;
	int n;

	if (colon == NULL || (cl = (size_t)(colon - L->o.login)) == 0 ||
	    cl >= sizeof(clid)) {
		fprintf(stderr, "epp-load: --login wants CLID:PASSWORD\n");
		return -1;
	}
	memcpy(clid, L->o.login, cl);
	clid[cl] = '\0';
	n = snprintf(xml, sizeof(xml), LOGIN_FMT, clid, colon + 1);
	if (n < 0 || (size_t)n >= sizeof(xml))
		return -1;
	if ((L->login_frame = malloc(FRAME_HEADER_LEN + (size_t)n)) == NULL)
		return -1;
	(void)frame_header_write(L->login_frame, (size_t)n);
	memcpy(L->login_frame + FRAME_HEADER_LEN, xml, (size_t)n);
	L->login_len = FRAME_HEADER_LEN + (size_t)n;
	return 0;
}

static int
alloc_sessions(struct load *L)
{
	unsigned i;

	if ((L->s = calloc(L->n, sizeof(*L->s))) == NULL)
		return -1;
	for (i = 0; i < L->n; i++) {
		L->s[i].fd = -1;
		L->s[i].id = i;
		if ((L->s[i].dec = frame_decoder_new(FRAME_DEFAULT_MAX)) == NULL)
			return -1;
	}
	return 0;
}

static void
free_sessions(struct load *L)
{
	unsigned i;

	if (L->s == NULL)
		return;
	for (i = 0; i < L->n; i++) {
		if (L->s[i].st != ST_NEW && L->s[i].st != ST_CLOSED &&
		    L->s[i].st != ST_FAILED)
			session_close(L, &L->s[i], ST_CLOSED);
		frame_decoder_free(L->s[i].dec);
		free(L->s[i].out);
	}
	free(L->s);
	L->s = NULL;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: epp-load -c HOST:PORT --cert F --key F --ca F --cmd FILE [--cmd FILE]...\n"
"                [-n SESSIONS] [-t SECONDS] [-w WARMUP] [--login CLID:PW]\n"
"                [--servername NAME] [--ramp N] [--pid NAME=PID]...\n"
"                [--label TEXT] [-q]\n"
"       epp-load -c HOST:PORT --cert F --key F --ca F --churn [-n PARALLEL]\n"
"                [-t SECONDS] [-w WARMUP] [--pid NAME=PID]... [--label TEXT]\n"
"       epp-load -c HOST:PORT --cert F --key F --ca F --idle N [--hold S]\n"
"\n"
"  -n N           concurrent sessions (default 1)\n"
"  -t S           measured seconds (default 3)\n"
"  -w S           warm-up seconds after login, not measured (default 1)\n"
"  --cmd FILE     EPP command; " TRID_PLACEHOLDER " is replaced by the clTRID;\n"
"                 up to 8, sent in turn by every session\n"
"  --churn        new connections: connect, TLS, greeting, login, logout,\n"
"                 close, again; figures per connection\n"
"  --login C:P    clID and password (default registrar1:demo-password-1)\n"
"  --servername   expected server name and SNI (default localhost)\n"
"  --ramp N       sessions in setup at once (default 64)\n"
"  --pid NAME=PID report NAME_cpu_us_per_cmd and NAME_csw_per_cmd (context\n"
"                 switches) of PID and its children over the measured phase\n"
"  --label TEXT   prefix for the result line\n"
"  --idle N       open and log in N sessions, print \"ready\", hold them\n"
"  --hold S       seconds to hold idle sessions (default 5; SIGTERM ends)\n"
"  -q             no human text on stderr\n");
}

static int
parse_pid(struct options *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct pid_watch *w;
	char *end;
	long v;

	if (o->npids == MAX_PIDS || eq == NULL || eq == arg ||
	    (size_t)(eq - arg) >= sizeof(w->name))
		return -1;
	v = strtol(eq + 1, &end, 10);
	if (*end != '\0' || v <= 0)
		return -1;
	w = &o->pids[o->npids++];
	memcpy(w->name, arg, (size_t)(eq - arg));
	w->name[eq - arg] = '\0';
	w->pid = (pid_t)v;
	return 0;
}

static int
parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
parse_secs(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 3600)
		return -1;
	*out = v;
	return 0;
}

enum { OPT_CERT = 256, OPT_KEY, OPT_CA, OPT_CMD, OPT_LOGIN, OPT_SNI,
    OPT_IDLE, OPT_HOLD, OPT_RAMP, OPT_PID, OPT_LABEL, OPT_CHURN };

static int
parse_options(struct options *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "time", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cmd", required_argument, NULL, OPT_CMD },
		{ "login", required_argument, NULL, OPT_LOGIN },
		{ "servername", required_argument, NULL, OPT_SNI },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "ramp", required_argument, NULL, OPT_RAMP },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "churn", no_argument, NULL, OPT_CHURN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, bad = 0;

	o->sessions = 1;
	o->ramp = 64;
	o->seconds = 3;
	o->warmup = 1;
	o->hold = 5;
	o->servername = "localhost";
	o->login = "registrar1:demo-password-1";
	while ((c = getopt_long(argc, argv, "c:n:t:w:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->connect = optarg; break;
		case 'n': bad |= parse_uint(optarg, &o->sessions); break;
		case 't': bad |= parse_secs(optarg, &o->seconds); break;
		case 'w': bad |= parse_secs(optarg, &o->warmup); break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_CMD:
			if (o->ncmds == MAX_CMDS)
				bad = 1;
			else
				o->cmd_files[o->ncmds++] = optarg;
			break;
		case OPT_LOGIN: o->login = optarg; break;
		case OPT_SNI: o->servername = optarg; break;
		case OPT_IDLE: bad |= parse_uint(optarg, &o->idle); break;
		case OPT_HOLD: bad |= parse_secs(optarg, &o->hold); break;
		case OPT_RAMP: bad |= parse_uint(optarg, &o->ramp); break;
		case OPT_PID: bad |= parse_pid(o, optarg); break;
		case OPT_LABEL: o->label = optarg; break;
		case OPT_CHURN: o->churn = 1; break;
		case 'q': o->quiet = 1; break;
		default: bad = 1; break;
		}
	}
	if (optind != argc || o->connect == NULL || o->cert == NULL ||
	    o->key == NULL || o->ca == NULL ||
	    (o->idle == 0 && !o->churn && o->ncmds == 0) ||
	    (o->idle != 0 && o->churn) ||
	    (o->idle == 0 && o->sessions == 0) || o->ramp == 0)
		bad = 1;
	return bad ? -1 : 0;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: epoll_wait returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct load L;
	unsigned i;
	int rc = 1;

	memset(&L, 0, sizeof(L));
	L.ep = -1;
	if (parse_options(&L.o, argc, argv) == -1) {
		usage();
		return 2;
	}
	L.n = L.o.idle ? L.o.idle : L.o.sessions;
	install_signals();
	if (resolve(&L, L.o.connect) == -1 || build_login(&L) == -1 ||
	    build_logout(&L) == -1)
		goto out;
	if (!L.o.idle && !L.o.churn && load_commands(&L) == -1)
		goto out;
	if ((L.ctx = client_ctx(&L.o)) == NULL)
		goto out;
	if ((L.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epp-load: epoll_create1");
		goto out;
	}
	if (alloc_sessions(&L) == -1) {
		fprintf(stderr, "epp-load: out of memory\n");
		goto out;
	}
	if (run_loop(&L) == -1)
		goto out;
	if (L.failed > 0 && L.t_ready == 0) {
		fprintf(stderr, "epp-load: setup failed (%u sessions failed, "
		    "%u logged in)\n", L.failed, L.logged_in);
		goto out;
	}
	if (L.o.idle) {
		say(&L, "released %u idle sessions", L.n);
		if (L.failed > 0)
			fprintf(stderr, "epp-load: %u sessions failed while "
			    "held\n", L.failed);
		rc = L.failed == 0 ? 0 : 1;
		goto out;
	}
	if (L.t_meas1 == 0) {
		fprintf(stderr, "epp-load: interrupted before the measured "
		    "phase\n");
		goto out;
	}
	report(&L);
	rc = L.errors == 0 && L.bad == 0 && L.cmds > 0 ? 0 : 1;
out:
	free_sessions(&L);
	if (L.ep != -1)
		close(L.ep);
	SSL_CTX_free(L.ctx);
	free(L.lat.ns);
	for (i = 0; i < MAX_CMDS; i++)
		free(L.cmds_t[i].xml);
	free(L.login_frame);
	free(L.logout_frame);
	return rc;
}
