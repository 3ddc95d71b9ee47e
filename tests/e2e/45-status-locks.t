#!/usr/bin/perl
# Status locks (DESIGN.md section 4): a domain the registry reports as
# client- or serverUpdateProhibited in a domain:info reply is locked for the
# gateway too, lock list or not, so removing that status (the unlock) needs
# a second operator.  When a later reply shows the status gone, the domain
# is free again.
use strict;
use warnings;
use Test::More;

use EppgwTest qw(:all);

my $D = 'xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"';
my $rs = start_regsim();
my $gw = start_gateway(regsim => $rs, policy => { locks => [] });
my $reg = epp_client(port => $gw->{port}) or die 'login via gateway';
my $direct = epp_client(port => $rs->{port}) or die 'direct login';

# (code, the gateway's reason text, clTRID ST-N)
sub send_cmd {
	my ($sess, $inner) = @_;
	my $r = epp_send($sess, $inner, prefix => 'ST-');
	return @$r{qw(code why trid)};
}
sub status { return status_update('open.example', @_) }
my $info = info_domain('open.example');

# The registrant's own lock, set at the registry.
my ($c) = send_cmd($direct, status('add', 'clientUpdateProhibited'));
is($c, 1000, 'open.example gets clientUpdateProhibited at the registry');

# Before the gateway has seen it, open.example is not locked for it.
($c) = send_cmd($reg, $info);
is($c, 1000, 'domain:info open.example through the gateway');
ok(gateway_log_like($gw, qr/open\.example is UpdateProhibited at the registry/,
    'the gateway learns the status lock', 3), 'learned');

my ($code, $reason, $trid) = send_cmd($reg, status('rem',
    'clientUpdateProhibited'));
is($code, 2304, 'removing clientUpdateProhibited is now held');
like($reason, qr/^approval_required [0-9a-f]{12}$/, 'as approval_required');
ok(!journal_find($rs, clTRID => $trid), 'and never reached the registry');

# The registry side removes it (out of band); the next info frees it.
($c) = send_cmd($direct, status('rem', 'clientUpdateProhibited'));
is($c, 1000, 'the status is removed at the registry');
($c) = send_cmd($reg, $info);
ok(gateway_log_like($gw, qr/open\.example is no longer UpdateProhibited/,
    'the gateway sees the status gone', 3), 'unlearned');
($code) = send_cmd($reg, status('add', 'clientHold'));
is($code, 1000, 'changes on open.example pass again');
($code) = send_cmd($reg, status('rem', 'clientHold'));
is($code, 1000, '(undone)');

# Contacts of a locked domain (DESIGN.md section 4, class "contact"): once
# a domain:info reply of locked.example names them, changing one is held.
my $gw2 = start_gateway(regsim => $rs, policy => { locks => ['locked.example'] });
my $r2 = epp_client(port => $gw2->{port}) or die 'login via gateway 2';
my $C = 'xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"';
my $cupd = sub {
	my ($id) = @_;
	return "<update><contact:update $C><contact:id>$id</contact:id>"
	    . '<contact:chg><contact:email>hijack@evil.example</contact:email>'
	    . '</contact:chg></contact:update></update>';
};
($code) = send_cmd($r2, $cupd->('adm-1'));
is($code, 1000, 'before any info, the gateway does not know adm-1 is '
    . 'linked: a contact update passes');
($code) = send_cmd($r2, "<info><domain:info $D><domain:name>locked.example"
    . '</domain:name></domain:info></info>');
is($code, 1000, 'domain:info locked.example through the gateway');
($code, $reason, $trid) = send_cmd($r2, $cupd->('adm-1'));
is($code, 2304, 'now a change to adm-1 (admin contact of locked.example) is '
    . 'held');
like($reason, qr/^approval_required [0-9a-f]{12}$/, 'as approval_required');
ok(!journal_find($rs, clTRID => $trid), 'and never reached the registry');
($code) = send_cmd($r2, "<info><contact:info $C><contact:id>adm-1"
    . '</contact:id></contact:info></info>');
is($code, 1000, 'reading the contact is still free');

epp_close($_) for $reg, $direct, $r2;
gateways_clean();
done_testing();
