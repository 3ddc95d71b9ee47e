/*
 * session.h: one registrar session and its upstream registry session.
 *
 * A session relays EPP frames between the registrar (mutual TLS, accepted by
 * the proxy) and one upstream TLS session to the registry, opened when the
 * registrar's handshake completes.  Commands are handled one at a time, in
 * order: frame -> parse -> judge -> forward -> relay the reply.
 */
#ifndef EPPGW_SESSION_H
#define EPPGW_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

struct proxy;
struct session;

/* The live sessions, linked through the sessions themselves. */
struct session_list {
	struct session	*head;
	size_t		 count;
};

/*
 * Start a session on an accepted socket and add it to list.  The session
 * owns fd from here on, also on failure.  Returns -1 if it could not be set
 * up (fd is closed, nothing else happens).  A started session calls
 * proxy_session_gone() once it has released everything.
 */
int session_start(struct proxy *p, struct session_list *list, uint64_t id,
    evutil_socket_t fd, const struct sockaddr *sa);

/* Tear every session down at once (daemon shutdown). */
void session_abort_all(struct session_list *list);
/*
 * The parent's answer to proxy_admit: ok, or refused (why: the cap's
 * name, e.g. "max_sessions_per_principal"), and the session closes.
 */
void session_admitted(struct session *s, int ok, const char *why);

/*
 * Drain: idle sessions close now; a session with a command in flight closes
 * once its reply has been relayed.  Nothing new is taken from registrars.
 */
void session_drain_all(struct session_list *list);

#endif
