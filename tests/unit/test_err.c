/*
 * test_err.c: the error convention (err.h): set keeps the function and
 * errno, a NULL struct is allowed, wrap prefixes and keeps the cause,
 * long messages are cut, never overrun.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "suites.h"

static int
fails_open(struct err *e)
{
	errno = ENOENT;
	return err_set(e, ERR_SYSTEM, "open %s: %s", "x.conf",
	    strerror(errno));
}

START_TEST(set_keeps_cause)
{
	struct err e = ERR_INIT;

	ck_assert_str_eq(err_msg(&e), "");
	ck_assert_int_eq(fails_open(&e), -1);
	ck_assert_int_eq(e.code, ERR_SYSTEM);
	ck_assert_int_eq(e.sys, ENOENT);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(e.func, "fails_open");
	ck_assert_str_eq(err_msg(&e), "open x.conf: No such file or directory");
	ck_assert_str_eq(err_code_name(e.code), "system");
	/* Only ERR_SYSTEM keeps errno. */
	errno = EIO;
	err_set(&e, ERR_PARSE, "bad");
	ck_assert_int_eq(e.sys, 0);
	/* A caller that does not want the message passes NULL. */
	ck_assert_int_eq(fails_open(NULL), -1);
	ck_assert_str_eq(err_msg(NULL), "");
}
END_TEST

START_TEST(wrap_prefixes)
{
	struct err e = ERR_INIT, copy = ERR_INIT;

	fails_open(&e);
	err_wrap(&e, "line %d", 7);
	ck_assert_str_eq(err_msg(&e),
	    "line 7: open x.conf: No such file or directory");
	ck_assert_int_eq(e.code, ERR_SYSTEM);
	ck_assert_str_eq(e.func, "fails_open");
	ck_assert_int_eq(err_copy(&copy, &e), -1);
	ck_assert_str_eq(copy.msg, e.msg);
	ck_assert_int_eq(err_wrap(NULL, "x"), -1);
}
END_TEST

START_TEST(long_messages_cut)
{
	struct err e = ERR_INIT;
	char big[2 * ERR_MSG_MAX];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, ERR_INVALID, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	err_wrap(&e, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	err_set(&e, ERR_INVALID, "short");
	err_wrap(&e, "%.*s", ERR_MSG_MAX - 7, big);
	ck_assert_uint_eq(strlen(e.msg), ERR_MSG_MAX - 1);
	ck_assert(strncmp(e.msg + ERR_MSG_MAX - 7, ": shor", 6) == 0);
	ck_assert_str_eq(err_code_name((enum err_code)99), "unknown");
}
END_TEST

static Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, set_keeps_cause);
	tcase_add_test(tc, wrap_prefixes);
	tcase_add_test(tc, long_messages_cut);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(err_suite)
