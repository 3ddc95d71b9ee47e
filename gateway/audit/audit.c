/*
 * audit.c: the audit log writer (see audit.h and docs/audit-log.md).
 *
 * Threads: the event loop collects the records of one loop turn and hands
 * them to a mutex-protected queue at once; the writer thread serialises a
 * whole batch (seq, ts, prev and the Merkle state follow the order of the
 * lines exactly), ends it with a signed checkpoint, writes it with one
 * write(2) and makes it durable with one fdatasync(2), then moves it to
 * the done list and wakes the loop through an eventfd, where the
 * callbacks run in submit order.
 *
 * Files: a segment is first written under a temporary name with its open
 * record (and recovery and checkpoint records), synced, then renamed into
 * place, so a segment never exists without its open record.  The latest
 * checkpoint is replaced atomically (temp, fsync, rename, fsync dir).
 * When a segment is sealed, its leaf hashes (kept as the lines are
 * written) go to seg-N.leaves beside it (audit_verify.h), a cache for
 * eppgw-audit prove, written off the hot path by a thread of its own.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "audit.h"
#include "audit_int.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "jcanon.h"
#include "log.h"
#include "merkle.h"
#include "strmap.h"

int
audit_finding_room(int rest)
{
	if (rest < 0 || rest >= ERR_MSG_MAX - 1)
		return 0;
	return ERR_MSG_MAX - 1 - rest;
}

ssize_t
audit_default_write(int fd, const void *p, size_t len)
{
	return write(fd, p, len);
}

static int64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* RFC 3339 UTC with microseconds; also the day number, for rotation. */
static void
timestamp(char out[32], int64_t *day)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + 19, 13, ".%06uZ",
	    (unsigned)(ts.tv_nsec / 1000) % 1000000u);
	if (day != NULL)
		*day = (int64_t)ts.tv_sec / 86400;
}

/* The common fields of the next record. */
int
audit_stamp_record(struct audit *a, json_t *fields)
{
	char ts[32];

	timestamp(ts, NULL);
	if (json_object_set_new(fields, "v", json_integer(1)) == -1 ||
	    json_object_set_new(fields, "seq",
	    json_integer((json_int_t)a->next_seq)) == -1 ||
	    json_object_set_new(fields, "ts", json_string(ts)) == -1 ||
	    json_object_set_new(fields, "prev", json_string(a->prev_hex)) == -1)
		return -1;
	return 0;
}

/*
 * Keep a line's leaf hash for the segment's index.  The index is a cache:
 * when memory runs out the segment simply gets none.  A segment ends
 * after the batch that passes segment_max, and every line is longer than
 * 64 bytes (its prev alone is), so that bounds its leaves.
 */
static void
keep_leaf(struct audit *a, const merkle_hash h)
{
	merkle_hash *nl;

	if (a->seg_leaves_lost)
		return;
	if (a->seg_nleaves == a->seg_capleaves) {
		if ((nl = grow_array(a->seg_leaves, &a->seg_capleaves,
		    (size_t)a->seg_nleaves + 1, sizeof(*nl),
		    (a->o.segment_max + AUDIT_OUT_MAX) / 64)) == NULL) {
			a->seg_leaves_lost = 1;
			return;
		}
		a->seg_leaves = nl;
	}
	memcpy(a->seg_leaves[a->seg_nleaves++], h, MERKLE_HASH_LEN);
}

/*
 * The line written to a->out from offset start on (room is left for its
 * newline): hash the bytes as written, end the line, advance the chain.
 */
static void
chain_line(struct audit *a, size_t start, uint64_t *seqp, merkle_hash leaf)
{
	merkle_hash h;

	merkle_leaf_hash(buf_data(&a->out) + start, a->out.len - start, h);
	buf_end(&a->out)[0] = '\n';
	buf_wrote(&a->out, 1);
	merkle_range_append(&a->range, h);
	keep_leaf(a, h);
	merkle_hex(h, a->prev_hex);
	if (seqp != NULL)
		*seqp = a->next_seq;
	if (leaf != NULL)
		memcpy(leaf, h, MERKLE_HASH_LEN);
	a->next_seq++;
}

/* Serialise one stamped record onto a->out (compact, sorted keys). */
int
audit_emit_record(struct audit *a, json_t *fields, uint64_t *seqp,
    merkle_hash leaf)
{
	size_t n, avail, start = a->out.len;

	if (buf_reserve(&a->out, 4096) == -1)
		return -1;
	for (;;) {
		avail = buf_room(&a->out);
		n = json_dumpb(fields, buf_end(&a->out), avail,
		    JSON_COMPACT | JSON_SORT_KEYS);
		if (n == 0)
			return -1;
		if (n + 1 <= avail)
			break;
		if (buf_reserve(&a->out, n + 1) == -1)
			return -1;
	}
	buf_wrote(&a->out, n);
	chain_line(a, start, seqp, leaf);
	return 0;
}

static const char *const wkey[AW_N] = { "prev", "req", "seq", "t", "ts",
    "v" };

/* Append p[0..n) to a->out, which has room. */
static void
put(struct audit *a, const void *p, size_t n)
{
	memcpy(buf_end(&a->out), p, n);
	buf_wrote(&a->out, n);
}

/*
 * A submitted record's line: its body with the writer's members spliced
 * in where their keys sort (e->at), so the line stays canonical.  req is
 * the reply's "req" value, or NULL for a record without one.
 */
static int
emit_body(struct audit *a, struct audit_entry *e, const char *req,
    uint64_t *seqp, merkle_hash leaf)
{
	char val[AW_N][80], ts[32];
	size_t start = a->out.len, pos = 1, end;
	int first = 1;

	timestamp(ts, NULL);
	snprintf(val[AW_PREV], sizeof(val[0]), "\"%s\"", a->prev_hex);
	snprintf(val[AW_REQ], sizeof(val[0]), "%s", req != NULL ? req : "");
	snprintf(val[AW_SEQ], sizeof(val[0]), "%llu",
	    (unsigned long long)a->next_seq);
	snprintf(val[AW_T], sizeof(val[0]), "\"%s\"", e->t);
	snprintf(val[AW_TS], sizeof(val[0]), "\"%s\"", ts);
	snprintf(val[AW_V], sizeof(val[0]), "1");
	/* A member: its value, at most 4 bytes of key, 4 of punctuation;
	 * then braces and the newline. */
	if (buf_reserve(&a->out, e->len + AW_N * (sizeof(val[0]) + 8) + 3) ==
	    -1)
		return -1;
	put(a, "{", 1);
	for (int k = 0; k < AW_N; k++) {
		if (k == AW_REQ && req == NULL)
			continue;
		/* The body's members before this one, without the comma
		 * that separated them from the next. */
		end = e->at[k];
		if (end > pos) {
			if (!first)
				put(a, ",", 1);
			put(a, e->body + pos, end - pos -
			    (e->body[end - 1] == ',' ? 1 : 0));
			first = 0;
		}
		if (!first)
			put(a, ",", 1);
		put(a, "\"", 1);
		put(a, wkey[k], strlen(wkey[k]));
		put(a, "\":", 2);
		put(a, val[k], strlen(val[k]));
		first = 0;
		pos = end;
	}
	if (e->len - 1 > pos) {
		put(a, ",", 1);
		put(a, e->body + pos, e->len - 1 - pos);
	}
	put(a, "}", 1);
	chain_line(a, start, seqp, leaf);
	return 0;
}

