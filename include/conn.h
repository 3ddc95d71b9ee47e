/*
 * conn.h: one non-blocking TLS connection driven by the event loop.
 *
 * Why not libevent's bufferevents: they defer every write to a later loop
 * turn and toggle epoll interest around it, which costs four epoll_ctl calls
 * and a wake-up per relayed command.  A conn writes at once (SSL_write on a
 * non-blocking socket) and only asks the loop for writability when the
 * kernel pushes back, so a steady-state command costs one read and one write
 * per leg.
 *
 * Bytes read are kept in an input buffer that the owner consumes; bytes to
 * send are written immediately or queued.  Callbacks may free the conn.
 */
#ifndef EPPGW_CONN_H
#define EPPGW_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct conn;
struct err;

struct conn_cbs {
	/* The TLS handshake completed. */
	void	(*connected)(struct conn *c, void *arg);
	/* New bytes are in the input buffer. */
	void	(*input)(struct conn *c, void *arg);
	/* The output queue became empty (only after conn_want_drained). */
	void	(*drained)(struct conn *c, void *arg);
	/* The connection failed or the peer closed it (eof set). */
	void	(*error)(struct conn *c, void *arg, const char *why, int eof);
};

/*
 * Wrap an accepted socket (server side of TLS) or start a connection to sa
 * (client side).  in_limit bounds the input buffer: past it, reading pauses
 * until the owner consumes.  The conn owns fd and ssl from here on, also on
 * failure.  NULL on failure; conn_connect() then fills e ("cannot create
 * socket", or connect(2)'s strerror, ERR_SYSTEM).
 */
struct conn *conn_accept(struct event_base *base, evutil_socket_t fd,
    SSL *ssl, const struct conn_cbs *cbs, void *arg, size_t in_limit);
struct conn *conn_connect(struct event_base *base, const struct sockaddr *sa,
    socklen_t salen, SSL *ssl, const struct conn_cbs *cbs, void *arg,
    size_t in_limit, struct err *e);

/* Close (with a best-effort TLS close_notify) and free.  NULL is fine. */
void conn_free(struct conn *c);

SSL *conn_ssl(const struct conn *c);

/* The unconsumed input, and dropping n bytes of it. */
const uint8_t *conn_in(const struct conn *c, size_t *len);
void conn_consume(struct conn *c, size_t n);

/*
 * Queue bytes and send what the kernel takes now.  -1 if the connection has
 * failed (no callback is made from here: the caller decides what follows).
 */
int conn_write(struct conn *c, const void *data, size_t len);
/* Write an RFC 5734 frame: header and payload in one TLS record. */
int conn_write_frame(struct conn *c, const void *xml, size_t len);
size_t conn_out_pending(const struct conn *c);
/* Call cbs->drained once the output queue is empty (maybe at once). */
void conn_want_drained(struct conn *c);

#endif
