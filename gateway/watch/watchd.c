/*
 * watchd.c: the watch process (proc.h): the one owner of registry truth.
 *
 * It holds the store of what the registry says (regstate.h) and runs the
 * watch session that reads it (watch.h), with the watch login's password
 * and the upstream TLS key.  Every worker judges against a copy of the
 * store (statelink.h): this process sends each worker the whole store when
 * their channel is made, then every object that changes, in order.  The
 * workers ask it for objects the store does not hold, tell it of changes
 * the registry executed and of info replies they relayed.  The vault asks
 * it about the store for the admin API (stateq.h) and tells it of
 * lock-list edits.
 *
 * One process, so that several workers never run several watch sessions
 * (registries limit sessions per registrar) nor disagree about what the
 * registry said.  It parses registry replies, not registrar input, but is
 * sandboxed as a worker is all the same.  A reload replaces it: the new
 * one reads the state file, then every watched object again.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/ssl.h>

#include "alertlink.h"
#include "auditlink.h"
#include "config.h"
#include "err.h"
#include "ipc.h"
#include "lock.h"
#include "log.h"
#include "names.h"
#include "peers.h"
#include "policy.h"
#include "proc.h"
#include "sandbox.h"
#include "statelink.h"
#include "stateq.h"
#include "tls.h"
#include "watch.h"

struct watchd;

/* A worker's ask, waiting for the watch session. */
struct pending {
	struct pending	*next, *prev;
	struct watchd	*d;
	struct ipc	*ch;		/* NULL once that channel closed */
	uint32_t	 id;
};

struct watchd {
	struct event_base *base;
	struct config	*cfg;
	/* The lock list as the parent handed it, with the vault's edits
	 * since (IPC_LOCK), and the policy that reads it: ours, never
	 * written into cfg. */
	struct locklist	*locks;
	struct policy	*policy;
	struct regstate	*rs;
	struct watch	*watch;		/* NULL: no [upstream] clid */
	SSL_CTX		*client_ctx;
	struct auditlink *audit;	/* NULL: no audit log */
	struct alertlink *alert;	/* NULL: no alerts */
	struct peers	*peers;		/* the parent's and the workers' */
	struct ipc	*vault;
	struct pending	*pending;
	uint64_t	 nputs;
};

static void
send_stats(void *arg, struct evbuffer *b)
{
	struct watchd *d = arg;

	watch_metrics(d->watch, d->rs, b);
	evbuffer_add_printf(b, "# HELP eppgw_state_updates_total Objects "
	    "sent to the workers' copies of the store.\n"
	    "# TYPE eppgw_state_updates_total counter\n"
	    "eppgw_state_updates_total %llu\n", (unsigned long long)d->nputs);
}

