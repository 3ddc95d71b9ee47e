/*
 * session.c: relay one registrar session to one registry session.
 *
 * States, in order:
 *
 *   HANDSHAKE   registrar TLS handshake; its certificate names a principal
 *   CONNECTING  upstream TCP connect and TLS handshake
 *   GREETING    waiting for the registry's greeting, which is relayed
 *   READY       waiting for a command from the registrar
 *   WAIT_REPLY  a command was forwarded; registrar input is paused
 *   CLOSING     a last reply is being flushed to the registrar
 *
 * Only one command is in flight at a time: while it is, registrar input stays
 * in the kernel, so replies, including the ones the gateway writes itself,
 * always come back in command order and a pipelining client cannot make us
 * buffer more than one frame.
 *
 * Every exit goes through session_close(), which releases the connections at
 * once and frees the struct from a fresh event-loop turn, so code that runs
 * after a close in the same callback only has to check s->state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "epp.h"
#include "frame.h"
#include "log.h"
#include "proxy.h"
#include "reply.h"
#include "session.h"
#include "tls.h"

enum state {
	ST_HANDSHAKE = 0,
	ST_CONNECTING,
	ST_GREETING,
	ST_READY,
	ST_WAIT_REPLY,
	ST_CLOSING,
	ST_DEAD
};

/* How long a final reply may take to reach a registrar that does not read. */
#define FLUSH_TIMEOUT_SEC	5

struct session {
	uint64_t		 id;
	struct proxy		*proxy;
	struct session_list	*list;
	struct session		*prev, *next;
	struct event_base	*base;
	struct config		*cfg;		/* our reference */
	SSL_CTX			*server_ctx;	/* our reference */
	SSL_CTX			*client_ctx;	/* our reference */
	enum state		 state;
	char			 peer[INET6_ADDRSTRLEN + 8];

	struct bufferevent	*cbev;		/* registrar side */
	struct bufferevent	*ubev;		/* registry side */
	struct event		*deadline;	/* handshake, frame, flush */
	struct event		*up_deadline;	/* connect, greeting, reply */

	const struct principal	*principal;	/* owned by cfg */
	char			 fp_hex[96];
	char			 clid[CONFIG_CLID_MAX + 1];  /* logged in */

	/* The command in flight. */
	enum epp_cmd		 cmd;
	char			*cltrid;
	char			*login_clid;
	struct timespec		 sent;

	uint64_t		 ncmds;
	unsigned		 nreplies;	/* our own replies, for svTRIDs */
};

static void session_close(struct session *s, const char *why);
static void client_input(struct session *s);

static void
svtrid(struct session *s, char *buf, size_t len)
{
	snprintf(buf, len, "eppgw-%s-%llu-%u", proxy_run_id(s->proxy),
	    (unsigned long long)s->id, ++s->nreplies);
}

static void
set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	/* EPP is request/response: Nagle would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
arm(struct event *ev, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	event_add(ev, &tv);
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->list->count--;
	proxy_session_gone(s->proxy, s);
	free(s->cltrid);
	free(s->login_clid);
	config_unref(s->cfg);
	SSL_CTX_free(s->server_ctx);
	SSL_CTX_free(s->client_ctx);
	free(s);
}

static void
release(struct session *s)
{
	if (s->cbev != NULL) {
		bufferevent_free(s->cbev);
		s->cbev = NULL;
	}
	if (s->ubev != NULL) {
		bufferevent_free(s->ubev);
		s->ubev = NULL;
	}
	if (s->deadline != NULL) {
		event_free(s->deadline);
		s->deadline = NULL;
	}
	if (s->up_deadline != NULL) {
		event_free(s->up_deadline);
		s->up_deadline = NULL;
	}
}

static void
session_close(struct session *s, const char *why)
{
	if (s->state == ST_DEAD)
		return;
	log_info("session %llu: closed (%s) after %llu commands",
	    (unsigned long long)s->id, why, (unsigned long long)s->ncmds);
	s->state = ST_DEAD;
	release(s);
	/* Free from a fresh loop turn: our callers may still look at s. */
	if (event_base_once(s->base, -1, EV_TIMEOUT, free_cb, s, NULL) != 0)
		free_cb(-1, 0, s);
}

