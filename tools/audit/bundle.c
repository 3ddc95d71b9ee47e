/*
 * bundle.c: evidence bundles for auditors, who sample changes and check
 * each one offline (docs/audit-log.md, "Evidence bundles").
 *
 *   export (--change ID | --seq N) --vkey F [-o FILE] DIR
 *   verify-bundle [--vkey F] FILE
 *
 * A bundle is one JSON object in a fixed layout, a member a line and a
 * record a line, so it can be read and diffed:
 *
 *   {"format":"eppgw-evidence/1",
 *   "origin":"...",
 *   "select":{"change":"ID"} or {"seq":N},
 *   "vkey":"name+hex8+base64",
 *   "checkpoint":"the signed note",
 *   "records":[
 *   {"seq":N,"line":"the stored line","proof":["hex",...]},
 *   ...
 *   ]}
 *
 * Each record's proof is its RFC 6962 inclusion proof in the tree of the
 * checkpoint, so the bundle stands alone: the key opens the checkpoint,
 * the checkpoint's root takes every line.  What a bundle cannot show is
 * that no record of the change was left out: that needs the whole log.
 */
#define _GNU_SOURCE	/* memmem(3) */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_bundle.h"
#include "audit_cli.h"
#include "buf.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "merkle.h"

#define BUNDLE_MAX_RECORDS	100000

/* ---- export ---- */

/* What a change's bundle holds, collected in one pass over the log. */
struct pick {
	const char	*change;	/* change_id, or NULL */
	int64_t		 one;		/* this seq too (-1: none) */
	uint64_t	*cmds;		/* the cmd seqs taken, ascending */
	size_t		 ncmds, capcmds;
	json_t		*records;	/* [{seq, line}] in log order */
};

static int
is_type(json_t *j, const char *t)
{
	const char *s = json_string_value(json_object_get(j, "t"));

	return s != NULL && strcmp(s, t) == 0;
}

static int
has_cmd(const struct pick *p, uint64_t seq)
{
	for (size_t i = 0; i < p->ncmds; i++)
		if (p->cmds[i] == seq)
			return 1;
	return 0;
}

/* Whether one record belongs to the bundle. */
static int
wanted(struct pick *p, json_t *j, uint64_t seq)
{
	const char *id = json_string_value(json_object_get(j, "change_id"));
	json_t *req;

	if ((int64_t)seq == p->one)
		return 1;
	if (p->change != NULL && id != NULL && strcmp(id, p->change) == 0 &&
	    (is_type(j, "cmd") || is_type(j, "approval")))
		return 1;
	/* A reply follows its command, so the command is already taken. */
	req = json_object_get(j, "req");
	return is_type(j, "rsp") && json_is_integer(req) &&
	    json_integer_value(req) >= 0 && has_cmd(p,
	    (uint64_t)json_integer_value(req));
}

static void
take(struct pick *p, const char *line, size_t len)
{
	json_t *j, *e;
	json_int_t seq;

	/* Cheap tests first: most lines are of other changes. */
	if (p->change != NULL && p->one < 0 && memmem(line, len, p->change,
	    strlen(p->change)) == NULL && memmem(line, len, "\"req\":", 6) ==
	    NULL)
		return;
	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return;
	seq = json_integer_value(json_object_get(j, "seq"));
	if (!json_is_integer(json_object_get(j, "seq")) || seq < 0 ||
	    !wanted(p, j, (uint64_t)seq))
		goto out;
	if (is_type(j, "cmd")) {
		/* Each a record, and a bundle holds at most
		 * BUNDLE_MAX_RECORDS (checked below, before the next). */
		if ((p->cmds = grow_array(p->cmds, &p->capcmds, p->ncmds + 1,
		    sizeof(*p->cmds), BUNDLE_MAX_RECORDS + 1)) == NULL)
			audit_die(EXIT_USAGE, "out of memory");
		p->cmds[p->ncmds++] = (uint64_t)seq;
	}
	if (json_array_size(p->records) >= BUNDLE_MAX_RECORDS)
		audit_die(EXIT_USAGE, "more than %d records", BUNDLE_MAX_RECORDS);
	if ((e = json_pack("{s:I,s:s%}", "seq", seq, "line", line, len)) ==
	    NULL || json_array_append_new(p->records, e) == -1)
		audit_die(EXIT_USAGE, "out of memory");
 out:
	json_decref(j);
}

