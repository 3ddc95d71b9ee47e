/*
 * lock.c: the lock list (see lock.h).
 *
 * Two string sets, exact names and pattern suffixes (strmap.h, keys only);
 * entries are also kept in order for listing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "names.h"
#include "strmap.h"

struct locklist {
	struct strmap	*exact;
	struct strmap	*suffix;	/* "*.bank.example" stored as "bank.example" */
	char		**order;	/* entries as listed, normalised */
	size_t		  norder, cap;
};

/* The sets hold keys only: any non-NULL value marks membership. */
#define PRESENT	((void *)1)

static int
set_has(const struct strmap *set, const char *s)
{
	return strmap_get(set, s) != NULL;
}

static int
set_add(struct strmap *set, const char *s)
{
	return strmap_put(set, s, PRESENT, NULL);
}

static int
set_del(struct strmap *set, const char *s)
{
	return strmap_del(set, s) != NULL ? 0 : -1;
}

struct locklist *
locklist_new(void)
{
	struct locklist *l = calloc(1, sizeof(struct locklist));

	if (l != NULL && ((l->exact = strmap_new()) == NULL ||
	    (l->suffix = strmap_new()) == NULL)) {
		strmap_free(l->exact, NULL);
		free(l);
		return NULL;
	}
	return l;
}

struct locklist *
locklist_copy(const struct locklist *l, struct err *e)
{
	struct locklist *c;

	if ((c = locklist_new()) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	/* The entries are normalised already: added again, they make the
	 * same sets in the same order. */
	for (size_t i = 0; i < l->norder; i++)
		if (locklist_add(c, l->order[i], e) != 0) {
			locklist_free(c);
			return NULL;
		}
	return c;
}

void
locklist_free(struct locklist *l)
{
	if (l == NULL)
		return;
	strmap_free(l->exact, NULL);
	strmap_free(l->suffix, NULL);
	for (size_t i = 0; i < l->norder; i++)
		free(l->order[i]);
	free(l->order);
	free(l);
}

/* "*.x.example" -> suffix "x.example"; else the exact name.  Normalised. */
static int
parse_entry(const char *entry, char *out, size_t len, int *pattern,
    struct err *e)
{
	enum name_status st;

	*pattern = strncmp(entry, "*.", 2) == 0;
	st = name_normalise(entry + (*pattern ? 2 : 0), out, len);
	if (st != NAME_OK)
		return err_set(e, ERR_INVALID, "%s", name_status_str(st));
	if (strchr(out, '.') == NULL && !*pattern)
		/* A bare TLD would lock a whole registry: say so. */
		return err_set(e, ERR_INVALID, "a lock entry needs at least "
		    "two labels (use *.tld)");
	return 0;
}

int
locklist_normalise(const char *entry, char *out, size_t len, struct err *e)
{
	char name[NAME_MAX_LEN + 1];
	int pattern;

	if (parse_entry(entry, name, sizeof(name), &pattern, e) != 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s%s", pattern ? "*." : "", name) >=
	    len)
		return err_set(e, ERR_LIMIT, "name too long");
	return 0;
}

int
locklist_add(struct locklist *l, const char *entry, struct err *e)
{
	char name[NAME_MAX_LEN + 1], shown[NAME_MAX_LEN + 3], **n;
	int pattern;

	if (parse_entry(entry, name, sizeof(name), &pattern, e) != 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s%s", pattern ? "*." : "", name);
	if (set_has(pattern ? l->suffix : l->exact, name))
		return 0;
	if ((n = grow_array(l->order, &l->cap, l->norder + 1, sizeof(*n),
	    LOCKLIST_MAX)) == NULL) {
		if (errno == ERANGE)
			return err_set(e, ERR_LIMIT, "the lock list is full "
			    "(1048576 entries)");
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	l->order = n;
	if ((n[l->norder] = strdup(shown)) == NULL ||
	    set_add(pattern ? l->suffix : l->exact, name) != 0) {
		free(n[l->norder]);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	l->norder++;
	return 0;
}

int
locklist_remove(struct locklist *l, const char *entry)
{
	char name[NAME_MAX_LEN + 1], shown[NAME_MAX_LEN + 3];
	int pattern;

	if (parse_entry(entry, name, sizeof(name), &pattern, NULL) != 0)
		return -1;
	if (set_del(pattern ? l->suffix : l->exact, name) != 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s%s", pattern ? "*." : "", name);
	for (size_t i = 0; i < l->norder; i++)
		if (strcmp(l->order[i], shown) == 0) {
			free(l->order[i]);
			memmove(&l->order[i], &l->order[i + 1],
			    (l->norder - i - 1) * sizeof(char *));
			l->norder--;
			break;
		}
	return 0;
}

size_t
locklist_count(const struct locklist *l)
{
	return l->norder;
}

const char *
locklist_entry(const struct locklist *l, size_t i)
{
	return i < l->norder ? l->order[i] : NULL;
}

/* The entry text for a match, from the ordered list. */
static const char *
shown_entry(const struct locklist *l, const char *name, int pattern)
{
	for (size_t i = 0; i < l->norder; i++) {
		const char *e = l->order[i];

		if (pattern && strncmp(e, "*.", 2) == 0 &&
		    strcmp(e + 2, name) == 0)
			return e;
		if (!pattern && strcmp(e, name) == 0)
			return e;
	}
	return name;
}

/*
 * Walk the proper parents of name ("a.b.c" -> "b.c", "c"), checking the
 * pattern set always and the exact set when hosts are asked about.
 */
static int
match(const struct locklist *l, const char *name, int self_exact,
    int parents_exact, const char **entry)
{
	const char *p;

	if (self_exact && set_has(l->exact, name)) {
		if (entry != NULL)
			*entry = shown_entry(l, name, 0);
		return 1;
	}
	for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if (set_has(l->suffix, p + 1)) {
			if (entry != NULL)
				*entry = shown_entry(l, p + 1, 1);
			return 1;
		}
		if (parents_exact && set_has(l->exact, p + 1)) {
			if (entry != NULL)
				*entry = shown_entry(l, p + 1, 0);
			return 1;
		}
	}
	return 0;
}

int
locklist_domain(const struct locklist *l, const char *name,
    const char **entry)
{
	return match(l, name, 1, 0, entry);
}

/* A host named exactly like a locked domain is subordinate to it too. */
int
locklist_host(const struct locklist *l, const char *name, const char **entry)
{
	return match(l, name, 1, 1, entry);
}
