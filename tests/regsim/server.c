/*
 * server.c: the simulator's TLS listener and sessions (libevent with
 * bufferevent_openssl, one thread, many sessions).
 *
 * TLS 1.2 or later with a client certificate that must verify against the
 * configured CA.  Data units follow RFC 5734: a frame under 5 bytes or over
 * 1 MiB closes the connection without a reply, as a registry would.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "regsim.h"
#include "server.h"

#define IDLE_TIMEOUT_SEC 3600	/* as Nomulus: idle sessions are closed */

struct session {
	struct regsim_server	*srv;
	struct bufferevent	*bev;
	struct frame_decoder	*dec;
	struct regsim_sess	 epp;
	unsigned long		 id;
	int			 closing;	/* reply queued, then close */
	char			 peer[INET6_ADDRSTRLEN + 8];
	struct session		*prev, *next;
};

struct regsim_server {
	struct event_base	*base;
	struct regsim_epp	*epp;
	SSL_CTX			*ctx;
	struct evconnlistener	*lis;
	struct session		*sessions;
	unsigned long		 next_id;
	int			 debug;
};

static void
log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "eppgw-regsim: %s: %s\n", what, buf);
	}
}

/* ---- sessions ---- */

static void
session_free(struct session *s)
{
	struct regsim_server *srv = s->srv;
	SSL *ssl;

	if (srv->debug)
		fprintf(stderr, "eppgw-regsim: session %lu from %s closed\n",
		    s->id, s->peer);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (s->bev != NULL) {
		/* Send close_notify; freeing the bufferevent frees the SSL. */
		if ((ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL &&
		    SSL_is_init_finished(ssl))
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
		bufferevent_free(s->bev);
	}
	frame_decoder_free(s->dec);
	regsim_sess_clear(&s->epp);
	free(s);
}

static int
send_frame(struct session *s, const xmlChar *xml, int len)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	if (len <= 0 || frame_header_write(hdr, (size_t)len) == -1)
		return -1;
	if (s->srv->debug)
		fprintf(stderr, "S[%lu]: %.*s\n", s->id, len, (const char *)xml);
	if (bufferevent_write(s->bev, hdr, sizeof(hdr)) == -1 ||
	    bufferevent_write(s->bev, xml, (size_t)len) == -1)
		return -1;
	return 0;
}

static void
send_greeting(struct session *s)
{
	xmlChar *out = NULL;
	int len = 0;

	if (regsim_epp_greeting(s->srv->epp, &out, &len) == -1 ||
	    send_frame(s, out, len) == -1) {
		xmlFree(out);
		session_free(s);
		return;
	}
	xmlFree(out);
}

/* Run one frame.  Returns -1 when the session is gone. */
static int
handle_frame(struct session *s, const uint8_t *xml, size_t len)
{
	enum regsim_action act;
	xmlChar *out = NULL;
	int outlen = 0;

	if (s->srv->debug)
		fprintf(stderr, "C[%lu]: %.*s\n", s->id, (int)len,
		    (const char *)xml);
	act = regsim_epp_frame(s->srv->epp, &s->epp, (const char *)xml, len,
	    &out, &outlen);
	if (act == REGSIM_DROP) {
		if (s->srv->debug)
			fprintf(stderr, "eppgw-regsim: session %lu dropped "
			    "without a reply\n", s->id);
		session_free(s);
		return -1;
	}
	if (send_frame(s, out, outlen) == -1) {
		xmlFree(out);
		session_free(s);
		return -1;
	}
	xmlFree(out);
	if (act == REGSIM_REPLY_CLOSE) {
		/* Stop reading; write_cb closes once the reply is out. */
		s->closing = 1;
		bufferevent_disable(s->bev, EV_READ);
	}
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!s->closing && evbuffer_get_length(in) > 0) {
		size_t n = evbuffer_get_contiguous_space(in), used, plen;
		const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
		const uint8_t *payload;
		enum frame_status st;

		used = frame_decoder_feed(s->dec, data, n, &st);
		evbuffer_drain(in, used);
		if (st == FRAME_NEED_MORE)
			continue;
		if (st != FRAME_OK) {
			fprintf(stderr, "eppgw-regsim: session %lu: %s, closing\n",
			    s->id, frame_status_str(st));
			session_free(s);
			return;
		}
		payload = frame_decoder_payload(s->dec, &plen);
		if (handle_frame(s, payload, plen) == -1)
			return;
		frame_decoder_next(s->dec);
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_free(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		if (s->srv->debug)
			fprintf(stderr, "eppgw-regsim: session %lu from %s: TLS "
			    "up\n", s->id, s->peer);
		send_greeting(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			char buf[256];

			ERR_error_string_n(e, buf, sizeof(buf));
			fprintf(stderr, "eppgw-regsim: session %lu from %s: %s\n",
			    s->id, s->peer, buf);
		}
	}
	if (what & BEV_EVENT_TIMEOUT)
		fprintf(stderr, "eppgw-regsim: session %lu idle, closing\n",
		    s->id);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		session_free(s);
}

