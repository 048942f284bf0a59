# SPDX-License-Identifier: MIT
"""Starts kvemu.py, for the integration tests and the vm suite."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _die_with_parent():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def start(args, portfile):
    """kvemu.py with args, writing its ports to portfile: (process, IMDS port, Key Vault port)."""
    if os.path.exists(portfile):
        os.unlink(portfile)
    # It dies with the test that started it: a test that fails before it
    # stops the emulator must not leave it holding ctest's output open.
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "kvemu.py"), "--port-file", portfile,
                             *args], stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    # The emulator writes its ports once it listens; it either does so or exits.
    deadline = time.monotonic() + 120
    while not os.path.exists(portfile):
        if proc.poll() is not None:
            raise RuntimeError(f"the key service emulator exited with {proc.returncode}")
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError("the key service emulator did not start in 120 s")
        time.sleep(0.05)
    imds_port, kv_port = map(int, open(portfile).read().split())
    return proc, imds_port, kv_port
