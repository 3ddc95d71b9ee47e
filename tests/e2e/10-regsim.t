#!/usr/bin/perl
# 10-regsim.t: the registry simulator on its own (no gateway): greeting,
# login, domain/host semantics, hostile input, the journal.
#
#   make certs build/eppgw-regsim && prove -I tests/e2e/lib tests/e2e/10-regsim.t
use strict;
use warnings;

use Test::More;
use IO::Socket::SSL;
use EppgwTest qw(:all);

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';
my $S = 'xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"';
my $seq = 0;
my %sent;	# clTRID => code we got, checked against the journal at the end

my $rs = start_regsim();
ok($rs->{pid}, "regsim started on port $rs->{port}");

# One command; remembers the clTRID and the code for the journal check.
sub cmd {
	my ($epp, $inner, $name) = @_;
	my $trid = sprintf('T10-%03d', ++$seq);
	my $doc = epp_raw($epp, epp_command($inner, $trid));
	my $code = result_code($doc);
	$sent{$trid} = $code if defined $code;
	return wantarray ? ($code, $doc) : $code;
}

sub domain_info {
	my ($epp, $name) = @_;
	my ($code, $doc) = cmd($epp, "<info><domain:info $D><domain:name>$name"
	    . '</domain:name></domain:info></info>');
	return $code == 1000 ? xpc($doc) : undef;
}

sub update_domain {
	my ($epp, $name, $body, $ext) = @_;
	return scalar cmd($epp, "<update><domain:update $D><domain:name>$name"
	    . "</domain:name>$body</domain:update></update>"
	    . ($ext ? "<extension>$ext</extension>" : ''));
}

# ---- greeting and login ----

my $epp = epp_client(port => $rs->{port});
ok($epp, 'login as registrar1 with the registrar certificate')
    or BAIL_OUT("cannot log in: $Net::EPP::Simple::Error");
my $g = xpc($epp->greeting);
is($g->findvalue('//epp:greeting/epp:svID'), 'eppgw-regsim', 'greeting svID');
ok($g->exists('//epp:svcExtension/epp:extURI[.="urn:ietf:params:xml:ns:secDNS-1.1"]'),
    'greeting offers secDNS-1.1');

my $hello = epp_raw($epp, '<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>');
ok($hello && xpc($hello)->exists('/epp:epp/epp:greeting'), '<hello> gets a greeting');

my $bad = epp_client(port => $rs->{port}, pass => 'wrong-password');
ok(!$bad, 'wrong password refused');
is($Net::EPP::Simple::Code, 2200, 'wrong password gives 2200');

ok(!epp_client(port => $rs->{port}, cert => 'evil'),
    'a client certificate from another CA is refused');
my $nocert = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $rs->{port},
    SSL_ca_file => certs_dir() . '/ca.pem', Timeout => 5);
my $buf = '';
ok(!$nocert || !$nocert->sysread($buf, 4), 'a client without a certificate gets no greeting');

my $anon = epp_client(port => $rs->{port}, login => 0);
is(cmd($anon, "<info><domain:info $D><domain:name>open.example</domain:name></domain:info></info>"),
    2002, 'a command before login gives 2002');

# ---- domain info: the seeded NS and DS ----

my $x = domain_info($epp, 'locked.example');
ok($x, 'domain:info locked.example');
is_deeply([map { $_->textContent } $x->findnodes('//domain:ns/domain:hostObj')],
    ['ns1.locked.example', 'ns.dns.example'], 'seeded name servers');
is($x->findvalue('//secDNS:infData/secDNS:dsData/secDNS:keyTag'), '12345', 'seeded DS keyTag');
is($x->findvalue('//secDNS:dsData/secDNS:alg'), '13', 'seeded DS alg');
like($x->findvalue('//secDNS:dsData/secDNS:digest'), qr/^[0-9A-F]{64}$/, 'seeded DS digest');
is($x->findvalue('//domain:host'), 'ns1.locked.example', 'subordinate host listed');
is($x->findvalue('//domain:clID'), 'registrar1', 'clID');
is($x->findvalue('//domain:authInfo/domain:pw'), 'locked-auth-1', 'sponsor sees authInfo');
is($x->findvalue('//domain:status/@s'), 'ok', 'status ok');

