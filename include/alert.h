/*
 * alert.h: signed webhook alerts (DESIGN.md section 5).
 *
 * The daemon calls alert_emit() on approval_required, approval granted or
 * refused, ticket consumed, operator lock-out, audit failure and config
 * reload.  alert_emit() only queues: the POSTs run later on the daemon's
 * event loop through libcurl's multi interface, so a slow or dead receiver
 * never delays EPP traffic.  The queue is bounded; an alert that does not
 * fit, or that still fails after every retry, is counted and reported
 * through the drop callback so the daemon can audit it.
 *
 * Each POST carries the compact, key-sorted JSON body and
 *   Content-Type: application/json
 *   X-Eppgw-Timestamp: <unix seconds>           (the body's "time" too)
 *   X-Eppgw-Signature: sha256=<lower-hex HMAC-SHA256(secret, body)>
 * The secret itself never appears in an alert or in the log.
 */
#ifndef EPPGW_ALERT_H
#define EPPGW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"

struct alerter;
struct err;

/*
 * [alerts] (config.h): owned here, filled by config_load() through
 * alert_keywords.  No alerts when url is unset.
 */
struct alert_conf {
	char		*url;		/* http:// or https:// webhook */
	char		*secret_path;	/* [alerts] secret: HMAC key file (raw
					 * bytes, trailing newline ignored,
					 * mode 0600 or stricter); NULL:
					 * unsigned alerts (a warning is
					 * logged) */
	char		*ca;		/* CA file for https; NULL: system */
	unsigned	 queue_max;	/* 0: 1000 */
	unsigned	 retries;	/* retries after the first attempt;
					 * 0: 5 (use ALERT_NO_RETRY for none) */
	unsigned	 timeout_ms;	/* per attempt; 0: 5000 */
};

extern const struct conf_keyword alert_keywords[];

/* What is not configuration: for tests. */
struct alert_env {
	unsigned	 backoff_ms;	/* first retry delay, doubled each
					 * time, capped at 60 s; 0: 1000 */
};

/* retries value meaning "one attempt only" (0 selects the default). */
#define ALERT_NO_RETRY	((unsigned)-1)

/*
 * 0 ok; -1 with e filled (err.h): ERR_INVALID for a bad URL or an unsafe
 * or empty secret file ("path: why"), ERR_SYSTEM when it cannot be read.
 * The message never holds the secret.  conf's strings are copied; env may
 * be NULL.
 */
int alerter_open(struct event_base *base, const struct alert_conf *conf,
    const struct alert_env *env, struct alerter **out, struct err *e);

/* Cancels transfers in flight and frees everything still queued. */
void alerter_free(struct alerter *a);

/*
 * Queue an event and return at once (never blocks, never does I/O inline).
 * Adds "event" and "time" (RFC 3339 UTC, seconds) to fields, which is
 * stolen (NULL: an empty object).  When the queue is full the alert is
 * dropped, counted, and passed to the drop callback with why "queue_full".
 * a NULL: the alert is discarded (alerts not configured).
 */
void alert_emit(struct alerter *a, const char *event, json_t *fields);

struct alert_stats {
	uint64_t	 queued;	/* accepted by alert_emit */
	uint64_t	 sent;		/* answered 2xx */
	uint64_t	 failed;	/* gave up after the last retry */
	uint64_t	 dropped;	/* refused by a full queue */
	uint64_t	 retried;	/* attempts after a failure */
	size_t		 depth;		/* accepted, not yet sent or failed */
};
void alerter_stats(const struct alerter *a, struct alert_stats *st);

/*
 * Called (if set) when an alert is dropped (why "queue_full") or finally
 * fails (why "retries_exhausted"), so the daemon can audit it.  The
 * callback runs on the event loop and may not free the alerter.
 */
void alerter_set_drop_cb(struct alerter *a,
    void (*cb)(void *arg, const char *event, const char *why), void *arg);

#endif
