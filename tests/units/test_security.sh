#!/bin/bash
# SPDX-License-Identifier: MIT
# unit.systemd_security: the exposure score systemd gives each unit, as
# configured for installation (systemd-analyze security --offline=yes, this
# suite's systemd), against the targets: the unprivileged Scheduled Events
# watcher at most 2.0, every unit that runs as root at most 4.5. Also what
# the scores rest on: the watcher has no user of its own and no
# capabilities; no root unit gets a mount namespace (its mounts would not
# reach the host) or a system call filter that answers ENOSYS.
#   test_security.sh UNIT_DIR
set -euo pipefail
dir=$1
fail=0
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
echo "systemd $(systemd-analyze --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"
score() {
	# "→ Overall exposure level for NAME: 1.2 OK"
	systemd-analyze security --offline=yes --no-pager "$1" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}
for unit in "$dir"/*.service; do
	name=$(basename "$unit")
	case $name in
	scratchcrypt-watch-events.service) limit=2.0 ;;
	*) limit=4.5 ;;
	esac
	s=$(score "$unit")
	[ -n "$s" ] || { echo "FAIL: $name: no score from systemd-analyze"; fail=1; continue; }
	if awk -v s="$s" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
		echo "ok   $name: $s (at most $limit)"
	else
		echo "FAIL: $name: exposure $s, above $limit"
		systemd-analyze security --offline=yes --no-pager "$unit" | grep '✗' | sed 's/^/      /' || true
		fail=1
	fi
	if [ "$name" != scratchcrypt-watch-events.service ]; then
		for opt in PrivateMounts ProtectSystem PrivateTmp ProtectKernelTunables ProtectKernelModules \
			ProtectControlGroups ProtectKernelLogs ProtectHome PrivateNetwork; do
			if grep -q "^$opt=" "$unit"; then
				echo "FAIL: $name runs as root and mounts for the host, but sets $opt= (a mount namespace)"
				fail=1
			fi
		done
	fi
	if grep -q '^SystemCallFilter=' "$unit" && ! grep -qx 'SystemCallErrorNumber=EPERM' "$unit"; then
		echo "FAIL: $name filters system calls without SystemCallErrorNumber=EPERM"
		fail=1
	fi
done
w="$dir/scratchcrypt-watch-events.service"
for want in 'DynamicUser=yes' 'CapabilityBoundingSet=' 'IPAddressDeny=any' 'IPAddressAllow=169.254.169.254'; do
	grep -qx "$want" "$w" || { echo "FAIL: the watcher lacks $want"; fail=1; }
done
grep -q -- '--handoff ' "$w" || { echo "FAIL: the watcher does not hand the shred off"; fail=1; }
[ $fail = 0 ] && echo "all units meet their targets"
exit $fail
