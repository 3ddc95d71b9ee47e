/*
 * conn.c: a non-blocking TLS connection on plain libevent events (conn.h).
 *
 * The read event is registered once and stays (level triggered); the write
 * event is added only while OpenSSL reports WANT_WRITE.  Because OpenSSL may
 * hold decrypted or read-ahead bytes the kernel no longer reports, reading
 * goes on while SSL_has_pending() says so.
 *
 * Callbacks can free the conn.  While one runs, conn_free only marks the
 * conn dead; the event handler that made the call frees it afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>

#include "buf.h"
#include "conn.h"
#include "err.h"
#include "frame.h"

#define READ_CHUNK	16384	/* one TLS record */
/*
 * Output waiting for the peer: one command or reply is in flight per
 * session, so a few whole frames at the most.
 */
#define OUT_MAX		((size_t)4 * FRAME_LIMIT_MAX)

enum conn_state {
	CS_CONNECTING = 0,	/* TCP connect in progress */
	CS_HANDSHAKE,
	CS_OPEN,
	CS_FAILED
};

struct conn {
	struct event_base	*base;
	evutil_socket_t		 fd;
	SSL			*ssl;
	const struct conn_cbs	*cbs;
	void			*arg;
	enum conn_state		 state;
	struct event		*ev_read;
	struct event		*ev_write;
	int			 write_added;
	int			 read_paused;
	int			 read_wants_write;	/* SSL_read said WANT_WRITE */
	int			 want_drained;
	int			 in_cb;
	int			 dead;
	size_t			 in_limit;
	struct buf		 in;
	struct buf		 out;
	char			 why[160];
};

static void conn_event(evutil_socket_t fd, short what, void *arg);

static void
set_write_interest(struct conn *c, int on)
{
	if (on && !c->write_added) {
		event_add(c->ev_write, NULL);
		c->write_added = 1;
	} else if (!on && c->write_added) {
		event_del(c->ev_write);
		c->write_added = 0;
	}
}

static void
set_read_interest(struct conn *c, int on)
{
	if (on && c->read_paused) {
		event_add(c->ev_read, NULL);
		c->read_paused = 0;
	} else if (!on && !c->read_paused) {
		event_del(c->ev_read);
		c->read_paused = 1;
	}
}

/* Record why the connection failed, from OpenSSL's queue or errno. */
static void
fail(struct conn *c, const char *what, int ssl_err)
{
	unsigned long e = ERR_peek_last_error();
	char reason[128];

	if (ssl_err == SSL_ERROR_SSL && e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		snprintf(c->why, sizeof(c->why), "%s: %s", what, reason);
	} else if (errno != 0 && ssl_err == SSL_ERROR_SYSCALL)
		snprintf(c->why, sizeof(c->why), "%s: %s", what,
		    strerror(errno));
	else
		snprintf(c->why, sizeof(c->why), "%s", what);
	ERR_clear_error();
	c->state = CS_FAILED;
	set_write_interest(c, 0);
	set_read_interest(c, 0);
}

/* Send queued output.  0 when all sent or blocked, -1 on failure. */
static int
flush_out(struct conn *c)
{
	int n, e;

	while (c->out.len > 0) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(c->ssl, buf_data(&c->out),
		    c->out.len > INT32_MAX ? INT32_MAX : (int)c->out.len);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			set_write_interest(c, 1);
			return 0;
		}
		fail(c, "write failed", e);
		return -1;
	}
	if (!c->read_wants_write)
		set_write_interest(c, 0);
	return 0;
}

