"""vswitchd's counters through DPDK telemetry (Documentation/monitoring.md).

The stock client, dpdk-telemetry.py (Debian package 'dpdk'), connects to
vswitchd's telemetry socket /var/run/dpdk/vswitchd-HASH/dpdk_telemetry.v2
(HASH: FNV-1a of the --rundir, as EAL's --file-prefix) and runs the
/vswitch/... commands, which must report what `vsctl port-stats`,
`pmd-stats-show` and `fdb-show` report.

  test_a_counters_match_vsctl   known traffic (known_traffic.py): every
                                counter of every port, the PMD and FDB
                                counters agree with vsctl and with the
                                exact counts sent
  test_b_socket_and_errors      the documented socket path; commands with
                                bad parameters answer null; the command
                                list and help; a dpdk port's own counters;
                                deleted ports disappear
  test_c_requests_under_churn   several telemetry clients querying while
                                ports are added and removed: every answer
                                well-formed, the daemon unharmed
  test_d_main_thread_busy       while the main thread is stuck (an
                                LD_PRELOAD shim holds it inside
                                rte_eth_stats_get), a telemetry request
                                answers null after its timeout, with a
                                warning; afterwards everything is answered
"""

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

import known_traffic
from vstest import VsTestCase, add_bridge, wait_until

TELEMETRY_PY = shutil.which("dpdk-telemetry.py") or "/usr/bin/dpdk-telemetry.py"
TIMEOUT = 60

# Holds the caller of rte_eth_stats_get() (vswitchd's main thread, reading a
# dpdk port's counters) while the file $VSTEST_HOLD_STATS exists; creates
# $VSTEST_HOLD_STATS.held while it does.
HOLD_SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct rte_eth_stats;

