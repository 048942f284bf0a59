#!/bin/sh
# SPDX-License-Identifier: MIT
# Stamps a copy of the source tree's debian/changelog for the Debian suite
# this machine runs (/etc/os-release): version VERSION+debNN and the suite as
# the distribution, so that one archive can hold the Debian 12 and the
# Debian 13 builds and an upgrade from 12 to 13 moves to the 13 build
# (0.2.0+deb12 < 0.2.0+deb13). Each build needs its own suite: a package
# built on 13 needs 13's libc, and 12's puts files under /lib, which 13's
# lintian rejects (aliased-location).
# Usage: deb-suite.sh TREE
set -eu
tree=$1
. /etc/os-release
case "${VERSION_CODENAME:-}" in
bookworm | trixie) ;;
*) echo "deb-suite: ${PRETTY_NAME:-this system} is not a supported suite (Debian 12 or 13)" >&2; exit 69 ;;
esac
cl=$tree/debian/changelog
version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$cl")
[ -n "$version" ] || { echo "deb-suite: no version on the first line of $cl" >&2; exit 65; }
case $version in *+deb*) echo "deb-suite: $cl is already stamped ($version)" >&2; exit 65 ;; esac
sed -i "1s/^\([^ ]*\) ([^)]*) [^;]*;/\1 ($version+deb$VERSION_ID) $VERSION_CODENAME;/" "$cl"
head -n 1 "$cl"
