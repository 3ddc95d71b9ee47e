/*
 * changes.c: eppgw-audit changes, a reviewer's question in one command:
 * who changed an object between two times, who approved it, and what the
 * registry answered (docs/audit-log.md, eppgw-audit(1)).
 *
 *   changes --object NAME [--class C] [--since T] [--until T]
 *           [--format table|csv|json] [--vkey F] DIR
 *
 * One pass over the segments collects the rows (the object's commands
 * that change something, and the watch session's drift observations of
 * it), the replies to those commands (an rsp record names its cmd by req)
 * and the object's approval events; then the approvals are given to the
 * commands of their change id and the rows printed in log order.  Only
 * what matches is kept, so memory follows the answer, not the log.
 */
#define _GNU_SOURCE	/* memmem(3) */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_cli.h"
#include "buf.h"
#include "audit_verify.h"
#include "change.h"

enum row_kind { ROW_CMD, ROW_DRIFT };

struct row {
	enum row_kind	 kind;
	uint64_t	 seq;
	json_t		*rec;		/* the cmd or observation */
	json_t		*rsp;		/* a cmd's reply, or NULL */
	json_t		*approvals;	/* of its change id */
	unsigned	 classes;	/* drift: the classes of its facts */
};

enum format { FMT_TABLE, FMT_CSV, FMT_JSON };

struct changes {
	struct audit_object obj;
	unsigned	 class;		/* 0: every class */
	struct audit_range range;
	enum format	 format;
	int		 verified;	/* --vkey: rows carry sealed */
	uint64_t	 sealed;	/* a verified checkpoint's size */
	struct row	*rows;
	size_t		 nrows, cap;
	json_t		*events;	/* the object's approvals */
};

/* The fields of a row, in CSV order (the table shows some of them). */
enum field {
	F_TIME, F_SEQ, F_KIND, F_OBJECT, F_PRINCIPAL, F_CLID, F_CLTRID,
	F_COMMAND, F_CLASSES, F_CHANGE, F_DECISION, F_REASON, F_APPROVER,
	F_APPROVALS, F_REPLY, F_FROM, F_SEALED, F_GONE, F_ADDED, F_SEEN,
	NFIELDS
};

static const char *const csv_names[NFIELDS] = {
	"time", "seq", "kind", "object", "principal", "clid", "cltrid",
	"command", "classes", "change_id", "decision", "reason", "approver",
	"approvals", "reply", "reply_from", "sealed", "gone", "added", "seen"
};

static const char *
str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* --- which records count --- */

/*
 * The commands that can change an object: the transform commands of RFC
 * 5730 section 2.9.3 (what epp_msg_mutating() says), whatever the object
 * mapping, and a bare <extension> command.  A transfer query only reads.
 */
static int
changes_something(json_t *rec)
{
	static const char *const verbs[] = {
		"create", "delete", "renew", "transfer", "update"
	};
	const char *cmd = str(rec, "cmd"), *verb, *xml;

	if (cmd == NULL)
		return 0;
	if (strcmp(cmd, "extension") == 0)
		return 1;
	verb = strchr(cmd, ':');
	verb = verb != NULL ? verb + 1 : cmd;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i]) != 0)
			continue;
		/* The record keeps the op only in the XML, as the gateway
		 * serialised it (no quotes to escape in that attribute). */
		if (strcmp(verb, "transfer") == 0 &&
		    (xml = str(rec, "xml")) != NULL &&
		    strstr(xml, "transfer op=\"query\"") != NULL)
			return 0;
		return 1;
	}
	return 0;
}

static unsigned
drift_classes(json_t *rec)
{
	static const char *const keys[] = { "gone", "added" };
	const char *kind = str(rec, "kind");
	unsigned cls = 0;
	json_t *v;
	size_t i;

	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(rec, keys[k]), i, v)
			if (json_is_string(v))
				cls |= change_fact_class(kind != NULL &&
				    strcmp(kind, "host") == 0,
				    json_string_value(v));
	return cls;
}

static int
names_object(const struct changes *c, json_t *rec)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(rec, "objects"), i, v)
		if (audit_object_is(&c->obj, json_string_value(v)))
			return 1;
	return 0;
}

