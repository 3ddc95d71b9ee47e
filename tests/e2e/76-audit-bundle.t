#!/usr/bin/perl
# 76-audit-bundle.t: evidence bundles for auditors (issue #13 item 6;
# docs/audit-log.md, eppgw-eppgw_audit(1)): `eppgw-audit export --change ID`
# writes one self-contained file (the change's records, their inclusion
# proofs, the checkpoint and the key) and `verify-bundle FILE` checks it
# offline.
#
#   story     a live gateway (lock on locked.example, approvals, audit): an
#             NS change held (2304), bob approves it with his TOTP code,
#             the resend goes through (1000); the gateway stops (sealed)
#   export    --change ID and --seq (of the resend's reply): the same
#             records; without --vkey, or of an unknown change: refused;
#             from a tampered log: exit 1, no bundle
#   verify    exit 0, VALID; the table lists the held cmd, bob's grant, the
#             allowed resend with approver bob, and the replies 2304/1000
#   tamper    one byte changed at several positions of a record's line and
#             of a proof: exit 1; another --vkey: exit 1; a missing file
#             or a newer format: exit 3
#
#   make certs build/eppgw build/eppgw-regsim build/eppgwctl build/eppgw-audit
#   prove -I tests/e2e/lib tests/e2e/76-audit-bundle.t
use strict;
use warnings;

use Test::More;
use File::Spec;
use JSON::PP;
use Time::HiRes qw(time);
use EppgwTest qw(:all);

my $t0 = time;
my $VKEY = File::Spec->catfile(certs_dir(), 'audit.pub');
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';

skip_without(built => [qw(eppgw eppgw-regsim eppgwctl eppgw-audit)],
    tools => [qw(oathtool openssl)]);

my ($rs, $gw, $reg, $direct) = audited_gateway();
my $dir = $gw->{audit_dir};

sub send_cmd {
	my ($inner, $trid) = @_;
	return epp_send($reg, $inner, trid => $trid);
}

# ---- the story ----

is(result_code(registry_cmd($direct, "<create><host:create $H>"
    . '<host:name>ns7.dns.example</host:name></host:create></create>')),
    1000, 'ns7.dns.example created directly at the registry');
my $id = held_ok(send_cmd(ns_update('locked.example', 'add',
    'ns7.dns.example'), 'EV-1'), 'EV-1: held,');
ctl_approve_ok($gw, 'bob', $id);
is(send_cmd(ns_update('locked.example', 'add', 'ns7.dns.example'), 'EV-2')
    ->{code}, 1000, 'EV-2: the resend goes through: 1000');
is(send_cmd(ns_update('open.example', 'add', 'ns7.dns.example'), 'EV-3')
    ->{code}, 1000, 'EV-3: an unrelated change on open.example: 1000');
epp_close($_) for $reg, $direct;
is(stop_gateway($gw), 0, 'the gateway stops on SIGTERM');

# ---- export ----

my $bf = File::Spec->catfile(run_dir(), "bundle-$id.json");
my ($rc, $out, $err) = eppgw_audit('export', '--change', $id, '--vkey', $VKEY,
    '-o', $bf, $dir);
is($rc, 0, "export --change $id: exit 0") or diag($err);
my $text = slurp($bf);
my $b = eval { decode_json($text) } // {};
is($b->{format}, 'eppgw-evidence/1', 'the bundle is one JSON object, '
    . 'format eppgw-evidence/1');
