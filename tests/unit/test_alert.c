/*
 * test_alert.c: webhook alerts against a tiny evhttp receiver running in
 * the same event loop: body fields, signature and timestamp, retries with
 * backoff, and that a dead or silent receiver costs the caller nothing
 * (alert_emit() timed, the event loop's own latency measured).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alert.h"
#include "err.h"
#include "suites.h"

#define SECRET		"s3cr3t-alert-key"
#define MAX_REQ		16

struct rx {
	struct evhttp	*http;
	int		 port;
	int		 status[MAX_REQ];	/* scripted replies; 0: 200 */
	int		 nreq;
	char		*body[MAX_REQ];
	char		*sig[MAX_REQ];
	char		*ts[MAX_REQ];
	char		*ua[MAX_REQ];
	char		*ctype[MAX_REQ];
	char		*headers[MAX_REQ];	/* all of them, one string */
};

struct drops {
	int		 n, queue_full, exhausted;
	char		 last_event[64];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static void
rx_handle(struct evhttp_request *req, void *arg)
{
	struct rx *rx = arg;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyval *kv;
	size_t len = evbuffer_get_length(in), hlen = 0;
	int i = rx->nreq, status;

	ck_assert_int_lt(i, MAX_REQ);
	rx->body[i] = calloc(1, len + 1);
	evbuffer_remove(in, rx->body[i], len);
	rx->sig[i] = dup_or_null(evhttp_find_header(h, "X-Eppgw-Signature"));
	rx->ts[i] = dup_or_null(evhttp_find_header(h, "X-Eppgw-Timestamp"));
	rx->ua[i] = dup_or_null(evhttp_find_header(h, "User-Agent"));
	rx->ctype[i] = dup_or_null(evhttp_find_header(h, "Content-Type"));
	rx->headers[i] = calloc(1, 4096);
	TAILQ_FOREACH(kv, h, next) {
		if (hlen < 4096)
			hlen += (size_t)snprintf(rx->headers[i] + hlen,
			    4096 - hlen, "%s: %s\n", kv->key, kv->value);
	}
	ck_assert_int_eq(evhttp_request_get_command(req), EVHTTP_REQ_POST);
	status = rx->status[i] ? rx->status[i] : 200;
	rx->nreq++;
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Nope", NULL);
}

static int
sock_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

static void
rx_start(struct event_base *base, struct rx *rx)
{
	struct evhttp_bound_socket *bs;

	memset(rx, 0, sizeof(*rx));
	ck_assert_ptr_nonnull(rx->http = evhttp_new(base));
	evhttp_set_gencb(rx->http, rx_handle, rx);
	ck_assert_ptr_nonnull(bs = evhttp_bind_socket_with_handle(rx->http,
	    "127.0.0.1", 0));
	rx->port = sock_port(evhttp_bound_socket_get_fd(bs));
}

static void
rx_free(struct rx *rx)
{
	for (int i = 0; i < MAX_REQ; i++) {
		free(rx->body[i]);
		free(rx->sig[i]);
		free(rx->ts[i]);
		free(rx->ua[i]);
		free(rx->ctype[i]);
		free(rx->headers[i]);
	}
	evhttp_free(rx->http);
}

/* A loopback port nobody listens on: connections are refused at once. */
static int
closed_port(void)
{
	struct sockaddr_in sin;
	int fd, port;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	port = sock_port(fd);
	close(fd);
	return port;
}

/* A listener that never accepts nor answers: every attempt times out. */
static int
silent_listener(int *portp)
{
	struct sockaddr_in sin;
	int fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	*portp = sock_port(fd);
	return fd;
}

static void
write_secret(char *path, size_t len, mode_t mode)
{
	char tmpl[] = "/tmp/eppgw-alert-test.XXXXXX";
	FILE *f;
	char *d;

	ck_assert_ptr_nonnull(d = mkdtemp(tmpl));
	snprintf(path, len, "%s/alert.secret", d);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(SECRET "\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
remove_secret(const char *path)
{
	char dir[256];

	unlink(path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path),
	    path);
	rmdir(dir);
}

static void
on_drop(void *arg, const char *event, const char *why)
{
	struct drops *d = arg;

	d->n++;
	if (strcmp(why, "queue_full") == 0)
		d->queue_full++;
	if (strcmp(why, "retries_exhausted") == 0)
		d->exhausted++;
	snprintf(d->last_event, sizeof(d->last_event), "%s", event);
}

/* Keeps EVLOOP_ONCE from sleeping forever, and measures loop latency. */
struct ticker {
	struct event	*ev;
	double		 due, max_late;
	int		 ticks;
};
#define TICK_MS	2

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ticker *t = arg;
	double now = now_ms();

	(void)fd;
	(void)what;
	if (t->due > 0 && now - t->due > t->max_late)
		t->max_late = now - t->due;
	t->due = now + TICK_MS;
	t->ticks++;
}

typedef int (*cond_fn)(void *);

/* Run the loop until cond(arg) or ms elapse; returns cond's last value. */
static int
run_until(struct event_base *base, cond_fn cond, void *arg, double ms,
    struct ticker *tp)
{
	struct timeval tv = { 0, TICK_MS * 1000 };
	struct ticker local = { 0 }, *t = tp ? tp : &local;
	double end = now_ms() + ms;
	int r;

