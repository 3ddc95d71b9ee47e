/*
 * ipc.h: typed, length-prefixed, bounded messages between eppgw's
 * processes, over socketpairs (docs/privsep.md).
 *
 * A message is a 12-byte header (payload length, type, flags, request id;
 * little-endian) and a payload of at most the channel's maximum.  Most
 * payloads are one JSON object, optionally followed by a NUL and raw bytes
 * (ipc_send_json, ipc_msg_json).  IPC_PEER, and only it, carries one file
 * descriptor (SCM_RIGHTS): that is how the parent hands a child its
 * channels to the other children.
 *
 * A channel that sends something malformed (a length over the maximum, an
 * unknown type, a descriptor where none belongs, a payload that is not the
 * expected JSON) is closed by the receiver: one broken peer costs its own
 * channel, never the receiving process.  Sending never blocks: what the
 * kernel does not take is queued and written when the socket drains; a
 * peer that stops reading lets at most 64 MiB queue up, then sending to it
 * fails (and the sender fails closed).
 */
#ifndef EPPGW_IPC_H
#define EPPGW_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#define IPC_HDR_LEN		12
#define IPC_MAX_DEFAULT		(8u << 20)	/* largest payload */
#define IPC_MAX_STATE		(256u << 20)	/* the whole registry state */

/*
 * Every message type, in one place.  The direction is in the comment;
 * a receiver refuses a type it does not expect on that channel.
 */
enum ipc_type {
	IPC_NONE = 0,
	/* parent <-> any child */
	IPC_PEER,		/* parent -> child: {"peer": NAME} + fd */
	IPC_READY,		/* child -> parent: started */
	IPC_STOP,		/* parent -> child: drain and exit */
	IPC_RETIRE,		/* parent -> worker: no new sessions; exit
				 * when the last one ends (a reload) */
	IPC_RELOAD,		/* parent -> child: re-read the configuration */
	IPC_STATE_SAVE,		/* watch -> parent: registry state to keep */
	/* any -> audit writer */
	IPC_AUDIT_KEYS,		/* audit -> peer: keys it may use */
	IPC_AUDIT_SUBMIT,	/* ref, t, canonical fields (auditd.c) */
	IPC_AUDIT_DONE,		/* audit -> peer: status (1 byte, 0: durable),
				 * seq (8, little-endian), leaf (32) */
	IPC_AUDIT_FAILED,	/* audit -> every peer: the log has failed */
	IPC_STATS_REQ,		/* worker -> parent: the daemon's figures;
				 * parent -> child: yours */
	IPC_STATS,		/* Prometheus text, the answer (same id) */
	/* any -> alerter */
	IPC_ALERT,		/* {"event", "fields"} */
	/* worker <-> vault */
	IPC_VAULT_REQUIRE,	/* worker -> vault: a protected change */
	IPC_VAULT_VERDICT,	/* vault -> worker: need, id, reason, approver */
	IPC_LOCK,		/* vault -> worker, watch: {"op", "name"} */
	IPC_STATE_QUERY,	/* vault -> watch: {"what": state|drift} */
	IPC_STATE_ANSWER,	/* watch -> vault: JSON */
	IPC_STATE_SYNC,		/* watch -> worker: the whole store */
	IPC_STATE_PUT,		/* watch -> worker: one object, or gone */
	IPC_STATE_ASK,		/* worker -> watch: {"name"} read it now */
	IPC_STATE_ASKED,	/* watch -> worker: {"ok"} (same id) */
	IPC_STATE_CHANGED,	/* worker -> watch: a change was executed */
	IPC_STATE_SEEN,		/* worker -> watch: an info reply's facts */
	IPC_ADMIT,		/* worker -> parent: {"addr","principal"} */
	IPC_ADMITTED,		/* parent -> worker: {"ok","why"} (same id) */
	IPC_LEAVE,		/* worker -> parent: a session admitted ended */
	IPC_RETIRED,		/* worker -> parent: it accepts no new session
				 * (the answer to IPC_RETIRE) */
	IPC_TYPE_MAX
};

struct ipc;

struct ipc_msg {
	uint16_t	 type;
	uint32_t	 id;
	const uint8_t	*data;
	size_t		 len;
	int		 fd;	/* -1, or a descriptor the handler now owns */
};

/*
 * m is valid only during the call.  The handler may free the channel.
 * Closed: the peer went away or the channel failed (why says which); it is
 * called once, and the owner then frees the channel.
 */
typedef void (*ipc_msg_fn)(struct ipc *c, const struct ipc_msg *m,
    void *arg);
typedef void (*ipc_closed_fn)(struct ipc *c, const char *why, void *arg);

/*
 * Take fd (a connected stream socket; made non-blocking and close-on-exec)
 * and start reading.  peer names the other side in log messages.  max 0
 * means IPC_MAX_DEFAULT.  NULL (fd closed) on failure.
 */
struct ipc *ipc_new(struct event_base *base, int fd, const char *peer,
    size_t max, ipc_msg_fn on_msg, ipc_closed_fn on_closed, void *arg);
/* Close and free; queued output is dropped.  NULL is fine. */
void ipc_free(struct ipc *c);
const char *ipc_peer(const struct ipc *c);
/* Whether the channel still works. */
int ipc_alive(const struct ipc *c);
/* Close the channel because of what the peer did (logged), then call
 * on_closed. */
void ipc_fail(struct ipc *c, const char *why);

/*
 * Queue one message; fd (-1 for none) is duplicated, the caller keeps
 * its own.  -1 if the channel is closed, the payload is over the maximum,
 * or memory runs out.
 */
int ipc_send(struct ipc *c, uint16_t type, uint32_t id, const void *data,
    size_t len, int fd);
/* The same with the payload in n pieces (struct iovec, <sys/uio.h>). */
struct iovec;
int ipc_sendv(struct ipc *c, uint16_t type, uint32_t id,
    const struct iovec *iov, int n, int fd);
/* A JSON object (stolen, also on failure) and optional raw bytes. */
int ipc_send_json(struct ipc *c, uint16_t type, uint32_t id, json_t *j,
    const void *raw, size_t rawlen);
/*
 * The JSON object of a payload (a new reference) and its raw tail (may be
 * empty).  NULL when the payload is not one JSON object: the caller then
 * fails the channel.
 */
json_t *ipc_msg_json(const struct ipc_msg *m, const uint8_t **raw,
    size_t *rawlen);

/* Write out everything queued, blocking (a process about to exit). */
void ipc_flush(struct ipc *c);
/*
 * Batching, for channels that carry many small messages (audit records and
 * their answers): a message is not written at once but once the event loop
 * has run the callbacks already due, so what one loop turn queues goes out
 * in one sendmsg(2) and wakes the peer once.  ipc_kick() writes what it can
 * now, without blocking (before a free).
 */
void ipc_set_batching(struct ipc *c, int on);
void ipc_kick(struct ipc *c);

/* A connected pair, both ends close-on-exec.  -1 on failure. */
int ipc_pair(int fds[2]);

#endif
