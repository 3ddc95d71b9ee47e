/*
 * test_audit.c: the audit writer and verifier on real logs in temporary
 * directories: every listed way of tampering must be caught (exit 1), a
 * torn tail must be recovered, a failed fsync must fail closed.
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

struct fixture {
	char			 dir[256];	/* the log */
	char			 key[300];
	EVP_PKEY		*pkey;
	struct note_verifier	 v;
};

static void
fx_init(struct fixture *fx)
{
	char tmpl[] = "/tmp/eppgw-audit-test.XXXXXX";
	EVP_PKEY_CTX *c;
	FILE *f;
	char *d;

	memset(fx, 0, sizeof(*fx));
	ck_assert_ptr_nonnull(d = mkdtemp(tmpl));
	snprintf(fx->dir, sizeof(fx->dir), "%s/log", d);
	snprintf(fx->key, sizeof(fx->key), "%s/audit.key", d);
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
fx_free(struct fixture *fx)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/..'", fx->dir);
	/* The parent of the log is our mkdtemp directory. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'",
	    (int)(strrchr(fx->dir, '/') - fx->dir), fx->dir);
	(void)!system(cmd);
	EVP_PKEY_free(fx->pkey);
}

struct waiter {
	int		 done, failed;
	uint64_t	 last_seq;
	int		 in_order;
};

static void
on_durable(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct waiter *w = arg;

	(void)leaf;
	if (status == 0) {
		if (w->done > 0 && seq <= w->last_seq)
			w->in_order = 0;
		w->last_seq = seq;
	} else
		w->failed++;
	w->done++;
}

static struct audit *
open_log_cp(struct fixture *fx, struct event_base *base, size_t segmax,
    int (*fsync_fn)(int), unsigned checkpoint_ms)
{
	struct audit_conf o;
	struct audit_env env;
	struct audit *a = NULL;
	struct err e = ERR_INIT;

	memset(&o, 0, sizeof(o));
	memset(&env, 0, sizeof(env));
	o.dir = fx->dir;
	o.signing_key = fx->key;
	o.origin = ORIGIN;
	o.segment_max = segmax;
	env.fsync_fn = fsync_fn;
	o.checkpoint_ms = checkpoint_ms;	/* 0: the default */
	if (audit_open(base, &o, &env, &a, &e) == -1)
		ck_abort_msg("audit_open: %s", err_msg(&e));
	return a;
}

static struct audit *
open_log(struct fixture *fx, struct event_base *base, size_t segmax,
    int (*fsync_fn)(int))
{
	return open_log_cp(fx, base, segmax, fsync_fn, 0);
}

/* Write n cmd/rsp pairs; the loop runs until every callback came. */
static void
write_records(struct audit *a, struct event_base *base, int n,
    struct waiter *w)
{
	int want = w->done;

	for (int i = 0; i < n; i++) {
		json_t *c = json_pack("{s:s, s:s, s:[s], s:[s], s:s, s:s}",
		    "sess", "s1", "clid", "registrar1", "objects",
		    i % 3 ? "open.example" : "locked.example", "classes", "ns",
		    "decision", i % 3 ? "allow" : "approval_required", "cmd",
		    "domain:update");

		ck_assert_int_eq(audit_submit(a, "cmd", c, on_durable, w), 0);
		want++;
		while (w->done < want && !audit_failed(a))
			event_base_loop(base, EVLOOP_ONCE);
		if (audit_failed(a))
			return;
		ck_assert_int_eq(audit_submit(a, "rsp", json_pack("{s:I, s:i, "
		    "s:s}", "req", (json_int_t)w->last_seq, "code", 1000, "msg",
		    "Command completed \"successfully\""), on_durable, w), 0);
		want++;
		/* One record a batch, each with its checkpoint: the same
		 * records make the same log layout every time. */
		while (w->done < want && !audit_failed(a))
			event_base_loop(base, EVLOOP_ONCE);
	}
	while (w->done < want && !audit_failed(a))
		event_base_loop(base, EVLOOP_ONCE);
}

/* A closed log of about n*2 records, rotated every segmax bytes. */
static void
make_log(struct fixture *fx, int n, size_t segmax)
{
	struct event_base *base = event_base_new();
	struct waiter w = { 0, 0, 0, 1 };
	struct audit *a = open_log(fx, base, segmax, NULL);

	write_records(a, base, n, &w);
	ck_assert_int_eq(w.failed, 0);
	ck_assert_int_eq(w.in_order, 1);
	audit_close(a);
	event_base_free(base);
}

static enum audit_verdict
verify(struct fixture *fx, const char *known, int sealed, char *why,
    size_t len)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;
	enum audit_verdict v;

	memset(&o, 0, sizeof(o));
	o.vkey = &fx->v;
	o.want_seq = -1;
	o.require_sealed = sealed;
	o.known = known ? &known : NULL;
	o.nknown = known ? 1 : 0;
	v = audit_verify_dir(fx->dir, &o, &r);
	if (why != NULL)
		snprintf(why, len, "%s", r.error[0] ? r.error :
		    r.nwarnings ? r.warnings[0] : "");
	audit_verify_free(&r);
	return v;
}

