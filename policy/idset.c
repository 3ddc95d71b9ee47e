/*
 * idset.c: a string set with open addressing (see idset.h).  Entries are
 * only ever added: what the gateway learns about linked contacts is kept
 * until it restarts, erring on the side of holding a change.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"

#define ID_MAX	255

struct idset {
	char	**slots;
	size_t	  cap;		/* power of two */
	size_t	  n;
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
slot(char **slots, size_t cap, const char *id)
{
	size_t i = (size_t)hash(id) & (cap - 1);

	while (slots[i] != NULL && strcmp(slots[i], id) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

struct idset *
idset_new(void)
{
	return calloc(1, sizeof(struct idset));
}

void
idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	free(s);
}

int
idset_has(const struct idset *s, const char *id)
{
	return s != NULL && s->cap > 0 && *slot(s->slots, s->cap, id) != NULL;
}

int
idset_add(struct idset *s, const char *id)
{
	char **sl;

	if (strlen(id) > ID_MAX)
		return -1;
	if (idset_has(s, id))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **n = calloc(cap, sizeof(*n));

		if (n == NULL)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i] != NULL)
				*slot(n, cap, s->slots[i]) = s->slots[i];
		free(s->slots);
		s->slots = n;
		s->cap = cap;
	}
	sl = slot(s->slots, s->cap, id);
	if ((*sl = strdup(id)) == NULL)
		return -1;
	s->n++;
	return 0;
}

size_t
idset_count(const struct idset *s)
{
	return s->n;
}
