/*
 * model.c: from a parsed EPP command to the command model the policy
 * judges: objects (normalised names) and changes (canonical lines with
 * their classes).  Object mappings live in model_domain.c, model_host.c and
 * model_ext.c; this file holds the shared helpers, the dispatch, contacts
 * and anything the gateway does not understand.
 *
 * Structure is checked as we go: an element of a known mapping in a place
 * the schema does not allow, or repeated where it may appear once, is a
 * syntax error.  Anything in a namespace we do not know becomes a change of
 * class "unknown" whose line is the element's exclusive C14N, so it can be
 * neither ignored nor smuggled past the digest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/tree.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "change.h"
#include "epp_int.h"
#include "hex.h"

int
model_fail(struct epp_msg *m, const char *why)
{
	if (m->why == NULL)
		m->why = why;
	return -1;
}

int
node_is(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, BAD_CAST ns) &&
	    (name == NULL || xmlStrEqual(n->name, BAD_CAST name));
}

/*
 * The text of an element as the XML schema "token" type reads it: text and
 * CDATA joined (comments are not text), leading and trailing white space
 * removed, inner runs collapsed to one space.
 */
char *
xs_token(const xmlNode *n)
{
	xmlChar *raw;
	char *out, *w;
	const char *r;
	int space = 0;

	if ((raw = xmlNodeGetContent(n)) == NULL)
		return NULL;
	if ((out = malloc(strlen((char *)raw) + 1)) == NULL) {
		xmlFree(raw);
		return NULL;
	}
	w = out;
	for (r = (const char *)raw; *r != '\0'; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r') {
			space = w != out;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = 0;
		*w++ = *r;
	}
	*w = '\0';
	xmlFree(raw);
	return out;
}

