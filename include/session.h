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
#include <openssl/ssl.h>

struct alertlink;
struct auditlink;
struct config;
struct event_base;
struct metric;
struct metrics;
struct policy;
struct proxy;
struct regstate;
struct session;
struct statelink;
struct vaultlink;

/*
 * What a session needs from its worker: the event loop, the configuration
 * and TLS contexts, and the links to the other processes.  One per worker,
 * owned and filled by worker.c before the proxy is made, handed to
 * proxy_new() and by the proxy to every session it starts, and freed after
 * the proxy.  Nothing in it is replaced while the worker runs: a link whose
 * peer process restarts keeps its object and is given the new channel
 * (auditlink_attach() and the like), and a reload starts new workers while
 * this one retires with what it has.  A session takes its own references
 * to cfg and client_ctx (the ones it started with).
 */
struct session_env {
	struct event_base	*base;
	struct config		*cfg;
	/* What every command is judged against: the configuration's policy
	 * with this worker's live lock list and key (worker.c). */
	const struct policy	*policy;
	SSL_CTX			*server_ctx;	/* registrar leg (mTLS) */
	SSL_CTX			*client_ctx;	/* registry leg */
	/* Registry truth: this worker's copy of the watch process's store,
	 * which every judgement consults, and the link that keeps it equal
	 * to that store and asks the watch session (statelink.h). */
	struct regstate		*regstate;
	struct statelink	*state;
	struct vaultlink	*vault;		/* approvals; NULL: none */
	struct auditlink	*audit;		/* NULL: no audit log */
	struct alertlink	*alerter;	/* NULL: no alerts */
	const struct session_metrics *metrics;	/* the worker's */
	const char		*run_id;	/* unique to this run of the
						   daemon, for svTRIDs */
};

/*
 * The series sessions count (metrics.h), registered by the worker into its
 * registry with session_metrics_register() and reached through
 * session_env.  -1 when out of memory.
 */
struct session_metrics {
	struct metric	*open;			/* gauge */
	struct metric	*total;
	struct metric	*handshake_failures;
	struct metric	*upstream_errors;
	struct metric	*audit_failures;
	struct metric	*commands;		/* command, decision */
	struct metric	*replies;		/* src, code */
};
int session_metrics_register(struct metrics *m, struct session_metrics *sm);

/* The live sessions, linked through the sessions themselves. */
struct session_list {
	struct session	*head;
	size_t		 count;
};

/*
 * Start a session on an accepted socket and add it to list; env must
 * outlive it.  The session owns fd from here on, also on failure.  Returns
 * -1 if it could not be set up (fd is closed, nothing else happens).  A
 * started session calls proxy_session_gone() once it has released
 * everything.
 */
int session_start(struct proxy *p, const struct session_env *env,
    struct session_list *list, uint64_t id, evutil_socket_t fd,
    const struct sockaddr *sa);

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
