"""`dpdk` and `internal` ports (ethdev/): real kernel peers in network
namespaces, hot-plug under traffic, bad input, devices gone at restart and
link events.

  test_a_tap_ping_counts       a net_tap dpdk port whose kernel side is moved
                               into a namespace pings an icmpecho testpmd on a
                               vhost-user port; every counter on the way
                               (kernel, both switch ports, testpmd) counts
                               exactly the ping's frames and bytes
  test_b_internal_ping_counts  the same through an `internal` port; deleting
                               the port removes its kernel netdev
  test_c_hotplug_under_traffic add/delete (and set-port) a net_null dpdk port
                               ten times while a frontend floods into the
                               bridge; vsctl answers throughout; mbufs in use
                               return exactly to idle
  test_d_bad_input             bad devargs, a device or kernel interface used
                               twice, bad options: exit 1, one message naming
                               the cause, nothing left behind; deleting other
                               ports leaves a running kernel-to-kernel ping
                               intact
  test_e_device_gone_at_restart a net_pcap port whose capture file vanished and
                               a net_tap port whose interface name got taken
                               while vswitchd was down come back in state
                               `error`; the other ports work; `set-port` brings
                               them up once the cause is gone
  test_f_link_events           `vsctl monitor` sees link_down/link_up when the
                               kernel side of a net_tap / internal port is set
                               down/up, and nothing when a tap moves into a
                               namespace
  test_g_tap_queue_limit       more queues than net_tap can start (or unequal
                               rx/tx counts) are refused; the daemon lives

Every kernel interface and namespace gets a name unique to this process
(other engineers run daemons and namespaces on the same machine).  Traffic
stays inside the namespaces created here: the kernel peers sit in fresh
namespaces with IPv6 disabled (so the kernel sends nothing unsolicited) and
the frontends answer ARP and ICMP echo for any address.  A tap or internal
netdev starts in vswitchd's namespace, where the host may send IPv6
link-local frames into the bridge through it before it moves (interfaces
that stay there get IPv6 disabled at once); counts are therefore taken after
a first ping has drained the tap's queue and every counter on the path
agrees.

Network namespaces and interfaces are cleaned up after the daemon has been
stopped (their cleanups are registered before it is created).
"""

import itertools
import json
import os
import struct
import subprocess
import threading

from vstest import Lines, VsTestCase, wait_until

TIMEOUT = 60
E_MAC = "02:00:00:00:00:0e"          # the icmpecho frontend
A_MAC = "02:00:00:00:00:0a"
NS_IP = "10.199.0.1"
PEER_IP = "10.199.0.2"               # answered by the icmpecho frontend
PINGS = 5
# Each way: one ARP (42-byte frame) + PINGS ICMP echoes (98-byte frames,
# ping's default 56 bytes of data).
FRAMES = 1 + PINGS
BYTES = 42 + PINGS * 98

_seq = itertools.count()


def uniq(prefix):
    """A name unique to this process: a kernel interface, port or
    namespace name (at most 15 characters for prefixes up to 3)."""
    return "%s%d-%d" % (prefix, os.getpid() % 100000, next(_seq))


