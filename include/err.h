/*
 * err.h: the one way a function that can fail says what went wrong.
 *
 * It returns -1 (or NULL) and fills the caller's struct err: a code, for
 * the caller to act on, and a message, for people (what failed, with the
 * path or line that locates it, never a secret).  err_set() also keeps
 * the name of the function that said it, so a log line points at the
 * code (log_error() in log.h prints "message (function)").  The model is
 * OpenSSH's ssherr, with a message beside the code because our callers
 * report config lines and file paths.
 *
 * Rules:
 *  - e may be NULL: the callee then just returns the failure.
 *  - The first failure wins: a caller that adds context uses err_wrap(),
 *    which prefixes the message and keeps code, errno and function.
 *  - A success leaves e untouched; err_init() (or "= ERR_INIT") before a
 *    call is only needed when the caller reads e without a failure.
 *  - Callbacks that report an event (a closed channel, a dropped alert)
 *    pass a static reason string, not a struct err: that is data, not a
 *    failure of the call.
 */
#ifndef EPPGW_ERR_H
#define EPPGW_ERR_H

#include <stddef.h>

enum err_code {
	ERR_NONE = 0,
	ERR_SYSTEM,		/* a system call failed: errno in sys */
	ERR_NOMEM,		/* out of memory */
	ERR_INVALID,		/* bad input: arguments, config, file content */
	ERR_PARSE,		/* input that does not parse (XML, JSON, EPP) */
	ERR_REFUSED,		/* parses, but not allowed (schema, policy) */
	ERR_CRYPTO,		/* keys, signatures, TLS, randomness */
	ERR_CORRUPT,		/* stored data fails its checks */
	ERR_LIMIT,		/* a size or count limit */
	ERR_CLOSED		/* not possible now (closed, failed, shut down) */
};

#define ERR_MSG_MAX	512

struct err {
	enum err_code	 code;
	int		 sys;		/* errno when code is ERR_SYSTEM */
	const char	*func;		/* who said it (__func__) */
	char		 msg[ERR_MSG_MAX];
};

#define ERR_INIT	{ ERR_NONE, 0, NULL, { 0 } }

void err_init(struct err *e);

/* Fill e (when not NULL) and return -1.  For ERR_SYSTEM, errno as it was
 * at the call is kept in e->sys and left unchanged for the caller. */
int err_set_at(struct err *e, const char *func, enum err_code code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define err_set(e, code, ...)	err_set_at((e), __func__, (code), __VA_ARGS__)

/* Prefix e's message ("context: message"); code and function stay.
 * Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy src into dst (when not NULL); returns -1. */
int err_copy(struct err *dst, const struct err *src);

/* The message, or "" when nothing failed. */
const char *err_msg(const struct err *e);
/* A short name for a code ("system", "nomem", ...). */
const char *err_code_name(enum err_code code);

#endif
