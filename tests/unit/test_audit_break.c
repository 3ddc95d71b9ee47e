/*
 * test_audit_break.c: the operator's signed break.  A tampered log makes
 * the writer refuse to start; audit_break() records the break; then the
 * writer starts and the verifier says 2 and names the break.  A break it
 * cannot trust (another key, no signature, altered) or tampering after it
 * must still be 1.
 */
#include <sys/stat.h>

#include <errno.h>
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

struct bfx {
	char			 tmp[256];
	char			 dir[300];	/* the log */
	char			 key[300];
	EVP_PKEY		*other;		/* a key of nobody's */
	struct note_verifier	 v;
};

static void
write_key(const char *path, EVP_PKEY **out)
{
	EVP_PKEY_CTX *c;
	EVP_PKEY *k = NULL;
	FILE *f;

	c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	ck_assert_int_eq(EVP_PKEY_keygen_init(c), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	if (out != NULL)
		*out = k;
	else
		EVP_PKEY_free(k);
}

static void
bfx_init(struct bfx *fx)
{
	char tmpl[] = "/tmp/eppgw-audit-break.XXXXXX";
	EVP_PKEY *k;

	memset(fx, 0, sizeof(*fx));
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(fx->tmp, sizeof(fx->tmp), "%s", tmpl);
	snprintf(fx->dir, sizeof(fx->dir), "%s/log", tmpl);
	snprintf(fx->key, sizeof(fx->key), "%s/audit.key", tmpl);
	write_key(fx->key, &k);
	snprintf(fx->dir, sizeof(fx->dir), "%s/other.key", tmpl);
	write_key(fx->dir, &fx->other);
	snprintf(fx->dir, sizeof(fx->dir), "%s/log", tmpl);
	ck_assert_int_eq(note_verifier_from_pkey(k, NULL, &fx->v), 0);
	EVP_PKEY_free(k);
}

static void
bfx_free(struct bfx *fx)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->tmp);
	(void)!system(cmd);
	EVP_PKEY_free(fx->other);
}

static int
open_log(struct bfx *fx, struct event_base *base, size_t segmax,
    struct audit **a, struct err *e)
{
	struct audit_conf o;

	memset(&o, 0, sizeof(o));
	o.dir = fx->dir;
	o.signing_key = fx->key;
	o.origin = ORIGIN;
	o.segment_max = segmax;
	return audit_open(base, &o, NULL, a, e);
}

static void
on_durable(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	int *left = arg;

	(void)seq;
	(void)leaf;
	ck_assert_int_eq(status, 0);
	(*left)--;
}

/* Open the log, append n cmd records, close it. */
static void
append(struct bfx *fx, int n, size_t segmax)
{
	struct event_base *base = event_base_new();
	struct audit *a;
	struct err e = ERR_INIT;
	int left = n;

	if (open_log(fx, base, segmax, &a, &e) == -1)
		ck_abort_msg("audit_open: %s", err_msg(&e));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(audit_submit(a, "cmd", json_pack("{s:s, "
		    "s:s, s:[s]}", "sess", "s1", "clid", "registrar1",
		    "objects", "open.example"), on_durable, &left), 0);
	while (left > 0 && !audit_failed(a))
		event_base_loop(base, EVLOOP_ONCE);
	audit_close(a);
	event_base_free(base);
}

static int
refuses(struct bfx *fx, struct err *e)
{
	struct event_base *base = event_base_new();
	struct audit *a = NULL;
	int r;

	r = open_log(fx, base, 0, &a, e);
	if (r == 0)
		audit_close(a);
	event_base_free(base);
	return r == -1;
}

static enum audit_verdict
verify(struct bfx *fx, const char *known, char *why, size_t len,
    uint64_t *breaks)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;
	enum audit_verdict v;
	size_t off = 0;

	memset(&o, 0, sizeof(o));
	o.vkey = &fx->v;
	o.want_seq = -1;
	o.keep_leaves = 1;
	o.known = known ? &known : NULL;
	o.nknown = known ? 1 : 0;
	v = audit_verify_dir(fx->dir, &o, &r);
	if (why != NULL) {
		why[0] = '\0';
		off = (size_t)snprintf(why, len, "%s", r.error);
		for (size_t i = 0; i < r.nwarnings && off < len; i++)
			off += (size_t)snprintf(why + off, len - off, " | %s",
			    r.warnings[i]);
	}
	if (breaks != NULL)
		*breaks = r.breaks;
	audit_verify_free(&r);
	return v;
}

static int
do_break(struct bfx *fx, const char *key, char *seg, size_t seglen,
    struct err *e)
{
	struct audit_break_opts o;

