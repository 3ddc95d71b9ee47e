#!/bin/sh
# Static analysis of the product code with clang-tidy: the Clang static
# analyzer (clang-analyzer-*) and the bugprone-* checks, less the ones below
# that only make noise here.  Prints the findings and exits 1 if there is
# any, 2 if clang-tidy cannot be run.
#
#   scripts/analyze.sh [file.c...]
#
# Without arguments it checks gateway/*/*.c, policy/*.c and tools/*/*.c, with
# diagnostics in their headers under include/ and beside them too, with the
# flags the Makefile compiles them with.  CLANG_TIDY picks the binary
# (default clang-tidy), PKG_CONFIG the pkg-config, JOBS the parallelism
# (default: the CPU count), V=1 prints the analyzer's path notes as well.
# `make lint` runs it (about 1.5 minutes on 2 cores).
#
# To silence one false positive, put on the line before it
#     /* NOLINTNEXTLINE(check-name): why the analyzer is wrong */
# rather than disabling a check here.
#
# gcc 12's -fanalyzer was tried too: about 35 diagnostics on this code, all
# false positives of its malloc-leak/double-free/null-dereference models
# (pointers kept in realloc'd arrays, JSON array sizes), so it would need
# exactly its useful warnings turned off.  clang-tidy it is.
set -eu

cd "$(dirname "$0")/.."
: "${CLANG_TIDY:=clang-tidy}"
: "${JOBS:=$(nproc 2>/dev/null || echo 2)}"

# Checks off, one reason each.
NOISE='
-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling
	# wants C11 Annex K memcpy_s and friends, which glibc does not have
-clang-analyzer-optin.performance.Padding
	# struct layout advice, not a bug; fields are ordered for reading
-bugprone-easily-swappable-parameters
	# style: fires on every pair of adjacent same-typed parameters
-bugprone-implicit-widening-of-multiplication-result
	# int constant products (1000 * ms, 2 * HASH_LEN) that cannot overflow
-bugprone-reserved-identifier
	# _GNU_SOURCE is a feature-test macro that must be defined
-bugprone-narrowing-conversions
	# (char)tolower(c) and friends; -Wconversion is the tool for this
-bugprone-not-null-terminated-result
	# memcpy into length-counted and binary buffers, terminated later
-bugprone-branch-clone
	# else-if chains giving the same result for distinct, named reasons
-bugprone-sizeof-expression
	# takes sizeof(*v) of a struct pointer array (reallocarray) for a bug
-bugprone-misplaced-widening-cast
	# (unsigned long long)(a + b) of uint64_t for %llu is not widening
'
checks="-*,clang-analyzer-*,bugprone-*$(printf '%s\n' "$NOISE" |
    sed -n 's/^\(-[a-z].*\)$/,\1/p' | tr -d '\n')"

if ! command -v "$CLANG_TIDY" >/dev/null 2>&1; then
	echo "analyze: $CLANG_TIDY not found: run make deps" \
	    "(Debian: apt-get install clang-tidy)" >&2
	exit 2
fi
PKGS='libevent libevent_openssl openssl libxml-2.0 inih jansson liboath
    libcurl libidn2 libseccomp'
# shellcheck disable=SC2086
if ! pkgflags=$(${PKG_CONFIG:-pkg-config} --cflags $PKGS); then
	echo "analyze: pkg-config lacks packages; run make deps" >&2
	exit 2
fi
[ "$#" -gt 0 ] || set -- gateway/*/*.c policy/*.c tools/*/*.c
for f; do
	[ -f "$f" ] || { echo "analyze: $f: no such file" >&2; exit 2; }
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
here=$(pwd)
export CLANG_TIDY checks here out pkgflags

# One clang-tidy per file, JOBS at a time, the largest (slowest) first so
# that no long one starts last; each writes its own report.
# shellcheck disable=SC2016
stat -c '%s %n' -- "$@" | sort -rn | cut -d' ' -f2- |
    xargs -P "$JOBS" -I{} sh -c '
	f=$1
	# shellcheck disable=SC2086
	"$CLANG_TIDY" -quiet --checks="$checks" \
	    --header-filter="^$here/(include|gateway|policy|tools)/" "$f" -- \
	    -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude \
	    $pkgflags -DEPPGW_VERSION="\"0\"" \
	    >"$out/$(echo "$f" | tr / _).log" 2>&1 ||
	    echo "$here/$f:1:1: error: clang-tidy failed (exit $?)" \
	    >>"$out/$(echo "$f" | tr / _).log"
' sh {}

# V=1 shows the analyzer's reasoning (the notes) too.
[ "${V:-0}" != 1 ] || cat "$out"/*.log
# A header's finding shows once per file including it: keep one.
cat "$out"/*.log | sed -n "s|^$here/||p" |
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
    sort -t: -k1,1 -k2,2n -k3,3n | uniq >"$out/findings" || :
if [ -s "$out/findings" ]; then
	cat "$out/findings"
	echo "analyze: $(wc -l <"$out/findings") finding(s)" >&2
	exit 1
fi
exit 0
