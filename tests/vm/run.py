#!/usr/bin/env python3
"""Runs the vswitch VM tests: QEMU guests attached to vswitchd.

    python3 tests/vm/run.py --builddir BUILD [-k PATTERN] [-v] [--keep]

Discovers tests/vm/test_*.py (unittest) and runs them against BUILD/vswitchd
and BUILD/vsctl with QEMU guests (TCG) built by utilities/vm-image.sh (the
image is cached in /var/cache/vswitch-vm; the first run downloads the
Debian packages it is made from).  Prints a summary and exits 0 only if
every test passed (and at least one ran).  A missing vswitchd, vsctl,
qemu-system-x86_64 or dpdk-testpmd is a failure, not a skip.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM = os.path.join(os.path.dirname(HERE), "system")
sys.path.insert(0, SYSTEM)

from run import run_suite  # noqa: E402  tests/system/run.py


def main():
    return run_suite(HERE, "VM test", __doc__,
                     "keep the temp dir (vswitchd log, guest consoles, QEMU logs)",
                     need=(("qemu-system-x86_64", "VMTEST_QEMU",
                            "Debian package 'qemu-system-x86'"),),
                     summary_note=" (guest boots included)")


if __name__ == "__main__":
    sys.exit(main())
