#!/bin/bash
# SPDX-License-Identifier: MIT
# Proves scratchcrypt on another Debian suite than the build machine's: in a
# debootstrap root of SUITE (bookworm or trixie) it installs the packages
# (tools/install-deps.sh, as a user of that suite would), builds with
# -Werror, runs the unit tests, builds the package and checks it with that
# suite's lintian (make deb), then runs the vm tests matching VM_TESTS on
# that suite's cloud kernel, with that suite's userland in the guest.
#
#   suite-check.sh [--prepare] SUITE WORKDIR [VM_TESTS]
#
# WORKDIR/root is the suite's root; it is kept, so a second run only
# refreshes the sources. The mirror is this machine's own (tools/host-mirror.sh).
# --prepare only makes the root and installs the packages (make check starts
# it in the background, beside the build machine's own tests); a run holds
# WORKDIR/lock, so the full run that follows waits for it.
# VM_TESTS is a ctest regular expression. By default: the vm subset below
# on either suite, and on Debian 13, the current stable, the slow image suite
# too (make check leaves it out on a Debian 12 build machine; on a Debian
# 13 one it runs there). Exit status: that of the first step that failed.
set -euo pipefail
VM_SUBSET='vm\.(prepare|start_stop|shred_discard|power_loss|refuses_hostile_disks|hbi_reboot_rewrap_shred)'
prepare=no
if [ "${1:-}" = --prepare ]; then prepare=yes; shift; fi
[ $# -ge 2 ] || { echo "usage: suite-check.sh [--prepare] SUITE WORKDIR [VM_TESTS]" >&2; exit 64; }
suite=$1 work=$(realpath -m "$2")
case $suite in
trixie) vm_tests=${3:-"^($VM_SUBSET|slow\..*)\$"} ;;
*) vm_tests=${3:-"^$VM_SUBSET\$"} ;;
esac
case $suite in bookworm | trixie) ;; *) echo "suite-check: unsupported suite $suite (bookworm or trixie)" >&2; exit 64 ;; esac
[ "$(id -u)" = 0 ] || { echo "suite-check: run as root (debootstrap, chroot)" >&2; exit 77; }
src=$(cd "$(dirname "$0")/.." && pwd)
root=$work/root
mkdir -p "$work"
exec 9>"$work/lock"
flock 9

# Whatever is mounted inside the root is detached before anything in it is
# removed: rm -rf through a bind mount of /dev would delete the host's nodes.
unmount_root() {
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m"; done
}
trap unmount_root EXIT
trap 'exit 130' INT TERM
unmount_root

if [ "$(cat "$root/.debootstrap-done" 2>/dev/null)" != "$suite" ]; then
	rm -rf "$root"
	mirror=$("$src/tools/host-mirror.sh")
	echo "suite-check: debootstrap $suite (about a minute)"
	debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; exit 1; }
	# No daemon may start in the root.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	echo "$suite" >"$root/.debootstrap-done"
fi
# The root a mount point of its own, as / is (unshare -m in the tests needs it).
mount --bind "$root" "$root"
mount --bind /proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"

# The sources as they are in this checkout (tracked files), in a git tree of
# their own, since make deb packs what git tracks.
rm -rf "$root/src"
mkdir -p "$root/src"
(cd "$src" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$root/src"

in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI="${CI:-}" DEBIAN_FRONTEND=noninteractive \
		SC_KEEP_WORK="${SC_KEEP_WORK:-}" /bin/sh -c "$1"
}
step() {
	local name=$1 t0=$SECONDS
	echo "suite-check: $suite: $name"
	if ! in_root "$2"; then
		echo "suite-check: $suite: $name FAILED" >&2
		exit 1
	fi
	echo "suite-check: $suite: $name passed ($((SECONDS - t0)) s)"
}
step "install-deps" "apt-get update -qq && /src/tools/install-deps.sh && /src/tools/install-deps.sh"
if [ "$prepare" = yes ]; then
	echo "suite-check: $suite: prepared"
	exit 0
fi
step "git tree" "cd /src && git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm tree"
step "build" "cd /src && make build"
step "unit tests" "cd /src/build && ctest --output-on-failure -L unit"
step "make deb" "cd /src && make deb && dpkg-deb -f build-deb/scratchcrypt_*.deb Version Depends"
# The previous release's package (tests/vm/old-release names its commit),
# built here from this clone's history, for slow.image_hbi_upgrade.
old=$(cat "$src/tests/vm/old-release")
if git -C "$src" cat-file -e "$old^{commit}" 2>/dev/null; then
	rm -rf "$root/src-old" && mkdir -p "$root/src-old"
	git -C "$src" archive "$old" | tar -x -C "$root/src-old"
	step "the previous release's package (${old:0:12})" \
		"cd /src-old && git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm old &&
		 { make deb >deb.log 2>&1 || { tail -30 deb.log; false; }; } &&
		 mkdir -p /src/build/old-release-deb && cp build-deb/scratchcrypt_*_amd64.deb /src/build/old-release-deb/"
else
	echo "suite-check: $suite: this clone lacks the previous release ${old:0:12}; slow.image_hbi_upgrade skips"
fi
step "the package beside cloud-init, waagent and azure-vm-utils" \
	"cd /src && tests/package/test_neighbours.sh build-deb/scratchcrypt_*.deb"
step "vm tests on $(in_root 'ls /boot' | sed -n 's/^vmlinuz-//p' | tail -n 1)" \
	"cd /src/build && ctest --output-on-failure -R '$vm_tests'"
echo "suite-check: $suite: all passed"
