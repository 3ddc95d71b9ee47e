/*
 * test_peers.c: a child's channels to the parent and its peers (peers.h),
 * over socketpairs, with this test as the parent.
 *
 * What the children rely on: IPC_PEER hands over the descriptor with the
 * peer's kind, a bad one fails the parent's channel; IPC_STOP, IPC_RELOAD,
 * IPC_STATS_REQ reach their handlers (or the defaults), anything else fails
 * the channel; the parent's channel closing leaves the loop; the table
 * takes at most its maximum, forgets a channel that closes and iterates
 * over the live ones.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "ipc.h"
#include "peers.h"
#include "proc.h"
#include "suites.h"

struct child {
	struct event_base *base;
	struct peers	*peers;
	int		 npeer, kind, alerts, fd;
	int		 reloads, stops, gone, ctls, nmsg, closed;
	int		 add;		/* on_peer adds the channel */
};

struct parent {
	struct event_base *base;
	int		 n;
	uint16_t	 type;
	uint32_t	 id;
	char		 text[256];
	int		 closed;
};

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct child *c = arg;

	c->npeer++;
	c->kind = k;
	c->alerts = alerts;
	if (c->add)
		(void)peers_add(c->peers, fd, proc_name(k));
	else if (c->fd == -1)
		c->fd = fd;
	else
		close(fd);
	event_base_loopbreak(c->base);
}

static void
on_stats(void *arg, struct evbuffer *out)
{
	(void)arg;
	evbuffer_add_printf(out, "figures %d\n", 42);
}

static void
on_reload(void *arg)
{
	struct child *c = arg;

	c->reloads++;
	event_base_loopbreak(c->base);
}

static void
on_stop(void *arg)
{
	struct child *c = arg;

	c->stops++;
	event_base_loopbreak(c->base);
}

static int
on_ctl(void *arg, const struct ipc_msg *m)
{
	struct child *c = arg;

	if (m->type != IPC_RETIRE)
		return -1;
	c->ctls++;
	event_base_loopbreak(c->base);
	return 0;
}

static void
on_gone(void *arg)
{
	struct child *c = arg;

	c->gone++;
}

static void
on_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct child *c = arg;

	c->nmsg++;
	if (m->type != IPC_ALERT)
		ipc_fail(ch, "unexpected");
	event_base_loopbreak(c->base);
}

static void
on_closed(void *arg, struct ipc *ch)
{
	struct child *c = arg;

	(void)ch;
	c->closed++;
	event_base_loopbreak(c->base);
}

static void
parent_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct parent *p = arg;

	(void)ch;
	p->n++;
	p->type = m->type;
	p->id = m->id;
	snprintf(p->text, sizeof(p->text), "%.*s", (int)m->len,
	    (const char *)m->data);
	event_base_loopbreak(p->base);
}

static void
parent_closed(struct ipc *ch, const char *why, void *arg)
{
	struct parent *p = arg;

	(void)ch;
	(void)why;
	p->closed++;
	event_base_loopbreak(p->base);
}

