/*
 * worker.c: an EPP worker process (proc.h).
 *
 * It serves registrar sessions: TLS, framing, parse, validate, judge,
 * relay.  There are `[gateway] workers` of them, sharing the listening
 * socket; the parent counts sessions per principal and per address for
 * all of them (IPC_ADMIT).  Everything a worker needs from disk (TLS keys
 * and certificates) is read before it enters its sandbox (sandbox.h);
 * after that it cannot open a file, and no TOTP seed, approval state,
 * audit signing key, alert secret or watch password was ever in its
 * memory: those are the vault's, the audit writer's, the alerter's and
 * the watch process's, reached through channels (ipc.h).  It judges
 * against its copy of the watch process's registry state (statelink.h).
 *
 * It takes sessions only once every configured channel is up and the
 * registry state has arrived, so no command is ever judged without the
 * audit log, the vault, the keys or the registry's word.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "alertlink.h"
#include "auditlink.h"
#include "config.h"
#include "err.h"
#include "ipc.h"
#include "lock.h"
#include "log.h"
#include "metrics.h"
#include "peers.h"
#include "policy.h"
#include "proc.h"
#include "proxy.h"
#include "regstate.h"
#include "session.h"
#include "statelink.h"
#include "tls.h"
#include "vaultlink.h"

#define DRAIN_TIMEOUT_SEC	10
#define STATE_LOST_SEC		10	/* without the watch process's store */

/* A /metrics request waiting for the daemon's page from the parent. */
struct scrape {
	struct scrape	*next;
	uint32_t	 id;
	struct evhttp_request *req;
};

struct worker {
	struct event_base *base;
	struct config	*cfg;
	/* The lock list as the parent handed it, with the vault's edits
	 * since (IPC_LOCK), and the policy that judges against it and holds
	 * the key: this worker's, never written into cfg. */
	struct locklist	*locks;
	struct policy	*policy;
	const char	*conf_path;
	struct proxy	*proxy;
	/*
	 * What every session shares (session.h): filled here before the
	 * proxy is made and never replaced after; the links and the TLS
	 * contexts below are this worker's, freed after the proxy.
	 */
	struct session_env env;
	char		 run_id[24];	/* env.run_id */
	struct metrics	*metrics;
	struct session_metrics sm;	/* env.metrics: the sessions' series */
	struct regstate	*rs;		/* registry truth (regstate.h) */
	struct statelink *state;
	struct event	*state_lost;	/* armed while the store's channel is
					   down */
	struct auditlink *audit;	/* NULL: no audit log */
	struct alertlink *alert;	/* NULL: no alerts */
	struct vaultlink *vault;	/* NULL: no vault */
	struct peers	*peers;		/* the parent's channel */
	struct scrape	*scrapes;
	uint32_t	 next_scrape;
	int		 serving;
	int		 stopping;	/* IPC_STOPs received */
	int		 retired;
	int		 failed;	/* exit status 1 */
};

static void
worker_metrics(void *arg, struct evbuffer *out)
{
	struct worker *w = arg;

	if (w->alert != NULL)
		evbuffer_add_printf(out, "# HELP eppgw_alerts_lost_total "
		    "Alerts a worker could not hand to the alerter.\n"
		    "# TYPE eppgw_alerts_lost_total counter\n"
		    "eppgw_alerts_lost_total %llu\n",
		    (unsigned long long)alertlink_lost(w->alert));
}

static void
ask_figures(void *arg, struct evhttp_request *req)
{
	struct worker *w = arg;
	struct scrape *sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		metrics_serve(req, NULL, 0);
		return;
	}
	sc->id = ++w->next_scrape;
	sc->req = req;
	if (ipc_send(peers_parent(w->peers), IPC_STATS_REQ, sc->id, NULL, 0,
	    -1) != 0) {
		free(sc);
		metrics_serve(req, NULL, 0);
		return;
	}
	sc->next = w->scrapes;
	w->scrapes = sc;
}

/* The daemon's page (NULL: the parent is gone). */
static void
got_figures(struct worker *w, uint32_t id, const char *text, size_t len)
{
	struct scrape **pp, *sc;

	for (pp = &w->scrapes; (sc = *pp) != NULL; ) {
		if (text != NULL && sc->id != id) {
			pp = &sc->next;
			continue;
		}
		*pp = sc->next;
		metrics_serve(sc->req, text, len);
		free(sc);
	}
}

/* This process's own figures, for the parent to add up. */
static void
send_figures(void *arg, struct evbuffer *out)
{
	struct worker *w = arg;

	metrics_render(w->metrics, out);
}

/*
 * After a reload: the new workers take new sessions (and the metrics
 * listener); this one serves its own to their end with the configuration
 * they started with.
 */
static void
retire(struct worker *w)
{
	if (w->retired++ || w->stopping)
		return;
	log_info("worker %ld: retiring with %zu sessions",
	    (long)getpid(), proxy_session_count(w->proxy));
	metrics_stop_listening(w->metrics);
	proxy_retire(w->proxy);
}

