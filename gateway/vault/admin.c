/*
 * admin.c: the approvers' JSON API over mutual TLS (see admin.h).
 *
 * libevent's evhttp does the HTTP; each connection is an OpenSSL
 * bufferevent that requires a client certificate from the admin CA.  The
 * certificate's fingerprint names the principal: approvals are made by
 * that principal and nobody else, and the TOTP code in the request body is
 * checked for that principal only.  Codes never reach a log.
 *
 * Registry truth (the watch session's store, watch.h) is served here too:
 * an object's state, the drift seen, and next to a pending change the
 * state of its object now.  Those need no [approvals].
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "alertlink.h"
#include "approval.h"
#include "auditlink.h"
#include "config.h"
#include "err.h"
#include "lock.h"
#include "lockstore.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "policy.h"
#include "rfc3339.h"
#include "session.h"
#include "tls.h"

#define BODY_MAX	4096

struct admin {
	struct event_base	*base;
	struct admin_env	 env;
	struct metrics		*metrics;
	struct metric		*approvals;	/* eppgw_approvals_total */
	SSL_CTX			*ctx;
	struct evhttp		*http;
	struct evconnlistener	*listener;
};

static SSL_CTX *
admin_ctx(const struct config *cfg, struct err *e)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		err_set(e, ERR_CRYPTO, "cannot create the admin TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->admin.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cfg->admin.key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, cfg->admin.client_ca, NULL) != 1) {
		err_set(e, ERR_CRYPTO, "admin: cannot load %s, %s or %s",
		    cfg->admin.cert, cfg->admin.key, cfg->admin.client_ca);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	SSL *ssl = SSL_new(a->ctx);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void
reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (s != NULL) {
		evbuffer_add(out, s, strlen(s));
		evbuffer_add(out, "\n", 1);
	}
	free(s);
	json_decref(body);
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Refused", NULL);
}

static void
reply_error(struct evhttp_request *req, int code, const char *token,
    const char *message)
{
	reply_json(req, code, json_pack("{s:s, s:s}", "error", token,
	    "message", message));
}

/* The principal behind this request's client certificate, or NULL. */
static const struct principal *
caller(struct admin *a, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	uint8_t fp[32];

	if (conn == NULL ||
	    (bev = evhttp_connection_get_bufferevent(conn)) == NULL ||
	    tls_peer_fingerprint(bufferevent_openssl_get_ssl(bev), fp) != 0)
		return NULL;
	return config_principal_by_fp(a->env.config(a->env.arg), fp);
}

/* The JSON body, or NULL (bad or too big). */
static json_t *
body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char buf[BODY_MAX + 1];
	json_t *j;

	if (len == 0)
		return json_object();
	if (len > BODY_MAX)
		return NULL;
	evbuffer_copyout(in, buf, len);
	buf[len] = '\0';
	j = json_loadb(buf, len, 0, NULL);
	/* The body may carry a TOTP code: do not leave it on the stack. */
	OPENSSL_cleanse(buf, sizeof(buf));
	return j;
}

/* Every approval decision and lock edit goes into the audit log. */
static void
audit_event(struct admin *a, const char *event, const char *op,
    const char *id, const char *object, const char *reason)
{
	if (a->env.audit == NULL)
		return;
	(void)auditlink_submit(a->env.audit, "approval", json_pack("{s:s, s:s, s:s?, s:s?, "
	    "s:s?}", "event", event, "operator", op, "change_id", id,
	    "object", object, "reason", reason), NULL, NULL);
}

static const char *
refusal_text(const char *token)
{
	static const struct { const char *t, *m; } texts[] = {
		{ APPROVAL_SELF, "you requested this change: another operator "
		    "must approve it" },
		{ APPROVAL_INVALID_OTP, "the code is wrong" },
		{ APPROVAL_REPLAYED_OTP, "this code (or a later one) was "
		    "already used: wait for the next one" },
		{ APPROVAL_LOCKED_OUT, "too many failed codes: an operator "
		    "must reset you" },
		{ APPROVAL_RATE_LIMITED, "too many attempts: wait 30 seconds" },
		{ APPROVAL_PAUSED, "approvals are paused after too many "
		    "failures" },
		{ APPROVAL_UNKNOWN, "no such change" },
		{ APPROVAL_NOT_PENDING, "the change is no longer pending" },
		{ APPROVAL_NO_SEED, "you have no TOTP seed on the gateway" },
		{ APPROVAL_STORAGE, "the gateway could not record it durably" },
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(texts[i].t, token) == 0)
			return texts[i].m;
	return "refused";
}

