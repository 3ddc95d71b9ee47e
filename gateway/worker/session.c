/*
 * session.c: relay one registrar session to one registry session.
 *
 * States, in order:
 *
 *   HANDSHAKE   registrar TLS handshake; its certificate names a principal
 *   ADMIT       the parent counts the session against the caps
 *   CONNECTING  upstream TCP connect and TLS handshake
 *   GREETING    waiting for the registry's greeting, which is relayed
 *   READY       waiting for a command from the registrar
 *   ASK         the registry's state of the command's domain is needed
 *               before it can be judged: the watch session is asking
 *   VAULT       a protected change waits for the vault's verdict
 *   LOG_CMD     the command waits for its own record to be durable (all
 *               but read-only commands: docs/audit-log.md, Durability)
 *   LOG_RSP     the command waits for the record of the reply before it
 *   WAIT_REPLY  a command was forwarded; registrar input waits unread
 *   CLOSING     a last reply is being flushed to the registrar
 *
 * Only one command is in flight at a time, so replies, including the ones
 * the gateway writes itself, always come back in command order, and a
 * pipelining client cannot make us hold more than one frame (the conn's
 * input limit makes TCP push back).
 *
 * Every exit goes through session_close(), which releases the connections at
 * once and frees the struct from a fresh event-loop turn, so code that runs
 * after a close in the same callback only has to check s->state.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "alertlink.h"
#include "approval.h"
#include "auditlink.h"
#include "change.h"
#include "config.h"
#include "conn.h"
#include "epp.h"
#include "err.h"
#include "frame.h"
#include "hex.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "pipeline.h"
#include "policy.h"
#include "proxy.h"
#include "records.h"
#include "regstate.h"
#include "reply.h"
#include "session.h"
#include "statelink.h"
#include "tls.h"
#include "vaultlink.h"

enum state {
	ST_HANDSHAKE = 0,
	ST_ADMIT,	/* the parent counts it against the caps */
	ST_CONNECTING,
	ST_GREETING,
	ST_READY,
	ST_ASK,		/* the watch session asks the registry first */
	ST_VAULT,	/* the vault judges a protected change */
	ST_LOG_CMD,	/* the command's audit record is being made durable */
	ST_WAIT_REPLY,
	ST_LOG_RSP,	/* the command waits for the record of the reply
			 * before it to be durable */
	ST_CLOSING,
	ST_DEAD
};

/* What the registrar-side timer is currently measuring. */
enum deadline {
	DL_NONE = 0,
	DL_HANDSHAKE,
	DL_LOGIN,	/* no successful login yet: login_timeout from the start */
	DL_IDLE,
	DL_FRAME,
	DL_FLUSH,
	DL_VAULT	/* a protected change waits for the vault's verdict */
};

/* How long a final reply may take to reach a registrar that does not read. */
#define FLUSH_TIMEOUT_SEC	5
/* How long a protected change waits for the vault: a stuck vault must not
 * hold the session for ever (the change is then refused, 2400). */
#define VAULT_TIMEOUT_SEC	5
/*
 * How long the record of a reply to a change may wait for the session's
 * next command, so that one group commit covers both (hold_reply).  Short
 * beside any registrar's think time, long beside a client's turnaround.
 */
#define RSP_HOLD_USEC		1000

struct session {
	uint64_t		 id;
	struct proxy		*proxy;
	const struct session_env *env;	/* the worker's (session.h) */
	struct session_list	*list;
	struct session		*prev, *next;
	struct config		*cfg;		/* our reference */
	SSL_CTX			*client_ctx;	/* our reference */
	enum state		 state;
	char			 peer[INET6_ADDRSTRLEN + 8];

	struct conn		*client;	/* registrar side */
	struct conn		*up;		/* registry side */
	struct event		*deadline;	/* registrar side */
	enum deadline		 deadline_kind;	/* what deadline measures */
	struct event		*up_deadline;	/* connect, greeting, reply */

	const struct principal	*principal;	/* owned by cfg */
	char			 addr[INET6_ADDRSTRLEN]; /* the peer's, no port */
	int			 counted_addr;	/* proxy_count_take'n */
	uint32_t		 admitted;	/* the parent's token, or 0 */
	uint32_t		 admitting;	/* the token asked for, or 0 */
	int			 opened;	/* admitted and counted open */
	char			 fp_hex[96];
	char			 clid[CONFIG_CLID_MAX + 1];  /* logged in */

	/* The command in flight. */
	enum epp_cmd		 cmd;
	char			*cltrid;
	char			*login_clid;

	struct timespec		 sent;
	struct timespec		 started;	/* connection accepted */
	int			 cmd_submitted;	/* its record is on its way */
	json_t			*quick_rec;	/* a read-only command's record,
						 * sent with its reply's */
	int			 rsp_pending;	/* the last reply's record is not
						 * durable yet */
	json_t			*held_rsp;	/* that record, not yet sent */
	struct event		*hold_ev;	/* sends it after RSP_HOLD_USEC */

	/* What a forwarded change touches, to tell the watch session once
	 * the registry has executed it (watch_changed). */
	enum rs_kind		 fwd_kind;
	char			 fwd_object[NAME_MAX_LEN + 1];
	unsigned		 fwd_classes;

	/* A protected change held while the vault judges it: the judged
	 * command (what would be forwarded) and its frame's MAC. */
	struct pipe_out		 held;
	int			 holding;
	char			 frame_mac[65];

	/* A command held while the watch session asks the registry. */
	uint8_t			*ask_xml;
	size_t			 ask_len;
	int			 asked;		/* once per command */

	/* What to do once the command's record is durable. */
	enum { ACT_NONE, ACT_FORWARD, ACT_REPLY } action;
	uint8_t			*act_xml;	/* ACT_FORWARD: what to send */
	size_t			 act_len;
	int			 act_code;	/* ACT_REPLY */
	const char		*act_reason;
	char			 act_detail[16];

	/* An alert about this command, sent once its record is durable so it
	 * can name the record's seq and leaf hash. */
	const char		*alert_event;
	json_t			*alert_body;

	unsigned		 audit_pending;	/* callbacks still to come */
	int			 zombie;	/* closed, awaiting them */
	int			 draining;	/* close after the current reply */

	uint64_t		 ncmds;
	unsigned		 nreplies;	/* our own replies, for svTRIDs */
	char			 last_sv[96];	/* svTRID of our last reply */
};

static void client_input(struct session *s);
static void send_alert(struct session *s, const uint64_t *seq,
    const uint8_t *leaf);

/* The registrar as log lines name it: its principal once its certificate
 * is mapped, its address and port before. */
static const char *
client_name(const struct session *s)
{
	return s->principal != NULL ? s->principal->name : s->peer;
}

/* Start the registrar-side timer for the deadline kind. */
static void
arm(struct session *s, enum deadline kind, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	s->deadline_kind = kind;
	event_add(s->deadline, &tv);
}

/* Start the registry-side timer: connect, greeting or reply. */
static void
arm_up_deadline(struct session *s, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	event_add(s->up_deadline, &tv);
}

