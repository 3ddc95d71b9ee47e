/*
 * truth.c: what the registry itself says, as the gateway holds it (its
 * watch session's store, DESIGN.md sections 4 and 5):
 *
 *   state NAME   an object's facts, when they were read and last changed
 *   drift        changes at the registry that no command through the
 *                gateway explains
 *
 * and, for `show`, the state of the change's object now next to what it
 * would be after the change, with a warning when the registry's state
 * changed after the change was requested: the approver must judge the
 * change against the registry as it is, not as the requester saw it.
 *
 * "After" is worked out here from the canonical change lines and the
 * facts, for the fields where that is plain set arithmetic (name servers,
 * DS and DNSKEY records, statuses, contacts, registrant, host addresses).
 * It is a reading aid: the gateway judges the change itself, and the
 * canonical text above it is what is approved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "ctl.h"

#define LABEL_W		10
#define KEYTAG_REM	"secdns.rem.keytag="

/* --- small string sets ---------------------------------------------------- */

struct sset {
	char	**v;
	size_t	  n, cap;
};

/* An object's facts (a store keeps at most 4096, STATELINK_FACTS_MAX),
 * and what a change would make of them. */
#define SSET_MAX	65536

static int
sset_has(const struct sset *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return 1;
	return 0;
}

static int
sset_add(struct sset *s, const char *v, size_t len)
{
	char **t, *c;

	if ((c = strndup(v, len)) == NULL)
		return -1;
	if (sset_has(s, c)) {
		free(c);
		return 0;
	}
	if ((t = grow_array(s->v, &s->cap, s->n + 1, sizeof(*t), SSET_MAX)) ==
	    NULL) {
		free(c);
		return -1;
	}
	s->v = t;
	s->v[s->n++] = c;
	return 0;
}

static void
sset_del(struct sset *s, const char *v, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->v[i], v, len) == 0 && s->v[i][len] == '\0') {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return;
		}
}

/* Drop the DS records whose key tag (first field) is tag. */
static void
sset_del_keytag(struct sset *s, const char *tag)
{
	size_t n = strlen(tag);

	for (size_t i = 0; i < s->n;)
		if (strncmp(s->v[i], tag, n) == 0 && s->v[i][n] == ' ') {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
		} else
			i++;
}

static void
sset_clear(struct sset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
sset_equal(struct sset *a, struct sset *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!sset_has(b, a->v[i]))
			return 0;
	return 1;
}

/* --- output helpers ------------------------------------------------------- */

static void
utc(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

/* "2026-12-01T10:00:00Z (42 s ago)" */
static void
utc_age(json_int_t t, char *buf, size_t len)
{
	char when[32];
	long long age = (long long)time(NULL) - (long long)t;

	utc(t, when, sizeof(when));
	if (age >= 0)
		snprintf(buf, len, "%s (%lld s ago)", when, age);
	else
		snprintf(buf, len, "%s", when);
}

/*
 * "LABEL     a b c" for one-word values; values with blanks in them (DS
 * records) one a line, under each other.
 */
static void
print_set(const char *label, int width, struct sset *s, const char *note)
{
	int words = 1;

	if (s->n > 1)	/* an empty set has no array to sort */
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (size_t i = 0; i < s->n; i++)
		if (strchr(s->v[i], ' ') != NULL)
			words = 0;
	printf("%-*s", width, label);
	if (s->n == 0)
		printf(" (none)");
	for (size_t i = 0; i < s->n; i++) {
		if (!words && i > 0)
			printf("\n%-*s", width, "");
		printf(" %s", s->v[i]);
	}
	printf("%s\n", note != NULL ? note : "");
}

/* A string member, or "?" (printf must not get NULL). */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "?";
}

static void
dump_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	putchar('\n');
}

/* --- state ---------------------------------------------------------------- */

