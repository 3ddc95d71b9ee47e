/*
 * pipeline.h: one registrar command through parse, validation and judging,
 * with no sockets, no clock and no state: the part of a session that
 * decides what happens to a frame.
 *
 * The session (gateway/worker/session.c) adds what needs the world around it: the
 * login clID check against the certificate's principal, approval tickets,
 * the audit record, and the bytes on the wire.  What this returns in fwd is
 * exactly what the registry gets: the serialisation of the tree that was
 * judged.
 */
#ifndef EPPGW_PIPELINE_H
#define EPPGW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "epp.h"
#include "err.h"
#include "policy.h"

struct regstate;
struct xsd;

enum pipe_action {
	PIPE_FORWARD = 0,	/* send fwd to the registry */
	PIPE_APPROVAL,		/* protected: send fwd only with a ticket */
	PIPE_REPLY		/* answer code/token ourselves; forward nothing */
};

struct pipe_out {
	enum pipe_action action;
	struct epp_msg	*msg;		/* owned; NULL when unparsable */
	int		 judged;	/* v is filled */
	struct verdict	 v;
	int		 code;		/* PIPE_REPLY: 2001 */
	const char	*token;		/* PIPE_REPLY: "syntax" */
	const char	*why;		/* PIPE_REPLY: for logs and the record */
	uint8_t		*fwd;		/* PIPE_FORWARD, PIPE_APPROVAL */
	size_t		 fwd_len;
	char		 cltrid[65];	/* to echo; "" when there is none */
	/* Why the parse failed (why then points at its message).  Last,
	 * and left out of the clearing: it is read only once filled. */
	struct err	 err;
};

/*
 * Run one command (the frame's payload) through the pipeline, judged as
 * clID clid (for a login, its own clID) with what rs (may be NULL) says of
 * the registry.  When out->v.need_state is set, ask the registry about
 * that domain and run the command again (policy.h).  0 with *out filled (free with
 * pipe_out_clear); -1 only when out of memory: then fail closed.
 */
int pipeline_judge(const struct xsd *x, const struct policy *p,
    const struct regstate *rs, const char *clid, const uint8_t *xml,
    size_t len, struct pipe_out *out);
void pipe_out_clear(struct pipe_out *out);

#endif
