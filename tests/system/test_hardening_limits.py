"""Resource limits of the control plane (issue 7, section 3): one client must
not hurt the others or the guests.

  test_utf8_error_truncation  an error message cut to fit is cut on a UTF-8
                              boundary: vsctl shows it and exits 1, not 2
  test_mac_table_size_cap     mac-table-size above the cap is refused with a
                              clear message; the cap itself is accepted
  test_log_rate_limit         a burst of bad requests writes a bounded
                              number of log lines
  test_batch_limits           a batch over the call limit is refused whole;
                              a batch of writes is saved once, not per call
  test_idle_connections       256 idle clients do not lock vsctl out and are
                              closed after the idle timeout; monitors stay
  test_batch_save_fails       a batch on a read-only statedir changes nothing
                              and its other calls keep their results
"""

import json
import os
import re
import socket
import subprocess
import time

from vstest import VsTestCase, wait_until

FDB_CAP = 1 << 20


def log_since(d, offset):
    with open(d.log, errors="replace") as f:
        f.seek(offset)
        return f.read()


def log_size(d):
    return os.path.getsize(d.log)


class HardeningLimitsTest(VsTestCase):

    def test_utf8_error_truncation(self):
        d = self.daemon()
        # "no bridge \"b" + 200 x "é": the message is cut at 255 bytes, which
        # falls in the middle of an "é" (2 bytes) with one ASCII letter first.
        name = "b" + "\u00e9" * 200
        for args in (("del-br", name), ("add-br", name),
                     ("add-port", name, "p0", "type=vhost-user"),
                     ("del-port", "x" + "\u00e9" * 200)):
            rc, out, err = d.vsctl(*args, check=False)
            self.assertEqual(rc, 1, "%s: rc %d, stderr %r" % (args[0], rc, err))
            self.assertNotIn("invalid response", err)
            self.assertIn("\u00e9" * 50, err, err)
        # The raw response is valid UTF-8 and the message a prefix of what
        # an uncut one would say.
        r = d.rpc("bridge.del", {"name": name})
        msg = r["error"]["message"]
        self.assertTrue(len(msg.encode()) <= 255, len(msg.encode()))
        self.assertTrue(("no bridge \"" + name).startswith(msg), msg)
        # An unknown method name is cut on a boundary too.
        r = d.rpc("x" + "\u00e9" * 100)
        self.assertEqual(r["error"]["code"], -32601)
        self.assertIn("\u00e9" * 31, r["error"]["message"])

    def test_mac_table_size_cap(self):
        d = self.daemon()
        rc, out, err = d.vsctl("add-br", "br0", "mac-table-size=%d" % (FDB_CAP + 1),
                               check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("mac-table-size=%d is over the limit of %d entries"
                      % (FDB_CAP + 1, FDB_CAP), err)
        rc, out, err = d.vsctl("add-br", "br0", "mac-table-size=16777216", check=False)
        self.assertEqual(rc, 1, err)
        self.assertNotIn("br0", [b["name"] for b in d.vsctl_json("list-br")["bridges"]])
        # The cap itself works (about 96 MiB of DPDK memory).
        d.vsctl("add-br", "br1", "mac-table-size=%d" % FDB_CAP)
        fdb = d.vsctl_json("fdb-show", "br1")
        self.assertEqual(fdb["stats"]["max_entries"], FDB_CAP)

    def test_mac_table_size_saved_over_cap(self):
        """A configuration saved before the cap (mac-table-size up to 16 M)
        still restores its bridge and ports, at the cap, with a warning."""
        d = self.daemon(start=False)
        os.makedirs(d.statedir, exist_ok=True)
        conf = {"version": 1, "bridges": [{
            "name": "br0", "options": {"mac-table-size": "16777216"},
            "ports": [{"name": "vhu0", "type": "vhost-user", "options": {}}]}]}
        with open(os.path.join(d.statedir, "conf.json"), "w") as f:
            json.dump(conf, f)
        d.start()
        self.assertEqual(d.vsctl_json("fdb-show", "br0")["stats"]["max_entries"], FDB_CAP)
        self.assertIn("vhu0", d.ports())
        with open(d.log, errors="replace") as f:
            self.assertIn("saved mac-table-size=16777216 is over the limit", f.read())

    def test_log_rate_limit(self):
        d = self.daemon()
        start = log_size(d)
        n = 500
        for i in range(n):
            # Each is a parse error (connection closed after the answer).
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(d.sock)
            s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":%d,,}\n" % i)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertIn(b"-32700", data)
        # Also a burst of failing changes (bridge.del of a missing bridge).
        with d.connect() as c:
            for i in range(n):
                c.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"bridge.del",'
                          b'"params":{"name":"nope"}}\n' % i)
            for i in range(n):
                self.assertEqual(c.recv_json()["error"]["code"], -32001)
        d.vsctl("version")
        lines = log_since(d, start).splitlines()
        warn = [l for l in lines if "|WARN|" in l or "|ERR|" in l]
        self.assertLessEqual(len(warn), 10, "\n".join(warn[:20]))
        self.assertLessEqual(len(lines), 20, "\n".join(lines[:40]))

    def test_batch_limits(self):
        d = self.daemon()
        # Over the limit: refused whole with one error, nothing executed.
        calls = [{"jsonrpc": "2.0", "id": i, "method": "bridge.add",
                  "params": {"name": "x%d" % i}} for i in range(101)]
        with d.connect() as c:
            c.sendall(json.dumps(calls).encode() + b"\n")
            r = c.recv_json()
        self.assertIsInstance(r, dict, "expected one error, got %d responses"
                              % (len(r) if isinstance(r, list) else -1))
        self.assertEqual(r["error"]["code"], -32600, r)
        self.assertIn("at most 100 calls per batch", r["error"]["message"])
        self.assertEqual(d.vsctl_json("list-br")["bridges"], [])

        # A batch of 100 changes saves the configuration once, not 100
        # times.  Each save writes the whole configuration (about 100 bytes
        # per bridge here), so 100 saves of 20 to 60 bridges write some
        # 400 KB and one save 2 KB: count the bytes vswitchd writes
        # (/proc/PID/io wchar: files, sockets and log alike).
        calls = ([{"jsonrpc": "2.0", "id": i, "method": "bridge.add",
                   "params": {"name": "b%d" % i, "options": {"mac-table-size": 64}}}
                  for i in range(60)]
                 + [{"jsonrpc": "2.0", "id": 60 + i, "method": "bridge.del",
                     "params": {"name": "b%d" % i}} for i in range(40)])

        def wchar():
            with open("/proc/%d/io" % d.pid) as f:
                return int(re.search(r"^wchar: (\d+)$", f.read(), re.M).group(1))
        before = wchar()
        with d.connect() as c:
            c.sendall(json.dumps(calls).encode() + b"\n")
            r = c.recv_json()
        written = wchar() - before
        self.assertEqual(len(r), 100)
        for resp in r:
            self.assertIn("result", resp, resp)
        self.assertLess(written, 64 * 1024, "vswitchd wrote %d bytes for one batch"
                        % written)
        # What was saved is the final state.
        with open(os.path.join(d.statedir, "conf.json")) as f:
            saved = sorted(b["name"] for b in json.load(f)["bridges"])
        self.assertEqual(saved, sorted("b%d" % i for i in range(40, 60)))
        self.assertEqual(saved, sorted(b["name"] for b in d.vsctl_json("list-br")["bridges"]))

    def test_idle_connections(self):
        """256 idle connections do not lock vsctl out, and idle connections
        are closed (VSWITCH_RPC_IDLE_TIMEOUT=2 instead of 60 s) unless they
        monitor events."""
        d = self.daemon(env={"VSWITCH_RPC_IDLE_TIMEOUT": "2"})
        mon = d.connect()
        self.addCleanup(mon.close)
        mon.sendall(b'{"jsonrpc":"2.0","id":1,"method":"events.subscribe"}\n')
        self.assertIn("result", mon.recv_json())
        idle = []
        for i in range(256):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.connect(d.sock)
            idle.append(s)
        # The server is full of idle clients, yet vsctl gets in (the
        # longest-idle connections make room) ...
        for i in range(3):
            d.vsctl("add-br", "br%d" % i)
        # (Each vsctl above would have exited 2 had the server turned it
        # away: d.vsctl() checks the exit status.)
        # ... and the idle ones are closed after the timeout.
        def all_closed():
            for s in idle:
                s.settimeout(0.01)
                try:
                    if s.recv(1) != b"":
                        return False
                except socket.timeout:
                    return False
                except ConnectionResetError:
                    pass
            return True
        wait_until(all_closed, 10, "idle connections to be closed")
        # The silent monitor is still there and gets events.
        d.vsctl("del-br", "br0")
        types = []
        while "bridge_removed" not in types:
            ev = mon.recv_json()
            self.assertEqual(ev["method"], "event")
            types.append(ev["params"]["type"])
        self.assertEqual(types, ["bridge_added"] * 3 + ["bridge_removed"])
        # (How soon they are closed is a matter of timing, not asserted here:
        # test-rpc's test_server_idle_timeout checks the timeout itself.)

    def test_batch_save_fails(self):
        """A batch on a read-only statedir: its changes are refused with
        nothing changed (its first change probes the disk, see bridge.c),
        the other calls keep their results, and once the statedir is
        writable again changes are saved as usual."""
        d = self.daemon()
        d.vsctl("add-br", "br0")
        conf = os.path.join(d.statedir, "conf.json")
        subprocess.run(["mount", "--bind", d.statedir, d.statedir], check=True)
        mounted = [True]

        def umount():
            if mounted[0]:
                subprocess.run(["umount", "-l", d.statedir], check=False)
                mounted[0] = False
        self.addCleanup(umount)
        subprocess.run(["mount", "-o", "remount,bind,ro", d.statedir], check=True)
        calls = [{"jsonrpc": "2.0", "id": 1, "method": "bridge.add",
                  "params": {"name": "br1"}},
                 {"jsonrpc": "2.0", "id": 2, "method": "port.stats_clear"},
                 {"jsonrpc": "2.0", "id": 3, "method": "bridge.del",
                  "params": {"name": "nope"}},
                 {"jsonrpc": "2.0", "id": 4, "method": "bridge.list"}]
        with d.connect() as c:
            c.sendall(json.dumps(calls).encode() + b"\n")
            r = {x["id"]: x for x in c.recv_json()}
        self.assertEqual(r[1]["error"]["code"], -32004, r[1])
        self.assertEqual(r[1]["error"]["data"]["errno"], "EROFS", r[1])
        self.assertIn("nothing was changed", r[1]["error"]["message"])
        self.assertEqual(r[2].get("result"), {}, r[2])
        self.assertEqual(r[3]["error"]["code"], -32001, r[3])
        self.assertEqual([b["name"] for b in r[4]["result"]["bridges"]], ["br0"])
        with open(conf) as f:
            self.assertEqual([b["name"] for b in json.load(f)["bridges"]], ["br0"])
        # Writable again: the next change saves the whole configuration.
        umount()
        d.vsctl("add-br", "br2")
        with open(conf) as f:
            self.assertEqual(sorted(b["name"] for b in json.load(f)["bridges"]),
                             ["br0", "br2"])
