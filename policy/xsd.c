/*
 * xsd.c: the EPP schemas, compiled once (see xsd.h).
 *
 * libxml2 resolves <import schemaLocation> through its external entity
 * loader, a process-wide hook.  It is replaced only for the duration of one
 * compilation, by a loader that serves the built-in and operator files by
 * file name and refuses everything else, so compiling can never read a file
 * or the network.  Validation itself loads nothing: with a compiled schema,
 * libxml2 ignores xsi:schemaLocation hints in the instance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>

#include "err.h"
#include "xsd.h"

#define XS_NS		"http://www.w3.org/2001/XMLSchema"
#define SCHEME		"eppgw-xsd:"
#define MAX_SOURCES	64

/* The built-in files, in an order where every import by namespace only
 * finds its namespace already loaded. */
static const char *const builtin_order[] = {
	"eppcom-1.0.xsd", "epp-1.0.xsd", "host-1.0.xsd", "contact-1.0.xsd",
	"domain-1.0.xsd", "secDNS-1.0.xsd", "secDNS-1.1.xsd", "rgp-1.0.xsd",
};

struct source {
	char		*name;		/* file name */
	char		*ns;		/* targetNamespace */
	const char	*data;		/* as given (not owned) */
	size_t		 len;
	xmlChar		*served;	/* the variant being compiled */
	int		 served_len;
};

struct xsd {
	xmlSchemaPtr	 strict, lax;
	struct source	 src[MAX_SOURCES];
	size_t		 nsrc;
};

/* What the loader serves during one compilation (see the top comment). */
static const struct xsd *compiling;

static void
quiet_structured(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* Keep the first error of a compilation for the operator. */
struct first_err {
	char	msg[200];
	int	set;
};

static void
keep_first(void *ctx, xmlErrorPtr e)
{
	struct first_err *fe = ctx;
	size_t n;

	if (fe->set || e == NULL || e->level < XML_ERR_ERROR)
		return;
	snprintf(fe->msg, sizeof(fe->msg), "%s%s%s",
	    e->file ? e->file : "", e->file ? ": " : "",
	    e->message ? e->message : "schema error");
	n = strlen(fe->msg);
	while (n > 0 && (fe->msg[n - 1] == '\n' || fe->msg[n - 1] == ' '))
		fe->msg[--n] = '\0';
	fe->set = 1;
}

static const char *
base_name(const char *url)
{
	const char *p = strrchr(url, '/'), *q = strrchr(url, ':');

	if (q != NULL && (p == NULL || q > p))
		p = q;
	return p != NULL ? p + 1 : url;
}

static xmlParserInputPtr
loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	xmlParserInputBufferPtr buf;
	const char *name;

	(void)id;
	if (compiling == NULL || url == NULL)
		return NULL;
	name = base_name(url);
	for (size_t i = 0; i < compiling->nsrc; i++) {
		const struct source *s = &compiling->src[i];

		if (strcmp(s->name, name) != 0)
			continue;
		buf = xmlParserInputBufferCreateMem((const char *)s->served,
		    s->served_len, XML_CHAR_ENCODING_NONE);
		if (buf == NULL)
			return NULL;
		return xmlNewIOInputStream(ctxt, buf, XML_CHAR_ENCODING_NONE);
	}
	return NULL;	/* nothing else, ever */
}

static xmlDocPtr
read_schema(const char *data, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	return xmlReadMemory(data, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int
is_xs(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, BAD_CAST XS_NS) &&
	    xmlStrEqual(n->name, BAD_CAST name);
}

/*
 * The edits of a variant (see xsd.h): wildcards made lax (lax set only),
 * and the length facets of epp:pwType dropped.
 */
static void
edit(xmlNode *n, int lax, int in_pwtype)
{
	xmlNode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (lax && is_xs(n, "any") &&
		    xmlHasProp(n, BAD_CAST "processContents") == NULL)
			xmlSetProp(n, BAD_CAST "processContents", BAD_CAST "lax");
		if (in_pwtype && (is_xs(n, "minLength") ||
		    is_xs(n, "maxLength"))) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
			continue;
		}
		if (is_xs(n, "simpleType")) {
			xmlChar *name = xmlGetNoNsProp(n, BAD_CAST "name");
			int pw = name != NULL &&
			    xmlStrEqual(name, BAD_CAST "pwType");

			xmlFree(name);
			edit(n->children, lax, pw);
			continue;
		}
		edit(n->children, lax, in_pwtype);
	}
}

