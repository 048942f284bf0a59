# SPDX-License-Identifier: MIT
"""When the system misbehaves: the cause is named, nothing is lost, and the
next run converges once it is fixed."""
import os

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


@scenario
def system_faults(build_dir):
    """A full /run, a kernel without dm-crypt, the kernel keyring's quota
    used up: start fails naming /run, the module to load, the keyring quota
    (no key ever lands in a dm table), the data disks stay byte-identical,
    and once the fault is gone the next start converges and stop shreds."""
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
step "the kernel keyring's quota for root used up"
q=$(cat /proc/sys/kernel/keys/root_maxbytes)
echo 16 >/proc/sys/kernel/keys/root_maxbytes
set +e; scratchcrypt start 2>/tmp/err; rc=$?; set -e
echo "SC-VALUE rc-keyring-quota=$rc"
echo "SC-BLOCK-BEGIN keyring-quota"; cat /tmp/err; echo "SC-BLOCK-END"
echo "SC-VALUE keyring-quota-hex=$(dmsetup table | grep ' crypt ' | grep -c -v ':logon:' || true)"
echo "$q" >/proc/sys/kernel/keys/root_maxbytes
step "with dm-crypt and the keyring again, start converges and stop shreds"
expect_rc 65 scratchcrypt -q start
expect_rc 0 scratchcrypt -q stop
for d in $NA $NB $RES; do
	cryptsetup isLuks $d && fail "$d still has a LUKS header"
