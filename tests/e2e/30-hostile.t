#!/usr/bin/perl
# 30-hostile.t: hostile registrars and broken registries against eppgw.
# Each case checks the documented outcome (DESIGN.md section 5, "Replies the
# gateway makes itself") and then that the gateway still serves: a session
# opened before the attack still works, and a fresh session works.
#
#   make certs build/eppgw build/eppgw-regsim
#   prove -I tests/e2e/lib tests/e2e/30-hostile.t
use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use EppgwTest qw(:all);

$SIG{PIPE} = 'IGNORE';	# writing to a connection the gateway closed

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $EPPNS = 'urn:ietf:params:xml:ns:epp-1.0';
my $MAXF = 65536;

my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, gateway => { max_frame => $MAXF });
ok($gw->{pid}, "gateway on port $gw->{port} (max_frame $MAXF)");

sub frame { return pack('N', length($_[0]) + 4) . $_[0] }
sub check_cmd {
	my ($trid) = @_;
	return epp_command("<check><domain:check $D><domain:name>open.example"
	    . '</domain:name></domain:check></check>', $trid);
}
sub reason {
	my ($doc) = @_;
	return ref $doc ? xpc($doc)->findvalue('//epp:result/epp:extValue/epp:reason') : undef;
}
sub trid {
	my ($doc, $which) = @_;
	return ref $doc ? xpc($doc)->findvalue("//epp:trID/epp:$which") : undef;
}
sub parse { my $x = shift; return defined $x ? eval { XML::LibXML->load_xml(string => $x) } : undef }

# A reply the gateway wrote itself: code, reason token, svTRID eppgw-...
sub own_reply_ok {
	my ($doc, $code, $reason, $name) = @_;
	is(result_code($doc), $code, "$name: $code");
	is(reason($doc), $reason, "$name: reason $reason");
	like(trid($doc, 'svTRID'), qr/^eppgw-/, "$name: the gateway's own svTRID");
}

# The session opened before the attacks, and a fresh one, both still work.
my $bystander = epp_client(port => $gw->{port});
ok($bystander, 'a session opened before the attacks')
    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
my $nby = 0;
sub still_serves {
	my ($case, %o) = @_;
	my $g = $o{gw} // $gw;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	unless ($o{no_bystander}) {
		my $t = sprintf('BY-%02d', ++$nby);
		is(result_code(epp_raw($bystander, check_cmd($t))), 1000,
		    "after $case: the earlier session still works");
	}
	my $f = epp_client(port => $g->{port});
	my $doc = $f ? epp_raw($f, info_cmd("FRESH-$nby")) : undef;
	is(result_code($doc), 1000, "after $case: a fresh session works");
	epp_close($f);
}

# ---- certificates ----

{
	my $s = tls_connect(port => $gw->{port});
	my $f = $s ? read_frame($s, 5) : undef;
	ok(!defined $f, 'no client certificate: no greeting, no reply');
	gateway_log_like(qr/handshake failed|no client certificate/,
	    'no client certificate: logged');
	still_serves('a client without a certificate');
}
for my $c (['evil', 'a certificate from another CA'],
    ['expired', 'an expired certificate']) {
	my ($cert, $what) = @$c;
	my $before = () = gateway_log($gw) =~ /handshake failed/g;
	my $s = tls_connect(port => $gw->{port}, cert => $cert);
	my $f = $s ? read_frame($s, 5) : undef;
	ok(!defined $f, "$what ($cert): no greeting");
	my $deadline = time + 3;
	my $after;
	do { $after = () = gateway_log($gw) =~ /handshake failed/g; sleep(0.05) }
	    while ($after <= $before && time < $deadline);
	cmp_ok($after, '>', $before, "$what: the handshake fails at the gateway");
	ok(!epp_client(port => $gw->{port}, cert => $cert),
	    "$what: Net::EPP::Simple cannot connect either");
	still_serves($what);
}
{
	# mallory: a valid certificate of the right CA, but no principal.
	my $s = tls_connect(port => $gw->{port}, cert => 'mallory');
	ok($s, 'mallory (valid CA, no principal): TLS handshake completes');
	my $t0 = time;
	my $f = $s ? read_frame($s, 5) : undef;
	ok(!defined $f, 'mallory: no greeting');
	cmp_ok(time - $t0, '<', 4, 'mallory: the connection is closed, not left hanging');
	gateway_log_like(qr/is not mapped to a principal: refused/, 'mallory: logged as unknown');
	still_serves('an unknown principal');
}

