/*
 * seed.c: read the simulator's starting registry (see examples/regsim.seed
 * for the format, documented in its header).
 *
 * One record a line: a keyword, positional fields, then key=value fields.
 * A double-quoted stretch may hold spaces ("name=\"Jane Doe\"").  Lines may
 * come in any order; references (name servers, contacts, sponsors, glue)
 * are checked once the whole file is read.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "regsim.h"

#define MAX_TOKENS 32

struct seed_line {
	const char	*path;
	unsigned	 lineno;
	char		*tok[MAX_TOKENS];
	size_t		 ntok;
	char		 buf[4096];
};

static int
seed_err(const struct seed_line *l, const char *msg, const char *arg)
{
	fprintf(stderr, "%s:%u: %s%s%s\n", l->path, l->lineno, msg,
	    arg != NULL ? ": " : "", arg != NULL ? arg : "");
	return -1;
}

/* Split into tokens in place; quotes group and are removed. */
static int
tokenize(struct seed_line *l, const char *line)
{
	const char *p = line;
	char *out = l->buf, *end = l->buf + sizeof(l->buf) - 1;

	l->ntok = 0;
	for (;;) {
		int quoted = 0;

		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			return 0;
		if (l->ntok == MAX_TOKENS)
			return seed_err(l, "too many fields", NULL);
		l->tok[l->ntok++] = out;
		for (; *p != '\0' && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (out == end)
				return seed_err(l, "line too long", NULL);
			*out++ = *p;
		}
		if (quoted)
			return seed_err(l, "unterminated quote", NULL);
		if (out == end)
			return seed_err(l, "line too long", NULL);
		*out++ = '\0';
	}
}

/* The value of key=value among tokens from index first, or NULL. */
static const char *
field(const struct seed_line *l, size_t first, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = first; i < l->ntok; i++)
		if (strncmp(l->tok[i], key, klen) == 0 && l->tok[i][klen] == '=')
			return l->tok[i] + klen + 1;
	return NULL;
}

/* Every key=value token must be one of keys (NULL-terminated). */
static int
known_fields(const struct seed_line *l, size_t first, const char *const *keys)
{
	for (size_t i = first; i < l->ntok; i++) {
		const char *eq = strchr(l->tok[i], '=');
		int ok = 0;

		for (size_t k = 0; eq != NULL && keys[k] != NULL; k++)
			if (strlen(keys[k]) == (size_t)(eq - l->tok[i]) &&
			    strncmp(l->tok[i], keys[k], (size_t)(eq - l->tok[i])) == 0)
				ok = 1;
		if (!ok)
			return seed_err(l, "unknown field", l->tok[i]);
	}
	return 0;
}

/* Append each comma-separated item of list to sv. */
static int
add_list(const struct seed_line *l, struct regsim_strv *sv, const char *list,
    int lower)
{
	char buf[1024], *save = NULL, *item;
	size_t len;

	if (list == NULL)
		return 0;
	if ((len = strlen(list)) >= sizeof(buf))
		return seed_err(l, "list too long", NULL);
	memcpy(buf, list, len + 1);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (lower)
			regsim_lower(item);
		if (regsim_strv_add(sv, item) == -1)
			return seed_err(l, "out of memory", NULL);
	}
	return 0;
}