static void
free_memory(struct session *s)
{
	free(s->cltrid);
	free(s->login_clid);
	free(s->act_xml);
	free(s->ask_xml);
	if (s->holding)
		pipe_out_clear(&s->held);
	json_decref(s->alert_body);
	json_decref(s->quick_rec);
	json_decref(s->held_rsp);
	if (s->hold_ev != NULL)
		event_free(s->hold_ev);
	if (s->deadline != NULL)
		event_free(s->deadline);
	config_unref(s->cfg);
	SSL_CTX_free(s->client_ctx);
	free(s);
}

static void
rec_who(const struct session *s, struct rec_session *rs)
{
	rs->id = s->id;
	rs->peer = s->peer;
	rs->principal = s->principal ? s->principal->name : NULL;
	rs->cert = s->fp_hex[0] ? s->fp_hex : NULL;
	rs->clid = s->clid[0] ? s->clid : NULL;
}

static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->list->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->list->count--;
	proxy_session_gone(s->proxy, s);
	/* An audit callback still holds s: the last one frees it. */
	if (s->audit_pending > 0) {
		s->zombie = 1;
		return;
	}
	free_memory(s);
}

static void
release(struct session *s)
{
	if (s->counted_addr)
		proxy_count_drop(s->proxy, PROXY_PER_ADDRESS, s->addr);
	if (s->admitting != 0)
		proxy_admit_cancel(s->proxy, s->admitting);
	if (s->admitted != 0)
		proxy_leave(s->proxy, s->admitted);
	s->counted_addr = 0;
	s->admitting = s->admitted = 0;
	conn_free(s->client);
	conn_free(s->up);
	s->client = s->up = NULL;
	/* s->deadline stays: session_close() frees s through it. */
	if (s->deadline != NULL)
		event_del(s->deadline);
	if (s->up_deadline != NULL)
		event_free(s->up_deadline);
	s->up_deadline = NULL;
}

static void send_quick_rec(struct session *s);
static void send_held_rsp(struct session *s);

static void
session_close(struct session *s, const char *why)
{
	if (s->state == ST_DEAD)
		return;
	log_info("session %llu: %s: closed (%s) after %llu commands",
	    (unsigned long long)s->id, client_name(s), why,
	    (unsigned long long)s->ncmds);
	if (s->opened)
		metric_dec(s->env->metrics->open);
	if (s->env->audit != NULL && s->principal != NULL) {
		struct rec_session rs;

		rec_who(s, &rs);
		send_held_rsp(s);
		send_quick_rec(s);
		/* It forgets a command record no reply will name. */
		(void)auditlink_submit_ref(s->env->audit, "session",
		    rec_session_close(&rs, why, s->ncmds), AUDIT_REF_DROP,
		    NULL, NULL);
	}
	s->state = ST_DEAD;
	release(s);
	/* A question still out must not call back into a closed session. */
	statelink_cancel(s->env->state, s);
	vaultlink_cancel(s->env->vault, s);
	/*
	 * Free from a fresh loop turn: our callers may still look at s.
	 * The deadline's event does it, made when s was (session_new lists
	 * no session without one): nothing to allocate here, so nothing
	 * that can fail and free s under them.
	 */
	assert(s->deadline != NULL);
	event_assign(s->deadline, s->env->base, -1, 0, free_cb, s);
	event_active(s->deadline, EV_TIMEOUT, 0);
}

void
session_drain_all(struct session_list *list)
{
	struct session *s, *next;

	for (s = list->head; s != NULL; s = next) {
		next = s->next;
		s->draining = 1;
		switch (s->state) {
		case ST_VAULT:
		case ST_LOG_CMD:
		case ST_WAIT_REPLY:
		case ST_LOG_RSP:
		case ST_CLOSING:
			break;	/* finishes its command first */
		default:
			session_close(s, "gateway shutting down");
		}
	}
}

void
session_abort_all(struct session_list *list)
{
	struct session *s, *next;

	for (s = list->head; s != NULL; s = next) {
		next = s->next;
		session_close(s, "gateway shutting down");
	}
}

static void
clear_inflight(struct session *s)
{
	free(s->cltrid);
	free(s->login_clid);
	s->cltrid = s->login_clid = NULL;
	s->cmd = EPP_CMD_NONE;
	s->fwd_object[0] = '\0';
	s->fwd_classes = 0;
}

/* Stop reading from both sides; close once the registrar has our bytes. */
static void
close_after_flush(struct session *s, const char *why)
{
	if (s->state == ST_DEAD || s->state == ST_CLOSING)
		return;
	log_debug("session %llu: closing after flush: %s",
	    (unsigned long long)s->id, why);
	s->state = ST_CLOSING;
	conn_free(s->up);
	s->up = NULL;
	event_del(s->up_deadline);
	arm(s, DL_FLUSH, FLUSH_TIMEOUT_SEC);
	conn_want_drained(s->client);
}

/* A reply by source and result code; a code outside EPP's range is
 * "none", so a broken registry cannot make new series. */
static void
count_reply(struct session *s, const char *src, int code)
{
	char c[16];

	if (code < 1000 || code > 2599)
		snprintf(c, sizeof(c), "none");
	else
		snprintf(c, sizeof(c), "%d", code);
	metric_inc_labels(s->env->metrics->replies, src, c);
}

/*
 * Answer the registrar ourselves.  Used for refusals (the session goes on)
 * and for fatal conditions (close_after is set).
 */
static void
reply_detail(struct session *s, int code, const char *reason,
    const char *detail, const char *cltrid, int close_after)
{
	char sv[96], *xml;
	size_t len;
	int r;

	snprintf(sv, sizeof(sv), "eppgw-%s-%llu-%u", s->env->run_id,
	    (unsigned long long)s->id, ++s->nreplies);
	memcpy(s->last_sv, sv, sizeof(s->last_sv));
	if ((xml = reply_build(code, reason, detail, cltrid, sv, &len)) ==
	    NULL) {
		session_close(s, "out of memory");
		return;
	}
	r = conn_write_frame(s->client, xml, len);
	free(xml);
	if (r != 0) {
		session_close(s, "registrar connection failed");
		return;
	}
	count_reply(s, "gateway", code);
	log_info("session %llu: %s: replied %d %s%s%s (svTRID %s)",
	    (unsigned long long)s->id, client_name(s), code, reason,
	    detail ? " " : "", detail ? detail : "", sv);
	if (close_after)
		close_after_flush(s, reason);
}

static void
reply_self(struct session *s, int code, const char *reason,
    const char *cltrid, int close_after)
{
	reply_detail(s, code, reason, NULL, cltrid, close_after);
}

/* The registry is gone: 2500 upstream_unavailable, then close. */
static void
upstream_failed(struct session *s, const char *why)
{
	if (s->state == ST_DEAD || s->state == ST_CLOSING)
		return;
	metric_inc(s->env->metrics->upstream_errors);
	log_warn("session %llu: upstream %s: %s", (unsigned long long)s->id,
	    s->cfg->upstream.address.text, why);
	reply_self(s, 2500, "upstream_unavailable", s->cltrid, 1);
}

