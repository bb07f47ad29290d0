"""vmkit - QEMU guests for the vswitch VM tests (Python 3 stdlib only).

Boots Linux guests under QEMU (TCG: these machines have no KVM) with
virtio-net-pci devices attached to vswitchd's vhost-user ports, and drives
them over their serial console: a command goes in, its output and exit
status come back.  Nothing of a test is baked into the guest image
(utilities/vm-image.sh builds it: the Debian kernel, a busybox initramfs
that loads the virtio modules and runs a shell on ttyS0, iperf3).

Pieces:
  image()          the cached guest image dir (builds it on first use)
  Nic              one virtio-net-pci device and its vhost-user chardev
  Guest            one QEMU process: start(), wait_ready(), sh(), run(),
                   ping(), kill(); its console output is kept and saved
  ping_stats()     parses busybox ping output
  max_gap()        the longest run of lost replies in a `ping -i` log

The vswitchd side (Daemon), the testpmd frontend and the test base class
come from tests/system/vstest.py.

QEMU command line (DESIGN.md section 8): guest RAM is a shared memfd
(`-object memory-backend-memfd,share=on` + `-numa node,memdev=`), which
vhost-user needs; `vectors=0` on virtio-net-pci is required under TCG
(QEMU 7.2 segfaults in msix_set_vector_notifiers otherwise); `romfile=`
skips the PXE option ROM.  The console is the serial port on QEMU's stdio
(pipes to this process), read by a thread into a buffer.
"""

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "system"))

import vstest  # noqa: E402  (path set above)

REPO = vstest.REPO
READY = "VSWITCH-VM-READY"
BOOT_TIMEOUT = 240          # 2 cores shared by several TCG guests and a PMD
CMD_TIMEOUT = 60
EXTRA_CMDLINE = "ipv6.disable=1"   # no IPv6 chatter: exact counts stay exact

_image = None
_marker = itertools.count(1)


