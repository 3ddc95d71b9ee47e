/*
 * test_audit_index.c: the leaf index beside each sealed segment
 * (seg-N.leaves, audit_verify.h; issue #13 item 5).  The writer leaves one
 * for every segment it seals (rotation, shutdown) and none for the open
 * one; its leaves are the segment's lines' leaf hashes; verify compares it
 * and calls a mismatch a warning, never tampering (no signature covers
 * it); an index that does not fit its segment is refused by
 * audit_leaves_read; and nothing the writer sets aside at start stays
 * described by an index.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "err.h"
#include "merkle.h"
#include "suites.h"

#define ORIGIN "eppgw/test"

struct ifx {
	char			 tmp[256];
	char			 dir[300];	/* the log */
	char			 key[300];
	EVP_PKEY		*pkey;
	struct note_verifier	 v;
};

static void
ifx_init(struct ifx *fx)
{
	char tmpl[] = "/tmp/eppgw-index-test.XXXXXX";
	EVP_PKEY_CTX *c;
	FILE *f;

	memset(fx, 0, sizeof(*fx));
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(fx->tmp, sizeof(fx->tmp), "%s", tmpl);
	snprintf(fx->dir, sizeof(fx->dir), "%s/log", tmpl);
	snprintf(fx->key, sizeof(fx->key), "%s/audit.key", tmpl);
	c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	ck_assert_int_eq(EVP_PKEY_keygen_init(c), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(c, &fx->pkey), 1);
	EVP_PKEY_CTX_free(c);
	ck_assert_ptr_nonnull(f = fopen(fx->key, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, fx->pkey, NULL, NULL, 0,
	    NULL, NULL), 1);
	fclose(f);
	ck_assert_int_eq(note_verifier_from_pkey(fx->pkey, NULL, &fx->v), 0);
}

static void
ifx_free(struct ifx *fx)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	(void)!system(cmd);
	EVP_PKEY_free(fx->pkey);
}

static struct audit *
open_log(struct ifx *fx, struct event_base *base, size_t segmax)
{
	struct audit_conf o;
	struct audit *a = NULL;
	struct err e = ERR_INIT;

	memset(&o, 0, sizeof(o));
	o.dir = fx->dir;
	o.signing_key = fx->key;
	o.origin = ORIGIN;
	o.segment_max = segmax;
	if (audit_open(base, &o, NULL, &a, &e) == -1)
		ck_abort_msg("audit_open: %s", err_msg(&e));
	return a;
}

static void
on_durable(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	int *done = arg;

	(void)seq;
	(void)leaf;
	ck_assert_int_eq(status, 0);
	(*done)++;
}

/* n records, each durable before the next is submitted. */
static void
write_records(struct audit *a, struct event_base *base, int n)
{
	int done = 0;

	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(audit_submit(a, "cmd", json_pack("{s:s, s:i, "
		    "s:s}", "sess", "s1", "n", i, "cmd", "domain:update"),
		    on_durable, &done), 0);
		while (done <= i)
			event_base_loop(base, EVLOOP_ONCE);
	}
}

/* A closed log of n records, rotated every segmax bytes. */
static void
make_log(struct ifx *fx, int n, size_t segmax)
{
	struct event_base *base = event_base_new();
	struct audit *a = open_log(fx, base, segmax);

	write_records(a, base, n);
	audit_close(a);
	event_base_free(base);
}

/* verify with the key; the warnings joined into why. */
static enum audit_verdict
verify(struct ifx *fx, char *why, size_t len)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;
	enum audit_verdict v;
	size_t off = 0;

	memset(&o, 0, sizeof(o));
	o.vkey = &fx->v;
	o.want_seq = -1;
	v = audit_verify_dir(fx->dir, &o, &r);
	if (why != NULL) {
		why[0] = '\0';
		off = (size_t)snprintf(why, len, "%s", r.error);
		for (size_t i = 0; i < r.nwarnings && off < len; i++)
			off += (size_t)snprintf(why + off, len - off, " | %s",
			    r.warnings[i]);
	}
	audit_verify_free(&r);
	return v;
}

/* The leaves of the whole log, as verify computes them. */
static merkle_hash *
all_leaves(struct ifx *fx, uint64_t *n)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;
	merkle_hash *l;

	memset(&o, 0, sizeof(o));
	o.vkey = &fx->v;
	o.want_seq = -1;
	o.keep_leaves = 1;
	ck_assert_int_le(audit_verify_dir(fx->dir, &o, &r), AUDIT_WARNINGS);
	l = r.leaves;
	*n = r.records;
	r.leaves = NULL;
	audit_verify_free(&r);
	return l;
}

static uint64_t
seg_first(const char *name)
{
	return strtoull(name + strlen(AUDIT_SEG_PREFIX), NULL, 10);
}

