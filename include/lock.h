/*
 * lock.h: the lock list (DESIGN.md section 4).
 *
 * Entries are exact domain names ("locked.example") and patterns that lock
 * every name under a suffix ("*.bank.example" locks pay.bank.example, not
 * bank.example).  A host subordinate to a locked domain is covered by that
 * domain's lock.  Matching is by label, so a lookup costs one hash probe per
 * label of the name, however long the list.
 */
#ifndef EPPGW_LOCK_H
#define EPPGW_LOCK_H

#include <stddef.h>

/* Entries at most: far more than anyone locks, well under memory. */
#define LOCKLIST_MAX	((size_t)1 << 20)

struct err;
struct locklist;

struct locklist *locklist_new(void);
/* A copy of l, the same entries in the same order; NULL with e. */
struct locklist *locklist_copy(const struct locklist *l, struct err *e);
void locklist_free(struct locklist *l);

/*
 * An entry as the list keeps it ("*.bank.example", "locked.example":
 * lower case, no final dot) in out (at least NAME_MAX_LEN + 3 bytes): what
 * an operator's edit is recorded, approved and logged as, however it was
 * spelled.  -1 with e if it is not a valid entry.
 */
int locklist_normalise(const char *entry, char *out, size_t len,
    struct err *e);
/* Add an entry (normalised first).  -1 with e (the reason, for people) if
 * it is invalid or the list cannot take it. */
int locklist_add(struct locklist *l, const char *entry, struct err *e);
/* Remove an entry as written when added (normalised).  0 if it was there. */
int locklist_remove(struct locklist *l, const char *entry);
size_t locklist_count(const struct locklist *l);
/* The entries, in the order they were added. */
const char *locklist_entry(const struct locklist *l, size_t i);

/*
 * Whether a normalised domain name is locked; *entry (if not NULL) names the
 * entry that matched.
 */
int locklist_domain(const struct locklist *l, const char *name,
    const char **entry);
/* Whether a normalised host name is subordinate to a locked domain. */
int locklist_host(const struct locklist *l, const char *name,
    const char **entry);

#endif
