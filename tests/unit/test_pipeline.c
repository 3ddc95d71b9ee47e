/*
 * test_pipeline.c: a registrar session's decisions without TLS.
 *
 * Frames in, bytes out: every case is an RFC 5734 data unit (4-byte length
 * header, then the XML).  All of them go into one byte stream, which a
 * frame decoder reads in uneven chunks as TLS records would deliver them;
 * each frame it yields goes through pipeline_judge() NULL, with the demo lock
 * list, and the test builds what the session would send: the forwarded
 * frame, or the gateway's own reply (reply_build), which must itself be a
 * framed EPP response with the right code, reason and clTRID.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "frame.h"
#include "lock.h"
#include "pipeline.h"
#include "policy.h"
#include "reply.h"
#include "suites.h"

#define EPP_OPEN	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>" \
			"<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
#define EPP_CLOSE	"</epp>"
#define DOM		"xmlns:domain=\"urn:ietf:params:xml:ns:domain-1.0\""
#define GW		"xmlns:g=\"" EPPGW_EXT_NS "\""

/* A command with clTRID T-<n>. */
#define CMD(body, n)	EPP_OPEN "<command>" body "<clTRID>T-" #n \
			"</clTRID></command>" EPP_CLOSE

#define NS_CHANGE(name) \
	"<update><domain:update " DOM "><domain:name>" name "</domain:name>" \
	"<domain:add><domain:ns><domain:hostObj>ns.evil.example" \
	"</domain:hostObj></domain:ns></domain:add></domain:update></update>"

static const char login[] = CMD("<login><clID>registrar1</clID>"
    "<pw>demo-password-1</pw><options><version>1.0</version><lang>en"
    "</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0"
    "</objURI></svcs></login>", 1);
static const char hello[] = EPP_OPEN "<hello/>" EPP_CLOSE;
static const char info[] = CMD("<info><domain:info " DOM "><domain:name>"
    "open.example</domain:name></domain:info></info>", 3);
static const char ns_locked[] = CMD(NS_CHANGE("locked.example"), 4);
static const char ns_open[] = CMD(NS_CHANGE("open.example"), 5);
static const char invalid[] = CMD("<update><domain:update " DOM ">"
    "<domain:name>open.example</domain:name><domain:bogus/>"
    "</domain:update></update>", 6);
static const char bad_name[] = CMD("<info><domain:info " DOM "><domain:name>"
    "locked..example</domain:name></domain:info></info>", 7);
static const char doctype[] = "<?xml version=\"1.0\"?>"
    "<!DOCTYPE epp [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;"
    "&a;&a;&a;&a;&a;&a;\">]><epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
    "<command><info><domain:info " DOM "><domain:name>&b;</domain:name>"
    "</domain:info></info></command></epp>";
static const char response[] = EPP_OPEN "<response><result code=\"1000\">"
    "<msg>Command completed successfully</msg></result><trID><clTRID>T-9"
    "</clTRID><svTRID>SV-1</svTRID></trID></response>" EPP_CLOSE;
static const char pi[] = EPP_OPEN "<?evil instruction?><hello/>" EPP_CLOSE;
static const char broken[] = EPP_OPEN "<hello>" EPP_CLOSE;
static const char own_ext[] = CMD(NS_CHANGE("open.example") "<extension>"
    "<g:approval " GW "><g:otp>123456</g:otp></g:approval></extension>", 12);
/* Two <extension>s, eppgw's element in each: the schema refuses two, and
 * stripping one must not make the other (eppgw's element and all) pass. */
static const char two_ext[] = CMD(NS_CHANGE("open.example") "<extension>"
    "<g:approval " GW "/></extension><extension><g:approval " GW "/>"
    "</extension>", 13);
static const char logout[] = CMD("<logout/>", 14);

