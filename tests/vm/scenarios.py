#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vm scenarios. Usage: scenarios.py --build-dir DIR SCENARIO | --list
Exit codes: 0 pass, 1 fail, 77 skipped (qemu or the kernel is missing).
The scenarios live in themes/, one module per theme; each registers itself
with @scenario (themes/common.py), the one list ctest reads (--list)."""
import argparse
import os
import sys

from themes import basic, crash, faults, hbi, trust, events, image  # noqa: F401 (they register their scenarios)
from themes.common import SCENARIOS
from vmlib import Failure, free_space_note, remove_work


def main():
    ap = argparse.ArgumentParser()
    if sys.argv[1:] == ["--list"]:
        # "NAME SUITE TIMEOUT", one per line, for ctest.
        for name, fn in sorted(SCENARIOS.items(), key=lambda kv: kv[1].suite != "vm"):
            if fn.suite:
                print(name, fn.suite, fn.timeout)
        return 0
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    a = ap.parse_args()
    print(f"scenario {a.scenario}: {SCENARIOS[a.scenario].__doc__.splitlines()[0]}")
    build_dir = os.path.abspath(a.build_dir)
    try:
        SCENARIOS[a.scenario](build_dir)
    except Failure as e:
        print(f"FAIL {a.scenario}: {e}{free_space_note(build_dir)}")
        return 1
    except Exception:
        print(f"FAIL {a.scenario}:{free_space_note(build_dir)}")
        raise
    remove_work()
    print(f"PASS {a.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

