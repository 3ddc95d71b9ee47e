#!/bin/sh
# Install the Debian 12 packages that building, the demo and the tests need.
# Skips everything already present; needs root (or sudo) only when something is missing.
set -eu

PKGS="make gcc clang pkg-config openssl ca-certificates
libssl-dev libevent-dev libinih-dev libxml2-dev libidn2-dev
liboath-dev oathtool libjansson-dev libcurl4-openssl-dev check
libnet-epp-perl libio-socket-ssl-perl libxml-libxml-perl
libclang-rt-14-dev mandoc procps"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
