"""Fuzzing the live control socket of a real vswitchd.

  test_fuzz_live  5,000 mutated JSON-RPC requests (single, batched,
                  notifications, mutated bytes, invalid UTF-8, truncations),
                  sent whole, in byte-sized partial writes, pipelined to a
                  client that does not read for a while, and cut off
                  mid-message; bounded in count and in time (60 s).  Then:
                  the daemon still serves, every connection it had is closed
                  (fds back to the baseline), and its state (bridge.list,
                  port.list, port.show) is what conf.json says.

The mutator is seeded (VSTEST_FUZZ_SEED, default: the time); the seed is
printed when the test fails so that a run can be repeated.
"""

import json
import os
import random
import socket
import time

from vstest import VsTestCase, wait_until

REQUESTS = int(os.environ.get("VSTEST_FUZZ_REQUESTS", "5000"))
TIME_BUDGET = 60.0

NAMES = ["br0", "br1", "brx", "vhu0", "vhu1", "vhu2", "p", "", "a" * 16,
         "\u00e9" * 4, "../x", "x/y", "vswitchd.sock", "br0 ", "-", "0"]
# Only vhost-user ports: a mutated dpdk/internal port.add could hot-plug a
# device (net_tap makes kernel interfaces); those have tests of their own.
TYPES = ["vhost-user", "vhost-user-client", "bogus", "", None, 1]
OPTIONS = [{}, {"queues": "2"}, {"tx-retries": "3"}, {"vlan": "10"},
           {"mtu": "9000"}, {"queues": "x"}, {"path": "/tmp/elsewhere"},
           {"bogus": "1"}, {"queues": 2}, [], None, "s",
           {"mac-table-size": "16"}, {"mac-aging-time": "1"}]


def template(rng):
    """A plausible request: right method, parameters right or slightly off."""
    m = rng.choice(["system.version", "system.list_methods", "bridge.add",
                    "bridge.del", "bridge.list", "port.add", "port.del",
                    "port.set", "port.list", "port.show", "port.stats",
                    "port.stats_clear", "fdb.show", "fdb.flush", "pmd.stats",
                    "pmd.rxq_show", "no.such", "", "bridge.add."])
    p = {}
    if m in ("bridge.add", "bridge.del", "port.del", "port.show", "port.stats"):
        p["name"] = rng.choice(NAMES)
    if m == "bridge.add" and rng.random() < 0.3:
        p["options"] = rng.choice(OPTIONS)
    if m in ("port.add", "port.list", "fdb.show", "fdb.flush"):
        p["bridge"] = rng.choice(NAMES)
    if m == "port.add":
        p["name"] = rng.choice(NAMES)
        t = rng.choice(TYPES)
        if t is not None:
            p["type"] = t
        p["options"] = rng.choice(OPTIONS)
    if m == "port.set":
        p["name"] = rng.choice(NAMES)
        p["options"] = rng.choice(OPTIONS)
    req = {"jsonrpc": "2.0", "method": m}
    r = rng.random()
    if r < 0.1:
        req["params"] = rng.choice([[], [1], "x", 3, None])
    elif r < 0.9:
        req["params"] = p
    r = rng.random()
    if r < 0.8:
        req["id"] = rng.choice([rng.randrange(1 << 31), "id-%d" % rng.randrange(100),
                                None, 1.5])
    elif r < 0.85:
        req["id"] = rng.choice([[1], {"a": 1}, True])
    if rng.random() < 0.05:
        req["jsonrpc"] = rng.choice(["1.0", 2.0, None])
    return req


def mutate(rng, data):
    """Byte-level mutations of an encoded request."""
    data = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        if not data:
            break
        op = rng.randrange(7)
        i = rng.randrange(len(data))
        if op == 0:
            data[i] = rng.randrange(256)
        elif op == 1:
            del data[i:i + rng.randrange(1, 8)]
        elif op == 2:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        elif op == 3:
            data[i:i] = rng.choice([b"\xc3\x28", b"\xff", b"\xed\xa0\x80", b"\\u0000",
                                    b"\\ud800", b"\x00", b"{", b"[", b"}", b"]",
                                    b'"', b",", b":", b"1e999", b"-"])
        elif op == 4:
            data = data[:i]
        elif op == 5:
            j = rng.randrange(len(data))
            data[i:i] = data[min(i, j):max(i, j)][:64]
        else:
            data[i:i] = b"[" * rng.randrange(1, 300)
    return bytes(data)


