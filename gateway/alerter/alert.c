/*
 * alert.c: signed webhook alerts over libcurl's multi interface, driven by
 * the daemon's libevent loop (see alert.h).
 *
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
 * when to wake it (CURLMOPT_TIMERFUNCTION); we turn those into libevent
 * events and hand readiness back with curl_multi_socket_action().  Nothing
 * here ever waits: alert_emit() appends to a bounded queue and activates a
 * "kick" event, and transfers start from that event's callback, at most
 * ALERT_MAX_INFLIGHT at a time.
 *
 * An alert lives in exactly one place: the pending queue, a transfer in
 * flight, or waiting on its own backoff timer.  "depth" counts all three,
 * and it is what queue_max bounds, so a dead receiver cannot make memory
 * grow.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alert.h"
#include "err.h"
#include "hex.h"
#include "log.h"

#define ALERT_MAX_INFLIGHT	4
#define ALERT_QUEUE_DEFAULT	1000
#define ALERT_RETRIES_DEFAULT	5
#define ALERT_TIMEOUT_DEFAULT	5000	/* ms */
#define ALERT_BACKOFF_DEFAULT	1000	/* ms */
#define ALERT_BACKOFF_MAX	60000	/* ms */
#define ALERT_SECRET_MAX	4096	/* bytes; a key file, not a blob */

struct alerter;

struct alert_item {
	TAILQ_ENTRY(alert_item)	 entry;		/* pending or waiting list */
	struct alerter		*a;
	char			*event;
	char			*body;		/* compact, sorted JSON */
	size_t			 bodylen;
	char			 ts[24];	/* unix seconds */
	char			 sig[80];	/* "sha256=<hex>" or "" */
	unsigned		 attempts;	/* made so far */
	CURL			*easy;		/* non-NULL while in flight */
	struct curl_slist	*hdrs;
	struct event		*retry_ev;	/* non-NULL while backing off */
	char			 errbuf[CURL_ERROR_SIZE];
};
TAILQ_HEAD(alert_list, alert_item);

/* One per socket libcurl asks us to watch (curl_multi_assign()). */
struct alert_sock {
	LIST_ENTRY(alert_sock)	 entry;
	struct alerter		*a;
	curl_socket_t		 fd;
	struct event		*ev;
};

struct alerter {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer_ev;	/* libcurl's timeout */
	struct event		*kick_ev;	/* start queued transfers */
	char			*url;
	char			*ca;
	unsigned char		*secret;
	size_t			 secretlen;
	unsigned		 queue_max, retries, timeout_ms, backoff_ms;

	struct alert_list	 pending;	/* not yet started */
	struct alert_list	 waiting;	/* backing off before a retry */
	struct alert_list	 inflight;
	unsigned		 ninflight;
	size_t			 depth;
	LIST_HEAD(, alert_sock)	 socks;
	int			 in_drop_cb;	/* see report_drop() */
	uint64_t		 dropped_mark;	/* st.dropped when the queue
						 * last filled up */
	int			 full;		/* dropping; logged once */

	struct alert_stats	 st;
	void			(*drop_cb)(void *, const char *, const char *);
	void			*drop_arg;
};

static void start_transfers(struct alerter *);

static void
item_free(struct alert_item *it)
{
	if (it == NULL)
		return;
	if (it->retry_ev != NULL)
		event_free(it->retry_ev);
	if (it->easy != NULL) {
		curl_multi_remove_handle(it->a->multi, it->easy);
		curl_easy_cleanup(it->easy);
	}
	curl_slist_free_all(it->hdrs);
	free(it->event);
	free(it->body);
	free(it);
}

/*
 * The daemon audits drops, and an audit failure is itself an alert: a
 * drop reported while we are already inside the callback is counted but
 * not reported again, so the two can never recurse.
 */
static void
report_drop(struct alerter *a, const char *event, const char *why)
{
	if (a->drop_cb == NULL || a->in_drop_cb)
		return;
	a->in_drop_cb = 1;
	a->drop_cb(a->drop_arg, event, why);
	a->in_drop_cb = 0;
}

/* --- libcurl <-> libevent glue ----------------------------------------- */

