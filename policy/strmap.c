/*
 * strmap.c: a string-keyed map with open addressing (see strmap.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* A removed slot: keeps probe chains intact until the next rehash. */
static char tombstone;
#define TOMB	(&tombstone)

struct slot {
	char	*key;		/* NULL: empty; TOMB: removed */
	void	*value;
};

struct strmap {
	struct slot	*slots;
	size_t		 cap;		/* power of two, or 0 */
	size_t		 n;		/* live entries */
	size_t		 used;		/* live + tombstones */
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

struct strmap *
strmap_new(void)
{
	return calloc(1, sizeof(struct strmap));
}

void
strmap_free(struct strmap *m, void (*free_value)(void *))
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key == NULL || m->slots[i].key == TOMB)
			continue;
		free(m->slots[i].key);
		if (free_value != NULL)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	free(m);
}

/* The slot holding key, or NULL. */
static struct slot *
find(const struct strmap *m, const char *key)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = (size_t)hash(key) & (m->cap - 1); m->slots[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key != TOMB &&
		    strcmp(m->slots[i].key, key) == 0)
			return &m->slots[i];
	return NULL;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);

	return s != NULL ? s->value : NULL;
}

/* Rehash into cap slots, dropping tombstones. */
static int
grow(struct strmap *m, size_t cap)
{
	struct slot *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->slots[i].key == NULL || m->slots[i].key == TOMB)
			continue;
		for (j = (size_t)hash(m->slots[i].key) & (cap - 1);
		    slots[j].key != NULL; j = (j + 1) & (cap - 1))
			;
		slots[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

int
strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
	struct slot *s;
	size_t i;
	char *k;

	if (old != NULL)
		*old = NULL;
	if ((s = find(m, key)) != NULL) {
		if (old != NULL)
			*old = s->value;
		s->value = value;
		return 0;
	}
	/* At most half full, tombstones included. */
	if ((m->used + 1) * 2 > m->cap && grow(m, m->cap == 0 ? 16 :
	    m->n * 4 >= m->cap ? m->cap * 2 : m->cap) != 0)
		return -1;
	if ((k = strdup(key)) == NULL)
		return -1;
	for (i = (size_t)hash(key) & (m->cap - 1); m->slots[i].key != NULL &&
	    m->slots[i].key != TOMB; i = (i + 1) & (m->cap - 1))
		;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = k;
	m->slots[i].value = value;
	m->n++;
	return 0;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);
	void *v;

	if (s == NULL)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = TOMB;
	s->value = NULL;
	m->n--;
	return v;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}

const char *
strmap_next(const struct strmap *m, size_t *cursor, void **value)
{
	for (; *cursor < m->cap; (*cursor)++) {
		struct slot *s = &m->slots[*cursor];

		if (s->key == NULL || s->key == TOMB)
			continue;
		(*cursor)++;
		if (value != NULL)
			*value = s->value;
		return s->key;
	}
	return NULL;
}
