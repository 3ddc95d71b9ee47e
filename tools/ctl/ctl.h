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
};

/* Each returns the process exit code. */
int ctl_explain(const struct ctl_opts *o, int argc, char *argv[]);

#endif
