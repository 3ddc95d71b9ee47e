/*
 * vaultlink.h: the approvals as a worker sees them: a channel to the vault
 * process, which alone holds the TOTP seeds and the approval state
 * (approval.h).  A worker asks "does this protected change need an
 * approval, or is there a ticket to consume?" and waits for the verdict;
 * only the commands that wait on the vault are delayed by it.
 *
 * The vault also tells workers of lock-list edits and asks them about the
 * registry state they hold (for the admin API): those arrive through the
 * handler set with vaultlink_on_request.
 */
#ifndef EPPGW_VAULTLINK_H
#define EPPGW_VAULTLINK_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "approval.h"

struct vaultlink;

/*
 * The vault's verdict: rc 0 with need (NEED_NONE: a ticket was consumed,
 * approver named), the change id and a reason token (approval.h); rc -1
 * when the vault could not record or consume anything (fail closed).
 * reason is static; id and approver are valid during the call only.
 */
typedef void (*vault_verdict_fn)(void *arg, int rc, enum approval_need need,
    const char *id, const char *reason, const char *approver);

struct vaultlink *vaultlink_new(struct event_base *base);
/* Waiting verdicts are dropped (their callbacks do not run). */
void vaultlink_free(struct vaultlink *l);
/* A (new) channel to the vault; verdicts awaited on the old one arrive
 * as rc -1.  -1 on failure (fd closed). */
int vaultlink_attach(struct vaultlink *l, int fd);
int vaultlink_ready(const struct vaultlink *l);

/* 0: cb runs later, exactly once unless cancelled; -1: cannot ask. */
int vaultlink_require(struct vaultlink *l, const uint8_t digest[32],
    const char *canonical, const char *object, const char *clid,
    const char *requester, vault_verdict_fn cb, void *arg);
/* Forget every verdict awaited with this arg (a session going away). */
void vaultlink_cancel(struct vaultlink *l, void *arg);

/*
 * Requests from the vault: IPC_LOCK ({"op", "name"}, no answer).  msg is
 * borrowed.  (The vault asks the watch process about registry state.)
 */
void vaultlink_on_request(struct vaultlink *l, void (*fn)(void *arg,
    uint16_t type, uint32_t id, json_t *msg), void *arg);

#endif
