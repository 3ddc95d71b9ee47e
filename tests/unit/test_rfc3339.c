/*
 * test_rfc3339.c: RFC 3339 instants with offsets and fractions, the time
 * bounds of eppgw-audit (dates, relative times), and what is refused.
 */
#include <stdint.h>

#include "rfc3339.h"
#include "suites.h"

/* 2026-11-22T12:00:00Z */
#define NOON	(1795348800LL * RFC3339_US)

START_TEST(instants)
{
	int64_t us, us2, prec;

	ck_assert_int_eq(rfc3339_parse("1970-01-01T00:00:00Z", &us, &prec), 0);
	ck_assert_int_eq(us, 0);
	ck_assert_int_eq(prec, RFC3339_US);
	ck_assert_int_eq(rfc3339_parse("2026-11-22T12:00:00Z", &us, NULL), 0);
	ck_assert_int_eq(us, NOON);
	/* The same instant in three spellings. */
	ck_assert_int_eq(rfc3339_parse("2026-11-22T13:00:00+01:00", &us,
	    NULL), 0);
	ck_assert_int_eq(us, NOON);
	ck_assert_int_eq(rfc3339_parse("2026-11-22t06:30:00-05:30", &us,
	    NULL), 0);
	ck_assert_int_eq(us, NOON);
	ck_assert_int_eq(rfc3339_parse("2026-11-22 12:00:00-00:00", &us,
	    NULL), 0);
	ck_assert_int_eq(us, NOON);
	/* An offset across midnight and the year. */
	ck_assert_int_eq(rfc3339_parse("2027-01-01T00:30:00+01:00", &us,
	    NULL), 0);
	ck_assert_int_eq(rfc3339_parse("2026-12-31T23:30:00z", &us2, NULL), 0);
	ck_assert_int_eq(us, us2);
	/* Fractions: the audit log's microseconds, fewer, more. */
	ck_assert_int_eq(rfc3339_parse("2026-11-22T12:00:00.123456Z", &us,
	    &prec), 0);
	ck_assert_int_eq(us, NOON + 123456);
	ck_assert_int_eq(prec, 1);
	ck_assert_int_eq(rfc3339_parse("2026-11-22T12:00:00.5Z", &us, &prec),
	    0);
	ck_assert_int_eq(us, NOON + 500000);
	ck_assert_int_eq(prec, 100000);
	ck_assert_int_eq(rfc3339_parse("2026-11-22T12:00:00.123456789Z", &us,
	    &prec), 0);
	ck_assert_int_eq(us, NOON + 123456);
	ck_assert_int_eq(prec, 1);
	/* Leap day and leap second. */
	ck_assert_int_eq(rfc3339_parse("2024-02-29T00:00:00Z", &us, NULL), 0);
	ck_assert_int_eq(us, 1709164800LL * RFC3339_US);
	ck_assert_int_eq(rfc3339_parse("2016-12-31T23:59:60Z", &us, NULL), 0);
	ck_assert_int_eq(us, 1483228800LL * RFC3339_US);
	/* Before the epoch. */
	ck_assert_int_eq(rfc3339_parse("1969-12-31T23:59:59Z", &us, NULL), 0);
	ck_assert_int_eq(us, -RFC3339_US);
	ck_assert_int_eq(rfc3339_parse("0000-03-01T00:00:00Z", &us, NULL), 0);
	ck_assert_int_eq(us, -62162035200LL * RFC3339_US);
}
END_TEST

START_TEST(refused)
{
	static const char *const bad[] = {
		"", "yesterday", "now", "2026-11-22", "2026-11-22T12:00:00",
		"2026-11-22T12:00Z", "2026-11-22T12:00:00+0100",
		"2026-11-22T12:00:00+01", "2026-11-22T12:00:00.Z",
		"2026-11-22T12:00:00ZZ", "2026-11-22T12:00:00Z ",
		" 2026-11-22T12:00:00Z", "2026-11-22T24:00:00Z",
		"2026-11-22T12:60:00Z", "2026-11-22T12:00:61Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-11-22T12:00:00+24:00", "2026-11-22T12:00:00+01:60",
		"26-11-22T12:00:00Z", "2026-1-22T12:00:00Z",
		"2026-11-22X12:00:00Z", "2026/11/22T12:00:00Z",
		"+2026-11-22T12:00:00Z", "2026-11-22T12:00:00,5Z",
	};
	int64_t us;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rfc3339_parse(bad[i], &us, NULL) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(rfc3339_parse(NULL, &us, NULL), -1);
}
END_TEST

START_TEST(bounds)
{
	static const char *const bad[] = {
		"", "yesterday", "today", "now", "-", "-h", "1h", "+1h",
		"-1", "-1y", "-1hh", "-1 h", "- 1h", "-1H", "--1h",
		"-99999999999999999999s", "-9223372036854775807w",
		"2026-11-22T", "2026-11-22 ", "2026-11-2",
	};
	int64_t us, prec;

	ck_assert_int_eq(rfc3339_bound("2026-11-22", NOON, &us, &prec), 0);
	ck_assert_int_eq(us, NOON - 12 * 3600 * RFC3339_US);
	ck_assert_int_eq(prec, RFC3339_DAY_US);
	ck_assert_int_eq(rfc3339_bound("2026-11-22T13:00:00+01:00", 0, &us,
	    &prec), 0);
	ck_assert_int_eq(us, NOON);
	ck_assert_int_eq(prec, RFC3339_US);
	ck_assert_int_eq(rfc3339_bound("-30m", NOON, &us, &prec), 0);
	ck_assert_int_eq(us, NOON - 1800 * RFC3339_US);
	ck_assert_int_eq(prec, 1);
	ck_assert_int_eq(rfc3339_bound("-1h", NOON, &us, NULL), 0);
	ck_assert_int_eq(us, NOON - 3600 * RFC3339_US);
	ck_assert_int_eq(rfc3339_bound("-7d", NOON, &us, NULL), 0);
	ck_assert_int_eq(us, NOON - 7 * RFC3339_DAY_US);
	ck_assert_int_eq(rfc3339_bound("-2w", NOON, &us, NULL), 0);
	ck_assert_int_eq(us, NOON - 14 * RFC3339_DAY_US);
	ck_assert_int_eq(rfc3339_bound("-45s", NOON, &us, NULL), 0);
	ck_assert_int_eq(us, NOON - 45 * RFC3339_US);
	ck_assert_int_eq(rfc3339_bound("-0s", NOON, &us, NULL), 0);
	ck_assert_int_eq(us, NOON);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rfc3339_bound(bad[i], NOON, &us, &prec) == -1,
		    "accepted \"%s\"", bad[i]);
}
END_TEST

static Suite *
rfc3339_suite(void)
{
	Suite *s = suite_create("rfc3339");
	TCase *tc = tcase_create("rfc3339");

	tcase_add_test(tc, instants);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, bounds);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(rfc3339_suite)