static void
format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s:%u", host, port);
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct regsim_server *srv = arg;
	struct session *s = NULL;
	SSL *ssl = NULL;
	struct timeval idle = { IDLE_TIMEOUT_SEC, 0 };

	(void)lis;
	(void)salen;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dec = frame_decoder_new(FRAME_DEFAULT_MAX)) == NULL ||
	    (ssl = SSL_new(srv->ctx)) == NULL)
		goto fail;
	s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		goto fail;
	/* From here the bufferevent owns both the socket and the SSL. */
	ssl = NULL;
	/* Clients that hang up without close_notify are ordinary EOF. */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	fd = -1;
	s->srv = srv;
	s->id = ++srv->next_id;
	format_peer(sa, s->peer, sizeof(s->peer));
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_set_timeouts(s->bev, &idle, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (srv->debug)
		fprintf(stderr, "eppgw-regsim: session %lu from %s\n", s->id,
		    s->peer);
	return;
fail:
	fprintf(stderr, "eppgw-regsim: cannot set up a session\n");
	SSL_free(ssl);
	if (fd >= 0)
		evutil_closesocket(fd);
	if (s != NULL) {
		frame_decoder_free(s->dec);
		free(s);
	}
}

/* ---- setup ---- */

static SSL_CTX *
make_ctx(const char *cert, const char *key, const char *ca)
{
	static const unsigned char sid_ctx[] = "eppgw-regsim";
	STACK_OF(X509_NAME) *names;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(ca)) == NULL)
		goto fail;
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* A client certificate is required and must chain to the CA. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Needed for session resumption once peers are verified. */
	if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1))
		goto fail;
	return ctx;
fail:
	log_ssl_errors("TLS setup");
	SSL_CTX_free(ctx);
	return NULL;
}

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int
parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res = NULL;
	size_t hlen;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - spec - 1);
		spec++;
		port = end + 2;
	} else {
		if ((port = strrchr(spec, ':')) == NULL)
			return -1;
		hlen = (size_t)(port - spec);
		port++;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct regsim_server *
regsim_server_new(struct event_base *base, struct regsim_epp *epp,
    const struct regsim_server_conf *conf)
{
	struct regsim_server *srv;
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (parse_listen(conf->listen, &ss, &sslen) == -1) {
		fprintf(stderr, "eppgw-regsim: bad listen address %s "
		    "(want HOST:PORT)\n", conf->listen);
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->epp = epp;
	srv->debug = conf->debug;
	if ((srv->ctx = make_ctx(conf->cert, conf->key, conf->ca)) == NULL)
		goto fail;
	srv->lis = evconnlistener_new_bind(base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    64, (struct sockaddr *)&ss, (int)sslen);
	if (srv->lis == NULL) {
		perror("eppgw-regsim: listen");
		goto fail;
	}
	return srv;
fail:
	regsim_server_free(srv);
	return NULL;
}

/* The bound address, e.g. when port 0 was asked for. */
int
regsim_server_addr(const struct regsim_server *srv, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockname(evconnlistener_get_fd(srv->lis),
	    (struct sockaddr *)&ss, &sslen) == -1)
		return -1;
	format_peer((struct sockaddr *)&ss, buf, len);
	return 0;
}

void
regsim_server_free(struct regsim_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->sessions != NULL)
		session_free(srv->sessions);
	if (srv->lis != NULL)
		evconnlistener_free(srv->lis);
	SSL_CTX_free(srv->ctx);
	free(srv);
}
