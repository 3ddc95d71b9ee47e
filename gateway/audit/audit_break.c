/*
 * audit_break.c: an operator's signed break (audit.h, audit_break();
 * docs/audit-log.md, Breaks): for a log that fails verification inside
 * its segments, a new segment holding break, checkpoint and close records
 * and its seal, written offline by eppgw-audit break with the writer's
 * own serialiser and signer (audit_int.h).  Existing files are never
 * changed.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "audit.h"
#include "audit_int.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "hex.h"
#include "merkle.h"

/* Size, line count and whole-file SHA-256 of a segment as it is now. */
static int
seg_facts(int dirfd, const char *name, uint64_t *size, uint64_t *nlines,
    char hex[65])
{
	char buf[65536];
	EVP_MD_CTX *c;
	merkle_hash h;
	ssize_t n = -1;
	int fd, rc = -1;

	*size = *nlines = 0;
	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return -1;
	if ((c = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(c, buf, (size_t)n);
		*size += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++)
			*nlines += buf[i] == '\n';
	}
	if (n == 0 && EVP_DigestFinal_ex(c, h, NULL) == 1) {
		merkle_hex(h, hex);
		rc = 0;
	}
 out:
	EVP_MD_CTX_free(c);
	close(fd);
	return rc;
}

/* The size of the signed checkpoint in dirfd/name, 0 if none. */
static uint64_t
note_size(int dirfd, const char *name, const struct note_verifier *v)
{
	char buf[CHECKPOINT_MAX_NOTE + 1];
	struct checkpoint cp;
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || checkpoint_open(buf, (size_t)n, v, &cp, NULL) !=
	    CHECKPOINT_OK)
		return 0;
	return cp.size;
}

/*
 * The largest size any of our signed checkpoints claims: the break must
 * start beyond it, so no checkpoint ever signed can be confused with one
 * of the new tree.
 */
static uint64_t
max_note_size(struct audit *a, const struct note_verifier *v)
{
	DIR *d;
	struct dirent *de;
	uint64_t max, sz;
	int fd;

	max = note_size(a->dirfd, AUDIT_CHECKPOINT_FILE, v);
	if ((fd = dup(a->cpdirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return max;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    (sz = note_size(a->cpdirfd, de->d_name, v)) > max)
			max = sz;
	closedir(d);
	return max;
}

/* Create dirfd/name with data; never replaces a file (link(2), not
 * rename(2)), so a break cannot overwrite anything. */
static int
install_new(struct audit *a, int dirfd, const char *name, const char *data,
    size_t len)
{
	char tmp[256];
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), ".%s.break.tmp", name);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0440)) == -1)
		return -1;
	if (audit_write_all(a, fd, data, len) == 0 && fsync(fd) == 0 &&
	    close(fd) == 0) {
		fd = -1;
		if (linkat(dirfd, tmp, dirfd, name, 0) == 0)
			rc = 0;
	}
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);	/* our own temporary */
	if (rc == 0 && fsync(dirfd) == -1)
		rc = -1;
	return rc;
}

/* The first failure and the segments from it on, as the break names them. */
static json_t *
break_fields(struct audit *a, const struct audit_verify_result *r,
    char **names, size_t n, uint64_t *bseq)
{
	json_t *aff, *f, *lc;
	struct checkpoint cp;
	uint64_t size, nl, first, claim;
	char hex[65];

	*bseq = r->records;
	if ((aff = json_array()) == NULL)
		return NULL;
	for (size_t k = (size_t)r->fail_index; k < n; k++) {
		if (seg_facts(a->dirfd, names[k], &size, &nl, hex) == -1) {
			json_decref(aff);
			return NULL;
		}
		json_array_append_new(aff, json_pack("{s:s, s:s, s:I}",
		    "name", names[k], "sha256", hex, "size",
		    (json_int_t)size));
		/* Skip every seq this segment could claim. */
		first = strtoull(names[k] + strlen(AUDIT_SEG_PREFIX), NULL, 10);
		claim = first + (nl ? nl : 1);
		if (claim > *bseq)
			*bseq = claim;
	}
	lc = json_null();
	if (r->latest_note != NULL && checkpoint_open(r->latest_note,
	    strlen(r->latest_note), NULL, &cp, NULL) == CHECKPOINT_OK) {
		merkle_hex(cp.root, hex);
		lc = json_pack("{s:I, s:s}", "size", (json_int_t)cp.size,
		    "root", hex);
	}
	f = json_pack("{s:{s:s, s:I, s:I, s:s}, s:o, s:o}", "failure",
	    "segment", r->fail_segment, "line", (json_int_t)r->fail_line,
	    "seq", (json_int_t)r->records, "reason", r->error,
	    "affected", aff, "last_checkpoint", lc);
	return f;
}

