/*
 * test_policy.c: names, the lock list, the command model and the policy
 * over the DNSpionage / Sea Turtle set, in every spelling an attacker might
 * try; the change digest's stability and sensitivity; redaction and the
 * forwarded serialisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "hex.h"
#include "lock.h"
#include "names.h"
#include "policy.h"
#include "regstate.h"
#include "suites.h"

#define DOM	"urn:ietf:params:xml:ns:domain-1.0"
#define HOST	"urn:ietf:params:xml:ns:host-1.0"
#define SEC	"urn:ietf:params:xml:ns:secDNS-1.1"

/* --- names -------------------------------------------------------------- */

START_TEST(names_normalise)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "locked.example", "locked.example" },
		{ "LOCKED.Example", "locked.example" },
		{ "locked.example.", "locked.example" },
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
		{ "B\xc3\x9c" "CHER.example", "xn--bcher-kva.example" },
		{ "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
		{ "a-b.c-d.example", "a-b.c-d.example" },
	};
	static const char *const bad[] = {
		"", ".", "locked..example", "locked.example..", "-a.example",
		"a-.example", "a b.example", "lo_cked.example", ".example",
		"xn--zz.example",
		("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		".example"),
	};
	char out[NAME_MAX_LEN + 1];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(name_normalise(ok[i].in, out, sizeof(out)) ==
		    NAME_OK, "%s refused", ok[i].in);
		ck_assert_str_eq(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(name_normalise(bad[i], out, sizeof(out)) !=
		    NAME_OK, "%s accepted", bad[i]);
	ck_assert(name_is_under("ns1.locked.example", "locked.example"));
	ck_assert(name_is_under("locked.example", "locked.example"));
	ck_assert(!name_is_under("notlocked.example", "locked.example"));
}
END_TEST

/* --- lock list ------------------------------------------------------------ */

static struct locklist *
demo_locks(void)
{
	struct locklist *l = locklist_new();

	ck_assert_int_eq(locklist_add(l, "locked.example", NULL), 0);
	ck_assert_int_eq(locklist_add(l, "*.BANK.example.", NULL), 0);
	return l;
}

START_TEST(lock_matching)
{
	struct locklist *l = demo_locks();
	const char *e = NULL;
	struct err err = ERR_INIT;

	ck_assert(locklist_domain(l, "locked.example", &e));
	ck_assert_str_eq(e, "locked.example");
	ck_assert(locklist_domain(l, "pay.bank.example", &e));
	ck_assert_str_eq(e, "*.bank.example");
	ck_assert(locklist_domain(l, "a.pay.bank.example", NULL));
	ck_assert(!locklist_domain(l, "bank.example", NULL));
	ck_assert(!locklist_domain(l, "notlocked.example", NULL));
	ck_assert(!locklist_domain(l, "locked.example.evil", NULL));
	ck_assert(!locklist_domain(l, "sub.locked.example", NULL));
	/* Hosts: subordinate to a locked domain, or named exactly like it
	 * (the registry may treat that host as the domain's own). */
	ck_assert(locklist_host(l, "ns1.locked.example", &e));
	ck_assert_str_eq(e, "locked.example");
	ck_assert(locklist_host(l, "a.b.locked.example", NULL));
	ck_assert(locklist_host(l, "ns1.pay.bank.example", NULL));
	ck_assert(!locklist_host(l, "ns.dns.example", NULL));
	ck_assert(!locklist_host(l, "ns1.notlocked.example", NULL));
	ck_assert(locklist_host(l, "locked.example", NULL));
	ck_assert(locklist_host(l, "pay.bank.example", NULL));
	ck_assert(!locklist_host(l, "bank.example", NULL));
	/* Bad entries are refused, saying why; removal works and is
	 * exact. */
	ck_assert_int_eq(locklist_add(l, "example", &err), -1);
	ck_assert_int_eq(err.code, ERR_INVALID);
	ck_assert_str_eq(err_msg(&err),
	    "a lock entry needs at least two labels (use *.tld)");
	ck_assert_int_eq(locklist_add(l, "bad..example", NULL), -1);
	ck_assert_uint_eq(locklist_count(l), 2);
	ck_assert_int_eq(locklist_remove(l, "LOCKED.example"), 0);
	ck_assert(!locklist_domain(l, "locked.example", NULL));
	ck_assert(!locklist_host(l, "ns1.locked.example", NULL));
	ck_assert_int_eq(locklist_remove(l, "locked.example"), -1);
	ck_assert_uint_eq(locklist_count(l), 1);
	ck_assert_str_eq(locklist_entry(l, 0), "*.bank.example");
	locklist_free(l);
}
END_TEST

START_TEST(lock_many)
{
	struct locklist *l = locklist_new();
	char name[64];

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		ck_assert_int_eq(locklist_add(l, name, NULL), 0);
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof(name), "d%d.example", i);
		ck_assert_int_eq(locklist_remove(l, name), 0);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		ck_assert_int_eq(locklist_domain(l, name, NULL), i % 2);
	}
	ck_assert_uint_eq(locklist_count(l), 2500);
	locklist_free(l);
}
END_TEST

/* --- judging ---------------------------------------------------------- */

static struct policy *
demo_policy(void)
{
	return policy_new(CLASS_ALL, demo_locks());
}

/* Wrap a command body in an EPP envelope with a clTRID. */
static char *
envelope(const char *body, const char *cltrid)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command>%s"
	    "<clTRID>%s</clTRID></command></epp>", body, cltrid);
	return buf;
}

/* What the registry says, for the tests that set it (NULL: nothing). */
static const struct regstate *truth;

static void
judge(const struct policy *p, const char *xml, struct verdict *v,
    struct epp_msg **mp)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	ck_assert_msg(epp_parse_command(unit_xsd(), (const uint8_t *)xml, strlen(xml), &m,
	    NULL, 0, &e) == 0, "parse failed: %s\n%s", err_msg(&e), xml);
	ck_assert_int_eq(policy_judge(p, truth, m, "registrar1", v), 0);
	if (mp != NULL)
		*mp = m;
	else
		epp_msg_free(m);
}

