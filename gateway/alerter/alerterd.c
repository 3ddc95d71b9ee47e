/*
 * alerterd.c: the alerter process (proc.h).
 *
 * It alone reads the webhook HMAC secret.  The others send it events
 * (alertlink.h); it signs and delivers them (alert.h).  An alert dropped
 * or given up on is recorded in the audit log through its own channel to
 * the audit writer.
 */
#include <string.h>

#include <event2/buffer.h>

#include "alert.h"
#include "auditlink.h"
#include "config.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "peers.h"
#include "proc.h"
#include "sandbox.h"

struct alerterd {
	struct event_base *base;
	struct alerter	*alerter;
	struct auditlink *audit;
	struct peers	*peers;		/* the parent's and its clients' */
	const char	*conf_path;
};

static void
dropped(void *arg, const char *event, const char *why)
{
	struct alerterd *d = arg;

	(void)auditlink_submit(d->audit, "alert_dropped", json_pack(
	    "{s:s, s:s}", "event", event, "why", why), NULL, NULL);
}

static void
client_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct alerterd *d = arg;
	json_t *j, *fields;
	const char *event;

	if (m->type != IPC_ALERT || (j = ipc_msg_json(m, NULL, NULL)) ==
	    NULL) {
		ipc_fail(ch, "unexpected message for the alerter");
		return;
	}
	if ((event = json_string_value(json_object_get(j, "event"))) == NULL ||
	    strlen(event) > 64 ||
	    !json_is_object(fields = json_object_get(j, "fields"))) {
		json_decref(j);
		ipc_fail(ch, "malformed alert");
		return;
	}
	alert_emit(d->alerter, event, json_incref(fields));
	json_decref(j);
}

static void
send_figures(void *arg, struct evbuffer *out)
{
	struct alerterd *d = arg;
	struct alert_stats st;

	alerter_stats(d->alerter, &st);
	evbuffer_add_printf(out, "# HELP eppgw_alerts_total Alerts by "
	    "outcome.\n# TYPE eppgw_alerts_total counter\n"
	    "eppgw_alerts_total{outcome=\"queued\"} %llu\n"
	    "eppgw_alerts_total{outcome=\"sent\"} %llu\n"
	    "eppgw_alerts_total{outcome=\"failed\"} %llu\n"
	    "eppgw_alerts_total{outcome=\"dropped\"} %llu\n"
	    "# HELP eppgw_alert_queue_depth Alerts waiting.\n"
	    "# TYPE eppgw_alert_queue_depth gauge\n"
	    "eppgw_alert_queue_depth %zu\n",
	    (unsigned long long)st.queued, (unsigned long long)st.sent,
	    (unsigned long long)st.failed, (unsigned long long)st.dropped,
	    st.depth);
}

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct alerterd *d = arg;

	/* The audit writer's records channel; on its alerts channel it is
	 * a client like any other. */
	if (k == PROC_AUDIT && !alerts)
		(void)auditlink_attach(d->audit, fd);
	else
		(void)peers_add(d->peers, fd, proc_name(k));
}

/* The parent reloaded: those who watch hear of it. */
static void
on_reload(void *arg)
{
	struct alerterd *d = arg;

	alert_emit(d->alerter, "config_reload", json_pack("{s:s}", "config",
	    d->conf_path));
}

static const struct peers_ops ops = {
	.on_peer = on_peer,
	.on_stats = send_figures,
	.on_reload = on_reload,
	.on_msg = client_msg,
};

int
alerter_proc(struct config *cfg, const char *conf_path, int ctl)
{
	struct alerterd d;
	struct err e = ERR_INIT;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.conf_path = conf_path;
	if (sandbox_protect_memory(&e) != 0) {
		log_err("alerter: %s", err_msg(&e));
		return 1;
	}
	if ((d.base = event_base_new()) == NULL ||
	    (d.audit = auditlink_new(d.base)) == NULL ||
	    proc_drop_privileges(cfg) != 0)
		goto out;
	if (alerter_open(d.base, &cfg->alerts, NULL, &d.alerter, &e) != 0) {
		log_err("alerts: %s", err_msg(&e));
		goto out;
	}
	alerter_set_drop_cb(d.alerter, dropped, &d);
	if ((d.peers = peers_new(d.base, PROC_ALERTER, ctl, &ops, &d)) ==
	    NULL || proc_ready(ctl) != 0)
		goto out;
	event_base_dispatch(d.base);
	rc = 0;
out:
	peers_free(d.peers);
	alerter_free(d.alerter);
	auditlink_free(d.audit);
	if (d.base)
		event_base_free(d.base);
	return rc;
}
