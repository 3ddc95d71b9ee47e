/*
 * proc.h: eppgw's processes (docs/privsep.md, eppgw(8) PRIVILEGE
 * SEPARATION).
 *
 *   parent   reads the configuration, binds the listeners, starts and
 *            supervises the others, reloads; holds no secret but the key
 *            [policy] secret_key gives (docs/privsep.md).
 *   audit    the audit log: its directory, its signing key, group commit.
 *   alerter  the webhook HMAC secret and the deliveries.
 *   vault    TOTP seeds, approval state, the admin API listener.
 *   watch    registry truth: the store of what the registry says
 *            (regstate.h) and the watch session that reads it (watch.h);
 *            the workers hold copies (statelink.h).  Sandboxed as a
 *            worker is.
 *   worker   the registrar sessions (`[gateway] workers` of them): TLS,
 *            framing, parse, validate, judge, relay.  Sandboxed after
 *            start-up: no secret of the others ever enters it.
 *
 * The parent hands each child its channels to the others (ipc.h,
 * IPC_PEER).  Every child exits when its channel to the parent closes.
 */
#ifndef EPPGW_PROC_H
#define EPPGW_PROC_H

#include <stddef.h>

#include <jansson.h>

#include "conf.h"

/* [gateway] workers at most (gateway_keywords, proc.c). */
#define PROC_MAX_WORKERS	64
/*
 * Channels a child that serves the workers (vault, watch, alerter) may
 * hold (its table, peers.h): during a reload the retiring workers still
 * have theirs while the new ones connect, and the alerter serves the other
 * children too.
 */
#define PROC_MAX_PEERS		(2 * PROC_MAX_WORKERS + 8)

struct config;
struct err;

/*
 * [gateway] (config.h): the registrar-facing listener and the processes
 * that serve it, owned here, filled by config_load() through
 * gateway_keywords.
 */
struct gateway_conf {
	struct sockaddr_cfg listen;
	char		*cert;
	char		*key;
	char		*client_ca;
	size_t		 max_frame;	/* largest registrar command */
	unsigned	 handshake_timeout;
	unsigned	 idle_timeout;
	unsigned	 frame_timeout;
	unsigned	 workers;	/* worker processes; 0: one per core */
	unsigned	 max_sessions;
	unsigned	 max_sessions_principal;	/* each principal */
	unsigned	 max_sessions_address;	/* each source address */
	unsigned	 login_timeout;	/* from connect to a successful login */
	struct sockaddr_cfg metrics_listen;	/* text[0] == 0: none */
	char		*user;		/* drop to this user after binding */
	char		*run_as_root;	/* "yes": root without user allowed */
	char		*chroot_dir;	/* workers' empty root (when root) */
};

extern const struct conf_keyword gateway_keywords[];

enum proc_kind {
	PROC_AUDIT = 0,
	PROC_ALERTER,
	PROC_VAULT,
	PROC_WATCH,
	PROC_WORKER,
	PROC_NKINDS
};

/* "audit", "alerter", "vault", "watch", "worker". */
const char *proc_name(enum proc_kind k);
/* The kind named, or -1. */
int proc_kind_by_name(const char *name);
/* Whether processes of these kinds talk to each other. */
int proc_talk(enum proc_kind a, enum proc_kind b);

/*
 * In a new child: name it ("eppgw-worker" in /proc/PID/comm), put the
 * signals back to their defaults (the terminal's SIGINT and SIGHUP are
 * the parent's business), close every descriptor but 0-2 and keep[],
 * reconnect syslog.
 */
void proc_child_setup(enum proc_kind k, const int *keep, size_t nkeep);
/*
 * Who an IPC_PEER message introduces (its kind) with its descriptor, or
 * -1 after closing the descriptor: the caller then fails the channel.
 * *alerts is set on the second channel between the audit writer and the
 * alerter ({"role": "alerts"}), the one the audit writer sends its own
 * alerts on.
 */
struct ipc_msg;
int proc_peer(const struct ipc_msg *m, int *alerts);
/* The same, for a process that takes no "alerts" channel: the kind, or -1
 * after closing the descriptor and failing ch (the control channel). */
struct ipc;
int proc_peer_plain(struct ipc *ch, const struct ipc_msg *m);

/*
 * An IPC_LOCK message's lock-list edit ({"op": "add" | "remove", "name"}),
 * made through the admin API, applied to l: the live lock list a process
 * owns (a worker's and the watch process's, which they judge against, and
 * the parent's, which it hands to the children it starts later), never
 * the configuration's.  -1 if malformed or refused (logged).
 */
struct locklist;
int proc_apply_lock(struct locklist *l, const json_t *msg);

/* Tell the parent a child is ready, on its channel (blocking). */
int proc_ready(int ctl_fd);

/*
 * A bound, listening, non-blocking socket on addr, or -1 with e filled
 * (ERR_SYSTEM, "cannot listen on ADDR: why").
 * reuseport: one of a group on the same address (SO_REUSEPORT), among
 * which the kernel spreads new connections evenly.
 */
int proc_bind(const struct sockaddr_cfg *addr, int backlog, int reuseport,
    struct err *e);

/*
 * Enter the sandbox for good (a worker, the watch process): settle what
 * libraries would read lazily, chroot and switch user when root, no new
 * privileges, the seccomp filter, then the self check (sandbox.h).  -1
 * logged (who names the process).
 */
int proc_sandbox(const struct config *cfg, const char *conf_path,
    const char *who);
/* The number of workers to run: [gateway] workers, or one per core. */
unsigned proc_workers(const struct config *cfg);

/* Drop to the configured user (a no-op when not root). -1 logged. */
int proc_drop_privileges(const struct config *cfg);

/*
 * Child entry points: each returns the process's exit status.  locks: the
 * parent's live lock list (the configuration's with the admin API's edits
 * since it was loaded), which the child copies to start its own from.
 */
int audit_proc(struct config *cfg, int ctl);
int alerter_proc(struct config *cfg, const char *conf_path, int ctl);
int vault_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl, int admin_fd);
int watch_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl);
/* number: this worker's, unique in the daemon's life (from 1); its
 * sessions are numbered from number * 10^9 + 1, so that no two sessions
 * of the daemon share a number in the log. */
int worker_proc(struct config *cfg, const struct locklist *locks,
    const char *conf_path, int ctl, unsigned number, int listen_fd,
    int metrics_fd);

/* The parent: run everything until stopped; the exit status. */
int parent_run(struct config *cfg, const char *conf_path);

#endif