/* One object as the store holds it now (statelink.c, on_put). */
static json_t *
object_json(const struct regstate *rs, enum rs_kind k, const char *name)
{
	const struct rs_obj *o = regstate_get(rs, k, name);
	const char *kind = statelink_kind_name(k);
	json_t *f;

	if (o == NULL)
		return json_pack("{s:s, s:s, s:b}", "k", kind, "n", name,
		    "gone", 1);
	if ((f = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < rs_obj_nfacts(o); i++)
		json_array_append_new(f, json_string(rs_obj_fact(o, i)));
	return json_pack("{s:s, s:s, s:I, s:I, s:b, s:o}", "k", kind, "n",
	    name, "r", (json_int_t)rs_obj_refreshed(o), "c",
	    (json_int_t)rs_obj_changed(o), "p", rs_obj_pinned(o), "f", f);
}

/* The store changed (regstate_set_observer): every copy follows. */
static void
store_changed(void *arg, enum rs_kind k, const char *name)
{
	struct watchd *d = arg;
	json_t *j = object_json(d->rs, k, name);
	struct ipc *ch;

	for (size_t i = 0; (ch = peers_next(d->peers, &i)) != NULL; ) {
		/* A copy that missed an object would be wrong: that worker
		 * loses its channel, and asks fail closed until the parent
		 * gives it a new one with the whole store. */
		if (j == NULL || ipc_send_json(ch, IPC_STATE_PUT, 0,
		    json_incref(j), NULL, 0) != 0)
			ipc_fail(ch, "cannot send an object");
		d->nputs++;
	}
	json_decref(j);
}

/* The whole store, to a worker whose channel is new. */
static int
sync_worker(struct watchd *d, struct ipc *ch)
{
	size_t len = 0;
	char *dump;
	int r;

	if ((dump = regstate_dump(d->rs, &len)) == NULL)
		return -1;
	r = ipc_send_json(ch, IPC_STATE_SYNC, 0, json_pack("{s:b}", "askable",
	    d->watch != NULL), dump, len);
	free(dump);
	return r;
}

static void
pending_unlink(struct watchd *d, struct pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		d->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

/* The watch session's answer to a worker's ask. */
static void
asked(void *arg, int ok)
{
	struct pending *p = arg;

	if (p->ch != NULL)
		(void)ipc_send_json(p->ch, IPC_STATE_ASKED, p->id, json_pack(
		    "{s:b}", "ok", ok == 0), NULL, 0);
	pending_unlink(p->d, p);
	free(p);
}

static int
worker_ask(struct watchd *d, struct ipc *ch, uint32_t id, const json_t *j)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	struct pending *p;

	if (name == NULL || strlen(name) > NAME_MAX_LEN)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ipc_send_json(ch, IPC_STATE_ASKED, id, json_pack("{s:b}",
		    "ok", 0), NULL, 0);
	p->d = d;
	p->ch = ch;
	p->id = id;
	p->next = d->pending;
	if (d->pending != NULL)
		d->pending->prev = p;
	d->pending = p;
	if (d->watch == NULL)
		asked(p, -1);
	else
		watch_ask(d->watch, name, asked, p);
	return 0;
}

static int
worker_seen(struct watchd *d, const json_t *j)
{
	const char *name, **facts;
	enum rs_kind k;
	size_t n;

	if (statelink_object(j, &k, &name) != 0 ||
	    statelink_facts(j, &facts, &n) != 0)
		return -1;
	watch_seen(d->watch, d->rs, k, name, facts, n, (int64_t)time(NULL));
	free(facts);
	return 0;
}

static void
worker_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct watchd *d = arg;
	const char *name;
	enum rs_kind k;
	json_t *j;
	int r = -1;

	if ((j = ipc_msg_json(m, NULL, NULL)) == NULL) {
		ipc_fail(ch, "malformed message from a worker");
		return;
	}
	switch (m->type) {
	case IPC_STATE_ASK:
		r = worker_ask(d, ch, m->id, j);
		break;
	case IPC_STATE_CHANGED:
		if (statelink_object(j, &k, &name) == 0 &&
		    json_is_integer(json_object_get(j, "classes"))) {
			watch_changed(d->watch, k, name, (unsigned)
			    json_integer_value(json_object_get(j, "classes")));
			r = 0;
		}
		break;
	case IPC_STATE_SEEN:
		r = worker_seen(d, j);
		break;
	default:
		break;
	}
	json_decref(j);
	if (r != 0)
		ipc_fail(ch, "unexpected or malformed message from a worker");
}

/* A worker's channel closed: its asks still run; their answers go
 * nowhere. */
static void
worker_closed(void *arg, struct ipc *ch)
{
	struct watchd *d = arg;

	for (struct pending *p = d->pending; p != NULL; p = p->next)
		if (p->ch == ch)
			p->ch = NULL;
}

/* The vault: the admin API's questions and lock-list edits. */
static void
vault_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct watchd *d = arg;
	json_t *j;

	if ((m->type != IPC_STATE_QUERY && m->type != IPC_LOCK) ||
	    (j = ipc_msg_json(m, NULL, NULL)) == NULL) {
		ipc_fail(ch, "unexpected or malformed message from the vault");
		return;
	}
	if (m->type == IPC_STATE_QUERY)
		(void)ipc_send_json(ch, IPC_STATE_ANSWER, m->id,
		    stateq_answer(d->policy, d->rs, d->watch, j), NULL, 0);
	else
		(void)proc_apply_lock(d->locks, j);
	json_decref(j);
}

static void
vault_closed(struct ipc *ch, const char *why, void *arg)
{
	struct watchd *d = arg;

	(void)why;
	if (d->vault == ch)
		d->vault = NULL;
	ipc_free(ch);
}