void
session_abort_all(struct session_list *list)
{
	struct session *s, *next;

	for (s = list->head; s != NULL; s = next) {
		next = s->next;
		session_close(s, "gateway shutting down");
	}
}

static void
clear_inflight(struct session *s)
{
	free(s->cltrid);
	free(s->login_clid);
	s->cltrid = s->login_clid = NULL;
	s->cmd = EPP_CMD_NONE;
}

/* Frame an XML document into the registrar's output. */
static int
send_client(struct session *s, const char *xml, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	struct evbuffer *out = bufferevent_get_output(s->cbev);

	if (frame_header_write(hdr, len) != 0 ||
	    evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    evbuffer_add(out, xml, len) != 0)
		return -1;
	return 0;
}

static void
flush_done(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	session_close(s, s->clid[0] ? "logged out or closed" : "closed");
}

/* Stop reading from both sides; close once the registrar has our bytes. */
static void
close_after_flush(struct session *s, const char *why)
{
	if (s->state == ST_DEAD || s->state == ST_CLOSING)
		return;
	log_debug("session %llu: closing after flush: %s",
	    (unsigned long long)s->id, why);
	s->state = ST_CLOSING;
	if (s->ubev != NULL) {
		bufferevent_free(s->ubev);
		s->ubev = NULL;
	}
	event_del(s->up_deadline);
	bufferevent_disable(s->cbev, EV_READ);
	bufferevent_setcb(s->cbev, NULL, flush_done, NULL, s);
	arm(s->deadline, FLUSH_TIMEOUT_SEC);
	if (evbuffer_get_length(bufferevent_get_output(s->cbev)) == 0)
		session_close(s, why);
}

/*
 * Answer the registrar ourselves.  Used for refusals (the session goes on)
 * and for fatal conditions (close_after is set).
 */
static void
reply_self(struct session *s, int code, const char *reason,
    const char *cltrid, int close_after)
{
	char sv[96], *xml;
	size_t len;

	svtrid(s, sv, sizeof(sv));
	xml = reply_build(code, reason, NULL, cltrid, sv, &len);
	if (xml == NULL || send_client(s, xml, len) != 0) {
		free(xml);
		session_close(s, "out of memory");
		return;
	}
	free(xml);
	log_info("session %llu: replied %d %s (svTRID %s)",
	    (unsigned long long)s->id, code, reason, sv);
	if (close_after)
		close_after_flush(s, reason);
}

/* The registry is gone: 2500 upstream_unavailable, then close. */
static void
upstream_failed(struct session *s, const char *why)
{
	if (s->state == ST_DEAD || s->state == ST_CLOSING)
		return;
	log_warn("session %llu: upstream %s: %s", (unsigned long long)s->id,
	    s->cfg->up_address.text, why);
	reply_self(s, 2500, "upstream_unavailable", s->cltrid, 1);
}

static void
set_ready(struct session *s)
{
	struct timeval idle = { (time_t)s->cfg->idle_timeout, 0 };

	s->state = ST_READY;
	event_del(s->up_deadline);
	bufferevent_set_timeouts(s->cbev, &idle, NULL);
	bufferevent_enable(s->cbev, EV_READ);
}

/* Send one frame to the registry and wait for its reply. */
static void
forward(struct session *s, const uint8_t *xml, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	struct evbuffer *out = bufferevent_get_output(s->ubev);

	if (frame_header_write(hdr, len) != 0 ||
	    evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    evbuffer_add(out, xml, len) != 0) {
		reply_self(s, 2400, "internal", s->cltrid, 1);
		return;
	}
	s->state = ST_WAIT_REPLY;
	s->ncmds++;
	clock_gettime(CLOCK_MONOTONIC, &s->sent);
	bufferevent_disable(s->cbev, EV_READ);
	arm(s->up_deadline, s->cfg->up_reply_timeout);
}

