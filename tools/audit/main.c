/*
 * eppgw-audit: the compliance reviewer's tool (see docs/audit-log.md).
 *
 *   verify [--vkey F] [--known-checkpoint F]... [--require-sealed]
 *        [--witness W... --quorum K] DIR
 *   show [--object X] [--clid X] [--principal X] [--decision X] [--class X]
 *        [--type T] [--since T] [--until T] [--table] [--follow] [--vkey F]
 *        DIR
 *   changes --object NAME [--class C] [--since T] [--until T]
 *        [--format table|csv|json] [--vkey F] DIR       (changes.c)
 *   prove --seq N [--vkey F] DIR                       (prove.c)
 *   verify-proof --vkey F [--line-file F] PROOF
 *   consistency --old F [--vkey F] DIR
 *   vkey [--witness] --name NAME PUBKEY
 *   witness --key F --name NAME --log-vkey V --state DIR [--proof F]
 *        [-o FILE] CHECKPOINT                            (witness.c)
 *   break --key F --reason TEXT [--operator NAME] [--origin O] DIR
 *   export (--change ID | --seq N) --vkey F [-o FILE] DIR   (bundle.c)
 *   verify-bundle [--vkey F] FILE                          (bundle.c)
 *
 * --vkey V (every command): a PEM public key, a file holding a verifier
 * key string, or the string itself; a string binds the key to its name.
 *
 * verify exits 0 valid and sealed, 1 tampered, 2 valid with warnings,
 * 3 cannot verify (also: a known checkpoint short of the --quorum).
 * witness exits 0 cosigned, 1 refused (rollback, fork, bad proof or log
 * signature), 3 usage, I/O or a proof that is missing or from another
 * size.  The other commands exit 0 on success, 1 when a proof
 * fails, 3 on usage or I/O errors.  break exits 0 when it recorded a break,
 * 1 when there is nothing it may break (the log verifies, or a checkpoint
 * file is bad), 3 on usage or I/O errors.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "buf.h"
#include "audit_bundle.h"
#include "audit_cli.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "merkle.h"

void
audit_usage(void)
{
	fprintf(stderr,
	    "usage: eppgw-audit verify [--vkey F] [--known-checkpoint F]... "
	    "[--require-sealed]\n"
	    "                        [--witness W... --quorum K] DIR\n"
	    "       eppgw-audit show [--object X] [--clid X] [--principal X] "
	    "[--decision X]\n"
	    "                        [--class X] [--type T] [--since T] "
	    "[--until T] [--table]\n"
	    "                        [--follow] [--vkey F] DIR\n"
	    "       eppgw-audit changes --object NAME [--class C] [--since T] "
	    "[--until T]\n"
	    "                        [--format table|csv|json] [--vkey F] "
	    "DIR\n"
	    "       eppgw-audit prove --seq N [--vkey F] DIR\n"
	    "       eppgw-audit verify-proof --vkey F [--line-file F] PROOF\n"
	    "       eppgw-audit consistency --old F [--vkey F] DIR\n"
	    "       eppgw-audit vkey [--witness] --name NAME PUBKEY\n"
	    "       eppgw-audit witness --key F --name NAME --log-vkey V "
	    "--state DIR\n"
	    "                        [--proof F] [-o FILE] CHECKPOINT\n"
	    "       eppgw-audit break --key F --reason TEXT [--operator NAME] "
	    "[--origin O] DIR\n"
	    "       eppgw-audit export (--change ID | --seq N) --vkey F "
	    "[-o FILE] DIR\n"
	    "       eppgw-audit verify-bundle [--vkey F] FILE\n");
	exit(EXIT_USAGE);
}

static char *
read_file(const char *path, size_t max, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	if ((buf = malloc(max + 1)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max)
		audit_die(EXIT_USAGE, "%s: %s", path, ferror(f) ? "read error" :
		    "too large");
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- verify ---- */