static void
print_state(const json_t *j)
{
	const char *locked_by = json_string_value(json_object_get(j,
	    "locked_by"));
	json_t *facts = json_object_get(j, "facts"), *f;
	json_t *changed = json_object_get(j, "changed");
	json_t *locked = json_object_get(j, "locked");
	char buf[96];
	size_t i;

	printf("%-*s %s\n", LABEL_W, "object", str(j, "object"));
	printf("%-*s %s\n", LABEL_W, "kind", str(j, "kind"));
	if (json_is_boolean(locked))
		printf("%-*s %s%s%s%s\n", LABEL_W, "locked",
		    json_is_true(locked) ? "yes" : "no",
		    locked_by ? " (" : "", locked_by ? locked_by : "",
		    locked_by ? ")" : "");
	printf("%-*s %s\n", LABEL_W, "watched",
	    json_is_true(json_object_get(j, "watched")) ? "yes" : "no");
	utc_age(json_integer_value(json_object_get(j, "refreshed")), buf,
	    sizeof(buf));
	printf("%-*s %s\n", LABEL_W, "refreshed", buf);
	if (json_is_integer(changed)) {
		utc_age(json_integer_value(changed), buf, sizeof(buf));
		printf("%-*s %s\n", LABEL_W, "changed", buf);
	} else
		printf("%-*s not since the gateway first read it\n", LABEL_W,
		    "changed");
	if (!json_is_true(json_object_get(j, "watch")))
		printf("%-*s none: the facts come from info replies that "
		    "registrars received\n", LABEL_W, "session");
	else
		printf("%-*s %s\n", LABEL_W, "session",
		    json_is_true(json_object_get(j, "session_up")) ?
		    "up" : "down: the facts may be stale");
	json_array_foreach(facts, i, f) {
		const char *s = json_string_value(f), *eq;

		if (s == NULL || (eq = strchr(s, '=')) == NULL)
			continue;
		if (strcmp(s, "exists=0") == 0) {
			printf("%-*s no: the registry says there is no such "
			    "object\n", LABEL_W, "exists");
			continue;
		}
		printf("%-*.*s %s\n", LABEL_W, (int)(eq - s), s, eq + 1);
	}
}

/* Percent-encode a name for the URL path (the gateway decodes it). */
static void
path_escape(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p != '\0' &&
	    o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		    *p == '_')
			out[o++] = (char)*p;
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* --- drift ---------------------------------------------------------------- */

static void
print_drift(const json_t *j)
{
	json_t *list = json_object_get(j, "drift"), *d, *v;
	char when[32];
	size_t i, k;

	if (!json_is_true(json_object_get(j, "watch"))) {
		printf("no watch session is configured: the gateway does not "
		    "look for drift\n");
		return;
	}
	if (json_array_size(list) == 0) {
		printf("no drift observed\n");
		return;
	}
	json_array_foreach(list, i, d) {
		utc(json_integer_value(json_object_get(d, "time")), when,
		    sizeof(when));
		printf("%s  %s (%s), seen at %s\n", when, str(d, "object"),
		    str(d, "kind"), str(d, "seen"));
		json_array_foreach(json_object_get(d, "gone"), k, v)
			if (json_is_string(v))
				printf("    - %s\n", json_string_value(v));
		json_array_foreach(json_object_get(d, "added"), k, v)
			if (json_is_string(v))
				printf("    + %s\n", json_string_value(v));
	}
	if (!json_is_true(json_object_get(j, "session_up")))
		printf("(the watch session is down now: nothing new is seen "
		    "until it is back)\n");
}

int
ctl_truth(const struct ctl_opts *o, int argc, char *argv[])
{
	const char *cmd = argv[0];
	char path[1024], name[800];
	json_t *j = NULL;
	long st;

	if (strcmp(cmd, "drift") == 0) {
		if (argc != 1) {
			fprintf(stderr, "eppgwctl: drift takes no argument\n");
			return 2;
		}
		st = ctl_call(o, "GET", "/v1/drift", NULL, &j);
		if (st != 200)
			return ctl_refused(st, j);
		if (o->json)
			dump_json(j);
		else
			print_drift(j);
		json_decref(j);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "eppgwctl: %s needs one name\n", cmd);
		return 2;
	}
	if (strlen(argv[1]) == 0 || strlen(argv[1]) * 3 >= sizeof(name)) {
		fprintf(stderr, "eppgwctl: \"%.80s\" is not a name\n", argv[1]);
		return 2;
	}
	path_escape(argv[1], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/state/%s", name);
	st = ctl_call(o, "GET", path, NULL, &j);
	if (st != 200)
		return ctl_refused(st, j);
	if (o->json)
		dump_json(j);
	else
		print_state(j);
	json_decref(j);
	return 0;
}

/* --- show: now and after -------------------------------------------------- */

enum { F_DOMAIN = 1, F_HOST = 2 };

/*
 * A field of an object: the facts that hold it ("ns=") and the change
 * lines that add to it or remove from it.  clear: lines that empty it
 * first (secDNS rem all, secDNS-1.0 chg, which then adds its own list).
 */
struct field {
	const char	*label;
	int		 kinds;
	const char	*fact;
	const char	*add[2];
	const char	*rem;
	const char	*clear[2];
	int		 host_only;	/* "add.ns=HOST v4:..": the host */
};

