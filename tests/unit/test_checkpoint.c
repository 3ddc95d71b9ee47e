/*
 * test_checkpoint.c: C2SP signed checkpoints (sign, parse, verify, forged
 * signatures, non-canonical bodies), verifier keys and tlog-proof@v1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "checkpoint.h"
#include "err.h"
#include "suites.h"

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

static void
sample(struct checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->origin, sizeof(cp->origin), "eppgw/test");
	cp->size = 12345;
	for (int i = 0; i < 32; i++)
		cp->root[i] = (uint8_t)i;
}

START_TEST(sign_and_open)
{
	EVP_PKEY *k = new_key(), *other = new_key();
	struct checkpoint cp, got;
	struct note_verifier v, vo, vn;
	struct err e = ERR_INIT;
	char *note, vk[512];

	sample(&cp);
	note = checkpoint_sign(k, "eppgw/test", &cp);
	ck_assert_ptr_nonnull(note);
	{
		const char *want = "eppgw/test\n12345\n"
		    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n"
		    "\xe2\x80\x94 eppgw/test ";

		ck_assert(strncmp(note, want, strlen(want)) == 0);
	}
	ck_assert_int_eq(note_verifier_from_pkey(k, NULL, &v), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &v, &got, &e),
	    CHECKPOINT_OK);
	ck_assert_str_eq(got.origin, "eppgw/test");
	ck_assert_uint_eq(got.size, 12345);
	ck_assert_mem_eq(got.root, cp.root, 32);
	/* Parse only. */
	ck_assert_int_eq(checkpoint_open(note, strlen(note), NULL, &got, &e),
	    CHECKPOINT_OK);
	/* Another key: its signature is not there. */
	ck_assert_int_eq(note_verifier_from_pkey(other, NULL, &vo), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &vo, &got, &e),
	    CHECKPOINT_UNTRUSTED);
	/* The verifier key string round trip, with the name. */
	ck_assert_int_eq(note_verifier_from_pkey(k, "eppgw/test", &vn), 0);
	ck_assert_int_eq(note_verifier_format(&vn, vk, sizeof(vk)), 0);
	ck_assert(strncmp(vk, "eppgw/test+", 11) == 0);
	memset(&vo, 0, sizeof(vo));
	ck_assert_int_eq(note_verifier_parse(vk, &vo), 0);
	ck_assert_mem_eq(vo.pub, vn.pub, 32);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &vo, &got, &e),
	    CHECKPOINT_OK);
	/* A named verifier ignores other names. */
	snprintf(vo.name, sizeof(vo.name), "other/name");
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &vo, &got, &e),
	    CHECKPOINT_UNTRUSTED);
	/* A corrupted key ID in the string is refused. */
	vk[12] = vk[12] == '0' ? '1' : '0';
	ck_assert_int_eq(note_verifier_parse(vk, &vo), -1);
	free(note);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