def _die_with_parent():
    """preexec_fn: QEMU gets SIGKILL when the harness dies (a harness
    killed by a CI timeout must not leave TCG guests spinning)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def qemu_binary():
    return os.environ.get("VMTEST_QEMU") or shutil.which("qemu-system-x86_64")


def image():
    """The directory with vmlinuz, initrd.gz and cmdline (see
    utilities/vm-image.sh); built on first use, cached across runs."""
    global _image
    if _image is None:
        script = os.path.join(REPO, "utilities", "vm-image.sh")
        r = subprocess.run([script], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=1200)
        if r.returncode != 0:
            raise AssertionError("utilities/vm-image.sh exited %d:\n%s"
                                 % (r.returncode, r.stderr[-3000:]))
        path = r.stdout.strip().splitlines()[-1]
        for f in ("vmlinuz", "initrd.gz", "cmdline"):
            if not os.path.isfile(os.path.join(path, f)):
                raise AssertionError("vm-image.sh gave %s without %s" % (path, f))
        _image = path
    return _image


class Nic:
    """One virtio-net-pci device on vhost-user socket 'sock'.

    'qemu_server': QEMU creates the socket (`server=on,wait=off`) and the
    switch connects (a `vhost-user-client` port); otherwise the switch's
    `vhost-user` port is the server and QEMU connects, retrying every
    'reconnect' seconds after losing it (`reconnect=`).
    'queues' > 1 gives a multiqueue device (`mq=on`); 'packed' the packed
    virtqueue layout."""

    def __init__(self, sock, mac, qemu_server=False, queues=1, packed=False,
                 reconnect=1):
        self.sock = sock
        self.mac = mac
        self.qemu_server = qemu_server
        self.queues = queues
        self.packed = packed
        self.reconnect = reconnect

    def args(self, i):
        chardev = "socket,id=chr%d,path=%s" % (i, self.sock)
        if self.qemu_server:
            chardev += ",server=on,wait=off"
        elif self.reconnect:
            chardev += ",reconnect=%d" % self.reconnect
        netdev = "vhost-user,id=net%d,chardev=chr%d" % (i, i)
        device = "virtio-net-pci,netdev=net%d,mac=%s,romfile=,vectors=0" % (i, self.mac)
        if self.queues > 1:
            netdev += ",queues=%d" % self.queues
            device += ",mq=on"
        if self.packed:
            device += ",packed=on"
        return ["-chardev", chardev, "-netdev", netdev, "-device", device]


class Guest:
    """A QEMU guest booted from image() with the devices 'nics' (eth0,
    eth1, ... in that order), 'smp' vCPUs and 'mem' MiB of shared RAM.
    Its console output goes to a buffer (and to WORKDIR/NAME.console at
    cleanup); QEMU's own stderr to WORKDIR/NAME.qemu.log."""

    def __init__(self, name, nics, workdir, smp=1, mem=256):
        self.name = name
        self.nics = list(nics)
        self.workdir = workdir
        self.smp = smp
        self.mem = mem
        self.proc = None
        self.boots = 0
        self.qemu_log = os.path.join(workdir, "%s.qemu.log" % name)
        self._buf = ""
        self._cond = threading.Condition()
        self._eof = False
        self._reader = None
        self._ready_at = 0

    def command(self):
        img = image()
        with open(os.path.join(img, "cmdline")) as f:
            cmdline = f.read().strip() + " " + EXTRA_CMDLINE
        cmd = [qemu_binary(), "-machine", "pc,accel=tcg", "-cpu", "max",
               "-smp", str(self.smp), "-m", "%dM" % self.mem,
               "-object", "memory-backend-memfd,id=mem,size=%dM,share=on" % self.mem,
               "-numa", "node,memdev=mem",
               "-nodefaults", "-display", "none", "-no-reboot",
               "-serial", "stdio", "-monitor", "none",
               "-kernel", os.path.join(img, "vmlinuz"),
               "-initrd", os.path.join(img, "initrd.gz"),
               "-append", cmdline]
        for i, nic in enumerate(self.nics):
            cmd += nic.args(i)
        return cmd

    # -- process -----------------------------------------------------------

    def start(self):
        """Starts QEMU (does not wait for the boot: see wait_ready())."""
        assert not self.alive(), "%s already running" % self.name
        if not qemu_binary():
            raise AssertionError("qemu-system-x86_64 not found (Debian package "
                                 "qemu-system-x86; utilities/install-deps.sh)")
        self.boots += 1
        with self._cond:
            self._buf += "\n==== vmkit: boot #%d of %s at %s ====\n" % (
                self.boots, self.name, time.strftime("%H:%M:%S"))
            self._ready_at = len(self._buf)
            self._eof = False
        log = open(self.qemu_log, "a")
        try:
            log.write("==== boot #%d: %s\n" % (self.boots, " ".join(self.command())))
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log,
                                         bufsize=0, preexec_fn=_die_with_parent)
        finally:
            log.close()
        self._reader = threading.Thread(target=self._read_loop, args=(self.proc,),
                                        daemon=True, name="console-" + self.name)
        self._reader.start()
        return self

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        """Waits for the guest's init to print READY, then for the shell to
        answer a first command."""
        self.wait_for(re.escape(READY), timeout, start=self._ready_at)
        self.sh("true", timeout=60)
        return self

    def _read_loop(self, proc):
        fd = proc.stdout.fileno()
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
                self._buf += data.decode("utf-8", errors="replace").replace("\r", "")
                self._cond.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        with self._cond:
            return self._buf

    def output_tail(self, n=40):
        lines = self.output().splitlines(True)
        qemu = vstest.tail(self.qemu_log, 10)
        return "---- tail of guest %s console ----\n%s\n---- %s ----\n%s---- end ----" % (
            self.name, "".join(lines[-n:]), self.qemu_log, qemu)

    def wait_for(self, regex, timeout=CMD_TIMEOUT, start=0):
        """Waits until 'regex' matches the console output from offset
        'start'; returns the match.  Fails on timeout or if QEMU exits."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf, start)
                if m:
                    return m
                if self._eof:
                    raise AssertionError("guest %s: QEMU exited (status %s) while "
                                         "waiting for %r\n%s"
                                         % (self.name, self.proc.poll(), regex,
                                            self._tail_locked()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("guest %s: timed out after %ds waiting for %r\n%s"
                                         % (self.name, timeout, regex, self._tail_locked()))
                self._cond.wait(min(left, 0.5))

    def _tail_locked(self, n=40):
        return "---- tail of guest %s console ----\n%s\n---- end ----" % (
            self.name, "".join(self._buf.splitlines(True)[-n:]))

    # -- commands ----------------------------------------------------------

    def run(self, cmd, timeout=CMD_TIMEOUT):
        """Runs shell command line 'cmd' in the guest and returns (exit
        status, output).  The command is followed by an echo of a unique
        marker with $?; the marker is written in two quoted halves so that
        the line itself (should the tty echo it) never matches.  'cmd' must
        fit on one line and should not read the console."""
        assert "\n" not in cmd, "one line per command"
        n = next(_marker)
        with self._cond:
            pos = len(self._buf)
        line = '%s\necho "@@VM""DONE-%d-$?@@"\n' % (cmd, n)
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, AttributeError) as e:
            raise AssertionError("guest %s: cannot send %r: %s\n%s"
                                 % (self.name, cmd, e, self.output_tail())) from e
        m = self.wait_for(r"@@VMDONE-%d-(\d+)@@\n" % n, timeout, start=pos)
        with self._cond:
            out = self._buf[pos:m.start()]
        return int(m.group(1)), out

    def sh(self, cmd, timeout=CMD_TIMEOUT):
        """run(), failing the test (with the output) on a nonzero status;
        returns the output."""
        rc, out = self.run(cmd, timeout)
        if rc != 0:
            raise AssertionError("guest %s: `%s` exited %d:\n%s" % (self.name, cmd, rc, out))
        return out

    def configure(self, dev, addr):
        """Gives interface 'dev' the address 'addr' (CIDR) and brings it up."""
        self.sh("ip addr flush dev %s && ip addr add %s dev %s && ip link set %s up"
                % (dev, addr, dev, dev))

    def ping(self, ip, count=3, interval=0.2, deadline=None, timeout=None):
        """busybox ping; returns ping_stats() of its output (+ 'output')."""
        w = deadline or max(5, int(count * interval) + 5)
        rc, out = self.run("ping -c %d -i %s -w %d %s" % (count, interval, w, ip),
                           timeout or w + 30)
        st = ping_stats(out)
        st["rc"] = rc
        st["output"] = out
        return st

    def wait_ping(self, ip, timeout=90, what=None):
        """Waits until one ping to 'ip' gets an answer."""
        def ok():
            return self.ping(ip, count=1, deadline=3)["received"] == 1
        vstest.wait_until(ok, timeout, what or "guest %s: ping %s answered" % (self.name, ip),
                          interval=0.2)

    # -- life cycle --------------------------------------------------------

    def kill(self):
        """SIGKILL QEMU by pid (a crashed guest) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def cleanup(self):
        """Kill, save the console output next to the QEMU log."""
        try:
            self.kill()
        finally:
            try:
                with open(os.path.join(self.workdir, "%s.console" % self.name), "w") as f:
                    f.write(self.output())
            except OSError:
                pass


_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) packets received")


def ping_stats(out):
    """{'transmitted', 'received', 'seqs': [seq of every reply], 'rtts':
    [round trip of every reply, s]} from busybox ping output
    (transmitted/received are -1 without a summary line)."""
    m = _PING_SUMMARY.search(out)
    replies = re.findall(r"bytes from [^:]+: seq=(\d+) ttl=\d+ time=([\d.]+) ms", out)
    return {"transmitted": int(m.group(1)) if m else -1,
            "received": int(m.group(2)) if m else -1,
            "seqs": [int(s) for s, _ in replies],
            "rtts": [float(t) / 1000 for _, t in replies]}


def max_gap(seqs):
    """The longest run of missing sequence numbers between two replies in
    'seqs' (sorted, duplicates dropped): the outage, in ping intervals."""
    s = sorted(set(seqs))
    return max([b - a - 1 for a, b in zip(s, s[1:])] or [0])
