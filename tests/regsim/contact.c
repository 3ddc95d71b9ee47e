/*
 * contact.c: contact commands (RFC 5733).
 *
 * One postalInfo per contact (its type as sent); disclose is accepted and
 * ignored.  A contact referenced by a domain is "linked" and cannot be
 * deleted (2305).
 */
#include <stdlib.h>
#include <string.h>

#include "regsim.h"

#define NS REGSIM_NS_CONTACT
#define DAY 86400L

static char *
get_id(struct regsim_cmd *c, xmlNodePtr parent)
{
	char *id = regsim_xml_child_text(parent, NS, "id");

	if (id == NULL) {
		regsim_fail(c, 2003, "contact:id missing");
		return NULL;
	}
	regsim_note_obj(c, id);
	return id;
}

static struct regsim_contact *
find_contact(struct regsim_cmd *c, const char *id, int sponsor_only)
{
	struct regsim_contact *ct = regsim_contact_find(c->st, id);

	if (ct == NULL) {
		regsim_fail(c, 2303, "contact %s does not exist", id);
		return NULL;
	}
	if (sponsor_only && strcmp(ct->clid, c->clid) != 0) {
		regsim_fail(c, 2201, "contact %s is sponsored by another "
		    "registrar", id);
		return NULL;
	}
	return ct;
}

static int
has_status(const struct regsim_contact *ct, const char *s)
{
	return regsim_strv_find(&ct->status, s) >= 0;
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

/* Copy child ns:name's text into *dst if the child is present. */
static int
take(struct regsim_cmd *c, xmlNodePtr parent, const char *name, char **dst)
{
	xmlNodePtr n = regsim_xml_child(parent, NS, name);
	char *t;

	if (n == NULL)
		return 0;
	if ((t = regsim_xml_text(n)) == NULL)
		return regsim_fail(c, 2400, "out of memory");
	free(*dst);
	*dst = t[0] != '\0' ? t : NULL;
	if (*dst == NULL)
		free(t);
	return 0;
}

/* <contact:postalInfo>: on create everything, on update what is there. */
static int
read_postal(struct regsim_cmd *c, struct regsim_contact *ct, xmlNodePtr pi)
{
	xmlNodePtr addr = regsim_xml_child(pi, NS, "addr");
	char *type = regsim_xml_attr(pi, "type");
	size_t ns = 0;

	if (type == NULL || (strcmp(type, "int") != 0 && strcmp(type, "loc") != 0)) {
		free(type);
		return regsim_fail(c, 2005, "postalInfo type must be int or loc");
	}
	free(ct->pitype);
	ct->pitype = type;
	if (take(c, pi, "name", &ct->name) == -1 ||
	    take(c, pi, "org", &ct->org) == -1)
		return -1;
	if (addr == NULL)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		free(ct->street[i]);
		ct->street[i] = NULL;
	}
	for (xmlNodePtr n = regsim_xml_first(addr); n != NULL;
	    n = regsim_xml_next(n))
		if (regsim_xml_is(n, NS, "street") && ns < 3 &&
		    (ct->street[ns++] = regsim_xml_text(n)) == NULL)
			return regsim_fail(c, 2400, "out of memory");
	if (take(c, addr, "city", &ct->city) == -1 ||
	    take(c, addr, "sp", &ct->sp) == -1 ||
	    take(c, addr, "pc", &ct->pc) == -1 ||
	    take(c, addr, "cc", &ct->cc) == -1)
		return -1;
	if (ct->cc != NULL && strlen(ct->cc) != 2)
		return regsim_fail(c, 2005, "cc must be two letters");
	return 0;
}

static int
read_details(struct regsim_cmd *c, struct regsim_contact *ct, xmlNodePtr p)
{
	xmlNodePtr pi = regsim_xml_child(p, NS, "postalInfo");
	xmlNodePtr ai = regsim_xml_child(p, NS, "authInfo");

	if (pi != NULL && read_postal(c, ct, pi) == -1)
		return -1;
	if (take(c, p, "voice", &ct->voice) == -1 ||
	    take(c, p, "fax", &ct->fax) == -1 ||
	    take(c, p, "email", &ct->email) == -1)
		return -1;
	if (ai != NULL && take(c, ai, "pw", &ct->authpw) == -1)
		return -1;
	return 0;
}

