/*
 * audit.h: the tamper-evident, write-ahead audit log (DESIGN.md section 5,
 * docs/audit-log.md).
 *
 * One writer thread owns the segment file: it takes every queued record,
 * gives each its seq, ts and prev (the leaf hash of the line before),
 * writes the batch with one write(2) and makes it durable with one
 * fdatasync(2).  Only then does the event loop learn, in submit order,
 * that the records are durable.  A failed write or fdatasync fails the
 * log for good: it is never retried, and every pending and later record
 * is refused, so nothing more is forwarded.
 *
 * Record fields the gateway fills in (the module adds v, seq, ts, t and
 * prev; keys are sorted when written):
 *   session  sess, peer, cert, sni, clid, result
 *   cmd      sess, clid, principal, cert, cltrid, cmd, objects[],
 *            classes[], decision, reason, change_id, approver, xml
 *   rsp      sess, req (the cmd's seq), src, code, msg, svtrid, rtt_us
 *   approval change_id, approver, requester, object, result
 *   close    sess (a session's end) or reason (the log's own)
 * The module writes open, recovery, checkpoint and close records itself,
 * and audit_break() the break record.
 * No field may ever carry a secret.
 */
#ifndef EPPGW_AUDIT_H
#define EPPGW_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

struct err;
#include "conf.h"

#define AUDIT_DEFAULT_SEGMENT_MAX	(64UL * 1024 * 1024)
#define AUDIT_DEFAULT_CHECKPOINT_MS	2000
#define AUDIT_DEFAULT_HEARTBEAT_S	300

struct audit;

/*
 * [audit] (config.h): the log's settings, owned here, filled by
 * config_load() through audit_keywords (0 or NULL: the defaults above).
 * No audit log when dir is unset.
 */
struct audit_conf {
	char		*dir;
	char		*signing_key;	/* Ed25519 PKCS#8 PEM */
	char		*origin;	/* checkpoint origin line */
	char		*publish_dir;	/* a checkpoint copy each; NULL: none */
	size_t		 segment_max;	/* rotate at this size (0: default) */
	unsigned	 checkpoint_ms;	/* under load, at most this often */
	unsigned	 heartbeat_s;	/* idle checkpoint (key heartbeat) */
};

extern const struct conf_keyword audit_keywords[];

/* Test hooks for fault injection; NULL means write(2), fdatasync(2). */
struct audit_env {
	ssize_t		(*write_fn)(int fd, const void *buf, size_t len);
	int		(*fsync_fn)(int fd);
};

/*
 * Opens or creates the log, verifies it, seals a torn or unclosed tail
 * with a recovery record in a new segment, starts the writer.  conf is
 * copied (its strings are not: they must outlive the log); env may be
 * NULL.  -1 with e (err.h) on failure: the gateway must refuse to start.
 * ERR_CORRUPT when the log fails verification, ERR_INVALID for bad
 * options, key or origin (or a log that cannot be verified), ERR_SYSTEM,
 * ERR_NOMEM or ERR_CRYPTO otherwise.
 */
int audit_open(struct event_base *base, const struct audit_conf *conf,
    const struct audit_env *env, struct audit **out, struct err *e);

/*
 * Durability callback, run on the event-loop thread: status 0 = durable
 * (seq and leaf hash given), -1 = the log has failed.
 */
typedef void (*audit_cb)(void *arg, int status, uint64_t seq,
    const uint8_t leaf[32]);

/*
 * Append a record of type t whose other fields are in fields (stolen, may
 * be NULL).  Returns 0 and calls cb exactly once later (on failure too);
 * returns -1 without calling cb if the log has already failed.  cb may be
 * NULL: the record is still durable before any later record's cb runs.
 */
int audit_submit(struct audit *a, const char *t, json_t *fields, audit_cb cb,
    void *arg);

/*
 * A reply's record names its command's seq (req), but the gateway does not
 * wait for a read-only command's record before it forwards the command, so
 * the reply may be submitted before that seq is known.  The writer ties
 * them instead, in line order: a record submitted with AUDIT_REF_KEEP
 * leaves its seq under its key; a later one with AUDIT_REF_REQ and the
 * same key gets it as its "req" field (null, logged, if there is none) and
 * removes it; AUDIT_REF_DROP removes it (a session that ends without a
 * reply).  The key is ns (the caller's: one per client) and the record's
 * integer "sess", which such a record must have.
 */
