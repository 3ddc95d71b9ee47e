/*
 * regstate.c: the registry's view of watched objects (see regstate.h).
 *
 * Objects live in one map keyed by "d:NAME" or "h:NAME".  Two reverse
 * indexes answer the policy's questions without a scan: "ns:HOST" and
 * "c:ID" map to the list of domains whose facts name them.  Every put
 * takes the old object's entries out of the indexes and puts the new
 * one's in, so the indexes never disagree with the facts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "regstate.h"
#include "strmap.h"

#define KEY_MAX	(RS_FACT_LEN + 8)

struct rs_obj {
	enum rs_kind	 kind;
	char		*name;
	char		**facts;	/* sorted, unique */
	size_t		 nfacts;
	int64_t		 refreshed;
	int64_t		 changed;	/* see rs_obj_changed */
	int		 pinned;
};

/* A list of domain names (pointers to rs_obj names) under an index key. */
struct rs_refs {
	const char	**names;
	size_t		  n, cap;
};

struct regstate {
	struct strmap	*objs;		/* "d:name"/"h:name" -> rs_obj */
	struct strmap	*index;		/* "ns:host"/"c:id" -> rs_refs */
	size_t		 max;
	int		 askable;
	void		(*observer)(void *, enum rs_kind, const char *);
	void		*observer_arg;
};

static void
notify(const struct regstate *rs, enum rs_kind k, const char *name)
{
	if (rs->observer != NULL)
		rs->observer(rs->observer_arg, k, name);
}

static void
obj_free(void *p)
{
	struct rs_obj *o = p;

	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nfacts; i++)
		free(o->facts[i]);
	free(o->facts);
	free(o->name);
	free(o);
}

static void
refs_free(void *p)
{
	struct rs_refs *r = p;

	if (r != NULL)
		free(r->names);
	free(r);
}

struct regstate *
regstate_new(size_t max_objects)
{
	struct regstate *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	rs->max = max_objects;
	if ((rs->objs = strmap_new()) == NULL ||
	    (rs->index = strmap_new()) == NULL) {
		regstate_free(rs);
		return NULL;
	}
	return rs;
}

void
regstate_free(struct regstate *rs)
{
	if (rs == NULL)
		return;
	strmap_free(rs->objs, obj_free);
	strmap_free(rs->index, refs_free);
	free(rs);
}

void
regstate_set_askable(struct regstate *rs, int askable)
{
	rs->askable = askable != 0;
}

int
regstate_askable(const struct regstate *rs)
{
	return rs != NULL && rs->askable;
}

size_t
regstate_count(const struct regstate *rs)
{
	return rs != NULL ? strmap_count(rs->objs) : 0;
}

size_t
regstate_max(const struct regstate *rs)
{
	return rs->max;
}

