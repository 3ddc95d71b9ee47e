/*
 * frame.c: RFC 5734 length-prefixed data units (see frame.h).
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

enum frame_status
frame_header_parse(const uint8_t *buf, size_t len, size_t max_total,
    size_t *payload_len, uint32_t *total)
{
	uint32_t n;

	if (len < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	if (total != NULL)
		*total = n;
	if (n < FRAME_MIN_TOTAL)
		return FRAME_TOO_SHORT;
	if (n > max_total)
		return FRAME_TOO_LONG;
	*payload_len = n - FRAME_HEADER_LEN;
	return FRAME_OK;
}

int
frame_header_write(uint8_t out[FRAME_HEADER_LEN], size_t payload_len)
{
	uint64_t n = (uint64_t)payload_len + FRAME_HEADER_LEN;

	if (payload_len == 0 || n > UINT32_MAX)
		return -1;
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return 0;
}

const char *
frame_status_str(enum frame_status st)
{
	switch (st) {
	case FRAME_OK:
		return "ok";
	case FRAME_NEED_MORE:
		return "incomplete frame";
	case FRAME_TOO_SHORT:
		return "frame length under 5 bytes";
	case FRAME_TOO_LONG:
		return "frame longer than the configured maximum";
	}
	return "unknown frame status";
}

struct frame_decoder {
	size_t		 max_total;
	uint8_t		 hdr[FRAME_HEADER_LEN];
	size_t		 hdr_have;
	uint8_t		*buf;		/* payload, allocated once per frame */
	size_t		 want;		/* payload length once the header is in */
	size_t		 have;
	enum frame_status err;		/* sticky error, FRAME_OK if none */
	int		 ready;
};

struct frame_decoder *
frame_decoder_new(size_t max_total)
{
	struct frame_decoder *d;

	if (max_total < FRAME_MIN_TOTAL || max_total > FRAME_LIMIT_MAX)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->max_total = max_total;
	return d;
}

void
frame_decoder_free(struct frame_decoder *d)
{
	if (d == NULL)
		return;
	free(d->buf);
	free(d);
}

size_t
frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len,
    enum frame_status *st)
{
	size_t used = 0, n;
	enum frame_status hs;

	if (d->err != FRAME_OK) {
		*st = d->err;
		return 0;
	}
	if (d->ready) {
		*st = FRAME_OK;
		return 0;
	}
	if (d->hdr_have < FRAME_HEADER_LEN) {
		n = FRAME_HEADER_LEN - d->hdr_have;
		if (n > len)
			n = len;
		memcpy(d->hdr + d->hdr_have, data, n);
		d->hdr_have += n;
		used += n;
		hs = frame_header_parse(d->hdr, d->hdr_have, d->max_total,
		    &d->want, NULL);
		if (hs == FRAME_NEED_MORE) {
			*st = FRAME_NEED_MORE;
			return used;
		}
		if (hs != FRAME_OK) {
			d->err = hs;
			*st = hs;
			return used;
		}
		if ((d->buf = malloc(d->want)) == NULL) {
			/* Treat exhaustion like an oversized frame: close. */
			d->err = FRAME_TOO_LONG;
			*st = d->err;
			return used;
		}
		d->have = 0;
	}
	n = d->want - d->have;
	if (n > len - used)
		n = len - used;
	memcpy(d->buf + d->have, data + used, n);
	d->have += n;
	used += n;
	if (d->have == d->want) {
		d->ready = 1;
		*st = FRAME_OK;
	} else
		*st = FRAME_NEED_MORE;
	return used;
}

const uint8_t *
frame_decoder_payload(const struct frame_decoder *d, size_t *len)
{
	if (!d->ready) {
		*len = 0;
		return NULL;
	}
	*len = d->want;
	return d->buf;
}

void
frame_decoder_next(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->hdr_have = d->want = d->have = 0;
	d->ready = 0;
}