static int
append_record(struct audit *a, json_t *fields, uint64_t *seqp,
    merkle_hash leaf)
{
	if (audit_stamp_record(a, fields) == -1)
		return -1;
	return audit_emit_record(a, fields, seqp, leaf);
}

int
audit_append_type(struct audit *a, const char *t, json_t *fields)
{
	int r;

	if (fields == NULL)
		return -1;
	r = json_object_set_new(fields, "t", json_string(t)) == -1 ? -1 :
	    append_record(a, fields, NULL, NULL);
	json_decref(fields);
	return r;
}

/* Sign the current tree; returns the note (malloc'd) or NULL. */
char *
audit_sign_now(struct audit *a, struct checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->origin, sizeof(cp->origin), "%s", a->origin);
	cp->size = a->next_seq;
	merkle_range_root(&a->range, cp->root);
	return checkpoint_sign(a->key, a->origin, cp);
}

/* A checkpoint record: it covers every line before it. */
int
audit_append_checkpoint(struct audit *a)
{
	struct checkpoint cp;
	char *note, hex[65];
	json_t *f;

	if ((note = audit_sign_now(a, &cp)) == NULL)
		return -1;
	merkle_hex(cp.root, hex);
	f = json_pack("{s:s, s:I, s:s}", "note", note, "size",
	    (json_int_t)cp.size, "root", hex);
	if (audit_append_type(a, "checkpoint", f) == -1) {
		free(note);
		return -1;
	}
	free(a->pending_note);
	a->pending_note = note;
	a->sealed = a->next_seq;
	clock_gettime(CLOCK_MONOTONIC, &a->last_cp);
	return 0;
}

