/*
 * witness.c: C2SP tlog-cosignature witnesses for the audit log
 * (docs/audit-log.md, "Witnesses").
 *
 *   witness --key F --name NAME --log-vkey V --state DIR [--proof F]
 *           [-o FILE] CHECKPOINT
 *   verify ... --witness W... --quorum K    (the counting, for main.c)
 *
 * A witness cosigns a checkpoint only when it is consistent with the last
 * one it cosigned for that origin, which it keeps in DIR, one file per
 * origin: the same size and root, or a larger size and a consistency
 * proof from the old one (the body `eppgw-audit consistency --old`
 * prints, the tlog-witness add-checkpoint request).  Its cosignature says
 * "as of time T, the consistent tree head with the largest size I have
 * observed for this origin has this root".  A smaller size (a rollback),
 * the same size with another root or a proof that fails (a split view)
 * is refused: exit 1, nothing signed, the state as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "audit_cli.h"
#include "buf.h"
#include "checkpoint.h"
#include "err.h"
#include "fileio.h"
#include "merkle.h"

#define STATE_LOCK	".lock"
#define STATE_SUFFIX	".cp"
#define PROOF_MAX	(CHECKPOINT_MAX_NOTE + 8192)
#define WITNESS_MAX	4096	/* --witness keys of one quorum */

/* ---- small files ---- */

/* A whole file of at most max bytes, NUL-terminated, or NULL (errno
 * set) when it cannot be read or is larger. */
