#!/usr/bin/perl
# 35-registry-reading.t: the gateway must read a command exactly as the
# registry will (DESIGN.md sections 2-4).  A review, acting as one registrar
# identity, once got protected changes on locked domains executed at the
# registry because the two read one command differently.  Each root cause
# has its regression cases here, sent with Net::EPP through the live gateway;
# every case then asks the SIMULATOR itself (domain:info, host:info,
# contact:info and host:check on a direct session) and its journal whether
# anything happened, not only the gateway's reply code:
#
#   1. eppgw's own elements inside fields (name, hostObj, status, secDNS
#      keyTag/digest/all, under <domain:add>, inside <secDNS:update>):
#      refused or held, registry unchanged.
#   2. Values read as their schema types (xs:token collapse, character
#      references, attribute-value normalisation, xs:boolean): held with the
#      change id of the plain spelling; schema-invalid commands are 2001 and
#      never forwarded.
#   3. Semantics: secDNS-1.0 <chg> replaces the DS set, any secDNS update on
#      a locked domain is ds, adding clientHold is status, removing
#      clientUpdateProhibited is an unlock on ANY domain, a host named like a
#      locked domain is covered by its lock; the same changes on
#      open.example go through and the registry shows them.
#   4. Bounded parse work: namespace, depth, attribute, sibling and text
#      bombs are 2001 (or closed over max_frame) within a bound, while a
#      second session is answered promptly.
#   5. Siblings: XML declaration and encoding tricks, Unicode in names,
#      namespace-prefix games, xsi:/xml: attributes, duplicate attributes in
#      other namespaces, multiple extensions, <epp><extension> commands,
#      unknown object mappings, extensions on read-only commands, contacts
#      of a locked domain, host renames, RGP report, keyTag/digest spellings.
#   6. (last because it changes the registry) glue added to a host in a
#      locked domain's NS set.
#
#   make BUILD=build/h2 all certs
#   EPPGW_BUILD=build/h2 prove -v -I tests/e2e/lib tests/e2e/35-registry-reading.t
use strict;
use warnings;

use Encode qw(encode);
use Test::More;
use Time::HiRes qw(time);
use EppgwTest qw(:all);

$SIG{PIPE} = 'IGNORE';	# writing to a connection the gateway closed

my %URI = (
	domain  => 'urn:ietf:params:xml:ns:domain-1.0',
	host    => 'urn:ietf:params:xml:ns:host-1.0',
	contact => 'urn:ietf:params:xml:ns:contact-1.0',
	sec11   => 'urn:ietf:params:xml:ns:secDNS-1.1',
	sec10   => 'urn:ietf:params:xml:ns:secDNS-1.0',
	rgp     => 'urn:ietf:params:xml:ns:rgp-1.0',
	eppgw   => 'urn:eppgw:params:xml:ns:eppgw-1.0',
);
my $D = qq{xmlns:domain="$URI{domain}"};
my $H = qq{xmlns:host="$URI{host}"};
my $C = qq{xmlns:contact="$URI{contact}"};
my $S = qq{xmlns:secDNS="$URI{sec11}"};
my $S0 = qq{xmlns:secDNS="$URI{sec10}"};
my $R = qq{xmlns:rgp="$URI{rgp}"};
my $G = qq{xmlns:g="$URI{eppgw}"};
my $F = 'xmlns:foo="urn:example:eppgw-test:foo-1.0"';
my $LOCKS = ['locked.example', '*.bank.example'];
# 1 MiB (not the 64 KiB default): the bombs of section 4 must be stopped by
# the parse bounds, not by the frame limit.
my $MAXF = 1048576;
my $DS_OLD = '12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E0D8CF3CB0F2AA0A9DB1E1B7';
my $DS_NEW = '4242 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D';
my $T0 = time;

my $rs = start_regsim();
# alice may also act as registrar2: transfers from another registrar.
my $gw = start_gateway(regsim => $rs, policy => { locks => $LOCKS },
    gateway => { max_frame => $MAXF },
    principals => { alice => { cert => 'alice',
    clids => 'registrar1 registrar2', roles => 'requester' } });
ok($gw->{pid}, "gateway on port $gw->{port}, locks @$LOCKS, no approvals");

my $direct = direct_session($rs, 'state checks');
my ($r1, $r2) = registrar_sessions($gw);

# ---- the registry's own view ----

sub direct { return registry_cmd($direct, @_) }
sub direct_domain { return registry_domain($direct, @_) }
sub direct_host { return registry_host($direct, @_) }
sub direct_contact { return registry_contact($direct, @_) }

# Everything an attack on a locked object could have touched.
sub snapshot {
	return registry_snapshot($direct, 'avail host',
	    qw(locked.example ns2.locked.example ns9.locked.example));
}

# locked.example's contacts (a domain:info of locked.example named them):
# checked where a case may touch them, and at the end.
sub contacts {
	return join('', map { "[contact $_]\n" . direct_contact($_) }
	    qw(reg-1 adm-1 tech-1));
}