/* Verifier key strings: what parses, and what each kind refuses. */
START_TEST(verifier_strings)
{
	struct note_verifier v;
	EVP_PKEY *k = new_key();
	char vk[512], up[512];

	/* A type 1 vkey from transparency-dev/formats' tests (its key has
	 * a '+' in it), and a type 4 (witness) one. */
	ck_assert_int_eq(note_verifier_decode("TEST+7997405c+AQcC+FTVKf0jlTd"
	    "HDY3rbevmnKxxPjigCXlVtGe6RIr6", &v), NOTE_VKEY_OK);
	ck_assert_str_eq(v.name, "TEST");
	ck_assert_mem_eq(v.id, "\x79\x97\x40\x5c", 4);
	ck_assert_int_eq(note_verifier_consistent(&v), 1);
	ck_assert_int_eq(note_verifier_decode("remora.n621.de+da77ade7+BOvN63"
	    "jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", &v),
	    NOTE_VKEY_WRONG_TYPE);
	ck_assert_int_eq(note_verifier_parse("remora.n621.de+da77ade7+BOvN63"
	    "jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", &v), -1);
	/* Upper-case hex reads as Go's note.NewVerifier reads it. */
	ck_assert_int_eq(note_verifier_from_pkey(k, "eppgw/test", &v), 0);
	ck_assert_int_eq(note_verifier_format(&v, vk, sizeof(vk)), 0);
	snprintf(up, sizeof(up), "%s", vk);
	for (char *p = up + 11; p < up + 19; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	ck_assert_int_eq(note_verifier_decode(up, &v), NOTE_VKEY_OK);
	/* Well formed, but the hash is not the key's: it loads (and will
	 * trust nothing); note_verifier_parse refuses it as before. */
	up[11] = up[11] == '0' ? '1' : '0';
	ck_assert_int_eq(note_verifier_decode(up, &v),
	    NOTE_VKEY_HASH_MISMATCH);
	ck_assert_str_eq(v.name, "eppgw/test");
	ck_assert_int_eq(note_verifier_consistent(&v), 0);
	ck_assert_int_eq(note_verifier_parse(up, &v), -1);
	/* Malformed. */
	{
		const char *bad[] = {
			"",
			"eppgw/test",
			"eppgw/test+4688d6a1",
			"+4688d6a1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT",
			"eppgw test+4688d6a1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT",
			"eppgw/test+4688d6a+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT",
			"eppgw/test+4688d6a1x+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT",
			"eppgw/test+4688d6g1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT",
			"eppgw/test+4688d6a1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84c",
			"eppgw/test+4688d6a1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV84cT=",
			"eppgw/test+4688d6a1+AVe4uN4JTdUdMgEjFvUU0MwoOpKbwrWR7cnaXLnV8w==",
			"eppgw/test+4688d6a1+AQ==",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(note_verifier_decode(bad[i], &v) ==
			    NOTE_VKEY_MALFORMED, "%s", bad[i]);
	}
	EVP_PKEY_free(k);
}
END_TEST

/* A verifier key string binds the key to its name; a PEM key cannot. */
START_TEST(name_binding)
{
	EVP_PKEY *k = new_key();
	struct checkpoint cp, got;
	struct note_verifier named, other, pem, bad, loaded;
	struct err e = ERR_INIT;
	char *note, *renamed, vk[512], path[] = "/tmp/vkXXXXXX";
	FILE *f;
	int fd;

	sample(&cp);
	note = checkpoint_sign(k, "eppgw/test", &cp);
	renamed = checkpoint_sign(k, "eppgw/other", &cp);
	ck_assert_int_eq(note_verifier_from_pkey(k, "eppgw/test", &named), 0);
	ck_assert_int_eq(note_verifier_format(&named, vk, sizeof(vk)), 0);
	ck_assert_int_eq(note_verifier_decode(vk, &named), NOTE_VKEY_OK);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &named, &got, &e),
	    CHECKPOINT_OK);
	/* The same key's valid signature under another name: untrusted,
	 * and the reason says so. */
	ck_assert_int_eq(checkpoint_open(renamed, strlen(renamed), &named, &got,
	    &e), CHECKPOINT_UNTRUSTED);
	ck_assert_ptr_nonnull(strstr(err_msg(&e),
	    "under the name eppgw/other, not "
	    "eppgw/test"));
	ck_assert_int_eq(e.code, ERR_REFUSED);
	ck_assert_int_eq(note_verifier_from_pkey(k, "eppgw/other", &other), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &other, &got, &e),
	    CHECKPOINT_UNTRUSTED);
	ck_assert_int_eq(checkpoint_open(renamed, strlen(renamed), &other,
	    &got, &e), CHECKPOINT_OK);
	/* A PEM key has no name: either name passes (documented). */
	ck_assert_int_eq(note_verifier_from_pkey(k, NULL, &pem), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &pem, &got, &e),
	    CHECKPOINT_OK);
	ck_assert_int_eq(checkpoint_open(renamed, strlen(renamed), &pem, &got,
	    &e), CHECKPOINT_OK);
	/* A stated hash that is not the key's trusts nothing, and says so. */
	vk[11] = vk[11] == '0' ? '1' : '0';
	ck_assert_int_eq(note_verifier_decode(vk, &bad),
	    NOTE_VKEY_HASH_MISMATCH);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &bad, &got, &e),
	    CHECKPOINT_UNTRUSTED);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "not its key's"));
	ck_assert_int_eq(e.code, ERR_REFUSED);
	/* So does such a string in a file, which loads. */
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fprintf(f, "%s\n", vk);
	fclose(f);
	ck_assert_int_eq(note_verifier_load(path, &loaded, &e),
	    0);
	ck_assert_int_eq(note_verifier_consistent(&loaded), 0);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &loaded, &got,
	    &e), CHECKPOINT_UNTRUSTED);
	/* A witness key in the file is no log key. */
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZp"
	    "Xh34x7onlmtw2\n");
	fclose(f);
	ck_assert_int_eq(note_verifier_load(path, &loaded, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(err_msg(&e), "another signature type"));
	ck_assert_int_eq(e.code, ERR_INVALID);
	unlink(path);
	free(note);
	free(renamed);
	EVP_PKEY_free(k);
}
END_TEST

