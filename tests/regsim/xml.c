/*
 * xml.c: namespace-aware helpers over libxml2 trees.
 *
 * Elements are always matched by namespace URI and local name, never by
 * prefix: a client may bind any prefix (or the default namespace) to an
 * EPP namespace, and a prefix alone proves nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "regsim.h"

int
regsim_xml_is(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return 0;
	if (n->ns == NULL || n->ns->href == NULL)
		return 0;
	return strcmp((const char *)n->ns->href, ns) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr
regsim_xml_first(xmlNodePtr parent)
{
	xmlNodePtr n;

	if (parent == NULL)
		return NULL;
	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

xmlNodePtr
regsim_xml_next(xmlNodePtr n)
{
	for (n = n->next; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

xmlNodePtr
regsim_xml_child(xmlNodePtr parent, const char *ns, const char *name)
{
	for (xmlNodePtr n = regsim_xml_first(parent); n != NULL;
	    n = regsim_xml_next(n))
		if (regsim_xml_is(n, ns, name))
			return n;
	return NULL;
}

static char *
trim_dup(const char *s)
{
	const char *end;
	char *out;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if ((out = malloc((size_t)(end - s) + 1)) == NULL)
		return NULL;
	memcpy(out, s, (size_t)(end - s));
	out[end - s] = '\0';
	return out;
}

char *
regsim_xml_text(const xmlNode *n)
{
	xmlChar *content = xmlNodeGetContent(n);
	char *out;

	out = trim_dup(content != NULL ? (const char *)content : "");
	xmlFree(content);
	return out;
}

char *
regsim_xml_child_text(xmlNodePtr parent, const char *ns, const char *name)
{
	xmlNodePtr n = regsim_xml_child(parent, ns, name);

	return n != NULL ? regsim_xml_text(n) : NULL;
}

char *
regsim_xml_attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *out;

	if (v == NULL)
		return NULL;
	out = trim_dup((const char *)v);
	xmlFree(v);
	return out;
}

/* xs:boolean: "true", "1", "false", "0".  -1 for anything else. */
int
regsim_xml_bool(const char *s, int *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* A decimal without sign or junk, at most max.  -1 when it is not one. */
int
regsim_xml_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Add a child in the parent's namespace, with text (escaped) if not NULL. */
xmlNodePtr
regsim_xml_add(xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr n;

	if (parent == NULL)
		return NULL;
	n = xmlNewChild(parent, parent->ns, (const xmlChar *)name, NULL);
	if (n != NULL && text != NULL)
		xmlNodeAddContent(n, (const xmlChar *)text);
	return n;
}

void
regsim_xml_time(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.0Z", &tm);
}