static int
read_statuses(struct regsim_cmd *c, struct regsim_contact *ct, xmlNodePtr p,
    int rem)
{
	for (xmlNodePtr n = regsim_xml_first(p); n != NULL; n = regsim_xml_next(n)) {
		char *s;
		int at, rc = 0;

		if (!regsim_xml_is(n, NS, "status"))
			continue;
		if ((s = regsim_xml_attr(n, "s")) == NULL)
			return regsim_fail(c, 2003, "status needs s");
		at = regsim_strv_find(&ct->status, s);
		if (strcmp(s, "clientDeleteProhibited") != 0 &&
		    strcmp(s, "clientUpdateProhibited") != 0 &&
		    strcmp(s, "clientTransferProhibited") != 0)
			rc = regsim_fail(c, 2306, "status %.64s is not client "
			    "settable", s);
		else if (rem && at < 0)
			rc = regsim_fail(c, 2306, "status %s is not set", s);
		else if (rem)
			regsim_strv_del(&ct->status, (size_t)at);
		else if (at >= 0)
			rc = regsim_fail(c, 2306, "status %s is already set", s);
		else if (regsim_strv_add(&ct->status, s) == -1)
			rc = regsim_fail(c, 2400, "out of memory");
		free(s);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* ---- commands ---- */

static void
contact_check(struct regsim_cmd *c)
{
	xmlNodePtr cd = NULL;
	int count = 0;

	for (xmlNodePtr n = regsim_xml_first(c->obj); n != NULL;
	    n = regsim_xml_next(n)) {
		xmlNodePtr cdn;
		char *id;
		int used;

		if (!regsim_xml_is(n, NS, "id"))
			continue;
		if ((cd == NULL &&
		    (cd = regsim_resdata(c, NS, "contact", "chkData")) == NULL) ||
		    (id = regsim_xml_text(n)) == NULL) {
			regsim_fail(c, 2400, "out of memory");
			return;
		}
		regsim_note_obj(c, id);
		used = regsim_contact_find(c->st, id) != NULL;
		cdn = regsim_xml_add(cd, "cd", NULL);
		xmlNewProp(regsim_xml_add(cdn, "id", id),
		    (const xmlChar *)"avail", (const xmlChar *)(used ? "0" : "1"));
		if (used)
			regsim_xml_add(cdn, "reason", "In use");
		free(id);
		count++;
	}
	if (count == 0)
		regsim_fail(c, 2003, "contact:id missing");
	else
		c->code = 1000;
}

static void
contact_infdata(struct regsim_cmd *c, const struct regsim_contact *ct,
    int full, int sponsor)
{
	xmlNodePtr inf = regsim_resdata(c, NS, "contact", "infData");
	xmlNodePtr pi, addr;
	int linked = regsim_contact_linked(c->st, ct->id);

	regsim_xml_add(inf, "id", ct->id);
	regsim_xml_add(inf, "roid", ct->roid);
	if (ct->status.n == 0 && !linked)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)"ok");
	for (size_t i = 0; i < ct->status.n; i++)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)ct->status.v[i]);
	if (linked)
		xmlNewProp(regsim_xml_add(inf, "status", NULL),
		    (const xmlChar *)"s", (const xmlChar *)"linked");
	if (full) {
		pi = regsim_xml_add(inf, "postalInfo", NULL);
		xmlNewProp(pi, (const xmlChar *)"type",
		    (const xmlChar *)ct->pitype);
		regsim_xml_add(pi, "name", ct->name != NULL ? ct->name : "");
		if (ct->org != NULL)
			regsim_xml_add(pi, "org", ct->org);
		addr = regsim_xml_add(pi, "addr", NULL);
		for (size_t i = 0; i < 3; i++)
			if (ct->street[i] != NULL)
				regsim_xml_add(addr, "street", ct->street[i]);
		regsim_xml_add(addr, "city", ct->city != NULL ? ct->city : "");
		if (ct->sp != NULL)
			regsim_xml_add(addr, "sp", ct->sp);
		if (ct->pc != NULL)
			regsim_xml_add(addr, "pc", ct->pc);
		regsim_xml_add(addr, "cc", ct->cc != NULL ? ct->cc : "");
		if (ct->voice != NULL)
			regsim_xml_add(inf, "voice", ct->voice);
		if (ct->fax != NULL)
			regsim_xml_add(inf, "fax", ct->fax);
		regsim_xml_add(inf, "email", ct->email != NULL ? ct->email : "");
	}
	regsim_xml_add(inf, "clID", ct->clid);
	regsim_xml_add(inf, "crID", ct->crid);
	add_time(inf, "crDate", ct->crdate);
	if (ct->upid != NULL)
		regsim_xml_add(inf, "upID", ct->upid);
	add_time(inf, "upDate", ct->update);
	add_time(inf, "trDate", ct->trdate);
	if (sponsor && ct->authpw != NULL)
		regsim_xml_add(regsim_xml_add(inf, "authInfo", NULL), "pw",
		    ct->authpw);
}

