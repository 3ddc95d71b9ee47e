/*
 * test_ipc.c: the message layer between eppgw's processes (ipc.h).
 *
 * What the processes rely on: messages arrive whole, in order, with their
 * descriptors; anything malformed closes the channel (and only it); a
 * message bigger than the socket buffer still arrives; a sender never sees
 * its own channel's close callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "ipc.h"
#include "suites.h"

struct rx {
	struct event_base *base;
	int		 n;
	uint16_t	 types[64];
	uint32_t	 ids[64];
	size_t		 lens[64];
	int		 fds[64];
	uint8_t		*last;
	size_t		 last_len;
	int		 closed;
	char		 why[128];
	int		 stop_after;
	int		 free_in_cb;
	struct ipc	*self;
};

static void
rx_msg(struct ipc *c, const struct ipc_msg *m, void *arg)
{
	struct rx *r = arg;

	if (r->n < 64) {
		r->types[r->n] = m->type;
		r->ids[r->n] = m->id;
		r->lens[r->n] = m->len;
		r->fds[r->n] = m->fd;
	} else if (m->fd != -1)
		close(m->fd);
	r->n++;
	free(r->last);
	r->last = malloc(m->len + 1);
	memcpy(r->last, m->data, m->len);
	r->last_len = m->len;
	if (r->free_in_cb) {
		ipc_free(c);
		r->self = NULL;
		event_base_loopbreak(r->base);
		return;
	}
	if (r->stop_after && r->n >= r->stop_after)
		event_base_loopbreak(r->base);
}

static void
rx_closed(struct ipc *c, const char *why, void *arg)
{
	struct rx *r = arg;

	r->closed++;
	snprintf(r->why, sizeof(r->why), "%s", why);
	ipc_free(c);
	r->self = NULL;
	event_base_loopbreak(r->base);
}

static void
run(struct event_base *base)
{
	struct timeval tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

START_TEST(in_order_with_ids)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a, *b;
	int fds[2];

	ck_assert_int_eq(ipc_pair(fds), 0);
	r.base = base;
	r.stop_after = 20;
	a = ipc_new(base, fds[0], "a", 0, rx_msg, rx_closed, &r);
	b = ipc_new(base, fds[1], "b", 0, rx_msg, rx_closed, &r);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (uint32_t i = 0; i < 20; i++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "msg %u", i);

		ck_assert_int_eq(ipc_send(a, IPC_ALERT, i + 100, buf,
		    (size_t)n, -1), 0);
	}
	run(base);
	ck_assert_int_eq(r.n, 20);
	for (int i = 0; i < 20; i++) {
		ck_assert_uint_eq(r.types[i], IPC_ALERT);
		ck_assert_uint_eq(r.ids[i], (uint32_t)i + 100);
		ck_assert_int_eq(r.fds[i], -1);
	}
	ck_assert_mem_eq(r.last, "msg 19", 6);
	ipc_free(a);
	ipc_free(b);
	free(r.last);
	event_base_free(base);
}
END_TEST

/* Bigger than any socket buffer: queued, written as the peer reads. */
START_TEST(large_message)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a, *b;
	size_t len = 5u << 20;
	uint8_t *big = malloc(len);
	int fds[2];

	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(ipc_pair(fds), 0);
	r.base = base;
	r.stop_after = 2;
	a = ipc_new(base, fds[0], "a", 0, rx_msg, rx_closed, &r);
	b = ipc_new(base, fds[1], "b", 0, rx_msg, rx_closed, &r);
	ck_assert_int_eq(ipc_send(a, IPC_STATE_SAVE, 1, big, len, -1), 0);
	ck_assert_int_eq(ipc_send(a, IPC_STATE_SAVE, 2, "x", 1, -1), 0);
	run(base);
	ck_assert_int_eq(r.n, 2);
	ck_assert_uint_eq(r.lens[0], len);
	ck_assert_uint_eq(r.lens[1], 1);
	ipc_free(a);
	ipc_free(b);
	free(r.last);
	free(big);
	event_base_free(base);
}
END_TEST

/* Descriptors travel with their own message, even between others. */
START_TEST(descriptors)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a, *b;
	int fds[2], p[2];
	char buf[8] = "";

	ck_assert_int_eq(ipc_pair(fds), 0);
	ck_assert_int_eq(pipe(p), 0);
	r.base = base;
	r.stop_after = 3;
	a = ipc_new(base, fds[0], "a", 0, rx_msg, rx_closed, &r);
	b = ipc_new(base, fds[1], "b", 0, rx_msg, rx_closed, &r);
	ck_assert_int_eq(ipc_send(a, IPC_READY, 1, NULL, 0, -1), 0);
	ck_assert_int_eq(ipc_send(a, IPC_PEER, 2, "{}", 2, p[1]), 0);
	ck_assert_int_eq(ipc_send(a, IPC_READY, 3, NULL, 0, -1), 0);
	close(p[1]);	/* the sender keeps its own copy only until sent */
	run(base);
	ck_assert_int_eq(r.n, 3);
	ck_assert_int_eq(r.fds[0], -1);
	ck_assert_int_ne(r.fds[1], -1);
	ck_assert_int_eq(r.fds[2], -1);
	/* The descriptor received is the pipe's write end. */
	ck_assert_int_eq(write(r.fds[1], "hi", 2), 2);
	close(r.fds[1]);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "hi", 2);
	close(p[0]);
	ipc_free(a);
	ipc_free(b);
	free(r.last);
	event_base_free(base);
}
END_TEST

