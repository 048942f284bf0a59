#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the Debian mirror this machine's apt uses: $MIRROR when set, else
# the first main-archive URI in /etc/apt (deb822 sources first, then
# one-line ones; not the security or updates archives). Exits 69 when there
# is none. The suite does not matter: one mirror serves bookworm and trixie.
set -eu
if [ -n "${MIRROR:-}" ]; then
	echo "$MIRROR"
	exit 0
fi
m=$(
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] && awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "$f"
	done
	true
)
m=$(printf '%s\n' "$m" | grep -v -e security -e updates | head -n 1)
[ -n "$m" ] || { echo "host-mirror: no Debian mirror in /etc/apt; set MIRROR" >&2; exit 69; }
echo "$m"