/* Serve once every configured channel is up. */
static void
maybe_serve(struct worker *w)
{
	uint8_t key[32];

	if (w->serving || w->stopping || w->retired)
		return;
	if ((w->audit != NULL && !auditlink_ready(w->audit)) ||
	    (w->alert != NULL && !alertlink_ready(w->alert)) ||
	    (w->vault != NULL && !vaultlink_ready(w->vault)) ||
	    !statelink_ready(w->state))
		return;
	if (w->cfg->policy_conf.secret_key == NULL &&
	    auditlink_policy_key(w->audit, key) == 0) {
		policy_set_secret_key(w->policy, key);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (!policy_keyed(w->policy))
		log_warn("no [policy] secret_key and no [audit] signing_key: "
		    "hashes of authInfo values in pending changes and change "
		    "ids are not keyed (anyone who reads them can test "
		    "guesses)");
	w->serving = 1;
	proxy_start_accepting(w->proxy);
	log_info("worker %ld: serving", (long)getpid());
}

static void
channel_ready(void *arg)
{
	struct worker *w = arg;

	if (w->state_lost != NULL)
		event_del(w->state_lost);
	maybe_serve(w);
}

/*
 * The channel to the watch process closed.  When that process died, the
 * parent starts a new one and this worker gets the store again at once.
 * If nothing comes, the copy would go stale for good (no change reaches
 * it): better to exit and be started afresh, with every channel.
 */
static void
state_lost(void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { STATE_LOST_SEC, 0 };

	if (w->state_lost != NULL && !w->stopping)
		event_add(w->state_lost, &tv);
}

static void
state_lost_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	log_err("worker %ld: no registry state from the watch process for "
	    "%ds: exiting, to be started again", (long)getpid(),
	    STATE_LOST_SEC);
	w->failed = 1;
	event_base_loopbreak(w->base);
}

/* The vault's lock-list edits. */
static void
vault_request(void *arg, uint16_t type, uint32_t id, json_t *msg)
{
	struct worker *w = arg;

	(void)id;
	if (type == IPC_LOCK)
		(void)proc_apply_lock(w->locks, msg);
}

/* Admission (proxy.h): the parent counts every worker's sessions. */
static int
to_parent(void *arg, uint16_t type, uint32_t id, json_t *msg)
{
	struct worker *w = arg;

	return ipc_send_json(peers_parent(w->peers), type, id, msg, NULL, 0);
}

static void
admitted(struct worker *w, const struct ipc_msg *m)
{
	json_t *j = ipc_msg_json(m, NULL, NULL);

	if (j == NULL) {
		ipc_fail(peers_parent(w->peers), "malformed admission");
		return;
	}
	proxy_admitted(w->proxy, m->id, json_is_true(json_object_get(j, "ok")),
	    json_string_value(json_object_get(j, "why")));
	json_decref(j);
}

static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct worker *w = arg;
	int r = -1;

	(void)alerts;
	if (k == PROC_AUDIT && w->audit != NULL)
		r = auditlink_attach(w->audit, fd);
	else if (k == PROC_ALERTER && w->alert != NULL)
		r = alertlink_attach(w->alert, fd);
	else if (k == PROC_VAULT && w->vault != NULL)
		r = vaultlink_attach(w->vault, fd);
	else if (k == PROC_WATCH)
		r = statelink_attach(w->state, fd);
	else
		close(fd);
	if (r != 0)
		log_warn("worker: cannot use the channel to %s", proc_name(k));
	maybe_serve(w);
}

/* The first IPC_STOP drains, the second stops at once. */
static void
on_stop(void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { DRAIN_TIMEOUT_SEC, 0 };

	if (w->stopping++) {
		event_base_loopbreak(w->base);
		return;
	}
	log_info("worker %ld: draining %zu sessions", (long)getpid(),
	    proxy_session_count(w->proxy));
	proxy_drain(w->proxy);
	(void)event_base_once(w->base, -1, EV_TIMEOUT, on_stop_timeout, w,
	    &tv);
}

static int
on_ctl(void *arg, const struct ipc_msg *m)
{
	struct worker *w = arg;

	switch (m->type) {
	case IPC_RETIRE:
		retire(w);
		/* Its listener is off: the reload is done once every old
		 * worker says so (parent.c, on_hup). */
		(void)ipc_send(peers_parent(w->peers), IPC_RETIRED, 0, NULL, 0,
		    -1);
		return 0;
	case IPC_STATS:
		got_figures(w, m->id, (const char *)m->data, m->len);
		return 0;
	case IPC_ADMITTED:
		admitted(w, m);
		return 0;
	default:
		return -1;
	}
}

/* The parent is gone: nobody supervises, nothing is kept. */
static void
on_gone(void *arg)
{
	struct worker *w = arg;

	proxy_admission_lost(w->proxy);
	got_figures(w, 0, NULL, 0);
}

/* No on_reload: a reload starts new workers.  No table: no two workers
 * talk, and each of its other peers has its own link. */
static const struct peers_ops ops = {
	.on_peer = on_peer,
	.on_stats = send_figures,
	.on_stop = on_stop,
	.on_ctl = on_ctl,
	.on_gone = on_gone,
};

