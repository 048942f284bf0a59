#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vm scenarios. Usage: scenarios.py --build-dir DIR SCENARIO
Exit codes: 0 pass, 1 fail, 77 skipped (qemu or the kernel is missing)."""
import argparse
import glob
import os
import sys

from vmlib import (Failure, LinkLocalNet, Node, check, contains, fixtures, free_space_note, head_is_zero,
                   remove_work, role_row, sha256, verdict, zero_at, GUEST_TIMER)


def conf(extra=""):
    """Shell that writes the guest's config: QEMU's NVMe model, plus extra lines."""
    return ("mkdir -p /etc/scratchcrypt\n"
            "cat >/etc/scratchcrypt/scratchcrypt.conf <<'CONF'\n"
            "[disks]\nnvme_models = QEMU NVMe Ctrl\n" + extra + "CONF\n")


# Finds the guest's device names by serial and mounts the "OS" disk at /boot.
DEVICES = r"""
NA=$(nvme_by_serial SCNVMEA)
NB=$(nvme_by_serial SCNVMEB)
RES=$(scsi_by_serial SCRES)
mkdir -p /boot && mount -o ro /dev/vda /boot
echo "SC-VALUE NA=$NA"; echo "SC-VALUE NB=$NB"; echo "SC-VALUE RES=$RES"
"""

# The link WALinuxAgent's udev rules make on Azure.
RESLINK = "mkdir -p /dev/disk/azure && ln -sf ../../${RES#/dev/} /dev/disk/azure/resource\n"

# A line that must never reach a backing image in plaintext.
MARKER = "scratchcrypt-plaintext-marker-7f3a9c1e"


def standard_node(build_dir, name, foreign=True, keep=False):
    fx = fixtures(build_dir)
    node = Node(build_dir, name, keep=keep)
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-b.img", "SCNVMEB")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource.img"))
    if foreign:
        node.add("nvme", "nvme-foreign.img", "SCNVMEFOREIGN",
                 source=os.path.join(fx, "ext4-data.img"))
        node.add("scsi", "data.img", "SCDATA", source=os.path.join(fx, "ext4-data.img"))
    return node


def json_out(name, cmd):
    return f'echo "SC-JSON-BEGIN {name}"; {cmd}; echo "SC-JSON-END"\n'


# Every scenario, in one place: ctest's list comes from here (--list, read
# by tests/CMakeLists.txt). suite: the ctest label ("vm", "slow"), or None
# for what only a person runs (the demo, the long-form benches).
SCENARIOS = {}


def scenario(fn=None, *, suite="vm", timeout=900):
    def register(f):
        f.suite, f.timeout = suite, timeout
        SCENARIOS[f.__name__] = f
        return f
    return register(fn) if fn else register


@scenario(timeout=300)
def prepare(build_dir):
    """Makes the disk fixtures and the initramfs that the scenarios share."""
    import shutil
    shutil.rmtree(os.path.join(build_dir, "vm-fixtures"), ignore_errors=True)
    fixtures(build_dir)
    Node(build_dir, "prepare")


@scenario
def start_stop(build_dir):
    """start encrypts the right disks and leaves data disks byte-identical; stop shreds.

    Also: no plaintext reaches the images, the dm table shows the cipher, the
    sector size, the flags and the stripe, a second start is a no-op, and a
    start after a reboot makes a fresh key."""
    node = standard_node(build_dir, "start_stop")
    untouched = ["os.img", "nvme-foreign.img", "data.img"]
    before = {f: sha256(node.path(f)) for f in untouched}

    r = node.boot(conf() + DEVICES + RESLINK + json_out("detect", "scratchcrypt --json detect") + f"""
ND=$(nvme_by_serial SCNVMEFOREIGN)
DATA=$(scsi_by_serial SCDATA)
echo "SC-VALUE ND=$ND"; echo "SC-VALUE DATA=$DATA"
step "start: the foreign NVMe disk is refused, so 65"
expect_rc 65 scratchcrypt start
{json_out("status", "scratchcrypt --json status")}
scratchcrypt status
step "dm tables"
echo "SC-BLOCK-BEGIN table"; dmsetup table; echo "SC-BLOCK-END"
grep -q ' /mnt/resource ' /proc/mounts || fail "/mnt/resource is not mounted"
grep -q ' /mnt/scratch ' /proc/mounts || fail "/mnt/scratch is not mounted"
[ -f /mnt/resource/DATALOSS_WARNING_README.txt ] || fail "no data-loss warning on the temp disk"
for m in /mnt/resource /mnt/scratch; do
	for i in $(seq 64); do echo "{MARKER} $m line $i"; done >$m/marker.txt
done
sync
step "a second start changes nothing"
dmsetup table >/tmp/t1; grep -E '/mnt/(resource|scratch)' /proc/mounts >/tmp/m1
t0=$(date +%s)
expect_rc 65 scratchcrypt start
t1=$(date +%s)
dmsetup table >/tmp/t2; grep -E '/mnt/(resource|scratch)' /proc/mounts >/tmp/m2
cmp -s /tmp/t1 /tmp/t2 || fail "the second start changed the dm tables"
cmp -s /tmp/m1 /tmp/m2 || fail "the second start changed the mounts"
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "the second start lost data"
echo "SC-VALUE second_start_s=$((t1 - t0))"
umount /mnt/resource /mnt/scratch
""")
    det = r.json("detect")
    dev = {k: r.value(k) for k in ("NA", "NB", "RES", "ND", "DATA")}
    for k, role in (("NA", "scratch"), ("NB", "scratch"), ("RES", "temp")):
        v = verdict(det, dev[k])
        check((v["role"], v["action"]) == (role, "encrypt"),
              f"detect: {dev[k]} is {v['role']}/{v['action']}, expected {role}/encrypt")
    v = verdict(det, dev["ND"])
    check((v["role"], v["action"]) == ("scratch", "refuse") and "ext4" in v["reason"],
          f"detect: the ext4 NVMe disk should be refused naming ext4, got {v}")
    v = verdict(det, dev["DATA"])
    check(v["role"] == "data" and v["action"] == "skip", f"detect: data disk verdict {v}")
    check(verdict(det, "/dev/vda")["role"] == "os", "detect: /dev/vda (holding /boot) is not os")

    st = r.json("status")
    check(st["schema"] == 1, "status schema is not 1")
    temp, scratch, os_row = role_row(st, "temp"), role_row(st, "scratch"), role_row(st, "os")
    check(temp["state"] == "encrypted" and temp["key_source"] == "system-managed",
          f"temp row: {temp}")
    check(temp["devices"] == [dev["RES"]] and temp["mount_point"] == "/mnt/resource",
          f"temp row: {temp}")
    for row in (temp, scratch):
        check((row["cipher"], row["key_bits"], row["sector_size"]) == ("aes-xts-plain64", 512, 4096),
              f"{row['role']} row does not report the cipher, key size and sector size: {row}")
    check(scratch["state"] == "encrypted", f"scratch row: {scratch}")
    # Exactly the volume's disks; the refused one in its own list.
    check(sorted(scratch["devices"]) == sorted([dev["NA"], dev["NB"]]),
          f"scratch devices: {scratch['devices']}")
    check([x["device"] for x in scratch["refused"]] == [dev["ND"]],
          f"scratch's refused list: {scratch['refused']}")
    check(scratch["mapping"] == "/dev/mapper/scratchcrypt-scratch", f"scratch row: {scratch}")
    check("Refused" in scratch["note"] and dev["ND"] in scratch["note"],
          f"status does not list the refused disk with its reason: {scratch['note']}")
    for row in (temp, scratch, os_row):
        check(row["cmk_supported"] is False, f"{row['role']}: cmk_supported is not false")
    check("not supported for OS and temp disks" in os_row["note"], "os row lacks the CMK statement")
    check(os_row["key_source"] == "platform-managed", "os row key source")

    table = r.block("table")
    crypt = [ln for ln in table.splitlines() if " crypt " in ln]
    check(len(crypt) == 3, f"expected 3 crypt mappings, got:\n{table}")
    for ln in crypt:
        check("aes-xts-plain64" in ln and "sector_size:4096" in ln and "no_read_workqueue" in ln
              and "no_write_workqueue" in ln, f"crypt table lacks cipher/sector/flags: {ln}")
        check(":64:logon:" in ln, f"the key is not passed through the keyring: {ln}")
    stripe = [ln for ln in table.splitlines() if " striped " in ln]
    check(len(stripe) == 1 and stripe[0].split()[4] == "2",
          f"expected one 2-way stripe, got:\n{table}")
    check(int(r.value("second_start_s")) <= 3, "the second start was not quick")

    for f in untouched:
        check(sha256(node.path(f)) == before[f], f"{f} changed: a disk holding data was touched")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(not contains(node.path(f), MARKER.encode()), f"plaintext found in {f}")

    # This boot has the udev link WALinuxAgent's rules make on Azure.
    r = node.boot(conf() + DEVICES + f"""
