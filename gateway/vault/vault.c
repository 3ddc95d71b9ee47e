/*
 * vault.c: the vault process (proc.h).
 *
 * It alone reads the TOTP seeds and the approval state, and serves the
 * admin API, where approvers' HTTP is parsed.  Workers ask it whether a
 * protected change needs an approval or may consume a ticket
 * (vaultlink.h); it asks the watch process about registry truth for the
 * admin API (stateq.h) and tells it and the workers of lock-list edits.
 * The live lock list is the vault's (lockstore.h): it hands it to the
 * admin API, which edits it; the configuration keeps the list it loaded.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "admin.h"
#include "alertlink.h"
#include "approval.h"
#include "auditlink.h"
#include "config.h"
#include "err.h"
#include "hex.h"
#include "ipc.h"
#include "lock.h"
#include "lockstore.h"
#include "log.h"
#include "metrics.h"
#include "peers.h"
#include "policy.h"
#include "proc.h"
#include "sandbox.h"

struct question {
	struct question	*next;
	uint32_t	 id;
	struct ipc	*ch;		/* the watch process */
	void		(*done)(void *, json_t *);
	void		*darg;
};

struct vault {
	struct event_base *base;
	struct config	*cfg;
	const char	*conf_path;
	struct approvals *approvals;
	struct lockstore *locks;	/* the admin API's; NULL: no API */
	struct admin	*admin;
	struct auditlink *audit;
	struct alertlink *alert;
	struct peers	*peers;		/* the parent's and the workers' */
	struct ipc	*watch;		/* the newest watch process */
	struct question	*questions;
	uint32_t	 next_id;
};

static const struct config *
current_config(void *arg)
{
	return ((struct vault *)arg)->cfg;
}

/* 64 hex digits (a key, a digest) into 32 bytes; -1 if not. */
static int
hex32(const char *s, uint8_t out[32])
{
	return s != NULL ? hex_decode(s, strlen(s), out, 32) : -1;
}

/* Bounds a worker's question must keep (approval.h, policy.h). */
#define CANON_MAX	(64 * 1024)
#define NAME_MAX_Q	256

static void
require(struct vault *v, struct ipc *ch, const struct ipc_msg *m)
{
	const char *canon, *object, *clid, *requester, *reason = NULL;
	char id[13] = "", approver[APPROVAL_NAME_MAX] = "";
	enum approval_need need = NEED_APPROVAL;
	uint8_t digest[32];
	json_t *j;
	int rc;

	if ((j = ipc_msg_json(m, NULL, NULL)) == NULL ||
	    hex32(json_string_value(json_object_get(j, "digest")),
	    digest) != 0 ||
	    (canon = json_string_value(json_object_get(j, "canonical"))) ==
	    NULL || strlen(canon) > CANON_MAX ||
	    (object = json_string_value(json_object_get(j, "object"))) ==
	    NULL || strlen(object) > NAME_MAX_Q ||
	    (clid = json_string_value(json_object_get(j, "clid"))) == NULL ||
	    strlen(clid) > NAME_MAX_Q ||
	    (requester = json_string_value(json_object_get(j, "requester"))) ==
	    NULL || strlen(requester) >= APPROVAL_NAME_MAX) {
		json_decref(j);
		ipc_fail(ch, "malformed approval question");
		return;
	}
	rc = v->approvals == NULL ? -1 : approvals_require(v->approvals,
	    digest, canon, object, clid, requester, &need, id, &reason,
	    approver);
	(void)ipc_send_json(ch, IPC_VAULT_VERDICT, m->id, json_pack(
	    "{s:i, s:b, s:s, s:s, s:s}", "rc", rc, "ticket", rc == 0 &&
	    need == NEED_NONE, "id", id, "reason", reason ? reason : "",
	    "approver", approver), NULL, 0);
	json_decref(j);
}

static void
answer(struct vault *v, struct ipc *ch, const struct ipc_msg *m)
{
	struct question **pp, *q;
	json_t *j;

	for (pp = &v->questions; (q = *pp) != NULL; pp = &q->next)
		if (q->id == m->id && q->ch == ch)
			break;
	if (q == NULL || (j = ipc_msg_json(m, NULL, NULL)) == NULL) {
		ipc_fail(ch, "answer to no question");
		return;
	}
	*pp = q->next;
	q->done(q->darg, j);
	free(q);
}

