# shellcheck shell=sh disable=SC2034 # what it sets is for the sourcing script
# Helpers shared by the benchmark scripts of tests/bench (run.sh,
# audit-on-off.sh, workers.sh, haproxy.sh), sourced, after `set -eu`, with
#
#   . "$(dirname "$0")/lib.sh"
#
# Sourcing it checks the arguments (exactly one, BUILD_DIR, or "usage: ...",
# exit 2), sets ROOT, BUILD, CERTS (certs/dev), BENCHDIR (tests/bench), CMD
# (cmd-1500.xml), LOAD, ECHO, GW (the binaries in BUILD_DIR), REPS, SECS and
# WARM (from the knobs BENCH_REPS (3), BENCH_SECONDS (3), BENCH_WARMUP (1)),
# REP (0: before the first repetition), ECHO_PID and IDLE_PID (empty), and
# traps: on exit every process named in
# PID_VARS is stopped and RM_ON_EXIT is removed; INT and TERM exit 130.
#
# It provides: need_files, raise_fd_limit, new_out, stop_pid, stop_vars,
# listening, check_port_free, wait_listen, wait_started, alive_or_die,
# start_echo, start_gw, accepted, probe_run_as_root, conf_gateway,
# conf_audit, conf_principal, next_rep, rep_order, progress, load_run,
# median_of, total, ratio, rss_kb, idle_rss, fs_type, verify_audit.
#
# Variables the script sets (read when a helper runs, not when sourced):
#   ME            prefix of every message ("bench", "workers", ...)
#   OUT           the script's output directory in BUILD_DIR (logs,
#                 configurations, results.txt)
#   ECHO_PORT     the port of epp-echo
#   PID_VARS      names of the variables holding the pids to stop on exit,
#                 in that order (e.g. "IDLE_PID GW_PID ECHO_PID")
#   IDLE          idle sessions for idle_rss
#   RUN_AS_ROOT   for conf_gateway: empty or "run_as_root = yes" and a
#                 newline (see probe_run_as_root)
# and optionally:
#   RM_ON_EXIT    a directory to remove on exit (default: none)
#   MISSING_HINT  words after need_files' "ME: missing FILE" (default: none)
#   STOP_TRIES    stop_pid waits STOP_TRIES x 50 ms for an exit (100)
#   LISTEN_TRIES  wait_listen waits LISTEN_TRIES x 50 ms for a port (200)
#
# Helpers use the shell variables i, f, need, have and those starting with
# an underscore, and REP (next_rep's count).  Check the scripts with `shellcheck -x` (to follow this file).

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
CERTS=$ROOT/certs/dev
BENCHDIR=$ROOT/tests/bench
CMD=$BENCHDIR/cmd-1500.xml
LOAD=$BUILD/epp-load
ECHO=$BUILD/epp-echo
GW=$BUILD/eppgw

REPS=${BENCH_REPS:-3}
SECS=${BENCH_SECONDS:-3}
WARM=${BENCH_WARMUP:-1}
REP=0

ECHO_PID=""
IDLE_PID=""

# need_files FILE...: exit 1 with "ME: missing FILE" for the first one that
# does not exist.
need_files() {
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "$ME: missing $f${MISSING_HINT:-}" >&2
			exit 1
		fi
	done
}

# raise_fd_limit NEED WHAT: at least NEED descriptors, or exit 1 saying they
# are needed for WHAT.  Every session is a descriptor in the generator and
# the stub, and two in a relay (registrar side and upstream side).  dash and
# bash both have -n/-H.
# shellcheck disable=SC3045
raise_fd_limit() {
	need=$1
	have=$(ulimit -n)
	[ "$have" = unlimited ] && return 0
	[ "$have" -ge "$need" ] && return 0
	ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	if [ "$(ulimit -n)" -lt "$need" ]; then
		echo "$ME: ulimit -n is $(ulimit -n), $need needed for $2" >&2
		exit 1
	fi
}

