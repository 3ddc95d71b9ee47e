/*
 * checkpoint.c: C2SP signed checkpoints and tlog-proof documents (see
 * checkpoint.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "checkpoint.h"
#include "err.h"

#define EMDASH		"\xe2\x80\x94"	/* U+2014 opens a signature line */
#define SIG_ALG_ED25519	0x01
#define SIG_ALG_COSIG_V1 0x04		/* tlog-cosignature, Ed25519 */
#define ED25519_SIGLEN	64
#define COSIG_LEN	(4 + 8 + ED25519_SIGLEN)	/* key ID, time, sig */
/* A signature line's decoded bytes: any length a note can hold (an
 * ML-DSA cosignature of another witness is 2432 bytes). */
#define SIGLINE_MAX	(CHECKPOINT_MAX_NOTE / 4 * 3)
#define VKEY_MAX	2048		/* decoded type || key of a vkey */

size_t
checkpoint_b64_encode(const void *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/*
 * EVP_DecodeBlock accepts sloppy input and pads its output with zeros;
 * re-encoding and comparing makes the decoding strict and canonical, so
 * one value has one spelling.
 */
int
checkpoint_b64_decode(const char *in, size_t len, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	uint8_t *tmp = NULL;
	char *reenc = NULL;
	size_t n, pad = 0;
	int r = -1, decoded;

	if (len == 0) {
		*outlen = 0;
		return 0;
	}
	if (len % 4 != 0 || len > 1 << 24)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	n = len / 4 * 3 - pad;
	if (n > outmax)
		return -1;
	if ((tmp = malloc(len / 4 * 3 + 1)) == NULL ||
	    (reenc = malloc(len + 1)) == NULL)
		goto out;
	decoded = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (decoded < 0 || (size_t)decoded != len / 4 * 3)
		goto out;
	if (checkpoint_b64_encode(tmp, n, reenc) != len ||
	    memcmp(reenc, in, len) != 0)
		goto out;
	memcpy(out, tmp, n);
	*outlen = n;
	r = 0;
 out:
	free(tmp);
	free(reenc);
	return r;
}

/* SHA-256(name || 0x0A || alg || pub)[:4] */
static void
key_id_alg(const char *name, uint8_t alg, const uint8_t pub[32],
    uint8_t id[4])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c;
	const uint8_t sep[2] = { 0x0a, alg };

	memset(id, 0, 4);
	if ((c = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, name, strlen(name)) == 1 &&
	    EVP_DigestUpdate(c, sep, sizeof(sep)) == 1 &&
	    EVP_DigestUpdate(c, pub, 32) == 1 &&
	    EVP_DigestFinal_ex(c, md, NULL) == 1)
		memcpy(id, md, 4);
	EVP_MD_CTX_free(c);
}

static void
key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
	key_id_alg(name, SIG_ALG_ED25519, pub, id);
}

/* A key name is non-empty, has no spaces or '+' and no control bytes. */
static int
valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= CHECKPOINT_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == '+' ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

static char *
read_small_file(const char *path, size_t max, size_t *lenp, struct err *e)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		if (ferror(f))
			err_set(e, ERR_SYSTEM, "%s: read error", path);
		else
			err_set(e, ERR_LIMIT, "%s: file too large", path);
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*lenp = n;
	return buf;
}

int
checkpoint_key_load(const char *path, EVP_PKEY **key, struct err *e)
{
	FILE *f;
	EVP_PKEY *k;

	if ((f = fopen(path, "r")) == NULL)
		return err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (k == NULL)
		return err_set(e, ERR_INVALID, "%s: not a PEM private key",
		    path);
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return err_set(e, ERR_INVALID, "%s: not an Ed25519 key", path);
	}
	*key = k;
	return 0;
}

int
note_verifier_from_pkey(EVP_PKEY *key, const char *name,
    struct note_verifier *v)
{
	size_t len = 32;

	memset(v, 0, sizeof(*v));
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, v->pub, &len) != 1 || len != 32)
		return -1;
	if (name != NULL) {
		if (!valid_name(name, strlen(name)))
			return -1;
		snprintf(v->name, sizeof(v->name), "%s", name);
		key_id(v->name, v->pub, v->id);
	}
	return 0;
}

