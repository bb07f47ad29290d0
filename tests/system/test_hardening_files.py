"""Sockets and files: what a local user with write access to a directory
vswitchd uses could do to it (issue 7, section 2; Documentation/security.md).

Each test failed on the switch before the fix it is named after.

  test_ctl_socket_swapped_after_bind   the control socket replaced by a symlink
                                       right after bind() (an LD_PRELOAD shim
                                       does the swap): nothing is chmod()ed
                                       through it, the daemon refuses to start
  test_vhost_socket_swapped_after_bind the same for a vhost-user server socket
                                       (with --vhost-sock-group): the victim
                                       keeps its mode and group, port refused
  test_ctl_socket_group                --ctl-socket-group: socket 0660 in that
                                       group; a member (nobody:nogroup) can run
                                       vsctl, and cannot without the option
  test_client_symlink_refused          vhost-user-client path= a symlink to a
                                       socket elsewhere: refused, never connected
  test_client_reconnect_through_symlink_dropped
                                       the frontend's socket swapped for such a
                                       symlink while connected: the reconnection
                                       through it is dropped at once
  test_live_sockets_not_removed        a vhost port named after the live control
                                       socket (--vhost-sock-dir = rundir), and a
                                       stale socket of another user: not removed,
                                       port refused; a stale socket of ours is
  test_foreign_stale_ctl_socket        the same for the control socket at start
  test_vhost_dir_rechecked             a vhost dir made writable by others after
                                       start: new ports refused
  test_ctl_socket_and_pidfile_dirs     --ctl-socket/--pidfile in a directory
                                       others can write (no sticky bit): refused
  test_temp_files_no_symlink           planted <pidfile>.tmp and conf.json.tmp
                                       symlinks: their targets are never written
  test_pidfile_lock                    a pidfile locked by another process:
                                       refused (exit 1); a stale one: replaced
  test_directory_checks                rundir/statedir writable by others, or
                                       owned by another user, are refused; a
                                       sticky world-writable vhost dir is fine;
                                       a statedir we create is 0750
"""

import fcntl
import grp
import os
import pwd
import re
import socket
import stat
import subprocess
import tempfile

from vstest import VsTestCase, remove_dpdk_leftovers, wait_until

SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* What a local attacker with write access to the socket's directory can
 * do between bind() and a chmod()/chown() by path: move the socket aside
 * and put a symlink to a file of their choice in its place. */
int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real) {
        real = (int (*)(int, const struct sockaddr *, socklen_t))
               dlsym(RTLD_NEXT, "bind");
    }
    int rc = real(fd, sa, len);
    const char *want = getenv("HARDEN_SWAP_PATH");
    const char *target = getenv("HARDEN_SWAP_TARGET");
    if (!rc && want && target && sa->sa_family == AF_UNIX
        && !strcmp(((const struct sockaddr_un *) sa)->sun_path, want)) {
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.aside", want);
        if (rename(want, aside) || symlink(target, want)) {
            perror("harden shim");
        }
    }
    return rc;
}
"""

NOBODY = "nobody"
NOGROUP = "nogroup"


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def eal_prefix(rundir):
    """vswitchd's EAL --file-prefix for 'rundir' (options_rundir_hash())."""
    h = 2166136261
    for b in rundir.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return "vswitchd-%08x" % h


