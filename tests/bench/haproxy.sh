#!/bin/sh
# eppgw against HAProxy (issue #12): the same stub registry (epp-echo) reached
# three ways in one interleaved run, driven by epp-load:
#
#   direct   epp-load -> epp-echo (TLS, client certificate)
#   haproxy  epp-load -> HAProxy -> epp-echo: Debian's haproxy package as a
#            plain TLS relay, `mode tcp`, `nbthread 2`; it terminates TLS with
#            the gateway's dev certificate and verifies the client certificate
#            against the dev CA (mTLS, as eppgw does), and re-encrypts to
#            epp-echo with the gateway's upstream client certificate,
#            verifying epp-echo's certificate and name; no logging
#   eppgw    epp-load -> eppgw -> epp-echo: default workers (one per core),
#            audit log on, on BUILD_DIR's file system (audit-on-off.sh's "on");
#            no lock list and no watch session, so every command is parsed,
#            validated, judged, recorded and forwarded; its own log at info
#
#   tests/bench/haproxy.sh BUILD_DIR
#   (needs BUILD_DIR/eppgw, epp-load, epp-echo, certs/dev and haproxy: e.g.
#    make BUILD=build/x all build/x/epp-load build/x/epp-echo certs;
#    apt-get install haproxy.  Without haproxy the script says so and exits 0.)
#
# What is measured, per cell (medians over the repetitions):
# - commands/s with 1, 16 and 256 logged-in sessions (one command in flight
#   per session), for two mixes: read-only (domain:info and domain:check in
#   turn, tests/bench/cmd-info.xml, cmd-check.xml) and mutating (two
#   domain:updates of the unlocked open.example in turn: NS, contact and DS
#   in tests/bench/cmd-1500.xml, status in cmd-update-status.xml); the
#   stub answers every command 1000 with a 1500-byte reply;
# - new connections/s (epp-load --churn, BENCH_CONN_SESSIONS loops in
#   parallel): connect, full TLS handshake (no resumption), greeting, login,
#   logout, close; for a relay that is two handshakes (both legs);
# - p50/p99 latency of a command (of a whole connection for churn);
# - CPU per command (connection) of the relay: HAProxy's process (all its
#   threads), eppgw's parent and all its children (workers, audit writer,
#   vault, alerter, watch): utime + stime from /proc/PID/stat, read by epp-load
#   at the start and end of the measured phase;
# - context switches per command (connection) of the relay, at the same
#   moments: voluntary + nonvoluntary from /proc/PID/task/TID/status summed
#   over every thread of the process and of its children (/proc/PID/status
#   alone counts one thread);
# - RSS per idle session: fresh relays, BENCH_IDLE logged-in idle sessions
#   (each also holds its upstream connection), VmRSS before and while they
#   are held; for eppgw summed over the parent and its children.
# Targets are interleaved within each repetition and the order flips every
# other repetition (direct, haproxy, eppgw / eppgw, haproxy, direct), so drift
# on a shared box hits all alike.  epp-load and epp-echo share the machine
# with the relay.
#
# Debian's haproxy package starts and enables haproxy.service on install.
# This script never uses it (it runs its own haproxy in the foreground on its
# own port, stopped on exit); if that service is running with the package's
# stock configuration (no `bind` line, so it serves nothing), the script, as
# root, stops and disables it so that no haproxy is left running; a system
# haproxy with listeners of its own is left alone (noted).
#
# Knobs (environment): BENCH_REPS (3), BENCH_SECONDS (3), BENCH_WARMUP (1),
# BENCH_SESSIONS ("1 16 256"), BENCH_CONN_SESSIONS (16), BENCH_IDLE (1000),
# BENCH_GW_PORT (17300: eppgw; +1: haproxy), BENCH_ECHO_PORT (18000),
# BENCH_HAPROXY (the haproxy binary; default: haproxy in PATH or
# /usr/sbin/haproxy), BENCH_AUDIT_VERIFY (1: eppgw-audit verify the log at
# the end).  Logs, configurations, the audit log and raw results stay in
# BUILD_DIR/bench-haproxy/ until the next run.
set -eu

