/*
 * test_corpus.c: the command model over real EPP from public projects.
 *
 * tests/unit/corpus-expect.tsv lists, for every command frame of the shared
 * corpus, the command, objects and change classes we expect (reviewed by
 * hand).  Then each command is judged again with its own object on the lock
 * list: it must need approval exactly when the table lists a class.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "lock.h"
#include "policy.h"
#include "suites.h"

static void
join_objects(const struct epp_msg *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < epp_msg_nobjects(m) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", epp_msg_object(m, i, NULL, NULL));
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

START_TEST(corpus_model_matches_table)
{
	FILE *t = fopen("tests/unit/corpus-expect.tsv", "r");
	struct policy *empty = policy_new(CLASS_ALL, locklist_new());
	char line[4096], path[1024], objs[2048], cls[256];
	size_t rows = 0, locked_checked = 0;

	ck_assert_ptr_nonnull(t);
	while (fgets(line, sizeof(line), t) != NULL) {
		char *f[5] = { 0 }, *p = line, *xml;
		size_t n = 0, len;
		struct epp_msg *m = NULL;
		struct verdict v;
		struct err e = ERR_INIT;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		while (n < 5 && (f[n++] = strsep(&p, "\t")) != NULL)
			;
		ck_assert_ptr_nonnull(f[4]);
		snprintf(path, sizeof(path), "%s/%s", unit_corpus_dir(), f[0]);
		xml = unit_slurp(path, &len);
		rows++;
		if (epp_parse_command(unit_xsd(), (uint8_t *)xml, len, &m,
		    NULL, 0, &e) != 0) {
			ck_assert_msg(strcmp(f[1], "-") == 0 &&
			    strcmp(f[4], "reject") == 0,
			    "%s: refused (%s), table says %s", f[0], err_msg(&e),
			    f[1]);
			free(xml);
			continue;
		}
		ck_assert_msg(strcmp(epp_msg_name(m), f[1]) == 0,
		    "%s: command %s, table says %s", f[0], epp_msg_name(m),
		    f[1]);
		join_objects(m, objs, sizeof(objs));
		ck_assert_msg(strcmp(objs, f[2]) == 0, "%s: objects %s, "
		    "table says %s", f[0], objs, f[2]);
		ck_assert_int_eq(policy_judge(empty, NULL, m, "registrar1", &v), 0);
		change_classes_format(v.all_classes, cls, sizeof(cls));
		ck_assert_msg(strcmp(cls[0] ? cls : "-", f[3]) == 0,
		    "%s: classes %s, table says %s", f[0], cls, f[3]);
		ck_assert_msg(strcmp(decision_name(v.decision), f[4]) == 0,
		    "%s: %s, table says %s", f[0], decision_name(v.decision),
		    f[4]);
		verdict_clear(&v);

		/* The same real command against its own domain, locked. */
		if (epp_msg_obj_type(m) == EPP_OBJ_DOMAIN &&
		    strcmp(f[4], "allow") == 0) {
			struct locklist *l = locklist_new();
			struct policy *lp;

			ck_assert_int_eq(locklist_add(l, epp_msg_object(m, 0,
			    NULL, NULL), NULL), 0);
			lp = policy_new(CLASS_ALL, l);
			ck_assert_int_eq(policy_judge(lp, NULL, m, "registrar1", &v),
			    0);
			/* Expected from the table, not from the verdict:
			 * held exactly when the table lists a class. */
			ck_assert_msg(v.decision == (strcmp(f[3], "-") != 0 ?
			    DECISION_APPROVAL : DECISION_ALLOW),
			    "%s locked: %s, table lists classes %s", f[0],
			    decision_name(v.decision), f[3]);
			change_classes_format(v.classes, cls, sizeof(cls));
			ck_assert_msg(v.decision != DECISION_APPROVAL ||
			    strcmp(cls, f[3]) == 0, "%s locked: held for %s, "
			    "table says %s", f[0], cls, f[3]);
			verdict_clear(&v);
			policy_free(lp);
			locked_checked++;
		}
		epp_msg_free(m);
		free(xml);
	}
	fclose(t);
	policy_free(empty);
	ck_assert_uint_ge(rows, 200);
	ck_assert_uint_ge(locked_checked, 100);
}
END_TEST

static Suite *
corpus_suite(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("corpus");

	tcase_add_test(tc, corpus_model_matches_table);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(corpus_suite)
