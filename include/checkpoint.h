/*
 * checkpoint.h: C2SP tlog-checkpoint notes signed with Ed25519 (C2SP
 * signed-note, signature type 0x01) and C2SP tlog-proof@v1 documents.
 *
 * A checkpoint body is "origin\nsize\nbase64(root)\n"; the signed note
 * adds a blank line and one line per signature: U+2014, space, key name,
 * space, base64(key ID || signature).  The Ed25519 key ID is the first
 * four bytes of SHA-256(name || 0x0A || 0x01 || public key), and the
 * verifier key string is "name+hex(key ID)+base64(0x01 || public key)".
 *
 * A verifier key string binds the key to its name: a signature counts
 * only when its line carries that name and that key ID.  A PEM key has no
 * name, so a verifier made from one cannot check the name.
 *
 * Witness cosignatures (C2SP tlog-cosignature, cosignature/v1, Ed25519,
 * signature type 0x04) are further signature lines on a checkpoint: key
 * ID SHA-256(name || 0x0A || 0x04 || public key)[:4], signature
 * u64 big-endian POSIX time || Ed25519 signature of "cosignature/v1\n"
 * "time <decimal time>\n" and the whole note text (with its final
 * newline, without the signature lines).
 */
#ifndef EPPGW_CHECKPOINT_H
#define EPPGW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "merkle.h"

struct err;

#define CHECKPOINT_MAX_NAME	256
#define CHECKPOINT_MAX_NOTE	8192	/* larger notes are refused */
#define TLOG_PROOF_HEADER	"c2sp.org/tlog-proof@v1"

struct checkpoint {
	char		origin[CHECKPOINT_MAX_NAME];
	uint64_t	size;
	merkle_hash	root;
};

/*
 * A trusted Ed25519 key.  An empty name (a key read from a PEM file, which
 * carries none) trusts signature lines of any name whose key ID matches
 * this key under that name.  A named verifier trusts only lines of its
 * name whose key ID is its id (which a verifier key string states: one
 * whose id is not its key's trusts no line).
 */
struct note_verifier {
	char		name[CHECKPOINT_MAX_NAME];
	uint8_t		id[4];
	uint8_t		pub[32];
};

/* What a verifier key string is (note_ and cosig_verifier_decode). */
enum note_vkey_status {
	NOTE_VKEY_OK = 0,
	NOTE_VKEY_MALFORMED,		/* not name+hex8+base64(type || key) */
	NOTE_VKEY_WRONG_TYPE,		/* well formed, another signature type */
	NOTE_VKEY_HASH_MISMATCH		/* well formed, but the hash is not
					   its key's: it trusts nothing */
};

enum checkpoint_status {
	CHECKPOINT_OK = 0,
	CHECKPOINT_MALFORMED,		/* not a well-formed signed checkpoint */
	CHECKPOINT_UNTRUSTED,		/* no signature by a trusted key */
	CHECKPOINT_BAD_SIGNATURE	/* a trusted key's signature fails */
};

/* The Ed25519 signing key (PKCS#8 PEM).  -1 with e (err.h) on failure:
 * ERR_SYSTEM if it cannot be opened, ERR_INVALID if it is no such key. */
int checkpoint_key_load(const char *path, EVP_PKEY **key, struct err *e);

/*
 * A verifier from a file: an SPKI PEM public key, or a file holding a
 * verifier key string (one whose hash is not its key's loads, and trusts
 * nothing).  -1 with e on failure (ERR_SYSTEM, ERR_NOMEM, ERR_LIMIT,
 * ERR_INVALID).
 */
int note_verifier_load(const char *path, struct note_verifier *v,
    struct err *e);
/* From a key (public or private); name may be NULL. */
int note_verifier_from_pkey(EVP_PKEY *key, const char *name,
    struct note_verifier *v);
/* Give a verifier a name (and so a key ID); -1 if the name is bad. */
int note_verifier_set_name(struct note_verifier *v, const char *name);
/* Parse "name+hex8+base64"; -1 if malformed or its hash is wrong. */
int note_verifier_parse(const char *s, struct note_verifier *v);
/*
 * Parse "name+hex8+base64(0x01 || key)", saying what is wrong.  With
 * NOTE_VKEY_HASH_MISMATCH v is filled in with the hash as stated, so it
 * trusts no signature line (checkpoint_open says why).
 */
enum note_vkey_status note_verifier_decode(const char *s,
    struct note_verifier *v);
/* 1 if a named verifier's id is its key's (or it has no name), else 0. */
int note_verifier_consistent(const struct note_verifier *v);
/* Format the verifier key string; the verifier needs a name.  -1 if not. */
int note_verifier_format(const struct note_verifier *v, char *buf,
    size_t len);

