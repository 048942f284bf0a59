# SPDX-License-Identifier: MIT
"""HBI mode: a Microsoft-managed key in Key Vault; reboots, rewrap, secrets
in memory, failing closed, hostile key services."""
import glob
import os
import sys

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


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

