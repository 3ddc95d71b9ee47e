/*
 * vaultlink.c: a worker's channel to the vault (vaultlink.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "ipc.h"
#include "log.h"
#include "vaultlink.h"

struct waiting {
	struct waiting	*next;
	uint32_t	 id;
	vault_verdict_fn cb;
	void		*arg;
};

struct vaultlink {
	struct event_base *base;
	struct ipc	*ch;
	uint32_t	 next_id;
	struct waiting	*waiting;
	void		(*on_req)(void *, uint16_t, uint32_t, json_t *);
	void		*on_req_arg;
};

struct vaultlink *
vaultlink_new(struct event_base *base)
{
	struct vaultlink *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->base = base;
	return l;
}

/* Verdicts that will never come: fail closed. */
static void
fail_waiting(struct vaultlink *l, int run)
{
	struct waiting *w;

	while ((w = l->waiting) != NULL) {
		l->waiting = w->next;
		if (run && w->cb != NULL)
			w->cb(w->arg, -1, NEED_APPROVAL, "", "internal", "");
		free(w);
	}
}

void
vaultlink_free(struct vaultlink *l)
{
	if (l == NULL)
		return;
	ipc_free(l->ch);
	fail_waiting(l, 0);
	free(l);
}

/*
 * The reason as one of approval.h's tokens (static: a session keeps the
 * pointer for its reply); anything else from the vault is "internal".
 */
static const char *
reason_token(const char *r)
{
	static const char *const tokens[] = { APPROVAL_REQUIRED,
	    APPROVAL_TICKET_EXPIRED, APPROVAL_DIGEST_MISMATCH,
	    APPROVAL_PENDING_LIMIT, APPROVAL_STORAGE };

	for (size_t i = 0; r != NULL && i < sizeof(tokens) /
	    sizeof(tokens[0]); i++)
		if (strcmp(r, tokens[i]) == 0)
			return tokens[i];
	return "internal";
}

static void
on_verdict(struct vaultlink *l, const struct ipc_msg *m)
{
	struct waiting **pp, *w;
	json_t *j;
	const char *id, *reason, *approver;
	int rc;

	for (pp = &l->waiting; (w = *pp) != NULL; pp = &w->next)
		if (w->id == m->id)
			break;
	if (w == NULL || (j = ipc_msg_json(m, NULL, NULL)) == NULL) {
		ipc_fail(l->ch, "verdict for no question");
		return;
	}
	*pp = w->next;
	rc = (int)json_integer_value(json_object_get(j, "rc"));
	id = json_string_value(json_object_get(j, "id"));
	reason = json_string_value(json_object_get(j, "reason"));
	approver = json_string_value(json_object_get(j, "approver"));
	if (id == NULL || strlen(id) > 12 || (approver != NULL &&
	    strlen(approver) >= APPROVAL_NAME_MAX))
		rc = -1;
	if (w->cb != NULL)
		w->cb(w->arg, rc == 0 ? 0 : -1, json_is_true(json_object_get(j,
		    "ticket")) ? NEED_NONE : NEED_APPROVAL, id ? id : "",
		    reason_token(reason), approver ? approver : "");
	free(w);
	json_decref(j);
}

static void
on_msg(struct ipc *c, const struct ipc_msg *m, void *arg)
{
	struct vaultlink *l = arg;
	json_t *j;

	switch (m->type) {
	case IPC_VAULT_VERDICT:
		on_verdict(l, m);
		return;
	case IPC_LOCK:
		if ((j = ipc_msg_json(m, NULL, NULL)) == NULL) {
			ipc_fail(c, "malformed request from the vault");
			return;
		}
		if (l->on_req != NULL)
			l->on_req(l->on_req_arg, m->type, m->id, j);
		json_decref(j);
		return;
	default:
		ipc_fail(c, "unexpected message from the vault");
	}
}

static void
on_closed(struct ipc *c, const char *why, void *arg)
{
	struct vaultlink *l = arg;

	(void)c;
	log_err("vault channel closed (%s): protected changes are refused "
	    "until it is back", why);
	ipc_free(l->ch);
	l->ch = NULL;
	fail_waiting(l, 1);
}

int
vaultlink_attach(struct vaultlink *l, int fd)
{
	ipc_free(l->ch);
	l->ch = NULL;
	fail_waiting(l, 1);
	if ((l->ch = ipc_new(l->base, fd, "vault", 0, on_msg, on_closed,
	    l)) == NULL)
		return -1;
	return 0;
}

int
vaultlink_ready(const struct vaultlink *l)
{
	return l != NULL && ipc_alive(l->ch);
}

int
vaultlink_require(struct vaultlink *l, const uint8_t digest[32],
    const char *canonical, const char *object, const char *clid,
    const char *requester, vault_verdict_fn cb, void *arg)
{
	struct waiting *w;
	char hex[65];

	if (!vaultlink_ready(l) || (w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	hex_encode(digest, 32, hex);
	w->id = ++l->next_id;
	w->cb = cb;
	w->arg = arg;
	if (ipc_send_json(l->ch, IPC_VAULT_REQUIRE, w->id, json_pack(
	    "{s:s, s:s, s:s, s:s, s:s}", "digest", hex, "canonical",
	    canonical, "object", object, "clid", clid, "requester",
	    requester), NULL, 0) != 0) {
		free(w);
		return -1;
	}
	w->next = l->waiting;
	l->waiting = w;
	return 0;
}

void
vaultlink_cancel(struct vaultlink *l, void *arg)
{
	if (l == NULL)
		return;
	for (struct waiting *w = l->waiting; w != NULL; w = w->next)
		if (w->arg == arg)
			w->cb = NULL;
}

void
vaultlink_on_request(struct vaultlink *l, void (*fn)(void *, uint16_t,
    uint32_t, json_t *), void *arg)
{
	l->on_req = fn;
	l->on_req_arg = arg;
}
