#!/usr/bin/perl
# Issue #13 item 4: deletions pass as VALID without a known checkpoint.
# Removing the newest segment with the checkpoint file and its seal rolls
# the log back to an older, still consistent prefix: verify alone says 0.
# A copy of every checkpoint outside the log ([audit] publish_dir) and
# `verify --known-checkpoint DIR` (the newest checkpoint of this log's
# origin in a collected directory) catch it.
use strict;
use warnings;
use File::Copy qw(copy);
use Test::More;

use EppgwTest qw(:all);

my $dir = run_dir();
my $witness = "$dir/witness";
mkdir($witness) or die "$witness: $!";

# Three commands through a gateway on the log in $adir (new if undef),
# every checkpoint published to $witness; a clean stop.
sub run_once {
	my ($rs, $adir, $tag) = @_;
	return audit_commands($rs, $tag, count => 3, audit => {
	    ($adir ? (dir => $adir) : ()), publish_dir => $witness });
}

my $rs = start_regsim();
my $adir = run_once($rs, undef, 'first');
my @pub = glob("$witness/*.cp");
is(scalar(@pub), 1, 'publish_dir holds one file for this log: '
    . join(' ', map { (split m{/})[-1] } @pub));
my @seals = sort { $a <=> $b } map { m{/(\d+)\.cp$} ? $1 : () }
    glob("$adir/checkpoints/*.cp");
run_once($rs, $adir, 'second');
my ($rc, $out) = audit_verify("--known-checkpoint", $witness, $adir);
is($rc, 0, 'the whole log verifies against the published checkpoint')
    or diag($out);

# The rollback: the second run's segment(s), its seal and the checkpoint
# file go; the checkpoint file gets the first run's seal back.
my @segs = sort glob("$adir/seg-*.jsonl");
my @after = sort { $a <=> $b } map { m{/(\d+)\.cp$} ? $1 : () }
    glob("$adir/checkpoints/*.cp");
my $keep = $seals[-1];
for my $s (@segs) {
	my ($first) = $s =~ /seg-(\d+)\.jsonl$/;
	unlink($s) if $first >= $keep;
}
unlink("$adir/checkpoints/$_.cp") for grep { $_ > $keep } @after;
copy("$adir/checkpoints/$keep.cp", "$adir/checkpoint") or die "copy: $!";

($rc, $out) = audit_verify($adir);
is($rc, 0, 'without outside evidence the rolled-back log verifies (exit '
    . '0): the finding') or diag($out);
($rc, $out) = audit_verify("--known-checkpoint", $witness, $adir);
is($rc, 1, 'with the published checkpoints: INVALID (exit 1)')
    or diag($out);
like($out, qr/ROLLBACK/, 'and it says ROLLBACK') or diag($out);

# A directory with checkpoints of other logs only: nothing to compare.
my $other = "$dir/other";
mkdir($other) or die;
open(my $fh, '>', "$other/x.cp") or die;
print $fh "eppgw/elsewhere\n3\nAAAA\n";
close($fh);
($rc, $out) = audit_verify("--known-checkpoint", $other, $adir);
isnt($rc, 1, 'checkpoints of other origins in the directory are not held '
    . 'against this log') or diag($out);

stop_regsim($rs);
done_testing();