static const struct field fields[] = {
	{ "NS", F_DOMAIN, "ns=", { "add.ns=", NULL }, "rem.ns=",
	    { NULL, NULL }, 1 },
	{ "DS", F_DOMAIN, "ds=", { "secdns.add.ds=", "secdns.chg.ds=" },
	    "secdns.rem.ds=", { "secdns.rem.all=1", "secdns.chg.replace=1" },
	    0 },
	{ "DNSKEY", F_DOMAIN, "key=", { "secdns.add.key=",
	    "secdns.chg.key=" }, "secdns.rem.key=",
	    { "secdns.rem.all=1", "secdns.chg.replace=1" }, 0 },
	{ "Status", F_DOMAIN | F_HOST, "status=", { "add.status=", NULL },
	    "rem.status=", { NULL, NULL }, 0 },
	{ "Contacts", F_DOMAIN, "contact=", { "add.contact=", NULL },
	    "rem.contact=", { NULL, NULL }, 0 },
	/* chg.registrant replaces; an empty one removes it. */
	{ "Registrant", F_DOMAIN, "registrant=", { "chg.registrant=", NULL },
	    NULL, { "chg.registrant=", NULL }, 0 },
	{ "Addresses", F_HOST, "addr=", { "add.addr=", NULL }, "rem.addr=",
	    { NULL, NULL }, 0 },
};

static int
starts(const char *s, const char *prefix)
{
	return prefix != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The value of a change line after its prefix, as a fact would hold it. */
static size_t
value_len(const struct field *f, const char *v)
{
	return f->host_only ? strcspn(v, " ") : strlen(v);
}

/*
 * The registry sets "ok" itself (RFC 5731 and 5732 section 2.3): it goes
 * when any status but the ones it may stand with (linked, inactive) is
 * there, and comes back when none is.
 */
static int
ok_status(struct sset *s)
{
	size_t other = 0;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], "ok") != 0 &&
		    strcmp(s->v[i], "linked") != 0 &&
		    strcmp(s->v[i], "inactive") != 0)
			other++;
	if (other > 0)
		sset_del(s, "ok", 2);
	else if (!sset_has(s, "ok"))
		return sset_add(s, "ok", 2);
	return 0;
}

/*
 * now/after of one field; 0 when the change does not touch it.  Removals
 * before additions, as secDNS (RFC 5910 section 3.2.5) and registries
 * apply them.
 */
static int
field_sets(const struct field *f, const json_t *facts, char **lines,
    size_t nlines, struct sset *now, struct sset *after)
{
	const char *s;
	json_t *v;
	size_t i;
	int touched = 0;

	json_array_foreach(facts, i, v)
		if ((s = json_string_value(v)) != NULL && starts(s, f->fact)) {
			if (sset_add(now, s + strlen(f->fact),
			    strlen(s + strlen(f->fact))) != 0 ||
			    sset_add(after, s + strlen(f->fact),
			    strlen(s + strlen(f->fact))) != 0)
				return -1;
		}
	for (i = 0; i < nlines; i++)
		if (starts(lines[i], f->clear[0]) ||
		    starts(lines[i], f->clear[1])) {
			touched = 1;
			sset_clear(after);
		}
	for (i = 0; i < nlines; i++) {
		const char *l = lines[i];

		if (starts(l, f->rem)) {
			touched = 1;
			l += strlen(f->rem);
			sset_del(after, l, value_len(f, l));
		} else if (strcmp(f->label, "DS") == 0 &&
		    starts(l, KEYTAG_REM)) {
			/* secDNS-1.0 removes DS records by key tag. */
			touched = 1;
			sset_del_keytag(after, l + strlen(KEYTAG_REM));
		}
	}
	for (i = 0; i < nlines; i++)
		for (int k = 0; k < 2; k++)
			if (starts(lines[i], f->add[k])) {
				const char *l = lines[i] + strlen(f->add[k]);

				touched = 1;
				if (*l != '\0' &&
				    sset_add(after, l, value_len(f, l)) != 0)
					return -1;
			}
	if (touched && strcmp(f->fact, "status=") == 0)
		return ok_status(after) == 0 ? 1 : -1;
	return touched;
}

