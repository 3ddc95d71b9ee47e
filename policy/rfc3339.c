/*
 * rfc3339.c: RFC 3339 timestamps and time bounds (see rfc3339.h).
 *
 * No strptime/timegm: strptime ignores what it does not understand
 * differently on every libc, and timegm takes the process's idea of time
 * zones into a function that must not depend on TZ.  The grammar is small
 * enough to read by hand.
 */
#include <stddef.h>
#include <stdint.h>

#include "rfc3339.h"

/* Exactly n ASCII digits at s. */
static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int y, int m)
{
	static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid for every year the grammar can write. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* YYYY-MM-DD at s: its day number; -1 if not a valid date. */
static int
full_date(const char *s, int64_t *days)
{
	int y, m, d;

	if (digits(s, 4, &y) == -1 || s[4] != '-' ||
	    digits(s + 5, 2, &m) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1)
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > mdays(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

int
rfc3339_parse(const char *s, int64_t *us, int64_t *prec)
{
	int64_t days, t, frac = 0, p = RFC3339_US, scale = RFC3339_US;
	int hh, mm, ss, oh, om;
	const char *q;

	if (s == NULL || full_date(s, &days) == -1)
		return -1;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -1;
	q = s + 11;
	if (digits(q, 2, &hh) == -1 || q[2] != ':' ||
	    digits(q + 3, 2, &mm) == -1 || q[5] != ':' ||
	    digits(q + 6, 2, &ss) == -1)
		return -1;
	/* ss = 60: a leap second, which a POSIX clock never shows. */
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	q += 8;
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return -1;
		/* Any number of digits; what is past the microsecond only
		 * narrows the precision down to 1 us. */
		for (; *q >= '0' && *q <= '9'; q++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*q - '0') * scale;
			}
			p = scale;
		}
	}
	t = ((days * 24 + hh) * 60 + mm) * 60 + ss;
	if (*q == 'Z' || *q == 'z')
		q++;
	else if (*q == '+' || *q == '-') {
		if (digits(q + 1, 2, &oh) == -1 || q[3] != ':' ||
		    digits(q + 4, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
		/* Local time = UTC + offset: the instant is local - offset. */
		t += (*q == '+' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60);
		q += 6;
	} else
		return -1;
	if (*q != '\0')
		return -1;
	*us = t * RFC3339_US + frac;
	if (prec != NULL)
		*prec = p;
	return 0;
}

int
rfc3339_bound(const char *s, int64_t now_us, int64_t *us, int64_t *prec)
{
	int64_t days, n = 0, unit;
	const char *q;

	if (s == NULL)
		return -1;
	if (s[0] == '-') {
		/* -N[smhdw]: at least one digit, nothing after the unit. */
		for (q = s + 1; *q >= '0' && *q <= '9'; q++) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*q - '0');
		}
		if (q == s + 1 || q[0] == '\0' || q[1] != '\0')
			return -1;
		switch (*q) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		if (n > INT64_MAX / RFC3339_US / unit)
			return -1;
		*us = now_us - n * unit * RFC3339_US;
		if (prec != NULL)
			*prec = 1;
		return 0;
	}
	if (full_date(s, &days) == 0 && s[10] == '\0') {
		*us = days * RFC3339_DAY_US;
		if (prec != NULL)
			*prec = RFC3339_DAY_US;
		return 0;
	}
	return rfc3339_parse(s, us, prec);
}
