/*
 * main.c: the eppgw daemon: options, configuration, signals, event loop.
 *
 *   eppgw [-dtTvV] [-f file]
 *
 * The top-level state (the event base and the proxy) lives here and only
 * here.  Signals are libevent events, so handlers run in the loop, not in
 * signal context.
 */
#define _GNU_SOURCE	/* setresuid(2), setresgid(2) */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "admin.h"
#include "alert.h"
#include "approval.h"
#include "audit.h"
#include "config.h"
#include "epp.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "proxy.h"
#include "watch.h"
#include "sdnotify.h"

#ifndef EPPGW_VERSION
#define EPPGW_VERSION "0.0.0"
#endif
#define DRAIN_TIMEOUT_SEC	10

#ifndef EPPGW_CONF
#define EPPGW_CONF "/etc/eppgw/eppgw.conf"
#endif

struct daemon {
	struct event_base	*base;
	struct proxy		*proxy;
	struct approvals	*approvals;
	struct admin		*admin;
	struct audit		*audit;
	struct metrics		*metrics;
	struct alerter		*alerter;
	struct watch		*watch;
	const char		*conf_path;
	int			 stopping;
};

static void
usage(void)
{
	fprintf(stderr, "usage: eppgw [-djtTvV] [-f file]\n"
	    "  -f file  configuration (default " EPPGW_CONF ")\n"
	    "  -t       check the configuration and exit\n"
	    "  -T       print the effective configuration and exit\n"
	    "  -d       stay in the foreground, log to stderr\n"
	    "  -j       log JSON lines to stderr\n"
	    "  -v       verbose: log debug messages\n"
	    "  -V       print the version and linked libraries\n");
	exit(2);
}

static void
version(void)
{
	printf("eppgw %s\n", EPPGW_VERSION);
	printf("  OpenSSL  %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  libevent %s\n", event_get_version());
	printf("  libxml2  %s\n", xmlParserVersion);
	printf("  inih     (Debian libinih)\n");
}

/* Load a configuration; on failure print every error and return NULL. */
static struct config *
load(const char *path, int to_stderr)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;

	if ((cfg = config_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++) {
			if (to_stderr)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			else
				log_err("%s", errs.msgs[i]);
		}
	}
	config_errors_clear(&errs);
	return cfg;
}

/* An alert that could not be delivered is itself worth a record. */
static void
alert_dropped(void *arg, const char *event, const char *why)
{
	struct daemon *d = arg;

	if (d->audit != NULL)
		(void)audit_submit(d->audit, "alert_dropped", json_pack(
		    "{s:s, s:s}", "event", event, "why", why), NULL, NULL);
}

static void
audit_metrics(struct daemon *d, struct evbuffer *out)
{
	struct audit_stats st;

	if (d->audit == NULL)
		return;
	audit_stats(d->audit, &st);
	evbuffer_add_printf(out, "# HELP eppgw_audit_records_total Audit "
	    "records made durable.\n# TYPE eppgw_audit_records_total counter\n"
	    "eppgw_audit_records_total %llu\n"
	    "# HELP eppgw_audit_syncs_total Group commits (one fdatasync "
	    "each).\n# TYPE eppgw_audit_syncs_total counter\n"
	    "eppgw_audit_syncs_total %llu\n"
	    "# HELP eppgw_audit_sync_seconds_total Time spent in fdatasync.\n"
	    "# TYPE eppgw_audit_sync_seconds_total counter\n"
	    "eppgw_audit_sync_seconds_total %.6f\n"
	    "# HELP eppgw_audit_sync_seconds_max Longest fdatasync.\n"
	    "# TYPE eppgw_audit_sync_seconds_max gauge\n"
	    "eppgw_audit_sync_seconds_max %.6f\n"
	    "# HELP eppgw_audit_batch_max Largest group commit (records).\n"
	    "# TYPE eppgw_audit_batch_max gauge\n"
	    "eppgw_audit_batch_max %llu\n"
	    "# HELP eppgw_audit_failed 1 once the audit log has failed.\n"
	    "# TYPE eppgw_audit_failed gauge\neppgw_audit_failed %d\n",
	    (unsigned long long)st.records, (unsigned long long)st.syncs,
	    (double)st.sync_us / 1e6, (double)st.sync_us_max / 1e6,
	    (unsigned long long)st.batch_max, st.failed);
}