static void
worker_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct vault *v = arg;

	switch (m->type) {
	case IPC_VAULT_REQUIRE:
		require(v, ch, m);
		return;
	default:
		ipc_fail(ch, "unexpected message for the vault");
	}
}

static void
watch_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	if (m->type == IPC_STATE_ANSWER)
		answer(arg, ch, m);
	else
		ipc_fail(ch, "unexpected message for the vault");
}

/* Questions a watch process took with it: no answer (admin replies 503). */
static void
drop_questions(struct vault *v, struct ipc *ch)
{
	struct question **pp = &v->questions, *q;

	while ((q = *pp) != NULL) {
		if (ch != NULL && q->ch != ch) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		q->done(q->darg, NULL);
		free(q);
	}
}

static void
watch_closed(struct ipc *ch, const char *why, void *arg)
{
	struct vault *v = arg;

	(void)why;
	if (v->watch == ch)
		v->watch = NULL;
	drop_questions(v, ch);
	ipc_free(ch);
}

static int
ask(void *arg, json_t *question, void (*done)(void *, json_t *), void *darg)
{
	struct vault *v = arg;
	struct question *q;
	struct ipc *w = v->watch;

	if (!ipc_alive(w) || (q = calloc(1, sizeof(*q))) == NULL) {
		json_decref(question);
		return -1;
	}
	q->id = ++v->next_id;
	q->ch = w;
	q->done = done;
	q->darg = darg;
	if (ipc_send_json(w, IPC_STATE_QUERY, q->id, question, NULL, 0) != 0) {
		free(q);
		return -1;
	}
	q->next = v->questions;
	v->questions = q;
	return 0;
}

static void
locks_changed(void *arg, const char *op, const char *name)
{
	struct vault *v = arg;
	struct ipc *ch;

	for (size_t i = 0; (ch = peers_next(v->peers, &i)) != NULL; )
		(void)ipc_send_json(ch, IPC_LOCK, 0, json_pack("{s:s, s:s}",
		    "op", op, "name", name), NULL, 0);
	if (ipc_alive(v->watch))
		(void)ipc_send_json(v->watch, IPC_LOCK, 0, json_pack(
		    "{s:s, s:s}", "op", op, "name", name), NULL, 0);
	/* The parent too: a worker or vault it starts later must not come
	 * up with the lock list as it was loaded. */
	(void)ipc_send_json(peers_parent(v->peers), IPC_LOCK, 0, json_pack("{s:s, s:s}", "op",
	    op, "name", name), NULL, 0);
}

/*
 * After a reload, a ticket whose requester or approver is gone, or whose
 * approver may no longer approve that object, is dropped.
 */
static int
ticket_still_valid(void *arg, const char *object, const char *requester,
    const char *approver)
{
	const struct config *cfg = arg;
	const struct principal *a;

	if (config_principal_by_name(cfg, requester) == NULL)
		return 0;
	if (approver == NULL)
		return 1;
	a = config_principal_by_name(cfg, approver);
	return a != NULL && principal_may_approve(a, object);
}

