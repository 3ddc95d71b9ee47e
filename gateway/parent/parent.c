/*
 * parent.c: the parent process (proc.h): binds, starts, supervises,
 * reloads, stops.
 *
 * It reads the configuration and binds the listeners, then starts the
 * children in order (audit writer, alerter, watch process, vault, then
 * `[gateway] workers` workers), each only once the one before it said it
 * is ready, and hands every new child its channels to the others.  It
 * never opens a secret: the seeds, the audit key, the alert secret and
 * the watch password are opened by the child that uses them.  It counts
 * every worker's sessions per principal and per address (admission), so
 * that those caps hold for the daemon, not per worker.
 *
 * A child that dies is started again, and the others get channels to the
 * new one; a kind that dies more than RESTART_MAX times in RESTART_WINDOW
 * seconds stops the daemon (something is wrong that restarting will not
 * fix).  A reload starts new workers and a new watch process with the new
 * configuration and lets the old workers drain; the vault re-reads the
 * configuration itself.  A stop drains the workers first, then stops the
 * vault, the alerter and the watch process, and the audit writer last, so
 * the final checkpoint covers every record.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "ipc.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "proc.h"
#include "promsum.h"
#include "sandbox.h"
#include "sdnotify.h"
#include "strmap.h"

#define RESTART_MAX	5
#define RESTART_WINDOW	60
#define MAX_SLOTS	64		/* [gateway] workers at most */

struct parent;

struct child {
	struct child	*next;
	struct parent	*P;
	enum proc_kind	 kind;
	pid_t		 pid;
	struct ipc	*ctl;
	int		 stopped;	/* sent IPC_STOP */
	int		 old;		/* a worker of an older configuration */
	int		 retiring;	/* sent IPC_RETIRE, no IPC_RETIRED yet */
	unsigned	 slot;		/* a worker's listener */
	char		*figures;	/* its latest metrics page */
	size_t		 figures_len;
	uint32_t	 asked;		/* the round it has yet to answer */
	struct strmap	*admitted;	/* a worker's sessions: token ->
					   "ADDRESS PRINCIPAL" */
};

/* A worker waiting for the daemon's metrics page. */
struct asker {
	struct asker	*next;
	struct child	*c;
	uint32_t	 id;
};

struct parent {
	struct event_base *base;
	struct config	*cfg;
	/* The lock list as cfg loaded it, with the admin API's edits since
	 * (IPC_LOCK from the vault): what a child started now begins with. */
	struct locklist	*locks;
	const char	*conf_path;
	/* One EPP listener per worker slot, a SO_REUSEPORT group: the
	 * kernel spreads connections over them evenly (one shared socket
	 * would give most to whichever worker wakes first).  A worker
	 * started again, or after a reload, takes its slot's socket, so no
	 * queued connection is lost. */
	int		 listen_fds[MAX_SLOTS];
	unsigned	 nslots;
	int		 admin_fd, metrics_fd;
	struct child	*children;
	struct event	*ev_term, *ev_int, *ev_hup, *ev_chld;
	/* A reload is done when every old worker stopped accepting: until
	 * then a new session could still reach one and its old
	 * configuration (children marked retiring).  ev_reload ends the
	 * wait if one never says so. */
	struct event	*ev_reload;
	int		 stopping;
	int		 status;	/* the exit status */
	time_t		 deaths[PROC_NKINDS][RESTART_MAX];
	unsigned	 ndeaths[PROC_NKINDS];

	/* Metrics rounds: every child's page, summed (promsum.h), with what
	 * exited workers had counted. */
	uint32_t	 round;
	unsigned	 waiting;
	struct asker	*askers;
	struct event	*ev_round;
	struct promsum	*carried;

	/* Admission: every worker's sessions, per address and per
	 * principal (counts as pointer-sized integers, never 0). */
	struct strmap	*per_addr, *per_principal;
	unsigned	 nadmitted;
	unsigned	 nworkers_started;	/* numbers the workers */
};

static int spawn(struct parent *P, enum proc_kind kind, unsigned slot);

/* How long a reload waits for the old workers to stop accepting. */
#define RETIRE_WAIT_SEC	5

