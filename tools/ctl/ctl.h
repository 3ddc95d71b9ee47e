/*
 * ctl.h: the eppgwctl commands, one file each.
 */
#ifndef EPPGWCTL_CTL_H
#define EPPGWCTL_CTL_H

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

#endif