class HardeningFilesTest(VsTestCase):

    def tmpdir(self, mode_=0o700):
        d = tempfile.mkdtemp(prefix="vstest-h2-", dir="/tmp")
        os.chmod(d, mode_)
        self._tmpdirs.append(d)
        return d

    def shim(self):
        d = self.tmpdir()
        src = os.path.join(d, "shim.c")
        so = os.path.join(d, "shim.so")
        with open(src, "w") as f:
            f.write(SHIM_C)
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"],
                       check=True)
        return so

    def preload(self, d, so):
        """LD_PRELOAD for 'so' in daemon 'd': after libasan if vswitchd is
        an ASan build (ASan must come first in the library list)."""
        out = subprocess.run(["ldd", d.vswitchd_bin], capture_output=True,
                             text=True).stdout
        m = re.search(r"libasan\.so\S* => (\S+)", out)
        return "%s:%s" % (m.group(1), so) if m else so

    def victim(self, d, text="precious\n", mode_=0o600):
        v = os.path.join(d, "victim")
        with open(v, "w") as f:
            f.write(text)
        os.chmod(v, mode_)
        return v

    def start_fails(self, d, expect):
        """Starts 'd' and expects it to exit 1 with 'expect' in its log."""
        try:
            with self.assertRaises(AssertionError) as cm:
                d.start(timeout=15)
        finally:
            # A start that failed after EAL came up leaves its runtime dir.
            remove_dpdk_leftovers(eal_prefix(d.rundir))
        self.assertIn("exited 1", str(cm.exception))
        with open(d.log, errors="replace") as f:
            self.assertIn(expect, f.read())

    # -- 1. modes set through descriptors, never by a swappable path ----------

    def test_ctl_socket_swapped_after_bind(self):
        shim = self.shim()
        d = self.daemon(start=False)
        v = self.victim(self.tmpdir())
        d.env = {"LD_PRELOAD": self.preload(d, shim), "HARDEN_SWAP_PATH": d.sock,
                 "HARDEN_SWAP_TARGET": v}
        self.start_fails(d, "replaced by something else after bind()")
        self.assertEqual(mode(v), 0o600, "victim chmod()ed through the symlink")
        with open(v) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_vhost_socket_swapped_after_bind(self):
        shim = self.shim()
        d = self.daemon(start=False, extra_args=["--vhost-sock-group", NOGROUP])
        v = self.victim(self.tmpdir())
        st0 = os.stat(v)
        d.env = {"LD_PRELOAD": self.preload(d, shim),
                 "HARDEN_SWAP_PATH": d.vhost_sock("vhu0"),
                 "HARDEN_SWAP_TARGET": v}

        def remove_shim_leftovers():
            # Its symlink (if the failed port's unregister did not remove
            # it) and the socket it moved aside; before the daemon's stop
            # checks that no socket is left behind.
            for f in (d.vhost_sock("vhu0"), d.vhost_sock("vhu0") + ".aside"):
                if os.path.lexists(f):
                    os.unlink(f)
        self.addCleanup(remove_shim_leftovers)
        d.start()
        d.vsctl("add-br", "br0")
        rc, _, err = d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", check=False)
        st = os.stat(v)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "victim chmod()ed")
        self.assertEqual(st.st_gid, st0.st_gid, "victim chown()ed to the vhost group")
        self.assertEqual(rc, 1, err)
        self.assertIn("was replaced after bind()", err)
        self.assertNotIn("vhu0", d.ports())
        # The next port is created normally: 0660, group nogroup.
        d.vsctl("add-port", "br0", "vhu1", "type=vhost-user")
        st = os.lstat(d.vhost_sock("vhu1"))
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, grp.getgrnam(NOGROUP).gr_gid)

    # -- 5. --ctl-socket-group ------------------------------------------------

    def run_as_nobody(self, d, sock):
        return subprocess.run(
            ["setpriv", "--reuid", NOBODY, "--regid", NOGROUP, "--clear-groups",
             d.vsctl_bin, "--socket", sock, "--timeout", "10", "list-br"],
            capture_output=True, text=True, timeout=30)

    def test_ctl_socket_group(self):
        pub = self.tmpdir(0o755)            # nobody may search it.
        sock = os.path.join(pub, "ctl.sock")
        d = self.daemon(start=False, extra_args=["--ctl-socket", sock,
                                                 "--ctl-socket-group", NOGROUP])
        d.sock = sock
        d.start()
        st = os.lstat(sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_gid, grp.getgrnam(NOGROUP).gr_gid)
        d.vsctl("add-br", "br0")
        r = self.run_as_nobody(d, sock)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("br0", r.stdout)
        d.stop()
        # Without the option only root (and root's group) can connect.
        d.extra_args = ["--ctl-socket", sock]
        d.start()
        st = os.lstat(sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, 0)
        r = self.run_as_nobody(d, sock)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    # -- 3. client symlinks, removal of sockets that are not stale ones of ours

    def test_client_symlink_refused(self):
        d = self.daemon()
        elsewhere = os.path.join(self.tmpdir(), "private.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(srv.close)
        srv.bind(elsewhere)
        srv.listen(4)
        srv.settimeout(3)
        link = d.vhost_sock("vhuc")
        os.symlink(elsewhere, link)
        d.vsctl("add-br", "br0")
        rc, _, err = d.vsctl("add-port", "br0", "vhuc", "type=vhost-user-client",
                             "path=" + link, check=False)
        try:
            conn, _ = srv.accept()
            conn.close()
            connected = True
        except socket.timeout:
            connected = False
        self.assertFalse(connected, "vswitchd connected through the symlink")
        self.assertEqual(rc, 1, err)
        self.assertIn("is a symlink", err)
        self.assertNotIn("vhuc", d.ports())
        self.assertTrue(os.path.islink(link))
        os.unlink(link)

    def test_client_reconnect_through_symlink_dropped(self):
        """The frontend's socket is swapped for a symlink while the port is
        connected; librte_vhost reconnects by path, through the symlink:
        the connection is dropped before anything is exchanged."""
        d = self.daemon()
        inside = d.vhost_sock("vhuc")
        front = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(front.close)
        front.bind(inside)
        front.listen(4)
        front.settimeout(10)
        elsewhere = os.path.join(self.tmpdir(), "private.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(srv.close)
        srv.bind(elsewhere)
        srv.listen(4)
        srv.settimeout(10)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhuc", "type=vhost-user-client", "path=" + inside)
        conn, _ = front.accept()            # vswitchd connected to the frontend.
        os.rename(inside, inside + ".aside")
        self.addCleanup(lambda: os.path.lexists(inside + ".aside")
                        and os.unlink(inside + ".aside"))
        os.symlink(elsewhere, inside)
        self.addCleanup(lambda: os.path.lexists(inside) and os.unlink(inside))
        conn.close()                        # vswitchd reconnects, by path.
        c2, _ = srv.accept()
        c2.settimeout(5)
        try:
            data = c2.recv(4096)
        except socket.timeout:
            data = None
        finally:
            c2.close()
        self.assertEqual(data, b"", "the connection through the symlink was kept")
        wait_until(lambda: "refusing vhost-user connection" in open(d.log).read(), 10,
                   "the refusal in the log")
        self.assertEqual(d.vsctl("version", check=False)[0], 0)

    def test_live_sockets_not_removed(self):
        d = self.daemon(start=False)
        d.extra_args = ["--vhost-sock-dir", d.rundir]
        d.vhostdir = d.rundir
        d.start()
        d.vsctl("add-br", "br0")
        rc, _, err = d.vsctl("add-port", "br0", "vswitchd.sock", "type=vhost-user",
                             check=False)
        self.assertTrue(os.path.exists(d.sock), "control socket removed")
        self.assertEqual(d.vsctl("version", check=False)[0], 0,
                         "control socket no longer answers")
        self.assertEqual(rc, 1, err)
        self.assertIn("in use", err)
        # A stale (nobody listening) socket of another user: not ours to remove.
        theirs = os.path.join(d.rundir, "theirs")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(theirs)
        s.close()
        nobody = pwd.getpwnam(NOBODY)
        os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
        rc, _, err = d.vsctl("add-port", "br0", "theirs", "type=vhost-user",
                             check=False)
        self.assertTrue(os.path.exists(theirs), "another user's socket removed")
        self.assertEqual(rc, 1, err)
        self.assertIn("not ours", err)
        os.unlink(theirs)
        # A stale socket of ours (a crashed vswitchd's) is replaced.
        ours = os.path.join(d.rundir, "ours")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(ours)
        s.close()
        d.vsctl("add-port", "br0", "ours", "type=vhost-user")
        self.assertEqual(mode(ours), 0o660)

    def test_foreign_stale_ctl_socket(self):
        """A dead socket of another user where the control socket goes is not
        ours to remove: the start is refused and the socket left alone."""
        d = self.daemon(start=False)
        os.makedirs(d.rundir)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(d.sock)
        s.close()
        nobody = pwd.getpwnam(NOBODY)
        os.chown(d.sock, nobody.pw_uid, nobody.pw_gid)
        self.start_fails(d, "a socket of uid %d, not ours: not removing it"
                         % nobody.pw_uid)
        st = os.lstat(d.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(st.st_uid, nobody.pw_uid)
        os.unlink(d.sock)
        d.start()                           # Our own stale one is replaced.

    def test_ctl_socket_and_pidfile_dirs(self):
        """--ctl-socket and --pidfile outside the rundir: their directories
        must not let others rename our entries (sticky is fine)."""
        open_dir = self.tmpdir(0o777)
        d = self.daemon(start=False)
        d.extra_args = ["--ctl-socket", os.path.join(open_dir, "ctl.sock")]
        self.start_fails(d, "refusing --ctl-socket %s/ctl.sock: %s is writable by "
                         "others (mode 0777) and has no sticky bit" % (open_dir, open_dir))
        d.extra_args = ["--pidfile", os.path.join(open_dir, "vs.pid")]
        self.start_fails(d, "refusing --pidfile %s/vs.pid: %s is writable by others"
                         % (open_dir, open_dir))
        self.assertEqual(os.listdir(open_dir), [])
        os.chmod(open_dir, 0o1777)
        d.sock = os.path.join(open_dir, "ctl.sock")
        d.pidfile = os.path.join(open_dir, "vs.pid")
        d.extra_args = ["--ctl-socket", d.sock]
        d.start()
        self.assertEqual(mode(d.sock), 0o660)
        with open(d.pidfile) as f:
            self.assertEqual(int(f.read()), d.pid)

    def test_vhost_dir_rechecked(self):
        """The vhost dir made writable by others after start: new ports are
        refused until it is safe again."""
        d = self.daemon()
        d.vsctl("add-br", "br0")
        os.chmod(d.vhostdir, 0o777)
        rc, _, err = d.vsctl("add-port", "br0", "vhu0", "type=vhost-user", check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("unsafe vhost socket directory: %s is writable by others"
                      % d.vhostdir, err)
        self.assertFalse(os.path.lexists(d.vhost_sock("vhu0")))
        os.chmod(d.vhostdir, 0o755)
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")

    # -- 4. temp files and the pidfile ----------------------------------------

    def test_temp_files_no_symlink(self):
        d = self.daemon(start=False)
        os.makedirs(d.rundir)
        os.makedirs(d.statedir)
        vdir = self.tmpdir()
        v1 = self.victim(vdir, "pid victim\n")
        v2 = os.path.join(vdir, "victim2")
        with open(v2, "w") as f:
            f.write("conf victim\n")
        os.symlink(v1, d.pidfile + ".tmp")
        os.symlink(v2, os.path.join(d.statedir, "conf.json.tmp"))
        d.start()
        d.vsctl("add-br", "br0")
        with open(v1) as f:
            self.assertEqual(f.read(), "pid victim\n", "pidfile written through a symlink")
        with open(v2) as f:
            self.assertEqual(f.read(), "conf victim\n", "conf.json written through a symlink")
        with open(d.pidfile) as f:
            self.assertEqual(int(f.read()), d.pid)
        with open(os.path.join(d.statedir, "conf.json")) as f:
            self.assertIn("br0", f.read())
        self.assertFalse(os.path.islink(d.pidfile))
        self.assertEqual(mode(d.pidfile), 0o644)
        self.assertEqual(mode(os.path.join(d.statedir, "conf.json")), 0o644)
        os.unlink(d.pidfile + ".tmp")

    def test_pidfile_lock(self):
        d = self.daemon(start=False)
        os.makedirs(d.rundir)
        # Another process holds the lock: a running instance. Refused.
        fd = os.open(d.pidfile, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"%d\n" % os.getpid())
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.start_fails(d, "is locked by a running vswitchd (pid %d)" % os.getpid())
            with open(d.pidfile) as f:
                self.assertEqual(f.read(), "%d\n" % os.getpid())
        finally:
            os.close(fd)
        # Nobody holds it: stale, replaced; and our daemon holds the lock.
        d.start()
        with open(d.pidfile) as f:
            self.assertEqual(int(f.read()), d.pid)
        with open(d.pidfile) as f:
            with self.assertRaises(BlockingIOError):
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        with open(d.log, errors="replace") as f:
            self.assertIn("replacing a stale pidfile", f.read())

    # -- 2. directories ---------------------------------------------------------

    def test_directory_checks(self):
        d = self.daemon(start=False)
        os.makedirs(d.rundir)
        os.chmod(d.rundir, 0o777)
        self.start_fails(d, "refusing --rundir %s: %s is writable by others"
                         % (d.rundir, d.rundir))
        os.chmod(d.rundir, 0o755)
        nobody = pwd.getpwnam(NOBODY)
        os.makedirs(d.statedir, exist_ok=True)
        os.chown(d.statedir, nobody.pw_uid, nobody.pw_gid)
        self.start_fails(d, "refusing --statedir %s: %s is owned by uid %d"
                         % (d.statedir, d.statedir, nobody.pw_uid))
        os.rmdir(d.statedir)
        os.makedirs(d.vhostdir, exist_ok=True)
        os.chmod(d.vhostdir, 0o777)
        self.start_fails(d, "refusing --vhost-sock-dir %s: %s is writable by others "
                         "(mode 0777) and has no sticky bit" % (d.vhostdir, d.vhostdir))
        # Sticky and world-writable (e.g. for client-mode frontends): fine.
        os.chmod(d.vhostdir, 0o1777)
        newstate = os.path.join(d.workdir, "new", "state")
        d.extra_args = ["--statedir", newstate]
        old_umask = os.umask(0)
        try:
            d.start()
        finally:
            os.umask(old_umask)
        self.assertEqual(mode(newstate), 0o750)
        self.assertEqual(mode(os.path.dirname(newstate)), 0o755)
        d.vsctl("add-br", "br0")
        d.vsctl("add-port", "br0", "vhu0", "type=vhost-user")
        # Born 0660 even though vswitchd's umask is 0 here.
        self.assertEqual(mode(d.vhost_sock("vhu0")), 0o660)
        self.assertEqual(mode(d.sock), 0o660)
