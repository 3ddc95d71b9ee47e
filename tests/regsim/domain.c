/*
 * domain.c: domain commands (RFC 5731) with secDNS (RFC 5910, and the
 * older secDNS-1.0 of RFC 4310) and RGP restore (RFC 3915).
 *
 * Mutations are made on a clone of the domain that replaces the original
 * only when the whole command succeeded: a refused update leaves the
 * registry exactly as it was, which the end-to-end tests rely on.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "regsim.h"

#define NS REGSIM_NS_DOMAIN
#define DAY 86400L
#define YEAR (365L * DAY)

/* <domain:name>, lower-cased and noted for the journal. */
static char *
get_name(struct regsim_cmd *c, xmlNodePtr parent)
{
	char *name = regsim_xml_child_text(parent, NS, "name");

	if (name == NULL) {
		regsim_fail(c, 2003, "domain:name missing");
		return NULL;
	}
	regsim_lower(name);
	regsim_note_obj(c, name);
	return name;
}

/* The domain, which the client must sponsor.  NULL with the code set. */
static struct regsim_domain *
find_sponsored(struct regsim_cmd *c, const char *name)
{
	struct regsim_domain *d = regsim_domain_find(c->st, name);

	if (d == NULL) {
		regsim_fail(c, 2303, "domain %s does not exist", name);
		return NULL;
	}
	if (strcmp(d->clid, c->clid) != 0) {
		regsim_fail(c, 2201, "domain %s is sponsored by another "
		    "registrar", name);
		return NULL;
	}
	return d;
}

static int
has_status(const struct regsim_domain *d, const char *s)
{
	return regsim_strv_find(&d->status, s) >= 0;
}

/* Either of the client/server flavours of a prohibition. */
static int
prohibited(const struct regsim_domain *d, const char *what)
{
	char cl[48], sv[48];

	snprintf(cl, sizeof(cl), "client%sProhibited", what);
	snprintf(sv, sizeof(sv), "server%sProhibited", what);
	return has_status(d, cl) || has_status(d, sv);
}

/* <domain:period>: whole years from 1 to 10 (or the same in months). */
static int
parse_period(struct regsim_cmd *c, xmlNodePtr parent, int *years)
{
	xmlNodePtr p = regsim_xml_child(parent, NS, "period");
	char *unit = NULL, *text = NULL;
	unsigned long v;
	int rc = -1;

	*years = 1;
	if (p == NULL)
		return 0;
	unit = regsim_xml_attr(p, "unit");
	text = regsim_xml_text(p);
	if (unit == NULL || text == NULL || regsim_xml_uint(text, 999, &v) == -1) {
		regsim_fail(c, 2005, "bad period");
		goto done;
	}
	if (strcmp(unit, "m") == 0 && v % 12 == 0)
		v /= 12;
	else if (strcmp(unit, "y") != 0) {
		regsim_fail(c, 2004, "period must be whole years");
		goto done;
	}
	if (v < 1 || v > 10) {
		regsim_fail(c, 2004, "period must be 1 to 10 years");
		goto done;
	}
	*years = (int)v;
	rc = 0;
done:
	free(unit);
	free(text);
	return rc;
}

static struct regsim_strv *
contact_list(struct regsim_domain *d, const char *type)
{
	if (type == NULL)
		return NULL;
	if (strcmp(type, "admin") == 0)
		return &d->admin;
	if (strcmp(type, "tech") == 0)
		return &d->tech;
	if (strcmp(type, "billing") == 0)
		return &d->billing;
	return NULL;
}

/* ---- secDNS values ---- */