/* --witness and --quorum go together, with what they count on. */
static void
verify_quorum_usage(const struct audit_verify_opts *o,
    const struct audit_quorum *q)
{
	if (q->nw > 0 && q->k == 0)
		audit_die(EXIT_USAGE, "--witness needs --quorum K: how many "
		    "of the witnesses must have cosigned");
	if (q->k == 0)
		return;
	if (q->nw == 0)
		audit_die(EXIT_USAGE, "--quorum needs the witnesses' keys "
		    "(--witness)");
	if (o->nknown == 0)
		audit_die(EXIT_USAGE, "--quorum counts the cosignatures on the "
		    "--known-checkpoint files: give one");
	if (o->vkey == NULL)
		audit_die(EXIT_USAGE, "--quorum needs --vkey: the log's own "
		    "signature on the cosigned checkpoints is required too");
}

/*
 * The verdict with the witnesses counted: a failing cosignature of a
 * listed witness is tampering (1); a checkpoint short of the quorum
 * cannot be relied on (3) unless the log is tampered anyway.
 */
static int
quorum_verdict(int verdict, int qrc)
{
	if (verdict == AUDIT_TAMPERED || qrc == 1)
		return AUDIT_TAMPERED;
	if (verdict == AUDIT_CANNOT || qrc != 0)
		return AUDIT_CANNOT;
	return verdict;
}

/* The verdict of verify, with --quorum counted, and the summary's note. */
static int
verify_quorum(struct audit_quorum *q, const struct audit_verify_opts *o,
    const struct audit_verify_result *r, char *note, size_t len)
{
	int qrc = EXIT_USAGE;	/* no origin: nothing could be counted */

	note[0] = '\0';
	if (q->k == 0)
		return (int)r->verdict;
	if (r->origin[0] != '\0') {
		qrc = audit_quorum_check(q, o->known, o->nknown, o->vkey,
		    r->origin);
		snprintf(note, len, " (cosigned by at least %zu of %zu "
		    "witnesses, quorum %lu)", q->least, q->nw, q->k);
	}
	return quorum_verdict((int)r->verdict, qrc);
}

static int
cmd_verify(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "known-checkpoint", required_argument, NULL, 'K' },
		{ "require-sealed", no_argument, NULL, 's' },
		{ "witness", required_argument, NULL, 'w' },
		{ "quorum", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_verify_opts o;
	struct audit_verify_result r;
	struct audit_quorum q;
	struct note_verifier v;
	const char **known = NULL;
	size_t capknown = 0;
	char breaks[128], witnessed[128], *end;
	int ch, verdict;

	memset(&o, 0, sizeof(o));
	memset(&q, 0, sizeof(q));
	o.want_seq = -1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			audit_load_vkey(optarg, &v);
			o.vkey = &v;
			break;
		case 'K':
			/* One per --known: at most argc. */
			if ((known = grow_array(known, &capknown, o.nknown + 1,
			    sizeof(*known), (size_t)argc)) == NULL)
				audit_die(EXIT_USAGE, "out of memory");
			known[o.nknown++] = optarg;
			break;
		case 's':
			o.require_sealed = 1;
			break;
		case 'w':
			audit_quorum_add(&q, optarg);
			break;
		case 'q':
			errno = 0;
			q.k = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || q.k == 0 ||
			    optarg[0] == '-' || q.k > 1000)
				audit_die(EXIT_USAGE, "bad --quorum %s",
				    optarg);
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1)
		audit_usage();
	verify_quorum_usage(&o, &q);
	o.known = known;
	audit_verify_dir(argv[optind], &o, &r);
	verdict = verify_quorum(&q, &o, &r, witnessed, sizeof(witnessed));
	if (r.error[0] != '\0')
		fprintf(stderr, "eppgw-audit: %s\n", r.error);
	for (size_t i = 0; i < r.nwarnings; i++)
		fprintf(stderr, "eppgw-audit: warning: %s\n", r.warnings[i]);
	/* "breaks N" only when there are some: the line stays as before. */
	breaks[0] = '\0';
	if (r.breaks > 0)
		snprintf(breaks, sizeof(breaks), "; breaks %llu",
		    (unsigned long long)r.breaks);
	/* Reported apart: they are not part of the signed log. */
	if (r.set_aside_records > 0 || r.set_aside_bytes > 0)
		snprintf(breaks + strlen(breaks), sizeof(breaks) -
		    strlen(breaks), "; set aside unauthenticated %llu records "
		    "(%llu bytes)", (unsigned long long)r.set_aside_records,
		    (unsigned long long)r.set_aside_bytes);
	printf("records %llu, segments %llu, %llu bytes; checkpoints %llu, "
	    "sealed %llu; known %zu%s; recoveries %llu%s: %s\n",
	    (unsigned long long)r.records, (unsigned long long)r.segments,
	    (unsigned long long)r.bytes, (unsigned long long)r.checkpoints,
	    (unsigned long long)r.sealed, o.nknown, witnessed,
	    (unsigned long long)r.recoveries, breaks,
	    verdict == AUDIT_VALID ? "VALID" :
	    verdict == AUDIT_WARNINGS ? "VALID WITH WARNINGS" :
	    verdict == AUDIT_TAMPERED ? "INVALID" : "CANNOT VERIFY");
	audit_verify_free(&r);
	audit_quorum_free(&q);
	free(known);
	return verdict;
}

