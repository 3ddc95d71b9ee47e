#!/usr/bin/perl
# The record of a reply to a change waits a moment for the session's next
# command so that one group commit covers both (docs/audit-log.md,
# Durability).  Checked in the log a real gateway wrote:
# - a reply's record reaches the log while the session stays open and
#   idle (the hold expires; nothing waits for the close);
# - in a run of changes and reads, every reply's record names its own
#   command and lies between it and the next command;
# - the registry executed every change that is on record.
use strict;
use warnings;
use Test::More;
use lib 'tests/e2e/lib';
use EppgwTest qw(:all);

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, audit => 1);
my $epp = epp_client(port => $gw->{port});
ok($epp, 'logged in through the gateway') or BAIL_OUT('no session');

# A change the gateway refuses itself (not schema-valid), one the
# registry executes, then the session idles.
my $code = result_code(epp_raw($epp, epp_command(status_update('open.example',
    'add', 'clientHoldX'), 'CH-0')));
ok($code =~ /^2\d\d\d$/, "a malformed change is refused ($code)");
is(result_code(epp_raw($epp, epp_command(ns_update('open.example', 'add',
    'ns2.dns.example'), 'CH-1'))), 1000, 'NS add answered');
my $idle_rsp = wait_until(3, sub {
	(grep { ($_->{cltrid} // '') eq 'CH-1' }
	    audit_records($gw->{audit_dir}, 'rsp'))[0] });
ok($idle_rsp, "the reply's record is written while the session idles");

# Changes and reads back to back.
my @steps = (['CH-2', 'rem'], ['CH-3', 'info'], ['CH-4', 'add'],
    ['CH-5', 'rem'], ['CH-6', 'info'], ['CH-7', 'add']);
for my $st (@steps) {
	my ($trid, $op) = @$st;
	my $cmd = $op eq 'info' ? info_cmd($trid) : epp_command(ns_update(
	    'open.example', $op, 'ns2.dns.example'), $trid);
	is(result_code(epp_raw($epp, $cmd)), 1000, "$trid ($op) answered");
}
epp_close($epp);
stop_gateway($gw);

my @all;
for my $t (qw(cmd rsp)) {
	push @all, map { { %$_, t => $t } } audit_records($gw->{audit_dir}, $t);
}
@all = sort { $a->{seq} <=> $b->{seq} } @all;
# This session's records (a command that is not schema-valid has no
# clTRID on record: its reply's names it).
my ($first) = grep { $_->{t} eq 'rsp' && ($_->{cltrid} // '') eq 'CH-0' }
    @all;
ok($first, 'CH-0 has its rsp record') or BAIL_OUT('no CH-0 reply');
my @mine = grep { $_->{sess} == $first->{sess} && $_->{t} =~ /^(cmd|rsp)$/ }
    @all;
my %by_seq = map { ($_->{seq} => $_) } @mine;
my @trids = ('CH-0', 'CH-1', map { $_->[0] } @steps);
my %label;
for my $trid (@trids) {
	my ($r) = grep { $_->{t} eq 'rsp' && ($_->{cltrid} // '') eq $trid }
	    @mine;
	ok($r, "$trid has its rsp record") or next;
	my $c = $by_seq{$r->{req} // -1};
	ok($c && $c->{t} eq 'cmd', "$trid: the reply names a command record")
	    or next;
	is($c->{cltrid}, $trid eq 'CH-0' ? undef : $trid,
	    "$trid: ... its own");
	$label{$c->{seq}} = "cmd:$trid";
	$label{$r->{seq}} = "rsp:$trid";
}
# In the log, from CH-0 to CH-7 (the login before, the logout after): a
# command, its reply, the next command, ...
my @ix = grep { $label{$mine[$_]{seq}} } 0 .. $#mine;
is_deeply([map { $label{$_->{seq}} // "$_->{t}:?" }
    @mine[$ix[0] .. $ix[-1]]],
    [map { ("cmd:$_", "rsp:$_") } @trids],
    'each reply lies between its command and the next');

# The registry executed the recorded changes: ns2 added last.
my $direct = direct_session($rs, 'registry state');
like(registry_domain($direct, 'open.example'), qr/^ns=ns2\.dns\.example$/m,
    'the registry holds the NS set the recorded changes leave');
my ($rc, $out) = audit_verify($gw->{audit_dir});
is($rc, 0, 'the log verifies') or diag($out);

gateways_clean();
done_testing();
