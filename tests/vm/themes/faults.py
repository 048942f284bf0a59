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



@scenario
def member_lost(build_dir):
    """A member of the mounted scratch stripe removed (PCI remove): status says degraded and names it; stop exits 69 naming it, shreds the rest and records the shred it owes; after a reboot with the disk back, start shreds it before using it."""
    node = standard_node(build_dir, "member_lost", foreign=False, state=True)
    r = node.boot(conf() + DEVICES + RESLINK + f"""
expect_rc 0 scratchcrypt -q start
echo "{MARKER}" >/mnt/scratch/f; sync
step "the second NVMe disk's controller is removed while the stripe is mounted"
echo 1 >$(readlink -f /sys/block/${{NB#/dev/}}/device/device)/remove
[ -e /sys/block/${{NB#/dev/}} ] && fail "$NB is still there"
{json_out("degraded", "scratchcrypt --json status")}
step "stop: the rest is shredded, the missing member named, its shred owed"
rc=0; scratchcrypt stop 2>/tmp/err || rc=$?
echo "SC-VALUE stop_rc=$rc"
echo "SC-BLOCK-BEGIN stop"; cat /tmp/err; echo "SC-BLOCK-END"
for d in $NA $RES; do cryptsetup isLuks $d && fail "$d keeps its header"; done
dmsetup ls | grep -q scratchcrypt && fail "mappings left: $(dmsetup ls)"
{json_out("owed", "scratchcrypt --json status")}
ls /var/lib/scratchcrypt/owed | grep -q . || fail "no owed record on the state disk"
""")
    check(r.value("stop_rc") == "69", f"stop with a member gone exited {r.value('stop_rc')}, expected 69")
    why = r.block("stop")
    check("scratchcrypt-scratch-1" in why and "owed" in why, f"stop does not name the member and the owed shred: {why}")
    row = role_row(r.json("degraded"), "scratch")
    check(row["state"] == "degraded" and "scratchcrypt-scratch-1" in row["note"], f"status with a member gone: {row}")
    st = r.json("owed")
    check(len(st["owed_shreds"]) == 1 and st["owed_shreds"][0]["mapping"] == "scratchcrypt-scratch-1"
          and st["owed_shreds"][0]["role"] == "scratch", f"owed shreds: {st['owed_shreds']}")
    check(role_row(st, "scratch")["state"] == "error", f"scratch after the stop: {role_row(st, 'scratch')}")
    check(not head_is_zero(node.path("nvme-b.img")), "the removed disk was wiped (it was gone)")
    print(f"  ok   member gone: degraded, stop 69 naming it, owed: {st['owed_shreds'][0]['luks_uuid']}")

    r = node.boot(conf() + DEVICES + RESLINK + f"""
step "after the reboot the disk is back: start shreds it first, then sets up anew"
cryptsetup isLuks $NB || fail "$NB came back without its header"
{json_out("before", "scratchcrypt --json status")}
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
echo "SC-VALUE start_rc=$rc"
echo "SC-BLOCK-BEGIN start"; cat /tmp/err; echo "SC-BLOCK-END"
grep -q "{MARKER}" /mnt/scratch/f 2>/dev/null && fail "the old data is readable"
{json_out("after", "scratchcrypt --json status")}
expect_rc 0 scratchcrypt -q stop
""")
    check(len(r.json("before")["owed_shreds"]) == 1, "the owed shred did not survive the reboot")
    check(r.value("start_rc") == "0", f"start exited {r.value('start_rc')}: {r.block('start')}")
    check("shred is owed: shredding it first" in r.block("start"), f"start did not shred the owed disk: {r.block('start')}")
    st = r.json("after")
    check(st["owed_shreds"] == [] and role_row(st, "scratch")["state"] == "encrypted", f"after the start: {st['owed_shreds']} {role_row(st, 'scratch')}")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: not shredded at the end")
    print("  ok   the disk came back: its owed shred was done before it was used")