static void
path_of(struct fixture *fx, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", fx->dir, name);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b[n] = '\0';
	*len = (size_t)n;
	return b;
}

static void
spew(const char *path, const char *b, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	fclose(f);
}

/* The name of the i-th segment (i < 0 counts from the end). */
static void
segment(struct fixture *fx, int i, char *out, size_t len)
{
	char **names;
	size_t n;

	ck_assert_int_eq(audit_list_segments(fx->dir, &names, &n), 0);
	ck_assert_uint_gt(n, 0);
	if (i < 0)
		i += (int)n;
	ck_assert_int_lt(i, (int)n);
	path_of(fx, names[i], out, len);
	audit_free_segments(names, n);
}

/* Offsets of the lines of b. */
static size_t
lines(const char *b, size_t len, size_t *off, size_t max)
{
	size_t n = 0;

	off[n++] = 0;
	for (size_t i = 0; i < len && n < max; i++)
		if (b[i] == '\n' && i + 1 < len)
			off[n++] = i + 1;
	return n;
}

#define EXPECT(fx, known, sealed, want) do {				\
	char why_[800];							\
	enum audit_verdict v_ = verify(fx, known, sealed, why_,		\
	    sizeof(why_));						\
	ck_assert_msg(v_ == (want), "verdict %d, want %d: %s", v_,	\
	    want, why_);						\
} while (0)

/*
 * The frame MAC: stable for one key (a reviewer with the key can tie a
 * record to bytes), another for another key, and no plain hash (which
 * would let anyone with the log test password guesses against a login).
 */
START_TEST(frame_mac_is_keyed)
{
	struct fixture fx, other;
	struct event_base *base = event_base_new();
	struct audit *a;
	static const char frame[] = "<epp><command><login><pw>hunter2</pw>";
	char m1[65], m2[65], m3[65], plain[65], seg[512], *b;
	unsigned char md[32];
	unsigned n = 0;
	size_t len;

	fx_init(&fx);
	fx_init(&other);
	a = open_log(&fx, base, 0, NULL);
	ck_assert_int_eq(audit_frame_mac(a, (const uint8_t *)frame,
	    strlen(frame), m1), 0);
	audit_close(a);
	a = open_log(&fx, base, 0, NULL);
	ck_assert_int_eq(audit_frame_mac(a, (const uint8_t *)frame,
	    strlen(frame), m2), 0);
	audit_close(a);
	a = open_log(&other, base, 0, NULL);
	ck_assert_int_eq(audit_frame_mac(a, (const uint8_t *)frame,
	    strlen(frame), m3), 0);
	audit_close(a);
	ck_assert_str_eq(m1, m2);
	ck_assert_str_ne(m1, m3);
	ck_assert_int_eq(EVP_Digest(frame, strlen(frame), md, &n, EVP_sha256(),
	    NULL), 1);
	for (unsigned i = 0; i < n; i++)
		snprintf(plain + 2 * i, 3, "%02x", md[i]);
	ck_assert_str_ne(m1, plain);
	/* Each segment names the key by an id that reveals nothing of it. */
	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	ck_assert(strstr(b, "\"mac_key\":\"") != NULL);
	free(b);
	fx_free(&other);
	fx_free(&fx);
	event_base_free(base);
}
END_TEST

START_TEST(write_verify_reopen)
{
	struct fixture fx;
	struct audit_verify_result r;
	struct audit_verify_opts o;
	char seg[512], *b;
	size_t len;
	merkle_hash leaf;

	fx_init(&fx);
	make_log(&fx, 20, 0);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	/* Without a key the signatures are unchecked: a warning. */
	memset(&o, 0, sizeof(o));
	o.want_seq = 3;
	o.keep_leaves = 1;
	ck_assert_int_eq(audit_verify_dir(fx.dir, &o, &r), AUDIT_WARNINGS);
	/* open, checkpoint, 40 records each followed by the checkpoint of
	 * its batch, close */
	ck_assert_uint_eq(r.checkpoints, 41);
	ck_assert_uint_eq(r.records, 83);
	ck_assert_uint_eq(r.sealed, 83);
	ck_assert_uint_eq(r.nunanswered, 0);
	merkle_leaf_hash(r.want_line, r.want_len, leaf);
	ck_assert_mem_eq(leaf, r.leaves[3], 32);
	ck_assert(strstr(r.want_line, "\"seq\":3,") != NULL);
	audit_verify_free(&r);

	/* The line layout of the contract. */
	segment(&fx, 0, seg, sizeof(seg));
	ck_assert(strstr(seg, "seg-00000000000000000000.jsonl") != NULL);
	b = slurp(seg, &len);
	ck_assert(strncmp(b, "{\"log_id\":\"", 11) == 0);
	ck_assert(strstr(b, "\"t\":\"cmd\",\"ts\":\"20") != NULL);
	ck_assert(strstr(b, "\"prev\":\"") != NULL);
	free(b);

	/* Reopen after a clean close: a new segment, no recovery. */
	make_log(&fx, 5, 0);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	segment(&fx, 1, seg, sizeof(seg));
	ck_assert(strstr(seg, "seg-00000000000000000083.jsonl") != NULL);
	fx_free(&fx);
}
END_TEST

