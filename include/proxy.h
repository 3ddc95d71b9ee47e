/*
 * proxy.h: the registrar-facing listener and the set of live sessions.
 *
 * The proxy owns the current configuration and its TLS contexts.  Each
 * session takes its own references to them when it starts, so a reload
 * (proxy_reload) affects new sessions only.
 */
#ifndef EPPGW_PROXY_H
#define EPPGW_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

struct alertlink;
struct auditlink;
struct config;
struct metrics;
struct proxy;
struct regstate;
struct session;
struct vaultlink;
struct statelink;

/* Takes a reference to cfg.  NULL with a reason in err on failure. */
struct proxy *proxy_new(struct event_base *base, struct config *cfg,
    char *err, size_t errlen);
void proxy_free(struct proxy *p);

/*
 * Take sessions from fd, a socket bound and listening on cfg->listen (the
 * parent's, shared by every worker); taken, also on failure.  Accepting
 * starts with proxy_start_accepting.  -1 with a reason in err.
 */
int proxy_listen(struct proxy *p, int fd, char *err, size_t errlen);
void proxy_start_accepting(struct proxy *p);

/* Swap in a new configuration for new sessions; -1 keeps the old one. */
int proxy_reload(struct proxy *p, struct config *cfg, char *err,
    size_t errlen);

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

/* For sessions: the state every session started now shares. */
struct event_base *proxy_base(const struct proxy *p);
struct config *proxy_config(const struct proxy *p);
SSL_CTX *proxy_server_ctx(const struct proxy *p);
SSL_CTX *proxy_client_ctx(const struct proxy *p);
/* The channel to the vault (approvals), or NULL when not configured. */
struct vaultlink *proxy_vault(const struct proxy *p);
void proxy_set_vault(struct proxy *p, struct vaultlink *v);
/*
 * Registry truth (regstate.h): this worker's copy of the watch process's
 * store, which every judgement consults, and the link that keeps it equal
 * to that store and asks the watch session (statelink.h).
 */
struct regstate *proxy_regstate(const struct proxy *p);
struct statelink *proxy_state(const struct proxy *p);
void proxy_set_state(struct proxy *p, struct statelink *l);
/* The channel to the alerter, or NULL when not configured. */
struct alertlink *proxy_alerter(const struct proxy *p);
void proxy_set_alerter(struct proxy *p, struct alertlink *a);
/* The metrics (owned by the daemon), or NULL. */
struct metrics *proxy_metrics(const struct proxy *p);
void proxy_set_metrics(struct proxy *p, struct metrics *m);
/* The channel to the audit writer, or NULL when not configured. */
struct auditlink *proxy_audit(const struct proxy *p);
void proxy_set_audit(struct proxy *p, struct auditlink *a);
/* Sessions are numbered from after + 1 (unique in the daemon's log). */
void proxy_set_first_session(struct proxy *p, uint64_t after);
/* A prefix unique to this run of the daemon, for svTRIDs. */
const char *proxy_run_id(const struct proxy *p);
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
 * (IPC_ADMIT, IPC_LEAVE).  A worker stops accepting only when it alone
 * holds max_sessions (handshakes included).  send(arg, type, id, msg) hands a message to it (msg
 * stolen; 0 once queued).  Each worker also counts its own sessions per
 * address at accept (proxy_count_take), which keeps one address from
 * costing TLS handshakes beyond its cap.
 */
void proxy_set_admission(struct proxy *p, int (*send)(void *arg,
    uint16_t type, uint32_t id, json_t *msg), void *arg);
/*
 * Ask for s, now identified as principal from addr: session_admitted(s,
 * ...) follows unless proxy_admit_cancel(token) comes first.  0 with
 * *token set; -1 when the parent cannot be asked (refuse the session).
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
