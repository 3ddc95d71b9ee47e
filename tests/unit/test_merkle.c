/*
 * test_merkle.c: RFC 6962 known answers, and random inclusion and
 * consistency proofs checked against a naive recursive reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "hex.h"
#include "merkle.h"
#include "suites.h"

static void
unhex_any(const char *s, uint8_t *out, size_t *len)
{
	size_t n = strlen(s) / 2;
	unsigned x;

	for (size_t i = 0; i < n; i++) {
		char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

		x = (unsigned)strtoul(two, NULL, 16);
		out[i] = (uint8_t)x;
	}
	*len = n;
}

static void
assert_hex(const merkle_hash h, const char *want)
{
	char hex[65];

	merkle_hex(h, hex);
	ck_assert_str_eq(hex, want);
}

/* transparency-dev/merkle testonly: the eight reference leaves. */
static const char *ref_leaves[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f"
};

static void
ref_hashes(merkle_hash out[8])
{
	uint8_t d[32];
	size_t n;

	for (int i = 0; i < 8; i++) {
		unhex_any(ref_leaves[i], d, &n);
		merkle_leaf_hash(d, n, out[i]);
	}
}

START_TEST(known_answers)
{
	merkle_hash h, leaves[8];
	struct merkle_range r;

	merkle_empty_root(h);
	assert_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	merkle_leaf_hash("", 0, h);
	assert_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	ref_hashes(leaves);
	merkle_root(leaves, 8, h);
	assert_hex(h, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
	merkle_root(leaves, 0, h);
	assert_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	merkle_root(leaves, 1, h);
	assert_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	/* Roots of the prefixes, from the same test vectors. */
	merkle_root(leaves, 2, h);
	assert_hex(h, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
	merkle_root(leaves, 3, h);
	assert_hex(h, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
	merkle_root(leaves, 5, h);
	assert_hex(h, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4");
	merkle_root(leaves, 7, h);
	assert_hex(h, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c");
	/* The compact range agrees at every size. */
	merkle_range_init(&r);
	for (int i = 0; i < 8; i++) {
		merkle_hash a, b;

		merkle_range_append(&r, leaves[i]);
		merkle_range_root(&r, a);
		merkle_root(leaves, (uint64_t)i + 1, b);
		ck_assert_mem_eq(a, b, MERKLE_HASH_LEN);
	}
}
END_TEST

START_TEST(hex_roundtrip)
{
	merkle_hash h, g;
	char hex[65];

	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(i * 37);
	merkle_hex(h, hex);
	ck_assert_int_eq(merkle_unhex(hex, 64, g), 0);
	ck_assert_mem_eq(h, g, 32);
	ck_assert_int_eq(merkle_unhex(hex, 63, g), -1);
	hex[5] = 'A';
	ck_assert_int_eq(merkle_unhex(hex, 64, g), -1);
}
END_TEST

/* hex.h: every byte value, both ways; one spelling only. */
START_TEST(hex_every_byte)
{
	uint8_t all[256], back[256];
	char text[513];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	hex_encode(all, sizeof(all), text);
	ck_assert_uint_eq(strlen(text), 512);
	ck_assert(strncmp(text, "000102", 6) == 0);
	ck_assert(strcmp(text + 506, "fdfeff") == 0);
	ck_assert_int_eq(hex_decode(text, 512, back, 256), 0);
	ck_assert_mem_eq(all, back, 256);
	ck_assert_int_eq(hex_decode(text, 511, back, 256), -1);
	ck_assert_int_eq(hex_decode("0G", 2, back, 1), -1);
	ck_assert_int_eq(hex_decode("FF", 2, back, 1), -1);
	hex_encode(all, 0, text);
	ck_assert_str_eq(text, "");
}
END_TEST

/* ---- The naive reference: RFC 6962 section 2.1, word for word ---- */

static uint64_t
ref_k(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
ref_mth(const merkle_hash *d, uint64_t n, merkle_hash out)
{
	merkle_hash l, r;
	uint8_t buf[65];
	uint64_t k;

	if (n == 0) {
		SHA256((const uint8_t *)"", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], 32);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	SHA256(buf, sizeof(buf), out);
}

static void
ref_path(uint64_t m, const merkle_hash *d, uint64_t n, merkle_hash *out,
    size_t *len)
{
	uint64_t k;

	if (n == 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void
ref_subproof(uint64_t m, const merkle_hash *d, uint64_t n, int b,
    merkle_hash *out, size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, n, out[(*len)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, 0, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static merkle_hash *
random_leaves(uint64_t n)
{
	merkle_hash *l = malloc((n ? n : 1) * sizeof(*l));
	uint32_t x;

	for (uint64_t i = 0; i < n; i++) {
		x = (uint32_t)rand();
		merkle_leaf_hash(&x, sizeof(x), l[i]);
	}
	return l;
}

START_TEST(inclusion_random)
{
	merkle_hash p[MERKLE_MAX_PROOF], q[MERKLE_MAX_PROOF], root, bad;
	size_t plen, qlen;

	srand(6962);
	for (int iter = 0; iter < 400; iter++) {
		uint64_t n = 1 + (uint64_t)rand() % 300, i = (uint64_t)rand() % n;
		merkle_hash *l = random_leaves(n);

		ref_mth(l, n, root);
		merkle_root(l, n, bad);
		ck_assert_mem_eq(root, bad, 32);
		ck_assert_int_eq(merkle_inclusion_proof(l, n, i, p, &plen), 0);
		qlen = 0;
		ref_path(i, l, n, q, &qlen);
		ck_assert_uint_eq(plen, qlen);
		ck_assert_mem_eq(p, q, plen * 32);
		ck_assert_int_eq(merkle_inclusion_verify(i, n, l[i], p, plen,
		    root), 0);
		/* Wrong leaf, index, size; flipped, missing, extra hash. */
		ck_assert_int_eq(merkle_inclusion_verify(i, n, l[(i + 1) % n],
		    p, plen, root), n == 1 ? 0 : -1);
		if (n > 1) {
			ck_assert_int_eq(merkle_inclusion_verify((i + 1) % n,
			    n, l[i], p, plen, root), -1);
			p[rand() % plen][rand() % 32] ^= 1;
			ck_assert_int_eq(merkle_inclusion_verify(i, n, l[i],
			    p, plen, root), -1);
			memcpy(p, q, plen * 32);
			ck_assert_int_eq(merkle_inclusion_verify(i, n, l[i],
			    p, plen - 1, root), -1);
		}
		memcpy(p[plen], root, 32);
		ck_assert_int_eq(merkle_inclusion_verify(i, n, l[i], p,
		    plen + 1, root), -1);
		ck_assert_int_eq(merkle_inclusion_verify(n, n, l[i], p, plen,
		    root), -1);
		free(l);
	}
}
END_TEST

START_TEST(consistency_random)
{
	merkle_hash p[MERKLE_MAX_PROOF], q[MERKLE_MAX_PROOF], rm, rn;
	size_t plen, qlen;

	srand(9162);
	for (int iter = 0; iter < 400; iter++) {
		uint64_t n = 1 + (uint64_t)rand() % 300;
		uint64_t m = 1 + (uint64_t)rand() % n;
		merkle_hash *l = random_leaves(n);

		ref_mth(l, m, rm);
		ref_mth(l, n, rn);
		ck_assert_int_eq(merkle_consistency_proof(l, n, m, p, &plen),
		    0);
		qlen = 0;
		if (m < n)
			ref_subproof(m, l, n, 1, q, &qlen);
		ck_assert_uint_eq(plen, qlen);
		ck_assert_mem_eq(p, q, plen * 32);
		ck_assert_int_eq(merkle_consistency_verify(m, n, rm, rn, p,
		    plen), 0);
		if (m < n) {
			ck_assert_int_eq(merkle_consistency_verify(m, n, rn,
			    rm, p, plen), -1);
			ck_assert_int_eq(merkle_consistency_verify(m, n, rm,
			    rn, p, plen - 1), -1);
			memcpy(p[plen], rn, 32);
			ck_assert_int_eq(merkle_consistency_verify(m, n, rm,
			    rn, p, plen + 1), -1);
			p[rand() % plen][rand() % 32] ^= 0x80;
			ck_assert_int_eq(merkle_consistency_verify(m, n, rm,
			    rn, p, plen), -1);
		} else {
			ck_assert_int_eq(merkle_consistency_verify(m, n, rm,
			    rn, p, 0), 0);
			memcpy(p[0], rn, 32);
			ck_assert_int_eq(merkle_consistency_verify(m, n, rm,
			    rn, p, 1), -1);
		}
		ck_assert_int_eq(merkle_consistency_verify(0, n, rm, rn, p,
		    0), 0);
		ck_assert_int_eq(merkle_consistency_verify(0, n, rm, rn, p,
		    1), -1);
		ck_assert_int_eq(merkle_consistency_verify(n + 1, n, rm, rn,
		    p, 0), -1);
		free(l);
	}
}
END_TEST

static Suite *
merkle_suite(void)
{
	Suite *s = suite_create("merkle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, known_answers);
	tcase_add_test(tc, hex_roundtrip);
	tcase_add_test(tc, hex_every_byte);
	tcase_add_test(tc, inclusion_random);
	tcase_add_test(tc, consistency_random);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(merkle_suite)
