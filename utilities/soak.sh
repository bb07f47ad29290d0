#!/bin/sh
# soak.sh - soak test of a real vswitchd: frontends connect and are SIGKILLed
# under traffic, while another thread churns the control plane (ports added,
# deleted and re-created with port.set, bridges added and deleted, stats and
# FDB reads, clients that send garbage or hang up mid-message).  Checks that
# what the daemon holds returns to its baseline:
#   - mbufs in use (pmd.stats mbufs.in_use): exactly the idle level,
#   - open file descriptors (/proc/PID/fd): exactly the baseline,
#   - RSS: within SOAK_RSS_TOLERANCE_KB (default 16384 KiB) of the baseline,
#     taken after one warm-up cycle (first-use allocations: DPDK's malloc
#     heap, libevent, json-c, glibc arenas);
# and that the daemon serves and its configuration matches conf.json.
#
# usage: utilities/soak.sh [CYCLES]        (default 5: CI's short form)
# Environment: SOAK_BUILD (build dir holding vswitchd and vsctl; default
# build), SOAK_RSS_TOLERANCE_KB, SOAK_MAX_SECONDS (stop cycling after that
# long and run the final checks; the report says how many cycles ran),
# VSTEST_KEEP=1 keeps the temp dir.
# Needs root and dpdk-testpmd, as the system tests (tests/system/vstest.py).
set -eu

cd "$(dirname "$0")/.."
CYCLES=${1:-5}
export VSWITCH_BUILDDIR="$(cd "${SOAK_BUILD:-build}" && pwd)"
export SOAK_CYCLES="$CYCLES"
export PYTHONPATH="$PWD/tests/system${PYTHONPATH:+:$PYTHONPATH}"

exec python3 - <<'EOF'
import json
import os
import random
import socket
import sys
import threading
import time

import vstest
from vstest import Daemon, Testpmd, wait_until

CYCLES = int(os.environ["SOAK_CYCLES"])
RSS_TOL_KB = int(os.environ.get("SOAK_RSS_TOLERANCE_KB", "16384"))
MAX_SECONDS = float(os.environ.get("SOAK_MAX_SECONDS") or 0)
A_MAC, B_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
BCAST = "ff:ff:ff:ff:ff:ff"
T = 60


