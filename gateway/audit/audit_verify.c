/*
 * audit_verify.c: verify an audit log directory (see audit_verify.h).
 *
 * One pass over the segments in seq order.  Each line is hashed as it is
 * stored, located fields are checked without allocation, and only the
 * rare structural records (open, checkpoint, recovery, close) are parsed
 * with jansson.  The first failure stops the pass and is reported with
 * its file, line and seq, unless an operator's signed break record
 * covers it (accept_break): then the pass goes on from the break.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit_verify.h"
#include "buf.h"
#include "err.h"
#include "strmap.h"

enum target_kind { T_FILE, T_ARCHIVE, T_KNOWN };

struct target {
	struct checkpoint cp;
	enum target_kind kind;
	char		 src[512];
	char		*note;
};

/*
 * The verifier holds what the log on disk has: its segments, its
 * checkpoints, the leaves asked for, the commands still unanswered.  They
 * grow geometrically, overflow checked, with no maximum but memory.
 */
#define VERIFY_NO_MAX	SIZE_MAX

struct vstate {
	struct strmap			*open;	/* sess -> itself, as text */
	const char			*dir;
	const struct audit_verify_opts	*o;
	struct audit_verify_result	*r;

	struct target	*targets;
	size_t		 ntargets, next_target, cap_targets;

	char		 prev_hex[2 * MERKLE_HASH_LEN + 1];
	char		 last_ts[32];
	int		 clock_warned;
	size_t		 cap_leaves, cap_unanswered;

	/* The segment being read, for error locations. */
	const char	*seg;
	uint64_t	 lineno;

	/* The previous segment, checked against the next open record. */
	int		 have_pseg;
	char		 pseg_name[AUDIT_SEG_NAMELEN + 1];
	char		 pseg_sha[2 * MERKLE_HASH_LEN + 1];
	uint64_t	 pseg_last_seq;
	int		 pseg_closed;
	uint64_t	 pseg_good, pseg_torn;
	char		 pseg_torn_sha[2 * MERKLE_HASH_LEN + 1];
	int		 expect_recovery;
	int		 seg_closed;	/* the last good line was close */

	/* The segment listing, for failures and breaks. */
	char		**names;
	size_t		 nnames;
	long		 cur_index;
	int		 break_pending;	/* the next line is an accepted break */
	uint64_t	 cur_end;	/* offset after the line being verified */
	int		 unknown_v;	/* a record of a version not known */
	uint64_t	 unknown_v_seq;
	char		 unknown_v_text[17];
};

