# SPDX-License-Identifier: MIT
# Helpers for the scenarios that run inside the test VM.
fail() { echo "SC-FAIL: $*"; exit 1; }
step() { echo "SC-STEP: $*"; }
# The kernel name of the NVMe namespace whose controller has this serial.
nvme_by_serial() {
	for d in /sys/block/nvme*; do
		[ "$(cat "$d/device/serial" | tr -d ' ')" = "$1" ] && { echo "/dev/${d##*/}"; return; }
	done
	fail "no NVMe disk with serial $1"
}
# mount_state: the node's state directory (/var/lib/scratchcrypt) from the
# virtio disk SCSTATE when the node has one, so that it outlives a reboot as
# it does on the OS disk of a real node.
mount_state() {
	for d in /sys/block/vd*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = SCSTATE ] || continue
		mkdir -p /var/lib/scratchcrypt && mount "/dev/${d##*/}" /var/lib/scratchcrypt ||
			fail "cannot mount the state disk"
	done
}
scsi_by_serial() {
	for d in /sys/block/sd*; do
		[ -e "$d/device/vpd_pg80" ] && grep -q "$1" "$d/device/vpd_pg80" && { echo "/dev/${d##*/}"; return; }
	done
	fail "no SCSI disk with serial $1"
}
# expect_rc WANT CMD...: runs CMD, fails the scenario unless it exits WANT.
expect_rc() {
	want=$1; shift
	set +e
	"$@"
	got=$?
	set -e
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}
# The guest's side of the test network: a link-local address, and names
# from HOSTS ("ip name" lines) in /etc/hosts.
net_up() {
	ip link set lo up
	ip link set eth0 up
	ip addr add 169.254.0.15/16 dev eth0
	echo "hosts: files" >/etc/nsswitch.conf
	printf '127.0.0.1 localhost\n%s\n' "$1" >/etc/hosts
}
# emu_config JSON: sets the test key service's knobs through the IMDS forward.
emu_config() {
	wget -q -O /dev/null --header "Metadata: true" --post-data "$1" http://169.254.169.254/_emu/config ||
		fail "cannot set the emulator's knobs: $1"
}