static void
contact_info(struct regsim_cmd *c)
{
	struct regsim_contact *ct;
	char *id, *pw = NULL;
	int sponsor, full;

	if ((id = get_id(c, c->obj)) == NULL ||
	    (ct = find_contact(c, id, 0)) == NULL)
		goto done;
	pw = regsim_xml_child_text(regsim_xml_child(c->obj, NS, "authInfo"),
	    NS, "pw");
	sponsor = strcmp(ct->clid, c->clid) == 0;
	full = sponsor;
	if (!sponsor && pw != NULL) {
		if (ct->authpw == NULL || strcmp(pw, ct->authpw) != 0) {
			regsim_fail(c, 2202, "wrong authInfo for %s", id);
			goto done;
		}
		full = 1;
	}
	contact_infdata(c, ct, full, sponsor);
	c->code = 1000;
done:
	free(id);
	free(pw);
}

static void
contact_create(struct regsim_cmd *c)
{
	struct regsim_contact *ct = NULL;
	xmlNodePtr cre;
	char *id;

	if ((id = get_id(c, c->obj)) == NULL)
		return;
	if (strlen(id) < 3 || strlen(id) > 16) {
		regsim_fail(c, 2005, "contact id must be 3 to 16 characters");
		goto done;
	}
	if (regsim_contact_find(c->st, id) != NULL) {
		regsim_fail(c, 2302, "contact %s exists", id);
		goto done;
	}
	if ((ct = regsim_contact_new(c->st, id, c->clid, c->now)) == NULL) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	if (read_details(c, ct, c->obj) == -1)
		goto done;
	if (ct->name == NULL || ct->city == NULL || ct->cc == NULL ||
	    ct->email == NULL || ct->authpw == NULL) {
		regsim_fail(c, 2003, "contact needs name, city, cc, email and "
		    "authInfo");
		goto done;
	}
	if (regsim_contact_insert(c->st, ct) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	cre = regsim_resdata(c, NS, "contact", "creData");
	regsim_xml_add(cre, "id", ct->id);
	add_time(cre, "crDate", ct->crdate);
	ct = NULL;
	c->code = 1000;
done:
	regsim_contact_free(ct);
	free(id);
}

/* The value checks of read_postal, made before anything is changed. */
static int
check_postal(struct regsim_cmd *c, xmlNodePtr chg)
{
	xmlNodePtr pi = regsim_xml_child(chg, NS, "postalInfo");
	char *type, *cc;
	int rc = 0;

	if (pi == NULL)
		return 0;
	type = regsim_xml_attr(pi, "type");
	cc = regsim_xml_child_text(regsim_xml_child(pi, NS, "addr"), NS, "cc");
	if (type == NULL || (strcmp(type, "int") != 0 && strcmp(type, "loc") != 0))
		rc = regsim_fail(c, 2005, "postalInfo type must be int or loc");
	else if (cc != NULL && strlen(cc) != 2)
		rc = regsim_fail(c, 2005, "cc must be two letters");
	free(type);
	free(cc);
	return rc;
}

/*
 * A refused update must change nothing: postal values are checked first,
 * statuses are restored from a copy if a status change is refused, and
 * after that only allocation can fail.
 */
static void
contact_update(struct regsim_cmd *c)
{
	struct regsim_contact *ct;
	struct regsim_strv saved = { NULL, 0 };
	xmlNodePtr add = regsim_xml_child(c->obj, NS, "add");
	xmlNodePtr rem = regsim_xml_child(c->obj, NS, "rem");
	xmlNodePtr chg = regsim_xml_child(c->obj, NS, "chg");
	char *id;

	if ((id = get_id(c, c->obj)) == NULL ||
	    (ct = find_contact(c, id, 1)) == NULL)
		goto done;
	if (has_status(ct, "serverUpdateProhibited") ||
	    (has_status(ct, "clientUpdateProhibited") &&
	    (regsim_xml_first(add) != NULL || regsim_xml_first(chg) != NULL ||
	    rem == NULL))) {
		regsim_fail(c, 2304, "%s: status prohibits update", id);
		goto done;
	}
	if (chg != NULL && check_postal(c, chg) == -1)
		goto done;
	if (regsim_strv_copy(&saved, &ct->status) == -1) {
		regsim_fail(c, 2400, "out of memory");
		goto done;
	}
	if ((rem != NULL && read_statuses(c, ct, rem, 1) == -1) ||
	    (add != NULL && read_statuses(c, ct, add, 0) == -1) ||
	    (chg != NULL && read_details(c, ct, chg) == -1)) {
		regsim_strv_free(&ct->status);
		ct->status = saved;
		saved.v = NULL;
		saved.n = 0;
		goto done;
	}
	(void)regsim_setstr(&ct->upid, c->clid);
	ct->update = c->now;
	c->code = 1000;
done:
	regsim_strv_free(&saved);
	free(id);
}

static void
contact_delete(struct regsim_cmd *c)
{
	struct regsim_contact *ct;
	char *id;

	if ((id = get_id(c, c->obj)) == NULL ||
	    (ct = find_contact(c, id, 1)) == NULL)
		goto done;
	if (has_status(ct, "clientDeleteProhibited") ||
	    has_status(ct, "serverDeleteProhibited")) {
		regsim_fail(c, 2304, "%s: status prohibits delete", id);
		goto done;
	}
	if (regsim_contact_linked(c->st, id)) {
		regsim_fail(c, 2305, "%s is used by a domain", id);
		goto done;
	}
	regsim_contact_remove(c->st, ct);
	c->code = 1000;
done:
	free(id);
}

static void
trn_data(struct regsim_cmd *c, const struct regsim_contact *ct)
{
	xmlNodePtr t = regsim_resdata(c, NS, "contact", "trnData");

	regsim_xml_add(t, "id", ct->id);
	regsim_xml_add(t, "trStatus", ct->xfer.trstatus);
	regsim_xml_add(t, "reID", ct->xfer.reid);
	add_time(t, "reDate", ct->xfer.redate);
	regsim_xml_add(t, "acID", ct->xfer.acid);
	add_time(t, "acDate", ct->xfer.acdate);
}

static int
contact_xfer_request(struct regsim_cmd *c, struct regsim_contact *ct,
    const char *pw)
{
	if (strcmp(ct->clid, c->clid) == 0)
		return regsim_fail(c, 2106, "%s is already yours", ct->id);
	if (pw == NULL)
		return regsim_fail(c, 2003, "authInfo missing");
	if (ct->authpw == NULL || strcmp(pw, ct->authpw) != 0)
		return regsim_fail(c, 2202, "wrong authInfo for %s", ct->id);
	if (has_status(ct, "clientTransferProhibited") ||
	    has_status(ct, "serverTransferProhibited"))
		return regsim_fail(c, 2304, "%s: status prohibits transfer",
		    ct->id);
	if (has_status(ct, "pendingTransfer"))
		return regsim_fail(c, 2300, "%s is pending transfer", ct->id);
	regsim_xfer_clear(&ct->xfer);
	if (regsim_setstr(&ct->xfer.trstatus, "pending") == -1 ||
	    regsim_setstr(&ct->xfer.reid, c->clid) == -1 ||
	    regsim_setstr(&ct->xfer.acid, ct->clid) == -1 ||
	    regsim_strv_add(&ct->status, "pendingTransfer") == -1)
		return regsim_fail(c, 2400, "out of memory");
	ct->xfer.redate = c->now;
	ct->xfer.acdate = c->now + 5 * DAY;
	return 0;
}

/* approve, reject or cancel a pending transfer. */
static int
contact_xfer_end(struct regsim_cmd *c, struct regsim_contact *ct,
    const char *op)
{
	int requester = ct->xfer.reid != NULL &&
	    strcmp(ct->xfer.reid, c->clid) == 0;
	int at = regsim_strv_find(&ct->status, "pendingTransfer");
	const char *st;

	if (strcmp(op, "cancel") == 0 ? !requester :
	    strcmp(ct->clid, c->clid) != 0)
		return regsim_fail(c, 2201, "not allowed to %s this transfer", op);
	if (at < 0)
		return regsim_fail(c, 2301, "%s is not pending transfer", ct->id);
	st = strcmp(op, "approve") == 0 ? "clientApproved" :
	    strcmp(op, "reject") == 0 ? "clientRejected" : "clientCancelled";
	if (strcmp(op, "approve") == 0) {
		if (regsim_setstr(&ct->clid, ct->xfer.reid) == -1)
			return regsim_fail(c, 2400, "out of memory");
		ct->trdate = c->now;
	}
	regsim_strv_del(&ct->status, (size_t)at);
	ct->xfer.acdate = c->now;
	if (regsim_setstr(&ct->xfer.trstatus, st) == -1)
		return regsim_fail(c, 2400, "out of memory");
	return 0;
}

static void
contact_transfer(struct regsim_cmd *c)
{
	struct regsim_contact *ct;
	char *id, *op, *pw;
	int party;

	op = regsim_xml_attr(c->obj->parent, "op");
	pw = regsim_xml_child_text(regsim_xml_child(c->obj, NS, "authInfo"),
	    NS, "pw");
	if ((id = get_id(c, c->obj)) == NULL ||
	    (ct = find_contact(c, id, 0)) == NULL || op == NULL)
		goto done;
	party = strcmp(ct->clid, c->clid) == 0 || (ct->xfer.reid != NULL &&
	    strcmp(ct->xfer.reid, c->clid) == 0);
	if (strcmp(op, "request") == 0) {
		if (contact_xfer_request(c, ct, pw) == 0) {
			trn_data(c, ct);
			c->code = 1001;
		}
	} else if (strcmp(op, "query") == 0) {
		if (!party && pw == NULL)
			regsim_fail(c, 2201, "not a party to the transfer");
		else if (!party && (ct->authpw == NULL ||
		    strcmp(pw, ct->authpw) != 0))
			regsim_fail(c, 2202, "wrong authInfo for %s", id);
		else if (ct->xfer.trstatus == NULL)
			regsim_fail(c, 2301, "no transfer of %s", id);
		else {
			trn_data(c, ct);
			c->code = 1000;
		}
	} else if (strcmp(op, "approve") == 0 || strcmp(op, "reject") == 0 ||
	    strcmp(op, "cancel") == 0) {
		if (contact_xfer_end(c, ct, op) == 0) {
			trn_data(c, ct);
			c->code = 1000;
		}
	} else
		regsim_fail(c, 2005, "bad transfer op");
done:
	free(id);
	free(op);
	free(pw);
}

void
regsim_contact_cmd(struct regsim_cmd *c, const char *verb)
{
	if (strcmp(verb, "check") == 0)
		contact_check(c);
	else if (strcmp(verb, "info") == 0)
		contact_info(c);
	else if (strcmp(verb, "create") == 0)
		contact_create(c);
	else if (strcmp(verb, "update") == 0)
		contact_update(c);
	else if (strcmp(verb, "delete") == 0)
		contact_delete(c);
	else if (strcmp(verb, "transfer") == 0)
		contact_transfer(c);
	else	/* RFC 5733 has no contact renew */
		regsim_fail(c, 2101, "contact:%s is not an EPP command", verb);
}
