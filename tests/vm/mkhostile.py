#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes the hostile disk layouts of vm.refuses_hostile_disks in DIR, each
64 MiB and sparse. Every one holds something scratchcrypt did not write, or
claims to be scratchcrypt's where the hardware says otherwise:

  luks1.img         someone's LUKS1 volume
  luks2.img         someone's LUKS2 volume
  badtoken.img      a LUKS2 header labelled scratchcrypt whose token is corrupt
  copied.img        a scratchcrypt header and claim copied from another disk
  forged.img        a complete forged scratchcrypt header, claim and token that
                    name the disk it is on (attached as a non-local disk)
  md10.img          an md RAID member, superblock 1.0 at the end, zeros at the start
  lvm.img           an LVM2 physical volume
  gpt3.img          a GPT with three partitions, ext4 in the first
  randsig.img       random bytes that carry XFS's magic at sector 0

The md and LVM labels are written byte by byte (with the checksums libblkid
checks), as building them with mdadm or lvm would need the kernel's md and
device-mapper drivers. The host's blkid must see each for what it is.
Usage: mkhostile.py DIR"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

MiB = 1024 * 1024
SIZE = 64 * MiB
CLAIM_OFFSET = MiB - 4096


def image(path):
    with open(path, "wb") as f:
        f.truncate(SIZE)


def pwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def run(*cmd, stdin=None):
    subprocess.run(cmd, check=True, input=stdin, stdout=subprocess.DEVNULL)


def luks(path, kind="luks2", label=None):
    image(path)
    args = ["cryptsetup", "luksFormat", "-q", "--type", kind, "--pbkdf-force-iterations", "1000",
            "--key-file", "-"]
    if kind == "luks2":
        args += ["--pbkdf", "pbkdf2", "--luks2-metadata-size", "16k", "--luks2-keyslots-size", "1m"]
    if label:
        args += ["--label", label]
    run(*args, path, stdin=b"someone's passphrase")


def token(path, obj):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
    try:
        run("cryptsetup", "token", "import", "--json-file", f.name, path)
    finally:
        os.unlink(f.name)


def sc_token(serial, role="scratch"):
    return {"type": "scratchcrypt", "keyslots": [], "key_source": "system", "role": role,
            "index": 0, "members": 1, "created": 1700000000, "state": "ready", "fs_ready": True,
            "serial": serial, "size": SIZE}


def claim(path, serial):
    text = f"SCRATCHCRYPT-CLAIM-1\nserial={serial}\nsize={SIZE}\ncreated=1700000000\n".encode()
    pwrite(path, CLAIM_OFFSET, text + b"\0" * (512 - len(text)))


def md10(path):
    """An md superblock 1.0: 8 to 12 KiB from the end, 4 KiB aligned."""
    image(path)
    sectors = SIZE // 512
    sb_sector = (sectors - 16) & ~7
    max_dev = 2
    sb = bytearray(256 + 2 * max_dev)
    struct.pack_into("<IIII", sb, 0, 0xa92b4efc, 1, 0, 0)
    sb[16:32] = bytes(range(1, 17))
    sb[32:32 + 10] = b"node:data0"
    struct.pack_into("<Qii Q II", sb, 64, 1700000000, 1, 0, sb_sector, 0, 2)
    struct.pack_into("<QQQ", sb, 128, 0, sb_sector, sb_sector)
    struct.pack_into("<I", sb, 160, 0)
    sb[168:184] = bytes(range(17, 33))
    struct.pack_into("<QQQ", sb, 192, 1700000000, 10, 2 ** 64 - 1)
    struct.pack_into("<I", sb, 220, max_dev)
    struct.pack_into("<HH", sb, 256, 0, 1)
    # md's calc_sb_1_csum: the sum of little-endian u32s with sb_csum zero,
    # folded to 32 bits.
    total = sum(struct.unpack_from("<I", sb, i)[0] for i in range(0, len(sb) - len(sb) % 4, 4))
    if len(sb) % 4 == 2:
        total += struct.unpack_from("<H", sb, len(sb) - 2)[0]
    csum = ((total & 0xffffffff) + (total >> 32)) & 0xffffffff
    struct.pack_into("<I", sb, 216, csum)
    pwrite(path, sb_sector * 512, bytes(sb))