int
note_verifier_set_name(struct note_verifier *v, const char *name)
{
	if (!valid_name(name, strlen(name)))
		return -1;
	snprintf(v->name, sizeof(v->name), "%s", name);
	key_id(v->name, v->pub, v->id);
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;	/* as Go's note.NewVerifier */
	return -1;
}

/*
 * "name+hex8+base64(type || 32-byte key)": the name, the key and the
 * hash as stated, which must be the key's (C2SP signed-note).
 */
static enum note_vkey_status
vkey_parse(const char *s, uint8_t type, char name[CHECKPOINT_MAX_NAME],
    uint8_t id[4], uint8_t pub[32])
{
	const char *p1, *p2;
	uint8_t raw[VKEY_MAX], want[4];
	size_t n;
	int hi, lo;

	if ((p1 = strchr(s, '+')) == NULL || (p2 = strchr(p1 + 1, '+')) ==
	    NULL || !valid_name(s, (size_t)(p1 - s)) || p2 - p1 != 9)
		return NOTE_VKEY_MALFORMED;
	for (int i = 0; i < 4; i++) {
		if ((hi = hexval(p1[1 + 2 * i])) == -1 ||
		    (lo = hexval(p1[2 + 2 * i])) == -1)
			return NOTE_VKEY_MALFORMED;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	if (checkpoint_b64_decode(p2 + 1, strlen(p2 + 1), raw, sizeof(raw),
	    &n) == -1 || n < 2)
		return NOTE_VKEY_MALFORMED;
	if (raw[0] != type)
		return NOTE_VKEY_WRONG_TYPE;
	if (n != 33)
		return NOTE_VKEY_MALFORMED;
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	memcpy(pub, raw + 1, 32);
	key_id_alg(name, type, pub, want);
	return memcmp(want, id, 4) == 0 ? NOTE_VKEY_OK :
	    NOTE_VKEY_HASH_MISMATCH;
}

enum note_vkey_status
note_verifier_decode(const char *s, struct note_verifier *v)
{
	enum note_vkey_status st;

	memset(v, 0, sizeof(*v));
	st = vkey_parse(s, SIG_ALG_ED25519, v->name, v->id, v->pub);
	if (st != NOTE_VKEY_OK && st != NOTE_VKEY_HASH_MISMATCH)
		memset(v, 0, sizeof(*v));
	return st;
}

int
note_verifier_parse(const char *s, struct note_verifier *v)
{
	return note_verifier_decode(s, v) == NOTE_VKEY_OK ? 0 : -1;
}

int
note_verifier_consistent(const struct note_verifier *v)
{
	uint8_t id[4];

	if (v->name[0] == '\0')
		return 1;
	key_id(v->name, v->pub, id);
	return memcmp(id, v->id, 4) == 0;
}

int
note_verifier_format(const struct note_verifier *v, char *buf, size_t len)
{
	uint8_t raw[33];
	char b64[64];
	int n;

	if (v->name[0] == '\0')
		return -1;
	raw[0] = SIG_ALG_ED25519;
	memcpy(raw + 1, v->pub, 32);
	checkpoint_b64_encode(raw, sizeof(raw), b64);
	n = snprintf(buf, len, "%s+%02x%02x%02x%02x+%s", v->name, v->id[0],
	    v->id[1], v->id[2], v->id[3], b64);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
note_verifier_load(const char *path, struct note_verifier *v, struct err *e)
{
	char *buf;
	size_t len;
	BIO *bio = NULL;
	EVP_PKEY *k = NULL;
	int r = -1;

	if ((buf = read_small_file(path, 16384, &len, e)) == NULL)
		return -1;
	if (strncmp(buf, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
		    (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
			err_set(e, ERR_INVALID, "%s: not a PEM public key",
			    path);
			goto out;
		}
		if (note_verifier_from_pkey(k, NULL, v) == -1) {
			err_set(e, ERR_INVALID, "%s: not an Ed25519 key", path);
			goto out;
		}
	} else {
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r' || buf[len - 1] == ' '))
			buf[--len] = '\0';
		switch (note_verifier_decode(buf, v)) {
		case NOTE_VKEY_OK:
		case NOTE_VKEY_HASH_MISMATCH:	/* trusts nothing */
			break;
		case NOTE_VKEY_WRONG_TYPE:
			err_set(e, ERR_INVALID, "%s: a verifier key of another "
			    "signature type, not an Ed25519 log key (type 1)",
			    path);
			goto out;
		default:
			err_set(e, ERR_INVALID, "%s: not a PEM public key or a "
			    "verifier key", path);
			goto out;
		}
	}
	r = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	BIO_free(bio);
	free(buf);
	return r;
}

int
checkpoint_body(const struct checkpoint *cp, char *buf, size_t len)
{
	char b64[64];
	int n;

	if (!valid_name(cp->origin, strlen(cp->origin)))
		return -1;
	checkpoint_b64_encode(cp->root, MERKLE_HASH_LEN, b64);
	n = snprintf(buf, len, "%s\n%llu\n%s\n", cp->origin,
	    (unsigned long long)cp->size, b64);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Ed25519 signature of msg into sig[64]; -1 on failure. */
static int
ed25519_sign(EVP_PKEY *key, const void *msg, size_t len,
    uint8_t sig[ED25519_SIGLEN])
{
	EVP_MD_CTX *c;
	size_t siglen = ED25519_SIGLEN;
	int rc = -1;

	if ((c = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(c, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(c, sig, &siglen, msg, len) == 1 &&
	    siglen == ED25519_SIGLEN)
		rc = 0;
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(c);
	return rc;
}

static int
ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *k;
	EVP_MD_CTX *c = NULL;
	int ok = 0;

	if ((k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    32)) == NULL)
		goto out;
	if ((c = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) != 1)
		goto out;
	ok = EVP_DigestVerify(c, sig, siglen, msg, len) == 1;
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok;
}

/* "— name base64(raw)\n", malloc'd, or NULL. */
static char *
sig_line_format(const char *name, const uint8_t *raw, size_t n)
{
	char *line;
	size_t len, off;

	len = strlen(EMDASH) + 2 + strlen(name) + 4 * (n / 3 + 1) + 2;
	if ((line = malloc(len)) == NULL)
		return NULL;
	off = (size_t)snprintf(line, len, EMDASH " %s ", name);
	off += checkpoint_b64_encode(raw, n, line + off);
	line[off++] = '\n';
	line[off] = '\0';
	return line;
}

char *
checkpoint_sign(EVP_PKEY *key, const char *name, const struct checkpoint *cp)
{
	char body[CHECKPOINT_MAX_NAME + 128], *line = NULL, *note = NULL;
	uint8_t raw[4 + ED25519_SIGLEN], pub[32];
	size_t publen = sizeof(pub), len;

	if (!valid_name(name, strlen(name)) ||
	    checkpoint_body(cp, body, sizeof(body)) == -1 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1)
		goto out;
	key_id(name, pub, raw);
	if (ed25519_sign(key, body, strlen(body), raw + 4) == -1 ||
	    (line = sig_line_format(name, raw, sizeof(raw))) == NULL)
		goto out;
	len = strlen(body) + 1 + strlen(line) + 1;
	if ((note = malloc(len)) == NULL)
		goto out;
	snprintf(note, len, "%s\n%s", body, line);
 out:
	ERR_clear_error();
	free(line);
	return note;
}

int
checkpoint_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static enum checkpoint_status
parse_body(const char *text, size_t len, struct checkpoint *out,
    struct err *e)
{
	const char *p = text, *end = text + len, *nl;
	size_t n;

	memset(out, 0, sizeof(*out));
	/* origin */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    !valid_name(p, (size_t)(nl - p))) {
		err_set(e, ERR_PARSE, "checkpoint: bad origin line");
		return CHECKPOINT_MALFORMED;
	}
	memcpy(out->origin, p, (size_t)(nl - p));
	p = nl + 1;
	/* size */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    checkpoint_parse_u64(p, (size_t)(nl - p), &out->size) == -1) {
		err_set(e, ERR_PARSE, "checkpoint: bad tree size line");
		return CHECKPOINT_MALFORMED;
	}
	p = nl + 1;
	/* root */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    checkpoint_b64_decode(p, (size_t)(nl - p), out->root,
	    MERKLE_HASH_LEN, &n) == -1 || n != MERKLE_HASH_LEN) {
		err_set(e, ERR_PARSE, "checkpoint: bad root hash line");
		return CHECKPOINT_MALFORMED;
	}
	/* Extension lines may follow; they are covered by the signature. */
	return CHECKPOINT_OK;
}

/*
 * The text of a signed note ends at its first blank line: *textlen bytes,
 * with the final newline; the signature lines start at note + *textlen +
 * 1.  -1 with e if len bytes are no signed note.
 */
static int
note_text(const char *note, size_t len, size_t *textlen, struct err *e)
{
	const char *sep = NULL;

	/* "return -1" spelled out: callers read *textlen after anything
	 * else, and the analyzer cannot see that err_set() returns -1. */
	if (len == 0 || len > CHECKPOINT_MAX_NOTE || note[len - 1] != '\n' ||
	    memchr(note, '\0', len) != NULL) {
		err_set(e, ERR_PARSE, "checkpoint: not a note");
		return -1;
	}
	for (size_t i = 0; i + 1 < len; i++)
		if (note[i] == '\n' && note[i + 1] == '\n') {
			sep = note + i;
			break;
		}
	if (sep == NULL || sep == note) {
		err_set(e, ERR_PARSE, "checkpoint: no signature block");
		return -1;
	}
	*textlen = (size_t)(sep - note) + 1;
	return 0;
}

/* One signature line: "— name base64(key ID || signature)". */
struct sig_line {
	const char	*start;		/* the line */
	size_t		 len;		/* with its newline */
	char		 name[CHECKPOINT_MAX_NAME];
	uint8_t		 raw[SIGLINE_MAX];
	size_t		 n;		/* decoded bytes, >= 5 */
};

/* The signature line at p, which ends before end; -1 if malformed. */
static int
sig_line_parse(const char *p, const char *end, struct sig_line *sl)
{
	const char *nl, *sp;
	size_t len;

	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	len = (size_t)(nl - p);
	if (len < 4 || memcmp(p, EMDASH " ", 4) != 0 ||
	    (sp = memchr(p + 4, ' ', len - 4)) == NULL ||
	    !valid_name(p + 4, (size_t)(sp - p - 4)) ||
	    checkpoint_b64_decode(sp + 1, (size_t)(nl - sp - 1), sl->raw,
	    sizeof(sl->raw), &sl->n) == -1 || sl->n < 5)
		return -1;
	memcpy(sl->name, p + 4, (size_t)(sp - p - 4));
	sl->name[sp - p - 4] = '\0';
	sl->start = p;
	sl->len = len + 1;
	return 0;
}

/*
 * What one signature line means to verifier v: 1 its trusted signature,
 * 0 another key's (ignored), -1 its failing signature.  *other is set
 * when the line is v's key under another name.
 */
static int
note_sig_check(const struct note_verifier *v, const struct sig_line *sl,
    const char *note, size_t textlen, int *other)
{
	uint8_t id[4];

	key_id(sl->name, v->pub, id);
	if (v->name[0] != '\0') {
		if (strcmp(v->name, sl->name) != 0) {
			if (memcmp(id, sl->raw, 4) == 0)
				*other = 1;
			return 0;
		}
		if (memcmp(v->id, sl->raw, 4) != 0)
			return 0;	/* the key ID the verifier states */
	}
	if (memcmp(id, sl->raw, 4) != 0)
		return 0;		/* another key: ignore it */
	if (sl->n != 4 + ED25519_SIGLEN ||
	    !ed25519_verify(v->pub, note, textlen, sl->raw + 4, sl->n - 4))
		return -1;
	return 1;
}

static enum checkpoint_status
untrusted(const struct note_verifier *v, const char *other, struct err *e)
{
	if (!note_verifier_consistent(v))
		err_set(e, ERR_REFUSED, "checkpoint: the verifier key of %s "
		    "states a key hash that is not its key's: it trusts no "
		    "signature", v->name);
	else if (other[0] != '\0')
		err_set(e, ERR_REFUSED, "checkpoint: signed by the key under "
		    "the name %s, not %s: the verifier key binds the key to "
		    "its name", other, v->name);
	else
		err_set(e, ERR_REFUSED, "checkpoint: no signature by a "
		    "trusted key");
	return CHECKPOINT_UNTRUSTED;
}

enum checkpoint_status
checkpoint_open(const char *note, size_t len, const struct note_verifier *v,
    struct checkpoint *out, struct err *e)
{
	struct sig_line *sl;
	const char *p, *end = note + len;
	char other[CHECKPOINT_MAX_NAME] = "";
	enum checkpoint_status st;
	size_t textlen, nsig = 0;
	int trusted = 0, o, rc;

	if (note_text(note, len, &textlen, e) == -1) {
		memset(out, 0, sizeof(*out));
		return CHECKPOINT_MALFORMED;
	}
	if ((st = parse_body(note, textlen, out, e)) !=
	    CHECKPOINT_OK)
		return st;
	if ((sl = malloc(sizeof(*sl))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return CHECKPOINT_MALFORMED;
	}
	for (p = note + textlen + 1; p < end; p += sl->len) {
		if (sig_line_parse(p, end, sl) == -1) {
			err_set(e, ERR_PARSE, "checkpoint: bad signature line");
			st = CHECKPOINT_MALFORMED;
			goto out;
		}
		nsig++;
		if (v == NULL)
			continue;
		o = 0;
		rc = note_sig_check(v, sl, note, textlen, &o);
		if (o && other[0] == '\0')
			snprintf(other, sizeof(other), "%s", sl->name);
		/* A known key's failed signature rejects the whole note. */
		if (rc == -1) {
			err_set(e, ERR_CRYPTO, "checkpoint: signature by %s "
			    "does not verify", sl->name);
			st = CHECKPOINT_BAD_SIGNATURE;
			goto out;
		}
		trusted |= rc;
	}
	if (nsig == 0) {
		err_set(e, ERR_PARSE, "checkpoint: no signature");
		st = CHECKPOINT_MALFORMED;
	} else if (v != NULL && !trusted)
		st = untrusted(v, other, e);
 out:
	free(sl);
	return st;
}

/* ---- witness cosignatures (C2SP tlog-cosignature) ---- */

int
cosig_verifier_from_pkey(EVP_PKEY *key, const char *name,
    struct cosig_verifier *w)
{
	size_t len = 32;

	memset(w, 0, sizeof(*w));
	if (name == NULL || !valid_name(name, strlen(name)) ||
	    EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, w->pub, &len) != 1 || len != 32) {
		ERR_clear_error();
		return -1;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	key_id_alg(w->name, SIG_ALG_COSIG_V1, w->pub, w->id);
	return 0;
}

enum note_vkey_status
cosig_verifier_decode(const char *s, struct cosig_verifier *w)
{
	enum note_vkey_status st;

	memset(w, 0, sizeof(*w));
	st = vkey_parse(s, SIG_ALG_COSIG_V1, w->name, w->id, w->pub);
	if (st != NOTE_VKEY_OK && st != NOTE_VKEY_HASH_MISMATCH)
		memset(w, 0, sizeof(*w));
	return st;
}

int
cosig_verifier_format(const struct cosig_verifier *w, char *buf, size_t len)
{
	uint8_t raw[33];
	char b64[64];
	int n;

	raw[0] = SIG_ALG_COSIG_V1;
	memcpy(raw + 1, w->pub, 32);
	checkpoint_b64_encode(raw, sizeof(raw), b64);
	n = snprintf(buf, len, "%s+%02x%02x%02x%02x+%s", w->name, w->id[0],
	    w->id[1], w->id[2], w->id[3], b64);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
cosig_verifier_consistent(const struct cosig_verifier *w)
{
	uint8_t id[4];

	key_id_alg(w->name, SIG_ALG_COSIG_V1, w->pub, id);
	return memcmp(id, w->id, 4) == 0;
}

uint8_t *
cosig_message(uint64_t t, const char *text, size_t len, size_t *msglen)
{
	char head[64];
	uint8_t *m;
	int n;

	n = snprintf(head, sizeof(head), COSIG_V1_HEADER "time %llu\n",
	    (unsigned long long)t);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    (m = malloc((size_t)n + len)) == NULL)
		return NULL;
	memcpy(m, head, (size_t)n);
	memcpy(m + n, text, len);
	*msglen = (size_t)n + len;
	return m;
}

/* The cosignature line of key under name at t over a note's text. */
static char *
cosig_line(EVP_PKEY *key, const char *name, uint64_t t, const char *text,
    size_t textlen, uint8_t id[4])
{
	uint8_t raw[COSIG_LEN], pub[32], *msg = NULL;
	size_t publen = sizeof(pub), msglen;
	char *line = NULL;

	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1 ||
	    publen != 32)
		goto out;
	key_id_alg(name, SIG_ALG_COSIG_V1, pub, id);
	memcpy(raw, id, 4);
	for (int i = 0; i < 8; i++)
		raw[4 + i] = (uint8_t)(t >> (56 - 8 * i));
	if ((msg = cosig_message(t, text, textlen, &msglen)) == NULL ||
	    ed25519_sign(key, msg, msglen, raw + 12) == -1)
		goto out;
	line = sig_line_format(name, raw, sizeof(raw));
 out:
	ERR_clear_error();
	free(msg);
	return line;
}

/* Append len bytes to buf (cap CHECKPOINT_MAX_NOTE); -1 if too long. */
static int
note_append(char *buf, size_t *off, const char *s, size_t len)
{
	if (*off + len > CHECKPOINT_MAX_NOTE)
		return -1;
	memcpy(buf + *off, s, len);
	*off += len;
	buf[*off] = '\0';
	return 0;
}

char *
checkpoint_cosign(EVP_PKEY *key, const char *name, uint64_t t,
    const char *note, size_t len, struct err *e)
{
	struct checkpoint cp;
	struct sig_line *sl = NULL;
	const char *p, *end = note + len;
	char *out = NULL, *line = NULL;
	uint8_t id[4];
	size_t textlen, off = 0;
	int ok = 0;

	if (!valid_name(name, strlen(name)) || t > COSIG_MAX_TIME) {
		err_set(e, ERR_INVALID, "cosign: bad witness name or time");
		return NULL;
	}
	if (note_text(note, len, &textlen, e) == -1 ||
	    parse_body(note, textlen, &cp, e) != CHECKPOINT_OK)
		return NULL;
	if ((line = cosig_line(key, name, t, note, textlen, id)) == NULL) {
		err_set(e, ERR_CRYPTO, "cosign: cannot sign with the witness "
		    "key");
		return NULL;
	}
	if ((sl = malloc(sizeof(*sl))) == NULL ||
	    (out = malloc(CHECKPOINT_MAX_NOTE + 1)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (note_append(out, &off, note, textlen + 1) == -1)
		goto toolong;
	/* The other lines as they are; an older line of ours goes. */
	for (p = note + textlen + 1; p < end; p += sl->len) {
		if (sig_line_parse(p, end, sl) == -1) {
			err_set(e, ERR_PARSE, "checkpoint: bad signature line");
			goto out;
		}
		if (strcmp(sl->name, name) == 0 && memcmp(sl->raw, id, 4) == 0)
			continue;
		if (note_append(out, &off, sl->start, sl->len) == -1)
			goto toolong;
	}
	if (note_append(out, &off, line, strlen(line)) == -1)
		goto toolong;
	ok = 1;
	goto out;
 toolong:
	err_set(e, ERR_LIMIT, "cosign: the note would exceed %d bytes",
	    CHECKPOINT_MAX_NOTE);
 out:
	if (!ok) {
		free(out);
		out = NULL;
	}
	free(sl);
	free(line);
	return out;
}

/* Whether one cosignature line of witness w verifies over the text. */
static enum cosig_status
cosig_check(const struct cosig_verifier *w, const struct sig_line *sl,
    const char *text, size_t textlen, uint64_t *t)
{
	uint8_t *msg;
	size_t msglen;
	int ok;

	if (sl->n != COSIG_LEN)
		return COSIG_BAD;
	*t = 0;
	for (int i = 0; i < 8; i++)
		*t = *t << 8 | sl->raw[4 + i];
	if (*t > COSIG_MAX_TIME ||
	    (msg = cosig_message(*t, text, textlen, &msglen)) == NULL)
		return COSIG_BAD;
	ok = ed25519_verify(w->pub, msg, msglen, sl->raw + 12,
	    ED25519_SIGLEN);
	free(msg);
	return ok ? COSIG_OK : COSIG_BAD;
}

int
checkpoint_cosigs(const char *note, size_t len,
    const struct cosig_verifier *w, size_t n, struct cosig_result *res,
    struct err *e)
{
	struct checkpoint cp;
	struct sig_line *sl;
	const char *p, *end = note + len;
	enum cosig_status st;
	size_t textlen;
	uint64_t t;
	int rc = -1;

	if (n > 0)
		memset(res, 0, n * sizeof(*res));
	if (note_text(note, len, &textlen, e) == -1 ||
	    parse_body(note, textlen, &cp, e) != CHECKPOINT_OK)
		return -1;
	if ((sl = malloc(sizeof(*sl))) == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (p = note + textlen + 1; p < end; p += sl->len) {
		if (sig_line_parse(p, end, sl) == -1) {
			err_set(e, ERR_PARSE, "checkpoint: bad signature line");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			/* Name and key ID, as stated and as derived. */
			if (strcmp(sl->name, w[i].name) != 0 ||
			    memcmp(sl->raw, w[i].id, 4) != 0 ||
			    !cosig_verifier_consistent(&w[i]))
				continue;
			/* A failing line of a witness is sticky. */
			st = cosig_check(&w[i], sl, note, textlen, &t);
			if (st == COSIG_BAD)
				res[i].status = COSIG_BAD;
			else if (res[i].status != COSIG_BAD) {
				res[i].status = COSIG_OK;
				if (t > res[i].time)
					res[i].time = t;
			}
		}
	}
	rc = 0;
 out:
	free(sl);
	return rc;
}

char *
tlog_proof_format(const void *extra, size_t extralen, uint64_t index,
    const merkle_hash *hashes, size_t nhashes, const char *note)
{
	size_t len, off = 0;
	char *out;
	int n;

	len = strlen(TLOG_PROOF_HEADER) + 2 + (extra ? 8 + 4 *
	    (extralen / 3 + 1) : 0) + 32 + nhashes * 46 + 2 + strlen(note) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	off = (size_t)snprintf(out, len, "%s\n", TLOG_PROOF_HEADER);
	if (extra != NULL) {
		memcpy(out + off, "extra ", 6);
		off += 6;
		off += checkpoint_b64_encode(extra, extralen, out + off);
		out[off++] = '\n';
	}
	n = snprintf(out + off, len - off, "index %llu\n",
	    (unsigned long long)index);
	off += (size_t)n;
	for (size_t i = 0; i < nhashes; i++) {
		off += checkpoint_b64_encode(hashes[i], MERKLE_HASH_LEN,
		    out + off);
		out[off++] = '\n';
	}
	out[off++] = '\n';
	snprintf(out + off, len - off, "%s", note);
	return out;
}

void
tlog_proof_free(struct tlog_proof *p)
{
	free(p->extra);
	free(p->note);
	memset(p, 0, sizeof(*p));
}

int
tlog_proof_parse(const char *text, size_t len, struct tlog_proof *p,
    struct err *e)
{
	const char *s = text, *end = text + len, *nl;
	size_t n, hl = strlen(TLOG_PROOF_HEADER);

	memset(p, 0, sizeof(*p));
	if ((nl = memchr(s, '\n', len)) == NULL || (size_t)(nl - s) != hl ||
	    memcmp(s, TLOG_PROOF_HEADER, hl) != 0) {
		err_set(e, ERR_PARSE, "proof: missing %s header",
		    TLOG_PROOF_HEADER);
		goto bad;
	}
	s = nl + 1;
	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
		goto trunc;
	if (nl - s >= 6 && memcmp(s, "extra ", 6) == 0) {
		n = (size_t)(nl - s - 6);
		if ((p->extra = malloc(n / 4 * 3 + 1)) == NULL ||
		    checkpoint_b64_decode(s + 6, n, p->extra, n / 4 * 3 + 1,
		    &p->extralen) == -1) {
			err_set(e, ERR_PARSE, "proof: bad extra line");
			goto bad;
		}
		p->has_extra = 1;
		s = nl + 1;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			goto trunc;
	}
	if (nl - s < 7 || memcmp(s, "index ", 6) != 0 ||
	    checkpoint_parse_u64(s + 6, (size_t)(nl - s - 6), &p->index) == -1) {
		err_set(e, ERR_PARSE, "proof: bad index line");
		goto bad;
	}
	for (s = nl + 1;; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			goto trunc;
		if (nl == s)
			break;
		if (p->nhashes == MERKLE_MAX_PROOF ||
		    checkpoint_b64_decode(s, (size_t)(nl - s),
		    p->hashes[p->nhashes], MERKLE_HASH_LEN, &n) == -1 ||
		    n != MERKLE_HASH_LEN) {
			err_set(e, ERR_PARSE, "proof: bad hash line");
			goto bad;
		}
		p->nhashes++;
	}
	s = nl + 1;
	p->notelen = (size_t)(end - s);
	if ((p->note = malloc(p->notelen + 1)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto bad;
	}
	memcpy(p->note, s, p->notelen);
	p->note[p->notelen] = '\0';
	return 0;
 trunc:
	err_set(e, ERR_PARSE, "proof: truncated");
 bad:
	tlog_proof_free(p);
	return -1;
}