/* Append to a frame being made; the buffers are sized for what goes in. */
static void add(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(char *buf, size_t size, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_lt(vsnprintf(buf + o, size - o, fmt, ap), size - o);
	va_end(ap);
}

/* Frames over the parse bounds (include/epp.h), made to measure. */
static char *
too_many_attrs(void)
{
	static char buf[4096];

	buf[0] = '\0';
	add(buf, sizeof(buf), EPP_OPEN "<hello");
	for (int i = 0; i < 33; i++)
		add(buf, sizeof(buf), " a%d=\"x\"", i);
	add(buf, sizeof(buf), "/>" EPP_CLOSE);
	return buf;
}

static char *
too_deep(void)
{
	static char buf[8192];

	buf[0] = '\0';
	add(buf, sizeof(buf), EPP_OPEN "<command><info><x:i "
	    "xmlns:x=\"urn:example:deep\">");
	for (int i = 0; i < 40; i++)
		add(buf, sizeof(buf), "<x:d>");
	for (int i = 0; i < 40; i++)
		add(buf, sizeof(buf), "</x:d>");
	add(buf, sizeof(buf), "</x:i></info></command>" EPP_CLOSE);
	return buf;
}

static char *
too_many_elements(void)
{
	static char buf[65536];

	buf[0] = '\0';
	add(buf, sizeof(buf), EPP_OPEN "<command><check><domain:check "
	    DOM ">");
	for (int i = 0; i < 1100; i++)
		add(buf, sizeof(buf), "<domain:name>d%d.example</domain:name>",
		    i);
	add(buf, sizeof(buf), "</domain:check></check></command>"
	    EPP_CLOSE);
	return buf;
}

/* 3 x 30 declarations: each tag under the attribute bound, the document
 * over the namespace bound. */
static char *
namespace_bomb(void)
{
	static char buf[16384];
	const char *tags[] = { "command", "info", "x:i" };

	buf[0] = '\0';
	add(buf, sizeof(buf), EPP_OPEN);
	for (int t = 0; t < 3; t++) {
		add(buf, sizeof(buf), "<%s%s", tags[t], t == 2 ?
		    " xmlns:x=\"urn:example:x\"" : "");
		for (int i = 0; i < 30; i++)
			add(buf, sizeof(buf), " xmlns:n%d_%d=\"urn:example:"
			    "n%d\"", t, i, i);
		add(buf, sizeof(buf), ">");
	}
	add(buf, sizeof(buf), "</x:i></info></command>" EPP_CLOSE);
	return buf;
}

struct pcase {
	const char	*what;
	const char	*xml;
	char		*(*make)(void);		/* when xml is NULL */
	enum pipe_action action;
	const char	*command;	/* epp_msg_name, when it was judged */
	const char	*why;		/* PIPE_REPLY: part of the reason */
	const char	*cltrid;	/* echoed in a reply, or NULL */
};

static const struct pcase cases[] = {
	{ "login", login, NULL, PIPE_FORWARD, "login", NULL, "T-1" },
	{ "hello", hello, NULL, PIPE_FORWARD, "hello", NULL, NULL },
	{ "domain:info, allowed", info, NULL, PIPE_FORWARD, "domain:info",
	    NULL, "T-3" },
	{ "NS change on locked.example", ns_locked, NULL, PIPE_APPROVAL,
	    "domain:update", NULL, "T-4" },
	{ "NS change on open.example", ns_open, NULL, PIPE_FORWARD,
	    "domain:update", NULL, "T-5" },
	{ "schema-invalid command", invalid, NULL, PIPE_REPLY, NULL,
	    "schema", NULL },
	{ "invalid domain name", bad_name, NULL, PIPE_REPLY, "domain:info",
	    "invalid object name", "T-7" },
	{ "DOCTYPE and entities", doctype, NULL, PIPE_REPLY, NULL, "DOCTYPE",
	    NULL },
	{ "a response sent by a registrar", response, NULL, PIPE_REPLY, NULL,
	    "not a command", NULL },
	{ "processing instruction", pi, NULL, PIPE_REPLY, NULL,
	    "processing instruction", NULL },
	{ "not well-formed", broken, NULL, PIPE_REPLY, NULL, "well-formed",
	    NULL },
	{ "eppgw's extension in its place", own_ext, NULL, PIPE_FORWARD,
	    "domain:update", NULL, "T-12" },
	{ "two extensions with eppgw's element", two_ext, NULL, PIPE_REPLY,
	    NULL, "schema", NULL },
	{ "logout", logout, NULL, PIPE_FORWARD, "logout", NULL, "T-14" },
	{ "33 attributes on one tag", NULL, too_many_attrs, PIPE_REPLY, NULL,
	    "too many attributes", NULL },
	{ "40 levels deep", NULL, too_deep, PIPE_REPLY, NULL, "too deep",
	    NULL },
	{ "1100 elements", NULL, too_many_elements, PIPE_REPLY, NULL,
	    "too many elements", NULL },
	{ "namespace bomb", NULL, namespace_bomb, PIPE_REPLY, NULL,
	    "namespace declarations", NULL },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static struct policy *
demo_policy(void)
{
	struct locklist *l = locklist_new();

	ck_assert_int_eq(locklist_add(l, "locked.example", NULL), 0);
	ck_assert_int_eq(locklist_add(l, "*.bank.example", NULL), 0);
	return policy_new(CLASS_ALL, l);
}

/* A growing byte string. */
struct bytes {
	uint8_t	*p;
	size_t	 len;
};

static void
put_frame(struct bytes *b, const void *xml, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	ck_assert_int_eq(frame_header_write(hdr, len), 0);
	b->p = realloc(b->p, b->len + sizeof(hdr) + len);
	ck_assert_ptr_nonnull(b->p);
	memcpy(b->p + b->len, hdr, sizeof(hdr));
	memcpy(b->p + b->len + sizeof(hdr), xml, len);
	b->len += sizeof(hdr) + len;
}

/* The one frame in b, decoded as the peer would: its XML, NUL-terminated. */
static char *
take_frame(const struct bytes *b, size_t *len)
{
	size_t plen = 0;
	uint32_t total = 0;
	char *xml;

	ck_assert_int_eq(frame_header_parse(b->p, b->len, FRAME_DEFAULT_MAX,
	    &plen, &total), FRAME_OK);
	ck_assert_uint_eq(total, b->len);
	ck_assert_uint_eq(plen + FRAME_HEADER_LEN, b->len);
	xml = malloc(plen + 1);
	ck_assert_ptr_nonnull(xml);
	memcpy(xml, b->p + FRAME_HEADER_LEN, plen);
	xml[plen] = '\0';
	*len = plen;
	return xml;
}

/*
 * What the session (gateway/worker/session.c) sends for one frame, with no ticket
 * and no audit log: the forwarded frame, or its own framed reply (2304
 * with the change id when approval is needed; the refusal's code and token
 * otherwise).  The pipeline's result is left in *po.
 */
static void
session_step(const struct policy *p, const uint8_t *xml, size_t len,
    struct pipe_out *po, struct bytes *to_registry, struct bytes *to_client)
{
	const char *cltrid;
	char *reply;
	size_t rlen;

	ck_assert_int_eq(pipeline_judge(unit_xsd(), p, NULL, "registrar1", xml, len,
	    po), 0);
	cltrid = po->msg != NULL ? epp_msg_cltrid(po->msg) : NULL;
	switch (po->action) {
	case PIPE_FORWARD:
		put_frame(to_registry, po->fwd, po->fwd_len);
		return;
	case PIPE_APPROVAL:
		/* No ticket in this test: held, never forwarded. */
		reply = reply_build(2304, "approval_required",
		    po->v.change_id, cltrid, "eppgw-test-1", &rlen);
		break;
	case PIPE_REPLY:
	default:
		reply = reply_build(po->code, po->token, NULL, cltrid,
		    "eppgw-test-1", &rlen);
		break;
	}
	ck_assert_ptr_nonnull(reply);
	put_frame(to_client, reply, rlen);
	free(reply);
}

static void
check_forwarded(const struct pcase *c, const struct bytes *out)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;
	size_t len;
	char *xml = take_frame(out, &len);

	/* The registry gets a command the gateway reads the same way. */
	ck_assert_msg(epp_parse_command(unit_xsd(), (uint8_t *)xml, len, &m,
	    NULL, 0, &e) == 0, "%s: forwarded bytes refused: %s", c->what,
	    err_msg(&e));
	ck_assert_str_eq(epp_msg_name(m), c->command);
	if (c->cltrid != NULL)
		ck_assert_str_eq(epp_msg_cltrid(m), c->cltrid);
	/* Never eppgw's own extension. */
	ck_assert_ptr_null(strstr(xml, EPPGW_EXT_NS));
	epp_msg_free(m);
	free(xml);
}

static void
check_reply(const struct pcase *c, const struct pipe_out *po,
    const struct bytes *out)
{
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;
	char want[64];
	size_t len;
	char *xml = take_frame(out, &len);
	int code = c->action == PIPE_APPROVAL ? 2304 : 2001;

	ck_assert_msg(epp_parse_reply((uint8_t *)xml, len, &m, &e) == 0,
	    "%s: reply does not parse: %s", c->what, err_msg(&e));
	ck_assert_int_eq(epp_msg_kind(m), EPP_KIND_RESPONSE);
	ck_assert_int_eq(epp_msg_result_code(m), code);
	ck_assert_str_eq(epp_msg_result_msg(m), reply_code_msg(code));
	ck_assert_ptr_nonnull(epp_msg_svtrid(m));
	ck_assert_int_eq(strncmp(epp_msg_svtrid(m), "eppgw-", 6), 0);
	if (c->cltrid != NULL) {
		ck_assert_ptr_nonnull(epp_msg_cltrid(m));
		ck_assert_str_eq(epp_msg_cltrid(m), c->cltrid);
	} else
		ck_assert_ptr_null(epp_msg_cltrid(m));
	if (code == 2304) {
		/* approval_required and the 12 hex digits of the change. */
		ck_assert_uint_eq(strlen(po->v.change_id), CHANGE_ID_LEN);
		for (size_t i = 0; i < CHANGE_ID_LEN; i++)
			ck_assert(isxdigit((unsigned char)po->v.change_id[i]) &&
			    !isupper((unsigned char)po->v.change_id[i]));
		snprintf(want, sizeof(want), "<reason>approval_required %s"
		    "</reason>", po->v.change_id);
	} else
		snprintf(want, sizeof(want), "<reason>syntax</reason>");
	ck_assert_msg(strstr(xml, want) != NULL, "%s: no %s in\n%s", c->what,
	    want, xml);
	epp_msg_free(m);
	free(xml);
}

START_TEST(frames_in_bytes_out)
{
	static const size_t chunks[] = { 1, 3, 2, 7, 64, 5, 1000, 13 };
	struct policy *p = demo_policy();
	struct frame_decoder *dec = frame_decoder_new(FRAME_DEFAULT_MAX);
	struct bytes in = { NULL, 0 };
	size_t off = 0, k = 0, ncase = 0;

	ck_assert_ptr_nonnull(dec);
	for (size_t i = 0; i < NCASES; i++) {
		const char *xml = cases[i].xml ? cases[i].xml :
		    cases[i].make();

		put_frame(&in, xml, strlen(xml));
	}
	/* One stream, read in uneven pieces; a frame through the pipeline
	 * as soon as it is whole. */
	while (off < in.len) {
		enum frame_status st;
		size_t n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];
		const struct pcase *c;
		struct bytes reg = { NULL, 0 }, cli = { NULL, 0 };
		struct pipe_out po;
		const uint8_t *xml;
		size_t len;

		if (n > in.len - off)
			n = in.len - off;
		off += frame_decoder_feed(dec, in.p + off, n, &st);
		if (st == FRAME_NEED_MORE)
			continue;
		ck_assert_int_eq(st, FRAME_OK);
		ck_assert_uint_lt(ncase, NCASES);
		c = &cases[ncase++];
		xml = frame_decoder_payload(dec, &len);
		ck_assert_uint_eq(len, strlen(c->xml ? c->xml : c->make()));

		session_step(p, xml, len, &po, &reg, &cli);
		ck_assert_msg(po.action == c->action, "%s: action %d, wanted "
		    "%d (%s)", c->what, (int)po.action, (int)c->action,
		    po.why ? po.why : (po.judged ? po.v.reason : "-"));
		if (c->command != NULL) {
			ck_assert_ptr_nonnull(po.msg);
			ck_assert_str_eq(epp_msg_name(po.msg), c->command);
		}
		if (c->action == PIPE_REPLY) {
			ck_assert_int_eq(po.code, 2001);
			ck_assert_str_eq(po.token, "syntax");
			ck_assert_ptr_null(po.fwd);
			ck_assert_msg(po.why != NULL && strstr(po.why,
			    c->why) != NULL, "%s: reason \"%s\", wanted "
			    "\"%s\"", c->what, po.why ? po.why : "(none)",
			    c->why);
		}
		/* Exactly one side gets bytes. */
		if (c->action == PIPE_FORWARD) {
			ck_assert_uint_eq(cli.len, 0);
			check_forwarded(c, &reg);
		} else {
			ck_assert_uint_eq(reg.len, 0);
			check_reply(c, &po, &cli);
		}
		free(reg.p);
		free(cli.p);
		pipe_out_clear(&po);
		frame_decoder_next(dec);
	}
	ck_assert_uint_eq(ncase, NCASES);
	frame_decoder_free(dec);
	free(in.p);
	policy_free(p);
}
END_TEST