static void
vfail(struct vstate *st, enum audit_verdict v, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vfail(struct vstate *st, enum audit_verdict v, const char *fmt, va_list ap)
{
	struct audit_verify_result *r = st->r;
	char msg[512];

	if (r->verdict == AUDIT_TAMPERED || r->verdict == AUDIT_CANNOT)
		return;		/* keep the first failure */
	r->verdict = v;
	r->fail_index = st->cur_index;
	r->fail_line = st->seg != NULL ? st->lineno : 0;
	snprintf(r->fail_segment, sizeof(r->fail_segment), "%s",
	    st->cur_index >= 0 && (size_t)st->cur_index < st->nnames ?
	    st->names[st->cur_index] : "");
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (st->seg != NULL)
		snprintf(r->error, sizeof(r->error), "%s:%llu (seq %llu): %s",
		    st->seg, (unsigned long long)st->lineno,
		    (unsigned long long)r->records, msg);
	else
		snprintf(r->error, sizeof(r->error), "%s", msg);
}

static void
fail(struct vstate *st, enum audit_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct vstate *st, enum audit_verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(st, v, fmt, ap);
	va_end(ap);
}

static void
warn(struct vstate *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(struct vstate *st, const char *fmt, ...)
{
	struct audit_verify_result *r = st->r;
	va_list ap;

	if (r->verdict == AUDIT_VALID)
		r->verdict = AUDIT_WARNINGS;
	if (r->nwarnings == AUDIT_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarnings++], sizeof(r->warnings[0]), fmt,
	    ap);
	va_end(ap);
}

void
audit_genesis(const char *origin, const char *log_id, merkle_hash out)
{
	EVP_MD_CTX *c;

	memset(out, 0, MERKLE_HASH_LEN);
	if ((c = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, AUDIT_GENESIS_PREFIX,
	    strlen(AUDIT_GENESIS_PREFIX)) == 1 &&
	    EVP_DigestUpdate(c, origin, strlen(origin)) == 1 &&
	    EVP_DigestUpdate(c, "\n", 1) == 1 &&
	    EVP_DigestUpdate(c, log_id, strlen(log_id)) == 1)
		EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

/* ---- Locating the top-level fields of one line ---- */

/* s[i] is '"': the index of the closing quote, or -1. */
static ssize_t
skip_string(const char *s, size_t n, size_t i)
{
	const char *q;
	size_t j = i + 1, bs;

	for (;;) {
		if (j >= n || (q = memchr(s + j, '"', n - j)) == NULL)
			return -1;
		/* An odd run of backslashes escapes the quote. */
		for (bs = 0; q - bs - 1 >= s + i + 1 && q[-(ssize_t)bs - 1] ==
		    '\\'; bs++)
			;
		if (bs % 2 == 0)
			return q - s;
		j = (size_t)(q - s) + 1;
	}
}

/* The index just past the value starting at s[i], or -1. */
static ssize_t
skip_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0, j = i;
	ssize_t e;

	if (i >= n)
		return -1;
	if (s[i] == '"')
		return (e = skip_string(s, n, i)) == -1 ? -1 : e + 1;
	if (s[i] == '{' || s[i] == '[') {
		while (j < n) {
			switch (s[j]) {
			case '"':
				if ((e = skip_string(s, n, j)) == -1)
					return -1;
				j = (size_t)e;
				break;
			case '{':
			case '[':
				depth++;
				break;
			case '}':
			case ']':
				if (--depth == 0)
					return (ssize_t)j + 1;
				break;
			}
			j++;
		}
		return -1;
	}
	while (j < n && s[j] != ',' && s[j] != '}' && s[j] != ']' &&
	    s[j] != '"' && s[j] != '{' && s[j] != '[')
		j++;
	return j == i ? -1 : (ssize_t)j;
}

static int
span_is(const struct audit_span *sp, const char *lit)
{
	size_t n = strlen(lit);

	return sp->n == n && memcmp(sp->p, lit, n) == 0;
}

size_t
audit_content_len(const void *p, size_t n)
{
	const char *b = p;

	while (n > 0 && b[n - 1] == '\0')
		n--;
	return n;
}

int
audit_scan_line(const char *s, size_t n, struct audit_line *f)
{
	const char *lastk = NULL;
	size_t lastn = 0, i = 1, kn;
	ssize_t ke, ve;
	struct audit_span k, *dst;
	int c;

	memset(f, 0, sizeof(*f));
	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return -1;
	if (n == 2)
		return -1;
	for (;;) {
		if (s[i] != '"' || (ke = skip_string(s, n, i)) == -1)
			return -1;
		k.p = s + i + 1;
		k.n = kn = (size_t)ke - i - 1;
		if (memchr(k.p, '\\', kn) != NULL)
			return -1;
		/* Keys strictly ascending: sorted, and no duplicates. */
		if (lastk != NULL) {
			c = memcmp(lastk, k.p, lastn < kn ? lastn : kn);
			if (c > 0 || (c == 0 && lastn >= kn))
				return -1;
		}
		lastk = k.p;
		lastn = kn;
		i = (size_t)ke + 1;
		if (i >= n || s[i] != ':')
			return -1;
		i++;
		if ((ve = skip_value(s, n, i)) == -1)
			return -1;
		dst = NULL;
		switch (kn) {
		case 1:
			if (k.p[0] == 't')
				dst = &f->t;
			else if (k.p[0] == 'v')
				dst = &f->v;
			break;
		case 2:
			if (memcmp(k.p, "ts", 2) == 0)
				dst = &f->ts;
			break;
		case 3:
			if (memcmp(k.p, "seq", 3) == 0)
				dst = &f->seq;
			else if (memcmp(k.p, "req", 3) == 0)
				dst = &f->req;
			break;
		case 4:
			if (memcmp(k.p, "prev", 4) == 0)
				dst = &f->prev;
			else if (memcmp(k.p, "sess", 4) == 0)
				dst = &f->sess;
			break;
		case 5:
			if (memcmp(k.p, "event", 5) == 0)
				dst = &f->event;
			break;
		}
		if (dst != NULL) {
			dst->p = s + i;
			dst->n = (size_t)ve - i;
		}
		i = (size_t)ve;
		if (s[i] == ',') {
			i++;
			continue;
		}
		return s[i] == '}' && i == n - 1 ? 0 : -1;
	}
}

/* A JSON number span holding a canonical unsigned integer. */
static int
span_u64(const struct audit_span *sp, uint64_t *out)
{
	uint64_t v = 0;

	if (sp->n == 0 || sp->n > 19 || (sp->n > 1 && sp->p[0] == '0'))
		return -1;
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->p[i] < '0' || sp->p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(sp->p[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- Segments ---- */

static int
seg_name_seq(const char *name, uint64_t *seq)
{
	size_t pl = strlen(AUDIT_SEG_PREFIX);
	uint64_t v = 0;

	if (strlen(name) != AUDIT_SEG_NAMELEN ||
	    strncmp(name, AUDIT_SEG_PREFIX, pl) != 0 ||
	    strcmp(name + pl + 20, AUDIT_SEG_SUFFIX) != 0)
		return -1;
	for (size_t i = 0; i < 20; i++) {
		char c = name[pl + i];

		if (c < '0' || c > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (seq != NULL)
		*seq = v;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

int
audit_list_segments(const char *dir, char ***namesp, size_t *np)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, cap = 0;

	*namesp = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (seg_name_seq(de->d_name, NULL) == -1)
			continue;
		if ((nn = grow_array(names, &cap, n + 1, sizeof(*names),
		    VERIFY_NO_MAX)) == NULL)
			goto fail;
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(d);
	/* Twenty zero-padded digits: name order is seq order. */
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
 fail:
	closedir(d);
	audit_free_segments(names, n);
	return -1;
}

void
audit_free_segments(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- Leaf indexes (a cache beside sealed segments) ---- */

int
audit_leaves_name(const char *segname, char out[AUDIT_LEAVES_NAMELEN + 1])
{
	size_t base = AUDIT_SEG_NAMELEN - strlen(AUDIT_SEG_SUFFIX);

	if (seg_name_seq(segname, NULL) == -1)
		return -1;
	memcpy(out, segname, base);
	memcpy(out + base, AUDIT_LEAVES_SUFFIX, sizeof(AUDIT_LEAVES_SUFFIX));
	return 0;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
audit_leaves_header(uint8_t out[AUDIT_LEAVES_HDR], uint64_t first,
    uint64_t count, uint64_t seg_bytes)
{
	memcpy(out, AUDIT_LEAVES_MAGIC, AUDIT_LEAVES_MAGIC_LEN);
	put_be64(out + AUDIT_LEAVES_MAGIC_LEN, first);
	put_be64(out + AUDIT_LEAVES_MAGIC_LEN + 8, count);
	put_be64(out + AUDIT_LEAVES_MAGIC_LEN + 16, seg_bytes);
}

static int
read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
audit_leaves_read(const char *dir, const char *segname, uint64_t first,
    uint64_t seg_bytes, merkle_hash **leaves, uint64_t *count, struct err *e)
{
	char name[AUDIT_LEAVES_NAMELEN + 1], path[4096];
	uint8_t hdr[AUDIT_LEAVES_HDR];
	struct stat sb;
	uint64_t n;
	merkle_hash *l = NULL;
	int fd, rc = -1;

	*leaves = NULL;
	*count = 0;
	/* "return -1" spelled out: 0 means *leaves is set, and the analyzer
	 * cannot see that err_set() returns -1. */
	if (audit_leaves_name(segname, name) == -1) {
		err_set(e, ERR_INVALID, "%s: not a segment name", segname);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 1;
		err_set(e, ERR_SYSTEM, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    read_full(fd, hdr, sizeof(hdr)) == -1 ||
	    memcmp(hdr, AUDIT_LEAVES_MAGIC, AUDIT_LEAVES_MAGIC_LEN) != 0) {
		err_set(e, ERR_CORRUPT, "%s: not a leaf index", name);
		goto out;
	}
	n = get_be64(hdr + AUDIT_LEAVES_MAGIC_LEN + 8);
	if (get_be64(hdr + AUDIT_LEAVES_MAGIC_LEN) != first ||
	    get_be64(hdr + AUDIT_LEAVES_MAGIC_LEN + 16) != seg_bytes) {
		err_set(e, ERR_CORRUPT, "%s describes another segment: first "
		    "seq %llu, %llu bytes", name, (unsigned long long)
		    get_be64(hdr + AUDIT_LEAVES_MAGIC_LEN), (unsigned long long)
		    get_be64(hdr + AUDIT_LEAVES_MAGIC_LEN + 16));
		goto out;
	}
	/* A line is one byte at least: no more leaves than bytes. */
	if (n == 0 || n > seg_bytes ||
	    (uint64_t)sb.st_size != AUDIT_LEAVES_HDR + n * MERKLE_HASH_LEN) {
		err_set(e, ERR_CORRUPT, "%s: %llu bytes, not the %llu leaves "
		    "its header says", name, (unsigned long long)sb.st_size,
		    (unsigned long long)n);
		goto out;
	}
	if ((l = malloc((size_t)n * sizeof(*l))) == NULL) {
		err_set(e, ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	if (read_full(fd, l, (size_t)n * sizeof(*l)) == -1) {
		err_set(e, ERR_SYSTEM, "%s: cannot read it", name);
		goto out;
	}
	*leaves = l;
	*count = n;
	l = NULL;
	rc = 0;
 out:
	free(l);
	close(fd);
	return rc;
}

/* ---- Checkpoints held outside the segments ---- */

static char *
slurp(const char *path, size_t max, size_t *len, int *enoent)
{
	int fd;
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	size_t off = 0;

	*enoent = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*enoent = errno == ENOENT;
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || (size_t)sb.st_size > max ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)sb.st_size) {
		if ((n = read(fd, buf + off, (size_t)sb.st_size - off)) <= 0)
			goto fail;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
 fail:
	free(buf);
	close(fd);
	return NULL;
}

static int
add_target(struct vstate *st, const char *path, enum target_kind kind)
{
	struct target *t, *nt;
	struct err e = ERR_INIT;
	char *note;
	size_t len;
	int enoent;
	enum checkpoint_status cs;

	if ((note = slurp(path, CHECKPOINT_MAX_NOTE, &len, &enoent)) ==
	    NULL) {
		if (enoent && kind == T_FILE)
			return 0;	/* no checkpoint yet */
		fail(st, AUDIT_CANNOT, "%s: cannot read checkpoint", path);
		return -1;
	}
	if ((nt = grow_array(st->targets, &st->cap_targets, st->ntargets + 1,
	    sizeof(*nt), VERIFY_NO_MAX)) == NULL) {
		free(note);
		fail(st, AUDIT_CANNOT, "out of memory");
		return -1;
	}
	st->targets = nt;
	t = &nt[st->ntargets++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->note = note;
	snprintf(t->src, sizeof(t->src), "%s", path);
	cs = checkpoint_open(note, len, st->o->vkey, &t->cp, &e);
	if (cs != CHECKPOINT_OK) {
		/* Evidence the reviewer vouches for that does not match
		 * this log is a finding, not an inability to verify. */
		fail(st, AUDIT_TAMPERED, "%s: %s", path, err_msg(&e));
		return -1;
	}
	return 0;
}

static int
cmp_targets(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	return x->cp.size < y->cp.size ? -1 : x->cp.size > y->cp.size;
}

static void
note_latest(struct vstate *st, const char *note, uint64_t size)
{
	struct audit_verify_result *r = st->r;
	char *c;

	if (r->latest_note != NULL && size < r->sealed)
		return;
	if ((c = strdup(note)) == NULL)
		return;
	free(r->latest_note);
	r->latest_note = c;
	r->sealed = size;
}

/*
 * A verified signature covers the records before the end of the line
 * being verified: everything up to here is authenticated.  The writer
 * sets aside what lies beyond (docs/audit-log.md, Start-up).
 */
static void
authenticated(struct vstate *st, uint64_t records)
{
	struct audit_verify_result *r = st->r;

	if (st->o->vkey == NULL || records < r->auth_records)
		return;
	r->auth_records = records;
	r->auth_offset = st->cur_end;
	snprintf(r->auth_segment, sizeof(r->auth_segment), "%s", st->seg);
}

/* The origin in the first segment's open record ("" when unknown). */
static void
log_origin(const char *dir, char *out, size_t outlen)
{
	char **names = NULL, path[4096], line[4096];
	size_t n = 0;
	json_t *j;
	FILE *f;

	out[0] = '\0';
	if (audit_list_segments(dir, &names, &n) == -1 || n == 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	if ((f = fopen(path, "r")) == NULL)
		goto out;
	if (fgets(line, sizeof(line), f) != NULL &&
	    (j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL)) != NULL) {
		if (json_string_value(json_object_get(j, "origin")) != NULL)
			snprintf(out, outlen, "%s", json_string_value(
			    json_object_get(j, "origin")));
		json_decref(j);
	}
	fclose(f);
 out:
	audit_free_segments(names, n);
}

/*
 * --known-checkpoint DIR: a witness's or a reviewer's collection of
 * checkpoints (the gateway's [audit] publish_dir, copies taken over time,
 * of any number of logs).  Of those of this log's origin, the one with
 * the most records counts: it catches removals and rollbacks back to it.
 * A file of this origin that is not a valid checkpoint by the trusted key
 * fails as any known checkpoint does.
 */
static int
add_known_dir(struct vstate *st, const char *dir)
{
	char origin[CHECKPOINT_MAX_NAME], path[4096], *best = NULL;
	uint64_t best_size = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	log_origin(st->dir, origin, sizeof(origin));
	if ((d = opendir(dir)) == NULL) {
		fail(st, AUDIT_CANNOT, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct checkpoint cp;
		char *note;
		size_t len, n = strlen(de->d_name);
		int enoent;

		if (n < 4 || strcmp(de->d_name + n - 3, ".cp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((note = slurp(path, CHECKPOINT_MAX_NOTE, &len,
		    &enoent)) == NULL)
			continue;
		/* Unsigned parse first: only this log's origin matters (a
		 * note that does not parse is not one, no need to say so). */
		if (checkpoint_open(note, len, NULL, &cp, NULL) ==
		    CHECKPOINT_OK &&
		    strcmp(cp.origin, origin) == 0 &&
		    (best == NULL || cp.size > best_size)) {
			free(best);
			if ((best = strdup(path)) == NULL) {
				free(note);
				rc = -1;
				break;
			}
			best_size = cp.size;
		}
		free(note);
	}
	closedir(d);
	if (rc == 0 && best != NULL)
		rc = add_target(st, best, T_KNOWN);
	else if (rc == 0)
		warn(st, "%s: no checkpoint of %s", dir, origin);
	free(best);
	return rc;
}

static int
load_targets(struct vstate *st)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", st->dir, AUDIT_CHECKPOINT_FILE);
	if (add_target(st, path, T_FILE) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", st->dir, AUDIT_CHECKPOINT_DIR);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			n = strlen(de->d_name);
			if (n < 4 || strcmp(de->d_name + n - 3, ".cp") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", st->dir,
			    AUDIT_CHECKPOINT_DIR, de->d_name);
			if (add_target(st, path, T_ARCHIVE) == -1) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	for (size_t i = 0; i < st->o->nknown; i++) {
		struct stat sb;

		if (stat(st->o->known[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (add_known_dir(st, st->o->known[i]) == -1)
				return -1;
		} else if (add_target(st, st->o->known[i], T_KNOWN) == -1)
			return -1;
	}
	if (st->ntargets > 1)
		qsort(st->targets, st->ntargets, sizeof(*st->targets),
		    cmp_targets);
	return 0;
}

/* Compare every checkpoint of the current size with the current root. */
static int
check_targets(struct vstate *st)
{
	struct audit_verify_result *r = st->r;
	struct target *t;
	merkle_hash root;
	char a[65], b[65];
	int have = 0;

	while (st->next_target < st->ntargets &&
	    st->targets[st->next_target].cp.size == r->range.size) {
		t = &st->targets[st->next_target++];
		if (!have) {
			merkle_range_root(&r->range, root);
			have = 1;
		}
		if (memcmp(root, t->cp.root, MERKLE_HASH_LEN) != 0) {
			merkle_hex(root, a);
			merkle_hex(t->cp.root, b);
			if (t->kind == T_KNOWN)
				fail(st, AUDIT_TAMPERED, "FORK: known "
				    "checkpoint %s has root %s at size %llu, "
				    "the log has %s", t->src, b,
				    (unsigned long long)t->cp.size, a);
			else
				fail(st, AUDIT_TAMPERED, "checkpoint %s "
				    "(size %llu) does not match the log: "
				    "root %s, log %s", t->src,
				    (unsigned long long)t->cp.size, b, a);
			return -1;
		}
		note_latest(st, t->note, t->cp.size);
		authenticated(st, r->records);
	}
	return 0;
}

/* ---- Records ---- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
push_u64(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
	uint64_t *na;

	if ((na = grow_array(*a, cap, *n + 1, sizeof(**a), VERIFY_NO_MAX)) ==
	    NULL)
		return -1;
	*a = na;
	(*a)[(*n)++] = v;
	return 0;
}

static void
answered(struct audit_verify_result *r, uint64_t req)
{
	/* Replies follow their commands closely: search from the end. */
	for (size_t i = r->nunanswered; i-- > 0; )
		if (r->unanswered[i] == req) {
			memmove(r->unanswered + i, r->unanswered + i + 1,
			    (r->nunanswered - i - 1) * sizeof(uint64_t));
			r->nunanswered--;
			return;
		}
}

static int
check_open(struct vstate *st, json_t *j, uint64_t seq, uint64_t seg_seq)
{
	struct audit_verify_result *r = st->r;
	const char *origin = jstr(j, "origin"), *log_id = jstr(j, "log_id");
	const char *segname = jstr(j, "segment");
	json_t *ps = json_object_get(j, "prev_segment");
	merkle_hash g;

	if (origin == NULL || log_id == NULL || segname == NULL ||
	    strlen(origin) >= sizeof(r->origin) ||
	    strlen(log_id) >= sizeof(r->log_id)) {
		fail(st, AUDIT_TAMPERED, "open record lacks origin, log_id "
		    "or segment");
		return -1;
	}
	if (strcmp(segname, st->seg) != 0 || seq != seg_seq) {
		fail(st, AUDIT_TAMPERED, "open record names segment %s",
		    segname);
		return -1;
	}
	if (seq == 0) {
		if (ps != NULL) {
			fail(st, AUDIT_TAMPERED, "first segment names a "
			    "previous segment");
			return -1;
		}
		snprintf(r->origin, sizeof(r->origin), "%s", origin);
		snprintf(r->log_id, sizeof(r->log_id), "%s", log_id);
		audit_genesis(origin, log_id, g);
		merkle_hex(g, st->prev_hex);
		return 0;
	}
	if (strcmp(origin, r->origin) != 0 || strcmp(log_id, r->log_id) != 0) {
		fail(st, AUDIT_TAMPERED, "segment from another log (origin %s, "
		    "log_id %s)", origin, log_id);
		return -1;
	}
	if (!st->have_pseg || !json_is_object(ps) ||
	    jstr(ps, "name") == NULL || jstr(ps, "sha256") == NULL ||
	    !json_is_integer(json_object_get(ps, "last_seq"))) {
		fail(st, AUDIT_TAMPERED, "open record lacks prev_segment");
		return -1;
	}
	if (strcmp(jstr(ps, "name"), st->pseg_name) != 0 ||
	    (uint64_t)json_integer_value(json_object_get(ps, "last_seq")) !=
	    st->pseg_last_seq) {
		fail(st, AUDIT_TAMPERED, "previous segment is %s ending at seq "
		    "%llu, open record names %s ending at seq %lld",
		    st->pseg_name, (unsigned long long)st->pseg_last_seq,
		    jstr(ps, "name"),
		    (long long)json_integer_value(json_object_get(ps,
		    "last_seq")));
		return -1;
	}
	if (strcmp(jstr(ps, "sha256"), st->pseg_sha) != 0) {
		fail(st, AUDIT_TAMPERED, "previous segment %s was altered: "
		    "sha256 %s, open record says %s", st->pseg_name,
		    st->pseg_sha, jstr(ps, "sha256"));
		return -1;
	}
	st->expect_recovery = !st->pseg_closed;
	return 0;
}

/* A session record opens or closes sess (st->open). */
static int
track_session(struct vstate *st, const struct audit_line *f)
{
	char key[32];
	void *old = NULL;

	if (f->sess.n == 0 || f->sess.n >= sizeof(key))
		return 0;
	memcpy(key, f->sess.p, f->sess.n);
	key[f->sess.n] = '\0';
	if (st->open == NULL && (st->open = strmap_new()) == NULL)
		return -1;
	if (span_is(&f->event, "\"close\"")) {
		(void)strmap_del(st->open, key);
		return 0;
	}
	if (!span_is(&f->event, "\"open\""))
		return 0;
	return strmap_put(st->open, key, st, &old);
}

static void
forget_sessions(struct vstate *st)
{
	strmap_free(st->open, NULL);
	st->open = NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* st->open into r->open_sessions, sorted; -1 out of memory. */
static int
list_open_sessions(struct vstate *st)
{
	struct audit_verify_result *r = st->r;
	size_t cur = 0, n = st->open ? strmap_count(st->open) : 0;
	const char *k;
	void *v;

	if (n == 0)
		return 0;
	if ((r->open_sessions = calloc(n, sizeof(uint64_t))) == NULL)
		return -1;
	while ((k = strmap_next(st->open, &cur, &v)) != NULL &&
	    r->nopen_sessions < n)
		r->open_sessions[r->nopen_sessions++] = strtoull(k, NULL, 10);
	qsort(r->open_sessions, r->nopen_sessions, sizeof(uint64_t), cmp_u64);
	return 0;
}

static int
check_recovery(struct vstate *st, json_t *j, uint64_t seq)
{
	const char *seg = jstr(j, "segment"), *tsha = jstr(j, "torn_sha256");
	json_int_t good = json_integer_value(json_object_get(j, "good_bytes"));
	json_int_t torn = json_integer_value(json_object_get(j, "torn_bytes"));

	json_t *aside = json_object_get(j, "set_aside");

	/* After a clean close only a writer that set something aside has
	 * anything to recover from. */
	if ((!st->expect_recovery && !json_is_object(aside)) ||
	    st->lineno != 2) {
		fail(st, AUDIT_TAMPERED, "unexpected recovery record");
		return -1;
	}
	st->expect_recovery = 0;
	if (json_is_object(aside)) {
		st->r->set_aside_records += (uint64_t)json_integer_value(
		    json_object_get(aside, "records"));
		st->r->set_aside_bytes += (uint64_t)json_integer_value(
		    json_object_get(aside, "bytes"));
		warn(st, "%s:%llu (seq %llu): %lld records (%lld bytes) that "
		    "no signature covered were set aside at start, sha256 %s",
		    st->seg, (unsigned long long)st->lineno,
		    (unsigned long long)seq, (long long)json_integer_value(
		    json_object_get(aside, "records")), (long long)
		    json_integer_value(json_object_get(aside, "bytes")),
		    jstr(aside, "sha256") ? jstr(aside, "sha256") : "?");
	}
	if (seg == NULL || strcmp(seg, st->pseg_name) != 0 ||
	    (uint64_t)good != st->pseg_good ||
	    (uint64_t)torn != st->pseg_torn ||
	    (torn > 0 && (tsha == NULL || strcmp(tsha, st->pseg_torn_sha) !=
	    0))) {
		fail(st, AUDIT_TAMPERED, "recovery record does not describe "
		    "%s (%llu good bytes, %llu torn)", st->pseg_name,
		    (unsigned long long)st->pseg_good,
		    (unsigned long long)st->pseg_torn);
		return -1;
	}
	st->r->recoveries++;
	warn(st, "%s:%llu (seq %llu): recovery: %s ended without close "
	    "(%llu torn bytes, %zu unanswered commands)", st->seg,
	    (unsigned long long)st->lineno, (unsigned long long)seq,
	    st->pseg_name, (unsigned long long)torn,
	    json_array_size(json_object_get(j, "unanswered")));
	return 0;
}

static int
check_checkpoint(struct vstate *st, json_t *j, uint64_t seq)
{
	struct audit_verify_result *r = st->r;
	const char *note = jstr(j, "note"), *root = jstr(j, "root");
	struct checkpoint cp;
	merkle_hash h, rr;
	struct err e = ERR_INIT;
	enum checkpoint_status cs;

	if (note == NULL || root == NULL ||
	    !json_is_integer(json_object_get(j, "size"))) {
		fail(st, AUDIT_TAMPERED, "checkpoint record lacks note, size "
		    "or root");
		return -1;
	}
	cs = checkpoint_open(note, strlen(note), st->o->vkey, &cp, &e);
	if (cs != CHECKPOINT_OK) {
		fail(st, AUDIT_TAMPERED, "%s", err_msg(&e));
		return -1;
	}
	merkle_range_root(&r->range, rr);
	if (cp.size != seq || (uint64_t)json_integer_value(
	    json_object_get(j, "size")) != cp.size ||
	    merkle_unhex(root, strlen(root), h) == -1 ||
	    memcmp(h, cp.root, MERKLE_HASH_LEN) != 0) {
		fail(st, AUDIT_TAMPERED, "checkpoint record is inconsistent "
		    "with its note");
		return -1;
	}
	if (strcmp(cp.origin, r->origin) != 0) {
		fail(st, AUDIT_TAMPERED, "checkpoint for origin %s",
		    cp.origin);
		return -1;
	}
	if (memcmp(rr, cp.root, MERKLE_HASH_LEN) != 0) {
		fail(st, AUDIT_TAMPERED, "checkpoint root does not match the "
		    "records before it");
		return -1;
	}
	r->checkpoints++;
	note_latest(st, note, cp.size);
	/* The checkpoint line itself: its note is what was just checked. */
	authenticated(st, cp.size + 1);
	return 0;
}

/*
 * One line, len bytes without its newline.  Returns 0, or -1 with the
 * failure recorded.
 */
static int
verify_line(struct vstate *st, const char *p, size_t len, uint64_t seg_seq,
    int final)
{
	struct audit_verify_result *r = st->r;
	struct audit_line f;
	merkle_hash leaf;
	uint64_t seq, req;
	json_t *j = NULL;
	json_error_t jerr;
	int rare, rc = -1;

	merkle_leaf_hash(p, len, leaf);
	if (audit_scan_line(p, len, &f) == -1) {
		fail(st, AUDIT_TAMPERED, "not a compact, key-sorted JSON "
		    "object");
		return -1;
	}
	if (f.v.p == NULL || f.seq.p == NULL || f.t.p == NULL ||
	    f.prev.p == NULL || f.ts.p == NULL || f.t.n < 2 ||
	    f.t.p[0] != '"') {
		fail(st, AUDIT_TAMPERED, "missing v, seq, ts, t or prev");
		return -1;
	}
	if (span_u64(&f.seq, &seq) == -1 || seq != r->records) {
		fail(st, AUDIT_TAMPERED, "seq %.*s, expected %llu (a record "
		    "was removed, duplicated or moved)",
		    (int)(f.seq.n > 24 ? 24 : f.seq.n), f.seq.p,
		    (unsigned long long)r->records);
		return -1;
	}
	/*
	 * A version this verifier does not know is read as an opaque record
	 * (its leaf still goes into the tree): if a trusted checkpoint
	 * covers it and does not match, the log is INVALID like any other
	 * altered record; only a record the signatures do vouch for leaves
	 * the verdict at "cannot verify" (audit_verify_dir, at the end).
	 * Otherwise flipping the version digit would turn "tampered" into
	 * "cannot verify".
	 */
	if (!span_is(&f.v, "1")) {
		if (!st->unknown_v) {
			st->unknown_v = 1;
			st->unknown_v_seq = seq;
			snprintf(st->unknown_v_text, sizeof(st->unknown_v_text),
			    "%.*s", (int)(f.v.n > 16 ? 16 : f.v.n), f.v.p);
		}
		if (f.prev.n != 2 * MERKLE_HASH_LEN + 2 ||
		    memcmp(f.prev.p + 1, st->prev_hex, 2 * MERKLE_HASH_LEN) !=
		    0) {
			fail(st, AUDIT_TAMPERED, "prev mismatch at seq %llu",
			    (unsigned long long)seq);
			return -1;
		}
		goto append;
	}
	/* A break record is only ever the first line of its segment, and
	 * only once accept_break() has checked that it covers a failure. */
	if (span_is(&f.t, "\"break\"")) {
		if (st->lineno != 1 || !st->break_pending) {
			fail(st, AUDIT_TAMPERED, "break record that covers no "
			    "failure");
			return -1;
		}
	} else if (st->lineno == 1 && !span_is(&f.t, "\"open\"")) {
		fail(st, AUDIT_TAMPERED, "segment does not begin with an open "
		    "record");
		return -1;
	}
	st->break_pending = 0;
	if (st->lineno != 1 && span_is(&f.t, "\"open\"")) {
		fail(st, AUDIT_TAMPERED, "open record inside a segment");
		return -1;
	}
	if (st->lineno == 2 && st->expect_recovery &&
	    !span_is(&f.t, "\"recovery\"")) {
		fail(st, AUDIT_TAMPERED, "%s ended without close and no "
		    "recovery record follows", st->pseg_name);
		return -1;
	}
	rare = span_is(&f.t, "\"open\"") || span_is(&f.t, "\"checkpoint\"") ||
	    span_is(&f.t, "\"recovery\"") || span_is(&f.t, "\"close\"");
	if (rare && (j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		fail(st, AUDIT_TAMPERED, "bad JSON: %s", jerr.text);
		return -1;
	}
	if (span_is(&f.t, "\"open\"") && check_open(st, j, seq, seg_seq) == -1)
		goto out;
	if (f.prev.n != 2 * MERKLE_HASH_LEN + 2 ||
	    memcmp(f.prev.p + 1, st->prev_hex, 2 * MERKLE_HASH_LEN) != 0) {
		fail(st, AUDIT_TAMPERED, "prev mismatch: the line before "
		    "(seq %llu) or this prev was altered: expected %s, found "
		    "%.*s", (unsigned long long)(seq ? seq - 1 : 0),
		    st->prev_hex, (int)(f.prev.n > 66 ? 66 : f.prev.n),
		    f.prev.p);
		goto out;
	}
	if (f.ts.n != 29) {
		fail(st, AUDIT_TAMPERED, "bad ts");
		goto out;
	}
	if (memcmp(f.ts.p, st->last_ts, 29) < 0 && !st->clock_warned) {
		st->clock_warned = 1;
		warn(st, "%s:%llu (seq %llu): clock stepped back to %.*s",
		    st->seg, (unsigned long long)st->lineno,
		    (unsigned long long)seq, 27, f.ts.p + 1);
	}
	memcpy(st->last_ts, f.ts.p, 29);

	if (span_is(&f.t, "\"checkpoint\"") &&
	    check_checkpoint(st, j, seq) == -1)
		goto out;
	if (span_is(&f.t, "\"recovery\"")) {
		if (check_recovery(st, j, seq) == -1)
			goto out;
		/* It named them: they ended in the crash. */
		r->nunanswered = 0;
		forget_sessions(st);
	}
	if (span_is(&f.t, "\"session\"") && f.sess.p != NULL &&
	    f.event.p != NULL && track_session(st, &f) == -1)
		goto nomem;
	if (span_is(&f.t, "\"close\"")) {
		if (!final) {
			fail(st, AUDIT_TAMPERED, "records follow a close "
			    "record in the same segment");
			goto out;
		}
		/* A clean shutdown has answered or abandoned everything. */
		if (jstr(j, "reason") != NULL &&
		    strcmp(jstr(j, "reason"), "shutdown") == 0) {
			r->nunanswered = 0;
			forget_sessions(st);
		}
	}
	if (span_is(&f.t, "\"cmd\"") && push_u64(&r->unanswered,
	    &r->nunanswered, &st->cap_unanswered, seq) == -1)
		goto nomem;
	if (span_is(&f.t, "\"rsp\"") && f.req.p != NULL &&
	    span_u64(&f.req, &req) == 0)
		answered(r, req);

	st->seg_closed = span_is(&f.t, "\"close\"");
append:
	merkle_range_append(&r->range, leaf);
	memcpy(r->last_leaf, leaf, MERKLE_HASH_LEN);
	merkle_hex(leaf, st->prev_hex);
	if (st->o->keep_leaves) {
		if (r->records == st->cap_leaves) {
			merkle_hash *nl;

			if ((nl = grow_array(r->leaves, &st->cap_leaves,
			    (size_t)r->records + 1, sizeof(*nl),
			    VERIFY_NO_MAX)) == NULL)
				goto nomem;
			r->leaves = nl;
		}
		memcpy(r->leaves[r->records], leaf, MERKLE_HASH_LEN);
	}
	if (st->o->want_seq >= 0 && (uint64_t)st->o->want_seq == seq) {
		free(r->want_line);
		if ((r->want_line = malloc(len + 1)) == NULL)
			goto nomem;
		memcpy(r->want_line, p, len);
		r->want_line[len] = '\0';
		r->want_len = len;
	}
	r->records++;
	rc = check_targets(st);
	goto out;
 nomem:
	fail(st, AUDIT_CANNOT, "out of memory");
 out:
	json_decref(j);
	return rc;
}

static void
sha256_hex(const void *p, size_t len, char out[65])
{
	merkle_hash h;
	unsigned int hl = 0;

	EVP_Digest(p, len, h, &hl, EVP_sha256(), NULL);
	merkle_hex(h, out);
}

static int
verify_segment(struct vstate *st, const char *name, int is_last)
{
	struct audit_verify_result *r = st->r;
	char path[4096], msg[sizeof(r->error)];
	const char *base = NULL, *p, *end, *nl = NULL;
	size_t clen;
	struct stat sb;
	uint64_t seg_seq, before, icount = 0, imismatch = 0;
	enum audit_verdict saved;
	merkle_hash h, *ileaves = NULL;
	struct err ie = ERR_INIT;	/* why the leaf index is not used */
	int fd, rc = -1, ires = 1;

	(void)seg_name_seq(name, &seg_seq);
	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fail(st, AUDIT_CANNOT, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (seg_seq != r->records) {
		fail(st, AUDIT_TAMPERED, "segment %s starts at seq %llu, "
		    "expected %llu (missing, extra or torn segment)", name,
		    (unsigned long long)seg_seq,
		    (unsigned long long)r->records);
		goto out;
	}
	if (sb.st_size == 0) {
		fail(st, AUDIT_TAMPERED, "segment %s is empty", name);
		goto out;
	}
	if ((base = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		base = NULL;
		fail(st, AUDIT_CANNOT, "%s: mmap: %s", path, strerror(errno));
		goto out;
	}
	(void)madvise((void *)base, (size_t)sb.st_size, MADV_SEQUENTIAL);
	/* The zeros the writer put ahead of its data are no content. */
	if ((clen = audit_content_len(base, (size_t)sb.st_size)) == 0) {
		fail(st, AUDIT_TAMPERED, "segment %s is empty", name);
		goto out;
	}
	/* Its leaf index, if any, is compared line by line (a cache that
	 * no signature covers: a mismatch is a warning). */
	ires = audit_leaves_read(st->dir, name, seg_seq, (uint64_t)clen,
	    &ileaves, &icount, &ie);
	st->seg = name;
	st->lineno = 0;
	st->seg_closed = 0;
	before = r->records;
	end = base + clen;
	for (p = base; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;		/* a partial last line */
		st->lineno++;
		st->cur_end = (uint64_t)(nl + 1 - base);
		saved = r->verdict;
		if (verify_line(st, p, (size_t)(nl - p), seg_seq,
		    nl + 1 == end) == 0) {
			if (ires == 0 && imismatch == 0 && (st->lineno >
			    icount || memcmp(ileaves[st->lineno - 1],
			    r->last_leaf, MERKLE_HASH_LEN) != 0))
				imismatch = st->lineno;
			continue;
		}
		/*
		 * A failing line starts a torn tail only if what follows
		 * cannot be a record the writer completed: it holds a NUL
		 * (blocks a crash left unwritten).  Otherwise it is tampering.
		 */
		if (r->verdict == AUDIT_CANNOT ||
		    memchr(p, '\0', (size_t)(end - p)) == NULL)
			goto out;
		snprintf(msg, sizeof(msg), "%s", r->error);
		r->verdict = saved;
		r->error[0] = '\0';
		break;
	}
	if (r->records == before) {
		fail(st, AUDIT_TAMPERED, "segment %s has no valid record",
		    name);
		goto out;
	}
	r->bytes += (uint64_t)clen;
	r->segments++;
	if (ires == 0 && imismatch != 0)
		err_set(&ie, ERR_CORRUPT, "its leaf %llu is not the hash "
		    "of line %llu", (unsigned long long)(imismatch - 1),
		    (unsigned long long)imismatch);
	else if (ires == 0 && r->records - before != icount)
		err_set(&ie, ERR_CORRUPT, "%llu leaves for %llu records",
		    (unsigned long long)icount,
		    (unsigned long long)(r->records - before));
	if (ires == -1 || (ires == 0 && (imismatch != 0 ||
	    r->records - before != icount)))
		warn(st, "%s: the leaf index does not match the segment (%s): "
		    "ignored, a cache no signature covers", name, err_msg(&ie));
	/* Describe this segment for the next one's open record. */
	st->have_pseg = 1;
	snprintf(st->pseg_name, sizeof(st->pseg_name), "%s", name);
	sha256_hex(base, clen, st->pseg_sha);
	st->pseg_last_seq = r->records - 1;
	st->pseg_closed = st->seg_closed && p == end;
	st->pseg_good = (uint64_t)(p - base);
	st->pseg_torn = (uint64_t)(end - p);
	st->pseg_torn_sha[0] = '\0';
	if (p < end)
		sha256_hex(p, (size_t)(end - p), st->pseg_torn_sha);
	if (is_last) {
		snprintf(r->last_segment, sizeof(r->last_segment), "%s", name);
		EVP_Digest(base, clen, h, NULL, EVP_sha256(), NULL);
		memcpy(r->last_segment_sha256, h, MERKLE_HASH_LEN);
		r->last_closed = st->pseg_closed;
		r->good_bytes = st->pseg_good;
		r->torn_bytes = st->pseg_torn;
		if (p < end) {
			r->torn = 1;
			EVP_Digest(p, (size_t)(end - p), r->torn_sha256, NULL,
			    EVP_sha256(), NULL);
			warn(st, "%s: torn tail of %llu bytes at offset %llu",
			    name, (unsigned long long)(end - p),
			    (unsigned long long)(p - base));
		}
	}
	rc = 0;
 out:
	free(ileaves);
	st->seg = NULL;
	if (base != NULL)
		munmap((void *)base, (size_t)sb.st_size);
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- Breaks ---- */

char *
audit_break_signed_bytes(json_t *rec, size_t *len)
{
	json_t *c;
	char *body, *out = NULL;
	size_t cl = strlen(AUDIT_BREAK_CONTEXT), bl;

	if (!json_is_object(rec) || (c = json_copy(rec)) == NULL)
		return NULL;
	(void)json_object_del(c, "sig");
	body = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	if (body == NULL)
		return NULL;
	bl = strlen(body);
	if ((out = malloc(cl + bl + 1)) != NULL) {
		memcpy(out, AUDIT_BREAK_CONTEXT, cl);
		memcpy(out + cl, body, bl + 1);
		*len = cl + bl;
	}
	free(body);
	return out;
}

/* 0 if sig_b64 is a valid Ed25519 signature of rec by v. */
static int
break_sig_ok(json_t *rec, const struct note_verifier *v)
{
	const char *b64 = jstr(rec, "sig");
	uint8_t sig[64 + 3];
	size_t siglen, len;
	char *msg = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *c = NULL;
	int rc = -1;

	if (b64 == NULL || checkpoint_b64_decode(b64, strlen(b64), sig,
	    sizeof(sig), &siglen) == -1 || siglen != 64)
		return -1;
	if (v == NULL)
		return 0;	/* no --vkey: reported as a warning */
	if ((msg = audit_break_signed_bytes(rec, &len)) == NULL ||
	    (pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, v->pub,
	    sizeof(v->pub))) == NULL || (c = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(c, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(c, sig, 64, (const uint8_t *)msg, len) == 1)
		rc = 0;
 out:
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	free(msg);
	return rc;
}

/* The first line of segment name, parsed, with its bytes in *line. */
static json_t *
first_line(struct vstate *st, const char *name, char **line)
{
	char path[4096];
	FILE *f;
	size_t cap = 0;
	ssize_t n;
	json_t *j = NULL;

	*line = NULL;
	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if ((n = getline(line, &cap, f)) > 1 && (*line)[n - 1] == '\n') {
		(*line)[--n] = '\0';
		j = json_loadb(*line, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	}
	fclose(f);
	return j;
}

/* SHA-256 of a whole file, as hex; -1 if unreadable. */
static int
file_sha256(const char *dir, const char *name, char out[65])
{
	char path[4096], buf[65536];
	merkle_hash h;
	EVP_MD_CTX *c;
	ssize_t n;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((c = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(c, buf, (size_t)n);
		if (n == 0 && EVP_DigestFinal_ex(c, h, NULL) == 1) {
			merkle_hex(h, out);
			rc = 0;
		}
	}
	EVP_MD_CTX_free(c);
	close(fd);
	return rc;
}

/*
 * Does break record b (first line of segment j) cover the failure found
 * in segment i?  It must start where verification stopped (failure.seq is
 * the first seq not verified, prev the last verified leaf), list exactly
 * segments i..j-1 with their current hashes, be canonical and signed.
 * 0 if so, else -1 with e (ERR_CORRUPT) saying why not.
 */
static int
break_covers(struct vstate *st, json_t *b, const char *line, size_t i,
    size_t j, struct err *e)
{
	struct audit_verify_result *r = st->r;
	json_t *fl = json_object_get(b, "failure");
	json_t *aff = json_object_get(b, "affected"), *ent;
	const char *origin = jstr(b, "origin"), *log_id = jstr(b, "log_id");
	uint64_t bseq;
	char *canon, hex[65];
	int same;

	canon = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	same = canon != NULL && strcmp(canon, line) == 0;
	free(canon);
	if (!same)
		return err_set(e, ERR_CORRUPT, "break record is not in "
		    "canonical form");
	if (seg_name_seq(st->names[j], &bseq) == -1 ||
	    !json_is_integer(json_object_get(b, "seq")) ||
	    (uint64_t)json_integer_value(json_object_get(b, "seq")) != bseq ||
	    jstr(b, "segment") == NULL ||
	    strcmp(jstr(b, "segment"), st->names[j]) != 0)
		return err_set(e, ERR_CORRUPT, "break record does not name "
		    "its own segment and seq");
	if (!json_is_object(fl) || !json_is_integer(json_object_get(fl,
	    "seq")) || (uint64_t)json_integer_value(json_object_get(fl,
	    "seq")) != r->records)
		return err_set(e, ERR_CORRUPT, "break record starts at "
		    "another seq");
	if (bseq < r->records || bseq - r->records > AUDIT_BREAK_MAX_GAP)
		return err_set(e, ERR_CORRUPT, "break record seq out of "
		    "range");
	if (origin == NULL || log_id == NULL || (r->origin[0] != '\0' &&
	    (strcmp(origin, r->origin) != 0 || strcmp(log_id, r->log_id) !=
	    0)) || strlen(origin) >= sizeof(r->origin) ||
	    strlen(log_id) >= sizeof(r->log_id))
		return err_set(e, ERR_CORRUPT, "break record of another log");
	if (!json_is_array(aff) || json_array_size(aff) != j - i)
		return err_set(e, ERR_CORRUPT, "break record lists other "
		    "segments");
	for (size_t k = i; k < j; k++) {
		ent = json_array_get(aff, k - i);
		if (jstr(ent, "name") == NULL || jstr(ent, "sha256") == NULL ||
		    strcmp(jstr(ent, "name"), st->names[k]) != 0)
			return err_set(e, ERR_CORRUPT, "break record lists "
			    "other segments");
		if (file_sha256(st->dir, st->names[k], hex) == -1 ||
		    strcmp(hex, jstr(ent, "sha256")) != 0)
			return err_set(e, ERR_CORRUPT, "a segment the break "
			    "covers was altered after the break");
	}
	if (break_sig_ok(b, st->o->vkey) == -1)
		return err_set(e, ERR_CORRUPT, "break record signature "
		    "missing or invalid");
	return 0;
}

/*
 * Verification failed in segment i.  If the first break segment at or
 * after i covers that failure, resume there: give the skipped seqs filler
 * leaves, pass over checkpoints inside the break and return the break
 * segment's index.  Otherwise keep the failure (explained) and return -1.
 */
static long
accept_break(struct vstate *st, size_t i, enum audit_verdict saved)
{
	struct audit_verify_result *r = st->r;
	json_t *b = NULL, *fl;
	char *line = NULL;
	struct err e = ERR_INIT;	/* why no break covers it */
	merkle_hash filler, g;
	uint64_t bseq;
	size_t j, len;
	long rc = -1;

	for (j = i; j < st->nnames; j++) {
		json_decref(b);
		free(line);
		b = first_line(st, st->names[j], &line);
		if (b != NULL && jstr(b, "t") != NULL &&
		    strcmp(jstr(b, "t"), "break") == 0)
			break;
	}
	if (j == st->nnames)
		err_set(&e, ERR_CORRUPT, "no break record follows");
	if (j == st->nnames || break_covers(st, b, line, i, j, &e) == -1) {
		len = strlen(r->error);
		snprintf(r->error + len, sizeof(r->error) - len, " (%s%s%s)",
		    err_msg(&e), j < st->nnames ? " in " : "", j < st->nnames ?
		    st->names[j] : "");
		goto out;
	}
	bseq = (uint64_t)json_integer_value(json_object_get(b, "seq"));
	fl = json_object_get(b, "failure");
	r->verdict = saved;
	r->error[0] = '\0';
	r->fail_index = 0;
	r->fail_segment[0] = '\0';
	r->fail_line = 0;
	if (r->origin[0] == '\0') {
		/* Nothing verified: the break starts the chain afresh. */
		snprintf(r->origin, sizeof(r->origin), "%s", jstr(b, "origin"));
		snprintf(r->log_id, sizeof(r->log_id), "%s", jstr(b, "log_id"));
		audit_genesis(r->origin, r->log_id, g);
		merkle_hex(g, st->prev_hex);
	}
	merkle_leaf_hash("", 0, filler);
	while (r->records < bseq) {
		merkle_range_append(&r->range, filler);
		if (st->o->keep_leaves) {
			if (r->records == st->cap_leaves) {
				merkle_hash *nl;

				if ((nl = grow_array(r->leaves,
				    &st->cap_leaves, (size_t)r->records + 1,
				    sizeof(*nl), VERIFY_NO_MAX)) == NULL) {
					fail(st, AUDIT_CANNOT, "out of memory");
					goto out;
				}
				r->leaves = nl;
			}
			memcpy(r->leaves[r->records], filler, MERKLE_HASH_LEN);
		}
		r->records++;
	}
	/* Checkpoints signed inside the break cannot match the new tree. */
	while (st->next_target < st->ntargets &&
	    st->targets[st->next_target].cp.size <= bseq) {
		if (st->targets[st->next_target].kind == T_KNOWN)
			warn(st, "known checkpoint %s (size %llu) lies inside "
			    "the break in %s and was not checked",
			    st->targets[st->next_target].src,
			    (unsigned long long)
			    st->targets[st->next_target].cp.size,
			    st->names[j]);
		st->next_target++;
	}
	/* Replies to commands before the break may be lost in it. */
	r->nunanswered = 0;
	forget_sessions(st);
	st->expect_recovery = 0;
	st->break_pending = 1;
	r->breaks++;
	warn(st, "%s:1 (seq %llu): break recorded by %s at %.27s: \"%s\"; "
	    "seqs %llu..%llu unverifiable", st->names[j],
	    (unsigned long long)bseq, jstr(b, "operator") ? jstr(b,
	    "operator") : "?", jstr(b, "ts") ? jstr(b, "ts") : "?",
	    jstr(b, "reason") ? jstr(b, "reason") : "",
	    (unsigned long long)json_integer_value(json_object_get(fl, "seq")),
	    (unsigned long long)(bseq - 1));
	warn(st, "%s: the break covers: %s", st->names[j],
	    jstr(fl, "reason") ? jstr(fl, "reason") : "?");
	rc = (long)j;
 out:
	json_decref(b);
	free(line);
	return rc;
}

enum audit_verdict
audit_verify_dir(const char *dir, const struct audit_verify_opts *o,
    struct audit_verify_result *r)
{
	struct vstate st;
	struct audit_verify_opts defo;
	enum audit_verdict saved;
	char **names = NULL;
	size_t n = 0;
	uint64_t unsealed;
	long j;

	memset(r, 0, sizeof(*r));
	memset(&st, 0, sizeof(st));
	if (o == NULL) {
		memset(&defo, 0, sizeof(defo));
		defo.want_seq = -1;
		o = &defo;
	}
	st.dir = dir;
	st.o = o;
	st.r = r;
	st.cur_index = -1;
	merkle_range_init(&r->range);

	if (audit_list_segments(dir, &names, &n) == -1) {
		fail(&st, AUDIT_CANNOT, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (n == 0) {
		fail(&st, AUDIT_CANNOT, "%s: no audit segments", dir);
		goto out;
	}
	st.names = names;
	st.nnames = n;
	if (load_targets(&st) == -1 || check_targets(&st) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		st.cur_index = (long)i;
		saved = r->verdict;
		if (verify_segment(&st, names[i], i == n - 1) == 0)
			continue;
		/* Tampering an operator has acknowledged with a break. */
		if (r->verdict != AUDIT_TAMPERED ||
		    (j = accept_break(&st, i, saved)) == -1)
			goto out;
		i = (size_t)j - 1;
	}
	st.cur_index = (long)n;

	/* Checkpoints beyond the end: records were removed. */
	if (st.next_target < st.ntargets) {
		struct target *t = &st.targets[st.ntargets - 1];

		fail(&st, AUDIT_TAMPERED, "%s%s covers %llu records but the "
		    "log has %llu: records were removed or rolled back",
		    t->kind == T_KNOWN ? "ROLLBACK: known checkpoint " :
		    "checkpoint ", t->src, (unsigned long long)t->cp.size,
		    (unsigned long long)r->records);
		goto out;
	}
	for (size_t i = 0; i < st.ntargets; i++)
		if (strcmp(st.targets[i].cp.origin, r->origin) != 0) {
			fail(&st, AUDIT_TAMPERED, "%s: checkpoint of "
			    "another log (%s)", st.targets[i].src,
			    st.targets[i].cp.origin);
			goto out;
		}
	if (st.unknown_v) {
		fail(&st, AUDIT_CANNOT, "unknown record version %s at seq %llu",
		    st.unknown_v_text, (unsigned long long)st.unknown_v_seq);
		goto out;
	}
	unsealed = r->records - r->sealed;
	if (r->latest_note == NULL)
		unsealed = r->records;
	if (unsealed > 0) {
		if (o->require_sealed) {
			fail(&st, AUDIT_TAMPERED, "%llu records after the last "
			    "checkpoint (size %llu) and --require-sealed",
			    (unsigned long long)unsealed,
			    (unsigned long long)r->sealed);
			goto out;
		}
		warn(&st, "unsealed tail: %llu records after the last "
		    "checkpoint (size %llu)", (unsigned long long)unsealed,
		    (unsigned long long)r->sealed);
	}
	if (o->vkey == NULL)
		warn(&st, "no --vkey: checkpoint signatures were not checked");
 out:
	if (list_open_sessions(&st) == -1)
		warn(&st, "out of memory listing open sessions");
	forget_sessions(&st);
	for (size_t i = 0; i < st.ntargets; i++)
		free(st.targets[i].note);
	free(st.targets);
	audit_free_segments(names, n);
	return r->verdict;
}

void
audit_verify_free(struct audit_verify_result *r)
{
	free(r->latest_note);
	free(r->unanswered);
	free(r->open_sessions);
	free(r->leaves);
	free(r->want_line);
	r->latest_note = NULL;
	r->unanswered = NULL;
	r->open_sessions = NULL;
	r->nopen_sessions = 0;
	r->leaves = NULL;
	r->want_line = NULL;
}
