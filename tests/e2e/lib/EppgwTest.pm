package EppgwTest;

# EppgwTest: helpers shared by the end-to-end tests (tests/e2e/*.t).
#
#   use lib 'tests/e2e/lib';        # or: prove -I tests/e2e/lib
#   use EppgwTest qw(:all);
#
#   my $rs  = start_regsim();                     # simulator on a free port
#   my $epp = epp_client(port => $rs->{port});    # logged in as registrar1
#   my $doc = epp_raw($epp, epp_command('<info>...</info>', 'ABC-1'));
#   is(result_code($doc), 1000);
#   my @j = journal_lines($rs);                   # what the registry did
#
#   my $gw  = start_gateway(regsim => $rs,        # eppgw on a free port
#       gateway => { max_frame => 65536 });
#   my $via = epp_client(port => $gw->{port});    # through the gateway
#   gateway_log_like($gw, qr/logged in as registrar1/, 'login logged');
#   my $pgw = start_gateway(regsim => $rs,       # with a [policy] section
#       policy => { locks => ['locked.example', '*.bank.example'],
#       protect => 'ns ds' });
#   my $agw = start_gateway(regsim => $rs,        # with [admin], [approvals]
#       policy => { locks => ['locked.example'] },    # and [audit]
#       approvals => { rate_attempts => 10 }, audit => 1);
#   my ($rc, $out, $err) = ctl($agw, 'bob', 'approve', $id,
#       '--otp', totp('bob'));                    # the real eppgwctl
#   my $r = epp_send($via, ns_update('locked.example', 'add',
#       'ns2.dns.example'), regsim => $rs);       # { code, reason, id, ... }
#   my $id = held_ok($r, 'held:');                # 2304 approval_required
#   ($rc, $out, $err) = eppgw_audit('show', '--type', 'cmd',
#       $agw->{audit_dir});                       # the real eppgw-audit
#   gateways_clean();                             # stop all; no ASan/UBSan
#
# A test file that needs more than the simulator and the gateway says so
# first: skip_without(built => [...], tools => [...]).
#
# Everything a test starts is stopped (SIGTERM) when the test exits; the
# per-test run directory is removed unless EPPGW_KEEP=1 is set.
#
# Environment: EPPGW_BUILD (build directory, default "build"; relative paths
# are taken from the repository root), EPPGW_KEEP (keep run directories),
# EPPGW_DEBUG (start daemons with -d; their stderr goes to DIR/*.log).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::SSL;
use Net::EPP::Simple;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Time::HiRes qw(sleep time);
use XML::LibXML;
use XML::LibXML::XPathContext;

