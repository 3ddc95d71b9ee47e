/*
 * epp.h: the EPP message model (RFC 5730).
 *
 * epp_parse() turns one data unit into a parsed message, using libxml2 with
 * no network, no DTD and no entity substitution: a DOCTYPE, an entity or a
 * processing instruction is a syntax error.  Elements are matched by
 * namespace URI, never by prefix.
 */
#ifndef EPPGW_EPP_H
#define EPPGW_EPP_H

#include <stddef.h>
#include <stdint.h>

#define EPP_NS		"urn:ietf:params:xml:ns:epp-1.0"
/* eppgw's own EPP extension: never forwarded, never in a change digest. */
#define EPPGW_EXT_NS	"urn:eppgw:params:xml:ns:eppgw-1.0"

enum epp_kind {
	EPP_KIND_HELLO = 0,
	EPP_KIND_COMMAND,
	EPP_KIND_EXTENSION,	/* <epp><extension>: a protocol extension */
	EPP_KIND_GREETING,
	EPP_KIND_RESPONSE
};

enum epp_cmd {
	EPP_CMD_NONE = 0,
	EPP_CMD_LOGIN,
	EPP_CMD_LOGOUT,
	EPP_CMD_CHECK,
	EPP_CMD_INFO,
	EPP_CMD_POLL,
	EPP_CMD_TRANSFER,
	EPP_CMD_CREATE,
	EPP_CMD_DELETE,
	EPP_CMD_RENEW,
	EPP_CMD_UPDATE
};

enum epp_obj_type {
	EPP_OBJ_NONE = 0,	/* login, logout, poll, hello */
	EPP_OBJ_DOMAIN,
	EPP_OBJ_HOST,
	EPP_OBJ_CONTACT,
	EPP_OBJ_UNKNOWN		/* an object mapping the gateway does not know */
};

struct epp_msg;
struct err;
struct xsd;

/*
 * Bounds on the work one frame may cause.  A frame over any of them is a
 * syntax error, found before or while libxml2 builds the tree, never after
 * a quadratic step: attributes per tag are counted on the raw bytes.
 */
struct epp_limits {
	size_t	max_elements;	/* elements in the document */
	size_t	max_attrs;	/* attributes + namespace declarations per tag */
	size_t	max_ns;		/* namespace declarations in the document */
	size_t	max_depth;	/* element nesting */
	size_t	max_text;	/* bytes in one text node or attribute value */
	size_t	max_ns_uri;	/* bytes in one namespace name */
	size_t	max_unknown;	/* elements judged as "unknown" (commands) */
};
extern const struct epp_limits epp_command_limits;	/* registrar frames */
extern const struct epp_limits epp_reply_limits;	/* registry frames */

/*
 * Parse one registrar data unit: bounded parse, eppgw's own extension
 * removed (only as a direct child of <command><extension>), validated
 * against the schemas x, values rewritten as their schema types read them,
 * then modelled (see epp.c for the steps).  Returns 0 and a message the
 * caller frees with epp_msg_free, or -1 with e filled (err.h): the first
 * reason found, a short fixed text (never a copy of the input: the input
 * may hold secrets), and a code: ERR_PARSE (not EPP), ERR_REFUSED (DOCTYPE,
 * entities, processing instructions, the schemas say no), ERR_LIMIT (a
 * bound), ERR_NOMEM or ERR_INVALID (no schemas).  A greeting or response
 * parses (kind says so) but has no model.
 *
 * cltrid (cltrid_len bytes, may be NULL): on failure, the clTRID of a
 * well-formed <command> when it is a valid one (3-64 characters), so the
 * 2001 reply can echo it (RFC 5730); "" when there is none.
 */
int epp_parse_command(const struct xsd *x, const uint8_t *xml, size_t len,
    struct epp_msg **out, char *cltrid, size_t cltrid_len, struct err *e);
/*
 * Parse one registry greeting or response: bounded parse only (the
 * registrar gets the registry's own bytes, so nothing is rewritten).  -1
 * with e filled as for epp_parse_command.
 */