static void
add_worker(struct watchd *d, int fd)
{
	struct ipc *ch;

	if ((ch = peers_add(d->peers, fd, "worker")) != NULL &&
	    sync_worker(d, ch) != 0) {
		log_err("watch: cannot send the store to a worker");
		peers_drop(d->peers, ch);
	}
}

/* The parent keeps the state file: it is written off this loop. */
static int
save_state(void *arg, const char *json, size_t len)
{
	struct watchd *d = arg;

	return ipc_send(peers_parent(d->peers), IPC_STATE_SAVE, 0, json, len,
	    -1);
}

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct watchd *d = arg;
	int r = 0;

	(void)alerts;
	if (k == PROC_AUDIT && d->audit != NULL)
		r = auditlink_attach(d->audit, fd);
	else if (k == PROC_ALERTER && d->alert != NULL)
		r = alertlink_attach(d->alert, fd);
	else if (k == PROC_VAULT) {
		ipc_free(d->vault);
		d->vault = ipc_new(d->base, fd, "vault", 0, vault_msg,
		    vault_closed, d);
	} else if (k == PROC_WORKER)
		add_worker(d, fd);
	else
		close(fd);
	if (r != 0)
		log_warn("watch: cannot use the channel to %s", proc_name(k));
}

/*
 * The table: the workers' channels, which carry the whole store (as the
 * parent's carries the state file).  No on_reload: a reload starts a new
 * watch process.
 */
static const struct peers_ops ops = {
	.msg_max = IPC_MAX_STATE,
	.on_peer = on_peer,
	.on_stats = send_stats,
	.on_msg = worker_msg,
	.on_closed = worker_closed,
};

int
watch_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl)
{
	struct watchd d;
	struct err e = ERR_INIT;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	if ((d.locks = locklist_copy(locks, &e)) == NULL) {
		log_err("watch: %s", err_msg(&e));
		goto out;
	}
	if ((d.policy = policy_derive(cfg->policy, d.locks)) == NULL) {
		log_err("watch: out of memory");
		goto out;
	}
	/* The watch login's password is a secret: out of the workers'
	 * reach even when they run as the same user. */
	if (sandbox_protect_memory(&e) != 0) {
		log_err("watch: %s", err_msg(&e));
		goto out;
	}
	if ((d.base = event_base_new()) == NULL ||
	    (d.rs = regstate_new(cfg->upstream.state_max)) == NULL)
		goto out;
	if ((cfg->audit.dir != NULL && (d.audit = auditlink_new(d.base)) ==
	    NULL) || (cfg->alerts.url != NULL && (d.alert =
	    alertlink_new(d.base)) == NULL))
		goto out;
	if ((d.peers = peers_new(d.base, PROC_WATCH, ctl, &ops, &d)) == NULL)
		goto out;
	if (cfg->upstream.clid != NULL) {
		if ((d.client_ctx = tls_client_ctx(cfg, &e)) == NULL) {
			log_err("watch: %s", err_msg(&e));
			goto out;
		}
		if ((d.watch = watch_new(d.base, cfg, d.policy, d.client_ctx,
		    d.rs, &e)) == NULL) {
			log_err("watch: %s", err_msg(&e));
			goto out;
		}
		watch_set_audit(d.watch, d.audit);
		watch_set_alerter(d.watch, d.alert);
		watch_set_saver(d.watch, save_state, &d);
	}
	/* From here on every change reaches the workers' copies. */
	regstate_set_observer(d.rs, store_changed, &d);
	if (proc_sandbox(cfg, conf_path, "watch") != 0)
		goto out;
	if (proc_ready(ctl) != 0)
		goto out;
	event_base_dispatch(d.base);
	rc = 0;
out:
	/* The watch hands its state over one last time. */
	regstate_set_observer(d.rs, NULL, NULL);
	watch_free(d.watch);
	while (d.pending != NULL) {
		struct pending *p = d.pending;

		d.pending = p->next;
		free(p);
	}
	ipc_free(d.vault);
	peers_free(d.peers);
	auditlink_free(d.audit);
	alertlink_free(d.alert);
	SSL_CTX_free(d.client_ctx);
	regstate_free(d.rs);
	policy_free(d.policy);
	locklist_free(d.locks);
	if (d.base)
		event_base_free(d.base);
	return rc;
}
