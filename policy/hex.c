/*
 * hex.c: lower-case hexadecimal (hex.h).  Table-driven: this runs for
 * every record's hashes, where a snprintf per byte showed in profiles.
 */
#include <stdint.h>

#include "hex.h"

void
hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* lower case only: one spelling per value */
}

int
hex_decode(const char *s, size_t len, void *out, size_t n)
{
	uint8_t *b = out;
	int hi, lo;

	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((hi = digit(s[2 * i])) == -1 ||
		    (lo = digit(s[2 * i + 1])) == -1)
			return -1;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