static int
is_hex(const char *s)
{
	if (*s == '\0' || strlen(s) % 2 != 0)
		return 0;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int
child_uint(struct regsim_cmd *c, xmlNodePtr parent, const char *ns,
    const char *name, unsigned long max, unsigned *out)
{
	char *t = regsim_xml_child_text(parent, ns, name);
	unsigned long v;
	int rc = 0;

	if (t == NULL)
		rc = regsim_fail(c, 2003, "secDNS:%s missing", name);
	else if (regsim_xml_uint(t, max, &v) == -1)
		rc = regsim_fail(c, 2005, "bad secDNS:%s", name);
	else
		*out = (unsigned)v;
	free(t);
	return rc;
}

/* A <dsData>; an embedded <keyData> is accepted and not kept. */
static int
parse_ds(struct regsim_cmd *c, xmlNodePtr n, const char *ns,
    struct regsim_ds *ds)
{
	size_t want;

	memset(ds, 0, sizeof(*ds));
	if (child_uint(c, n, ns, "keyTag", 65535, &ds->keytag) == -1 ||
	    child_uint(c, n, ns, "alg", 255, &ds->alg) == -1 ||
	    child_uint(c, n, ns, "digestType", 255, &ds->dtype) == -1)
		return -1;
	if ((ds->digest = regsim_xml_child_text(n, ns, "digest")) == NULL)
		return regsim_fail(c, 2003, "secDNS:digest missing");
	if (!is_hex(ds->digest))
		return regsim_fail(c, 2005, "secDNS:digest is not hex");
	/* RFC 3658, RFC 4509, RFC 6605 digest lengths. */
	want = ds->dtype == 1 ? 40 : ds->dtype == 2 ? 64 : ds->dtype == 4 ? 96 : 0;
	if (want != 0 && strlen(ds->digest) != want)
		return regsim_fail(c, 2306, "digest length does not match "
		    "digestType %u", ds->dtype);
	return 0;
}

static int
parse_key(struct regsim_cmd *c, xmlNodePtr n, struct regsim_key *k)
{
	memset(k, 0, sizeof(*k));
	if (child_uint(c, n, REGSIM_NS_SECDNS, "flags", 65535, &k->flags) == -1 ||
	    child_uint(c, n, REGSIM_NS_SECDNS, "protocol", 255, &k->proto) == -1 ||
	    child_uint(c, n, REGSIM_NS_SECDNS, "alg", 255, &k->alg) == -1)
		return -1;
	if (k->proto != 3)
		return regsim_fail(c, 2306, "keyData protocol must be 3");
	k->pubkey = regsim_xml_child_text(n, REGSIM_NS_SECDNS, "pubKey");
	if (k->pubkey == NULL || k->pubkey[0] == '\0')
		return regsim_fail(c, 2003, "secDNS:pubKey missing");
	return 0;
}

static int
ds_find(const struct regsim_domain *d, const struct regsim_ds *ds)
{
	for (size_t i = 0; i < d->nds; i++)
		if (d->ds[i].keytag == ds->keytag && d->ds[i].alg == ds->alg &&
		    d->ds[i].dtype == ds->dtype &&
		    strcasecmp(d->ds[i].digest, ds->digest) == 0)
			return (int)i;
	return -1;
}

static int
key_find(const struct regsim_domain *d, const struct regsim_key *k)
{
	for (size_t i = 0; i < d->nkeys; i++)
		if (d->keys[i].flags == k->flags && d->keys[i].alg == k->alg &&
		    d->keys[i].proto == k->proto &&
		    strcmp(d->keys[i].pubkey, k->pubkey) == 0)
			return (int)i;
	return -1;
}

static void
ds_del(struct regsim_domain *d, size_t i)
{
	free(d->ds[i].digest);
	memmove(&d->ds[i], &d->ds[i + 1], (d->nds - i - 1) * sizeof(*d->ds));
	d->nds--;
}

static void
key_del(struct regsim_domain *d, size_t i)
{
	free(d->keys[i].pubkey);
	memmove(&d->keys[i], &d->keys[i + 1],
	    (d->nkeys - i - 1) * sizeof(*d->keys));
	d->nkeys--;
}

static void
secdns_clear(struct regsim_domain *d)
{
	while (d->nds > 0)
		ds_del(d, d->nds - 1);
	while (d->nkeys > 0)
		key_del(d, d->nkeys - 1);
}

/*
 * Apply every <dsData> and <keyData> child of n: add (rem == 0) or remove.
 * Adding a record that is there, or removing one that is not, changes
 * nothing (set semantics, as Nomulus does).  A domain uses one interface.
 */
static int
secdns_apply(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr n,
    const char *ns, int rem)
{
	for (xmlNodePtr e = regsim_xml_first(n); e != NULL; e = regsim_xml_next(e)) {
		int rc = 0, i;

		if (regsim_xml_is(e, ns, "dsData")) {
			struct regsim_ds ds;

			if (parse_ds(c, e, ns, &ds) == -1)
				rc = -1;
			else if ((i = ds_find(d, &ds)) >= 0 && rem)
				ds_del(d, (size_t)i);
			else if (i < 0 && !rem && d->nkeys > 0)
				rc = regsim_fail(c, 2306, "domain uses keyData");
			else if (i < 0 && !rem &&
			    regsim_domain_add_ds(d, ds.keytag, ds.alg, ds.dtype,
			    ds.digest) == -1)
				rc = regsim_fail(c, 2400, "out of memory");
			free(ds.digest);
		} else if (regsim_xml_is(e, REGSIM_NS_SECDNS, "keyData")) {
			struct regsim_key k;

			if (parse_key(c, e, &k) == -1)
				rc = -1;
			else if ((i = key_find(d, &k)) >= 0 && rem)
				key_del(d, (size_t)i);
			else if (i < 0 && !rem && d->nds > 0)
				rc = regsim_fail(c, 2306, "domain uses dsData");
			else if (i < 0 && !rem &&
			    regsim_domain_add_key(d, k.flags, k.proto, k.alg,
			    k.pubkey) == -1)
				rc = regsim_fail(c, 2400, "out of memory");
			free(k.pubkey);
		}
		if (rc == -1)
			return -1;
	}
	if (d->nds > REGSIM_MAX_DS || d->nkeys > REGSIM_MAX_DS)
		return regsim_fail(c, 2306, "at most %d DNSSEC records",
		    REGSIM_MAX_DS);
	return 0;
}

static int
secdns_maxsiglife(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr n,
    const char *ns)
{
	char *t = regsim_xml_child_text(n, ns, "maxSigLife");
	unsigned long v;
	int rc = 0;

	if (t == NULL)
		return 0;
	if (regsim_xml_uint(t, 2147483647UL, &v) == -1 || v < 1)
		rc = regsim_fail(c, 2004, "maxSigLife out of range");
	else
		d->maxsiglife = v;
	free(t);
	return rc;
}

/* <secDNS:create> of either version. */
static int
secdns_create(struct regsim_cmd *c, struct regsim_domain *d)
{
	xmlNodePtr n;

	if ((n = regsim_xml_child(c->ext, REGSIM_NS_SECDNS, "create")) != NULL)
		return secdns_maxsiglife(c, d, n, REGSIM_NS_SECDNS) == -1 ? -1 :
		    secdns_apply(c, d, n, REGSIM_NS_SECDNS, 0);
	if ((n = regsim_xml_child(c->ext, REGSIM_NS_SECDNS0, "create")) != NULL)
		return secdns_apply(c, d, n, REGSIM_NS_SECDNS0, 0);
	return 0;
}

static int
urgent_refused(struct regsim_cmd *c, xmlNodePtr upd)
{
	char *u = regsim_xml_attr(upd, "urgent");
	int urgent = 0, rc = 0;

	if (u != NULL && regsim_xml_bool(u, &urgent) == -1)
		rc = regsim_fail(c, 2005, "bad urgent attribute");
	else if (urgent)
		rc = regsim_fail(c, 2102, "urgent is not supported");
	free(u);
	return rc;
}

/* RFC 5910 update: rem (all or records), then add, then chg maxSigLife. */
static int
secdns11_update(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr upd)
{
	const char *ns = REGSIM_NS_SECDNS;
	xmlNodePtr rem, add, chg;
	char *all;
	int flag = 0;

	if (urgent_refused(c, upd) == -1)
		return -1;
	if ((rem = regsim_xml_child(upd, ns, "rem")) != NULL) {
		if ((all = regsim_xml_child_text(rem, ns, "all")) != NULL) {
			int bad = regsim_xml_bool(all, &flag);

			free(all);
			if (bad == -1)
				return regsim_fail(c, 2005, "bad secDNS:all");
			if (flag)
				secdns_clear(d);
		} else if (secdns_apply(c, d, rem, ns, 1) == -1)
			return -1;
	}
	if ((add = regsim_xml_child(upd, ns, "add")) != NULL &&
	    secdns_apply(c, d, add, ns, 0) == -1)
		return -1;
	if ((chg = regsim_xml_child(upd, ns, "chg")) != NULL &&
	    secdns_maxsiglife(c, d, chg, ns) == -1)
		return -1;
	return 0;
}

/* RFC 4310 update: one of add, chg (replace all) or rem (by keyTag). */
static int
secdns10_update(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr upd)
{
	const char *ns = REGSIM_NS_SECDNS0;
	xmlNodePtr n;

	if (urgent_refused(c, upd) == -1)
		return -1;
	if ((n = regsim_xml_child(upd, ns, "add")) != NULL)
		return secdns_apply(c, d, n, ns, 0);
	if ((n = regsim_xml_child(upd, ns, "chg")) != NULL) {
		secdns_clear(d);
		return secdns_apply(c, d, n, ns, 0);
	}
	if ((n = regsim_xml_child(upd, ns, "rem")) == NULL)
		return 0;
	for (xmlNodePtr k = regsim_xml_first(n); k != NULL; k = regsim_xml_next(k)) {
		char *t = regsim_xml_text(k);
		unsigned long tag;
		int bad = t == NULL || regsim_xml_uint(t, 65535, &tag) == -1;

		free(t);
		if (bad)
			return regsim_fail(c, 2005, "bad secDNS:keyTag");
		for (size_t i = d->nds; i > 0; i--)
			if (d->ds[i - 1].keytag == tag)
				ds_del(d, i - 1);
	}
	return 0;
}

/* One label under a TLD this registry serves. */
static int
registrable(struct regsim_store *st, const char *name)
{
	const char *tld = regsim_domain_tld(st, name);
	size_t label;

	if (tld == NULL)
		return 0;
	label = strlen(name) - strlen(tld) - 1;
	return memchr(name, '.', label) == NULL;
}

/* ---- check ---- */

static void
domain_check(struct regsim_cmd *c)
{
	xmlNodePtr cd = NULL, n;
	int count = 0;

	for (n = regsim_xml_first(c->obj); n != NULL; n = regsim_xml_next(n)) {
		xmlNodePtr cdn, nm;
		char *name;
		const char *reason = NULL;

		if (!regsim_xml_is(n, NS, "name"))
			continue;
		if (cd == NULL &&
		    (cd = regsim_resdata(c, NS, "domain", "chkData")) == NULL)
			goto oom;
		if ((name = regsim_xml_text(n)) == NULL)
			goto oom;
		regsim_lower(name);
		regsim_note_obj(c, name);
		if (!regsim_valid_hostname(name))
			reason = "Invalid domain name";
		else if (!registrable(c->st, name))
			reason = "Not served by this registry";
		else if (regsim_domain_find(c->st, name) != NULL)
			reason = "In use";
		if ((cdn = regsim_xml_add(cd, "cd", NULL)) == NULL ||
		    (nm = regsim_xml_add(cdn, "name", name)) == NULL) {
			free(name);
			goto oom;
		}
		xmlNewProp(nm, (const xmlChar *)"avail",
		    (const xmlChar *)(reason == NULL ? "1" : "0"));
		if (reason != NULL)
			regsim_xml_add(cdn, "reason", reason);
		free(name);
		count++;
	}
	if (count == 0)
		regsim_fail(c, 2003, "domain:name missing");
	else
		c->code = 1000;
	return;
oom:
	regsim_fail(c, 2400, "out of memory");
}

/* ---- info ---- */

static void
add_time(xmlNodePtr parent, const char *name, time_t t)
{
	char buf[40];

	if (t == 0)
		return;
	regsim_xml_time(buf, sizeof(buf), t);
	regsim_xml_add(parent, name, buf);
}

static void
add_statuses(xmlNodePtr parent, const struct regsim_strv *status)
{
	if (status->n == 0)
		xmlNewProp(regsim_xml_add(parent, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)"ok");
	for (size_t i = 0; i < status->n; i++)
		xmlNewProp(regsim_xml_add(parent, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)status->v[i]);
}

static void
add_contacts(xmlNodePtr parent, const struct regsim_strv *ids,
    const char *type)
{
	for (size_t i = 0; i < ids->n; i++)
		xmlNewProp(regsim_xml_add(parent, "contact", ids->v[i]),
		    (const xmlChar *)"type", (const xmlChar *)type);
}

/*
 * <domain:infData>.  full: the sponsor, or a client that presented the
 * authInfo, sees registrant and contacts; only the sponsor sees authInfo.
 */
static int
domain_infdata(struct regsim_cmd *c, const struct regsim_domain *d,
    const char *hosts, int full, int sponsor)
{
	xmlNodePtr inf, ns;
	struct regsim_strv sub = { NULL, 0 };

	if ((inf = regsim_resdata(c, NS, "domain", "infData")) == NULL)
		return -1;
	regsim_xml_add(inf, "name", d->name);
	regsim_xml_add(inf, "roid", d->roid);
	add_statuses(inf, &d->status);
	if (full && d->registrant != NULL)
		regsim_xml_add(inf, "registrant", d->registrant);
	if (full) {
		add_contacts(inf, &d->admin, "admin");
		add_contacts(inf, &d->tech, "tech");
		add_contacts(inf, &d->billing, "billing");
	}
	if (d->ns.n > 0 && (strcmp(hosts, "all") == 0 ||
	    strcmp(hosts, "del") == 0)) {
		ns = regsim_xml_add(inf, "ns", NULL);
		for (size_t i = 0; i < d->ns.n; i++)
			regsim_xml_add(ns, "hostObj", d->ns.v[i]);
	}
	if (strcmp(hosts, "all") == 0 || strcmp(hosts, "sub") == 0) {
		regsim_domain_subordinates(c->st, d->name, &sub);
		for (size_t i = 0; i < sub.n; i++)
			regsim_xml_add(inf, "host", sub.v[i]);
		regsim_strv_free(&sub);
	}
	regsim_xml_add(inf, "clID", d->clid);
	regsim_xml_add(inf, "crID", d->crid);
	add_time(inf, "crDate", d->crdate);
	if (d->upid != NULL)
		regsim_xml_add(inf, "upID", d->upid);
	add_time(inf, "upDate", d->update);
	add_time(inf, "exDate", d->exdate);
	add_time(inf, "trDate", d->trdate);
	if (sponsor && d->authpw != NULL)
		regsim_xml_add(regsim_xml_add(inf, "authInfo", NULL), "pw",
		    d->authpw);
	return 0;
}

static void
add_uint(xmlNodePtr parent, const char *name, unsigned long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lu", v);
	regsim_xml_add(parent, name, buf);
}

static void
add_dsdata(xmlNodePtr parent, const struct regsim_ds *ds)
{
	xmlNodePtr n = regsim_xml_add(parent, "dsData", NULL);

	add_uint(n, "keyTag", ds->keytag);
	add_uint(n, "alg", ds->alg);
	add_uint(n, "digestType", ds->dtype);
	regsim_xml_add(n, "digest", ds->digest);
}

/* secDNS:infData in the version the client logged in with, if any. */
static void
domain_info_secdns(struct regsim_cmd *c, const struct regsim_domain *d)
{
	xmlNodePtr inf;

	if (c->sess->secdns == 11 &&
	    (d->nds > 0 || d->nkeys > 0 || d->maxsiglife > 0)) {
		if ((inf = regsim_resext(c, REGSIM_NS_SECDNS, "secDNS",
		    "infData")) == NULL)
			return;
		if (d->maxsiglife > 0)
			add_uint(inf, "maxSigLife", d->maxsiglife);
		for (size_t i = 0; i < d->nds; i++)
			add_dsdata(inf, &d->ds[i]);
		for (size_t i = 0; i < d->nkeys; i++) {
			xmlNodePtr k = regsim_xml_add(inf, "keyData", NULL);

			add_uint(k, "flags", d->keys[i].flags);
			add_uint(k, "protocol", d->keys[i].proto);
			add_uint(k, "alg", d->keys[i].alg);
			regsim_xml_add(k, "pubKey", d->keys[i].pubkey);
		}
	} else if (c->sess->secdns == 10 && d->nds > 0) {
		if ((inf = regsim_resext(c, REGSIM_NS_SECDNS0, "secDNS",
		    "infData")) == NULL)
			return;
		for (size_t i = 0; i < d->nds; i++)
			add_dsdata(inf, &d->ds[i]);
	}
}

static void
domain_info(struct regsim_cmd *c)
{
	xmlNodePtr nm = regsim_xml_child(c->obj, NS, "name");
	struct regsim_domain *d;
	char *name = NULL, *hosts = NULL, *pw = NULL;
	int sponsor, full;

	if ((name = get_name(c, c->obj)) == NULL)
		goto done;
	hosts = regsim_xml_attr(nm, "hosts");
	if (hosts != NULL && strcmp(hosts, "all") != 0 &&
	    strcmp(hosts, "del") != 0 && strcmp(hosts, "sub") != 0 &&
	    strcmp(hosts, "none") != 0) {
		regsim_fail(c, 2005, "bad hosts attribute");
		goto done;
	}
	if ((d = regsim_domain_find(c->st, name)) == NULL) {
		regsim_fail(c, 2303, "domain %s does not exist", name);
		goto done;
	}
	pw = regsim_xml_child_text(regsim_xml_child(c->obj, NS, "authInfo"),
	    NS, "pw");
	sponsor = strcmp(d->clid, c->clid) == 0;
	full = sponsor;
	if (!sponsor && pw != NULL) {
		if (d->authpw == NULL || strcmp(pw, d->authpw) != 0) {
			regsim_fail(c, 2202, "wrong authInfo for %s", name);
			goto done;
		}
		full = 1;
	}
	if (domain_infdata(c, d, hosts != NULL ? hosts : "all", full,
	    sponsor) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	domain_info_secdns(c, d);
	if (c->sess->rgp && d->redemption)
		xmlNewProp(regsim_xml_add(regsim_resext(c, REGSIM_NS_RGP, "rgp",
		    "infData"), "rgpStatus", NULL), (const xmlChar *)"s",
		    (const xmlChar *)"redemptionPeriod");
	c->code = 1000;
done:
	free(name);
	free(hosts);
	free(pw);
}

/* ---- create ---- */

/* <domain:ns>: hostObj only; every host must exist. */
static int
read_ns(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr ns, int rem)
{
	for (xmlNodePtr h = regsim_xml_first(ns); h != NULL; h = regsim_xml_next(h)) {
		char *hn;
		int at, rc = 0;

		if (regsim_xml_is(h, NS, "hostAttr"))
			return regsim_fail(c, 2102, "hostAttr is not supported; "
			    "use hostObj");
		if (!regsim_xml_is(h, NS, "hostObj"))
			continue;
		if ((hn = regsim_xml_text(h)) == NULL)
			return regsim_fail(c, 2400, "out of memory");
		regsim_lower(hn);
		at = regsim_strv_find(&d->ns, hn);
		if (rem && at < 0)
			rc = regsim_fail(c, 2306, "%s is not a name server of %s",
			    hn, d->name);
		else if (rem)
			regsim_strv_del(&d->ns, (size_t)at);
		else if (regsim_host_find(c->st, hn) == NULL)
			rc = regsim_fail(c, 2303, "host %s does not exist", hn);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "%s is already a name server "
			    "of %s", hn, d->name);
		else if (regsim_strv_add(&d->ns, hn) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(hn);
		if (rc == -1)
			return -1;
	}
	if (d->ns.n > REGSIM_MAX_NS)
		return regsim_fail(c, 2306, "at most %d name servers",
		    REGSIM_MAX_NS);
	return 0;
}

/* <domain:contact type="..."> children of parent: add or remove. */
static int
read_contacts(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr parent,
    int rem)
{
	for (xmlNodePtr n = regsim_xml_first(parent); n != NULL;
	    n = regsim_xml_next(n)) {
		struct regsim_strv *list;
		char *type, *id;
		int at, rc = 0;

		if (!regsim_xml_is(n, NS, "contact"))
			continue;
		type = regsim_xml_attr(n, "type");
		id = regsim_xml_text(n);
		list = contact_list(d, type);
		if (list == NULL || id == NULL)
			rc = regsim_fail(c, 2005, "bad contact type");
		else if ((at = regsim_strv_find(list, id)) >= 0 && rem)
			regsim_strv_del(list, (size_t)at);
		else if (rem)
			rc = regsim_fail(c, 2306, "%s is not a %s contact", id, type);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "%s is already a %s contact",
			    id, type);
		else if (regsim_contact_find(c->st, id) == NULL)
			rc = regsim_fail(c, 2303, "contact %s does not exist", id);
		else if (regsim_strv_add(list, id) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(type);
		free(id);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
read_registrant(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr p)
{
	char *id = regsim_xml_child_text(p, NS, "registrant");
	int rc = 0;

	if (id == NULL)
		return 0;
	if (id[0] != '\0' && regsim_contact_find(c->st, id) == NULL)
		rc = regsim_fail(c, 2303, "contact %s does not exist", id);
	else if (regsim_setstr(&d->registrant, id[0] != '\0' ? id : NULL) == -1)
		rc = regsim_fail(c, 2400, "out of memory");
	free(id);
	return rc;
}

/* <domain:authInfo><domain:pw> (required when required is set). */
static int
read_authinfo(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr p,
    int required)
{
	xmlNodePtr ai = regsim_xml_child(p, NS, "authInfo");
	char *pw;
	int rc = 0;

	if (ai == NULL)
		return required ? regsim_fail(c, 2003, "authInfo missing") : 0;
	if (regsim_xml_child(ai, NS, "ext") != NULL)
		return regsim_fail(c, 2102, "authInfo ext is not supported");
	if ((pw = regsim_xml_child_text(ai, NS, "pw")) == NULL)
		return regsim_fail(c, 2306, "authInfo needs a pw");
	if (strlen(pw) < 6)
		rc = regsim_fail(c, 2306, "authInfo pw needs 6 characters");
	else if (regsim_setstr(&d->authpw, pw) == -1)
		rc = regsim_fail(c, 2400, "out of memory");
	free(pw);
	return rc;
}

static void
domain_create(struct regsim_cmd *c)
{
	struct regsim_domain *d = NULL;
	xmlNodePtr cre, ns;
	char *name;
	int years;

	if ((name = get_name(c, c->obj)) == NULL)
		return;
	if (!regsim_valid_hostname(name)) {
		regsim_fail(c, 2005, "bad domain name");
		goto done;
	}
	if (!registrable(c->st, name)) {
		regsim_fail(c, 2306, "%s is not registrable here", name);
		goto done;
	}
	if (regsim_domain_find(c->st, name) != NULL) {
		regsim_fail(c, 2302, "domain %s exists", name);
		goto done;
	}
	if (parse_period(c, c->obj, &years) == -1)
		goto done;
	if ((d = regsim_domain_new(c->st, name, c->clid, c->now)) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	d->exdate = c->now + years * YEAR;
	ns = regsim_xml_child(c->obj, NS, "ns");
	if ((ns != NULL && read_ns(c, d, ns, 0) == -1) ||
	    read_registrant(c, d, c->obj) == -1 ||
	    read_contacts(c, d, c->obj, 0) == -1 ||
	    read_authinfo(c, d, c->obj, 1) == -1 || secdns_create(c, d) == -1)
		goto done;
	if (regsim_domain_insert(c->st, d) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	cre = regsim_resdata(c, NS, "domain", "creData");
	regsim_xml_add(cre, "name", d->name);
	add_time(cre, "crDate", d->crdate);
	add_time(cre, "exDate", d->exdate);
	d = NULL;
	c->code = 1000;
done:
	regsim_domain_free(d);
	free(name);
}

/* ---- update ---- */

/* Status add/rem.  Clients may set and clear client* statuses only. */
static int
read_statuses(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr p,
    int rem)
{
	for (xmlNodePtr n = regsim_xml_first(p); n != NULL; n = regsim_xml_next(n)) {
		char *s;
		int at, rc = 0;

		if (!regsim_xml_is(n, NS, "status"))
			continue;
		if ((s = regsim_xml_attr(n, "s")) == NULL)
			return regsim_fail(c, 2003, "status needs s");
		at = regsim_strv_find(&d->status, s);
		if (!regsim_is_client_status(s))
			rc = regsim_fail(c, 2306, "status %.64s is not client "
			    "settable", s);
		else if (rem && at < 0)
			rc = regsim_fail(c, 2306, "status %s is not set", s);
		else if (rem)
			regsim_strv_del(&d->status, (size_t)at);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "status %s is already set", s);
		else if (regsim_strv_add(&d->status, s) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(s);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * RFC 5731: with clientUpdateProhibited set, the only update allowed is
 * one that removes that status (and may remove other client statuses).
 */
static int
only_unlocks(struct regsim_cmd *c)
{
	xmlNodePtr add = regsim_xml_child(c->obj, NS, "add");
	xmlNodePtr rem = regsim_xml_child(c->obj, NS, "rem");
	xmlNodePtr chg = regsim_xml_child(c->obj, NS, "chg");
	int removes = 0;

	if (regsim_xml_first(add) != NULL || regsim_xml_first(chg) != NULL ||
	    (c->ext != NULL && regsim_xml_first(c->ext) != NULL))
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

/* RFC 3915 restore: a request brings a redemption-period domain back. */
static void
domain_restore(struct regsim_cmd *c, struct regsim_domain *d, xmlNodePtr rst)
{
	char *op = regsim_xml_attr(rst, "op");
	int at;

	if (op == NULL || (strcmp(op, "request") != 0 &&
	    strcmp(op, "report") != 0)) {
		regsim_fail(c, 2005, "bad restore op");
		goto done;
	}
	if (!d->redemption) {
		regsim_fail(c, 2304, "%s is not in redemptionPeriod", d->name);
		goto done;
	}
	if (strcmp(op, "request") == 0) {
		/* The simulator completes the restore at once. */
		d->redemption = 0;
		if ((at = regsim_strv_find(&d->status, "pendingDelete")) >= 0)
			regsim_strv_del(&d->status, (size_t)at);
		(void)regsim_setstr(&d->upid, c->clid);
		d->update = c->now;
		if (c->sess->rgp)
			xmlNewProp(regsim_xml_add(regsim_resext(c, REGSIM_NS_RGP,
			    "rgp", "upData"), "rgpStatus", NULL),
			    (const xmlChar *)"s", (const xmlChar *)"pendingRestore");
	}
	c->code = 1000;
done:
	free(op);
}

static int
apply_update(struct regsim_cmd *c, struct regsim_domain *d)
{
	xmlNodePtr add = regsim_xml_child(c->obj, NS, "add");
	xmlNodePtr rem = regsim_xml_child(c->obj, NS, "rem");
	xmlNodePtr chg = regsim_xml_child(c->obj, NS, "chg");
	xmlNodePtr n;

	/* Removals first, so one command can swap a name server. */
	if (rem != NULL && ((n = regsim_xml_child(rem, NS, "ns")) != NULL &&
	    read_ns(c, d, n, 1) == -1))
		return -1;
	if (rem != NULL && (read_contacts(c, d, rem, 1) == -1 ||
	    read_statuses(c, d, rem, 1) == -1))
		return -1;
	if (add != NULL && ((n = regsim_xml_child(add, NS, "ns")) != NULL &&
	    read_ns(c, d, n, 0) == -1))
		return -1;
	if (add != NULL && (read_contacts(c, d, add, 0) == -1 ||
	    read_statuses(c, d, add, 0) == -1))
		return -1;
	if (chg != NULL && (read_registrant(c, d, chg) == -1 ||
	    read_authinfo(c, d, chg, 0) == -1))
		return -1;
	if ((n = regsim_xml_child(c->ext, REGSIM_NS_SECDNS, "update")) != NULL &&
	    secdns11_update(c, d, n) == -1)
		return -1;
	if ((n = regsim_xml_child(c->ext, REGSIM_NS_SECDNS0, "update")) != NULL &&
	    secdns10_update(c, d, n) == -1)
		return -1;
	return 0;
}

static void
domain_update(struct regsim_cmd *c)
{
	struct regsim_domain *d, *nd = NULL;
	xmlNodePtr rgp, rst;
	char *name;

	if ((name = get_name(c, c->obj)) == NULL ||
	    (d = find_sponsored(c, name)) == NULL)
		goto done;
	rgp = regsim_xml_child(c->ext, REGSIM_NS_RGP, "update");
	if ((rst = regsim_xml_child(rgp, REGSIM_NS_RGP, "restore")) != NULL) {
		domain_restore(c, d, rst);
		goto done;
	}
	if (d->redemption || has_status(d, "serverUpdateProhibited") ||
	    (has_status(d, "clientUpdateProhibited") && !only_unlocks(c))) {
		regsim_fail(c, 2304, "%s: status prohibits update", name);
		goto done;
	}
	if ((nd = regsim_domain_clone(d)) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	if (apply_update(c, nd) == -1 || regsim_setstr(&nd->upid, c->clid) == -1)
		goto done;
	nd->update = c->now;
	regsim_domain_replace(c->st, d, nd);
	nd = NULL;
	c->code = 1000;
done:
	regsim_domain_free(nd);
	free(name);
}

/* ---- delete ---- */

/*
 * A deleted domain enters the RGP redemption period (status pendingDelete)
 * and stays there until restored: the simulator never purges it.
 */
static void
domain_delete(struct regsim_cmd *c)
{
	struct regsim_domain *d;
	char *name;

	if ((name = get_name(c, c->obj)) == NULL ||
	    (d = find_sponsored(c, name)) == NULL)
		goto done;
	if (d->redemption || prohibited(d, "Delete")) {
		regsim_fail(c, 2304, "%s: status prohibits delete", name);
		goto done;
	}
	if (regsim_domain_subordinates(c->st, d->name, NULL) > 0) {
		regsim_fail(c, 2305, "%s has subordinate hosts", name);
		goto done;
	}
	if (regsim_strv_add(&d->status, "pendingDelete") == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	d->redemption = 1;
	d->update = c->now;
	(void)regsim_setstr(&d->upid, c->clid);
	c->code = 1000;
done:
	free(name);
}

/* ---- renew ---- */

static void
domain_renew(struct regsim_cmd *c)
{
	struct regsim_domain *d;
	char *name, *cur = NULL, have[16];
	xmlNodePtr ren;
	struct tm tm;
	int years;

	if ((name = get_name(c, c->obj)) == NULL ||
	    (d = find_sponsored(c, name)) == NULL)
		goto done;
	if (d->redemption || prohibited(d, "Renew")) {
		regsim_fail(c, 2304, "%s: status prohibits renew", name);
		goto done;
	}
	if ((cur = regsim_xml_child_text(c->obj, NS, "curExpDate")) == NULL) {
		regsim_fail(c, 2003, "curExpDate missing");
		goto done;
	}
	gmtime_r(&d->exdate, &tm);
	strftime(have, sizeof(have), "%Y-%m-%d", &tm);
	if (strcmp(cur, have) != 0) {
		regsim_fail(c, 2306, "curExpDate is not %s", have);
		goto done;
	}
	if (parse_period(c, c->obj, &years) == -1)
		goto done;
	if (d->exdate + years * YEAR > c->now + 10 * YEAR + DAY) {
		regsim_fail(c, 2306, "expiry would be over 10 years away");
		goto done;
	}
	d->exdate += years * YEAR;
	ren = regsim_resdata(c, NS, "domain", "renData");
	regsim_xml_add(ren, "name", d->name);
	add_time(ren, "exDate", d->exdate);
	c->code = 1000;
done:
	free(cur);
	free(name);
}

/* ---- transfer ---- */

static void
trn_data(struct regsim_cmd *c, const struct regsim_domain *d)
{
	xmlNodePtr t = regsim_resdata(c, NS, "domain", "trnData");

	regsim_xml_add(t, "name", d->name);
	regsim_xml_add(t, "trStatus", d->xfer.trstatus);
	regsim_xml_add(t, "reID", d->xfer.reid);
	add_time(t, "reDate", d->xfer.redate);
	regsim_xml_add(t, "acID", d->xfer.acid);
	add_time(t, "acDate", d->xfer.acdate);
	add_time(t, "exDate", d->xfer.exdate);
}

static int
xfer_pending(const struct regsim_domain *d)
{
	return d->xfer.trstatus != NULL &&
	    strcmp(d->xfer.trstatus, "pending") == 0;
}

/* End a pending transfer with status st (approve, reject, cancel). */
static int
xfer_finish(struct regsim_cmd *c, struct regsim_domain *d, const char *st)
{
	int at = regsim_strv_find(&d->status, "pendingTransfer");

	if (at >= 0)
		regsim_strv_del(&d->status, (size_t)at);
	d->xfer.acdate = c->now;
	if (regsim_setstr(&d->xfer.trstatus, st) == -1)
		return regsim_fail(c, 2400, "out of memory");
	return 0;
}

/* The new sponsor takes the domain and its subordinate hosts. */
static int
xfer_approve(struct regsim_cmd *c, struct regsim_domain *d)
{
	struct regsim_strv sub = { NULL, 0 };
	int rc = 0;

	if (regsim_setstr(&d->clid, d->xfer.reid) == -1)
		return regsim_fail(c, 2400, "out of memory");
	d->exdate = d->xfer.exdate;
	d->trdate = c->now;
	regsim_domain_subordinates(c->st, d->name, &sub);
	for (size_t i = 0; i < sub.n && rc == 0; i++) {
		struct regsim_host *h = regsim_host_find(c->st, sub.v[i]);

		if (h != NULL && regsim_setstr(&h->clid, d->clid) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		if (h != NULL)
			h->trdate = c->now;
	}
	regsim_strv_free(&sub);
	return rc == 0 ? xfer_finish(c, d, "clientApproved") : -1;
}

static int
xfer_request(struct regsim_cmd *c, struct regsim_domain *d)
{
	char *pw = regsim_xml_child_text(regsim_xml_child(c->obj, NS,
	    "authInfo"), NS, "pw");
	int years, rc = -1;

	if (strcmp(d->clid, c->clid) == 0)
		regsim_fail(c, 2106, "%s is already yours", d->name);
	else if (pw == NULL)
		regsim_fail(c, 2003, "authInfo missing");
	else if (d->authpw == NULL || strcmp(pw, d->authpw) != 0)
		regsim_fail(c, 2202, "wrong authInfo for %s", d->name);
	else if (d->redemption || prohibited(d, "Transfer"))
		regsim_fail(c, 2304, "%s: status prohibits transfer", d->name);
	else if (xfer_pending(d))
		regsim_fail(c, 2300, "%s is pending transfer", d->name);
	else if (parse_period(c, c->obj, &years) == 0) {
		regsim_xfer_clear(&d->xfer);
		if (regsim_setstr(&d->xfer.trstatus, "pending") == -1 ||
		    regsim_setstr(&d->xfer.reid, c->clid) == -1 ||
		    regsim_setstr(&d->xfer.acid, d->clid) == -1 ||
		    regsim_strv_add(&d->status, "pendingTransfer") == -1) {
			regsim_fail(c, 2400, "out of memory");
			goto done;
		}
		d->xfer.redate = c->now;
		d->xfer.acdate = c->now + 5 * DAY;
		d->xfer.exdate = d->exdate + years * YEAR;
		d->xfer.years = years;
		rc = 0;
	}
done:
	free(pw);
	return rc;
}

static void
domain_transfer(struct regsim_cmd *c)
{
	const char *op;
	char *opbuf = NULL, *name, *pw = NULL;
	struct regsim_domain *d;
	int sponsor, requester;

	opbuf = regsim_xml_attr(c->obj->parent, "op");
	op = opbuf != NULL ? opbuf : "";
	if ((name = get_name(c, c->obj)) == NULL)
		goto done;
	if ((d = regsim_domain_find(c->st, name)) == NULL) {
		regsim_fail(c, 2303, "domain %s does not exist", name);
		goto done;
	}
	sponsor = strcmp(d->clid, c->clid) == 0;
	requester = d->xfer.reid != NULL && strcmp(d->xfer.reid, c->clid) == 0;
	if (strcmp(op, "request") == 0) {
		if (xfer_request(c, d) == 0) {
			trn_data(c, d);
			c->code = 1001;
		}
		goto done;
	}
	if (strcmp(op, "query") == 0) {
		pw = regsim_xml_child_text(regsim_xml_child(c->obj, NS,
		    "authInfo"), NS, "pw");
		if (!sponsor && !requester && pw == NULL)
			regsim_fail(c, 2201, "not a party to the transfer");
		else if (!sponsor && !requester &&
		    (d->authpw == NULL || strcmp(pw, d->authpw) != 0))
			regsim_fail(c, 2202, "wrong authInfo for %s", name);
		else if (d->xfer.trstatus == NULL)
			regsim_fail(c, 2301, "no transfer of %s", name);
		else {
			trn_data(c, d);
			c->code = 1000;
		}
		goto done;
	}
	if (strcmp(op, "approve") != 0 && strcmp(op, "reject") != 0 &&
	    strcmp(op, "cancel") != 0) {
		regsim_fail(c, 2005, "bad transfer op");
		goto done;
	}
	if (strcmp(op, "cancel") == 0 ? !requester : !sponsor) {
		regsim_fail(c, 2201, "not allowed to %s this transfer", op);
		goto done;
	}
	if (!xfer_pending(d)) {
		regsim_fail(c, 2301, "%s is not pending transfer", name);
		goto done;
	}
	if ((strcmp(op, "approve") == 0 && xfer_approve(c, d) == -1) ||
	    (strcmp(op, "reject") == 0 && xfer_finish(c, d, "clientRejected")
	    == -1) ||
	    (strcmp(op, "cancel") == 0 && xfer_finish(c, d, "clientCancelled")
	    == -1))
		goto done;
	trn_data(c, d);
	c->code = 1000;
done:
	free(opbuf);
	free(name);
	free(pw);
}

void
regsim_domain_cmd(struct regsim_cmd *c, const char *verb)
{
	if (strcmp(verb, "check") == 0)
		domain_check(c);
	else if (strcmp(verb, "info") == 0)
		domain_info(c);
	else if (strcmp(verb, "create") == 0)
		domain_create(c);
	else if (strcmp(verb, "update") == 0)
		domain_update(c);
	else if (strcmp(verb, "delete") == 0)
		domain_delete(c);
	else if (strcmp(verb, "renew") == 0)
		domain_renew(c);
	else if (strcmp(verb, "transfer") == 0)
		domain_transfer(c);
	else
		regsim_fail(c, 2101, "domain:%s", verb);
}
