/*
 * store.c: the simulator's registry, all in memory.
 *
 * Objects live in plain pointer arrays searched linearly: a test registry
 * holds tens of objects, and simple code is easier to trust than a faster
 * one.  Names are stored lower-case (DNS names compare case-insensitively);
 * contact ids are case-sensitive (RFC 5733 clIDType is a token).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "regsim.h"

int
regsim_setstr(char **dst, const char *src)
{
	char *copy = NULL;

	if (src != NULL && (copy = strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

void
regsim_lower(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ---- string vectors ---- */

int
regsim_strv_add(struct regsim_strv *sv, const char *s)
{
	char **nv;
	char *copy;

	if ((copy = strdup(s)) == NULL)
		return -1;
	nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(copy);
		return -1;
	}
	sv->v = nv;
	sv->v[sv->n++] = copy;
	return 0;
}

int
regsim_strv_find(const struct regsim_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (int)i;
	return -1;
}

void
regsim_strv_del(struct regsim_strv *sv, size_t i)
{
	if (i >= sv->n)
		return;
	free(sv->v[i]);
	memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i - 1) * sizeof(*sv->v));
	sv->n--;
}

int
regsim_strv_copy(struct regsim_strv *dst, const struct regsim_strv *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++) {
		if (regsim_strv_add(dst, src->v[i]) == -1) {
			regsim_strv_free(dst);
			return -1;
		}
	}
	return 0;
}

void
regsim_strv_free(struct regsim_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* ---- pointer arrays ---- */

static int
ptr_append(void ***arr, size_t *n, void *p)
{
	void **nv = realloc(*arr, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	*arr = nv;
	nv[(*n)++] = p;
	return 0;
}

static void
ptr_remove(void **arr, size_t *n, const void *p)
{
	for (size_t i = 0; i < *n; i++) {
		if (arr[i] == p) {
			memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
			(*n)--;
			return;
		}
	}
}

static char *
new_roid(struct regsim_store *st, const char *suffix)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%lu-%s", ++st->roid_seq, suffix);
	return strdup(buf);
}

/* ---- store ---- */

struct regsim_store *
regsim_store_new(void)
{
	return calloc(1, sizeof(struct regsim_store));
}

void
regsim_store_free(struct regsim_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nrar; i++) {
		free(st->rar[i]->id);
		free(st->rar[i]->pw);
		free(st->rar[i]);
	}
	free(st->rar);
	for (size_t i = 0; i < st->ndom; i++)
		regsim_domain_free(st->dom[i]);
	free(st->dom);
	for (size_t i = 0; i < st->nhost; i++)
		regsim_host_free(st->host[i]);
	free(st->host);
	for (size_t i = 0; i < st->ncon; i++)
		regsim_contact_free(st->con[i]);
	free(st->con);
	regsim_strv_free(&st->tlds);
	free(st);
}

struct regsim_registrar *
regsim_registrar_find(struct regsim_store *st, const char *id)
{
	for (size_t i = 0; i < st->nrar; i++)
		if (strcmp(st->rar[i]->id, id) == 0)
			return st->rar[i];
	return NULL;
}

int
regsim_registrar_add(struct regsim_store *st, const char *id, const char *pw)
{
	struct regsim_registrar *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if ((r->id = strdup(id)) == NULL || (r->pw = strdup(pw)) == NULL ||
	    ptr_append((void ***)&st->rar, &st->nrar, r) == -1)
		goto fail;
	return 0;
fail:
	free(r->id);
	free(r->pw);
	free(r);
	return -1;
}

/* ---- transfers ---- */

void
regsim_xfer_clear(struct regsim_xfer *x)
{
	free(x->trstatus);
	free(x->reid);
	free(x->acid);
	memset(x, 0, sizeof(*x));
}

int
regsim_xfer_copy(struct regsim_xfer *dst, const struct regsim_xfer *src)
{
	*dst = *src;
	dst->trstatus = dst->reid = dst->acid = NULL;
	if (regsim_setstr(&dst->trstatus, src->trstatus) == -1 ||
	    regsim_setstr(&dst->reid, src->reid) == -1 ||
	    regsim_setstr(&dst->acid, src->acid) == -1) {
		regsim_xfer_clear(dst);
		return -1;
	}
	return 0;
}

