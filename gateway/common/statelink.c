/*
 * statelink.c: a worker's copy of the registry state and its channel to
 * the watch process (statelink.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "names.h"
#include "statelink.h"
#include "watch.h"


struct ask {
	struct ask	*next;
	struct statelink *l;
	uint32_t	 id;
	void		(*cb)(void *, int);
	void		*arg;
	struct event	*timer;
};

struct statelink {
	struct event_base *base;
	struct regstate	*copy;		/* not owned */
	struct ipc	*ch;
	int		 askable;
	int		 synced;	/* the store arrived on ch */
	unsigned	 timeout;
	uint32_t	 next_id;
	struct ask	*asks;
	void		(*on_ready)(void *);
	void		*on_ready_arg;
	void		(*on_lost)(void *);
	void		*on_lost_arg;
};

struct statelink *
statelink_new(struct event_base *base, struct regstate *copy, int askable,
    unsigned ask_timeout)
{
	struct statelink *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	l->copy = copy;
	l->askable = askable != 0;
	l->timeout = ask_timeout;
	regstate_set_askable(copy, l->askable);
	return l;
}

static void
ask_free(struct ask *a)
{
	if (a->timer != NULL)
		event_free(a->timer);
	free(a);
}

/* Take the ask with this id (or this pointer) off the list. */
static struct ask *
take(struct statelink *l, uint32_t id, const struct ask *which)
{
	struct ask **pp, *a;

	for (pp = &l->asks; (a = *pp) != NULL; pp = &a->next)
		if (which != NULL ? a == which : a->id == id) {
			*pp = a->next;
			return a;
		}
	return NULL;
}

/* Answers that will never come: fail closed (run: call back). */
static void
fail_asks(struct statelink *l, int run)
{
	struct ask *a;

	while ((a = l->asks) != NULL) {
		l->asks = a->next;
		if (run && a->cb != NULL)
			a->cb(a->arg, -1);
		ask_free(a);
	}
}

void
statelink_free(struct statelink *l)
{
	if (l == NULL)
		return;
	ipc_free(l->ch);
	fail_asks(l, 0);
	free(l);
}

const char *
statelink_kind_name(enum rs_kind k)
{
	return k == RS_DOMAIN ? "d" : "h";
}

int
statelink_object(const json_t *j, enum rs_kind *k, const char **name)
{
	const char *s = json_string_value(json_object_get(j, "k"));

	if (s != NULL && strcmp(s, "d") == 0)
		*k = RS_DOMAIN;
	else if (s != NULL && strcmp(s, "h") == 0)
		*k = RS_HOST;
	else
		return -1;
	*name = json_string_value(json_object_get(j, "n"));
	return *name != NULL && strlen(*name) <= NAME_MAX_LEN ? 0 : -1;
}

