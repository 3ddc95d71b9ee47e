/*
 * approval.c: pending changes, approval tickets and per-operator TOTP state
 * (see approval.h and DESIGN.md section 4).
 *
 * There is one record per change digest.  It is pending until approved,
 * denied or out of time; an approval turns it into a single-use ticket
 * bound to (digest, object, clID, requester); consuming the ticket closes
 * it.  A closed record is reopened as a fresh pending change when the same
 * change arrives again (a denial holds until the pending change would have
 * expired).  "Expired" is usually not stored: it is read off the clock, so
 * time passing never needs a write.
 *
 * Every change of state is made in memory, made durable and undone in
 * memory if that fails, so memory never grants what the disk does not
 * hold.  The one exception is failure counting: a refused code stays
 * counted in memory even if it could not be written, which can only make
 * us stricter.
 *
 * On disk (issue #11: rewriting the whole state for every change cost
 * 65 ms at 4,000 pending changes) the state is a snapshot, the state file,
 * plus a journal, STATE.journal, of what changed since.  A change appends
 * one line to the journal with one write(2) and one fdatasync.  A line is
 * a JSON object holding whole entities as they now are, never a
 * difference:
 *
 *	{"generation":G,		the snapshot this line follows
 *	 "op":"approve",		which call wrote it (for readers only)
 *	 "drop":[DIGEST,...],		changes purge() forgot
 *	 "changes":[CHANGE,...],	changes as they now are, by digest
 *	 "operators":[OPERATOR,...],	operators as they now are, by name
 *	 "global_failures":[T,...]}	the whole list
 *
 * CHANGE and OPERATOR are written exactly as in the snapshot; drop,
 * changes, operators and global_failures are there when the call changed
 * them.  One call writes one line, so a crash keeps all of a call or none
 * of it.  Replay sets each entity a line names to the value it holds
 * (drops first), so it needs no knowledge of what the call did.
 *
 * The snapshot carries its generation (0 in files written before the
 * journal).  Compaction, once the journal outgrows max(64 KiB, twice the
 * snapshot) and at a start or clean stop that finds lines in it, writes
 * the whole state as generation G+1 (temp file, fsync, rename, fsync the
 * directory) and only then empties the journal.  A crash in between
 * leaves lines of G next to a snapshot of G+1: the snapshot holds them
 * already, and they are skipped, not applied twice.  A line newer than the
 * snapshot means the snapshot is not the one the journal continues: we
 * refuse to start, as for a corrupt file.  A last line without its newline
 * (or one that is not JSON) is a write a crash cut short, never
 * acknowledged: it is ignored, and the start folds the journal into a new
 * snapshot, so nothing is ever appended after it.
 *
 * When a write fails we may not know what reached the journal, so nothing
 * is appended after it: the next change writes a whole snapshot instead
 * (resync), which is also what the state looked like before the journal.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "approval.h"
#include "buf.h"
#include "err.h"
#include "hex.h"

#define STATE_VERSION	1
#define JOURNAL_MIN	(64 * 1024)	/* compact at max(this, 2 snapshots) */
/* One journal line is one change's record: its canonical text is at most
 * 64 KiB (vault.c), names and times are short. */
#define JOURNAL_LINE_MAX ((size_t)16 << 20)
#define TICKET_TTL_MAX	3600
#define WINDOW_MAX	10
#define RATE_MAX	100	/* attempts per period we can remember */
#define GLOBAL_CAP_MAX	100000
/* Pending changes held: max_pending is at most 1000000 (below); a
 * state written under an older, larger setting still loads. */
#define CHANGES_MAX	((size_t)1 << 22)
#define OPS_MAX		65536	/* approvers with state */
#define DROPS_MAX	65536	/* past it: a whole snapshot instead */
#define ID_MIN		6	/* shortest id prefix accepted */

enum cstate {
	CS_PENDING,
	CS_APPROVED,
	CS_DENIED,
	CS_CONSUMED,
	CS_EXPIRED,	/* stored only when revalidation drops a change */
	CS_NSTATES
};

static const char *const cstate_names[CS_NSTATES] = {
	"pending", "approved", "denied", "consumed", "expired"
};

struct change {
	char		 id[13];
	uint8_t		 digest[32];
	char		*canonical;
	char		*object;
	char		*clid;
	char		*requester;
	int64_t		 created;
	int64_t		 expires;	/* of the pending change */
	enum cstate	 state;
	char		 approver[APPROVAL_NAME_MAX];	/* "" until approved */
	int64_t		 ticket_expires;		/* 0 until approved */
	char		 denied_by[APPROVAL_NAME_MAX];
};

struct opstate {
	char		 name[APPROVAL_NAME_MAX];
	int64_t		 last_step;	/* -1: no code accepted yet */
	unsigned	 failures;	/* consecutive refused codes */
	int		 locked;
	size_t		 nattempts;
	int64_t		 attempts[RATE_MAX];	/* recent code checks */
};

struct approvals {
	struct approval_conf o;		/* defaults applied */
	struct approval_env env;	/* likewise */
	char		*path;		/* snapshot; NULL: memory only */
	char		*tmp;
	char		*jpath;		/* the journal */
	char		*dir;
	pid_t		 owner;		/* opened it: only it writes */
	int		 ready;		/* loaded whole: free may write */
	int		 resync;	/* next write: a whole snapshot */
	int64_t		 gen;		/* snapshot the journal follows */
	uint64_t	 snapsize;	/* bytes in that snapshot */
	uint64_t	 jsize;		/* bytes of whole journal lines */
	uint64_t	 jlimit;	/* compact when jsize passes this */
	uint8_t		(*drops)[32];	/* purged, not journaled */
	size_t		  ndrops, capdrops;
	struct seeds	*seeds;
	struct change	**changes;
	size_t		  nchanges, capchanges;
	struct opstate	 *ops;
	size_t		  nops, capops;
	int64_t		 *gfail;	/* recent failures of all operators */
	size_t		  ngfail, capgfail;
};

/* --- small helpers -------------------------------------------------------- */

static int64_t
real_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static int64_t
now_of(const struct approvals *a)
{
	return a->env.clock(a->env.clock_arg);
}

