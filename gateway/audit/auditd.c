/*
 * auditd.c: the audit writer process (proc.h).
 *
 * It alone opens the log directory and the signing key.  Every other
 * process writes records through a channel (auditlink.h): a record is
 * submitted, made durable by the group commit (audit.h), and answered
 * with its seq and leaf hash, in order.  Records the log writes itself
 * (open, recovery, checkpoint, close, break) cannot be submitted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "alertlink.h"
#include "audit.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "config.h"
#include "err.h"
#include "hex.h"
#include "ipc.h"
#include "log.h"
#include "merkle.h"
#include "peers.h"
#include "proc.h"
#include "sandbox.h"

struct client {
	struct client	*next;
	struct auditd	*d;
	struct ipc	*ch;
	char		 name[16];
	uint64_t	 no;		/* unique in this process's life */
	unsigned	 refs;		/* records awaiting durability + 1 */
};

struct req {
	struct client	*c;
	uint32_t	 id;
};

struct auditd {
	struct event_base *base;
	struct audit	*audit;
	struct alertlink *alert;	/* its own alerts: checkpoints */
	struct event	*ev_announce;
	uint64_t	 announced;	/* size of the last one sent */
	struct peers	*peers;		/* the parent's channel */
	struct client	*clients;
	uint64_t	 nclients;	/* ever attached */
	const struct config *cfg;
};

static void
client_unref(struct client *c)
{
	struct client **pp;

	if (--c->refs > 0)
		return;
	for (pp = &c->d->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

static void
done_cb(void *arg, int status, uint64_t seq, const uint8_t leaf[32])
{
	struct req *r = arg;
	uint8_t msg[1 + 8 + 32];

	if (ipc_alive(r->c->ch)) {
		/* Binary and batched (ipc_set_batching): one per record. */
		memset(msg, 0, sizeof(msg));
		msg[0] = status == 0 ? 0 : 1;
		for (int i = 0; i < 8; i++)
			msg[1 + i] = (uint8_t)(seq >> (8 * i));
		if (status == 0)
			memcpy(msg + 9, leaf, 32);
		(void)ipc_send(r->c->ch, IPC_AUDIT_DONE, r->id, msg,
		    sizeof(msg), -1);
	}
	client_unref(r->c);
	free(r);
}

/* Types only the log itself writes. */
static int
own_type(const char *t)
{
	static const char *const own[] = { "open", "recovery", "checkpoint",
	    "break", "close" };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(t, own[i]) == 0)
			return 1;
	return 0;
}

/*
 * IPC_AUDIT_SUBMIT: ref op (1 byte: enum audit_ref_op), the type's length
 * (1 byte), the type, then the fields as canonical JSON (jcanon.h), which
 * audit_submit_body checks.  A reply's key is the client and the record's
 * sess, so one worker cannot touch another's.
 */
static void
submit(struct client *c, const struct ipc_msg *m)
{
	char t[33], ns[24], *body;
	size_t tlen, blen;
	struct req *r;
	uint8_t op;

	if (m->len < 2 || (op = m->data[0]) > AUDIT_REF_DROP ||
	    (tlen = m->data[1]) == 0 || tlen >= sizeof(t) ||
	    m->len < 2 + tlen) {
		ipc_fail(c->ch, "malformed audit record");
		return;
	}
	memcpy(t, m->data + 2, tlen);
	t[tlen] = '\0';
	if (own_type(t)) {
		ipc_fail(c->ch, "malformed audit record");
		return;
	}
	blen = m->len - 2 - tlen;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (body = malloc(blen + 1)) == NULL) {
		free(r);
		ipc_fail(c->ch, "out of memory");
		return;
	}
	memcpy(body, m->data + 2 + tlen, blen);
	body[blen] = '\0';
	snprintf(ns, sizeof(ns), "%llu", (unsigned long long)c->no);
	/* A session's own close is a record like any other. */
	r->c = c;
	r->id = m->id;
	c->refs++;
	if (audit_submit_body(c->d->audit, t, body, blen,
	    (enum audit_ref_op)op, ns, done_cb, r) != 0) {
		/* Not canonical is the submitter's fault; a failed log is
		 * answered like any other failure. */
		if (!audit_failed(c->d->audit)) {
			c->refs--;
			free(r);
			ipc_fail(c->ch, "malformed audit record");
			return;
		}
		done_cb(r, -1, 0, NULL);
	}
}

