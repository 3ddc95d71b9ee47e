#!/usr/bin/perl
# SIGTERM with a command in flight: the gateway stops accepting, lets the
# command finish (its reply reaches the registrar), then closes the session
# and exits 0.  The registry here is a slow stand-in that answers after 2 s.
use strict;
use warnings;
use IO::Socket::SSL;
use POSIX qw(WNOHANG _exit);
use Test::More;
use Time::HiRes qw(sleep time);

use EppgwTest qw(:all);

my $certs = certs_dir();
my $srv = IO::Socket::SSL->new(Listen => 4, LocalAddr => '127.0.0.1',
    LocalPort => 0, ReuseAddr => 1, SSL_server => 1,
    SSL_cert_file => "$certs/regsim.pem", SSL_key_file => "$certs/regsim.key",
    SSL_ca_file => "$certs/ca.pem", SSL_verify_mode => SSL_VERIFY_PEER
    | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) or die "slow registry: $SSL_ERROR";
my $port = $srv->sockport;

sub frame { my ($x) = @_; return pack('N', length($x) + 4) . $x }
sub reply {
	my ($trid) = @_;
	return frame('<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:'
	    . 'ietf:params:xml:ns:epp-1.0"><response><result code="1000"><msg>'
	    . 'Command completed successfully</msg></result><trID><clTRID>'
	    . "$trid</clTRID><svTRID>slow-1</svTRID></trID></response></epp>");
}

my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	my $c = $srv->accept or _exit(1);
	print $c frame('<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:'
	    . 'ietf:params:xml:ns:epp-1.0"><greeting><svID>slow</svID><svDate>'
	    . '2026-01-01T00:00:00Z</svDate><svcMenu><version>1.0</version>'
	    . '<lang>en</lang><objURI>urn:ietf:params:xml:ns:domain-1.0'
	    . '</objURI></svcMenu></greeting></epp>');
	while (1) {
		my $hdr = '';
		while (length($hdr) < 4) {
			my $n = sysread($c, $hdr, 4 - length($hdr), length($hdr));
			_exit(0) unless $n;
		}
		my $len = unpack('N', $hdr) - 4;
		my $body = '';
		while (length($body) < $len) {
			my $n = sysread($c, $body, $len - length($body),
			    length($body));
			_exit(0) unless $n;
		}
		my ($trid) = $body =~ m{<clTRID>([^<]*)</clTRID>};
		sleep(2) if ($trid // '') eq 'SLOW-1';
		print $c reply($trid // '');
	}
}
close($srv);

my $gw = start_gateway(upstream_address => "127.0.0.1:$port");
my $s = tls_connect(port => $gw->{port}, cert => 'registrar');
ok($s, 'a registrar session through the gateway');
my $greeting = read_frame($s);
like($greeting // '', qr/<svID>slow<\/svID>/, 'the slow registry greets');
# A login first: before one the gateway answers every command itself.
write_frame($s, epp_command('<login><clID>registrar1</clID><pw>demo-password-1'
    . '</pw><options><version>1.0</version><lang>en</lang></options><svcs>'
    . '<objURI>urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login>',
    'SLOW-LOGIN'));
like(read_frame($s) // '', qr/result code="1000"/, 'logged in');
write_frame($s, epp_command('<info><domain:info xmlns:domain="urn:ietf:'
    . 'params:xml:ns:domain-1.0"><domain:name>a.example</domain:name>'
    . '</domain:info></info>', 'SLOW-1'));
sleep(0.5);
my $t0 = time;
kill('TERM', $gw->{pid});
my $r = read_frame($s);
like($r // '', qr/<clTRID>SLOW-1<\/clTRID>/,
    'the command in flight still gets its reply after SIGTERM');
like($r // '', qr/result code="1000"/, 'the registry\'s 1000');
ok(defined wait_closed($s, 5), 'then the gateway closes the session');
my $st;
while (time - $t0 < 12) {
	if (waitpid($gw->{pid}, WNOHANG) == $gw->{pid}) {
		$st = $?;
		last;
	}
	sleep(0.05);
}
is($st, 0, 'and exits 0');
ok(time - $t0 >= 1, 'only after the reply was in (not at once)');
delete $gw->{pid};
waitpid($pid, 0);
gateways_clean();
done_testing();
