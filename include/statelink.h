/*
 * statelink.h: registry truth as a worker sees it: a copy of the watch
 * process's store (regstate.h), kept equal to it over a channel, and the
 * questions a worker puts to the watch session (watch.h).
 *
 * The watch process owns the store and the watch session; every worker
 * (there may be several) judges commands against its own copy, so judging
 * never waits for another process unless the policy needs an object the
 * store does not hold (then statelink_ask).  The watch process sends the
 * whole store when the channel is made (IPC_STATE_SYNC) and then every
 * object that changes, is evicted or goes (IPC_STATE_PUT), in the order
 * the store changed; an answer to an ask is sent after the reading it
 * caused, so the copy holds the answer when the callback runs.
 *
 * The worker tells the watch process what it saw: an info reply relayed
 * to a registrar (IPC_STATE_SEEN) and a change the registry executed
 * (IPC_STATE_CHANGED, so that the next reading of that object is not
 * called drift).
 */
#ifndef EPPGW_STATELINK_H
#define EPPGW_STATELINK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "regstate.h"

struct epp_msg;
struct statelink;

/*
 * copy: the store the worker judges against (not owned; it must outlive
 * the link).  askable: a watch session is configured (regstate_askable
 * is set on copy).  ask_timeout: seconds an ask may wait before it fails.
 */
struct statelink *statelink_new(struct event_base *base,
    struct regstate *copy, int askable, unsigned ask_timeout);
/* Asks still waiting are dropped (their callbacks do not run). */
void statelink_free(struct statelink *l);
/* A (new) channel to the watch process; asks waiting on the old one fail.
 * The copy is replaced when the store arrives.  -1: fd closed. */
int statelink_attach(struct statelink *l, int fd);
/* Called once the store has arrived on a channel (each time). */
void statelink_on_ready(struct statelink *l, void (*fn)(void *), void *arg);
/* Called when the channel closes (the watch process died, or the channel
 * failed). */
void statelink_on_lost(struct statelink *l, void (*fn)(void *), void *arg);
/* Whether a store has arrived on the channel in use. */
int statelink_ready(const struct statelink *l);
/* Whether an ask can be made now (ready, and a watch session exists). */
int statelink_askable(const struct statelink *l);

/* Ask the watch session about a domain now: cb(arg, 0) once the answer
 * is in the copy, cb(arg, -1) when it cannot be had (also from within
 * this call). */
void statelink_ask(struct statelink *l, const char *domain,
    void (*cb)(void *arg, int ok), void *arg);
/* Forget every ask made with arg (a session going away). */
void statelink_cancel(struct statelink *l, void *arg);
/* The registry executed a change to this object (watch_changed). */
void statelink_changed(struct statelink *l, enum rs_kind k, const char *name,
    unsigned classes);
/* A reply relayed to a registrar: an info reply's facts go to the watch
 * process; without a watch session they also go into the copy at once. */
void statelink_reply(struct statelink *l, const struct epp_msg *reply,
    int64_t now);

/*
 * An object as the IPC_STATE_* messages carry it, for both ends (this
 * link and the watch process): {"k": "d" | "h", "n": NAME, "f": [FACT]}.
 */
#define STATELINK_FACTS_MAX	4096	/* facts of one object */
const char *statelink_kind_name(enum rs_kind k);	/* "d", "h" */
/* "k" and "n" of j: 0 with *name borrowed from j, or -1 (malformed). */
int statelink_object(const json_t *j, enum rs_kind *k, const char **name);
/* "f" of j: 0 with *facts a new array (free it) of strings borrowed from
 * j, or -1 (malformed, too many, out of memory). */
int statelink_facts(const json_t *j, const char ***facts, size_t *n);

#endif
