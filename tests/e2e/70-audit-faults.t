#!/usr/bin/perl
# 70-audit-faults.t: the audit log under faults (DESIGN.md section 5,
# docs/audit-log.md).  The contract: a command's `cmd` record is durable
# before the command is forwarded, but for a read-only one (check, info,
# hello), whose record the next group commit makes durable; the registry's
# reply's `rsp` record (req = the cmd's seq) before the session's next
# command is forwarded; when the log cannot write, the
# gateway answers 2400 audit_unavailable and forwards nothing, and keeps
# running.  The simulator's journal is what the registry executed.
#
#   names         a short Net::EPP session (login, info, an allowed update,
#                 a held change on locked.example, logout): each clTRID has
#                 one cmd record with its decision and an rsp record whose
#                 req is the cmd's seq and whose code (and svTRID) is what
#                 the client got; verify exits 0 after SIGTERM
#   kill -9       8 forked clients stream commands; after ~2 s the gateway
#                 gets SIGKILL.  verify exits 0 or 2; every clTRID in the
#                 journal has a cmd record, but for a session's last
#                 command if read-only; every registry reply a client got
#                 has its rsp record, but for a session's last; the restart
#                 on the same log writes a recovery record whose
#                 `unanswered` list is exactly the cmd records without an
#                 rsp and whose `open_sessions` are exactly the sessions
#                 open at the kill (every session with a missing record
#                 among them), serves again, and after SIGTERM verify
#                 exits 0
#   ENOSPC        the log on a 256 KiB tmpfs (root only, else skipped), the
#                 rest of it filled: the first failing command and every
#                 later one (this and other sessions, a new login) get 2400
#                 audit_unavailable, the journal does not grow, the log says
#                 so, the gateway runs on and stops on SIGTERM; with space
#                 again the log is recovered on restart
#   RLIMIT_FSIZE  prlimit lowers the running gateway's file size limit:
#                 the write fails with EFBIG (if SIGXFSZ is ignored) and
#                 the gateway must answer 2400, not die
#
#   make certs build/eppgw build/eppgw-regsim build/eppgw-audit
#   prove -I tests/e2e/lib tests/e2e/70-audit-faults.t
use strict;
use warnings;

use Test::More;
use IO::Handle;
use JSON::PP;
use POSIX qw(:sys_wait_h _exit);
use Time::HiRes qw(time sleep);
use EppgwTest qw(:all);

my $t0 = time;
# What a real deployment gets (an ignored SIGXFSZ would be inherited).
$SIG{XFSZ} = "DEFAULT";
my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $LOCKS = { locks => ['locked.example'] };

skip_without(built => [qw(eppgw eppgw-regsim eppgw-audit)]);
my $dir = run_dir();

# ---- helpers ----

sub check_cmd {
	return "<check><domain:check $D><domain:name>open.example</domain:name>"
	    . '<domain:name>free-' . int(rand(1e6)) . '.example</domain:name>'
	    . '</domain:check></check>';
}

my $LOGIN = '<login><clID>registrar1</clID><pw>demo-password-1</pw>'
    . '<options><version>1.0</version><lang>en</lang></options><svcs>'
    . '<objURI>urn:ietf:params:xml:ns:domain-1.0</objURI>'
    . '<objURI>urn:ietf:params:xml:ns:host-1.0</objURI>'
    . '<objURI>urn:ietf:params:xml:ns:contact-1.0</objURI></svcs></login>';

# Send one command; returns { trid, code, reason, svtrid } (code 'none'
# when the connection closed or timed out).
sub send_cmd {
	my ($epp, $inner, $trid) = @_;
	my $doc = epp_raw($epp, epp_command($inner, $trid));
	my %r = (trid => $trid, code => result_code($doc) // 'none',
	    reason => '', svtrid => '');
	if (ref $doc) {
		my $x = xpc($doc);
		($r{reason}) = $x->findvalue('//epp:result/epp:extValue/'
		    . 'epp:reason') =~ /^(\S*)/;
		$r{svtrid} = $x->findvalue('//epp:trID/epp:svTRID');
	}
	return \%r;
}