# new_out: an empty OUT (removed and made again) with an empty
# OUT/results.txt.
new_out() {
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: > "$OUT/results.txt"
}

# stop_pid PID (none if empty): TERM, then KILL if it has not exited after
# STOP_TRIES x 50 ms (a gateway drains its workers and closes the audit log:
# give it time).
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt "${STOP_TRIES:-100}" ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# stop_vars NAME...: stop_pid the process whose pid the variable NAME
# holds, and empty NAME; one after the other, in that order.
stop_vars() {
	for _var in "$@"; do
		eval "stop_pid \"\${$_var:-}\"; $_var=''"
	done
}

# shellcheck disable=SC2317 # called from the trap
cleanup() {
	# shellcheck disable=SC2086 # a list of names
	stop_vars ${PID_VARS:-}
	if [ -n "${RM_ON_EXIT:-}" ]; then
		rm -rf "$RM_ON_EXIT"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Is something listening on 127.0.0.1:PORT (or any address)?  Read from
# /proc/net/tcp, so no probe connection shows up in the target's log.
listening() {
	awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" &&
	    substr($2, length($2) - 4) == p { found = 1 }
	    END { exit !found }' /proc/net/tcp
}

# Refuse to start on a busy port: we would measure someone else's server.
check_port_free() {
	if listening "$1"; then
		echo "$ME: port $1 is already in use (set BENCH_GW_PORT or" \
		    "BENCH_ECHO_PORT)" >&2
		exit 1
	fi
}

# wait_listen PORT PID: wait until PORT listens while PID stays alive.
wait_listen() {
	i=0
	while [ $i -lt "${LISTEN_TRIES:-200}" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		listening "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# wait_started WHAT PORT PID LOG: wait_listen, or exit 1 saying that WHAT
# did not start, with the end of LOG.
wait_started() {
	if ! wait_listen "$2" "$3"; then
		echo "$ME: $1 did not start; $4:" >&2
		tail -n 20 "$4" >&2
		exit 1
	fi
}

# alive_or_die WHAT PID LOG: exit 1 saying that WHAT died, with the end of
# LOG, unless PID is alive.
alive_or_die() {
	if ! kill -0 "$2" 2>/dev/null; then
		echo "$ME: $1 died; $3:" >&2
		tail -n 20 "$3" >&2
		exit 1
	fi
}

# The stub registry on ECHO_PORT; sets ECHO_PID.
start_echo() {
	check_port_free "$ECHO_PORT"
	"$ECHO" -l "127.0.0.1:$ECHO_PORT" --cert "$CERTS/regsim.pem" \
	    --key "$CERTS/regsim.key" --ca "$CERTS/ca.pem" -q \
	    2>>"$OUT/echo.log" &
	ECHO_PID=$!
	wait_started epp-echo "$ECHO_PORT" "$ECHO_PID" "$OUT/echo.log"
}

# start_gw WHAT CONF LOG PORT: the gateway with CONF, its output to LOG,
# listening on PORT (WHAT names it in messages); sets GW_STARTED to its pid.
start_gw() {
	check_port_free "$4"
	"$GW" -d -f "$2" >>"$3" 2>&1 &
	GW_STARTED=$!
	wait_started "$1" "$4" "$GW_STARTED" "$3"
}

# accepted CHECK_LOG WHAT COMMAND...: run COMMAND (a configuration check),
# its output to CHECK_LOG; if it fails, exit 1 with "ME: WHAT:" and the end
# of CHECK_LOG.
accepted() {
	_log=$1 _what=$2
	shift 2
	if ! "$@" >"$_log" 2>&1; then
		echo "$ME: $_what:" >&2
		tail -n 20 "$_log" >&2
		exit 1
	fi
}

# probe_run_as_root CONF COMMAND...: sets RUN_AS_ROOT.  A gateway that
# refuses to run as root without run_as_root = yes needs it; one that does
# not know the key must not get it.  As root, COMMAND writes CONF with the
# key and `eppgw -t` tells.
probe_run_as_root() {
	RUN_AS_ROOT=""
	[ "$(id -u)" = 0 ] || return 0
	RUN_AS_ROOT="run_as_root = yes
"
	_conf=$1
	shift
	"$@"
	if ! "$GW" -t -f "$_conf" >/dev/null 2>&1; then
		RUN_AS_ROOT=""
	fi
}

# Pieces of a gateway configuration, on stdout.  conf_gateway PORT
# MAX_SESSIONS [LINE]: [gateway] listening on PORT (LINE, if any, after
# client_ca; RUN_AS_ROOT last) and [upstream], epp-echo on ECHO_PORT.
conf_gateway() {
	cat <<EOF
[gateway]
listen = 127.0.0.1:$1
cert = $CERTS/gateway.pem
key = $CERTS/gateway.key
client_ca = $CERTS/ca.pem
EOF
	if [ -n "${3:-}" ]; then
		echo "$3"
	fi
	cat <<EOF
max_frame = 1048576
max_sessions = $2
max_sessions_per_principal = $2
max_sessions_per_address = $2
$RUN_AS_ROOT
[upstream]
address = 127.0.0.1:$ECHO_PORT
server_name = localhost
ca = $CERTS/ca.pem
cert = $CERTS/upstream.pem
key = $CERTS/upstream.key
EOF
}

# conf_audit DIR ORIGIN: a blank line and [audit], signed with audit.key.
conf_audit() {
	cat <<EOF

[audit]
dir = $1
signing_key = $CERTS/audit.key
origin = $2
EOF
}

# conf_principal: a blank line and the registrar (registrar.pem, clID
# registrar1, role requester).
conf_principal() {
	cat <<EOF

[principal registrar]
cert = $CERTS/registrar.pem
clids = registrar1
roles = requester
EOF
}

# The repetitions of the measured cells, interleaved:
#
#   while next_rep 60; do
#       for t in $(rep_order direct gateway); do
#           progress 'target %-7s' "$t"
#           run_load "$t"
#       done
#   done
#
# next_rep WIDTH: on to the next repetition, REP (1 .. REPS); after the
# last one blank the progress line (WIDTH columns, if stderr is a terminal)
# and fail.
next_rep() {
	REP=$((REP + 1))
	[ "$REP" -le "$REPS" ] && return 0
	if [ -t 2 ]; then
		printf "\r%${1}s\r" "" >&2
	fi
	return 1
}

# rep_order TARGET...: the targets in the order of repetition REP, as
# given in odd repetitions and reversed in even ones (direct, 1w, 2w / 2w,
# 1w, direct ...), so that drift on a shared box hits them all alike.
rep_order() {
	if [ $((REP % 2)) = 1 ]; then
		echo "$*"
		return 0
	fi
	_order=""
	for _t in "$@"; do
		_order="$_t${_order:+ $_order}"
	done
	echo "$_order"
}

# progress FORMAT ARG...: "ME: repetition REP/REPS, " and FORMAT (printf)
# on stderr if it is a terminal, from the start of the line, so that the
# next one overwrites it.
progress() {
	[ -t 2 ] || return 0
	_fmt=$1
	shift
	# shellcheck disable=SC2059 # the format is the caller's
	printf "\r%s: repetition %d/%d, $_fmt" "$ME" "$REP" "$REPS" "$@" >&2
}

# load_run PORT SESSIONS ARG...: one measured epp-load run, SESSIONS
# sessions to 127.0.0.1:PORT as the registrar, SECS seconds after WARM of
# warm-up, with ARG... (commands, --pid, --label, -q); its result line is
# appended to OUT/results.txt, its messages to OUT/load.log.
load_run() {
	_port=$1 _sessions=$2
	shift 2
	"$LOAD" -c "127.0.0.1:$_port" -n "$_sessions" -t "$SECS" -w "$WARM" \
	    --cert "$CERTS/registrar.pem" --key "$CERTS/registrar.key" \
	    --ca "$CERTS/ca.pem" "$@" >>"$OUT/results.txt" 2>>"$OUT/load.log"
}

# median_of KEY FIELD...: the median of KEY=value over the lines of
# OUT/results.txt whose first fields are FIELD... (e.g. target=direct
# sessions=16); NA values do not count; NA if there are none.
median_of() {
	awk -v sel="$*" '
	BEGIN { nsel = split(sel, want, " ") - 1; k = want[1] }
	{
		for (i = 1; i <= nsel; i++)
			if ($i != want[i + 1])
				next
		for (i = nsel + 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == k && kv[2] != "NA")
				v[n++] = kv[2] + 0
		}
	}
	END {
		if (n == 0) { print "NA"; exit }
		for (i = 1; i < n; i++)		# insertion sort: n is tiny
			for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
				x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
			}
		print (n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2)
	}' "$OUT/results.txt"
}

# total KEY: the sum of KEY=value over all of OUT/results.txt.
total() {
	awk -v k="$1" '{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == k)
				sum += kv[2]
		}
	} END { print sum + 0 }' "$OUT/results.txt"
}