static int
refusal_code(const char *token)
{
	if (strcmp(token, APPROVAL_UNKNOWN) == 0)
		return 404;
	if (strcmp(token, APPROVAL_STORAGE) == 0)
		return 500;
	return 403;
}

static void
do_approve(struct admin *a, struct evhttp_request *req,
    const struct principal *who, const char *id)
{
	struct approvals *ap = a->env.approvals;
	const char *object, *reason = NULL, *otp;
	json_t *body;

	if ((object = approvals_object(ap, id)) == NULL) {
		reply_error(req, 404, APPROVAL_UNKNOWN, "no such change");
		return;
	}
	if (!principal_may_approve(who, object)) {
		log_notice("admin: %s may not approve changes to %s",
		    who->name, object);
		reply_error(req, 403, "not_approver",
		    "you are not an approver for this object");
		return;
	}
	if ((body = body_json(req)) == NULL ||
	    (otp = json_string_value(json_object_get(body, "otp"))) == NULL) {
		json_decref(body);
		reply_error(req, 400, "bad_request", "expected {\"otp\": "
		    "\"CODE\"}");
		return;
	}
	if (approvals_approve(ap, id, who->name, otp, &reason) != 0) {
		json_decref(body);
		log_notice("admin: approval of %.12s by %s refused: %s", id,
		    who->name, reason);
		metric_inc_labels(a->approvals, reason, NULL);
		audit_event(a, "refused", who->name, id, object, reason);
		alertlink_emit(a->env.alert, strcmp(reason,
		    APPROVAL_LOCKED_OUT) == 0 ? "operator_locked_out" :
		    "approval_refused", json_pack("{s:s, s:s, s:s, s:s}",
		    "change_id", id, "object", object, "approver", who->name,
		    "reason", reason));
		reply_error(req, refusal_code(reason), reason,
		    refusal_text(reason));
		return;
	}
	json_decref(body);
	log_notice("admin: change %.12s on %s approved by %s", id, object,
	    who->name);
	metric_inc_labels(a->approvals, "granted", NULL);
	audit_event(a, "granted", who->name, id, object, NULL);
	alertlink_emit(a->env.alert, "approval_granted", json_pack(
	    "{s:s, s:s, s:s}", "change_id", id, "object", object, "approver",
	    who->name));
	reply_json(req, 200, json_pack("{s:s, s:s, s:s}", "result",
	    "approved", "id", id, "approver", who->name));
}

static void
do_deny(struct admin *a, struct evhttp_request *req,
    const struct principal *who, const char *id)
{
	struct approvals *ap = a->env.approvals;
	const char *object, *reason = NULL;

	if ((object = approvals_object(ap, id)) == NULL) {
		reply_error(req, 404, APPROVAL_UNKNOWN, "no such change");
		return;
	}
	if (!principal_may_approve(who, object)) {
		reply_error(req, 403, "not_approver",
		    "you are not an approver for this object");
		return;
	}
	if (approvals_deny(ap, id, who->name, &reason) != 0) {
		reply_error(req, refusal_code(reason), reason,
		    refusal_text(reason));
		return;
	}
	log_notice("admin: change %.12s on %s denied by %s", id, object,
	    who->name);
	audit_event(a, "denied", who->name, id, object, NULL);
	reply_json(req, 200, json_pack("{s:s, s:s}", "result", "denied",
	    "id", id));
}

