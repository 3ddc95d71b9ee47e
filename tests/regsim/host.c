/*
 * host.c: host commands (RFC 5732).
 *
 * A host is subordinate when a registered domain is its superordinate
 * (the host name lies under it); otherwise it is external.  Subordinate
 * hosts need addresses (they are glue), belong to the superordinate
 * domain's sponsor and follow it on transfer; external hosts must not
 * have addresses.  A host with addresses under a served TLD whose
 * superordinate domain is not registered is refused with 2303.  As in
 * Nomulus since PR #3171, a superordinate domain carrying
 * serverUpdateProhibited (a registry lock) also freezes its hosts.
 */
#include <stdlib.h>
#include <string.h>

#include "regsim.h"

#define NS REGSIM_NS_HOST

static char *
get_name(struct regsim_cmd *c, xmlNodePtr parent)
{
	char *name = regsim_xml_child_text(parent, NS, "name");

	if (name == NULL) {
		regsim_fail(c, 2003, "host:name missing");
		return NULL;
	}
	regsim_lower(name);
	regsim_note_obj(c, name);
	return name;
}

static struct regsim_host *
find_sponsored(struct regsim_cmd *c, const char *name)
{
	struct regsim_host *h = regsim_host_find(c->st, name);

	if (h == NULL) {
		regsim_fail(c, 2303, "host %s does not exist", name);
		return NULL;
	}
	if (strcmp(h->clid, c->clid) != 0) {
		regsim_fail(c, 2201, "host %s is sponsored by another registrar",
		    name);
		return NULL;
	}
	return h;
}

static int
has_status(const struct regsim_host *h, const char *s)
{
	return regsim_strv_find(&h->status, s) >= 0;
}

/* Is the host's superordinate domain registry-locked against updates? */
static int
superordinate_locked(struct regsim_cmd *c, const char *name)
{
	struct regsim_domain *d = regsim_host_superordinate(c->st, name);

	return d != NULL && (regsim_strv_find(&d->status,
	    "serverUpdateProhibited") >= 0 || d->redemption);
}

/*
 * Is the name below a registrable name of a served TLD (so that it would
 * be glue if its superordinate domain existed)?
 */
static int
in_served_zone(struct regsim_store *st, const char *name)
{
	const char *tld = regsim_domain_tld(st, name);

	/* A served TLD plus at least one label: "ns1.foo.example". */
	return tld != NULL &&
	    strlen(name) > strlen(tld) + 1 &&
	    memchr(name, '.', strlen(name) - strlen(tld) - 1) != NULL;
}

/* The rules of a host's final state: glue needs addresses and so on. */
static int
validate_host(struct regsim_cmd *c, const struct regsim_host *h)
{
	struct regsim_domain *sup = regsim_host_superordinate(c->st, h->name);

	if (sup == NULL && h->naddr > 0 && in_served_zone(c->st, h->name))
		return regsim_fail(c, 2303, "the superordinate domain of %s "
		    "does not exist", h->name);
	if (sup == NULL && h->naddr > 0)
		return regsim_fail(c, 2004, "external host %s takes no "
		    "addresses", h->name);
	if (sup == NULL)
		return 0;
	if (strcmp(sup->clid, c->clid) != 0)
		return regsim_fail(c, 2201, "%s is sponsored by another "
		    "registrar", sup->name);
	if (regsim_strv_find(&sup->status, "serverUpdateProhibited") >= 0 ||
	    sup->redemption)
		return regsim_fail(c, 2304, "status of %s prohibits changing "
		    "its hosts", sup->name);
	if (h->naddr == 0)
		return regsim_fail(c, 2003, "subordinate host %s needs an "
		    "address", h->name);
	return 0;
}

static int
addr_find(const struct regsim_host *h, const char *ip)
{
	for (size_t i = 0; i < h->naddr; i++)
		if (strcmp(h->addr[i].ip, ip) == 0)
			return (int)i;
	return -1;
}

