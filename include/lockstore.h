/*
 * lockstore.h: the vault's live lock list, the one copy the admin API
 * edits (admin.h), and its file.
 *
 * A configuration's lock list (policy_locks) is the list as it was loaded
 * and stays so.  The store starts as a copy of it, takes the admin API's
 * edits, and rewrites the file ([policy] locks) after each, so that the
 * next reload and restart load them.  The vault owns the store and hands
 * it to the admin API; the other processes learn of an edit from the
 * vault (IPC_LOCK), never from the store.
 */
#ifndef EPPGW_LOCKSTORE_H
#define EPPGW_LOCKSTORE_H

struct err;
struct locklist;
struct lockstore;

/*
 * A store holding a copy of loaded, saved to path (NULL: no file, the
 * edits live in memory only).  NULL with e when out of memory.
 */
struct lockstore *lockstore_new(const struct locklist *loaded,
    const char *path, struct err *e);
void lockstore_free(struct lockstore *s);

/*
 * After a reload: the new configuration's list and file take the place
 * of the store's (an edit was saved to the file when it was made).  -1
 * with e keeps the store as it was.
 */
int lockstore_reload(struct lockstore *s, const struct locklist *loaded,
    const char *path, struct err *e);

/* The live list and its file (NULL: none). */
const struct locklist *lockstore_list(const struct lockstore *s);
const char *lockstore_path(const struct lockstore *s);

/* Add an entry (locklist_add): -1 with e when refused, nothing changed. */
int lockstore_add(struct lockstore *s, const char *entry, struct err *e);
/* Remove an entry (locklist_remove): 0 if it was there. */
int lockstore_remove(struct lockstore *s, const char *entry);
/*
 * Rewrite the file with the live list (file_replace: temp, fsync, rename;
 * nothing to do without a file).  -1 with e ("cannot write PATH: ...");
 * the edit stays in memory either way.
 */
int lockstore_save(const struct lockstore *s, struct err *e);

#endif
