/*
 * metrics.h: a registry of Prometheus series and the loopback HTTP
 * listener that serves them.
 *
 * The registry knows no series of its own: each module that counts
 * registers its counters, gauges and labelled families when it is made
 * (sessions: session.h; approvals: admin.h) and keeps the handles it bumps.
 * GET /metrics renders them in the order they were registered.  Labels
 * come from fixed vocabularies (command names, decisions, result codes):
 * never a domain name, a clID or any other string a client chose.
 */
#ifndef EPPGW_METRICS_H
#define EPPGW_METRICS_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/buffer.h>

struct err;
struct metrics;
struct sockaddr_cfg;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Serve GET /metrics on fd, a bound listening socket (taken, also on
 * failure).  -1 with e filled (err.h). */
int metrics_listen(struct metrics *m, struct event_base *base, int fd,
    struct err *e);

/*
 * This process's figures as Prometheus text.  The daemon's page is the
 * sum of every process's (promsum.h), put together by the parent: a
 * worker serving /metrics asks for it through its source (set with
 * metrics_set_source) and answers with metrics_serve (text NULL: 503).
 */
void metrics_render(struct metrics *m, struct evbuffer *out);
struct evhttp_request;
void metrics_set_source(struct metrics *m,
    void (*fn)(void *arg, struct evhttp_request *req), void *arg);
void metrics_serve(struct evhttp_request *req, const char *text, size_t len);
/* A retiring worker leaves the listener to the new one. */
void metrics_stop_listening(struct metrics *m);

/*
 * Registering a series: name and help (and label names) are kept by
 * reference, so they must outlive m (string literals).  A family is a
 * counter with one or two labels (label2 NULL: one); it holds at most
 * 256 label values (MAX_SERIES), and bumps of a value beyond those are only
 * counted (metric_overflow).  NULL when out of memory; every bump of a
 * NULL handle does nothing, so a module need not check each one.
 */
struct metric;
struct metric *metrics_counter(struct metrics *m, const char *name,
    const char *help);
struct metric *metrics_gauge(struct metrics *m, const char *name,
    const char *help);
struct metric *metrics_family(struct metrics *m, const char *name,
    const char *help, const char *label1, const char *label2);

/* Counters and gauges; a gauge never goes below zero. */
void metric_inc(struct metric *mt);
void metric_dec(struct metric *mt);
/* One more in a family's series labelled a and b (NULL: ""; ignored in
 * a one-label family). */
void metric_inc_labels(struct metric *mt, const char *a, const char *b);
/* Bumps of a family that found no room for a new series. */
unsigned long long metric_overflow(const struct metric *mt);

/* Extra lines from other modules (alerts, audit), appended on scrape. */
void metrics_set_extra(struct metrics *m,
    void (*fn)(void *arg, struct evbuffer *out), void *arg);

#endif
