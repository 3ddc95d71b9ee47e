/*
 * auditlink.c: a channel to the audit writer (auditlink.h).
 *
 * Records go out in submit order and the writer answers in that order, so
 * the pending callbacks are a FIFO; an answer for anything but the oldest
 * record is a broken peer.
 */
#include <sys/uio.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auditlink.h"
#include "hex.h"
#include "ipc.h"
#include "log.h"

struct pending {
	struct pending	*next;
	uint32_t	 id;
	audit_cb	 cb;
	void		*arg;
};

struct auditlink {
	struct event_base *base;
	struct ipc	*ch;
	int		 keyed;		/* IPC_AUDIT_KEYS received */
	int		 failed;	/* the writer said the log failed */
	uint8_t		 mac_key[32];
	uint8_t		 policy_key[32];
	int		 has_policy_key;
	uint32_t	 next_id;
	struct pending	*head, **tail;
	void		(*on_ready)(void *);
	void		*on_ready_arg;
};

struct auditlink *
auditlink_new(struct event_base *base)
{
	struct auditlink *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	l->tail = &l->head;
	return l;
}

/* Every record not yet answered fails: it may or may not be on disk. */
static void
fail_pending(struct auditlink *l)
{
	struct pending *p;

	while ((p = l->head) != NULL) {
		l->head = p->next;
		if (l->head == NULL)
			l->tail = &l->head;
		if (p->cb != NULL)
			p->cb(p->arg, -1, 0, NULL);
		free(p);
	}
}

static void
drop_channel(struct auditlink *l)
{
	ipc_free(l->ch);
	l->ch = NULL;
	l->keyed = 0;
	OPENSSL_cleanse(l->mac_key, sizeof(l->mac_key));
	fail_pending(l);
}

void
auditlink_free(struct auditlink *l)
{
	if (l == NULL)
		return;
	ipc_kick(l->ch);	/* records queued this turn: a session's close */
	drop_channel(l);
	OPENSSL_cleanse(l->policy_key, sizeof(l->policy_key));
	free(l);
}

/* 64 hex digits (a key, a digest) into 32 bytes; -1 if not. */
static int
hex32(const char *s, uint8_t out[32])
{
	return s != NULL ? hex_decode(s, strlen(s), out, 32) : -1;
}

/* IPC_AUDIT_DONE: status, seq, leaf (ipc.h). */
static void
on_done(struct auditlink *l, const struct ipc_msg *m)
{
	struct pending *p = l->head;
	uint64_t seq = 0;
	int status;

	if (p == NULL || p->id != m->id || m->len != 1 + 8 + 32) {
		ipc_fail(l->ch, "audit answer out of order");
		return;
	}
	status = m->data[0] == 0 ? 0 : -1;
	for (int i = 7; i >= 0; i--)
		seq = seq << 8 | m->data[1 + i];
	if (status != 0)
		l->failed = 1;
	l->head = p->next;
	if (l->head == NULL)
		l->tail = &l->head;
	if (p->cb != NULL)
		p->cb(p->arg, status, status == 0 ? seq : 0,
		    status == 0 ? m->data + 9 : NULL);
	free(p);
}

static void
on_msg(struct ipc *c, const struct ipc_msg *m, void *arg)
{
	struct auditlink *l = arg;
	json_t *j;

	(void)c;
	switch (m->type) {
	case IPC_AUDIT_DONE:
		on_done(l, m);
		return;
	case IPC_AUDIT_FAILED:
		/* Its records' answers follow; nothing more goes out. */
		l->failed = 1;
		return;
	case IPC_AUDIT_KEYS:
		if ((j = ipc_msg_json(m, NULL, NULL)) == NULL ||
		    hex32(json_string_value(json_object_get(j, "mac_key")),
		    l->mac_key) != 0) {
			json_decref(j);
			ipc_fail(l->ch, "bad keys message");
			return;
		}
		l->has_policy_key = hex32(json_string_value(json_object_get(j,
		    "policy_key")), l->policy_key) == 0;
		json_decref(j);
		l->keyed = 1;
		if (l->on_ready != NULL)
			l->on_ready(l->on_ready_arg);
		return;
	default:
		ipc_fail(l->ch, "unexpected message from the audit writer");
	}
}

static void
on_closed(struct ipc *c, const char *why, void *arg)
{
	struct auditlink *l = arg;

	(void)c;
	log_err("audit writer channel closed (%s): nothing more is "
	    "forwarded until it is back", why);
	drop_channel(l);
}

int
auditlink_attach(struct auditlink *l, int fd)
{
	drop_channel(l);
	l->failed = 0;
	if ((l->ch = ipc_new(l->base, fd, "audit", 0, on_msg, on_closed,
	    l)) == NULL)
		return -1;
	ipc_set_batching(l->ch, 1);
	return 0;
}

int
auditlink_ready(const struct auditlink *l)
{
	return l != NULL && ipc_alive(l->ch) && l->keyed;
}

void
auditlink_on_ready(struct auditlink *l, void (*fn)(void *), void *arg)
{
	l->on_ready = fn;
	l->on_ready_arg = arg;
}

int
auditlink_failed(const struct auditlink *l)
{
	return l == NULL || !auditlink_ready(l) || l->failed;
}

int
auditlink_submit(struct auditlink *l, const char *t, json_t *fields,
    audit_cb cb, void *arg)
{
	return auditlink_submit_ref(l, t, fields, AUDIT_REF_NONE, cb, arg);
}

/*
 * The fields go serialised as the log writes them (jcanon.h): the audit
 * writer only checks and splices them, the cost of a record stays here,
 * spread over the workers (IPC_AUDIT_SUBMIT, auditd.c).
 */
int
auditlink_submit_ref(struct auditlink *l, const char *t, json_t *fields,
    enum audit_ref_op op, audit_cb cb, void *arg)
{
	struct pending *p = NULL;
	struct iovec iov[2];
	uint8_t head[2 + 32];
	size_t tlen = strlen(t);
	char *body = NULL;

	if (fields == NULL)
		fields = json_object();
	if (auditlink_failed(l) || tlen == 0 || tlen > 32 ||
	    (body = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL || (p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	head[0] = (uint8_t)op;
	head[1] = (uint8_t)tlen;
	memcpy(head + 2, t, tlen);
	iov[0].iov_base = head;
	iov[0].iov_len = 2 + tlen;
	iov[1].iov_base = body;
	iov[1].iov_len = strlen(body);
	p->id = ++l->next_id;
	p->cb = cb;
	p->arg = arg;
	if (ipc_sendv(l->ch, IPC_AUDIT_SUBMIT, p->id, iov, 2, -1) != 0)
		goto fail;
	*l->tail = p;
	l->tail = &p->next;
	free(body);
	json_decref(fields);
	return 0;
 fail:
	free(p);
	free(body);
	json_decref(fields);
	return -1;
}

int
auditlink_frame_mac(const struct auditlink *l, const uint8_t *frame,
    size_t len, char out[65])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!auditlink_ready(l) || HMAC(EVP_sha256(), l->mac_key,
	    sizeof(l->mac_key), frame, len, md, &n) == NULL || n != 32)
		return -1;
	hex_encode(md, n, out);
	return 0;
}

int
auditlink_policy_key(const struct auditlink *l, uint8_t key[32])
{
	if (l == NULL || !l->has_policy_key)
		return -1;
	memcpy(key, l->policy_key, 32);
	return 0;
}

