"""Several PMD threads for real: rx queues spread by measured load.

vswitchd runs two PMDs (`--pmd-cores 0,1`: on a 2-core machine they share
the CPUs with the frontends' forwarding lcores, which is fine for counts).
Traffic is a ping-pong: both frontends forward in `mac` mode (source = own
MAC, destination = the other's), one starts it with `start tx_first`, so the
same packets cross the switch in both directions until both stop; then both
drain their rings in `rxonly` mode and every counter must add up exactly.

  test_two_pmds_bidirectional  two 2-queue vhost ports and a busy dpdk port:
                               exact counts both ways, both PMDs busy,
                               pmd-rxq-show consistent; pmd-rxq-rebalance
                               keeps every queue polled once and gives the
                               dpdk port's queue (by far the heaviest) a PMD
                               of its own; traffic still exact afterwards
  test_rebalance_by_load       two busy single-queue ports that share a PMD
                               are split by pmd-rxq-rebalance; a second
                               rebalance and a port add move nothing
"""

import os
import struct

from vstest import VsTestCase, delta, send_and_verify, wait_until

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
TIMEOUT = 60
PINGPONG_PACKETS = 20000     # switched on the B side before stopping

# The dpdk port: a net_pcap device that replays a capture for ever
# (infinite_rx=1) of frames from C_MAC to C_MAC.  The switch learns C_MAC on
# the port and drops every one of them as a hairpin (rx_dropped_hairpin), so
# the port keeps one PMD busy without adding a packet to the vhost counts;
# what the bridge floods to it goes to a capture file.
DPDK_PORT = "r0"
C_MAC = "02:00:00:00:00:0c"
PCAP_FRAMES = 32


