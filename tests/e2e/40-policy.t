#!/usr/bin/perl
# 40-policy.t: the lock policy through the live gateway (DESIGN.md sections
# 2 and 4).  The DNSpionage / Sea Turtle changes (NS, DS, glue, unlock,
# authInfo, registrant, contacts, transfer, delete, restore, unknown
# extensions) on locked.example, each in nine spellings (upper case,
# trailing dot, odd prefix, default namespace, white space, comment / CDATA /
# character reference inside the name), must get 2304 approval_required with a change
# id, reach nothing at the registry (no journal line) and change nothing
# there (asked directly of the simulator).  Same change => same id, another
# change => another id.  Unlocked domains go through; protect = ds lets NS
# changes pass; eppgwctl explain agrees with the gateway.  Last, the rename
# of a host that serves a locked domain (ns.dns.example -> ns.evil.example),
# which DESIGN.md section 4 puts in class "host".
#
#   make certs build/eppgw build/eppgw-regsim build/eppgwctl
#   prove -I tests/e2e/lib tests/e2e/40-policy.t
use strict;
use warnings;

use Test::More;
use File::Spec;
use JSON::PP;
use EppgwTest qw(:all);

my %URI = (
	domain => 'urn:ietf:params:xml:ns:domain-1.0',
	host   => 'urn:ietf:params:xml:ns:host-1.0',
	secDNS => 'urn:ietf:params:xml:ns:secDNS-1.1',
);
my $D = qq{xmlns:domain="$URI{domain}"};
my $H = qq{xmlns:host="$URI{host}"};
my $LOCKS = ['locked.example', '*.bank.example'];
my $DS_OLD = '12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E0D8CF3CB0F2AA0A9DB1E1B7';
my $DS_NEW = '4242 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D';

my $rs = start_regsim();
# alice may also act as registrar2: the transfer hijack from another
# registrar's system.
my $gw = start_gateway(regsim => $rs, policy => { locks => $LOCKS },
    principals => { alice => { cert => 'alice',
    clids => 'registrar1 registrar2', roles => 'requester' } });
ok($gw->{pid}, "gateway on port $gw->{port} with lock list @$LOCKS");

my $direct = direct_session($rs, 'state checks');
my ($r1, $r2) = registrar_sessions($gw);

# ---- the registry's own view ----

sub direct { return registry_cmd($direct, @_) }
sub direct_domain { return registry_domain($direct, @_) }
sub direct_host { return registry_host($direct, @_) }

# Everything an attack on locked.example could have touched.
sub snapshot {
	return registry_snapshot($direct, 'avail',
	    qw(ns2.locked.example ns3.locked.example));
}

