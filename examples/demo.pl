#!/usr/bin/perl
# demo.pl: the `make demo` story (DESIGN.md section 5, "Local demo contract").
#
# Runs against a gateway on 127.0.0.1:7000 and the registry simulator on
# 127.0.0.1:7700 as started by `tests/run-demo.sh demo` (or `make run` in
# another terminal), with the development certificates from certs/dev/.
# Prints one numbered step at a time: what is done, why, and what happened.
# Exits 0 when every step behaved as expected, 1 (with the reason) when one
# did not.
#
#   perl -I tests/e2e/lib examples/demo.pl
#
# Environment: EPPGW_DEMO_GATEWAY (host:port, default 127.0.0.1:7000),
# EPPGW_DEMO_REGISTRY (default 127.0.0.1:7700), EPPGW_DEMO_JOURNAL (the
# simulator's journal, default run/regsim-journal.log), EPPGW_BUILD (where
# eppgwctl and eppgw-audit are, default build), EPPGW_DEMO_CONF (the
# gateway's configuration, default examples/eppgw.conf: eppgwctl finds the
# admin listener there), EPPGW_DEMO_AUDIT (default run/audit).
#
# The approvals state (run/approvals.json) and the audit log (run/audit)
# outlive a run, and the simulator may too (`make run`): the story copes
# with a ticket left over from an interrupted run, with bob's code having
# been used moments ago by a previous run, and undoes its one approved
# change at the registry at the end.
#
# To add a step, append a hash to @steps: title, why, and run (a sub that
# gets the shared context, returns the lines to show, and dies with a
# one-line reason when the step did not behave as expected).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../tests/e2e/lib";
use EppgwTest qw(repo_root certs_dir build_dir epp_client epp_close epp_raw
    epp_command result_code xpc journal_lines totp totp_step);
use File::Spec;
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

$| = 1;

my ($GW_HOST, $GW_PORT) = split /:/, $ENV{EPPGW_DEMO_GATEWAY} // '127.0.0.1:7000';
my ($RS_HOST, $RS_PORT) = split /:/, $ENV{EPPGW_DEMO_REGISTRY} // '127.0.0.1:7700';
my $JOURNAL = $ENV{EPPGW_DEMO_JOURNAL} // repo_root() . '/run/regsim-journal.log';
my $CONF = $ENV{EPPGW_DEMO_CONF} // 'examples/eppgw.conf';
my $AUDIT_DIR = $ENV{EPPGW_DEMO_AUDIT} // 'run/audit';

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';

# ---- small helpers ----

sub login_xml {
	my ($clid, $pw, $trid) = @_;
	my $objs = join '', map { "<objURI>urn:ietf:params:xml:ns:$_-1.0</objURI>" }
	    qw(domain host contact);
	return epp_command("<login><clID>$clid</clID><pw>$pw</pw><options>"
	    . '<version>1.0</version><lang>en</lang></options>'
	    . "<svcs>$objs<svcExtension><extURI>urn:ietf:params:xml:ns:secDNS-1.1"
	    . '</extURI></svcExtension></svcs></login>', $trid);
}

sub info_xml {
	my ($name, $trid) = @_;
	return epp_command("<info><domain:info $D><domain:name>$name</domain:name>"
	    . '</domain:info></info>', $trid);
}

sub ns_xml {
	my ($name, $op, $host, $trid) = @_;
	return epp_command("<update><domain:update $D><domain:name>$name</domain:name>"
	    . "<domain:$op><domain:ns><domain:hostObj>$host</domain:hostObj></domain:ns>"
	    . "</domain:$op></domain:update></update>", $trid);
}

sub secdns_rem_all_xml {
	my ($name, $trid) = @_;
	return epp_command("<update><domain:update $D><domain:name>$name</domain:name>"
	    . '</domain:update></update><extension><secDNS:update '
	    . 'xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:rem>'
	    . '<secDNS:all>true</secDNS:all></secDNS:rem></secDNS:update></extension>',
	    $trid);
}

# "1000 Command completed successfully" (+ the gateway's reason, if any).
sub summary {
	my ($doc) = @_;
	return 'no reply (connection closed)' unless ref $doc;
	my $x = xpc($doc);
	my $s = result_code($doc) . ' ' . $x->findvalue('//epp:result/epp:msg');
	my $r = $x->findvalue('//epp:result/epp:extValue/epp:reason');
	$s .= " (reason: $r)" if $r ne '';
	return $s;
}

