/*
 * test_cosig.c: witness cosignatures (C2SP tlog-cosignature, Ed25519
 * cosignature/v1) against a fixed vector, and what verifiers make of
 * altered ones.
 *
 * The vector: the RFC 8032 section 7.1 TEST 1 key (seed 9d61b1...7f60,
 * public key d75a98...511a) as witness "witness.example/w1", the C2SP
 * example checkpoint body (example.com/behind-the-sofa, 20852163) and
 * the C2SP example's time 1679315147.  Worked out by hand from the spec
 * and checked with an independent implementation (Python hashlib and
 * pyca/cryptography Ed25519):
 *
 *   key ID  = SHA-256("witness.example/w1" 0x0A 0x04 || pub)[:4]
 *           = eb762cc2
 *   message = "cosignature/v1\ntime 1679315147\n" || body
 *   line    = base64(eb762cc2 || 00000000641850cb || Ed25519(message))
 *
 * 1679315147 = 0x641850cb: the C2SP example cosignature
 * (jWbPPwAAAABkGFDL...) carries the same eight time bytes after its key ID.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "err.h"
#include "suites.h"

#define EMDASH		"\xe2\x80\x94"
#define W1		"witness.example/w1"
#define TIME		1679315147ULL
#define BODY		"example.com/behind-the-sofa\n20852163\n" \
			"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
/* The C2SP example's log signature (a key these tests do not know). */
#define LOGSIG		EMDASH " example.com/behind-the-sofa " \
			"Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY" \
			"N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
#define NOTE		BODY "\n" LOGSIG
#define W1_VKEY		W1 "+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3" \
			"B1Ea"
#define W1_LINE		EMDASH " " W1 " 63YswgAAAABkGFDL+TPmh4BYuAjsYRoqMJCW" \
			"b/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/Hbu" \
			"L3AJsp3bv/aNCQ==\n"
/* The C2SP example cosignature line's base64. */
#define SPEC_COSIG	"jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWX" \
			"EhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="

static const uint8_t seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
	0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60
};