/* ---- domains ---- */

struct regsim_domain *
regsim_domain_find(struct regsim_store *st, const char *name)
{
	for (size_t i = 0; i < st->ndom; i++)
		if (strcasecmp(st->dom[i]->name, name) == 0)
			return st->dom[i];
	return NULL;
}

/* The TLD (longest served suffix) a domain name registers under, or NULL. */
const char *
regsim_domain_tld(const struct regsim_store *st, const char *name)
{
	const char *best = NULL;
	size_t nlen = strlen(name);

	for (size_t i = 0; i < st->tlds.n; i++) {
		const char *t = st->tlds.v[i];
		size_t tlen = strlen(t);

		if (nlen > tlen + 1 && name[nlen - tlen - 1] == '.' &&
		    strcasecmp(name + nlen - tlen, t) == 0 &&
		    (best == NULL || tlen > strlen(best)))
			best = t;
	}
	return best;
}

struct regsim_domain *
regsim_domain_new(struct regsim_store *st, const char *name, const char *clid,
    time_t now)
{
	struct regsim_domain *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->crdate = now;
	d->exdate = now + 365 * 86400;
	if ((d->name = strdup(name)) == NULL ||
	    (d->roid = new_roid(st, "REGSIM")) == NULL ||
	    (d->clid = strdup(clid)) == NULL || (d->crid = strdup(clid)) == NULL) {
		regsim_domain_free(d);
		return NULL;
	}
	regsim_lower(d->name);
	return d;
}

void
regsim_domain_free(struct regsim_domain *d)
{
	if (d == NULL)
		return;
	free(d->name);
	free(d->roid);
	free(d->clid);
	free(d->crid);
	free(d->upid);
	free(d->registrant);
	free(d->authpw);
	regsim_strv_free(&d->status);
	regsim_strv_free(&d->ns);
	regsim_strv_free(&d->admin);
	regsim_strv_free(&d->tech);
	regsim_strv_free(&d->billing);
	for (size_t i = 0; i < d->nds; i++)
		free(d->ds[i].digest);
	free(d->ds);
	for (size_t i = 0; i < d->nkeys; i++)
		free(d->keys[i].pubkey);
	free(d->keys);
	regsim_xfer_clear(&d->xfer);
	free(d);
}