/* The log has failed: every peer stops forwarding now. */
static void
log_failed(void *arg)
{
	struct auditd *d = arg;

	for (struct client *c = d->clients; c != NULL; c = c->next)
		if (ipc_alive(c->ch))
			(void)ipc_send(c->ch, IPC_AUDIT_FAILED, 0, NULL, 0,
			    -1);
}

static void
client_msg(struct ipc *ch, const struct ipc_msg *m, void *arg)
{
	struct client *c = arg;

	switch (m->type) {
	case IPC_AUDIT_SUBMIT:
		submit(c, m);
		return;
	default:
		ipc_fail(ch, "unexpected message for the audit writer");
	}
}

static void
client_closed(struct ipc *ch, const char *why, void *arg)
{
	struct client *c = arg;

	(void)why;
	ipc_free(ch);
	c->ch = NULL;
	client_unref(c);
}

static void
add_client(struct auditd *d, const char *name, int fd)
{
	uint8_t mac[32], pol[32];
	char mhex[65], phex[65];
	struct client *c;
	int haspol;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->d = d;
	c->refs = 1;
	c->no = ++d->nclients;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if ((c->ch = ipc_new(d->base, fd, name, 0, client_msg, client_closed,
	    c)) == NULL) {
		free(c);
		return;
	}
	ipc_set_batching(c->ch, 1);
	c->next = d->clients;
	d->clients = c;
	haspol = audit_keys(d->audit, mac, pol) == 0;
	hex_encode(mac, 32, mhex);
	hex_encode(pol, 32, phex);
	/* The policy key only where [policy] secret_key does not set one. */
	(void)ipc_send_json(c->ch, IPC_AUDIT_KEYS, 0, json_pack("{s:s, s:s?}",
	    "mac_key", mhex, "policy_key", haspol &&
	    d->cfg->policy_conf.secret_key == NULL ? phex : NULL), NULL, 0);
	if (audit_failed(d->audit))
		(void)ipc_send(c->ch, IPC_AUDIT_FAILED, 0, NULL, 0, -1);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(pol, sizeof(pol));
	OPENSSL_cleanse(mhex, sizeof(mhex));
	OPENSSL_cleanse(phex, sizeof(phex));
}

static void
stats_text(void *arg, struct evbuffer *out)
{
	struct auditd *d = arg;
	struct audit_stats st;

	audit_stats(d->audit, &st);
	evbuffer_add_printf(out, "# HELP eppgw_audit_records_total Audit "
	    "records made durable.\n# TYPE eppgw_audit_records_total counter\n"
	    "eppgw_audit_records_total %llu\n"
	    "# HELP eppgw_audit_syncs_total Group commits (one fdatasync "
	    "each).\n# TYPE eppgw_audit_syncs_total counter\n"
	    "eppgw_audit_syncs_total %llu\n"
	    "# HELP eppgw_audit_sync_seconds_total Time spent in fdatasync.\n"
	    "# TYPE eppgw_audit_sync_seconds_total counter\n"
	    "eppgw_audit_sync_seconds_total %.6f\n"
	    "# HELP eppgw_audit_sync_seconds_max Longest fdatasync.\n"
	    "# TYPE eppgw_audit_sync_seconds_max gauge\n"
	    "eppgw_audit_sync_seconds_max %.6f\n"
	    "# HELP eppgw_audit_batch_max Largest group commit (records).\n"
	    "# TYPE eppgw_audit_batch_max gauge\n"
	    "eppgw_audit_batch_max %llu\n"
	    "# HELP eppgw_audit_failed 1 once the audit log has failed.\n"
	    "# TYPE eppgw_audit_failed gauge\neppgw_audit_failed %d\n",
	    (unsigned long long)st.records, (unsigned long long)st.syncs,
	    (double)st.sync_us / 1e6, (double)st.sync_us_max / 1e6,
	    (unsigned long long)st.batch_max, st.failed);
}