ME=haproxy-bench
PID_VARS="IDLE_PID GW_PID HAP_PID ECHO_PID"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$BUILD/bench-haproxy

SESSIONS=${BENCH_SESSIONS:-"1 16 256"}
CONN_SESSIONS=${BENCH_CONN_SESSIONS:-16}
IDLE=${BENCH_IDLE:-1000}
# 17300-17399 and 18000: clear of the demo (7000-7003, 7700), run.sh
# (17000/17700), audit-on-off.sh (17100/17800) and workers.sh (17200/17900).
GW_PORT=${BENCH_GW_PORT:-17300}
HAP_PORT=$((GW_PORT + 1))
ECHO_PORT=${BENCH_ECHO_PORT:-18000}
MIXES="read-only mutating"
# The most sessions a relay holds at once, and a margin.
CAP=$((IDLE + 1024))

AUDIT_DIR=$OUT/audit
GW_PID=""
HAP_PID=""
FAILED=0

# --- haproxy present? ----------------------------------------------------

HAPROXY=${BENCH_HAPROXY:-}
if [ -z "$HAPROXY" ]; then
	HAPROXY=$(command -v haproxy 2>/dev/null || true)
	if [ -z "$HAPROXY" ] && [ -x /usr/sbin/haproxy ]; then
		HAPROXY=/usr/sbin/haproxy
	fi
fi
if [ -z "$HAPROXY" ] || [ ! -x "$HAPROXY" ]; then
	echo "haproxy-bench: haproxy is not installed: eppgw vs HAProxy" \
	    "skipped (not a failure)."
	echo "haproxy-bench: \`make bench\` installs it (scripts/deps.sh" \
	    "bench), or: apt-get install haproxy"
	exit 0
fi

need_files "$LOAD" "$ECHO" "$GW" "$CERTS/ca.pem" "$CERTS/regsim.pem" \
    "$CERTS/registrar.pem" "$CERTS/gateway.pem" "$CERTS/gateway.key" \
    "$CERTS/upstream.pem" "$CERTS/upstream.key" "$CERTS/audit.key" \
    "$BENCHDIR/cmd-info.xml" "$BENCHDIR/cmd-check.xml" \
    "$BENCHDIR/cmd-1500.xml" "$BENCHDIR/cmd-update-status.xml"

# Debian's haproxy.service (or its init script) runs /etc/haproxy/haproxy.cfg
# with its pid in /run/haproxy.pid.  Stop and disable it when it runs the
# stock configuration that serves nothing; leave a configured one alone.
system_haproxy() {
	running=0
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
	then
		systemctl is-active --quiet haproxy 2>/dev/null && running=1
	fi
	if [ -s /run/haproxy.pid ] &&
	    kill -0 "$(head -n 1 /run/haproxy.pid)" 2>/dev/null; then
		running=1
	fi
	[ "$running" = 1 ] || return 0
	if grep -Eq '^[[:space:]]*bind[[:space:]]' /etc/haproxy/haproxy.cfg \
	    2>/dev/null; then
		echo "haproxy-bench: note: a system haproxy (haproxy.service)" \
		    "runs with listeners of its own: left alone; this bench" \
		    "runs its own instance on port $HAP_PORT"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "haproxy-bench: note: Debian's haproxy.service runs (stock" \
		    "configuration, serves nothing); not root, so it stays:" \
		    "systemctl disable --now haproxy"
		return 0
	fi
	echo "haproxy-bench: stopping and disabling Debian's haproxy.service" \
	    "(started by the package install, stock configuration, serves" \
	    "nothing; this bench runs its own haproxy)"
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
	then
		systemctl disable --now haproxy >/dev/null 2>&1 || true
	else
		# Not invoke-rc.d: a policy-rc.d (containers) makes it a no-op.
		/etc/init.d/haproxy stop >/dev/null 2>&1 || true
		update-rc.d haproxy disable >/dev/null 2>&1 || true
	fi
	if [ -s /run/haproxy.pid ] &&
	    kill -0 "$(head -n 1 /run/haproxy.pid)" 2>/dev/null; then
		echo "haproxy-bench: note: the system haproxy still runs" \
		    "(pid $(head -n 1 /run/haproxy.pid))"
	fi
}

