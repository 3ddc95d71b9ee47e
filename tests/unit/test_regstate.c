/*
 * test_regstate.c: the registry state store (regstate.h) and its map
 * (strmap.h), and the facts the reply parser makes of info replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "epp.h"
#include "err.h"
#include "regstate.h"
#include "strmap.h"
#include "suites.h"

START_TEST(strmap_basics)
{
	struct strmap *m = strmap_new();
	char key[32];
	void *old = NULL;
	size_t cur = 0, seen = 0;

	ck_assert_ptr_nonnull(m);
	for (long i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		ck_assert_int_eq(strmap_put(m, key, (void *)(i + 1), &old), 0);
		ck_assert_ptr_null(old);
	}
	ck_assert_uint_eq(strmap_count(m), 5000);
	/* Churn: delete half, put them back, the count and values hold. */
	for (long i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "k%ld", i);
		ck_assert_ptr_eq(strmap_del(m, key), (void *)(i + 1));
	}
	ck_assert_uint_eq(strmap_count(m), 2500);
	for (long i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		ck_assert_ptr_eq(strmap_get(m, key), i % 2 ? (void *)(i + 1) :
		    NULL);
	}
	ck_assert_int_eq(strmap_put(m, "k1", (void *)7, &old), 0);
	ck_assert_ptr_eq(old, (void *)2);
	while (strmap_next(m, &cur, NULL) != NULL)
		seen++;
	ck_assert_uint_eq(seen, 2500);
	strmap_free(m, NULL);
}
END_TEST

static const char *const locked_facts[] = {
	"status=clientUpdateProhibited", "ns=ns1.locked.example",
	"ns=ns.dns.example", "ds=12345 13 2 ABCD", "registrant=reg-1",
	"contact=admin:adm-1", "contact=tech:adm-1", "status=ok",
	"ns=ns.dns.example",	/* repeated: one fact */
};

START_TEST(objects_and_indexes)
{
	struct regstate *rs = regstate_new(0);
	const struct rs_obj *o;
	const char *users[4];
	const char *const second[] = { "ns=ns2.dns.example",
	    "registrant=reg-2" };

	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "locked.example",
	    locked_facts, 9, 100, NULL), 0);
	o = regstate_get(rs, RS_DOMAIN, "locked.example");
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(rs_obj_nfacts(o), 8);
	ck_assert(rs_obj_has(o, "ns=ns.dns.example"));
	ck_assert(!rs_obj_has(o, "ns=ns2.dns.example"));
	ck_assert(!rs_obj_absent(o));
	ck_assert_int_eq(rs_obj_refreshed(o), 100);
	ck_assert_ptr_null(regstate_get(rs, RS_HOST, "locked.example"));
	ck_assert_uint_eq(regstate_domains_using_host(rs, "ns.dns.example",
	    users, 4), 1);
	ck_assert_str_eq(users[0], "locked.example");
	/* adm-1 is admin and tech: one domain, once. */
	ck_assert_uint_eq(regstate_domains_naming_contact(rs, "adm-1", users,
	    4), 1);
	ck_assert_uint_eq(regstate_domains_naming_contact(rs, "reg-1", users,
	    4), 1);
	/* A new reading replaces the facts and the indexes follow. */
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "locked.example", second,
	    2, 200, NULL), 0);
	ck_assert_uint_eq(regstate_domains_using_host(rs, "ns.dns.example",
	    users, 4), 0);
	ck_assert_uint_eq(regstate_domains_using_host(rs, "ns2.dns.example",
	    users, 4), 1);
	ck_assert_uint_eq(regstate_domains_naming_contact(rs, "reg-1", users,
	    4), 0);
	ck_assert_uint_eq(regstate_domains_naming_contact(rs, "reg-2", users,
	    4), 1);
	regstate_del(rs, RS_DOMAIN, "locked.example");
	ck_assert_uint_eq(regstate_domains_using_host(rs, "ns2.dns.example",
	    users, 4), 0);
	ck_assert_uint_eq(regstate_count(rs), 0);
	regstate_free(rs);
}
END_TEST

