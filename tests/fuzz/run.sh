#!/bin/sh
# Run each libFuzzer harness for a bounded time on a seed corpus made from
# the shared EPP corpus and our own test inputs, and, for fuzz_epp,
# adversarial commands at and over the parse limits (adversarial-seeds.pl).
# Exit non-zero on a crash.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -eu
build=$1
secs=${2:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${EPPGW_CORPUS:-$top/../shared/corpus/epp-samples}
work=$build/fuzz-work
mkdir -p "$work/seed-epp" "$work/seed-frame" "$work/new-epp" "$work/new-frame"

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

rc=0
for h in frame epp; do
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
