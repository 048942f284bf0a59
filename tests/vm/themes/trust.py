# SPDX-License-Identifier: MIT
"""Trust in what is on disk: HBI headers this node can prove it made (a
forgery with the vault key's public half), and the upgrade from on-disk
format 1 with the previous release's real binary."""
import os
import subprocess

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)
from vmlib import MiB, skip

# The last release of on-disk format 1 (tag v0.1.0), named once, in
# tests/vm/old-release (tools/suite-check.sh builds its package from it).
with open(os.path.join(VM_DIR, "old-release")) as _f:
    OLD_RELEASE = _f.read().strip()


def vault_public_half(ks, name):
    """The JWK of the vault key `name`: all an attacker needs to wrap a key,
    fetched as any reader with 'get' permission would (HTTPS, the test CA,
    the vault's name checked)."""
    import base64
    import json
    import socket
    import ssl
    from cryptography.hazmat.primitives.asymmetric import rsa
    ctx = ssl.create_default_context(cafile=os.path.join(ks.dir, "ca.pem"))
    host = "scvault.vault.azure.net"
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", ks.kv_port)), server_hostname=host) as s:
        s.sendall((f"GET /keys/{name}?api-version=7.4 HTTP/1.1\r\nHost: {host}\r\n"
                   f"Authorization: Bearer {ks.token}\r\nConnection: close\r\n\r\n").encode())
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, body = reply.split(b"\r\n\r\n", 1)
    check(b" 200 " in head.split(b"\r\n")[0], f"GET key: {head[:80]!r}")
    jwk = json.loads(body)["key"]

    def num(v):
        return int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")
    return jwk["kid"], rsa.RSAPublicNumbers(num(jwk["e"]), num(jwk["n"])).public_key()


