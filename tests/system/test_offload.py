"""Checksum offload and TSO through the switch, with real virtio-user
frontends (issue 8, item 3).

A sender testpmd ("A") reads TCP frames from a pcap file (a net_pcap port)
and forwards them with the `csum` engine to its virtio-user port, asking for
TCP checksum offload and TSO (`csum set tcp hw 0`, `tso set 1400 0`): the
virtio PMD then sends partial checksums and 4000-byte TCP super-frames to
the switch, as a Linux guest does.  A receiver testpmd io-forwards what its
virtio-user port gets into a pcap file, which the test reads back byte by
byte:

  - a receiver that negotiated GUEST_CSUM/GUEST_TSO4/GUEST_TSO6 (its port
    configured with rx_offload tcp_lro and tcp_cksum) gets every frame as
    it was sent: the same number, the full super-frames, their partial
    checksums untouched (metadata passed through, no segmentation);
  - a receiver that did not negotiate them (its switch port has
    csum=false,tso=false; or the frontend just does not ask) gets valid
    checksums and exactly the segments the MSS gives (3 per super-frame),
    with consecutive sequence numbers, PSH on the last only, whose payloads
    concatenated are the original's.

Counts are exact: the input is 8 TCP/IPv4 and 8 TCP/IPv6 super-frames of
4000 payload bytes and 8 small TCP/IPv4 frames (checksum only).
"""

import os
import struct
import unittest

from test_ethdev import KernelPeers, ip, sh
from vstest import VsTestCase, wait_until

MAC_A = "02:00:00:00:0a:01"
MAC_B = "02:00:00:00:0b:01"
MSS = 1400        # Segments of IPv6 (40 + 32 bytes of headers) fit MTU 1500.
BIG = 4000        # Payload of a super-frame: 3 segments at MSS 1400.
SMALL = 500
N_EACH = 8


# -- frames and pcap files ----------------------------------------------------

