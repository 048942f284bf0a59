# SPDX-License-Identifier: MIT
"""What the themes share: the node configuration, the standard node, the
scenario registry (@scenario: the one list ctest reads) and the key service."""
import glob
import os
import sys

# tests/vm, where the fixtures' scripts and the image overlay are.
VM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
mount_state
echo "SC-VALUE NA=$NA"; echo "SC-VALUE NB=$NB"; echo "SC-VALUE RES=$RES"
"""

# The link WALinuxAgent's udev rules make on Azure.
RESLINK = "mkdir -p /dev/disk/azure && ln -sf ../../${RES#/dev/} /dev/disk/azure/resource\n"

# A line that must never reach a backing image in plaintext.
MARKER = "scratchcrypt-plaintext-marker-7f3a9c1e"


def standard_node(build_dir, name, foreign=True, keep=False, state=False):
    """state: a disk for /var/lib/scratchcrypt that outlives the node's
    reboots (the HBI node key), as the OS disk does on a real node."""
    fx = fixtures(build_dir)
    node = Node(build_dir, name, keep=keep)
    node.add("virtio", "os.img", "SCOS", source=os.path.join(fx, "os.img"))
    if state:
        node.add("virtio", "state.img", "SCSTATE", source=os.path.join(fx, "state.img"))
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


class KeyService:
    """The Key Vault and IMDS emulator on host loopback, reached from the
    guest through QEMU forwards at 169.254.169.254 (IMDS) and
    169.254.169.100 (scvault.vault.azure.net)."""
    VAULT = "https://scvault.vault.azure.net"

    def __init__(self, node, *args, certs=None):
        import secrets
        import subprocess
        keyservice = os.path.join(VM_DIR, "..", "keyservice")
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
    node.add("virtio", "state.img", "SCSTATE", source=os.path.join(fx, "state.img"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-b.img", "SCNVMEB")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fx, "resource.img"))
    return node


DISKS = ("nvme-a.img", "nvme-b.img", "resource.img")
