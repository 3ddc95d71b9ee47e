/*
 * server.h: the simulator's network side (server.c).
 */
#ifndef REGSIM_SERVER_H
#define REGSIM_SERVER_H

#include <stddef.h>

#include <event2/event.h>

#include "regsim.h"

struct regsim_server_conf {
	const char	*listen;	/* HOST:PORT, [V6]:PORT; port 0 is fine */
	const char	*cert, *key;	/* the server's certificate and key */
	const char	*ca;		/* client certificates must chain here */
	int		 debug;		/* frames and sessions to stderr */
};

struct regsim_server;

struct regsim_server *regsim_server_new(struct event_base *base,
	    struct regsim_epp *epp, const struct regsim_server_conf *conf);
int	regsim_server_addr(const struct regsim_server *srv, char *buf,
	    size_t len);
/* Closes every session and the listener. */
void	regsim_server_free(struct regsim_server *srv);

#endif