/*
 * Waiting for the registrar's next command: idle_timeout, or, until a login
 * has succeeded, what is left of login_timeout from the connection's start
 * (a client that never logs in holds a registry session for nothing).
 */
static void
arm_idle(struct session *s)
{
	struct timespec now;
	long left;

	if (s->clid[0] != '\0') {
		arm(s, DL_IDLE, s->cfg->gateway.idle_timeout);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (long)s->cfg->gateway.login_timeout - (long)(now.tv_sec -
	    s->started.tv_sec);
	arm(s, DL_LOGIN, left > 0 ? (unsigned)left : 0);
}

static void
set_ready(struct session *s)
{
	s->state = ST_READY;
	event_del(s->up_deadline);
	arm_idle(s);
}

/* Send one frame to the registry and wait for its reply. */
static void
forward(struct session *s, const uint8_t *xml, size_t len)
{
	if (conn_write_frame(s->up, xml, len) != 0) {
		upstream_failed(s, "write failed");
		return;
	}
	s->state = ST_WAIT_REPLY;
	s->ncmds++;
	clock_gettime(CLOCK_MONOTONIC, &s->sent);
	event_del(s->deadline);
	s->deadline_kind = DL_NONE;
	arm_up_deadline(s, s->cfg->upstream.reply_timeout);
}

/* One line per decision in the operational log; never a secret in it. */
static void
log_verdict(struct session *s, const struct epp_msg *m,
    const struct verdict *v)
{
	char cls[160];

	metric_inc_labels(s->env->metrics->commands, epp_msg_name(m),
	    decision_name(v->decision));
	change_classes_format(v->decision == DECISION_APPROVAL ? v->classes :
	    v->all_classes, cls, sizeof(cls));
	/* Allowed commands are in the audit log; the operational log only
	 * shows them when debugging, so it stays readable (and cheap). */
	log_msg(v->decision == DECISION_ALLOW ? LOG_LVL_DEBUG : LOG_LVL_NOTICE,
	    "session %llu: %s clID=%s %s %s%s classes=%s decision=%s "
	    "change=%s clTRID=%.64s%s%s", (unsigned long long)s->id,
	    client_name(s), s->clid[0] ? s->clid : "-", epp_msg_name(m),
	    epp_msg_nobjects(m) ? epp_msg_object(m, 0, NULL, NULL) : "-",
	    epp_msg_nobjects(m) > 1 ? ",..." : "", cls[0] ? cls : "-",
	    decision_name(v->decision), v->change_id,
	    s->cltrid ? s->cltrid : "-",
	    v->decision == DECISION_ALLOW ? "" : " reason=",
	    v->decision == DECISION_ALLOW ? "" : v->reason);
}

/* Answer the registrar ourselves once the command is on record. */
static void
act_reply(struct session *s, int code, const char *reason,
    const char *detail)
{
	s->action = ACT_REPLY;
	s->act_code = code;
	s->act_reason = reason;
	snprintf(s->act_detail, sizeof(s->act_detail), "%s",
	    detail ? detail : "");
}

static void rsp_logged_cb(void *arg, int status, uint64_t seq,
    const uint8_t leaf[32]);

/*
 * Submit the record of the reply to the command on record (rec stolen):
 * the writer names the command (AUDIT_REF_REQ), and the session's next
 * command is not forwarded before this record is durable (rsp_pending).
 */
static void
submit_rsp(struct session *s, json_t *rec)
{
	if (rec == NULL || auditlink_submit_ref(s->env->audit, "rsp", rec,
	    AUDIT_REF_REQ, rsp_logged_cb, s) != 0) {
		log_err("session %llu: audit log failed: a reply goes "
		    "unrecorded", (unsigned long long)s->id);
		s->rsp_pending = 0;
		return;
	}
	s->audit_pending++;
	s->rsp_pending = 1;
}

/*
 * A held reply record goes to the writer now: before the session's next
 * command record (the writer ties a reply to the last command on record,
 * so the order is the log's), before its close, or when the hold expires.
 */
static void
send_held_rsp(struct session *s)
{
	json_t *rec = s->held_rsp;

	if (rec == NULL)
		return;
	s->held_rsp = NULL;
	if (s->hold_ev != NULL)
		event_del(s->hold_ev);
	submit_rsp(s, rec);
}

static void
hold_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_held_rsp(arg);
}

/*
 * The record of a reply to a change waits up to RSP_HOLD_USEC for the
 * session's next command, whose record then goes in the same group
 * commit: one fdatasync per change, where sending it at once put the
 * next change's record behind the reply's fdatasync, two in series.  A
 * reply to a read-only command goes at once: the next command, read-only
 * too as a rule, waits only for that record, whose fdatasync then runs
 * while the reply is relayed.  Either way the next command is not
 * forwarded before the record is durable (rsp_pending), and what a crash
 * can lose is what it could before: each open session's last reply
 * (docs/audit-log.md).  0 if held.
 */
static int
hold_reply(struct session *s, json_t *rec)
{
	static const struct timeval tv = { 0, RSP_HOLD_USEC };

	if (rec == NULL || s->quick_rec != NULL)
		return -1;
	if (s->hold_ev == NULL &&
	    (s->hold_ev = evtimer_new(s->env->base, hold_expired_cb, s)) ==
	    NULL)
		return -1;
	if (evtimer_add(s->hold_ev, &tv) != 0)
		return -1;
	s->held_rsp = rec;
	s->rsp_pending = 1;
	return 0;
}

static void
log_reply(struct session *s, json_t *rec)
{
	send_held_rsp(s);
	s->cmd_submitted = 0;
	if (hold_reply(s, rec) == 0)
		return;
	send_quick_rec(s);
	submit_rsp(s, rec);
}

/* Run what was decided for the command, now that it is on record. */

static void
run_action(struct session *s)
{
	uint8_t *xml = s->act_xml;
	int action = s->action;

	/*
	 * Nothing is forwarded before the last reply is on record.  A held
	 * record goes first: if it cannot be sent, rsp_pending is cleared
	 * and no callback would come to end the wait.
	 */
	if (action == ACT_FORWARD)
		send_held_rsp(s);
	if (action == ACT_FORWARD && s->rsp_pending) {
		s->state = ST_LOG_RSP;
		return;
	}
	s->action = ACT_NONE;
	s->act_xml = NULL;
	s->state = ST_READY;
	if (action == ACT_FORWARD) {
		forward(s, xml, s->act_len);
		free(xml);
		return;
	}
	if (action == ACT_REPLY) {
		reply_detail(s, s->act_code, s->act_reason,
		    s->act_detail[0] ? s->act_detail : NULL, s->cltrid, 0);
		if (s->env->audit != NULL && s->cmd_submitted) {
			struct rec_session rs;

			/* The outcome of a command answered here. */
			rec_who(s, &rs);
			log_reply(s, rec_rsp(&rs, "gateway", s->act_code,
			    s->act_reason, s->cltrid, s->last_sv, 0));
		}
	}
	if (s->state == ST_READY && s->draining) {
		close_after_flush(s, "gateway shutting down");
		return;
	}
	if (s->state == ST_READY)
		arm_idle(s);
}

