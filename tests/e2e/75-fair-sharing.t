#!/usr/bin/perl
# 75-fair-sharing.t: one client cannot take the gateway for itself, and a
# session that has not logged in reaches nothing (issue "privilege
# separation", item 3).
#
#   before login   a command before a successful login is answered 2002
#                  login_required by the gateway; the registry sees nothing
#   login timeout  a session that does not log in within login_timeout is
#                  closed; a logged-in one outlives it
#   per address    max_sessions_per_address: the next connection from the
#                  same address is closed before any greeting
#   per principal  max_sessions_per_principal: the next session of that
#                  principal is closed; another principal still connects
#   pending cap    max_pending_per_principal: a flood of distinct protected
#                  changes from one requester stops at the cap with 2304
#                  pending_limit (nothing recorded, nothing forwarded);
#                  another requester still gets its change recorded, and
#                  reads keep answering meanwhile
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use EppgwTest qw(:all);

$SIG{PIPE} = 'IGNORE';

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';

sub reason_of {
	my ($doc) = @_;
	return ref $doc ? xpc($doc)->findvalue(
	    '//epp:result/epp:extValue/epp:reason') : '';
}

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, gateway => { login_timeout => 2,
    max_sessions_per_address => 4, max_sessions_per_principal => 2 });
ok($gw->{pid}, 'gateway with login_timeout 2, 4 sessions per address, '
    . '2 per principal');

# ---- before login ----
{
	my $s = tls_connect(port => $gw->{port}, cert => 'registrar');
	ok($s, 'a TLS session without a login');
	ok(read_frame($s), 'the greeting is relayed');
	write_frame($s, info_cmd('FAIR-1'));
	my $doc = eval { XML::LibXML->load_xml(string => read_frame($s)) };
	is(result_code($doc), 2002, 'a domain:info before login: 2002');
	is(reason_of($doc), 'login_required', 'reason login_required');
	like($doc ? xpc($doc)->findvalue('//epp:trID/epp:svTRID') : '',
	    qr/^eppgw-/, 'answered by the gateway itself');
	ok(!journal_find($rs, clTRID => 'FAIR-1'),
	    'the registry never saw it');
	# ---- login timeout: this session never logs in ----
	my $t = wait_closed($s, 5);
	ok(defined $t && $t < 3.5, 'no login within login_timeout (2 s): '
	    . 'closed') or diag('closed after ' . ($t // 'never'));
	gateway_log_like($gw, qr/no successful login within 2s/,
	    'the log says why');
}
{
	my $e = epp_client(port => $gw->{port});
	ok($e, 'a session that logs in');
	sleep(3);
	my $doc = epp_raw($e, info_cmd('FAIR-2'));
	is(result_code($doc), 1000, 'logged in: it outlives login_timeout');
	epp_close($e);
}

# ---- per principal and per address ----
{
	my @mine = map { epp_client(port => $gw->{port}) } 1 .. 2;
	ok(@mine == 2 && !grep({ !$_ } @mine), 'registrar: 2 sessions');
	my $third = tls_connect(port => $gw->{port}, cert => 'registrar');
	my $greeting = $third ? read_frame($third) : undef;
	ok(!$greeting, 'a third session of the same principal is closed '
	    . 'without a greeting');
	gateway_log_like($gw, qr/principal registrar already has 2 sessions/,
	    'the log names the cap');
	my $bob = epp_client(port => $gw->{port}, cert => 'bob');
	ok($bob, 'another principal (bob) still gets a session');
	is(result_code(epp_raw($bob, info_cmd('FAIR-3'))), 1000,
	    'and it works');
	# The address cap: 2 registrar + 1 bob + 1 carol = 4 from 127.0.0.1.
	my $carol = epp_client(port => $gw->{port}, cert => 'carol');
	ok($carol, 'a fourth session from this address');
	my $fifth = tls_connect(port => $gw->{port}, cert => 'alice');
	ok(!($fifth && read_frame($fifth)), 'the fifth from this address is '
	    . 'closed without a greeting');
	gateway_log_like($gw, qr/127\.0\.0\.1 already has 4 sessions/,
	    'the log names the address cap');
	epp_close($_) for @mine, $bob, $carol;
	# Closed sessions give their places back.
	my $again;
	for (1 .. 20) {
		last if $again = epp_client(port => $gw->{port});
		sleep(0.1);
	}
	ok($again, 'places are given back when sessions end');
	epp_close($again);
}
stop_gateway($gw);

# ---- the pending cap ----
my $agw = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    approvals => { max_pending_per_principal => 3 }, audit => 1);
ok($agw->{pid}, 'gateway with approvals, 3 pending changes per requester');
{
	my $e = epp_client(port => $agw->{port});
	my (@ids, $last);
	for my $n (1 .. 6) {
		my $trid = "FLOOD-$n";
		my $doc = epp_raw($e, epp_command("<update><domain:update $D>"
		    . '<domain:name>locked.example</domain:name><domain:add>'
		    . "<domain:ns><domain:hostObj>ns$n.flood.example"
		    . '</domain:hostObj></domain:ns></domain:add>'
		    . '</domain:update></update>', $trid));
		my $r = reason_of($doc);
		push @ids, $1 if $r =~ /^approval_required ([0-9a-f]{12})$/;
		$last = $doc;
		ok(!journal_find($rs, clTRID => $trid), "$trid: not forwarded");
	}
	is(scalar(@ids), 3, 'three distinct changes recorded');
	is(result_code($last), 2304, 'past the cap: 2304');
	is(reason_of($last), 'pending_limit', 'reason pending_limit');
	gateway_log_like($agw, qr/pending_limit/, 'logged');
	# A resend of a change already pending is not a new one.
	my $doc = epp_raw($e, epp_command("<update><domain:update $D>"
	    . '<domain:name>locked.example</domain:name><domain:add>'
	    . '<domain:ns><domain:hostObj>ns1.flood.example</domain:hostObj>'
	    . '</domain:ns></domain:add></domain:update></update>', 'FLOOD-R'));
	is(reason_of($doc), "approval_required $ids[0]",
	    'a resend of a pending change still names it');
	# Reads go on meanwhile, quickly.
	my $t0 = time;
	is(result_code(epp_raw($e, info_cmd('FLOOD-INFO'))), 1000,
	    'a domain:info still answers');
	ok(time - $t0 < 1, 'promptly');
	# Another requester is not held back by this one's flood.
	my $b = epp_client(port => $agw->{port}, cert => 'bob');
	$doc = epp_raw($b, epp_command("<update><domain:update $D>"
	    . '<domain:name>locked.example</domain:name><domain:add>'
	    . '<domain:ns><domain:hostObj>ns9.other.example</domain:hostObj>'
	    . '</domain:ns></domain:add></domain:update></update>', 'BOB-1'));
	like(reason_of($doc), qr/^approval_required [0-9a-f]{12}$/,
	    'another requester still gets a pending change');
	my ($rc, $out) = ctl($agw, 'carol', 'pending');
	is($rc, 0, 'eppgwctl pending');
	is(scalar(() = $out =~ /locked\.example/g), 4,
	    'four pending changes in all: the flood stopped at its cap');
	epp_close($_) for $e, $b;
}
stop_gateway($agw);
gateways_clean();
done_testing();
