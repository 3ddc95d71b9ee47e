/*
 * approval.h: two-person approvals (DESIGN.md section 4).
 *
 * A protected change on a locked object becomes a pending change, keyed by
 * its change digest.  A second operator approves it out of band with a TOTP
 * code; that creates a single-use ticket bound to (digest, object, clID,
 * requester), valid for ticket_ttl seconds.  When the registrar resends the
 * same change, the ticket is consumed and the command goes through.
 *
 * Everything an approval depends on (per-operator last accepted TOTP step,
 * failure counters, lockouts, tickets, pending changes) is written durably
 * before the call that changed it returns success: one line appended to
 * the journal next to the state file (one write, one fdatasync), which is
 * folded into a new state file (temp file, fsync, rename, fsync dir) once
 * it grows.  If that write fails the call fails: nothing is granted or
 * consumed that could be forgotten by a crash.
 *
 * Time comes from an injected clock so tests can move it; production uses
 * the real one.  This module does no network I/O and is not thread safe.
 */
#ifndef EPPGW_APPROVAL_H
#define EPPGW_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"

#define APPROVAL_NAME_MAX	64

struct approvals;
struct err;
struct seeds;

/* Seconds since the epoch. */
typedef int64_t (*approval_clock_fn)(void *arg);

/*
 * [approvals] (config.h): owned here, filled by config_load() through
 * approval_keywords; 0 takes the default named (but window is taken as
 * given).
 */
struct approval_conf {
	char		*seeds_path;	/* [approvals] seeds: the vault's TOTP
					   seeds (seeds.h); NULL: none */
	char		*state_path;	/* [approvals] state: JSON state file,
					   and its journal
					   state_path.journal; NULL: memory
					   only */
	unsigned	 ticket_ttl;	/* default 600, at most 3600 */
	unsigned	 pending_ttl;	/* default 86400 */
	unsigned	 max_pending;	/* open pending changes: 1000 */
	unsigned	 max_pending_requester;	/* ...of one requester: 100
					   (max_pending_per_principal) */
	unsigned	 window;	/* TOTP steps either side (totp_window,
					   config: 1); 0 is 0 */
	unsigned	 rate_attempts;	/* per operator per rate_period: 3 */
	unsigned	 rate_period;	/* seconds: 30 */
	unsigned	 lockout_after;	/* consecutive failures: 5 */
	unsigned	 global_cap;	/* failures of all operators: 20 */
	unsigned	 global_period;	/* ...per this many seconds: 600 */
};

extern const struct conf_keyword approval_keywords[];

/* What is not configuration: the clock (tests move it). */
struct approval_env {
	approval_clock_fn clock;	/* NULL: the real clock */
	void		*clock_arg;
};

/* Outcome of approvals_require(). */
enum approval_need {
	NEED_APPROVAL = 0,	/* pending change created or found */
	NEED_NONE		/* a ticket was consumed: forward the command */
};

/* Reason tokens (DESIGN.md section 5), also used in logs and audit. */
#define APPROVAL_REQUIRED	"approval_required"
#define APPROVAL_TICKET_EXPIRED	"ticket_expired"
#define APPROVAL_DIGEST_MISMATCH "digest_mismatch"
#define APPROVAL_SELF		"self_approval"
#define APPROVAL_INVALID_OTP	"invalid_otp"
#define APPROVAL_REPLAYED_OTP	"replayed_otp"
#define APPROVAL_LOCKED_OUT	"locked_out"
#define APPROVAL_RATE_LIMITED	"rate_limited"
#define APPROVAL_PAUSED		"approvals_paused"
#define APPROVAL_UNKNOWN	"unknown_change"
#define APPROVAL_NOT_PENDING	"not_pending"
#define APPROVAL_NO_SEED	"no_seed"
#define APPROVAL_STORAGE	"storage_failed"
#define APPROVAL_PENDING_LIMIT	"pending_limit"

/*
 * Open (or create) the state: the state file, then the journal replayed
 * over it, folded into a new state file.  Takes ownership of seeds, even
 * on failure (may be NULL: then every approval is refused with no_seed).
 * conf is copied (seeds_path is not read: the caller loads the seeds); env
 * may be NULL.  -1 with e filled (err.h), e.g. ERR_CORRUPT for a corrupt
 * state file or journal line ("path:line: corrupt approval journal: ..."),
 * ERR_SYSTEM for a file that cannot be read or created, ERR_INVALID for
 * options out of range: the gateway must then refuse to start.
 */
int approvals_open(const struct approval_conf *conf,
    const struct approval_env *env, struct seeds *seeds,
    struct approvals **out, struct err *e);
