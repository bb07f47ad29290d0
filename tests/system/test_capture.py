"""Packet capture (`vsctl capture`, port.capture): a known traffic pattern on
vhost-user ports, captured inside vswitchd and read back with tcpdump.

The frontends are dpdk-testpmd: A (on vhu0) sends `start tx_first N` = N
bursts of 32 UDP packets of LEN bytes from A_MAC to B_MAC; B (on vhu1)
receives, and sends to A_MAC when a test needs traffic the other way.
Every check is on exact counts and contents: how many packets tcpdump reads
from the file, their MACs and lengths, the captured length under --snaplen,
the pcapng direction flags and interface name (a small pcapng reader below),
and that the switch delivered every packet (capture never drops traffic).

  test_a_rx_tx_exact        rx of vhu0 and tx of vhu1 at once, --count ends
                            both, tcpdump reads exactly N packets each, MACs,
                            lengths, direction flags; snaplen truncation;
                            traffic delivered exactly, capture drops 0
  test_b_both_directions    --direction both on vhu0 sees A's packets in and
                            B's packets out, each with its flag
  test_c_stdout_pipe        `vsctl capture vhu0 -w - | tcpdump -r -`
  test_d_stop               Ctrl-C (SIGINT) stops cleanly: the file is complete
                            and the daemon has no capture left; a reader that
                            goes away (EPIPE) or a client that disconnects
                            stops it too; vswitchd's SIGTERM ends it cleanly
  test_e_port_deleted       set-port re-creating the port keeps the capture;
                            packets dropped on tx are not captured; del-port
                            ends a capture (file and stdout)
  test_f_bad_arguments      unknown port, bad direction, snaplen 0, a second
                            capture of a busy port: messages, exit statuses,
                            JSON-RPC error codes
"""

import io
import os
import re
import signal
import struct
import subprocess
import time
import unittest

from vstest import (VsTestCase, add_bridge, delta, send_and_verify, wait_until,
                    Lines)

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
LEN = 100                # testpmd `set txpkts LEN`: frame length without FCS
TIMEOUT = 60
TCPDUMP = "/usr/bin/tcpdump" if os.path.exists("/usr/bin/tcpdump") else "tcpdump"

# tcpdump -nn -e: "02:00:00:00:00:0a > 02:00:00:00:00:0b, ethertype IPv4
# (0x0800), length 100: ..."
TCPDUMP_LINE = re.compile(r"([0-9a-f:]{17}) > ([0-9a-f:]{17}), .*?length (\d+):")


def tcpdump_read(path_or_bytes):
    """Runs `tcpdump -r FILE -nn -e` (or `-r -` on the given bytes); returns
    [(src, dst, length)] for every packet.  tcpdump must exit 0 and print
    nothing about truncation (a cut-off file makes it complain)."""
    if isinstance(path_or_bytes, bytes):
        r = subprocess.run([TCPDUMP, "-r", "-", "-nn", "-e"], input=path_or_bytes,
                           capture_output=True, timeout=60)
    else:
        r = subprocess.run([TCPDUMP, "-r", path_or_bytes, "-nn", "-e"],
                           capture_output=True, timeout=60)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 0, "tcpdump exited %d: %s" % (r.returncode, err)
    assert "truncated" not in err, "tcpdump: %s" % err
    pkts = []
    for line in out.splitlines():
        m = TCPDUMP_LINE.search(line)
        assert m, "unexpected tcpdump line %r" % line
        pkts.append((m.group(1), m.group(2), int(m.group(3))))
    return pkts