done
true
""")
    check(r.value("rc-run-full") == "73", f"a full /run: exit {r.value('rc-run-full')}, expected 73")
    check(r.value("rc-no-dm-crypt") == "69", f"no dm-crypt: exit {r.value('rc-no-dm-crypt')}, expected 69")
    log = r.block("keyring-quota")
    check(r.value("rc-keyring-quota") != "0" and "keyring" in log and "quota" in log.lower(),
          f"a full keyring quota: exit {r.value('rc-keyring-quota')}, and the message does not say so:\n{log}")
    check(r.value("keyring-quota-hex") == "0", "a crypt table holds the key itself with the keyring full")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: the first MiB is not blank after stop")
    for f in untouched:
        check(sha256(node.path(f)) == before[f], f"{f} changed")



# Shell for the member-loss scenarios. pause_at STEP ARGS...: scratchcrypt
# ARGS in the background, stopped at STEP (the command itself, or a disk's
# worker): $pid is the command, $sp the stopped process. pull: the second
# NVMe disk's controller removed. plug: a PCI rescan brings it back; $NB
# names it again.
PULL_LIB = r"""
stopped() {
	for p in $(pidof scratchcrypt); do
		grep -q '^State:.*T' /proc/$p/status 2>/dev/null && { echo $p; return; }
	done
}
pause_at() {
	at=$1; shift
	SCRATCHCRYPT_CRASH_AT=$at SCRATCHCRYPT_CRASH_MODE=pause scratchcrypt "$@" 2>/tmp/paused.err & pid=$!
	while [ -z "$(stopped)" ]; do kill -0 $pid 2>/dev/null || fail "scratchcrypt $* ended before $at"; sleep 0.1; done
	sp=$(stopped)
}
pull() { echo 1 >$(readlink -f /sys/block/${NB#/dev/}/device/device)/remove; }
plug() {
	echo 1 >/sys/bus/pci/rescan
	for i in $(seq 100); do [ "$(ls /sys/block | grep -c '^nvme')" = 2 ] && break; sleep 0.1; done
	NB=$(nvme_by_serial SCNVMEB)
}
"""


@scenario
def member_lost(build_dir):
    """A member of the mounted scratch stripe removed (PCI remove): status says degraded and names it; stop exits 69 naming it, shreds the rest and records the shred it owes; after a reboot with the disk back, start shreds it before using it."""
    node = standard_node(build_dir, "member_lost", foreign=False, state=True)
    r = node.boot(conf() + DEVICES + RESLINK + PULL_LIB + f"""
expect_rc 0 scratchcrypt -q start
echo "{MARKER}" >/mnt/scratch/f; sync
step "the second NVMe disk's controller is removed while the stripe is mounted"
pull
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


@scenario
def disk_stalls(build_dir):
    """A local NVMe disk that all but stops answering (QEMU throttles it to 4 KiB/s): status answers within its probe deadline and names it; start refuses it after probe_timeout_s, naming it, sets up the other disks and ends; no probe process is left behind; the disk is unchanged."""
    node = standard_node(build_dir, "disk_stalls", foreign=False)
    stalled = node.path("nvme-b.img")
    node.drive_opts[stalled] = ",throttling.bps-total=4096"
    before = sha256(stalled)
    up = "$(cut -d' ' -f1 /proc/uptime)"
    r = node.boot(conf("probe_timeout_s = 3\n") + DEVICES + RESLINK + f"""
step "status with $NB stalled"
t0={up}; rc=0; scratchcrypt --json status >/tmp/st.json 2>/tmp/st.err || rc=$?; t1={up}
echo "SC-VALUE status=$rc $(awk "BEGIN {{ print $t1 - $t0 }}")"
{json_out("status", "cat /tmp/st.json")}
step "start with $NB stalled: refused in time, the rest set up"
t0={up}; rc=0; scratchcrypt start 2>/tmp/err || rc=$?; t1={up}
echo "SC-VALUE start=$rc $(awk "BEGIN {{ print $t1 - $t0 }}")"
echo "SC-BLOCK-BEGIN start"; cat /tmp/err; echo "SC-BLOCK-END"
sleep 1
echo "SC-VALUE left=$(pidof scratchcrypt | wc -w)"
echo "SC-VALUE mounted=$(awk '$2 == "/mnt/resource" || $2 == "/mnt/scratch" {{ print $1 }}' /proc/mounts | sort | tr '\n' ' ')"
{json_out("started", "scratchcrypt --json status")}
expect_rc 0 scratchcrypt -q stop
""", timeout=600)
    rc, secs = r.value("status").split()
    check(rc == "0" and float(secs) < 8, f"status with a stalled disk: exit {rc} after {secs} s (deadline 3 s)")
    nb = r.value("NB")
    refused = {x["device"]: x["reason"] for x in role_row(r.json("status"), "scratch")["refused"]}
    check("did not answer a read within 3000 ms" in refused.get(nb, ""), f"status does not name {nb}: {refused}")
    rc, secs = r.value("start").split()
    log = r.block("start")
    # 65, as for any refused disk: the rest is set up, and status says which.
    check(rc == "65" and "1 disk was refused" in log, f"start exited {rc}: {log}")
    check(float(secs) < 20, f"start took {secs} s with a stalled disk")
    check(f"refusing {nb}: {nb} did not answer a read within 3000 ms" in log, f"start does not name {nb}: {log}")
    check(r.value("mounted").split() == ["/dev/mapper/scratchcrypt-scratch", "/dev/mapper/scratchcrypt-temp"],
          f"the other disks were not set up: {r.value('mounted')}")
    check(r.value("left") == "0", f"{r.value('left')} scratchcrypt processes left after start")
    st = r.json("started")
    check(role_row(st, "scratch")["state"] == "encrypted" and role_row(st, "scratch")["devices"] == [r.value("NA")],
          f"scratch after the start: {role_row(st, 'scratch')}")
    check(sha256(stalled) == before, "the stalled disk was written")
    print(f"  ok   status in {r.value('status').split()[1]} s, start in {secs} s; {nb} refused, untouched")


@scenario
def step_stalls(build_dir):
    """A disk that stalls in the middle of start (its worker held at write-header of the second scratch member, as a disk that stops answering holds it): start stops it at step_timeout_s, names the disk, sets up the temp disk and ends with 69; no process is left; status keeps the error; the next start converges."""
    node = standard_node(build_dir, "step_stalls", foreign=False)
    up = "$(cut -d' ' -f1 /proc/uptime)"
    r = node.boot(conf("step_timeout_s = 5\n") + DEVICES + RESLINK + f"""
step "start with the second scratch member's worker stalled at write-header"
t0={up}; rc=0
SCRATCHCRYPT_CRASH_AT=write-header#3 SCRATCHCRYPT_CRASH_MODE=pause scratchcrypt start 2>/tmp/err || rc=$?
t1={up}
echo "SC-VALUE start=$rc $(awk "BEGIN {{ print $t1 - $t0 }}")"
echo "SC-BLOCK-BEGIN start"; cat /tmp/err; echo "SC-BLOCK-END"
sleep 1
echo "SC-VALUE left=$(pidof scratchcrypt | wc -w)"
echo "SC-VALUE mounted=$(awk '$2 == "/mnt/resource" || $2 == "/mnt/scratch" {{ print $1 }}' /proc/mounts | sort | tr '\\n' ' ')"
{json_out("stalled", "scratchcrypt --json status")}
step "the next start converges"
expect_rc 0 scratchcrypt -q start
[ "$(awk '$2 == "/mnt/resource" || $2 == "/mnt/scratch"' /proc/mounts | wc -l)" = 2 ] || fail "not both mounted after the second start"
expect_rc 0 scratchcrypt -q stop
""", timeout=600)
    rc, secs = r.value("start").split()
    log = r.block("start")
    check("crash point write-header#3 reached" in log, f"the worker did not stall where asked: {log}")
    check(rc == "69", f"start with a stalled disk exited {rc}: {log}")
    check(float(secs) < 30, f"start took {secs} s with step_timeout_s = 5")
    nb = r.value("NB")
    check(f"{nb} did not finish within 5 s" in log, f"start does not name {nb}: {log}")
    check(r.value("left") == "0", f"{r.value('left')} scratchcrypt processes left after start")
    check(r.value("mounted").split() == ["/dev/mapper/scratchcrypt-temp"], f"mounted: {r.value('mounted')}")
    st = r.json("stalled")
    check(role_row(st, "temp")["state"] == "encrypted", f"temp: {role_row(st, 'temp')}")
    row = role_row(st, "scratch")
    check(row["state"] == "error" and "did not finish within 5 s" in row["note"], f"scratch: {row}")
    print(f"  ok   start stopped the stalled worker and ended in {secs} s (69), naming {nb}; the next start converged")


# Where member_lost_in_start pulls the second scratch disk: its member open
# (the third activation, after the temp disk's and the first member's),
# the stripe live, the filesystem made; then once the volume is mounted.
START_LOSS_STEPS = ("activate#3", "assemble-stripe", "mkfs#2")


@scenario
def member_lost_in_start(build_dir):
    """The second scratch disk's controller removed while start is paused at each of its later steps (system keys): that start fails; the next converges on the disk that is there (the stale mappings closed, no header written on a mapped disk, the gone disk's shred owed); when the disk is back (PCI rescan), start shreds it first; status lists exactly the volume's disks. Removed once the volume is mounted: start names it and fails with 69 (a retry cannot help), status says degraded."""
    node = standard_node(build_dir, "member_lost_in_start", foreign=False, state=True)
    script = conf() + DEVICES + RESLINK + PULL_LIB
    for step in START_LOSS_STEPS:
        tag = step.replace("#", "")
        script += f"""
step "start paused at {step}; the second scratch disk goes"
pause_at {step} start
pull
kill -CONT $sp; rc=0; wait $pid || rc=$?
echo "SC-VALUE {tag}_first=$rc"
rc=0; scratchcrypt start 2>/tmp/e2 || rc=$?
echo "SC-VALUE {tag}_second=$rc"
echo "SC-BLOCK-BEGIN {tag}_second"; cat /tmp/e2; echo "SC-BLOCK-END"
{json_out(tag + "_after", "scratchcrypt --json status")}
step "the disk is back ({step})"
plug
rc=0; scratchcrypt start 2>/tmp/e3 || rc=$?
echo "SC-VALUE {tag}_back=$rc"
echo "SC-BLOCK-BEGIN {tag}_back"; cat /tmp/e3; echo "SC-BLOCK-END"
{json_out(tag + "_back", "scratchcrypt --json status")}
expect_rc 0 scratchcrypt -q stop
"""
    script += f"""
step "mounted, then the second scratch disk goes: start names it and fails (69)"
expect_rc 0 scratchcrypt -q start
pull
rc=0; scratchcrypt start 2>/tmp/e4 || rc=$?
echo "SC-VALUE mounted_lost=$rc"
echo "SC-BLOCK-BEGIN mounted_lost"; cat /tmp/e4; echo "SC-BLOCK-END"
{json_out("mounted_lost", "scratchcrypt --json status")}
expect_rc 69 scratchcrypt -q stop
plug
expect_rc 0 scratchcrypt -q start
expect_rc 0 scratchcrypt -q stop
"""
    r = node.boot(script + "true\n", timeout=900)
    na = r.value("NA")
    log = r.block("mounted_lost")
    check(r.value("mounted_lost") == "69" and "mounted, but the disk under scratchcrypt-scratch-1" in log,
          f"start on a mounted volume with a member gone: {r.value('mounted_lost')}\n{log}")
    check(role_row(r.json("mounted_lost"), "scratch")["state"] == "degraded", "status: not degraded")
    for step in START_LOSS_STEPS:
        tag = step.replace("#", "")
        check(r.value(f"{tag}_first") != "0", f"{step}: the start that lost a disk exited 0")
        second = r.block(f"{tag}_second")
        check(r.value(f"{tag}_second") == "0", f"{step}: the next start exited {r.value(f'{tag}_second')}:\n{second}")
        check("taken down and set up again" in second, f"{step}: the stale volume was not taken down:\n{second}")
        st = r.json(f"{tag}_after")
        row = role_row(st, "scratch")
        check(row["state"] == "encrypted" and row["devices"] == [na], f"{step}: scratch after the next start: {row}")
        check(len(st["owed_shreds"]) == 1, f"{step}: owed shreds: {st['owed_shreds']}")
        back = r.block(f"{tag}_back")
        check(r.value(f"{tag}_back") == "0" and "its shred is owed: shredding it first" in back,
              f"{step}: with the disk back: {r.value(f'{tag}_back')}\n{back}")
        st = r.json(f"{tag}_back")
        check(st["owed_shreds"] == [] and role_row(st, "scratch")["devices"] == [na],
              f"{step}: after the disk came back: {st['owed_shreds']} {role_row(st, 'scratch')}")
        print(f"  ok   lost at {step}: converged on {na}, the gone disk's shred owed and done when back")


def blkdebug_rules(node, name, event, sector=0):
    """A blkdebug rules file: every `event` (read_aio, write_aio) that
    touches the disk's 512-byte sector `sector` fails with EIO."""
    path = node.path(name)
    with open(path, "w") as f:
        f.write(f'[inject-error]\nevent = "{event}"\nerrno = "5"\nsector = "{sector}"\n')
    return path


# The claim's sector (agent/ondisk/format.h: the last 4 KiB of the first
# MiB), and where ext4's superblock lands: 1 KiB into the data area of the
# stripe's first member (the first NVMe disk).
CLAIM_SECTOR = (1024 * 1024 - 4096) // 512
FS_SECTOR = 1024 * 1024 // 512 + 2


@scenario
def io_errors(build_dir):
    """QEMU's blkdebug fails the second NVMe disk's I/O at its first sector. Reads failing: status and start refuse it naming the I/O error, --force too, the other disks are set up (65), and not a byte of it changes. Writes failing at the header, at the claim, at the filesystem's superblock: start names the disk or the failed mkfs (73), status keeps the error until a run succeeds; without the fault the next start converges."""
    node = standard_node(build_dir, "io_errors", foreign=False)
    nb_img = node.path("nvme-b.img")
    before = sha256(nb_img)
    node.blkdebug[nb_img] = blkdebug_rules(node, "reads.conf", "read_aio")
    r = node.boot(conf() + DEVICES + RESLINK + f"""
step "reads of $NB fail at its first sector"
{json_out("read_status", "scratchcrypt --json status")}
rc=0; scratchcrypt start 2>/tmp/e1 || rc=$?
echo "SC-VALUE read_start=$rc"; echo "SC-BLOCK-BEGIN read_start"; cat /tmp/e1; echo "SC-BLOCK-END"
expect_rc 0 scratchcrypt -q stop
rc=0; scratchcrypt start --force 2>/tmp/e2 || rc=$?
echo "SC-VALUE read_force=$rc"; echo "SC-BLOCK-BEGIN read_force"; cat /tmp/e2; echo "SC-BLOCK-END"
expect_rc 0 scratchcrypt -q stop
""")
    nb = r.value("NB")
    refused = {x["device"]: x["reason"] for x in role_row(r.json("read_status"), "scratch")["refused"]}
    check("cannot be read (Input/output error)" in refused.get(nb, ""), f"status on an unreadable {nb}: {refused}")
    log = r.block("read_start")
    check(r.value("read_start") == "65" and f"refusing {nb}: {nb} cannot be read (Input/output error)" in log,
          f"start with {nb} unreadable: {r.value('read_start')}\n{log}")
    log = r.block("read_force")
    check(r.value("read_force") == "65" and "left untouched, even with --force" in log,
          f"start --force with {nb} unreadable: {r.value('read_force')}\n{log}")
    check(sha256(nb_img) == before, f"{nb} changed while its reads failed")
    print(f"  ok   reads failing: {nb} refused naming the I/O error, --force too; not a byte changed")

    node.blkdebug[nb_img] = blkdebug_rules(node, "writes.conf", "write_aio")
    r = node.boot(conf() + DEVICES + RESLINK + f"""
step "writes to $NB fail at its first sector"
rc=0; scratchcrypt start 2>/tmp/e1 || rc=$?
echo "SC-VALUE write_start=$rc"; echo "SC-BLOCK-BEGIN write_start"; cat /tmp/e1; echo "SC-BLOCK-END"
{json_out("write_status", "scratchcrypt --json status")}
""")
    log = r.block("write_start")
    check(r.value("write_start") == "73" and nb in log, f"start with {nb}'s writes failing: {r.value('write_start')}\n{log}")
    row = role_row(r.json("write_status"), "scratch")
    check(row["state"] == "error" and nb in row["note"], f"status after the failed write: {row}")
    print(f"  ok   writes failing: start 73 naming {nb}; status: {row['note'][:100]}")

    na_img = node.path("nvme-a.img")
    for what, img, sector, needle in (("claim", nb_img, CLAIM_SECTOR, "claim"),
                                      ("filesystem", na_img, FS_SECTOR, "mkfs")):
        node.blkdebug.clear()
        node.blkdebug[img] = blkdebug_rules(node, f"{what}.conf", "write_aio", sector)
        r = node.boot(conf() + DEVICES + RESLINK + f"""
step "writes to the {what} (sector {sector}) fail"
rc=0; scratchcrypt start 2>/tmp/e1 || rc=$?
echo "SC-VALUE start=$rc"; echo "SC-BLOCK-BEGIN start"; cat /tmp/e1; echo "SC-BLOCK-END"
{json_out("status", "scratchcrypt --json status")}
""")
        log = r.block("start")
        check(r.value("start") == "73" and needle in log, f"writes failing at the {what}: {r.value('start')}\n{log}")
        row = role_row(r.json("status"), "scratch")
        check(row["state"] == "error" and needle in row["note"], f"status after a failed {what} write: {row}")
        print(f"  ok   writes failing at the {what}: start 73; status: {row['note'][:100]}")

    node.blkdebug.clear()
    r = node.boot(conf() + DEVICES + RESLINK + """
step "the fault gone: start converges"
expect_rc 0 scratchcrypt -q start
[ "$(awk '$2 == "/mnt/resource" || $2 == "/mnt/scratch"' /proc/mounts | wc -l)" = 2 ] || fail "not both mounted"
expect_rc 0 scratchcrypt -q stop
""")


@scenario
def stop_stalls(build_dir):
    """A disk that stalls in the middle of stop (the second disk's shred worker held at wipe-header): stop kills it at step_timeout_s, names the disk, shreds the others and exits 69; status says the shred is unfinished; the next stop finishes it."""
    node = standard_node(build_dir, "stop_stalls", foreign=False, state=True)
    r = node.boot(conf("step_timeout_s = 5\n") + DEVICES + RESLINK + r"""
expect_rc 0 scratchcrypt -q start
step "stop with the second disk's shred worker stalled at wipe-header"
rc=0; SCRATCHCRYPT_CRASH_AT=wipe-header#2 SCRATCHCRYPT_CRASH_MODE=pause scratchcrypt stop 2>/tmp/err || rc=$?
echo "SC-VALUE stop=$rc"; echo "SC-BLOCK-BEGIN stop"; cat /tmp/err; echo "SC-BLOCK-END"
sleep 1
echo "SC-VALUE left=$(pidof scratchcrypt | wc -w)"
echo "SC-JSON-BEGIN stalled"; scratchcrypt --json status; echo "SC-JSON-END"
step "the next stop finishes the shred"
expect_rc 0 scratchcrypt -q stop
for d in $NA $NB $RES; do cryptsetup isLuks $d && fail "$d keeps its header"; done
echo "SC-JSON-BEGIN done"; scratchcrypt --json status; echo "SC-JSON-END"
""")
    log = r.block("stop")
    check("crash point wipe-header#2 reached" in log, f"the worker did not stall where asked: {log}")
    check(r.value("stop") == "69" and "did not finish within 5 s" in log, f"stop with a stalled disk: {r.value('stop')}\n{log}")
    check(r.value("left") == "0", f"{r.value('left')} scratchcrypt processes left after stop")
    st = r.json("stalled")
    named = [d for d in (r.value("NA"), r.value("NB"), r.value("RES")) if f"{d} did not finish within 5 s" in log]
    check(len(named) == 1, f"stop does not name the stalled disk: {log}")
    shredded = sorted(s["device"] for s in st["shreds"])
    check(len(shredded) == 2 and named[0] not in shredded, f"shredded: {shredded}, stalled: {named}")
    left = named
    check(st["unfinished_stop"] is not None, f"status does not say the stop is unfinished: {st['unfinished_stop']}")
    check(any(row["state"] == "shred-unfinished" for row in st["disks"]), f"no row says shred-unfinished: {st['disks']}")
    check(r.json("done")["unfinished_stop"] is None, "the record stayed after a stop that finished")
    check(len(r.json("done")["shreds"]) == 3, f"after the second stop: {r.json('done')['shreds']}")
    print(f"  ok   stop killed the stalled worker, named {left[0]}, shredded the rest (69); the next stop finished it")


# Where member_lost_in_stop pulls the second scratch disk: every disk
# marked, and the first member closed.
STOP_LOSS_STEPS = ("mark-shredding", "deactivate#1")


@scenario
def member_lost_in_stop(build_dir):
    """The second scratch disk's controller removed while stop is paused at its named steps: stop shreds the rest, names the member and exits 69 with its shred owed (or, once its mapping is closed, leaves it to the record of the unfinished stop); when the disk is back (PCI rescan), the next stop shreds it and nothing is owed."""
    node = standard_node(build_dir, "member_lost_in_stop", foreign=False, state=True)
    script = conf() + DEVICES + RESLINK + PULL_LIB
    for step in STOP_LOSS_STEPS:
        tag = step.replace("#", "").replace("-", "_")
        script += f"""
step "stop paused at {step}; the second scratch disk goes"
expect_rc 0 scratchcrypt -q start
pause_at {step} stop
pull
kill -CONT $sp; rc=0; wait $pid || rc=$?
echo "SC-VALUE {tag}_stop=$rc"
echo "SC-BLOCK-BEGIN {tag}_stop"; cat /tmp/paused.err; echo "SC-BLOCK-END"
for d in $NA $RES; do cryptsetup isLuks $d && fail "{step}: $d keeps its header"; done
{json_out(tag + "_after", "scratchcrypt --json status")}
plug
expect_rc 0 scratchcrypt -q stop
cryptsetup isLuks $NB && fail "{step}: $NB keeps its header after it came back"
{json_out(tag + "_back", "scratchcrypt --json status")}
"""
    r = node.boot(script + "true\n", timeout=600)
    for step in STOP_LOSS_STEPS:
        tag = step.replace("#", "").replace("-", "_")
        log = r.block(f"{tag}_stop")
        check(r.value(f"{tag}_stop") == "69" and "is gone" in log,
              f"{step}: stop with a member gone: exit {r.value(f'{tag}_stop')}:\n{log}")
        st = r.json(f"{tag}_after")
        check(st["owed_shreds"] or st["unfinished_stop"], f"{step}: nothing says a shred is owed: {st}")
        back = r.json(f"{tag}_back")
        check(back["owed_shreds"] == [] and back["unfinished_stop"] is None,
              f"{step}: after the disk came back and stop ran: {back['owed_shreds']} {back['unfinished_stop']}")
        print(f"  ok   lost at stop {step}: exit {r.value(f'{tag}_stop')}, owed, shredded when back")


@scenario
def member_lost_in_start_hbi(build_dir):
    """HBI, with data on the scratch stripe: the volume closed (stop --keep), then the second disk's controller removed while start reopens it (paused at its member's activation): that start fails; the next refuses clearly and keeps what can be kept (no header written, nothing owed, the first disk's header unchanged); when the disk is back (PCI rescan), start reopens the volume with its data."""
    node = standard_node(build_dir, "member_lost_in_start_hbi", foreign=False, state=True)
    ks = KeyService(node)
    try:
        r = node.boot(HBI_CONF + DEVICES + RESLINK + PULL_LIB + r"""
expect_rc 0 scratchcrypt -q start
echo "scratchcrypt-hbi-keep" >/mnt/scratch/keep.txt; sync
expect_rc 0 scratchcrypt -q stop --keep
head -c 16384 $NA | md5sum | cut -c1-32 >/tmp/na.md5
step "reopen paused at the second member's activation; that disk goes"
pause_at activate#3 start
pull
kill -CONT $sp; rc=0; wait $pid || rc=$?
echo "SC-VALUE first=$rc"; echo "SC-BLOCK-BEGIN first"; cat /tmp/paused.err; echo "SC-BLOCK-END"
rc=0; scratchcrypt start 2>/tmp/e2 || rc=$?
echo "SC-VALUE second=$rc"; echo "SC-BLOCK-BEGIN second"; cat /tmp/e2; echo "SC-BLOCK-END"
echo "SC-VALUE na_same=$([ "$(head -c 16384 $NA | md5sum | cut -c1-32)" = "$(cat /tmp/na.md5)" ] && echo yes || echo no)"
echo "SC-JSON-BEGIN after"; scratchcrypt --json status; echo "SC-JSON-END"
step "the disk is back: the volume opens with its data"
plug
rc=0; scratchcrypt start 2>/tmp/e3 || rc=$?
echo "SC-VALUE back=$rc"; echo "SC-BLOCK-BEGIN back"; cat /tmp/e3; echo "SC-BLOCK-END"
echo "SC-VALUE kept=$(cat /mnt/scratch/keep.txt 2>/dev/null)"
expect_rc 0 scratchcrypt -q stop
""", timeout=600)
    finally:
        ks.stop()
    check(r.value("first") != "0", "the start that lost a disk exited 0")
    second = r.block("second")
    check(r.value("second") != "0", f"start on half an HBI volume exited 0:\n{second}")
    check("closed and kept" in second and "writing LUKS2 header" not in second,
          f"start did not keep the HBI volume:\n{second}")
    check(r.value("na_same") == "yes", "the first disk's header changed")
    check(r.json("after")["owed_shreds"] == [], f"an HBI member was made owed: {r.json('after')['owed_shreds']}")
    check(r.value("back") == "0" and r.value("kept") == "scratchcrypt-hbi-keep",
          f"with the disk back: exit {r.value('back')}, data {r.value('kept')!r}\n{r.block('back')}")
    print(f"  ok   HBI: refused while half there (exit {r.value('second')}), reopened with its data when back")