START_TEST(rotation_and_proofs)
{
	struct fixture fx;
	struct audit_verify_result r;
	struct audit_verify_opts o;
	struct checkpoint cp;
	merkle_hash proof[MERKLE_MAX_PROOF], leaf;
	size_t plen;
	struct err e = ERR_INIT;
	char seg[512];

	fx_init(&fx);
	make_log(&fx, 40, 3000);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	memset(&o, 0, sizeof(o));
	o.vkey = &fx.v;
	o.keep_leaves = 1;
	o.want_seq = 17;
	ck_assert_int_eq(audit_verify_dir(fx.dir, &o, &r), AUDIT_VALID);
	ck_assert_uint_gt(r.segments, 3);
	segment(&fx, 2, seg, sizeof(seg));
	ck_assert_int_eq(checkpoint_open(r.latest_note, strlen(r.latest_note),
	    &fx.v, &cp, &e), CHECKPOINT_OK);
	ck_assert_uint_eq(cp.size, r.records);
	ck_assert_int_eq(merkle_inclusion_proof(r.leaves, cp.size, 17, proof,
	    &plen), 0);
	merkle_leaf_hash(r.want_line, r.want_len, leaf);
	ck_assert_int_eq(merkle_inclusion_verify(17, cp.size, leaf, proof,
	    plen, cp.root), 0);
	audit_verify_free(&r);
	fx_free(&fx);
}
END_TEST

/*
 * Flip every bit of the first and last segments and the checkpoint file of
 * a small closed (sealed) log: each one is
 * INVALID (exit 1), never "cannot verify": everything in it is covered by
 * a trusted signature, so no flip may steer the verdict (a version digit
 * included).
 */
START_TEST(single_bit_flips)
{
	struct fixture fx;
	char path[512], **names;
	const char *files[8];
	char fpaths[8][512];
	size_t n, nf = 0, total = 0;
	int fd;
	enum audit_verdict v;

	fx_init(&fx);
	/* Two commands: with a checkpoint record after each record that is
	 * already three segments, and every flip costs a full verify. */
	make_log(&fx, 2, 1400);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_ge(n, 2);
	/* The first (sealed) segment and the last, which holds the close
	 * record the final seal covers, and the checkpoint file. */
	for (size_t i = 0; i < n && nf < 7; i += n > 1 ? n - 1 : 1) {
		path_of(&fx, names[i], fpaths[nf], sizeof(fpaths[0]));
		files[nf] = fpaths[nf];
		nf++;
	}
	audit_free_segments(names, n);
	path_of(&fx, AUDIT_CHECKPOINT_FILE, fpaths[nf], sizeof(fpaths[0]));
	files[nf] = fpaths[nf];
	nf++;
	for (size_t f = 0; f < nf; f++) {
		size_t len;
		char *b = slurp(files[f], &len);

		snprintf(path, sizeof(path), "%s", files[f]);
		for (size_t i = 0; i < len; i++)
			for (int bit = 0; bit < 8; bit++) {
				char c = (char)(b[i] ^ (1 << bit));

				fd = open(path, O_WRONLY);
				ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)i),
				    1);
				v = verify(&fx, NULL, 0, NULL, 0);
				ck_assert_int_eq(pwrite(fd, b + i, 1,
				    (off_t)i), 1);
				close(fd);
				ck_assert_msg(v == AUDIT_TAMPERED,
				    "%s byte %zu bit %d: verdict %d", path, i,
				    bit, v);
				total++;
			}
		free(b);
	}
	ck_assert_uint_gt(total, 8000);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	fx_free(&fx);
}
END_TEST

/* Delete, duplicate and reorder lines in every segment position. */
START_TEST(delete_duplicate_reorder)
{
	struct fixture fx;
	char seg[512], *b, *t;
	size_t len, off[256], nl, ll[3];

	fx_init(&fx);
	make_log(&fx, 10, 0);
	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	nl = lines(b, len, off, 256);
	ck_assert_uint_gt(nl, 10);
	t = malloc(2 * len);
	for (size_t i = 0; i < nl; i++) {
		size_t end = i + 1 < nl ? off[i + 1] : len;

		ll[0] = end - off[i];
		/* delete line i */
		memcpy(t, b, off[i]);
		memcpy(t + off[i], b + end, len - end);
		spew(seg, t, len - ll[0]);
		EXPECT(&fx, NULL, 0, AUDIT_TAMPERED);
		/* duplicate line i */
		memcpy(t, b, end);
		memcpy(t + end, b + off[i], len - off[i]);
		spew(seg, t, len + ll[0]);
		EXPECT(&fx, NULL, 0, AUDIT_TAMPERED);
		/* swap lines i and i+1 */
		if (i + 1 < nl) {
			size_t end2 = i + 2 < nl ? off[i + 2] : len;

			memcpy(t, b, off[i]);
			memcpy(t + off[i], b + end, end2 - end);
			memcpy(t + off[i] + (end2 - end), b + off[i],
			    end - off[i]);
			memcpy(t + end2, b + end2, len - end2);
			spew(seg, t, len);
			EXPECT(&fx, NULL, 0, AUDIT_TAMPERED);
		}
	}
	spew(seg, b, len);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	free(t);
	free(b);
	fx_free(&fx);
}
END_TEST

