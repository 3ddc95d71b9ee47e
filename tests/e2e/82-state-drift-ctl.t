#!/usr/bin/perl
# 82-state-drift-ctl.t: registry truth through the admin API and the REAL
# eppgwctl (DESIGN.md section 5: `state NAME`, `drift`; `show ID` with the
# object's state now and after the change).
#
#   state     a gateway with a watch session ([upstream] clid,
#             password_file, state, refresh = 5) shows locked.example's NS
#             and DS as the simulator holds them; names are normalised;
#             an object not held is a one-line not_held refusal; any
#             principal may read it, an unknown certificate may not
#   show      a held NS change on locked.example: NS now / NS after, no
#             warning; after an out-of-band change at the simulator, NS now
#             has moved and show WARNS that the registry changed after the
#             request (changed_since_request in --json)
#   drift     empty at first; the out-of-band change (a direct EPP session
#             to the simulator, no gateway) appears within a refresh
#             interval, as "+ ns=..."
#   no approvals  state and drift work on a gateway with [admin] but no
#             [approvals]; pending there is still approvals_disabled
#   secrets   the watch session's password is in no output and no log
#
#   make certs build/eppgw build/eppgw-regsim build/eppgwctl
#   prove -I tests/e2e/lib tests/e2e/82-state-drift-ctl.t
use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use EppgwTest qw(:all);

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $PW = 'demo-password-1';	# registrar1 in examples/regsim.seed
my $REFRESH = 5;
my $DS = '12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E0D8CF3CB0F2AA0A9DB1E1B7';

skip_without(built => [qw(eppgw eppgw-regsim eppgwctl)]);

my $rs = start_regsim();
my $dir = run_dir();

# The watch session's password: a private file, as the gateway insists.
my $pwfile = "$dir/watch-password";
open(my $fh, '>', $pwfile) or die "$pwfile: $!";
print $fh "$PW\n";
close($fh) or die "$pwfile: $!";
chmod(0600, $pwfile) or die "chmod $pwfile: $!";

sub watch_upstream {
	my ($tag) = @_;
	return { clid => 'registrar1', password_file => $pwfile,
	    state => "$dir/regstate-$tag.json", refresh => $REFRESH };
}

my $gw = start_gateway(regsim => $rs,
    policy => { locks => ['locked.example', '*.bank.example'] },
    approvals => 1, upstream => watch_upstream('main'));
ok($gw->{admin_port}, "gateway on port $gw->{port} with a watch session "
    . "(refresh $REFRESH s), admin listener on $gw->{admin_port}");
# The same without [approvals]: state and drift must not need them.
my $gn = start_gateway(regsim => $rs,
    policy => { locks => ['locked.example'] }, admin => 1,
    upstream => watch_upstream('noapprovals'));
ok($gn->{admin_port}, "second gateway on port $gn->{port}: [admin], no "
    . '[approvals]');

my $direct = direct_session($rs, 'the out-of-band changes');
my $reg = epp_client(port => $gw->{port}, cert => 'registrar');
ok($reg, 'registrar logged in through the gateway')
    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");