/*
 * A clean stop: in the process that opened it, the journal is folded into
 * a new state file first (if that fails, the next start replays it).
 */
void approvals_free(struct approvals *a);

/*
 * A protected command arrived.  If an unused, unexpired ticket matches
 * (digest, object, clid, requester), consume it durably and return
 * NEED_NONE with the approver's name in approver, the change id in id and
 * *reason NULL.  Otherwise create or find
 * the pending change for this digest and return NEED_APPROVAL with its id
 * (12 hex digits) and a reason token: APPROVAL_REQUIRED, or
 * APPROVAL_TICKET_EXPIRED when this change's ticket has expired, or
 * APPROVAL_DIGEST_MISMATCH when a live ticket exists for the same object,
 * clID and requester but another change; or, with id "", reason
 * APPROVAL_PENDING_LIMIT when a new pending change would exceed
 * max_pending or the requester's max_pending_requester (nothing recorded).  -1 on a storage failure (fail
 * closed: do not forward).
 */
int approvals_require(struct approvals *a, const uint8_t digest[32],
    const char *canonical, const char *object, const char *clid,
    const char *requester, enum approval_need *need, char id[13],
    const char **reason, char approver[APPROVAL_NAME_MAX]);

/*
 * Approve pending change id (a full id or a unique prefix of at least 6
 * hex digits) as operator approver with TOTP code otp.  The caller has
 * already checked that approver holds the approver role for the object.
 * 0 when granted (ticket durably stored); -1 with a reason token otherwise:
 * APPROVAL_UNKNOWN, APPROVAL_NOT_PENDING, APPROVAL_SELF, APPROVAL_NO_SEED,
 * APPROVAL_LOCKED_OUT, APPROVAL_RATE_LIMITED, APPROVAL_PAUSED,
 * APPROVAL_INVALID_OTP (also: wrong digit count, non-digits),
 * APPROVAL_REPLAYED_OTP (step not newer than the last accepted one),
 * APPROVAL_STORAGE.  Failures count towards lockout and the global cap.
 */
int approvals_approve(struct approvals *a, const char *id,
    const char *approver, const char *otp, const char **reason);

/* Deny a pending change: it is closed and can never be approved. */
int approvals_deny(struct approvals *a, const char *id, const char *op,
    const char **reason);

/* Clear an operator's lockout and failure count (an audited admin act). */
int approvals_reset_operator(struct approvals *a, const char *name,
    const char **reason);

/*
 * Drop tickets and pending changes that no longer hold: called after an
 * operator or lock-list change.  still_valid(arg, object, requester,
 * approver) says whether a ticket may stay; approver is NULL for a change
 * that is still pending.  -1 (nothing dropped) on a storage failure.
 */
int approvals_revalidate(struct approvals *a,
    int (*still_valid)(void *arg, const char *object, const char *requester,
    const char *approver), void *arg);

/* The object of pending change id (full or prefix), or NULL. */
const char *approvals_object(struct approvals *a, const char *id);

/*
 * JSON views for the admin API and eppgwctl: a list of pending changes
 * ({id, object, clid, requester, created, expires, state}), and one change
 * with its canonical text.  New references; NULL if unknown.
 */
json_t *approvals_list_json(struct approvals *a);
json_t *approvals_show_json(struct approvals *a, const char *id);

/* --- TOTP seeds ---------------------------------------------------------- */

/*
 * Load `NAME ALG DIGITS STEP BASE32SEED` lines (ALG SHA1, SHA256 or SHA512;
 * DIGITS 6-8; STEP seconds; '#' comments).  Refused unless the file is a
 * regular file of mode 0600 (no group/other bits) owned by the current
 * user, and refused if two operators share a seed or a seed is empty or not
 * base32.  -1 with e filled (err.h): ERR_INVALID with "file:line: message"
 * for a bad line, "file: message" for an unsafe file (ERR_SYSTEM when it
 * cannot be read).  No message holds a seed.  Seeds are wiped from memory
 * when freed.
 */
int seeds_load(const char *path, struct seeds **out, struct err *e);
void seeds_free(struct seeds *s);
int seeds_has(const struct seeds *s, const char *name);

/*
 * eppgw's own TOTP check (liboath underneath): code must be exactly the
 * operator's digit count of ASCII digits; it is tried at steps now/step +
 * -window..+window.  Returns 1 with the matching step in *step, 0 if it
 * does not match, -1 if the operator has no seed.
 */
int seeds_totp_check(const struct seeds *s, const char *name,
    const char *code, int64_t now, unsigned window, int64_t *step);

#endif
