/*
 * alertlink.c: a channel to the alerter process (alertlink.h).
 */
#include <stdlib.h>
#include <string.h>

#include "alertlink.h"
#include "ipc.h"
#include "log.h"

struct alertlink {
	struct event_base *base;
	struct ipc	*ch;
	uint64_t	 lost;
};

struct alertlink *
alertlink_new(struct event_base *base)
{
	struct alertlink *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	return l;
}

void
alertlink_free(struct alertlink *l)
{
	if (l == NULL)
		return;
	ipc_free(l->ch);
	free(l);
}

static void
on_msg(struct ipc *c, const struct ipc_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	ipc_fail(c, "unexpected message from the alerter");
}

static void
on_closed(struct ipc *c, const char *why, void *arg)
{
	struct alertlink *l = arg;

	(void)c;
	log_warn("alerter channel closed (%s): alerts are dropped until it "
	    "is back", why);
	ipc_free(l->ch);
	l->ch = NULL;
}

int
alertlink_attach(struct alertlink *l, int fd)
{
	ipc_free(l->ch);
	if ((l->ch = ipc_new(l->base, fd, "alerter", 0, on_msg, on_closed,
	    l)) == NULL)
		return -1;
	return 0;
}

int
alertlink_ready(const struct alertlink *l)
{
	return l != NULL && ipc_alive(l->ch);
}

void
alertlink_emit(struct alertlink *l, const char *event, json_t *fields)
{
	if (l == NULL) {
		json_decref(fields);
		return;
	}
	if (fields == NULL)
		fields = json_object();
	if (!alertlink_ready(l)) {
		json_decref(fields);
		fields = NULL;
	}
	if (fields == NULL || ipc_send_json(l->ch, IPC_ALERT, 0,
	    json_pack("{s:s, s:o}", "event", event, "fields", fields), NULL,
	    0) != 0) {
		if (l->lost++ == 0)
			log_warn("alert %s lost: the alerter is not reachable",
			    event);
	}
}

uint64_t
alertlink_lost(const struct alertlink *l)
{
	return l != NULL ? l->lost : 0;
}
