/*
 * err.c: the error convention (see err.h).  Pure: formats into the
 * caller's struct, no allocation, no I/O, so policy/ can use it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void
err_init(struct err *e)
{
	if (e == NULL)
		return;
	e->code = ERR_NONE;
	e->sys = 0;
	e->func = NULL;
	e->msg[0] = '\0';
}

int
err_set_at(struct err *e, const char *func, enum err_code code,
    const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	e->sys = code == ERR_SYSTEM ? saved : 0;
	e->func = func;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int
err_wrap(struct err *e, const char *fmt, ...)
{
	char tail[ERR_MSG_MAX];
	int saved = errno, n;
	size_t off;
	va_list ap;

	if (e == NULL)
		return -1;
	memcpy(tail, e->msg, sizeof(tail));
	tail[sizeof(tail) - 1] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	off = n < 0 ? 0 : (size_t)n;
	if (off < sizeof(e->msg) - 1) {
		/* ": " and as much of the old message as fits. */
		size_t room = sizeof(e->msg) - 1 - off;
		size_t tl = strlen(tail);
		char *p = e->msg + off;

		if (room >= 2) {
			memcpy(p, ": ", 2);
			p += 2;
			room -= 2;
			if (tl > room)
				tl = room;
			memcpy(p, tail, tl);
			p += tl;
		}
		*p = '\0';
	}
	if (e->code == ERR_NONE)
		e->code = ERR_INVALID;
	errno = saved;
	return -1;
}

int
err_copy(struct err *dst, const struct err *src)
{
	if (dst != NULL && src != NULL && dst != src)
		*dst = *src;
	return -1;
}

const char *
err_msg(const struct err *e)
{
	return e == NULL ? "" : e->msg;
}

const char *
err_code_name(enum err_code code)
{
	static const char *const names[] = {
		[ERR_NONE] = "none",
		[ERR_SYSTEM] = "system",
		[ERR_NOMEM] = "nomem",
		[ERR_INVALID] = "invalid",
		[ERR_PARSE] = "parse",
		[ERR_REFUSED] = "refused",
		[ERR_CRYPTO] = "crypto",
		[ERR_CORRUPT] = "corrupt",
		[ERR_LIMIT] = "limit",
		[ERR_CLOSED] = "closed"
	};

	if ((size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[code];
}
