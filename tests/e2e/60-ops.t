#!/usr/bin/perl
# Operations: systemd notifications, reload under live sessions (a session
# keeps its configuration, a new one sees the new lock list, a broken
# configuration keeps the old one), drain on SIGTERM, and `make install`.
use strict;
use warnings;
use File::Path qw(make_path);
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Socket qw(SOCK_DGRAM);
use Test::More;
use Time::HiRes qw(sleep time);

use EppgwTest qw(:all);

my $dir = run_dir();
my $notify_path = "$dir/notify.sock";
my $notify = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $notify_path)
    or die "notify socket: $!";
$ENV{NOTIFY_SOCKET} = $notify_path;

# Wait for a notification matching $re; collect everything seen.
sub notified {
	my ($re, $secs) = @_;
	my $deadline = time + ($secs // 5);
	my $seen = '';
	while (time < $deadline) {
		my $rin = '';
		vec($rin, fileno($notify), 1) = 1;
		next unless select(my $rout = $rin, undef, undef, 0.1);
		my $msg;
		$notify->recv($msg, 4096);
		$seen .= "$msg\n";
		return $seen if $msg =~ $re;
	}
	return undef;
}

my $rs = start_regsim();
my $mport = free_port();
my $gw = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] },
    gateway => { metrics_listen => "127.0.0.1:$mport" }, audit => 1);
ok(notified(qr/^READY=1/m), 'systemd hears READY=1 once the gateway serves');

my $ns_add = sub {
	my ($name, $host) = @_;
	return '<update><domain:update xmlns:domain="urn:ietf:params:xml:ns:'
	    . "domain-1.0\"><domain:name>$name</domain:name><domain:add>"
	    . "<domain:ns><domain:hostObj>$host</domain:hostObj></domain:ns>"
	    . '</domain:add></domain:update></update>';
};
my $ns_rem = sub {
	my ($name, $host) = @_;
	(my $x = $ns_add->($name, $host)) =~ s/domain:add>/domain:rem>/g;
	return $x;
};
my $n = 0;
sub code_of {
	my ($epp, $inner) = @_;
	my $doc = epp_raw($epp, epp_command($inner, 'OPS-' . ++$n));
	return ref $doc ? result_code($doc) : 'closed';
}

# ---- reload under a live session ----
my $old = epp_client(port => $gw->{port}) or die 'login';
is(code_of($old, $ns_add->('open.example', 'ns2.dns.example')), 1000,
    'before reload: open.example is not locked');
is(code_of($old, $ns_rem->('open.example', 'ns2.dns.example')), 1000,
    'and the change is undone');

open(my $fh, '>>', $gw->{locks}) or die "$gw->{locks}: $!";
print $fh "open.example\n";
close($fh);
kill('HUP', $gw->{pid});
my $seen = notified(qr/^READY=1/m);
ok($seen && $seen =~ /RELOADING=1/ && $seen =~ /MONOTONIC_USEC=\d+/,
    'SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1');
ok(gateway_log_like($gw, qr/reload done/, 'the log says the reload is done', 5),
    'reload logged') or diag(gateway_log($gw));

is(code_of($old, $ns_add->('open.example', 'ns2.dns.example')), 1000,
    'a session opened before the reload keeps its configuration');
is(code_of($old, $ns_rem->('open.example', 'ns2.dns.example')), 1000,
    '(undone)');
my $new = epp_client(port => $gw->{port}) or die 'login';
is(code_of($new, $ns_add->('open.example', 'ns2.dns.example')), 2304,
    'a new session sees the new lock list');

# A broken configuration is refused and the last good one stays.
open($fh, '>>', $gw->{conf}) or die;
print $fh "\n[gateway]\nno_such_key = 1\n";
close($fh);
kill('HUP', $gw->{pid});
ok(gateway_log_like($gw, qr/no_such_key.*\n.*reload failed|reload failed/s,
    'broken config: reload failed, old one kept', 5), 'broken reload refused');
ok(gateway_log_like($gw, qr/:\d+: unknown key "no_such_key"/,
    'the error names file:line', 2), 'file:line in the log');
my $third = epp_client(port => $gw->{port}) or die 'login after bad reload';
is(code_of($third, $ns_add->('open.example', 'ns2.dns.example')), 2304,
    'after the broken reload new sessions still get the last good lock list');
epp_close($_) for $new, $third;

# A reload is done only once the old workers stopped accepting: until
# then a new session could reach one and its old configuration.  Old
# workers that cannot answer hold READY=1 back.
notified(qr/^READY=1/m, 1);	# the broken reload's
{
	my $c = slurp($gw->{conf});
	$c =~ s/\n\[gateway\]\nno_such_key = 1\n\z//
	    or BAIL_OUT('cannot mend the configuration');
	spew($gw->{conf}, $c);
}
my $done = gateway_log_count($gw, qr/reload done/);
my @workers = gateway_procs($gw, 'worker');
ok(@workers, 'workers found') or diag(gateway_log($gw));
kill('STOP', @workers);
kill('HUP', $gw->{pid});
ok(notified(qr/RELOADING=1/m), 'reload with stopped workers: RELOADING=1');
ok(!notified(qr/^READY=1/m, 1.5),
    'no READY=1 while an old worker may still accept');
