#!/bin/sh
# Start the registry simulator and the gateway of the local demo contract
# (DESIGN.md section 5), then either stay in the foreground (run) or tell the
# demo story against them and stop (demo).
#
#   tests/run-demo.sh run|demo [BUILD_DIR]
set -eu

mode=${1:?usage: run-demo.sh run|demo [BUILD_DIR]}
build=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
C=certs/dev

for port in 7000 7001 7002 7700; do
	if perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(
	    PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) ? 0 : 1)' "$port"
	then
		echo "run-demo: 127.0.0.1:$port is already in use (another" \
		    "'make run'?): stop it first" >&2
		exit 1
	fi
done

mkdir -p run/audit
: > run/regsim-journal.log
# The demo TOTP seeds and the watch session's password, private as the
# gateway insists (git keeps no modes).
install -m 600 examples/demo.seeds run/demo.seeds
install -m 600 examples/demo.watchpw run/watch.pw

pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {
	perl -MIO::Socket::INET -MTime::HiRes=sleep -e '
	    for (1 .. 100) {
		exit 0 if IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $ARGV[0]);
		sleep 0.05;
	    }
	    exit 1' "$1" || { echo "run-demo: nothing listens on $1" \
	    "(see run/*.log)" >&2; exit 1; }
}

"$build/eppgw-regsim" -l 127.0.0.1:7700 --cert $C/regsim.pem \
    --key $C/regsim.key --ca $C/ca.pem --seed examples/regsim.seed \
    --journal run/regsim-journal.log -d 2> run/regsim.log &
pids="$!"
wait_port 7700

if [ "$mode" = run ]; then
	echo "registry simulator on 127.0.0.1:7700 (log: run/regsim.log)"
	echo "gateway on 127.0.0.1:7000; Ctrl-C stops both"
	"$build/eppgw" -d -f examples/eppgw.conf &
	pids="$! $pids"
	wait "$!"
	exit $?
fi

"$build/eppgw" -d -f examples/eppgw.conf 2> run/eppgw.log &
gw=$!
pids="$gw $pids"
wait_port 7000
EPPGW_BUILD=$build perl -I tests/e2e/lib examples/demo.pl

# The audit log is sealed when the gateway shuts down cleanly: stop it, then
# verify the whole log (exit 0: valid and sealed; 2: valid with warnings,
# e.g. recovery records after an earlier crash; 1 tampered, 3 cannot verify).
kill -TERM "$gw"
st=0
wait "$gw" || st=$?
pids=${pids#"$gw "}
if [ "$st" -ne 0 ]; then
	echo "run-demo: the gateway exited with status $st on SIGTERM" \
	    "(see run/eppgw.log)" >&2
	exit 1
fi
echo "after the gateway stopped:"
echo "\$ eppgw-audit verify --vkey $C/audit.pub run/audit"
st=0
"$build/eppgw-audit" verify --vkey $C/audit.pub run/audit || st=$?
case $st in
0)	echo "audit log valid and sealed" ;;
2)	echo "audit log valid, with warnings (see above)" ;;
*)	echo "run-demo: eppgw-audit verify failed (exit $st)" >&2; exit 1 ;;
esac
