"""The Prometheus metrics endpoint, --metrics-addr HOST:PORT
(Documentation/monitoring.md).

The page is parsed with the Prometheus text-format parser of
prometheus_client (Debian package python3-prometheus-client) and must
report what `vsctl port-stats`, `pmd-stats-show` and `fdb-show` report.

  test_a_counters_match_vsctl  known traffic (known_traffic.py): every port
                               counter and drop reason, PMD and FDB counters
                               agree with vsctl and with the exact counts
                               sent; HELP and TYPE for every family; the
                               OpenMetrics page Prometheus asks for passes
                               the strict OpenMetrics parser and agrees
  test_b_http_errors           404 for other paths, 405 for other methods,
                               HEAD, the content type; garbage, idle and
                               stalled clients block nobody and are closed
  test_c_bad_addresses         malformed or unresolvable --metrics-addr:
                               exit 2 with a message; a port in use: exit 1
                               with a message; no listening socket without
                               the option
  test_d_port_type_counters    a dpdk port's own counters (rx_missed, ...)
                               as vswitch_port_<name>_total, for that port
                               only; a deleted port leaves the page
"""

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import unittest

try:
    import prometheus_client  # noqa: F401
except ImportError:
    # python3 may be another interpreter than Debian's (e.g. pyenv's).
    sys.path.append("/usr/lib/python3/dist-packages")
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics import parser as openmetrics_parser

import known_traffic
from vstest import Daemon, VsTestCase, add_bridge, wait_until

TIMEOUT = 60


def free_port():
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What Prometheus 2.x sends.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def http_request(port, method="GET", path="/metrics", host="127.0.0.1", headers=None):
    """Returns (status, headers dict with lower-case names, body text)."""
    c = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read().decode()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def scrape(port):
    """{family name: Metric} of one scrape in the text format 0.0.4 (the
    parser strips _total from counter family names), and the page."""
    status, headers, body = http_request(port)
    assert status == 200, (status, body)
    return {m.name: m for m in text_string_to_metric_families(body)}, body


def scrape_openmetrics(port):
    """The same, asking for OpenMetrics as Prometheus does; parsed with the
    strict OpenMetrics parser (raises on any deviation from the format)."""
    status, headers, body = http_request(port, headers={"Accept": PROMETHEUS_ACCEPT})
    assert status == 200, (status, body)
    assert headers["content-type"] == \
        "application/openmetrics-text; version=1.0.0; charset=utf-8", headers
    return {m.name: m for m in openmetrics_parser.text_string_to_metric_families(body)}


def samples(metric, **match):
    """{frozenset of the remaining labels' items: value} of the samples of
    'metric' whose labels include 'match'."""
    out = {}
    for s in metric.samples:
        if all(s.labels.get(k) == v for k, v in match.items()):
            rest = {k: v for k, v in s.labels.items() if k not in match}
            out[frozenset(rest.items())] = s.value
    return out


def value(metric, **labels):
    got = samples(metric, **labels)
    assert list(got) == [frozenset()], "%s%r: %r" % (metric.name, labels, got)
    return int(got[frozenset()])