/* Old workers yet to confirm they stopped accepting. */
static unsigned
retiring_workers(const struct parent *P)
{
	unsigned n = 0;

	for (const struct child *c = P->children; c != NULL; c = c->next)
		n += c->retiring != 0;
	return n;
}

/* Every old worker stopped accepting (or the wait ended): new sessions
 * now get the new configuration, and systemd hears the reload is done. */
static void
reload_done(struct parent *P)
{
	unsigned left = retiring_workers(P);

	if (P->ev_reload != NULL)
		event_del(P->ev_reload);
	for (struct child *c = P->children; c != NULL; c = c->next)
		c->retiring = 0;
	if (P->stopping)
		return;		/* stopping now: no reload to report */
	if (left > 0)
		log_warn("reload: %u old workers did not confirm they stopped "
		    "accepting within %d s", left, RETIRE_WAIT_SEC);
	log_notice("reload done: new sessions use the new configuration");
	sd_notify_state("READY=1");
}

static void
on_reload_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reload_done(arg);
}

/* c will not answer IPC_RETIRE (it said so, or it is gone). */
static void
retired(struct child *c)
{
	struct parent *P = c->P;

	if (!c->retiring)
		return;
	c->retiring = 0;
	if (retiring_workers(P) == 0)
		reload_done(P);
}

static int
wanted(const struct config *cfg, enum proc_kind k)
{
	switch (k) {
	case PROC_AUDIT:
		return cfg->audit.dir != NULL;
	case PROC_ALERTER:
		return cfg->alerts.url != NULL;
	case PROC_VAULT:
		return cfg->approvals.seeds_path != NULL || cfg->admin.enabled;
	case PROC_WATCH:
	case PROC_WORKER:
		return 1;
	default:
		return 0;
	}
}