static EVP_PKEY *
vector_key(void)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed));

	ck_assert_ptr_nonnull(k);
	return k;
}

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(EVP_PKEY_keygen_init(c), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* The decoded bytes of the signature line of name in note. */
static size_t
line_bytes(const char *note, const char *name, uint8_t *out, size_t max)
{
	char want[300];
	const char *p, *e;
	size_t n;

	snprintf(want, sizeof(want), "\n" EMDASH " %s ", name);
	ck_assert_ptr_nonnull(p = strstr(note, want));
	p += strlen(want);
	ck_assert_ptr_nonnull(e = strchr(p, '\n'));
	ck_assert_int_eq(checkpoint_b64_decode(p, (size_t)(e - p), out, max,
	    &n), 0);
	return n;
}

/* note with the signature line of name re-encoded from raw[n]. */
static char *
with_line(const char *note, const char *name, const uint8_t *raw, size_t n)
{
	char want[300], b64[256], *out;
	const char *p, *e;
	size_t len;

	snprintf(want, sizeof(want), "\n" EMDASH " %s ", name);
	ck_assert_ptr_nonnull(p = strstr(note, want));
	p += strlen(want);
	e = strchr(p, '\n');
	checkpoint_b64_encode(raw, n, b64);
	len = strlen(note) + strlen(b64) + 1;
	ck_assert_ptr_nonnull(out = malloc(len));
	snprintf(out, len, "%.*s%s%s", (int)(p - note), note, b64, e);
	return out;
}

static enum cosig_status
status_of(const char *note, const struct cosig_verifier *w)
{
	struct cosig_result r;
	struct err e = ERR_INIT;

	ck_assert_int_eq(checkpoint_cosigs(note, strlen(note), w, 1, &r, &e),
	    0);
	return r.status;
}

START_TEST(key_id_and_vkey)
{
	EVP_PKEY *k = vector_key();
	struct cosig_verifier w, d;
	char s[256];

	ck_assert_int_eq(cosig_verifier_from_pkey(k, W1, &w), 0);
	ck_assert_mem_eq(w.id, "\xeb\x76\x2c\xc2", 4);
	ck_assert_mem_eq(w.pub, "\xd7\x5a\x98\x01\x82\xb1\x0a\xb7", 8);
	ck_assert_int_eq(cosig_verifier_format(&w, s, sizeof(s)), 0);
	ck_assert_str_eq(s, W1_VKEY);
	ck_assert_int_eq(cosig_verifier_decode(W1_VKEY, &d), NOTE_VKEY_OK);
	ck_assert_str_eq(d.name, W1);
	ck_assert_mem_eq(d.id, w.id, 4);
	ck_assert_mem_eq(d.pub, w.pub, 32);
	ck_assert_int_eq(cosig_verifier_consistent(&d), 1);
	/* A type 4 vkey from transparency-dev/formats' tests, and a type 1
	 * one, which is a log key, not a witness key. */
	ck_assert_int_eq(cosig_verifier_decode("remora.n621.de+da77ade7+"
	    "BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", &d), NOTE_VKEY_OK);
	ck_assert_int_eq(cosig_verifier_decode("TEST+7997405c+AQcC+FTVKf0jl"
	    "TdHDY3rbevmnKxxPjigCXlVtGe6RIr6", &d), NOTE_VKEY_WRONG_TYPE);
	/* The stated hash must be the key's. */
	ck_assert_int_eq(cosig_verifier_decode(W1 "+eb762cc3+BNdamAGCsQq31Uv+"
	    "08lkBzoO4XLz2qYjJa8CGmj3B1Ea", &d), NOTE_VKEY_HASH_MISMATCH);
	ck_assert_int_eq(cosig_verifier_consistent(&d), 0);
	ck_assert_int_eq(cosig_verifier_decode(W1 "+eb762cc2+BNdamAGCsQq31Uv+"
	    "08lkBzoO4XLz2qYjJa8CGmj3B1E=", &d), NOTE_VKEY_MALFORMED);
	ck_assert_int_eq(cosig_verifier_decode(W1 "+eb762cc+BNdamAGCsQq31Uv+"
	    "08lkBzoO4XLz2qYjJa8CGmj3B1Ea", &d), NOTE_VKEY_MALFORMED);
	ck_assert_int_eq(cosig_verifier_from_pkey(k, "bad name", &w), -1);
	ck_assert_int_eq(cosig_verifier_from_pkey(k, "", &w), -1);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(message_bytes)
{
	const char want[] = "cosignature/v1\ntime 1679315147\n" BODY;
	uint8_t *m;
	size_t len;

	m = cosig_message(TIME, BODY, strlen(BODY), &len);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(m, want, len);
	free(m);
	/* No leading zeros; zero is "0"; the largest time allowed. */
	m = cosig_message(0, "x\n", 2, &len);
	ck_assert_mem_eq(m, "cosignature/v1\ntime 0\nx\n", len);
	free(m);
	m = cosig_message(COSIG_MAX_TIME, "", 0, &len);
	ck_assert_mem_eq(m, "cosignature/v1\ntime 9223372036854775807\n",
	    len);
	free(m);
}
END_TEST

START_TEST(fixed_vector)
{
	EVP_PKEY *k = vector_key();
	struct cosig_verifier w;
	struct cosig_result r;
	uint8_t raw[128], spec[128];
	struct err e = ERR_INIT;
	char *note;
	size_t n;

	note = checkpoint_cosign(k, W1, TIME, NOTE, strlen(NOTE), &e);
	ck_assert_msg(note != NULL, "%s", err_msg(&e));
	/* The log's line kept, ours appended: byte for byte the vector. */
	ck_assert_str_eq(note, NOTE W1_LINE);
	/* Timestamp: u64 big-endian after the key ID, as in the spec's. */
	n = line_bytes(note, W1, raw, sizeof(raw));
	ck_assert_uint_eq(n, 4 + 8 + 64);
	ck_assert_mem_eq(raw, "\xeb\x76\x2c\xc2", 4);
	ck_assert_mem_eq(raw + 4, "\x00\x00\x00\x00\x64\x18\x50\xcb", 8);
	ck_assert_int_eq(checkpoint_b64_decode(SPEC_COSIG, strlen(SPEC_COSIG),
	    spec, sizeof(spec), &n), 0);
	ck_assert_uint_eq(n, 76);
	ck_assert_mem_eq(spec + 4, raw + 4, 8);

	ck_assert_int_eq(cosig_verifier_decode(W1_VKEY, &w), NOTE_VKEY_OK);
	ck_assert_int_eq(checkpoint_cosigs(note, strlen(note), &w, 1, &r, &e),
	    0);
	ck_assert_int_eq(r.status, COSIG_OK);
	ck_assert_uint_eq(r.time, TIME);
	/* Without our line: absent. */
	ck_assert_int_eq(status_of(NOTE, &w), COSIG_ABSENT);
	free(note);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(flipped_bits)
{
	EVP_PKEY *k = vector_key();
	struct cosig_verifier w;
	uint8_t raw[128], bad[128];
	struct err e = ERR_INIT;
	char *note, *alt;
	size_t n;

	note = checkpoint_cosign(k, W1, TIME, NOTE, strlen(NOTE), &e);
	ck_assert_int_eq(cosig_verifier_from_pkey(k, W1, &w), 0);
	n = line_bytes(note, W1, raw, sizeof(raw));
	/* Any bit of the time or the signature: the line fails. */
	for (size_t i = 4; i < n; i++)
		for (int b = 0; b < 8; b++) {
			memcpy(bad, raw, n);
			bad[i] ^= (uint8_t)(1 << b);
			alt = with_line(note, W1, bad, n);
			ck_assert_msg(status_of(alt, &w) == COSIG_BAD,
			    "byte %zu bit %d", i, b);
			free(alt);
		}
	/* A bit of the key ID: the line is no longer w1's. */
	memcpy(bad, raw, n);
	bad[0] ^= 1;
	alt = with_line(note, W1, bad, n);
	ck_assert_int_eq(status_of(alt, &w), COSIG_ABSENT);
	free(alt);
	/* A line one byte short or long: a failing line of w1. */
	alt = with_line(note, W1, raw, n - 1);
	ck_assert_int_eq(status_of(alt, &w), COSIG_BAD);
	free(alt);
	raw[n] = 0;
	alt = with_line(note, W1, raw, n + 1);
	ck_assert_int_eq(status_of(alt, &w), COSIG_BAD);
	free(alt);
	/* The body it covers: the size 20852163 -> 20852162. */
	alt = strdup(note);
	strstr(alt, "20852163")[7] = '2';
	ck_assert_int_eq(status_of(alt, &w), COSIG_BAD);
	free(alt);
	/* A time beyond 2^63 - 1 is refused even before the signature. */
	memcpy(bad, raw, n);
	bad[4] = 0x80;
	alt = with_line(note, W1, bad, 76);
	ck_assert_int_eq(status_of(alt, &w), COSIG_BAD);
	free(alt);
	free(note);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(names_and_keys)
{
	EVP_PKEY *k = vector_key(), *other = new_key();
	struct cosig_verifier w, w2, wo, bad;
	struct note_verifier nv;
	struct checkpoint cp;
	uint8_t raw[128];
	struct err e = ERR_INIT;
	char *note, *alt, *forged;

	note = checkpoint_cosign(k, W1, TIME, NOTE, strlen(NOTE), &e);
	ck_assert_int_eq(cosig_verifier_from_pkey(k, W1, &w), 0);
	/* The same key under another name: not w1's line. */
	ck_assert_int_eq(cosig_verifier_from_pkey(k, "witness.example/w2",
	    &w2), 0);
	ck_assert_int_eq(status_of(note, &w2), COSIG_ABSENT);
	/* The line copied under that name: its key ID is w1's: ignored. */
	alt = strdup(note);
	memcpy(strstr(alt, W1), "witness.example/w2", strlen(W1));
	ck_assert_int_eq(status_of(alt, &w2), COSIG_ABSENT);
	ck_assert_int_eq(status_of(alt, &w), COSIG_ABSENT);
	free(alt);
	/* Another key: absent; its line under w1's name and key ID with
	 * its own signature: a failing line of w1. */
	ck_assert_int_eq(cosig_verifier_from_pkey(other, W1, &wo), 0);
	ck_assert_int_eq(status_of(note, &wo), COSIG_ABSENT);
	forged = checkpoint_cosign(other, W1, TIME, NOTE, strlen(NOTE), &e);
	line_bytes(forged, W1, raw + 128 - 76, 76);
	memcpy(raw + 128 - 76, w.id, 4);
	alt = with_line(forged, W1, raw + 128 - 76, 76);
	ck_assert_int_eq(status_of(alt, &w), COSIG_BAD);
	free(alt);
	free(forged);
	/* A verifier whose stated hash is not its key's counts nothing. */
	bad = w;
	bad.id[3] ^= 1;
	ck_assert_int_eq(status_of(note, &bad), COSIG_ABSENT);
	/* The log's own signature-type verifiers ignore cosignature lines:
	 * the note still opens with the log key only (not known here: no
	 * trusted line), and the witness key as a type 1 key trusts none. */
	ck_assert_int_eq(checkpoint_open(note, strlen(note), NULL, &cp, &e),
	    CHECKPOINT_OK);
	ck_assert_int_eq(note_verifier_from_pkey(k, W1, &nv), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &nv, &cp, &e),
	    CHECKPOINT_UNTRUSTED);
	free(note);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(cosign_notes)
{
	EVP_PKEY *k = vector_key(), *log = new_key(), *w2k = new_key();
	struct cosig_verifier w[2];
	struct cosig_result r[2];
	struct note_verifier lv;
	struct checkpoint cp, got;
	struct err e = ERR_INIT;
	char *note, *a, *b, *c, big[CHECKPOINT_MAX_NOTE + 64];

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "eppgw/test");
	cp.size = 7;
	note = checkpoint_sign(log, "eppgw/test", &cp);
	ck_assert_int_eq(cosig_verifier_from_pkey(k, W1, &w[0]), 0);
	ck_assert_int_eq(cosig_verifier_from_pkey(w2k, "w2", &w[1]), 0);
	a = checkpoint_cosign(k, W1, 100, note, strlen(note), &e);
	b = checkpoint_cosign(w2k, "w2", 200, a, strlen(a), &e);
	ck_assert_int_eq(checkpoint_cosigs(b, strlen(b), w, 2, r, &e), 0);
	ck_assert_int_eq(r[0].status, COSIG_OK);
	ck_assert_uint_eq(r[0].time, 100);
	ck_assert_int_eq(r[1].status, COSIG_OK);
	ck_assert_uint_eq(r[1].time, 200);
	/* The log's signature still opens it, name-bound. */
	ck_assert_int_eq(note_verifier_from_pkey(log, "eppgw/test", &lv), 0);
	ck_assert_int_eq(checkpoint_open(b, strlen(b), &lv, &got, &e),
	    CHECKPOINT_OK);
	/* Cosigning again replaces the older line of the same witness. */
	c = checkpoint_cosign(k, W1, 300, b, strlen(b), &e);
	ck_assert_ptr_null(strstr(strstr(c, W1) + 1, W1));
	ck_assert_int_eq(checkpoint_cosigs(c, strlen(c), w, 2, r, &e), 0);
	ck_assert_uint_eq(r[0].time, 300);
	ck_assert_int_eq(r[1].status, COSIG_OK);
	/* No cosigning a malformed note, a bad name or a time too large. */
	ck_assert_ptr_null(checkpoint_cosign(k, W1, 1, "x\n", 2, &e));
	ck_assert_ptr_null(checkpoint_cosign(k, "w 1", 1, note, strlen(note),
	    &e));
	ck_assert_ptr_null(checkpoint_cosign(k, W1, (uint64_t)COSIG_MAX_TIME +
	    1, note, strlen(note), &e));
	ck_assert_int_eq(checkpoint_cosigs("x\n", 2, w, 2, r, &e), -1);
	/* Nor past the size a note may have. */
	snprintf(big, sizeof(big), "%s", note);
	for (size_t bl = strlen(big), sl = strlen(strstr(note, EMDASH));
	    bl + sl <= CHECKPOINT_MAX_NOTE - 10; bl += sl)
		memcpy(big + bl, strstr(note, EMDASH), sl + 1);
	ck_assert_ptr_null(checkpoint_cosign(k, W1, 1, big, strlen(big), &e));
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "exceed"));
	ck_assert_int_eq(e.code, ERR_LIMIT);
	free(a);
	free(b);
	free(c);
	free(note);
	EVP_PKEY_free(k);
	EVP_PKEY_free(log);
	EVP_PKEY_free(w2k);
}
END_TEST

static Suite *
cosig_suite(void)
{
	Suite *s = suite_create("cosig");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, key_id_and_vkey);
	tcase_add_test(tc, message_bytes);
	tcase_add_test(tc, fixed_vector);
	tcase_add_test(tc, flipped_bits);
	tcase_add_test(tc, names_and_keys);
	tcase_add_test(tc, cosign_notes);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(cosig_suite)
