#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the test VM's initramfs: busybox-static, the freshly built
# scratchcrypt, the tools it runs (mkfs, dmsetup), every library they need
# (found with ldd, plus libgcc_s which glibc loads at run time), and the
# kernel's dm, crypto, SCSI, virtio and xfs modules with their modules.dep
# dependencies, in load order (those the kernel has built in are skipped).
# Usage: [EXTRA_TOOLS="/usr/bin/fio ..."] mkinitramfs.sh KVER SCRATCHCRYPT_BINARY OUTPUT.cpio
set -euo pipefail

kver=$1 binary=$2 out=$3
moddir=/lib/modules/$kver
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,lib/modules,usr/sbin,etc/scratchcrypt}

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

tools=("$binary" /sbin/mke2fs /sbin/mkfs.xfs /sbin/dmsetup /sbin/cryptsetup)
copy_with_libs() {
	local f=$1 dest=$2
	install -D -m 0755 "$f" "$root$dest"
	ldd "$f" | awk '/=> \//{print $3} /^\t\/lib|^\t\/usr/{print $1}' | while read -r lib; do
		[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
	done
}
copy_with_libs "$binary" /usr/sbin/scratchcrypt
# libcurl, which scratchcrypt loads only to talk to a key service (dlopen:
# ldd does not list it).
# (awk reads all of ldconfig's output: an early exit would be a SIGPIPE,
# fatal under pipefail.)
libcurl=$(ldconfig -p | awk '/libcurl\.so\.4 .*x86-64/ && !found { print $NF; found = 1 }')
[ -n "$libcurl" ] || { echo "mkinitramfs: libcurl.so.4 not found (apt-get install libcurl4)" >&2; exit 1; }
copy_with_libs "$(readlink -f "$libcurl")" "$libcurl"
# EXTRA_TOOLS: more programs for the guest (make bench adds fio).
for t in /sbin/mke2fs /sbin/mkfs.xfs /sbin/dmsetup /sbin/cryptsetup ${EXTRA_TOOLS:-}; do
	real=$(readlink -f "$t")
	copy_with_libs "$real" "/usr/sbin/$(basename "$t")"
done
ln -sf mke2fs "$root/usr/sbin/mkfs.ext4"
[ -e /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
libgcc=$(gcc -print-file-name=libgcc_s.so.1)
libgcc=$(readlink -f "$libgcc")
install -D -m 0755 "$libgcc" "$root/lib/x86_64-linux-gnu/libgcc_s.so.1"

# Modules, dependencies first.
wanted="dm-mod dm-crypt xts aesni-intel algif_skcipher virtio_pci virtio_blk virtio_scsi sd_mod xfs virtio_net"
order=()
declare -A seen=()
# builtin NAME: the kernel has NAME built in (modules.builtin; Debian 13's
# cloud kernel builds in virtio_pci, for one), so there is nothing to load.
builtin() {
	awk -v m="$1" '{ n=$0; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n); gsub(/_/, "-", n);
		mm=m; gsub(/_/, "-", mm); if (n == mm) { found=1; exit } } END { exit !found }' \
		"$moddir/modules.builtin"
}
add_mod() {
	local path
	path=$(awk -v m="$1" -F: '{ n=$1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n);
		gsub(/_/, "-", n); mm=m; gsub(/_/, "-", mm); if (n == mm) { print $0; exit } }' \
		"$moddir/modules.dep")
	if [ -z "$path" ]; then
		builtin "$1" && return
		echo "mkinitramfs: module $1 is neither in $moddir/modules.dep nor built into $kver" >&2
		exit 1
	fi
	local self=${path%%:*} deps=${path#*:}
	[ -n "${seen[$self]:-}" ] && return
	for d in $deps; do add_mod "$(basename "${d%%.ko*}")"; done
	[ -n "${seen[$self]:-}" ] && return
	seen[$self]=1
	order+=("$self")
}
for m in $wanted; do add_mod "$m"; done
for m in "${order[@]}"; do
	install -D -m 0644 "$moddir/$m" "$root/lib/modules/$m"
	echo "/lib/modules/$m" >>"$root/etc/modules.load"
done

install -m 0755 "$here/guest-init.sh" "$root/init"
install -m 0644 "$here/guest-lib.sh" "$root/etc/guest-lib.sh"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out"