/* Collect finished transfers; decide sent, retry or failed. */
static void
check_done(struct alerter *a)
{
	struct alert_item *it;
	struct timeval tv;
	CURLMsg *msg;
	CURLcode res;
	long code = 0;
	unsigned delay;
	char why[CURL_ERROR_SIZE + 32];
	int left;
	char *p;

	while ((msg = curl_multi_info_read(a->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		res = msg->data.result;
		p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		it = (struct alert_item *)p;
		code = 0;
		curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(a->multi, it->easy);
		curl_easy_cleanup(it->easy);
		it->easy = NULL;
		curl_slist_free_all(it->hdrs);
		it->hdrs = NULL;
		TAILQ_REMOVE(&a->inflight, it, entry);
		a->ninflight--;
		it->attempts++;

		if (res == CURLE_OK && code >= 200 && code <= 299) {
			a->st.sent++;
			a->depth--;
			item_free(it);
			continue;
		}
		if (res != CURLE_OK)
			snprintf(why, sizeof(why), "%s", it->errbuf[0] != '\0' ?
			    it->errbuf : curl_easy_strerror(res));
		else
			snprintf(why, sizeof(why), "HTTP status %ld", code);

		if (it->attempts > a->retries) {
			/* The URL may carry credentials: never log it. */
			log_warn("alert %s: giving up after %u attempts: %s",
			    it->event, it->attempts, why);
			a->st.failed++;
			a->depth--;
			report_drop(a, it->event, "retries_exhausted");
			item_free(it);
			continue;
		}
		/* 1 s, 2 s, 4 s, ... (backoff_ms scales it), capped. */
		delay = a->backoff_ms;
		for (unsigned i = 1; i < it->attempts &&
		    delay < ALERT_BACKOFF_MAX; i++)
			delay *= 2;
		if (delay > ALERT_BACKOFF_MAX)
			delay = ALERT_BACKOFF_MAX;
		log_debug("alert %s: attempt %u failed (%s), retry in %u ms",
		    it->event, it->attempts, why, delay);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		TAILQ_INSERT_TAIL(&a->waiting, it, entry);
		evtimer_add(it->retry_ev, &tv);
	}
	start_transfers(a);
}

static void
on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct alerter *a = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(a->multi, fd, flags, &running);
	check_done(a);
}

static void
on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct alerter *a = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(a);
}

static void
sock_free(struct alert_sock *s)
{
	LIST_REMOVE(s, entry);
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget one socket. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct alerter *a = userp;
	struct alert_sock *s = sockp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(a->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->a = a;
		s->fd = fd;
		LIST_INSERT_HEAD(&a->socks, s, entry);
		curl_multi_assign(a->multi, fd, s);
	} else {
		/* Same socket, new interest: replace its event. */
		event_free(s->ev);
		s->ev = NULL;
	}
	if ((s->ev = event_new(a->base, fd, kind, on_sock_event, a)) == NULL ||
	    event_add(s->ev, NULL) != 0) {
		curl_multi_assign(a->multi, fd, NULL);
		sock_free(s);
		return -1;
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl must not be re-entered from here. */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct alerter *a = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(a->timer_ev);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(a->timer_ev, &tv) == 0 ? 0 : -1;
}

static size_t
discard_cb(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* --- transfers ---------------------------------------------------------- */

static int
add_header(struct curl_slist **l, const char *name, const char *value)
{
	struct curl_slist *n;
	char buf[256];

	if ((size_t)snprintf(buf, sizeof(buf), "%s: %s", name, value) >=
	    sizeof(buf))
		return -1;
	if ((n = curl_slist_append(*l, buf)) == NULL)
		return -1;
	*l = n;
	return 0;
}

static int
transfer_new(struct alerter *a, struct alert_item *it)
{
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return -1;
	it->easy = e;
	it->errbuf[0] = '\0';
	if (add_header(&it->hdrs, "Content-Type", "application/json") != 0 ||
	    add_header(&it->hdrs, "X-Eppgw-Timestamp", it->ts) != 0 ||
	    (it->sig[0] != '\0' &&
	    add_header(&it->hdrs, "X-Eppgw-Signature", it->sig) != 0) ||
	    /* No 100-continue round trip for bodies over 1 KiB. */
	    (it->hdrs = curl_slist_append(it->hdrs, "Expect:")) == NULL)
		return -1;

	curl_easy_setopt(e, CURLOPT_URL, a->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "eppgw");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	/* it->body outlives the transfer: no copy needed. */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)it->bodylen);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)it);
	if (a->ca != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, a->ca);
	return curl_multi_add_handle(a->multi, e) == CURLM_OK ? 0 : -1;
}

