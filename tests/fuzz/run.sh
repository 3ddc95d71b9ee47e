#!/bin/sh
# Run each libFuzzer harness for a bounded time on a seed corpus made from
# the shared EPP corpus and our own test inputs, and, for fuzz_epp,
# adversarial commands at and over the parse limits (adversarial-seeds.pl);
# fuzz_jcanon starts from audit record bodies written below.
# Exit non-zero on a crash.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -eu
build=$1
secs=${2:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${EPPGW_CORPUS:-$top/../shared/corpus/epp-samples}
work=$build/fuzz-work
mkdir -p "$work/seed-epp" "$work/seed-frame" "$work/new-epp" "$work/new-frame" \
    "$work/new-jcanon"

# XML seeds: every corpus frame and the benchmark command.
find "$corpus" -name '*.xml' -exec cp {} "$work/seed-epp/" \; 2>/dev/null || true
cp "$top/tests/bench/cmd-1500.xml" "$work/seed-epp/"
# Adversarial seeds, written afresh so they follow the limits in epp.c.
rm -rf "$work/seed-adv"
perl "$top/tests/fuzz/adversarial-seeds.pl" "$top/policy/epp.c" \
    "$work/seed-adv"
# Frame seeds: the same XML with an RFC 5734 header, two frames per file.
for f in "$work"/seed-epp/*.xml; do
	perl -e 'local $/; my $x = <STDIN>;
	    print chr(7), pack("N", length($x) + 4), $x,
	    pack("N", length($x) + 4), $x;' < "$f" > "$work/seed-frame/$(basename "$f").bin"
done

# Record bodies for fuzz_jcanon: canonical ones at the rules' edges (the
# number limits, a prefix key, escapes, multi-byte UTF-8, nesting) and a
# few near misses.
rm -rf "$work/seed-jcanon"
mkdir -p "$work/seed-jcanon"
n=0
for b in '{}' '{"a":1}' '{"":0,"a":-1,"ab":[],"b":{}}' \
    '{"max":9223372036854775807,"min":-9223372036854775808}' \
    '{"a":true,"b":false,"c":null,"d":[1,[2,[3,{"e":"f"}]]]}' \
    '{"cmd":"domain:create","req":"abc-123","sess":42,"t":"cmd"}' \
    '{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{}}}}}}}}}' \
    '{"a":1,"a":2}' '{"b":1,"a":2}' '{"a":-0}' '{"a":01}' '{"a":1.5}' \
    '{"a": 1}' '{"\u0061":1}' '{"a":9223372036854775808}' \
    '{"a":-9223372036854775809}'; do
	n=$((n + 1))
	printf '%s' "$b" > "$work/seed-jcanon/$n.json"
done
# (printf's format: \\ is one backslash, \ooo one byte.)
printf '{"a":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u00e9"}' \
    > "$work/seed-jcanon/esc.json"
printf '{"a":"\\ud83d\\ude00\\udbff\\udfff"}' > "$work/seed-jcanon/sur.json"
printf '{"a":"\\ud83d","b":"\\ude00","c":"\\u0000"}' \
    > "$work/seed-jcanon/bad-esc.json"
printf '{"z":"\177","\303\251":"\337\277\340\240\200\357\277\277",'\
'"\360\237\230\200":"\364\217\277\277"}' > "$work/seed-jcanon/utf8.json"
printf '{"a":"\300\200\355\240\200\364\220\200\200"}' \
    > "$work/seed-jcanon/bad-utf8.json"
# Nesting at JCANON_MAX_DEPTH (32 levels, a scalar being one) and past it.
for d in 30 31 32; do
	perl -e 'print "{\"a\":" x $ARGV[0], "1", "}" x $ARGV[0]' $d \
	    > "$work/seed-jcanon/deep$d.json"
	perl -e 'print "{\"a\":" x $ARGV[0], "{}", "}" x $ARGV[0]' $d \
	    > "$work/seed-jcanon/deep$d-empty.json"
done

rc=0
for h in frame epp jcanon; do
	# Only fuzz_epp reads bare XML: the frame seeds carry a header.
	extra=
	if [ "$h" = epp ]; then
		extra=$work/seed-adv
	fi
	echo "fuzz: $h for ${secs}s"
	"$build/fuzz_$h" -max_total_time="$secs" -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$work/crash-$h-" \
	    "$work/new-$h" "$work/seed-$h" ${extra:+"$extra"} \
	    > "$work/$h.log" 2>&1 || rc=1
	tail -n 12 "$work/$h.log" | grep -E "stat::number_of_executed_units|Done|ERROR|SUMMARY" || true
	if [ $rc -ne 0 ]; then
		echo "fuzz: $h FAILED; see $work/$h.log and $work/crash-$h-*" >&2
		tail -n 40 "$work/$h.log" >&2
		exit 1
	fi
done
echo "fuzz: no crash"
