/*
 * log.c: operational log to stderr or syslog (see log.h).
 *
 * The settings below are written once by main before any event runs; they
 * are the daemon's top-level state, read-only afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/err.h>

#include "err.h"
#include "log.h"

static const char	*log_prog = "eppgw";
static enum log_target	 log_target = LOG_TO_STDERR;
static enum log_level	 log_max = LOG_LVL_INFO;
static int		 log_journal;	/* stderr is read by journald */

void
log_init(const char *progname, enum log_target target,
    enum log_level max_level)
{
	log_prog = progname;
	log_target = target;
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	if (target == LOG_TO_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_reopen(void)
{
	if (log_target == LOG_TO_SYSLOG) {
		closelog();
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void
log_set_level(enum log_level max_level)
{
	log_max = max_level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_max;
}

static const char *
level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR:
		return "error";
	case LOG_LVL_WARN:
		return "warning";
	case LOG_LVL_NOTICE:
		return "notice";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_DEBUG:
		return "debug";
	}
	return "?";
}

/* {"level":...,"msg":...,"prog":...,"ts":...}: one object a line. */
static void
log_json(enum log_level level, const char *msg)
{
	char ts[40], esc[4096];
	struct timespec now;
	struct tm tm;
	size_t o = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	for (const char *p = msg; *p != '\0' && o + 7 < sizeof(esc); p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			esc[o++] = '\\';
			esc[o++] = (char)c;
		} else if (c < 0x20)
			o += (size_t)snprintf(esc + o, sizeof(esc) - o,
			    "\\u%04x", c);
		else
			esc[o++] = (char)c;
	}
	esc[o] = '\0';
	fprintf(stderr, "{\"level\":\"%s\",\"msg\":\"%s\",\"prog\":\"%s\","
	    "\"ts\":\"%s.%06ldZ\"}\n", level_name(level), esc, log_prog, ts,
	    now.tv_nsec / 1000);
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	char ts[32];
	struct timespec now;
	struct tm tm;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per message: a peer's bytes must not forge log lines. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_target == LOG_TO_SYSLOG) {
		syslog((int)level, "%s", msg);
		return;
	}
	if (log_target == LOG_TO_JSON) {
		log_json(level, msg);
		return;
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%s] %s\n", ts, now.tv_nsec / 1000000,
	    log_prog, level_name(level), msg);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_ssl_errors(enum log_level level, const char *what)
{
	char buf[256];
	unsigned long e;
	int n = 0;

	while ((e = ERR_get_error()) != 0) {
		if (log_enabled(level) && n++ < 4) {
			ERR_error_string_n(e, buf, sizeof(buf));
			log_msg(level, "%s: %s", what, buf);
		}
	}
}

void
log_error(enum log_level level, const struct err *e)
{
	if (e == NULL)
		return;
	if (e->func != NULL)
		log_msg(level, "%s (%s)", e->msg, e->func);
	else
		log_msg(level, "%s", e->msg);
}