def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def csum16(data):
    """The Internet checksum's ones' complement sum of 'data', folded (not
    inverted)."""
    if len(data) % 2:
        data += b"\0"
    return fold(sum(struct.unpack("!%dH" % (len(data) // 2), data)))


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


SRC4, DST4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
SRC6 = bytes([0xfd] + [0] * 14 + [1])
DST6 = bytes([0xfd] + [0] * 14 + [2])


def pseudo_sum(v6, tcp_len):
    if v6:
        return csum16(SRC6 + DST6 + struct.pack("!IxxxB", tcp_len, 6))
    return csum16(SRC4 + DST4 + struct.pack("!BBH", 0, 6, tcp_len))


def payload_of(flow, n):
    return bytes((flow * 31 + i * 7 + (i >> 8)) & 0xff for i in range(n))


def tcp_frame(v6, sport, seq, payload, flags=0x18):
    """Ethernet (A -> B) / IPv4 or IPv6 / TCP (with the 12-byte timestamp
    option, as Linux sends) / payload, all checksums valid."""
    opts = b"\x01\x01\x08\x0a" + struct.pack("!II", 1, 2)
    hdr_len = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, 5201, seq, 77, (hdr_len // 4) << 4,
                      flags, 512, 0, 0) + opts
    seg = tcp + payload
    ck = 0xffff - fold(pseudo_sum(v6, len(seg)) + csum16(seg))
    seg = seg[:16] + struct.pack("!H", ck) + seg[18:]
    if v6:
        ip = struct.pack("!IHBB", 0x60000000, len(seg), 6, 64) + SRC6 + DST6
        etype = 0x86dd
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1000, 0x4000,
                         64, 6, 0, SRC4, DST4)
        ip = ip[:10] + struct.pack("!H", 0xffff - csum16(ip)) + ip[12:]
        etype = 0x0800
    return mac_bytes(MAC_B) + mac_bytes(MAC_A) + struct.pack("!H", etype) + ip + seg


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    frames, off = [], 24
    while off + 16 <= len(data):
        incl, orig = struct.unpack_from("<II", data, off + 8)
        if off + 16 + incl > len(data):
            break
        assert incl == orig, "truncated capture record (%d of %d)" % (incl, orig)
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


class Parsed:
    """The headers of one received frame."""

    def __init__(self, fr):
        etype = struct.unpack_from("!H", fr, 12)[0]
        self.v6 = etype == 0x86dd
        assert etype in (0x0800, 0x86dd), "not IP: 0x%04x" % etype
        if self.v6:
            plen = struct.unpack_from("!H", fr, 18)[0]
            self.l4 = 14 + 40
            self.ip_ok = True
            assert len(fr) == self.l4 + plen, "IPv6 payload_len %d, frame %d" % (
                plen, len(fr))
        else:
            ihl = (fr[14] & 0xf) * 4
            tot = struct.unpack_from("!H", fr, 16)[0]
            self.l4 = 14 + ihl
            self.ip_ok = csum16(fr[14:14 + ihl]) == 0xffff
            assert len(fr) == 14 + tot, "IPv4 total_length %d, frame %d" % (tot, len(fr))
        seg = fr[self.l4:]
        self.tcp_len = len(seg)
        (self.sport, _, self.seq, _, off, self.flags, _, self.cksum, _) = \
            struct.unpack_from("!HHIIBBHHH", seg)
        self.payload = seg[(off >> 4) * 4:]
        self.csum_ok = fold(pseudo_sum(self.v6, len(seg)) + csum16(seg)) == 0xffff
        # A partial checksum is a pseudo-header sum: with the TCP length
        # (Linux, and DPDK's virtio PMD for plain checksum offload) or
        # without it (DPDK's convention for TSO, which its virtio PMD sends).
        self.partial = self.cksum in (pseudo_sum(self.v6, len(seg)),
                                      pseudo_sum(self.v6, 0))


def snmp(ns):
    """The kernel's IP and TCP counters in namespace 'ns' ({"Tcp": {...},
    "Ip": {...}}; TCP's are shared by IPv4 and IPv6)."""
    out = sh("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").stdout.splitlines()
    res = {}
    for head, vals in zip(out[0::2], out[1::2]):
        proto = head.split(":")[0]
        res[proto] = dict(zip(head.split()[1:], map(int, vals.split()[1:])))
    return res


# -- the test -----------------------------------------------------------------

class OffloadTest(KernelPeers, VsTestCase):

    def setUp(self):
        self.inputs = []            # (v6, sport, payload) per input frame.
        frames = []
        sport = 40000
        for v6, size in ([(False, BIG)] * N_EACH + [(True, BIG)] * N_EACH
                         + [(False, SMALL)] * N_EACH):
            p = payload_of(sport, size)
            self.inputs.append((v6, sport, p))
            frames.append(tcp_frame(v6, sport, 0xfffff000, p))
            sport += 1
        self.frames = frames

    def run_case(self, rx_options=(), rx_negotiates=True, rx_vdev_args=""):
        """Bridge with A's port and B's port (B's with 'rx_options'); A sends
        the input; returns (B's received frames, switch stats, port-show of
        both ports)."""
        d = self.daemon()
        tmp = d.workdir
        in_pcap = os.path.join(tmp, "in.pcap")
        write_pcap(in_pcap, self.frames)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhua", "type=vhost-user")
        d.vsctl("add-port", "br0", "vhub", "type=vhost-user", *rx_options)

        out_pcap = os.path.join(tmp, "b-rx.pcap")
        b = self.attach(d, "vhub", MAC_B, "b", fwd="io", vdev_args=rx_vdev_args,
                        extra_eal=["--vdev", "net_pcap1,tx_pcap=%s" % out_pcap])
        self.b_rx_capa = b.cmd("show port 0 rx_offload capabilities")
        if rx_negotiates:
            b.cmd("port stop 0")
            b.cmd("port config 0 rx_offload tcp_lro on")
            b.cmd("port config 0 rx_offload tcp_cksum on")
            b.cmd("port config 0 rx_offload udp_cksum on")
            out = b.cmd("port start 0")
            self.assertNotIn("Fail", out)
        b.start_fwd()

        a = self.sender(d, in_pcap)
        show_a = self.wait_negotiated(d, "vhua", ["csum", "host_tso4", "host_tso6"])
        if rx_negotiates:
            show_b = self.wait_negotiated(d, "vhub", ["guest_csum", "guest_tso4",
                                                      "guest_tso6"])
        else:
            show_b = d.vsctl_json("port-show", "vhub")
        d.wait_port_state("vhua", "up", 60)
        d.wait_port_state("vhub", "up", 60)
        self.send(d, a)
        return d, a, b, out_pcap, show_a, show_b

    @staticmethod
    def wait_negotiated(d, port, names):
        """Waits until 'port' has negotiated the features 'names'; returns
        its port-show."""
        def negotiated():
            sh = d.vsctl_json("port-show", port)
            feats = sh.get("vhost", {}).get("features", [])
            return all(n in feats for n in names) and sh
        return wait_until(negotiated, 60, "%s negotiates %s" % (port, ", ".join(names)))

    def sender(self, d, in_pcap):
        """Testpmd A on port vhua: csum engine from a pcap port reading
        'in_pcap' to its virtio-user port, with TCP checksum offload and TSO
        at MSS.  Not yet forwarding."""
        # --no-flush-rx: `start` would otherwise drain (and drop) the pcap.
        a = self.attach(d, "vhua", MAC_A, "a", fwd="csum", peer=MAC_B, extra_eal=[
            "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (
                in_pcap, os.path.join(d.workdir, "a-tx.pcap"))],
            extra_app=["--no-flush-rx"])
        a.cmd("port stop 0")
        for c in ("csum set ip sw 0", "csum set tcp hw 0", "csum set udp hw 0",
                  "tso set %d 0" % MSS):
            out = a.cmd(c)
            self.assertNotIn("not supported", out, c)
        out = a.cmd("port start 0")
        self.assertNotIn("Fail", out)
        return a

    def send(self, d, a):
        """Clears the counters, starts A and waits until the switch got all
        of the input from it."""
        d.vsctl("port-stats-clear")
        a.start_fwd()
        n_in = len(self.frames)
        wait_until(lambda: d.port_stats("vhua")["rx_packets"] == n_in, 60,
                   "vhua rx_packets == %d" % n_in)

    def wait_received(self, d, b, out_pcap, n):
        def done():
            st = d.port_stats("vhub")
            assert st["tx_packets"] <= n, st
            return st["tx_packets"] == n and st
        st = wait_until(done, 60, "vhub tx_packets == %d" % n)
        self.assertEqual(st["tx_dropped"], 0, st)
        # B flushes its pcap at quit.
        wait_until(lambda: b.port_stats()["RX-packets"] == n, 60,
                   "b RX-packets == %d" % n)
        b.stop()
        self.assertEqual(b.quit(), 0)
        frames = read_pcap(out_pcap)
        self.assertEqual(len(frames), n)
        return frames, st

    def test_a_pass_through_to_negotiated_port(self):
        d, a, b, out_pcap, show_a, show_b = self.run_case()
        self.assertEqual(show_b["vhost"]["tx_offloads"], ["csum", "tso4", "tso6"])
        self.assertIn("TCP_LRO", self.b_rx_capa)
        # vsctl's table format: the negotiated features on one line.
        lines = [ln.strip() for ln in d.vsctl("port-show", "vhub")[1].splitlines()
                 if ln.strip().startswith("features:")]
        self.assertEqual(len(lines), 1, lines)
        for f in ("guest_csum", "guest_tso4", "guest_tso6", "mrg_rxbuf"):
            self.assertIn(" %s" % f, lines[0])
        frames, st = self.wait_received(d, b, out_pcap, len(self.frames))
        self.assertEqual(st.get("tx_dropped_offload", 0), 0)
        for fr, (v6, sport, payload) in zip(frames, self.inputs):
            p = Parsed(fr)
            self.assertEqual((p.v6, p.sport, p.seq), (v6, sport, 0xfffff000))
            self.assertEqual(p.payload, payload, "payload of flow %d" % sport)
            self.assertTrue(p.ip_ok)
            # The partial checksum the sender left, untouched by the switch.
            self.assertTrue(p.partial, "flow %d: checksum 0x%04x is not the "
                            "pseudo-header sum" % (sport, p.cksum))

    def check_software(self, rx_options, rx_negotiates, rx_vdev_args=""):
        d, a, b, out_pcap, show_a, show_b = self.run_case(rx_options, rx_negotiates,
                                                          rx_vdev_args)
        feats = show_b["vhost"]["features"]
        for f in ("guest_csum", "guest_tso4", "guest_tso6"):
            self.assertNotIn(f, feats)
        self.assertEqual(show_b["vhost"]["tx_offloads"], [])
        segs_per = -(-BIG // MSS)
        n = 2 * N_EACH * segs_per + N_EACH
        frames, st = self.wait_received(d, b, out_pcap, n)
        self.assertEqual(st.get("tx_dropped_offload", 0), 0)
        i = 0
        for v6, sport, payload in self.inputs:
            k = segs_per if len(payload) > MSS else 1
            got = [Parsed(fr) for fr in frames[i:i + k]]
            i += k
            for j, p in enumerate(got):
                self.assertEqual((p.v6, p.sport), (v6, sport))
                self.assertTrue(p.ip_ok, "flow %d seg %d: IPv4 header checksum" % (sport, j))
                self.assertTrue(p.csum_ok, "flow %d seg %d: TCP checksum 0x%04x invalid"
                                % (sport, j, p.cksum))
                self.assertEqual(p.seq, (0xfffff000 + j * MSS) & 0xffffffff)
                self.assertEqual(p.flags, 0x18 if j == k - 1 else 0x10)
                self.assertLessEqual(len(p.payload), MSS)
            self.assertEqual(b"".join(p.payload for p in got), payload,
                             "flow %d: segments do not add up" % sport)
        return show_b

    def test_b_software_for_port_with_offloads_off(self):
        """csum=false,tso=false: the switch does not even offer them (the
        receiver's virtio PMD cannot enable LRO or rx checksums)."""
        show_b = self.check_software(("csum=false", "tso=false"), rx_negotiates=False)
        self.assertEqual(show_b["vhost"]["offloads"], {"csum": False, "tso": False})
        self.assertNotIn("TCP_LRO", self.b_rx_capa)
        self.assertNotIn("TCP_CKSUM", self.b_rx_capa)

    def test_c_software_for_frontend_not_negotiating(self):
        """Offered, but the receiver does not ask for them.  The receiver
        uses a packed ring (virtio-user packed_vq=1), which stays on."""
        show_b = self.check_software((), rx_negotiates=False, rx_vdev_args="packed_vq=1")
        self.assertIn("ring_packed", show_b["vhost"]["features"])
        self.assertEqual(show_b["vhost"]["offloads"], {"csum": True, "tso": True})
        self.assertIn("TCP_LRO", self.b_rx_capa)


    def test_d_tap_takes_offloads(self):
        """An ethdev port whose device takes checksum offload and TSO (DPDK
        22.11's net_tap has TCP_CKSUM, UDP_CKSUM, IPV4_CKSUM and TCP_TSO):
        the switch hands it the requests (after rte_eth_tx_prepare()), the
        device does them (but TSO of TCP/IPv6, which net_tap cannot: the
        switch segments those), and the Linux kernel behind it, in a
        namespace, counts every segment and no checksum error."""
        ns = self.netns()
        tap = self.ifname("vsoff")
        d = self.daemon()
        write_pcap(os.path.join(d.workdir, "in.pcap"), self.frames)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhua", "type=vhost-user")
        d.vsctl("add-port", "br0", "tap0", "type=dpdk",
                "devargs=net_tap_vsoff,iface=%s" % tap)
        # net_tap's own TSO (rte_gso) has no IPv6: those the switch segments.
        self.assertEqual(d.vsctl_json("port-show", "tap0")["dpdk"]["tx_offloads"],
                         ["csum", "tso4"])
        # The kernel peer: MAC B, 10.0.0.2 and fd00::2, IPv6 on.
        ip(None, "link", "set", "dev", tap, "netns", ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0",
           "net.ipv6.conf.%s.disable_ipv6=0" % tap)
        ip(ns, "link", "set", "dev", tap, "address", MAC_B)
        ip(ns, "addr", "add", "10.0.0.2/24", "dev", tap)
        ip(ns, "addr", "add", "fd00::2/64", "dev", tap, "nodad")
        ip(ns, "link", "set", "dev", tap, "up")
        d.wait_port_state("tap0", "up", 60)

        a = self.sender(d, os.path.join(d.workdir, "in.pcap"))
        self.wait_negotiated(d, "vhua", ["csum", "host_tso4", "host_tso6"])
        d.wait_port_state("vhua", "up", 60)
        k0 = snmp(ns)
        self.send(d, a)
        n_segs = 2 * N_EACH * -(-BIG // MSS) + N_EACH
        # Handed to the device: IPv4 super-frames whole, IPv6 ones in
        # segments, the small frames.
        n_tx = N_EACH + N_EACH * -(-BIG // MSS) + N_EACH
        st = wait_until(lambda: d.port_stats("tap0")["tx_packets"] == n_tx
                        and d.port_stats("tap0"), 60, "tap0 tx_packets == %d" % n_tx)
        self.assertEqual(st["tx_dropped"], 0, st)

        def kernel_got():
            k = snmp(ns)
            got = k["Tcp"]["InSegs"] - k0["Tcp"]["InSegs"]
            assert got <= n_segs, "kernel counted %d TCP segments > %d" % (got, n_segs)
            return got == n_segs and k
        k1 = wait_until(kernel_got, 60, "kernel TcpInSegs += %d" % n_segs)
        for proto, key in (("Tcp", "InCsumErrors"), ("Tcp", "InErrs"),
                           ("Ip", "InHdrErrors")):
            self.assertEqual(k1[proto][key] - k0[proto][key], 0, "%s %s" % (proto, key))


if __name__ == "__main__":
    unittest.main()
