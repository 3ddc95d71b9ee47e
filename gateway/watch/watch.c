/*
 * watch.c: the watch session and the registry state it keeps (watch.h).
 *
 * One upstream TLS connection, driven like a registrar session's upstream
 * leg (conn.c), with its own small state machine:
 *
 *   DOWN        waiting to reconnect (backoff 1, 2, 4 ... 60 s)
 *   CONNECTING  TCP + TLS
 *   GREETING    waiting for the registry's greeting
 *   LOGIN       login sent
 *   READY       logged in: one info (or keepalive poll) in flight at a time
 *
 * Requests wait in a FIFO; asks (the policy needs an answer before it can
 * judge a command) go to its front.  A keepalive is a poll request, which
 * needs a live login (a hello would not prove one) and dequeues nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "alertlink.h"
#include "auditlink.h"
#include "buf.h"
#include "change.h"
#include "config.h"
#include "conn.h"
#include "epp.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "lock.h"
#include "log.h"
#include "names.h"
#include "policy.h"
#include "strmap.h"
#include "tls.h"
#include "watch.h"

#define BACKOFF_MAX	60
#define DRIFT_KEEP	100
#define STATE_MAX_BYTES	((size_t)256 << 20)
#define SAVE_DELAY_MS	500

enum wstate {
	W_DOWN = 0,
	W_CONNECTING,
	W_GREETING,
	W_LOGIN,
	W_READY
};

struct waiter {
	void		(*cb)(void *arg, int ok);
	void		*arg;
	struct waiter	*next;
};

struct wreq {
	enum rs_kind	 kind;
	char		 name[NAME_MAX_LEN + 1];
	const char	*how;		/* "refresh", "ask", "change" */
	struct waiter	*waiters;
	struct wreq	*next;
	uint64_t	 sent;		/* monotonic us, when asked */
};

/*
 * What a change the gateway forwarded explains: its classes, in the first
 * reading asked for after the registry executed it (and, to be safe, in
 * any reading already under way then); never later, so an out-of-band
 * change that follows an approved one is still seen.
 */
struct expl {
	unsigned	 classes;
	uint64_t	 at;		/* monotonic us of the execution */
	int64_t		 until;		/* unused past this (unix s) */
};

struct watch {
	struct event_base	*base;
	struct config		*cfg;		/* our reference */
	const struct policy	*policy;	/* not owned */
	SSL_CTX			*ctx;		/* our reference */
	struct regstate		*rs;		/* not owned */
	struct auditlink	*audit;		/* not owned */
	struct alertlink	*alerter;	/* not owned */
	int			(*saver)(void *, const char *, size_t);
	void			*saver_arg;
	char			*password;

	enum wstate		 state;
	struct conn		*up;
	struct event		*timer;		/* backoff, timeouts, keepalive */
	struct event		*refresh_ev;
	struct event		*save_ev;
	unsigned		 backoff;

	struct wreq		*head, *tail;	/* waiting */
	struct wreq		*inflight;	/* sent, unanswered */
	int			 polling;	/* a keepalive is in flight */
	size_t			 nqueued;
	uint64_t		 seq;

	struct strmap		*explained;	/* "d:name" -> struct expl */
	json_t			*drift;		/* the last DRIFT_KEEP */
	uint64_t		 ndrift, nreadings, nerrors, nlogins;
	int			 dirty;
};

static void w_connect(struct watch *w);
static void pump(struct watch *w);

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static void
arm(struct event *ev, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	event_add(ev, &tv);
}

static void
fail_waiters(struct waiter *wt)
{
	while (wt != NULL) {
		struct waiter *next = wt->next;

		wt->cb(wt->arg, -1);
		free(wt);
		wt = next;
	}
}

static void
answer_waiters(struct waiter *wt, int ok)
{
	while (wt != NULL) {
		struct waiter *next = wt->next;

		wt->cb(wt->arg, ok);
		free(wt);
		wt = next;
	}
}

/* The connection is gone: asks fail at once, refreshes wait for the next
 * login. */
static void
w_down(struct watch *w, const char *why, unsigned backoff)
{
	struct wreq **pp, *r;
	struct waiter *failed = NULL;

	if (w->state != W_DOWN)
		log_warn("watch: session to %s lost: %s; reconnecting in %us",
		    w->cfg->upstream.address.text, why, backoff);
	conn_free(w->up);
	w->up = NULL;
	w->state = W_DOWN;
	w->polling = 0;
	w->nerrors++;
	if ((r = w->inflight) != NULL) {
		w->inflight = NULL;
		r->next = w->head;
		w->head = r;
		if (w->tail == NULL)
			w->tail = r;
		w->nqueued++;
	}
	/* Nobody can wait for an answer that may be a minute away. */
	for (pp = &w->head; (r = *pp) != NULL; pp = &r->next) {
		struct waiter *wt = r->waiters;

		r->waiters = NULL;
		while (wt != NULL) {
			struct waiter *next = wt->next;

			wt->next = failed;
			failed = wt;
			wt = next;
		}
	}
	event_del(w->timer);
	arm(w->timer, backoff);
	w->backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	fail_waiters(failed);
}