/* Move pending alerts into flight, oldest first, up to the limit. */
static void
start_transfers(struct alerter *a)
{
	struct alert_item *it;

	while (a->ninflight < ALERT_MAX_INFLIGHT &&
	    (it = TAILQ_FIRST(&a->pending)) != NULL) {
		TAILQ_REMOVE(&a->pending, it, entry);
		if (transfer_new(a, it) != 0) {
			/* Out of memory: no retry could do better. */
			log_err("alert %s: cannot start a transfer",
			    it->event);
			a->st.failed++;
			a->depth--;
			report_drop(a, it->event, "internal");
			item_free(it);
			continue;
		}
		TAILQ_INSERT_TAIL(&a->inflight, it, entry);
		a->ninflight++;
	}
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_transfers(arg);
}

/* The backoff is over: back to the head of the queue, it is the oldest. */
static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct alert_item *it = arg;
	struct alerter *a = it->a;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&a->waiting, it, entry);
	TAILQ_INSERT_HEAD(&a->pending, it, entry);
	a->st.retried++;
	start_transfers(a);
}

/* --- building an alert -------------------------------------------------- */

static int
sign_body(const struct alerter *a, struct alert_item *it)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n;

	if (a->secret == NULL) {
		it->sig[0] = '\0';
		return 0;
	}
	if (HMAC(EVP_sha256(), a->secret, (int)a->secretlen,
	    (const unsigned char *)it->body, it->bodylen, md, &mdlen) == NULL ||
	    mdlen != 32)
		return -1;
	n = snprintf(it->sig, sizeof(it->sig), "sha256=");
	hex_encode(md, mdlen, it->sig + n);
	return 0;
}

