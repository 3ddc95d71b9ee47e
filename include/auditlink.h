/*
 * auditlink.h: the audit log as the other processes see it: a channel to
 * the audit writer process (auditd.c), with the same contract as
 * audit_submit() (audit.h): a record's callback runs once it is durable,
 * in submit order, or with status -1 when it cannot be.
 *
 * The link holds the frame-MAC key the audit writer derived from its
 * signing key (never the signing key itself) so that a worker can tie a
 * record to the exact bytes it received without sending them across.
 * Without a channel, or once the writer reported a failure, the log counts
 * as failed: nothing more is forwarded (fail closed).
 */
#ifndef EPPGW_AUDITLINK_H
#define EPPGW_AUDITLINK_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "audit.h"

struct auditlink;

struct auditlink *auditlink_new(struct event_base *base);
/* Pending callbacks run with status -1. */
void auditlink_free(struct auditlink *l);
/*
 * A (new) channel to the writer; the old one, if any, is closed and its
 * pending records fail.  -1 on failure (fd closed).
 */
int auditlink_attach(struct auditlink *l, int fd);
/* Connected and holding the keys: records can be written. */
int auditlink_ready(const struct auditlink *l);
/* Called once each time the link becomes ready (NULL: none). */
void auditlink_on_ready(struct auditlink *l, void (*fn)(void *arg),
    void *arg);

/* As audit_submit(); fields is stolen.  NULL l: -1. */
int auditlink_submit(struct auditlink *l, const char *t, json_t *fields,
    audit_cb cb, void *arg);
/*
 * As audit_submit_ref(), keyed by the record's "sess" field (required
 * with an op): keep on a session's cmd, req on its rsp (without a req
 * field: the writer fills it in), drop on its close.
 */
int auditlink_submit_ref(struct auditlink *l, const char *t, json_t *fields,
    enum audit_ref_op op, audit_cb cb, void *arg);
int auditlink_failed(const struct auditlink *l);
/* As audit_frame_mac(), with the writer's key. */
int auditlink_frame_mac(const struct auditlink *l, const uint8_t *frame,
    size_t len, char out[65]);
/* The key for secret hashes in change digests, derived by the writer from
 * its signing key (policy.h); -1 if it sent none. */
int auditlink_policy_key(const struct auditlink *l, uint8_t key[32]);

#endif
