"""Bash completion for vsctl (utilities/completion/vsctl.bash, issue 10,
item 5): the script is sourced into a real bash, _vsctl is called with
COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD set as bash sets them, and
COMPREPLY is compared with what a running vswitchd has.

  test_commands_and_options   commands (all of `vsctl list-commands`),
                              global options and their values
  test_bridges_and_ports      bridge and port names from the daemon, found
                              through --socket or $VSWITCH_RUNDIR; port
                              types and key= options; capture options;
                              JSON-RPC methods for `call`
  test_no_daemon_is_quiet     no daemon: no names, nothing on stderr, fast
"""

import os
import re
import subprocess
import time

from vstest import REPO, VsTestCase, add_bridge, builddir

SCRIPT = os.path.join(REPO, "utilities", "completion", "vsctl.bash")
WORDBREAKS = " \t\n\"'><=;|&(:"         # bash's default COMP_WORDBREAKS


def bash_words(line):
    """COMP_WORDS/COMP_CWORD as bash splits 'line' (default word breaks)."""
    words = re.findall(r"[^\s=:]+|[=:]+", line)
    if line.endswith((" ", "=", ":")) or not words:
        words.append("")
    return words, len(words) - 1


def complete(line, env=None):
    """COMPREPLY (list) and stderr for the cursor at the end of 'line'."""
    words, cword = bash_words(line)
    script = ('source "$1"; COMP_WORDBREAKS=$2; COMP_LINE=$3; COMP_POINT=${#3}; '
              'shift 3; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              '_vsctl; printf "%s\\n" "${COMPREPLY[@]}"')
    e = dict(os.environ, PATH=builddir() + ":" + os.environ["PATH"])
    e.pop("VSWITCH_RUNDIR", None)
    e.update(env or {})
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", SCRIPT,
                        WORDBREAKS, line] + words, capture_output=True, text=True,
                       timeout=30, env=e)
    assert r.returncode == 0, r.stderr
    assert cword == len(words) - 1
    return sorted(w for w in r.stdout.split("\n") if w), r.stderr


class CompletionTest(VsTestCase):

    def test_commands_and_options(self):
        out = subprocess.run([os.path.join(builddir(), "vsctl"), "list-commands"],
                             capture_output=True, text=True, check=True).stdout
        commands = sorted(ln.split()[0] for ln in out.splitlines())
        self.assertEqual(complete("vsctl ")[0], commands)
        self.assertEqual(complete("vsctl add-")[0], ["add-br", "add-port"])
        self.assertEqual(complete("vsctl pmd-rxq-")[0],
                         ["pmd-rxq-rebalance", "pmd-rxq-show"])
        self.assertEqual(complete("vsctl --")[0], ["--format", "--help", "--socket",
                                                   "--timeout", "--version"])
        self.assertEqual(complete("vsctl --format ")[0], ["json", "table"])
        self.assertEqual(complete("vsctl --format j")[0], ["json"])
        # After an option and its value, commands again.
        self.assertEqual(complete("vsctl --timeout 3 --format json list-")[0],
                         ["list-br", "list-commands", "list-ports"])

    def test_bridges_and_ports(self):
        d = self.daemon()
        add_bridge(d, ports=("vhu0", "vhu1"), bridge="br0")
        d.vsctl("add-br", "br1")
        sock = "--socket " + d.sock
        self.assertEqual(complete("vsctl %s del-br " % sock)[0], ["br0", "br1"])
        self.assertEqual(complete("vsctl %s fdb-show br1" % sock)[0], ["br1"])
        self.assertEqual(complete("vsctl %s del-port " % sock)[0], ["vhu0", "vhu1"])
        self.assertEqual(complete("vsctl %s port-stats vhu1" % sock)[0], ["vhu1"])
        self.assertEqual(complete("vsctl --socket=%s set-port " % d.sock)[0],
                         ["vhu0", "vhu1"])
        # The default socket of $VSWITCH_RUNDIR, as vsctl itself finds it.
        env = {"VSWITCH_RUNDIR": d.rundir}
        self.assertEqual(complete("vsctl list-ports ", env)[0], ["br0", "br1"])
        self.assertEqual(complete("vsctl capture v", env)[0], ["vhu0", "vhu1"])
        self.assertEqual(complete("vsctl add-port ", env)[0], ["br0", "br1"])
        # A new port's name is the user's; then its type and options.
        self.assertEqual(complete("vsctl add-port br0 ", env)[0], [])
        self.assertEqual(complete("vsctl add-port br0 p9 type=vh", env)[0],
                         ["vhost-user", "vhost-user-client"])
        self.assertEqual(complete("vsctl add-port br0 p9 type=dpdk dev", env)[0],
                         ["devargs="])
        self.assertEqual(complete("vsctl set-port vhu0 tx-", env)[0], ["tx-retries="])
        self.assertEqual(complete("vsctl add-br br2 mac-", env)[0],
                         ["mac-aging-time=", "mac-table-size="])
        self.assertEqual(complete("vsctl capture vhu0 --direction ", env)[0],
                         ["both", "rx", "tx"])
        self.assertEqual(complete("vsctl capture vhu0 --", env)[0],
                         ["--count", "--direction", "--snaplen"])
        methods = complete("vsctl call bridge.", env)[0]
        self.assertEqual(methods, ["bridge.add", "bridge.del", "bridge.list"])
        self.assertIn("system.list_methods", complete("vsctl call sys", env)[0])

    def test_no_daemon_is_quiet(self):
        t0 = time.monotonic()
        reply, err = complete("vsctl --socket /nonexistent/vswitchd.sock del-port ")
        self.assertEqual((reply, err), ([], ""))
        reply, err = complete("vsctl --socket /nonexistent/vswitchd.sock del-br b")
        self.assertEqual((reply, err), ([], ""))
        # Commands need no daemon.
        self.assertIn("show", complete("vsctl --socket /nonexistent/x.sock ")[0])
        self.assertLess(time.monotonic() - t0, 20)