mkdir -p /dev/disk/azure && ln -s ../../${{RES#/dev/}} /dev/disk/azure/resource
step "start after a reboot: a fresh key, a fresh filesystem"
expect_rc 65 scratchcrypt start
[ -e /mnt/scratch/marker.txt ] && fail "data written under the previous key is readable"
step "stop shreds"
expect_rc 0 scratchcrypt stop
ls /dev/mapper | grep -q scratchcrypt && fail "mappings left after stop"
dmsetup ls | grep -q scratchcrypt && fail "dm still lists scratchcrypt mappings"
grep -q scratchcrypt /proc/mounts && fail "mounts left after stop"
{json_out("status", "scratchcrypt --json status")}
step "stop again is a no-op"
expect_rc 0 scratchcrypt stop
for d in $NA $NB $RES; do
	cryptsetup isLuks $d && fail "$d still has a LUKS header"
done
true
""")
    st = r.json("status")
    for role in ("temp", "scratch"):
        check(role_row(st, role)["state"] == "shredded", f"{role} after stop: {role_row(st, role)}")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: the LUKS2 header area is not wiped")
    for f in untouched:
        check(sha256(node.path(f)) == before[f], f"{f} changed")


def crash_points(build_dir):
    """(command, step) pairs the test build can stop at, from the binary itself."""
    import subprocess
    out = subprocess.run([os.path.join(build_dir, "scratchcrypt"), "crash-points"],
                         capture_output=True, text=True)
    check(out.returncode == 0, "this build has no crash points: configure it with "
          "-DSCRATCHCRYPT_CRASHPOINTS=ON (make check does)")
    return [tuple(line.split("\t")[0].split(" ", 1)) for line in out.stdout.splitlines()]


# Steps that happen once per disk: stopping at the second disk's too.
PER_DISK = ("claim", "write-header", "add-token", "activate", "deactivate", "wipe-header",
            "discard", "record-shred", "rewrap-unwrap", "rewrap-write-token")

CONVERGE_LIB = r"""
# crash CMD STEP [ARGS...]: runs 'scratchcrypt CMD ARGS' with a crash point
# at STEP; says whether the process stopped there (137) or did not pass that
# step (0).
crash() {
	cmd=$1 at=$2
	shift 2
	set +e
	SCRATCHCRYPT_CRASH_AT=$at scratchcrypt -q $cmd "$@" 2>/dev/null
	rc=$?
	set -e
	if [ $rc = 137 ]; then echo "SC-FIRED $MODE $cmd ${at%%#*}"
	elif [ $rc != 0 ]; then fail "$cmd stopped at $at exited $rc"; fi
}
# Mounted from our mappings, nothing under /mnt from anything else.
started() {
	src=$(awk '$2 == "/mnt/resource" {print $1}' /proc/mounts)
	[ "$src" = /dev/mapper/scratchcrypt-temp ] || fail "$1: /mnt/resource is mounted from '$src'"
	src=$(awk '$2 == "/mnt/scratch" {print $1}' /proc/mounts)
	[ "$src" = /dev/mapper/scratchcrypt-scratch ] || fail "$1: /mnt/scratch is mounted from '$src'"
	awk '$2 ~ /^\/mnt\// && $1 !~ /^\/dev\/mapper\/scratchcrypt-/ {exit 1}' /proc/mounts || fail "$1: something unencrypted is mounted under /mnt"
	[ "$(dmsetup ls | grep -c scratchcrypt)" = 4 ] || fail "$1: expected 4 mappings: $(dmsetup ls)"
	echo data >/mnt/scratch/file || fail "$1: cannot write to /mnt/scratch"
	[ -f /mnt/resource/DATALOSS_WARNING_README.txt ] || fail "$1: no data-loss warning"
}
stopped() {
	dmsetup ls | grep -q scratchcrypt && fail "$1: mappings left: $(dmsetup ls)"
	grep -q ' /mnt/' /proc/mounts && fail "$1: mounts left"
	for d in $NA $NB $RES; do
		cryptsetup isLuks $d && fail "$1: $d keeps its header"
		head -c 1048576 $d | cmp -s -n 1048576 - /dev/zero || fail "$1: $d: the first MiB is not blank"
	done
	true
}
"""


def step_variants(points, command):
    out = []
    for cmd, step in points:
        if cmd == command:
            out.append(step)
            if step in PER_DISK:
                out.append(step + "#2")
    return out


def start_on_new_disks(points, mode):
    """Each start step on disks with nothing on them: stop there, start again, stop."""
    return "".join(f"""
step "{mode}: start on new disks stopped at {step}"
crash start {step}
expect_rc 0 scratchcrypt -q start
started "start stopped at {step}"
expect_rc 0 scratchcrypt -q stop
stopped "stop after start stopped at {step}"
""" for step in step_variants(points, "start"))


def stop_after_start(points, mode):
    """Each stop step on a started node: stop there, then stop again."""
    return "".join(f"""
step "{mode}: stop stopped at {step}"
expect_rc 0 scratchcrypt -q start
crash stop {step}
expect_rc 0 scratchcrypt -q stop
stopped "stop stopped at {step}"
""" for step in step_variants(points, "stop"))


def check_fired(r, points, mode, commands):
    fired = {tuple(l.split()[2:4]) for l in r.text.splitlines() if l.startswith(f"SC-FIRED {mode} ")}
    missing = [f"{c} {s}" for c, s in points if c in commands and (c, s) not in fired]
    check(not missing, f"{mode}: these steps were never reached: {missing}")
    return len(fired)


@scenario(timeout=2400)
def killed_converges(build_dir):
    """start, stop and rewrap killed at every named step, in system and HBI mode, converge."""
    points = crash_points(build_dir)
    node = standard_node(build_dir, "killed_converges", foreign=False)
    fx = fixtures(build_dir)
    node.add("scsi", "data.img", "SCDATA", source=os.path.join(fx, "ext4-data.img"))
    before = sha256(node.path("data.img"))
    script = conf() + DEVICES + RESLINK + CONVERGE_LIB + "MODE=system\n"
    # Every kill at a named step, on purpose: a kill on a timer would find a
    # crash window only by chance.
    script += start_on_new_disks(points, "system") + stop_after_start(points, "system")
    r = node.boot(script + "true\n", timeout=900)
    n = check_fired(r, points, "system", ("start", "stop"))
    print(f"  system mode: stopped at {n} distinct steps, each converged")
    check(sha256(node.path("data.img")) == before, "data.img changed: a data disk was touched")

    ks = KeyService(node)
    try:
        script = HBI_CONF + DEVICES + RESLINK + CONVERGE_LIB + "MODE=hbi\n"
        write = f'for m in /mnt/resource /mnt/scratch; do echo "{MARKER}" >$m/marker.txt; done; sync\n'
        intact = (f'grep -q "{MARKER}" /mnt/resource/marker.txt && grep -q "{MARKER}" /mnt/scratch/marker.txt'
                  ' || fail "HBI data lost after $1"\n')
        script += "intact() {\n" + intact + "}\n"
        script += start_on_new_disks(points, "hbi")
        script += "expect_rc 0 scratchcrypt -q start\n" + write
        for step in step_variants(points, "start"):
            script += f"""
step "hbi: start on disks with data stopped at {step}"
expect_rc 0 scratchcrypt -q stop --keep
crash start {step}
expect_rc 0 scratchcrypt -q start
started "reopen stopped at {step}"
intact "a start stopped at {step}"
"""
        for step in step_variants(points, "rewrap"):
            key = "tempdisk2" if "2" in step else "tempdisk"
            script += f"""
step "hbi: rewrap stopped at {step}"
crash rewrap {step} --key https://scvault.vault.azure.net/keys/{key}
expect_rc 0 scratchcrypt -q rewrap --key https://scvault.vault.azure.net/keys/{key}
use_key {key}
expect_rc 0 scratchcrypt -q stop --keep
expect_rc 0 scratchcrypt -q start
intact "a rewrap stopped at {step}"
"""
        script += stop_after_start(points, "hbi")
        r = node.boot(script + "true\n", timeout=1500)
        n = check_fired(r, points, "hbi", ("start", "stop", "rewrap"))
        print(f"  hbi mode: stopped at {n} distinct steps, each converged")
        check(not r.shows(ks.token), "the access token reached the console")
    finally:
        ks.stop()
    check(sha256(node.path("data.img")) == before, "data.img changed: a data disk was touched")


# The steps of start that a member's worker takes (base/workers.h).
WORKER_STEPS = ("claim", "add-token", "write-header", "activate")
# stop's per-disk steps: every disk's in a worker of its own.
STOP_WORKER_STEPS = ("deactivate", "wipe-header", "discard", "record-shred")


@scenario
def workers_killed(build_dir):
    """Four local NVMe disks: the members after the first are set up, and every disk is closed and shredded by stop, in worker processes. Stopped at each worker's step, killed and by a power cut, the whole run stops there, no worker outlives it, and the next start (or stop) converges."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "workers_killed")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    for i in range(4):
        node.add("nvme", f"nvme-{i}.img", f"SCNVME{i}")
    node.cache = "writethrough"
    node.power_switch = True
    lib = conf() + r"""
ALL=$(for i in 0 1 2 3; do nvme_by_serial SCNVME$i; done)
mkdir -p /boot && mount -o ro /dev/vda /boot
# Mounted from the stripe over four members; stopped: nothing of ours left.
started() {
	src=$(awk '$2 == "/mnt/resource" {print $1}' /proc/mounts)
	[ "$src" = /dev/mapper/scratchcrypt-temp ] || fail "$1: /mnt/resource is mounted from '$src'"
	[ "$(dmsetup ls | grep -c scratchcrypt-temp)" = 5 ] || fail "$1: expected 5 mappings: $(dmsetup ls)"
	echo data >/mnt/resource/file || fail "$1: cannot write to /mnt/resource"
}
stopped() {
	dmsetup ls | grep -q scratchcrypt && fail "$1: mappings left: $(dmsetup ls)"
	for d in $ALL; do
		cryptsetup isLuks $d && fail "$1: $d keeps its header"
		head -c 1048576 $d | cmp -s -n 1048576 - /dev/zero || fail "$1: $d: the first MiB is not blank"
	done
	true
}
# killed CMD STEP#N own|worker: 'scratchcrypt CMD' stopped at STEP#N exits
# 137, the step was reached in CMD's own process or in a worker, and no
# worker outlives it.
killed() {
	set +e
	SCRATCHCRYPT_CRASH_AT=$2 scratchcrypt -q $1 2>/tmp/err & run=$!
	wait $run; rc=$?
	set -e
	[ $rc = 137 ] || fail "$1 stopped at $2 exited $rc, not 137: $(cat /tmp/err)"
	at=$(sed -n "s/.*crash point $2 reached (pid \([0-9]*\)).*/\1/p" /tmp/err)
	[ -n "$at" ] || fail "$2 was not reached: $(cat /tmp/err)"
	if [ $3 = own ]; then [ "$at" = $run ] || fail "$2 was not $1's own (pid $at, $1 $run): $(cat /tmp/err)"
	else [ "$at" != $run ] || fail "$1's $2 was not a worker's"; fi
	[ -z "$(pidof scratchcrypt)" ] || fail "a worker outlived $1 killed at $2: $(pidof scratchcrypt)"
}
"""
    script = lib
    # claim#1 is the first member's, set up by start itself; #2 to #4 are
    # the workers', one at a time while a crash point is armed.
    for step in WORKER_STEPS:
        for n in (1, 2, 4):
            script += f"""
step "start killed at {step}#{n}"
killed start {step}#{n} {"own" if n == 1 else "worker"}
expect_rc 0 scratchcrypt -q start
started "start after a kill at {step}#{n}"
expect_rc 0 scratchcrypt -q stop
stopped "stop after a kill at {step}#{n}"
echo "SC-FIRED {step}#{n}"
"""
    for step in STOP_WORKER_STEPS:
        for n in (2, 4):
            script += f"""
step "stop killed at {step}#{n}"
expect_rc 0 scratchcrypt -q start
killed stop {step}#{n} worker
expect_rc 0 scratchcrypt -q stop
stopped "stop again after a kill at {step}#{n}"
echo "SC-FIRED stop {step}#{n}"
"""
    script += """
step "the power goes at write-header#3, a worker's"
SCRATCHCRYPT_CRASH_MODE=power SCRATCHCRYPT_CRASH_AT=write-header#3 scratchcrypt -q start
fail "start did not reach write-header#3"
"""
    r = node.boot(script, timeout=900, power_cut=True)
    fired = [l for l in r.text.splitlines() if l.startswith("SC-FIRED ")]
    want = 3 * len(WORKER_STEPS) + 2 * len(STOP_WORKER_STEPS)
    check(len(fired) == want, f"only {len(fired)} of {want} kills ran")
    node.boot(lib + """
step "after the power went in a worker: start converges"
expect_rc 0 scratchcrypt -q start
started "start after a power cut at write-header#3"
expect_rc 0 scratchcrypt -q stop
stopped "stop after a power cut at write-header#3"
""", timeout=300)


@scenario
def half_states(build_dir):
    """Mappings left half made (no table, an inactive table, suspended, a stale stripe) are cleared and redone."""
    node = standard_node(build_dir, "half_states", foreign=False)
    r = node.boot(conf() + DEVICES + RESLINK + CONVERGE_LIB + r"""
step "a mapping with no table"
dmsetup create --notable scratchcrypt-temp
expect_rc 0 scratchcrypt -q start
started "start over a table-less mapping"
expect_rc 0 scratchcrypt -q stop
step "a stripe with only an inactive table, over a member that is gone"
SZ=$(blockdev --getsz $NA)
dmsetup create --notable scratchcrypt-scratch
dmsetup load scratchcrypt-scratch --table "0 $SZ linear $NA 0"
expect_rc 0 scratchcrypt -q start
started "start over an inactive stripe"
step "a suspended member"
expect_rc 0 scratchcrypt -q stop --keep
dmsetup create scratchcrypt-scratch-0 --table "0 $SZ linear $NA 0"
dmsetup suspend scratchcrypt-scratch-0
expect_rc 0 scratchcrypt -q start
started "start over a suspended member"
step "a stop over a suspended, unmounted volume"
umount /mnt/scratch
dmsetup suspend scratchcrypt-scratch
expect_rc 0 scratchcrypt -q stop
stopped "stop over a suspended volume"
step "a stale stripe on top of live members"
expect_rc 0 scratchcrypt -q start
umount /mnt/scratch
dmsetup remove scratchcrypt-scratch
dmsetup create scratchcrypt-scratch --table "0 $(blockdev --getsz /dev/mapper/scratchcrypt-scratch-0) linear /dev/mapper/scratchcrypt-scratch-0 0"
expect_rc 0 scratchcrypt -q start
started "start over a stripe that sits on one member only"
step "another device mounted at the mount point is left alone"
expect_rc 0 scratchcrypt -q stop
mkdir -p /mnt/scratch && mount -t tmpfs none /mnt/scratch
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc = 75 ] || fail "start over a foreign mount exited $rc: $(cat /tmp/err)"
grep -q "will not mount over it" /tmp/err || fail "no clear error: $(cat /tmp/err)"
umount /mnt/scratch
expect_rc 0 scratchcrypt -q start
started "start once the mount point is free"
expect_rc 0 scratchcrypt -q stop
""" + "true\n", timeout=600)
    del r


# Power cuts: (mode, what to do before, command, step, what must hold after the next start).
POWER_CUTS = [
    ("system", "", "start", "claim", "fresh"),
    ("system", "", "start", "write-header#2", "fresh"),
    ("system", "", "start", "add-token", "fresh"),
    ("system", "", "start", "mkfs", "fresh"),
    ("system", "", "start", "mount", "fresh"),
    ("system", "start", "stop", "mark-shredding", "fresh"),
    ("system", "start", "stop", "deactivate#2", "fresh"),
    ("system", "start", "stop", "wipe-header", "fresh"),
    ("system", "start", "stop", "record-shred#2", "fresh"),
    ("hbi", "stop", "start", "write-header", "fresh"),
    ("hbi", "stop", "start", "mark-ready", "fresh"),
    ("hbi", "data", "start", "activate#2", "data"),
    ("hbi", "data", "start", "mount", "data"),
    ("hbi", "data", "stop", "mark-shredding", "shredded"),
    ("hbi", "data", "stop", "wipe-header#2", "shredded"),
]


@scenario
def power_loss(build_dir):
    """The node loses power at named steps of start and stop; the next boot's start converges."""
    node = standard_node(build_dir, "power_loss", foreign=False)
    fx = fixtures(build_dir)
    node.add("scsi", "data.img", "SCDATA", source=os.path.join(fx, "ext4-data.img"))
    node.cache = "writethrough"
    node.power_switch = True
    before = sha256(node.path("data.img"))
    ks = KeyService(node)
    write = f'for m in /mnt/resource /mnt/scratch; do echo "{MARKER}" >$m/marker.txt; done; sync\n'
    hbi = HBI_CONF.replace('net_up "169.254.169.100 scvault.vault.azure.net"\n', "")
    confs = {"system": conf(), "hbi": hbi}
    verify = ""
    try:
        for i, cut in enumerate(POWER_CUTS + [None]):
            script = 'net_up "169.254.169.100 scvault.vault.azure.net"\n' + DEVICES + RESLINK + CONVERGE_LIB
            script += "MODE=power\n" + verify
            if cut is None:
                node.boot(script + "true\n", timeout=600)
                break
            mode, before_cut, cmd, step, after = cut
            script += confs[mode]
            if before_cut == "start":
                script += "expect_rc 0 scratchcrypt -q start\n"
            elif before_cut == "stop":
                script += "expect_rc 0 scratchcrypt -q stop\n"
            elif before_cut == "data":
                script += "expect_rc 0 scratchcrypt -q start\n" + write
                if cmd == "start":
                    script += "expect_rc 0 scratchcrypt -q stop --keep\n"
            script += f"""
step "{mode}: the power goes at {cmd} {step}"
SCRATCHCRYPT_CRASH_MODE=power SCRATCHCRYPT_CRASH_AT={step} scratchcrypt -q {cmd}
fail "{cmd} did not reach {step}"
"""
            node.boot(script, timeout=600, power_cut=True)
            verify = confs[mode] + f"""
step "after the power went at {mode} {cmd} {step}: start converges"
expect_rc 0 scratchcrypt -q start
started "start after a power cut at {cmd} {step}"
"""
            if after == "data":
                verify += f'grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "HBI data lost by a power cut at {cmd} {step}"\n'
            elif after == "shredded":
                verify += f'[ -e /mnt/scratch/marker.txt ] && fail "HBI data came back after a power cut during stop at {step}"\n'
            verify += "expect_rc 0 scratchcrypt -q stop --keep\n"
    finally:
        ks.stop()
    check(sha256(node.path("data.img")) == before, "data.img changed: a data disk was touched")


@scenario
def refuses_foreign(build_dir):
    """Foreign data gives 65 and the disk is untouched; bad policy gives 78."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "refuses_foreign")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    node.add("nvme", "nvme-random.img", "SCNVMERANDOM", source=os.path.join(fx, "random-head.img"))
    node.add("nvme", "nvme-gpt.img", "SCNVMEGPT", source=os.path.join(fx, "gpt.img"))
    node.add("nvme", "nvme-ext4.img", "SCNVMEEXT4", source=os.path.join(fx, "ext4-data.img"))
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource-used.img"))
    images = [d[1] for d in node.disks]
    before = {f: sha256(f) for f in images}
    r = node.boot(conf() + r"""
RES=$(scsi_by_serial SCRES)
mkdir -p /boot && mount -o ro /dev/vda /boot
mkdir -p /dev/disk/azure && ln -s ../../${RES#/dev/} /dev/disk/azure/resource
step "customer-managed keys are refused with 78"
printf '[node]
key_source = customer
' >/tmp/cmk.conf
rc=0; scratchcrypt -c /tmp/cmk.conf start 2>/tmp/err || rc=$?
[ $rc = 78 ] || fail "key_source = customer exited $rc, expected 78"
grep -q "not supported for OS and temp disks" /tmp/err || fail "the refusal does not name OS and temp disks"
step "hbi on a serverless node is refused with 78"
printf '[node]
role = serverless
key_source = hbi
[hbi]
vault_url = https://v.vault.azure.net
key_name = k
' >/tmp/sl.conf
expect_rc 78 scratchcrypt -c /tmp/sl.conf start
step "a bad value is refused with 78"
printf '[crypt]
sector_size = 3000
' >/tmp/bad.conf
expect_rc 78 scratchcrypt -c /tmp/bad.conf start
step "every candidate holds foreign data: 65"
""" + json_out("detect", "scratchcrypt --json detect") + r"""
expect_rc 65 scratchcrypt start
""" + json_out("status", "scratchcrypt --json status") + r"""
dmsetup ls | grep -q scratchcrypt && fail "a mapping was created"
true
""")
    det = r.json("detect")
    reasons = {d["device"]: d for d in det["disks"]}
    refused = [d for d in det["disks"] if d["action"] == "refuse"]
    check(len(refused) == 4, f"expected 4 refused disks, got {[(d['device'], d['action']) for d in det['disks']]}")
    text = " ".join(d["reason"] for d in refused)
    for what in ("ext4", "gpt", "without a known signature", "ntfs"):
        check(what in text, f"no refusal names '{what}': {text}")
    st = r.json("status")
    check(role_row(st, "temp")["state"] == "refused", f"temp: {role_row(st, 'temp')}")
    check(role_row(st, "scratch")["state"] == "refused" or role_row(st, "scratch")["state"] == "absent",
          f"scratch: {role_row(st, 'scratch')}")
    del reasons
    for f in images:
        check(sha256(f) == before[f], f"{os.path.basename(f)} changed: a disk holding data was touched")


@scenario
def resource_disk_gpt(build_dir):
    """A temp disk over 2 TiB's layout (GPT, reserved partition, NTFS second) is encrypted; status lists exactly each volume's disks and the refused one apart; after a shred NVMe never takes the temp role."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "resource_disk_gpt")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource-gpt.img"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-foreign.img", "SCNVMEFOREIGN", source=os.path.join(fx, "ext4-data.img"))
    foreign = node.path("nvme-foreign.img")
    before = sha256(foreign)
    r = node.boot(conf() + r"""
RES=$(scsi_by_serial SCRES)
NA=$(nvme_by_serial SCNVMEA)
NF=$(nvme_by_serial SCNVMEFOREIGN)
echo "SC-VALUE RES=$RES"; echo "SC-VALUE NA=$NA"; echo "SC-VALUE NF=$NF"
mkdir -p /boot && mount -o ro /dev/vda /boot
""" + RESLINK + json_out("detect", "scratchcrypt --json detect") + r"""
step "start: the GPT resource disk is temp, one NVMe is scratch, the other refused (65)"
expect_rc 65 scratchcrypt start
grep -q ' /mnt/resource ' /proc/mounts || fail "the temp disk is not mounted"
""" + json_out("status", "scratchcrypt --json status") + r"""
scratchcrypt status
step "stop shreds; the temp role stays with the resource disk"
expect_rc 0 scratchcrypt stop
""" + json_out("after", "scratchcrypt --json status") + "true\n")
    res, na, nf = r.value("RES"), r.value("NA"), r.value("NF")
    det = {d["device"]: d for d in r.json("detect")["disks"]}
    check(det[res]["role"] == "temp" and det[res]["action"] == "encrypt" and "pristine" in det[res]["reason"],
          f"the GPT resource disk: {det[res]}")
    st = r.json("status")
    temp, scratch = role_row(st, "temp"), role_row(st, "scratch")
    check(temp["state"] == "encrypted" and temp["devices"] == [res], f"temp: {temp}")
    check(scratch["state"] == "encrypted" and scratch["devices"] == [na], f"scratch lists more than its volume: {scratch}")
    check([x["device"] for x in scratch["refused"]] == [nf] and "ext4" in scratch["refused"][0]["reason"],
          f"scratch's refused list: {scratch['refused']}")
    after = role_row(r.json("after"), "temp")
    check(after["devices"] == [res] and after["state"] == "shredded", f"temp after the shred: {after}")
    check(sha256(foreign) == before, "the refused NVMe disk changed")
    print(f"  ok   temp {temp['devices']}, scratch {scratch['devices']}, refused {[x['device'] for x in scratch['refused']]}")


# Local disks (NVMe, the QEMU model is configured as local) with a layout
# that is not scratchcrypt's, and what detect must say of each.
HOSTILE_DISKS = [
    ("luks1.img", "SCLUKS1", "crypto_LUKS"),
    ("luks2.img", "SCLUKS2", "crypto_LUKS"),
    ("badtoken.img", "SCBADTOKEN", "not this disk's"),
    ("copied.img", "SCCOPIED", "made on another disk"),
    ("md10.img", "SCMD10", "linux_raid_member"),
    ("lvm.img", "SCLVM", "LVM2_member"),
    ("gpt3.img", "SCGPT3", "gpt"),
    ("randsig.img", "SCRANDSIG", ""),
]


@scenario
def refuses_hostile_disks(build_dir):
    """Hostile layouts (foreign LUKS1/2, a corrupt or copied scratchcrypt header, md 1.0, LVM, GPT, random data with a signature, NTFS with user files, a forged header on a non-local disk): refused with 65 or left alone, and byte-identical."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "refuses_hostile_disks")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    for img, serial, _ in HOSTILE_DISKS:
        node.add("nvme", img, serial, source=os.path.join(fx, img))
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource-used.img"))
    # A non-local disk (no resource identity, not NVMe) carrying a complete,
    # self-consistent scratchcrypt header, claim and token.
    node.add("scsi", "forged.img", "SCFORGED", source=os.path.join(fx, "forged.img"))
    images = [d[1] for d in node.disks]
    before = {f: sha256(f) for f in images}
    one = "".join(f"""
dev=$(nvme_by_serial {serial})
printf '[disks]\ndevices = %s\n' "$dev" >/tmp/one.conf
rc=0; scratchcrypt -c /tmp/one.conf start 2>/tmp/err || rc=$?
echo "SC-VALUE one-{serial}=$rc"; echo "SC-BLOCK-BEGIN err-{serial}"; cat /tmp/err; echo "SC-BLOCK-END"
""" for _, serial, _ in HOSTILE_DISKS)
    r = node.boot(conf() + r"""
RES=$(scsi_by_serial SCRES)
FORGED=$(scsi_by_serial SCFORGED)
echo "SC-VALUE FORGED=$FORGED"; echo "SC-VALUE RES=$RES"
mkdir -p /boot && mount -o ro /dev/vda /boot
mkdir -p /dev/disk/azure && ln -s ../../${RES#/dev/} /dev/disk/azure/resource
""" + json_out("detect", "scratchcrypt --json detect") + r"""
step "every candidate holds something not ours: 65, nothing mapped"
expect_rc 65 scratchcrypt start
dmsetup ls | grep -q scratchcrypt && fail "a mapping was created"
step "each one alone, named in [disks] devices: 65"
""" + one + r"""
printf '[disks]\ndevices = /dev/disk/azure/resource\n' >/tmp/one.conf
rc=0; scratchcrypt -c /tmp/one.conf start 2>/tmp/err || rc=$?
echo "SC-VALUE one-SCRES=$rc"; echo "SC-BLOCK-BEGIN err-SCRES"; cat /tmp/err; echo "SC-BLOCK-END"
step "stop (a shred) touches none of them"
expect_rc 0 scratchcrypt stop
""" + json_out("status", "scratchcrypt --json status") + "true\n")
    det = {d["device"]: d for d in r.json("detect")["disks"]}
    forged = det.get(r.value("FORGED"))
    check(forged is not None, f"detect does not list the forged disk {r.value('FORGED')}")
    check(forged["role"] not in ("temp", "scratch") and forged["action"] not in ("setup", "open", "reopen"),
          f"a forged header on a non-local disk made it a candidate: {forged}")
    print(f"  ok   forged header on a non-local disk: role {forged['role']}, {forged['action']}")
    bad = []
    for img, serial, word in HOSTILE_DISKS + [("resource.img", "SCRES", "ntfs")]:
        rc = r.value(f"one-{serial}")
        err = r.block(f"err-{serial}")
        row = [d for d in det.values() if d.get("serial") == serial or
               (serial == "SCRES" and d["device"] == r.value("RES"))]
        reason = row[0]["reason"] if row else "(not listed)"
        ok = rc == "65" and row and row[0]["action"] == "refuse" and word.lower() in (reason + err).lower()
        print(f"  {'ok  ' if ok else 'FAIL'} {img}: exit {rc}, {reason}")
        if not ok:
            bad.append(f"{img}: exit {rc}, detect: {row[0] if row else None}, error: {err.strip()[-300:]}")
    check(not bad, "hostile disks: " + " | ".join(bad))
    for f in images:
        check(sha256(f) == before[f], f"{os.path.basename(f)} changed: a disk scratchcrypt does not own was touched")


@scenario(suite=None)
def demo(build_dir):
    """The main job in an emulated node: detect, start, status, stop, shown as it runs."""
    # Kept: the demo points at its serial log.
    node = standard_node(build_dir, "demo", keep=True)
    r = node.boot(conf() + DEVICES + RESLINK + r"""
show() { echo "SC-SHOW"; echo "SC-SHOW \$ $*"; "$@" >/tmp/out 2>&1; rc=$?; sed 's/^/SC-SHOW /' /tmp/out; echo "SC-SHOW (exit code $rc)"; }
set +e
show scratchcrypt detect
show scratchcrypt start
show scratchcrypt status
echo "SC-SHOW"; echo "SC-SHOW \$ dmsetup table"; dmsetup table | sed 's/^/SC-SHOW /'
show scratchcrypt --json status
show scratchcrypt stop
show scratchcrypt status
true
""")
    print()
    for line in r.text.splitlines():
        if line.startswith("SC-SHOW"):
            print(line[len("SC-SHOW "):])
    print()
    print(f"(the VM's serial log is in {r.log})")


class KeyService:
    """The Key Vault and IMDS emulator on host loopback, reached from the
    guest through QEMU forwards at 169.254.169.254 (IMDS) and
    169.254.169.100 (scvault.vault.azure.net)."""
    VAULT = "https://scvault.vault.azure.net"

    def __init__(self, node, *args, certs=None):
        import secrets
        import subprocess
        keyservice = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "keyservice")
        self.dir = certs or node.path("keyservice")
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.dir, "other.pem")):
            subprocess.run([os.path.join(keyservice, "mkcerts.sh"), self.dir,
                            "scvault.vault.azure.net"], check=True)
        sys.path.insert(0, keyservice)
        import emulator
        self.token = secrets.token_urlsafe(32)
        # "--token=" keeps argparse from taking a token that begins with "-" for an option.
        self.proc, self.imds_port, self.kv_port = emulator.start(
            ["--token=" + self.token, "--tls-cert", os.path.join(self.dir, "server.pem"),
             "--tls-key", os.path.join(self.dir, "server.key"), "--vault-url", self.VAULT,
             "--other-cert", os.path.join(self.dir, "other.pem"),
             "--other-key", os.path.join(self.dir, "other.key"),
             "--key", "tempdisk", "--key", "tempdisk2", *args], os.path.join(self.dir, "ports"))
        node.forwards = [("169.254.169.254", 80, self.imds_port), ("169.254.169.100", 443, self.kv_port)]
        node.files["/etc/scratchcrypt/ca.pem"] = os.path.join(self.dir, "ca.pem")

    def config(self, **c):
        import json
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{self.imds_port}/_emu/config",
                                     data=json.dumps(c).encode(), method="POST")
        urllib.request.urlopen(req).read()

    def requests(self):
        return self.log()["requests"]

    def log(self):
        import json
        import urllib.request
        return json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.imds_port}/_emu/log"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


HBI_CONF = conf("""[node]
key_source = hbi
[hbi]
vault_url = https://scvault.vault.azure.net
key_name = tempdisk
ca_bundle = /etc/scratchcrypt/ca.pem
retry_cap_s = 12
""") + 'net_up "169.254.169.100 scvault.vault.azure.net"\n' + r"""
# use_key NAME: what an operator does after 'rewrap --key': name the new key.
use_key() { sed -i "s/^key_name = .*/key_name = $1/" /etc/scratchcrypt/scratchcrypt.conf; }
"""


def hbi_node(build_dir, name):
    fx = fixtures(build_dir)
    node = Node(build_dir, name)
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-b.img", "SCNVMEB")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource.img"))
    return node


DISKS = ("nvme-a.img", "nvme-b.img", "resource.img")


@scenario
def hbi_reboot_rewrap_shred(build_dir):
    """HBI: data survives a reboot, rewrap stays in the vault, a shred leaves nothing to open."""
    node = hbi_node(build_dir, "hbi_reboot_rewrap_shred")
    ks = KeyService(node)
    try:
        r = node.boot(HBI_CONF + DEVICES + RESLINK + f"""
step "HBI start on new disks: fresh keys, wrapped by the vault's key"
expect_rc 0 scratchcrypt -v start
for m in /mnt/resource /mnt/scratch; do
	for i in $(seq 64); do echo "{MARKER} $m line $i"; done >$m/marker.txt
done
sync
{json_out("status", "scratchcrypt --json status")}
scratchcrypt status
echo "SC-BLOCK-BEGIN dump"; cryptsetup luksDump $RES; echo "SC-BLOCK-END"
step "the reboot path: stop --keep"
expect_rc 0 scratchcrypt stop --keep
cryptsetup isLuks $RES || fail "stop --keep wiped the header"
""")
        st = r.json("status")
        for role in ("temp", "scratch"):
            row = role_row(st, role)
            check(row["state"] == "encrypted" and row["key_source"] == "hbi", f"{role}: {row}")
            check(row["vault"] == "scvault.vault.azure.net" and row["key_name"] == "tempdisk"
                  and len(row["key_version"]) == 32, f"{role} lacks the vault, key and version: {row}")
            check(row["cmk_supported"] is False, f"{role}: cmk_supported")
        check(not r.shows(ks.token), "the access token reached the console")
        dump = r.block("dump")
        check("scratchcrypt-hbi" in dump, "no scratchcrypt-hbi token in the LUKS2 header")
        keyslots = dump.split("Keyslots:")[1].split("Tokens:")[0].strip()
        check(keyslots == "", f"the header has keyslots: {keyslots}")
        for f in DISKS:
            check(not contains(node.path(f), MARKER.encode()), f"plaintext found in {f}")
        # What one start costs the key service (issue: requests per start):
        # one IMDS token, one get of the key, one wrap per disk, and one TLS
        # handshake with the vault, whatever the number of disks and volumes.
        log = ks.log()
        seen = [q["what"] for q in log["requests"]]
        check(seen.count("wrapkey") == 3 and "unwrapkey" not in seen, f"requests: {seen}")
        check(seen.count("token") == 1 and seen.count("get") == 1, f"one token and one get: {seen}")
        check(log["connections"]["kv"] == 1, f"TLS handshakes with the vault: {log['connections']}")
        print(f"  one start of 3 disks: {len(seen)} requests ({', '.join(seen)}), "
              f"{log['connections']['kv']} TLS handshake with the vault")

        r = node.boot(HBI_CONF + DEVICES + RESLINK + f"""
step "a new VM on the same disks: unwrap, reopen, the data is there"
expect_rc 0 scratchcrypt -v start
grep -q "{MARKER}" /mnt/resource/marker.txt || fail "the temp disk lost its data across the reboot"
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "the scratch volume lost its data across the reboot"
{json_out("status", "scratchcrypt --json status")}
step "rewrap to another key in the same vault"
expect_rc 0 scratchcrypt rewrap --key https://scvault.vault.azure.net/keys/tempdisk2
step "until the configuration names the new key, its tokens are refused"
expect_rc 0 scratchcrypt stop --keep
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc = 78 ] || fail "start with tokens of another key exited $rc, expected 78"
grep -q "not the configured key 'tempdisk'" /tmp/err || fail "no clear error: $(cat /tmp/err)"
use_key tempdisk2
expect_rc 0 scratchcrypt start
step "rewrap to a key in another vault is refused"
rc=0; scratchcrypt rewrap --key https://othervault.vault.azure.net/keys/k 2>/tmp/err || rc=$?
[ $rc = 78 ] || fail "rewrap to another vault exited $rc, expected 78"
grep -q othervault.vault.azure.net /tmp/err && grep -q scvault.vault.azure.net /tmp/err || fail "the refusal does not name both vaults: $(cat /tmp/err)"
expect_rc 0 scratchcrypt stop --keep
expect_rc 0 scratchcrypt start
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "data lost after the rewrap"
{json_out("rewrapped", "scratchcrypt --json status")}
cryptsetup token export --token-id 1 $RES >/tmp/old-token.json || fail "cannot export the HBI token"
step "stop shreds"
expect_rc 0 scratchcrypt stop
cryptsetup isLuks $RES && fail "the header survived the shred"
step "the old wrapped key opens nothing: put it into the new header"
expect_rc 0 scratchcrypt start
expect_rc 0 scratchcrypt stop --keep
cryptsetup token remove --token-id 1 $RES
cryptsetup token import --token-id 1 --json-file /tmp/old-token.json $RES || fail "cannot import the old token"
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc != 0 ] || fail "start opened the disk with the old wrapped key"
grep -q "does not match" /tmp/err || fail "no clear error: $(cat /tmp/err)"
dmsetup ls | grep -q 'scratchcrypt-temp\\b' && fail "the temp disk was opened"
grep -q ' /mnt/resource ' /proc/mounts && fail "the temp disk was mounted"
expect_rc 0 scratchcrypt stop
true
""")
        check(not r.shows(ks.token), "the access token reached the console")
        st = r.json("status")
        temp = role_row(st, "temp")
        check(temp["last_unwrap"] and temp["last_unwrap"].endswith("Z"), f"no last_unwrap: {temp}")
        check(role_row(st, "temp")["key_name"] == "tempdisk", "status before the rewrap")
        st = r.json("rewrapped")
        check(role_row(st, "temp")["key_name"] == "tempdisk2" and role_row(st, "scratch")["key_name"] == "tempdisk2",
              f"status after the rewrap: {role_row(st, 'temp')}")
        for f in DISKS:
            check(head_is_zero(node.path(f)), f"{f}: the header area is not wiped after the shred")
    finally:
        ks.stop()


@scenario
def hbi_secrets(build_dir):
    """HBI: after a wrap and an unwrap, no byte of the token or a volume key is left in scratchcrypt's memory."""
    import json
    import urllib.request
    node = hbi_node(build_dir, "hbi_secrets")
    # Four local NVMe disks: start sets up three of them in worker processes,
    # with keys in pages it shares with them.
    node.add("nvme", "nvme-c.img", "SCNVMEC")
    node.add("nvme", "nvme-d.img", "SCNVMED")
    node.files["/usr/sbin/memscan"] = os.path.join(build_dir, "tests", "memscan")
    ks = KeyService(node)
    try:
        # First boot: wrap a key for each disk; then the secrets are known.
        node.boot(HBI_CONF + DEVICES + RESLINK + """
expect_rc 0 scratchcrypt -q start
expect_rc 0 scratchcrypt -q stop --keep
true
""")
        keys = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ks.imds_port}/_emu/secrets"))["keys"]
        check(len(keys) == 5, f"expected 5 wrapped volume keys, the emulator saw {len(keys)}")
        token = ks.token.encode().hex()
        import base64
        b64 = [base64.urlsafe_b64encode(bytes.fromhex(k)).rstrip(b"=").hex() for k in keys]
        needles = " ".join([token] + keys + [k[:32] for k in keys] + b64)
        # Second boot: start unwraps, its workers open the disks, and it
        # pauses at its last volume's mount, once every key is in the kernel
        # (its key session, with the access token, is still open then); rewrap
        # unwraps and wraps again, and pauses once its key session is closed.
        r = node.boot(HBI_CONF + DEVICES + RESLINK + f"""
SCRATCHCRYPT_CRASH_AT=mount#2 SCRATCHCRYPT_CRASH_MODE=pause scratchcrypt -q start & pid=$!
while ! grep -q '^State:.*T' /proc/$pid/status 2>/dev/null; do
	kill -0 $pid 2>/dev/null || fail "start ended before its pause point"
	sleep 0.1
done
step "scan the paused start"
rc=0; memscan $pid {" ".join(keys + [k[:32] for k in keys])} || rc=$?
echo "SC-VALUE start_memscan_rc=$rc"
kill -CONT $pid
wait $pid || fail "start failed after its pause"
[ "$(dmsetup ls | grep -c scratchcrypt-scratch-)" = 4 ] || fail "expected 4 scratch members: $(dmsetup ls)"
SCRATCHCRYPT_CRASH_AT=rewrap-done SCRATCHCRYPT_CRASH_MODE=pause scratchcrypt -q rewrap & pid=$!
while ! grep -q '^State:.*T' /proc/$pid/status 2>/dev/null; do
	kill -0 $pid 2>/dev/null || fail "rewrap ended before its pause point"
	sleep 0.1
done
step "scan the paused process"
rc=0; memscan $pid {needles} || rc=$?
echo "SC-VALUE memscan_rc=$rc"
kill -CONT $pid
wait $pid || fail "rewrap failed after its pause"
true
""")
        check(r.value("start_memscan_rc") == "0", "a volume key is still in start's memory once the "
              "disks are open (see FOUND lines in the log)")
        check(r.value("memscan_rc") == "0", "a token or volume key is still in scratchcrypt's memory "
              "(see FOUND lines in the log)")
        check("memscan: " in r.text and "none found" in r.text, "memscan did not run")
    finally:
        ks.stop()


@scenario
def hbi_fail_closed(build_dir):
    """HBI: a missing permission or a key service that is down leaves the disks closed and untouched."""
    node = hbi_node(build_dir, "hbi_fail_closed")
    ks = KeyService(node, "--permissions", "get,unwrapKey")
    try:
        before = {f: sha256(node.path(f)) for f in DISKS}
        node.boot(HBI_CONF + DEVICES + RESLINK + """
step "no wrapKey permission on new disks: 78, nothing written"
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc = 78 ] || fail "start exited $rc, expected 78"
grep -q "HTTP 403" /tmp/err && grep -q "wrapKey permission" /tmp/err || fail "no clear error: $(cat /tmp/err)"
dmsetup ls | grep -q scratchcrypt && fail "a mapping was created"
true
""")
        for f in DISKS:
            check(sha256(node.path(f)) == before[f], f"{f} changed although the key service refused")

        ks.config(permissions="get,wrapKey,unwrapKey")
        node.boot(HBI_CONF + DEVICES + RESLINK + """
step "set up, then close for a reboot"
expect_rc 0 scratchcrypt start
echo keep >/mnt/resource/keep.txt
expect_rc 0 scratchcrypt stop --keep
""")
        before = {f: sha256(node.path(f)) for f in DISKS}

        ks.config(permissions="get,wrapKey")
        node.boot(HBI_CONF + DEVICES + RESLINK + """
step "no unwrapKey permission at boot: 78, the disks stay closed"
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc = 78 ] || fail "start exited $rc, expected 78"
grep -q "unwrapKey permission" /tmp/err || fail "no clear error: $(cat /tmp/err)"
grep -q ' /mnt/resource ' /proc/mounts && fail "mounted without its key"
true
""")
        ks.stop()
        r = node.boot(HBI_CONF + DEVICES + RESLINK + """
step "the key service is down at boot: 69 within the cap, closed"
t0=$(date +%s)
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
t1=$(date +%s)
[ $rc = 69 ] || fail "start exited $rc, expected 69: $(cat /tmp/err)"
echo "SC-VALUE elapsed=$((t1 - t0))"
grep -q "gave up" /tmp/err || fail "no clear error: $(cat /tmp/err)"
grep -q ' /mnt/' /proc/mounts && fail "something was mounted"
dmsetup ls | grep -q scratchcrypt && fail "a mapping was opened"
""" + json_out("status", "scratchcrypt --json status") + "true\n")
        check(int(r.value("elapsed")) <= 12 + 3, f"start took {r.value('elapsed')} s, more than the 12 s cap")
        temp = role_row(r.json("status"), "temp")
        check(temp["state"] == "error" and "gave up" in temp["note"], f"status does not say why: {temp}")
        for f in DISKS:
            check(sha256(node.path(f)) == before[f], f"{f} changed while the key service was unavailable")
    finally:
        ks.stop()


# The hostile key-service matrix: (emulator knobs, what start must exit).
# 76: a malformed reply; 78: refused (a key, a name, a certificate); 69: no
# usable answer within retry_cap_s. On new disks the wrap path runs
# (token, get, wrapkey); on set-up disks the unwrap path (token, get, unwrapkey).
HOSTILE_NEW = [
    ({"hostile": "empty@token"}, 76), ({"hostile": "notjson@token"}, 76),
    ({"hostile": "wrongtypes@token"}, 76), ({"hostile": "nulls@token"}, 76),
    ({"hostile": "nul@token"}, 76), ({"hostile": "crlf@token"}, 76),
    ({"hostile": "throttle@token"}, 69),
    ({"hostile": "array@get"}, 76), ({"hostile": "trailing@get"}, 76), ({"hostile": "deep@get"}, 76),
    ({"hostile": "wrongkid@get"}, 76), ({"hostile": "foreignkid@get"}, 76),
    ({"hostile": "wrongkty@get"}, 78), ({"hostile": "smallkey@get"}, 78),
    ({"hostile": "huge@get"}, 76), ({"hostile": "trickle@get"}, 69), ({"hostile": "shortbody@get"}, 69),
    ({"hostile": "badstatus@get"}, 69), ({"hostile": "htmlerror@get"}, 69),
    ({"hostile": "hang@wrapkey"}, 69), ({"hostile": "redirect@wrapkey"}, 76),
    ({"hostile": "empty@wrapkey"}, 76), ({"hostile": "truncb64@wrapkey"}, 76),
    ({"hostile": "longb64@wrapkey"}, 76), ({"hostile": "badb64@wrapkey"}, 76),
    ({"hostile": "wrongkid@wrapkey"}, 76), ({"cert": "other"}, 78), ({"reject_token": 1}, 78),
]
HOSTILE_SET_UP = [
    ({"hostile": "empty@unwrapkey"}, 76), ({"hostile": "notjson@unwrapkey"}, 76),
    ({"hostile": "wrongtypes@unwrapkey"}, 76), ({"hostile": "nulls@unwrapkey"}, 76),
    ({"hostile": "nul@unwrapkey"}, 76), ({"hostile": "foreignkid@unwrapkey"}, 76),
    ({"hostile": "badb64@unwrapkey"}, 76), ({"hostile": "huge@unwrapkey"}, 76),
    ({"hostile": "keysize@unwrapkey"}, 76), ({"hostile": "longb64@unwrapkey"}, 76),
    ({"hostile": "truncb64@unwrapkey"}, 78), ({"hostile": "wrongkey@unwrapkey"}, 78),
    ({"hostile": "trickle@unwrapkey"}, 69), ({"hostile": "redirect@unwrapkey"}, 76),
    ({"cert": "other"}, 78), ({"reject_token": 1}, 78),
]
HOSTILE_CAP_S = 6
CLEAR = {"hostile": "", "cert": "right", "reject_token": 0}


def hostile_cases(cases):
    """Guest shell: for each case, set the emulator's knobs (through the IMDS
    forward), run start, and report its exit code, time and error."""
    import json
    out = r"""
case_run() {
	emu_config "$2"
	t0=$(date +%s); rc=0; scratchcrypt start >/tmp/out 2>/tmp/err || rc=$?; t1=$(date +%s)
	echo "SC-VALUE case-$1=$rc $((t1 - t0))"
	echo "SC-BLOCK-BEGIN err-$1"; cat /tmp/err; echo "SC-BLOCK-END"
	dmsetup ls | grep -q scratchcrypt && { echo "SC-VALUE mapped-$1=yes"; dmsetup ls; }
	grep -q ' /mnt/' /proc/mounts && echo "SC-VALUE mounted-$1=yes"
	emu_config '""" + json.dumps(CLEAR) + """'
}
"""
    for i, (knobs, _) in enumerate(cases):
        out += f"case_run {i} '{json.dumps(knobs)}'\n"
    return out + "true\n"


def check_hostile(r, cases, token):
    bad = []
    for i, (knobs, want) in enumerate(cases):
        name = knobs.get("hostile") or ",".join(f"{k}={v}" for k, v in knobs.items())
        rc, secs = r.value(f"case-{i}").split()
        err = r.block(f"err-{i}")
        why = []
        if int(rc) != want:
            why.append(f"exit {rc}, expected {want}")
        if int(secs) > HOSTILE_CAP_S + 6:
            why.append(f"took {secs} s with retry_cap_s={HOSTILE_CAP_S}")
        if f"SC-VALUE mapped-{i}=yes" in r.text or f"SC-VALUE mounted-{i}=yes" in r.text:
            why.append("left a mapping or a mount")
        if "scvault.vault.azure.net" not in err and "169.254.169.254" not in err:
            why.append(f"no clear error: {err.strip()[-300:]!r}")
        if token in err:
            why.append("the access token was printed")
        print(f"  {'ok  ' if not why else 'FAIL'} {name}: exit {rc} in {secs} s: "
              f"{err.strip().splitlines()[-1][:200] if err.strip() else ''}")
        if why:
            bad.append(f"{name}: {'; '.join(why)}")
    check(not bad, "hostile replies: " + " | ".join(bad))


@scenario
def hbi_hostile_service(build_dir):
    """HBI: 44 hostile key-service replies each give their documented exit code, no crash, and leave every disk byte-identical."""
    node = hbi_node(build_dir, "hbi_hostile_service")
    ks = KeyService(node)
    conf_ = HBI_CONF.replace("retry_cap_s = 12", f"retry_cap_s = {HOSTILE_CAP_S}")
    try:
        def matrix(path, cases):
            before = {f: sha256(node.path(f)) for f in DISKS}
            r = node.boot(conf_ + DEVICES + RESLINK + f'step "the {path} path against hostile replies"\n'
                          + hostile_cases(cases))
            check_hostile(r, cases, ks.token)
            for f in DISKS:
                check(sha256(node.path(f)) == before[f], f"{f} changed during the hostile replies on the {path} path")

        matrix("wrap", HOSTILE_NEW)  # new disks
        node.boot(conf_ + DEVICES + RESLINK + f"""
step "set up, with data, then close as for a reboot"
expect_rc 0 scratchcrypt start
echo "{MARKER}" >/mnt/resource/keep.txt
expect_rc 0 scratchcrypt stop --keep
""")
        matrix("unwrap", HOSTILE_SET_UP)  # disks holding data
        node.boot(conf_ + DEVICES + RESLINK + f"""
step "an honest key service again: the data is there"
expect_rc 0 scratchcrypt start
grep -q "{MARKER}" /mnt/resource/keep.txt || fail "the temp disk lost its data"
expect_rc 0 scratchcrypt stop --keep
""")
    finally:
        ks.stop()


def sched_event(eid, etype, resources, status="Scheduled"):
    return {"EventId": eid, "EventType": etype, "ResourceType": "VirtualMachine",
            "Resources": resources, "EventStatus": status, "NotBefore": "Mon, 19 Sep 2016 18:29:47 GMT",
            "Description": "", "EventSource": "Platform", "DurationInSeconds": -1}


# (name, events, shredded?, acknowledged ids). The VM is "node-0".
EVENT_CASES = [
    ("terminate-alone", [sched_event("e1", "Terminate", ["node-0"])], True, ["e1"]),
    ("preempt-shared", [sched_event("e2", "Preempt", ["node-0", "node-1"])], True, []),
    ("terminate-started", [sched_event("e3", "Terminate", ["node-0"], "Started")], True, []),
    ("redeploy-system", [sched_event("e4", "Redeploy", ["node-0"])], False, []),
    ("reboot", [sched_event("e5", "Reboot", ["node-0"])], False, []),
    ("other-vm", [sched_event("e6", "Terminate", ["node-1"])], False, []),
    ("forty-events", [sched_event(f"f{i}", "Freeze", ["node-0"]) for i in range(39)]
     + [sched_event("e7", "Preempt", ["NODE-0"])], True, ["e7"]),
]


@scenario
def scheduled_events(build_dir):
    """Scheduled Events as documented: shred on Terminate/Preempt (Scheduled or Started), acknowledge only events for this VM alone, any number of events, a first call that takes 20 s."""
    import json
    import urllib.request
    node = hbi_node(build_dir, "scheduled_events")
    ks = KeyService(node)
    try:
        script = conf() + 'net_up ""\n' + DEVICES + RESLINK + r"""
ev_case() {
	expect_rc 0 scratchcrypt -q start
	emu_config "{\"events\": $2}"
	t0=$(date +%s); rc=0; scratchcrypt watch-events --once 2>/tmp/err || rc=$?; t1=$(date +%s)
	if cryptsetup isLuks $RES; then what=kept; else what=shredded; fi
	echo "SC-VALUE ev-$1=$rc $what $((t1 - t0))"
	echo "SC-BLOCK-BEGIN log-$1"; cat /tmp/err; echo "SC-BLOCK-END"
	emu_config '{"events": [], "events_latency": 0}'
}
"""
        for name, events, _, _ in EVENT_CASES:
            script += f"ev_case {name} '{json.dumps(events)}'\n"
        script += ("emu_config '{\"events_latency\": 20}'\n"
                   f"ev_case first-call-slow '{json.dumps([sched_event('e8', 'Terminate', ['node-0'])])}'\n"
                   "true\n")
        r = node.boot(script)
        acks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ks.imds_port}/_emu/log"))["acks"]
        bad = []
        cases = EVENT_CASES + [("first-call-slow", [sched_event("e8", "Terminate", ["node-0"])], True, ["e8"])]
        for name, events, shred, acked in cases:
            rc, what, secs = r.value(f"ev-{name}").split()
            ids = {e["EventId"] for e in events}
            ours = sorted({a for a in acks if a in ids})
            ok = rc == "0" and what == ("shredded" if shred else "kept") and ours == sorted(acked)
            if name == "first-call-slow":
                ok = ok and int(secs) >= 20
            print(f"  {'ok  ' if ok else 'FAIL'} {name}: exit {rc}, disks {what} in {secs} s, acknowledged {sorted(set(ours))}")
            if not ok:
                bad.append(f"{name}: exit {rc}, {what}, acks {ours}, wanted shred={shred} acks={acked}: "
                           + r.block(f"log-{name}")[-300:])
        check(not bad, "scheduled events: " + " | ".join(bad))
    finally:
        ks.stop()


