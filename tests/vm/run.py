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

import argparse
import os
import shutil
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM = os.path.join(os.path.dirname(HERE), "system")
sys.path.insert(0, SYSTEM)

from run import TimedResult  # noqa: E402  tests/system/run.py


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builddir", default=os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                       "build"),
                    help="CMake build directory holding vswitchd and vsctl")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only run tests whose id contains PATTERN (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--failfast", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (vswitchd log, guest consoles, QEMU logs)")
    args = ap.parse_args()

    bdir = os.path.abspath(args.builddir)
    missing = [p for p in (os.path.join(bdir, "vswitchd"), os.path.join(bdir, "vsctl"))
               if not os.access(p, os.X_OK)]
    if not shutil.which("qemu-system-x86_64") and not os.environ.get("VMTEST_QEMU"):
        missing.append("qemu-system-x86_64 (Debian package 'qemu-system-x86')")
    if not shutil.which("dpdk-testpmd") and not os.environ.get("VSTEST_TESTPMD"):
        missing.append("dpdk-testpmd (in PATH; Debian package 'dpdk')")
    if missing:
        bar = "*" * 72
        sys.stderr.write("%s\nVM TESTS CANNOT RUN - missing:\n  %s\n"
                         "(utilities/install-deps.sh; cmake -S . -B %s && cmake --build %s)"
                         "\n%s\n" % (bar, "\n  ".join(missing), bdir, bdir, bar))
        return 1

    os.environ["VSWITCH_BUILDDIR"] = bdir
    if args.keep:
        os.environ["VSTEST_KEEP"] = "1"
    sys.path.insert(0, HERE)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)

    runner = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult,
                                     failfast=args.failfast, stream=sys.stdout)
    t0 = time.monotonic()
    result = runner.run(suite)
    elapsed = time.monotonic() - t0

    failed = {t.id() for t, _ in result.failures + result.errors}
    skipped = {t.id(): why for t, why in result.skipped}
    print("\n==== VM test summary (%s) ====" % bdir)
    for tid, secs in result.timings:
        status = "FAIL" if tid in failed else ("SKIP" if tid in skipped else "ok")
        print("  %-4s %6.1fs  %s" % (status, secs, tid))
    for t, why in result.skipped:
        print("  skipped %s: %s" % (t.id(), why))
    # setUpClass failures are reported as errors of a pseudo-test.
    for t, _ in result.errors:
        if t.id() not in {tid for tid, _ in result.timings}:
            print("  FAIL %s" % t.id())
    print("%d run, %d failed, %d skipped in %.0fs (guest boots included)"
          % (result.testsRun, len(failed), len(skipped), elapsed))
    if result.testsRun == 0:
        print("no tests matched")
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
