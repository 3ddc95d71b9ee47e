/*
 * xsd.h: the EPP XML schemas, compiled once, and validation against them.
 *
 * A registry that validates its input reads a command the way the schemas
 * say; the gateway must read it the same way, so every registrar command is
 * validated before it is judged (DESIGN.md section 3).  The RFC schemas are
 * built into the binary (policy/schemas/: epp, eppcom, domain, host,
 * contact, secDNS 1.0 and 1.1, rgp); an operator may add the schemas of
 * their registry's own extensions.
 *
 * Two compiled sets share those sources:
 *  - strict: the schemas as published.  A command whose every element is in
 *    a namespace with a schema is validated with it, exactly as a
 *    validating registry would.
 *  - lax: the same, with every <any> wildcard of epp-1.0 and eppcom-1.0 made
 *    processContents="lax", for a command that carries an element of a
 *    namespace no schema describes (a registry extension without its XSD):
 *    everything with a declaration is still validated, the unknown element
 *    is not, and the command model sends it to class "unknown".
 * Both relax one facet, the 6-16 character length of epp:pwType: many
 * registries accept longer login passwords (RFC 8807), and a password's
 * length changes nothing the gateway judges.
 *
 * Nothing is ever fetched: schema imports resolve only to the built-in
 * files and the operator's files, by file name.
 */
#ifndef EPPGW_XSD_H
#define EPPGW_XSD_H

#include <stddef.h>

#include <libxml/tree.h>

struct err;
struct xsd;

/* An operator's extension schema, already read into memory. */
struct xsd_file {
	const char	*name;		/* file name, for imports and errors */
	const char	*data;
	size_t		 len;
};

/*
 * Compile the built-in schemas plus the extra ones.  NULL on failure, with
 * e filled, "schemas: ..." (names the file that failed, never its
 * content).
 */
struct xsd *xsd_new(const struct xsd_file *extra, size_t nextra,
    struct err *e);
void xsd_free(struct xsd *x);

/* Whether some schema of the set has this target namespace. */
int xsd_knows(const struct xsd *x, const char *ns_uri);

/*
 * Validate doc: with the strict set when every element's namespace is
 * known (xsd_knows), else with the lax set.  0 valid; -1 with e filled
 * with a short fixed reason (never text from the document): ERR_REFUSED
 * when the document is not valid, ERR_NOMEM or ERR_PARSE when it could
 * not be checked.
 */
int xsd_validate(const struct xsd *x, xmlDocPtr doc, struct err *e);

/* The target namespaces of the set, for -T and logs. */
size_t xsd_count(const struct xsd *x);
const char *xsd_namespace(const struct xsd *x, size_t i);

/* The built-in schema files (generated from policy/schemas/). */
struct xsd_builtin {
	const char	*name;
	const char	*data;
	size_t		 len;
};
extern const struct xsd_builtin xsd_builtins[];

#endif
