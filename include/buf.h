/*
 * buf.h: the one growable byte buffer, always with a maximum, and the one
 * way to grow an array (in the spirit of curl's dynbuf and OpenSSH's
 * sshbuf).  Nothing else in the product calls realloc
 * (scripts/checksrc.sh checks).
 *
 * A struct buf holds len bytes at p + off: buf_consume drops bytes from
 * the front without moving the rest (I/O buffers), the next growth moves
 * them back.  The struct is plain so that a hot path can write straight
 * into it: buf_reserve(b, n), then at most n bytes at buf_end(b), then
 * buf_wrote(b, k).  Growth is geometric and never past max: a request
 * that would hold more than max bytes fails with -1 (errno ERANGE) and
 * leaves the buffer as it was.  A buffer made with buf_init_secret is
 * wiped (OPENSSL_cleanse) whenever bytes are let go: consumed, reset,
 * moved on growth, freed.
 *
 * A zeroed struct buf is a valid empty buffer of maximum 0; buf_init sets
 * the maximum.  buf_free releases storage and keeps the maximum, so the
 * buffer may be used again.
 */
#ifndef EPPGW_BUF_H
#define EPPGW_BUF_H

#include <stddef.h>

struct buf {
	char	*p;		/* storage; NULL until the first growth */
	size_t	 off;		/* consumed bytes at the front */
	size_t	 len;		/* bytes held, at p + off */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* most bytes it may hold (len + reserved) */
	int	 secret;	/* wipe storage when it is let go */
};

void	 buf_init(struct buf *b, size_t max);
void	 buf_init_secret(struct buf *b, size_t max);
/* Room for n more bytes at buf_end(b): 0, or -1 past max / out of memory. */
int	 buf_reserve(struct buf *b, size_t n);
int	 buf_add(struct buf *b, const void *p, size_t n);
/*
 * printf onto the end, NUL-terminated (the NUL counts against max, not in
 * len).  -1 when it would not fit under max or on an encoding error: then
 * nothing is added, never a truncated string.
 */
int	 buf_addf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Drop n bytes from the front (all of them if n >= len); wiped if secret. */
void	 buf_consume(struct buf *b, size_t n);
/* Empty, keeping storage (wiped if secret). */
void	 buf_reset(struct buf *b);
/* Release storage (wiped if secret); max and secret stay. */
void	 buf_free(struct buf *b);
/*
 * Hand over the bytes as a malloc'd NUL-terminated string (the caller
 * frees) and leave the buffer empty; NULL when out of memory or past max.
 */
char	*buf_detach(struct buf *b, size_t *len);

/* The bytes held; never NULL. */
static inline const char *
buf_data(const struct buf *b)
{
	return b->p != NULL ? b->p + b->off : "";
}

/* Where the next bytes go: valid for buf_room(b) bytes. */
static inline char *
buf_end(struct buf *b)
{
	return b->p + b->off + b->len;
}

static inline size_t
buf_room(const struct buf *b)
{
	return b->cap - b->off - b->len;
}

/* n bytes were written at buf_end(b); n <= buf_room(b). */
static inline void
buf_wrote(struct buf *b, size_t n)
{
	b->len += n;
}

/*
 * Grow an array of elements of elem bytes, whose storage holds *cap of
 * them, so that it holds at least need, at most max: geometric, overflow
 * checked.  Returns the array, perhaps moved (assign it at once), and
 * updates *cap; NULL when need > max (errno ERANGE) or out of memory,
 * leaving arr and *cap as they were.  arr may be NULL with *cap 0.
 */
void	*grow_array(void *arr, size_t *cap, size_t need, size_t elem,
	    size_t max);

#endif
