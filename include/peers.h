/*
 * peers.h: a child process's channels (proc.h, docs/privsep.md): its
 * control channel to the parent and, for a child that serves several
 * peers (alerter, vault, watch), a table of their channels.
 *
 * From the parent it takes IPC_PEER (the peer's kind is checked with
 * proc_peer, the descriptor goes to on_peer), IPC_STOP (on_stop, or leave
 * the event loop), IPC_STATS_REQ (on_stats' Prometheus text, answered with
 * the request's id), IPC_RELOAD (on_reload, or nothing) and, through
 * on_ctl, whatever else the child expects; anything else fails the channel
 * ("unexpected message from the parent").  When the parent's channel
 * closes it is freed, on_gone runs and the event loop is left: a child
 * never outlives its parent's channel.
 *
 * The table, for a child that serves several peers, holds at most
 * PROC_MAX_PEERS channels, all served by on_msg; a channel leaves it when
 * it closes (on_closed, then freed) or is dropped.  One over the maximum
 * is refused (logged, descriptor closed).
 */
#ifndef EPPGW_PEERS_H
#define EPPGW_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ipc.h"
#include "proc.h"

struct evbuffer;
struct peers;

/* What a child does with its channels: one constant table a process. */
struct peers_ops {
	/* The largest message on every channel (ipc_new); 0: the
	 * default. */
	size_t	 msg_max;
	/* A peer's channel from the parent: its kind, whether it is the
	 * second channel between the audit writer and the alerter
	 * ({"role": "alerts"}, proc_peer; only those two take one, for any
	 * other a role fails the parent's channel), and fd, which the
	 * callee now owns.  Required. */
	void	(*on_peer)(void *arg, enum proc_kind k, int alerts, int fd);
	/* This process's figures (Prometheus text) into out.  Required. */
	void	(*on_stats)(void *arg, struct evbuffer *out);
	/* IPC_RELOAD; NULL: nothing to do. */
	void	(*on_reload)(void *arg);
	/* IPC_STOP; NULL: leave the event loop. */
	void	(*on_stop)(void *arg);
	/* Any other message from the parent: 0 if taken, -1 if unexpected
	 * (the channel fails).  NULL: none is expected. */
	int	(*on_ctl)(void *arg, const struct ipc_msg *m);
	/* The parent's channel closed (and is freed); then the event loop
	 * is left.  May be NULL. */
	void	(*on_gone)(void *arg);
	/* The table's channels' messages (NULL: no table).  The handler's
	 * arg is peers_new's, as for every callback here. */
	ipc_msg_fn on_msg;
	/* One of the table's channels closed; it is freed after.  May be
	 * NULL. */
	void	(*on_closed)(void *arg, struct ipc *ch);
};

/*
 * The channels of the process of kind k (its name goes in log messages):
 * take ctl, the channel to the parent (closed on failure), and serve it
 * on base.  ops (kept, not copied) and arg are the callbacks'.  NULL on
 * failure.  The caller still tells the parent it is ready (proc_ready)
 * when it is.
 */
struct peers *peers_new(struct event_base *base, enum proc_kind k, int ctl,
    const struct peers_ops *ops, void *arg);
/* Write out what is queued for the parent (blocking), then close every
 * channel.  NULL is fine. */
void peers_free(struct peers *p);

/* The channel to the parent; NULL once it has closed (or p is NULL). */
struct ipc *peers_parent(const struct peers *p);
/* Send on_stats' text to the parent as IPC_STATS with id. */
void peers_send_stats(struct peers *p, uint32_t id);

/*
 * A new channel in the table, on fd (taken), name naming the peer in log
 * messages.  NULL if the table is full (PROC_MAX_PEERS; logged) or the
 * channel could not be made; fd is closed either way.
 */
struct ipc *peers_add(struct peers *p, int fd, const char *name);
/* Take ch out of the table and free it (on_closed does not run). */
void peers_drop(struct peers *p, struct ipc *ch);
/*
 * The next live channel in the table from *pos on, or NULL; start with
 * *pos = 0 (a NULL p has none).  Safe while the loop fails or drops the
 * channel it got:
 *
 *	for (size_t i = 0; (ch = peers_next(p, &i)) != NULL; )
 */
struct ipc *peers_next(const struct peers *p, size_t *pos);

#endif