/*
 * Every checkpoint the log publishes (the checkpoint file) goes to the
 * alert webhook too, at most once a CHECKPOINT_ALERT_SEC, as a signed
 * `checkpoint` event: a copy outside the machine, which catches a log
 * later cut short or rolled back with its checkpoint files (eppgw-audit
 * verify --known-checkpoint).  Read from the file the writer replaced,
 * so nothing is announced that is not durable.
 */
#define CHECKPOINT_ALERT_SEC	60

static void
announce(evutil_socket_t fd, short what, void *arg)
{
	struct auditd *d = arg;
	struct checkpoint cp;
	char path[4096], note[CHECKPOINT_MAX_NOTE + 1], root[65];
	ssize_t n;
	int nfd;

	(void)fd;
	(void)what;
	if (d->alert == NULL || !alertlink_ready(d->alert))
		return;
	snprintf(path, sizeof(path), "%s/%s", d->cfg->audit.dir,
	    AUDIT_CHECKPOINT_FILE);
	if ((nfd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(nfd, note, sizeof(note) - 1);
	close(nfd);
	if (n <= 0)
		return;
	note[n] = '\0';
	if (checkpoint_open(note, (size_t)n, NULL, &cp, NULL) !=
	    CHECKPOINT_OK || cp.size == d->announced)
		return;
	d->announced = cp.size;
	merkle_hex(cp.root, root);
	alertlink_emit(d->alert, "checkpoint", json_pack("{s:s, s:I, s:s, "
	    "s:s}", "origin", cp.origin, "size", (json_int_t)cp.size, "root",
	    root, "note", note));
}

static void
on_peer(void *arg, enum proc_kind k, int alerts, int fd)
{
	struct auditd *d = arg;

	if (alerts && k == PROC_ALERTER) {
		(void)alertlink_attach(d->alert, fd);
		announce(-1, 0, d);
	} else
		add_client(d, proc_name(k), fd);
}

/* Its peers are all clients, with their own list (struct client). */
static const struct peers_ops ops = {
	.on_peer = on_peer,
	.on_stats = stats_text,
};

int
audit_proc(struct config *cfg, int ctl)
{
	struct auditd d;
	struct err e = ERR_INIT;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	if (sandbox_protect_memory(&e) != 0) {
		log_err("audit: %s", err_msg(&e));
		return 1;
	}
	if ((d.base = event_base_new()) == NULL ||
	    proc_drop_privileges(cfg) != 0)
		goto out;
	if (cfg->alerts.url != NULL && ((d.alert = alertlink_new(d.base)) ==
	    NULL || (d.ev_announce = event_new(d.base, -1, EV_PERSIST,
	    announce, &d)) == NULL || event_add(d.ev_announce,
	    &(struct timeval){ CHECKPOINT_ALERT_SEC, 0 }) != 0))
		goto out;
	if (audit_open(d.base, &cfg->audit, NULL, &d.audit, &e) != 0) {
		log_err("audit: %s", err_msg(&e));
		goto out;
	}
	audit_on_failure(d.audit, log_failed, &d);
	log_notice("audit log in %s", cfg->audit.dir);
	if ((d.peers = peers_new(d.base, PROC_AUDIT, ctl, &ops, &d)) ==
	    NULL || proc_ready(ctl) != 0)
		goto out;
	event_base_dispatch(d.base);
	rc = 0;
out:
	peers_free(d.peers);
	/* Last: the final checkpoint covers every record received. */
	audit_close(d.audit);
	if (d.ev_announce != NULL)
		event_free(d.ev_announce);
	alertlink_free(d.alert);
	while (d.clients != NULL) {
		struct client *c = d.clients;

		d.clients = c->next;
		ipc_kick(c->ch);	/* the last answers */
		ipc_free(c->ch);
		free(c);
	}
	if (d.base)
		event_base_free(d.base);
	return rc;
}