/* Read what is there.  1 if bytes arrived, 0 if none, -1 on failure/EOF. */
static int
fill_in(struct conn *c, int *eof)
{
	uint8_t chunk[READ_CHUNK];
	int n, e, got = 0;

	*eof = 0;
	c->read_wants_write = 0;
	for (;;) {
		if (c->in.len >= c->in_limit) {
			/* The owner is behind: let TCP push back. */
			set_read_interest(c, 0);
			break;
		}
		/*
		 * Read into the stack and keep only what came: an idle
		 * session then holds a small buffer, not a whole record's.
		 */
		ERR_clear_error();
		errno = 0;
		n = SSL_read(c->ssl, chunk, READ_CHUNK);
		if (n > 0) {
			if (buf_add(&c->in, chunk, (size_t)n) != 0) {
				fail(c, "out of memory", 0);
				return -1;
			}
			got = 1;
			if (!SSL_has_pending(c->ssl) && n < READ_CHUNK)
				break;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_WANT_WRITE) {
			c->read_wants_write = 1;
			set_write_interest(c, 1);
			break;
		}
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && errno == 0)) {
			*eof = 1;
			snprintf(c->why, sizeof(c->why), "connection closed");
			c->state = CS_FAILED;
			set_read_interest(c, 0);
			set_write_interest(c, 0);
			return got ? 1 : -1;
		}
		fail(c, "read failed", e);
		return got ? 1 : -1;
	}
	return got;
}

static void
really_free(struct conn *c)
{
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		evutil_closesocket(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* Run a callback; returns -1 if the conn was freed meanwhile. */
#define CALL(c, expr) do {				\
	(c)->in_cb++;					\
	expr;						\
	(c)->in_cb--;					\
	if ((c)->dead) {				\
		if ((c)->in_cb == 0)			\
			really_free(c);			\
		return;					\
	}						\
} while (0)

static void
on_handshake(struct conn *c)
{
	int n, e;

	ERR_clear_error();
	errno = 0;
	n = SSL_do_handshake(c->ssl);
	if (n == 1) {
		c->state = CS_OPEN;
		set_write_interest(c, 0);
		CALL(c, c->cbs->connected(c, c->arg));
		if (c->state == CS_OPEN && c->out.len > 0 && flush_out(c) != 0) {
			CALL(c, c->cbs->error(c, c->arg, c->why, 0));
			return;
		}
		/* TLS 1.3 data may already sit in OpenSSL's buffer. */
		if (c->state == CS_OPEN && SSL_has_pending(c->ssl))
			event_active(c->ev_read, EV_READ, 0);
		return;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ) {
		set_write_interest(c, 0);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		set_write_interest(c, 1);
		return;
	}
	fail(c, "TLS handshake failed", e);
	if (e == SSL_ERROR_SSL) {
		long v = SSL_get_verify_result(c->ssl);

		if (v != X509_V_OK)
			snprintf(c->why, sizeof(c->why),
			    "TLS handshake failed: certificate: %s",
			    X509_verify_cert_error_string(v));
	}
	CALL(c, c->cbs->error(c, c->arg, c->why, 0));
}

static void
on_connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		snprintf(c->why, sizeof(c->why), "connect: %s", strerror(err));
		c->state = CS_FAILED;
		set_write_interest(c, 0);
		set_read_interest(c, 0);
		CALL(c, c->cbs->error(c, c->arg, c->why, 0));
		return;
	}
	c->state = CS_HANDSHAKE;
	set_read_interest(c, 1);
	on_handshake(c);
}

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int r, eof;

	(void)fd;
	switch (c->state) {
	case CS_CONNECTING:
		on_connect_done(c);
		return;
	case CS_HANDSHAKE:
		on_handshake(c);
		return;
	case CS_FAILED:
		return;
	case CS_OPEN:
		break;
	}
	if ((what & EV_WRITE) && c->out.len > 0 && flush_out(c) != 0) {
		CALL(c, c->cbs->error(c, c->arg, c->why, 0));
		return;
	}
	if (c->out.len == 0 && c->want_drained) {
		c->want_drained = 0;
		CALL(c, c->cbs->drained(c, c->arg));
	}
	if ((what & EV_READ) || c->read_wants_write) {
		r = fill_in(c, &eof);
		if (r > 0)
			CALL(c, c->cbs->input(c, c->arg));
		if (c->state == CS_FAILED)
			CALL(c, c->cbs->error(c, c->arg, c->why, eof));
	}
}

