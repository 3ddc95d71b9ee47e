/*
 * config.h: the gateway's configuration.
 *
 * config_load() parses an INI file (libinih) into a fresh struct config and
 * validates all of it: every problem is reported as "file:line: message", and
 * any problem means no config at all.  A loaded config is immutable and
 * reference counted, so a reload can swap in a new one while live sessions
 * keep the one they started with.
 *
 * The struct is a plain record, not an opaque handle: every module reads
 * settings from it and nothing writes to it after config_load() returns.
 */
#ifndef EPPGW_CONFIG_H
#define EPPGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CONFIG_FP_LEN		32	/* SHA-256 certificate fingerprint */
#define CONFIG_CLID_MAX		16	/* EPP clIDType maxLength */

enum principal_role {
	ROLE_REQUESTER = 1 << 0,
	ROLE_APPROVER = 1 << 1
};

struct principal {
	char		 *name;
	uint8_t		(*fps)[CONFIG_FP_LEN];	/* certificate fingerprints */
	size_t		  nfps;
	char		**clids;
	size_t		  nclids;
	unsigned	  roles;		/* enum principal_role bits */
	char		**approve;		/* names/patterns it may approve */
	size_t		  napprove;		/* 0: everything ("*") */
};

struct sockaddr_cfg {
	char			 text[256];	/* as written, for logs */
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

struct config {
	char		*path;

	/* [gateway] */
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
	char		*run_as_root;	/* "yes": root without user is allowed */
	char		*chroot_dir;	/* workers' empty root (when root) */

	/* [upstream] */
	struct sockaddr_cfg up_address;
	char		*up_server_name;
	char		*up_ca;
	char		*up_cert;
	char		*up_key;
	size_t		 up_max_frame;	/* largest registry reply */
	/* the watch session (none when clid is unset) */
	char		*watch_clid;
	char		*watch_password_file;
	unsigned	 watch_refresh;
	unsigned	 watch_keepalive;
	char		*regstate_path;	/* the registry state store */
	unsigned	 state_max;
	unsigned	 up_connect_timeout;
	unsigned	 up_reply_timeout;

	/* [audit] (no audit log when dir is unset) */
	char		*audit_dir;
	char		*audit_key;
	char		*audit_origin;
	char		*audit_publish_dir;	/* checkpoint copies, or NULL */
	size_t		 audit_segment_max;
	unsigned	 audit_checkpoint_ms;
	unsigned	 audit_heartbeat;

	/* [alerts] (none when url is unset) */
	char		*alert_url;
	char		*alert_secret;
	char		*alert_ca;
	unsigned	 alert_queue_max;
	unsigned	 alert_retries;
	unsigned	 alert_timeout_ms;

	/* [admin]: the approvers' mTLS listener (disabled when unset) */
	struct sockaddr_cfg admin_listen;
	int		 admin_enabled;
	char		*admin_cert;
	char		*admin_key;
	char		*admin_ca;

	/* [approvals] */
	char		*seeds_path;
	char		*state_path;
	unsigned	 ticket_ttl;
	unsigned	 pending_ttl;
	unsigned	 max_pending;
	unsigned	 max_pending_principal;
	unsigned	 totp_window;
	unsigned	 rate_attempts;
	unsigned	 rate_period;
	unsigned	 lockout_after;
	unsigned	 global_cap;
	unsigned	 global_period;

	/* [policy] */
	char		*locks_path;	/* lock list file, NULL for none */
	char		*protect_text;	/* as written, lines joined */
	unsigned	 protect;	/* enum change_class bits */
	struct policy	*policy;	/* built from the two above */
	char		*schemas;	/* extension XSDs, resolved, spaced */
	char		*secret_key;	/* keys secrets' hashes (policy.h) */
	struct xsd	*xsd;		/* built-in + those, compiled */

	struct principal *principals;
	size_t		  nprincipals;

	int		  refs;
};

/* Errors found while loading: each a complete "file:line: message". */
struct policy;

struct config_errors {
	char	**msgs;
	size_t	  n;
	size_t	  cap;		/* of msgs */
};

/*
 * Load and validate path.  Returns a config with one reference, or NULL with
 * every problem in errs (which the caller frees with config_errors_clear).
 */
struct config *config_load(const char *path, struct config_errors *errs);
void config_errors_clear(struct config_errors *errs);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);
/*
 * For tools that must compute the daemon's change digests: key the
 * policy's secret hashes as the daemon's workers do when [policy]
 * secret_key is not set (from the audit signing key).  A no-op otherwise.
 */
void config_policy_key_from_audit(struct config *cfg);

/*
 * Print the effective configuration (defaults included) in config syntax:
 * config_load() of the output prints the same again.  Secrets are not
 * printed: keys naming secret files print the file's name, and [alerts]
 * url a placeholder the daemon does not start with (see eppgw.conf(5)).
 */
void config_print(const struct config *cfg, FILE *fp);

/*
 * The keys config_load() knows, for tests: the i-th key's section
 * ("principal" for [principal NAME]) and name; 0 when i is past the last.
 */
int config_key(size_t i, const char **section, const char **name);

/* The principal whose certificate has this SHA-256 fingerprint, or NULL. */
const struct principal *config_principal_by_fp(const struct config *cfg,
    const uint8_t fp[CONFIG_FP_LEN]);

/* Whether principal p may log in with clID clid. */
int principal_may_use_clid(const struct principal *p, const char *clid);

/* The principal called name, or NULL. */
const struct principal *config_principal_by_name(const struct config *cfg,
    const char *name);

/* Whether p is an approver for the (normalised) object name. */
int principal_may_approve(const struct principal *p, const char *object);

#endif