/* ---- show ---- */

struct filter {
	const char	*clid, *principal, *decision, *class, *type;
	struct audit_object object;
	int		 has_object;
	struct audit_range range;
	int		 table;
	int		 verified;	/* --vkey given */
	uint64_t	 sealed;	/* a verified checkpoint's size */
	uint64_t	 unsealed_shown;
};

static int
str_or_member(json_t *j, const char *key, const char *want)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;

	if (json_is_string(v))
		return strcasecmp(json_string_value(v), want) == 0;
	json_array_foreach(v, i, e)
		if (json_is_string(e) &&
		    strcasecmp(json_string_value(e), want) == 0)
			return 1;
	return 0;
}

/* The object as the gateway stores it (normalised), or as given without
 * regard to case, as show always compared. */
static int
object_member(const struct filter *f, json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;

	if (json_is_string(v))
		return audit_object_is(&f->object, json_string_value(v)) ||
		    strcasecmp(json_string_value(v), f->object.given) == 0;
	json_array_foreach(v, i, e)
		if (json_is_string(e) && (audit_object_is(&f->object,
		    json_string_value(e)) || strcasecmp(json_string_value(e),
		    f->object.given) == 0))
			return 1;
	return 0;
}

static int
matches(const struct filter *f, json_t *j)
{
	if (f->has_object && !object_member(f, j, "objects") &&
	    !object_member(f, j, "object") && !object_member(f, j, "obj"))
		return 0;
	if (f->clid != NULL && !str_or_member(j, "clid", f->clid))
		return 0;
	if (f->principal != NULL && !str_or_member(j, "principal",
	    f->principal) && !str_or_member(j, "approver", f->principal) &&
	    !str_or_member(j, "requester", f->principal))
		return 0;
	if (f->decision != NULL && !str_or_member(j, "decision", f->decision))
		return 0;
	if (f->class != NULL && !str_or_member(j, "classes", f->class))
		return 0;
	if (f->type != NULL && !str_or_member(j, "t", f->type))
		return 0;
	/* Instants, not text: "+01:00" and "-1h" mean what they say. */
	return audit_range_has(&f->range, json_string_value(
	    json_object_get(j, "ts")));
}

/* A table cell: a string, an integer or a list joined with ","; "-" when
 * empty, control bytes as "?" (clTRIDs and names are registrar input). */
