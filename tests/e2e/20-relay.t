#!/usr/bin/perl
# 20-relay.t: a registrar (Net::EPP::Simple, certificate "registrar") talks
# EPP through eppgw to the registry simulator: the greeting is the
# registry's, every command and reply is relayed, mutating commands change
# the registry (checked on a direct connection to the simulator, not only
# from the gateway's reply), the simulator's journal has every clTRID, and
# several sessions in parallel do not disturb each other.
#
#   make certs build/eppgw build/eppgw-regsim
#   prove -I tests/e2e/lib tests/e2e/20-relay.t
use strict;
use warnings;

use Test::More;
use POSIX qw(:sys_wait_h _exit);
use Scalar::Util qw(refaddr);
use Time::HiRes qw(sleep time);
use EppgwTest qw(:all);

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs);
ok($gw->{pid}, "gateway on port $gw->{port}, registry on $rs->{port}");

# Remember the last response of each client, so that the Net::EPP::Simple
# convenience methods (which hide it) can still be checked for clTRID,
# svTRID and result code.
my %last;
{
	no warnings 'redefine';
	my $orig = \&Net::EPP::Simple::request;
	*Net::EPP::Simple::request = sub {
		my $r = $orig->(@_);
		$last{refaddr($_[0])} = $r;
		return $r;
	};
}
my %sent;	# clTRID (through the gateway) => result code
sub last_reply {
	my ($epp) = @_;
	my $doc = $last{refaddr($epp)} or return {};
	my $x = xpc($doc);
	my %r = (
		code   => result_code($doc),
		clTRID => $x->findvalue('//epp:trID/epp:clTRID'),
		svTRID => $x->findvalue('//epp:trID/epp:svTRID'),
		doc    => $doc,
	);
	$sent{$r{clTRID}} = $r{code} if $r{clTRID} ne '' && defined $r{code};
	return \%r;
}

# A relayed reply: the registry's svTRID, not one the gateway made up.
sub relayed_ok {
	my ($epp, $code, $name) = @_;
	my $r = last_reply($epp);
	is($r->{code}, $code, "$name: result $code");
	like($r->{svTRID}, qr/^regsim-\d+$/, "$name: the registry's svTRID");
	return $r;
}

# ---- greeting ----

my $direct = direct_session($rs, 'for state checks');

my $epp = epp_client(port => $gw->{port}, login => 0);
ok($epp, 'TLS with the registrar certificate through the gateway')
    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
my $g = xpc($epp->greeting);
is($g->findvalue('//epp:greeting/epp:svID'), 'eppgw-regsim',
    "the greeting is the registry's (svID)");
my @menu = map { $_->textContent }
    $g->findnodes('//epp:svcMenu/epp:objURI | //epp:svcMenu//epp:extURI');
my @dmenu = map { $_->textContent } xpc($direct->greeting)
    ->findnodes('//epp:svcMenu/epp:objURI | //epp:svcMenu//epp:extURI');
is_deeply(\@menu, \@dmenu, 'the relayed svcMenu is what the registry offers');

# ---- login, hello ----

ok($epp->_login, 'login as registrar1 / demo-password-1 through the gateway')
    or BAIL_OUT("login: $Net::EPP::Simple::Error");