static int
send_xml(struct watch *w, const char *xml)
{
	if (conn_write_frame(w->up, xml, strlen(xml)) != 0) {
		w_down(w, "write failed", w->backoff);
		return -1;
	}
	return 0;
}

/* XML text content: & < > escaped (a password may hold them). */
static int
escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" :
		    *in == '>' ? "&gt;" : NULL;
		size_t n = rep ? strlen(rep) : 1;

		if (o + n + 1 > len)
			return -1;
		if (rep != NULL)
			memcpy(out + o, rep, n);
		else
			out[o] = *in;
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static void
send_login(struct watch *w)
{
	char pw[1024], xml[2048];
	int n;

	if (escape(w->password, pw, sizeof(pw)) != 0) {
		w_down(w, "password too long", BACKOFF_MAX);
		return;
	}
	n = snprintf(xml, sizeof(xml),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><login>"
	    "<clID>%s</clID><pw>%s</pw><options><version>1.0</version>"
	    "<lang>en</lang></options><svcs>"
	    "<objURI>urn:ietf:params:xml:ns:domain-1.0</objURI>"
	    "<objURI>urn:ietf:params:xml:ns:host-1.0</objURI>"
	    "<objURI>urn:ietf:params:xml:ns:contact-1.0</objURI>"
	    "<svcExtension><extURI>urn:ietf:params:xml:ns:secDNS-1.1</extURI>"
	    "</svcExtension></svcs></login><clTRID>eppgw-watch-%llu</clTRID>"
	    "</command></epp>", w->cfg->upstream.clid, pw,
	    (unsigned long long)++w->seq);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (n < 0 || (size_t)n >= sizeof(xml)) {
		OPENSSL_cleanse(xml, sizeof(xml));
		w_down(w, "login too long", BACKOFF_MAX);
		return;
	}
	w->state = W_LOGIN;
	(void)send_xml(w, xml);
	OPENSSL_cleanse(xml, sizeof(xml));
}

/*
 * Only reads leave the watch session: info of a normalised name (letters,
 * digits, hyphens and dots, so nothing needs escaping).
 */
static void
send_info(struct watch *w, const struct wreq *r)
{
	const char *obj = r->kind == RS_DOMAIN ? "domain" : "host";
	char xml[1024];

	snprintf(xml, sizeof(xml),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><info>"
	    "<%s:info xmlns:%s=\"urn:ietf:params:xml:ns:%s-1.0\">"
	    "<%s:name>%s</%s:name></%s:info></info>"
	    "<clTRID>eppgw-watch-%llu</clTRID></command></epp>", obj, obj, obj,
	    obj, r->name, obj, obj, (unsigned long long)++w->seq);
	if (send_xml(w, xml) == 0)
		arm(w->timer, w->cfg->upstream.reply_timeout);
}

static void
send_poll(struct watch *w)
{
	char xml[256];

	snprintf(xml, sizeof(xml),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>"
	    "<poll op=\"req\"/><clTRID>eppgw-watch-%llu</clTRID></command>"
	    "</epp>", (unsigned long long)++w->seq);
	w->polling = 1;
	if (send_xml(w, xml) == 0)
		arm(w->timer, w->cfg->upstream.reply_timeout);
}

static int
valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.'))
			return 0;
	return 1;
}

/*
 * Queue a reading.  A second request for an object already queued (or in
 * flight) joins it; front puts it ahead of the refreshes.
 */
