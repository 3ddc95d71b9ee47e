/*
 * proxy.h: the registrar-facing listener and the set of live sessions.
 *
 * The proxy owns its listener, the live sessions, the admission requests
 * and the counts per address; what the sessions share (configuration, TLS
 * contexts, links to the other processes) is the worker's session_env
 * (session.h), which the proxy hands to each session it starts.
 */
#ifndef EPPGW_PROXY_H
#define EPPGW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct err;
struct proxy;
struct session;
struct session_env;

/*
 * env (not copied: it must outlive the proxy) is what every session gets.
 * Sessions are numbered from first_id + 1 (unique in the daemon's log).
 * Admission (below): send(arg, type, id, msg) hands a message to the
 * parent (msg stolen; 0 once queued).  NULL on failure, with e filled
 * (err.h).
 */
struct proxy *proxy_new(const struct session_env *env, uint64_t first_id,
    int (*send)(void *arg, uint16_t type, uint32_t id, json_t *msg),
    void *arg, struct err *e);
void proxy_free(struct proxy *p);

/*
 * Take sessions from fd, a socket bound and listening on
 * cfg->gateway.listen (the parent's, shared by every worker); taken, also
 * on failure.  Accepting starts with proxy_start_accepting.  -1 with e
 * filled (ERR_SYSTEM).
 */
int proxy_listen(struct proxy *p, int fd, struct err *e);
void proxy_start_accepting(struct proxy *p);

/* Stop accepting new sessions. */
void proxy_stop_accepting(struct proxy *p);
/*
 * Drain: stop accepting, let commands in flight finish, and exit the event
 * loop once the last session is gone.
 */
void proxy_drain(struct proxy *p);
/*
 * Retire (after a reload): stop accepting, but let every session run to
 * its natural end with the configuration it started with; exit the event
 * loop once the last one is gone.
 */
void proxy_retire(struct proxy *p);
size_t proxy_session_count(const struct proxy *p);

/* Called by a session when it has released everything. */
void proxy_session_gone(struct proxy *p, struct session *s);

/*
 * Fair sharing: sessions per source address and per principal, each held
 * below its own cap (max_sessions_per_address, max_sessions_per_principal)
 * so that one client cannot take every session.  take: -1 at the cap (or
 * out of memory), else counted; drop undoes one take.
 */
enum proxy_count {
	PROXY_PER_ADDRESS = 0,
	PROXY_PER_PRINCIPAL
};
int proxy_count_take(struct proxy *p, enum proxy_count c, const char *key,
    unsigned max);
void proxy_count_drop(struct proxy *p, enum proxy_count c, const char *key);

/*
 * Admission: max_sessions and the caps per principal and per address
 * hold for the whole daemon, so the parent counts every worker's sessions
 * (IPC_ADMIT, IPC_LEAVE, sent through proxy_new's send).  A worker stops
 * accepting only when it alone holds max_sessions (handshakes included).
 * Each worker also counts its own sessions per address at accept
 * (proxy_count_take), which keeps one address from costing TLS handshakes
 * beyond its cap.
 *
 * proxy_admit: ask for s, now identified as principal from addr:
 * session_admitted(s, ...) follows unless proxy_admit_cancel(token) comes
 * first.  0 with *token set; -1 when the parent cannot be asked (refuse
 * the session).
 */
int proxy_admit(struct proxy *p, struct session *s, const char *addr,
    const char *principal, uint32_t *token);
void proxy_admit_cancel(struct proxy *p, uint32_t token);
/* An admitted session ended. */
void proxy_leave(struct proxy *p, uint32_t token);
/* The parent's answer (why: a cap's name when refused). */
void proxy_admitted(struct proxy *p, uint32_t token, int ok,
    const char *why);
/* The parent is gone: every answer awaited is a refusal. */
void proxy_admission_lost(struct proxy *p);

#endif
