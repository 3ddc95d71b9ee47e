/*
 * names.c: domain and host name normalisation (see names.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "names.h"

const char *
name_status_str(enum name_status st)
{
	switch (st) {
	case NAME_OK:
		return "ok";
	case NAME_EMPTY:
		return "empty name";
	case NAME_TOO_LONG:
		return "name longer than 253 characters";
	case NAME_BAD_LABEL:
		return "invalid label in name";
	case NAME_BAD_IDN:
		return "invalid internationalised name";
	}
	return "invalid name";
}

/* Letters, digits and hyphens, 1-63 long, no hyphen at either end. */
static int
valid_ldh(const char *name)
{
	const char *label = name;

	for (;;) {
		const char *end = strchr(label, '.');
		size_t len = end ? (size_t)(end - label) : strlen(label);

		if (len == 0 || len > 63 || label[0] == '-' ||
		    label[len - 1] == '-')
			return 0;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)label[i]) &&
			    label[i] != '-')
				return 0;
		if (end == NULL)
			return 1;
		label = end + 1;
	}
}

enum name_status
name_normalise(const char *in, char *out, size_t outlen)
{
	char buf[4 * NAME_MAX_LEN + 8], *ascii = NULL;
	size_t len = strlen(in);
	int nonascii = 0, r;

	if (len == 0)
		return NAME_EMPTY;
	if (len >= sizeof(buf))
		return NAME_TOO_LONG;
	memcpy(buf, in, len + 1);
	/* One trailing dot is the root: "example.com." is "example.com". */
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	if (len == 0)
		return NAME_EMPTY;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)buf[i] >= 0x80)
			nonascii = 1;
		else
			buf[i] = (char)tolower((unsigned char)buf[i]);
	}
	if (nonascii) {
		r = idn2_to_ascii_8z(buf, &ascii, IDN2_NFC_INPUT |
		    IDN2_NONTRANSITIONAL);
		if (r != IDN2_OK)
			return NAME_BAD_IDN;
		len = strlen(ascii);
		if (len >= sizeof(buf)) {
			idn2_free(ascii);
			return NAME_TOO_LONG;
		}
		for (size_t i = 0; i <= len; i++)
			buf[i] = (char)tolower((unsigned char)ascii[i]);
		idn2_free(ascii);
	}
	if (len > NAME_MAX_LEN || len >= outlen)
		return NAME_TOO_LONG;
	if (!valid_ldh(buf))
		return NAME_BAD_LABEL;
	/* An A-label must decode, or "xn--" could hide anything. */
	for (const char *l = buf; l != NULL; l = strchr(l, '.')) {
		if (*l == '.')
			l++;
		if (strncmp(l, "xn--", 4) == 0) {
			char *u = NULL;

			if (idn2_to_unicode_8z8z(buf, &u, 0) != IDN2_OK) {
				idn2_free(u);
				return NAME_BAD_IDN;
			}
			idn2_free(u);
			break;
		}
	}
	memcpy(out, buf, len + 1);
	return NAME_OK;
}

int
name_is_under(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strcmp(name + n - d, domain) == 0;
}