static int
enqueue(struct watch *w, enum rs_kind k, const char *name, const char *how,
    int front, void (*cb)(void *, int), void *arg)
{
	struct wreq *r = NULL, *p, *prev = NULL;
	struct waiter *wt = NULL;

	if (!valid_name(name))
		return -1;
	if (cb != NULL) {
		if ((wt = calloc(1, sizeof(*wt))) == NULL)
			return -1;
		wt->cb = cb;
		wt->arg = arg;
	}
	/* A reading already under way may predate a change: after one, a
	 * fresh reading is queued. */
	if (w->inflight != NULL && w->inflight->kind == k &&
	    strcmp(w->inflight->name, name) == 0 && strcmp(how, "change") != 0)
		r = w->inflight;
	for (p = w->head; r == NULL && p != NULL; prev = p, p = p->next)
		if (p->kind == k && strcmp(p->name, name) == 0) {
			r = p;
			if (front && prev != NULL) {
				/* Move it up: someone waits for it. */
				prev->next = p->next;
				if (w->tail == p)
					w->tail = prev;
				p->next = w->head;
				w->head = p;
			}
		}
	if (r == NULL) {
		/* Bounded: at most the store's size waits to be read. */
		if (w->nqueued > (size_t)w->cfg->upstream.state_max ||
		    (r = calloc(1, sizeof(*r))) == NULL) {
			free(wt);
			return -1;
		}
		r->kind = k;
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->how = how;
		if (front) {
			r->next = w->head;
			w->head = r;
			if (w->tail == NULL)
				w->tail = r;
		} else {
			if (w->tail != NULL)
				w->tail->next = r;
			else
				w->head = r;
			w->tail = r;
		}
		w->nqueued++;
	} else if (front)
		r->how = how;
	if (wt != NULL) {
		wt->next = r->waiters;
		r->waiters = wt;
	}
	pump(w);
	return 0;
}

static void
pump(struct watch *w)
{
	struct wreq *r;

	if (w->state != W_READY || w->inflight != NULL || w->polling)
		return;
	if ((r = w->head) == NULL) {
		event_del(w->timer);
		arm(w->timer, w->cfg->upstream.keepalive);
		return;
	}
	w->head = r->next;
	if (w->head == NULL)
		w->tail = NULL;
	r->next = NULL;
	w->nqueued--;
	w->inflight = r;
	r->sent = mono_us();
	event_del(w->timer);
	send_info(w, r);
}

static void
mark_dirty(struct watch *w)
{
	struct timeval tv = { 0, SAVE_DELAY_MS * 1000 };

	if (!w->dirty) {
		w->dirty = 1;
		event_add(w->save_ev, &tv);
	}
}

static void
save(struct watch *w)
{
	size_t len = 0;
	char *json;

	if (!w->dirty)
		return;
	if ((json = regstate_dump(w->rs, &len)) == NULL) {
		log_err("watch: cannot save the registry state: out of memory");
		return;		/* still dirty: tried again on the next save */
	}
	/* In the watch process the parent writes the file (saver). */
	if (w->saver != NULL && w->saver(w->saver_arg, json, len) != 0) {
		log_err("watch: cannot hand the registry state to the parent "
		    "to write %s", w->cfg->upstream.state_path);
		free(json);
		return;
	}
	if (w->saver == NULL && file_replace(w->cfg->upstream.state_path, json,
	    len, 0600) != 0) {
		log_err("watch: cannot write the state file %s: %s",
		    w->cfg->upstream.state_path, strerror(errno));
		free(json);
		return;
	}
	free(json);
	w->dirty = 0;
}

static void
save_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	save(w);
	if (w->dirty) {
		struct timeval tv = { 5, 0 };

		event_add(w->save_ev, &tv);
	}
}

/*
 * Statuses the registry derives from other facts (RFC 5731 section 2.3):
 * they follow a change, they are never one of their own.
 */