static void
expect(const struct policy *p, const char *body, enum decision d,
    unsigned classes)
{
	struct verdict v;

	judge(p, envelope(body, "T-1"), &v, NULL);
	ck_assert_msg(v.decision == d, "decision %s, wanted %s (%s)\n%s",
	    decision_name(v.decision), decision_name(d), v.reason, body);
	if (d == DECISION_APPROVAL)
		ck_assert_msg(v.classes == classes, "classes %#x, wanted %#x\n"
		    "%s", v.classes, classes, body);
	verdict_clear(&v);
}

/* The name spellings an attacker might try; %s is where the name goes. */
static const char *const spellings[] = {
	"locked.example",
	"LOCKED.EXAMPLE",
	"Locked.Example.",
	"  locked.example\n",
	"lock<![CDATA[ed.exa]]>mple",
	"lock<!-- hidden -->ed.example",
	"&#108;ocked.exampl&#x65;",
};

/*
 * Each attack is a domain-side command template with %s for the domain
 * name; `p` is the prefix for the domain namespace ("" for a default
 * namespace declaration on the object element).
 */
struct attack {
	const char	*what;
	const char	*tmpl;		/* uses %1$s prefix, %2$s name */
	unsigned	 classes;
};

#define D_UPDATE_OPEN \
	"<update><%1$supdate xmlns%3$s=\"" DOM "\"><%1$sname>%2$s</%1$sname>"
#define D_UPDATE_CLOSE "</%1$supdate></update>"

static const struct attack attacks[] = {
	{ "ns add", D_UPDATE_OPEN "<%1$sadd><%1$sns><%1$shostObj>ns.evil."
	    "example</%1$shostObj></%1$sns></%1$sadd>" D_UPDATE_CLOSE,
	    CLASS_NS },
	{ "ns rem", D_UPDATE_OPEN "<%1$srem><%1$sns><%1$shostObj>ns1.locked."
	    "example</%1$shostObj></%1$sns></%1$srem>" D_UPDATE_CLOSE,
	    CLASS_NS },
	{ "hostAttr", D_UPDATE_OPEN "<%1$sadd><%1$sns><%1$shostAttr>"
	    "<%1$shostName>ns9.locked.example</%1$shostName><%1$shostAddr "
	    "ip=\"v4\">203.0.113.9</%1$shostAddr></%1$shostAttr></%1$sns>"
	    "</%1$sadd>" D_UPDATE_CLOSE, CLASS_NS },
	{ "unlock", D_UPDATE_OPEN "<%1$srem><%1$sstatus s=\"clientUpdate"
	    "Prohibited\"/></%1$srem>" D_UPDATE_CLOSE, CLASS_STATUS },
	{ "registrant", D_UPDATE_OPEN "<%1$schg><%1$sregistrant>evil-1"
	    "</%1$sregistrant></%1$schg>" D_UPDATE_CLOSE, CLASS_REGISTRANT },
	{ "contact", D_UPDATE_OPEN "<%1$sadd><%1$scontact type=\"admin\">"
	    "evil-1</%1$scontact></%1$sadd>" D_UPDATE_CLOSE, CLASS_CONTACT },
	{ "authInfo", D_UPDATE_OPEN "<%1$schg><%1$sauthInfo><%1$spw>new-pw"
	    "</%1$spw></%1$sauthInfo></%1$schg>" D_UPDATE_CLOSE,
	    CLASS_AUTHINFO },
	{ "delete", "<delete><%1$sdelete xmlns%3$s=\"" DOM "\"><%1$sname>%2$s"
	    "</%1$sname></%1$sdelete></delete>", CLASS_DELETE },
	{ "transfer request", "<transfer op=\"request\"><%1$stransfer "
	    "xmlns%3$s=\"" DOM "\"><%1$sname>%2$s</%1$sname><%1$sauthInfo>"
	    "<%1$spw>x</%1$spw></%1$sauthInfo></%1$stransfer></transfer>",
	    CLASS_TRANSFER },
	{ "transfer approve", "<transfer op=\"approve\"><%1$stransfer "
	    "xmlns%3$s=\"" DOM "\"><%1$sname>%2$s</%1$sname></%1$stransfer>"
	    "</transfer>", CLASS_TRANSFER },
	{ "ds add", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:add><s:dsData><s:keyTag>1</s:keyTag>"
	    "<s:alg>13</s:alg><s:digestType>2</s:digestType><s:digest>AB"
	    "</s:digest></s:dsData></s:add></s:update></extension>",
	    CLASS_DS },
	{ "ds rem all", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><update "
	    "xmlns=\"" SEC "\"><rem><all> true </all></rem></update>"
	    "</extension>", CLASS_DS },
	{ "ds rem all 1", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:rem><s:all>1</s:all></s:rem></s:update>"
	    "</extension>", CLASS_DS },
	{ "ds rem key", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:rem><s:keyData><s:flags>257</s:flags>"
	    "<s:protocol>3</s:protocol><s:alg>13</s:alg><s:pubKey>AQID"
	    "</s:pubKey></s:keyData></s:rem></s:update></extension>",
	    CLASS_DS },
	{ "maxSigLife", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:chg><s:maxSigLife>60</s:maxSigLife>"
	    "</s:chg></s:update></extension>", CLASS_DS },
	{ "rgp restore", D_UPDATE_OPEN "<%1$sadd/>" D_UPDATE_CLOSE
	    "<extension><r:update xmlns:r=\"urn:ietf:params:xml:ns:rgp-1.0\">"
	    "<r:restore op=\"request\"/></r:update></extension>",
	    CLASS_DELETE },
	{ "unknown extension", D_UPDATE_OPEN D_UPDATE_CLOSE "<extension>"
	    "<x:frob xmlns:x=\"urn:example:frob\">1</x:frob></extension>",
	    CLASS_UNKNOWN },
};

