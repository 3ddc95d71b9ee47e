/*
 * test_epp.c: secure EPP parsing, over hand-made hostile input and over
 * every frame of the shared corpus of real EPP (../shared/corpus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epp.h"
#include "err.h"
#include "suites.h"


static struct epp_msg *
parse_ok(const char *xml)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_msg(epp_parse_command(unit_xsd(), (const uint8_t *)xml,
	    strlen(xml), &m, NULL, 0, &e) == 0, "refused: %s", err_msg(&e));
	return m;
}

static void
parse_fails(const char *xml, const char *want)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_int_eq(epp_parse_command(unit_xsd(), (const uint8_t *)xml,
	    strlen(xml), &m, NULL, 0, &e), -1);
	ck_assert_ptr_null(m);
	ck_assert_int_ne(e.code, ERR_NONE);
	if (want != NULL)
		ck_assert_msg(strstr(err_msg(&e), want) != NULL,
		    "reason \"%s\", wanted \"%s\"", err_msg(&e), want);
}

#define LOGIN(clid) \
	"<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><login>" \
	"<clID>" clid "</clID><pw>secret-pw</pw><options><version>1.0" \
	"</version><lang>en</lang></options><svcs><objURI>" \
	"urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login>" \
	"<clTRID> ABC-1 </clTRID></command></epp>"

START_TEST(login_fields)
{
	struct epp_msg *m = parse_ok(LOGIN("registrar1"));

	ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_COMMAND);
	ck_assert_int_eq(epp_msg_cmd(m), EPP_CMD_LOGIN);
	ck_assert_str_eq(epp_msg_login_clid(m), "registrar1");
	ck_assert_str_eq(epp_msg_cltrid(m), "ABC-1");
	epp_msg_free(m);
}
END_TEST

/* The clID the registry will see, however the text is spelled. */
START_TEST(login_clid_spellings)
{
	static const char *const forms[] = {
		LOGIN("  registrar1\n "),
		LOGIN("regis<![CDATA[trar]]>1"),
		LOGIN("regis<!-- x -->trar1"),
		LOGIN("&#114;egistrar&#x31;"),
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct epp_msg *m = parse_ok(forms[i]);

		ck_assert_str_eq(epp_msg_login_clid(m), "registrar1");
		epp_msg_free(m);
	}
}
END_TEST

START_TEST(prefixes_do_not_matter)
{
	struct epp_msg *m = parse_ok(
	    "<x:epp xmlns:x=\"urn:ietf:params:xml:ns:epp-1.0\"><x:command>"
	    "<x:login><x:clID>registrar1</x:clID><x:pw>secret-pw</x:pw>"
	    "<x:options><x:version>1.0</x:version><x:lang>en</x:lang>"
	    "</x:options><x:svcs><x:objURI>urn:ietf:params:xml:ns:domain-1.0"
	    "</x:objURI></x:svcs></x:login></x:command></x:epp>");

	ck_assert_str_eq(epp_msg_login_clid(m), "registrar1");
	ck_assert_ptr_null(epp_msg_cltrid(m));
	epp_msg_free(m);
	/* The right local names in the wrong namespace are not EPP. */
	parse_fails("<epp xmlns=\"urn:example:not-epp\"><hello/></epp>",
	    "root");
	parse_fails("<epp><hello/></epp>", NULL);
}
END_TEST

START_TEST(hello_and_kinds)
{
	struct epp_msg *m = parse_ok(
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/></epp>");

	ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_HELLO);
	epp_msg_free(m);
	{
		static const char rsp[] =
		    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
		    "<response><result code=\"2303\"><msg>no</msg></result>"
		    "</response></epp>";
		struct err e = ERR_INIT;

		ck_assert_int_eq(epp_parse_reply((const uint8_t *)rsp,
		    strlen(rsp), &m, &e), 0);
		ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_RESPONSE);
		ck_assert_int_eq(epp_msg_result_code(m), 2303);
		epp_msg_free(m);
		/* A registrar does not send responses: parsed as one, it
		 * has no command model and the pipeline refuses it. */
		m = NULL;
		ck_assert_int_eq(epp_parse_reply((const uint8_t *)
		    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/>"
		    "</epp>", 52, &m, &e), -1);
	}
}
END_TEST