enum audit_ref_op {
	AUDIT_REF_NONE = 0,
	AUDIT_REF_KEEP,
	AUDIT_REF_REQ,
	AUDIT_REF_DROP
};
int audit_submit_ref(struct audit *a, const char *t, json_t *fields,
    enum audit_ref_op op, const char *ns, audit_cb cb, void *arg);

/*
 * audit_submit_ref with the fields already serialised by the submitter
 * (json_dumps, JSON_COMPACT | JSON_SORT_KEYS): body is n bytes of one
 * canonical object (jcanon.h), malloc'd and stolen.  The writer splices
 * its own members into it: no parse, no second serialisation.  -1 (body
 * freed, cb not called) also when the body is not canonical, names a
 * member the writer writes (v, seq, ts, prev, t; req with AUDIT_REF_REQ),
 * or t is not 1-32 lower-case letters, digits and '_'.
 */
int audit_submit_body(struct audit *a, const char *t, char *body, size_t n,
    enum audit_ref_op op, const char *ns, audit_cb cb, void *arg);

/* Keys held for replies not yet written, for tests and metrics. */
size_t audit_refs_held(struct audit *a);

int audit_failed(const struct audit *a);
/*
 * fn runs once on the event-loop thread as soon as the loop learns that
 * the log has failed, before the failed records' callbacks: the audit
 * writer tells every process at once, so that none forwards a read-only
 * command it would otherwise not hear about until its next record.
 */
void audit_on_failure(struct audit *a, void (*fn)(void *arg), void *arg);

/*
 * HMAC-SHA256 of a data unit as received, in hex, with a key derived from
 * the signing key and named by its id in every segment's open record
 * (mac_key): it ties a record to the exact bytes, and unlike a plain
 * hash it cannot be used to test password guesses.  -1 on failure.
 */
int audit_frame_mac(const struct audit *a, const uint8_t *frame, size_t len,
    char out[65]);

/*
 * The keys the audit writer hands to the processes it serves
 * (auditlink.h): the frame-MAC key, and the key for secret hashes in
 * change digests derived from the signing key under its own label (the
 * same as [policy] secret_key would give when that is not set).  -1 if
 * the second cannot be derived.
 */
int audit_keys(const struct audit *a, uint8_t mac_key[32],
    uint8_t policy_key[32]);
/* That policy key from a signing key (for tools: config.h). */
int audit_policy_key(EVP_PKEY *key, uint8_t out[32]);

/* Group-commit figures since start, for metrics. */
struct audit_stats {
	uint64_t	 records;	/* made durable */
	uint64_t	 syncs;		/* fdatasync calls (batches) */
	uint64_t	 sync_us;	/* time in fdatasync, total */
	uint64_t	 sync_us_max;
	uint64_t	 batch_max;	/* largest batch */
	int		 failed;
};
void audit_stats(struct audit *a, struct audit_stats *st);

/* Ask for a checkpoint now (it follows the records queued so far). */
void audit_checkpoint(struct audit *a);

/*
 * An operator's signed break (eppgw-audit break, docs/audit-log.md): for
 * a log that fails verification inside its segments, write a new segment
 * seg-<B>.jsonl holding break, checkpoint and close records, and its seal
 * checkpoints/<B+3>.cp.  Existing files are never changed.  Returns 0 with
 * the segment's name in seg; 1 if there is nothing a break may cover (the
 * log verifies, or a checkpoint file is bad), with e (ERR_REFUSED) saying
 * which; -1 with e (err.h) on other errors.
 */
struct audit_break_opts {
	const char	*dir;
	const char	*signing_key;	/* the audit Ed25519 key */
	const char	*operator;	/* who acknowledges the break */
	const char	*reason;
	const char	*origin;	/* only if no record verifies at all */
};
int audit_break(const struct audit_break_opts *o, char *seg, size_t seglen,
    struct err *e);

/* Final close record and checkpoint, stop the writer, run the last
 * callbacks, free. */
void audit_close(struct audit *a);

#endif