static int64_t
size_of(const char *dir, const char *name)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static void
index_path(struct ifx *fx, const char *seg, char *out, size_t len)
{
	char name[AUDIT_LEAVES_NAMELEN + 1];

	ck_assert_int_eq(audit_leaves_name(seg, name), 0);
	snprintf(out, len, "%s/%s", fx->dir, name);
}

/*
 * Every segment of a closed log has an index whose leaves are exactly
 * its lines' leaf hashes, and the log verifies without a warning.
 */
START_TEST(index_per_sealed_segment)
{
	struct ifx fx;
	struct err e = ERR_INIT;
	char **names, why[2000];
	size_t n;
	uint64_t nall, count, first, total = 0;
	merkle_hash *all, *l;

	ifx_init(&fx);
	make_log(&fx, 60, 2500);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_ge(n, 3);
	all = all_leaves(&fx, &nall);
	for (size_t i = 0; i < n; i++) {
		first = seg_first(names[i]);
		ck_assert_uint_eq(first, total);
		ck_assert_msg(audit_leaves_read(fx.dir, names[i], first,
		    (uint64_t)size_of(fx.dir, names[i]), &l, &count, &e) == 0,
		    "%s: %s", names[i], err_msg(&e));
		ck_assert_mem_eq(l, all + first, (size_t)count * sizeof(*l));
		total += count;
		free(l);
	}
	ck_assert_uint_eq(total, nall);
	ck_assert_msg(verify(&fx, why, sizeof(why)) == AUDIT_VALID, "%s",
	    why);
	free(all);
	audit_free_segments(names, n);
	ifx_free(&fx);
}
END_TEST

/* While the gateway runs, the open segment has no index; the sealed
 * ones have; the last one gets its own at shutdown. */
START_TEST(open_segment_has_none)
{
	struct ifx fx;
	struct event_base *base = event_base_new();
	struct audit *a;
	char **names, path[700];
	size_t n;

	ifx_init(&fx);
	a = open_log(&fx, base, 2500);
	write_records(a, base, 40);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_ge(n, 2);
	audit_checkpoint(a);
	/* The index of the segment sealed last is written by a thread of
	 * its own: wait a moment for it. */
	index_path(&fx, names[n - 2], path, sizeof(path));
	for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
		usleep(10000);
	for (size_t i = 0; i + 1 < n; i++) {
		index_path(&fx, names[i], path, sizeof(path));
		ck_assert_msg(access(path, F_OK) == 0, "%s", path);
	}
	index_path(&fx, names[n - 1], path, sizeof(path));
	ck_assert_msg(access(path, F_OK) != 0, "%s exists", path);
	audit_close(a);
	event_base_free(base);
	ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
	audit_free_segments(names, n);
	ifx_free(&fx);
}
END_TEST

/* Write b to path (replacing it; an index is mode 0440). */
static void
put(const char *path, const void *b, size_t len)
{
	int fd;

	(void)unlink(path);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC,
	    0640), 0);
	ck_assert_int_eq(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static char *
get(const char *path, size_t *len)
{
	struct stat sb;
	char *b;
	int fd;

	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_ptr_nonnull(b = malloc((size_t)sb.st_size + 1));
	ck_assert_int_eq(read(fd, b, (size_t)sb.st_size),
	    (ssize_t)sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return b;
}

/*
 * An index that does not fit is refused by audit_leaves_read (wrong
 * magic, first seq, segment size, length), and one whose leaves differ
 * is a warning of verify (exit 2), never a failure.
 */
START_TEST(bad_index_is_a_warning)
{
	struct ifx fx;
	struct err e = ERR_INIT;
	char **names, path[700], why[2000];
	size_t n, len;
	uint64_t count, first, segsz;
	merkle_hash *l;
	char *orig, *b;

	ifx_init(&fx);
	make_log(&fx, 30, 2500);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_ge(n, 2);
	first = seg_first(names[1]);
	segsz = (uint64_t)size_of(fx.dir, names[1]);
	index_path(&fx, names[1], path, sizeof(path));
	orig = get(path, &len);
	ck_assert_uint_gt(len, AUDIT_LEAVES_HDR);
	ck_assert_int_eq(memcmp(orig, AUDIT_LEAVES_MAGIC,
	    AUDIT_LEAVES_MAGIC_LEN), 0);
	ck_assert_uint_eq((len - AUDIT_LEAVES_HDR) % MERKLE_HASH_LEN, 0);
	b = malloc(len + MERKLE_HASH_LEN);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), 0);
	free(l);
	/* It names another first seq, or a segment of another size. */
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first + 1,
	    segsz, &l, &count, &e), -1);
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first,
	    segsz - 1, &l, &count, &e), -1);
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	/* Wrong magic; one leaf short; one leaf too many. */
	memcpy(b, orig, len);
	b[3] ^= 1;
	put(path, b, len);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), -1);
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "leaf index") != NULL, "%s", why);
	put(path, orig, len - MERKLE_HASH_LEN);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), -1);
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	memcpy(b, orig, len);
	memset(b + len, 0, MERKLE_HASH_LEN);
	put(path, b, len + MERKLE_HASH_LEN);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), -1);
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	/* A flipped byte in a leaf: it reads, verify names the line. */
	memcpy(b, orig, len);
	b[AUDIT_LEAVES_HDR + 2 * MERKLE_HASH_LEN + 5] ^= 0x40;
	put(path, b, len);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), 0);
	free(l);
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "is not the hash of line 3") != NULL, "%s",
	    why);
	/* Put back: valid again.  No index at all is no warning either. */
	put(path, orig, len);
	ck_assert_msg(verify(&fx, why, sizeof(why)) == AUDIT_VALID, "%s",
	    why);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1], first, segsz,
	    &l, &count, &e), 1);
	ck_assert_msg(verify(&fx, why, sizeof(why)) == AUDIT_VALID, "%s",
	    why);
	/* A tampered segment is still tampering, index or not. */
	put(path, orig, len);
	{
		char spath[700], *s;
		size_t slen;

		snprintf(spath, sizeof(spath), "%s/%s", fx.dir, names[1]);
		s = get(spath, &slen);
		*strstr(s, "domain:update") = 'D';
		put(spath, s, slen);
		ck_assert_int_eq(verify(&fx, why, sizeof(why)),
		    AUDIT_TAMPERED);
		free(s);
	}
	free(b);
	free(orig);
	audit_free_segments(names, n);
	ifx_free(&fx);
}
END_TEST

