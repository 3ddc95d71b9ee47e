/*
 * policy.c: the lock policy and the change digest (see policy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "change.h"
#include "frame.h"
#include "hex.h"
#include "lock.h"
#include "names.h"
#include "policy.h"
#include "regstate.h"

struct policy {
	unsigned		 protected_classes;
	struct locklist		*own;		/* policy_new's list, or NULL */
	const struct locklist	*locks;		/* the list judged against */
	uint8_t			 secret_key[32];	/* see policy_set_secret_key */
	int			 keyed;
};

struct policy *
policy_new(unsigned protected_classes, struct locklist *locks)
{
	struct policy *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->protected_classes = protected_classes & CLASS_ALL;
	p->own = locks;
	p->locks = locks;
	return p;
}

struct policy *
policy_derive(const struct policy *base, const struct locklist *locks)
{
	struct policy *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->protected_classes = base->protected_classes;
	p->locks = locks;
	memcpy(p->secret_key, base->secret_key, sizeof(p->secret_key));
	p->keyed = base->keyed;
	return p;
}

void
policy_set_secret_key(struct policy *p, const uint8_t key[32])
{
	memcpy(p->secret_key, key, sizeof(p->secret_key));
	p->keyed = 1;
}

int
policy_keyed(const struct policy *p)
{
	return p->keyed;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p->secret_key, sizeof(p->secret_key));
	locklist_free(p->own);
	free(p);
}

const struct locklist *
policy_locks(const struct policy *p)
{
	return p->locks;
}

/* A domain's own statuses lock it: client/serverUpdateProhibited. */
static int
status_locked(const struct rs_obj *o)
{
	return rs_obj_has(o, "status=clientUpdateProhibited") ||
	    rs_obj_has(o, "status=serverUpdateProhibited");
}

int
policy_domain_locked(const struct policy *p, const struct regstate *rs,
    const char *name, const char **entry)
{
	if (locklist_domain(p->locks, name, entry))
		return 1;
	if (status_locked(regstate_get(rs, RS_DOMAIN, name))) {
		if (entry != NULL)
			*entry = "registry status UpdateProhibited";
		return 1;
	}
	return 0;
}

int
policy_status_locks(const char *const *statuses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(statuses[i], "clientUpdateProhibited") == 0 ||
		    strcmp(statuses[i], "serverUpdateProhibited") == 0)
			return 1;
	return 0;
}

unsigned
policy_protected(const struct policy *p)
{
	return p->protected_classes;
}

