#!/usr/bin/perl
# 77-audit-witness.t: witness cosignatures (C2SP tlog-cosignature/v1) and
# name-bound verifier keys (issue #13; docs/audit-log.md, "Witnesses").
#
#   vkey      --vkey as a verifier key string (given directly or in a
#             file) verifies; the same key under another name, or a
#             string whose key hash is not its key's: exit 1; a malformed
#             string: exit 3
#   witness   two witnesses (openssl genpkey keys) cosign the first
#             checkpoint of a live gateway's log (first use), then the
#             next one with consistency proofs (`consistency --old` of
#             each witness's state); verify --quorum 2 passes, --quorum 3
#             exits 3, --quorum without --known-checkpoint exits 3
#   refusals  a rolled-back (older) checkpoint, a fork (same size, other
#             root, re-signed with the demo audit key), one signed under
#             another name and a tampered proof: exit 1, state unchanged
#   tamper    a cosignature altered: verify --quorum exits 1
#
#   make certs build/eppgw build/eppgw-regsim build/eppgw-audit
#   prove -I tests/e2e/lib tests/e2e/77-audit-witness.t
use strict;
use warnings;

use Digest::SHA qw(sha256);
use File::Copy qw(copy);
use File::Spec;
use MIME::Base64 qw(encode_base64 decode_base64);
use Test::More;

use EppgwTest qw(:all);

my $PUB = File::Spec->catfile(certs_dir(), 'audit.pub');
my $KEY = File::Spec->catfile(certs_dir(), 'audit.key');
my $ORIGIN = 'eppgw/e2e';
my $STATEFILE = 'eppgw%2Fe2e.cp';	# the witness state file of $ORIGIN
my $EMDASH = "\xe2\x80\x94";

skip_without(built => [qw(eppgw eppgw-regsim eppgw-audit)],
    tools => ['openssl']);

my $dir = run_dir();

sub run_ok {
	my ($cmd) = @_;
	system($cmd) == 0 or BAIL_OUT("$cmd: exit " . ($? >> 8));
}

# The note's body lines (origin, size, root) and the root.
sub note_size { return (split /\n/, $_[0])[1] }
sub note_root { return (split /\n/, $_[0])[2] }

# A checkpoint body signed with the demo audit key under $name, as the
# gateway would (C2SP signed note, Ed25519 type 1): a forger with the key.
sub sign_note {
	my ($body, $name) = @_;
	spew("$dir/body", $body);
	my $sig = qx{openssl pkeyutl -sign -inkey "$KEY" -rawin \\
	    -in "$dir/body"};
	length($sig) == 64 or BAIL_OUT('openssl pkeyutl -rawin: no signature');
	my $der = qx{openssl pkey -in "$KEY" -pubout -outform DER};
	my $id = substr(sha256("$name\n\x01" . substr($der, -32)), 0, 4);
	return "$body\n$EMDASH $name " . encode_base64($id . $sig, '') . "\n";
}

# ---- the log and its first checkpoint ----

my $rs = start_regsim();
my $adir = audit_commands($rs, 'first');
my $cp1 = slurp("$adir/checkpoint");
like($cp1, qr/^\Q$ORIGIN\E\n\d+\n/, 'the first checkpoint');
spew("$dir/cp1", $cp1);

# ---- A: verifier key strings bind the key to its name ----

my ($rc, $out, $err) = eppgw_audit('vkey', '--name', $ORIGIN, $PUB);
is($rc, 0, 'vkey --name') or diag($err);
chomp(my $LOGVKEY = $out);
like($LOGVKEY, qr{^\Q$ORIGIN\E\+[0-9a-f]{8}\+A[Q-f]}, "log vkey $LOGVKEY");
spew("$dir/log.vkey", "$LOGVKEY\n");

($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY, $adir);
is($rc, 0, 'verify --vkey STRING (given directly): 0') or diag($out, $err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', "$dir/log.vkey", $adir);
is($rc, 0, 'verify --vkey FILE holding the string: 0') or diag($out, $err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $PUB, $adir);
is($rc, 0, 'verify --vkey PEM (no name to check): 0') or diag($out, $err);

($rc, $out) = eppgw_audit('vkey', '--name', 'eppgw/other', $PUB);
chomp(my $othername = $out);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $othername, $adir);
is($rc, 1, 'the same key under another name: INVALID (exit 1)')
    or diag($out, $err);
like($err, qr/under the name \Q$ORIGIN\E, not eppgw\/other/,
    'and it says the name is not the verifier\'s') or diag($err);

