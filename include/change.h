/*
 * change.h: change classes, the tokens used in the configuration, replies,
 * audit records and alerts (DESIGN.md section 4).
 */
#ifndef EPPGW_CHANGE_H
#define EPPGW_CHANGE_H

#include <stddef.h>

#include <jansson.h>

enum change_class {
	CLASS_NS = 1u << 0,
	CLASS_DS = 1u << 1,
	CLASS_HOST = 1u << 2,
	CLASS_STATUS = 1u << 3,
	CLASS_REGISTRANT = 1u << 4,
	CLASS_CONTACT = 1u << 5,
	CLASS_AUTHINFO = 1u << 6,
	CLASS_TRANSFER = 1u << 7,
	CLASS_DELETE = 1u << 8,
	CLASS_UNKNOWN = 1u << 9
};

#define CLASS_ALL	((1u << 10) - 1)

/* The token of one class bit ("ns"), or NULL. */
const char *change_class_name(unsigned bit);
/* The bit of a token, or 0. */
unsigned change_class_parse(const char *token);
/* "ns,ds" for a set of classes (empty string for none). */
void change_classes_format(unsigned classes, char *buf, size_t len);
/* ["ns", "ds"]: the set as records and alerts carry it (a new array). */
json_t *change_classes_json(unsigned classes);
/*
 * The class a registry fact (regstate.h: "ns=...", "ds=...",
 * "status=...") belongs to, for what a change explains and what drift
 * touches; host: the fact is a host's (every host fact is class host).
 */
unsigned change_fact_class(int host, const char *fact);

#endif