static void
run(struct event_base *base)
{
	struct timeval tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static const struct peers_ops every = {
	.on_peer = on_peer,
	.on_stats = on_stats,
	.on_reload = on_reload,
	.on_stop = on_stop,
	.on_ctl = on_ctl,
	.on_gone = on_gone,
	.on_msg = on_msg,
	.on_closed = on_closed,
};

/* The defaults: no table either. */
static const struct peers_ops fewest = {
	.on_peer = on_peer,
	.on_stats = on_stats,
	.on_gone = on_gone,
};

/* A child of kind k on ops; its parent's end in *par (one event loop for
 * both). */
static void
child_new(struct child *c, struct parent *pp, struct ipc **par,
    enum proc_kind k, const struct peers_ops *ops)
{
	int fds[2];

	memset(c, 0, sizeof(*c));
	memset(pp, 0, sizeof(*pp));
	c->base = pp->base = event_base_new();
	c->fd = -1;
	ck_assert_int_eq(ipc_pair(fds), 0);
	ck_assert_ptr_nonnull(c->peers = peers_new(c->base, k, fds[0], ops,
	    c));
	ck_assert_ptr_nonnull(*par = ipc_new(pp->base, fds[1], "child", 0,
	    parent_msg, parent_closed, pp));
}

/* The child's channel to the parent has failed: the loop was left, and
 * the parent sees it closed. */
static void
parent_failed(struct child *c, struct parent *p)
{
	run(c->base);
	ck_assert_int_eq(c->gone, 1);
	ck_assert_ptr_null(peers_parent(c->peers));
	run(p->base);
	ck_assert_int_eq(p->closed, 1);
}

static void
child_free(struct child *c, struct ipc *par)
{
	peers_free(c->peers);
	ipc_free(par);
	event_base_free(c->base);
}

/* Hand the child one end of a new pair; the other end in *other. */
static int
send_peer(struct ipc *par, const char *json, int *other)
{
	int fds[2], r;

	ck_assert_int_eq(ipc_pair(fds), 0);
	r = ipc_send(par, IPC_PEER, 0, json, strlen(json), fds[0]);
	close(fds[0]);
	*other = fds[1];
	return r;
}

START_TEST(peer_handed_over)
{
	struct child c;
	struct parent p;
	struct ipc *par;
	char b;
	int other;

	child_new(&c, &p, &par, PROC_WORKER, &every);
	ck_assert_int_eq(send_peer(par, "{\"peer\":\"vault\"}", &other), 0);
	run(c.base);
	ck_assert_int_eq(c.npeer, 1);
	ck_assert_int_eq(c.kind, PROC_VAULT);
	ck_assert_int_eq(c.alerts, 0);
	ck_assert_int_ne(c.fd, -1);
	/* The descriptor is the other end of that pair. */
	ck_assert_int_eq(write(c.fd, "x", 1), 1);
	ck_assert_int_eq(read(other, &b, 1), 1);
	ck_assert_int_eq(b, 'x');
	close(c.fd);
	close(other);
	ck_assert_ptr_nonnull(peers_parent(c.peers));
	child_free(&c, par);
}
END_TEST

/* The alerts channel only in the audit writer and the alerter; a role
 * elsewhere, an unknown peer or no descriptor fails the parent's
 * channel. */
START_TEST(bad_peer_fails_parent)
{
	static const char *const bad[] = {
		"{\"peer\":\"nobody\"}",
		"{\"peer\":\"audit\",\"role\":\"alerts\"}",
		"{\"peer\":\"audit\",\"role\":\"other\"}",
		"not json"
	};
	struct child c;
	struct parent p;
	struct ipc *par;
	int other;

	child_new(&c, &p, &par, PROC_ALERTER, &every);
	ck_assert_int_eq(send_peer(par, "{\"peer\":\"audit\",\"role\":"
	    "\"alerts\"}", &other), 0);
	run(c.base);
	ck_assert_int_eq(c.npeer, 1);
	ck_assert_int_eq(c.kind, PROC_AUDIT);
	ck_assert_int_eq(c.alerts, 1);
	close(c.fd);
	close(other);
	child_free(&c, par);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		child_new(&c, &p, &par, i == 3 ? PROC_AUDIT : PROC_VAULT,
		    &every);
		ck_assert_int_eq(send_peer(par, bad[i], &other), 0);
		parent_failed(&c, &p);
		ck_assert_int_eq(c.npeer, 0);
		close(other);
		child_free(&c, par);
	}
	/* No descriptor at all. */
	child_new(&c, &p, &par, PROC_WATCH, &every);
	ck_assert_int_eq(ipc_send(par, IPC_PEER, 0, "{\"peer\":\"vault\"}",
	    16, -1), 0);
	parent_failed(&c, &p);
	ck_assert_int_eq(c.npeer, 0);
	child_free(&c, par);
}
END_TEST

/* A message without a payload from the parent; the child's loop runs
 * until a handler leaves it. */
static void
tell(struct ipc *par, struct child *c, uint16_t type, uint32_t id)
{
	ck_assert_int_eq(ipc_send(par, type, id, NULL, 0, -1), 0);
	run(c->base);
}

/* With handlers, then without: IPC_STOP leaves the loop, IPC_RELOAD is
 * nothing, anything else fails the channel. */
START_TEST(parent_messages)
{
	struct child c;
	struct parent p;
	struct ipc *par;

	child_new(&c, &p, &par, PROC_WORKER, &every);
	tell(par, &c, IPC_RELOAD, 0);
	ck_assert_int_eq(c.reloads, 1);
	tell(par, &c, IPC_STOP, 0);
	ck_assert_int_eq(c.stops, 1);
	tell(par, &c, IPC_RETIRE, 0);
	ck_assert_int_eq(c.ctls, 1);
	/* Figures, answered with the request's id (one loop: the parent's
	 * end is on it too). */
	tell(par, &c, IPC_STATS_REQ, 77);
	ck_assert_int_eq(p.n, 1);
	ck_assert_uint_eq(p.type, IPC_STATS);
	ck_assert_uint_eq(p.id, 77);
	ck_assert_str_eq(p.text, "figures 42\n");
	/* Not for a child: the channel fails, the loop is left. */
	ck_assert_int_eq(ipc_send(par, IPC_ADMIT, 0, "{}", 2, -1), 0);
	parent_failed(&c, &p);
	child_free(&c, par);

	child_new(&c, &p, &par, PROC_AUDIT, &fewest);
	ck_assert_int_eq(ipc_send(par, IPC_RELOAD, 0, NULL, 0, -1), 0);
	tell(par, &c, IPC_STOP, 0);	/* not the 5 s timeout */
	ck_assert_int_eq(c.gone, 0);
	ck_assert_ptr_nonnull(peers_parent(c.peers));
	ck_assert_int_eq(ipc_send(par, IPC_RETIRE, 0, NULL, 0, -1), 0);
	parent_failed(&c, &p);
	child_free(&c, par);

	/* The parent going away leaves the loop too. */
	child_new(&c, &p, &par, PROC_AUDIT, &fewest);
	ipc_free(par);
	run(c.base);
	ck_assert_int_eq(c.gone, 1);
	ck_assert_ptr_null(peers_parent(c.peers));
	peers_free(c.peers);
	event_base_free(c.base);
}
END_TEST

