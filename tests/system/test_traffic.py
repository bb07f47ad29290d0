"""Traffic through vswitchd between real virtio-user frontends (dpdk-testpmd).

Every check is on counts, never on speed: a frontend sends an exact number
of packets (`start tx_first N` = N bursts of 32) and the test waits until
the switch's port counters and the receiving frontend's counters account for
every one of them.

  test_a_bidirectional_counts  two frontends, one bridge, counts agree both ways
  test_b_mac_learning          FDB contents; flooding vs. learned unicast with
                               a third port that has no frontend
  test_c_frontend_restart      SIGKILL a frontend under traffic, reconnect on
                               the same socket, counts agree again; no mbuf leak
  test_d_delete_under_traffic  del-port / del-br of ports whose frontends are
                               connected and streaming; re-added ports work;
                               frontends come and go repeatedly; no mbuf leak
"""

import unittest

from vstest import VsTestCase, add_bridge, delta, send_and_verify, wait_until

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
UNKNOWN_MAC = "02:00:00:00:00:00"    # testpmd's default --eth-peer for port 0
BCAST = "ff:ff:ff:ff:ff:ff"
N = 8 * 32                           # packets per `start tx_first 8`
RING = 256                           # virtio-user default ring size
MBUF_MARGIN = 64                     # allowed in_use drift after frontends quit
TIMEOUT = 60


