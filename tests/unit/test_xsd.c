/*
 * test_xsd.c: the schema set (xsd.h) and [policy] schemas.
 *
 * What a validating registry refuses, the gateway refuses; an extension
 * with a schema is validated like the RFC ones; an extension without one
 * is left to the model (class "unknown"), but never makes the rest of the
 * command unvalidated; and compiling the set never reads anything but the
 * files it was given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "config.h"
#include "epp.h"
#include "err.h"
#include "suites.h"
#include "xsd.h"

#define EXT_NS	"urn:example:params:xml:ns:frob-1.0"

/* An operator's extension schema: imports eppcom by namespace only. */
static const char ext_xsd[] =
    "<schema xmlns=\"http://www.w3.org/2001/XMLSchema\" "
    "xmlns:eppcom=\"urn:ietf:params:xml:ns:eppcom-1.0\" "
    "xmlns:frob=\"" EXT_NS "\" targetNamespace=\"" EXT_NS "\" "
    "elementFormDefault=\"qualified\">"
    "<import namespace=\"urn:ietf:params:xml:ns:eppcom-1.0\"/>"
    "<element name=\"frob\"><complexType><sequence>"
    "<element name=\"id\" type=\"eppcom:clIDType\"/>"
    "<element name=\"level\"><simpleType><restriction base=\"token\">"
    "<enumeration value=\"low\"/><enumeration value=\"high\"/>"
    "</restriction></simpleType></element>"
    "</sequence></complexType></element></schema>";

static xmlDocPtr
doc(const char *xml)
{
	xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

	ck_assert_ptr_nonnull(d);
	return d;
}

/* A domain:update of name with ext as the <extension> content. */
static char *
update(const char *name, const char *ext)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><update>"
	    "<d:update xmlns:d=\"urn:ietf:params:xml:ns:domain-1.0\">"
	    "<d:name>%s</d:name></d:update></update>%s%s%s"
	    "<clTRID>XSD-1</clTRID></command></epp>", name,
	    ext ? "<extension>" : "", ext ? ext : "",
	    ext ? "</extension>" : "");
	return buf;
}

static int
valid(const struct xsd *x, const char *xml)
{
	xmlDocPtr d = doc(xml);
	struct err e = ERR_INIT;
	int r = xsd_validate(x, d, &e);

	if (r != 0)
		ck_assert_int_ne(e.code, ERR_NONE);
	xmlFreeDoc(d);
	return r == 0;
}

START_TEST(builtin_set)
{
	const struct xsd *x = unit_xsd();
	static const char *const ns[] = {
		"urn:ietf:params:xml:ns:epp-1.0",
		"urn:ietf:params:xml:ns:eppcom-1.0",
		"urn:ietf:params:xml:ns:domain-1.0",
		"urn:ietf:params:xml:ns:host-1.0",
		"urn:ietf:params:xml:ns:contact-1.0",
		"urn:ietf:params:xml:ns:secDNS-1.0",
		"urn:ietf:params:xml:ns:secDNS-1.1",
		"urn:ietf:params:xml:ns:rgp-1.0",
	};

	ck_assert_uint_eq(xsd_count(x), 8);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		ck_assert_msg(xsd_knows(x, ns[i]), "%s missing", ns[i]);
	ck_assert(!xsd_knows(x, EXT_NS));
	ck_assert(valid(x, update("locked.example", NULL)));
	/* An element inside a text field: the registry refuses it. */
	ck_assert(!valid(x, update("lock<d:x/>ed.example", NULL)));
	/* A value outside its enumeration, whatever the white space. */
	ck_assert(!valid(x, "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<command><update><d:update xmlns:d=\"urn:ietf:params:xml:ns:"
	    "domain-1.0\"><d:name>a.example</d:name><d:rem><d:status "
	    "s=\"clientUpdateProhibitedX\"/></d:rem></d:update></update>"
	    "</command></epp>"));
	ck_assert(valid(x, "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<command><update><d:update xmlns:d=\"urn:ietf:params:xml:ns:"
	    "domain-1.0\"><d:name>a.example</d:name><d:rem><d:status "
	    "s=\" clientUpdateProhibited \"/></d:rem></d:update></update>"
	    "</command></epp>"));
	/* Login passwords longer than RFC 5730's 16 characters pass. */
	ck_assert(valid(x, "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<command><login><clID>registrar1</clID><pw>a-much-longer-login-"
	    "password-than-sixteen</pw><options><version>1.0</version><lang>"
	    "en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-"
	    "1.0</objURI></svcs></login></command></epp>"));
}
END_TEST

START_TEST(unknown_extension_is_lax_not_a_hole)
{
	const struct xsd *x = unit_xsd();

	/* A registry extension with no schema here: accepted... */
	ck_assert(valid(x, update("a.example", "<f:frob xmlns:f=\"" EXT_NS
	    "\"><f:anything/></f:frob>")));
	/* ...but the rest of the command is still validated. */
	ck_assert(!valid(x, update("a<d:x/>.example", "<f:frob xmlns:f=\""
	    EXT_NS "\"/>")));
	ck_assert(!valid(x, update("a.example", "<f:frob xmlns:f=\"" EXT_NS
	    "\"/><s:update xmlns:s=\"urn:ietf:params:xml:ns:secDNS-1.1\">"
	    "<s:rem><s:all>maybe</s:all></s:rem></s:update>")));
	/* A known namespace in a wildcard must be declared (strict). */
	ck_assert(!valid(x, update("a.example", "<s:bogus xmlns:s=\""
	    "urn:ietf:params:xml:ns:secDNS-1.1\"/>")));
}
END_TEST

