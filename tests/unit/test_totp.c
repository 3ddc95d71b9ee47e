/*
 * test_totp.c: seeds file checks and eppgw's TOTP check (RFC 6238 vectors,
 * window edges, the liboath digit-count and base32 pitfalls).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "approval.h"
#include "err.h"
#include "suites.h"

/* RFC 6238 seeds: ASCII "1234567890" repeated to 20, 32 and 64 bytes. */
#define B32_SHA1	"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define B32_SHA256	"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA===="
#define B32_SHA512	"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" \
			"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA="

static char dir[64];
static char path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/eppgw-totp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/seeds", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static void
write_file(const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static struct seeds *
load_ok(const char *text)
{
	struct seeds *s = NULL;
	struct err e = ERR_INIT;

	write_file(text, 0600);
	ck_assert_msg(seeds_load(path, &s, &e) == 0, "%s", err_msg(&e));
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Refused, with "path:line: ..." naming line, and the seed not echoed. */
static void
load_bad(const char *text, mode_t mode, int line, const char *secret)
{
	struct seeds *s = NULL;
	struct err e = ERR_INIT;
	char want[160];

	write_file(text, mode);
	ck_assert_int_eq(seeds_load(path, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_str_ne(err_msg(&e), "");
	ck_assert_int_eq(e.code, ERR_INVALID);
	if (line > 0) {
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
		ck_assert_msg(strncmp(err_msg(&e), want, strlen(want)) == 0,
		    "got %s", err_msg(&e));
	}
	if (secret != NULL)
		ck_assert_ptr_null(strstr(err_msg(&e), secret));
}

static const char rfc_seeds[] =
    "# RFC 6238 appendix B\n"
    "sha1   SHA1   8 30 " B32_SHA1 "\n"
    "\n"
    "sha256 SHA256 8 30 " B32_SHA256 "\n"
    "  sha512 sha512 8 30 " B32_SHA512 "\r\n";

static const struct {
	int64_t		 t;
	const char	*code[3];	/* SHA1, SHA256, SHA512 */
} rfc[] = {
	{ 59, { "94287082", "46119246", "90693936" } },
	{ 1111111109, { "07081804", "68084774", "25091201" } },
	{ 1111111111, { "14050471", "67062674", "99943326" } },
	{ 1234567890, { "89005924", "91819424", "93441116" } },
	{ 2000000000, { "69279037", "90698825", "38618901" } },
	{ 20000000000LL, { "65353130", "77737706", "47863826" } },
};

static const char *const rfc_names[3] = { "sha1", "sha256", "sha512" };

START_TEST(rfc6238_vectors)
{
	struct seeds *s = load_ok(rfc_seeds);
	int64_t step;

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++)
		for (int h = 0; h < 3; h++) {
			const char *n = rfc_names[h], *c = rfc[i].code[h];

			step = -1;
			ck_assert_int_eq(seeds_totp_check(s, n, c, rfc[i].t, 0,
			    &step), 1);
			ck_assert_int_eq(step, rfc[i].t / 30);
			/* 30 s later it is the previous step: window 1 only. */
			step = -1;
			ck_assert_int_eq(seeds_totp_check(s, n, c,
			    rfc[i].t + 30, 1, &step), 1);
			ck_assert_int_eq(step, rfc[i].t / 30);
			ck_assert_int_eq(seeds_totp_check(s, n, c,
			    rfc[i].t + 30, 0, &step), 0);
			/* Another algorithm's code does not pass. */
			ck_assert_int_eq(seeds_totp_check(s, n,
			    rfc[i].code[(h + 1) % 3], rfc[i].t, 1, &step), 0);
		}
	ck_assert_int_eq(seeds_totp_check(s, "nobody", "94287082", 59, 1,
	    &step), -1);
	ck_assert_int_eq(seeds_has(s, "sha512"), 1);
	ck_assert_int_eq(seeds_has(s, "SHA512"), 0);
	seeds_free(s);
}
END_TEST

START_TEST(skew_window)
{
	struct seeds *s = load_ok(rfc_seeds);
	int64_t step = 0, t = 1111111109;	/* step 37037036 */

	/* Verifier ahead and behind by one step: accepted, offset visible. */
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t + 30, 1,
	    &step), 1);
	ck_assert_int_eq(step, t / 30);
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t - 30, 1,
	    &step), 1);
	ck_assert_int_eq(step, t / 30);
	/* Two steps: refused with window 1, accepted with window 2. */
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t + 60, 1,
	    &step), 0);
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t - 60, 1,
	    &step), 0);
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t + 60, 2,
	    &step), 1);
	ck_assert_int_eq(seeds_totp_check(s, "sha1", "07081804", t - 30, 0,
	    &step), 0);
	seeds_free(s);
}
END_TEST

