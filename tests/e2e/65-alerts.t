#!/usr/bin/perl
# Signed webhook alerts from the live gateway: a local receiver gets
# approval_required, approval_granted and ticket_consumed with a valid
# HMAC-SHA256 signature and no secret in them; a dead receiver never holds
# EPP traffic up.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use File::Spec;
use JSON::PP;
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

use EppgwTest qw(:all);

my $SECRET = 'e2e-alert-secret-' . int(rand(1e9));
my $dir = run_dir();
my $got = "$dir/alerts.jsonl";

# A minimal HTTP receiver in a child: one JSON line per POST, with the
# signature header and whether it verifies.
my ($rport, $rpid) = webhook_receiver(secret => $SECRET, file => $got,
    seconds => 120);

sub alerts {
	open(my $fh, '<', $got) or return ();
	return map { decode_json($_) } <$fh>;
}
sub wait_alert {
	my ($event) = @_;
	for (1 .. 100) {
		for my $a (alerts()) {
			my $b = eval { decode_json($a->{body}) } or next;
			return ($a, $b) if ($b->{event} // '') eq $event;
		}
		sleep(0.1);
	}
	return ();
}

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    approvals => 1, audit => 1, alerts => { url => "http://127.0.0.1:$rport/hook",
    secret_text => $SECRET });
my $epp = epp_client(port => $gw->{port}) or die 'login';
my $change = '<update><domain:update xmlns:domain="urn:ietf:params:xml:ns:'
    . 'domain-1.0"><domain:name>locked.example</domain:name><domain:add>'
    . '<domain:ns><domain:hostObj>ns2.dns.example</domain:hostObj>'
    . '</domain:ns></domain:add></domain:update></update>';
my $doc = epp_raw($epp, epp_command($change, 'AL-1'));
my ($id) = xpc($doc)->findvalue('//epp:reason') =~ /approval_required ([0-9a-f]{12})/;
ok($id, "held with change id $id");

my ($a, $b) = wait_alert('approval_required');
ok($a, 'the receiver got an approval_required alert');
ok($a && $a->{valid}, 'its X-Eppgw-Signature verifies with the secret');
is($b->{change_id}, $id, 'it names the change id');
is($b->{object}, 'locked.example', 'and the object');
is_deeply($b->{classes}, ['ns'], 'and the classes');
is($b->{requester}, 'registrar', 'and the requester');
like($b->{audit_seq} // '', qr/^\d+$/, 'the audit record\'s seq');
like($b->{audit_leaf} // '', qr/^[0-9a-f]{64}$/, 'and its leaf hash');
ok($a->{ts} && abs($a->{ts} - time) < 60, 'a timestamp header');
unlike($a->{body} . $a->{head}, qr/\Q$SECRET\E/, 'the secret is not in it');

my ($rc, $out, $err) = ctl($gw, 'bob', 'approve', $id, '--otp', totp('bob'));
is($rc, 0, 'bob approves') or diag($err);
($a, $b) = wait_alert('approval_granted');
ok($a && $a->{valid}, 'approval_granted alert, signed');
is($b->{approver}, 'bob', 'naming the approver');
unlike($a->{body}, qr/"otp"|\b\d{6}\b.*otp/, 'no TOTP code in it');

$doc = epp_raw($epp, epp_command($change, 'AL-2'));
is(result_code($doc), 1000, 'the resend goes through');
($a, $b) = wait_alert('ticket_consumed');
ok($a && $a->{valid}, 'ticket_consumed alert: the protected change executed');
is($b->{approver}, 'bob', 'with its approver');

# The audit log's checkpoints go to the webhook too (#13 item 4): a copy
# outside the machine, which `eppgw-audit verify --known-checkpoint`
# holds a log against.
($a, $b) = wait_alert('checkpoint');
ok($a && $a->{valid}, 'a signed checkpoint alert');
is($b->{origin}, 'eppgw/e2e', 'of the log\'s origin');
like($b->{note} // '', qr/\A\Qeppgw\/e2e\E\n\d+\n\S+\n\n\x{2014} \Qeppgw\/e2e\E /,
    'carrying the signed note (C2SP checkpoint)');
if ($b && $b->{note}) {
	my $known = run_dir() . '/known.cp';
	open(my $kf, '>', $known) or die;
	print $kf $b->{note};
	close($kf);
	my $vkey = File::Spec->catfile(certs_dir(), 'audit.pub');
	my $audit = File::Spec->catfile(build_dir(), 'eppgw-audit');
	my $out = qx{"$audit" verify --vkey "$vkey" --known-checkpoint "$known" "$gw->{audit_dir}" 2>&1};
	ok(($? >> 8) == 0 || ($? >> 8) == 2, 'the log verifies against the '
	    . 'checkpoint the webhook received') or diag($out);
}
epp_close($epp);
stop_gateway($gw);

# A dead receiver (nothing listens) must not hold EPP traffic up: alerts
# are queued and sent from the event loop, never on the command's path.
my $dead = free_port();
my $gw2 = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    approvals => 1, alerts => { url => "http://127.0.0.1:$dead/",
    secret_text => $SECRET, timeout_ms => 2000 });
$epp = epp_client(port => $gw2->{port}) or die 'login';
my $t0 = time;
my $held = 0;
for my $i (1 .. 50) {
	(my $c = $change) =~ s/ns2\.dns\.example/ns$i.dns.example/;
	$doc = epp_raw($epp, epp_command($c, "DEAD-$i"));
	$held++ if (result_code($doc) // '') eq '2304';
}
my $took = time - $t0;
is($held, 50, '50 held changes answered with a dead alert receiver');
# 50 alerts x 2 s timeout would be 100 s if delivery blocked the path.
ok($took < 10, sprintf('they took %.2f s in all (no alert delivery on the '
    . 'EPP path)', $took));
epp_close($epp);

kill('TERM', $rpid);
waitpid($rpid, 0);
gateways_clean();
done_testing();
