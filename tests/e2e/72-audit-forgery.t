#!/usr/bin/perl
# Issue #13 item 1: the gateway never signs a record it did not write.
#
# Someone who can write to the audit directory but does not hold the key
# appends a segment with a correct open record, an invented approved
# domain:update of a locked domain and an invented 1000 reply.  Before the
# gateway starts again, verify can only call that an unsealed tail (it is
# chained correctly).  At the next start the gateway must not take it for
# crash recovery and sign over it: the lines are set aside (moved, not
# deleted), a signed recovery record says how many and their hash, verify
# reports them apart, and no proof of the invented approval can be had.
use strict;
use warnings;
use Digest::SHA qw(sha256 sha256_hex);
use File::Spec;
use JSON::PP;
use Test::More;

use EppgwTest qw(:all);

my $VKEY = File::Spec->catfile(certs_dir(), 'audit.pub');
my $JSON = JSON::PP->new->canonical(1);


# ---- a real log: a few commands, then a clean stop ----
my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    audit => 1);
my $adir = $gw->{audit_dir};
{
	my $e = epp_client(port => $gw->{port}) or BAIL_OUT('login');
	my $doc = epp_raw($e, epp_command(info_domain('open.example'),
	    'REAL-1'));
	is(result_code($doc), 1000, 'a real command through the gateway');
	epp_close($e);
}
is(stop_gateway($gw), 0, 'the gateway stops cleanly');
my ($rc, $out) = audit_verify($adir);
is($rc, 0, 'the closed log verifies: exit 0') or diag($out);

# ---- the forgery: a new segment, chained correctly, without the key ----
my @segs = audit_segments($adir, paths => 1);
my $last = $segs[-1];
my @lines = split /\n/, slurp($last);
my $lastrec = decode_json($lines[-1]);
my $open = decode_json($lines[0]);
my $seq = $lastrec->{seq} + 1;
my $prev = sha256_hex("\0" . $lines[-1]);
my $name = sprintf('seg-%020d.jsonl', $seq);
my $ts = '2026-12-01T12:00:00.000000Z';
my @forged;
for my $rec (
    { t => 'open', origin => $open->{origin}, log_id => $open->{log_id},
      segment => $name, software => $open->{software},
      mac_key => $open->{mac_key}, prev_segment => { name =>
      ($last =~ m{([^/]+)$})[0], sha256 => sha256_hex(slurp($last)),
      last_seq => $lastrec->{seq} } },
    { t => 'cmd', sess => 999, clid => 'registrar1', principal => 'registrar',
      cltrid => 'FORGED-1', cmd => 'domain:update',
      objects => ['locked.example'], classes => ['ns'], decision => 'allow',
      approver => 'bob', change_id => 'ffffffffffff', xml => undef },
    { t => 'rsp', sess => 999, req => $seq + 1, src => 'registry',
      code => 1000, msg => 'Command completed successfully',
      cltrid => 'FORGED-1', svtrid => 'forged', rtt_us => 1000 }) {
	$rec->{v} = 1;
	$rec->{seq} = $seq++;
	$rec->{ts} = $ts;
	$rec->{prev} = $prev;
	my $line = $JSON->encode($rec);
	push @forged, $line;
	$prev = sha256_hex("\0" . $line);
}
{
	open(my $fh, '>', "$adir/$name") or die "$adir/$name: $!";
	print $fh map { "$_\n" } @forged;
	close($fh);
}
($rc, $out) = audit_verify($adir);
is($rc, 2, 'before the restart verify can only call the forgery an '
    . 'unsealed tail (exit 2): it is chained correctly') or diag($out);
like($out, qr/unsealed tail: 3 records/, '3 records after the last '
    . 'checkpoint') or diag($out);

# ---- restart on the same log ----
my $gw2 = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    audit => { dir => $adir });
ok($gw2, 'the gateway starts again on the log');
gateway_log_like($gw2, qr/3 lines \(\d+ bytes\) after the last signature .* set aside/,
    'it logs that 3 unauthenticated lines were set aside', 5);
{
	my $e = epp_client(port => $gw2->{port}) or BAIL_OUT('login 2');
	my $doc = epp_raw($e, epp_command('<info><domain:info xmlns:domain='
	    . '"urn:ietf:params:xml:ns:domain-1.0"><domain:name>open.example'
	    . '</domain:name></domain:info></info>', 'REAL-2'));
	is(result_code($doc), 1000, 'and serves');
	epp_close($e);
}
is(stop_gateway($gw2), 0, 'and stops cleanly');

unlike(slurp("$adir/$name"), qr/FORGED-1/, "the forged lines are no longer "
    . "in the log (a new $name holds what the restarted gateway wrote)");
my @aside = glob("$adir/unauthenticated/$name.*");
is(scalar(@aside), 1, 'it was moved to unauthenticated/, not deleted');
is(slurp($aside[0] // '/nonexistent'), join('', map { "$_\n" } @forged),
    'byte for byte') if @aside;

($rc, $out) = audit_verify($adir);
is($rc, 2, 'verify: valid with warnings (exit 2)') or diag($out);
like($out, qr/set aside unauthenticated 3 records/,
    'verify reports the 3 set-aside records apart from the log')
    or diag($out);
my $all = join('', map { slurp($_) } audit_segments($adir, paths => 1));
unlike($all, qr/FORGED-1/, 'no record of the signed log holds the '
    . 'invented command');
like($all, qr/"set_aside":\{[^}]*"records":3/, 'a recovery record names '
    . 'what was set aside');
my $hash = sha256_hex(join('', map { "$_\n" } @forged));
like($all, qr/"sha256":"$hash"/, 'with the hash of the set-aside bytes');

# No proof of the invented approval: its seq now holds another record.
my $fseq = decode_json($forged[1])->{seq};
my (undef, $proof) = eppgw_audit('prove', '--seq', $fseq, '--vkey', $VKEY,
    $adir, { merge => 1 });
unlike($proof, qr/FORGED-1/, "a proof for seq $fseq is not a proof of the "
    . 'invented command');

stop_regsim($rs);
done_testing();