const char *
decision_name(enum decision d)
{
	switch (d) {
	case DECISION_ALLOW:
		return "allow";
	case DECISION_APPROVAL:
		return "approval_required";
	case DECISION_REJECT:
		return "reject";
	}
	return "reject";
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The canonical text: each line is at most a few times the XML it came
 * from (a secret becomes its hash), and a frame is at most
 * FRAME_LIMIT_MAX.
 */
#define CANON_TEXT_MAX	((size_t)4 * FRAME_LIMIT_MAX)

/* Add a line a + c; any failure poisons the text (*failed). */
static void
sb_add(struct buf *b, int *failed, const char *a, const char *c)
{
	if (!*failed && buf_addf(b, "%s%s\n", a, c ? c : "") == -1)
		*failed = 1;
}

/*
 * A change line ending in the plain hash of a secret ("...sha256:HEX"),
 * keyed: "...hmac:HEX2", HEX2 = HMAC-SHA256(key, HEX).  Without the key a
 * pending change's text and a change id say nothing that could confirm a
 * guessed authInfo.  Returns a new string, or NULL.
 */
static char *
keyed_line(const struct policy *p, const char *line)
{
	const char *at = strrchr(line, ':');
	size_t pre;
	uint8_t md[32];
	unsigned n = 0;
	char *out;

	if (at == NULL || at - line < 6 || strncmp(at - 6, "sha256", 6) != 0)
		return strdup(line);
	pre = (size_t)(at - 6 - line);
	if (HMAC(EVP_sha256(), p->secret_key, sizeof(p->secret_key),
	    (const unsigned char *)at + 1, strlen(at + 1), md, &n) == NULL ||
	    n != 32 || (out = malloc(pre + 5 + 64 + 1)) == NULL)
		return NULL;
	memcpy(out, line, pre);
	memcpy(out + pre, "hmac:", 5);
	hex_encode(md, 32, out + pre + 5);
	return out;
}

char *
policy_canonical(const struct policy *p, const struct epp_msg *m,
    const char *clid, uint8_t digest[32])
{
	struct buf b;
	int failed = 0;
	const char **lines = NULL;
	char **keyed = NULL;
	size_t n = epp_msg_nchanges(m);
	unsigned mdlen = 0;

	buf_init(&b, CANON_TEXT_MAX);
	sb_add(&b, &failed, CANON_VERSION, NULL);
	sb_add(&b, &failed, "clid=", clid ? clid : "");
	sb_add(&b, &failed, "command=", epp_msg_name(m));
	for (size_t i = 0; i < epp_msg_nobjects(m); i++)
		sb_add(&b, &failed, "object=",
		    epp_msg_object(m, i, NULL, NULL));
	/* Sorted and de-duplicated: order and repetition carry no meaning. */
	if (n > 0 && (lines = calloc(n, sizeof(*lines))) == NULL)
		failed = 1;
	if (n > 0 && p != NULL && p->keyed &&
	    (keyed = calloc(n, sizeof(*keyed))) == NULL)
		failed = 1;
	for (size_t i = 0; lines != NULL && i < n; i++) {
		lines[i] = epp_msg_change(m, i, NULL);
		if (keyed != NULL && epp_msg_change_secret(m, i) &&
		    (lines[i] = keyed[i] = keyed_line(p, lines[i])) == NULL)
			failed = 1;
	}
	if (lines != NULL && !failed)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; lines != NULL && !failed && i < n; i++)
		if (i == 0 || strcmp(lines[i], lines[i - 1]) != 0)
			sb_add(&b, &failed, lines[i], NULL);
	free(lines);
	for (size_t i = 0; keyed != NULL && i < n; i++)
		free(keyed[i]);
	free(keyed);
	if (failed || EVP_Digest(buf_data(&b), b.len, digest, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen != 32) {
		buf_free(&b);
		return NULL;
	}
	/* addf left room for its NUL: no copy. */
	return buf_detach(&b, NULL);
}

/*
 * The lock-list edit that needs an approval, removing entry, is a change
 * like an EPP command's: the same version line, no clID ("-"), a command
 * name no EPP command has, the entry as its one object, no change lines.
 */
char *
policy_canonical_lock_remove(const char *entry, uint8_t digest[32])
{
	struct buf b;
	int failed = 0;
	unsigned mdlen = 0;

	buf_init(&b, CANON_TEXT_MAX);
	sb_add(&b, &failed, CANON_VERSION, NULL);
	sb_add(&b, &failed, "clid=", "-");
	sb_add(&b, &failed, "command=", "lock:remove");
	sb_add(&b, &failed, "object=", entry);
	if (failed || EVP_Digest(buf_data(&b), b.len, digest, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen != 32) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/*
 * Which object, if any, puts the command under a lock: v->locked_by says
 * why (for people), *object names it.  *ask names a domain whose registry
 * state is needed and not held (see policy.h).
 */
static int
locked_object(const struct policy *p, const struct regstate *rs,
    const struct epp_msg *m, struct verdict *v, const char **object,
    const char **ask)
{
	const char *name, *users[16], *entry = NULL;
	enum epp_obj_type t;
	size_t n;

	*ask = NULL;
	if (epp_msg_obj_type(m) == EPP_OBJ_UNKNOWN && epp_msg_mutating(m)) {
		/* We cannot tell what it touches: assume a lock. */
		snprintf(v->locked_by, sizeof(v->locked_by), "%s",
		    "(unidentifiable object)");
		*object = epp_msg_name(m);
		return 1;
	}
	/*
	 * A host rename repoints every delegation that uses the host, and
	 * the gateway cannot see which domains those are: any rename may
	 * move a locked domain's name server, so all of them are held.
	 */
	if (epp_msg_obj_type(m) == EPP_OBJ_HOST) {
		for (size_t i = 0; i < epp_msg_nchanges(m); i++)
			if (strncmp(epp_msg_change(m, i, NULL), "chg.name=",
			    9) == 0) {
				snprintf(v->locked_by, sizeof(v->locked_by), "%s",
		    "(a renamed host may serve a locked "
				    "domain)");
				*object = epp_msg_object(m, 0, NULL, NULL);
				return 1;
			}
	}
	/*
	 * clientUpdateProhibited is the registrar lock itself: removing it
	 * is an unlock on any domain or host, whether or not the gateway
	 * knew the object was locked (server* likewise, should a registry
	 * let a client try).
	 */
	if (epp_msg_obj_type(m) == EPP_OBJ_DOMAIN ||
	    epp_msg_obj_type(m) == EPP_OBJ_HOST) {
		for (size_t i = 0; i < epp_msg_nchanges(m); i++) {
			const char *l = epp_msg_change(m, i, NULL);

			if (strcmp(l, "rem.status=clientUpdateProhibited") ==
			    0 || strcmp(l,
			    "rem.status=serverUpdateProhibited") == 0) {
				snprintf(v->locked_by, sizeof(v->locked_by), "%s",
		    "its own UpdateProhibited status");
				*object = epp_msg_object(m, 0, NULL, NULL);
				return 1;
			}
		}
	}
	for (size_t i = 0; i < epp_msg_nobjects(m); i++) {
		name = epp_msg_object(m, i, &t, NULL);
		*object = name;
		switch (t) {
		case EPP_OBJ_DOMAIN:
			if (policy_domain_locked(p, rs, name, &entry)) {
				snprintf(v->locked_by, sizeof(v->locked_by),
				    "%s", entry);
				return 1;
			}
			break;
		case EPP_OBJ_HOST:
			if (locklist_host(p->locks, name, &entry)) {
				snprintf(v->locked_by, sizeof(v->locked_by),
				    "%s", entry);
				return 1;
			}
			/* A host that serves a locked domain carries its
			 * delegation: its glue is that domain's. */
			n = regstate_domains_using_host(rs, name, users, 16);
			for (size_t j = 0; j < n; j++)
				if (policy_domain_locked(p, rs, users[j],
				    NULL)) {
					snprintf(v->locked_by,
					    sizeof(v->locked_by), "name server "
					    "of %s", users[j]);
					return 1;
				}
			break;
		case EPP_OBJ_CONTACT:
			if (!epp_msg_mutating(m))
				break;
			n = regstate_domains_naming_contact(rs, name, users,
			    16);
			for (size_t j = 0; j < n; j++)
				if (policy_domain_locked(p, rs, users[j],
				    NULL)) {
					snprintf(v->locked_by,
					    sizeof(v->locked_by), "contact of "
					    "%s", users[j]);
					return 1;
				}
			break;
		default:
			break;
		}
	}
	/*
	 * Nothing says locked.  A domain whose state the registry was never
	 * asked about may still be locked by its own statuses: if the store
	 * can ask, and the command would change something protected, the
	 * registry is asked first.
	 */
	if (epp_msg_obj_type(m) == EPP_OBJ_DOMAIN && regstate_askable(rs) &&
	    (epp_msg_classes(m) & p->protected_classes) != 0 &&
	    epp_msg_nobjects(m) > 0 && regstate_get(rs, RS_DOMAIN,
	    (name = epp_msg_object(m, 0, NULL, NULL))) == NULL)
		*ask = name;
	*object = NULL;
	return 0;
}

unsigned
policy_touched(const struct epp_msg *m)
{
	unsigned cls = epp_msg_classes(m);

	if (epp_msg_obj_type(m) == EPP_OBJ_HOST)
		return cls | CLASS_HOST;	/* every host fact is glue */
	for (size_t i = 0; i < epp_msg_nchanges(m); i++) {
		const char *l = epp_msg_change(m, i, NULL);

		/* Changes that protect nothing still change facts: a status
		 * tightened, the name servers or DS of a new domain. */
		if (strncmp(l, "add.status=", 11) == 0 ||
		    strncmp(l, "rem.status=", 11) == 0)
			cls |= CLASS_STATUS;
		else if (strncmp(l, "create.ns=", 10) == 0)
			cls |= CLASS_NS;
		else if (strncmp(l, "secdns.", 7) == 0)
			cls |= CLASS_DS;
		else if (strncmp(l, "transfer.", 9) == 0)
			cls |= CLASS_TRANSFER;
	}
	return cls;
}

int
policy_judge(const struct policy *p, const struct regstate *rs,
    const struct epp_msg *m, const char *clid, struct verdict *v)
{
	const char *object = NULL, *ask = NULL;
	char cls[160];
	int valid;

	memset(v, 0, sizeof(*v));
	if ((v->canonical = policy_canonical(p, m, clid, v->digest)) == NULL)
		return -1;
	hex_encode(v->digest, CHANGE_ID_LEN / 2, v->change_id);
	v->all_classes = epp_msg_classes(m);

	for (size_t i = 0; i < epp_msg_nobjects(m); i++) {
		const char *name = epp_msg_object(m, i, NULL, &valid);

		if (!valid) {
			/* Never a way around a lock: refuse it. */
			v->decision = DECISION_REJECT;
			snprintf(v->reason, sizeof(v->reason),
			    "invalid object name \"%.100s\"", name);
			return 0;
		}
	}
	if (!locked_object(p, rs, m, v, &object, &ask)) {
		v->decision = DECISION_ALLOW;
		if (ask != NULL) {
			snprintf(v->need_state, sizeof(v->need_state), "%s",
			    ask);
			snprintf(v->reason, sizeof(v->reason), "%.100s: the "
			    "registry's state is needed first", ask);
		} else
			snprintf(v->reason, sizeof(v->reason),
			    "no locked object");
		return 0;
	}
	v->classes = v->all_classes & p->protected_classes;
	if (v->classes == 0) {
		v->decision = DECISION_ALLOW;
		snprintf(v->reason, sizeof(v->reason),
		    "%.100s is locked (%.100s) but the command changes "
		    "nothing protected", object, v->locked_by);
		return 0;
	}
	change_classes_format(v->classes, cls, sizeof(cls));
	v->decision = DECISION_APPROVAL;
	snprintf(v->reason, sizeof(v->reason),
	    "%.100s is locked (%.100s): %s change needs a second operator's "
	    "approval", object, v->locked_by, cls);
	return 0;
}

void
verdict_clear(struct verdict *v)
{
	free(v->canonical);
	v->canonical = NULL;
}

/* [policy]: its keys (conf.h), in the order `eppgw -T` prints them. */
#define F(m) offsetof(struct policy_conf, m)
const struct conf_keyword policy_keywords[] = {
	{ "locks", KW_PATH, F(locks_path), 0, NULL, 0, 0 },
	{ "schemas", KW_PATHS, F(schemas), 0, NULL, 0, 0 },
	{ "secret_key", KW_PATH, F(secret_key), 0, NULL, 0, 0 },
	{ "protect", KW_WORDS, F(protect_text), 0,
	    "ns ds host status registrant contact authinfo transfer delete "
	    "unknown", 1, 200 },
	{ NULL, 0, 0, 0, NULL, 0, 0 }
};
#undef F
