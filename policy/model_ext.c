/*
 * model_ext.c: the domain extensions the gateway understands: DNSSEC
 * (secDNS-1.1, RFC 5910, and its predecessor secDNS-1.0, RFC 4310) and
 * registry grace periods (RGP, RFC 3915).
 *
 * Values are judged as parsed, not as text: an xs:boolean "all" may be
 * "true", "1" or " true ", and all="false" removes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "change.h"
#include "epp_int.h"

/* xs:boolean after white-space collapse: 1, 0, or -1 if neither. */
static int
xs_boolean(const char *v)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		return 1;
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		return 0;
	return -1;
}

/* The first ns:name child of n as a judged field (m_token); NULL when
 * absent or out of memory. */
static char *
child_token(xmlNode *n, const char *ns, const char *name)
{
	for (xmlNode *c = n->children; c != NULL; c = c->next)
		if (node_is(c, ns, name))
			return m_token(c);
	return NULL;
}

/* Upper-case hex, base64 without white space: the same key, the same line. */
static void
squeeze(char *s, int upper)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++) {
		if (isspace((unsigned char)*r))
			continue;
		*w++ = upper ? (char)toupper((unsigned char)*r) : *r;
	}
	*w = '\0';
}

static int
keydata_line(struct epp_msg *m, const char *ns, const char *op,
    xmlNode *k, unsigned cls)
{
	char *flags = child_token(k, ns, "flags");
	char *proto = child_token(k, ns, "protocol");
	char *alg = child_token(k, ns, "alg");
	char *pub = child_token(k, ns, "pubKey");
	int r = -1;

	if (flags == NULL || proto == NULL || alg == NULL || pub == NULL) {
		model_fail(m, "incomplete keyData");
		goto out;
	}
	squeeze(pub, 0);
	r = add_change(m, cls, "secdns.%s.key=%s %s %s %s", op, flags, proto,
	    alg, pub);
out:
	free(flags);
	free(proto);
	free(alg);
	free(pub);
	return r;
}

static int
dsdata_line(struct epp_msg *m, const char *ns, const char *op,
    xmlNode *d, unsigned cls)
{
	char *tag = child_token(d, ns, "keyTag");
	char *alg = child_token(d, ns, "alg");
	char *dt = child_token(d, ns, "digestType");
	char *dg = child_token(d, ns, "digest");
	int r = -1;

	if (tag == NULL || alg == NULL || dt == NULL || dg == NULL) {
		model_fail(m, "incomplete dsData");
		goto out;
	}
	squeeze(dg, 1);
	r = add_change(m, cls, "secdns.%s.ds=%s %s %s %s", op, tag, alg, dt,
	    dg);
	/* A dsData may carry its key: part of the same change. */
	for (xmlNode *c = d->children; r == 0 && c; c = c->next)
		if (node_is(c, ns, "keyData"))
			r = keydata_line(m, ns, op, c, cls);
out:
	free(tag);
	free(alg);
	free(dt);
	free(dg);
	return r;
}

static int
ds_or_key_list(struct epp_msg *m, const char *ns, const char *op,
    xmlNode *el, unsigned cls)
{
	for (xmlNode *c = el->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (node_is(c, ns, "dsData")) {
			if (dsdata_line(m, ns, op, c, cls) != 0)
				return -1;
		} else if (node_is(c, ns, "keyData")) {
			if (keydata_line(m, ns, op, c, cls) != 0)
				return -1;
		} else if (node_is(c, ns, "keyTag") &&
		    strcmp(ns, NS_SECDNS10) == 0 && strcmp(op, "rem") == 0) {
			char *t = m_token(c);
			int r;

			if (t == NULL)
				return model_fail(m, "out of memory");
			r = add_change(m, cls, "secdns.rem.keytag=%s", t);
			free(t);
			if (r != 0)
				return -1;
		} else if (node_is(c, ns, "maxSigLife") &&
		    strcmp(op, "create") == 0) {
			char *t = m_token(c);
			int r;

			if (t == NULL)
				return model_fail(m, "out of memory");
			r = add_change(m, cls, "secdns.create.maxsiglife=%s",
			    t);
			free(t);
			if (r != 0)
				return -1;
		} else
			return model_fail(m, "element in the wrong place");
	}
	return 0;
}

