/*
 * epp-echo: a stub EPP (RFC 5730/5734) server for `make bench`.
 *
 * It stands in for the registry so that the benchmark measures TLS and
 * relaying, not a registry's database.  One thread, one epoll set,
 * non-blocking OpenSSL, client certificates required and verified against
 * --ca.  Every connection gets a greeting; every command frame gets a
 * <response> with result 1000 that echoes the clTRID, padded to --size
 * bytes (default 1500, like a typical info or create response); <logout>
 * gets 1500 and the connection is closed once the reply is out.
 *
 * SIGTERM or SIGINT stops it cleanly.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "frame.h"

#define READ_CHUNK	16384
#define MAX_EVENTS	256
#define MAX_TRID	64
#define RESP_MAX	65536
/* Stop reading a connection that does not drain its replies (backpressure). */
#define OUT_HIGH_WATER	(256 * 1024)

enum cstate { C_HANDSHAKE, C_OPEN, C_CLOSING };

struct conn {
	int		 fd;
	SSL		*ssl;
	enum cstate	 st;
	uint32_t	 events;
	int		 readable;
	struct frame_decoder *dec;
	uint8_t		*out;
	size_t		 out_len, out_off, out_cap;
	struct conn	*prev, *next;
};

struct echo {
	const char	*listen, *cert, *key, *ca;
	size_t		 size;
	int		 quiet;
	SSL_CTX		*ctx;
	int		 ep, lfd;
	struct conn	*conns;
	unsigned long long accepted, failed, frames, svtrid;
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
ssl_errors_to_stderr(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "epp-echo:   %s\n", buf);
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

/*
 * Is the command a <logout>?  The verb is the first element inside
 * <command>, so look there instead of scanning the whole frame.
 */
static int
is_logout(const uint8_t *xml, size_t len)
{
	const uint8_t *p = find_bytes(xml, len, "command>", 8), *end = xml + len;
	const uint8_t *colon;

	if (p == NULL)
		return 0;
	for (p += 8; p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\n'); p++)
		;
	if (p == end || *p++ != '<')
		return 0;
	/* Skip a namespace prefix such as "epp:". */
	colon = memchr(p, ':', (size_t)(end - p) < 32 ? (size_t)(end - p) : 32);
	if (colon != NULL && memchr(p, '>', (size_t)(colon - p)) == NULL &&
	    memchr(p, ' ', (size_t)(colon - p)) == NULL)
		p = colon + 1;
	return (size_t)(end - p) >= 6 && memcmp(p, "logout", 6) == 0 &&
	    (p + 6 == end || p[6] == '/' || p[6] == '>' || p[6] == ' ');
}

/*
 * The clTRID's text, or 0 if the command has none.  It is the last element
 * of <command>, so search backwards from the end for the closing tag.
 * Matches with or without a namespace prefix; longer than the EPP maximum
 * of 64: ignored.
 */
static size_t
find_cltrid(const uint8_t *xml, size_t len, const uint8_t **trid)
{
	static const char tag[] = "clTRID>";
	const size_t tl = sizeof(tag) - 1;
	const uint8_t *close = NULL, *p;
	size_t i;

	for (i = len; i >= tl + 2; i--)
		if (xml[i - tl] == 'c' && memcmp(xml + i - tl, tag, tl) == 0) {
			close = xml + i - tl;
			break;
		}
	if (close == NULL)
		return 0;
	/* Back over an optional prefix to the "</" of the closing tag. */
	for (p = close; p > xml && p[-1] != '/'; p--)
		if (close - p > 16)
			return 0;
	if (p - xml < 2 || p[-2] != '<')
		return 0;
	close = p - 2;
	for (p = close; p > xml && p[-1] != '>'; p--)
		if (close - p > MAX_TRID)
			return 0;
	if (p == xml || p == close)
		return 0;
	*trid = p;
	return (size_t)(close - p);
}

/* --- output ------------------------------------------------------------- */

static int
out_append(struct conn *c, const void *data, size_t len)
{
	size_t need = c->out_len + len, cap;
	uint8_t *p;

	if (need > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static int
queue_frame(struct conn *c, const char *xml, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	if (frame_header_write(hdr, len) == -1)
		return -1;
	if (out_append(c, hdr, sizeof(hdr)) == -1 ||
	    out_append(c, xml, len) == -1)
		return -1;
	return 0;
}

static int
queue_greeting(struct conn *c)
{
	static const char greeting[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">\n"
	    "  <greeting>\n"
	    "    <svID>eppgw bench echo stub</svID>\n"
	    "    <svDate>2026-01-01T00:00:00.0Z</svDate>\n"
	    "    <svcMenu>\n"
	    "      <version>1.0</version>\n"
	    "      <lang>en</lang>\n"
	    "      <objURI>urn:ietf:params:xml:ns:domain-1.0</objURI>\n"
	    "      <objURI>urn:ietf:params:xml:ns:host-1.0</objURI>\n"
	    "      <objURI>urn:ietf:params:xml:ns:contact-1.0</objURI>\n"
	    "      <svcExtension>\n"
	    "        <extURI>urn:ietf:params:xml:ns:secDNS-1.1</extURI>\n"
	    "      </svcExtension>\n"
	    "    </svcMenu>\n"
	    "    <dcp>\n"
	    "      <access><all/></access>\n"
	    "      <statement>\n"
	    "        <purpose><admin/><prov/></purpose>\n"
	    "        <recipient><ours/><public/></recipient>\n"
	    "        <retention><stated/></retention>\n"
	    "      </statement>\n"
	    "    </dcp>\n"
	    "  </greeting>\n"
	    "</epp>\n";

	return queue_frame(c, greeting, sizeof(greeting) - 1);
}

/*
 * The response: result, trID, and an XML comment that pads the document to
 * the requested size, so relays move realistic record sizes.
 */
static int
queue_response(struct echo *E, struct conn *c, int code, const uint8_t *trid,
    size_t tlen)
{
	char buf[RESP_MAX];
	const char *msg = code == 1500 ?
	    "Command completed successfully; ending session" :
	    "Command completed successfully";
	size_t len, tail_len, pad;
	int n;
	static const char tail[] = " -->\n</epp>\n";

	n = snprintf(buf, sizeof(buf),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">\n"
	    "  <response>\n"
	    "    <result code=\"%d\">\n"
	    "      <msg>%s</msg>\n"
	    "    </result>\n"
	    "    <trID>\n"
	    "%s%.*s%s"
	    "      <svTRID>echo-%llu</svTRID>\n"
	    "    </trID>\n"
	    "  </response>\n"
	    "<!-- ", code, msg,
	    tlen ? "      <clTRID>" : "", (int)tlen, tlen ? (const char *)trid : "",
	    tlen ? "</clTRID>\n" : "", ++E->svtrid);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	len = (size_t)n;
	tail_len = sizeof(tail) - 1;
	pad = E->size > len + tail_len ? E->size - len - tail_len : 0;
	if (len + pad + tail_len > sizeof(buf))
		pad = sizeof(buf) - len - tail_len;
	memset(buf + len, '.', pad);
	memcpy(buf + len + pad, tail, tail_len);
	return queue_frame(c, buf, len + pad + tail_len);
}

/* --- connections -------------------------------------------------------- */

static void
conn_interest(struct echo *E, struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(E->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void
conn_free(struct echo *E, struct conn *c, int orderly)
{
	if (c->ssl != NULL) {
		if (orderly)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		E->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	frame_decoder_free(c->dec);
	free(c->out);
	free(c);
}

static void
conn_fail(struct echo *E, struct conn *c, const char *why)
{
	/* A client that vanishes at the end of a run is normal: stay quiet. */
	if (!E->quiet && why != NULL) {
		fprintf(stderr, "epp-echo: connection closed: %s\n", why);
		ssl_errors_to_stderr();
	}
	ERR_clear_error();
	E->failed++;
	conn_free(E, c, 0);
}

/* Returns 0 to wait for epoll, -1 if the connection is gone. */
static int
conn_wait(struct echo *E, struct conn *c, int r, const char *op)
{
	int err = SSL_get_error(c->ssl, r);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		conn_interest(E, c, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		conn_interest(E, c, EPOLLOUT);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		conn_free(E, c, 1);
		return -1;
	case SSL_ERROR_SYSCALL:
		conn_fail(E, c, ERR_peek_error() ? op : NULL);
		return -1;
	default:
		conn_fail(E, c, op);
		return -1;
	}
}

static int
on_frame(struct echo *E, struct conn *c, const uint8_t *xml, size_t len)
{
	const uint8_t *trid = NULL;
	size_t tlen = find_cltrid(xml, len, &trid);
	int logout = is_logout(xml, len);

	E->frames++;
	if (queue_response(E, c, logout ? 1500 : 1000, trid, tlen) == -1)
		return -1;
	if (logout)
		c->st = C_CLOSING;
	return 0;
}

static int
conn_feed(struct echo *E, struct conn *c, const uint8_t *buf, size_t n)
{
	enum frame_status fst;
	const uint8_t *xml;
	size_t used, len;

	while (n > 0 && c->st == C_OPEN) {
		used = frame_decoder_feed(c->dec, buf, n, &fst);
		buf += used;
		n -= used;
		if (fst == FRAME_NEED_MORE)
			return 0;
		if (fst != FRAME_OK) {
			conn_fail(E, c, frame_status_str(fst));
			return -1;
		}
		xml = frame_decoder_payload(c->dec, &len);
		if (on_frame(E, c, xml, len) == -1) {
			conn_fail(E, c, "out of memory");
			return -1;
		}
		frame_decoder_next(c->dec);
	}
	return 0;
}

/* Flush queued output; 1 when all is out, 0 when waiting, -1 when gone. */
static int
conn_flush(struct echo *E, struct conn *c)
{
	int r;

	while (c->out_off < c->out_len) {
		r = SSL_write(c->ssl, c->out + c->out_off,
		    (int)(c->out_len - c->out_off));
		if (r <= 0)
			return conn_wait(E, c, r, "write");
		c->out_off += (size_t)r;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/*
 * Drive a connection as far as it goes.  Like the load generator, read only
 * after epoll said so or while OpenSSL holds buffered bytes: no speculative
 * SSL_read ending in EAGAIN.
 */
static void
conn_drive(struct echo *E, struct conn *c, uint32_t ev)
{
	uint8_t buf[READ_CHUNK];
	int r;

	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->readable = 1;
	if (c->st == C_HANDSHAKE) {
		if ((r = SSL_accept(c->ssl)) != 1) {
			(void)conn_wait(E, c, r, "handshake");
			return;
		}
		if (queue_greeting(c) == -1) {
			conn_fail(E, c, "out of memory");
			return;
		}
		c->st = C_OPEN;
	}
	for (;;) {
		if (c->out_len - c->out_off > OUT_HIGH_WATER) {
			if (conn_flush(E, c) != 1)
				return;
		}
		if (c->st == C_OPEN &&
		    (c->readable || SSL_has_pending(c->ssl))) {
			c->readable = 0;
			if ((r = SSL_read(c->ssl, buf, sizeof(buf))) <= 0) {
				if (conn_wait(E, c, r, "read") == -1)
					return;
				break;
			}
			if (conn_feed(E, c, buf, (size_t)r) == -1)
				return;
			continue;
		}
		break;
	}
	/* Everything readable was consumed: send the replies in one go. */
	if ((r = conn_flush(E, c)) != 1)
		return;
	if (c->st == C_CLOSING) {
		conn_free(E, c, 1);
		return;
	}
	conn_interest(E, c, EPOLLIN);
}

static void
accept_all(struct echo *E)
{
	struct epoll_event e;
	struct conn *c;
	int fd, one = 1;

	for (;;) {
		/* accept4() is a GNU extension; two fcntl()s per session are noise. */
		fd = accept(E->lfd, NULL, NULL);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNABORTED && errno != EINTR)
				perror("epp-echo: accept");
			return;
		}
		c = NULL;
		if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			goto fail;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->dec = frame_decoder_new(FRAME_DEFAULT_MAX)) == NULL ||
		    (c->ssl = SSL_new(E->ctx)) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1)
			goto fail;
		SSL_set_accept_state(c->ssl);
		c->fd = fd;
		c->st = C_HANDSHAKE;
		c->events = EPOLLIN;
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(E->ep, EPOLL_CTL_ADD, fd, &e) == -1)
			goto fail;
		c->next = E->conns;
		if (c->next != NULL)
			c->next->prev = c;
		E->conns = c;
		E->accepted++;
		continue;
fail:
		fprintf(stderr, "epp-echo: cannot set up a connection\n");
		if (c != NULL) {
			SSL_free(c->ssl);
			frame_decoder_free(c->dec);
			free(c);
		}
		close(fd);
	}
}

/* --- setup -------------------------------------------------------------- */

static SSL_CTX *
server_ctx(const struct echo *E)
{
	static const unsigned char sid_ctx[] = "epp-echo";
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, E->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, E->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, E->ca, NULL) != 1 ||
	    /* Required for resumption when client certificates are verified. */
	    SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
fail:
	fprintf(stderr, "epp-echo: TLS setup failed (cert %s, key %s, ca %s)\n",
	    E->cert, E->key, E->ca);
	ssl_errors_to_stderr();
	SSL_CTX_free(ctx);
	return NULL;
}

static int
listen_on(struct echo *E)
{
	char host[256];
	const char *colon = strrchr(E->listen, ':'), *h = E->listen;
	struct addrinfo hints, *res = NULL;
	struct epoll_event e;
	size_t hl;
	int one = 1, rc;

	if (colon == NULL || colon == h ||
	    (hl = (size_t)(colon - h)) >= sizeof(host)) {
		fprintf(stderr, "epp-echo: -l wants HOST:PORT\n");
		return -1;
	}
	if (h[0] == '[' && colon[-1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(stderr, "epp-echo: %s: %s\n", E->listen,
		    gai_strerror(rc));
		return -1;
	}
	E->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (E->lfd == -1 ||
	    setsockopt(E->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(E->lfd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(E->lfd, 4096) == -1)
		goto fail;
	freeaddrinfo(res);
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = NULL;	/* NULL marks the listener */
	if (epoll_ctl(E->ep, EPOLL_CTL_ADD, E->lfd, &e) == -1) {
		perror("epp-echo: epoll_ctl");
		return -1;
	}
	return 0;
fail:
	fprintf(stderr, "epp-echo: listen on %s: %s\n", E->listen,
	    strerror(errno));
	freeaddrinfo(res);
	return -1;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: epp-echo -l HOST:PORT --cert F --key F --ca F [--size N] [-q]\n"
"\n"
"  -l HOST:PORT   listen address\n"
"  --cert/--key   server certificate and key\n"
"  --ca F         CA that client certificates must chain to\n"
"  --size N       pad each response to N bytes of XML (default 1500)\n"
"  -q             do not log failed connections\n");
}

enum { OPT_CERT = 256, OPT_KEY, OPT_CA, OPT_SIZE };

static int
parse_options(struct echo *E, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long v;
	char *end;
	int c;

	E->size = 1500;
	while ((c = getopt_long(argc, argv, "l:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'l': E->listen = optarg; break;
		case OPT_CERT: E->cert = optarg; break;
		case OPT_KEY: E->key = optarg; break;
		case OPT_CA: E->ca = optarg; break;
		case OPT_SIZE:
			v = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v > RESP_MAX)
				return -1;
			E->size = v;
			break;
		case 'q': E->quiet = 1; break;
		default: return -1;
		}
	}
	if (optind != argc || E->listen == NULL || E->cert == NULL ||
	    E->key == NULL || E->ca == NULL)
		return -1;
	return 0;
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

static int
serve(struct echo *E)
{
	struct epoll_event ev[MAX_EVENTS];
	int i, n;

	while (!stop_requested) {
		n = epoll_wait(E->ep, ev, MAX_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("epp-echo: epoll_wait");
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL)
				accept_all(E);
			else
				conn_drive(E, ev[i].data.ptr, ev[i].events);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct echo E;
	int rc = 1;

	memset(&E, 0, sizeof(E));
	E.ep = E.lfd = -1;
	if (parse_options(&E, argc, argv) == -1) {
		usage();
		return 2;
	}
	install_signals();
	if ((E.ctx = server_ctx(&E)) == NULL)
		goto out;
	if ((E.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epp-echo: epoll_create1");
		goto out;
	}
	if (listen_on(&E) == -1)
		goto out;
	if (!E.quiet)
		fprintf(stderr, "epp-echo: listening on %s\n", E.listen);
	if (serve(&E) == 0)
		rc = 0;
out:
	while (E.conns != NULL)
		conn_free(&E, E.conns, 0);
	if (!E.quiet && rc == 0)
		fprintf(stderr, "epp-echo: stopped: %llu connections, %llu "
		    "frames, %llu failed\n", E.accepted, E.frames, E.failed);
	if (E.lfd != -1)
		close(E.lfd);
	if (E.ep != -1)
		close(E.ep);
	SSL_CTX_free(E.ctx);
	return rc;
}