/* Ed25519 over AUDIT_BREAK_CONTEXT and the stamped record; adds "sig". */
static int
sign_break(struct audit *a, json_t *rec)
{
	EVP_MD_CTX *c = NULL;
	uint8_t sig[64];
	char b64[128], *msg;
	size_t len, siglen = sizeof(sig);
	int rc = -1;

	if ((msg = audit_break_signed_bytes(rec, &len)) == NULL ||
	    (c = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(c, NULL, NULL, NULL, a->key) != 1 ||
	    EVP_DigestSign(c, sig, &siglen, (const uint8_t *)msg, len) != 1 ||
	    siglen != sizeof(sig))
		goto out;
	checkpoint_b64_encode(sig, siglen, b64);
	rc = json_object_set_new(rec, "sig", json_string(b64));
 out:
	EVP_MD_CTX_free(c);
	free(msg);
	return rc;
}

/*
 * Build the break segment in a->out: break, checkpoint, close; then the
 * seal over all three.  Returns the seal note (malloc'd) or NULL.
 */
static char *
build_break(struct audit *a, json_t *f, const struct audit_break_opts *o)
{
	struct checkpoint cp;

	if (json_object_set_new(f, "t", json_string("break")) == -1 ||
	    json_object_set_new(f, "origin", json_string(a->origin)) == -1 ||
	    json_object_set_new(f, "log_id", json_string(a->log_id)) == -1 ||
	    json_object_set_new(f, "segment", json_string(a->segname)) == -1 ||
	    json_object_set_new(f, "operator", json_string(o->operator)) ==
	    -1 ||
	    json_object_set_new(f, "reason", json_string(o->reason)) == -1 ||
	    json_object_set_new(f, "software", json_string("eppgw-audit "
	    EPPGW_VERSION)) == -1 ||
	    audit_stamp_record(a, f) == -1 || sign_break(a, f) == -1 ||
	    audit_emit_record(a, f, NULL, NULL) == -1 || audit_append_checkpoint(a) == -1 ||
	    audit_append_type(a, "close", json_pack("{s:s}", "reason", "break")) ==
	    -1)
		return NULL;
	return audit_sign_now(a, &cp);
}

static int
break_open_dirs(struct audit *a, struct err *e)
{
	if ((a->dirfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (mkdirat(a->dirfd, AUDIT_CHECKPOINT_DIR, 0750) == -1 &&
	    errno != EEXIST) || (a->cpdirfd = openat(a->dirfd,
	    AUDIT_CHECKPOINT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_SYSTEM, "audit: %s: %s", a->dir,
		    strerror(errno));
	return 0;
}

/* Continue the tree over the verified prefix, fillers for the rest. */
static void
break_chain(struct audit *a, const struct audit_verify_result *r,
    uint64_t bseq)
{
	merkle_hash filler, g;

	a->range = r->range;
	merkle_leaf_hash("", 0, filler);
	for (uint64_t s = r->records; s < bseq; s++)
		merkle_range_append(&a->range, filler);
	a->next_seq = bseq;
	if (r->records > 0)
		merkle_hex(r->last_leaf, a->prev_hex);
	else {
		audit_genesis(a->origin, a->log_id, g);
		merkle_hex(g, a->prev_hex);
	}
}

/* The finding is cut to fit, not the advice (audit_finding_room). */
#define BAD_CP_FMT	"audit: %.*s; a break cannot cover a bad checkpoint " \
			"file: restore it or move it out of %s"

int
audit_break(const struct audit_break_opts *o, char *seg, size_t seglen,
    struct err *e)
{
	struct audit *a;
	struct audit_verify_opts vo;
	struct audit_verify_result r;
	struct note_verifier v;
	char **names = NULL, *seal_note = NULL, cpname[32];
	size_t n = 0;
	uint64_t bseq, cpmax;
	uint8_t id[16];
	json_t *f = NULL;
	int rc = -1, rest;

	memset(&r, 0, sizeof(r));
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return err_set(e, ERR_NOMEM, "audit: out of memory");
	a->efd = a->fd = a->dirfd = a->cpdirfd = -1;
	a->qtail = &a->qhead;
	buf_init(&a->out, AUDIT_OUT_MAX);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->env.write_fn = audit_default_write;
	a->env.fsync_fn = fdatasync;
	if (o->dir == NULL || o->signing_key == NULL || o->operator == NULL ||
	    o->reason == NULL || *o->operator == '\0' || *o->reason == '\0') {
		err_set(e, ERR_INVALID, "audit: a break needs dir, key, "
		    "operator and reason");
		goto out;
	}
	if ((a->dir = strdup(o->dir)) == NULL ||
	    (a->seg_sha = EVP_MD_CTX_new()) == NULL) {
		err_set(e, ERR_NOMEM, "audit: out of memory");
		goto out;
	}
	if (checkpoint_key_load(o->signing_key, &a->key, e) == -1 ||
	    break_open_dirs(a, e) == -1)
		goto out;
	if (note_verifier_from_pkey(a->key, NULL, &v) == -1) {
		err_set(e, ERR_CRYPTO, "audit: bad signing key");
		goto out;
	}
	memset(&vo, 0, sizeof(vo));
	vo.vkey = &v;
	vo.want_seq = -1;
	/* Only tampering found inside the segments can be broken over. */
	switch (audit_verify_dir(a->dir, &vo, &r)) {
	case AUDIT_VALID:
	case AUDIT_WARNINGS:
		err_set(e, ERR_REFUSED, "audit: the log in %s verifies; there "
		    "is nothing to break", a->dir);
		rc = 1;
		goto out;
	case AUDIT_CANNOT:
		err_set(e, ERR_INVALID, "audit: cannot verify %s: %s", a->dir,
		    r.error);
		goto out;
	case AUDIT_TAMPERED:
		break;
	}
	if (r.fail_index < 0) {
		rest = snprintf(NULL, 0, BAD_CP_FMT, 0, "", a->dir);
		err_set(e, ERR_REFUSED, BAD_CP_FMT, audit_finding_room(rest),
		    r.error, a->dir);
		rc = 1;
		goto out;
	}
	if (r.origin[0] != '\0') {
		snprintf(a->origin, sizeof(a->origin), "%s", r.origin);
		snprintf(a->log_id, sizeof(a->log_id), "%s", r.log_id);
	} else if (o->origin != NULL && *o->origin != '\0' &&
	    strlen(o->origin) < sizeof(a->origin) && RAND_bytes(id,
	    sizeof(id)) == 1) {
		/* Not one record verifies: a new log id, from genesis. */
		snprintf(a->origin, sizeof(a->origin), "%s", o->origin);
		hex_encode(id, sizeof(id), a->log_id);
	} else {
		err_set(e, ERR_INVALID, "audit: no record of %s verifies; "
		    "give the origin", a->dir);
		goto out;
	}
	if (audit_list_segments(a->dir, &names, &n) == -1 ||
	    (f = break_fields(a, &r, names, n, &bseq)) == NULL) {
		err_set(e, ERR_SYSTEM, "audit: cannot read the segments of %s",
		    a->dir);
		goto out;
	}
	if ((cpmax = max_note_size(a, &v)) > bseq)
		bseq = cpmax;
	break_chain(a, &r, bseq);
	snprintf(a->segname, sizeof(a->segname), "%s%020llu%s",
	    AUDIT_SEG_PREFIX, (unsigned long long)bseq, AUDIT_SEG_SUFFIX);
	if ((seal_note = build_break(a, f, o)) == NULL) {
		err_set(e, ERR_CRYPTO, "audit: cannot build the break "
		    "records");
		goto out;
	}
	snprintf(cpname, sizeof(cpname), "%llu.cp",
	    (unsigned long long)a->next_seq);
	if (install_new(a, a->dirfd, a->segname, buf_data(&a->out),
	    a->out.len) == -1 || install_new(a, a->cpdirfd, cpname, seal_note,
	    strlen(seal_note)) == -1) {
		err_set(e, ERR_SYSTEM, "audit: cannot write %s/%s: %s",
		    a->dir, a->segname, strerror(errno));
		goto out;
	}
	snprintf(seg, seglen, "%s", a->segname);
	rc = 0;
 out:
	json_decref(f);
	free(seal_note);
	audit_free_segments(names, n);
	audit_verify_free(&r);
	audit_free(a);
	return rc;
}
