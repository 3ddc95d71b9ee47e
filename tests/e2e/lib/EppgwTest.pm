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
	repo_root build_dir certs_dir run_dir free_port wait_port
	start_regsim stop_regsim
	epp_client epp_close epp_raw epp_read epp_command send_bytes
	result_code xpc
	journal_lines journal_find
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
		    . _slurp($rs->{log});
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

END {
	my $st = $?;
	# Close clients before global destruction tears their sockets down
	# under Net::EPP::Simple's DESTROY (which would try to log out).
	epp_close($_) for grep { defined } @clients;
	@clients = ();
	# Only the process that started a daemon stops it: a test that forks
	# clients must not have each child kill the simulator on exit.
	for my $c (grep { $_->[2] == $$ } @children) {
		kill('TERM', $c->[0]);
		waitpid($c->[0], 0);
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

# ---- the journal ----

sub _slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	return scalar <$fh>;
}

# Parse the simulator's journal (a start_regsim() handle or a path) into
# hashes: { ts, clTRID, svTRID, clID, cmd, op, obj, code, line }.  Values
# are unescaped (%XX); "-" means empty.
sub journal_lines {
	my ($rs) = @_;
	my $path = ref $rs ? $rs->{journal} : $rs;
	my @out;
	for my $line (split /\n/, _slurp($path)) {
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

# Journal entries whose fields equal every given value, e.g.
# journal_find($rs, clTRID => 'T-1', code => 1000).
sub journal_find {
	my ($rs, %want) = @_;
	return grep {
		my $e = $_;
		!grep { !defined $e->{$_} || $e->{$_} ne $want{$_} } keys %want;
	} journal_lines($rs);
}

1;
