#!/bin/bash
# SPDX-License-Identifier: MIT
# Bakes scratchcrypt into a Debian 13 "trixie" or Debian 12 "bookworm"
# image, from Debian packages only.
#
#   build-image.sh [--suite SUITE] [--deb FILE] [--vhd] [--vhd-size SIZE]
#                  [--overlay DIR] [--size SIZE] [--cmdline ARGS] OUT_DIR
#
# Makes in OUT_DIR:
#   rootfs/        the image's tree (kept, so a second run only reinstalls)
#   root.img       its root filesystem alone (ext4, boot with root=/dev/vda
#                  and the kernel and initramfs below): what the tests boot
#   vmlinuz, initrd.img   Debian's cloud kernel and its initramfs
#   scratchcrypt-debianNN.vhd   with --vhd: an Azure-ready disk, a fixed-size
#                  VHD (GPT, an EFI system partition with shim and GRUB signed
#                  for Secure Boot, the root filesystem), for generation 2 VMs
# SUITE (default: the build host's own) is trixie or bookworm. scratchcrypt
# is installed from its Debian package: FILE, which must be built for SUITE
# (make deb on that suite, or tools/suite-check.sh SUITE), or, when SUITE is
# the host's, one built from this checkout's tracked files (make deb). --overlay copies DIR over the
# tree last (the tests add their probes that way). --cmdline adds kernel
# arguments to the boot loader's entry. The Debian mirror is the
# build host's own (its first main-archive URI in /etc/apt), or MIRROR.
set -euo pipefail

. /etc/os-release
overlay="" size=3G deb="" vhd=no vhd_size=8G cmdline="" suite=${VERSION_CODENAME:-}
while [ $# -gt 1 ]; do
	case $1 in
	--suite) suite=$2; shift 2 ;;
	--overlay) overlay=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--deb) deb=$(realpath "$2"); shift 2 ;;
	--vhd) vhd=yes; shift ;;
	--vhd-size) vhd_size=$2; shift 2 ;;
	--cmdline) cmdline=" $2"; shift 2 ;;
	*) echo "build-image: unknown option $1" >&2; exit 64 ;;
	esac
done
[ $# = 1 ] || { echo "usage: build-image.sh [--suite trixie|bookworm] [--deb FILE] [--vhd] [--vhd-size SIZE] [--overlay DIR] [--size SIZE] [--cmdline ARGS] OUT_DIR" >&2; exit 64; }
# The run-time libraries by each suite's names (Debian 13 has the t64 ones).
# azure-vm-utils (its udev rules and azure-nvme-id) is in Debian 13 only.
case $suite in
trixie) release=13 libs=libcurl4t64,libssl3t64,libntfs-3g89t64 extra_azure=azure-vm-utils ;;
bookworm) release=12 libs=libcurl4,libssl3,libntfs-3g89 extra_azure="" ;;
*) echo "build-image: unsupported suite '$suite' (trixie or bookworm)" >&2; exit 64 ;;
esac
if [ -z "$deb" ] && [ "$suite" != "${VERSION_CODENAME:-}" ]; then
	echo "build-image: this host runs ${VERSION_CODENAME:-another system}; a $suite image needs a package built on $suite: pass --deb (tools/suite-check.sh $suite WORKDIR leaves one in WORKDIR/root/src/build-deb/)" >&2
	exit 64
fi
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mirror=$("$src/tools/host-mirror.sh") || exit 69
root=$out/rootfs
mkdir -p "$out"

# What scratchcrypt needs at run time, the kernel and systemd as init
# (debootstrap), then what an Azure image has (apt, which resolves virtual
# packages that debootstrap cannot): cloud-init, whose Azure datasource
# provisions the VM, WALinuxAgent, SSH, and the boot loader signed for
# Secure Boot. The package keeps cloud-init and WALinuxAgent off the
# resource disk; the tests run cloud-init against it.
packages=systemd,systemd-sysv,udev,kmod,iproute2,ca-certificates,linux-image-cloud-amd64,\
libcryptsetup12,libdevmapper1.02.1,libblkid1,libjson-c5,libinih1,$libs,\
e2fsprogs,xfsprogs,cryptsetup-bin,dmsetup
azure_packages="cloud-init gdisk fdisk waagent openssh-server sudo shim-signed grub-efi-amd64-signed grub2-common $extra_azure"

# Whatever is mounted inside the tree (an apt run cut off leaves the host's
# /dev there) is detached before anything in it is removed: rm -rf through
# a bind mount of /dev would delete the host's device nodes.
unmount_tree() {
	awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m"; done
	if awk -v r="$root/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
		echo "build-image: something is still mounted under $root; not removing it" >&2
		exit 1
	fi
}