int epp_parse_reply(const uint8_t *xml, size_t len, struct epp_msg **out,
    struct err *e);
void epp_msg_free(struct epp_msg *m);

enum epp_kind epp_msg_kind(const struct epp_msg *m);
enum epp_cmd epp_msg_cmd(const struct epp_msg *m);
/*
 * Whether m changes nothing at the registry: hello, check, info.  Its
 * audit record need not be durable before it is forwarded
 * (docs/audit-log.md).  Not poll (an ack dequeues a message) nor transfer
 * (a query is one op of the element that also requests one).
 */
int epp_msg_read_only(const struct epp_msg *m);
const char *epp_cmd_name(enum epp_cmd c);

/* The client transaction id, whitespace-collapsed; NULL if absent. */
const char *epp_msg_cltrid(const struct epp_msg *m);
/* <login><clID>, whitespace-collapsed; NULL for other commands. */
const char *epp_msg_login_clid(const struct epp_msg *m);
/* A response's first result code (or -1), its message and svTRID. */
int epp_msg_result_code(const struct epp_msg *m);
const char *epp_msg_result_msg(const struct epp_msg *m);
const char *epp_msg_svtrid(const struct epp_msg *m);

/*
 * A domain:info or host:info response as regstate.h facts ("status=...",
 * "ns=...", "ds=...", "addr=v4:..."): its kind (EPP_OBJ_NONE for any other
 * message), normalised object name and facts, in reply order.
 */
enum epp_obj_type epp_msg_info_kind(const struct epp_msg *m);
const char *epp_msg_info_object(const struct epp_msg *m);
size_t epp_msg_info_nfacts(const struct epp_msg *m);
const char *epp_msg_info_fact(const struct epp_msg *m, size_t i);

/*
 * The command model (DESIGN.md section 4).  The command's name such as
 * "domain:update" ("hello", "login" for those); its object type; the objects
 * it names (normalised, see names.h: for an invalid name the raw text and a
 * status other than NAME_OK); and its changes, one canonical line each
 * ("add.ns=ns1.example.net") with the change classes it belongs to.
 */
const char *epp_msg_name(const struct epp_msg *m);
enum epp_obj_type epp_msg_obj_type(const struct epp_msg *m);
size_t epp_msg_nobjects(const struct epp_msg *m);
const char *epp_msg_object(const struct epp_msg *m, size_t i,
    enum epp_obj_type *type, int *valid);
size_t epp_msg_nchanges(const struct epp_msg *m);
const char *epp_msg_change(const struct epp_msg *m, size_t i, unsigned *cls);
/*
 * Whether change line i ends in "sha256:HEX", a hash of a secret (an
 * authInfo, an unknown element holding a password): a plain hash anyone
 * could test guesses against, so the policy keys it before the line goes
 * into a change digest or a pending change (policy_canonical).
 */
int epp_msg_change_secret(const struct epp_msg *m, size_t i);
/* The union of the classes of all changes. */
unsigned epp_msg_classes(const struct epp_msg *m);
/* Every extension namespace in the command, in document order. */
size_t epp_msg_nextensions(const struct epp_msg *m);
const char *epp_msg_extension(const struct epp_msg *m, size_t i);
/* Whether the command can change registry data (create ... update). */
int epp_msg_mutating(const struct epp_msg *m);

/*
 * The gateway's own serialisation of the tree it judged, which is what is
 * forwarded (the tree is not changed after the model is built).  The
 * caller frees *out with free().  -1 on failure.
 */
int epp_msg_serialise(const struct epp_msg *m, uint8_t **out, size_t *len);

/*
 * The XML with every pw, newPW and everything under any authInfo replaced by
 * "REDACTED", in any namespace: for logs, audit records and alerts.
 */
int epp_msg_redacted(const struct epp_msg *m, char **out, size_t *len);

/* Called once by a program before any parsing (quietens libxml2). */
void epp_init(void);

#endif
