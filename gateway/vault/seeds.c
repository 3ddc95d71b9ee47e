/*
 * seeds.c: operators' TOTP seeds and eppgw's own TOTP check (approval.h).
 *
 * liboath computes the codes; everything it is lenient about (the digit
 * count follows the submitted string, an empty base32 string decodes to an
 * empty key) is checked here first.  Seeds never leave this file except as
 * HMAC keys handed to liboath, and every buffer that held one is wiped.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <oath.h>
#include <openssl/crypto.h>

#include "approval.h"
#include "buf.h"
#include "err.h"

#define SEEDS_FILE_MAX	(1024 * 1024)	/* a seeds file is a few lines */
#define SEED_MIN_BYTES	16		/* RFC 4226 R6: at least 128 bits */
#define SEED_MAX_BYTES	128
#define STEP_MAX	3600
#define WINDOW_MAX	10		/* steps either side; config allows 2 */

struct seed {
	char	 name[APPROVAL_NAME_MAX];
	int	 flags;			/* OATH_TOTP_HMAC_* */
	unsigned digits;		/* 6-8 */
	unsigned step;			/* seconds */
	char	*key;
	size_t	 keylen;
};

struct seeds {
	struct seed	*v;
	size_t		 n, cap;
};

/* A seed is a line of more than 16 bytes in a file of SEEDS_FILE_MAX. */
#define SEEDS_MAX	(SEEDS_FILE_MAX / 16)

static const struct {
	const char	*name;
	int		 flags;
} algs[] = {
	{ "SHA1", 0 },
	{ "SHA256", OATH_TOTP_HMAC_SHA256 },
	{ "SHA512", OATH_TOTP_HMAC_SHA512 },
};

void
seeds_free(struct seeds *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		OPENSSL_cleanse(s->v[i].key, s->v[i].keylen);
		free(s->v[i].key);
	}
	free(s->v);
	free(s);
}

static const struct seed *
seed_find(const struct seeds *s, const char *name)
{
	if (s == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

int
seeds_has(const struct seeds *s, const char *name)
{
	return seed_find(s, name) != NULL;
}

/* Operator names as the config spells them: no spaces, no controls. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= APPROVAL_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * RFC 4648 base32, upper or lower case, padding optional but only at the
 * end and only to a multiple of 8.  liboath would take an empty string or
 * a truncated quantum without complaint.
 */
static int
base32_ok(const char *s)
{
	size_t n = strlen(s), pad = 0, data;

	while (pad < n && s[n - 1 - pad] == '=')
		pad++;
	data = n - pad;
	if (data == 0)
		return 0;
	for (size_t i = 0; i < data; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '2' && c <= '7')))
			return 0;
	}
	switch (data % 8) {
	case 1:
	case 3:
	case 6:
		return 0;	/* no whole byte ends there */
	}
	if (pad > 0 && (n % 8 != 0 || pad > 6))
		return 0;
	return 1;
}

/* A decimal number in [lo, hi], nothing else. */
static int
number(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 9)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Split a line into at most max whitespace-separated fields, in place. */
static size_t
fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/*
 * Parse one non-comment line into sd (key malloc'd).  The message says
 * what is wrong with the line; the caller adds where it is.
 */
static int
parse_line(char *line, struct seed *sd, struct err *e)
{
	char *f[5];
	size_t i, outlen = 0;
	char *out = NULL;

	if (fields(line, f, 5) != 5)
		return err_set(e, ERR_INVALID,
		    "expected NAME ALG DIGITS STEP BASE32SEED");
	if (!name_ok(f[0]))
		return err_set(e, ERR_INVALID, "bad operator name");
	memcpy(sd->name, f[0], strlen(f[0]) + 1);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(f[1], algs[i].name) == 0)
			break;
	if (i == sizeof(algs) / sizeof(algs[0]))
		return err_set(e, ERR_INVALID,
		    "unknown algorithm (SHA1, SHA256 or SHA512)");
	sd->flags = algs[i].flags;
	if (number(f[2], 6, 8, &sd->digits) == -1)
		return err_set(e, ERR_INVALID, "digits must be 6, 7 or 8");
	if (number(f[3], 1, STEP_MAX, &sd->step) == -1)
		return err_set(e, ERR_INVALID,
		    "step must be 1-3600 seconds");
	if (!base32_ok(f[4]))
		return err_set(e, ERR_INVALID,
		    "seed is empty or not base32");
	if (oath_base32_decode(f[4], strlen(f[4]), &out, &outlen) != OATH_OK ||
	    out == NULL) {
		free(out);	/* NULL, or a partial result on error */
		return err_set(e, ERR_INVALID, "seed is not base32");
	}
	if (outlen < SEED_MIN_BYTES || outlen > SEED_MAX_BYTES) {
		OPENSSL_cleanse(out, outlen);
		free(out);
		return err_set(e, ERR_INVALID, "seed must be 16-128 bytes");
	}
	sd->key = out;
	sd->keylen = outlen;
	return 0;
}