/* Copy a name that must fit; -1 if it does not. */
static int
name_copy(char dst[APPROVAL_NAME_MAX], const char *src)
{
	size_t n = strlen(src);

	if (n >= APPROVAL_NAME_MAX)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

static void
rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* --- change records ------------------------------------------------------- */

static void
change_free(struct change *c)
{
	if (c == NULL)
		return;
	free(c->canonical);
	free(c->object);
	free(c->clid);
	free(c->requester);
	free(c);
}

/*
 * The canonical text kept with a pending change, for the approver to read:
 * all of it up to CANONICAL_KEEP bytes, else that much and a note.  The
 * change is identified by its digest over the whole text, so nothing is
 * lost but reading matter, and a flood of large unknown extensions cannot
 * make the state grow with them.
 */
#define CANONICAL_KEEP	8192

static char *
bounded_text(const char *text)
{
	size_t len = strlen(text);
	char *out;

	if (len <= CANONICAL_KEEP)
		return strdup(text);
	if ((out = malloc(CANONICAL_KEEP + 120)) == NULL)
		return NULL;
	memcpy(out, text, CANONICAL_KEEP);
	snprintf(out + CANONICAL_KEEP, 120, "\n... (%zu bytes more, not kept; "
	    "the change id covers all of them)\n", len - CANONICAL_KEEP);
	return out;
}

static struct change *
change_new(const uint8_t digest[32], const char *canonical,
    const char *object, const char *clid, const char *requester)
{
	struct change *c;
	char full[65];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->digest, digest, 32);
	hex_encode(digest, 32, full);
	memcpy(c->id, full, 12);
	c->id[12] = '\0';
	c->canonical = bounded_text(canonical);
	c->object = strdup(object);
	c->clid = strdup(clid);
	c->requester = strdup(requester);
	if (c->canonical == NULL || c->object == NULL || c->clid == NULL ||
	    c->requester == NULL) {
		change_free(c);
		return NULL;
	}
	return c;
}

static int
ticket_live(const struct change *c, int64_t now)
{
	return c->state == CS_APPROVED && now < c->ticket_expires;
}

/* The state as users see it: pending and approved run out by the clock. */
static enum cstate
state_at(const struct change *c, int64_t now)
{
	if (c->state == CS_PENDING && now >= c->expires)
		return CS_EXPIRED;
	if (c->state == CS_APPROVED && now >= c->ticket_expires)
		return CS_EXPIRED;
	return c->state;
}

/* An approval was given for this change and lapsed unused. */
static int
ticket_lapsed(const struct change *c, int64_t now)
{
	return c->approver[0] != '\0' && state_at(c, now) == CS_EXPIRED;
}

/* Still blocks a new pending change for the same digest. */
static int
still_open(const struct change *c, int64_t now)
{
	if (c->state == CS_PENDING || c->state == CS_DENIED)
		return now < c->expires;
	return ticket_live(c, now);
}

static int
bound_to(const struct change *c, const char *object, const char *clid,
    const char *requester)
{
	return strcmp(c->object, object) == 0 && strcmp(c->clid, clid) == 0 &&
	    strcmp(c->requester, requester) == 0;
}

static struct change *
find_digest(const struct approvals *a, const uint8_t digest[32], size_t *slot)
{
	for (size_t i = 0; i < a->nchanges; i++)
		if (memcmp(a->changes[i]->digest, digest, 32) == 0) {
			if (slot != NULL)
				*slot = i;
			return a->changes[i];
		}
	return NULL;
}

/*
 * A full id or a unique prefix of at least ID_MIN hex digits (either case).
 * An ambiguous prefix finds nothing, so nobody can approve a change they
 * did not name.
 */
static struct change *
find_id(const struct approvals *a, const char *id)
{
	struct change *found = NULL;
	char want[13];
	size_t n;

	if (id == NULL || (n = strlen(id)) < ID_MIN || n > 12)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c == '\0' || strchr("0123456789abcdef", c) == NULL)
			return NULL;
		want[i] = c;
	}
	for (size_t i = 0; i < a->nchanges; i++) {
		if (memcmp(a->changes[i]->id, want, n) != 0)
			continue;
		if (found != NULL)
			return NULL;
		found = a->changes[i];
	}
	return found;
}

/*
 * A purged record goes to disk with the next journal line (or snapshot).
 * Until then it lingers there, which is harmless: the next load purges it
 * again.  Noting it keeps a replayed state in the order memory had.
 */
static void
drop_note(struct approvals *a, const uint8_t digest[32])
{
	uint8_t (*nv)[32];

	if (a->path == NULL)
		return;
	if ((nv = grow_array(a->drops, &a->capdrops, a->ndrops + 1,
	    sizeof(*nv), DROPS_MAX)) == NULL) {
		/* The next write is a whole snapshot, which needs no note. */
		a->resync = 1;
		return;
	}
	a->drops = nv;
	memcpy(a->drops[a->ndrops++], digest, 32);
}

/*
 * Forget closed records a while (pending_ttl) after they stopped mattering,
 * so the state does not grow forever.  No write of its own: see drop_note().
 */
static void
purge(struct approvals *a, int64_t now)
{
	size_t i = 0;

	while (i < a->nchanges) {
		struct change *c = a->changes[i];
		int64_t until = c->expires > c->ticket_expires ? c->expires :
		    c->ticket_expires;

		if (state_at(c, now) == CS_PENDING ||
		    state_at(c, now) == CS_APPROVED ||
		    now < until + (int64_t)a->o.pending_ttl) {
			i++;
			continue;
		}
		drop_note(a, c->digest);
		change_free(c);
		memmove(&a->changes[i], &a->changes[i + 1],
		    (a->nchanges - i - 1) * sizeof(a->changes[0]));
		a->nchanges--;
	}
}

/* --- operators and rate limits -------------------------------------------- */

static struct opstate *
op_find(struct approvals *a, const char *name)
{
	for (size_t i = 0; i < a->nops; i++)
		if (strcmp(a->ops[i].name, name) == 0)
			return &a->ops[i];
	return NULL;
}

static struct opstate *
op_get(struct approvals *a, const char *name)
{
	struct opstate *op, *nv;

	if ((op = op_find(a, name)) != NULL)
		return op;
	if ((nv = grow_array(a->ops, &a->capops, a->nops + 1, sizeof(*nv),
	    OPS_MAX)) == NULL)
		return NULL;
	a->ops = nv;
	op = &a->ops[a->nops++];
	memset(op, 0, sizeof(*op));
	if (name_copy(op->name, name) == -1) {
		a->nops--;
		return NULL;
	}
	op->last_step = -1;
	return op;
}

/*
 * Keep only the times inside (now - period, ...].  Usually in order, but
 * not after the clock was stepped back, so filter rather than cut.
 */
static size_t
prune_times(int64_t *t, size_t n, int64_t now, unsigned period)
{
	size_t keep = 0;

	for (size_t i = 0; i < n; i++)
		if (t[i] > now - (int64_t)period)
			t[keep++] = t[i];
	return keep;
}

