/*
 * prove.c: eppgw-audit prove --seq N [--vkey F] DIR, an inclusion proof
 * of one record in the tree of the latest checkpoint (C2SP tlog-proof).
 *
 * A proof rests on two things: the checkpoint's signature, and that the
 * first `size` leaves of the log hash to its root.  Checking those takes
 * the leaf hash of every line (SHA-256 over bytes), not the whole
 * verification, which also reads the layout of every line and checks the
 * signature of every checkpoint record: in a 100 MB log of 109,000
 * records, 34,000 Ed25519 verifications, seconds for one proof.
 *
 * Nor does it take every line: the writer leaves beside each segment it
 * seals the leaf hashes of its lines, seg-N.leaves (audit_verify.h).  So
 * the fast way reads and hashes the record's own segment (its line, and
 * every other line of it, so an alteration there fails as before) and
 * the segments without an index that fits (the open one), and takes for
 * every other sealed segment the 32 bytes a record of its index instead
 * of the segment.  An index fits when its header names the segment as it
 * is (first seq, size in bytes) and its count is what the log says the
 * segment holds (up to the next segment's first seq, or for the last
 * segment up to the size of a seal).  Nothing in an index is trusted:
 * the largest signed checkpoint (the checkpoint file, the newest seal,
 * the last checkpoint record read) is opened, and the root of all the
 * leaves at its size must be its root.  A proof made so is exactly the
 * one the whole verification would give.  It does not see a line altered
 * in another sealed, indexed segment without changing its size (verify
 * does): the proof is still right, since the leaves it rests on are
 * those the checkpoint signs.
 *
 * When that fails, the indexes are left aside (a warning names any that
 * does not match its segment) and every line is hashed, as before; when
 * that fails too, the slow way, the whole verification, says what is
 * wrong: a root that differs (a line altered, removed, added), a
 * checkpoint larger than the log, a bad signature, segments that do not
 * follow each other (a break, whose skipped seqs have filler leaves), a
 * torn line before the last segment's end.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_bundle.h"
#include "buf.h"
#include "audit_cli.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "merkle.h"

#define CP_PREFIX	"{\"note\":"	/* keys are sorted: only a
					   checkpoint record starts so */

/* How the fast way treats the leaf indexes. */
enum index_mode {
	INDEX_USE,	/* take those that fit; hash the other segments */
	INDEX_CHECK	/* hash every segment; report indexes that differ */
};

struct hashed {
	merkle_hash	*leaves;
	uint64_t	 n;
	size_t		 cap;
	int64_t		 want;		/* the seq to prove */
	char		*line;		/* its line, no newline */
	size_t		 linelen;
	char		*cp;		/* the last checkpoint record */
	unsigned	 indexed;	/* segments taken from their index */
};

static void
hashed_free(struct hashed *h)
{
	free(h->leaves);
	free(h->line);
	free(h->cp);
}

static int
keep(char **dst, size_t *dlen, const char *s, size_t len)
{
	char *c;

	if ((c = malloc(len + 1)) == NULL)
		return -1;
	memcpy(c, s, len);
	c[len] = '\0';
	free(*dst);
	*dst = c;
	if (dlen != NULL)
		*dlen = len;
	return 0;
}

/* Room for more leaves: every leaf of the log read, so no maximum but
 * memory (and what a size_t counts). */
static int
reserve(struct hashed *h, uint64_t more)
{
	merkle_hash *nl;

	if (more > SIZE_MAX - h->n)
		return -1;
	if ((nl = grow_array(h->leaves, &h->cap, (size_t)(h->n + more),
	    sizeof(*nl), SIZE_MAX)) == NULL)
		return -1;
	h->leaves = nl;
	return 0;
}

/* The seq a segment's name says it starts at, or -1. */
static int64_t
segment_first(const char *name)
{
	const char *p = name + strlen(AUDIT_SEG_PREFIX);
	int64_t v = 0;

	for (int i = 0; i < 20; i++, p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Hash the lines of one segment; -1 when the slow way must decide. */
static int
hash_segment(struct hashed *h, const char *path, int last)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n') {
			/* A torn tail is no record, and only the last
			 * segment may have one. */
			if (!last)
				goto out;
			break;
		}
		n--;
		if (reserve(h, 1) == -1)
			goto out;
		merkle_leaf_hash(line, (size_t)n, h->leaves[h->n]);
		if ((int64_t)h->n == h->want &&
		    keep(&h->line, &h->linelen, line, (size_t)n) == -1)
			goto out;
		if ((size_t)n > sizeof(CP_PREFIX) - 1 && memcmp(line,
		    CP_PREFIX, sizeof(CP_PREFIX) - 1) == 0 &&
		    keep(&h->cp, NULL, line, (size_t)n) == -1)
			goto out;
		h->n++;
	}
	rc = ferror(fp) ? -1 : 0;
 out:
	free(line);
	fclose(fp);
	return rc;
}