/*
 * Batching: nothing is written until the loop runs, then many messages go
 * out together, in order, each descriptor with its own message, a large
 * one whole.
 */
START_TEST(batched_in_order_with_descriptors)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a, *b;
	int fds[2], p[2];
	uint8_t peek;
	size_t big = 300000;
	uint8_t *blob = calloc(1, big);

	ck_assert_int_eq(ipc_pair(fds), 0);
	ck_assert_int_eq(pipe(p), 0);
	r.base = base;
	r.stop_after = 60;
	a = ipc_new(base, fds[0], "a", 0, rx_msg, rx_closed, &r);
	b = ipc_new(base, fds[1], "b", 0, rx_msg, rx_closed, &r);
	ipc_set_batching(a, 1);
	for (uint32_t i = 0; i < 60; i++) {
		int fd = i == 0 || i == 31 || i == 59 ? p[1] : -1;

		if (i == 40)
			ck_assert_int_eq(ipc_send(a, IPC_STATE_SAVE, i, blob,
			    big, -1), 0);
		else
			ck_assert_int_eq(ipc_send(a, fd != -1 ? IPC_PEER :
			    IPC_ALERT, i, "x", 1, fd), 0);
	}
	/* Queued, not written: the peer has nothing yet. */
	ck_assert_int_eq(recv(fds[1], &peek, 1, MSG_PEEK | MSG_DONTWAIT), -1);
	run(base);
	ck_assert_msg(r.n == 60, "%d received, closed %d (%s)", r.n, r.closed,
	    r.why);
	for (int i = 0; i < 60; i++) {
		ck_assert_uint_eq(r.ids[i], (uint32_t)i);
		ck_assert_uint_eq(r.lens[i], i == 40 ? big : 1);
		if (i == 0 || i == 31 || i == 59) {
			ck_assert_int_ne(r.fds[i], -1);
			close(r.fds[i]);
		} else
			ck_assert_int_eq(r.fds[i], -1);
	}
	close(p[0]);
	close(p[1]);
	ipc_free(a);
	ipc_free(b);
	free(r.last);
	free(blob);
	event_base_free(base);
}
END_TEST

/* Raw bytes on the socket, as a broken or hostile peer would send. */
static void
malformed(const uint8_t *bytes, size_t len, size_t max, const char *why)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	int fds[2];

	ck_assert_int_eq(ipc_pair(fds), 0);
	r.base = base;
	r.self = ipc_new(base, fds[1], "b", max, rx_msg, rx_closed, &r);
	ck_assert_int_eq(write(fds[0], bytes, len), (ssize_t)len);
	run(base);
	ck_assert_int_eq(r.n, 0);
	ck_assert_int_eq(r.closed, 1);
	ck_assert_msg(strstr(r.why, why) != NULL, "why: %s", r.why);
	close(fds[0]);
	free(r.last);
	event_base_free(base);
}