static const char *
cell(json_t *j, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(j, k), *e;
	size_t i, off = 0;

	buf[0] = '\0';
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		json_array_foreach(v, i, e) {
			if (json_is_string(e) && off + 2 < len)
				off += (size_t)snprintf(buf + off, len - off,
				    "%s%s", i ? "," : "",
				    json_string_value(e));
			if (off >= len)
				break;
		}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

/* The first of two members that is set. */
static const char *
cell2(json_t *j, const char *k1, const char *k2, char *buf, size_t len)
{
	cell(j, k1, buf, len);
	return strcmp(buf, "-") != 0 ? buf : cell(j, k2, buf, len);
}

#define SHOW_TITLES	"SEQ", "TS", "TYPE", "CLID", "PRINCIPAL", \
			"OBJECTS", "COMMAND", "DECISION", "CODE", \
			"APPROVER", "REPLY"
#define SHOW_FORMAT	"%-8s %-27s %-11s %-12s %-10s %-24s %-16s %-17s " \
			"%-5s %-10s %-5s"

/* One line of the table, without the padding of its last column. */
static void
table_print(const struct filter *f, const char *seq, const char *ts,
    const char *t, const char *clid, const char *principal,
    const char *objects, const char *cmd, const char *decision,
    const char *code, const char *approver, const char *reply,
    const char *sealed)
{
	char line[4096];
	size_t n;

	snprintf(line, sizeof(line), SHOW_FORMAT " %s", seq, ts, t, clid,
	    principal, objects, cmd, decision, code, approver, reply,
	    f->verified ? sealed : "");
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

/*
 * One table row.  CODE is the code of an rsp record; REPLY, on a cmd row,
 * the code of the reply to that command (its rsp record names it by req);
 * APPROVER the approver whose ticket a command used, or the operator of an
 * approval record; DECISION a cmd's decision, or the event of an approval
 * or session record.
 */
static void
table_row(struct filter *f, json_t *j, int reply)
{
	char b[11][256];
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(j,
	    "seq"));

	if (reply >= 0)
		snprintf(b[10], sizeof(b[10]), "%d", reply);
	else
		snprintf(b[10], sizeof(b[10]), "-");
	table_print(f, cell(j, "seq", b[0], 256), cell(j, "ts", b[1], 256),
	    cell(j, "t", b[2], 256), cell(j, "clid", b[3], 256),
	    cell(j, "principal", b[4], 256), cell2(j, "objects", "object",
	    b[5], 256), cell(j, "cmd", b[6], 256), cell2(j, "decision",
	    "event", b[7], 256), json_is_integer(json_object_get(j, "code")) ?
	    cell(j, "code", b[8], 256) : "-", cell2(j, "approver",
	    "operator", b[9], 256), b[10], seq < f->sealed ? "yes" : "no");
}

/*
 * The table holds a cmd row back until its reply has been read, so REPLY
 * can be filled in: rows wait in a queue, in log order, and leave it from
 * the front.  A reply that does not come (a crash: the recovery record
 * lists the command as unanswered) or comes late under --follow does not
 * hold the rows behind it for ever.
 */
#define SHOW_HOLD_MS	2000	/* --follow: the longest wait for a reply */
#define SHOW_MAX_QUEUE	65536

struct shown {
	json_t		*rec;
	uint64_t	 seq;
	int		 waiting;	/* a cmd, its reply not read yet */
	int		 reply;		/* its code, -1: none */
	int64_t		 at;		/* read when (ms, monotonic) */
};

struct showq {
	struct shown	*q;	/* queue_flush keeps at most SHOW_MAX_QUEUE */
	size_t		 head, n, cap;
	int		 follow;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The queued row of seq (the queue is in seq order), or NULL. */
static struct shown *
queued(struct showq *s, uint64_t seq)
{
	size_t lo = s->head, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->q[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->q[lo].seq == seq ? &s->q[lo] : NULL;
}

static void
queue_flush(struct filter *f, struct showq *s, int all)
{
	int64_t now = mono_ms();
	struct shown *h;

	while (s->head < s->n) {
		h = &s->q[s->head];
		if (h->waiting && !all && s->n - s->head < SHOW_MAX_QUEUE &&
		    (!s->follow || now - h->at < SHOW_HOLD_MS))
			break;
		table_row(f, h->rec, h->reply);
		json_decref(h->rec);
		s->head++;
	}
	if (s->head == s->n)
		s->head = s->n = 0;
}

static void
queue_add(struct showq *s, json_t *j)
{
	struct shown *e;

	if (s->n == s->cap) {
		/* Reuse what the front has left before growing. */
		if (s->head > 0) {
			memmove(s->q, s->q + s->head, (s->n - s->head) *
			    sizeof(*s->q));
			s->n -= s->head;
			s->head = 0;
		} else {
			if ((s->q = grow_array(s->q, &s->cap, s->n + 1,
			    sizeof(*s->q), 2 * SHOW_MAX_QUEUE)) == NULL)
				audit_die(EXIT_USAGE, "out of memory");
		}
	}
	e = &s->q[s->n++];
	e->rec = json_incref(j);
	e->seq = (uint64_t)json_integer_value(json_object_get(j, "seq"));
	e->waiting = str_or_member(j, "t", "cmd");
	e->reply = -1;
	e->at = mono_ms();
}

/* What a record says about the rows waiting for replies. */
static void
queue_note(struct showq *s, json_t *j)
{
	struct shown *e;
	json_t *v;
	size_t i;

	if (s->head == s->n)
		return;
	if (str_or_member(j, "t", "rsp")) {
		if ((e = queued(s, (uint64_t)json_integer_value(
		    json_object_get(j, "req")))) != NULL && e->waiting) {
			e->waiting = 0;
			if (json_is_integer(json_object_get(j, "code")))
				e->reply = (int)json_integer_value(
				    json_object_get(j, "code"));
		}
	} else if (str_or_member(j, "t", "recovery"))
		json_array_foreach(json_object_get(j, "unanswered"), i, v)
			if ((e = queued(s, (uint64_t)json_integer_value(v))) !=
			    NULL)
				e->waiting = 0;
}

static void
show_line(struct filter *f, struct showq *s, const char *line, size_t len)
{
	json_t *j;
	json_error_t jerr;

	if ((j = json_loadb(line, len, 0, &jerr)) == NULL)
		return;
	if (f->table)
		queue_note(s, j);
	if (matches(f, j)) {
		if (f->table)
			queue_add(s, j);
		else {
			printf("%.*s\n", (int)len, line);
			if (f->verified && (uint64_t)json_integer_value(
			    json_object_get(j, "seq")) >= f->sealed)
				f->unsealed_shown++;
		}
	}
	json_decref(j);
	if (f->table)
		queue_flush(f, s, 0);
}

/* Print the complete lines of path from *off on; advance *off. */
static void
show_file(struct filter *f, struct showq *s, const char *path, long *off)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(path, "r")) == NULL)
		return;
	if (fseek(fp, *off, SEEK_SET) == -1) {
		fclose(fp);
		return;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n')
			break;		/* being written: read it later */
		show_line(f, s, line, (size_t)n - 1);
		*off += n;
	}
	free(line);
	fclose(fp);
	fflush(stdout);
}