int
statelink_facts(const json_t *j, const char ***facts, size_t *n)
{
	const json_t *f = json_object_get(j, "f");
	const char **v;

	*facts = NULL;
	if (!json_is_array(f) || (*n = json_array_size(f)) >
	    STATELINK_FACTS_MAX || (v = calloc(*n ? *n : 1,
	    sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if ((v[i] = json_string_value(json_array_get(f, i))) == NULL) {
			free(v);
			return -1;
		}
	*facts = v;
	return 0;
}

/* The whole store: {"askable": B} and the store's dump as the tail. */
static int
on_sync(struct statelink *l, const struct ipc_msg *m)
{
	const uint8_t *raw;
	size_t rawlen;
	json_t *j;
	int r = -1;

	if ((j = ipc_msg_json(m, &raw, &rawlen)) == NULL)
		return -1;
	if (regstate_clear(l->copy) == 0 && (rawlen == 0 ||
	    regstate_load(l->copy, (const char *)raw, rawlen, NULL) == 0))
		r = 0;
	else
		log_err("state: cannot take the watch process's store");
	json_decref(j);
	if (r == 0) {
		l->synced = 1;
		if (l->on_ready != NULL)
			l->on_ready(l->on_ready_arg);
	}
	return r;
}

/*
 * One object as the store now holds it:
 * {"k": "d"|"h", "n": NAME, "r": REFRESHED, "c": CHANGED, "p": PINNED,
 *  "f": [FACT, ...]}, or {"k", "n", "gone": true}.
 */
static int
on_put(struct statelink *l, const struct ipc_msg *m)
{
	json_t *j;
	const char *name, **facts = NULL;
	enum rs_kind k;
	size_t n;
	int r = -1;

	if ((j = ipc_msg_json(m, NULL, NULL)) == NULL)
		return -1;
	if (statelink_object(j, &k, &name) != 0)
		goto out;
	if (json_is_true(json_object_get(j, "gone"))) {
		regstate_del(l->copy, k, name);
		r = 0;
		goto out;
	}
	if (statelink_facts(j, &facts, &n) != 0)
		goto out;
	/* A copy that cannot hold it reads as unknown: the policy asks. */
	if (regstate_mirror(l->copy, k, name, facts, n,
	    json_integer_value(json_object_get(j, "r")),
	    json_integer_value(json_object_get(j, "c")),
	    json_is_true(json_object_get(j, "p"))) != 0)
		regstate_del(l->copy, k, name);
	r = 0;
out:
	free(facts);
	json_decref(j);
	return r;
}

static void
on_asked(struct statelink *l, const struct ipc_msg *m)
{
	struct ask *a;
	json_t *j;
	int ok;

	if ((j = ipc_msg_json(m, NULL, NULL)) == NULL) {
		ipc_fail(l->ch, "malformed answer");
		return;
	}
	ok = json_is_true(json_object_get(j, "ok"));
	json_decref(j);
	/* Unknown: that ask timed out or its session went away. */
	if ((a = take(l, m->id, NULL)) == NULL)
		return;
	if (a->cb != NULL)
		a->cb(a->arg, ok ? 0 : -1);
	ask_free(a);
}

static void
on_msg(struct ipc *c, const struct ipc_msg *m, void *arg)
{
	struct statelink *l = arg;

	switch (m->type) {
	case IPC_STATE_SYNC:
		if (on_sync(l, m) != 0)
			ipc_fail(c, "malformed store");
		return;
	case IPC_STATE_PUT:
		if (on_put(l, m) != 0)
			ipc_fail(c, "malformed object");
		return;
	case IPC_STATE_ASKED:
		on_asked(l, m);
		return;
	default:
		ipc_fail(c, "unexpected message from the watch process");
	}
}

static void
on_closed(struct ipc *c, const char *why, void *arg)
{
	struct statelink *l = arg;

	(void)c;
	/* The copy stays: it is the registry's word as last heard.  Asks
	 * fail closed until a new watch process is up. */
	log_err("watch process channel closed (%s): commands that need "
	    "registry state not held are refused until it is back", why);
	ipc_free(l->ch);
	l->ch = NULL;
	l->synced = 0;
	fail_asks(l, 1);
	if (l->on_lost != NULL)
		l->on_lost(l->on_lost_arg);
}

int
statelink_attach(struct statelink *l, int fd)
{
	ipc_free(l->ch);
	l->ch = NULL;
	l->synced = 0;
	fail_asks(l, 1);
	if ((l->ch = ipc_new(l->base, fd, "watch", IPC_MAX_STATE, on_msg,
	    on_closed, l)) == NULL)
		return -1;
	return 0;
}

void
statelink_on_ready(struct statelink *l, void (*fn)(void *), void *arg)
{
	l->on_ready = fn;
	l->on_ready_arg = arg;
}

void
statelink_on_lost(struct statelink *l, void (*fn)(void *), void *arg)
{
	l->on_lost = fn;
	l->on_lost_arg = arg;
}

int
statelink_ready(const struct statelink *l)
{
	return l != NULL && l->synced && ipc_alive(l->ch);
}

int
statelink_askable(const struct statelink *l)
{
	return statelink_ready(l) && l->askable;
}

static void
ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ask *a = arg;
	struct statelink *l = a->l;

	(void)fd;
	(void)what;
	log_warn("state: no answer from the watch process within %us",
	    l->timeout);
	(void)take(l, 0, a);
	if (a->cb != NULL)
		a->cb(a->arg, -1);
	ask_free(a);
}

void
statelink_ask(struct statelink *l, const char *domain,
    void (*cb)(void *, int), void *arg)
{
	struct timeval tv;
	struct ask *a;

	if (!statelink_askable(l) || (a = calloc(1, sizeof(*a))) == NULL) {
		cb(arg, -1);
		return;
	}
	a->l = l;
	a->id = ++l->next_id;
	a->cb = cb;
	a->arg = arg;
	tv.tv_sec = (time_t)l->timeout;
	tv.tv_usec = 0;
	if ((a->timer = evtimer_new(l->base, ask_timeout, a)) == NULL ||
	    evtimer_add(a->timer, &tv) != 0 ||
	    ipc_send_json(l->ch, IPC_STATE_ASK, a->id, json_pack("{s:s}",
	    "name", domain), NULL, 0) != 0) {
		ask_free(a);
		cb(arg, -1);
		return;
	}
	a->next = l->asks;
	l->asks = a;
}

void
statelink_cancel(struct statelink *l, void *arg)
{
	if (l == NULL)
		return;
	for (struct ask *a = l->asks; a != NULL; a = a->next)
		if (a->arg == arg)
			a->cb = NULL;
}

void
statelink_changed(struct statelink *l, enum rs_kind k, const char *name,
    unsigned classes)
{
	if (l == NULL || !ipc_alive(l->ch))
		return;
	(void)ipc_send_json(l->ch, IPC_STATE_CHANGED, 0, json_pack(
	    "{s:s, s:s, s:I}", "k", statelink_kind_name(k), "n", name,
	    "classes", (json_int_t)classes), NULL, 0);
}

void
statelink_reply(struct statelink *l, const struct epp_msg *m, int64_t now)
{
	const char *name, **facts;
	enum rs_kind k;
	json_t *f;
	size_t n;

	if (l == NULL || watch_reply_facts(m, &k, &name, &facts, &n) != 0)
		return;
	/* Without a watch session, what registrars are told is all the
	 * store knows: into this copy now, so the session's next command
	 * is judged with it; the watch process keeps the others equal. */
	if (!l->askable)
		(void)regstate_put(l->copy, k, name, facts, n, now, NULL);
	if (ipc_alive(l->ch) && (f = json_array()) != NULL) {
		for (size_t i = 0; i < n; i++)
			json_array_append_new(f, json_string(facts[i]));
		(void)ipc_send_json(l->ch, IPC_STATE_SEEN, 0, json_pack(
		    "{s:s, s:s, s:o}", "k", statelink_kind_name(k), "n",
		    name, "f", f), NULL, 0);
	}
	free(facts);
}
