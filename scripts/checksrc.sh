#!/bin/sh
# Refuse calls to C library functions that have bitten C code often enough
# that this project does not use them (in the spirit of curl's checksrc).
#
#   scripts/checksrc.sh [file...]
#
# Without arguments it scans the product code: gateway/, policy/, tools/*/
# and include/, and every C file under tests/ (regsim, bench, fuzz, unit:
# the realloc rule below is for product code only).  Prints file:line: for each use
# and exits 1 if there is any.  Comments, string and character literals are
# blanked first, so prose and messages may name these functions; a name
# only counts as a call when "(" follows it, so snprintf, vsnprintf and
# strtok_r are never taken for sprintf, vsprintf or strtok.
#
# banned     why                                      instead
# atoi       no error report, overflow is undefined   strtol/strtoul + checks
# atol       as atoi                                  strtol + checks
# atoll      as atoi                                  strtoll + checks
# sscanf     %d overflow undefined, silently partial  strtol, a hand parser,
#                                                     rfc3339_parse for times
# strcpy     unbounded                                memcpy with a known
#                                                     length, snprintf
# strcat     unbounded, quadratic                     track the end; snprintf
# sprintf    unbounded                                snprintf
# vsprintf   unbounded                                vsnprintf
# gets       unbounded; removed in C11                fgets, getline
# strtok     hidden static state, not reentrant       strtok_r, strsep
# strncpy    may not terminate; pads with NULs        memcpy, snprintf
# tmpnam     race between name and open               mkstemp, mkdtemp
# mktemp     as tmpnam                                mkstemp, mkdtemp
#
# Growth: in the product code (not tests/), realloc and reallocarray are
# called only in policy/buf.c, whose struct buf and grow_array always grow
# geometrically under a maximum (include/buf.h).  A one-at-a-time
# realloc((n + 1) * size) elsewhere is quadratic and has no bound.  Files
# that may still call them, each with its reason, go in REALLOC_OK
# (space-separated):
#   policy/buf.c   the buffer module itself
REALLOC_OK="policy/buf.c"
set -eu

cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || set -- gateway/*/*.[ch] policy/*.[ch] tools/*/*.[ch] \
    include/*.h tests/regsim/*.[ch] tests/bench/*.c tests/fuzz/*.c \
    tests/unit/*.[ch] tests/*.h

awk -v realloc_ok="$REALLOC_OK" '
BEGIN {
	nok = split(realloc_ok, okl, " ")
	for (i = 1; i <= nok; i++)
		growok[okl[i]] = 1
	hint["atoi"] = "strtol"; hint["atol"] = "strtol"
	hint["atoll"] = "strtoll"; hint["sscanf"] = "strtol or a parser"
	hint["strcpy"] = "memcpy or snprintf"
	hint["strcat"] = "memcpy or snprintf"
	hint["sprintf"] = "snprintf"; hint["vsprintf"] = "vsnprintf"
	hint["gets"] = "fgets"; hint["strtok"] = "strtok_r"
	hint["strncpy"] = "memcpy or snprintf"
	hint["tmpnam"] = "mkstemp"; hint["mktemp"] = "mkstemp"
	bad = 0
}
FNR == 1 { incomment = 0 }
{
	# Blank comments and literals, keeping the columns.
	s = $0; out = ""; n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1); c2 = substr(s, i, 2)
		if (incomment) {
			if (c2 == "*/") { incomment = 0; out = out "  "; i++ }
			else out = out " "
		} else if (c2 == "/*") {
			incomment = 1; out = out "  "; i++
		} else if (c2 == "//") {
			break
		} else if (c == "\"" || c == "\047") {
			q = c; out = out " "
			for (i++; i <= n; i++) {
				c = substr(s, i, 1); out = out " "
				if (c == "\\") { i++; out = out " " }
				else if (c == q) break
			}
		} else
			out = out c
	}
	line = out
	rl = line
	# Product code only: the test programs may grow as they like.
	if (FILENAME !~ /^tests\// && !(FILENAME in growok))
		while (match(rl, /(^|[^A-Za-z0-9_.>])(realloc|reallocarray)[ \t]*\(/)) {
			printf "%s:%d: realloc outside policy/buf.c (use " \
			    "struct buf or grow_array, buf.h)\n", FILENAME, FNR
			bad = 1
			rl = substr(rl, RSTART + RLENGTH)
		}
	while (match(line, /(^|[^A-Za-z0-9_.>])(atoi|atol|atoll|sscanf|strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|tmpnam|mktemp)[ \t]*\(/)) {
		name = substr(line, RSTART, RLENGTH)
		sub(/^[^A-Za-z]/, "", name); sub(/[ \t]*\($/, "", name)
		printf "%s:%d: banned function %s (use %s)\n", FILENAME, FNR,
		    name, hint[name]
		bad = 1
		line = substr(line, RSTART + RLENGTH)
	}
}
END { exit bad }
' "$@"
