/*
 * strmap.h: a map from strings to pointers (open addressing, FNV-1a).
 *
 * The map owns copies of its keys, not the values: the caller frees those
 * (strmap_free takes a function for that).  Removal leaves tombstones that
 * the next growth clears, so lookups stay short under churn.
 */
#ifndef EPPGW_STRMAP_H
#define EPPGW_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Free the map; free_value (may be NULL) is called on every value. */
void strmap_free(struct strmap *m, void (*free_value)(void *));

/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/*
 * Set key to value (not NULL); the old value, if any, is returned in *old
 * (may be NULL) and is the caller's.  0, or -1 when out of memory.
 */
int strmap_put(struct strmap *m, const char *key, void *value, void **old);
/* Remove key; its value, or NULL. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

/*
 * Iterate: *cursor starts at 0; returns the next key (and *value), or NULL
 * at the end.  The map must not change meanwhile.
 */
const char *strmap_next(const struct strmap *m, size_t *cursor,
    void **value);

#endif