is(cmd($epp, "<info><domain:info $D><domain:name>nope.example</domain:name></domain:info></info>"),
    2303, 'info of a missing domain gives 2303');

# ---- NS and DS updates ----

is(update_domain($epp, 'open.example', '<domain:add><domain:ns><domain:hostObj>ns2.dns.example</domain:hostObj></domain:ns></domain:add>'),
    1000, 'add a name server');
$x = domain_info($epp, 'open.example');
is_deeply([map { $_->textContent } $x->findnodes('//domain:ns/domain:hostObj')],
    ['ns.dns.example', 'ns2.dns.example'], 'info shows the added NS');
is(update_domain($epp, 'open.example', '<domain:rem><domain:ns><domain:hostObj>ns.dns.example</domain:hostObj></domain:ns></domain:rem>'),
    1000, 'remove a name server');
$x = domain_info($epp, 'open.example');
is_deeply([map { $_->textContent } $x->findnodes('//domain:ns/domain:hostObj')],
    ['ns2.dns.example'], 'info shows the NS removed');
is(update_domain($epp, 'open.example', '<domain:add><domain:ns><domain:hostObj>ns9.nowhere.example</domain:hostObj></domain:ns></domain:add>'),
    2303, 'adding an unknown host gives 2303');

my $ds = '<secDNS:dsData><secDNS:keyTag>54321</secDNS:keyTag><secDNS:alg>8</secDNS:alg>'
    . '<secDNS:digestType>2</secDNS:digestType><secDNS:digest>'
    . ('ab' x 32) . '</secDNS:digest></secDNS:dsData>';
is(update_domain($epp, 'open.example', '', "<secDNS:update $S><secDNS:add>$ds</secDNS:add></secDNS:update>"),
    1000, 'secDNS add dsData');
$x = domain_info($epp, 'open.example');
is($x->findvalue('//secDNS:dsData/secDNS:keyTag'), '54321', 'info shows the new DS');
is(update_domain($epp, 'open.example', '', "<secDNS:update $S><secDNS:rem><secDNS:all>1</secDNS:all></secDNS:rem></secDNS:update>"),
    1000, 'secDNS rem all');
$x = domain_info($epp, 'open.example');
ok(!$x->exists('//secDNS:infData'), 'no DS left');

# ---- hosts ----