# After a clean stop: sealed.  A log with a recovery record verifies as 2
# for good (docs/audit-log.md: "2 valid with warnings: ... recovery
# records"), so 2 passes when its only warnings are recovery records and
# the seal covers every record.  Returns (ok, explanation).
sub verify_sealed {
	my ($adir) = @_;
	my ($rc, $out) = audit_verify($adir);
	return (1, 'exit 0') if $rc == 0;
	my @warn = $out =~ /^eppgw-audit: warning: (.*)$/mg;
	my @other = grep { !/\(seq \d+\): (recovery: |\d+ records \(\d+ bytes\) that no signature covered were set aside)/ } @warn;
	my ($n, $sealed) = $out =~ /^records (\d+),.* sealed (\d+);/m;
	return (1, 'exit 2: ' . scalar(@warn) . ' recovery warning(s) only, '
	    . "sealed $sealed of $n") if $rc == 2 && @warn && !@other
	    && defined $n && $n == $sealed && $out !~ /^eppgw-audit: (?!warning)/m;
	return (0, "exit $rc:\n$out");
}

# Every complete record of a log, via `eppgw-audit show` (JSON Lines).
sub records {
	my ($adir) = @_;
	my @r;
	for my $line (split /\n/,
	    (eppgw_audit('show', $adir, { merge => 1 }))[1]) {
		my $j = eval { decode_json($line) };
		push @r, $j ? $j : { t => 'UNPARSABLE', raw => $line };
	}
	return @r;
}

