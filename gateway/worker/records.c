/*
 * records.c: build the session's audit records (see records.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "change.h"
#include "epp.h"
#include "policy.h"
#include "records.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Who: the same fields in every record of a session. */
static void
add_session(json_t *o, const struct rec_session *rs)
{
	json_object_set_new(o, "sess", json_integer((json_int_t)rs->id));
	json_object_set_new(o, "principal", str_or_null(rs->principal));
	json_object_set_new(o, "clid", str_or_null(rs->clid));
}

json_t *
rec_session_open(const struct rec_session *rs)
{
	json_t *o = json_object();

	add_session(o, rs);
	json_object_set_new(o, "peer", str_or_null(rs->peer));
	json_object_set_new(o, "cert", str_or_null(rs->cert));
	json_object_set_new(o, "event", json_string("open"));
	return o;
}

json_t *
rec_session_close(const struct rec_session *rs, const char *why,
    uint64_t ncmds)
{
	json_t *o = json_object();

	add_session(o, rs);
	json_object_set_new(o, "event", json_string("close"));
	json_object_set_new(o, "why", json_string(why));
	json_object_set_new(o, "commands", json_integer((json_int_t)ncmds));
	return o;
}

json_t *
rec_cmd(const struct rec_session *rs, const struct epp_msg *m,
    const struct verdict *v, const char *decision, const char *reason,
    const char *approver, const char *frame_mac)
{
	json_t *o = json_object(), *objs = json_array();
	char *red = NULL;
	size_t len;

	add_session(o, rs);
	json_object_set_new(o, "cert", str_or_null(rs->cert));
	json_object_set_new(o, "decision", json_string(decision));
	json_object_set_new(o, "reason", str_or_null(reason));
	json_object_set_new(o, "approver", str_or_null(approver));
	/* Ties the record to the exact bytes received (audit_frame_mac). */
	json_object_set_new(o, "frame_mac", str_or_null(frame_mac));
	if (m == NULL) {
		json_object_set_new(o, "cmd", json_null());
		json_object_set_new(o, "objects", objs);
		json_object_set_new(o, "classes", json_array());
		json_object_set_new(o, "cltrid", json_null());
		json_object_set_new(o, "xml", json_null());
		json_object_set_new(o, "change_id", json_null());
		return o;
	}
	json_object_set_new(o, "cmd", json_string(epp_msg_name(m)));
	json_object_set_new(o, "cltrid", str_or_null(epp_msg_cltrid(m)));
	for (size_t i = 0; i < epp_msg_nobjects(m); i++)
		json_array_append_new(objs,
		    json_string(epp_msg_object(m, i, NULL, NULL)));
	json_object_set_new(o, "objects", objs);
	json_object_set_new(o, "classes", change_classes_json(v ? (v->classes ?
	    v->classes : v->all_classes) : epp_msg_classes(m)));
	json_object_set_new(o, "change_id", v ? json_string(v->change_id) :
	    json_null());
	json_object_set_new(o, "locked_by", v && v->locked_by[0] ?
	    json_string(v->locked_by) : json_null());
	if (epp_msg_redacted(m, &red, &len) == 0)
		json_object_set_new(o, "xml", json_stringn(red, len));
	else
		json_object_set_new(o, "xml", json_null());
	free(red);
	return o;
}

json_t *
rec_rsp(const struct rec_session *rs, const char *src,
    int code, const char *msg, const char *cltrid, const char *svtrid,
    uint64_t rtt_us)
{
	json_t *o = json_object();

	add_session(o, rs);
	json_object_set_new(o, "src", json_string(src));
	json_object_set_new(o, "code", code >= 0 ? json_integer(code) :
	    json_null());
	json_object_set_new(o, "msg", str_or_null(msg));
	json_object_set_new(o, "cltrid", str_or_null(cltrid));
	json_object_set_new(o, "svtrid", str_or_null(svtrid));
	json_object_set_new(o, "rtt_us", json_integer((json_int_t)rtt_us));
	return o;
}
