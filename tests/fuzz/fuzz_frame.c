/*
 * fuzz_frame.c: libFuzzer harness for the RFC 5734 frame decoder.
 *
 * The input is split into chunks the way TLS delivers records: the first
 * byte of the input picks the chunk sizes, so the fuzzer explores split
 * headers and frames that straddle reads.  Every frame the decoder hands
 * back must be exactly the announced length and within the maximum.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder *d;
	size_t off = 1, chunk, used, plen;
	unsigned seed;
	enum frame_status st = FRAME_NEED_MORE;

	if (size < 1)
		return 0;
	seed = data[0];
	if ((d = frame_decoder_new(4096)) == NULL)
		abort();
	while (off < size) {
		chunk = 1 + (seed % 97);
		seed = seed * 1103515245u + 12345u;
		if (chunk > size - off)
			chunk = size - off;
		used = 0;
		while (used < chunk) {
			size_t n = frame_decoder_feed(d, data + off + used,
			    chunk - used, &st);

			used += n;
			if (st == FRAME_OK) {
				if (frame_decoder_payload(d, &plen) == NULL ||
				    plen == 0 || plen + 4 > 4096)
					abort();
				frame_decoder_next(d);
			} else if (st != FRAME_NEED_MORE)
				break;
			else if (n == 0)
				abort();	/* no progress, no error */
		}
		if (st == FRAME_TOO_SHORT || st == FRAME_TOO_LONG)
			break;
		off += chunk;
	}
	frame_decoder_free(d);
	return 0;
}
