/*
 * model_host.c: the host mapping (RFC 5732) in the command model.
 *
 * Glue is where Sea Turtle moved name servers, so every change to a host
 * (create, delete, addresses, rename, status removal) is class "host"; it
 * only matters when the host is subordinate to a locked domain, which the
 * policy decides from the object names (old and, for a rename, new).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "change.h"
#include "epp_int.h"

static int
addr_line(struct epp_msg *m, const char *op, xmlNode *a)
{
	char canon[64];

	if (m_addr(m, a, canon, sizeof(canon)) != 0)
		return -1;
	return add_change(m, CLASS_HOST, "%s.addr=%s", op, canon);
}

static int
add_rem(struct epp_msg *m, const char *op, xmlNode *el)
{
	static const struct m_child allowed[] = {
		{ "addr", 0, 64 }, { "status", 0, 16 }, { NULL, 0, 0 }
	};

	if (m_children(m, el, NS_HOST, allowed) != 0)
		return -1;
	for (xmlNode *c = el->children; c != NULL; c = c->next) {
		if (node_is(c, NS_HOST, "addr")) {
			if (addr_line(m, op, c) != 0)
				return -1;
		} else if (node_is(c, NS_HOST, "status")) {
			xmlChar *s = xmlGetNoNsProp(c, BAD_CAST "s");
			int r;

			if (s == NULL)
				return model_fail(m, "status without s");
			/* Adding a status tightens; removing one may be the
			 * unlock of a glue record. */
			r = add_change(m,
			    strcmp(op, "rem") == 0 ? CLASS_HOST : 0,
			    "%s.status=%s", op, (const char *)s);
			xmlFree(s);
			if (r != 0)
				return -1;
		}
	}
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
		{ "name", 1, 1 }, { NULL, 0, 0 }
	};

	if (m_children(m, obj, NS_HOST, top) != 0)
		return -1;
	for (xmlNode *c = obj->children; c != NULL; c = c->next) {
		if (node_is(c, NS_HOST, "add") && add_rem(m, "add", c) != 0)
			return -1;
		if (node_is(c, NS_HOST, "rem") && add_rem(m, "rem", c) != 0)
			return -1;
		if (!node_is(c, NS_HOST, "chg"))
			continue;
		if (m_children(m, c, NS_HOST, chg) != 0)
			return -1;
		for (xmlNode *g = c->children; g; g = g->next) {
			if (!node_is(g, NS_HOST, "name"))
				continue;
			/* The new name is an object too: renaming a host
			 * into a locked domain is new glue there. */
			if (m_obj(m, EPP_OBJ_HOST, g) != 0 ||
			    add_change(m, CLASS_HOST, "chg.name=%s",
			    m->objs[m->nobjs - 1].name) != 0)
				return -1;
		}
	}
	return 0;
}

int
model_host(struct epp_msg *m, xmlNode *obj)
{
	static const struct m_child check[] = {
		{ "name", 1, 100 }, { NULL, 0, 0 }
	};
	static const struct m_child one[] = {
		{ "name", 1, 1 }, { NULL, 0, 0 }
	};
	static const struct m_child create[] = {
		{ "name", 1, 1 }, { "addr", 0, 64 }, { NULL, 0, 0 }
	};
	xmlNode *c;
	int r;

	switch (m->cmd) {
	case EPP_CMD_CHECK:
		r = m_children(m, obj, NS_HOST, check);
		break;
	case EPP_CMD_INFO:
	case EPP_CMD_DELETE:
		r = m_children(m, obj, NS_HOST, one);
		break;
	case EPP_CMD_CREATE:
		r = m_children(m, obj, NS_HOST, create);
		break;
	case EPP_CMD_UPDATE:
		r = 0;
		break;
	default:
		return model_fail(m, "command not defined for hosts");
	}
	if (r != 0)
		return -1;
	/* The target names come first; a rename adds the new one after. */
	for (c = obj->children; c != NULL; c = c->next)
		if (node_is(c, NS_HOST, "name") &&
		    m_obj(m, EPP_OBJ_HOST, c) != 0)
			return -1;
	switch (m->cmd) {
	case EPP_CMD_CREATE:
		if (add_change(m, CLASS_HOST, "create=1") != 0)
			return -1;
		for (c = obj->children; c != NULL; c = c->next)
			if (node_is(c, NS_HOST, "addr") &&
			    addr_line(m, "create", c) != 0)
				return -1;
		return 0;
	case EPP_CMD_DELETE:
		return add_change(m, CLASS_HOST, "delete=1");
	case EPP_CMD_UPDATE:
		return update(m, obj);
	default:
		return 0;
	}
}
