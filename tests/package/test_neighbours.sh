#!/bin/bash
# SPDX-License-Identifier: MIT
# The package beside the real neighbour agents of a stock Azure image, on
# the Debian suite this runs on (a debootstrap root: tools/suite-check.sh):
# installs cloud-init, waagent and azure-vm-utils from the suite's archive,
# then the scratchcrypt .deb as an operator would (apt install), and checks
# that each neighbour is kept off the disks scratchcrypt owns through its own
# mechanism, without an edit to any of their files (dpkg --verify), and that
# after a purge each behaves as before, with nothing of scratchcrypt's left.
# Usage: test_neighbours.sh DEB   (as root, in a root where no daemon starts)
set -euo pipefail
deb=$(realpath "$1")
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; }
expect() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends cloud-init waagent azure-vm-utils >/dev/null
rulesdir=$(pkg-config --variable=udevdir udev)/rules.d
rule=$rulesdir/66-azure-ephemeral.rules
# waagent_format [CONF]: the daemon's ResourceDisk.Format, as waagent itself reads it.
waagent_format() {
	waagent -show-configuration ${1:+-configuration-path:$1} | awk -F' = ' '$1 == "ResourceDisk.Format" { print $2 }'
}
before_rule=$(sha256sum "$rule" | cut -d' ' -f1)
expect "cloud-init's rule makes the azure_resource link before" "grep -q 'SYMLINK+=\"disk/cloud/' '$rule'"
expect "waagent formats the resource disk before (ResourceDisk.Format=y as shipped)" "[ \"\$(waagent_format)\" = True ]"

apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
dropin=$(dpkg -L scratchcrypt | grep '/walinuxagent.service.d/50-scratchcrypt.conf$')
# What systemd runs for walinuxagent.service with the drop-in: its
# ExecStartPre, then the daemon with -configuration-path:.
pre=$(sed -n 's/^ExecStartPre=//p' "$dropin")
start=$(sed -n 's/^ExecStart=\(.\)/\1/p' "$dropin")
conf=$(sed -n 's/.*-configuration-path:\([^ ]*\).*/\1/p' <<<"$start")
expect "the drop-in replaces ExecStart with the daemon on a copy" "[ -n \"$conf\" ] && grep -q '^ExecStart=$' '$dropin'"
expect "the unit's own ExecStart is the one the drop-in repeats" \
	"grep -qx 'ExecStart=/usr/sbin/waagent -daemon' \"\$(dpkg -L waagent | grep '/walinuxagent.service$')\""
$pre
expect "waagent, on the copy, leaves the resource disk alone" "[ \"\$(waagent_format '$conf')\" = False ]"
expect "the copy keeps the rest of /etc/waagent.conf" \
	"grep -q '^Provisioning.Agent=' '$conf' && [ \"\$(grep -c . /etc/waagent.conf)\" -le \"\$(grep -c . '$conf')\" ]"
expect "cloud-init's rule is diverted" "dpkg-divert --list '$rule' | grep -q 'by scratchcrypt'"
expect "udev reads no rule of that name that makes the link" "! grep -q '^[^#]' '$rule'"
expect "cloud-init's rule is kept beside it, unread" "[ \"\$(sha256sum '$rule.scratchcrypt-diverted' | cut -d' ' -f1)\" = '$before_rule' ]"
expect "cloud-init is told not to mount ephemeral0" "grep -q 'ephemeral0, null' /etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg"
expect "azure-ephemeral-disk-setup is skipped while scratchcrypt is enabled" \
	"grep -qx 'ConditionPathExists=/etc/scratchcrypt/disabled' \"\$(dpkg -L scratchcrypt | grep '/azure-ephemeral-disk-setup.service.d/')\""
expect "no file of cloud-init, waagent or azure-vm-utils is changed" "[ -z \"\$(dpkg --verify cloud-init waagent azure-vm-utils)\" ]"

apt-get purge -y -qq scratchcrypt >/dev/null
expect "after purge cloud-init's rule is back, unchanged" "[ \"\$(sha256sum '$rule' | cut -d' ' -f1)\" = '$before_rule' ]"
expect "after purge no diversion is left" "[ -z \"\$(dpkg-divert --list '*scratchcrypt*')\" ]"
expect "after purge waagent formats as before" "[ \"\$(waagent_format)\" = True ]"
expect "after purge no scratchcrypt file is left" \
	"[ ! -e '$dropin' ] && [ ! -e /etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg ] && [ ! -e /etc/scratchcrypt ] && [ ! -e '$rule.scratchcrypt-diverted' ]"
expect "after purge no file of the neighbours is changed" "[ -z \"\$(dpkg --verify cloud-init waagent azure-vm-utils)\" ]"
# A reinstall diverts again.
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
expect "a reinstall diverts the rule again" "dpkg-divert --list '$rule' | grep -q 'by scratchcrypt'"
apt-get purge -y -qq scratchcrypt >/dev/null
expect "and a second purge restores it" "[ \"\$(sha256sum '$rule' | cut -d' ' -f1)\" = '$before_rule' ]"

echo "neighbours: $passed passed, $failed failed"
[ "$failed" = 0 ]