static int
derived(const char *fact)
{
	static const char *const s[] = {
		"status=ok", "status=inactive", "status=linked",
		"status=pendingCreate", "status=pendingDelete",
		"status=pendingRenew", "status=pendingTransfer",
		"status=pendingUpdate",
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (strcmp(fact, s[i]) == 0)
			return 1;
	return 0;
}

static void
drift_emit(struct watch *w, const struct rs_obj *o, json_t *gone,
    json_t *added, const char *how)
{
	json_t *rec;
	char gbuf[300] = "", abuf[300] = "";
	size_t i;
	json_t *v;

	w->ndrift++;
	rec = json_pack("{s:s, s:s, s:O, s:O, s:s, s:I}", "object",
	    rs_obj_name(o), "kind", rs_obj_kind(o) == RS_DOMAIN ? "domain" :
	    "host", "gone", gone, "added", added, "seen", how,
	    "time", (json_int_t)now_s());
	if (rec == NULL)
		return;
	json_array_foreach(gone, i, v)
		snprintf(gbuf + strlen(gbuf), sizeof(gbuf) - strlen(gbuf),
		    "%s-%s", i ? " " : "", json_string_value(v));
	json_array_foreach(added, i, v)
		snprintf(abuf + strlen(abuf), sizeof(abuf) - strlen(abuf),
		    "%s+%s", i ? " " : "", json_string_value(v));
	log_warn("watch: DRIFT on %s (%s): %s%s%s: no change through the "
	    "gateway explains it", rs_obj_name(o), how, gbuf,
	    gbuf[0] && abuf[0] ? " " : "", abuf);
	if (w->audit != NULL)
		(void)auditlink_submit(w->audit, "observation", json_deep_copy(rec),
		    NULL, NULL);
	if (w->alerter != NULL)
		alertlink_emit(w->alerter, "drift", json_deep_copy(rec));
	json_array_append_new(w->drift, rec);
	while (json_array_size(w->drift) > DRIFT_KEEP)
		json_array_remove(w->drift, 0);
}

/*
 * Compare a new reading of a watched object (asked for at sent, monotonic
 * us) with the last one.
 */
static void
drift_check(struct watch *w, const struct rs_obj *o, const struct rs_diff *d,
    const char *how, uint64_t sent)
{
	char key[NAME_MAX_LEN + 3];
	struct expl *e;
	unsigned explained = 0;
	json_t *gone = json_array(), *added = json_array();
	int host;

	snprintf(key, sizeof(key), "%c:%s", rs_obj_kind(o) == RS_DOMAIN ?
	    'd' : 'h', rs_obj_name(o));
	if ((e = strmap_get(w->explained, key)) != NULL) {
		if (e->until >= now_s())
			explained = e->classes;
		/* Asked for after the change: this reading shows it, and
		 * the explanation is used up. */
		if (e->until < now_s() || sent >= e->at)
			free(strmap_del(w->explained, key));
	}
	host = rs_obj_kind(o) == RS_HOST;
	for (size_t i = 0; i < d->ngone; i++)
		if (!derived(d->gone[i]) &&
		    !(change_fact_class(host, d->gone[i]) & explained))
			json_array_append_new(gone, json_string(d->gone[i]));
	for (size_t i = 0; i < d->nadded; i++)
		if (!derived(d->added[i]) &&
		    !(change_fact_class(host, d->added[i]) & explained))
			json_array_append_new(added, json_string(d->added[i]));
	if (json_array_size(gone) + json_array_size(added) > 0)
		drift_emit(w, o, gone, added, how);
	json_decref(gone);
	json_decref(added);
}

static int
status_locked(const struct rs_obj *o)
{
	return rs_obj_has(o, "status=clientUpdateProhibited") ||
	    rs_obj_has(o, "status=serverUpdateProhibited");
}

/* Say when the registry's own lock on a domain appears or goes. */
static void
log_status_lock(const char *name, int before, const struct rs_obj *after)
{
	int now = after != NULL && status_locked(after);

	if (now && !before)
		log_notice("%s is UpdateProhibited at the registry: locked "
		    "from now on", name);
	else if (before && !now)
		log_notice("%s is no longer UpdateProhibited at the registry",
		    name);
}

/* Whether a domain is one the gateway watches. */
static int
watched_domain(const struct watch *w, const char *name)
{
	return policy_domain_locked(w->policy, w->rs, name, NULL);
}

/* A host is watched while a watched domain uses it. */
static int
watched_host(const struct watch *w, const char *name)
{
	const char *users[16];
	size_t n = regstate_domains_using_host(w->rs, name, users, 16);

	for (size_t i = 0; i < n; i++)
		if (watched_domain(w, users[i]))
			return 1;
	return 0;
}

/* Store a reading; check it for drift; follow a domain to its hosts. */
static int
reading(struct watch *w, enum rs_kind k, const char *name,
    const char *const *facts, size_t n, const char *how, uint64_t sent)
{
	const struct rs_obj *o;
	struct rs_diff d;
	int was_pinned, was_locked, pin;

	o = regstate_get(w->rs, k, name);
	was_pinned = o != NULL && rs_obj_pinned(o);
	was_locked = k == RS_DOMAIN && o != NULL && status_locked(o);
	if (regstate_put(w->rs, k, name, facts, n, now_s(), &d) != 0) {
		log_err("watch: cannot keep the state of %s: the store is "
		    "full (state_max %u) or out of memory", name,
		    w->cfg->upstream.state_max);
		return -1;
	}
	w->nreadings++;
	pin = k == RS_DOMAIN ? watched_domain(w, name) : watched_host(w, name);
	regstate_pin(w->rs, k, name, pin);
	o = regstate_get(w->rs, k, name);
	if (k == RS_DOMAIN)
		log_status_lock(name, was_locked, o);
	if (was_pinned && !d.first && o != NULL)
		drift_check(w, o, &d, how, sent);
	if ((d.ngone | d.nadded) != 0 || d.first || pin != was_pinned)
		mark_dirty(w);
	rs_diff_clear(&d);
	/* A watched domain's name servers carry its delegation. */
	for (size_t i = 0; pin && k == RS_DOMAIN && i < n; i++) {
		if (strncmp(facts[i], "ns=", 3) != 0)
			continue;
		if (regstate_get(w->rs, RS_HOST, facts[i] + 3) != NULL)
			regstate_pin(w->rs, RS_HOST, facts[i] + 3, 1);
		else
			(void)enqueue(w, RS_HOST, facts[i] + 3, how, 0, NULL,
			    NULL);
	}
	return 0;
}

static void
finish(struct watch *w, int ok)
{
	struct wreq *r = w->inflight;

	w->inflight = NULL;
	event_del(w->timer);
	if (r != NULL) {
		answer_waiters(r->waiters, ok);
		free(r);
	}
}

/* The answer to an info request. */
static void
info_reply(struct watch *w, const struct epp_msg *m)
{
	struct wreq *r = w->inflight;
	const char *exists0 = "exists=0";
	int code = epp_msg_result_code(m), ok = -1;

	if (code == 2303) {
		/* It does not exist: that is an answer too. */
		ok = reading(w, r->kind, r->name, &exists0, 1, r->how,
		    r->sent);
	} else if (code == 1000 && epp_msg_info_object(m) != NULL &&
	    strcmp(epp_msg_info_object(m), r->name) == 0 &&
	    (epp_msg_info_kind(m) == EPP_OBJ_DOMAIN) == (r->kind == RS_DOMAIN)) {
		size_t n = epp_msg_info_nfacts(m);
		const char **f = calloc(n ? n : 1, sizeof(*f));

		if (f != NULL) {
			for (size_t i = 0; i < n; i++)
				f[i] = epp_msg_info_fact(m, i);
			ok = reading(w, r->kind, r->name, f, n, r->how,
			    r->sent);
			free(f);
		}
	} else {
		w->nerrors++;
		log_warn("watch: %s:info %s: registry answered %d%s%.100s",
		    r->kind == RS_DOMAIN ? "domain" : "host", r->name, code,
		    epp_msg_result_msg(m) ? ": " : "",
		    epp_msg_result_msg(m) ? epp_msg_result_msg(m) : "");
	}
	finish(w, ok);
}

static void
handle_frame(struct watch *w, const uint8_t *xml, size_t len)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;
	int code;

	if (epp_parse_reply(xml, len, &m, &e) != 0) {
		w_down(w, err_msg(&e), w->backoff);
		return;
	}
	code = epp_msg_result_code(m);
	switch (w->state) {
	case W_GREETING:
		if (epp_msg_kind(m) != EPP_KIND_GREETING) {
			w_down(w, "no greeting", w->backoff);
			break;
		}
		event_del(w->timer);
		arm(w->timer, w->cfg->upstream.reply_timeout);
		send_login(w);
		break;
	case W_LOGIN:
		if (code < 1000 || code >= 2000) {
			log_err("watch: login as %s refused: %d %.100s",
			    w->cfg->upstream.clid, code, epp_msg_result_msg(m) ?
			    epp_msg_result_msg(m) : "");
			w_down(w, "login refused", BACKOFF_MAX);
			break;
		}
		w->state = W_READY;
		w->backoff = 1;
		w->nlogins++;
		log_notice("watch: logged in to %s as %s",
		    w->cfg->upstream.address.text, w->cfg->upstream.clid);
		event_del(w->timer);
		pump(w);
		break;
	case W_READY:
		if (code >= 2500) {
			w_down(w, "the registry ended the session", w->backoff);
			break;
		}
		if (w->polling) {
			w->polling = 0;
			event_del(w->timer);
		} else if (w->inflight != NULL)
			info_reply(w, m);
		pump(w);
		break;
	default:
		break;
	}
	epp_msg_free(m);
}