/*
 * Forge one record and recompute every later prev (and the later open
 * records' segment hashes): the chain passes, the checkpoints do not.
 */
START_TEST(forge_and_rechain)
{
	struct fixture fx;
	char seg[512], *b, hex[65], why[800];
	size_t len, off[256], nl;
	merkle_hash leaf;
	json_t *j;
	json_error_t je;
	FILE *f;
	enum audit_verdict v;

	fx_init(&fx);
	make_log(&fx, 10, 0);
	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	nl = lines(b, len, off, 256);
	f = fopen(seg, "w");
	for (size_t i = 0; i < nl; i++) {
		size_t end = i + 1 < nl ? off[i + 1] : len;
		char *s;

		j = json_loadb(b + off[i], end - off[i] - 1, 0, &je);
		ck_assert_ptr_nonnull(j);
		if (i == 5)
			json_object_set_new(j, "decision",
			    json_string("allow"));
		if (i > 5)
			json_object_set_new(j, "prev", json_string(hex));
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		merkle_leaf_hash(s, strlen(s), leaf);
		merkle_hex(leaf, hex);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(j);
	}
	fclose(f);
	v = verify(&fx, NULL, 0, why, sizeof(why));
	ck_assert_int_eq(v, AUDIT_TAMPERED);
	ck_assert_msg(strstr(why, "checkpoint") != NULL, "%s", why);
	free(b);
	fx_free(&fx);
}
END_TEST

/*
 * Cut the last segment back to its first checkpoint record and put that
 * checkpoint back as the latest: a rollback only a reviewer who holds the
 * newer checkpoint (or insists on a sealed log) can see.
 */
static void
rollback_to_first_checkpoint(struct fixture *fx, const char *partial)
{
	char seg[512], path[512], *b, cmd[700];
	size_t len, off[256], nl;
	json_t *j;
	json_error_t je;

	segment(fx, -1, seg, sizeof(seg));
	b = slurp(seg, &len);
	nl = lines(b, len, off, 256);
	ck_assert_uint_gt(nl, 3);
	ck_assert(strstr(b + off[1], "\"t\":\"checkpoint\"") != NULL);
	j = json_loadb(b + off[1], off[2] - off[1] - 1, 0, &je);
	ck_assert_ptr_nonnull(j);
	path_of(fx, AUDIT_CHECKPOINT_FILE, path, sizeof(path));
	spew(path, json_string_value(json_object_get(j, "note")),
	    strlen(json_string_value(json_object_get(j, "note"))));
	json_decref(j);
	/* Keep seg lines 0..2 (open, checkpoint, one more record). */
	memcpy(b + off[3], partial, strlen(partial));
	spew(seg, b, off[3] + strlen(partial));
	snprintf(cmd, sizeof(cmd), "rm -f '%s/%s'/*.cp", fx->dir,
	    AUDIT_CHECKPOINT_DIR);
	(void)!system(cmd);
	free(b);
}

START_TEST(truncate_and_replay)
{
	struct fixture fx;
	char path[512], known[512], *b;
	size_t len;

	fx_init(&fx);
	make_log(&fx, 10, 0);
	make_log(&fx, 10, 0);
	path_of(&fx, AUDIT_CHECKPOINT_FILE, path, sizeof(path));
	b = slurp(path, &len);
	snprintf(known, sizeof(known), "%s.known", fx.dir);
	spew(known, b, len);
	free(b);
	EXPECT(&fx, known, 1, AUDIT_VALID);

	rollback_to_first_checkpoint(&fx, "");
	/* Truncated after the last checkpoint: only unsealed. */
	EXPECT(&fx, NULL, 0, AUDIT_WARNINGS);
	EXPECT(&fx, NULL, 1, AUDIT_TAMPERED);
	/* The reviewer's checkpoint exposes the rollback. */
	EXPECT(&fx, known, 0, AUDIT_TAMPERED);
	fx_free(&fx);
}
END_TEST

START_TEST(fork_and_forged_checkpoints)
{
	struct fixture fx, other;
	struct checkpoint cp;
	char path[512], known[512], *note;

	fx_init(&fx);
	fx_init(&other);
	make_log(&fx, 5, 0);
	/* A second root for a size the log has: a fork. */
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), ORIGIN);
	cp.size = 4;
	memset(cp.root, 0x42, 32);
	note = checkpoint_sign(fx.pkey, ORIGIN, &cp);
	snprintf(known, sizeof(known), "%s.fork", fx.dir);
	spew(known, note, strlen(note));
	free(note);
	EXPECT(&fx, known, 0, AUDIT_TAMPERED);

	/* The latest checkpoint signed by another key: untrusted. */
	path_of(&fx, AUDIT_CHECKPOINT_FILE, path, sizeof(path));
	cp.size = 3;
	note = checkpoint_sign(other.pkey, ORIGIN, &cp);
	spew(path, note, strlen(note));
	free(note);
	EXPECT(&fx, NULL, 0, AUDIT_TAMPERED);
	fx_free(&fx);
	fx_free(&other);
}
END_TEST

/*
 * A known checkpoint the reviewer brings that does not belong to this log
 * (another key, another origin) is a finding: INVALID (exit 1), not
 * "cannot verify" (#13 item 3).
 */