my $tn = 0;
sub send_cmd {
	my ($sess, $inner, $prefix) = @_;
	my $r = epp_send($sess, $inner, trid => ($prefix // 'SD-') . ++$tn);
	BAIL_OUT('EPP session lost') unless ref $r->{doc};
	return $r;
}

# Poll eppgwctl until $ok->(rc, out, err) holds or $secs pass; returns
# (rc, out, err) of the last run and the seconds it took.
sub ctl_until {
	my ($g, $who, $secs, $ok, @args) = @_;
	my $t0 = time;
	my @r;
	while (1) {
		@r = ctl($g, $who, @args);
		last if $ok->(@r) || time - $t0 > $secs;
		sleep(0.25);
	}
	return (@r, time - $t0);
}

my @outputs;	# everything eppgwctl printed, for the secrets check
sub keep { push @outputs, @_[1, 2]; return @_ }

# ---- state ----

{
	my ($rc, $out, $err, $took) = ctl_until($gw, 'bob', 15,
	    sub { $_[0] == 0 }, 'state', 'locked.example');
	keep($rc, $out, $err);
	ok($rc == 0, sprintf('eppgwctl state locked.example: held after %.1f s',
	    $took)) or diag("exit $rc: $out$err");
	like($out, qr/^ns\s+ns1\.locked\.example$/m,
	    'state shows NS ns1.locked.example from the registry');
	like($out, qr/^ns\s+ns\.dns\.example$/m,
	    'state shows NS ns.dns.example from the registry');
	like($out, qr/^ds\s+\Q$DS\E$/m, 'state shows the DS record');
	like($out, qr/^object\s+locked\.example$/m, 'state names the object');
	like($out, qr/^locked\s+yes \(locked\.example\)$/m,
	    'locked by the lock list entry');
	like($out, qr/^watched\s+yes$/m, 'watched');
	like($out, qr/^refreshed\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ s ago\)$/m,
	    'with its refresh time');
	like($out, qr/^changed\s+not since the gateway first read it$/m,
	    'no change seen yet');
	like($out, qr/^session\s+up$/m, 'the watch session is up');
	unlike($out, qr/auth|pw/i, 'no authInfo in the state');
}
{
	my ($rc, $out, $err) = keep(ctl($gw, 'alice', 'state',
	    'locked.example'));
	ok($rc != 0 && $err =~ /not_approver/,
	    'alice (a requester only) gets nothing from the admin API')
	    or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gw, 'carol', '--json', 'state',
	    'LOCKED.Example.'));
	my $j = eval { decode_json($out) } // {};
	ok($rc == 0 && ($j->{object} // '') eq 'locked.example',
	    'eppgwctl --json state LOCKED.Example. (carol): the name '
	    . 'normalised to locked.example') or diag("exit $rc: $out$err");
	my %f = map { $_ => 1 } @{$j->{facts} // []};
	ok($f{'ns=ns1.locked.example'} && $f{'ns=ns.dns.example'}
	    && $f{"ds=$DS"}, 'the JSON facts hold both NS and the DS')
	    or diag($out);
	ok($j->{watched} && $j->{watch} && $j->{session_up}
	    && $j->{refreshed} > 0 && !defined $j->{changed},
	    'watched, session up, refreshed, changed null') or diag($out);
}
{
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'state',
	    'ns1.locked.example'));
	ok($rc == 0 && $out =~ /^kind\s+host$/m
	    && $out =~ /^addr\s+v4:192\.0\.2\.1$/m,
	    'state ns1.locked.example: the glue host and its address')
	    or diag("exit $rc: $out$err");
}
{
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'state', 'open.example'));
	ok($rc == 1 && $out eq ''
	    && $err =~ /^eppgwctl: not_held: the gateway holds no registry state for open\.example\n\z/,
	    'state of an object not watched: exit 1, one line (not_held)')
	    or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gw, 'bob', 'state', 'a..b'));
	ok($rc == 1 && $err =~ /^eppgwctl: bad_name: /,
	    'state of an invalid name: bad_name') or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gw, 'mallory', 'state',
	    'locked.example'));
	ok($rc == 1 && $err =~ /^eppgwctl: unknown_principal: /,
	    'mallory (no principal) may not read state')
	    or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gw, 'bob', 'state'));
	ok($rc == 2, 'state without a name: usage error (exit 2)')
	    or diag("exit $rc: $out$err");
}

# ---- drift, before anything happened ----

{
	my ($rc, $out, $err) = keep(ctl($gw, 'carol', 'drift'));
	ok($rc == 0 && $out eq "no drift observed\n",
	    'eppgwctl drift: none yet') or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gw, 'carol', '--json', 'drift'));
	my $j = eval { decode_json($out) } // {};
	ok($rc == 0 && ref $j->{drift} eq 'ARRAY' && !@{$j->{drift}}
	    && $j->{watch}, 'eppgwctl --json drift: an empty list')
	    or diag("exit $rc: $out$err");
}

# ---- show: a held NS change next to the registry's state ----

my $held = send_cmd($reg, ns_update('locked.example', 'add',
    'ns3.dns.example'));
ok($held->{code} == 2304 && $held->{id} =~ /^[0-9a-f]{12}$/,
    "adding ns3.dns.example to locked.example is held ($held->{id})")
    or diag(explain($held));
my $ID = $held->{id} || 'ffffff';
{
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'show', $ID));
	ok($rc == 0 && $out =~ /^add\.ns=ns3\.dns\.example$/m,
	    "eppgwctl show $ID: the canonical change") or diag("exit $rc: $out$err");
	like($out, qr/^NS now:\s+ns\.dns\.example ns1\.locked\.example$/m,
	    'show: NS now, from the registry');
	like($out, qr/^NS after:\s+ns\.dns\.example ns1\.locked\.example ns3\.dns\.example$/m,
	    'show: NS after the change');
	like($out, qr/^registry\s+locked\.example as read \S+Z \(\d+ s ago\)$/m,
	    'show: when the registry was read');
	unlike($out, qr/WARNING/, 'show: no warning while the registry has '
	    . 'not changed');
	($rc, $out, $err) = keep(ctl($gw, 'bob', '--json', 'show', $ID));
	my $j = eval { decode_json($out) } // {};
	my $r = $j->{registry} // {};
	ok($rc == 0 && ref $r->{facts} eq 'ARRAY'
	    && (grep { $_ eq 'ns=ns1.locked.example' } @{$r->{facts}})
	    && $r->{refreshed} > 0 && defined $r->{changed_since_request}
	    && !$r->{changed_since_request},
	    'show --json: registry facts, refreshed, changed_since_request '
	    . 'false') or diag("exit $rc: $out$err");
}

