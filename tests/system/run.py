#!/usr/bin/env python3
"""Runs the vswitch system tests.

    python3 tests/system/run.py --builddir BUILD [-k PATTERN] [-v] [--keep]

Discovers tests/system/test_*.py (unittest), runs them against
BUILD/vswitchd and BUILD/vsctl with dpdk-testpmd frontends, prints a
summary and exits 0 only if every test passed (and at least one ran).
A missing vswitchd, vsctl or dpdk-testpmd is a failure (exit 1), not a
skip: CI must not go green on a build that has no daemon.
"""

import argparse
import os
import shutil
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class TimedResult(unittest.TextTestResult):
    """Records how long each test took, for the summary."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.timings = []
        self._t0 = None

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        self.timings.append((test.id(), time.monotonic() - self._t0))
        super().stopTest(test)


def run_suite(test_dir, title, doc, keep_help, need=(), summary_note=""):
    """Parses the runner's command line, checks what the tests need, runs
    test_dir/test_*.py and prints a summary headed 'title'.

    need: extra (program, env override, what to install) requirements
    besides vswitchd, vsctl and dpdk-testpmd.  Returns the exit status: 0
    only if every test passed and at least one ran; 1 otherwise, including
    when something the tests need is missing (a failure, not a skip: CI
    must not go green on a build that has no daemon)."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--builddir", default=os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                       "build"),
                    help="CMake build directory holding vswitchd and vsctl")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only run tests whose id contains PATTERN (repeatable; "
                         "fnmatch wildcards allowed)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--failfast", action="store_true")
    ap.add_argument("--keep", action="store_true", help=keep_help)
    args = ap.parse_args()

    bdir = os.path.abspath(args.builddir)
    missing = [p for p in (os.path.join(bdir, "vswitchd"), os.path.join(bdir, "vsctl"))
               if not os.access(p, os.X_OK)]
    for prog, env, what in tuple(need) + (("dpdk-testpmd", "VSTEST_TESTPMD",
                                           "Debian package 'dpdk'"),):
        if not shutil.which(prog) and not os.environ.get(env):
            missing.append("%s (in PATH; %s)" % (prog, what))
    if missing:
        bar = "*" * 72
        sys.stderr.write("%s\n%s CANNOT RUN - missing:\n  %s\n"
                         "(utilities/install-deps.sh; cmake -S . -B %s && cmake --build %s)"
                         "\n%s\n" % (bar, title.upper(), "\n  ".join(missing), bdir, bdir, bar))
        return 1

    os.environ["VSWITCH_BUILDDIR"] = bdir
    if args.keep:
        os.environ["VSTEST_KEEP"] = "1"
    sys.path.insert(0, test_dir)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in args.patterns]
    suite = loader.discover(test_dir, pattern="test_*.py", top_level_dir=test_dir)

    runner = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult,
                                     failfast=args.failfast, stream=sys.stdout)
    t0 = time.monotonic()
    result = runner.run(suite)
    elapsed = time.monotonic() - t0

    failed = {t.id() for t, _ in result.failures + result.errors}
    failed |= {t.id() for t in getattr(result, "unexpectedSuccesses", [])}
    skipped = {t.id(): why for t, why in result.skipped}
    print("\n==== %s summary (%s) ====" % (title, bdir))
    for tid, secs in result.timings:
        status = "FAIL" if tid in failed else ("SKIP" if tid in skipped else "ok")
        print("  %-4s %6.1fs  %s" % (status, secs, tid))
    for t, why in result.skipped:
        print("  skipped %s: %s" % (t.id(), why))
    # setUpClass failures are reported as errors of a pseudo-test.
    timed = {tid for tid, _ in result.timings}
    for t, _ in result.errors:
        if t.id() not in timed:
            print("  FAIL %s" % t.id())
    print("%d run, %d failed, %d skipped in %.0fs%s"
          % (result.testsRun, len(failed), len(skipped), elapsed, summary_note))
    if result.testsRun == 0:
        print("no tests matched")
        return 1
    return 0 if result.wasSuccessful() else 1


def main():
    return run_suite(HERE, "system test", __doc__,
                     "keep each test's temp dir (logs, sockets, state)")


if __name__ == "__main__":
    sys.exit(main())