my $hc = sub { my ($n, $a) = @_; "<create><host:create $H><host:name>$n</host:name>" . ($a // '') . '</host:create></create>' };
is(cmd($epp, $hc->('ns2.open.example')), 2003, 'subordinate host without an address gives 2003');
is(cmd($epp, $hc->('ns2.open.example', '<host:addr ip="v4">192.0.2.7</host:addr>')), 1000,
    'subordinate host with an address is created');
is(cmd($epp, $hc->('ns3.unregistered.example', '<host:addr ip="v4">192.0.2.8</host:addr>')), 2303,
    'glue under a missing domain gives 2303');
is(cmd($epp, $hc->('ns.elsewhere.net', '<host:addr ip="v4">192.0.2.9</host:addr>')), 2004,
    'external host with an address gives 2004');
is(cmd($epp, $hc->('ns2.open.example', '<host:addr ip="v4">192.0.2.7</host:addr>')), 2302,
    'existing host gives 2302');
is(cmd($epp, "<delete><host:delete $H><host:name>ns1.locked.example</host:name></host:delete></delete>"),
    2305, 'deleting a linked host gives 2305');
is(cmd($epp, "<delete><domain:delete $D><domain:name>locked.example</domain:name></domain:delete></delete>"),
    2305, 'deleting a domain with subordinate hosts gives 2305');

# ---- statuses ----

is(update_domain($epp, 'frozen.example', '<domain:add><domain:ns><domain:hostObj>ns2.dns.example</domain:hostObj></domain:ns></domain:add>'),
    2304, 'serverUpdateProhibited gives 2304');
is(cmd($epp, "<delete><domain:delete $D><domain:name>frozen.example</domain:name></domain:delete></delete>"),
    2304, 'serverDeleteProhibited gives 2304');
is(update_domain($epp, 'open.example', '<domain:add><domain:status s="clientUpdateProhibited"/></domain:add>'),
    1000, 'set clientUpdateProhibited');
is(update_domain($epp, 'open.example', '<domain:add><domain:ns><domain:hostObj>ns.dns.example</domain:hostObj></domain:ns></domain:add>'),
    2304, 'clientUpdateProhibited blocks an NS change');
is(update_domain($epp, 'open.example', '<domain:rem><domain:status s="clientUpdateProhibited"/></domain:rem>'),
    1000, 'removing clientUpdateProhibited itself is allowed');
is(update_domain($epp, 'open.example', '<domain:add><domain:status s="serverHold"/></domain:add>'),
    2306, 'a client cannot set server statuses');

# ---- authorization ----

is(update_domain($epp, 'other.example', '<domain:chg><domain:authInfo><domain:pw>stolen-123</domain:pw></domain:authInfo></domain:chg>'),
    2201, "updating another registrar's domain gives 2201");
is(cmd($epp, "<info><domain:info $D><domain:name>other.example</domain:name><domain:authInfo><domain:pw>wrong-pw-1</domain:pw></domain:authInfo></domain:info></info>"),
    2202, 'wrong authInfo gives 2202');

# ---- hostile input ----

my $doctype = '<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY x "y">]>'
    . '<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>';
is(result_code(epp_raw($epp, $doctype)), 2001, 'DOCTYPE gives 2001');
is(result_code(epp_raw($epp, '<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>')), 2001,
    'malformed XML gives 2001');
is(result_code(epp_raw($epp, epp_command("<info><domain:info xmlns:domain=\"urn:example:not-domain\"><domain:name>open.example</domain:name></domain:info></info>", 'T10-NS'))),
    2307, 'an unknown object namespace is not taken for domain');
# Still usable after all that:
ok(domain_info($epp, 'open.example'), 'session still works after bad frames');

my $drop = epp_client(port => $rs->{port});
ok(!defined epp_raw($drop, epp_command("<info><domain:info $D><domain:name>open.example</domain:name></domain:info></info>", 'REGSIM-DROP-1')),
    'REGSIM-DROP closes the connection without a reply');

my $short = epp_client(port => $rs->{port}, login => 0);
send_bytes($short, pack('N', 3) . 'x');
ok(!defined epp_read($short), 'a frame shorter than 5 bytes closes the connection');

# ---- logout and the journal ----

my ($lc) = cmd($epp, '<logout/>');
is($lc, 1500, 'logout gives 1500');

my @j = journal_lines($rs);
ok(scalar @j >= keys %sent, 'journal has lines');
for my $trid (sort keys %sent) {
	my @hit = grep { $_->{clTRID} eq $trid } @j;
	is(scalar @hit, 1, "journal line for $trid") or next;
	is($hit[0]{code}, $sent{$trid}, "journal code for $trid");
	like($hit[0]{svTRID}, qr/^regsim-\d{6}$/, "svTRID for $trid");
}
my ($upd) = journal_find($rs, cmd => 'domain:update', obj => 'open.example', code => 1000);
ok($upd && $upd->{clID} eq 'registrar1', 'journal names the clID of an update');
ok(!journal_find($rs, clTRID => 'REGSIM-DROP-1'), 'a dropped command is not journaled');

is(stop_regsim($rs), 0, 'SIGTERM stops the simulator cleanly');

done_testing();
