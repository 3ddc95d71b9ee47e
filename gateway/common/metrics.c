/*
 * metrics.c: the series registry and the Prometheus text exposition
 * (metrics.h).
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

/*
 * One registered series: a counter or gauge (label1 NULL), or a family of
 * labelled counters.  The family's series array is allocated at
 * registration, so bumping never allocates.
 */
struct metric {
	const char	*name;
	const char	*help;
	const char	*type;		/* "counter" or "gauge" */
	const char	*label1;	/* NULL: no labels */
	const char	*label2;	/* NULL: at most one */
	uint64_t	 count;		/* counter or gauge */
	struct series	*series;	/* family: MAX_SERIES of them */
	size_t		 nseries;
	uint64_t	 overflow;	/* bumps beyond MAX_SERIES */
	struct metric	*next;		/* in registration order */
};

struct metrics {
	struct metric	*head, **tail;
	struct evhttp	*http;
	void		(*extra)(void *, struct evbuffer *);
	void		*extra_arg;
	void		(*source)(void *, struct evhttp_request *);
	void		*source_arg;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) != NULL)
		m->tail = &m->head;
	return m;
}

void
metrics_free(struct metrics *m)
{
	struct metric *mt;

	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	while ((mt = m->head) != NULL) {
		m->head = mt->next;
		free(mt->series);
		free(mt);
	}
	free(m);
}

static struct metric *
add_metric(struct metrics *m, const char *name, const char *help,
    const char *type, const char *label1, const char *label2)
{
	struct metric *mt;

	if ((mt = calloc(1, sizeof(*mt))) == NULL)
		return NULL;
	if (label1 != NULL && (mt->series = calloc(MAX_SERIES,
	    sizeof(*mt->series))) == NULL) {
		free(mt);
		return NULL;
	}
	mt->name = name;
	mt->help = help;
	mt->type = type;
	mt->label1 = label1;
	mt->label2 = label1 != NULL ? label2 : NULL;
	*m->tail = mt;
	m->tail = &mt->next;
	return mt;
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help)
{
	return add_metric(m, name, help, "counter", NULL, NULL);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help)
{
	return add_metric(m, name, help, "gauge", NULL, NULL);
}

struct metric *
metrics_family(struct metrics *m, const char *name, const char *help,
    const char *label1, const char *label2)
{
	if (label1 == NULL)
		return NULL;
	return add_metric(m, name, help, "counter", label1, label2);
}

void
metric_inc(struct metric *mt)
{
	if (mt != NULL)
		mt->count++;
}

void
metric_dec(struct metric *mt)
{
	if (mt != NULL && mt->count > 0)
		mt->count--;
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

void
metric_inc_labels(struct metric *mt, const char *a, const char *b)
{
	char la[LABEL_MAX], lb[LABEL_MAX];

	if (mt == NULL || mt->series == NULL)
		return;
	label_copy(la, a);
	/* A one-label family has one series per a, whatever b says. */
	label_copy(lb, mt->label2 != NULL && b != NULL ? b : "");
	for (size_t i = 0; i < mt->nseries; i++) {
		struct series *se = &mt->series[i];

		if (strcmp(se->label1, la) == 0 &&
		    strcmp(se->label2, lb) == 0) {
			se->count++;
			return;
		}
	}
	if (mt->nseries == MAX_SERIES) {
		mt->overflow++;
		return;
	}
	memcpy(mt->series[mt->nseries].label1, la, sizeof(la));
	memcpy(mt->series[mt->nseries].label2, lb, sizeof(lb));
	mt->series[mt->nseries++].count = 1;
}

unsigned long long
metric_overflow(const struct metric *mt)
{
	return mt != NULL ? (unsigned long long)mt->overflow : 0;
}

void
metrics_set_extra(struct metrics *m, void (*fn)(void *, struct evbuffer *),
    void *arg)
{
	m->extra = fn;
	m->extra_arg = arg;
}

static void
render_metric(struct evbuffer *out, const struct metric *mt)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", mt->name,
	    mt->help, mt->name, mt->type);
	if (mt->series == NULL) {
		evbuffer_add_printf(out, "%s %llu\n", mt->name,
		    (unsigned long long)mt->count);
		return;
	}
	for (size_t i = 0; i < mt->nseries; i++) {
		const struct series *se = &mt->series[i];

		if (mt->label2 != NULL)
			evbuffer_add_printf(out,
			    "%s{%s=\"%s\",%s=\"%s\"} %llu\n",
			    mt->name, mt->label1, se->label1, mt->label2,
			    se->label2, (unsigned long long)se->count);
		else
			evbuffer_add_printf(out, "%s{%s=\"%s\"} %llu\n",
			    mt->name, mt->label1, se->label1,
			    (unsigned long long)se->count);
	}
}

void
metrics_render(struct metrics *m, struct evbuffer *out)
{
	for (const struct metric *mt = m->head; mt != NULL; mt = mt->next)
		render_metric(out, mt);
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
