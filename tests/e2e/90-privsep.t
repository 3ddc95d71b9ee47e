#!/usr/bin/perl
# 90-privsep.t: privilege separation (issue #11, eppgw(8) PRIVILEGE
# SEPARATION, include/proc.h, docs/privsep.md): the live gateway's
# processes, looked at from outside, as root.  The gateway runs two worker
# processes ([gateway] workers = 2) and a watch process whose registry
# login (clID watcher) has a random password nobody else uses.
#
#   processes           one audit writer, alerter, vault and watch process,
#                       exactly two workers, each named eppgw-KIND in
#                       /proc/PID/comm; the watch session logs in
#   secrets in memory   after a full flow (login, a held change, an approval
#                       through the admin API with a TOTP code, the resend,
#                       signed alerts, audit records) every process's memory
#                       is read through /proc/PID/maps and /proc/PID/mem and
#                       searched for the TOTP seeds (raw and base32), the
#                       audit signing key (its 32 raw bytes, its PEM text),
#                       the alert secret and the watch password: none at all
#                       in the workers or the parent; each in its holder
#                       (vault, audit writer, alerter, watch), which proves
#                       the search finds what it looks for, and in no other
#                       process (the watch process holds its password and
#                       nothing else)
#   sandbox             both workers and the watch process: Seccomp 2,
#                       NoNewPrivs 1, uid nobody (not 0), no capabilities,
#                       their root is the chroot (/var/empty), the log says
#                       each worker serves and the watch process started
#                       (both only after the sandbox self-check passed);
#                       vault, audit writer and alerter: NoNewPrivs 1; not
#                       dumpable, seen on a second gateway started as an
#                       unprivileged user (one worker per core, a watch
#                       session): the kernel shows /proc/PID/status of a
#                       non-dumpable process as root's, of a dumpable one as
#                       its owner's (the parent is the control); its watch
#                       process and workers have their seccomp filter
#   pending flood       one requester's flood of large, distinct protected
#                       changes stops at max_pending_per_principal with
#                       2304 pending_limit, the vault's state files stay
#                       small, and another principal's domain:check keeps
#                       answering (p99 latency < 500 ms)
#   crash containment   clients doing domain:check and domain:info in a loop
#                       until both workers serve some (which worker holds a
#                       connection: /proc/net/tcp and /proc/PID/fd), then
#                       kill -9 of one worker: its clients' sessions drop,
#                       the other worker's clients keep getting 1000 answers
#                       during and after the kill, a new worker appears (two
#                       again), the other processes stay, the audit log
#                       verifies (0 or 2), a lock added through the admin
#                       API before the crash holds in the new worker, an
#                       approval works through it;
#                       kill -9 of the vault: a new vault, the pending
#                       change is still there and can be approved, the
#                       registrar's session survives, the workers stay;
#                       kill -9 of the watch process: a new one (sandboxed,
#                       logged in again), the workers are not restarted, the
#                       registrar's session survives and its domain:info
#                       answers 1000, changes to a locked domain (lock list,
#                       and one the registry reports UpdateProhibited) are
#                       still held with 2304; the new processes hold what
#                       they should and nothing more
#   clean stop          SIGTERM stops everything; the audit log verifies
#                       sealed (exit 0)
#
#   prove -v -I tests/e2e/lib tests/e2e/90-privsep.t      (as root)
use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
use Fcntl qw(O_RDONLY SEEK_SET);
use File::Copy qw(copy);
use File::Spec;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(_exit ceil);
use Test::More;
use Time::HiRes qw(time sleep);

use EppgwTest qw(:all);

$SIG{PIPE} = 'IGNORE';

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $H = 'xmlns:host="urn:ietf:params:xml:ns:host-1.0"';
my $CHROOT = '/var/empty';	# [gateway] chroot, the default
my $CAP = 8;			# [approvals] max_pending_per_principal
my $T0 = time;

plan(skip_all => 'needs root: reads other processes\' memory, checks the '
    . 'chroot and the uid switch') unless $> == 0;
skip_without(built => [qw(eppgw eppgw-regsim eppgwctl eppgw-audit)],
    tools => ['oathtool']);
my ($NOBODY_UID, $NOBODY_GID) = (getpwnam('nobody'))[2, 3];
plan(skip_all => 'no user nobody') unless defined $NOBODY_UID;

# ---- small helpers ----