static void
do_reset(struct admin *a, struct evhttp_request *req,
    const struct principal *who, const char *name)
{
	const char *reason = NULL;

	if (!(who->roles & ROLE_APPROVER) || strcmp(who->name, name) == 0) {
		reply_error(req, 403, "not_allowed", "an approver other than "
		    "the operator must reset it");
		return;
	}
	if (config_principal_by_name(a->env.config(a->env.arg), name) == NULL) {
		reply_error(req, 404, "unknown_operator", "no such operator");
		return;
	}
	if (approvals_reset_operator(a->env.approvals, name,
	    &reason) != 0) {
		reply_error(req, refusal_code(reason), reason,
		    refusal_text(reason));
		return;
	}
	log_notice("admin: operator %s reset by %s", name, who->name);
	audit_event(a, "operator_reset", who->name, NULL, name, NULL);
	reply_json(req, 200, json_pack("{s:s, s:s}", "result", "reset",
	    "operator", name));
}

static json_t *
locks_json(const struct locklist *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < locklist_count(l); i++)
		json_array_append_new(arr, json_string(locklist_entry(l, i)));
	return json_pack("{s:o}", "locks", arr);
}

static void
do_locks(struct admin *a, struct evhttp_request *req,
    const struct principal *who, const char *op)
{
	struct lockstore *ls = a->env.locks;
	struct err e = ERR_INIT;
	char norm[NAME_MAX_LEN + 3], *canon, id[13];
	char approver[APPROVAL_NAME_MAX];
	const char *name, *reason;
	uint8_t digest[32];
	enum approval_need need;
	json_t *body;
	int rc;

	if (op == NULL) {
		reply_json(req, 200, locks_json(lockstore_list(ls)));
		return;
	}
	if (!(who->roles & ROLE_APPROVER)) {
		reply_error(req, 403, "not_approver",
		    "only approvers edit the lock list");
		return;
	}
	if ((body = body_json(req)) == NULL ||
	    (name = json_string_value(json_object_get(body, "name"))) ==
	    NULL || strlen(name) > NAME_MAX_LEN + 2) {
		json_decref(body);
		reply_error(req, 400, "bad_request", "expected {\"name\": "
		    "\"NAME or *.SUFFIX\"}");
		return;
	}
	/* One spelling for the record, the change id and the approver. */
	if (locklist_normalise(name, norm, sizeof(norm), &e) != 0) {
		json_decref(body);
		reply_error(req, 400, "bad_name", err_msg(&e));
		return;
	}
	json_decref(body);
	if (strcmp(op, "add") == 0) {
		if (lockstore_add(ls, norm, &e) != 0) {
			reply_error(req, 400, "bad_name", err_msg(&e));
			return;
		}
		if (lockstore_save(ls, &e) != 0)
			log_err("admin: %s: the lock is active until restart "
			    "only", err_msg(&e));
		if (a->env.locks_changed != NULL)
			a->env.locks_changed(a->env.arg, "add", norm);
		log_notice("admin: lock %s added by %s", norm, who->name);
		audit_event(a, "lock_added", who->name, NULL, norm, NULL);
		reply_json(req, 200, locks_json(lockstore_list(ls)));
		return;
	}
	/* Removing a lock is an unlock: it needs a second operator, who
	 * approves the change id of its canonical text (policy.h). */
	canon = policy_canonical_lock_remove(norm, digest);
	rc = canon == NULL ? -1 : approvals_require(a->env.approvals,
	    digest, canon, norm, "-", who->name, &need, id, &reason,
	    approver);
	free(canon);
	if (rc != 0) {
		reply_error(req, 500, APPROVAL_STORAGE,
		    "cannot record the request");
		return;
	}
	if (need == NEED_APPROVAL) {
		log_notice("admin: %s asks to remove lock %s: change %s needs "
		    "approval", who->name, norm, id);
		audit_event(a, "lock_remove_requested", who->name, id, norm,
		    reason);
		reply_json(req, 202, json_pack("{s:s, s:s, s:s}", "result",
		    APPROVAL_REQUIRED, "id", id, "reason", reason));
		return;
	}
	if (lockstore_remove(ls, norm) != 0) {
		reply_error(req, 404, "not_locked", "no such lock entry");
		return;
	}
	if (lockstore_save(ls, &e) != 0)
		log_err("admin: %s", err_msg(&e));
	if (a->env.locks_changed != NULL)
		a->env.locks_changed(a->env.arg, "remove", norm);
	log_notice("admin: lock %s removed by %s, approved by %s", norm,
	    who->name, approver);
	audit_event(a, "lock_removed", who->name, id, norm, approver);
	reply_json(req, 200, locks_json(lockstore_list(ls)));
}