int
regsim_domain_add_ds(struct regsim_domain *d, unsigned keytag, unsigned alg,
    unsigned dtype, const char *digest)
{
	struct regsim_ds *nv;
	char *dig;

	if ((dig = strdup(digest)) == NULL)
		return -1;
	for (char *p = dig; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	if ((nv = realloc(d->ds, (d->nds + 1) * sizeof(*nv))) == NULL) {
		free(dig);
		return -1;
	}
	d->ds = nv;
	nv[d->nds].keytag = keytag;
	nv[d->nds].alg = alg;
	nv[d->nds].dtype = dtype;
	nv[d->nds].digest = dig;
	d->nds++;
	return 0;
}

int
regsim_domain_add_key(struct regsim_domain *d, unsigned flags, unsigned proto,
    unsigned alg, const char *pubkey)
{
	struct regsim_key *nv;
	char *pk;

	if ((pk = strdup(pubkey)) == NULL)
		return -1;
	if ((nv = realloc(d->keys, (d->nkeys + 1) * sizeof(*nv))) == NULL) {
		free(pk);
		return -1;
	}
	d->keys = nv;
	nv[d->nkeys].flags = flags;
	nv[d->nkeys].proto = proto;
	nv[d->nkeys].alg = alg;
	nv[d->nkeys].pubkey = pk;
	d->nkeys++;
	return 0;
}

/*
 * A deep copy.  Updates work on a clone and swap it in only when every
 * part of the command succeeded, so a failing command changes nothing.
 */
struct regsim_domain *
regsim_domain_clone(const struct regsim_domain *d)
{
	struct regsim_domain *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->crdate = d->crdate;
	c->update = d->update;
	c->exdate = d->exdate;
	c->trdate = d->trdate;
	c->maxsiglife = d->maxsiglife;
	c->redemption = d->redemption;
	if (regsim_setstr(&c->name, d->name) == -1 ||
	    regsim_setstr(&c->roid, d->roid) == -1 ||
	    regsim_setstr(&c->clid, d->clid) == -1 ||
	    regsim_setstr(&c->crid, d->crid) == -1 ||
	    regsim_setstr(&c->upid, d->upid) == -1 ||
	    regsim_setstr(&c->registrant, d->registrant) == -1 ||
	    regsim_setstr(&c->authpw, d->authpw) == -1 ||
	    regsim_strv_copy(&c->status, &d->status) == -1 ||
	    regsim_strv_copy(&c->ns, &d->ns) == -1 ||
	    regsim_strv_copy(&c->admin, &d->admin) == -1 ||
	    regsim_strv_copy(&c->tech, &d->tech) == -1 ||
	    regsim_strv_copy(&c->billing, &d->billing) == -1 ||
	    regsim_xfer_copy(&c->xfer, &d->xfer) == -1)
		goto fail;
	for (size_t i = 0; i < d->nds; i++)
		if (regsim_domain_add_ds(c, d->ds[i].keytag, d->ds[i].alg,
		    d->ds[i].dtype, d->ds[i].digest) == -1)
			goto fail;
	for (size_t i = 0; i < d->nkeys; i++)
		if (regsim_domain_add_key(c, d->keys[i].flags, d->keys[i].proto,
		    d->keys[i].alg, d->keys[i].pubkey) == -1)
			goto fail;
	return c;
fail:
	regsim_domain_free(c);
	return NULL;
}

int
regsim_domain_insert(struct regsim_store *st, struct regsim_domain *d)
{
	return ptr_append((void ***)&st->dom, &st->ndom, d);
}

void
regsim_domain_replace(struct regsim_store *st, struct regsim_domain *old,
    struct regsim_domain *repl)
{
	for (size_t i = 0; i < st->ndom; i++) {
		if (st->dom[i] == old) {
			st->dom[i] = repl;
			regsim_domain_free(old);
			return;
		}
	}
}

void
regsim_domain_remove(struct regsim_store *st, struct regsim_domain *d)
{
	ptr_remove((void **)st->dom, &st->ndom, d);
	regsim_domain_free(d);
}

/* ---- hosts ---- */

struct regsim_host *
regsim_host_find(struct regsim_store *st, const char *name)
{
	for (size_t i = 0; i < st->nhost; i++)
		if (strcasecmp(st->host[i]->name, name) == 0)
			return st->host[i];
	return NULL;
}

struct regsim_host *
regsim_host_new(struct regsim_store *st, const char *name, const char *clid,
    time_t now)
{
	struct regsim_host *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->crdate = now;
	if ((h->name = strdup(name)) == NULL ||
	    (h->roid = new_roid(st, "REGSIM")) == NULL ||
	    (h->clid = strdup(clid)) == NULL || (h->crid = strdup(clid)) == NULL) {
		regsim_host_free(h);
		return NULL;
	}
	regsim_lower(h->name);
	return h;
}

void
regsim_host_free(struct regsim_host *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->roid);
	free(h->clid);
	free(h->crid);
	free(h->upid);
	regsim_strv_free(&h->status);
	for (size_t i = 0; i < h->naddr; i++)
		free(h->addr[i].ip);
	free(h->addr);
	free(h);
}

int
regsim_host_insert(struct regsim_store *st, struct regsim_host *h)
{
	return ptr_append((void ***)&st->host, &st->nhost, h);
}

void
regsim_host_remove(struct regsim_store *st, struct regsim_host *h)
{
	ptr_remove((void **)st->host, &st->nhost, h);
	regsim_host_free(h);
}

int
regsim_host_add_addr(struct regsim_host *h, const char *ip, int v6)
{
	struct regsim_addr *nv;
	char *copy;

	if ((copy = strdup(ip)) == NULL)
		return -1;
	if ((nv = realloc(h->addr, (h->naddr + 1) * sizeof(*nv))) == NULL) {
		free(copy);
		return -1;
	}
	h->addr = nv;
	nv[h->naddr].ip = copy;
	nv[h->naddr].v6 = v6;
	h->naddr++;
	return 0;
}

/*
 * The domain a host name is subordinate to: the longest registered domain
 * the name lies under.  NULL means the host is external.
 */