sub expect_code {
	my ($doc, $code, $what) = @_;
	my $got = result_code($doc);
	die "$what: expected $code, got " . summary($doc) . "\n"
	    unless defined $got && $got == $code;
}

# A 2304 approval_required from the gateway itself: its change id.
sub expect_approval {
	my ($doc, $what) = @_;
	expect_code($doc, 2304, $what);
	my $r = xpc($doc)->findvalue('//epp:result/epp:extValue/epp:reason');
	my ($id) = $r =~ /^approval_required ([0-9a-f]{12})$/
	    or die "$what: expected reason approval_required ID, got \"$r\"\n";
	die "$what: the 2304 did not come from the gateway (svTRID "
	    . svtrid($doc) . ")\n" unless svtrid($doc) =~ /^eppgw-/;
	return $id;
}

# Nothing reached the registry for these clTRIDs: the lines to show.
sub not_executed {
	my (@trids) = @_;
	my @j = map { journal_has($_) } @trids;
	return () unless defined $j[0];
	die "the registry executed @trids\n" if grep { $_ } @j;
	return ("registry journal: nothing for @trids (never forwarded)");
}

sub svtrid { return ref $_[0] ? xpc($_[0])->findvalue('//epp:trID/epp:svTRID') : '' }

sub ns_of {
	my ($doc) = @_;
	return map { $_->textContent } xpc($doc)->findnodes('//domain:ns/domain:hostObj');
}