class TrafficTest(VsTestCase):

    def setup_switch(self, ports=("vhu0", "vhu1")):
        d = self.daemon()
        add_bridge(d, ports)
        for p in ports:
            wait_until(lambda p=p: d.vhost_sock(p) in d.vhost_sockets(), 10,
                       "vhost socket of %s" % p)
        return d

    def frontends(self, d, a_port="vhu0", b_port="vhu1", a_name="A"):
        """A on a_port (eth-peer: unknown MAC, so its packets flood) and B on
        b_port (eth-peer: A's MAC); both forwarding in rxonly mode."""
        a = self.frontend(d.vhost_sock(a_port), A_MAC, name=a_name)
        b = self.frontend(d.vhost_sock(b_port), B_MAC, name="B", peer=A_MAC)
        d.wait_port_state(a_port, "up", TIMEOUT)
        d.wait_port_state(b_port, "up", TIMEOUT)
        a.start_fwd()
        b.start_fwd()
        return a, b

    def macs(self, d):
        """{mac: port} of br0's FDB."""
        return {mac: port for (mac, _vlan), port in d.fdb("br0").items()}

    # ------------------------------------------------------------------

    def test_a_bidirectional_counts(self):
        d = self.setup_switch()
        a, b = self.frontends(d)

        # A -> unknown unicast: flooded to the only other port, vhu1.
        r = send_and_verify(d, a, "vhu0", b, "vhu1", bursts=8, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (N, 0),
                         "vhu1 (tx_packets, tx_dropped) for A's flooded frames")
        self.assertEqual(delta(r["after"], r["before"], "vhu0", "tx_packets"), 0,
                         "a frame was sent back out of its input port")

        # B -> A's MAC (learned from A's frames): unicast to vhu0.
        r = send_and_verify(d, b, "vhu1", a, "vhu0", bursts=8, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (N, 0),
                         "vhu0 (tx_packets, tx_dropped) for B's unicast frames")
        self.assertEqual(delta(r["after"], r["before"], "vhu1", "tx_packets"), 0,
                         "a frame was sent back out of its input port")

        # The frontends' own view matches the switch's totals.
        s = d.all_port_stats()
        sa, sb = a.port_stats(), b.port_stats()
        self.assertEqual(s["vhu0"]["rx_packets"], sa["TX-packets"])
        self.assertEqual(s["vhu1"]["rx_packets"], sb["TX-packets"])
        self.assertEqual(s["vhu0"]["tx_packets"], sa["RX-packets"])
        self.assertEqual(s["vhu1"]["tx_packets"], sb["RX-packets"])
        self.assertEqual(s["vhu0"]["rx_bytes"], sa["TX-bytes"])
        self.assertEqual(s["vhu1"]["tx_bytes"], sb["RX-bytes"])

    def test_b_mac_learning(self):
        d = self.setup_switch()
        a, b = self.frontends(d)
        send_and_verify(d, a, "vhu0", b, "vhu1", timeout=TIMEOUT)
        send_and_verify(d, b, "vhu1", a, "vhu0", timeout=TIMEOUT)

        macs = self.macs(d)
        self.assertEqual(macs.get(A_MAC), "vhu0", "FDB: %r" % macs)
        self.assertEqual(macs.get(B_MAC), "vhu1", "FDB: %r" % macs)
        self.assertNotIn(UNKNOWN_MAC, macs, "destination MACs must not be learned")

        # A third port with no frontend.
        d.vsctl("add-port", "br0", "vhu2", "type=vhost-user")
        self.assertEqual(d.port_state("vhu2"), "down")

        # Unknown unicast floods: vhu1 gets it, vhu2 counts a link-down drop.
        r = send_and_verify(d, a, "vhu0", b, "vhu1", timeout=TIMEOUT)

        def vhu2_dropped(n, s0):
            def pred():
                s = d.all_port_stats()
                return delta(s, s0, "vhu2", "tx_dropped_link_down") == n and s
            return wait_until(pred, TIMEOUT, "vhu2 tx_dropped_link_down += %d" % n)
        s = vhu2_dropped(N, r["before"])
        self.assertEqual(delta(s, r["before"], "vhu2", "tx_packets"), 0)
        self.assertEqual(delta(s, r["before"], "vhu2", "tx_dropped"), N)
        self.assertEqual(delta(s, r["before"], "vhu0", "tx_packets"), 0)

        # Broadcast floods the same way.
        a.set_peer(BCAST)
        a.start_fwd()
        r = send_and_verify(d, a, "vhu0", b, "vhu1", bursts=1, timeout=TIMEOUT)
        s = vhu2_dropped(32, r["before"])
        self.assertEqual(delta(s, r["before"], "vhu2", "tx_packets"), 0)
        a.set_peer(UNKNOWN_MAC)
        a.start_fwd()

        # Learned unicast B -> A reaches vhu0 only.
        r = send_and_verify(d, b, "vhu1", a, "vhu0", timeout=TIMEOUT)
        self.assertEqual(r["tx"], N, "vhu0 tx_packets must grow by exactly %d" % N)
        s = d.all_port_stats()
        self.assertEqual(delta(s, r["before"], "vhu2", "tx_packets")
                         + delta(s, r["before"], "vhu2", "tx_dropped"), 0,
                         "learned unicast was flooded to vhu2: %r" % s["vhu2"])
        self.assertEqual(delta(s, r["before"], "vhu1", "tx_packets"), 0)

        macs = self.macs(d)
        self.assertEqual(macs.get(A_MAC), "vhu0", "FDB: %r" % macs)
        self.assertEqual(macs.get(B_MAC), "vhu1", "FDB: %r" % macs)
        self.assertNotIn(BCAST, macs)

    def test_c_frontend_restart(self):
        d = self.setup_switch()
        idle = d.pmd_stats()["mbufs"]["in_use"]
        a, b = self.frontends(d)
        send_and_verify(d, a, "vhu0", b, "vhu1", timeout=TIMEOUT)
        send_and_verify(d, b, "vhu1", a, "vhu0", timeout=TIMEOUT)

        # B streams to A (txonly) while A is SIGKILLed.
        b.set_fwd("txonly")
        b.start_fwd()
        a_rx0 = a.port_stats()["RX-packets"]
        wait_until(lambda: a.port_stats()["RX-packets"] > a_rx0, TIMEOUT,
                   "A to receive B's stream")
        a.kill()
        d.wait_port_state("vhu0", "down", TIMEOUT)
        self.assertEqual(d.port_state("vhu1"), "up")
        s0 = d.all_port_stats()
        wait_until(lambda: delta(d.all_port_stats(), s0, "vhu0",
                                 "tx_dropped_link_down") > 0,
                   TIMEOUT, "vhu0 tx_dropped_link_down to grow while A is gone")
        self.assertTrue(d.running(), "vswitchd died when a frontend was killed")

        # Restart A on the same socket; the stream resumes.
        base_tx = d.port_stats("vhu0")["tx_packets"]
        a2 = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A2")
        d.wait_port_state("vhu0", "up", TIMEOUT)
        a2.start_fwd()
        wait_until(lambda: a2.port_stats()["RX-packets"] > 0, TIMEOUT,
                   "A2 to receive B's stream")
        b.stop()
        b_tx = b.port_stats()["TX-packets"]
        wait_until(lambda: d.port_stats("vhu1")["rx_packets"] == b_tx, TIMEOUT,
                   "vhu1 rx_packets == B's TX-packets (%d)" % b_tx)

        # Every packet the switch counted as sent to vhu0 since A2 connected
        # reached A2 -- except at most one ring's worth (256): with
        # librte_vhost 22.11 a virtio-user that reconnects while traffic is
        # queued for it never sees the first ring-full enqueued before it
        # starts polling.  Measured with testpmd's own net_vhost PMD as the
        # backend too, so it is not vswitchd's doing; the exact counted
        # exchanges below run on a quiet link.
        seen = {}

        def a2_settled():
            seen["vhu0"] = d.port_stats("vhu0")
            seen["A2"] = a2.port_stats()
            seen["A2 again"] = a2.port_stats()
            out = seen["vhu0"]["tx_packets"] - base_tx
            got = seen["A2"]["RX-packets"]
            self.assertLessEqual(got, out, "A2 received more than vhu0 sent")
            return got == seen["A2 again"]["RX-packets"] and out - got <= RING
        wait_until(a2_settled, TIMEOUT,
                   lambda: "A2 RX-packets within %d of vhu0 tx_packets - %d since A2 "
                   "connected: vhu0 %r, A2 %r" % (RING, base_tx, seen.get("vhu0"),
                                                  seen.get("A2")))

        # Counted exchanges both ways again.
        b.set_fwd("rxonly")
        b.start_fwd()
        send_and_verify(d, a2, "vhu0", b, "vhu1", timeout=TIMEOUT)
        send_and_verify(d, b, "vhu1", a2, "vhu0", timeout=TIMEOUT)

        # Frontends quit: ports go down, mbufs come back.
        self.assertEqual(b.quit(), 0)
        self.assertEqual(a2.quit(), 0)
        d.wait_port_state("vhu0", "down", TIMEOUT)
        d.wait_port_state("vhu1", "down", TIMEOUT)
        wait_until(lambda: d.pmd_stats()["mbufs"]["in_use"] <= idle + MBUF_MARGIN,
                   TIMEOUT, "mbufs in_use back to idle baseline %d (+%d)"
                   % (idle, MBUF_MARGIN))


