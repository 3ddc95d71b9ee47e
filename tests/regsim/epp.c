/*
 * epp.c: one EPP frame in, one reply out.
 *
 * Parses the request with libxml2 (no network, no entity substitution, no
 * DTD loading, and a DOCTYPE is refused outright), dispatches on namespace
 * URIs, runs the session commands itself (hello, login, logout, poll) and
 * hands object commands to domain.c, host.c and contact.c.  Every command
 * that gets a reply is appended to the journal.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "err.h"
#include "regsim.h"
#include "xsd.h"

#define SVID "eppgw-regsim"

/* RFC 5730 section 3 texts. */
static const struct {
	int		 code;
	const char	*msg;
} result_msgs[] = {
	{ 1000, "Command completed successfully" },
	{ 1001, "Command completed successfully; action pending" },
	{ 1300, "Command completed successfully; no messages" },
	{ 1500, "Command completed successfully; ending session" },
	{ 2000, "Unknown command" },
	{ 2001, "Command syntax error" },
	{ 2002, "Command use error" },
	{ 2003, "Required parameter missing" },
	{ 2004, "Parameter value range error" },
	{ 2005, "Parameter value syntax error" },
	{ 2100, "Unimplemented protocol version" },
	{ 2101, "Unimplemented command" },
	{ 2102, "Unimplemented option" },
	{ 2103, "Unimplemented extension" },
	{ 2105, "Object is not eligible for renewal" },
	{ 2106, "Object is not eligible for transfer" },
	{ 2200, "Authentication error" },
	{ 2201, "Authorization error" },
	{ 2202, "Invalid authorization information" },
	{ 2300, "Object pending transfer" },
	{ 2301, "Object not pending transfer" },
	{ 2302, "Object exists" },
	{ 2303, "Object does not exist" },
	{ 2304, "Object status prohibits operation" },
	{ 2305, "Object association prohibits operation" },
	{ 2306, "Parameter value policy error" },
	{ 2307, "Unimplemented object service" },
	{ 2308, "Data management policy violation" },
	{ 2400, "Command failed" },
	{ 2500, "Command failed; server closing connection" },
};

static const char *
result_msg(int code)
{
	for (size_t i = 0; i < sizeof(result_msgs) / sizeof(result_msgs[0]); i++)
		if (result_msgs[i].code == code)
			return result_msgs[i].msg;
	return "Command failed";
}

/* ---- helpers for the handlers ---- */

int
regsim_fail(struct regsim_cmd *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->code = code;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static xmlNodePtr
new_ns_node(struct regsim_cmd *c, const char *ns, const char *prefix,
    const char *name)
{
	xmlNodePtr n = xmlNewDocNode(c->rdoc, NULL, (const xmlChar *)name, NULL);
	xmlNsPtr nsp;

	if (n == NULL)
		return NULL;
	if ((nsp = xmlNewNs(n, (const xmlChar *)ns,
	    (const xmlChar *)prefix)) == NULL) {
		xmlFreeNode(n);
		return NULL;
	}
	xmlSetNs(n, nsp);
	return n;
}

/* The object element inside <resData>, e.g. <domain:infData>. */
xmlNodePtr
regsim_resdata(struct regsim_cmd *c, const char *ns, const char *prefix,
    const char *name)
{
	xmlNodePtr n;

	if (c->resdata == NULL)
		c->resdata = xmlNewDocNode(c->rdoc, xmlDocGetRootElement(c->rdoc)->ns,
		    (const xmlChar *)"resData", NULL);
	if (c->resdata == NULL || (n = new_ns_node(c, ns, prefix, name)) == NULL)
		return NULL;
	return xmlAddChild(c->resdata, n);
}

/* An element inside the response <extension>, e.g. <secDNS:infData>. */
xmlNodePtr
regsim_resext(struct regsim_cmd *c, const char *ns, const char *prefix,
    const char *name)
{
	xmlNodePtr n;

	if (c->rext == NULL)
		c->rext = xmlNewDocNode(c->rdoc, xmlDocGetRootElement(c->rdoc)->ns,
		    (const xmlChar *)"extension", NULL);
	if (c->rext == NULL || (n = new_ns_node(c, ns, prefix, name)) == NULL)
		return NULL;
	return xmlAddChild(c->rext, n);
}

/* Remember an object name for the journal (comma separated, bounded). */
void
regsim_note_obj(struct regsim_cmd *c, const char *name)
{
	size_t used = strlen(c->objs), len = strlen(name);

	if (used + len + 2 >= sizeof(c->objs))
		return;
	if (used > 0)
		c->objs[used++] = ',';
	memcpy(c->objs + used, name, len + 1);
}

int
regsim_is_client_status(const char *s)
{
	static const char *const client[] = {
		"clientDeleteProhibited", "clientHold", "clientRenewProhibited",
		"clientTransferProhibited", "clientUpdateProhibited",
	};

	for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++)
		if (strcmp(s, client[i]) == 0)
			return 1;
	return 0;
}