/* <host:addr ip="v4|v6"> children of parent: add or remove. */
static int
read_addrs(struct regsim_cmd *c, struct regsim_host *h, xmlNodePtr parent,
    int rem)
{
	for (xmlNodePtr n = regsim_xml_first(parent); n != NULL;
	    n = regsim_xml_next(n)) {
		char *ip, *kind;
		int v6, at, rc = 0;

		if (!regsim_xml_is(n, NS, "addr"))
			continue;
		kind = regsim_xml_attr(n, "ip");
		ip = regsim_xml_text(n);
		v6 = kind != NULL && strcmp(kind, "v6") == 0;
		if (ip == NULL || (kind != NULL && !v6 && strcmp(kind, "v4") != 0) ||
		    !regsim_valid_ip(ip, v6))
			rc = regsim_fail(c, 2005, "bad address %.64s",
			    ip != NULL ? ip : "");
		else if ((at = addr_find(h, ip)) >= 0 && rem) {
			free(h->addr[at].ip);
			memmove(&h->addr[at], &h->addr[at + 1],
			    (h->naddr - (size_t)at - 1) * sizeof(*h->addr));
			h->naddr--;
		} else if (rem)
			rc = regsim_fail(c, 2306, "%s has no address %s", h->name, ip);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "%s already has address %s",
			    h->name, ip);
		else if (regsim_host_add_addr(h, ip, v6) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(ip);
		free(kind);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
read_statuses(struct regsim_cmd *c, struct regsim_host *h, xmlNodePtr p,
    int rem)
{
	for (xmlNodePtr n = regsim_xml_first(p); n != NULL; n = regsim_xml_next(n)) {
		char *s;
		int at, rc = 0;

		if (!regsim_xml_is(n, NS, "status"))
			continue;
		if ((s = regsim_xml_attr(n, "s")) == NULL)
			return regsim_fail(c, 2003, "status needs s");
		at = regsim_strv_find(&h->status, s);
		/* Hosts have no clientHold/clientRenewProhibited. */
		if (strcmp(s, "clientDeleteProhibited") != 0 &&
		    strcmp(s, "clientUpdateProhibited") != 0)
			rc = regsim_fail(c, 2306, "status %.64s is not client "
			    "settable", s);
		else if (rem && at < 0)
			rc = regsim_fail(c, 2306, "status %s is not set", s);
		else if (rem)
			regsim_strv_del(&h->status, (size_t)at);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "status %s is already set", s);
		else if (regsim_strv_add(&h->status, s) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(s);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static void
add_time(xmlNodePtr parent, const char *name, time_t t)
{
	char buf[40];

	if (t == 0)
		return;
	regsim_xml_time(buf, sizeof(buf), t);
	regsim_xml_add(parent, name, buf);
}

/* ---- commands ---- */

static void
host_check(struct regsim_cmd *c)
{
	xmlNodePtr cd = NULL;
	int count = 0;

	for (xmlNodePtr n = regsim_xml_first(c->obj); n != NULL;
	    n = regsim_xml_next(n)) {
		xmlNodePtr cdn;
		const char *reason = NULL;
		char *name;

		if (!regsim_xml_is(n, NS, "name"))
			continue;
		if ((cd == NULL &&
		    (cd = regsim_resdata(c, NS, "host", "chkData")) == NULL) ||
		    (name = regsim_xml_text(n)) == NULL) {
			regsim_fail(c, 2400, "out of memory");
			return;
		}
		regsim_lower(name);
		regsim_note_obj(c, name);
		if (!regsim_valid_hostname(name))
			reason = "Invalid host name";
		else if (regsim_host_find(c->st, name) != NULL)
			reason = "In use";
		cdn = regsim_xml_add(cd, "cd", NULL);
		xmlNewProp(regsim_xml_add(cdn, "name", name),
		    (const xmlChar *)"avail",
		    (const xmlChar *)(reason == NULL ? "1" : "0"));
		if (reason != NULL)
			regsim_xml_add(cdn, "reason", reason);
		free(name);
		count++;
	}
	if (count == 0)
		regsim_fail(c, 2003, "host:name missing");
	else
		c->code = 1000;
}

static void
host_info(struct regsim_cmd *c)
{
	struct regsim_host *h;
	xmlNodePtr inf;
	char *name;
	int linked;

	if ((name = get_name(c, c->obj)) == NULL)
		return;
	if ((h = regsim_host_find(c->st, name)) == NULL) {
		regsim_fail(c, 2303, "host %s does not exist", name);
		goto done;
	}
	if ((inf = regsim_resdata(c, NS, "host", "infData")) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	linked = regsim_host_linked(c->st, h->name);
	regsim_xml_add(inf, "name", h->name);
	regsim_xml_add(inf, "roid", h->roid);
	if (h->status.n == 0 && !linked)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)"ok");
	for (size_t i = 0; i < h->status.n; i++)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)h->status.v[i]);
	if (linked)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)"linked");
	for (size_t i = 0; i < h->naddr; i++)
		xmlNewProp(regsim_xml_add(inf, "addr", h->addr[i].ip),
		    (const xmlChar *)"ip",
		    (const xmlChar *)(h->addr[i].v6 ? "v6" : "v4"));
	regsim_xml_add(inf, "clID", h->clid);
	regsim_xml_add(inf, "crID", h->crid);
	add_time(inf, "crDate", h->crdate);
	if (h->upid != NULL)
		regsim_xml_add(inf, "upID", h->upid);
	add_time(inf, "upDate", h->update);
	add_time(inf, "trDate", h->trdate);
	c->code = 1000;