def lvm_crc(data, crc=0xf597a6cf):
    # LVM2's calc_crc: reflected CRC-32 without the final inversion.
    return (~zlib.crc32(data, ~crc & 0xffffffff)) & 0xffffffff


def lvm(path):
    """An LVM2 label in sector 1 and its PV header."""
    image(path)
    label = bytearray(512)
    label[0:8] = b"LABELONE"
    struct.pack_into("<Q", label, 8, 1)
    struct.pack_into("<I", label, 20, 32)
    label[24:32] = b"LVM2 001"
    label[32:64] = b"Hz3kQe1aTn0a8pXxDrR2vW7yL5mB9cJq"
    struct.pack_into("<Q", label, 64, SIZE)
    # data area from 1 MiB to the end, then a metadata area at 4 KiB.
    struct.pack_into("<QQQQ", label, 72, MiB, 0, 0, 0)
    struct.pack_into("<QQQQ", label, 104, 4096, MiB - 4096, 0, 0)
    struct.pack_into("<I", label, 16, lvm_crc(bytes(label[20:512])))
    pwrite(path, 512, bytes(label))


def gpt3(path):
    image(path)
    run("sfdisk", "-q", path, stdin=b"label: gpt\nsize=16M, type=linux\nsize=16M, type=linux\ntype=linux\n")
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "d"))
        with open(os.path.join(tmp, "d", "notes.txt"), "w") as f:
            f.write("someone's notes\n")
        part = os.path.join(tmp, "p1.img")
        with open(part, "wb") as f:
            f.truncate(16 * MiB)
        run("mkfs.ext4", "-q", "-F", "-d", os.path.join(tmp, "d"), part)
        with open(part, "rb") as src:
            pwrite(path, MiB, src.read())


def randsig(path):
    image(path)
    data = bytearray(os.urandom(4 * MiB))
    data[0:4] = b"XFSB"
    pwrite(path, 0, bytes(data))


def main():
    d = sys.argv[1]
    p = lambda n: os.path.join(d, n)  # noqa: E731
    luks(p("luks1.img"), "luks1")
    luks(p("luks2.img"), label="data")
    luks(p("badtoken.img"), label="scratchcrypt")
    token(p("badtoken.img"), {"type": "scratchcrypt", "keyslots": [], "role": 7, "index": "zero",
                              "members": -1, "state": "ready", "serial": None, "size": "big"})
    # A header made for another disk (serial SCNVMEOTHER), then copied here.
    luks(p("copied.img"), label="scratchcrypt")
    token(p("copied.img"), sc_token("SCNVMEOTHER"))
    claim(p("copied.img"), "SCNVMEOTHER")
    # Everything right, but on a disk that the hardware says is not local.
    luks(p("forged.img"), label="scratchcrypt")
    token(p("forged.img"), sc_token("SCFORGED", role="temp"))
    claim(p("forged.img"), "SCFORGED")
    md10(p("md10.img"))
    lvm(p("lvm.img"))
    gpt3(p("gpt3.img"))
    randsig(p("randsig.img"))
    want = {"luks1.img": "crypto_LUKS", "luks2.img": "crypto_LUKS", "md10.img": "linux_raid_member",
            "lvm.img": "LVM2_member", "gpt3.img": "PTTYPE=\"gpt\""}
    for name, what in want.items():
        out = subprocess.run(["blkid", "-p", p(name)], capture_output=True, text=True).stdout
        if what not in out:
            sys.exit(f"mkhostile: blkid does not see {what} on {name}: {out.strip()!r}")


if __name__ == "__main__":
    main()