int
rte_eth_stats_get(uint16_t port_id, struct rte_eth_stats *stats)
{
    static int (*real)(uint16_t, struct rte_eth_stats *);
    const char *flag = getenv("VSTEST_HOLD_STATS");
    char held[4096];

    if (!real) {
        real = (int (*)(uint16_t, struct rte_eth_stats *))
               dlsym(RTLD_NEXT, "rte_eth_stats_get");
    }
    if (flag && !access(flag, F_OK)) {
        snprintf(held, sizeof held, "%s.held", flag);
        close(open(held, O_CREAT | O_WRONLY, 0600));
        while (!access(flag, F_OK)) {
            usleep(10000);
        }
        unlink(held);
    }
    return real(port_id, stats);
}
"""


def fnv1a(s):
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def file_prefix(d):
    """The EAL --file-prefix vswitchd picks for daemon 'd'."""
    return "vswitchd-%08x" % fnv1a(d.rundir)


def socket_path(d):
    return os.path.join("/var/run/dpdk", file_prefix(d), "dpdk_telemetry.v2")


def telemetry_py(d, *cmds):
    """Runs dpdk-telemetry.py -f PREFIX with 'cmds' on stdin; returns the
    value of each answer (the object's only member), in order."""
    r = subprocess.run([TELEMETRY_PY, "-f", file_prefix(d)], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True, timeout=TIMEOUT)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or len(lines) != len(cmds):
        raise AssertionError("dpdk-telemetry.py exited %d with %d answers for %d "
                             "commands\nstdout: %s\nstderr: %s"
                             % (r.returncode, len(lines), len(cmds), r.stdout, r.stderr))
    out = []
    for cmd, line in zip(cmds, lines):
        answer = json.loads(line)
        key = cmd.split(",")[0]
        if list(answer) != [key]:
            raise AssertionError("answer to %s: %r" % (cmd, answer))
        out.append(answer[key])
    return out


class TelemetryClient:
    """A raw client of the telemetry socket (what dpdk-telemetry.py does):
    SOCK_SEQPACKET, the server first sends an info object, then one answer
    per command."""

    def __init__(self, path, timeout=TIMEOUT):
        # DPDK listens with a backlog of 1 and accepts one client at a
        # time: a connect racing another one gets EAGAIN, try again.
        def connect():
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                return True
            except BlockingIOError:
                self.sock.close()
                return False
        wait_until(connect, timeout, "connection to " + path)
        info = json.loads(self.sock.recv(65536).decode())
        self.max_len = info["max_output_len"]

    def query(self, cmd):
        self.sock.send(cmd.encode())
        answer = json.loads(self.sock.recv(self.max_len).decode())
        return answer[cmd.split(",")[0]]

    def close(self):
        self.sock.close()


class TelemetryTest(VsTestCase):

    def test_a_counters_match_vsctl(self):
        d = self.daemon()
        _, _, expected = known_traffic.run(self, d)
        names = list(known_traffic.PORTS)

        cmds = ["/vswitch/ports", "/vswitch/bridges", "/vswitch/pmds", "/vswitch/pmd,0",
                "/vswitch/fdb,br0"] + ["/vswitch/port," + p for p in names]

        # The frontends are quiet: port, FDB and PMD packet counters stand
        # still, so vsctl before and after the telemetry call must agree
        # with it exactly (cycles and iterations keep running: in between).
        def agree():
            before = (d.all_port_stats(), d.pmd_stats(), d.vsctl_json("fdb-show", "br0"))
            tel = telemetry_py(d, *cmds)
            after = (d.all_port_stats(), d.pmd_stats(), d.vsctl_json("fdb-show", "br0"))
            if before[0] != after[0] or before[2]["stats"] != after[2]["stats"]:
                return False
            return before, tel, after
        before, tel, after = wait_until(agree, TIMEOUT, "quiet counters")
        ports, bridges, pmds, pmd0, fdb = tel[:5]
        per_port = dict(zip(names, tel[5:]))
        stats, pmd_before, fdb_show = before
        pmd_after = after[1]

        self.assertEqual(ports, names)
        self.assertEqual(bridges, ["br0"])
        for p in names:
            want = dict(stats[p], bridge="br0", type="vhost-user")
            self.assertEqual(per_port[p], want, "/vswitch/port,%s vs port-stats" % p)
            for key, value in expected[p].items():
                self.assertEqual(per_port[p][key], value, "%s %s" % (p, key))
        # Every drop reason of port.stats is there (not only the non-zero).
        self.assertIn("tx_dropped_ring_full", per_port["vhu0"])
        self.assertIn("rx_dropped_vlan", per_port["vhu0"])

        self.assertEqual(fdb, dict(fdb_show["stats"], bridge="br0"))
        self.assertEqual((fdb["entries"], fdb["learned"]), (2, 2))

        # PMD counters: one array per counter, indexed by PMD.
        n_pmds = len(pmd_before["pmds"])
        self.assertEqual(n_pmds, 1)
        for key in ("pmd", "core", "rx_packets", "tx_packets"):
            self.assertEqual(pmds[key], [p[key] for p in pmd_before["pmds"]], key)
            self.assertEqual(pmd0[key], pmd_before["pmds"][0][key], key)
        for key in ("iterations", "busy_cycles", "idle_cycles"):
            lo, hi = pmd_before["pmds"][0][key], pmd_after["pmds"][0][key]
            self.assertTrue(lo <= pmds[key][0] <= hi, "%s %r not in [%d, %d]"
                            % (key, pmds[key], lo, hi))
            self.assertTrue(lo <= pmd0[key] <= hi, key)
        sent = known_traffic.N_FLOOD + known_traffic.N_UNICAST
        self.assertEqual(pmd0["rx_packets"], sent)
        self.assertEqual(pmds["mbufs_total"], pmd_before["mbufs"]["total"])

        # port-stats-clear resets what telemetry reports too.
        d.vsctl("port-stats-clear", "vhu1")
        (vhu1,) = telemetry_py(d, "/vswitch/port,vhu1")
        self.assertEqual((vhu1["rx_packets"], vhu1["tx_packets"]), (0, 0))

    def test_b_socket_and_errors(self):
        d = self.daemon()
        add_bridge(d, ("vhu0",))
        path = socket_path(d)
        self.assertTrue(os.path.exists(path), "no telemetry socket at %s" % path)
        self.assertIn(os.path.dirname(os.path.realpath(path)),
                      {os.path.realpath(x) for x in d.dpdk_dirs})

        answers = telemetry_py(d, "/vswitch/port,nosuchport", "/vswitch/port",
                               "/vswitch/fdb,nosuchbridge", "/vswitch/fdb",
                               "/vswitch/pmd,1", "/vswitch/pmd,x", "/vswitch/pmd,-1",
                               "/vswitch/ports,extra", "/vswitch/port,vhu0", "/",
                               "/help,/vswitch/port")
        self.assertEqual(answers[:8], [None] * 8)
        self.assertEqual(answers[8]["name"], "vhu0")
        self.assertEqual(answers[8]["rx_packets"], 0)
        for cmd in ("/vswitch/ports", "/vswitch/port", "/vswitch/bridges", "/vswitch/fdb",
                    "/vswitch/pmds", "/vswitch/pmd"):
            self.assertIn(cmd, answers[9])
        self.assertIn("port name", answers[10]["/vswitch/port"])

        # A dpdk port's own counters are there too, as in port-stats.
        d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=net_null0,no-rx=1")
        (null0,) = telemetry_py(d, "/vswitch/port,null0")
        self.assertEqual(null0, dict(d.port_stats("null0"), bridge="br0", type="dpdk"))
        self.assertIn("rx_missed", null0)

        # A deleted port is gone from telemetry at once.
        d.vsctl("del-port", "vhu0")
        d.vsctl("del-port", "null0")
        self.assertEqual(telemetry_py(d, "/vswitch/ports", "/vswitch/port,vhu0"),
                         [[], None])

    def test_c_requests_under_churn(self):
        d = self.daemon()
        add_bridge(d, ("vhu0",))
        path = socket_path(d)
        stop = threading.Event()
        errors = []
        answered = [0]
        lock = threading.Lock()

        def client():
            try:
                c = TelemetryClient(path)
                try:
                    while not stop.is_set():
                        ports = c.query("/vswitch/ports")
                        assert isinstance(ports, list) and "vhu0" in ports, ports
                        for p in ports:
                            st = c.query("/vswitch/port," + p)
                            # Gone in between: null; else a full answer.
                            assert st is None or (st["name"] == p and
                                                  "tx_dropped_link_down" in st), st
                        pmds = c.query("/vswitch/pmds")
                        assert len(pmds["pmd"]) == 1, pmds
                        fdb = c.query("/vswitch/fdb,br0")
                        assert fdb["bridge"] == "br0", fdb
                        with lock:
                            answered[0] += 1
                finally:
                    c.close()
            except Exception as e:      # reported by the main thread
                errors.append(repr(e))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for i in range(15):
                d.vsctl("add-port", "br0", "churn%d" % (i % 3), "type=vhost-user")
                d.vsctl("set-port", "churn%d" % (i % 3), "vlan=%d" % (i + 1))
                d.vsctl("del-port", "churn%d" % (i % 3))
                if errors:
                    break
            wait_until(lambda: errors or answered[0] >= 30, TIMEOUT,
                       "30 rounds of telemetry queries")
        finally:
            stop.set()
            for t in threads:
                t.join(TIMEOUT)
        self.assertEqual(errors, [])
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertEqual(telemetry_py(d, "/vswitch/ports"), [["vhu0"]])
        d.vsctl("port-stats")

    def test_d_main_thread_busy(self):
        d = self.daemon(start=False)
        work = d.workdir
        src, so = os.path.join(work, "hold.c"), os.path.join(work, "hold.so")
        with open(src, "w") as f:
            f.write(HOLD_SHIM_C)
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"],
                       check=True)
        # ASan must come first in the library list of an ASan build.
        ldd = subprocess.run(["ldd", d.vswitchd_bin], capture_output=True,
                             text=True).stdout
        m = re.search(r"libasan\.so\S* => (\S+)", ldd)
        flag = os.path.join(work, "hold")
        d.env = {"LD_PRELOAD": "%s:%s" % (m.group(1), so) if m else so,
                 "VSTEST_HOLD_STATS": flag}
        d.start()
        add_bridge(d, ("vhu0",))
        d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=net_null0,no-rx=1")
        path = socket_path(d)

        # Hold the main thread inside a port-stats of the dpdk port.
        open(flag, "w").close()
        vsctl = subprocess.Popen([d.vsctl_bin, "--socket", d.sock, "--timeout", "120",
                                  "port-stats", "null0"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: os.path.exists(flag + ".held"), TIMEOUT,
                       "main thread held in rte_eth_stats_get")
            c = TelemetryClient(path)
            try:
                self.assertIsNone(c.query("/vswitch/ports"))
                wait_until(lambda: "/vswitch/ports: no answer from the main thread"
                           in open(d.log).read(), TIMEOUT, "timeout warning")
            finally:
                c.close()
            self.assertIsNone(vsctl.poll(), "port-stats returned while held")
        finally:
            os.unlink(flag)
            out, err = vsctl.communicate(timeout=TIMEOUT)
        self.assertEqual(vsctl.returncode, 0, err)
        self.assertIn("null0", out)

        # The request that timed out was withdrawn; new ones are answered.
        self.assertEqual(telemetry_py(d, "/vswitch/ports"), [["vhu0", "null0"]])
        (null0,) = telemetry_py(d, "/vswitch/port,null0")
        self.assertEqual(null0, dict(d.port_stats("null0"), bridge="br0", type="dpdk"))


if __name__ == "__main__":
    unittest.main()