/*
 * Registry truth lives in the worker (the watch session's store): the
 * vault asks it (admin_env.ask) and answers the HTTP request when the
 * answer comes.  A request whose connection closed meanwhile is freed by
 * evhttp when the reply is sent.
 */
struct asked {
	struct admin		*a;
	struct evhttp_request	*req;
	json_t			*show;	/* do_show: the change */
};

static struct asked *
asked_new(struct admin *a, struct evhttp_request *req)
{
	struct asked *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		reply_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	q->a = a;
	q->req = req;
	return q;
}

/* The worker's answer: {"status": 200 or 404, "body": ..., "message"}. */
static void
state_done(void *arg, json_t *ans)
{
	struct asked *q = arg;
	json_int_t status = json_integer_value(json_object_get(ans, "status"));
	json_t *body = json_object_get(ans, "body");

	if (ans == NULL || (status == 200 && body == NULL))
		reply_error(q->req, 503, "worker_unavailable",
		    "no worker answered");
	else if (status != 200)
		reply_error(q->req, 404, "not_held", json_string_value(
		    json_object_get(ans, "message")) ? json_string_value(
		    json_object_get(ans, "message")) : "not held");
	else
		reply_json(q->req, 200, json_incref(body));
	json_decref(ans);
	free(q);
}

static void
ask(struct admin *a, struct evhttp_request *req, json_t *question,
    void (*done)(void *, json_t *), json_t *show)
{
	struct asked *q;

	if ((q = asked_new(a, req)) == NULL) {
		json_decref(question);
		json_decref(show);
		return;
	}
	q->show = show;
	if (a->env.ask == NULL || a->env.ask(a->env.arg, question, done,
	    q) != 0)
		done(q, NULL);
}

/* GET /v1/state/NAME: NAME as the policy reads it (case, trailing dot,
 * IDN), percent-decoded first. */
