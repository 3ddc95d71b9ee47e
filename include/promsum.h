/*
 * promsum.h: the daemon's metrics page from its processes' pages.
 *
 * Every process renders its own figures as Prometheus text; the parent
 * adds them up (the same sample in two workers is summed) and keeps what
 * exited workers had counted, so counters never go backwards across a
 * reload or a restarted worker.  Input comes from other processes and is
 * parsed defensively: a line that is not HELP, TYPE or "key value" is
 * dropped, and sizes are bounded.
 */
#ifndef EPPGW_PROMSUM_H
#define EPPGW_PROMSUM_H

#include <stddef.h>

struct promsum;

struct promsum *promsum_new(void);
void promsum_free(struct promsum *ps);
/*
 * Add a page.  counters_only: keep only families typed counter (what an
 * exited process leaves behind).  -1 when out of memory or over the
 * bounds (the page is then partly added).
 */
int promsum_add(struct promsum *ps, const char *text, size_t len,
    int counters_only);
/* The sum as Prometheus text (malloc'd, NUL-terminated), or NULL. */
char *promsum_text(const struct promsum *ps, size_t *len);

#endif