START_TEST(foreign_known_checkpoints)
{
	struct fixture fx, other;
	struct checkpoint cp;
	char known[512], *note;

	fx_init(&fx);
	fx_init(&other);
	make_log(&fx, 5, 0);
	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), ORIGIN);
	cp.size = 3;
	memset(cp.root, 0x42, 32);
	snprintf(known, sizeof(known), "%s.foreign", fx.dir);
	note = checkpoint_sign(other.pkey, ORIGIN, &cp);
	spew(known, note, strlen(note));
	free(note);
	EXPECT(&fx, known, 0, AUDIT_TAMPERED);
	snprintf(cp.origin, sizeof(cp.origin), "eppgw/elsewhere");
	note = checkpoint_sign(fx.pkey, "eppgw/elsewhere", &cp);
	spew(known, note, strlen(note));
	free(note);
	EXPECT(&fx, known, 0, AUDIT_TAMPERED);
	fx_free(&fx);
	fx_free(&other);
}
END_TEST

START_TEST(splice_from_another_log)
{
	struct fixture a, b;
	char sa[512], sb[512], *buf;
	size_t len;

	fx_init(&a);
	fx_init(&b);
	/* Same key for both: only the chain tells them apart. */
	ck_assert_int_eq(rename(b.key, b.key) , 0);
	snprintf(b.key, sizeof(b.key), "%s", a.key);
	b.v = a.v;
	make_log(&a, 20, 2500);
	make_log(&b, 20, 2500);
	segment(&a, 1, sa, sizeof(sa));
	segment(&b, 1, sb, sizeof(sb));
	ck_assert_str_eq(strrchr(sa, '/'), strrchr(sb, '/'));
	buf = slurp(sb, &len);
	spew(sa, buf, len);
	free(buf);
	EXPECT(&a, NULL, 0, AUDIT_TAMPERED);
	/* A missing segment. */
	segment(&b, 1, sb, sizeof(sb));
	ck_assert_int_eq(unlink(sb), 0);
	EXPECT(&b, NULL, 0, AUDIT_TAMPERED);
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* A torn tail is recovered: the gateway starts and says what was lost. */
/*
 * The open segment is zero-filled ahead of its data (so that fdatasync
 * writes no metadata); the zeros are no content.  A crash leaves them: the
 * log still verifies with nothing torn, and a writer that resumes cuts
 * them without calling them a tail to set aside.  A clean close cuts
 * every segment to its data.
 */
START_TEST(preallocated_zeros)
{
	struct fixture fx, cx;
	struct event_base *base = event_base_new();
	struct waiter w = { 0, 0, 0, 1 };
	struct audit *a;
	struct audit_verify_result r;
	struct audit_verify_opts o;
	char seg[512], cseg[512], cmd[1200], *b;
	struct stat sb;
	size_t len;

	fx_init(&fx);
	a = open_log(&fx, base, 0, NULL);
	write_records(a, base, 5, &w);
	segment(&fx, -1, seg, sizeof(seg));
	b = slurp(seg, &len);
	ck_assert_uint_gt(len, audit_content_len(b, len));
	ck_assert_ptr_null(memchr(b, '\0', audit_content_len(b, len)));
	free(b);
	/* A crash now: a copy of the log as the disk holds it. */
	memcpy(&cx, &fx, sizeof(cx));
	ck_assert_int_lt(snprintf(cx.dir, sizeof(cx.dir), "%.240s.crash",
	    fx.dir), (int)sizeof(cx.dir));
	snprintf(cmd, sizeof(cmd), "cp -a %s %s", fx.dir, cx.dir);
	ck_assert_int_eq(system(cmd), 0);
	audit_close(a);
	ck_assert_int_eq(stat(seg, &sb), 0);
	b = slurp(seg, &len);
	ck_assert_uint_eq(audit_content_len(b, len), len);	/* cut */
	free(b);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);

	memset(&o, 0, sizeof(o));
	o.vkey = &cx.v;
	o.want_seq = -1;
	ck_assert_int_eq(audit_verify_dir(cx.dir, &o, &r), AUDIT_WARNINGS);
	ck_assert_int_eq(r.torn, 0);
	ck_assert_uint_eq(r.torn_bytes, 0);
	audit_verify_free(&r);
	a = open_log(&cx, base, 0, NULL);
	write_records(a, base, 1, &w);
	audit_close(a);
	segment(&cx, 0, cseg, sizeof(cseg));
	b = slurp(cseg, &len);
	ck_assert_uint_eq(audit_content_len(b, len), len);
	free(b);
	segment(&cx, -1, cseg, sizeof(cseg));
	b = slurp(cseg, &len);
	ck_assert_msg(strstr(b, "\"t\":\"recovery\"") != NULL &&
	    strstr(b, "\"torn_bytes\":0,") != NULL &&
	    strstr(b, "\"set_aside\"") == NULL, "%s", b);
	free(b);
	ck_assert_int_eq(audit_verify_dir(cx.dir, &o, &r), AUDIT_WARNINGS);
	ck_assert_uint_eq(r.recoveries, 1);
	ck_assert_uint_eq(r.set_aside_records, 0);
	audit_verify_free(&r);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cx.dir);
	ck_assert_int_eq(system(cmd), 0);
	event_base_free(base);
	fx_free(&fx);
}
END_TEST