static int
obj_key(char *buf, size_t len, enum rs_kind k, const char *name)
{
	int n = snprintf(buf, len, "%c:%s", k == RS_DOMAIN ? 'd' : 'h', name);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

const struct rs_obj *
regstate_get(const struct regstate *rs, enum rs_kind k, const char *name)
{
	char key[KEY_MAX];

	if (rs == NULL || obj_key(key, sizeof(key), k, name) != 0)
		return NULL;
	return strmap_get(rs->objs, key);
}

const char *
rs_obj_name(const struct rs_obj *o)
{
	return o->name;
}

enum rs_kind
rs_obj_kind(const struct rs_obj *o)
{
	return o->kind;
}

int64_t
rs_obj_refreshed(const struct rs_obj *o)
{
	return o->refreshed;
}

int64_t
rs_obj_changed(const struct rs_obj *o)
{
	return o->changed;
}

int
rs_obj_pinned(const struct rs_obj *o)
{
	return o->pinned;
}

size_t
rs_obj_nfacts(const struct rs_obj *o)
{
	return o->nfacts;
}

const char *
rs_obj_fact(const struct rs_obj *o, size_t i)
{
	return i < o->nfacts ? o->facts[i] : NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rs_obj_has(const struct rs_obj *o, const char *fact)
{
	return o != NULL && bsearch(&fact, o->facts, o->nfacts,
	    sizeof(*o->facts), cmp_str) != NULL;
}

int
rs_obj_absent(const struct rs_obj *o)
{
	return rs_obj_has(o, "exists=0");
}

void
rs_diff_clear(struct rs_diff *d)
{
	for (size_t i = 0; i < d->ngone; i++)
		free(d->gone[i]);
	for (size_t i = 0; i < d->nadded; i++)
		free(d->added[i]);
	free(d->gone);
	free(d->added);
	memset(d, 0, sizeof(*d));
}

/* The index key a domain fact contributes, if any. */
static int
index_key(const char *fact, char *buf, size_t len)
{
	const char *colon;
	int n;

	if (strncmp(fact, "ns=", 3) == 0)
		n = snprintf(buf, len, "ns:%s", fact + 3);
	else if (strncmp(fact, "registrant=", 11) == 0)
		n = snprintf(buf, len, "c:%s", fact + 11);
	else if (strncmp(fact, "contact=", 8) == 0 &&
	    (colon = strchr(fact + 8, ':')) != NULL)
		n = snprintf(buf, len, "c:%s", colon + 1);
	else
		return -1;
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int
refs_add(struct regstate *rs, const char *key, const char *name)
{
	struct rs_refs *r = strmap_get(rs->index, key);

	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		if (strmap_put(rs->index, key, r, NULL) != 0) {
			free(r);
			return -1;
		}
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->names[i] == name)
			return 0;	/* registrant and admin, say */
	if (r->n == r->cap) {
		/* Each name at most once, and the store holds at most max
		 * (0: no maximum, then as many as can be counted). */
		const char **t = grow_array(r->names, &r->cap, r->n + 1,
		    sizeof(*t), rs->max ? rs->max : SIZE_MAX);

		if (t == NULL)
			return -1;
		r->names = t;
	}
	r->names[r->n++] = name;
	return 0;
}

static void
refs_del(struct regstate *rs, const char *key, const char *name)
{
	struct rs_refs *r = strmap_get(rs->index, key);

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->names[i] == name) {
			r->names[i] = r->names[--r->n];
			break;
		}
	if (r->n == 0)
		refs_free(strmap_del(rs->index, key));
}

static void
unindex(struct regstate *rs, const struct rs_obj *o)
{
	char key[KEY_MAX];

	if (o->kind != RS_DOMAIN)
		return;
	for (size_t i = 0; i < o->nfacts; i++)
		if (index_key(o->facts[i], key, sizeof(key)) == 0)
			refs_del(rs, key, o->name);
}

static int
reindex(struct regstate *rs, const struct rs_obj *o)
{
	char key[KEY_MAX];

	if (o->kind != RS_DOMAIN)
		return 0;
	for (size_t i = 0; i < o->nfacts; i++)
		if (index_key(o->facts[i], key, sizeof(key)) == 0 &&
		    refs_add(rs, key, o->name) != 0)
			return -1;
	return 0;
}

/* Room for one more object: evict the least recently read unpinned one. */
static int
make_room(struct regstate *rs)
{
	struct rs_obj *victim = NULL, *o;
	char key[KEY_MAX];
	size_t cur = 0;
	void *v;

	if (rs->max == 0 || strmap_count(rs->objs) < rs->max)
		return 0;
	while (strmap_next(rs->objs, &cur, &v) != NULL) {
		o = v;
		if (!o->pinned && (victim == NULL ||
		    o->refreshed < victim->refreshed))
			victim = o;
	}
	if (victim == NULL ||
	    obj_key(key, sizeof(key), victim->kind, victim->name) != 0)
		return -1;
	unindex(rs, victim);
	o = strmap_del(rs->objs, key);
	notify(rs, o->kind, o->name);
	obj_free(o);
	return 0;
}

/* Sorted, unique copies of facts. */
static int
fact_set(const char *const *facts, size_t n, char ***out, size_t *nout)
{
	char **v;
	size_t k = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strlen(facts[i]) >= RS_FACT_LEN ||
		    (v[i] = strdup(facts[i])) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return -1;
		}
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && strcmp(v[i], v[k - 1]) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	*nout = k;
	return 0;
}