static struct child *
find_pid(struct parent *P, pid_t pid)
{
	for (struct child *c = P->children; c != NULL; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void
stop_child(struct child *c)
{
	c->stopped++;
	if (ipc_send(c->ctl, IPC_STOP, 0, NULL, 0, -1) != 0)
		(void)kill(c->pid, SIGTERM);
}

/*
 * The stop, in order: workers (they drain), then the vault and the
 * alerter, then the audit writer; then the loop ends.
 */
static void
advance_stop(struct parent *P)
{
	static const enum proc_kind order[][3] = {
		{ PROC_WORKER, PROC_WORKER, PROC_WORKER },
		{ PROC_VAULT, PROC_ALERTER, PROC_WATCH },
		{ PROC_AUDIT, PROC_AUDIT, PROC_AUDIT }
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int left = 0;

		for (struct child *c = P->children; c != NULL; c = c->next) {
			if (c->kind != order[i][0] && c->kind != order[i][1] &&
			    c->kind != order[i][2])
				continue;
			left++;
			if (!c->stopped)
				stop_child(c);
		}
		if (left > 0)
			return;
	}
	event_base_loopexit(P->base, NULL);
}

/*
 * A lock-list edit made through the admin API (the vault saved the file):
 * kept here too, so that a worker or vault started later has it.
 */
static void
keep_lock(struct parent *P, const struct ipc_msg *m)
{
	json_t *j = ipc_msg_json(m, NULL, NULL);

	(void)proc_apply_lock(P->locks, j);
	json_decref(j);
}

/* The round is over: everyone answered, or the time is up. */
static void
end_round(struct parent *P)
{
	struct promsum *ps = promsum_new();
	struct asker *a;
	char *text = NULL, *carried;
	size_t len = 0, clen = 0;

	event_del(P->ev_round);
	P->waiting = 0;
	if (ps != NULL) {
		for (struct child *c = P->children; c != NULL; c = c->next)
			if (c->figures != NULL)
				(void)promsum_add(ps, c->figures,
				    c->figures_len, 0);
		if ((carried = promsum_text(P->carried, &clen)) != NULL)
			(void)promsum_add(ps, carried, clen, 0);
		free(carried);
		text = promsum_text(ps, &len);
		promsum_free(ps);
	}
	while ((a = P->askers) != NULL) {
		P->askers = a->next;
		if (a->c != NULL && text != NULL)
			(void)ipc_send(a->c->ctl, IPC_STATS, a->id, text, len,
			    -1);
		free(a);
	}
	free(text);
}

static void
on_round_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	end_round(arg);
}

/* A worker serves /metrics: ask every child for its page. */
static void
ask_figures(struct parent *P, struct child *from, uint32_t id)
{
	struct timeval tv = { 1, 0 };
	struct asker *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return;
	a->c = from;
	a->id = id;
	a->next = P->askers;
	P->askers = a;
	if (P->waiting > 0)
		return;		/* answered with the round under way */
	P->round++;
	for (struct child *c = P->children; c != NULL; c = c->next)
		if (ipc_send(c->ctl, IPC_STATS_REQ, P->round, NULL, 0,
		    -1) == 0) {
			c->asked = P->round;
			P->waiting++;
		}
	if (P->waiting == 0)
		end_round(P);
	else
		event_add(P->ev_round, &tv);
}

static void
got_figures(struct child *c, const struct ipc_msg *m)
{
	struct parent *P = c->P;
	char *copy;

	if ((copy = malloc(m->len + 1)) == NULL)
		return;
	memcpy(copy, m->data, m->len);
	copy[m->len] = '\0';
	free(c->figures);
	c->figures = copy;
	c->figures_len = m->len;
	if (m->id != 0 && c->asked == m->id && m->id == P->round) {
		c->asked = 0;
		if (P->waiting > 0 && --P->waiting == 0)
			end_round(P);
	}
}

static unsigned
count_of(struct strmap *m, const char *key)
{
	return (unsigned)(uintptr_t)strmap_get(m, key);
}

static int
count_add(struct strmap *m, const char *key, int delta)
{
	uintptr_t n = (uintptr_t)strmap_get(m, key);

	if (delta < 0 && n <= 1) {
		(void)strmap_del(m, key);
		return 0;
	}
	return strmap_put(m, key, (void *)(delta < 0 ? n - 1 : n + 1), NULL);
}

/* One admitted session gone: "ADDRESS PRINCIPAL" (an address has no
 * space; a principal's name may not). */
static void
uncount(struct parent *P, char *who)
{
	char *sp = strchr(who, ' ');

	if (sp == NULL)
		return;
	*sp = '\0';
	(void)count_add(P->per_addr, who, -1);
	(void)count_add(P->per_principal, sp + 1, -1);
	*sp = ' ';
	if (P->nadmitted > 0)
		P->nadmitted--;
}

/*
 * A worker asks to admit a session: {"addr", "principal"}.  Answered at
 * once, with the current configuration's caps: {"ok": true} (counted
 * until IPC_LEAVE with the same id, or until that worker exits), or
 * {"ok": false, "why": the cap}.
 */
static void
admit(struct child *c, const struct ipc_msg *m)
{
	struct parent *P = c->P;
	const char *addr, *principal, *why = NULL;
	char key[16], *who = NULL;
	json_t *j;
	int ok = 0;

	if ((j = ipc_msg_json(m, NULL, NULL)) == NULL ||
	    (addr = json_string_value(json_object_get(j, "addr"))) == NULL ||
	    (principal = json_string_value(json_object_get(j,
	    "principal"))) == NULL || strlen(addr) > 64 ||
	    strchr(addr, ' ') != NULL || strlen(principal) > 256) {
		json_decref(j);
		ipc_fail(c->ctl, "malformed admission request");
		return;
	}
	snprintf(key, sizeof(key), "%u", m->id);
	if (c->admitted == NULL && (c->admitted = strmap_new()) == NULL)
		why = "internal";
	else if (strmap_get(c->admitted, key) != NULL)
		why = "internal";	/* a token used twice */
	else if (P->nadmitted >= P->cfg->gateway.max_sessions)
		why = "max_sessions";
	else if (count_of(P->per_principal, principal) >=
	    P->cfg->gateway.max_sessions_principal)
		why = "max_sessions_per_principal";
	else if (count_of(P->per_addr, addr) >=
	    P->cfg->gateway.max_sessions_address)
		why = "max_sessions_per_address";
	else if ((who = malloc(strlen(addr) + strlen(principal) + 2)) ==
	    NULL || snprintf(who, strlen(addr) + strlen(principal) + 2,
	    "%s %s", addr, principal) < 0 ||
	    strmap_put(c->admitted, key, who, NULL) != 0) {
		free(who);
		why = "internal";
	} else if (count_add(P->per_addr, addr, 1) != 0 ||
	    count_add(P->per_principal, principal, 1) != 0) {
		uncount(P, who);
		free(strmap_del(c->admitted, key));
		why = "internal";
	} else {
		P->nadmitted++;
		ok = 1;
	}
	(void)ipc_send_json(c->ctl, IPC_ADMITTED, m->id, ok ?
	    json_pack("{s:b}", "ok", 1) : json_pack("{s:b, s:s}", "ok", 0,
	    "why", why), NULL, 0);
	json_decref(j);
}

static void
leave(struct child *c, const struct ipc_msg *m)
{
	char key[16], *who;

	snprintf(key, sizeof(key), "%u", m->id);
	if (c->admitted != NULL &&
	    (who = strmap_del(c->admitted, key)) != NULL) {
		uncount(c->P, who);
		free(who);
	}
}

/* A worker exited: its sessions are gone with it. */
static void
leave_all(struct child *c)
{
	size_t cur = 0;
	void *v;

	if (c->admitted == NULL)
		return;
	while (strmap_next(c->admitted, &cur, &v) != NULL)
		uncount(c->P, v);
	strmap_free(c->admitted, free);
	c->admitted = NULL;
}

/* What a child sends the parent: its figures; a worker's requests for
 * the daemon's figures and for admissions; the watch process's registry
 * state file; the vault's lock edits. */
static void
child_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct child *c = arg;

	if (m->type == IPC_STATS) {
		got_figures(c, m);
		return;
	}
	if (m->type == IPC_STATS_REQ && c->kind == PROC_WORKER) {
		ask_figures(c->P, c, m->id);
		return;
	}
	if (m->type == IPC_ADMIT && c->kind == PROC_WORKER) {
		admit(c, m);
		return;
	}
	if (m->type == IPC_LEAVE && c->kind == PROC_WORKER) {
		leave(c, m);
		return;
	}
	if (m->type == IPC_RETIRED && c->kind == PROC_WORKER) {
		retired(c);
		return;
	}

	if (m->type == IPC_LOCK && c->kind == PROC_VAULT) {
		keep_lock(c->P, m);
		return;
	}
	if (m->type == IPC_STATE_SAVE && c->kind == PROC_WATCH) {
		/* A replaced watch process's view is older than the new
		 * one's. */
		if (c->old || c->P->cfg->upstream.state_path == NULL)
			return;
		if (file_replace(c->P->cfg->upstream.state_path,
		    (const char *)m->data,
		    m->len, 0600) != 0)
			log_err("cannot write the state file %s: %s",
			    c->P->cfg->upstream.state_path, strerror(errno));
		return;
	}
	ipc_fail(ch, "unexpected message from a child");
}