static char *
render(const char *tmpl, const char *prefix, const char *name)
{
	static char buf[8192];
	char xmlns[32];

	/* "d:" -> xmlns:d; "" -> default namespace on the object element. */
	if (prefix[0] != '\0')
		snprintf(xmlns, sizeof(xmlns), ":%.*s",
		    (int)(strlen(prefix) - 1), prefix);
	else
		xmlns[0] = '\0';
	/* Substitute %1$s, %2$s and %3$s ourselves: the templates are data. */
	size_t o = 0;
	for (const char *t = tmpl; *t != '\0' && o + 1 < sizeof(buf); t++) {
		const char *rep = NULL;

		if (t[0] == '%' && t[1] >= '1' && t[1] <= '3' &&
		    strncmp(t + 2, "$s", 2) == 0) {
			rep = t[1] == '1' ? prefix : t[1] == '2' ? name : xmlns;
			t += 3;
		}
		if (rep == NULL) {
			buf[o++] = *t;
			continue;
		}
		for (; *rep != '\0' && o + 1 < sizeof(buf); rep++)
			buf[o++] = *rep;
	}
	buf[o] = '\0';
	return buf;
}

START_TEST(dnspionage_set_is_held)
{
	static const char *const prefixes[] = { "domain:", "", "d0m4in:" };
	struct policy *p = demo_policy();

	for (size_t a = 0; a < sizeof(attacks) / sizeof(attacks[0]); a++)
		for (size_t s = 0; s < sizeof(spellings) /
		    sizeof(spellings[0]); s++)
			for (size_t x = 0; x < 3; x++)
				expect(p, render(attacks[a].tmpl, prefixes[x],
				    spellings[s]), DECISION_APPROVAL,
				    attacks[a].classes);
	/* The same commands on an unlocked domain pass, but for the
	 * unlock: removing clientUpdateProhibited is the registrar lock's
	 * own removal, on any domain. */
	for (size_t a = 0; a < sizeof(attacks) / sizeof(attacks[0]); a++)
		expect(p, render(attacks[a].tmpl, "domain:", "open.example"),
		    attacks[a].classes == CLASS_STATUS ? DECISION_APPROVAL :
		    DECISION_ALLOW, CLASS_STATUS);
	/* Pattern locks. */
	expect(p, render(attacks[0].tmpl, "domain:", "PAY.bank.example"),
	    DECISION_APPROVAL, CLASS_NS);
	expect(p, render(attacks[0].tmpl, "domain:", "bank.example"),
	    DECISION_ALLOW, 0);
	policy_free(p);
}
END_TEST

START_TEST(glue_is_held)
{
	struct policy *p = demo_policy();
	static const char *const hosts[] = {
		"ns1.locked.example", "NS1.LOCKED.EXAMPLE.",
		"ns1.lock<!-- x -->ed.example", "ns1.pay.bank.example",
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		char body[2048];

		snprintf(body, sizeof(body), "<update><h:update xmlns:h=\""
		    HOST "\"><h:name>%s</h:name><h:add><h:addr ip=\"v4\">"
		    "203.0.113.66</h:addr></h:add><h:rem><h:addr ip=\"v4\">"
		    "192.0.2.1</h:addr></h:rem></h:update></update>",
		    hosts[i]);
		expect(p, body, DECISION_APPROVAL, CLASS_HOST);
		snprintf(body, sizeof(body), "<create><host:create "
		    "xmlns:host=\"" HOST "\"><host:name>%s</host:name>"
		    "<host:addr>198.51.100.1</host:addr></host:create>"
		    "</create>", hosts[i]);
		expect(p, body, DECISION_APPROVAL, CLASS_HOST);
		snprintf(body, sizeof(body), "<delete><host:delete "
		    "xmlns:host=\"" HOST "\"><host:name>%s</host:name>"
		    "</host:delete></delete>", hosts[i]);
		expect(p, body, DECISION_APPROVAL, CLASS_HOST);
	}
	/* Renaming an outside host into a locked domain is new glue. */
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns.dns.example</host:name><host:chg><host:name>ns2.locked.example"
	    "</host:name></host:chg></host:update></update>",
	    DECISION_APPROVAL, CLASS_HOST);
	/* Any rename: the host may serve a locked domain (DESIGN 4). */
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns.dns.example</host:name><host:chg><host:name>ns.evil.example"
	    "</host:name></host:chg></host:update></update>",
	    DECISION_APPROVAL, CLASS_HOST);
	/* Glue of unlocked domains is free. */
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns1.open.example</host:name><host:add><host:addr>203.0.113.1"
	    "</host:addr></host:add></host:update></update>",
	    DECISION_ALLOW, 0);
	policy_free(p);
}
END_TEST

START_TEST(harmless_on_locked)
{
	struct policy *p = demo_policy();

	expect(p, "<info><domain:info xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name></domain:info></info>",
	    DECISION_ALLOW, 0);
	expect(p, "<check><domain:check xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name><domain:name>x.example</domain:name>"
	    "</domain:check></check>", DECISION_ALLOW, 0);
	expect(p, "<renew><domain:renew xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name><domain:curExpDate>2027-01-01"
	    "</domain:curExpDate><domain:period unit=\"y\">1</domain:period>"
	    "</domain:renew></renew>", DECISION_ALLOW, 0);
	/* Tightening is always allowed. */
	expect(p, render(D_UPDATE_OPEN "<%1$sadd><%1$sstatus s=\"client"
	    "DeleteProhibited\"/></%1$sadd>" D_UPDATE_CLOSE, "domain:",
	    "locked.example"), DECISION_ALLOW, 0);
	/* all="false" removes nothing, yet any secDNS update on a locked
	 * domain is a DS change: what it means is the registry's reading. */
	expect(p, render(D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:rem><s:all>false</s:all></s:rem>"
	    "</s:update></extension>", "domain:", "locked.example"),
	    DECISION_APPROVAL, CLASS_DS);
	expect(p, "<transfer op=\"query\"><domain:transfer xmlns:domain=\""
	    DOM "\"><domain:name>locked.example</domain:name></domain:transfer>"
	    "</transfer>", DECISION_ALLOW, 0);
	expect(p, "<poll op=\"req\"/>", DECISION_ALLOW, 0);
	policy_free(p);
}
END_TEST

