/*
 * eppgw-audit: the compliance reviewer's tool (see docs/audit-log.md).
 *
 *   verify [--vkey F] [--known-checkpoint F]... [--require-sealed] DIR
 *   show [--object X] [--clid X] [--principal X] [--decision X] [--class X]
 *        [--type T] [--since T] [--until T] [--table] [--follow] DIR
 *   prove --seq N [--vkey F] DIR
 *   verify-proof --vkey F [--line-file F] PROOF
 *   consistency --old F [--vkey F] DIR
 *   vkey --name NAME PUBKEY
 *   break --key F --reason TEXT [--operator NAME] [--origin O] DIR
 *
 * verify exits 0 valid and sealed, 1 tampered, 2 valid with warnings,
 * 3 cannot verify.  The other commands exit 0 on success, 1 when a proof
 * fails, 3 on usage or I/O errors.  break exits 0 when it recorded a break,
 * 1 when there is nothing it may break (the log verifies, or a checkpoint
 * file is bad), 3 on usage or I/O errors.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "merkle.h"

#define EXIT_USAGE	3

static void
usage(void)
{
	fprintf(stderr,
	    "usage: eppgw-audit verify [--vkey F] [--known-checkpoint F]... "
	    "[--require-sealed] DIR\n"
	    "       eppgw-audit show [--object X] [--clid X] [--principal X] "
	    "[--decision X]\n"
	    "                        [--class X] [--type T] [--since T] "
	    "[--until T] [--table] [--follow] DIR\n"
	    "       eppgw-audit prove --seq N [--vkey F] DIR\n"
	    "       eppgw-audit verify-proof --vkey F [--line-file F] PROOF\n"
	    "       eppgw-audit consistency --old F [--vkey F] DIR\n"
	    "       eppgw-audit vkey --name NAME PUBKEY\n"
	    "       eppgw-audit break --key F --reason TEXT [--operator NAME] "
	    "[--origin O] DIR\n");
	exit(EXIT_USAGE);
}

static void
die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eppgw-audit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

static void
load_vkey(const char *path, struct note_verifier *v)
{
	char err[512];

	if (note_verifier_load(path, v, err, sizeof(err)) == -1)
		die(EXIT_USAGE, "%s", err);
}

static char *
read_file(const char *path, size_t max, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		die(EXIT_USAGE, "%s: %s", path, strerror(errno));
	if ((buf = malloc(max + 1)) == NULL)
		die(EXIT_USAGE, "out of memory");
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max)
		die(EXIT_USAGE, "%s: %s", path, ferror(f) ? "read error" :
		    "too large");
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- verify ---- */

static int
cmd_verify(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "known-checkpoint", required_argument, NULL, 'K' },
		{ "require-sealed", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_verify_opts o;
	struct audit_verify_result r;
	struct note_verifier v;
	const char **known = NULL;
	char breaks[128];
	int ch;

	memset(&o, 0, sizeof(o));
	o.want_seq = -1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			load_vkey(optarg, &v);
			o.vkey = &v;
			break;
		case 'K':
			if ((known = realloc(known, (o.nknown + 1) *
			    sizeof(*known))) == NULL)
				die(EXIT_USAGE, "out of memory");
			known[o.nknown++] = optarg;
			break;
		case 's':
			o.require_sealed = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	o.known = known;
	audit_verify_dir(argv[optind], &o, &r);
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
	    "sealed %llu; known %zu; recoveries %llu%s: %s\n",
	    (unsigned long long)r.records, (unsigned long long)r.segments,
	    (unsigned long long)r.bytes, (unsigned long long)r.checkpoints,
	    (unsigned long long)r.sealed, o.nknown,
	    (unsigned long long)r.recoveries, breaks,
	    r.verdict == AUDIT_VALID ? "VALID" :
	    r.verdict == AUDIT_WARNINGS ? "VALID WITH WARNINGS" :
	    r.verdict == AUDIT_TAMPERED ? "INVALID" : "CANNOT VERIFY");
	audit_verify_free(&r);
	free(known);
	return (int)r.verdict;
}

/* ---- show ---- */

