/*
 * test_jcanon.c: the canonical-record check (jcanon.h).  A table of
 * accepted and refused bodies at each rule's boundary, the nesting limit,
 * the top-level member callback, and a property test against jansson:
 * what jansson writes (JSON_COMPACT | JSON_SORT_KEYS) is accepted, and
 * whatever jcanon accepts, jansson reads as one object without duplicate
 * keys.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jcanon.h"
#include "../jcanon_plain.h"
#include "suites.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* sizeof keeps embedded NULs and trailing bytes in the length. */
#define OK(s)	{ s, sizeof(s) - 1, 1 }
#define NO(s)	{ s, sizeof(s) - 1, 0 }

static const struct jcase {
	const char	*in;
	size_t		 len;
	int		 ok;
} cases[] = {
	/* The top level: exactly one object, nothing around it. */
	OK("{}"),
	OK("{\"a\":1}"),
	NO(""),
	NO("{"),
	NO("}"),
	NO("{}}"),
	NO("{}{}"),
	NO("[]"),
	NO("[{}]"),
	NO("\"a\""),
	NO("1"),
	NO("null"),
	NO("{}\0"),
	NO("{\"a\":1}x"),
	NO("{\"a\":1}\xc2\x80"),
	NO("{\"a\":1"),
	NO("{\"a\":1,"),
	/* No whitespace outside strings; inside them it is data. */
	OK("{\"a\":\"x y\"}"),
	NO(" {}"),
	NO("{} "),
	NO("{}\n"),
	NO("{ }"),
	NO("{ \"a\":1}"),
	NO("{\"a\" :1}"),
	NO("{\"a\": 1}"),
	NO("{\"a\":1 }"),
	NO("{\"a\":1, \"b\":2}"),
	NO("{\"a\":[1, 2]}"),
	NO("{\"a\":[ ]}"),
	NO("{\"a\":{ }}"),
	NO("{\t\"a\":1}"),
	NO("{\"a\":1\r}"),
	/* Grammar. */
	OK("{\"a\":true,\"b\":false,\"c\":null}"),
	OK("{\"a\":[]}"),
	OK("{\"a\":{}}"),
	OK("{\"a\":[1,\"x\",[],{},[true,[null]]]}"),
	OK("{\"a\":[{\"b\":1},{\"b\":1}]}"),
	NO("{,}"),
	NO("{\"a\":1,}"),
	NO("{\"a\"}"),
	NO("{\"a\":}"),
	NO("{\"a\"1}"),
	NO("{\"a\":1\"b\":2}"),
	NO("{\"a\":1;\"b\":2}"),
	NO("{a:1}"),
	NO("{'a':1}"),
	NO("{1:1}"),
	NO("{\"a\":[1,]}"),
	NO("{\"a\":[,1]}"),
	NO("{\"a\":[1}"),
	NO("{\"a\":{]}"),
	NO("{\"a\":[}"),
	NO("{\"a\":tru}"),
	NO("{\"a\":True}"),
	NO("{\"a\":truex}"),
	NO("{\"a\":nul}"),
	NO("{\"a\":fals}"),
	NO("{\"a\":undefined}"),
	NO("{\"a\":'x'}"),
	/* Integers in int64_t, written the short way. */
	OK("{\"a\":0}"),
	OK("{\"a\":-1}"),
	OK("{\"a\":10}"),
	OK("{\"a\":9223372036854775807}"),
	OK("{\"a\":-9223372036854775808}"),
	OK("{\"a\":[9223372036854775807,-9223372036854775808]}"),
	NO("{\"a\":9223372036854775808}"),
	NO("{\"a\":-9223372036854775809}"),
	NO("{\"a\":9223372036854775810}"),
	NO("{\"a\":18446744073709551615}"),
	NO("{\"a\":18446744073709551616}"),
	NO("{\"a\":92233720368547758070}"),
	NO("{\"a\":-0}"),
	NO("{\"a\":01}"),
	NO("{\"a\":00}"),
	NO("{\"a\":-01}"),
	NO("{\"a\":1.0}"),
	NO("{\"a\":0.5}"),
	NO("{\"a\":1.}"),
	NO("{\"a\":.5}"),
	NO("{\"a\":1e2}"),
	NO("{\"a\":1E2}"),
	NO("{\"a\":0e0}"),
	NO("{\"a\":1e-2}"),
	NO("{\"a\":+1}"),
	NO("{\"a\":-}"),
	NO("{\"a\":--1}"),
	NO("{\"a\":-a}"),
	NO("{\"a\":0x10}"),
	NO("{\"a\":Infinity}"),
	NO("{\"a\":-Infinity}"),
	NO("{\"a\":NaN}"),
	NO("{\"a\":1-}"),
	/* Keys: plain, strictly ascending as bytes, a prefix first. */
	OK("{\"\":1}"),
	OK("{\"\":1,\"a\":2}"),
	OK("{\"a\":1,\"ab\":2}"),
	OK("{\"a\":1,\"ab\":2,\"b\":3}"),
	OK("{\"A\":1,\"_\":2,\"a\":3}"),
	OK("{\"z\":1,\"\x7f\":2,\"\xc3\xa9\":3,\"\xe2\x82\xac\":4}"),
	OK("{\"a\":{\"a\":1,\"b\":2},\"b\":{\"a\":1}}"),
	OK("{\"a b\":0,\"a/b\":1}"),
	NO("{\"a\":1,\"a\":2}"),
	NO("{\"\":1,\"\":2}"),
	NO("{\"b\":1,\"a\":2}"),
	NO("{\"ab\":1,\"a\":2}"),
	NO("{\"a\":1,\"b\":2,\"b\":3}"),
	NO("{\"a\":1,\"c\":2,\"b\":3}"),
	NO("{\"\xc3\xa9\":1,\"z\":2}"),
	NO("{\"a\":{\"b\":1,\"a\":2}}"),
	NO("{\"a\":{\"b\":1,\"b\":2}}"),
	NO("{\"a\":[{\"b\":1,\"b\":2}]}"),
	NO("{\"a\":[[{\"ab\":1,\"a\":2}]]}"),
	NO("{\"\\u0061\":1}"),
	NO("{\"a\\/\":1}"),
	NO("{\"a\\n\":1}"),
	NO("{\"\\\"\":1}"),
	NO("{\"a\":{\"\\u0062\":1}}"),
	NO("{\"a\n\":1}"),
	/* Strings: escapes. */
	OK("{\"a\":\"\"}"),
	OK("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
	OK("{\"a\":\"\\u0001\\u001f\\u007f\"}"),
	OK("{\"a\":\"\\u0041\\u00e9\\u20AC\\uffff\"}"),
	OK("{\"a\":\"\\ud83d\\ude00\"}"),
	OK("{\"a\":\"\\uD83D\\uDE00\"}"),
	OK("{\"a\":\"\\ud800\\udc00\\udbff\\udfff\"}"),
	OK("{\"a\":\"\\ud7ff\\ue000\"}"),
	OK("{\"a\":\"x\\\\\"}"),
	NO("{\"a\":\"\\u0000\"}"),
	NO("{\"a\":\"x\\u0000y\"}"),
	NO("{\"a\":\"\\ud83d\"}"),
	NO("{\"a\":\"\\ude00\"}"),
	NO("{\"a\":\"\\udfff\"}"),
	NO("{\"a\":\"\\ud83dx\"}"),
	NO("{\"a\":\"\\ud83d\\u0041\"}"),
	NO("{\"a\":\"\\ud83d\\ud83d\"}"),
	NO("{\"a\":\"\\ud83d\\ue000\"}"),
	NO("{\"a\":\"\\ude00\\ud83d\"}"),
	NO("{\"a\":\"\\ud83d\\\\ude00\"}"),
	NO("{\"a\":\"\\ud83d\\n\"}"),
	NO("{\"a\":\"\\ud83d\\ude0\"}"),
	NO("{\"a\":\"\\ud83d"),
	NO("{\"a\":\"\\ud83d\\"),
	NO("{\"a\":\"\\ud83d\\u"),
	NO("{\"a\":\"\\u12\"}"),
	NO("{\"a\":\"\\u12g4\"}"),
	NO("{\"a\":\"\\u 123\"}"),
	NO("{\"a\":\"\\U0041\"}"),
	NO("{\"a\":\"\\x41\"}"),
	NO("{\"a\":\"\\'\"}"),
	NO("{\"a\":\"\\a\"}"),
	NO("{\"a\":\"\\0\"}"),
	NO("{\"a\":\"\\\"}"),
	NO("{\"a\":\"\\"),
	NO("{\"a\":\"x}"),
	NO("{\"a\":\"x"),
	/* Strings: no raw control character; DEL is not one. */
	OK("{\"a\":\"\x7f\"}"),
	NO("{\"a\":\"\0\"}"),
	NO("{\"a\":\"\x01\"}"),
	NO("{\"a\":\"\x1f\"}"),
	NO("{\"a\":\"\t\"}"),
	NO("{\"a\":\"\n\"}"),
	NO("{\"a\":\"\r\"}"),
	NO("{\"\x01\":1}"),
	/* UTF-8: each boundary of Unicode's table 3-7. */
	OK("{\"a\":\"\xc2\x80\"}"),			/* U+0080 */
	OK("{\"a\":\"\xdf\xbf\"}"),			/* U+07FF */
	OK("{\"a\":\"\xe0\xa0\x80\"}"),			/* U+0800 */
	OK("{\"a\":\"\xe0\xbf\xbf\"}"),			/* U+0FFF */
	OK("{\"a\":\"\xe1\x80\x80\"}"),			/* U+1000 */
	OK("{\"a\":\"\xec\xbf\xbf\"}"),			/* U+CFFF */
	OK("{\"a\":\"\xed\x80\x80\"}"),			/* U+D000 */
	OK("{\"a\":\"\xed\x9f\xbf\"}"),			/* U+D7FF */
	OK("{\"a\":\"\xee\x80\x80\"}"),			/* U+E000 */
	OK("{\"a\":\"\xef\xbf\xbf\"}"),			/* U+FFFF */
	OK("{\"a\":\"\xf0\x90\x80\x80\"}"),		/* U+10000 */
	OK("{\"a\":\"\xf0\xbf\xbf\xbf\"}"),		/* U+3FFFF */
	OK("{\"a\":\"\xf1\x80\x80\x80\"}"),		/* U+40000 */
	OK("{\"a\":\"\xf3\xbf\xbf\xbf\"}"),		/* U+FFFFF */
	OK("{\"a\":\"\xf4\x80\x80\x80\"}"),		/* U+100000 */
	OK("{\"a\":\"\xf4\x8f\xbf\xbf\"}"),		/* U+10FFFF */
	OK("{\"a\":\"x\xc3\xa9y\xe2\x82\xacz\xf0\x9f\x98\x80\"}"),
	OK("{\"\xf0\x9f\x98\x80\":\"\xf4\x8f\xbf\xbf\"}"),
	NO("{\"a\":\"\x80\"}"),				/* a tail byte */
	NO("{\"a\":\"\xbf\"}"),
	NO("{\"a\":\"\xc0\x80\"}"),			/* overlong NUL */
	NO("{\"a\":\"\xc0\xaf\"}"),
	NO("{\"a\":\"\xc1\xbf\"}"),			/* overlong U+7F */
	NO("{\"a\":\"\xe0\x80\x80\"}"),			/* overlong */
	NO("{\"a\":\"\xe0\x9f\xbf\"}"),		/* U+07FF, long */
	NO("{\"a\":\"\xf0\x80\x80\x80\"}"),		/* overlong */
	NO("{\"a\":\"\xf0\x8f\xbf\xbf\"}"),		/* overlong U+FFFF */
	NO("{\"a\":\"\xed\xa0\x80\"}"),			/* U+D800 */
	NO("{\"a\":\"\xed\xbf\xbf\"}"),			/* U+DFFF */
	NO("{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}"),	/* CESU-8 U+1F600 */
	NO("{\"a\":\"\xf4\x90\x80\x80\"}"),		/* U+110000 */
	NO("{\"a\":\"\xf4\xbf\xbf\xbf\"}"),
	NO("{\"a\":\"\xf5\x80\x80\x80\"}"),
	NO("{\"a\":\"\xf7\xbf\xbf\xbf\"}"),
	NO("{\"a\":\"\xf8\x88\x80\x80\x80\"}"),
	NO("{\"a\":\"\xfc\x84\x80\x80\x80\x80\"}"),
	NO("{\"a\":\"\xfe\"}"),
	NO("{\"a\":\"\xff\"}"),
	NO("{\"a\":\"\xc2\"}"),				/* truncated */
	NO("{\"a\":\"\xdf\"}"),
	NO("{\"a\":\"\xe0\xa0\"}"),
	NO("{\"a\":\"\xe2\x82\"}"),
	NO("{\"a\":\"\xf0\x90\x80\"}"),
	NO("{\"a\":\"\xf4\x8f\xbf\"}"),
	NO("{\"a\":\"\xc2"),				/* ... at the end */
	NO("{\"a\":\"\xe2\x82"),
	NO("{\"a\":\"\xf0\x9f\x98"),
	NO("{\"a\":\"\xc2\x41\"}"),			/* a bad tail */
	NO("{\"a\":\"\xe2\x41\xac\"}"),
	NO("{\"a\":\"\xe2\x82\xc0\"}"),
	NO("{\"a\":\"\xf0\x9f\x98\x41\"}"),
	NO("{\"a\":\"\xc2\x80\x80\"}"),		/* a tail extra */
	NO("{\"\xc0\x80\":1}"),				/* in a key */
	NO("{\"\xed\xa0\x80\":1}"),
	NO("{\"a\":[\"\xf4\x90\x80\x80\"]}"),
	NO("{\"a\":\xc2\x80}"),				/* bare */
	NO("{\xef\xbb\xbf\"a\":1}"),
	NO("\xef\xbb\xbf{}"),				/* a BOM */
};

/* s as C would write it, for messages (one static buffer). */
static const char *
show(const char *s, size_t n)
{
	static char buf[1024];
	size_t o = 0;
	unsigned char c;

	for (size_t i = 0; i < n && o + 8 < sizeof(buf); i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\%c",
			    c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o,
			    "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * jcanon on a copy that ends where an unmapped page begins: a read past
 * p[n - 1] is a SIGSEGV (an error under CK_FORK), sanitizer or not.
 */
#define ARENA	(1024 * 1024)

static char *arena;
static size_t pagesz;

static int
check_copy(const char *s, size_t n, jcanon_member_fn fn, void *arg)
{
	char *p;

	if (arena == NULL) {
		pagesz = (size_t)sysconf(_SC_PAGESIZE);
		arena = mmap(NULL, ARENA + pagesz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(arena, MAP_FAILED);
		ck_assert_int_eq(mprotect(arena + ARENA, pagesz, PROT_NONE),
		    0);
	}
	ck_assert_uint_le(n, ARENA);
	p = arena + ARENA - n;
	memcpy(p, s, n);
	return jcanon_check(p, n, fn, arg);
}

/* jansson reads s as an object, duplicates refused. */
static int
jansson_object(const char *s, size_t n)
{
	json_error_t err;
	json_t *j;
	int ok;

	j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);
	ok = j != NULL && json_is_object(j);
	json_decref(j);
	return ok;
}

START_TEST(table)
{
	const struct jcase *c;

	for (size_t i = 0; i < NELEM(cases); i++) {
		c = &cases[i];
		ck_assert_msg((check_copy(c->in, c->len, NULL, NULL) == 0) ==
		    c->ok, "case %zu: \"%s\" %s", i, show(c->in, c->len),
		    c->ok ? "refused" : "accepted");
		if (c->ok)
			ck_assert_msg(jansson_object(c->in, c->len),
			    "case %zu: jansson refuses \"%s\"", i,
			    show(c->in, c->len));
	}
}
END_TEST

/* Only p[0..n) is read; a null or short buffer is refused. */
START_TEST(bounds)
{
	ck_assert_int_eq(jcanon_check(NULL, 0, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check(NULL, 2, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check("{}", 0, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check("{}", 1, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check("{}", 2, NULL, NULL), 0);
	ck_assert_int_eq(jcanon_check("{}garbage", 2, NULL, NULL), 0);
	ck_assert_int_eq(jcanon_check("{\"a\":1}", 6, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check("{\"a\":12}", 7, NULL, NULL), -1);
	ck_assert_int_eq(jcanon_check("{\"a\":1}}", 7, NULL, NULL), 0);
	/* Every proper prefix of a valid body is refused. */
	{
		static const char body[] = "{\"a\":[1,{\"b\":\"\\ud83d\\ude00"
		    "\xf0\x9f\x98\x80\"},true,false,null,-9223372036854775808],"
		    "\"b\":{}}";

		ck_assert_int_eq(check_copy(body, sizeof(body) - 1, NULL,
		    NULL), 0);
		for (size_t n = 0; n < sizeof(body) - 1; n++)
			ck_assert_msg(check_copy(body, n, NULL, NULL) == -1,
			    "prefix of %zu accepted", n);
	}
}
END_TEST

/*
 * The top-level object with n containers nested in its member "a", the
 * innermost holding inner; arrays ([[...]]) or objects ({"a":{"a":...}}).
 * An empty inner leaves the innermost container empty.
 */
static char *
nest(int n, int arrays, const char *inner)
{
	size_t cap = 16 + (size_t)n * 6 + strlen(inner), o;
	char *p = malloc(cap);

	ck_assert_ptr_nonnull(p);
	o = (size_t)snprintf(p, cap, "{\"a\":");
	for (int k = 0; k < n; k++)
		o += (size_t)snprintf(p + o, cap - o, "%s", arrays ? "[" :
		    k == n - 1 && *inner == '\0' ? "{" : "{\"a\":");
	o += (size_t)snprintf(p + o, cap - o, "%s", inner);
	for (int k = 0; k < n; k++)
		p[o++] = arrays ? ']' : '}';
	p[o++] = '}';
	p[o] = '\0';
	return p;
}

/* jcanon's verdict on nest(), cross-checked against jansson. */
static int
nest_ok(int n, int arrays, const char *inner)
{
	char *p = nest(n, arrays, inner);
	int r = check_copy(p, strlen(p), NULL, NULL);

	if (r == 0)
		ck_assert_msg(jansson_object(p, strlen(p)),
		    "jansson refuses %s", p);
	free(p);
	return r;
}

/*
 * The code's definition of depth: every value is a level, containers and
 * scalars alike.  The top-level object is level 1 and a member or element
 * of a container at level k is at level k + 1; a value at a level above
 * JCANON_MAX_DEPTH (32) is refused.  So 32 containers nest (the top-level
 * object and 31 inside it) only if the innermost is empty, and a scalar
 * may sit in at most 31 containers.  (jansson counts containers only.)
 */
START_TEST(depth)
{
	const int d = JCANON_MAX_DEPTH;
	char *p;

	ck_assert_int_eq(d, 32);
	/* A scalar at level d: the top object and d - 2 more around it. */
	for (int arrays = 0; arrays <= 1; arrays++) {
		ck_assert_int_eq(nest_ok(d - 2, arrays, "1"), 0);
		ck_assert_int_eq(nest_ok(d - 1, arrays, "1"), -1);
		ck_assert_int_eq(nest_ok(d - 2, arrays, "\"x\""), 0);
		ck_assert_int_eq(nest_ok(d - 1, arrays, "\"x\""), -1);
		ck_assert_int_eq(nest_ok(d - 2, arrays, "null"), 0);
		ck_assert_int_eq(nest_ok(d - 1, arrays, "true"), -1);
		/* An empty container at level d, then one at d + 1. */
		ck_assert_int_eq(nest_ok(d - 2, arrays, arrays ? "[]" : "{}"),
		    0);
		ck_assert_int_eq(nest_ok(d - 1, arrays, ""), 0);
		ck_assert_int_eq(nest_ok(d - 1, arrays, arrays ? "[]" : "{}"),
		    -1);
		ck_assert_int_eq(nest_ok(d, arrays, ""), -1);
		ck_assert_int_eq(nest_ok(d + 10, arrays, ""), -1);
		ck_assert_int_eq(nest_ok(d + 10, arrays, "1"), -1);
	}
	/* Exactly 32 '{' accepted, 33 refused, counted on the bytes. */
	for (int extra = 0; extra <= 1; extra++) {
		int braces = 0;

		p = nest(d - 1 + extra, 0, "");
		for (const char *q = p; *q != '\0'; q++)
			braces += *q == '{';
		ck_assert_int_eq(braces, 32 + extra);
		ck_assert_int_eq(check_copy(p, strlen(p), NULL, NULL),
		    extra ? -1 : 0);
		free(p);
	}
	/* Mixed containers: depth counts both kinds. */
	{
		char buf[512];
		size_t o = 0;

		o += (size_t)snprintf(buf, sizeof(buf), "{\"a\":");
		for (int k = 0; k < d - 2; k++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s",
			    k % 2 ? "[" : "{\"a\":");
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "0");
		for (int k = d - 3; k >= 0; k--)
			buf[o++] = k % 2 ? ']' : '}';
		buf[o++] = '}';
		ck_assert_int_eq(check_copy(buf, o, NULL, NULL), 0);
		ck_assert(jansson_object(buf, o));
	}
	/* Deep nesting in the second member, after a shallow first. */
	{
		char *q = nest(d - 1, 1, "");
		size_t n = strlen(q);
		char *r = malloc(n + 8);

		ck_assert_ptr_nonnull(r);
		memcpy(r, "{\"0\":1,", 7);
		memcpy(r + 7, q + 1, n);	/* drop q's '{', keep its NUL */
		ck_assert_int_eq(check_copy(r, strlen(r), NULL, NULL), 0);
		free(q);
		free(r);
		q = nest(d, 1, "");
		n = strlen(q);
		ck_assert_ptr_nonnull(r = malloc(n + 8));
		memcpy(r, "{\"0\":1,", 7);
		memcpy(r + 7, q + 1, n);
		ck_assert_int_eq(check_copy(r, strlen(r), NULL, NULL), -1);
		free(q);
		free(r);
	}
}
END_TEST

/* What the member callback saw. */
struct seen {
	int		 calls;
	int		 fail_at;	/* -1 from this call (1-based) */
	struct {
		char	 key[32];
		size_t	 start;
		size_t	 valoff, vallen;
	} m[16];
	const char	*base;
};

static int
record(const struct jcanon_member *m, void *arg)
{
	struct seen *sn = arg;
	int k = sn->calls++;

	ck_assert_int_lt(k, (int)NELEM(sn->m));
	ck_assert_uint_lt(m->keylen, sizeof(sn->m[k].key));
	memcpy(sn->m[k].key, m->key, m->keylen);
	sn->m[k].key[m->keylen] = '\0';
	/* The key points into the body, just after its opening quote. */
	ck_assert_ptr_eq(m->key, sn->base + m->start + 1);
	ck_assert_int_eq(sn->base[m->start], '"');
	ck_assert_int_eq(sn->base[m->start + 1 + m->keylen], '"');
	ck_assert_int_eq(sn->base[m->start + 2 + m->keylen], ':');
	sn->m[k].start = m->start;
	sn->m[k].valoff = (size_t)(m->val - sn->base);
	sn->m[k].vallen = m->vallen;
	return sn->calls == sn->fail_at ? -1 : 0;
}

START_TEST(member_callback)
{
	static const char body[] = "{\"\":0,\"a\":-12,\"ab\":[1,{\"x\":2}],"
	    "\"b\":\"s\\\"t,}\",\"c\":{\"y\":{\"z\":[]}},\"d\":true,"
	    "\"\xc3\xa9\":null}";
	static const char *keys[] = { "", "a", "ab", "b", "c", "d",
	    "\xc3\xa9" };
	static const char *vals[] = { "0", "-12", "[1,{\"x\":2}]",
	    "\"s\\\"t,}\"", "{\"y\":{\"z\":[]}}", "true", "null" };
	const size_t n = sizeof(body) - 1;
	struct seen sn;
	char pat[48];
	const char *at;

	memset(&sn, 0, sizeof(sn));
	sn.base = body;
	ck_assert_int_eq(jcanon_check(body, n, record, &sn), 0);
	ck_assert_int_eq(sn.calls, (int)NELEM(keys));
	for (size_t k = 0; k < NELEM(keys); k++) {
		/* Each key once at the top level, in order. */
		snprintf(pat, sizeof(pat), "%s\"%s\":", k == 0 ? "{" : ",",
		    keys[k]);
		ck_assert_ptr_nonnull(at = strstr(body, pat));
		ck_assert_str_eq(sn.m[k].key, keys[k]);
		ck_assert_uint_eq(sn.m[k].start, (size_t)(at - body) + 1);
		ck_assert_uint_eq(sn.m[k].valoff, sn.m[k].start +
		    strlen(keys[k]) + 3);
		ck_assert_uint_eq(sn.m[k].vallen, strlen(vals[k]));
		ck_assert(memcmp(body + sn.m[k].valoff, vals[k],
		    strlen(vals[k])) == 0);
		/* The value ends at the next ',' or the final '}'. */
		ck_assert_int_eq(body[sn.m[k].valoff + sn.m[k].vallen],
		    k + 1 < NELEM(keys) ? ',' : '}');
	}
	ck_assert_uint_eq(sn.m[NELEM(keys) - 1].valoff +
	    sn.m[NELEM(keys) - 1].vallen, n - 1);
	/* Without a callback: the same verdict. */
	ck_assert_int_eq(jcanon_check(body, n, NULL, NULL), 0);
	/* A -1 from any call refuses the body and stops the walk. */
	for (int f = 1; f <= (int)NELEM(keys); f++) {
		memset(&sn, 0, sizeof(sn));
		sn.base = body;
		sn.fail_at = f;
		ck_assert_int_eq(jcanon_check(body, n, record, &sn), -1);
		ck_assert_int_eq(sn.calls, f);
	}
	/* No call for "{}"; no call for a member of a nested object. */
	memset(&sn, 0, sizeof(sn));
	sn.base = "{}";
	ck_assert_int_eq(jcanon_check("{}", 2, record, &sn), 0);
	ck_assert_int_eq(sn.calls, 0);
	/* A body refused after its first member: the callback's yes does
	 * not make it acceptable. */
	memset(&sn, 0, sizeof(sn));
	sn.base = "{\"a\":1,\"a\":2}";
	ck_assert_int_eq(jcanon_check(sn.base, strlen(sn.base), record, &sn),
	    -1);
	ck_assert_int_le(sn.calls, 1);
}
END_TEST

/* ---- Property test against jansson ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
rndn(size_t n)
{
	return (size_t)(rnd() % n);
}

/* Key pieces: nothing jansson escapes in a key. */
static const char *const kpieces[] = {
	"a", "b", "z", "A", "Z", "_", "0", "9", "-", "/", " ", "~", "\x7f",
	"\xc3\xa9", "\xc3\xa8", "\xe2\x82\xac", "\xef\xbf\xbf",
	"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
};

/* Value pieces: also what jansson must escape. */
static const char *const vpieces[] = {
	"a", "b", "z", " ", "/", "\"", "\\", "\n", "\r", "\t", "\b", "\f",
	"\x01", "\x1f", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
	"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
	"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\\u0000", "{", "}", ",",
	":", "[", "]",
};

static void
rnd_str(char *buf, size_t cap, const char *const *pieces, size_t np,
    size_t maxpieces)
{
	size_t o = 0, k = rndn(maxpieces + 1), l;

	buf[0] = '\0';
	while (k-- > 0) {
		const char *pc = pieces[rndn(np)];

		l = strlen(pc);
		if (o + l + 1 > cap)
			break;
		memcpy(buf + o, pc, l);
		o += l;
		buf[o] = '\0';
	}
}

static json_int_t
rnd_int(void)
{
	switch (rndn(8)) {
	case 0:
		return INT64_MAX - (json_int_t)rndn(3);
	case 1:
		return INT64_MIN + (json_int_t)rndn(3);
	case 2:
		return (json_int_t)rndn(21) - 10;
	case 3:
		return (json_int_t)(rnd() >> rndn(64));
	default:
		return (json_int_t)rnd();
	}
}

/*
 * A random value at level lvl (the top-level object is 1) of a tree no
 * deeper than max levels; spine forces a container down to max.
 */
static json_t *
rnd_value(int lvl, int max, int spine)
{
	char buf[64];
	json_t *v, *c;
	size_t kids;
	int kind;

	if (spine && lvl < max)
		kind = (int)rndn(2);
	else if (lvl >= max)
		kind = 2 + (int)rndn(7);	/* scalars, or empty */
	else
		kind = (int)rndn(9);
	switch (kind) {
	case 0:
	case 7:
		v = json_object();
		kids = lvl >= max ? 0 : rndn(spine ? 3 : 5);
		for (size_t k = 0; k < kids || (spine && k == 0 &&
		    lvl < max); k++) {
			rnd_str(buf, 16, kpieces, NELEM(kpieces), 3);
			c = rnd_value(lvl + 1, max, spine && k == 0);
			json_object_set_new(v, buf, c);
		}
		return v;
	case 1:
	case 8:
		v = json_array();
		kids = lvl >= max ? 0 : rndn(spine ? 3 : 5);
		for (size_t k = 0; k < kids || (spine && k == 0 &&
		    lvl < max); k++)
			json_array_append_new(v, rnd_value(lvl + 1, max,
			    spine && k == 0));
		return v;
	case 2:
	case 3:
		rnd_str(buf, sizeof(buf), vpieces, NELEM(vpieces), 8);
		return json_string(buf);
	case 4:
		return json_integer(rnd_int());
	case 5:
		return json_boolean(rndn(2));
	default:
		return json_null();
	}
}

/* One mutation of p[0..*n) in place (cap bytes room). */
static void
mutate(char *p, size_t *n, size_t cap)
{
	static const char interesting[] = "\"\\{}[],:-0159eE.+ utfnl"
	    "\x00\x01\x1f\x7f\x80\xbf\xc0\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff";
	size_t i, l;
	char c;

	c = rndn(3) == 0 ? (char)rnd() :
	    interesting[rndn(sizeof(interesting) - 1)];
	switch (rndn(7)) {
	case 0:					/* flip a bit */
		if (*n > 0)
			p[rndn(*n)] ^= (char)(1 << rndn(8));
		break;
	case 1:					/* replace a byte */
		if (*n > 0)
			p[rndn(*n)] = c;
		break;
	case 2:					/* insert a byte */
		if (*n < cap) {
			i = rndn(*n + 1);
			memmove(p + i + 1, p + i, *n - i);
			p[i] = c;
			(*n)++;
		}
		break;
	case 3:					/* delete a byte */
	case 4:
		if (*n > 0) {
			i = rndn(*n);
			memmove(p + i, p + i + 1, *n - i - 1);
			(*n)--;
		}
		break;
	case 5:					/* delete a run */
		if (*n > 1) {
			i = rndn(*n);
			l = 1 + rndn(*n - i < 8 ? *n - i : 8);
			memmove(p + i, p + i + l, *n - i - l);
			*n -= l;
		}
		break;
	default:				/* copy a run elsewhere */
		if (*n > 1) {
			size_t from = rndn(*n), to = rndn(*n + 1);

			l = 1 + rndn(*n - from < 8 ? *n - from : 8);
			if (*n + l > cap)
				break;
			{
				char tmp[8];

				memcpy(tmp, p + from, l);
				memmove(p + to + l, p + to, *n - to);
				memcpy(p + to, tmp, l);
			}
			*n += l;
		}
		break;
	}
}

/* Counts each top-level member. */
static int
count_member(const struct jcanon_member *m, void *arg)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

/*
 * Whatever jcanon accepts, jansson reads as an object without duplicate
 * keys, a plain tree (plain_tree), and jansson's own writing of it is
 * accepted; whatever jansson reads and would write back byte for byte
 * from a plain tree, jcanon accepts.
 */
static void
cross_check(const char *p, size_t n, size_t *accepted, size_t *fixed)
{
	json_error_t err;
	json_t *j;
	char *d;
	int ok = check_copy(p, n, NULL, NULL) == 0;

	j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
	if (ok) {
		(*accepted)++;
		ck_assert_msg(j != NULL, "jcanon accepts, jansson refuses "
		    "(%s): \"%s\"", err.text, show(p, n));
		ck_assert_msg(json_is_object(j), "not an object: \"%s\"",
		    show(p, n));
		ck_assert_msg(plain_tree(j, 1, JCANON_MAX_DEPTH),
		    "a real, a NUL, an escaped key or too deep: \"%s\"",
		    show(p, n));
		ck_assert_ptr_nonnull(d = json_dumps(j, JSON_COMPACT |
		    JSON_SORT_KEYS));
		ck_assert_msg(check_copy(d, strlen(d), NULL, NULL) == 0,
		    "jansson's \"%s\" of \"%s\" refused", show(d, strlen(d)),
		    show(p, n));
		free(d);
	}
	if (j != NULL && json_is_object(j) &&
	    plain_tree(j, 1, JCANON_MAX_DEPTH)) {
		ck_assert_ptr_nonnull(d = json_dumps(j, JSON_COMPACT |
		    JSON_SORT_KEYS));
		if (strlen(d) == n && memcmp(d, p, n) == 0) {
			(*fixed)++;
			ck_assert_msg(ok, "jansson's own \"%s\" refused",
			    show(p, n));
		}
		free(d);
	}
	json_decref(j);
}

START_TEST(jansson_property)
{
	enum { TREES = 4000, MUTANTS = 24 };
	size_t fixed = 0, deep = 0, mutants_ok = 0, dummy = 0;
	size_t members, len, cap;
	char *d, *m;
	json_t *o;
	int max, spine;

	rng_state = 0x6a63616e6f6eULL;		/* "jcanon" */
	for (int t = 0; t < TREES; t++) {
		spine = rndn(8) == 0;
		max = spine ? 2 + (int)rndn(JCANON_MAX_DEPTH - 1) :
		    1 + (int)rndn(6);
		do {
			o = rnd_value(1, max, spine);
			if (!json_is_object(o)) {
				json_decref(o);
				o = NULL;
			}
		} while (o == NULL);
		ck_assert_ptr_nonnull(d = json_dumps(o, JSON_COMPACT |
		    JSON_SORT_KEYS));
		len = strlen(d);
		members = 0;
		ck_assert_msg(jcanon_check(d, len, count_member, &members) ==
		    0, "tree %d: jansson's \"%s\" refused", t, show(d, len));
		ck_assert_uint_eq(members, json_object_size(o));
		cross_check(d, len, &dummy, &fixed);
		deep += max == JCANON_MAX_DEPTH && spine;
		/* Mutants: never accepted unless jansson agrees. */
		cap = len + 64;
		ck_assert_ptr_nonnull(m = malloc(cap));
		for (int k = 0; k < MUTANTS; k++) {
			size_t ml = len;

			memcpy(m, d, len);
			for (size_t r = 1 + rndn(3); r > 0; r--)
				mutate(m, &ml, cap);
			cross_check(m, ml, &mutants_ok, &fixed);
		}
		free(m);
		free(d);
		json_decref(o);
	}
	/* The test means something: the generator reached the depth limit,
	 * some mutants stayed valid. */
	ck_assert_uint_gt(deep, 0);
	ck_assert_uint_gt(mutants_ok, 1000);
	ck_assert_uint_gt(fixed, TREES);
}
END_TEST

static Suite *
jcanon_suite(void)
{
	Suite *s = suite_create("jcanon");
	TCase *tc = tcase_create("jcanon");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, depth);
	tcase_add_test(tc, member_callback);
	tcase_add_test(tc, jansson_property);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(jcanon_suite)
