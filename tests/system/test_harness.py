"""The harness itself: checks that make the other tests able to fail.

  test_wait_until_fails_fast   an AssertionError in a predicate fails at once;
                               other exceptions mean "not yet"; a vswitchd
                               that dies fails a wait at once, not at the
                               deadline
  test_orphan_watcher          a harness killed with SIGKILL leaves no
                               vswitchd behind: its watcher stops it
  test_orphan_reaper           the same with the watcher killed too: the
                               next run's reap_orphans() stops it
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

import vstest
from vstest import DaemonDied, VsTestCase, pid_alive, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))

# A harness in a subprocess: starts one detached vswitchd, prints
# "<daemon pid> <watcher pid> <EAL runtime dirs>", then waits to be killed.
CHILD = r"""
import sys, time
sys.path.insert(0, %r)
import vstest
d = vstest.Daemon()
d.start()
print(d.pid, d.watcher.pid, ",".join(sorted(d.dpdk_dirs)), flush=True)
time.sleep(3600)
"""


class HarnessTest(VsTestCase):

    def test_wait_until_fails_fast(self):
        def over():
            raise AssertionError("over-count")
        t0 = time.monotonic()
        with self.assertRaisesRegex(AssertionError, "over-count"):
            wait_until(over, 30, "never")
        self.assertLess(time.monotonic() - t0, 5)

        calls = []

        def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise KeyError("not yet")
            return "ok"
        self.assertEqual(wait_until(flaky, 10, "flaky"), "ok")

        d = self.daemon()
        os.kill(d.pid, signal.SIGKILL)
        t0 = time.monotonic()
        with self.assertRaises(DaemonDied):
            wait_until(lambda: False, 30, "something that never happens")
        self.assertLess(time.monotonic() - t0, 5)
        # Waiting for the exit itself still works.
        d2 = self.daemon()
        os.kill(d2.pid, signal.SIGTERM)
        wait_until(lambda: not d2.running(), 30, "vswitchd to exit")
        d2.kill()
        d.kill()

    def run_child_harness(self, orphans):
        env = dict(os.environ, VSTEST_ORPHAN_DIR=orphans)
        child = subprocess.Popen([sys.executable, "-c", CHILD % HERE],
                                 stdout=subprocess.PIPE, text=True, env=env,
                                 start_new_session=True)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        line = child.stdout.readline().split()
        self.assertEqual(len(line), 3, "child harness printed %r" % line)
        pid, watcher = int(line[0]), int(line[1])
        dirs = [x for x in line[2].split(",") if x]
        self.assertTrue(pid_alive(pid))
        self.assertTrue(os.path.exists(os.path.join(orphans, "%d.json" % pid)))

        def last_resort():          # If the test fails, do not leak it.
            for p in (pid, watcher):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.addCleanup(last_resort)
        return child, pid, watcher, dirs

    def test_orphan_watcher(self):
        orphans = tempfile.mkdtemp(prefix="vstest-orphans-")
        self._tmpdirs.append(orphans)
        child, pid, _watcher, dirs = self.run_child_harness(orphans)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        wait_until(lambda: not pid_alive(pid), 30,
                   "the watcher to stop vswitchd %d after its harness died" % pid)
        wait_until(lambda: not os.path.exists(os.path.join(orphans, "%d.json" % pid)),
                   10, "the orphan record to go")
        self.assertEqual([x for x in dirs if os.path.exists(x)], [],
                         "EAL runtime dirs left behind")

    def test_orphan_reaper(self):
        orphans = tempfile.mkdtemp(prefix="vstest-orphans-")
        self._tmpdirs.append(orphans)
        child, pid, watcher, dirs = self.run_child_harness(orphans)
        os.kill(watcher, signal.SIGKILL)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        time.sleep(0.5)
        self.assertTrue(pid_alive(pid), "nothing should have stopped it yet")
        saved = vstest.ORPHAN_DIR
        vstest.ORPHAN_DIR = orphans
        try:
            reaped = vstest.reap_orphans()
        finally:
            vstest.ORPHAN_DIR = saved
        self.assertEqual(reaped, [pid])
        self.assertFalse(pid_alive(pid))
        self.assertEqual(os.listdir(orphans), [])
        self.assertEqual([x for x in dirs if os.path.exists(x)], [],
                         "EAL runtime dirs left behind")
