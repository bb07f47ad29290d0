"""vstest - harness for the vswitch system tests (Python 3 stdlib only).

The system tests run a real `vswitchd` in a fresh temporary directory, drive
it with `vsctl` (and raw JSON-RPC where the test is about the protocol), and
attach real `dpdk-testpmd` virtio-user frontends to its vhost-user ports.

Pieces:
  wait_until(pred, timeout, what)  poll a condition; never sleep blindly
  Daemon                           one vswitchd instance (+ vsctl, raw RPC)
  Testpmd                          one dpdk-testpmd frontend driven on stdin
  VsTestCase                       unittest base: owns every process and temp
                                   dir it creates, stops them by pid at
                                   teardown, prints logs when a test fails
  send_and_verify()                the standard "N packets in, N packets out"
                                   chain of counter checks

The build directory comes from $VSWITCH_BUILDDIR (run.py sets it) or
defaults to <repo>/build.  Set VSTEST_KEEP=1 to keep temp dirs.

CPU layout (machines have 2 cores): vswitchd's PMD runs on core 1 and each
testpmd forwards on core 0 (`-l 0,1 --main-lcore 1`), so at most two
frontends run at a time.
"""

import fcntl
import glob
import itertools
import json
import os
import queue
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLL_INTERVAL = 0.05
LOG_TAIL_LINES = 60

_prefix_counter = itertools.count()

# Every Daemon that start() brought up and that stop(), kill() or wait_exit()
# has not yet taken down: wait_until() fails at once if one of them dies.
_LIVE_DAEMONS = set()


def builddir():
    return os.path.abspath(os.environ.get("VSWITCH_BUILDDIR")
                           or os.path.join(REPO, "build"))


def testpmd_binary():
    return os.environ.get("VSTEST_TESTPMD") or shutil.which("dpdk-testpmd")


def unique_prefix(tag="vstest"):
    """A DPDK --file-prefix unique to this process and call."""
    return "%s-%d-%d" % (tag, os.getpid(), next(_prefix_counter))


class DaemonDied(AssertionError):
    """A vswitchd the harness started (and has not stopped) is gone."""


