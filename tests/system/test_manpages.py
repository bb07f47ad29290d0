"""The man pages vswitchd(8) and vsctl(8) (Documentation/man/) against the
binaries (issue 10, item 5).

  test_pages_render          `man -l` renders both pages without a warning
  test_vsctl_commands        every command `vsctl list-commands` prints has
                             its own entry in vsctl(8), with the same usage
  test_vsctl_options         every option of `vsctl --help` is in vsctl(8)
  test_vswitchd_options      every option of `vswitchd --help` is in
                             vswitchd(8)'s OPTIONS

The pages may document more than a binary prints (a command or an option
whose code lands in another branch, per DESIGN.md §5 and §7), never less.
"""

import json
import os
import re
import shutil
import subprocess
import unittest

from vstest import REPO, builddir

MAN = os.path.join(REPO, "Documentation", "man")


def render(page):
    """(text, warnings) of 'page' rendered by man -l, 200 columns, ASCII."""
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(MAN, page)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="200", LC_ALL="C.UTF-8",
                                MAN_KEEP_FORMATTING="", PAGER="cat"))
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


def section(text, name):
    """The lines of section 'name' (an unindented heading) of a page."""
    m = re.search(r"(?ms)^%s\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)" % re.escape(name), text)
    assert m, "no %s section" % name
    return m.group(1)


def help_options(binary):
    """The long and short options of `binary --help` (its OPTIONS part)."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                         timeout=60).stdout
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])",
                          out.split("Commands:")[0]))
    assert opts, out
    return opts


class ManPageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which("man"):
            raise AssertionError("man not found (Debian packages man-db, groff-base)")

    def test_pages_render(self):
        for page, name in (("vswitchd.8", "VSWITCHD"), ("vsctl.8", "VSCTL")):
            text, warnings = render(page)
            self.assertEqual(warnings, "", page)
            self.assertTrue(text.startswith(name + "(8)"), text[:100])
            for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
                        "SEE ALSO"):
                self.assertRegex(text, r"(?m)^%s$" % sec, page)

    def test_vsctl_commands(self):
        out = subprocess.run([os.path.join(builddir(), "vsctl"), "--format", "json",
                              "list-commands"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        commands = json.loads(out)["commands"]
        self.assertGreaterEqual(len(commands), 20)
        text = section(render("vsctl.8")[0], "COMMANDS")
        # Each entry starts a line, indented like a .TP tag (a short tag has
        # its text on the same line, after two or more blanks).
        entries = {re.split(r"\s{2,}", ln.strip())[0] for ln in text.splitlines()
                   if re.match(r"^ {7}\S", ln)}
        for c in commands:
            usage = ("%s %s" % (c["name"], c["usage"])).strip() \
                if not c["usage"].startswith(c["name"]) else c["usage"]
            self.assertIn(usage, entries, "vsctl(8) has no entry \"%s\"; entries: %s"
                          % (usage, sorted(entries)))

    def test_vsctl_options(self):
        text = section(render("vsctl.8")[0], "OPTIONS")
        for opt in help_options(os.path.join(builddir(), "vsctl")):
            self.assertRegex(text, r"(?m)^ {7}.*(?<![\w-])%s(?![\w-])" % re.escape(opt),
                             "vsctl(8) does not document %s" % opt)

    def test_vswitchd_options(self):
        text = section(render("vswitchd.8")[0], "OPTIONS")
        opts = help_options(os.path.join(builddir(), "vswitchd"))
        self.assertIn("--log-file", opts)
        for opt in opts:
            self.assertRegex(text, r"(?m)^ {7}.*(?<![\w-])%s(?![\w-])" % re.escape(opt),
                             "vswitchd(8) does not document %s" % opt)


if __name__ == "__main__":
    unittest.main()