static struct conn *
conn_new(struct event_base *base, evutil_socket_t fd, SSL *ssl,
    const struct conn_cbs *cbs, void *arg, size_t in_limit)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->fd = fd;
	c->ssl = ssl;
	c->cbs = cbs;
	c->arg = arg;
	c->in_limit = in_limit;
	/* Reading stops at in_limit, after at most one chunk more. */
	buf_init(&c->in, in_limit > SIZE_MAX - READ_CHUNK ? SIZE_MAX :
	    in_limit + READ_CHUNK);
	buf_init(&c->out, OUT_MAX);
	/* EPP is request/response: Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, conn_event, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_event,
	    c);
	if (c->ev_read == NULL || c->ev_write == NULL) {
		c->ssl = NULL;
		c->fd = -1;
		really_free(c);
		return NULL;
	}
	c->read_paused = 1;
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return c;
}

struct conn *
conn_accept(struct event_base *base, evutil_socket_t fd, SSL *ssl,
    const struct conn_cbs *cbs, void *arg, size_t in_limit)
{
	struct conn *c;

	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    SSL_set_fd(ssl, fd) != 1 ||
	    (c = conn_new(base, fd, ssl, cbs, arg, in_limit)) == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	c->state = CS_HANDSHAKE;
	set_read_interest(c, 1);
	return c;
}

struct conn *
conn_connect(struct event_base *base, const struct sockaddr *sa,
    socklen_t salen, SSL *ssl, const struct conn_cbs *cbs, void *arg,
    size_t in_limit, struct err *e)
{
	struct conn *c;
	evutil_socket_t fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		err_set(e, ERR_SYSTEM, "cannot create socket");
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1 ||
	    (c = conn_new(base, fd, ssl, cbs, arg, in_limit)) == NULL) {
		err_set(e, ERR_NOMEM, "cannot create socket");
		SSL_free(ssl);
		evutil_closesocket(fd);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	if (connect(fd, sa, salen) != 0 && errno != EINPROGRESS) {
		err_set(e, ERR_SYSTEM, "%s", strerror(errno));
		conn_free(c);
		return NULL;
	}
	/* Completion (or failure) shows as writability. */
	c->state = CS_CONNECTING;
	set_write_interest(c, 1);
	return c;
}

void
conn_free(struct conn *c)
{
	if (c == NULL || c->dead)
		return;
	if (c->state == CS_OPEN) {
		/* Best effort close_notify: never wait for the peer's. */
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	set_read_interest(c, 0);
	set_write_interest(c, 0);
	c->dead = 1;
	if (c->in_cb == 0)
		really_free(c);
}

SSL *
conn_ssl(const struct conn *c)
{
	return c->ssl;
}

const uint8_t *
conn_in(const struct conn *c, size_t *len)
{
	*len = c->in.len;
	return (const uint8_t *)buf_data(&c->in);
}

void
conn_consume(struct conn *c, size_t n)
{
	buf_consume(&c->in, n);
	/* A large frame grew the buffer: do not keep it for an idle session. */
	if (c->in.len == 0 && c->in.cap > 16384)
		buf_free(&c->in);
	/* Below the limit again: resume reading if we paused. */
	if (c->read_paused && c->state == CS_OPEN && c->in.len < c->in_limit)
		set_read_interest(c, 1);
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state == CS_FAILED || c->dead)
		return -1;
	if (buf_add(&c->out, data, len) != 0)
		return -1;
	if (c->state != CS_OPEN || c->write_added)
		return 0;	/* sent when the handshake or kernel allows */
	return flush_out(c);
}

int
conn_write_frame(struct conn *c, const void *xml, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	if (frame_header_write(hdr, len) != 0 || c->state == CS_FAILED ||
	    c->dead || buf_reserve(&c->out, sizeof(hdr) + len) != 0)
		return -1;
	/* One contiguous copy, so header and XML leave in one record. */
	(void)buf_add(&c->out, hdr, sizeof(hdr));	/* has room */
	return conn_write(c, xml, len);
}

size_t
conn_out_pending(const struct conn *c)
{
	return c->out.len;
}

void
conn_want_drained(struct conn *c)
{
	if (c->out.len == 0) {
		/* Report from the loop, not from inside our caller. */
		c->want_drained = 1;
		event_active(c->ev_write, EV_WRITE, 0);
		return;
	}
	c->want_drained = 1;
}
