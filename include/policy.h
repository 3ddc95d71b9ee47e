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
 * change lines).  The change id is its first 12 hex digits.
 */
#ifndef EPPGW_POLICY_H
#define EPPGW_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "epp.h"

#define CHANGE_ID_LEN	12
/* 2: secdns.update=, secdns.chg.replace= lines; values read as schema types */
#define CANON_VERSION	"eppgw-change/2"

struct locklist;
struct policy;

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
};

/* protected: enum change_class bits.  The policy takes ownership of locks. */
struct policy *policy_new(unsigned protected_classes, struct locklist *locks);
void policy_free(struct policy *p);
const struct locklist *policy_locks(const struct policy *p);
/*
 * The lock list for the admin API's edits: the only mutable part of a
 * loaded configuration.  An edit applies at once to every session started
 * under the current configuration, and is written to the lock file so the
 * next reload and restart keep it; sessions still running on an older
 * configuration keep the lock list they started with.
 */
struct locklist *policy_locks_mut(struct policy *p);
unsigned policy_protected(const struct policy *p);

/*
 * Domains the registry itself reported as client- or serverUpdateProhibited
 * in a domain:info reply the gateway relayed: locked as if listed (DESIGN.md
 * section 4), so removing that status is an unlock that needs approval.
 * The set belongs to the caller and must outlive the policy; NULL: none.
 */
void policy_set_learned(struct policy *p, const struct locklist *learned);

/*
 * Contacts seen in domain:info replies of locked domains: changing or
 * deleting one of them (contact:update, contact:delete) is held like any
 * contact change on the domain (DESIGN.md section 4, class "contact").
 * Owned by the caller; NULL: none.
 */
struct idset;
void policy_set_linked_contacts(struct policy *p, const struct idset *ids);

/* Whether a normalised domain name is locked (by list or by status). */
int policy_domain_locked(const struct policy *p, const char *name);

/* Whether a domain:info reply's statuses lock the domain. */
int policy_status_locks(const char *const *statuses, size_t n);

/*
 * Judge m, logged in (or about to log in) as clid.  0 with *v filled (free
 * with verdict_clear), -1 only when out of memory: then fail closed.
 */
int policy_judge(const struct policy *p, const struct epp_msg *m,
    const char *clid, struct verdict *v);
void verdict_clear(struct verdict *v);

/* "allow", "approval_required", "reject". */
const char *decision_name(enum decision d);

/*
 * The canonical change text of m and its digest (policy_judge uses this;
 * exposed for tests and tools).  Returns the text (caller frees) or NULL.
 */
char *policy_canonical(const struct epp_msg *m, const char *clid,
    uint8_t digest[32]);

#endif
