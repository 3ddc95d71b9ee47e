/*
 * buf.c: bounded byte buffers and bounded array growth (buf.h).  The only
 * file of the product that calls realloc.  No I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

#define BUF_FIRST	256	/* bytes of the first allocation */
#define ARRAY_FIRST	8	/* elements of the first allocation */

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Double from cur (or first) until need, never past max; need <= max. */
static size_t
next_cap(size_t cur, size_t first, size_t need, size_t max)
{
	size_t cap = cur != 0 ? cur : first;

	while (cap < need)
		cap = cap > max / 2 ? max : cap * 2;
	return cap > max ? max : cap;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	char *np;

	if (n > b->max || b->len > b->max - n) {
		errno = ERANGE;
		return -1;
	}
	if (b->p != NULL && b->off > 0 && n > b->cap - b->off - b->len) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	if (n <= b->cap - b->len)
		return 0;
	cap = next_cap(b->cap, BUF_FIRST, b->len + n, b->max);
	if (b->secret) {
		/* Never leave a copy behind in freed memory. */
		if ((np = malloc(cap)) == NULL)
			return -1;
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
	} else if ((np = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = np;
	b->cap = cap;
	return 0;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(buf_end(b), p, n);
	b->len += n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->p != NULL ? buf_room(b) : 0;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room > 0 ? buf_end(b) : NULL, room, fmt, ap);
	va_end(ap);
	if (r < 0)
		goto fail;
	if ((size_t)r < room) {
		b->len += (size_t)r;
		return 0;
	}
	if (buf_reserve(b, (size_t)r + 1) == -1)
		goto fail;
	va_start(ap, fmt);
	r = vsnprintf(buf_end(b), buf_room(b), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= buf_room(b))
		goto fail;
	b->len += (size_t)r;
	return 0;
fail:
	/* A truncated attempt may have overwritten the terminator. */
	if (b->p != NULL && buf_room(b) > 0)
		*buf_end(b) = '\0';
	return -1;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (b->secret && b->p != NULL)
		OPENSSL_cleanse(b->p + b->off, n < b->len ? n : b->len);
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void
buf_reset(struct buf *b)
{
	if (b->secret && b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	b->off = b->len = 0;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL && b->secret)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *s;

	if (buf_reserve(b, 1) == -1)
		return NULL;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	b->p[b->len] = '\0';
	if (len != NULL)
		*len = b->len;
	s = b->p;
	b->p = NULL;
	b->off = b->len = b->cap = 0;
	return s;
}

void *
grow_array(void *arr, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t ncap;
	void *n;

	if (need == 0)
		need = 1;
	if (arr != NULL && need <= *cap)
		return arr;
	if (need > max || elem == 0) {
		errno = ERANGE;
		return NULL;
	}
	ncap = next_cap(arr != NULL ? *cap : 0, ARRAY_FIRST, need, max);
	if (ncap > SIZE_MAX / elem) {
		errno = ENOMEM;
		return NULL;
	}
	if ((n = realloc(arr, ncap * elem)) == NULL)
		return NULL;
	*cap = ncap;
	return n;
}