START_TEST(diff_of_readings)
{
	struct regstate *rs = regstate_new(0);
	const char *const a[] = { "ns=a.example", "ns=b.example",
	    "status=ok" };
	const char *const b[] = { "ns=b.example", "ns=evil.example",
	    "status=ok" };
	struct rs_diff d;

	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", a, 3, 1,
	    &d), 0);
	ck_assert(d.first);
	ck_assert_uint_eq(d.nadded, 3);
	rs_diff_clear(&d);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", b, 3, 2,
	    &d), 0);
	ck_assert(!d.first);
	ck_assert_uint_eq(d.ngone, 1);
	ck_assert_str_eq(d.gone[0], "ns=a.example");
	ck_assert_uint_eq(d.nadded, 1);
	ck_assert_str_eq(d.added[0], "ns=evil.example");
	rs_diff_clear(&d);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", b, 3, 3,
	    &d), 0);
	ck_assert_uint_eq(d.ngone + d.nadded, 0);
	rs_diff_clear(&d);
	regstate_free(rs);
}
END_TEST

/* Full: the unpinned object read longest ago goes; pinned ones stay. */
START_TEST(bounded)
{
	struct regstate *rs = regstate_new(3);
	const char *f = "status=ok";

	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "a.example", &f, 1, 10,
	    NULL), 0);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "b.example", &f, 1, 5,
	    NULL), 0);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "c.example", &f, 1, 20,
	    NULL), 0);
	regstate_pin(rs, RS_DOMAIN, "b.example", 1);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "d.example", &f, 1, 30,
	    NULL), 0);
	ck_assert_uint_eq(regstate_count(rs), 3);
	ck_assert_ptr_null(regstate_get(rs, RS_DOMAIN, "a.example"));
	ck_assert_ptr_nonnull(regstate_get(rs, RS_DOMAIN, "b.example"));
	regstate_pin(rs, RS_DOMAIN, "c.example", 1);
	regstate_pin(rs, RS_DOMAIN, "d.example", 1);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "e.example", &f, 1, 40,
	    NULL), -1);
	/* A new reading of a held object always fits. */
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "d.example", &f, 1, 50,
	    NULL), 0);
	regstate_free(rs);
}
END_TEST

START_TEST(dump_and_load)
{
	struct regstate *rs = regstate_new(0), *back = regstate_new(0);
	const char *const h[] = { "addr=v4:192.0.2.1", "status=linked" };
	const struct rs_obj *o;
	char *json;
	struct err e = ERR_INIT;
	size_t len;

	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "locked.example",
	    locked_facts, 9, 100, NULL), 0);
	ck_assert_int_eq(regstate_put(rs, RS_HOST, "ns1.locked.example", h, 2,
	    101, NULL), 0);
	regstate_pin(rs, RS_HOST, "ns1.locked.example", 1);
	json = regstate_dump(rs, &len);
	ck_assert_ptr_nonnull(json);
	ck_assert_int_eq(regstate_load(back, json, len, &e), 0);
	o = regstate_get(back, RS_HOST, "ns1.locked.example");
	ck_assert_ptr_nonnull(o);
	ck_assert(rs_obj_pinned(o));
	ck_assert(rs_obj_has(o, "addr=v4:192.0.2.1"));
	ck_assert_int_eq(rs_obj_refreshed(o), 101);
	o = regstate_get(back, RS_DOMAIN, "locked.example");
	ck_assert_uint_eq(rs_obj_nfacts(o), 8);
	ck_assert(!rs_obj_pinned(o));
	free(json);
	regstate_free(back);
	/* A damaged file adds nothing. */
	back = regstate_new(0);
	{
		static const char good_then_bad[] = "{\"v\":1,\"objects\":"
		    "[{\"kind\":\"domain\",\"name\":\"a.example\","
		    "\"refreshed\":1,\"pinned\":false,\"facts\":[]},"
		    "{\"kind\":\"planet\"}]}";
		static const char good[] = "{\"v\":1,\"objects\":"
		    "[{\"kind\":\"domain\",\"name\":\"a.example\","
		    "\"refreshed\":1,\"pinned\":false,\"facts\":[]}]}";

		ck_assert_int_eq(regstate_load(back, good_then_bad,
		    strlen(good_then_bad), &e), -1);
		ck_assert_ptr_nonnull(strstr(err_msg(&e), "object 1"));
		ck_assert_int_eq(e.code, ERR_INVALID);
		ck_assert_uint_eq(regstate_count(back), 0);
		ck_assert_int_eq(regstate_load(back, "{\"v\":2}", 7, &e), -1);
		ck_assert_str_eq(err_msg(&e), "not a version 1 state file");
		ck_assert_int_eq(regstate_load(back, "{\"v\":1,", 7, &e), -1);
		ck_assert_int_eq(e.code, ERR_PARSE);
		ck_assert_int_eq(regstate_load(back, good, strlen(good), &e),
		    0);
		ck_assert_uint_eq(regstate_count(back), 1);
	}
	regstate_free(back);
	regstate_free(rs);
}
END_TEST