	t->ev = event_new(base, -1, EV_PERSIST, on_tick, t);
	event_add(t->ev, &tv);
	while (!(r = cond != NULL && cond(arg)) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t->ev);
	return r;
}

struct want {
	struct rx		*rx;
	struct alerter		*a;
	int			 nreq;
	uint64_t		 sent, failed;
};

static int
got_requests(void *arg)
{
	struct want *w = arg;

	return w->rx->nreq >= w->nreq;
}

static int
settled(void *arg)
{
	struct want *w = arg;
	struct alert_stats st;

	alerter_stats(w->a, &st);
	return st.sent >= w->sent && st.failed >= w->failed && st.depth == 0;
}

static void
hmac_hex(const char *body, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), SECRET, strlen(SECRET),
	    (const unsigned char *)body, strlen(body), md, &mdlen));
	ck_assert_uint_eq(mdlen, 32);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
check_signed(struct rx *rx, int i)
{
	char hex[65], want[80];

	hmac_hex(rx->body[i], hex);
	snprintf(want, sizeof(want), "sha256=%s", hex);
	ck_assert_ptr_nonnull(rx->sig[i]);
	ck_assert_str_eq(rx->sig[i], want);
}

static struct alerter *
open_alerter(struct event_base *base, const char *url, const char *secret,
    unsigned qmax, unsigned retries, unsigned timeout_ms, unsigned backoff)
{
	struct alert_conf o = { 0 };
	struct alert_env env = { 0 };
	struct alerter *a;
	struct err e = ERR_INIT;

	o.url = (char *)url;
	o.secret_path = (char *)secret;
	o.queue_max = qmax;
	o.retries = retries;
	o.timeout_ms = timeout_ms;
	env.backoff_ms = backoff;
	if (alerter_open(base, &o, &env, &a, &e) != 0)
		ck_abort_msg("alerter_open: %s", err_msg(&e));
	return a;
}

START_TEST(test_delivery)
{
	struct event_base *base = event_base_new();
	struct alert_stats st;
	struct alerter *a;
	struct want w = { 0 };
	struct rx rx;
	json_t *f, *j, *v;
	char secret[256], url[64], *re_dump, tbuf[32];
	struct tm tm;
	time_t t;
	regex_t re;

	write_secret(secret, sizeof(secret), 0600);
	rx_start(base, &rx);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rx.port);
	a = open_alerter(base, url, secret, 0, 0, 2000, 0);

	f = json_pack("{s:s, s:[s,s], s:s, s:s, s:I, s:s}",
	    "object", "locked.example", "classes", "ns", "ds",
	    "change_id", "0123456789ab", "requester", "alice",
	    "audit_seq", (json_int_t)42, "leaf_hash", "00ff");
	alert_emit(a, "approval_required", f);
	alert_emit(a, "config_reload", NULL);
	/* Queued only: nothing reached the receiver yet. */
	ck_assert_int_eq(rx.nreq, 0);
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.queued, 2);
	ck_assert_uint_eq(st.depth, 2);

	w.rx = &rx;
	w.a = a;
	w.nreq = 2;
	w.sent = 2;
	ck_assert(run_until(base, got_requests, &w, 5000, NULL));
	ck_assert(run_until(base, settled, &w, 2000, NULL));

	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", REG_EXTENDED | REG_NOSUB), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(j = json_loads(rx.body[i], 0, NULL));
		/* Compact with sorted keys: a re-dump is byte-identical. */
		re_dump = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_str_eq(re_dump, rx.body[i]);
		free(re_dump);
		check_signed(&rx, i);
		ck_assert_ptr_nonnull(rx.ts[i]);
		ck_assert_str_eq(rx.ua[i], "eppgw");
		ck_assert_str_eq(rx.ctype[i], "application/json");
		/* The header and the body's "time" are the same instant. */
		t = (time_t)strtoll(rx.ts[i], NULL, 10);
		ck_assert(llabs((long long)(time(NULL) - t)) < 10);
		gmtime_r(&t, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		v = json_object_get(j, "time");
		ck_assert(json_is_string(v));
		ck_assert_int_eq(regexec(&re, json_string_value(v), 0, NULL,
		    0), 0);
		ck_assert_str_eq(json_string_value(v), tbuf);
		/* The secret is only ever a key. */
		ck_assert_ptr_null(strstr(rx.body[i], SECRET));
		ck_assert_ptr_null(strstr(rx.headers[i], SECRET));
		if (i == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "event")), "approval_required");
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "object")), "locked.example");
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "change_id")), "0123456789ab");
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "requester")), "alice");
			ck_assert_int_eq(json_integer_value(json_object_get(j,
			    "audit_seq")), 42);
			ck_assert_int_eq(json_array_size(json_object_get(j,
			    "classes")), 2);
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "event")), "config_reload");
			ck_assert_int_eq(json_object_size(j), 2);
		}
		json_decref(j);
	}
	regfree(&re);
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.sent, 2);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.retried, 0);
	ck_assert_uint_eq(st.dropped, 0);

	alerter_free(a);
	rx_free(&rx);
	event_base_free(base);
	remove_secret(secret);
}
END_TEST

