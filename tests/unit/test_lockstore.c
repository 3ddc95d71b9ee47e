/*
 * test_lockstore.c: the vault's live lock list (lockstore.h): it starts
 * as a copy of the configuration's list and edits never reach that list;
 * the file it writes is the lock list format config_load reads (pinned
 * here byte for byte); a file that cannot be written is reported and the
 * edit kept; a reload takes the new configuration's list and file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "err.h"
#include "lock.h"
#include "lockstore.h"
#include "suites.h"

struct dir {
	char	 path[64];
	char	 file[96];
};

static void
dir_make(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/eppgw-lockstore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->path));
	snprintf(d->file, sizeof(d->file), "%s/locks", d->path);
}

static void
dir_remove(struct dir *d)
{
	(void)unlink(d->file);
	ck_assert_int_eq(rmdir(d->path), 0);
}

static struct locklist *
loaded(void)
{
	struct locklist *l = locklist_new();

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(locklist_add(l, "locked.example", NULL), 0);
	ck_assert_int_eq(locklist_add(l, "*.bank.example", NULL), 0);
	return l;
}

START_TEST(edits_stay_in_the_store)
{
	struct locklist *cfg = loaded();
	struct err e = ERR_INIT;
	struct lockstore *s = lockstore_new(cfg, NULL, &e);
	const struct locklist *live;

	ck_assert_ptr_nonnull(s);
	live = lockstore_list(s);
	ck_assert_ptr_ne(live, cfg);
	ck_assert_uint_eq(locklist_count(live), 2);
	ck_assert_str_eq(locklist_entry(live, 0), "locked.example");
	ck_assert_str_eq(locklist_entry(live, 1), "*.bank.example");
	ck_assert_ptr_null(lockstore_path(s));
	ck_assert_int_eq(lockstore_add(s, "New.Example.", &e), 0);
	ck_assert_int_eq(lockstore_remove(s, "locked.example"), 0);
	ck_assert_int_eq(lockstore_remove(s, "locked.example"), -1);
	ck_assert_int_eq(lockstore_add(s, "example", &e), -1);
	ck_assert_int_eq(e.code, ERR_INVALID);
	ck_assert_str_eq(err_msg(&e),
	    "a lock entry needs at least two labels (use *.tld)");
	/* No file: saving is nothing to do. */
	ck_assert_int_eq(lockstore_save(s, NULL), 0);
	ck_assert_uint_eq(locklist_count(lockstore_list(s)), 2);
	ck_assert_str_eq(locklist_entry(lockstore_list(s), 1),
	    "new.example");
	/* The configuration's list is as it was loaded. */
	ck_assert_uint_eq(locklist_count(cfg), 2);
	ck_assert(locklist_domain(cfg, "locked.example", NULL));
	ck_assert(!locklist_domain(cfg, "new.example", NULL));
	lockstore_free(s);
	locklist_free(cfg);
}
END_TEST

START_TEST(file_format_is_pinned)
{
	struct locklist *cfg = loaded(), *again;
	struct err e = ERR_INIT;
	struct lockstore *s;
	struct dir d;
	size_t len;
	char *text;

	dir_make(&d);
	ck_assert_ptr_nonnull(s = lockstore_new(cfg, d.file, &e));
	ck_assert_str_eq(lockstore_path(s), d.file);
	ck_assert_int_eq(lockstore_add(s, "pay.other.example", &e), 0);
	ck_assert_int_eq(lockstore_save(s, &e), 0);
	text = unit_slurp(d.file, &len);
	ck_assert_str_eq(text, "# eppgw lock list, rewritten by the admin "
	    "API.\nlocked.example\n*.bank.example\npay.other.example\n");
	free(text);
	ck_assert_int_eq(lockstore_remove(s, "*.BANK.example"), 0);
	ck_assert_int_eq(lockstore_save(s, &e), 0);
	text = unit_slurp(d.file, &len);
	ck_assert_str_eq(text, "# eppgw lock list, rewritten by the admin "
	    "API.\nlocked.example\npay.other.example\n");
	free(text);
	/* A reload takes the new configuration's list, and its file. */
	again = locklist_new();
	ck_assert_int_eq(locklist_add(again, "only.example", NULL), 0);
	ck_assert_int_eq(lockstore_reload(s, again, NULL, &e), 0);
	ck_assert_uint_eq(locklist_count(lockstore_list(s)), 1);
	ck_assert_str_eq(locklist_entry(lockstore_list(s), 0),
	    "only.example");
	ck_assert_ptr_null(lockstore_path(s));
	lockstore_free(s);
	locklist_free(again);
	locklist_free(cfg);
	dir_remove(&d);
}
END_TEST

START_TEST(unwritable_file_is_reported)
{
	struct locklist *cfg = loaded();
	struct err e = ERR_INIT;
	struct lockstore *s;
	struct dir d;
	char want[160];

	dir_make(&d);
	/* A directory where the file should be: the rename fails. */
	ck_assert_int_eq(mkdir(d.file, 0700), 0);
	ck_assert_ptr_nonnull(s = lockstore_new(cfg, d.file, &e));
	ck_assert_int_eq(lockstore_add(s, "new.example", &e), 0);
	ck_assert_int_eq(lockstore_save(s, &e), -1);
	ck_assert_int_eq(e.code, ERR_SYSTEM);
	snprintf(want, sizeof(want), "cannot write %s: ", d.file);
	ck_assert_msg(strncmp(err_msg(&e), want, strlen(want)) == 0, "%s",
	    err_msg(&e));
	/* The edit is kept in memory. */
	ck_assert(locklist_domain(lockstore_list(s), "new.example", NULL));
	lockstore_free(s);
	locklist_free(cfg);
	ck_assert_int_eq(rmdir(d.file), 0);
	ck_assert_int_eq(rmdir(d.path), 0);
}
END_TEST

static Suite *
lockstore_suite(void)
{
	Suite *s = suite_create("lockstore");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, edits_stay_in_the_store);
	tcase_add_test(tc, file_format_is_pinned);
	tcase_add_test(tc, unwritable_file_is_reported);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(lockstore_suite)