/* The size of a regular file, or -1. */
static int64_t
file_size(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return -1;
	return (int64_t)sb.st_size;
}

/*
 * The index of segment i fits when its header names the segment as it is
 * (first seq, size) and its count is what the log says the segment holds:
 * up to the next segment's first seq, or for the last segment up to the
 * size of a seal (a segment is indexed only once sealed).  0 with its
 * leaves appended to h, 1 when there is no index, -1 with e when there
 * is one that does not fit.
 */
static int
take_index(struct hashed *h, const char *dir, char **names, size_t i,
    size_t n, struct err *e)
{
	char path[4096], iname[AUDIT_LEAVES_NAMELEN + 1];
	merkle_hash *l = NULL;
	uint64_t count, first = h->n;
	int64_t size;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
	if ((size = file_size(path)) < 0)
		return 1;
	if ((rc = audit_leaves_read(dir, names[i], first, (uint64_t)size, &l,
	    &count, e)) != 0)
		return rc;
	if (i + 1 < n) {
		if (segment_first(names[i + 1]) != (int64_t)(first + count)) {
			(void)audit_leaves_name(names[i], iname);
			rc = err_set(e, ERR_CORRUPT, "%s: %llu leaves, the "
			    "segment holds %lld records", iname,
			    (unsigned long long)count,
			    (long long)(segment_first(names[i + 1]) -
			    (int64_t)first));
		}
	} else {
		snprintf(path, sizeof(path), "%s/%s/%llu.cp", dir,
		    AUDIT_CHECKPOINT_DIR, (unsigned long long)(first + count));
		if (file_size(path) < 0) {
			(void)audit_leaves_name(names[i], iname);
			rc = err_set(e, ERR_CORRUPT, "%s: no seal covers its "
			    "%llu leaves", iname, (unsigned long long)count);
		}
	}
	if (rc == 0 && reserve(h, count) == -1)
		rc = err_set(e, ERR_NOMEM, "%s: out of memory", names[i]);
	if (rc == 0) {
		/* An empty segment leaves l (and maybe h->leaves) NULL. */
		if (count > 0)
			memcpy(h->leaves + h->n, l, (size_t)count * sizeof(*l));
		h->n += count;
		h->indexed++;
	}
	free(l);
	return rc;
}

/*
 * After hashing a segment (its leaves are h->leaves[first, h->n)),
 * whether an index beside it differs from them: 1 if so, 0 if it
 * matches or is missing.  One that does not even fit is 0 too, reported
 * here when report is set (else it was when it was refused).
 */
static int
index_differs(const struct hashed *h, const char *dir, const char *name,
    uint64_t first, int report)
{
	struct err e = ERR_INIT;
	char path[4096];
	merkle_hash *l = NULL;
	uint64_t count;
	int64_t size;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((size = file_size(path)) < 0)
		return 0;
	switch (audit_leaves_read(dir, name, first, (uint64_t)size, &l,
	    &count, &e)) {
	case 1:
		return 0;
	case -1:
		if (report)
			audit_warn("%s/%s: ignored", dir, err_msg(&e));
		return 0;
	}
	rc = count != h->n - first || (count > 0 && memcmp(l,
	    h->leaves + first, (size_t)count * sizeof(*l)) != 0);
	free(l);
	return rc;
}

/* A whole small file, NUL-terminated, or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(CHECKPOINT_MAX_NOTE + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, CHECKPOINT_MAX_NOTE + 1, fp);
	if (ferror(fp) || n > CHECKPOINT_MAX_NOTE) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The newest seal, checkpoints/<size>.cp with the largest size, or
 * NULL. */
static char *
newest_seal(const char *dir)
{
	char path[4096], *end;
	unsigned long long size, best = 0;
	int found = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_CHECKPOINT_DIR);
	if ((d = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		errno = 0;
		size = strtoull(de->d_name, &end, 10);
		if (errno != 0 || strcmp(end, ".cp") != 0)
			continue;
		if (!found || size > best) {
			best = size;
			found = 1;
		}
	}
	closedir(d);
	if (!found)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s/%llu.cp", dir,
	    AUDIT_CHECKPOINT_DIR, best);
	return strdup(path);
}