/* One complete frame from the registrar: parse, judge, forward. */
static void
handle_command(struct session *s, const uint8_t *xml, size_t len)
{
	struct epp_msg *m = NULL;
	const char *why;

	clear_inflight(s);
	if (epp_parse(xml, len, &m, &why) != 0) {
		log_notice("session %llu: syntax error from %s: %s",
		    (unsigned long long)s->id, s->principal->name, why);
		reply_self(s, 2001, "syntax", NULL, 0);
		return;
	}
	if (epp_msg_cltrid(m) != NULL && (s->cltrid =
	    strndup(epp_msg_cltrid(m), 64)) == NULL)
		goto nomem;
	switch (epp_msg_kind(m)) {
	case EPP_KIND_HELLO:
		break;
	case EPP_KIND_COMMAND:
		s->cmd = epp_msg_cmd(m);
		if (s->cmd != EPP_CMD_LOGIN)
			break;
		if (!principal_may_use_clid(s->principal,
		    epp_msg_login_clid(m))) {
			log_notice("session %llu: principal %s may not log "
			    "in as clID \"%.16s\"", (unsigned long long)s->id,
			    s->principal->name, epp_msg_login_clid(m));
			reply_self(s, 2200, "clid_not_allowed", s->cltrid, 0);
			goto out;
		}
		if ((s->login_clid = strdup(epp_msg_login_clid(m))) == NULL)
			goto nomem;
		break;
	default:
		log_notice("session %llu: %s sent a message that is not a "
		    "command", (unsigned long long)s->id, s->principal->name);
		reply_self(s, 2001, "syntax", s->cltrid, 0);
		goto out;
	}
	log_debug("session %llu: %s %s clTRID=%.64s forwarded",
	    (unsigned long long)s->id, s->principal->name,
	    epp_msg_kind(m) == EPP_KIND_HELLO ? "hello" : epp_cmd_name(s->cmd),
	    s->cltrid ? s->cltrid : "-");
	/* TODO(issue 3): forward the serialisation of the judged tree. */
	forward(s, xml, len);
out:
	epp_msg_free(m);
	return;
nomem:
	epp_msg_free(m);
	reply_self(s, 2400, "internal", NULL, 1);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case ST_HANDSHAKE:
		log_notice("session %llu: %s: TLS handshake timed out",
		    (unsigned long long)s->id, s->peer);
		session_close(s, "handshake timeout");
		break;
	case ST_READY:
		log_notice("session %llu: %s: frame not complete after %us",
		    (unsigned long long)s->id, s->principal->name,
		    s->cfg->frame_timeout);
		session_close(s, "frame timeout");
		break;
	default:
		session_close(s, "registrar did not read its reply");
		break;
	}
}

static void
up_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	upstream_failed(s, s->state == ST_WAIT_REPLY ? "no reply in time" :
	    "no connection or greeting in time");
}

/*
 * Take every complete frame the registrar has sent, one at a time.  Stops
 * when a command is in flight, when input runs out, or when the session
 * ends.
 */
static void
client_input(struct session *s)
{
	struct evbuffer *in;
	uint8_t hdr[FRAME_HEADER_LEN], *xml;
	size_t avail, plen;
	uint32_t total = 0;
	enum frame_status fs;

	while (s->state == ST_READY) {
		in = bufferevent_get_input(s->cbev);
		avail = evbuffer_get_length(in);
		if (avail == 0) {
			event_del(s->deadline);
			return;
		}
		evbuffer_copyout(in, hdr, sizeof(hdr));
		fs = frame_header_parse(hdr, avail, s->cfg->max_frame, &plen,
		    &total);
		if (fs == FRAME_TOO_SHORT || fs == FRAME_TOO_LONG) {
			log_warn("session %llu: %s: %s (%lu bytes announced, "
			    "maximum %zu): closing", (unsigned long long)s->id,
			    s->principal->name, frame_status_str(fs),
			    (unsigned long)total, s->cfg->max_frame);
			session_close(s, "bad frame length");
			return;
		}
		if (fs == FRAME_NEED_MORE || avail < FRAME_HEADER_LEN + plen) {
			/* A started frame must finish within frame_timeout. */
			if (!event_pending(s->deadline, EV_TIMEOUT, NULL))
				arm(s->deadline, s->cfg->frame_timeout);
			return;
		}
		event_del(s->deadline);
		evbuffer_drain(in, FRAME_HEADER_LEN);
		if ((xml = malloc(plen)) == NULL) {
			session_close(s, "out of memory");
			return;
		}
		evbuffer_remove(in, xml, plen);
		handle_command(s, xml, plen);
		free(xml);
	}
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_input(arg);
}