/*
 * An audit answer came for s: 1 if s is closed (then freed with the last
 * answer), so the callback must not touch it.
 */
static int
audit_answered(struct session *s)
{
	s->audit_pending--;
	if (!s->zombie)
		return 0;
	if (s->audit_pending == 0)
		free_memory(s);
	return 1;
}

/* The command's record is durable (or the log failed): act on it. */
static void
cmd_logged_cb(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct session *s = arg;

	if (audit_answered(s))
		return;
	if (s->state != ST_LOG_CMD)
		return;		/* closed meanwhile */
	if (status != 0) {
		/* Not on record, so not forwarded: fail closed. */
		log_err("session %llu: audit log failed: refusing the command",
		    (unsigned long long)s->id);
		metric_inc(s->env->metrics->audit_failures);
		alertlink_emit(s->env->alerter, "audit_failure",
		    json_pack("{s:s}", "effect", "nothing is forwarded"));
		free(s->act_xml);
		s->act_xml = NULL;
		act_reply(s, 2400, "audit_unavailable", NULL);
	}
	send_alert(s, status == 0 ? &seq : NULL, status == 0 ? leaf : NULL);
	run_action(s);
	if (s->state == ST_READY)
		client_input(s);
}

/* A read-only command went to the registry and its record did not. */
static void
quick_unrecorded(struct session *s)
{
	log_err("session %llu: audit log failed: a read-only command was "
	    "forwarded unrecorded", (unsigned long long)s->id);
	metric_inc(s->env->metrics->audit_failures);
}

/*
 * A read-only command's record, forwarded without waiting for it: the
 * group commit of its reply's record makes it durable (or the log has
 * failed, and the next command finds it so).
 */
static void
quick_logged_cb(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct session *s = arg;

	(void)seq;
	(void)leaf;
	if (audit_answered(s))
		return;
	if (status != 0)
		quick_unrecorded(s);
}

/*
 * A read-only command's record goes with its reply's (log_reply), or with
 * the session's close when no reply comes: both then reach the writer in
 * one loop turn and one group commit, where sending it at once cost a
 * second fdatasync and signature per command when sessions are few.  A
 * crash before then loses it, as it could before (the recovery record's
 * open_sessions says so); its ts is when it was written, after the reply.
 */
static void
send_quick_rec(struct session *s)
{
	json_t *rec = s->quick_rec;

	if (rec == NULL)
		return;
	s->quick_rec = NULL;
	if (auditlink_submit_ref(s->env->audit, "cmd", rec, AUDIT_REF_KEEP,
	    quick_logged_cb, s) != 0) {
		quick_unrecorded(s);
		return;
	}
	s->audit_pending++;
}

/*
 * Write the command's record, then act: forward it or answer it.  Without
 * an audit log the action runs at once.
 */
static void
log_and_act(struct session *s, const struct epp_msg *m,
    const struct verdict *v, const char *decision, const char *reason,
    const char *approver)
{
	struct rec_session rs;
	json_t *rec;
	int quick;

	s->cmd_submitted = 0;
	if (s->env->audit == NULL) {
		send_alert(s, NULL, NULL);
		run_action(s);
		return;
	}
	/* The last reply's record first: it names the command before. */
	send_held_rsp(s);
	/*
	 * A command that changes nothing is forwarded at once; its record
	 * follows with its reply's (send_quick_rec).  Everything else waits
	 * for its record (docs/audit-log.md).  Nothing is forwarded on a log
	 * known to have failed.
	 */
	quick = s->action == ACT_FORWARD && m != NULL && epp_msg_read_only(m) &&
	    s->alert_body == NULL;
	rec_who(s, &rs);
	rec = s->frame_mac[0] != '\0' ?
	    rec_cmd(&rs, m, v, decision, reason, approver, s->frame_mac) :
	    NULL;
	if (quick && rec != NULL && !auditlink_failed(s->env->audit)) {
		json_decref(s->quick_rec);
		s->quick_rec = rec;
		s->cmd_submitted = 1;
		run_action(s);
		return;
	}
	if (rec == NULL || auditlink_submit_ref(s->env->audit, "cmd", rec,
	    AUDIT_REF_KEEP, cmd_logged_cb, s) != 0) {
		free(s->act_xml);
		s->act_xml = NULL;
		act_reply(s, 2400, "audit_unavailable", NULL);
		send_alert(s, NULL, NULL);
		run_action(s);
		return;
	}
	s->audit_pending++;
	s->cmd_submitted = 1;
	s->state = ST_LOG_CMD;
	event_del(s->deadline);
	s->deadline_kind = DL_NONE;
}

/*
 * The moment a protected change is attempted or executed, someone hears:
 * the alert goes out as soon as the command's record is durable.
 */
static void
change_alert(struct session *s, const char *event, const struct verdict *v,
    const char *object, const char *approver)
{
	json_t *cls = change_classes_json(v->classes);

	json_decref(s->alert_body);
	s->alert_event = event;
	s->alert_body = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s?, s:s?}",
	    "object", object, "classes", cls, "change_id", v->change_id,
	    "requester", s->principal->name, "clid", s->clid[0] ? s->clid :
	    "-", "approver", approver, "locked_by",
	    v->locked_by[0] ? v->locked_by : NULL);
}

/* Send the stashed alert, with the audit record's seq and leaf if known. */
static void
send_alert(struct session *s, const uint64_t *seq, const uint8_t *leaf)
{
	char hex[65];

	if (s->alert_body == NULL)
		return;
	if (seq != NULL && leaf != NULL) {
		hex_encode(leaf, 32, hex);
		json_object_set_new(s->alert_body, "audit_seq",
		    json_integer((json_int_t)*seq));
		json_object_set_new(s->alert_body, "audit_leaf",
		    json_string(hex));
	}
	alertlink_emit(s->env->alerter, s->alert_event, s->alert_body);
	s->alert_body = NULL;
}

static void finish_command(struct session *s, struct pipe_out *po,
    const struct verdict *v, const char *decision, const char *reason,
    const char *approver);

static const char *
change_object(const struct epp_msg *m)
{
	return epp_msg_nobjects(m) ? epp_msg_object(m, 0, NULL, NULL) :
	    epp_msg_name(m);
}

/*
 * The vault's verdict on a held protected change: forward it only if a
 * second operator approved exactly this change (a ticket for its digest,
 * object, clID and requester, consumed now); else answer it.
 */