int
audit_write_all(struct audit *a, int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = a->env.write_fn(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write a->out to the segment (not yet durable). */
/*
 * Zero-fill the open segment ahead of its data, a chunk at a time, so that
 * a batch overwrites blocks the file already has and fdatasync(2) has only
 * the data to write: appending changed the file's size, and on ext4 every
 * fdatasync then also wrote the inode (about 40% of its time and CPU on the
 * machines measured).  The zeros past the data are not part of the log:
 * readers take a segment without its trailing NUL bytes (audit_verify.h),
 * and a sealed segment is cut to its data (trim_segment).  Best effort: if
 * the zeros cannot be written (a full disk, the file-size limit), they are
 * cut again, so they hold no space the checkpoint files need, and the
 * segment grows as it did before: its data writes decide.
 */
#define AUDIT_PREALLOC	(256 * 1024)

static void
preallocate(struct audit *a, size_t need)
{
	static const char zero[65536];
	uint64_t want, at;
	size_t n;
	ssize_t w;

	if (a->seg_noalloc || a->seg_bytes + need <= a->seg_alloc)
		return;
	want = a->seg_bytes + need + AUDIT_PREALLOC;
	if (want > a->o.segment_max + need)	/* it rotates there */
		want = a->o.segment_max + need;
	for (at = a->seg_alloc > a->seg_bytes ? a->seg_alloc : a->seg_bytes;
	    at < want; at += (uint64_t)w) {
		n = want - at < sizeof(zero) ? (size_t)(want - at) :
		    sizeof(zero);
		if ((w = pwrite(a->fd, zero, n, (off_t)at)) <= 0) {
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			a->seg_noalloc = 1;
			break;
		}
	}
	a->seg_alloc = at;
	if (a->seg_noalloc && ftruncate(a->fd, (off_t)a->seg_bytes) == 0)
		a->seg_alloc = a->seg_bytes;
}

/*
 * Cut a segment that is done to its data (the zeros preallocate() left).
 * A failure leaves zeros that readers skip anyway: logged, not fatal.
 */
static void
trim_segment(struct audit *a)
{
	if (a->seg_alloc <= a->seg_bytes)
		return;
	if (ftruncate(a->fd, (off_t)a->seg_bytes) == -1 ||
	    a->env.fsync_fn(a->fd) == -1)
		log_warn("audit: cannot cut %s/%s to its data: %s", a->dir,
		    a->segname, strerror(errno));
	a->seg_alloc = a->seg_bytes;
}

static int
write_out(struct audit *a)
{
	if (a->out.len == 0)
		return 0;
	preallocate(a, a->out.len);
	if (audit_write_all(a, a->fd, buf_data(&a->out), a->out.len) == -1) {
		log_err("audit: write to %s/%s failed: %s; the audit log has "
		    "FAILED and nothing more will be forwarded", a->dir,
		    a->segname, strerror(errno));
		return -1;
	}
	EVP_DigestUpdate(a->seg_sha, buf_data(&a->out), a->out.len);
	a->seg_bytes += a->out.len;
	buf_reset(&a->out);
	return 0;
}

/* Write and sync a->out.  Failure is final: never retry. */
static int
flush_out(struct audit *a)
{
	if (write_out(a) == -1)
		return -1;
	if (a->env.fsync_fn(a->fd) == -1) {
		log_err("audit: fdatasync of %s/%s failed: %s; the audit log "
		    "has FAILED and nothing more will be forwarded", a->dir,
		    a->segname, strerror(errno));
		return -1;
	}
	return 0;
}

/* Replace dirfd/name with data: temp, fsync, rename, fsync dir. */
static int
atomic_write(struct audit *a, int dirfd, const char *name, const char *data)
{
	if (file_replace_at(dirfd, name, data, strlen(data), 0640,
	    a->env.fsync_fn) == 0)
		return 0;
	log_err("audit: writing %s/%s failed: %s; the audit log has FAILED",
	    a->dir, name, strerror(errno));
	return -1;
}

/*
 * A copy of the latest checkpoint outside the log ([audit] publish_dir:
 * a directory a witness or a backup job collects from), so that removing
 * the newest segments together with the checkpoint file, or rolling the
 * log back, is caught by `eppgw-audit verify --known-checkpoint DIR`.
 * Best effort: a failure is logged, the log itself is not affected.
 */
static void
publish(struct audit *a, const char *note)
{
	if (a->pubfd == -1 || file_replace_at(a->pubfd, a->pubname, note,
	    strlen(note), 0644, NULL) == 0)
		return;
	log_warn("audit: cannot publish the checkpoint to %s: %s",
	    a->o.publish_dir, strerror(errno));
}

static int
write_pending_note(struct audit *a)
{
	int r = 0;

	if (a->pending_note != NULL) {
		r = atomic_write(a, a->dirfd, AUDIT_CHECKPOINT_FILE,
		    a->pending_note);
		if (r == 0)
			publish(a, a->pending_note);
		free(a->pending_note);
		a->pending_note = NULL;
	}
	return r;
}

/* The seal of a closed segment: checkpoints/<size>.cp and DIR/checkpoint. */
static int
seal(struct audit *a)
{
	struct checkpoint cp;
	char *note, name[32];
	int r;

	if ((note = audit_sign_now(a, &cp)) == NULL) {
		log_err("audit: cannot sign a checkpoint");
		return -1;
	}
	snprintf(name, sizeof(name), "%llu.cp", (unsigned long long)cp.size);
	r = atomic_write(a, a->cpdirfd, name, note) == -1 ||
	    atomic_write(a, a->dirfd, AUDIT_CHECKPOINT_FILE, note) == -1 ?
	    -1 : 0;
	if (r == 0)
		publish(a, note);
	free(note);
	return r;
}

/* ---- Leaf indexes ---- */

struct index_job {
	char		*path;		/* DIR/seg-N.leaves */
	merkle_hash	*leaves;
	uint64_t	 first, count, seg_bytes;
};

/* Write one index: temp, fsync, rename, fsync dir (file_replace). */
static void *
index_main(void *arg)
{
	struct index_job *j = arg;
	size_t len = AUDIT_LEAVES_HDR + (size_t)j->count * MERKLE_HASH_LEN;
	uint8_t *buf;

	if ((buf = malloc(len)) == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	audit_leaves_header(buf, j->first, j->count, j->seg_bytes);
	memcpy(buf + AUDIT_LEAVES_HDR, j->leaves,
	    (size_t)j->count * MERKLE_HASH_LEN);
	if (file_replace(j->path, buf, len, 0440) == 0)
		goto out;
 fail:
	log_warn("audit: cannot write the leaf index %s: %s; proofs hash "
	    "that segment instead (the index is only a cache)", j->path,
	    strerror(errno));
 out:
	free(buf);
	free(j->leaves);
	free(j->path);
	free(j);
	return NULL;
}

/* Wait for the index being written, if any. */
static void
index_join(struct audit *a)
{
	if (a->ithr_started) {
		pthread_join(a->ithr, NULL);
		a->ithr_started = 0;
	}
}

/*
 * The current segment is sealed (its close record and the seal over it
 * are durable): write its index, in a thread of its own unless wait
 * (shutdown), so no record waits for it.  Its leaves go with the job;
 * the next segment collects its own.  Nothing here can fail the log.
 */
static void
index_sealed(struct audit *a, int wait)
{
	char name[AUDIT_LEAVES_NAMELEN + 1];
	struct index_job *j;
	size_t plen;

	index_join(a);
	if (a->seg_leaves_lost || a->seg_nleaves == 0 ||
	    a->seg_nleaves != a->next_seq - a->seg_first ||
	    audit_leaves_name(a->segname, name) == -1)
		return;
	plen = strlen(a->dir) + 1 + strlen(name) + 1;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = malloc(plen)) == NULL) {
		free(j);
		log_warn("audit: no memory for the leaf index of %s",
		    a->segname);
		return;
	}
	snprintf(j->path, plen, "%s/%s", a->dir, name);
	j->leaves = a->seg_leaves;
	j->first = a->seg_first;
	j->count = a->seg_nleaves;
	j->seg_bytes = a->seg_bytes;
	a->seg_leaves = NULL;
	a->seg_nleaves = a->seg_capleaves = 0;
	if (!wait && pthread_create(&a->ithr, NULL, index_main, j) == 0) {
		a->ithr_started = 1;
		return;
	}
	(void)index_main(j);
}

/* An index under a segment's name that does not describe it now: gone
 * (a new segment of that name, a segment set aside or cut short). */
static void
drop_index(struct audit *a, const char *segname)
{
	char name[AUDIT_LEAVES_NAMELEN + 1];

	if (audit_leaves_name(segname, name) == 0 &&
	    unlinkat(a->dirfd, name, 0) == -1 && errno != ENOENT)
		log_warn("audit: cannot remove the stale leaf index %s/%s: "
		    "%s (prove will not trust it: its root would differ)",
		    a->dir, name, strerror(errno));
}

/*
 * Start the segment whose first record is seq next_seq: open record
 * (naming the previous segment), the recovery record if any, and a
 * checkpoint, written and synced under a temporary name and renamed.
 */
static int
start_segment(struct audit *a, json_t *prev_segment, json_t *recovery)
{
	char tmp[64], ts[32];
	json_t *f;
	int fd = -1;

	buf_reset(&a->out);
	snprintf(a->segname, sizeof(a->segname), "%s%020llu%s",
	    AUDIT_SEG_PREFIX, (unsigned long long)a->next_seq,
	    AUDIT_SEG_SUFFIX);
	/* Its lines' leaves, for its index once it is sealed; an index
	 * left under this name describes something else. */
	a->seg_first = a->next_seq;
	a->seg_nleaves = 0;
	a->seg_leaves_lost = 0;
	drop_index(a, a->segname);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", a->segname);
	(void)unlinkat(a->dirfd, tmp, 0);
	/* Not O_APPEND: batches overwrite the zeros ahead (preallocate). */
	if ((fd = openat(a->dirfd, tmp, O_WRONLY | O_CREAT |
	    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_err("audit: cannot create %s/%s: %s", a->dir, tmp,
		    strerror(errno));
		goto fail;
	}
	f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "origin", a->origin,
	    "log_id", a->log_id, "segment", a->segname, "software", "eppgw "
	    EPPGW_VERSION, "mac_key", a->mac_key_id);
	if (f != NULL && prev_segment != NULL)
		json_object_set(f, "prev_segment", prev_segment);
	if (audit_append_type(a, "open", f) == -1 || (recovery != NULL &&
	    audit_append_type(a, "recovery", json_incref(recovery)) == -1) ||
	    audit_append_checkpoint(a) == -1) {
		log_err("audit: cannot build the records of a new segment");
		goto fail;
	}
	if (EVP_DigestInit_ex(a->seg_sha, EVP_sha256(), NULL) != 1)
		goto fail;
	a->fd = fd;
	a->seg_bytes = 0;
	a->seg_alloc = 0;
	a->seg_noalloc = 0;
	timestamp(ts, &a->seg_day);
	if (flush_out(a) == -1)
		goto fail;
	if (renameat(a->dirfd, tmp, a->dirfd, a->segname) == -1 ||
	    fsync(a->dirfd) == -1) {
		log_err("audit: cannot install %s/%s: %s", a->dir, a->segname,
		    strerror(errno));
		goto fail;
	}
	return write_pending_note(a);
 fail:
	if (fd != -1)
		close(fd);
	a->fd = -1;
	return -1;
}

/* Close the current segment and open the next one. */
static int
rotate(struct audit *a)
{
	merkle_hash h;
	char hex[65], oldname[sizeof(a->segname)];
	json_t *ps;
	int r;

	if (audit_append_type(a, "close", json_pack("{s:s}", "reason",
	    "rotate")) == -1 || flush_out(a) == -1 || seal(a) == -1)
		return -1;
	trim_segment(a);
	index_sealed(a, 0);
	EVP_DigestFinal_ex(a->seg_sha, h, NULL);
	merkle_hex(h, hex);
	(void)fchmod(a->fd, 0440);
	close(a->fd);
	a->fd = -1;
	snprintf(oldname, sizeof(oldname), "%s", a->segname);
	ps = json_pack("{s:s, s:s, s:I}", "name", oldname, "sha256", hex,
	    "last_seq", (json_int_t)(a->next_seq - 1));
	r = ps == NULL ? -1 : start_segment(a, ps, NULL);
	json_decref(ps);
	return r;
}

static int
need_rotation(struct audit *a)
{
	char ts[32];
	int64_t day;

	if (a->seg_bytes + a->out.len >= a->o.segment_max)
		return 1;
	timestamp(ts, &day);
	return day != a->seg_day;
}

/* ---- The writer thread ---- */

/*
 * One thread writes the log: it takes what the loop queued, serialises it
 * as one batch ending with a signed checkpoint, writes it, makes it durable
 * with one fdatasync(2), then hands the records back to the loop through an
 * eventfd (release()).  What arrives during the fdatasync is the next
 * batch.  A second thread for the fdatasync, so that the next batch was
 * serialised meanwhile, cost more in wake-ups (five to seven context
 * switches a batch, a sixth of the audit process's CPU in profiles) than
 * the overlap saved.  Every completion, failures included, reaches the done
 * list in line order under the lock, so callbacks keep that order.
 */

static void
wake_loop(struct audit *a)
{
	uint64_t one = 1;

	/* Only the eventfd counter can fail here; the loop drains it. */
	(void)!write(a->efd, &one, sizeof(one));
}

/* Under a->mu: append a list to the tail of another. */
static void
append_list(struct audit_entry ***tail, struct audit_entry *head)
{
	struct audit_entry *e;

	while ((e = head) != NULL) {
		head = e->next;
		e->next = NULL;
		**tail = e;
		*tail = &e->next;
	}
}

/* Under a->mu: fail every record of list and queue it for its callback. */
static void
fail_list(struct audit *a, struct audit_entry *list)
{
	for (struct audit_entry *e = list; e != NULL; e = e->next)
		e->status = -1;
	append_list(&a->dtail, list);
}

/*
 * Writer: make the records written so far durable, then hand them back
 * (with fail, or when the fdatasync fails: failed).  note, when given, is
 * the checkpoint to put in DIR/checkpoint once they are durable; stolen.
 */
static void
release(struct audit *a, struct audit_entry *list, char *note, int fail)
{
	struct timespec t0, t1;
	uint64_t us, nrec = 0;
	int rc = 0;

	if (!fail && !atomic_load(&a->failed)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = a->env.fsync_fn(a->fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
		    (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
		for (struct audit_entry *e = list; e != NULL; e = e->next)
			nrec++;
		if (rc == -1)
			log_err("audit: fdatasync of %s/%s failed: %s; the "
			    "audit log has FAILED and nothing more will be "
			    "forwarded", a->dir, a->segname, strerror(errno));
		else if (note != NULL && (rc = atomic_write(a, a->dirfd,
		    AUDIT_CHECKPOINT_FILE, note)) == 0)
			publish(a, note);
		pthread_mutex_lock(&a->mu);
		a->st_syncs++;
		a->st_records += nrec;
		a->st_sync_us += us;
		if (us > a->st_sync_us_max)
			a->st_sync_us_max = us;
		if (nrec > a->st_batch_max)
			a->st_batch_max = nrec;
	} else {
		rc = -1;
		pthread_mutex_lock(&a->mu);
	}
	free(note);
	if (rc == -1) {
		atomic_store(&a->failed, 1);
		fail_list(a, list);
	} else
		append_list(&a->dtail, list);
	pthread_mutex_unlock(&a->mu);
	wake_loop(a);
}

/*
 * Writer: the log has failed; fail list and everything queued, in order,
 * in one hold of the lock: the loop fails what it submits later itself
 * (push_local), after these.
 */
static void
writer_fail(struct audit *a, struct audit_entry *list)
{
	pthread_mutex_lock(&a->mu);
	atomic_store(&a->failed, 1);
	fail_list(a, list);
	fail_list(a, a->qhead);
	a->qhead = NULL;
	a->qtail = &a->qhead;
	pthread_mutex_unlock(&a->mu);
	wake_loop(a);
}

/*
 * Writer: a reply's req from its command's kept seq (audit_submit_ref).
 * A key without a kept seq is a caller's bug or a command written before
 * this writer started; the reply is still written, with req null.
 */
static const char *
ref_before(struct audit *a, struct audit_entry *e, char req[24])
{
	uint64_t *seq;

	if (e->ref_op != AUDIT_REF_REQ)
		return NULL;
	if ((seq = strmap_del(a->refs, e->ref_key)) == NULL) {
		log_warn("audit: no command record for a reply (%s)",
		    e->ref_key);
		snprintf(req, 24, "null");
	} else
		snprintf(req, 24, "%llu", (unsigned long long)*seq);
	free(seq);
	atomic_store(&a->nrefs, strmap_count(a->refs));
	return req;
}

/* Writer: keep a command's seq for its reply, or forget it. */
static void
ref_after(struct audit *a, struct audit_entry *e)
{
	uint64_t *seq = NULL, *old = NULL;

	if (e->ref_op == AUDIT_REF_DROP)
		old = strmap_del(a->refs, e->ref_key);
	else if (e->ref_op == AUDIT_REF_KEEP) {
		/* Out of memory: the reply gets req null, nothing worse. */
		if ((seq = malloc(sizeof(*seq))) != NULL) {
			*seq = e->seq;
			if (strmap_put(a->refs, e->ref_key, seq,
			    (void **)&old) == -1)
				free(seq);
		}
	} else
		return;
	free(old);
	atomic_store(&a->nrefs, strmap_count(a->refs));
}

static int
write_batch(struct audit *a, struct audit_entry *batch, int want_cp,
    int publish)
{
	struct audit_entry *e, *group = batch, **link = &group;
	char *note = NULL, req[24];

	for (e = batch; e != NULL; link = &e->next, e = e->next) {
		if (need_rotation(a)) {
			/*
			 * Seal the records so far into the old segment:
			 * signed before they are acknowledged, as every
			 * batch is.
			 */
			*link = NULL;
			if ((group != e && audit_append_checkpoint(a) == -1) ||
			    write_out(a) == -1) {
				*link = e;	/* failed in line order */
				writer_fail(a, group);
				return -1;
			}
			release(a, group, NULL, 0);
			group = e;
			if (audit_failed(a) || rotate(a) == -1) {
				writer_fail(a, e);
				return -1;
			}
		}
		if (emit_body(a, e, ref_before(a, e, req), &e->seq,
		    e->leaf) == -1) {
			log_err("audit: cannot serialise a record; the audit "
			    "log has FAILED");
			writer_fail(a, group);
			return -1;
		}
		ref_after(a, e);
		free(e->body);
		e->body = NULL;
	}
	if (want_cp) {
		if (audit_append_checkpoint(a) == -1) {
			log_err("audit: cannot sign a checkpoint; the audit "
			    "log has FAILED");
			writer_fail(a, group);
			return -1;
		}
		note = a->pending_note;
		a->pending_note = NULL;
		if (publish) {
			a->file_size = a->next_seq;
			clock_gettime(CLOCK_MONOTONIC, &a->last_file_cp);
		} else {
			free(note);	/* in the segment; the file waits */
			note = NULL;
		}
	}
	if (write_out(a) == -1) {
		free(note);
		writer_fail(a, group);
		return -1;
	}
	release(a, group, note, 0);
	return 0;
}

static void
timespec_add_ms(struct timespec *t, int64_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

static void *
writer_main(void *arg)
{
	struct audit *a = arg;
	struct audit_entry *batch;
	struct timespec deadline;
	int64_t period;
	int stop, want_cp, publish, unsealed, asked;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		/*
		 * Under load a batch is what arrived during the last
		 * fdatasync, with one signature.
		 */
		while (a->qhead == NULL && !a->stop && !a->cp_wanted &&
		    !atomic_load(&a->failed)) {
			unsealed = a->next_seq > a->sealed ||
			    a->file_size < a->next_seq;
			period = unsealed ? (int64_t)a->o.checkpoint_ms :
			    (int64_t)a->o.heartbeat_s * 1000;
			if (ms_since(&a->last_file_cp) >= period)
				break;
			/* The condvar waits on CLOCK_MONOTONIC. */
			deadline = a->last_file_cp;
			timespec_add_ms(&deadline, period);
			pthread_cond_timedwait(&a->cv, &a->mu, &deadline);
		}
		if (atomic_load(&a->failed)) {
			pthread_mutex_unlock(&a->mu);
			writer_fail(a, NULL);
			return NULL;
		}
		batch = a->qhead;
		a->qhead = NULL;
		a->qtail = &a->qhead;
		stop = a->stop;
		asked = a->cp_wanted;
		a->cp_wanted = 0;
		pthread_mutex_unlock(&a->mu);

		/*
		 * Every batch ends with a signed checkpoint record in the same
		 * write and fdatasync, so no record is acknowledged before a
		 * signature covers it, and at start whatever follows the last
		 * signature was not written by this writer (resume, set_aside).
		 * The checkpoint file is replaced at the old cadence only: it
		 * costs a file replacement with its fsyncs.  A file behind the
		 * log counts as unsealed, as in the wait above: else, once a
		 * burst ended within checkpoint_ms of the last replacement,
		 * the wait would end at once and nothing be done, a spin until
		 * the next record (an idle gateway burnt a core).
		 */
		unsealed = a->next_seq > a->sealed || batch != NULL ||
		    a->file_size < a->next_seq;
		publish = !stop && (asked ||
		    (unsealed && ms_since(&a->last_file_cp) >=
		    (int64_t)a->o.checkpoint_ms) ||
		    ms_since(&a->last_file_cp) >=
		    (int64_t)a->o.heartbeat_s * 1000);
		want_cp = batch != NULL || publish;
		if (want_cp && write_batch(a, batch, 1, publish) == -1)
			return NULL;

		pthread_mutex_lock(&a->mu);
		if (stop && a->qhead == NULL)
			break;
	}
	pthread_mutex_unlock(&a->mu);

	/* Clean shutdown: close, then a seal over every line, then the
	 * last segment's index. */
	if (audit_failed(a) || audit_append_type(a, "close", json_pack("{s:s}",
	    "reason", "shutdown")) == -1 || flush_out(a) == -1 ||
	    seal(a) == -1)
		writer_fail(a, NULL);
	else {
		trim_segment(a);
		index_sealed(a, 1);
	}
	index_join(a);
	return NULL;
}

/* ---- The event loop's side ---- */

static void
run_done(struct audit *a)
{
	struct audit_entry *list, *e;

	pthread_mutex_lock(&a->mu);
	list = a->dhead;
	a->dhead = NULL;
	a->dtail = &a->dhead;
	pthread_mutex_unlock(&a->mu);
	if (atomic_load(&a->failed) && !a->failure_told) {
		a->failure_told = 1;
		if (a->on_failure != NULL)
			a->on_failure(a->on_failure_arg);
	}
	while ((e = list) != NULL) {
		list = e->next;
		if (e->cb != NULL)
			e->cb(e->arg, e->status, e->status == 0 ? e->seq : 0,
			    e->leaf);
		free(e->body);
		free(e->ref_key);
		free(e);
	}
}

/* The loop: hand this turn's records to the writer. */
static void
push_local(struct audit *a)
{
	int failed;

	if (a->lhead == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	failed = atomic_load(&a->failed);
	if (failed)
		/* The writer has stopped: fail them after what it failed
		 * (writer_fail put those on the done list first). */
		fail_list(a, a->lhead);
	else {
		append_list(&a->qtail, a->lhead);
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	if (failed)
		wake_loop(a);
	a->lhead = NULL;
	a->ltail = &a->lhead;
}

static void
on_submit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	push_local(arg);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	run_done(arg);
}

int
audit_submit(struct audit *a, const char *t, json_t *fields, audit_cb cb,
    void *arg)
{
	return audit_submit_ref(a, t, fields, AUDIT_REF_NONE, NULL, cb, arg);
}

int
audit_submit_ref(struct audit *a, const char *t, json_t *fields,
    enum audit_ref_op op, const char *ns, audit_cb cb, void *arg)
{
	char *body;

	if (fields == NULL)
		fields = json_object();
	body = json_is_object(fields) ? json_dumps(fields, JSON_COMPACT |
	    JSON_SORT_KEYS) : NULL;
	json_decref(fields);
	if (body == NULL)
		return -1;
	return audit_submit_body(a, t, body, strlen(body), op, ns, cb, arg);
}

/* What audit_submit_body learns from a body's top level. */
struct body_scan {
	struct audit_entry	*e;
	int			 own_req;	/* the writer fills in req */
	const char		*sess;	/* its integer "sess", or NULL */
	size_t			 sesslen;
};

/* Byte order, a prefix first: jcanon's order of keys. */
static int
keycmp(const char *k, size_t kn, const char *w)
{
	size_t wn = strlen(w);
	int c = memcmp(k, w, kn < wn ? kn : wn);

	return c != 0 ? c : (kn > wn) - (kn < wn);
}

static int
body_member(const struct jcanon_member *m, void *arg)
{
	struct body_scan *bs = arg;
	int c;

	for (int k = 0; k < AW_N; k++) {
		if (bs->e->at[k] != 0 || (k == AW_REQ && !bs->own_req))
			continue;
		if ((c = keycmp(m->key, m->keylen, wkey[k])) == 0)
			return -1;	/* the writer's own */
		if (c > 0)
			bs->e->at[k] = m->start;
	}
	if (m->keylen == 4 && memcmp(m->key, "sess", 4) == 0 &&
	    m->vallen > 0 && m->val[0] >= '0' && m->val[0] <= '9') {
		bs->sess = m->val;
		bs->sesslen = m->vallen;
	}
	return 0;
}

static int
type_ok(const char *t)
{
	size_t n = t != NULL ? strlen(t) : 0;

	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
			return 0;
	return 1;
}

int
audit_submit_body(struct audit *a, const char *t, char *body, size_t n,
    enum audit_ref_op op, const char *ns, audit_cb cb, void *arg)
{
	struct audit_entry *e;
	struct body_scan bs;
	char key[96];

	if (atomic_load(&a->failed) || a->stop || !type_ok(t) ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		free(body);
		return -1;
	}
	/* Offsets are never 0 (the brace): 0 means not placed yet. */
	bs.e = e;
	bs.own_req = op == AUDIT_REF_REQ;
	bs.sess = NULL;
	if (jcanon_check(body, n, body_member, &bs) == -1)
		goto fail;
	for (int k = 0; k < AW_N; k++)
		if (e->at[k] == 0)
			e->at[k] = n - 1;
	if (op != AUDIT_REF_NONE) {
		if (ns == NULL || bs.sess == NULL ||
		    snprintf(key, sizeof(key), "%s/%.*s", ns, (int)bs.sesslen,
		    bs.sess) >= (int)sizeof(key) ||
		    (e->ref_key = strdup(key)) == NULL)
			goto fail;
	}
	snprintf(e->t, sizeof(e->t), "%s", t);
	e->body = body;
	e->len = n;
	e->ref_op = op;
	e->cb = cb;
	e->arg = arg;
	/*
	 * Records come in bursts (a batch of IPC messages): the writer
	 * takes the whole burst once the loop has run what is due, rather
	 * than waking for the first record and racing us for the lock.
	 * a->stop is only ever set by this thread (audit_close).
	 */
	if (a->lhead == NULL)
		event_active(a->ev_submit, EV_TIMEOUT, 0);
	*a->ltail = e;
	a->ltail = &e->next;
	return 0;
 fail:
	free(e->ref_key);
	free(e);
	free(body);
	return -1;
}

void
audit_on_failure(struct audit *a, void (*fn)(void *), void *arg)
{
	a->on_failure = fn;
	a->on_failure_arg = arg;
}

size_t
audit_refs_held(struct audit *a)
{
	return atomic_load(&a->nrefs);
}

void
audit_stats(struct audit *a, struct audit_stats *st)
{
	pthread_mutex_lock(&a->mu);
	st->records = a->st_records;
	st->syncs = a->st_syncs;
	st->sync_us = a->st_sync_us;
	st->sync_us_max = a->st_sync_us_max;
	st->batch_max = a->st_batch_max;
	pthread_mutex_unlock(&a->mu);
	st->failed = atomic_load(&a->failed);
}

int
audit_failed(const struct audit *a)
{
	return atomic_load(&a->failed);
}

void
audit_checkpoint(struct audit *a)
{
	push_local(a);		/* it follows what was submitted */
	pthread_mutex_lock(&a->mu);
	a->cp_wanted = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* ---- Opening ---- */

/* Leftover temporaries are never part of the log: remove them. */
static void
remove_temporaries(int dirfd)
{
	DIR *d;
	struct dirent *de;
	size_t n;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' && n > 5 &&
		    strcmp(de->d_name + n - 4, ".tmp") == 0)
			(void)unlinkat(dirfd, de->d_name, 0);
		/* A leaf index's temporary as versions before
		 * file_replace_at named it. */
		else if (strncmp(de->d_name, AUDIT_SEG_PREFIX,
		    strlen(AUDIT_SEG_PREFIX)) == 0 && n > 11 &&
		    strcmp(de->d_name + n - 11, AUDIT_LEAVES_SUFFIX ".tmp") ==
		    0)
			(void)unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

static int
open_dirs(struct audit *a, struct err *e)
{
	if (mkdir(a->dir, 0750) == -1 && errno != EEXIST)
		return err_set(e, ERR_SYSTEM, "audit: mkdir %s: %s", a->dir,
		    strerror(errno));
	if ((a->dirfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return err_set(e, ERR_SYSTEM, "audit: %s: %s", a->dir,
		    strerror(errno));
	if (mkdirat(a->dirfd, AUDIT_CHECKPOINT_DIR, 0750) == -1 &&
	    errno != EEXIST)
		return err_set(e, ERR_SYSTEM, "audit: mkdir %s/%s: %s", a->dir,
		    AUDIT_CHECKPOINT_DIR, strerror(errno));
	if ((a->cpdirfd = openat(a->dirfd, AUDIT_CHECKPOINT_DIR, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(e, ERR_SYSTEM, "audit: %s/%s: %s", a->dir,
		    AUDIT_CHECKPOINT_DIR, strerror(errno));
	remove_temporaries(a->dirfd);
	remove_temporaries(a->cpdirfd);
	if (a->o.publish_dir != NULL) {
		if ((a->pubfd = open(a->o.publish_dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return err_set(e, ERR_SYSTEM,
			    "audit: publish_dir %s: %s", a->o.publish_dir,
			    strerror(errno));
		/* One file per log, named by its origin ("/" is "_"). */
		snprintf(a->pubname, sizeof(a->pubname), "%s.cp", a->origin);
		for (char *c = a->pubname; *c != '\0'; c++)
			if (*c == '/')
				*c = '_';
	}
	return 0;
}

static json_t *
recovery_fields(const struct audit_verify_result *r)
{
	json_t *f, *un, *os;
	char hex[65];

	if ((un = json_array()) == NULL || (os = json_array()) == NULL) {
		json_decref(un);
		return NULL;
	}
	for (size_t i = 0; i < r->nunanswered; i++)
		json_array_append_new(un,
		    json_integer((json_int_t)r->unanswered[i]));
	/*
	 * What may be missing (docs/audit-log.md): a read-only command is
	 * forwarded before its record is durable, and a reply relayed
	 * before its record is; only the session's next command waits.
	 * So for each session open at the crash, its last reply and, if
	 * that was read-only, its last command.
	 */
	for (size_t i = 0; i < r->nopen_sessions; i++)
		json_array_append_new(os,
		    json_integer((json_int_t)r->open_sessions[i]));
	f = json_pack("{s:s, s:I, s:I, s:o, s:o}", "segment", r->last_segment,
	    "good_bytes", (json_int_t)r->good_bytes, "torn_bytes",
	    (json_int_t)r->torn_bytes, "unanswered", un, "open_sessions", os);
	if (f != NULL && r->torn) {
		merkle_hex(r->torn_sha256, hex);
		json_object_set_new(f, "torn_sha256", json_string(hex));
	}
	return f;
}

/*
 * Read fd from off to its end into memory (a segment: at most a few
 * segment_max).  NULL on failure.
 */
static uint8_t *
read_rest(int fd, off_t off, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb) == -1 || sb.st_size < off)
		return NULL;
	*len = (size_t)(sb.st_size - off);
	/* calloc: the analyzer cannot see that audit_content_len() stays
	 * within what was read. */
	if ((buf = calloc(1, *len ? *len : 1)) == NULL)
		return NULL;
	while (got < *len) {
		n = pread(fd, buf + got, *len - got, off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	return buf;
}

/*
 * What no signature covers is not part of the log: a crash's torn or
 * unsynced tail, or lines someone added without the key (records the
 * writer never wrote; signing over them would vouch for them).  It is
 * moved out of the log, never deleted: the rest of the last
 * authenticated segment after its last authenticated line is copied to
 * unauthenticated/<segment>.<stamp> and cut off, and every later segment
 * is moved there whole.  *out describes it for the recovery record (NULL:
 * nothing to set aside).  -1 with e on failure.
 */
static int
set_aside(struct audit *a, const struct audit_verify_result *r, json_t **out,
    struct err *e)
{
	char **names = NULL, stamp[32], dst[256], hex[65];
	size_t n = 0, idx, total = 0, len0 = 0, lines = 0;
	json_t *files = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t *buf = NULL, h[32];
	int ufd = -1, fd = -1, rc = -1;
	time_t now = time(NULL);
	struct tm tm;

	*out = NULL;
	if (r->auth_segment[0] == '\0')
		return err_set(e, ERR_CORRUPT, "audit: no signature in %s "
		    "verifies with this key: refusing to start", a->dir);
	if (audit_list_segments(a->dir, &names, &n) == -1)
		return err_set(e, ERR_SYSTEM, "audit: cannot list %s", a->dir);
	for (idx = 0; idx < n && strcmp(names[idx], r->auth_segment) != 0;
	    idx++)
		;
	if (idx == n)
		goto fail;
	if ((fd = openat(a->dirfd, names[idx], O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 || (buf = read_rest(fd, (off_t)r->auth_offset,
	    &len0)) == NULL)
		goto fail;
	/* The zeros ahead of the data (preallocate) are cut, not kept. */
	total = audit_content_len(buf, len0);
	if (total == 0 && len0 > 0 && (ftruncate(fd,
	    (off_t)r->auth_offset) == -1 || fsync(fd) == -1))
		goto fail;
	if (total == 0 && idx + 1 == n) {
		rc = 0;		/* everything is signed */
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if ((mkdirat(a->dirfd, AUDIT_UNAUTH_DIR, 0750) == -1 &&
	    errno != EEXIST) || (ufd = openat(a->dirfd, AUDIT_UNAUTH_DIR,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    (files = json_array()) == NULL || (md = EVP_MD_CTX_new()) ==
	    NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto fail;
	if (total > 0) {
		int tfd;

		snprintf(dst, sizeof(dst), "%s.%s.tail", names[idx], stamp);
		if ((tfd = openat(ufd, dst, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
			goto fail;
		if (audit_write_all(a, tfd, (const char *)buf, total) == -1 ||
		    fsync(tfd) == -1) {
			close(tfd);
			goto fail;
		}
		close(tfd);
		/* Only once the copy is durable is the segment cut, and
		 * then no index may describe it as it was. */
		drop_index(a, names[idx]);
		if (ftruncate(fd, (off_t)r->auth_offset) == -1 ||
		    fsync(fd) == -1)
			goto fail;
		EVP_DigestUpdate(md, buf, total);
		for (size_t i = 0; i < total; i++)
			lines += buf[i] == '\n';
		json_array_append_new(files, json_string(dst));
	}
	for (size_t i = idx + 1; i < n; i++) {
		size_t len = 0;
		int sfd;

		free(buf);
		buf = NULL;
		if ((sfd = openat(a->dirfd, names[i], O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1)
			goto fail;
		buf = read_rest(sfd, 0, &len);
		close(sfd);
		if (buf == NULL)
			goto fail;
		len = audit_content_len(buf, len);
		snprintf(dst, sizeof(dst), "%s.%s", names[i], stamp);
		drop_index(a, names[i]);
		if (renameat(a->dirfd, names[i], ufd, dst) == -1)
			goto fail;
		EVP_DigestUpdate(md, buf, len);
		for (size_t j = 0; j < len; j++)
			lines += buf[j] == '\n';
		total += len;
		json_array_append_new(files, json_string(dst));
	}
	if (fsync(ufd) == -1 || fsync(a->dirfd) == -1 ||
	    EVP_DigestFinal_ex(md, h, NULL) != 1)
		goto fail;
	merkle_hex(h, hex);
	log_warn("audit: %zu lines (%zu bytes) after the last signature in "
	    "%s were not written by this log's writer or not finished: set "
	    "aside in %s/%s, sha256 %s", lines, total, a->dir, a->dir,
	    AUDIT_UNAUTH_DIR, hex);
	*out = json_pack("{s:I, s:I, s:s, s:s, s:o}", "records",
	    (json_int_t)lines, "bytes", (json_int_t)total, "sha256", hex,
	    "dir", AUDIT_UNAUTH_DIR, "files", files);
	files = NULL;
	if (*out == NULL) {
		err_set(e, ERR_NOMEM, "audit: out of memory");
		goto out;
	}
	rc = 0;
	goto out;
 fail:
	err_set(e, ERR_SYSTEM, "audit: cannot set aside the unauthenticated "
	    "tail of %s: %s", a->dir, strerror(errno));
 out:
	json_decref(files);
	EVP_MD_CTX_free(md);
	free(buf);
	if (fd != -1)
		close(fd);
	if (ufd != -1)
		close(ufd);
	audit_free_segments(names, n);
	return rc;
}

/* The finding is cut to fit, not the refusal (audit_finding_room). */
#define FAILS_FMT	"audit: the log in %s fails verification: %.*s; " \
			"refusing to start (an operator must record a break)"

/* Verify the existing log and set up the state to continue it. */
static int
resume(struct audit *a, struct err *e)
{
	struct audit_verify_opts vo;
	struct audit_verify_result r;
	struct note_verifier v;
	json_t *ps = NULL, *rec = NULL, *aside = NULL;
	char hex[65];
	int rc = -1, rest;

	memset(&vo, 0, sizeof(vo));
	vo.want_seq = -1;
	if (note_verifier_from_pkey(a->key, NULL, &v) == -1)
		return err_set(e, ERR_CRYPTO, "audit: bad signing key");
	vo.vkey = &v;
	audit_verify_dir(a->dir, &vo, &r);
	if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT) {
		rest = snprintf(NULL, 0, FAILS_FMT, a->dir, 0, "");
		err_set(e, r.verdict == AUDIT_CANNOT ? ERR_INVALID :
		    ERR_CORRUPT, FAILS_FMT, a->dir, audit_finding_room(rest),
		    r.error);
		goto out;
	}
	if (strcmp(r.origin, a->origin) != 0) {
		err_set(e, ERR_INVALID, "audit: the log in %s has origin %s, "
		    "not %s", a->dir, r.origin, a->origin);
		goto out;
	}
	if (r.breaks > 0)
		log_warn("audit: the log in %s holds %llu operator break(s); "
		    "it verifies from the last one on", a->dir,
		    (unsigned long long)r.breaks);
	/* Never sign over what this writer did not write: set it aside,
	 * then continue the log as it is without it. */
	if (set_aside(a, &r, &aside, e) == -1)
		goto out;
	if (aside != NULL) {
		audit_verify_free(&r);
		audit_verify_dir(a->dir, &vo, &r);
		if (r.verdict == AUDIT_TAMPERED || r.verdict == AUDIT_CANNOT) {
			err_set(e, r.verdict == AUDIT_CANNOT ? ERR_INVALID :
			    ERR_CORRUPT, "audit: the log in %s fails "
			    "verification after setting aside its "
			    "unauthenticated tail: %s", a->dir, r.error);
			goto out;
		}
	}
	snprintf(a->log_id, sizeof(a->log_id), "%s", r.log_id);
	a->next_seq = r.records;
	a->range = r.range;
	merkle_hex(r.last_leaf, a->prev_hex);
	merkle_hex(r.last_segment_sha256, hex);
	ps = json_pack("{s:s, s:s, s:I}", "name", r.last_segment, "sha256",
	    hex, "last_seq", (json_int_t)(r.records - 1));
	if (!r.last_closed || aside != NULL) {
		log_warn("audit: %s ended without close (%llu torn bytes, %zu "
		    "unanswered commands): writing a recovery record",
		    r.last_segment, (unsigned long long)r.torn_bytes,
		    r.nunanswered);
		if ((rec = recovery_fields(&r)) == NULL)
			goto nomem;
		if (aside != NULL && json_object_set(rec, "set_aside",
		    aside) != 0)
			goto nomem;
	}
	if (ps == NULL)
		goto nomem;
	if (start_segment(a, ps, rec) == -1) {
		err_set(e, ERR_SYSTEM, "audit: cannot start a segment in %s",
		    a->dir);
		goto out;
	}
	rc = 0;
	goto out;
 nomem:
	err_set(e, ERR_NOMEM, "audit: out of memory");
 out:
	json_decref(ps);
	json_decref(rec);
	json_decref(aside);
	audit_verify_free(&r);
	return rc;
}

static int
create_log(struct audit *a, struct err *e)
{
	uint8_t id[16];
	merkle_hash g;

	if (RAND_bytes(id, sizeof(id)) != 1)
		return err_set(e, ERR_CRYPTO, "audit: no randomness");
	hex_encode(id, sizeof(id), a->log_id);
	audit_genesis(a->origin, a->log_id, g);
	merkle_hex(g, a->prev_hex);
	a->next_seq = 0;
	merkle_range_init(&a->range);
	if (start_segment(a, NULL, NULL) == -1)
		return err_set(e, ERR_SYSTEM, "audit: cannot create a log in "
		    "%s", a->dir);
	log_notice("audit: new log %s in %s", a->log_id, a->dir);
	return 0;
}

void
audit_free(struct audit *a)
{
	struct audit_entry *e;

	if (a == NULL)
		return;
	index_join(a);
	while ((e = a->qhead) != NULL) {
		a->qhead = e->next;
		free(e->body);
		free(e->ref_key);
		free(e);
	}
	while ((e = a->lhead) != NULL) {
		a->lhead = e->next;
		free(e->body);
		free(e->ref_key);
		free(e);
	}
	strmap_free(a->refs, free);
	if (a->ev_submit != NULL)
		event_free(a->ev_submit);
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->efd != -1)
		close(a->efd);
	if (a->fd != -1)
		close(a->fd);
	if (a->cpdirfd != -1)
		close(a->cpdirfd);
	if (a->pubfd != -1)
		close(a->pubfd);
	if (a->dirfd != -1)
		close(a->dirfd);
	EVP_MD_CTX_free(a->seg_sha);
	EVP_PKEY_free(a->key);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->pending_note);
	buf_free(&a->out);
	free(a->seg_leaves);
	free(a->dir);
	free(a);
}

/*
 * The key of the frame MACs, derived from the signing key: whoever can
 * read the log but not the key cannot test a guess at a password against
 * a record (a plain hash of a login frame would let them: the rest of the
 * frame is in the record).  Its id, a hash of the key, names it in every
 * segment's open record.
 */
static int
derive_mac_key(struct audit *a, struct err *e)
{
	uint8_t raw[64], id[32];
	size_t rawlen = sizeof(raw);
	unsigned n = 0;
	int r = -1;

	if (EVP_PKEY_get_raw_private_key(a->key, raw, &rawlen) != 1 ||
	    HMAC(EVP_sha256(), raw, (int)rawlen,
	    (const unsigned char *)"eppgw-audit-frame-mac/1", 23, a->mac_key,
	    &n) == NULL || n != 32 ||
	    EVP_Digest(a->mac_key, 32, id, &n, EVP_sha256(), NULL) != 1) {
		err_set(e, ERR_CRYPTO, "audit: cannot derive the frame MAC "
		    "key");
		goto out;
	}
	hex_encode(id, 8, a->mac_key_id);
	r = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

/*
 * What a process that writes records through the audit writer may hold:
 * the frame-MAC key, and a key for secret hashes in change digests
 * (policy.h) derived under a label of its own.  Neither is the signing key
 * nor lets anyone compute it.
 */
int
audit_policy_key(EVP_PKEY *key, uint8_t out[32])
{
	static const char label[] = "eppgw-change-secret/1";
	uint8_t raw[64];
	size_t rawlen = sizeof(raw);
	unsigned n = 0;
	int r = -1;

	if (EVP_PKEY_get_raw_private_key(key, raw, &rawlen) == 1 &&
	    HMAC(EVP_sha256(), raw, (int)rawlen, (const unsigned char *)label,
	    sizeof(label) - 1, out, &n) != NULL && n == 32)
		r = 0;
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

int
audit_keys(const struct audit *a, uint8_t mac_key[32], uint8_t policy_key[32])
{
	memcpy(mac_key, a->mac_key, 32);
	return audit_policy_key(a->key, policy_key);
}

int
audit_frame_mac(const struct audit *a, const uint8_t *frame, size_t len,
    char out[65])
{
	uint8_t md[32];
	unsigned n = 0;

	if (HMAC(EVP_sha256(), a->mac_key, sizeof(a->mac_key), frame, len, md,
	    &n) == NULL || n != 32)
		return -1;
	hex_encode(md, 32, out);
	return 0;
}

int
audit_open(struct event_base *base, const struct audit_conf *o,
    const struct audit_env *env, struct audit **out, struct err *e)
{
	struct audit *a;
	pthread_condattr_t ca;
	char **names = NULL;
	size_t nseg = 0;

	*out = NULL;
	if (o->dir == NULL || o->signing_key == NULL || o->origin == NULL)
		return err_set(e, ERR_INVALID, "audit: dir, signing key and "
		    "origin are required");
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return err_set(e, ERR_NOMEM, "audit: out of memory");
	a->efd = a->fd = a->dirfd = a->cpdirfd = a->pubfd = -1;
	a->ltail = &a->lhead;
	if ((a->refs = strmap_new()) == NULL) {
		free(a);
		return err_set(e, ERR_NOMEM, "audit: out of memory");
	}
	a->qtail = &a->qhead;
	buf_init(&a->out, AUDIT_OUT_MAX);
	a->dtail = &a->dhead;
	a->base = base;
	a->o = *o;
	if (env != NULL)
		a->env = *env;
	if (a->o.segment_max == 0)
		a->o.segment_max = AUDIT_DEFAULT_SEGMENT_MAX;
	if (a->o.checkpoint_ms == 0)
		a->o.checkpoint_ms = AUDIT_DEFAULT_CHECKPOINT_MS;
	if (a->o.heartbeat_s == 0)
		a->o.heartbeat_s = AUDIT_DEFAULT_HEARTBEAT_S;
	if (a->env.write_fn == NULL)
		a->env.write_fn = audit_default_write;
	if (a->env.fsync_fn == NULL)
		a->env.fsync_fn = fdatasync;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &a->last_cp);
	a->last_file_cp = a->last_cp;
	if ((a->dir = strdup(o->dir)) == NULL ||
	    (a->seg_sha = EVP_MD_CTX_new()) == NULL) {
		err_set(e, ERR_NOMEM, "audit: out of memory");
		goto fail;
	}
	if (strlen(o->origin) >= sizeof(a->origin) ||
	    strchr(o->origin, ' ') != NULL || strchr(o->origin, '+') != NULL ||
	    o->origin[0] == '\0') {
		err_set(e, ERR_INVALID, "audit: bad origin \"%s\"", o->origin);
		goto fail;
	}
	snprintf(a->origin, sizeof(a->origin), "%s", o->origin);
	if (checkpoint_key_load(o->signing_key, &a->key, e) == -1 ||
	    derive_mac_key(a, e) == -1 || open_dirs(a, e) == -1)
		goto fail;
	if (audit_list_segments(a->dir, &names, &nseg) == -1) {
		err_set(e, ERR_SYSTEM, "audit: %s: %s", a->dir,
		    strerror(errno));
		goto fail;
	}
	audit_free_segments(names, nseg);
	if ((nseg == 0 ? create_log(a, e) : resume(a, e)) == -1)
		goto fail;

	if ((a->ev_submit = event_new(base, -1, 0, on_submit, a)) == NULL ||
	    (a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (a->ev = event_new(base, a->efd, EV_READ | EV_PERSIST, on_wake,
	    a)) == NULL || event_add(a->ev, NULL) == -1) {
		err_set(e, ERR_SYSTEM, "audit: cannot set up the wake-up "
		    "event");
		goto fail;
	}
	if (pthread_create(&a->thr, NULL, writer_main, a) != 0) {
		err_set(e, ERR_SYSTEM, "audit: cannot start the writer "
		    "thread");
		goto fail;
	}
	a->thr_started = 1;
	*out = a;
	return 0;
 fail:
	audit_free(a);
	return -1;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	push_local(a);
	if (a->thr_started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thr, NULL);
	}
	run_done(a);
	audit_free(a);
}

/* [audit]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct audit_conf, m)
const struct conf_keyword audit_keywords[] = {
	{ "dir", KW_PATH, F(dir), 0, NULL, 0, 0 },
	{ "signing_key", KW_PATH, F(signing_key), 0, NULL, 0, 0 },
	{ "publish_dir", KW_PATH, F(publish_dir), 0, NULL, 0, 0 },
	{ "origin", KW_STRING, F(origin), 0, "eppgw/audit", 1, 200 },
	{ "segment_max", KW_SIZE, F(segment_max), 0, "67108864", 65536,
	    1UL << 34 },
	{ "checkpoint_ms", KW_UINT, F(checkpoint_ms), 0, "2000", 100, 600000 },
	{ "heartbeat", KW_UINT, F(heartbeat_s), 0, "300", 1, 86400 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