/* Signature lines of other keys are ignored whatever their length (an
 * ML-DSA cosignature is 2432 bytes), as Go's note.Open ignores them. */
START_TEST(long_foreign_lines)
{
	EVP_PKEY *k = new_key();
	struct checkpoint cp, got;
	struct note_verifier v;
	uint8_t raw[2432];
	struct err e = ERR_INIT;
	char *note, *b64, *big;
	size_t len;

	sample(&cp);
	note = checkpoint_sign(k, "eppgw/test", &cp);
	memset(raw, 0x5a, sizeof(raw));
	ck_assert_ptr_nonnull(b64 = malloc(4 * sizeof(raw) / 3 + 8));
	checkpoint_b64_encode(raw, sizeof(raw), b64);
	len = strlen(note) + strlen(b64) + 64;
	ck_assert_ptr_nonnull(big = malloc(len));
	snprintf(big, len, "%s\xe2\x80\x94 witness.example/mldsa %s\n", note,
	    b64);
	ck_assert_int_eq(note_verifier_from_pkey(k, "eppgw/test", &v), 0);
	ck_assert_int_eq(checkpoint_open(big, strlen(big), &v, &got, &e),
	    CHECKPOINT_OK);
	free(big);
	free(b64);
	free(note);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(forgeries)
{
	EVP_PKEY *k = new_key(), *other = new_key();
	struct checkpoint cp, got;
	struct note_verifier v;
	struct err e = ERR_INIT;
	char *note, *forged, *copy, *sig;
	size_t len;

	sample(&cp);
	note = checkpoint_sign(k, "eppgw/test", &cp);
	ck_assert_int_eq(note_verifier_from_pkey(k, NULL, &v), 0);
	len = strlen(note);

	/* Every single-bit flip is refused (malformed or bad signature). */
	copy = strdup(note);
	for (size_t i = 0; i < len; i++)
		for (int b = 0; b < 8; b++) {
			copy[i] ^= (char)(1 << b);
			ck_assert_int_ne(checkpoint_open(copy, len, &v, &got,
			    &e), CHECKPOINT_OK);
			copy[i] ^= (char)(1 << b);
		}
	free(copy);

	/* Valid under another key with the same name: untrusted. */
	forged = checkpoint_sign(other, "eppgw/test", &cp);
	ck_assert_int_eq(checkpoint_open(forged, strlen(forged), &v, &got,
	    &e), CHECKPOINT_UNTRUSTED);
	/* Same name and key ID as ours but another key's signature. */
	sig = strstr(note, "\xe2\x80\x94 eppgw/test ") + 15;
	copy = strdup(forged);
	memcpy(strstr(copy, "\xe2\x80\x94 eppgw/test ") + 15, sig, 6);
	ck_assert_int_eq(checkpoint_open(copy, strlen(copy), &v, &got, &e),
	    CHECKPOINT_BAD_SIGNATURE);
	free(copy);
	free(forged);

	/* Another body under our signature. */
	copy = strdup(note);
	copy[11] = '2';
	ck_assert_int_eq(checkpoint_open(copy, len, &v, &got, &e),
	    CHECKPOINT_BAD_SIGNATURE);
	free(copy);

	/* Non-canonical size "012345", extension lines, no signature. */
	{
		const char *bad[] = {
			"eppgw/test\n012345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n\xe2\x80\x94 eppgw/test AAAAAA==\n",
			"eppgw/test\n+12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n\xe2\x80\x94 eppgw/test AAAAAA==\n",
			"eppgw/test\n12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n\n\xe2\x80\x94 eppgw/test AAAAAA==\n",
			"eppgw/test\n12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
			"eppgw/test\n12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
			"eppgw/test\n12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n- eppgw/test AAAAAA==\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_int_eq(checkpoint_open(bad[i],
			    strlen(bad[i]), &v, &got, &e),
			    CHECKPOINT_MALFORMED);
	}
	/* Extension lines are signed text: accepted when signed. */
	{
		const char *ext = "eppgw/test\n12345\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nextension\n\n\xe2\x80\x94 eppgw/test AAAAAAAA\n";

		ck_assert_int_eq(checkpoint_open(ext, strlen(ext), &v, &got,
		    &e), CHECKPOINT_UNTRUSTED);
	}
	/* A random signature under our key ID. */
	copy = strdup(note);
	sig = strstr(copy, "\xe2\x80\x94 eppgw/test ") + 15 + 8;
	for (int i = 0; i < 60; i++)
		sig[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[
		    (unsigned)rand() % 52];
	ck_assert_int_eq(checkpoint_open(copy, len, &v, &got, &e),
	    CHECKPOINT_BAD_SIGNATURE);
	free(copy);
	free(note);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(tlog_proof)
{
	merkle_hash h[3];
	struct tlog_proof p;
	const char *note = "eppgw/test\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n\xe2\x80\x94 eppgw/test AAAAAA==\n";
	struct err e = ERR_INIT;
	char *doc;

	for (int i = 0; i < 3; i++)
		memset(h[i], i + 1, 32);
	doc = tlog_proof_format("hello", 5, 7, h, 3, note);
	{
		const char *want = "c2sp.org/tlog-proof@v1\nextra aGVsbG8=\n"
		    "index 7\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";

		ck_assert(strncmp(doc, want, strlen(want)) == 0);
	}
	ck_assert_int_eq(tlog_proof_parse(doc, strlen(doc), &p, &e), 0);
	ck_assert_int_eq(p.has_extra, 1);
	ck_assert_uint_eq(p.extralen, 5);
	ck_assert_mem_eq(p.extra, "hello", 5);
	ck_assert_uint_eq(p.index, 7);
	ck_assert_uint_eq(p.nhashes, 3);
	ck_assert_mem_eq(p.hashes[2], h[2], 32);
	ck_assert_str_eq(p.note, note);
	tlog_proof_free(&p);
	free(doc);

	doc = tlog_proof_format(NULL, 0, 0, h, 0, note);
	ck_assert(strncmp(doc, "c2sp.org/tlog-proof@v1\nindex 0\n\n", 32) ==
	    0);
	ck_assert_int_eq(tlog_proof_parse(doc, strlen(doc), &p, &e), 0);
	ck_assert_int_eq(p.has_extra, 0);
	ck_assert_uint_eq(p.nhashes, 0);
	tlog_proof_free(&p);
	free(doc);

	ck_assert_int_eq(tlog_proof_parse("c2sp.org/tlog-proof@v2\nindex 0\n"
	    "\nx\n", 33, &p, &e), -1);
	ck_assert_int_eq(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 01"
	    "\n\nx\n", 34, &p, &e), -1);
	ck_assert_int_eq(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 1"
	    "\nAAAA\n\nx\n", 38, &p, &e), -1);
	ck_assert_int_eq(tlog_proof_parse("c2sp.org/tlog-proof@v1\nindex 1\n",
	    31, &p, &e), -1);
}
END_TEST

