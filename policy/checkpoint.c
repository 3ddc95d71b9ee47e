/*
 * checkpoint.c: C2SP signed checkpoints and tlog-proof documents (see
 * checkpoint.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "checkpoint.h"

#define EMDASH		"\xe2\x80\x94"	/* U+2014 opens a signature line */
#define SIG_ALG_ED25519	0x01
#define ED25519_SIGLEN	64

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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
	char *re = NULL;
	size_t n, pad = 0;
	int r = -1, dl;

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
	    (re = malloc(len + 1)) == NULL)
		goto out;
	dl = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (dl < 0 || (size_t)dl != len / 4 * 3)
		goto out;
	if (checkpoint_b64_encode(tmp, n, re) != len ||
	    memcmp(re, in, len) != 0)
		goto out;
	memcpy(out, tmp, n);
	*outlen = n;
	r = 0;
 out:
	free(tmp);
	free(re);
	return r;
}

static void
key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c;
	const uint8_t sep[2] = { 0x0a, SIG_ALG_ED25519 };

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
read_small_file(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		seterr(err, errlen, "%s: %s", path,
		    ferror(f) ? "read error" : "file too large");
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
checkpoint_key_load(const char *path, EVP_PKEY **key, char *err,
    size_t errlen)
{
	FILE *f;
	EVP_PKEY *k;

	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (k == NULL) {
		seterr(err, errlen, "%s: not a PEM private key", path);
		return -1;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		seterr(err, errlen, "%s: not an Ed25519 key", path);
		return -1;
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

int
note_verifier_parse(const char *s, struct note_verifier *v)
{
	const char *p1, *p2;
	uint8_t raw[64], id[4];
	size_t n;
	unsigned x;

	memset(v, 0, sizeof(*v));
	if ((p1 = strchr(s, '+')) == NULL || (p2 = strchr(p1 + 1, '+')) ==
	    NULL || !valid_name(s, (size_t)(p1 - s)) || p2 - p1 != 9)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (sscanf(p1 + 1 + 2 * i, "%2x", &x) != 1)
			return -1;
		id[i] = (uint8_t)x;
	}
	for (int i = 0; i < 8; i++)
		if (strchr("0123456789abcdef", p1[1 + i]) == NULL)
			return -1;
	if (checkpoint_b64_decode(p2 + 1, strlen(p2 + 1), raw, sizeof(raw),
	    &n) == -1 || n != 33 || raw[0] != SIG_ALG_ED25519)
		return -1;
	memcpy(v->name, s, (size_t)(p1 - s));
	memcpy(v->pub, raw + 1, 32);
	key_id(v->name, v->pub, v->id);
	/* The ID is derived, so a string that disagrees is corrupt. */
	if (memcmp(v->id, id, 4) != 0)
		return -1;
	return 0;
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
note_verifier_load(const char *path, struct note_verifier *v, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	BIO *bio = NULL;
	EVP_PKEY *k = NULL;
	int r = -1;

	if ((buf = read_small_file(path, 16384, &len, err, errlen)) == NULL)
		return -1;
	if (strncmp(buf, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
		    (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
			seterr(err, errlen, "%s: not a PEM public key", path);
			goto out;
		}
		if (note_verifier_from_pkey(k, NULL, v) == -1) {
			seterr(err, errlen, "%s: not an Ed25519 key", path);
			goto out;
		}
	} else {
		while (len > 0 && (buf[len - 1] == '\n' ||
		    buf[len - 1] == '\r' || buf[len - 1] == ' '))
			buf[--len] = '\0';
		if (note_verifier_parse(buf, v) == -1) {
			seterr(err, errlen, "%s: not a PEM public key or a "
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

char *
checkpoint_sign(EVP_PKEY *key, const char *name, const struct checkpoint *cp)
{
	char body[CHECKPOINT_MAX_NAME + 128], sigb64[128], *note = NULL;
	uint8_t raw[4 + ED25519_SIGLEN], pub[32];
	size_t siglen = ED25519_SIGLEN, publen = sizeof(pub), len;
	EVP_MD_CTX *c = NULL;

	if (!valid_name(name, strlen(name)) ||
	    checkpoint_body(cp, body, sizeof(body)) == -1 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1)
		goto out;
	key_id(name, pub, raw);
	if ((c = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(c, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(c, raw + 4, &siglen, (const uint8_t *)body,
	    strlen(body)) != 1 || siglen != ED25519_SIGLEN)
		goto out;
	checkpoint_b64_encode(raw, sizeof(raw), sigb64);
	len = strlen(body) + strlen(name) + strlen(sigb64) + 16;
	if ((note = malloc(len)) == NULL)
		goto out;
	snprintf(note, len, "%s\n" EMDASH " %s %s\n", body, name, sigb64);
 out:
	ERR_clear_error();
	EVP_MD_CTX_free(c);
	return note;
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

/* Decimal without sign, leading zeros (except "0") or overflow. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
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
parse_body(const char *text, size_t len, struct checkpoint *out, char *err,
    size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	size_t n;

	memset(out, 0, sizeof(*out));
	/* origin */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    !valid_name(p, (size_t)(nl - p))) {
		seterr(err, errlen, "checkpoint: bad origin line");
		return CHECKPOINT_MALFORMED;
	}
	memcpy(out->origin, p, (size_t)(nl - p));
	p = nl + 1;
	/* size */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    parse_u64(p, (size_t)(nl - p), &out->size) == -1) {
		seterr(err, errlen, "checkpoint: bad tree size line");
		return CHECKPOINT_MALFORMED;
	}
	p = nl + 1;
	/* root */
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    checkpoint_b64_decode(p, (size_t)(nl - p), out->root,
	    MERKLE_HASH_LEN, &n) == -1 || n != MERKLE_HASH_LEN) {
		seterr(err, errlen, "checkpoint: bad root hash line");
		return CHECKPOINT_MALFORMED;
	}
	/* Extension lines may follow; they are covered by the signature. */
	return CHECKPOINT_OK;
}

enum checkpoint_status
checkpoint_open(const char *note, size_t len, const struct note_verifier *v,
    struct checkpoint *out, char *err, size_t errlen)
{
	const char *sep = NULL, *p, *end = note + len, *nl, *sp;
	uint8_t raw[4 + ED25519_SIGLEN + 16], id[4];
	char name[CHECKPOINT_MAX_NAME];
	enum checkpoint_status st;
	size_t textlen, nl_, n, nsig = 0;
	int trusted = 0;

	if (len == 0 || len > CHECKPOINT_MAX_NOTE || note[len - 1] != '\n' ||
	    memchr(note, '\0', len) != NULL) {
		seterr(err, errlen, "checkpoint: not a note");
		return CHECKPOINT_MALFORMED;
	}
	/* The text ends at the first blank line. */
	for (size_t i = 0; i + 1 < len; i++)
		if (note[i] == '\n' && note[i + 1] == '\n') {
			sep = note + i;
			break;
		}
	if (sep == NULL || sep == note) {
		seterr(err, errlen, "checkpoint: no signature block");
		return CHECKPOINT_MALFORMED;
	}
	textlen = (size_t)(sep - note) + 1;
	if ((st = parse_body(note, textlen, out, err, errlen)) !=
	    CHECKPOINT_OK)
		return st;

	for (p = sep + 2; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl_ = (size_t)(nl - p);
		if (nl_ < 4 || memcmp(p, EMDASH " ", 4) != 0 ||
		    (sp = memchr(p + 4, ' ', nl_ - 4)) == NULL ||
		    !valid_name(p + 4, (size_t)(sp - p - 4)) ||
		    checkpoint_b64_decode(sp + 1, (size_t)(nl - sp - 1), raw,
		    sizeof(raw), &n) == -1 || n < 5) {
			seterr(err, errlen, "checkpoint: bad signature line");
			return CHECKPOINT_MALFORMED;
		}
		nsig++;
		if (v == NULL)
			continue;
		memcpy(name, p + 4, (size_t)(sp - p - 4));
		name[sp - p - 4] = '\0';
		if (v->name[0] != '\0' && strcmp(v->name, name) != 0)
			continue;
		key_id(name, v->pub, id);
		if (memcmp(id, raw, 4) != 0)
			continue;	/* another key: ignore it */
		/* A known key's failed signature rejects the whole note. */
		if (n != 4 + ED25519_SIGLEN ||
		    !ed25519_verify(v->pub, note, textlen, raw + 4, n - 4)) {
			seterr(err, errlen, "checkpoint: signature by %s does "
			    "not verify", name);
			return CHECKPOINT_BAD_SIGNATURE;
		}
		trusted = 1;
	}
	if (nsig == 0) {
		seterr(err, errlen, "checkpoint: no signature");
		return CHECKPOINT_MALFORMED;
	}
	if (v != NULL && !trusted) {
		seterr(err, errlen, "checkpoint: no signature by a trusted key");
		return CHECKPOINT_UNTRUSTED;
	}
	return CHECKPOINT_OK;
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
    char *err, size_t errlen)
{
	const char *s = text, *end = text + len, *nl;
	size_t n, hl = strlen(TLOG_PROOF_HEADER);

	memset(p, 0, sizeof(*p));
	if ((nl = memchr(s, '\n', len)) == NULL || (size_t)(nl - s) != hl ||
	    memcmp(s, TLOG_PROOF_HEADER, hl) != 0) {
		seterr(err, errlen, "proof: missing %s header",
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
			seterr(err, errlen, "proof: bad extra line");
			goto bad;
		}
		p->has_extra = 1;
		s = nl + 1;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			goto trunc;
	}
	if (nl - s < 7 || memcmp(s, "index ", 6) != 0 ||
	    parse_u64(s + 6, (size_t)(nl - s - 6), &p->index) == -1) {
		seterr(err, errlen, "proof: bad index line");
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
			seterr(err, errlen, "proof: bad hash line");
			goto bad;
		}
		p->nhashes++;
	}
	s = nl + 1;
	p->notelen = (size_t)(end - s);
	if ((p->note = malloc(p->notelen + 1)) == NULL)
		goto bad;
	memcpy(p->note, s, p->notelen);
	p->note[p->notelen] = '\0';
	return 0;
 trunc:
	seterr(err, errlen, "proof: truncated");
 bad:
	tlog_proof_free(p);
	return -1;
}
