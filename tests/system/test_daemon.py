"""The daemon's own behaviour: configuration recovery, single instance,
client-mode and multi-queue vhost ports, several PMD threads.

  test_corrupt_config_moved_aside  unparsable conf.json: start empty, keep the
                                   file as conf.json.corrupt-*, never overwrite it
  test_unrestorable_port_kept      a saved port that cannot be re-created is
                                   logged, and the saved file kept aside
  test_crash_restart               SIGKILL vswitchd with a frontend connected;
                                   restart: stale sockets replaced, ports back,
                                   frontends reconnect, traffic counted
  test_second_instance_refused     a second vswitchd on the same rundir exits 1
  test_bad_command_line            option errors exit 2 with a message
  test_vhost_sock_group            sockets get mode 0660 and the given group
  test_client_mode                 type=vhost-user-client connects to a frontend
                                   that is the socket server; counts agree;
                                   it reconnects when the frontend comes back
  test_multiqueue                  queues=2 port: both rx queues polled and
                                   enabled by a 2-queue frontend, traffic counted
  test_two_pmds                    rx queues are spread over two PMD threads,
                                   each PMD switches its ports' traffic (exact
                                   counts per port and per PMD)
  test_bridge_options              mac-table-size / mac-aging-time: validated,
                                   learned MACs age out, options persist
  test_set_port                    set-port: tx-retries in place (frontend stays
                                   connected), other options re-create the port,
                                   bad values change nothing, changes persist
"""

import glob
import grp
import json
import os
import stat
import subprocess

from vstest import VsTestCase, add_bridge, send_and_verify, wait_until

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"
TIMEOUT = 60