def image(build_dir):
    """The Debian image of the host's suite baked by vm-images/debian/build-image.sh, with
    the test probes of tests/vm/image-overlay (made once per build tree)."""
    import shutil
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(build_dir, "vm-image")
    stamp = os.path.join(out, ".ok")
    made_from = image_inputs(here)
    if os.path.exists(os.path.join(out, "root.img")) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == made_from:
                return out
    if not shutil.which("debootstrap"):
        from vmlib import skip
        skip("debootstrap is not installed")
    os.makedirs(out, exist_ok=True)
    staging = os.path.join(out, "overlay")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(os.path.join(here, "image-overlay"), staging, symlinks=True)
    ca = os.path.join(out, "ca")
    if not os.path.exists(os.path.join(ca, "ca.pem")):
        os.makedirs(ca, exist_ok=True)
        subprocess.run([os.path.join(here, "..", "keyservice", "mkcerts.sh"), ca,
                        "scvault.vault.azure.net"], check=True)
    os.makedirs(os.path.join(staging, "etc/scratchcrypt"), exist_ok=True)
    shutil.copy(os.path.join(ca, "ca.pem"), os.path.join(staging, "etc/scratchcrypt/test-ca.pem"))
    # The installed udev rules run unmodified; the overlay's
    # 89-sctest-identity.rules stands in for the VMBus identity and the NVMe
    # model that QEMU cannot give.
    if os.path.exists(stamp):
        os.unlink(stamp)
    subprocess.run([os.path.join(here, "..", "..", "vm-images", "debian", "build-image.sh"),
                    "--vhd", "--overlay", staging, "--cmdline", GUEST_TIMER, out], check=True)
    with open(stamp, "w") as f:
        f.write(made_from)
    return out


