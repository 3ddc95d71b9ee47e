/*
 * ctl.h: the eppgwctl commands, one file each.
 */
#ifndef EPPGWCTL_CTL_H
#define EPPGWCTL_CTL_H

#include <jansson.h>

/* Options every command shares. */
struct ctl_opts {
	const char	*conf;		/* -f */
	const char	*cert;		/* --cert */
	const char	*key;		/* --key */
	const char	*url;		/* --url: admin API, else from -f */
	const char	*ca;		/* --ca: trust anchor for the API */
	int		 json;		/* --json: raw JSON output */
};

/* Each returns the process exit code. */
int ctl_explain(const struct ctl_opts *o, int argc, char *argv[]);
/* pending, show, approve, deny, reset-operator, locks, lock, unlock */
int ctl_admin(const struct ctl_opts *o, int argc, char *argv[]);
/* state, drift (truth.c) */
int ctl_truth(const struct ctl_opts *o, int argc, char *argv[]);

/*
 * For the commands that talk to the admin API (admin.c): one request,
 * returning the HTTP status (0 on a transport failure, reason printed)
 * and the JSON body in *out; and the one-line report of a refusal, which
 * frees j and returns the exit code.
 */
long ctl_call(const struct ctl_opts *o, const char *method, const char *path,
    const char *body, json_t **out);
int ctl_refused(long status, json_t *j);
/* show: the change's object at the registry now, and after it (truth.c) */
void ctl_print_registry(const json_t *change);

#endif