START_TEST(protect_is_configurable)
{
	struct policy *p = policy_new(CLASS_DS, demo_locks());

	expect(p, render(attacks[0].tmpl, "domain:", "locked.example"),
	    DECISION_ALLOW, 0);
	expect(p, render(attacks[11].tmpl, "domain:", "locked.example"),
	    DECISION_APPROVAL, CLASS_DS);
	policy_free(p);
}
END_TEST

/* Put one reading of an object into rs. */
static void
reading(struct regstate *rs, enum rs_kind k, const char *name,
    const char *const *facts, size_t n)
{
	ck_assert_int_eq(regstate_put(rs, k, name, facts, n, 1000, NULL), 0);
}

START_TEST(registry_status_locks)
{
	struct policy *p = demo_policy();
	struct regstate *rs = regstate_new(0);
	const char *const locking[] = { "ok", "serverUpdateProhibited" };
	const char *const client[] = { "clientUpdateProhibited" };
	const char *const other[] = { "clientTransferProhibited", "ok" };
	const char *const upd[] = { "status=clientUpdateProhibited",
	    "ns=ns.dns.example" };
	const char *const free_[] = { "status=ok", "ns=ns.dns.example" };

	ck_assert(policy_status_locks(locking, 2));
	ck_assert(policy_status_locks(client, 1));
	ck_assert(!policy_status_locks(other, 2));
	truth = rs;
	expect(p, render(attacks[0].tmpl, "domain:", "open.example"),
	    DECISION_ALLOW, 0);
	reading(rs, RS_DOMAIN, "open.example", upd, 2);
	/* The registry says so: the NS change and the transfer are held. */
	expect(p, render(attacks[0].tmpl, "domain:", "OPEN.example."),
	    DECISION_APPROVAL, CLASS_NS);
	expect(p, render(attacks[8].tmpl, "domain:", "open.example"),
	    DECISION_APPROVAL, CLASS_TRANSFER);
	/* Its name server's glue is its delegation. */
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns.dns.example</host:name><host:add><host:addr>203.0.113.1"
	    "</host:addr></host:add></host:update></update>",
	    DECISION_APPROVAL, CLASS_HOST);
	/* Subordinate hosts of a status-locked domain are its too. */
	reading(rs, RS_DOMAIN, "open.example", free_, 2);
	expect(p, render(attacks[0].tmpl, "domain:", "open.example"),
	    DECISION_ALLOW, 0);
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns.dns.example</host:name><host:add><host:addr>203.0.113.1"
	    "</host:addr></host:add></host:update></update>",
	    DECISION_ALLOW, 0);
	ck_assert(policy_domain_locked(p, rs, "locked.example", NULL));
	ck_assert(!policy_domain_locked(p, rs, "open.example", NULL));
	truth = NULL;
	policy_free(p);
	regstate_free(rs);
}
END_TEST

/* A host outside every locked domain that serves one is held. */
START_TEST(name_servers_of_locked_domains)
{
	struct policy *p = demo_policy();
	struct regstate *rs = regstate_new(0);
	const char *const facts[] = { "ns=ns1.locked.example",
	    "ns=ns.dns.example", "status=ok" };
	const char *body = "<update><host:update xmlns:host=\"" HOST "\">"
	    "<host:name>NS.DNS.EXAMPLE.</host:name><host:rem><host:addr>"
	    "192.0.2.53</host:addr></host:rem></host:update></update>";

	truth = rs;
	expect(p, body, DECISION_ALLOW, 0);
	reading(rs, RS_DOMAIN, "locked.example", facts, 3);
	expect(p, body, DECISION_APPROVAL, CLASS_HOST);
	expect(p, "<delete><host:delete xmlns:host=\"" HOST "\"><host:name>"
	    "ns.dns.example</host:name></host:delete></delete>",
	    DECISION_APPROVAL, CLASS_HOST);
	/* A host no locked domain uses is free. */
	expect(p, "<update><host:update xmlns:host=\"" HOST "\"><host:name>"
	    "ns2.dns.example</host:name><host:add><host:addr>203.0.113.1"
	    "</host:addr></host:add></host:update></update>",
	    DECISION_ALLOW, 0);
	truth = NULL;
	policy_free(p);
	regstate_free(rs);
}
END_TEST

START_TEST(contacts_of_locked_domains_are_held)
{
	struct policy *p = demo_policy();
	struct regstate *rs = regstate_new(0);
	const char *const facts[] = { "registrant=reg-1",
	    "contact=admin:adm-1", "contact=tech:adm-1" };
	const char *upd = "<update><c:update xmlns:c=\"urn:ietf:params:xml:"
	    "ns:contact-1.0\"><c:id>adm-1</c:id><c:chg><c:email>x@evil."
	    "example</c:email></c:chg></c:update></update>";

	truth = rs;
	expect(p, upd, DECISION_ALLOW, 0);
	reading(rs, RS_DOMAIN, "locked.example", facts, 3);
	/* The transfer e-mail of a locked domain is part of its lock. */
	expect(p, upd, DECISION_APPROVAL, CLASS_CONTACT);
	expect(p, "<delete><c:delete xmlns:c=\"urn:ietf:params:xml:ns:"
	    "contact-1.0\"><c:id>reg-1</c:id></c:delete></delete>",
	    DECISION_APPROVAL, CLASS_CONTACT);
	/* Reading it, or changing another contact, is free; ids are exact. */
	expect(p, "<info><c:info xmlns:c=\"urn:ietf:params:xml:ns:"
	    "contact-1.0\"><c:id>adm-1</c:id></c:info></info>",
	    DECISION_ALLOW, 0);
	expect(p, "<update><c:update xmlns:c=\"urn:ietf:params:xml:ns:"
	    "contact-1.0\"><c:id>ADM-1</c:id><c:chg><c:email>x@evil.example"
	    "</c:email></c:chg></c:update></update>", DECISION_ALLOW, 0);
	truth = NULL;
	policy_free(p);
	regstate_free(rs);
}
END_TEST

