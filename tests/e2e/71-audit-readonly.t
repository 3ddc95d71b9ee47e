#!/usr/bin/perl
# A read-only command is forwarded before its record is written; its
# record reaches the audit writer with its reply's (one group commit), or
# with the session's close when no reply comes (docs/audit-log.md,
# Durability).  Checked in the log a real gateway wrote: every read-only
# command the registry received has its record, named by its reply's req,
# also when the registrar hung up while the registry was silent.
use strict;
use warnings;
use Test::More;
use lib 'tests/e2e/lib';
use EppgwTest qw(:all);

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, audit => 1);
my $epp = epp_client(port => $gw->{port});
ok($epp, 'logged in through the gateway') or BAIL_OUT('no session');

for my $i (1 .. 3) {
	is(result_code(epp_raw($epp, info_cmd("RO-$i"))), 1000,
	    "info RO-$i answered");
}

# The registry stops answering; the registrar sends one more read-only
# command and hangs up before the reply.
kill 'STOP', $rs->{pid};
ok(send_bytes($epp, do {
	my $x = info_cmd('RO-LOST');
	pack('N', 4 + length $x) . $x;
}), 'RO-LOST sent');
# Time for the gateway to forward it to the stopped registry.
sleep 0.5;
epp_close($epp);
sleep 0.5;
kill 'CONT', $rs->{pid};
# Whether the registry still runs a command whose connection closed is
# its business: the record must be there either way.
wait_until(2, sub { (journal_find($rs, clTRID => 'RO-LOST'))[0] });
stop_gateway($gw);

my @cmd = audit_records($gw->{audit_dir}, 'cmd');
my @rsp = audit_records($gw->{audit_dir}, 'rsp');
my %cmd_by_trid = map { ($_->{cltrid} // '') => $_ } @cmd;
for my $i (1 .. 3) {
	my $c = $cmd_by_trid{"RO-$i"};
	ok($c, "RO-$i has its cmd record") or next;
	my ($r) = grep { ($_->{cltrid} // '') eq "RO-$i" } @rsp;
	ok($r, "RO-$i has its rsp record") or next;
	is($r->{req}, $c->{seq}, "RO-$i: the reply names its command");
	cmp_ok($c->{seq}, '<', $r->{seq}, "RO-$i: command before reply");
}
my $lost = $cmd_by_trid{'RO-LOST'};
ok($lost, 'RO-LOST, forwarded with no reply before the hang-up, is on '
    . 'record');
my ($close) = grep { ($_->{event} // '') eq 'close' && $lost
    && $_->{sess} == $lost->{sess} } audit_records($gw->{audit_dir},
    'session');
ok($close, 'its session closed on record');
cmp_ok($lost->{seq}, '<', $close->{seq}, 'its record precedes the close')
    if $lost && $close;
my ($rc, $out) = audit_verify($gw->{audit_dir});
is($rc, 0, 'the log verifies') or diag($out);

gateways_clean();
done_testing();