write_gateway_conf() {
	{
		echo "# Generated by tests/bench/haproxy.sh: eppgw in front of" \
		    "epp-echo, default"
		echo "# workers (one per core), audit on."
		conf_gateway "$GW_PORT" "$CAP"
		conf_audit "$AUDIT_DIR" eppgw/bench-haproxy
		conf_principal
	} > "$OUT/eppgw.conf"
}

# HAProxy wants certificate and key in one file.
write_haproxy_conf() {
	(umask 077
	 cat "$CERTS/gateway.pem" "$CERTS/gateway.key" > "$OUT/haproxy-front.pem"
	 cat "$CERTS/upstream.pem" "$CERTS/upstream.key" \
	     > "$OUT/haproxy-back.pem")
	cat > "$OUT/haproxy.cfg" <<EOF
# Generated by tests/bench/haproxy.sh: a plain TLS relay in front of
# epp-echo, mutual TLS on both legs, as eppgw is configured.
global
	nbthread 2
	maxconn $CAP
	ssl-server-verify required

defaults
	mode tcp
	timeout connect 5s
	timeout client 10m
	timeout server 10m

frontend epp
	bind 127.0.0.1:$HAP_PORT ssl crt $OUT/haproxy-front.pem ca-file $CERTS/ca.pem verify required
	default_backend registry

backend registry
	server echo 127.0.0.1:$ECHO_PORT ssl crt $OUT/haproxy-back.pem ca-file $CERTS/ca.pem verify required verifyhost localhost sni str(localhost)
EOF
}

start_gateway() {
	start_gw eppgw "$OUT/eppgw.conf" "$OUT/eppgw.log" "$GW_PORT"
	GW_PID=$GW_STARTED
}

# -db: foreground, no daemon, one process (the threads are in it).
start_haproxy() {
	check_port_free "$HAP_PORT"
	"$HAPROXY" -db -f "$OUT/haproxy.cfg" >>"$OUT/haproxy.log" 2>&1 &
	HAP_PID=$!
	wait_started haproxy "$HAP_PORT" "$HAP_PID" "$OUT/haproxy.log"
}

relays_alive() {
	if [ -n "$GW_PID" ]; then
		alive_or_die eppgw "$GW_PID" "$OUT/eppgw.log"
	fi
	if [ -n "$HAP_PID" ]; then
		alive_or_die haproxy "$HAP_PID" "$OUT/haproxy.log"
	fi
}

# One epp-load run: TARGET (direct|haproxy|eppgw) MIX (read-only|mutating|
# connect) SESSIONS; appends its line to results.txt.
run_load() {
	case $1 in
	direct)	port=$ECHO_PORT pids="--pid echo=$ECHO_PID" ;;
	haproxy) port=$HAP_PORT
		pids="--pid relay=$HAP_PID --pid echo=$ECHO_PID" ;;
	eppgw)	port=$GW_PORT pids="--pid relay=$GW_PID --pid echo=$ECHO_PID" ;;
	esac
	case $2 in
	read-only) work="--cmd $BENCHDIR/cmd-info.xml --cmd $BENCHDIR/cmd-check.xml" ;;
	mutating) work="--cmd $BENCHDIR/cmd-1500.xml --cmd $BENCHDIR/cmd-update-status.xml" ;;
	connect) work="--churn" ;;
	esac
	# shellcheck disable=SC2086 # $pids and $work are several words on purpose
	if ! load_run "$port" "$3" $work $pids --label "target=$1 mix=$2" -q
	then
		echo "haproxy-bench: epp-load failed: $1, $2, $3 sessions (see" \
		    "$OUT/load.log)" >&2
		FAILED=1
	fi
	relays_alive
}

# median TARGET MIX SESSIONS KEY
median() {
	median_of "$4" "target=$1" "mix=$2" "sessions=$3"
}

