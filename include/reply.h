/*
 * reply.h: EPP responses the gateway writes itself (DESIGN.md section 5).
 *
 * Each carries the result code, the RFC 5730 message for it, the client's
 * clTRID when there was one, an svTRID starting "eppgw-", and a stable reason
 * token in <extValue><reason>.  Nothing from the request other than the
 * (escaped) clTRID is ever copied into a reply.
 */
#ifndef EPPGW_REPLY_H
#define EPPGW_REPLY_H

#include <stddef.h>

/*
 * Write a complete EPP XML document (no frame header) into a new buffer.
 * reason is a token from the contract (e.g. "upstream_unavailable"); detail
 * is optional extra text appended to it (e.g. a change id).  Returns the
 * buffer (caller frees) and its length in *len, or NULL.
 */
char *reply_build(int code, const char *reason, const char *detail,
    const char *cltrid, const char *svtrid, size_t *len);

/* The RFC 5730 section 3 message for a result code. */
const char *reply_code_msg(int code);

#endif