our @EXPORT_OK = qw(
	repo_root build_dir certs_dir run_dir skip_without free_port wait_port
	wait_until start_regsim stop_regsim
	start_gateway stop_gateway gateway_log gateway_log_like
	gateway_log_count gateways_clean
	sanitizer_report proc_rss_kb gateway_procs webhook_receiver slurp spew
	scrape_metrics metric
	tls_connect read_frame write_frame wait_closed
	epp_client direct_session registrar_sessions epp_close epp_raw epp_read
	epp_command epp_send send_bytes
	result_code xpc info_domain info_cmd ns_update status_update
	journal_lines journal_find
	registry_cmd registry_code registry_domain registry_host
	registry_contact registry_domain_facts registry_host_addrs
	registry_contact_email registry_snapshot watch_state
	ctl totp totp_step fresh_totp demo_seeds held_ok ctl_approve_ok
	eppgw_audit audit_verify audit_segments audit_records
	audit_tampered_copy audit_commands audited_gateway
	%NS
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# Namespace prefixes for xpc(); match by URI, whatever prefix a reply uses.
our %NS = (
	epp     => 'urn:ietf:params:xml:ns:epp-1.0',
	domain  => 'urn:ietf:params:xml:ns:domain-1.0',
	host    => 'urn:ietf:params:xml:ns:host-1.0',
	contact => 'urn:ietf:params:xml:ns:contact-1.0',
	secDNS  => 'urn:ietf:params:xml:ns:secDNS-1.1',
	rgp     => 'urn:ietf:params:xml:ns:rgp-1.0',
);

my @children;	# [pid, name, owner] of everything started, stopped at END
my @clients;	# weak refs to EPP clients, closed at END
my @gateways;	# start_gateway() handles of this process, for END
my $run_dir;

# ---- paths ----

# The repository root: two levels above this file's directory.
sub repo_root {
	return abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..', '..'));
}

sub build_dir {
	my $b = $ENV{EPPGW_BUILD} // 'build';
	return File::Spec->file_name_is_absolute($b) ? $b
	    : File::Spec->catdir(repo_root(), $b);
}

sub certs_dir {
	return File::Spec->catdir(repo_root(), 'certs', 'dev');
}

# One temporary directory per test process.
sub run_dir {
	$run_dir //= tempdir('eppgw-e2e-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{EPPGW_KEEP});
	return $run_dir;
}

# Skip the whole test file (Test::More's plan skip_all) unless what it
# runs is there: built => [NAME, ...] in build_dir() ("BUILD/NAME missing:
# make BUILD/NAME"), then tools => [NAME, ...] on PATH ("NAME missing
# (apt-get install NAME)"), e.g.
#   skip_without(built => [qw(eppgw eppgw-regsim eppgwctl)],
#       tools => ['oathtool']);
sub skip_without {
	my (%o) = @_;
	for my $bin (@{$o{built} // []}) {
		my $p = File::Spec->catfile(build_dir(), $bin);
		Test::More::plan(skip_all => "$p missing: make $p")
		    unless -x $p;
	}
	for my $t (@{$o{tools} // []}) {
		Test::More::plan(skip_all => "$t missing (apt-get install $t)")
		    unless grep { -x "$_/$t" } split /:/, $ENV{PATH};
	}
	return 1;
}

# ---- ports and processes ----

# A loopback port that was free a moment ago.
sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or croak "free_port: $!";
	my $port = $s->sockport;
	close($s);
	return $port;
}

# Wait until host:port accepts TCP connections; true on success.
sub wait_port {
	my ($host, $port, $timeout) = @_;
	my $deadline = time + ($timeout // 10);
	while (time < $deadline) {
		my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
		    Proto => 'tcp', Timeout => 1);
		if ($s) { close($s); return 1 }
		sleep(0.05);
	}
	return 0;
}

# Call $cond every $every seconds (default 0.05) until it returns true or
# $timeout seconds have passed; returns its last value.
sub wait_until {
	my ($timeout, $cond, $every) = @_;
	my $deadline = time + $timeout;
	my $v;
	until (($v = $cond->()) || time > $deadline) {
		sleep($every // 0.05);
	}
	return $v;
}

sub _spawn {
	my ($name, $log, @cmd) = @_;
	my $pid = fork() // croak "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log) or die "$log: $!";
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or die "exec $cmd[0]: $!";
	}
	push @children, [$pid, $name, $$];
	return $pid;
}

# Start eppgw-regsim.  Options: port (default: a free one), seed (default
# examples/regsim.seed; copied into the run dir), journal (default
# DIR/regsim-journal.log), debug (default $ENV{EPPGW_DEBUG}), cert/key/ca.
# Returns { pid, host, port, journal, seed, log, dir }; croaks on failure.
sub start_regsim {
	my (%o) = @_;
	my $root = repo_root();
	my $dir = run_dir();
	my $bin = File::Spec->catfile(build_dir(), 'eppgw-regsim');
	my $certs = certs_dir();
	-x $bin or croak "$bin missing: run make build/eppgw-regsim";
	-r "$certs/ca.pem" or croak "$certs missing: run make certs";

	my $port = $o{port} // free_port();
	my $seed = "$dir/regsim-$port.seed";
	copy($o{seed} // "$root/examples/regsim.seed", $seed)
	    or croak "copy seed: $!";
	my $rs = {
		host    => '127.0.0.1',
		port    => $port,
		dir     => $dir,
		seed    => $seed,
		journal => $o{journal} // "$dir/regsim-journal.log",
		log     => "$dir/regsim-$port.log",
	};
	my @cmd = ($bin, '-l', "127.0.0.1:$port",
	    '--cert', $o{cert} // "$certs/regsim.pem",
	    '--key', $o{key} // "$certs/regsim.key",
	    '--ca', $o{ca} // "$certs/ca.pem",
	    '--seed', $seed, '--journal', $rs->{journal});
	push @cmd, '-d' if $o{debug} // $ENV{EPPGW_DEBUG};
	$rs->{pid} = _spawn('eppgw-regsim', $rs->{log}, @cmd);
	unless (wait_port('127.0.0.1', $port, 15)) {
		stop_regsim($rs);
		croak "eppgw-regsim did not start; see $rs->{log}:\n"
		    . slurp($rs->{log});
	}
	return $rs;
}

# SIGTERM and wait (up to 10 s, then SIGKILL).  Returns the wait status.
sub stop_regsim {
	my ($rs) = @_;
	my $pid = $rs->{pid} or return;
	kill('TERM', $pid);
	my $deadline = time + 10;
	while (time < $deadline) {
		if (waitpid($pid, WNOHANG) == $pid) {
			my $st = $?;
			@children = grep { $_->[0] != $pid } @children;
			delete $rs->{pid};
			return $st;
		}
		sleep(0.05);
	}
	kill('KILL', $pid);
	waitpid($pid, 0);
	@children = grep { $_->[0] != $pid } @children;
	delete $rs->{pid};
	return $?;
}

# ---- the gateway ----

# The principals of examples/eppgw.conf: each may log in as registrar1.
my @default_principals = (
	[registrar => { cert => 'registrar', clids => 'registrar1', roles => 'requester' }],
	[alice     => { cert => 'alice', clids => 'registrar1', roles => 'requester' }],
	[bob       => { cert => 'bob', clids => 'registrar1', roles => 'requester approver' }],
	[carol     => { cert => 'carol', clids => 'registrar1', roles => 'requester approver' }],
);

# A certificate option: a name under certs/dev ("alice"), or a path.
sub _cert_path {
	my ($c, $ext) = @_;
	return $c if $c =~ m{/};
	return File::Spec->catfile(certs_dir(), "$c.$ext");
}

sub _ini_section {
	my ($title, $defaults, $over) = @_;
	my %kv = (%$defaults, %{$over // {}});
	my $out = "[$title]\n";
	# Defaults first, in their order; then extra keys sorted.
	my @keys = map { $_->[0] } @{$defaults->{__order} // []};
	for my $k (@keys, sort grep { !exists $defaults->{$_} } keys %kv) {
		next if $k eq '__order' || !defined $kv{$k};
		$out .= "$k = $kv{$k}\n";
	}
	return "$out\n";
}

# The demo TOTP seeds (examples/demo.seeds): { NAME => { alg, digits, step,
# seed } }.
my %demo_seeds;
sub demo_seeds {
	return \%demo_seeds if %demo_seeds;
	my $path = File::Spec->catfile(repo_root(), 'examples', 'demo.seeds');
	for my $line (split /\n/, slurp($path)) {
		next if $line =~ /^\s*(#|$)/;
		my ($name, $alg, $digits, $step, $seed) = split ' ', $line;
		$demo_seeds{$name} = { alg => $alg, digits => $digits,
		    step => $step, seed => $seed };
	}
	croak "no seeds in $path" unless %demo_seeds;
	return \%demo_seeds;
}

# The 0600 copy of the demo seeds the gateway insists on, in the run dir.
sub _private_seeds {
	my $dst = File::Spec->catfile(run_dir(), 'demo.seeds');
	return $dst if -f $dst;
	copy(File::Spec->catfile(repo_root(), 'examples', 'demo.seeds'), $dst)
	    or croak "copy demo.seeds: $!";
	chmod(0600, $dst) or croak "chmod $dst: $!";
	return $dst;
}

# A section from defaults (in order) and overrides; $on may be 1 (defaults
# only) or a hash of overrides (undef drops a key).
sub _opt_section {
	my ($title, $on, @defaults) = @_;
	my %def = @defaults;
	$def{__order} = [map { [$defaults[2 * $_]] } 0 .. $#defaults / 2];
	return _ini_section($title, \%def, ref $on eq 'HASH' ? $on : {});
}

# Start eppgw on a free port with a configuration written into the run dir.
# Options:
#   regsim    a start_regsim() handle: the upstream (else upstream_address)
#   upstream_address  "127.0.0.1:PORT" (e.g. a closed port: registry down)
#   port      listen port (default: a free one)
#   gateway   { key => value } overrides for [gateway] (undef drops a key)
#   upstream  { key => value } overrides for [upstream]
#   principals { NAME => { cert => NAME|PATH, cert_sha256, clids, roles } }:
#             added to (or replacing) the demo principals registrar, alice,
#             bob, carol; default_principals => 0 drops those
#   policy    { locks => [ENTRY, ...], protect => 'ns ds ...' }: a [policy]
#             section; the lock list (exact names, "*.suffix" patterns,
#             "# comments", one a line) is written to DIR/locks-PORT.txt.
#             protect is left out (the gateway's default: every class)
#             when not given.  Without this option there is no [policy]
#             section: nothing is locked.
#   admin     1 or { key => value }: an [admin] listener on a free loopback
#             port (gateway cert/key, dev CA); implied by approvals
#   approvals 1 or { key => value }: an [approvals] section; seeds default
#             to a 0600 copy of examples/demo.seeds in the run dir, state
#             to DIR/approvals-PORT.json (pass state => $old->{state} to
#             restart on the same state), other keys (ticket_ttl,
#             rate_attempts, ...) are written as given
#   audit     1 or { key => value }: an [audit] section; dir defaults to
#             DIR/audit-PORT (pass dir => $old->{audit_dir} to continue a
#             log), signing_key to certs/dev/audit.key, origin eppgw/e2e
#   alerts    { url => URL, secret_text => TEXT, key => value }: an
#             [alerts] section; secret_text is written to a 0600 file
#   watch     1 or { key => value }: a watch session (the gateway's own
#             registry login, include/watch.h) in [upstream]: clid
#             (default registrar1), password_file (default: password,
#             default demo-password-1, written to a 0600
#             DIR/watch-PORT.pw), state (default DIR/regstate-PORT.json;
#             pass state => $old->{watch_state} to restart on the same
#             store), refresh and keepalive (default 5 each, the minimum);
#             other keys (state_max, ...) are written to [upstream] as
#             given.  upstream overrides win over these
#   verbose   run with -v (debug logs); default $ENV{EPPGW_DEBUG}
# Returns { pid, host, port, log, conf, dir, locks, admin_port, admin_url,
# seeds, state, audit_dir, watch_state, watch_password_file }; croaks if it
# does not start (locks: the lock list's path, when policy was given;
# admin_*, seeds/state, audit_dir and watch_* only with those sections).
sub start_gateway {
	my (%o) = @_;
	my $dir = run_dir();
	my $bin = File::Spec->catfile(build_dir(), 'eppgw');
	my $certs = certs_dir();
	-x $bin or croak "$bin missing: run make build/eppgw";
	-r "$certs/gateway.pem" or croak "$certs missing: run make certs";

	my $port = $o{port} // free_port();
	my $up = $o{upstream_address}
	    // ($o{regsim} ? "$o{regsim}{host}:$o{regsim}{port}" : undef)
	    // croak 'start_gateway: regsim or upstream_address needed';
	my $gwdef = {
		listen => "127.0.0.1:$port",
		cert => "$certs/gateway.pem",
		key => "$certs/gateway.key",
		client_ca => "$certs/ca.pem",
		max_frame => 1048576,
		handshake_timeout => 10,
		idle_timeout => 600,
		frame_timeout => 30,
		max_sessions => 1024,
		# Tests run as whoever runs them, root in CI.
		run_as_root => ($> == 0 ? 'yes' : undef),
	};
	$gwdef->{__order} = [map { [$_] } qw(listen cert key client_ca
	    max_frame handshake_timeout idle_timeout frame_timeout
	    max_sessions run_as_root)];
	my $updef = {
		address => $up,
		server_name => 'localhost',
		ca => "$certs/ca.pem",
		cert => "$certs/upstream.pem",
		key => "$certs/upstream.key",
		connect_timeout => 10,
		reply_timeout => 60,
	};
	$updef->{__order} = [map { [$_] } qw(address server_name ca cert key
	    connect_timeout reply_timeout)];

	my %watch;
	if (my $wo = $o{watch}) {
		%watch = ref $wo eq 'HASH' ? %$wo : ();
		my $pw = delete $watch{password};
		unless (exists $watch{password_file}) {
			$watch{password_file} = "$dir/watch-$port.pw";
			open(my $pf, '>', $watch{password_file})
			    or croak "$watch{password_file}: $!";
			print $pf ($pw // 'demo-password-1'), "\n";
			close($pf) or croak "$watch{password_file}: $!";
			chmod(0600, $watch{password_file})
			    or croak "chmod $watch{password_file}: $!";
		}
		$watch{clid} = 'registrar1' unless exists $watch{clid};
		$watch{state} = "$dir/regstate-$port.json"
		    unless exists $watch{state};
		$watch{refresh} = 5 unless exists $watch{refresh};
		$watch{keepalive} = 5 unless exists $watch{keepalive};
		for my $k (qw(clid password_file state refresh keepalive)) {
			push @{$updef->{__order}}, [$k];
			$updef->{$k} = $watch{$k};
		}
		# The rest (state_max, ...) as given, after them.
		for my $k (sort grep { !exists $updef->{$_} } keys %watch) {
			push @{$updef->{__order}}, [$k];
			$updef->{$k} = $watch{$k};
		}
	}
	my $conf = "# written by EppgwTest::start_gateway\n\n"
	    . _ini_section('gateway', $gwdef, $o{gateway})
	    . _ini_section('upstream', $updef, $o{upstream});
	my @pr = ($o{default_principals} // 1) ? @default_principals : ();
	my %extra = %{$o{principals} // {}};
	@pr = grep { !exists $extra{$_->[0]} } @pr;
	push @pr, map { [$_ => $extra{$_}] } sort keys %extra;
	for my $p (@pr) {
		my ($name, $h) = @$p;
		my %h = %$h;
		$h{cert} = _cert_path($h{cert}, 'pem') if defined $h{cert};
		$conf .= "[principal $name]\n";
		for my $k (qw(cert cert_sha256 clids roles),
		    sort grep { !/^(cert|cert_sha256|clids|roles)$/ } keys %h) {
			$conf .= "$k = $h{$k}\n" if defined $h{$k};
		}
		$conf .= "\n";
	}

	my $gw = {
		host  => '127.0.0.1',
		port  => $port,
		dir   => $dir,
		conf  => "$dir/eppgw-$port.conf",
		log   => "$dir/eppgw-$port.log",
		owner => $$,
	};
	if (%watch) {
		# What the file says, after any upstream override.
		my %u = (%$updef, %{$o{upstream} // {}});
		$gw->{watch_state} = $u{state};
		$gw->{watch_password_file} = $u{password_file};
	}
	if (my $pol = $o{policy}) {
		croak 'start_gateway: policy must be a hash'
		    unless ref $pol eq 'HASH';
		my @entries = @{$pol->{locks} // []};
		$gw->{locks} = "$dir/locks-$port.txt";
		open(my $lf, '>', $gw->{locks}) or croak "$gw->{locks}: $!";
		print $lf "# written by EppgwTest::start_gateway\n";
		print $lf "$_\n" for @entries;
		close($lf) or croak "$gw->{locks}: $!";
		$conf .= "[policy]\nlocks = $gw->{locks}\n";
		$conf .= "protect = $pol->{protect}\n" if defined $pol->{protect};
		$conf .= "\n";
	}
	if ($o{admin} || $o{approvals}) {
		my $aport = free_port();
		$aport = free_port() while $aport == $port;
		$conf .= _opt_section('admin', $o{admin},
		    listen => "127.0.0.1:$aport",
		    cert => "$certs/gateway.pem",
		    key => "$certs/gateway.key",
		    client_ca => "$certs/ca.pem");
		my $listen = "127.0.0.1:$aport";
		$listen = $o{admin}{listen} if ref $o{admin} eq 'HASH'
		    && defined $o{admin}{listen};
		($gw->{admin_port}) = $listen =~ /:(\d+)$/;
		$gw->{admin_url} = "https://127.0.0.1:$gw->{admin_port}";
	}
	if (my $ap = $o{approvals}) {
		my %a = ref $ap eq 'HASH' ? %$ap : ();
		$a{seeds} = _private_seeds() unless exists $a{seeds};
		$a{state} = "$dir/approvals-$port.json" unless exists $a{state};
		@$gw{qw(seeds state)} = @a{qw(seeds state)};
		$conf .= _opt_section('approvals', \%a, seeds => undef,
		    state => undef);
	}
	if (my $au = $o{audit}) {
		my %a = ref $au eq 'HASH' ? %$au : ();
		$a{dir} = "$dir/audit-$port" unless exists $a{dir};
		$gw->{audit_dir} = $a{dir};
		$conf .= _opt_section('audit', \%a, dir => undef,
		    signing_key => "$certs/audit.key", origin => 'eppgw/e2e');
	}
	if (my $al = $o{alerts}) {
		# alerts => { url => ..., secret => 'TEXT' or undef, ... }
		my %a = %$al;
		if (defined(my $text = delete $a{secret_text})) {
			$a{secret} = "$dir/alert-$port.secret";
			open(my $sf, '>', $a{secret}) or croak "$a{secret}: $!";
			print $sf $text;
			close($sf);
			chmod(0600, $a{secret});
		}
		$conf .= _opt_section('alerts', \%a, url => undef);
	}
	open(my $fh, '>', $gw->{conf}) or croak "$gw->{conf}: $!";
	print $fh $conf;
	close($fh) or croak "$gw->{conf}: $!";

	my @cmd = ($bin, '-d', '-f', $gw->{conf});
	push @cmd, '-v' if $o{verbose} // $ENV{EPPGW_DEBUG};
	{
		# Sanitizer builds: say where, not only what.
		local $ENV{UBSAN_OPTIONS} = $ENV{UBSAN_OPTIONS}
		    // 'print_stacktrace=1';
		$gw->{pid} = _spawn('eppgw', $gw->{log}, @cmd);
	}
	push @gateways, $gw;
	# Wait for the "listening" line rather than probing the port: a probe
	# would show up in the log as a failed handshake.
	my $deadline = time + 15;
	while (time < $deadline) {
		last if slurp($gw->{log}) =~ /listening on/;
		if (waitpid($gw->{pid}, WNOHANG) == $gw->{pid}) {
			@children = grep { $_->[0] != $gw->{pid} } @children;
			delete $gw->{pid};
			last;
		}
		sleep(0.05);
	}
	unless ($gw->{pid} && slurp($gw->{log}) =~ /listening on/) {
		stop_gateway($gw);
		croak "eppgw did not start; see $gw->{log}:\n" . slurp($gw->{log})
		    . "config $gw->{conf}:\n$conf";
	}
	return $gw;
}

# SIGTERM and wait (up to 10 s, then SIGKILL).  Returns the wait status
# (undef if it was not running).
sub stop_gateway {
	my ($gw) = @_;
	return stop_regsim($gw);	# same process handling
}

# The gateway's log (stderr) so far.
sub gateway_log {
	my ($gw) = @_;
	return slurp($gw->{log});
}

# A test: the gateway's log matches $re within $wait seconds (default 3;
# log lines may trail the client's view by a moment).  The gateway may be
# left out: then the last one started is meant.
sub gateway_log_like {
	my $gw = ref $_[0] eq 'HASH' ? shift : $gateways[-1];
	my ($re, $name, $wait) = @_;
	croak 'gateway_log_like: no gateway' unless $gw;
	my $deadline = time + ($wait // 3);
	my $log = gateway_log($gw);
	while ($log !~ $re && time < $deadline) {
		sleep(0.05);
		$log = gateway_log($gw);
	}
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return Test::More::like($log, $re, $name // "gateway log matches $re");
}

# How many times $re matches the gateway's log so far.
sub gateway_log_count {
	my ($gw, $re) = @_;
	my @m = gateway_log($gw) =~ /$re/g;
	return scalar @m;
}

# The sanitizer reports (AddressSanitizer, LeakSanitizer, UBSan) in a log
# file, or ''.
sub sanitizer_report {
	my ($path) = @_;
	my $log = slurp($path);
	my @hits = grep { /ERROR: (?:Address|Leak)Sanitizer|runtime error:/ }
	    split /\n/, $log;
	return '' unless @hits;
	# The report itself follows its first line: keep a readable piece.
	my $at = index($log, $hits[0]);
	return substr($log, $at, 4000) . "\n";
}

# Tests: stop every gateway this process started and check that none of
# their logs has a sanitizer report.
sub gateways_clean {
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	for my $gw (grep { $_->{owner} == $$ } @gateways) {
		my $was = $gw->{pid};
		my $st = stop_gateway($gw);
		Test::More::is($st, 0, "gateway on port $gw->{port} stopped "
		    . 'cleanly by SIGTERM') if $was;
		my $rep = sanitizer_report($gw->{log});
		$gw->{checked} = 1;
		Test::More::is($rep, '', "no sanitizer report in the log of "
		    . "the gateway on port $gw->{port}");
	}
}

# The gateway's processes of one kind (proc.h: audit, alerter, vault,
# worker): the pids of the parent's children named eppgw-KIND, oldest
# first.
sub gateway_procs {
	my ($gw, $kind) = @_;
	my @pids;
	opendir(my $d, '/proc') or return ();
	for my $pid (sort { $a <=> $b } grep { /^\d+$/ } readdir($d)) {
		my $st = slurp("/proc/$pid/status");
		next unless $st =~ /^Name:\s+eppgw-\Q$kind\E$/m
		    && $st =~ /^PPid:\s+(\d+)$/m && $1 == $gw->{pid};
		push @pids, $pid;
	}
	closedir($d);
	return @pids;
}

# ---- a webhook receiver ----

# A minimal HTTP receiver for the gateway's alerts, in a child process:
# each POST is appended to file as one JSON line { body, ts (the
# X-Eppgw-Timestamp header), valid (the X-Eppgw-Signature verifies with
# secret), head } and answered 200.  Runs for seconds (default 120).
# Returns (port, pid): kill('TERM', pid) and waitpid it when done.
sub webhook_receiver {
	my (%o) = @_;
	require Digest::SHA;
	require JSON::PP;
	my $srv = IO::Socket::INET->new(Listen => 16,
	    LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
	    or croak "receiver: $!";
	my $port = $srv->sockport;
	my $pid = fork() // croak "fork: $!";
	if ($pid == 0) {
		my $deadline = time + ($o{seconds} // 120);
		while (time < $deadline) {
			my $c = $srv->accept or next;
			my ($head, $body) = ('', '');
			while (defined(my $l = <$c>)) {
				last if $l eq "\r\n";
				$head .= $l;
			}
			my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
			read($c, $body, $len // 0);
			my ($sig) = $head =~
			    /^X-Eppgw-Signature:\s*sha256=([0-9a-f]+)/mi;
			my ($ts) = $head =~ /^X-Eppgw-Timestamp:\s*(\d+)/mi;
			open(my $fh, '>>', $o{file}) or POSIX::_exit(1);
			print $fh JSON::PP::encode_json({ body => $body,
			    ts => $ts, head => $head, valid => (defined $sig &&
			    $sig eq Digest::SHA::hmac_sha256_hex($body,
			    $o{secret})) ? 1 : 0 }), "\n";
			close($fh);
			print $c "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
			    . "Connection: close\r\n\r\n";
			close($c);
		}
		POSIX::_exit(0);
	}
	close($srv);
	return ($port, $pid);
}

# Prometheus text from a gateway's metrics listener ([gateway]
# metrics_listen on 127.0.0.1:$port), without the HTTP head; '' when it
# cannot be reached.
sub scrape_metrics {
	my ($port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    Timeout => 5) or return '';
	print $s "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	local $/;
	my $r = <$s> // '';
	$r =~ s/^.*?\r\n\r\n//s;
	return $r;
}

# The value of metric $name (a line "NAME VALUE" with no labels) at
# 127.0.0.1:$port, or undef.
sub metric {
	my ($port, $name) = @_;
	my ($v) = scrape_metrics($port) =~ /^\Q$name\E (\d+)$/m;
	return $v;
}

# Resident memory of a process in KiB (from /proc), or undef.
sub proc_rss_kb {
	my ($pid) = @_;
	my $st = slurp("/proc/$pid/status");
	return $st =~ /^VmRSS:\s+(\d+)\s+kB/m ? $1 : undef;
}

# ---- raw TLS (no EPP client) ----

# A TLS connection without Net::EPP: port (required), host, cert (a
# certs/dev name or a path; undef = no client certificate), key, timeout.
# Returns the IO::Socket::SSL or undef ($SSL_ERROR says why).
sub tls_connect {
	my (%o) = @_;
	my $certs = certs_dir();
	croak 'tls_connect: port needed' unless $o{port};
	return IO::Socket::SSL->new(
		PeerAddr        => $o{host} // '127.0.0.1',
		PeerPort        => $o{port},
		SSL_ca_file     => "$certs/ca.pem",
		SSL_verify_mode => SSL_VERIFY_PEER,
		SSL_verifycn_name => 'localhost',
		Timeout         => $o{timeout} // 5,
		(defined $o{cert} ? (
		    SSL_cert_file => _cert_path($o{cert}, 'pem'),
		    SSL_key_file  => _cert_path($o{key} // $o{cert}, 'key'),
		) : ()),
	);
}

# Read exactly $n bytes before $deadline; undef on EOF, error or timeout.
# The socket is non-blocking meanwhile, so TLS records without application
# data (session tickets) cannot make us block past the deadline.
sub _read_n {
	my ($sock, $n, $deadline) = @_;
	my $buf = '';
	my $was = $sock->blocking(0);
	while (length($buf) < $n) {
		my $r = $sock->sysread($buf, $n - length($buf), length($buf));
		next if $r;
		if (!defined $r && ($!{EAGAIN} || $!{EWOULDBLOCK})) {
			my $left = $deadline - time;
			last if $left <= 0;
			my $rin = '';
			vec($rin, fileno($sock), 1) = 1;
			select(my $rout = $rin, undef, undef, $left > 0.2 ? 0.2 : $left);
			next;
		}
		last;	# EOF or error
	}
	$sock->blocking($was) if $sock->opened;
	return length($buf) == $n ? $buf : undef;
}

# One EPP frame from a raw socket: the XML text, or undef on EOF/timeout.
sub read_frame {
	my ($sock, $timeout) = @_;
	my $deadline = time + ($timeout // 10);
	my $hdr = _read_n($sock, 4, $deadline) // return undef;
	my $len = unpack('N', $hdr);
	return undef if $len < 4 || $len > 64 * 1024 * 1024;
	return _read_n($sock, $len - 4, $deadline);
}

# Write one EPP frame on a raw socket.
sub write_frame {
	my ($sock, $xml) = @_;
	return $sock->syswrite(pack('N', length($xml) + 4) . $xml) ? 1 : 0;
}

# Wait until the peer closes $sock (an EPP client or a socket): returns the
# seconds waited, or undef if it was still open after $timeout.  Data that
# arrives meanwhile is read and dropped.
sub wait_closed {
	my ($sock, $timeout) = @_;
	$sock = $sock->{connection} if ref $sock eq 'Net::EPP::Simple';
	return 0 unless $sock && $sock->opened;
	my $t0 = time;
	my $deadline = $t0 + $timeout;
	my $was = $sock->blocking(0);
	my $closed;
	while (time < $deadline) {
		my $r = $sock->sysread(my $buf, 65536);
		next if $r;
		if (!defined $r && ($!{EAGAIN} || $!{EWOULDBLOCK})) {
			my $rin = '';
			vec($rin, fileno($sock), 1) = 1;
			my $left = $deadline - time;
			select(my $rout = $rin, undef, undef, $left > 0.2 ? 0.2 : $left)
			    if $left > 0;
			next;
		}
		$closed = time - $t0;	# EOF or error: the peer is gone
		last;
	}
	$sock->blocking($was) if $sock->opened;
	return $closed;
}

END {
	my $st = $?;
	# Close clients before global destruction tears their sockets down
	# under Net::EPP::Simple's DESTROY (which would try to log out).  A
	# forked child only drops its copies of its parent's clients: a TLS
	# close_notify (or a logout) from the child would end the parent's
	# session.
	for my $epp (grep { defined } @clients) {
		if (($epp->{_eppgw_owner} // $$) == $$) {
			epp_close($epp);
			next;
		}
		$epp->{authenticated} = $epp->{connected} = 0;
		if (my $c = delete $epp->{connection}) {
			eval { $c->close(SSL_no_shutdown => 1) };
		}
	}
	@clients = ();
	# Only the process that started a daemon stops it: a test that forks
	# clients must not have each child kill the simulator on exit.
	for my $c (grep { $_->[2] == $$ } @children) {
		kill('TERM', $c->[0]);
		waitpid($c->[0], 0);
	}
	# A sanitizer report in a gateway's log fails the test file even if
	# the test forgot gateways_clean().
	for my $gw (grep { $_->{owner} == $$ && !$_->{checked} } @gateways) {
		my $rep = sanitizer_report($gw->{log});
		next if $rep eq '';
		print STDERR "# sanitizer report in $gw->{log}:\n$rep";
		$st ||= 1;
	}
	$? = $st;
}

# ---- EPP clients ----

# A Net::EPP::Simple connected with certs/dev/CERT.pem/.key, verifying the
# server against certs/dev/ca.pem.  Options: host (127.0.0.1), port
# (required), cert ("registrar"), user ("registrar1"), pass
# ("demo-password-1"), login (1; 0 = connected, greeting read, no login),
# timeout (10), objects / extensions (array refs of URIs for the login;
# default: what the greeting offers), debug.  Returns undef on failure ($Net::EPP::Simple::Code and
# ::Error say why: a refused login gives its result code there).
sub epp_client {
	my (%o) = @_;
	my $certs = certs_dir();
	my $cert = $o{cert} // 'registrar';
	croak 'epp_client: port needed' unless $o{port};
	my $epp = Net::EPP::Simple->new(
		host        => $o{host} // '127.0.0.1',
		port        => $o{port},
		user        => $o{user} // 'registrar1',
		pass        => $o{pass} // 'demo-password-1',
		cert        => "$certs/$cert.pem",
		key         => "$certs/$cert.key",
		verify      => 1,
		ca_file     => "$certs/ca.pem",
		login       => 0,
		timeout     => $o{timeout} // 10,
		reconnect   => 0,
		load_config => 0,
		# Default: the services the greeting offers.
		($o{objects} ? (objects => $o{objects}) : ()),
		($o{extensions} ? (extensions => $o{extensions}) : ()),
		($o{debug} ? (debug => 1) : ()),
	);
	return undef unless $epp;
	$epp->{_eppgw_owner} = $$;
	push @clients, $epp;
	weaken($clients[-1]);
	# Log in here rather than in new(): a refused login then still leaves
	# us the object to close (Net::EPP::Simple keeps a reference cycle,
	# so an abandoned client would live until global destruction).
	# _login() is what new() itself calls in Net::EPP::Simple 0.22.
	if ($o{login} // 1) {
		unless ($epp->_login) {
			epp_close($epp);
			return undef;
		}
	}
	return $epp;
}

# A test: a session straight to simulator $rs (registrar1), named "direct
# session to the simulator ($why)"; bails out when it cannot log in.
# Returns the client.
sub direct_session {
	my ($rs, $why) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $direct = epp_client(port => $rs->{port});
	Test::More::ok($direct, "direct session to the simulator ($why)")
	    or Test::More::BAIL_OUT("simulator: $Net::EPP::Simple::Error");
	return $direct;
}

# Tests: two sessions through gateway $gw, registrar1 (the registrar
# certificate) and registrar2 (alice's certificate: start the gateway with
# principals => { alice => { cert => 'alice', clids => 'registrar1
# registrar2', roles => 'requester' } }); bails out when one cannot log
# in.  Returns the two clients.
sub registrar_sessions {
	my ($gw) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $r1 = epp_client(port => $gw->{port});
	Test::More::ok($r1, 'registrar1 through the gateway')
	    or Test::More::BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	my $r2 = epp_client(port => $gw->{port}, cert => 'alice',
	    user => 'registrar2', pass => 'demo-password-2');
	Test::More::ok($r2, 'registrar2 (alice\'s certificate) through the '
	    . 'gateway') or Test::More::BAIL_OUT("gateway: "
	    . $Net::EPP::Simple::Error);
	return ($r1, $r2);
}

# Close a client without a logout (the server may be gone already).
sub epp_close {
	my ($epp) = @_;
	return unless $epp;
	$epp->{authenticated} = 0;
	$epp->{connected} = 0;
	if (my $c = delete $epp->{connection}) {
		eval { $c->close(SSL_fast_shutdown => 1) };
	}
	return 1;
}

# A full <epp><command>: $inner is the command element(s) (and an optional
# <extension>), $cltrid the clTRID (omitted when undef).
sub epp_command {
	my ($inner, $cltrid) = @_;
	return '<?xml version="1.0" encoding="UTF-8"?>'
	    . '<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>' . $inner
	    . (defined $cltrid ? "<clTRID>$cltrid</clTRID>" : '')
	    . '</command></epp>';
}

# Send one raw XML frame (no well-formedness check, so hostile input goes
# out as written) and return the reply as an XML::LibXML::Document, or
# undef when the connection closed or timed out.  After a 1500 (logout) or
# a lost connection the client is closed.
sub epp_raw {
	my ($epp, $xml) = @_;
	return undef unless $epp->{connection};
	my $ok = eval { $epp->send_frame($xml, 0) };
	my $doc = $ok ? $epp->get_frame : undef;
	my $code = result_code($doc);
	epp_close($epp) if !defined $doc
	    || (defined $code && ($code == 1500 || $code >= 2500));
	return $doc;
}

# Write raw bytes (e.g. a bad frame header) on the TLS connection.
sub send_bytes {
	my ($epp, $bytes) = @_;
	my $c = $epp->{connection} or return 0;
	return $c->print($bytes) ? 1 : 0;
}

# Read one reply frame (a document), or undef if the connection closed;
# then the client is closed.
sub epp_read {
	my ($epp) = @_;
	return undef unless $epp->{connection};
	my $doc = $epp->get_frame;
	epp_close($epp) unless defined result_code($doc);
	return $doc;
}

# An XPath context with the prefixes of %NS registered.
sub xpc {
	my ($doc) = @_;
	my $x = XML::LibXML::XPathContext->new($doc);
	$x->registerNs($_, $NS{$_}) for keys %NS;
	return $x;
}

# The result code of a reply (a document), or undef.
sub result_code {
	my ($doc) = @_;
	return undef unless ref $doc;
	my $code = xpc($doc)->findvalue('/epp:epp/epp:response/epp:result/@code');
	return $code eq '' ? undef : $code + 0;
}

# ---- commands and replies ----
#
# Command elements (the inner part of epp_command()), in the domain
# namespace of %NS:
#   info_domain(NAME)              a domain:info
#   ns_update(NAME, OP, HOST...)   a domain:update that adds (OP "add") or
#                                  removes ("rem") name servers (hostObj)
#   status_update(NAME, OP, S)     a domain:update that adds or removes
#                                  status S

sub info_domain {
	my ($name) = @_;
	return "<info><domain:info xmlns:domain=\"$NS{domain}\">"
	    . "<domain:name>$name</domain:name></domain:info></info>";
}

# A whole domain:info command frame of $name (default open.example) with
# clTRID $trid, for epp_raw() or a raw socket.
sub info_cmd {
	my ($trid, $name) = @_;
	return epp_command(info_domain($name // 'open.example'), $trid);
}

sub ns_update {
	my ($name, $op, @hosts) = @_;
	return "<update><domain:update xmlns:domain=\"$NS{domain}\">"
	    . "<domain:name>$name</domain:name><domain:$op><domain:ns>"
	    . join('', map { "<domain:hostObj>$_</domain:hostObj>" } @hosts)
	    . "</domain:ns></domain:$op></domain:update></update>";
}

sub status_update {
	my ($name, $op, $s) = @_;
	return "<update><domain:update xmlns:domain=\"$NS{domain}\">"
	    . "<domain:name>$name</domain:name><domain:$op><domain:status "
	    . "s=\"$s\"/></domain:$op></domain:update></update>";
}

# Send one command ($inner, wrapped by epp_command()) on $sess and sum the
# reply up.  Options: trid (the clTRID; default PREFIX-N, N counting up
# per prefix), prefix (default "T-"), regsim (a start_regsim() handle: count
# its journal lines with this clTRID).  Returns { trid, code, why, reason,
# id, svtrid, doc, journal }: code is 'none' when no reply came (the
# session is gone, or $sess is undef); why is the gateway's
# <extValue><reason> text ('' if none), reason its first word and id the
# change id after it ("approval_required 0123456789ab"; when why is not of
# that form reason is why and id ''); doc the reply document; journal the
# count of journal lines (undef without regsim).
my %trid_n;
sub epp_send {
	my ($sess, $inner, %o) = @_;
	my $prefix = $o{prefix} // 'T-';
	my $trid = $o{trid} // $prefix . ++$trid_n{$prefix};
	my $doc = $sess ? eval { epp_raw($sess, epp_command($inner, $trid)) }
	    : undef;
	my %r = (trid => $trid, code => result_code($doc) // 'none',
	    why => '', reason => '', id => '', svtrid => '', doc => $doc);
	if (ref $doc) {
		my $x = xpc($doc);
		$r{why} = $x->findvalue('//epp:result/epp:extValue/epp:reason');
		($r{reason}, $r{id}) = $r{why} =~ /^(\S+)(?: ([0-9a-f]{12}))?$/;
		$r{reason} //= $r{why};
		$r{id} //= '';
		$r{svtrid} = $x->findvalue('//epp:trID/epp:svTRID');
	}
	$r{journal} = scalar(journal_find($o{regsim}, clTRID => $trid))
	    if $o{regsim};
	return \%r;
}

# ---- the journal ----

# A whole file ('' when it is missing or empty).
sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	return scalar(<$fh>) // '';
}

# Write $text (bytes) to $path, replacing what it held; croaks on failure.
sub spew {
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or croak "$path: $!";
	binmode($fh);
	print $fh $text;
	close($fh) or croak "$path: $!";
	return 1;
}

# Parse the simulator's journal (a start_regsim() handle or a path) into
# hashes: { ts, clTRID, svTRID, clID, cmd, op, obj, code, line }.  Values
# are unescaped (%XX); "-" means empty.
sub journal_lines {
	my ($rs) = @_;
	my $path = ref $rs ? $rs->{journal} : $rs;
	my @out;
	for my $line (split /\n/, slurp($path)) {
		my ($ts, @kv) = split / /, $line;
		my %e = (ts => $ts, line => $line);
		for (@kv) {
			my ($k, $v) = split /=/, $_, 2;
			next unless defined $v;
			$v =~ s/%([0-9A-F]{2})/chr(hex($1))/ge;
			$e{$k} = $v;
		}
		push @out, \%e;
	}
	return @out;
}

# ---- the registry's own view (a session straight to the simulator) ----
#
# The state of an object as text lines, for comparing the registry before
# and after an attack: registry_domain($sess, NAME), registry_host($sess,
# NAME), registry_contact($sess, ID).  registry_cmd($sess, INNER) sends one
# command (clTRIDs DIRECT-n) and bails out if the session is gone.

my $direct_n = 0;
sub registry_cmd {
	my ($sess, $inner) = @_;
	my $doc = epp_raw($sess, epp_command($inner, 'DIRECT-' . ++$direct_n));
	Test::More::BAIL_OUT('direct session to the simulator lost')
	    unless ref $doc;
	return $doc;
}

sub registry_domain {
	my ($sess, $name) = @_;
	my $doc = registry_cmd($sess, "<info><domain:info xmlns:domain=\"$NS{domain}\">"
	    . "<domain:name>$name</domain:name></domain:info></info>");
	my $x = xpc($doc);
	my $v = sub { $x->findvalue($_[0]) };
	my @l = ('code=' . result_code($doc));
	push @l, 'clID=' . $v->('//domain:infData/domain:clID');
	push @l, 'upDate=' . $v->('//domain:infData/domain:upDate');
	push @l, 'trDate=' . $v->('//domain:infData/domain:trDate');
	push @l, 'registrant=' . $v->('//domain:infData/domain:registrant');
	push @l, 'authInfo=' . $v->('//domain:infData/domain:authInfo/domain:pw');
	push @l, map { 'ns=' . $_->textContent } $x->findnodes('//domain:ns/*');
	push @l, sort map { 'status=' . $_->getAttribute('s') }
	    $x->findnodes('//domain:infData/domain:status');
	push @l, sort map { 'contact=' . $_->getAttribute('type') . ':'
	    . $_->textContent } $x->findnodes('//domain:infData/domain:contact');
	for my $d ($x->findnodes('//secDNS:infData/secDNS:dsData')) {
		push @l, 'ds=' . join(' ', map { $x->findvalue("secDNS:$_", $d) }
		    qw(keyTag alg digestType digest));
	}
	push @l, 'maxSigLife=' . $v->('//secDNS:infData/secDNS:maxSigLife');
	return join("\n", @l) . "\n";
}

sub registry_host {
	my ($sess, $name) = @_;
	my $doc = registry_cmd($sess, "<info><host:info xmlns:host=\"$NS{host}\">"
	    . "<host:name>$name</host:name></host:info></info>");
	my $x = xpc($doc);
	return join("\n", 'code=' . result_code($doc),
	    'clID=' . $x->findvalue('//host:infData/host:clID'),
	    'upDate=' . $x->findvalue('//host:infData/host:upDate'),
	    sort(map { 'addr=' . $_->textContent } $x->findnodes('//host:addr')),
	    sort(map { 'status=' . $_->getAttribute('s') }
	    $x->findnodes('//host:infData/host:status'))) . "\n";
}

sub registry_contact {
	my ($sess, $id) = @_;
	my $doc = registry_cmd($sess, '<info><contact:info xmlns:contact="'
	    . "$NS{contact}\"><contact:id>$id</contact:id></contact:info></info>");
	my $x = xpc($doc);
	return join("\n", 'code=' . result_code($doc),
	    'clID=' . $x->findvalue('//contact:infData/contact:clID'),
	    'email=' . $x->findvalue('//contact:infData/contact:email'),
	    'upDate=' . $x->findvalue('//contact:infData/contact:upDate'),
	    sort(map { 'status=' . $_->getAttribute('s') }
	    $x->findnodes('//contact:infData/contact:status'))) . "\n";
}

# The state of what an attack on locked.example could touch, as text for
# comparing the registry before and after: a host:check of the host names
# @avail (a line "$label NAME=AVAIL" each), locked.example and
# pay.bank.example (registry_domain), ns1.locked.example and ns.dns.example
# (registry_host), each after a "[NAME]" line.
sub registry_snapshot {
	my ($sess, $label, @avail) = @_;
	my $chk = xpc(registry_cmd($sess, "<check><host:check xmlns:host=\""
	    . "$NS{host}\">" . join('', map { "<host:name>$_</host:name>" }
	    @avail) . '</host:check></check>'));
	return "[locked.example]\n" . registry_domain($sess, 'locked.example')
	    . "[ns1.locked.example]\n"
	    . registry_host($sess, 'ns1.locked.example')
	    . "[ns.dns.example]\n" . registry_host($sess, 'ns.dns.example')
	    . "[pay.bank.example]\n"
	    . registry_domain($sess, 'pay.bank.example')
	    . join('', map { "$label " . $_->textContent . '='
	    . $_->getAttribute('avail') . "\n" }
	    $chk->findnodes('//host:cd/host:name'));
}

# The result code of one command straight to the registry ('none' when
# it has none).
sub registry_code {
	my ($sess, $inner) = @_;
	return result_code(registry_cmd($sess, $inner)) // 'none';
}

# A domain at the registry as a hash: { clid, ns => 'a b' (sorted), status
# => 'x y' (sorted), exp (the date of exDate, or '') }.
sub registry_domain_facts {
	my ($sess, $name) = @_;
	my $x = xpc(registry_cmd($sess, info_domain($name)));
	my ($exp) = $x->findvalue('//domain:infData/domain:exDate')
	    =~ /^(\d{4}-\d\d-\d\d)/;
	return {
		clid => $x->findvalue('//domain:infData/domain:clID'),
		ns => join(' ', sort map { $_->textContent }
		    $x->findnodes('//domain:infData/domain:ns/*')),
		status => join(' ', sort map { $_->getAttribute('s') }
		    $x->findnodes('//domain:infData/domain:status')),
		exp => $exp // '',
	};
}

# A host's addresses at the registry, sorted, one blank between.
sub registry_host_addrs {
	my ($sess, $name) = @_;
	my $x = xpc(registry_cmd($sess, "<info><host:info xmlns:host=\""
	    . "$NS{host}\"><host:name>$name</host:name></host:info></info>"));
	return join(' ', sort map { $_->textContent }
	    $x->findnodes('//host:infData/host:addr'));
}

# A contact's email address at the registry.
sub registry_contact_email {
	my ($sess, $id) = @_;
	my $x = xpc(registry_cmd($sess, '<info><contact:info xmlns:contact="'
	    . "$NS{contact}\"><contact:id>$id</contact:id></contact:info>"
	    . '</info>'));
	return $x->findvalue('//contact:infData/contact:email');
}

# The watch session's state file (a gateway's watch_state) as a hash:
# { "KIND:NAME" => object } (e.g. "domain:locked.example"), or undef when
# it is missing or not valid JSON.
sub watch_state {
	my ($path) = @_;
	my $text = slurp($path);
	return undef if $text eq '';
	require JSON::PP;
	my $j = eval { JSON::PP::decode_json($text) } or return undef;
	return undef unless ref $j eq 'HASH' && ref $j->{objects} eq 'ARRAY';
	return { map { ("$_->{kind}:$_->{name}" => $_) } @{$j->{objects}} };
}

# Journal entries whose fields equal every given value, e.g.
# journal_find($rs, clTRID => 'T-1', code => 1000).
sub journal_find {
	my ($rs, %want) = @_;
	return grep {
		my $e = $_;
		!grep { !defined $e->{$_} || $e->{$_} ne $want{$_} } keys %want;
	} journal_lines($rs);
}

# ---- eppgwctl and TOTP ----

# Run the real eppgwctl against a gateway's admin listener as operator $who
# (a certs/dev name or a path; undef: no --cert/--key):
#   eppgwctl -f CONF --cert certs/dev/WHO.pem --key certs/dev/WHO.key ARGS
# The gateway may be left out (then the last one started is meant); a hash
# as the last argument gives options: stdin (text fed to its stdin, else
# /dev/null), timeout (seconds, default 40).  Returns (exit code, stdout,
# stderr); the exit code is 128 + N when killed by signal N (e.g. on
# timeout).
sub ctl {
	my $gw = ref $_[0] eq 'HASH' ? shift : $gateways[-1];
	my $who = shift;
	my %opt = ref $_[-1] eq 'HASH' ? %{pop @_} : ();
	my @args = @_;
	croak 'ctl: no gateway' unless $gw;
	my $bin = File::Spec->catfile(build_dir(), 'eppgwctl');
	-x $bin or croak "$bin missing: run make build/eppgwctl";
	my $dir = run_dir();
	my $tag = "ctl-$$-" . int(time * 1000) . '-' . int(rand(1e6));
	my ($in, $out, $err) = map { "$dir/$tag.$_" } qw(in out err);
	open(my $ifh, '>', $in) or croak "$in: $!";
	print $ifh $opt{stdin} if defined $opt{stdin};
	close($ifh);
	my @cmd = ($bin, '-f', $gw->{conf}, (defined $who ?
	    ('--cert', _cert_path($who, 'pem'), '--key', _cert_path($who, 'key'))
	    : ()), @args);
	my $pid = fork() // croak "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', $in) or die "$in: $!";
		open(STDOUT, '>', $out) or die "$out: $!";
		open(STDERR, '>', $err) or die "$err: $!";
		exec(@cmd) or die "exec $bin: $!";
	}
	my $deadline = time + ($opt{timeout} // 40);
	my $st;
	while (1) {
		if (waitpid($pid, WNOHANG) == $pid) { $st = $?; last }
		if (time > $deadline) {
			kill('KILL', $pid);
			waitpid($pid, 0);
			$st = $?;
			last;
		}
		sleep(0.02);
	}
	my @r = ($st & 127 ? 128 + ($st & 127) : $st >> 8, slurp($out),
	    slurp($err));
	unlink($in, $out, $err);
	return @r;
}

# The TOTP time step of an epoch second (default now) for a demo operator.
sub totp_step {
	my ($name, $at) = @_;
	my $s = demo_seeds()->{$name} or croak "totp_step: no demo seed for $name";
	return int(($at // time) / $s->{step});
}

# The TOTP code of demo operator $name (examples/demo.seeds) $offset steps
# from the step of epoch second $at (default now), from oathtool:
#   oathtool --totp -b -N @EPOCH SEED
sub totp {
	my ($name, $offset, $at) = @_;
	my $s = demo_seeds()->{$name} or croak "totp: no demo seed for $name";
	my $epoch = (totp_step($name, $at) + ($offset // 0)) * $s->{step};
	my $alg = $s->{alg} eq 'SHA1' ? '' : '=' . $s->{alg};
	my $pid = open(my $fh, '-|') // croak "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', '/dev/null');
		exec('oathtool', "--totp$alg", '-b', '-d', $s->{digits},
		    '-s', $s->{step}, '-N', "\@$epoch", $s->{seed})
		    or die "exec oathtool: $!";
	}
	my $code = <$fh>;
	close($fh);
	croak "oathtool failed (is it installed?)"
	    unless defined $code && $code =~ /^(\d{$s->{digits}})$/;
	return $1;
}

# A TOTP code of demo operator $who that the gateway has not seen: the
# oldest step of now-1 .. now+1 after $last (the last step it accepted
# from $who; undef: none) that it will still take in $min_life seconds
# (default 4).  When there is none, waits for the next step (a note says
# so), at most three times, then bails out.  Returns (step, code).
sub fresh_totp {
	my ($who, $last, $min_life) = @_;
	$min_life //= 4;
	$last //= -1;
	for my $try (1 .. 3) {
		my $now = time;
		my $cur = totp_step($who, $now);
		for my $s ($cur - 1 .. $cur + 1) {
			next if $s <= $last || ($s + 2) * 30 - $now < $min_life;
			return ($s, totp($who, $s - $cur, $now));
		}
		my $wait = ($cur + 1) * 30 - $now + 0.3;
		Test::More::note(sprintf('waiting %.1f s for a new TOTP step '
		    . 'for %s', $wait, $who));
		sleep($wait);
	}
	Test::More::BAIL_OUT("no fresh TOTP step for $who");
}

# ---- approvals ----

# A test: $r (an epp_send() reply) is a change the gateway held for
# approval, 2304 approval_required with a change id; the test is named
# "$name 2304 approval_required ID".  Returns the change id ('' if none).
sub held_ok {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	Test::More::ok($r->{code} eq '2304'
	    && $r->{reason} eq 'approval_required'
	    && $r->{id} =~ /^[0-9a-f]{12}$/,
	    "$name 2304 approval_required $r->{id}")
	    or Test::More::diag("code $r->{code}, reason $r->{reason}");
	return $r->{id};
}

# A test: demo operator $who approves change $id on $gw with the TOTP code
# of now (eppgwctl approve ID --otp CODE) and eppgwctl exits 0.
sub ctl_approve_ok {
	my ($gw, $who, $id) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @r = ctl($gw, $who, 'approve', $id, '--otp', totp($who));
	Test::More::is($r[0], 0, "$who approves $id with his TOTP code")
	    or Test::More::diag("stdout $r[1] stderr $r[2]");
	return $r[0] == 0;
}

# ---- the audit log and eppgw-audit ----
#
# A gateway started with audit => ... writes its log to $gw->{audit_dir},
# signed with certs/dev/audit.key as origin eppgw/e2e: verify it with
# --vkey certs/dev/audit.pub.
#
#   my ($rs, $gw, $reg, $direct) = audited_gateway(watch => 1);
#   ... held_ok(), ctl_approve_ok(), epp_send() ...
#   is(stop_gateway($gw), 0);
#   my ($rc, $out) = audit_verify($gw->{audit_dir});  # 0: valid, sealed
#   ($rc, $out, my $err) = eppgw_audit('changes', '--object',
#       'locked.example', $gw->{audit_dir});
#
#   my $adir = audit_commands($rs, 'first');   # two commands, a clean stop
#   audit_commands($rs, 'second', audit => { dir => $adir });

# Run BUILD/eppgw-audit ARGS: (exit code, stdout, stderr); the exit code
# is 128 + N when it was killed by signal N.  A hash as the last argument
# gives options: merge (stderr goes where stdout goes, as 2>&1; the
# stderr returned is then '').
my $audit_runs = 0;
sub eppgw_audit {
	my %opt = ref $_[-1] eq 'HASH' ? %{pop @_} : ();
	my @args = @_;
	my $bin = File::Spec->catfile(build_dir(), 'eppgw-audit');
	my $err = File::Spec->catfile(run_dir(), "audit-$$-" . ++$audit_runs
	    . '.err');
	my $pid = open(my $fh, '-|') // croak "fork: $!";
	if ($pid == 0) {
		if ($opt{merge}) {
			open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		} else {
			open(STDERR, '>', $err) or POSIX::_exit(126);
		}
		exec($bin, @args) or POSIX::_exit(127);
	}
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	my $st = $?;
	my $e = slurp($err);
	unlink($err);
	return ($st & 127 ? 128 + ($st & 127) : $st >> 8, $out, $e);
}

# eppgw-audit verify of a log with the demo key's public half:
#   eppgw-audit verify --vkey certs/dev/audit.pub ARGS 2>&1
# Returns (exit code, stdout and stderr together).
sub audit_verify {
	my @args = @_;
	return (eppgw_audit('verify', '--vkey',
	    File::Spec->catfile(certs_dir(), 'audit.pub'), @args,
	    { merge => 1 }))[0, 1];
}

# The segment files of an audit log directory (seg-N.jsonl), sorted: their
# names, or with paths => 1 their paths.
sub audit_segments {
	my ($adir, %o) = @_;
	opendir(my $dh, $adir) or return ();
	my @s = sort grep { /^seg-\d{20}\.jsonl$/ } readdir($dh);
	closedir($dh);
	return $o{paths} ? map { "$adir/$_" } @s : @s;
}

# The records of type $t (cmd, rsp, approval, observation, ...) in an
# audit log directory, decoded, in log order.
sub audit_records {
	my ($adir, $t) = @_;
	require JSON::PP;
	my @r;
	for my $s (audit_segments($adir)) {
		for my $line (split /\n/, slurp("$adir/$s")) {
			my $j = eval { JSON::PP::decode_json($line) } or next;
			push @r, $j if ($j->{t} // '') eq $t;
		}
	}
	return @r;
}

# A tampered copy of audit log $adir: the directory copied (cp -a) to
# NAME in the run directory, then in its first segment the first $from of
# each line replaced by $to (the file keeps its mode).  Returns its path.
sub audit_tampered_copy {
	my ($adir, $name, $from, $to) = @_;
	my $copy = File::Spec->catdir(run_dir(), $name);
	system('cp', '-a', $adir, $copy) == 0 or croak "cp -a $adir: $?";
	my ($first) = audit_segments($copy) or croak "no segment in $copy";
	my $path = "$copy/$first";
	my $mode = (stat($path))[2] & 07777;
	(my $text = slurp($path)) =~ s/^(.*?)\Q$from\E/$1$to/mg;
	chmod(0600, $path);
	spew($path, $text);
	chmod($mode, $path);
	return $copy;
}

# Tests: a few commands through a new gateway on $rs with an audit log,
# then a clean stop (so that the last checkpoint covers everything).
# Options: audit ([audit] overrides as for start_gateway; pass dir =>
# $adir to continue a log), count (default 2): that many domain:info
# commands of open.example, clTRIDs TAG-1, TAG-2, ..., each a test
# ("TAG: command N", 1000), and the stop ("TAG: clean stop", 0).
# Returns the audit directory.
sub audit_commands {
	my ($rs, $tag, %o) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $gw = start_gateway(regsim => $rs, audit => $o{audit} // 1);
	my $e = epp_client(port => $gw->{port})
	    or Test::More::BAIL_OUT('login');
	for my $i (1 .. ($o{count} // 2)) {
		my $doc = epp_raw($e, epp_command(info_domain('open.example'),
		    "$tag-$i"));
		Test::More::is(result_code($doc), 1000, "$tag: command $i");
	}
	epp_close($e);
	Test::More::is(stop_gateway($gw), 0, "$tag: clean stop");
	return $gw->{audit_dir};
}

# The cast of an audited approval: a simulator, a gateway on it with a
# lock on locked.example, [approvals] and [audit] (more start_gateway
# options in %o, e.g. watch => 1), a session through it as registrar and
# one straight to the simulator; bails out when a session cannot log in.
# Returns ($rs, $gw, $reg, $direct).
sub audited_gateway {
	my (%o) = @_;
	my $rs = start_regsim();
	my $gw = start_gateway(regsim => $rs,
	    policy => { locks => ['locked.example'] }, approvals => 1,
	    audit => 1, %o);
	my $reg = epp_client(port => $gw->{port}, cert => 'registrar')
	    or Test::More::BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	my $direct = epp_client(port => $rs->{port})
	    or Test::More::BAIL_OUT("simulator: $Net::EPP::Simple::Error");
	return ($rs, $gw, $reg, $direct);
}

1;
