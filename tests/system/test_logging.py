"""Where a running vswitchd's messages go (issue 10, item 4): --log-file,
reopening it on SIGHUP, and a --detach'ed daemon that leaves its terminal
alone.

  test_detach_releases_terminal  a --detach'ed vswitchd started with a pipe
                               as stdout and stderr keeps no copy of it: the
                               pipe reaches EOF once the command returns, so
                               nothing it logs later (its own messages, EAL's,
                               a library's raw stderr) can reach the terminal;
                               those messages are in --log-file instead,
                               DPDK's included
  test_sighup_reopens_log_file logrotate's way: move the file, SIGHUP; the
                               next messages (DPDK's too) go to a new file
                               with the same name, the old one keeps its own
  test_bad_log_file            a --log-file that cannot be opened: exit 2, a
                               one-line reason, nothing started
  test_detach_without_log_file_uses_syslog  no --log-file: after detaching,
                               messages go to syslog (facility daemon, with
                               priorities): checked with a fake /dev/log in a
                               private mount namespace
"""

import os
import re
import signal
import socket
import subprocess
import threading
import unittest

from vstest import Daemon, VsTestCase, wait_until

TIMEOUT = 60


def read_to_eof(fd, timeout):
    """Reads 'fd' until EOF; returns (data, reached_eof)."""
    chunks = []
    done = threading.Event()

    def reader():
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        done.set()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    eof = done.wait(timeout)
    return b"".join(chunks).decode(errors="replace"), eof


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def add_bad_dpdk_port(d, bridge, port):
    """A dpdk port whose devargs no driver knows: refused (vsctl exits 1),
    and EAL logs an error of its own about it."""
    rc, _, err = d.vsctl("add-port", bridge, port, "type=dpdk",
                         "devargs=net_nosuchdriver0", check=False)
    assert rc == 1, err


EAL_ERROR = r'\|ERR\|dpdk\|EAL: failed to parse device "net_nosuchdriver0"\n'


def after(text, marker):
    """The part of 'text' after the last line containing 'marker'."""
    i = text.rfind(marker)
    assert i >= 0, "%r not in the log" % marker
    return text[text.index("\n", i) + 1:]