/* A protected change to a domain the store holds nothing about: ask. */
START_TEST(unknown_state_is_asked_for)
{
	struct policy *p = demo_policy();
	struct regstate *rs = regstate_new(0);
	const char *const absent[] = { "exists=0" };
	struct verdict v;

	truth = rs;
	/* Without a watch session there is no one to ask. */
	judge(p, envelope(render(attacks[0].tmpl, "domain:", "open.example"),
	    "T-1"), &v, NULL);
	ck_assert_str_eq(v.need_state, "");
	verdict_clear(&v);
	regstate_set_askable(rs, 1);
	judge(p, envelope(render(attacks[0].tmpl, "domain:", "Open.Example"),
	    "T-1"), &v, NULL);
	ck_assert_str_eq(v.need_state, "open.example");
	verdict_clear(&v);
	/* Reading it, or changing a listed domain, needs no question. */
	judge(p, envelope("<info><domain:info xmlns:domain=\"" DOM "\">"
	    "<domain:name>open.example</domain:name></domain:info></info>",
	    "T-1"), &v, NULL);
	ck_assert_str_eq(v.need_state, "");
	verdict_clear(&v);
	judge(p, envelope(render(attacks[0].tmpl, "domain:",
	    "locked.example"), "T-1"), &v, NULL);
	ck_assert_str_eq(v.need_state, "");
	ck_assert_int_eq(v.decision, DECISION_APPROVAL);
	verdict_clear(&v);
	/* Once the registry has answered, the answer decides. */
	reading(rs, RS_DOMAIN, "open.example", absent, 1);
	judge(p, envelope(render(attacks[0].tmpl, "domain:", "open.example"),
	    "T-1"), &v, NULL);
	ck_assert_str_eq(v.need_state, "");
	ck_assert_int_eq(v.decision, DECISION_ALLOW);
	verdict_clear(&v);
	truth = NULL;
	policy_free(p);
	regstate_free(rs);
}
END_TEST

START_TEST(unknown_object_fails_closed)
{
	struct policy *p = demo_policy();

	expect(p, "<update><x:update xmlns:x=\"urn:example:obj\"><x:name>"
	    "whatever</x:name></x:update></update>", DECISION_APPROVAL,
	    CLASS_UNKNOWN);
	/* Reading an unknown object is fine. */
	expect(p, "<info><x:info xmlns:x=\"urn:example:obj\"/></info>",
	    DECISION_ALLOW, 0);
	policy_free(p);
}
END_TEST

START_TEST(invalid_names_rejected)
{
	struct policy *p = demo_policy();
	static const char *const names[] = {
		"locked..example", "lock ed.example", "locked_.example",
		"locked.example..", "xn--.example",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect(p, render(attacks[0].tmpl, "domain:", names[i]),
		    DECISION_REJECT, 0);
	policy_free(p);
}
END_TEST

static void
refused(const char *body)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;
	const char *xml = envelope(body, "T-1");

	ck_assert_msg(epp_parse_command(unit_xsd(), (const uint8_t *)xml, strlen(xml), &m,
	    NULL, 0, &e) == -1, "accepted: %s", body);
}

START_TEST(structure_is_checked)
{
	/* Two names in an update, NS outside add/rem, two verbs' objects. */
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "open.example</domain:name><domain:name>locked.example"
	    "</domain:name></domain:update></update>");
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name><domain:ns><domain:hostObj>x.example"
	    "</domain:hostObj></domain:ns></domain:update></update>");
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "open.example</domain:name></domain:update><domain:update "
	    "xmlns:domain=\"" DOM "\"><domain:name>locked.example"
	    "</domain:name></domain:update></update>");
	refused("<update><domain:info xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name></domain:info></update>");
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name><domain:add><domain:add/>"
	    "</domain:add></domain:update></update>");
	/* An element of another namespace in the object's body. */
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "locked.example</domain:name><x:ns xmlns:x=\"urn:x\"/>"
	    "</domain:update></update>");
	refused(render(D_UPDATE_OPEN D_UPDATE_CLOSE "<extension><s:update "
	    "xmlns:s=\"" SEC "\"><s:rem><s:all>maybe</s:all></s:rem>"
	    "</s:update></extension>", "domain:", "locked.example"));
	refused("<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
	    "open.example</domain:name></domain:update></update>"
	    "<extension/><extension/>");
}
END_TEST

/* --- digest ------------------------------------------------------------- */

static void
change_id_of(const char *xml, const char *clid, char out[13])
{
	struct policy *p = demo_policy();
	struct epp_msg *m = NULL;
	struct verdict v;
	struct err e = ERR_INIT;

	ck_assert_msg(epp_parse_command(unit_xsd(), (const uint8_t *)xml, strlen(xml), &m,
	    NULL, 0, &e) == 0, "%s", err_msg(&e));
	ck_assert_int_eq(policy_judge(p, NULL, m, clid, &v), 0);
	memcpy(out, v.change_id, 13);
	verdict_clear(&v);
	epp_msg_free(m);
	policy_free(p);
}