START_TEST(torn_tail_recovery)
{
	struct fixture fx;
	struct event_base *base;
	struct audit *a;
	struct audit_verify_result r;
	struct audit_verify_opts o;
	struct waiter w = { 0, 0, 0, 1 };
	char seg[512], *b, why[800];
	size_t len;

	fx_init(&fx);
	make_log(&fx, 10, 0);
	make_log(&fx, 3, 0);
	/* seg 2 keeps open, checkpoint and an unanswered cmd. */
	rollback_to_first_checkpoint(&fx, "{\"prev\":\"00");
	EXPECT(&fx, NULL, 0, AUDIT_WARNINGS);

	base = event_base_new();
	a = open_log(&fx, base, 0, NULL);
	write_records(a, base, 2, &w);
	audit_close(a);
	event_base_free(base);
	ck_assert_int_eq(verify(&fx, NULL, 1, why, sizeof(why)),
	    AUDIT_WARNINGS);
	ck_assert_msg(strstr(why, "set aside") != NULL, "%s", why);

	memset(&o, 0, sizeof(o));
	o.vkey = &fx.v;
	o.want_seq = -1;
	ck_assert_int_eq(audit_verify_dir(fx.dir, &o, &r), AUDIT_WARNINGS);
	ck_assert_uint_eq(r.recoveries, 1);
	/* The cmd after the checkpoint (never acknowledged: no signature
	 * covers it) and the 11 torn bytes: set aside, not signed over. */
	ck_assert_uint_eq(r.set_aside_records, 1);
	ck_assert_uint_gt(r.set_aside_bytes, 11);
	audit_verify_free(&r);
	segment(&fx, -1, seg, sizeof(seg));
	b = slurp(seg, &len);
	ck_assert_msg(strstr(b, "\"t\":\"recovery\"") != NULL &&
	    strstr(b, "\"torn_bytes\":0,") != NULL &&
	    strstr(b, "\"set_aside\":{") != NULL &&
	    strstr(b, "\"unanswered\":[") != NULL &&
	    strstr(b, "\"open_sessions\":[") != NULL, "%s", b);
	free(b);

	/* The recovery record must describe the torn bytes exactly. */
	segment(&fx, -2, seg, sizeof(seg));
	b = slurp(seg, &len);
	b[len - 1] ^= 1;
	spew(seg, b, len);
	EXPECT(&fx, NULL, 0, AUDIT_TAMPERED);
	free(b);
	fx_free(&fx);
}
END_TEST

/*
 * A reply submitted before its command's record is written (the gateway
 * does not wait for a read-only command's record) still names that
 * command's seq; a dropped key or one never kept gives req null; nothing
 * is held once every key is used.
 */
