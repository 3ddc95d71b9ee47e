/*
 * jcanon.c: the canonical-record check (jcanon.h).  One pass, no
 * allocation: a recursive descent over RFC 8259's grammar with the extra
 * rules of the log's form.  Every rule is a reason jansson or the
 * verifier's scanner could read the line differently from the writer.
 */
#include <stdint.h>
#include <string.h>

#include "jcanon.h"

struct scan {
	const unsigned char	*p;
	size_t			 n, i;
};

static int value(struct scan *s, int depth);

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX at s->i (after the backslash and 'u'): its code unit, or -1. */
static long
hex4(struct scan *s)
{
	long v = 0;
	int d;

	if (s->n - s->i < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		if ((d = hexval(s->p[s->i + k])) == -1)
			return -1;
		v = v * 16 + d;
	}
	s->i += 4;
	return v;
}

/* One escape after its backslash. */
static int
escape(struct scan *s)
{
	long u, lo;

	if (s->i >= s->n)
		return -1;
	switch (s->p[s->i++]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n':
	case 'r': case 't':
		return 0;
	case 'u':
		break;
	default:
		return -1;
	}
	if ((u = hex4(s)) <= 0)		/* \u0000: jansson refuses it */
		return -1;
	if (u >= 0xdc00 && u <= 0xdfff)	/* a low surrogate alone */
		return -1;
	if (u < 0xd800 || u > 0xdbff)
		return 0;
	/* A high surrogate: its low half must follow. */
	if (s->n - s->i < 2 || s->p[s->i] != '\\' || s->p[s->i + 1] != 'u')
		return -1;
	s->i += 2;
	if ((lo = hex4(s)) < 0xdc00 || lo > 0xdfff)
		return -1;
	return 0;
}

/* One UTF-8 sequence of two or more bytes at s->i (Unicode table 3-7). */
static int
utf8(struct scan *s)
{
	unsigned char c = s->p[s->i], lo = 0x80, hi = 0xbf;
	size_t more;

	if (c >= 0xc2 && c <= 0xdf)
		more = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		more = 2;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return -1;
	if (s->n - s->i - 1 < more)
		return -1;
	for (size_t k = 1; k <= more; k++) {
		c = s->p[s->i + k];
		if (c < lo || c > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
	}
	s->i += more + 1;
	return 0;
}

/* A string at s->i; *plain says whether it had no escape. */
static int
string(struct scan *s, int *plain)
{
	unsigned char c;

	if (s->i >= s->n || s->p[s->i] != '"')
		return -1;
	s->i++;
	if (plain != NULL)
		*plain = 1;
	while (s->i < s->n) {
		c = s->p[s->i];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (plain != NULL)
				*plain = 0;
			s->i++;
			if (escape(s) == -1)
				return -1;
		} else if (c < 0x80)
			s->i++;
		else if (utf8(s) == -1)
			return -1;
	}
	return -1;
}

/*
 * An integer that fits in int64_t, as jansson would read it (it refuses
 * larger ones); no fraction or exponent, no leading zero, no "-0" (jansson
 * reads it as 0 and writes that back as "0").
 */
static int
number(struct scan *s)
{
	uint64_t v = 0, max = INT64_MAX;
	int d;

	if (s->i < s->n && s->p[s->i] == '-') {
		max = (uint64_t)INT64_MAX + 1;
		s->i++;
	}
	if (s->i >= s->n || s->p[s->i] < '0' || s->p[s->i] > '9')
		return -1;
	if (s->p[s->i] == '0') {
		if (max != INT64_MAX)
			return -1;	/* "-0" */
		s->i++;
	} else {
		while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9') {
			d = s->p[s->i++] - '0';
			if (v > (max - (uint64_t)d) / 10)
				return -1;
			v = v * 10 + (uint64_t)d;
		}
	}
	/* What follows a number is a separator, never more of it. */
	if (s->i < s->n && (s->p[s->i] == '.' || s->p[s->i] == 'e' ||
	    s->p[s->i] == 'E' || (s->p[s->i] >= '0' && s->p[s->i] <= '9')))
		return -1;
	return 0;
}

static int
literal(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->n - s->i < n || memcmp(s->p + s->i, lit, n) != 0)
		return -1;
	s->i += n;
	return 0;
}

/*
 * An object at s->i; fn (the top level's only) sees each member.  Keys
 * must be plain and strictly ascending.
 */
static int
object(struct scan *s, int depth, jcanon_member_fn fn, void *arg)
{
	struct jcanon_member m;
	const unsigned char *lastk = NULL;
	size_t lastn = 0, ks, vs;
	int plain, c;

	s->i++;				/* '{' */
	if (s->i < s->n && s->p[s->i] == '}') {
		s->i++;
		return 0;
	}
	for (;;) {
		ks = s->i;
		if (string(s, &plain) == -1 || !plain)
			return -1;
		m.key = (const char *)s->p + ks + 1;
		m.keylen = s->i - ks - 2;
		if (lastk != NULL) {
			c = memcmp(lastk, m.key, lastn < m.keylen ? lastn :
			    m.keylen);
			if (c > 0 || (c == 0 && lastn >= m.keylen))
				return -1;
		}
		lastk = (const unsigned char *)m.key;
		lastn = m.keylen;
		if (s->i >= s->n || s->p[s->i] != ':')
			return -1;
		vs = ++s->i;
		if (value(s, depth + 1) == -1)
			return -1;
		if (fn != NULL) {
			m.start = ks;
			m.val = (const char *)s->p + vs;
			m.vallen = s->i - vs;
			if (fn(&m, arg) == -1)
				return -1;
		}
		if (s->i >= s->n)
			return -1;
		if (s->p[s->i] == '}') {
			s->i++;
			return 0;
		}
		if (s->p[s->i++] != ',')
			return -1;
	}
}

static int
array(struct scan *s, int depth)
{
	s->i++;				/* '[' */
	if (s->i < s->n && s->p[s->i] == ']') {
		s->i++;
		return 0;
	}
	for (;;) {
		if (value(s, depth + 1) == -1 || s->i >= s->n)
			return -1;
		if (s->p[s->i] == ']') {
			s->i++;
			return 0;
		}
		if (s->p[s->i++] != ',')
			return -1;
	}
}

static int
value(struct scan *s, int depth)
{
	if (depth > JCANON_MAX_DEPTH || s->i >= s->n)
		return -1;
	switch (s->p[s->i]) {
	case '{':
		return object(s, depth, NULL, NULL);
	case '[':
		return array(s, depth);
	case '"':
		return string(s, NULL);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		return number(s);
	}
}

int
jcanon_check(const char *p, size_t n, jcanon_member_fn fn, void *arg)
{
	struct scan s = { (const unsigned char *)p, n, 0 };

	if (p == NULL || n < 2 || s.p[0] != '{')
		return -1;
	if (object(&s, 1, fn, arg) == -1)
		return -1;
	return s.i == n ? 0 : -1;
}