static struct alert_item *
item_new(struct alerter *a, const char *event, json_t *fields)
{
	struct alert_item *it = NULL;
	struct timespec now;
	struct tm tm;
	char rfc[32];

	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(rfc, sizeof(rfc), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		goto fail;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		goto fail;
	it->a = a;
	snprintf(it->ts, sizeof(it->ts), "%lld", (long long)now.tv_sec);
	if ((it->event = strdup(event)) == NULL ||
	    json_object_set_new(fields, "event", json_string(event)) != 0 ||
	    json_object_set_new(fields, "time", json_string(rfc)) != 0 ||
	    (it->body = json_dumps(fields,
	    JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto fail;
	it->bodylen = strlen(it->body);
	if (sign_body(a, it) != 0 ||
	    (it->retry_ev = evtimer_new(a->base, on_retry, it)) == NULL)
		goto fail;
	return it;
 fail:
	item_free(it);
	return NULL;
}

void
alert_emit(struct alerter *a, const char *event, json_t *fields)
{
	struct alert_item *it;

	if (fields == NULL)
		fields = json_object();
	if (a == NULL || event == NULL || !json_is_object(fields))
		goto out;
	if (a->depth >= a->queue_max) {
		/* One log line per overflow episode, not one per alert. */
		if (!a->full) {
			log_warn("alert queue full (%u): dropping alerts",
			    a->queue_max);
			a->full = 1;
			a->dropped_mark = a->st.dropped;
		}
		a->st.dropped++;
		report_drop(a, event, "queue_full");
		goto out;
	}
	if (a->full) {
		log_warn("alert queue accepting again after %llu dropped",
		    (unsigned long long)(a->st.dropped - a->dropped_mark));
		a->full = 0;
	}
	if ((it = item_new(a, event, fields)) == NULL) {
		a->st.dropped++;
		log_err("alert %s: out of memory, dropped", event);
		report_drop(a, event, "internal");
		goto out;
	}
	TAILQ_INSERT_TAIL(&a->pending, it, entry);
	a->depth++;
	a->st.queued++;
	/* Transfers start from the loop, never inside the caller. */
	event_active(a->kick_ev, EV_TIMEOUT, 0);
 out:
	json_decref(fields);
}

/* --- set-up ------------------------------------------------------------- */

/* The HMAC key: a regular file nobody else may read. */
static int
load_secret(struct alerter *a, const char *path, struct err *e)
{
	unsigned char buf[ALERT_SECRET_MAX + 1];
	struct stat sb;
	ssize_t n;
	size_t len = 0;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode)) {
		err_set(e, ERR_INVALID, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((sb.st_mode & 077) != 0) {
		err_set(e, ERR_INVALID, "%s: bad permissions %04o (want 0600 "
		    "or stricter)", path, (unsigned)(sb.st_mode & 07777));
		goto cleanup;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, ERR_SYSTEM, "%s: %s", path,
			    strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > ALERT_SECRET_MAX) {
		err_set(e, ERR_LIMIT, "%s: longer than %d bytes", path,
		    ALERT_SECRET_MAX);
		goto cleanup;
	}
	/* Editors add a newline; it is not part of the key. */
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		err_set(e, ERR_INVALID, "%s: empty secret", path);
		goto cleanup;
	}
	if ((a->secret = malloc(len)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	memcpy(a->secret, buf, len);
	a->secretlen = len;
	r = 0;
 cleanup:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

static int
url_ok(const char *url)
{
	return url != NULL && (strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0) && strpbrk(url, " \r\n") ==
	    NULL;
}

/*
 * curl_global_init() is reference counted by libcurl, so each alerter
 * takes one reference here and gives it back in alerter_free(); the daemon
 * is single-threaded, which is what libcurl asks of these two calls.
 */
int
alerter_open(struct event_base *base, const struct alert_conf *o,
    const struct alert_env *env, struct alerter **out, struct err *e)
{
	struct alerter *a = NULL;
	int curl_inited = 0;

	*out = NULL;
	if (!url_ok(o->url))
		return err_set(e, ERR_INVALID,
		    "alert URL must be http:// or https://");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_CRYPTO, "cannot initialise libcurl");
	curl_inited = 1;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	a->base = base;
	TAILQ_INIT(&a->pending);
	TAILQ_INIT(&a->waiting);
	TAILQ_INIT(&a->inflight);
	LIST_INIT(&a->socks);
	a->queue_max = o->queue_max ? o->queue_max : ALERT_QUEUE_DEFAULT;
	a->retries = o->retries == ALERT_NO_RETRY ? 0 :
	    o->retries ? o->retries : ALERT_RETRIES_DEFAULT;
	a->timeout_ms = o->timeout_ms ? o->timeout_ms : ALERT_TIMEOUT_DEFAULT;
	a->backoff_ms = env != NULL && env->backoff_ms ? env->backoff_ms :
	    ALERT_BACKOFF_DEFAULT;
	if (a->backoff_ms > ALERT_BACKOFF_MAX)
		a->backoff_ms = ALERT_BACKOFF_MAX;
	if ((a->url = strdup(o->url)) == NULL ||
	    (o->ca != NULL && (a->ca = strdup(o->ca)) == NULL)) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (o->secret_path != NULL) {
		if (load_secret(a, o->secret_path, e) != 0)
			goto fail;
	} else
		log_warn("alerts are not signed: no alert secret configured");

	if ((a->timer_ev = evtimer_new(base, on_curl_timer, a)) == NULL ||
	    (a->kick_ev = event_new(base, -1, 0, on_kick, a)) == NULL ||
	    (a->multi = curl_multi_init()) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)ALERT_MAX_INFLIGHT);
	*out = a;
	return 0;
 fail:
	if (a != NULL)
		alerter_free(a);
	else if (curl_inited)
		curl_global_cleanup();
	return -1;
}

static void
free_list(struct alert_list *l)
{
	struct alert_item *it;

	while ((it = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, it, entry);
		item_free(it);
	}
}

void
alerter_free(struct alerter *a)
{
	struct alert_sock *s, *next;

	if (a == NULL)
		return;
	free_list(&a->inflight);	/* removes the easy handles */
	free_list(&a->waiting);
	free_list(&a->pending);
	if (a->multi != NULL)
		curl_multi_cleanup(a->multi);
	/* Sockets libcurl closed without telling us. */
	for (s = LIST_FIRST(&a->socks); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		sock_free(s);
	}
	if (a->timer_ev != NULL)
		event_free(a->timer_ev);
	if (a->kick_ev != NULL)
		event_free(a->kick_ev);
	if (a->secret != NULL) {
		OPENSSL_cleanse(a->secret, a->secretlen);
		free(a->secret);
	}
	free(a->url);
	free(a->ca);
	free(a);
	curl_global_cleanup();
}

void
alerter_stats(const struct alerter *a, struct alert_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (a == NULL)
		return;
	*st = a->st;
	st->depth = a->depth;
}

void
alerter_set_drop_cb(struct alerter *a,
    void (*cb)(void *arg, const char *event, const char *why), void *arg)
{
	a->drop_cb = cb;
	a->drop_arg = arg;
}

/* [alerts]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct alert_conf, m)
const struct conf_keyword alert_keywords[] = {
	{ "url", KW_SECRET, F(url), 0, NULL, 8, 1000 },
	{ "secret", KW_PATH, F(secret_path), 0, NULL, 0, 0 },
	{ "ca", KW_PATH, F(ca), 0, NULL, 0, 0 },
	{ "queue_max", KW_UINT, F(queue_max), 0, "1000", 1, 1000000 },
	{ "retries", KW_UINT, F(retries), 0, "5", 1, 20 },
	{ "timeout_ms", KW_UINT, F(timeout_ms), 0, "5000", 100, 60000 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
