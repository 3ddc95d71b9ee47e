/*
 * test_frame.c: RFC 5734 framing at every length edge, split reads, limits.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "suites.h"

static void
put32(uint8_t *b, uint32_t n)
{
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
}

START_TEST(header_edges)
{
	uint8_t b[4];
	size_t plen = 99;
	uint32_t total = 0;

	/* Fewer than four bytes: wait. */
	for (size_t n = 0; n < 4; n++)
		ck_assert_int_eq(frame_header_parse(b, n, 100, &plen, &total),
		    FRAME_NEED_MORE);
	/* The length counts itself: 0..4 cannot carry XML. */
	for (uint32_t v = 0; v < 5; v++) {
		put32(b, v);
		ck_assert_int_eq(frame_header_parse(b, 4, 100, &plen, &total),
		    FRAME_TOO_SHORT);
		ck_assert_uint_eq(total, v);
	}
	put32(b, 5);
	ck_assert_int_eq(frame_header_parse(b, 4, 100, &plen, &total),
	    FRAME_OK);
	ck_assert_uint_eq(plen, 1);
	put32(b, 100);
	ck_assert_int_eq(frame_header_parse(b, 4, 100, &plen, &total),
	    FRAME_OK);
	ck_assert_uint_eq(plen, 96);
	put32(b, 101);
	ck_assert_int_eq(frame_header_parse(b, 4, 100, &plen, &total),
	    FRAME_TOO_LONG);
	/* A 2 GiB and a 4 GiB - 1 header are refused before any allocation. */
	put32(b, 0x80000000u);
	ck_assert_int_eq(frame_header_parse(b, 4, FRAME_DEFAULT_MAX, &plen,
	    &total), FRAME_TOO_LONG);
	put32(b, 0xffffffffu);
	ck_assert_int_eq(frame_header_parse(b, 4, FRAME_LIMIT_MAX, &plen,
	    &total), FRAME_TOO_LONG);
	ck_assert_uint_eq(total, 0xffffffffu);
}
END_TEST

START_TEST(header_write)
{
	uint8_t b[4];
	size_t plen;

	ck_assert_int_eq(frame_header_write(b, 0), -1);
	ck_assert_int_eq(frame_header_write(b, 1), 0);
	ck_assert_int_eq(frame_header_parse(b, 4, 100, &plen, NULL), FRAME_OK);
	ck_assert_uint_eq(plen, 1);
	ck_assert_int_eq(frame_header_write(b, 1500), 0);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_uint_eq(b[1], 0);
	ck_assert_uint_eq(b[2], (1504 >> 8));
	ck_assert_uint_eq(b[3], (1504 & 0xff));
	ck_assert_int_eq(frame_header_write(b, (size_t)UINT32_MAX), -1);
}
END_TEST

/* Build a stream of frames with the given payload sizes. */
static uint8_t *
stream(const size_t *sizes, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *buf;

	for (size_t i = 0; i < n; i++)
		total += 4 + sizes[i];
	buf = malloc(total);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++) {
		frame_header_write(buf + off, sizes[i]);
		off += 4;
		for (size_t j = 0; j < sizes[i]; j++)
			buf[off++] = (uint8_t)('a' + (i + j) % 26);
	}
	*len = total;
	return buf;
}

/* Feed a stream in chunks of every size from 1 to 9: same frames out. */
START_TEST(decoder_split_reads)
{
	const size_t sizes[] = { 1, 7, 300, 2, 1000 };
	size_t len, chunk = (size_t)_i;
	uint8_t *buf = stream(sizes, 5, &len);
	struct frame_decoder *d = frame_decoder_new(2000);
	size_t off = 0, got = 0;

	ck_assert_ptr_nonnull(d);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used = 0;
		enum frame_status st;

		while (used < n) {
			used += frame_decoder_feed(d, buf + off + used,
			    n - used, &st);
			ck_assert(st == FRAME_OK || st == FRAME_NEED_MORE);
			if (st == FRAME_OK) {
				size_t plen;
				const uint8_t *p = frame_decoder_payload(d,
				    &plen);

				ck_assert_uint_lt(got, 5);
				ck_assert_uint_eq(plen, sizes[got]);
				for (size_t j = 0; j < plen; j++)
					ck_assert_uint_eq(p[j],
					    'a' + (got + j) % 26);
				got++;
				frame_decoder_next(d);
			}
		}
		off += n;
	}
	ck_assert_uint_eq(got, 5);
	frame_decoder_free(d);
	free(buf);
}
END_TEST

START_TEST(decoder_errors_are_sticky)
{
	struct frame_decoder *d = frame_decoder_new(100);
	uint8_t b[8] = { 0, 0, 0, 4, 'x', 'y', 'z', 'w' };
	enum frame_status st;

	ck_assert_uint_eq(frame_decoder_feed(d, b, sizeof(b), &st), 4);
	ck_assert_int_eq(st, FRAME_TOO_SHORT);
	ck_assert_uint_eq(frame_decoder_feed(d, b + 4, 4, &st), 0);
	ck_assert_int_eq(st, FRAME_TOO_SHORT);
	frame_decoder_free(d);

	d = frame_decoder_new(100);
	put32(b, 0x7fffffff);
	frame_decoder_feed(d, b, 4, &st);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	frame_decoder_free(d);

	ck_assert_ptr_null(frame_decoder_new(4));
	ck_assert_ptr_null(frame_decoder_new(FRAME_LIMIT_MAX + 1));
}
END_TEST

START_TEST(decoder_exact_max)
{
	struct frame_decoder *d = frame_decoder_new(64);
	uint8_t b[64];
	enum frame_status st;
	size_t plen;

	memset(b, 'q', sizeof(b));
	put32(b, 64);
	ck_assert_uint_eq(frame_decoder_feed(d, b, 64, &st), 64);
	ck_assert_int_eq(st, FRAME_OK);
	frame_decoder_payload(d, &plen);
	ck_assert_uint_eq(plen, 60);
	/* A ready frame takes nothing more until next(). */
	ck_assert_uint_eq(frame_decoder_feed(d, b, 4, &st), 0);
	frame_decoder_next(d);
	put32(b, 65);
	frame_decoder_feed(d, b, 4, &st);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	frame_decoder_free(d);
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, header_edges);
	tcase_add_test(tc, header_write);
	tcase_add_loop_test(tc, decoder_split_reads, 1, 10);
	tcase_add_test(tc, decoder_errors_are_sticky);
	tcase_add_test(tc, decoder_exact_max);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(frame_suite)
