/*
 * proxy.c: the registrar-facing listener and the live sessions (proxy.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "err.h"
#include "ipc.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "proxy.h"
#include "strmap.h"
#include "session.h"

/* A session waiting for the parent's admission. */
struct admit_wait {
	struct admit_wait *next;
	uint32_t	 token;
	struct session	*s;
};

struct proxy {
	const struct session_env *env;	/* the worker's (session.h) */
	struct evconnlistener	*listener;
	struct session_list	 sessions;
	struct strmap		*per[2];	/* sessions per address,
	    principal */
	uint64_t		 next_id;
	unsigned		 max_sessions;	/* in this worker */
	int			(*admit_send)(void *, uint16_t, uint32_t,
				    json_t *);
	void			*admit_arg;
	struct admit_wait	*admit_waits;
	uint32_t		 next_token;
	int			 accepting;
	int			 draining;
};

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct proxy *p = arg;

	(void)l;
	(void)salen;
	if (session_start(p, p->env, &p->sessions, ++p->next_id, fd,
	    sa) != 0)
		return;
	if (p->sessions.count >= p->max_sessions) {
		/* Leave further clients in the backlog until one leaves. */
		log_warn("max_sessions (%u) reached in this worker: not "
		    "accepting", p->max_sessions);
		evconnlistener_disable(p->listener);
	}
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	/* EMFILE and friends: keep running, the sessions we have still work. */
	log_err("accept: %s", evutil_socket_error_to_string(e));
}

struct proxy *
proxy_new(const struct session_env *env, uint64_t first_id,
    int (*send)(void *, uint16_t, uint32_t, json_t *), void *arg,
    struct err *e)
{
	struct proxy *p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->per[0] = strmap_new()) == NULL ||
	    (p->per[1] = strmap_new()) == NULL) {
		if (p != NULL)
			strmap_free(p->per[0], NULL);
		free(p);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	p->env = env;
	p->max_sessions = env->cfg->gateway.max_sessions;
	p->next_id = first_id;
	p->admit_send = send;
	p->admit_arg = arg;
	return p;
}

int
proxy_listen(struct proxy *p, int fd, struct err *e)
{
	/* Disabled until proxy_start_accepting: a worker takes sessions
	 * only once its channels to the others are up. */
	p->listener = evconnlistener_new(p->env->base, accept_cb, p,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
	    -1, fd);
	if (p->listener == NULL) {
		err_set(e, ERR_SYSTEM, "cannot listen on %s: %s",
		    p->env->cfg->gateway.listen.text, strerror(errno));
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(p->listener, accept_error_cb);
	return 0;
}

void
proxy_start_accepting(struct proxy *p)
{
	if (p->listener == NULL || p->draining || p->accepting)
		return;
	p->accepting = 1;
	if (p->sessions.count < p->max_sessions)
		evconnlistener_enable(p->listener);
}

void
proxy_stop_accepting(struct proxy *p)
{
	if (p->listener != NULL)
		evconnlistener_disable(p->listener);
	p->accepting = 0;
}

void
proxy_drain(struct proxy *p)
{
	proxy_stop_accepting(p);
	p->draining = 1;
	session_drain_all(&p->sessions);
	if (p->sessions.count == 0)
		event_base_loopexit(p->env->base, NULL);
}

void
proxy_retire(struct proxy *p)
{
	proxy_stop_accepting(p);
	p->draining = 1;
	if (p->sessions.count == 0)
		event_base_loopexit(p->env->base, NULL);
}

size_t
proxy_session_count(const struct proxy *p)
{
	return p->sessions.count;
}

void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	if (p->listener != NULL)
		evconnlistener_free(p->listener);
	session_abort_all(&p->sessions);
	/* Sessions finish freeing on the next loop turn. */
	while (p->sessions.count > 0)
		if (event_base_loop(p->env->base, EVLOOP_ONCE |
		    EVLOOP_NONBLOCK) < 0)
			break;
	strmap_free(p->per[0], NULL);
	strmap_free(p->per[1], NULL);
	while (p->admit_waits != NULL) {
		struct admit_wait *a = p->admit_waits;

		p->admit_waits = a->next;
		free(a);
	}
	free(p);
}

/* Counts live in the map as pointer-sized integers (never 0 there). */
int
proxy_count_take(struct proxy *p, enum proxy_count c, const char *key,
    unsigned max)
{
	uintptr_t n = (uintptr_t)strmap_get(p->per[c], key);

	if (n >= max)
		return -1;
	return strmap_put(p->per[c], key, (void *)(n + 1), NULL);
}

void
proxy_count_drop(struct proxy *p, enum proxy_count c, const char *key)
{
	uintptr_t n = (uintptr_t)strmap_get(p->per[c], key);

	if (n > 1)
		(void)strmap_put(p->per[c], key, (void *)(n - 1), NULL);
	else if (n == 1)
		(void)strmap_del(p->per[c], key);
}

void
proxy_session_gone(struct proxy *p, struct session *s)
{
	(void)s;
	if (p->draining && p->sessions.count == 0)
		event_base_loopexit(p->env->base, NULL);
	/* The list count was already decremented by the session. */
	if (p->accepting && p->listener != NULL &&
	    p->sessions.count < p->max_sessions)
		evconnlistener_enable(p->listener);
}

int
proxy_admit(struct proxy *p, struct session *s, const char *addr,
    const char *principal, uint32_t *token)
{
	struct admit_wait *a;

	if (p->admit_send == NULL || (a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	/* Never 0: a session holds 0 for "not admitted". */
	if (++p->next_token == 0)
		++p->next_token;
	a->token = p->next_token;
	a->s = s;
	if (p->admit_send(p->admit_arg, IPC_ADMIT, a->token, json_pack(
	    "{s:s, s:s}", "addr", addr, "principal", principal)) != 0) {
		free(a);
		return -1;
	}
	a->next = p->admit_waits;
	p->admit_waits = a;
	*token = a->token;
	return 0;
}

static struct admit_wait *
admit_take(struct proxy *p, uint32_t token)
{
	struct admit_wait **pp, *a;

	for (pp = &p->admit_waits; (a = *pp) != NULL; pp = &a->next)
		if (a->token == token) {
			*pp = a->next;
			return a;
		}
	return NULL;
}

void
proxy_admit_cancel(struct proxy *p, uint32_t token)
{
	struct admit_wait *a = admit_take(p, token);

	if (a == NULL)
		return;
	free(a);
	/* The parent may count it by now: it is let go all the same. */
	proxy_leave(p, token);
}

void
proxy_leave(struct proxy *p, uint32_t token)
{
	if (p->admit_send != NULL && token != 0)
		(void)p->admit_send(p->admit_arg, IPC_LEAVE, token,
		    json_object());
}

void
proxy_admitted(struct proxy *p, uint32_t token, int ok, const char *why)
{
	struct admit_wait *a = admit_take(p, token);
	struct session *s;

	if (a == NULL) {
		/* Cancelled meanwhile: proxy_admit_cancel let it go. */
		return;
	}
	s = a->s;
	free(a);
	session_admitted(s, ok, why);
}

void
proxy_admission_lost(struct proxy *p)
{
	struct admit_wait *a;

	p->admit_send = NULL;
	while ((a = p->admit_waits) != NULL) {
		p->admit_waits = a->next;
		session_admitted(a->s, 0, "no parent");
		free(a);
	}
}