def one_message(rng):
    """(bytes to send, how many responses at most it can produce)."""
    r = rng.random()
    if r < 0.25:
        batch = [template(rng) for _ in range(rng.randrange(1, 12))]
        data = json.dumps(batch).encode()
        n = len(batch)
    else:
        data = json.dumps(template(rng)).encode()
        n = 1
    if rng.random() < 0.5:
        data = mutate(rng, data)
    # Never the one method that would end the test early.
    data = data.replace(b"shutdown", b"shutdowX")
    return data, n


class LiveFuzzTest(VsTestCase):

    def state(self, d):
        """{bridge: (options, {port: (type, options)})} as the daemon says."""
        out = {}
        for b in d.vsctl_json("list-br")["bridges"]:
            ports = {}
            for p in d.vsctl_json("list-ports", b["name"])["ports"]:
                show = d.vsctl_json("port-show", p["name"])
                ports[p["name"]] = (p["type"], show.get("options") or {})
            out[b["name"]] = (b.get("options") or {}, ports)
        return out

    def saved_state(self, d):
        with open(os.path.join(d.statedir, "conf.json")) as f:
            conf = json.load(f)
        return {b["name"]: (b.get("options") or {},
                            {p["name"]: (p["type"], p.get("options") or {})
                             for p in b.get("ports", [])})
                for b in conf["bridges"]}

    def fd_count(self, d):
        return len(os.listdir("/proc/%d/fd" % d.pid))

    def test_fuzz_live(self):
        seed = int(os.environ.get("VSTEST_FUZZ_SEED") or time.time())
        rng = random.Random(seed)
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-br", "br1")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        d.vsctl("add-port", "br1", "vhu1", "type=vhost-user", "queues=2")
        fds0 = self.fd_count(d)
        stats = {"requests": 0, "response lines": 0, "closed by server": 0}
        modes = {}
        sync = [0]

        def sentinel():
            sync[0] += 1
            return json.dumps({"jsonrpc": "2.0", "id": "sync-%d" % sync[0],
                               "method": "system.version"}).encode() + b"\n"

        def check_lines(buf):
            for line in buf.split(b"\n"):
                if not line:
                    continue
                try:
                    msg = json.loads(line)  # The server only sends valid JSON.
                except ValueError as e:
                    raise AssertionError("invalid JSON from the server (%s): %r (seed %d)"
                                         % (e, line[:2000], seed))
                for r in (msg if isinstance(msg, list) else [msg]):
                    self.assertEqual(r.get("jsonrpc"), "2.0", r)
                    self.assertTrue(("result" in r) != ("error" in r), r)
                stats["response lines"] += 1

        def send(conn, data, pieces):
            if not pieces:
                conn.sendall(data)
                return
            i = 0
            while i < len(data):
                k = rng.randrange(1, 6)
                conn.sendall(data[i:i + k])
                i += k
                if rng.random() < 0.02:
                    time.sleep(0.001)

        def read_until(conn, pred, timeout, what):
            """Reads until pred(buf) or EOF; returns (buf, closed)."""
            conn.settimeout(timeout)
            buf = b""
            try:
                while not pred(buf):
                    chunk = conn.recv(rng.choice([1, 64, 4096, 1 << 20]))
                    if not chunk:
                        return buf, True
                    buf += chunk
            except socket.timeout:
                raise AssertionError("%s: nothing more within %ds, have %r (seed %d)"
                                     % (what, timeout, buf[-300:], seed))
            except ConnectionResetError:
                return buf, True
            return buf, False

        def exchange(conn, data, pieces):
            """Sends 'data'.  Valid JSON is followed by a sentinel request
            whose answer must come (or the connection close, e.g. nesting
            deeper than the server takes); anything else is followed by a
            half-close, and the server must answer what it can and close.
            Returns True if the server closed the connection."""
            try:
                json.loads(data)
                valid = True
            except ValueError:
                valid = False
            try:
                if valid:
                    tag = sentinel()
                    send(conn, data + b"\n" + tag, pieces)
                    key = tag[tag.index(b'"sync-'):tag.index(b'"', tag.index(b'"sync-') + 1) + 1]
                    buf, closed = read_until(conn, lambda b: key in b and b.endswith(b"\n"),
                                             10, "answer to %r" % data[:200])
                else:
                    send(conn, data, pieces)
                    conn.shutdown(socket.SHUT_WR)
                    buf, closed = read_until(conn, lambda b: False, 10,
                                             "close after %r" % data[:200])
            except (BrokenPipeError, ConnectionResetError):
                return True
            check_lines(buf.rsplit(b"\n", 1)[0] if closed else buf)
            return closed or not valid

        conn = None
        t0 = time.monotonic()
        try:
            while stats["requests"] < REQUESTS:
                self.assertLess(time.monotonic() - t0, TIME_BUDGET,
                                "only %d of %d requests in %.0f s (seed %d)"
                                % (stats["requests"], REQUESTS, TIME_BUDGET, seed))
                if conn is None:
                    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    conn.connect(d.sock)
                mode = rng.choice(["whole"] * 6 + ["partial"] * 2 + ["pipelined", "cut"])
                modes[mode] = modes.get(mode, 0) + 1
                if mode == "pipelined":
                    # A slow reader: many requests written before anything
                    # is read; then the answers in reads of random sizes.
                    k = rng.randrange(5, 60)
                    data = b"\n".join(json.dumps(template(rng)).encode().replace(
                        b"shutdown", b"shutdowX") for _ in range(k))
                    stats["requests"] += k
                    try:
                        tag = sentinel()
                        conn.sendall(data + b"\n" + tag)
                        time.sleep(0.05)
                        key = tag[tag.index(b'"sync-'):
                                  tag.index(b'"', tag.index(b'"sync-') + 1) + 1]
                        buf, closed = read_until(conn, lambda b: key in b
                                                 and b.endswith(b"\n"), 10, "pipelined")
                        check_lines(buf)
                    except (BrokenPipeError, ConnectionResetError):
                        closed = True
                elif mode == "cut":
                    # Cut off mid-message: the daemon drops its half.
                    data, _ = one_message(rng)
                    stats["requests"] += 1
                    try:
                        conn.sendall(data[:max(1, len(data) // 2)])
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    closed = True
                else:
                    data, _ = one_message(rng)
                    stats["requests"] += 1
                    closed = exchange(conn, data, mode == "partial")
                if closed:
                    stats["closed by server"] += mode != "cut"
                    conn.close()
                    conn = None
                self.assertTrue(d.running(), "vswitchd died (seed %d)" % seed)
        finally:
            if conn is not None:
                conn.close()
        elapsed = time.monotonic() - t0

        # Still serving, through vsctl and through a fresh raw connection.
        d.vsctl("version")
        self.assertIn("result", d.rpc("bridge.list"))
        # Every connection the fuzzer opened is gone.
        wait_until(lambda: self.fd_count(d) <= fds0, 30,
                   lambda: "vswitchd fds back to %d (now %d)" % (fds0, self.fd_count(d)))
        # The state in memory is the state on disk, and survives a restart.
        before = self.state(d)
        self.assertEqual(before, self.saved_state(d), "seed %d" % seed)
        d.stop()
        d.start()
        self.assertEqual(self.state(d), before, "seed %d" % seed)
        print("\nlive fuzz: seed %d, %d requests in %.1f s, %r, modes %r; "
              "state after: %d bridges, %d ports"
              % (seed, stats["requests"], elapsed, stats, modes, len(before),
                 sum(len(b[1]) for b in before.values())))