ROW_FMT='%-9s %5s  %-8s %8s %8s %6s %8s %8s %9s %9s %8s %5s\n'

# print_row MIX SESSIONS TARGET DIRECT_RATE HAPROXY_RATE
print_row() {
	if [ "$1" = connect ]; then u=conn; else u=cmd; fi
	r=$(median "$3" "$1" "$2" "${u}s_per_s")
	cpu=NA csw=NA gh=""
	if [ "$3" != direct ]; then
		cpu=$(median "$3" "$1" "$2" "relay_cpu_us_per_$u")
		csw=$(median "$3" "$1" "$2" "relay_csw_per_$u")
	fi
	if [ "$3" = eppgw ]; then
		gh=$(ratio "$r" "$5")
	fi
	xd=""
	[ "$3" = direct ] || xd=$(ratio "$r" "$4")
	awk -v fmt="$ROW_FMT" -v mix="$1" -v n="$2" -v t="$3" -v r="$r" \
	    -v xd="$xd" -v gh="$gh" \
	    -v p50="$(median "$3" "$1" "$2" p50_us)" \
	    -v p99="$(median "$3" "$1" "$2" p99_us)" -v cpu="$cpu" \
	    -v csw="$csw" -v ec="$(median "$3" "$1" "$2" "echo_cpu_us_per_$u")" \
	    -v busy="$(median "$3" "$1" "$2" busy_pct)" '
	function num(v, f) { return v == "NA" ? "-" : sprintf(f, v) }
	BEGIN {
		printf fmt, mix, n, t, num(r, "%.0f"), xd, gh,
		    num(p50, "%.0f"), num(p99, "%.0f"), num(cpu, "%.1f"),
		    num(csw, "%.2f"), num(ec, "%.1f"), num(busy, "%.0f")
	}'
}

print_table() {
	echo
	# shellcheck disable=SC2059 # the format is ours
	printf "$ROW_FMT" mix sess target "ops/s" x_direct gw/hap p50_us \
	    p99_us relay_cpu relay_csw echo_cpu busy
	# shellcheck disable=SC2059
	printf "$ROW_FMT" "" "" "" "" "" "" "" "" "us/op" "per op" "us/op" "%"
	for m in $MIXES connect; do
		if [ "$m" = connect ]; then
			list=$CONN_SESSIONS u=conn
		else
			list=$SESSIONS u=cmd
		fi
		for n in $list; do
			d=$(median direct "$m" "$n" "${u}s_per_s")
			h=$(median haproxy "$m" "$n" "${u}s_per_s")
			for t in direct haproxy eppgw; do
				print_row "$m" "$n" "$t" "$d" "$h"
			done
		done
	done
	echo "(ops are commands; for mix \"connect\" whole connections, sess =" \
	    "loops in parallel; x_direct and gw/hap compare ops/s; relay_csw:" \
	    "context switches)"
	printf 'bad responses: %s, session errors: %s (all runs)\n' \
	    "$(total bad)" "$(total errors)"
}

nprocs() {
	ps -o pid= -p "$1" --ppid "$1" | awk 'END { print NR }'
}

# print_rss NAME PROCESSES: one line, and per-session KiB in RSS_PER
print_rss() {
	RSS_PER=$(awk -v b="$RSS_BEFORE" -v h="$RSS_HELD" -v n="$IDLE" \
	    'BEGIN { printf "%.1f\n", (h - b) / n }')
	printf '%-8s RSS %6d KiB idle, %6d KiB with %d idle sessions (%s):' \
	    "$1" "$RSS_BEFORE" "$RSS_HELD" "$IDLE" "$2"
	printf ' %s KiB per idle session\n' "$RSS_PER"
}

# --- main ---------------------------------------------------------------

raise_fd_limit $((2 * CAP + 512)) "$IDLE idle sessions"
new_out
system_haproxy

probe_run_as_root "$OUT/eppgw.conf" write_gateway_conf
write_gateway_conf
accepted "$OUT/eppgw.check" "$GW rejects $OUT/eppgw.conf" \
    "$GW" -t -f "$OUT/eppgw.conf"
