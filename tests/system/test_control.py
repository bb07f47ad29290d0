"""The control plane: JSON-RPC robustness, vsctl errors, restart, shutdown.

  test_d_*  bad input on the raw socket and through vsctl never hurts the
            daemon; many concurrent clients are all answered
  test_e_*  configuration survives a restart (and the restored vhost ports
            pass traffic); system.shutdown stops the daemon cleanly
"""

import json
import os
import threading
import time
import unittest

from vstest import VsTestCase, send_and_verify

A_MAC = "02:00:00:00:00:0a"
B_MAC = "02:00:00:00:00:0b"


def first_json(data):
    line = data.split(b"\n", 1)[0]
    if not line.strip():
        raise AssertionError("no response before close: %r" % data[:500])
    return json.loads(line)


class ControlTest(VsTestCase):

    # -- raw JSON-RPC --------------------------------------------------

    def assert_error(self, resp, code, id_="__any__"):
        self.assertIn("error", resp, "expected error %d, got %r" % (code, resp))
        self.assertEqual(resp["error"].get("code"), code, resp)
        self.assertIsInstance(resp["error"].get("message"), str, resp)
        self.assertEqual(resp.get("jsonrpc"), "2.0", resp)
        if id_ != "__any__":
            self.assertIn("id", resp)
            self.assertEqual(resp["id"], id_, resp)

    def send_fatal(self, d, payload, what):
        """Sends 'payload' that must get a -32700 error with id null and then
        a closed connection."""
        with d.connect() as c:
            try:
                c.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass        # the server closed while we were still writing
            data = c.recv_until_closed()
        try:
            resp = first_json(data)
        except ValueError:
            raise AssertionError("%s: response is not JSON: %r" % (what, data[:500]))
        self.assert_error(resp, -32700, None)

    def test_d_raw_jsonrpc_errors(self):
        d = self.daemon()

        # Well-formed requests first: framing variants all work.
        r = d.rpc("system.version", id_=7)
        self.assertEqual(r.get("id"), 7)
        self.assertIn("version", r["result"])
        with d.connect() as s:
            # Two objects concatenated, then one split across writes.
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"system.version"}'
                      b'{"jsonrpc":"2.0","id":2,"method":"bridge.list"}')
            r1, r2 = s.recv_json(), s.recv_json()
            self.assertEqual((r1["id"], r2["id"]), (1, 2))
            self.assertIn("bridges", r2["result"])
            s.sendall(b'{"jsonrpc":"2.0","id":3,"met')
            time.sleep(0.2)     # make it two reads on the server side
            s.sendall(b'hod":"system.version"}\n')
            self.assertEqual(s.recv_json()["id"], 3)
            # A notification gets no answer: the next response is id 4's.
            s.sendall(b'{"jsonrpc":"2.0","method":"system.version"}\n'
                      b'{"jsonrpc":"2.0","id":4,"method":"system.version"}\n')
            self.assertEqual(s.recv_json()["id"], 4)
            # Batch.
            s.sendall(b'[{"jsonrpc":"2.0","id":5,"method":"system.version"},'
                      b'{"jsonrpc":"2.0","id":6,"method":"no.such.method"}]\n')
            batch = s.recv_json()
            self.assertIsInstance(batch, list)
            by_id = {x["id"]: x for x in batch}
            self.assertIn("result", by_id[5])
            self.assert_error(by_id[6], -32601)

        # Method errors keep the connection usable.
        with d.connect() as s:
            s.sendall(b'{"jsonrpc":"2.0","id":10,"method":"no.such.method"}\n')
            self.assert_error(s.recv_json(), -32601, 10)
            s.sendall(b'{"jsonrpc":"2.0","id":11,"method":"bridge.add",'
                      b'"params":{"name":5}}\n')
            self.assert_error(s.recv_json(), -32602, 11)
            s.sendall(b'{"jsonrpc":"2.0","id":12,"method":"bridge.add",'
                      b'"params":{"name":"br0","bogus":1}}\n')
            self.assert_error(s.recv_json(), -32602, 12)
            s.sendall(b'{"jsonrpc":"2.0","id":13,"method":"bridge.add",'
                      b'"params":["br0"]}\n')
            self.assert_error(s.recv_json(), -32602, 13)
            s.sendall(b'{"id":14,"method":"system.version"}\n')      # no "jsonrpc"
            self.assert_error(s.recv_json(), -32600)
            s.sendall(b'{"jsonrpc":"2.0","id":15,"method":"system.version"}\n')
            self.assertIn("result", s.recv_json())
        self.assertEqual(d.vsctl_json("list-br")["bridges"], [],
                         "a refused bridge.add created a bridge")

        # Fatal errors: -32700 and the connection is closed.
        self.send_fatal(d, b'{"jsonrpc": "2.0", "id": 1, ]\n', "malformed JSON")
        self.send_fatal(d, b'this is not json\n', "garbage")
        self.send_fatal(d, b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}\n',
                        "invalid UTF-8")
        big = (b'{"jsonrpc":"2.0","id":1,"method":"bridge.add","params":{"name":"'
               + b"a" * (2 << 20) + b'"}}\n')
        self.send_fatal(d, big, "2 MiB message")
        # Unterminated 2 MiB string: the limit must apply before the end.
        self.send_fatal(d, b'{"jsonrpc":"2.0","id":1,"method":"' + b"x" * (2 << 20),
                        "2 MiB unterminated")

        # Still alive and answering.
        self.assertTrue(d.running())
        d.vsctl("version")
        self.assertIn("result", d.rpc("system.list_methods"))

    def test_d_concurrent_clients(self):
        d = self.daemon()
        n = 50
        # A slow client that sends half a request and then nothing must not
        # block anyone.
        slow = d.connect()
        self.addCleanup(slow.close)
        slow.sendall(b'{"jsonrpc":"2.0","id":1,"meth')

        socks = [d.connect(timeout=30) for _ in range(n)]
        for s in socks:
            self.addCleanup(s.close)
        results = [None] * n
        barrier = threading.Barrier(n)

        def client(i):
            try:
                barrier.wait(30)
                req = {"jsonrpc": "2.0", "id": 1000 + i,
                       "method": "bridge.add" if i % 5 == 0 else "system.version"}
                if i % 5 == 0:
                    req["params"] = {"name": "cbr%d" % i}
                socks[i].sendall(json.dumps(req).encode() + b"\n")
                results[i] = socks[i].recv_json(timeout=30)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = e
        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i, r in enumerate(results):
            self.assertIsInstance(r, dict, "client %d: %r" % (i, r))
            self.assertEqual(r.get("id"), 1000 + i, r)
            self.assertIn("result", r, r)
        names = sorted(b["name"] for b in d.vsctl_json("list-br")["bridges"])
        self.assertEqual(names, sorted("cbr%d" % i for i in range(0, n, 5)))
        d.vsctl("version")

    # -- vsctl ---------------------------------------------------------

    def assert_vsctl_error(self, d, args, rc, *needles):
        r, out, err = d.vsctl(*args, check=False)
        self.assertEqual(r, rc, "vsctl %s: exit %d (expected %d)\nstdout: %s\nstderr: %s"
                         % (" ".join(args), r, rc, out, err))
        self.assertTrue(err.strip(), "vsctl %s: no message on stderr" % " ".join(args))
        for needle in needles:
            self.assertIn(needle, err, "vsctl %s: stderr does not name %r: %s"
                          % (" ".join(args), needle, err))

    def test_d_vsctl_errors(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")

        long_name = "p" * 40
        daemon_errors = [
            (["add-port", "br0", "a/b", "type=vhost-user"], "a/b"),
            (["add-port", "br0", "..", "type=vhost-user"], ".."),
            (["add-port", "br0", long_name, "type=vhost-user"], long_name),
            (["add-port", "br0", "p1", "type=bogus-type"], "bogus-type"),
            (["add-port", "br0", "vhu0", "type=vhost-user"], "vhu0"),
            (["add-port", "nobr", "p2", "type=vhost-user"], "nobr"),
            (["add-port", "br0", "p3", "type=vhost-user", "path=/tmp/evil"], "path"),
            (["add-port", "br0", "p4", "type=vhost-user", "queues=banana"], "queues"),
            (["add-br", "br0"], "br0"),
            (["add-br", "bad/name"], "bad/name"),
            (["del-br", "nobr"], "nobr"),
            (["del-port", "noport"], "noport"),
            (["port-show", "noport"], "noport"),
            (["fdb-show", "nobr"], "nobr"),
            (["call", "no.such.method"], "no.such.method"),
        ]
        for args, needle in daemon_errors:
            with self.subTest(args=args):
                self.assert_vsctl_error(d, args, 1, needle)

        usage_errors = [
            [],
            ["no-such-command"],
            ["add-br"],
            ["add-port", "br0"],
            ["add-port", "br0", "p5", "notakeyvalue"],
            ["add-br", "x", "extra-arg"],
            ["--format", "xml", "version"],
            ["call", "system.version", "{not json"],
        ]
        for args in usage_errors:
            with self.subTest(args=args):
                self.assert_vsctl_error(d, args, 2)

        r, out, err = d.vsctl("version", check=False,
                              socket_path=os.path.join(d.workdir, "nonexistent.sock"))
        self.assertEqual(r, 2, "vsctl against a missing socket: exit %d\n%s" % (r, err))
        self.assertTrue(err.strip())

        # Nothing was created by the refused commands, nothing escaped the
        # vhost socket dir.
        ports = d.ports()
        self.assertEqual(sorted(ports), ["vhu0"], ports)
        self.assertEqual(sorted(os.listdir(d.vhostdir)), ["vhu0"])
        self.assertFalse(os.path.exists("/tmp/evil"))
        self.assertEqual([b["name"] for b in d.vsctl_json("list-br")["bridges"]], ["br0"])

        # And the daemon still answers.
        self.assertTrue(d.running())
        _, out, _ = d.vsctl("version")
        self.assertTrue(out.strip())
        self.assertIn("version", d.vsctl_json("version"))

    # -- restart / shutdown --------------------------------------------

    def config(self, d):
        bridges = d.vsctl_json("list-br")["bridges"]
        ports = {}
        for name in d.ports():
            p = d.vsctl_json("port-show", name)
            ports[name] = (p["bridge"], p["type"], p.get("options", {}))
        return bridges, ports

    def test_e_restart_restores_config(self):
        d = self.daemon(detach=False)
        d.vsctl("add-br", "br0")
        d.vsctl("add-br", "br1")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user", "tx-retries=4")
        d.vsctl("add-port", "br1", "vhu2", "type=vhost-user")
        d.vsctl("add-port", "br1", "gone", "type=vhost-user")
        d.vsctl("del-port", "gone")
        d.vsctl("add-br", "brgone")
        d.vsctl("del-br", "brgone")
        before = self.config(d)
        self.assertEqual(sorted(b["name"] for b in before[0]), ["br0", "br1"])
        self.assertEqual(sorted(before[1]), ["vhu0", "vhu1", "vhu2"])
        self.assertEqual(before[1]["vhu1"][2].get("tx-retries"), "4")
        _, list_br, _ = d.vsctl("list-br")
        _, list_ports0, _ = d.vsctl("list-ports", "br0")
        _, list_ports1, _ = d.vsctl("list-ports", "br1")

        d.stop()        # SIGTERM: exit 0, ctl + vhost sockets removed
        self.assertEqual(d.returncode, 0)
        self.assertFalse(os.path.exists(d.sock))
        self.assertEqual(d.vhost_sockets(), [])

        d.start(detach=True)
        self.assertEqual(self.config(d), before)
        self.assertEqual(d.vsctl("list-br")[1], list_br)
        self.assertEqual(d.vsctl("list-ports", "br0")[1], list_ports0)
        self.assertEqual(d.vsctl("list-ports", "br1")[1], list_ports1)
        self.assertIn("vhu0", list_ports0)
        self.assertIn("br1", list_br)
        for p in ("vhu0", "vhu1", "vhu2"):
            self.assertIn(d.vhost_sock(p), d.vhost_sockets())

        # The restored ports pass traffic.
        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
        b = self.frontend(d.vhost_sock("vhu1"), B_MAC, name="B", peer=A_MAC)
        d.wait_port_state("vhu0", "up", 60)
        d.wait_port_state("vhu1", "up", 60)
        a.start_fwd()
        b.start_fwd()
        send_and_verify(d, a, "vhu0", b, "vhu1", timeout=60)
        r = send_and_verify(d, b, "vhu1", a, "vhu0", timeout=60)
        self.assertEqual(r["tx"], r["n"])
        # vhu2 is on another bridge: it saw nothing.
        s = d.all_port_stats()
        self.assertEqual(s["vhu2"].get("tx_packets", 0) + s["vhu2"].get("tx_dropped", 0), 0)

    def test_e_system_shutdown(self):
        d = self.daemon(detach=False)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        sock0 = d.vhost_sock("vhu0")
        self.assertIn(sock0, d.vhost_sockets())
        d.vsctl("call", "system.shutdown")
        self.assertEqual(d.wait_exit(30), 0, d.log_tail())
        self.assertFalse(os.path.exists(d.sock), "control socket left behind")
        self.assertFalse(os.path.exists(sock0), "vhost socket left behind")
        # The configuration was kept.
        d.start()
        self.assertEqual([b["name"] for b in d.vsctl_json("list-br")["bridges"]], ["br0"])


if __name__ == "__main__":
    unittest.main()