done:
	free(name);
}

static void
host_create(struct regsim_cmd *c)
{
	struct regsim_host *h = NULL;
	xmlNodePtr cre;
	char *name;

	if ((name = get_name(c, c->obj)) == NULL)
		return;
	if (!regsim_valid_hostname(name)) {
		regsim_fail(c, 2005, "bad host name");
		goto done;
	}
	if (regsim_host_find(c->st, name) != NULL) {
		regsim_fail(c, 2302, "host %s exists", name);
		goto done;
	}
	if ((h = regsim_host_new(c->st, name, c->clid, c->now)) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	if (read_addrs(c, h, c->obj, 0) == -1 || validate_host(c, h) == -1)
		goto done;
	if (regsim_host_insert(c->st, h) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	cre = regsim_resdata(c, NS, "host", "creData");
	regsim_xml_add(cre, "name", h->name);
	add_time(cre, "crDate", h->crdate);
	h = NULL;
	c->code = 1000;
done:
	regsim_host_free(h);
	free(name);
}

/* A copy to apply an update to; swapped in only if it all worked. */
static struct regsim_host *
host_clone(const struct regsim_host *h)
{
	struct regsim_host *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->crdate = h->crdate;
	n->update = h->update;
	n->trdate = h->trdate;
	if (regsim_setstr(&n->name, h->name) == -1 ||
	    regsim_setstr(&n->roid, h->roid) == -1 ||
	    regsim_setstr(&n->clid, h->clid) == -1 ||
	    regsim_setstr(&n->crid, h->crid) == -1 ||
	    regsim_setstr(&n->upid, h->upid) == -1 ||
	    regsim_strv_copy(&n->status, &h->status) == -1)
		goto fail;
	for (size_t i = 0; i < h->naddr; i++)
		if (regsim_host_add_addr(n, h->addr[i].ip, h->addr[i].v6) == -1)
			goto fail;
	return n;
fail:
	regsim_host_free(n);
	return NULL;
}

/* Point every delegation at the renamed host. */
static int
rename_refs(struct regsim_store *st, const char *from, const char *to)
{
	for (size_t i = 0; i < st->ndom; i++) {
		int at = regsim_strv_find(&st->dom[i]->ns, from);

		if (at >= 0 && regsim_setstr(&st->dom[i]->ns.v[at], to) == -1)
			return -1;
	}
	return 0;
}

static int
only_unlocks(struct regsim_cmd *c)
{
	xmlNodePtr add = regsim_xml_child(c->obj, NS, "add");
	xmlNodePtr rem = regsim_xml_child(c->obj, NS, "rem");
	xmlNodePtr chg = regsim_xml_child(c->obj, NS, "chg");
	int removes = 0;

	if (regsim_xml_first(add) != NULL || regsim_xml_first(chg) != NULL)
		return 0;
	for (xmlNodePtr n = regsim_xml_first(rem); n != NULL;
	    n = regsim_xml_next(n)) {
		char *s;

		if (!regsim_xml_is(n, NS, "status"))
			return 0;
		s = regsim_xml_attr(n, "s");
		if (s != NULL && strcmp(s, "clientUpdateProhibited") == 0)
			removes = 1;
		free(s);
	}
	return removes;
}

static int
apply_update(struct regsim_cmd *c, struct regsim_host *h)
{
	xmlNodePtr add = regsim_xml_child(c->obj, NS, "add");
	xmlNodePtr rem = regsim_xml_child(c->obj, NS, "rem");
	xmlNodePtr chg = regsim_xml_child(c->obj, NS, "chg");
	char *newname;
	int rc = 0;

	if (rem != NULL && (read_addrs(c, h, rem, 1) == -1 ||
	    read_statuses(c, h, rem, 1) == -1))
		return -1;
	if (add != NULL && (read_addrs(c, h, add, 0) == -1 ||
	    read_statuses(c, h, add, 0) == -1))
		return -1;
	if ((newname = regsim_xml_child_text(chg, NS, "name")) != NULL) {
		regsim_lower(newname);
		if (!regsim_valid_hostname(newname))
			rc = regsim_fail(c, 2005, "bad host name");
		else if (regsim_host_find(c->st, newname) != NULL)
			rc = regsim_fail(c, 2302, "host %s exists", newname);
		else if (superordinate_locked(c, newname))
			rc = regsim_fail(c, 2304, "status of the new superordinate "
			    "domain prohibits the rename");
		else if (regsim_setstr(&h->name, newname) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(newname);
	}
	return rc == -1 ? -1 : validate_host(c, h);
}

static void
host_update(struct regsim_cmd *c)
{
	struct regsim_host *h, *nh = NULL;
	char *name;

	if ((name = get_name(c, c->obj)) == NULL ||
	    (h = find_sponsored(c, name)) == NULL)
		goto done;
	if (has_status(h, "serverUpdateProhibited") ||
	    (has_status(h, "clientUpdateProhibited") && !only_unlocks(c)) ||
	    superordinate_locked(c, h->name)) {
		regsim_fail(c, 2304, "%s: status prohibits update", name);
		goto done;
	}
	if ((nh = host_clone(h)) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	if (apply_update(c, nh) == -1 || regsim_setstr(&nh->upid, c->clid) == -1)
		goto done;
	nh->update = c->now;
	if (strcmp(h->name, nh->name) != 0 &&
	    rename_refs(c->st, h->name, nh->name) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < c->st->nhost; i++)
		if (c->st->host[i] == h)
			c->st->host[i] = nh;
	regsim_host_free(h);
	nh = NULL;
	c->code = 1000;
done:
	regsim_host_free(nh);
	free(name);
}

static void
host_delete(struct regsim_cmd *c)
{
	struct regsim_host *h;
	char *name;

	if ((name = get_name(c, c->obj)) == NULL ||
	    (h = find_sponsored(c, name)) == NULL)
		goto done;
	if (has_status(h, "clientDeleteProhibited") ||
	    has_status(h, "serverDeleteProhibited") ||
	    superordinate_locked(c, h->name)) {
		regsim_fail(c, 2304, "%s: status prohibits delete", name);
		goto done;
	}
	if (regsim_host_linked(c->st, h->name)) {
		regsim_fail(c, 2305, "%s is a name server of a domain", name);
		goto done;
	}
	regsim_host_remove(c->st, h);
	c->code = 1000;
done:
	free(name);
}

void
regsim_host_cmd(struct regsim_cmd *c, const char *verb)
{
	if (strcmp(verb, "check") == 0)
		host_check(c);
	else if (strcmp(verb, "info") == 0)
		host_info(c);
	else if (strcmp(verb, "create") == 0)
		host_create(c);
	else if (strcmp(verb, "update") == 0)
		host_update(c);
	else if (strcmp(verb, "delete") == 0)
		host_delete(c);
	else	/* RFC 5732 has no host renew or transfer */
		regsim_fail(c, 2101, "host:%s is not an EPP command", verb);
}