char *
m_normalized(const xmlNode *n)
{
	xmlChar *raw;
	char *out;

	if ((raw = xmlNodeGetContent(n)) == NULL)
		return NULL;
	out = strdup((const char *)raw);
	xmlFree(raw);
	for (char *p = out; p != NULL && *p != '\0'; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	return out;
}

/* Whether the element's content is exactly one text node equal to v. */
static int
text_is(const xmlNode *n, const char *v)
{
	const xmlNode *c = n->children;

	if (c == NULL)
		return *v == '\0';
	return c == n->last && c->type == XML_TEXT_NODE && c->content != NULL &&
	    strcmp((const char *)c->content, v) == 0;
}

char *
m_token(xmlNode *n)
{
	char *v;

	if ((v = xs_token(n)) == NULL)
		return NULL;
	if (!text_is(n, v)) {
		/* Not xmlNodeSetContent(n, v): it would read '&' in v as
		 * the start of an entity reference. */
		xmlNodeSetContent(n, NULL);
		if (*v != '\0')
			xmlNodeAddContent(n, BAD_CAST v);
		if (!text_is(n, v)) {
			free(v);
			return NULL;
		}
	}
	return v;
}

const char *
m_token_attr(xmlNode *n, const xmlChar *name)
{
	xmlAttr *a = xmlHasNsProp(n, name, NULL);
	const xmlNode *t;
	char *v;
	int same;

	if (a == NULL)
		return NULL;
	t = a->children;
	if ((v = xs_token((const xmlNode *)a)) == NULL)
		return NULL;
	same = (t == NULL && *v == '\0') || (t != NULL && t->next == NULL &&
	    t->type == XML_TEXT_NODE && t->content != NULL &&
	    strcmp((const char *)t->content, v) == 0);
	/* xmlSetProp stores v as text: no entity parsing. */
	if (!same && xmlSetProp(n, name, BAD_CAST v) == NULL) {
		free(v);
		return NULL;
	}
	free(v);
	a = xmlHasNsProp(n, name, NULL);
	t = a != NULL ? a->children : NULL;
	return t != NULL && t->type == XML_TEXT_NODE ?
	    (const char *)t->content : "";
}

int
add_change(struct epp_msg *m, unsigned cls, const char *fmt, ...)
{
	struct epp_line *n;
	va_list ap;
	char buf[512], *text;
	const char *p;
	int len;

	/* Most lines fit the stack buffer: format once, copy once. */
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0 || (text = malloc((size_t)len + 1)) == NULL)
		return model_fail(m, "out of memory");
	if ((size_t)len < sizeof(buf))
		memcpy(text, buf, (size_t)len + 1);
	else {
		va_start(ap, fmt);
		vsnprintf(text, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	/*
	 * A line is one line: a value (an unknown element's canonical form)
	 * cannot carry a line end into it.  Escaped, not replaced, so that
	 * "a b" and "a\nb" stay two different changes.
	 */
	if (strpbrk(text, "\\\n\r") != NULL) {
		char *esc, *w;

		if ((esc = malloc(2 * (size_t)len + 1)) == NULL) {
			free(text);
			return model_fail(m, "out of memory");
		}
		for (w = esc, p = text; *p != '\0'; p++) {
			if (*p == '\\' || *p == '\n' || *p == '\r') {
				*w++ = '\\';
				*w++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\';
			} else
				*w++ = *p;
		}
		*w = '\0';
		free(text);
		text = esc;
	}
	if ((n = grow_array(m->lines, &m->caplines, m->nlines + 1,
	    sizeof(*n), MODEL_ITEMS_MAX)) == NULL) {
		free(text);
		return model_fail(m, errno == ERANGE ? "too many changes" :
		    "out of memory");
	}
	m->lines = n;
	n[m->nlines].text = text;
	n[m->nlines].cls = cls;
	n[m->nlines].secret = 0;
	m->nlines++;
	return 0;
}

void
mark_change_secret(struct epp_msg *m)
{
	if (m->nlines > 0)
		m->lines[m->nlines - 1].secret = 1;
}

/*
 * An address element (domain:hostAddr, host:addr: text plus an ip
 * attribute "v4", the default, or "v6") in canonical form: "v4:192.0.2.1",
 * "v6:2001:db8::1", as inet_ntop writes what inet_pton read.
 */
int
m_addr(struct epp_msg *m, xmlNode *a, char *out, size_t len)
{
	xmlChar *ip = xmlGetNoNsProp(a, BAD_CAST "ip");
	char *v = m_token(a), buf[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	int af = AF_INET, r = -1;

	if (ip != NULL && xmlStrEqual(ip, BAD_CAST "v6"))
		af = AF_INET6;
	else if (ip != NULL && !xmlStrEqual(ip, BAD_CAST "v4")) {
		model_fail(m, "invalid ip attribute");
		goto out;
	}
	if (v == NULL || inet_pton(af, v, bin) != 1 ||
	    inet_ntop(af, bin, buf, sizeof(buf)) == NULL) {
		model_fail(m, "invalid host address");
		goto out;
	}
	snprintf(out, len, "%s:%s", af == AF_INET ? "v4" : "v6", buf);
	r = 0;
out:
	xmlFree(ip);
	free(v);
	return r;
}

int
m_obj(struct epp_msg *m, enum epp_obj_type t, xmlNode *n)
{
	struct epp_obj *o;
	char *raw, norm[NAME_MAX_LEN + 1];
	enum name_status st = NAME_OK;

	if ((raw = m_token(n)) == NULL)
		return model_fail(m, "out of memory");
	if (t == EPP_OBJ_DOMAIN || t == EPP_OBJ_HOST) {
		st = name_normalise(raw, norm, sizeof(norm));
		if (st == NAME_OK) {
			free(raw);
			if ((raw = strdup(norm)) == NULL)
				return model_fail(m, "out of memory");
		}
	} else if (*raw == '\0')
		st = NAME_EMPTY;
	if ((o = grow_array(m->objs, &m->capobjs, m->nobjs + 1, sizeof(*o),
	    MODEL_ITEMS_MAX)) == NULL) {
		free(raw);
		return model_fail(m, errno == ERANGE ? "too many objects" :
		    "out of memory");
	}
	m->objs = o;
	o[m->nobjs].type = t;
	o[m->nobjs].name = raw;
	o[m->nobjs].st = st;
	m->nobjs++;
	return 0;
}

/*
 * The subtree n copied as the root of a document of its own, so the
 * canonicaliser walks the subtree only (given the whole document and a
 * visibility callback, it would walk every node of the command for every
 * unknown element).  The copy declares on its root the namespaces it uses
 * from outside; the work is linear in the subtree, the namespace lookups
 * bounded by the parse limits.
 */
static xmlDocPtr
subtree_doc(const xmlNode *n)
{
	xmlDocPtr doc;
	xmlNodePtr copy;

	if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL)
		return NULL;
	if ((copy = xmlDocCopyNode((xmlNodePtr)n, doc, 1)) == NULL) {
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, copy);
	return doc;
}

/* Exclusive C14N of a whole (small) document. */
static int
c14n_doc(xmlDocPtr doc, char **out)
{
	xmlOutputBufferPtr ob;
	xmlBufferPtr buf;
	int r;

	if ((buf = xmlBufferCreate()) == NULL)
		return -1;
	if ((ob = xmlOutputBufferCreateBuffer(buf, NULL)) == NULL) {
		xmlBufferFree(buf);
		return -1;
	}
	r = xmlC14NExecute(doc, NULL, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0,
	    ob);
	xmlOutputBufferClose(ob);
	if (r < 0 || (*out = strdup((const char *)xmlBufferContent(buf))) ==
	    NULL) {
		xmlBufferFree(buf);
		return -1;
	}
	xmlBufferFree(buf);
	return 0;
}

int
m_c14n(struct epp_msg *m, const xmlNode *n, char **out)
{
	xmlDocPtr doc = subtree_doc(n);
	int r;

	if (doc == NULL)
		return model_fail(m, "out of memory");
	r = c14n_doc(doc, out);
	xmlFreeDoc(doc);
	return r == 0 ? 0 : model_fail(m, "cannot canonicalise an element");
}

int
m_children(struct epp_msg *m, const xmlNode *parent, const char *ns,
    const struct m_child *allowed)
{
	unsigned counts[16] = { 0 };
	size_t i;

	for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			/* Only white space between elements. */
			for (const xmlChar *p = c->content; p && *p; p++)
				if (*p != ' ' && *p != '\t' && *p != '\n' &&
				    *p != '\r')
					return model_fail(m, "unexpected text");
			continue;
		}
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!node_is(c, ns, NULL))
			return model_fail(m, "element in the wrong place");
		for (i = 0; allowed[i].name != NULL; i++)
			if (xmlStrEqual(c->name, BAD_CAST allowed[i].name))
				break;
		if (allowed[i].name == NULL)
			return model_fail(m, "element in the wrong place");
		if (++counts[i] > allowed[i].max)
			return model_fail(m, "element repeated");
	}
	for (i = 0; allowed[i].name != NULL; i++)
		if (counts[i] < allowed[i].min)
			return model_fail(m, "required element missing");
	return 0;
}

