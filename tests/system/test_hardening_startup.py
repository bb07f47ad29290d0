"""Start-up failures and durability (issue 7, sections 1 and 4).

  test_second_instance_socket_removed  a second vswitchd on the same rundir
                               is refused (exit 1, before EAL) even when the
                               first one's control socket file was removed
  test_eal_failure_exit_1      an EAL that cannot start (its --file-prefix
                               is taken) exits 1 with the cause, no SIGSEGV,
                               no "Success"
  test_socket_failure_releases_all  the control socket cannot be created:
                               exit 1, the restored vhost socket is removed
  test_shared_statedir_refused a second vswitchd on another rundir but the
                               same statedir is refused
  test_unreadable_config_refused  a conf.json that cannot be read (directory,
                               FIFO, too large) refuses the start and is left
                               untouched
  test_readonly_statedir       with a read-only statedir every change is
                               refused with EROFS and nothing changes, in
                               memory or on disk
  test_disk_full               a full statedir: refused with ENOSPC (not
                               "limit reached"), nothing changes
  test_port_set_loss_is_loud   a set-port whose new and old options both fail
                               leaves the port in state error with a WARN, a
                               port_error event and its old options saved
  test_hugepage_files_removed  with hugepages, nothing is left in the
                               hugetlbfs mount after a clean exit (needs root;
                               skipped when no hugepages can be reserved)
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from vstest import Daemon, VsTestCase, remove_dpdk_leftovers, unique_prefix, wait_until

TIMEOUT = 60


def eal_prefix(rundir):
    """The --file-prefix vswitchd derives from its rundir (options.c)."""
    h = 2166136261
    for b in rundir.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return "vswitchd-%08x" % h


def conf_path(d):
    return os.path.join(d.statedir, "conf.json")


def read_conf(d):
    with open(conf_path(d)) as f:
        return json.load(f)


def write_pcap(path):
    """An empty pcap file (Ethernet link type)."""
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))


class StartupTest(VsTestCase):

    def run_fg(self, cmd, timeout=30, env=None):
        """Runs vswitchd in the foreground and expects it to exit by itself
        within 'timeout' s (it is SIGKILLed and the test fails otherwise).
        Returns (status, output)."""
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            self.fail("vswitchd %s did not exit within %ds (it started?)\n%s"
                      % (" ".join(cmd), timeout, out))
        return p.returncode, out

    def assert_clean_failure(self, status, out):
        self.assertEqual(status, 1, out)
        self.assertNotIn("Success", out)
        self.assertNotIn("Sanitizer", out)

    def test_second_instance_socket_removed(self):
        d = self.daemon()
        os.unlink(d.sock)
        status, out = self.run_fg(d.command(detach=False))
        self.assert_clean_failure(status, out)
        self.assertIn("another vswitchd is already running with rundir %s" % d.rundir, out)
        self.assertNotIn("EAL", out)            # Refused before EAL.
        self.assertTrue(d.running())

    def test_eal_failure_exit_1(self):
        prefix = unique_prefix("vstest-h1")
        self.addCleanup(remove_dpdk_leftovers, prefix)
        d = self.daemon(extra_args=["--", "--file-prefix=" + prefix])
        d2 = Daemon(extra_args=["--", "--file-prefix=" + prefix])
        self._tmpdirs.append(d2.workdir)
        os.makedirs(d2.statedir)
        status, out = self.run_fg(d2.command(detach=False))
        self.assert_clean_failure(status, out)
        self.assertIn("DPDK EAL initialisation failed", out)
        self.assertIn("vswitchd failed to start", out)
        self.assertFalse(os.path.exists(d2.sock))
        d.vsctl("version")

    def test_socket_failure_releases_all(self):
        # The control socket cannot be created after everything else came
        # up (EAL, PMD, the restored bridge and vhost port): exit 1 with the
        # cause, and the vhost socket the restored port created is gone.
        d = self.daemon(start=False)
        self.addCleanup(remove_dpdk_leftovers, eal_prefix(d.rundir))
        os.makedirs(d.statedir)
        with open(conf_path(d), "w") as f:
            json.dump({"version": 1, "bridges": [{"name": "br0", "ports": [
                {"name": "vhu0", "type": "vhost-user", "options": {}}]}]}, f)
        bad = os.path.join(d.workdir, "no-such-dir", "vswitchd.sock")
        status, out = self.run_fg(d.command(detach=False) + ["--ctl-socket", bad])
        self.assert_clean_failure(status, out)
        self.assertIn("cannot listen on %s" % bad, out)
        self.assertIn("vswitchd failed to start", out)
        self.assertFalse(os.path.exists(d.vhost_sock("vhu0")))
        # Nothing was saved over the configuration it could not serve.
        self.assertEqual([p["name"] for p in read_conf(d)["bridges"][0]["ports"]],
                         ["vhu0"])

    def test_shared_statedir_refused(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d2 = Daemon()
        self._tmpdirs.append(d2.workdir)
        self.addCleanup(remove_dpdk_leftovers, eal_prefix(d2.rundir))
        cmd = d2.command(detach=False)
        cmd[cmd.index("--statedir") + 1] = d.statedir
        status, out = self.run_fg(cmd)
        self.assert_clean_failure(status, out)
        self.assertIn("another vswitchd is already running with statedir %s"
                      % d.statedir, out)
        self.assertEqual([b["name"] for b in read_conf(d)["bridges"]], ["br0"])

    def test_unreadable_config_refused(self):
        def directory(path):
            os.mkdir(path)
            with open(os.path.join(path, "x"), "w") as f:
                f.write("keep")

        def fifo(path):
            os.mkfifo(path)

        def too_large(path):
            with open(path, "w") as f:
                f.write('{"version": 1, "bridges": []}')
                f.truncate(17 * 1024 * 1024)

        for make, reason in ((directory, "not a regular file"),
                             (fifo, "not a regular file"),
                             (too_large, "file is larger than")):
            with self.subTest(make.__name__):
                d = self.daemon(start=False)
                self.addCleanup(remove_dpdk_leftovers, eal_prefix(d.rundir))
                os.makedirs(d.statedir)
                make(conf_path(d))
                st = os.lstat(conf_path(d))
                status, out = self.run_fg(d.command(detach=False))
                self.assert_clean_failure(status, out)
                self.assertIn("cannot read the saved configuration %s: %s"
                              % (conf_path(d), reason), out)
                self.assertIn("not starting", out)
                st2 = os.lstat(conf_path(d))
                self.assertEqual((st.st_ino, st.st_mode, st.st_size),
                                 (st2.st_ino, st2.st_mode, st2.st_size))
                self.assertFalse(os.path.exists(d.sock))

    def mount_readonly(self, path):
        subprocess.run(["mount", "--bind", path, path], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", path], check=False,
                        stderr=subprocess.DEVNULL)
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True)

    def assert_refused(self, d, errno_name, strerror, *args):
        rc, out, err = d.vsctl(*args, check=False)
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn("the configuration could not be saved to %s: %s; nothing was "
                      "changed" % (conf_path(d), strerror), err)

    def test_readonly_statedir(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        conf0 = read_conf(d)
        self.mount_readonly(d.statedir)
        ro = "Read-only file system"

        self.assert_refused(d, "EROFS", ro, "add-br", "br1")
        self.assert_refused(d, "EROFS", ro, "add-port", "br0", "vhu1", "type=vhost-user")
        self.assertNotIn(d.vhost_sock("vhu1"), d.vhost_sockets())
        self.assert_refused(d, "EROFS", ro, "set-port", "vhu0", "queues=2")
        self.assert_refused(d, "EROFS", ro, "del-port", "vhu0")
        self.assert_refused(d, "EROFS", ro, "del-br", "br0")
        r = d.rpc("bridge.add", {"name": "br2"})
        self.assertEqual((r["error"]["code"], r["error"]["data"]["errno"]),
                         (-32004, "EROFS"), r)
        # A batch (saved once, at its end) is refused call by call too.
        with d.connect() as c:
            c.sendall(json.dumps([
                {"jsonrpc": "2.0", "id": i, "method": "bridge.add",
                 "params": {"name": "brb%d" % i}} for i in range(3)]).encode() + b"\n")
            got = c.recv_json()
        self.assertEqual(len(got), 3, got)
        for r in got:
            self.assertEqual((r["error"]["code"], r["error"]["data"]["errno"]),
                             (-32004, "EROFS"), got)
        # Memory = disk = as before.
        self.assertEqual([b["name"] for b in d.vsctl_json("list-br")["bridges"]], ["br0"])
        show = d.vsctl_json("port-show", "vhu0")
        self.assertEqual((show["state"], show["options"]), ("down", {}), show)
        self.assertIn(d.vhost_sock("vhu0"), d.vhost_sockets())
        self.assertEqual(read_conf(d), conf0)

        subprocess.run(["umount", d.statedir], check=True)
        d.vsctl("add-br", "br1")
        self.assertEqual([b["name"] for b in read_conf(d)["bridges"]], ["br0", "br1"])
        self.assertFalse(os.path.exists(conf_path(d) + ".tmp"))

    def test_disk_full(self):
        d = self.daemon(start=False)
        os.makedirs(d.statedir)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", d.statedir],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", d.statedir], check=False,
                        stderr=subprocess.DEVNULL)
        d.start()
        d.vsctl("add-br", "br0")
        conf0 = read_conf(d)
        filler = os.path.join(d.statedir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        r = d.rpc("bridge.add", {"name": "br1"})
        self.assertEqual(r["error"]["code"], -32004, r)     # Not -32003 (limit).
        self.assertEqual(r["error"]["data"]["errno"], "ENOSPC", r)
        self.assertIn("No space left on device; nothing was changed", r["error"]["message"])
        self.assertEqual([b["name"] for b in d.vsctl_json("list-br")["bridges"]], ["br0"])
        self.assertEqual(read_conf(d), conf0)
        os.unlink(filler)
        d.vsctl("add-br", "br1")
        self.assertEqual([b["name"] for b in read_conf(d)["bridges"]], ["br0", "br1"])

    def test_port_set_loss_is_loud(self):
        d = self.daemon()
        d.vsctl("add-br", "br0")
        tmp = tempfile.mkdtemp(prefix="vstest-h1-pcap-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, True)
        in_pcap, out_pcap = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "out.pcap")
        missing = os.path.join(tmp, "missing.pcap")
        write_pcap(in_pcap)
        devargs = "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (in_pcap, out_pcap)
        d.vsctl("add-port", "br0", "p0", "type=dpdk", "devargs=" + devargs)
        conf0 = read_conf(d)
        os.unlink(in_pcap)          # The old options cannot work any more.
        with d.connect() as c:
            c.sendall(b'{"jsonrpc":"2.0","method":"events.subscribe","id":1}\n')
            self.assertEqual(c.recv_json()["id"], 1)
            rc, out, err = d.vsctl("set-port", "p0", "devargs=net_pcap1,rx_pcap=%s"
                                   % missing, check=False)
            self.assertEqual((rc, out), (1, ""), err)
            self.assertIn("the previous configuration could not be restored either, the "
                          "port is in state error", err)
            ev = c.recv_json()
            self.assertEqual((ev["params"]["type"], ev["params"]["port"],
                              ev["params"]["bridge"]), ("port_error", "p0", "br0"), ev)
        show = d.vsctl_json("port-show", "p0")
        self.assertEqual((show["state"], show["options"]),
                         ("error", {"devargs": devargs}), show)
        self.assertIn("cannot hot-plug", show["error"])
        self.assertEqual(read_conf(d), conf0)     # Old options, kept.
        with open(d.log) as f:
            self.assertRegex(f.read(), r"\|WARN\|bridge\|port p0 is not running")
        # Once the device can work again, set-port brings it back.
        write_pcap(in_pcap)
        d.vsctl("set-port", "p0")
        self.assertEqual(d.vsctl_json("port-show", "p0")["state"], "up")

    def test_hugepage_files_removed(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        with open("/proc/sys/vm/nr_hugepages") as f:
            before = int(f.read())
        try:
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(before + 64))
        except OSError as e:
            self.skipTest("cannot reserve hugepages: %s" % e)

        def restore():
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(before))
        self.addCleanup(restore)
        with open("/proc/meminfo") as f:
            free = [int(l.split()[1]) for l in f if l.startswith("HugePages_Free")][0]
        if free < 40:
            self.skipTest("only %d free hugepages" % free)
        mnt = tempfile.mkdtemp(prefix="vstest-h1-huge-", dir="/tmp")
        self.addCleanup(os.rmdir, mnt)
        subprocess.run(["mount", "-t", "hugetlbfs", "nodev", mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", mnt], check=True)
        d = self.daemon(start=False, extra_args=["--mbufs", "4096", "--",
                                                  "--huge-dir=" + mnt])
        # Daemon.command() passes --no-huge; --huge comes later and wins.
        d.extra_args.insert(0, "--huge")
        d.start()
        with open(d.log) as f:
            self.assertRegex(f.read(), r"PMD thread\(s\), hugepages")
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        # Not even a crash leaves hugepage files behind (--huge-unlink).
        d.kill()
        self.assertEqual(os.listdir(mnt), [])
        d.start()
        self.assertEqual(d.ports()["vhu0"]["state"], "down")
        d.stop()
        self.assertEqual(os.listdir(mnt), [])