static void
vault_verdict(void *arg, int rc, enum approval_need need, const char *id,
    const char *reason, const char *approver)
{
	struct session *s = arg;
	struct pipe_out po;
	const struct verdict *v;
	const char *object;

	if (s->state != ST_VAULT || !s->holding)
		return;
	po = s->held;
	s->holding = 0;
	s->state = ST_READY;
	if (s->deadline_kind == DL_VAULT) {
		event_del(s->deadline);
		s->deadline_kind = DL_NONE;
	}
	v = &po.v;
	object = change_object(po.msg);
	if (rc != 0) {
		/* Cannot record the pending change or consume the ticket. */
		log_err("session %llu: %s: the vault cannot judge change %s: "
		    "refusing", (unsigned long long)s->id, client_name(s),
		    v->change_id);
		act_reply(s, 2400, "internal", NULL);
		finish_command(s, &po, v, "reject", "internal", NULL);
	} else if (need == NEED_NONE) {
		log_notice("session %llu: %s: change %s on %s approved by %s: "
		    "ticket consumed, forwarding", (unsigned long long)s->id,
		    client_name(s), v->change_id, object, approver);
		change_alert(s, "ticket_consumed", v, object, approver);
		/* Approved: forwarded, on record with its approver. */
		finish_command(s, &po, v, decision_name(DECISION_ALLOW), NULL,
		    approver);
	} else {
		change_alert(s, APPROVAL_REQUIRED, v, object, NULL);
		act_reply(s, 2304, reason, id[0] ? id : NULL);
		finish_command(s, &po, v, decision_name(v->decision), reason,
		    NULL);
	}
	if (s->state == ST_READY)
		client_input(s);
}

/*
 * A protected change goes to the vault; the session holds it (nothing
 * else is read from the registrar) until the verdict.  Without approvals
 * configured it is simply refused.  Returns 1 when held, 0 when answered
 * (act_reply).
 */
static int
hold_for_vault(struct session *s, struct pipe_out *po)
{
	const struct verdict *v = &po->v;
	struct vaultlink *vl = s->env->vault;
	const char *object = change_object(po->msg);

	if (vl == NULL) {
		change_alert(s, APPROVAL_REQUIRED, v, object, NULL);
		act_reply(s, 2304, APPROVAL_REQUIRED, v->change_id);
		return 0;
	}
	if (vaultlink_require(vl, v->digest, v->canonical, object,
	    s->clid[0] ? s->clid : "-", s->principal->name, vault_verdict,
	    s) != 0) {
		log_err("session %llu: %s: the vault is not reachable: "
		    "refusing change %s", (unsigned long long)s->id,
		    client_name(s), v->change_id);
		act_reply(s, 2400, "internal", NULL);
		return 0;
	}
	s->held = *po;
	memset(po, 0, sizeof(*po));
	s->holding = 1;
	s->state = ST_VAULT;
	arm(s, DL_VAULT, VAULT_TIMEOUT_SEC);
	return 1;
}

static void handle_command(struct session *s, const uint8_t *xml,
    size_t len);

/* The watch session has an answer (ok) or cannot get one. */
static void
ask_cb(void *arg, int ok)
{
	struct session *s = arg;
	uint8_t *xml = s->ask_xml;
	size_t len = s->ask_len;

	s->ask_xml = NULL;
	if (s->state != ST_ASK) {
		free(xml);
		return;
	}
	log_debug("session %llu: the registry %s", (unsigned long long)s->id,
	    ok == 0 ? "answered" : "could not be asked");
	/* Judged again: the answer is in the store now, or it is not and
	 * the second pass refuses (s->asked is set). */
	s->state = ST_READY;
	handle_command(s, xml, len);
	free(xml);
	if (s->state == ST_READY)
		client_input(s);
}

/*
 * Hold the command (a copy: the frame leaves the input buffer) while the
 * watch session asks the registry about domain.
 */
static void
ask_registry(struct session *s, const char *domain, const uint8_t *xml,
    size_t len)
{
	log_info("session %llu: %s: asking the registry about %s before "
	    "judging", (unsigned long long)s->id, client_name(s), domain);
	if ((s->ask_xml = malloc(len ? len : 1)) == NULL) {
		reply_self(s, 2400, "internal", s->cltrid, 1);
		return;
	}
	memcpy(s->ask_xml, xml, len);
	s->ask_len = len;
	s->asked = 1;
	s->state = ST_ASK;
	event_del(s->deadline);
	s->deadline_kind = DL_NONE;
	statelink_ask(s->env->state, domain, ask_cb, s);
}

/*
 * One complete frame from the registrar: parse, validate and judge it
 * (pipeline.h), check what only the session knows (the principal's clIDs,
 * tickets), then log it and act: forward it, or answer it ourselves.
 */
static void
handle_command(struct session *s, const uint8_t *xml, size_t len)
{
	struct pipe_out po;
	const struct verdict *v = NULL;
	const struct epp_msg *m;
	const char *decision = "allow", *reason = NULL;

	clear_inflight(s);
	s->action = ACT_NONE;
	/* Ties the record to the exact bytes received: computed while they
	 * are at hand, as the command may wait for the vault. */
	s->frame_mac[0] = '\0';
	if (s->env->audit != NULL && auditlink_frame_mac(s->env->audit, xml,
	    len, s->frame_mac) != 0)
		s->frame_mac[0] = '\0';
	if (pipeline_judge(s->cfg->xsd, s->env->policy,
	    s->env->regstate, s->clid, xml, len, &po) != 0)
		goto nomem;	/* cannot judge: fail closed */
	m = po.msg;
	if (po.cltrid[0] != '\0' && (s->cltrid = strdup(po.cltrid)) == NULL)
		goto nomem;
	if (m != NULL && epp_msg_kind(m) == EPP_KIND_COMMAND)
		s->cmd = epp_msg_cmd(m);
	/*
	 * Before a successful login only a login (or a hello) means anything;
	 * the gateway answers the rest itself, so nothing reaches the
	 * registry from a session that has not authenticated there.
	 */
	if (s->clid[0] == '\0' && m != NULL && po.action != PIPE_REPLY &&
	    ((epp_msg_kind(m) == EPP_KIND_COMMAND &&
	    s->cmd != EPP_CMD_LOGIN) || epp_msg_kind(m) == EPP_KIND_EXTENSION)) {
		log_notice("session %llu: %s: %s before a successful login",
		    (unsigned long long)s->id, client_name(s), epp_msg_name(m));
		act_reply(s, 2002, "login_required", NULL);
		decision = "reject";
		reason = "login_required";
		goto log;
	}
	if (s->cmd == EPP_CMD_LOGIN && po.action != PIPE_REPLY) {
		if (!principal_may_use_clid(s->principal,
		    epp_msg_login_clid(m))) {
			log_notice("session %llu: principal %s may not log "
			    "in as clID \"%.16s\"", (unsigned long long)s->id,
			    s->principal->name, epp_msg_login_clid(m));
			act_reply(s, 2200, "clid_not_allowed", NULL);
			decision = "reject";
			reason = "clid_not_allowed";
			goto log;	/* refused before judging: no verdict */
		}
		if ((s->login_clid = strdup(epp_msg_login_clid(m))) == NULL)
			goto nomem;
	}
	if (po.judged && po.v.need_state[0] != '\0') {
		if (!s->asked && statelink_askable(s->env->state)) {
			ask_registry(s, po.v.need_state, xml, len);
			pipe_out_clear(&po);
			return;
		}
		/* Nobody to ask, or asked and still nothing: fail closed. */
		log_notice("session %llu: %s: the registry's state of %s is "
		    "not known and cannot be had: refusing",
		    (unsigned long long)s->id, client_name(s), po.v.need_state);
		act_reply(s, 2400, "registry_state_unknown", NULL);
		decision = "reject";
		reason = "registry_state_unknown";
		goto log;
	}
	if (po.judged) {
		v = &po.v;	/* on record from here on */
		log_verdict(s, m, v);
		decision = decision_name(v->decision);
		reason = v->decision == DECISION_ALLOW ? NULL : v->reason;
	}
	switch (po.action) {
	case PIPE_REPLY:
		log_notice("session %llu: %s: syntax error: %s",
		    (unsigned long long)s->id, client_name(s), po.why);
		act_reply(s, po.code, po.token, NULL);
		decision = "reject";
		reason = po.why;
		if (m == NULL)
			metric_inc_labels(s->env->metrics->commands,
			    "unparsable", "reject");
		goto log;
	case PIPE_APPROVAL:
		/* Judged (pipeline.h): decision is the verdict's, set above. */
		if (hold_for_vault(s, &po))
			return;
		reason = s->act_reason;
		goto log;
	case PIPE_FORWARD:
		break;
	}
log:
	finish_command(s, &po, v, decision, reason, NULL);
	return;
nomem:
	pipe_out_clear(&po);
	reply_self(s, 2400, "internal", s->cltrid, 1);
}