START_TEST(operator_schema)
{
	struct xsd_file f = { "/etc/eppgw/frob-1.0.xsd", ext_xsd,
	    sizeof(ext_xsd) - 1 };
	struct err e = ERR_INIT;
	struct xsd *x = xsd_new(&f, 1, &e);

	ck_assert_msg(x != NULL, "%s", err_msg(&e));
	ck_assert(xsd_knows(x, EXT_NS));
	ck_assert_uint_eq(xsd_count(x), 9);
	ck_assert(valid(x, update("a.example", "<f:frob xmlns:f=\"" EXT_NS
	    "\"><f:id>abc-1</f:id><f:level> high </f:level></f:frob>")));
	/* Now that it has a schema, it is validated like the RFC ones. */
	ck_assert(!valid(x, update("a.example", "<f:frob xmlns:f=\"" EXT_NS
	    "\"><f:id>abc-1</f:id><f:level>max</f:level></f:frob>")));
	ck_assert(!valid(x, update("a.example", "<f:frob xmlns:f=\"" EXT_NS
	    "\"><f:anything/></f:frob>")));
	xsd_free(x);
}
END_TEST

START_TEST(operator_schema_errors)
{
	static const char other_ns[] =
	    "<schema xmlns=\"http://www.w3.org/2001/XMLSchema\" "
	    "targetNamespace=\"urn:ietf:params:xml:ns:domain-1.0\"/>";
	static const char no_tns[] =
	    "<schema xmlns=\"http://www.w3.org/2001/XMLSchema\"/>";
	static const char outside[] =
	    "<schema xmlns=\"http://www.w3.org/2001/XMLSchema\" "
	    "targetNamespace=\"urn:x\"><import namespace=\"urn:y\" "
	    "schemaLocation=\"/etc/passwd\"/><element name=\"a\" "
	    "type=\"y:t\" xmlns:y=\"urn:y\"/></schema>";
	static const struct {
		const char *data, *want;
	} bad[] = {
		{ "<schema", "not well-formed" },
		{ no_tns, "targetNamespace" },
		{ other_ns, "already has a schema" },
		{ outside, "Failed to parse" },
	};
	struct err e = ERR_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xsd_file f = { "bad.xsd", bad[i].data,
		    strlen(bad[i].data) };
		struct xsd *x = xsd_new(&f, 1, &e);

		ck_assert_msg(x == NULL, "case %zu compiled", i);
		ck_assert_msg(strstr(err_msg(&e), bad[i].want) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, err_msg(&e),
		    bad[i].want);
		ck_assert_ptr_null(strstr(err_msg(&e), "root:"));
		ck_assert_int_ne(e.code, ERR_NONE);
	}
}
END_TEST

/* [policy] schemas: read, compiled, named in errors, printed resolved. */
START_TEST(config_schemas)
{
	char cwd[200], dir[300], conf[400], xsdp[400];
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg;
	FILE *f;
	char *out = NULL;
	size_t outlen = 0;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(dir, sizeof(dir), "%s/eppgw-xsd-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(xsdp, sizeof(xsdp), "%s/frob-1.0.xsd", dir);
	snprintf(conf, sizeof(conf), "%s/eppgw.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(xsdp, "w"));
	fputs(ext_xsd, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	fprintf(f, "[gateway]\nlisten = 127.0.0.1:7000\n"
	    "cert = %1$s/certs/dev/gateway.pem\n"
	    "key = %1$s/certs/dev/gateway.key\n"
	    "client_ca = %1$s/certs/dev/ca.pem\n[upstream]\n"
	    "address = 127.0.0.1:7700\nserver_name = localhost\n"
	    "ca = %1$s/certs/dev/ca.pem\ncert = %1$s/certs/dev/upstream.pem\n"
	    "key = %1$s/certs/dev/upstream.key\n[policy]\n"
	    "schemas = frob-1.0.xsd\n[principal registrar]\n"
	    "cert = %1$s/certs/dev/registrar.pem\nclids = registrar1\n"
	    "roles = requester\n", cwd);
	fclose(f);
	cfg = config_load(conf, &errs);
	ck_assert_msg(cfg != NULL, "%s", errs.n ? errs.msgs[0] : "?");
	ck_assert(xsd_knows(cfg->xsd, EXT_NS));
	/* -T prints the resolved path, so the output loads anywhere. */
	f = open_memstream(&out, &outlen);
	config_print(cfg, f);
	fclose(f);
	ck_assert_msg(strstr(out, xsdp) != NULL, "%s", out);
	free(out);
	config_unref(cfg);
	/* A broken schema file is an error at the schemas line. */
	ck_assert_ptr_nonnull(f = fopen(xsdp, "w"));
	fputs("<schema xmlns=\"http://www.w3.org/2001/XMLSchema\"", f);
	fclose(f);
	ck_assert_ptr_null(cfg = config_load(conf, &errs));
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_msg(strstr(errs.msgs[0], ":13: schemas: frob-1.0.xsd") !=
	    NULL, "%s", errs.msgs[0]);
	config_errors_clear(&errs);
	unlink(xsdp);
	ck_assert_ptr_null(cfg = config_load(conf, &errs));
	ck_assert_msg(strstr(errs.msgs[0], "No such file") != NULL, "%s",
	    errs.msgs[0]);
	config_errors_clear(&errs);
	unlink(conf);
	rmdir(dir);
}
END_TEST

static Suite *
xsd_suite(void)
{
	Suite *s = suite_create("xsd");
	TCase *tc = tcase_create("xsd");

	tcase_add_test(tc, builtin_set);
	tcase_add_test(tc, unknown_extension_is_lax_not_a_hole);
	tcase_add_test(tc, operator_schema);
	tcase_add_test(tc, operator_schema_errors);
	tcase_add_test(tc, config_schemas);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(xsd_suite)