static void
up_input(struct conn *c, void *arg)
{
	struct watch *w = arg;
	const uint8_t *in;
	size_t avail, plen;
	uint32_t total = 0;
	enum frame_status fs;

	while (w->up == c) {
		in = conn_in(c, &avail);
		fs = frame_header_parse(in, avail, w->cfg->upstream.max_frame,
		    &plen, &total);
		if (fs == FRAME_TOO_SHORT || fs == FRAME_TOO_LONG) {
			w_down(w, frame_status_str(fs), w->backoff);
			return;
		}
		if (fs == FRAME_NEED_MORE || avail < FRAME_HEADER_LEN + plen)
			return;
		handle_frame(w, in + FRAME_HEADER_LEN, plen);
		if (w->up == c)
			conn_consume(c, FRAME_HEADER_LEN + plen);
	}
}

static void
up_connected(struct conn *c, void *arg)
{
	struct watch *w = arg;

	(void)c;
	w->state = W_GREETING;
}

static void
up_error(struct conn *c, void *arg, const char *why, int eof)
{
	struct watch *w = arg;

	(void)c;
	w_down(w, eof ? "the registry closed the connection" : why,
	    w->backoff);
}

static const struct conn_cbs up_cbs = {
	up_connected, up_input, NULL, up_error
};

