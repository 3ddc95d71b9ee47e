/*
 * metrics.h: Prometheus text-format metrics on a loopback HTTP listener.
 *
 * Counters are bumped by the proxy, sessions and the admin API; GET
 * /metrics renders them.  Labels come from fixed vocabularies (command
 * names, decisions, result codes): never a domain name, a clID or any other
 * string a client chose.
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

void metrics_session_opened(struct metrics *m);
void metrics_session_closed(struct metrics *m);
void metrics_handshake_failed(struct metrics *m);
/* cmd such as "domain:update"; decision "allow", "approval_required"... */
void metrics_command(struct metrics *m, const char *cmd, const char *decision);
void metrics_reply(struct metrics *m, const char *src, int code);
void metrics_upstream_error(struct metrics *m);
void metrics_approval(struct metrics *m, const char *result);
void metrics_audit_failure(struct metrics *m);

/* Extra lines from other modules (alerts, audit), appended on scrape. */
void metrics_set_extra(struct metrics *m,
    void (*fn)(void *arg, struct evbuffer *out), void *arg);

#endif