static char *
try_read_text(const char *path, size_t max, size_t *len)
{
	char *buf;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		errno = ferror(f) ? EIO : EFBIG;
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The same; exit 3 if it cannot be read. */
static char *
read_text(const char *path, size_t max, size_t *len)
{
	char *buf;

	if ((buf = try_read_text(path, max, len)) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", path, errno == EFBIG ?
		    "too large" : strerror(errno));
	return buf;
}

/* ---- the witness's state: the last note it cosigned, per origin ---- */

/*
 * The state file of an origin: the origin with every byte but
 * [A-Za-z0-9._-] as %XX (a leading '.' too), ".cp" added; an origin too
 * long for that as "sha256-<hex>.cp".
 */
static void
state_name(const char *origin, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t h[SHA256_DIGEST_LENGTH];
	char x[2 * SHA256_DIGEST_LENGTH + 1];
	size_t o = 0;
	unsigned char c;

	for (const char *p = origin; *p != '\0' && o + 4 < outlen; p++) {
		c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    (c == '.' && p != origin))
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	if (o > 200) {
		SHA256((const uint8_t *)origin, strlen(origin), h);
		for (size_t i = 0; i < sizeof(h); i++) {
			x[2 * i] = hex[h[i] >> 4] | 0x20;	/* a-f */
			x[2 * i + 1] = hex[h[i] & 15] | 0x20;
		}
		x[2 * sizeof(h)] = '\0';
		snprintf(out, outlen, "sha256-%s", x);
	}
	snprintf(out + strlen(out), outlen - strlen(out), STATE_SUFFIX);
}

/* The state directory, created if missing, and locked against other
 * witness runs on it until exit.  Exit 3 if it cannot be. */
static int
state_open(const char *dir)
{
	int dfd, lfd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		audit_die(EXIT_USAGE, "--state %s: %s", dir, strerror(errno));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		audit_die(EXIT_USAGE, "--state %s: %s", dir, strerror(errno));
	if ((lfd = openat(dfd, STATE_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || flock(lfd, LOCK_EX) == -1)
		audit_die(EXIT_USAGE, "%s/%s: %s", dir, STATE_LOCK,
		    strerror(errno));
	/* lfd stays open: the lock lasts until the process exits. */
	return dfd;
}

/* The last note cosigned for an origin, or NULL when there is none. */
static char *
state_read(int dfd, const char *dir, const char *name, size_t *len)
{
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT)
			return NULL;
		audit_die(EXIT_USAGE, "%s/%s: %s%s", dir, name,
		    strerror(errno), errno == ELOOP ? " (a symbolic link: "
		    "refused)" : "");
	}
	if ((buf = malloc(CHECKPOINT_MAX_NOTE + 2)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	while (off <= CHECKPOINT_MAX_NOTE && (n = read(fd, buf + off,
	    CHECKPOINT_MAX_NOTE + 1 - off)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			audit_die(EXIT_USAGE, "%s/%s: %s", dir, name,
			    strerror(errno));
		off += (size_t)n;
	}
	close(fd);
	if (off > CHECKPOINT_MAX_NOTE)
		audit_die(EXIT_USAGE, "%s/%s: too large for a checkpoint", dir,
		    name);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* Replace the state file atomically and durably; 0, or -1 with errno. */
static int
state_write(int dfd, const char *name, const char *note)
{
	return file_replace_at(dfd, name, note, strlen(note), 0644, NULL);
}

/* ---- the consistency proof: what `consistency --old` prints ---- */

struct wproof {
	uint64_t	 old;
	merkle_hash	 hashes[MERKLE_MAX_PROOF];
	size_t		 nhashes;
	const char	*note;		/* points into the text */
	size_t		 notelen;
};

/*
 * "old N\n", one base64 hash a line, a blank line, the new checkpoint
 * (C2SP tlog-witness add-checkpoint).  -1 with e (ERR_PARSE) if malformed.
 */
static int
wproof_parse(const char *text, size_t len, struct wproof *p, struct err *e)
{
	const char *s = text, *end = text + len, *nl;
	size_t n;

	memset(p, 0, sizeof(*p));
	if ((nl = memchr(s, '\n', len)) == NULL || nl - s < 5 ||
	    memcmp(s, "old ", 4) != 0 || checkpoint_parse_u64(s + 4,
	    (size_t)(nl - s - 4), &p->old) == -1)
		return err_set(e, ERR_PARSE, "no \"old SIZE\" line");
	for (s = nl + 1;; s = nl + 1) {
		if (s >= end || (nl = memchr(s, '\n', (size_t)(end - s))) ==
		    NULL)
			return err_set(e, ERR_PARSE, "truncated");
		if (nl == s)
			break;
		if (p->nhashes == MERKLE_MAX_PROOF ||
		    checkpoint_b64_decode(s, (size_t)(nl - s),
		    p->hashes[p->nhashes], MERKLE_HASH_LEN, &n) == -1 ||
		    n != MERKLE_HASH_LEN)
			return err_set(e, ERR_PARSE, "bad hash line");
		p->nhashes++;
	}
	p->note = nl + 1;
	p->notelen = (size_t)(end - p->note);
	return 0;
}

/* ---- witness ---- */

struct wopts {
	const char	*key, *name, *state, *proof, *out, *checkpoint;
	struct note_verifier log;
	int		 have_log;
};

static void
witness_args(int argc, char *argv[], struct wopts *o)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "log-vkey", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "proof", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (ch) {
		case 'k': o->key = optarg; break;
		case 'n': o->name = optarg; break;
		case 'l':
			audit_load_vkey(optarg, &o->log);
			o->have_log = 1;
			break;
		case 's': o->state = optarg; break;
		case 'p': o->proof = optarg; break;
		case 'o': o->out = optarg; break;
		default: audit_usage();
		}
	}
	if (argc - optind != 1 || o->key == NULL || o->name == NULL ||
	    !o->have_log || o->state == NULL)
		audit_usage();
	o->checkpoint = argv[optind];
}

/*
 * What the witness is asked to cosign: the checkpoint note and, when
 * given, the consistency proof that leads to it.  CHECKPOINT may be the
 * note, or the add-checkpoint body itself (proof and note in one file).
 */
struct wreq {
	char		*text, *ptext;	/* the files read */
	const char	*note;
	size_t		 notelen;
	struct wproof	 proof;
	int		 has_proof;
	const char	*proofsrc;	/* the file the proof came from */
};

static void
wreq_proof(struct wreq *q, const char *path, char *text, size_t len)
{
	struct err e = ERR_INIT;

	if (wproof_parse(text, len, &q->proof, &e) == -1)
		audit_die(1, "%s: not a consistency proof (%s): refused, "
		    "nothing signed", path, err_msg(&e));
	q->has_proof = 1;
	q->proofsrc = path;
}

static void
wreq_read(const struct wopts *o, struct wreq *q)
{
	size_t len;

	memset(q, 0, sizeof(*q));
	q->text = read_text(o->checkpoint, PROOF_MAX, &len);
	q->note = q->text;
	q->notelen = len;
	if (len >= 4 && memcmp(q->text, "old ", 4) == 0) {
		if (o->proof != NULL)
			audit_die(EXIT_USAGE, "%s is a proof already: no "
			    "--proof", o->checkpoint);
		wreq_proof(q, o->checkpoint, q->text, len);
		q->note = q->proof.note;
		q->notelen = q->proof.notelen;
	} else if (o->proof != NULL) {
		q->ptext = read_text(o->proof, PROOF_MAX, &len);
		wreq_proof(q, o->proof, q->ptext, len);
	}
}

static void
wreq_free(struct wreq *q)
{
	free(q->text);
	free(q->ptext);
}

/* Base64 of a root, for messages. */
static const char *
root64(const merkle_hash root, char out[64])
{
	checkpoint_b64_encode(root, MERKLE_HASH_LEN, out);
	return out;
}

/* The proof leads to the checkpoint to cosign, from the old size. */
static void
proof_matches(const struct wreq *q, const char *statefile,
    const struct checkpoint *old, const struct checkpoint *cp)
{
	struct checkpoint pcp;

	if (checkpoint_open(q->proof.note, q->proof.notelen, NULL, &pcp,
	    NULL) != CHECKPOINT_OK || strcmp(pcp.origin,
	    cp->origin) != 0 || pcp.size != cp->size || memcmp(pcp.root,
	    cp->root, MERKLE_HASH_LEN) != 0)
		audit_die(EXIT_USAGE, "%s: a proof for another checkpoint "
		    "(the checkpoint it ends in can be given as CHECKPOINT: "
		    "the whole proof file)", q->proofsrc);
	if (q->proof.old != old->size)
		audit_die(EXIT_USAGE, "%s: a proof from size %llu, but this "
		    "witness last cosigned size %llu (%s)", q->proofsrc,
		    (unsigned long long)q->proof.old,
		    (unsigned long long)old->size, statefile);
}

/*
 * Whether the new checkpoint may be cosigned after the old one: returns
 * only if so; exits 1 (rollback, fork, failing proof) or 3 (no proof, or
 * one from another size or for another checkpoint) if not.
 */
static void
witness_check(const struct wreq *q, const char *statefile,
    const struct checkpoint *old, const struct checkpoint *cp)
{
	char a[64], b[64];

	if (cp->size < old->size)
		audit_die(1, "%s: ROLLBACK: the checkpoint has size %llu, "
		    "this witness cosigned size %llu (%s): refused, nothing "
		    "signed", cp->origin, (unsigned long long)cp->size,
		    (unsigned long long)old->size, statefile);
	if (cp->size == old->size &&
	    memcmp(cp->root, old->root, MERKLE_HASH_LEN) != 0)
		audit_die(1, "%s: FORK (split view): size %llu with root %s, "
		    "this witness cosigned root %s at that size (%s): "
		    "refused, nothing signed", cp->origin,
		    (unsigned long long)cp->size, root64(cp->root, a),
		    root64(old->root, b), statefile);
	if (cp->size == old->size && !q->has_proof)
		return;		/* the same tree head again */
	if (!q->has_proof)
		audit_die(EXIT_USAGE, "%s: a consistency proof from size %llu "
		    "is needed: eppgw-audit consistency --old %s ... DIR, "
		    "then --proof", cp->origin, (unsigned long long)old->size,
		    statefile);
	proof_matches(q, statefile, old, cp);
	if (merkle_consistency_verify(old->size, cp->size, old->root,
	    cp->root, (const merkle_hash *)q->proof.hashes,
	    q->proof.nhashes) == -1)
		audit_die(1, "%s: INCONSISTENT: the proof does not show that "
		    "size %llu (root %s) extends size %llu (root %s) that "
		    "this witness cosigned: a fork or a bad proof, refused, "
		    "nothing signed", cp->origin,
		    (unsigned long long)cp->size, root64(cp->root, a),
		    (unsigned long long)old->size, root64(old->root, b));
}

/* The cosigned note to stdout or to the -o file. */
static void
witness_output(const char *out, const char *note)
{
	FILE *fp = stdout;

	if (out != NULL && (fp = fopen(out, "w")) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", out, strerror(errno));
	fputs(note, fp);
	if (fflush(fp) == EOF || ferror(fp) || (fp != stdout &&
	    fclose(fp) == EOF))
		audit_die(EXIT_USAGE, "%s: write error", out ? out : "stdout");
}

/* The last checkpoint cosigned for cp's origin, checked against cp. */
static char *
witness_state(const struct wopts *o, const struct wreq *q, int dfd,
    const char *name, const char *statefile, const struct checkpoint *cp)
{
	struct checkpoint old;
	struct err e = ERR_INIT;
	char *prev;
	size_t plen;

	if ((prev = state_read(dfd, o->state, name, &plen)) == NULL) {
		fprintf(stderr, "eppgw-audit: %s: the first checkpoint of "
		    "this origin in %s: trusted on first use%s\n",
		    cp->origin, o->state, q->has_proof ? " (the proof is "
		    "not needed, and not checked)" : "");
		return NULL;
	}
	if (checkpoint_open(prev, plen, NULL, &old, &e) != CHECKPOINT_OK ||
	    strcmp(old.origin, cp->origin) != 0)
		audit_die(EXIT_USAGE, "%s: not this witness's state for %s: "
		    "%s", statefile, cp->origin, err_msg(&e));
	witness_check(q, statefile, &old, cp);
	return prev;
}

int
audit_cmd_witness(int argc, char *argv[])
{
	struct wopts o;
	struct wreq q;
	struct checkpoint cp;
	struct cosig_verifier self;
	EVP_PKEY *key = NULL;
	struct err e = ERR_INIT;
	char *prev, *signed_note, name[CHECKPOINT_MAX_NAME * 3 + 16];
	char statefile[4096];
	time_t now;
	int dfd;

	witness_args(argc, argv, &o);
	if (checkpoint_key_load(o.key, &key, &e) == -1)
		audit_die(EXIT_USAGE, "--key %s", err_msg(&e));
	if (cosig_verifier_from_pkey(key, o.name, &self) == -1)
		audit_die(EXIT_USAGE, "--name %s: not a key name (no spaces, "
		    "no '+')", o.name);
	wreq_read(&o, &q);
	/* The log's signature, bound to its name with a verifier string. */
	if (checkpoint_open(q.note, q.notelen, &o.log, &cp, &e) !=
	    CHECKPOINT_OK)
		audit_die(1, "%s: %s: refused, nothing signed", o.checkpoint,
		    err_msg(&e));
	dfd = state_open(o.state);
	state_name(cp.origin, name, sizeof(name));
	snprintf(statefile, sizeof(statefile), "%s/%s", o.state, name);
	prev = witness_state(&o, &q, dfd, name, statefile, &cp);
	now = time(NULL);
	if ((signed_note = checkpoint_cosign(key, o.name, now < 0 ? 0 :
	    (uint64_t)now, q.note, q.notelen, &e)) == NULL)
		audit_die(EXIT_USAGE, "%s: %s", o.checkpoint, err_msg(&e));
	/* Recorded before it is handed out: never a cosignature the state
	 * does not hold. */
	if (state_write(dfd, name, signed_note) == -1)
		audit_die(EXIT_USAGE, "%s: %s: nothing signed", statefile,
		    strerror(errno));
	witness_output(o.out, signed_note);
	fprintf(stderr, "eppgw-audit: %s at size %llu cosigned by %s\n",
	    cp.origin, (unsigned long long)cp.size, o.name);
	close(dfd);
	free(signed_note);
	free(prev);
	wreq_free(&q);
	EVP_PKEY_free(key);
	return 0;
}

/* ---- verify --witness --quorum ---- */

void
audit_quorum_add(struct audit_quorum *q, const char *arg)
{
	struct cosig_verifier w;

	audit_load_witness(arg, &w);
	for (size_t i = 0; i < q->nw; i++) {
		if (memcmp(q->w[i].pub, w.pub, sizeof(w.pub)) != 0)
			continue;
		if (strcmp(q->w[i].name, w.name) == 0 &&
		    memcmp(q->w[i].id, w.id, sizeof(w.id)) == 0)
			return;		/* listed twice: one witness */
		/* cosignature/v1 does not commit to the name: one key
		 * under two names would count twice. */
		audit_die(EXIT_USAGE, "--witness %s: the key of %s under "
		    "another name; one key is one witness", w.name,
		    q->w[i].name);
	}
	/* One per --witness: a quorum of more makes no sense. */
	if ((q->w = grow_array(q->w, &q->capw, q->nw + 1, sizeof(*q->w),
	    WITNESS_MAX)) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	q->w[q->nw++] = w;
}

void
audit_quorum_free(struct audit_quorum *q)
{
	free(q->w);
	q->w = NULL;
	q->nw = 0;
}

static int
worse(int a, int b)
{
	if (a == 1 || b == 1)
		return 1;
	return a > b ? a : b;
}

/* The cosignatures on one known checkpoint file. */
static int
quorum_one(struct audit_quorum *q, const char *path,
    const struct note_verifier *v)
{
	struct cosig_result *res;
	struct checkpoint cp;
	struct err e = ERR_INIT;
	char *note, names[1024] = "";
	size_t len, ok = 0;
	int rc = 0;

	note = read_text(path, CHECKPOINT_MAX_NOTE, &len);
	if (checkpoint_open(note, len, v, &cp, &e) != CHECKPOINT_OK) {
		fprintf(stderr, "eppgw-audit: %s: %s\n", path, err_msg(&e));
		free(note);
		return 1;
	}
	if ((res = calloc(q->nw, sizeof(*res))) == NULL)
		audit_die(EXIT_USAGE, "out of memory");
	if (checkpoint_cosigs(note, len, q->w, q->nw, res, &e) == -1) {
		fprintf(stderr, "eppgw-audit: %s: %s\n", path, err_msg(&e));
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < q->nw; i++) {
		if (res[i].status == COSIG_BAD) {
			fprintf(stderr, "eppgw-audit: %s: the cosignature of "
			    "witness %s does not verify\n", path, q->w[i].name);
			rc = 1;
		} else if (res[i].status == COSIG_OK) {
			ok++;
			snprintf(names + strlen(names), sizeof(names) -
			    strlen(names), "%s%s", ok > 1 ? ", " : "",
			    q->w[i].name);
		}
	}
	if (q->checked++ == 0 || ok < q->least)
		q->least = ok;
	if (rc == 0 && ok < q->k) {
		fprintf(stderr, "eppgw-audit: %s: size %llu cosigned by %zu "
		    "of the %zu listed witnesses%s%s%s, quorum %lu: it cannot "
		    "be relied on\n", path, (unsigned long long)cp.size, ok,
		    q->nw, ok ? " (" : "", names, ok ? ")" : "", q->k);
		rc = EXIT_USAGE;
	}
 out:
	free(res);
	free(note);
	return rc;
}

/* Of a directory, the checkpoints of origin with the most records. */
static int
quorum_dir(struct audit_quorum *q, const char *dir,
    const struct note_verifier *v, const char *origin)
{
	struct checkpoint cp;
	struct dirent *de;
	char path[4096], *note, **best = NULL;
	uint64_t most = 0;
	size_t nbest = 0, capbest = 0, len, n;
	int rc = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "eppgw-audit: %s: %s\n", dir, strerror(errno));
		return EXIT_USAGE;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 3, ".cp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* As verify: what cannot be read is not counted. */
		if ((note = try_read_text(path, CHECKPOINT_MAX_NOTE, &len)) ==
		    NULL)
			continue;
		if (checkpoint_open(note, len, NULL, &cp, NULL) ==
		    CHECKPOINT_OK && strcmp(cp.origin, origin) == 0 &&
		    (nbest == 0 || cp.size >= most)) {
			if (nbest > 0 && cp.size > most) {
				for (size_t i = 0; i < nbest; i++)
					free(best[i]);
				nbest = 0;
			}
			most = cp.size;
			/* Names of one directory: no maximum but memory. */
			if ((best = grow_array(best, &capbest, nbest + 1,
			    sizeof(*best), SIZE_MAX)) == NULL ||
			    (best[nbest++] = strdup(path)) == NULL)
				audit_die(EXIT_USAGE, "out of memory");
		}
		free(note);
	}
	closedir(d);
	if (nbest == 0) {
		fprintf(stderr, "eppgw-audit: %s: no checkpoint of %s: no "
		    "cosignatures to count\n", dir, origin);
		rc = EXIT_USAGE;
	}
	for (size_t i = 0; i < nbest; i++) {
		rc = worse(rc, quorum_one(q, best[i], v));
		free(best[i]);
	}
	free(best);
	return rc;
}

int
audit_quorum_check(struct audit_quorum *q, const char * const *known,
    size_t nknown, const struct note_verifier *v, const char *origin)
{
	struct stat sb;
	int rc = 0;

	for (size_t i = 0; i < nknown; i++) {
		if (stat(known[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			rc = worse(rc, quorum_dir(q, known[i], v, origin));
		else
			rc = worse(rc, quorum_one(q, known[i], v));
	}
	return rc;
}