/* The same change spelled otherwise is held with the same change id. */
START_TEST(same_change_same_id)
{
	static const char other[] = EPP_OPEN "<command><update><q:update "
	    "xmlns:q=\"urn:ietf:params:xml:ns:domain-1.0\"><q:name> LOCKED."
	    "Example. </q:name><q:add><q:ns><q:hostObj>NS.evil.example."
	    "</q:hostObj></q:ns></q:add></q:update></update><clTRID>OTHER"
	    "</clTRID></command>" EPP_CLOSE;
	struct policy *p = demo_policy();
	struct pipe_out a, b;
	char *fwd;

	ck_assert_int_eq(pipeline_judge(unit_xsd(), p, NULL, "registrar1",
	    (const uint8_t *)ns_locked, strlen(ns_locked), &a), 0);
	ck_assert_int_eq(pipeline_judge(unit_xsd(), p, NULL, "registrar1",
	    (const uint8_t *)other, strlen(other), &b), 0);
	ck_assert_int_eq(a.action, PIPE_APPROVAL);
	ck_assert_int_eq(b.action, PIPE_APPROVAL);
	ck_assert_str_eq(a.v.change_id, b.v.change_id);
	ck_assert_uint_eq(a.v.classes, CLASS_NS);
	/* Held, but what would go with a ticket is what was judged. */
	ck_assert_ptr_nonnull(b.fwd);
	fwd = strndup((const char *)b.fwd, b.fwd_len);
	ck_assert_ptr_nonnull(strstr(fwd, ">LOCKED.Example.<"));
	free(fwd);
	pipe_out_clear(&a);
	pipe_out_clear(&b);
	policy_free(p);
}
END_TEST

