/*
 * pipeline.c: parse -> validate -> judge -> serialise (see pipeline.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epp.h"
#include "pipeline.h"
#include "policy.h"

static void
refuse(struct pipe_out *out, const char *why)
{
	out->action = PIPE_REPLY;
	out->code = 2001;
	out->token = "syntax";
	out->why = why;
}

int
pipeline_judge(const struct xsd *x, const struct policy *p,
    const struct regstate *rs, const char *clid, const uint8_t *xml,
    size_t len, struct pipe_out *out)
{
	struct epp_msg *m = NULL;

	/* out->err is filled before it is read: clearing it would cost
	 * every command its 256 bytes. */
	memset(out, 0, offsetof(struct pipe_out, err));
	/* Even a refused command gets its clTRID back (RFC 5730). */
	if (epp_parse_command(x, xml, len, &m, out->cltrid,
	    sizeof(out->cltrid), &out->err) != 0) {
		refuse(out, err_msg(&out->err));
		return 0;
	}
	out->msg = m;
	if (epp_msg_cltrid(m) != NULL)
		snprintf(out->cltrid, sizeof(out->cltrid), "%s",
		    epp_msg_cltrid(m));
	switch (epp_msg_kind(m)) {
	case EPP_KIND_HELLO:
		break;		/* nothing to judge */
	case EPP_KIND_COMMAND:
	case EPP_KIND_EXTENSION:
		if (epp_msg_cmd(m) == EPP_CMD_LOGIN)
			clid = epp_msg_login_clid(m);
		if (policy_judge(p, rs, m, clid ? clid : "", &out->v) != 0)
			goto nomem;
		out->judged = 1;
		if (out->v.decision == DECISION_REJECT) {
			refuse(out, out->v.reason);
			return 0;
		}
		if (out->v.decision == DECISION_APPROVAL)
			out->action = PIPE_APPROVAL;
		break;
	default:
		refuse(out, "not a command");
		return 0;
	}
	if (epp_msg_serialise(m, &out->fwd, &out->fwd_len) != 0)
		goto nomem;
	return 0;
nomem:
	pipe_out_clear(out);
	return -1;
}

void
pipe_out_clear(struct pipe_out *out)
{
	if (out->judged)
		verdict_clear(&out->v);
	epp_msg_free(out->msg);
	free(out->fwd);
	memset(out, 0, sizeof(*out));
}
