#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs, from Debian 12's packages, everything scratchcrypt needs to build
# and to run its whole test suite, the vm tests included. Run as root.
set -eu
pkgs="build-essential cmake pkg-config
  libcryptsetup-dev libdevmapper-dev libblkid-dev libjson-c-dev libinih-dev
  libntfs-3g89 ntfs-3g-dev libcmocka-dev libcurl4-openssl-dev libssl-dev
  python3 python3-cryptography openssl ca-certificates curl
  qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio socat
  e2fsprogs xfsprogs ntfs-3g fdisk dmsetup cryptsetup-bin udev systemd
  qemu-utils debootstrap clang libclang-rt-14-dev
  dpkg-dev debhelper lintian git ovmf mtools dosfstools fio gnuplot-nox umockdev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run this as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