# The state to compare with $before: with the contacts if it has them.
sub state_like {
	my ($before) = @_;
	return snapshot() . ($before =~ /^\[contact /m ? contacts() : '');
}

sub diff_state {
	my ($before, $after) = @_;
	return () if $after eq $before;
	my %a = map { $_ => 1 } split /\n/, $after;
	my %b = map { $_ => 1 } split /\n/, $before;
	return ('registry state changed: ' . join(', ',
	    (map { "-$_" } grep { !$a{$_} } split /\n/, $before),
	    (map { "+$_" } grep { !$b{$_} } split /\n/, $after)));
}

# ---- sending ----

my $tn = 0;
my @held_trids;		# every clTRID that must never reach the registry

# Journal lines of commands that did not come from the direct session.
sub foreign_journal {
	return scalar grep { ($_->{clTRID} // '') !~ /^DIRECT-/ }
	    journal_lines($rs);
}

# Send $xml on $sess: a whole frame (from "<?xml" or "<epp", %TRID% for the
# clTRID if it has one) or a command wrapped here.  Returns (doc, clTRID,
# '' when the frame has none);
# $journal_before is the foreign journal's length before it was sent.
my $journal_before;
sub send_cmd {
	my ($sess, $xml) = @_;
	my $trid = 'RR-' . ++$tn;
	if ($xml =~ /^(?:\xef\xbb\xbf)?<(?:\?xml|epp|\w+:epp)/) {
		$trid = '' unless $xml =~ s/%TRID%/$trid/g;
	} else {
		$xml = epp_command($xml, $trid);
	}
	$journal_before = foreign_journal();
	my $doc = epp_raw($sess, $xml);
	return ($doc, $trid);
}

sub own_reply {
	my ($doc, $trid, $codes, $reasons, $bad) = @_;
	if (!ref $doc) {
		push @$bad, 'no reply (connection closed)';
		return ('', '');
	}
	my $x = xpc($doc);
	my $code = result_code($doc) // 'none';
	my $reason = $x->findvalue('//epp:result/epp:extValue/epp:reason');
	push @$bad, "code $code, not " . join(' or ', @$codes)
	    unless grep { $_ eq $code } @$codes;
	push @$bad, "reason \"$reason\"" unless $reason =~ $reasons;
	# A command refused before it was read (2001) may lack its clTRID.
	my $echo = $x->findvalue('//epp:trID/epp:clTRID');
	push @$bad, "clTRID \"$echo\" not echoed" unless $echo eq $trid
	    || ($code eq '2001' && $echo eq '');
	my $sv = $x->findvalue('//epp:trID/epp:svTRID');
	push @$bad, "svTRID \"$sv\" is not the gateway's" unless $sv =~ /^eppgw-/;
	return ($code, $reason);
}

sub not_at_registry {
	my ($trid, $before, $bad) = @_;
	push @held_trids, $trid if $trid ne '';
	my @j = $trid ne '' ? journal_find($rs, clTRID => $trid) : ();
	push @$bad, 'the registry executed it: ' . $j[0]{line} if @j;
	# Frames without a clTRID (<epp><extension>) too.
	my $n = foreign_journal();
	push @$bad, ($n - $journal_before) . ' new journal line(s)'
	    if !@j && $n != $journal_before;
	push @$bad, diff_state($before, state_like($before)) if defined $before;
}

# A protected change: 2304 approval_required <id> from the gateway, no
# journal line, registry unchanged.  Returns the change id.
sub denied {
	my ($sess, $label, $xml, $before) = @_;
	my ($doc, $trid) = send_cmd($sess, $xml);
	my @bad;
	my (undef, $reason) = own_reply($doc, $trid, [2304],
	    qr/^approval_required [0-9a-f]{12}$/, \@bad);
	not_at_registry($trid, $before, \@bad);
	my ($id) = ($reason // '') =~ /([0-9a-f]{12})$/;
	ok(!@bad, "$label: held (2304 approval_required"
	    . ($id ? " $id" : '') . '), not forwarded, registry unchanged')
	    or diag(join('; ', @bad));
	return $id // '';
}

# A schema error or unsafe input: 2001 syntax from the gateway, nothing
# forwarded, registry unchanged.
sub refused {
	my ($sess, $label, $xml, $before) = @_;
	my ($doc, $trid) = send_cmd($sess, $xml);
	my @bad;
	own_reply($doc, $trid, [2001], qr/^syntax$/, \@bad);
	not_at_registry($trid, $before, \@bad);
	ok(!@bad, "$label: refused (2001 syntax), not forwarded, registry "
	    . 'unchanged') or diag(join('; ', @bad));
}

# Either of the two (what matters is that the registry never sees it).
sub stopped {
	my ($sess, $label, $xml, $before) = @_;
	my ($doc, $trid) = send_cmd($sess, $xml);
	my @bad;
	my ($code) = own_reply($doc, $trid, [2001, 2304],
	    qr/^(syntax|approval_required [0-9a-f]{12})$/, \@bad);
	not_at_registry($trid, $before, \@bad);
	ok(!@bad, "$label: stopped at the gateway ($code), not forwarded, "
	    . 'registry unchanged') or diag(join('; ', @bad));
}

# A command the gateway should forward: the registry's own reply $want.
sub forwarded {
	my ($sess, $label, $xml, $want) = @_;
	my ($doc, $trid) = send_cmd($sess, $xml);
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
	    . $x->findvalue('//epp:result/epp:msg') . ' '
	    . $x->findvalue('//epp:result/epp:extValue/epp:reason') : ''));
	return $doc;
}

# ---- command builders ----

sub dupd {
	my ($name, $body, $ext) = @_;
	return "<update><domain:update $D><domain:name>$name</domain:name>"
	    . ($body // '') . '</domain:update></update>'
	    . (defined $ext ? "<extension>$ext</extension>" : '');
}
# The same with attributes on <domain:name>.
sub dupd_attr {
	my ($attrs, $name, $body) = @_;
	return "<update><domain:update $D><domain:name $attrs>$name"
	    . "</domain:name>$body</domain:update></update>";
}
sub ds_xml {
	my ($tag, $alg, $dt, $dg) = split / /, $_[0];
	return "<secDNS:dsData><secDNS:keyTag>$tag</secDNS:keyTag>"
	    . "<secDNS:alg>$alg</secDNS:alg><secDNS:digestType>$dt"
	    . "</secDNS:digestType><secDNS:digest>$dg</secDNS:digest>"
	    . '</secDNS:dsData>';
}
sub sec11 { my ($attrs, $body) = @_;
	return "<secDNS:update $S$attrs>$body</secDNS:update>" }
sub sec10 { my ($body) = @_; return "<secDNS:update $S0>$body</secDNS:update>" }
sub status_upd {
	my ($name, $op, $s) = @_;
	return dupd($name, "<domain:$op><domain:status s=\"$s\"/></domain:$op>");
}
my $NS_ADD = '<domain:add><domain:ns><domain:hostObj>ns2.dns.example'
    . '</domain:hostObj></domain:ns></domain:add>';
sub xfer {
	my ($op, $name, $pw) = @_;
	return "<transfer op=\"$op\"><domain:transfer $D><domain:name>$name"
	    . '</domain:name>' . (defined $pw ? '<domain:authInfo><domain:pw>'
	    . "$pw</domain:pw></domain:authInfo>" : '')
	    . '</domain:transfer></transfer>';
}
sub restore { my ($op) = @_;
	return "<rgp:update $R><rgp:restore op=\"$op\"/></rgp:update>" }
sub frame_with_decl {
	my ($decl, $inner) = @_;
	return $decl . '<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>'
	    . $inner . '<clTRID>%TRID%</clTRID></command></epp>';
}
sub utf8_bytes { my ($s) = @_; return encode('UTF-8', $s) }

# ---- start: what the registry holds ----

my $base = snapshot();
like($base, qr/^ns=ns1\.locked\.example\nns=ns\.dns\.example$/m,
    'locked.example starts with NS ns1.locked.example, ns.dns.example');
like($base, qr/^ds=\Q$DS_OLD\E$/m, 'locked.example starts with its DS');
like($base, qr/^avail host locked\.example=1$/m,
    'there is no host named locked.example');
# The gateway learns locked.example's contacts from this reply.
forwarded($r1, 'domain:info locked.example through the gateway',
    "<info><domain:info $D><domain:name>locked.example</domain:name>"
    . '</domain:info></info>', 1000);

my $contacts0 = contacts();
like($contacts0, qr/^email=registrant\@example\.net$/m,
    'reg-1 starts with its own email address');

# ==== 2a. the unlock, spelled as the schema reads it ====

is(result_code(direct(status_upd('locked.example', 'add',
    'clientUpdateProhibited'))), 1000,
    'clientUpdateProhibited set on locked.example directly at the registry');
{
	my $locked = snapshot();
	like($locked, qr/^status=clientUpdateProhibited$/m,
	    'the registry shows clientUpdateProhibited on locked.example');
	my %ids;
	for my $v (['plain', 'clientUpdateProhibited'],
	    ['spaces', ' clientUpdateProhibited '],
	    ['literal tab and newline (attribute-value normalisation)',
	    "\tclientUpdateProhibited\n"],
	    ['&#9; / &#10;', '&#9;clientUpdateProhibited&#10;'],
	    ['&#13;&#10; / &#32;', '&#13;&#10;clientUpdateProhibited&#32;&#32;'],
	    ['&#x20; and a literal CR LF', "&#x20;\r\nclientUpdateProhibited"]) {
		my $id = denied($r1, "unlock locked.example, s=$v->[0]",
		    status_upd('locked.example', 'rem', $v->[1]), $locked);
		$ids{$id} = 1;
	}
	is(scalar(keys %ids), 1, 'every spelling of s is the same change id');
	refused($r1, 'unlock with an eppgw element inside <domain:status>',
	    dupd('locked.example', '<domain:rem><domain:status '
	    . "s=\"clientUpdateProhibited\">why<g:x $G>not</g:x></domain:status>"
	    . '</domain:rem>'), $locked);
	refused($r1, 'unlock with a second s in the eppgw namespace',
	    dupd('locked.example', '<domain:rem><domain:status '
	    . "s=\"clientDeleteProhibited\" g:s=\"clientUpdateProhibited\" $G/>"
	    . '</domain:rem>'), $locked);
	refused($r1, 'unlock with xsi:s beside s (namespace-blind attribute '
	    . 'readers)', dupd('locked.example', '<domain:rem><domain:status '
	    . 's="clientDeleteProhibited" xsi:s="clientUpdateProhibited" '
	    . 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
	    . '</domain:rem>'), $locked);
	refused($r1, 'unlock with xml:space="preserve" on the status',
	    dupd('locked.example', '<domain:rem><domain:status '
	    . 'xml:space="preserve" s=" clientUpdateProhibited "/></domain:rem>'),
	    $locked);
	like(direct_domain('locked.example'), qr/^status=clientUpdateProhibited$/m,
	    'clientUpdateProhibited is still set at the registry');
}
is(result_code(direct(status_upd('locked.example', 'rem',
    'clientUpdateProhibited'))), 1000,
    'clientUpdateProhibited removed again directly at the registry');
$base = snapshot();

# ==== 1. eppgw's own elements inside fields ====

my $EG = "<g:x $G>-not</g:x>";
stopped($r1, 'eppgw element inside <domain:name> (locked<g:x>-not</g:x>'
    . '.example)', dupd("locked$EG.example", $NS_ADD), $base);
stopped($r1, 'eppgw element inside <domain:hostObj>', dupd('locked.example',
    "<domain:add><domain:ns><domain:hostObj>ns2.dns$EG.example"
    . '</domain:hostObj></domain:ns></domain:add>'), $base);
stopped($r1, 'eppgw element inside <domain:registrant>',
    dupd('locked.example', "<domain:chg><domain:registrant>adm$EG-1"
    . '</domain:registrant></domain:chg>'), $base);
stopped($r1, 'eppgw element under <domain:add>', dupd('locked.example',
    "<domain:add><g:x $G/><domain:ns><domain:hostObj>ns2.dns.example"
    . '</domain:hostObj></domain:ns></domain:add>'), $base);
stopped($r1, 'eppgw element under <domain:update>', dupd('locked.example',
    "<g:x $G/>$NS_ADD"), $base);
stopped($r1, 'eppgw element inside secDNS <keyTag>', dupd('locked.example',
    '', sec11('', '<secDNS:rem>' . ds_xml(join ' ', "123<g:x $G/>45",
    (split / /, $DS_OLD)[1 .. 3]) . '</secDNS:rem>')), $base);
stopped($r1, 'eppgw element inside secDNS <digest>', dupd('locked.example',
    '', sec11('', '<secDNS:rem>' . ds_xml(join ' ', (split / /, $DS_OLD)[0 .. 2],
    substr((split / /, $DS_OLD)[3], 0, 32) . "<g:x $G>zz</g:x>"
    . substr((split / /, $DS_OLD)[3], 32)) . '</secDNS:rem>')), $base);
stopped($r1, 'eppgw element inside secDNS <all>', dupd('locked.example', '',
    sec11('', "<secDNS:rem><secDNS:all>tr<g:x $G/>ue</secDNS:all>"
    . '</secDNS:rem>')), $base);
stopped($r1, 'eppgw element inside <secDNS:update>', dupd('locked.example',
    '', sec11('', "<g:x $G/><secDNS:rem><secDNS:all>1</secDNS:all>"
    . '</secDNS:rem>')), $base);
stopped($r1, 'eppgw element inside <secDNS:rem>', dupd('locked.example', '',
    sec11('', "<secDNS:rem><g:x $G/><secDNS:all>1</secDNS:all>"
    . '</secDNS:rem>')), $base);
stopped($r1, 'an eppgw element as the object of <update>',
    "<update><g:update $G><g:name>locked.example</g:name></g:update></update>",
    $base);
stopped($r1, 'an eppgw element inside <domain:authInfo><domain:ext>',
    dupd('locked.example', "<domain:chg><domain:authInfo><domain:ext><g:x $G>"
    . 'attacker</g:x></domain:ext></domain:authInfo></domain:chg>'), $base);
stopped($r1, 'an eppgw element wrapping a secDNS:update at <epp><extension>',
    '<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:'
    . "ns:epp-1.0\"><extension><g:x $G>" . sec11('', '<secDNS:rem><secDNS:all>'
    . '1</secDNS:all></secDNS:rem>') . '</g:x></extension></epp>', $base);
{
	# Directly under <command><extension> the eppgw element is the
	# gateway's own and is removed, with everything inside it: the registry
	# gets the domain:update without the secDNS:update hidden there.
	my $doc = forwarded($r1, 'eppgw extension (under <command><extension>) '
	    . 'hiding a secDNS rem all', dupd('locked.example', '',
	    "<g:x $G>" . sec11('', '<secDNS:rem><secDNS:all>true</secDNS:all>'
	    . '</secDNS:rem>') . '</g:x>'), 1000);
	my $now = snapshot();
	(my $a = $now) =~ s/^upDate=.*$//mg;
	(my $b = $base) =~ s/^upDate=.*$//mg;
	is($a, $b, 'the registry executed an empty update: DS, NS, statuses, '
	    . 'contacts unchanged (only upDate moved)')
	    or diag(join '; ', diff_state($base, $now));
	like($now, qr/^ds=\Q$DS_OLD\E$/m, 'locked.example keeps its DS');
	$base = $now;
}

# ==== 2b. values read as schema types ====

{
	my %all;
	for my $v ('true', ' 1 ', "\n\ttrue\n", '&#10;tr&#117;e&#13;',
	    '<![CDATA[ 1]]>&#32;', '1<!-- comment -->') {
		(my $shown = $v) =~ s/\n/\\n/g;
		$shown =~ s/\t/\\t/g;
		my $id = denied($r1, "DS rem all, <secDNS:all>$shown</secDNS:all>",
		    dupd('locked.example', '', sec11('', '<secDNS:rem><secDNS:all>'
		    . "$v</secDNS:all></secDNS:rem>")), $base);
		$all{$id} = 1;
	}
	is(scalar(keys %all), 1, 'every spelling of all=true is one change id');
	my %xf;
	for my $op (' request ', '&#9;request&#10;', "\nrequest\t") {
		(my $shown = $op) =~ s/\n/\\n/g;
		$shown =~ s/\t/\\t/g;
		$xf{denied($r2, "transfer op=\"$shown\" of locked.example by "
		    . 'registrar2', xfer($op, 'locked.example', 'locked-auth-1'),
		    $base)} = 1;
	}
	is(scalar(keys %xf), 1, 'every spelling of op=request is one change id');
	denied($r1, 'transfer op=" approve " of locked.example',
	    xfer(' approve ', 'locked.example'), $base);
	unlike(direct_domain('locked.example'), qr/^status=pendingTransfer$/m,
	    'locked.example is not pending transfer');
	for my $op (' request ', "\treport\n") {
		(my $shown = $op) =~ s/\n/\\n/g;
		$shown =~ s/\t/\\t/g;
		denied($r1, "rgp restore op=\"$shown\" on locked.example",
		    dupd('locked.example', '<domain:chg/>', restore($op)), $base);
	}
	for my $ip (' v4 ', '&#9;v4', ' v6 ') {
		my $addr = $ip =~ /v6/ ? '2001:db8::66' : '203.0.113.66';
		denied($r1, "hostAttr ip=\"$ip\" on locked.example",
		    dupd('locked.example', '<domain:add><domain:ns><domain:hostAttr>'
		    . '<domain:hostName>ns.evil.example</domain:hostName>'
		    . "<domain:hostAddr ip=\"$ip\">$addr</domain:hostAddr>"
		    . '</domain:hostAttr></domain:ns></domain:add>'), $base);
	}
	denied($r1, 'glue move, host:addr ip=" v4 " on ns1.locked.example',
	    "<update><host:update $H><host:name>ns1.locked.example</host:name>"
	    . '<host:add><host:addr ip=" v4 ">198.51.100.66</host:addr></host:add>'
	    . '<host:rem><host:addr ip="&#10;v4">192.0.2.1</host:addr></host:rem>'
	    . '</host:update></update>', $base);
}

# Schema-invalid commands: 2001, nothing forwarded.  On open.example, where
# the registry would have executed them.
{
	my $open = direct_domain('open.example');
	refused($r1, 'an element of another namespace inside <domain:name>',
	    dupd('open<x:b xmlns:x="urn:example:x"/>.example',
	    '<domain:add><domain:status s="clientHold"/></domain:add>'));
	refused($r1, 'a domain element inside <domain:name>',
	    dupd('open<domain:b/>.example',
	    '<domain:add><domain:status s="clientHold"/></domain:add>'));
	refused($r1, 'a status outside the enumeration (s="clientFoo")',
	    status_upd('open.example', 'add', 'clientFoo'));
	refused($r1, 'a status in the wrong case (s="clienthold")',
	    status_upd('open.example', 'add', 'clienthold'));
	refused($r1, 'transfer op outside the enumeration (op="steal")',
	    xfer('steal', 'open.example'));
	refused($r1, 'a domain:update without <domain:name>',
	    "<update><domain:update $D><domain:add><domain:status s=\"clientHold\"/>"
	    . '</domain:add></domain:update></update>');
	refused($r1, 'a dsData without <secDNS:digest>', dupd('open.example', '',
	    sec11('', '<secDNS:add><secDNS:dsData><secDNS:keyTag>4242'
	    . '</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2'
	    . '</secDNS:digestType></secDNS:dsData></secDNS:add>')));
	refused($r1, 'secDNS <all> that is not an xs:boolean (yes)',
	    dupd('open.example', '', sec11('', '<secDNS:rem><secDNS:all>yes'
	    . '</secDNS:all></secDNS:rem>')));
	refused($r1, 'an empty secDNS-1.1 <rem/>', dupd('open.example', '',
	    sec11('', '<secDNS:rem/>')));
	refused($r1, 'secDNS urgent="maybe"', dupd('open.example', '',
	    sec11(' urgent="maybe"', '')));
	refused($r1, 'two <domain:add> elements', dupd('open.example',
	    '<domain:add><domain:status s="clientHold"/></domain:add>'
	    . '<domain:add><domain:status s="clientHold"/></domain:add>'));
	my $XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
	my $hold = '<domain:add><domain:status s="clientHold"/></domain:add>';
	refused($r1, 'xsi:nil on <domain:name>', dupd_attr(
	    qq{xsi:nil="true" $XSI}, 'open.example', $hold));
	refused($r1, 'xsi:type on <domain:name>', dupd_attr(
	    qq{xsi:type="xs:token" xmlns:xs="http://www.w3.org/2001/XMLSchema" $XSI},
	    'open.example', $hold));
	refused($r1, 'xml:lang on <domain:name>', dupd_attr('xml:lang="en"',
	    'open.example', $hold));
	is(direct_domain('open.example'), $open,
	    'open.example unchanged at the registry');
}

# ==== 3. semantics ====

denied($r1, 'secDNS-1.0 <chg> holding a new DS (replaces the whole DS set)',
    dupd('locked.example', '', sec10('<secDNS:chg>' . ds_xml($DS_NEW)
    . '</secDNS:chg>')), $base);
stopped($r1, 'secDNS-1.0 empty <chg/> (RFC 4310: chg needs a dsData)',
    dupd('locked.example', '', sec10('<secDNS:chg/>')), $base);
denied($r1, 'secDNS-1.0 <rem> by keyTag', dupd('locked.example', '',
    sec10('<secDNS:rem><secDNS:keyTag>12345</secDNS:keyTag></secDNS:rem>')),
    $base);
denied($r1, 'secDNS-1.1 update with only urgent="true"',
    dupd('locked.example', '', sec11(' urgent="true"', '')), $base);
denied($r1, 'secDNS-1.1 update with urgent=" 1 " and rem all=false',
    dupd('locked.example', '', sec11(' urgent=" 1 "', '<secDNS:rem>'
    . '<secDNS:all>false</secDNS:all></secDNS:rem>')), $base);
denied($r1, 'an empty secDNS-1.1 <update/>', dupd('locked.example', '',
    sec11('', '')), $base);
stopped($r1, 'an empty secDNS-1.1 <rem/>', dupd('locked.example', '',
    sec11('', '<secDNS:rem/>')), $base);
denied($r1, 'secDNS-1.1 and secDNS-1.0 updates in one extension',
    dupd('locked.example', '', sec11('', '<secDNS:chg><secDNS:maxSigLife>'
    . '1000</secDNS:maxSigLife></secDNS:chg>') . sec10('<secDNS:chg>'
    . ds_xml($DS_NEW) . '</secDNS:chg>')), $base);
like(direct_domain('locked.example'), qr/^ds=\Q$DS_OLD\E$/m,
    'locked.example still has exactly its DS')
    and unlike(direct_domain('locked.example'), qr/^ds=4242 /m,
    'and not the new one');
{
	my @hold;
	for my $v (['clientHold', 'clientHold'], ['spaces', ' clientHold '],
	    ['lang and a reason text', ' clientHold" lang="fr">pour rire'
	    . '</domain:status><domain:status s="clientDeleteProhibited']) {
		push @hold, denied($r1, "add clientHold to locked.example "
		    . "($v->[0])", status_upd('locked.example', 'add', $v->[1]),
		    $base);
	}
	is($hold[1], $hold[0], 'add " clientHold ": the change id of clientHold');
	denied($r1, 'add pendingDelete-like status serverHold to locked.example',
	    status_upd('locked.example', 'add', 'serverHold'), $base);
	unlike(direct_domain('locked.example'), qr/^status=(clientHold|serverHold)$/m,
	    'locked.example is not on hold at the registry');
}
# Removing clientUpdateProhibited is an unlock on any domain: open.example is
# not on the lock list, and the gateway was never told the status is there.
is(result_code(direct(status_upd('open.example', 'add',
    'clientUpdateProhibited'))), 1000,
    'clientUpdateProhibited set on open.example directly at the registry');
{
	my $open = direct_domain('open.example');
	for my $s ('clientUpdateProhibited', ' clientUpdateProhibited ',
	    '&#9;clientUpdateProhibited') {
		denied($r1, "unlock open.example (not on the lock list), s=\"$s\"",
		    status_upd('open.example', 'rem', $s), $base);
	}
	is(direct_domain('open.example'), $open,
	    'open.example unchanged: clientUpdateProhibited still set');
	like($open, qr/^status=clientUpdateProhibited$/m,
	    '(the registry shows clientUpdateProhibited)');
}
is(result_code(direct(status_upd('open.example', 'rem',
    'clientUpdateProhibited'))), 1000,
    'clientUpdateProhibited removed from open.example directly');

# A host named exactly like a locked domain is covered by its lock.
for my $c (['host:create locked.example with an address',
    "<create><host:create $H><host:name>locked.example</host:name>"
    . '<host:addr ip="v4">203.0.113.66</host:addr></host:create></create>'],
    ['host:create LOCKED.EXAMPLE. without an address',
    "<create><host:create $H><host:name> LOCKED.EXAMPLE. </host:name>"
    . '</host:create></create>'],
    ['host:create pay.bank.example (pattern lock)',
    "<create><host:create $H><host:name>pay.bank.example</host:name>"
    . '<host:addr>203.0.113.66</host:addr></host:create></create>'],
    ['host:update locked.example add an address',
    "<update><host:update $H><host:name>locked.example</host:name><host:add>"
    . '<host:addr>203.0.113.66</host:addr></host:add></host:update></update>'],
    ['host:update locked.example remove a status',
    "<update><host:update $H><host:name>locked.example</host:name><host:rem>"
    . '<host:status s="clientDeleteProhibited"/></host:rem></host:update>'
    . '</update>'],
    ['host:delete locked.example',
    "<delete><host:delete $H><host:name>locked.example</host:name>"
    . '</host:delete></delete>']) {
	denied($r1, $c->[0], $c->[1], $base);
}
like(snapshot(), qr/^avail host locked\.example=1$/m,
    'still no host named locked.example at the registry');

# The same changes on open.example (unlocked, no lock status) go through.
forwarded($r1, 'open.example: secDNS-1.0 <chg> with a new DS',
    dupd('open.example', '', sec10('<secDNS:chg>' . ds_xml($DS_NEW)
    . '</secDNS:chg>')), 1000);
like(direct_domain('open.example'), qr/^ds=\Q$DS_NEW\E$/m,
    'open.example: the registry has the new DS');
forwarded($r1, 'open.example: secDNS-1.0 <chg> with the old DS replaces it',
    dupd('open.example', '', sec10('<secDNS:chg>' . ds_xml($DS_OLD)
    . '</secDNS:chg>')), 1000);
{
	my $o = direct_domain('open.example');
	ok($o =~ /^ds=\Q$DS_OLD\E$/m && $o !~ /^ds=\Q$DS_NEW\E$/m,
	    'open.example: the registry replaced the DS set (old in, new out)')
	    or diag($o);
}
forwarded($r1, 'open.example: secDNS-1.1 urgent="true" (the registry '
    . 'refuses urgent)', dupd('open.example', '', sec11(' urgent="true"',
    '<secDNS:rem><secDNS:all>1</secDNS:all></secDNS:rem>')), 2102);
like(direct_domain('open.example'), qr/^ds=/m,
    'open.example: the refused urgent update removed nothing');
forwarded($r1, 'open.example: an empty secDNS-1.1 <update/>',
    dupd('open.example', '', sec11('', '')), 1000);
forwarded($r1, 'open.example: <secDNS:all> 1 </secDNS:all>',
    dupd('open.example', '', sec11('', '<secDNS:rem><secDNS:all> 1 '
    . '</secDNS:all></secDNS:rem>')), 1000);
unlike(direct_domain('open.example'), qr/^ds=/m,
    'open.example: the registry read " 1 " as true: no DS left');
forwarded($r1, 'open.example: add " clientHold "',
    status_upd('open.example', 'add', ' clientHold '), 1000);
like(direct_domain('open.example'), qr/^status=clientHold$/m,
    'open.example: the registry shows clientHold');
forwarded($r1, 'open.example: rem clientHold',
    status_upd('open.example', 'rem', '&#9;clientHold'), 1000);
unlike(direct_domain('open.example'), qr/^status=clientHold$/m,
    'open.example: clientHold gone');
forwarded($r2, 'open.example: transfer op=" request " by registrar2',
    xfer(' request ', 'open.example', 'open-auth-1'), 1001);
like(direct_domain('open.example'), qr/^status=pendingTransfer$/m,
    'open.example: pendingTransfer at the registry');
forwarded($r1, 'open.example: transfer op="&#10;reject " by registrar1',
    xfer('&#10;reject ', 'open.example'), 1000);
like(direct_domain('open.example'), qr/^clID=registrar1$/m,
    'open.example: still registrar1\'s');
forwarded($r1, 'host:create open.example (a host named like an unlocked '
    . 'domain)', "<create><host:create $H><host:name>open.example</host:name>"
    . '</host:create></create>', 1000);
like(direct_host('open.example'), qr/^code=1000$/m,
    'the registry has a host named open.example');
forwarded($r1, 'host:delete open.example', "<delete><host:delete $H>"
    . '<host:name>open.example</host:name></host:delete></delete>', 1000);

is(snapshot() . contacts(), $base . $contacts0, 'locked.example, its hosts, '
    . 'contacts and pay.bank.example unchanged after sections 1-3');

# ==== 4. bounded parse work ====

{
	my $wrap = sub { dupd('locked.example', '', "<foo:x $F>$_[0]</foo:x>") };
	my $txt = sub { dupd('locked.example', '<domain:chg><domain:registrant>'
	    . $_[0] . '</domain:registrant></domain:chg>') };
	my @bombs = (
		['a prefix redeclared on 5000 sibling elements',
		    $wrap->(join '', map { "<foo:a xmlns:p=\"urn:p$_\"/>" } 1 .. 5000)],
		['a prefix redeclared on 3000 nested elements',
		    $wrap->(('<foo:a xmlns:p="urn:p">' x 3000) . ('</foo:a>' x 3000))],
		['5000 namespace declarations on one tag',
		    $wrap->('<foo:a ' . join(' ', map { "xmlns:p$_=\"urn:p$_\"" }
		    1 .. 5000) . '/>')],
		['the unknown namespace redeclared on 5000 elements',
		    $wrap->("<foo:a $F/>" x 5000)],
		['90000 nested elements', $wrap->(('<a xmlns="urn:d">')
		    . ('<a>' x 90000) . ('</a>' x 90000) . '</a>')],
		['50000 attributes on one tag',
		    $wrap->('<foo:a ' . join(' ', map { "a$_=\"v\"" } 1 .. 50000)
		    . '/>')],
		['3000 same-named attributes in 3000 namespaces bound to one URI',
		    $wrap->('<foo:a ' . join(' ', map { "xmlns:p$_=\"urn:same\" "
		    . "p$_:a=\"v\"" } 1 .. 3000) . '/>')],
		['100000 sibling elements', $wrap->('<foo:a/>' x 100000)],
		['a field split by 100000 comments',
		    $txt->('a<!---->' x 100000)],
		['a field of 150000 character references',
		    $txt->('&#97;' x 150000)],
		['a field split by 40000 CDATA sections and comments',
		    $txt->('<![CDATA[a]]><!---->' x 40000)],
		['a 900 kB text field', $txt->('a' x 900000)],
		# An attribute value is a field too (16 KiB per value).
		['a 900 kB attribute value on an unknown element',
		    $wrap->('<foo:a v="' . ('a' x 900000) . '"/>')],
		['a frame over max_frame', $txt->('a' x ($MAXF + 1000))],
	);
	my $bs = epp_client(port => $gw->{port});
	ok($bs, 'a session for the bombs') or BAIL_OUT('gateway');
	for my $b (@bombs) {
		my ($label, $inner, $want) = @$b;
		$want //= 2001;
		my $trid = 'RR-BOMB-' . ++$tn;
		push @held_trids, $trid;
		my $xml = epp_command($inner, $trid);
		my $t0 = time;
		my $sent = eval { $bs->send_frame($xml, 0); 1 };
		my $t1 = time;
		# While the bomb is on the gateway's plate, another session asks.
		my $inf = epp_raw($r2, epp_command("<info><domain:info $D>"
		    . '<domain:name>open.example</domain:name></domain:info>'
		    . '</info>', "RR-BYSTANDER-$tn"));
		my $t2 = time;
		my $doc = $sent ? epp_read($bs) : undef;
		my $t3 = time;
		my $code = result_code($doc);
		my $over = length($xml) + 4 > $MAXF;
		my $what = defined $code ? $code : 'closed';
		diag(sprintf('%s: %d bytes, %s after %.3f s; bystander %.3f s',
		    $label, length($xml), $what, $t3 - $t0, $t2 - $t1));
		ok($over ? !defined $code : (defined $code && $code == $want),
		    "$label: " . ($over ? 'connection closed' : $want));
		cmp_ok($t3 - $t0, '<', 2, "$label: answered within 2 s");
		is(result_code($inf), 1000, "$label: another session's "
		    . 'domain:info answered meanwhile');
		cmp_ok($t2 - $t1, '<', 2, "$label: within 2 s");
		ok(!journal_find($rs, clTRID => $trid), "$label: not forwarded");
		$bs = epp_client(port => $gw->{port}) unless $bs->{connection};
	}
	is(snapshot(), $base, 'the registry is unchanged after the bombs');
	epp_close($bs);
}

# ==== 5. siblings ====

# XML declaration and encoding: the registry must not decode other
# characters than the gateway did.
{
	my $u = dupd('locked.example', $NS_ADD);
	my $plain = denied($r1, 'NS add on locked.example (plain)', $u, $base);
	for my $d (['no XML declaration', ''],
	    ['encoding="utf-8" (lower case)',
	    '<?xml version="1.0" encoding="utf-8"?>'],
	    ['standalone="yes"',
	    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'],
	    ['a UTF-8 byte order mark', "\xef\xbb\xbf"
	    . '<?xml version="1.0" encoding="UTF-8"?>']) {
		is(denied($r1, "NS add, $d->[0]", frame_with_decl($d->[1], $u),
		    $base), $plain, "$d->[0]: the same change id");
	}
	refused($r1, 'version="1.1" (other line ends and control characters)',
	    frame_with_decl('<?xml version="1.1" encoding="UTF-8"?>', $u), $base);
	refused($r1, 'encoding="ISO-8859-1"',
	    frame_with_decl('<?xml version="1.0" encoding="ISO-8859-1"?>', $u),
	    $base);
	refused($r1, 'UTF-8 bytes declared as UTF-16',
	    frame_with_decl('<?xml version="1.0" encoding="UTF-16"?>', $u), $base);
	my $x16 = frame_with_decl('<?xml version="1.0" encoding="UTF-16"?>', $u);
	my $trid16 = 'RR-U16-' . ++$tn;
	$x16 =~ s/%TRID%/$trid16/;
	my $doc = epp_raw($r1, "\xfe\xff" . encode('UTF-16BE', $x16));
	is(result_code($doc), 2001, 'a UTF-16 frame (byte order mark, declared): '
	    . '2001');
	ok(!journal_find($rs, clTRID => $trid16), '... not forwarded');
	push @held_trids, $trid16;
	refused($r1, 'version="1.1" on open.example',
	    frame_with_decl('<?xml version="1.1"?>',
	    status_upd('open.example', 'add', 'clientHold')));

	# Unicode in the name: what maps to locked.example is locked.example.
	for my $n (["locked\x{FF0E}example", 'FULLWIDTH FULL STOP'],
	    ["locked\x{3002}example", 'IDEOGRAPHIC FULL STOP'],
	    ["lock\x{00AD}ed.example", 'SOFT HYPHEN'],
	    ["lock\x{200B}ed.example", 'ZERO WIDTH SPACE'],
	    ["loc\x{212A}ed.example", 'KELVIN SIGN for k'],
	    ["\x{FEFF}locked.example", 'a leading ZERO WIDTH NO-BREAK SPACE'],
	    ["LOCKED.EXAMPLE.", 'upper case and the root dot'],
	    ["&#13;locked.example&#x9;", 'CR and TAB character references'],
	    ["&#x6C;ocked&#46;example", 'character references for letters']) {
		is(denied($r1, "name with $n->[1]", dupd(utf8_bytes($n->[0]),
		    $NS_ADD), $base), $plain, "$n->[1]: the change id of "
		    . 'locked.example');
	}
	for my $n (["lock\x{200D}ed.example", 'ZERO WIDTH JOINER'],
	    ["locked.example&#x85;", 'NEL'],
	    ["locked.example\x{2028}", 'LINE SEPARATOR'],
	    ["locked&#x20;.example", 'a space inside'],
	    ['locked..example', 'an empty label'],
	    ['xn--locked-.example', 'a bad A-label']) {
		refused($r1, "name with $n->[1]", dupd(utf8_bytes($n->[0]),
		    $NS_ADD), $base);
	}
	# Bytes that are not (valid) UTF-8, or characters XML 1.0 excludes.
	for my $n (["locked\xC0\xAEexample", 'an overlong UTF-8 "."'],
	    ["locked\xED\xA0\x80.example", 'a UTF-8-encoded surrogate'],
	    ['locked&#0;.example', 'a NUL character reference'],
	    ['locked&#xD800;.example', 'a surrogate character reference'],
	    ["locked.example\xC2\x85", 'a raw NEL (C1 control)'],
	    ["locked.example\x7f", 'a raw DEL']) {
		refused($r1, "name with $n->[1]", dupd($n->[0], $NS_ADD), $base);
	}
	# NFD: "locke" + COMBINING ACUTE is lockéd.example, another name.
	my ($d2, $t2) = send_cmd($r1, dupd(utf8_bytes("locke\x{0301}d.example"),
	    $NS_ADD));
	my $c2 = result_code($d2) // 'none';
	ok($c2 eq '2303' || $c2 eq '2001',
	    'name in NFD (lockéd.example, another name): the registry does not '
	    . "find it, or the gateway refuses it ($c2)");
	is(snapshot(), $base, '... and locked.example is unchanged');
}

# Namespace prefix games: elements are what their namespace URI says.
{
	denied($r1, 'prefix "domain" bound to the host namespace (a host rename)',
	    '<update><domain:update xmlns:domain="' . $URI{host} . '">'
	    . '<domain:name>ns1.locked.example</domain:name><domain:chg>'
	    . '<domain:name>ns1.evil.example</domain:name></domain:chg>'
	    . '</domain:update></update>', $base);
	refused($r1, 'the prefix rebound on <domain:name> to another namespace',
	    "<update><domain:update $D><domain:name xmlns:domain=\"urn:x\">"
	    . "locked.example</domain:name>$NS_ADD</domain:update></update>",
	    $base);
	refused($r1, 'a hostObj in no namespace (xmlns="")',
	    dupd('locked.example', '<domain:add><domain:ns><hostObj xmlns="">'
	    . 'ns2.dns.example</hostObj></domain:ns></domain:add>'), $base);
	denied($r1, 'the domain namespace URI written with a character '
	    . 'reference', '<update><d:update xmlns:d="urn:ietf:params:xml:ns:'
	    . 'domain&#45;1.0"><d:name>locked.example</d:name><d:add><d:ns>'
	    . '<d:hostObj>ns2.dns.example</d:hostObj></d:ns></d:add></d:update>'
	    . '</update>', $base);
	denied($r1, 'the domain namespace URI in upper case (an unknown object)',
	    '<update><d:update xmlns:d="URN:IETF:PARAMS:XML:NS:domain-1.0">'
	    . '<d:name>locked.example</d:name></d:update></update>', $base);
	refused($r1, 'the domain namespace URI with a trailing space',
	    '<update><d:update xmlns:d="urn:ietf:params:xml:ns:domain-1.0 ">'
	    . '<d:name>locked.example</d:name></d:update></update>', $base);
	denied($r1, 'secDNS namespace URI in upper case on locked.example (an '
	    . 'unknown extension)', dupd('locked.example', '',
	    '<s:update xmlns:s="URN:IETF:PARAMS:XML:NS:secDNS-1.1"><s:rem>'
	    . '<s:all>true</s:all></s:rem></s:update>'), $base);
	forwarded($r1, 'the same on open.example: the registry does not read it '
	    . 'as secDNS', dupd('open.example', '', '<s:update xmlns:s="URN:IETF:'
	    . 'PARAMS:XML:NS:secDNS-1.1"><s:rem><s:all>true</s:all></s:rem>'
	    . '</s:update>'), 2103);
	denied($r1, 'secDNS under the default namespace, EPP under a prefix',
	    '<?xml version="1.0" encoding="UTF-8"?><e:epp xmlns:e="urn:ietf:'
	    . 'params:xml:ns:epp-1.0"><e:command><e:update><domain:update '
	    . "$D><domain:name>locked.example</domain:name></domain:update>"
	    . '</e:update><e:extension><update xmlns="' . $URI{sec11} . '"><rem>'
	    . '<all>1</all></rem></update></e:extension><e:clTRID>%TRID%'
	    . '</e:clTRID></e:command></e:epp>', $base);
	# A second attribute of the same local name in another namespace: a
	# namespace-blind reader (xmlGetProp) could take either.
	my $XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
	my $E = 'xmlns:e="urn:ietf:params:xml:ns:epp-1.0"';
	my $q = sub { my ($attrs) = @_;
		return xfer('query', 'locked.example', 'locked-auth-1')
		    =~ s/^<transfer op="query">/<transfer $attrs>/r };
	refused($r2, 'transfer op="query" with xsi:op="request"',
	    $q->(qq{op="query" xsi:op="request" $XSI}), $base);
	refused($r2, 'transfer op="query" with an EPP-qualified op="request"',
	    $q->(qq{op="query" e:op="request" $E}), $base);
	refused($r2, 'transfer with only an EPP-qualified op="request"',
	    $q->(qq{e:op="request" $E}), $base);
	refused($r1, 'unlock with only a domain-qualified domain:s',
	    dupd('locked.example', '<domain:rem><domain:status domain:s='
	    . '"clientUpdateProhibited"/></domain:rem>'), $base);
	denied($r1, 'xsi:schemaLocation pointing elsewhere',
	    '<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:'
	    . 'xml:ns:epp-1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-'
	    . 'instance" xsi:schemaLocation="urn:ietf:params:xml:ns:domain-1.0 '
	    . 'http://127.0.0.1:1/lax.xsd"><command>' . dupd('locked.example',
	    $NS_ADD) . '<clTRID>%TRID%</clTRID></command></epp>', $base);
}

# Extensions and commands of other shapes.
{
	refused($r1, 'two <extension> elements', dupd('locked.example', '',
	    sec11('', '') . '</extension><extension>' . sec11('', '')), $base);
	denied($r1, 'an <epp><extension> command (unknown)',
	    '<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:'
	    . "xml:ns:epp-1.0\"><extension><foo:delete $F><foo:name>"
	    . 'locked.example</foo:name></foo:delete></extension></epp>', $base);
	denied($r1, 'an <epp><extension> command holding a secDNS:update',
	    '<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:'
	    . 'xml:ns:epp-1.0"><extension>' . sec11('', '<secDNS:rem><secDNS:all>'
	    . '1</secDNS:all></secDNS:rem>') . '</extension></epp>', $base);
	denied($r1, 'an unknown object mapping (domain-1.1) update',
	    '<update><w:update xmlns:w="urn:ietf:params:xml:ns:domain-1.1">'
	    . '<w:name>locked.example</w:name></w:update></update>', $base);
	denied($r1, 'a secDNS:update as the object of <update>',
	    '<update>' . sec11('', '<secDNS:rem><secDNS:all>1</secDNS:all>'
	    . '</secDNS:rem>') . '</update>', $base);
	denied($r1, 'renew of locked.example with an unknown extension',
	    "<renew><domain:renew $D><domain:name>locked.example</domain:name>"
	    . '<domain:curExpDate>2030-01-15</domain:curExpDate></domain:renew>'
	    . "</renew><extension><foo:x $F/></extension>", $base);
	my $remall = sec11('', '<secDNS:rem><secDNS:all>1</secDNS:all>'
	    . '</secDNS:rem>');
	refused($r1, 'renew of locked.example carrying a secDNS:update',
	    "<renew><domain:renew $D><domain:name>locked.example</domain:name>"
	    . '<domain:curExpDate>2030-01-15</domain:curExpDate></domain:renew>'
	    . "</renew><extension>$remall</extension>", $base);
	refused($r1, 'domain:info of locked.example carrying a secDNS:update',
	    "<info><domain:info $D><domain:name>locked.example</domain:name>"
	    . "</domain:info></info><extension>$remall</extension>", $base);
	refused($r1, 'domain:info of locked.example carrying an RGP restore',
	    "<info><domain:info $D><domain:name>locked.example</domain:name>"
	    . '</domain:info></info><extension>' . restore('request')
	    . '</extension>', $base);
	refused($r1, 'transfer query of locked.example carrying a secDNS:update',
	    xfer('query', 'locked.example') . "<extension>$remall</extension>",
	    $base);
	refused($r1, 'domain:create carrying a secDNS:update',
	    "<create><domain:create $D><domain:name>new1.example</domain:name>"
	    . '<domain:authInfo><domain:pw>new-auth-1</domain:pw>'
	    . '</domain:authInfo></domain:create></create>'
	    . "<extension>$remall</extension>");
	forwarded($r1, 'host:update of an unlocked host carrying a secDNS:update '
	    . '(the registry ignores it)', "<update><host:update $H><host:name>"
	    . 'ns2.dns.example</host:name></host:update></update>'
	    . "<extension>$remall</extension>", 1000);
	like(direct_domain('locked.example'), qr/^ds=\Q$DS_OLD\E$/m,
	    '... and no domain lost its DS');
	denied($r1, 'RGP restore report on locked.example', dupd('locked.example',
	    '<domain:chg/>', "<rgp:update $R><rgp:restore op=\"report\">"
	    . '<rgp:report><rgp:preData>a</rgp:preData><rgp:postData>b'
	    . '</rgp:postData><rgp:delTime>2024-01-01T00:00:00Z</rgp:delTime>'
	    . '<rgp:resTime>2024-01-02T00:00:00Z</rgp:resTime><rgp:resReason>x'
	    . '</rgp:resReason><rgp:statement>s</rgp:statement><rgp:statement>t'
	    . '</rgp:statement></rgp:report></rgp:restore></rgp:update>'), $base);
	denied($r1, 'host rename ns2.dns.example -> ns9.locked.example',
	    "<update><host:update $H><host:name>ns2.dns.example</host:name>"
	    . '<host:chg><host:name>NS9.Locked.Example.</host:name></host:chg>'
	    . '</host:update></update>', $base);
	denied($r1, 'host rename of ns.dns.example (serves locked.example) to '
	    . 'itself', "<update><host:update $H><host:name>ns.dns.example"
	    . '</host:name><host:chg><host:name>ns.dns.example</host:name>'
	    . '</host:chg></host:update></update>', $base);
}

# DS spellings: keyTag with leading zeros, digest case.
{
	my ($tag, $alg, $dt, $dg) = split / /, $DS_OLD;
	denied($r1, 'DS rem with keyTag "012345" and a lower-case digest',
	    dupd('locked.example', '', sec11('', '<secDNS:rem>' . ds_xml(join ' ',
	    "0$tag", $alg, $dt, lc $dg) . '</secDNS:rem>')), $base);
	denied($r1, 'DS add with keyTag "007"', dupd('locked.example', '',
	    sec11('', '<secDNS:add>' . ds_xml(join ' ', '007', $alg, $dt,
	    (split / /, $DS_NEW)[3]) . '</secDNS:add>')), $base);
	forwarded($r1, 'open.example: DS add with keyTag "007"',
	    dupd('open.example', '', sec11('', '<secDNS:add>' . ds_xml(join ' ',
	    '007', $alg, $dt, lc((split / /, $DS_NEW)[3])) . '</secDNS:add>')),
	    1000);
	like(direct_domain('open.example'), qr/^ds=7 13 2 /m,
	    'open.example: the registry read keyTag "007" as 7');
}

# Contacts of locked.example (learned from the domain:info reply above).
{
	my $cb = $base . $contacts0;
	my $cupd = sub { my ($id) = @_;
		return "<update><contact:update $C><contact:id>$id</contact:id>"
		    . '<contact:chg><contact:email>hijack@evil.example'
		    . '</contact:email></contact:chg></contact:update></update>' };
	my $a = denied($r1, 'contact:update reg-1 (registrant of locked.example)',
	    $cupd->('reg-1'), $cb);
	is(denied($r1, 'contact:update " reg-1 " (xs:token)',
	    $cupd->("\n reg-1 "), $cb), $a, '... the same change id');
	denied($r1, 'contact:update adm-1 with the id split by a comment',
	    $cupd->('adm<!-- -->-1'), $cb);
	denied($r1, 'contact:delete tech-1', "<delete><contact:delete $C>"
	    . '<contact:id>tech-1</contact:id></contact:delete></delete>', $cb);
	denied($r2, 'contact transfer request of reg-1 by registrar2',
	    "<transfer op=\" request \"><contact:transfer $C><contact:id>reg-1"
	    . '</contact:id><contact:authInfo><contact:pw>contact-auth-1'
	    . '</contact:pw></contact:authInfo></contact:transfer></transfer>',
	    $cb);
	denied($r1, 'contact:update reg-1 authInfo', "<update><contact:update $C>"
	    . '<contact:id>reg-1</contact:id><contact:chg><contact:authInfo>'
	    . '<contact:pw>attacker-1</contact:pw></contact:authInfo></contact:chg>'
	    . '</contact:update></update>', $cb);
}

is(snapshot() . contacts(), $base . $contacts0, 'locked.example, its hosts, '
    . 'contacts and pay.bank.example unchanged after the siblings');
my @leaked = grep { journal_find($rs, clTRID => $_) } @held_trids;
ok(!@leaked, scalar(@held_trids) . ' held or refused commands: none in the '
    . 'registry journal') or diag("@leaked");

# ==== 6. a host in a locked domain's NS set (last: it changes the registry) ====

# DESIGN.md section 4: "any host in a locked domain's NS set [is] covered by
# that domain's lock"; class host: "host:update (addr add/rem ...) of any host
# in a locked domain's NS set".  ns.dns.example serves locked.example and is
# external until someone registers dns.example (a new domain: allowed); then
# it is glue, and an address added to it is an A record the registry
# publishes for locked.example's name server.
forwarded($r1, 'domain:create dns.example (a new domain: allowed)',
    "<create><domain:create $D><domain:name>dns.example</domain:name>"
    . '<domain:authInfo><domain:pw>dns-auth-1</domain:pw></domain:authInfo>'
    . '</domain:create></create>', 1000);
forwarded($r1, 'domain:info locked.example (the gateway sees its NS set)',
    "<info><domain:info $D><domain:name>locked.example</domain:name>"
    . '</domain:info></info>', 1000);
{
	# This gateway has no watch session, so it knows the NS set from the
	# domain:info reply above; with one (80-registry-truth.t) it knows it
	# from the start, whatever registrars ask.
	my $before = snapshot();
	denied($r1, 'host:update ns.dns.example add 203.0.113.66 (glue for a '
	    . 'name server of locked.example)', "<update><host:update $H>"
	    . '<host:name>ns.dns.example</host:name><host:add><host:addr ip="v4">'
	    . '203.0.113.66</host:addr></host:add></host:update></update>', $before);
	unlike(direct_host('ns.dns.example'), qr/^addr=203\.0\.113\.66$/m,
	    'ns.dns.example has no attacker glue at the registry');
}

epp_close($_) for $r1, $r2, $direct;
gateways_clean();
diag(sprintf('35-registry-reading.t ran %.1f s', time - $T0));
done_testing();