my $badhash = $LOGVKEY;
$badhash =~ s/\+([0-9a-f])/'+' . ($1 eq '0' ? '1' : '0')/e;
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $badhash, $adir);
is($rc, 1, 'a verifier key whose hash is not its key\'s: exit 1')
    or diag($out, $err);
like($err, qr/not its key's/, 'and it says so') or diag($err);

($rc, $out, $err) = eppgw_audit('verify', '--vkey', 'eppgw/e2e+zz+AAAA', $adir);
is($rc, 3, 'a malformed verifier key string: exit 3') or diag($out, $err);
like($err, qr/not a verifier key string/, 'with a clear message')
    or diag($err);
($rc, $out, $err) = eppgw_audit('prove', '--seq', 1, '--vkey', $LOGVKEY, $adir);
is($rc, 0, 'prove --vkey STRING') or diag($err);
spew("$dir/p1", $out);
($rc, $out, $err) = eppgw_audit('verify-proof', '--vkey', $LOGVKEY,
    "$dir/p1");
is($rc, 0, 'verify-proof --vkey STRING') or diag($err);
($rc, $out, $err) = eppgw_audit('verify-proof', '--vkey', $othername,
    "$dir/p1");
is($rc, 1, 'verify-proof with the key under another name: exit 1')
    or diag($err);

# ---- the witnesses ----

my %W;
for my $w (qw(w1 w2 w3)) {
	run_ok("openssl genpkey -algorithm ed25519 -out $dir/$w.key "
	    . "2>/dev/null");
	run_ok("openssl pkey -in $dir/$w.key -pubout -out $dir/$w.pub");
	($rc, $out, $err) = eppgw_audit('vkey', '--witness', '--name',
	    "witness.example/$w", "$dir/$w.pub");
	is($rc, 0, "vkey --witness $w") or diag($err);
	chomp($out);
	like($out, qr{^witness\.example/\Q$w\E\+[0-9a-f]{8}\+B[A-P]},
	    "$w: a type 4 verifier key");
	spew("$dir/$w.vkey", "$out\n");
	$W{$w} = { key => "$dir/$w.key", vkey => "$dir/$w.vkey",
	    state => "$dir/state-$w", name => "witness.example/$w" };
}

sub witness {
	my ($w, $cp, @more) = @_;
	return eppgw_audit('witness', '--key', $W{$w}{key}, '--name',
	    $W{$w}{name}, '--log-vkey', $LOGVKEY, '--state', $W{$w}{state},
	    @more, $cp);
}

# First use: no proof needed.  w2 cosigns what w1 handed out.
($rc, $out, $err) = witness('w1', "$dir/cp1", '-o', "$dir/cp1.w1");
is($rc, 0, 'w1 cosigns the first checkpoint') or diag($err);
like($err, qr/trusted on first use/, 'w1: first use said');
($rc, $out, $err) = witness('w2', "$dir/cp1.w1");
is($rc, 0, 'w2 cosigns it too (stdout)') or diag($err);
spew("$dir/cp1.w12", $out);
my @lines = grep { /^\Q$EMDASH\E / } split /\n/, $out;
is(scalar(@lines), 3, 'the log signature and two cosignatures');
like($lines[1], qr{^\Q$EMDASH\E witness\.example/w1 }, 'w1\'s line');
like($lines[2], qr{^\Q$EMDASH\E witness\.example/w2 }, 'w2\'s line');
is(length(decode_base64((split / /, $lines[1])[2])), 76,
    'a cosignature is key ID, time and signature: 76 bytes');
is(slurp("$W{w1}{state}/$STATEFILE"), slurp("$dir/cp1.w1"),
    'w1 keeps what it cosigned, one file per origin');

# Again the same checkpoint: consistent (same size, same root).
($rc, $out, $err) = witness('w1', "$dir/cp1.w12", '-o', "$dir/cp1.again");
is($rc, 0, 'the same checkpoint again: cosigned again') or diag($err);
is(scalar(grep { /^\Q$EMDASH\E witness\.example\/w1 / } split /\n/,
    slurp("$dir/cp1.again")), 1, 'w1\'s older line replaced, not doubled');

# ---- the log grows: proofs from each witness's state ----

audit_commands($rs, 'second', audit => { dir => $adir });
my $cp2 = slurp("$adir/checkpoint");
cmp_ok(note_size($cp2), '>', note_size($cp1), 'a larger checkpoint');
spew("$dir/cp2", $cp2);

($rc, $out, $err) = witness('w1', "$dir/cp2");
is($rc, 3, 'a larger checkpoint without a proof: exit 3') or diag($err);
like($err, qr/consistency proof from size \d+ is needed/, 'it says so');

for my $w (qw(w1 w2)) {
	($rc, $out, $err) = eppgw_audit('consistency', '--old',
	    "$W{$w}{state}/$STATEFILE", '--vkey', $LOGVKEY, $adir);
	is($rc, 0, "consistency --old $w\'s state") or diag($err);
	like($out, qr/^old \d+\n/, "$w: the add-checkpoint body");
	spew("$dir/proof-$w", $out);
}
($rc, $out, $err) = witness('w1', "$dir/cp2", '--proof', "$dir/proof-w1",
    '-o', "$dir/cp2.w1");
is($rc, 0, 'w1 cosigns the next checkpoint with the proof') or diag($err);
($rc, $out, $err) = witness('w2', "$dir/cp2.w1", '--proof', "$dir/proof-w2",
    '-o', "$dir/cp2.w12");
is($rc, 0, 'w2 too') or diag($err);

my $col = "$dir/collected";
mkdir($col) or die "$col: $!";
copy("$dir/cp1.w12", "$col/1.cp") or die;
copy("$dir/cp2.w12", "$col/2.cp") or die;

my @wk = map { ('--witness', $W{$_}{vkey}) } qw(w1 w2);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', $col, @wk, '--quorum', 2, $adir);
is($rc, 0, 'verify --quorum 2 with both cosignatures: 0') or diag($out, $err);
like($out, qr/cosigned by at least 2 of 2 witnesses, quorum 2.*: VALID$/,
    'the summary says so') or diag($out);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $PUB, '--known-checkpoint',
    "$dir/cp2.w12", '--witness', $W{w1}{vkey}, '--witness',
    slurp($W{w2}{vkey}) =~ s/\n//r, '--quorum', 2, $adir);
is($rc, 0, 'a file, a PEM --vkey and a witness key given directly: 0')
    or diag($out, $err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', $col, @wk, '--quorum', 3, $adir);
is($rc, 3, 'verify --quorum 3 with two witnesses: exit 3') or diag($out, $err);
like($err, qr/cosigned\ by\ 2\ of\ the\ 2\ listed\ witnesses .* quorum\ 3:
    \ it\ cannot\ be\ relied\ on/x,
    'the checkpoint short of the quorum is reported') or diag($err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', $col, @wk, '--witness', $W{w3}{vkey}, '--quorum', 3,
    $adir);
is($rc, 3, 'three listed, two cosigned, quorum 3: exit 3') or diag($out, $err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', "$dir/cp2.w1", @wk, '--quorum', 2, $adir);
is($rc, 3, 'a checkpoint only w1 cosigned, quorum 2: exit 3')
    or diag($out, $err);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY, @wk, '--quorum',
    2, $adir);
is($rc, 3, '--quorum without --known-checkpoint: usage, exit 3')
    or diag($out, $err);
like($err, qr/--known-checkpoint/, 'it says what is missing');

# A cosignature altered: a listed witness's failing line is tampering.
my $t = slurp("$dir/cp2.w12");
my ($w2line) = $t =~ /^(\Q$EMDASH\E witness\.example\/w2 \S+)$/m;
my $raw = decode_base64((split / /, $w2line)[2]);
substr($raw, 40, 1) = chr(ord(substr($raw, 40, 1)) ^ 1);
my $bad = $t =~ s/\Q$w2line\E/"$EMDASH witness.example\/w2 "
    . encode_base64($raw, '')/er;
spew("$dir/cp2.tampered", $bad);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', "$dir/cp2.tampered", @wk, '--quorum', 1, $adir);
is($rc, 1, 'a tampered cosignature: INVALID (exit 1)') or diag($out, $err);
like($err, qr{witness\.example/w2 does not verify}, 'naming the witness')
    or diag($err);
# Its time altered instead: the signed message changes with it.
$raw = decode_base64((split / /, $w2line)[2]);
substr($raw, 11, 1) = chr(ord(substr($raw, 11, 1)) ^ 1);
spew("$dir/cp2.time", $t =~ s/\Q$w2line\E/"$EMDASH witness.example\/w2 "
    . encode_base64($raw, '')/er);
($rc, $out, $err) = eppgw_audit('verify', '--vkey', $LOGVKEY,
    '--known-checkpoint', "$dir/cp2.time", @wk, '--quorum', 1, $adir);
is($rc, 1, 'a cosignature with its time altered: exit 1') or diag($err);

# ---- refusals: the state stays as it was ----

my $before = slurp("$W{w1}{state}/$STATEFILE");
($rc, $out, $err) = witness('w1', "$dir/cp1");
is($rc, 1, 'an older checkpoint (rolled back): refused, exit 1')
    or diag($err);
like($err, qr/ROLLBACK/, 'reported as a rollback') or diag($err);
is($out, '', 'nothing signed');
is(slurp("$W{w1}{state}/$STATEFILE"), $before, 'w1\'s state unchanged');

# A fork: the size w1 cosigned last with another root, signed with the
# log's key (an insider with the key shows some a different history).
my $root = decode_base64(note_root($cp2));
substr($root, 0, 1) = chr(ord(substr($root, 0, 1)) ^ 0x80);
my $forkbody = "$ORIGIN\n" . note_size($cp2) . "\n" . encode_base64($root, '')
    . "\n";
spew("$dir/fork", sign_note($forkbody, $ORIGIN));
($rc, $out, $err) = witness('w1', "$dir/fork");
is($rc, 1, 'a fork (same size, another root, validly signed): exit 1')
    or diag($err);
like($err, qr/FORK \(split view\)/, 'reported as a fork') or diag($err);
is($out, '', 'nothing signed');
is(slurp("$W{w1}{state}/$STATEFILE"), $before, 'w1\'s state unchanged');

# The same forged body under another name: the name-bound log key refuses.
spew("$dir/othername", sign_note($forkbody, 'eppgw/other'));
($rc, $out, $err) = witness('w1', "$dir/othername");
is($rc, 1, 'signed by the log key under another name: exit 1') or diag($err);
like($err, qr/not \Q$ORIGIN\E/, 'the name binding says why') or diag($err);

# w3 saw only the first checkpoint; a proof with one hash altered fails.
($rc, $out, $err) = witness('w3', "$dir/cp1");
is($rc, 0, 'w3 cosigns the first checkpoint') or diag($err);
my $w3before = slurp("$W{w3}{state}/$STATEFILE");
my @p = split /\n/, slurp("$dir/proof-w1"), -1;
ok(@p > 3 && $p[1] ne '', 'the proof has hashes') or diag(join("\n", @p));
my $h = decode_base64($p[1]);
substr($h, 5, 1) = chr(ord(substr($h, 5, 1)) ^ 1);
$p[1] = encode_base64($h, '');
spew("$dir/proof-bad", join("\n", @p));
($rc, $out, $err) = witness('w3', "$dir/cp2", '--proof', "$dir/proof-bad");
is($rc, 1, 'a tampered consistency proof: exit 1') or diag($err);
like($err, qr/INCONSISTENT/, 'reported') or diag($err);
is($out, '', 'nothing signed');
is(slurp("$W{w3}{state}/$STATEFILE"), $w3before, 'w3\'s state unchanged');
# A larger checkpoint with a made-up root: no proof can show it.
my $biggerbody = "$ORIGIN\n" . (note_size($cp2) + 5) . "\n"
    . encode_base64($root, '') . "\n";
spew("$dir/bigger", sign_note($biggerbody, $ORIGIN));
($rc, $out, $err) = witness('w1', "$dir/bigger", '--proof', "$dir/proof-w1");
is($rc, 3, 'a proof for another checkpoint: exit 3') or diag($err);
is(slurp("$W{w1}{state}/$STATEFILE"), $before, 'w1\'s state unchanged');
# With the right proof w3 goes on: the proof file as CHECKPOINT (the
# add-checkpoint body holds the checkpoint it leads to).
($rc, $out, $err) = witness('w3', "$dir/proof-w1", '--proof',
    "$dir/proof-w1");
is($rc, 3, 'a proof file as CHECKPOINT and --proof too: usage, exit 3')
    or diag($err);
($rc, $out, $err) = witness('w3', "$dir/proof-w1");
is($rc, 0, 'w3 cosigns the checkpoint of the add-checkpoint body')
    or diag($err);
is(note_root($out), note_root($cp2), 'that is the second checkpoint');
is(slurp("$W{w3}{state}/$STATEFILE"), $out, 'w3\'s state follows');

# A state file that is a symbolic link is refused, not followed.
my $lst = "$dir/state-link";
mkdir($lst) or die;
symlink("$W{w1}{state}/$STATEFILE", "$lst/$STATEFILE") or die;
($rc, $out, $err) = eppgw_audit('witness', '--key', $W{w1}{key}, '--name',
    $W{w1}{name}, '--log-vkey', $LOGVKEY, '--state', $lst, "$dir/cp2");
is($rc, 3, 'a state file that is a symbolic link: exit 3') or diag($err);

stop_regsim($rs);
done_testing();