static void
do_state(struct admin *a, struct evhttp_request *req, const char *raw)
{
	char norm[NAME_MAX_LEN + 1];
	size_t len = 0;
	char *name;

	if ((name = evhttp_uridecode(raw, 0, &len)) == NULL) {
		reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* A NUL inside would make what is checked differ from what was
	 * asked. */
	if (strlen(name) != len ||
	    name_normalise(name, norm, sizeof(norm)) != NAME_OK) {
		free(name);
		reply_error(req, 400, "bad_name", "not a domain or host name");
		return;
	}
	free(name);
	ask(a, req, json_pack("{s:s, s:s}", "what", "state", "name", norm),
	    state_done, NULL);
}

/* GET /v1/drift: what the watch session saw change that no command
 * through the gateway explains, newest last. */
static void
do_drift(struct admin *a, struct evhttp_request *req)
{
	ask(a, req, json_pack("{s:s}", "what", "drift"), state_done, NULL);
}

/* Unix seconds of a time as approvals_show_json writes it
 * (YYYY-MM-DDTHH:MM:SSZ: exactly that shape, no fraction, no offset),
 * or -1. */
static int64_t
utc_seconds(const char *s)
{
	int64_t us;

	if (s == NULL || strlen(s) != 20 || s[10] != 'T' || s[19] != 'Z' ||
	    rfc3339_parse(s, &us, NULL) == -1)
		return -1;
	return us / RFC3339_US;
}

/*
 * GET /v1/pending/ID: the change, and its object's state at the registry
 * now ("registry", null when not held), so that the approver weighs the
 * change against what it would change.
 *
 * changed_since_request says whether a reading after the request found
 * other facts.  The store records when an object's facts last changed
 * (rs_obj_changed) rather than each change keeping a copy of the state it
 * was requested against: one time per object, nothing added to the
 * approvals state, and no copy to go stale or to forget on a restart.
 * Times are in seconds, so a change read in the second of the request
 * counts as after it: a needless warning is cheaper than a missing one.
 * A change first read after the request is no change (there is nothing
 * to compare it with), which only a restart without the state file or an
 * evicted object can bring about.
 */
static void
show_done(void *arg, json_t *ans)
{
	struct asked *q = arg;
	json_t *j = q->show, *reg = NULL;
	int64_t created, changed;

	if (json_integer_value(json_object_get(ans, "status")) == 200)
		reg = json_incref(json_object_get(ans, "body"));
	if (reg != NULL) {
		created = utc_seconds(json_string_value(json_object_get(j,
		    "created")));
		changed = json_integer_value(json_object_get(reg, "changed"));
		/* Without it the approver would not be warned: all or
		 * nothing. */
		if (json_object_set_new(reg, "changed_since_request",
		    json_boolean(changed > 0 && (created < 0 ||
		    changed >= created))) != 0) {
			json_decref(reg);
			reg = NULL;
			goto fail;
		}
	}
	if (ans == NULL) {
		/* No worker answered: the approver must not read "not
		 * held" as "nothing changed". */
		reply_error(q->req, 503, "worker_unavailable",
		    "the registry state of the change's object cannot be "
		    "had now");
		goto out;
	}
	if (json_object_set_new(j, "registry", reg != NULL ? reg :
	    json_null()) != 0)
		goto fail;
	reply_json(q->req, 200, json_incref(j));
	goto out;
fail:
	reply_error(q->req, 500, "internal", "out of memory");
out:
	json_decref(j);
	json_decref(ans);
	free(q);
}

static void
do_show(struct admin *a, struct evhttp_request *req, const char *id)
{
	json_t *j = approvals_show_json(a->env.approvals, id);
	const char *object;

	if (j == NULL) {
		reply_error(req, 404, APPROVAL_UNKNOWN, "no such change");
		return;
	}
	object = json_string_value(json_object_get(j, "object"));
	ask(a, req, json_pack("{s:s, s:s}", "what", "state", "name",
	    object != NULL ? object : ""), show_done, j);
}

/*
 * Every request to the admin listener: check the caller, then route the
 * path to its do_*() or answer 4xx/503.
 */
static void
route_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct principal *who = caller(a, req);
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char path[1024], *seg[5] = { 0 }, *p, *save = NULL;
	size_t n = 0;

	if (who == NULL) {
		reply_error(req, 403, "unknown_principal",
		    "your certificate is not mapped to a principal");
		return;
	}
	/*
	 * The admin API is the second operator's: a requester-only
	 * certificate (a registrar system, an operator who may only ask)
	 * gets nothing here, not even a list, so a stolen registrar
	 * identity learns nothing of what is pending or watched.
	 */
	if (!(who->roles & ROLE_APPROVER)) {
		reply_error(req, 403, "not_approver",
		    "the admin API is for approvers; this principal may only "
		    "request changes");
		return;
	}
	/* A truncated path could name another object: refuse it. */
	if (uri == NULL || strlen(uri) >= sizeof(path)) {
		reply_error(req, 400, "bad_request", "the path is too long");
		return;
	}
	snprintf(path, sizeof(path), "%s", uri);
	if ((p = strchr(path, '?')) != NULL)
		*p = '\0';
	for (p = strtok_r(path, "/", &save); p != NULL && n < 5;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	if (n < 2 || strcmp(seg[0], "v1") != 0)
		goto notfound;
	/*
	 * Registry truth: any principal may read it, as it may list
	 * changes (facts hold no secret), with or without approvals.
	 */
	if (strcmp(seg[1], "state") == 0) {
		if (method == EVHTTP_REQ_GET && n == 3) {
			do_state(a, req, seg[2]);
			return;
		}
		goto notfound;
	}
	if (strcmp(seg[1], "drift") == 0) {
		if (method == EVHTTP_REQ_GET && n == 2) {
			do_drift(a, req);
			return;
		}
		goto notfound;
	}
	if (a->env.approvals == NULL) {
		reply_error(req, 503, "approvals_disabled",
		    "no [approvals] seeds configured");
		return;
	}
	if (strcmp(seg[1], "pending") == 0) {
		if (method == EVHTTP_REQ_GET && n == 2) {
			reply_json(req, 200, json_pack("{s:o}", "pending",
			    approvals_list_json(a->env.approvals)));
			return;
		}
		if (method == EVHTTP_REQ_GET && n == 3) {
			do_show(a, req, seg[2]);
			return;
		}
		if (method == EVHTTP_REQ_POST && n == 4 &&
		    strcmp(seg[3], "approve") == 0) {
			do_approve(a, req, who, seg[2]);
			return;
		}
		if (method == EVHTTP_REQ_POST && n == 4 &&
		    strcmp(seg[3], "deny") == 0) {
			do_deny(a, req, who, seg[2]);
			return;
		}
	} else if (strcmp(seg[1], "operators") == 0 && n == 4 &&
	    method == EVHTTP_REQ_POST && strcmp(seg[3], "reset") == 0) {
		do_reset(a, req, who, seg[2]);
		return;
	} else if (strcmp(seg[1], "locks") == 0) {
		if (method == EVHTTP_REQ_GET && n == 2) {
			do_locks(a, req, who, NULL);
			return;
		}
		if (method == EVHTTP_REQ_POST && n == 3 &&
		    (strcmp(seg[2], "add") == 0 ||
		    strcmp(seg[2], "remove") == 0)) {
			do_locks(a, req, who, seg[2]);
			return;
		}
	}
notfound:
	reply_error(req, 404, "not_found", "no such endpoint");
}

struct admin *
admin_start(struct event_base *base, int fd, const struct admin_env *env,
    struct err *e)
{
	const struct config *cfg = env->config(env->arg);
	struct session_metrics unused;	/* never bumped here */
	struct admin *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		close(fd);
		return NULL;
	}
	a->base = base;
	a->env = *env;
	/* The sessions' series too, at zero: every page the parent sums
	 * starts with the same families in the same order (promsum.c keeps
	 * the first page's), whichever process it hears from first. */
	if ((a->metrics = metrics_new()) == NULL ||
	    session_metrics_register(a->metrics, &unused) != 0 ||
	    (a->approvals = admin_metrics_register(a->metrics)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((a->ctx = admin_ctx(cfg, e)) == NULL)
		goto fail;
	if ((a->http = evhttp_new(base)) == NULL) {
		err_set(e, ERR_NOMEM, "admin: cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_bevcb(a->http, bev_cb, a);
	evhttp_set_gencb(a->http, route_request, a);
	evhttp_set_max_body_size(a->http, BODY_MAX);
	evhttp_set_max_headers_size(a->http, 8192);
	evhttp_set_timeout(a->http, 30);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	a->listener = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64, fd);
	fd = -1;
	if (a->listener == NULL ||
	    evhttp_bind_listener(a->http, a->listener) == NULL) {
		err_set(e, ERR_SYSTEM, "admin: cannot listen on %s: %s",
		    cfg->admin.listen.text, strerror(errno));
		if (a->listener != NULL)
			evconnlistener_free(a->listener);
		a->listener = NULL;
		goto fail;
	}
	return a;
fail:
	if (fd != -1)
		close(fd);
	admin_free(a);
	return NULL;
}

int
admin_reload(struct admin *a, struct err *e)
{
	SSL_CTX *ctx = admin_ctx(a->env.config(a->env.arg), e);

	if (ctx == NULL)
		return -1;
	SSL_CTX_free(a->ctx);
	a->ctx = ctx;
	return 0;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);	/* frees the bound listener too */
	SSL_CTX_free(a->ctx);
	metrics_free(a->metrics);
	free(a);
}

struct metric *
admin_metrics_register(struct metrics *m)
{
	return metrics_family(m, "eppgw_approvals_total",
	    "Approval attempts by result.", "result", NULL);
}

struct metrics *
admin_metrics(struct admin *a)
{
	return a->metrics;
}

/* [admin]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct admin_conf, m)
const struct conf_keyword admin_keywords[] = {
	{ "listen", KW_ADDR, F(listen), 0, NULL, 0, 0 },
	{ "cert", KW_PATH, F(cert), 0, NULL, 0, 0 },
	{ "key", KW_PATH, F(key), 0, NULL, 0, 0 },
	{ "client_ca", KW_PATH, F(client_ca), 0, NULL, 0, 0 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