def pcapng_read(data):
    """A minimal pcapng reader: returns (interfaces, packets, stats) where
    interfaces = [{"name", "linktype", "snaplen"}], packets = [{"iface",
    "caplen", "len", "flags", "data", "ts"}] and stats = [{"recv", "drop"}]
    (Interface Statistics Blocks).  Asserts the structure is sound."""
    ifaces, pkts, stats = [], [], []
    off = 0
    assert data[:4] == b"\x0a\x0d\x0d\x0a", "no Section Header Block first"
    assert struct.unpack_from("<I", data, 8)[0] == 0x1A2B3C4D, "not little-endian"

    def options(buf):
        opts = {}
        o = 0
        while o + 4 <= len(buf):
            code, ln = struct.unpack_from("<HH", buf, o)
            if code == 0:
                break
            opts[code] = buf[o + 4:o + 4 + ln]
            o += 4 + (ln + 3) // 4 * 4
        return opts

    while off < len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        assert blen >= 12 and blen % 4 == 0 and off + blen <= len(data), \
            "bad block at %d: type %#x length %d (file %d)" % (off, btype, blen, len(data))
        assert struct.unpack_from("<I", data, off + blen - 4)[0] == blen, \
            "block at %d: trailing length differs" % off
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            linktype, _, snaplen = struct.unpack_from("<HHI", body, 0)
            opts = options(body[8:])
            ifaces.append({"name": opts.get(2, b"").decode(), "linktype": linktype,
                           "snaplen": snaplen})
        elif btype == 6:
            iface, hi, lo, caplen, olen = struct.unpack_from("<IIIII", body, 0)
            assert iface < len(ifaces), "packet of undeclared interface %d" % iface
            pad = (caplen + 3) // 4 * 4
            opts = options(body[20 + pad:])
            flags = struct.unpack("<I", opts[2])[0] if 2 in opts else None
            pkts.append({"iface": iface, "caplen": caplen, "len": olen,
                         "flags": flags, "data": body[20:20 + caplen],
                         "ts": (hi << 32 | lo) / 1e9})
        elif btype == 5:
            opts = options(body[12:])
            stats.append({"recv": struct.unpack("<Q", opts[4])[0],
                          "drop": struct.unpack("<Q", opts[5])[0]})
        off += blen
    return ifaces, pkts, stats


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