# ratio A B: A/B with two decimals, or "-"
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "NA" || b == "NA" || b == 0) print "-"
		else printf "%.2f\n", a / b }'
}

# rss_kb PID [tree]: KiB of VmRSS of PID, plus its children's with "tree".
rss_kb() {
	if [ "${2:-}" = tree ]; then
		ps -o rss= -p "$1" --ppid "$1" | awk '{ s += $1 } END { print s + 0 }'
	else
		awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
	fi
}

# idle_rss PORT PID TREE HOLD: IDLE logged-in idle sessions to PORT, held
# at most HOLD seconds; sets RSS_BEFORE and RSS_HELD (KiB, rss_kb PID TREE)
# from before they are opened and while they are held; 1 if they could not
# be opened.  Not to be run in a subshell, so the exit trap can still stop
# IDLE_PID.
idle_rss() {
	# A few sessions first so that one-time allocations (TLS contexts and
	# session caches, upstream state, pools, lazily built tables) land in
	# the baseline.
	"$LOAD" -c "127.0.0.1:$1" --idle 8 --hold 0 --cert \
	    "$CERTS/registrar.pem" --key "$CERTS/registrar.key" \
	    --ca "$CERTS/ca.pem" -q >/dev/null 2>>"$OUT/load.log" || return 1
	sleep 0.5
	RSS_BEFORE=$(rss_kb "$2" "$3")
	: > "$OUT/idle.out"
	"$LOAD" -c "127.0.0.1:$1" --idle "$IDLE" --hold "$4" --cert \
	    "$CERTS/registrar.pem" --key "$CERTS/registrar.key" \
	    --ca "$CERTS/ca.pem" -q >"$OUT/idle.out" 2>>"$OUT/load.log" &
	IDLE_PID=$!
	i=0
	until grep -q '^ready' "$OUT/idle.out"; do
		if ! kill -0 "$IDLE_PID" 2>/dev/null ||
		    [ $i -ge $(($4 * 20)) ]; then
			stop_pid "$IDLE_PID"
			IDLE_PID=""
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	# Let the last logins' replies drain through before sampling.
	sleep 0.5
	RSS_HELD=$(rss_kb "$2" "$3")
	stop_pid "$IDLE_PID"
	IDLE_PID=""
}

# fs_type DIR: the type of the file system DIR is on.
fs_type() {
	df -T "$1" | awk 'NR == 2 { print $2 }'
}

# verify_audit LABEL DIR: "LABEL: " and the last line of eppgw-audit verify
# of the audit log in DIR (the dev key's audit.pub), when BUILD_DIR has
# eppgw-audit; a failure is its output, not an exit.
verify_audit() {
	[ -x "$BUILD/eppgw-audit" ] || return 0
	printf '%s: ' "$1"
	"$BUILD/eppgw-audit" verify --vkey "$CERTS/audit.pub" "$2" \
	    2>/dev/null | tail -n 1 || true
}