START_TEST(replies_name_their_commands)
{
	struct fixture fx;
	struct event_base *base = event_base_new();
	struct waiter w = { 0, 0, 0, 1 };
	struct audit *a;
	char seg[512], *b, *line, *save, want[64];
	size_t len;
	uint64_t cmd_seq[3];
	int nrsp = 0;

	fx_init(&fx);
	a = open_log(&fx, base, 0, NULL);
	/* Two sessions interleaved, all submitted before any is written. */
	ck_assert_int_eq(audit_submit_ref(a, "cmd", json_pack("{s:i, s:s}",
	    "sess", 1, "cmd", "domain:info"), AUDIT_REF_KEEP, "c",
	    on_durable, &w), 0);
	ck_assert_int_eq(audit_submit_ref(a, "cmd", json_pack("{s:i, s:s}",
	    "sess", 2, "cmd", "domain:check"), AUDIT_REF_KEEP, "c",
	    on_durable, &w), 0);
	ck_assert_int_eq(audit_submit_ref(a, "rsp", json_pack("{s:i, s:i}",
	    "sess", 2, "code", 1000), AUDIT_REF_REQ, "c", on_durable, &w),
	    0);
	ck_assert_int_eq(audit_submit_ref(a, "rsp", json_pack("{s:i, s:i}",
	    "sess", 1, "code", 1000), AUDIT_REF_REQ, "c", on_durable, &w),
	    0);
	/* A session that ends without its reply, and one never kept. */
	ck_assert_int_eq(audit_submit_ref(a, "cmd", json_pack("{s:i, s:s}",
	    "sess", 3, "cmd", "domain:info"), AUDIT_REF_KEEP, "c",
	    on_durable, &w), 0);
	ck_assert_int_eq(audit_submit_ref(a, "session", json_pack("{s:i, s:s}",
	    "sess", 3, "event", "close"), AUDIT_REF_DROP, "c", on_durable,
	    &w), 0);
	ck_assert_int_eq(audit_submit_ref(a, "rsp", json_pack("{s:i, s:i}",
	    "sess", 3, "code", 2400), AUDIT_REF_REQ, "c", on_durable, &w),
	    0);
	ck_assert_int_eq(audit_submit_ref(a, "cmd", json_pack("{s:i}",
	    "sess", 4), AUDIT_REF_REQ, NULL, on_durable, &w), -1);
	while (w.done < 7)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(w.failed, 0);
	ck_assert_uint_eq(audit_refs_held(a), 0);
	audit_close(a);
	event_base_free(base);

	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	for (line = strtok_r(b, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *q = strstr(line, "\"seq\":");
		uint64_t seq = q ? strtoull(q + 6, NULL, 10) : 0;

		if (strstr(line, "\"t\":\"cmd\"") != NULL) {
			int sess = (int)strtol(strstr(line, "\"sess\":") + 7,
			    NULL, 10);

			cmd_seq[sess - 1] = seq;
		} else if (strstr(line, "\"t\":\"rsp\"") != NULL) {
			int sess = (int)strtol(strstr(line, "\"sess\":") + 7,
			    NULL, 10);

			if (sess == 3)
				snprintf(want, sizeof(want), "\"req\":null");
			else
				snprintf(want, sizeof(want), "\"req\":%llu,",
				    (unsigned long long)cmd_seq[sess - 1]);
			ck_assert_msg(strstr(line, want) != NULL, "%s: %s",
			    want, line);
			nrsp++;
		}
	}
	ck_assert_int_eq(nrsp, 3);
	free(b);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	fx_free(&fx);
}
END_TEST

/*
 * The writer splices its members (prev, req, seq, t, ts, v) into the
 * submitter's serialised fields where their keys sort: every line must
 * stay one key-sorted object with all of them, whatever keys surround
 * them, and the log verify.  What is not canonical, or names a member the
 * writer writes, is refused before it is queued.
 */
START_TEST(spliced_members_sorted)
{
	static const char *const keys[] = { "a", "pa", "prev0", "pz", "q",
	    "r", "req0", "s", "seq0", "sess", "t0", "tr", "tz", "u", "v0",
	    "w", "xml" };
	static const char *const bad[] = { "{\"a\": 1}", "{\"b\":1,\"a\":2}",
	    "{\"a\":1,\"a\":2}", "{\"a\":01}", "{\"a\":\"\\u0000\"}",
	    "{\"seq\":1}", "{\"prev\":\"x\"}", "{\"t\":\"cmd\"}",
	    "{\"ts\":1}", "{\"v\":2}", "{\"a\":1}x", "[1]", "{\"a\":1.5}" };
	struct fixture fx;
	struct event_base *base = event_base_new();
	struct waiter w = { 0, 0, 0, 1 };
	struct audit *a;
	char seg[512], *b, *line, *save, *body;
	size_t len, nlines = 0, want = 0;
	json_t *f, *j;

	fx_init(&fx);
	a = open_log(&fx, base, 0, NULL);
	/* Every subset of the keys around the writer's, by a bit mask. */
	for (unsigned mask = 0; mask < 1u << 6; mask++) {
		f = json_object();
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if ((mask >> (k % 6)) & 1 || k == mask % 17)
				json_object_set_new(f, keys[k],
				    json_string("\"x\u00e9\n"));
		/* A command, then its reply: same sess. */
		json_object_set_new(f, "sess", json_integer(mask / 2));
		ck_assert_int_eq(audit_submit_ref(a, mask % 2 ? "rsp" : "cmd",
		    f, mask % 2 ? AUDIT_REF_REQ : AUDIT_REF_KEEP, "c",
		    on_durable, &w), 0);
		want++;
	}
	ck_assert_int_eq(audit_submit(a, "cmd", json_object(), on_durable,
	    &w), 0);
	want++;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_ptr_nonnull(body = strdup(bad[k]));
		ck_assert_msg(audit_submit_body(a, "cmd", body, strlen(body),
		    AUDIT_REF_NONE, NULL, on_durable, &w) == -1, "%s", bad[k]);
	}
	ck_assert_ptr_nonnull(body = strdup("{\"req\":1}"));
	ck_assert_int_eq(audit_submit_body(a, "rsp", body, strlen(body),
	    AUDIT_REF_REQ, "c", on_durable, &w), -1);
	ck_assert_ptr_nonnull(body = strdup("{\"sess\":1}"));
	ck_assert_int_eq(audit_submit_body(a, "Cmd", body, strlen(body),
	    AUDIT_REF_NONE, NULL, on_durable, &w), -1);
	while (w.done < (int)want)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(w.failed, 0);
	audit_close(a);
	event_base_free(base);

	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	for (line = strtok_r(b, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct audit_line al;

		/* Compact and key-sorted, or the verifier refuses it. */
		ck_assert_msg(audit_scan_line(line, strlen(line), &al) == 0,
		    "%s", line);
		ck_assert_ptr_nonnull(j = json_loads(line, JSON_REJECT_DUPLICATES,
		    NULL));
		ck_assert_ptr_nonnull(json_object_get(j, "prev"));
		ck_assert_ptr_nonnull(json_object_get(j, "ts"));
		ck_assert_int_eq(json_integer_value(json_object_get(j, "v")), 1);
		if (strcmp(json_string_value(json_object_get(j, "t")), "rsp") ==
		    0) {
			ck_assert_msg(json_is_integer(json_object_get(j,
			    "req")), "%s", line);
		}
		if (json_object_get(j, "a") != NULL)
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "a")), "\"x\u00e9\n");
		json_decref(j);
		nlines++;
	}
	ck_assert_uint_ge(nlines, want);
	free(b);
	EXPECT(&fx, NULL, 1, AUDIT_VALID);
	fx_free(&fx);
}
END_TEST