static void
w_connect(struct watch *w)
{
	struct err e = ERR_INIT;
	SSL *ssl;

	w->state = W_CONNECTING;
	arm(w->timer, w->cfg->upstream.connect_timeout);
	if ((ssl = tls_client_new(w->ctx, w->cfg->upstream.server_name)) ==
	    NULL) {
		w_down(w, "cannot set up TLS", w->backoff);
		return;
	}
	if ((w->up = conn_connect(w->base,
	    (const struct sockaddr *)&w->cfg->upstream.address.ss,
	    w->cfg->upstream.address.len, ssl, &up_cbs, w,
	    w->cfg->upstream.max_frame + 16384, &e)) == NULL)
		w_down(w, err_msg(&e), w->backoff);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	switch (w->state) {
	case W_DOWN:
		w_connect(w);
		break;
	case W_CONNECTING:
	case W_GREETING:
	case W_LOGIN:
		w_down(w, "no connection, greeting or login in time",
		    w->backoff);
		break;
	case W_READY:
		if (w->inflight != NULL || w->polling)
			w_down(w, "no reply in time", w->backoff);
		else
			send_poll(w);
		break;
	}
}

/*
 * An answer about a domain nobody watches (a question the policy asked) is
 * good for one refresh interval: after that the registry is asked again,
 * so a status set there since is not missed.
 */
static void
forget_stale(struct watch *w)
{
	const struct rs_obj *o;
	int64_t cutoff = now_s() - (int64_t)w->cfg->upstream.refresh;
	size_t cur = 0, n = 0, cap = 0;
	struct { enum rs_kind k; char *name; } *old = NULL, *t;

	while ((o = regstate_next(w->rs, &cur)) != NULL) {
		if (rs_obj_pinned(o) || rs_obj_refreshed(o) >= cutoff)
			continue;
		/* At most every object of the store. */
		if ((t = grow_array(old, &cap, n + 1, sizeof(*t),
		    regstate_count(w->rs))) == NULL)
			break;
		old = t;
		old[n].k = rs_obj_kind(o);
		if ((old[n].name = strdup(rs_obj_name(o))) != NULL)
			n++;
	}
	/* Not while iterating: the map must not change under the cursor. */
	for (size_t i = 0; i < n; i++) {
		regstate_del(w->rs, old[i].k, old[i].name);
		free(old[i].name);
	}
	free(old);
	if (n > 0)
		mark_dirty(w);
}

/* Every watched object, read again. */
static void
refresh_all(struct watch *w)
{
	const struct locklist *l = policy_locks(w->policy);
	const struct rs_obj *o;
	size_t cur = 0;

	for (size_t i = 0; i < locklist_count(l); i++) {
		const char *e = locklist_entry(l, i);

		if (strncmp(e, "*.", 2) != 0)
			(void)enqueue(w, RS_DOMAIN, e, "refresh", 0, NULL,
			    NULL);
	}
	while ((o = regstate_next(w->rs, &cur)) != NULL)
		if (rs_obj_pinned(o))
			(void)enqueue(w, rs_obj_kind(o), rs_obj_name(o),
			    "refresh", 0, NULL, NULL);
	forget_stale(w);
}

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	refresh_all(w);
	arm(w->refresh_ev, w->cfg->upstream.refresh);
}

static int
read_password(struct watch *w, const char *path, struct err *e)
{
	size_t len = 0;
	char *pw = NULL;

	if (file_read(path, 4096, 1, &pw, &len, NULL, e) != 0)
		return -1;
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f) {
			OPENSSL_cleanse(pw, len);
			free(pw);
			return err_set(e, ERR_INVALID, "%s: a control "
			    "character in the password", path);
		}
	if (len == 0) {
		free(pw);
		return err_set(e, ERR_INVALID, "%s: empty password", path);
	}
	w->password = pw;
	return 0;
}