START_TEST(code_format)
{
	struct seeds *s = load_ok(rfc_seeds);
	static const char *const bad[] = {
		"287082",	/* the valid 6-digit code at t=59 */
		"4287082", "094287082", "9428708a", " 4287082", "94287082 ",
		"94287082\n", "+4287082", "-4287082", "", "9428 082",
		"\xd9\xa9\x34\x32\x38\x37\x30\x38\x32",	/* a non-ASCII digit */
	};
	int64_t step;

	ck_assert_int_eq(seeds_totp_check(s, "sha1", "94287082", 59, 1,
	    &step), 1);
	/* liboath alone takes the digit count from the string: not us. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(seeds_totp_check(s, "sha1", bad[i], 59, 1,
		    &step) == 0, "accepted code %zu", i);
	ck_assert_int_eq(seeds_totp_check(s, "sha1", NULL, 59, 1, &step), 0);
	seeds_free(s);
}
END_TEST

START_TEST(six_digits)
{
	struct seeds *s = load_ok(
	    "op6 SHA1 6 30 " B32_SHA1 "\n"
	    "op7 SHA256 7 30 " B32_SHA256 "\n");
	int64_t step;

	/* Same seed, 6 digits: the last 6 digits of the RFC's code. */
	ck_assert_int_eq(seeds_totp_check(s, "op6", "287082", 59, 0, &step),
	    1);
	ck_assert_int_eq(seeds_totp_check(s, "op6", "94287082", 59, 0,
	    &step), 0);
	ck_assert_int_eq(seeds_totp_check(s, "op7", "6119246", 59, 0, &step),
	    1);
	ck_assert_int_eq(seeds_totp_check(s, "op7", "119246", 59, 0, &step),
	    0);
	seeds_free(s);
}
END_TEST

START_TEST(file_checks)
{
	struct seeds *s;
	struct err e = ERR_INIT;

	/* Lower case, no padding, comments, blank lines: fine. */
	s = load_ok("# ops\n\nbob SHA1 6 30 mjxwellun52halltmvswiljqgaydambs\n"
	    "carol SHA256 8 60 MNQXE33MFV2G65DQFVZWKZLEFUYDAMBT\n");
	ck_assert(seeds_has(s, "bob") && seeds_has(s, "carol"));
	seeds_free(s);

	load_bad("bob SHA1 6 30 " B32_SHA1 "\n", 0644, 0, NULL);
	load_bad("bob SHA1 6 30 " B32_SHA1 "\n", 0640, 0, NULL);
	load_bad("bob SHA1 6 30 " B32_SHA1 "\n", 0602, 0, NULL);
	load_bad("# x\nbob SHA1 6 30\n", 0600, 2, NULL);
	load_bad("bob SHA1 6 30 ========\n", 0600, 1, NULL);
	load_bad("bob SHA1 6 30 =\n", 0600, 1, NULL);
	load_bad("bob SHA1 6 30 GEZDGNBVGY1TQOJQGEZDGNBVGY3TQOJQ\n", 0600, 1,
	    "GEZDGNBVGY1TQOJQ");
	load_bad("bob SHA1 6 30 GEZDGNBVGY3TQOJ=GEZDGNBVGY3TQOJQ\n", 0600, 1,
	    "GEZDGNBVGY3TQOJ");
	load_bad("bob SHA1 6 30 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG\n", 0600, 1,
	    "GEZDGNBVGY3TQOJQ");
	/* Ten bytes: too short for RFC 4226. */
	load_bad("bob SHA1 6 30 GEZDGNBVGY3TQOJQ\n", 0600, 1, "GEZDGNBV");
	load_bad("bob MD5 6 30 " B32_SHA1 "\n", 0600, 1, NULL);
	load_bad("bob SHA1 5 30 " B32_SHA1 "\n", 0600, 1, NULL);
	load_bad("bob SHA1 9 30 " B32_SHA1 "\n", 0600, 1, NULL);
	load_bad("bob SHA1 6x 30 " B32_SHA1 "\n", 0600, 1, NULL);
	load_bad("bob SHA1 6 0 " B32_SHA1 "\n", 0600, 1, NULL);
	load_bad("bob SHA1 6 30 " B32_SHA1 " extra\n", 0600, 1, NULL);
	/* Two operators, one seed (spelt differently): refused. */
	load_bad("bob SHA1 6 30 " B32_SHA1 "\n"
	    "carol SHA1 6 30 gezdgnbvgy3tqojqgezdgnbvgy3tqojq\n", 0600, 2,
	    "gezdgnbv");
	load_bad("bob SHA1 6 30 " B32_SHA1 "\n"
	    "bob SHA256 6 30 " B32_SHA256 "\n", 0600, 2, NULL);

	/* Not ours, a symlink, missing. */
	if (geteuid() == 0) {
		write_file("bob SHA1 6 30 " B32_SHA1 "\n", 0600);
		ck_assert_int_eq(chown(path, 1, 1), 0);
		ck_assert_int_eq(seeds_load(path, &s, &e), -1);
		ck_assert_int_eq(e.code, ERR_INVALID);
	}
	write_file("bob SHA1 6 30 " B32_SHA1 "\n", 0600);
	{
		char link[160];

		snprintf(link, sizeof(link), "%s/link", dir);
		ck_assert_int_eq(symlink(path, link), 0);
		ck_assert_int_eq(seeds_load(link, &s, &e), -1);
		ck_assert_int_eq(e.code, ERR_SYSTEM);
		unlink(link);
	}
	unlink(path);
	ck_assert_int_eq(seeds_load(path, &s, &e), -1);
	ck_assert_int_eq(e.code, ERR_SYSTEM);
	ck_assert_int_eq(e.sys, ENOENT);
	seeds_free(NULL);
}
END_TEST

static Suite *
totp_suite(void)
{
	Suite *s = suite_create("totp");
	TCase *tc = tcase_create("totp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rfc6238_vectors);
	tcase_add_test(tc, skew_window);
	tcase_add_test(tc, code_format);
	tcase_add_test(tc, six_digits);
	tcase_add_test(tc, file_checks);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(totp_suite)
