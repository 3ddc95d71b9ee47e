/*
 * jcanon_plain.h: the trees jcanon must accept once jansson writes them
 * (JSON_COMPACT | JSON_SORT_KEYS), for the property both the unit suite
 * (tests/unit/test_jcanon.c) and the fuzzer (tests/fuzz/fuzz_jcanon.c)
 * check: jcanon accepts => jansson reads a plain tree, and jansson's
 * writing of a plain tree => jcanon accepts.
 */
#ifndef EPPGW_TEST_JCANON_PLAIN_H
#define EPPGW_TEST_JCANON_PLAIN_H

#include <string.h>

#include <jansson.h>

/*
 * Integers only (no real), no key that jansson would escape, no string
 * holding a NUL, at most max levels (lvl is v's).
 */
static int
plain_tree(json_t *v, int lvl, int max)
{
	const char *k;
	json_t *c;
	size_t i;

	if (lvl > max)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, k, c) {
			for (const char *q = k; *q != '\0'; q++)
				if ((unsigned char)*q < 0x20 || *q == '"' ||
				    *q == '\\')
					return 0;
			if (!plain_tree(c, lvl + 1, max))
				return 0;
		}
		return 1;
	case JSON_ARRAY:
		json_array_foreach(v, i, c)
			if (!plain_tree(c, lvl + 1, max))
				return 0;
		return 1;
	case JSON_STRING:
		return memchr(json_string_value(v), '\0',
		    json_string_length(v)) == NULL;
	case JSON_REAL:
		return 0;
	default:
		return 1;
	}
}

#endif
