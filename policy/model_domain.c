/*
 * model_domain.c: the domain mapping (RFC 5731) in the command model.
 *
 * Lines, one per semantic fact (see DESIGN.md section 4):
 *   add.ns= / rem.ns=            host name; hostAttr adds " ip=v4:a ..."
 *   add.status= / rem.status=    the s attribute
 *   add.contact= / rem.contact=  "type:id"
 *   chg.registrant=              the id (empty to remove)
 *   chg.authinfo=                "sha256:<hex>" of the value, or "null"
 *   delete=1, transfer.op=, renew.period=, ...
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "change.h"
#include "epp_int.h"
#include "hex.h"

/* RFC 5731 statuses whose removal is the unlock itself. */
static int
prohibiting(const char *s)
{
	size_t n = strlen(s);

	return n > 10 && strcmp(s + n - 10, "Prohibited") == 0;
}

static char *
attr(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	char *r;

	if (v == NULL)
		return NULL;
	r = strdup((const char *)v);
	xmlFree(v);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A host name referred to inside a command (hostObj, hostName), normalised
 * when it can be.  A reference decides no lock, so one the registry will
 * refuse anyway is kept lower-cased as written rather than refused here.
 */
static int
host_ref(struct epp_msg *m, xmlNode *n, char *out, size_t len)
{
	char *raw = m_token(n);

	if (raw == NULL)
		return model_fail(m, "out of memory");
	if (name_normalise(raw, out, len) != NAME_OK) {
		size_t i;

		for (i = 0; raw[i] != '\0' && i + 1 < len; i++)
			out[i] = (char)tolower((unsigned char)raw[i]);
		out[i] = '\0';
	}
	free(raw);
	return 0;
}

/* <domain:ns>: hostObj+ or hostAttr+ (never both). */
static int
ns_lines(struct epp_msg *m, const char *op, xmlNode *ns)
{
	char host[NAME_MAX_LEN + 1];
	int nobj = 0, nattr = 0;

	for (xmlNode *c = ns->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (node_is(c, NS_DOMAIN, "hostObj")) {
			nobj++;
			if (host_ref(m, c, host, sizeof(host)) != 0 ||
			    add_change(m, CLASS_NS, "%s.ns=%s", op, host) != 0)
				return -1;
		} else if (node_is(c, NS_DOMAIN, "hostAttr")) {
			char *addrs[32], text[1024];
			size_t naddr = 0, off;
			int nname = 0, r = -1;

			nattr++;
			for (xmlNode *a = c->children; a; a = a->next) {
				char canon[64];

				if (a->type != XML_ELEMENT_NODE)
					continue;
				if (node_is(a, NS_DOMAIN, "hostName")) {
					if (nname++ > 0 || host_ref(m, a, host,
					    sizeof(host)) != 0)
						goto attr_out;
					continue;
				}
				if (!node_is(a, NS_DOMAIN, "hostAddr") ||
				    naddr == sizeof(addrs) / sizeof(addrs[0])) {
					model_fail(m,
					    "element in the wrong place");
					goto attr_out;
				}
				if (m_addr(m, a, canon, sizeof(canon)) != 0)
					goto attr_out;
				if ((addrs[naddr] = strdup(canon)) == NULL)
					goto attr_out;
				naddr++;
			}
			if (nname != 1) {
				model_fail(m, "hostAttr without one hostName");
				goto attr_out;
			}
			qsort(addrs, naddr, sizeof(addrs[0]), cmp_str);
			off = (size_t)snprintf(text, sizeof(text), "%s", host);
			for (size_t i = 0; i < naddr && off < sizeof(text); i++)
				off += (size_t)snprintf(text + off,
				    sizeof(text) - off, " %s", addrs[i]);
			r = add_change(m, CLASS_NS, "%s.ns=%s", op, text);
attr_out:
			for (size_t i = 0; i < naddr; i++)
				free(addrs[i]);
			if (r != 0)
				return -1;
		} else
			return model_fail(m, "element in the wrong place");
	}
	if (nobj > 0 && nattr > 0)
		return model_fail(m, "hostObj and hostAttr mixed");
	return 0;
}

/* add/rem: ns?, contact*, status*. */
static int
add_rem(struct epp_msg *m, const char *op, xmlNode *el)
{
	static const struct m_child allowed[] = {
		{ "ns", 0, 1 }, { "contact", 0, 64 }, { "status", 0, 16 },
		{ NULL, 0, 0 }
	};

	if (m_children(m, el, NS_DOMAIN, allowed) != 0)
		return -1;
	for (xmlNode *c = el->children; c != NULL; c = c->next) {
		if (node_is(c, NS_DOMAIN, "ns")) {
			if (ns_lines(m, op, c) != 0)
				return -1;
		} else if (node_is(c, NS_DOMAIN, "contact")) {
			char *type = attr(c, "type"), *id = m_token(c);
			int r;

			if (type == NULL || id == NULL || *id == '\0') {
				free(type);
				free(id);
				return model_fail(m,
				    "contact without type or id");
			}
			r = add_change(m, CLASS_CONTACT, "%s.contact=%s:%s", op,
			    type, id);
			free(type);
			free(id);
			if (r != 0)
				return -1;
		} else if (node_is(c, NS_DOMAIN, "status")) {
			char *s = attr(c, "s");
			unsigned cls = 0;
			int r;

			if (s == NULL)
				return model_fail(m, "status without s");
			/*
			 * Adding a prohibition tightens and is always
			 * allowed; any other status added (clientHold takes
			 * the domain out of the zone) is a status change.
			 * Removing a prohibition is the unlock itself.
			 */
			if (strcmp(op, "rem") == 0 ? prohibiting(s) :
			    !prohibiting(s))
				cls = CLASS_STATUS;
			r = add_change(m, cls, "%s.status=%s", op, s);
			free(s);
			if (r != 0)
				return -1;
		}
	}
	return 0;
}

/*
 * authInfo: the value never appears in a line, only a hash of it, salted
 * with the object name so equal passwords on two domains do not match.
 */
static int
authinfo_line(struct epp_msg *m, const char *field, xmlNode *ai,
    unsigned cls)
{
	xmlNode *c;
	char hex[2 * 32 + 1], *v;
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	const char *obj = m->nobjs ? m->objs[0].name : "";

	for (c = ai->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			break;
	if (c == NULL)
		return model_fail(m, "empty authInfo");
	if (node_is(c, NS_DOMAIN, "null"))
		return add_change(m, cls, "%s=null", field);
	if (!node_is(c, NS_DOMAIN, "pw")) {
		/* <ext> or anything else: hash its canonical form. */
		if (m_c14n(m, c, &v) != 0)
			return -1;
	} else if ((v = m_normalized(c)) == NULL)
		return model_fail(m, "out of memory");
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, "eppgw-authinfo/1", 17) != 1 ||
	    EVP_DigestUpdate(ctx, obj, strlen(obj) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, v, strlen(v)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		EVP_MD_CTX_free(ctx);
		OPENSSL_cleanse(v, strlen(v));
		free(v);
		return model_fail(m, "cannot hash authInfo");
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(v, strlen(v));
	free(v);
	hex_encode(md, mdlen, hex);
	if (add_change(m, cls, "%s=sha256:%s", field, hex) != 0)
		return -1;
	mark_change_secret(m);
	return 0;
}

static int
update(struct epp_msg *m, xmlNode *obj)
{
	static const struct m_child top[] = {
		{ "name", 1, 1 }, { "add", 0, 1 }, { "rem", 0, 1 },
		{ "chg", 0, 1 }, { NULL, 0, 0 }
	};
	static const struct m_child chg[] = {
		{ "registrant", 0, 1 }, { "authInfo", 0, 1 }, { NULL, 0, 0 }
	};

	if (m_children(m, obj, NS_DOMAIN, top) != 0)
		return -1;
	for (xmlNode *c = obj->children; c != NULL; c = c->next) {
		if (node_is(c, NS_DOMAIN, "add") && add_rem(m, "add", c) != 0)
			return -1;
		if (node_is(c, NS_DOMAIN, "rem") && add_rem(m, "rem", c) != 0)
			return -1;
		if (!node_is(c, NS_DOMAIN, "chg"))
			continue;
		if (m_children(m, c, NS_DOMAIN, chg) != 0)
			return -1;
		for (xmlNode *g = c->children; g; g = g->next) {
			if (node_is(g, NS_DOMAIN, "registrant")) {
				char *id = m_token(g);
				int r;

				if (id == NULL)
					return model_fail(m, "out of memory");
				r = add_change(m, CLASS_REGISTRANT,
				    "chg.registrant=%s", id);
				free(id);
				if (r != 0)
					return -1;
			} else if (node_is(g, NS_DOMAIN, "authInfo") &&
			    authinfo_line(m, "chg.authinfo", g,
			    CLASS_AUTHINFO) != 0)
				return -1;
		}
	}
	return 0;
}

static int
names_only(struct epp_msg *m, xmlNode *obj, unsigned max)
{
	const struct m_child allowed[] = { { "name", 1, max }, { NULL, 0, 0 } };

	return m_children(m, obj, NS_DOMAIN, allowed);
}

static int
transfer(struct epp_msg *m, xmlNode *obj)
{
	static const struct m_child allowed[] = {
		{ "name", 1, 1 }, { "period", 0, 1 }, { "authInfo", 0, 1 },
		{ NULL, 0, 0 }
	};
	xmlChar *op = xmlGetNoNsProp(obj->parent, BAD_CAST "op");
	unsigned cls = 0;
	int r;

	if (m_children(m, obj, NS_DOMAIN, allowed) != 0) {
		xmlFree(op);
		return -1;
	}
	if (op == NULL)
		return model_fail(m, "transfer without op");
	/* request moves the domain away; approve lets it go. */
	if (xmlStrEqual(op, BAD_CAST "request") ||
	    xmlStrEqual(op, BAD_CAST "approve"))
		cls = CLASS_TRANSFER;
	else if (!xmlStrEqual(op, BAD_CAST "query") &&
	    !xmlStrEqual(op, BAD_CAST "reject") &&
	    !xmlStrEqual(op, BAD_CAST "cancel")) {
		xmlFree(op);
		return model_fail(m, "unknown transfer op");
	}
	r = add_change(m, cls, "transfer.op=%s", (const char *)op);
	xmlFree(op);
	for (xmlNode *c = obj->children; r == 0 && c; c = c->next)
		if (node_is(c, NS_DOMAIN, "authInfo"))
			r = authinfo_line(m, "transfer.authinfo", c, 0);
	return r;
}

int
model_domain(struct epp_msg *m, xmlNode *obj)
{
	static const struct m_child create[] = {
		{ "name", 1, 1 }, { "period", 0, 1 }, { "ns", 0, 1 },
		{ "registrant", 0, 1 }, { "contact", 0, 64 },
		{ "authInfo", 1, 1 }, { NULL, 0, 0 }
	};
	static const struct m_child renew[] = {
		{ "name", 1, 1 }, { "curExpDate", 1, 1 }, { "period", 0, 1 },
		{ NULL, 0, 0 }
	};
	static const struct m_child info[] = {
		{ "name", 1, 1 }, { "authInfo", 0, 1 }, { NULL, 0, 0 }
	};
	int r;

	switch (m->cmd) {
	case EPP_CMD_CHECK:
		r = names_only(m, obj, 100);
		break;
	case EPP_CMD_INFO:
		r = m_children(m, obj, NS_DOMAIN, info);
		break;
	case EPP_CMD_DELETE:
		r = names_only(m, obj, 1);
		break;
	case EPP_CMD_CREATE:
		r = m_children(m, obj, NS_DOMAIN, create);
		break;
	case EPP_CMD_RENEW:
		r = m_children(m, obj, NS_DOMAIN, renew);
		break;
	case EPP_CMD_TRANSFER:
	case EPP_CMD_UPDATE:
		r = 0;		/* checked below, with the name first */
		break;
	default:
		return model_fail(m, "command not defined for domains");
	}
	if (r != 0)
		return -1;
	for (xmlNode *c = obj->children; c != NULL; c = c->next)
		if (node_is(c, NS_DOMAIN, "name") &&
		    m_obj(m, EPP_OBJ_DOMAIN, c) != 0)
			return -1;
	switch (m->cmd) {
	case EPP_CMD_DELETE:
		return add_change(m, CLASS_DELETE, "delete=1");
	case EPP_CMD_UPDATE:
		return update(m, obj);
	case EPP_CMD_TRANSFER:
		return transfer(m, obj);
	case EPP_CMD_CREATE:
		/* A new name changes nothing that is locked; listed for
		 * the audit record, no class. */
		for (xmlNode *c = obj->children; c; c = c->next)
			if (node_is(c, NS_DOMAIN, "ns") &&
			    ns_lines(m, "create", c) != 0)
				return -1;
		for (size_t i = 0; i < m->nlines; i++)
			m->lines[i].cls = 0;
		return 0;
	case EPP_CMD_RENEW:
		for (xmlNode *c = obj->children; c; c = c->next)
			if (node_is(c, NS_DOMAIN, "period")) {
				char *v = m_token(c), *u = attr(c, "unit");

				r = add_change(m, 0, "renew.period=%s%s",
				    v ? v : "", u ? u : "");
				free(v);
				free(u);
				if (r != 0)
					return -1;
			}
		return 0;
	default:
		return 0;
	}
}