sub base32_decode {
	my ($s) = @_;
	my $alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	$s = uc $s;
	$s =~ s/=+$//;
	my $bits = join('', map {
		my $i = index($alpha, $_);
		die "not base32: $s" if $i < 0;
		sprintf('%05b', $i);
	} split //, $s);
	return pack('B*', substr($bits, 0, 8 * int(length($bits) / 8)));
}

sub status_field {
	my ($pid, $field) = @_;
	return slurp("/proc/$pid/status") =~ /^\Q$field\E:\t(.*)$/m ? $1 : undef;
}

# ---- the secrets, as the test knows them ----

my %SECRET;	# label => bytes to look for
my %HOLDER;	# label => the process kind that must hold it (undef: none
		# needs to, but no other kind may)
for my $name (sort keys %{demo_seeds()}) {
	my $b32 = demo_seeds()->{$name}{seed};
	$SECRET{"seed-$name-raw"} = base32_decode($b32);
	$SECRET{"seed-$name-base32"} = $b32;
	$HOLDER{"seed-$name-raw"} = $HOLDER{"seed-$name-base32"} = 'vault';
}
{
	# certs/dev/audit.key: PKCS#8 PEM; the DER of an Ed25519 key is 48
	# bytes, a fixed 16-byte prefix and the 32-byte private key.
	my $pem = slurp(File::Spec->catfile(certs_dir(), 'audit.key'));
	my ($b64) = $pem =~ /-----BEGIN PRIVATE KEY-----\s*(.*?)\s*-----END/s;
	my $der = decode_base64($b64 // '');
	is(length($der), 48, 'certs/dev/audit.key is a 48-byte Ed25519 PKCS#8 key');
	is(unpack('H*', substr($der, 0, 16)), '302e020100300506032b657004220420',
	    'with the Ed25519 PKCS#8 prefix');
	$SECRET{'audit-key-raw'} = substr($der, 16, 32);
	(my $line = $b64) =~ s/\s+//g;
	$SECRET{'audit-key-pem'} = $line;
	$HOLDER{'audit-key-raw'} = 'audit';
	$HOLDER{'audit-key-pem'} = 'audit';
}
my $ALERT_SECRET = 'privsep-alert-secret-' . join('', map {
    sprintf('%08x', int(rand(2**32))) } 1 .. 4);
$SECRET{'alert-secret'} = $ALERT_SECRET;
$HOLDER{'alert-secret'} = 'alerter';
# The watch session's password (the registry login of clID watcher): 16
# random letters and digits (what EPP's pwType allows), used nowhere else.
my $WATCH_PW = join('', map {
    ('A' .. 'Z', 'a' .. 'z', '0' .. '9')[int(rand(62))] } 1 .. 16);
$SECRET{'watch-password'} = $WATCH_PW;
$HOLDER{'watch-password'} = 'watch';

# What a holder must be shown to hold: at least one label of each group.
my %MUST = (
	vault => [map { ["seed-$_-raw", "seed-$_-base32"] }
	    sort keys %{demo_seeds()}],
	audit => [['audit-key-raw']],
	alerter => [['alert-secret']],
	watch => [['watch-password']],
);

# ---- reading a process's memory ----

# Search every readable mapping of $pid (but [vvar*], [vsyscall] and
# anonymous ones over 1 GiB) for every value of %SECRET.  Returns { found =>
# { label => count }, bytes => read, regions => n, failed => regions with a
# read error, skipped => regions left out, error => why the scan could not
# run }.
sub scan_memory {
	my ($pid) = @_;
	my %r = (found => {}, bytes => 0, regions => 0, failed => 0,
	    skipped => 0);
	my $maxlen = 0;
	for (values %SECRET) { $maxlen = length if length > $maxlen }
	open(my $maps, '<', "/proc/$pid/maps")
	    or return { %r, error => "maps: $!" };
	my @maps = <$maps>;
	close($maps);
	sysopen(my $mem, "/proc/$pid/mem", O_RDONLY)
	    or return { %r, error => "mem: $!" };
	binmode($mem);
	no warnings 'portable';
	for my $line (@maps) {
		my ($range, $perms, undef, undef, undef, $path) =
		    split(' ', $line, 6);
		$path //= '';
		$path =~ s/\s+$//;
		next unless $perms =~ /^r/;
		next if $path =~ /^\[(?:vvar|vsyscall)/;
		my ($lo, $hi) = map { hex } split /-/, $range;
		# A sanitizer's shadow memory (terabytes of reserved zeros in
		# an ASan build) is no place for a secret and would take hours.
		if ($path eq '' && $hi - $lo > 1 << 30) {
			$r{skipped}++;
			next;
		}
		$r{regions}++;
		my $tail = '';
		for (my $at = $lo; $at < $hi; ) {
			my $want = $hi - $at > 4 << 20 ? 4 << 20 : $hi - $at;
			my $buf;
			my $n = sysseek($mem, $at, SEEK_SET)
			    ? sysread($mem, $buf, $want) : undef;
			unless ($n) {	# EIO: a region that cannot be read
				$r{failed}++;
				last;
			}
			$r{bytes} += $n;
			my $hay = $tail . $buf;
			for my $label (keys %SECRET) {
				my $needle = $SECRET{$label};
				my $from = 0;
				# Only matches that end in the new bytes: the
				# tail was searched with the previous chunk.
				my $min_end = length($tail);
				while ((my $i = index($hay, $needle, $from)) >= 0) {
					$r{found}{$label}++
					    if $i + length($needle) > $min_end;
					$from = $i + 1;
				}
			}
			$tail = substr($hay, -($maxlen - 1 || 1));
			$at += $n;
		}
	}
	close($mem);
	return \%r;
}

# Every gateway process, kind => [pids]; the parent is 'parent'.
sub all_procs {
	my ($gw) = @_;
	my %p = (parent => [$gw->{pid}]);
	$p{$_} = [gateway_procs($gw, $_)]
	    for qw(audit alerter vault watch worker);
	return \%p;
}

# The memory checks on the processes of $gw (kinds => [pids]); $when names
# the moment in test names.
sub check_memory {
	my ($procs, $when) = @_;
	for my $kind (qw(parent worker watch vault audit alerter)) {
		for my $pid (@{$procs->{$kind} // []}) {
			my $t = time;
			my $s = scan_memory($pid);
			my $what = "$when: $kind $pid";
			ok(!$s->{error} && $s->{bytes} > 1 << 20,
			    sprintf('%s: memory read (%d regions, %.1f MiB, %d '
			    . 'unreadable, %.2f s%s)', $what, $s->{regions},
			    $s->{bytes} / 1048576, $s->{failed}, time - $t,
			    $s->{skipped} ? ", $s->{skipped} anonymous regions "
			    . 'over 1 GiB skipped' : ''))
			    or diag($s->{error} // 'less than 1 MiB read');
			my @bad = sort grep { ($HOLDER{$_} // '') ne $kind }
			    keys %{$s->{found}};
			ok(!@bad, "$what: holds no secret that is not its own"
			    . ($kind =~ /^(?:parent|worker)$/ ? ' (none at all)'
			    : '')) or diag("found in $kind $pid: "
			    . join(', ', map { "$_ x$s->{found}{$_}" } @bad));
			note("$what: found " . join(', ', map {
			    "$_ x$s->{found}{$_}" } sort keys %{$s->{found}}))
			    if %{$s->{found}};
			for my $group (@{$MUST{$kind} // []}) {
				my @hit = grep { $s->{found}{$_} } @$group;
				ok(@hit, "$what: holds its " . join(' or ', @$group)
				    . ' (the search finds what it looks for)');
			}
		}
	}
}

# ---- a webhook receiver (as 65-alerts.t) ----

my $got = run_dir() . '/alerts.jsonl';
my ($rport, $rpid) = webhook_receiver(secret => $ALERT_SECRET, file => $got,
    seconds => 180);

# The first alert of $event about change $id (a decoded body), with its
# signature's validity; () after 10 s.
sub wait_alert {
	my ($event, $id) = @_;
	my @r;
	wait_until(10, sub {
		open(my $fh, '<', $got) or return 0;
		for my $l (<$fh>) {
			my $a = eval { decode_json($l) } or next;
			my $b = eval { decode_json($a->{body}) } or next;
			next unless ($b->{event} // '') eq $event
			    && ($b->{change_id} // '') eq $id;
			@r = ($b, $a->{valid});
			return 1;
		}
		return 0;
	});
	return @r;
}

# ---- the gateway ----

# The simulator knows one more registrar: the gateway's watch login.
my $SEED = run_dir() . '/regsim-watch.seed';
{
	open(my $fh, '>', $SEED) or die "$SEED: $!";
	print $fh slurp(File::Spec->catfile(repo_root(), 'examples',
	    'regsim.seed')), "\n# the gateway's watch session (90-privsep.t)\n"
	    . "registrar watcher $WATCH_PW\n";
	close($fh) or die "$SEED: $!";
}
my $rs = start_regsim(seed => $SEED);
my $gw = start_gateway(regsim => $rs, gateway => { workers => 2 },
    watch => { clid => 'watcher', password => $WATCH_PW },
    policy => { locks => ['locked.example'] },
    approvals => { max_pending_per_principal => $CAP, max_pending => 100 },
    audit => 1, alerts => { url => "http://127.0.0.1:$rport/hook",
    secret_text => $ALERT_SECRET });
ok($gw->{pid}, "gateway $gw->{pid} on port $gw->{port}: 2 workers, a watch "
    . "session as watcher, approvals (demo seeds, $CAP pending per "
    . 'requester), audit, alerts');
my $direct = epp_client(port => $rs->{port})
    or BAIL_OUT("simulator: $Net::EPP::Simple::Error");
for my $h (map { "ps$_.dns.example" } 1 .. 3) {
	is(result_code(registry_cmd($direct, "<create><host:create $H>"
	    . "<host:name>$h</host:name></host:create></create>")), 1000,
	    "$h created directly at the registry");
}

# The registry's journal: successful logins of the watch session.
sub watch_logins {
	return scalar(() = journal_find($rs, cmd => 'login', clID => 'watcher',
	    code => 1000));
}
ok(wait_until(15, sub { watch_logins() >= 1 }), 'the watch session logged in '
    . 'to the registry as watcher (its password is in use)');

# Every child process of $pid: pid => comm.
sub children_of {
	my ($pid) = @_;
	my %c;
	opendir(my $d, '/proc') or return {};
	for my $p (grep { /^\d+$/ } readdir($d)) {
		my $st = slurp("/proc/$p/status");
		next unless $st =~ /^PPid:\s+(\d+)$/m && $1 == $pid;
		($c{$p} = slurp("/proc/$p/comm")) =~ s/\n$//;
	}
	closedir($d);
	return \%c;
}

my %start = %{all_procs($gw)};
for my $kind (qw(audit alerter vault watch)) {
	is(scalar(@{$start{$kind}}), 1, "one $kind process: "
	    . join(' ', @{$start{$kind}}));
}
is(scalar(@{$start{worker}}), 2, 'two worker processes ([gateway] workers '
    . '= 2): ' . join(' ', @{$start{worker}}));
{
	my $ok = 1;
	for my $kind (qw(audit alerter vault watch worker)) {
		for my $pid (@{$start{$kind}}) {
			$ok &&= slurp("/proc/$pid/comm") eq "eppgw-$kind\n";
		}
	}
	ok($ok, 'each child is named eppgw-KIND in /proc/PID/comm');
	my $c = children_of($gw->{pid});
	is(join(' ', sort values %$c), 'eppgw-alerter eppgw-audit eppgw-vault '
	    . 'eppgw-watch eppgw-worker eppgw-worker', 'and the parent has no '
	    . 'other child');
}

# ---- EPP helpers ----

sub check_cmd {
	my ($trid) = @_;
	return epp_command("<check><domain:check $D><domain:name>open.example"
	    . '</domain:name><domain:name>free-name.example</domain:name>'
	    . '</domain:check></check>', $trid);
}

sub send_cmd {
	my ($sess, $inner) = @_;
	return epp_send($sess, $inner, prefix => 'PS-', regsim => $rs);
}

sub held {
	my ($sess, $inner, $label) = @_;
	my $r = send_cmd($sess, $inner);
	ok($r->{code} eq '2304' && $r->{reason} eq 'approval_required'
	    && $r->{id} && !$r->{journal}, "$label: 2304 approval_required "
	    . "$r->{id}, not forwarded") or diag("code $r->{code} reason "
	    . "$r->{reason}, journal $r->{journal}");
	return $r;
}

sub passed {
	my ($sess, $inner, $label) = @_;
	my $r = send_cmd($sess, $inner);
	ok($r->{code} eq '1000' && $r->{journal}, "$label: 1000, executed by "
	    . 'the registry') or diag("code $r->{code} reason $r->{reason} "
	    . "$r->{id}, journal $r->{journal}");
	return $r;
}

sub registry_has_ns {
	my ($host) = @_;
	return registry_domain($direct, 'locked.example') =~ /^ns=\Q$host\E$/m;
}

# ---- TOTP codes (as 50-approval.t) ----

my %last;	# operator => the last step the gateway accepted
sub fresh_code {
	my ($who, $min_life) = @_;
	return fresh_totp($who, $last{$who}, $min_life // 5);
}

sub approve_ok {
	my ($who, $id, $label) = @_;
	my ($s, $code) = fresh_code($who);
	my ($rc, $out, $err) = ctl($gw, $who, 'approve', $id, '--otp', $code);
	$last{$who} = $s if $rc == 0;
	ok($rc == 0 && $out =~ /^approved \Q$id\E/m, "$label: $who approves "
	    . "$id through the admin API") or diag("exit $rc: $out$err");
	return $rc == 0;
}

# ---- 1. a full flow, then every process's memory ----

my $reg = epp_client(port => $gw->{port})
    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
ok($reg, 'registrar logged in through the gateway');
is(result_code(epp_raw($reg, info_cmd('PS-INFO-1'))), 1000,
    'a domain:info passes');
{
	my $A = held($reg, ns_update('locked.example', 'add', 'ps1.dns.example'),
	    'flow: add ps1.dns.example to locked.example');
	my ($b, $valid) = wait_alert('approval_required', $A->{id});
	ok($b && $valid, 'the alerter sent a signed approval_required alert');
	approve_ok('bob', $A->{id}, 'flow');
	passed($reg, ns_update('locked.example', 'add', 'ps1.dns.example'),
	    'flow: the resend');
	ok(registry_has_ns('ps1.dns.example'),
	    'the registry has ps1.dns.example on locked.example');
	($b, $valid) = wait_alert('ticket_consumed', $A->{id});
	ok($b && $valid, 'the alerter sent a signed ticket_consumed alert');
	my @segs = glob("$gw->{audit_dir}/seg-*.jsonl");
	my $log = join('', map { slurp($_) } @segs);
	ok($log =~ /"t":"cmd"/ && $log =~ /\Q$A->{id}\E/,
	    'the audit writer logged the commands');
}
check_memory(\%start, 'after the flow');

# ---- 2. the sandbox ----

# The sandbox of a worker or of the watch process (proc_sandbox): the
# same filter, uid, chroot and self check for both.
sub check_sandbox {
	my ($kind, $pid, $when) = @_;
	my $st = slurp("/proc/$pid/status");
	my $w = "$when: $kind $pid";
	like($st, qr/^Seccomp:\t2$/m, "$w: Seccomp 2 (filter)");
	like($st, qr/^NoNewPrivs:\t1$/m, "$w: NoNewPrivs 1");
	my ($uids) = $st =~ /^Uid:\t(.*)$/m;
	my ($gids) = $st =~ /^Gid:\t(.*)$/m;
	my @u = split ' ', $uids // '';
	my @g = split ' ', $gids // '';
	ok(@u == 4 && !grep({ $_ == 0 } @u), "$w: no uid is 0 ($uids)");
	ok(@u == 4 && !grep({ $_ != $NOBODY_UID } @u)
	    && @g == 4 && !grep({ $_ != $NOBODY_GID } @g),
	    "$w: runs as nobody ($NOBODY_UID/$NOBODY_GID) in every id");
	like($st, qr/^Groups:\t(?:\Q$NOBODY_GID\E[ ]*)?$/m,
	    "$w: no supplementary group but its own");
	like($st, qr/^CapPrm:\t0+$/m, "$w: no permitted capability");
	like($st, qr/^CapEff:\t0+$/m, "$w: no effective capability");
	is(readlink("/proc/$pid/root"), $CHROOT, "$w: its root is $CHROOT");
	if ($kind eq 'worker') {
		gateway_log_like($gw, qr/worker $pid: serving/,
		    "$w: serving (after its sandbox self-check)");
	} else {
		# The watch process logs nothing when ready: the parent logs
		# its start once it is ready, after its sandbox self-check.
		gateway_log_like($gw, qr/watch process $pid started/,
		    "$w: started (ready only after its sandbox self-check)");
	}
	unlike(gateway_log($gw), qr/(?:worker|watch): sandbox:/,
	    "$w: no sandbox error");
}
check_sandbox('worker', $_, 'start') for @{$start{worker}};
check_sandbox('watch', $start{watch}[0], 'start');
for my $kind (qw(vault audit alerter)) {
	my $pid = $start{$kind}[0];
	is(status_field($pid, 'NoNewPrivs'), 1, "$kind $pid: NoNewPrivs 1");
}
is(status_field($gw->{pid}, 'PPid'), $$, 'the parent is this test\'s child');

# ---- 5. a flood of distinct protected changes ----

my $state_journal = "$gw->{state}.journal";
{
	my $alice = epp_client(port => $gw->{port}, cert => 'alice')
	    or BAIL_OUT("alice: $Net::EPP::Simple::Error");
	# Another principal's reads, from a child, until told to stop.
	my $lat = run_dir() . '/latencies.txt';
	my $stop = run_dir() . '/latencies.stop';
	pipe(my $lr, my $lw) or die "pipe: $!";
	my $cpid = fork() // die "fork: $!";
	if ($cpid == 0) {
		close($lr);
		my $e = eval { epp_client(port => $gw->{port}, cert => 'carol') };
		open(my $fh, '>', $lat) or _exit(1);
		syswrite($lw, $e ? "up\n" : "nologin\n");
		my $deadline = time + 60;
		my $n = 0;
		while ($e && !-e $stop && time < $deadline) {
			my $t = time;
			my $doc = eval { epp_raw($e, check_cmd('LAT-' . ++$n)) };
			printf $fh "%.6f %.6f %s\n", $t, time - $t,
			    result_code($doc) // 'none';
		}
		close($fh);
		_exit(0);
	}
	close($lw);
	my $ready = '';
	IO::Select->new($lr)->can_read(15) and sysread($lr, $ready, 64);
	is($ready, "up\n", 'carol\'s session for domain:check is up');
	sleep(0.3);	# a few checks before the flood

	my $before = (-s $gw->{state} // 0) + (-s $state_journal // 0);
	my $N = 250;
	my (%reason, @flood_trids);
	my $f0 = time;
	for my $n (1 .. $N) {
		# 100 name servers: about 5 KiB of canonical text each, so that
		# $N of them kept would be well over 1 MiB.
		my @hosts = map { sprintf('ns%03d-%04d.flood-%s.example', $_, $n,
		    'p' x 24) } 1 .. 100;
		my $trid = "FLOOD-$n";
		push @flood_trids, $trid;
		my $doc = eval { epp_raw($alice, epp_command(ns_update(
		    'locked.example', 'add', @hosts), $trid)) };
		my $code = result_code($doc) // 'none';
		my ($why) = (ref $doc ? xpc($doc)->findvalue(
		    '//epp:result/epp:extValue/epp:reason') : '') =~ /^(\S*)/;
		$reason{"$code " . ($why // '')}++;
		last if $code eq 'none';
	}
	my $f1 = time;
	open(my $sfh, '>', $stop) or die "$stop: $!";
	close($sfh);
	waitpid($cpid, 0);
	note(sprintf('flood of %d changes: %.2f s; replies: %s', $N, $f1 - $f0,
	    join(', ', map { "$_ x$reason{$_}" } sort keys %reason)));
	is($reason{'2304 approval_required'} // 0, $CAP, "the first $CAP "
	    . 'distinct changes are recorded: 2304 approval_required');
	is($reason{'2304 pending_limit'} // 0, $N - $CAP, 'the other '
	    . ($N - $CAP) . ' are answered 2304 pending_limit');
	my %executed = map { ($_->{clTRID} // '') => 1 } journal_lines($rs);
	ok(!grep({ $executed{$_} } @flood_trids),
	    'the registry executed none of the flood');
	my $after = (-s $gw->{state} // 0) + (-s $state_journal // 0);
	ok(-e $gw->{state} && -e $state_journal, 'the vault\'s state files: '
	    . "$gw->{state} and its .journal");
	ok($after < 1 << 20, sprintf('they stay bounded: %d bytes after the '
	    . 'flood (%d before), under 1 MiB', $after, $before));
	my ($rc, $out, $err) = ctl($gw, 'carol', 'pending');
	is(scalar(() = $out =~ /^[0-9a-f]{12}\s+pending\s+locked\.example\s+\S+\s+alice\b/mg),
	    $CAP, "eppgwctl pending lists $CAP of alice's changes")
	    or diag("exit $rc: $out$err");

	my (@during, $bad);
	for my $l (split /\n/, slurp($lat)) {
		my ($t, $d, $code) = split ' ', $l;
		$bad++ if $code ne '1000';
		push @during, $d if $t >= $f0 && $t + $d <= $f1;
	}
	ok(!$bad, 'every domain:check of carol answered 1000')
	    or diag("$bad did not");
	ok(@during >= 20, scalar(@during) . ' checks answered during the flood');
	my @s = sort { $a <=> $b } @during;
	my $p99 = @s ? $s[ceil(0.99 * @s) - 1] : 99;
	my $p50 = @s ? $s[ceil(0.5 * @s) - 1] : 99;
	ok($p99 < 0.5, sprintf('their latency: p50 %.1f ms, p99 %.1f ms '
	    . '(< 500 ms), max %.1f ms', $p50 * 1000, $p99 * 1000,
	    (@s ? $s[-1] : 99) * 1000));
	epp_close($alice);
}

# ---- 3. crash containment: one of the workers ----

# The worker (one of @workers) that holds the gateway's end of the TCP
# connection whose client end is local port $cport, or undef: the inode of
# that connection from /proc/net/tcp and tcp6 (local port the gateway's,
# remote port $cport), then the worker one of whose /proc/PID/fd/* links
# to socket:[INODE].
sub conn_worker {
	my ($cport, @workers) = @_;
	my %inode;
	for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
		for my $l (split /\n/, slurp($file)) {
			my @f = split ' ', $l;
			next unless @f > 9 && $f[1] =~ /:([0-9A-Fa-f]{4})$/;
			my $lport = hex($1);
			next unless $f[2] =~ /:([0-9A-Fa-f]{4})$/;
			my $rport = hex($1);
			$inode{$f[9]} = 1 if $lport == $gw->{port}
			    && $rport == $cport && $f[9] ne '0';
		}
	}
	return undef unless %inode;
	for my $pid (@workers) {
		opendir(my $d, "/proc/$pid/fd") or next;
		my @fds = grep { /^\d+$/ } readdir($d);
		closedir($d);
		for my $fd (@fds) {
			my $t = readlink("/proc/$pid/fd/$fd") // next;
			return $pid if $t =~ /^socket:\[(\d+)\]$/ && $inode{$1};
		}
	}
	return undef;
}

# The worker serving an EPP client (Net::EPP::Client keeps its socket in
# {connection}), or undef.
sub client_worker {
	my ($e, @workers) = @_;
	my $c = ($e && $e->{connection}) or return undef;
	return conn_worker($c->sockport, @workers);
}

# A new registrar session that worker $pid serves, or undef.  Each worker
# has its own listening socket (SO_REUSEPORT) and the kernel picks one by
# a hash of the connection: a new connection (a new source port) lands on
# $pid about half the time with two workers, so up to 24 are tried.
sub session_on {
	my ($pid) = @_;
	for (1 .. 24) {
		my $e = eval { epp_client(port => $gw->{port}) } or next;
		return $e if (client_worker($e, $pid) // 0) == $pid;
		epp_close($e);
	}
	return undef;
}

# Client $i, in a child process: domain:check and domain:info in a loop
# until its session drops, an answer is not 1000, the file $stop exists or
# $secs pass.  It reports on $w: "port I PORT" once logged in (its local
# port), "up I" after its first answer, and last "end I COUNT WHY FIRST
# LAST GAP GAPEND": its answers (all 1000), why it ended (dropped, code-N,
# stopped, deadline, nologin), the times of its first and last answers,
# the longest wait for an answer and when that wait ended.
sub hammer_client {
	my ($r, $w, $i, $stop, $secs) = @_;
	my $pid = fork() // die "fork: $!";
	return $pid if $pid;
	close($r);
	my $e = eval { epp_client(port => $gw->{port}) };
	unless ($e) {
		syswrite($w, "end $i 0 nologin 0 0 0 0\n");
		_exit(0);
	}
	syswrite($w, "port $i " . $e->{connection}->sockport . "\n");
	my ($ok, $why, $deadline) = (0, 'deadline', time + $secs);
	my ($first, $last, $gap, $gapend) = (0, time, 0, 0);
	while (time < $deadline) {
		if (-e $stop) { $why = 'stopped'; last }
		my $trid = "HM-$i-$ok";
		my $doc = eval { epp_raw($e, $ok % 2 ? check_cmd($trid)
		    : info_cmd($trid)) };
		my $code = result_code($doc);
		if (!defined $code) { $why = 'dropped'; last }
		if ($code != 1000) { $why = "code-$code"; last }
		my $t = time;
		($gap, $gapend) = ($t - $last, $t) if $t - $last > $gap;
		$first ||= $t;
		$last = $t;
		syswrite($w, "up $i\n") if ++$ok == 1;
	}
	syswrite($w, sprintf("end %d %d %s %.3f %.3f %.3f %.3f\n", $i, $ok,
	    $why, $first, $last, $gap, $gapend));
	_exit(0);
}

# Read lines from $fh until $done->(\@lines) or $secs pass.  What follows
# the last full line is kept for the next call.
my %partial;
sub read_lines {
	my ($fh, $lines, $secs, $done) = @_;
	my $sel = IO::Select->new($fh);
	my $deadline = time + $secs;
	my $buf = \$partial{fileno($fh)};
	$$buf //= '';
	while (!$done->($lines) && (my $left = $deadline - time) > 0) {
		next unless $sel->can_read($left);
		my $n = sysread($fh, $$buf, 4096, length $$buf);
		last unless $n;
		while ($$buf =~ s/^([^\n]*)\n//) { push @$lines, $1 }
	}
	return $done->($lines);
}

# The clients' "end" lines: I => [COUNT, WHY, FIRST, LAST, GAP, GAPEND].
sub ends_of {
	my ($lines) = @_;
	return { map { /^end (\d+) (.*)$/ ? ($1 => [split ' ', $2]) : () }
	    @$lines };
}

my %now;
{
	my @W0 = @{$start{worker}};
	my $stop = run_dir() . '/hammer.stop';
	pipe(my $hr, my $hw) or die "pipe: $!";
	my (@cpids, %at, @lines);
	# Clients, one at a time, until both workers serve some (4 at
	# least).  The kernel spreads connections over the workers' sockets
	# by a hash of each connection: 16 all on one worker would take a
	# chance of 1 in 32768.
	my ($n, $paused) = (0, undef);
	while ($n < 16) {
		my $i = ++$n;
		push @cpids, hammer_client($hr, $hw, $i, $stop, 90);
		read_lines($hr, \@lines, 15,
		    sub { grep { /^(?:up|end) $i\b/ } @{$_[0]} });
		my ($p) = map { /^port $i (\d+)$/ ? $1 : () } @lines;
		$at{$i} = (defined $p && grep { $_ eq "up $i" } @lines)
		    ? conn_worker($p, @W0) // 'none' : 'none';
		my %by = map { $_ => 1 } grep { $_ ne 'none' } values %at;
		last if $n >= 4 && keys %by == 2;
		sleep(0.1);
	}
	close($hw);
	my %on;		# worker => [its clients]
	push @{$on{$at{$_}}}, $_ for sort { $a <=> $b } keys %at;
	my $desc = join('; ', map { "worker $_: clients @{$on{$_}}" }
	    sort keys %on);
	ok(@W0 == 2 && $on{$W0[0]} && $on{$W0[1]}, "$n clients doing "
	    . "domain:check and domain:info in a loop, on both workers ($desc"
	    . ($paused ? "; worker $paused paused for the last" : '') . ')');
	ok(!$on{none}, 'each client answered, its connection found in a '
	    . 'worker') or diag(join("\n", @lines));
	sleep(0.5);	# a few more answers each
	# A lock added through the admin API after start: a worker started
	# later must have it too (the parent keeps lock edits), or a crash
	# would quietly unlock the name.
	my ($lrc, $lout, $lerr) = ctl($gw, 'bob', 'lock', 'open.example');
	ok($lrc == 0, 'bob locks open.example before the crash')
	    or diag("exit $lrc: $lout$lerr");
	my ($W, $S) = @W0;
	($W, $S) = ($S, $W) if $paused && $paused == $S;
	my @victims = @{$on{$W} // []};
	my @survivors = @{$on{$S} // []};
	my $tk = time;
	ok(kill('KILL', $W), "kill -9 the worker $W (clients @victims; the "
	    . "worker $S serves clients @survivors)");
	my $gone = read_lines($hr, \@lines, 10, sub { my $e = ends_of($_[0]);
	    !grep { !$e->{$_} } @victims });
	my $end = ends_of(\@lines);
	ok($gone && @victims
	    && !grep({ ($end->{$_}[1] // '') ne 'dropped' } @victims),
	    sprintf('the sessions of the clients on worker %d dropped (within '
	    . '%.1f s)', $W, time - $tk))
	    or diag(join("\n", grep { /^end / } @lines));
	ok(@victims && !grep({ ($end->{$_}[0] // 0) <= 1 } @victims), 'each '
	    . 'had had answers before (' . join(', ', map { "client $_: "
	    . ($end->{$_}[0] // '?') } @victims) . ')');
	my @ended = grep { $end->{$_} } @survivors;
	ok(@survivors && !@ended, "the sessions on worker $S go on")
	    or diag(join("\n", grep { /^end / } @lines));

	my (@new, @w);
	wait_until(10, sub { @w = gateway_procs($gw, 'worker');
	    @new = grep { $_ != $W && $_ != $S } @w; @new && @w == 2 });
	my $tnew = time;
	ok(@new == 1 && "@w" eq join(' ', sort { $a <=> $b } $S, @new),
	    sprintf('a new worker (%s) within %.1f s: two workers again (%s)',
	    "@new", $tnew - $tk, "@w"));
	# The other worker's clients go on a while after, then stop.
	sleep(1);
	open(my $sfh, '>', $stop) or die "$stop: $!";
	close($sfh);
	read_lines($hr, \@lines, 15, sub { my $e = ends_of($_[0]);
	    !grep { !$e->{$_} } keys %at });
	waitpid($_, 0) for @cpids;
	close($hr);
	$end = ends_of(\@lines);
	for my $i (@survivors) {
		my ($count, $why, $first, $last, $gap, $gapend) =
		    @{$end->{$i} // []};
		ok(($why // '') eq 'stopped' && $first < $tk && $last > $tnew
		    && $gap < 2, sprintf('client %d on worker %d: %d answers, '
		    . 'all 1000, from %.1f s before the kill to %.1f s after '
		    . 'the new worker appeared (longest wait %.2f s < 2 s, '
		    . 'over %+.2f s from the kill)', $i, $S, $count // 0,
		    $tk - ($first || 0), ($last || 0) - $tnew, $gap // 99,
		    ($gapend || 0) - $tk)) or diag('end ' . join(' ', $i,
		    @{$end->{$i} // []}));
	}

	%now = %{all_procs($gw)};
	ok(kill(0, $gw->{pid}), 'the parent lives on');
	for my $kind (qw(audit alerter vault watch)) {
		is("@{$now{$kind}}", "@{$start{$kind}}",
		    "the $kind process is still $start{$kind}[0]");
	}
	gateway_log_like($gw, qr/worker process $W killed by signal 9/,
	    'the parent logged the death');
	my $e = @new ? session_on($new[0]) : undef;
	ok($e, 'a new session on the new worker ' . ($new[0] // 'none'));
	is($e ? result_code(epp_raw($e, info_cmd('PS-AFTER-1'))) : 'none', 1000,
	    'and its domain:info answers 1000');
	check_sandbox('worker', $new[0], 'restarted') if @new;

	my ($vrc, $vout) = audit_verify($gw->{audit_dir});
	ok($vrc == 0 || $vrc == 2, "eppgw-audit verify of the running "
	    . "gateway's log: exit $vrc (0, or 2: unsealed tail)")
	    or diag($vout);

	# The approval flow, through the new worker.
	epp_close($reg);
	$reg = $e // epp_client(port => $gw->{port})
	    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	held($reg, ns_update('open.example', 'add', 'ps9.dns.example'),
	    'after the worker restart: open.example (locked through the admin '
	    . 'API before the crash) is still locked in the new worker');
	my $B = held($reg, ns_update('locked.example', 'add', 'ps2.dns.example'),
	    'after the worker restart: add ps2.dns.example');
	approve_ok('carol', $B->{id}, 'after the worker restart');
	passed($reg, ns_update('locked.example', 'add', 'ps2.dns.example'),
	    'after the worker restart: the resend');
	ok(registry_has_ns('ps2.dns.example'),
	    'the registry has ps2.dns.example on locked.example');
	# A domain the registry reports UpdateProhibited (frozen.example, not
	# on the lock list): its state comes from the watch session.
	is(result_code(epp_raw($reg, info_cmd('PS-FROZEN-1', 'frozen.example'))),
	    1000, 'a domain:info of frozen.example (serverUpdateProhibited at '
	    . 'the registry)');
	held($reg, ns_update('frozen.example', 'add', 'ps9.dns.example'),
	    'frozen.example, UpdateProhibited at the registry');
}

# ---- 3. crash containment: the vault ----
{
	my $C = held($reg, ns_update('locked.example', 'add', 'ps3.dns.example'),
	    'before the vault dies: add ps3.dns.example');
	my $V = $now{vault}[0];
	my $tk = time;
	ok(kill('KILL', $V), "kill -9 the vault $V");
	my @new;
	wait_until(10, sub { @new = grep { $_ != $V } gateway_procs($gw,
	    'vault'); @new });
	ok(@new == 1, sprintf('a new vault (%s) within %.1f s', "@new",
	    time - $tk));
	gateway_log_like($gw, qr/vault process $V killed by signal 9/,
	    'the parent logged the death');
	my ($rc, $out, $err);
	wait_until(10, sub { ($rc, $out, $err) = ctl($gw, 'bob', 'pending');
	    $rc == 0 });
	ok($rc == 0 && $out =~ /^\Q$C->{id}\E\s+pending\s+locked\.example\s/m,
	    "eppgwctl pending still lists $C->{id}") or diag("exit $rc: $out$err");
	is("@{[gateway_procs($gw, 'worker')]}", "@{$now{worker}}",
	    'the workers were not restarted');
	is(result_code(epp_raw($reg, info_cmd('PS-AFTER-2'))), 1000,
	    'the registrar\'s session survived: domain:info answers 1000');
	approve_ok('bob', $C->{id}, 'after the vault restart');
	# The worker gets its channel to the new vault from the parent, which
	# may come a moment after the vault answers the admin API: a refusal
	# meanwhile is tried again (a refused resend consumes no ticket).
	my ($r, @seen);
	wait_until(10, sub {
		$r = send_cmd($reg, ns_update('locked.example', 'add',
		    'ps3.dns.example'));
		push @seen, "$r->{code} $r->{reason} $r->{id}";
		return 1 if $r->{code} eq '1000';
		sleep(0.2);
		return 0;
	});
	ok($r->{code} eq '1000' && $r->{journal}, 'after the vault restart: the '
	    . 'resend goes through') or diag('replies: ' . join('; ', @seen));
	note('replies before it: ' . join('; ', @seen[0 .. $#seen - 1]))
	    if @seen > 1;
	ok(registry_has_ns('ps3.dns.example'),
	    'the registry has ps3.dns.example on locked.example');
	%now = %{all_procs($gw)};
	is("@{$now{vault}}", "@new", 'one vault');
}

# ---- a vault that hangs: only the commands that wait on it wait ----
{
	my ($V) = @{$now{vault}};
	ok(kill('STOP', $V), "SIGSTOP the vault $V");
	my $t = time;
	my $r = send_cmd($reg, ns_update('locked.example', 'add',
	    'ps4.dns.example'));
	my $took = time - $t;
	ok($r->{code} eq '2400' && !$r->{journal}, sprintf('a protected '
	    . 'change while the vault hangs: 2400 after %.1f s, not forwarded',
	    $took)) or diag("code $r->{code} reason $r->{reason}");
	cmp_ok($took, '<', 9, 'within the vault timeout (5 s), not for ever');
	my $e = epp_client(port => $gw->{port});
	is($e ? result_code(epp_raw($e, info_cmd('PS-HUNG'))) : 'none', 1000,
	    'meanwhile another session is served');
	epp_close($e) if $e;
	ok(kill('CONT', $V), 'SIGCONT the vault');
	held($reg, ns_update('locked.example', 'add', 'ps4.dns.example'),
	    'the vault back: the change is held for approval again');
}

# ---- 3. crash containment: the watch process ----
{
	my ($WA) = @{$now{watch}};
	my @workers = @{$now{worker}};
	my $logins = watch_logins();
	my $tk = time;
	ok(kill('KILL', $WA), "kill -9 the watch process $WA");
	my @new;
	wait_until(10, sub { @new = grep { $_ != $WA } gateway_procs($gw,
	    'watch'); @new });
	ok(@new == 1, sprintf('a new watch process (%s) within %.1f s', "@new",
	    time - $tk));
	gateway_log_like($gw, qr/watch process $WA killed by signal 9/,
	    'the parent logged the death');
	is("@{[gateway_procs($gw, 'worker')]}", "@workers",
	    'the workers were not restarted');
	is(result_code(epp_raw($reg, info_cmd('PS-AFTER-3'))), 1000,
	    'the registrar\'s session survived: domain:info answers 1000');
	held($reg, ns_update('locked.example', 'add', 'ps5.dns.example'),
	    'after the watch restart: a change on locked.example');
	held($reg, ns_update('frozen.example', 'add', 'ps5.dns.example'),
	    'after the watch restart: a change on frozen.example '
	    . '(UpdateProhibited at the registry)');
	check_sandbox('watch', $new[0], 'restarted') if @new;
	ok(wait_until(15, sub { watch_logins() > $logins }), 'the new watch '
	    . 'process logged in to the registry as watcher');
	# The vault's registry-state questions go to the new watch process.
	my ($rc, $out, $err);
	wait_until(15, sub { ($rc, $out, $err) = ctl($gw, 'bob', 'state',
	    'locked.example'); $rc == 0 && $out =~ /^session\s+up$/m });
	ok($rc == 0 && $out =~ /^session\s+up$/m
	    && $out =~ /ns1\.locked\.example/, 'eppgwctl state locked.example '
	    . 'answers from the new watch process: its session up, the name '
	    . 'servers') or diag("exit $rc: $out$err");
	# It was forked with the lock-list edits made since the start.
	($rc, $out, $err) = ctl($gw, 'bob', 'state', 'open.example');
	ok($rc == 0 && $out =~ /^locked\s+yes/m, 'eppgwctl state open.example: '
	    . 'locked (through the admin API, before the crashes)')
	    or diag("exit $rc: $out$err");
	%now = %{all_procs($gw)};
	is("@{$now{watch}}", "@new", 'one watch process');
	for my $kind (qw(audit alerter vault)) {
		is(scalar(@{$now{$kind}}), 1, "one $kind process");
	}
}

# The restarted processes hold what they should, and nothing more.
check_memory(\%now, 'after the restarts');

epp_close($reg);
epp_close($direct);
gateways_clean();
{
	my ($vrc, $vout) = audit_verify($gw->{audit_dir});
	is($vrc, 0, 'after the clean stop, eppgw-audit verify exits 0 '
	    . '(valid and sealed)') or diag($vout);
}

# ---- 2. not dumpable: a gateway started as nobody ----
#
# A process that drops root is made non-dumpable by the kernel whatever it
# asks for, so only a gateway started unprivileged tells whether the
# secret holders ask (PR_SET_DUMPABLE 0) themselves.  The kernel shows the
# /proc/PID files of a non-dumpable process as root's, of a dumpable one as
# its owner's; the parent, which asks nothing, is the control.
SKIP: {
	my ($setpriv) = grep { -x } map { "$_/setpriv" } split /:/, $ENV{PATH};
	skip('setpriv missing (util-linux)', 1) unless $setpriv;
	my $dir = run_dir();
	chmod(0711, $dir) or die "chmod $dir: $!";
	my $ud = "$dir/unpriv";
	mkdir($ud, 0700) or die "$ud: $!";
	chown($NOBODY_UID, $NOBODY_GID, $ud) or die "chown $ud: $!";
	my $own = sub {
		my ($path, $text, $from) = @_;
		if (defined $from) {
			copy($from, $path) or die "copy $from: $!";
		} else {
			open(my $fh, '>', $path) or die "$path: $!";
			print $fh $text;
			close($fh);
		}
		chmod(0600, $path) or die "chmod $path: $!";
		chown($NOBODY_UID, $NOBODY_GID, $path) or die "chown $path: $!";
		return $path;
	};
	my $certs = certs_dir();
	$own->("$ud/$_.key", undef, "$certs/$_.key") for qw(gateway upstream audit);
	$own->("$ud/demo.seeds", undef, File::Spec->catfile(repo_root(),
	    'examples', 'demo.seeds'));
	$own->("$ud/alert.secret", $ALERT_SECRET);
	$own->("$ud/watch.pw", "$WATCH_PW\n");
	my $logins = watch_logins();
	my $wrap = "$dir/wrap";
	mkdir($wrap, 0755) or die "$wrap: $!";
	open(my $wf, '>', "$wrap/eppgw") or die "$wrap/eppgw: $!";
	print $wf "#!/bin/sh\nexec '$setpriv' --reuid=$NOBODY_UID "
	    . "--regid=$NOBODY_GID --clear-groups -- '"
	    . File::Spec->catfile(build_dir(), 'eppgw') . "' \"\$@\"\n";
	close($wf);
	chmod(0755, "$wrap/eppgw") or die "chmod: $!";
	my $ugw = eval {
		local $ENV{EPPGW_BUILD} = $wrap;
		start_gateway(regsim => $rs,
		    gateway => { key => "$ud/gateway.key", run_as_root => undef },
		    upstream => { key => "$ud/upstream.key" },
		    admin => { key => "$ud/gateway.key" },
		    policy => { locks => ['locked.example'] },
		    approvals => { seeds => "$ud/demo.seeds",
		    state => "$ud/approvals.json" },
		    audit => { dir => "$ud/audit", signing_key => "$ud/audit.key" },
		    alerts => { url => "http://127.0.0.1:$rport/unpriv",
		    secret => "$ud/alert.secret" },
		    watch => { clid => 'watcher', password_file => "$ud/watch.pw",
		    state => "$ud/regstate.json" });
	};
	ok($ugw, 'a second gateway started as nobody') or diag($@);
	skip('no unprivileged gateway', 1) unless $ugw;
	my $p = all_procs($ugw);
	my $owner = sub { (stat("/proc/$_[0]/status"))[4] };
	is((split ' ', status_field($ugw->{pid}, 'Uid'))[1], $NOBODY_UID,
	    "its parent $ugw->{pid} runs as nobody");
	is($owner->($ugw->{pid}), $NOBODY_UID, 'the parent is dumpable (the '
	    . 'control): its /proc/PID/status is nobody\'s');
	for my $kind (qw(vault audit alerter watch)) {
		my ($pid) = @{$p->{$kind}};
		ok($pid && @{$p->{$kind}} == 1, "its $kind process: "
		    . (join(' ', @{$p->{$kind}}) || 'none')) or next;
		is((split ' ', status_field($pid, 'Uid') // '')[1], $NOBODY_UID,
		    "$kind $pid runs as nobody");
		is($owner->($pid), 0, "$kind $pid is not dumpable: its "
		    . '/proc/PID/status is shown as root\'s');
		is(status_field($pid, 'NoNewPrivs'), 1, "$kind $pid: NoNewPrivs 1");
	}
	is(status_field($p->{watch}[0] // 0, 'Seccomp'), 2, 'its watch process '
	    . 'has its seccomp filter without root too');
	ok(wait_until(15, sub { watch_logins() > $logins }), 'its watch '
	    . 'session logged in as watcher (the watch process read its '
	    . 'password file)');
	# [gateway] workers unset: one per core (at most 16).
	my ($cores) = (qx{getconf _NPROCESSORS_ONLN 2>/dev/null} // '')
	    =~ /^(\d+)/;
	$cores = 1 unless $cores;
	$cores = 16 if $cores > 16;
	is(scalar(@{$p->{worker}}), $cores, "one worker per core: $cores ("
	    . join(' ', @{$p->{worker}}) . ')');
	for my $wpid (@{$p->{worker}}) {
		is(status_field($wpid, 'Seccomp'), 2, "its worker $wpid has its "
		    . 'seccomp filter without root too');
		is(status_field($wpid, 'NoNewPrivs'), 1, "worker $wpid: NoNewPrivs 1");
	}
	is(stop_gateway($ugw), 0, 'the nobody gateway stops cleanly');
}

kill('TERM', $rpid);
waitpid($rpid, 0);
note(sprintf('90-privsep.t took %.1f s', time - $T0));
done_testing();
