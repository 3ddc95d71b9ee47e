/*
 * test_buf.c: the bounded buffer and array growth (buf.h): growth, the
 * maximum refused, consume, addf refusal, overflow, wipe.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "suites.h"

START_TEST(growth)
{
	struct buf b;
	char chunk[1000];
	size_t cap = 0;

	buf_init(&b, 1 << 20);
	ck_assert_uint_eq(b.len, 0);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(buf_add(&b, chunk, sizeof(chunk)), 0);
		ck_assert_uint_ge(b.cap, b.len);
		/* Geometric: the capacity changes O(log n) times. */
		if (b.cap != cap) {
			ck_assert_uint_ge(b.cap, 2 * cap);
			cap = b.cap;
		}
	}
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(b.cap, 131072);
	ck_assert_int_eq(buf_data(&b)[99999], 'x');
	/* reserve then write in place */
	ck_assert_int_eq(buf_reserve(&b, 5), 0);
	memcpy(buf_end(&b), "hello", 5);
	buf_wrote(&b, 5);
	ck_assert_int_eq(memcmp(buf_data(&b) + 100000, "hello", 5), 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 131072);
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.max, 1 << 20);
	/* Usable again after buf_free. */
	ck_assert_int_eq(buf_add(&b, "a", 1), 0);
	buf_free(&b);
}
END_TEST

START_TEST(maximum)
{
	struct buf b;
	char big[300];

	memset(big, 'y', sizeof(big));
	buf_init(&b, 1000);
	ck_assert_int_eq(buf_add(&b, big, 300), 0);
	ck_assert_int_eq(buf_add(&b, big, 300), 0);
	ck_assert_int_eq(buf_add(&b, big, 300), 0);
	/* 900 held: 100 more fit, 101 do not, and nothing changes. */
	errno = 0;
	ck_assert_int_eq(buf_add(&b, big, 101), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(b.len, 900);
	ck_assert_int_eq(buf_add(&b, big, 100), 0);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_le(b.cap, 1000);
	ck_assert_int_eq(buf_reserve(&b, 1), -1);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_int_eq(buf_reserve(&b, 0), 0);
	buf_free(&b);
	/* A zeroed buffer holds nothing. */
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(buf_add(&b, "a", 1), -1);
	ck_assert_str_eq(buf_data(&b), "");
}
END_TEST

START_TEST(consume)
{
	struct buf b;
	char *p;

	buf_init(&b, 512);
	ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
	buf_consume(&b, 4);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_int_eq(memcmp(buf_data(&b), "456789", 6), 0);
	/* The consumed front does not count against max. */
	ck_assert_int_eq(buf_reserve(&b, 506), 0);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_int_eq(memcmp(buf_data(&b), "456789", 6), 0);
	ck_assert_int_eq(buf_reserve(&b, 507), -1);
	buf_consume(&b, 2);
	p = buf_detach(&b, NULL);
	ck_assert_str_eq(p, "6789");
	free(p);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_add(&b, "ab", 2), 0);
	buf_consume(&b, 5);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.off, 0);
	buf_free(&b);
}
END_TEST

START_TEST(addf)
{
	struct buf b;
	size_t len;
	char *s;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_addf(&b, "%s=%d;", "a", 1), 0);
	ck_assert_str_eq(buf_data(&b), "a=1;");
	ck_assert_int_eq(buf_addf(&b, "%s", "0123456789"), 0);
	ck_assert_uint_eq(b.len, 14);
	/* 14 + 2 + NUL > 16: refused whole, never truncated. */
	ck_assert_int_eq(buf_addf(&b, "%s", "xy"), -1);
	ck_assert_uint_eq(b.len, 14);
	ck_assert_str_eq(buf_data(&b), "a=1;0123456789");
	ck_assert_int_eq(buf_addf(&b, "z"), 0);
	ck_assert_str_eq(buf_data(&b), "a=1;0123456789z");
	ck_assert_ptr_nonnull(s = buf_detach(&b, &len));
	ck_assert_uint_eq(len, 15);
	ck_assert_str_eq(s, "a=1;0123456789z");
	free(s);
	/* Growth inside addf. */
	buf_init(&b, 100000);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_addf(&b, "%04d,", i), 0);
	ck_assert_uint_eq(b.len, 5000);
	ck_assert_int_eq(memcmp(buf_data(&b) + 4995, "0999,", 5), 0);
	ck_assert_int_eq(buf_data(&b)[5000], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(array)
{
	uint64_t *a = NULL, *n;
	size_t cap = 0, count = 0;

	for (uint64_t i = 0; i < 1000; i++) {
		ck_assert_ptr_nonnull(n = grow_array(a, &cap, count + 1,
		    sizeof(*a), 1000));
		a = n;
		a[count++] = i;
	}
	ck_assert_uint_eq(cap, 1000);
	ck_assert_uint_eq(a[999], 999);
	/* The maximum refused, the array untouched. */
	errno = 0;
	ck_assert_ptr_null(grow_array(a, &cap, 1001, sizeof(*a), 1000));
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(cap, 1000);
	ck_assert_uint_eq(a[999], 999);
	/* Within capacity: the same array. */
	ck_assert_ptr_eq(grow_array(a, &cap, 500, sizeof(*a), 1000), a);
	free(a);
	/* Overflow of count * size. */
	a = NULL;
	cap = 0;
	ck_assert_ptr_null(grow_array(NULL, &cap, SIZE_MAX / 4, 16,
	    SIZE_MAX));
	ck_assert_uint_eq(cap, 0);
	ck_assert_ptr_null(grow_array(NULL, &cap, 2, SIZE_MAX / 2, SIZE_MAX));
	/* A small maximum caps the first allocation too. */
	ck_assert_ptr_nonnull(a = grow_array(NULL, &cap, 1, sizeof(*a), 3));
	ck_assert_uint_eq(cap, 3);
	free(a);
}
END_TEST

/* A secret buffer wipes what it lets go; growth keeps the content. */
START_TEST(wipe)
{
	struct buf b;
	char key[200];
	const char *p;

	memset(key, 'K', sizeof(key));
	buf_init_secret(&b, 1 << 16);
	ck_assert_int_eq(b.secret, 1);
	ck_assert_int_eq(buf_add(&b, key, sizeof(key)), 0);
	/* Grows (moves) several times: content survives. */
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(buf_add(&b, key, sizeof(key)), 0);
	ck_assert_uint_eq(b.len, 21 * sizeof(key));
	for (size_t i = 0; i < b.len; i++)
		ck_assert_int_eq(buf_data(&b)[i], 'K');
	buf_consume(&b, 100);
	ck_assert_int_eq(buf_reserve(&b, b.cap), 0);	/* compacts, moves */
	ck_assert_uint_eq(b.len, 21 * sizeof(key) - 100);
	/* Consumed bytes are zeroed in place, the rest kept. */
	p = buf_data(&b);
	buf_consume(&b, 50);
	for (size_t i = 0; i < 50; i++)
		ck_assert_int_eq(p[i], 0);
	ck_assert_int_eq(p[50], 'K');
	/* Reset zeroes all storage, which stays allocated. */
	p = b.p;
	buf_reset(&b);
	for (size_t i = 0; i < b.cap; i++)
		ck_assert_int_eq(p[i], 0);
	buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_int_eq(b.secret, 1);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, growth);
	tcase_add_test(tc, maximum);
	tcase_add_test(tc, consume);
	tcase_add_test(tc, addf);
	tcase_add_test(tc, array);
	tcase_add_test(tc, wipe);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(buf_suite)
