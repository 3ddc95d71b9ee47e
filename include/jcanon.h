/*
 * jcanon.h: checks that bytes are one JSON object in the form the audit log
 * writes (compact, keys sorted), without building a tree.
 *
 * The audit writer takes each record's fields as bytes its submitter
 * serialised (json_dumps with JSON_COMPACT | JSON_SORT_KEYS) and splices
 * its own members (seq, prev, ts, ...) in between: no parse and no second
 * serialisation on the log's hot path.  The bytes come from another
 * process, so they are held to the strict rules below first; whatever
 * passes is a line that jansson, the verifier's scanner (audit_scan_line)
 * and every reviewer's JSON tool read as the same object.
 *
 * Canonical here means:
 *   - RFC 8259 JSON with no whitespace outside strings;
 *   - in every object, keys strictly ascending as bytes (sorted, no
 *     duplicates) and written without escapes;
 *   - strings valid UTF-8 (no overlong forms, no surrogates), no raw
 *     control characters, \u escapes that jansson accepts (no \u0000, no
 *     lone surrogate);
 *   - numbers are integers that fit in 64 signed bits, without leading
 *     zeros and not "-0" (records hold no fractions);
 *   - nesting at most JCANON_MAX_DEPTH deep, every value a level (the
 *     object itself is level 1; jansson counts containers only).
 */
#ifndef EPPGW_JCANON_H
#define EPPGW_JCANON_H

#include <stddef.h>

#define JCANON_MAX_DEPTH	32

/* One member of the object's top level. */
struct jcanon_member {
	const char	*key;		/* without its quotes */
	size_t		 keylen;
	size_t		 start;		/* offset of its key's opening quote */
	const char	*val;		/* its value, as written */
	size_t		 vallen;
};

/* Called for each top-level member in order; -1 rejects the object. */
typedef int (*jcanon_member_fn)(const struct jcanon_member *m, void *arg);

/*
 * 0 if p[0..n) is exactly one canonical JSON object (see above) and fn,
 * when given, accepted every top-level member; -1 otherwise.
 */
int jcanon_check(const char *p, size_t n, jcanon_member_fn fn, void *arg);

#endif