/* Prepare what the loader serves for one variant. */
static int
serve(struct xsd *x, int lax)
{
	for (size_t i = 0; i < x->nsrc; i++) {
		struct source *s = &x->src[i];
		xmlDocPtr doc;

		xmlFree(s->served);
		s->served = NULL;
		if ((doc = read_schema(s->data, s->len)) == NULL)
			return -1;
		if (strcmp(s->name, "epp-1.0.xsd") == 0 ||
		    strcmp(s->name, "eppcom-1.0.xsd") == 0)
			edit(xmlDocGetRootElement(doc), lax, 0);
		xmlDocDumpMemoryEnc(doc, &s->served, &s->served_len, "UTF-8");
		xmlFreeDoc(doc);
		if (s->served == NULL)
			return -1;
	}
	return 0;
}

/* An in-memory schema that imports every source, in order. */
static xmlChar *
index_doc(const struct xsd *x, int *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, imp;
	xmlNsPtr ns;
	xmlChar *out = NULL;
	char loc[300];

	if (doc == NULL)
		return NULL;
	if ((root = xmlNewDocNode(doc, NULL, BAD_CAST "schema", NULL)) ==
	    NULL)
		goto out;
	xmlDocSetRootElement(doc, root);
	if ((ns = xmlNewNs(root, BAD_CAST XS_NS, NULL)) == NULL)
		goto out;
	xmlSetNs(root, ns);
	for (size_t i = 0; i < x->nsrc; i++) {
		snprintf(loc, sizeof(loc), SCHEME "%s", x->src[i].name);
		if ((imp = xmlNewChild(root, ns, BAD_CAST "import", NULL)) ==
		    NULL)
			goto out;
		xmlSetProp(imp, BAD_CAST "namespace", BAD_CAST x->src[i].ns);
		xmlSetProp(imp, BAD_CAST "schemaLocation", BAD_CAST loc);
	}
	xmlDocDumpMemoryEnc(doc, &out, len, "UTF-8");
out:
	xmlFreeDoc(doc);
	return out;
}

static xmlSchemaPtr
compile(struct xsd *x, int lax, struct err *e)
{
	xmlExternalEntityLoader saved;
	xmlSchemaParserCtxtPtr pc = NULL;
	xmlSchemaPtr schema = NULL;
	struct first_err fe = { "", 0 };
	xmlChar *idx = NULL;
	int idxlen = 0;

	if (serve(x, lax) != 0 || (idx = index_doc(x, &idxlen)) == NULL) {
		err_set(e, ERR_NOMEM, "schemas: cannot prepare the schema set");
		return NULL;
	}
	saved = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(loader);
	compiling = x;
	if ((pc = xmlSchemaNewMemParserCtxt((const char *)idx, idxlen)) !=
	    NULL) {
		xmlSchemaSetParserStructuredErrors(pc, keep_first, &fe);
		schema = xmlSchemaParse(pc);
		xmlSchemaFreeParserCtxt(pc);
	}
	compiling = NULL;
	xmlSetExternalEntityLoader(saved);
	xmlFree(idx);
	for (size_t i = 0; i < x->nsrc; i++) {
		xmlFree(x->src[i].served);
		x->src[i].served = NULL;
	}
	if (schema == NULL)
		err_set(e, ERR_INVALID, "schemas: %s",
		    fe.set ? fe.msg : "cannot compile");
	return schema;
}

static int
add_source(struct xsd *x, const char *name, const char *data, size_t len,
    struct err *e)
{
	struct source *s;
	xmlDocPtr doc;
	xmlNode *root;
	xmlChar *tns;

