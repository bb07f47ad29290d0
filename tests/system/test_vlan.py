"""VLANs and jumbo frames (issue 6): access and trunk ports, per-VLAN
learning and flooding, MTU up to 9000 with counted drops.

  test_a_bad_values          vlan=0, vlan=4095, trunks=abc, trunks=5-3,
                             vlan= with trunks=, mtu=67, mtu=9001: vsctl exits
                             1 with a message naming the cause; nothing
                             changes (options, ports, conf.json); the
                             extremes are taken and survive a restart
  test_b_two_vlans           four frontends, vlan=10 on two ports and vlan=20
                             on two: broadcast and unicast stay in their VLAN
                             (exact counts on every port and frontend);
                             `set-port vhu3 vlan=10` at runtime moves the port,
                             flushes what it learned (fdb-show) and the
                             traffic follows
  test_c_trunk_tap_ping      the real peer: a trunk port (trunks=20) toward a
                             net_tap whose kernel side is in a namespace pings
                             an icmpecho frontend on an access port (vlan=20)
                             and every counter on the path is exact (tagged
                             bytes on the trunk side, untagged on the
                             access side).  With 8021q in the kernel the ping
                             is `ping` from a VLAN subinterface TAP.20 (which
                             counts every frame, `ip -s -d link` shows it);
                             without (the kernel of the machine this was
                             written on has none), vlan_peer.py sends the same
                             frames tagged from a packet socket and the
                             kernel's receive path reports the VLAN 20 tag of
                             every answer (PACKET_AUXDATA).  net_tap refuses
                             mtu=9000 (DPDK 22.11: 1522-byte frames at most)
                             with its real range.  Then a 9000-byte broadcast
                             from a second access port reaches the access
                             frontend untagged (9000 bytes each) and a trunk
                             frontend tagged (9004 bytes sent; its software
                             VLAN strip reports tci 0x14 on each), and is
                             dropped toward the mtu-1500 tap (tx_dropped_mtu)
  test_d_jumbo               9000-byte frames (5 chained mbufs in the switch)
                             between two mtu=9000 frontends, packets and bytes
                             exact on both sides; dropped and counted
                             (tx_dropped_mtu) toward an mtu=1500 port
  test_e_tagged_on_access    mtu= changes in place on a net_tap port (the
                             kernel interface follows) and 1600 is refused
                             with the device's range; then raw frames sent by
                             the kernel into an access port (net_tap in a
                             namespace): tagged ones are dropped
                             as rx_dropped_vlan, 802.1ad ones as
                             rx_dropped_qinq, priority-tagged and untagged ones
                             pass; the same into a trunk that does not carry
                             the VLAN

Kernel interfaces and namespaces get names unique to this process and are
removed at teardown (their cleanups are registered before the daemon's, so
they run after it stopped); traffic stays in the namespaces created here,
which have IPv6 disabled.
"""

import json
import os
import re
import struct

from test_ethdev import KernelPeers, conf_json, ip, kstats, link_exists, sh
from vstest import VsTestCase, delta, wait_until

TIMEOUT = 60
BCAST = "ff:ff:ff:ff:ff:ff"
MACS = ["02:00:00:00:00:%02x" % (0x10 + i) for i in range(4)]
E_MAC = "02:00:00:00:00:0e"
J_MAC = "02:00:00:00:00:0f"
NS_IP = "10.199.20.1"
PEER_IP = "10.199.20.2"            # answered by the icmpecho frontend
PINGS = 5
FRAMES = 1 + PINGS                 # one ARP + the echoes, each way
BYTES = 42 + PINGS * 98            # untagged
TAG = 4
BURST = 32                         # one `start tx_first 1`
TXPKTS_9000 = (2000, 2000, 2000, 2000, 1000)
JUMBO = sum(TXPKTS_9000)
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vlan_peer.py")


def kernel_has_vlan(ns, parent):
    """True if this kernel has 802.1Q VLAN devices (8021q): tries to make
    one on 'parent' in 'ns' and deletes it again."""
    name = "%s.4094" % parent
    if ip(ns, "link", "add", "link", parent, "name", name, "type", "vlan", "id", "4094",
          check=False).returncode:
        return False
    ip(ns, "link", "del", "dev", name)
    return True


