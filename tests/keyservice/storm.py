#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fleet's boot storm: NODES HBI nodes start at once against one vault.

    storm.py KFSTORM [--nodes N] [--disks D] [--throttle T] [--cap S] [--out DIR]

The emulator throttles as Key Vault documents (T transactions per 10-second
window per vault, then 429 with Retry-After; a 429 does not count; RSA-2048
keys: 2000 for HSM keys, 4000 for software keys), on loopback. kfstorm runs
each node in a thread with scratchcrypt's own key-service code: an IMDS
token, get key, a wrap per disk. Passes when every node has its keys within
the retry cap and all requests together stay within 1.3 times the minimum
(one token, one get and D wraps per node). Writes storm.csv and a plot of
the completion times (gnuplot) to DIR.
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emulator  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def plot(times, png, title):
    if not shutil.which("gnuplot"):
        print("storm: no gnuplot (apt-get install gnuplot-nox): no plot")
        return
    dat = png + ".dat"
    with open(dat, "w") as f:
        for i, t in enumerate(sorted(times)):
            f.write(f"{t:.3f} {100.0 * (i + 1) / len(times):.2f}\n")
    script = f"""set terminal pngcairo size 800,500
set output '{png}'
set title '{title}'
set xlabel 'seconds from the common start until the node had its keys'
set ylabel 'nodes done (%)'; set yrange [0:100]; set grid
plot '{dat}' using 1:2 with steps linewidth 2 notitle
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    os.unlink(dat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kfstorm")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--disks", type=int, default=2, help="wraps per node (one per disk)")
    ap.add_argument("--throttle", type=int, default=2000,
                    help="transactions per 10 s window (default: Key Vault's RSA-2048 HSM keys)")
    ap.add_argument("--cap", type=int, default=90, help="retry_cap_s")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not shutil.which("openssl"):
        print("SKIP: openssl is not installed")
        return 77
    tmp = tempfile.mkdtemp()
    subprocess.run([os.path.join(HERE, "mkcerts.sh"), tmp, "localhost"], check=True,
                   stdout=subprocess.DEVNULL)
    proc, imds_port, kv_port = emulator.start(
        ["--tls-cert", f"{tmp}/server.pem", "--tls-key", f"{tmp}/server.key", "--key", "tempdisk",
         "--throttle", str(a.throttle)], os.path.join(tmp, "ports"))
    try:
        run = subprocess.run([a.kfstorm, f"http://127.0.0.1:{imds_port}", f"https://localhost:{kv_port}",
                              f"{tmp}/ca.pem", str(a.cap), "tempdisk", str(a.nodes), str(a.disks)],
                             capture_output=True, text=True, timeout=a.cap + 300)
        log = json.load(urllib.request.urlopen(f"http://127.0.0.1:{imds_port}/_emu/log"))["requests"]
    finally:
        proc.terminate()
        proc.wait()
    times, errors = [], []
    for line in run.stdout.splitlines():
        f = line.split()
        if f[:1] == ["NODE"]:
            times.append(float(f[3]))
            if f[2] != "ok":
                errors.append(line)
    seen = collections.Counter((r["service"], r["status"]) for r in log)
    total = sum(seen.values())
    minimum = a.nodes * (2 + a.disks)
    throttled = seen[("kv", 429)]
    print(f"storm: {a.nodes} nodes, {a.disks} wraps each, Key Vault at {a.throttle} per 10 s")
    print(f"  done: {len(times) - len(errors)} of {a.nodes}; slowest {max(times):.1f} s, "
          f"median {sorted(times)[len(times) // 2]:.1f} s (retry cap {a.cap} s)")
    print(f"  requests: {total} for a minimum of {minimum} ({total / minimum:.2f} times), "
          f"{throttled} answered 429")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "storm.csv"), "w") as f:
            f.write("node,seconds\n")
            for i, t in enumerate(times):
                f.write(f"{i},{t:.3f}\n")
        plot(times, os.path.join(a.out, "storm.png"),
             f"{a.nodes} HBI nodes at once, Key Vault throttled at {a.throttle} per 10 s")
    bad = []
    if run.returncode not in (0, 1):  # 1: some node failed, reported below
        bad.append(f"kfstorm exited {run.returncode}: {run.stderr[-1000:]}")
    if len(times) != a.nodes or errors:
        bad.append(f"{len(errors)} nodes failed, {a.nodes - len(times)} never reported: "
                   + "; ".join(errors[:3]) + run.stderr[-500:])
    if times and max(times) > a.cap:
        bad.append(f"a node took {max(times):.1f} s, more than the retry cap {a.cap} s")
    if total > 1.3 * minimum:
        bad.append(f"{total} requests, more than 1.3 times the minimum {minimum}")
    for b in bad:
        print("FAIL storm: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