def log(msg):
    print("soak: %s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def sample(d):
    with open("/proc/%d/status" % d.pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return {"mbufs": d.pmd_stats()["mbufs"]["in_use"],
            "fds": len(os.listdir("/proc/%d/fd" % d.pid)), "rss_kb": rss}


class Churn(threading.Thread):
    """Control-plane churn until stopped; counts operations; records the
    first unexpected failure."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.stop_ev = threading.Event()
        self.pause_ev = threading.Event()    # Main asks for a quiet moment,
        self.idle_ev = threading.Event()     # churn says it is between ops.
        self.ops = 0
        self.error = None
        self.rng = random.Random(1)

    def vsctl(self, *args, ok=(0,)):
        rc, out, err = self.d.vsctl(*args, check=False)
        if rc not in ok:
            raise RuntimeError("vsctl %s: rc %d: %s" % (args, rc, err))
        self.ops += 1
        return rc

    def raw(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.d.sock)
        junk = self.rng.choice([b'{"jsonrpc":"2.0","id":1,"method":"bridge.list"}\n',
                                b'{"jsonrpc":"2.0","id":1,"meth', b"\xff\xfe{]\n",
                                b'[{"jsonrpc":"2.0","id":1,"method":"pmd.stats"},'
                                b'{"jsonrpc":"2.0","method":"port.stats"}]\n'])
        s.sendall(junk)
        if junk.endswith(b"\n"):
            s.recv(65536)
        s.close()
        self.ops += 1

    def run(self):
        try:
            while not self.stop_ev.is_set():
                if self.pause_ev.is_set():
                    self.idle_ev.set()
                    while self.pause_ev.is_set() and not self.stop_ev.is_set():
                        time.sleep(0.01)
                    self.idle_ev.clear()
                    continue
                op = self.rng.randrange(8)
                if op == 0:
                    self.vsctl("add-port", "br0", "churn0", "type=vhost-user")
                    self.vsctl("set-port", "churn0", "queues=2")
                    self.vsctl("del-port", "churn0")
                elif op == 1:
                    self.vsctl("add-br", "brc")
                    self.vsctl("add-port", "brc", "churn1", "type=vhost-user")
                    self.vsctl("del-br", "brc")
                elif op == 2:
                    self.vsctl("set-port", "vhu0", "tx-retries=%d"
                               % self.rng.randrange(0, 9))
                elif op == 3:
                    self.vsctl("port-stats")
                    self.vsctl("fdb-show", "br0")
                elif op == 4:
                    self.vsctl("pmd-stats-show")
                    self.vsctl("pmd-rxq-show")
                elif op == 5:
                    self.vsctl("add-port", "br0", "vhu0", "type=vhost-user", ok=(1,))
                    self.vsctl("del-port", "nope", ok=(1,))
                elif op == 6:
                    self.raw()
                else:
                    self.vsctl("fdb-flush", "br0")
                time.sleep(0.01)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def config_matches(d):
    with open(os.path.join(d.statedir, "conf.json")) as f:
        conf = json.load(f)
    disk = {b["name"]: sorted(p["name"] for p in b.get("ports", []))
            for b in conf["bridges"]}
    mem = {b["name"]: sorted(b["ports"]) for b in d.vsctl_json("list-br")["bridges"]}
    return disk == mem, disk, mem


def frontend(d, port, mac, name, **kw):
    t = Testpmd(d.vhost_sock(port), mac, name=name, logdir=d.workdir, **kw)
    frontends.append(t)
    t.start()
    d.wait_port_state(port, "up", T)
    return t


def cycle(d, i):
    """One cycle: A floods B's port; B connects, receives, is SIGKILLed
    under traffic; A quits.  Ends with no frontend connected."""
    a = frontend(d, "vhu0", A_MAC, "A%d" % i, peer=BCAST, fwd="txonly")
    b = frontend(d, "vhu1", B_MAC, "B%d" % i)
    b.start_fwd()
    a.start_fwd()
    rx0 = b.port_stats()["RX-packets"]
    wait_until(lambda: b.port_stats()["RX-packets"] > rx0 + 1000, T,
               "B%d to receive A's flood" % i)
    b.kill()
    d.wait_port_state("vhu1", "down", T)
    a.stop()
    assert a.quit() == 0, "A%d exit status" % i
    d.wait_port_state("vhu0", "down", T)
    for t in (a, b):
        t.cleanup()
        frontends.remove(t)


frontends = []
d = Daemon()
churn = None
ok = False
try:
    vstest.reap_orphans()
    d.start()
    d.vsctl("add-br", "br0")
    for p in ("vhu0", "vhu1"):
        d.vsctl("add-port", "br0", p, "type=vhost-user")
    idle = sample(d)
    log("started pid %d, idle %r" % (d.pid, idle))
    churn = Churn(d)
    churn.start()
    t0 = time.monotonic()
    cycle(d, 0)                                 # Warm-up.
    churn.pause_ev.set()                        # Baseline without churn.
    if not churn.idle_ev.wait(T):
        raise RuntimeError("churn thread did not pause: %r" % churn.error)
    base = sample(d)
    churn.pause_ev.clear()
    base_mbufs = idle["mbufs"]
    wait_until(lambda: sample(d)["mbufs"] == base_mbufs, T,
               "mbufs back to idle %d after the warm-up" % base_mbufs)
    log("baseline after warm-up %r" % base)
    done = 0
    for i in range(1, CYCLES + 1):
        if MAX_SECONDS and time.monotonic() - t0 > MAX_SECONDS:
            log("SOAK_MAX_SECONDS=%d reached after %d cycles" % (MAX_SECONDS, done))
            break
        cycle(d, i)
        done = i
        if churn.error:
            raise churn.error
        if i % 10 == 0 or i == CYCLES or i < 10 and CYCLES <= 10:
            log("cycle %d/%d: %r, %d churn ops" % (i, CYCLES, sample(d), churn.ops))
    churn.stop_ev.set()
    churn.join(30)
    if churn.error:
        raise churn.error
    elapsed = time.monotonic() - t0
    seen = {}

    def settled():
        seen["s"] = s = sample(d)
        return s["mbufs"] == base_mbufs and s["fds"] == base["fds"]
    wait_until(settled, T, lambda: "mbufs %d and fds %d back to baseline: %r"
               % (base_mbufs, base["fds"], seen.get("s")))
    final = seen["s"]
    growth = final["rss_kb"] - base["rss_kb"]
    match, disk, mem = config_matches(d)
    log("final %r; RSS %+d KiB (tolerance %d KiB); %d cycles + warm-up, %d churn "
        "ops in %.0f s" % (final, growth, RSS_TOL_KB, done, churn.ops, elapsed))
    assert growth <= RSS_TOL_KB, "RSS grew by %d KiB > %d" % (growth, RSS_TOL_KB)
    assert match, "conf.json %r != daemon %r" % (disk, mem)
    d.vsctl("version")
    d.stop()
    ok = True
    log("PASS")
except Exception as e:  # noqa: BLE001 - the report
    log("FAIL: %s" % e)
    try:
        sys.stderr.write(d.log_tail() + "\n")
    except Exception:  # noqa: BLE001
        pass
finally:
    if churn:
        churn.stop_ev.set()
    for t in frontends:
        t.cleanup()
    d.kill()
    d.remove_dpdk_leftovers()
    if os.environ.get("VSTEST_KEEP") != "1":
        import shutil
        shutil.rmtree(d.workdir, ignore_errors=True)
sys.exit(0 if ok else 1)
EOF