/*
 * Once a burst ends, the writer brings the checkpoint file up to the log
 * within checkpoint_ms and then sleeps: it used to spin on the clock until
 * the next record whenever the file was behind (an idle gateway burnt a
 * core).
 */
START_TEST(idle_writer_sleeps)
{
	struct fixture fx;
	struct event_base *base = event_base_new();
	struct waiter w = { 0, 0, 0, 1 };
	struct audit *a;
	struct timespec c0, c1;
	char path[600], seg[512], want[32], *note, *b;
	size_t len;
	double cpu_ms;
	int lines = 0;

	fx_init(&fx);
	a = open_log_cp(&fx, base, 0, NULL, 50);
	/* Within checkpoint_ms of the file's last replacement: the file
	 * falls behind the log. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(audit_submit(a, "cmd", json_pack("{s:i}",
		    "sess", 1), on_durable, &w), 0);
		while (w.done < i + 1)
			event_base_loop(base, EVLOOP_ONCE);
	}
	usleep(200 * 1000);	/* the file catches up */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	usleep(300 * 1000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	cpu_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
	ck_assert_msg(cpu_ms < 100, "%.0f ms of CPU in 300 ms idle", cpu_ms);
	/* The file covers every line of the log. */
	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	for (size_t i = 0; i < len; i++)
		lines += b[i] == '\n';
	free(b);
	/* A checkpoint covers the lines before its own. */
	snprintf(want, sizeof(want), "\n%d\n", lines - 1);
	path_of(&fx, "checkpoint", path, sizeof(path));
	note = slurp(path, &len);
	ck_assert_msg(strstr(note, want) != NULL, "%d lines: %s", lines, note);
	free(note);
	audit_close(a);
	event_base_free(base);
	fx_free(&fx);
}
END_TEST

/* Tampering before the tail: the writer refuses to start. */
START_TEST(refuse_to_start)
{
	struct fixture fx;
	struct audit_conf o;
	struct audit *a = NULL;
	struct event_base *base;
	struct err e = ERR_INIT;
	char seg[512], *b;
	size_t len;

	fx_init(&fx);
	make_log(&fx, 5, 0);
	segment(&fx, 0, seg, sizeof(seg));
	b = slurp(seg, &len);
	*strstr(b, "registrar1") = 'R';
	spew(seg, b, len);
	free(b);
	base = event_base_new();
	memset(&o, 0, sizeof(o));
	o.dir = fx.dir;
	o.signing_key = fx.key;
	o.origin = ORIGIN;
	ck_assert_int_eq(audit_open(base, &o, NULL, &a, &e), -1);
	ck_assert_msg(strstr(err_msg(&e), "refusing to start") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	/* Another origin is refused too. */
	event_base_free(base);
	fx_free(&fx);
}
END_TEST

static int fsync_budget;

static int
failing_fsync(int fd)
{
	if (fsync_budget-- <= 0) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

/* A failed fdatasync fails the log for good and nothing is retried. */
START_TEST(fail_closed)
{
	struct fixture fx;
	struct event_base *base;
	struct audit *a;
	struct waiter w = { 0, 0, 0, 1 };
	enum audit_verdict v;

	fx_init(&fx);
	base = event_base_new();
	/* Start-up syncs succeed; the first sync after it fails, so the
	 * first batch of records (whatever its size) is refused. */
	fsync_budget = 1000;
	a = open_log(&fx, base, 0, failing_fsync);
	fsync_budget = 0;
	write_records(a, base, 10, &w);
	ck_assert_int_eq(audit_failed(a), 1);
	ck_assert_int_ge(w.failed, 1);
	ck_assert_int_eq(audit_submit(a, "cmd", json_object(), on_durable,
	    &w), -1);
	audit_close(a);
	event_base_free(base);
	/* What reached the file still verifies: never tampered. */
	v = verify(&fx, NULL, 0, NULL, 0);
	ck_assert(v == AUDIT_VALID || v == AUDIT_WARNINGS);
	fx_free(&fx);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, write_verify_reopen);
	tcase_add_test(tc, frame_mac_is_keyed);
	tcase_add_test(tc, rotation_and_proofs);
	tcase_add_test(tc, delete_duplicate_reorder);
	tcase_add_test(tc, forge_and_rechain);
	tcase_add_test(tc, truncate_and_replay);
	tcase_add_test(tc, fork_and_forged_checkpoints);
	tcase_add_test(tc, foreign_known_checkpoints);
	tcase_add_test(tc, splice_from_another_log);
	tcase_add_test(tc, torn_tail_recovery);
	tcase_add_test(tc, refuse_to_start);
	tcase_add_test(tc, fail_closed);
	tcase_add_test(tc, replies_name_their_commands);
	tcase_add_test(tc, spliced_members_sorted);
	tcase_add_test(tc, preallocated_zeros);
	tcase_add_test(tc, idle_writer_sleeps);
	tcase_add_test(tc, single_bit_flips);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(audit_suite)
