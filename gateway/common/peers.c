/*
 * peers.c: a child process's channels to the parent and to its peers
 * (peers.h).
 */
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ipc.h"
#include "log.h"
#include "peers.h"
#include "proc.h"

#define NCHANS	PROC_MAX_PEERS

struct peers {
	struct event_base *base;
	enum proc_kind	 kind;
	const struct peers_ops *ops;
	void		*arg;
	struct ipc	*ctl;		/* NULL once closed */
	struct ipc	**chans;	/* NCHANS, NULL: free; NULL: no table */
};

void
peers_send_stats(struct peers *p, uint32_t id)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL)
		return;
	p->ops->on_stats(p->arg, b);
	(void)ipc_send(p->ctl, IPC_STATS, id, evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), -1);
	evbuffer_free(b);
}

static void
ctl_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct peers *p = arg;
	int k, alerts = 0;

	switch (m->type) {
	case IPC_PEER:
		/* proc_peer_plain fails the channel itself. */
		if (p->kind != PROC_AUDIT && p->kind != PROC_ALERTER)
			k = proc_peer_plain(ch, m);
		else if ((k = proc_peer(m, &alerts)) < 0)
			ipc_fail(ch, "bad peer message");
		if (k >= 0)
			p->ops->on_peer(p->arg, (enum proc_kind)k, alerts,
			    m->fd);
		return;
	case IPC_STOP:
		if (p->ops->on_stop != NULL)
			p->ops->on_stop(p->arg);
		else
			event_base_loopbreak(p->base);
		return;
	case IPC_STATS_REQ:
		peers_send_stats(p, m->id);
		return;
	case IPC_RELOAD:
		if (p->ops->on_reload != NULL)
			p->ops->on_reload(p->arg);
		return;
	default:
		if (p->ops->on_ctl == NULL || p->ops->on_ctl(p->arg, m) != 0)
			ipc_fail(ch, "unexpected message from the parent");
	}
}

/* The parent is gone: nobody supervises, nothing is kept. */
static void
ctl_closed(struct ipc *ch, const char *why, void *arg)
{
	struct peers *p = arg;

	(void)why;
	p->ctl = NULL;
	ipc_free(ch);
	if (p->ops->on_gone != NULL)
		p->ops->on_gone(p->arg);
	event_base_loopbreak(p->base);
}

struct peers *
peers_new(struct event_base *base, enum proc_kind k, int ctl,
    const struct peers_ops *ops, void *arg)
{
	struct peers *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->base = base;
	p->kind = k;
	p->ops = ops;
	p->arg = arg;
	if (ops->on_msg != NULL && (p->chans = calloc(NCHANS,
	    sizeof(*p->chans))) == NULL)
		goto fail;
	p->ctl = ipc_new(base, ctl, "parent", ops->msg_max, ctl_msg,
	    ctl_closed, p);
	ctl = -1;	/* ipc_new took it, or closed it */
	if (p->ctl == NULL)
		goto fail;
	return p;
fail:
	if (ctl != -1)
		close(ctl);
	peers_free(p);
	return NULL;
}

void
peers_free(struct peers *p)
{
	if (p == NULL)
		return;
	ipc_flush(p->ctl);
	ipc_free(p->ctl);
	for (size_t i = 0; p->chans != NULL && i < NCHANS; i++)
		ipc_free(p->chans[i]);
	free(p->chans);
	free(p);
}

struct ipc *
peers_parent(const struct peers *p)
{
	return p != NULL ? p->ctl : NULL;
}

static void
chan_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct peers *p = arg;

	p->ops->on_msg(ch, m, p->arg);
}

/* Out of the table; 0 if it was in it. */
static int
unlist(struct peers *p, struct ipc *ch)
{
	for (size_t i = 0; p->chans != NULL && i < NCHANS; i++)
		if (p->chans[i] == ch) {
			p->chans[i] = NULL;
			return 0;
		}
	return -1;
}

static void
chan_closed(struct ipc *ch, const char *why, void *arg)
{
	struct peers *p = arg;

	(void)why;
	(void)unlist(p, ch);
	if (p->ops->on_closed != NULL)
		p->ops->on_closed(p->arg, ch);
	ipc_free(ch);
}

struct ipc *
peers_add(struct peers *p, int fd, const char *name)
{
	size_t i = 0;

	while (p->chans != NULL && i < NCHANS && p->chans[i] != NULL)
		i++;
	if (p->chans == NULL || i == NCHANS) {
		log_err("%s: more than %d channels: the one to %s refused",
		    proc_name(p->kind), NCHANS, name);
		close(fd);
		return NULL;
	}
	p->chans[i] = ipc_new(p->base, fd, name, p->ops->msg_max,
	    chan_msg, chan_closed, p);
	return p->chans[i];
}

void
peers_drop(struct peers *p, struct ipc *ch)
{
	if (ch != NULL && unlist(p, ch) == 0)
		ipc_free(ch);
}

struct ipc *
peers_next(const struct peers *p, size_t *pos)
{
	struct ipc *ch;

	while (p != NULL && p->chans != NULL && *pos < NCHANS) {
		ch = p->chans[(*pos)++];
		if (ipc_alive(ch))
			return ch;
	}
	return NULL;
}
