/*
 * proc.c: what every eppgw process shares (proc.h).
 */
#define _GNU_SOURCE	/* setresuid(2), close_range(2) */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libxml/catalog.h>

#include "config.h"
#include "err.h"
#include "ipc.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "proc.h"
#include "sandbox.h"

static const char *const names[PROC_NKINDS] = {
	"audit", "alerter", "vault", "watch", "worker"
};

const char *
proc_name(enum proc_kind k)
{
	return k < PROC_NKINDS ? names[k] : "?";
}

int
proc_kind_by_name(const char *name)
{
	for (int k = 0; k < PROC_NKINDS; k++)
		if (name != NULL && strcmp(name, names[k]) == 0)
			return k;
	return -1;
}

/*
 * Who talks to whom: everyone writes audit records and alerts; workers
 * ask the vault.  The audit writer and the alerter talk to each other (a
 * dropped alert is recorded).
 */
int
proc_talk(enum proc_kind a, enum proc_kind b)
{
	if (a == b)
		return 0;
	if (a == PROC_AUDIT || b == PROC_AUDIT || a == PROC_ALERTER ||
	    b == PROC_ALERTER)
		return 1;
	/* The watch process with the workers (their copies of its store)
	 * and the vault (the admin API's questions, lock-list edits). */
	if (a == PROC_WATCH || b == PROC_WATCH)
		return a == PROC_WORKER || b == PROC_WORKER ||
		    a == PROC_VAULT || b == PROC_VAULT;
	return (a == PROC_VAULT && b == PROC_WORKER) ||
	    (a == PROC_WORKER && b == PROC_VAULT);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

void
proc_child_setup(enum proc_kind k, const int *keep, size_t nkeep)
{
	static const int sigs[] = { SIGINT, SIGHUP, SIGTERM, SIGCHLD,
	    SIGUSR1, SIGUSR2 };
	char comm[16];
	int sorted[16];
	unsigned lo = 3;
	size_t n = 0;

	snprintf(comm, sizeof(comm), "eppgw-%s", proc_name(k));
	(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
	/* The parent's death must not leave a child serving alone. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	/* Ctrl-C and hang-ups reach the whole process group: only the
	 * parent acts on them, and tells the children. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	for (size_t i = 0; i < nkeep && n < 16; i++)
		if (keep[i] >= 3)
			sorted[n++] = keep[i];
	qsort(sorted, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)sorted[i] > lo)
			(void)close_range(lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
	log_reopen();
}

int
proc_peer(const struct ipc_msg *m, int *alerts)
{
	json_t *j = NULL;
	const char *role;
	int k = -1;

	*alerts = 0;
	if (m->fd != -1 && (j = ipc_msg_json(m, NULL, NULL)) != NULL) {
		k = proc_kind_by_name(json_string_value(json_object_get(j,
		    "peer")));
		role = json_string_value(json_object_get(j, "role"));
		if (role != NULL && strcmp(role, "alerts") == 0)
			*alerts = 1;
		else if (role != NULL)
			k = -1;
	}
	json_decref(j);
	if (k < 0 && m->fd != -1)
		close(m->fd);
	return k;
}

int
proc_peer_plain(struct ipc *ch, const struct ipc_msg *m)
{
	int k, alerts;

	if ((k = proc_peer(m, &alerts)) < 0 || alerts) {
		if (k >= 0)
			close(m->fd);
		ipc_fail(ch, "bad peer message");
		return -1;
	}
	return k;
}

int
proc_apply_lock(struct locklist *l, const json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));
	const char *name = json_string_value(json_object_get(msg, "name"));
	struct err e = ERR_INIT;

	if (l == NULL || op == NULL || name == NULL)
		return -1;
	if (strcmp(op, "add") == 0) {
		if (locklist_add(l, name, &e) != 0) {
			log_warn("lock %s from the vault: %s", name,
			    err_msg(&e));
			return -1;
		}
		return 0;
	}
	if (strcmp(op, "remove") == 0) {
		(void)locklist_remove(l, name);
		return 0;
	}
	return -1;
}

int
proc_ready(int ctl_fd)
{
	uint8_t h[IPC_HDR_LEN] = { 0 };

	h[4] = IPC_READY;
	return write(ctl_fd, h, sizeof(h)) == (ssize_t)sizeof(h) ? 0 : -1;
}

/*
 * Give up root for good.  Without [gateway] user a root daemon stays root
 * only when told to (run_as_root = yes).
 */
int
proc_drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (cfg->gateway.user == NULL) {
		if (geteuid() != 0)
			return 0;
		if (strcmp(cfg->gateway.run_as_root, "yes") != 0) {
			log_err("refusing to keep running as root: set "
			    "[gateway] user (or run_as_root = yes)");
			return -1;
		}
		return 0;
	}
	if ((pw = getpwnam(cfg->gateway.user)) == NULL) {
		log_err("user %s: no such user", cfg->gateway.user);
		return -1;
	}
	if (geteuid() != 0 && geteuid() == pw->pw_uid)
		return 0;	/* already that user */
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_err("cannot drop privileges to %s: %s", cfg->gateway.user,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("privileges could be regained after dropping them");
		return -1;
	}
	return 0;
}

int
proc_bind(const struct sockaddr_cfg *addr, int backlog, int reuseport,
    struct err *e)
{
	int fd, on = 1;

	if ((fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) != 0) ||
	    bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
	    listen(fd, backlog) != 0) {
		err_set(e, ERR_SYSTEM, "cannot listen on %s: %s", addr->text,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Who a sandboxed process runs as: the daemon's user, or nobody when root
 * was allowed to stay root (it needs no file).  Never root: -1 when
 * neither user exists.
 */
static int
sandbox_user(const struct config *cfg, const char *who,
    struct sandbox_opts *o)
{
	const char *name = cfg->gateway.user != NULL ? cfg->gateway.user :
	    "nobody";
	struct passwd *pw;

	o->drop = 0;
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(name)) == NULL || pw->pw_uid == 0) {
		log_err("%s: no user %s to run as: refusing to run as root",
		    who, name);
		return -1;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	o->drop = 1;
	return 0;
}

int
proc_sandbox(const struct config *cfg, const char *conf_path, const char *who)
{
	struct sandbox_opts so;
	struct err e = ERR_INIT;

	/*
	 * Everything from disk is in: from here on, nothing more.  What
	 * libraries would read lazily is settled now: the time zone (UTC,
	 * as every time the gateway writes), libxml2's catalogs (none), and
	 * jansson's hash seed (it would read /dev/urandom on first use).
	 */
	if (setenv("TZ", "UTC0", 1) == 0)
		tzset();
	xmlCatalogSetDefaults(XML_CATA_ALLOW_NONE);
	json_object_seed(0);
	memset(&so, 0, sizeof(so));
	so.chroot_dir = geteuid() == 0 ? cfg->gateway.chroot_dir : NULL;
	if (sandbox_user(cfg, who, &so) != 0)
		return -1;
	if (sandbox_enter(&so, &e) != 0 ||
	    sandbox_verify(conf_path, &e) != 0) {
		log_err("%s: sandbox: %s", who, err_msg(&e));
		return -1;
	}
	return 0;
}

unsigned
proc_workers(const struct config *cfg)
{
	long n;

	if (cfg->gateway.workers > 0)
		return cfg->gateway.workers;
	/* One per core, within reason: more than 16 rarely pays. */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/*
 * [gateway]: its keys (conf.h), in the order `eppgw -T` prints them.
 * That run_as_root is yes or no and that user exists, config.c checks
 * with the other sections' rules.
 */
#define F(m) offsetof(struct gateway_conf, m)
const struct conf_keyword gateway_keywords[] = {
	{ "listen", KW_ADDR, F(listen), 1, NULL, 0, 0 },
	{ "cert", KW_PATH, F(cert), 1, NULL, 0, 0 },
	{ "key", KW_PATH, F(key), 1, NULL, 0, 0 },
	{ "client_ca", KW_PATH, F(client_ca), 1, NULL, 0, 0 },
	{ "max_frame", KW_SIZE, F(max_frame), 0, "65536", 512, 1024 * 1024 },
	{ "handshake_timeout", KW_UINT, F(handshake_timeout), 0, "10", 1,
	    300 },
	{ "idle_timeout", KW_UINT, F(idle_timeout), 0, "600", 1, 86400 },
	{ "frame_timeout", KW_UINT, F(frame_timeout), 0, "30", 1, 3600 },
	{ "workers", KW_UINT, F(workers), 0, "0", 0, PROC_MAX_WORKERS },
	{ "max_sessions", KW_UINT, F(max_sessions), 0, "1024", 1, 1000000 },
	{ "max_sessions_per_principal", KW_UINT, F(max_sessions_principal), 0,
	    "256", 1, 1000000 },
	{ "max_sessions_per_address", KW_UINT, F(max_sessions_address), 0,
	    "256", 1, 1000000 },
	{ "login_timeout", KW_UINT, F(login_timeout), 0, "30", 1, 3600 },
	{ "metrics_listen", KW_ADDR, F(metrics_listen), 0, NULL, 0, 0 },
	{ "user", KW_STRING, F(user), 0, NULL, 1, 32 },
	{ "run_as_root", KW_STRING, F(run_as_root), 0, "no", 2, 3 },
	{ "chroot", KW_STRING, F(chroot_dir), 0, "/var/empty", 1, 255 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
