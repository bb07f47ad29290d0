"""The Debian package (issue 10, item 6): debian/ builds with
`dpkg-buildpackage -us -uc -b` in a copy of the source tree, and the .deb
holds what an operator needs.

  test_build_and_inspect   builds the package (nocheck: the unit suites run
                           in the normal test run) in a temporary copy of the
                           tree, outside the source directory; checks
                           `dpkg-deb -c` (binaries, unit, default file, man
                           pages, completion: exactly these files),
                           `dpkg-deb -I` (Depends: shared libraries and the
                           DPDK plugins; conffile; the unit is neither
                           enabled nor started), runs the packaged binaries,
                           renders the packaged man pages and verifies the
                           packaged unit with systemd-analyze; then, when no
                           vswitch package is installed on this machine,
                           installs the .deb with apt-get and purges it
                           again (nothing is left; never done over an
                           installed vswitch)

About 15-60 s, most of it the compile.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from vstest import REPO

TIMEOUT = 900

FILES = {
    "./etc/default/vswitch",
    "./etc/logrotate.d/vswitch",
    "./lib/systemd/system/vswitchd.service",
    "./usr/bin/vsctl",
    "./usr/sbin/vswitchd",
    "./usr/share/bash-completion/completions/vsctl",
    "./usr/share/doc/vswitch/changelog.gz",
    "./usr/share/doc/vswitch/copyright",
    "./usr/share/man/man8/vsctl.8.gz",
    "./usr/share/man/man8/vswitchd.8.gz",
}
PLUGINS = ["librte-mempool-ring23", "librte-bus-vdev23", "librte-bus-pci23",
           "librte-net-tap23", "librte-net-virtio23"]


def run(cmd, **kw):
    kw.setdefault("timeout", TIMEOUT)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, "%s exited %d\n%s%s" % (" ".join(cmd), r.returncode,
                                                     r.stdout[-3000:], r.stderr[-3000:])
    return r.stdout


def copy_tree(dst):
    """The source tree as git sees it (tracked and untracked, not ignored:
    no build directories), copied to 'dst'."""
    files = run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z"])
    for rel in filter(None, files.split("\0")):
        src = os.path.join(REPO, rel)
        if not os.path.lexists(src):
            continue                    # Deleted, not yet committed.
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel), follow_symlinks=False)


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "installed" in r.stdout.split()[-1:]


class PackagingTest(unittest.TestCase):

    def setUp(self):
        for tool in ("dpkg-buildpackage", "dh", "fakeroot", "dpkg-deb"):
            if not shutil.which(tool):
                self.fail("%s not found: run utilities/install-deps.sh" % tool)
        self.tmp = tempfile.mkdtemp(prefix="vstest-pkg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_build_and_inspect(self):
        src = os.path.join(self.tmp, "vswitch")
        copy_tree(src)
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%d" % os.cpu_count())
        env.pop("MAKEFLAGS", None)
        run(["dpkg-buildpackage", "-us", "-uc", "-b", "-Pnocheck"], cwd=src, env=env)
        debs = glob.glob(os.path.join(self.tmp, "vswitch_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(self.tmp))
        deb = debs[0]

        listing = run(["dpkg-deb", "-c", deb])
        files = {ln.split()[-1] for ln in listing.splitlines() if not ln.startswith("d")}
        self.assertEqual(files, FILES)
        self.assertRegex(listing, r"-rwxr-xr-x root/root +\d+ \S+ \S+ \./usr/sbin/vswitchd")

        info = run(["dpkg-deb", "-I", deb])
        depends = run(["dpkg-deb", "-f", deb, "Depends"])
        for lib in ["libevent-2.1-7", "libjson-c5", "librte-eal23", "librte-vhost23",
                    "librte-ethdev23"] + PLUGINS:
            self.assertRegex(depends, r"(^|, )%s( |,|$)" % lib)
        ctl = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/default/vswitch",
                                                "/etc/logrotate.d/vswitch"])
        with open(os.path.join(ctl, "postinst")) as f:
            postinst = f.read()
        self.assertNotIn("deb-systemd-invoke", postinst)      # --no-start
        # --no-enable: it only re-enables a unit the administrator enabled
        # (on upgrades); a fresh install enables nothing.
        self.assertIn("if deb-systemd-helper debian-installed 'vswitchd.service'; then",
                      postinst)
        self.assertIn("Package: vswitch", info)

        # What is inside works.
        root = os.path.join(self.tmp, "root")
        run(["dpkg-deb", "-x", deb, root])
        out = run([root + "/usr/sbin/vswitchd", "--version"])
        self.assertRegex(out, r"^vswitchd \d+\.\d+\.\d+ \(DPDK 22\.11")
        self.assertRegex(run([root + "/usr/bin/vsctl", "--version"]), r"^vsctl \d")
        for page in ("vswitchd", "vsctl"):
            out = run(["man", "-l", "%s/usr/share/man/man8/%s.8.gz" % (root, page)],
                      env=dict(os.environ, MANWIDTH="80", PAGER="cat"))
            self.assertIn(page.upper() + "(8)", out)
        unit = root + "/lib/systemd/system/vswitchd.service"
        with open(unit) as f:
            text = f.read()
        check = os.path.join(self.tmp, "vswitchd.service")
        with open(check, "w") as f:
            f.write(text.replace("/usr/sbin/vswitchd", root + "/usr/sbin/vswitchd"))
        r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True,
                           text=True, timeout=60,
                           env=dict(os.environ, MANPATH=root + "/usr/share/man"))
        self.assertEqual((r.returncode, r.stderr), (0, ""))

        if installed("vswitch"):
            return                      # Never replace an installed vswitch.
        if os.geteuid() != 0:
            return
        apt = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]
        penv = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        self.addCleanup(subprocess.run, apt + ["purge", "vswitch"], capture_output=True,
                        env=penv, timeout=TIMEOUT)
        run(apt + ["install", "--no-install-recommends", deb], env=penv)
        self.assertTrue(installed("vswitch"))
        self.assertRegex(run(["/usr/sbin/vswitchd", "--version"]), r"^vswitchd \d")
        self.assertEqual(run(["man", "-w", "vsctl"]).strip(),
                         "/usr/share/man/man8/vsctl.8.gz")
        run(apt + ["purge", "vswitch"], env=penv)
        self.assertFalse(installed("vswitch"))
        for f in FILES:
            self.assertFalse(os.path.exists(f[1:]), f)


if __name__ == "__main__":
    unittest.main()