/* 500, 500, then 200: delivered on the third attempt, same signed body. */
START_TEST(test_retry_then_ok)
{
	struct event_base *base = event_base_new();
	struct alert_stats st;
	struct alerter *a;
	struct want w = { 0 };
	struct drops d = { 0 };
	struct rx rx;
	char secret[256], url[64];
	double t0;

	write_secret(secret, sizeof(secret), 0400);
	rx_start(base, &rx);
	rx.status[0] = 500;
	rx.status[1] = 500;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", rx.port);
	a = open_alerter(base, url, secret, 0, 5, 2000, 50);
	alerter_set_drop_cb(a, on_drop, &d);

	t0 = now_ms();
	alert_emit(a, "operator_locked_out", json_pack("{s:s}",
	    "requester", "bob"));
	w.rx = &rx;
	w.a = a;
	w.sent = 1;
	ck_assert(run_until(base, settled, &w, 5000, NULL));
	/* Backoff 50 ms then 100 ms: not before 150 ms. */
	ck_assert(now_ms() - t0 >= 140);
	ck_assert_int_eq(rx.nreq, 3);
	for (int i = 0; i < 3; i++) {
		check_signed(&rx, i);
		ck_assert_str_eq(rx.body[i], rx.body[0]);
		ck_assert_str_eq(rx.ts[i], rx.ts[0]);
	}
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.sent, 1);
	ck_assert_uint_eq(st.retried, 2);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_int_eq(d.n, 0);

	alerter_free(a);
	rx_free(&rx);
	event_base_free(base);
	remove_secret(secret);
}
END_TEST

/* Always 500: retries used up, counted failed, the drop callback runs. */
START_TEST(test_retry_exhausted)
{
	struct event_base *base = event_base_new();
	struct alert_stats st;
	struct alerter *a;
	struct want w = { 0 };
	struct drops d = { 0 };
	struct rx rx;
	char url[64];

	rx_start(base, &rx);
	for (int i = 0; i < MAX_REQ; i++)
		rx.status[i] = 503;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", rx.port);
	a = open_alerter(base, url, NULL, 0, 2, 2000, 10);
	alerter_set_drop_cb(a, on_drop, &d);
	alert_emit(a, "audit_failure", NULL);
	w.a = a;
	w.failed = 1;
	ck_assert(run_until(base, settled, &w, 5000, NULL));
	ck_assert_int_eq(rx.nreq, 3);
	/* No secret configured: unsigned, but still timestamped. */
	ck_assert_ptr_null(rx.sig[0]);
	ck_assert_ptr_nonnull(rx.ts[0]);
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.retried, 2);
	ck_assert_uint_eq(st.sent, 0);
	ck_assert_int_eq(d.exhausted, 1);
	ck_assert_str_eq(d.last_event, "audit_failure");

	alerter_free(a);
	rx_free(&rx);
	event_base_free(base);
}
END_TEST

/*
 * A refused port: 1,000 emits cost next to nothing, the queue keeps
 * queue_max of them and drops (and reports) the rest, which then fail.
 */