static int
push(char ***arr, size_t *n, size_t *cap, size_t max, const char *s)
{
	char **t = grow_array(*arr, cap, *n + 1, sizeof(*t), max);

	if (t == NULL)
		return -1;
	*arr = t;
	if ((t[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Merge two sorted sets into what went and what came. */
static int
diff_sets(char *const *a, size_t na, char *const *b, size_t nb,
    struct rs_diff *d)
{
	size_t i = 0, j = 0, capg = 0, capa = 0;

	/* d is empty: at most all of a go, all of b come. */
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);

		if (c < 0) {
			if (push(&d->gone, &d->ngone, &capg, na, a[i++]) != 0)
				return -1;
		} else if (c > 0) {
			if (push(&d->added, &d->nadded, &capa, nb, b[j++]) != 0)
				return -1;
		} else {
			i++;
			j++;
		}
	}
	return 0;
}

static int
same_facts(const struct rs_obj *a, const struct rs_obj *b)
{
	if (a->nfacts != b->nfacts)
		return 0;
	for (size_t i = 0; i < a->nfacts; i++)
		if (strcmp(a->facts[i], b->facts[i]) != 0)
			return 0;
	return 1;
}

int
regstate_put(struct regstate *rs, enum rs_kind k, const char *name,
    const char *const *facts, size_t nfacts, int64_t now, struct rs_diff *diff)
{
	struct rs_obj *o = NULL, *old;
	char key[KEY_MAX];
	void *prev;

	if (diff != NULL)
		memset(diff, 0, sizeof(*diff));
	if (obj_key(key, sizeof(key), k, name) != 0)
		return -1;
	old = strmap_get(rs->objs, key);
	if (old == NULL && make_room(rs) != 0)
		return -1;
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->name = strdup(name)) == NULL ||
	    fact_set(facts, nfacts, &o->facts, &o->nfacts) != 0)
		goto fail;
	o->kind = k;
	o->refreshed = now;
	o->pinned = old != NULL ? old->pinned : 0;
	/*
	 * A first reading is no change: what the facts were before is not
	 * known, and calling it one would make every object read after a
	 * request look as if it had moved under it.
	 */
	if (old == NULL)
		o->changed = 0;
	else
		o->changed = same_facts(old, o) ? old->changed : now;
	if (diff != NULL) {
		diff->first = old == NULL;
		if (diff_sets(old ? old->facts : NULL, old ? old->nfacts : 0,
		    o->facts, o->nfacts, diff) != 0) {
			rs_diff_clear(diff);
			goto fail;
		}
	}
	if (old != NULL)
		unindex(rs, old);
	if (strmap_put(rs->objs, key, o, &prev) != 0) {
		if (old != NULL)
			(void)reindex(rs, old);
		goto fail;
	}
	obj_free(prev);
	if (reindex(rs, o) != 0) {
		/* The object stands; a half index would make a host or a
		 * contact look unlinked.  Drop it, so it reads as unknown
		 * and the policy asks the registry again. */
		unindex(rs, o);
		obj_free(strmap_del(rs->objs, key));
		notify(rs, k, name);
		return -1;
	}
	notify(rs, k, name);
	return 0;
fail:
	obj_free(o);
	return -1;
}

void
regstate_pin(struct regstate *rs, enum rs_kind k, const char *name,
    int pinned)
{
	struct rs_obj *o = (struct rs_obj *)regstate_get(rs, k, name);

	if (o != NULL && o->pinned != (pinned != 0)) {
		o->pinned = pinned != 0;
		notify(rs, k, name);
	}
}

void
regstate_del(struct regstate *rs, enum rs_kind k, const char *name)
{
	char key[KEY_MAX];
	struct rs_obj *o;

	if (obj_key(key, sizeof(key), k, name) != 0 ||
	    (o = strmap_get(rs->objs, key)) == NULL)
		return;
	unindex(rs, o);
	obj_free(strmap_del(rs->objs, key));
	notify(rs, k, name);
}

void
regstate_set_observer(struct regstate *rs, void (*fn)(void *, enum rs_kind,
    const char *), void *arg)
{
	rs->observer = fn;
	rs->observer_arg = arg;
}

int
regstate_clear(struct regstate *rs)
{
	struct strmap *objs, *index;

	if ((objs = strmap_new()) == NULL)
		return -1;
	if ((index = strmap_new()) == NULL) {
		strmap_free(objs, NULL);
		return -1;
	}
	strmap_free(rs->objs, obj_free);
	strmap_free(rs->index, refs_free);
	rs->objs = objs;
	rs->index = index;
	return 0;
}

static size_t
lookup(const struct regstate *rs, const char *prefix, const char *what,
    const char **out, size_t max)
{
	char key[KEY_MAX];
	const struct rs_refs *r;
	size_t n;

	if (rs == NULL || snprintf(key, sizeof(key), "%s%s", prefix, what) >=
	    (int)sizeof(key) || (r = strmap_get(rs->index, key)) == NULL)
		return 0;
	n = r->n < max ? r->n : max;
	for (size_t i = 0; i < n; i++)
		out[i] = r->names[i];
	return n;
}

size_t
regstate_domains_using_host(const struct regstate *rs, const char *host,
    const char **out, size_t max)
{
	return lookup(rs, "ns:", host, out, max);
}

size_t
regstate_domains_naming_contact(const struct regstate *rs, const char *id,
    const char **out, size_t max)
{
	return lookup(rs, "c:", id, out, max);
}

const struct rs_obj *
regstate_next(const struct regstate *rs, size_t *cursor)
{
	void *v;

	return strmap_next(rs->objs, cursor, &v) != NULL ? v : NULL;
}

