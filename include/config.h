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
 * its settings from it and nothing writes to it after config_load()
 * returns.
 */
#ifndef EPPGW_CONFIG_H
#define EPPGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "admin.h"
#include "alert.h"
#include "approval.h"
#include "audit.h"
#include "conf.h"
#include "policy.h"
#include "proc.h"
#include "upstream.h"

struct xsd;

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

/*
 * Each section's settings are a struct owned by the module that uses them,
 * declared in its header with the table of its keys (conf.h):
 *
 *   [gateway]    struct gateway_conf    proc.h      gateway_keywords
 *   [upstream]   struct upstream_conf   upstream.h  upstream_keywords
 *   [audit]      struct audit_conf      audit.h     audit_keywords
 *   [alerts]     struct alert_conf      alert.h     alert_keywords
 *   [admin]      struct admin_conf      admin.h     admin_keywords
 *   [approvals]  struct approval_conf   approval.h  approval_keywords
 *   [policy]     struct policy_conf     policy.h    policy_keywords
 *
 * A module is handed its section (&cfg->audit) rather than a copy of it.
 * [policy] is policy_conf because policy names what config_load() builds
 * from it.  [principal NAME] sections are config.c's own (principals).
 * config.c lists the sections, in the order `eppgw -T` prints them.
 */
struct config {
	char			*path;

	struct gateway_conf	 gateway;
	struct upstream_conf	 upstream;
	struct audit_conf	 audit;		/* no log when dir is unset */
	struct alert_conf	 alerts;	/* none when url is unset */
	struct admin_conf	 admin;		/* the approvers' listener */
	struct approval_conf	 approvals;
	struct policy_conf	 policy_conf;	/* [policy], which builds: */
	struct policy		*policy;	/* from locks and protect */
	struct xsd		*xsd;		/* built-in + schemas */

	struct principal	*principals;
	size_t			 nprincipals;

	int			 refs;
};

/* Errors found while loading: each a complete "file:line: message". */
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