static void
child_closed(struct ipc *ch, const char *why, void *arg)
{
	struct child *c = arg;

	(void)why;
	/* A child told to stop, or a retired worker, closes its channel on
	 * its way out; any other close means it is dead or broken.  SIGCHLD
	 * does the rest. */
	ipc_free(ch);
	c->ctl = NULL;
	if (!c->stopped && !c->old)
		(void)kill(c->pid, SIGKILL);
}

static int
send_peer(struct child *to, enum proc_kind kind, int alerts, int fd)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "{\"peer\":\"%s\"%s}",
	    proc_name(kind), alerts ? ",\"role\":\"alerts\"" : "");

	return ipc_send(to->ctl, IPC_PEER, 0, buf, (size_t)n, fd);
}

/* One channel between a and b; alerts: the one the audit writer sends
 * its own alerts on (proc.h, proc_peer). */
static int
pair_up(struct child *a, struct child *b, int alerts)
{
	int fds[2], r;

	if (ipc_pair(fds) != 0)
		return -1;
	r = send_peer(a, b->kind, alerts, fds[0]) |
	    send_peer(b, a->kind, alerts, fds[1]);
	close(fds[0]);
	close(fds[1]);
	return r;
}

/*
 * Give a and b a channel to each other.  The audit writer and the alerter
 * get two: on one the alerter writes records (a dropped alert), on the
 * other the audit writer sends alerts (its checkpoints): each channel
 * has one client and one server.
 */