def write_pcap(path, frames):
    """A pcap file (Ethernet link type) holding 'frames' (bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def add_dpdk_port(d, bridge="br0"):
    """Adds DPDK_PORT, the endless hairpin source, to 'bridge'."""
    mac = bytes(int(x, 16) for x in C_MAC.split(":"))
    frame = mac + mac + b"\x88\xb5" + bytes(46)     # Local experimental type.
    rx = os.path.join(d.workdir, "r0-rx.pcap")
    write_pcap(rx, [frame] * PCAP_FRAMES)
    d.vsctl("add-port", bridge, DPDK_PORT, "type=dpdk",
            "devargs=net_pcap0,rx_pcap=%s,tx_pcap=%s,infinite_rx=1"
            % (rx, os.path.join(d.workdir, "r0-tx.pcap")))
    return DPDK_PORT


def check_dpdk_port(test, d):
    """The dpdk port received, and dropped every frame as a hairpin (but the
    burst being switched right now)."""
    st = d.port_stats(DPDK_PORT)
    test.assertGreater(st["rx_packets"], 0, st)
    test.assertGreater(st["rx_dropped_hairpin"], 0, st)
    test.assertLessEqual(st["rx_packets"] - st["rx_dropped_hairpin"], 32, st)
    test.assertEqual(d.fdb("br0").get((C_MAC, 0)), DPDK_PORT)


def rxq_placement(show):
    """{(port, queue): pmd id} from a pmd.rxq_show result; fails if a queue
    is listed twice."""
    placed = {}
    for pmd in show["pmds"]:
        for q in pmd["rxqs"]:
            key = (q["port"], q["queue"])
            assert key not in placed, "rx queue %r polled by PMDs %d and %d: %r" % (
                key, placed[key], pmd["pmd"], show)
            placed[key] = pmd["pmd"]
    return placed


def check_rxq_show(test, d, expected):
    """Checks `pmd-rxq-show` against the set of (port, queue) 'expected':
    each exactly once, on a PMD that exists; per PMD the queue shares add up
    to at most 100 %; the text output lists the same queues.  Returns the
    parsed result."""
    show = d.vsctl_json("pmd-rxq-show")
    pmd_ids = sorted(p["pmd"] for p in d.pmd_stats()["pmds"])
    test.assertEqual(pmd_ids, [0, 1])
    test.assertEqual(sorted(p["pmd"] for p in show["pmds"]), pmd_ids)
    test.assertEqual(sorted(p["core"] for p in show["pmds"]), [0, 1])
    placed = rxq_placement(show)
    test.assertEqual(sorted(placed), sorted(expected), show)
    for pmd in show["pmds"]:
        test.assertGreaterEqual(pmd["cycles"], pmd["busy_cycles"], pmd)
        shares = [q["pmd_usage"] for q in pmd["rxqs"] if q["pmd_usage"] is not None]
        # Each share is rounded to 0.01.
        test.assertLessEqual(sum(shares), 100 + 0.01 * len(shares), pmd)
        test.assertTrue(all(s >= 0 for s in shares), pmd)
        test.assertLessEqual(sum(q["cycles"] for q in pmd["rxqs"]),
                             pmd["cycles"], pmd)
    text = d.vsctl("pmd-rxq-show")[1]
    for port, queue in expected:
        lines = [l for l in text.splitlines()
                 if l.split()[:4] == ["port:", port, "queue-id:", str(queue)]]
        test.assertEqual(len(lines), 1, text)
        test.assertIn("pmd usage:", lines[0])
    test.assertEqual(text.count("pmd thread id"), 2, text)
    return show


class PmdTest(VsTestCase):

    def pingpong(self, d, a, b, pa, pb, bursts=4):
        """Ping-pong between frontends 'a' (on port 'pa') and 'b' (on 'pb')
        until the switch received PINGPONG_PACKETS on 'pb'; then both stop,
        drain in rxonly mode, and every count must agree:
          switch rx on pa = a's TX, switch tx + tx_dropped on pb = switch rx
          on pa, b's RX = switch tx on pb, and the same the other way.
        Returns (switch stats before, after)."""
        s0 = d.all_port_stats()
        a0, b0 = a.port_stats(), b.port_stats()
        b.set_fwd("mac")
        b.start_fwd()
        a.set_fwd("mac")
        a.start_tx_first(bursts)
        wait_until(lambda: delta(d.all_port_stats(), s0, pb, "rx_packets")
                   >= PINGPONG_PACKETS, TIMEOUT,
                   "%d packets ping-ponged through %s" % (PINGPONG_PACKETS, pb))
        a.stop()
        b.stop()
        for t in (a, b):
            t.set_fwd("rxonly")
            t.start_fwd()
        a1, b1 = a.port_stats(), b.port_stats()
        sent = {pa: a1["TX-packets"] - a0["TX-packets"],
                pb: b1["TX-packets"] - b0["TX-packets"]}
        self.assertGreater(sent[pa], 0)
        self.assertGreater(sent[pb], 0)

        def switch_rx():
            s = d.all_port_stats()
            return all(delta(s, s0, p, "rx_packets") == sent[p] for p in (pa, pb)) and s
        wait_until(switch_rx, TIMEOUT, lambda: "switch rx = frontends' tx %r: %r"
                   % (sent, d.all_port_stats()))

        # Tolerance: during the ping-pong both frontends and both PMDs share
        # two cores; a frontend descheduled for a while lets its rx ring
        # fill, so the switch may drop on it -- but only as ring-full drops,
        # and every lost frame leaves the ping-pong (which must reach
        # PINGPONG_PACKETS) with one frame less.  The exact
        # send_and_verify() runs on quiet links check delivery exactly.
        def switch_tx():
            s = d.all_port_stats()
            for src, dst in ((pa, pb), (pb, pa)):
                dropped = delta(s, s0, dst, "tx_dropped")
                done = delta(s, s0, dst, "tx_packets") + dropped
                self.assertLessEqual(done, sent[src], s)
                self.assertEqual(dropped, delta(s, s0, dst, "tx_dropped_ring_full"),
                                 "%s drops other than ring-full: %r" % (dst, s[dst]))
                self.assertGreater(delta(s, s0, dst, "tx_packets"), 0, s[dst])
                if done != sent[src]:
                    return False
            return s
        s2 = wait_until(switch_tx, TIMEOUT, lambda: "switch tx+drops = rx %r: %r"
                        % (sent, d.all_port_stats()))

        def frontends_rx():
            got = {pa: a.port_stats()["RX-packets"] - a0["RX-packets"],
                   pb: b.port_stats()["RX-packets"] - b0["RX-packets"]}
            out = {p: delta(s2, s0, p, "tx_packets") for p in (pa, pb)}
            for p in (pa, pb):
                self.assertLessEqual(got[p], out[p], (got, out))
            return got == out
        wait_until(frontends_rx, TIMEOUT, "frontends' RX = switch tx")
        return s0, s2

    def test_two_pmds_bidirectional(self):
        d = self.daemon(pmd_cores="0,1")
        d.vsctl("add-br", "br0")
        for p in ("vhu0", "vhu1"):
            d.vsctl("add-port", "br0", p, "type=vhost-user", "queues=2")
        vhost = [(p, q) for p in ("vhu0", "vhu1") for q in (0, 1)]
        dpdk = add_dpdk_port(d)
        expected = vhost + [(dpdk, 0)]
        check_rxq_show(self, d, expected)

        mq = dict(queues=2, extra_app=("--rxq=2", "--txq=2"))
        a = self.attach(d, "vhu0", A_MAC, "A", peer=B_MAC, timeout=TIMEOUT, **mq)
        b = self.attach(d, "vhu1", B_MAC, "B", peer=A_MAC, timeout=TIMEOUT, **mq)

        def vhost_enabled():
            show = d.vsctl_json("pmd-rxq-show")
            return all(q["enabled"] for p in show["pmds"] for q in p["rxqs"]
                       if q["port"] in ("vhu0", "vhu1"))
        wait_until(vhost_enabled, TIMEOUT, "all vhost rx queues enabled")

        d.vsctl("pmd-stats-clear")
        self.pingpong(d, a, b, "vhu0", "vhu1")
        check_dpdk_port(self, d)

        # Both PMDs worked.
        for st in d.pmd_stats()["pmds"]:
            self.assertGreater(st["rx_packets"], 0, st)
            self.assertGreater(st["busy_cycles"], 0, st)
        show = check_rxq_show(self, d, expected)
        for pmd in show["pmds"]:
            self.assertGreater(pmd["busy_cycles"], 0, pmd)
            for q in pmd["rxqs"]:
                self.assertGreater(q["cycles"], 0, q)
                self.assertIsNotNone(q["pmd_usage"], q)
                if q["port"] != dpdk:
                    self.assertTrue(q["enabled"], q)

        # Rebalance: every queue still polled exactly once, "moved" is what
        # changed, and the dpdk port's queue (busy all the time) outweighs
        # all the others together: it gets a PMD of its own.
        before = rxq_placement(show)
        res = d.vsctl_json("pmd-rxq-rebalance")
        self.assertEqual(res["rxqs"], len(expected))
        show = check_rxq_show(self, d, expected)
        after = rxq_placement(show)
        self.assertEqual(res["moved"], sum(before[k] != after[k] for k in expected),
                         (before, after))
        alone = [p["rxqs"] for p in show["pmds"] if p["pmd"] == after[(dpdk, 0)]][0]
        self.assertEqual([q["port"] for q in alone], [dpdk], show)
        self.assertRegex(d.vsctl("pmd-rxq-rebalance")[1],
                         r"^moved 0 of %d rx queues\n$" % len(expected))

        # Traffic is still exact, both ways, and both PMDs still work.
        d.vsctl("pmd-stats-clear")
        self.pingpong(d, a, b, "vhu0", "vhu1")
        for st in d.pmd_stats()["pmds"]:
            self.assertGreater(st["rx_packets"], 0, st)
            self.assertGreater(st["busy_cycles"], 0, st)
        check_rxq_show(self, d, expected)
        check_dpdk_port(self, d)

    def test_rebalance_by_load(self):
        d = self.daemon(pmd_cores="0,1")
        d.vsctl("add-br", "br0")
        ports = ("vhu0", "vhu1", "vhu2")
        for p in ports:
            d.vsctl("add-port", "br0", p, "type=vhost-user")
        # Three queues, two PMDs: two of them share one.
        placed = rxq_placement(check_rxq_show(self, d, [(p, 0) for p in ports]))
        by_pmd = {}
        for (port, _), pmd in placed.items():
            by_pmd.setdefault(pmd, []).append(port)
        pa, pb = sorted(next(v for v in by_pmd.values() if len(v) == 2))
        idle = next(p for p in ports if p not in (pa, pb))

        a = self.attach(d, pa, A_MAC, "A", peer=B_MAC, timeout=TIMEOUT)
        b = self.attach(d, pb, B_MAC, "B", peer=A_MAC, timeout=TIMEOUT)
        self.pingpong(d, a, b, pa, pb)

        show = d.vsctl_json("pmd-rxq-show")
        cycles = {q["port"]: q["cycles"] for p in show["pmds"] for q in p["rxqs"]}
        self.assertGreater(cycles[pa], 0, show)
        self.assertGreater(cycles[pb], 0, show)
        self.assertEqual(cycles[idle], 0, show)

        # The two busy queues go to different PMDs: the lighter one moves.
        res = d.vsctl_json("pmd-rxq-rebalance")
        self.assertEqual(res, {"moved": 1, "rxqs": 3})
        placed = rxq_placement(check_rxq_show(self, d, [(p, 0) for p in ports]))
        self.assertNotEqual(placed[(pa, 0)], placed[(pb, 0)], placed)
        with open(d.log) as f:
            self.assertRegex(f.read(), r"port (%s|%s) rx queue 0: moved from PMD"
                             % (pa, pb))

        # Nothing changed: nothing moves, neither on rebalance nor when a
        # port comes or goes.
        self.assertEqual(d.vsctl_json("pmd-rxq-rebalance")["moved"], 0)
        d.vsctl("add-port", "br0", "vhu3", "type=vhost-user")
        d.vsctl("del-port", idle)
        now = rxq_placement(check_rxq_show(self, d, [(pa, 0), (pb, 0), ("vhu3", 0)]))
        self.assertEqual((now[(pa, 0)], now[(pb, 0)]),
                         (placed[(pa, 0)], placed[(pb, 0)]))

        # Traffic still counted exactly on the new placement.
        send_and_verify(d, a, pa, b, pb, timeout=TIMEOUT)
        send_and_verify(d, b, pb, a, pa, timeout=TIMEOUT)
