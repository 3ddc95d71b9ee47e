#!/usr/bin/perl
# 74-audit-changes.t: `eppgw-audit changes`, the reviewer's question in one
# command (docs/audit-log.md, eppgw-eppgw_audit(1)): who changed the NS of an
# object between two times, who approved it, what the registry answered,
# and what changed at the registry that no command explains.  Also the
# time bounds of show and changes, and show --table's columns.
#
#   story        a live gateway (lock on locked.example, approvals, audit,
#                a watch session): an info (not a change), an NS change
#                held (2304) and the same change spelled LOCKED.EXAMPLE.,
#                bob's approval with his TOTP code, the resend (1000); an
#                NS change left held; one denied by carol; an NS change on
#                open.example; a DS removal held; an IDN domain created;
#                then an NS added directly at the registry (drift)
#   changes      --object LOCKED.EXAMPLE. --class ns in table, CSV and
#                JSON: the approved change has approver bob, reply 1000
#                from the registry and the grant; the held one
#                approval_required, 2304 from the gateway; the denied one
#                carol's denial; the drift row its added fact; open.example,
#                the DS change and the info are absent; --vkey marks every
#                row sealed after the clean stop; IDN and contact-free
#                names are normalised as the gateway does
#   time         --since with +05:30 and --until with -03:00 offsets (the
#                same instants as the records' Z times), -1h, dates;
#                "yesterday", "1h", a bad date exit 3, for show too
#   show         --table: CODE is the rsp record's code, not its seq;
#                APPROVER and REPLY on the cmd row of the resend
#   prove        the approved change's record proves (hashes only) and the
#                proof verifies; a copy with an earlier record altered
#                gives no proof but the failure (exit 1)
#
#   make certs build/eppgw build/eppgw-regsim build/eppgwctl build/eppgw-audit
#   prove -I tests/e2e/lib tests/e2e/74-audit-changes.t
use strict;
use warnings;

use Test::More;
use Encode qw(encode);
use File::Spec;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);
use EppgwTest qw(:all);

my $t0 = time;
my $VKEY = File::Spec->catfile(certs_dir(), 'audit.pub');
my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';

skip_without(built => [qw(eppgw eppgw-regsim eppgwctl eppgw-audit)],
    tools => ['oathtool']);

my ($rs, $gw, $reg, $direct) = audited_gateway(watch => 1);
my $dir = $gw->{audit_dir};

# ---- helpers ----

# Send a command through the gateway: { code, reason, id, ... }.
sub send_cmd {
	my ($inner, $trid) = @_;
	return epp_send($reg, $inner, trid => $trid);
}

# Held: 2304 approval_required; returns the change id.
sub held {
	my ($inner, $trid, $label) = @_;
	return held_ok(send_cmd($inner, $trid), "$label:");
}

# A table: (header columns, rows as hashes).  Cells have no blanks but
# the last (DETAIL), which may.
sub table {
	my ($out) = @_;
	my @lines = split /\n/, $out;
	my @cols = split ' ', shift(@lines) // '';
	my @rows;
	for my $l (@lines) {
		my @c = split(' ', $l, scalar @cols);
		my %h;
		@h{@cols} = @c;
		push @rows, \%h;
	}
	return (\@cols, @rows);
}

# RFC 4180: CRLF line ends, quoted fields with doubled quotes.
sub csv {
	my ($text) = @_;
	my (@recs, @f, $cur, $q);
	$cur = '';
	my $i = 0;
	my $n = length $text;
	while ($i < $n) {
		my $ch = substr($text, $i, 1);
		if ($q) {
			if ($ch eq '"' && substr($text, $i + 1, 1) eq '"') {
				$cur .= '"';
				$i += 2;
				next;
			}
			if ($ch eq '"') { $q = 0; $i++; next }
			$cur .= $ch;
			$i++;
			next;
		}
		if ($ch eq '"') { $q = 1; $i++; next }
		if ($ch eq ',') { push @f, $cur; $cur = ''; $i++; next }
		if (substr($text, $i, 2) eq "\r\n") {
			push @f, $cur;
			push @recs, [@f];
			@f = ();
			$cur = '';
			$i += 2;
			next;
		}
		$cur .= $ch;
		$i++;
	}
	return @recs;
}