static int
has_class(json_t *rec, unsigned class)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(rec, "classes"), i, v)
		if (json_is_string(v) &&
		    change_class_parse(json_string_value(v)) == class)
			return 1;
	return 0;
}

/* --- collecting --- */

static void
add_row(struct changes *c, enum row_kind kind, json_t *rec)
{
	struct row *r;

	/* A row per matching record of the log read: no maximum but
	 * memory. */
	if ((c->rows = grow_array(c->rows, &c->cap, c->nrows + 1, sizeof(*r),
	    SIZE_MAX)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	/* The redacted XML and the frame MAC can be had with show: rows
	 * keep what they print. */
	json_object_del(rec, "xml");
	json_object_del(rec, "frame_mac");
	r->rec = json_incref(rec);
	if ((r->approvals = json_array()) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	if (kind == ROW_DRIFT)
		r->classes = drift_classes(rec);
}

/* The cmd row of seq, or NULL; rows are appended in seq order. */
static struct row *
find_cmd(struct changes *c, uint64_t seq)
{
	size_t lo = 0, hi = c->nrows, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->rows[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nrows && c->rows[lo].seq == seq &&
	    c->rows[lo].kind == ROW_CMD)
		return &c->rows[lo];
	return NULL;
}

static int
span_is(const struct audit_span *s, const char *want)
{
	size_t n = strlen(want);

	return s->p != NULL && s->n == n + 2 && s->p[0] == '"' &&
	    memcmp(s->p + 1, want, n) == 0;
}

static int
span_u64(const struct audit_span *s, uint64_t *v)
{
	*v = 0;
	if (s->p == NULL || s->n == 0 || s->n > 19)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(s->p[i] - '0');
	}
	return 0;
}

/*
 * Whether the line can name the object at all: a stored name is a JSON
 * string, written as its UTF-8 bytes unless it holds a quote, a backslash
 * or a control character (jansson without JSON_ENSURE_ASCII).  Most lines
 * are then never parsed.
 */
static int
may_name(const struct changes *c, const char *line, size_t len)
{
	const char *given = c->obj.given;

	if (c->obj.has_norm && memmem(line, len, c->obj.norm,
	    strlen(c->obj.norm)) != NULL)
		return 1;
	for (const char *p = given; *p != '\0'; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			return 1;	/* stored escaped: parse and see */
	return memmem(line, len, given, strlen(given)) != NULL;
}

static void
take_line(struct changes *c, const char *line, size_t len)
{
	struct audit_line f;
	struct row *r;
	json_t *j;
	uint64_t req;
	int cmd, obs, appr;

	if (audit_scan_line(line, len, &f) == -1)
		return;
	if (span_is(&f.t, "rsp")) {
		if (span_u64(&f.req, &req) == -1 ||
		    (r = find_cmd(c, req)) == NULL || r->rsp != NULL)
			return;
		r->rsp = json_loadb(line, len, 0, NULL);
		return;
	}
	cmd = span_is(&f.t, "cmd");
	obs = span_is(&f.t, "observation");
	appr = span_is(&f.t, "approval");
	if ((!cmd && !obs && !appr) || !may_name(c, line, len))
		return;
	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return;
	if (appr) {
		/* Kept whatever the time range: an approval may come after
		 * --until and still belong to a command before it. */
		if (audit_object_is(&c->obj, str(j, "object")) &&
		    str(j, "change_id") != NULL)
			json_array_append(c->events, j);
	} else if (cmd) {
		if (names_object(c, j) && changes_something(j) &&
		    (c->class == 0 || has_class(j, c->class)) &&
		    audit_range_has(&c->range, str(j, "ts")))
			add_row(c, ROW_CMD, j);
	} else {
		if (audit_object_is(&c->obj, str(j, "object")) &&
		    audit_range_has(&c->range, str(j, "ts")) &&
		    (c->class == 0 || (drift_classes(j) & c->class)))
			add_row(c, ROW_DRIFT, j);
	}
	json_decref(j);
}

static void
read_segment(struct changes *c, const char *path)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(path, "r")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) > 0) {
		/* A line without its newline is being written, or torn. */
		if (line[n - 1] != '\n')
			break;
		take_line(c, line, (size_t)n - 1);
	}
	if (ferror(fp))
		audit_die(EXIT_USAGE, "%s: read error", path);
	free(line);
	fclose(fp);
}

