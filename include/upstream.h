/*
 * upstream.h: [upstream], the registry leg, shared by the worker's
 * sessions (session.h) and the gateway's own watch session (watch.h).
 *
 * One struct for the section rather than one per user: both legs use the
 * address, TLS and timeouts, and the watch keys (clid to state_max) sit in
 * the middle of the section's keys, in the order `eppgw -T` prints them.
 */
#ifndef EPPGW_UPSTREAM_H
#define EPPGW_UPSTREAM_H

#include <stddef.h>

#include "conf.h"

/* Filled by config_load() through upstream_keywords. */
struct upstream_conf {
	struct sockaddr_cfg address;
	char		*server_name;
	char		*ca;
	char		*cert;
	char		*key;
	size_t		 max_frame;	/* largest registry reply */
	/* the watch session (none when clid is unset) */
	char		*clid;
	char		*password_file;
	unsigned	 refresh;
	unsigned	 keepalive;
	char		*state_path;	/* [upstream] state: the registry state
					   store */
	unsigned	 state_max;
	unsigned	 connect_timeout;
	unsigned	 reply_timeout;
};

extern const struct conf_keyword upstream_keywords[];

#endif
