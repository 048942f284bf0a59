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
# The links udev gives a generation 1 resource disk, with the suite's own
# rules (cloud-init's among them), under udev's own matching: umockdev makes
# the Hyper-V device tree (the VMBus device id 00000000-0001-...).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vdev=/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/00000000-0001-8899-0000-000000000000
cat >"$tmp/sdb.umockdev" <<EOF
P: $vdev/host1/target1:0:1/1:0:1:0/block/sdb
N: sdb
E: DEVNAME=/dev/sdb
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: MAJOR=8
E: MINOR=16
E: ID_VENDOR=Msft
E: ID_MODEL=Virtual_Disk
A: dev=8:16
A: size=67108864

P: $vdev/host1/target1:0:1/1:0:1:0
E: DEVTYPE=scsi_device
E: SUBSYSTEM=scsi
A: vendor=Msft
A: model=Virtual Disk

P: $vdev/host1/target1:0:1
E: DEVTYPE=scsi_target
E: SUBSYSTEM=scsi

P: $vdev/host1
E: DEVTYPE=scsi_host
E: SUBSYSTEM=scsi

P: $vdev
E: SUBSYSTEM=vmbus
A: device_id={00000000-0001-8899-0000-000000000000}
EOF
resource_links() {
	umockdev-run -d "$tmp/sdb.umockdev" -- udevadm test --action=add /sys/block/sdb 2>/dev/null |
		sed -n 's/^[[:space:]]*DEVLINKS=//p'
}
expect "cloud-init's rule links the resource disk before" "resource_links | grep -q disk/cloud/azure_resource"
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
# What scratchcrypt-neighbours.service runs before udev starts, as systemd would.
unit=$(dpkg -L scratchcrypt | grep '/scratchcrypt-neighbours.service$')
$(sed -n 's/^ExecStart=//p' "$unit")
expect "the neighbours unit is wanted by sysinit.target, before udev" \
	"grep -qx 'WantedBy=sysinit.target' '$unit' && grep -q '^Before=systemd-udevd.service' '$unit'"
expect "cloud-init's rule is masked in /run/udev/rules.d" "[ \"\$(readlink /run/udev/rules.d/66-azure-ephemeral.rules)\" = /dev/null ]"
expect "udev makes no azure_resource link then" "! resource_links | grep -q disk/cloud/azure_resource"
expect "but still scratchcrypt's own" "resource_links | grep -q disk/scratchcrypt/resource"
expect "cloud-init's rule file is as shipped" "[ \"\$(sha256sum '$rule' | cut -d' ' -f1)\" = '$before_rule' ]"
expect "cloud-init is told not to mount ephemeral0" "grep -q 'ephemeral0, null' /etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg"
expect "azure-ephemeral-disk-setup is skipped while scratchcrypt is enabled" \
	"grep -qx 'ConditionPathExists=/etc/scratchcrypt/disabled' \"\$(dpkg -L scratchcrypt | grep '/azure-ephemeral-disk-setup.service.d/')\""
expect "no file of cloud-init, waagent or azure-vm-utils is changed" "[ -z \"\$(dpkg --verify cloud-init waagent azure-vm-utils)\" ]"

# What stop leaves on a node: the shred record.
mkdir -p /var/lib/scratchcrypt/shred && echo '{}' >/var/lib/scratchcrypt/shred/SN.json
apt-get purge -y -qq scratchcrypt >/dev/null
expect "after purge the mask is gone and cloud-init links the disk again" \
	"[ ! -e /run/udev/rules.d/66-azure-ephemeral.rules ] && resource_links | grep -q disk/cloud/azure_resource"
expect "after purge waagent formats as before" "[ \"\$(waagent_format)\" = True ]"
expect "after purge no scratchcrypt file is left" \
	"[ ! -e '$dropin' ] && [ ! -e '$unit' ] && [ ! -e /etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg ] && [ ! -e /etc/scratchcrypt ] && [ ! -e /var/lib/scratchcrypt ]"
expect "after purge no file of the neighbours is changed" "[ -z \"\$(dpkg --verify cloud-init waagent azure-vm-utils)\" ]"
# A reinstall masks again (the package's postinst applies its tmpfiles.d).
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
expect "a reinstall masks the rule again at once" "[ \"\$(readlink /run/udev/rules.d/66-azure-ephemeral.rules)\" = /dev/null ]"
apt-get purge -y -qq scratchcrypt >/dev/null
expect "and a second purge unmasks it" "[ ! -e /run/udev/rules.d/66-azure-ephemeral.rules ]"

echo "neighbours: $passed passed, $failed failed"
[ "$failed" = 0 ]