/*
 * The latest checkpoint the hashes support: *note (malloc'd) and cp.
 * -1 when one does not open or claims more than the log has.
 */
static int
latest(const char *dir, const struct note_verifier *v, const struct hashed *h,
    char **note, struct checkpoint *best)
{
	char path[4096], *text, *seal;
	const char *s;
	struct checkpoint cp;
	size_t len;
	json_t *j;
	int rc = 0;

	*note = NULL;
	for (int i = 0; i < 3 && rc == 0; i++) {
		text = NULL;
		if (i == 0 && h->cp != NULL) {
			/* The last checkpoint record: its note, as verify
			 * opens it. */
			if ((j = json_loads(h->cp, 0, NULL)) == NULL ||
			    (s = json_string_value(json_object_get(j,
			    "note"))) == NULL || (text = strdup(s)) == NULL)
				rc = -1;
			json_decref(j);
			len = text != NULL ? strlen(text) : 0;
		} else if (i == 1) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    AUDIT_CHECKPOINT_FILE);
			text = slurp(path, &len);
		} else if (i == 2 && (seal = newest_seal(dir)) != NULL) {
			text = slurp(seal, &len);
			free(seal);
		}
		if (text == NULL)
			continue;
		if (checkpoint_open(text, len, v, &cp, NULL) !=
		    CHECKPOINT_OK || cp.size > h->n)
			rc = -1;
		else if (*note == NULL || cp.size > best->size) {
			free(*note);
			*note = text;
			*best = cp;
			continue;
		}
		free(text);
	}
	if (rc == -1 || *note == NULL) {
		free(*note);
		*note = NULL;
		return -1;
	}
	return 0;
}

/*
 * The fast way: 0 and the proof written, 1 when seq is not covered yet
 * (the message given), -1 when the next way must decide.  *indexed: how
 * many segments came from their index (INDEX_USE).  An index that differs
 * from the segment it was compared with (all in INDEX_CHECK, the
 * record's own in INDEX_USE) is named in a warning once the proof is
 * made: then the segment is right and the index wrong.
 */
static int
prove_fast(const char *dir, const struct note_verifier *v, int64_t seq,
    enum index_mode mode, unsigned *indexed)
{
	struct hashed h;
	struct checkpoint cp;
	merkle_hash proof[MERKLE_MAX_PROOF], root, leaf;
	char **names = NULL, path[4096], *note = NULL, *doc;
	struct err e = ERR_INIT;
	char iname[AUDIT_LEAVES_NAMELEN + 1];
	size_t n = 0, plen;
	unsigned char *differs = NULL;
	int64_t next;
	uint64_t first;
	int rc = -1, own;