START_TEST(test_dead_receiver)
{
	struct event_base *base = event_base_new();
	struct alert_stats st;
	struct alerter *a;
	struct ticker tk = { 0 };
	struct want w = { 0 };
	struct drops d = { 0 };
	char url[64];
	double t0, spent;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
	a = open_alerter(base, url, NULL, 16, 1, 1000, 10);
	alerter_set_drop_cb(a, on_drop, &d);

	t0 = now_ms();
	for (int i = 0; i < 1000; i++)
		alert_emit(a, "ticket_consumed", json_pack("{s:s, s:i}",
		    "object", "locked.example", "n", i));
	spent = now_ms() - t0;
	ck_assert_msg(spent < 50, "1000 alert_emit calls took %.1f ms", spent);

	alerter_stats(a, &st);
	ck_assert_uint_eq(st.queued, 16);
	ck_assert_uint_eq(st.dropped, 984);
	ck_assert_uint_eq(st.depth, 16);
	ck_assert_int_eq(d.queue_full, 984);

	w.a = a;
	w.failed = 16;
	ck_assert(run_until(base, settled, &w, 5000, &tk));
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.failed, 16);
	ck_assert_uint_eq(st.retried, 16);
	ck_assert_uint_eq(st.sent, 0);
	ck_assert_int_eq(d.exhausted, 16);
	ck_assert_msg(tk.max_late < 50, "loop stalled %.1f ms", tk.max_late);
	fprintf(stderr, "alert: refused port: 1000 emits %.2f ms, worst loop "
	    "delay %.2f ms\n", spent, tk.max_late);

	alerter_free(a);
	event_base_free(base);
}
END_TEST

/*
 * A receiver that never answers: the transfers hang until their timeout,
 * and the event loop (the EPP path) must stay responsive all along.
 */
START_TEST(test_silent_receiver)
{
	struct event_base *base = event_base_new();
	struct alert_stats st;
	struct alerter *a;
	struct ticker tk = { 0 };
	char url[64];
	double t0, spent;
	int fd, port;

	fd = silent_listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	a = open_alerter(base, url, NULL, 0, ALERT_NO_RETRY, 300, 0);

	t0 = now_ms();
	for (int i = 0; i < 1000; i++)
		alert_emit(a, "approval_granted", NULL);
	spent = now_ms() - t0;
	ck_assert_msg(spent < 50, "1000 alert_emit calls took %.1f ms", spent);

	/* Half a second of loop with 4 transfers stuck in flight. */
	run_until(base, NULL, NULL, 500, &tk);
	alerter_stats(a, &st);
	ck_assert_uint_eq(st.sent, 0);
	ck_assert_uint_le(st.failed, 8);	/* 300 ms per batch of 4 */
	ck_assert_int_gt(tk.ticks, 500 / TICK_MS / 4);
	ck_assert_msg(tk.max_late < 50, "loop stalled %.1f ms", tk.max_late);
	fprintf(stderr, "alert: silent receiver: 1000 emits %.2f ms, worst "
	    "loop delay %.2f ms over %d ticks\n", spent, tk.max_late, tk.ticks);

	/* Freeing with transfers in flight cancels them cleanly. */
	alerter_free(a);
	close(fd);
	event_base_free(base);
}
END_TEST

START_TEST(test_open_refusals)
{
	struct event_base *base = event_base_new();
	struct alert_conf o = { 0 };
	struct alerter *a = (struct alerter *)1;
	struct err e = ERR_INIT;
	char secret[256];

	write_secret(secret, sizeof(secret), 0644);
	o.url = "http://127.0.0.1:7003/";
	o.secret_path = secret;
	ck_assert_int_eq(alerter_open(base, &o, NULL, &a, &e), -1);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "permissions"));
	ck_assert_ptr_null(strstr(err_msg(&e), SECRET));
	ck_assert_int_eq(e.code, ERR_INVALID);

	ck_assert_int_eq(chmod(secret, 0640), 0);
	ck_assert_int_eq(alerter_open(base, &o, NULL, &a, &e), -1);

	ck_assert_int_eq(chmod(secret, 0600), 0);
	ck_assert_int_eq(alerter_open(base, &o, NULL, &a, &e), 0);
	alerter_free(a);

	o.url = "ftp://127.0.0.1/";
	ck_assert_int_eq(alerter_open(base, &o, NULL, &a, &e), -1);
	ck_assert_int_eq(e.code, ERR_INVALID);
	o.url = "http://127.0.0.1:7003/";
	o.secret_path = "/nonexistent/alert.secret";
	ck_assert_int_eq(alerter_open(base, &o, NULL, &a, &e), -1);
	ck_assert_int_eq(e.code, ERR_SYSTEM);

	remove_secret(secret);
	event_base_free(base);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("alert");

	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_delivery);
	tcase_add_test(tc, test_retry_then_ok);
	tcase_add_test(tc, test_retry_exhausted);
	tcase_add_test(tc, test_dead_receiver);
	tcase_add_test(tc, test_silent_receiver);
	tcase_add_test(tc, test_open_refusals);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(alert_suite)
