/*
 * lockstore.c: the vault's live lock list and its file (see lockstore.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "lock.h"
#include "lockstore.h"

struct lockstore {
	struct locklist	*list;
	char		*path;		/* NULL: memory only */
};

struct lockstore *
lockstore_new(const struct locklist *loaded, const char *path,
    struct err *e)
{
	struct lockstore *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (lockstore_reload(s, loaded, path, e) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
lockstore_free(struct lockstore *s)
{
	if (s == NULL)
		return;
	locklist_free(s->list);
	free(s->path);
	free(s);
}

int
lockstore_reload(struct lockstore *s, const struct locklist *loaded,
    const char *path, struct err *e)
{
	struct locklist *l;
	char *p = NULL;

	if ((l = locklist_copy(loaded, e)) == NULL)
		return -1;
	if (path != NULL && (p = strdup(path)) == NULL) {
		locklist_free(l);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	locklist_free(s->list);
	free(s->path);
	s->list = l;
	s->path = p;
	return 0;
}

const struct locklist *
lockstore_list(const struct lockstore *s)
{
	return s->list;
}

const char *
lockstore_path(const struct lockstore *s)
{
	return s->path;
}

int
lockstore_add(struct lockstore *s, const char *entry, struct err *e)
{
	return locklist_add(s->list, entry, e);
}

int
lockstore_remove(struct lockstore *s, const char *entry)
{
	return locklist_remove(s->list, entry);
}

int
lockstore_save(const struct lockstore *s, struct err *e)
{
	static const char head[] = "# eppgw lock list, rewritten by the "
	    "admin API.\n";
	const struct locklist *l = s->list;
	char *text;
	size_t len = sizeof(head) - 1, off;
	int r, saved;

	if (s->path == NULL)
		return 0;	/* no file configured: memory only */
	for (size_t i = 0; i < locklist_count(l); i++)
		len += strlen(locklist_entry(l, i)) + 1;
	if ((text = malloc(len + 1)) == NULL)
		return err_set(e, ERR_NOMEM, "cannot write %s: %s", s->path,
		    strerror(errno));
	memcpy(text, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	for (size_t i = 0; i < locklist_count(l); i++) {
		size_t n = strlen(locklist_entry(l, i));

		memcpy(text + off, locklist_entry(l, i), n);
		text[off + n] = '\n';
		off += n + 1;
	}
	r = file_replace(s->path, text, off, 0644);
	saved = errno;
	free(text);
	if (r != 0) {
		errno = saved;
		return err_set(e, ERR_SYSTEM, "cannot write %s: %s", s->path,
		    strerror(errno));
	}
	return 0;
}
