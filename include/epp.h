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

struct epp_msg;

/*
 * Parse len bytes of XML.  Returns 0 and a message the caller frees with
 * epp_msg_free, or -1 with a short static reason in *why (never a copy of
 * the input: the input may hold secrets).
 */
int epp_parse(const uint8_t *xml, size_t len, struct epp_msg **out,
    const char **why);
void epp_msg_free(struct epp_msg *m);

enum epp_kind epp_msg_kind(const struct epp_msg *m);
enum epp_cmd epp_msg_cmd(const struct epp_msg *m);
const char *epp_cmd_name(enum epp_cmd c);

/* The client transaction id, whitespace-collapsed; NULL if absent. */
const char *epp_msg_cltrid(const struct epp_msg *m);
/* <login><clID>, whitespace-collapsed; NULL for other commands. */
const char *epp_msg_login_clid(const struct epp_msg *m);
/* A response's first result code, or -1. */
int epp_msg_result_code(const struct epp_msg *m);

/* Called once by a program before any parsing (quietens libxml2). */
void epp_init(void);

#endif
