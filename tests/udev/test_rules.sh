#!/bin/bash
# SPDX-License-Identifier: MIT
# The installed udev rules, unmodified, evaluated by udev's own matching
# (udevadm test) against Hyper-V-shaped device trees that umockdev builds:
# a generation 1 resource disk (VMBus device id 00000000-0001-...), a
# generation 2 resource disk (LUN 1 of the OS disk's controller), the OS
# disks of both, a data disk, an NVMe Direct Disk without a platform index
# and a remote "MSFT NVMe Accelerator" namespace. udevadm sees only the
# rules under test (a private mount namespace hides the host's).
# Usage: test_rules.sh RULES_FILE...   (needs root for unshare -m)
set -u
[ $# -ge 1 ] || { echo "usage: test_rules.sh RULES_FILE..." >&2; exit 64; }
unavailable() {
	if [ "${CI:-}" = true ]; then echo "FAIL: $1 (CI must run this test)"; exit 1; fi
	echo "SKIP: $1"; exit 77
}
command -v umockdev-run >/dev/null || unavailable "umockdev-run is not installed (apt-get install umockdev)"
command -v udevadm >/dev/null || unavailable "udevadm is not installed"
[ "$(id -u)" = 0 ] || unavailable "needs root (a mount namespace hides the host's rules)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rules" "$tmp/empty"
cp "$@" "$tmp/rules/"

vmbus=/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00
# scsi_disk NAME VMBUS_ID H:C:T:L VENDOR MODEL: a SCSI disk under a storvsc
# VMBus device, as Hyper-V shows it in sysfs.
scsi_disk() {
	local name=$1 id=$2 addr=$3 vendor=$4 model=$5
	local host=${addr%%:*} vdev="$vmbus/${id//[\{\}]/}"
	local tgt="target${addr%:*}"
	cat <<EOF
P: $vdev/host$host/$tgt/$addr/block/$name
N: $name
E: DEVNAME=/dev/$name
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: MAJOR=8
E: MINOR=$(( ($(printf %d "'${name#sd}") - 97) * 16 ))
A: dev=8:$(( ($(printf %d "'${name#sd}") - 97) * 16 ))
A: size=67108864

P: $vdev/host$host/$tgt/$addr
E: DEVTYPE=scsi_device
E: SUBSYSTEM=scsi
A: vendor=$vendor
A: model=$model
A: type=0

P: $vdev/host$host/$tgt
E: DEVTYPE=scsi_target
E: SUBSYSTEM=scsi

P: $vdev/host$host
E: DEVTYPE=scsi_host
E: SUBSYSTEM=scsi

P: $vdev
E: SUBSYSTEM=vmbus
E: DRIVER=hv_storvsc
A: device_id=$id
A: class_id={ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}

EOF
}
# nvme_disk NAME CTRL MODEL SERIAL
nvme_disk() {
	local name=$1 ctrl=$2 model=$3 serial=$4
	local pci=/devices/pci0000:00/0000:00:0${ctrl#nvme}.0
	cat <<EOF
P: $pci/nvme/$ctrl/$name
N: $name
E: DEVNAME=/dev/$name
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: ID_SERIAL_SHORT=$serial
E: MAJOR=259
E: MINOR=${ctrl#nvme}
A: dev=259:${ctrl#nvme}
A: size=67108864
A: nsid=1

P: $pci/nvme/$ctrl
E: SUBSYSTEM=nvme
A: model=$model
A: serial=$serial

P: $pci
E: SUBSYSTEM=pci
E: DRIVER=nvme

EOF
}

# One device tree per disk (disks that share a controller would repeat it).
scsi_disk sda "{00000000-0000-8899-0000-000000000000}" 0:0:0:0 "Msft    " "Virtual Disk    " >"$tmp/sda.umockdev"
scsi_disk sdb "{00000000-0001-8899-0000-000000000000}" 1:0:1:0 "Msft    " "Virtual Disk    " >"$tmp/sdb.umockdev"
scsi_disk sdc "{f8b3781a-1e82-4818-a1c3-63d806ec15bb}" 2:0:0:0 "Msft    " "Virtual Disk    " >"$tmp/sdc.umockdev"
scsi_disk sdd "{f8b3781a-1e82-4818-a1c3-63d806ec15bb}" 2:0:0:1 "Msft    " "Virtual Disk    " >"$tmp/sdd.umockdev"
scsi_disk sde "{f8b3781b-1e82-4818-a1c3-63d806ec15bb}" 3:0:0:1 "Msft    " "Virtual Disk    " >"$tmp/sde.umockdev"
nvme_disk nvme0n1 nvme0 "Microsoft NVMe Direct Disk v2            " SCLOCAL0 >"$tmp/nvme0n1.umockdev"
nvme_disk nvme1n1 nvme1 "MSFT NVMe Accelerator v1.0              " SCREMOTE >"$tmp/nvme1n1.umockdev"

passed=0 failed=0
# udev_props DEV: the properties and links udevadm test gives DEV.
udev_props() {
	unshare -m sh -c '
		for d in /etc/udev/rules.d /run/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d; do
			[ -d "$d" ] && mount --bind "$1/empty" "$d"
		done
		mount --bind "$1/rules" /usr/lib/udev/rules.d
		exec umockdev-run -d "$1/$2.umockdev" -- udevadm test --action=add "/sys/block/$2"
	' _ "$tmp" "$1" 2>"$tmp/$1.log" | sed 's/^[[:space:]]*//' # systemd 257 indents them
}
# expect DEV WANT... ; a WANT starting with ! must be absent.
expect() {
	local dev=$1 out w ok=1
	shift
	out=$(udev_props "$dev")
	# udevadm must have evaluated this device, or an absence proves nothing.
	grep -q "^DEVNAME=/dev/$dev\$" <<<"$out" || { echo "FAIL: $dev: udevadm test did not run:"; \
		tail -5 "$tmp/$dev.log"; failed=$((failed + 1)); return; }
	for w in "$@"; do
		if [ "${w#!}" != "$w" ]; then
			grep -q -e "${w#!}" <<<"$out" && { echo "FAIL: $dev: has ${w#!}"; ok=0; }
		else
			grep -q -e "$w" <<<"$out" || { echo "FAIL: $dev: no $w"; ok=0; }
		fi
	done
	if [ $ok = 1 ]; then passed=$((passed + 1)); else
		failed=$((failed + 1)); echo "--- $dev:"; echo "$out"; tail -20 "$tmp/$dev.log"
	fi
}

# Generation 1: the resource disk by its VMBus id; the OS disk is not local.
expect sdb '^DEVLINKS=.*disk/scratchcrypt/resource' '^SCRATCHCRYPT_LOCAL=1$' \
	'^SYSTEMD_WANTS=.*scratchcrypt-hotplug.service' '^TAGS=.*:systemd:'
expect sda '!scratchcrypt/resource' '!SCRATCHCRYPT_LOCAL' '!SYSTEMD_WANTS'
# Generation 2: LUN 1 of the OS disk's controller; LUN 0 is the OS disk.
expect sdd '^DEVLINKS=.*disk/scratchcrypt/resource' '^SCRATCHCRYPT_LOCAL=1$' \
	'^SYSTEMD_WANTS=.*scratchcrypt-hotplug.service'
expect sdc '!scratchcrypt/resource' '!SCRATCHCRYPT_LOCAL'
# A data disk at LUN 1 of a data controller is nobody's temp disk.
expect sde '!scratchcrypt/resource' '!SCRATCHCRYPT_LOCAL'
# An NVMe Direct Disk: local, by serial; the platform gave no index (the
# controller is not Azure's), so no by-index link, not the kernel's number.
expect nvme0n1 '^DEVLINKS=.*disk/scratchcrypt/local/by-serial/SCLOCAL0' '^SCRATCHCRYPT_LOCAL=1$' \
	'^SYSTEMD_WANTS=.*scratchcrypt-hotplug.service' '!by-index'
# A remote managed disk on an NVMe size is never local.
expect nvme1n1 '!scratchcrypt' '!SCRATCHCRYPT_LOCAL'

echo "udev rules: $passed passed, $failed failed"
[ "$failed" = 0 ]
