#!/bin/sh
# SPDX-License-Identifier: MIT
# PID 1 of the test VM: load modules, run /scenario.sh, report, power off.
export PATH=/usr/sbin:/sbin:/bin
# The first line from userspace: a boot that stops before it stopped in the
# kernel.
echo "SC-INIT"
mount -t proc proc /proc
# The kernel's warnings reach the console until here (loglevel=5: what a
# boot that stalls before init was doing); from here on only its alarms,
# so that nothing lands in the middle of the scenario's output.
echo 3 >/proc/sys/kernel/printk
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
while read -r m; do insmod "$m" 2>/dev/null; done </etc/modules.load
mdev -s 2>/dev/null
mkdir -p /dev/mapper
# Let the disks settle.
for i in $(seq 50); do
	[ -e /sys/block/nvme0n1 ] && ls /sys/block | grep -q '^sd' && break
	sleep 0.1
done
echo "SC-BOOTED"
sh -e /scenario.sh
rc=$?
sync
echo "SC-EXIT $rc"
poweroff -f