/* Frames the decoder refuses never reach the pipeline: the connection
 * closes (the session logs it; nothing is forwarded or answered). */
START_TEST(frame_bounds)
{
	static const uint8_t short_hdr[] = { 0, 0, 0, 4 };
	uint8_t big_hdr[FRAME_HEADER_LEN];
	struct frame_decoder *dec = frame_decoder_new(1024);
	enum frame_status st;

	ck_assert_ptr_nonnull(dec);
	frame_decoder_feed(dec, short_hdr, sizeof(short_hdr), &st);
	ck_assert_int_eq(st, FRAME_TOO_SHORT);
	frame_decoder_free(dec);

	dec = frame_decoder_new(1024);
	ck_assert_int_eq(frame_header_write(big_hdr, 1021), 0);
	frame_decoder_feed(dec, big_hdr, sizeof(big_hdr), &st);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	/* And it stays refused: no resynchronising on later bytes. */
	ck_assert_uint_eq(frame_decoder_feed(dec, (const uint8_t *)hello,
	    strlen(hello), &st), 0);
	ck_assert_int_eq(st, FRAME_TOO_LONG);
	frame_decoder_free(dec);
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("pipeline");

	tcase_add_test(tc, frames_in_bytes_out);
	tcase_add_test(tc, same_change_same_id);
	tcase_add_test(tc, frame_bounds);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(pipeline_suite)
