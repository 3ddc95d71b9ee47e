/*
 * epp.c: secure parsing of EPP data units (see epp.h).
 *
 * A registrar command goes through these steps, in this order, and the
 * tree that leaves the last one is the tree that is judged and the tree
 * that is serialised and forwarded; nothing touches it in between:
 *
 *   1. bounds    a lexical pre-scan caps attributes per tag (libxml2's
 *                duplicate-attribute check is quadratic in them); SAX hooks
 *                cap elements, depth and namespace declarations while
 *                libxml2 builds the tree; text per node is capped after.
 *   2. parse     libxml2, no network, no DTD, no entity substitution; a
 *                DOCTYPE or processing instruction stops the parser from
 *                the SAX callback, before anything declared is looked at.
 *   3. strip     comments, and eppgw's own extension where it may appear:
 *                as a direct child of <command><extension>.  Anywhere else
 *                an eppgw element is an element like any other.
 *   4. validate  against the EPP schemas (xsd.h): an element inside a text
 *                field, a value outside its type, a misplaced or repeated
 *                element all end here as syntax errors.
 *   5. normalise every attribute of the EPP namespaces, and every text
 *                field the model reads, is rewritten in the tree as its
 *                schema type reads it (xs:token collapse, ...), so the bytes
 *                forwarded say literally what was judged.
 *   6. model     model*.c: objects and change lines.
 *
 * Registry replies take steps 1-2 (with their own, larger bounds) and are
 * read, never rewritten: the registrar gets the registry's own bytes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "buf.h"
#include "change.h"
#include "epp.h"
#include "epp_int.h"
#include "err.h"
#include "regstate.h"
#include "xsd.h"

/*
 * Bounds of the work one frame may cause (see epp.h).  A command's are
 * sized for real EPP (a domain:check of 100 names is about 110 elements,
 * the deepest RFC command 9 levels) with room to spare; a reply's allow
 * for large info and poll messages from a registry we trust more.
 */
const struct epp_limits epp_command_limits = {
	.max_elements = 1024, .max_attrs = 32, .max_ns = 64, .max_depth = 32,
	.max_text = 16384, .max_ns_uri = 128, .max_unknown = 32
};
const struct epp_limits epp_reply_limits = {
	.max_elements = 200000, .max_attrs = 256, .max_ns = 1024,
	.max_depth = 64, .max_text = 1048576, .max_ns_uri = 1024,
	.max_unknown = 0
};

static const struct {
	const char	*name;
	enum epp_cmd	 cmd;
} commands[] = {
	{ "login", EPP_CMD_LOGIN },
	{ "logout", EPP_CMD_LOGOUT },
	{ "check", EPP_CMD_CHECK },
	{ "info", EPP_CMD_INFO },
	{ "poll", EPP_CMD_POLL },
	{ "transfer", EPP_CMD_TRANSFER },
	{ "create", EPP_CMD_CREATE },
	{ "delete", EPP_CMD_DELETE },
	{ "renew", EPP_CMD_RENEW },
	{ "update", EPP_CMD_UPDATE },
};

static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void
epp_init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
}

const char *
epp_cmd_name(enum epp_cmd c)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == c)
			return commands[i].name;
	return "none";
}

/*
 * What the SAX hooks count and why they stopped the parser: a static
 * reason, made the caller's struct err once the parse is over (read_doc).
 */
struct bounds {
	const struct epp_limits	*lim;
	const char		*why;
	enum err_code		 code;
	size_t			 elements, depth, ns;
};

/* Stop the parser, keeping the first reason why. */
static void
stop_parser(xmlParserCtxtPtr ctxt, enum err_code code, const char *why)
{
	struct bounds *b = ctxt->_private;

	if (b->why == NULL) {
		b->why = why;
		b->code = code;
	}
	xmlStopParser(ctxt);
}

/* Refuse any DOCTYPE before libxml2 processes its declarations. */
static void
sax_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	(void)name;
	(void)ext;
	(void)sys;
	stop_parser(ctx, ERR_REFUSED, "DOCTYPE not allowed");
}

static void
sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	(void)target;
	(void)data;
	stop_parser(ctx, ERR_REFUSED, "processing instruction not allowed");
}

