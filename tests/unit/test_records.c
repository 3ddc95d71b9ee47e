/*
 * test_records.c: the audit records a session writes carry what the
 * contract names (DESIGN.md section 5) and never a secret.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "lock.h"
#include "policy.h"
#include "records.h"
#include "suites.h"

static const struct rec_session who = {
	42, "127.0.0.1:5555", "registrar", "ab:cd", "registrar1"
};

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(cmd_record_fields_and_no_secret)
{
	const char *xml =
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><update>"
	    "<d:update xmlns:d=\"urn:ietf:params:xml:ns:domain-1.0\">"
	    "<d:name>locked.example</d:name><d:add><d:ns><d:hostObj>"
	    "ns.evil.example</d:hostObj></d:ns></d:add><d:chg><d:authInfo>"
	    "<d:pw>SECRET-pw</d:pw></d:authInfo></d:chg></d:update></update>"
	    "<clTRID>R-1</clTRID></command></epp>";
	struct locklist *l = locklist_new();
	struct policy *p;
	struct epp_msg *m = NULL;
	struct verdict v;
	struct err e = ERR_INIT;
	char *s;

	locklist_add(l, "locked.example", NULL);
	p = policy_new(CLASS_ALL, l);
	ck_assert_int_eq(epp_parse_command(unit_xsd(), (const uint8_t *)xml, strlen(xml), &m,
	    NULL, 0, &e), 0);
	ck_assert_int_eq(policy_judge(p, NULL, m, "registrar1", &v), 0);
	s = dump(rec_cmd(&who, m, &v, decision_name(v.decision), v.reason,
	    NULL, "0123abcd"));
	ck_assert_ptr_null(strstr(s, "SECRET"));
	ck_assert_ptr_nonnull(strstr(s, "\"sess\":42"));
	ck_assert_ptr_nonnull(strstr(s, "\"principal\":\"registrar\""));
	ck_assert_ptr_nonnull(strstr(s, "\"clid\":\"registrar1\""));
	ck_assert_ptr_nonnull(strstr(s, "\"cert\":\"ab:cd\""));
	ck_assert_ptr_nonnull(strstr(s, "\"cltrid\":\"R-1\""));
	ck_assert_ptr_nonnull(strstr(s, "\"cmd\":\"domain:update\""));
	ck_assert_ptr_nonnull(strstr(s, "\"objects\":[\"locked.example\"]"));
	ck_assert_ptr_nonnull(strstr(s, "\"classes\":[\"ns\",\"authinfo\"]"));
	ck_assert_ptr_nonnull(strstr(s, "\"decision\":\"approval_required\""));
	ck_assert_ptr_nonnull(strstr(s, v.change_id));
	ck_assert_ptr_nonnull(strstr(s, "\"frame_mac\":\"0123abcd\""));
	ck_assert_ptr_nonnull(strstr(s, "REDACTED"));
	free(s);
	verdict_clear(&v);
	epp_msg_free(m);
	policy_free(p);
}
END_TEST

START_TEST(unparsable_frame_is_recorded_by_mac)
{
	char *s = dump(rec_cmd(&who, NULL, NULL, "reject", "not well-formed",
	    NULL, "0123abcd"));

	/* The bytes are identified by their MAC, never copied. */
	ck_assert_ptr_nonnull(strstr(s, "\"decision\":\"reject\""));
	ck_assert_ptr_nonnull(strstr(s, "\"frame_mac\":\"0123abcd\""));
	ck_assert_ptr_nonnull(strstr(s, "\"xml\":null"));
	free(s);
}
END_TEST

START_TEST(rsp_record_leaves_req_to_the_writer)
{
	char *s = dump(rec_rsp(&who, "registry", 1000, "Command "
	    "completed successfully", "R-1", "regsim-000001", 321));

	/* The command's seq may not be known yet: audit_submit_ref. */
	ck_assert_ptr_null(strstr(s, "\"req\""));
	ck_assert_ptr_nonnull(strstr(s, "\"src\":\"registry\""));
	ck_assert_ptr_nonnull(strstr(s, "\"code\":1000"));
	ck_assert_ptr_nonnull(strstr(s, "\"svtrid\":\"regsim-000001\""));
	ck_assert_ptr_nonnull(strstr(s, "\"rtt_us\":321"));
	free(s);
	s = dump(rec_session_close(&who, "idle timeout", 3));
	ck_assert_ptr_nonnull(strstr(s, "\"event\":\"close\""));
	ck_assert_ptr_nonnull(strstr(s, "\"why\":\"idle timeout\""));
	free(s);
}
END_TEST

static Suite *
records_suite(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, cmd_record_fields_and_no_secret);
	tcase_add_test(tc, unparsable_frame_is_recorded_by_mac);
	tcase_add_test(tc, rsp_record_leaves_req_to_the_writer);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(records_suite)