write_haproxy_conf
accepted "$OUT/haproxy.check" "haproxy rejects $OUT/haproxy.cfg" \
    "$HAPROXY" -c -q -f "$OUT/haproxy.cfg"

echo "eppgw vs HAProxy: $(nproc) CPUs, $("$HAPROXY" -v | awk 'NR == 1 {
    print $1, $3 }') (nbthread 2), eppgw default workers, audit on in $OUT" \
    "($(fs_type "$OUT"))"
echo "$(openssl version | cut -d' ' -f1-2); $REPS repetitions x ${SECS}s" \
    "(+${WARM}s warm-up); sessions: $SESSIONS; new connections:" \
    "$CONN_SESSIONS in parallel; replies 1500 bytes; medians below"

start_echo
start_haproxy
start_gateway

while next_rep 70; do
	order=$(rep_order direct haproxy eppgw)
	for m in $MIXES connect; do
		if [ "$m" = connect ]; then list=$CONN_SESSIONS; else list=$SESSIONS; fi
		for n in $list; do
			for t in $order; do
				progress '%-9s %3s sessions, %-7s' "$m" "$n" "$t"
				run_load "$t" "$m" "$n"
			done
		done
	done
done
print_table

# A bare fdatasync on the audit log's file system, now that the runs are
# over (the mutating goal allows one on top of HAProxy's latency): of a
# write over zeros, as the log writes (the stricter figure), and, for the
# record, of an append.
FSYNC_P50=NA FSYNC_APPEND_P50=NA
if [ -x "$BUILD/audit-bench" ]; then
	# The runs left hundreds of MiB of log to write back: with them in
	# flight an fdatasync measured 4 ms instead of 0.1.
	sync
	fs=$("$BUILD/audit-bench" -F -d "$OUT" 2>/dev/null)
	FSYNC_P50=$(echo "$fs" | sed -n 's/^fdatasync_p50_us=//p')
	FSYNC_APPEND_P50=$(echo "$fs" | sed -n 's/^fdatasync_append_p50_us=//p')
	FSYNC_P50=${FSYNC_P50:-NA}
	FSYNC_APPEND_P50=${FSYNC_APPEND_P50:-NA}
fi

# Memory: fresh relays (and stub), so that buffers kept from the runs above
# do not absorb the idle sessions and understate them.
echo
stop_vars GW_PID HAP_PID ECHO_PID
start_echo
start_haproxy
HAP_RSS=NA
if idle_rss "$HAP_PORT" "$HAP_PID" one 120; then
	print_rss haproxy "1 process, 2 threads"
	HAP_RSS=$RSS_PER
else
	echo "haproxy-bench: idle sessions through haproxy failed (see" \
	    "$OUT/load.log, $OUT/haproxy.log)" >&2
	FAILED=1
fi
stop_vars HAP_PID ECHO_PID
start_echo
# A new, empty log: eppgw reads the whole existing log at start (tens of
# seconds for the one above), and a fresh log is what the baseline should hold.
AUDIT_DIR=$OUT/audit-idle
write_gateway_conf
start_gateway
GW_RSS=NA
if idle_rss "$GW_PORT" "$GW_PID" tree 120; then
	print_rss eppgw "$(nprocs "$GW_PID") processes"
	GW_RSS=$RSS_PER
else
	echo "haproxy-bench: idle sessions through eppgw failed (see" \
	    "$OUT/load.log, $OUT/eppgw.log)" >&2
	FAILED=1
fi
stop_vars GW_PID

# One line: eppgw/HAProxy throughput and CPU per op, per cell, and memory.
summary=""
cpus=""
for m in $MIXES connect; do
	if [ "$m" = connect ]; then
		list=$CONN_SESSIONS u=conn label=connect
	else
		list=$SESSIONS u=cmd label=$m
	fi
	cells="" cc=""
	for n in $list; do
		cells="$cells $(ratio "$(median eppgw "$m" "$n" "${u}s_per_s")" \
		    "$(median haproxy "$m" "$n" "${u}s_per_s")")@$n"
		cc="$cc $(ratio "$(median eppgw "$m" "$n" "relay_cpu_us_per_$u")" \
		    "$(median haproxy "$m" "$n" "relay_cpu_us_per_$u")")@$n"
	done
	summary="$summary${summary:+,} $label$cells"
	cpus="$cpus${cpus:+,} $label$cc"
