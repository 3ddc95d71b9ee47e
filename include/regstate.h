/*
 * regstate.h: what the registry says about the objects the gateway
 * watches (DESIGN.md section 4: locked objects' state comes from the
 * registry itself, over the gateway's own watch session).
 *
 * An object (a domain or a host) is its name and a sorted set of facts,
 * one short canonical line each:
 *
 *   domain  status=clientUpdateProhibited   ns=ns1.locked.example
 *           ds=12345 13 2 2BB1...           key=257 3 13 AwEAAb...
 *           registrant=reg-1                contact=admin:adm-1
 *   host    addr=v4:192.0.2.1               status=linked
 *   either  exists=0 (the registry answered 2303)
 *
 * plus when it was last read from the registry.  Facts make the two things
 * the gateway does with registry state simple: ask questions of it (which
 * locked domains use this host? name this contact?) and compare two
 * readings of one object (drift): the difference of two sorted sets.
 *
 * Pure data: no I/O, no clock (callers pass the time).  A dump and a load
 * (JSON) let the daemon persist it.  Size is bounded: when full, the
 * object read longest ago that is not pinned (watched because it is
 * locked or serves a locked domain) is evicted; if all are pinned, a new
 * object is refused.
 */
#ifndef EPPGW_REGSTATE_H
#define EPPGW_REGSTATE_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct regstate;
struct rs_obj;

enum rs_kind {
	RS_DOMAIN = 0,
	RS_HOST
};

#define RS_FACT_LEN	1024	/* buffer for the longest fact kept */

struct regstate *regstate_new(size_t max_objects);
void regstate_free(struct regstate *rs);
size_t regstate_count(const struct regstate *rs);
size_t regstate_max(const struct regstate *rs);

/* The object, or NULL. */
const struct rs_obj *regstate_get(const struct regstate *rs, enum rs_kind k,
    const char *name);
const char *rs_obj_name(const struct rs_obj *o);
enum rs_kind rs_obj_kind(const struct rs_obj *o);
int64_t rs_obj_refreshed(const struct rs_obj *o);	/* unix seconds */
/*
 * When a reading last found facts other than the one before it (unix
 * seconds); 0 when none has since the object was first held: a first
 * reading is no change, as what came before it is not known.  Lets an
 * approver see that the registry moved after a change was requested.
 */
int64_t rs_obj_changed(const struct rs_obj *o);
int rs_obj_pinned(const struct rs_obj *o);
size_t rs_obj_nfacts(const struct rs_obj *o);
const char *rs_obj_fact(const struct rs_obj *o, size_t i);
int rs_obj_has(const struct rs_obj *o, const char *fact);
/* Whether the registry said the object does not exist. */
int rs_obj_absent(const struct rs_obj *o);

/*
 * The difference between two readings of an object: facts gone and facts
 * new, each sorted.  Owned by the diff; free with rs_diff_clear.
 */
struct rs_diff {
	char	**gone;
	size_t	  ngone;
	char	**added;
	size_t	  nadded;
	int	  first;	/* the object was not held before */
};
void rs_diff_clear(struct rs_diff *d);

/*
 * Replace what is held about an object with a new reading (facts need not
 * be sorted or unique; longer than RS_FACT_LEN - 1 is refused), made at
 * now.
 * diff (may be NULL) gets the difference to the previous reading.  0, or
 * -1 when the store is full of pinned objects or out of memory.
 */
int regstate_put(struct regstate *rs, enum rs_kind k, const char *name,
    const char *const *facts, size_t nfacts, int64_t now, struct rs_diff *diff);
/* Pin or unpin an object (a no-op for one not held). */
void regstate_pin(struct regstate *rs, enum rs_kind k, const char *name,
    int pinned);
void regstate_del(struct regstate *rs, enum rs_kind k, const char *name);

/* The domains whose NS set holds host, and those that name contact id
 * (registrant or contact): up to max names (pointers into the store). */
size_t regstate_domains_using_host(const struct regstate *rs,
    const char *host, const char **out, size_t max);
size_t regstate_domains_naming_contact(const struct regstate *rs,
    const char *id, const char **out, size_t max);

/*
 * Whether a watch session stands behind the store, so that an object not
 * held can be asked for (policy.h: need_state).  Off by default: then
 * what is not held is simply not known.
 */
void regstate_set_askable(struct regstate *rs, int askable);
int regstate_askable(const struct regstate *rs);

/*
 * Told of every object added, read again, pinned, unpinned, removed or
 * evicted: fn(arg, kind, name) after the change (regstate_get then says
 * what the object is now, or NULL).  Lets the watch process keep the
 * workers' copies equal to its store (statelink.h).  NULL: none.
 */
void regstate_set_observer(struct regstate *rs, void (*fn)(void *arg,
    enum rs_kind k, const char *name), void *arg);
/* Forget every object (the observer is not told).  -1: out of memory,
 * nothing changed. */
int regstate_clear(struct regstate *rs);
/* Hold an object exactly as another store holds it (a worker's copy of
 * the watch process's store).  0, or -1 as regstate_put. */
int regstate_mirror(struct regstate *rs, enum rs_kind k, const char *name,
    const char *const *facts, size_t nfacts, int64_t refreshed,
    int64_t changed, int pinned);

/* Iterate over every object: *cursor starts at 0; NULL at the end. */
const struct rs_obj *regstate_next(const struct regstate *rs, size_t *cursor);

/*
 * JSON: {"v":1,"objects":[{"kind":"domain","name":..,"refreshed":..,
 * "changed":..,"pinned":..,"facts":[..]},..]} ("changed" may be absent).
 * Dump returns a malloc'd string.  Load adds to rs (meant for an empty
 * store at start); on an error (-1, e filled: ERR_PARSE, ERR_INVALID,
 * ERR_LIMIT or ERR_NOMEM) nothing was added.
 */
char *regstate_dump(const struct regstate *rs, size_t *len);
int regstate_load(struct regstate *rs, const char *json, size_t len,
    struct err *e);

#endif
