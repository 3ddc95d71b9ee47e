/*
 * cli.c: what the eppgw-audit commands share (see audit_cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "audit_cli.h"
#include "err.h"
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
audit_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eppgw-audit: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* Whether an argument names a file (else it may be a key string). */
static int
is_file(const char *arg)
{
	struct stat sb;

	return stat(arg, &sb) == 0 || strchr(arg, '+') == NULL;
}

/* The key hash a verifier states, as hex. */
static void
hex_id(const uint8_t id[4], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
}

void
audit_load_vkey(const char *arg, struct note_verifier *v)
{
	struct err e = ERR_INIT;
	char id[9];

	if (is_file(arg)) {
		if (note_verifier_load(arg, v, &e) == -1)
			audit_die(EXIT_USAGE, "%s", err_msg(&e));
	} else {
		switch (note_verifier_decode(arg, v)) {
		case NOTE_VKEY_OK:
		case NOTE_VKEY_HASH_MISMATCH:
			break;
		case NOTE_VKEY_WRONG_TYPE:
			audit_die(EXIT_USAGE, "%s: a verifier key of another "
			    "signature type (a witness key?), not an Ed25519 "
			    "log key (type 1)", arg);
		default:
			audit_die(EXIT_USAGE, "%s: no such file, and not a "
			    "verifier key string name+hash+base64(0x01 || key)",
			    arg);
		}
	}
	if (!note_verifier_consistent(v)) {
		hex_id(v->id, id);
		audit_warn("the verifier key %s+%s states a key hash that is "
		    "not its key's: no signature will count", v->name, id);
	}
}

/* A small file holding one verifier key string, blanks at its end cut. */
static char *
read_key_file(const char *path)
{
	char buf[4096], *s;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f) || !feof(f))
		audit_die(EXIT_USAGE, "%s: %s", path, ferror(f) ?
		    "read error" : "too large for a verifier key");
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if ((s = strdup(buf)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	return s;
}

void
audit_load_witness(const char *arg, struct cosig_verifier *w)
{
	char *s, id[9];

	s = is_file(arg) ? read_key_file(arg) : strdup(arg);
	if (s == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	switch (cosig_verifier_decode(s, w)) {
	case NOTE_VKEY_OK:
		break;
	case NOTE_VKEY_HASH_MISMATCH:
		hex_id(w->id, id);
		audit_warn("the witness key %s+%s states a key hash that is "
		    "not its key's: it counts for nothing", w->name, id);
		break;
	case NOTE_VKEY_WRONG_TYPE:
		audit_die(EXIT_USAGE, "--witness %s: not a witness key (a "
		    "cosignature key is type 4: eppgw-audit vkey --witness)",
		    arg);
	default:
		audit_die(EXIT_USAGE, "--witness %s: not a witness verifier "
		    "key name+hash+base64(0x04 || key)", arg);
	}
	free(s);
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
