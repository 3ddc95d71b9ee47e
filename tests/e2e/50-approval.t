#!/usr/bin/perl
# 50-approval.t: two-person TOTP approvals end to end (DESIGN.md sections 4
# and 5): the live gateway, Net::EPP sessions with each principal's own
# certificate, the REAL eppgwctl talking to the admin listener, oathtool for
# the codes, and the simulator asked directly what it holds.
#
#   happy path      2304 + id, pending/show, bob approves, the resend (another
#                   clTRID) goes through once; the next resend is held again
#   refusals        invalid_otp, replayed_otp, locked_out (then reset by
#                   carol), not_approver (alice), unknown_principal (mallory),
#                   self_approval, rate_limited (a gateway with
#                   rate_attempts = 3), not_pending after a deny
#   binding         the ticket covers that change, that clID and that
#                   requester only: another NS (digest_mismatch), another
#                   principal's resend, and an expired ticket are held
#   durability      the ticket survives a SIGTERM and restart on its state
#   lock list       locks / lock / unlock (exit 3, approval, unlock again)
#   audit           eppgw-audit verify exits 0 after shutdown; the cmd
#                   records name decision and approver; approval events are
#                   on record; no code or seed in the audit log, the gateway
#                   logs or the approvals state
#
# TOTP time steps: the gateway accepts a step of now-1..now+1 (totp_window
# 1) and only a step newer than the operator's last accepted one, so each
# operator has at most three fresh steps at once and one more per 30 s.
# fresh_code() hands out the oldest usable step and waits for the next step
# when none is left; the order below needs no wait in the common case.
# The lockout steps run on the main gateway with rate_attempts = 20 (so the
# per-operator rate limit cannot answer first; lockout_after stays 5);
# the rate limit is tested on a second gateway with rate_attempts = 3, which
# also has ticket_ttl = 30 for the expiry check (its ticket is granted first
# and checked last, so the wait overlaps the other steps).
#
#   make certs build/eppgw build/eppgw-regsim build/eppgwctl build/eppgw-audit
#   prove -I tests/e2e/lib tests/e2e/50-approval.t
use strict;
use warnings;

use Test::More;
use File::Find qw(find);
use JSON::PP;
use Time::HiRes qw(time sleep);
use EppgwTest qw(:all);

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';
my $LOCKS = ['locked.example', '*.bank.example'];
my $t0 = time;

skip_without(built => [qw(eppgw eppgw-regsim eppgwctl eppgw-audit)],
    tools => ['oathtool']);

my $rs = start_regsim();
# The main gateway: approvals, audit, and a rate limit that the lockout
# steps cannot hit.
my $gw = start_gateway(regsim => $rs, policy => { locks => $LOCKS },
    approvals => { rate_attempts => 20 }, audit => 1);
ok($gw->{admin_port}, "gateway on port $gw->{port}, admin listener on "
    . "$gw->{admin_port}, audit log in $gw->{audit_dir}");
# The second gateway: default rate limit (3 per 30 s), 30 s tickets.
my $gx = start_gateway(regsim => $rs, policy => { locks => $LOCKS },
    approvals => { rate_attempts => 3, ticket_ttl => 30 });
ok($gx->{admin_port}, "second gateway on port $gx->{port} (rate_attempts 3, "
    . 'ticket_ttl 30)');

my $direct = direct_session($rs, 'state checks');

my %TAG;	# session => clTRID tag ('X': the second gateway, not audited)
sub session {
	my ($g, $cert) = @_;
	my $e = epp_client(port => $g->{port}, cert => $cert);
	$TAG{$e} = $g == $gx ? 'X' : '';
	ok($e, "$cert logged in as registrar1 through the gateway on port "
	    . $g->{port}) or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	return $e;
}
my $reg = session($gw, 'registrar');

# ---- EPP helpers ----

sub direct { return registry_cmd($direct, @_) }