START_TEST(digest_is_stable)
{
	static const char *const same[] = {
		"<update><domain:update xmlns:domain=\"" DOM "\"><domain:name>"
		"locked.example</domain:name><domain:add><domain:ns><domain:"
		"hostObj>ns.evil.example</domain:hostObj><domain:hostObj>"
		"ns2.evil.example</domain:hostObj></domain:ns></domain:add>"
		"<domain:rem><domain:ns><domain:hostObj>ns1.locked.example"
		"</domain:hostObj></domain:ns></domain:rem></domain:update>"
		"</update>",
		/* other prefix, element order, case, white space, repeats */
		"<update><q:update xmlns:q=\"" DOM "\">\n  <q:name> LOCKED."
		"Example. </q:name>\n<q:add><q:ns><q:hostObj>NS2.evil.example"
		"</q:hostObj><q:hostObj>ns.evil.example.</q:hostObj><q:hostObj>"
		"ns.evil.example</q:hostObj></q:ns></q:add><q:rem><q:ns>"
		"<q:hostObj>ns1.LOCKED.example</q:hostObj></q:ns></q:rem>"
		"</q:update></update>",
		"<update><update xmlns=\"" DOM "\"><name>lock<![CDATA[ed]]>."
		"example</name><add><ns><hostObj>ns2.evil.example</hostObj>"
		"<hostObj>ns.evil.example</hostObj></ns></add><rem><ns>"
		"<hostObj>ns1.locked.example</hostObj></ns></rem></update>"
		"</update>",
	};
	char first[13], id[13];

	change_id_of(envelope(same[0], "A-1"), "registrar1", first);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		change_id_of(envelope(same[i], i ? "OTHER-CLTRID" : "A-2"),
		    "registrar1", id);
		ck_assert_msg(strcmp(id, first) == 0, "variant %zu: %s != %s",
		    i, id, first);
	}
	ck_assert_uint_eq(strlen(first), 12);
	for (size_t i = 0; i < 12; i++)
		ck_assert(strchr("0123456789abcdef", first[i]) != NULL);
	/* eppgw's own extension is not part of the change. */
	change_id_of(envelope(render(D_UPDATE_OPEN D_UPDATE_CLOSE
	    "<extension><e:approval xmlns:e=\"" EPPGW_EXT_NS "\">1"
	    "</e:approval></extension>", "domain:", "locked.example"), "X-1"),
	    "registrar1", id);
	change_id_of(envelope(render(D_UPDATE_OPEN D_UPDATE_CLOSE, "domain:",
	    "locked.example"), "Y-1"), "registrar1", first);
	ck_assert_str_eq(id, first);
}
END_TEST

/*
 * A lock removal through the admin API is approved by its change id: the
 * text and digest are pinned, so a drift in the format (which would orphan
 * every approval already issued) fails here.
 */
START_TEST(lock_remove_text_is_pinned)
{
	static const struct { const char *entry, *text, *digest; } pin[] = {
		{ "locked.example",
		    "eppgw-change/2\nclid=-\ncommand=lock:remove\n"
		    "object=locked.example\n",
		    "190f2e27e0c367f6499dc275d08fd323"
		    "63f089152abf162083ef52fc276e3b30" },
		{ "*.bank.example",
		    "eppgw-change/2\nclid=-\ncommand=lock:remove\n"
		    "object=*.bank.example\n",
		    "e4f6eb4afa02ec28f71e0ec278752a1e"
		    "9d9ed8e9f132f6bae0d5447a9d275d1f" },
		/* As given: the admin API normalises first
		 * (locklist_normalise, below), this does not. */
		{ "LOCKED.Example.",
		    "eppgw-change/2\nclid=-\ncommand=lock:remove\n"
		    "object=LOCKED.Example.\n",
		    "d8f57040a622620f98e8be13db8a8211"
		    "ae23b0f81a002754aa6487563e460a40" },
	};
	uint8_t digest[32];
	char hex[65], *text;

	for (size_t i = 0; i < sizeof(pin) / sizeof(pin[0]); i++) {
		text = policy_canonical_lock_remove(pin[i].entry, digest);
		ck_assert_ptr_nonnull(text);
		ck_assert_str_eq(text, pin[i].text);
		hex_encode(digest, sizeof(digest), hex);
		ck_assert_str_eq(hex, pin[i].digest);
		free(text);
	}
}
END_TEST

/* The admin API records, approves and logs a lock edit under one
 * spelling: "OPEN.Example." and "open.example" are one change. */
START_TEST(lock_entry_normalised)
{
	struct err e = ERR_INIT;
	char out[NAME_MAX_LEN + 3];

	ck_assert_int_eq(locklist_normalise("LOCKED.Example.", out,
	    sizeof(out), &e), 0);
	ck_assert_str_eq(out, "locked.example");
	ck_assert_int_eq(locklist_normalise("*.BANK.example", out,
	    sizeof(out), &e), 0);
	ck_assert_str_eq(out, "*.bank.example");
	ck_assert_int_eq(locklist_normalise("example", out, sizeof(out), &e),
	    -1);
	ck_assert_int_eq(e.code, ERR_INVALID);
	ck_assert_int_eq(locklist_normalise("bad..example", out, sizeof(out),
	    NULL), -1);
	ck_assert_int_eq(locklist_normalise("locked.example", out, 5, &e), -1);
	ck_assert_int_eq(e.code, ERR_LIMIT);
}
END_TEST

/* render() reuses its buffer, so build each variant and take its id. */
static void
id_of_attack(size_t a, const char *name, const char *clid, char out[13])
{
	char body[8192];

	snprintf(body, sizeof(body), "%s", render(attacks[a].tmpl, "domain:",
	    name));
	change_id_of(envelope(body, "T-1"), clid, out);
}

