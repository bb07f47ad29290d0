"""vswitchd under systemd (issue 10, item 4): utilities/systemd/vswitchd.service.

systemd is not PID 1 on these machines, so the unit is checked by
`systemd-analyze verify` and its settings are reproduced one by one:

  test_unit_verifies          `systemd-analyze verify` passes on the unit as
                              `cmake --install` installs it (binary and man
                              pages looked up in the staging tree)
  test_unit_matches_defaults  RuntimeDirectory/StateDirectory are vswitchd's
                              default rundir/statedir, Type=notify, restart
                              on failure, /etc/default/vswitch read
  test_notify_ready           Type=notify: READY=1 arrives on $NOTIFY_SOCKET
                              only when the control socket answers (a vsctl
                              right after it succeeds), STOPPING=1 on SIGTERM
  test_journal_priorities     stderr a journald stream ($JOURNAL_STREAM):
                              "<N>module|text" lines, N the syslog priority
  test_capability_set         with exactly the unit's CapabilityBoundingSet
                              (setpriv, plus NoNewPrivileges) vswitchd runs
                              every port type this machine has (vhost-user,
                              internal, net_tap, net_af_packet), a socket
                              group, a client-mode socket owned by another
                              user
  test_each_capability_needed without CAP_NET_ADMIN, CAP_NET_RAW, CAP_CHOWN
                              or CAP_DAC_OVERRIDE the feature that needs it
                              fails (CAP_IPC_LOCK and CAP_SYS_RAWIO are for
                              PCI NICs / VFIO: none here)
"""

import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.request

from vstest import (REPO, Daemon, VsTestCase, add_bridge, builddir, send_and_verify,
                    wait_until)

TIMEOUT = 60
UNIT = os.path.join(REPO, "utilities", "systemd", "vswitchd.service")


