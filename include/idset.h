/*
 * idset.h: a set of opaque identifiers (contact ids): exact, case-sensitive
 * strings, as EPP compares them.
 */
#ifndef EPPGW_IDSET_H
#define EPPGW_IDSET_H

#include <stddef.h>

struct idset;

struct idset *idset_new(void);
void idset_free(struct idset *s);
/* 0 added (or already there), -1 out of memory or too long. */
int idset_add(struct idset *s, const char *id);
int idset_has(const struct idset *s, const char *id);
size_t idset_count(const struct idset *s);

#endif