START_TEST(digest_differs_per_change)
{
	size_t n = sizeof(attacks) / sizeof(attacks[0]);
	char ids[64][13], other[13];

	ck_assert_uint_lt(n, 60);
	for (size_t i = 0; i < n; i++)
		id_of_attack(i, "locked.example", "registrar1", ids[i]);
	id_of_attack(0, "pay.bank.example", "registrar1", ids[n]);
	id_of_attack(0, "locked.example", "registrar2", ids[n + 1]);
	/* Values inside a change: a new password, a DS digest, an
	 * extension's content. */
	change_id_of(envelope(render(D_UPDATE_OPEN "<%1$schg><%1$sauthInfo>"
	    "<%1$spw>new-pw2</%1$spw></%1$sauthInfo></%1$schg>"
	    D_UPDATE_CLOSE, "domain:", "locked.example"), "T-1"), "registrar1",
	    ids[n + 2]);
	change_id_of(envelope(render(D_UPDATE_OPEN D_UPDATE_CLOSE
	    "<extension><s:update xmlns:s=\"" SEC "\"><s:add><s:dsData>"
	    "<s:keyTag>1</s:keyTag><s:alg>13</s:alg><s:digestType>2"
	    "</s:digestType><s:digest>AC</s:digest></s:dsData></s:add>"
	    "</s:update></extension>", "domain:", "locked.example"), "T-1"),
	    "registrar1", ids[n + 3]);
	change_id_of(envelope(render(D_UPDATE_OPEN D_UPDATE_CLOSE
	    "<extension><x:frob xmlns:x=\"urn:example:frob\">2</x:frob>"
	    "</extension>", "domain:", "locked.example"), "T-1"), "registrar1",
	    ids[n + 4]);
	/* all=" true " and all="1" are the same change. */
	ck_assert_str_eq(ids[11], ids[12]);
	for (size_t i = 0; i < n + 5; i++)
		for (size_t j = i + 1; j < n + 5; j++) {
			if (i == 11 && j == 12)
				continue;
			ck_assert_msg(strcmp(ids[i], ids[j]) != 0,
			    "changes %zu and %zu share id %s", i, j, ids[i]);
		}
	/* Same change, same id (the determinism the resend relies on). */
	id_of_attack(0, "locked.example", "registrar1", other);
	ck_assert_str_eq(other, ids[0]);
}
END_TEST

/*
 * A change id and a pending change's text must not let anyone who reads
 * them test a guess at an authInfo: the hash of the secret is keyed.
 */
START_TEST(secret_hashes_are_keyed)
{
	const char *xml = envelope(render(D_UPDATE_OPEN "<%1$schg><%1$sauthInfo>"
	    "<%1$spw>guessable</%1$spw></%1$sauthInfo></%1$schg>"
	    D_UPDATE_CLOSE, "domain:", "locked.example"), "K-1");
	struct policy *p = demo_policy(), *q = demo_policy(),
	    *plain = demo_policy();
	uint8_t k1[32], k2[32];
	struct epp_msg *m = NULL;
	struct verdict a, b, c, d;
	struct err e = ERR_INIT;
	char unkeyed[200] = "";

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	policy_set_secret_key(p, k1);
	policy_set_secret_key(q, k2);
	ck_assert(policy_keyed(p) && !policy_keyed(plain));
	ck_assert_int_eq(epp_parse_command(unit_xsd(), (const uint8_t *)xml,
	    strlen(xml), &m, NULL, 0, &e), 0);
	for (size_t i = 0; i < epp_msg_nchanges(m); i++)
		if (epp_msg_change_secret(m, i))
			snprintf(unkeyed, sizeof(unkeyed), "%s",
			    epp_msg_change(m, i, NULL));
	ck_assert_ptr_nonnull(strstr(unkeyed, "chg.authinfo=sha256:"));
	ck_assert_int_eq(policy_judge(p, NULL, m, "registrar1", &a), 0);
	ck_assert_int_eq(policy_judge(p, NULL, m, "registrar1", &b), 0);
	ck_assert_int_eq(policy_judge(q, NULL, m, "registrar1", &c), 0);
	ck_assert_int_eq(policy_judge(plain, NULL, m, "registrar1", &d), 0);
	/* Stable for one key: the resend finds its approval. */
	ck_assert_str_eq(a.change_id, b.change_id);
	ck_assert_str_ne(a.change_id, c.change_id);
	/* The plain hash is nowhere in what is kept or shown. */
	ck_assert_ptr_null(strstr(a.canonical, unkeyed));
	ck_assert_ptr_nonnull(strstr(a.canonical, "chg.authinfo=hmac:"));
	ck_assert_ptr_nonnull(strstr(d.canonical, unkeyed));
	ck_assert_int_eq(a.decision, DECISION_APPROVAL);
	ck_assert_uint_eq(a.classes, CLASS_AUTHINFO);
	verdict_clear(&a);
	verdict_clear(&b);
	verdict_clear(&c);
	verdict_clear(&d);
	epp_msg_free(m);
	policy_free(p);
	policy_free(q);
	policy_free(plain);
}
END_TEST

/* --- redaction and forwarding ------------------------------------------ */