static int
cmd_show(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "object", required_argument, NULL, 'o' },
		{ "clid", required_argument, NULL, 'c' },
		{ "principal", required_argument, NULL, 'p' },
		{ "decision", required_argument, NULL, 'd' },
		{ "class", required_argument, NULL, 'C' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "table", no_argument, NULL, 'T' },
		{ "follow", no_argument, NULL, 'f' },
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct filter f;
	struct showq q;
	struct note_verifier v;
	struct audit_verify_opts o;
	struct audit_verify_result r;
	char **names, path[4096], cur[AUDIT_SEG_NAMELEN + 1] = "";
	size_t n;
	long off = 0;
	int ch, follow = 0, have_key = 0;

	memset(&f, 0, sizeof(f));
	memset(&q, 0, sizeof(q));
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (audit_object_init(&f.object, optarg) == -1)
				audit_die(EXIT_USAGE, "--object: empty name");
			f.has_object = 1;
			break;
		case 'c': f.clid = optarg; break;
		case 'p': f.principal = optarg; break;
		case 'd': f.decision = optarg; break;
		case 'C': f.class = optarg; break;
		case 't': f.type = optarg; break;
		case 's': audit_range_set(&f.range, "--since", optarg); break;
		case 'u': audit_range_set(&f.range, "--until", optarg); break;
		case 'T': f.table = 1; break;
		case 'f': follow = 1; break;
		case 'k':
			audit_load_vkey(optarg, &v);
			have_key = 1;
			break;
		default: audit_usage();
		}
	}
	if (argc - optind != 1)
		audit_usage();
	/* A record is sealed some time after it is written: what --follow
	 * shows never is, yet. */
	if (have_key && follow)
		audit_die(EXIT_USAGE, "--vkey and --follow: a record being "
		    "followed is not sealed yet");
	if (have_key) {
		memset(&o, 0, sizeof(o));
		o.vkey = &v;
		o.want_seq = -1;
		audit_verify_dir(argv[optind], &o, &r);
		if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT)
			audit_die((int)r.verdict, "%s: %s", argv[optind],
			    r.error);
		f.verified = 1;
		f.sealed = r.sealed;
		audit_verify_free(&r);
	}
	q.follow = follow;
	if (f.table)
		table_print(&f, SHOW_TITLES, "SEALED");
	for (;;) {
		if (audit_list_segments(argv[optind], &names, &n) == -1)
			audit_die(EXIT_USAGE, "%s: %s", argv[optind],
			    strerror(errno));
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i], cur) < 0)
				continue;
			if (strcmp(names[i], cur) > 0) {
				snprintf(cur, sizeof(cur), "%s", names[i]);
				off = 0;
			}
			snprintf(path, sizeof(path), "%s/%s", argv[optind],
			    names[i]);
			show_file(&f, &q, path, &off);
		}
		audit_free_segments(names, n);
		if (!follow)
			break;
		queue_flush(&f, &q, 0);
		fflush(stdout);
		usleep(300 * 1000);
	}
	queue_flush(&f, &q, 1);
	free(q.q);
	if (f.unsealed_shown > 0)
		fprintf(stderr, "eppgw-audit: %llu of the records shown are "
		    "not covered by a verified checkpoint (seq %llu on)\n",
		    (unsigned long long)f.unsealed_shown,
		    (unsigned long long)f.sealed);
	return 0;
}