/*
 * Put a judged command on record and act: forward what was judged (our
 * serialisation of it), unless the gateway answers it itself.
 */
static void
finish_command(struct session *s, struct pipe_out *po,
    const struct verdict *v, const char *decision, const char *reason,
    const char *approver)
{
	const struct epp_msg *m = po->msg;

	if (s->action != ACT_REPLY) {
		s->act_xml = po->fwd;
		s->act_len = po->fwd_len;
		po->fwd = NULL;
		s->action = ACT_FORWARD;
		if (m != NULL && epp_msg_mutating(m) &&
		    epp_msg_nobjects(m) > 0 &&
		    (epp_msg_obj_type(m) == EPP_OBJ_DOMAIN ||
		    epp_msg_obj_type(m) == EPP_OBJ_HOST)) {
			s->fwd_kind = epp_msg_obj_type(m) == EPP_OBJ_DOMAIN ?
			    RS_DOMAIN : RS_HOST;
			snprintf(s->fwd_object, sizeof(s->fwd_object), "%s",
			    epp_msg_object(m, 0, NULL, NULL));
			s->fwd_classes = policy_touched(m);
		}
	}
	log_and_act(s, m, v, decision, reason, approver);
	pipe_out_clear(po);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	switch (s->deadline_kind) {
	case DL_HANDSHAKE:
		if (s->state == ST_ADMIT)
			log_err("session %llu: %s: no admission from the parent "
			    "within %us", (unsigned long long)s->id, s->peer,
			    s->cfg->gateway.handshake_timeout);
		else
			log_notice("session %llu: %s: TLS handshake timed out",
			    (unsigned long long)s->id, s->peer);
		session_close(s, "handshake timeout");
		break;
	case DL_LOGIN:
		log_notice("session %llu: %s: no successful login within %us",
		    (unsigned long long)s->id, client_name(s),
		    s->cfg->gateway.login_timeout);
		session_close(s, "login timeout");
		break;
	case DL_IDLE:
		log_notice("session %llu: %s: idle for %us",
		    (unsigned long long)s->id, client_name(s),
		    s->cfg->gateway.idle_timeout);
		session_close(s, "idle timeout");
		break;
	case DL_FRAME:
		log_notice("session %llu: %s: frame not complete after %us",
		    (unsigned long long)s->id, client_name(s),
		    s->cfg->gateway.frame_timeout);
		session_close(s, "frame timeout");
		break;
	case DL_VAULT:
		log_err("session %llu: %s: no verdict from the vault within "
		    "%us: refusing the change", (unsigned long long)s->id,
		    client_name(s), VAULT_TIMEOUT_SEC);
		vaultlink_cancel(s->env->vault, s);
		s->deadline_kind = DL_NONE;
		vault_verdict(s, -1, NEED_APPROVAL, "", "internal", "");
		break;
	case DL_FLUSH:
	case DL_NONE:
		session_close(s, "registrar did not read its reply");
		break;
	}
}

static void
up_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	upstream_failed(s, s->state == ST_WAIT_REPLY ? "no reply in time" :
	    "no connection or greeting in time");
}

/*
 * Take complete frames the registrar has sent, one at a time.  Stops when a
 * command is in flight, when input runs out, or when the session ends.
 */
static void
client_input(struct session *s)
{
	const uint8_t *in;
	size_t avail, plen;
	uint32_t total = 0;
	enum frame_status fs;

	while (s->state == ST_READY) {
		in = conn_in(s->client, &avail);
		if (avail == 0)
			return;
		fs = frame_header_parse(in, avail, s->cfg->gateway.max_frame,
		    &plen, &total);
		if (fs == FRAME_TOO_SHORT || fs == FRAME_TOO_LONG) {
			log_warn("session %llu: %s: %s (%lu bytes announced, "
			    "maximum %zu): closing", (unsigned long long)s->id,
			    client_name(s), frame_status_str(fs),
			    (unsigned long)total, s->cfg->gateway.max_frame);
			session_close(s, "bad frame length");
			return;
		}
		if (fs == FRAME_NEED_MORE || avail < FRAME_HEADER_LEN + plen) {
			/* A started frame must finish within frame_timeout;
			 * trickling bytes does not extend it. */
			if (s->deadline_kind != DL_FRAME)
				arm(s, DL_FRAME, s->cfg->gateway.frame_timeout);
			return;
		}
		s->asked = 0;
		handle_command(s, in + FRAME_HEADER_LEN, plen);
		if (s->state == ST_DEAD)
			return;
		conn_consume(s->client, FRAME_HEADER_LEN + plen);
		if (s->state == ST_READY)
			arm_idle(s);
	}
}

static void
client_input_cb(struct conn *c, void *arg)
{
	(void)c;
	client_input(arg);
}

/* The registrar's certificate must name a configured principal. */
static int
identify(struct session *s)
{
	uint8_t fp[32];
	SSL *ssl = conn_ssl(s->client);

	if (tls_peer_fingerprint(ssl, fp) != 0) {
		log_warn("session %llu: %s: no client certificate",
		    (unsigned long long)s->id, s->peer);
		return -1;
	}
	tls_fp_hex(fp, s->fp_hex, sizeof(s->fp_hex));
	if ((s->principal = config_principal_by_fp(s->cfg, fp)) == NULL) {
		log_warn("session %llu: %s: certificate %s is not mapped to "
		    "a principal: refused", (unsigned long long)s->id, s->peer,
		    s->fp_hex);
		return -1;
	}
	if (!(s->principal->roles & ROLE_REQUESTER)) {
		log_warn("session %llu: %s: principal %s has no requester "
		    "role: refused on the EPP listener",
		    (unsigned long long)s->id, s->peer, s->principal->name);
		return -1;
	}
	return 0;
}