stamp=$root/.debootstrap-done
recipe="$suite $packages $azure_packages initramfs-hv"
if [ "$(cat "$stamp" 2>/dev/null)" != "$recipe" ]; then
	unmount_tree
	rm -rf "$root"
	echo "build-image: debootstrap $suite from $mirror (a few minutes, once)"
	debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
		{ tail -20 "$out/debootstrap.log" >&2; exit 1; }
	# apt in the tree: no daemon may start there, and /proc, /sys, /dev
	# are the host's only while it runs.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	trap unmount_tree EXIT
	trap 'exit 130' INT TERM
	for d in proc sys dev; do mount --bind "/$d" "$root/$d"; done
	# shellcheck disable=SC2086
	chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $azure_packages" >"$out/apt.log" 2>&1 || { tail -20 "$out/apt.log" >&2; exit 1; }
	chroot "$root" apt-get clean
	# Hyper-V's VMBus, storage and network drivers in the initramfs (Azure
	# boots from storvsc, or NVMe, which the cloud kernel has built in),
	# by a hook of the image's own; initramfs-tools' files stay as shipped.
	cat >"$root/etc/initramfs-tools/hooks/scratchcrypt-azure" <<'HOOK'
#!/bin/sh
# Made by scratchcrypt's image recipe: what Azure needs to find the root disk.
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules hv_vmbus hv_storvsc hv_netvsc nvme
HOOK
	chmod 0755 "$root/etc/initramfs-tools/hooks/scratchcrypt-azure"
	chroot "$root" update-initramfs -u -k all >>"$out/apt.log" 2>&1 || { tail -20 "$out/apt.log" >&2; exit 1; }
	unmount_tree
	trap - EXIT INT TERM
	rm -f "$root/usr/sbin/policy-rc.d"
	echo "$recipe" >"$stamp"
fi

# scratchcrypt, from its package: the units and the generator enabled by
# its maintainer scripts, as on any Debian system.
if [ -z "$deb" ]; then
	echo "build-image: building the Debian package (make deb)"
	make -C "$src" deb BUILD="$out/pkg" >"$out/deb.log" 2>&1 || { tail -20 "$out/deb.log" >&2; exit 1; }
	deb=$(ls "$out"/pkg-deb/scratchcrypt_*_amd64.deb | head -n 1)
fi
# As an operator installs it, with apt, beside the neighbours already there.
# No systemd runs in the tree, so nothing is started; the runtime files its
# postinst makes (the /run mask) are the booted image's tmpfs's to make.
cp "$deb" "$root/tmp/scratchcrypt.deb"
trap unmount_tree EXIT
trap 'exit 130' INT TERM
for d in proc sys dev; do mount --bind "/$d" "$root/$d"; done
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --no-install-recommends \
	/tmp/scratchcrypt.deb >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log" >&2; exit 1; }
unmount_tree
trap - EXIT INT TERM
rm -f "$root/tmp/scratchcrypt.deb"
rm -rf "$root/run/udev" "$root/run/scratchcrypt"

# Boot: networking by DHCP (systemd-networkd) on Azure's synthetic NIC, not
# on the accelerated-networking VF that shares its MAC.
systemctl --root="$root" enable systemd-networkd.service >/dev/null 2>&1
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nDriver=hv_netvsc\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-azure.network"
echo "scratchcrypt-node" >"$root/etc/hostname"
# Host keys are made on the VM's first boot (cloud-init), never baked in.
rm -f "$root"/etc/ssh/ssh_host_*

# cloud-init's Azure datasource provisions the VM. What keeps cloud-init,
# WALinuxAgent and azure-ephemeral-disk-setup off the resource disk comes
# with the package (its neighbours/ files), as on any image where an
# operator runs apt install scratchcrypt; the recipe adds nothing to it.
# The locale every Debian system has (cloud-init's default, en_US.UTF-8, is
# not generated in a minimal image, and its locale module would fail).
printf 'datasource_list: [ Azure ]\nlocale: C.UTF-8\n' >"$root/etc/cloud/cloud.cfg.d/91-azure-datasource.cfg"

# The root filesystem by UUID, the same in root.img and in the VHD; the
# EFI system partition only where there is one (nofail: boot never waits
# for it).
uuid_file=$out/root.uuid
[ -s "$uuid_file" ] || cat /proc/sys/kernel/random/uuid >"$uuid_file"
root_uuid=$(cat "$uuid_file")
esp_id=$(printf '%s' "$root_uuid" | tr -d '-' | cut -c1-8 | tr a-f A-F)
esp_uuid="${esp_id:0:4}-${esp_id:4:4}"
mkdir -p "$root/boot/efi"
cat >"$root/etc/fstab" <<EOF
UUID=$root_uuid / ext4 defaults,errors=remount-ro 0 1
UUID=$esp_uuid /boot/efi vfat umask=0077,nofail 0 1
EOF
# The kernel by its file in /boot (Debian 13 makes no /vmlinuz link by default).
kver=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$kver" ] || { echo "build-image: no kernel in $root/boot" >&2; exit 1; }
# What Azure needs to boot: Hyper-V's VMBus, storage and network drivers and
# NVMe (the OS disk of NVMe sizes), in the initramfs or built into the kernel.
# (The listing is read whole: grep -q ending a pipe early fails it under pipefail.)
initrd_files=$(chroot "$root" lsinitramfs "/boot/initrd.img-$kver")
for m in hv_vmbus hv_storvsc hv_netvsc nvme; do
	grep -q -E "/${m//_/[-_]}\.ko" "$root/lib/modules/$kver/modules.builtin" && continue
	grep -q -E "/${m//_/[-_]}\.ko" <<<"$initrd_files" && continue
	echo "build-image: $m is neither built into $kver nor in its initramfs; Azure could not boot it" >&2
	exit 1