int
worker_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl, unsigned number, int listen_fd,
    int metrics_fd)
{
	struct worker w;
	struct err e = ERR_INIT;
	int rc = 1;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.conf_path = conf_path;
	if ((w.locks = locklist_copy(locks, &e)) == NULL) {
		log_err("worker: %s", err_msg(&e));
		goto out;
	}
	if ((w.policy = policy_derive(cfg->policy, w.locks)) == NULL) {
		log_err("worker: out of memory");
		goto out;
	}
	/* The approvals family is the vault's; registered here empty so
	 * that every page the parent sums has the same families in the
	 * same order (promsum.c keeps the first page's). */
	if ((w.base = event_base_new()) == NULL ||
	    (w.metrics = metrics_new()) == NULL ||
	    session_metrics_register(w.metrics, &w.sm) != 0 ||
	    admin_metrics_register(w.metrics) == NULL)
		goto out;
	if ((cfg->audit.dir != NULL && (w.audit = auditlink_new(w.base)) ==
	    NULL) || (cfg->alerts.url != NULL && (w.alert =
	    alertlink_new(w.base)) == NULL) ||
	    ((cfg->approvals.seeds_path != NULL || cfg->admin.enabled) &&
	    (w.vault = vaultlink_new(w.base)) == NULL))
		goto out;
	/* The bound applies with or without a watch session. */
	if ((w.rs = regstate_new(cfg->upstream.state_max)) == NULL)
		goto out;
	/* Long enough for the watch session's own reply timeout. */
	if ((w.state = statelink_new(w.base, w.rs, cfg->upstream.clid != NULL,
	    2 * cfg->upstream.reply_timeout + 5)) == NULL)
		goto out;
	statelink_on_ready(w.state, channel_ready, &w);
	statelink_on_lost(w.state, state_lost, &w);
	if ((w.state_lost = evtimer_new(w.base, state_lost_timeout, &w)) ==
	    NULL)
		goto out;
	snprintf(w.run_id, sizeof(w.run_id), "%llx%04x",
	    (unsigned long long)time(NULL), (unsigned)getpid() & 0xffff);
	w.env.base = w.base;
	w.env.cfg = cfg;
	w.env.policy = w.policy;
	w.env.regstate = w.rs;
	w.env.state = w.state;
	w.env.vault = w.vault;
	w.env.audit = w.audit;
	w.env.alerter = w.alert;
	w.env.metrics = &w.sm;
	w.env.run_id = w.run_id;
	if ((w.env.server_ctx = tls_server_ctx(cfg, &e)) == NULL ||
	    (w.env.client_ctx = tls_client_ctx(cfg, &e)) == NULL ||
	    (w.proxy = proxy_new(&w.env, (uint64_t)number * 1000000000u,
	    to_parent, &w, &e)) == NULL) {
		log_err("%s", err_msg(&e));
		goto out;
	}
	if (proxy_listen(w.proxy, listen_fd, &e) != 0) {
		listen_fd = -1;
		log_err("%s", err_msg(&e));
		goto out;
	}
	listen_fd = -1;
	metrics_set_extra(w.metrics, worker_metrics, &w);
	metrics_set_source(w.metrics, ask_figures, &w);
	if (metrics_fd != -1) {
		if (metrics_listen(w.metrics, w.base, metrics_fd, &e) != 0) {
			metrics_fd = -1;
			log_err("%s", err_msg(&e));
			goto out;
		}
		metrics_fd = -1;
	}
	if ((w.peers = peers_new(w.base, PROC_WORKER, ctl, &ops, &w)) == NULL)
		goto out;
	if (w.audit != NULL)
		auditlink_on_ready(w.audit, channel_ready, &w);
	if (w.vault != NULL)
		vaultlink_on_request(w.vault, vault_request, &w);

	if (proc_sandbox(cfg, conf_path, "worker") != 0)
		goto out;
	if (proc_ready(ctl) != 0)
		goto out;
	maybe_serve(&w);
	event_base_dispatch(w.base);
	log_notice("worker %ld: stopped with %zu sessions open",
	    (long)getpid(), proxy_session_count(w.proxy));
	rc = w.failed;
out:
	if (listen_fd != -1)
		close(listen_fd);
	if (metrics_fd != -1)
		close(metrics_fd);
	/* What this worker counted outlives it in the parent's sum. */
	if (peers_parent(w.peers) != NULL && w.metrics != NULL &&
	    w.proxy != NULL)
		peers_send_stats(w.peers, 0);
	proxy_free(w.proxy);
	SSL_CTX_free(w.env.server_ctx);
	SSL_CTX_free(w.env.client_ctx);
	statelink_free(w.state);
	regstate_free(w.rs);
	if (w.state_lost != NULL)
		event_free(w.state_lost);
	got_figures(&w, 0, NULL, 0);
	peers_free(w.peers);
	vaultlink_free(w.vault);
	auditlink_free(w.audit);
	alertlink_free(w.alert);
	metrics_free(w.metrics);
	if (w.base)
		event_base_free(w.base);
	policy_free(w.policy);
	locklist_free(w.locks);
	return rc;
}