void
regsim_sess_clear(struct regsim_sess *s)
{
	free(s->clid);
	memset(s, 0, sizeof(*s));
}

/* ---- the journal ---- */

/* Journal values are single tokens: escape spaces, controls, '%' and '='. */
static void
journal_value(FILE *fp, const char *v)
{
	if (v == NULL || *v == '\0') {
		fputc('-', fp);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '%' || *p == '=')
			fprintf(fp, "%%%02X", *p);
		else
			fputc(*p, fp);
	}
}

static void
journal(struct regsim_epp *e, const char *cltrid, const char *svtrid,
    const char *clid, const char *cmd, const char *op, const char *objs,
    int code)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (e->journal == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(e->journal, "%s.%06ldZ clTRID=", when, ts.tv_nsec / 1000);
	journal_value(e->journal, cltrid);
	fprintf(e->journal, " svTRID=%s clID=", svtrid);
	journal_value(e->journal, clid);
	fputs(" cmd=", e->journal);
	journal_value(e->journal, cmd);
	if (op != NULL) {
		fputs(" op=", e->journal);
		journal_value(e->journal, op);
	}
	fputs(" obj=", e->journal);
	journal_value(e->journal, objs);
	fprintf(e->journal, " code=%d\n", code);
	/* Tests read the journal while we run: every line must be visible. */
	fflush(e->journal);
}

/* ---- parsing ---- */