static int
introduce(struct child *a, struct child *b)
{
	int r = pair_up(a, b, 0);

	if ((a->kind == PROC_AUDIT && b->kind == PROC_ALERTER) ||
	    (a->kind == PROC_ALERTER && b->kind == PROC_AUDIT))
		r |= pair_up(a, b, 1);
	return r;
}

/* Block until the child says it is ready; -1 when it died first. */
static int
wait_ready(int fd)
{
	uint8_t h[IPC_HDR_LEN];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(h)) {
		n = read(fd, h + got, sizeof(h) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return h[4] == IPC_READY && h[0] == 0 && h[1] == 0 && h[2] == 0 &&
	    h[3] == 0 ? 0 : -1;
}

/* slot: a worker's listener (listen_fds); 0 for the other kinds. */
static int
spawn(struct parent *P, enum proc_kind kind, unsigned slot)
{
	struct child *c;
	int fds[2], keep[4], nkeep = 0, rc;
	pid_t pid;

	if ((c = calloc(1, sizeof(*c))) == NULL || ipc_pair(fds) != 0) {
		free(c);
		log_err("cannot start the %s process: %s", proc_name(kind),
		    strerror(errno));
		return -1;
	}
	c->P = P;
	c->kind = kind;
	c->slot = slot;
	if ((pid = fork()) == -1) {
		log_err("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(c);
		return -1;
	}
	if (pid == 0) {
		keep[nkeep++] = fds[1];
		if (kind == PROC_WORKER) {
			keep[nkeep++] = P->listen_fds[slot];
			if (P->metrics_fd != -1)
				keep[nkeep++] = P->metrics_fd;
		} else if (kind == PROC_VAULT && P->admin_fd != -1)
			keep[nkeep++] = P->admin_fd;
		proc_child_setup(kind, keep, (size_t)nkeep);
		switch (kind) {
		case PROC_AUDIT:
			rc = audit_proc(P->cfg, fds[1]);
			break;
		case PROC_ALERTER:
			rc = alerter_proc(P->cfg, P->conf_path, fds[1]);
			break;
		case PROC_VAULT:
			rc = vault_proc(P->cfg, P->locks, P->conf_path,
			    fds[1], P->admin_fd);
			break;
		case PROC_WATCH:
			rc = watch_proc(P->cfg, P->locks, P->conf_path,
			    fds[1]);
			break;
		default:
			rc = worker_proc(P->cfg, P->locks, P->conf_path,
			    fds[1], P->nworkers_started + 1,
			    P->listen_fds[slot], P->metrics_fd);
			break;
		}
		exit(rc);
	}
	close(fds[1]);
	c->pid = pid;
	if (kind == PROC_WORKER)
		P->nworkers_started++;
	if (wait_ready(fds[0]) != 0) {
		log_err("the %s process failed to start", proc_name(kind));
		close(fds[0]);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		free(c);
		return -1;
	}
	if ((c->ctl = ipc_new(P->base, fds[0], proc_name(kind), kind ==
	    PROC_WATCH ? IPC_MAX_STATE : 0, child_msg, child_closed, c)) ==
	    NULL) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		free(c);
		return -1;
	}
	/* Not to a watch process being replaced (a reload): everyone
	 * moves to the new one. */
	for (struct child *o = P->children; o != NULL; o = o->next)
		if (proc_talk(kind, o->kind) && o->ctl != NULL &&
		    !(o->kind == PROC_WATCH && o->old) && introduce(c, o) != 0)
			log_err("cannot connect the %s and %s processes",
			    proc_name(kind), proc_name(o->kind));
	c->next = P->children;
	P->children = c;
	log_info("%s process %ld started", proc_name(kind), (long)pid);
	return 0;
}

/* As many workers as the configuration asks for. */
static int
spawn_workers(struct parent *P)
{
	for (unsigned i = 0; i < P->nslots; i++)
		if (spawn(P, PROC_WORKER, i) != 0)
			return -1;
	return 0;
}

static void
unlink_child(struct parent *P, struct child *c)
{
	struct child **pp;

	for (pp = &P->children; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	leave_all(c);
	retired(c);
	/* Its counters stay in the sum: they must never go back. */
	if (c->figures != NULL && P->carried != NULL)
		(void)promsum_add(P->carried, c->figures, c->figures_len, 1);
	for (struct asker *a = P->askers; a != NULL; a = a->next)
		if (a->c == c)
			a->c = NULL;
	if (c->asked != 0 && c->asked == P->round && P->waiting > 0 &&
	    --P->waiting == 0)
		end_round(P);
	ipc_free(c->ctl);
	free(c->figures);
	free(c);
}

/* Too many deaths of one kind in the window: restarting will not help. */
static int
restart_allowed(struct parent *P, enum proc_kind k)
{
	time_t now = time(NULL);
	unsigned n = 0;

	for (unsigned i = 0; i < P->ndeaths[k] && i < RESTART_MAX; i++)
		if (now - P->deaths[k][i] < RESTART_WINDOW)
			n++;
	P->deaths[k][P->ndeaths[k]++ % RESTART_MAX] = now;
	return n < RESTART_MAX;
}

static void
on_chld(evutil_socket_t sig, short what, void *arg)
{
	struct parent *P = arg;
	struct child *c;
	enum proc_kind kind;
	unsigned slot;
	int status, old;
	pid_t pid;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = find_pid(P, pid)) == NULL)
			continue;
		kind = c->kind;
		old = c->old;
		slot = c->slot;
		if (WIFSIGNALED(status))
			log_err("%s process %ld killed by signal %d",
			    proc_name(kind), (long)pid, WTERMSIG(status));
		else if (!P->stopping && !old)
			log_err("%s process %ld exited with status %d",
			    proc_name(kind), (long)pid, WEXITSTATUS(status));
		unlink_child(P, c);
		if (P->stopping) {
			advance_stop(P);
			continue;
		}
		if (old)
			continue;	/* drained after a reload */
		if (!restart_allowed(P, kind)) {
			log_err("the %s process died %d times within %ds: "
			    "stopping", proc_name(kind), RESTART_MAX,
			    RESTART_WINDOW);
			P->status = 1;
			P->stopping = 2;
			advance_stop(P);
			continue;
		}
		if (spawn(P, kind, slot) != 0) {
			P->status = 1;
			P->stopping = 2;
			advance_stop(P);
		}
	}
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct parent *P = arg;

	(void)what;
	if (P->stopping++) {
		log_notice("second signal %d: stopping now", (int)sig);
		/* A second STOP makes a draining worker quit at once. */
		for (struct child *c = P->children; c != NULL; c = c->next)
			if (c->kind == PROC_WORKER)
				stop_child(c);
		return;
	}
	log_notice("signal %d: draining the workers (a second signal stops "
	    "at once)", (int)sig);
	sd_notify_state("STOPPING=1");
	advance_stop(P);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct parent *P = arg;
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg, *old;
	struct locklist *locks, *oldlocks;
	struct err e = ERR_INIT;

	(void)sig;
	(void)what;
	if (P->stopping)
		return;
	if (retiring_workers(P) > 0) {
		log_warn("SIGHUP: the last reload is still retiring workers: "
		    "ignored");
		return;
	}
	log_notice("SIGHUP: reloading %s", P->conf_path);
	sd_notify_reloading();
	if ((cfg = config_load(P->conf_path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.msgs[i]);
		config_errors_clear(&errs);
		log_err("reload failed: keeping the running configuration");
		sd_notify_state("READY=1");
		return;
	}
	config_errors_clear(&errs);
	for (int k = 0; k < PROC_NKINDS; k++)
		if (wanted(cfg, k) != wanted(P->cfg, k)) {
			log_err("reload: starting or stopping the %s process "
			    "needs a restart: keeping the running "
			    "configuration", proc_name(k));
			goto refuse;
		}
	if (sandbox_check_dir(cfg->gateway.chroot_dir, &e) != 0) {
		log_err("reload: %s: keeping the running configuration",
		    err_msg(&e));
		goto refuse;
	}
	if (cfg->gateway.listen.len != P->cfg->gateway.listen.len ||
	    memcmp(&cfg->gateway.listen.ss, &P->cfg->gateway.listen.ss,
	    cfg->gateway.listen.len) != 0)
		log_warn("reload: a new listen address needs a restart");
	if (proc_workers(cfg) != P->nslots)
		log_warn("reload: a new number of workers needs a restart: "
		    "keeping %u", P->nslots);
	/* The new configuration's list, from the file the vault rewrites
	 * after each edit. */
	if ((locks = locklist_copy(policy_locks(cfg->policy), &e)) == NULL) {
		log_err("reload: %s: keeping the running configuration",
		    err_msg(&e));
		goto refuse;
	}
	old = P->cfg;
	oldlocks = P->locks;
	P->cfg = cfg;
	P->locks = locks;
	/*
	 * Workers and a watch process with the new configuration first;
	 * only once they are ready do the old workers retire (they finish
	 * their sessions with the configuration those started with) and the
	 * old watch process stop.
	 */
	for (struct child *c = P->children; c != NULL; c = c->next)
		if ((c->kind == PROC_WORKER || c->kind == PROC_WATCH) &&
		    !c->old)
			c->old = 2;	/* to retire */
	if (spawn_workers(P) != 0 || spawn(P, PROC_WATCH, 0) != 0) {
		log_err("reload: the new configuration's workers or watch "
		    "process did not start: keeping the running ones");
		for (struct child *c = P->children; c != NULL; c = c->next) {
			if (c->old == 2)
				c->old = 0;
			else if ((c->kind == PROC_WORKER ||
			    c->kind == PROC_WATCH) && !c->old) {
				c->old = 1;	/* not started again */
				stop_child(c);
			}
		}
		P->cfg = old;
		P->locks = oldlocks;
		config_unref(cfg);
		locklist_free(locks);
		sd_notify_state("READY=1");
		return;
	}
	config_unref(old);
	locklist_free(oldlocks);
	for (struct child *c = P->children; c != NULL; c = c->next) {
		if (c->old == 2) {
			c->old = 1;
			if (c->kind == PROC_WATCH)
				stop_child(c);
			else if (ipc_send(c->ctl, IPC_RETIRE, 0, NULL, 0,
			    -1) == 0)
				c->retiring = 1;
		} else if (c->kind != PROC_WORKER && c->kind != PROC_WATCH)
			(void)ipc_send(c->ctl, IPC_RELOAD, 0, NULL, 0, -1);
	}
	if (retiring_workers(P) == 0 || event_add(P->ev_reload,
	    &(struct timeval){ RETIRE_WAIT_SEC, 0 }) != 0)
		reload_done(P);
	return;
refuse:
	config_unref(cfg);
	sd_notify_state("READY=1");
}