def forge_hbi_header(path, pub, kid):
    """Issue 28's forgery on a disk image this node set up: a LUKS2 header
    (same cipher, sector size and data offset) for a volume key the attacker
    chose, wrapped with the vault key's public half, the disk's own
    scratchcrypt token and claim copied in, and a MAC the attacker had to
    make up. Returns the attacker's key."""
    import base64
    import json
    import secrets
    import subprocess
    import tempfile
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    meta = json.loads(subprocess.run(["cryptsetup", "luksDump", "--dump-json-metadata", path],
                                     check=True, capture_output=True).stdout)
    seg = meta["segments"]["0"]
    ours = next(t for t in meta["tokens"].values() if t["type"] == "scratchcrypt")
    with open(path, "rb") as f:
        f.seek(MiB - 4096)
        claim = f.read(4096)
    key = secrets.token_bytes(64)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    hbi = {"type": "scratchcrypt-hbi", "keyslots": [], "format": 2, "kid": kid, "alg": "RSA-OAEP-256",
           "wrapped_key": b64(pub.encrypt(key, oaep)), "mac_alg": "HMAC-SHA256",
           "mac": b64(secrets.token_bytes(32)), "created": 1796400000}
    with tempfile.TemporaryDirectory() as d:
        kf = os.path.join(d, "vk")
        with open(kf, "wb") as f:
            f.write(key)
        subprocess.run(["cryptsetup", "luksFormat", "-q", "--type", "luks2", "--volume-key-file", kf,
                        "--key-size", "512", "--cipher", seg["encryption"],
                        "--sector-size", str(seg["sector_size"]), "--offset", str(int(seg["offset"]) // 512),
                        "--label", "scratchcrypt", "--subsystem", meta["config"].get("subsystem", "temp 0/1"),
                        "--luks2-metadata-size", "16k", "--luks2-keyslots-size", "512k",
                        "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", "-", path],
                       input=b"attacker", check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cryptsetup", "luksKillSlot", "-q", path, "0"], check=True, stdin=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for i, tok in enumerate((ours, hbi)):
            tf = os.path.join(d, f"t{i}.json")
            with open(tf, "w") as f:
                json.dump(tok, f)
            subprocess.run(["cryptsetup", "token", "import", "--json-file", tf, path], check=True)
    with open(path, "r+b") as f:
        f.seek(MiB - 4096)
        f.write(claim)
    return key


# The HBI token of format 1 (no mac) that the release before format 2 wrote,
# made from a disk's format-2 token in the guest.
TO_FORMAT1 = r"""
to_format1() {
	cryptsetup token export --token-id 1 $1 >/tmp/t.json || fail "$1: no HBI token"
	sed -e 's/,"mac_alg":"HMAC-SHA256","mac":"[^"]*"//' -e 's/"format":2/"format":1/' /tmp/t.json >/tmp/t1.json
	grep -q '"mac"' /tmp/t1.json && fail "the mac is still in the token"
	cryptsetup token remove --token-id 1 $1 && cryptsetup token import --token-id 1 --json-file /tmp/t1.json $1 ||
		fail "$1: cannot write the format-1 token"
}
"""


@scenario
def hbi_forged_header(build_dir):
    """HBI headers this node can prove it made: a header forged with the vault key's public half is refused (65) and left untouched; a format-1 header is adopted only while open."""
    import hashlib
    node = hbi_node(build_dir, "hbi_forged_header")
    ks = KeyService(node)
    try:
        node.boot(HBI_CONF + DEVICES + RESLINK + f"""
step "HBI start: this node makes and seals the headers"
expect_rc 0 scratchcrypt -v start
[ -s /var/lib/scratchcrypt/node.key ] || fail "no node key on the state disk"
echo "{MARKER}" >/mnt/scratch/marker.txt; sync
expect_rc 0 scratchcrypt stop --keep
""")
        kid, pub = vault_public_half(ks, "tempdisk")
        forge_hbi_header(node.path("resource.img"), pub, kid)
        with open(node.path("resource.img"), "rb") as f:
            forged = hashlib.sha256(f.read(MiB)).hexdigest()
        r = node.boot(HBI_CONF + DEVICES + RESLINK + TO_FORMAT1 + f"""
step "the forged header on the temp disk is refused; the scratch volume opens"
echo "SC-VALUE before=$(dd if=$RES bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
echo "SC-VALUE after=$(dd if=$RES bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "SC-BLOCK-BEGIN forged"; cat /tmp/err; echo "SC-BLOCK-END"
[ $rc = 65 ] || fail "start with a forged header exited $rc, expected 65"
dmsetup ls | grep -q 'scratchcrypt-temp\\b' && fail "the forged header was opened"
grep -q ' /mnt/resource ' /proc/mounts && fail "the forged volume was mounted"
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "the scratch volume lost its data"
{json_out("status", "scratchcrypt --json status")}
step "an open volume with format-1 tokens is adopted: sealed, and it opens after the reboot"
to_format1 $NA; to_format1 $NB
expect_rc 0 scratchcrypt adopt
cryptsetup token export --token-id 1 $NA | grep -q '"mac"' || fail "adopt did not seal the token"
expect_rc 0 scratchcrypt stop --keep
expect_rc 65 scratchcrypt start
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "the adopted volume lost its data"
step "a format-1 header that is not open is not trusted"
expect_rc 0 scratchcrypt stop --keep
to_format1 $NA; to_format1 $NB
rc=0; scratchcrypt adopt 2>/tmp/err || rc=$?
[ $rc = 65 ] || fail "adopt of a closed volume exited $rc, expected 65"
grep -q "is not open" /tmp/err || fail "no clear error: $(cat /tmp/err)"
rc=0; scratchcrypt start 2>/tmp/err || rc=$?
[ $rc = 65 ] || fail "start with closed format-1 headers exited $rc, expected 65"
grep -q "carries no proof that this node made it" /tmp/err || fail "no clear error: $(cat /tmp/err)"
dmsetup ls | grep -q scratchcrypt-scratch && fail "a format-1 header was opened"
step "stop shreds what was refused"
expect_rc 0 scratchcrypt stop
true
""")
        why = r.block("forged")
        check("was not made on this node" in why and "public" in why, f"the refusal does not say why: {why}")
        check(ks.token not in why, "the access token reached the log")
        temp = role_row(r.json("status"), "temp")
        check(temp["state"] != "encrypted", f"status claims the forged temp disk is encrypted: {temp}")
        print(f"  ok   forged header refused: {why.strip().splitlines()[0][:140]}")
        seen = [q["what"] for q in ks.log()["requests"]]
        print(f"  key service requests: {', '.join(seen)}")
        check(r.value("before") == forged and r.value("after") == forged,
              f"the forged header changed: host {forged}, guest {r.value('before')} -> {r.value('after')}")
        print("  ok   the forged header's first MiB is byte-identical after start")
        for f in DISKS:
            check(head_is_zero(node.path(f)), f"{f}: not shredded at the end")
    finally:
        ks.stop()


def old_release(build_dir):
    """The previous release's binary, built from this repository's history."""
    out = os.path.join(build_dir, "old-release")
    src = os.path.join(VM_DIR, "..", "..")
    rc = subprocess.run([os.path.join(VM_DIR, "mkoldrelease.sh"), src, OLD_RELEASE, out]).returncode
    if rc == 77:
        skip(f"the clone lacks the previous release {OLD_RELEASE[:12]} (shallow)")
    check(rc == 0, f"cannot build the previous release {OLD_RELEASE[:12]} (see {out})")
    return os.path.join(out, "scratchcrypt")


@scenario
def hbi_upgrade(build_dir):
    """The upgrade from 0.1.0 (format 1) with its real binary: an HBI volume open at the upgrade is adopted and keeps its data across the reboot; 0.1.0 refuses a format-2 header and leaves it untouched."""
    node = hbi_node(build_dir, "hbi_upgrade")
    node.files["/usr/sbin/scratchcrypt-0.1.0"] = old_release(build_dir)
    ks = KeyService(node)
    try:
        node.boot(HBI_CONF + DEVICES + RESLINK + f"""
step "0.1.0 sets the disks up in HBI mode (format 1) and data is written"
scratchcrypt-0.1.0 version | grep -q "scratchcrypt 0.1.0" || fail "not the 0.1.0 binary"
expect_rc 0 scratchcrypt-0.1.0 start
cryptsetup token export --token-id 1 $RES | grep -q '"format":1' || fail "0.1.0 did not write a format-1 token"
for m in /mnt/resource /mnt/scratch; do echo "{MARKER}" >$m/marker.txt; done; sync
step "the upgrade, volumes open: the package's postinst runs adopt"
expect_rc 0 scratchcrypt adopt
for d in $RES $NA $NB; do
	cryptsetup token export --token-id 1 $d | grep -q '"mac"' || fail "$d: adopt did not seal the token"
done
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "adopt touched the mounted data"
step "the reboot"
expect_rc 0 scratchcrypt stop --keep
""")
        r = node.boot(HBI_CONF + DEVICES + RESLINK + f"""
step "after the reboot the new release opens the adopted volumes, data intact"
expect_rc 0 scratchcrypt start
grep -q "{MARKER}" /mnt/resource/marker.txt || fail "the temp disk lost its data across the upgrade"
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "the scratch volume lost its data across the upgrade"
step "0.1.0 given a format-2 header refuses it and changes nothing"
expect_rc 0 scratchcrypt stop --keep
sums() {{ for d in $RES $NA $NB; do dd if=$d bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1; done | tr '\\n' ' '; }}
before=$(sums)
rc=0; scratchcrypt-0.1.0 start 2>/tmp/err || rc=$?
echo "SC-BLOCK-BEGIN old"; cat /tmp/err; echo "SC-BLOCK-END"
[ $rc = 65 ] || fail "0.1.0 with format-2 headers exited $rc, expected 65"
[ "$(sums)" = "$before" ] || fail "0.1.0 changed a format-2 disk"
dmsetup ls | grep -q scratchcrypt && fail "0.1.0 opened a format-2 volume"
step "the new release still opens them, then shreds"
expect_rc 0 scratchcrypt start
grep -q "{MARKER}" /mnt/scratch/marker.txt || fail "data lost after 0.1.0's refusal"
expect_rc 0 scratchcrypt stop
true
""")
        old = r.block("old")
        check("newer than this release reads (1)" in old, f"0.1.0's refusal does not name the format: {old}")
        print(f"  ok   0.1.0 refuses: {old.strip().splitlines()[0][:140]}")
        for f in DISKS:
            check(head_is_zero(node.path(f)), f"{f}: not shredded at the end")
    finally:
        ks.stop()


@scenario
def key_not_in_keyring(build_dir):
    """libcryptsetup unable to use the kernel keyring (an LD_PRELOAD turns its keyring request off): the key lands in the dm table, so start tears each mapping down right after activation, names it, and fails (69), leaving no crypt table and nothing mounted; with the keyring back, start converges."""
    node = standard_node(build_dir, "key_not_in_keyring", foreign=False)
    node.files["/usr/lib/sctest/nokeyring.so"] = os.path.join(build_dir, "tests", "nokeyring.so")
    r = node.boot(conf() + DEVICES + RESLINK + """
step "start with the keyring request turned off"
rc=0; LD_PRELOAD=/usr/lib/sctest/nokeyring.so scratchcrypt start 2>/tmp/e || rc=$?
echo "SC-VALUE rc=$rc"; echo "SC-BLOCK-BEGIN start"; cat /tmp/e; echo "SC-BLOCK-END"
echo "SC-VALUE crypt_tables=$(dmsetup table | grep -c ' crypt ')"
echo "SC-VALUE mounted=$(awk '$2 == "/mnt/resource" || $2 == "/mnt/scratch"' /proc/mounts | wc -l)"
step "with the keyring: start converges"
expect_rc 0 scratchcrypt -q start
dmsetup table | grep ' crypt ' | grep -q -v ':logon:' && fail "a crypt table without a keyring reference"
expect_rc 0 scratchcrypt -q stop
""")
    log = r.block("start")
    check(r.value("rc") == "69", f"start without the keyring exited {r.value('rc')}: {log}")
    check("holds the key itself, not a kernel keyring reference" in log and "torn down" in log,
          f"start did not name the hex key in the table: {log}")
    check(r.value("crypt_tables") == "0", f"{r.value('crypt_tables')} crypt tables left")
    check(r.value("mounted") == "0", "a volume was mounted without the keyring")
    print("  ok   a key in the dm table: torn down, 69, nothing left; with the keyring, start converges")