char *
regstate_dump(const struct regstate *rs, size_t *len)
{
	json_t *root = json_object(), *objs = json_array();
	const struct rs_obj *o;
	size_t cur = 0;
	char *out = NULL;

	if (root == NULL || objs == NULL)
		goto out;
	json_object_set_new(root, "v", json_integer(1));
	while ((o = regstate_next(rs, &cur)) != NULL) {
		json_t *f = json_array(), *j;

		for (size_t i = 0; f != NULL && i < o->nfacts; i++)
			json_array_append_new(f, json_string(o->facts[i]));
		j = json_pack("{s:s, s:s, s:I, s:I, s:b, s:o}", "kind",
		    o->kind == RS_DOMAIN ? "domain" : "host", "name", o->name,
		    "refreshed", (json_int_t)o->refreshed,
		    "changed", (json_int_t)o->changed, "pinned", o->pinned,
		    "facts", f);
		if (j == NULL || json_array_append_new(objs, j) != 0)
			goto out;
	}
	json_object_set(root, "objects", objs);
	out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	if (out != NULL && len != NULL)
		*len = strlen(out);
out:
	json_decref(objs);
	json_decref(root);
	return out;
}

/* Restore when an object last changed (regstate_put counts a load's
 * first reading as no change). */
static void
set_changed(struct regstate *rs, enum rs_kind k, const char *name,
    int64_t changed)
{
	struct rs_obj *o = (struct rs_obj *)regstate_get(rs, k, name);

	if (o != NULL)
		o->changed = changed;
}

int
regstate_mirror(struct regstate *rs, enum rs_kind k, const char *name,
    const char *const *facts, size_t nfacts, int64_t refreshed,
    int64_t changed, int pinned)
{
	if (regstate_put(rs, k, name, facts, nfacts, refreshed, NULL) != 0)
		return -1;
	regstate_pin(rs, k, name, pinned);
	set_changed(rs, k, name, changed);
	return 0;
}

int
regstate_load(struct regstate *rs, const char *text, size_t len, struct err *e)
{
	struct regstate *tmp = NULL;
	json_error_t je;
	json_t *root, *objs, *j;
	size_t i;
	int r = -1;

	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL)
		return err_set(e, ERR_PARSE, "line %d: %s", je.line, je.text);
	if (json_integer_value(json_object_get(root, "v")) != 1 ||
	    !json_is_array(objs = json_object_get(root, "objects"))) {
		err_set(e, ERR_INVALID, "not a version 1 state file");
		goto out;
	}
	/* Into a scratch store first: all or nothing. */
	if ((tmp = regstate_new(0)) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(objs, i, j) {
		const char *kind = NULL, *name = NULL, **facts = NULL;
		json_int_t refreshed = 0, changed = 0;
		json_t *f = NULL, *fj;
		int pinned = 0, ok;
		size_t k, nf;

		/* "changed" came later: files without it still load. */
		if (json_unpack(j, "{s:s, s:s, s:I, s?I, s:b, s:o}", "kind",
		    &kind, "name", &name, "refreshed", &refreshed, "changed",
		    &changed, "pinned", &pinned, "facts", &f) != 0 ||
		    !json_is_array(f) ||
		    (strcmp(kind, "domain") != 0 && strcmp(kind,
		    "host") != 0)) {
			err_set(e, ERR_INVALID, "object %zu: malformed", i);
			goto out;
		}
		nf = json_array_size(f);
		if (nf > 0 && (facts = calloc(nf, sizeof(*facts))) == NULL) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		ok = 1;
		for (k = 0; k < nf; k++) {
			fj = json_array_get(f, k);
			if ((facts[k] = json_string_value(fj)) == NULL)
				ok = 0;
		}
		ok = ok && regstate_put(tmp, strcmp(kind, "domain") == 0 ?
		    RS_DOMAIN : RS_HOST, name, facts, nf, refreshed, NULL) == 0;
		free(facts);
		if (!ok) {
			err_set(e, ERR_INVALID, "object %zu (%.100s): invalid",
			    i,
			    name);
			goto out;
		}
		regstate_pin(tmp, strcmp(kind, "domain") == 0 ? RS_DOMAIN :
		    RS_HOST, name, pinned);
		set_changed(tmp, strcmp(kind, "domain") == 0 ? RS_DOMAIN :
		    RS_HOST, name, changed);
	}
	/* Move the objects over (the store's bound applies). */
	if (rs->max > 0 && regstate_count(rs) + regstate_count(tmp) > rs->max) {
		err_set(e, ERR_LIMIT, "%zu objects: more than the store holds "
		    "(%zu)", regstate_count(tmp), rs->max);
		goto out;
	}
	{
		const struct rs_obj *o;
		size_t cur = 0;

		while ((o = regstate_next(tmp, &cur)) != NULL) {
			if (regstate_put(rs, o->kind, o->name,
			    (const char *const *)o->facts, o->nfacts,
			    o->refreshed, NULL) != 0) {
				err_set(e, ERR_LIMIT, "%.100s: the store is "
				    "full", o->name);
				goto out;
			}
			regstate_pin(rs, o->kind, o->name, o->pinned);
			set_changed(rs, o->kind, o->name, o->changed);
		}
	}
	r = 0;
out:
	regstate_free(tmp);
	json_decref(root);
	return r;
}