/* Admitted: the session counts as open from here. */
static void
opened(struct session *s)
{
	SSL *ssl = conn_ssl(s->client);

	s->opened = 1;
	log_info("session %llu: %s: principal %s (%s, %s)",
	    (unsigned long long)s->id, s->peer, s->principal->name,
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	metric_inc(s->env->metrics->open);
	metric_inc(s->env->metrics->total);
	if (s->env->audit != NULL) {
		struct rec_session rs;

		rec_who(s, &rs);
		(void)auditlink_submit(s->env->audit, "session",
		    rec_session_open(&rs), NULL, NULL);
	}
}

/*
 * Hand the registry's reply (the first n bytes upstream) to the registrar,
 * unchanged, and go on with the next command.
 */
static void
relay_reply(struct session *s, size_t n, int code)
{
	const uint8_t *in;
	size_t avail;

	in = conn_in(s->up, &avail);
	if (conn_write(s->client, in, n) != 0) {
		session_close(s, "registrar connection failed");
		return;
	}
	conn_consume(s->up, n);
	count_reply(s, "registry", code);
	/* The registry executed a change: read the object again now, and
	 * what it shows of these classes is no drift. */
	if (code >= 1000 && code < 2000 && s->fwd_object[0] != '\0')
		statelink_changed(s->env->state, s->fwd_kind,
		    s->fwd_object, s->fwd_classes);
	/* Track logins: the policy and the records need the clID. */
	if (s->cmd == EPP_CMD_LOGIN && code >= 1000 && code < 2000) {
		snprintf(s->clid, sizeof(s->clid), "%s", s->login_clid);
		log_info("session %llu: %s logged in as %s",
		    (unsigned long long)s->id, s->principal->name, s->clid);
	}
	if (s->cmd == EPP_CMD_LOGOUT || (code >= 2500 && code < 2600)) {
		close_after_flush(s, "registry ended the session");
		return;
	}
	clear_inflight(s);
	if (s->draining) {
		close_after_flush(s, "gateway shutting down");
		return;
	}
	set_ready(s);
	client_input(s);
}

/*
 * The last reply's record is durable (or the log failed): a command held
 * for it may go on.
 */
static void
rsp_logged_cb(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct session *s = arg;

	(void)seq;
	(void)leaf;
	if (audit_answered(s))
		return;
	s->rsp_pending = 0;
	if (status != 0) {
		/* The reply went to the registrar unrecorded: nothing more
		 * is forwarded (the link has failed). */
		log_err("session %llu: audit log failed: a reply was relayed "
		    "unrecorded", (unsigned long long)s->id);
		metric_inc(s->env->metrics->audit_failures);
		if (s->state == ST_LOG_RSP && s->action == ACT_FORWARD) {
			free(s->act_xml);
			s->act_xml = NULL;
			act_reply(s, 2400, "audit_unavailable", NULL);
		}
	}
	if (s->state != ST_LOG_RSP)
		return;
	run_action(s);
	if (s->state == ST_READY)
		client_input(s);
}

static uint64_t
usec_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000000u +
	    (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000);
}

/* A complete reply is upstream: record it, then relay it. */
static void
got_reply(struct session *s, const uint8_t *xml, size_t plen)
{
	struct epp_msg *m = NULL;
	struct rec_session rs;
	size_t n = FRAME_HEADER_LEN + plen;
	int code = -1;
	json_t *rec;

	/* The code matters for the record, the login, and a forwarded
	 * change the watch session must re-read (relay_reply). */
	if (s->env->audit != NULL || s->cmd == EPP_CMD_LOGIN ||
	    s->cmd == EPP_CMD_LOGOUT || s->cmd == EPP_CMD_INFO ||
	    s->fwd_object[0] != '\0') {
		if (epp_parse_reply(xml, plen, &m, NULL) == 0)
			code = epp_msg_result_code(m);
	}
	/* An info reply is the registry's word too (watch.h). */
	if (m != NULL)
		statelink_reply(s->env->state, m,
		    (int64_t)time(NULL));
	if (s->env->audit == NULL || !s->cmd_submitted) {
		epp_msg_free(m);
		relay_reply(s, n, code);
		return;
	}
	/*
	 * On record in order, then relayed at once: the next command of
	 * this session is not forwarded before this record is durable
	 * (run_action), so the registrar may see the reply first.
	 */
	rec_who(s, &rs);
	rec = rec_rsp(&rs, "registry", code,
	    m ? epp_msg_result_msg(m) : "unparsable reply",
	    m ? epp_msg_cltrid(m) : NULL, m ? epp_msg_svtrid(m) : NULL,
	    usec_since(&s->sent));
	epp_msg_free(m);
	log_reply(s, rec);
	relay_reply(s, n, code);
}

static void
up_input_cb(struct conn *c, void *arg)
{
	struct session *s = arg;
	const uint8_t *in;
	size_t avail, plen;
	uint32_t total = 0;
	enum frame_status fs;

	while (s->state == ST_GREETING || s->state == ST_WAIT_REPLY) {
		in = conn_in(c, &avail);
		fs = frame_header_parse(in, avail, s->cfg->upstream.max_frame,
		    &plen, &total);
		if (fs == FRAME_TOO_SHORT || fs == FRAME_TOO_LONG) {
			upstream_failed(s, frame_status_str(fs));
			return;
		}
		if (fs == FRAME_NEED_MORE || avail < FRAME_HEADER_LEN + plen)
			return;
		if (s->state == ST_WAIT_REPLY) {
			got_reply(s, in + FRAME_HEADER_LEN, plen);
			continue;
		}
		/* The greeting: relayed unchanged, header included. */
		if (conn_write(s->client, in, FRAME_HEADER_LEN + plen) != 0) {
			session_close(s, "registrar connection failed");
			return;
		}
		conn_consume(c, FRAME_HEADER_LEN + plen);
		log_debug("session %llu: greeting relayed",
		    (unsigned long long)s->id);
		set_ready(s);
		client_input(s);
	}
	if (s->state == ST_READY) {
		(void)conn_in(c, &avail);
		if (avail > 0)	/* the registry spoke out of turn */
			upstream_failed(s, "unsolicited data from the registry");
	}
}

static void
up_connected_cb(struct conn *c, void *arg)
{
	struct session *s = arg;

	log_debug("session %llu: upstream connected (%s)",
	    (unsigned long long)s->id, SSL_get_version(conn_ssl(c)));
	s->state = ST_GREETING;
}

static void
up_error_cb(struct conn *c, void *arg, const char *why, int eof)
{
	struct session *s = arg;

	(void)c;
	upstream_failed(s, eof ? "closed by the registry" : why);
}

static void
drained_cb(struct conn *c, void *arg)
{
	(void)c;
	session_close(arg, "closed after the final reply");
}

static const struct conn_cbs up_cbs = {
	up_connected_cb, up_input_cb, drained_cb, up_error_cb
};