/* pw, newPW and authInfo, in any namespace: what redaction hides. */
int
m_is_secret(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE &&
	    (xmlStrEqual(n->name, BAD_CAST "pw") ||
	    xmlStrEqual(n->name, BAD_CAST "newPW") ||
	    xmlStrEqual(n->name, BAD_CAST "authInfo"));
}

void
m_redact(xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (m_is_secret(n))
			/* Whatever is inside goes: text, pw, ext, comments. */
			xmlNodeSetContent(n, BAD_CAST "REDACTED");
		else
			m_redact(n->children);
	}
}

/* Whether n or anything under it is a secret. */
int
m_has_secret(const xmlNode *n)
{
	if (m_is_secret(n))
		return 1;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && m_has_secret(c))
			return 1;
	return 0;
}

/*
 * The line for an element we cannot interpret.  Its canonical form goes in
 * as is, unless it holds something that looks like a secret: then the
 * redacted form goes in, followed by a hash of the real one, so the digest
 * still changes with the secret and the text never shows it.
 */
/*
 * Each unknown element costs a copy and a canonical form, and its line
 * repeats the namespaces it uses: bounded in number, and in total to about
 * the frame's own size, so no frame makes the judge do more than linear
 * work (a long namespace name used by a thousand elements would otherwise
 * be canonicalised a thousand times).
 */
static int
unknown_budget(struct epp_msg *m, const char *c14n)
{
	m->unknown_bytes += strlen(c14n);
	if (m->unknown_bytes > m->frame_len + 1024)
		return model_fail(m, "unknown elements too large");
	return 0;
}

