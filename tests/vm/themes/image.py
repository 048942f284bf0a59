# SPDX-License-Identifier: MIT
"""The baked Debian image booted with systemd, on the firmware, through
cloud-init's Azure first boot (the slow suite)."""
import glob
import re
import os
import sys

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


def image(build_dir):
    """The Debian image of the host's suite baked by vm-images/debian/build-image.sh, with
    the test probes of tests/vm/image-overlay (made once per build tree)."""
    import shutil
    import subprocess
    here = VM_DIR
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


def package_disk(img, node):
    """An ext4 disk (serial SCPKG) holding the package the image was baked
    with."""
    import subprocess
    debs = glob.glob(os.path.join(img, "pkg-deb", "scratchcrypt_*_amd64.deb"))
    check(len(debs) == 1, f"the image's package: {debs}")
    d = node.path("pkg")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["cp", debs[0], d], check=True)
    subprocess.run(["truncate", "-s", "64M", node.path("pkg-src.img")], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", d, node.path("pkg-src.img")], check=True)
    node.add("virtio", "pkg.img", "SCPKG", source=node.path("pkg-src.img"))


def check_lifecycle(r):
    """The package's upgrade, remove, purge and reinstall on a live node, as
    the README says (Installing the package)."""
    v = lambda k: r.value(f"lc_{k}")  # noqa: E731
    logs = "\n".join(f"--- {f}\n{r.block('lc-' + f)[-600:]}" for f in ("upgrade", "remove", "purge", "reinstall"))
    check(v("watch_uid") not in ("", "0"), f"the Scheduled Events watcher runs as uid {v('watch_uid')!r}")
    for step in ("upgrade", "remove", "purge", "reinstall"):
        check(v(f"{step}_rc") == "0", f"dpkg {step} failed:\n{logs}")
    check(v("watch_restarted") == "yes", f"the upgrade did not restart the watcher:\n{logs}")
    check(v("mounts_upgrade") == "same", "the upgrade touched the mounted volumes")
    check(v("service_upgrade") == "active", f"after the upgrade scratchcrypt-online.service is {v('service_upgrade')}")
    check(v("mounts_remove") == "same" and v("keep_remove") == "lifecycle-data",
          "remove did not leave the running volumes as they were")
    check(v("watch_remove") in ("inactive", "failed") and v("socket_remove") in ("inactive", "failed"),
          f"after remove the watcher is {v('watch_remove')}, its socket {v('socket_remove')}")
    check("stay mounted until the next reboot" in r.block("lc-remove"), f"remove does not say so:\n{logs}")
    check("scratchcrypt.prom" in v("before_purge") and "node.key" in v("before_purge"),
          f"before the purge: {v('before_purge')!r}")
    check(v("left_after_purge") == "", f"purge left {v('left_after_purge')!r}")
    check(v("watch_reinstall") == "active" and v("mounts_reinstall") == "same"
          and v("keep_reinstall") == "lifecycle-data", f"the reinstall: watcher {v('watch_reinstall')}, "
          f"mounts {v('mounts_reinstall')}:\n{logs}")
    print("  ok   package lifecycle: upgrade restarts the watcher only; remove leaves the volumes and says so; "
          "purge leaves nothing; reinstall converges")


@scenario(suite="slow", timeout=1800)
def image_hbi_reboot(build_dir):
    """The baked image in HBI mode: a reboot reopens the disks with the data on them; then
    the package's upgrade, remove, purge and reinstall on the live node."""
    node, img = image_node(build_dir, "image_hbi_reboot", "hbi")
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "sctest.action=write")
        check_boot(r, "hbi")
        for f in DISKS:
            check(not contains(node.path(f), MARKER.encode()), f"{f}: plaintext after a shutdown")
        package_disk(img, node)
        r = node.boot_image(img, "sctest.action=lifecycle")
        check_boot(r, "hbi")
        check(r.value("had_marker") == "yes", "HBI data did not survive the reboot")
        check(not r.shows(ks.token), "the access token reached the console")
        check_lifecycle(r)
    finally:
        ks.stop()


def old_release_node(build_dir):
    """The baked image with the previous release's package in place of this
    build's, as a node that ran it would have (tools/suite-check.sh builds
    that package from the release's commit into BUILD/old-release-deb):
    this build's package purged and the old one installed in a copy of the
    image's tree, as the recipe installs its own, then the root made again."""
    import shutil
    import subprocess
    debs = glob.glob(os.path.join(build_dir, "old-release-deb", "scratchcrypt_*_amd64.deb"))
    if not debs:
        from vmlib import skip
        skip("no package of the previous release in old-release-deb (tools/suite-check.sh builds it)")
    img = image(build_dir)
    node = Node(build_dir, "image_hbi_upgrade")
    tree = node.path("rootfs")
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["cp", "-a", os.path.join(img, "rootfs"), tree], check=True)
    shutil.copy(debs[0], os.path.join(tree, "tmp", "old.deb"))
    mounts = []
    try:
        for d in ("proc", "sys", "dev"):
            subprocess.run(["mount", "--bind", f"/{d}", os.path.join(tree, d)], check=True)
            mounts.append(os.path.join(tree, d))
        out = subprocess.run(["chroot", tree, "env", "DEBIAN_FRONTEND=noninteractive", "sh", "-c",
                              "dpkg --purge scratchcrypt && dpkg -i /tmp/old.deb"],
                             capture_output=True, text=True)
        check(out.returncode == 0, f"cannot install the previous release's package:\n{out.stdout}{out.stderr}")
    finally:
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m])
    for leftover in ("tmp/old.deb", "run/udev", "run/scratchcrypt"):
        path = os.path.join(tree, leftover)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)
    with open(os.path.join(img, "root.uuid")) as f:
        uuid = f.read().strip()
    root = node.path("root.img")
    subprocess.run(["truncate", "-s", str(os.path.getsize(os.path.join(img, "root.img"))), root], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "root", "-U", uuid, "-d", tree, root], check=True)
    shutil.rmtree(tree)
    bake_config(root, "hbi")
    standin_cloud_init_rule(root)
    node.disks.append(("root", root, "SCROOT"))
    node.add("nvme", "nvme-a.img", "SCNVMEA")
    node.add("nvme", "nvme-b.img", "SCNVMEB")
    node.add("scsi", "resource.img", "SCRES", source=os.path.join(fixtures(build_dir), "resource.img"))
    return node, img


