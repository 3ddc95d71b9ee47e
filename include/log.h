/*
 * log.h: the operational log.
 *
 * Messages go to stderr (foreground, or under systemd, where journald reads
 * the "<N>" level prefixes) or to syslog.  The log is for operators: it must
 * never carry a secret (EPP passwords, authInfo, TOTP seeds or codes).  The
 * compliance record is the audit log, not this.
 */
#ifndef EPPGW_LOG_H
#define EPPGW_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 3,	/* syslog numbering, so journald understands */
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7
};

enum log_target {
	LOG_TO_STDERR = 0,
	LOG_TO_SYSLOG,
	LOG_TO_JSON		/* JSON lines on stderr, for log shippers */
};

/* Set up once by the program's main, before anything logs. */
void log_init(const char *progname, enum log_target target,
    enum log_level max_level);
void log_set_level(enum log_level max_level);
/* A new process (proc.h) closed every inherited descriptor: connect to
 * syslog again, now, before any sandbox forbids it. */
void log_reopen(void);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

struct err;
/* Log a failure (err.h) at level: "message (function)". */
void log_error(enum log_level level, const struct err *e);

/* Log at LOG_LVL_ERR and exit(1): start-up only, never per session. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Append OpenSSL's queued error reasons to msg, and clear the queue. */
void log_ssl_errors(enum log_level level, const char *what);

#endif
