#!/usr/bin/perl
# 92-workers.t: several EPP workers (`[gateway] workers`), one watch
# process (eppgw-watch) that owns the registry state, and the parent's
# admission counts (include/proc.h, include/statelink.h, gateway/watch/watchd.c,
# gateway/parent/parent.c).  Every check that a change was held also asks the
# simulator (its journal, and a session straight to it): held means never
# forwarded, not only a 2304 in the reply.
#
#   both serve      sessions land on both workers (found through
#                   /proc/net/tcp and /proc/PID/fd), and every one works
#   per principal   max_sessions_per_principal 3, three sessions of
#                   registrar spread 2 + 1 over the two workers (no worker
#                   holds three): a fourth is closed before any greeting;
#                   another principal connects; closing one lets a new one
#                   in; kill -9 of a worker frees the counts of its
#                   sessions (the principal opens as many again, and the
#                   cap holds again) while the other worker serves on;
#                   after a reload the retiring workers' sessions still
#                   count
#   per address     the same for max_sessions_per_address 3
#   max_sessions    max_sessions 3 holds for the daemon, not per worker
#   shared truth    with a watch session: frozen.example
#                   (serverUpdateProhibited at the registry, never seen) is
#                   held on both workers, asked about once; open.example,
#                   known unlocked on both (asked once), locked at the
#                   registry afterwards and read again after a renew
#                   through one worker, is held on both; pay.bank.example,
#                   an answer dropped as stale at a refresh, is dropped from
#                   every copy, asked about again and held on both
#   no watch        an info reply relayed by one worker that shows
#                   serverUpdateProhibited (or clientUpdateProhibited)
#                   makes an NS change (and an address change on its name
#                   server, an update of its registrant) through the other
#                   worker held, within moments
#                   (that worker's copy follows the watch process's store;
#                   see held_soon); before any info the gateway knows
#                   nothing and forwards it
#   reload          SIGHUP with two workers: two new workers and a new
#                   watch process; old sessions keep working (locks held)
#                   and their workers exit by themselves when they end
#                   (not killed on the way out); new sessions on both new
#                   workers use the new lock list; registry locks are
#                   still held; the retiring workers' sessions still count
#                   against max_sessions_per_principal
#
#   make BUILD=build all
#   prove -I tests/e2e/lib tests/e2e/92-workers.t
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use EppgwTest qw(:all);

$SIG{PIPE} = 'IGNORE';

my $T0 = time;
my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';
my $C = 'xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"';

skip_without(built => [qw(eppgw eppgw-regsim)]);
plan(skip_all => 'needs /proc/net/tcp') unless -r '/proc/net/tcp';

# ---- helpers ----

# The inode of the established TCP connection between local port $lport
# (the gateway's) and remote port $rport (the client's), from
# /proc/net/tcp(6); undef when there is none.
sub tcp_inode {
	my ($lport, $rport) = @_;
	for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
		open(my $fh, '<', $f) or next;
		<$fh>;
		while (my $line = <$fh>) {
			my @f = split ' ', $line;
			next unless @f > 9 && $f[3] eq '01' && $f[9];
			my ($l) = $f[1] =~ /:([0-9A-F]{4})$/;
			my ($r) = $f[2] =~ /:([0-9A-F]{4})$/;
			return $f[9] if defined $l && defined $r
			    && hex($l) == $lport && hex($r) == $rport;
		}
	}
	return undef;
}

# Which worker process of $gw holds a client's connection (an EPP client
# or a socket): the pid whose /proc/PID/fd has the socket's inode, or
# undef.  Same uid (or root): readable without privileges.  (A candidate
# for EppgwTest.pm.)
sub worker_of {
	my ($gw, $c) = @_;
	$c = $c->{connection} if ref $c eq 'Net::EPP::Simple';
	return undef unless $c && $c->opened;
	my $ino = tcp_inode($gw->{port}, $c->sockport) or return undef;
	for my $pid (gateway_procs($gw, 'worker')) {
		opendir(my $d, "/proc/$pid/fd") or next;
		for my $fd (readdir($d)) {
			my $l = readlink("/proc/$pid/fd/$fd") // next;
			return $pid if $l eq "socket:[$ino]";
		}
	}
	return undef;
}

# A logged-in session through $gw as $cert (default registrar); undef on
# failure.
sub session {
	my ($gw, $cert) = @_;
	return epp_client(port => $gw->{port}, cert => $cert // 'registrar',
	    timeout => 5);
}

# A TLS connection as $cert that the gateway closes before any greeting:
# closed (or its handshake failed) within 3 s.  A connection left waiting
# (nobody accepts it, or no answer) is not "closed".
sub refused {
	my ($gw, $cert) = @_;
	my $t0 = time;
	my $s = tls_connect(port => $gw->{port}, cert => $cert, timeout => 5);
	my $g = $s ? read_frame($s, 5) : undef;
	close($s) if $s;
	my $t = time - $t0;
	diag(sprintf('a connection as %s was neither greeted nor closed '
	    . 'within %.1f s', $cert, $t)) if !defined $g && $t > 3;
	return !defined $g && $t <= 3;
}

