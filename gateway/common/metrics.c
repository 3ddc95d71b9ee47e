/*
 * metrics.c: counters and the Prometheus text exposition (metrics.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "config.h"
#include "err.h"
#include "metrics.h"

#define MAX_SERIES	256
#define LABEL_MAX	40

struct series {
	char		 label1[LABEL_MAX];	/* first label value */
	char		 label2[LABEL_MAX];	/* second label value, or "" */
	uint64_t	 count;
};

struct family {
	struct series	 series[MAX_SERIES];
	size_t		 nseries;
	uint64_t	 overflow;	/* series beyond MAX_SERIES */
};

struct metrics {
	uint64_t	 sessions_open;
	uint64_t	 sessions_total;
	uint64_t	 handshake_failures;
	uint64_t	 upstream_errors;
	uint64_t	 audit_failures;
	struct family	 commands;	/* command, decision */
	struct family	 replies;	/* src, code */
	struct family	 approvals;	/* result */
	struct evhttp	*http;
	void		(*extra)(void *, struct evbuffer *);
	void		*extra_arg;
	void		(*source)(void *, struct evhttp_request *);
	void		*source_arg;
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	free(m);
}

/* Label values are ours, but keep them printable and short anyway. */
static void
label_copy(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i < LABEL_MAX - 1; i++)
		dst[i] = (src[i] == '"' || src[i] == '\\' ||
		    (unsigned char)src[i] < 0x20) ? '_' : src[i];
	dst[i] = '\0';
}

/* One more in f's series labelled a (and b, if not NULL). */
static void
count_series(struct family *f, const char *a, const char *b)
{
	char la[LABEL_MAX], lb[LABEL_MAX];

	label_copy(la, a);
	label_copy(lb, b ? b : "");
	for (size_t i = 0; i < f->nseries; i++) {
		struct series *se = &f->series[i];

		if (strcmp(se->label1, la) == 0 &&
		    strcmp(se->label2, lb) == 0) {
			se->count++;
			return;
		}
	}
	if (f->nseries == MAX_SERIES) {
		f->overflow++;
		return;
	}
	memcpy(f->series[f->nseries].label1, la, sizeof(la));
	memcpy(f->series[f->nseries].label2, lb, sizeof(lb));
	f->series[f->nseries++].count = 1;
}

void
metrics_session_opened(struct metrics *m)
{
	if (m != NULL) {
		m->sessions_open++;
		m->sessions_total++;
	}
}

void
metrics_session_closed(struct metrics *m)
{
	if (m != NULL && m->sessions_open > 0)
		m->sessions_open--;
}

void
metrics_handshake_failed(struct metrics *m)
{
	if (m != NULL)
		m->handshake_failures++;
}

void
metrics_command(struct metrics *m, const char *cmd, const char *decision)
{
	if (m != NULL)
		count_series(&m->commands, cmd, decision);
}

void
metrics_reply(struct metrics *m, const char *src, int code)
{
	char c[16];

	if (m == NULL)
		return;
	if (code < 1000 || code > 2599)
		snprintf(c, sizeof(c), "none");
	else
		snprintf(c, sizeof(c), "%d", code);
	count_series(&m->replies, src, c);
}

void
metrics_upstream_error(struct metrics *m)
{
	if (m != NULL)
		m->upstream_errors++;
}

void
metrics_approval(struct metrics *m, const char *result)
{
	if (m != NULL)
		count_series(&m->approvals, result, NULL);
}

void
metrics_audit_failure(struct metrics *m)
{
	if (m != NULL)
		m->audit_failures++;
}

void
metrics_set_extra(struct metrics *m, void (*fn)(void *, struct evbuffer *),
    void *arg)
{
	m->extra = fn;
	m->extra_arg = arg;
}

static void
render_scalar(struct evbuffer *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
	    name, help, name, type, name, (unsigned long long)v);
}

static void
render_family(struct evbuffer *out, const struct family *f, const char *name,
    const char *help, const char *la, const char *lb)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name,
	    help, name);
	for (size_t i = 0; i < f->nseries; i++) {
		const struct series *se = &f->series[i];

		if (lb != NULL)
			evbuffer_add_printf(out,
			    "%s{%s=\"%s\",%s=\"%s\"} %llu\n",
			    name, la, se->label1, lb, se->label2,
			    (unsigned long long)se->count);
		else
			evbuffer_add_printf(out, "%s{%s=\"%s\"} %llu\n", name,
			    la, se->label1, (unsigned long long)se->count);
	}
}

void
metrics_render(struct metrics *m, struct evbuffer *out)
{
	render_scalar(out, "eppgw_sessions_open", "gauge",
	    "Registrar sessions open now.", m->sessions_open);
	render_scalar(out, "eppgw_sessions_total", "counter",
	    "Registrar sessions accepted.", m->sessions_total);
	render_scalar(out, "eppgw_handshake_failures_total", "counter",
	    "Registrar TLS handshakes refused or failed.",
	    m->handshake_failures);
	render_scalar(out, "eppgw_upstream_errors_total", "counter",
	    "Registry connections that failed or broke.", m->upstream_errors);
	render_scalar(out, "eppgw_audit_failures_total", "counter",
	    "Commands refused because the audit log failed.",
	    m->audit_failures);
	render_family(out, &m->commands, "eppgw_commands_total",
	    "Commands by type and decision.", "command", "decision");
	render_family(out, &m->replies, "eppgw_replies_total",
	    "Replies by source (registry or gateway) and result code.", "src",
	    "code");
	render_family(out, &m->approvals, "eppgw_approvals_total",
	    "Approval attempts by result.", "result", NULL);
	if (m->extra != NULL)
		m->extra(m->extra_arg, out);
}

void
metrics_serve(struct evhttp_request *req, const char *text, size_t len)
{
	if (text == NULL) {
		evhttp_send_error(req, 503, "figures unavailable");
		return;
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), text, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", NULL);
}

void
metrics_set_source(struct metrics *m,
    void (*fn)(void *arg, struct evhttp_request *req), void *arg)
{
	m->source = fn;
	m->source_arg = arg;
}

void
metrics_stop_listening(struct metrics *m)
{
	if (m->http != NULL)
		evhttp_free(m->http);
	m->http = NULL;
}

/* Every request to the metrics listener: GET /metrics, or 404. */
static void
serve_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *out;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    strncmp(evhttp_request_get_uri(req), "/metrics", 8) != 0) {
		evhttp_send_error(req, 404, "try /metrics");
		return;
	}
	if (m->source != NULL) {
		m->source(m->source_arg, req);	/* replies later */
		return;
	}
	out = evhttp_request_get_output_buffer(req);
	metrics_render(m, out);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", NULL);
}

int
metrics_listen(struct metrics *m, struct event_base *base, int fd,
    struct err *e)
{
	struct evconnlistener *l;

	if ((m->http = evhttp_new(base)) == NULL) {
		err_set(e, ERR_NOMEM, "metrics: cannot create the HTTP server");
		close(fd);
		return -1;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_gencb(m->http, serve_request, m);
	l = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l == NULL || evhttp_bind_listener(m->http, l) == NULL) {
		err_set(e, ERR_SYSTEM, "metrics: cannot serve: %s",
		    strerror(errno));
		if (l != NULL)
			evconnlistener_free(l);
		else
			close(fd);
		return -1;
	}
	return 0;
}