def wait_until(pred, timeout=30.0, what="condition", interval=POLL_INTERVAL,
               daemons=None):
    """Polls 'pred()' every 'interval' seconds until it returns a true value,
    and returns that value.  Raises AssertionError naming 'what' (and the last
    value or exception seen) if 'timeout' seconds pass first.  'what' may be
    a callable, called at the deadline (to describe the last state seen).

    Fails fast: an AssertionError raised by 'pred' (an over-count, a stream
    that ended, a vsctl that failed) propagates at once; any other exception
    counts as "not yet" until the deadline.  Whenever 'pred' is not yet true,
    every vswitchd in 'daemons' (default: every one the harness started and
    has not stopped or killed) must still be running: a dead one raises
    DaemonDied at once, with its log (after one last look at 'pred', so that
    waiting for an exit still works).  Pass daemons=() to disable that."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = e
        watched = list(_LIVE_DAEMONS if daemons is None else daemons)
        dead = [d for d in watched if d.pid is not None and not d.running()]
        if dead:
            try:
                v = pred()
                if v:
                    return v
            except AssertionError:
                raise
            except Exception:  # noqa: BLE001 - the death is what we report
                pass
            if callable(what):
                what = what()
            d = dead[0]
            _LIVE_DAEMONS.discard(d)
            raise DaemonDied("vswitchd (pid %d) died while waiting for %s (status %s)"
                             "\n%s" % (d.pid, what, d.returncode, d.log_tail()))
        if time.monotonic() >= deadline:
            if callable(what):
                what = what()
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


def pid_alive(pid):
    """True if 'pid' exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def tail(path, n=LOG_TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "".join(lines[-n:])


def remove_dpdk_leftovers(prefix):
    """Removes the runtime files a DPDK process with --file-prefix 'prefix'
    leaves behind (also after a clean exit: /var/run/dpdk/<prefix>)."""
    dirs = ["/var/run/dpdk/" + prefix, "/run/dpdk/" + prefix]
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        dirs.append(os.path.join(xdg, "dpdk", prefix))
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    for pat in ("/dev/shm/%s*" % prefix, "/dev/hugepages/%smap_*" % prefix):
        for f in glob.glob(pat):
            try:
                os.unlink(f)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Orphan daemons
#
# A harness killed with SIGKILL (a CI timeout, ^C twice, the OOM killer) runs
# no teardown, and a --detach'ed vswitchd is nobody's child: it would spin
# its PMD for ever.  Two mechanisms make sure it does not:
#  - a watcher: for every vswitchd it starts, the harness starts a small
#    process (this file run with --watch, in its own session) that reads a
#    pipe only the harness holds.  When the harness dies the pipe reaches
#    EOF, and if the daemon's record (below) is still there, the watcher
#    stops the daemon (SIGTERM, then SIGKILL) and removes what it left.
#  - a registry: every daemon started is recorded in ORPHAN_DIR/<pid>.json
#    (its pid, rundir, EAL runtime dirs, and the harness's pid and start
#    time) until the harness stops it; the next harness run reaps the
#    records whose harness is gone (reap_orphans(), called once per process
#    by VsTestCase).  This covers a watcher that was killed too.
# A record is only acted on if the pid still runs a vswitchd whose command
# line names the recorded rundir, so a reused pid is never killed.

ORPHAN_DIR = os.environ.get("VSTEST_ORPHAN_DIR") or "/tmp/vstest-daemons"


def _proc_start_time(pid):
    """The start time of 'pid' (clock ticks since boot), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return int(st[st.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _record_path(pid):
    return os.path.join(ORPHAN_DIR, "%d.json" % pid)


def _write_record(rec):
    os.makedirs(ORPHAN_DIR, mode=0o700, exist_ok=True)
    path = _record_path(rec["pid"])
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(rec, f)
    os.rename(tmp, path)


def _read_record(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _drop_record(pid):
    try:
        os.unlink(_record_path(pid))
    except OSError:
        pass


def _is_our_daemon(rec):
    """True if rec's pid still runs the recorded vswitchd."""
    argv = _cmdline(rec["pid"])
    return (pid_alive(rec["pid"]) and argv and
            os.path.basename(argv[0]) == b"vswitchd" and
            rec["rundir"].encode() in argv)


def reap_record(rec, why):
    """Stops the daemon of record 'rec' (if it is still ours), removes its
    EAL runtime dirs, its temp dir and the record.  Returns True if a daemon
    was stopped."""
    pid = rec["pid"]
    killed = False
    if _is_our_daemon(rec):
        try:
            sys.stderr.write("vstest: reaping orphan vswitchd pid %d (%s), rundir %s\n"
                             % (pid, why, rec["rundir"]))
            sys.stderr.flush()
        except (OSError, ValueError):
            pass                # The harness that read our stderr is gone.
        killed = True
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while pid_alive(pid) and time.monotonic() < end:
                time.sleep(POLL_INTERVAL)
            if not pid_alive(pid):
                break
    for d in rec.get("dpdk_dirs", []):
        shutil.rmtree(d, ignore_errors=True)
    wd = rec.get("workdir")
    if wd and os.path.basename(wd).startswith("vstest-") and os.environ.get("VSTEST_KEEP") != "1":
        shutil.rmtree(wd, ignore_errors=True)
    _drop_record(pid)
    return killed


def reap_orphans():
    """Reaps every recorded daemon whose harness process is gone.  Returns
    the pids of the daemons it stopped."""
    reaped = []
    for path in glob.glob(os.path.join(ORPHAN_DIR, "*.json")):
        rec = _read_record(path)
        if not rec or "pid" not in rec:
            continue
        h = rec.get("harness_pid")
        if h and pid_alive(h) and _proc_start_time(h) == rec.get("harness_start"):
            continue            # Its harness still runs (maybe in parallel).
        if reap_record(rec, "harness pid %s is gone" % h):
            reaped.append(rec["pid"])
    return reaped


def _watch_main(pid):
    """The watcher (this file run with --watch PID): waits for EOF on stdin,
    then reaps daemon 'pid' if its record is still there."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    rec = _read_record(_record_path(pid))
    if rec:
        reap_record(rec, "its harness died")


def _start_watcher(pid):
    """Starts the watcher of daemon 'pid'; returns its Popen (whose stdin
    only we hold: closing it, or dying, ends the watch)."""
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--watch",
                             str(pid)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=None,
                            start_new_session=True)


def _is_socket(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


# ---------------------------------------------------------------------------
# vswitchd


class Daemon:
    """One vswitchd in 'workdir' (a fresh temp dir unless given):
         workdir/run/vswitchd.sock   control socket
         workdir/run/vhost/<port>    vhost-user sockets
         workdir/state/              persisted configuration
         workdir/vswitchd.log        stdout+stderr of every start (appended)
    start() may be called again after stop() (restart with the same state).
    'env': extra environment variables for vswitchd (e.g. LD_PRELOAD)."""

    def __init__(self, workdir=None, pmd_cores="1", extra_args=(), bdir=None,
                 env=None):
        self.bdir = bdir or builddir()
        self.vswitchd_bin = os.path.join(self.bdir, "vswitchd")
        self.vsctl_bin = os.path.join(self.bdir, "vsctl")
        self.workdir = workdir or tempfile.mkdtemp(prefix="vstest-", dir="/tmp")
        self.rundir = os.path.join(self.workdir, "run")
        self.statedir = os.path.join(self.workdir, "state")
        self.sock = os.path.join(self.rundir, "vswitchd.sock")
        self.vhostdir = os.path.join(self.rundir, "vhost")
        self.pidfile = os.path.join(self.rundir, "vswitchd.pid")
        self.log = os.path.join(self.workdir, "vswitchd.log")
        self.pmd_cores = pmd_cores
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.pid = None
        self.dpdk_dirs = set()      # EAL runtime dirs of our instances.
        self.proc = None            # Popen when started in the foreground.
        self.returncode = None      # Exit status, when known (foreground).
        self.starts = 0
        self.watcher = None         # Orphan watcher (see reap_orphans()).

    # -- life cycle --------------------------------------------------------

    def command(self, detach=True):
        cmd = [self.vswitchd_bin, "--rundir", self.rundir,
               "--statedir", self.statedir, "--pmd-cores", self.pmd_cores,
               "--no-huge", "--log-level", "info"]
        if detach:
            cmd += ["--detach", "--pidfile", self.pidfile]
        return cmd + self.extra_args

    def vhost_sock(self, port):
        return os.path.join(self.vhostdir, port)

    def _logmark(self, what):
        with open(self.log, "a") as f:
            f.write("==== vstest: %s at %s ====\n" % (what, time.strftime("%H:%M:%S")))

    def start(self, detach=True, timeout=60):
        """Starts vswitchd.  Detached: runs it with --detach and waits for the
        command to return (the control socket is then ready), reads the
        pidfile.  Foreground: Popen, waits for the control socket to answer.
        Either way returns once `vsctl version` succeeds."""
        assert not self.running(), "vswitchd already running"
        os.makedirs(self.rundir, exist_ok=True)
        os.makedirs(self.statedir, exist_ok=True)
        self.starts += 1
        self.returncode = None
        self.proc = None
        cmd = self.command(detach)
        env = dict(os.environ, **self.env) if self.env else None
        self._logmark("start #%d: %s%s" % (self.starts, "".join(
            "%s=%s " % kv for kv in sorted(self.env.items())), " ".join(cmd)))
        logf = open(self.log, "a")
        try:
            if detach:
                try:
                    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                       stderr=logf, timeout=timeout, env=env)
                except subprocess.TimeoutExpired:
                    raise AssertionError("vswitchd --detach did not return within "
                                         "%ds\n%s" % (timeout, self.log_tail()))
                if r.returncode != 0:
                    raise AssertionError("vswitchd --detach exited %d\n%s"
                                         % (r.returncode, self.log_tail()))
                pid = wait_until(self._read_pidfile, 10, "pidfile " + self.pidfile)
                self.pid = pid
            else:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf, env=env)
                self.pid = self.proc.pid
        finally:
            logf.close()
        self._record()

        def ready():
            if not self.running():
                raise AssertionError("vswitchd exited during start-up\n"
                                     + self.log_tail())
            if not _is_socket(self.sock):
                return False
            return self.vsctl("version", check=False, timeout=10)[0] == 0
        try:
            wait_until(ready, timeout, "vswitchd control socket %s" % self.sock)
        except AssertionError as e:
            if "exited during start-up" in str(e):
                raise
            raise AssertionError("%s\n%s" % (e, self.log_tail()))
        self.dpdk_dirs |= self._eal_runtime_dirs()
        self._record()
        _LIVE_DAEMONS.add(self)
        return self

    def _record(self):
        """Records the running daemon for the orphan reaper and makes sure a
        watcher guards it (see reap_orphans())."""
        _write_record({"pid": self.pid, "rundir": self.rundir,
                       "workdir": self.workdir, "dpdk_dirs": sorted(self.dpdk_dirs),
                       "harness_pid": os.getpid(),
                       "harness_start": _proc_start_time(os.getpid())})
        if self.watcher is None or self.watcher.poll() is not None:
            self.watcher = _start_watcher(self.pid)

    def _forget(self, pid):
        """The daemon 'pid' is gone: drop its record, end its watcher."""
        _drop_record(pid)
        if self.watcher is not None:
            try:
                self.watcher.stdin.close()
                self.watcher.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.watcher.kill()
                self.watcher.wait()
            self.watcher = None

    def _eal_runtime_dirs(self):
        """The EAL runtime dirs (/var/run/dpdk/<file-prefix>) the running
        daemon has files open in: vswitchd picks its own --file-prefix, and
        DPDK leaves that dir behind even after a clean exit."""
        dirs = set()
        fddir = "/proc/%d/fd" % self.pid
        try:
            fds = os.listdir(fddir)
        except OSError:
            return dirs
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fddir, fd))
            except OSError:
                continue
            m = re.match(r"((?:/var)?/run/dpdk/[^/]+)/", target)
            if m:
                dirs.add(m.group(1))
        return dirs

    def remove_dpdk_leftovers(self):
        """After exit: removes the EAL runtime dirs recorded at start."""
        for d in self.dpdk_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.dpdk_dirs.clear()

    def _read_pidfile(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        if self.pid is None:
            return False
        if self.proc is not None:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                return False
            return True
        return pid_alive(self.pid)

    def wait_exit(self, timeout=30):
        """Waits for the daemon to exit by itself; returns its exit status
        (None if it was detached: not our child).  Fails on timeout."""
        _LIVE_DAEMONS.discard(self)
        wait_until(lambda: not self.running(), timeout, "vswitchd (pid %s) to exit"
                   % self.pid)
        if self.proc is not None:
            self.returncode = self.proc.wait()
        self.wait_lock_released()
        self._forget(self.pid)
        self.pid = None
        return self.returncode

    def vhost_sockets(self):
        try:
            names = os.listdir(self.vhostdir)
        except OSError:
            return []
        return [os.path.join(self.vhostdir, n) for n in names
                if _is_socket(os.path.join(self.vhostdir, n))]

    def stop(self, timeout=30, check=True):
        """SIGTERM, wait for exit (SIGKILL after 'timeout' s and fail).  With
        'check': fails if the daemon had already died, if a foreground daemon
        exits nonzero, or if the control socket or any vhost socket that
        existed before is left behind."""
        if self.pid is None:
            return
        _LIVE_DAEMONS.discard(self)
        if not self.running():
            pid, self.pid = self.pid, None
            self._forget(pid)
            if check:
                raise AssertionError("vswitchd (pid %d) died unexpectedly (status %s)"
                                     "\n%s" % (pid, self.returncode, self.log_tail()))
            return
        socks = self.vhost_sockets()
        self._logmark("SIGTERM to pid %d" % self.pid)
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.wait_exit(timeout)
        except AssertionError:
            pid = self.pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc is not None:
                self.proc.wait()
            else:
                wait_until(lambda: not pid_alive(pid), 10, "SIGKILLed vswitchd")
            self._forget(pid)
            self.pid = None
            raise AssertionError("vswitchd did not exit within %ds of SIGTERM "
                                 "(SIGKILLed)\n%s" % (timeout, self.log_tail()))
        if not check:
            return
        problems = []
        if self.returncode not in (None, 0):
            problems.append("exit status %d after SIGTERM" % self.returncode)
        if os.path.exists(self.sock):
            problems.append("control socket %s left behind" % self.sock)
        left = [s for s in socks if os.path.exists(s)]
        if left:
            problems.append("vhost sockets left behind: %s" % left)
        # Under -DENABLE_SANITIZERS=ON a detached daemon's exit status is not
        # ours to see: look for the sanitizers' reports (leaks at exit too).
        with open(self.log, errors="replace") as f:
            if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", f.read()):
                problems.append("sanitizer report in %s" % self.log)
        if problems:
            raise AssertionError("vswitchd shutdown: %s\n%s"
                                 % ("; ".join(problems), self.log_tail()))

    def kill(self):
        """SIGKILL without any check (teardown of a broken test)."""
        _LIVE_DAEMONS.discard(self)
        if self.pid is not None and self.running():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc is not None:
                self.proc.wait()
            else:
                pid = self.pid
                wait_until(lambda: not pid_alive(pid), 10, "SIGKILLed vswitchd")
            self.wait_lock_released()
        if self.pid is not None:
            self._forget(self.pid)
        self.pid = None

    def wait_lock_released(self, timeout=30):
        """Waits until nothing holds the rundir's vswitchd.lock.  A killed
        daemon's main thread is a zombie (pid_alive() false) while its other
        threads are still exiting, and they share its open files: a restart
        in that window would find the lock held."""
        path = os.path.join(self.rundir, "vswitchd.lock")

        def free():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                return False
            finally:
                os.close(fd)
        wait_until(free, timeout, "%s to be released" % path, daemons=())

    def log_tail(self, n=LOG_TAIL_LINES):
        return "---- tail of %s ----\n%s---- end ----" % (self.log, tail(self.log, n))

    # -- vsctl -------------------------------------------------------------

    def vsctl(self, *args, check=True, timeout=30, socket_path=None):
        """Runs `vsctl --socket SOCK ARGS...`; returns (rc, stdout, stderr).
        With 'check', a nonzero exit fails the test with the output."""
        cmd = [self.vsctl_bin, "--socket", socket_path or self.sock] + [str(a) for a in args]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("vsctl %s: no answer within %ds" % (args, timeout)) from e
        if check and r.returncode != 0:
            dead = ""
            if self.pid is not None and not self.running():
                dead = "\nvswitchd (pid %d) is not running\n%s" % (self.pid,
                                                                   self.log_tail())
            raise AssertionError("`%s` exited %d\nstdout: %s\nstderr: %s%s"
                                 % (" ".join(cmd), r.returncode, r.stdout, r.stderr,
                                    dead))
        return r.returncode, r.stdout, r.stderr

    def vsctl_json(self, *args, timeout=30):
        """Runs `vsctl --format json ARGS...` (must succeed) and returns the
        parsed result object."""
        _, out, _ = self.vsctl("--format", "json", *args, timeout=timeout)
        try:
            return json.loads(out)
        except ValueError as e:
            raise AssertionError("vsctl --format json %s: bad JSON %r" % (args, out)) from e

    # -- raw JSON-RPC ------------------------------------------------------

    def connect(self, timeout=10):
        """A new raw connection to the control socket (an RpcConn)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
        except OSError:
            s.close()
            raise
        return RpcConn(s)

    def rpc(self, method, params=None, id_=1, timeout=10):
        """One raw JSON-RPC 2.0 request on a fresh connection; returns the
        parsed response object (with 'result' or 'error')."""
        req = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            req["params"] = params
        with self.connect(timeout) as c:
            c.sendall(json.dumps(req).encode() + b"\n")
            return c.recv_json(timeout)

    # -- convenience -------------------------------------------------------

    def ports(self):
        """{name: port.list entry}."""
        return {p["name"]: p for p in self.vsctl_json("list-ports")["ports"]}

    def port_state(self, name):
        return self.ports()[name]["state"]

    def wait_port_state(self, name, state, timeout=30):
        wait_until(lambda: self.port_state(name) == state, timeout,
                   "port %s state %r" % (name, state))

    def all_port_stats(self):
        """{name: counters dict} from `vsctl port-stats`."""
        return {p["name"]: p for p in self.vsctl_json("port-stats")["ports"]}

    def port_stats(self, name):
        for p in self.vsctl_json("port-stats", name)["ports"]:
            if p["name"] == name:
                return p
        raise AssertionError("port-stats %s: port missing from result" % name)

    def pmd_stats(self):
        return self.vsctl_json("pmd-stats-show")

    def fdb(self, bridge):
        """{(mac lower-case, vlan): port name}."""
        res = self.vsctl_json("fdb-show", bridge)
        return {(e["mac"].lower(), e.get("vlan", 0)): e["port"] for e in res["entries"]}


class RpcConn:
    """A raw control-socket connection with a receive buffer: the server
    writes each response as one JSON text followed by a newline, and
    several may arrive in one read."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def sendall(self, data):
        self.sock.sendall(data)

    def recv_json(self, timeout=10):
        """Returns the next response (parsed).  Fails if the connection
        closes first or nothing arrives within 'timeout' seconds."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("no response within %ds (have %r)"
                                     % (timeout, self.buf[:200]))
            if not chunk:
                raise AssertionError("connection closed without a response "
                                     "(have %r)" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def recv_until_closed(self, timeout=10):
        """Reads until the server closes the connection; returns all unread
        bytes.  Fails if it stays open for 'timeout' seconds."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("connection not closed by the server; got %r"
                                     % self.buf[:500])
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                data, self.buf = self.buf, b""
                return data
            self.buf += chunk
            if time.monotonic() > deadline:
                raise AssertionError("connection not closed by the server")


# ---------------------------------------------------------------------------
# dpdk-testpmd virtio-user frontend


class Testpmd:
    """A dpdk-testpmd with one virtio-user port (port 0) on vhost-user socket
    'sock', in interactive mode: commands go to its stdin, stdout is read by
    a thread into a buffer (so the pipe never fills) and parsed.

    stdout is made line-buffered with stdbuf(1): testpmd prints command
    output with stdio but its prompt with write(2), so without it the
    output of a command would show up after the next prompt."""

    PROMPT = "testpmd> "

    def __init__(self, sock, mac, server=False, peer=None, fwd="rxonly",
                 name="testpmd", extra_eal=(), extra_app=(), logdir=None,
                 queues=None, vdev_args=""):
        self.sock = sock
        self.mac = mac
        self.server = server
        self.peer = peer
        self.fwd = fwd
        self.name = name
        self.prefix = unique_prefix("vstest-" + name)
        vdev = "net_virtio_user0,path=%s,mac=%s" % (sock, mac)
        if queues:
            vdev += ",queues=%d" % queues
        if server:
            vdev += ",server=1"
        if vdev_args:                   # e.g. "packed_vq=1"
            vdev += "," + vdev_args
        self.argv = [testpmd_binary(), "-l", "0,1", "--main-lcore", "1",
                     "--no-huge", "-m", "1024", "--no-pci",
                     "--file-prefix", self.prefix, "--vdev", vdev]
        self.argv += list(extra_eal)
        self.argv += ["--", "-i", "--total-num-mbufs=32768"]
        if peer:
            self.argv.append("--eth-peer=0,%s" % peer)
        if fwd:
            self.argv.append("--forward-mode=%s" % fwd)
        self.argv += list(extra_app)
        self.logdir = logdir
        self.proc = None
        self.forwarding = False
        self._buf = ""
        self._cond = threading.Condition()
        self._eof = False
        self._reader = None

    # -- process -----------------------------------------------------------

    def start(self, wait=True, timeout=60):
        """Starts testpmd.  With 'wait', returns once the first prompt is
        printed and port 0 exists (a client-mode virtio-user has then
        connected to the backend; a server=1 one blocks until the backend
        connects, so start those with wait=False and call wait_ready())."""
        cmd = self.argv
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", "-eL"] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name="stdout-" + self.prefix)
        self._reader.start()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=60):
        self.wait_for(re.escape(self.PROMPT), timeout, start=0)
        if not re.search(r"Port 0: [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", self.output()):
            raise AssertionError("%s: port 0 did not come up\n%s"
                                 % (self.name, self.output_tail()))

    def _read_loop(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf += data.decode("utf-8", errors="replace")
                self._cond.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        with self._cond:
            return self._buf

    def output_tail(self, n=LOG_TAIL_LINES):
        lines = self.output().splitlines(True)
        return "---- tail of %s (%s) output ----\n%s\n---- end ----" % (
            self.name, self.prefix, "".join(lines[-n:]))

    def wait_for(self, regex, timeout=30, start=None):
        """Waits until 'regex' matches the output from offset 'start'
        (default: everything); returns the match.  Fails on timeout or if
        testpmd exits first."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf, start or 0)
                if m:
                    return m
                if self._eof:
                    raise AssertionError("%s exited while waiting for %r\n%s"
                                         % (self.name, regex, self._tail_locked()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: timed out after %ds waiting for %r\n%s"
                                         % (self.name, timeout, regex, self._tail_locked()))
                self._cond.wait(min(left, 0.5))

    def _tail_locked(self, n=LOG_TAIL_LINES):
        return "---- tail of %s output ----\n%s\n---- end ----" % (
            self.name, "".join(self._buf.splitlines(True)[-n:]))

    def _write(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise AssertionError("%s: cannot write %r: %s\n%s"
                                 % (self.name, text, e, self.output_tail())) from e

    # -- commands ----------------------------------------------------------

    def cmd(self, line, timeout=30):
        """Runs one interactive command and returns what it printed (up to
        the next prompt)."""
        with self._cond:
            pos = len(self._buf)
        self._write(line + "\n")
        m = self.wait_for(re.escape(self.PROMPT), timeout, start=pos)
        with self._cond:
            return self._buf[pos:m.start()]

    def set_fwd(self, mode):
        self.stop()
        self.cmd("set fwd %s" % mode)
        self.fwd = mode

    def set_peer(self, mac):
        self.stop()
        self.cmd("set eth-peer 0 %s" % mac)
        self.peer = mac

    def start_fwd(self):
        self.stop()
        out = self.cmd("start")
        self.forwarding = True
        return out

    def start_tx_first(self, n=1):
        """`start tx_first n`: n bursts of 32 txonly packets (to the eth-peer
        address, source = our MAC), sent before the command returns; then
        the configured forward mode runs.  Stops forwarding first if needed."""
        self.stop()
        out = self.cmd("start tx_first %d" % n)
        self.forwarding = True
        return out

    def stop(self):
        """Stops forwarding (no-op if not forwarding)."""
        if not self.forwarding:
            return ""
        out = self.cmd("stop")
        self.forwarding = False
        return out

    _STAT_RE = re.compile(r"\b(RX-packets|RX-missed|RX-bytes|RX-errors|RX-nombuf|"
                          r"TX-packets|TX-errors|TX-bytes):\s*(\d+)")

    def port_stats(self):
        """Parses `show port stats 0` -> {"RX-packets": N, "TX-packets": N,
        "RX-bytes": N, ...}."""
        out = self.cmd("show port stats 0")
        stats = {k: int(v) for k, v in self._STAT_RE.findall(out)}
        if "RX-packets" not in stats or "TX-packets" not in stats:
            raise AssertionError("%s: cannot parse port stats from %r" % (self.name, out))
        return stats

    def quit(self, timeout=30):
        """`quit` and wait for exit; SIGKILL (and fail) on timeout.  Returns
        the exit status."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not quit within %ds\n%s"
                                 % (self.name, timeout, self.output_tail()))
        self._join()
        self.forwarding = False
        return rc

    def kill(self):
        """SIGKILL by pid (simulates a crashed container)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
            self._join()
        self.forwarding = False

    def _join(self):
        if self._reader is not None:
            self._reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def cleanup(self):
        """Teardown: kill if still running, save the output, remove DPDK
        runtime leftovers of our file-prefix."""
        try:
            self.kill()
        finally:
            if self.logdir:
                try:
                    with open(os.path.join(self.logdir, "%s.out" % self.prefix), "w") as f:
                        f.write(self.output())
                except OSError:
                    pass
            remove_dpdk_leftovers(self.prefix)


# ---------------------------------------------------------------------------
# unittest base class


class VsTestCase(unittest.TestCase):
    """Base class: create daemons and frontends through self.daemon() and
    self.frontend(); they are stopped at teardown (frontends killed, daemons
    SIGTERMed with the clean-shutdown checks of Daemon.stop()).  When a test
    fails, the tails of every log are printed; temp dirs are then removed
    (unless VSTEST_KEEP=1)."""

    _reaped = False

    def run(self, result=None):
        if not VsTestCase._reaped:
            # Daemons a killed earlier run left behind (see reap_orphans()).
            VsTestCase._reaped = True
            reap_orphans()
        self._artifacts = []     # objects with a log worth printing
        self._tmpdirs = []
        before = len(result.failures) + len(result.errors) if result else 0
        try:
            return super().run(result)
        finally:
            failed = result is not None and \
                len(result.failures) + len(result.errors) > before
            if failed:
                self._dump_logs()
            keep = os.environ.get("VSTEST_KEEP") == "1"
            for d in self._tmpdirs:
                if keep:
                    sys.stderr.write("vstest: kept %s\n" % d)
                else:
                    shutil.rmtree(d, ignore_errors=True)

    def _dump_logs(self):
        out = ["", "======== logs for failed test %s ========" % self.id()]
        for a in self._artifacts:
            if isinstance(a, Daemon):
                out.append(a.log_tail())
            elif isinstance(a, Testpmd):
                out.append(a.output_tail(40))
        sys.stderr.write("\n".join(out) + "\n")
        sys.stderr.flush()

    def daemon(self, start=True, detach=True, **kw):
        d = Daemon(**kw)
        if d.workdir not in self._tmpdirs:
            self._tmpdirs.append(d.workdir)
        self._artifacts.append(d)

        def teardown():
            try:
                d.stop()
            finally:
                d.kill()
                d.remove_dpdk_leftovers()
        self.addCleanup(teardown)
        if start:
            d.start(detach=detach)
        return d

    def frontend(self, sock, mac, start=True, **kw):
        if not testpmd_binary():
            self.fail("dpdk-testpmd not found in PATH (Debian package 'dpdk')")
        logdir = self._tmpdirs[0] if self._tmpdirs else None
        t = Testpmd(sock, mac, logdir=logdir, **kw)
        self._artifacts.append(t)
        self.addCleanup(t.cleanup)
        if start:
            t.start()
        return t

    def attach(self, d, port, mac, name, timeout=60, **kw):
        """A frontend on vhost port 'port' of daemon 'd'; returns once the
        switch reports the port up."""
        t = self.frontend(d.vhost_sock(port), mac, name=name, **kw)
        d.wait_port_state(port, "up", timeout)
        return t


class Lines:
    """Collects a stream's lines on a thread."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.seen = []
        t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        t.start()

    def _run(self, stream):
        for line in stream:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, pred, timeout, what):
        """Returns the first line (from now on) for which pred is true."""
        result = {}

        def check():
            while True:
                try:
                    line = self.q.get_nowait()
                except queue.Empty:
                    return False
                if line is None:
                    raise AssertionError("stream ended waiting for %s; saw %r"
                                         % (what, self.seen))
                self.seen.append(line)
                if pred(line):
                    result["line"] = line
                    return True
        wait_until(check, timeout, lambda: "%s; saw %r" % (what, self.seen))
        return result["line"]


def add_bridge(d, ports=("vhu0", "vhu1"), bridge="br0", options=()):
    """Creates 'bridge' on daemon 'd' with vhost-user server ports 'ports',
    each with the key=value 'options'."""
    d.vsctl("add-br", bridge)
    for p in ports:
        d.vsctl("add-port", bridge, p, "type=vhost-user", *options)


# ---------------------------------------------------------------------------
# traffic checks


def delta(after, before, port, key):
    """Counter 'key' of 'port' between two all_port_stats() snapshots."""
    return after[port].get(key, 0) - before.get(port, {}).get(key, 0)


def send_and_verify(d, tx, tx_port, rx, rx_port, bursts=8, timeout=60, txqs=1,
                    lossy=None):
    """'tx' (a Testpmd on vhost port 'tx_port') sends bursts*32 (= n) packets
    with `start tx_first`; checks, waiting on each condition in turn, that
      - tx's TX-packets grew by exactly n,
      - the switch received n on tx_port (rx_packets),
      - the switch sent exactly n on rx_port (tx_packets), dropping none
        (tx_dropped), and
      - rx's RX-packets grew by exactly n.
    That is exact delivery, what a quiet link between polling frontends
    must give.  An over-count or a drop fails at once, not at the deadline.
    'rx' must be forwarding (e.g. rxonly started).  A sender with 'txqs' tx
    queues sends that many times as much (tx_first bursts on every queue).

    'lossy' (a string saying why) relaxes the last two checks for a caller
    whose path may drop: the switch must then have sent or dropped n on
    rx_port (tx_packets + tx_dropped) and rx must have received exactly
    what the switch sent.
    Returns a dict with n, the switch's tx and tx_dropped on rx_port, and
    the stats snapshots."""
    exact = lossy is None
    assert exact or (isinstance(lossy, str) and lossy.strip()), \
        "send_and_verify(lossy=...) takes the reason the path may drop"
    n = bursts * 32 * txqs
    s0 = d.all_port_stats()
    t0 = tx.port_stats()
    r0 = rx.port_stats()
    tx.start_tx_first(bursts)
    t1 = tx.port_stats()
    sent = t1["TX-packets"] - t0["TX-packets"]
    assert sent == n, "%s TX-packets grew by %d, expected %d (start tx_first %d)" % (
        tx.name, sent, n, bursts)

    def switch_rx():
        s = d.all_port_stats()
        got = delta(s, s0, tx_port, "rx_packets")
        assert got <= n, "%s rx_packets grew by %d > %d sent: %r" % (
            tx_port, got, n, s[tx_port])
        return got == n and s
    s1 = wait_until(switch_rx, timeout, "%s rx_packets += %d" % (tx_port, n))

    def switch_tx():
        s = d.all_port_stats()
        out = delta(s, s0, rx_port, "tx_packets")
        dropped = delta(s, s0, rx_port, "tx_dropped")
        assert out + dropped <= n, "%s tx_packets+tx_dropped grew by %d > %d: %r" % (
            rx_port, out + dropped, n, s[rx_port])
        if exact:
            assert dropped == 0, ("%s dropped %d of %d on a lossless path "
                                  "(tx_packets +%d): %r" % (rx_port, dropped, n,
                                                            out, s[rx_port]))
        return out + dropped == n and s
    s2 = wait_until(switch_tx, timeout, "%s tx_packets%s += %d"
                    % (rx_port, "" if exact else " + tx_dropped", n))
    out = delta(s2, s0, rx_port, "tx_packets")
    assert not exact or out == n, "%s tx_packets grew by %d, expected %d" % (
        rx_port, out, n)

    def frontend_rx():
        got = rx.port_stats()["RX-packets"] - r0["RX-packets"]
        assert got <= out, "%s RX-packets grew by %d > switch tx %d" % (rx.name, got, out)
        return got == out
    wait_until(frontend_rx, timeout, "%s RX-packets += %d (= %s tx_packets)"
               % (rx.name, out, rx_port))
    return {"n": n, "tx": out, "tx_dropped": delta(s2, s0, rx_port, "tx_dropped"),
            "before": s0, "after": s2, "after_rx": s1}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--watch":
        _watch_main(int(sys.argv[2]))
    elif sys.argv[1:] == ["--reap"]:
        print("reaped: %r" % reap_orphans())
    else:
        sys.exit("usage: vstest.py --watch PID | --reap")