/*
 * Give each approval event to the commands of its change id it answers:
 * the held ones before it, back to the last command of that id the
 * gateway let through, and the first one let through after it (the
 * resend that used the ticket).  A change id is a digest of the change,
 * so the same id comes back each time the same change is asked for.
 */
static void
attach_approvals(struct changes *c)
{
	json_t *e;
	size_t i, k, from;
	uint64_t eseq;
	const char *id, *dec;

	json_array_foreach(c->events, i, e) {
		eseq = (uint64_t)json_integer_value(json_object_get(e, "seq"));
		id = str(e, "change_id");
		from = 0;
		for (k = 0; k < c->nrows && c->rows[k].seq < eseq; k++) {
			dec = str(c->rows[k].rec, "decision");
			if (c->rows[k].kind == ROW_CMD && dec != NULL &&
			    strcmp(dec, "allow") == 0 && str(c->rows[k].rec,
			    "change_id") != NULL && strcmp(str(c->rows[k].rec,
			    "change_id"), id) == 0)
				from = k + 1;
		}
		for (k = from; k < c->nrows; k++) {
			struct row *r = &c->rows[k];
			const char *rid = str(r->rec, "change_id");

			if (r->kind != ROW_CMD || rid == NULL ||
			    strcmp(rid, id) != 0)
				continue;
			dec = str(r->rec, "decision");
			if (r->seq < eseq && dec != NULL &&
			    strcmp(dec, "approval_required") == 0)
				json_array_append(r->approvals, e);
			else if (r->seq > eseq && dec != NULL &&
			    strcmp(dec, "allow") == 0) {
				json_array_append(r->approvals, e);
				break;
			}
		}
	}
}

/* --- output --- */