relayed_ok($epp, 1000, 'login');
gateway_log_like($gw, qr/principal registrar \(TLS/, 'gateway names the principal');
gateway_log_like($gw, qr/registrar logged in as registrar1/, 'gateway logs the login');

ok($epp->ping, '<hello> answered');
ok(xpc($last{refaddr($epp)})->exists('/epp:epp/epp:greeting'),
    '<hello> gets a greeting');
my $hello = epp_raw($epp, '<?xml version="1.0" encoding="UTF-8"?>'
    . '<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>');
is($hello && xpc($hello)->findvalue('//epp:greeting/epp:svID'), 'eppgw-regsim',
    'a raw <hello> gets the registry greeting');

# ---- check ----

is($epp->check_domain('open.example'), 0, 'domain:check open.example: taken');
relayed_ok($epp, 1000, 'domain:check');
is($epp->check_domain('relay-new.example'), 1, 'domain:check relay-new.example: available');
is($epp->check_host('ns1.locked.example'), 0, 'host:check ns1.locked.example: taken');
relayed_ok($epp, 1000, 'host:check');
is($epp->check_contact('reg-1'), 0, 'contact:check reg-1: taken');
relayed_ok($epp, 1000, 'contact:check');
is($epp->check_contact('relay-c1'), 1, 'contact:check relay-c1: available');

# ---- info ----

my $i = $epp->domain_info('locked.example');
ok($i, 'domain:info locked.example');
my $r = relayed_ok($epp, 1000, 'domain:info');
is_deeply($i && $i->{ns}, ['ns1.locked.example', 'ns.dns.example'], 'name servers relayed');
is(xpc($r->{doc})->findvalue('//secDNS:dsData/secDNS:keyTag'), '12345',
    'secDNS dsData relayed');
is($i && $i->{authInfo}, 'locked-auth-1', 'authInfo relayed to the sponsor');

my $h = $epp->host_info('ns1.locked.example');
relayed_ok($epp, 1000, 'host:info');
is($h && $h->{addrs}[0]{addr}, '192.0.2.1', 'host:info shows the glue address');

my $c = $epp->contact_info('reg-1');
relayed_ok($epp, 1000, 'contact:info');
is($c && $c->{email}, 'registrant@example.net', 'contact:info shows the e-mail');

ok(!$epp->domain_info('missing-relay.example'), 'info of a missing domain fails');
relayed_ok($epp, 2303, 'domain:info missing');

# ---- create: contact, domain, host ----

sub direct_info {
	my ($type, $name) = @_;
	my $m = "${type}_info";
	return $direct->$m($name);
}

ok($epp->create_contact({
	id => 'relay-c1',
	postalInfo => { int => {
		name => 'Relay Test', org => 'Relay Org',
		addr => { street => ['3 Relay Road'], city => 'Springfield',
		    sp => 'XX', pc => '00003', cc => 'US' },
	} },
	voice => '+1.5555550199', fax => '', email => 'relay@example.net',
	authInfo => 'relay-contact-1',
}), 'contact:create relay-c1') or diag($Net::EPP::Simple::Error);
relayed_ok($epp, 1000, 'contact:create');
my $dc = direct_info('contact', 'relay-c1');
is($dc && $dc->{email}, 'relay@example.net', 'the registry has contact relay-c1');

ok($epp->create_domain({
	name => 'relay-new.example', period => 1, registrant => 'relay-c1',
	contacts => { admin => 'relay-c1', tech => 'relay-c1' },
	ns => ['ns.dns.example'], authInfo => 'relay-auth-1',
}), 'domain:create relay-new.example') or diag($Net::EPP::Simple::Error);
relayed_ok($epp, 1000, 'domain:create');
my $dd = direct_info('domain', 'relay-new.example');
ok($dd, 'the registry has domain relay-new.example');
is($dd && $dd->{registrant}, 'relay-c1', 'with the registrant');
is_deeply($dd && $dd->{ns}, ['ns.dns.example'], 'and the name server');

ok($epp->create_host({ name => 'ns1.relay-new.example',
    addrs => [{ ip => '192.0.2.50', version => 'v4' }] }),
    'host:create ns1.relay-new.example (glue)') or diag($Net::EPP::Simple::Error);
relayed_ok($epp, 1000, 'host:create');
my $dh = direct_info('host', 'ns1.relay-new.example');
is($dh && $dh->{addrs}[0]{addr}, '192.0.2.50', 'the registry has the host with its address');

ok(!$epp->create_domain({ name => 'open.example', period => 1,
    registrant => 'reg-1', contacts => {}, authInfo => 'x-auth-123' }),
    'creating an existing domain fails');
relayed_ok($epp, 2302, 'domain:create of an existing domain');

# ---- update: NS add/rem on open.example ----

is_deeply(direct_info('domain', 'open.example')->{ns}, ['ns.dns.example'],
    'open.example starts with ns.dns.example');
ok($epp->update_domain({ name => 'open.example',
    add => { ns => ['ns2.dns.example', 'ns1.relay-new.example'] },
    rem => { ns => ['ns.dns.example'] } }),
    'domain:update open.example: add two NS, remove one') or diag($Net::EPP::Simple::Error);
relayed_ok($epp, 1000, 'domain:update');
is_deeply([sort @{direct_info('domain', 'open.example')->{ns}}],
    ['ns1.relay-new.example', 'ns2.dns.example'], 'the registry has the new NS set');

ok($epp->update_domain({ name => 'open.example',
    rem => { ns => ['ns1.relay-new.example'] } }), 'domain:update: remove one NS');
relayed_ok($epp, 1000, 'domain:update rem');
is_deeply(direct_info('domain', 'open.example')->{ns}, ['ns2.dns.example'],
    'the registry shows it removed');

ok(!$epp->update_domain({ name => 'other.example',
    add => { ns => ['ns2.dns.example'] } }),
    "updating another registrar's domain fails");
relayed_ok($epp, 2201, "domain:update of other.example");
is_deeply(direct_info('domain', 'other.example')->{ns}, ['ns.dns.example'],
    'other.example unchanged in the registry');

# ---- renew ----

my $before = direct_info('domain', 'open.example')->{exDate};
like($before, qr/^2030-03-01/, 'open.example expires 2030-03-01');
ok($epp->renew_domain({ name => 'open.example', cur_exp_date => '2030-03-01',
    period => 1 }), 'domain:renew open.example for a year') or diag($Net::EPP::Simple::Error);
relayed_ok($epp, 1000, 'domain:renew');
like(direct_info('domain', 'open.example')->{exDate}, qr/^2031-03-01/,
    'the registry has the new expiry date');

# ---- the journal: every clTRID sent through the gateway ----

my @through = sort keys %sent;
cmp_ok(scalar @through, '>=', 15, 'clTRIDs collected: ' . scalar @through);
for my $t (@through) {
	my @hit = journal_find($rs, clTRID => $t);
	is(scalar @hit, 1, "journal has clTRID $t") or next;
	is($hit[0]{code}, $sent{$t}, "journal code $sent{$t} for $t");
}

# ---- logout ----

ok($epp->logout, 'logout');
relayed_ok($epp, 1500, 'logout');
gateway_log_like($gw, qr/session \d+: registrar: closed/, 'gateway logs the session end');

# ---- several sessions at once ----

my $N = 5;
my $M = 20;
my %kids;
for my $k (1 .. $N) {
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		my $bad = 0;
		my $e = epp_client(port => $gw->{port});
		_exit(100) unless $e;
		my @xml = (
		    "<create><host:create $H><host:name>ns-c$k.dns.example</host:name></host:create></create>",
		    "<info><domain:info $D><domain:name>locked.example</domain:name></domain:info></info>",
		    "<check><domain:check $D><domain:name>c$k.example</domain:name></domain:check></check>",
		    "<info><host:info $H><host:name>ns1.locked.example</host:name></host:info></info>",
		    "<info><domain:info $D><domain:name>open.example</domain:name></domain:info></info>",
		);
		for my $n (1 .. $M) {
			my $trid = sprintf('C%d-%02d', $k, $n);
			my $x = $n == 1 ? $xml[0] : $xml[1 + $n % 4];
			my $doc = epp_raw($e, epp_command($x, $trid));
			$bad++ unless defined result_code($doc)
			    && result_code($doc) == 1000
			    && xpc($doc)->findvalue('//epp:trID/epp:clTRID') eq $trid;
		}
		$bad++ unless result_code(epp_raw($e, epp_command('<logout/>', "C$k-LO"))) == 1500;
		_exit($bad > 99 ? 99 : $bad);
	}
	$kids{$pid} = $k;
}
my $deadline = time + 40;
my %status;
while (%kids && time < $deadline) {
	for my $pid (keys %kids) {
		next unless waitpid($pid, WNOHANG) == $pid;
		$status{delete $kids{$pid}} = $? >> 8;
	}
	sleep(0.05);
}
kill('KILL', keys %kids) if %kids;
is_deeply(\%status, { map { $_ => 0 } 1 .. $N },
    "$N parallel sessions, $M commands each: every reply 1000 with its own clTRID, in order");
my @cj = grep { $_->{clTRID} =~ /^C\d+-\d+$/ } journal_lines($rs);
is(scalar @cj, $N * $M, 'the journal has all ' . $N * $M . ' parallel commands');
for my $k (1 .. $N) {
	my @mine = map { $_->{clTRID} } grep { $_->{clTRID} =~ /^C$k-/ } @cj;
	is_deeply(\@mine, [map { sprintf('C%d-%02d', $k, $_) } 1 .. $M],
	    "session $k: executed in order, each once");
	ok(direct_info('host', "ns-c$k.dns.example"), "host ns-c$k.dns.example exists in the registry");
}

# The gateway is still fine afterwards.
my $after = epp_client(port => $gw->{port});
ok($after && $after->check_domain('open.example') == 0, 'a new session works after the parallel run');
epp_close($after);
epp_close($direct);

gateways_clean();
done_testing();
