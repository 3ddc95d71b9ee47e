/*
 * stateq.h: a worker's answers about the registry state it holds, for the
 * admin API in the vault (admin.h: admin_env.ask).
 *
 *   {"what": "state", "name": NAME}  ->  {"status": 200, "body": {...}}
 *                                        {"status": 404, "message": ...}
 *   {"what": "drift"}                ->  {"status": 200, "body": {...}}
 *
 * NAME arrives normalised by the vault and is normalised again here.
 */
#ifndef EPPGW_STATEQ_H
#define EPPGW_STATEQ_H

#include <jansson.h>

struct policy;
struct regstate;
struct watch;

/* A new reference; never NULL unless out of memory. */
json_t *stateq_answer(const struct policy *pol, struct regstate *rs,
    struct watch *w, const json_t *question);

#endif
