#!/bin/bash
# SPDX-License-Identifier: MIT
# Bakes scratchcrypt into a Debian 12 image, from Debian packages only.
#
#   build-image.sh [--overlay DIR] [--size SIZE] OUT_DIR
#
# Builds scratchcrypt from this checkout for /usr (OUT_DIR/build), and
# makes in OUT_DIR:
#   rootfs/        the image's tree (kept, so a second run only reinstalls)
#   root.img       an ext4 root filesystem image (boot it with root=/dev/vda)
#   vmlinuz, initrd.img   Debian's cloud kernel and its initramfs
# --overlay copies DIR over the tree last (tests add their probes that way).
# The Debian mirror is the build host's own (its first main-archive URI in
# /etc/apt), or MIRROR when set.
set -euo pipefail

overlay="" size=2G
while [ $# -gt 1 ]; do
	case $1 in
	--overlay) overlay=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	*) echo "build-image: unknown option $1" >&2; exit 64 ;;
	esac
done
[ $# = 1 ] || { echo "usage: build-image.sh [--overlay DIR] [--size SIZE] OUT_DIR" >&2; exit 64; }
out=$(realpath -m "$1")
host_mirror() {
	# deb822 sources first, then one-line ones; the main archive, not security.
	local f
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -r "$f" ] && awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -r "$f" ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "$f"
		done
		true
	} | grep -v -e security -e updates | head -n 1
}
mirror=${MIRROR:-$(host_mirror || true)}
[ -n "$mirror" ] || { echo "build-image: no Debian mirror in /etc/apt; set MIRROR" >&2; exit 69; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
root=$out/rootfs
mkdir -p "$out"

# What scratchcrypt needs at run time, the kernel, and systemd as init.
packages=systemd,systemd-sysv,udev,kmod,iproute2,ca-certificates,linux-image-cloud-amd64,\
libcryptsetup12,libdevmapper1.02.1,libblkid1,libjson-c5,libinih1,libcurl4,libssl3,libntfs-3g89,\
e2fsprogs,xfsprogs,cryptsetup-bin,dmsetup

if [ ! -e "$root/.debootstrap-done" ]; then
	rm -rf "$root"
	echo "build-image: debootstrap bookworm from $mirror (a few minutes, once)"
	debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
		{ tail -20 "$out/debootstrap.log" >&2; exit 1; }
	touch "$root/.debootstrap-done"
fi

# scratchcrypt itself, where Debian puts things.
cmake -S "$src" -B "$out/build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF >/dev/null
cmake --build "$out/build" -j"$(nproc)" >/dev/null
# What an earlier run installed goes first, so that renamed files do not linger.
if [ -e "$out/build/install_manifest.txt" ]; then
	while read -r f; do rm -f "$root${f#"$root"}"; done <"$out/build/install_manifest.txt"
fi
DESTDIR=$root cmake --install "$out/build" >/dev/null

# Boot: the units on, a root filesystem, a serial console.
systemctl --root="$root" enable scratchcrypt.service scratchcrypt-watch-events.service >/dev/null 2>&1
echo "scratchcrypt-node" >"$root/etc/hostname"
echo "/dev/vda / ext4 defaults,errors=remount-ro 0 1" >"$root/etc/fstab"

# The resource disk is scratchcrypt's: cloud-init and WALinuxAgent keep off it.
install -D -m 0644 "$here/cloud-init-scratchcrypt.cfg" "$root/etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg"
# cloud-init's Azure datasource merges its own disk_setup (overwrite: true)
# above cloud.cfg.d, so the config above cannot stop it repartitioning the
# disk: without its udev link /dev/disk/cloud/azure_resource it finds no
# ephemeral0 to partition.
mkdir -p "$root/etc/udev/rules.d"
ln -sf /dev/null "$root/etc/udev/rules.d/66-azure-ephemeral.rules"
if [ -e "$root/etc/waagent.conf" ]; then
	sed -i -e 's/^ResourceDisk.Format=.*/ResourceDisk.Format=n/' \
		-e 's/^ResourceDisk.EnableSwap=.*/ResourceDisk.EnableSwap=n/' "$root/etc/waagent.conf"
fi

[ -n "$overlay" ] && cp -a "$overlay/." "$root/"

cp -L "$root/vmlinuz" "$out/vmlinuz"
cp -L "$root/initrd.img" "$out/initrd.img"
rm -f "$out/root.img"
truncate -s "$size" "$out/root.img"
mkfs.ext4 -q -F -L root -d "$root" "$out/root.img"
echo "build-image: $out/root.img"