class DaemonTest(VsTestCase):

    def test_corrupt_config_moved_aside(self):
        d = self.daemon(start=False)
        os.makedirs(d.statedir, exist_ok=True)
        conf = os.path.join(d.statedir, "conf.json")
        with open(conf, "w") as f:
            f.write('{"version": 1, "bridges": [ {"name": "br0", ')
        d.start()
        self.assertEqual(d.vsctl_json("list-br")["bridges"], [])
        aside = glob.glob(conf + ".corrupt-*")
        self.assertEqual(len(aside), 1, os.listdir(d.statedir))
        with open(aside[0]) as f:
            self.assertIn('"br0"', f.read())
        with open(d.log) as f:
            self.assertIn("corrupt", f.read())
        # The daemon works and saves a fresh, valid file.
        d.vsctl("add-br", "br1")
        with open(conf) as f:
            self.assertEqual([b["name"] for b in json.load(f)["bridges"]], ["br1"])

    def test_unrestorable_port_kept(self):
        d = self.daemon(start=False)
        os.makedirs(d.statedir, exist_ok=True)
        conf = os.path.join(d.statedir, "conf.json")
        saved = {"version": 1, "bridges": [{"name": "br0", "ports": [
            {"name": "vhu0", "type": "vhost-user", "options": {}},
            {"name": "odd0", "type": "no-such-type", "options": {}}]}]}
        with open(conf, "w") as f:
            json.dump(saved, f)
        d.start()
        self.assertEqual(sorted(d.ports()), ["vhu0"])
        kept = glob.glob(conf + ".unrestored-*")
        self.assertEqual(len(kept), 1, os.listdir(d.statedir))
        with open(kept[0]) as f:
            self.assertEqual(json.load(f), saved)
        with open(d.log) as f:
            self.assertIn("odd0", f.read())

    def test_crash_restart(self):
        d = self.daemon()
        add_bridge(d)
        a = self.attach(d, "vhu0", A_MAC, "A")
        d.kill()                            # No cleanup: sockets stay behind.
        wait_until(lambda: not d.running(), TIMEOUT, "vswitchd to die")
        self.assertIn(d.vhost_sock("vhu0"), d.vhost_sockets())
        a.kill()

        d.start()
        self.assertEqual(sorted(d.ports()), ["vhu0", "vhu1"])
        a2 = self.attach(d, "vhu0", A_MAC, "A2")
        b = self.attach(d, "vhu1", B_MAC, "B", peer=A_MAC)
        a2.start_fwd()
        b.start_fwd()
        send_and_verify(d, a2, "vhu0", b, "vhu1", timeout=TIMEOUT)
        send_and_verify(d, b, "vhu1", a2, "vhu0", timeout=TIMEOUT)

    def test_second_instance_refused(self):
        d = self.daemon()
        r = subprocess.run(d.command(detach=False), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("already", r.stderr)
        d.vsctl("version")

    def test_vhost_sock_group(self):
        group = grp.getgrgid(1).gr_name        # "daemon" on Debian
        d = self.daemon(extra_args=["--vhost-sock-group", group])
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        st = os.stat(d.vhost_sock("vhu0"))
        self.assertEqual(st.st_gid, 1)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        r = subprocess.run([d.vswitchd_bin, "--rundir", d.rundir + "2",
                            "--vhost-sock-group", "no-such-group-xyz"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-group-xyz", r.stderr)

    def test_bad_command_line(self):
        d = self.daemon(start=False)
        for args, needle in ((["--bogus"], "--bogus"),
                             (["--pmd-cores", "x"], "--pmd-cores"),
                             (["--mbufs", "10"], "--mbufs"),
                             (["--log-level", "loud"], "loud")):
            r = subprocess.run([d.vswitchd_bin, "--rundir", d.rundir] + args,
                               stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(needle, r.stderr)
        r = subprocess.run([d.vswitchd_bin, "--rundir", d.rundir, "--pmd-cores",
                            "1000"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("CPU 1000", r.stderr)

    def test_client_mode(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        csock = d.vhost_sock("cli0")
        # The frontend creates the socket (server=1) and waits in its
        # start-up for a connection; vswitchd connects to it.
        b = self.frontend(csock, B_MAC, name="B", server=True, peer=A_MAC,
                          start=False)
        b.start(wait=False)
        wait_until(lambda: os.path.exists(csock), TIMEOUT, "frontend socket")
        d.vsctl("add-port", "br0", "cli0", "type=vhost-user-client",
                "path=" + csock)
        b.wait_ready(TIMEOUT)
        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
        d.wait_port_state("cli0", "up", TIMEOUT)
        d.wait_port_state("vhu0", "up", TIMEOUT)
        self.assertEqual(d.vsctl_json("port-show", "cli0")["vhost"]["mode"], "client")
        a.start_fwd()
        b.start_fwd()
        send_and_verify(d, a, "vhu0", b, "cli0", timeout=TIMEOUT)
        send_and_verify(d, b, "cli0", a, "vhu0", timeout=TIMEOUT)

        # The frontend goes away and comes back: vswitchd reconnects.
        b.kill()
        d.wait_port_state("cli0", "down", TIMEOUT)
        if os.path.exists(csock):
            os.unlink(csock)        # What a killed server leaves behind.
        b2 = self.frontend(csock, B_MAC, name="B2", server=True, peer=A_MAC,
                           start=False)
        b2.start(wait=False)
        d.wait_port_state("cli0", "up", TIMEOUT)
        b2.wait_ready(TIMEOUT)
        b2.start_fwd()
        send_and_verify(d, b2, "cli0", a, "vhu0", timeout=TIMEOUT)

        # Client sockets must be inside the vhost socket dir, and exist as
        # a name, not a path outside it.
        rc, _, err = d.vsctl("add-port", "br0", "cli1", "type=vhost-user-client",
                             "path=/tmp/elsewhere", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("/tmp/elsewhere", err)
        rc, _, err = d.vsctl("add-port", "br0", "cli1", "type=vhost-user-client",
                             check=False)
        self.assertEqual(rc, 1)
        self.assertIn("path", err)

        # The frontend's socket is the frontend's: remove it once it is gone.
        b2.quit()
        if os.path.exists(csock):
            os.unlink(csock)

    def test_multiqueue(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", "queues=2")
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user")
        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A", queues=2,
                          extra_app=("--rxq=2", "--txq=2"))
        b = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
        d.wait_port_state("vhu0", "up", TIMEOUT)
        d.wait_port_state("vhu1", "up", TIMEOUT)

        def vhu0_rxqs():
            rxqs = [q for p in d.vsctl_json("pmd-rxq-show")["pmds"]
                    for q in p["rxqs"] if q["port"] == "vhu0"]
            return sorted((q["queue"], q["enabled"]) for q in rxqs)
        wait_until(lambda: vhu0_rxqs() == [(0, True), (1, True)], TIMEOUT,
                   lambda: "both vhu0 rx queues enabled: %r" % vhu0_rxqs())
        show = d.vsctl_json("port-show", "vhu0")
        self.assertEqual(show["n_rxq"], 2)
        self.assertEqual(show["vhost"]["n_vrings"], 4)
        a.start_fwd()
        b.start_fwd()
        send_and_verify(d, a, "vhu0", b, "vhu1", bursts=4, txqs=2, timeout=TIMEOUT)
        send_and_verify(d, b, "vhu1", a, "vhu0", timeout=TIMEOUT)

        # librte_vhost's per-vring counters agree with the port's.
        vrings = d.vsctl_json("port-show", "vhu0")["vhost"]["vrings"]
        self.assertEqual(len(vrings), 4)

        def vring_sum(direction):
            return sum(v for r in vrings if r["direction"] == direction
                       for k, v in r.items() if k.endswith("_good_packets"))
        st = d.port_stats("vhu0")
        self.assertEqual(vring_sum("from_guest"), st["rx_packets"])
        self.assertEqual(vring_sum("to_guest"), st["tx_packets"])

    def test_two_pmds(self):
        d = self.daemon(pmd_cores="0,1")
        d.vsctl("add-br", "br0")
        for p in ("vhu0", "vhu1", "vhu2"):
            d.vsctl("add-port", "br0", p, "type=vhost-user")
        pmds = d.vsctl_json("pmd-rxq-show")["pmds"]
        self.assertEqual(sorted(p["core"] for p in pmds), [0, 1])
        placed = sorted(q["port"] for p in pmds for q in p["rxqs"])
        self.assertEqual(placed, ["vhu0", "vhu1", "vhu2"])
        self.assertTrue(all(p["rxqs"] for p in pmds), pmds)
        self.assertEqual(len(d.pmd_stats()["pmds"]), 2)

        # Two ports polled by different PMDs carry counted traffic both
        # ways; each PMD's rx_packets grows by exactly what its port got.
        pmd_of = {q["port"]: p["pmd"] for p in pmds for q in p["rxqs"]}
        pa = "vhu0"
        pb = next(p for p in ("vhu1", "vhu2") if pmd_of[p] != pmd_of[pa])
        a = self.attach(d, pa, A_MAC, "A", timeout=TIMEOUT)
        b = self.attach(d, pb, B_MAC, "B", peer=A_MAC, timeout=TIMEOUT)
        a.start_fwd()
        b.start_fwd()
        for (tx, tport), (rx, rport) in (((a, pa), (b, pb)), ((b, pb), (a, pa))):
            before = {p["pmd"]: p["rx_packets"] for p in d.pmd_stats()["pmds"]}
            r = send_and_verify(d, tx, tport, rx, rport, bursts=2, timeout=TIMEOUT)
            after = {p["pmd"]: p["rx_packets"] for p in d.pmd_stats()["pmds"]}
            got = {k: after[k] - before[k] for k in after}
            self.assertEqual(got, {pmd_of[tport]: r["n"], pmd_of[rport]: 0},
                             "per-PMD rx_packets for %d packets in on %s (PMD %d)"
                             % (r["n"], tport, pmd_of[tport]))
        # The flood from A also went to the third port (no frontend).
        third = ({"vhu1", "vhu2"} - {pb}).pop()
        self.assertEqual(d.port_stats(third)["tx_dropped_link_down"], 2 * 32)

        d.vsctl("del-port", "vhu1")
        placed = sorted(q["port"] for p in d.vsctl_json("pmd-rxq-show")["pmds"]
                        for q in p["rxqs"])
        self.assertEqual(placed, sorted({"vhu0", "vhu1", "vhu2"} - {"vhu1"}))

    def test_set_port(self):
        d = self.daemon()
        add_bridge(d)
        a = self.attach(d, "vhu0", A_MAC, "A")
        b = self.attach(d, "vhu1", B_MAC, "B", peer=A_MAC)
        vid = d.vsctl_json("port-show", "vhu0")["vhost"]["vid"]

        # In place: the frontend stays connected and traffic still flows.
        shown = d.vsctl_json("set-port", "vhu0", "tx-retries=2")
        self.assertEqual(shown["options"], {"tx-retries": "2"})
        self.assertEqual(d.vsctl_json("port-show", "vhu0")["vhost"]["vid"], vid)
        self.assertEqual(d.port_state("vhu0"), "up")
        a.start_fwd()
        b.start_fwd()
        send_and_verify(d, b, "vhu1", a, "vhu0", timeout=TIMEOUT)

        # Bad values and unknown options are refused and change nothing.
        for arg, needle in (("tx-retries=abc", "tx-retries"), ("bogus=1", "bogus"),
                            ("queues=99", "queues"), ("path=/tmp/x", "/tmp/x")):
            rc, _, err = d.vsctl("set-port", "vhu0", arg, check=False)
            self.assertEqual(rc, 1, arg)
            self.assertIn(needle, err)
        self.assertEqual(d.vsctl_json("port-show", "vhu0")["options"],
                         {"tx-retries": "2"})
        self.assertEqual(d.vsctl("set-port", "vhu0", "type=x", check=False)[0], 2)
        self.assertEqual(d.vsctl("set-port", "nope", "queues=2", check=False)[0], 1)

        # Other options re-create the port with the new rx queues.
        d.vsctl("set-port", "vhu1", "queues=2")
        self.assertEqual(d.vsctl_json("port-show", "vhu1")["n_rxq"], 2)
        self.assertIn(d.vhost_sock("vhu1"), d.vhost_sockets())
        b.kill()
        b2 = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B2", peer=A_MAC,
                           queues=2, extra_app=("--rxq=2", "--txq=2"))
        d.wait_port_state("vhu1", "up", TIMEOUT)
        b2.start_fwd()
        send_and_verify(d, a, "vhu0", b2, "vhu1", timeout=TIMEOUT)

        # "key=" goes back to the default; everything persists.
        d.vsctl("set-port", "vhu0", "tx-retries=")
        self.assertEqual(d.vsctl_json("port-show", "vhu0")["options"], {})
        b2.kill()
        a.kill()
        d.stop()
        d.start()
        self.assertEqual(d.vsctl_json("port-show", "vhu1")["options"], {"queues": "2"})
        self.assertEqual(d.vsctl_json("port-show", "vhu1")["n_rxq"], 2)
        self.assertEqual(d.vsctl_json("port-show", "vhu0")["options"], {})

    def test_bridge_options(self):
        d = self.daemon()
        for args, needle in ((["mac-aging-time=0"], "mac-aging-time"),
                             (["mac-table-size=4"], "mac-table-size"),
                             (["colour=red"], "colour")):
            rc, _, err = d.vsctl("add-br", "brx", *args, check=False)
            self.assertEqual(rc, 1, args)
            self.assertIn(needle, err)
        self.assertEqual(d.vsctl_json("list-br")["bridges"], [])

        d.vsctl("add-br", "br0", "mac-aging-time=1", "mac-table-size=16")
        stats = d.vsctl_json("fdb-show", "br0")["stats"]
        self.assertEqual((stats["max_entries"], stats["ageing_time"]), (16, 1))
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user")
        a = self.attach(d, "vhu0", A_MAC, "A")
        b = self.attach(d, "vhu1", B_MAC, "B", peer=A_MAC)
        a.start_fwd()
        b.start_fwd()
        send_and_verify(d, a, "vhu0", b, "vhu1", bursts=1, timeout=TIMEOUT)
        # A's MAC was learned, then ages out within a couple of seconds.
        wait_until(lambda: d.vsctl_json("fdb-show", "br0")["stats"]["aged"] >= 1,
                   TIMEOUT, lambda: "A's MAC to age out: %r"
                   % d.vsctl_json("fdb-show", "br0"))
        self.assertNotIn(A_MAC, [e["mac"] for e in
                                 d.vsctl_json("fdb-show", "br0")["entries"]])
        a.kill()
        b.kill()
        d.stop()
        d.start()
        stats = d.vsctl_json("fdb-show", "br0")["stats"]
        self.assertEqual((stats["max_entries"], stats["ageing_time"]), (16, 1))
        self.assertEqual(d.vsctl_json("list-br")["bridges"][0]["options"],
                         {"mac-aging-time": "1", "mac-table-size": "16"})