struct filter {
	const char	*object, *clid, *principal, *decision, *class, *type;
	const char	*since, *until;
	int		 table;
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

static int
matches(const struct filter *f, json_t *j)
{
	const char *ts = json_string_value(json_object_get(j, "ts"));

	if (f->object != NULL && !str_or_member(j, "objects", f->object) &&
	    !str_or_member(j, "object", f->object) &&
	    !str_or_member(j, "obj", f->object))
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
	/* RFC 3339 UTC strings of one layout order as text; a prefix such
	 * as "2025-06-01" works as a bound. */
	if (f->since != NULL && (ts == NULL || strcmp(ts, f->since) < 0))
		return 0;
	if (f->until != NULL && (ts == NULL || strncmp(ts, f->until,
	    strlen(f->until)) > 0))
		return 0;
	return 1;
}

static const char *
field(json_t *j, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(j, k), *e;
	size_t i, off = 0;

	buf[0] = '\0';
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	json_array_foreach(v, i, e) {
		if (json_is_string(e) && off + 2 < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    i ? "," : "", json_string_value(e));
		if (off >= len)
			break;
	}
	return buf;
}

static void
show_line(const struct filter *f, const char *line, size_t len)
{
	json_t *j;
	json_error_t jerr;
	char b[6][256];

	if ((j = json_loadb(line, len, 0, &jerr)) == NULL)
		return;
	if (matches(f, j)) {
		if (!f->table)
			printf("%.*s\n", (int)len, line);
		else
			printf("%-8s %-27s %-10s %-12s %-10s %-24s %-16s "
			    "%-10s %s\n", field(j, "seq", b[0], 256),
			    field(j, "ts", b[1], 256), field(j, "t", b[2], 256),
			    field(j, "clid", b[3], 256),
			    field(j, "principal", b[4], 256),
			    field(j, "objects", b[5], 256),
			    json_string_value(json_object_get(j, "cmd")) ?
			    json_string_value(json_object_get(j, "cmd")) : "",
			    json_string_value(json_object_get(j, "decision")) ?
			    json_string_value(json_object_get(j, "decision")) :
			    "", json_is_integer(json_object_get(j, "code")) ?
			    field(j, "code", b[0], 256) : "");
	}
	json_decref(j);
}

/* Print the complete lines of path from *off on; advance *off. */
static void
show_file(const struct filter *f, const char *path, long *off)
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
		show_line(f, line, (size_t)n - 1);
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
		{ NULL, 0, NULL, 0 }
	};
	struct filter f;
	char **names, path[4096], cur[AUDIT_SEG_NAMELEN + 1] = "";
	size_t n;
	long off = 0;
	int ch, follow = 0;

	memset(&f, 0, sizeof(f));
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o': f.object = optarg; break;
		case 'c': f.clid = optarg; break;
		case 'p': f.principal = optarg; break;
		case 'd': f.decision = optarg; break;
		case 'C': f.class = optarg; break;
		case 't': f.type = optarg; break;
		case 's': f.since = optarg; break;
		case 'u': f.until = optarg; break;
		case 'T': f.table = 1; break;
		case 'f': follow = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (f.table)
		printf("%-8s %-27s %-10s %-12s %-10s %-24s %-16s %-10s %s\n",
		    "SEQ", "TS", "TYPE", "CLID", "PRINCIPAL", "OBJECTS",
		    "COMMAND", "DECISION", "CODE");
	for (;;) {
		if (audit_list_segments(argv[optind], &names, &n) == -1)
			die(EXIT_USAGE, "%s: %s", argv[optind],
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
			show_file(&f, path, &off);
		}
		audit_free_segments(names, n);
		if (!follow)
			break;
		usleep(300 * 1000);
	}
	return 0;
}

/* ---- proofs ---- */

static void
verified_log(const char *dir, const struct note_verifier *v, int64_t seq,
    struct audit_verify_result *r)
{
	struct audit_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.vkey = v;
	o.keep_leaves = 1;
	o.want_seq = seq;
	audit_verify_dir(dir, &o, r);
	if (r->verdict == AUDIT_TAMPERED || r->verdict == AUDIT_CANNOT)
		die((int)r->verdict, "%s", r->error);
	if (r->latest_note == NULL)
		die(1, "%s: no checkpoint to prove against", dir);
}

