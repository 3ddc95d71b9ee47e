/*
 * audit_cli.h: what the modules of eppgw-audit (tools/audit/) share: how
 * they fail, the time bounds and object names a reviewer gives, and the
 * commands that live in modules of their own.
 */
#ifndef EPPGW_AUDIT_CLI_H
#define EPPGW_AUDIT_CLI_H

#include <stdint.h>

#include "checkpoint.h"
#include "names.h"

#define EXIT_USAGE	3	/* usage, I/O: "cannot" */

/* The usage text on stderr, exit 3 (tools/audit/main.c). */
void audit_usage(void) __attribute__((noreturn));
/* "eppgw-audit: MESSAGE" on stderr, exit code. */
void audit_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* A --vkey file, or exit 3. */
void audit_load_vkey(const char *path, struct note_verifier *v);

/*
 * --since and --until (rfc3339.h): an RFC 3339 date-time with Z or an
 * offset, a date, or a relative time such as -1h.  A record is in the
 * range when its ts is at or after since and before until + precision.
 */
struct audit_range {
	int		 has_since, has_until;
	int64_t		 since;		/* microseconds, UTC */
	int64_t		 until_end;	/* the first instant after */
};

/* Set one bound from an option (--since or --until), or exit 3 saying
 * what is accepted. */
void audit_range_set(struct audit_range *r, const char *opt, const char *arg);
/* Whether a record's ts is in the range; a record without a readable ts
 * is in no bounded range. */
int audit_range_has(const struct audit_range *r, const char *ts);

/*
 * An object a reviewer names, matched as the gateway stores it: domain
 * and host names normalised (case, one trailing dot, IDN to A-labels:
 * policy/names.c), anything else (contact ids) as given.
 */
struct audit_object {
	const char	*given;
	char		 norm[NAME_MAX_LEN + 1];
	int		 has_norm;
};

/* -1 (exit-worthy) for an empty name. */
int audit_object_init(struct audit_object *o, const char *name);
/* Whether a stored object name is this one (exact after normalising; a
 * contact id exactly as given). */
int audit_object_is(const struct audit_object *o, const char *stored);
/* The name rows show: the normalised name, else as given. */
const char *audit_object_name(const struct audit_object *o);

/* eppgw-audit changes (tools/audit/changes.c). */
int audit_cmd_changes(int argc, char *argv[]);
/* eppgw-audit prove (tools/audit/prove.c). */
int audit_cmd_prove(int argc, char *argv[]);

#endif