static void
reload(void *arg)
{
	struct vault *v = arg;
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg;
	struct err e = ERR_INIT;

	/* Loaded again here, as this process's user: it may fail where
	 * the parent's load did not (a file the user cannot read). */
	if ((cfg = config_load(v->conf_path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("vault: %s", errs.msgs[i]);
		log_err("vault: reload failed: keeping the running "
		    "configuration for approvals and the admin API");
		config_errors_clear(&errs);
		return;
	}
	config_errors_clear(&errs);
	config_unref(v->cfg);
	v->cfg = cfg;
	if (v->approvals != NULL && approvals_revalidate(v->approvals,
	    ticket_still_valid, cfg) != 0)
		log_err("reload: could not revalidate approval tickets");
	/* The list the new configuration loaded from the file, which each
	 * edit was saved to (one that could not be is lost here, as it
	 * would be on a restart, which the log said). */
	if (v->locks != NULL && lockstore_reload(v->locks,
	    policy_locks(cfg->policy), cfg->policy_conf.locks_path, &e) != 0)
		log_err("reload: the lock list stays as it was: %s",
		    err_msg(&e));
	if (v->admin != NULL && admin_reload(v->admin, &e) != 0)
		log_err("reload: admin listener keeps its old TLS settings: %s",
		    err_msg(&e));
}

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct vault *v = arg;

	(void)alerts;
	if (k == PROC_AUDIT)
		(void)auditlink_attach(v->audit, fd);
	else if (k == PROC_ALERTER)
		(void)alertlink_attach(v->alert, fd);
	else if (k == PROC_WORKER)
		(void)peers_add(v->peers, fd, "worker");
	else if (k == PROC_WATCH) {
		/* After a reload the newest one answers. */
		if (v->watch != NULL) {
			drop_questions(v, v->watch);
			ipc_free(v->watch);
		}
		v->watch = ipc_new(v->base, fd, "watch", 0, watch_msg,
		    watch_closed, v);
	} else
		close(fd);
}

/* The admin API's figures (none without it). */
static void
send_figures(void *arg, struct evbuffer *out)
{
	struct vault *v = arg;

	if (v->admin != NULL)
		metrics_render(admin_metrics(v->admin), out);
}

/* The table: the workers' channels. */
static const struct peers_ops ops = {
	.on_peer = on_peer,
	.on_stats = send_figures,
	.on_reload = reload,
	.on_msg = worker_msg,
};

/*
 * Seeds and approval state: the seeds file must be private (mode 0600,
 * ours); a corrupt state file stops the start: an approval must never be
 * forgotten or invented.
 */
static int
open_approvals(struct vault *v)
{
	const struct config *cfg = v->cfg;
	struct seeds *seeds = NULL;
	struct err e = ERR_INIT;

	if (cfg->approvals.seeds_path == NULL)
		return 0;
	if (seeds_load(cfg->approvals.seeds_path, &seeds, &e) != 0) {
		log_err("%s", err_msg(&e));
		return -1;
	}
	if (approvals_open(&cfg->approvals, NULL, seeds, &v->approvals,
	    &e) != 0) {
		log_err("approvals: %s", err_msg(&e));
		return -1;
	}
	return 0;
}

int
vault_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl, int admin_fd)
{
	struct vault v;
	struct admin_env env;
	struct err e = ERR_INIT;
	int rc = 1;

	memset(&v, 0, sizeof(v));
	v.cfg = config_ref(cfg);
	v.conf_path = conf_path;
	if (sandbox_protect_memory(&e) != 0) {
		log_err("vault: %s", err_msg(&e));
		goto out;
	}
	if ((v.base = event_base_new()) == NULL ||
	    (v.audit = auditlink_new(v.base)) == NULL ||
	    (v.alert = alertlink_new(v.base)) == NULL ||
	    proc_drop_privileges(cfg) != 0 || open_approvals(&v) != 0)
		goto out;
	if (admin_fd != -1) {
		if ((v.locks = lockstore_new(locks, cfg->policy_conf.locks_path, &e)) ==
		    NULL) {
			log_err("vault: %s", err_msg(&e));
			goto out;
		}
		memset(&env, 0, sizeof(env));
		env.config = current_config;
		env.locks = v.locks;
		env.approvals = v.approvals;
		env.audit = cfg->audit.dir != NULL ? v.audit : NULL;
		env.alert = cfg->alerts.url != NULL ? v.alert : NULL;
		env.ask = ask;
		env.locks_changed = locks_changed;
		env.arg = &v;
		if ((v.admin = admin_start(v.base, admin_fd, &env, &e)) ==
		    NULL) {
			admin_fd = -1;
			log_err("%s", err_msg(&e));
			goto out;
		}
		admin_fd = -1;
		log_notice("admin listener on %s", cfg->admin.listen.text);
	}
	if ((v.peers = peers_new(v.base, PROC_VAULT, ctl, &ops, &v)) ==
	    NULL || proc_ready(ctl) != 0)
		goto out;
	event_base_dispatch(v.base);
	rc = 0;
out:
	if (admin_fd != -1)
		close(admin_fd);
	peers_free(v.peers);
	v.peers = NULL;
	ipc_free(v.watch);
	v.watch = NULL;
	drop_questions(&v, NULL);
	admin_free(v.admin);
	lockstore_free(v.locks);
	approvals_free(v.approvals);
	auditlink_free(v.audit);
	alertlink_free(v.alert);
	if (v.base)
		event_base_free(v.base);
	config_unref(v.cfg);
	return rc;
}