if __name__ == "__main__":
    unittest.main()


class DeleteTest(VsTestCase):

    def test_d_delete_under_traffic(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        for p in ("vhu0", "vhu1"):
            d.vsctl("add-port", "br0", p, "type=vhost-user")
        idle = d.pmd_stats()["mbufs"]["in_use"]

        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
        b = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
        d.wait_port_state("vhu0", "up", TIMEOUT)
        d.wait_port_state("vhu1", "up", TIMEOUT)
        a.start_fwd()

        # B streams (txonly) into the switch; delete B's port under traffic.
        b.set_fwd("txonly")
        b.start_fwd()
        wait_until(lambda: d.port_stats("vhu1")["rx_packets"] > 1000, TIMEOUT,
                   "vhu1 to receive B's stream")
        d.vsctl("del-port", "vhu1")
        self.assertNotIn("vhu1", d.ports())
        self.assertNotIn(d.vhost_sock("vhu1"), d.vhost_sockets())
        self.assertTrue(d.running(), "vswitchd died deleting a busy port")
        b.kill()

        # Re-add it: a new frontend connects and counted traffic flows.
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user")
        b2 = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B2", peer=A_MAC)
        d.wait_port_state("vhu1", "up", TIMEOUT)
        b2.start_fwd()
        send_and_verify(d, a, "vhu0", b2, "vhu1", timeout=TIMEOUT)
        send_and_verify(d, b2, "vhu1", a, "vhu0", timeout=TIMEOUT)

        # Frontends come and go while the other side keeps sending.
        b2.set_fwd("txonly")
        b2.start_fwd()
        for i in range(3):
            a.quit()
            d.wait_port_state("vhu0", "down", TIMEOUT)
            a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A%d" % (i + 2))
            d.wait_port_state("vhu0", "up", TIMEOUT)
            a.start_fwd()
            rx0 = a.port_stats()["RX-packets"]
            wait_until(lambda: a.port_stats()["RX-packets"] > rx0, TIMEOUT,
                       "reconnected frontend to receive the stream")
        self.assertTrue(d.running())

        # Deleting the whole bridge with both frontends connected and one
        # streaming removes every socket and keeps the daemon serving.
        d.vsctl("del-br", "br0")
        self.assertEqual(d.vsctl_json("list-br")["bridges"], [])
        self.assertEqual(d.vhost_sockets(), [])
        a.kill()
        b2.kill()
        wait_until(lambda: d.pmd_stats()["mbufs"]["in_use"] <= idle + MBUF_MARGIN,
                   TIMEOUT, lambda: "mbufs in use back to idle (%d): %r"
                   % (idle, d.pmd_stats()["mbufs"]))
        d.vsctl("version")
