/*
 * prove.c: eppgw-audit prove --seq N [--vkey F] DIR, an inclusion proof
 * of one record in the tree of the latest checkpoint (C2SP tlog-proof).
 *
 * A proof rests on two things: the checkpoint's signature, and that the
 * first `size` lines of the log hash to its root.  Checking those takes
 * the leaf hash of every line (SHA-256 over bytes), not the whole
 * verification, which also reads the layout of every line and checks the
 * signature of every checkpoint record: in a 100 MB log of 109,000
 * records, 34,000 Ed25519 verifications, seconds for one proof.  So the
 * lines are only hashed; the largest signed checkpoint (the checkpoint
 * file, the newest seal, the last checkpoint record) is opened, and when
 * its root is the root of those hashes the proof is made from them.  A
 * proof made so is exactly the one the whole verification would give.
 *
 * Anything else goes the slow way, the whole verification, which says
 * what is wrong: a root that differs (a line altered, removed, added), a
 * checkpoint larger than the log, a bad signature, segments that do not
 * follow each other (a break, whose skipped seqs have filler leaves), a
 * torn line before the last segment's end.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_bundle.h"
#include "audit_cli.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "merkle.h"

#define CP_PREFIX	"{\"note\":"	/* keys are sorted: only a
					   checkpoint record starts so */

struct hashed {
	merkle_hash	*leaves;
	uint64_t	 n, cap;
	int64_t		 want;		/* the seq to prove */
	char		*line;		/* its line, no newline */
	size_t		 linelen;
	char		*cp;		/* the last checkpoint record */
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
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 65536;
			if ((h->leaves = realloc(h->leaves, h->cap *
			    sizeof(*h->leaves))) == NULL)
				goto out;
		}
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
	char path[4096], *text, *seal, err[256];
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
		if (checkpoint_open(text, len, v, &cp, err, sizeof(err)) !=
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
 * (the message given), -1 when the slow way must decide.
 */
static int
prove_fast(const char *dir, const struct note_verifier *v, int64_t seq)
{
	struct hashed h;
	struct checkpoint cp;
	merkle_hash proof[MERKLE_MAX_PROOF], root;
	char **names = NULL, path[4096], *note = NULL, *doc;
	size_t n = 0, plen;
	int rc = -1;

	memset(&h, 0, sizeof(h));
	h.want = seq;
	if (audit_list_segments(dir, &names, &n) == -1 || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* Segments follow each other, or a break sits between. */
		if (segment_first(names[i]) != (int64_t)h.n)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (hash_segment(&h, path, i == n - 1) == -1)
			goto out;
	}
	if (latest(dir, v, &h, &note, &cp) == -1)
		goto out;
	merkle_root(h.leaves, cp.size, root);
	if (memcmp(root, cp.root, MERKLE_HASH_LEN) != 0)
		goto out;
	if ((uint64_t)seq >= cp.size) {
		fprintf(stderr, "eppgw-audit: seq %lld is not covered by the "
		    "latest checkpoint (size %llu) yet\n", (long long)seq,
		    (unsigned long long)cp.size);
		rc = 1;
		goto out;
	}
	if (h.line == NULL || merkle_inclusion_proof(h.leaves, cp.size,
	    (uint64_t)seq, proof, &plen) == -1)
		goto out;
	if ((doc = tlog_proof_format(h.line, h.linelen, (uint64_t)seq, proof,
	    plen, note)) == NULL)
		goto out;
	fputs(doc, stdout);
	free(doc);
	rc = 0;
 out:
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
	if ((rc = prove_fast(argv[optind], vp, seq)) >= 0)
		return rc;
	return prove_verified(argv[optind], vp, seq);
}