# Send a command (clTRIDs W92-N): epp_send()'s { trid, code, why, svtrid,
# doc, journal, ... } (journal: the simulator's journal lines with this
# clTRID).
my $rs;
sub send_cmd {
	my ($sess, $inner) = @_;
	return epp_send($sess, $inner, prefix => 'W92-', regsim => $rs);
}

# A command the gateway held itself: 2304 approval_required with a change
# id, its own svTRID, and no journal line at the simulator.
sub is_held {
	my ($r) = @_;
	return $r->{code} eq '2304'
	    && $r->{why} =~ /^approval_required [0-9a-f]{12}$/
	    && $r->{svtrid} =~ /^eppgw-/ && $r->{journal} == 0;
}

sub held {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = is_held($r);
	ok($ok, $name) or diag(explain({ map { $_ => $r->{$_} }
	    qw(trid code why svtrid journal) }));
	return $ok;
}

# Without a watch session, another worker's copy follows the watch
# process's store a moment after the info reply was relayed
# (statelink.h: "the watch process keeps the others equal"): a command
# sent through it at once may still be judged without the status (seen in
# about 2 of 60 tries).  So: held within 2 s.  Attempts forwarded before
# are refused by the registry itself (the domain is UpdateProhibited
# there) and change nothing; the callers check the registry afterwards.
sub held_soon {
	my ($sess, $inner, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($r, @fwd);
	wait_until(2, sub {
		$r = send_cmd($sess, $inner);
		return 1 if is_held($r) || $r->{code} eq 'none';
		push @fwd, "$r->{trid}: $r->{code} $r->{svtrid}";
		return 0;
	});
	my $ok = held($r, $name);
	diag("the other worker's copy lagged: forwarded before it was held: "
	    . join(', ', @fwd)) if @fwd;
	return $ok;
}

# A command forwarded and executed: 1000, one journal line.
sub executed {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = $r->{code} eq '1000' && $r->{journal} == 1;
	ok($ok, $name) or diag(explain({ map { $_ => $r->{$_} }
	    qw(trid code why svtrid journal) }));
	return $ok;
}

# ---- the registry's own view ----

# A domain at the registry: { clid, ns => 'a b', status => 'x y', exp =>
# DATE }; a host's addresses; a contact's email.
my $direct;
sub direct_code { return registry_code($direct, @_) }
sub reg_domain { return registry_domain_facts($direct, @_) }
sub reg_contact_email { return registry_contact_email($direct, @_) }
sub reg_host_addrs { return registry_host_addrs($direct, @_) }

sub state_has {
	my ($gw, $name, $fact) = @_;
	my $s = watch_state($gw->{watch_state}) or return 0;
	my $o = $s->{"domain:$name"} or return 0;
	return 1 unless defined $fact;
	return scalar grep { $_ eq $fact } @{$o->{facts} // []};
}

# Whether the watch session read domain $name after the command $trid
# (a domain:info with an eppgw-watch- clTRID after its journal line).
sub read_after {
	my ($name, $trid) = @_;
	my @j = journal_lines($rs);
	my ($at) = grep { ($j[$_]{clTRID} // '') eq $trid } 0 .. $#j;
	return 0 unless defined $at;
	return scalar grep { ($_->{clTRID} // '') =~ /^eppgw-watch-/
	    && $_->{cmd} eq 'domain:info' && ($_->{obj} // '') eq $name }
	    @j[$at + 1 .. $#j];
}

sub asks {
	my ($gw, $name) = @_;
	return gateway_log_count($gw,
	    qr/asking the registry about \Q$name\E before judging/);
}

# Open sessions (as $cert) until two workers hold at least one each, at
# most $max; returns { PID => [sessions] } (all kept open).  The kernel
# picks a worker's listening socket by a hash of each connection.
sub spread {
	my ($gw, $max, $cert) = @_;
	my %by;
	for (1 .. $max) {
		my $e = session($gw, $cert) or last;
		my $w = worker_of($gw, $e) // 'unknown';
		push @{$by{$w}}, $e;
		last if keys(%by) >= 2 && !$by{unknown};
	}
	return \%by;
}

# One session per cert in @certs, in that order, on both workers: a last
# one that would leave them all on one worker is closed and opened again
# (refusals meanwhile, while the gateway still counts a closed one, are
# retried too).  Returns the sessions, or () after 40 tries.
sub placed {
	my ($gw, @certs) = @_;
	my (@s, %on);
	for (1 .. 40) {
		return @s if @s == @certs;
		my $e = session($gw, $certs[@s]);
		unless ($e) { sleep(0.1); next }
		my $w = worker_of($gw, $e) // 0;
		if (@s == $#certs && keys(%on) == 1 && $on{$w}) {
			epp_close($e);
			sleep(0.05);
			next;
		}
		$on{$w}++;
		push @s, $e;
	}
	epp_close($_) for @s;
	return ();
}

# ======================================================================
# The simulator and the gateways, all started up front.
# ======================================================================

$rs = start_regsim();
$direct = direct_session($rs, 'the registry\'s own view');

my $LOCKS = { locks => ['locked.example'] };
my %W2 = (workers => 2);
my $gw1 = start_gateway(regsim => $rs, policy => $LOCKS, watch => 1,
    gateway => { %W2 });			# with a watch session
my $gw3 = start_gateway(regsim => $rs, policy => $LOCKS,
    gateway => { %W2 });			# without
my $gwp = start_gateway(regsim => $rs, policy => $LOCKS,
    gateway => { %W2, max_sessions_per_principal => 3 });
my $gwa = start_gateway(regsim => $rs, policy => $LOCKS,
    gateway => { %W2, max_sessions_per_address => 3 });
my $gwm = start_gateway(regsim => $rs, policy => $LOCKS,
    gateway => { %W2, max_sessions => 3 });

for my $g ($gw1, $gw3, $gwp, $gwa, $gwm) {
	my @w;
	ok(wait_until(5, sub { (@w = gateway_procs($g, 'worker')) == 2
	    && gateway_log_count($g, qr/worker \d+: serving/) >= 2 }),
	    "gateway on port $g->{port}: two eppgw-worker processes, both "
	    . 'serving') or diag(gateway_log($g));
	is(scalar(gateway_procs($g, 'watch')), 1, 'and one eppgw-watch');
}
ok(gateway_log_like($gw1, qr/watch: logged in to \S+ as registrar1/,
    'the watch session of the first gateway logs in', 10), 'watch up')
    or BAIL_OUT('no watch session: ' . gateway_log($gw1));

# ======================================================================
# 1. Both workers serve.
# ======================================================================

my ($a3, $b3);	# sessions on the two workers of $gw3
{
	my $by = spread($gw3, 16);
	my @pids = sort grep { $_ ne 'unknown' } keys %$by;
	is_deeply([sort { $a <=> $b } @pids],
	    [gateway_procs($gw3, 'worker')],
	    'sessions land on both worker processes (found by the socket '
	    . 'inode in /proc/PID/fd)') or diag(explain({ map
	    { $_ => scalar @{$by->{$_}} } keys %$by }));
	ok(!$by->{unknown}, 'every session found in a worker');
	my ($n, $ok) = (0, 0);
	for my $pid (@pids) {
		for my $e (@{$by->{$pid}}) {
			$n++;
			my $r = send_cmd($e, info_domain('open.example'));
			$ok++ if $r->{code} eq '1000' && $r->{journal} == 1;
		}
	}
	is($ok, $n, "every one of the $n sessions works: a domain:info "
	    . 'answered 1000 and in the simulator\'s journal');
	($a3, $b3) = map { shift @{$by->{$_}} } @pids;
	epp_close($_) for map { @{$by->{$_}} } @pids;
}

# ======================================================================
# 3. Registry truth is shared (a watch session).
# ======================================================================

my (%w1, @w1);	# $gw1: worker pid => its session; the two pids
{
	my $by = spread($gw1, 16);
	for my $w (grep { $_ ne 'unknown' } keys %$by) {
		$w1{$w} = shift @{$by->{$w}};
	}
	epp_close($_) for map { @$_ } values %$by;
	@w1 = sort { $a <=> $b } keys %w1;
	is(scalar(@w1), 2, 'sessions through the gateway with a watch '
	    . 'session on both workers (' . join(', ', @w1) . ')')
	    or BAIL_OUT('cannot place sessions on two workers');
}
my ($sA, $sB) = @w1{@w1};

# frozen.example: serverUpdateProhibited at the registry, never seen.
{
	my $before = reg_domain('frozen.example');
	like($before->{status}, qr/serverUpdateProhibited/,
	    'frozen.example is serverUpdateProhibited at the registry');
	held(send_cmd($sA, ns_update('frozen.example', 'add',
	    'ns2.dns.example')), "worker $w1[0]: an NS change on frozen.example "
	    . 'is held and never forwarded');
	is(asks($gw1, 'frozen.example'), 1, 'after asking the registry once');
	held(send_cmd($sB, ns_update('frozen.example', 'add',
	    'ns2.dns.example')), "worker $w1[1]: the same change is held");
	held(send_cmd($sB, ns_update('frozen.example', 'rem',
	    'ns.dns.example')), "worker $w1[1]: so is removing its name server");
	is(asks($gw1, 'frozen.example'), 1, 'without asking again: the '
	    . 'other worker\'s copy holds the watch process\'s answer');
	is_deeply(reg_domain('frozen.example'), $before,
	    'frozen.example is unchanged at the simulator');
}

# open.example: known unlocked on both workers, then locked at the
# registry and read again after a change through one worker.
{
	my $r = send_cmd($sA, ns_update('open.example', 'add',
	    'ns2.dns.example'));
	executed($r, "worker $w1[0]: an NS change on (unlocked) open.example "
	    . 'passes after an ask');
	is(asks($gw1, 'open.example'), 1, 'one ask');
	ok(wait_until(5, sub { read_after('open.example', $r->{trid}) }),
	    'the watch session reads open.example again after the change');
	$r = send_cmd($sB, ns_update('open.example', 'rem', 'ns2.dns.example'));
	executed($r, "worker $w1[1]: undoing it passes");
	is(asks($gw1, 'open.example'), 1, 'without an ask: the answer is in '
	    . 'its copy too');
	is(reg_domain('open.example')->{ns}, 'ns.dns.example',
	    'the simulator shows both changes');
	ok(wait_until(5, sub { read_after('open.example', $r->{trid}) }),
	    'read again after that change');

	# The registrant locks it at the registry (its portal).
	is(direct_code(status_update('open.example', 'add',
	    'clientUpdateProhibited')), 1000, 'open.example gets '
	    . 'clientUpdateProhibited directly at the simulator');
	# A change the registry executes makes the watch read it again: a
	# renew (no protected class, allowed under clientUpdateProhibited).
	my $exp = reg_domain('open.example')->{exp};
	$r = send_cmd($sB, "<renew><domain:renew $D><domain:name>open.example"
	    . "</domain:name><domain:curExpDate>$exp</domain:curExpDate>"
	    . '<domain:period unit="y">1</domain:period></domain:renew>'
	    . '</renew>');
	executed($r, "worker $w1[1]: a renew of open.example goes through");
	ok(wait_until(5, sub { read_after('open.example', $r->{trid})
	    && state_has($gw1, 'open.example',
	    'status=clientUpdateProhibited') }),
	    'the watch reads it again and keeps clientUpdateProhibited '
	    . '(state file)');
	held(send_cmd($sA, ns_update('open.example', 'add',
	    'ns2.dns.example')), "worker $w1[0] (not the one whose command "
	    . 'made the watch read it): an NS change on open.example is held');
	held(send_cmd($sB, ns_update('open.example', 'add',
	    'ns2.dns.example')), "worker $w1[1]: held too");
	is(asks($gw1, 'open.example'), 1, 'no further ask');
	is(reg_domain('open.example')->{ns}, 'ns.dns.example',
	    'open.example keeps its one name server at the simulator');
}

# pay.bank.example: an unlocked answer that goes stale.  Checked after the
# other gateways' sections (the watch drops it at a refresh once it is
# older than one refresh interval, 5 s).
{
	my $r = send_cmd($sB, ns_update('pay.bank.example', 'add',
	    'ns2.dns.example'));
	executed($r, "worker $w1[1]: an NS change on (unlocked) "
	    . 'pay.bank.example passes after an ask');
	ok(wait_until(5, sub { read_after('pay.bank.example', $r->{trid}) }),
	    'the watch reads it again after the change');
	$r = send_cmd($sA, ns_update('pay.bank.example', 'rem',
	    'ns2.dns.example'));
	executed($r, "worker $w1[0]: undone without an ask");
	is(asks($gw1, 'pay.bank.example'), 1, 'one ask in all');
	ok(wait_until(5, sub { read_after('pay.bank.example', $r->{trid})
	    && state_has($gw1, 'pay.bank.example') }),
	    'read again after that; the state file holds it');
	is(direct_code(status_update('pay.bank.example', 'add',
	    'clientUpdateProhibited')), 1000, 'pay.bank.example gets '
	    . 'clientUpdateProhibited directly at the simulator');
}

# ======================================================================
# 4. Without a watch session: an info reply on one worker teaches the
#    other (through the watch process's store).
# ======================================================================

{
	my @p = map { worker_of($gw3, $_) } $a3, $b3;
	ok($p[0] && $p[1] && $p[0] != $p[1], "sessions on workers $p[0] and "
	    . "$p[1] of the gateway without a watch session");

	# Nothing known yet: forwarded, and the registry itself refuses.
	my $r = send_cmd($b3, ns_update('frozen.example', 'add',
	    'ns2.dns.example'));
	ok($r->{journal} == 1 && $r->{svtrid} !~ /^eppgw-/,
	    "worker $p[1], before any info: the gateway knows nothing of "
	    . 'frozen.example and forwards the NS change (the registry '
	    . "refuses it: $r->{code})") or diag(explain($r));

	$r = send_cmd($a3, info_domain('frozen.example'));
	is($r->{code}, 1000, "worker $p[0]: domain:info frozen.example");
	ok($r->{doc} && xpc($r->{doc})->findnodes(
	    '//domain:infData/domain:status[@s="serverUpdateProhibited"]')
	    ->size, 'the reply relayed shows serverUpdateProhibited');
	held_soon($b3, ns_update('frozen.example', 'add', 'ns2.dns.example'),
	    "worker $p[1]: the NS change is held now");
	# Its name server carries its delegation (the copy's host index).
	my $addrs = reg_host_addrs('ns.dns.example');
	held(send_cmd($b3, "<update><host:update $H><host:name>ns.dns.example"
	    . '</host:name><host:add><host:addr ip="v4">192.0.2.99</host:addr>'
	    . '</host:add></host:update></update>'), "worker $p[1]: an "
	    . 'address change on ns.dns.example (its name server) is held');
	is(reg_host_addrs('ns.dns.example'), $addrs,
	    'ns.dns.example is unchanged at the simulator');
	# So does its registrant (README: contacts a locked domain's info
	# reply named are held too).
	my $email = reg_contact_email('reg-1');
	held(send_cmd($b3, "<update><contact:update $C><contact:id>reg-1"
	    . '</contact:id><contact:chg><contact:email>hijack@evil.example'
	    . '</contact:email></contact:chg></contact:update></update>'),
	    "worker $p[1]: a contact:update of reg-1 (frozen.example's "
	    . 'registrant) is held');
	is(reg_contact_email('reg-1'), $email,
	    "reg-1 is unchanged at the simulator ($email)");
	held(send_cmd($a3, ns_update('frozen.example', 'add',
	    'ns2.dns.example')), "worker $p[0]: held there too");

	# The other way round, with a client status set at the registry on
	# a domain made for this test.
	is(direct_code("<create><domain:create $D><domain:name>w92.example"
	    . '</domain:name><domain:ns><domain:hostObj>ns.dns.example'
	    . '</domain:hostObj></domain:ns><domain:registrant>reg-1'
	    . '</domain:registrant><domain:authInfo><domain:pw>w92-auth-1'
	    . '</domain:pw></domain:authInfo></domain:create></create>'), 1000,
	    'w92.example created directly at the simulator');
	is(direct_code(status_update('w92.example', 'add',
	    'clientUpdateProhibited')), 1000, 'and clientUpdateProhibited '
	    . 'set there');
	$r = send_cmd($b3, info_domain('w92.example'));
	ok($r->{code} eq '1000' && $r->{doc} && xpc($r->{doc})->findnodes(
	    '//domain:infData/domain:status[@s="clientUpdateProhibited"]')
	    ->size, "worker $p[1]: domain:info w92.example shows "
	    . 'clientUpdateProhibited');
	held_soon($a3, ns_update('w92.example', 'add', 'ns2.dns.example'),
	    "worker $p[0]: an NS change on w92.example is held");
	is(reg_domain('w92.example')->{ns}, 'ns.dns.example',
	    'w92.example is unchanged at the simulator');
	epp_close($_) for $a3, $b3;
}

# ======================================================================
# 2. The caps hold across workers.
# ======================================================================

# A retired worker that exits by itself once its last session ended is
# not killed on its way out ("worker process PID killed by signal 9").
sub retired_cleanly {
	my ($gw, @pids) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @killed = grep { gateway_log($gw) =~ /worker process $_ killed by signal/ }
	    @pids;
	is("@killed", '', 'the retired workers (' . join(', ', @pids)
	    . ') exited by themselves, none killed by a signal')
	    or diag(join('', grep { /worker (?:process )?(?:@{[join '|', @pids]})\b/ }
	    split /^/m, gateway_log($gw)));
}

# Sessions by worker: { PID => [sessions] }.
sub by_worker {
	my ($gw, @s) = @_;
	my %by;
	push @{$by{worker_of($gw, $_) // 'unknown'}}, $_ for @s;
	return \%by;
}

sub shape {
	my ($by) = @_;
	return join(' + ', sort map { scalar @{$by->{$_}} } keys %$by);
}

# After kill -9 of $pid: its replacement is serving.  Returns its pid.
sub replaced {
	my ($gw, $pid) = @_;
	return fail('no worker to kill') unless $pid;
	my @before = gateway_procs($gw, 'worker');
	kill('KILL', $pid);
	my ($new, @w);
	ok(wait_until(5, sub { @w = gateway_procs($gw, 'worker');
	    ($new) = grep { my $p = $_; !grep { $_ == $p } @before } @w;
	    @w == 2 && !grep({ $_ == $pid } @w) && $new
	    && gateway_log($gw) =~ /worker $new: serving/ }),
	    "worker $pid killed (SIGKILL): a new worker serves in its place")
	    or diag(gateway_log($gw));
	gateway_log_like($gw, qr/worker process $pid killed by signal 9/,
	    'the parent logs the death');
	return $new;
}

{
	my $RE = qr/principal registrar already has 3 sessions/;
	my @r = placed($gwp, ('registrar') x 3);
	is(scalar(@r), 3, 'max_sessions_per_principal 3: three sessions of '
	    . 'registrar');
	my $by = by_worker($gwp, @r);
	is(shape($by), '1 + 2', 'spread over both workers (2 + 1): no worker '
	    . 'holds three') or diag(explain([keys %$by]));
	is(scalar(grep { send_cmd($_, info_domain('open.example'))->{code}
	    eq '1000' } @r), 3, 'all three work');
	my $n = gateway_log_count($gwp, $RE);
	ok(refused($gwp, 'registrar'), 'a fourth session of registrar is '
	    . 'closed before any greeting, whichever worker it reached');
	ok(wait_until(3, sub { gateway_log_count($gwp, $RE) == $n + 1 }),
	    'refused by the cap (the log names it)') or diag(gateway_log($gwp));
	my $alice = session($gwp, 'alice');
	ok($alice, 'another principal (alice) still connects');
	is(send_cmd($alice, info_domain('open.example'))->{code}, 1000,
	    'and works');

	# Close one of the two on one worker: the count goes down.
	my ($two) = grep { @{$by->{$_}} == 2 } keys %$by;
	my $gone = pop @{$by->{$two}};
	epp_close($gone);
	@r = grep { $_ != $gone } @r;
	my $again;
	wait_until(3, sub { $again = session($gwp) });
	ok($again, 'after one of registrar\'s sessions closed, a new one '
	    . 'gets in');
	push @r, $again if $again;

	# kill -9 a worker holding two of registrar's sessions.
	$by = by_worker($gwp, @r);
	($two) = grep { @{$by->{$_}} == 2 } keys %$by;
	ok($two, "worker $two holds two of registrar's sessions")
	    or diag(explain({ map { $_ => scalar @{$by->{$_}} } keys %$by }));
	my @lost = @{$by->{$two} // []};
	my @alive = grep { (worker_of($gwp, $_) // 0) != ($two // 0) }
	    @r, $alice;
	my $new = replaced($gwp, $two);
	is(scalar(grep { defined wait_closed($_, 5) } @lost), scalar(@lost),
	    'its sessions are closed');
	is(scalar(grep { send_cmd($_, info_domain('open.example'))->{code}
	    eq '1000' } @alive), scalar(@alive), 'the sessions on the other '
	    . 'worker serve on (' . scalar(@alive) . ')');
	@r = grep { my $x = $_; !grep { $_ == $x } @lost } @r;
	$n = gateway_log_count($gwp, $RE);
	my @more = map { session($gwp) } 1 .. 2;
	ok(!grep({ !$_ } @more), 'registrar opens two sessions again: the '
	    . 'dead worker\'s were let go');
	is(gateway_log_count($gwp, $RE), $n, 'no refusal');
	is(scalar(grep { send_cmd($_, info_domain('open.example'))->{code}
	    eq '1000' } @more), 2, 'both work');
	ok(refused($gwp, 'registrar'), 'the cap still holds: a fourth is '
	    . 'closed before any greeting');
	ok(wait_until(3, sub { gateway_log_count($gwp, $RE) == $n + 1 }),
	    'refused by the cap');
	my $bob = session($gwp, 'bob');
	ok($bob, 'bob still connects');
	epp_close($_) for @more, $bob, $alice;

	# A reload: the retiring workers' sessions still count.
	@r = grep { $_->{connection} } @r;
	epp_close(shift @r) while @r > 1;
	$n = gateway_log_count($gwp, $RE);
	push @r, session($gwp);
	ok($r[1], 'two sessions of registrar');
	my @old = gateway_procs($gwp, 'worker');
	my $done = gateway_log_count($gwp, qr/reload done/);
	kill('HUP', $gwp->{pid});
	my @w;
	ok(wait_until(5, sub { gateway_log_count($gwp, qr/reload done/) > $done
	    && (@w = grep { my $p = $_; !grep { $_ == $p } @old }
	    gateway_procs($gwp, 'worker')) == 2
	    && 2 == grep { gateway_log($gwp) =~ /worker $_: serving/ } @w }),
	    'SIGHUP: two new workers serve') or diag(gateway_log($gwp));
	my $third = session($gwp);
	ok($third && grep({ $_ == (worker_of($gwp, $third) // 0) } @w),
	    'a third session of registrar, on a new worker');
	ok(refused($gwp, 'registrar'), 'a fourth is closed before any '
	    . 'greeting: the two on the retiring workers still count');
	ok(wait_until(3, sub { gateway_log_count($gwp, $RE) == $n + 1 }),
	    'refused by the cap');
	epp_close($r[0]);
	my $again2;
	wait_until(3, sub { $again2 = session($gwp) });
	ok($again2, 'once a retiring worker\'s session ends, a new one gets '
	    . 'in');
	epp_close($_) for @r, $third, $again2;
	ok(wait_until(5, sub { !grep { kill(0, $_) } @old }),
	    'the retired workers exit once their sessions end');
	retired_cleanly($gwp, @old);
}

{
	my $RE = qr/127\.0\.0\.1 already has 3 sessions/;
	my @s = placed($gwa, qw(registrar alice bob));
	is(scalar(@s), 3, 'max_sessions_per_address 3: three sessions from '
	    . '127.0.0.1 (registrar, alice, bob)');
	my $by = by_worker($gwa, @s);
	is(shape($by), '1 + 2', 'spread over both workers (2 + 1)');
	my $n = gateway_log_count($gwa, $RE);
	ok(refused($gwa, 'carol'), 'a fourth from the address (carol) is '
	    . 'closed before any greeting');
	ok(wait_until(3, sub { gateway_log_count($gwa, $RE) == $n + 1 }),
	    'refused by the address cap (the log names it)')
	    or diag(gateway_log($gwa));
	my ($two) = grep { @{$by->{$_}} == 2 } keys %$by;
	my $gone = pop @{$by->{$two}};
	epp_close($gone);
	@s = grep { $_ != $gone } @s;
	my $carol;
	wait_until(3, sub { $carol = session($gwa, 'carol') });
	ok($carol, 'after one closed, carol gets in');
	push @s, $carol if $carol;
	is(send_cmd($carol, info_domain('open.example'))->{code}, 1000,
	    'and works');

	$by = by_worker($gwa, @s);
	($two) = grep { @{$by->{$_}} == 2 } keys %$by;
	ok($two, "worker $two holds two of them");
	my @lost = @{$by->{$two} // []};
	my $new = replaced($gwa, $two);
	is(scalar(grep { defined wait_closed($_, 5) } @lost), scalar(@lost),
	    'its sessions are closed');
	@s = grep { my $x = $_; !grep { $_ == $x } @lost } @s;
	$n = gateway_log_count($gwa, $RE);
	my @more = map { session($gwa, $_) } qw(alice carol);
	ok(!grep({ !$_ } @more), 'two more sessions from the address get in '
	    . '(the dead worker\'s were let go)');
	is(scalar(grep { send_cmd($_, info_domain('open.example'))->{code}
	    eq '1000' } @more), 2, 'both work');
	ok(refused($gwa, 'registrar'), 'the cap still holds: a fourth is '
	    . 'closed before any greeting');
	ok(wait_until(3, sub { gateway_log_count($gwa, $RE) == $n + 1 }),
	    'refused by the address cap');
	epp_close($_) for @s, @more;
}

# max_sessions holds for the daemon too (docs/privsep.md, Admission).
{
	my $RE = qr/the daemon has 3 sessions \(max_sessions\): refused/;
	my @s = placed($gwm, qw(registrar alice bob));
	is(scalar(@s), 3, 'max_sessions 3: three sessions (registrar, alice, '
	    . 'bob)');
	is(shape(by_worker($gwm, @s)), '1 + 2', 'spread over both workers');
	my $n = gateway_log_count($gwm, $RE);
	ok(refused($gwm, 'carol'), 'a fourth (carol) is closed before any '
	    . 'greeting');
	ok(wait_until(3, sub { gateway_log_count($gwm, $RE) == $n + 1 }),
	    'refused by max_sessions') or diag(gateway_log($gwm));
	epp_close(shift @s);
	my $carol;
	wait_until(3, sub { $carol = session($gwm, 'carol') });
	ok($carol, 'after one closed, carol gets in');
	epp_close($_) for @s, $carol;
}

# ======================================================================
# 3, continued: the stale answer about pay.bank.example.
# ======================================================================

{
	ok(wait_until(15, sub { !state_has($gw1, 'pay.bank.example') }),
	    'the watch drops its answer about pay.bank.example at a refresh '
	    . '(state file)');
	held(send_cmd($sA, ns_update('pay.bank.example', 'add',
	    'ns2.dns.example')), "worker $w1[0]: an NS change on "
	    . 'pay.bank.example, locked at the registry since, is held');
	is(asks($gw1, 'pay.bank.example'), 2, 'after asking the registry '
	    . 'again: the dropped answer went from its copy too');
	held(send_cmd($sB, ns_update('pay.bank.example', 'add',
	    'ns2.dns.example')), "worker $w1[1]: held too");
	is(asks($gw1, 'pay.bank.example'), 2, 'without another ask');
	is(reg_domain('pay.bank.example')->{ns}, 'ns.dns.example',
	    'pay.bank.example keeps its one name server at the simulator');
	for my $d (qw(open.example pay.bank.example)) {
		is(direct_code(status_update($d, 'rem',
		    'clientUpdateProhibited')), 1000,
		    "($d unlocked at the simulator again)");
	}
}

# ======================================================================
# 5. Reload (SIGHUP) with two workers.
# ======================================================================

{
	my @old = gateway_procs($gw1, 'worker');
	my ($oldw) = gateway_procs($gw1, 'watch');
	is_deeply(\@old, \@w1, 'before the reload: the two workers holding '
	    . 'the sessions');
	# The new configuration locks pay.bank.example too.
	open(my $fh, '>>', $gw1->{locks}) or die "$gw1->{locks}: $!";
	print $fh "pay.bank.example\n";
	close($fh);
	my $done = gateway_log_count($gw1, qr/reload done/);
	kill('HUP', $gw1->{pid});
	ok(wait_until(5, sub {
	    gateway_log_count($gw1, qr/reload done/) > $done }),
	    'SIGHUP: reload done') or diag(gateway_log($gw1));
	my (@now, @new, @watch);
	ok(wait_until(5, sub {
		@now = gateway_procs($gw1, 'worker');
		@new = grep { my $p = $_; !grep { $_ == $p } @old } @now;
		@watch = gateway_procs($gw1, 'watch');
		@new == 2 && @watch == 1 && $watch[0] != $oldw
		    && 2 == grep { gateway_log($gw1) =~ /worker $_: serving/ }
		    @new }), 'two new workers serve (' . join(', ', @new)
	    . '), beside the two old ones while their sessions last, and one '
	    . "new watch process ($watch[0])")
	    or diag(explain({ workers => \@now, watch => \@watch,
	    old => \@old }));
	ok(!kill(0, $oldw), "the old watch process ($oldw) is gone");
	ok(gateway_log_like($gw1, qr/watch: logged in to \S+ as registrar1(?s:.*)watch: logged in to \S+ as registrar1/,
	    'the new watch process logs in', 10), 'new watch session');

	# Old sessions: still served by their old workers, locks held.
	for my $i (0, 1) {
		my $e = $w1{$old[$i]};
		is(worker_of($gw1, $e), $old[$i], "the old session is still "
		    . "on worker $old[$i]");
		is(send_cmd($e, info_domain('open.example'))->{code}, 1000,
		    'and works');
		held(send_cmd($e, ns_update('locked.example', 'add',
		    'ns2.dns.example')), 'an NS change on locked.example '
		    . 'through it is held');
		held(send_cmd($e, ns_update('frozen.example', 'add',
		    'ns2.dns.example')), 'and one on frozen.example');
	}

	# New sessions: on the new workers only, both of them.
	my $by = spread($gw1, 16);
	my @s = map { @$_ } values %$by;
	is_deeply([sort { $a <=> $b } keys %$by], [sort { $a <=> $b } @new],
	    'new sessions land on the two new workers');
	for my $pid (sort keys %$by) {
		my $e = $by->{$pid}[0];
		is(send_cmd($e, info_domain('open.example'))->{code}, 1000,
		    "worker $pid: a new session works");
		held(send_cmd($e, ns_update('frozen.example', 'add',
		    'ns2.dns.example')), "worker $pid: frozen.example "
		    . '(registry status) is still held');
		held(send_cmd($e, ns_update('locked.example', 'add',
		    'ns2.dns.example')), "worker $pid: locked.example (lock "
		    . 'list) is held');
		held(send_cmd($e, ns_update('pay.bank.example', 'add',
		    'ns2.dns.example')), "worker $pid: pay.bank.example (on "
		    . 'the new lock list) is held');
	}
	is(reg_domain('locked.example')->{ns},
	    'ns.dns.example ns1.locked.example',
	    'locked.example is unchanged at the simulator');
	like(reg_domain('frozen.example')->{ns}, qr/^ns\.dns\.example$/,
	    'and frozen.example');
	is(reg_domain('pay.bank.example')->{ns}, 'ns.dns.example',
	    'and pay.bank.example');

	# The old sessions end: their workers exit.
	epp_close($_) for $sA, $sB;
	ok(wait_until(5, sub { !grep { kill(0, $_) } @old }),
	    'once their sessions end, the old workers exit');
	retired_cleanly($gw1, @old);
	is_deeply([gateway_procs($gw1, 'worker')], [sort { $a <=> $b } @new],
	    'leaving the two new workers');
	is(scalar(gateway_procs($gw1, 'watch')), 1, 'and one watch process');
	epp_close($_) for @s;
}

epp_close($direct);
gateways_clean();
my $took = time - $T0;
diag(sprintf('92-workers.t took %.1f s', $took));
done_testing();