def listening_tcp_sockets(pid):
    """How many listening TCP sockets process 'pid' has open."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":           # TCP_LISTEN
                    listening.add(fields[9])
    return len(inodes & listening)


class MetricsTest(VsTestCase):

    def metrics_daemon(self):
        port = free_port()
        d = self.daemon(extra_args=["--metrics-addr", "127.0.0.1:%d" % port])
        return d, port

    def test_a_counters_match_vsctl(self):
        d, port = self.metrics_daemon()
        _, _, expected = known_traffic.run(self, d)
        names = list(known_traffic.PORTS)

        def agree():
            before = (d.all_port_stats(), d.pmd_stats(), d.vsctl_json("fdb-show", "br0"))
            fams, body = scrape(port)
            after = (d.all_port_stats(), d.pmd_stats(), d.vsctl_json("fdb-show", "br0"))
            if before[0] != after[0] or before[2]["stats"] != after[2]["stats"]:
                return False
            return before, fams, body, after
        before, fams, body, after = wait_until(agree, TIMEOUT, "quiet counters")
        stats, pmd_before, fdb_show = before
        pmd_after = after[1]

        # Every family documented and typed.
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name = line.split("{")[0].split(" ")[0]
                self.assertIn("# HELP %s " % name, body)
                self.assertIn("# TYPE %s " % name, body)
        for m in fams.values():
            self.assertTrue(m.documentation, m.name)
            self.assertIn(m.type, ("counter", "gauge"), m.name)

        info = fams["vswitch_port_info"]
        self.assertEqual(samples(info, bridge="br0", type="vhost-user"),
                         {frozenset({("port", p)}): 1.0 for p in names})
        dropped = fams["vswitch_port_dropped_packets"]
        self.assertEqual(dropped.type, "counter")
        for p in names:
            lb = {"bridge": "br0", "port": p}
            for key in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
                m = fams["vswitch_port_" + key]
                self.assertEqual(m.type, "counter")
                self.assertEqual(value(m, **lb), stats[p][key], "%s %s" % (p, key))
            # One sample per drop reason of port.stats, no other.
            reasons = samples(dropped, **lb)
            want = {}
            for key, v in stats[p].items():
                if "_dropped_" in key:
                    direction, reason = key.split("_dropped_")
                    want[frozenset({("direction", direction), ("reason", reason)})] = v
            self.assertEqual({k: int(v) for k, v in reasons.items()}, want, p)
            for direction in ("rx", "tx"):
                total = sum(int(v) for k, v in reasons.items()
                            if ("direction", direction) in k)
                self.assertEqual(total, stats[p][direction + "_dropped"], p)
            for key, v in expected[p].items():
                self.assertEqual(stats[p][key], v, "%s %s" % (p, key))
        self.assertEqual(value(dropped, bridge="br0", port="vhu2", direction="tx",
                               reason="link_down"), known_traffic.N_FLOOD)
        self.assertEqual(value(fams["vswitch_port_rx_packets"], bridge="br0",
                               port="vhu0"), known_traffic.N_FLOOD)

        # PMD counters: packets equal, cycles between the two vsctl reads.
        pb, pa = pmd_before["pmds"][0], pmd_after["pmds"][0]
        lb = {"pmd": str(pb["pmd"]), "core": str(pb["core"])}
        for key in ("rx_packets", "tx_packets"):
            self.assertEqual(value(fams["vswitch_pmd_" + key], **lb), pb[key], key)
        for key in ("iterations", "busy_cycles", "idle_cycles"):
            v = value(fams["vswitch_pmd_" + key], **lb)
            self.assertTrue(pb[key] <= v <= pa[key], "%s %d not in [%d, %d]"
                            % (key, v, pb[key], pa[key]))
        self.assertEqual(value(fams["vswitch_pmd_rx_packets"], **lb),
                         known_traffic.N_FLOOD + known_traffic.N_UNICAST)
        self.assertEqual(value(fams["vswitch_mbuf_pool_size"]), pmd_before["mbufs"]["total"])

        # FDB.
        fs = fdb_show["stats"]
        for fam, key in (("vswitch_fdb_entries", "entries"),
                         ("vswitch_fdb_learned", "learned"),
                         ("vswitch_fdb_moved", "moved"), ("vswitch_fdb_aged", "aged"),
                         ("vswitch_fdb_flushed", "flushed"), ("vswitch_fdb_full", "full"),
                         ("vswitch_fdb_max_entries", "max_entries"),
                         ("vswitch_fdb_ageing_seconds", "ageing_time")):
            self.assertEqual(value(fams[fam], bridge="br0"), fs[key], fam)
        self.assertEqual(value(fams["vswitch_fdb_entries"], bridge="br0"), 2)
        self.assertEqual(fams["vswitch_fdb_entries"].type, "gauge")
        self.assertEqual(fams["vswitch_fdb_learned"].type, "counter")

        build = fams["vswitch_build_info"].samples[0].labels
        self.assertEqual(build["version"], d.vsctl_json("version")["version"])

        # The same page in OpenMetrics (what Prometheus asks for), through
        # the strict parser: same families, types and (quiet) samples.
        om = scrape_openmetrics(port)
        self.assertEqual(set(om), set(fams))
        for name, m in fams.items():
            self.assertEqual(om[name].type, m.type, name)
            self.assertEqual(om[name].documentation, m.documentation, name)
            if name.startswith(("vswitch_pmd_iterations", "vswitch_pmd_busy",
                                "vswitch_pmd_idle", "vswitch_mbuf_pool_in_use")):
                continue
            self.assertEqual(sorted((s.name, sorted(s.labels.items()), s.value)
                                    for s in om[name].samples),
                             sorted((s.name, sorted(s.labels.items()), s.value)
                                    for s in m.samples), name)

    def test_b_http_errors(self):
        d, port = self.metrics_daemon()
        add_bridge(d, ("vhu0",))
        status, headers, body = http_request(port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertNotIn("# EOF", body)
        status, headers, om = http_request(port, headers={"Accept": PROMETHEUS_ACCEPT})
        self.assertTrue(om.endswith("\n# EOF\n"), om[-100:])
        self.assertIn("# TYPE vswitch_port_rx_packets counter\n", om)
        self.assertIn("# TYPE vswitch_port_rx_packets_total counter\n", body)
        self.assertIn('vswitch_port_info{bridge="br0",port="vhu0",type="vhost-user"} 1\n',
                      body)
        self.assertEqual(listening_tcp_sockets(d.pid), 1)
        status, _, _ = http_request(port, path="/metrics?name=x")
        self.assertEqual(status, 200)
        for path in ("/", "/metricsx", "/metrics/", "/foo"):
            status, _, body = http_request(port, path=path)
            self.assertEqual(status, 404, path)
            self.assertIn("/metrics", body)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = http_request(port, method=method)
            self.assertEqual(status, 405, method)
            self.assertEqual(headers.get("allow"), "GET, HEAD", method)
        status, _, body = http_request(port, method="HEAD")
        self.assertEqual((status, body), (200, ""))
        # Garbage on the socket does not hurt the daemon.
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"\x00\xff garbage\r\n\r\n")
            s.recv(4096)
        self.assertEqual(http_request(port)[0], 200)

        # Idle clients and one that stops in the middle of its headers block
        # nobody, and the server closes them after its 10 s timeout.
        idle = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                for _ in range(20)]
        try:
            idle[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            self.assertEqual(http_request(port)[0], 200)
            d.vsctl("show")
            # (recv() times out after TIMEOUT if the server never closes.)
            for s in idle:
                self.assertEqual(s.recv(4096), b"")
        finally:
            for s in idle:
                s.close()
        d.vsctl("show")

    def run_vswitchd(self, *args):
        """Runs vswitchd in the foreground in a fresh temp dir with 'args';
        expects it to exit by itself (it must fail at start).  Returns
        (exit status, stderr)."""
        work = tempfile.mkdtemp(prefix="vstest-metrics-", dir="/tmp")
        self._tmpdirs.append(work)
        d = Daemon(workdir=work)
        r = subprocess.run(d.command(detach=False) + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT)
        return r.returncode, r.stderr

    def test_c_bad_addresses(self):
        for addr, why in (("127.0.0.1", "HOST:PORT"), ("127.0.0.1:0", "1 to 65535"),
                          ("127.0.0.1:70000", "1 to 65535"), ("::1:9100", "brackets"),
                          ("[::1:9100", "[IPV6-ADDRESS]:PORT"),
                          ("no-such-host.invalid:9100", "cannot resolve")):
            rc, err = self.run_vswitchd("--metrics-addr", addr)
            self.assertEqual(rc, 2, "%s: %s" % (addr, err))
            self.assertIn("--metrics-addr", err, addr)
            self.assertIn(why, err, addr)

        # A port some other process listens on.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            addr = "127.0.0.1:%d" % busy.getsockname()[1]
            rc, err = self.run_vswitchd("--metrics-addr", addr)
        self.assertEqual(rc, 1, err)
        self.assertIn("cannot listen on %s: Address already in use" % addr, err)

        # Off by default: the daemon listens on no TCP socket.
        d = self.daemon()
        self.assertEqual(listening_tcp_sockets(d.pid), 0)
    def test_d_port_type_counters(self):
        d, port = self.metrics_daemon()
        add_bridge(d, ("vhu0",))
        d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=net_null0,no-rx=1")
        stats = d.all_port_stats()
        extra = ("rx_missed", "rx_nombuf", "rx_errors", "tx_errors", "tx_lock_contended")
        for key in extra:
            self.assertIn(key, stats["null0"])
        fams, _ = scrape(port)
        self.assertEqual(value(fams["vswitch_port_info"], bridge="br0", port="null0",
                               type="dpdk"), 1)
        for key in extra:
            m = fams["vswitch_port_" + key]
            self.assertEqual(m.type, "counter")
            # Only the dpdk port has it.
            self.assertEqual(samples(m), {frozenset({("bridge", "br0"),
                                                     ("port", "null0")}): stats["null0"][key]})
        # Also through the strict OpenMetrics parser (help texts with quotes).
        om = scrape_openmetrics(port)
        for key in extra:
            self.assertEqual(om["vswitch_port_" + key].documentation,
                             fams["vswitch_port_" + key].documentation)
            self.assertIn('"%s"' % key, om["vswitch_port_" + key].documentation)
            self.assertEqual(om["vswitch_port_" + key].samples[0].value, stats["null0"][key])
        d.vsctl("del-port", "null0")
        fams, body = scrape(port)
        self.assertNotIn("null0", body)
        self.assertNotIn("vswitch_port_rx_missed", fams)
        self.assertEqual(set(samples(fams["vswitch_port_info"])),
                         {frozenset({("bridge", "br0"), ("port", "vhu0"),
                                     ("type", "vhost-user")})})


if __name__ == "__main__":
    unittest.main()