like($text, qr/\A\{"format":"eppgw-evidence\/1",\n"origin":/,
    'the fixed layout: a member a line');
my @recs = map { eval { decode_json($_->{line}) } // {} }
    @{$b->{records} // []};
is_deeply([map { join ':', $_->{t}, $_->{cltrid} // $_->{event}
    // $_->{code} } @recs], ['cmd:EV-1', 'rsp:EV-1', 'approval:granted',
    'cmd:EV-2', 'rsp:EV-2'], 'the records of the change: the held cmd and '
    . 'its reply, the grant, the resend and its reply; not EV-3')
    or diag($text);
like($b->{vkey} // '', qr/^[^+]+\+[0-9a-f]{8}\+[A-Za-z0-9+\/=]+$/,
    'the verifier key string');
like($b->{checkpoint} // '', qr/\A\Q$b->{origin}\E\n\d+\n/,
    'the checkpoint note of the origin');

# --seq of the resend's reply gives the same records.
my ($rsp2) = grep { ($_->{t} // '') eq 'rsp' && ($_->{cltrid} // '') eq 'EV-2' }
    @recs;
($rc, $out, $err) = eppgw_audit('export', '--seq', $rsp2->{seq} // -1, '--vkey',
    $VKEY, $dir);
my $bs = eval { decode_json($out) } // {};
is_deeply([map { $_->{seq} } @{$bs->{records} // []}],
    [map { $_->{seq} } @{$b->{records} // []}],
    "export --seq $rsp2->{seq} (a reply of the change): the same records")
    or diag("exit $rc: $err");
($rc, $out, $err) = eppgw_audit('export', '--change', $id, $dir);
is($rc, 3, 'export without --vkey: exit 3 (the bundle needs the key)');
($rc, $out, $err) = eppgw_audit('export', '--change', 'ffffffffffff', '--vkey',
    $VKEY, $dir);
is($rc, 1, 'export of an unknown change: exit 1') or diag($err);

# ---- verify-bundle ----

($rc, $out, $err) = eppgw_audit('verify-bundle', $bf);
is($rc, 0, 'verify-bundle: exit 0') or diag("$out$err");
like($out, qr/^5 records: VALID$/m, 'verify-bundle: VALID');
my @lines = split /\n/, $out;
my ($hi) = grep { $lines[$_] =~ /^SEQ\s/ } 0 .. $#lines;
my @cols = split ' ', $lines[$hi // 0];
is_deeply(\@cols, [qw(SEQ TS TYPE COMMAND DECISION WHO APPROVER CODE)],
    'the table header');
my @rows = map { my %h; @h{@cols} = split ' '; \%h }
    grep { !/records: VALID$/ } @lines[($hi // 0) + 1 .. $#lines];
is_deeply([map { join ' ', @$_{qw(TYPE COMMAND DECISION WHO APPROVER CODE)} }
    @rows], ['cmd domain:update approval_required registrar - -',
    'rsp - - gateway - 2304', 'approval - granted bob - -',
    'cmd domain:update allow registrar bob -', 'rsp - - registry - 1000'],
    'the table: held cmd, 2304, bob\'s grant, the resend allowed with '
    . 'approver bob, 1000') or diag($out);
($rc, $out, $err) = eppgw_audit('verify-bundle', '--vkey', $VKEY, $bf);
is($rc, 0, 'verify-bundle --vkey (the right key): exit 0') or diag($err);

# Another key pinned: the bundle's key is not trusted.
my $other = File::Spec->catfile(run_dir(), 'other.key');
my $otherpub = File::Spec->catfile(run_dir(), 'other.pub');
system("openssl genpkey -algorithm ed25519 -out '$other' 2>/dev/null && "
    . "openssl pkey -in '$other' -pubout -out '$otherpub' 2>/dev/null") == 0
    or die 'openssl';
($rc, $out, $err) = eppgw_audit('verify-bundle', '--vkey', $otherpub, $bf);
ok($rc == 1 && $out =~ /^INVALID$/m && $err =~ /not the --vkey key/,
    'verify-bundle --vkey of another key: exit 1') or diag("$rc $out$err");

# ---- tampering ----

my $tf = File::Spec->catfile(run_dir(), 'bundle-tampered.json');
# One byte changed at several places of a record's line and of a proof.
my $n = 0;
my @lines_b = split /\n/, $text;
for my $li (grep { $lines_b[$_] =~ /^\{"seq":/ } 0 .. $#lines_b) {
	my $l = $lines_b[$li];
	my $ls = index($l, '"line":"') + 8;
	my $ps = index($l, '"proof":["') + 10;
	my $le = index($l, '","proof"');
	for my $pos ($ls, $ls + 5, int(($ls + $le) / 2), $le - 1, $ps,
	    $ps + 31, length($l) - 4) {
		next if $pos < 0 || $pos >= length $l;
		my $orig = substr($l, $pos, 1);
		my $new = $orig eq '0' ? '1' : $orig =~ /[0-9a-f]/ ? '0' :
		    $orig eq 'x' ? 'y' : 'x';
		my @t = @lines_b;
		substr($t[$li], $pos, 1) = $new;
		spew($tf, join("\n", @t) . "\n");
		my ($trc, $tout) = eppgw_audit('verify-bundle', $tf);
		$n++;
		is($trc, 1, "record line $li, byte $pos ('$orig' -> '$new'): "
		    . 'exit 1') or diag($tout);
	}
	last if $n >= 21;
}
# A line swapped for another record's, seq and all: the proof fails.
{
	my $t = $text;
	$t =~ s/"line":"\{\\"[^\n]*?EV-1[^\n]*?","proof"/"line":"{}","proof"/;
	spew($tf, $t);
	($rc) = eppgw_audit('verify-bundle', $tf);
	is($rc, 1, 'a record\'s line replaced: exit 1');
}
{
	my $t = $text;
	$t =~ s/"checkpoint":"([^\n]*?)\\n(\d+)\\n/"checkpoint":"$1\\n@{[$2 + 1]}\\n/;
	spew($tf, $t);
	($rc) = eppgw_audit('verify-bundle', $tf);
	is($rc, 1, 'the checkpoint\'s size altered: exit 1');
}
($rc) = eppgw_audit('verify-bundle', File::Spec->catfile(run_dir(), 'nothing'));
is($rc, 3, 'a missing bundle: exit 3');
{
	(my $t = $text) =~ s/eppgw-evidence\/1/eppgw-evidence\/2/;
	spew($tf, $t);
	($rc) = eppgw_audit('verify-bundle', $tf);
	is($rc, 3, 'a newer format: exit 3');
}

# Export refuses a tampered log.
my $bad = audit_tampered_copy($dir, 'audit-bundle-altered',
    '"cltrid":"EV-1"', '"cltrid":"EV-0"');
($rc, $out, $err) = eppgw_audit('export', '--change', $id, '--vkey', $VKEY,
    $bad);
ok($rc == 1 && $out eq '', 'export from a tampered log: exit 1, no bundle')
    or diag("exit $rc: $err");

gateways_clean();
note(sprintf('76-audit-bundle.t took %.1f s', time - $t0));
done_testing();