sub by_trid { return { map { ($_->{cltrid} // $_->{DETAIL} // '') => $_ } @_ } }

# ---- the story ----

for my $h (qw(ns3 ns4 ns5)) {
	is(result_code(registry_cmd($direct, "<create><host:create $H>"
	    . "<host:name>$h.dns.example</host:name></host:create></create>")),
	    1000, "$h.dns.example created directly at the registry");
}

is(send_cmd(info_domain('locked.example'), 'CH-INFO')->{code}, 1000,
    'CH-INFO: domain:info locked.example (reads: not a change)');
my $id1 = held(ns_update('locked.example', 'add', 'ns2.dns.example'),
    'CH-1', 'CH-1: add NS ns2.dns.example to locked.example');
my $id1b = held('<update><x:update xmlns:x="urn:ietf:params:xml:ns:'
    . 'domain-1.0"><x:name>LOCKED.EXAMPLE.</x:name><x:add><x:ns><x:hostObj>'
    . 'NS2.DNS.EXAMPLE</x:hostObj></x:ns></x:add></x:update></update>', 'CH-2',
    'CH-2: the same change as LOCKED.EXAMPLE.');
is($id1b, $id1, 'CH-2 has the change id of CH-1');
ctl_approve_ok($gw, 'bob', $id1);
is(send_cmd(ns_update('locked.example', 'add', 'ns2.dns.example'), 'CH-3')
    ->{code}, 1000, 'CH-3: the resend goes through: 1000');
my $id2 = held(ns_update('locked.example', 'add', 'ns3.dns.example'), 'CH-4',
    'CH-4: add NS ns3.dns.example, left held');
my $id3 = held(ns_update('locked.example', 'add', 'ns4.dns.example'), 'CH-5',
    'CH-5: add NS ns4.dns.example');
my @dn = ctl($gw, 'carol', 'deny', $id3);
is($dn[0], 0, "carol denies $id3") or diag("stdout $dn[1] stderr $dn[2]");
is(send_cmd(ns_update('open.example', 'add', 'ns2.dns.example'), 'CH-6')
    ->{code}, 1000, 'CH-6: add NS on open.example (unrelated): 1000');
held("<update><domain:update $D><domain:name>locked.example</domain:name>"
    . '</domain:update></update><extension><secDNS:update xmlns:secDNS='
    . '"urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:rem><secDNS:all>true'
    . '</secDNS:all></secDNS:rem></secDNS:update></extension>', 'CH-7',
    'CH-7: remove the DS records of locked.example');
my $idn = send_cmd("<create><domain:create $D><domain:name>"
    . encode('UTF-8', "b\x{FC}cher.example") . '</domain:name><domain:authInfo>'
    . '<domain:pw>idn-auth-1</domain:pw></domain:authInfo></domain:create>'
    . '</create>', 'CH-8');
ok($idn->{code} ne 'none', "CH-8: create b\\x{FC}cher.example (an IDN): "
    . "answered $idn->{code}");

# Drift: an NS added at the registry itself; the watch session (refresh
# 5 s) records an observation no command explains.
my $tdrift = time;
is(result_code(registry_cmd($direct, ns_update('locked.example', 'add',
    'ns5.dns.example'))), 1000, 'ns5.dns.example added to locked.example '
    . 'directly at the registry');
my $seen;
while (!$seen && time - $tdrift < 25) {
	my (undef, $out) = eppgw_audit('show', '--type', 'observation',
	    '--object', 'locked.example', $dir);
	$seen = grep { /ns5\.dns\.example/ } split /\n/, $out;
	sleep(0.25) unless $seen;
}
ok($seen, sprintf('the watch session recorded the drift (%.1f s)',
    time - $tdrift));

epp_close($_) for $reg, $direct;
is(stop_gateway($gw), 0, 'the gateway stops on SIGTERM');
my ($vrc, $vout, $verr) = eppgw_audit('verify', '--vkey', $VKEY, $dir);
is($vrc, 0, 'verify after the clean stop: valid and sealed')
    or diag("$vout$verr");

# ---- changes: JSON ----

my ($rc, $out, $err) = eppgw_audit('changes', '--object', 'LOCKED.EXAMPLE.',
    '--class', 'ns', '--format', 'json', $dir);
is($rc, 0, 'changes --format json: exit 0') or diag($err);
my $rows = eval { decode_json($out) };
ok(ref $rows eq 'ARRAY', 'changes --format json is one JSON array')
    or diag($out);
$rows = [] unless ref $rows eq 'ARRAY';
my @lines = split /\n/, $out;
is(scalar(@lines), @$rows + 2, 'one row a line between "[" and "]"');
my @cmds = grep { $_->{kind} eq 'cmd' } @$rows;
my @drift = grep { $_->{kind} eq 'drift' } @$rows;
is_deeply([map { $_->{cltrid} } @cmds], [qw(CH-1 CH-2 CH-3 CH-4 CH-5)],
    'the NS changes of locked.example, in log order: not the info, the DS '
    . 'change or open.example');
ok(!grep({ $_->{object} ne 'locked.example' || !grep({ $_ eq 'ns' }
    @{$_->{classes}}) } @$rows), 'every row is locked.example, class ns');
my $j = by_trid(@cmds);
my $a = $j->{'CH-3'} // {};
is_deeply([@$a{qw(decision approver reply reply_from principal clid command
    change_id)}], ['allow', 'bob', 1000, 'registry', 'registrar',
    'registrar1', 'domain:update', $id1], 'CH-3: allowed, approver bob, '
    . 'the registry answered 1000; requester registrar, clID registrar1');
is_deeply([map { "$_->{event}:$_->{operator}" } @{$a->{approvals} // []}],
    ['granted:bob'], 'CH-3: its approval event: granted by bob');
for my $t (qw(CH-1 CH-2)) {
	my $r = $j->{$t} // {};
	is_deeply([@$r{qw(decision reply reply_from approver)},
	    map { "$_->{event}:$_->{operator}" } @{$r->{approvals} // []}],
	    ['approval_required', 2304, 'gateway', undef, 'granted:bob'],
	    "$t: held (2304 from the gateway), later granted by bob");
}
is_deeply([@{$j->{'CH-4'} // {}}{qw(decision reply change_id)},
    scalar @{$j->{'CH-4'}{approvals} // [1]}], ['approval_required', 2304,
    $id2, 0], 'CH-4: held, no approval');
is_deeply([map { "$_->{event}:$_->{operator}" }
    @{$j->{'CH-5'}{approvals} // []}], ['denied:carol'],
    'CH-5: denied by carol');
ok(!grep({ defined $_->{sealed} } @$rows), 'without --vkey: sealed is null');
is(scalar(@drift), 1, 'one drift row');
is_deeply([@{$drift[0] // {}}{qw(object added gone)}], ['locked.example',
    ['ns=ns5.dns.example'], []], 'the drift row: ns=ns5.dns.example added '
    . 'at the registry');
like($drift[0]{seen} // '', qr/^(refresh|change|ask|seen)$/,
    'the drift row says how the watch session saw it') if @drift;

# ---- changes: table ----

($rc, $out, $err) = eppgw_audit('changes', '--object', 'LOCKED.EXAMPLE.',
    '--class', 'ns', $dir);
is($rc, 0, 'changes (table): exit 0') or diag($err);
my ($cols, @trows) = table($out);
is_deeply($cols, [qw(TIME SEQ KIND PRINCIPAL CLID COMMAND CLASSES CHANGE
    DECISION APPROVER REPLY FROM DETAIL)], 'the table header');
my $t = by_trid(grep { $_->{KIND} eq 'cmd' } @trows);
is_deeply([@{$t->{'CH-3'} // {}}{qw(DECISION APPROVER REPLY FROM CHANGE)}],
    ['allow', 'bob', '1000', 'registry', $id1],
    'table: CH-3 allowed, approver bob, reply 1000 from the registry');
is_deeply([@{$t->{'CH-1'} // {}}{qw(DECISION APPROVER REPLY FROM)}],
    ['approval_required', 'granted:bob', '2304', 'gateway'],
    'table: CH-1 held, then granted by bob');
is_deeply([@{$t->{'CH-4'} // {}}{qw(DECISION APPROVER REPLY)}],
    ['approval_required', '-', '2304'], 'table: CH-4 held, no approver');
is($t->{'CH-5'}{APPROVER}, 'denied:carol', 'table: CH-5 denied by carol');
is(scalar(@trows), scalar(@$rows), 'the table has the rows of the JSON');
my ($td) = grep { $_->{KIND} eq 'drift' } @trows;
like($td->{DETAIL} // '', qr/^\+ns=ns5\.dns\.example \(\w+\)$/,
    'table: the drift row\'s DETAIL: +ns=ns5.dns.example (how seen)');
ok(!grep({ /CH-6|CH-7|CH-INFO|CH-8/ } split /\n/, $out),
    'table: open.example, the DS change, the info and the IDN create are '
    . 'absent');

# ---- changes: CSV ----

($rc, $out, $err) = eppgw_audit('changes', '--object', 'locked.example',
    '--class', 'ns', '--format', 'csv', $dir);
is($rc, 0, 'changes --format csv: exit 0') or diag($err);
like($out, qr/\A[^\n]*\r\n/, 'CSV lines end in CRLF (RFC 4180)');
my @recs = csv($out);
my $hdr = shift @recs // [];
is_deeply($hdr, [qw(time seq kind object principal clid cltrid command
    classes change_id decision reason approver approvals reply reply_from
    sealed gone added seen)], 'the CSV header');
my @crows = map { my %h; @h{@$hdr} = @$_; \%h } @recs;
ok(!grep({ @$_ != @$hdr } @recs), 'every CSV record has every column');
my $c = by_trid(grep { $_->{kind} eq 'cmd' } @crows);
is_deeply([@{$c->{'CH-3'} // {}}{qw(object decision approver approvals reply
    reply_from)}], ['locked.example', 'allow', 'bob', 'granted:bob', '1000',
    'registry'], 'CSV: CH-3 approver bob, reply 1000 from the registry');
is_deeply([@{$c->{'CH-4'} // {}}{qw(decision approver reply)}],
    ['approval_required', '', '2304'], 'CSV: CH-4 held');
is(scalar(@crows), scalar(@$rows), 'the CSV has the rows of the JSON');

# ---- what counts ----

($rc, $out) = eppgw_audit('changes', '--object', 'locked.example', '--format',
    'json', $dir);
my $all = eval { decode_json($out) } // [];
is_deeply([map { $_->{cltrid} } grep { $_->{kind} eq 'cmd' } @$all],
    [qw(CH-1 CH-2 CH-3 CH-4 CH-5 CH-7)],
    'without --class: the DS change too, still not the info');
($rc, $out) = eppgw_audit('changes', '--object', 'locked.example', '--class',
    'ds', '--format', 'json', $dir);
my $ds = eval { decode_json($out) } // [];
is_deeply([map { $_->{cltrid} // $_->{kind} } @$ds], ['CH-7'],
    '--class ds: only the DS change (not the NS drift)');
($rc, $out) = eppgw_audit('changes', '--object', 'open.example', '--format',
    'json', $dir);
my $open = eval { decode_json($out) } // [];
is_deeply([map { $_->{cltrid} } @$open], ['CH-6'],
    '--object open.example: only its change');
for my $name (encode('UTF-8', "B\x{DC}CHER.example."), 'xn--bcher-kva.example') {
	($rc, $out) = eppgw_audit('changes', '--object', $name, '--format',
	    'json', $dir);
	my $i = eval { decode_json($out) } // [];
	is_deeply([map { "$_->{object} $_->{command} $_->{cltrid}" } @$i],
	    ['xn--bcher-kva.example domain:create CH-8'],
	    'an IDN name is normalised as the gateway does (' . ($name =~
	    /xn--/ ? 'A-label' : 'upper-case U-label, root dot') . ')');
}
($rc, $out, $err) = eppgw_audit('changes', '--object', 'nothing.example', $dir);
is_deeply([$rc, scalar(() = $out =~ /\n/g), $err], [0, 1, ''],
    'no rows: exit 0, the header only');

($rc, $out, $err) = eppgw_audit('changes', '--object', 'locked.example',
    '--class', 'ns', '--vkey', $VKEY, $dir);
($cols, @trows) = table($out);
ok($rc == 0 && (grep { $_ eq 'SEALED' } @$cols) && @trows
    && !grep({ ($_->{SEALED} // '') ne 'yes' } @trows),
    '--vkey: a SEALED column, every row sealed after the clean stop')
    or diag("exit $rc: $out$err");
($rc, $out) = eppgw_audit('changes', '--object', 'locked.example', '--class',
    'ns', '--vkey', $VKEY, '--format', 'json', $dir);
my $sealed = eval { decode_json($out) } // [];
ok(@$sealed && !grep({ !JSON::PP::is_bool($_->{sealed}) || !$_->{sealed} }
    @$sealed), '--vkey --format json: "sealed": true on every row');

for my $bad (['--format', 'xml'], ['--class', 'nameservers'],
    ['--object', '']) {
	($rc, $out, $err) = eppgw_audit('changes', '--object', 'locked.example',
	    @$bad, $dir);
	is($rc, 3, "changes @$bad: exit 3") or diag($err);
}
($rc) = eppgw_audit('changes', $dir);
is($rc, 3, 'changes without --object: exit 3');

# ---- time bounds ----

# A record's Z time as the same instant at another offset (minutes).
sub at_offset {
	my ($ts, $min) = @_;
	my ($y, $mo, $d, $h, $mi, $s, $f) =
	    $ts =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$/
	    or return 'unparsable';
	my $e = timegm($s, $mi, $h, $d, $mo - 1, $y) + 60 * $min;
	return strftime('%Y-%m-%dT%H:%M:%S', gmtime($e)) . ($f // '')
	    . sprintf('%s%02d:%02d', $min < 0 ? '-' : '+', abs($min) / 60,
	    abs($min) % 60);
}

my $since = at_offset($j->{'CH-3'}{time} // '', 330);
my $until = at_offset($j->{'CH-1'}{time} // '', -180);
note("CH-3 at $j->{'CH-3'}{time} is $since; CH-1 at $j->{'CH-1'}{time} "
    . "is $until");
my %want = (
	"--since $since" => [qw(CH-3 CH-4 CH-5 drift)],
	"--until $until" => [qw(CH-1)],
	"--since $since --until " . at_offset($j->{'CH-4'}{time} // '', -180)
	    => [qw(CH-3 CH-4)],
	'--since -1h' => [qw(CH-1 CH-2 CH-3 CH-4 CH-5 drift)],
	'--until -1h' => [],
	'--since -7d --until -0s' => [qw(CH-1 CH-2 CH-3 CH-4 CH-5 drift)],
);
# A date covers its day (UTC): the rows whose ts has that date.
my $day = substr($j->{'CH-1'}{time} // '', 0, 10);
$want{"--since $day --until $day"} = [map { $_->{cltrid} // 'drift' }
    grep { substr($_->{time}, 0, 10) eq $day } @$rows];
for my $k (sort keys %want) {
	($rc, $out, $err) = eppgw_audit('changes', '--object', 'locked.example',
	    '--class', 'ns', '--format', 'json', split(' ', $k), $dir);
	my $r = eval { decode_json($out) } // [];
	is_deeply([$rc, map { $_->{cltrid} // 'drift' } @$r], [0,
	    @{$want{$k}}], "changes $k") or diag($err);
}
for my $bad ('yesterday', '1h', '+1h', '-1y', '2026-13-01',
    '2026-11-22T12:00:00', '2026-11-22T12:00:00+0100') {
	for my $cmd ('changes', 'show') {
		($rc, $out, $err) = eppgw_audit($cmd, ($cmd eq 'changes' ?
		    ('--object', 'locked.example') : ()), '--since', $bad,
		    $dir);
		ok($rc == 3 && $out eq '' && $err =~ /--since "\Q$bad\E": not a time/,
		    "$cmd --since $bad: exit 3, nothing shown, says why")
		    or diag("exit $rc, stdout \"$out\", stderr \"$err\"");
	}
}
($rc, $out) = eppgw_audit('show', '--type', 'cmd', '--since', $since, $dir);
my @shown = map { eval { decode_json($_) } // {} } split /\n/, $out;
ok($rc == 0 && @shown && $shown[0]{cltrid} eq 'CH-3',
    "show --since $since starts at CH-3")
    or diag("exit $rc: " . ($shown[0]{cltrid} // 'nothing'));

# ---- show --table ----

($rc, $out) = eppgw_audit('show', '--table', $dir);
($cols, @trows) = table($out);
is_deeply($cols, [qw(SEQ TS TYPE CLID PRINCIPAL OBJECTS COMMAND DECISION CODE
    APPROVER REPLY)], 'show --table: the header, with APPROVER and REPLY');
my %seq = map { $_->{SEQ} => $_ } @trows;
my @recsj = map { eval { decode_json($_) } // {} } split /\n/,
    (eppgw_audit('show', $dir))[1];
my ($c3) = grep { ($_->{t} // '') eq 'cmd' && ($_->{cltrid} // '') eq 'CH-3' }
    @recsj;
my ($r3) = grep { ($_->{t} // '') eq 'rsp' && $c3 && $_->{req} == $c3->{seq} }
    @recsj;
ok($c3 && $r3, 'the cmd and rsp records of CH-3');
is_deeply([@{$seq{$r3->{seq} // -1} // {}}{qw(TYPE CODE)}], ['rsp', '1000'],
    'show --table: the rsp row\'s CODE is its code (1000), not its seq');
is_deeply([@{$seq{$c3->{seq} // -1} // {}}{qw(TYPE DECISION CODE APPROVER
    REPLY)}], ['cmd', 'allow', '-', 'bob', '1000'],
    'show --table: the cmd row of CH-3 has APPROVER bob and REPLY 1000');
my @rsp = grep { $_->{TYPE} eq 'rsp' } @trows;
ok(@rsp && !grep({ $_->{CODE} !~ /^[12]\d{3}$/ } @rsp),
    'show --table: every rsp row\'s CODE is an EPP result code');
($rc, $out) = eppgw_audit('show', '--table', '--vkey', $VKEY, $dir);
($cols, @trows) = table($out);
ok($rc == 0 && $cols->[-1] eq 'SEALED' && @trows
    && !grep({ $_->{SEALED} ne 'yes' } @trows),
    'show --table --vkey: SEALED yes on every record of the stopped log');

# ---- prove the row's record ----

# The reviewer proves the approved change to someone holding only the
# public key: prove hashes the lines and checks the latest checkpoint.
my $pf = File::Spec->catfile(run_dir(), 'ch3.proof');
($rc, $out, $err) = eppgw_audit('prove', '--seq', $c3->{seq} // -1, '--vkey',
    $VKEY, $dir);
is($rc, 0, "prove --seq $c3->{seq} (CH-3): exit 0") or diag($err);
spew($pf, $out);
my ($vp, $vpout, $vperr) = eppgw_audit('verify-proof', '--vkey', $VKEY, $pf);
ok($vp == 0 && $vpout =~ /"cltrid":"CH-3"/ && $vperr =~ /: OK$/,
    'verify-proof: the CH-3 record is in the signed log')
    or diag("exit $vp: $vpout$vperr");
# A copy with an earlier record altered: no proof, the failure reported.
my $bad = audit_tampered_copy($dir, 'audit-altered', '"cltrid":"CH-1"',
    '"cltrid":"CH-0"');
($rc, $out, $err) = eppgw_audit('prove', '--seq', $c3->{seq} // -1, '--vkey',
    $VKEY, $bad);
ok($rc == 1 && $out eq '' && $err =~ /seg-\d+\.jsonl:\d+ \(seq \d+\)/,
    'prove on a copy with CH-1 altered: exit 1, where the log fails')
    or diag("exit $rc: $err");

gateways_clean();
note(sprintf('74-audit-changes.t took %.1f s', time - $t0));
done_testing();