def unit_settings(path=UNIT):
    """{key: [values...]} of the unit's [Service] (and other) sections."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


def unit_caps():
    return unit_settings()["CapabilityBoundingSet"][0].split()


def setpriv_prefix(caps):
    """setpriv arguments giving root exactly 'caps' (as CapabilityBoundingSet
    does for a root service) and NoNewPrivileges."""
    spec = ",".join(["-all"] + ["+" + c[4:].lower() for c in caps])
    return ["setpriv", "--bounding-set", spec, "--inh-caps", "-all", "--no-new-privs"]


def cgroup_dirs():
    """Every cgroup directory of every mounted hierarchy."""
    out = set()
    for h in glob.glob("/sys/fs/cgroup/*/"):
        for root, dirs, _ in os.walk(h):
            out.update(os.path.join(root, d) for d in dirs)
    return out


# Run inside the new PID and mount namespace: private /run, /var/lib,
# /var/log, /etc/default and /etc/systemd/system, a unit directory holding
# only the stub targets and the unit under test, then systemd as PID 1.
NS_INIT = r"""set -e
mount -t tmpfs vstest-run /run
mount -t tmpfs vstest-varlib /var/lib
mount -t tmpfs vstest-varlog /var/log
mount -t tmpfs vstest-etcdefault /etc/default
cp "$1/vswitch.default" /etc/default/vswitch
mount --bind "$1/units" /lib/systemd/system
mount -t tmpfs vstest-etcsd /etc/systemd/system
exec env container=vstest /lib/systemd/systemd --system --unit=vstest.target     --log-target=console --log-level=notice
"""


class LiveSystemd:
    """systemd 252 as PID 1 of a private PID + mount namespace (unshare
    --kill-child: it dies with the harness), managing only the unit under
    test and stub targets; nothing of the host's units, /run, /var/lib or
    /etc/default is visible to it.  Commands run inside with nsenter; the
    namespace's files are reachable from outside under /proc/PID/root.
    stop() kills it and removes the cgroup directories it created."""

    def __init__(self, workdir, unit_text, default_text, dropin):
        self.dir = workdir
        units = os.path.join(workdir, "units")
        os.makedirs(units)
        for t in ("sysinit", "basic", "shutdown", "vstest", "local-fs", "multi-user"):
            with open(os.path.join(units, t + ".target"), "w") as f:
                f.write("[Unit]\nDescription=vstest stub %s\n" % t)
        with open(os.path.join(units, "vswitchd.service"), "w") as f:
            f.write(unit_text)
        os.makedirs(os.path.join(units, "vswitchd.service.d"))
        with open(os.path.join(units, "vswitchd.service.d", "vstest.conf"), "w") as f:
            f.write(dropin)
        with open(os.path.join(workdir, "vswitch.default"), "w") as f:
            f.write(default_text)
        self.cgroups_before = cgroup_dirs()
        self.log = open(os.path.join(workdir, "systemd.log"), "w")
        # unshare dies with us (PR_SET_PDEATHSIG), and --kill-child takes
        # systemd, hence the whole namespace, with it: a harness killed by
        # SIGKILL leaves no systemd or vswitchd behind.
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--kill-child", "--mount",
             "--propagation", "private", "--mount-proc", "sh", "-c", NS_INIT,
             "sh", workdir], stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: ctypes.CDLL(None).prctl(1, int(signal.SIGKILL)))
        self.pid = wait_until(self._init_pid, TIMEOUT, "systemd in the namespace")
        wait_until(lambda: self.run("systemctl", "is-system-running",
                                    check=False).stdout.strip() in ("running", "degraded"),
                   TIMEOUT, "systemd running")

    def _init_pid(self):
        """The pid (outside) of the namespace's PID 1: unshare's child."""
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            kids = f.read().split()
        if not kids:
            return None
        with open("/proc/%s/comm" % kids[0]) as f:
            return int(kids[0]) if f.read().strip() == "systemd" else None

    def path(self, p):
        """'p' inside the namespace, as seen from outside."""
        return "/proc/%d/root%s" % (self.pid, p)

    def run(self, *cmd, check=True):
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", "--"] + list(cmd),
                           capture_output=True, text=True, timeout=TIMEOUT)
        if check:
            assert r.returncode == 0, "%s: %d\n%s%s" % (cmd, r.returncode, r.stdout,
                                                       r.stderr)
        return r

    def show(self, prop):
        return self.run("systemctl", "show", "-p", prop, "--value",
                        "vswitchd").stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.run("systemctl", "stop", "vswitchd", check=False)
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(TIMEOUT)
        self.log.close()
        # The cgroups it made in the host's hierarchies, deepest first.
        for d in sorted(cgroup_dirs() - self.cgroups_before, key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


def install_tree(test, base=None):
    """`cmake --install` of the build into a temporary staging dir (under
    'base', default the system's temp dir)."""
    dest = tempfile.mkdtemp(prefix="vstest-install-", dir=base)
    test.addCleanup(shutil.rmtree, dest, True)
    r = subprocess.run(["cmake", "--install", builddir(), "--prefix", "/usr"],
                       env=dict(os.environ, DESTDIR=dest), capture_output=True,
                       text=True, timeout=TIMEOUT)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    return dest


def unit_visible_dir():
    """A directory the unit's sandbox still shows, to stage the install in:
    the build dir unless PrivateTmp= (/tmp, /var/tmp) or ProtectHome=
    (/home, /root, /run/user) hides it, as it does for a checkout cloned
    into /tmp or /root; else /opt."""
    base = builddir()
    hidden = ("/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/")
    if not (os.path.realpath(base) + "/").startswith(hidden):
        return base
    os.makedirs("/opt", exist_ok=True)
    return "/opt"


class SystemdTest(VsTestCase):

    def test_unit_verifies(self):
        if not shutil.which("systemd-analyze"):
            self.fail("systemd-analyze not found (Debian package systemd)")
        dest = install_tree(self)
        units = glob.glob(os.path.join(dest, "**/systemd/system/vswitchd.service"),
                          recursive=True)
        self.assertEqual(len(units), 1, "the unit is not installed (once)")
        unit = units[0]
        with open(unit) as f:
            text = f.read()
        self.assertIn("ExecStart=/usr/sbin/vswitchd $VSWITCHD_OPTS\n", text)
        self.assertTrue(os.access(os.path.join(dest, "usr/sbin/vswitchd"), os.X_OK))
        # The same unit, its binary path pointing into the staging tree.
        check = os.path.join(dest, "vswitchd.service")
        with open(check, "w") as f:
            f.write(text.replace("/usr/sbin/vswitchd", dest + "/usr/sbin/vswitchd"))
        r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True,
                           text=True, timeout=TIMEOUT,
                           env=dict(os.environ, MANPATH=dest + "/usr/share/man",
                                    SYSTEMD_LOG_LEVEL="notice"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "")
        # It must fail when something is wrong (an unknown setting).
        with open(check, "a") as f:
            f.write("[Service]\nNoSuchSetting=1\n")
        r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True,
                           text=True, timeout=TIMEOUT,
                           env=dict(os.environ, MANPATH=dest + "/usr/share/man"))
        self.assertIn("NoSuchSetting", r.stderr)

    def test_unit_matches_defaults(self):
        s = unit_settings()
        self.assertEqual(s["Type"], ["notify"])
        self.assertEqual(s["Restart"], ["on-failure"])
        self.assertEqual(s["RuntimeDirectory"], ["vswitch"])   # /run/vswitch
        self.assertEqual(s["StateDirectory"], ["vswitch"])     # /var/lib/vswitch
        self.assertEqual(s["EnvironmentFile"], ["-/etc/default/vswitch"])
        self.assertEqual(s["ExecStart"], ["/usr/sbin/vswitchd $VSWITCHD_OPTS"])
        usage = subprocess.run([os.path.join(builddir(), "vswitchd"), "--help"],
                               capture_output=True, text=True, timeout=TIMEOUT).stdout
        self.assertIn("$VSWITCH_RUNDIR or /run/vswitch)", usage)
        self.assertIn("/var/lib/vswitch", usage)
        with open(os.path.join(REPO, "utilities", "systemd", "vswitch.default")) as f:
            self.assertRegex(f.read(), r'(?m)^VSWITCHD_OPTS=""$')

    def notify_socket(self, d):
        path = os.path.join(d.workdir, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(path)
        return s, path

    def test_notify_ready(self):
        d = self.daemon(start=False)
        s, path = self.notify_socket(d)
        os.makedirs(d.rundir)
        os.makedirs(d.statedir)
        p = subprocess.Popen(d.command(detach=False), stdin=subprocess.DEVNULL,
                             stdout=open(d.log, "a"), stderr=subprocess.STDOUT,
                             env=dict(os.environ, NOTIFY_SOCKET=path))
        d.proc, d.pid = p, p.pid
        s.settimeout(TIMEOUT)
        msg = s.recv(4096).decode()
        # The very next command works: READY=1 came after the socket was up.
        rc, out, err = d.vsctl("version", check=False)
        self.assertEqual(rc, 0, err)
        self.assertEqual(msg, "READY=1\nSTATUS=control socket %s" % d.sock)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(s.recv(4096).decode(), "STOPPING=1")
        self.assertEqual(p.wait(TIMEOUT), 0)
        d.pid = None

    def test_journal_priorities(self):
        d = self.daemon(start=False)
        os.makedirs(d.rundir)
        os.makedirs(d.statedir)
        err = os.path.join(d.workdir, "stderr")
        with open(err, "w") as f:
            st = os.fstat(f.fileno())
            p = subprocess.Popen(d.command(detach=False), stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=f,
                                 env=dict(os.environ, JOURNAL_STREAM="%d:%d"
                                          % (st.st_dev, st.st_ino)))
        d.proc, d.pid = p, p.pid
        wait_until(lambda: d.vsctl("version", check=False)[0] == 0, TIMEOUT,
                   "vswitchd up")
        d.vsctl("add-br", "br0")
        rc, _, _ = d.vsctl("add-port", "br0", "bad0", "type=dpdk",
                           "devargs=net_nosuchdriver0", check=False)
        self.assertEqual(rc, 1)
        d.stop()
        with open(err) as f:
            lines = f.read().splitlines()
        self.assertIn("<6>bridge|bridge br0 added", lines)
        self.assertIn('<3>dpdk|EAL: failed to parse device "net_nosuchdriver0"', lines)
        bad = [ln for ln in lines if not re.match(r"<[0-7]>[a-z_-]+\|", ln)]
        self.assertEqual(bad, [])

    # -- the unit under a real systemd ---------------------------------------

    def test_unit_under_systemd(self):
        """The installed unit, all its hardening included, under systemd 252
        (PID 1 of a private namespace): systemctl start returns when vsctl
        works; capabilities, no_new_privs, seccomp and the read-only /usr are
        in force, and still vhost-user traffic between two DPDK frontends,
        internal, net_tap and net_af_packet ports, a packet capture and the
        metrics endpoint work; /etc/default/vswitch
        is read (--log-file in LogsDirectory, rotated by the installed logrotate
        configuration, whose systemctl reload makes vswitchd reopen it);
        a crash restarts it with its configuration; stop is clean and keeps
        the runtime directory."""
        for tool in ("unshare", "nsenter", "/lib/systemd/systemd", "systemctl"):
            if not shutil.which(tool):
                self.fail("%s not found (util-linux, systemd)" % tool)
        dest = install_tree(self, unit_visible_dir())
        unit = glob.glob(os.path.join(dest, "**/systemd/system/vswitchd.service"),
                         recursive=True)[0]
        with open(unit) as f:
            unit_text = f.read()
        d = self.daemon(start=False)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            metrics_port = probe.getsockname()[1]
        # Only the binary's path and the test options differ from the unit
        # as installed; the output goes to a file (no journald here).
        dropin = ("[Service]\nExecStart=\nExecStart=%s/usr/sbin/vswitchd --no-huge "
                  "--pmd-cores 1 $VSWITCHD_OPTS\n"
                  "StandardOutput=append:/run/vstest-vswitchd.out\n"
                  "StandardError=inherit\n" % dest)
        sd = LiveSystemd(os.path.join(d.workdir, "sd"), unit_text,
                         'VSWITCHD_OPTS="--log-file /var/log/vswitch/vswitchd.log '
                         '--metrics-addr 127.0.0.1:%d"\n' % metrics_port,
                         dropin)
        self.addCleanup(sd.stop)
        # The harness's Daemon, pointed at the service's sockets.
        d.sock = sd.path("/run/vswitch/vswitchd.sock")
        d.vhostdir = sd.path("/run/vswitch/vhost")
        d.log = sd.path("/var/log/vswitch/vswitchd.log")

        r = sd.run("systemctl", "start", "vswitchd", check=False)
        self.assertEqual(r.returncode, 0, "%s\n%s\n%s" % (
            r.stderr, sd.run("systemctl", "status", "vswitchd", check=False).stdout,
            sd.run("cat", "/run/vstest-vswitchd.out", check=False).stdout))
        # Type=notify: started = the control socket answers, at once.
        d.vsctl("version")
        self.assertEqual(sd.show("ActiveState"), "active")
        self.assertEqual(sd.show("StatusText"),
                         "control socket /run/vswitch/vswitchd.sock")
        pid = int(sd.show("MainPID"))           # In the namespace's PID space.
        with open(sd.path("/proc/%d/status" % pid)) as f:
            status = f.read()
        want = sum(1 << n for n in (12, 13, 0, 1, 14, 17))
        self.assertEqual(int(re.search(r"CapBnd:\s*(\w+)", status).group(1), 16), want)
        self.assertEqual(int(re.search(r"CapEff:\s*(\w+)", status).group(1), 16), want)
        self.assertRegex(status, r"NoNewPrivs:\s*1\n")
        self.assertRegex(status, r"Seccomp:\s*2\n")
        with open(sd.path("/proc/%d/mountinfo" % pid)) as f:
            usr = [ln.split() for ln in f if ln.split()[4] == "/usr"]
        self.assertTrue(usr and "ro" in usr[-1][5].split(","), usr)
        self.assertEqual(os.stat(sd.path("/var/lib/vswitch")).st_mode & 0o777, 0o750)

        # DPDK under all of it: vhost-user traffic, both directions exact.
        add_bridge(d)
        a = self.attach(d, "vhu0", "02:00:00:00:00:0a", "A")
        b = self.attach(d, "vhu1", "02:00:00:00:00:0b", "B", peer="02:00:00:00:00:0a")
        a.start_fwd()
        b.start_fwd()
        # A capture of what vhu1 sends, taken while the traffic passes.
        pcap = os.path.join(d.workdir, "vhu1.pcapng")
        cap = subprocess.Popen([d.vsctl_bin, "--socket", d.sock, "capture", "vhu1",
                                "--direction", "tx", "--count", "128", "-w", pcap],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: cap.poll() is None and (cap.kill(), cap.wait()))
        wait_until(lambda: d.rpc("port.capture_list", {})["result"]["captures"],
                   TIMEOUT, "the capture to be listed")
        r = send_and_verify(d, a, "vhu0", b, "vhu1", bursts=4, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (128, 0))
        self.assertEqual(cap.wait(TIMEOUT), 0, cap.stderr.read())
        dump = subprocess.run(["tcpdump", "-r", pcap, "-nn", "-e"], capture_output=True,
                              text=True, timeout=TIMEOUT)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        lines = dump.stdout.splitlines()
        self.assertEqual(len(lines), 128, dump.stdout[-2000:])
        self.assertTrue(all("02:00:00:00:00:0a > " in ln for ln in lines), lines[:3])
        # The metrics endpoint (AF_INET under RestrictAddressFamilies) agrees
        # with port-stats.
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port,
                                    timeout=TIMEOUT) as resp:
            page = resp.read().decode()
        m = re.search(r'(?m)^vswitch_port_tx_packets_total\{bridge="br0",port="vhu1"\} '
                      r'(\d+)', page)
        self.assertTrue(m, page[:2000])
        self.assertEqual(int(m.group(1)), d.port_stats("vhu1")["tx_packets"])
        r = send_and_verify(d, b, "vhu1", a, "vhu0", bursts=4, timeout=TIMEOUT)
        self.assertEqual((r["tx"], r["tx_dropped"]), (128, 0))
        a.quit()
        b.quit()
        tag = os.getpid() % 10000
        d.vsctl("add-port", "br0", "int0", "type=internal")
        d.vsctl("add-port", "br0", "tap0", "type=dpdk",
                "devargs=net_tap_sd0,iface=vssdtap%d" % tag)
        d.vsctl("add-port", "br0", "afp0", "type=dpdk",
                "devargs=net_af_packet_sd0,iface=lo")
        for p in ("int0", "tap0", "afp0"):
            self.assertEqual(d.port_state(p), "up", p)
        for p in ("int0", "tap0", "afp0"):
            d.vsctl("del-port", p)

        # /etc/default/vswitch: the log file; systemctl reload reopens it.
        # The logrotate configuration as installed: it rotates the file and
        # its postrotate's `systemctl reload` makes vswitchd reopen it.
        self.assertIn("ready, control socket", open(d.log).read())
        rotate = glob.glob(os.path.join(dest, "**/logrotate.d/vswitch"), recursive=True)
        self.assertEqual(len(rotate), 1)
        sd.run("logrotate", "-f", "-s", "/run/vstest-logrotate.state", rotate[0])
        self.assertIn("ready, control socket", open(d.log + ".1").read())
        wait_until(lambda: os.path.exists(d.log) and "reopened the log file"
                   in open(d.log).read(), TIMEOUT, "the log file reopened")
        self.assertNotIn("ready, control socket", open(d.log).read())

        # Restart=on-failure, with the configuration restored.
        sd.run("kill", "-SEGV", str(pid))
        wait_until(lambda: sd.show("NRestarts") == "1"
                   and sd.show("ActiveState") == "active", TIMEOUT, "a restart")
        self.assertNotEqual(int(sd.show("MainPID")), pid)
        wait_until(lambda: d.vsctl("list-ports", "br0", check=False)[1].split()
                   == ["vhu0", "vhu1"], TIMEOUT, "br0 restored")

        sd.run("systemctl", "stop", "vswitchd")
        self.assertEqual(sd.show("ActiveState"), "inactive")
        self.assertEqual(sd.show("Result"), "success")
        self.assertFalse(os.path.exists(d.sock))
        self.assertTrue(os.path.isdir(sd.path("/run/vswitch/vhost")))   # Preserve=yes

    # -- capabilities ------------------------------------------------------

    def capped_daemon(self, caps, extra_args=()):
        d = self.daemon(start=False, extra_args=list(extra_args))
        plain = d.command
        d.command = lambda detach=True: setpriv_prefix(caps) + plain(detach)
        return d

    def start_capped(self, d):
        d.start()
        with open("/proc/%d/status" % d.pid) as f:
            status = f.read()
        return int(re.search(r"CapEff:\s*([0-9a-f]+)", status).group(1), 16)

    def client_socket_of_other_user(self, d):
        """A listening unix socket in the vhost dir owned by 'nobody', mode
        0755 (QEMU as another user, server=on): only root with
        CAP_DAC_OVERRIDE may connect."""
        path = d.vhost_sock("qemu0")
        os.makedirs(d.vhostdir, exist_ok=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.bind(path)
        s.listen(1)
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
        os.chmod(path, 0o755)
        s.settimeout(0.2)
        return s, path

    def accepted(self, s):
        try:
            c, _ = s.accept()
        except socket.timeout:
            return False
        c.close()
        return True

    def test_capability_set(self):
        caps = unit_caps()
        self.assertEqual(sorted(caps), sorted([
            "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_CHOWN", "CAP_DAC_OVERRIDE",
            "CAP_IPC_LOCK", "CAP_SYS_RAWIO"]))
        d = self.capped_daemon(caps, ["--ctl-socket-group", "daemon"])
        eff = self.start_capped(d)
        # Exactly the unit's set: CAP_SYS_ADMIN etc. are gone.
        want = sum(1 << n for n in (12, 13, 0, 1, 14, 17))
        self.assertEqual(eff, want, "%x" % eff)
        self.assertEqual(os.stat(d.sock).st_gid, 1)             # daemon
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        self.assertTrue(stat.S_ISSOCK(os.stat(d.vhost_sock("vhu0")).st_mode))
        d.vsctl("add-port", "br0", "int0", "type=internal")
        d.vsctl("add-port", "br0", "tap0", "type=dpdk",
                "devargs=net_tap_vsc0,iface=vsctap%d" % (os.getpid() % 10000))
        d.vsctl("add-port", "br0", "afp0", "type=dpdk",
                "devargs=net_af_packet_vsc0,iface=lo")
        s, path = self.client_socket_of_other_user(d)
        d.vsctl("add-port", "br0", "qemu0", "type=vhost-user-client", "path=" + path)
        wait_until(lambda: self.accepted(s), TIMEOUT, "vswitchd connecting to qemu0")
        for p in ("int0", "tap0", "afp0"):
            self.assertEqual(d.port_state(p), "up", p)
        d.vsctl("del-port", "qemu0")
        os.unlink(path)                 # The "frontend's" socket, not ours.

    def test_each_capability_needed(self):
        caps = unit_caps()
        without = lambda c: [x for x in caps if x != c]     # noqa: E731

        d = self.capped_daemon(without("CAP_NET_ADMIN"))
        self.start_capped(d)
        d.vsctl("add-br", "br0")
        rc, _, err = d.vsctl("add-port", "br0", "int0", "type=internal", check=False)
        self.assertEqual(rc, 1, err)
        d.stop()

        d = self.capped_daemon(without("CAP_NET_RAW"))
        self.start_capped(d)
        d.vsctl("add-br", "br0")
        rc, _, err = d.vsctl("add-port", "br0", "afp0", "type=dpdk",
                             "devargs=net_af_packet_vsc1,iface=lo", check=False)
        self.assertEqual(rc, 1, err)
        d.stop()

        d = self.capped_daemon(without("CAP_CHOWN"), ["--ctl-socket-group", "daemon"])
        r = subprocess.run(d.command(), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Operation not permitted", r.stdout + r.stderr)

        d = self.capped_daemon(without("CAP_DAC_OVERRIDE"))
        self.start_capped(d)
        d.vsctl("add-br", "br0")
        s, path = self.client_socket_of_other_user(d)
        d.vsctl("add-port", "br0", "qemu0", "type=vhost-user-client", "path=" + path)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertFalse(self.accepted(s), "connected without CAP_DAC_OVERRIDE")
        d.vsctl("del-port", "qemu0")
        os.unlink(path)
        d.stop()


if __name__ == "__main__":
    unittest.main()
