/*
 * reply.c: the gateway's own EPP responses (see reply.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epp.h"
#include "reply.h"

static const struct {
	int		 code;
	const char	*msg;
} messages[] = {
	{ 2001, "Command syntax error" },
	{ 2200, "Authentication error" },
	{ 2201, "Authorization error" },
	{ 2304, "Object status prohibits operation" },
	{ 2400, "Command failed" },
	{ 2500, "Command failed; server closing connection" },
};

const char *
reply_code_msg(int code)
{
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
		if (messages[i].code == code)
			return messages[i].msg;
	return "Command failed";
}

/* XML-escape s into out (at most outlen bytes, always terminated). */
static void
escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0'; s++) {
		const char *rep = NULL;
		char one[2] = { *s, '\0' };

		switch (*s) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default:
			/* Control characters cannot appear in XML 1.0. */
			rep = (unsigned char)*s < 0x20 ? "" : one;
		}
		size_t n = strlen(rep);
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, rep, n);
		o += n;
	}
	out[o] = '\0';
}

char *
reply_build(int code, const char *reason, const char *detail,
    const char *cltrid, const char *svtrid, size_t *len)
{
	char trid[64 * 6 + 1], rsn[256], clt[64 * 6 + 64 + 1];
	char *buf;
	int n;
	static const char fmt[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">"
	    "<response><result code=\"%d\"><msg>%s</msg>"
	    "<extValue><value><eppgw:reason xmlns:eppgw=\"" EPPGW_EXT_NS "\">"
	    "%s</eppgw:reason></value><reason>%s</reason></extValue>"
	    "</result><trID>%s<svTRID>%s</svTRID></trID></response></epp>\n";

	/* clTRID is at most 64 characters (RFC 5730 trIDStringType). */
	escape(cltrid, trid, sizeof(trid));
	snprintf(rsn, sizeof(rsn), "%s%s%s", reason, detail ? " " : "",
	    detail ? detail : "");
	if (cltrid != NULL && trid[0] != '\0')
		snprintf(clt, sizeof(clt), "<clTRID>%s</clTRID>", trid);
	else
		clt[0] = '\0';
	n = snprintf(NULL, 0, fmt, code, reply_code_msg(code), reason, rsn,
	    clt, svtrid);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL)
		return NULL;
	snprintf(buf, (size_t)n + 1, fmt, code, reply_code_msg(code), reason,
	    rsn, clt, svtrid);
	*len = (size_t)n;
	return buf;
}
