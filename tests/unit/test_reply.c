/*
 * test_reply.c: the gateway's own EPP replies are valid EPP, carry the
 * contract's reason token and echo only an escaped clTRID.
 */
#include <stdlib.h>
#include <string.h>

#include "epp.h"
#include "err.h"
#include "reply.h"
#include "suites.h"

START_TEST(reply_is_epp)
{
	size_t len;
	char *xml = reply_build(2500, "upstream_unavailable", NULL, "ABC-1",
	    "eppgw-1-1", &len);
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_ptr_nonnull(xml);
	ck_assert_uint_eq(len, strlen(xml));
	ck_assert_int_eq(epp_parse_reply((uint8_t *)xml, len, &m, &e), 0);
	ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_RESPONSE);
	ck_assert_int_eq(epp_msg_result_code(m), 2500);
	ck_assert_ptr_nonnull(strstr(xml,
	    "<reason>upstream_unavailable</reason>"));
	ck_assert_ptr_nonnull(strstr(xml, "<clTRID>ABC-1</clTRID>"));
	ck_assert_ptr_nonnull(strstr(xml, "<svTRID>eppgw-1-1</svTRID>"));
	ck_assert_ptr_nonnull(strstr(xml,
	    "Command failed; server closing connection"));
	epp_msg_free(m);
	free(xml);
}
END_TEST

START_TEST(cltrid_is_escaped)
{
	size_t len;
	char *xml = reply_build(2001, "syntax", NULL,
	    "</clTRID><evil/>&\"'\x01", "eppgw-1-2", &len);
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_int_eq(epp_parse_reply((uint8_t *)xml, len, &m, &e), 0);
	ck_assert_ptr_null(strstr(xml, "<evil/>"));
	ck_assert_ptr_nonnull(strstr(xml,
	    "&lt;/clTRID&gt;&lt;evil/&gt;&amp;&quot;&apos;"));
	epp_msg_free(m);
	free(xml);
}
END_TEST

START_TEST(no_cltrid_and_detail)
{
	size_t len;
	char *xml = reply_build(2304, "approval_required", "0123456789ab",
	    NULL, "eppgw-1-3", &len);

	ck_assert_ptr_null(strstr(xml, "clTRID"));
	ck_assert_ptr_nonnull(strstr(xml,
	    "<reason>approval_required 0123456789ab</reason>"));
	ck_assert_ptr_nonnull(strstr(xml, "code=\"2304\""));
	free(xml);
}
END_TEST

static Suite *
reply_suite(void)
{
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("reply");

	tcase_add_test(tc, reply_is_epp);
	tcase_add_test(tc, cltrid_is_escaped);
	tcase_add_test(tc, no_cltrid_and_detail);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(reply_suite)