# ---- a clID the principal may not use ----

sub login_xml {
	my ($clid, $pw, $trid) = @_;
	my $objs = join '', map { "<objURI>urn:ietf:params:xml:ns:$_-1.0</objURI>" }
	    qw(domain host contact);
	return epp_command("<login><clID>$clid</clID><pw>$pw</pw><options>"
	    . '<version>1.0</version><lang>en</lang></options>'
	    . "<svcs>$objs<svcExtension><extURI>urn:ietf:params:xml:ns:secDNS-1.1"
	    . '</extURI></svcExtension></svcs></login>', $trid);
}
{
	my $a = epp_client(port => $gw->{port}, cert => 'alice', login => 0);
	ok($a, 'alice connects and gets a greeting');
	my $doc = epp_raw($a, login_xml('registrar2', 'demo-password-2', 'H-CLID-1'));
	own_reply_ok($doc, 2200, 'clid_not_allowed', 'alice logging in as registrar2');
	is(trid($doc, 'clTRID'), 'H-CLID-1', 'clid_not_allowed: clTRID echoed');
	unlike($doc ? $doc->toString : '', qr/demo-password/, 'the reply carries no password');
	ok(!journal_find($rs, clTRID => 'H-CLID-1'), 'the registry never saw that login');
	gateway_log_like(qr/principal alice may not log in as clID "registrar2"/,
	    'the refusal is logged');
	my $ok = epp_raw($a, login_xml('registrar1', 'demo-password-1', 'H-CLID-2'));
	is(result_code($ok), 1000, 'the same session then logs in as registrar1');
	like(trid($ok, 'svTRID'), qr/^regsim-/, "that login is the registry's answer");
	is(scalar journal_find($rs, clTRID => 'H-CLID-2', code => 1000), 1,
	    'the allowed login reached the registry');
	is(result_code(epp_raw($a, info_cmd('H-CLID-3'))), 1000, 'and alice can work');
	epp_close($a);
	still_serves('a forbidden clID');
}

