/*
 * names.h: normalise domain and host names before any lock matching.
 *
 * The registry must never see a name as something other than what the
 * gateway matched.  So a name is taken as the registry would read it (text,
 * CDATA and character references joined, white space collapsed as the
 * schema's token type does), then lower-cased, stripped of one trailing dot,
 * and IDN U-labels are turned into A-labels (UTS #46 non-transitional,
 * libidn2).  Anything that is not then a valid host name is refused: it can
 * never be a way around a lock.
 */
#ifndef EPPGW_NAMES_H
#define EPPGW_NAMES_H

#include <stddef.h>

#define NAME_MAX_LEN	253

enum name_status {
	NAME_OK = 0,
	NAME_EMPTY,
	NAME_TOO_LONG,
	NAME_BAD_LABEL,		/* empty, over 63, or not letters/digits/hyphen */
	NAME_BAD_IDN		/* libidn2 refused the U-label form */
};

/*
 * Normalise in (NUL-terminated UTF-8) into out (at least NAME_MAX_LEN + 1
 * bytes).  The caller has already collapsed white space.
 */
enum name_status name_normalise(const char *in, char *out, size_t outlen);
const char *name_status_str(enum name_status st);

/* Whether name is equal to or under domain (both normalised). */
int name_is_under(const char *name, const char *domain);

#endif