static int
unknown(struct epp_msg *m, const char *field, const xmlNode *n)
{
	xmlDocPtr doc = NULL;
	char *c14n = NULL, *shown = NULL, hex[65];
	unsigned char md[32];
	unsigned mdlen = 0, nth;
	int r = -1;

	if (m->nunknown >= epp_command_limits.max_unknown)
		return model_fail(m, "too many unknown elements");
	/* Numbered, so repeating or reordering them is another change: the
	 * gateway cannot know that they mean the same. */
	nth = ++m->nunknown;
	if (!m_has_secret(n)) {
		if (m_c14n(m, n, &c14n) != 0)
			return -1;
		if (unknown_budget(m, c14n) == 0)
			r = add_change(m, CLASS_UNKNOWN, "%s.%u=%s", field, nth,
			    c14n);
		free(c14n);
		return r;
	}
	/* One copy: canonicalised, redacted, canonicalised again. */
	if ((doc = subtree_doc(n)) == NULL) {
		model_fail(m, "out of memory");
		goto out;
	}
	if (c14n_doc(doc, &c14n) != 0 ||
	    EVP_Digest(c14n, strlen(c14n), md, &mdlen, EVP_sha256(),
	    NULL) != 1) {
		model_fail(m, "cannot canonicalise an element");
		goto out;
	}
	m_redact(xmlDocGetRootElement(doc));
	if (c14n_doc(doc, &shown) != 0) {
		model_fail(m, "cannot canonicalise an element");
		goto out;
	}
	if (unknown_budget(m, c14n) != 0)
		goto out;
	hex_encode(md, mdlen < 32 ? mdlen : 32, hex);
	r = add_change(m, CLASS_UNKNOWN, "%s.%u=%s sha256:%s", field, nth,
	    shown, hex);
	if (r == 0)
		mark_change_secret(m);
out:
	if (c14n != NULL)
		OPENSSL_cleanse(c14n, strlen(c14n));
	free(c14n);
	free(shown);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return r;
}

/*
 * Contacts: changes to a contact count as class "contact" (they matter
 * when the contact is linked to a locked domain), shown canonically.
 */
int
model_contact(struct epp_msg *m, xmlNode *obj)
{
	static const struct m_child ids[] = { { "id", 1, 100 }, { NULL, 0, 0 } };
	xmlNode *c;
	int nid = 0;

	if (m->cmd == EPP_CMD_CHECK) {
		if (m_children(m, obj, NS_CONTACT, ids) != 0)
			return -1;
		for (c = obj->children; c != NULL; c = c->next)
			if (node_is(c, NS_CONTACT, "id") &&
			    m_obj(m, EPP_OBJ_CONTACT, c) != 0)
				return -1;
		return 0;
	}
	for (c = obj->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!node_is(c, NS_CONTACT, NULL))
			return model_fail(m, "element in the wrong place");
		if (xmlStrEqual(c->name, BAD_CAST "id")) {
			if (nid++ > 0)
				return model_fail(m, "element repeated");
			if (m_obj(m, EPP_OBJ_CONTACT, c) != 0)
				return -1;
			continue;
		}
		if (m->cmd == EPP_CMD_INFO)
			continue;	/* authInfo of an info: no change */
		if (xmlStrEqual(c->name, BAD_CAST "authInfo")) {
			if (add_change(m, CLASS_CONTACT | CLASS_AUTHINFO,
			    "chg.authinfo=contact") != 0)
				return -1;
			continue;
		}
		if (m->cmd == EPP_CMD_CREATE)
			continue;	/* a new contact changes nothing locked */
		if (unknown(m, (const char *)c->name, c) != 0)
			return -1;
		/* Everything a contact update says is a contact change. */
		m->lines[m->nlines - 1].cls = CLASS_CONTACT;
	}
	if (nid != 1)
		return model_fail(m, "contact command without one id");
	if (m->cmd == EPP_CMD_DELETE)
		return add_change(m, CLASS_CONTACT, "delete=1");
	if (m->cmd == EPP_CMD_TRANSFER)
		return add_change(m, CLASS_CONTACT, "transfer=1");
	return 0;
}