{
	# clID games: the gateway must judge the clID the registry will see.
	my $a = epp_client(port => $gw->{port}, cert => 'alice', login => 0);
	my $l = login_xml('registrar1', 'demo-password-1', 'H-CLID-DUP');
	$l =~ s{<clID>registrar1</clID>}{<clID>registrar1</clID><clID>registrar2</clID>};
	my $doc = epp_raw($a, $l);
	own_reply_ok($doc, 2001, 'syntax', 'a login with two clIDs');
	$l = login_xml('registrar<!-- x -->2', 'demo-password-2', 'H-CLID-CMT');
	own_reply_ok(epp_raw($a, $l), 2200, 'clid_not_allowed', 'clID registrar2 split by a comment');
	$l = login_xml('<![CDATA[registrar2]]>', 'demo-password-2', 'H-CLID-CDATA');
	own_reply_ok(epp_raw($a, $l), 2200, 'clid_not_allowed', 'clID registrar2 in CDATA');
	$l = login_xml('registrar2', 'demo-password-2', 'H-CLID-PFX');
	$l =~ s{<clID>registrar2</clID>}{<e:clID xmlns:e="$EPPNS">registrar2</e:clID>};
	own_reply_ok(epp_raw($a, $l), 2200, 'clid_not_allowed', 'clID registrar2 under another prefix');
	for my $t (qw(H-CLID-DUP H-CLID-CMT H-CLID-CDATA H-CLID-PFX)) {
		ok(!journal_find($rs, clTRID => $t), "$t: nothing reached the registry");
	}
	ok(!grep({ ($_->{clID} // '') eq 'registrar2' } journal_lines($rs)),
	    'the registry never had a registrar2 session');
	is(result_code(epp_raw($a, login_xml('registrar1', 'demo-password-1', 'H-CLID-4'))), 1000,
	    'after all that, alice logs in as registrar1 on the same session');
	epp_close($a);
	still_serves('clID games');
}

# ---- bad frame lengths ----

{
	my $e = epp_client(port => $gw->{port});
	send_bytes($e, pack('N', 100000));
	my $t = wait_closed($e, 5);
	ok(defined $t && $t < 2, "a header announcing 100000 bytes (max $MAXF) closes the connection at once")
	    or diag('closed after ' . ($t // 'never'));
	gateway_log_like(qr/frame longer than the configured maximum \(100000 bytes announced, maximum $MAXF\): closing/,
	    'oversized frame: logged');
	epp_close($e);
	still_serves('an oversized frame');
}
{
	my ($wpid) = gateway_procs($gw, 'worker');
	my $rss0 = proc_rss_kb($wpid);
	for my $len (0x80000000, 0xFFFFFFFF) {
		my $e = epp_client(port => $gw->{port});
		send_bytes($e, pack('N', $len) . ('x' x 1000));
		my $t = wait_closed($e, 5);
		ok(defined $t && $t < 2, sprintf('a header announcing %u bytes closes the connection at once', $len));
		epp_close($e);
	}
	my $rss = proc_rss_kb($wpid);
	ok(defined $rss, "gateway still running (VmRSS ${\($rss // '?')} kB, before $rss0 kB)");
	# 64 MB, or the baseline plus 32 MB where a sanitizer runtime makes the
	# baseline large already.
	my $limit = $rss0 + 32768 > 65536 ? $rss0 + 32768 : 65536;
	cmp_ok($rss // 1e9, '<', $limit, "gateway memory did not balloon (< $limit kB)");
	gateway_log_like(qr/2147483648 bytes announced/, '2 GiB header: logged');
	still_serves('a 2 GiB length header');
}
for my $len (3, 4, 0) {
	my $e = epp_client(port => $gw->{port});
	send_bytes($e, pack('N', $len) . 'x');
	my $t = wait_closed($e, 5);
	ok(defined $t && $t < 2, "a frame length of $len (< 5) closes the connection");
	epp_close($e);
}
gateway_log_like(qr/frame length under 5 bytes \(3 bytes announced/, 'short frame: logged');
still_serves('short frames');

# ---- unsafe XML: 2001 syntax, session continues, nothing forwarded ----

my $bomb = '<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY a "aaaaaaaaaa">'
    . join('', map { sprintf('<!ENTITY %s "%s">', chr(98 + $_),
	join('', ('&' . chr(97 + $_) . ';') x 10)) } 0 .. 8)
    . ']>' . "<epp xmlns=\"$EPPNS\"><command><info><domain:info $D><domain:name>&j;"
    . '</domain:name></domain:info></info><clTRID>H-BOMB-1</clTRID></command></epp>';
my $xxe = '<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    . "<epp xmlns=\"$EPPNS\"><command><info><domain:info $D><domain:name>&x;"
    . '</domain:name></domain:info></info><clTRID>H-XXE-1</clTRID></command></epp>';
my $pi = '<?xml version="1.0"?><?evil run="1"?>' . substr(info_cmd('H-PI-1'), length('<?xml version="1.0" encoding="UTF-8"?>'));
my $pi_in = info_cmd('H-PI-2');
$pi_in =~ s/<clTRID>/<?evil inside?><clTRID>/;
my $wrongns = info_cmd('H-NS-1');
$wrongns =~ s/\Q$EPPNS\E/urn:example:not-epp/;
my $undecl = "<?xml version=\"1.0\"?><epp xmlns=\"$EPPNS\"><command><info><domain:info $D>"
    . '<domain:name>&nope;</domain:name></domain:info></info><clTRID>H-ENT-1</clTRID></command></epp>';
{
	my $e = epp_client(port => $gw->{port});
	my $lines0 = () = journal_lines($rs);
	for my $c ([$bomb, 'H-BOMB-1', 'a DOCTYPE entity bomb'],
	    [$xxe, 'H-XXE-1', 'an external entity (XXE)'],
	    [$undecl, 'H-ENT-1', 'an undeclared entity reference'],
	    [$pi, 'H-PI-1', 'a processing instruction before <epp>'],
	    [$pi_in, 'H-PI-2', 'a processing instruction inside <command>'],
	    [$wrongns, 'H-NS-1', 'the wrong EPP namespace']) {
		my ($xml, $t, $what) = @$c;
		my $t0 = time;
		my $doc = epp_raw($e, $xml);
		own_reply_ok($doc, 2001, 'syntax', $what);
		cmp_ok(time - $t0, '<', 2, "$what: answered quickly");
		unlike($doc ? $doc->toString : '', qr/root:/, "$what: nothing leaked") if $t eq 'H-XXE-1';
		my $next = "H-AFTER-$t";
		my $ok = epp_raw($e, info_cmd($next));
		is(result_code($ok), 1000, "$what: the session continues");
		is(trid($ok, 'clTRID'), $next, "$what: the next reply is for the next command");
		ok(!journal_find($rs, clTRID => $t), "$what: nothing reached the registry");
	}
	my $lines1 = () = journal_lines($rs);
	is($lines1 - $lines0, 6, 'the registry journal only has the six good commands');
	epp_close($e);
	gateway_log_like(qr/syntax error/, 'syntax errors are logged');
	still_serves('unsafe XML');
}

# ---- pipelining: frames in one write, replies in order ----

{
	my $e = epp_client(port => $gw->{port});
	ok(send_bytes($e, frame(info_cmd('H-PIPE-1')) . frame(check_cmd('H-PIPE-2'))),
	    'two commands in one TLS write');
	my @r = map { epp_read($e) } 1 .. 2;
	is_deeply([map { trid($_, 'clTRID') } @r], ['H-PIPE-1', 'H-PIPE-2'], 'two replies, in order');
	is_deeply([map { result_code($_) } @r], [1000, 1000], 'both succeed');

	ok(send_bytes($e, frame(info_cmd('H-PIPE-3')) . frame($bomb) . frame(check_cmd('H-PIPE-4'))),
	    'a good, a hostile and a good command in one write');
	@r = map { epp_read($e) } 1 .. 3;
	is_deeply([map { result_code($_) } @r], [1000, 2001, 1000],
	    "the gateway's own 2001 comes between the relayed replies");
	is_deeply([map { trid($_, 'clTRID') } @r[0, 2]], ['H-PIPE-3', 'H-PIPE-4'], 'in order');
	is(result_code(epp_raw($e, info_cmd('H-PIPE-5'))), 1000, 'the session goes on');

	# A frame split into small writes (header included) is still one frame.
	my $f = frame(info_cmd('H-SPLIT-1'));
	send_bytes($e, $_) for substr($f, 0, 2), substr($f, 2, 3), substr($f, 5, 40), substr($f, 45);
	my $doc = epp_read($e);
	is(trid($doc, 'clTRID'), 'H-SPLIT-1', 'a frame written in four pieces gets its reply');

	# Nothing after a logout is forwarded.
	ok(send_bytes($e, frame(epp_command('<logout/>', 'H-PIPE-LO')) . frame(info_cmd('H-PIPE-6'))),
	    'logout and another command in one write');
	$doc = epp_read($e);
	is(result_code($doc), 1500, 'logout answered');
	my $t = wait_closed($e, 5);
	ok(defined $t && $t < 3, 'then the connection is closed');
	ok(!journal_find($rs, clTRID => 'H-PIPE-6'), 'the command after the logout was not forwarded');
	epp_close($e);
}

# A command padded with blanks to exactly $len bytes on the wire.
sub padded_frame {
	my ($trid, $len) = @_;
	my $xml = info_cmd($trid);
	my $pad = $len - 4 - length($xml);
	$xml =~ s/<clTRID>/(' ' x $pad) . '<clTRID>'/e;
	return frame($xml);
}
{
	my $e = epp_client(port => $gw->{port});
	my $f = padded_frame('H-MAX-1', $MAXF);
	is(length($f), $MAXF, "a frame of exactly max_frame ($MAXF) bytes");
	send_bytes($e, $f);
	my $doc = epp_read($e);
	is(result_code($doc), 1000, 'is relayed');
	is(trid($doc, 'clTRID'), 'H-MAX-1', 'with its clTRID');
	send_bytes($e, join('', map { padded_frame("H-MAX-P$_", $MAXF) } 1 .. 3));
	my @r = map { epp_read($e) } 1 .. 3;
	is_deeply([map { trid($_, 'clTRID') } @r], [map { "H-MAX-P$_" } 1 .. 3],
	    'three max-size frames in one write: three replies, in order');
	send_bytes($e, padded_frame('H-MAX-2', $MAXF + 1));
	my $t = wait_closed($e, 5);
	ok(defined $t && $t < 2, 'a frame of max_frame + 1 bytes closes the connection');
	ok(!journal_find($rs, clTRID => 'H-MAX-2'), 'and was not forwarded');
	epp_close($e);
	still_serves('max-size frames');
}
{
	# A client that does not wait for the greeting.
	my $s = tls_connect(port => $gw->{port}, cert => 'registrar');
	ok($s && write_frame($s, login_xml('registrar1', 'demo-password-1', 'H-EARLY-1'))
	    && write_frame($s, info_cmd('H-EARLY-2')),
	    'login and a command sent before the greeting arrived');
	my @r = map { parse(read_frame($s, 10)) } 1 .. 3;
	ok($r[0] && xpc($r[0])->exists('/epp:epp/epp:greeting'), 'the greeting comes first');
	is_deeply([map { trid($_, 'clTRID') } @r[1, 2]], ['H-EARLY-1', 'H-EARLY-2'],
	    'then both replies, in order');
	is_deeply([map { result_code($_) } @r[1, 2]], [1000, 1000], 'both succeed');
	close($s) if $s;
}

# ---- the registry drops the connection mid-command ----

{
	my $e = epp_client(port => $gw->{port});
	ok($e->send_frame(info_cmd('REGSIM-DROP-1'), 0), 'a command the registry drops');
	my $doc = epp_read($e);
	own_reply_ok($doc, 2500, 'upstream_unavailable', 'upstream drop');
	is(trid($doc, 'clTRID'), 'REGSIM-DROP-1', 'upstream drop: clTRID echoed');
	my $t = wait_closed($e, 5);
	ok(defined $t && $t < 3, 'upstream drop: then the gateway closes the connection');
	epp_close($e);
	gateway_log_like(qr/upstream 127\.0\.0\.1:$rs->{port}: closed by the registry/,
	    'upstream drop: logged');
	still_serves('an upstream drop');
}

# ---- timeouts (their own gateway: frame_timeout=2, idle_timeout=2) ----

my $slow = start_gateway(regsim => $rs,
    gateway => { frame_timeout => 2, idle_timeout => 2, handshake_timeout => 2 });
{
	my $e = epp_client(port => $slow->{port});
	ok($e, 'slow client logs in (frame_timeout=2)');
	send_bytes($e, pack('N', 204));
	my $t0 = time;
	my $closed;
	for my $i (1 .. 8) {	# one byte a second, at most 8 s
		send_bytes($e, '<');
		my $w = wait_closed($e, 1);
		if (defined $w) { $closed = time - $t0; last }
	}
	ok(defined $closed && $closed > 1.5 && $closed < 5,
	    'a client sending one byte a second is closed after ~2 s')
	    or diag('closed after ' . ($closed // 'never'));
	epp_close($e);
	gateway_log_like($slow, qr/frame not complete after 2s/, 'slow frame: logged');
	still_serves('a slow frame', gw => $slow, no_bystander => 1);
}
{
	my $e = epp_client(port => $slow->{port});
	send_bytes($e, "\0\0");	# half a header, then silence
	my $t = wait_closed($e, 8);
	ok(defined $t && $t > 1.5 && $t < 5, 'half a frame header is closed after ~2 s')
	    or diag('closed after ' . ($t // 'never'));
	epp_close($e);
}
{
	my $e = epp_client(port => $slow->{port});
	ok($e, 'an idle session (idle_timeout=2)');
	my $t = wait_closed($e, 8);
	ok(defined $t && $t > 1.5 && $t < 5, 'the idle session is closed after ~2 s')
	    or diag('closed after ' . ($t // 'never'));
	epp_close($e);
	gateway_log_like($slow, qr/idle for 2s/, 'idle: logged');
}
{
	my $tcp = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $slow->{port});
	ok($tcp, 'a TCP client that never starts TLS');
	my $t0 = time;
	my $rin = '';
	vec($rin, fileno($tcp), 1) = 1;
	select(my $rout = $rin, undef, undef, 8);
	my $n = sysread($tcp, my $buf, 10);
	ok(!$n && time - $t0 < 5, 'is dropped after handshake_timeout');
	gateway_log_like($slow, qr/TLS handshake timed out/, 'handshake timeout: logged');
	still_serves('timeouts', gw => $slow, no_bystander => 1);
}

# ---- the registry is down ----

my $down = start_gateway(upstream_address => '127.0.0.1:' . free_port(),
    upstream => { connect_timeout => 3 });
{
	my $s = tls_connect(port => $down->{port}, cert => 'registrar');
	ok($s, 'registry down: the registrar still gets TLS');
	my $doc = $s ? parse(read_frame($s, 8)) : undef;
	ok($doc && !xpc($doc)->exists('//epp:greeting'), 'registry down: no greeting');
	own_reply_ok($doc, 2500, 'upstream_unavailable', 'registry down');
	my $t = $s ? wait_closed($s, 5) : undef;
	ok(defined $t && $t < 3, 'registry down: then the connection is closed');
	gateway_log_like($down, qr/upstream 127\.0\.0\.1:\d+: /, 'registry down: logged');
}
{
	# A registry that accepts TCP but never speaks TLS (a black hole).
	my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 5) or die "listen: $!";
	my $bh = start_gateway(upstream_address => '127.0.0.1:' . $hole->sockport,
	    upstream => { connect_timeout => 2 });
	my $s = tls_connect(port => $bh->{port}, cert => 'registrar');
	my $t0 = time;
	my $doc = $s ? parse(read_frame($s, 8)) : undef;
	own_reply_ok($doc, 2500, 'upstream_unavailable', 'registry silent (connect_timeout=2)');
	cmp_ok(time - $t0, '<', 5, 'registry silent: answered after about connect_timeout');
	my $t = $s ? wait_closed($s, 5) : undef;
	ok(defined $t && $t < 3, 'registry silent: then the connection is closed');
	gateway_log_like($bh, qr/no connection or greeting in time/, 'registry silent: logged');
	close($hole);
}
still_serves('all of it');

is(result_code(epp_raw($bystander, epp_command('<logout/>', 'BY-LO'))), 1500,
    'the first session logs out normally at the end');
gateways_clean();
done_testing();