done
# The kernel command line lives in /etc/default/grub.d, where update-grub
# reads it: a kernel update (its zz-update-grub hook) keeps the serial
# console Azure's boot diagnostics need. No rootdelay=: Debian's initramfs
# sleeps that long on every boot, and it waits for the root device by UUID.
kargs="console=tty1 console=ttyS0,115200n8 earlyprintk=ttyS0$cmdline"
mkdir -p "$root/etc/default/grub.d"
cat >"$root/etc/default/grub.d/50-scratchcrypt-azure.cfg" <<EOF
# Azure: the serial console (boot diagnostics), kept by every update-grub.
GRUB_CMDLINE_LINUX="\$GRUB_CMDLINE_LINUX $kargs"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_TIMEOUT=1
EOF
# The first grub.cfg, as update-grub would write it from those settings
# (update-grub cannot run here: it probes the device / is on).
mkdir -p "$root/boot/grub"
cat >"$root/boot/grub/grub.cfg" <<EOF
set timeout=1
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux $release with scratchcrypt' {
	search --no-floppy --fs-uuid --set=root $root_uuid
	linux /boot/vmlinuz-$kver root=UUID=$root_uuid ro $kargs
	initrd /boot/initrd.img-$kver
}
EOF

[ -n "$overlay" ] && cp -a "$overlay/." "$root/"

cp -L "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp -L "$root/boot/initrd.img-$kver" "$out/initrd.img"
rm -f "$out/root.img"
truncate -s "$size" "$out/root.img"
mkfs.ext4 -q -F -L root -U "$root_uuid" -d "$root" "$out/root.img"
echo "build-image: $out/root.img"

[ "$vhd" = yes ] || exit 0

# The Azure disk: GPT, the EFI system partition (shim signed by Microsoft
# loads GRUB and the kernel signed by Debian, so Secure Boot and Trusted
# Launch work), the root filesystem. Written without loop devices: each
# filesystem is made in a file of its own and copied to its offset.
mib=$((1024 * 1024))
total=$(numfmt --from=iec "$vhd_size")
[ $((total % mib)) = 0 ] || { echo "build-image: --vhd-size must be whole MiB (Azure's rule)" >&2; exit 64; }
esp_start=1 esp_mib=128
root_start=$((esp_start + esp_mib))
root_mib=$((total / mib - root_start - 1)) # the backup GPT in the last MiB
raw=$out/disk.raw
rm -f "$raw" "$out/esp.img" "$out/root.part"
truncate -s "$total" "$raw"
sfdisk --quiet "$raw" <<EOF
label: gpt
start=${esp_start}MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
start=${root_start}MiB, size=${root_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
EOF
mkfs.vfat -F 32 -n ESP -i "$esp_id" -C "$out/esp.img" $((esp_mib * 1024)) >/dev/null
cfg=$out/esp-grub.cfg
printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' \
	"$root_uuid" >"$cfg"
mmd -i "$out/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/debian
mcopy -i "$out/esp.img" "$root/usr/lib/shim/shimx64.efi.signed" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out/esp.img" "$root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" ::/EFI/BOOT/grubx64.efi
mcopy -i "$out/esp.img" "$cfg" ::/EFI/BOOT/grub.cfg
mcopy -i "$out/esp.img" "$cfg" ::/EFI/debian/grub.cfg
truncate -s $((root_mib * mib)) "$out/root.part"
mkfs.ext4 -q -F -L root -U "$root_uuid" -d "$root" "$out/root.part"
dd if="$out/esp.img" of="$raw" bs=1M seek=$esp_start conv=notrunc,sparse status=none
dd if="$out/root.part" of="$raw" bs=1M seek=$root_start conv=notrunc,sparse status=none
rm -f "$out/esp.img" "$out/root.part" "$cfg"
qemu-img convert -f raw -O vpc -o subformat=fixed,force_size "$raw" "$out/scratchcrypt-debian$release.vhd"
rm -f "$raw"
echo "build-image: $out/scratchcrypt-debian$release.vhd"
