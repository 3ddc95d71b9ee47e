/*
 * policy.h: judge a parsed EPP command against the lock policy.
 *
 * Pure decision code: no I/O, no clock.  A command is allowed unless it
 * touches a locked object (a locked domain, a host subordinate to one, or an
 * object the gateway cannot identify) with a change in a protected class;
 * then it needs a second operator's approval.  A command naming an invalid
 * object is rejected.
 *
 * Every command also gets its change digest: SHA-256 over a versioned
 * canonical text (clID, command, objects, then the sorted, de-duplicated
 * change lines).  The change id is its first 12 hex digits.  Removing a
 * lock list entry through the admin API is a change too, with a text of
 * the same form (policy_canonical_lock_remove).
 */
#ifndef EPPGW_POLICY_H
#define EPPGW_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "epp.h"

#define CHANGE_ID_LEN	12
/* 2: secdns.update=, secdns.chg.replace= lines; values read as schema types */
#define CANON_VERSION	"eppgw-change/2"

struct locklist;
struct policy;

/*
 * [policy] (config.h): owned here, filled by config_load() through
 * policy_keywords.  config_load() builds the policy (struct config's
 * policy) from locks and protect, and the schemas (its xsd) from schemas.
 */
struct policy_conf {
	char		*locks_path;	/* lock list file, NULL for none */
	char		*schemas;	/* extension XSDs, resolved, spaced */
	char		*secret_key;	/* keys secrets' hashes (below) */
	char		*protect_text;	/* as written, lines joined */
	unsigned	 protect;	/* enum change_class bits, from that */
};

extern const struct conf_keyword policy_keywords[];

enum decision {
	DECISION_ALLOW = 0,
	DECISION_APPROVAL,	/* "approval_required" */
	DECISION_REJECT
};

struct verdict {
	enum decision	 decision;
	unsigned	 classes;	/* protected classes that decided it */
	unsigned	 all_classes;	/* every class in the command */
	char		 reason[512];	/* for people: logs and explain */
	char		 locked_by[260]; /* the lock entry, if any */
	uint8_t		 digest[32];
	char		 change_id[CHANGE_ID_LEN + 1];
	char		*canonical;	/* owned: the canonical change text */
	char		 need_state[254]; /* a domain to ask about first */
};

/* protected: enum change_class bits.  The policy takes ownership of locks. */
struct policy *policy_new(unsigned protected_classes, struct locklist *locks);
/*
 * A policy like base (its protected classes and its key, as set now) that
 * judges against locks, which it reads and does not own: locks must
 * outlive it.  A configuration's policy keeps the lock list as it was
 * loaded; a process that applies the admin API's lock edits (IPC_LOCK,
 * proc_apply_lock) owns its live copy of the list and judges through a
 * policy derived from it, so the configuration is never written to.
 */
struct policy *policy_derive(const struct policy *base,
    const struct locklist *locks);
void policy_free(struct policy *p);
const struct locklist *policy_locks(const struct policy *p);
unsigned policy_protected(const struct policy *p);

/*
 * Registry truth (regstate.h) enters every judgement as an argument, not
 * as state planted in the policy: a domain is locked by the lock list or by
 * its own client/serverUpdateProhibited status as the registry reported
 * it; a host by its name (under or equal to a locked domain) or by serving
 * a locked domain; a contact by being named by a locked domain.  rs may be
 * NULL (nothing known).
 */
struct regstate;
int policy_domain_locked(const struct policy *p, const struct regstate *rs,
    const char *name, const char **entry);

/* Whether a domain:info reply's statuses lock the domain. */
int policy_status_locks(const char *const *statuses, size_t n);

/*
 * Judge m, logged in (or about to log in) as clid, knowing what rs says of
 * the registry.  0 with *v filled (free with verdict_clear), -1 only when
 * out of memory: then fail closed.
 *
 * When the command would make a protected change to a domain that is not
 * locked by the list and whose state rs does not hold, and rs can ask the
 * registry (regstate_askable), v->need_state names that domain: the
 * caller asks the registry, then judges again; if it cannot ask, it must
 * not forward the command (fail closed).
 */
int policy_judge(const struct policy *p, const struct regstate *rs,
    const struct epp_msg *m, const char *clid, struct verdict *v);
void verdict_clear(struct verdict *v);

/*
 * The classes of registry facts m can change once executed, protected or
 * not (adding clientDeleteProhibited changes the statuses though it needs
 * no approval): what a forwarded change explains in the next reading, so
 * that it is not taken for drift (watch.h).
 */
unsigned policy_touched(const struct epp_msg *m);

/* "allow", "approval_required", "reject". */
const char *decision_name(enum decision d);

/*
 * The canonical change text of m and its digest (policy_judge uses this;
 * exposed for tests and tools).  Returns the text (caller frees) or NULL.
 */
char *policy_canonical(const struct policy *p, const struct epp_msg *m,
    const char *clid, uint8_t digest[32]);
/*
 * The canonical text and digest of removing a lock list entry through the
 * admin API (admin.h): an unlock, approved like any other change, so its
 * text is built here beside the EPP commands' and its id is computed the
 * same way.  entry goes in as given (the admin API passes the name as the
 * request spelled it).  Returns the text (caller frees) or NULL.
 */
char *policy_canonical_lock_remove(const char *entry, uint8_t digest[32]);

/*
 * The key for the hashes of secrets in change lines (an authInfo, an
 * unknown element holding a password: epp_msg_change_secret): keyed, a
 * pending change's text and a change id cannot confirm a guessed secret.
 * Set once when the configuration is loaded; stable across restarts, so
 * a resend after a restart still finds its approval.
 */
void policy_set_secret_key(struct policy *p, const uint8_t key[32]);
int policy_keyed(const struct policy *p);

#endif
