/*
 * checkpoint.h: C2SP tlog-checkpoint notes signed with Ed25519 (C2SP
 * signed-note, signature type 0x01) and C2SP tlog-proof@v1 documents.
 *
 * A checkpoint body is "origin\nsize\nbase64(root)\n"; the signed note
 * adds a blank line and one line per signature: U+2014, space, key name,
 * space, base64(key ID || signature).  The Ed25519 key ID is the first
 * four bytes of SHA-256(name || 0x0A || 0x01 || public key), and the
 * verifier key string is "name+hex(key ID)+base64(0x01 || public key)".
 */
#ifndef EPPGW_CHECKPOINT_H
#define EPPGW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "merkle.h"

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
 * this key under that name.
 */
struct note_verifier {
	char		name[CHECKPOINT_MAX_NAME];
	uint8_t		id[4];
	uint8_t		pub[32];
};

enum checkpoint_status {
	CHECKPOINT_OK = 0,
	CHECKPOINT_MALFORMED,		/* not a well-formed signed checkpoint */
	CHECKPOINT_UNTRUSTED,		/* no signature by a trusted key */
	CHECKPOINT_BAD_SIGNATURE	/* a trusted key's signature fails */
};

/* The Ed25519 signing key (PKCS#8 PEM).  -1 with err on failure. */
int checkpoint_key_load(const char *path, EVP_PKEY **key, char *err,
    size_t errlen);

/*
 * A verifier from a file: an SPKI PEM public key, or a file holding a
 * verifier key string.  -1 with err on failure.
 */
int note_verifier_load(const char *path, struct note_verifier *v, char *err,
    size_t errlen);
/* From a key (public or private); name may be NULL. */
int note_verifier_from_pkey(EVP_PKEY *key, const char *name,
    struct note_verifier *v);
/* Give a verifier a name (and so a key ID); -1 if the name is bad. */
int note_verifier_set_name(struct note_verifier *v, const char *name);
/* Parse "name+hex8+base64"; -1 if malformed. */
int note_verifier_parse(const char *s, struct note_verifier *v);
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
 */
enum checkpoint_status checkpoint_open(const char *note, size_t len,
    const struct note_verifier *v, struct checkpoint *out, char *err,
    size_t errlen);

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
/* Strict parse; -1 with err if malformed.  Free with tlog_proof_free. */
int tlog_proof_parse(const char *text, size_t len, struct tlog_proof *p,
    char *err, size_t errlen);
void tlog_proof_free(struct tlog_proof *p);

/* Strict standard base64 (canonical padding).  Decode returns -1 if not. */
size_t checkpoint_b64_encode(const void *in, size_t len, char *out);	/* out >= 4*ceil(len/3)+1 */
int checkpoint_b64_decode(const char *in, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen);

#endif
