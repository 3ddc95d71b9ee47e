/*
 * merkle.h: RFC 6962 (RFC 9162 section 2.1) Merkle tree hashing.
 *
 * Pure functions over 32-byte SHA-256 hashes: leaf and node hashes, the
 * root of n leaves, inclusion and consistency proofs (make and verify), and
 * a compact range (one subtree root per set bit of the size) so a writer
 * can append a leaf in amortised O(1) and read the root in O(log n).
 */
#ifndef EPPGW_MERKLE_H
#define EPPGW_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN		32
#define MERKLE_MAX_PROOF	64	/* a proof never has more hashes */

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

/* SHA-256(0x00 || data) */
void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
/* SHA-256(0x01 || left || right) */
void merkle_node_hash(const merkle_hash left, const merkle_hash right,
    merkle_hash out);
/* SHA-256(""), the root of the empty tree */
void merkle_empty_root(merkle_hash out);

/* Root of the tree over leaf hashes leaves[0..n). */
void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out);

/*
 * Inclusion proof of leaf index in the tree of size n (RFC 6962 2.1.1).
 * Writes *plen (<= MERKLE_MAX_PROOF) hashes into proof.  -1 if index >= n.
 */
int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t n,
    uint64_t index, merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen);
/* RFC 9162 2.1.3.2.  0 if the proof is valid, -1 otherwise. */
int merkle_inclusion_verify(uint64_t index, uint64_t size,
    const merkle_hash leaf, const merkle_hash *proof, size_t plen,
    const merkle_hash root);
/* Root implied by an inclusion proof, or -1 if its shape is wrong. */
int merkle_inclusion_root(uint64_t index, uint64_t size,
    const merkle_hash leaf, const merkle_hash *proof, size_t plen,
    merkle_hash root);

/*
 * Consistency proof between the trees of sizes m <= n (RFC 6962 2.1.2).
 * Empty when m == 0 or m == n.  -1 if m > n.
 */
int merkle_consistency_proof(const merkle_hash *leaves, uint64_t n,
    uint64_t m, merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen);
/*
 * RFC 9162 2.1.4.2.  m == 0 is consistent with anything (empty proof);
 * m == n needs an empty proof and equal roots.  0 valid, -1 not.
 */
int merkle_consistency_verify(uint64_t m, uint64_t n,
    const merkle_hash root_m, const merkle_hash root_n,
    const merkle_hash *proof, size_t plen);

/*
 * Compact range [0, size): the roots of the perfect subtrees given by the
 * binary decomposition of size, largest (leftmost) first.  Plain data:
 * copy it freely.
 */
struct merkle_range {
	uint64_t	size;
	unsigned	nstack;
	merkle_hash	stack[64];
};

void merkle_range_init(struct merkle_range *r);
void merkle_range_append(struct merkle_range *r, const merkle_hash leaf);
void merkle_range_root(const struct merkle_range *r, merkle_hash out);

/* Lower-case hex of a hash into out[65]; parse 64 hex digits (-1 if not). */
void merkle_hex(const merkle_hash h, char out[2 * MERKLE_HASH_LEN + 1]);
int merkle_unhex(const char *s, size_t len, merkle_hash out);

#endif