/*
 * When an object's facts last changed: not at the first reading (what
 * came before is not known), not at a reading that finds the same facts
 * in another order, and kept across a dump and a load.
 */
START_TEST(last_changed)
{
	struct regstate *rs = regstate_new(0), *back = regstate_new(0);
	const char *const one[] = { "ns=a.example", "ns=b.example" };
	const char *const same[] = { "ns=b.example", "ns=a.example",
	    "ns=a.example" };
	const char *const other[] = { "ns=a.example", "ns=c.example" };
	const struct rs_obj *o;
	char *json;
	struct err e = ERR_INIT;
	size_t len;

	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", one, 2, 100,
	    NULL), 0);
	o = regstate_get(rs, RS_DOMAIN, "x.example");
	ck_assert_int_eq(rs_obj_changed(o), 0);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", same, 3, 200,
	    NULL), 0);
	o = regstate_get(rs, RS_DOMAIN, "x.example");
	ck_assert_int_eq(rs_obj_changed(o), 0);
	ck_assert_int_eq(rs_obj_refreshed(o), 200);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", other, 2,
	    300, NULL), 0);
	o = regstate_get(rs, RS_DOMAIN, "x.example");
	ck_assert_int_eq(rs_obj_changed(o), 300);
	ck_assert_int_eq(regstate_put(rs, RS_DOMAIN, "x.example", other, 2,
	    400, NULL), 0);
	o = regstate_get(rs, RS_DOMAIN, "x.example");
	ck_assert_int_eq(rs_obj_changed(o), 300);
	ck_assert_int_eq(rs_obj_refreshed(o), 400);
	json = regstate_dump(rs, &len);
	ck_assert_ptr_nonnull(json);
	ck_assert_int_eq(regstate_load(back, json, len, &e), 0);
	o = regstate_get(back, RS_DOMAIN, "x.example");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(rs_obj_changed(o), 300);
	ck_assert_int_eq(rs_obj_refreshed(o), 400);
	free(json);
	regstate_free(back);
	regstate_free(rs);
}
END_TEST