START_TEST(dev_keys)
{
	EVP_PKEY *k;
	struct note_verifier v;
	struct checkpoint cp, got;
	struct err e = ERR_INIT;
	char *note;

	/* make certs writes certs/dev/audit.key and audit.pub; `make unit`
	 * and `make check` make them first.  Missing is a failure, not a
	 * pass: this test is the only check of the demo key pair. */
	ck_assert_msg(access("certs/dev/audit.key", R_OK) == 0,
	    "certs/dev/audit.key missing: run `make certs` first");
	ck_assert_int_eq(checkpoint_key_load("certs/dev/audit.key", &k, &e), 0);
	ck_assert_int_eq(note_verifier_load("certs/dev/audit.pub", &v, &e), 0);
	sample(&cp);
	note = checkpoint_sign(k, cp.origin, &cp);
	ck_assert_int_eq(checkpoint_open(note, strlen(note), &v, &got, &e),
	    CHECKPOINT_OK);
	ck_assert_int_eq(note_verifier_load("certs/dev/ca.pem", &v, &e), -1);
	ck_assert_int_eq(checkpoint_key_load("certs/dev/ca.key", &k,
	    &e) == 0 && EVP_PKEY_get_id(k) != EVP_PKEY_ED25519, 0);
	free(note);
	EVP_PKEY_free(k);
}
END_TEST

static Suite *
checkpoint_suite(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sign_and_open);
	tcase_add_test(tc, verifier_strings);
	tcase_add_test(tc, name_binding);
	tcase_add_test(tc, long_foreign_lines);
	tcase_add_test(tc, forgeries);
	tcase_add_test(tc, tlog_proof);
	tcase_add_test(tc, dev_keys);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(checkpoint_suite)