class CaptureTest(VsTestCase):

    def setUp(self):
        self.d = self.daemon()
        add_bridge(self.d, ("vhu0", "vhu1"))
        self.a = self.frontend(self.d.vhost_sock("vhu0"), A_MAC, name="A", peer=B_MAC)
        self.b = self.frontend(self.d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
        self.d.wait_port_state("vhu0", "up", TIMEOUT)
        self.d.wait_port_state("vhu1", "up", TIMEOUT)
        for t in (self.a, self.b):
            t.cmd("set txpkts %d" % LEN)
            t.start_fwd()
        self.tmp = self._tmpdirs[0]
        self.procs = []

    # -- helpers -----------------------------------------------------------

    def capture(self, *args, stdout=None):
        """Starts `vsctl capture ARGS` and returns (Popen, Lines(stderr)) once
        the daemon lists the capture (it is then attached to the port)."""
        before = {c["id"] for c in self.captures()}
        p = subprocess.Popen([self.d.vsctl_bin, "--socket", self.d.sock, "capture"]
                             + [str(a) for a in args],
                             stdin=subprocess.DEVNULL,
                             stdout=stdout if stdout is not None else subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        self.procs.append(p)

        def stop():
            if p.poll() is None:
                p.kill()
                p.wait()
        self.addCleanup(stop)
        err = Lines(io.TextIOWrapper(p.stderr))
        err.wait_for(lambda l: l.startswith("vsctl: capturing on"), TIMEOUT,
                     "vsctl capture %s to start" % (args,))
        wait_until(lambda: {c["id"] for c in self.captures()} - before, TIMEOUT,
                   "the capture to be listed")
        return p, err

    def captures(self):
        r = self.d.rpc("port.capture_list", {})
        assert "result" in r, r
        return r["result"]["captures"]

    def wait_exit(self, p, what, timeout=TIMEOUT):
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: vsctl capture did not exit" % what)

    def check_packets(self, path, n, src, dst, flags, caplen=LEN, port=None):
        """The pcapng file 'path' holds exactly n packets src -> dst of LEN
        bytes (tcpdump), each captured to 'caplen' bytes with direction
        'flags' (1 in, 2 out) on interface 'port'."""
        pkts = tcpdump_read(path)
        self.assertEqual(len(pkts), n, "tcpdump read %d packets from %s" % (len(pkts), path))
        for p in pkts:
            self.assertEqual(p, (src, dst, LEN))
        with open(path, "rb") as f:
            ifaces, epbs, stats = pcapng_read(f.read())
        self.assertEqual(len(ifaces), 1)
        self.assertEqual(ifaces[0]["linktype"], 1)
        if port:
            self.assertEqual(ifaces[0]["name"], port)
        self.assertEqual(len(epbs), n)
        for e in epbs:
            self.assertEqual((e["caplen"], e["len"], e["flags"]), (caplen, LEN, flags))
            self.assertEqual(e["data"][:12], mac_bytes(dst) + mac_bytes(src))
        self.assertEqual(stats, [{"recv": n, "drop": 0}])
        return epbs

    # -- tests -------------------------------------------------------------

    def test_a_rx_tx_exact(self):
        """rx of vhu0 and tx of vhu1 captured at once while A sends 4 bursts:
        each file holds exactly those 128 packets; the switch delivered all
        of them (no drop caused by capture); --count ends the captures."""
        n = 4 * 32
        f_rx = os.path.join(self.tmp, "rx.pcapng")
        f_tx = os.path.join(self.tmp, "tx.pcapng")
        f_snap = os.path.join(self.tmp, "snap.pcapng")
        p_rx, e_rx = self.capture("vhu0", "--direction", "rx", "--count", n, "-w", f_rx)
        p_tx, e_tx = self.capture("vhu1", "--direction=tx", "--count", n, "-w", f_tx)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=4)
        self.assertEqual(self.wait_exit(p_rx, "rx"), 0)
        self.assertEqual(self.wait_exit(p_tx, "tx"), 0)
        e_rx.wait_for(lambda l: "ended (count): %d packets, 0 dropped" % n in l,
                      10, "rx summary")
        e_tx.wait_for(lambda l: "ended (count): %d packets, 0 dropped" % n in l,
                      10, "tx summary")
        rx = self.check_packets(f_rx, n, A_MAC, B_MAC, 1, port="vhu0")
        tx = self.check_packets(f_tx, n, A_MAC, B_MAC, 2, port="vhu1")
        # The same packets, in the same order (A numbers nothing, but the
        # UDP/IP bytes are identical): what came in went out unchanged.
        self.assertEqual([e["data"] for e in rx], [e["data"] for e in tx])
        self.assertEqual(self.captures(), [])

        # Snap length: frames cut to 60 bytes, original length kept; --count
        # lower than what is sent stops at exactly --count.
        p, e = self.capture("vhu1", "--direction", "tx", "--snaplen", 60,
                            "--count", 40, "-w", f_snap)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=2)
        self.assertEqual(self.wait_exit(p, "snaplen"), 0)
        snap = self.check_packets(f_snap, 40, A_MAC, B_MAC, 2, caplen=60, port="vhu1")
        self.assertEqual([e["data"] for e in snap], [e["data"][:60] for e in tx[:40]])
        s = self.d.all_port_stats()
        for port in ("vhu0", "vhu1"):
            self.assertEqual(s[port]["rx_dropped"] + s[port]["tx_dropped"], 0, s[port])

    def test_b_both_directions(self):
        """--direction both on vhu0: A's 64 packets in, B's 32 packets out."""
        f = os.path.join(self.tmp, "both.pcapng")
        p, _ = self.capture("vhu0", "--count", 96, "-w", f)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=2)
        send_and_verify(self.d, self.b, "vhu1", self.a, "vhu0", bursts=1)
        self.assertEqual(self.wait_exit(p, "both"), 0)
        pkts = tcpdump_read(f)
        self.assertEqual(sorted(set(pkts)), [(A_MAC, B_MAC, LEN), (B_MAC, A_MAC, LEN)])
        self.assertEqual(pkts.count((A_MAC, B_MAC, LEN)), 64)
        self.assertEqual(pkts.count((B_MAC, A_MAC, LEN)), 32)
        with open(f, "rb") as fh:
            _, epbs, _ = pcapng_read(fh.read())
        flags = [(e["data"][6:12] == mac_bytes(A_MAC), e["flags"]) for e in epbs]
        self.assertEqual(flags.count((True, 1)), 64)       # from A: in
        self.assertEqual(flags.count((False, 2)), 32)      # from B: out
        ts = [e["ts"] for e in epbs]
        self.assertEqual(ts, sorted(ts))    # One PMD: in order.
        # Wall-clock timestamps (not DPDK 22.11's garbage): within a minute.
        self.assertLess(abs(ts[-1] - time.time()), 60, ts[-1])

    def test_c_stdout_pipe(self):
        """`vsctl capture vhu0 --count 64 -w - | tcpdump -r -` in a shell."""
        out = os.path.join(self.tmp, "tcpdump.out")
        sh = subprocess.Popen(
            "'%s' --socket '%s' capture vhu0 --direction rx --count 64 -w - "
            "| '%s' -r - -nn -e > '%s'" % (self.d.vsctl_bin, self.d.sock, TCPDUMP, out),
            shell=True, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: sh.poll() is None and (sh.kill(), sh.wait()))
        wait_until(lambda: self.captures(), TIMEOUT, "the capture to be listed")
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=2)
        self.assertEqual(self.wait_exit(sh, "pipeline"), 0)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 64, lines[:3])
        for line in lines:
            m = TCPDUMP_LINE.search(line)
            self.assertTrue(m, line)
            self.assertEqual((m.group(1), m.group(2), int(m.group(3))),
                             (A_MAC, B_MAC, LEN))

    def test_d_stop(self):
        """SIGINT: vsctl asks the daemon to stop, writes the rest, exits 0;
        the file is complete.  A reader that goes away stops it too."""
        f = os.path.join(self.tmp, "int.pcapng")
        p, err = self.capture("vhu0", "-w", f)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=2)
        wait_until(lambda: self.captures()[0]["packets"] == 64, TIMEOUT,
                   "64 packets captured")
        p.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(p, "SIGINT"), 0)
        err.wait_for(lambda l: "ended (stopped): 64 packets, 0 dropped" in l, 10,
                     "the summary")
        self.check_packets(f, 64, A_MAC, B_MAC, 1)
        self.assertEqual(self.captures(), [])

        # stdout read by us; we read the header, then stop reading: vsctl's
        # next write fails with EPIPE, it exits, the daemon stops the capture.
        p, _ = self.capture("vhu0", "-w", "-", stdout=subprocess.PIPE)
        head = p.stdout.read(4)
        self.assertEqual(head, b"\x0a\x0d\x0d\x0a")
        p.stdout.close()
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=1)
        self.assertEqual(self.wait_exit(p, "EPIPE"), 0)
        wait_until(lambda: self.captures() == [], TIMEOUT, "no capture left")

        # A client that just disconnects: the capture goes away with it.
        c = self.d.connect()
        c.sendall(b'{"jsonrpc":"2.0","id":1,"method":"port.capture",'
                  b'"params":{"name":"vhu1"}}\n')
        r = c.recv_json(10)
        self.assertEqual(r["result"]["port"], "vhu1")
        self.assertEqual(len(self.captures()), 1)
        c.close()
        wait_until(lambda: self.captures() == [], TIMEOUT, "no capture left")
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=1)

        # vswitchd stopping (SIGTERM) ends the capture: the client gets the
        # rest and capture.end, the file is complete.
        f = os.path.join(self.tmp, "term.pcapng")
        p, err = self.capture("vhu0", "--direction", "rx", "-w", f)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=1)
        wait_until(lambda: self.captures()[0]["packets"] == 32, TIMEOUT,
                   "32 packets captured")
        self.d.stop()
        self.assertEqual(self.wait_exit(p, "shutdown"), 0)
        err.wait_for(lambda l: "ended (shutdown): 32 packets, 0 dropped" in l, 10,
                     "the summary")
        self.check_packets(f, 32, A_MAC, B_MAC, 1)

    def test_e_port_deleted(self):
        """A port re-created by set-port stays captured; what the port does
        not send (link down) is not captured; deleting the port ends its
        capture: vsctl gets capture.end with reason "port deleted", and the
        file (or stdout stream) is complete."""
        f = os.path.join(self.tmp, "del.pcapng")
        p, err = self.capture("vhu1", "--direction", "tx", "-w", f)
        p2, _ = self.capture("vhu0", "--direction", "rx", "-w", "-",
                             stdout=subprocess.PIPE)
        send_and_verify(self.d, self.a, "vhu0", self.b, "vhu1", bursts=1)
        wait_until(lambda: sorted(c["packets"] for c in self.captures()) == [32, 32],
                   TIMEOUT, "32 packets in each capture")

        # queues= re-creates vhu1 (its frontend is disconnected): the
        # capture follows the new port.
        self.d.vsctl("set-port", "vhu1", "queues=2")
        wait_until(lambda: re.search(r"capture \d+: port vhu1 was re-created",
                                     open(self.d.log).read()),
                   TIMEOUT, "the capture to follow the re-created vhu1")
        self.assertIsNone(p.poll())
        s0 = self.d.all_port_stats()
        self.a.start_tx_first(1)
        wait_until(lambda: delta(self.d.all_port_stats(), s0, "vhu1",
                                 "tx_dropped_link_down") == 32,
                   TIMEOUT, "32 packets dropped on vhu1 (no frontend)")
        wait_until(lambda: sorted((c["port"], c["packets"]) for c in self.captures())
                   == [("vhu0", 64), ("vhu1", 32)], TIMEOUT,
                   "vhu0 rx 64, vhu1 tx still 32 (nothing sent)")

        self.d.vsctl("del-port", "vhu1")
        self.assertEqual(self.wait_exit(p, "del-port"), 0)
        err.wait_for(lambda l: "ended (port deleted): 32 packets, 0 dropped" in l,
                     10, "summary")
        self.check_packets(f, 32, A_MAC, B_MAC, 2, port="vhu1")
        self.assertEqual([c["port"] for c in self.captures()], ["vhu0"])
        self.d.vsctl("del-port", "vhu0")
        data = p2.stdout.read()
        self.assertEqual(self.wait_exit(p2, "del-port"), 0)
        self.assertEqual(len(tcpdump_read(data)), 64)
        _, epbs, stats = pcapng_read(data)
        self.assertEqual((len(epbs), stats), (64, [{"recv": 64, "drop": 0}]))
        self.assertEqual(self.captures(), [])

    def test_f_bad_arguments(self):
        """Bad arguments: clear messages; exit 2 for usage errors, 1 for the
        daemon's refusals (DESIGN.md section 7); JSON-RPC error codes."""
        def vsctl(*args):
            return self.d.vsctl("capture", *args, check=False)
        rc, _, err = vsctl("nope", "-w", os.path.join(self.tmp, "x"))
        self.assertEqual(rc, 1)
        self.assertIn('no running port "nope"', err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))
        for args, msg in [
                (("vhu0", "--direction", "sideways", "-w", "-"),
                 '--direction must be rx, tx or both, not "sideways"'),
                (("vhu0", "--snaplen", "0", "-w", "-"),
                 '--snaplen must be a number from 1 to 262144, not "0"'),
                (("vhu0", "--count", "0", "-w", "-"), "--count must be a number"),
                (("vhu0", "--count", "ten", "-w", "-"), "--count must be a number"),
                (("vhu0",), "missing -w FILE"),
                (("-w", "-"), "missing PORT"),
                (("vhu0", "-w"), 'option "-w" needs an argument'),
                (("vhu0", "--bogus", "1", "-w", "-"), 'unknown option "--bogus"')]:
            rc, out, err = vsctl(*args)
            self.assertEqual((rc, out), (2, ""), (args, err))
            self.assertIn(msg, err, args)

        # A port is captured by one capture at a time.
        p, _ = self.capture("vhu0", "-w", os.path.join(self.tmp, "busy.pcapng"))
        rc, _, err = vsctl("vhu0", "-w", "-")
        self.assertEqual(rc, 1)
        self.assertIn("port vhu0 is already being captured", err)

        for params, code, msg in [
                ({"name": "vhu1", "snaplen": 0}, -32602, "snaplen"),
                ({"name": "vhu1", "snaplen": 262145}, -32602, "snaplen"),
                ({"name": "vhu1", "direction": "up"}, -32602, "direction"),
                ({"name": "vhu1", "count": -1}, -32602, "count"),
                ({"name": "vhu1", "count": "5"}, -32602, "count"),
                ({"name": 5}, -32602, "name"),
                ({}, -32602, "name"),
                ({"name": "vhu1", "extra": 1}, -32602, "extra"),
                ({"name": "nope"}, -32001, "nope")]:
            r = self.d.rpc("port.capture", params)
            self.assertIn("error", r, params)
            self.assertEqual(r["error"]["code"], code, (params, r))
            self.assertIn(msg, r["error"]["message"], params)
        r = self.d.rpc("port.capture_stop", {"id": 999})
        self.assertEqual(r["error"]["code"], -32001)
        self.assertEqual(len(self.captures()), 1)
        p.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(p, "SIGINT"), 0)


if __name__ == "__main__":
    unittest.main()
