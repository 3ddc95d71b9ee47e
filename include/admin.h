/*
 * admin.h: the approvers' listener: a small JSON API over mutual TLS
 * (loopback by default), used by eppgwctl.
 *
 *   GET  /v1/pending                      pending changes
 *   GET  /v1/pending/ID                   one change and its canonical text
 *   POST /v1/pending/ID/approve {"otp"}   approve with the caller's TOTP code
 *   POST /v1/pending/ID/deny              close a change
 *   POST /v1/operators/NAME/reset         clear a lockout (not one's own)
 *   GET  /v1/locks                        the lock list
 *   POST /v1/locks/add    {"name"}        tighten: no approval needed
 *   POST /v1/locks/remove {"name"}        loosen: needs an approval, like
 *                                         any unlock (202 with the change id,
 *                                         then repeat once it is approved)
 *   GET  /v1/state/NAME                   the registry's state of an object
 *                                         as the gateway holds it (404
 *                                         not_held)
 *   GET  /v1/drift                        recent drift observations
 *
 * GET /v1/pending/ID also carries "registry": the state of the change's
 * object now, and whether it changed since the request.
 *
 * The caller is the principal its client certificate maps to.  Errors are
 * {"error": TOKEN, "message": TEXT} with 400, 403 or 404 (503
 * approvals_disabled: every endpoint but state and drift needs
 * [approvals]).
 */
#ifndef EPPGW_ADMIN_H
#define EPPGW_ADMIN_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"

struct admin;
struct alertlink;
struct approvals;
struct auditlink;
struct config;
struct err;
struct lockstore;
struct metric;
struct metrics;

/*
 * [admin] (config.h): the listener's settings, owned here, filled by
 * config_load() through admin_keywords.  All four keys or none:
 * config_load() sets enabled when all are given.
 */
struct admin_conf {
	struct sockaddr_cfg listen;
	char		*cert;
	char		*key;
	char		*client_ca;
	int		 enabled;	/* not a key: set by config_load() */
};

extern const struct conf_keyword admin_keywords[];

/*
 * What the admin API runs against, in the vault process (proc.h).
 * Registry truth is the worker's: ask() sends it a question ({"what":
 * "state", "name"} or {"what": "drift"}; stolen) and calls done(darg,
 * answer) once, later (answer NULL: no worker answered); -1 when it cannot
 * ask at all (done not called).  The lock list the API shows and edits is
 * locks, the vault's (lockstore.h), never the configuration's; after each
 * edit (saved to the file or not), locks_changed tells the other
 * processes of it.
 */
struct admin_env {
	/* The current configuration, read only. */
	const struct config *(*config)(void *arg);
	struct lockstore *locks;		/* the live lock list */
	struct approvals *approvals;		/* NULL: not configured */
	struct auditlink *audit;		/* NULL: no audit log */
	struct alertlink *alert;		/* NULL: no alerts */
	int		(*ask)(void *arg, json_t *question,
			    void (*done)(void *darg, json_t *answer),
			    void *darg);
	void		(*locks_changed)(void *arg, const char *op,
			    const char *name);
	void		*arg;
};

/* Serve on the bound socket fd (taken, also on failure).  NULL with e
 * when the listener cannot be set up. */
struct admin *admin_start(struct event_base *base, int fd,
    const struct admin_env *env, struct err *e);
void admin_free(struct admin *a);

/* Reload: new TLS settings for new admin connections.  -1 with e keeps
 * the old. */
int admin_reload(struct admin *a, struct err *e);
/* The vault's page: the approvals counters (eppgw_approvals_total). */
struct metrics *admin_metrics(struct admin *a);
/* Register eppgw_approvals_total (labelled result) in m; NULL when out
 * of memory.  The workers register it too, empty, to keep the page's
 * layout (admin.c). */
struct metric *admin_metrics_register(struct metrics *m);

#endif