/* Read 1..max decimal digits at *p into *out and step past them. */
static int
date_field(const char **p, int max, int *out)
{
	int n, v = 0;

	for (n = 0; n < max && **p >= '0' && **p <= '9'; n++, (*p)++)
		v = v * 10 + (**p - '0');
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static int
parse_date(const struct seed_line *l, const char *s, time_t *out)
{
	struct tm tm;
	const char *p = s;
	int y, m, d;

	if (s == NULL)
		return 0;
	if (date_field(&p, 4, &y) == -1 || *p++ != '-' ||
	    date_field(&p, 2, &m) == -1 || *p++ != '-' ||
	    date_field(&p, 2, &d) == -1 || *p != '\0')
		return seed_err(l, "date must be YYYY-MM-DD", s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = timegm(&tm);
	return 0;
}

static int
parse_num(const struct seed_line *l, const char *s, unsigned long max,
    unsigned *out)
{
	unsigned long v;

	if (regsim_xml_uint(s, max, &v) == -1)
		return seed_err(l, "bad number", s);
	*out = (unsigned)v;
	return 0;
}

static int
need(const struct seed_line *l, size_t n, const char *usage)
{
	if (l->ntok < n || strchr(l->tok[n - 1], '=') != NULL)
		return seed_err(l, "usage", usage);
	return 0;
}

/* ---- records ---- */

static int
rec_registrar(struct regsim_store *st, const struct seed_line *l)
{
	if (need(l, 3, "registrar ID PASSWORD") == -1 ||
	    known_fields(l, 3, (const char *const[]){ NULL }) == -1)
		return -1;
	if (regsim_registrar_find(st, l->tok[1]) != NULL)
		return seed_err(l, "duplicate registrar", l->tok[1]);
	if (regsim_registrar_add(st, l->tok[1], l->tok[2]) == -1)
		return seed_err(l, "out of memory", NULL);
	return 0;
}

static int
rec_tld(struct regsim_store *st, const struct seed_line *l)
{
	char name[256];
	size_t len;

	if (need(l, 2, "tld NAME") == -1 ||
	    (len = strlen(l->tok[1])) >= sizeof(name))
		return -1;
	memcpy(name, l->tok[1], len + 1);
	regsim_lower(name);
	if (regsim_strv_add(&st->tlds, name) == -1)
		return seed_err(l, "out of memory", NULL);
	return 0;
}

static int
rec_contact(struct regsim_store *st, const struct seed_line *l, time_t now)
{
	static const char *const keys[] = { "name", "org", "street", "city",
	    "sp", "pc", "cc", "voice", "fax", "email", "auth", "status", "type",
	    NULL };
	struct regsim_contact *c;

	if (need(l, 3, "contact ID SPONSOR key=value...") == -1 ||
	    known_fields(l, 3, keys) == -1)
		return -1;
	if (regsim_contact_find(st, l->tok[1]) != NULL)
		return seed_err(l, "duplicate contact", l->tok[1]);
	if ((c = regsim_contact_new(st, l->tok[1], l->tok[2], now)) == NULL ||
	    regsim_contact_insert(st, c) == -1) {
		regsim_contact_free(c);
		return seed_err(l, "out of memory", NULL);
	}
	if (regsim_setstr(&c->name, field(l, 3, "name")) == -1 ||
	    regsim_setstr(&c->org, field(l, 3, "org")) == -1 ||
	    regsim_setstr(&c->street[0], field(l, 3, "street")) == -1 ||
	    regsim_setstr(&c->city, field(l, 3, "city")) == -1 ||
	    regsim_setstr(&c->sp, field(l, 3, "sp")) == -1 ||
	    regsim_setstr(&c->pc, field(l, 3, "pc")) == -1 ||
	    regsim_setstr(&c->cc, field(l, 3, "cc")) == -1 ||
	    regsim_setstr(&c->voice, field(l, 3, "voice")) == -1 ||
	    regsim_setstr(&c->fax, field(l, 3, "fax")) == -1 ||
	    regsim_setstr(&c->email, field(l, 3, "email")) == -1 ||
	    regsim_setstr(&c->authpw, field(l, 3, "auth")) == -1 ||
	    (field(l, 3, "type") != NULL &&
	    regsim_setstr(&c->pitype, field(l, 3, "type")) == -1))
		return seed_err(l, "out of memory", NULL);
	if (c->name == NULL || c->city == NULL || c->cc == NULL ||
	    c->email == NULL || c->authpw == NULL)
		return seed_err(l, "contact needs name, city, cc, email, auth",
		    NULL);
	return add_list(l, &c->status, field(l, 3, "status"), 0);
}

static int
rec_host(struct regsim_store *st, const struct seed_line *l, time_t now)
{
	static const char *const keys[] = { "addr", "status", NULL };
	struct regsim_strv addrs = { NULL, 0 };
	struct regsim_host *h;
	int rc = -1;

	if (need(l, 3, "host NAME SPONSOR [addr=IP,...] [status=...]") == -1 ||
	    known_fields(l, 3, keys) == -1)
		return -1;
	if (!regsim_valid_hostname(l->tok[1]))
		return seed_err(l, "bad host name", l->tok[1]);
	if (regsim_host_find(st, l->tok[1]) != NULL)
		return seed_err(l, "duplicate host", l->tok[1]);
	if ((h = regsim_host_new(st, l->tok[1], l->tok[2], now)) == NULL ||
	    regsim_host_insert(st, h) == -1) {
		regsim_host_free(h);
		return seed_err(l, "out of memory", NULL);
	}
	if (add_list(l, &addrs, field(l, 3, "addr"), 0) == -1)
		goto done;
	for (size_t i = 0; i < addrs.n; i++) {
		int v6 = strchr(addrs.v[i], ':') != NULL;

		if (!regsim_valid_ip(addrs.v[i], v6)) {
			seed_err(l, "bad address", addrs.v[i]);
			goto done;
		}
		if (regsim_host_add_addr(h, addrs.v[i], v6) == -1) {
			seed_err(l, "out of memory", NULL);
			goto done;
		}
	}
	rc = add_list(l, &h->status, field(l, 3, "status"), 0);
done:
	regsim_strv_free(&addrs);
	return rc;
}

static int
rec_domain(struct regsim_store *st, const struct seed_line *l, time_t now)
{
	static const char *const keys[] = { "registrant", "admin", "tech",
	    "billing", "ns", "auth", "status", "created", "expires",
	    "maxsiglife", NULL };
	struct regsim_domain *d;
	const char *v;

	if (need(l, 3, "domain NAME SPONSOR key=value...") == -1 ||
	    known_fields(l, 3, keys) == -1)
		return -1;
	if (!regsim_valid_hostname(l->tok[1]))
		return seed_err(l, "bad domain name", l->tok[1]);
	if (regsim_domain_find(st, l->tok[1]) != NULL)
		return seed_err(l, "duplicate domain", l->tok[1]);
	if ((d = regsim_domain_new(st, l->tok[1], l->tok[2], now)) == NULL ||
	    regsim_domain_insert(st, d) == -1) {
		regsim_domain_free(d);
		return seed_err(l, "out of memory", NULL);
	}
	if (regsim_setstr(&d->registrant, field(l, 3, "registrant")) == -1 ||
	    regsim_setstr(&d->authpw, field(l, 3, "auth")) == -1)
		return seed_err(l, "out of memory", NULL);
	if (d->authpw == NULL)
		return seed_err(l, "domain needs auth=", NULL);
	if (add_list(l, &d->admin, field(l, 3, "admin"), 0) == -1 ||
	    add_list(l, &d->tech, field(l, 3, "tech"), 0) == -1 ||
	    add_list(l, &d->billing, field(l, 3, "billing"), 0) == -1 ||
	    add_list(l, &d->ns, field(l, 3, "ns"), 1) == -1 ||
	    add_list(l, &d->status, field(l, 3, "status"), 0) == -1 ||
	    parse_date(l, field(l, 3, "created"), &d->crdate) == -1 ||
	    parse_date(l, field(l, 3, "expires"), &d->exdate) == -1)
		return -1;
	if ((v = field(l, 3, "maxsiglife")) != NULL) {
		unsigned m;

		if (parse_num(l, v, 2147483647UL, &m) == -1)
			return -1;
		d->maxsiglife = m;
	}
	return 0;
}

static int
rec_ds(struct regsim_store *st, const struct seed_line *l)
{
	struct regsim_domain *d;
	unsigned tag, alg, dt;
	size_t dlen;

	if (need(l, 6, "ds DOMAIN KEYTAG ALG DIGESTTYPE HEXDIGEST") == -1)
		return -1;
	if ((d = regsim_domain_find(st, l->tok[1])) == NULL)
		return seed_err(l, "ds before its domain", l->tok[1]);
	if (parse_num(l, l->tok[2], 65535, &tag) == -1 ||
	    parse_num(l, l->tok[3], 255, &alg) == -1 ||
	    parse_num(l, l->tok[4], 255, &dt) == -1)
		return -1;
	dlen = strlen(l->tok[5]);
	for (size_t i = 0; i < dlen; i++)
		if (!isxdigit((unsigned char)l->tok[5][i]))
			return seed_err(l, "digest is not hex", l->tok[5]);
	if (dlen == 0 || dlen % 2 != 0)
		return seed_err(l, "bad digest length", l->tok[5]);
	if (regsim_domain_add_ds(d, tag, alg, dt, l->tok[5]) == -1)
		return seed_err(l, "out of memory", NULL);
	return 0;
}

static int
rec_key(struct regsim_store *st, const struct seed_line *l)
{
	struct regsim_domain *d;
	unsigned flags, proto, alg;

	if (need(l, 6, "key DOMAIN FLAGS PROTOCOL ALG PUBKEY") == -1)
		return -1;
	if ((d = regsim_domain_find(st, l->tok[1])) == NULL)
		return seed_err(l, "key before its domain", l->tok[1]);
	if (parse_num(l, l->tok[2], 65535, &flags) == -1 ||
	    parse_num(l, l->tok[3], 255, &proto) == -1 ||
	    parse_num(l, l->tok[4], 255, &alg) == -1)
		return -1;
	if (regsim_domain_add_key(d, flags, proto, alg, l->tok[5]) == -1)
		return seed_err(l, "out of memory", NULL);
	return 0;
}

static int
seed_line(struct regsim_store *st, struct seed_line *l, time_t now)
{
	const char *kw = l->tok[0];

	if (strcmp(kw, "registrar") == 0)
		return rec_registrar(st, l);
	if (strcmp(kw, "tld") == 0)
		return rec_tld(st, l);
	if (strcmp(kw, "contact") == 0)
		return rec_contact(st, l, now);
	if (strcmp(kw, "host") == 0)
		return rec_host(st, l, now);
	if (strcmp(kw, "domain") == 0)
		return rec_domain(st, l, now);
	if (strcmp(kw, "ds") == 0)
		return rec_ds(st, l);
	if (strcmp(kw, "key") == 0)
		return rec_key(st, l);
	return seed_err(l, "unknown record", kw);
}

/* ---- cross-checks once everything is read ---- */

static int
check_err(const char *path, const char *what, const char *name,
    const char *detail)
{
	fprintf(stderr, "%s: %s %s: %s\n", path, what, name, detail);
	return -1;
}

static int
check_refs(struct regsim_store *st, const char *path)
{
	int rc = 0;

	for (size_t i = 0; i < st->ndom; i++) {
		struct regsim_domain *d = st->dom[i];
		const struct regsim_strv *lists[] = { &d->admin, &d->tech,
		    &d->billing };

		if (regsim_registrar_find(st, d->clid) == NULL)
			rc = check_err(path, "domain", d->name, "unknown sponsor");
		if (d->registrant != NULL &&
		    regsim_contact_find(st, d->registrant) == NULL)
			rc = check_err(path, "domain", d->name,
			    "unknown registrant");
		for (size_t k = 0; k < 3; k++)
			for (size_t j = 0; j < lists[k]->n; j++)
				if (regsim_contact_find(st, lists[k]->v[j]) == NULL)
					rc = check_err(path, "domain", d->name,
					    "unknown contact");
		for (size_t j = 0; j < d->ns.n; j++)
			if (regsim_host_find(st, d->ns.v[j]) == NULL)
				rc = check_err(path, "domain", d->name,
				    "unknown name server");
		if (d->nds > 0 && d->nkeys > 0)
			rc = check_err(path, "domain", d->name,
			    "has both ds and key records");
	}
	for (size_t i = 0; i < st->nhost; i++) {
		struct regsim_host *h = st->host[i];
		struct regsim_domain *sup = regsim_host_superordinate(st, h->name);

		if (regsim_registrar_find(st, h->clid) == NULL)
			rc = check_err(path, "host", h->name, "unknown sponsor");
		if (sup != NULL && h->naddr == 0)
			rc = check_err(path, "host", h->name,
			    "subordinate host needs an address");
		if (sup == NULL && h->naddr > 0)
			rc = check_err(path, "host", h->name,
			    "external host takes no address");
		if (sup != NULL && strcmp(sup->clid, h->clid) != 0)
			rc = check_err(path, "host", h->name,
			    "sponsor differs from its domain's");
	}
	for (size_t i = 0; i < st->ncon; i++)
		if (regsim_registrar_find(st, st->con[i]->clid) == NULL)
			rc = check_err(path, "contact", st->con[i]->id,
			    "unknown sponsor");
	return rc;
}

int
regsim_seed_load(struct regsim_store *st, const char *path, time_t now)
{
	struct seed_line *l;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	int rc = -1;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->path = path;
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto done;
	}
	while (getline(&line, &cap, fp) != -1) {
		l->lineno++;
		if (tokenize(l, line) == -1)
			goto done;
		if (l->ntok > 0 && seed_line(st, l, now) == -1)
			goto done;
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		goto done;
	}
	rc = check_refs(st, path);
done:
	if (fp != NULL)
		fclose(fp);
	free(line);
	free(l);
	return rc;
}