static int
bind_all(struct parent *P, struct err *e)
{
	const struct config *cfg = P->cfg;

	P->nslots = proc_workers(cfg);
	for (unsigned i = 0; i < P->nslots && i < MAX_SLOTS; i++)
		if ((P->listen_fds[i] = proc_bind(&cfg->gateway.listen, 511, 1,
		    e)) == -1)
			return -1;
	if (cfg->admin.enabled && (P->admin_fd = proc_bind(&cfg->admin.listen,
	    64, 0, e)) == -1)
		return -1;
	if (cfg->gateway.metrics_listen.text[0] != '\0' && (P->metrics_fd =
	    proc_bind(&cfg->gateway.metrics_listen, 16, 0, e)) == -1)
		return -1;
	return 0;
}

int
parent_run(struct config *cfg, const char *conf_path)
{
	static const enum proc_kind order[] = { PROC_AUDIT, PROC_ALERTER,
	    PROC_WATCH, PROC_VAULT };
	struct parent P;
	struct err e = ERR_INIT;

	memset(&P, 0, sizeof(P));
	P.cfg = config_ref(cfg);
	P.conf_path = conf_path;
	for (unsigned i = 0; i < MAX_SLOTS; i++)
		P.listen_fds[i] = -1;
	P.admin_fd = P.metrics_fd = -1;
	P.status = 1;
	signal(SIGPIPE, SIG_IGN);
	if ((P.locks = locklist_copy(policy_locks(cfg->policy), &e)) ==
	    NULL) {
		log_err("%s", err_msg(&e));
		goto out;
	}
	if ((P.base = event_base_new()) == NULL) {
		log_err("cannot create the event loop");
		goto out;
	}
	/* Root stays root only when told to (the children drop). */
	if (geteuid() == 0 && cfg->gateway.user == NULL) {
		if (strcmp(cfg->gateway.run_as_root, "yes") != 0) {
			log_err("refusing to keep running as root: set "
			    "[gateway] user (or run_as_root = yes)");
			goto out;
		}
		log_warn("running as root (run_as_root = yes); workers run "
		    "as nobody in their sandbox");
	}
	if (sandbox_check_dir(cfg->gateway.chroot_dir, &e) != 0 ||
	    bind_all(&P, &e) != 0) {
		log_err("%s", err_msg(&e));
		goto out;
	}
	P.ev_term = evsignal_new(P.base, SIGTERM, on_stop, &P);
	P.ev_int = evsignal_new(P.base, SIGINT, on_stop, &P);
	P.ev_hup = evsignal_new(P.base, SIGHUP, on_hup, &P);
	P.ev_chld = evsignal_new(P.base, SIGCHLD, on_chld, &P);
	P.ev_round = evtimer_new(P.base, on_round_timeout, &P);
	P.ev_reload = evtimer_new(P.base, on_reload_timeout, &P);
	if (P.ev_round == NULL || P.ev_reload == NULL || (P.carried = promsum_new()) == NULL ||
	    (P.per_addr = strmap_new()) == NULL ||
	    (P.per_principal = strmap_new()) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (P.ev_term == NULL || P.ev_int == NULL || P.ev_hup == NULL ||
	    P.ev_chld == NULL || event_add(P.ev_term, NULL) ||
	    event_add(P.ev_int, NULL) || event_add(P.ev_hup, NULL) ||
	    event_add(P.ev_chld, NULL)) {
		log_err("cannot set up signal handling");
		goto out;
	}
	if (cfg->gateway.metrics_listen.text[0] != '\0')
		log_notice("metrics on http://%s/metrics",
		    cfg->gateway.metrics_listen.text);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (wanted(cfg, order[i]) && spawn(&P, order[i], 0) != 0)
			goto out;
	if (spawn_workers(&P) != 0)
		goto out;
	log_notice("eppgw %s: listening on %s, registry %s (%s)",
	    EPPGW_VERSION, cfg->gateway.listen.text, cfg->upstream.address.text,
	    cfg->upstream.server_name);
	sd_notify_state("READY=1\nSTATUS=serving");
	P.status = 0;
	event_base_dispatch(P.base);
out:
	/* Whatever is still running goes, in the stop order. */
	if (P.children != NULL && P.base != NULL) {
		P.stopping = 2;
		advance_stop(&P);
		if (P.children != NULL)
			event_base_dispatch(P.base);
	}
	for (struct child *c = P.children, *n; c != NULL; c = n) {
		n = c->next;
		(void)kill(c->pid, SIGKILL);
		(void)waitpid(c->pid, NULL, 0);
		ipc_free(c->ctl);
		free(c->figures);
		strmap_free(c->admitted, free);
		free(c);
	}
	strmap_free(P.per_addr, NULL);
	strmap_free(P.per_principal, NULL);
	for (unsigned i = 0; i < MAX_SLOTS; i++)
		if (P.listen_fds[i] != -1)
			close(P.listen_fds[i]);
	if (P.admin_fd != -1)
		close(P.admin_fd);
	if (P.metrics_fd != -1)
		close(P.metrics_fd);
	if (P.ev_term)
		event_free(P.ev_term);
	if (P.ev_int)
		event_free(P.ev_int);
	if (P.ev_hup)
		event_free(P.ev_hup);
	if (P.ev_chld)
		event_free(P.ev_chld);
	while (P.askers != NULL) {
		struct asker *a = P.askers;

		P.askers = a->next;
		free(a);
	}
	if (P.ev_round)
		event_free(P.ev_round);
	if (P.ev_reload)
		event_free(P.ev_reload);
	promsum_free(P.carried);
	if (P.base)
		event_base_free(P.base);
	config_unref(P.cfg);
	locklist_free(P.locks);
	log_notice("stopped");
	return P.status;
}