# A DS removal (secDNS rem all): DS now and after.
{
	my $r = send_cmd($reg, "<update><domain:update $D><domain:name>"
	    . 'locked.example</domain:name></domain:update></update>'
	    . '<extension><secDNS:update '
	    . 'xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:rem>'
	    . '<secDNS:all>true</secDNS:all></secDNS:rem></secDNS:update>'
	    . '</extension>');
	ok($r->{code} == 2304 && $r->{id}, "removing every DS of "
	    . "locked.example is held ($r->{id})") or diag(explain($r));
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'show', $r->{id} || 'ffffff'));
	ok($rc == 0 && $out =~ /^DS now:\s+\Q$DS\E$/m
	    && $out =~ /^DS after:\s+\(none\)$/m && $out !~ /^NS /m
	    && $out !~ /^DNSKEY/m,
	    "show $r->{id}: DS now (the record) and after (none), nothing "
	    . 'else') or diag("exit $rc: $out$err");
}

# ---- the out-of-band change ----

sleep(1.1);	# the change is read in a later second than the request
my $oob = send_cmd($direct, ns_update('locked.example', 'add',
    'ns2.dns.example'), 'DIRECT-');
is($oob->{code}, 1000, 'out of band: ns2.dns.example added to '
    . 'locked.example directly at the simulator');
my $t_oob = time;
{
	my ($rc, $out, $err, $took) = ctl_until($gw, 'carol', $REFRESH + 5,
	    sub { $_[1] =~ /ns=ns2\.dns\.example/ }, 'drift');
	keep($rc, $out, $err);
	my $after = time - $t_oob;
	ok($rc == 0 && $out =~ /^\S+Z  locked\.example \(domain\), seen at refresh$/m
	    && $out =~ /^    \+ ns=ns2\.dns\.example$/m,
	    sprintf('eppgwctl drift shows the out-of-band NS after %.1f s',
	    $after)) or diag("exit $rc: $out$err");
	cmp_ok($after, '<=', $REFRESH + 3, 'within a refresh interval '
	    . "($REFRESH s) and a little");
	($rc, $out, $err) = keep(ctl($gw, 'carol', '--json', 'drift'));
	my $j = eval { decode_json($out) } // {};
	my ($d) = grep { ($_->{object} // '') eq 'locked.example' }
	    @{$j->{drift} // []};
	ok($d && (grep { $_ eq 'ns=ns2.dns.example' } @{$d->{added} // []})
	    && !@{$d->{gone} // []} && $d->{time} > 0,
	    '--json drift: object, added, gone, time') or diag($out . $err);
}
{
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'state',
	    'locked.example'));
	ok($rc == 0 && $out =~ /^ns\s+ns2\.dns\.example$/m
	    && $out =~ /^changed\s+\S+Z \(\d+ s ago\)$/m,
	    'state now has ns2.dns.example and a change time')
	    or diag("exit $rc: $out$err");
}
{
	my ($rc, $out, $err) = keep(ctl($gw, 'bob', 'show', $ID));
	like($out, qr/^NS now:\s+ns\.dns\.example ns1\.locked\.example ns2\.dns\.example$/m,
	    "show $ID after the out-of-band change: NS now has moved")
	    or diag("exit $rc: $out$err");
	like($out, qr/^NS after:\s+ns\.dns\.example ns1\.locked\.example ns2\.dns\.example ns3\.dns\.example$/m,
	    'NS after, from the new state');
	like($out, qr/^WARNING: the registry's state of locked\.example changed at \S+Z, after this change was requested/m,
	    'show WARNS that the registry changed after the request');
	is($rc, 0, 'show still exits 0');
	($rc, $out, $err) = keep(ctl($gw, 'bob', '--json', 'show', $ID));
	my $r = (eval { decode_json($out) } // {})->{registry} // {};
	ok($r->{changed_since_request} && $r->{changed} > 0,
	    'show --json: changed_since_request true, changed set')
	    or diag($out . $err);
}

# ---- without [approvals] ----

{
	my ($rc, $out, $err) = ctl_until($gn, 'carol', 15,
	    sub { $_[0] == 0 && $_[1] =~ /ns2\.dns\.example/ }, 'state',
	    'locked.example');
	keep($rc, $out, $err);
	ok($rc == 0 && $out =~ /^ns\s+ns1\.locked\.example$/m
	    && $out =~ /^ds\s+\Q$DS\E$/m,
	    'no [approvals]: eppgwctl state works') or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gn, 'carol', 'drift'));
	is($rc, 0, 'no [approvals]: eppgwctl drift works')
	    or diag("exit $rc: $out$err");
	($rc, $out, $err) = keep(ctl($gn, 'carol', 'pending'));
	ok($rc == 1 && $err =~ /^eppgwctl: approvals_disabled: /,
	    'no [approvals]: pending is still approvals_disabled')
	    or diag("exit $rc: $out$err");
}

# ---- secrets ----

ok(!grep({ defined && index($_, $PW) >= 0 } @outputs),
    'the watch password is in no eppgwctl output');
for my $g ($gw, $gn) {
	ok(index(gateway_log($g), $PW) < 0,
	    "the watch password is not in the log of the gateway on port "
	    . $g->{port});
}

gateways_clean();
done_testing();