@scenario(suite="slow", timeout=1800)
def image_hbi_upgrade(build_dir):
    """The upgrade from the previous release (on-disk format 1) with packages:
    that release's package sets up HBI volumes at boot and data is written;
    this build's package is installed over it on the live node (its postinst
    seals the open volumes' headers); after a reboot the data is there."""
    node, img = old_release_node(build_dir)
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        package_disk(img, node)
        r = node.boot_image(img, "sctest.action=upgrade")
        v = r.value
        check(v("package").startswith("ii 0.1.0"), f"the node did not run the previous release: {v('package')!r}")
        check(v("state:scratchcrypt-online.service") == "active/success",
              f"the previous release did not set up HBI: {v('state:scratchcrypt-online.service')}\n{r.block('journal')}")
        check(v("up_wrote") == "yes", "no data was written on the previous release's volumes")
        log = r.block("up-log")
        check(v("up_rc") == "0", f"installing this build's package over it failed:\n{log}")
        check(not v("up_version").startswith("0.1.0"), f"still the previous release after the upgrade: {v('up_version')}")
        check(v("up_mounts") == "same", f"the upgrade touched the mounted volumes:\n{log}")
        check(v("up_marker") == "yes", "the data was not readable after the upgrade")
        check("sealed" in log, f"the postinst did not seal the open volumes' headers:\n{log}")
        r = node.boot_image(img, "sctest.action=none")
        check_boot(r, "hbi")
        check(r.value("had_marker") == "yes", f"HBI data did not survive the upgrade and reboot:\n{r.block('journal')}")
        check(not r.shows(ks.token), "the access token reached the console")
        print(f"  ok   {v('package')[3:]} -> {v('up_version')}: data kept across the upgrade and the reboot")
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


def second_kernel_disk(build_dir):
    """An ext4 image holding a real cloud-kernel package of the suite, of
    another version than the image's (apt-get download from the machine's
    own apt sources, as the image's debootstrap does), made once per build."""
    import subprocess
    out = os.path.join(build_dir, "vm-kernel2")
    disk = os.path.join(out, "kernel2.img")
    if os.path.exists(disk):
        return disk
    os.makedirs(os.path.join(out, "debs"), exist_ok=True)
    current = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], capture_output=True,
                             text=True, check=True).stdout
    current = {l.split(":", 1)[1].strip() for l in current.splitlines() if l.strip().startswith("Depends:")}
    found = subprocess.run(["apt-cache", "search", "--names-only", r"^linux-image-[0-9].*-cloud-amd64$"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    names = sorted({l.split(" ")[0] for l in found if l} - current,
                   key=lambda n: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", n)])
    check(names, f"the suite's archive has no cloud kernel besides {sorted(current)}")
    subprocess.run(["apt-get", "-o", "APT::Sandbox::User=root", "download", names[-1]], cwd=os.path.join(out, "debs"), check=True)
    subprocess.run(["truncate", "-s", "512M", disk + ".tmp"], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", os.path.join(out, "debs"), disk + ".tmp"], check=True)
    os.rename(disk + ".tmp", disk)
    return disk


def check_untouched(original, copy, what):
    """copy (the node's disk) holds the same bytes as original."""
    check(sha256(copy) == sha256(original), f"{what} was changed")


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
    kernel2 = second_kernel_disk(build_dir)
    node.add("virtio", "kernel2.img", "SCKERNEL2", source=kernel2)
    ks = KeyService(node, certs=os.path.join(img, "ca"))
    try:
        r = node.boot_image(img, "", uefi=True, timeout=1200)
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
        # A second kernel package installed with dpkg (its maintainer
        # scripts: initramfs-tools, zz-update-grub): every menu entry keeps
        # the serial console of /etc/default/grub.d.
        k2 = v("kernel2")
        check(v("kernel2_rc") == "0", f"installing {k2} failed:\n{r.block('kernel2-log')}")
        version = k2.removeprefix("linux-image-")
        linux = [l for l in r.block("grub-linux").splitlines() if l.strip()]
        check(any(f"vmlinuz-{version} " in l for l in linux),
              f"update-grub did not add {k2}:\n{r.block('grub-linux')}")
        check(linux and all("console=ttyS0,115200n8" in l for l in linux),
              f"a menu entry without the serial console after installing {k2}:\n{r.block('grub-linux')}")
        check_untouched(kernel2, node.path("kernel2.img"), "the disk holding the second kernel")
    finally:
        ks.stop()