static void
sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct bounds *b = ctxt->_private;

	if (++b->elements > b->lim->max_elements) {
		stop_parser(ctxt, ERR_LIMIT, "too many elements");
		return;
	}
	if (++b->depth > b->lim->max_depth) {
		stop_parser(ctxt, ERR_LIMIT, "elements nested too deep");
		return;
	}
	b->ns += (size_t)nb_namespaces;
	if (b->ns > b->lim->max_ns) {
		stop_parser(ctxt, ERR_LIMIT, "too many namespace declarations");
		return;
	}
	/*
	 * Every element of a namespace carries its name through validation
	 * and canonical forms: a long one, used by many elements, costs
	 * their product.  Real EPP namespace names are under 80 bytes.
	 */
	for (int i = 0; i < nb_namespaces; i++)
		if (namespaces[2 * i + 1] != NULL &&
		    (size_t)xmlStrlen(namespaces[2 * i + 1]) >
		    b->lim->max_ns_uri) {
			stop_parser(ctxt, ERR_LIMIT, "namespace name too long");
			return;
		}
	if ((size_t)nb_attributes + (size_t)nb_namespaces >
	    b->lim->max_attrs) {
		stop_parser(ctxt, ERR_LIMIT, "too many attributes");
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
	    namespaces, nb_attributes, nb_defaulted, attributes);
}

static void
sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct bounds *b = ctxt->_private;

	if (b->depth > 0)
		b->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/*
 * Attributes (namespace declarations included) per start tag, counted on
 * the bytes before libxml2 sees them: libxml2 compares every attribute of
 * a tag with every other, so one tag must not bring thousands.  An upper
 * bound: '=' outside quotes inside a tag.  Comments, CDATA, declarations
 * and processing instructions are skipped; markup libxml2 will refuse can
 * only end in a syntax error either way.
 */
static int
prescan(const uint8_t *p, size_t len, size_t max_attrs)
{
	const uint8_t *end = p + len;
	size_t attrs;
	uint8_t quote;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		p++;
		if (end - p >= 3 && memcmp(p, "!--", 3) == 0) {
			for (p += 3; end - p >= 3 && memcmp(p, "-->", 3) != 0;
			    p++)
				;
			continue;
		}
		if (end - p >= 8 && memcmp(p, "![CDATA[", 8) == 0) {
			for (p += 8; end - p >= 3 && memcmp(p, "]]>", 3) != 0;
			    p++)
				;
			continue;
		}
		if (p < end && (*p == '!' || *p == '?' || *p == '/'))
			continue;	/* '<' is not allowed in what follows */
		for (attrs = 0, quote = 0; p < end; p++) {
			if (quote != 0) {
				if (*p == quote)
					quote = 0;
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '=') {
				if (++attrs > max_attrs)
					return -1;
			} else if (*p == '>' || *p == '<')
				break;
		}
	}
	return 0;
}

static int
is_epp(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, BAD_CAST EPP_NS) &&
	    (name == NULL || xmlStrEqual(n->name, BAD_CAST name));
}

/* Element children only; any non-blank text between them is an error. */
static int
elements_only(const xmlNode *parent, struct err *e)
{
	for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			for (const xmlChar *p = c->content; p && *p; p++)
				if (!isspace(*p))
					return err_set(e, ERR_PARSE,
					    "unexpected text");
		} else if (c->type != XML_ELEMENT_NODE &&
		    c->type != XML_COMMENT_NODE)
			return err_set(e, ERR_PARSE, "unexpected node");
	}
	return 0;
}

/*
 * Join each run of adjacent text nodes of parent into one, in one pass
 * and one allocation.  Comments removed from a field leave its text in
 * pieces; libxml2's validator would join them again one by one, a copy
 * of the whole so far per piece (quadratic in the pieces).
 */
static int
merge_text(xmlNode *parent)
{
	xmlNode *c = parent->children, *e, *next = NULL;
	xmlChar *buf;
	size_t total, o;

	while (c != NULL) {
		if (c->type != XML_TEXT_NODE || c->next == NULL ||
		    c->next->type != XML_TEXT_NODE) {
			c = c->next;
			continue;
		}
		total = 0;
		for (e = c; e != NULL && e->type == XML_TEXT_NODE; e = e->next)
			total += e->content ? strlen((char *)e->content) : 0;
		if ((buf = xmlMalloc(total + 1)) == NULL)
			return -1;
		o = 0;
		for (e = c; e != NULL && e->type == XML_TEXT_NODE; e = next) {
			size_t n = e->content ? strlen((char *)e->content) : 0;

			next = e->next;
			if (n > 0)	/* content may be NULL */
				memcpy(buf + o, e->content, n);
			o += n;
			if (e != c) {
				xmlUnlinkNode(e);
				xmlFreeNode(e);
			}
		}
		buf[o] = '\0';
		xmlNodeSetContentLen(c, buf, (int)o);
		xmlFree(buf);
		c = next;
	}
	return 0;
}