kill('CONT', @workers);
ok(notified(qr/^READY=1/m, 5), 'READY=1 once the old workers stopped accepting');
is(gateway_log_count($gw, qr/reload done/), $done + 1,
    'reload done logged once more');
my $fourth = epp_client(port => $gw->{port}) or die 'login after reload';
is(code_of($fourth, $ns_add->('open.example', 'ns2.dns.example')), 2304,
    'and a new session gets the new configuration');
epp_close($fourth);

# ---- metrics ----
my $m = scrape_metrics($mport);
my @bad = grep { !/^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)+\})? \d+(\.\d+)?)$/ } split /\n/, $m;
ok(length($m) && !@bad, 'metrics parse as Prometheus text') or diag(join("\n", @bad));
like($m, qr/^eppgw_commands_total\{command="domain:update",decision="allow"\} [1-9]\d*$/m,
    'allowed domain:update commands are counted');
like($m, qr/^eppgw_commands_total\{command="domain:update",decision="approval_required"\} [1-9]/m,
    'held ones too');
like($m, qr/^eppgw_replies_total\{src="gateway",code="2304"\} [1-9]/m,
    'gateway replies by code');
like($m, qr/^eppgw_sessions_open \d+$/m, 'open sessions gauge');
like($m, qr/^eppgw_audit_records_total [1-9]\d*$/m, 'audit records made durable');
like($m, qr/^eppgw_audit_syncs_total [1-9]\d*$/m, 'audit group commits');
like($m, qr/^eppgw_audit_sync_seconds_total \d+\.\d+$/m, 'fdatasync time');
unlike($m, qr/example|registrar1|ns2\.dns/, 'no domain name or clID in any label');

# ---- drain on SIGTERM ----
kill('TERM', $gw->{pid});
ok(notified(qr/^STOPPING=1/m), 'SIGTERM: STOPPING=1');
my $t0 = time;
my $st;
while (time - $t0 < 15) {
	last if waitpid($gw->{pid}, WNOHANG) == $gw->{pid} && defined($st = $?);
	sleep(0.05);
}
ok(defined $st && $st == 0, 'the gateway drains and exits 0')
    or diag('status ' . ($st // 'still running'));
ok(time - $t0 < 5, 'idle sessions do not hold the drain up');
is(code_of($old, '<hello/>'), 'closed', 'the idle session was closed');
delete $gw->{pid};
epp_close($old);
ok(gateway_log_like($gw, qr/draining \d+ sessions/, 'drain logged', 1),
    'drain logged');
delete $ENV{NOTIFY_SOCKET};

# ---- make install ----
my $root = repo_root();
my $dest = "$dir/destdir";
my $build = build_dir();
my $out = `make -C '$root' --no-print-directory install BUILD='$build' DESTDIR='$dest' PREFIX=/usr SYSCONFDIR=/etc 2>&1`;
is($?, 0, 'make install DESTDIR=... succeeds') or diag($out);
for my $f (qw(usr/sbin/eppgw usr/sbin/eppgwctl usr/bin/eppgw-audit)) {
	ok(-x "$dest/$f", "installs $f");
}
for my $f (qw(usr/share/man/man8/eppgw.8 usr/share/man/man5/eppgw.conf.5
    usr/share/man/man8/eppgwctl.8 usr/share/man/man1/eppgw-audit.1
    usr/lib/systemd/system/eppgw.service etc/eppgw/eppgw.conf
    etc/eppgw/eppgw.conf.example)) {
	ok(-f "$dest/$f", "installs $f");
}
my $unit = do { local (@ARGV, $/) = "$dest/usr/lib/systemd/system/eppgw.service"; <> } // '';
like($unit, qr{^ExecStart=/usr/sbin/eppgw -f /etc/eppgw/eppgw.conf$}m,
    'the unit names the installed paths');
like($unit, qr/^Type=notify$/m, 'Type=notify');
like($unit, qr/^ExecReload=.*eppgw -t/m, 'reload checks the configuration first');
ok(((stat("$dest/etc/eppgw/eppgw.conf"))[2] & 07777) == 0640,
    'the configuration is installed 0640');
open($fh, '>', "$dest/etc/eppgw/eppgw.conf") or die;
print $fh "# mine\n";
close($fh);
$out = `make -C '$root' --no-print-directory install BUILD='$build' DESTDIR='$dest' PREFIX=/usr SYSCONFDIR=/etc 2>&1`;
is($?, 0, 'a second make install succeeds') or diag($out);
my $kept = do { local (@ARGV, $/) = "$dest/etc/eppgw/eppgw.conf"; <> };
is($kept, "# mine\n", 'an existing configuration is never overwritten');
like($out, qr/keeping the existing/, 'and make says so');

# ---- man pages lint clean ----
SKIP: {
	skip 'mandoc not installed', 1 unless system('command -v mandoc >/dev/null') == 0;
	# From the pages' directory, so their cross-references resolve.
	my $lint = `cd '$root/man' && mandoc -Tlint -Wall *.[158] 2>&1`;
	is($lint, '', 'mandoc -Tlint -Wall prints nothing') or diag($lint);
}

gateways_clean();
done_testing();