def image_inputs(here):
    """A digest of the recipe and the test overlay: an image baked from
    older ones is baked again."""
    import hashlib
    h = hashlib.sha256()
    tops = [os.path.join(here, "image-overlay"), os.path.join(here, "..", "..", "vm-images", "debian")]
    for top in tops:
        for d, dirs, files in sorted(os.walk(top)):
            dirs.sort()
            for name in sorted(files):
                p = os.path.join(d, name)
                h.update(os.path.relpath(p, top).encode() + b"\0")
                if not os.path.islink(p):
                    with open(p, "rb") as f:
                        h.update(f.read())
    return h.hexdigest() + "\n"


def bake_config(root_img, keysource):
    """Writes the node's scratchcrypt.conf into its root filesystem before
    it boots, as an image builder bakes it in: the boot units and the
    generator read it before any unit of the image runs."""
    import subprocess
    conf = root_img + ".scratchcrypt.conf"
    with open(conf, "w") as f:
        f.write(f"[node]\nkey_source = {keysource}\n[disks]\nnvme_models = QEMU NVMe Ctrl\n"
                "[hbi]\nvault_url = https://scvault.vault.azure.net\nkey_name = tempdisk\n"
                "ca_bundle = /etc/scratchcrypt/test-ca.pem\nretry_cap_s = 30\n[events]\npoll_s = 1\n")
    cmds = f"cd /etc/scratchcrypt\nrm scratchcrypt.conf\nwrite {conf} scratchcrypt.conf\n"
    subprocess.run(["debugfs", "-w", "-f", "-", root_img], input=cmds.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(["debugfs", "-R", "cat /etc/scratchcrypt/scratchcrypt.conf", root_img],
                         capture_output=True, check=True).stdout.decode()
    check(f"key_source = {keysource}" in out, f"the config did not reach {root_img}")


def standin_cloud_init_rule(root_img):
    """QEMU has no VMBus: in this node's root, cloud-init's own
    66-azure-ephemeral.rules, under its own name and place (so whatever masks
    it by name masks this too), knows the test's resource disk by its serial
    where it would know Azure's by its VMBus device id. Nothing else of the
    rule changes."""
    import subprocess
    path = "/usr/lib/udev/rules.d/66-azure-ephemeral.rules"
    rule = subprocess.run(["debugfs", "-R", f"cat {path}", root_img], capture_output=True,
                          check=True).stdout.decode()
    check('ATTRS{device_id}=="?00000000-0001-*"' in rule, f"cloud-init's rule is not in {root_img}:\n{rule}")
    local = root_img + ".66-azure-ephemeral.rules"
    with open(local, "w") as f:
        f.write(rule.replace('ATTRS{device_id}=="?00000000-0001-*"', 'ENV{ID_SERIAL_SHORT}=="SCRES"'))
    cmds = f"cd /usr/lib/udev/rules.d\nrm 66-azure-ephemeral.rules\nwrite {local} 66-azure-ephemeral.rules\n"
    subprocess.run(["debugfs", "-w", "-f", "-", root_img], input=cmds.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def image_node(build_dir, name, keysource):
    import subprocess
    img = image(build_dir)
    fx = fixtures(build_dir)
    node = Node(build_dir, name)
    # A copy of its own (sparse), so the config can be written into it.
    root = node.path("root.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(img, "root.img"), root], check=True)
    bake_config(root, keysource)
    standin_cloud_init_rule(root)
    node.disks.append(("root", root, "SCROOT"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-b.img", "SCNVMEB")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource.img"))
    return node, img


@scenario(suite="slow", timeout=1800)
def image_prepare(build_dir):
    """Bakes the Debian image of the host's suite with the recipe in vm-images/ (debootstrap, once)."""
    image(build_dir)


def check_boot(r, keysource):
    """System keys: scratchcrypt.service before local-fs.target. HBI:
    scratchcrypt-online.service once the network (DHCP) is online. Either
    way a service ordered after scratchcrypt.target finds the disk mounted."""
    at = lambda u: int(r.value(f"active_at:{u}"))
    unit, other = (("scratchcrypt.service", "scratchcrypt-online.service") if keysource == "system"
                   else ("scratchcrypt-online.service", "scratchcrypt.service"))
    check(r.value(f"state:{unit}") == "active/success", f"{unit}: {r.value(f'state:{unit}')}\n{r.block('journal')}")
    check(not r.value(f"state:{other}").startswith("active"),
          f"{other} ran as well: {r.value(f'state:{other}')}")
    if keysource == "system":
        check(0 < at(unit) < at("local-fs.target"),
              f"{unit} was active at {at(unit)} us, local-fs.target at {at('local-fs.target')} us")
    else:
        check(0 < at("network-online.target") < at(unit),
              f"{unit} was active at {at(unit)} us, network-online.target at {at('network-online.target')} us")
        check(r.value("address").startswith("169.254."), f"no DHCP address on the link-local network: {r.value('address')!r}")
    check(at(unit) <= at("scratchcrypt.target") <= at("sctest-consumer.service"),
          f"{unit} {at(unit)} us, scratchcrypt.target {at('scratchcrypt.target')} us, "
          f"its user {at('sctest-consumer.service')} us")
    check(r.value("consumer_saw") == "/dev/mapper/scratchcrypt-temp",
          f"the service ordered after scratchcrypt.target found {r.value('consumer_saw')!r} at /mnt/resource")
    check(r.value("temp_source") == "/dev/mapper/scratchcrypt-temp",
          f"/mnt/resource comes from {r.value('temp_source')!r}")
    check(r.value("scratch_source") == "/dev/mapper/scratchcrypt-scratch",
          f"/mnt/scratch comes from {r.value('scratch_source')!r}")
    st = r.json("status")
    for role in ("temp", "scratch"):
        row = role_row(st, role)
        want = "system-managed" if keysource == "system" else "hbi"
        check(row["state"] == "encrypted" and row["key_source"] == want, f"{role}: {row}")
    links = r.block("links")
    check("/dev/disk/scratchcrypt/local/by-serial/SCNVMEA" in links and "/dev/disk/scratchcrypt/resource" in links,
          f"udev made no stable names: {links}")
    # QEMU's controller says no platform index: no by-index link, rather
    # than the kernel's controller number, which can change between boots.
    check("/dev/disk/scratchcrypt/local/by-index/" not in links, f"a by-index link without an index: {links}")
    check("/dev/disk/scratchcrypt/mapped/scratchcrypt-temp" in links, f"no link for the mapping: {links}")
    check(r.value("watch_state") == "active", f"watch-events is {r.value('watch_state')}")
    # azure-ephemeral-disk-setup (a stand-in with its documented ordering:
    # after local-fs.target, before network-online.target, so in HBI mode
    # before scratchcrypt) was skipped by the package's drop-in and
    # formatted nothing.
    check(r.value("ephemeral_setup") == "no/inactive",
          f"azure-ephemeral-disk-setup (ConditionResult/ActiveState): {r.value('ephemeral_setup')}")
    check(r.value("ephemeral_label") == "" and r.value("mnt_source") == "",
          f"a disk labelled AzureEphmDsk: {r.value('ephemeral_label')!r}, /mnt from {r.value('mnt_source')!r}")


@scenario(suite="slow", timeout=1800)
def image_systemd_boot(build_dir):
    """The baked image under systemd: encrypted and mounted before local-fs.target,
    a reboot re-keys, a shutdown leaves nothing in the clear, a Terminate event shreds."""
    node, img = image_node(build_dir, "image_systemd_boot", "system")
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "sctest.action=write")
        check_boot(r, "system")
        for f in DISKS:
            check(not contains(node.path(f), MARKER.encode()), f"{f}: plaintext after a shutdown")
        r = node.boot_image(img, "")
        check_boot(r, "system")
        check(r.value("had_marker") == "no", "the system key survived a reboot: the old files are readable")

        event = "602d9444-d2cd-49c7-8624-8643e7171297"
        ks.config(events=[{"EventId": event, "EventType": "Terminate", "ResourceType": "VirtualMachine",
                           "Resources": ["node-0"], "EventStatus": "Scheduled",
                           "NotBefore": "Mon, 19 Sep 2016 18:29:47 GMT", "Description": "",
                           "EventSource": "Platform", "DurationInSeconds": -1}])
        r = node.boot_image(img, "sctest.action=wait-shred")
        st = r.json("after-event")
        check(role_row(st, "temp")["state"] == "shredded", f"after Terminate: {role_row(st, 'temp')}\n{r.block('events-journal')}")
        import json
        import urllib.request
        acks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ks.imds_port}/_emu/log"))["acks"]
        check(event in acks, f"the event was not acknowledged (acks: {acks})")
        for f in DISKS:
            check(head_is_zero(node.path(f)), f"{f}: the header survived the Terminate event")
    finally:
        ks.stop()


@scenario(suite="slow", timeout=1800)
def image_hbi_reboot(build_dir):
    """The baked image in HBI mode: a reboot reopens the disks with the data on them."""
    node, img = image_node(build_dir, "image_hbi_reboot", "hbi")
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "sctest.action=write")
        check_boot(r, "hbi")
        for f in DISKS:
            check(not contains(node.path(f), MARKER.encode()), f"{f}: plaintext after a shutdown")
        r = node.boot_image(img, "")
        check_boot(r, "hbi")
        check(r.value("had_marker") == "yes", "HBI data did not survive the reboot")
        check(not r.shows(ks.token), "the access token reached the console")
    finally:
        ks.stop()


