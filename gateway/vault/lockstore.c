/*
 * lockstore.c: the vault's live lock list and its file (see lockstore.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fileio.h"
#include "lock.h"
#include "lockstore.h"
#include "names.h"

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
	struct buf text;
	int r = -1;

	if (s->path == NULL)
		return 0;	/* no file configured: memory only */
	/* Every entry a line: at most NAME_MAX_LEN + 2 bytes and a newline
	 * each, and the list holds at most LOCKLIST_MAX of them. */
	buf_init(&text, sizeof(head) + LOCKLIST_MAX * (NAME_MAX_LEN + 3));
	if (buf_add(&text, head, sizeof(head) - 1) != 0)
		goto nomem;
	for (size_t i = 0; i < locklist_count(l); i++) {
		const char *entry = locklist_entry(l, i);

		if (buf_add(&text, entry, strlen(entry)) != 0 ||
		    buf_add(&text, "\n", 1) != 0)
			goto nomem;
	}
	if (file_replace(s->path, buf_data(&text), text.len, 0644) != 0)
		err_set(e, ERR_SYSTEM, "cannot write %s: %s", s->path,
		    strerror(errno));
	else
		r = 0;
	buf_free(&text);
	return r;
nomem:
	err_set(e, ERR_NOMEM, "cannot write %s: %s", s->path,
	    strerror(errno));
	buf_free(&text);
	return -1;
}