START_TEST(redaction_hides_every_secret)
{
	const char *xml =
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><login>"
	    "<clID>registrar1</clID><pw>SECRET-login</pw><newPW>SECRET-new"
	    "</newPW><options><version>1.0</version><lang>en</lang></options>"
	    "<svcs><objURI>" DOM "</objURI></svcs></login>"
	    "<clTRID>R-1</clTRID></command></epp>";
	const char *upd = envelope("<update><d:update xmlns:d=\"" DOM "\">"
	    "<d:name>open.example</d:name><d:chg><d:authInfo><d:pw roid=\"X1-REP\">"
	    "SECRET-auth<!-- SECRET-comment --></d:pw></d:authInfo></d:chg>"
	    "</d:update></update><extension><x:authInfo xmlns:x=\"urn:x\">"
	    "<x:ext>SECRET-ext</x:ext></x:authInfo></extension>", "R-2");
	const char *docs[] = { xml, upd };

	for (size_t i = 0; i < 2; i++) {
		struct epp_msg *m = NULL;
		struct err e = ERR_INIT;
		char *red = NULL;
		size_t len;

		ck_assert_int_eq(epp_parse_command(unit_xsd(), (const uint8_t *)docs[i],
		    strlen(docs[i]), &m, NULL, 0, &e), 0);
		ck_assert_int_eq(epp_msg_redacted(m, &red, &len), 0);
		ck_assert_ptr_null(strstr(red, "SECRET"));
		ck_assert_ptr_nonnull(strstr(red, "REDACTED"));
		ck_assert_uint_eq(strlen(red), len);
		/* The model's lines carry no secret either. */
		for (size_t j = 0; j < epp_msg_nchanges(m); j++)
			ck_assert_ptr_null(strstr(epp_msg_change(m, j, NULL),
			    "SECRET"));
		free(red);
		epp_msg_free(m);
	}
}
END_TEST

/* Without a secret the record's XML is exactly what is forwarded (no copy
 * is redacted); with one, never. */
START_TEST(redaction_without_secret_is_the_forwarded_form)
{
	char *info = strdup(envelope("<info><d:info xmlns:d=\"" DOM "\">"
	    "<d:name hosts=\"all\">open.example</d:name></d:info></info>",
	    "R-3"));
	const char *auth = envelope("<info><d:info xmlns:d=\"" DOM "\">"
	    "<d:name>open.example</d:name><d:authInfo><d:pw>SECRET-i</d:pw>"
	    "</d:authInfo></d:info></info>", "R-4");
	const char *docs[] = { info, auth };

	for (size_t i = 0; i < 2; i++) {
		struct epp_msg *m = NULL;
		struct err e = ERR_INIT;
		char *red = NULL;
		uint8_t *fwd = NULL;
		size_t rlen, flen;

		ck_assert_int_eq(epp_parse_command(unit_xsd(),
		    (const uint8_t *)docs[i], strlen(docs[i]), &m, NULL, 0, &e),
		    0);
		ck_assert_int_eq(epp_msg_redacted(m, &red, &rlen), 0);
		ck_assert_int_eq(epp_msg_serialise(m, &fwd, &flen), 0);
		if (i == 0) {
			ck_assert_msg(rlen == flen, "%s\n---\n%.*s", red,
			    (int)flen, (const char *)fwd);
			ck_assert_mem_eq(red, fwd, flen);
		} else {
			ck_assert_ptr_null(strstr(red, "SECRET"));
			char *f = strndup((const char *)fwd, flen);

			/* The registry gets it; the log never does. */
			ck_assert_ptr_nonnull(strstr(f, "SECRET-i"));
			free(f);
		}
		free(red);
		free(fwd);
		epp_msg_free(m);
	}
	free(info);
}
END_TEST

START_TEST(forwarded_is_what_was_judged)
{
	const char *xml = envelope("<update><d:update xmlns:d=\"" DOM "\">"
	    "<d:name>open<!-- x -->.exa<![CDATA[mple]]></d:name><d:add><d:ns>"
	    "<d:hostObj>ns2.dns.example</d:hostObj></d:ns></d:add></d:update>"
	    "</update><extension><g:approval xmlns:g=\"" EPPGW_EXT_NS "\">"
	    "x</g:approval></extension>", "F-1");
	struct epp_msg *m = NULL, *again = NULL;
	struct err e = ERR_INIT;
	uint8_t *out = NULL;
	size_t len;
	char *s;

	ck_assert_int_eq(epp_parse_command(unit_xsd(), (const uint8_t *)xml, strlen(xml), &m,
	    NULL, 0, &e), 0);
	ck_assert_int_eq(epp_msg_serialise(m, &out, &len), 0);
	s = strndup((char *)out, len);
	/* No comment, no CDATA split, no eppgw extension: one text node. */
	ck_assert_ptr_null(strstr(s, "<!--"));
	ck_assert_ptr_null(strstr(s, EPPGW_EXT_NS));
	ck_assert_ptr_null(strstr(s, "<extension"));
	ck_assert_ptr_nonnull(strstr(s, ">open.example<"));
	/* And it parses back to the same model. */
	ck_assert_int_eq(epp_parse_command(unit_xsd(), out, len, &again, NULL,
	    0, &e), 0);
	ck_assert_str_eq(epp_msg_object(again, 0, NULL, NULL), "open.example");
	ck_assert_str_eq(epp_msg_cltrid(again), "F-1");
	free(s);
	free(out);
	epp_msg_free(m);
	epp_msg_free(again);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, names_normalise);
	tcase_add_test(tc, lock_matching);
	tcase_add_test(tc, lock_many);
	tcase_add_test(tc, dnspionage_set_is_held);
	tcase_add_test(tc, glue_is_held);
	tcase_add_test(tc, harmless_on_locked);
	tcase_add_test(tc, protect_is_configurable);
	tcase_add_test(tc, registry_status_locks);
	tcase_add_test(tc, name_servers_of_locked_domains);
	tcase_add_test(tc, contacts_of_locked_domains_are_held);
	tcase_add_test(tc, unknown_state_is_asked_for);
	tcase_add_test(tc, unknown_object_fails_closed);
	tcase_add_test(tc, invalid_names_rejected);
	tcase_add_test(tc, structure_is_checked);
	tcase_add_test(tc, digest_is_stable);
	tcase_add_test(tc, digest_differs_per_change);
	tcase_add_test(tc, lock_remove_text_is_pinned);
	tcase_add_test(tc, lock_entry_normalised);
	tcase_add_test(tc, secret_hashes_are_keyed);
	tcase_add_test(tc, redaction_hides_every_secret);
	tcase_add_test(tc, redaction_without_secret_is_the_forwarded_form);
	tcase_add_test(tc, forwarded_is_what_was_judged);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(policy_suite)