/* Only white space: layout between elements, not a field's value. */
static int
blank(const xmlChar *p)
{
	for (; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return 1;
}

/* A text node or attribute value over max_text is refused. */
static int
too_long(const xmlNode *t, size_t max_text)
{
	return t->content != NULL && strlen((const char *)t->content) >
	    max_text && !blank(t->content);
}

/*
 * Anything libxml2 kept that the EPP schema cannot contain, and text over
 * the limit.  For commands, comments are removed (strip_comments) and the
 * text they split joined, so a field's text is one node whatever comments
 * split it, and it is its whole length that is bounded.
 */
static int
scan_tree(xmlNode *n, size_t max_text, int strip_comments, struct err *e)
{
	xmlNode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (n->ns == NULL)
				return err_set(e, ERR_PARSE,
				    "element without namespace");
			/* An attribute value is a field too. */
			for (const xmlAttr *a = n->properties; a != NULL;
			    a = a->next)
				for (const xmlNode *t = a->children; t != NULL;
				    t = t->next)
					if (too_long(t, max_text))
						return err_set(e, ERR_LIMIT,
						    "attribute value too long");
			if (scan_tree(n->children, max_text, strip_comments,
			    e) != 0)
				return -1;
			if (strip_comments && merge_text(n) != 0)
				return err_set(e, ERR_NOMEM, "out of memory");
			for (const xmlNode *t = n->children; t != NULL;
			    t = t->next)
				if (t->type == XML_TEXT_NODE &&
				    too_long(t, max_text))
					return err_set(e, ERR_LIMIT,
					    "text too long");
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			/* Checked by the parent, once joined. */
			break;
		case XML_COMMENT_NODE:
			if (strip_comments) {
				xmlUnlinkNode(n);
				xmlFreeNode(n);
			}
			break;
		case XML_ENTITY_REF_NODE:
		case XML_ENTITY_NODE:
		case XML_ENTITY_DECL:
			return err_set(e, ERR_REFUSED, "entity not allowed");
		case XML_PI_NODE:
			return err_set(e, ERR_REFUSED,
			    "processing instruction not allowed");
		default:
			return err_set(e, ERR_PARSE, "unexpected node");
		}
	}
	return 0;
}

