# SPDX-License-Identifier: MIT
"""When the system misbehaves: the cause is named, nothing is lost, and the
next run converges once it is fixed."""
import os

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


@scenario
def system_faults(build_dir):
    """A full /run, and a kernel without dm-crypt: start fails naming /run and
    the module to load, the data disks stay byte-identical, and once the
    fault is gone the next start converges and stop shreds."""
    node = standard_node(build_dir, "system_faults")
    untouched = ("nvme-foreign.img", "data.img")
    before = {f: sha256(node.path(f)) for f in untouched}
    r = node.boot(conf() + DEVICES + RESLINK + """
# attempt NAME NEEDLE...: start fails, and its messages hold every NEEDLE.
attempt() {
	what=$1; shift
	set +e; scratchcrypt start 2>/tmp/err; rc=$?; set -e
	[ $rc != 0 ] || fail "$what: start exited 0"
	for n in "$@"; do
		grep -qF "$n" /tmp/err || fail "$what: start (exit $rc) does not say '$n': $(cat /tmp/err)"
	done
	echo "SC-VALUE rc-$what=$rc"
}
step "/run full: the header image has no room"
mkdir -p /run/scratchcrypt
mount -t tmpfs -o size=16k scratchcrypt-full /run/scratchcrypt
attempt run-full "/run/scratchcrypt: that filesystem is full" "free space in /run"
umount /run/scratchcrypt
step "with room again, start converges"
expect_rc 65 scratchcrypt -q start
expect_rc 0 scratchcrypt -q stop
step "no dm-crypt target in the kernel"
ko=$(find /lib/modules -name 'dm-crypt.ko*' | head -n 1)
[ -n "$ko" ] || fail "no dm-crypt module in the initramfs"
rmmod dm_crypt || fail "dm_crypt cannot be unloaded"
mv "$ko" /tmp/
attempt no-dm-crypt "the kernel has no dm-crypt target; load the dm_crypt module (modprobe dm_crypt)"
mv "/tmp/${ko##*/}" "$ko"
insmod "$ko"
step "with dm-crypt again, start converges and stop shreds"
expect_rc 65 scratchcrypt -q start
expect_rc 0 scratchcrypt -q stop
for d in $NA $NB $RES; do
	cryptsetup isLuks $d && fail "$d still has a LUKS header"
done
true
""")
    check(r.value("rc-run-full") == "73", f"a full /run: exit {r.value('rc-run-full')}, expected 73")
    check(r.value("rc-no-dm-crypt") == "69", f"no dm-crypt: exit {r.value('rc-no-dm-crypt')}, expected 69")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: the first MiB is not blank after stop")
    for f in untouched:
        check(sha256(node.path(f)) == before[f], f"{f} changed")