	memset(&o, 0, sizeof(o));
	o.dir = fx->dir;
	o.signing_key = key;
	o.operator = "carol";
	o.reason = "INC-42: seg-0 edited by hand";
	return audit_break(&o, seg, seglen, e);
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

/* Overwrite a file that may be read-only (closed segments are 0440). */
static void
spew(const char *path, const char *b, size_t len)
{
	FILE *f;

	(void)chmod(path, 0640);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	fclose(f);
}

static void
seg_path(struct bfx *fx, int i, char *out, size_t len)
{
	char **names;
	size_t n;

	ck_assert_int_eq(audit_list_segments(fx->dir, &names, &n), 0);
	if (i < 0)
		i += (int)n;
	ck_assert_int_lt(i, (int)n);
	snprintf(out, len, "%s/%s", fx->dir, names[i]);
	audit_free_segments(names, n);
}

/* Replace the first occurrence of from in file i by to (same length). */
static void
tamper(struct bfx *fx, int i, const char *from, const char *to)
{
	char path[600], *b, *p;
	size_t len;

	seg_path(fx, i, path, sizeof(path));
	b = slurp(path, &len);
	ck_assert_ptr_nonnull(p = strstr(b, from));
	ck_assert_uint_eq(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	spew(path, b, len);
	free(b);
}

/* A closed log whose first segment was edited: the writer refuses. */
static void
tampered_log(struct bfx *fx, size_t segmax)
{
	struct err e = ERR_INIT;

	append(fx, 12, segmax);
	tamper(fx, segmax ? 1 : 0, "registrar1", "Registrar1");
	ck_assert_int_eq(verify(fx, NULL, NULL, 0, NULL), AUDIT_TAMPERED);
	ck_assert(refuses(fx, &e));
	ck_assert_msg(strstr(err_msg(&e), "refusing to start") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_CORRUPT);
}

static void
expect(struct bfx *fx, enum audit_verdict want, const char *needle,
    int line)
{
	char why[2400];
	enum audit_verdict v = verify(fx, NULL, why, sizeof(why), NULL);

	ck_assert_msg(v == want, "line %d: verdict %d, want %d: %s", line, v,
	    want, why);
	if (needle != NULL)
		ck_assert_msg(strstr(why, needle) != NULL, "line %d: no \"%s\" "
		    "in: %s", line, needle, why);
}

#define EXPECT(fx, want, needle) expect(fx, want, needle, __LINE__)

START_TEST(break_then_continue)
{
	struct bfx fx;
	struct err e = ERR_INIT;
	char seg[64], path[600], *before, *after;
	size_t blen, alen;
	uint64_t breaks;

	bfx_init(&fx);
	tampered_log(&fx, 0);
	seg_path(&fx, 0, path, sizeof(path));
	before = slurp(path, &blen);
	ck_assert_msg(do_break(&fx, fx.key, seg, sizeof(seg), &e) == 0, "%s",
	    err_msg(&e));
	/* The evidence is kept as it is. */
	after = slurp(path, &alen);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(after, before, blen);
	free(before);
	free(after);

	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by carol");
	EXPECT(&fx, AUDIT_WARNINGS, "INC-42");
	EXPECT(&fx, AUDIT_WARNINGS, "prev mismatch");
	EXPECT(&fx, AUDIT_WARNINGS, seg);

	/* The writer starts again and continues the chain. */
	append(&fx, 3, 0);
	ck_assert_int_eq(verify(&fx, NULL, NULL, 0, &breaks),
	    AUDIT_WARNINGS);
	ck_assert_uint_eq(breaks, 1);
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by carol");
	append(&fx, 1, 0);
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by carol");

	/* Nothing more to break. */
	ck_assert_int_eq(do_break(&fx, fx.key, seg, sizeof(seg), &e), 1);
	ck_assert_msg(strstr(err_msg(&e), "nothing to break") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_REFUSED);
	bfx_free(&fx);
}
END_TEST

/* Tampering in a middle segment of a rotated log; a known checkpoint
 * inside the break is reported, not silently passed. */
START_TEST(break_rotated)
{
	struct bfx fx;
	struct err e = ERR_INIT;
	char seg[64], cp[600];
	char *note;
	size_t len;

	bfx_init(&fx);
	append(&fx, 2, 0);
	snprintf(cp, sizeof(cp), "%s/known.cp", fx.tmp);
	append(&fx, 1, 0);
	{
		char src[700];

		snprintf(src, sizeof(src), "%s/checkpoint", fx.dir);
		note = slurp(src, &len);
		spew(cp, note, len);
		free(note);
	}
	tampered_log(&fx, 900);
	ck_assert_msg(do_break(&fx, fx.key, seg, sizeof(seg), &e) == 0, "%s",
	    err_msg(&e));
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by carol");
	append(&fx, 20, 900);
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by carol");
	/* The known checkpoint was taken before the tampered region. */
	ck_assert_int_eq(verify(&fx, cp, NULL, 0, NULL), AUDIT_WARNINGS);
	bfx_free(&fx);
}
END_TEST

/* Replace the first line of segment i by j, serialised as the writer does. */
static void
replace_first_line(struct bfx *fx, int i, json_t *j)
{
	char path[600], *b, *q, *p, *nb;
	size_t len, pl, rest;

	seg_path(fx, i, path, sizeof(path));
	b = slurp(path, &len);
	ck_assert_ptr_nonnull(q = strchr(b, '\n'));
	ck_assert_ptr_nonnull(p = json_dumps(j, JSON_COMPACT |
	    JSON_SORT_KEYS));
	pl = strlen(p);
	rest = len - (size_t)(q - b);
	ck_assert_ptr_nonnull(nb = malloc(pl + rest));
	memcpy(nb, p, pl);
	memcpy(nb + pl, q, rest);
	spew(path, nb, pl + rest);
	free(nb);
	free(p);
	free(b);
}

static json_t *
first_line(struct bfx *fx, int i)
{
	char path[600], *b;
	size_t len;
	json_t *j;

	seg_path(fx, i, path, sizeof(path));
	b = slurp(path, &len);
	ck_assert_ptr_nonnull(j = json_loadb(b, (size_t)(strchr(b, '\n') - b),
	    0, NULL));
	free(b);
	return j;
}

/* A break signed with a key the reviewer does not trust covers nothing. */
START_TEST(break_other_key)
{
	struct bfx fx;
	struct err e = ERR_INIT;
	char seg[64], *msg, b64[128];
	uint8_t sig[64];
	size_t len, siglen = sizeof(sig);
	EVP_MD_CTX *c;
	json_t *j;

	bfx_init(&fx);
	tampered_log(&fx, 0);
	ck_assert_msg(do_break(&fx, fx.key, seg, sizeof(seg), &e) == 0, "%s",
	    err_msg(&e));
	/* The same break, signed by another key. */
	j = first_line(&fx, 1);
	ck_assert_ptr_nonnull(msg = audit_break_signed_bytes(j, &len));
	c = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestSignInit(c, NULL, NULL, NULL, fx.other), 1);
	ck_assert_int_eq(EVP_DigestSign(c, sig, &siglen, (uint8_t *)msg,
	    len), 1);
	EVP_MD_CTX_free(c);
	free(msg);
	checkpoint_b64_encode(sig, siglen, b64);
	json_object_set_new(j, "sig", json_string(b64));
	replace_first_line(&fx, 1, j);
	json_decref(j);
	EXPECT(&fx, AUDIT_TAMPERED, "signature");
	ck_assert(refuses(&fx, &e));
	ck_assert_msg(strstr(err_msg(&e), "refusing to start") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_CORRUPT);
	bfx_free(&fx);
}
END_TEST

/* Whatever happens after the break, or to it, is tampering again. */
START_TEST(tamper_after_break)
{
	struct bfx fx;
	struct err e = ERR_INIT;
	char seg[64], path[600], *b;
	size_t len;
	json_t *j;

	bfx_init(&fx);
	tampered_log(&fx, 0);
	ck_assert_msg(do_break(&fx, fx.key, seg, sizeof(seg), &e) == 0, "%s",
	    err_msg(&e));
	append(&fx, 4, 0);
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by");

	/* A record after the break. */
	tamper(&fx, -1, "registrar1", "registrar2");
	EXPECT(&fx, AUDIT_TAMPERED, NULL);
	ck_assert(refuses(&fx, &e));
	tamper(&fx, -1, "registrar2", "registrar1");
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by");

	/* The break record itself: its reason, then no signature. */
	tamper(&fx, 1, "INC-42", "INC-43");
	EXPECT(&fx, AUDIT_TAMPERED, "signature");
	tamper(&fx, 1, "INC-43", "INC-42");
	seg_path(&fx, 1, path, sizeof(path));
	b = slurp(path, &len);
	j = first_line(&fx, 1);
	json_object_del(j, "sig");
	replace_first_line(&fx, 1, j);
	json_decref(j);
	EXPECT(&fx, AUDIT_TAMPERED, "signature");
	ck_assert(refuses(&fx, &e));
	spew(path, b, len);
	free(b);
	EXPECT(&fx, AUDIT_WARNINGS, "break recorded by");

	/* The segment the break covers, altered once more. */
	tamper(&fx, 0, "Registrar1", "RegistrarX");
	EXPECT(&fx, AUDIT_TAMPERED, "altered after the break");
	ck_assert(refuses(&fx, &e));
	bfx_free(&fx);
}
END_TEST

START_TEST(break_valid_log_refused)
{
	struct bfx fx;
	struct err e = ERR_INIT;
	char seg[64], **names;
	size_t n;

	bfx_init(&fx);
	append(&fx, 5, 0);
	ck_assert_int_eq(do_break(&fx, fx.key, seg, sizeof(seg), &e), 1);
	ck_assert_msg(strstr(err_msg(&e), "nothing to break") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_REFUSED);
	ck_assert_int_eq(audit_list_segments(fx.dir, &names, &n), 0);
	ck_assert_uint_eq(n, 1);
	audit_free_segments(names, n);
	EXPECT(&fx, AUDIT_VALID, NULL);
	bfx_free(&fx);
}
END_TEST

static Suite *
audit_break_suite(void)
{
	Suite *s = suite_create("audit_break");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, break_then_continue);
	tcase_add_test(tc, break_rotated);
	tcase_add_test(tc, break_other_key);
	tcase_add_test(tc, tamper_after_break);
	tcase_add_test(tc, break_valid_log_refused);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(audit_break_suite)