# The chassis asset tag Azure's VMs carry (SMBIOS type 3), by which
# cloud-init's Azure datasource knows it runs on Azure.
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"


def azure_first_boot(build_dir, keysource):
    """The image with cloud-init enabled booted twice as a new Azure instance
    (a new VM UUID, which is cloud-init's instance id) through cloud-init's
    Azure datasource: DHCP with option 245, IMDS and the wire server stand-ins
    on link-local addresses, on the real neighbours the image has (cloud-init
    and WALinuxAgent from the suite, azure-ephemeral-disk-setup's stand-in).
    Nothing but scratchcrypt formats or mounts the temp disk; its header
    survives both first boots; HBI data survives the second."""
    import subprocess
    import uuid
    from wireserver import WireServer
    node, img = image_node(build_dir, f"image_azure_first_boot_{keysource}", keysource)
    # cloud-init runs (the other image tests have it disabled).
    subprocess.run(["debugfs", "-w", "-R", "rm /etc/cloud/cloud-init.disabled", node.path("root.img")],
                   check=True, capture_output=True)
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    wire = net = None
    times = []
    try:
        wire = WireServer()
        wire_ip = "169.254.169.253"
        net = node.net = LinkLocalNet(node.work, node.forwards + [(wire_ip, 80, wire.port)], wire_ip)
        keep = None
        for boot, vm in enumerate((uuid.uuid4(), uuid.uuid4()), 1):
            node.qemu_extra = ["-smbios", f"type=3,asset={AZURE_ASSET_TAG}", "-uuid", str(vm)]
            ks.config(compute={"vmId": str(vm), "name": f"sctest-{boot}", "location": "westeurope",
                               "osProfile": {"adminUsername": "azureuser", "computerName": f"sctest-{boot}",
                                             "disablePasswordAuthentication": "true"},
                               "publicKeys": []},
                      network={"interface": [{"macAddress": "5254005C0001", "ipv6": {"ipAddress": []},
                                              "ipv4": {"subnet": [{"address": "169.254.0.0", "prefix": "16"}],
                                                       "ipAddress": [{"privateIpAddress": "169.254.0.15",
                                                                      "publicIpAddress": ""}]}}]})
            ready_before = len(wire.ready_reports())
            action = "azure-write" if boot == 1 else "azure"
            r = node.boot_image(img, f"sctest.action={action}", timeout=900)
            v = r.value
            check_boot(r, keysource)
            # cloud-init took this boot as a new instance on Azure and told
            # the wire server the VM is ready.
            check(v("ci_platform") == "azure", f"boot {boot}: cloud-init's platform is {v('ci_platform')!r}")
            check(v("ci_iid").lower() == str(vm), f"boot {boot}: instance id {v('ci_iid')!r}, the VM is {vm}")
            check(len(v("ci_instances").split()) == boot,
                  f"boot {boot}: cloud-init's instances {v('ci_instances')!r}: not a new instance")
            check(v("ci_sem").split() == ["config_disk_setup", "config_mounts"],
                  f"boot {boot}: cloud-init's per-instance disk_setup and mounts did not run: {v('ci_sem')!r}")
            check(len(wire.ready_reports()) > ready_before,
                  f"boot {boot}: cloud-init reported no ready state to the wire server: {wire.log}")
            check(v("ci_status") == "done", f"boot {boot}: cloud-init status {v('ci_status')!r}\n"
                  f"{r.block('cloud-init-errors')}")
            # Nothing but scratchcrypt partitioned, formatted or mounted the temp disk.
            # (cloud-init's rule knows the test's disk: standin_cloud_init_rule.)
            check(v("link") == "no", f"boot {boot}: /dev/disk/cloud/azure_resource exists")
            check(v("ci_disk_writes") == "0",
                  f"boot {boot}: cloud-init partitioned or formatted a disk:\n{r.block('cloud-init-disks')}")
            check(v("azure_mapping") == "scratchcrypt-temp" and v("azure_luks") == "yes"
                  and v("azure_pttype") == "",
                  f"boot {boot}: the temp disk after cloud-init: mapping {v('azure_mapping')!r}, "
                  f"LUKS {v('azure_luks')}, partition table {v('azure_pttype')!r}\n{r.block('cloud-init-disks')}")
            check(v("mounts_mnt") == "" and v("azure_fstab") == "0",
                  f"boot {boot}: /mnt from {v('mounts_mnt')!r}, fstab lines {v('azure_fstab')}")
            if boot == 1:
                keep = v("written_keep")
            elif keysource == "hbi":
                check(v("azure_keep") == keep, "HBI data did not survive the new instance's first boot")
            else:
                check(v("azure_keep") == "", "system keys: the new boot's volume is not fresh")
            times.append(boot_times(r))
        if os.environ.get("SC_BOOT_TIMES"):
            # What autoscalers wait for, side by side in this run: the same
            # image and disks booted once more with every scratchcrypt unit
            # masked (as if it were not in the image).
            masked = " ".join(f"systemd.mask={u}" for u in (
                "scratchcrypt.service", "scratchcrypt-online.service", "scratchcrypt-neighbours.service",
                "scratchcrypt-watch-events.service", "scratchcrypt-hotplug.service"))
            r = node.boot_image(img, f"sctest.action=none {masked}", timeout=900)
            write_boot_times(os.environ["SC_BOOT_TIMES"], keysource, times, boot_times(r))
    finally:
        if net:
            net.close()
        if wire:
            wire.stop()
        ks.stop()