struct watch *
watch_new(struct event_base *base, struct config *cfg,
    const struct policy *pol, SSL_CTX *client_ctx, struct regstate *rs,
    struct err *e)
{
	struct watch *w;
	char *json = NULL;
	size_t len = 0;
	int missing = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->base = base;
	w->cfg = config_ref(cfg);
	w->policy = pol;
	SSL_CTX_up_ref(client_ctx);
	w->ctx = client_ctx;
	w->rs = rs;
	w->backoff = 1;
	if ((w->explained = strmap_new()) == NULL ||
	    (w->drift = json_array()) == NULL ||
	    (w->timer = evtimer_new(base, timer_cb, w)) == NULL ||
	    (w->refresh_ev = evtimer_new(base, refresh_cb, w)) == NULL ||
	    (w->save_ev = evtimer_new(base, save_cb, w)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (read_password(w, cfg->upstream.password_file, e) != 0)
		goto fail;
	if (file_read(cfg->upstream.state_path, STATE_MAX_BYTES, 1, &json,
	    &len, &missing, e) != 0)
		goto fail;
	if (!missing) {
		struct err cause = ERR_INIT;

		if (regstate_load(rs, json, len, &cause) != 0) {
			err_set(e, ERR_CORRUPT, "state file %s: %s (move it "
			    "aside to start afresh)", cfg->upstream.state_path,
			    err_msg(&cause));
			goto fail;
		}
		log_notice("watch: %zu objects from %s", regstate_count(rs),
		    cfg->upstream.state_path);
	}
	free(json);
	json = NULL;
	regstate_set_askable(rs, 1);
	refresh_all(w);
	arm(w->refresh_ev, cfg->upstream.refresh);
	w_connect(w);
	return w;
fail:
	free(json);
	watch_free(w);
	return NULL;
}

static void
free_reqs(struct wreq *r)
{
	while (r != NULL) {
		struct wreq *next = r->next;

		fail_waiters(r->waiters);
		free(r);
		r = next;
	}
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	save(w);
	conn_free(w->up);
	free_reqs(w->inflight);
	free_reqs(w->head);
	if (w->timer != NULL)
		event_free(w->timer);
	if (w->refresh_ev != NULL)
		event_free(w->refresh_ev);
	if (w->save_ev != NULL)
		event_free(w->save_ev);
	strmap_free(w->explained, free);
	json_decref(w->drift);
	if (w->password != NULL) {
		OPENSSL_cleanse(w->password, strlen(w->password));
		free(w->password);
	}
	SSL_CTX_free(w->ctx);
	config_unref(w->cfg);
	free(w);
}

void
watch_set_audit(struct watch *w, struct auditlink *a)
{
	w->audit = a;
}

void
watch_set_saver(struct watch *w, int (*fn)(void *, const char *, size_t),
    void *arg)
{
	w->saver = fn;
	w->saver_arg = arg;
}

void
watch_set_alerter(struct watch *w, struct alertlink *a)
{
	w->alerter = a;
}

int
watch_ready(const struct watch *w)
{
	return w != NULL && w->state == W_READY;
}

void
watch_ask(struct watch *w, const char *domain, void (*cb)(void *, int),
    void *arg)
{
	if (w == NULL || w->state != W_READY ||
	    enqueue(w, RS_DOMAIN, domain, "ask", 1, cb, arg) != 0)
		cb(arg, -1);
}

void
watch_changed(struct watch *w, enum rs_kind k, const char *name,
    unsigned classes)
{
	char key[NAME_MAX_LEN + 3];
	struct expl *e, *old = NULL;

	if (w == NULL || !valid_name(name))
		return;
	/* A host renamed (or its glue changed) shows in the name servers of
	 * every domain that uses it: those readings are explained too. */
	if (k == RS_HOST) {
		const char *users[16];
		char copy[16][NAME_MAX_LEN + 1];
		size_t n = regstate_domains_using_host(w->rs, name, users, 16);

		/* Copied: watch_changed below may change the store. */
		for (size_t i = 0; i < n; i++)
			snprintf(copy[i], sizeof(copy[i]), "%s", users[i]);
		for (size_t i = 0; i < n; i++)
			watch_changed(w, RS_DOMAIN, copy[i], CLASS_NS);
	}
	snprintf(key, sizeof(key), "%c:%s", k == RS_DOMAIN ? 'd' : 'h', name);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	/* Long enough for the reading that follows at once, even behind a
	 * reconnect; not so long that it would hide a later change. */
	e->until = now_s() + 2 * (int64_t)w->cfg->upstream.reply_timeout +
	    BACKOFF_MAX;
	e->classes = classes;
	e->at = mono_us();
	if (strmap_put(w->explained, key, e, (void **)&old) != 0) {
		free(e);
		return;
	}
	if (old != NULL && old->until >= now_s())
		e->classes |= old->classes;
	free(old);
	(void)enqueue(w, k, name, "change", 1, NULL, NULL);
}

int
watch_reply_facts(const struct epp_msg *m, enum rs_kind *k, const char **name,
    const char ***facts, size_t *n)
{
	const char **f;

	*facts = NULL;
	*n = 0;
	if (m == NULL || epp_msg_info_kind(m) == EPP_OBJ_NONE ||
	    epp_msg_info_object(m) == NULL || epp_msg_result_code(m) != 1000)
		return -1;
	*k = epp_msg_info_kind(m) == EPP_OBJ_DOMAIN ? RS_DOMAIN : RS_HOST;
	*name = epp_msg_info_object(m);
	*n = epp_msg_info_nfacts(m);
	if ((f = calloc(*n ? *n : 1, sizeof(*f))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++)
		f[i] = epp_msg_info_fact(m, i);
	*facts = f;
	return 0;
}

void
watch_seen(struct watch *w, struct regstate *rs, enum rs_kind k,
    const char *name, const char *const *facts, size_t n, int64_t now)
{
	const struct rs_obj *o;
	int before;

	if (!valid_name(name))
		return;
	if (w != NULL) {
		/*
		 * The watch session's own readings are the truth it keeps:
		 * a registrar may see less (another sponsor's domain), so
		 * its reply only says which objects to watch.
		 */
		if (k == RS_DOMAIN && regstate_get(w->rs, k, name) == NULL &&
		    watched_domain(w, name))
			(void)enqueue(w, k, name, "seen", 0, NULL, NULL);
		return;
	}
	o = regstate_get(rs, k, name);
	before = k == RS_DOMAIN && o != NULL && status_locked(o);
	if (regstate_put(rs, k, name, facts, n, now, NULL) == 0 &&
	    k == RS_DOMAIN)
		log_status_lock(name, before, regstate_get(rs, k, name));
}

json_t *
watch_drift_json(const struct watch *w)
{
	return w != NULL ? json_deep_copy(w->drift) : json_array();
}

json_t *
watch_state_json(const struct watch *w, const struct regstate *rs,
    const char *name)
{
	const struct rs_obj *o = regstate_get(rs, RS_DOMAIN, name);
	json_t *facts, *j;

	if (o == NULL && (o = regstate_get(rs, RS_HOST, name)) == NULL)
		return NULL;
	if ((facts = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < rs_obj_nfacts(o); i++)
		json_array_append_new(facts, json_string(rs_obj_fact(o, i)));
	j = json_pack("{s:s, s:s, s:o, s:I, s:b, s:b}", "object",
	    rs_obj_name(o), "kind", rs_obj_kind(o) == RS_DOMAIN ? "domain" :
	    "host", "facts", facts, "refreshed",
	    (json_int_t)rs_obj_refreshed(o), "watched", rs_obj_pinned(o),
	    "session_up", watch_ready(w));
	return j;
}

void
watch_metrics(const struct watch *w, const struct regstate *rs,
    struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP eppgw_state_objects Objects in the "
	    "registry state store.\n# TYPE eppgw_state_objects gauge\n"
	    "eppgw_state_objects %zu\n"
	    "# HELP eppgw_state_objects_max Its bound (state_max).\n"
	    "# TYPE eppgw_state_objects_max gauge\n"
	    "eppgw_state_objects_max %zu\n", regstate_count(rs),
	    regstate_max(rs));
	if (w == NULL)
		return;
	evbuffer_add_printf(out, "# HELP eppgw_watch_up 1 while the watch "
	    "session is logged in.\n# TYPE eppgw_watch_up gauge\n"
	    "eppgw_watch_up %d\n"
	    "# HELP eppgw_watch_logins_total Watch session logins.\n"
	    "# TYPE eppgw_watch_logins_total counter\n"
	    "eppgw_watch_logins_total %llu\n"
	    "# HELP eppgw_watch_readings_total Objects read from the "
	    "registry.\n# TYPE eppgw_watch_readings_total counter\n"
	    "eppgw_watch_readings_total %llu\n"
	    "# HELP eppgw_watch_errors_total Lost sessions and error "
	    "replies.\n# TYPE eppgw_watch_errors_total counter\n"
	    "eppgw_watch_errors_total %llu\n"
	    "# HELP eppgw_watch_queue Readings waiting.\n"
	    "# TYPE eppgw_watch_queue gauge\neppgw_watch_queue %zu\n"
	    "# HELP eppgw_drift_total Changes at the registry no command "
	    "through the gateway explains.\n"
	    "# TYPE eppgw_drift_total counter\neppgw_drift_total %llu\n",
	    w->state == W_READY, (unsigned long long)w->nlogins,
	    (unsigned long long)w->nreadings, (unsigned long long)w->nerrors,
	    w->nqueued, (unsigned long long)w->ndrift);
}
