#!/usr/bin/perl
# Issue #13 item 5: a proof for one record need not read the whole log.
# The writer leaves seg-N.leaves (the leaf hashes of a segment's lines)
# beside every segment it seals (rotation, shutdown), and prove takes them
# instead of hashing the other segments.  The index is a cache that no
# signature covers: the proof is the same byte for byte with and without
# it; an index that is corrupted, cut short or extended changes nothing
# but a warning (prove hashes the lines instead, exit 0; verify exit 2,
# never 1); a tampered segment still fails prove as before when it is the
# record's own segment (always hashed), an unindexed one, or one whose
# size changed.  A same-size alteration in another sealed segment is
# left to verify: the proof is still right.
#
#   EPPGW_BUILD=build prove -I tests/e2e/lib tests/e2e/78-audit-index.t
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use File::Spec;
use Test::More;
use Time::HiRes qw(sleep time);

use EppgwTest qw(:all);

my $VKEY = File::Spec->catfile(certs_dir(), 'audit.pub');
skip_without(built => [qw(eppgw eppgw-regsim eppgw-audit)]);

# eppgw-audit prove --seq SEQ --vkey VKEY ADIR: (exit code, stdout,
# stderr).
sub prove {
	my ($seq, $adir) = @_;
	return eppgw_audit('prove', '--seq', $seq, '--vkey', $VKEY, $adir);
}

# spew(), also over a file written read-only (an index is).
sub spew_rw {
	my ($f, $s) = @_;
	chmod(0640, $f) if -e $f;
	return spew($f, $s);
}

sub index_of {
	my ($seg) = @_;
	(my $i = $seg) =~ s/\.jsonl$/.leaves/;
	return $i;
}

sub first_seq { return 0 + ($_[0] =~ /seg-(\d+)\./)[0] }