static void
alert_metrics(void *arg, struct evbuffer *out)
{
	struct daemon *d = arg;
	struct alert_stats st;

	audit_metrics(d, out);
	watch_metrics(d->watch, proxy_regstate(d->proxy), out);
	if (d->alerter == NULL)
		return;
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

static int
start_alerts(struct daemon *d, const struct config *cfg)
{
	struct alert_opts o;
	char err[512];

	metrics_set_extra(d->metrics, alert_metrics, d);
	if (cfg->alert_url == NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.url = cfg->alert_url;
	o.secret_path = cfg->alert_secret;
	o.ca = cfg->alert_ca;
	o.queue_max = cfg->alert_queue_max;
	o.retries = cfg->alert_retries;
	o.timeout_ms = cfg->alert_timeout_ms;
	if (alerter_open(d->base, &o, &d->alerter, err, sizeof(err)) != 0) {
		log_err("alerts: %s", err);
		return -1;
	}
	alerter_set_drop_cb(d->alerter, alert_dropped, d);
	proxy_set_alerter(d->proxy, d->alerter);
	return 0;
}

/*
 * The audit log.  Opening it verifies what is there: a torn tail is sealed
 * with a recovery record, anything else refuses the start.
 */
static int
start_audit(struct daemon *d, const struct config *cfg)
{
	struct audit_opts o;
	char err[512];

	if (cfg->audit_dir == NULL) {
		log_warn("no [audit] dir: commands are not recorded");
		return 0;
	}
	memset(&o, 0, sizeof(o));
	o.dir = cfg->audit_dir;
	o.signing_key = cfg->audit_key;
	o.origin = cfg->audit_origin;
	o.segment_max = cfg->audit_segment_max;
	o.checkpoint_ms = cfg->audit_checkpoint_ms;
	o.heartbeat_s = cfg->audit_heartbeat;
	if (audit_open(d->base, &o, &d->audit, err, sizeof(err)) != 0) {
		log_err("audit: %s", err);
		return -1;
	}
	proxy_set_audit(d->proxy, d->audit);
	log_notice("audit log in %s", cfg->audit_dir);
	return 0;
}

/*
 * The watch session (watch.h): the gateway's own login to the registry,
 * keeping registry truth about locked objects.  Its state file must load:
 * what the registry said of a locked object is not silently forgotten.
 */
static int
start_watch(struct daemon *d, const struct config *cfg)
{
	char err[512];

	if (cfg->watch_clid == NULL) {
		log_notice("no [upstream] clid: no watch session; what the "
		    "gateway knows of the registry comes only from replies "
		    "registrars receive");
		return 0;
	}
	if ((d->watch = watch_new(d->base, (struct config *)cfg,
	    proxy_client_ctx(d->proxy), proxy_regstate(d->proxy), err,
	    sizeof(err))) == NULL) {
		log_err("watch: %s", err);
		return -1;
	}
	watch_set_audit(d->watch, d->audit);
	watch_set_alerter(d->watch, d->alerter);
	proxy_set_watch(d->proxy, d->watch);
	return 0;
}

/*
 * Seeds, approval state and the admin listener.  The seeds file must be
 * private (mode 0600, ours); a corrupt state file stops the start: an
 * approval must never be forgotten or invented.
 */
static int
start_approvals(struct daemon *d, const struct config *cfg)
{
	struct approval_opts o;
	struct seeds *seeds = NULL;
	char err[512];

	if (cfg->seeds_path == NULL) {
		if (cfg->policy != NULL)
			log_notice("no [approvals] seeds: protected changes "
			    "on locked objects are refused, never approved");
	} else if (seeds_load(cfg->seeds_path, &seeds, err,
	    sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	if (seeds != NULL) {
		memset(&o, 0, sizeof(o));
		o.state_path = cfg->state_path;
		o.ticket_ttl = cfg->ticket_ttl;
		o.pending_ttl = cfg->pending_ttl;
		o.max_pending = cfg->max_pending;
		o.max_pending_requester = cfg->max_pending_principal;
		o.window = cfg->totp_window;
		o.rate_attempts = cfg->rate_attempts;
		o.rate_period = cfg->rate_period;
		o.lockout_after = cfg->lockout_after;
		o.global_cap = cfg->global_cap;
		o.global_period = cfg->global_period;
		if (approvals_open(&o, seeds, &d->approvals, err,
		    sizeof(err)) != 0) {
			log_err("approvals: %s", err);
			return -1;
		}
		proxy_set_approvals(d->proxy, d->approvals);
	}
	return 0;
}

/* The admin listener; it finds the approvals through the proxy. */
static int
start_admin(struct daemon *d, const struct config *cfg)
{
	char err[512];

	if (!cfg->admin_enabled)
		return 0;
	if ((d->admin = admin_start(d->base, d->proxy, err, sizeof(err))) ==
	    NULL) {
		log_err("%s", err);
		return -1;
	}
	log_notice("admin listener on %s", cfg->admin_listen.text);
	return 0;
}

/*
 * Once every socket is bound, give up root: what is opened from here on
 * (audit log, approval state, seeds, alert secret, reloads) is opened as
 * the configured user, which must own those files.
 */
static int
drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (cfg->user == NULL) {
		if (geteuid() != 0)
			return 0;
		if (strcmp(cfg->run_as_root, "yes") != 0) {
			log_err("refusing to keep running as root: set "
			    "[gateway] user (or run_as_root = yes)");
			return -1;
		}
		log_warn("running as root (run_as_root = yes)");
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		log_err("user %s: no such user", cfg->user);
		return -1;
	}
	if (geteuid() != 0 && geteuid() == pw->pw_uid)
		return 0;	/* already that user */
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_err("cannot drop privileges to %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("privileges could be regained after dropping them");
		return -1;
	}
	log_notice("running as %s", cfg->user);
	return 0;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (d->stopping++) {
		log_notice("second signal %d: exiting now", (int)sig);
		event_base_loopbreak(d->base);
		return;
	}
	log_notice("signal %d: draining %zu sessions (up to %us; a second "
	    "signal stops at once)", (int)sig, proxy_session_count(d->proxy),
	    DRAIN_TIMEOUT_SEC);
	sd_notify_state("STOPPING=1");
	proxy_drain(d->proxy);
	/* Commands in flight get this long to finish. */
	{
		struct timeval tv = { DRAIN_TIMEOUT_SEC, 0 };

		event_base_loopexit(d->base, &tv);
	}
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
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config *cfg;
	char err[512];

	(void)sig;
	(void)what;
	log_notice("SIGHUP: reloading %s", d->conf_path);
	sd_notify_reloading();
	if ((cfg = load(d->conf_path, 0)) == NULL) {
		log_err("reload failed: keeping the running configuration");
		sd_notify_state("READY=1");
		return;
	}
	if (memcmp(&cfg->listen.ss, &proxy_config(d->proxy)->listen.ss,
	    cfg->listen.len) != 0)
		log_warn("reload: a new listen address needs a restart");
	if (proxy_reload(d->proxy, cfg, err, sizeof(err)) != 0)
		log_err("reload failed: %s: keeping the running "
		    "configuration", err);
	else {
		if (d->watch != NULL)
			watch_reload(d->watch, cfg, proxy_client_ctx(d->proxy));
		if ((cfg->watch_clid == NULL) != (d->watch == NULL))
			log_warn("reload: starting or stopping the watch "
			    "session needs a restart");
		if (d->approvals != NULL && approvals_revalidate(d->approvals,
		    ticket_still_valid, cfg) != 0)
			log_err("reload: could not revalidate approval tickets");
		if (d->admin != NULL && admin_reload(d->admin, err,
		    sizeof(err)) != 0)
			log_err("reload: admin listener keeps its old TLS "
			    "settings: %s", err);
		log_notice("reload done: new sessions use the new "
		    "configuration");
		alert_emit(d->alerter, "config_reload", json_pack("{s:s}",
		    "config", d->conf_path));
	}
	sd_notify_state("READY=1");
	config_unref(cfg);
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct config *cfg = NULL;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	char err[512];
	int ch, check = 0, print = 0, debug = 0, verbose = 0, json = 0, rc = 1;

	memset(&d, 0, sizeof(d));
	d.conf_path = EPPGW_CONF;
	while ((ch = getopt(argc, argv, "df:hjtTvV")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			d.conf_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'T':
			print = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			version();
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("eppgw", json ? LOG_TO_JSON : (debug || check || print ||
	    getenv("JOURNAL_STREAM") != NULL) ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	    verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	epp_init();

	if ((cfg = load(d.conf_path, check || print || debug)) == NULL)
		goto out;
	if (check && cfg->seeds_path != NULL) {
		/*
		 * The seeds file's permissions and contents, as at start: as
		 * the user the daemon will run as.
		 */
		struct seeds *sd = NULL;
		struct passwd *pw = cfg->user ? getpwnam(cfg->user) : NULL;
		uid_t euid = geteuid();
		int r;

		if (pw != NULL && euid == 0 && seteuid(pw->pw_uid) != 0)
			pw = NULL;
		r = seeds_load(cfg->seeds_path, &sd, err, sizeof(err));
		if (pw != NULL && euid == 0 && seteuid(0) != 0)
			fatalx("cannot restore the effective user");
		if (r != 0) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		seeds_free(sd);
	}
	if (check || print) {
		if (print)
			config_print(cfg, stdout);
		else
			printf("configuration OK\n");
		rc = 0;
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit must fail the audit write (EFBIG: the gateway
	 * then refuses commands), not kill the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	if ((d.base = event_base_new()) == NULL) {
		log_err("cannot create the event loop");
		goto out;
	}
	if ((d.proxy = proxy_new(d.base, cfg, err, sizeof(err))) == NULL ||
	    proxy_listen(d.proxy, err, sizeof(err)) != 0) {
		log_err("%s", err);
		goto out;
	}
	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    event_add(ev_term, NULL) || event_add(ev_int, NULL) ||
	    event_add(ev_hup, NULL)) {
		log_err("cannot set up signal handling");
		goto out;
	}
	if ((d.metrics = metrics_new()) == NULL)
		goto out;
	proxy_set_metrics(d.proxy, d.metrics);
	if (cfg->metrics_listen.text[0] != '\0') {
		if (metrics_listen(d.metrics, d.base, &cfg->metrics_listen, err,
		    sizeof(err)) != 0) {
			log_err("%s", err);
			goto out;
		}
		log_notice("metrics on http://%s/metrics",
		    cfg->metrics_listen.text);
	}
	if (start_admin(&d, cfg) != 0 || drop_privileges(cfg) != 0 ||
	    start_alerts(&d, cfg) != 0 || start_audit(&d, cfg) != 0 ||
	    start_approvals(&d, cfg) != 0 || start_watch(&d, cfg) != 0)
		goto out;
	if (cfg->policy != NULL && !policy_keyed(cfg->policy))
		log_warn("no [policy] secret_key and no [audit] signing_key: "
		    "hashes of authInfo values in pending changes and change "
		    "ids are not keyed (anyone who reads them can test "
		    "guesses)");
	log_notice("eppgw %s: listening on %s, registry %s (%s)",
	    EPPGW_VERSION, cfg->listen.text, cfg->up_address.text,
	    cfg->up_server_name);
	sd_notify_state("READY=1\nSTATUS=serving");
	event_base_dispatch(d.base);
	log_notice("stopped with %zu sessions open",
	    proxy_session_count(d.proxy));
	rc = 0;
out:
	admin_free(d.admin);
	/* The watch writes its state one last time, into the proxy's store;
	 * sessions closing after it must not reach for it. */
	if (d.proxy != NULL)
		proxy_set_watch(d.proxy, NULL);
	watch_free(d.watch);
	proxy_free(d.proxy);
	/* Last: the final checkpoint covers every session's close record. */
	audit_close(d.audit);
	approvals_free(d.approvals);
	alerter_free(d.alerter);
	metrics_free(d.metrics);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	if (d.base)
		event_base_free(d.base);
	config_unref(cfg);
	return rc;
}