# The cmd records by clTRID (a list each), the rsp records by req, and the
# seqs of cmd records no rsp names.
sub index_log {
	my (@recs) = @_;
	my (%cmd, %rsp, %seqcmd);
	for my $r (@recs) {
		my $t = $r->{t} // '';
		if ($t eq 'cmd') {
			push @{$cmd{$r->{cltrid} // ''}}, $r;
			$seqcmd{$r->{seq}} = $r;
		} elsif ($t eq 'rsp') {
			push @{$rsp{$r->{req} // -1}}, $r;
		}
	}
	my @unanswered = sort { $a <=> $b } grep { !$rsp{$_} } keys %seqcmd;
	return (\%cmd, \%rsp, \@unanswered, \%seqcmd);
}

# The journal's clTRIDs that have no cmd record.
sub journal_without_cmd {
	my ($rs, $cmd) = @_;
	return map { $_->{clTRID} } grep { !$cmd->{$_->{clTRID} // '-'} }
	    journal_lines($rs);
}

# The journal's clTRIDs without a cmd record that the contract does not
# excuse: a read-only command (check, info) is forwarded before its record
# is durable, so when the log fails (or the gateway dies) the last one a
# client's session executed may lack it.  A client is its clTRID less the
# final -N.
sub journal_unexcused {
	my ($rs, $cmd) = @_;
	my @j = journal_lines($rs);
	my %last;
	for my $e (@j) {
		(my $c = $e->{clTRID} // '-') =~ s/-\d+$//;
		$last{$c} = $e->{clTRID} // '-';
	}
	return map { $_->{clTRID} } grep {
		my $t = $_->{clTRID} // '-';
		(my $c = $t) =~ s/-\d+$//;
		!$cmd->{$t} && !(($_->{cmd} // '') =~ /(?:^|:)(?:check|info)$/
		    && $last{$c} eq $t) } @j;
}

# Running (not a zombie); does not reap, so stop_gateway() still can.
sub alive {
	my ($pid) = @_;
	return 0 unless $pid && kill(0, $pid);
	my $st = slurp("/proc/$pid/stat");
	return $st !~ /^\d+ \(.*\) [ZX] /s;
}


sub file_size { return -s $_[0] // 0 }

# The data in an open segment: the writer zero-fills it ahead of the data
# (preallocate, audit.c), and the zeros are not part of the log.
sub content_size {
	(my $b = slurp($_[0])) =~ s/\0+\z//;
	return length $b;
}


sub short { my $s = join(' ', @_); return length($s) > 400 ? substr($s, 0, 400) . '...' : $s }

# ======================================================================
# 1. The log names every command.
# ======================================================================
{
	my $rs = start_regsim(journal => "$dir/journal-names.log");
	my $gw = start_gateway(regsim => $rs, policy => $LOCKS, audit => 1);
	my $epp = epp_client(port => $gw->{port}, login => 0);
	ok($epp, 'names: connected to the gateway, greeting read')
	    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	my @steps = (
		['NM-login',  $LOGIN, 'allow', 1000, 'login'],
		['NM-info',   info_domain('open.example'), 'allow', 1000,
		    'domain:info'],
		['NM-update', ns_update('open.example', 'add',
		    'ns2.dns.example'), 'allow', 1000, 'domain:update'],
		['NM-held',   ns_update('locked.example', 'add',
		    'ns2.dns.example'), 'approval_required', 2304,
		    'domain:update'],
		['NM-logout', '<logout/>', 'allow', 1500, 'logout'],
	);
	my %got;
	for my $s (@steps) {
		my ($trid, $inner, undef, $want) = @$s;
		my $r = $got{$trid} = send_cmd($epp, $inner, $trid);
		is($r->{code}, $want, "names: $trid answered $want"
		    . ($r->{reason} ? " ($r->{reason})" : ''));
	}
	is(stop_gateway($gw), 0, 'names: the gateway stops on SIGTERM');
	my ($vrc, $vout) = audit_verify($gw->{audit_dir});
	is($vrc, 0, 'names: eppgw-audit verify exits 0 after the clean stop')
	    or diag($vout);

	my @recs = records($gw->{audit_dir});
	my ($cmd, $rsp) = index_log(@recs);
	for my $s (@steps) {
		my ($trid, undef, $decision, undef, $name) = @$s;
		my $r = $got{$trid};
		my @c = @{$cmd->{$trid} // []};
		my @bad;
		push @bad, scalar(@c) . ' cmd records' unless @c == 1;
		my $c = $c[0] // {};
		push @bad, "cmd $c->{cmd}" if ($c->{cmd} // '') ne $name;
		push @bad, 'decision ' . ($c->{decision} // 'none')
		    if ($c->{decision} // '') ne $decision;
		my @p = @{$rsp->{$c->{seq} // -1} // []};
		push @bad, scalar(@p) . " rsp records with req $c->{seq}"
		    unless @p == 1;
		my $p = $p[0] // {};
		push @bad, 'rsp code ' . ($p->{code} // 'none') . ", client got "
		    . $r->{code} if ($p->{code} // '') ne $r->{code};
		push @bad, "rsp cltrid $p->{cltrid}"
		    if defined $p->{cltrid} && $p->{cltrid} ne $trid;
		my $src = $r->{svtrid} =~ /^regsim-/ ? 'registry' : 'gateway';
		push @bad, "rsp src $p->{src}, not $src"
		    if ($p->{src} // '') ne $src;
		push @bad, 'rsp svtrid ' . ($p->{svtrid} // 'null')
		    . ", client got $r->{svtrid}"
		    if $src eq 'registry' && ($p->{svtrid} // '') ne $r->{svtrid};
		ok(!@bad, "names: $trid has cmd seq " . ($c->{seq} // '?')
		    . " ($name, $decision) and rsp req=" . ($c->{seq} // '?')
		    . " code $r->{code}") or diag(join('; ', @bad));
	}
	# The gateway's own replies: section 5 says an rsp record has "the
	# result code, message, svTRID"; the client got an eppgw-... svTRID.
	{
		my $c = ($cmd->{'NM-held'} // [])->[0] // {};
		my $p = ($rsp->{$c->{seq} // -1} // [])->[0] // {};
		is($p->{svtrid}, $got{'NM-held'}{svtrid},
		    'names: the rsp of the 2304 names the svTRID the client got');
	}
	my @j = map { $_->{clTRID} } journal_lines($rs);
	is_deeply([sort @j], [sort qw(NM-login NM-info NM-update NM-logout)],
	    'names: the journal has the four forwarded commands, not the held '
	    . 'one');
	my @shown = map { $_->{cltrid} } grep { ($_->{t} // '') eq 'cmd' }
	    map { eval { decode_json($_) } // {} } split /\n/,
	    (eppgw_audit('show', '--type', 'cmd', $gw->{audit_dir}))[1];
	is_deeply(\@shown, [map { $_->[0] } @steps],
	    'names: eppgw-audit show --type cmd lists them in order');
	my $all = join('', map { slurp($_) } audit_segments($gw->{audit_dir},
	    paths => 1));
	unlike($all, qr/demo-password-1/, 'names: the login pw is not in the '
	    . 'audit log');
	stop_regsim($rs);
}

# ======================================================================
# 2. kill -9 under load.
# ======================================================================
my $NCLIENTS = 8;
{
	my $rs = start_regsim(journal => "$dir/journal-kill.log");
	my $gw = start_gateway(regsim => $rs, policy => $LOCKS, audit => 1);
	my $adir = $gw->{audit_dir};
	my @cmds = (
		sub { info_domain('open.example') },
		sub { ns_update('open.example', 'add', 'ns2.dns.example') },
		\&check_cmd,
		sub { ns_update('open.example', 'rem', 'ns2.dns.example') },
	);
	my %kids;	# pid => [client number, its file]
	for my $i (1 .. $NCLIENTS) {
		my $file = "$dir/kill-client-$i.txt";
		my $pid = fork() // die "fork: $!";
		if ($pid == 0) {
			# A client: stream commands until the connection
			# breaks (or 30 s pass); one line per event.
			open(my $out, '>', $file) or _exit(3);
			$out->autoflush(1);
			my $epp = epp_client(port => $gw->{port}, timeout => 10);
			unless ($epp) {
				print $out "LOGINFAIL $Net::EPP::Simple::Error\n";
				_exit(2);
			}
			print $out "READY\n";
			my $end = time + 30;
			for (my $n = 1; time < $end; $n++) {
				my $trid = sprintf('KL-%d-%05d', $i, $n);
				print $out "S $trid\n";
				my $r = send_cmd($epp,
				    $cmds[($i + $n) % @cmds]->(), $trid);
				if ($r->{code} eq 'none') {
					print $out "EOF $trid\n";
					last;
				}
				print $out "R $trid $r->{code} "
				    . ($r->{svtrid} || '-') . "\n";
			}
			_exit(0);
		}
		$kids{$pid} = [$i, $file];
	}
	# All logged in, then ~2 s of load.
	my $deadline = time + 20;
	my $ready = 0;
	while (time < $deadline) {
		$ready = grep { slurp($_->[1]) =~ /^READY/m } values %kids;
		last if $ready == $NCLIENTS;
		sleep(0.05);
	}
	is($ready, $NCLIENTS, "kill: $NCLIENTS clients logged in");
	sleep(2);
	my $sent_before = () = join('', map { slurp($_->[1]) }
	    values %kids) =~ /^R /mg;
	kill('KILL', $gw->{pid});
	my $st = stop_gateway($gw);	# reaps it
	is($st & 127, 9, "kill: the gateway was killed by SIGKILL after "
	    . "$sent_before replies");
	# The clients must notice (no hang).
	$deadline = time + 15;
	while (%kids && time < $deadline) {
		for my $pid (keys %kids) {
			delete $kids{$pid} if waitpid($pid, WNOHANG) == $pid;
		}
		sleep(0.05) if %kids;
	}
	my @hung = keys %kids;
	ok(!@hung, 'kill: every client saw its connection end');
	for my $pid (@hung) { kill('KILL', $pid); waitpid($pid, 0) }

	# What the clients sent and got.
	my (%sent, %reply);	# trid => 1; trid => [code, svtrid]
	for my $i (1 .. $NCLIENTS) {
		open(my $fh, '<', "$dir/kill-client-$i.txt") or next;
		while (<$fh>) {
			$sent{$1} = 1 if /^S (\S+)/;
			$reply{$1} = [$2, $3] if /^R (\S+) (\S+) (\S+)/;
		}
	}
	my @not1 = grep { $reply{$_}[0] !~ /^1\d{3}$|^2306$|^2303$/ }
	    keys %reply;
	ok(keys(%reply) >= 50 && !@not1, 'kill: ' . keys(%reply) . ' of '
	    . keys(%sent) . ' commands answered before the kill, none '
	    . 'refused by the gateway')
	    or diag('odd replies: ' . short(map { "$_=$reply{$_}[0]" } @not1));

	my ($vrc, $vout) = audit_verify($adir);
	ok($vrc == 0 || $vrc == 2, "kill: eppgw-audit verify after SIGKILL "
	    . "exits $vrc (0 or 2, never 1 or 3)") or diag($vout);

	my @recs = records($adir);
	my ($cmd, $rsp, $unanswered, $seqcmd) = index_log(@recs);
	my @bad = grep { $_->{t} eq 'UNPARSABLE' } @recs;
	ok(!@bad, 'kill: eppgw-audit show parses every record')
	    or diag(short(map { $_->{raw} } @bad));
	my @j = journal_lines($rs);
	# What may be missing after a crash (docs/audit-log.md): per session,
	# its last reply's rsp and, if read-only, its last executed command.
	my %open_sess;	# sessions opened and not closed before the kill
	for my $r (@recs) {
		next unless ($r->{t} // '') eq 'session';
		$open_sess{$r->{sess}} = 1 if ($r->{event} // '') eq 'open';
		delete $open_sess{$r->{sess}} if ($r->{event} // '') eq 'close';
	}
	my (%last_exec, %last_reply);	# client => its last in the journal;
					# its last reply at the client
	for my $e (@j) {
		$last_exec{$1} = $e->{clTRID} if ($e->{clTRID} // '') =~
		    /^KL-(\d+)-/;
	}
	for my $t (sort keys %reply) {
		$last_reply{$1} = $t if $t =~ /^KL-(\d+)-/;
	}
	my %client_sess;
	for my $t (keys %$cmd) {
		$client_sess{$1} = $cmd->{$t}[0]{sess} if $t =~ /^KL-(\d+)-/;
	}
	my (@missing, @lost_ro);
	for my $e (@j) {
		my $t = $e->{clTRID} // '-';
		next if $cmd->{$t};
		my ($i) = $t =~ /^KL-(\d+)-/;
		if (($e->{cmd} // '') =~ /(?:^|:)(?:check|info)$/ && defined $i
		    && $last_exec{$i} eq $t) {
			push @lost_ro, $t;
		} else {
			push @missing, "$t ($e->{cmd})";
		}
	}
	ok(@j > 50 && !@missing, 'kill: each of the ' . scalar(@j)
	    . ' commands in the journal has a cmd record, but for the last '
	    . 'read-only command of a session (' . scalar(@lost_ro) . ')')
	    or diag('executed without a cmd record: ' . short(@missing));
	note('kill: read-only commands executed, not on record: '
	    . short(@lost_ro));
	# The reply a client got from the registry has its rsp on record,
	# but for the last reply of a session.
	my (@norsp, @lost_rsp);
	for my $t (sort grep { $reply{$_}[1] =~ /^regsim-/ } keys %reply) {
		my $c = ($cmd->{$t} // [])->[0];
		my @p = $c ? @{$rsp->{$c->{seq}} // []} : ();
		next if @p == 1 && $p[0]{code} == $reply{$t}[0]
		    && ($p[0]{svtrid} // '') eq $reply{$t}[1];
		my ($i) = $t =~ /^KL-(\d+)-/;
		if (!@p && defined $i && $last_reply{$i} eq $t) {
			push @lost_rsp, $t;
		} else {
			push @norsp, "$t ($reply{$t}[0])";
		}
	}
	ok(!@norsp, 'kill: each registry reply a client got has its rsp '
	    . 'record (req = cmd seq, same code and svTRID), but for the last '
	    . 'reply of a session (' . scalar(@lost_rsp) . ')')
	    or diag('relayed without a matching rsp: ' . short(@norsp));
	my @lost_sess = map { /^KL-(\d+)-/ ? $client_sess{$1} // "client $1"
	    : () } @lost_ro, @lost_rsp;
	my @unnamed = grep { !$open_sess{$_} } @lost_sess;
	my @dup = grep { @{$cmd->{$_}} > 1 } keys %$cmd;
	ok(!@dup, 'kill: no clTRID has two cmd records') or diag(short(@dup));
	note('kill: unanswered cmd seqs before the restart: '
	    . short(@$unanswered));

	# Restart on the same log.
	my $nseg = () = audit_segments($adir, paths => 1);
	my $gw2 = eval { start_gateway(regsim => $rs, policy => $LOCKS,
	    audit => { dir => $adir }) };
	ok($gw2, 'kill: the gateway restarts on the killed log')
	    or diag($@);
	SKIP: {
		skip('no restarted gateway', 6) unless $gw2;
		my @after = records($adir);
		my @seg = audit_segments($adir, paths => 1);
		is(scalar(@seg), $nseg + 1, 'kill: the restart began a new '
		    . 'segment');
		# The newest segment's records (by file: lines no signature
		# covered would have been set aside and their seqs reused).
		my ($first) = $seg[-1] =~ /seg-(\d+)\.jsonl$/;
		my @newrecs = grep { $_->{seq} >= $first } @after;
		is_deeply([map { $_->{t} } @newrecs[0, 1]], ['open',
		    'recovery'], 'kill: the new segment begins open, '
		    . 'recovery');
		my ($rec) = grep { $_->{t} eq 'recovery' } @newrecs;
		$rec //= {};
		note('kill: recovery record ' . encode_json({ map {
		    $_ => $rec->{$_} } grep { $_ ne 'unanswered' }
		    keys %$rec }));
		is_deeply([sort { $a <=> $b } @{$rec->{unanswered} // []}],
		    $unanswered, 'kill: its unanswered list ('
		    . scalar(@$unanswered) . ' seqs) names exactly the cmd '
		    . 'records without an rsp');
		# A reply is relayed before its record is durable, so an
		# unanswered command may have had one: its session's last.
		my @answered = grep { my $c = $seqcmd->{$_};
		    my $t = $c ? $c->{cltrid} // '' : '';
		    $reply{$t} && !($t =~ /^KL-(\d+)-/ && $last_reply{$1} eq
		    $t) } @{$rec->{unanswered} // []};
		ok(!@answered, 'kill: of them, only the last command of a '
		    . 'session had a reply at the client')
		    or diag(short(map { "$_=$seqcmd->{$_}{cltrid}" }
		    @answered));
		is_deeply([sort { $a <=> $b } @{$rec->{open_sessions} // []}],
		    [sort { $a <=> $b } keys %open_sess], 'kill: its '
		    . 'open_sessions list names exactly the sessions open at '
		    . 'the kill (' . scalar(keys %open_sess) . ')');
		ok(!@unnamed, 'kill: every session with a missing record is '
		    . 'among them (' . scalar(@lost_sess) . ')')
		    or diag(short(@unnamed));
		my $epp = epp_client(port => $gw2->{port});
		my $r = $epp ? send_cmd($epp, info_domain('open.example'),
		    'KL-after') : { code => 'no login' };
		is($r->{code}, 1000, 'kill: the restarted gateway serves '
		    . 'commands');
		epp_close($epp) if $epp;
		is(stop_gateway($gw2), 0, 'kill: the restarted gateway '
		    . 'stops on SIGTERM');
	}
	my ($vok, $why) = verify_sealed($adir);
	ok($vok, "kill: eppgw-audit verify after the clean stop: sealed, "
	    . "no warning but the recovery ($why)") or diag($why);
	my ($cmd2) = index_log(records($adir));
	my %lost = map { $_ => 1 } @lost_ro;
	@missing = grep { !$lost{$_} } journal_without_cmd($rs, $cmd2);
	ok(!@missing, 'kill: still every journal clTRID has a cmd record '
	    . '(but those named above)') or diag(short(@missing));
	stop_regsim($rs);
}

# ======================================================================
# 3. The log cannot write (ENOSPC on a tiny tmpfs).
# ======================================================================
my $mnt = "$dir/tmpfs";
my $mounted = 0;
END {
	# Before File::Temp removes the run directory.
	system('umount', '-l', $mnt) if $mounted;
}

# Commands on $epp until one is refused by the gateway (bounded); returns
# the replies.  $tag makes the clTRIDs.
sub until_refused {
	my ($epp, $tag, $max) = @_;
	my @r;
	for my $n (1 .. $max) {
		my $inner = $n % 2 ? ns_update('open.example', ($n % 4 == 1 ?
		    'add' : 'rem'), 'ns2.dns.example')
		    : info_domain('open.example');
		my $r = send_cmd($epp, $inner, "$tag-$n");
		push @r, $r;
		last if $r->{code} !~ /^(?:1\d{3}|2306)$/;
	}
	return @r;
}

# The checks after the log failed: gateway $gw, the session that saw it
# ($epp), another logged-in session ($other), journal of $rs.
sub after_failure {
	my ($what, $gw, $rs, $epp, $other, $replies, $logre) = @_;
	my $last = $replies->[-1];
	my $njournal = () = journal_lines($rs);
	is("$last->{code} $last->{reason}", '2400 audit_unavailable',
	    "$what: after " . (@$replies - 1) . " commands, $last->{trid} "
	    . 'gets 2400 audit_unavailable');
	is(scalar(journal_find($rs, clTRID => $last->{trid})), 0,
	    "$what: $last->{trid} did not reach the registry");
	my @more = map { send_cmd($epp, $_ % 2 ? info_domain('open.example') :
	    ns_update('open.example', 'add', 'ns2.dns.example'),
	    "$last->{trid}-again-$_") } 1 .. 3;
	is(join(' ', map { "$_->{code} $_->{reason}" } @more),
	    join(' ', ('2400 audit_unavailable') x 3),
	    "$what: three more commands in that session: 2400 each");
	my $t = time;
	my $o = send_cmd($other, info_domain('open.example'), "$what-other");
	is("$o->{code} $o->{reason}", '2400 audit_unavailable',
	    sprintf('%s: another session gets 2400 too (in %.1f s)', $what,
	    time - $t));
	my $new = epp_client(port => $gw->{port}, timeout => 10);
	ok(!$new && ($Net::EPP::Simple::Code // 0) == 2400,
	    "$what: a new session's login gets 2400 (got "
	    . ($Net::EPP::Simple::Code // 'none') . ')');
	epp_close($new) if $new;
	is(scalar(() = journal_lines($rs)), $njournal,
	    "$what: the journal did not grow after the failure");
	gateway_log_like($gw, $logre, "$what: the gateway log says the "
	    . 'audit write failed');
	gateway_log_like($gw, qr/the audit log has FAILED and nothing more will be forwarded/, "$what: the gateway log says nothing more is "
	    . 'forwarded');
	gateway_log_like($gw, qr/replied 2400 audit_unavailable/,
	    "$what: the gateway log names the 2400 replies");
	ok(alive($gw->{pid}), "$what: the gateway still runs");
}

SKIP: {
	skip('ENOSPC: not root (mounting a tmpfs needs it)', 16) if $> != 0;
	mkdir($mnt) or die "$mnt: $!";
	if (system('mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0700',
	    'tmpfs', $mnt) != 0) {
		skip('ENOSPC: mount -t tmpfs failed', 16);
	}
	$mounted = 1;
	my $rs = start_regsim(journal => "$dir/journal-enospc.log");
	my $adir = "$mnt/audit";
	my $gw = start_gateway(regsim => $rs, policy => $LOCKS,
	    audit => { dir => $adir });
	my $s1 = epp_client(port => $gw->{port});
	my $s2 = epp_client(port => $gw->{port});
	ok($s1 && $s2, 'ENOSPC: two sessions logged in')
	    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	# Fill the file system, then give back 16 KiB.
	my $fill = "$mnt/filler";
	open(my $fh, '>', $fill) or die "$fill: $!";
	my $chunk = "\0" x 65536;
	for (1 .. 64) { last unless syswrite($fh, $chunk) }
	for (1 .. 16) { last unless syswrite($fh, "\0" x 4096) }
	close($fh);
	truncate($fill, (-s $fill) - 16384) or die "truncate: $!";
	my @r = until_refused($s1, 'NS', 100);
	after_failure('ENOSPC', $gw, $rs, $s1, $s2, \@r,
	    qr/audit: .*failed: No space left on device; the audit log has FAILED/);
	my ($cmd) = index_log(records($adir));
	my @missing = journal_unexcused($rs, $cmd);
	ok(!@missing, 'ENOSPC: every command in the journal ('
	    . scalar(() = journal_lines($rs)) . ') has a cmd record, but '
	    . 'for a read-only one in flight')
	    or diag(short(@missing));
	epp_close($_) for $s1, $s2;
	my $st = stop_gateway($gw);
	ok(defined $st && !($st & 127), 'ENOSPC: the gateway with a failed log '
	    . 'stops on SIGTERM (exit ' . (($st // 0) >> 8) . ', signal '
	    . (($st // 0) & 127) . ')');
	unlink($fill);
	my ($vrc, $vout) = audit_verify($adir);
	ok($vrc == 0 || $vrc == 2, "ENOSPC: eppgw-audit verify of the failed "
	    . "log exits $vrc (0 or 2)") or diag($vout);
	my $gw2 = eval { start_gateway(regsim => $rs, policy => $LOCKS,
	    audit => { dir => $adir }) };
	ok($gw2, 'ENOSPC: with space again the gateway restarts on the log')
	    or diag($@);
	if ($gw2) {
		my $c = epp_client(port => $gw2->{port});
		my $r = $c ? send_cmd($c, info_domain('open.example'),
		    'NS-after') : { code => 'no login' };
		is($r->{code}, 1000, 'ENOSPC: the restarted gateway serves');
		epp_close($c) if $c;
		is(stop_gateway($gw2), 0, 'ENOSPC: and stops on SIGTERM');
		my ($vok, $why) = verify_sealed($adir);
		ok($vok, "ENOSPC: verify after the clean stop: sealed, no "
		    . "warning but the recovery ($why)") or diag($why);
	} else {
		fail('ENOSPC: no restarted gateway') for 1 .. 3;
	}
	stop_regsim($rs);
	$mounted = 0 if system('umount', $mnt) == 0;
}

# ======================================================================
# 4. RLIMIT_FSIZE on the running gateway.
# ======================================================================
SKIP: {
	my ($prlimit) = grep { -x } map { "$_/prlimit" } split /:/, $ENV{PATH};
	skip('RLIMIT_FSIZE: prlimit (util-linux) missing', 12) unless $prlimit;
	my $rs = start_regsim(journal => "$dir/journal-fsize.log");
	my $gw = start_gateway(regsim => $rs, policy => $LOCKS, audit => 1);
	my $s1 = epp_client(port => $gw->{port});
	my $s2 = epp_client(port => $gw->{port});
	ok($s1 && $s2, 'FSIZE: two sessions logged in')
	    or BAIL_OUT("gateway: $Net::EPP::Simple::Error");
	my ($seg) = (audit_segments($gw->{audit_dir}, paths => 1))[-1];
	my $limit = 12288 + (sort { $b <=> $a } content_size($seg),
	    file_size($gw->{log}))[0];
	# The audit writer is the process that writes the log (proc.h).
	my ($apid) = gateway_procs($gw, 'audit');
	system("$prlimit --pid $apid --fsize=$limit: >/dev/null") == 0
	    or skip('FSIZE: prlimit failed', 11);
	note("FSIZE: file size limit $limit bytes (segment data "
	    . content_size($seg) . ' bytes, zero-filled to ' . file_size($seg)
	    . ')');
	my @r = until_refused($s1, 'FS', 100);
	sleep(0.2);
	my $died = !alive($gw->{pid}) || !alive($apid);
	my $st = $died ? stop_gateway($gw) : undef;
	ok(!$died, 'FSIZE: the gateway and its audit writer survive a write '
	    . 'past RLIMIT_FSIZE (SIGXFSZ ignored, the write fails with EFBIG)')
	    or diag(sprintf('the gateway died: wait status %d (signal %d%s) '
	    . 'at clTRID %s; its log ends: %s', $st, $st & 127,
	    ($st & 127) == 25 ? ' = SIGXFSZ' : '', $r[-1]{trid},
	    join('', (split /^/, gateway_log($gw))[-3 .. -1])));
	is(scalar(journal_find($rs, clTRID => $r[-1]{trid})), 0,
	    "FSIZE: the command that hit the limit ($r[-1]{trid}) did not "
	    . 'reach the registry');
	unless ($died) {
		after_failure('FSIZE', $gw, $rs, $s1, $s2, \@r,
		    qr/audit: .*failed: File too large; the audit log has FAILED/);
		my $st2 = stop_gateway($gw);
		ok(defined $st2 && !($st2 & 127), 'FSIZE: the gateway stops on '
		    . 'SIGTERM');
	}
	epp_close($_) for $s1, $s2;
	# Whatever happened, the log must be recoverable.
	my $gw2 = eval { start_gateway(regsim => $rs, policy => $LOCKS,
	    audit => { dir => $gw->{audit_dir} }) };
	ok($gw2, 'FSIZE: without the limit the gateway restarts on the log')
	    or diag($@);
	if ($gw2) {
		my $c = epp_client(port => $gw2->{port});
		my $r = $c ? send_cmd($c, info_domain('open.example'),
		    'FS-after') : { code => 'no login' };
		is($r->{code}, 1000, 'FSIZE: the restarted gateway serves');
		epp_close($c) if $c;
		is(stop_gateway($gw2), 0, 'FSIZE: and stops on SIGTERM');
		my ($vok, $why) = verify_sealed($gw->{audit_dir});
		ok($vok, "FSIZE: verify after the clean stop: sealed, no "
		    . "warning but the recovery ($why)") or diag($why);
		my ($cmd) = index_log(records($gw->{audit_dir}));
		my @missing = journal_unexcused($rs, $cmd);
		ok(!@missing, 'FSIZE: every command in the journal has a cmd '
		    . 'record, but for a read-only one in flight')
		    or diag(short(@missing));
	}
	stop_regsim($rs);
}

gateways_clean();
note(sprintf('70-audit-faults.t took %.1f s', time - $t0));
done_testing();
