/*
 * frame.h: RFC 5734 section 4 data units.
 *
 * An EPP data unit is a 32-bit big-endian length that counts itself (so the
 * smallest legal value is 5: the header and one byte of XML), followed by
 * the XML instance.  This module is pure: it never does I/O, so the gateway,
 * the simulator, the load generator and the fuzzers all share it.
 */
#ifndef EPPGW_FRAME_H
#define EPPGW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_LEN	4
#define FRAME_MIN_TOTAL		5		/* header + at least one byte */
#define FRAME_DEFAULT_MAX	(1024 * 1024)	/* total length, header included */
#define FRAME_LIMIT_MAX		(64 * 1024 * 1024)

enum frame_status {
	FRAME_OK = 0,		/* a complete header: payload length is known */
	FRAME_NEED_MORE,	/* not enough bytes yet */
	FRAME_TOO_SHORT,	/* header value under 5: close the session */
	FRAME_TOO_LONG		/* header value over the maximum: close the session */
};

/*
 * Read a frame header from the first FRAME_HEADER_LEN bytes of buf.
 * On FRAME_OK *payload_len is the XML length (total - 4).  max_total bounds
 * the total length, header included.  *total is set whenever the header was
 * complete (even when too short or too long) so callers can log it.
 */
enum frame_status frame_header_parse(const uint8_t *buf, size_t len,
    size_t max_total, size_t *payload_len, uint32_t *total);

/* Write the header for a payload of payload_len bytes; -1 if it cannot fit. */
int frame_header_write(uint8_t out[FRAME_HEADER_LEN], size_t payload_len);

const char *frame_status_str(enum frame_status st);

/*
 * An incremental decoder for code that reads raw bytes (the simulator, the
 * load generator, the fuzzers).  It owns one buffer of at most max_total
 * bytes: it never allocates more than the header announced and allowed.
 */
struct frame_decoder;

struct frame_decoder *frame_decoder_new(size_t max_total);
void frame_decoder_free(struct frame_decoder *d);

/*
 * Consume up to len bytes.  Returns how many bytes were consumed and sets
 * *st: FRAME_OK when a whole frame is ready (read it with
 * frame_decoder_payload, then call frame_decoder_next), FRAME_NEED_MORE when
 * every byte was consumed without completing a frame, or an error, after
 * which the decoder accepts nothing more.
 */
size_t frame_decoder_feed(struct frame_decoder *d, const uint8_t *data,
    size_t len, enum frame_status *st);

/* The ready frame's XML (not NUL-terminated) and its length. */
const uint8_t *frame_decoder_payload(const struct frame_decoder *d,
    size_t *len);

/* Drop the ready frame and start on the next one. */
void frame_decoder_next(struct frame_decoder *d);

#endif
