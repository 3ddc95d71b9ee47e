/*
 * upstream.c: the keys of [upstream] (upstream.h), the registry leg that
 * the workers' sessions and the watch session share.
 */
#include <stddef.h>

#include "upstream.h"

/* [upstream]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct upstream_conf, m)
const struct conf_keyword upstream_keywords[] = {
	{ "address", KW_ADDR, F(address), 1, NULL, 0, 0 },
	{ "server_name", KW_STRING, F(server_name), 1, NULL, 1, 253 },
	{ "ca", KW_PATH, F(ca), 1, NULL, 0, 0 },
	{ "cert", KW_PATH, F(cert), 1, NULL, 0, 0 },
	{ "key", KW_PATH, F(key), 1, NULL, 0, 0 },
	{ "max_frame", KW_SIZE, F(max_frame), 0, "1048576", 4096,
	    64 * 1024 * 1024 },
	{ "clid", KW_STRING, F(clid), 0, NULL, 3, 16 },
	{ "password_file", KW_PATH, F(password_file), 0, NULL, 0, 0 },
	{ "refresh", KW_UINT, F(refresh), 0, "300", 5, 86400 },
	{ "keepalive", KW_UINT, F(keepalive), 0, "60", 5, 3600 },
	{ "state", KW_PATH, F(state_path), 0, NULL, 0, 0 },
	{ "state_max", KW_UINT, F(state_max), 0, "100000", 16, 10000000 },
	{ "connect_timeout", KW_UINT, F(connect_timeout), 0, "10", 1, 300 },
	{ "reply_timeout", KW_UINT, F(reply_timeout), 0, "60", 1, 3600 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