	memset(&h, 0, sizeof(h));
	h.want = seq;
	if (audit_list_segments(dir, &names, &n) == -1 || n == 0 ||
	    (differs = calloc(n, 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* Segments follow each other, or a break sits between. */
		if (segment_first(names[i]) != (int64_t)h.n)
			goto out;
		first = h.n;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		next = i + 1 < n ? segment_first(names[i + 1]) : INT64_MAX;
		own = seq >= (int64_t)first && seq < next;
		/* The record's own segment is always read and hashed: its
		 * line, and every other line of it, as before. */
		if (mode == INDEX_USE && !own) {
			switch (take_index(&h, dir, names, i, n, &e)) {
			case 0:
				continue;
			case -1:
				audit_warn("%s/%s: ignored, %s hashed instead",
				    dir, err_msg(&e), names[i]);
				break;
			}
		}
		if (hash_segment(&h, path, i == n - 1) == -1)
			goto out;
		if (mode == INDEX_CHECK || own)
			differs[i] = (unsigned char)index_differs(&h, dir,
			    names[i], first, mode == INDEX_USE);
	}
	if (latest(dir, v, &h, &note, &cp) == -1)
		goto out;
	if ((uint64_t)seq >= cp.size) {
		/* Nothing to prove yet, if the leaves are what it signs. */
		merkle_root(h.leaves, cp.size, root);
		if (memcmp(root, cp.root, MERKLE_HASH_LEN) != 0)
			goto out;
		fprintf(stderr, "eppgw-audit: seq %lld is not covered by the "
		    "latest checkpoint (size %llu) yet\n", (long long)seq,
		    (unsigned long long)cp.size);
		rc = 1;
		goto out;
	}
	/*
	 * The proof holds the roots of the subtrees beside the record's
	 * path: folded with the record's leaf they give the root of all the
	 * leaves at the checkpoint's size.  So the root check is the check
	 * of the proof itself, log n hashes on top of the n the proof took
	 * (not another n for merkle_root).
	 */
	if (h.line == NULL || merkle_inclusion_proof(h.leaves, cp.size,
	    (uint64_t)seq, proof, &plen) == -1)
		goto out;
	merkle_leaf_hash(h.line, h.linelen, leaf);
	if (merkle_inclusion_root((uint64_t)seq, cp.size, leaf, proof, plen,
	    root) == -1 || memcmp(root, cp.root, MERKLE_HASH_LEN) != 0)
		goto out;
	if ((doc = tlog_proof_format(h.line, h.linelen, (uint64_t)seq, proof,
	    plen, note)) == NULL)
		goto out;
	fputs(doc, stdout);
	free(doc);
	rc = 0;
 out:
	if (indexed != NULL)
		*indexed = h.indexed;
	/* The log gave the proof: the indexes that differ were wrong. */
	for (size_t i = 0; rc >= 0 && differs != NULL && i < n; i++)
		if (differs[i] && audit_leaves_name(names[i], iname) == 0)
			audit_warn("%s/%s does not match %s: ignored (the "
			    "leaf index is a cache no signature covers)", dir,
			    iname, names[i]);
	free(differs);
	audit_free_segments(names, n);
	hashed_free(&h);
	free(note);
	return rc;
}

void
audit_verified_tree(const char *dir, const struct note_verifier *v,
    int64_t want_seq, struct audit_verify_result *r)
{
	struct audit_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.vkey = v;
	o.keep_leaves = 1;
	o.want_seq = want_seq;
	audit_verify_dir(dir, &o, r);
	if (r->verdict == AUDIT_TAMPERED || r->verdict == AUDIT_CANNOT)
		audit_die((int)r->verdict, "%s", r->error);
	if (r->latest_note == NULL)
		audit_die(1, "%s: no checkpoint to prove against", dir);
}

void
audit_inclusion(const struct audit_verify_result *r, uint64_t seq,
    merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen)
{
	if (seq >= r->sealed)
		audit_die(1, "seq %llu is not covered by the latest checkpoint "
		    "(size %llu) yet", (unsigned long long)seq,
		    (unsigned long long)r->sealed);
	if (merkle_inclusion_proof(r->leaves, r->sealed, seq, proof,
	    plen) == -1)
		audit_die(1, "cannot prove seq %llu", (unsigned long long)seq);
}

/* The slow way: verify everything, keeping the leaves. */
static int
prove_verified(const char *dir, const struct note_verifier *v, int64_t seq)
{
	struct audit_verify_result r;
	merkle_hash proof[MERKLE_MAX_PROOF];
	size_t plen;
	char *doc;

	audit_verified_tree(dir, v, seq, &r);
	audit_inclusion(&r, (uint64_t)seq, proof, &plen);
	if (r.want_line == NULL)
		audit_die(1, "cannot prove seq %lld", (long long)seq);
	doc = tlog_proof_format(r.want_line, r.want_len, (uint64_t)seq, proof,
	    plen, r.latest_note);
	if (doc == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	fputs(doc, stdout);
	free(doc);
	audit_verify_free(&r);
	return 0;
}

int
audit_cmd_prove(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "seq", required_argument, NULL, 'n' },
		{ "vkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier v, *vp = NULL;
	long long seq = -1;
	unsigned indexed;
	char *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			seq = strtoll(optarg, &end, 10);
			if (errno || *end != '\0' || seq < 0)
				audit_die(EXIT_USAGE, "bad --seq %s", optarg);
			break;
		case 'k':
			audit_load_vkey(optarg, &v);
			vp = &v;
			break;
		default:
			audit_usage();
		}
	}
	if (argc - optind != 1 || seq < 0)
		audit_usage();
	/* With the leaf indexes; without them, every line hashed; then
	 * the whole verification. */
	if ((rc = prove_fast(argv[optind], vp, seq, INDEX_USE,
	    &indexed)) >= 0)
		return rc;
	if (indexed > 0) {
		if ((rc = prove_fast(argv[optind], vp, seq, INDEX_CHECK,
		    NULL)) >= 0) {
			audit_warn("the leaf indexes (seg-*%s) in %s do not "
			    "match the log: proved from every line instead",
			    AUDIT_LEAVES_SUFFIX, argv[optind]);
			return rc;
		}
	}
	return prove_verified(argv[optind], vp, seq);
}