/* What a registry's domain:info and host:info replies say, as facts. */
START_TEST(facts_of_replies)
{
	static const char dom[] =
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><response>"
	    "<result code=\"1000\"><msg>ok</msg></result><resData>"
	    "<domain:infData xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\">"
	    "<domain:name>LOCKED.example</domain:name><domain:roid>D1-X"
	    "</domain:roid><domain:status s=\"clientUpdateProhibited\"/>"
	    "<domain:registrant>reg-1</domain:registrant><domain:contact "
	    "type=\"admin\">adm-1</domain:contact><domain:ns><domain:hostObj>"
	    "NS1.locked.example</domain:hostObj><domain:hostObj>ns.dns.example"
	    "</domain:hostObj></domain:ns><domain:clID>registrar1"
	    "</domain:clID><domain:authInfo><domain:pw>SECRET-auth</domain:pw>"
	    "</domain:authInfo></domain:infData></resData><extension>"
	    "<secDNS:infData xmlns:secDNS=\"urn:ietf:params:xml:ns:secDNS-1.1\">"
	    "<secDNS:dsData><secDNS:keyTag>12345</secDNS:keyTag><secDNS:alg>13"
	    "</secDNS:alg><secDNS:digestType>2</secDNS:digestType>"
	    "<secDNS:digest>ab cd</secDNS:digest></secDNS:dsData>"
	    "</secDNS:infData></extension><trID><svTRID>S-1</svTRID></trID>"
	    "</response></epp>";
	static const char host[] =
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><response>"
	    "<result code=\"1000\"><msg>ok</msg></result><resData>"
	    "<host:infData xmlns:host=\"urn:ietf:params:xml:ns:host-1.0\">"
	    "<host:name>ns1.locked.example</host:name><host:status s=\"linked\"/>"
	    "<host:addr ip=\"v6\">2001:DB8:0:0::1</host:addr><host:addr>"
	    "192.0.2.1</host:addr></host:infData></resData><trID><svTRID>S-2"
	    "</svTRID></trID></response></epp>";
	static const char *const want_dom[] = {
		"status=clientUpdateProhibited", "registrant=reg-1",
		"contact=admin:adm-1", "ns=ns1.locked.example",
		"ns=ns.dns.example", "ds=12345 13 2 ABCD",
	};
	static const char *const want_host[] = {
		"status=linked", "addr=v6:2001:db8::1", "addr=v4:192.0.2.1",
	};
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_int_eq(epp_parse_reply((const uint8_t *)dom, strlen(dom), &m,
	    &e), 0);
	ck_assert_int_eq(epp_msg_info_kind(m), EPP_OBJ_DOMAIN);
	ck_assert_str_eq(epp_msg_info_object(m), "locked.example");
	ck_assert_uint_eq(epp_msg_info_nfacts(m), 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(epp_msg_info_fact(m, i), want_dom[i]);
	/* The authInfo is never a fact: the store is no password file. */
	for (size_t i = 0; i < epp_msg_info_nfacts(m); i++)
		ck_assert_ptr_null(strstr(epp_msg_info_fact(m, i), "SECRET"));
	epp_msg_free(m);
	ck_assert_int_eq(epp_parse_reply((const uint8_t *)host, strlen(host),
	    &m, &e), 0);
	ck_assert_int_eq(epp_msg_info_kind(m), EPP_OBJ_HOST);
	ck_assert_uint_eq(epp_msg_info_nfacts(m), 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_eq(epp_msg_info_fact(m, i), want_host[i]);
	epp_msg_free(m);
}
END_TEST

/*
 * The watch process keeps every worker's copy equal to its store through
 * the store's observer (watchd.c, statelink.c).  The property: whatever
 * the store does (readings, pins, evictions, removals), a copy that
 * follows the observer's calls ends equal to it.
 */
static void
follow(void *arg, enum rs_kind k, const char *name)
{
	struct regstate **pair = arg;
	const struct rs_obj *o = regstate_get(pair[0], k, name);
	const char *f[16];
	size_t n;

	if (o == NULL) {
		regstate_del(pair[1], k, name);
		return;
	}
	n = rs_obj_nfacts(o);
	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++)
		f[i] = rs_obj_fact(o, i);
	ck_assert_int_eq(regstate_mirror(pair[1], k, name, f, n,
	    rs_obj_refreshed(o), rs_obj_changed(o), rs_obj_pinned(o)), 0);
}

static void
assert_same(struct regstate *a, struct regstate *b)
{
	size_t la, lb;
	char *da = regstate_dump(a, &la), *db = regstate_dump(b, &lb);
	json_t *ja = json_loadb(da, la, 0, NULL), *jb = json_loadb(db, lb, 0,
	    NULL);
	json_t *oa = json_object_get(ja, "objects");
	json_t *ob = json_object_get(jb, "objects");

	/* The same objects, whatever the order of the dump. */
	ck_assert_uint_eq(regstate_count(a), regstate_count(b));
	for (size_t i = 0; i < json_array_size(oa); i++) {
		json_t *x = json_array_get(oa, i), *y = NULL;

		for (size_t j = 0; j < json_array_size(ob) && y == NULL; j++)
			if (json_equal(json_object_get(x, "name"),
			    json_object_get(json_array_get(ob, j), "name")) &&
			    json_equal(json_object_get(x, "kind"),
			    json_object_get(json_array_get(ob, j), "kind")))
				y = json_array_get(ob, j);
		ck_assert_ptr_nonnull(y);
		ck_assert(json_equal(x, y));
	}
	json_decref(ja);
	json_decref(jb);
	free(da);
	free(db);
}

START_TEST(copy_follows_store)
{
	struct regstate *pair[2];
	static const char *const names[] = { "a.example", "b.example",
	    "c.example", "d.example", "e.example", "ns1.a.example" };
	static const char *const facts[] = { "status=ok",
	    "status=serverUpdateProhibited", "ns=ns1.a.example",
	    "ns=ns2.b.example", "ds=1 13 2 AB", "addr=v4:192.0.2.1" };
	unsigned seed = 12345;

	pair[0] = regstate_new(4);	/* small: evictions happen */
	pair[1] = regstate_new(0);	/* unbounded: evicts only when told */
	regstate_set_observer(pair[0], follow, pair);
	for (int step = 0; step < 5000; step++) {
		enum rs_kind k;
		const char *name, *f[3];
		size_t n;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) & 1 ? RS_DOMAIN : RS_HOST;
		name = names[(seed >> 12) % 6];
		switch ((seed >> 20) % 5) {
		case 0:
		case 1:
			n = (seed >> 24) % 4;
			for (size_t i = 0; i < n; i++)
				f[i] = facts[(seed >> (i * 3)) % 6];
			(void)regstate_put(pair[0], k, name, f, n, step, NULL);
			break;
		case 2:
			regstate_pin(pair[0], k, name, 1);
			break;
		case 3:
			regstate_pin(pair[0], k, name, 0);
			break;
		default:
			regstate_del(pair[0], k, name);
			break;
		}
		assert_same(pair[0], pair[1]);
		/* The copy's reverse index follows too. */
		{
			const char *u0[8], *u1[8];

			ck_assert_uint_eq(regstate_domains_using_host(pair[0],
			    "ns1.a.example", u0, 8),
			    regstate_domains_using_host(pair[1],
			    "ns1.a.example", u1, 8));
		}
	}
	/* A copy replaced at once (a new channel). */
	ck_assert_int_eq(regstate_clear(pair[1]), 0);
	ck_assert_uint_eq(regstate_count(pair[1]), 0);
	regstate_free(pair[0]);
	regstate_free(pair[1]);
}
END_TEST

static Suite *
regstate_suite(void)
{
	Suite *s = suite_create("regstate");
	TCase *tc = tcase_create("regstate");

	tcase_add_test(tc, strmap_basics);
	tcase_add_test(tc, objects_and_indexes);
	tcase_add_test(tc, diff_of_readings);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, dump_and_load);
	tcase_add_test(tc, last_changed);
	tcase_add_test(tc, facts_of_replies);
	tcase_add_test(tc, copy_follows_store);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(regstate_suite)