/* memmem is a GNU extension; this is all we need of it. */
static int
contains(const char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * Parse without network access, entity substitution or DTD loading.  A
 * DOCTYPE is refused before parsing (so no entity is even declared) and
 * again after it, in case an encoding hid it from the byte scan.
 */
static xmlDocPtr
parse_request(const char *xml, size_t len)
{
	xmlDocPtr doc;

	if (len > 0x7fffffff || contains(xml, len, "<!DOCTYPE") ||
	    contains(xml, len, "<!ENTITY"))
		return NULL;
	doc = xmlReadMemory(xml, (int)len, "request.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/* An EPP clTRID (trIDStringType: token of 3 to 64 characters). */
static int
valid_trid(const char *s)
{
	size_t len = strlen(s);

	if (len < 3 || len > 64)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* ---- replies ---- */

static xmlDocPtr
new_reply_doc(xmlNodePtr *root)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr r;
	xmlNsPtr ns;

	if (doc == NULL)
		return NULL;
	if ((r = xmlNewDocNode(doc, NULL, (const xmlChar *)"epp", NULL)) == NULL)
		goto fail;
	xmlDocSetRootElement(doc, r);
	if ((ns = xmlNewNs(r, (const xmlChar *)REGSIM_NS_EPP, NULL)) == NULL)
		goto fail;
	xmlSetNs(r, ns);
	*root = r;
	return doc;
fail:
	xmlFreeDoc(doc);
	return NULL;
}

static int
serialize(xmlDocPtr doc, xmlChar **out, int *outlen)
{
	xmlDocDumpFormatMemoryEnc(doc, out, outlen, "UTF-8", 1);
	return *out != NULL ? 0 : -1;
}

/*
 * Put the reply together in schema order: result, resData, extension,
 * trID.  Error replies carry no resData or extension.
 */
static int
finish_reply(struct regsim_cmd *c, const char *cltrid, const char *svtrid,
    xmlChar **out, int *outlen)
{
	xmlNodePtr root = xmlDocGetRootElement(c->rdoc);
	xmlNodePtr rsp, res, trid, ev;
	char code[8];

	if ((rsp = regsim_xml_add(root, "response", NULL)) == NULL ||
	    (res = regsim_xml_add(rsp, "result", NULL)) == NULL)
		return -1;
	snprintf(code, sizeof(code), "%d", c->code);
	xmlNewProp(res, (const xmlChar *)"code", (const xmlChar *)code);
	xmlNewProp(regsim_xml_add(res, "msg", result_msg(c->code)),
	    (const xmlChar *)"lang", (const xmlChar *)"en");
	if (c->code >= 2000 && c->reason[0] != '\0') {
		/* extValue needs an element in <value>: there is none to echo. */
		if ((ev = regsim_xml_add(res, "extValue", NULL)) == NULL)
			return -1;
		regsim_xml_add(regsim_xml_add(ev, "value", NULL), "undef", NULL);
		regsim_xml_add(ev, "reason", c->reason);
	}
	if (c->code < 2000 && c->resdata != NULL) {
		xmlAddChild(rsp, c->resdata);
		c->resdata = NULL;
	}
	if (c->code < 2000 && c->rext != NULL) {
		xmlAddChild(rsp, c->rext);
		c->rext = NULL;
	}
	if ((trid = regsim_xml_add(rsp, "trID", NULL)) == NULL)
		return -1;
	if (cltrid != NULL)
		regsim_xml_add(trid, "clTRID", cltrid);
	regsim_xml_add(trid, "svTRID", svtrid);
	return serialize(c->rdoc, out, outlen);
}

int
regsim_epp_greeting(struct regsim_epp *e, xmlChar **out, int *outlen)
{
	static const char *const objs[] = {
		REGSIM_NS_DOMAIN, REGSIM_NS_HOST, REGSIM_NS_CONTACT,
	};
	static const char *const exts[] = {
		REGSIM_NS_SECDNS, REGSIM_NS_SECDNS0, REGSIM_NS_RGP,
	};
	xmlNodePtr root, g, menu, ext, dcp, n;
	xmlDocPtr doc;
	char now[40];
	int rc = -1;

	(void)e;
	if ((doc = new_reply_doc(&root)) == NULL)
		return -1;
	regsim_xml_time(now, sizeof(now), time(NULL));
	if ((g = regsim_xml_add(root, "greeting", NULL)) == NULL ||
	    regsim_xml_add(g, "svID", SVID) == NULL ||
	    regsim_xml_add(g, "svDate", now) == NULL ||
	    (menu = regsim_xml_add(g, "svcMenu", NULL)) == NULL)
		goto done;
	regsim_xml_add(menu, "version", "1.0");
	regsim_xml_add(menu, "lang", "en");
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		regsim_xml_add(menu, "objURI", objs[i]);
	if ((ext = regsim_xml_add(menu, "svcExtension", NULL)) == NULL)
		goto done;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		regsim_xml_add(ext, "extURI", exts[i]);
	if ((dcp = regsim_xml_add(g, "dcp", NULL)) == NULL ||
	    (n = regsim_xml_add(dcp, "access", NULL)) == NULL)
		goto done;
	regsim_xml_add(n, "all", NULL);
	if ((n = regsim_xml_add(dcp, "statement", NULL)) == NULL)
		goto done;
	regsim_xml_add(regsim_xml_add(n, "purpose", NULL), "admin", NULL);
	regsim_xml_add(regsim_xml_add(n, "recipient", NULL), "ours", NULL);
	regsim_xml_add(regsim_xml_add(n, "retention", NULL), "stated", NULL);
	rc = serialize(doc, out, outlen);
done:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- session commands ---- */

static int
uri_supported(const char *uri, int ext)
{
	if (!ext)
		return strcmp(uri, REGSIM_NS_DOMAIN) == 0 ||
		    strcmp(uri, REGSIM_NS_HOST) == 0 ||
		    strcmp(uri, REGSIM_NS_CONTACT) == 0;
	return strcmp(uri, REGSIM_NS_SECDNS) == 0 ||
	    strcmp(uri, REGSIM_NS_SECDNS0) == 0 ||
	    strcmp(uri, REGSIM_NS_RGP) == 0;
}

/* Check <svcs> and note the extensions the client will understand. */
static int
login_services(struct regsim_cmd *c, xmlNodePtr svcs, int *secdns, int *rgp)
{
	xmlNodePtr n, se;
	char *uri;

	for (n = regsim_xml_first(svcs); n != NULL; n = regsim_xml_next(n)) {
		if (!regsim_xml_is(n, REGSIM_NS_EPP, "objURI"))
			continue;
		if ((uri = regsim_xml_text(n)) == NULL)
			return regsim_fail(c, 2400, "out of memory");
		if (!uri_supported(uri, 0)) {
			regsim_fail(c, 2307, "objURI %.200s", uri);
			free(uri);
			return -1;
		}
		free(uri);
	}
	se = regsim_xml_child(svcs, REGSIM_NS_EPP, "svcExtension");
	for (n = regsim_xml_first(se); n != NULL; n = regsim_xml_next(n)) {
		if ((uri = regsim_xml_text(n)) == NULL)
			return regsim_fail(c, 2400, "out of memory");
		if (!uri_supported(uri, 1)) {
			regsim_fail(c, 2103, "extURI %.200s", uri);
			free(uri);
			return -1;
		}
		if (strcmp(uri, REGSIM_NS_SECDNS) == 0)
			*secdns = 11;
		else if (strcmp(uri, REGSIM_NS_SECDNS0) == 0 && *secdns == 0)
			*secdns = 10;
		else if (strcmp(uri, REGSIM_NS_RGP) == 0)
			*rgp = 1;
		free(uri);
	}
	return 0;
}

static void
cmd_login(struct regsim_cmd *c, xmlNodePtr login, char **journal_clid)
{
	char *clid = NULL, *pw = NULL, *newpw = NULL, *ver = NULL, *lang = NULL;
	xmlNodePtr opts, svcs;
	struct regsim_registrar *r;
	int secdns = 0, rgp = 0;

	clid = regsim_xml_child_text(login, REGSIM_NS_EPP, "clID");
	pw = regsim_xml_child_text(login, REGSIM_NS_EPP, "pw");
	newpw = regsim_xml_child_text(login, REGSIM_NS_EPP, "newPW");
	opts = regsim_xml_child(login, REGSIM_NS_EPP, "options");
	svcs = regsim_xml_child(login, REGSIM_NS_EPP, "svcs");
	ver = regsim_xml_child_text(opts, REGSIM_NS_EPP, "version");
	lang = regsim_xml_child_text(opts, REGSIM_NS_EPP, "lang");
	*journal_clid = clid != NULL ? strdup(clid) : NULL;
	if (c->sess->clid != NULL) {
		regsim_fail(c, 2002, "already logged in");
		goto done;
	}
	if (clid == NULL || pw == NULL || ver == NULL || lang == NULL ||
	    svcs == NULL) {
		regsim_fail(c, 2001, "login needs clID, pw, options and svcs");
		goto done;
	}
	if (strcmp(ver, "1.0") != 0) {
		regsim_fail(c, 2100, "version %.32s", ver);
		goto done;
	}
	if (strcmp(lang, "en") != 0) {
		regsim_fail(c, 2102, "lang %.32s", lang);
		goto done;
	}
	if (login_services(c, svcs, &secdns, &rgp) == -1)
		goto done;
	r = regsim_registrar_find(c->st, clid);
	/* One answer for unknown clID and wrong password: no oracle. */
	if (r == NULL || strcmp(r->pw, pw) != 0) {
		regsim_fail(c, 2200, "bad clID or password");
		goto done;
	}
	if (newpw != NULL) {
		if (strlen(newpw) < 6 || strlen(newpw) > 16) {
			regsim_fail(c, 2005, "newPW must be 6 to 16 characters");
			goto done;
		}
		if (regsim_setstr(&r->pw, newpw) == -1) {
			regsim_fail(c, 2400, "out of memory");
			goto done;
		}
	}
	if (regsim_setstr(&c->sess->clid, clid) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	c->sess->secdns = secdns;
	c->sess->rgp = rgp;
	c->code = 1000;
done:
	free(clid);
	free(pw);
	free(newpw);
	free(ver);
	free(lang);
}

static void
cmd_poll(struct regsim_cmd *c, xmlNodePtr poll, char **op)
{
	*op = regsim_xml_attr(poll, "op");
	if (*op == NULL)
		regsim_fail(c, 2001, "poll needs op");
	else if (strcmp(*op, "req") == 0)
		c->code = 1300;	/* the simulator never queues messages */
	else if (strcmp(*op, "ack") == 0)
		regsim_fail(c, 2303, "no such message");
	else
		regsim_fail(c, 2001, "poll op %.32s", *op);
}

/* ---- dispatch ---- */

static const char *const object_verbs[] = {
	"check", "info", "create", "update", "delete", "renew", "transfer",
};

static int
is_object_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof(object_verbs) / sizeof(object_verbs[0]); i++)
		if (strcmp(verb, object_verbs[i]) == 0)
			return 1;
	return 0;
}

/* A command extension we do not implement must not be ignored. */
static int
unknown_extension(struct regsim_cmd *c)
{
	for (xmlNodePtr n = regsim_xml_first(c->ext); n != NULL;
	    n = regsim_xml_next(n)) {
		const char *ns = n->ns != NULL ? (const char *)n->ns->href : "";

		if (!uri_supported(ns, 1))
			return regsim_fail(c, 2103, "extension %.200s", ns);
	}
	return 0;
}

/* <check>, <info>, ...: find the object element and pass it on. */
static void
cmd_object(struct regsim_cmd *c, xmlNodePtr verbn, char *cmdname,
    size_t cmdlen, char **op)
{
	const char *verb = (const char *)verbn->name;
	xmlNodePtr obj = regsim_xml_first(verbn);
	const char *objns;

	static const struct {
		const char	*ns, *prefix;
		void		(*run)(struct regsim_cmd *, const char *);
	} objtypes[] = {
		{ REGSIM_NS_DOMAIN, "domain", regsim_domain_cmd },
		{ REGSIM_NS_HOST, "host", regsim_host_cmd },
		{ REGSIM_NS_CONTACT, "contact", regsim_contact_cmd },
	};
	size_t i = 0;

	snprintf(cmdname, cmdlen, "%s", verb);
	if (obj != NULL && obj->ns != NULL) {
		objns = (const char *)obj->ns->href;
		for (i = 0; i < sizeof(objtypes) / sizeof(objtypes[0]); i++)
			if (strcmp(objns, objtypes[i].ns) == 0)
				break;
		if (i < sizeof(objtypes) / sizeof(objtypes[0]))
			snprintf(cmdname, cmdlen, "%s:%s", objtypes[i].prefix,
			    verb);
	}
	if (strcmp(verb, "transfer") == 0)
		*op = regsim_xml_attr(verbn, "op");
	if (c->sess->clid == NULL) {
		regsim_fail(c, 2002, "not logged in");
		return;
	}
	if (strcmp(verb, "transfer") == 0 && *op == NULL) {
		regsim_fail(c, 2001, "transfer needs op");
		return;
	}
	if (obj == NULL || obj->ns == NULL ||
	    strcmp((const char *)obj->name, verb) != 0) {
		regsim_fail(c, 2001, "<%s> needs an object element", verb);
		return;
	}
	if (i == sizeof(objtypes) / sizeof(objtypes[0])) {
		regsim_fail(c, 2307, "object namespace %.200s",
		    (const char *)obj->ns->href);
		return;
	}
	if (unknown_extension(c) == -1)
		return;
	c->obj = obj;
	c->clid = c->sess->clid;
	objtypes[i].run(c, verb);
}

static enum regsim_action
run_command(struct regsim_cmd *c, xmlNodePtr command, char *cmdname,
    size_t cmdlen, char **op, char **jclid)
{
	xmlNodePtr verbn = regsim_xml_first(command);
	const char *verb;

	c->ext = regsim_xml_child(command, REGSIM_NS_EPP, "extension");
	if (verbn == NULL || verbn->ns == NULL ||
	    strcmp((const char *)verbn->ns->href, REGSIM_NS_EPP) != 0) {
		regsim_fail(c, 2001, "no command element");
		return REGSIM_REPLY;
	}
	verb = (const char *)verbn->name;
	if (strcmp(verb, "login") == 0) {
		snprintf(cmdname, cmdlen, "login");
		cmd_login(c, verbn, jclid);
	} else if (strcmp(verb, "logout") == 0) {
		snprintf(cmdname, cmdlen, "logout");
		if (c->sess->clid == NULL)
			regsim_fail(c, 2002, "not logged in");
		else {
			c->code = 1500;
			return REGSIM_REPLY_CLOSE;
		}
	} else if (strcmp(verb, "poll") == 0) {
		snprintf(cmdname, cmdlen, "poll");
		if (c->sess->clid == NULL)
			regsim_fail(c, 2002, "not logged in");
		else
			cmd_poll(c, verbn, op);
	} else if (is_object_verb(verb)) {
		cmd_object(c, verbn, cmdname, cmdlen, op);
	} else {
		snprintf(cmdname, cmdlen, "%.24s", verb);
		regsim_fail(c, 2000, "unknown command %.64s", verb);
	}
	return REGSIM_REPLY;
}

enum regsim_action
regsim_epp_frame(struct regsim_epp *e, struct regsim_sess *s, const char *xml,
    size_t len, xmlChar **out, int *outlen)
{
	struct regsim_cmd c;
	enum regsim_action act = REGSIM_REPLY;
	xmlDocPtr req;
	xmlNodePtr root = NULL, top, rroot;
	char *cltrid = NULL, *op = NULL, *jclid = NULL;
	char cmdname[40] = "-", svtrid[32];
	struct err verr = ERR_INIT;

	memset(&c, 0, sizeof(c));
	*out = NULL;
	c.epp = e;
	c.st = e->st;
	c.sess = s;
	c.now = time(NULL);
	c.code = 2400;
	req = parse_request(xml, len);
	if ((c.rdoc = new_reply_doc(&rroot)) == NULL)
		goto fail;
	if (req == NULL || (root = xmlDocGetRootElement(req)) == NULL ||
	    !regsim_xml_is(root, REGSIM_NS_EPP, "epp") ||
	    (top = regsim_xml_first(root)) == NULL ||
	    regsim_xml_next(top) != NULL) {
		regsim_fail(&c, 2001, "not a well-formed EPP instance "
		    "(DOCTYPE and entities are refused)");
		goto reply;
	}
	/* As a registry that validates: schema errors are syntax errors.
	 * An element of a namespace with no schema is left to run_command,
	 * which answers 2103 for an extension it does not implement. */
	if (xsd_validate(e->xsd, req, &verr) != 0) {
		regsim_fail(&c, 2001, "%s", err_msg(&verr));
		goto reply;
	}
	if (regsim_xml_is(top, REGSIM_NS_EPP, "hello")) {
		/* A hello is answered with a greeting and is not a command. */
		xmlFreeDoc(req);
		xmlFreeDoc(c.rdoc);
		return regsim_epp_greeting(e, out, outlen) == 0 ?
		    REGSIM_REPLY : REGSIM_DROP;
	}
	if (!regsim_xml_is(top, REGSIM_NS_EPP, "command")) {
		regsim_fail(&c, 2001, "expected <command> or <hello>");
		goto reply;
	}
	cltrid = regsim_xml_child_text(top, REGSIM_NS_EPP, "clTRID");
	if (cltrid != NULL && !valid_trid(cltrid)) {
		free(cltrid);
		cltrid = NULL;
		regsim_fail(&c, 2001, "clTRID must be 3 to 64 characters");
		goto reply;
	}
	/* The fault-test hook: vanish as an upstream that dies mid-command. */
	if (cltrid != NULL && strncmp(cltrid, "REGSIM-DROP", 11) == 0) {
		act = REGSIM_DROP;
		goto fail;
	}
	act = run_command(&c, top, cmdname, sizeof(cmdname), &op, &jclid);
reply:
	snprintf(svtrid, sizeof(svtrid), "regsim-%06lu", ++e->svtrid_seq);
	journal(e, cltrid, svtrid, jclid != NULL ? jclid : s->clid, cmdname, op,
	    c.objs, c.code);
	if (finish_reply(&c, cltrid, svtrid, out, outlen) == -1)
		act = REGSIM_DROP;
fail:
	if (act == REGSIM_DROP && *out != NULL) {
		xmlFree(*out);
		*out = NULL;
	}
	if (*out == NULL)
		act = REGSIM_DROP;
	if (c.resdata != NULL)
		xmlFreeNode(c.resdata);
	if (c.rext != NULL)
		xmlFreeNode(c.rext);
	xmlFreeDoc(c.rdoc);
	xmlFreeDoc(req);
	free(cltrid);
	free(op);
	free(jclid);
	return act;
}