def boot_times(r):
    """Seconds from the kernel's start to local-fs.target and to
    scratchcrypt.target (systemd's monotonic activation timestamps, which
    systemd-analyze reads too)."""
    return {u: int(r.value(f"active_at:{u}")) / 1e6 for u in ("local-fs.target", "scratchcrypt.target")}


def write_boot_times(path, keysource, with_sc, without):
    """make bench's boot-time table: each target's time with scratchcrypt
    (the best of the image's boots) against the boot with it masked."""
    lines = [f"# kernel start to target, {keysource} keys, emulated (TCG): only the ratio means anything",
             "target,with_s,without_s,ratio"]
    for u in ("local-fs.target", "scratchcrypt.target"):
        best = min(t[u] for t in with_sc)
        lines.append(f"{u},{best:.2f},{without[u]:.2f},{best / without[u]:.2f}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


@scenario(suite="slow", timeout=1800)
def image_azure_first_boot_system(build_dir):
    """cloud-init's Azure first-boot path twice, system keys (azure_first_boot)."""
    azure_first_boot(build_dir, "system")


@scenario(suite="slow", timeout=1800)
def image_azure_first_boot_hbi(build_dir):
    """cloud-init's Azure first-boot path twice, HBI keys (azure_first_boot)."""
    azure_first_boot(build_dir, "hbi")


@scenario(suite="slow", timeout=1800)
def image_cloud_init(build_dir):
    """Debian's cloud-init with the Azure datasource's built-in ephemeral0
    config (disk_setup with overwrite, fs_setup, mounts) runs on a node that
    scratchcrypt set up: the mapping, the LUKS2 header and the data survive.
    The control, cloud-init's udev rule unmasked (the package's mask in
    /run/udev/rules.d removed), shows the same config repartitioning the
    disk: the mask is what keeps it off."""
    node, img = image_node(build_dir, "image_cloud_init", "system")
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "sctest.action=cloud-init")
        check_boot(r, "system")
        v = r.value
        check(v("link_masked") == "no", "/dev/disk/cloud/azure_resource exists although the package masks its rule")
        check(v("init_rc") == "0", f"cloud-init init failed ({v('init_rc')}):\n{r.block('cloud-init-log')}")
        check(v("after_mapping") == "scratchcrypt-temp", f"after cloud-init: mapping {v('after_mapping')!r}")
        check(v("after_luks") == "yes" and v("after_pttype") == "",
              f"after cloud-init: LUKS2 header {v('after_luks')}, partition table {v('after_pttype')!r}")
        check(v("after_keep") == v("before_keep"), "after cloud-init: the data on /mnt/resource changed")
        check(v("after_fstab") == "0", "cloud-init put the resource disk into /etc/fstab")
        # The control must show harm, or the test above could not fail.
        check(v("link_unmasked") == "yes", "cloud-init's rule made no link even unmasked: the control proves nothing")
        check(v("control_luks") == "no" or v("control_pttype") == "gpt",
              f"the control: cloud-init's disk_setup left the header alone "
              f"(LUKS2 {v('control_luks')}, table {v('control_pttype')!r}):\n{r.block('cloud-init-control')}")
    finally:
        ks.stop()