static int
gfail_add(struct approvals *a, int64_t now)
{
	int64_t *nv;

	if (a->ngfail >= a->o.global_cap) {
		/* Only the newest global_cap failures matter. */
		memmove(a->gfail, a->gfail + 1,
		    (a->ngfail - 1) * sizeof(*a->gfail));
		a->gfail[a->ngfail - 1] = now;
		return 0;
	}
	if ((nv = grow_array(a->gfail, &a->capgfail, a->ngfail + 1,
	    sizeof(*nv), GLOBAL_CAP_MAX)) == NULL)
		return -1;
	a->gfail = nv;
	a->gfail[a->ngfail++] = now;
	return 0;
}

/* --- the entities as JSON ------------------------------------------------- */

static json_t *
change_json(const struct change *c)
{
	json_t *o;
	char full[65];

	hex_encode(c->digest, 32, full);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
	    "id", c->id, "digest", full, "canonical", c->canonical,
	    "object", c->object, "clid", c->clid, "requester", c->requester,
	    "created", (json_int_t)c->created,
	    "expires", (json_int_t)c->expires,
	    "state", cstate_names[c->state]);
	if (o == NULL)
		return NULL;
	if (c->approver[0] != '\0' && (json_object_set_new(o, "approver",
	    json_string(c->approver)) == -1 || json_object_set_new(o,
	    "ticket_expires", json_integer(c->ticket_expires)) == -1))
		goto fail;
	if (c->denied_by[0] != '\0' && json_object_set_new(o, "denied_by",
	    json_string(c->denied_by)) == -1)
		goto fail;
	return o;
 fail:
	json_decref(o);
	return NULL;
}

static json_t *
times_json(const int64_t *t, size_t n)
{
	json_t *arr;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_integer(t[i])) == -1) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

/* Never holds a seed or a code, only step counters. */
static json_t *
op_json(const struct opstate *op)
{
	return json_pack("{s:s, s:I, s:I, s:b, s:o}", "name", op->name,
	    "last_step", (json_int_t)op->last_step,
	    "failures", (json_int_t)op->failures, "locked", op->locked,
	    "attempts", times_json(op->attempts, op->nattempts));
}

/* The whole state, as the snapshot of generation gen. */
static json_t *
state_json(const struct approvals *a, int64_t gen)
{
	json_t *root, *changes, *ops, *gf;

	changes = json_array();
	ops = json_array();
	gf = times_json(a->gfail, a->ngfail);
	root = json_pack("{s:i, s:I, s:o*, s:o*, s:o*}", "version",
	    STATE_VERSION, "generation", (json_int_t)gen, "changes", changes,
	    "operators", ops, "global_failures", gf);
	if (root == NULL || changes == NULL || ops == NULL || gf == NULL)
		goto fail;
	for (size_t i = 0; i < a->nchanges; i++)
		if (json_array_append_new(changes,
		    change_json(a->changes[i])) == -1)
			goto fail;
	for (size_t i = 0; i < a->nops; i++)
		if (json_array_append_new(ops, op_json(&a->ops[i])) == -1)
			goto fail;
	return root;
 fail:
	/* json_pack already dropped its "o*" references on failure. */
	if (root != NULL)
		json_decref(root);
	return NULL;
}

/* --- writing: snapshots --------------------------------------------------- */

static uint64_t
journal_limit(const struct approvals *a)
{
	return 2 * a->snapsize > JOURNAL_MIN ? 2 * a->snapsize : JOURNAL_MIN;
}

