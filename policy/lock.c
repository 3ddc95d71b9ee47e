/*
 * lock.c: the lock list (see lock.h).
 *
 * Two string sets, exact names and pattern suffixes, in one open-addressing
 * hash table each; entries are also kept in order for listing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "names.h"

struct strset {
	char	**slots;
	size_t	  cap;		/* power of two */
	size_t	  n;
};

struct locklist {
	struct strset	 exact;
	struct strset	 suffix;	/* "*.bank.example" stored as "bank.example" */
	char		**order;	/* entries as listed, normalised */
	size_t		  norder;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static char **
slot(const struct strset *set, const char *s)
{
	size_t i = (size_t)hash(s) & (set->cap - 1);

	while (set->slots[i] != NULL && strcmp(set->slots[i], s) != 0)
		i = (i + 1) & (set->cap - 1);
	return &set->slots[i];
}

static int
set_has(const struct strset *set, const char *s)
{
	return set->cap > 0 && *slot(set, s) != NULL;
}

static int
set_add(struct strset *set, const char *s)
{
	char **sl, *copy;

	if ((set->n + 1) * 2 > set->cap) {
		struct strset bigger = { NULL, set->cap ? set->cap * 2 : 16, 0 };

		if ((bigger.slots = calloc(bigger.cap, sizeof(char *))) == NULL)
			return -1;
		for (size_t i = 0; i < set->cap; i++)
			if (set->slots[i] != NULL) {
				*slot(&bigger, set->slots[i]) = set->slots[i];
				bigger.n++;
			}
		free(set->slots);
		*set = bigger;
	}
	sl = slot(set, s);
	if (*sl != NULL)
		return 0;
	if ((copy = strdup(s)) == NULL)
		return -1;
	*sl = copy;
	set->n++;
	return 0;
}

static int
set_del(struct strset *set, const char *s)
{
	char **sl;
	size_t i, j;

	if (set->cap == 0 || *(sl = slot(set, s)) == NULL)
		return -1;
	free(*sl);
	*sl = NULL;
	set->n--;
	/* Re-insert the rest of the probe run so lookups still find it. */
	i = (size_t)(sl - set->slots);
	for (j = (i + 1) & (set->cap - 1); set->slots[j] != NULL;
	    j = (j + 1) & (set->cap - 1)) {
		char *moved = set->slots[j];

		set->slots[j] = NULL;
		*slot(set, moved) = moved;
	}
	return 0;
}

static void
set_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
}

struct locklist *
locklist_new(void)
{
	return calloc(1, sizeof(struct locklist));
}

void
locklist_free(struct locklist *l)
{
	if (l == NULL)
		return;
	set_free(&l->exact);
	set_free(&l->suffix);
	for (size_t i = 0; i < l->norder; i++)
		free(l->order[i]);
	free(l->order);
	free(l);
}

/* "*.x.example" -> suffix "x.example"; else the exact name.  Normalised. */
static int
parse_entry(const char *entry, char *out, size_t len, int *pattern,
    const char **why)
{
	enum name_status st;

	*pattern = strncmp(entry, "*.", 2) == 0;
	st = name_normalise(entry + (*pattern ? 2 : 0), out, len);
	if (st != NAME_OK) {
		*why = name_status_str(st);
		return -1;
	}
	if (strchr(out, '.') == NULL && !*pattern) {
		/* A bare TLD would lock a whole registry: say so. */
		*why = "a lock entry needs at least two labels (use *.tld)";
		return -1;
	}
	return 0;
}

int
locklist_add(struct locklist *l, const char *entry, const char **why)
{
	char name[NAME_MAX_LEN + 1], shown[NAME_MAX_LEN + 3], **n;
	int pattern;

	if (parse_entry(entry, name, sizeof(name), &pattern, why) != 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s%s", pattern ? "*." : "", name);
	if (set_has(pattern ? &l->suffix : &l->exact, name))
		return 0;
	if ((n = realloc(l->order, (l->norder + 1) * sizeof(*n))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	l->order = n;
	if ((n[l->norder] = strdup(shown)) == NULL ||
	    set_add(pattern ? &l->suffix : &l->exact, name) != 0) {
		free(n[l->norder]);
		*why = "out of memory";
		return -1;
	}
	l->norder++;
	return 0;
}

int
locklist_remove(struct locklist *l, const char *entry)
{
	char name[NAME_MAX_LEN + 1], shown[NAME_MAX_LEN + 3];
	const char *why;
	int pattern;

	if (parse_entry(entry, name, sizeof(name), &pattern, &why) != 0)
		return -1;
	if (set_del(pattern ? &l->suffix : &l->exact, name) != 0)
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

	if (self_exact && set_has(&l->exact, name)) {
		if (entry != NULL)
			*entry = shown_entry(l, name, 0);
		return 1;
	}
	for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if (set_has(&l->suffix, p + 1)) {
			if (entry != NULL)
				*entry = shown_entry(l, p + 1, 1);
			return 1;
		}
		if (parents_exact && set_has(&l->exact, p + 1)) {
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
