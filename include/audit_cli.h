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
/* "eppgw-audit: warning: MESSAGE" on stderr. */
void audit_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A --vkey: a file (SPKI PEM, or a verifier key string), or the verifier
 * key string itself when no such file exists; exit 3 if it is neither.
 * A key string binds the key to its name (note_verifier); one whose hash
 * is not its key's loads with a warning and trusts no signature.
 */
void audit_load_vkey(const char *arg, struct note_verifier *v);
/* A --witness key: a verifier key string of type 4 (tlog-cosignature),
 * or a file holding one; exit 3 if it is neither. */
void audit_load_witness(const char *arg, struct cosig_verifier *w);

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

/*
 * verify --witness W... --quorum K (tools/audit/witness.c): each known
 * checkpoint must carry valid cosignatures of at least K of the listed
 * witnesses.
 */
struct audit_quorum {
	struct cosig_verifier	*w;
	size_t			 nw, capw;
	unsigned long		 k;		/* 0: no --quorum */
	size_t			 least;		/* fewest valid on one */
	size_t			 checked;	/* known checkpoints counted */
};

/* Add one --witness (a repeated one counts once); exit 3 if bad. */
void audit_quorum_add(struct audit_quorum *q, const char *arg);
/*
 * Count the cosignatures on the known checkpoints (files, or of a
 * directory those of the log's origin with the most records) of the log
 * of origin: 0 quorum met, 1 a listed witness's cosignature or the log's
 * signature fails, 3 a checkpoint short of the quorum or unreadable.
 * Says why on stderr.
 */
int audit_quorum_check(struct audit_quorum *q, const char * const *known,
    size_t nknown, const struct note_verifier *v, const char *origin);
void audit_quorum_free(struct audit_quorum *q);

/* eppgw-audit witness (tools/audit/witness.c). */
int audit_cmd_witness(int argc, char *argv[]);

/* eppgw-audit changes (tools/audit/changes.c). */
int audit_cmd_changes(int argc, char *argv[]);
/* eppgw-audit prove (tools/audit/prove.c). */
int audit_cmd_prove(int argc, char *argv[]);

#endif
