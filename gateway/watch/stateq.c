/*
 * stateq.c: answers about registry truth for the admin API (stateq.h).
 */
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "policy.h"
#include "regstate.h"
#include "stateq.h"
#include "watch.h"

/*
 * The store's view of an object (watch_state_json) and when its facts
 * last changed (null: not since the gateway first read it), whether it is
 * locked (domains), and whether a watch session stands behind the store
 * at all (without one it holds only what info replies to registrars
 * said).  NULL when the object is not held.
 */
static json_t *
state_json(const struct policy *pol, struct regstate *rs, struct watch *w,
    const char *name)
{
	const struct rs_obj *o;
	const char *entry = NULL;
	json_t *j;

	if (rs == NULL || (j = watch_state_json(w, rs, name)) == NULL)
		return NULL;
	/* The same object watch_state_json chose: a domain first. */
	if ((o = regstate_get(rs, RS_DOMAIN, name)) == NULL)
		o = regstate_get(rs, RS_HOST, name);
	if (o == NULL || json_object_set_new(j, "changed",
	    rs_obj_changed(o) > 0 ? json_integer(rs_obj_changed(o)) :
	    json_null()) != 0 || json_object_set_new(j, "watch",
	    json_boolean(w != NULL)) != 0) {
		json_decref(j);
		return NULL;
	}
	if (rs_obj_kind(o) == RS_DOMAIN) {
		int locked = policy_domain_locked(pol, rs, name, &entry);

		if (json_object_set_new(j, "locked", json_boolean(locked)) !=
		    0 || (locked && entry != NULL && json_object_set_new(j,
		    "locked_by", json_string(entry)) != 0)) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

json_t *
stateq_answer(const struct policy *pol, struct regstate *rs, struct watch *w,
    const json_t *q)
{
	const char *what = json_string_value(json_object_get(q, "what"));
	const char *name = json_string_value(json_object_get(q, "name"));
	char norm[NAME_MAX_LEN + 1], msg[NAME_MAX_LEN + 80];
	json_t *body;

	if (what != NULL && strcmp(what, "drift") == 0) {
		if ((body = watch_drift_json(w)) == NULL)
			return NULL;
		return json_pack("{s:i, s:{s:o, s:b, s:b}}", "status", 200,
		    "body", "drift", body, "watch", w != NULL, "session_up",
		    watch_ready(w));
	}
	if (what == NULL || strcmp(what, "state") != 0 || name == NULL ||
	    name_normalise(name, norm, sizeof(norm)) != NAME_OK)
		return json_pack("{s:i, s:s}", "status", 404, "message",
		    "not a domain or host name");
	if ((body = state_json(pol, rs, w, norm)) == NULL) {
		snprintf(msg, sizeof(msg), "the gateway holds no registry "
		    "state for %s%s", norm, w == NULL ?
		    " (no watch session is configured)" : "");
		return json_pack("{s:i, s:s}", "status", 404, "message", msg);
	}
	return json_pack("{s:i, s:o}", "status", 200, "body", body);
}
