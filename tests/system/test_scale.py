"""Many ports on one daemon (issue 9, "Scale").

  test_thousand_ports  1,000 vhost-user server ports added through the
                       control socket in JSON-RPC batches (100 calls each, the
                       batch limit), all listed with their sockets; a 1,001st
                       is refused with a clear error (DPDK 22.11's vhost
                       library watches at most 1,024 descriptors: 1,000
                       listening sockets leave room for 24 connections);
                       two testpmd frontends on two of the ports pass traffic
                       with exact counts while the 998 others exist (a flood
                       reaches every port, unicast only its destination);
                       the unconnected ports are not polled (pmd-rxq-show
                       lists them as disabled); all are deleted in batches
                       and the daemon is left with none.
Counts, never speed: the time the batches took is printed, not asserted.
"""

import time

from vstest import VsTestCase, delta, send_and_verify, wait_until

N_PORTS = 1000                       # VHOST_MAX_PORTS in vhost/vhost-port.c
BATCH = 100                          # RPC_MAX_BATCH
A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
N = 8 * 32
TIMEOUT = 120


def port_name(i):
    return "vhu%d" % i


class ScaleTest(VsTestCase):

    def batch(self, conn, calls):
        """Sends 'calls' [(method, params)] as one JSON-RPC batch on 'conn';
        returns the responses in call order, failing on any error."""
        import json
        reqs = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in enumerate(calls)]
        conn.sendall(json.dumps(reqs).encode() + b"\n")
        resp = conn.recv_json(TIMEOUT)
        self.assertIsInstance(resp, list, resp)
        by_id = {r["id"]: r for r in resp}
        self.assertEqual(sorted(by_id), list(range(len(calls))))
        for i in range(len(calls)):
            self.assertNotIn("error", by_id[i], "%s %r" % calls[i])
        return [by_id[i] for i in range(len(calls))]

    def test_thousand_ports(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        names = [port_name(i) for i in range(N_PORTS)]

        t0 = time.monotonic()
        with d.connect(TIMEOUT) as c:
            for k in range(0, N_PORTS, BATCH):
                self.batch(c, [("port.add", {"bridge": "br0", "name": n,
                                             "type": "vhost-user"})
                               for n in names[k:k + BATCH]])
        added = time.monotonic() - t0
        print("\n  %d vhost-user ports added in %.2f s" % (N_PORTS, added))

        ports = d.ports()
        self.assertEqual(sorted(ports), sorted(names))
        socks = set(d.vhost_sockets())
        self.assertEqual([n for n in names if d.vhost_sock(n) not in socks], [],
                         "ports without a socket")

        # One more is refused, and says why.
        r = d.rpc("port.add", {"bridge": "br0", "name": "vhu-extra",
                               "type": "vhost-user"}, timeout=TIMEOUT)
        self.assertIn("error", r, r)
        self.assertIn("too many vhost-user ports (at most 1000",
                      r["error"]["message"])
        self.assertNotIn("vhu-extra", d.ports())

        # Traffic between two of them, the 998 others idle.
        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
        b = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
        d.wait_port_state("vhu0", "up", TIMEOUT)
        d.wait_port_state("vhu1", "up", TIMEOUT)
        a.start_fwd()
        b.start_fwd()

        # Only the connected ports' queues are polled; all are listed.
        def rxqs():
            show = d.vsctl_json("pmd-rxq-show")
            return {q["port"]: q["enabled"] for p in show["pmds"] for q in p["rxqs"]}
        wait_until(lambda: rxqs().get("vhu0") and rxqs().get("vhu1"), TIMEOUT,
                   "vhu0 and vhu1 rx queues enabled")
        q = rxqs()
        self.assertEqual(len(q), N_PORTS)
        self.assertEqual(sorted(p for p, en in q.items() if en), ["vhu0", "vhu1"])

        # A -> unknown MAC: flooded to all 999 other ports; B gets each once.
        r = send_and_verify(d, a, "vhu0", b, "vhu1", bursts=8, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (N, 0))
        s = r["after"]
        self.assertEqual(delta(s, r["before"], "vhu2", "tx_dropped"), N,
                         "an unconnected port drops each flooded frame once")
        # B -> A (learned): unicast, nothing reaches the idle ports.
        r = send_and_verify(d, b, "vhu1", a, "vhu0", bursts=8, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (N, 0))
        for p in ("vhu2", "vhu500", "vhu999"):
            self.assertEqual(delta(r["after"], r["before"], p, "tx_dropped"), 0, p)
        a.quit()
        b.quit()

        t0 = time.monotonic()
        with d.connect(TIMEOUT) as c:
            for k in range(0, N_PORTS, BATCH):
                self.batch(c, [("port.del", {"name": n}) for n in names[k:k + BATCH]])
        print("  %d vhost-user ports deleted in %.2f s" % (N_PORTS, time.monotonic() - t0))
        self.assertEqual(d.ports(), {})
        self.assertEqual(d.vhost_sockets(), [])