static void
connect_upstream(struct session *s)
{
	SSL *ssl;
	const struct config *cfg = s->cfg;
	struct err e = ERR_INIT;

	s->state = ST_CONNECTING;
	arm_up_deadline(s, cfg->upstream.connect_timeout);
	if ((ssl = tls_client_new(s->client_ctx, cfg->upstream.server_name)) ==
	    NULL) {
		upstream_failed(s, "cannot set up TLS");
		return;
	}
	if ((s->up = conn_connect(s->env->base,
	    (const struct sockaddr *)&cfg->upstream.address.ss,
	    cfg->upstream.address.len, ssl, &up_cbs, s,
	    cfg->upstream.max_frame + 16384, &e)) == NULL)
		upstream_failed(s, err_msg(&e));
}

static void
client_connected_cb(struct conn *c, void *arg)
{
	struct session *s = arg;

	(void)c;
	event_del(s->deadline);
	s->deadline_kind = DL_NONE;
	if (identify(s) != 0) {
		session_close(s, "unknown client certificate");
		return;
	}
	/* The caps per principal and per address hold across workers: the
	 * parent counts.  Its answer is due within the handshake timeout. */
	s->state = ST_ADMIT;
	arm(s, DL_HANDSHAKE, s->cfg->gateway.handshake_timeout);
	if (proxy_admit(s->proxy, s, s->addr, s->principal->name,
	    &s->admitting) != 0) {
		log_err("session %llu: %s: cannot ask the parent to admit it",
		    (unsigned long long)s->id, s->peer);
		session_close(s, "not admitted");
	}
}

void
session_admitted(struct session *s, int ok, const char *why)
{
	if (s->state != ST_ADMIT)
		return;
	event_del(s->deadline);
	s->deadline_kind = DL_NONE;
	if (!ok) {
		s->admitting = 0;	/* the parent did not count it */
		if (why != NULL && strcmp(why, "max_sessions_per_principal") == 0)
			log_warn("session %llu: %s: principal %s already has %u "
			    "sessions (max_sessions_per_principal): refused",
			    (unsigned long long)s->id, s->peer,
			    s->principal->name,
			    s->cfg->gateway.max_sessions_principal);
		else if (why != NULL &&
		    strcmp(why, "max_sessions_per_address") == 0)
			log_warn("session %llu: %s already has %u sessions "
			    "(max_sessions_per_address): refused",
			    (unsigned long long)s->id, s->addr,
			    s->cfg->gateway.max_sessions_address);
		else if (why != NULL && strcmp(why, "max_sessions") == 0)
			log_warn("session %llu: %s: the daemon has %u sessions "
			    "(max_sessions): refused", (unsigned long long)s->id,
			    s->peer, s->cfg->gateway.max_sessions);
		else
			log_warn("session %llu: %s: not admitted (%s)",
			    (unsigned long long)s->id, s->peer,
			    why != NULL ? why : "?");
		session_close(s, "not admitted");
		return;
	}
	s->admitted = s->admitting;
	s->admitting = 0;
	opened(s);
	/* Registrar input waits in its buffer until the registry greets. */
	connect_upstream(s);
}

static void
client_error_cb(struct conn *c, void *arg, const char *why, int eof)
{
	struct session *s = arg;

	(void)c;
	if (s->state == ST_HANDSHAKE) {
		metric_inc(s->env->metrics->handshake_failures);
		log_warn("session %llu: %s: %s", (unsigned long long)s->id,
		    s->peer, why);
		session_close(s, "handshake failed");
		return;
	}
	session_close(s, eof ? "registrar disconnected" : why);
}

static const struct conn_cbs client_cbs = {
	client_connected_cb, client_input_cb, drained_cb, client_error_cb
};

int
session_metrics_register(struct metrics *m, struct session_metrics *sm)
{
	sm->open = metrics_gauge(m, "eppgw_sessions_open",
	    "Registrar sessions open now.");
	sm->total = metrics_counter(m, "eppgw_sessions_total",
	    "Registrar sessions accepted.");
	sm->handshake_failures = metrics_counter(m,
	    "eppgw_handshake_failures_total",
	    "Registrar TLS handshakes refused or failed.");
	sm->upstream_errors = metrics_counter(m, "eppgw_upstream_errors_total",
	    "Registry connections that failed or broke.");
	sm->audit_failures = metrics_counter(m, "eppgw_audit_failures_total",
	    "Commands refused because the audit log failed.");
	sm->commands = metrics_family(m, "eppgw_commands_total",
	    "Commands by type and decision.", "command", "decision");
	sm->replies = metrics_family(m, "eppgw_replies_total",
	    "Replies by source (registry or gateway) and result code.", "src",
	    "code");
	if (sm->open == NULL || sm->total == NULL ||
	    sm->handshake_failures == NULL || sm->upstream_errors == NULL ||
	    sm->audit_failures == NULL || sm->commands == NULL ||
	    sm->replies == NULL)
		return -1;
	return 0;
}

int
session_start(struct proxy *p, const struct session_env *env,
    struct session_list *list, uint64_t id, evutil_socket_t fd,
    const struct sockaddr *sa)
{
	struct session *s;
	SSL *ssl;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	s->id = id;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->proxy = p;
	s->env = env;
	/* Ours for the session's life: a reload does not change them. */
	s->cfg = config_ref(env->cfg);
	s->client_ctx = env->client_ctx;
	SSL_CTX_up_ref(s->client_ctx);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const void *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(s->peer, sizeof(s->peer), "%s:%d", host, port);
	snprintf(s->addr, sizeof(s->addr), "%s", host);
	if (proxy_count_take(p, PROXY_PER_ADDRESS, s->addr,
	    s->cfg->gateway.max_sessions_address) != 0) {
		log_warn("session %llu: %s already has %u sessions "
		    "(max_sessions_per_address): refused",
		    (unsigned long long)id, s->addr,
		    s->cfg->gateway.max_sessions_address);
		evutil_closesocket(fd);
		config_unref(s->cfg);
		SSL_CTX_free(s->client_ctx);
		free(s);
		return -1;
	}
	s->counted_addr = 1;

	s->deadline = evtimer_new(s->env->base, deadline_cb, s);
	s->up_deadline = evtimer_new(s->env->base, up_deadline_cb, s);
	if (s->deadline == NULL || s->up_deadline == NULL ||
	    (ssl = SSL_new(env->server_ctx)) == NULL) {
		evutil_closesocket(fd);
		goto fail;
	}
	/* Never hold more than one frame (plus a TLS record) per session. */
	if ((s->client = conn_accept(s->env->base, fd, ssl, &client_cbs, s,
	    s->cfg->gateway.max_frame + 16384)) == NULL)
		goto fail;
	arm(s, DL_HANDSHAKE, s->cfg->gateway.handshake_timeout);
	log_debug("session %llu: connection from %s", (unsigned long long)id,
	    s->peer);
	s->list = list;
	s->next = list->head;
	if (list->head != NULL)
		list->head->prev = s;
	list->head = s;
	list->count++;
	return 0;
fail:
	log_err("session %llu: cannot set up the session",
	    (unsigned long long)id);
	release(s);
	if (s->deadline != NULL)
		event_free(s->deadline);
	config_unref(s->cfg);
	SSL_CTX_free(s->client_ctx);
	free(s);
	return -1;
}
