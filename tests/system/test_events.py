"""events.subscribe and `vsctl monitor`: what users watch to follow the
switch.

  test_monitor_events  vsctl --format json monitor reports bridge/port
                       additions and removals and frontend (dis)connections,
                       in order; it exits 2 when the daemon goes away
  test_raw_subscribe   a raw JSON-RPC client gets "event" notifications
                       interleaved with its own responses
"""

import json
import subprocess

from vstest import Lines, VsTestCase, wait_until

A_MAC = "02:00:00:00:00:0a"
TIMEOUT = 60


class EventsTest(VsTestCase):

    def test_monitor_events(self):
        d = self.daemon()
        mon = subprocess.Popen([d.vsctl_bin, "--socket", d.sock, "--format", "json",
                                "monitor"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)

        def stop_monitor():
            if mon.poll() is None:
                mon.kill()
            mon.wait()
        self.addCleanup(stop_monitor)
        err = Lines(mon.stderr)
        err.wait_for(lambda l: "monitoring" in l, TIMEOUT, "monitor to subscribe")
        out = Lines(mon.stdout)

        def expect(type_, **kw):
            def match(line):
                ev = json.loads(line)
                return ev.get("type") == type_ and all(ev.get(k) == v
                                                       for k, v in kw.items())
            ev = json.loads(out.wait_for(match, TIMEOUT, "event %s %r" % (type_, kw)))
            self.assertIn("time", ev)
            return ev

        d.vsctl("add-br", "br0")
        expect("bridge_added", bridge="br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        expect("port_added", port="vhu0", bridge="br0")
        a = self.frontend(d.vhost_sock("vhu0"), A_MAC, name="A")
        expect("vhost_connected", port="vhu0")
        a.kill()
        expect("vhost_disconnected", port="vhu0")
        # Failed changes announce nothing: the next event is the removal.
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", check=False)
        d.vsctl("del-port", "vhu0")
        ev = json.loads(out.wait_for(lambda l: True, TIMEOUT, "next event"))
        self.assertEqual((ev["type"], ev["port"]), ("port_removed", "vhu0"))
        d.vsctl("del-br", "br0")
        expect("bridge_removed", bridge="br0")

        d.stop()
        self.assertEqual(mon.wait(TIMEOUT), 2)

    def test_raw_subscribe(self):
        d = self.daemon()
        with d.connect() as c:
            c.sendall(b'{"jsonrpc":"2.0","method":"events.subscribe","id":1}\n')
            self.assertEqual(c.recv_json(), {"jsonrpc": "2.0", "result": {}, "id": 1})
            d.vsctl("add-br", "brx")
            ev = c.recv_json()
            self.assertEqual(ev["method"], "event")
            self.assertNotIn("id", ev)
            self.assertEqual((ev["params"]["type"], ev["params"]["bridge"]),
                             ("bridge_added", "brx"))
            c.sendall(b'{"jsonrpc":"2.0","method":"bridge.add","params":{"name":"bry"},'
                      b'"id":2}\n')
            got = [c.recv_json(), c.recv_json()]
            self.assertIn({"jsonrpc": "2.0", "result": {}, "id": 2}, got)
            self.assertIn("bry", [m.get("params", {}).get("bridge") for m in got])