/* The number of live channels in the table, the last in *last. */
static size_t
count(struct peers *t, struct ipc **last)
{
	struct ipc *ch;
	size_t i, n;

	for (n = 0, i = 0; (ch = peers_next(t, &i)) != NULL; n++)
		*last = ch;
	return n;
}

/* At most PROC_MAX_PEERS channels; one that closes leaves room;
 * peers_next skips the free slots; a dropped one is gone without
 * on_closed. */
START_TEST(table)
{
	struct child c;
	struct parent p;
	struct ipc *par, *w, *last = NULL;
	int other[PROC_MAX_PEERS + 1];
	size_t i;
	char b;

	child_new(&c, &p, &par, PROC_VAULT, &every);
	c.add = 1;
	for (i = 0; i < PROC_MAX_PEERS + 1; i++) {
		ck_assert_int_eq(send_peer(par, "{\"peer\":\"worker\"}",
		    &other[i]), 0);
		run(c.base);
		ck_assert_int_eq(c.npeer, (int)i + 1);
	}
	/* The last was refused: its descriptor closed. */
	ck_assert_int_eq(read(other[PROC_MAX_PEERS], &b, 1), 0);
	close(other[PROC_MAX_PEERS]);
	ck_assert_uint_eq(count(c.peers, &last), PROC_MAX_PEERS);
	ck_assert_str_eq(ipc_peer(last), "worker");
	/* Their other ends closing takes channels out. */
	for (i = 2; i < PROC_MAX_PEERS; i++)
		close(other[i]);
	while (c.closed < PROC_MAX_PEERS - 2)
		run(c.base);
	ck_assert_int_eq(c.closed, PROC_MAX_PEERS - 2);
	ck_assert_uint_eq(count(c.peers, &last), 2);
	/* Messages reach on_msg with the child's arg; the one it fails
	 * leaves the table. */
	ck_assert_ptr_nonnull(w = ipc_new(c.base, other[1], "w", 0, NULL, NULL,
	    NULL));
	ck_assert_int_eq(ipc_send(w, IPC_ALERT, 1, "{}", 2, -1), 0);
	run(c.base);
	ck_assert_int_eq(c.nmsg, 1);
	ck_assert_int_eq(c.closed, PROC_MAX_PEERS - 2);
	ck_assert_int_eq(ipc_send(w, IPC_LOCK, 2, "{}", 2, -1), 0);
	run(c.base);
	ck_assert_int_eq(c.nmsg, 2);
	ck_assert_int_eq(c.closed, PROC_MAX_PEERS - 1);
	ck_assert_uint_eq(count(c.peers, &last), 1);
	ipc_free(w);
	/* Room again. */
	ck_assert_int_eq(send_peer(par, "{\"peer\":\"worker\"}", &other[1]),
	    0);
	run(c.base);
	ck_assert_uint_eq(count(c.peers, &last), 2);
	/* The other end closing takes a channel out. */
	close(other[0]);
	run(c.base);
	ck_assert_int_eq(c.closed, PROC_MAX_PEERS);
	ck_assert_uint_eq(count(c.peers, &last), 1);
	/* Dropped: freed, no on_closed. */
	peers_drop(c.peers, last);
	ck_assert_int_eq(c.closed, PROC_MAX_PEERS);
	i = 0;
	ck_assert_ptr_null(peers_next(c.peers, &i));
	ck_assert_int_eq(read(other[1], &b, 1), 0);
	close(other[1]);
	child_free(&c, par);
}
END_TEST

static Suite *
peers_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("peers");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, peer_handed_over);
	tcase_add_test(tc, bad_peer_fails_parent);
	tcase_add_test(tc, parent_messages);
	tcase_add_test(tc, table);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(peers_suite)
