/*
 * merkle.c: RFC 6962 Merkle tree hashing (see merkle.h).
 */
/*
 * The low-level SHA256_* calls are deprecated in OpenSSL 3 but hash a
 * prefix byte and a buffer without an EVP fetch or context per call: the
 * verifier hashes every line of the log, so that cost matters.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/sha.h>

#include "hex.h"
#include "merkle.h"

void
merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	SHA256_CTX c;
	const uint8_t zero = 0x00;

	SHA256_Init(&c);
	SHA256_Update(&c, &zero, 1);
	SHA256_Update(&c, data, len);
	SHA256_Final(out, &c);
}

void
merkle_node_hash(const merkle_hash left, const merkle_hash right,
    merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];
	SHA256_CTX c;

	/* out may alias left or right: hash from a copy.  Not the one-shot
	 * SHA256(), which fetches the digest anew on every call: a tree of
	 * 200,000 leaves took six times as long with it. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	SHA256_Init(&c);
	SHA256_Update(&c, buf, sizeof(buf));
	SHA256_Final(out, &c);
}

void
merkle_empty_root(merkle_hash out)
{
	SHA256((const uint8_t *)"", 0, out);
}

void
merkle_range_init(struct merkle_range *r)
{
	memset(r, 0, sizeof(*r));
}

void
merkle_range_append(struct merkle_range *r, const merkle_hash leaf)
{
	merkle_hash h;
	uint64_t s = r->size;

	/* Every trailing one bit of the old size closes a subtree. */
	memcpy(h, leaf, MERKLE_HASH_LEN);
	while (s & 1) {
		merkle_node_hash(r->stack[--r->nstack], h, h);
		s >>= 1;
	}
	memcpy(r->stack[r->nstack++], h, MERKLE_HASH_LEN);
	r->size++;
}

void
merkle_range_root(const struct merkle_range *r, merkle_hash out)
{
	merkle_hash h;

	if (r->nstack == 0) {
		merkle_empty_root(out);
		return;
	}
	memcpy(h, r->stack[r->nstack - 1], MERKLE_HASH_LEN);
	for (unsigned i = r->nstack - 1; i-- > 0; )
		merkle_node_hash(r->stack[i], h, h);
	memcpy(out, h, MERKLE_HASH_LEN);
}

void
merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out)
{
	struct merkle_range r;

	merkle_range_init(&r);
	for (uint64_t i = 0; i < n; i++)
		merkle_range_append(&r, leaves[i]);
	merkle_range_root(&r, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static void
reverse(merkle_hash *p, size_t n)
{
	merkle_hash t;

	for (size_t i = 0; i < n / 2; i++) {
		memcpy(t, p[i], MERKLE_HASH_LEN);
		memcpy(p[i], p[n - 1 - i], MERKLE_HASH_LEN);
		memcpy(p[n - 1 - i], t, MERKLE_HASH_LEN);
	}
}

/*
 * RFC 6962 PATH(m, D[n]), unrolled from the top: each level adds the root
 * of the sibling subtree, and the recursive definition lists the deepest
 * sibling first, hence the final reversal.  The siblings are disjoint, so
 * the whole proof costs O(n) hashes.
 */
int
merkle_inclusion_proof(const merkle_hash *leaves, uint64_t n, uint64_t index,
    merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen)
{
	uint64_t off = 0, len = n, k;
	size_t cnt = 0;

	if (index >= n)
		return -1;
	while (len > 1) {
		k = split_point(len);
		if (index < k) {
			merkle_root(leaves + off + k, len - k, proof[cnt++]);
			len = k;
		} else {
			merkle_root(leaves + off, k, proof[cnt++]);
			off += k;
			index -= k;
			len -= k;
		}
	}
	reverse(proof, cnt);
	*plen = cnt;
	return 0;
}

/* RFC 6962 SUBPROOF(m, D[n], true), unrolled the same way. */
int
merkle_consistency_proof(const merkle_hash *leaves, uint64_t n, uint64_t m,
    merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen)
{
	uint64_t off = 0, len = n, k;
	size_t cnt = 0;
	int whole = 1;

	if (m > n)
		return -1;
	*plen = 0;
	if (m == 0 || m == n)
		return 0;
	for (;;) {
		if (m == len) {
			if (!whole)
				merkle_root(leaves + off, len, proof[cnt++]);
			break;
		}
		k = split_point(len);
		if (m <= k) {
			merkle_root(leaves + off + k, len - k, proof[cnt++]);
			len = k;
		} else {
			merkle_root(leaves + off, k, proof[cnt++]);
			off += k;
			m -= k;
			len -= k;
			whole = 0;
		}
	}
	reverse(proof, cnt);
	*plen = cnt;
	return 0;
}

int
merkle_inclusion_root(uint64_t index, uint64_t size, const merkle_hash leaf,
    const merkle_hash *proof, size_t plen, merkle_hash root)
{
	uint64_t fn = index, sn;
	merkle_hash r;

	if (index >= size || plen > MERKLE_MAX_PROOF)
		return -1;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < plen; i++) {
		if (sn == 0)
			return -1;	/* a trailing extra hash */
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			merkle_node_hash(r, proof[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;		/* a missing hash */
	memcpy(root, r, MERKLE_HASH_LEN);
	return 0;
}

int
merkle_inclusion_verify(uint64_t index, uint64_t size, const merkle_hash leaf,
    const merkle_hash *proof, size_t plen, const merkle_hash root)
{
	merkle_hash r;

	if (merkle_inclusion_root(index, size, leaf, proof, plen, r) == -1)
		return -1;
	return memcmp(r, root, MERKLE_HASH_LEN) == 0 ? 0 : -1;
}

int
merkle_consistency_verify(uint64_t m, uint64_t n, const merkle_hash root_m,
    const merkle_hash root_n, const merkle_hash *proof, size_t plen)
{
	merkle_hash path[MERKLE_MAX_PROOF + 1], fr, sr;
	size_t np = 0;
	uint64_t fn, sn;

	if (m > n || plen > MERKLE_MAX_PROOF)
		return -1;
	if (m == 0)
		return plen == 0 ? 0 : -1;
	if (m == n)
		return plen == 0 &&
		    memcmp(root_m, root_n, MERKLE_HASH_LEN) == 0 ? 0 : -1;
	if (plen == 0)
		return -1;
	/* When m is a power of two its root is the proof's implicit head. */
	if ((m & (m - 1)) == 0)
		memcpy(path[np++], root_m, MERKLE_HASH_LEN);
	memcpy(path + np, proof, plen * MERKLE_HASH_LEN);
	np += plen;

	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, path[0], MERKLE_HASH_LEN);
	memcpy(sr, path[0], MERKLE_HASH_LEN);
	for (size_t i = 1; i < np; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(path[i], fr, fr);
			merkle_node_hash(path[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else
			merkle_node_hash(sr, path[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, root_m, MERKLE_HASH_LEN) != 0 ||
	    memcmp(sr, root_n, MERKLE_HASH_LEN) != 0)
		return -1;
	return 0;
}

void
merkle_hex(const merkle_hash h, char out[2 * MERKLE_HASH_LEN + 1])
{
	hex_encode(h, MERKLE_HASH_LEN, out);
}

int
merkle_unhex(const char *s, size_t len, merkle_hash out)
{
	return hex_decode(s, len, out, MERKLE_HASH_LEN);
}