class LoggingTest(VsTestCase):

    def start_with_pipe(self, d):
        """Starts 'd' detached with a pipe as its stdout and stderr.  Returns
        what came through the pipe and whether it reached EOF."""
        r, w = os.pipe()
        try:
            d.start(detach=True, output=w)
        finally:
            os.close(w)
        try:
            return read_to_eof(r, 10)
        finally:
            os.close(r)

    def test_detach_releases_terminal(self):
        d = self.daemon(start=False, extra_args=["--log-level", "debug"])
        out, eof = self.start_with_pipe(d)
        self.assertTrue(eof, "the detached vswitchd still holds the stdout/stderr "
                        "it was started with; it wrote:\n" + out)
        # What it wrote before detaching ends with its readiness.
        self.assertIn("ready, control socket %s" % d.sock, out)
        self.assertEqual(after(out, "ready, control socket"), "")
        # It goes on logging, into the file: its own messages and DPDK's.
        d.vsctl("add-br", "br0")
        add_bad_dpdk_port(d, "br0", "bad0")
        log = after(read(d.log), "ready, control socket")
        self.assertRegex(log, r"\|INFO\|bridge\|bridge br0 added\n")
        self.assertRegex(log, EAL_ERROR)
        dpdk = [ln for ln in log.splitlines() if "|dpdk|" in ln]
        self.assertTrue(dpdk, "no DPDK message in the log after detaching:\n" + log)
        self.assertTrue(all(re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z\|(ERR|WARN|INFO|DBG)"
                                     r"\|dpdk\|\S", ln) for ln in dpdk), dpdk)
        # Before detaching, DPDK's messages came the same way (no raw "EAL:"
        # lines on stdout).
        self.assertIn("|dpdk|", out)
        self.assertFalse([ln for ln in out.splitlines() if ln.startswith("EAL:")], out)

    def test_sighup_reopens_log_file(self):
        d = self.daemon(extra_args=["--log-level", "debug"])
        d.vsctl("add-br", "br0")
        rotated = d.log + ".1"
        os.rename(d.log, rotated)
        os.kill(d.pid, signal.SIGHUP)
        wait_until(lambda: os.path.exists(d.log)
                   and "SIGHUP: reopened the log file %s" % d.log in read(d.log),
                   TIMEOUT, "a new log file after SIGHUP")
        d.vsctl("add-br", "br1")
        add_bad_dpdk_port(d, "br1", "bad1")
        new, old = read(d.log), read(rotated)
        self.assertIn("|bridge|bridge br1 added", new)
        self.assertRegex(new, EAL_ERROR)
        self.assertNotIn("net_nosuchdriver0", old)
        self.assertNotIn("bridge br1 added", old)
        self.assertIn("|bridge|bridge br0 added", old)
        self.assertNotIn("bridge br0 added", new)
        self.assertIn("ready, control socket", old)
        # The daemon is still fine (SIGHUP did not kill it) and stops cleanly.
        d.vsctl("version")

    def test_bad_log_file(self):
        d = Daemon()
        self._tmpdirs.append(d.workdir)
        for path, reason in (("/nonexistent-vswitch-dir/v.log", "No such file or directory"),
                             (d.workdir, "Is a directory"),
                             ("/dev/null", "not a regular file")):
            cmd = d.command(detach=True)
            cmd[cmd.index("--log-file") + 1] = path
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr, "vswitchd: --log-file %s: %s\n" % (path, reason))
            self.assertEqual(r.stdout, "")
            self.assertFalse(os.path.exists(d.rundir))

    def test_detach_without_log_file_uses_syslog(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (mount namespace)")
        d = self.daemon(start=False)
        devlog = os.path.join(d.workdir, "devlog")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(devlog)
        s.settimeout(1)
        # vswitchd in a private mount namespace whose /dev is a tmpfs holding
        # the nodes it needs and our socket as /dev/log (glibc's syslog()
        # always uses that path).
        olddev = os.path.join(d.workdir, "olddev")
        os.mkdir(olddev)
        script = ('set -e; mount --bind /dev "$0"; mount -t tmpfs vstest-dev /dev; '
                  'for n in null zero urandom random; do touch /dev/$n; '
                  'mount --bind "$0/$n" /dev/$n; done; '
                  'mkdir /dev/shm; mount --bind "$0/shm" /dev/shm; '
                  'touch /dev/log; mount --bind "$1" /dev/log; shift; exec "$@"')
        plain = d.command

        def command(detach=True):
            cmd = plain(detach)
            i = cmd.index("--log-file")
            del cmd[i:i + 2]
            return (["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     script, olddev, devlog] + cmd)
        d.command = command
        out, eof = self.start_with_pipe(d)
        self.assertTrue(eof, out)
        d.vsctl("add-br", "br0")
        add_bad_dpdk_port(d, "br0", "bad0")
        msgs = []

        def got(pattern):
            while True:
                try:
                    msgs.append(s.recv(65536).decode(errors="replace"))
                except socket.timeout:
                    break
            return any(re.search(pattern, m) for m in msgs)
        # <30> = daemon.info, tagged vswitchd[PID].
        wait_until(lambda: got(r"^<30>.*vswitchd\[%d\]: bridge\|bridge br0 added$" % d.pid),
                   TIMEOUT, lambda: "br0 in syslog; got %r" % msgs)
        # Errors keep their priority (daemon.err = <27>), DPDK's too.
        wait_until(lambda: got(r'^<27>.*vswitchd\[%d\]: dpdk\|EAL: failed to parse '
                               r'device "net_nosuchdriver0"$' % d.pid),
                   TIMEOUT, lambda: "EAL's error in syslog; got %r" % msgs)
        self.assertEqual(read(d.log).count("bridge br0 added"), 0)


if __name__ == "__main__":
    unittest.main()