/* ---- proofs (prove: prove.c) ---- */

static int
cmd_verify_proof(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "line-file", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier v;
	struct tlog_proof p;
	struct checkpoint cp;
	const char *linefile = NULL, *data;
	char *text, *line = NULL;
	struct err e = ERR_INIT;
	size_t len, dlen;
	merkle_hash leaf;
	int ch, have_key = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			audit_load_vkey(optarg, &v);
			have_key = 1;
			break;
		case 'l':
			linefile = optarg;
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1 || !have_key)
		audit_usage();
	text = read_file(argv[optind], 1 << 24, &len);
	if (tlog_proof_parse(text, len, &p, &e) == -1)
		audit_die(1, "%s: %s", argv[optind], err_msg(&e));
	if (checkpoint_open(p.note, p.notelen, &v, &cp, &e) != CHECKPOINT_OK)
		audit_die(1, "%s: %s", argv[optind], err_msg(&e));
	if (linefile != NULL) {
		line = read_file(linefile, 1 << 24, &dlen);
		if (dlen > 0 && line[dlen - 1] == '\n')
			dlen--;
		data = line;
	} else if (p.has_extra) {
		data = (const char *)p.extra;
		dlen = p.extralen;
	} else
		audit_die(EXIT_USAGE, "the proof carries no record: give "
		    "--line-file");
	merkle_leaf_hash(data, dlen, leaf);
	if (merkle_inclusion_verify(p.index, cp.size, leaf, p.hashes,
	    p.nhashes, cp.root) == -1)
		audit_die(1, "%s: the record is not at index %llu of %s at "
		    "size %llu", argv[optind], (unsigned long long)p.index,
		    cp.origin, (unsigned long long)cp.size);
	printf("%.*s\n", (int)dlen, data);
	fprintf(stderr, "eppgw-audit: seq %llu is in %s at size %llu: OK\n",
	    (unsigned long long)p.index, cp.origin,
	    (unsigned long long)cp.size);
	tlog_proof_free(&p);
	free(line);
	free(text);
	return 0;
}

static int
cmd_consistency(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "old", required_argument, NULL, 'o' },
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_verify_result r;
	struct audit_verify_opts o;
	struct note_verifier v, *vp = NULL;
	struct checkpoint oldcp, newcp;
	merkle_hash proof[MERKLE_MAX_PROOF];
	const char *old = NULL;
	char *text, b64[64];
	struct err e = ERR_INIT;
	size_t len, plen;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			old = optarg;
			break;
		case 'k':
			audit_load_vkey(optarg, &v);
			vp = &v;
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1 || old == NULL)
		audit_usage();
	text = read_file(old, CHECKPOINT_MAX_NOTE, &len);
	if (checkpoint_open(text, len, vp, &oldcp, &e) != CHECKPOINT_OK)
		audit_die(1, "%s: %s", old, err_msg(&e));
	/* The log must contain the old checkpoint: verify with it known. */
	memset(&o, 0, sizeof(o));
	o.vkey = vp;
	o.keep_leaves = 1;
	o.want_seq = -1;
	o.known = (const char * const *)&old;
	o.nknown = 1;
	audit_verify_dir(argv[optind], &o, &r);
	if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT)
		audit_die((int)r.verdict, "%s", r.error);
	if (r.latest_note == NULL || checkpoint_open(r.latest_note,
	    strlen(r.latest_note), NULL, &newcp, NULL) != CHECKPOINT_OK)
		audit_die(1, "no latest checkpoint");
	if (merkle_consistency_proof(r.leaves, newcp.size, oldcp.size, proof,
	    &plen) == -1)
		audit_die(1, "cannot prove %llu -> %llu",
		    (unsigned long long)oldcp.size,
		    (unsigned long long)newcp.size);
	/* The tlog-witness add-checkpoint body. */
	printf("old %llu\n", (unsigned long long)oldcp.size);
	for (size_t i = 0; i < plen; i++) {
		checkpoint_b64_encode(proof[i], MERKLE_HASH_LEN, b64);
		printf("%s\n", b64);
	}
	printf("\n%s", r.latest_note);
	audit_verify_free(&r);
	free(text);
	return 0;
}

