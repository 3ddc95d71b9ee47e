#!/bin/sh
# Install the Debian 12 packages that building, the demo, lint (mandoc,
# clang-tidy) and the tests need.
#
#   scripts/deps.sh [bench]
#
# `bench` adds what `make bench` measures against (HAProxy as the reference
# TLS relay).  Skips everything already present; needs root (or sudo) only
# when something is missing.
#
# EPPGW_DEPS_MARKER: a file to create once the packages are in place.
# tests/fresh-make.sh uses it to prove that no build step reads pkg-config
# before this script has run.
set -eu

PKGS="make gcc clang pkg-config openssl ca-certificates
libssl-dev libevent-dev libinih-dev libxml2-dev libidn2-dev
liboath-dev oathtool libjansson-dev libcurl4-openssl-dev libseccomp-dev check
libnet-epp-perl libio-socket-ssl-perl libxml-libxml-perl
libclang-rt-14-dev clang-tidy mandoc procps git"

for group in "$@"; do
	case $group in
	bench)	PKGS="$PKGS haproxy" ;;
	*)	echo "deps: unknown group: $group" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ -n "${EPPGW_DEPS_MARKER:-}" ]; then
	: > "$EPPGW_DEPS_MARKER"
fi