done
echo
echo "eppgw/HAProxy (ratio@sessions): ops/s$summary; relay CPU per" \
    "op$cpus; RSS per idle session $GW_RSS/$HAP_RSS KiB"

# The goals of issue #12, each against its figure of this run: "met",
# "NOT met", or "NA" when a cell was not measured.
goal() {	# LABEL VALUE OP LIMIT
	v=$(awk -v a="$2" -v op="$3" -v b="$4" 'BEGIN {
		if (a == "NA" || b == "NA" || a == "" || b == "" || a == "-" ||
		    b == "-") { print "NA"; exit }
		ok = (op == ">=") ? (a + 0 >= b + 0) : (a + 0 <= b + 0)
		print (ok ? "met" : "NOT met") }')
	printf '  %-58s %s (%s %s %s)\n' "$1" "$v" "$2" "$3" "$4"
}
cell() {	# TARGET MIX SESSIONS KEY: the median, or NA
	median "$1" "$2" "$3" "$4"
}
plus() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA") print "NA";
	    else printf "%.0f", a + b }'
}
scaled() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA") print "NA";
	    else printf "%.1f", a * b }'
}
echo
echo "goals (issue #12), bare fdatasync p50 on the audit file system:" \
    "$FSYNC_P50 us over zeros as the log writes ($FSYNC_APPEND_P50 us" \
    "appending)"
for n in $SESSIONS; do
	want=1.0
	[ "$n" -lt 16 ] && want=0.8
	goal "read-only ops/s at $n sessions >= ${want}x HAProxy" \
	    "$(ratio "$(cell eppgw read-only "$n" cmds_per_s)" \
	    "$(cell haproxy read-only "$n" cmds_per_s)")" ">=" "$want"
done
n1=$(echo "$SESSIONS" | awk '{ print $1 }')
goal "mutating p50 at $n1 session(s) <= HAProxy p50 + fdatasync p50" \
    "$(cell eppgw mutating "$n1" p50_us)" "<=" \
    "$(plus "$(cell haproxy mutating "$n1" p50_us)" "$FSYNC_P50")"
nmax=$(echo "$SESSIONS" | awk '{ print $NF }')
goal "mutating ops/s at $nmax sessions >= 0.8x HAProxy" \
    "$(ratio "$(cell eppgw mutating "$nmax" cmds_per_s)" \
    "$(cell haproxy mutating "$nmax" cmds_per_s)")" ">=" 0.8
for m in $MIXES; do
	for n in $SESSIONS; do
		goal "$m relay CPU per command at $n <= 1.5x HAProxy's" \
		    "$(cell eppgw "$m" "$n" relay_cpu_us_per_cmd)" "<=" \
		    "$(scaled "$(cell haproxy "$m" "$n" relay_cpu_us_per_cmd)" 1.5)"
	done
done
goal "RSS per idle session < 70 KiB" "$GW_RSS" "<=" 70
goal "new connection CPU <= 1.2x HAProxy's" \
    "$(cell eppgw connect "$CONN_SESSIONS" relay_cpu_us_per_conn)" "<=" \
    "$(scaled "$(cell haproxy connect "$CONN_SESSIONS" relay_cpu_us_per_conn)" 1.2)"
# What eppgw wrote durably; verifying it (seconds per 100k records) is
# workers.sh's and audit-on-off.sh's job, or BENCH_AUDIT_VERIFY=1's.
printf 'audit log: %s MiB in %s\n' \
    "$(du -sm "$OUT/audit" | awk '{ print $1 }')" "$OUT/audit"
if [ "${BENCH_AUDIT_VERIFY:-0}" = 1 ]; then
	verify_audit 'audit log' "$OUT/audit"
fi
echo "raw results: $OUT/results.txt"
exit $FAILED
