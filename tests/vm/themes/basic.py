# SPDX-License-Identifier: MIT
"""The main job and the refusals: start and stop, foreign and hostile
disks, the resource disk's layouts, xfs, discard; the demo and the bench."""
import glob
import os
import sys

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


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
    # The shred record: each disk read back blank after the wipe, by its
    # serial, with what was wiped and whether it was discarded.
    # (QEMU's SCSI disk shows the kernel no serial: its record is by device.)
    serials = sorted(s["serial"] for s in st["shreds"])
    check(serials == ["", "SCNVMEA", "SCNVMEB"] and sorted(s["role"] for s in st["shreds"]) ==
          ["scratch", "scratch", "temp"], f"the shred record: {st['shreds']}")
    for s in st["shreds"]:
        check(s["verified"] and s["wiped_bytes"] == 1048576 and s["discard"] in ("discarded", "unsupported"),
              f"the shred record of {s['serial']}: {s}")
    for f in ("nvme-a.img", "nvme-b.img", "resource.img"):
        check(head_is_zero(node.path(f)), f"{f}: the LUKS2 header area is not wiped")
    for f in untouched:
        check(sha256(node.path(f)) == before[f], f"{f} changed")


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