static int
cmd_vkey(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "witness", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier v;
	struct cosig_verifier w;
	EVP_PKEY *k;
	const char *name = NULL;
	char out[512];
	int ch, witness = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch == 'w')
			witness = 1;
		else
			audit_usage();
	}
	if (argc - optind != 1 || name == NULL)
		audit_usage();
	audit_load_vkey(argv[optind], &v);
	if (witness) {
		/* The same Ed25519 key, as a cosignature (type 4) key. */
		if ((k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    v.pub, sizeof(v.pub))) == NULL)
			audit_die(EXIT_USAGE, "%s: not an Ed25519 key",
			    argv[optind]);
		if (cosig_verifier_from_pkey(k, name, &w) == -1 ||
		    cosig_verifier_format(&w, out, sizeof(out)) == -1)
			audit_die(EXIT_USAGE, "bad key name %s", name);
		EVP_PKEY_free(k);
	} else if (note_verifier_set_name(&v, name) == -1 ||
	    note_verifier_format(&v, out, sizeof(out)) == -1)
		audit_die(EXIT_USAGE, "bad key name %s", name);
	printf("%s\n", out);
	return 0;
}

/* ---- break ---- */

/* The operator's name: --operator, else the login name. */
static const char *
operator_name(const char *given)
{
	struct passwd *pw;

	if (given != NULL)
		return given;
	if ((pw = getpwuid(getuid())) != NULL)
		return pw->pw_name;
	audit_die(EXIT_USAGE, "who is the operator? give --operator");
}

static int
cmd_break(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "reason", required_argument, NULL, 'r' },
		{ "operator", required_argument, NULL, 'o' },
		{ "origin", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_break_opts o;
	char seg[64];
	struct err e = ERR_INIT;
	int ch, rc;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			o.signing_key = optarg;
			break;
		case 'r':
			o.reason = optarg;
			break;
		case 'o':
			o.operator = optarg;
			break;
		case 'O':
			o.origin = optarg;
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1 || o.signing_key == NULL || o.reason == NULL ||
	    *o.reason == '\0')
		audit_usage();
	o.dir = argv[optind];
	o.operator = operator_name(o.operator);
	if ((rc = audit_break(&o, seg, sizeof(seg), &e)) != 0)
		audit_die(rc == 1 ? 1 : EXIT_USAGE, "%s", err_msg(&e));
	printf("break recorded by %s in %s/%s\n", o.operator, o.dir, seg);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		audit_usage();
	if (strcmp(argv[1], "-V") == 0) {
		printf("eppgw-audit %s\n", EPPGW_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "changes") == 0)
		return audit_cmd_changes(argc - 1, argv + 1);
	if (strcmp(argv[1], "prove") == 0)
		return audit_cmd_prove(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify-proof") == 0)
		return cmd_verify_proof(argc - 1, argv + 1);
	if (strcmp(argv[1], "consistency") == 0)
		return cmd_consistency(argc - 1, argv + 1);
	if (strcmp(argv[1], "vkey") == 0)
		return cmd_vkey(argc - 1, argv + 1);
	if (strcmp(argv[1], "break") == 0)
		return cmd_break(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return audit_cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify-bundle") == 0)
		return audit_cmd_verify_bundle(argc - 1, argv + 1);
	if (strcmp(argv[1], "witness") == 0)
		return audit_cmd_witness(argc - 1, argv + 1);
	audit_usage();
}