# The registry's name servers of a domain, sorted.
sub ns_at_registry {
	my ($name) = @_;
	my $doc = direct("<info><domain:info $D><domain:name>$name</domain:name>"
	    . '</domain:info></info>');
	return join(' ', sort map { $_->textContent }
	    xpc($doc)->findnodes('//domain:ns/domain:hostObj'));
}

# Send a command (clTRID AP-N, then the session's tag); returns
# epp_send()'s { code, reason, id, svtrid, trid, journal, ... } (reason:
# the gateway's reason token; id: the change id it names; journal: how
# many journal lines the simulator has for this clTRID).
my $tn = 0;
my %sent;	# clTRID => 'held' or 'passed'
sub send_cmd {
	my ($sess, $inner) = @_;
	return epp_send($sess, $inner,
	    trid => 'AP-' . ++$tn . ($TAG{$sess} // ''), regsim => $rs);
}

# A command the gateway must hold: 2304 with a change id, nothing at the
# registry.  Returns the reply hash.
sub held {
	my ($sess, $inner, $label, $want_reason) = @_;
	my $r = send_cmd($sess, $inner);
	$want_reason //= 'approval_required';
	my @bad;
	push @bad, "code $r->{code}" unless $r->{code} eq '2304';
	push @bad, "reason \"$r->{reason}\", not $want_reason"
	    unless $r->{reason} eq $want_reason;
	push @bad, 'no change id' unless $r->{id} =~ /^[0-9a-f]{12}$/;
	push @bad, "svTRID $r->{svtrid} is not the gateway's"
	    unless $r->{svtrid} =~ /^eppgw-/;
	push @bad, 'the registry executed it' if $r->{journal};
	$sent{$r->{trid}} = 'held';
	ok(!@bad, "$label: 2304 $want_reason $r->{id}, not forwarded")
	    or diag(join('; ', @bad));
	return $r;
}

# A command the gateway must forward: the registry answers $want.
sub passed {
	my ($sess, $inner, $label, $want) = @_;
	my $r = send_cmd($sess, $inner);
	$want //= 1000;
	my @bad;
	push @bad, "code $r->{code} ($r->{reason} $r->{id})"
	    unless $r->{code} eq $want;
	push @bad, "svTRID $r->{svtrid} is not the registry's"
	    unless $r->{svtrid} =~ /^regsim-/;
	push @bad, 'no journal line at the registry' unless $r->{journal};
	$sent{$r->{trid}} = 'passed';
	ok(!@bad, "$label: forwarded, the registry answers $want "
	    . "(clTRID $r->{trid} in its journal)") or diag(join('; ', @bad));
	return $r;
}

# ---- TOTP codes ----

my %last;	# gateway port => operator => last step the gateway accepted
my @codes;	# every code sent, to look for in logs and state afterwards

# The oldest step of now-1..now+1 newer than the last accepted one that the
# gateway will still take in $min_life seconds; waits for the next step if
# there is none.  Returns (step, code).
sub fresh_code {
	my ($g, $who, $min_life) = @_;
	my ($s, $code) = fresh_totp($who, $last{$g->{port}}{$who}, $min_life);
	push @codes, $code;
	return ($s, $code);
}

# $who's code for now (for refusals decided before the code is checked).
sub code_now {
	my $c = totp($_[0]);
	push @codes, $c;
	return $c;
}

# A six-digit code that is none of $who's codes near now.
sub wrong_code {
	my ($who) = @_;
	my %near = map { totp($who, $_) => 1 } -3 .. 3;
	my $c;
	do { $c = sprintf('%06d', int(rand(1e6))) } while $near{$c};
	push @codes, $c;
	return $c;
}

# eppgwctl approve as $who with $code (--otp, or on stdin); marks the step
# used when the gateway took it.  Returns (exit, stdout, stderr).
sub approve {
	my ($g, $who, $id, $step, $code, $stdin) = @_;
	my @r = $stdin ? ctl($g, $who, 'approve', $id, { stdin => "$code\n" })
	    : ctl($g, $who, 'approve', $id, '--otp', $code);
	$last{$g->{port}}{$who} = $step if $r[0] == 0 && defined $step;
	return @r;
}

# A refusal: exit 1 and "eppgwctl: TOKEN: message" on stderr.
sub refused_ok {
	my ($r, $token, $label) = @_;
	my ($rc, $out, $err) = @$r;
	ok($rc == 1 && $err =~ /^eppgwctl: \Q$token\E: \S.*\n\z/, "$label: "
	    . "exit 1, \"eppgwctl: $token: ...\"")
	    or diag("exit $rc, stdout \"$out\", stderr \"$err\"");
}

sub ctl_ok {
	my ($r, $label, $re) = @_;
	my ($rc, $out, $err) = @$r;
	ok($rc == 0 && (!$re || $out =~ $re), "$label: exit 0")
	    or diag("exit $rc, stdout \"$out\", stderr \"$err\"");
}

# ---- setup: external hosts at the registry ----

for my $h (qw(ns3 ns4 ns5 ns6 ns7)) {
	is(result_code(direct("<create><host:create $H><host:name>"
	    . "$h.dns.example</host:name></host:create></create>")), 1000,
	    "$h.dns.example created directly at the registry");
}
is(ns_at_registry('locked.example'), 'ns.dns.example ns1.locked.example',
    'locked.example starts with ns.dns.example and ns1.locked.example');

# ---- the ticket that is to expire (second gateway; checked last) ----

my $xreg = session($gx, 'registrar');
my $X = held($xreg, ns_update('locked.example', 'add', 'ns7.dns.example'),
    'expiry: ns7.dns.example on locked.example via the ticket_ttl=30 gateway');
my ($xs, $xc) = fresh_code($gx, 'bob');
ctl_ok([approve($gx, 'bob', $X->{id}, $xs, $xc)],
    "expiry: bob approves $X->{id} on the second gateway");
my $x_granted = time;

# ---- happy path ----

my $A = held($reg, ns_update('locked.example', 'add', 'ns2.dns.example'),
    'happy path: registrar adds ns2.dns.example to locked.example');
{
	my ($rc, $out, $err) = ctl($gw, 'bob', 'pending');
	ok($rc == 0 && $out =~ /^\Q$A->{id}\E\s+pending\s+locked\.example\s+registrar1\s+registrar\s/m,
	    "eppgwctl pending (bob) lists $A->{id}: pending, locked.example, "
	    . 'registrar1, requester registrar') or diag("exit $rc: $out$err");
	($rc, $out, $err) = ctl($gw, 'bob', '--json', 'pending');
	my $j = eval { decode_json($out) } // {};
	my ($p) = grep { $_->{id} eq $A->{id} } @{$j->{pending} // []};
	is_deeply($p && [@$p{qw(object clid requester state)}],
	    ['locked.example', 'registrar1', 'registrar', 'pending'],
	    'eppgwctl --json pending: the same in JSON') or diag($out . $err);
	($rc, $out, $err) = ctl($gw, 'bob', 'show', $A->{id});
	ok($rc == 0 && $out =~ /^add\.ns=ns2\.dns\.example$/m
	    && $out =~ /^object\s+locked\.example$/m
	    && $out =~ /^requester\s+registrar$/m,
	    "eppgwctl show $A->{id}: the canonical change (add.ns=ns2.dns.example)")
	    or diag("exit $rc: $out$err");
}
# A code that stays valid a while: it is replayed below.
my ($as, $ac) = fresh_code($gw, 'bob', 25);
my $bob_code_a = $ac;
ctl_ok([approve($gw, 'bob', $A->{id}, $as, $ac)],
    "bob approves $A->{id} with his current code", qr/^approved \Q$A->{id}\E/);
my $A2 = passed($reg, ns_update('locked.example', 'add', 'ns2.dns.example'),
    'happy path: the registrar resends the change with another clTRID');
is(ns_at_registry('locked.example'),
    'ns.dns.example ns1.locked.example ns2.dns.example',
    'the registry has ns2.dns.example on locked.example');
ok(!journal_find($rs, clTRID => $A->{trid}),
    "the held request ($A->{trid}) never reached the registry");
my $A3 = held($reg, ns_update('locked.example', 'add', 'ns2.dns.example'),
    'the ticket is single use: a second resend is held again');
is($A3->{id}, $A->{id}, 'the second resend names the same change id');

# ---- refusals: wrong and replayed codes, lockout, reset ----

my $B = held($reg, ns_update('locked.example', 'add', 'ns3.dns.example'),
    'registrar adds ns3.dns.example to locked.example');
refused_ok([ctl($gw, 'alice', 'approve', $B->{id}, '--otp', code_now('alice'))],
    'not_approver', 'alice (requester only) approving');
refused_ok([ctl($gw, 'mallory', 'approve', $B->{id}, '--otp',
    code_now('bob'))], 'unknown_principal', 'mallory (no principal) approving');
refused_ok([ctl($gw, 'mallory', 'pending')], 'unknown_principal',
    'mallory listing pending changes');
refused_ok([approve($gw, 'bob', $B->{id}, undef, wrong_code('bob'))],
    'invalid_otp', 'bob with a wrong code (failure 1)');
refused_ok([approve($gw, 'bob', $B->{id}, undef, $bob_code_a)],
    'replayed_otp', "bob with the code he used for $A->{id} (failure 2)");
for my $n (3 .. 5) {
	refused_ok([approve($gw, 'bob', $B->{id}, undef, wrong_code('bob'))],
	    'invalid_otp', "bob with a wrong code (failure $n)");
}
my ($bs, $bc) = fresh_code($gw, 'bob', 10);
refused_ok([approve($gw, 'bob', $B->{id}, $bs, $bc)], 'locked_out',
    'after 5 consecutive failures even a valid code is refused');
refused_ok([approve($gw, 'bob', $B->{id}, undef, wrong_code('bob'))],
    'locked_out', 'and a wrong one');
refused_ok([ctl($gw, 'bob', 'reset-operator', 'bob')], 'not_allowed',
    'bob cannot reset himself');
refused_ok([ctl($gw, 'alice', 'reset-operator', 'bob')], 'not_approver',
    'alice (not an approver) cannot reset bob');
refused_ok([ctl($gw, 'alice', 'pending')], 'not_approver',
    'alice (requester only) cannot even list pending changes');
ctl_ok([ctl($gw, 'carol', 'reset-operator', 'bob')],
    'carol resets bob', qr/^operator bob reset$/m);
ctl_ok([approve($gw, 'bob', $B->{id}, $bs, $bc)],
    "after the reset bob approves $B->{id} (the same valid code)");
passed($reg, ns_update('locked.example', 'add', 'ns3.dns.example'),
    'the registrar resends the ns3.dns.example change');
like(ns_at_registry('locked.example'), qr/\bns3\.dns\.example\b/,
    'the registry has ns3.dns.example on locked.example');

# ---- self-approval ----

my $bobs = session($gw, 'bob');
my $C = held($bobs, ns_update('locked.example', 'add', 'ns4.dns.example'),
    'bob\'s own EPP session adds ns4.dns.example to locked.example');
{
	# The current code: valid, though perhaps not newer than bob's last
	# step; self_approval is decided before the code is looked at.
	refused_ok([approve($gw, 'bob', $C->{id}, undef, code_now('bob'))],
	    'self_approval', "bob approving his own change $C->{id}");
	my ($rc, $out) = ctl($gw, 'bob', '--json', 'show', $C->{id});
	is((eval { decode_json($out) } // {})->{state}, 'pending',
	    "$C->{id} is still pending after the self-approval");
}
{
	my ($s, $c) = fresh_code($gw, 'carol');
	ctl_ok([approve($gw, 'carol', $C->{id}, $s, $c, 'stdin')],
	    "carol approves $C->{id} (code on stdin)");
}
passed($bobs, ns_update('locked.example', 'add', 'ns4.dns.example'),
    'bob\'s session resends it');
like(ns_at_registry('locked.example'), qr/\bns4\.dns\.example\b/,
    'the registry has ns4.dns.example on locked.example');

# ---- binding: the ticket is for that change, clID and requester ----

my $E = held($reg, ns_update('locked.example', 'add', 'ns5.dns.example'),
    'binding: registrar adds ns5.dns.example to locked.example');
{
	my ($s, $c) = fresh_code($gw, 'bob');
	ctl_ok([approve($gw, 'bob', $E->{id}, $s, $c)], "bob approves $E->{id}");
}
my $other = held($reg, ns_update('locked.example', 'add', 'ns.other'),
    'binding: with that ticket live, the registrar adds ns.other instead',
    'digest_mismatch');
isnt($other->{id}, $E->{id}, 'ns.other is another change id');
my $alices = session($gw, 'alice');
my $Ea = held($alices, ns_update('locked.example', 'add', 'ns5.dns.example'),
    'binding: alice (same clID) resends the approved change');
is($Ea->{id}, $E->{id}, 'alice\'s resend names the same change id');
unlike(ns_at_registry('locked.example'), qr/\bns(?:5\.dns\.example|\.other)\b/,
    'the registry has neither ns5.dns.example nor ns.other');
passed($reg, ns_update('locked.example', 'add', 'ns5.dns.example'),
    'the registrar (the requester) resends it: the ticket was still there');
like(ns_at_registry('locked.example'), qr/\bns5\.dns\.example\b/,
    'the registry has ns5.dns.example on locked.example');
held($reg, ns_update('locked.example', 'add', 'ns5.dns.example'),
    'after the ticket is used, the change is held again');

# ---- two resends at once: one ticket, one forwarded command ----
{
	my $G = held($reg, ns_update('locked.example', 'add', 'ns7.dns.example'),
	    'race: registrar adds ns7.dns.example to locked.example');
	my ($s, $c) = fresh_code($gw, 'bob');
	ctl_ok([approve($gw, 'bob', $G->{id}, $s, $c)], "bob approves $G->{id}");
	my $reg2 = session($gw, 'registrar');
	my @sess = ($reg, $reg2);
	# Both frames are on the wire before either reply is read.
	for my $i (0, 1) {
		$sess[$i]->send_frame(epp_command(ns_update('locked.example',
		    'add', 'ns7.dns.example'), "CC-$i"), 0);
	}
	my @codes = map { result_code($_->get_frame) // 'none' } @sess;
	is(join(' ', sort @codes), '1000 2304',
	    'two concurrent resends of an approved change: one forwarded, '
	    . 'one held');
	is(scalar(journal_find($rs, clTRID => 'CC-0')) +
	    scalar(journal_find($rs, clTRID => 'CC-1')), 1,
	    'the registry executed it exactly once');
	epp_close($reg2);
	# Undo, through an approval of its own.
	my $U = held($reg, ns_update('locked.example', 'rem', 'ns7.dns.example'),
	    'race: undo needs an approval too');
	($s, $c) = fresh_code($gw, 'carol');
	ctl_ok([approve($gw, 'carol', $U->{id}, $s, $c)],
	    "carol approves the undo $U->{id}");
	passed($reg, ns_update('locked.example', 'rem', 'ns7.dns.example'),
	    'race: the undo goes through');
}

# ---- deny ----

my $F = held($reg, ns_update('locked.example', 'rem', 'ns.dns.example'),
    'deny: registrar removes ns.dns.example from locked.example');
ctl_ok([ctl($gw, 'carol', 'deny', $F->{id})], "carol denies $F->{id}",
    qr/^denied \Q$F->{id}\E$/m);
my $F2 = held($reg, ns_update('locked.example', 'rem', 'ns.dns.example'),
    'deny: the resend is still held');
is($F2->{id}, $F->{id}, 'the resend names the denied change');
refused_ok([approve($gw, 'bob', $F->{id}, undef, code_now('bob'))],
    'not_pending', "bob approving the denied change $F->{id}");
like(ns_at_registry('locked.example'), qr/\bns\.dns\.example\b/,
    'the registry still has ns.dns.example on locked.example');

# ---- rate limit (second gateway: 3 attempts per 30 s) ----

{
	my $R = held($xreg, ns_update('pay.bank.example', 'add',
	    'ns3.dns.example'), 'rate limit: a change on pay.bank.example');
	for my $n (1 .. 3) {
		refused_ok([approve($gx, 'carol', $R->{id}, undef,
		    wrong_code('carol'))], 'invalid_otp',
		    "rate limit: carol's wrong code $n of 3");
	}
	my ($s, $c) = fresh_code($gx, 'carol');
	refused_ok([approve($gx, 'carol', $R->{id}, $s, $c)], 'rate_limited',
	    'rate limit: the fourth attempt within 30 s, even with a valid code');
}

# ---- the ticket survives a restart ----

my $G = held($reg, ns_update('locked.example', 'rem', 'ns2.dns.example'),
    'restart: registrar removes ns2.dns.example from locked.example');
# A code that stays valid a while: it is replayed after the restart.
my ($gs, $gc) = fresh_code($gw, 'carol', 15);
ctl_ok([approve($gw, 'carol', $G->{id}, $gs, $gc)], "carol approves $G->{id}");
epp_close($_) for $reg, $bobs, $alices;
is(stop_gateway($gw), 0, 'the gateway stops cleanly on SIGTERM');
my $gw2 = start_gateway(regsim => $rs, policy => { locks => $LOCKS },
    approvals => { rate_attempts => 20, state => $gw->{state} },
    audit => { dir => $gw->{audit_dir} });
ok($gw2->{pid}, "the gateway started again (port $gw2->{port}) on the same "
    . 'state file and audit log');
$last{$gw2->{port}} = $last{$gw->{port}};
refused_ok([approve($gw2, 'carol', $G->{id}, undef, $gc)], 'not_pending',
    "after the restart $G->{id} is approved, not pending");
{
	my $R = held(session($gw2, 'alice'), ns_update('locked.example', 'add',
	    'ns6.dns.example'), 'restart: alice adds ns6.dns.example');
	refused_ok([approve($gw2, 'carol', $R->{id}, undef, $gc)],
	    'replayed_otp', 'carol\'s last accepted step survived the restart');
}
$reg = session($gw2, 'registrar');
passed($reg, ns_update('locked.example', 'rem', 'ns2.dns.example'),
    'restart: the registrar resends the approved change');
unlike(ns_at_registry('locked.example'), qr/\bns2\.dns\.example\b/,
    'the registry no longer has ns2.dns.example on locked.example');

# ---- the lock list ----

{
	my ($rc, $out, $err) = ctl($gw2, 'bob', 'locks');
	ok($rc == 0 && $out =~ /^locked\.example$/m
	    && $out =~ /^\*\.bank\.example$/m,
	    'eppgwctl locks lists locked.example and *.bank.example')
	    or diag("exit $rc: $out$err");
	refused_ok([ctl($gw2, 'alice', 'lock', 'open.example')], 'not_approver',
	    'alice (requester only) cannot edit the lock list');
	passed($reg, ns_update('open.example', 'add', 'ns6.dns.example'),
	    'open.example is not locked: an NS change passes');
	ctl_ok([ctl($gw2, 'bob', 'lock', 'open.example')],
	    'bob locks open.example', qr/^locked open\.example$/m);
	($rc, $out) = ctl($gw2, 'carol', 'locks');
	like($out, qr/^open\.example$/m, 'the lock list has open.example');
	my $O = held($reg, ns_update('open.example', 'rem', 'ns6.dns.example'),
	    'open.example is locked now: an NS change is held');
	($rc, $out, $err) = ctl($gw2, 'bob', 'unlock', 'open.example');
	my ($U) = $out =~ /change ([0-9a-f]{12})/;
	ok($rc == 3 && $U, "bob's unlock of open.example needs approval: exit 3, "
	    . 'change ' . ($U // '?')) or diag("exit $rc: $out$err");
	$U //= 'ffffff';
	($rc, $out, $err) = ctl($gw2, 'bob', 'unlock', 'open.example');
	ok($rc == 3 && $out =~ /\Q$U\E/, 'asking again before the approval: '
	    . 'exit 3, the same change') or diag("exit $rc: $out$err");
	($rc, $out, $err) = ctl($gw2, 'bob', 'unlock', 'OPEN.Example.');
	ok($rc == 3 && $out =~ /\Q$U\E/, 'spelled OPEN.Example.: still the '
	    . 'same change') or diag("exit $rc: $out$err");
	($rc, $out, $err) = ctl($gw2, 'carol', 'show', $U);
	ok($rc == 0 && $out =~ /^object\s+open\.example$/m
	    && $out =~ /^command=lock:remove$/m,
	    "eppgwctl show $U: the lock removal of open.example")
	    or diag("exit $rc: $out$err");
	my ($s, $c) = fresh_code($gw2, 'carol');
	ctl_ok([approve($gw2, 'carol', $U, $s, $c)], "carol approves $U");
	ctl_ok([ctl($gw2, 'bob', 'unlock', 'open.example')],
	    'bob runs unlock again', qr/^unlocked open\.example$/m);
	($rc, $out) = ctl($gw2, 'bob', 'locks');
	unlike($out, qr/^open\.example$/m, 'open.example left the lock list');
	like($out, qr/^locked\.example$/m, 'locked.example is still on it');
	passed($reg, ns_update('open.example', 'rem', 'ns6.dns.example'),
	    'open.example changes pass again');
	is(ns_at_registry('open.example'), 'ns.dns.example',
	    'open.example is back to ns.dns.example at the registry');
}

# ---- the expired ticket (second gateway) ----

{
	my $left = $x_granted + 30 + 2 - time;
	if ($left > 0) {
		note(sprintf('waiting %.1f s for the 30 s ticket to expire', $left));
		sleep($left);
	}
	held($xreg, ns_update('locked.example', 'add', 'ns7.dns.example'),
	    "the resend after the 30 s ticket of $X->{id} expired",
	    'ticket_expired');
	unlike(ns_at_registry('locked.example'), qr/\bns7\.dns\.example\b/,
	    'the registry does not have ns7.dns.example');
}

# ---- audit ----

epp_close($_) for $reg, $xreg, $direct;
is(stop_gateway($gw2), 0, 'the restarted gateway stops cleanly on SIGTERM');
my $adir = $gw->{audit_dir};
{
	my ($rc, $out) = audit_verify($adir);
	is($rc, 0, 'eppgw-audit verify: valid and sealed (exit 0)')
	    or diag($out);
}
my @recs = map { eval { decode_json($_) } // { raw => $_ } }
    split /\n/, (eppgw_audit('show', '--object', 'locked.example', $adir))[1];
my %cmd = map { ($_->{cltrid} // '') => $_ } grep { ($_->{t} // '') eq 'cmd' }
    @recs;
{
	my $r = $cmd{$A->{trid}} // {};
	is_deeply([@$r{qw(decision reason change_id principal clid)}],
	    ['approval_required', 'approval_required', $A->{id}, 'registrar',
	    'registrar1'], "audit: the held request $A->{trid} (approval_required)");
	$r = $cmd{$A2->{trid}} // {};
	is_deeply([@$r{qw(decision approver change_id principal)}],
	    ['allow', 'bob', $A->{id}, 'registrar'],
	    "audit: the resend $A2->{trid} (allow, approver bob)");
	my (undef, $allow) = eppgw_audit('show', '--decision', 'allow',
	    '--principal', 'bob', $adir);
	ok($allow =~ /"cltrid":"\Q$A2->{trid}\E"/, 'eppgw-audit show '
	    . "--decision allow --principal bob lists the resend $A2->{trid}")
	    or diag('it lists clTRIDs ' . join(' ', $allow =~
	    /"cltrid":"([^"]*)"/g));
	$r = $cmd{$A3->{trid}} // {};
	is($r->{decision}, 'approval_required',
	    "audit: the second resend $A3->{trid} (approval_required)");
	$r = $cmd{$other->{trid}} // {};
	is($r->{reason}, 'digest_mismatch', "audit: ns.other (digest_mismatch)");
	# Every change the main gateway held or let through on locked.example.
	my @bad;
	for my $t (sort grep { /^AP-\d+$/ } keys %sent) {
		my $r = $cmd{$t} or next;
		push @bad, "$t: decision $r->{decision}, approver "
		    . ($r->{approver} // 'null') unless $sent{$t} eq 'held'
		    ? $r->{decision} eq 'approval_required' && !defined $r->{approver}
		    : $r->{decision} eq 'allow' && defined $r->{approver};
	}
	my $n = grep { $cmd{$_} } grep { /^AP-\d+$/ } keys %sent;
	ok($n >= 14 && !@bad, "audit: $n held or approved commands on "
	    . 'locked.example, each with its decision (and approver when it '
	    . 'passed)') or diag(join("\n", @bad));
}
# Approvals, denials and resets happen at the admin listener: DESIGN.md
# section 5 lists "approval events" among the record types and section 4
# asks for "an audited reset".
{
	my @all = map { eval { decode_json($_) } // {} }
	    split /\n/, (eppgw_audit('show', $adir))[1];
	my @ev = grep { ($_->{t} // '') !~ /^(?:cmd|rsp|session|checkpoint|close|recovery)$/ }
	    @all;
	my $has = sub {
		my ($re) = @_;
		return scalar grep { encode_json($_) =~ $re } @ev;
	};
	ok($has->(qr/\Q$A->{id}\E.*bob|bob.*\Q$A->{id}\E/),
	    "audit: an approval event records bob's approval of $A->{id}")
	    or diag('record types in the log: ' . join(' ', sort keys
	    %{{ map { ($_->{t} // '?') => 1 } @all }}));
	ok($has->(qr/\Q$F->{id}\E.*carol|carol.*\Q$F->{id}\E/),
	    "audit: an event records carol's denial of $F->{id}");
	ok($has->(qr/reset/), 'audit: an event records carol\'s reset of bob');
}

# No code, no seed: in the audit log, the gateway logs, the state files.
{
	my %seeds = map { $_ => demo_seeds()->{$_}{seed} } keys %{demo_seeds()};
	my @files = ($gw->{log}, $gw2->{log}, $gx->{log}, $gw->{state},
	    $gx->{state});
	find({ no_chdir => 1, wanted => sub { push @files, $_ if -f } }, $adir);
	my @hits;
	for my $f (@files) {
		open(my $fh, '<', $f) or do { push @hits, "$f: $!"; next };
		local $/;
		my $text = <$fh>;
		close($fh);
		for my $c (@codes) {
			push @hits, "$f: code $c"
			    if $text =~ /(?<![0-9A-Za-z-])$c(?![0-9A-Za-z])/;
		}
		for my $n (sort keys %seeds) {
			push @hits, "$f: ${n}'s seed" if index(lc $text,
			    lc $seeds{$n}) >= 0;
		}
		push @hits, "$f: an \"otp\" field" if $text =~ /"otp"/;
	}
	ok(@codes >= 10 && !@hits, scalar(@codes) . ' codes and 3 seeds looked '
	    . 'for in ' . scalar(@files) . ' files (audit log, gateway logs, '
	    . 'approvals state): none found') or diag(join("\n", @hits));
}

gateways_clean();
note(sprintf('50-approval.t took %.1f s', time - $t0));
done_testing();
