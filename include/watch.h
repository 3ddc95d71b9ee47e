/*
 * watch.h: the gateway's own EPP session to the registry, and the store of
 * registry truth it keeps (DESIGN.md sections 2 and 4).
 *
 * What the gateway knows about a locked object must not depend on what an
 * attacker chose to send through it.  So the watch session logs in with
 * its own login ([upstream] clid, password_file), reads every locked
 * object with domain:info and host:info at start, after each reload, every
 * `refresh` seconds, and right after any change the gateway forwarded to
 * it, and keeps what it read in a regstate (regstate.h), persisted in
 * `state` (replaced atomically, so it survives kill -9).  It never sends
 * anything but login, logout, hello, poll request, check and info.
 *
 * What it watches: the domains on the lock list, domains seen through the
 * gateway that a lock pattern or their own UpdateProhibited status locks,
 * and every host in those domains' NS sets.
 *
 * A reading that differs from the last one, where no change the gateway
 * forwarded explains the difference, is drift: an `observation` audit
 * record, a signed `drift` alert, a metric, and an entry for
 * `eppgwctl drift`.
 *
 * Without [upstream] clid there is no watch session: the store is then fed
 * only by info replies registrars receive through the gateway, held in
 * memory, and nothing is asked of the registry.
 */
#ifndef EPPGW_WATCH_H
#define EPPGW_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "regstate.h"

struct alertlink;
struct auditlink;
struct config;
struct epp_msg;
struct err;
struct policy;
struct watch;

/*
 * Start watching with cfg's [upstream] settings, keeping what is read in
 * rs; pol says which domains are locked (the watch process's, with its
 * live lock list).  Neither is owned: both must outlive the watch.  Loads
 * the state file into rs first.  NULL with e filled (err.h) on failure:
 * ERR_INVALID for a password or state file that cannot be read,
 * ERR_CORRUPT for a state file that does not load (that refuses the start:
 * truth must not be silently forgotten).  The message never holds the
 * password.
 */
struct watch *watch_new(struct event_base *base, struct config *cfg,
    const struct policy *pol, SSL_CTX *client_ctx, struct regstate *rs,
    struct err *e);
void watch_free(struct watch *w);
void watch_set_audit(struct watch *w, struct auditlink *a);
void watch_set_alerter(struct watch *w, struct alertlink *a);
/*
 * Who keeps the state file: fn(arg, json, len) returns 0 once it is kept
 * (a sandboxed worker hands it to the parent, which writes it); without
 * one the watch replaces the file itself.
 */
void watch_set_saver(struct watch *w, int (*fn)(void *arg, const char *json,
    size_t len), void *arg);

/* Whether the watch session is logged in now. */
int watch_ready(const struct watch *w);

/*
 * Ask the registry about a domain now, ahead of the refresh queue (the
 * policy needs its state before judging a command).  cb(arg, 0) once the
 * answer is in the store, cb(arg, -1) if it cannot be had (session down,
 * error reply, timeout).  The callback may come from within this call.
 */
void watch_ask(struct watch *w, const char *domain,
    void (*cb)(void *arg, int ok), void *arg);

/*
 * The registry executed a change the gateway forwarded: what changes in
 * these classes (change.h) at the next reading is explained, not drift;
 * and that reading happens now.
 */
void watch_changed(struct watch *w, enum rs_kind k, const char *name,
    unsigned classes);

/*
 * A domain:info or host:info reply (code 1000) as the object it describes:
 * 0 with *facts a new array of pointers into m (free it), or -1 when m is
 * not one.
 */
int watch_reply_facts(const struct epp_msg *m, enum rs_kind *k,
    const char **name, const char ***facts, size_t *n);
/*
 * What an info reply that reached a registrar says is registry truth too:
 * with a watch session (w), it only says which objects to watch (the
 * session reads them itself); without one (w NULL), rs is updated.
 */
void watch_seen(struct watch *w, struct regstate *rs, enum rs_kind k,
    const char *name, const char *const *facts, size_t n, int64_t now);

/* The recent drift observations, newest last (for the admin API). */
json_t *watch_drift_json(const struct watch *w);
/* An object's state as JSON (facts, refreshed, watched), or NULL. */
json_t *watch_state_json(const struct watch *w, const struct regstate *rs,
    const char *name);

/* Prometheus text for the metrics listener. */
void watch_metrics(const struct watch *w, const struct regstate *rs,
    struct evbuffer *out);

#endif