static int
cmd_prove(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "seq", required_argument, NULL, 'n' },
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_verify_result r;
	struct note_verifier v, *vp = NULL;
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t plen;
	long long seq = -1;
	char *end, *doc;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			seq = strtoll(optarg, &end, 10);
			if (errno || *end != '\0' || seq < 0)
				die(EXIT_USAGE, "bad --seq %s", optarg);
			break;
		case 'k':
			load_vkey(optarg, &v);
			vp = &v;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || seq < 0)
		usage();
	verified_log(argv[optind], vp, seq, &r);
	if ((uint64_t)seq >= r.sealed)
		die(1, "seq %lld is not covered by the latest checkpoint "
		    "(size %llu) yet", seq, (unsigned long long)r.sealed);
	if (merkle_inclusion_proof(r.leaves, r.sealed, (uint64_t)seq, proof,
	    &plen) == -1 || r.want_line == NULL)
		die(1, "cannot prove seq %lld", seq);
	doc = tlog_proof_format(r.want_line, r.want_len, (uint64_t)seq, proof,
	    plen, r.latest_note);
	fputs(doc, stdout);
	free(doc);
	audit_verify_free(&r);
	return 0;
}

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
	char *text, *line = NULL, err[512];
	size_t len, dlen;
	merkle_hash leaf;
	int ch, have_key = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'k':
			load_vkey(optarg, &v);
			have_key = 1;
			break;
		case 'l':
			linefile = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || !have_key)
		usage();
	text = read_file(argv[optind], 1 << 24, &len);
	if (tlog_proof_parse(text, len, &p, err, sizeof(err)) == -1)
		die(1, "%s: %s", argv[optind], err);
	if (checkpoint_open(p.note, p.notelen, &v, &cp, err, sizeof(err)) !=
	    CHECKPOINT_OK)
		die(1, "%s: %s", argv[optind], err);
	if (linefile != NULL) {
		line = read_file(linefile, 1 << 24, &dlen);
		if (dlen > 0 && line[dlen - 1] == '\n')
			dlen--;
		data = line;
	} else if (p.has_extra) {
		data = (const char *)p.extra;
		dlen = p.extralen;
	} else
		die(EXIT_USAGE, "the proof carries no record: give "
		    "--line-file");
	merkle_leaf_hash(data, dlen, leaf);
	if (merkle_inclusion_verify(p.index, cp.size, leaf, p.hashes,
	    p.nhashes, cp.root) == -1)
		die(1, "%s: the record is not at index %llu of %s at size "
		    "%llu", argv[optind], (unsigned long long)p.index,
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
	char *text, err[512], b64[64];
	size_t len, plen;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			old = optarg;
			break;
		case 'k':
			load_vkey(optarg, &v);
			vp = &v;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || old == NULL)
		usage();
	text = read_file(old, CHECKPOINT_MAX_NOTE, &len);
	if (checkpoint_open(text, len, vp, &oldcp, err, sizeof(err)) !=
	    CHECKPOINT_OK)
		die(1, "%s: %s", old, err);
	/* The log must contain the old checkpoint: verify with it known. */
	memset(&o, 0, sizeof(o));
	o.vkey = vp;
	o.keep_leaves = 1;
	o.want_seq = -1;
	o.known = (const char * const *)&old;
	o.nknown = 1;
	audit_verify_dir(argv[optind], &o, &r);
	if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT)
		die((int)r.verdict, "%s", r.error);
	if (r.latest_note == NULL || checkpoint_open(r.latest_note,
	    strlen(r.latest_note), NULL, &newcp, err, sizeof(err)) !=
	    CHECKPOINT_OK)
		die(1, "no latest checkpoint");
	if (merkle_consistency_proof(r.leaves, newcp.size, oldcp.size, proof,
	    &plen) == -1)
		die(1, "cannot prove %llu -> %llu",
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
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier v;
	const char *name = NULL;
	char out[512];
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'n')
			usage();
		name = optarg;
	}
	if (argc - optind != 1 || name == NULL)
		usage();
	load_vkey(argv[optind], &v);
	if (note_verifier_set_name(&v, name) == -1 ||
	    note_verifier_format(&v, out, sizeof(out)) == -1)
		die(EXIT_USAGE, "bad key name %s", name);
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
	die(EXIT_USAGE, "who is the operator? give --operator");
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
	char seg[64], err[1024];
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
			usage();
		}
	}
	if (argc - optind != 1 || o.signing_key == NULL || o.reason == NULL ||
	    *o.reason == '\0')
		usage();
	o.dir = argv[optind];
	o.operator = operator_name(o.operator);
	if ((rc = audit_break(&o, seg, sizeof(seg), err, sizeof(err))) != 0)
		die(rc == 1 ? 1 : EXIT_USAGE, "%s", err);
	printf("break recorded by %s in %s/%s\n", o.operator, o.dir, seg);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "-V") == 0) {
		printf("eppgw-audit %s\n", EPPGW_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "prove") == 0)
		return cmd_prove(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify-proof") == 0)
		return cmd_verify_proof(argc - 1, argv + 1);
	if (strcmp(argv[1], "consistency") == 0)
		return cmd_consistency(argc - 1, argv + 1);
	if (strcmp(argv[1], "vkey") == 0)
		return cmd_vkey(argc - 1, argv + 1);
	if (strcmp(argv[1], "break") == 0)
		return cmd_break(argc - 1, argv + 1);
	usage();
}