# Journal entries of commands that did not come from the direct session.
sub foreign_journal {
	return grep { ($_->{clTRID} // '') !~ /^DIRECT-/ } journal_lines($rs);
}

# ---- spellings of one change ----

# How the object element is written: [prefix, xmlns declaration], given the
# namespace URI; and how the locked name is written.
my %NSMODE = (
	std     => sub { my ($p, $u) = @_; ("$p:", qq{xmlns:$p="$u"}) },
	odd     => sub { my ($p, $u) = @_; (($p eq 'secDNS' ? 's' : 'x') . ':',
	    'xmlns:' . ($p eq 'secDNS' ? 's' : 'x') . qq{="$u"}) },
	default => sub { my ($p, $u) = @_; ('', qq{xmlns="$u"}) },
);
# Where a name is cut for a comment, CDATA or a character reference: inside
# "locked" when it has that label ("lock<!-- -->ed.example"), else at 4.
sub cut { my $i = index($_[0], 'locked'); return $i < 0 ? 4 : $i + 4 }
my @SPELL = (
	[plain   => std     => sub { $_[0] }],
	[upper   => std     => sub { uc $_[0] }],
	[dot     => std     => sub { "$_[0]." }],
	[prefix  => odd     => sub { $_[0] }],
	[default => default => sub { $_[0] }],
	[space   => std     => sub { "\n\t $_[0] \n" }],
	[comment => std     => sub { my $i = cut($_[0]);
	    substr($_[0], 0, $i) . '<!-- -->' . substr($_[0], $i) }],
	[cdata   => std     => sub { my $i = cut($_[0]);
	    substr($_[0], 0, $i) . '<![CDATA[' . substr($_[0], $i, 2) . ']]>'
	    . substr($_[0], $i + 2) }],
	[charref => std     => sub { my $i = cut($_[0]) - 4;
	    substr($_[0], 0, $i) . sprintf('&#%d;', ord(substr($_[0], $i, 1)))
	    . substr($_[0], $i + 1) }],
);
my %SPELL = map { $_->[0] => $_ } @SPELL;

# A command template: %O% object prefix ("domain:", "x:" or ""), %ONS% its
# xmlns declaration, %S% / %SNS% the same for secDNS, %N% the name,
# %V% a value variant.
sub render {
	my ($tmpl, $obj, $name, $spell, $val) = @_;
	my ($sname, $mode, $fn) = @{$SPELL{$spell}};
	my ($op, $ons) = $NSMODE{$mode}->($obj, $URI{$obj});
	my ($sp, $sns) = $NSMODE{$mode}->('secDNS', $URI{secDNS});
	my $n = $fn->($name);
	(my $x = $tmpl) =~ s/%ONS%/$ons/g;
	$x =~ s/%O%/$op/g;
	$x =~ s/%SNS%/$sns/g;
	$x =~ s/%S%/$sp/g;
	$x =~ s/%N%/$n/g;
	$x =~ s/%V%/$val/g if defined $val;
	return $x;
}

sub upd {
	my ($body, $ext) = @_;
	return "<update><%O%update %ONS%><%O%name>%N%</%O%name>$body"
	    . '</%O%update></update>'
	    . (defined $ext ? "<extension>$ext</extension>" : '');
}
sub secdns { return "<%S%update %SNS%>$_[0]</%S%update>" }
sub ds_xml {
	my ($tag, $alg, $dt, $dg) = split / /, $_[0];
	return "<%S%dsData><%S%keyTag>$tag</%S%keyTag><%S%alg>$alg</%S%alg>"
	    . "<%S%digestType>$dt</%S%digestType><%S%digest>$dg</%S%digest>"
	    . '</%S%dsData>';
}
my $RGP = '<rgp:update xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0">'
    . '<rgp:restore op="request"/></rgp:update>';

# name => [object mapping, locked name, template, session, values]
my @CASES = (
	[ns_add => domain => 'locked.example', upd('<%O%add><%O%ns>'
	    . '<%O%hostObj>ns2.dns.example</%O%hostObj></%O%ns></%O%add>')],
	[ns_rem => domain => 'locked.example', upd('<%O%rem><%O%ns>'
	    . '<%O%hostObj>ns.dns.example</%O%hostObj></%O%ns></%O%rem>')],
	[ns_hostattr => domain => 'locked.example', upd('<%O%add><%O%ns>'
	    . '<%O%hostAttr><%O%hostName>ns.evil.example</%O%hostName>'
	    . '<%O%hostAddr ip="v4">203.0.113.66</%O%hostAddr></%O%hostAttr>'
	    . '</%O%ns></%O%add>')],
	[ds_add => domain => 'locked.example',
	    upd('', secdns('<%S%add>' . ds_xml($DS_NEW) . '</%S%add>'))],
	[ds_rem => domain => 'locked.example',
	    upd('', secdns('<%S%rem>' . ds_xml($DS_OLD) . '</%S%rem>'))],
	[ds_rem_all => domain => 'locked.example',
	    upd('', secdns('<%S%rem><%S%all>%V%</%S%all></%S%rem>')),
	    undef, ['true', '1', ' true ']],
	[maxsiglife => domain => 'locked.example', upd('', secdns(
	    '<%S%chg><%S%maxSigLife>604800</%S%maxSigLife></%S%chg>'))],
	[glue_move => host => 'ns1.locked.example',
	    '<update><%O%update %ONS%><%O%name>%N%</%O%name><%O%add>'
	    . '<%O%addr ip="v4">198.51.100.66</%O%addr></%O%add><%O%rem>'
	    . '<%O%addr ip="v4">192.0.2.1</%O%addr></%O%rem></%O%update></update>'],
	[host_create => host => 'ns3.locked.example',
	    '<create><%O%create %ONS%><%O%name>%N%</%O%name>'
	    . '<%O%addr ip="v4">198.51.100.53</%O%addr></%O%create></create>'],
	[host_delete => host => 'ns1.locked.example',
	    '<delete><%O%delete %ONS%><%O%name>%N%</%O%name></%O%delete></delete>'],
	[host_rename => host => 'ns2.locked.example',
	    '<update><%O%update %ONS%><%O%name>ns.dns.example</%O%name>'
	    . '<%O%chg><%O%name>%N%</%O%name></%O%chg></%O%update></update>'],
	[unlock => domain => 'locked.example',
	    upd('<%O%rem><%O%status s="clientUpdateProhibited"/></%O%rem>')],
	[authinfo => domain => 'locked.example', upd('<%O%chg><%O%authInfo>'
	    . '<%O%pw>attacker-auth-1</%O%pw></%O%authInfo></%O%chg>')],
	[registrant => domain => 'locked.example',
	    upd('<%O%chg><%O%registrant>adm-1</%O%registrant></%O%chg>')],
	[contact_add => domain => 'locked.example',
	    upd('<%O%add><%O%contact type="tech">adm-1</%O%contact></%O%add>')],
	[transfer_request => domain => 'locked.example',
	    '<transfer op="request"><%O%transfer %ONS%><%O%name>%N%</%O%name>'
	    . '<%O%authInfo><%O%pw>locked-auth-1</%O%pw></%O%authInfo>'
	    . '</%O%transfer></transfer>', $r2],
	[transfer_approve => domain => 'locked.example',
	    '<transfer op="approve"><%O%transfer %ONS%><%O%name>%N%</%O%name>'
	    . '</%O%transfer></transfer>'],
	[delete => domain => 'locked.example',
	    '<delete><%O%delete %ONS%><%O%name>%N%</%O%name></%O%delete></delete>'],
	[rgp_restore => domain => 'locked.example', upd('<%O%chg/>', $RGP)],
	[unknown_ext => domain => 'locked.example', upd('',
	    '<foo:update xmlns:foo="urn:example:eppgw-test:foo-1.0">'
	    . '<foo:flag>1</foo:flag></foo:update>')],
);

my %T = map { $_->[0] => $_->[3] } @CASES;	# case => template

# ---- one denied command ----

my $tn = 0;
my %trids;	# clTRID => 1 for every command sent through the gateway
my %xml_of;	# "case/spell[/value]" => the XML sent (for explain)

# Send $inner (a command) as $label on $sess and check everything a denial
# must be; returns the change id (or '' when there is none).
sub denied {
	my ($sess, $label, $inner, $before) = @_;
	my $trid = 'POL-' . ++$tn;
	$trids{$trid} = 1;
	my $xml = epp_command($inner, $trid);
	$xml_of{$label} = $xml;
	my $doc = epp_raw($sess, $xml);
	my @bad;
	my $id = '';
	if (!ref $doc) {
		push @bad, 'no reply (connection closed)';
	} else {
		my $x = xpc($doc);
		my $code = result_code($doc) // 'none';
		my $reason = $x->findvalue('//epp:result/epp:extValue/epp:reason');
		push @bad, "code $code, not 2304" unless $code eq '2304';
		if ($reason =~ /^approval_required ([0-9a-f]{12})$/) {
			$id = $1;
		} else {
			push @bad, "reason \"$reason\"";
		}
		my $echo = $x->findvalue('//epp:trID/epp:clTRID');
		push @bad, "clTRID \"$echo\" not echoed" unless $echo eq $trid;
		my $sv = $x->findvalue('//epp:trID/epp:svTRID');
		push @bad, "svTRID \"$sv\" is not the gateway's"
		    unless $sv =~ /^eppgw-/;
	}
	my @j = journal_find($rs, clTRID => $trid);
	push @bad, 'the registry executed it: ' . $j[0]{line} if @j;
	if (defined $before) {
		my $after = snapshot();
		if ($after ne $before) {
			my %a = map { $_ => 1 } split /\n/, $after;
			my %b = map { $_ => 1 } split /\n/, $before;
			push @bad, 'registry state changed: '
			    . join(', ', (map { "-$_" } grep { !$a{$_} }
			    split /\n/, $before), (map { "+$_" } grep { !$b{$_} }
			    split /\n/, $after));
		}
	}
	ok(!@bad, "$label: 2304 approval_required $id, clTRID echoed, not "
	    . 'forwarded, registry unchanged') or diag(join('; ', @bad));
	return $id;
}

# ---- the attack set on locked.example ----

my $baseline = snapshot();
like($baseline, qr/^ns=ns1\.locked\.example\nns=ns\.dns\.example$/m,
    'locked.example starts with NS ns1.locked.example, ns.dns.example');
like($baseline, qr/^ds=\Q$DS_OLD\E$/m, 'locked.example starts with its DS');
like($baseline, qr/^addr=192\.0\.2\.1$/m, 'ns1.locked.example has 192.0.2.1');
my $journal0 = scalar foreign_journal();

my %ids;	# case => { id => [labels] }
for my $c (@CASES) {
	my ($case, $obj, $name, $tmpl, $sess, $vals) = @$c;
	$sess //= $r1;
	my $before = $baseline;
	if ($case eq 'unlock') {
		# The lock status the attacker wants gone, set at the registry.
		is(result_code(direct("<update><domain:update $D><domain:name>"
		    . 'locked.example</domain:name><domain:add><domain:status '
		    . 's="clientUpdateProhibited"/></domain:add></domain:update>'
		    . '</update>')), 1000,
		    'unlock: clientUpdateProhibited set directly at the registry');
		$before = snapshot();
		like($before, qr/^status=clientUpdateProhibited$/m,
		    'the registry shows clientUpdateProhibited');
	}
	for my $v (@{$vals // [undef]}) {
		for my $s (@SPELL) {
			my $label = "$case/$s->[0]" . (defined $v ? "/all='$v'" : '');
			my $id = denied($sess, $label,
			    render($tmpl, $obj, $name, $s->[0], $v), $before);
			push @{$ids{$case}{$id}}, $label;
		}
	}
	my @got = keys %{$ids{$case}};
	is(scalar(@got), 1, "$case: every spelling gives the same change id")
	    or diag(explain($ids{$case}));
	if ($case eq 'unlock') {
		is(result_code(direct("<update><domain:update $D><domain:name>"
		    . 'locked.example</domain:name><domain:rem><domain:status '
		    . 's="clientUpdateProhibited"/></domain:rem></domain:update>'
		    . '</update>')), 1000,
		    'unlock: clientUpdateProhibited removed directly again');
		# upDate moved with the direct updates: that is the new baseline.
		$baseline = snapshot();
	}
}
my %owner;
for my $case (sort keys %ids) {
	for my $id (keys %{$ids{$case}}) {
		push @{$owner{$id}}, $case;
	}
}
my @shared = grep { @{$owner{$_}} > 1 } keys %owner;
ok(!@shared, 'different changes give different change ids')
    or diag(join("\n", map { "$_: @{$owner{$_}}" } @shared));
is(scalar(keys %owner), scalar(@CASES), 'one change id per change');

# Near misses: one semantic difference, another id.
{
	my $other = denied($r1, 'ds_add/other digest', render(upd('', secdns(
	    '<%S%add>' . ds_xml('4242 13 2 ' . ('AB' x 32)) . '</%S%add>')),
	    'domain', 'locked.example', 'plain'), $baseline);
	my $pw = denied($r1, 'authinfo/other password', render(upd(
	    '<%O%chg><%O%authInfo><%O%pw>attacker-auth-2</%O%pw></%O%authInfo>'
	    . '</%O%chg>'), 'domain', 'locked.example', 'plain'), $baseline);
	my ($ds_add) = keys %{$ids{ds_add}};
	my ($ai) = keys %{$ids{authinfo}};
	isnt($other, $ds_add, 'another DS digest: another change id');
	isnt($pw, $ai, 'another authInfo: another change id');
	my $ns2 = denied($r1, 'ns_add/two hosts', render(upd('<%O%add><%O%ns>'
	    . '<%O%hostObj>ns2.dns.example</%O%hostObj>'
	    . '<%O%hostObj>NS2.DNS.EXAMPLE.</%O%hostObj></%O%ns></%O%add>'),
	    'domain', 'locked.example', 'plain'), $baseline);
	my ($nsa) = keys %{$ids{ns_add}};
	is($ns2, $nsa, 'a repeated host (other case, trailing dot) is the same change');
	my $xr = denied($r1, 'transfer_request/as registrar1',
	    render($T{transfer_request}, 'domain', 'locked.example', 'plain'), $baseline);
	my ($tr2) = keys %{$ids{transfer_request}};
	isnt($xr, $tr2, 'the same transfer from another clID: another change id');
}

# An object type the gateway does not know, with a mutating verb: fail closed.
denied($r1, 'unknown object update', '<update><w:update '
    . 'xmlns:w="urn:example:eppgw-test:widget-1.0"><w:name>anything.example'
    . '</w:name></w:update></update>', $baseline);

# The pattern lock *.bank.example.
my %pay;
for my $s (qw(plain upper dot prefix default comment)) {
	my $id = denied($r1, "pay.bank.example ns_add/$s",
	    render($T{ns_add}, 'domain', 'pay.bank.example', $s), $baseline);
	$pay{$id} = 1;
}
is(scalar(keys %pay), 1, 'pay.bank.example: one change id for every spelling');
ok(!grep({ $owner{$_} } keys %pay),
    'pay.bank.example NS add: not the id of the same change on locked.example');

is(scalar(foreign_journal()), $journal0,
    'the registry journal has no command from the attack set at all');
is(snapshot(), $baseline, 'locked.example, its hosts and pay.bank.example '
    . 'unchanged at the registry after the attack set');

# ---- what passes ----

# A command the gateway should forward: returns the reply.
sub forwarded {
	my ($sess, $label, $inner, $want) = @_;
	my $trid = 'POL-' . ++$tn;
	my $xml = epp_command($inner, $trid);
	$xml_of{$label} = $xml;
	my $doc = epp_raw($sess, $xml);
	my $x = ref $doc ? xpc($doc) : undef;
	my @bad;
	my $code = result_code($doc) // 'none';
	push @bad, "code $code, not $want" unless $code eq $want;
	my $sv = $x ? $x->findvalue('//epp:trID/epp:svTRID') : '';
	push @bad, "svTRID \"$sv\" is not the registry's" unless $sv =~ /^regsim-/;
	push @bad, 'no journal line at the registry'
	    unless journal_find($rs, clTRID => $trid);
	ok(!@bad, "$label: forwarded, registry answers $want")
	    or diag(join('; ', @bad) . ($x ? ': '
	    . $x->findvalue('//epp:result/epp:msg') : ''));
	return $doc;
}

forwarded($r1, 'bank.example ns_add (not matched by *.bank.example)',
    render($T{ns_add}, 'domain', 'bank.example', 'plain'), 2303);

# Reading, renewing and tightening on locked.example pass.
forwarded($r1, 'domain:info locked.example', "<info><domain:info $D>"
    . '<domain:name>LOCKED.EXAMPLE</domain:name></domain:info></info>', 1000);
forwarded($r1, 'domain:check locked.example', "<check><domain:check $D>"
    . '<domain:name>locked.example</domain:name></domain:check></check>', 1000);
forwarded($r1, 'host:info ns1.locked.example', "<info><host:info $H>"
    . '<host:name>ns1.locked.example</host:name></host:info></info>', 1000);
forwarded($r1, 'domain:renew locked.example', "<renew><domain:renew $D>"
    . '<domain:name>locked.example</domain:name><domain:curExpDate>2030-01-15'
    . '</domain:curExpDate><domain:period unit="y">1</domain:period>'
    . '</domain:renew></renew>', 1000);
like(direct_domain('locked.example'), qr/^code=1000$/m, 'locked.example still there');
like(xpc(direct("<info><domain:info $D><domain:name>locked.example"
    . '</domain:name></domain:info></info>'))->findvalue('//domain:exDate'),
    qr/^2031-01-15/, 'the renewal reached the registry');
forwarded($r1, 'status add on locked.example', render(upd('<%O%add>'
    . '<%O%status s="clientDeleteProhibited"/></%O%add>'), 'domain',
    'locked.example', 'plain'), 1000);
like(direct_domain('locked.example'), qr/^status=clientDeleteProhibited$/m,
    'the registry shows clientDeleteProhibited');
denied($r1, 'status rem clientDeleteProhibited (the unlock)', render(upd(
    '<%O%rem><%O%status s="clientDeleteProhibited"/></%O%rem>'), 'domain',
    'locked.example', 'upper'), snapshot());
is(result_code(direct("<update><domain:update $D><domain:name>locked.example"
    . '</domain:name><domain:rem><domain:status s="clientDeleteProhibited"/>'
    . '</domain:rem></domain:update></update>')), 1000,
    'clientDeleteProhibited removed directly at the registry');
# all=false removes nothing, yet any secDNS update on a locked domain is
# a DS change: what it means is for the registry to say, not the gateway.
denied($r1, 'ds rem all=false on locked.example (any secDNS update is ds)',
    render(upd('', secdns('<%S%rem><%S%all> false </%S%all></%S%rem>')),
    'domain', 'locked.example', 'plain'), snapshot());
like(direct_domain('locked.example'), qr/^ds=\Q$DS_OLD\E$/m,
    'all=false: the DS record is still there');

# An invalid name is no way around the lock.
for my $bad ('locked..example', '-locked.example', 'LOCKED..EXAMPLE.') {
	my $trid = 'POL-' . ++$tn;
	my $doc = epp_raw($r1, epp_command(render($T{ns_add}, 'domain', $bad,
	    'plain'), $trid));
	is(result_code($doc), 2001, "$bad: 2001");
	is($doc && xpc($doc)->findvalue('//epp:result/epp:extValue/epp:reason'),
	    'syntax', "$bad: reason syntax");
	ok(!journal_find($rs, clTRID => $trid), "$bad: not forwarded");
}

# ---- the same changes on open.example go through ----

sub plain { render($_[0], $_[1] // 'domain', $_[2] // 'open.example', 'plain') }
my $open0 = direct_domain('open.example');
forwarded($r1, 'open.example ns_add', plain($T{ns_add}), 1000);
like(direct_domain('open.example'), qr/^ns=ns2\.dns\.example$/m,
    'open.example: the registry has ns2.dns.example');
forwarded($r1, 'open.example ns_rem', plain(upd('<%O%rem><%O%ns>'
    . '<%O%hostObj>ns2.dns.example</%O%hostObj></%O%ns></%O%rem>')), 1000);
unlike(direct_domain('open.example'), qr/^ns=ns2\.dns\.example$/m,
    'open.example: ns2.dns.example removed again');
forwarded($r1, 'open.example ns_hostattr (the registry does not do hostAttr)',
    plain($T{ns_hostattr}), 2102);
forwarded($r1, 'open.example ds_add', plain($T{ds_add}), 1000);
like(direct_domain('open.example'), qr/^ds=\Q$DS_NEW\E$/m,
    'open.example: the registry has the new DS');
forwarded($r1, 'open.example ds_rem', plain(upd('', secdns('<%S%rem>'
    . ds_xml($DS_NEW) . '</%S%rem>'))), 1000);
unlike(direct_domain('open.example'), qr/^ds=/m, 'open.example: DS removed');
forwarded($r1, 'open.example ds_add again', plain($T{ds_add}), 1000);
forwarded($r1, "open.example ds_rem_all (' true ')",
    render($T{ds_rem_all}, 'domain', 'open.example', 'plain', ' true '), 1000);
unlike(direct_domain('open.example'), qr/^ds=/m, 'open.example: rem all removed it');
forwarded($r1, 'open.example maxsiglife', plain($T{maxsiglife}), 1000);
like(direct_domain('open.example'), qr/^maxSigLife=604800$/m,
    'open.example: maxSigLife 604800');
forwarded($r1, 'open.example status add', plain(upd('<%O%add>'
    . '<%O%status s="clientUpdateProhibited"/></%O%add>')), 1000);
# clientUpdateProhibited is the registrar lock itself: removing it is an
# unlock on any domain, listed or not.
denied($r1, 'open.example unlock (the registrar lock, on any domain)',
    plain($T{unlock}));
like(direct_domain('open.example'), qr/^status=clientUpdateProhibited$/m,
    'open.example: clientUpdateProhibited still set at the registry');
is(result_code(direct("<update><domain:update $D><domain:name>open.example"
    . '</domain:name><domain:rem><domain:status s="clientUpdateProhibited"/>'
    . '</domain:rem></domain:update></update>')), 1000,
    'open.example: clientUpdateProhibited removed directly at the registry');
unlike(direct_domain('open.example'), qr/^status=clientUpdateProhibited$/m,
    'open.example: clientUpdateProhibited gone');
forwarded($r1, 'open.example authinfo', plain($T{authinfo}), 1000);
like(direct_domain('open.example'), qr/^authInfo=attacker-auth-1$/m,
    'open.example: new authInfo');
forwarded($r1, 'open.example registrant', plain($T{registrant}), 1000);
like(direct_domain('open.example'), qr/^registrant=adm-1$/m,
    'open.example: registrant adm-1');
forwarded($r1, 'open.example contact_add', plain($T{contact_add}), 1000);
like(direct_domain('open.example'), qr/^contact=tech:adm-1$/m,
    'open.example: tech contact adm-1');
forwarded($r1, 'host:create ns1.open.example', plain($T{host_create}, 'host',
    'ns1.open.example'), 1000);
forwarded($r1, 'ns1.open.example glue_move', plain('<update><%O%update %ONS%>'
    . '<%O%name>%N%</%O%name><%O%add><%O%addr ip="v4">198.51.100.66</%O%addr>'
    . '</%O%add><%O%rem><%O%addr ip="v4">198.51.100.53</%O%addr></%O%rem>'
    . '</%O%update></update>', 'host', 'ns1.open.example'), 1000);
like(direct_host('ns1.open.example'), qr/^addr=198\.51\.100\.66$/m,
    'ns1.open.example: the registry has the new address');
# Any rename is held, even under an unlocked domain: the gateway cannot
# see which domains a host serves (it may serve locked.example).
denied($r1, 'host rename ns1.open.example -> ns9.open.example (any rename '
    . 'is held)', plain('<update><%O%update %ONS%><%O%name>ns1.open.example'
    . '</%O%name><%O%chg><%O%name>%N%</%O%name></%O%chg></%O%update>'
    . '</update>', 'host', 'ns9.open.example'), snapshot());
like(direct_host('ns9.open.example'), qr/^code=2303$/m,
    'ns9.open.example was not created');
forwarded($r1, 'host:delete ns1.open.example', plain($T{host_delete}, 'host',
    'ns1.open.example'), 1000);
like(direct_host('ns1.open.example'), qr/^code=2303$/m, 'ns1.open.example gone');
forwarded($r1, 'open.example delete', plain($T{delete}), 1000);
like(direct_domain('open.example'), qr/^status=pendingDelete$/m,
    'open.example: pendingDelete');
forwarded($r1, 'open.example rgp_restore', plain($T{rgp_restore}), 1000);
unlike(direct_domain('open.example'), qr/^status=pendingDelete$/m,
    'open.example: restored');
forwarded($r1, 'open.example unknown_ext (the registry refuses it)',
    plain($T{unknown_ext}), 2103);
forwarded($r2, 'open.example transfer_request as registrar2',
    plain('<transfer op="request"><%O%transfer %ONS%><%O%name>%N%</%O%name>'
    . '<%O%authInfo><%O%pw>attacker-auth-1</%O%pw></%O%authInfo>'
    . '</%O%transfer></transfer>'), 1001);
like(direct_domain('open.example'), qr/^status=pendingTransfer$/m,
    'open.example: pendingTransfer');
forwarded($r1, 'open.example transfer_approve', plain($T{transfer_approve}), 1000);
like(direct_domain('open.example'), qr/^clID=registrar2$/m,
    'open.example now sponsored by registrar2');

# ---- eppgwctl explain agrees with the gateway ----

SKIP: {
	my $ctl = File::Spec->catfile(build_dir(), 'eppgwctl');
	skip "$ctl missing", 1 unless -x $ctl;
	my @want;	# [label, decision, change id]
	for my $case (qw(ns_add ds_rem_all glue_move unlock transfer_approve
	    unknown_ext)) {
		my ($id) = keys %{$ids{$case}};
		for my $s (qw(plain upper prefix default cdata)) {
			my $label = "$case/$s"
			    . ($case eq 'ds_rem_all' ? "/all='1'" : '');
			push @want, [$label, 'approval_required', $id];
		}
	}
	push @want, map { [$_, 'allow', undef] } ('open.example ns_add',
	    'open.example ds_add', 'open.example authinfo',
	    'domain:info locked.example');
	my @files;
	my $i = 0;
	for my $w (@want) {
		my $f = "$gw->{dir}/explain-" . ++$i . '.xml';
		open(my $fh, '>', $f) or die "$f: $!";
		print $fh $xml_of{$w->[0]} // die "no XML for $w->[0]";
		close($fh);
		push @files, $f;
	}
	my $out = qx{"$ctl" explain -f "$gw->{conf}" --clid registrar1 @files 2>&1};
	is($?, 0, 'eppgwctl explain exits 0') or diag($out);
	my @res = map { eval { decode_json($_) } // { raw => $_ } }
	    split /\n/, $out;
	is(scalar(@res), scalar(@want), 'one JSON object per file');
	for my $k (0 .. $#want) {
		my ($label, $dec, $id) = @{$want[$k]};
		my $r = $res[$k] // {};
		is($r->{decision}, $dec, "explain $label: $dec");
		is($r->{change_id}, $id, "explain $label: the gateway's change id $id")
		    if defined $id;
	}
	# The transfer by registrar2: the clID is part of the change.
	my $f = "$gw->{dir}/explain-xfer.xml";
	open(my $fh, '>', $f) or die "$f: $!";
	print $fh $xml_of{'transfer_request/plain'};
	close($fh);
	my ($tid) = keys %{$ids{transfer_request}};
	my $j = eval { decode_json(scalar qx{"$ctl" explain -f "$gw->{conf}" --clid registrar2 "$f"}) } // {};
	is($j->{change_id}, $tid, 'explain --clid registrar2: the id the gateway '
	    . 'gave registrar2\'s transfer request');
}

# ---- protect = ds: NS changes on locked.example pass, DS changes do not ----

my $gwds = start_gateway(regsim => $rs,
    policy => { locks => $LOCKS, protect => 'ds' });
my $p = epp_client(port => $gwds->{port});
ok($p, "registrar1 through the protect=ds gateway on port $gwds->{port}")
    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
forwarded($p, 'protect=ds: locked.example ns_add', plain($T{ns_add}, 'domain',
    'locked.example'), 1000);
like(direct_domain('locked.example'), qr/^ns=ns2\.dns\.example$/m,
    'protect=ds: the registry has ns2.dns.example on locked.example');
forwarded($p, 'protect=ds: locked.example ns_rem', plain(upd('<%O%rem><%O%ns>'
    . '<%O%hostObj>ns2.dns.example</%O%hostObj></%O%ns></%O%rem>'), 'domain',
    'locked.example'), 1000);
my $dsnow = snapshot();
my ($ds_add_id) = keys %{$ids{ds_add}};
is(denied($p, 'protect=ds: locked.example ds_add/prefix', render($T{ds_add},
    'domain', 'LOCKED.example', 'prefix'), $dsnow), $ds_add_id,
    'protect=ds: DS add denied with the same change id as before');
my ($ds_all_id) = keys %{$ids{ds_rem_all}};
is(denied($p, 'protect=ds: locked.example ds_rem_all/default', render(
    $T{ds_rem_all}, 'domain', 'locked.example', 'default', '1'), $dsnow),
    $ds_all_id, 'protect=ds: DS rem all denied, same change id');
like(direct_domain('locked.example'), qr/^ds=\Q$DS_OLD\E$/m,
    'protect=ds: locked.example keeps its DS');

# ---- a host that serves a locked domain (last: it may change the registry) ----

# DESIGN.md section 4, class "host": "rename of a host that serves a locked
# domain".  ns.dns.example serves locked.example: renaming it to an
# attacker's name repoints locked.example's delegation without naming
# locked.example at all (the registry renames every reference).
my $serving = snapshot();
like($serving, qr/^ns=ns\.dns\.example$/m, 'ns.dns.example serves locked.example');
denied($r1, 'host rename ns.dns.example -> ns.evil.example (serves '
    . 'locked.example)', "<update><host:update $H><host:name>ns.dns.example"
    . '</host:name><host:chg><host:name>ns.evil.example</host:name></host:chg>'
    . '</host:update></update>', $serving);
unlike(direct_domain('locked.example'), qr/^ns=ns\.evil\.example$/m,
    'locked.example is not delegated to ns.evil.example');

epp_close($_) for $r1, $r2, $p, $direct;
gateways_clean();
done_testing();