struct regsim_domain *
regsim_host_superordinate(struct regsim_store *st, const char *hostname)
{
	for (const char *p = strchr(hostname, '.'); p != NULL;
	    p = strchr(p + 1, '.')) {
		struct regsim_domain *d = regsim_domain_find(st, p + 1);

		if (d != NULL)
			return d;
	}
	return NULL;
}

/* Is any domain delegated to this host? */
int
regsim_host_linked(const struct regsim_store *st, const char *name)
{
	for (size_t i = 0; i < st->ndom; i++)
		if (regsim_strv_find(&st->dom[i]->ns, name) >= 0)
			return 1;
	return 0;
}

/* Names of the hosts subordinate to domain (appended to out if not NULL). */
size_t
regsim_domain_subordinates(const struct regsim_store *st, const char *domain,
    struct regsim_strv *out)
{
	size_t n = 0, dlen = strlen(domain);

	for (size_t i = 0; i < st->nhost; i++) {
		const char *h = st->host[i]->name;
		size_t hlen = strlen(h);

		if (hlen > dlen + 1 && h[hlen - dlen - 1] == '.' &&
		    strcasecmp(h + hlen - dlen, domain) == 0) {
			n++;
			if (out != NULL)
				(void)regsim_strv_add(out, h);
		}
	}
	return n;
}

/* ---- contacts ---- */

struct regsim_contact *
regsim_contact_find(struct regsim_store *st, const char *id)
{
	for (size_t i = 0; i < st->ncon; i++)
		if (strcmp(st->con[i]->id, id) == 0)
			return st->con[i];
	return NULL;
}

struct regsim_contact *
regsim_contact_new(struct regsim_store *st, const char *id, const char *clid,
    time_t now)
{
	struct regsim_contact *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->crdate = now;
	if ((c->id = strdup(id)) == NULL ||
	    (c->roid = new_roid(st, "REGSIM")) == NULL ||
	    (c->clid = strdup(clid)) == NULL || (c->crid = strdup(clid)) == NULL ||
	    (c->pitype = strdup("int")) == NULL) {
		regsim_contact_free(c);
		return NULL;
	}
	return c;
}

void
regsim_contact_free(struct regsim_contact *c)
{
	if (c == NULL)
		return;
	free(c->id);
	free(c->roid);
	free(c->clid);
	free(c->crid);
	free(c->upid);
	free(c->authpw);
	regsim_strv_free(&c->status);
	free(c->pitype);
	free(c->name);
	free(c->org);
	for (size_t i = 0; i < 3; i++)
		free(c->street[i]);
	free(c->city);
	free(c->sp);
	free(c->pc);
	free(c->cc);
	free(c->voice);
	free(c->fax);
	free(c->email);
	regsim_xfer_clear(&c->xfer);
	free(c);
}

int
regsim_contact_insert(struct regsim_store *st, struct regsim_contact *c)
{
	return ptr_append((void ***)&st->con, &st->ncon, c);
}

void
regsim_contact_remove(struct regsim_store *st, struct regsim_contact *c)
{
	ptr_remove((void **)st->con, &st->ncon, c);
	regsim_contact_free(c);
}

int
regsim_contact_linked(const struct regsim_store *st, const char *id)
{
	for (size_t i = 0; i < st->ndom; i++) {
		const struct regsim_domain *d = st->dom[i];

		if ((d->registrant != NULL && strcmp(d->registrant, id) == 0) ||
		    regsim_strv_find(&d->admin, id) >= 0 ||
		    regsim_strv_find(&d->tech, id) >= 0 ||
		    regsim_strv_find(&d->billing, id) >= 0)
			return 1;
	}
	return 0;
}

/* ---- value checks ---- */

/* LDH labels of 1..63 characters, at least two labels, 253 at most. */
int
regsim_valid_hostname(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 0;

	if (len == 0 || len > 253 || name[len - 1] == '.')
		return 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return 0;
			labels++;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-')
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		label++;
	}
	return labels >= 2;
}

int
regsim_valid_ip(const char *ip, int v6)
{
	unsigned char buf[16];

	return inet_pton(v6 ? AF_INET6 : AF_INET, ip, buf) == 1;
}
