/*
 * records.h: the audit records a session writes (DESIGN.md section 5,
 * docs/audit-log.md).  Each function returns the record's own fields as a
 * new JSON object for audit_submit(), which adds v, seq, ts, t and prev.
 * Nothing secret goes in: the XML is the redacted serialisation.
 */
#ifndef EPPGW_RECORDS_H
#define EPPGW_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct epp_msg;
struct verdict;

/* Who is on the other end of a session. */
struct rec_session {
	uint64_t	 id;
	const char	*peer;
	const char	*principal;	/* NULL before identification */
	const char	*cert;		/* SHA-256 fingerprint, hex */
	const char	*clid;		/* logged-in clID or NULL */
};

json_t *rec_session_open(const struct rec_session *rs);
json_t *rec_session_close(const struct rec_session *rs, const char *why,
    uint64_t ncmds);

/*
 * A command.  m is NULL when the frame did not parse (then why says so and
 * frame_mac, audit_frame_mac of the data unit, identifies the bytes); v is
 * NULL when nothing was judged.
 */
json_t *rec_cmd(const struct rec_session *rs, const struct epp_msg *m,
    const struct verdict *v, const char *decision, const char *reason,
    const char *approver, const char *frame_mac);

/*
 * The outcome of the session's command: from the registry or the gateway.
 * Without req: the audit writer fills in the command record's seq
 * (auditlink_submit_ref), which may not be known yet.
 */
json_t *rec_rsp(const struct rec_session *rs, const char *src,
    int code, const char *msg, const char *cltrid, const char *svtrid,
    uint64_t rtt_us);

#endif