/* Body text of a checkpoint into buf; -1 if it does not fit. */
int checkpoint_body(const struct checkpoint *cp, char *buf, size_t len);

/*
 * The signed note for cp, signed by key under name (usually the origin).
 * Returns a malloc'd NUL-terminated string, or NULL on failure.
 */
char *checkpoint_sign(EVP_PKEY *key, const char *name,
    const struct checkpoint *cp);

/*
 * Parse a signed checkpoint note of len bytes and, when v is not NULL,
 * check its signatures (signature lines of unknown keys are ignored).
 * Anything but CHECKPOINT_OK fills e: ERR_PARSE (or ERR_NOMEM) with
 * CHECKPOINT_MALFORMED, ERR_REFUSED with CHECKPOINT_UNTRUSTED, ERR_CRYPTO
 * with CHECKPOINT_BAD_SIGNATURE.
 */
enum checkpoint_status checkpoint_open(const char *note, size_t len,
    const struct note_verifier *v, struct checkpoint *out, struct err *e);

/*
 * Witness cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1).
 * A witness key is named; its verifier key string is
 * "name+hex(key ID)+base64(0x04 || public key)".
 */
#define COSIG_V1_HEADER		"cosignature/v1\n"
#define COSIG_MAX_TIME		INT64_MAX	/* the spec's 2^63 - 1 */

struct cosig_verifier {
	char		name[CHECKPOINT_MAX_NAME];
	uint8_t		id[4];
	uint8_t		pub[32];
};

/* From a key (public or private) and a name; -1 if either is bad. */
int cosig_verifier_from_pkey(EVP_PKEY *key, const char *name,
    struct cosig_verifier *w);
/* Parse "name+hex8+base64(0x04 || key)" (as note_verifier_decode). */
enum note_vkey_status cosig_verifier_decode(const char *s,
    struct cosig_verifier *w);
/* Format the verifier key string; -1 if it does not fit. */
int cosig_verifier_format(const struct cosig_verifier *w, char *buf,
    size_t len);
/* 1 if the verifier's id is its key's, else 0. */
int cosig_verifier_consistent(const struct cosig_verifier *w);

/*
 * The message a cosignature at time t signs over a note text of len
 * bytes (the body with its final newline).  malloc'd, or NULL.
 */
uint8_t *cosig_message(uint64_t t, const char *text, size_t len,
    size_t *msglen);

/*
 * The signed note with a cosignature by key under name at time t added
 * as its last signature line (a line of the same name and key ID is
 * replaced; the others are kept).  malloc'd, or NULL with e.
 */
char *checkpoint_cosign(EVP_PKEY *key, const char *name, uint64_t t,
    const char *note, size_t len, struct err *e);

enum cosig_status {
	COSIG_ABSENT = 0,	/* no line of its name and key ID */
	COSIG_OK,		/* its cosignature verifies */
	COSIG_BAD		/* a line of its name and key ID fails */
};

struct cosig_result {
	enum cosig_status status;
	uint64_t	  time;		/* COSIG_OK: its time */
};

/*
 * The cosignatures of n witnesses on a signed note: res[i] for w[i].
 * Lines of other names or key IDs are ignored.  -1 with e (ERR_PARSE)
 * if the note is malformed.
 */
int checkpoint_cosigs(const char *note, size_t len,
    const struct cosig_verifier *w, size_t n, struct cosig_result *res,
    struct err *e);

/* C2SP tlog-proof@v1. */
struct tlog_proof {
	int		 has_extra;
	uint8_t		*extra;
	size_t		 extralen;
	uint64_t	 index;
	size_t		 nhashes;
	merkle_hash	 hashes[MERKLE_MAX_PROOF];
	char		*note;		/* the signed checkpoint, NUL-terminated */
	size_t		 notelen;
};

/* A malloc'd proof document; extra may be NULL (no extra line). */
char *tlog_proof_format(const void *extra, size_t extralen, uint64_t index,
    const merkle_hash *hashes, size_t nhashes, const char *note);
/* Strict parse; -1 with e (ERR_PARSE) if malformed.  Free with
 * tlog_proof_free. */
int tlog_proof_parse(const char *text, size_t len, struct tlog_proof *p,
    struct err *e);
void tlog_proof_free(struct tlog_proof *p);

/* Strict standard base64 (canonical padding).  Decode returns -1 if not. */
/* A decimal without sign, leading zeros (but "0") or overflow, as
 * checkpoints and proofs write sizes and indexes: 0, or -1. */
int checkpoint_parse_u64(const char *s, size_t len, uint64_t *out);
size_t checkpoint_b64_encode(const void *in, size_t len, char *out);	/* out >= 4*ceil(len/3)+1 */
int checkpoint_b64_decode(const char *in, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen);

#endif