START_TEST(malformed_closes)
{
	/* len 5, type 0 */
	static const uint8_t none[] = { 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	/* type past the last */
	static const uint8_t high[] = { 0, 0, 0, 0, IPC_TYPE_MAX, 0, 0, 0,
	    0, 0, 0, 0 };
	/* unknown flag */
	static const uint8_t flag[] = { 0, 0, 0, 0, IPC_ALERT, 0, 2, 0, 0,
	    0, 0, 0 };
	/* over the channel's maximum (1024) */
	static const uint8_t big[] = { 1, 4, 0, 0, IPC_ALERT, 0, 0, 0, 0,
	    0, 0, 0 };
	/* claims a descriptor it does not carry */
	static const uint8_t nofd[] = { 0, 0, 0, 0, IPC_PEER, 0, 1, 0, 0,
	    0, 0, 0 };

	malformed(none, sizeof(none), 0, "malformed");
	malformed(high, sizeof(high), 0, "malformed");
	malformed(flag, sizeof(flag), 0, "malformed");
	malformed(big, sizeof(big), 1024, "malformed");
	malformed(nofd, sizeof(nofd), 0, "descriptor");
	{
		/* IPC_PEER without its descriptor flag; a descriptor flag
		 * on any other type. */
		static const uint8_t bare[] = { 0, 0, 0, 0, IPC_PEER, 0, 0,
		    0, 0, 0, 0, 0 };
		static const uint8_t other[] = { 0, 0, 0, 0, IPC_STATS, 0, 1,
		    0, 0, 0, 0, 0 };

		malformed(bare, sizeof(bare), 0, "malformed");
		malformed(other, sizeof(other), 0, "malformed");
	}
}
END_TEST

START_TEST(json_payloads)
{
	struct ipc_msg m;
	const uint8_t *raw;
	size_t rawlen;
	json_t *j;
	static const uint8_t with_raw[] = "{\"a\":1}\0RAW\0X";

	memset(&m, 0, sizeof(m));
	m.data = with_raw;
	m.len = sizeof(with_raw) - 1;
	j = ipc_msg_json(&m, &raw, &rawlen);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "a")), 1);
	ck_assert_uint_eq(rawlen, 5);
	ck_assert_mem_eq(raw, "RAW\0X", 5);
	json_decref(j);
	/* Not an object, duplicate keys, trailing junk: refused. */
	m.data = (const uint8_t *)"[1]";
	m.len = 3;
	ck_assert_ptr_null(ipc_msg_json(&m, NULL, NULL));
	m.data = (const uint8_t *)"{\"a\":1,\"a\":2}";
	m.len = strlen((const char *)m.data);
	ck_assert_ptr_null(ipc_msg_json(&m, NULL, NULL));
	m.data = (const uint8_t *)"{\"a\":1} x";
	m.len = strlen((const char *)m.data);
	ck_assert_ptr_null(ipc_msg_json(&m, NULL, NULL));
}
END_TEST

/*
 * A peer that has gone: sending fails or is dropped, the close callback
 * runs from the event loop (never inside ipc_send), and a handler may
 * free its channel.
 */
START_TEST(peer_gone)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a;
	int fds[2];
	uint8_t *buf = calloc(1, 1 << 20);

	ck_assert_int_eq(ipc_pair(fds), 0);
	r.base = base;
	a = ipc_new(base, fds[0], "a", 0, rx_msg, rx_closed, &r);
	r.self = a;
	close(fds[1]);
	(void)ipc_send(a, IPC_ALERT, 1, buf, 1 << 20, -1);
	ck_assert_int_eq(r.closed, 0);	/* not from inside the send */
	run(base);
	ck_assert_int_eq(r.closed, 1);
	ck_assert_ptr_null(r.self);
	free(buf);
	free(r.last);
	event_base_free(base);
}
END_TEST

START_TEST(free_inside_handler)
{
	struct event_base *base = event_base_new();
	struct rx r = { 0 };
	struct ipc *a, *b;
	int fds[2];

	ck_assert_int_eq(ipc_pair(fds), 0);
	r.base = base;
	r.free_in_cb = 1;
	a = ipc_new(base, fds[0], "a", 0, NULL, NULL, NULL);
	b = ipc_new(base, fds[1], "b", 0, rx_msg, rx_closed, &r);
	r.self = b;
	/* Two messages in one read: the second must not be dispatched on
	 * a freed channel. */
	ck_assert_int_eq(ipc_send(a, IPC_ALERT, 1, "1", 1, -1), 0);
	ck_assert_int_eq(ipc_send(a, IPC_ALERT, 2, "2", 1, -1), 0);
	run(base);
	ck_assert_int_eq(r.n, 1);
	ipc_free(a);
	free(r.last);
	event_base_free(base);
}
END_TEST

/* A peer that stops reading cannot make the sender queue without bound. */
START_TEST(bounded_queue)
{
	struct event_base *base = event_base_new();
	struct ipc *a;
	size_t len = 4u << 20;
	uint8_t *buf = calloc(1, len);
	int fds[2], sent = 0;

	ck_assert_int_eq(ipc_pair(fds), 0);
	a = ipc_new(base, fds[0], "a", 0, NULL, NULL, NULL);
	while (sent < 64 && ipc_send(a, IPC_STATE_SAVE, 1, buf, len, -1) == 0)
		sent++;
	/* 64 MiB queued at most (a little more is in the socket buffer). */
	ck_assert_int_ge(sent, 15);
	ck_assert_int_le(sent, 17);
	ck_assert_int_eq(ipc_alive(a), 1);
	ipc_free(a);
	close(fds[1]);
	free(buf);
	event_base_free(base);
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("ipc");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, in_order_with_ids);
	tcase_add_test(tc, large_message);
	tcase_add_test(tc, descriptors);
	tcase_add_test(tc, batched_in_order_with_descriptors);
	tcase_add_test(tc, malformed_closes);
	tcase_add_test(tc, json_payloads);
	tcase_add_test(tc, peer_gone);
	tcase_add_test(tc, free_inside_handler);
	tcase_add_test(tc, bounded_queue);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(ipc_suite)