/* Every complete line of every segment, in seq order. */
static void
scan(const char *dir, struct pick *p)
{
	char **names, path[4096], *line = NULL;
	size_t n, cap = 0;
	ssize_t len;
	FILE *fp;

	if (audit_list_segments(dir, &names, &n) == -1)
		audit_die(EXIT_USAGE, "%s: cannot list segments", dir);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((fp = fopen(path, "r")) == NULL)
			audit_die(EXIT_USAGE, "%s: %s", path, strerror(errno));
		while ((len = getline(&line, &cap, fp)) > 0 &&
		    line[len - 1] == '\n')
			take(p, line, (size_t)len - 1);
		fclose(fp);
	}
	free(line);
	audit_free_segments(names, n);
}

/* One JSON value, compact, as the fixed layout writes it. */
static void
put(FILE *fp, const char *before, json_t *v, const char *after)
{
	char *s;

	if (v == NULL || (s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	fprintf(fp, "%s%s%s", before, s, after);
	free(s);
	json_decref(v);
}

int
audit_cmd_export(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "seq", required_argument, NULL, 'n' },
		{ "vkey", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_verify_result r;
	struct note_verifier v;
	struct checkpoint cp;
	struct pick p;
	merkle_hash proof[MERKLE_MAX_PROOF];
	char vkey[512], hex[2 * MERKLE_HASH_LEN + 1], *end, *id = NULL;
	struct err er = ERR_INIT;
	const char *out = NULL, *dir;
	long long seq = -1;
	int ch, have_key = 0;
	size_t i, plen;
	json_t *e, *j, *hashes, *sel;
	FILE *fp;

	memset(&p, 0, sizeof(p));
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			p.change = optarg;
			break;
		case 'n':
			errno = 0;
			seq = strtoll(optarg, &end, 10);
			if (errno || *end != '\0' || seq < 0)
				audit_die(EXIT_USAGE, "bad --seq %s", optarg);
			break;
		case 'k':
			audit_load_vkey(optarg, &v);
			have_key = 1;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			audit_usage();
		}
	}
	/* The key goes into the bundle, and the log does not hold it. */
	if (argc - optind != 1 || (p.change == NULL) == (seq < 0) ||
	    (p.change != NULL && *p.change == '\0'))
		audit_usage();
	if (!have_key)
		audit_die(EXIT_USAGE, "export needs --vkey: the bundle carries "
		    "the public key, which the log does not hold");
	dir = argv[optind];

	/* Nothing is exported from a log that does not verify. */
	audit_verified_tree(dir, &v, seq, &r);
	if (checkpoint_open(r.latest_note, strlen(r.latest_note), &v, &cp,
	    &er) != CHECKPOINT_OK)
		audit_die(1, "the latest checkpoint: %s", err_msg(&er));
	if (cp.size != r.sealed)
		audit_die(1, "the latest checkpoint has size %llu, the log "
		    "verifies to %llu", (unsigned long long)cp.size,
		    (unsigned long long)r.sealed);

	/* --seq: that record's change, or the command it answers. */
	p.one = -1;
	if (seq >= 0) {
		if (r.want_line == NULL)
			audit_die(1, "no record with seq %lld", seq);
		if ((j = json_loadb(r.want_line, r.want_len, 0, NULL)) == NULL)
			audit_die(1, "seq %lld does not parse", seq);
		p.one = seq;
		if (is_type(j, "rsp") && json_is_integer(json_object_get(j,
		    "req")))
			p.one = json_integer_value(json_object_get(j, "req"));
		if (json_string_value(json_object_get(j, "change_id")) != NULL)
			id = strdup(json_string_value(json_object_get(j,
			    "change_id")));
		json_decref(j);
		/* An rsp's command may belong to a change: look once. */
		if (id == NULL && p.one != seq) {
			if ((p.records = json_array()) == NULL)
				audit_die(EXIT_USAGE, "out of memory");
			scan(dir, &p);
			/* One seq names one record: the first match. */
			json_array_foreach(p.records, i, e)
				if (id == NULL && json_integer_value(
				    json_object_get(e, "seq")) == p.one &&
				    (j = json_loads(
				    json_string_value(json_object_get(e,
				    "line")), 0, NULL)) != NULL) {
					if (json_string_value(json_object_get(
					    j, "change_id")) != NULL)
						id = strdup(json_string_value(
						    json_object_get(j,
						    "change_id")));
					json_decref(j);
				}
			json_decref(p.records);
			free(p.cmds);
			p.cmds = NULL;
			p.ncmds = 0;
		}
		if (id != NULL) {
			p.change = id;
			p.one = -1;
		}
	}
	if ((p.records = json_array()) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	scan(dir, &p);
	if (json_array_size(p.records) == 0)
		audit_die(1, "no records of change %s", p.change);

	if (note_verifier_format(&v, vkey, sizeof(vkey)) == -1 &&
	    (note_verifier_set_name(&v, cp.origin) == -1 ||
	    note_verifier_format(&v, vkey, sizeof(vkey)) == -1))
		audit_die(EXIT_USAGE, "cannot name the key %s", cp.origin);

	if (out == NULL)
		fp = stdout;
	else if ((fp = fopen(out, "w")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", out, strerror(errno));
	sel = p.change != NULL ? json_pack("{s:s}", "change", p.change) :
	    json_pack("{s:I}", "seq", (json_int_t)seq);
	put(fp, "{\"format\":", json_string(BUNDLE_FORMAT), ",\n");
	put(fp, "\"origin\":", json_string(cp.origin), ",\n");
	put(fp, "\"select\":", sel, ",\n");
	put(fp, "\"vkey\":", json_string(vkey), ",\n");
	put(fp, "\"checkpoint\":", json_string(r.latest_note), ",\n");
	fputs("\"records\":[\n", fp);
	json_array_foreach(p.records, i, e) {
		audit_inclusion(&r, (uint64_t)json_integer_value(
		    json_object_get(e, "seq")), proof, &plen);
		if ((hashes = json_array()) == NULL)
			audit_die(EXIT_USAGE, "out of memory");
		for (size_t k = 0; k < plen; k++) {
			merkle_hex(proof[k], hex);
			json_array_append_new(hashes, json_string(hex));
		}
		json_object_set_new(e, "proof", hashes);
		put(fp, "", json_incref(e), i + 1 < json_array_size(
		    p.records) ? ",\n" : "\n");
	}
	fputs("]}\n", fp);
	if (fflush(fp) == EOF || ferror(fp) || (fp != stdout &&
	    fclose(fp) == EOF))
		audit_die(EXIT_USAGE, "%s: write error", out ? out : "stdout");
	fprintf(stderr, "eppgw-audit: %zu records of %s %s, proved at size "
	    "%llu\n", json_array_size(p.records), p.change ? "change" : "seq",
	    p.change ? p.change : argv[optind], (unsigned long long)cp.size);
	json_decref(p.records);
	free(p.cmds);
	free(id);
	audit_verify_free(&r);
	return 0;
}

/* ---- verify-bundle ---- */

/* "eppgw-audit: FILE: why: INVALID", exit 1. */
#define INVALID(...)	bad(path, __VA_ARGS__)

static void __attribute__((format(printf, 2, 3), noreturn))
bad(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eppgw-audit: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("INVALID\n");
	exit(1);
}

/* A table cell: no blanks, no control bytes, "-" when empty. */
static const char *
cell(json_t *j, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(j, k);

	buf[0] = '\0';
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
	for (char *q = buf; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			*q = '?';
	return buf;
}

/* The cell of the first of two members that is set. */
static const char *
cell2(json_t *j, const char *k1, const char *k2, char *buf, size_t len)
{
	cell(j, k1, buf, len);
	return strcmp(buf, "-") != 0 ? buf : cell(j, k2, buf, len);
}

/* The WHO cell: who acted (a command's requester, an approval's operator)
 * or where a reply came from (registry or gateway). */
static const char *
actor_cell(json_t *j, char *buf, size_t len)
{
	if (is_type(j, "rsp"))
		return cell(j, "src", buf, len);
	return cell2(j, "principal", "operator", buf, len);
}

#define BUNDLE_TABLE	"%-8s %-27s %-9s %-16s %-17s %-12s %-10s %s\n"

int
audit_cmd_verify_bundle(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier pin, v;
	struct checkpoint cp;
	merkle_hash leaf, proof[MERKLE_MAX_PROOF];
	json_t *b, *recs, *e, *pr, *h, *rec;
	json_error_t jerr;
	const char *path, *s, *note, *line;
	struct err er = ERR_INIT;
	char c[8][256];
	int ch, pinned = 0;
	size_t i, k, len, plen;
	json_int_t seq, last = -1;
	FILE *fp;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'k')
			audit_usage();
		audit_load_vkey(optarg, &pin);
		pinned = 1;
	}
	if (argc - optind != 1)
		audit_usage();
	path = argv[optind];
	if ((fp = fopen(path, "r")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	b = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
	if (ferror(fp))
		audit_die(EXIT_USAGE, "%s: read error", path);
	fclose(fp);
	/*
	 * A bundle that does not parse has been altered (any byte of a line
	 * or proof may be), so it is invalid, not unreadable.
	 */
	if (b == NULL)
		INVALID("line %d: %s", jerr.line, jerr.text);
	if ((s = json_string_value(json_object_get(b, "format"))) == NULL)
		INVALID("no format");
	if (strcmp(s, BUNDLE_FORMAT) != 0) {
		if (strncmp(s, BUNDLE_FORMAT_PREFIX,
		    strlen(BUNDLE_FORMAT_PREFIX)) == 0) {
			char fmt[64];

			/* Freed first: a leak check at exit must not change
			 * the exit status (sanitizer builds). */
			snprintf(fmt, sizeof(fmt), "%s", s);
			json_decref(b);
			audit_die(EXIT_USAGE, "%s: format %s is newer than "
			    "this eppgw-audit", path, fmt);
		}
		INVALID("not an evidence bundle");
	}

	/* The key: the bundle's, unless it is not the one pinned. */
	if ((s = json_string_value(json_object_get(b, "vkey"))) == NULL ||
	    note_verifier_parse(s, &v) == -1)
		INVALID("no verifier key");
	if (pinned && (memcmp(pin.pub, v.pub, sizeof(v.pub)) != 0 ||
	    (pin.name[0] != '\0' && (strcmp(pin.name, v.name) != 0 ||
	    memcmp(pin.id, v.id, sizeof(v.id)) != 0))))
		INVALID("the bundle's key %s is not the --vkey key", s);
	if ((note = json_string_value(json_object_get(b, "checkpoint"))) ==
	    NULL)
		INVALID("no checkpoint");
	if (checkpoint_open(note, strlen(note), &v, &cp, &er) !=
	    CHECKPOINT_OK)
		INVALID("checkpoint: %s", err_msg(&er));
	if ((s = json_string_value(json_object_get(b, "origin"))) == NULL ||
	    strcmp(s, cp.origin) != 0)
		INVALID("origin is not the checkpoint's (%s)", cp.origin);

	recs = json_object_get(b, "records");
	if (!json_is_array(recs) || json_array_size(recs) == 0)
		INVALID("no records");
	json_array_foreach(recs, i, e) {
		seq = json_integer_value(json_object_get(e, "seq"));
		line = json_string_value(json_object_get(e, "line"));
		pr = json_object_get(e, "proof");
		if (!json_is_integer(json_object_get(e, "seq")) || seq < 0 ||
		    line == NULL || !json_is_array(pr) ||
		    json_object_size(e) != 3)
			INVALID("record %zu: malformed", i + 1);
		/* In log order, each once: a table an auditor can trust. */
		if (seq <= last)
			INVALID("record %zu: seq %lld out of order", i + 1,
			    (long long)seq);
		last = seq;
		if ((uint64_t)seq >= cp.size)
			INVALID("seq %lld: beyond the checkpoint (size %llu)",
			    (long long)seq, (unsigned long long)cp.size);
		if ((plen = json_array_size(pr)) > MERKLE_MAX_PROOF)
			INVALID("seq %lld: proof too long", (long long)seq);
		json_array_foreach(pr, k, h)
			if ((s = json_string_value(h)) == NULL ||
			    merkle_unhex(s, strlen(s), proof[k]) == -1)
				INVALID("seq %lld: proof hash %zu is not hex",
				    (long long)seq, k + 1);
		len = json_string_length(json_object_get(e, "line"));
		merkle_leaf_hash(line, len, leaf);
		if (merkle_inclusion_verify((uint64_t)seq, cp.size, leaf,
		    proof, plen, cp.root) == -1)
			INVALID("seq %lld: the line is not in the log at the "
			    "checkpoint (size %llu)", (long long)seq,
			    (unsigned long long)cp.size);
		/* The line proved is the record of that seq. */
		if ((rec = json_loadb(line, len, 0, NULL)) == NULL ||
		    json_integer_value(json_object_get(rec, "seq")) != seq)
			INVALID("seq %lld: the line is another record's",
			    (long long)seq);
		json_decref(rec);
	}

	/* Everything holds: show what was proved. */
	printf("origin %s, checkpoint size %llu, key %s\n", cp.origin,
	    (unsigned long long)cp.size, json_string_value(json_object_get(b,
	    "vkey")));
	printf(BUNDLE_TABLE, "SEQ", "TS", "TYPE", "COMMAND", "DECISION",
	    "WHO", "APPROVER", "CODE");
	json_array_foreach(recs, i, e) {
		line = json_string_value(json_object_get(e, "line"));
		rec = json_loadb(line, json_string_length(json_object_get(e,
		    "line")), 0, NULL);
		printf(BUNDLE_TABLE, cell(rec, "seq", c[0], 256),
		    cell(rec, "ts", c[1], 256), cell(rec, "t", c[2], 256),
		    cell(rec, "cmd", c[3], 256),
		    cell2(rec, "decision", "event", c[4], 256),
		    actor_cell(rec, c[5], 256),
		    cell(rec, "approver", c[6], 256),
		    json_is_integer(json_object_get(rec, "code")) ?
		    cell(rec, "code", c[7], 256) : "-");
		json_decref(rec);
	}
	printf("%zu records: VALID\n", json_array_size(recs));
	json_decref(b);
	return 0;
}