int
model_build(struct epp_msg *m, xmlNode *verb)
{
	xmlNode *obj = NULL;
	const char *sep;

	switch (m->cmd) {
	case EPP_CMD_LOGOUT:
		/*
		 * The schema lets <logout> hold anything (xs:anyType); RFC
		 * 5730 gives it no content.  Content nobody reads is content
		 * nobody judged: refused.
		 */
		if (xmlFirstElementChild(verb) != NULL)
			return model_fail(m, "logout takes no content");
		return 0;
	case EPP_CMD_LOGIN:
	case EPP_CMD_POLL:
		return 0;	/* no object */
	default:
		break;
	}
	/* Exactly one object element under the verb. */
	for (xmlNode *c = verb->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (obj != NULL)
			return model_fail(m,
			    "more than one object in a command");
		obj = c;
	}
	if (obj == NULL || obj->ns == NULL)
		return model_fail(m, "command without an object");
	if (!xmlStrEqual(obj->name, verb->name))
		return model_fail(m,
		    "object element does not match the command");
	sep = (const char *)verb->name;
	if (node_is(obj, NS_DOMAIN, NULL)) {
		m->otype = EPP_OBJ_DOMAIN;
		snprintf(m->cmdname, sizeof(m->cmdname), "domain:%s", sep);
		return model_domain(m, obj);
	}
	if (node_is(obj, NS_HOST, NULL)) {
		m->otype = EPP_OBJ_HOST;
		snprintf(m->cmdname, sizeof(m->cmdname), "host:%s", sep);
		return model_host(m, obj);
	}
	if (node_is(obj, NS_CONTACT, NULL)) {
		m->otype = EPP_OBJ_CONTACT;
		snprintf(m->cmdname, sizeof(m->cmdname), "contact:%s", sep);
		return model_contact(m, obj);
	}
	/* An object mapping we do not know: judge all of it as unknown;
	 * reading it changes nothing. */
	m->otype = EPP_OBJ_UNKNOWN;
	snprintf(m->cmdname, sizeof(m->cmdname), "unknown:%s", sep);
	if (unknown(m, "object", obj) != 0)
		return -1;
	if (!epp_msg_mutating(m))
		m->lines[m->nlines - 1].cls = 0;
	return 0;
}

int
m_ext_uri(struct epp_msg *m, const xmlChar *uri)
{
	char **n;

	for (size_t i = 0; i < m->nexts; i++)
		if (strcmp(m->exts[i], (const char *)uri) == 0)
			return 0;
	if ((n = grow_array(m->exts, &m->capexts, m->nexts + 1, sizeof(*n),
	    MODEL_ITEMS_MAX)) == NULL)
		return model_fail(m, errno == ERANGE ? "too many extensions" :
		    "out of memory");
	m->exts = n;
	if ((n[m->nexts] = strdup((const char *)uri)) == NULL)
		return model_fail(m, "out of memory");
	m->nexts++;
	return 0;
}

int
model_extension(struct epp_msg *m, xmlNode *ext)
{
	for (xmlNode *c = ext->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_COMMENT_NODE)
			continue;
		if (c->type != XML_ELEMENT_NODE || c->ns == NULL)
			return model_fail(m, "unexpected node in extension");
		if (m_ext_uri(m, c->ns->href) != 0)
			return -1;
		if (m->kind == EPP_KIND_COMMAND && m->otype == EPP_OBJ_DOMAIN &&
		    (node_is(c, NS_SECDNS11, NULL) ||
		    node_is(c, NS_SECDNS10, NULL))) {
			if (model_secdns(m, c) != 0)
				return -1;
			continue;
		}
		if (m->kind == EPP_KIND_COMMAND && m->otype == EPP_OBJ_DOMAIN &&
		    node_is(c, NS_RGP, NULL)) {
			if (model_rgp(m, c) != 0)
				return -1;
			continue;
		}
		/* Login carries no object; its extensions change nothing. */
		if (m->cmd == EPP_CMD_LOGIN || m->cmd == EPP_CMD_LOGOUT)
			continue;
		if (unknown(m, "ext", c) != 0)
			return -1;
		/* On a read-only command an unknown extension changes
		 * nothing the lock protects; keep the line, drop the class. */
		if (m->kind == EPP_KIND_COMMAND && !epp_msg_mutating(m))
			m->lines[m->nlines - 1].cls = 0;
	}
	return 0;
}