/* The canonical text's change lines (after the header lines). */
static size_t
change_lines(const char *canon, char ***out)
{
	char *copy, *p, *save = NULL, **v = NULL, **t;
	size_t n = 0, cap = 0, max;

	*out = NULL;
	if (canon == NULL || (copy = strdup(canon)) == NULL)
		return 0;
	max = strlen(canon) / 2 + 1;	/* lines of one character at least */
	for (p = strtok_r(copy, "\n", &save); p != NULL;
	    p = strtok_r(NULL, "\n", &save)) {
		if (strncmp(p, "eppgw-change/", 13) == 0 ||
		    starts(p, "clid=") || starts(p, "command=") ||
		    starts(p, "object="))
			continue;
		if ((t = grow_array(v, &cap, n + 1, sizeof(*t), max)) == NULL ||
		    (t[n] = strdup(p)) == NULL) {
			if (t != NULL)
				v = t;
			break;
		}
		v = t;
		n++;
	}
	free(copy);
	*out = v;
	return n;
}

void
ctl_print_registry(const json_t *change)
{
	const json_t *reg = json_object_get(change, "registry");
	const char *object = str(change, "object");
	const char *kind = json_string_value(json_object_get(reg, "kind"));
	json_t *facts = json_object_get(reg, "facts"), *v, *changed;
	char **lines = NULL, when[96], req[32];
	size_t nlines, i;
	int shown = 0, k;

	/* A lock list edit has no object at the registry to show. */
	if (!json_is_object(reg) &&
	    strstr(str(change, "canonical"), "\ncommand=lock:") != NULL)
		return;
	printf("\n");
	if (!json_is_object(reg)) {
		printf("%-*s no state held for %s: what it holds now is not "
		    "known\n", LABEL_W, "registry", object);
		return;
	}
	utc_age(json_integer_value(json_object_get(reg, "refreshed")), when,
	    sizeof(when));
	printf("%-*s %s as read %s%s\n", LABEL_W, "registry", object, when,
	    !json_is_true(json_object_get(reg, "watch")) ? ", from a "
	    "registrar's info reply" : json_is_true(json_object_get(reg,
	    "session_up")) ? "" : " (watch session down)");
	json_array_foreach(facts, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), "exists=0") == 0)
			printf("%-*s the registry says %s does not exist\n",
			    LABEL_W, "", object);
	k = kind != NULL && strcmp(kind, "host") == 0 ? F_HOST : F_DOMAIN;
	nlines = change_lines(json_string_value(json_object_get(change,
	    "canonical")), &lines);
	for (size_t fi = 0; fi < sizeof(fields) / sizeof(fields[0]); fi++) {
		const struct field *f = &fields[fi];
		struct sset now = { NULL, 0, 0 }, after = { NULL, 0, 0 };
		char lnow[32], lafter[32];

		/* Nothing now and nothing after (no DNSKEY records when
		 * secDNS rem all clears DS and keys) says nothing. */
		if ((f->kinds & k) &&
		    field_sets(f, facts, lines, nlines, &now, &after) == 1 &&
		    now.n + after.n > 0) {
			snprintf(lnow, sizeof(lnow), "%s now:", f->label);
			snprintf(lafter, sizeof(lafter), "%s after:",
			    f->label);
			/* "NS now:" and "NS after:" line up. */
			print_set(lnow, (int)strlen(lafter), &now, NULL);
			print_set(lafter, (int)strlen(lafter), &after,
			    sset_equal(&now, &after) ? "  (no difference)" :
			    NULL);
			shown = 1;
		}
		sset_clear(&now);
		sset_clear(&after);
	}
	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	if (!shown) {
		/* Nothing to add up: the state as it is. */
		json_array_foreach(facts, i, v)
			if (json_is_string(v))
				printf("%-*s %s\n", LABEL_W, i == 0 ? "now:" :
				    "", json_string_value(v));
	}
	if (json_is_true(json_object_get(reg, "changed_since_request"))) {
		const char *state = json_string_value(json_object_get(change,
		    "state"));

		changed = json_object_get(reg, "changed");
		utc(json_integer_value(changed), when, sizeof(when));
		snprintf(req, sizeof(req), "%s", str(change, "created"));
		/*
		 * A warning while a decision can still be made (or undone
		 * with deny); once the change ran, it may be the change
		 * itself that the registry shows.
		 */
		if (state != NULL && strcmp(state, "pending") != 0 &&
		    strcmp(state, "approved") != 0)
			printf("(the registry's state of %s changed at %s, "
			    "after this change was requested, %s)\n", object,
			    when, req);
		else
			printf("WARNING: the registry's state of %s changed "
			    "at %s, after this change was requested (%s): the "
			    "requester saw another state; weigh the change "
			    "against the state now\n", object, when, req);
	}
}