START_TEST(hostile_documents)
{
	parse_fails("<?xml version=\"1.0\"?><!DOCTYPE epp [<!ENTITY a "
	    "\"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
	    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/>&c;</epp>",
	    "DOCTYPE");
	parse_fails("<!DOCTYPE epp SYSTEM \"http://127.0.0.1:9/x.dtd\">"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/></epp>",
	    "DOCTYPE");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<?evil x?><hello/></epp>", "processing instruction");
	parse_fails("<?evil x?><epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<hello/></epp>", "processing instruction");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/>"
	    "<hello/></epp>", "more than one");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>"
	    "<info/><check/></command></epp>", "not valid");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>"
	    "<frobnicate/></command></epp>", "not valid");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>"
	    "<login><clID>a</clID><clID>b</clID></login></command></epp>",
	    "not valid");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">junk"
	    "<hello/></epp>", "unexpected text");
	parse_fails("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello/></epp>",
	    "encoding");
	parse_fails("<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><hello>",
	    "well-formed");
	parse_fails("", NULL);
	parse_fails("\x00\x01\x02", NULL);
}
END_TEST

START_TEST(deep_nesting_refused)
{
	size_t depth = 100000, len = 0, cap = depth * 7 + 200;
	char *buf = malloc(cap);

	len += (size_t)snprintf(buf, cap, "<epp xmlns=\"%s\"><command><info>",
	    EPP_NS);
	for (size_t i = 0; i < depth; i++)
		len += (size_t)snprintf(buf + len, cap - len, "<a>");
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;
	ck_assert_int_eq(epp_parse_command(unit_xsd(), (uint8_t *)buf, len,
	    &m, NULL, 0, &e), -1);
	free(buf);
}
END_TEST

/* --- the shared corpus ------------------------------------------------ */

/* Schema-valid frames that are wrong on purpose (corpus SOURCES.md). */
static int
invalid_on_purpose(const char *path)
{
	static const char *const wrong[] = {
		"nomulus/domain/domain_create_wrong_extension.xml",
		"nomulus/domain/domain_update_wrong_extension.xml",
	};

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		if (strcmp(path, wrong[i]) == 0)
			return 1;
	return 0;
}

static enum epp_cmd
verb_of(const char *what)
{
	static const struct { const char *v; enum epp_cmd c; } verbs[] = {
		{ "login", EPP_CMD_LOGIN }, { "logout", EPP_CMD_LOGOUT },
		{ "check", EPP_CMD_CHECK }, { "info", EPP_CMD_INFO },
		{ "poll", EPP_CMD_POLL }, { "transfer", EPP_CMD_TRANSFER },
		{ "create", EPP_CMD_CREATE }, { "delete", EPP_CMD_DELETE },
		{ "renew", EPP_CMD_RENEW }, { "update", EPP_CMD_UPDATE },
	};
	const char *colon = strchr(what, ':');
	const char *v = colon ? colon + 1 : what;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].v, v) == 0)
			return verbs[i].c;
	return EPP_CMD_NONE;
}

/*
 * Every corpus frame: hostile ones refused as DOCTYPE, the others parsed
 * as what the manifest says they are (command verb, response code).
 */
START_TEST(corpus_frames)
{
	char path[1024], line[4096];
	FILE *man;
	size_t nfiles = 0, ncmd = 0, nrsp = 0, nhostile = 0;

	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", unit_corpus_dir());
	man = fopen(path, "r");
	ck_assert_msg(man != NULL, "corpus manifest %s missing (set "
	    "EPPGW_CORPUS)", path);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), man));  /* header */
	while (fgets(line, sizeof(line), man) != NULL) {
		char *f[9] = { 0 }, *p = line, *xml;
		size_t n = 0, len;
		struct epp_msg *m = NULL;
		struct err e = ERR_INIT;
		int r;

		line[strcspn(line, "\n")] = '\0';
		while (n < 9 && (f[n++] = strsep(&p, "\t")) != NULL)
			;
		snprintf(path, sizeof(path), "%s/%s", unit_corpus_dir(), f[0]);
		xml = unit_slurp(path, &len);
		if (strcmp(f[2], "response") == 0 ||
		    strcmp(f[2], "greeting") == 0)
			r = epp_parse_reply((uint8_t *)xml, len, &m, &e);
		else
			r = epp_parse_command(unit_xsd(), (uint8_t *)xml, len,
			    &m, NULL, 0, &e);
		nfiles++;
		if (strcmp(f[2], "hostile") == 0) {
			ck_assert_msg(r == -1 && strstr(err_msg(&e), "DOCTYPE"),
			    "%s: hostile frame accepted", f[0]);
			ck_assert_int_eq(e.code, ERR_REFUSED);
			nhostile++;
		} else if (strcmp(f[2], "command") == 0 && r == 0) {
			ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_COMMAND);
			ck_assert_msg(epp_msg_cmd(m) == verb_of(f[3]),
			    "%s: parsed as %s, manifest says %s", f[0],
			    epp_cmd_name(epp_msg_cmd(m)), f[3]);
			ncmd++;
		} else if (strcmp(f[2], "command") == 0) {
			/* Only frames invalid by schema or on purpose (see
			 * the corpus SOURCES.md) may fail. */
			ck_assert_msg(strcmp(f[7], "valid") != 0 ||
			    invalid_on_purpose(f[0]),
			    "%s: valid command refused: %s", f[0],
			    err_msg(&e));
		} else if (strcmp(f[2], "response") == 0) {
			ck_assert_msg(r == 0, "%s: response refused: %s",
			    f[0], err_msg(&e));
			ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_RESPONSE);
			/* Placeholders such as %CODE% have no code. */
			if (f[5] != NULL && f[5][0] >= '1' && f[5][0] <= '2')
				ck_assert_int_eq(epp_msg_result_code(m),
				    (int)strtol(f[5], NULL, 10));
			nrsp++;
		} else if (strcmp(f[2], "greeting") == 0) {
			ck_assert_msg(r == 0, "%s: %s", f[0], err_msg(&e));
			ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_GREETING);
		} else if (strcmp(f[2], "hello") == 0) {
			ck_assert_msg(r == 0, "%s: %s", f[0], err_msg(&e));
			ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_HELLO);
		}
		epp_msg_free(m);
		free(xml);
	}
	fclose(man);
	ck_assert_uint_ge(nfiles, 300);
	ck_assert_uint_ge(ncmd, 150);
	ck_assert_uint_ge(nrsp, 100);
	ck_assert_uint_eq(nhostile, 6);
}
END_TEST

