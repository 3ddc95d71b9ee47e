#!/usr/bin/perl
# Adversarial EPP commands as fuzz seeds for fuzz_epp: the constructs of
# tests/bench/judge-bench.c (namespace bombs and reuse, deep nesting, many
# attributes, siblings, long text, unknown extension elements, comments,
# character references, text split into nodes), each at a moderate size
# (a few KB: mutations stay fast) and at and one over the command limits
# (the largest input the cheap checks let through, and the smallest they
# refuse), which is where an off-by-one or a slow path would hide.
#
#   tests/fuzz/adversarial-seeds.pl EPP_C OUT_DIR
#
# The limits are read from epp_command_limits in EPP_C (policy/epp.c), so
# the seeds follow the code; the defaults below stand in, with a warning,
# if that initialiser cannot be read.
use strict;
use warnings;

@ARGV == 2 or die "usage: $0 EPP_C OUT_DIR\n";
my ($epp_c, $out) = @ARGV;

my %lim = (max_elements => 1024, max_attrs => 32, max_ns => 64,
    max_depth => 32, max_text => 16384);
{
	my $src = '';
	if (open(my $fh, '<', $epp_c)) {
		local $/;
		$src = <$fh>;
		close($fh);
	}
	my $found = 0;
	if ($src =~ /epp_command_limits\s*=\s*\{(.*?)\}/s) {
		my $init = $1;
		while ($init =~ /\.(\w+)\s*=\s*(\d+)/g) {
			next unless exists $lim{$1};
			$lim{$1} = $2;
			$found++;
		}
	}
	warn "$0: epp_command_limits not read from $epp_c: default limits\n"
	    if $found != keys %lim;
}

# What the skeleton spends of the limits (as in judge-bench.c).
my $SKEL_ELEMENTS = 7;	# epp command update domain:update domain:name
			# extension clTRID
my $SKEL_NS = 2;	# epp's default namespace, domain
my $EXT_DEPTH = 4;	# the depth of a child of <extension>
my $X_NS = 'urn:example:adversary-1.0';
my $EPP = 'urn:ietf:params:xml:ns:epp-1.0';
my $DOMAIN = 'urn:ietf:params:xml:ns:domain-1.0';

my $xml_decl = qq{<?xml version="1.0" encoding="UTF-8"?>\n};
my $update_open = $xml_decl . qq{<epp xmlns="$EPP"><command><update>} .
    qq{<domain:update xmlns:domain="$DOMAIN">} .
    qq{<domain:name>open.example</domain:name>};
my $update_close = '</domain:update></update>';
my $cmd_close = "<clTRID>ADV-0001</clTRID></command></epp>\n";

# A domain:update of an unlocked domain with $body in <extension>.
sub ext {
	my ($body, $ext_attrs) = @_;
	$ext_attrs //= qq{ xmlns:x="$X_NS"};
	return "$update_open$update_close<extension$ext_attrs>$body" .
	    "</extension>$cmd_close";
}

