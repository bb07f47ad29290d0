"""utilities/vswitch-bench, in its smoke form.

  test_bench_smoke     one short V2V scenario on 4 KiB pages (--no-huge),
                       vswitchd and the limit loop only (no OVS install):
                       exit 0, a well-formed table and JSON with positive
                       rates and cycles per packet, and nothing left behind
                       (processes, DPDK runtime dirs).  Never asserts on
                       speed: the benchmark is not a test of it.
  test_bench_usage     bad options are usage errors (exit 2) with a message
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import vstest

BENCH = os.path.join(vstest.REPO, "utilities", "vswitch-bench")


def processes_mentioning(text):
    """Pids of running processes whose command line contains 'text'."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                if text.encode() in f.read():
                    pids.append(int(d[6:]))
        except OSError:
            pass
    return [p for p in pids if p != os.getpid() and vstest.pid_alive(p)]


class BenchTest(unittest.TestCase):

    def test_bench_smoke(self):
        with tempfile.TemporaryDirectory(prefix="vstest-bench.") as tmp:
            work = os.path.join(tmp, "work")
            out_json = os.path.join(tmp, "bench.json")
            p = subprocess.Popen(
                [sys.executable, BENCH, "--no-huge", "--scenarios", "v2v",
                 "--rounds", "1", "--warmup", "1", "--duration", "1",
                 "--builddir", vstest.builddir(), "--workdir", work,
                 "--json", out_json],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                out, err = p.communicate(timeout=120)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            msg = "stdout:\n%s\nstderr:\n%s" % (out, err)
            self.assertEqual(p.returncode, 0, msg)

            # Two tables: the results, then issue 9's targets.
            tables = out.strip().split("\n\n")
            self.assertEqual(len(tables), 2, msg)
            targets = tables[1].splitlines()
            self.assertEqual(targets[0], "| target (issue 9) | this run | holds |", msg)
            self.assertIn("| V2V Mpps >= 0.95x the limit loop | ", tables[1])
            # The results: header, separator, one row per peer.
            lines = tables[0].splitlines()
            self.assertGreaterEqual(len(lines), 4, msg)
            header = [c.strip() for c in lines[0].strip("|").split("|")]
            self.assertEqual(header[:5], ["scenario", "peer", "Mpps", "min-max", "cyc/pkt"],
                             msg)
            self.assertRegex(lines[1], r"^\|[-|]+\|$")
            rows = {}
            for line in lines[2:]:
                cells = [c.strip() for c in line.strip("|").split("|")]
                self.assertEqual(len(cells), len(header), line)
                rows[(cells[0], cells[1])] = cells
            self.assertEqual(set(rows), {("v2v", "vswitch"), ("v2v", "limit")}, msg)
            for key, cells in rows.items():
                self.assertGreater(float(cells[2]), 0, cells)
                self.assertRegex(cells[3], r"^\d+\.\d{3}-\d+\.\d{3}$")
                self.assertGreater(float(cells[4]), 0, cells)
            self.assertRegex(rows[("v2v", "vswitch")][7], r"^\d+\.\d\dx$")

            # The JSON.
            with open(out_json) as f:
                doc = json.load(f)
            self.assertEqual(doc["tool"], "vswitch-bench")
            self.assertEqual(doc["config"]["peers"], ["vswitch", "limit"])
            self.assertFalse(doc["config"]["hugepages"])
            self.assertIn("kernel", doc["machine"])
            self.assertEqual([s["name"] for s in doc["scenarios"]], ["v2v"])
            sc = doc["scenarios"][0]
            self.assertEqual(sc["frame_bytes"], 64)
            self.assertEqual(set(sc["peers"]), {"vswitch", "limit"})
            for name, pe in sc["peers"].items():
                self.assertNotIn("na", pe, name)
                self.assertEqual(len(pe["rounds"]), 1, pe)
                self.assertGreater(pe["mpps"], 0, pe)
                self.assertEqual(pe["mpps"], pe["rounds"][0]["mpps"])
                self.assertGreater(pe["cycles_per_packet"], 0, pe)
                self.assertGreater(pe["memory_idle"]["rss_kib"], 0, pe)
            self.assertTrue(any(t["target"] == "V2V Mpps >= 0.95x the limit loop"
                                and t["value"] > 0 for t in doc["targets"]))
            self.assertAlmostEqual(sc["vswitch_ratios"]["mpps_vs_limit"],
                                   sc["peers"]["vswitch"]["mpps"]
                                   / sc["peers"]["limit"]["mpps"])

            # Nothing left running or lying around.
            self.assertEqual(processes_mentioning(work), [], "leftover processes")
            self.assertEqual(glob.glob("/run/dpdk/vsbench-%d-*" % p.pid)
                             + glob.glob("/var/run/dpdk/vsbench-%d-*" % p.pid), [])
            logs = glob.glob(os.path.join(work, "*"))
            self.assertTrue(logs, "no logs kept in --workdir")

    def test_bench_usage(self):
        for args, what in ((["--peers", "nosuch"], "unknown peer"),
                           (["--scenarios", "nosuch"], "unknown scenario"),
                           (["--switch-core", "1", "--gen-core", "1"], "must differ")):
            r = subprocess.run([sys.executable, BENCH] + args, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(what, r.stderr)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
