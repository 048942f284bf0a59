#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vm scenarios. Usage: scenarios.py --build-dir DIR SCENARIO
Exit codes: 0 pass, 1 fail, 77 skipped (qemu or the kernel is missing)."""
import argparse
import os
import sys

from vmlib import (Failure, Node, check, contains, fixtures, head_is_zero, role_row, sha256,
                   verdict)


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

# A line that must never reach a backing image in plaintext.
MARKER = "scratchcrypt-plaintext-marker-7f3a9c1e"


def standard_node(build_dir, name, foreign=True):
    fx = fixtures(build_dir)
    node = Node(build_dir, name)
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


SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


@scenario
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

    r = node.boot(conf() + DEVICES + json_out("detect", "scratchcrypt --json detect") + f"""
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
    check(sorted(scratch["devices"]) == sorted([dev["NA"], dev["NB"], dev["ND"]]),
          f"scratch devices: {scratch['devices']}")
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


@scenario
def killed_converges(build_dir):
    """A start or stop killed at any point and run again finishes the job."""
    node = standard_node(build_dir, "killed_converges", foreign=False)
    delays = ["0.05", "0.2", "0.4", "0.7", "1.0", "1.5", "2.5"]
    script = conf() + DEVICES + "mkdir -p /dev/disk/azure && ln -s ../../${RES#/dev/} /dev/disk/azure/resource\n"
    for d in delays:
        script += f"""
step "start killed after {d}s, then run again"
scratchcrypt -q start & pid=$!; sleep {d}; kill -9 $pid 2>/dev/null || true; wait $pid || true
expect_rc 0 scratchcrypt -q start
grep -q ' /mnt/resource ' /proc/mounts || fail "/mnt/resource is not mounted after a killed start at {d}s"
grep -q ' /mnt/scratch ' /proc/mounts || fail "/mnt/scratch is not mounted after a killed start at {d}s"
echo data >/mnt/scratch/file || fail "cannot write to /mnt/scratch"
[ "$(dmsetup ls | grep -c scratchcrypt)" = 4 ] || fail "expected 4 mappings after a killed start at {d}s"
step "stop killed after {d}s, then run again"
scratchcrypt -q stop & pid=$!; sleep {d}; kill -9 $pid 2>/dev/null || true; wait $pid || true
expect_rc 0 scratchcrypt -q stop
dmsetup ls | grep -q scratchcrypt && fail "mappings left after a killed stop at {d}s"
grep -q scratchcrypt /proc/mounts && fail "mounts left after a killed stop at {d}s"
for dev in $NA $NB $RES; do cryptsetup isLuks $dev && fail "$dev keeps its header after a killed stop at {d}s"; done
"""
    node.boot(script + "true\n", timeout=400)
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: the header area is not wiped")


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
def demo(build_dir):
    """The main job in an emulated node: detect, start, status, stop, shown as it runs."""
    node = standard_node(build_dir, "demo")
    r = node.boot(conf() + DEVICES + r"""
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    print(f"scenario {a.scenario}: {SCENARIOS[a.scenario].__doc__.splitlines()[0]}")
    try:
        SCENARIOS[a.scenario](os.path.abspath(a.build_dir))
    except Failure as e:
        print(f"FAIL {a.scenario}: {e}")
        return 1
    print(f"PASS {a.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