static int
parse_login(struct epp_msg *m, xmlNode *verb, struct err *e)
{
	int nclid = 0;

	for (xmlNode *c = verb->children; c != NULL; c = c->next) {
		if (!is_epp(c, "clID"))
			continue;
		if (nclid++ > 0)
			return err_set(e, ERR_PARSE, "duplicate clID");
		if ((m->login_clid = m_token(c)) == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	if (m->login_clid == NULL)
		return err_set(e, ERR_PARSE, "login without clID");
	return 0;
}

static int
parse_command(struct epp_msg *m, xmlNode *cmd, struct err *e)
{
	xmlNode *verb = NULL, *ext = NULL, *c;
	int ntrid = 0;

	if (elements_only(cmd, e) != 0)
		return -1;
	for (c = cmd->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_epp(c, "clTRID")) {
			if (ntrid++ > 0)
				return err_set(e, ERR_PARSE,
				    "duplicate clTRID");
			if ((m->cltrid = m_token(c)) == NULL)
				return err_set(e, ERR_NOMEM, "out of memory");
			continue;
		}
		if (is_epp(c, "extension")) {
			if (ext != NULL)
				return err_set(e, ERR_PARSE,
				    "duplicate extension element");
			ext = c;
			continue;
		}
		if (verb != NULL)
			return err_set(e, ERR_PARSE, "more than one command");
		verb = c;
	}
	if (verb == NULL || !is_epp(verb, NULL))
		return err_set(e, ERR_PARSE, "no command");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (xmlStrEqual(verb->name, BAD_CAST commands[i].name))
			m->cmd = commands[i].cmd;
	if (m->cmd == EPP_CMD_NONE)
		return err_set(e, ERR_PARSE, "unknown command");
	snprintf(m->cmdname, sizeof(m->cmdname), "%s", epp_cmd_name(m->cmd));
	if (m->cmd == EPP_CMD_LOGIN && parse_login(m, verb, e) != 0)
		return -1;
	if (model_build(m, verb) != 0 ||
	    (ext != NULL && model_extension(m, ext) != 0))
		return err_set(e, ERR_PARSE, "%s",
		    m->why ? m->why : "invalid command");
	return 0;
}

/* Each fact comes from an element of the reply, so there are no more. */
static int
push_str(char ***arr, size_t *n, size_t *cap, char *v)
{
	char **t;

	if (v == NULL)
		return -1;
	if ((t = grow_array(*arr, cap, *n + 1, sizeof(*t),
	    epp_reply_limits.max_elements)) == NULL) {
		free(v);
		return -1;
	}
	*arr = t;
	t[(*n)++] = v;
	return 0;
}

static const xmlNode *
child_of(const xmlNode *n, const char *ns, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (node_is(c, ns, name))
			return c;
	return NULL;
}

/* Append one fact of an info reply (see regstate.h), formatted. */
static void add_fact(struct epp_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_fact(struct epp_msg *m, const char *fmt, ...)
{
	char buf[RS_FACT_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	/* A fact too long to keep is kept truncated and marked: it still
	 * changes when the value does, within the first kilobyte. */
	if (n >= (int)sizeof(buf))
		memcpy(buf + sizeof(buf) - 4, "...", 4);
	(void)push_str(&m->info_facts, &m->info_nfacts, &m->info_capfacts,
	    strdup(buf));
}

/* Upper-case hex or base64 without white space: one value, one fact. */
static char *
squeezed(const xmlNode *n, int upper)
{
	char *v = n != NULL ? xs_token(n) : NULL, *w;

	if (v == NULL)
		return NULL;
	w = v;
	for (char *r = v; *r != '\0'; r++)
		if (!isspace((unsigned char)*r))
			*w++ = upper ? (char)toupper((unsigned char)*r) : *r;
	*w = '\0';
	return v;
}

static void
secdns_facts(struct epp_msg *m, const xmlNode *inf)
{
	const char *ns = (const char *)inf->ns->href;

	for (const xmlNode *d = inf->children; d != NULL; d = d->next) {
		const char *names[4] = { "keyTag", "alg", "digestType",
		    "digest" };
		const char *knames[4] = { "flags", "protocol", "alg",
		    "pubKey" };
		const xmlNode *k = NULL;
		char *f[4], both[RS_FACT_LEN];

		if (node_is(d, ns, "maxSigLife")) {
			char *v = xs_token(d);

			if (v != NULL)
				add_fact(m, "maxsiglife=%s", v);
			free(v);
			continue;
		}
		if (node_is(d, ns, "dsData")) {
			for (int i = 0; i < 4; i++)
				f[i] = squeezed(child_of(d, ns, names[i]),
				    i == 3);
			snprintf(both, sizeof(both), "%s %s %s %s",
			    f[0] ? f[0] : "-", f[1] ? f[1] : "-",
			    f[2] ? f[2] : "-", f[3] ? f[3] : "-");
			add_fact(m, "ds=%s", both);
			for (int i = 0; i < 4; i++)
				free(f[i]);
			k = child_of(d, ns, "keyData");
		} else if (node_is(d, ns, "keyData"))
			k = d;
		if (k == NULL)
			continue;
		for (int i = 0; i < 4; i++)
			f[i] = squeezed(child_of(k, ns, knames[i]), 0);
		snprintf(both, sizeof(both), "%s %s %s %s", f[0] ? f[0] : "-",
		    f[1] ? f[1] : "-", f[2] ? f[2] : "-", f[3] ? f[3] : "-");
		add_fact(m, "key=%s", both);
		for (int i = 0; i < 4; i++)
			free(f[i]);
	}
}

/* An address element of an info reply as "v4:192.0.2.1"; host names
 * the glue's host for a hostAttr (NULL for host:info). */
static void
addr_fact(struct epp_msg *m, const char *host, const xmlNode *a)
{
	xmlChar *ip = xmlGetNoNsProp(a, BAD_CAST "ip");
	char *v = xs_token(a), buf[INET6_ADDRSTRLEN], canon[80];
	unsigned char bin[16];
	int af = ip != NULL && xmlStrEqual(ip, BAD_CAST "v6") ? AF_INET6 :
	    AF_INET;

	if (v != NULL && inet_pton(af, v, bin) == 1 &&
	    inet_ntop(af, bin, buf, sizeof(buf)) != NULL)
		snprintf(canon, sizeof(canon), "%s:%s",
		    af == AF_INET ? "v4" : "v6", buf);
	else
		snprintf(canon, sizeof(canon), "invalid:%.60s", v ? v : "");
	if (host != NULL)
		add_fact(m, "nsaddr=%s %s", host, canon);
	else
		add_fact(m, "addr=%s", canon);
	xmlFree(ip);
	free(v);
}

/* A name as the policy compares names. */
static char *
norm_name(const xmlNode *n)
{
	char *v = xs_token(n), out[NAME_MAX_LEN + 1];

	if (v != NULL && name_normalise(v, out, sizeof(out)) == NAME_OK) {
		free(v);
		return strdup(out);
	}
	return v;
}

/* domain:infData and host:infData as facts (regstate.h). */
static void
info_facts(struct epp_msg *m, const xmlNode *inf)
{
	const char *ns = (const char *)inf->ns->href;
	int domain = strcmp(ns, NS_DOMAIN) == 0;
	char *v;

	m->info_kind = domain ? EPP_OBJ_DOMAIN : EPP_OBJ_HOST;
	for (const xmlNode *c = inf->children; c != NULL; c = c->next) {
		if (node_is(c, ns, "name") && m->info_fname == NULL)
			m->info_fname = norm_name(c);
		else if (node_is(c, ns, "status")) {
			xmlAttr *a = xmlHasNsProp((xmlNode *)c, BAD_CAST "s",
			    NULL);

			if (a != NULL && (v = xs_token((const xmlNode *)a)) !=
			    NULL) {
				add_fact(m, "status=%s", v);
				free(v);
			}
		} else if (domain && node_is(c, ns, "registrant")) {
			if ((v = xs_token(c)) != NULL)
				add_fact(m, "registrant=%s", v);
			free(v);
		} else if (domain && node_is(c, ns, "contact")) {
			xmlChar *t = xmlGetNoNsProp(c, BAD_CAST "type");

			if ((v = xs_token(c)) != NULL)
				add_fact(m, "contact=%s:%s",
				    t ? (char *)t : "-", v);
			free(v);
			xmlFree(t);
		} else if (domain && node_is(c, ns, "ns")) {
			for (const xmlNode *h = c->children; h; h = h->next) {
				const xmlNode *t = node_is(h, ns, "hostAttr") ?
				    child_of(h, ns, "hostName") :
				    node_is(h, ns, "hostObj") ? h : NULL;

				if (t == NULL || (v = norm_name(t)) == NULL)
					continue;
				add_fact(m, "ns=%s", v);
				/* hostAttr: the glue is the domain's own. */
				for (const xmlNode *a = h->children;
				    t != h && a != NULL; a = a->next)
					if (node_is(a, ns, "hostAddr"))
						addr_fact(m, v, a);
				free(v);
			}
		} else if (!domain && node_is(c, ns, "addr"))
			addr_fact(m, NULL, c);
	}
}

static void
parse_response(struct epp_msg *m, const xmlNode *rsp)
{
	for (const xmlNode *c = rsp->children; c != NULL; c = c->next) {
		if (is_epp(c, "result") && m->result_code == -1) {
			xmlChar *code = xmlGetNoNsProp(c, BAD_CAST "code");
			char *end;
			long v;

			/* Four digits or nothing: strtol alone would take
			 * blanks and a sign.  An invalid code leaves -1. */
			if (code != NULL && strlen((char *)code) == 4 &&
			    isdigit(code[0]) && isdigit(code[1]) &&
			    isdigit(code[2]) && isdigit(code[3])) {
				v = strtol((char *)code, &end, 10);
				if (*end == '\0' && v >= 0 && v <= 9999)
					m->result_code = (int)v;
			}
			xmlFree(code);
			for (const xmlNode *r = c->children; r; r = r->next)
				if (is_epp(r, "msg") && m->result_msg == NULL)
					m->result_msg = xs_token(r);
		} else if (is_epp(c, "resData")) {
			const xmlNode *inf = child_of(c, NS_DOMAIN, "infData");

			if (inf != NULL || (inf = child_of(c, NS_HOST,
			    "infData")) != NULL)
				info_facts(m, inf);
		} else if (is_epp(c, "extension")) {
			for (const xmlNode *e = c->children; e; e = e->next)
				if (node_is(e, NS_SECDNS11, "infData") ||
				    node_is(e, NS_SECDNS10, "infData"))
					secdns_facts(m, e);
		} else if (is_epp(c, "trID")) {
			for (const xmlNode *t = c->children; t; t = t->next) {
				if (is_epp(t, "svTRID") && m->svtrid == NULL)
					m->svtrid = xs_token(t);
				else if (is_epp(t, "clTRID") &&
				    m->cltrid == NULL)
					m->cltrid = xs_token(t);
			}
		}
	}
}

/*
 * Steps 1 and 2 (see the top of this file): the bounded, secure parse.
 * Returns the document with comments removed when strip_comments is set,
 * or NULL with a reason.
 */
static xmlDocPtr
read_doc(const uint8_t *xml, size_t len, const struct epp_limits *lim,
    int strip_comments, struct err *e)
{
	struct bounds b = { lim, NULL, ERR_NONE, 0, 0, 0 };
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlNode *root;

	if (len > INT32_MAX) {
		err_set(e, ERR_LIMIT, "too large");
		return NULL;
	}
	if (prescan(xml, len, lim->max_attrs) != 0) {
		err_set(e, ERR_LIMIT, "too many attributes");
		return NULL;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	ctxt->_private = &b;
	ctxt->sax->internalSubset = sax_subset;
	ctxt->sax->externalSubset = sax_subset;
	ctxt->sax->processingInstruction = sax_pi;
	ctxt->sax->startElementNs = sax_start;
	ctxt->sax->endElementNs = sax_end;
	doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, NULL,
	    NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
	if (b.why != NULL) {
		err_set(e, b.code, "%s", b.why);
		goto fail;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		err_set(e, ERR_PARSE, "not well-formed XML");
		goto fail;
	}
	/* XML 1.1 reads some characters and line ends differently. */
	if (doc->version == NULL || !xmlStrEqual(doc->version,
	    BAD_CAST "1.0")) {
		err_set(e, ERR_PARSE, "XML version other than 1.0");
		goto fail;
	}
	/* RFC 5730 section 2.4: EPP is UTF-8; another charset could make
	 * the registry read other names than the ones judged here. */
	if (doc->encoding != NULL &&
	    xmlStrcasecmp(doc->encoding, BAD_CAST "UTF-8") != 0) {
		err_set(e, ERR_PARSE, "encoding other than UTF-8");
		goto fail;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		err_set(e, ERR_REFUSED, "DOCTYPE not allowed");
		goto fail;
	}
	for (xmlNode *n = doc->children; n != NULL; n = n->next)
		if (n->type == XML_PI_NODE) {
			err_set(e, ERR_REFUSED,
			    "processing instruction not allowed");
			goto fail;
		}
	root = xmlDocGetRootElement(doc);
	if (!is_epp(root, "epp")) {
		err_set(e, ERR_PARSE, "root is not <epp> in the EPP namespace");
		goto fail;
	}
	if (scan_tree(root, lim->max_text, strip_comments, e) != 0 ||
	    elements_only(root, e) != 0)
		goto fail;
	xmlFreeParserCtxt(ctxt);
	return doc;
fail:
	xmlFreeParserCtxt(ctxt);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return NULL;
}

/* The one element under <epp>. */
static xmlNode *
top_element(xmlDocPtr doc, struct err *e)
{
	xmlNode *top = NULL;

	for (xmlNode *c = xmlDocGetRootElement(doc)->children; c != NULL;
	    c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (top != NULL) {
			err_set(e, ERR_PARSE,
			    "more than one element under <epp>");
			return NULL;
		}
		top = c;
	}
	if (top == NULL)
		err_set(e, ERR_PARSE, "nothing under <epp>");
	return top;
}

/*
 * Step 3: eppgw's own extension is removed only where the gateway looks
 * for it, as a direct child of <command><extension>; an <extension> left
 * without elements is removed with it (the schema wants one or more).
 */
static int
strip_own(struct epp_msg *m, xmlNode *top)
{
	xmlNode *ext = NULL, *c, *next;
	int count = 0;

	if (!is_epp(top, "command"))
		return 0;
	for (c = top->children; c != NULL; c = c->next)
		if (is_epp(c, "extension")) {
			ext = c;
			count++;
		}
	/*
	 * Two <extension> elements fail validation, unless stripping made
	 * one of them go away: then the other, eppgw's elements and all,
	 * would be judged and forwarded.  Leave them both for the schema.
	 */
	if (ext == NULL || count > 1)
		return 0;
	for (c = ext->children; c != NULL; c = next) {
		next = c->next;
		if (!node_is(c, EPPGW_EXT_NS, NULL))
			continue;
		if (m_ext_uri(m, c->ns->href) != 0)
			return -1;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	if (xmlFirstElementChild(ext) == NULL && m->nexts > 0) {
		xmlUnlinkNode(ext);
		xmlFreeNode(ext);
	}
	return 0;
}

/* The namespaces of the built-in schemas: all their attributes are
 * whitespace-collapsing types (xs:token, enumerations, xs:boolean ...). */
static int
builtin_ns(const xmlNs *ns)
{
	static const char *const uris[] = {
		EPP_NS, NS_DOMAIN, NS_HOST, NS_CONTACT, NS_SECDNS10,
		NS_SECDNS11, NS_RGP
	};

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++)
		if (xmlStrEqual(ns->href, BAD_CAST uris[i]))
			return 1;
	return 0;
}

/*
 * Step 5 for attributes: every unqualified attribute of an element in an
 * EPP namespace, rewritten as the schema reads it.  Elements of other
 * namespaces keep theirs: their types are not known here.
 */
static int
normalise_attrs(xmlNode *n, const xmlNs **last, int *known)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		/* Most elements share a few xmlNs structs: compare URIs
		 * only when the struct changes. */
		if (n->ns != *last) {
			*last = n->ns;
			*known = builtin_ns(n->ns);
		}
		for (xmlAttr *a = *known ? n->properties : NULL; a != NULL;
		    a = a->next)
			if (a->ns == NULL && m_token_attr(n, a->name) == NULL)
				return -1;
		if (n->children != NULL &&
		    normalise_attrs(n->children, last, known) != 0)
			return -1;
	}
	return 0;
}

/*
 * The clTRID of a <command>, for the reply to a command refused after it
 * was parsed: only a valid one (trIDStringType: a token of 3 to 64
 * characters, text only), and only if there is exactly one.
 */
static void
peek_cltrid(const xmlNode *top, char *out, size_t outlen)
{
	const xmlNode *trid = NULL;
	char *v;

	if (!is_epp(top, "command"))
		return;
	for (const xmlNode *c = top->children; c != NULL; c = c->next)
		if (is_epp(c, "clTRID")) {
			if (trid != NULL)
				return;		/* which one?  neither */
			trid = c;
		}
	if (trid == NULL || xmlFirstElementChild((xmlNode *)trid) != NULL ||
	    (v = xs_token(trid)) == NULL)
		return;
	if (strlen(v) >= 3 && strlen(v) <= 64 && strlen(v) < outlen)
		memcpy(out, v, strlen(v) + 1);
	free(v);
}

int
epp_parse_command(const struct xsd *x, const uint8_t *xml, size_t len,
    struct epp_msg **out, char *cltrid, size_t cltrid_len, struct err *e)
{
	struct epp_msg *m = NULL;
	const xmlNs *last_ns = NULL;
	xmlNode *top;
	int r = -1, known_ns = 0;

	*out = NULL;
	if (cltrid != NULL && cltrid_len > 0)
		cltrid[0] = '\0';
	if (x == NULL)
		return err_set(e, ERR_INVALID, "no schemas: cannot judge");
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	m->result_code = -1;
	if ((m->doc = read_doc(xml, len, &epp_command_limits, 1, e)) ==
	    NULL || (top = top_element(m->doc, e)) == NULL)
		goto out;
	if (cltrid != NULL)
		peek_cltrid(top, cltrid, cltrid_len);
	m->frame_len = len;
	if (strip_own(m, top) != 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (xsd_validate(x, m->doc, e) != 0)
		goto out;
	if (normalise_attrs(xmlDocGetRootElement(m->doc), &last_ns,
	    &known_ns) != 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (is_epp(top, "hello")) {
		m->kind = EPP_KIND_HELLO;
		snprintf(m->cmdname, sizeof(m->cmdname), "hello");
	} else if (is_epp(top, "command")) {
		m->kind = EPP_KIND_COMMAND;
		if (parse_command(m, top, e) != 0)
			goto out;
	} else if (is_epp(top, "extension")) {
		/* A protocol extension command: nothing the gateway can
		 * judge, so all of it is an unknown change (fail closed). */
		m->kind = EPP_KIND_EXTENSION;
		m->otype = EPP_OBJ_UNKNOWN;
		snprintf(m->cmdname, sizeof(m->cmdname), "extension");
		if (model_extension(m, top) != 0) {
			err_set(e, ERR_PARSE, "%s",
			    m->why ? m->why : "invalid extension");
			goto out;
		}
	} else if (is_epp(top, "greeting")) {
		m->kind = EPP_KIND_GREETING;
	} else if (is_epp(top, "response")) {
		m->kind = EPP_KIND_RESPONSE;
	} else {
		err_set(e, ERR_PARSE, "unknown element under <epp>");
		goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	epp_msg_free(m);
	return r;
}

int
epp_parse_reply(const uint8_t *xml, size_t len, struct epp_msg **out,
    struct err *e)
{
	struct epp_msg *m = NULL;
	xmlNode *top;
	int r = -1;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	m->result_code = -1;
	if ((m->doc = read_doc(xml, len, &epp_reply_limits, 0, e)) ==
	    NULL || (top = top_element(m->doc, e)) == NULL)
		goto out;
	if (is_epp(top, "greeting")) {
		m->kind = EPP_KIND_GREETING;
	} else if (is_epp(top, "response")) {
		m->kind = EPP_KIND_RESPONSE;
		parse_response(m, top);
	} else {
		err_set(e, ERR_PARSE, "not a greeting or response");
		goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	epp_msg_free(m);
	return r;
}

void
epp_msg_free(struct epp_msg *m)
{
	if (m == NULL)
		return;
	if (m->doc != NULL)
		xmlFreeDoc(m->doc);
	free(m->cltrid);
	free(m->login_clid);
	free(m->result_msg);
	free(m->svtrid);
	free(m->info_fname);
	for (size_t i = 0; i < m->info_nfacts; i++)
		free(m->info_facts[i]);
	free(m->info_facts);
	for (size_t i = 0; i < m->nobjs; i++)
		free(m->objs[i].name);
	free(m->objs);
	for (size_t i = 0; i < m->nlines; i++)
		free(m->lines[i].text);
	free(m->lines);
	for (size_t i = 0; i < m->nexts; i++)
		free(m->exts[i]);
	free(m->exts);
	free(m);
}

enum epp_kind
epp_msg_kind(const struct epp_msg *m)
{
	return m->kind;
}

enum epp_cmd
epp_msg_cmd(const struct epp_msg *m)
{
	return m->cmd;
}

int
epp_msg_read_only(const struct epp_msg *m)
{
	if (m->kind == EPP_KIND_HELLO)
		return 1;
	return m->kind == EPP_KIND_COMMAND && (m->cmd == EPP_CMD_CHECK ||
	    m->cmd == EPP_CMD_INFO);
}

const char *
epp_msg_cltrid(const struct epp_msg *m)
{
	return m->cltrid;
}

const char *
epp_msg_login_clid(const struct epp_msg *m)
{
	return m->login_clid;
}

int
epp_msg_result_code(const struct epp_msg *m)
{
	return m->result_code;
}

const char *
epp_msg_result_msg(const struct epp_msg *m)
{
	return m->result_msg;
}

const char *
epp_msg_svtrid(const struct epp_msg *m)
{
	return m->svtrid;
}

const char *
epp_msg_name(const struct epp_msg *m)
{
	return m->cmdname;
}

enum epp_obj_type
epp_msg_obj_type(const struct epp_msg *m)
{
	return m->otype;
}

size_t
epp_msg_nobjects(const struct epp_msg *m)
{
	return m->nobjs;
}

const char *
epp_msg_object(const struct epp_msg *m, size_t i, enum epp_obj_type *type,
    int *valid)
{
	if (i >= m->nobjs)
		return NULL;
	if (type != NULL)
		*type = m->objs[i].type;
	if (valid != NULL)
		*valid = m->objs[i].st == NAME_OK;
	return m->objs[i].name;
}

size_t
epp_msg_nchanges(const struct epp_msg *m)
{
	return m->nlines;
}

int
epp_msg_change_secret(const struct epp_msg *m, size_t i)
{
	return i < m->nlines && m->lines[i].secret;
}

const char *
epp_msg_change(const struct epp_msg *m, size_t i, unsigned *cls)
{
	if (i >= m->nlines)
		return NULL;
	if (cls != NULL)
		*cls = m->lines[i].cls;
	return m->lines[i].text;
}

unsigned
epp_msg_classes(const struct epp_msg *m)
{
	unsigned cls = 0;

	for (size_t i = 0; i < m->nlines; i++)
		cls |= m->lines[i].cls;
	return cls;
}

size_t
epp_msg_nextensions(const struct epp_msg *m)
{
	return m->nexts;
}

const char *
epp_msg_extension(const struct epp_msg *m, size_t i)
{
	return i < m->nexts ? m->exts[i] : NULL;
}

int
epp_msg_mutating(const struct epp_msg *m)
{
	if (m->kind == EPP_KIND_EXTENSION)
		return 1;
	switch (m->cmd) {
	case EPP_CMD_CREATE:
	case EPP_CMD_DELETE:
	case EPP_CMD_RENEW:
	case EPP_CMD_TRANSFER:
	case EPP_CMD_UPDATE:
		return 1;
	default:
		return 0;
	}
}

static int
dump(xmlDocPtr doc, uint8_t **out, size_t *len)
{
	xmlChar *buf = NULL;
	int n = 0;

	xmlDocDumpMemoryEnc(doc, &buf, &n, "UTF-8");
	if (buf == NULL || n <= 0) {
		xmlFree(buf);
		return -1;
	}
	/* Hand back malloc'd memory: callers should not need xmlFree.  It
	 * is NUL-terminated (not counted in len) for those who want a
	 * string. */
	if ((*out = malloc((size_t)n + 1)) == NULL) {
		xmlFree(buf);
		return -1;
	}
	memcpy(*out, buf, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	xmlFree(buf);
	return 0;
}

int
epp_msg_serialise(const struct epp_msg *m, uint8_t **out, size_t *len)
{
	/* The tree as judged: every edit happened before the model ran. */
	return dump(m->doc, out, len);
}

int
epp_msg_redacted(const struct epp_msg *m, char **out, size_t *len)
{
	xmlDocPtr copy = NULL;
	int r;

	/* Most commands hold no secret: nothing to copy and replace. */
	if (m_has_secret(xmlDocGetRootElement(m->doc))) {
		if ((copy = xmlCopyDoc(m->doc, 1)) == NULL)
			return -1;
		m_redact(xmlDocGetRootElement(copy));
	}
	/* dump NUL-terminates. */
	r = dump(copy != NULL ? copy : m->doc, (uint8_t **)out, len);
	xmlFreeDoc(copy);
	return r;
}

enum epp_obj_type
epp_msg_info_kind(const struct epp_msg *m)
{
	return m->info_fname != NULL ? m->info_kind : EPP_OBJ_NONE;
}

const char *
epp_msg_info_object(const struct epp_msg *m)
{
	return m->info_fname;
}

size_t
epp_msg_info_nfacts(const struct epp_msg *m)
{
	return m->info_fname != NULL ? m->info_nfacts : 0;
}

const char *
epp_msg_info_fact(const struct epp_msg *m, size_t i)
{
	return i < epp_msg_info_nfacts(m) ? m->info_facts[i] : NULL;
}
