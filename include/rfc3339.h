/*
 * rfc3339.h: RFC 3339 timestamps as instants, and the time bounds a
 * reviewer gives eppgw-audit (--since, --until).
 *
 * Audit records carry "2026-11-22T12:00:00.123456Z"; a reviewer types
 * "2026-11-22T13:00:00+01:00", "2026-11-22" or "-1h".  Comparing those as
 * text is wrong (an offset shifts the instant, a word matches nothing), so
 * both sides are turned into microseconds since the epoch, UTC.
 */
#ifndef EPPGW_RFC3339_H
#define EPPGW_RFC3339_H

#include <stdint.h>

#define RFC3339_US	1000000LL		/* microseconds a second */
#define RFC3339_DAY_US	(86400LL * RFC3339_US)

/*
 * A complete RFC 3339 date-time (section 5.6): YYYY-MM-DD, "T" (or "t",
 * or one space, as section 5.6's note allows), hh:mm:ss, an optional
 * fraction of any length, "Z" (or "z") or +hh:mm / -hh:mm.  A leap second
 * (ss = 60) is the first moment of the next minute.  On success *us is the
 * instant in microseconds since 1970-01-01T00:00:00Z (digits past the
 * microsecond are dropped) and *prec, if not NULL, how much time the text
 * names: 1 s without a fraction, 10^(6-n) us with n < 6 fraction digits,
 * 1 us beyond.  Returns 0, or -1 if s is anything else (trailing text
 * included).
 */
int rfc3339_parse(const char *s, int64_t *us, int64_t *prec);

/*
 * A time bound: an RFC 3339 date-time as above, a full date YYYY-MM-DD
 * (midnight UTC; *prec one day), or a time relative to now_us: "-" then a
 * number then s, m, h, d or w ("-30m", "-7d"; *prec 1 us).  Returns 0, or
 * -1 for anything else.
 *
 * A bound covers its precision: a record at t is at or after a "since"
 * bound when t >= us, and at or before an "until" bound when t < us + prec,
 * so --until 2026-11-22 takes that whole day and --until 12:00:00Z that
 * whole second, as the prefixes the tool used to compare did.
 */
int rfc3339_bound(const char *s, int64_t now_us, int64_t *us, int64_t *prec);

#endif
