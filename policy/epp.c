/*
 * epp.c: secure parsing of EPP data units (see epp.h).
 *
 * The tree is only ever built by libxml2 with entity substitution, DTD
 * loading and network access off.  A DOCTYPE is refused from the SAX
 * callback, before libxml2 looks at anything it declares, so entity bombs
 * never get a chance to expand.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "change.h"
#include "epp.h"
#include "epp_int.h"

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

/* Refuse any DOCTYPE before libxml2 processes its declarations. */
static void
sax_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;

	(void)name;
	(void)ext;
	(void)sys;
	ctxt->_private = (void *)"DOCTYPE not allowed";
	xmlStopParser(ctxt);
}

static void
sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	xmlParserCtxtPtr ctxt = ctx;

	(void)target;
	(void)data;
	ctxt->_private = (void *)"processing instruction not allowed";
	xmlStopParser(ctxt);
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
elements_only(const xmlNode *parent, const char **why)
{
	for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			for (const xmlChar *p = c->content; p && *p; p++)
				if (!isspace(*p)) {
					*why = "unexpected text";
					return -1;
				}
		} else if (c->type != XML_ELEMENT_NODE &&
		    c->type != XML_COMMENT_NODE) {
			*why = "unexpected node";
			return -1;
		}
	}
	return 0;
}

/* Anything libxml2 kept that the EPP schema cannot contain. */
static int
scan_tree(const xmlNode *n, const char **why)
{
	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (n->ns == NULL) {
				*why = "element without namespace";
				return -1;
			}
			if (scan_tree(n->children, why) != 0)
				return -1;
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
			break;
		case XML_ENTITY_REF_NODE:
		case XML_ENTITY_NODE:
		case XML_ENTITY_DECL:
			*why = "entity not allowed";
			return -1;
		case XML_PI_NODE:
			*why = "processing instruction not allowed";
			return -1;
		default:
			*why = "unexpected node";
			return -1;
		}
	}
	return 0;
}

static int
parse_login(struct epp_msg *m, const xmlNode *verb, const char **why)
{
	int nclid = 0;

	for (const xmlNode *c = verb->children; c != NULL; c = c->next) {
		if (!is_epp(c, "clID"))
			continue;
		if (nclid++ > 0) {
			*why = "duplicate clID";
			return -1;
		}
		if ((m->login_clid = m_text(c)) == NULL) {
			*why = "out of memory";
			return -1;
		}
	}
	if (m->login_clid == NULL) {
		*why = "login without clID";
		return -1;
	}
	return 0;
}

static int
parse_command(struct epp_msg *m, xmlNode *cmd, const char **why)
{
	xmlNode *verb = NULL, *ext = NULL, *c;
	int ntrid = 0;

	if (elements_only(cmd, why) != 0)
		return -1;
	for (c = cmd->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_epp(c, "clTRID")) {
			if (ntrid++ > 0) {
				*why = "duplicate clTRID";
				return -1;
			}
			if ((m->cltrid = m_text(c)) == NULL) {
				*why = "out of memory";
				return -1;
			}
			continue;
		}
		if (is_epp(c, "extension")) {
			if (ext != NULL) {
				*why = "duplicate extension element";
				return -1;
			}
			ext = c;
			continue;
		}
		if (verb != NULL) {
			*why = "more than one command";
			return -1;
		}
		verb = c;
	}
	if (verb == NULL || !is_epp(verb, NULL)) {
		*why = "no command";
		return -1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (xmlStrEqual(verb->name, BAD_CAST commands[i].name))
			m->cmd = commands[i].cmd;
	if (m->cmd == EPP_CMD_NONE) {
		*why = "unknown command";
		return -1;
	}
	snprintf(m->cmdname, sizeof(m->cmdname), "%s", epp_cmd_name(m->cmd));
	if (m->cmd == EPP_CMD_LOGIN && parse_login(m, verb, why) != 0)
		return -1;
	if (model_build(m, verb) != 0 ||
	    (ext != NULL && model_extension(m, ext) != 0)) {
		*why = m->why ? m->why : "invalid command";
		return -1;
	}
	return 0;
}