# What the registry executed during this run, from the simulator's journal:
# the entries for a clTRID, or undef when the journal is not there to look
# at.  Lines from earlier runs (`make run` keeps the simulator) are skipped.
my $JOURNAL_SKIP = -r $JOURNAL ? scalar(journal_lines($JOURNAL)) : 0;
sub journal_has {
	my ($trid) = @_;
	return undef unless -r $JOURNAL;
	my @all = journal_lines($JOURNAL);
	return scalar grep { ($_->{clTRID} // '') eq $trid }
	    @all[$JOURNAL_SKIP .. $#all];
}

sub client {
	my (%o) = @_;
	my $e = epp_client(host => $o{host} // $GW_HOST, port => $o{port} // $GW_PORT,
	    login => 0, cert => $o{cert} // 'registrar', timeout => 10);
	die "cannot connect to " . ($o{host} // $GW_HOST) . ':' . ($o{port} // $GW_PORT)
	    . " with certificate $o{cert}: $Net::EPP::Simple::Error\n" unless $e;
	return $e;
}

# The registry's own view, bypassing the gateway (for showing state only).
sub registry_info {
	my ($ctx, $name) = @_;
	$ctx->{direct} //= do {
		my $e = client(host => $RS_HOST, port => $RS_PORT);
		expect_code(epp_raw($e, login_xml('registrar1', 'demo-password-1',
		    'DEMO-DIRECT-LOGIN')), 1000, 'direct login at the registry');
		$e;
	};
	my $doc = epp_raw($ctx->{direct}, info_xml($name, 'DEMO-DIRECT-' . ++$ctx->{n}));
	expect_code($doc, 1000, "domain:info $name at the registry");
	return $doc;
}

# A tool from the build directory, run from the repository root (so the
# relative paths shown are the ones used).  Returns (exit code, stdout,
# stderr); nothing is read from a terminal.
sub run_tool {
	my ($tool, @args) = @_;
	my $bin = File::Spec->catfile(build_dir(), $tool);
	die "$bin missing: build it first (make)\n" unless -x $bin;
	my $dir = File::Spec->catdir(repo_root(), 'run');
	mkdir($dir);
	my ($out, $err) = map { "$dir/demo-$$.$_" } qw(out err);
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		chdir(repo_root()) or die "chdir: $!";
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', $out) or die "$out: $!";
		open(STDERR, '>', $err) or die "$err: $!";
		exec($bin, @args) or die "exec $bin: $!";
	}
	my $deadline = time + 60;
	until (waitpid($pid, WNOHANG) == $pid) {
		if (time > $deadline) {
			kill('KILL', $pid);
			waitpid($pid, 0);
			last;
		}
		sleep(0.02);
	}
	my $st = $?;
	my @r = ($st & 127 ? 128 + ($st & 127) : $st >> 8);
	for my $f ($out, $err) {
		open(my $fh, '<', $f) or do { push @r, ''; next };
		local $/;
		push @r, scalar(<$fh>) // '';
		close($fh);
		unlink($f);
	}
	return @r;
}

# eppgwctl as operator $who: what to show (the command line, the code
# masked) and what happened.
sub eppgwctl {
	my ($who, @args) = @_;
	my @cmd = ('-f', $CONF, '--cert', "certs/dev/$who.pem", '--key',
	    "certs/dev/$who.key", @args);
	my $shown = join(' ', 'eppgwctl', @cmd);
	$shown =~ s/(--otp )\d+/$1******/;
	return ("\$ $shown", run_tool('eppgwctl', @cmd));
}

sub registry_ns_direct {
	my ($ctx, $name, $op, $host) = @_;
	registry_info($ctx, $name);	# the direct session
	my $doc = epp_raw($ctx->{direct}, ns_xml($name, $op, $host,
	    'DEMO-DIRECT-' . ++$ctx->{n}));
	expect_code($doc, 1000, "$op $host on $name directly at the registry");
}

# ---- the story ----

my @steps = (
{
	title => 'The registrar system logs in through the gateway',
	why   => 'Its client certificate (certs/dev/registrar.pem) maps to the '
	    . 'principal "registrar", which may use clID registrar1.',
	run   => sub {
		my ($ctx) = @_;
		my $e = $ctx->{epp} = client(cert => 'registrar');
		my $svid = xpc($e->greeting)->findvalue('//epp:greeting/epp:svID');
		my $doc = epp_raw($e, login_xml('registrar1', 'demo-password-1', 'DEMO-1'));
		expect_code($doc, 1000, 'login as registrar1');
		return ("greeting from \"$svid\" relayed by the gateway",
		    'login registrar1 -> ' . summary($doc),
		    'answered by the registry (svTRID ' . svtrid($doc) . ')');
	},
},
{
	title => 'domain:info locked.example',
	why   => 'Reading is always allowed; locked.example is the domain the '
	    . 'lock protects: its delegation is what an attacker wants.',
	run   => sub {
		my ($ctx) = @_;
		my @lines;
		if (grep { $_ eq 'ns2.dns.example' } ns_of(registry_info($ctx,
		    'locked.example'))) {
			# Left over from an earlier run against the same simulator
			# (`make run`): undone directly at the registry.
			registry_ns_direct($ctx, 'locked.example', 'rem',
			    'ns2.dns.example');
			push @lines, '(removed ns2.dns.example left over from an '
			    . 'earlier run, directly at the registry)';
		}
		my $doc = epp_raw($ctx->{epp}, info_xml('locked.example', 'DEMO-2'));
		expect_code($doc, 1000, 'domain:info locked.example');
		my $x = xpc($doc);
		my @ns = ns_of($doc);
		push @lines, 'name servers: ' . join(', ', @ns);
		for my $d ($x->findnodes('//secDNS:dsData')) {
			my $dig = $x->findvalue('secDNS:digest', $d);
			push @lines, sprintf('DS: keyTag %s alg %s digestType %s digest %s...',
			    map({ $x->findvalue("secDNS:$_", $d) } qw(keyTag alg digestType)),
			    substr($dig, 0, 16));
		}
		die "locked.example: expected NS ns1.locked.example and ns.dns.example, got @ns\n"
		    unless "@ns" eq 'ns1.locked.example ns.dns.example';
		die "locked.example: no DS record shown\n" unless grep { /^DS:/ } @lines;
		return @lines;
	},
},
{
	title => 'An allowed change: add NS ns2.dns.example to open.example',
	why   => 'open.example is not on the lock list, so the gateway forwards '
	    . 'the update and the registry applies it.',
	run   => sub {
		my ($ctx) = @_;
		my @lines;
		if (grep { $_ eq 'ns2.dns.example' } ns_of(registry_info($ctx, 'open.example'))) {
			# Left over from an earlier run against the same simulator.
			expect_code(epp_raw($ctx->{epp}, ns_xml('open.example', 'rem',
			    'ns2.dns.example', 'DEMO-3-RESET')), 1000, 'reset open.example');
			push @lines, '(removed ns2.dns.example left over from an earlier run)';
		}
		my $doc = epp_raw($ctx->{epp}, ns_xml('open.example', 'add',
		    'ns2.dns.example', 'DEMO-3'));
		expect_code($doc, 1000, 'domain:update open.example');
		push @lines, 'domain:update open.example add ns2.dns.example -> ' . summary($doc);
		my @ns = ns_of(registry_info($ctx, 'open.example'));
		die "the registry does not show ns2.dns.example on open.example (has @ns)\n"
		    unless grep { $_ eq 'ns2.dns.example' } @ns;
		push @lines, 'the registry now has: ' . join(', ', @ns);
		my $j = journal_has('DEMO-3');
		push @lines, 'registry journal: executed (clTRID DEMO-3)' if $j;
		die "the registry journal has no entry for DEMO-3\n" if defined $j && !$j;
		return @lines;
	},
},
{
	title => 'The registrar system tries to repoint locked.example to an attacker\'s name server',
	why   => 'DNSpionage: valid credentials on a hijacked registrar system. '
	    . 'locked.example is on the lock list, so an NS change needs a second '
	    . 'operator\'s approval and is not forwarded.',
	run   => sub {
		my ($ctx) = @_;
		my @lines;
		my $trid = 'DEMO-4';
		my $doc = epp_raw($ctx->{epp}, ns_xml('locked.example', 'add',
		    'ns2.dns.example', $trid));
		if (ref $doc && result_code($doc) == 1000) {
			# An approval from an interrupted earlier run was waiting
			# (approvals outlive the gateway in run/approvals.json);
			# it is used up now: undo its change and ask again.
			registry_ns_direct($ctx, 'locked.example', 'rem',
			    'ns2.dns.example');
			push @lines, '(an approval left over from an interrupted earlier '
			    . 'run was used up: undone directly at the registry)';
			$trid = 'DEMO-4-AGAIN';
			$doc = epp_raw($ctx->{epp}, ns_xml('locked.example', 'add',
			    'ns2.dns.example', $trid));
		}
		my $id = $ctx->{change_id} = expect_approval($doc,
		    'domain:update locked.example add ns2.dns.example');
		my @ns = ns_of(registry_info($ctx, 'locked.example'));
		die "the registry changed locked.example: NS @ns\n"
		    unless "@ns" eq 'ns1.locked.example ns.dns.example';
		return (@lines, 'domain:update locked.example add ns2.dns.example -> '
		    . summary($doc), "change id $id (answered by the gateway, svTRID "
		    . svtrid($doc) . ')', 'the registry still has: ' . join(', ', @ns),
		    not_executed($trid));
	},
},
{
	title => 'The same change, spelled differently',
	why   => 'The gateway judges what the registry would do, not the text: '
	    . 'another prefix, upper case and a trailing dot are the same change.',
	run   => sub {
		my ($ctx) = @_;
		my $xml = epp_command('<update><x:update xmlns:x="urn:ietf:params:'
		    . 'xml:ns:domain-1.0"><x:name>LOCKED.EXAMPLE.</x:name><x:add><x:ns>'
		    . '<x:hostObj>NS2.DNS.EXAMPLE</x:hostObj></x:ns></x:add>'
		    . '</x:update></update>', 'DEMO-5');
		my $doc = epp_raw($ctx->{epp}, $xml);
		my $id = expect_approval($doc, '<x:update> of LOCKED.EXAMPLE.');
		die "another change id ($id, not $ctx->{change_id})\n"
		    unless $id eq $ctx->{change_id};
		return ('<x:update> LOCKED.EXAMPLE. add NS2.DNS.EXAMPLE -> '
		    . summary($doc), "the same change id $id", not_executed('DEMO-5'));
	},
},
{
	title => 'bob looks at the change and approves it with his TOTP code',
	why   => 'Out of band: eppgwctl talks to the gateway\'s admin listener '
	    . '(127.0.0.1:7001) with bob\'s own certificate. The code comes from '
	    . 'oathtool --totp -b with bob\'s demo seed (examples/demo.seeds); '
	    . 'the approval is a single-use ticket for exactly this change, '
	    . 'clID and requester.',
	run   => sub {
		my ($ctx) = @_;
		my $id = $ctx->{change_id};
		my ($shown, $rc, $out, $err) = eppgwctl('bob', 'show', $id);
		die "eppgwctl show $id: exit $rc: $err" unless $rc == 0;
		die "eppgwctl show $id does not show add.ns=ns2.dns.example\n"
		    unless $out =~ /^add\.ns=ns2\.dns\.example$/m;
		my @lines = ($shown, map { "  $_" } grep { /\S/ } split /\n/, $out);
		for my $try (1 .. 3) {
			($shown, $rc, $out, $err) = eppgwctl('bob', 'approve', $id,
			    '--otp', totp('bob'));
			push @lines, $shown, map { "  $_" } split /\n/, $out . $err;
			last if $rc == 0;
			# Demo runs moments ago: a code is taken only once (RFC 6238
			# section 5.2), and 3 attempts per 30 s at most.
			my $wait;
			if ($err =~ /: replayed_otp:/) {
				$wait = (totp_step('bob') + 1) * 30 - time + 0.5;
				push @lines, sprintf('(an earlier run used bob\'s current '
				    . 'code: waiting %.0f s for his next one)', $wait);
			} elsif ($err =~ /: rate_limited:/) {
				$wait = 31;
				push @lines, '(earlier runs tried bob\'s codes 3 times in '
				    . '30 s: waiting 31 s)';
			}
			die "eppgwctl approve $id: exit $rc: $err"
			    unless $try < 3 && $wait;
			sleep($wait);
		}
		return @lines;
	},
},
{
	title => 'The registrar system resends the change: now it goes through',
	why   => 'Any clTRID: the gateway recognises the approved change, uses '
	    . 'up the ticket and forwards the command. A second resend needs a '
	    . 'new approval.',
	run   => sub {
		my ($ctx) = @_;
		my $doc = epp_raw($ctx->{epp}, ns_xml('locked.example', 'add',
		    'ns2.dns.example', 'DEMO-RESEND'));
		expect_code($doc, 1000, 'the resend of the approved change');
		die "the 1000 did not come from the registry (svTRID "
		    . svtrid($doc) . ")\n" unless svtrid($doc) =~ /^regsim-/;
		my @ns = ns_of(registry_info($ctx, 'locked.example'));
		die "the registry does not show ns2.dns.example on locked.example "
		    . "(has @ns)\n" unless grep { $_ eq 'ns2.dns.example' } @ns;
		$ctx->{ns2_added} = 1;
		my $j = journal_has('DEMO-RESEND');
		die "the registry journal has no entry for DEMO-RESEND\n"
		    if defined $j && !$j;
		my $again = epp_raw($ctx->{epp}, ns_xml('locked.example', 'add',
		    'ns2.dns.example', 'DEMO-RESEND-2'));
		my $id = expect_approval($again, 'a second resend');
		return ('domain:update locked.example add ns2.dns.example -> '
		    . summary($doc) . ' (svTRID ' . svtrid($doc) . ')',
		    'the registry now has: ' . join(', ', @ns),
		    $j ? 'registry journal: executed (clTRID DEMO-RESEND)' : (),
		    'once more -> ' . summary($again) . ': the ticket was single use');
	},
},
{
	title => 'The registrar system tries to remove locked.example\'s DNSSEC',
	why   => 'Sea Turtle: dropping the DS records first lets forged answers '
	    . 'validate. secDNS <rem><all>true</all> is a protected "ds" change.',
	run   => sub {
		my ($ctx) = @_;
		my $doc = epp_raw($ctx->{epp}, secdns_rem_all_xml('locked.example',
		    'DEMO-6'));
		my $id = expect_approval($doc, 'secDNS rem all on locked.example');
		die "the DS removal got the NS change's id\n"
		    if $id eq $ctx->{change_id};
		my @ds = map { $_->textContent } xpc(registry_info($ctx,
		    'locked.example'))->findnodes('//secDNS:dsData/secDNS:keyTag');
		die "the registry lost locked.example's DS record\n" unless @ds;
		return ('secDNS rem all on locked.example -> ' . summary($doc),
		    "a change of its own: id $id",
		    'the registry still has DS keyTag ' . join(', ', @ds),
		    not_executed('DEMO-6'));
	},
},
{
	title => 'alice\'s certificate tries to log in as registrar2',
	why   => 'A certificate may only use the clIDs configured for its '
	    . 'principal (alice: registrar1). A stolen password alone is not enough.',
	run   => sub {
		my ($ctx) = @_;
		my $e = client(cert => 'alice');
		my $doc = epp_raw($e, login_xml('registrar2', 'demo-password-2', 'DEMO-7'));
		epp_close($e);
		expect_code($doc, 2200, 'alice logging in as registrar2');
		my $r = xpc($doc)->findvalue('//epp:result/epp:extValue/epp:reason');
		die "expected reason clid_not_allowed, got \"$r\"\n" unless $r eq 'clid_not_allowed';
		die "the 2200 did not come from the gateway (svTRID " . svtrid($doc) . ")\n"
		    unless svtrid($doc) =~ /^eppgw-/;
		my $j = journal_has('DEMO-7');
		die "the login reached the registry\n" if $j;
		return ('login registrar2 -> ' . summary($doc),
		    'answered by the gateway itself (svTRID ' . svtrid($doc) . ')',
		    defined $j ? 'registry journal: nothing for DEMO-7 (never forwarded)' : ());
	},
},
{
	title => 'A hostile frame: a DOCTYPE with an entity bomb',
	why   => 'The gateway parses with no DTDs and no entities; a DOCTYPE is '
	    . 'a syntax error, answered without forwarding anything.',
	run   => sub {
		my ($ctx) = @_;
		my $ents = join '', map { sprintf('<!ENTITY %s "%s">', chr(98 + $_),
		    join('', ('&' . chr(97 + $_) . ';') x 10)) } 0 .. 8;
		my $bomb = '<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY a "ha">' . $ents
		    . ']><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info>'
		    . "<domain:info $D><domain:name>&j;</domain:name></domain:info></info>"
		    . '<clTRID>DEMO-8</clTRID></command></epp>';
		my $doc = epp_raw($ctx->{epp}, $bomb);
		expect_code($doc, 2001, 'the entity bomb');
		my $j = journal_has('DEMO-8');
		die "the bomb reached the registry\n" if $j;
		my $next = epp_raw($ctx->{epp}, info_xml('open.example', 'DEMO-8-NEXT'));
		expect_code($next, 1000, 'the next command on the same session');
		return ('1e9-fold entity expansion -> ' . summary($doc),
		    defined $j ? 'registry journal: nothing for DEMO-8' : (),
		    'the session goes on: next domain:info -> ' . summary($next));
	},
},
{
	title => 'A change made outside the gateway is seen: drift',
	why   => 'Sea Turtle changed delegations through registry accounts, '
	    . 'out of sight of the registrar\'s systems. Here the approved NS '
	    . 'change is removed directly at the registry, as its web portal '
	    . 'would; the gateway\'s own watch session reads locked.example '
	    . 'every 5 s (refresh), sees a change no command through it '
	    . 'explains, and records an observation and sends a signed drift '
	    . 'alert. (This also undoes the demo\'s change for the next run.)',
	run   => sub {
		my ($ctx) = @_;
		my @lines;
		die "no approved change to undo\n" unless $ctx->{ns2_added};
		my $t0 = time;
		registry_ns_direct($ctx, 'locked.example', 'rem',
		    'ns2.dns.example');
		push @lines, 'directly at the registry: rem ns2.dns.example; '
		    . 'locked.example now: '
		    . join(', ', ns_of(registry_info($ctx, 'locked.example')));
		my @cmd = ('show', '--type', 'observation', '--object',
		    'locked.example', $AUDIT_DIR);
		my $rec;
		for (1 .. 60) {
			my ($rc, $out) = run_tool('eppgw-audit', @cmd);
			($rec) = grep { /ns2\.dns\.example/ && /"gone"/ }
			    reverse split /\n/, $out // '';
			my $r = $rec ? eval { JSON::PP::decode_json($rec) } : undef;
			if ($r && ($r->{time} // 0) >= $t0 - 1) {
				$rec = $r;
				last;
			}
			undef $rec;
			select(undef, undef, undef, 0.25);
		}
		die "no drift observation for locked.example within 15 s\n"
		    unless $rec;
		push @lines, '$ eppgw-audit ' . join(' ', @cmd),
		    sprintf('  observation seq %s: %s %s, gone: %s, seen by the '
		    . 'watch session (%s) %.0f s after the change', $rec->{seq},
		    $rec->{kind}, $rec->{object}, join(', ', @{$rec->{gone}}),
		    $rec->{seen}, time - $t0),
		    'and a signed "drift" alert went to the webhook '
		    . '(http://127.0.0.1:7003/ in the demo)';
		return @lines;
	},
},
{
	title => 'The registrar system logs out',
	why   => 'The session ends; the gateway keeps watching.',
	run   => sub {
		my ($ctx) = @_;
		my $doc = epp_raw(delete $ctx->{epp}, epp_command('<logout/>',
		    'DEMO-LOGOUT'));
		expect_code($doc, 1500, 'logout');
		return ('logout -> ' . summary($doc));
	},
},
{
	title => 'A reviewer checks the audit log',
	why   => 'Every command and reply above is in run/audit, hash-chained '
	    . 'in a Merkle tree with signed checkpoints. While the gateway runs '
	    . 'the newest records are not sealed yet (exit 2); run-demo.sh '
	    . 'verifies again after stopping the gateway (exit 0). Then the '
	    . 'reviewer\'s question, in one command: who changed the name '
	    . 'servers of locked.example during this run, who approved it, and '
	    . 'what did the registry answer?',
	run   => sub {
		my ($ctx) = @_;
		my @cmd = ('verify', '--vkey', 'certs/dev/audit.pub', $AUDIT_DIR);
		my ($rc, $out, $err) = run_tool('eppgw-audit', @cmd);
		my @lines = ('$ ' . join(' ', 'eppgw-audit', @cmd),
		    map { "  $_" } split /\n/, $out . $err);
		die "eppgw-audit verify: exit $rc (1: tampered, 3: cannot verify)\n"
		    unless $rc == 0 || $rc == 2;
		push @lines, $rc == 0 ? 'exit 0: valid and sealed'
		    : 'exit 2: valid; the tail is not sealed while the gateway runs';
		# This run only: the log outlives a run.  $^T is when it started.
		my $since = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($^T));
		my @q = ('changes', '--object', 'locked.example', '--class', 'ns',
		    '--since', $since);
		my ($crc, $cout, $cerr) = run_tool('eppgw-audit', @q, $AUDIT_DIR);
		die "eppgw-audit changes: exit $crc: $cerr" unless $crc == 0;
		push @lines, '$ ' . join(' ', 'eppgw-audit', @q, $AUDIT_DIR),
		    map { "  $_" } split /\n/, $cout;
		# The same rows as JSON, to check the approved change's row.
		my ($jrc, $jout, $jerr) = run_tool('eppgw-audit', @q, '--format',
		    'json', $AUDIT_DIR);
		my $rows = $jrc == 0 ? eval { JSON::PP::decode_json($jout) } : undef;
		die "eppgw-audit changes --format json: exit $jrc: $jerr"
		    unless ref $rows eq 'ARRAY';
		my ($r) = reverse grep { ($_->{cltrid} // '') eq 'DEMO-RESEND' }
		    @$rows;
		die "eppgw-audit changes: no row for the resend DEMO-RESEND\n"
		    unless $r;
		die "the row of DEMO-RESEND names no approver bob\n"
		    unless ($r->{approver} // '') eq 'bob';
		die "the row of DEMO-RESEND is not an allowed command\n"
		    unless ($r->{decision} // '') eq 'allow';
		die "the row of DEMO-RESEND has no registry reply 1000\n"
		    unless ($r->{reply} // 0) == 1000
		    && ($r->{reply_from} // '') eq 'registry';
		die "no held row for the change $ctx->{change_id}\n"
		    unless grep { ($_->{decision} // '') eq 'approval_required'
		    && ($_->{change_id} // '') eq $ctx->{change_id} } @$rows;
		push @lines, sprintf('the approved change: seq %s, %s by %s (clID %s), '
		    . 'change %s, approved by %s, the registry answered %s',
		    $r->{seq}, $r->{command}, $r->{principal}, $r->{clid},
		    $r->{change_id}, $r->{approver}, $r->{reply});
		push @lines, 'and the drift row: the same name server removed at the '
		    . 'registry, no command through the gateway explains it'
		    if grep { $_->{kind} eq 'drift' } @$rows;
		return @lines;
	},
},
);

# ---- run it ----

print "eppgw demo: registrar -> eppgw ($GW_HOST:$GW_PORT) -> registry simulator ($RS_HOST:$RS_PORT)\n";
print "certificates from " . certs_dir() . "\n\n";
my %ctx;
my $n = 0;
for my $s (@steps) {
	$n++;
	print "$n) $s->{title}\n";
	print "   why: $s->{why}\n" if $s->{why};
	my @out = eval { $s->{run}->(\%ctx) };
	if (my $err = $@) {
		chomp $err;
		print "   FAILED: $err\n\n";
		print STDERR "demo.pl: step $n ($s->{title}) did not behave as expected: $err\n";
		epp_close($_) for grep { defined } @ctx{qw(epp direct)};
		exit 1;
	}
	print "   $_\n" for @out;
	print "\n";
}
epp_close($ctx{direct}) if $ctx{direct};
print "demo complete: every step behaved as expected\n";
exit 0;
