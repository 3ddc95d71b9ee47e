/*
 * fuzz_jcanon.c: libFuzzer harness for the canonical-record check.
 *
 * The audit writer splices whatever jcanon_check accepts into the log, so
 * an accepted body must be one that jansson reads as an object without
 * duplicate keys, holding no real, no NUL and no key jansson would escape,
 * no deeper than the limit; and jansson's own writing of that object
 * (JSON_COMPACT | JSON_SORT_KEYS) must be accepted too.  The other way round: a body
 * jansson reads and writes back byte for byte, from a tree of integers,
 * plain keys and strings without NUL no deeper than the limit, is in the
 * form the submitters produce and must be accepted.  The member callback
 * must see keys strictly ascending, with spans inside the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcanon.h"
#include "../jcanon_plain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	const char	*base;
	size_t		 n;
	const char	*lastk;
	size_t		 lastn;
	size_t		 end;		/* past the last value */
	size_t		 count;
};

static int
member(const struct jcanon_member *m, void *arg)
{
	struct walk *w = arg;
	size_t vs = (size_t)(m->val - w->base);
	int c;

	/* The call comes before the closing brace is seen: a value may
	 * end at the buffer's end in a body refused afterwards. */
	if (m->start != (w->count == 0 ? 1 : w->end + 1) ||
	    m->key != w->base + m->start + 1 ||
	    vs != m->start + m->keylen + 3 || vs + m->vallen > w->n ||
	    m->vallen == 0)
		abort();
	if (w->lastk != NULL) {
		c = memcmp(w->lastk, m->key, w->lastn < m->keylen ? w->lastn :
		    m->keylen);
		if (c > 0 || (c == 0 && w->lastn >= m->keylen))
			abort();
	}
	w->lastk = m->key;
	w->lastn = m->keylen;
	w->end = vs + m->vallen;
	w->count++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct walk w = { p, size, NULL, 0, 1, 0 };
	json_error_t err;
	json_t *j;
	char *d;
	int ok, ok2;

	if (size > 65536)
		return 0;
	ok = jcanon_check(p, size, member, &w) == 0;
	ok2 = jcanon_check(p, size, NULL, NULL) == 0;
	if (ok != ok2)
		abort();	/* the callback changed the verdict */
	j = json_loadb(p, size, JSON_REJECT_DUPLICATES, &err);
	if (ok) {
		if (j == NULL || !json_is_object(j))
			abort();	/* accepted what jansson refuses */
		if (w.count != json_object_size(j) || w.end != size - 1)
			abort();
		if (!plain_tree(j, 1, JCANON_MAX_DEPTH))
			abort();	/* a real, a NUL, too deep */
		if ((d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) ==
		    NULL)
			abort();
		if (jcanon_check(d, strlen(d), NULL, NULL) != 0)
			abort();	/* refused jansson's own writing */
		free(d);
	}
	if (j != NULL && json_is_object(j) &&
	    plain_tree(j, 1, JCANON_MAX_DEPTH)) {
		if ((d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) ==
		    NULL)
			abort();
		if (strlen(d) == size && memcmp(d, p, size) == 0 && !ok)
			abort();	/* refused a canonical body */
		free(d);
	}
	json_decref(j);
	return 0;
}