/* The lines of a file: count, and the offset of line k (k < count). */
static size_t
line_offsets(const char *b, size_t len, size_t *off, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < max; i++)
		if (i == 0 || b[i - 1] == '\n')
			off[n++] = i;
	return n;
}

/*
 * A crash left the last segment with a record after its last signature:
 * keep its first three lines (open, checkpoint, a record), put that
 * checkpoint back as the latest and remove the seals.  The index the
 * segment had when it was sealed stays behind, stale.
 */
static void
crash_after_first_checkpoint(struct ifx *fx, const char *segname)
{
	char seg[700], path[700], cmd[800], *b;
	size_t len, off[64], nl;
	json_t *j;

	snprintf(seg, sizeof(seg), "%s/%s", fx->dir, segname);
	b = get(seg, &len);
	nl = line_offsets(b, len, off, 64);
	ck_assert_uint_gt(nl, 3);
	ck_assert(strstr(b + off[1], "\"t\":\"checkpoint\"") != NULL);
	ck_assert_ptr_nonnull(j = json_loadb(b + off[1], off[2] - off[1] - 1,
	    0, NULL));
	snprintf(path, sizeof(path), "%s/%s", fx->dir, AUDIT_CHECKPOINT_FILE);
	put(path, json_string_value(json_object_get(j, "note")),
	    strlen(json_string_value(json_object_get(j, "note"))));
	json_decref(j);
	put(seg, b, off[3]);
	snprintf(cmd, sizeof(cmd), "rm -f '%s/%s'/*.cp", fx->dir,
	    AUDIT_CHECKPOINT_DIR);
	(void)!system(cmd);
	free(b);
}

/*
 * What the writer sets aside at start is never described by an index:
 * the segment it cuts short loses its index, and leftover temporaries of
 * index writes are removed.
 */
START_TEST(set_aside_cut_drops_index)
{
	struct ifx fx;
	struct err e = ERR_INIT;
	struct event_base *base;
	struct audit *a;
	char **names, path[700], tmp[800], why[2000], cut[64];
	size_t n;
	uint64_t count;
	merkle_hash *l;

	ifx_init(&fx);
	make_log(&fx, 5, 0);
	make_log(&fx, 3, 0);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_eq(n, 2);
	snprintf(cut, sizeof(cut), "%s", names[1]);
	audit_free_segments(names, n);
	index_path(&fx, cut, path, sizeof(path));
	ck_assert_int_eq(access(path, F_OK), 0);
	crash_after_first_checkpoint(&fx, cut);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	put(tmp, "junk", 4);
	/* Before the restart: the stale index is a warning, no more. */
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "leaf index") != NULL, "%s", why);

	base = event_base_new();
	a = open_log(&fx, base, 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	write_records(a, base, 3);
	audit_close(a);
	event_base_free(base);

	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "set aside") != NULL, "%s", why);
	ck_assert_msg(strstr(why, "leaf index") == NULL, "%s", why);
	/* The cut segment was never sealed again: no index; the new one
	 * has its own. */
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[2],
	    seg_first(names[2]), (uint64_t)size_of(fx.dir, names[2]), &l,
	    &count, &e), 0);
	free(l);
	audit_free_segments(names, n);
	ifx_free(&fx);
}
END_TEST

