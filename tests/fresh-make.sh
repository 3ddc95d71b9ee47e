#!/bin/sh
# A fresh machine's first `make demo` and `make check`, without removing any
# package from this one.
#
#   tests/fresh-make.sh [SCRATCH_DIR]
#
# A scratch copy of the tree (the files git tracks or would track: no build/,
# no certs/dev/, no run/) is built with a pkg-config that fails until `make
# deps` has run (scripts/deps.sh creates $EPPGW_DEPS_MARKER).  A build step
# that read pkg-config before `deps` then has no flags and fails to compile,
# which is what a new user on a machine without the -dev packages meets.
# `make check` runs with one end-to-end file: the build order is under test
# here, not the suite, which CI runs in full anyway.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${1:-$ROOT/build/fresh-make}
REAL_PKG_CONFIG=$(command -v pkg-config || true)
if [ -z "$REAL_PKG_CONFIG" ]; then
	# Nothing to guard: this machine is really fresh; deps will install it.
	REAL_PKG_CONFIG=/usr/bin/pkg-config
fi

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH/tree" "$SCRATCH/bin"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - -cf -) | tar -xf - -C "$SCRATCH/tree"

MARKER=$SCRATCH/deps-ran
cat > "$SCRATCH/bin/pkg-config" <<FAKE
#!/bin/sh
# Fails as on a machine whose -dev packages are not installed yet.
[ -e "$MARKER" ] || exit 1
exec "$REAL_PKG_CONFIG" "\$@"
FAKE
chmod +x "$SCRATCH/bin/pkg-config"

export EPPGW_DEPS_MARKER="$MARKER"
export EPPGW_CORPUS="${EPPGW_CORPUS:-$ROOT/../shared/corpus/epp-samples}"
FAKE_PC=$SCRATCH/bin/pkg-config
failed=0

step() {
	name=$1
	shift
	rm -f "$MARKER"
	rm -rf "$SCRATCH/tree/build" "$SCRATCH/tree/run" "$SCRATCH/tree/certs/dev"
	if (cd "$SCRATCH/tree" && "$@") > "$SCRATCH/$name.log" 2>&1; then
		echo "ok - fresh-machine $name"
	else
		echo "not ok - fresh-machine $name (log: $SCRATCH/$name.log)"
		tail -n 20 "$SCRATCH/$name.log" | sed 's/^/#   /'
		failed=1
	fi
}

# The guard itself: without deps, a build must stop with the clear message.
rm -f "$MARKER"
if (cd "$SCRATCH/tree" && make PKG_CONFIG="$FAKE_PC" all) \
    > "$SCRATCH/no-deps.log" 2>&1; then
	echo "not ok - a build without the packages stops (it compiled)"
	failed=1
elif grep -q "pkg-config cannot find" "$SCRATCH/no-deps.log"; then
	echo "ok - a build without the packages stops with a clear message"
else
	echo "not ok - a build without the packages stops with a clear message"
	tail -n 5 "$SCRATCH/no-deps.log" | sed 's/^/#   /'
	failed=1
fi

step demo make PKG_CONFIG="$FAKE_PC" demo
step check make PKG_CONFIG="$FAKE_PC" E2E=tests/e2e/10-regsim.t check

[ "$failed" -eq 0 ] && rm -rf "$SCRATCH"
exit "$failed"