static Suite *
epp_suite(void)
{
	Suite *s = suite_create("epp");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, login_fields);
	tcase_add_test(tc, login_clid_spellings);
	tcase_add_test(tc, prefixes_do_not_matter);
	tcase_add_test(tc, hello_and_kinds);
	tcase_add_test(tc, hostile_documents);
	tcase_add_test(tc, deep_nesting_refused);
	tcase_add_test(tc, corpus_frames);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(epp_suite)

/* --- the domain:info response model ----------------------------------- */

static struct epp_msg *
corpus_msg(const char *rel)
{
	char path[1024], *xml;
	size_t len;
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	snprintf(path, sizeof(path), "%s/%s", unit_corpus_dir(), rel);
	xml = unit_slurp(path, &len);
	ck_assert_msg(epp_parse_reply((uint8_t *)xml, len, &m, &e) == 0,
	    "%s: %s", rel, err_msg(&e));
	free(xml);
	return m;
}

/* How many facts start with prefix; whether one equals fact. */
static size_t
facts_with(const struct epp_msg *m, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < epp_msg_info_nfacts(m); i++)
		if (strncmp(epp_msg_info_fact(m, i), prefix,
		    strlen(prefix)) == 0)
			n++;
	return n;
}

static int
has_fact(const struct epp_msg *m, const char *fact)
{
	for (size_t i = 0; i < epp_msg_info_nfacts(m); i++)
		if (strcmp(epp_msg_info_fact(m, i), fact) == 0)
			return 1;
	return 0;
}

START_TEST(info_response_model)
{
	struct epp_msg *m = corpus_msg(
	    "instant-epp/tests/resources/response/domain/info.xml");

	ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_RESPONSE);
	ck_assert_int_eq(epp_msg_info_kind(m), EPP_OBJ_DOMAIN);
	ck_assert_str_eq(epp_msg_info_object(m), "eppdev-1.com");
	ck_assert_uint_eq(facts_with(m, "status="), 2);
	ck_assert(has_fact(m, "status=clientTransferProhibited"));
	ck_assert_uint_eq(facts_with(m, "ns="), 2);
	ck_assert(has_fact(m, "ns=ns1.eppdev-1.com"));
	ck_assert_ptr_nonnull(epp_msg_svtrid(m));
	/* registrant and the admin/tech/billing contacts */
	ck_assert_uint_ge(facts_with(m, "registrant=") +
	    facts_with(m, "contact="), 2);
	epp_msg_free(m);

	m = corpus_msg(
	    "instant-epp/tests/resources/response/extensions/secdns_info_ds.xml");
	ck_assert_uint_ge(facts_with(m, "ds=12345 "), 1);
	epp_msg_free(m);

	/* A command is no info response. */
	m = parse_ok(LOGIN("registrar1"));
	ck_assert_int_eq(epp_msg_info_kind(m), EPP_OBJ_NONE);
	ck_assert_uint_eq(epp_msg_info_nfacts(m), 0);
	epp_msg_free(m);
}
END_TEST

static Suite *
response_suite(void)
{
	Suite *s = suite_create("response");
	TCase *tc = tcase_create("response");

	tcase_add_test(tc, info_response_model);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(response_suite)