@scenario(suite="slow", timeout=1800)
def image_azure_vhd(build_dir):
    """The Azure-ready VHD from vm-images/ (the recipe's --vhd, with the test
    probes added) boots under OVMF with Secure Boot and Microsoft's keys:
    shim, GRUB and the kernel from its GPT disk, root by UUID, the EFI
    system partition mounted; scratchcrypt from its Debian package encrypts
    and mounts the resource disk before local-fs.target."""
    import subprocess
    img = image(build_dir)
    fx = fixtures(build_dir)
    node = Node(build_dir, "image_azure_vhd")
    root = node.path("os.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b",
                    glob.glob(os.path.join(img, "scratchcrypt-debian*.vhd"))[0], "-F", "vpc", root], check=True)
    node.disks.append(("root", root, "SCROOT"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource.img"))
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "", uefi=True, timeout=600)
        v = r.value
        check(v("secure_boot") == "1", f"Secure Boot was not on: {v('secure_boot')!r}")
        check(v("esp_source").endswith("1"), f"/boot/efi comes from {v('esp_source')!r}")
        check(v("root_source").endswith("2"), f"/ comes from {v('root_source')!r}")
        check(v("state:scratchcrypt.service") == "active/success",
              f"scratchcrypt.service: {v('state:scratchcrypt.service')}\n{r.block('journal')}")
        at = lambda u: int(v(f"active_at:{u}"))
        check(0 < at("scratchcrypt.service") < at("local-fs.target"), "scratchcrypt.service after local-fs.target")
        check(v("temp_source") == "/dev/mapper/scratchcrypt-temp", f"/mnt/resource comes from {v('temp_source')!r}")
        row = role_row(r.json("status"), "temp")
        check(row["state"] == "encrypted" and row["key_source"] == "system-managed", f"temp: {row}")
        check(v("package").startswith("ii"), f"scratchcrypt is not installed as a package: {v('package')!r}")
        # The package keeps WALinuxAgent off through its drop-in, with
        # /etc/waagent.conf as Debian ships it; detect knows that.
        check(sorted(v("waagent").split()) == ["ResourceDisk.EnableSwap=False", "ResourceDisk.Format=False"],
              f"waagent's configuration under the drop-in: {v('waagent')!r}")
        check(v("waagent_etc") == "ResourceDisk.Format=y", f"/etc/waagent.conf was edited: {v('waagent_etc')!r}")
        warnings = r.json("detect")["warnings"]
        check(warnings == [], f"detect warns on the baked image: {warnings}")
        # A second kernel installed (its zz-update-grub hook, update-grub):
        # every menu entry keeps the serial console of /etc/default/grub.d.
        check(v("update_grub_rc") == "0", f"update-grub failed:\n{r.block('update-grub-log')}")
        linux = [l for l in r.block("grub-linux").splitlines() if l.strip()]
        check(any("-sctest2 " in l for l in linux), f"update-grub did not add the second kernel:\n{r.block('grub-linux')}")
        check(linux and all("console=ttyS0,115200n8" in l for l in linux),
              f"a menu entry without the serial console after update-grub:\n{r.block('grub-linux')}")
    finally:
        ks.stop()


@scenario
def xfs_filesystem(build_dir):
    """xfs (made with -K) on a node without a resource disk, whose NVMe disks take the temp role."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "xfs_filesystem")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    node.add("nvme", "nvme-a.img", "SCNVMEA", size=512 * 1024 * 1024)
    node.add("nvme", "nvme-b.img", "SCNVMEB", size=512 * 1024 * 1024)
    r = node.boot(conf("[filesystem]\ntype = xfs\n") + r"""
mkdir -p /boot && mount -o ro /dev/vda /boot
step "start with xfs; the NVMe set is the temp disk"
expect_rc 0 scratchcrypt start
grep -q ' /mnt/resource xfs ' /proc/mounts || fail "/mnt/resource is not xfs: $(grep /mnt/ /proc/mounts)"
grep -q ' /mnt/scratch ' /proc/mounts && fail "a scratch volume without scratch disks"
echo data >/mnt/resource/file && sync
""" + json_out("status", "scratchcrypt --json status") + r"""
expect_rc 0 scratchcrypt start
expect_rc 0 scratchcrypt stop
grep -q ' /mnt/' /proc/mounts && fail "mounts left after stop"
true
""")
    st = r.json("status")
    temp = role_row(st, "temp")
    check(temp["state"] == "encrypted" and len(temp["devices"]) == 2 and temp["mapping"] == "/dev/mapper/scratchcrypt-temp",
          f"temp row: {temp}")
    check(role_row(st, "scratch")["state"] == "absent", f"scratch row: {role_row(st, 'scratch')}")

@scenario
def shred_discard(build_dir):
    """stop discards the whole data area of a 1 TiB disk ([shred] discard): every byte past the first MiB reads zero again, and the host gets its blocks back."""
    fx = fixtures(build_dir)
    node = Node(build_dir, "shred_discard")
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    size = 1 << 40
    img = node.add("nvme", "nvme-a.img", "SCNVMEA", size=size)
    boot = (conf() + "mkdir -p /boot && mount -o ro /dev/vda /boot\n"
            'NA=$(nvme_by_serial SCNVMEA); echo "SC-VALUE NA=$NA"\n')
    node.boot(boot + r"""
step "start on a 1 TiB disk (the temp disk, on a node without a resource disk)"
expect_rc 0 scratchcrypt start
grep -q ' /mnt/resource ' /proc/mounts || fail "/mnt/resource is not mounted"
""", timeout=600)
    # What a disk holds after use, as the host sees it: data at the start
    # and the end of the data area, and on both sides of every 8 GiB.
    MiB, GiB = 1 << 20, 1 << 30
    offsets = {MiB, size - 4096}
    for at in range(8 * GiB, size, 8 * GiB):
        offsets |= {at - 4096, at}
    block = b"\xa5" * 4096
    with open(img, "r+b") as f:
        for off in sorted(offsets):
            f.seek(off)
            f.write(block)
    r = node.boot(boot + r"""
step "start after a reboot, then stop: shredded and discarded"
expect_rc 0 scratchcrypt start
expect_rc 0 scratchcrypt stop
""", timeout=600)
    check(f"{r.value('NA')}: discarded" in r.text, f"stop did not report the discard (serial log: {r.log})")
    for off in sorted(offsets):
        check(zero_at(img, off, 4096), f"nvme-a.img: data at offset {off} survived the discard")
    allocated = os.stat(img).st_blocks * 512
    check(allocated <= 2 * MiB, f"nvme-a.img: {allocated} bytes still allocated after the discard")
    check(head_is_zero(img), "nvme-a.img: the LUKS2 header area is not wiped")


@scenario(suite=None)
def bench(build_dir):
    """Time until mounted, small disks against disks 32 times larger, side by side (a report, not a test)."""
    times = {}
    for label, gib in (("2 x 1 GiB", 1), ("2 x 32 GiB", 32)):
        fx = fixtures(build_dir)
        node = Node(build_dir, f"bench-{gib}")
        node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
        node.add("nvme", "nvme-a.img", "SCNVMEA", size=gib << 30)
        node.add("nvme", "nvme-b.img", "SCNVMEB", size=gib << 30)
        r = node.boot(conf() + r"""
mkdir -p /boot && mount -o ro /dev/vda /boot
t0=$(cut -d' ' -f1 /proc/uptime)
expect_rc 0 scratchcrypt -q start
t1=$(cut -d' ' -f1 /proc/uptime)
echo "SC-VALUE t0=$t0"; echo "SC-VALUE t1=$t1"
expect_rc 0 scratchcrypt -q stop
""", timeout=900)
        times[label] = float(r.value("t1")) - float(r.value("t0"))
    small, large = times["2 x 1 GiB"], times["2 x 32 GiB"]
    print(f"start until mounted, under TCG (emulated: compare, do not read as speeds):")
    print(f"  2 x 32 GiB takes {large / small:.2f} times as long as 2 x 1 GiB")


def main():
    ap = argparse.ArgumentParser()
    if sys.argv[1:] == ["--list"]:
        # "NAME SUITE TIMEOUT", one per line, for ctest.
        for name, fn in sorted(SCENARIOS.items(), key=lambda kv: kv[1].suite != "vm"):
            if fn.suite:
                print(name, fn.suite, fn.timeout)
        return 0
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    print(f"scenario {a.scenario}: {SCENARIOS[a.scenario].__doc__.splitlines()[0]}")
    build_dir = os.path.abspath(a.build_dir)
    try:
        SCENARIOS[a.scenario](build_dir)
    except Failure as e:
        print(f"FAIL {a.scenario}: {e}{free_space_note(build_dir)}")
        return 1
    except Exception:
        print(f"FAIL {a.scenario}:{free_space_note(build_dir)}")
        raise
    remove_work()
    print(f"PASS {a.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