/* -1 if another operator already has this name or this seed. */
static int
duplicate(const struct seeds *s, const struct seed *sd, struct err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].name, sd->name) == 0)
			return err_set(e, ERR_INVALID, "operator listed twice");
		if (s->v[i].keylen == sd->keylen &&
		    CRYPTO_memcmp(s->v[i].key, sd->key, sd->keylen) == 0)
			return err_set(e, ERR_INVALID,
			    "two operators share a seed");
	}
	return 0;
}

/*
 * The whole file in one allocation (so no stale copy of a seed is left
 * behind by a growing buffer), after the mode and owner checks on the
 * descriptor we read from.
 */
static char *
read_private(const char *path, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		err_set(e, ERR_SYSTEM, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%s: not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		err_set(e, ERR_INVALID, "%s: mode %04o, must be 0600", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		err_set(e, ERR_INVALID, "%s: not owned by the gateway's user",
		    path);
		goto fail;
	}
	if (st.st_size > SEEDS_FILE_MAX) {
		err_set(e, ERR_LIMIT, "%s: too large", path);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		err_set(e, ERR_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		r = read(fd, buf + off, (size_t)st.st_size - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	if (off != (size_t)st.st_size) {
		err_set(e, ERR_INVALID, "%s: short read", path);
		goto fail;
	}
	buf[off] = '\0';
	if (memchr(buf, '\0', off) != NULL) {
		err_set(e, ERR_INVALID, "%s: NUL byte in file", path);
		goto fail;
	}
	close(fd);
	return buf;
 fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}

int
seeds_load(const char *path, struct seeds **out, struct err *e)
{
	struct seeds *s = NULL;
	struct seed sd;
	char *buf, *line, *next;
	size_t len, lineno = 0;
	int rc = -1;

	*out = NULL;
	if (oath_init() != OATH_OK)
		return err_set(e, ERR_CRYPTO,
		    "%s: liboath initialisation failed", path);
	if ((buf = read_private(path, e)) == NULL)
		return -1;
	len = strlen(buf);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(e, ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	for (line = buf; line != NULL; line = next) {
		struct seed *nv;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		line += strspn(line, " \t");
		if (*line == '\0' || *line == '#')
			continue;
		memset(&sd, 0, sizeof(sd));
		if (parse_line(line, &sd, e) == -1) {
			err_wrap(e, "%s:%zu", path, lineno);
			goto out;
		}
		if (duplicate(s, &sd, e) == -1) {
			err_wrap(e, "%s:%zu", path, lineno);
			OPENSSL_cleanse(sd.key, sd.keylen);
			free(sd.key);
			goto out;
		}
		if ((nv = grow_array(s->v, &s->cap, s->n + 1, sizeof(*nv),
		    SEEDS_MAX)) == NULL) {
			err_set(e, ERR_NOMEM, "%s: out of memory", path);
			OPENSSL_cleanse(sd.key, sd.keylen);
			free(sd.key);
			goto out;
		}
		s->v = nv;
		s->v[s->n++] = sd;
	}
	*out = s;
	s = NULL;
	rc = 0;
 out:
	OPENSSL_cleanse(buf, len);
	free(buf);
	OPENSSL_cleanse(&sd, sizeof(sd));
	seeds_free(s);
	return rc;
}

/* Exactly digits ASCII digits: liboath would take any length from 6 to 8. */
static int
code_ok(const char *code, unsigned digits)
{
	size_t i;

	for (i = 0; code[i] != '\0'; i++)
		if (i >= digits || code[i] < '0' || code[i] > '9')
			return 0;
	return i == digits;
}

int
seeds_totp_check(const struct seeds *s, const char *name, const char *code,
    int64_t now, unsigned window, int64_t *step)
{
	const struct seed *sd;
	char want[16];
	int64_t cur, t;
	int found = 0;

	if ((sd = seed_find(s, name)) == NULL)
		return -1;
	if (code == NULL || !code_ok(code, sd->digits) || now < 0 ||
	    window > WINDOW_MAX || oath_init() != OATH_OK)
		return 0;
	cur = now / sd->step;
	/*
	 * Every step in the window is computed and compared in constant
	 * time, with no early exit, so timing says nothing about which step
	 * (if any) matched.  Order: now, +1, -1, +2, -2 ...; the first match
	 * wins, as in liboath.
	 */
	for (unsigned k = 0; k <= 2 * window; k++) {
		int64_t off = (k % 2 == 1) ? (int64_t)(k + 1) / 2 :
		    -(int64_t)(k / 2);

		t = cur + off;
		if (t < 0)
			continue;
		if (oath_totp_generate2(sd->key, sd->keylen,
		    (time_t)(t * (int64_t)sd->step), sd->step, 0, sd->digits,
		    sd->flags, want) != OATH_OK)
			continue;
		if (CRYPTO_memcmp(want, code, sd->digits) == 0 && !found) {
			found = 1;
			*step = t;
		}
	}
	OPENSSL_cleanse(want, sizeof(want));
	return found;
}
