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
use File::Spec;
use Test::More;

use EppgwTest qw(:all);

my $AUDIT = File::Spec->catfile(build_dir(), 'eppgw-audit');
my $VKEY = File::Spec->catfile(certs_dir(), 'audit.pub');
my $dir = run_dir();
my $witness = "$dir/witness";
mkdir($witness) or die "$witness: $!";

sub verify {
	my (@args) = @_;
	my $out = qx{"$AUDIT" verify --vkey "$VKEY" @args 2>&1};
	return ($? >> 8, $out);
}

sub run_once {
	my ($rs, $adir, $tag) = @_;
	my $gw = start_gateway(regsim => $rs, audit => { ($adir ?
	    (dir => $adir) : ()), publish_dir => $witness });
	my $e = epp_client(port => $gw->{port}) or BAIL_OUT('login');
	for my $i (1 .. 3) {
		my $doc = epp_raw($e, epp_command('<info><domain:info '
		    . 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">'
		    . '<domain:name>open.example</domain:name></domain:info>'
		    . "</info>", "$tag-$i"));
		is(result_code($doc), 1000, "$tag: command $i");
	}
	epp_close($e);
	is(stop_gateway($gw), 0, "$tag: clean stop");
	return $gw->{audit_dir};
}

my $rs = start_regsim();
my $adir = run_once($rs, undef, 'first');
my @pub = glob("$witness/*.cp");
is(scalar(@pub), 1, 'publish_dir holds one file for this log: '
    . join(' ', map { (split m{/})[-1] } @pub));
my @seals = sort { $a <=> $b } map { m{/(\d+)\.cp$} ? $1 : () }
    glob("$adir/checkpoints/*.cp");
run_once($rs, $adir, 'second');
my ($rc, $out) = verify("--known-checkpoint", $witness, $adir);
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

($rc, $out) = verify($adir);
is($rc, 0, 'without outside evidence the rolled-back log verifies (exit '
    . '0): the finding') or diag($out);
($rc, $out) = verify("--known-checkpoint", $witness, $adir);
is($rc, 1, 'with the published checkpoints: INVALID (exit 1)')
    or diag($out);
like($out, qr/ROLLBACK/, 'and it says ROLLBACK') or diag($out);

# A directory with checkpoints of other logs only: nothing to compare.
my $other = "$dir/other";
mkdir($other) or die;
open(my $fh, '>', "$other/x.cp") or die;
print $fh "eppgw/elsewhere\n3\nAAAA\n";
close($fh);
($rc, $out) = verify("--known-checkpoint", $other, $adir);
isnt($rc, 1, 'checkpoints of other origins in the directory are not held '
    . 'against this log') or diag($out);

stop_regsim($rs);
done_testing();
