#!/bin/sh
# dupcheck.sh: no copied code in the product (gateway/, policy/, tools/,
# include/).  Runs the `duplicates` tool (the team's copy finder, see
# README.md, Checks) over the tree and fails on any pair of places that
# share DUP_MIN_LINES (10) or more identical lines with one side in product
# code: such code belongs in one function both call.  Pairs that are alike
# only in shape (same structure, other names) are listed, not failed:
# accessor families and table-driven code look like that on purpose.
# Where the tool is not installed (it is not a Debian package) this says so
# and passes, so a fresh machine's `make check` does not depend on it.
set -u
min=${DUP_MIN_LINES:-10}
if ! command -v duplicates >/dev/null 2>&1; then
	echo "dupcheck: the duplicates tool is not installed: skipped"
	exit 0
fi
# A copy of the tree inside another checkout's ignored folder (as
# tests/fresh-make.sh makes) has no file git would track: nothing to read.
top=$(git rev-parse --show-toplevel 2>/dev/null || true)
if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" != "$(pwd -P)" ]; then
	echo "dupcheck: not the top of its git checkout: skipped"
	exit 0
fi
out=$(duplicates --min-lines "$min" --most 200 --seconds 120) || exit 1
product='(gateway|policy|tools|include)/'
bad=$(printf '%s\n' "$out" | grep -E '^D[0-9]+ ' | grep -v ' shape' |
    grep -E "(^D[0-9]+ |~ )$product")
shapes=$(printf '%s\n' "$out" | grep -E '^D[0-9]+ ' | grep ' shape' |
    grep -v boilerplate | grep -cE "(^D[0-9]+ |~ )$product")
if printf '%s\n' "$out" | grep -q '^incomplete:'; then
	printf '%s\n' "$out" | grep '^incomplete:' >&2
	echo "dupcheck: the scan did not finish" >&2
	exit 1
fi
if [ -n "$bad" ]; then
	echo "dupcheck: product code copied ($min+ identical lines):" >&2
	printf '%s\n' "$bad" >&2
	exit 1
fi
echo "dupcheck: no copied product code ($min+ lines); $shapes pairs alike in shape (not failed)"
