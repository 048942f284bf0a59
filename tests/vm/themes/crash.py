# SPDX-License-Identifier: MIT
"""Crash safety: every named step killed and converged, the disk workers
killed, the kernel's half states, power cuts."""
import glob
import os
import sys

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


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
set +e; scratchcrypt start 2>/tmp/again.err; rc=$?; set -e
[ $rc = 0 ] || fail "start after a start stopped at {step} exited $rc: $(cat /tmp/again.err)"
# A stripe it made is its own, whatever order the kernel lists its disks in.
grep -q "does not sit on this volume" /tmp/again.err && fail "start after {step} judged its own stripe wrong: $(cat /tmp/again.err)"
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


def check_unfinished_stop(r, step):
    """After the power went during a stop: status said the shred was
    unfinished and to run stop, for both roles; start finished it."""
    st = r.json("cut")
    for role in ("temp", "scratch"):
        row = role_row(st, role)
        check(row["state"] == "shred-unfinished" and "Run 'scratchcrypt stop'" in row["note"],
              f"status after the power went at stop {step}, {role}: {row}")
    check(st["unfinished_stop"] is not None, f"unfinished_stop after the power went at stop {step}: {st}")
    check(r.json("started")["unfinished_stop"] is None, f"start did not finish the stop cut off at {step}")


@scenario
def power_loss(build_dir):
    """The node loses power at named steps of start and stop; the next boot's start converges."""
    node = standard_node(build_dir, "power_loss", foreign=False, state=True)
    fx = fixtures(build_dir)
    node.add("scsi", "data.img", "SCDATA", source=os.path.join(fx, "ext4-data.img"))
    node.cache = "writethrough"
    node.power_switch = True
    before = sha256(node.path("data.img"))
    ks = KeyService(node)
    write = f'for m in /mnt/resource /mnt/scratch; do echo "{MARKER}" >$m/marker.txt; done; sync\n'
    hbi = HBI_CONF.replace('net_up "169.254.169.100 scvault.vault.azure.net"\n', "")
    confs = {"system": conf(), "hbi": hbi}
    verify, after_stop = "", None
    try:
        for cut in POWER_CUTS + [None]:
            script = 'net_up "169.254.169.100 scvault.vault.azure.net"\n' + DEVICES + RESLINK + CONVERGE_LIB
            script += "MODE=power\n" + verify
            if cut is None:
                r = node.boot(script + "true\n", timeout=600)
            else:
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
                r = node.boot(script, timeout=600, power_cut=True)
            if after_stop:
                check_unfinished_stop(r, after_stop)
            if cut is None:
                break
            after_stop = step if cmd == "stop" else None
            verify = confs[mode] + (json_out("cut", "scratchcrypt --json status") if after_stop else "")
            verify += f"""
step "after the power went at {mode} {cmd} {step}: start converges"
expect_rc 0 scratchcrypt -q start
started "start after a power cut at {cmd} {step}"
"""
            if after_stop:
                verify += json_out("started", "scratchcrypt --json status")
            if after == "data":
                verify += f'grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "HBI data lost by a power cut at {cmd} {step}"\n'
            elif after == "shredded":
                verify += f'[ -e /mnt/scratch/marker.txt ] && fail "HBI data came back after a power cut during stop at {step}"\n'
            verify += "expect_rc 0 scratchcrypt -q stop --keep\n"
    finally:
        ks.stop()
    check(sha256(node.path("data.img")) == before, "data.img changed: a data disk was touched")