/* A list member joined into "a,b,c" (malloc'd). */
static char *
joined(json_t *arr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	json_t *v;
	size_t i;

	if ((m = open_memstream(&buf, &len)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	json_array_foreach(arr, i, v)
		if (json_is_string(v))
			fprintf(m, "%s%s", i ? "," : "", json_string_value(v));
	fclose(m);
	return buf;
}

static char *
classes_text(const struct row *r)
{
	char buf[256];

	if (r->kind == ROW_CMD)
		return joined(json_object_get(r->rec, "classes"));
	change_classes_format(r->classes, buf, sizeof(buf));
	return strdup(buf);
}

/* "granted:bob,denied:carol" */
static char *
approvals_text(const struct row *r)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;
	json_t *e;

	if ((m = open_memstream(&buf, &len)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	json_array_foreach(r->approvals, i, e)
		fprintf(m, "%s%s:%s", i ? "," : "", str(e, "event") ?
		    str(e, "event") : "?", str(e, "operator") ?
		    str(e, "operator") : "?");
	fclose(m);
	return buf;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static char *
int_text(json_t *v)
{
	char buf[32];

	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	return strdup(buf);
}

/* The fields of a row as text (malloc'd; NULL: none). */
static void
row_fields(const struct changes *c, const struct row *r, char *f[NFIELDS])
{
	json_t *rec = r->rec;

	memset(f, 0, NFIELDS * sizeof(f[0]));
	f[F_TIME] = dup_or_null(str(rec, "ts"));
	f[F_SEQ] = int_text(json_object_get(rec, "seq"));
	f[F_KIND] = strdup(r->kind == ROW_CMD ? "cmd" : "drift");
	f[F_OBJECT] = strdup(audit_object_name(&c->obj));
	f[F_CLASSES] = classes_text(r);
	if (c->verified)
		f[F_SEALED] = strdup(r->seq < c->sealed ? "yes" : "no");
	if (r->kind == ROW_DRIFT) {
		f[F_GONE] = joined(json_object_get(rec, "gone"));
		f[F_ADDED] = joined(json_object_get(rec, "added"));
		f[F_SEEN] = dup_or_null(str(rec, "seen"));
		return;
	}
	f[F_PRINCIPAL] = dup_or_null(str(rec, "principal"));
	f[F_CLID] = dup_or_null(str(rec, "clid"));
	f[F_CLTRID] = dup_or_null(str(rec, "cltrid"));
	f[F_COMMAND] = dup_or_null(str(rec, "cmd"));
	f[F_CHANGE] = dup_or_null(str(rec, "change_id"));
	f[F_DECISION] = dup_or_null(str(rec, "decision"));
	f[F_REASON] = dup_or_null(str(rec, "reason"));
	f[F_APPROVER] = dup_or_null(str(rec, "approver"));
	f[F_APPROVALS] = approvals_text(r);
	if (r->rsp != NULL) {
		f[F_REPLY] = int_text(json_object_get(r->rsp, "code"));
		f[F_FROM] = dup_or_null(str(r->rsp, "src"));
	}
}

static void
free_fields(char *f[NFIELDS])
{
	for (size_t i = 0; i < NFIELDS; i++)
		free(f[i]);
}

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes
 * doubled. */
static void
csv_field(const char *s, int last)
{
	if (s != NULL && strpbrk(s, ",\"\r\n") != NULL) {
		putchar('"');
		for (; *s != '\0'; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else if (s != NULL)
		fputs(s, stdout);
	fputs(last ? "\r\n" : ",", stdout);
}

static void
print_csv(const struct changes *c)
{
	char *f[NFIELDS];

	for (size_t i = 0; i < NFIELDS; i++)
		csv_field(csv_names[i], i == NFIELDS - 1);
	for (size_t k = 0; k < c->nrows; k++) {
		row_fields(c, &c->rows[k], f);
		for (size_t i = 0; i < NFIELDS; i++)
			csv_field(f[i], i == NFIELDS - 1);
		free_fields(f);
	}
}

static json_t *
str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
classes_json(const struct row *r)
{
	if (r->kind == ROW_CMD)
		return json_deep_copy(json_object_get(r->rec, "classes"));
	return change_classes_json(r->classes);
}

static json_t *
approvals_json(const struct row *r)
{
	json_t *a = json_array(), *e;
	size_t i;

	json_array_foreach(r->approvals, i, e)
		json_array_append_new(a, json_pack("{s:O?, s:O?, s:O?, s:O?, "
		    "s:O?}", "event", json_object_get(e, "event"), "operator",
		    json_object_get(e, "operator"), "reason",
		    json_object_get(e, "reason"), "seq",
		    json_object_get(e, "seq"), "time",
		    json_object_get(e, "ts")));
	return a;
}

/*
 * One JSON array, one row a line: a whole document for jq or any JSON
 * reader, and still one row per line for grep.  Every row has every key
 * (null when it does not apply), in the order of the CSV columns.
 */
static void
print_json(const struct changes *c)
{
	json_t *o, *rec, *rsp;
	char *s;

	fputs("[", stdout);
	for (size_t k = 0; k < c->nrows; k++) {
		const struct row *r = &c->rows[k];
		int isc = r->kind == ROW_CMD;

		rec = r->rec;
		rsp = r->rsp;
		o = json_object();
		json_object_set_new(o, "time", str_json(str(rec, "ts")));
		json_object_set(o, "seq", json_object_get(rec, "seq"));
		json_object_set_new(o, "kind", json_string(isc ? "cmd" :
		    "drift"));
		json_object_set_new(o, "object",
		    json_string(audit_object_name(&c->obj)));
		json_object_set_new(o, "principal", str_json(isc ?
		    str(rec, "principal") : NULL));
		json_object_set_new(o, "clid", str_json(isc ? str(rec,
		    "clid") : NULL));
		json_object_set_new(o, "cltrid", str_json(isc ? str(rec,
		    "cltrid") : NULL));
		json_object_set_new(o, "command", str_json(isc ? str(rec,
		    "cmd") : NULL));
		json_object_set_new(o, "classes", classes_json(r));
		json_object_set_new(o, "change_id", str_json(isc ? str(rec,
		    "change_id") : NULL));
		json_object_set_new(o, "decision", str_json(isc ? str(rec,
		    "decision") : NULL));
		json_object_set_new(o, "reason", str_json(isc ? str(rec,
		    "reason") : NULL));
		json_object_set_new(o, "approver", str_json(isc ? str(rec,
		    "approver") : NULL));
		json_object_set_new(o, "approvals", isc ? approvals_json(r) :
		    json_null());
		json_object_set_new(o, "reply", rsp != NULL &&
		    json_is_integer(json_object_get(rsp, "code")) ?
		    json_copy(json_object_get(rsp, "code")) : json_null());
		json_object_set_new(o, "reply_from", str_json(rsp != NULL ?
		    str(rsp, "src") : NULL));
		json_object_set_new(o, "sealed", c->verified ?
		    json_boolean(r->seq < c->sealed) : json_null());
		json_object_set_new(o, "gone", isc ? json_null() :
		    json_deep_copy(json_object_get(rec, "gone")));
		json_object_set_new(o, "added", isc ? json_null() :
		    json_deep_copy(json_object_get(rec, "added")));
		json_object_set_new(o, "seen", str_json(isc ? NULL :
		    str(rec, "seen")));
		if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		    NULL)
			audit_die(EXIT_USAGE, "out of memory");
		printf("%s\n%s", k ? "," : "", s);
		free(s);
		json_decref(o);
	}
	fputs(c->nrows ? "\n]\n" : "]\n", stdout);
}

/* Table columns: the field, or a composite (negative). */
#define T_APPROVER	(-1)	/* approver, else the approval events */
#define T_DETAIL	(-2)	/* clTRID, or the drift facts */

static const struct {
	const char	*title;
	int		 field;
} table_cols[] = {
	{ "TIME", F_TIME }, { "SEQ", F_SEQ }, { "KIND", F_KIND },
	{ "PRINCIPAL", F_PRINCIPAL }, { "CLID", F_CLID },
	{ "COMMAND", F_COMMAND }, { "CLASSES", F_CLASSES },
	{ "CHANGE", F_CHANGE }, { "DECISION", F_DECISION },
	{ "APPROVER", T_APPROVER }, { "REPLY", F_REPLY },
	{ "FROM", F_FROM }, { "SEALED", F_SEALED }, { "DETAIL", T_DETAIL }
};
#define NCOLS	(sizeof(table_cols) / sizeof(table_cols[0]))

/* "-a -b +c (refresh)" */
static char *
drift_text(const struct row *r)
{
	static const char *const keys[] = { "gone", "added" };
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;
	json_t *v;
	int first = 1;

	if ((m = open_memstream(&buf, &len)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(r->rec, keys[k]), i, v) {
			fprintf(m, "%s%c%s", first ? "" : " ", k ? '+' : '-',
			    json_is_string(v) ? json_string_value(v) : "?");
			first = 0;
		}
	if (str(r->rec, "seen") != NULL)
		fprintf(m, "%s(%s)", first ? "" : " ", str(r->rec, "seen"));
	fclose(m);
	return buf;
}

/* A cell for a terminal: "-" when empty, control bytes as "?" (a
 * clTRID is registrar input). */
static char *
cell(const char *s)
{
	char *d;

	if (s == NULL || *s == '\0')
		return strdup("-");
	if ((d = strdup(s)) == NULL)
		return NULL;
	for (char *p = d; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

static void
print_table(const struct changes *c)
{
	char *f[NFIELDS], **cells, *tmp;
	size_t width[NCOLS], n = c->nrows + 1, ci, k;

	if ((cells = calloc(n * NCOLS, sizeof(*cells))) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	for (ci = 0; ci < NCOLS; ci++)
		cells[ci] = strdup(table_cols[ci].title);
	for (k = 0; k < c->nrows; k++) {
		const struct row *r = &c->rows[k];

		row_fields(c, r, f);
		for (ci = 0; ci < NCOLS; ci++) {
			int fld = table_cols[ci].field;

			if (fld == T_APPROVER)
				tmp = cell(f[F_APPROVER] != NULL ?
				    f[F_APPROVER] : f[F_APPROVALS]);
			else if (fld == T_DETAIL && r->kind == ROW_DRIFT) {
				char *d = drift_text(r);

				tmp = cell(d);
				free(d);
			} else if (fld == T_DETAIL)
				tmp = cell(f[F_CLTRID]);
			else
				tmp = cell(f[fld]);
			cells[(k + 1) * NCOLS + ci] = tmp;
		}
		free_fields(f);
	}
	for (ci = 0; ci < NCOLS; ci++) {
		width[ci] = 0;
		for (k = 0; k < n; k++)
			if (cells[k * NCOLS + ci] != NULL &&
			    strlen(cells[k * NCOLS + ci]) > width[ci])
				width[ci] = strlen(cells[k * NCOLS + ci]);
	}
	for (k = 0; k < n; k++) {
		int first = 1;

		for (ci = 0; ci < NCOLS; ci++) {
			const char *s = cells[k * NCOLS + ci];

			/* SEALED only when there is something to say. */
			if (table_cols[ci].field == F_SEALED && !c->verified)
				continue;
			if (!first)
				putchar(' ');
			first = 0;
			if (ci == NCOLS - 1)
				fputs(s != NULL ? s : "-", stdout);
			else
				printf("%-*s", (int)width[ci], s != NULL ? s :
				    "-");
		}
		putchar('\n');
	}
	for (k = 0; k < n * NCOLS; k++)
		free(cells[k]);
	free(cells);
}

/* --- the command --- */

static void
verify_first(struct changes *c, const char *dir, const struct note_verifier *v)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;

	memset(&o, 0, sizeof(o));
	o.vkey = v;
	o.want_seq = -1;
	audit_verify_dir(dir, &o, &r);
	if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT)
		audit_die((int)r.verdict, "%s: %s", dir, r.error);
	c->verified = 1;
	c->sealed = r.sealed;
	audit_verify_free(&r);
}

int
audit_cmd_changes(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "object", required_argument, NULL, 'o' },
		{ "class", required_argument, NULL, 'C' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct changes c;
	struct note_verifier v;
	const char *object = NULL, *dir;
	char **names, path[4096];
	size_t n;
	int ch, have_key = 0;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			object = optarg;
			break;
		case 'C':
			if ((c.class = change_class_parse(optarg)) == 0)
				audit_die(EXIT_USAGE, "--class %s: not a "
				    "change class (ns, ds, host, status, "
				    "registrant, contact, authinfo, transfer, "
				    "delete, unknown)", optarg);
			break;
		case 's':
			audit_range_set(&c.range, "--since", optarg);
			break;
		case 'u':
			audit_range_set(&c.range, "--until", optarg);
			break;
		case 'F':
			if (strcmp(optarg, "table") == 0)
				c.format = FMT_TABLE;
			else if (strcmp(optarg, "csv") == 0)
				c.format = FMT_CSV;
			else if (strcmp(optarg, "json") == 0)
				c.format = FMT_JSON;
			else
				audit_die(EXIT_USAGE, "--format %s: table, csv "
				    "or json", optarg);
			break;
		case 'k':
			audit_load_vkey(optarg, &v);
			have_key = 1;
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1 || object == NULL)
		audit_usage();
	if (audit_object_init(&c.obj, object) == -1)
		audit_die(EXIT_USAGE, "--object: empty name");
	dir = argv[optind];
	if (have_key)
		verify_first(&c, dir, &v);
	if ((c.events = json_array()) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	if (audit_list_segments(dir, &names, &n) == -1)
		audit_die(EXIT_USAGE, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		read_segment(&c, path);
	}
	audit_free_segments(names, n);
	attach_approvals(&c);
	switch (c.format) {
	case FMT_TABLE:
		print_table(&c);
		break;
	case FMT_CSV:
		print_csv(&c);
		break;
	case FMT_JSON:
		print_json(&c);
		break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		audit_die(EXIT_USAGE, "standard output: %s", strerror(errno));
	for (size_t k = 0; k < c.nrows; k++) {
		json_decref(c.rows[k].rec);
		json_decref(c.rows[k].rsp);
		json_decref(c.rows[k].approvals);
	}
	free(c.rows);
	json_decref(c.events);
	return 0;
}