	if (x->nsrc == MAX_SOURCES)
		return err_set(e, ERR_LIMIT, "schemas: more than %d files",
		    MAX_SOURCES);
	for (size_t i = 0; i < x->nsrc; i++)
		if (strcmp(x->src[i].name, name) == 0)
			return err_set(e, ERR_INVALID,
			    "schemas: %s: a schema of that "
			    "file name is already loaded", name);
	if ((doc = read_schema(data, len)) == NULL)
		return err_set(e, ERR_PARSE, "schemas: %s: not well-formed XML",
		    name);
	root = xmlDocGetRootElement(doc);
	tns = root != NULL && is_xs(root, "schema") ?
	    xmlGetNoNsProp(root, BAD_CAST "targetNamespace") : NULL;
	xmlFreeDoc(doc);
	if (tns == NULL || *tns == '\0') {
		xmlFree(tns);
		return err_set(e, ERR_INVALID,
		    "schemas: %s: not an XML schema with a "
		    "targetNamespace", name);
	}
	for (size_t i = 0; i < x->nsrc; i++)
		if (strcmp(x->src[i].ns, (const char *)tns) == 0) {
			err_set(e, ERR_INVALID, "schemas: %s: namespace %.100s "
			    "already has a schema (%s)", name,
			    (const char *)tns, x->src[i].name);
			xmlFree(tns);
			return -1;
		}
	s = &x->src[x->nsrc];
	s->name = strdup(name);
	s->ns = strdup((const char *)tns);
	xmlFree(tns);
	s->data = data;
	s->len = len;
	if (s->name == NULL || s->ns == NULL) {
		free(s->name);
		free(s->ns);
		return err_set(e, ERR_NOMEM, "schemas: out of memory");
	}
	x->nsrc++;
	return 0;
}

struct xsd *
xsd_new(const struct xsd_file *extra, size_t nextra, struct err *e)
{
	struct xsd *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		err_set(e, ERR_NOMEM, "schemas: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(builtin_order) / sizeof(*builtin_order);
	    i++) {
		const struct xsd_builtin *b;

		for (b = xsd_builtins; b->name != NULL; b++)
			if (strcmp(b->name, builtin_order[i]) == 0)
				break;
		if (b->name == NULL) {
			err_set(e, ERR_INVALID, "schemas: built-in %s missing",
			    builtin_order[i]);
			goto fail;
		}
		if (add_source(x, b->name, b->data, b->len, e) != 0)
			goto fail;
	}
	for (size_t i = 0; i < nextra; i++) {
		const char *name = base_name(extra[i].name);

		if (add_source(x, name, extra[i].data, extra[i].len, e) != 0)
			goto fail;
	}
	if ((x->strict = compile(x, 0, e)) == NULL ||
	    (x->lax = compile(x, 1, e)) == NULL)
		goto fail;
	/* The sources were only needed to compile. */
	for (size_t i = 0; i < x->nsrc; i++) {
		x->src[i].data = NULL;
		x->src[i].len = 0;
	}
	return x;
fail:
	xsd_free(x);
	return NULL;
}

void
xsd_free(struct xsd *x)
{
	if (x == NULL)
		return;
	if (x->strict != NULL)
		xmlSchemaFree(x->strict);
	if (x->lax != NULL)
		xmlSchemaFree(x->lax);
	for (size_t i = 0; i < x->nsrc; i++) {
		free(x->src[i].name);
		free(x->src[i].ns);
		xmlFree(x->src[i].served);
	}
	free(x);
}

int
xsd_knows(const struct xsd *x, const char *ns_uri)
{
	for (size_t i = 0; i < x->nsrc; i++)
		if (strcmp(x->src[i].ns, ns_uri) == 0)
			return 1;
	return 0;
}

size_t
xsd_count(const struct xsd *x)
{
	return x->nsrc;
}

const char *
xsd_namespace(const struct xsd *x, size_t i)
{
	return i < x->nsrc ? x->src[i].ns : NULL;
}

/*
 * Whether every element under n is in a namespace the set describes.  Most
 * elements share a few xmlNs structs: remember the last one that passed.
 */
static int
all_known(const struct xsd *x, const xmlNode *n, const xmlNs **last)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns == NULL)
			return 0;
		if (n->ns != *last) {
			if (!xsd_knows(x, (const char *)n->ns->href))
				return 0;
			*last = n->ns;
		}
		if (!all_known(x, n->children, last))
			return 0;
	}
	return 1;
}

int
xsd_validate(const struct xsd *x, xmlDocPtr doc, struct err *e)
{
	xmlSchemaValidCtxtPtr vc;
	const xmlNs *last = NULL;
	int r;

	vc = xmlSchemaNewValidCtxt(all_known(x, xmlDocGetRootElement(doc),
	    &last) ? x->strict : x->lax);
	if (vc == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	/* Messages would quote the document: a password, say.  None kept. */
	xmlSchemaSetValidStructuredErrors(vc, quiet_structured, NULL);
	r = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	if (r > 0)
		return err_set(e, ERR_REFUSED,
		    "not valid against the EPP schemas");
	if (r < 0)
		return err_set(e, ERR_PARSE, "schema validation failed");
	return 0;
}
