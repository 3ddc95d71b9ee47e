/*
 * cli.c: what the eppgw-audit commands share (see audit_cli.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_cli.h"
#include "rfc3339.h"

void
audit_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eppgw-audit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

void
audit_load_vkey(const char *path, struct note_verifier *v)
{
	char err[512];

	if (note_verifier_load(path, v, err, sizeof(err)) == -1)
		audit_die(EXIT_USAGE, "%s", err);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * RFC3339_US + ts.tv_nsec / 1000;
}

void
audit_range_set(struct audit_range *r, const char *opt, const char *arg)
{
	int64_t us, prec;

	/*
	 * Refuse what is not a time instead of comparing it as text: "since
	 * yesterday" used to select nothing, without a word.
	 */
	if (rfc3339_bound(arg, now_us(), &us, &prec) == -1)
		audit_die(EXIT_USAGE, "%s \"%s\": not a time; give RFC 3339 "
		    "(2026-11-22T13:00:00+01:00, 2026-11-22T12:00:00Z), a date "
		    "(2026-11-22, UTC) or a time before now (-30m, -1h, -7d)",
		    opt, arg);
	if (strcmp(opt, "--since") == 0) {
		r->has_since = 1;
		r->since = us;
	} else {
		r->has_until = 1;
		/* A bound covers its precision: a date its whole day. */
		r->until_end = us > INT64_MAX - prec ? INT64_MAX : us + prec;
	}
}

int
audit_range_has(const struct audit_range *r, const char *ts)
{
	int64_t us;

	if (!r->has_since && !r->has_until)
		return 1;
	if (ts == NULL || rfc3339_parse(ts, &us, NULL) == -1)
		return 0;
	if (r->has_since && us < r->since)
		return 0;
	if (r->has_until && us >= r->until_end)
		return 0;
	return 1;
}

int
audit_object_init(struct audit_object *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	if (name == NULL || *name == '\0')
		return -1;
	o->given = name;
	o->has_norm = name_normalise(name, o->norm, sizeof(o->norm)) ==
	    NAME_OK;
	return 0;
}

int
audit_object_is(const struct audit_object *o, const char *stored)
{
	if (stored == NULL)
		return 0;
	/* Domain and host names are stored normalised (policy/model.c,
	 * m_obj); contact ids as sent, and compared exactly by the gateway. */
	return (o->has_norm && strcmp(stored, o->norm) == 0) ||
	    strcmp(stored, o->given) == 0;
}

const char *
audit_object_name(const struct audit_object *o)
{
	return o->has_norm ? o->norm : o->given;
}