def sh(*cmd, check=True, timeout=60):
    """Runs a command; returns the CompletedProcess.  With 'check', a
    nonzero exit fails the test with its output."""
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("`%s` exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def ip(ns, *args, check=True):
    """`ip [-n ns] ARGS...`."""
    return sh(*(["ip"] + (["-n", ns] if ns else []) + list(args)), check=check)


def link_exists(ifname, ns=None):
    return ip(ns, "link", "show", "dev", ifname, check=False).returncode == 0


def kstats(ifname, ns=None):
    """The kernel's counters of 'ifname' (in namespace 'ns')."""
    j = json.loads(ip(ns, "-j", "-s", "link", "show", "dev", ifname).stdout)
    st = j[0]["stats64"]
    return {"rx_packets": st["rx"]["packets"], "rx_bytes": st["rx"]["bytes"],
            "rx_dropped": st["rx"]["dropped"], "tx_packets": st["tx"]["packets"],
            "tx_bytes": st["tx"]["bytes"], "tx_dropped": st["tx"]["dropped"]}


def conf_json(d):
    with open(os.path.join(d.statedir, "conf.json"), "rb") as f:
        return f.read()


def write_pcap(path, frames=()):
    """A pcap file (Ethernet link type) holding 'frames' (bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def read_pcap(path):
    """The frames of a pcap file (a truncated last record is ignored)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            break
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


class KernelPeers:
    """Mixin for VsTestCase: network namespaces and kernel interface names
    that are removed at teardown (also used by test_vlan.py)."""

    def netns(self):
        """A fresh network namespace with IPv6 disabled, deleted at
        teardown.  Call before self.daemon(), so that it is deleted after
        the daemon has stopped."""
        ns = uniq("vstest-ns")
        sh("ip", "netns", "add", ns)
        self.addCleanup(sh, "ip", "netns", "del", ns, check=False)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        return ns

    def ifname(self, prefix="vst"):
        """A unique kernel interface name, removed at teardown if something
        left it in this namespace (call before self.daemon())."""
        name = uniq(prefix)

        def remove():
            if link_exists(name):
                ip(None, "link", "del", "dev", name, check=False)
        self.addCleanup(remove)
        return name


class EthdevTest(KernelPeers, VsTestCase):

    # -- kernel side -------------------------------------------------------

    @staticmethod
    def quiet(ifname):
        """Disables IPv6 on 'ifname', one of our interfaces left in
        vswitchd's namespace, so that the host sends (almost) nothing
        unsolicited through it."""
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifname)

    def into_netns(self, ifname, ns, addr=NS_IP):
        """Moves kernel interface 'ifname' into 'ns' (it arrives down), with
        IPv6 off, address 'addr'/24, and sets it up."""
        ip(None, "link", "set", "dev", ifname, "netns", ns)
        sh("ip", "netns", "exec", ns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % ifname)
        ip(ns, "addr", "add", "%s/24" % addr, "dev", ifname)
        ip(ns, "link", "set", "dev", ifname, "up")

    def ping(self, ns, dst, count=PINGS, interval="0.2"):
        r = sh("ip", "netns", "exec", ns, "ping", "-c", str(count), "-i", interval,
               "-W", "2", dst, check=False, timeout=count * 3 + 30)
        self.assertEqual(r.returncode, 0, "ping %s from %s failed:\n%s%s"
                         % (dst, ns, r.stdout, r.stderr))
        self.assertIn("%d packets transmitted, %d received" % (count, count), r.stdout)
        return r.stdout

    # -- counting ----------------------------------------------------------

    def snapshot(self, d, tp, kport, vport, ifname, ns, kbase=None):
        """Counters of the kernel interface (minus 'kbase', if given: the
        kernel's counters cannot be cleared), the switch and frontend 'tp'."""
        k = kstats(ifname, ns)
        if kbase:
            k = {key: v - kbase[key] for key, v in k.items()}
        return {"k": k, "s": d.all_port_stats(), "t": tp.port_stats()}

    @staticmethod
    def consistent(snap, kport, vport):
        """True if every counter on the path kernel <-> kport <-> vport <->
        frontend accounts for the same packets (nothing in flight)."""
        k, s, t = snap["k"], snap["s"], snap["t"]
        kp, vp = s[kport], s[vport]
        return (k["tx_packets"] == kp["rx_packets"]
                and kp["rx_packets"] - kp["rx_dropped"]
                == vp["tx_packets"] + vp["tx_dropped"]
                and vp["tx_packets"] == t["RX-packets"]
                and t["TX-packets"] == vp["rx_packets"]
                and vp["rx_packets"] - vp["rx_dropped"]
                == kp["tx_packets"] + kp["tx_dropped"]
                and kp["tx_packets"] == k["rx_packets"])

    def settled(self, d, tp, kport, vport, ifname, ns, kbase=None):
        """Waits until the path is consistent(); returns that snapshot."""
        last = {}

        def pred():
            last["snap"] = self.snapshot(d, tp, kport, vport, ifname, ns, kbase)
            return self.consistent(last["snap"], kport, vport) and last["snap"]
        return wait_until(pred, TIMEOUT, lambda: "counters on the path %s(kernel) - "
                          "%s - %s - frontend to agree: %r" % (ifname, kport, vport,
                                                               last.get("snap")))

    def ping_with_counts(self, d, tp, kport, vport, ifname, ns, clear=False):
        """'ifname' (the kernel side of switch port 'kport', in 'ns', address
        NS_IP) pings PEER_IP, answered by icmpecho frontend 'tp' on vhost port
        'vport'.  Checks that each way exactly FRAMES frames (BYTES bytes)
        passed every counter: kernel, kport, vport, frontend.  With 'clear',
        the switch's and the frontend's counters are cleared first (once
        nothing is in flight) and must then read exactly that.  Returns the
        last snapshot, with "kbase": the kernel counters at the clear (or
        None)."""
        # Frames the host queued on the tap before it left vswitchd's
        # namespace may still wait there, uncounted.  One ping drains them
        # (the queue is FIFO); then the ARP cache is emptied again.
        self.ping(ns, PEER_IP, count=1)
        ip(ns, "neigh", "flush", "dev", ifname)
        s0 = self.settled(d, tp, kport, vport, ifname, ns)
        kbase = None
        if clear:
            d.vsctl("port-stats-clear")
            # Not while forwarding: virtio-user's rx burst adds to its
            # counters even when it receives nothing, so a clear from the
            # command line races with the forwarding lcore and can be lost.
            tp.stop()
            tp.cmd("clear port stats 0")
            tp.start_fwd()
            kbase = s0["k"]
            s0 = self.snapshot(d, tp, kport, vport, ifname, ns, kbase)
            for port in (kport, vport):
                nonzero = {k: v for k, v in s0["s"][port].items()
                           if k != "name" and v != 0}
                self.assertEqual(nonzero, {}, "%s counters after port-stats-clear"
                                 % port)
            self.assertEqual((s0["t"]["RX-packets"], s0["t"]["TX-packets"]), (0, 0),
                             "frontend counters after clear")
        self.ping(ns, PEER_IP)
        s1 = self.settled(d, tp, kport, vport, ifname, ns, kbase)

        def dk(key):
            return s1["k"][key] - s0["k"][key]

        def ds(port, key):
            return s1["s"][port][key] - s0["s"][port][key]

        def dt(key):
            return s1["t"][key] - s0["t"][key]
        out = {"kernel tx": (dk("tx_packets"), dk("tx_bytes")),
               "%s rx" % kport: (ds(kport, "rx_packets"), ds(kport, "rx_bytes")),
               "%s tx" % vport: (ds(vport, "tx_packets"), ds(vport, "tx_bytes")),
               "frontend RX": (dt("RX-packets"), dt("RX-bytes"))}
        back = {"frontend TX": (dt("TX-packets"), dt("TX-bytes")),
                "%s rx" % vport: (ds(vport, "rx_packets"), ds(vport, "rx_bytes")),
                "%s tx" % kport: (ds(kport, "tx_packets"), ds(kport, "tx_bytes")),
                "kernel rx": (dk("rx_packets"), dk("rx_bytes"))}
        # One ARP request and PINGS echo requests out, one ARP reply and
        # PINGS echo replies back: nothing else, nothing lost.
        self.assertEqual(out, dict.fromkeys(out, (FRAMES, BYTES)),
                         "kernel -> frontend (packets, bytes)")
        self.assertEqual(back, dict.fromkeys(back, (FRAMES, BYTES)),
                         "frontend -> kernel (packets, bytes)")
        for port in (kport, vport):
            for key in ("rx_dropped", "tx_dropped"):
                self.assertEqual(ds(port, key), 0, "%s %s" % (port, key))
        self.assertEqual((dk("rx_dropped"), dk("tx_dropped")), (0, 0), "kernel drops")
        s1["kbase"] = kbase
        return s1

    def echo_frontend(self, d, port="vhu0", name="E"):
        """An icmpecho testpmd on vhost port 'port', forwarding."""
        tp = self.attach(d, port, E_MAC, name, fwd="icmpecho")
        tp.start_fwd()
        return tp

    # ------------------------------------------------------------------

    def test_a_tap_ping_counts(self):
        ns = self.netns()
        tap = self.ifname()
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        tp = self.echo_frontend(d)

        d.vsctl("add-port", "br0", "t0", "type=dpdk", "devargs=net_tap0,iface=%s" % tap)
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual((show["type"], show["state"]), ("dpdk", "up"), show)
        dp = show["dpdk"]
        self.assertEqual((dp["devargs"], dp["device"], dp["driver"], dp["link"]),
                         ("net_tap0,iface=%s" % tap, "net_tap0", "net_tap", "up"), dp)
        for key in ("port_id", "speed", "duplex", "n_rxq", "n_txq", "rxq_size",
                    "txq_size", "mac"):
            self.assertIn(key, dp)
        self.assertTrue(link_exists(tap), "no kernel interface %s" % tap)
        self.assertEqual(ip(None, "-j", "link", "show", "dev", tap).stdout.count(
            dp["mac"]), 1, "kernel MAC of %s is not port-show's %s" % (tap, dp["mac"]))

        # The tap keeps working after moving into the namespace.
        self.into_netns(tap, ns)
        self.assertFalse(link_exists(tap), "%s still in vswitchd's namespace" % tap)
        # net_tap cannot see the link state in another namespace
        # (port-types.md): "unknown", and the port counts as up.
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual((show["state"], show["dpdk"]["link"]), ("up", "unknown"), show)
        s = self.ping_with_counts(d, tp, "t0", "vhu0", tap, ns, clear=True)
        # Since the clear, the switch and the frontend counted exactly the
        # ping's frames.
        got = {"t0": (s["s"]["t0"]["rx_packets"], s["s"]["t0"]["tx_packets"]),
               "vhu0": (s["s"]["vhu0"]["tx_packets"], s["s"]["vhu0"]["rx_packets"]),
               "frontend": (s["t"]["RX-packets"], s["t"]["TX-packets"])}
        self.assertEqual(got, dict.fromkeys(got, (FRAMES, FRAMES)))
        # Once more, from a warm ARP cache: only the echoes.
        self.ping(ns, PEER_IP)
        s = self.settled(d, tp, "t0", "vhu0", tap, ns, s["kbase"])
        self.assertEqual((s["k"]["tx_packets"], s["s"]["t0"]["rx_packets"],
                          s["s"]["t0"]["tx_packets"], s["k"]["rx_packets"]),
                         (FRAMES + PINGS,) * 4)
        self.assertTrue(d.running())

    def test_b_internal_ping_counts(self):
        ns = self.netns()
        name = self.ifname("vsi")
        other = self.ifname("vsi")
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        tp = self.echo_frontend(d)

        d.vsctl("add-port", "br0", name, "type=internal")
        self.assertTrue(link_exists(name), "internal port made no kernel netdev %s"
                        % name)
        show = d.vsctl_json("port-show", name)
        self.assertEqual((show["type"], show["state"], show["options"]),
                         ("internal", "up", {}), show)
        vhost_net = os.access("/dev/vhost-net", os.R_OK | os.W_OK)
        backend = "virtio-user" if vhost_net else "tap"
        it = show["internal"]
        self.assertEqual((it["backend"], it["ifname"], it["link"]),
                         (backend, name, "up"), it)
        if backend == "tap":
            self.assertEqual(it["driver"], "net_tap", it)

        self.into_netns(name, ns)
        self.ping_with_counts(d, tp, name, "vhu0", name, ns, clear=True)

        # Deleting the port removes its netdev, in whatever namespace it is.
        d.vsctl("del-port", name)
        self.assertNotIn(name, d.ports())
        wait_until(lambda: not link_exists(name, ns), TIMEOUT,
                   "netdev %s to disappear from %s after del-port" % (name, ns))
        # ... and in vswitchd's own namespace.
        d.vsctl("add-port", "br0", other, "type=internal")
        self.assertTrue(link_exists(other))
        self.quiet(other)
        d.vsctl("del-port", other)
        wait_until(lambda: not link_exists(other), TIMEOUT,
                   "netdev %s to disappear after del-port" % other)
        # The name can be used again at once.
        d.vsctl("add-port", "br0", other, "type=internal")
        self.assertTrue(link_exists(other))
        self.assertEqual(d.port_state(other), "up")
        d.vsctl("del-port", other)
        wait_until(lambda: not link_exists(other), TIMEOUT,
                   "netdev %s to disappear after the second del-port" % other)

    def test_c_hotplug_under_traffic(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        idle = d.pmd_stats()["mbufs"]["in_use"]

        # A floods into the bridge (txonly to testpmd's default eth-peer,
        # 02:00:00:00:00:00, which nobody has) and never reads.
        a = self.attach(d, "vhu0", A_MAC, "A", fwd="txonly")
        a.start_fwd()
        wait_until(lambda: d.port_stats("vhu0")["rx_packets"] > 10000, TIMEOUT,
                   "vhu0 to receive A's stream")

        # vsctl keeps working from another client all along.
        stop = threading.Event()
        calls, failures = [0], []

        def poll():
            while not stop.is_set():
                try:
                    rc, _, err = d.vsctl("--format", "json", "list-ports",
                                         check=False, timeout=TIMEOUT)
                except AssertionError as e:     # No answer in time.
                    rc, err = None, str(e)
                calls[0] += 1
                if rc != 0:
                    failures.append((rc, err))
                stop.wait(0.02)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        self.addCleanup(poller.join, TIMEOUT)
        self.addCleanup(stop.set)

        for i in range(10):
            # Even rounds: a sink (no-rx=1).  Odd rounds: net_null also
            # receives an endless stream of 64-byte frames, flooded to vhu0.
            rx = i % 2 == 1
            devargs = "net_null0" if rx else "net_null0,no-rx=1"
            d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=" + devargs)
            show = d.vsctl_json("port-show", "null0")
            self.assertEqual(show["state"], "up", "round %d: %r" % (i, show))
            self.assertEqual((show["dpdk"]["device"], show["dpdk"]["driver"],
                              show["dpdk"]["devargs"]),
                             ("net_null0", "net_null", devargs), "round %d" % i)
            self.assertEqual(d.port_state("null0"), "up")
            s0 = d.port_stats("null0")
            v0 = d.port_stats("vhu0")
            wait_until(lambda: d.port_stats("null0")["tx_packets"] > s0["tx_packets"]
                       + 1000, TIMEOUT, "round %d: null0 tx_packets to grow" % i)
            if rx:
                wait_until(lambda: d.port_stats("null0")["rx_packets"]
                           > s0["rx_packets"] + 1000, TIMEOUT,
                           "round %d: null0 rx_packets to grow" % i)

                def vhu0_out():
                    v = d.port_stats("vhu0")
                    return (v["tx_packets"] + v["tx_dropped"]
                            > v0["tx_packets"] + v0["tx_dropped"] + 1000)
                wait_until(vhu0_out, TIMEOUT,
                           "round %d: null0's stream to reach vhu0" % i)
            else:
                self.assertEqual(d.port_stats("null0")["rx_packets"], 0,
                                 "round %d: no-rx=1 received" % i)
            if i % 3 == 2:
                # set-port re-creates the port: unplug, plug, under traffic.
                other = "net_null0" if not rx else "net_null0,no-rx=1"
                d.vsctl("set-port", "null0", "devargs=" + other)
                show = d.vsctl_json("port-show", "null0")
                self.assertEqual((show["state"], show["dpdk"]["devargs"]),
                                 ("up", other), "round %d after set-port" % i)
                s1 = d.port_stats("null0")
                wait_until(lambda: d.port_stats("null0")["tx_packets"]
                           > s1["tx_packets"] + 1000, TIMEOUT,
                           "round %d: null0 tx_packets to grow after set-port" % i)
            d.vsctl("del-port", "null0")
            self.assertNotIn("null0", d.ports())
            rc, _, err = d.vsctl("port-show", "null0", check=False)
            self.assertEqual(rc, 1, "round %d: port-show of a deleted port" % i)
            self.assertIn('no port "null0"', err)
            self.assertTrue(d.running(), "vswitchd died in round %d" % i)

        stop.set()
        poller.join(TIMEOUT)
        self.assertFalse(poller.is_alive(), "vsctl poller hung")
        self.assertEqual(failures, [], "vsctl list-ports failed during hot-plug")
        self.assertGreater(calls[0], 10, "the poller hardly ran")

        # A's stream still reaches the switch: the PMD survived.
        r0 = d.port_stats("vhu0")["rx_packets"]
        wait_until(lambda: d.port_stats("vhu0")["rx_packets"] > r0 + 1000, TIMEOUT,
                   "vhu0 to keep receiving A's stream")

        # Stopped (still attached) and then gone, the frontend leaves every
        # mbuf back in the pool: exactly the idle count.
        a.stop()
        wait_until(lambda: d.pmd_stats()["mbufs"]["in_use"] == idle, TIMEOUT,
                   lambda: "mbufs in_use back to idle %d with A stopped: %r"
                   % (idle, d.pmd_stats()["mbufs"]))
        self.assertEqual(a.quit(), 0)
        d.wait_port_state("vhu0", "down", TIMEOUT)
        wait_until(lambda: d.pmd_stats()["mbufs"]["in_use"] == idle, TIMEOUT,
                   lambda: "mbufs in_use back to idle %d with A gone: %r"
                   % (idle, d.pmd_stats()["mbufs"]))

        # No leaked device: the same devargs once more.
        d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=net_null0,no-rx=1")
        self.assertEqual(d.port_state("null0"), "up")
        d.vsctl("del-port", "null0")
        self.assertEqual(d.pmd_stats()["mbufs"]["in_use"], idle)

    def test_d_bad_input(self):
        ns_a, ns_b = self.netns(), self.netns()
        if_a, if_b, if_c = self.ifname(), self.ifname(), self.ifname()
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "t0", "type=dpdk", "devargs=net_tap0,iface=%s" % if_a)
        d.vsctl("add-port", "br0", "t1", "type=dpdk", "devargs=net_tap1,iface=%s" % if_b)
        self.quiet(if_a)
        self.quiet(if_b)
        show0 = {p: d.vsctl_json("port-show", p)["dpdk"] for p in ("t0", "t1")}
        in_pcap = os.path.join(d.workdir, "in.pcap")
        out_pcap = os.path.join(d.workdir, "out.pcap")
        missing = os.path.join(d.workdir, "missing.pcap")
        write_pcap(in_pcap)

        ports0 = d.vsctl_json("list-ports")
        conf0 = conf_json(d)
        known = "(dpdk ports know: devargs, n_rxq, n_txq, rxq_size, txq_size)"
        cases = [
            (["type=dpdk", "devargs=net_nosuchdriver0"],
             'port "bad0": devargs: no bus or driver knows device "net_nosuchdriver0"'),
            (["type=dpdk", "devargs=0000:ff:1f.7"],
             'port "bad0": cannot hot-plug 0000:ff:1f.7: no PCI device has that address'),
            (["type=dpdk", "devargs="], 'port "bad0": type=dpdk needs devargs='),
            (["type=dpdk"], 'port "bad0": type=dpdk needs devargs='),
            # The driver refuses (no such capture file): probed, then gone.
            (["type=dpdk", "devargs=net_pcap0,rx_pcap=%s,tx_pcap=%s"
              % (missing, out_pcap)],
             'port "bad0": cannot hot-plug net_pcap0,rx_pcap=%s' % missing),
            # The device another port uses, spelled differently.
            (["type=dpdk", "devargs=net_tap0,iface=%s" % if_c],
             'port "bad0": device net_tap0 is already used by port "t0"'),
            (["type=dpdk", "devargs=net_tap1"],
             'port "bad0": device net_tap1 is already used by port "t1"'),
            (["type=dpdk", "devargs=net_tap7,iface=vstest-too-long0"],
             'port "bad0": iface=vstest-too-long0: kernel interface names have at '
             'most 15 characters'),
            # Another device on the kernel interface of t0.
            (["type=dpdk", "devargs=net_tap7,iface=%s" % if_a],
             'port "bad0": a kernel interface named %s exists already' % if_a),
            (["type=dpdk", "devargs=net_null0", "foo=1"],
             'port "bad0": unknown option "foo" %s' % known),
            (["type=dpdk", "devargs=net_null0", "n_rxq=0"],
             'port "bad0": option n_rxq="0" must be an integer between 1 and 8'),
            (["type=dpdk", "devargs=net_null0", "rxq_size=x"],
             'port "bad0": option rxq_size="x" must be an integer between 1 and 65535'),
            (["type=internal", "foo=1"],
             'port "bad0": unknown option "foo" (internal ports take no options)'),
        ]
        for args, msg in cases:
            rc, out, err = d.vsctl("add-port", "br0", "bad0", *args, check=False)
            self.assertEqual((rc, out), (1, ""), "add-port bad0 %s: %r" % (args, err))
            self.assertIn(msg, err, "add-port bad0 %s" % args)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertEqual(d.vsctl_json("list-ports"), ports0, args)
            self.assertEqual(conf_json(d), conf0, "conf.json changed by %s" % args)
            rc, _, err = d.vsctl("port-show", "bad0", check=False)
            self.assertEqual((rc, err.strip()), (1, 'vsctl: no port "bad0"'), args)
        self.assertFalse(link_exists(if_c), "a failed add-port made %s" % if_c)
        # An internal port named after an existing kernel interface.
        rc, out, err = d.vsctl("add-port", "br0", if_b, "type=internal", check=False)
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn('port "%s": a kernel interface named %s exists already'
                      % (if_b, if_b), err)
        self.assertEqual(d.vsctl_json("list-ports"), ports0)
        self.assertEqual(conf_json(d), conf0)
        # Deleting a port that does not exist.
        rc, out, err = d.vsctl("del-port", "bad0", check=False)
        self.assertEqual((rc, err.strip()), (1, 'vsctl: no port "bad0"'))
        # The existing ports were not touched.
        for p in ("t0", "t1"):
            self.assertEqual(d.vsctl_json("port-show", p)["dpdk"]["port_id"],
                             show0[p]["port_id"])

        # Nothing was left half-created: the same name, and the very device
        # whose probe failed, work now.
        d.vsctl("add-port", "br0", "bad0", "type=dpdk",
                "devargs=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (in_pcap, out_pcap))
        self.assertEqual(d.vsctl_json("port-show", "bad0")["dpdk"]["device"], "net_pcap0")
        d.vsctl("add-port", "br0", "null0", "type=dpdk", "devargs=net_null0,no-rx=1")

        # A set-port whose new device cannot be probed fails the same way and
        # leaves the port with its old options, carrying traffic.  (The port
        # may have been re-created meanwhile: port-types.md says any change
        # re-creates a dpdk port.)
        conf1 = conf_json(d)
        rc, out, err = d.vsctl("set-port", "null0", "devargs=net_pcap1,rx_pcap=%s"
                               % missing, check=False)
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn('port "null0": cannot hot-plug net_pcap1,rx_pcap=%s' % missing, err)
        show = d.vsctl_json("port-show", "null0")
        self.assertEqual((show["state"], show["options"], show["dpdk"]["device"]),
                         ("up", {"devargs": "net_null0,no-rx=1"}, "net_null0"), show)
        self.assertEqual(conf_json(d), conf1)

        # Kernel <-> kernel through t0 and t1 while the other ports (and
        # their devices) are deleted.
        self.into_netns(if_a, ns_a, NS_IP)
        self.into_netns(if_b, ns_b, PEER_IP)
        taps = (("t0", if_a, ns_a), ("t1", if_b, ns_b))

        def agree():
            """Every frame each kernel sent reached the switch and every
            frame the switch sent reached the kernel (counted since the
            ports were created)."""
            s = d.all_port_stats()
            k = {p: kstats(i, n) for p, i, n in taps}
            ok = all(k[p]["tx_packets"] == s[p]["rx_packets"]
                     and k[p]["rx_packets"] == s[p]["tx_packets"] for p, _, _ in taps)
            return ok and s
        s0 = wait_until(agree, TIMEOUT, lambda: "kernel and switch counters of t0/t1 "
                        "to agree: %r" % ({p: kstats(i, n) for p, i, n in taps},
                                          d.all_port_stats()))
        d.vsctl("add-port", "br0", if_c, "type=internal")
        self.assertTrue(link_exists(if_c))
        self.quiet(if_c)
        pinger = subprocess.Popen(["ip", "netns", "exec", ns_a, "ping", "-c", "20",
                                   "-i", "0.1", "-W", "2", PEER_IP],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)

        def stop_pinger():
            if pinger.poll() is None:
                pinger.kill()
            pinger.wait()
        self.addCleanup(stop_pinger)
        wait_until(lambda: d.port_stats("t1")["rx_packets"] > s0["t1"]["rx_packets"],
                   TIMEOUT, "the first echo reply")
        for p in ("bad0", "null0", if_c):
            d.vsctl("del-port", p)
        self.assertFalse(link_exists(if_c))
        out, _ = pinger.communicate(timeout=TIMEOUT)
        self.assertEqual(pinger.returncode, 0, out)
        self.assertIn("20 packets transmitted, 20 received", out)
        self.assertEqual(sorted(d.ports()), ["t0", "t1"])
        for p in ("t0", "t1"):
            show = d.vsctl_json("port-show", p)["dpdk"]
            self.assertEqual((show["device"], show["port_id"]),
                             (show0[p]["device"], show0[p]["port_id"]), p)
        s = wait_until(agree, TIMEOUT, "kernel and switch counters of t0/t1 to agree")
        for p in ("t0", "t1"):
            # At least one ARP and 20 echoes each way.
            self.assertGreaterEqual(s[p]["rx_packets"] - s0[p]["rx_packets"], 21, p)
            self.assertGreaterEqual(s[p]["tx_packets"] - s0[p]["tx_packets"], 21, p)
            self.assertEqual(s[p]["tx_dropped"] - s0[p]["tx_dropped"], 0, p)
        self.assertEqual(conf_json(d), conf0, "conf.json is not back to t0 and t1")

    def test_e_device_gone_at_restart(self):
        ns = self.netns()
        int0 = self.ifname("vsi")
        tap = self.ifname()
        d = self.daemon()
        in_pcap = os.path.join(d.workdir, "in.pcap")
        out_pcap = os.path.join(d.workdir, "out.pcap")
        write_pcap(in_pcap)
        devargs = "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (in_pcap, out_pcap)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        d.vsctl("add-port", "br0", "p0", "type=dpdk", "devargs=" + devargs)
        d.vsctl("add-port", "br0", int0, "type=internal")
        d.vsctl("add-port", "br0", "t0", "type=dpdk", "devargs=net_tap0,iface=" + tap)
        self.quiet(int0)
        self.quiet(tap)
        self.assertEqual(d.vsctl_json("port-show", "p0")["dpdk"]["driver"], "net_pcap")
        self.assertEqual(d.port_state("p0"), "up")
        conf0 = json.loads(conf_json(d))
        ports0 = sorted(d.ports())

        # While vswitchd is down, the capture file goes away and a kernel
        # interface (a persistent tap nobody opens, down: it sends nothing)
        # takes t0's tap name.
        d.stop()
        self.assertFalse(link_exists(int0), "vswitchd left %s behind" % int0)
        self.assertFalse(link_exists(tap), "vswitchd left %s behind" % tap)
        os.unlink(in_pcap)
        ip(None, "tuntap", "add", "dev", tap, "mode", "tap")
        d.start()

        self.assertEqual(sorted(d.ports()), ports0)
        self.assertEqual({p: d.port_state(p) for p in ("p0", "t0")},
                         {"p0": "error", "t0": "error"})
        show = d.vsctl_json("port-show", "p0")
        self.assertEqual((show["state"], show["type"], show["options"]),
                         ("error", "dpdk", {"devargs": devargs}), show)
        self.assertIn("cannot hot-plug net_pcap0", show["error"])
        for key in ("dpdk", "port_no", "n_rxq"):
            self.assertNotIn(key, show)
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual(show["state"], "error", show)
        self.assertIn("a kernel interface named %s exists already" % tap, show["error"])
        rc, out, _ = d.vsctl("show")
        self.assertEqual(rc, 0)
        self.assertIn("cannot hot-plug net_pcap0", out)
        self.assertEqual(json.loads(conf_json(d)), conf0)

        # Retrying while the file is still missing fails and changes nothing.
        rc, _, err = d.vsctl("set-port", "p0", check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("cannot hot-plug net_pcap0", err)
        self.assertEqual(d.port_state("p0"), "error")
        self.assertEqual(json.loads(conf_json(d)), conf0)

        # The other ports work: the internal port (re-created at start)
        # pings the frontend with exact counts; p0 gets nothing.
        self.assertTrue(link_exists(int0), "internal port not re-created at start")
        self.quiet(int0)
        tp = self.echo_frontend(d)
        self.into_netns(int0, ns)
        self.ping_with_counts(d, tp, int0, "vhu0", int0, ns)

        # The name is free again: t0 comes up.
        ip(None, "link", "del", "dev", tap)
        d.vsctl("set-port", "t0")
        self.quiet(tap)
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual((show["state"], show["dpdk"]["device"]), ("up", "net_tap0"),
                         show)
        self.assertNotIn("error", show)
        self.assertTrue(link_exists(tap))

        # The file is back: set-port with no options brings the port up.
        write_pcap(in_pcap)
        d.vsctl("set-port", "p0")
        show = d.vsctl_json("port-show", "p0")
        self.assertIn(show["state"], ("up", "down"), show)
        self.assertNotIn("error", show)
        self.assertEqual((show["dpdk"]["device"], show["dpdk"]["driver"]),
                         ("net_pcap0", "net_pcap"))
        self.assertEqual(json.loads(conf_json(d)), conf0)

        # And it carries traffic: a broadcast ARP from the namespace is
        # flooded to it and written into its tx capture.
        ip(ns, "neigh", "flush", "all")
        self.ping(ns, PEER_IP, count=1)

        def arp_in_capture():
            for fr in read_pcap(out_pcap):
                if fr[:6] == b"\xff" * 6 and fr[12:14] == b"\x08\x06":
                    return True
            return False
        wait_until(arp_in_capture, TIMEOUT, "the broadcast ARP in " + out_pcap)
        self.assertGreaterEqual(d.port_stats("p0")["tx_packets"], 1)

    def test_g_tap_queue_limit(self):
        # DPDK 22.11's net_tap passes one fd per rx and tx queue in one
        # 8-fd message when it starts and smashes its stack beyond that:
        # `n_rxq=5` used to kill vswitchd.  Such values are refused now.
        tap = self.ifname()
        d = self.daemon()
        d.vsctl("add-br", "br0")
        conf0 = conf_json(d)
        limit = "net_tap devices can have at most 4 rx and 4 tx queues"
        cases = [
            (["n_rxq=5"], 'port "t0": n_rxq=5: ' + limit),
            (["n_rxq=8"], 'port "t0": n_rxq=8: ' + limit),
            (["n_rxq=1", "n_txq=5"], 'port "t0": n_txq=5: ' + limit),
            (["n_rxq=2", "n_txq=1"], 'port "t0": n_txq=1: net_tap devices need as '
             'many tx as rx queues (n_rxq=2)'),
        ]
        for opts, msg in cases:
            rc, out, err = d.vsctl("add-port", "br0", "t0", "type=dpdk",
                                   "devargs=net_tap0,iface=%s" % tap, *opts, check=False)
            self.assertTrue(d.running(), "vswitchd died: add-port t0 ... %s" % opts)
            self.assertEqual((rc, out), (1, ""), err)
            self.assertIn(msg, err)
            self.assertEqual(d.ports(), {})
            self.assertEqual(conf_json(d), conf0)
            self.assertFalse(link_exists(tap), "%s left behind by %s" % (tap, opts))
        # Four queue pairs work, and set-port cannot go beyond them either.
        d.vsctl("add-port", "br0", "t0", "type=dpdk", "devargs=net_tap0,iface=%s" % tap,
                "n_rxq=4")
        self.quiet(tap)
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual((show["state"], show["dpdk"]["n_rxq"], show["dpdk"]["n_txq"]),
                         ("up", 4, 4), show)
        conf1 = conf_json(d)
        rc, _, err = d.vsctl("set-port", "t0", "n_rxq=8", check=False)
        self.assertTrue(d.running(), "vswitchd died: set-port t0 n_rxq=8")
        self.assertEqual(rc, 1, err)
        self.assertIn('port "t0": n_rxq=8: ' + limit, err)
        self.assertEqual(conf_json(d), conf1)
        show = d.vsctl_json("port-show", "t0")
        self.assertEqual((show["state"], show["options"]["n_rxq"], show["dpdk"]["n_rxq"]),
                         ("up", "4", 4), show)

    def test_f_link_events(self):
        ns = self.netns()
        tap = self.ifname()
        int0 = self.ifname("vsi")
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "t0", "type=dpdk", "devargs=net_tap0,iface=%s" % tap)
        d.vsctl("add-port", "br0", int0, "type=internal")
        self.quiet(tap)
        self.quiet(int0)
        self.assertEqual(d.port_state("t0"), "up")
        self.assertEqual(d.port_state(int0), "up")

        mon = subprocess.Popen([d.vsctl_bin, "--socket", d.sock, "--format", "json",
                                "monitor"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)

        def stop_monitor():
            if mon.poll() is None:
                mon.kill()
            mon.wait()
        self.addCleanup(stop_monitor)
        Lines(mon.stderr).wait_for(lambda l: "monitoring" in l, TIMEOUT,
                                   "monitor to subscribe")
        out = Lines(mon.stdout)

        def expect(type_, port):
            line = out.wait_for(lambda l: json.loads(l).get("type") == type_
                                and json.loads(l).get("port") == port,
                                TIMEOUT, "event %s for %s" % (type_, port))
            return json.loads(line)

        # vswitchd polls the link state once a second (net_tap runs no LSC
        # callback), so events may take that long.
        for port, ifname in (("t0", tap), (int0, int0)):
            ip(None, "link", "set", "dev", ifname, "down")
            ev = expect("link_down", port)
            self.assertIn("time", ev)
            self.assertEqual(d.port_state(port), "down")
            show = d.vsctl_json("port-show", port)
            self.assertEqual(show["dpdk" if port == "t0" else "internal"]["link"],
                             "down")
            ip(None, "link", "set", "dev", ifname, "up")
            expect("link_up", port)
            self.assertEqual(d.port_state(port), "up")
        def events(since=0):
            return [(json.loads(l)["type"], json.loads(l)["port"])
                    for l in out.seen[since:]]
        self.assertEqual(events(), [("link_down", "t0"), ("link_up", "t0"),
                                    ("link_down", int0), ("link_up", int0)])

        # Moving the tap into another namespace is no link change (its state
        # there is unknown): by the time two later polls have reported
        # int0's down and up, t0 has announced nothing.
        n = len(out.seen)
        self.into_netns(tap, ns)
        ip(None, "link", "set", "dev", int0, "down")
        expect("link_down", int0)
        ip(None, "link", "set", "dev", int0, "up")
        expect("link_up", int0)
        self.assertEqual(events(n), [("link_down", int0), ("link_up", int0)])
        self.assertEqual(d.port_state("t0"), "up")

        d.vsctl("del-port", "t0")
        ev = expect("port_removed", "t0")
        self.assertEqual(ev["type"], "port_removed")
        d.stop()
        self.assertEqual(mon.wait(TIMEOUT), 2)