/*
 * A segment someone without the key added, correctly chained after the
 * last one (an open record only), with an index planted beside it.  The
 * writer moves it to unauthenticated/ at start and its next segment
 * takes the same name: the planted index must not describe it.
 */
START_TEST(planted_index_under_new_name)
{
	struct ifx fx;
	struct err e = ERR_INIT;
	struct event_base *base;
	struct audit *a;
	char **names, seg[700], fi[700], fake[700], forged[40], why[2000];
	char hex[65], *b, *line;
	size_t n, len, off[256], nl;
	unsigned hl = 0;
	merkle_hash h;
	json_t *open, *last, *rec;
	uint64_t count;
	merkle_hash *l;

	ifx_init(&fx);
	make_log(&fx, 5, 0);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_eq(n, 1);
	snprintf(seg, sizeof(seg), "%s/%s", fx.dir, names[0]);
	b = get(seg, &len);
	nl = line_offsets(b, len, off, 256);
	ck_assert_ptr_nonnull(open = json_loadb(b, off[1] - 1, 0, NULL));
	ck_assert_ptr_nonnull(last = json_loadb(b + off[nl - 1],
	    len - off[nl - 1] - 1, 0, NULL));
	snprintf(forged, sizeof(forged), "%s%020llu%s", AUDIT_SEG_PREFIX,
	    (unsigned long long)nl, AUDIT_SEG_SUFFIX);
	ck_assert_int_eq(EVP_Digest(b, len, h, &hl, EVP_sha256(), NULL), 1);
	merkle_hex(h, hex);
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I}, "
	    "s:i, s:I, s:s}", "t", "open",
	    "origin", json_string_value(json_object_get(open, "origin")),
	    "log_id", json_string_value(json_object_get(open, "log_id")),
	    "mac_key", json_string_value(json_object_get(open, "mac_key")),
	    "software", "forger", "segment", forged, "prev_segment", "name",
	    names[0], "sha256", hex, "last_seq",
	    json_integer_value(json_object_get(last, "seq")), "v", 1, "seq",
	    (json_int_t)nl, "ts", "2026-12-01T12:00:00.000000Z");
	merkle_leaf_hash(b + off[nl - 1], len - off[nl - 1] - 1, h);
	merkle_hex(h, hex);
	json_object_set_new(rec, "prev", json_string(hex));
	line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(fake, sizeof(fake), "%s/%s", fx.dir, forged);
	{
		size_t ll = strlen(line);

		line = realloc(line, ll + 2);
		line[ll] = '\n';
		line[ll + 1] = '\0';
		put(fake, line, ll + 1);
	}
	free(line);
	free(b);
	json_decref(rec);
	json_decref(open);
	json_decref(last);
	audit_free_segments(names, n);
	index_path(&fx, forged, fi, sizeof(fi));
	put(fi, "planted", 7);
	/* Chained correctly: only an unsealed tail before the restart. */
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "unsealed tail: 1 record") != NULL, "%s",
	    why);

	base = event_base_new();
	a = open_log(&fx, base, 0);
	/* The new segment has the forged one's name; the planted index is
	 * gone while it is open. */
	ck_assert_int_eq(access(fake, F_OK), 0);
	ck_assert_int_ne(access(fi, F_OK), 0);
	write_records(a, base, 2);
	audit_close(a);
	event_base_free(base);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[1], forged);
	/* Its index is the one written at its close, and it fits. */
	ck_assert_int_eq(audit_leaves_read(fx.dir, names[1],
	    seg_first(names[1]), (uint64_t)size_of(fx.dir, names[1]), &l,
	    &count, &e), 0);
	free(l);
	audit_free_segments(names, n);
	ck_assert_int_eq(verify(&fx, why, sizeof(why)), AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "set aside") != NULL, "%s", why);
	ck_assert_msg(strstr(why, "leaf index") == NULL, "%s", why);
	ifx_free(&fx);
}
END_TEST

static Suite *
audit_index_suite(void)
{
	Suite *s = suite_create("audit_index");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, index_per_sealed_segment);
	tcase_add_test(tc, open_segment_has_none);
	tcase_add_test(tc, bad_index_is_a_warning);
	tcase_add_test(tc, set_aside_cut_drops_index);
	tcase_add_test(tc, planted_index_under_new_name);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(audit_index_suite)