# ---- a gateway whose log rotates every 64 KiB ----
my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, audit => { segment_max => 65536 });
my $adir = $gw->{audit_dir};
my $e = epp_client(port => $gw->{port}) or BAIL_OUT('login');
my ($sent, $ok) = (0, 0);
while (audit_segments($adir) < 4 && $sent < 2000) {
	my $doc = epp_raw($e, epp_command(info_domain('open.example'),
	    'IDX-' . ++$sent));
	$ok++ if (result_code($doc) // 0) == 1000;
}
is($ok, $sent, "$sent commands through the gateway");
my @segs = audit_segments($adir);
cmp_ok(scalar(@segs), '>=', 4, scalar(@segs) . ' segments');

# While it runs: every sealed segment has its index (written by a thread
# of its own, a moment after the seal), the open one has none.
my $deadline = time + 5;
sleep(0.1) while time < $deadline
    && grep { !-e "$adir/" . index_of($_) } @segs[0 .. $#segs - 1];
for my $s (@segs[0 .. $#segs - 1]) {
	ok(-e "$adir/" . index_of($s), "sealed $s has " . index_of($s));
}
ok(!-e "$adir/" . index_of($segs[-1]), "the open $segs[-1] has no index");
{
	my $s = $segs[0];
	my $n = () = slurp("$adir/$s") =~ /\n/g;
	is(-s "$adir/" . index_of($s), 40 + 32 * $n,
	    "its size: a 40-byte header and 32 bytes for each of its $n lines");
	is(substr(slurp("$adir/" . index_of($s)), 0, 16), "eppgw-leaves v1\n",
	    'it starts with its magic');
}
# A proof on the live log, from the sealed first segment.
my ($rc, $out, $err) = prove(3, $adir);
is($rc, 0, 'prove --seq 3 on the live log: exit 0') or diag($err);
is($err, '', 'no warning') or diag($err);

epp_close($e);
is(stop_gateway($gw), 0, 'the gateway stops cleanly');
@segs = audit_segments($adir);
ok(-e "$adir/" . index_of($segs[-1]), "at shutdown the last segment "
    . "$segs[-1] got its index too");
($rc, $out, $err) = eppgw_audit('verify', '--require-sealed', '--vkey', $VKEY,
    $adir);
is($rc, 0, 'verify: exit 0, the indexes match their segments')
    or diag($out . $err);

# ---- the same proofs with and without the indexes ----
my $bare = run_dir() . '/bare';
remove_tree($bare);
make_path("$bare/checkpoints");
for my $f (glob("$adir/*"), glob("$adir/checkpoints/*")) {
	next if -d $f || $f =~ /\.leaves$/;
	(my $rel = $f) =~ s{^\Q$adir\E/}{};
	copy($f, "$bare/$rel") or die "copy $f: $!";
}
my @left = glob("$bare/*.leaves");
is(scalar(@left), 0, 'a copy of the log without them');
my $last = first_seq($segs[-1]);
my $total = $last + (() = slurp("$adir/$segs[-1]") =~ /\n/g);
my @seqs = (0, 3, first_seq($segs[1]) + 2, $last - 1, $last + 1, $total - 1);
my %proof;
for my $seq (@seqs) {
	my ($r1, $o1, $e1) = prove($seq, $adir);
	my ($r2, $o2, $e2) = prove($seq, $bare);
	is($r1, 0, "prove --seq $seq with the indexes: exit 0") or diag($e1);
	is($e1, '', '  and no warning') or diag($e1);
	is($r2, 0, "  without them: exit 0") or diag($e2);
	ok($o1 ne '' && $o1 eq $o2, '  byte for byte the same proof');
	$proof{$seq} = $o1;
}
{
	my $p = run_dir() . '/p.proof';
	spew_rw($p, $proof{3});
	($rc, $out, $err) = eppgw_audit('verify-proof', '--vkey', $VKEY, $p);
	is($rc, 0, 'verify-proof accepts it') or diag($err);
	like($out, qr/"seq":3,/, 'the record of seq 3');
}
($rc, $out, $err) = prove($total, $adir);
is($rc, 1, "prove --seq $total (no such record yet): exit 1, as before")
    or diag($err);
like($err, qr/not covered/, '  not covered by the latest checkpoint');

# ---- a bad index: the proof is the same, with a warning ----
my $idx = "$adir/" . index_of($segs[1]);
my $orig = slurp($idx);
my $seq = first_seq($segs[2]) + 1;	# proved from another segment
my @bad = (
    ['a flipped byte in a leaf', sub {
	my $b = $orig;
	substr($b, 40 + 32 * 3 + 7, 1) ^= "\x01";
	return $b }, qr/does not match/],
    ['a flipped byte in the header', sub {
	my $b = $orig;
	substr($b, 16 + 7, 1) ^= "\x01";	# the first seq
	return $b }, qr/describes another segment/],
    ['cut short by one leaf', sub { substr($orig, 0, -32) },
	qr/not the \d+ leaves its header says/],
    ['extended by one leaf', sub { $orig . ("\0" x 32) },
	qr/not the \d+ leaves its header says/],
    ['empty', sub { '' }, qr/not a leaf index/],
);
for my $case (@bad) {
	my ($what, $make, $re) = @$case;
	spew_rw($idx, $make->());
	for my $s ($seq, first_seq($segs[1]) + 1) {
		($rc, $out, $err) = prove($s, $adir);
		is($rc, 0, "index $what: prove --seq $s exit 0") or diag($err);
		my ($r2, $o2) = prove($s, $bare);
		ok($out ne '' && $out eq $o2, '  the same proof as without '
		    . 'indexes');
		like($err, qr/warning: .*\Q@{[index_of($segs[1])]}\E/,
		    '  a warning names the index') or diag($err);
		like($err, $re, '  and says what is wrong with it')
		    or diag($err);
	}
	($rc, $out, $err) = eppgw_audit('verify', '--vkey', $VKEY, $adir);
	is($rc, 2, "index $what: verify exit 2 (a warning, not tampering)")
	    or diag($out . $err);
	like($err, qr/warning: \Q$segs[1]\E: the leaf index does not match/,
	    '  it names the segment') or diag($err);
}
spew_rw($idx, $orig);
chmod(0440, $idx);
($rc, $out, $err) = eppgw_audit('verify', '--require-sealed', '--vkey', $VKEY,
    $adir);
is($rc, 0, 'the index put back: verify exit 0') or diag($out . $err);

# An index planted for the wrong segment (seg 2's under seg 1's name).
spew_rw($idx, slurp("$adir/" . index_of($segs[2])));
($rc, $out, $err) = prove($seq, $adir);
is($rc, 0, 'another segment\'s index under its name: exit 0');
my (undef, $want) = prove($seq, $bare);
ok($out ne '' && $out eq $want, '  the same proof');
like($err, qr/describes another segment/, '  with a warning') or diag($err);
spew_rw($idx, $orig);
chmod(0440, $idx);

# ---- a tampered segment still fails prove ----
sub tamper_line {
	my ($seg, $s, $from, $to) = @_;
	my $path = "$adir/$seg";
	my $text = slurp($path);
	my $i = $s - first_seq($seg);
	my @l = split /\n/, $text, -1;
	$l[$i] =~ s/\Q$from\E/$to/ or die "no $from in line $i of $seg";
	chmod(0640, $path);
	spew_rw($path, join("\n", @l));
	return $text;
}
{
	# The record's own line, same length, in a sealed, indexed segment.
	my $s = first_seq($segs[1]) + 2;
	my $line = (split /\n/, slurp("$adir/$segs[1]"))[2];
	my ($trid) = $line =~ /"cltrid":"(IDX-\d+)"/;
	SKIP: {
		skip("seq $s is not a command", 4) unless $trid;
		(my $fake = $trid) =~ tr/0-9/1-90/;
		my $saved = tamper_line($segs[1], $s, $trid, $fake);
		($rc, $out, $err) = prove($s, $adir);
		is($rc, 1, "seq $s altered in its indexed segment: prove "
		    . 'exit 1, as before') or diag($err);
		is($out, '', '  no proof');
		like($err, qr/\Q$segs[1]\E:\d+ \(seq \d+\): /,
		    '  the failure, located') or diag($err);
		spew_rw("$adir/$segs[1]", $saved);
		($rc) = prove($s, $adir);
		is($rc, 0, '  put back: exit 0');
	}
}
{
	# Another line of the record's own segment, same length: that
	# segment is always hashed, so this fails as before.
	my $s = first_seq($segs[1]) + 2;
	my @l = split /\n/, slurp("$adir/$segs[1]");
	my ($k) = grep { $l[$_] =~ /"cltrid":"IDX-\d+"/ } 4 .. $#l;
	my ($trid) = defined $k ? $l[$k] =~ /"cltrid":"(IDX-\d+)"/ : ();
	SKIP: {
		skip("no command in $segs[1]", 5) unless $trid;
		(my $fake = $trid) =~ tr/0-9/1-90/;
		my $saved = tamper_line($segs[1], first_seq($segs[1]) + $k,
		    $trid, $fake);
		($rc, $out, $err) = prove($s, $adir);
		is($rc, 1, "another line of the segment of seq $s altered: "
		    . 'prove exit 1, as before') or diag($err);
		like($err, qr/\Q$segs[1]\E:\d+ \(seq \d+\): /,
		    '  the failure, located') or diag($err);
		# The limit of a proof that does not read everything: the
		# same alteration seen from a record of another segment.
		# The proof is still right (the leaves it rests on are
		# the signed ones); verify is what finds the alteration.
		($rc, $out, $err) = prove($seq, $adir);
		is($rc, 0, "proving seq $seq of $segs[2] does not read "
		    . "$segs[1]: exit 0") or diag($err);
		my $p = run_dir() . '/other.proof';
		spew_rw($p, $out);
		my ($vr) = eppgw_audit('verify-proof', '--vkey', $VKEY, $p);
		is($vr, 0, '  and its proof is valid');
		($rc) = eppgw_audit('verify', '--vkey', $VKEY, $adir);
		is($rc, 1, '  verify finds the alteration: exit 1');
		spew_rw("$adir/$segs[1]", $saved);
	}
}
{
	# A line removed from another sealed segment: its index no longer
	# fits (a warning), and the log no longer gives the signed root.
	my $path = "$adir/$segs[0]";
	my $saved = slurp($path);
	my @l = split /\n/, $saved, -1;
	splice(@l, 4, 1);
	chmod(0640, $path);
	spew_rw($path, join("\n", @l));
	($rc, $out, $err) = prove($seq, $adir);
	is($rc, 1, "a line removed from $segs[0]: prove --seq $seq exit 1")
	    or diag($err);
	is($out, '', '  no proof');
	like($err, qr/\Q$segs[0]\E/, '  the failure names the segment')
	    or diag($err);
	spew_rw($path, $saved);
	# A line altered in the last segment, without its index: as before.
	my $lpath = "$adir/$segs[-1]";
	my $lsaved = slurp($lpath);
	my $li = "$adir/" . index_of($segs[-1]);
	rename($li, "$li.aside") or die "$li: $!";
	(my $t = $lsaved) =~ s/"cltrid":"IDX-(\d)/"cltrid":"IDY-$1/ or die;
	chmod(0640, $lpath);
	spew_rw($lpath, $t);
	($rc, $out, $err) = prove(3, $adir);
	is($rc, 1, "a line altered in the unindexed $segs[-1]: prove --seq 3 "
	    . 'exit 1') or diag($err);
	spew_rw($lpath, $lsaved);
	rename("$li.aside", $li) or die "$li: $!";
	($rc, $out, $err) = eppgw_audit('verify', '--require-sealed', '--vkey',
	    $VKEY, $adir);
	is($rc, 0, 'all put back: verify exit 0') or diag($out . $err);
}

# ---- a restart keeps the indexes; the new open segment has none ----
my $gw2 = start_gateway(regsim => $rs, audit => { dir => $adir,
    segment_max => 65536 });
my @now = audit_segments($adir);
is(scalar(@now), scalar(@segs) + 1, 'the restarted gateway opened a new '
    . 'segment');
ok(!-e "$adir/" . index_of($now[-1]), "$now[-1] (open) has no index");
ok(-e "$adir/" . index_of($segs[-1]), "$segs[-1] keeps its own");
($rc, $out, $err) = prove($seq, $adir);
is($rc, 0, "prove --seq $seq on the running log") or diag($err);
is($err, '', '  no warning') or diag($err);
is(stop_gateway($gw2), 0, 'it stops cleanly');
($rc, $out, $err) = eppgw_audit('verify', '--require-sealed', '--vkey', $VKEY,
    $adir);
is($rc, 0, 'verify: exit 0') or diag($out . $err);

stop_regsim($rs);
done_testing();
