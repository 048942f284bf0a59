#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs, from Debian's packages, everything scratchcrypt needs to build
# and to run its whole test suite, the vm tests included, on Debian 12
# "bookworm" or Debian 13 "trixie" (read from /etc/os-release). Run as root;
# when everything is installed it changes nothing and returns at once.
set -eu
. /etc/os-release
# Names that exist on both suites (the t64 runtime libraries come in as
# dependencies of the -dev packages; libclang-rt-dev follows the suite's LLVM).
pkgs="build-essential cmake pkg-config
  libcryptsetup-dev libdevmapper-dev libblkid-dev libjson-c-dev libinih-dev
  ntfs-3g-dev libcmocka-dev libcurl4-openssl-dev libssl-dev
  python3 python3-cryptography openssl ca-certificates curl
  qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio socat
  e2fsprogs xfsprogs ntfs-3g fdisk dmsetup cryptsetup-bin udev systemd
  qemu-utils debootstrap clang libclang-rt-dev
  dpkg-dev debhelper lintian git ovmf mtools dosfstools fio gnuplot-nox umockdev python3-jmespath dnsmasq-base iproute2 xz-utils"
case "${VERSION_CODENAME:-}" in
bookworm) ;;
# systemd.pc and udev.pc (where units and rules go) moved to systemd-dev.
trixie) pkgs="$pkgs systemd-dev" ;;
*) echo "install-deps: ${PRETTY_NAME:-this system} is not supported; scratchcrypt supports Debian 12 (bookworm) and Debian 13 (trixie)" >&2
   exit 69 ;;
esac
# One dpkg-query for all: a virtual name never counts as installed.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $pkgs 2>/dev/null | awk '$1 == "ii" { print $2 }')
missing=""
for p in $pkgs; do
	printf '%s\n' "$installed" | grep -qx "$p" || missing="$missing $p"
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