static int
secdns_update(struct epp_msg *m, const char *ns, xmlNode *up)
{
	static const struct m_child top[] = {
		{ "rem", 0, 1 }, { "add", 0, 1 }, { "chg", 0, 1 },
		{ NULL, 0, 0 }
	};
	xmlChar *urgent = xmlGetNoNsProp(up, BAD_CAST "urgent");

	if (urgent != NULL) {
		char *u = strdup((const char *)urgent);
		int b;

		xmlFree(urgent);
		if (u == NULL)
			return model_fail(m, "out of memory");
		squeeze(u, 0);
		b = xs_boolean(u);
		free(u);
		if (b < 0)
			return model_fail(m, "urgent is not a boolean");
		if (b == 1 && add_change(m, CLASS_DS, "secdns.urgent=1") != 0)
			return -1;
	}
	if (m_children(m, up, ns, top) != 0)
		return -1;
	/*
	 * Any secDNS update is a DS change, whatever it holds: an empty one
	 * may mean something to a registry (secDNS-1.0 <chg/> replaces the
	 * whole DS set with nothing).
	 */
	if (add_change(m, CLASS_DS, "secdns.update=%s",
	    strcmp(ns, NS_SECDNS10) == 0 ? "1.0" : "1.1") != 0)
		return -1;
	for (xmlNode *c = up->children; c != NULL; c = c->next) {
		if (node_is(c, ns, "rem")) {
			char *all = child_token(c, ns, "all");
			int b;

			if (all != NULL) {
				b = xs_boolean(all);
				free(all);
				if (b < 0)
					return model_fail(m,
					    "all is not a boolean");
				/* all=false removes nothing: no line. */
				if (b == 1 && add_change(m, CLASS_DS,
				    "secdns.rem.all=1") != 0)
					return -1;
				for (xmlNode *a = c->children; a;
				    a = a->next)
					if (a->type == XML_ELEMENT_NODE &&
					    !node_is(a, ns, "all"))
						return model_fail(m,
						    "all mixed with other "
						    "removals");
				continue;
			}
			if (ds_or_key_list(m, ns, "rem", c, CLASS_DS) != 0)
				return -1;
		} else if (node_is(c, ns, "add")) {
			if (ds_or_key_list(m, ns, "add", c, CLASS_DS) != 0)
				return -1;
		} else if (node_is(c, ns, "chg")) {
			char *msl = child_token(c, ns, "maxSigLife");
			int r;

			if (strcmp(ns, NS_SECDNS10) == 0 && msl == NULL) {
				/* 1.0 chg replaces the whole DS set, with
				 * nothing when it is empty. */
				if (add_change(m, CLASS_DS,
				    "secdns.chg.replace=1") != 0 ||
				    ds_or_key_list(m, ns, "chg", c,
				    CLASS_DS) != 0)
					return -1;
				continue;
			}
			if (msl == NULL)
				return model_fail(m, "chg without maxSigLife");
			r = add_change(m, CLASS_DS, "secdns.chg.maxsiglife=%s",
			    msl);
			free(msl);
			if (r != 0)
				return -1;
		}
	}
	return 0;
}

int
model_secdns(struct epp_msg *m, xmlNode *ext)
{
	const char *ns = (const char *)ext->ns->href;

	if (m->cmd == EPP_CMD_UPDATE && xmlStrEqual(ext->name,
	    BAD_CAST "update"))
		return secdns_update(m, ns, ext);
	if (m->cmd == EPP_CMD_CREATE && xmlStrEqual(ext->name,
	    BAD_CAST "create"))
		/* DNSSEC data of a new domain: listed, no class. */
		return ds_or_key_list(m, ns, "create", ext, 0);
	return model_fail(m, "secDNS element does not fit the command");
}

int
model_rgp(struct epp_msg *m, xmlNode *ext)
{
	static const struct m_child top[] = {
		{ "restore", 1, 1 }, { NULL, 0, 0 }
	};
	xmlChar *op;
	int r = 0;

	if (m->cmd != EPP_CMD_UPDATE || !xmlStrEqual(ext->name,
	    BAD_CAST "update"))
		return model_fail(m, "rgp element does not fit the command");
	if (m_children(m, ext, NS_RGP, top) != 0)
		return -1;
	for (xmlNode *c = ext->children; c != NULL; c = c->next) {
		if (!node_is(c, NS_RGP, "restore"))
			continue;
		op = xmlGetNoNsProp(c, BAD_CAST "op");
		if (op == NULL || (!xmlStrEqual(op, BAD_CAST "request") &&
		    !xmlStrEqual(op, BAD_CAST "report"))) {
			xmlFree(op);
			return model_fail(m,
			    "restore op must be request or report");
		}
		/* Restoring a deleted domain undoes a delete: same class. */
		r = add_change(m, CLASS_DELETE, "rgp.restore=%s",
		    (const char *)op);
		xmlFree(op);
		for (xmlNode *rp = c->children; r == 0 && rp;
		    rp = rp->next) {
			char *c14n;

			if (!node_is(rp, NS_RGP, "report"))
				continue;
			if ((r = m_c14n(m, rp, &c14n)) != 0)
				break;
			r = add_change(m, CLASS_DELETE, "rgp.report=%s", c14n);
			free(c14n);
		}
	}
	return r;
}