static int
push_str(char ***arr, size_t *n, char *v)
{
	char **t;

	if (v == NULL)
		return -1;
	if ((t = realloc(*arr, (*n + 1) * sizeof(*t))) == NULL) {
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
		if (m_is(c, ns, name))
			return c;
	return NULL;
}

/* What a domain:info response says about the domain's state. */
static void
parse_info(struct epp_msg *m, const xmlNode *inf)
{
	const xmlNode *c, *h;
	char norm[NAME_MAX_LEN + 1], *v;

	for (c = inf->children; c != NULL; c = c->next) {
		if (m_is(c, NS_DOMAIN, "name") && m->info_name == NULL) {
			if ((v = m_text(c)) == NULL)
				return;
			if (name_normalise(v, norm, sizeof(norm)) == NAME_OK) {
				free(v);
				v = strdup(norm);
			}
			m->info_name = v;
		} else if (m_is(c, NS_DOMAIN, "status")) {
			xmlChar *st = xmlGetNoNsProp(c, BAD_CAST "s");

			if (st != NULL)
				(void)push_str(&m->info_status,
				    &m->info_nstatus, strdup((char *)st));
			xmlFree(st);
		} else if (m_is(c, NS_DOMAIN, "registrant") ||
		    m_is(c, NS_DOMAIN, "contact")) {
			if ((v = m_text(c)) != NULL && *v != '\0')
				(void)push_str(&m->info_contacts,
				    &m->info_ncontacts, v);
			else
				free(v);
		} else if (m_is(c, NS_DOMAIN, "ns")) {
			for (h = c->children; h != NULL; h = h->next) {
				const xmlNode *t = m_is(h, NS_DOMAIN,
				    "hostAttr") ? child_of(h, NS_DOMAIN,
				    "hostName") : m_is(h, NS_DOMAIN, "hostObj") ?
				    h : NULL;

				if (t == NULL || (v = m_text(t)) == NULL)
					continue;
				if (name_normalise(v, norm, sizeof(norm)) ==
				    NAME_OK) {
					free(v);
					v = strdup(norm);
				}
				(void)push_str(&m->info_ns, &m->info_nns, v);
			}
		}
	}
}

/* secDNS infData: the DS records the registry holds. */
static void
parse_secdns_info(struct epp_msg *m, const xmlNode *inf)
{
	const char *ns = (const char *)inf->ns->href;

	for (const xmlNode *d = inf->children; d != NULL; d = d->next) {
		char *f[4] = { NULL, NULL, NULL, NULL }, *line;
		const char *names[4] = { "keyTag", "alg", "digestType",
		    "digest" };
		size_t len = 0;

		if (!m_is(d, ns, "dsData"))
			continue;
		for (int i = 0; i < 4; i++) {
			const xmlNode *e = child_of(d, ns, names[i]);

			f[i] = e ? m_text(e) : NULL;
			len += (f[i] ? strlen(f[i]) : 1) + 1;
		}
		if ((line = malloc(len + 1)) != NULL) {
			snprintf(line, len + 1, "%s %s %s %s", f[0] ? f[0] : "-",
			    f[1] ? f[1] : "-", f[2] ? f[2] : "-",
			    f[3] ? f[3] : "-");
			(void)push_str(&m->info_ds, &m->info_nds, line);
		}
		for (int i = 0; i < 4; i++)
			free(f[i]);
	}
}

static void
parse_response(struct epp_msg *m, const xmlNode *rsp)
{
	for (const xmlNode *c = rsp->children; c != NULL; c = c->next) {
		if (is_epp(c, "result") && m->result_code == -1) {
			xmlChar *code = xmlGetNoNsProp(c, BAD_CAST "code");

			if (code != NULL && strlen((char *)code) == 4 &&
			    isdigit(code[0]) && isdigit(code[1]) &&
			    isdigit(code[2]) && isdigit(code[3]))
				m->result_code = atoi((char *)code);
			xmlFree(code);
			for (const xmlNode *r = c->children; r; r = r->next)
				if (is_epp(r, "msg") && m->result_msg == NULL)
					m->result_msg = m_text(r);
		} else if (is_epp(c, "resData")) {
			const xmlNode *inf = child_of(c, NS_DOMAIN, "infData");

			if (inf != NULL)
				parse_info(m, inf);
		} else if (is_epp(c, "extension")) {
			for (const xmlNode *e = c->children; e; e = e->next)
				if (m_is(e, NS_SECDNS11, "infData") ||
				    m_is(e, NS_SECDNS10, "infData"))
					parse_secdns_info(m, e);
		} else if (is_epp(c, "trID")) {
			for (const xmlNode *t = c->children; t; t = t->next) {
				if (is_epp(t, "svTRID") && m->svtrid == NULL)
					m->svtrid = m_text(t);
				else if (is_epp(t, "clTRID") &&
				    m->cltrid == NULL)
					m->cltrid = m_text(t);
			}
		}
	}
}

int
epp_parse(const uint8_t *xml, size_t len, struct epp_msg **out,
    const char **why)
{
	xmlParserCtxtPtr ctxt = NULL;
	struct epp_msg *m = NULL;
	xmlNode *root, *top = NULL;
	int r = -1;

	*out = NULL;
	*why = "syntax error";
	if (len > INT32_MAX) {
		*why = "too large";
		return -1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (ctxt = xmlNewParserCtxt()) == NULL) {
		*why = "out of memory";
		goto out;
	}
	m->result_code = -1;
	ctxt->sax->internalSubset = sax_subset;
	ctxt->sax->externalSubset = sax_subset;
	ctxt->sax->processingInstruction = sax_pi;
	m->doc = xmlCtxtReadMemory(ctxt, (const char *)xml, (int)len, NULL,
	    NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
	if (ctxt->_private != NULL) {
		*why = ctxt->_private;
		goto out;
	}
	if (m->doc == NULL || !ctxt->wellFormed) {
		*why = "not well-formed XML";
		goto out;
	}
	/* RFC 5730 section 2.4: EPP is UTF-8; another charset could make
	 * the registry read other names than the ones judged here. */
	if (m->doc->encoding != NULL &&
	    xmlStrcasecmp(m->doc->encoding, BAD_CAST "UTF-8") != 0) {
		*why = "encoding other than UTF-8";
		goto out;
	}
	if (m->doc->intSubset != NULL || m->doc->extSubset != NULL) {
		*why = "DOCTYPE not allowed";
		goto out;
	}
	root = xmlDocGetRootElement(m->doc);
	for (xmlNode *n = m->doc->children; n != NULL; n = n->next)
		if (n->type == XML_PI_NODE) {
			*why = "processing instruction not allowed";
			goto out;
		}
	if (!is_epp(root, "epp")) {
		*why = "root is not <epp> in the EPP namespace";
		goto out;
	}
	if (scan_tree(root, why) != 0 || elements_only(root, why) != 0)
		goto out;
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (top != NULL) {
			*why = "more than one element under <epp>";
			goto out;
		}
		top = c;
	}
	if (is_epp(top, "hello")) {
		m->kind = EPP_KIND_HELLO;
		snprintf(m->cmdname, sizeof(m->cmdname), "hello");
	} else if (is_epp(top, "command")) {
		m->kind = EPP_KIND_COMMAND;
		if (parse_command(m, top, why) != 0)
			goto out;
	} else if (is_epp(top, "extension")) {
		/* A protocol extension command: nothing the gateway can
		 * judge, so all of it is an unknown change (fail closed). */
		m->kind = EPP_KIND_EXTENSION;
		m->otype = EPP_OBJ_UNKNOWN;
		snprintf(m->cmdname, sizeof(m->cmdname), "extension");
		if (model_extension(m, top) != 0) {
			*why = m->why ? m->why : "invalid extension";
			goto out;
		}
	} else if (is_epp(top, "greeting")) {
		m->kind = EPP_KIND_GREETING;
	} else if (is_epp(top, "response")) {
		m->kind = EPP_KIND_RESPONSE;
		parse_response(m, top);
	} else {
		*why = "unknown element under <epp>";
		goto out;
	}
	*out = m;
	m = NULL;
	*why = NULL;
	r = 0;
out:
	if (ctxt != NULL)
		xmlFreeParserCtxt(ctxt);
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
	free(m->info_name);
	for (size_t i = 0; i < m->info_nstatus; i++)
		free(m->info_status[i]);
	free(m->info_status);
	for (size_t i = 0; i < m->info_nns; i++)
		free(m->info_ns[i]);
	free(m->info_ns);
	for (size_t i = 0; i < m->info_nds; i++)
		free(m->info_ds[i]);
	free(m->info_ds);
	for (size_t i = 0; i < m->info_ncontacts; i++)
		free(m->info_contacts[i]);
	free(m->info_contacts);
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

/* Drop comments and eppgw's own extension from the tree we forward. */
static void
strip(xmlNode *n)
{
	xmlNode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		if (n->type == XML_COMMENT_NODE ||
		    (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    xmlStrEqual(n->ns->href, BAD_CAST EPPGW_EXT_NS))) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
			continue;
		}
		if (n->type == XML_ELEMENT_NODE)
			strip(n->children);
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
	/* Hand back malloc'd memory: callers should not need xmlFree. */
	if ((*out = malloc((size_t)n)) == NULL) {
		xmlFree(buf);
		return -1;
	}
	memcpy(*out, buf, (size_t)n);
	*len = (size_t)n;
	xmlFree(buf);
	return 0;
}

int
epp_msg_serialise(struct epp_msg *m, uint8_t **out, size_t *len)
{
	xmlNode *root = xmlDocGetRootElement(m->doc);

	strip(root);
	/* An <extension> left empty would be schema-invalid: drop it. */
	for (xmlNode *c = root->children; c != NULL; c = c->next)
		if (is_epp(c, "command"))
			for (xmlNode *e = c->children, *nx; e; e = nx) {
				nx = e->next;
				if (is_epp(e, "extension") &&
				    xmlFirstElementChild(e) == NULL) {
					xmlUnlinkNode(e);
					xmlFreeNode(e);
				}
			}
	return dump(m->doc, out, len);
}

int
epp_msg_redacted(const struct epp_msg *m, char **out, size_t *len)
{
	xmlDocPtr copy;
	int r;

	if ((copy = xmlCopyDoc(m->doc, 1)) == NULL)
		return -1;
	m_redact(xmlDocGetRootElement(copy));
	r = dump(copy, (uint8_t **)out, len);
	xmlFreeDoc(copy);
	if (r == 0) {
		/* NUL-terminate for callers that want a string. */
		char *t = realloc(*out, *len + 1);

		if (t == NULL) {
			free(*out);
			return -1;
		}
		t[*len] = '\0';
		*out = t;
	}
	return r;
}

const char *
epp_msg_info_name(const struct epp_msg *m)
{
	return m->info_name;
}

size_t
epp_msg_info_nstatus(const struct epp_msg *m)
{
	return m->info_nstatus;
}

const char *
epp_msg_info_status(const struct epp_msg *m, size_t i)
{
	return i < m->info_nstatus ? m->info_status[i] : NULL;
}

size_t
epp_msg_info_nns(const struct epp_msg *m)
{
	return m->info_nns;
}

const char *
epp_msg_info_ns(const struct epp_msg *m, size_t i)
{
	return i < m->info_nns ? m->info_ns[i] : NULL;
}

size_t
epp_msg_info_nds(const struct epp_msg *m)
{
	return m->info_nds;
}

const char *
epp_msg_info_ds(const struct epp_msg *m, size_t i)
{
	return i < m->info_nds ? m->info_ds[i] : NULL;
}

size_t
epp_msg_info_ncontacts(const struct epp_msg *m)
{
	return m->info_ncontacts;
}

const char *
epp_msg_info_contact(const struct epp_msg *m, size_t i)
{
	return i < m->info_ncontacts ? m->info_contacts[i] : NULL;
}
