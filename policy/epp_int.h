/*
 * epp_int.h: the inside of struct epp_msg, shared by the files that build
 * it (epp.c: the document and envelope; model*.c: the command model).
 * Nothing outside policy/epp*.c and policy/model*.c includes this.
 */
#ifndef EPPGW_EPP_INT_H
#define EPPGW_EPP_INT_H

#include <libxml/tree.h>

#include "epp.h"
#include "names.h"

#define NS_DOMAIN	"urn:ietf:params:xml:ns:domain-1.0"
#define NS_HOST		"urn:ietf:params:xml:ns:host-1.0"
#define NS_CONTACT	"urn:ietf:params:xml:ns:contact-1.0"
#define NS_SECDNS11	"urn:ietf:params:xml:ns:secDNS-1.1"
#define NS_SECDNS10	"urn:ietf:params:xml:ns:secDNS-1.0"
#define NS_RGP		"urn:ietf:params:xml:ns:rgp-1.0"

/*
 * Most change lines, objects or extensions of one message: a command has
 * at most epp_command_limits.max_elements (1024) elements, and each gives
 * a line or two at most.
 */
#define MODEL_ITEMS_MAX	65536

struct epp_obj {
	enum epp_obj_type type;
	char		 *name;		/* normalised (or raw when invalid) */
	enum name_status  st;
};

struct epp_line {
	char		*text;
	unsigned	 cls;		/* enum change_class bits, 0 if none */
	int		 secret;	/* ends in "sha256:HEX" of a secret */
};

struct epp_msg {
	xmlDocPtr	 doc;
	enum epp_kind	 kind;
	enum epp_cmd	 cmd;
	enum epp_obj_type otype;
	char		 cmdname[40];	/* "domain:update", "login", "hello" */
	char		*cltrid;
	char		*login_clid;

	struct epp_obj	*objs;
	size_t		 nobjs, capobjs;
	struct epp_line	*lines;
	size_t		 nlines, caplines;
	char		**exts;		/* extension namespace URIs */
	size_t		 nexts, capexts;

	int		 result_code;
	char		*result_msg;
	char		*svtrid;

	/* A domain:info or host:info response as facts (regstate.h). */
	enum epp_obj_type info_kind;
	char		*info_fname;	/* normalised object name */
	char		**info_facts;
	size_t		 info_nfacts, info_capfacts;

	const char	*why;		/* set by model_fail() */

	/* What unknown() has produced, against the command's limits. */
	size_t		 frame_len;
	unsigned	 nunknown;
	size_t		 unknown_bytes;
};

/* Helpers for the model builders (model.c). */
int model_build(struct epp_msg *m, xmlNode *verb);
int model_extension(struct epp_msg *m, xmlNode *ext);

/* Whether n is an element in namespace ns named name (any name if NULL). */
int node_is(const xmlNode *n, const char *ns, const char *name);
/* The text of an element (or attribute) as xs:token reads it: joined,
 * trimmed, inner white space collapsed; the tree is left alone.  Caller
 * frees. */
char *xs_token(const xmlNode *n);
/*
 * The same for a command field the model judges, and the element rewritten
 * in the tree to hold exactly that text (epp.c, step 5): what is forwarded
 * says literally what was judged.  Caller frees; NULL when out of memory.
 */
char *m_token(xmlNode *n);
/* An unqualified attribute, collapsed and rewritten likewise; the value
 * lives in the tree.  NULL when absent (or out of memory). */
const char *m_token_attr(xmlNode *n, const xmlChar *name);
/* An xs:normalizedString (a password): tabs and line ends read as
 * spaces, nothing trimmed, nothing rewritten.  Caller frees. */
char *m_normalized(const xmlNode *n);
/* Record an extension namespace the command carries. */
int m_ext_uri(struct epp_msg *m, const xmlChar *uri);
/* Append one change line (epp_msg_change) in change classes cls. */
int add_change(struct epp_msg *m, unsigned cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark the last change line as ending in the hash of a secret (policy.h
 * keys it before it enters a change digest). */
void mark_change_secret(struct epp_msg *m);
int m_obj(struct epp_msg *m, enum epp_obj_type t, xmlNode *n);
int m_c14n(struct epp_msg *m, const xmlNode *n, char **out);
int m_addr(struct epp_msg *m, xmlNode *a, char *out, size_t len);
int m_is_secret(const xmlNode *n);
/* Replace every secret under n and its siblings with "REDACTED". */
void m_redact(xmlNode *n);
/* Whether n or anything under it is what m_redact() replaces. */
int m_has_secret(const xmlNode *n);
/* Record why the model refuses the message (the first reason stays in
 * m->why) and return -1. */
int model_fail(struct epp_msg *m, const char *why);

/* An allowed child: local name, minimum and maximum count. */
struct m_child {
	const char	*name;
	unsigned	 min, max;
};
/* Every element child of parent is in ns and listed, with valid counts. */
int m_children(struct epp_msg *m, const xmlNode *parent, const char *ns,
    const struct m_child *allowed);

int model_domain(struct epp_msg *m, xmlNode *obj);
int model_host(struct epp_msg *m, xmlNode *obj);
int model_contact(struct epp_msg *m, xmlNode *obj);
int model_secdns(struct epp_msg *m, xmlNode *ext);
int model_rgp(struct epp_msg *m, xmlNode *ext);

#endif
