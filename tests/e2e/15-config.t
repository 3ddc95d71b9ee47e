#!/usr/bin/perl
# `eppgw -T`, the real binary: a configuration that sets every key prints a
# configuration that loads (`-t`) and prints the same again; every key
# eppgw.conf(5) documents is in it, nothing undocumented is, and no secret
# shows.  (tests/unit/test_config_print.c checks the parser's keys, defaults
# and ranges against the manual.)
use strict;
use warnings;
use File::Path qw(make_path);
use Test::More;

use EppgwTest qw(build_dir certs_dir repo_root run_dir slurp);

my $eppgw = build_dir() . '/eppgw';
my $certs = certs_dir();
my $dir = run_dir();
my $user = getpwuid($>) // die "who am I?";

sub put {
	my ($path, $text, $mode) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close($fh) or die "$path: $!";
	chmod($mode // 0600, $path) or die "$path: $!";
}

# Run eppgw with @args: (exit status, stdout, stderr).
sub eppgw {
	my @args = @_;
	my $pid = open(my $out, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', "$dir/stderr") or die;
		exec($eppgw, @args) or die "exec $eppgw: $!";
	}
	local $/;
	my $text = <$out> // '';
	close($out);
	return ($? >> 8, $text, slurp("$dir/stderr"));
}

# The sections and keys of a printed configuration, as "section key" =>
# value (continuation lines joined by a space).
sub keys_of {
	my ($text) = @_;
	my (%k, $sect, $last);
	for my $line (split /\n/, $text) {
		if ($line =~ /^\[(\w+)/) {
			$sect = $1;
			undef $last;
		} elsif ($line =~ /^\t(.*)/ && defined $last) {
			$k{$last} .= " $1";
		} elsif ($line =~ /^(\w+) ?= ?(.*)$/) {
			$last = "$sect $1";
			$k{$last} //= $2;	# principals: the first
		} elsif ($line ne '') {
			fail("unexpected line: $line");
		}
	}
	return \%k;
}

# The keys eppgw.conf(5) documents: ".It Cm key" in the outer list of each
# section's .Sh.
my %title = (GATEWAY => 'gateway', UPSTREAM => 'upstream',
    PRINCIPALS => 'principal', POLICY => 'policy', AUDIT => 'audit',
    'WEBHOOK ALERTS' => 'alerts', ADMIN => 'admin',
    APPROVALS => 'approvals');
my (%documented, $sect, $depth);
for (split /\n/, slurp(repo_root() . '/man/eppgw.conf.5')) {
	if (/^\.Sh (.*)/) {
		($sect, $depth) = ($title{$1}, 0);
	} elsif (/^\.Bl /) {
		$depth++;
	} elsif (/^\.El/) {
		$depth--;
	} elsif (defined $sect && $depth == 1 && /^\.It Cm (\w+)/) {
		$documented{"$sect $1"} = 1;
	}
}
cmp_ok(scalar(keys %documented), '>', 50, 'the manual documents the keys');

# Every key, none at its default; relative names are the file's
# directory's, so -T must resolve them.
make_path("$dir/conf");
put("$dir/watch.pw", "the-watch-password\n");
put("$dir/alert.secret", "the-alert-secret\n");
put("$dir/policy.key", "the-policy-secret-key-32-bytes!!\n");
put("$dir/demo.seeds", "");
put("$dir/locks.txt", "locked.example\n*.bank.example\n", 0644);
for my $x (qw(one two)) {
	put("$dir/$x-extension-with-a-long-name-1.0.xsd",
	    '<schema xmlns="http://www.w3.org/2001/XMLSchema" ' .
	    "targetNamespace=\"urn:example:$x-1.0\">" .
	    '<element name="x" type="token"/></schema>', 0644);
}
put("$dir/conf/eppgw.conf", <<"EOF");
[gateway]
listen = 127.0.0.1:17000
cert = $certs/gateway.pem
key = $certs/gateway.key
client_ca = $certs/ca.pem
max_frame = 32768
handshake_timeout = 11
idle_timeout = 601
frame_timeout = 31
workers = 3
max_sessions = 100
max_sessions_per_principal = 10
max_sessions_per_address = 9
login_timeout = 29
metrics_listen = [::1]:17002
user = $user
run_as_root = yes
chroot = /var/empty/eppgw

[upstream]
address = 127.0.0.1:17700
server_name = registry.example
ca = $certs/ca.pem
cert = $certs/upstream.pem
key = $certs/upstream.key
max_frame = 2097152
clid = watcher
password_file = ../watch.pw
refresh = 301
keepalive = 61
state = ../regstate.json
state_max = 5000
connect_timeout = 12
reply_timeout = 62

[audit]
dir = ../audit
signing_key = $certs/audit.key
publish_dir = ../publish
origin = eppgw/test-origin
segment_max = 1048576
checkpoint_ms = 1500
heartbeat = 120

[alerts]
url = https://hook:hunter2\@alerts.example/hook?token=hunter2
secret = ../alert.secret
ca = $certs/ca.pem
queue_max = 50
retries = 7
timeout_ms = 1234

[admin]
listen = 127.0.0.1:17001
cert = $certs/gateway.pem
key = $certs/gateway.key
client_ca = $certs/ca.pem

[approvals]
seeds = ../demo.seeds
state = ../approvals.json
ticket_ttl = 300
pending_ttl = 3600
max_pending = 77
max_pending_per_principal = 7
totp_window = 2
rate_attempts = 4
rate_period = 45
lockout_after = 6
global_cap = 30
global_period = 900

[policy]
locks = ../locks.txt
schemas = ../one-extension-with-a-long-name-1.0.xsd
    ../two-extension-with-a-long-name-1.0.xsd
secret_key = ../policy.key
protect = ns ds registrant

[principal registrar]
cert = $certs/registrar.pem $certs/alice.pem
cert_sha256 = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
clids = registrar1 registrar2
roles = requester approver
approve = locked.example *.bank.example
EOF

my ($rc, $once, $err) = eppgw('-T', '-f', "$dir/conf/eppgw.conf");
is($rc, 0, '-T prints the configuration') or diag($err);
put("$dir/printed.conf", $once);
my ($rc2, $twice, $err2) = eppgw('-T', '-f', "$dir/printed.conf");
is($rc2, 0, 'its output loads') or diag($err2);
is($twice, $once, 'and prints the same again');
my ($rc3, $ok) = eppgw('-t', '-f', "$dir/printed.conf");
is($rc3, 0, '-t accepts the output');
like($ok, qr/configuration OK/, '-t says so');

my $printed = keys_of($once);
for my $k (sort keys %documented) {
	# Certificates print as their fingerprints.
	my $as = $k eq 'principal cert' ? 'principal cert_sha256' : $k;
	ok(exists $printed->{$as}, "[$k] is printed");
}
for my $k (sort keys %$printed) {
	ok($documented{$k}, "printed [$k] is documented");
}
my @fps = split / /, $printed->{'principal cert_sha256'};
is(scalar(@fps), 3, 'cert and cert_sha256 print as three fingerprints');
ok(!grep(length($_) > 198, split /\n/, $once), 'no line is too long to load');
like($once, qr{^schemas = \Q$dir\E/conf/\.\./one\S+\n\t\Q$dir\E/conf/\.\./two}m,
    'paths print resolved, a long list on a continuation line');

unlike($once, qr/hunter2|alerts\.example/, 'the alert URL is not printed');
unlike($once, qr/the-watch-password|the-alert-secret|the-policy-secret/,
    'secret files print as their names');
is($printed->{'alerts url'}, '(not printed: it may hold credentials)',
    'the URL prints as a placeholder');

done_testing();