static int
dir_sync(const struct approvals *a)
{
	int dfd, rc;

	if ((dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(dfd);
	close(dfd);
	return rc;
}

/*
 * Write text to path so that either the old or the new file survives.
 * -1: the old file is still in place; -2: the new one replaced it but the
 * rename may not be durable, so either may be found after a crash.
 */
static int
write_durably(const struct approvals *a, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t w;
	int fd;

	fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(a->tmp, a->path) == -1)
		goto fail;
	return dir_sync(a) == -1 ? -2 : 0;
 fail:
	if (fd != -1)
		close(fd);
	unlink(a->tmp);
	return -1;
}

/*
 * Empty the journal (or create it) once a snapshot that holds all of its
 * lines is durable: never before, or a crash could lose them.
 */
static int
journal_reset(struct approvals *a)
{
	int fd, created = 0, rc = -1;

	fd = open(a->jpath, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		fd = open(a->jpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		created = 1;
	}
	if (fd == -1)
		return -1;
	/* A new name is only durable once its directory is. */
	if (fsync(fd) == 0 && (!created || dir_sync(a) == 0)) {
		a->jsize = 0;
		rc = 0;
	}
	close(fd);
	return rc;
}

/*
 * Compaction: the whole state as the snapshot of the next generation, then
 * an empty journal.  0 once the snapshot is durable (the state in memory
 * is then on disk, whatever happens to the journal).
 */
static int
snapshot(struct approvals *a)
{
	int64_t gen = a->gen + 1;
	json_t *root;
	char *text;
	size_t len;
	int rc;

	if ((root = state_json(a, gen)) == NULL)
		return -1;
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (text == NULL)
		return -1;
	len = strlen(text);
	rc = write_durably(a, text, len);
	free(text);
	if (rc == -1)
		return -1;
	/*
	 * From here the file may hold generation gen: never reuse the number,
	 * and append nothing of an older one until a snapshot is durable.
	 */
	a->gen = gen;
	if (rc == -2) {
		a->resync = 1;
		return -1;
	}
	a->snapsize = len;
	a->jlimit = journal_limit(a);
	a->ndrops = 0;
	/*
	 * Lines of the old generation left behind (we could not empty the
	 * journal) are skipped on load, but what follows them is not known:
	 * append nothing after them.
	 */
	a->resync = journal_reset(a) == -1;
	return 0;
}

/* --- writing: the journal ------------------------------------------------- */

/*
 * A journal record for one call: op names it, and what it changed is added
 * with rec_add() and rec_set().  Each of these takes a new reference, drops
 * everything on failure and then returns NULL, so calls chain.
 */
static json_t *
rec_new(const struct approvals *a, const char *op)
{
	json_t *rec, *drop;
	char full[65];

	rec = json_pack("{s:I, s:s}", "generation", (json_int_t)a->gen, "op",
	    op);
	if (rec == NULL || a->ndrops == 0)
		return rec;
	if (json_object_set_new(rec, "drop", drop = json_array()) == -1)
		goto fail;
	for (size_t i = 0; i < a->ndrops; i++) {
		hex_encode(a->drops[i], 32, full);
		if (json_array_append_new(drop, json_string(full)) == -1)
			goto fail;
	}
	return rec;
 fail:
	json_decref(rec);
	return NULL;
}

/* Append v to the array rec[key]. */
static json_t *
rec_add(json_t *rec, const char *key, json_t *v)
{
	json_t *arr;

	if (rec == NULL || v == NULL)
		goto fail;
	if ((arr = json_object_get(rec, key)) == NULL &&
	    json_object_set_new(rec, key, arr = json_array()) == -1)
		goto fail;
	if (json_array_append_new(arr, v) == -1) {
		v = NULL;
		goto fail;
	}
	return rec;
 fail:
	json_decref(v);
	json_decref(rec);
	return NULL;
}

static json_t *
rec_set(json_t *rec, const char *key, json_t *v)
{
	if (rec == NULL || v == NULL || json_object_set_new(rec, key, v) ==
	    -1) {
		if (rec == NULL)
			json_decref(v);
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/*
 * One line, one write(2), one fdatasync.  On failure the line is cut off
 * again if possible; either way nothing more is appended (resync): a line
 * behind a partial one would be a corrupt line in the middle.
 */
static int
append(struct approvals *a, const char *line, size_t len)
{
	struct stat st;
	ssize_t w;
	int fd;

	/* No O_CREAT: a journal that vanished must not restart silently. */
	if ((fd = open(a->jpath, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		goto fail;
	/* Behind exactly the lines we know of, or not at all. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != a->jsize) {
		close(fd);
		goto fail;
	}
	do
		w = write(fd, line, len);
	while (w == -1 && errno == EINTR);
	if (w != (ssize_t)len || fdatasync(fd) == -1) {
		if (ftruncate(fd, (off_t)a->jsize) == 0)
			(void)fdatasync(fd);
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	a->jsize += len;
	return 0;
 fail:
	a->resync = 1;
	return -1;
}

/*
 * Make one call's change durable before it returns: rec (consumed) as a
 * journal line, or, when the journal cannot take it, the whole state as a
 * snapshot.  -1: nothing new is on disk that the caller's undo would not
 * match (but see write_durably() and append() for the windows where a
 * failed write may still surface after a crash, as before the journal).
 */
static int
persist(struct approvals *a, json_t *rec)
{
	struct buf line;
	size_t n;
	int rc = -1;

	buf_init(&line, JOURNAL_LINE_MAX);
	if (a->path == NULL) {
		json_decref(rec);
		return 0;
	}
	if (a->resync) {
		rc = snapshot(a);
		goto out;
	}
	/* Serialised straight into the line, again if it did not fit. */
	if (rec == NULL || buf_reserve(&line, 4096) == -1)
		goto out;
	for (;;) {
		n = json_dumpb(rec, buf_end(&line), buf_room(&line),
		    JSON_COMPACT | JSON_SORT_KEYS);
		if (n == 0)
			goto out;
		if (n + 1 <= buf_room(&line))
			break;
		if (buf_reserve(&line, n + 1) == -1)
			goto out;
	}
	buf_end(&line)[n] = '\n';
	buf_wrote(&line, n + 1);
	if (append(a, buf_data(&line), line.len) == -1) {
		/* As before the journal: the whole state, if that works. */
		rc = snapshot(a);
		goto out;
	}
	a->ndrops = 0;
	rc = 0;
	/*
	 * Housekeeping: the change is durable already.  If compaction fails,
	 * try again a limit later, not on every call.
	 */
	if (a->jsize > a->jlimit && snapshot(a) == -1)
		a->jlimit = a->jsize + journal_limit(a);
 out:
	buf_free(&line);
	json_decref(rec);
	return rc;
}

/* --- reading -------------------------------------------------------------- */

/* Times as recorded (oldest first), keeping the last keep of them. */
static int
times_load(json_t *arr, size_t limit, size_t keep, int64_t *out, size_t *n)
{
	size_t i, len, skip;
	json_t *v;

	if (!json_is_array(arr) || (len = json_array_size(arr)) > limit)
		return -1;
	skip = len > keep ? len - keep : 0;
	*n = 0;
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v))
			return -1;
		if (i >= skip)
			out[(*n)++] = json_integer_value(v);
	}
	return 0;
}

/*
 * One change.  A snapshot names each change once; a journal line replaces
 * the change with the same digest (upsert), in its place.
 */
static int
change_load(struct approvals *a, json_t *o, int upsert)
{
	const char *id, *digest, *canonical, *object, *clid, *requester;
	const char *state, *approver = NULL, *denied_by = NULL;
	json_int_t created, expires, ticket_expires = 0;
	struct change *c = NULL, *old, **nv;
	uint8_t d[32];
	size_t slot;
	int s;

	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, "
	    "s?s, s?I, s?s !}", "id", &id, "digest", &digest,
	    "canonical", &canonical, "object", &object, "clid", &clid,
	    "requester", &requester, "created", &created, "expires", &expires,
	    "state", &state, "approver", &approver,
	    "ticket_expires", &ticket_expires, "denied_by", &denied_by) == -1)
		return -1;
	if (hex_decode(digest, strlen(digest), d, 32) == -1 ||
	    strncmp(id, digest, 12) != 0 ||
	    id[12] != '\0')
		return -1;
	old = find_digest(a, d, &slot);
	if (old != NULL && !upsert)
		return -1;
	for (s = 0; s < CS_NSTATES; s++)
		if (strcmp(state, cstate_names[s]) == 0)
			break;
	if (s == CS_NSTATES)
		return -1;
	/* An approved or consumed change names its approver. */
	if ((s == CS_APPROVED || s == CS_CONSUMED) && approver == NULL)
		return -1;
	if ((c = change_new(d, canonical, object, clid, requester)) == NULL)
		return -1;
	c->created = created;
	c->expires = expires;
	c->state = (enum cstate)s;
	c->ticket_expires = ticket_expires;
	if ((approver != NULL && name_copy(c->approver, approver) == -1) ||
	    (denied_by != NULL && name_copy(c->denied_by, denied_by) == -1))
		goto fail;
	if (old != NULL) {
		a->changes[slot] = c;
		change_free(old);
		return 0;
	}
	nv = grow_array(a->changes, &a->capchanges, a->nchanges + 1,
	    sizeof(*nv), CHANGES_MAX);
	if (nv == NULL)
		goto fail;
	a->changes = nv;
	a->changes[a->nchanges++] = c;
	return 0;
 fail:
	change_free(c);
	return -1;
}

/* A journal's "drop": forget the change, if we still have it. */
static int
change_drop(struct approvals *a, json_t *v)
{
	uint8_t d[32];
	size_t slot;

	if (!json_is_string(v) || hex_decode(json_string_value(v),
	    json_string_length(v), d, 32) == -1)
		return -1;
	if (find_digest(a, d, &slot) == NULL)
		return 0;
	change_free(a->changes[slot]);
	memmove(&a->changes[slot], &a->changes[slot + 1],
	    (a->nchanges - slot - 1) * sizeof(a->changes[0]));
	a->nchanges--;
	return 0;
}

/* One operator; upsert as for change_load(). */
static int
op_load(struct approvals *a, json_t *o, int upsert)
{
	const char *name;
	json_int_t last, failures;
	json_t *attempts;
	int locked;
	struct opstate *op;

	if (json_unpack(o, "{s:s, s:I, s:I, s:b, s:o !}", "name", &name,
	    "last_step", &last, "failures", &failures, "locked", &locked,
	    "attempts", &attempts) == -1)
		return -1;
	if (*name == '\0' || strlen(name) >= APPROVAL_NAME_MAX ||
	    (!upsert && op_find(a, name) != NULL) || last < -1 ||
	    failures < 0 || failures > 1000000 ||
	    (op = op_get(a, name)) == NULL)
		return -1;
	op->last_step = last;
	op->failures = (unsigned)failures;
	op->locked = locked;
	return times_load(attempts, RATE_MAX, a->o.rate_attempts, op->attempts,
	    &op->nattempts);
}

/* The global failure list, replaced as a whole. */
static int
gfail_load(struct approvals *a, json_t *arr)
{
	int64_t *t;
	size_t n;

	if (!json_is_array(arr) || json_array_size(arr) > GLOBAL_CAP_MAX ||
	    (t = calloc(json_array_size(arr) + 1, sizeof(*t))) == NULL)
		return -1;
	if (times_load(arr, GLOBAL_CAP_MAX, a->o.global_cap, t, &n) == -1) {
		free(t);
		return -1;
	}
	free(a->gfail);
	a->gfail = t;
	a->ngfail = n;
	a->capgfail = json_array_size(arr) + 1;
	return 0;
}

static int
state_load(struct approvals *a, json_t *root)
{
	json_t *changes, *ops, *gf, *v;
	json_int_t gen = 0;
	int version;
	size_t i;

	if (json_unpack(root, "{s:i, s?I, s:o, s:o, s:o !}", "version",
	    &version, "generation", &gen, "changes", &changes, "operators",
	    &ops, "global_failures", &gf) == -1 || version != STATE_VERSION ||
	    gen < 0 || !json_is_array(changes) || !json_is_array(ops))
		return -1;
	a->gen = gen;
	json_array_foreach(changes, i, v)
		if (change_load(a, v, 0) == -1)
			return -1;
	json_array_foreach(ops, i, v)
		if (op_load(a, v, 0) == -1)
			return -1;
	return gfail_load(a, gf);
}

/*
 * One journal line over the state.  *last is the generation of the line
 * before (they never go down).  -1 (ERR_CORRUPT) if it does not belong
 * there; the message says why, the caller adds where.
 */
static int
record_apply(struct approvals *a, json_t *rec, int64_t *last, struct err *e)
{
	json_t *drop = NULL, *changes = NULL, *ops = NULL, *gf = NULL, *v;
	json_int_t gen;
	const char *op;
	size_t i;

	if (json_unpack(rec, "{s:I, s:s, s?o, s?o, s?o, s?o !}", "generation",
	    &gen, "op", &op, "drop", &drop, "changes", &changes, "operators",
	    &ops, "global_failures", &gf) == -1 || gen < 0)
		goto bad;
	if (gen < *last)
		return err_set(e, ERR_CORRUPT, "generations out of order");
	*last = gen;
	if (gen > a->gen)
		return err_set(e, ERR_CORRUPT, "newer than the state file "
		    "(was the state file replaced?)");
	/* The snapshot holds it: a compaction stopped before emptying us. */
	if (gen < a->gen)
		return 0;
	if ((drop != NULL && !json_is_array(drop)) ||
	    (changes != NULL && !json_is_array(changes)) ||
	    (ops != NULL && !json_is_array(ops)))
		goto bad;
	/* Drops first: a change purged and then opened again comes last. */
	json_array_foreach(drop, i, v)
		if (change_drop(a, v) == -1)
			goto bad;
	json_array_foreach(changes, i, v)
		if (change_load(a, v, 1) == -1)
			goto bad;
	json_array_foreach(ops, i, v)
		if (op_load(a, v, 1) == -1)
			goto bad;
	if (gf != NULL && gfail_load(a, gf) == -1)
		goto bad;
	return 0;
 bad:
	return err_set(e, ERR_CORRUPT, "not a journal record");
}

/*
 * Replay the journal over the snapshot just loaded.  *size is the
 * journal's length in bytes (-1: there is none).
 */
static int
journal_load(struct approvals *a, int64_t *size, struct err *e)
{
	struct stat st;
	json_error_t jerr;
	json_t *rec;
	char *buf = NULL, *nl;
	size_t len, off = 0, start, lineno = 0;
	int64_t last = 0;
	ssize_t r;
	int fd, rc = -1;

	*size = -1;
	if ((fd = open(a->jpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, ERR_SYSTEM, "%s: %s", a->jpath,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%s: not a regular file", a->jpath);
		goto out;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len + 1)) == NULL) {
		err_set(e, ERR_NOMEM, "%s: out of memory", a->jpath);
		goto out;
	}
	while (off < len) {
		r = read(fd, buf + off, len - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			err_set(e, r == 0 ? ERR_INVALID : ERR_SYSTEM, "%s: %s",
			    a->jpath, r == 0 ? "short read" : strerror(errno));
			goto out;
		}
		off += (size_t)r;
	}
	*size = (int64_t)len;
	for (start = 0; start < len; start = (size_t)(nl - buf) + 1) {
		lineno++;
		/*
		 * A last line without its newline, or that is not JSON, is a
		 * write a crash cut short: its call never returned success,
		 * so there is nothing to replay.  Anywhere else it is damage.
		 */
		if ((nl = memchr(buf + start, '\n', len - start)) == NULL)
			break;
		rec = json_loadb(buf + start, (size_t)(nl - buf) - start,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (rec == NULL && (size_t)(nl - buf) + 1 == len)
			break;
		if (rec == NULL) {
			err_set(e, ERR_CORRUPT, "%s:%zu: corrupt approval "
			    "journal: %s", a->jpath, lineno, jerr.text);
			goto out;
		}
		if (record_apply(a, rec, &last, e) == -1) {
			json_decref(rec);
			err_wrap(e, "%s:%zu: corrupt approval journal",
			    a->jpath, lineno);
			goto out;
		}
		json_decref(rec);
	}
	a->jsize = start;
	rc = 0;
 out:
	free(buf);
	close(fd);
	return rc;
}

/*
 * Read the snapshot and replay the journal, or create both if there is no
 * state yet.  Anything that does not parse or does not validate is
 * refused: guessing would risk forgetting a lockout or the last accepted
 * step.
 */
static int
state_open(struct approvals *a, struct err *e)
{
	struct stat st;
	json_error_t jerr;
	json_t *root;
	int64_t jlen;
	int rc;

	if (lstat(a->path, &st) == -1) {
		if (errno != ENOENT)
			return err_set(e, ERR_SYSTEM, "%s: %s", a->path,
			    strerror(errno));
		/*
		 * Lines continue a snapshot; without it they would be
		 * applied to nothing (an empty journal holds no state).
		 */
		if (lstat(a->jpath, &st) == 0 && (!S_ISREG(st.st_mode) ||
		    st.st_size > 0))
			return err_set(e, ERR_CORRUPT, "%s: approval journal "
			    "without its state file %s (move both aside to "
			    "start afresh)", a->jpath, a->path);
		if (snapshot(a) == -1 || a->resync)
			return err_set(e, ERR_SYSTEM, "%s: cannot create state "
			    "file: %s", a->path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_INVALID, "%s: not a regular file",
		    a->path);
	if ((root = json_load_file(a->path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return err_set(e, ERR_CORRUPT, "%s:%d: corrupt state file: %s",
		    a->path, jerr.line, jerr.text);
	rc = state_load(a, root);
	json_decref(root);
	if (rc == -1)
		return err_set(e, ERR_CORRUPT, "%s: corrupt state file",
		    a->path);
	a->snapsize = (uint64_t)st.st_size;
	a->jlimit = journal_limit(a);
	if (journal_load(a, &jlen, e) == -1)
		return -1;
	/* What the clock has closed since, as if a call had come. */
	purge(a, now_of(a));
	/*
	 * Start from one file: fold the journal into a new snapshot (or make
	 * the journal, for a state file older than it).  That also drops a
	 * cut-short last line and old lines a compaction left.  If it fails,
	 * the first change writes a whole snapshot.
	 */
	if (jlen != 0 && snapshot(a) == -1)
		a->resync = 1;
	return 0;
}

/* --- open and close ------------------------------------------------------- */

static int
opts_apply(struct approvals *a, const struct approval_conf *o,
    const struct approval_env *env, struct err *e)
{
	a->o = *o;
	a->o.state_path = NULL;
	a->o.seeds_path = NULL;
	if (env != NULL)
		a->env = *env;
	if (a->o.ticket_ttl == 0)
		a->o.ticket_ttl = 600;
	if (a->o.pending_ttl == 0)
		a->o.pending_ttl = 86400;
	if (a->o.max_pending == 0)
		a->o.max_pending = 1000;
	if (a->o.max_pending_requester == 0)
		a->o.max_pending_requester = 100;
	if (a->o.rate_attempts == 0)
		a->o.rate_attempts = 3;
	if (a->o.rate_period == 0)
		a->o.rate_period = 30;
	if (a->o.lockout_after == 0)
		a->o.lockout_after = 5;
	if (a->o.global_cap == 0)
		a->o.global_cap = 20;
	if (a->o.global_period == 0)
		a->o.global_period = 600;
	if (a->env.clock == NULL)
		a->env.clock = real_clock;
	/* window is taken as given: 0 means the current step only. */
	if (a->o.ticket_ttl > TICKET_TTL_MAX || a->o.window > WINDOW_MAX ||
	    a->o.rate_attempts > RATE_MAX || a->o.global_cap > GLOBAL_CAP_MAX)
		return err_set(e, ERR_INVALID,
		    "approval options out of range");
	return 0;
}

static int
paths_set(struct approvals *a, const char *path)
{
	const char *slash;
	size_t n = strlen(path);

	if ((a->path = strdup(path)) == NULL ||
	    (a->tmp = malloc(n + sizeof(".tmp"))) == NULL ||
	    (a->jpath = malloc(n + sizeof(".journal"))) == NULL)
		return -1;
	snprintf(a->tmp, n + sizeof(".tmp"), "%s.tmp", path);
	snprintf(a->jpath, n + sizeof(".journal"), "%s.journal", path);
	if ((slash = strrchr(path, '/')) == NULL)
		a->dir = strdup(".");
	else if (slash == path)
		a->dir = strdup("/");
	else
		a->dir = strndup(path, (size_t)(slash - path));
	return a->dir == NULL ? -1 : 0;
}

int
approvals_open(const struct approval_conf *o,
    const struct approval_env *env, struct seeds *seeds,
    struct approvals **out, struct err *e)
{
	struct approvals *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		seeds_free(seeds);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	a->seeds = seeds;
	a->owner = getpid();
	if (opts_apply(a, o, env, e) == -1)
		goto fail;
	if (o->state_path != NULL) {
		if (paths_set(a, o->state_path) == -1) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (state_open(a, e) == -1)
			goto fail;
	}
	a->ready = 1;
	*out = a;
	return 0;
 fail:
	approvals_free(a);
	return -1;
}

void
approvals_free(struct approvals *a)
{
	if (a == NULL)
		return;
	/*
	 * A clean stop folds the journal into the snapshot, so the next start
	 * reads one file.  Only a state that was loaded whole, and only in the
	 * process that opened it: a forked copy must never write.  If this
	 * fails, the next start replays the journal.
	 */
	if (a->ready && a->path != NULL && a->owner == getpid() &&
	    (a->jsize > 0 || a->resync))
		(void)snapshot(a);
	for (size_t i = 0; i < a->nchanges; i++)
		change_free(a->changes[i]);
	free(a->changes);
	free(a->ops);
	free(a->gfail);
	free(a->drops);
	free(a->path);
	free(a->tmp);
	free(a->jpath);
	free(a->dir);
	seeds_free(a->seeds);
	free(a);
}

/* --- the protected command ------------------------------------------------ */

/* Use the ticket: durably marked consumed before the command may go. */
static int
consume(struct approvals *a, struct change *c, enum approval_need *need,
    char id[13], const char **reason, char approver[APPROVAL_NAME_MAX])
{
	c->state = CS_CONSUMED;
	if (persist(a, rec_add(rec_new(a, "consume"), "changes",
	    change_json(c))) == -1) {
		c->state = CS_APPROVED;
		*reason = APPROVAL_STORAGE;
		return -1;
	}
	*need = NEED_NONE;
	memcpy(id, c->id, 13);
	memcpy(approver, c->approver, APPROVAL_NAME_MAX);
	*reason = NULL;
	return 0;
}

/* A live ticket for the same object, clID and requester, another change. */
static int
other_ticket(const struct approvals *a, const uint8_t digest[32],
    const char *object, const char *clid, const char *requester, int64_t now)
{
	for (size_t i = 0; i < a->nchanges; i++) {
		const struct change *c = a->changes[i];

		if (ticket_live(c, now) && memcmp(c->digest, digest, 32) != 0 &&
		    bound_to(c, object, clid, requester))
			return 1;
	}
	return 0;
}

static int
over_caps(const struct approvals *a, const char *requester, int64_t now)
{
	size_t all = 0, mine = 0;

	for (size_t i = 0; i < a->nchanges; i++) {
		const struct change *c = a->changes[i];

		if (c->state != CS_PENDING || !still_open(c, now))
			continue;
		all++;
		if (strcmp(c->requester, requester) == 0)
			mine++;
	}
	return all >= a->o.max_pending || mine >= a->o.max_pending_requester;
}

int
approvals_require(struct approvals *a, const uint8_t digest[32],
    const char *canonical, const char *object, const char *clid,
    const char *requester, enum approval_need *need, char id[13],
    const char **reason, char approver[APPROVAL_NAME_MAX])
{
	struct change *c, *fresh, *old = NULL, **nv;
	int64_t now = now_of(a);
	size_t slot = 0;

	*need = NEED_APPROVAL;
	id[0] = '\0';
	approver[0] = '\0';
	*reason = APPROVAL_STORAGE;
	if (canonical == NULL || object == NULL || clid == NULL ||
	    requester == NULL)
		return -1;
	purge(a, now);
	c = find_digest(a, digest, &slot);
	if (c != NULL && ticket_live(c, now) &&
	    bound_to(c, object, clid, requester))
		return consume(a, c, need, id, reason, approver);

	*reason = APPROVAL_REQUIRED;
	if (c != NULL && ticket_lapsed(c, now))
		*reason = APPROVAL_TICKET_EXPIRED;
	else if (other_ticket(a, digest, object, clid, requester, now))
		*reason = APPROVAL_DIGEST_MISMATCH;
	if (c != NULL && still_open(c, now)) {
		/* Pending, denied, or approved for someone else: as it is. */
		memcpy(id, c->id, 13);
		return 0;
	}

	/*
	 * New, or closed: (re)open it as a fresh pending change, unless the
	 * requester, or everyone together, already has as many open as the
	 * caps allow.  Nothing is recorded then, and nothing is forwarded.
	 */
	if (over_caps(a, requester, now)) {
		*reason = APPROVAL_PENDING_LIMIT;
		return 0;
	}
	if ((fresh = change_new(digest, canonical, object, clid,
	    requester)) == NULL)
		goto fail;
	fresh->created = now;
	fresh->expires = now + (int64_t)a->o.pending_ttl;
	if (c != NULL) {
		old = c;
		a->changes[slot] = fresh;
	} else {
		nv = grow_array(a->changes, &a->capchanges, a->nchanges + 1,
		    sizeof(*nv), CHANGES_MAX);
		if (nv == NULL) {
			change_free(fresh);
			goto fail;
		}
		a->changes = nv;
		slot = a->nchanges;
		a->changes[a->nchanges++] = fresh;
	}
	if (persist(a, rec_add(rec_new(a, "require"), "changes",
	    change_json(fresh))) == -1) {
		if (old != NULL)
			a->changes[slot] = old;
		else
			a->nchanges--;
		change_free(fresh);
		goto fail;
	}
	change_free(old);
	memcpy(id, fresh->id, 13);
	return 0;
 fail:
	*reason = APPROVAL_STORAGE;
	return -1;
}

/* --- approve, deny, reset ------------------------------------------------- */

/* A refused code: counts towards the lockout and the global cap. */
static int
refuse_code(struct approvals *a, struct opstate *op, int64_t now,
    const char *why, const char **reason)
{
	op->failures++;
	if (op->failures >= a->o.lockout_after)
		op->locked = 1;
	*reason = why;
	if (gfail_add(a, now) == -1 || persist(a, rec_set(rec_add(rec_new(a,
	    "refuse"), "operators", op_json(op)), "global_failures",
	    times_json(a->gfail, a->ngfail))) == -1)
		*reason = APPROVAL_STORAGE;
	return -1;
}

int
approvals_approve(struct approvals *a, const char *id, const char *approver,
    const char *otp, const char **reason)
{
	struct change *c, saved_c;
	struct opstate *op, saved_op;
	int64_t now = now_of(a), step = -1;
	int rc;

	purge(a, now);
	if ((c = find_id(a, id)) == NULL) {
		*reason = APPROVAL_UNKNOWN;
		return -1;
	}
	if (state_at(c, now) != CS_PENDING) {
		*reason = APPROVAL_NOT_PENDING;
		return -1;
	}
	if (approver != NULL && strcmp(approver, c->requester) == 0) {
		*reason = APPROVAL_SELF;
		return -1;
	}
	if (approver == NULL || !seeds_has(a->seeds, approver)) {
		*reason = APPROVAL_NO_SEED;
		return -1;
	}
	if ((op = op_get(a, approver)) == NULL) {
		*reason = APPROVAL_STORAGE;
		return -1;
	}
	op->nattempts = prune_times(op->attempts, op->nattempts, now,
	    a->o.rate_period);
	a->ngfail = prune_times(a->gfail, a->ngfail, now, a->o.global_period);
	if (op->locked) {
		*reason = APPROVAL_LOCKED_OUT;
		return -1;
	}
	if (a->ngfail >= a->o.global_cap) {
		*reason = APPROVAL_PAUSED;
		return -1;
	}
	if (op->nattempts >= a->o.rate_attempts) {
		*reason = APPROVAL_RATE_LIMITED;
		return -1;
	}

	saved_op = *op;
	op->attempts[op->nattempts++] = now;
	rc = seeds_totp_check(a->seeds, approver, otp, now, a->o.window,
	    &step);
	if (rc != 1)
		return refuse_code(a, op, now, APPROVAL_INVALID_OTP, reason);
	/* RFC 6238 s5.2: never accept a step twice, nor an older one. */
	if (step <= op->last_step)
		return refuse_code(a, op, now, APPROVAL_REPLAYED_OTP, reason);

	saved_c = *c;
	op->last_step = step;
	op->failures = 0;
	c->state = CS_APPROVED;
	memcpy(c->approver, approver, strlen(approver) + 1);
	c->ticket_expires = now + (int64_t)a->o.ticket_ttl;
	if (persist(a, rec_add(rec_add(rec_new(a, "approve"), "operators",
	    op_json(op)), "changes", change_json(c))) == -1) {
		*c = saved_c;
		*op = saved_op;
		*reason = APPROVAL_STORAGE;
		return -1;
	}
	*reason = NULL;
	return 0;
}

int
approvals_deny(struct approvals *a, const char *id, const char *op,
    const char **reason)
{
	struct change *c, saved;
	int64_t now = now_of(a);

	if ((c = find_id(a, id)) == NULL) {
		*reason = APPROVAL_UNKNOWN;
		return -1;
	}
	/* An unused ticket may be withdrawn too, e.g. approved by mistake. */
	if (state_at(c, now) != CS_PENDING && state_at(c, now) != CS_APPROVED) {
		*reason = APPROVAL_NOT_PENDING;
		return -1;
	}
	saved = *c;
	c->state = CS_DENIED;
	if (op != NULL)
		snprintf(c->denied_by, sizeof(c->denied_by), "%s", op);
	if (persist(a, rec_add(rec_new(a, "deny"), "changes",
	    change_json(c))) == -1) {
		*c = saved;
		*reason = APPROVAL_STORAGE;
		return -1;
	}
	*reason = NULL;
	return 0;
}

int
approvals_reset_operator(struct approvals *a, const char *name,
    const char **reason)
{
	struct opstate *op, saved;

	if (name == NULL || (op = op_find(a, name)) == NULL) {
		/* Nothing to clear; a name we have never heard of is a typo. */
		if (name != NULL && seeds_has(a->seeds, name)) {
			*reason = NULL;
			return 0;
		}
		*reason = APPROVAL_NO_SEED;
		return -1;
	}
	saved = *op;
	op->failures = 0;
	op->locked = 0;
	if (persist(a, rec_add(rec_new(a, "reset"), "operators",
	    op_json(op))) == -1) {
		*op = saved;
		*reason = APPROVAL_STORAGE;
		return -1;
	}
	*reason = NULL;
	return 0;
}

int
approvals_revalidate(struct approvals *a,
    int (*still_valid)(void *arg, const char *object, const char *requester,
    const char *approver), void *arg)
{
	enum cstate *before;
	int64_t now = now_of(a);
	int changed = 0;
	json_t *rec;

	if (a->nchanges == 0)
		return 0;
	if ((before = calloc(a->nchanges, sizeof(*before))) == NULL)
		return -1;
	rec = rec_new(a, "revalidate");
	for (size_t i = 0; i < a->nchanges; i++) {
		struct change *c = a->changes[i];
		enum cstate s = state_at(c, now);

		before[i] = c->state;
		if (s != CS_PENDING && s != CS_APPROVED)
			continue;
		if (still_valid(arg, c->object, c->requester,
		    s == CS_APPROVED ? c->approver : NULL))
			continue;
		c->state = CS_EXPIRED;
		rec = rec_add(rec, "changes", change_json(c));
		changed = 1;
	}
	if (!changed)
		json_decref(rec);
	else if (persist(a, rec) == -1) {
		for (size_t i = 0; i < a->nchanges; i++)
			a->changes[i]->state = before[i];
		free(before);
		return -1;
	}
	free(before);
	return 0;
}

/* --- views ---------------------------------------------------------------- */

const char *
approvals_object(struct approvals *a, const char *id)
{
	struct change *c = find_id(a, id);

	return c != NULL ? c->object : NULL;
}

static json_t *
view_json(const struct change *c, int64_t now)
{
	char created[32], expires[32];
	json_t *o;

	rfc3339(c->created, created);
	/* Once approved, what runs out is the ticket. */
	rfc3339(c->approver[0] != '\0' ? c->ticket_expires : c->expires,
	    expires);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", c->id,
	    "object", c->object, "clid", c->clid, "requester", c->requester,
	    "created", created, "expires", expires,
	    "state", cstate_names[state_at(c, now)]);
	if (o != NULL && c->approver[0] != '\0' && json_object_set_new(o,
	    "approver", json_string(c->approver)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
approvals_list_json(struct approvals *a)
{
	int64_t now = now_of(a);
	json_t *arr;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < a->nchanges; i++)
		if (json_array_append_new(arr,
		    view_json(a->changes[i], now)) == -1) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

json_t *
approvals_show_json(struct approvals *a, const char *id)
{
	struct change *c;
	char full[65];
	json_t *o;

	if ((c = find_id(a, id)) == NULL)
		return NULL;
	if ((o = view_json(c, now_of(a))) == NULL)
		return NULL;
	hex_encode(c->digest, 32, full);
	if (json_object_set_new(o, "canonical", json_string(c->canonical)) ==
	    -1 || json_object_set_new(o, "digest", json_string(full)) == -1 ||
	    (c->denied_by[0] != '\0' && json_object_set_new(o, "denied_by",
	    json_string(c->denied_by)) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* [approvals]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct approval_conf, m)
const struct conf_keyword approval_keywords[] = {
	{ "seeds", KW_PATH, F(seeds_path), 0, NULL, 0, 0 },
	{ "state", KW_PATH, F(state_path), 0, NULL, 0, 0 },
	{ "ticket_ttl", KW_UINT, F(ticket_ttl), 0, "600", 30, 3600 },
	{ "pending_ttl", KW_UINT, F(pending_ttl), 0, "86400", 60, 7 * 86400 },
	{ "max_pending", KW_UINT, F(max_pending), 0, "1000", 1, 1000000 },
	{ "max_pending_per_principal", KW_UINT, F(max_pending_requester), 0,
	    "100", 1, 1000000 },
	{ "totp_window", KW_UINT, F(window), 0, "1", 0, 2 },
	{ "rate_attempts", KW_UINT, F(rate_attempts), 0, "3", 1, 100 },
	{ "rate_period", KW_UINT, F(rate_period), 0, "30", 1, 3600 },
	{ "lockout_after", KW_UINT, F(lockout_after), 0, "5", 1, 100 },
	{ "global_cap", KW_UINT, F(global_cap), 0, "20", 1, 10000 },
	{ "global_period", KW_UINT, F(global_period), 0, "600", 1, 86400 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