class VlanTest(KernelPeers, VsTestCase):

    # -- kernel side (as in test_ethdev.py) ---------------------------------

    @staticmethod
    def into_netns(ifname, ns):
        """Moves 'ifname' into 'ns' with IPv6 off and sets it up (no
        address: the kernel sends nothing through it by itself)."""
        ip(None, "link", "set", "dev", ifname, "netns", ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % ifname)
        ip(ns, "link", "set", "dev", ifname, "up")

    @staticmethod
    def vlan_subif(ns, parent, vid, addr, mtu=None):
        """PARENT.VID in 'ns', IPv6 off, address 'addr'/24, up."""
        sub = "%s.%d" % (parent, vid)
        ip(ns, "link", "add", "link", parent, "name", sub, "type", "vlan", "id", str(vid))
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % sub)
        if mtu:
            ip(ns, "link", "set", "dev", sub, "mtu", str(mtu))
        ip(ns, "addr", "add", "%s/24" % addr, "dev", sub)
        ip(ns, "link", "set", "dev", sub, "up")
        return sub

    def ping(self, ns, dst, count=PINGS):
        r = sh("ip", "netns", "exec", ns, "ping", "-c", str(count), "-i", "0.2",
               "-W", "2", dst, check=False, timeout=count * 3 + 30)
        self.assertEqual(r.returncode, 0, "ping %s from %s failed:\n%s%s"
                         % (dst, ns, r.stdout, r.stderr))
        self.assertIn("%d packets transmitted, %d received" % (count, count), r.stdout)

    @staticmethod
    def raw_send(ns, ifname, frames):
        """Sends 'frames' (bytes) out of 'ifname' in 'ns' with a packet
        socket, exactly as given."""
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
                "s.bind((sys.argv[1],0))\n"
                "for h in sys.argv[2:]:\n"
                "    s.send(bytes.fromhex(h))\n")
        sh("ip", "netns", "exec", ns, "python3", "-c", code, ifname,
           *[f.hex() for f in frames])

    # -- frontends -----------------------------------------------------------

    def frontends(self, d, specs):
        """Starts one testpmd per (port, mac, name, kwargs) at once (each
        takes seconds to come up) and waits for all of them and their ports
        to be up."""
        tps = [self.frontend(d.vhost_sock(p), mac, name=name, start=False, **kw)
               for p, mac, name, kw in specs]
        for t in tps:
            t.start(wait=False)
        for t in tps:
            t.wait_ready(TIMEOUT)
        for p, _, _, _ in specs:
            d.wait_port_state(p, "up", TIMEOUT)
        return tps

    # ------------------------------------------------------------------------

    def test_a_bad_values(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "acc", "type=vhost-user", "vlan=10", "mtu=9000")
        d.vsctl("add-port", "br0", "trk", "type=vhost-user", "trunks=10,20-30",
                "native-vlan=5")
        d.vsctl("add-port", "br0", "dflt", "type=vhost-user")
        opts = {p: d.vsctl_json("port-show", p)["options"] for p in ("acc", "trk", "dflt")}
        self.assertEqual(opts, {"acc": {"vlan": "10", "mtu": "9000"},
                                "trk": {"trunks": "10,20-30", "native-vlan": "5"},
                                "dflt": {}})
        conf0 = conf_json(d)
        range_msg = 'must be an integer between %d and %d'
        trunks_msg = ('trunks="%s" must be a list of VLANs and ranges between 0 and '
                      '4094, e.g. 10,20-30')
        access_msg = "an access port (vlan=) cannot have trunks= or native-vlan="
        cases = [
            # (set-port args, port, message; add-port with the same args
            # fails the same way unless marked False)
            (("vlan=0",), "dflt", 'option vlan="0" ' + range_msg % (1, 4094)),
            (("vlan=4095",), "dflt", 'option vlan="4095" ' + range_msg % (1, 4094)),
            (("vlan=ten",), "dflt", 'option vlan="ten" ' + range_msg % (1, 4094)),
            (("trunks=abc",), "dflt", trunks_msg % "abc"),
            (("trunks=5-3",), "trk", trunks_msg % "5-3"),
            (("trunks=10,4095",), "trk", trunks_msg % "10,4095"),
            (("trunks=10,",), "trk", trunks_msg % "10,"),
            (("vlan=10", "trunks=20"), "dflt", access_msg),
            (("trunks=20",), "acc", access_msg, False),
            (("native-vlan=4095",), "trk", 'option native-vlan="4095" '
             + range_msg % (0, 4094)),
            (("mtu=67",), "acc", 'option mtu="67" ' + range_msg % (68, 9000)),
            (("mtu=9001",), "dflt", 'option mtu="9001" ' + range_msg % (68, 9000)),
        ]
        for args, port, msg, *add in cases:
            cmds = [("set-port", port) + args]
            if add != [False]:
                cmds.append(("add-port", "br0", "new", "type=vhost-user") + args)
            for cmd in cmds:
                name = port if cmd[0] == "set-port" else "new"
                rc, out, err = d.vsctl(*cmd, check=False)
                self.assertEqual((rc, out), (1, ""), "vsctl %s: %r" % (cmd, err))
                self.assertEqual(err, 'vsctl: port "%s": %s\n' % (name, msg),
                                 "vsctl %s" % (cmd,))
        self.assertEqual({p: d.vsctl_json("port-show", p)["options"] for p in opts}, opts)
        self.assertEqual(sorted(d.ports()), ["acc", "dflt", "trk"])
        self.assertEqual(conf_json(d), conf0, "conf.json changed by refused commands")
        self.assertFalse(os.path.exists(d.vhost_sock("new")))
        # The extremes are accepted.
        d.vsctl("set-port", "dflt", "vlan=4094", "mtu=68")
        d.vsctl("set-port", "dflt", "vlan=", "trunks=0-4094", "native-vlan=4094",
                "mtu=9000")
        self.assertEqual(d.vsctl_json("port-show", "dflt")["options"],
                         {"trunks": "0-4094", "native-vlan": "4094", "mtu": "9000"})
        # A restart restores them.
        opts["dflt"] = {"trunks": "0-4094", "native-vlan": "4094", "mtu": "9000"}
        d.stop()
        d.start()
        self.assertEqual({p: d.vsctl_json("port-show", p)["options"] for p in opts}, opts)
        self.assertEqual({p: d.port_state(p) for p in opts}, dict.fromkeys(opts, "down"))

    def test_b_two_vlans(self):
        ports = ("vhu0", "vhu1", "vhu2", "vhu3")
        vlans = (10, 10, 20, 20)
        d = self.daemon()
        d.vsctl("add-br", "br0")
        for p, v in zip(ports, vlans):
            d.vsctl("add-port", "br0", p, "type=vhost-user", "vlan=%d" % v)
        tps = self.frontends(d, [(p, MACS[i], "F%d" % i, {"peer": BCAST})
                                 for i, p in enumerate(ports)])
        for t in tps:
            t.start_fwd()              # rxonly
        fdb_idle = d.fdb("br0")

        def burst(src, dst_mac, expect, what):
            """Frontend 'src' sends BURST 64-byte frames to 'dst_mac'; exactly
            the ports (indexes) in 'expect' get them, every counter exact."""
            s0 = d.all_port_stats()
            f0 = [t.port_stats() for t in tps]
            tps[src].set_peer(dst_mac)
            tps[src].start_tx_first(1)
            want = {p: (BURST if i in expect else 0) for i, p in enumerate(ports)}

            def arrived():
                s = d.all_port_stats()
                return all(delta(s, s0, p, "tx_packets") >= n for p, n in want.items()) \
                    and delta(s, s0, ports[src], "rx_packets") >= BURST and s
            wait_until(arrived, TIMEOUT, what + ": switch tx")
            for i, t in enumerate(tps):
                if i in expect:
                    wait_until(lambda t=t, i=i: t.port_stats()["RX-packets"]
                               - f0[i]["RX-packets"] >= BURST, TIMEOUT,
                               what + ": %s RX-packets" % t.name)
            # Every copy of a flooded frame is sent in the same PMD pass, so
            # once the expected copies are out, any wrong one is too.
            s = d.all_port_stats()
            got = {p: (delta(s, s0, p, "rx_packets"), delta(s, s0, p, "tx_packets"),
                       delta(s, s0, p, "rx_dropped"), delta(s, s0, p, "tx_dropped"))
                   for p in ports}
            # Alone in its VLAN, the sender's frames have nowhere to go:
            # rx_dropped (rx_dropped_no_dest).
            lonely = BURST if not expect else 0
            self.assertEqual(got, {p: (BURST if i == src else 0, want[p],
                                       lonely if i == src else 0, 0)
                                   for i, p in enumerate(ports)},
                             what + ": switch (rx, tx, rx_dropped, tx_dropped)")
            f = [t.port_stats() for t in tps]
            gotf = {t.name: (f[i]["RX-packets"] - f0[i]["RX-packets"],
                             f[i]["RX-bytes"] - f0[i]["RX-bytes"],
                             f[i]["TX-packets"] - f0[i]["TX-packets"])
                    for i, t in enumerate(tps)}
            self.assertEqual(gotf, {t.name: (BURST if i in expect else 0,
                                             64 * BURST if i in expect else 0,
                                             BURST if i == src else 0)
                                    for i, t in enumerate(tps)},
                             what + ": frontends (RX-packets, RX-bytes, TX-packets)")

        # Broadcast stays in its VLAN.
        burst(0, BCAST, {1}, "broadcast in VLAN 10")
        burst(2, BCAST, {3}, "broadcast in VLAN 20")
        fdb = d.fdb("br0")
        self.assertEqual({k: v for k, v in fdb.items() if k not in fdb_idle},
                         {(MACS[0], 10): "vhu0", (MACS[2], 20): "vhu2"})
        # Unicast to a MAC known only in the other VLAN floods in its own.
        burst(3, MACS[0], {2}, "VLAN 20 to a VLAN 10 MAC")
        burst(1, MACS[2], {0}, "VLAN 10 to a VLAN 20 MAC")
        # Known unicast goes to its port alone.
        burst(0, MACS[1], {1}, "VLAN 10 known unicast")
        burst(2, MACS[3], {3}, "VLAN 20 known unicast")
        fdb = d.fdb("br0")
        self.assertEqual({k: v for k, v in fdb.items() if k not in fdb_idle},
                         {(MACS[0], 10): "vhu0", (MACS[1], 10): "vhu1",
                          (MACS[2], 20): "vhu2", (MACS[3], 20): "vhu3"})

        # vhu3 moves to VLAN 10 at runtime: its frontend stays connected,
        # what it learned is forgotten, traffic follows.
        d.vsctl("set-port", "vhu3", "vlan=10")
        self.assertEqual(d.port_state("vhu3"), "up")
        fdb = d.fdb("br0")
        self.assertEqual({k: v for k, v in fdb.items() if k not in fdb_idle},
                         {(MACS[0], 10): "vhu0", (MACS[1], 10): "vhu1",
                          (MACS[2], 20): "vhu2"})
        burst(0, BCAST, {1, 3}, "broadcast in VLAN 10 after the move")
        burst(2, BCAST, set(), "broadcast in VLAN 20 after the move")
        burst(3, MACS[0], {0}, "vhu3 to vhu0 in VLAN 10")
        self.assertEqual(d.fdb("br0").get((MACS[3], 10)), "vhu3")
        self.assertNotIn((MACS[3], 20), d.fdb("br0"))

    def test_c_trunk_tap_ping(self):
        ns = self.netns()
        tap = self.ifname()
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", "vlan=20", "mtu=9000")
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user", "vlan=20", "mtu=9000")
        d.vsctl("add-port", "br0", "vhu2", "type=vhost-user", "vlan=30", "mtu=9000")
        d.vsctl("add-port", "br0", "vhu3", "type=vhost-user", "trunks=20", "mtu=9000")
        e, j, t = self.frontends(d, [
            ("vhu0", E_MAC, "E", {"fwd": "icmpecho"}),
            ("vhu1", J_MAC, "J", {"peer": BCAST,
                                  "extra_app": ["--txpkts=%s" % ",".join(
                                      map(str, TXPKTS_9000))]}),
            # The trunk frontend strips the tag in software and prints it.
            ("vhu3", MACS[3], "T", {"extra_app": ["--enable-hw-vlan-strip"]})])
        e.start_fwd()
        t.cmd("set verbose 1")
        t.start_fwd()
        # DPDK 22.11's net_tap receives frames of 1522 bytes at most
        # (max_rx_pktlen): mtu=9000 is refused with the real range, and
        # nothing is left behind.
        devargs = "devargs=net_tap0,iface=%s" % tap
        rc, out, err = d.vsctl("add-port", "br0", "t0", "type=dpdk", devargs,
                               "trunks=20", "mtu=9000", check=False)
        self.assertEqual((rc, out, err), (1, "", 'vsctl: port "t0": device net_tap0 '
                                          'cannot take mtu=9000 (its range: 46-1504): '
                                          'Invalid argument\n'))
        self.assertNotIn("t0", d.ports())
        wait_until(lambda: not link_exists(tap), TIMEOUT, "%s removed" % tap)
        d.vsctl("add-port", "br0", "t0", "type=dpdk", devargs, "trunks=20")
        self.assertEqual(d.port_state("t0"), "up")
        self.into_netns(tap, ns)
        sub = self.vlan_subif(ns, tap, 20, NS_IP) if kernel_has_vlan(ns, tap) else None

        def do_ping(count):
            if sub:
                self.ping(ns, PEER_IP, count)
                return None
            # No 8021q in this kernel: vlan_peer.py sends the same frames
            # (tagged ARP, then echo requests of 98 bytes) with a packet
            # socket, and reports the tags of the answers as the kernel
            # parsed them.
            r = sh("ip", "netns", "exec", ns, "python3", PEER_SCRIPT, tap, "20", NS_IP,
                   PEER_IP, str(count), check=False)
            self.assertEqual(r.returncode, 0, "vlan_peer.py: %s%s" % (r.stdout, r.stderr))
            return json.loads(r.stdout)

        # Drain what the host queued on the tap before it moved (see
        # test_ethdev.py), then count one ping exactly.
        do_ping(1)
        if sub:
            ip(ns, "neigh", "flush", "dev", sub)

        def snap():
            return {"k": kstats(tap, ns), "sub": kstats(sub, ns) if sub else None,
                    "s": d.all_port_stats(), "e": e.port_stats()}

        def settled(pred, what):
            last = {}

            def ok():
                last["s"] = s = snap()
                return pred(s) and s
            return wait_until(ok, TIMEOUT, lambda: "%s: %r" % (what, last.get("s")))

        def quiet(s):
            k, t0, v0 = s["k"], s["s"]["t0"], s["s"]["vhu0"]
            return (k["tx_packets"] == t0["rx_packets"]
                    and t0["tx_packets"] == k["rx_packets"]
                    and v0["tx_packets"] == s["e"]["RX-packets"]
                    and v0["rx_packets"] == s["e"]["TX-packets"]
                    and v0["rx_packets"] == t0["tx_packets"] + t0["tx_dropped"])
        s0 = settled(quiet, "counters on the path to agree")
        peer = do_ping(PINGS)
        s1 = settled(quiet, "counters on the path to agree")

        def dk(k, key):
            return s1[k][key] - s0[k][key]
        if peer:
            # The kernel parsed an 802.1Q tag of VLAN 20 on every answer:
            # the ARP reply (42 bytes + tag) and the echo replies (98 + 4).
            self.assertEqual(peer["peer_mac"], E_MAC)
            self.assertEqual(peer["frames"],
                             [{"len": 46, "tpid": 0x8100, "tci": 20, "kernel": True}]
                             + [{"len": 102, "tpid": 0x8100, "tci": 20, "kernel": True}]
                             * PINGS)

        def ds(p, key):
            return s1["s"][p][key] - s0["s"][p][key]
        tagged = (FRAMES, BYTES + TAG * FRAMES)
        untagged = (FRAMES, BYTES)
        got = {
            "TAP tx": (dk("k", "tx_packets"), dk("k", "tx_bytes")),
            "t0 rx": (ds("t0", "rx_packets"), ds("t0", "rx_bytes")),
            "vhu0 tx": (ds("vhu0", "tx_packets"), ds("vhu0", "tx_bytes")),
            "E RX": (dk("e", "RX-packets"), dk("e", "RX-bytes")),
            "E TX": (dk("e", "TX-packets"), dk("e", "TX-bytes")),
            "vhu0 rx": (ds("vhu0", "rx_packets"), ds("vhu0", "rx_bytes")),
            "t0 tx": (ds("t0", "tx_packets"), ds("t0", "tx_bytes")),
            "TAP rx": (dk("k", "rx_packets"), dk("k", "rx_bytes")),
        }
        want = {"TAP tx": tagged, "t0 rx": tagged, "vhu0 tx": untagged, "E RX": untagged,
                "E TX": untagged, "vhu0 rx": untagged, "t0 tx": tagged, "TAP rx": tagged}
        if sub:
            # The VLAN subinterface sent and received every frame (the
            # kernel counts its bytes without the tag).
            got["TAP.20 tx"] = (dk("sub", "tx_packets"), dk("sub", "tx_bytes"))
            got["TAP.20 rx"] = (dk("sub", "rx_packets"), dk("sub", "rx_bytes"))
            want["TAP.20 tx"] = want["TAP.20 rx"] = untagged
        self.assertEqual(got, want, "(packets, bytes) on the path")
        for p in ("t0", "vhu0", "vhu1", "vhu2"):
            self.assertEqual((ds(p, "rx_dropped"), ds(p, "tx_dropped")), (0, 0), p)
        # J (vhu1, VLAN 20) got the ARP request; vhu2 (VLAN 30) nothing.
        self.assertEqual((ds("vhu1", "tx_packets"), ds("vhu2", "tx_packets")), (1, 0))
        for k in ("k", "sub") if sub else ():
            self.assertEqual((dk(k, "rx_dropped"), dk(k, "tx_dropped")), (0, 0), k)

        # A 9000-byte broadcast from J (vhu1, VLAN 20): to E untagged, to the
        # trunk frontend T tagged 20 (9004 bytes), not to vhu2 (VLAN 30);
        # dropped toward t0 (mtu 1500), counted.
        s0 = snap()
        self.assertIn("Segment sizes: %s" % ",".join(map(str, TXPKTS_9000)),
                      j.cmd("show config txpkts"))
        t0 = t.port_stats()
        tout0 = len(t.output())
        j.start_tx_first(1)
        j.stop()

        def jumbo_done(s):
            return (s["e"]["RX-packets"] - s0["e"]["RX-packets"] >= BURST
                    and s["s"]["t0"]["tx_dropped"] - s0["s"]["t0"]["tx_dropped"] >= BURST
                    and t.port_stats()["RX-packets"] - t0["RX-packets"] >= BURST)
        s1 = settled(jumbo_done, "%d jumbo frames at E and T" % BURST)
        t1 = t.port_stats()
        got = {
            "vhu1 rx": (ds("vhu1", "rx_packets"), ds("vhu1", "rx_bytes")),
            "vhu0 tx": (ds("vhu0", "tx_packets"), ds("vhu0", "tx_bytes")),
            "E RX": (dk("e", "RX-packets"), dk("e", "RX-bytes")),
            "vhu3 tx": (ds("vhu3", "tx_packets"), ds("vhu3", "tx_bytes")),
            "T RX": (t1["RX-packets"] - t0["RX-packets"], t1["RX-bytes"] - t0["RX-bytes"]),
            "t0 tx": (ds("t0", "tx_packets"), ds("t0", "tx_dropped"),
                      ds("t0", "tx_dropped_mtu")),
            "vhu2 tx": ds("vhu2", "tx_packets"),
        }
        self.assertEqual(got, {
            "vhu1 rx": (BURST, BURST * JUMBO), "vhu0 tx": (BURST, BURST * JUMBO),
            "E RX": (BURST, BURST * JUMBO), "vhu3 tx": (BURST, BURST * (JUMBO + TAG)),
            # (virtio strips the tag before counting bytes)
            "T RX": (BURST, BURST * JUMBO), "t0 tx": (0, BURST, BURST),
            "vhu2 tx": 0}, "jumbo broadcast (packets, bytes)")
        # T saw the tag of VLAN 20 on every one of them.
        dump = t.output()[tout0:]
        self.assertEqual(len(re.findall(r"length=%d .*VLAN tci=0x14\b" % JUMBO, dump)),
                         BURST, dump[-2000:])
        for p in ("vhu0", "vhu1", "vhu2", "vhu3"):
            self.assertEqual((ds(p, "rx_dropped"), ds(p, "tx_dropped")), (0, 0), p)
        if sub:
            # `ip -s -d link show TAP.20` (what users read) shows the VLAN
            # and every frame of the ping received there.
            lines = ip(ns, "-s", "-d", "link", "show", "dev", sub).stdout.splitlines()
            self.assertIn("vlan protocol 802.1Q id 20", "\n".join(lines))
            rx = [lines[i + 1].split() for i, l in enumerate(lines)
                  if l.strip().startswith("RX:")]
            self.assertEqual(int(rx[0][1]), kstats(sub, ns)["rx_packets"], lines)

    def test_d_jumbo(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", "mtu=9000")
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user", "mtu=9000")
        d.vsctl("add-port", "br0", "vhu2", "type=vhost-user")       # mtu 1500
        idle = d.pmd_stats()["mbufs"]["in_use"]
        a, b, c = self.frontends(d, [
            ("vhu0", MACS[0], "A", {"peer": BCAST, "extra_app": [
                "--txpkts=%s" % ",".join(map(str, TXPKTS_9000))]}),
            ("vhu1", MACS[1], "B", {}),
            ("vhu2", MACS[2], "C", {})])
        b.start_fwd()
        c.start_fwd()
        self.assertIn("Segment sizes: %s" % ",".join(map(str, TXPKTS_9000)),
                      a.cmd("show config txpkts"))
        s0 = d.all_port_stats()
        b0, c0 = b.port_stats(), c.port_stats()
        a.start_tx_first(1)
        a.stop()
        self.assertEqual(a.port_stats()["TX-bytes"], BURST * JUMBO)

        def done():
            s = d.all_port_stats()
            return (delta(s, s0, "vhu1", "tx_packets") >= BURST
                    and delta(s, s0, "vhu2", "tx_dropped") >= BURST
                    and b.port_stats()["RX-packets"] - b0["RX-packets"] >= BURST and s)
        s = wait_until(done, TIMEOUT, "jumbo frames at B and dropped toward vhu2")
        got = {p: {k: delta(s, s0, p, k) for k in
                   ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "tx_dropped",
                    "tx_dropped_mtu", "rx_dropped")} for p in ("vhu0", "vhu1", "vhu2")}
        z = dict.fromkeys(got["vhu0"], 0)
        self.assertEqual(got, {
            "vhu0": dict(z, rx_packets=BURST, rx_bytes=BURST * JUMBO),
            "vhu1": dict(z, tx_packets=BURST, tx_bytes=BURST * JUMBO),
            "vhu2": dict(z, tx_dropped=BURST, tx_dropped_mtu=BURST)})
        bs, cs = b.port_stats(), c.port_stats()
        self.assertEqual((bs["RX-packets"] - b0["RX-packets"], bs["RX-bytes"] - b0["RX-bytes"],
                          bs["RX-errors"] - b0["RX-errors"]), (BURST, BURST * JUMBO, 0))
        self.assertEqual(cs["RX-packets"] - c0["RX-packets"], 0)
        # Every mbuf of the 5-segment chains is back.
        wait_until(lambda: d.pmd_stats()["mbufs"]["in_use"] == idle, TIMEOUT,
                   "mbufs in_use back to %d" % idle)

    def test_e_tagged_on_access(self):
        ns = self.netns()
        acc, trk = self.ifname(), self.ifname()
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "acc", "type=dpdk",
                "devargs=net_tap0,iface=%s" % acc, "vlan=20")
        d.vsctl("add-port", "br0", "trk", "type=dpdk",
                "devargs=net_tap1,iface=%s" % trk, "trunks=10,20")
        # mtu changes in place on a running device (rte_eth_dev_set_mtu: the
        # kernel side follows), and what the device cannot take is refused
        # with nothing changed.
        d.vsctl("set-port", "acc", "mtu=1400")
        self.assertIn('"mtu":1400', ip(None, "-j", "link", "show", "dev", acc).stdout)
        self.assertEqual(d.vsctl_json("port-show", "acc")["options"],
                         {"devargs": "net_tap0,iface=%s" % acc, "vlan": "20", "mtu": "1400"})
        rc, out, err = d.vsctl("set-port", "acc", "mtu=1600", check=False)
        self.assertEqual((rc, out, err), (1, "", 'vsctl: port "acc": device net_tap0 '
                                          'cannot take mtu=1600 (its range: 46-1504): '
                                          'Invalid argument\n'))
        self.assertIn('"mtu":1400', ip(None, "-j", "link", "show", "dev", acc).stdout)
        self.assertEqual(d.vsctl_json("port-show", "acc")["options"],
                         {"devargs": "net_tap0,iface=%s" % acc, "vlan": "20", "mtu": "1400"})
        self.assertEqual(d.port_state("acc"), "up")
        for i in (acc, trk):
            self.into_netns(i, ns)

        def frame(tags, dst=b"\xff" * 6, src=b"\x02\x00\x00\x00\x00\x99"):
            return (dst + src + b"".join(struct.pack("!HH", tp, tci) for tp, tci in tags)
                    + struct.pack("!H", 0x88b5) + bytes(46))

        def counters():
            s = d.all_port_stats()
            return {"k_acc": kstats(acc, ns), "k_trk": kstats(trk, ns), "s": s}

        # Settle whatever the host sent before the taps moved.
        def stable():
            a = counters()
            return (a["k_acc"]["tx_packets"] == a["s"]["acc"]["rx_packets"]
                    and a["k_trk"]["tx_packets"] == a["s"]["trk"]["rx_packets"]
                    and a["k_acc"]["rx_packets"] == a["s"]["acc"]["tx_packets"]
                    and a["k_trk"]["rx_packets"] == a["s"]["trk"]["tx_packets"]
                    and a)
        c0 = wait_until(stable, TIMEOUT, "tap counters to settle")
        # Into the access port: tagged 20 and 30 dropped (rx_dropped_vlan),
        # 802.1ad dropped (rx_dropped_qinq), priority-tagged and untagged
        # ones pass (to the trunk, tagged 20).
        self.raw_send(ns, acc, [frame([(0x8100, 20)]), frame([(0x8100, 30)]),
                                frame([(0x88a8, 20), (0x8100, 20)]),
                                frame([(0x8100, 0x6000)]), frame([])])
        # Into the trunk: VLAN 30 is not carried, untagged is not either (no
        # native VLAN given: VLAN 0 is not in trunks=10,20), 0x8100 in 0x8100
        # dropped; VLAN 20 passes to the access port, untagged.
        self.raw_send(ns, trk, [frame([(0x8100, 30)]), frame([]),
                                frame([(0x8100, 20), (0x8100, 20)]),
                                frame([(0x8100, 20)])])
        c1 = wait_until(lambda: (lambda c: c["s"]["acc"]["rx_packets"]
                                 - c0["s"]["acc"]["rx_packets"] >= 5
                                 and c["s"]["trk"]["rx_packets"]
                                 - c0["s"]["trk"]["rx_packets"] >= 4
                                 and c["k_trk"]["rx_packets"]
                                 - c0["k_trk"]["rx_packets"] >= 2
                                 and c["k_acc"]["rx_packets"]
                                 - c0["k_acc"]["rx_packets"] >= 1
                                 and c)(counters()), TIMEOUT, "frames handled")
        keys = ("rx_packets", "rx_dropped", "rx_dropped_vlan", "rx_dropped_qinq",
                "tx_packets", "tx_bytes", "tx_dropped")
        got = {p: {k: delta(c1["s"], c0["s"], p, k) for k in keys} for p in ("acc", "trk")}
        self.assertEqual(got, {
            "acc": {"rx_packets": 5, "rx_dropped": 3, "rx_dropped_vlan": 2,
                    "rx_dropped_qinq": 1, "tx_packets": 1, "tx_bytes": 60,
                    "tx_dropped": 0},
            "trk": {"rx_packets": 4, "rx_dropped": 3, "rx_dropped_vlan": 2,
                    "rx_dropped_qinq": 1, "tx_packets": 2, "tx_bytes": 2 * 64,
                    "tx_dropped": 0}})
        # The kernel got exactly those: two frames tagged 20 on the trunk,
        # one untagged on the access port.
        self.assertEqual((c1["k_trk"]["rx_packets"] - c0["k_trk"]["rx_packets"],
                          c1["k_trk"]["rx_bytes"] - c0["k_trk"]["rx_bytes"],
                          c1["k_acc"]["rx_packets"] - c0["k_acc"]["rx_packets"],
                          c1["k_acc"]["rx_bytes"] - c0["k_acc"]["rx_bytes"]),
                         (2, 2 * 64, 1, 60))