# Prefix x redeclared $n times, nested down to the depth limit, then as
# siblings in the innermost element; URIs $pad bytes longer than needed.
sub nsbomb {
	my ($n, $pad) = @_;
	my $levels = $lim{max_depth} - $EXT_DEPTH;
	$levels = $n if $levels > $n;
	my $body = '';
	for my $i (0 .. $n - 1) {
		$body .= qq{<x:e xmlns:x="urn:x:$i:} . ('u' x $pad) .
		    ($i < $levels ? '">' : '"/>');
	}
	$body .= '</x:e>' x $levels;
	return ext($body, '');
}

# One prefix on <extension>, a $pad-byte URI, used by $n elements.
sub nsreuse {
	my ($n, $pad) = @_;
	return ext('<x:a/>' x $n, ' xmlns:x="urn:x:' . ('u' x $pad) . '"');
}

# $n prefixes on <command> and <extension>, each element using max_attrs.
sub nsattrs {
	my ($n, $pad, $elements) = @_;
	my $per = $lim{max_attrs};
	my $s = $xml_decl . qq{<epp xmlns="$EPP"><command};
	for my $i (0 .. $n - 1) {
		$s .= '><update><domain:update xmlns:domain="' . $DOMAIN .
		    '"><domain:name>open.example</domain:name>' .
		    "$update_close<extension" if $i == $per - 1;
		$s .= qq{ xmlns:p$i="urn:p:$i:} . ('u' x $pad) . '"';
	}
	$s .= '>';
	for my $e (0 .. $elements - 1) {
		$s .= '<p' . ($e % $n) . ':a';
		for my $j (1 .. ($per < $n ? $per : $n) - 1) {
			$s .= ' p' . (($e + $j) % $n) . ':a=""';
		}
		$s .= '/>';
	}
	return "$s</extension>$cmd_close";
}

# Chains of unknown elements $depth deep (the first one; the others at
# the limit), $chains of them.
sub deep {
	my ($depth, $chains) = @_;
	my $full = $lim{max_depth} - $EXT_DEPTH + 1;
	my $body = '';
	for my $c (0 .. $chains - 1) {
		my $levels = $c == 0 ? $depth - $EXT_DEPTH + 1 : $full;
		$body .= ('<x:d>' x $levels) . ('</x:d>' x $levels);
	}
	return ext($body);
}

# One unknown element with its xmlns and $n attributes of $pad bytes.
sub attrs {
	my ($n, $pad) = @_;
	my $body = qq{<x:a xmlns:x="$X_NS"};
	$body .= qq{ a$_="} . ('v' x $pad) . '"' for 0 .. $n - 1;
	return ext("$body/>", '');
}

sub check {
	my ($n) = @_;
	my $s = $xml_decl . qq{<epp xmlns="$EPP"><command><check>} .
	    qq{<domain:check xmlns:domain="$DOMAIN">};
	$s .= "<domain:name>n$_.example</domain:name>" for 1 .. $n;
	return "$s</domain:check></check>$cmd_close";
}

sub hostobj {
	my ($n) = @_;
	my $s = "$update_open<domain:add><domain:ns>";
	$s .= "<domain:hostObj>ns$_.example</domain:hostObj>" for 1 .. $n;
	return "$s</domain:ns></domain:add>$update_close$cmd_close";
}

# A password of $body (already markup) in an authInfo change.
sub pw {
	my ($body) = @_;
	return "$update_open<domain:chg><domain:authInfo><domain:pw>$body" .
	    "</domain:pw></domain:authInfo></domain:chg>$update_close" .
	    $cmd_close;
}

# $n unknown extension elements with $a attributes each.
sub unknown {
	my ($n, $a) = @_;
	my $el = '<x:a' . join('', map { qq{ a$_=""} } 0 .. $a - 1) . '/>';
	return ext($el x $n);
}

my $n_el = $lim{max_elements} - $SKEL_ELEMENTS;
my $n_ns = $lim{max_ns} - $SKEL_NS;
my $chains = int($n_el / ($lim{max_depth} - $EXT_DEPTH + 1));
my %seeds = (
	# moderate sizes
	'ns-bomb-small' => nsbomb(8, 40),
	'ns-reuse-small' => nsreuse(200, 2000),
	'ns-reuse-attrs-small' => nsattrs($n_ns, 30, 8),
	'deep-small' => deep($lim{max_depth}, 2),
	'attrs-small' => attrs(8, 200),
	'check-small' => check(50),
	'hostobj-small' => hostobj(50),
	'text-small' => pw('p' x 3000),
	'unknown-small' => unknown(200, 2),
	'comment-small' => ext('<x:a><!--' . ('c' x 3000) . '--></x:a>'),
	'charrefs-small' => pw(join('', map { '&#' . (65 + $_ % 26) . ';' }
	    0 .. 599)),
	'text-nodes-small' => pw('p<!---->' x 400),
	# at each limit (accepted, or refused by the schema or the model),
	# and one over it (refused by the bounds)
	'ns-bomb-limit' => nsbomb($n_ns, 0),
	'ns-bomb-over' => nsbomb($n_ns + 1, 0),
	'ns-reuse-limit' => nsreuse($n_el, 0),
	'ns-reuse-over' => nsreuse($n_el + 1, 0),
	'ns-reuse-attrs-limit' => nsattrs($n_ns, 0, 20),
	'ns-reuse-attrs-over' => nsattrs($n_ns + 1, 0, 20),
	'deep-limit' => deep($lim{max_depth}, $chains),
	'deep-over' => deep($lim{max_depth} + 1, 1),
	'attrs-limit' => attrs($lim{max_attrs} - 1, 1),
	'attrs-over' => attrs($lim{max_attrs}, 1),
	'check-model-limit' => check(100),
	'check-model-over' => check(101),
	'check-limit' => check($lim{max_elements} - 5),
	'check-over' => check($lim{max_elements} - 4),
	'hostobj-limit' => hostobj($lim{max_elements} - 8),
	'hostobj-over' => hostobj($lim{max_elements} - 7),
	'text-limit' => pw('p' x $lim{max_text}),
	'text-over' => pw('p' x ($lim{max_text} + 1)),
	'unknown-limit' => unknown($n_el, 0),
	'unknown-over' => unknown($n_el + 1, 0),
);

-d $out or mkdir($out) or die "$0: $out: $!\n";
for my $name (sort keys %seeds) {
	open(my $fh, '>', "$out/adv-$name.xml") or die "$0: $out: $!\n";
	print $fh $seeds{$name};
	close($fh) or die "$0: $out: $!\n";
}
printf "adversarial seeds: %d in %s\n", scalar(keys %seeds), $out;