/* The registrar's certificate must name a configured principal. */
static int
identify(struct session *s)
{
	uint8_t fp[32];
	SSL *ssl = bufferevent_openssl_get_ssl(s->cbev);

	if (tls_peer_fingerprint(ssl, fp) != 0) {
		log_warn("session %llu: %s: no client certificate",
		    (unsigned long long)s->id, s->peer);
		return -1;
	}
	tls_fp_hex(fp, s->fp_hex, sizeof(s->fp_hex));
	if ((s->principal = config_principal_by_fp(s->cfg, fp)) == NULL) {
		log_warn("session %llu: %s: certificate %s is not mapped to "
		    "a principal: refused", (unsigned long long)s->id, s->peer,
		    s->fp_hex);
		return -1;
	}
	log_info("session %llu: %s: principal %s (%s, %s)",
	    (unsigned long long)s->id, s->peer, s->principal->name,
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	return 0;
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t avail, plen;
	uint32_t total = 0;
	enum frame_status fs;
	int code = -1;

	while (s->state == ST_GREETING || s->state == ST_WAIT_REPLY) {
		avail = evbuffer_get_length(in);
		if (avail < FRAME_HEADER_LEN)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		fs = frame_header_parse(hdr, avail, s->cfg->max_frame, &plen,
		    &total);
		if (fs == FRAME_TOO_SHORT || fs == FRAME_TOO_LONG) {
			upstream_failed(s, frame_status_str(fs));
			return;
		}
		if (avail < FRAME_HEADER_LEN + plen)
			return;
		if (s->cmd == EPP_CMD_LOGIN || s->cmd == EPP_CMD_LOGOUT) {
			/* We track the login: later policy needs the clID. */
			struct epp_msg *m = NULL;
			const char *why;
			uint8_t *xml = evbuffer_pullup(in,
			    (ev_ssize_t)(FRAME_HEADER_LEN + plen));

			if (xml != NULL && epp_parse(xml + FRAME_HEADER_LEN,
			    plen, &m, &why) == 0)
				code = epp_msg_result_code(m);
			epp_msg_free(m);
		}
		/* Relay the registry's bytes unchanged, header included. */
		if (evbuffer_remove_buffer(in, bufferevent_get_output(s->cbev),
		    FRAME_HEADER_LEN + plen) < 0) {
			session_close(s, "relay failed");
			return;
		}
		if (s->state == ST_GREETING) {
			log_debug("session %llu: greeting relayed",
			    (unsigned long long)s->id);
			set_ready(s);
			client_input(s);
			continue;
		}
		if (s->cmd == EPP_CMD_LOGIN && code >= 1000 && code < 2000) {
			snprintf(s->clid, sizeof(s->clid), "%s", s->login_clid);
			log_info("session %llu: %s logged in as %s",
			    (unsigned long long)s->id, s->principal->name,
			    s->clid);
		}
		if (s->cmd == EPP_CMD_LOGOUT || (code >= 2500 && code < 2600)) {
			close_after_flush(s, "registry ended the session");
			return;
		}
		clear_inflight(s);
		set_ready(s);
		client_input(s);
	}
	if (s->state == ST_READY && evbuffer_get_length(in) > 0) {
		/* The registry spoke out of turn: its session is not sane. */
		upstream_failed(s, "unsolicited data from the registry");
	}
}

static const char *
ssl_reason(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e;
	const char *r = NULL;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (r == NULL) {
			ERR_error_string_n(e, buf, len);
			r = buf;
		}
	if (r == NULL && EVUTIL_SOCKET_ERROR() != 0) {
		snprintf(buf, len, "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		r = buf;
	}
	return r ? r : "connection closed";
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("session %llu: upstream connected (%s)",
		    (unsigned long long)s->id,
		    SSL_get_version(bufferevent_openssl_get_ssl(bev)));
		s->state = ST_GREETING;
		return;
	}
	if (what & BEV_EVENT_EOF)
		upstream_failed(s, "closed by the registry");
	else
		upstream_failed(s, ssl_reason(bev, buf, sizeof(buf)));
}

static int
connect_upstream(struct session *s)
{
	SSL *ssl;
	const struct config *cfg = s->cfg;

	if ((ssl = tls_client_new(s->client_ctx, cfg->up_server_name)) ==
	    NULL)
		return -1;
	s->ubev = bufferevent_openssl_socket_new(s->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->ubev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->ubev, 1);
	bufferevent_setcb(s->ubev, up_read_cb, NULL, up_event_cb, s);
	s->state = ST_CONNECTING;
	arm(s->up_deadline, cfg->up_connect_timeout);
	if (bufferevent_socket_connect(s->ubev,
	    (const struct sockaddr *)&cfg->up_address.ss,
	    (int)cfg->up_address.len) != 0) {
		/* The event callback may already have run and replied. */
		return 0;
	}
	set_nodelay(bufferevent_getfd(s->ubev));
	bufferevent_enable(s->ubev, EV_READ);
	return 0;
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		event_del(s->deadline);
		if (identify(s) != 0) {
			session_close(s, "unknown client certificate");
			return;
		}
		/* Hold registrar input until the registry has greeted us. */
		bufferevent_disable(s->cbev, EV_READ);
		if (connect_upstream(s) != 0) {
			upstream_failed(s, "cannot set up the connection");
			return;
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_notice("session %llu: %s idle for %us",
		    (unsigned long long)s->id, s->principal ?
		    s->principal->name : s->peer, s->cfg->idle_timeout);
		session_close(s, "idle timeout");
		return;
	}
	if (s->state == ST_HANDSHAKE) {
		log_warn("session %llu: %s: TLS handshake failed: %s",
		    (unsigned long long)s->id, s->peer,
		    ssl_reason(bev, buf, sizeof(buf)));
		session_close(s, "handshake failed");
		return;
	}
	session_close(s, (what & BEV_EVENT_EOF) ? "registrar disconnected" :
	    ssl_reason(bev, buf, sizeof(buf)));
}

int
session_start(struct proxy *p, struct session_list *list, uint64_t id,
    evutil_socket_t fd, const struct sockaddr *sa)
{
	struct session *s;
	SSL *ssl = NULL;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	s->id = id;
	s->proxy = p;
	s->base = proxy_base(p);
	s->cfg = config_ref(proxy_config(p));
	s->server_ctx = proxy_server_ctx(p);
	s->client_ctx = proxy_client_ctx(p);
	SSL_CTX_up_ref(s->server_ctx);
	SSL_CTX_up_ref(s->client_ctx);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const void *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(s->peer, sizeof(s->peer), "%s:%d", host, port);
	set_nodelay(fd);

	s->deadline = evtimer_new(s->base, deadline_cb, s);
	s->up_deadline = evtimer_new(s->base, up_deadline_cb, s);
	if (s->deadline == NULL || s->up_deadline == NULL ||
	    (ssl = SSL_new(s->server_ctx)) == NULL)
		goto fail;
	s->cbev = bufferevent_openssl_socket_new(s->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL)
		goto fail;
	fd = -1;
	ssl = NULL;
	bufferevent_openssl_set_allow_dirty_shutdown(s->cbev, 1);
	/* Never hold more than one frame (plus a TLS record) per session. */
	bufferevent_setwatermark(s->cbev, EV_READ, 0, s->cfg->max_frame +
	    16384);
	bufferevent_setcb(s->cbev, client_read_cb, NULL, client_event_cb, s);
	bufferevent_enable(s->cbev, EV_READ);
	arm(s->deadline, s->cfg->handshake_timeout);
	log_debug("session %llu: connection from %s", (unsigned long long)id,
	    s->peer);
	s->list = list;
	s->next = list->head;
	if (list->head != NULL)
		list->head->prev = s;
	list->head = s;
	list->count++;
	return 0;
fail:
	log_err("session %llu: cannot set up the session",
	    (unsigned long long)id);
	SSL_free(ssl);
	if (fd != -1)
		evutil_closesocket(fd);
	release(s);
	config_unref(s->cfg);
	SSL_CTX_free(s->server_ctx);
	SSL_CTX_free(s->client_ctx);
	free(s);
	return -1;
}
