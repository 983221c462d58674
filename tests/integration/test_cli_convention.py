#!/usr/bin/env python3
"""The one command-line convention of every recheck subcommand, checked from a table:
an unknown or malformed option is one stderr line "recheck CMD: ... (see recheck CMD --help)" and exit 2;
every error line starts with "recheck CMD:"; a short option means the same in every subcommand; a
duration without a unit is refused with a hint."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

COMMANDS = ("record", "from-pcap", "flows", "replay", "export", "import", "show", "lint")
RECIPE = os.path.join(harness.SAMPLES, "socks5-generate-204.yaml")
PROXY = ("-x", "socks5://127.0.0.1:1", "--url", "http://a/")

# Usage errors: (command, arguments, words the one line must hold). Every command gets an unknown long
# option, an unknown short option, an option missing its value and a missing or extra operand; those
# that take values get a malformed one; those that take durations get a bare number.
USAGE = [
    ("record", ("--bogus",), "unknown option '--bogus'"),
    ("record", ("-Z",), "unknown option '-Z'"),
    ("record", ("--help=x",), "option '--help' takes no value"),
    ("record", PROXY + ("--output",), "option '--output' needs a value"),
    ("record", PROXY + ("-o",), "option '-o' needs a value"),
    ("record", PROXY + ("--format", "xml"), "--format"),
    ("record", PROXY + ("--timeout", "5"), "a duration needs a unit: 5s or 5ms"),
    ("record", PROXY + ("-t", "soon"), "--timeout"),
    ("record", (), "--proxy is required"),
    ("record", ("--passive",), "--passive needs --server"),
    ("record", ("--passive", "--server", "127.0.0.1:1", "--timeout", "5"), "a duration needs a unit"),
    ("record", ("--passive", "--server", "nowhere"), "--server nowhere"),
    ("from-pcap", ("--bogus", "x.pcap"), "unknown option '--bogus'"),
    ("from-pcap", ("-Z", "x.pcap"), "unknown option '-Z'"),
    ("from-pcap", ("x.pcap", "--stream"), "option '--stream' needs a value"),
    ("from-pcap", ("x.pcap", "--stream", "zero"), "--stream zero"),
    ("from-pcap", ("x.pcap", "-f", "xml"), "--format xml"),
    ("from-pcap", ("x.pcap", "--server", "nowhere"), "--server"),
    ("from-pcap", (), "expected one capture file"),
    ("flows", ("--bogus", "x.pcap"), "unknown option '--bogus'"),
    ("flows", ("-Z", "x.pcap"), "unknown option '-Z'"),
    ("flows", (), "expected one capture file"),
    ("replay", (RECIPE, "--bogus"), "unknown option '--bogus'"),
    ("replay", (RECIPE, "-Z"), "unknown option '-Z'"),
    ("replay", (RECIPE, "--server"), "option '--server' needs a value"),
    ("replay", (RECIPE, "-s", "127.0.0.1:1", "--timeout", "5"), "a duration needs a unit: 5s or 5ms"),
    ("replay", (RECIPE, "-s", "127.0.0.1:1", "-t", "soon"), "--timeout"),
    ("replay", (RECIPE, "-s", "127.0.0.1:1", "-t", "0s"), "more than 0"),
    ("replay", (RECIPE, "-s", "127.0.0.1:1", "--count", "x"), "--count"),
    ("replay", (RECIPE, "-s", "no-port"), "--server"),
    ("replay", (RECIPE,), "missing --server"),
    ("replay", (), "missing RECIPE"),
    ("export", (RECIPE, "--bogus"), "unknown option '--bogus'"),
    ("export", (RECIPE, "-Z"), "unknown option '-Z'"),
    ("export", (RECIPE, "--format"), "option '--format' needs a value"),
    ("export", (RECIPE, "-f", "xml"), "--format"),
    ("export", (RECIPE, "--listen", "l", "--bind", ":1", "--server", "s=127.0.0.1:1", "--inter", "2"),
     "a duration needs a unit: 2s or 2ms"),
    ("export", (RECIPE, "--listen", "l", "--bind", ":1", "--server", "s=127.0.0.1:1", "--timeout", "2"),
     "a duration needs a unit"),
    ("export", (RECIPE, "--listen", "l", "--bind", ":1", "--server", "bad"), "--server"),
    ("export", (RECIPE, "--listen", "l", "--bind", ":1", "--server", "s=127.0.0.1:1", "--rise", "0"), "--rise"),
    ("export", (), "expects a recipe file"),
    ("import", ("x.cfg", "--bogus"), "unknown option '--bogus'"),
    ("import", ("x.cfg", "-Z"), "unknown option '-Z'"),
    ("import", ("x.cfg", "--section"), "option '--section' needs a value"),
    ("import", ("x.cfg", "-f", "xml"), "--format"),
    ("import", (), "expects an HAProxy configuration file"),
    ("show", (RECIPE, "--bogus"), "unknown option '--bogus'"),
    ("show", (RECIPE, "-Z"), "unknown option '-Z'"),
    ("show", ("--show-secrets=yes", RECIPE), "option '--show-secrets' takes no value"),
    ("show", (), "expected one recipe file"),
    ("lint", (RECIPE, "--bogus"), "unknown option '--bogus'"),
    ("lint", (RECIPE, "-Z"), "unknown option '-Z'"),
    ("lint", (RECIPE, "-qZ"), "unknown option '-Z'"),
    ("lint", (), "no recipe given"),
]

# Other errors, some of several lines: every line still starts with "recheck CMD:".
MISSING = "/nonexistent/recheck-cli-test"
INPUT = [
    ("from-pcap", (MISSING + ".pcap",), 3),
    ("from-pcap", (os.path.join(harness.SAMPLES, "pcap", "socks5-auth-2flows.pcap"),), 2),
    ("flows", (MISSING + ".pcap",), 3),
    ("replay", (MISSING + ".yaml", "-s", "127.0.0.1:1"), 3),
    ("export", (MISSING + ".yaml",), 3),
    ("import", (MISSING + ".cfg",), 3),
    ("import", (MISSING + ".cfg", "--all"), 3),
    ("show", (MISSING + ".yaml",), 3),
    ("lint", (MISSING + ".yaml",), 3),
]

SHORT_RE = re.compile(r"^\s+-([A-Za-z]), --([a-z][a-z-]*)", re.M)


class CliConvention(harness.Case):
    def test_every_command_is_in_the_table(self):
        for cmd in COMMANDS:
            self.assertTrue(any(c == cmd for c, _, _ in USAGE), cmd)
            for kind in ("--bogus", "-Z"):
                self.assertTrue(any(c == cmd and kind in a for c, a, _ in USAGE), (cmd, kind))
        top = self.recheck("--help")
        self.assertRc(top, 0)
        listed = re.findall(r"^  ([a-z-]+)\s", top.stdout.split("Commands:")[1].split("\n\n")[0], re.M)
        self.assertEqual(sorted(listed), sorted(COMMANDS))

    def test_usage_errors_are_one_line_exit_2(self):
        for cmd, args, words in USAGE:
            with self.subTest(cmd=cmd, args=args):
                res = self.recheck(cmd, *args)
                self.assertRc(res, 2, "recheck %s %s" % (cmd, " ".join(args)))
                self.assertEqual(res.stdout, "")
                lines = res.stderr.splitlines()
                self.assertEqual(len(lines), 1, res.stderr)
                self.assertTrue(lines[0].startswith("recheck %s: " % cmd), lines[0])
                self.assertTrue(lines[0].endswith("(see recheck %s --help)" % cmd), lines[0])
                self.assertIn(words, lines[0])

    def test_input_errors_start_with_the_command(self):
        for cmd, args, rc in INPUT:
            with self.subTest(cmd=cmd, args=args):
                res = self.recheck(cmd, *args)
                self.assertRc(res, rc, "recheck %s %s" % (cmd, " ".join(args)))
                lines = res.stderr.splitlines()
                self.assertGreaterEqual(len(lines), 1)
                for line in lines:
                    self.assertTrue(line.startswith("recheck %s: " % cmd), line)

    def test_help_exits_0_on_stdout(self):
        for cmd in COMMANDS:
            for flag in ("--help", "-h"):
                res = self.recheck(cmd, flag)
                self.assertRc(res, 0, cmd)
                self.assertEqual(res.stderr, "")
                self.assertIn("recheck %s" % cmd, res.stdout)

    def test_a_short_option_means_the_same_everywhere(self):
        seen = {}
        for cmd in COMMANDS:
            res = self.recheck(cmd, "--help")
            pairs = SHORT_RE.findall(res.stdout)
            self.assertIn(("h", "help"), pairs, cmd)
            for short, long_ in pairs:
                if short in seen:
                    self.assertEqual(seen[short][1], long_, "-%s is --%s in %s but --%s in %s" % (
                        short, seen[short][1], seen[short][0], long_, cmd))
                else:
                    seen[short] = (cmd, long_)
                # the short form is accepted where it is advertised: giving it without its value (or
                # with --help after it) must not be reported as an unknown option
                res2 = self.recheck(cmd, "-" + short, "--help")
                self.assertNotIn("unknown option '-%s'" % short, res2.stderr, cmd)
        self.assertEqual(seen["f"][1], "format")
        self.assertEqual(seen["o"][1], "output")
        self.assertEqual(seen["t"][1], "timeout")
        self.assertEqual(seen["c"][1], "count")
        self.assertEqual(seen["n"][1], "name")

    def test_recheckd_usage_errors_are_one_line_too(self):
        import subprocess
        for args, words in ((("--bogus",), "unknown option '--bogus'"), (("-Z",), "unknown option '-Z'"),
                            (("-f",), "option '-f' needs a value"), (("--config",), "option '--config' needs a value"),
                            (("--help=1",), "option '--help' takes no value"), ((), "-f FILE is required"),
                            (("-f", "x.yaml", "extra"), "unexpected argument 'extra'")):
            res = subprocess.run([harness.RECHECKD] + list(args), capture_output=True, text=True, timeout=30)
            self.assertRc(res, 2, " ".join(args))
            self.assertEqual(res.stderr.splitlines(), ["recheckd: %s (see recheckd --help)" % words])
        res = subprocess.run([harness.RECHECKD, "--version", "-v"], capture_output=True, text=True, timeout=30)
        self.assertRc(res, 0)
        self.assertRegex(res.stdout, r"^recheckd \d+\.\d+\.\d+\n")
        for lib in ("libpcap", "libcurl", "libyaml", "PCRE2", "OpenSSL", "Build type", "Features"):
            self.assertIn(lib, res.stdout)

    def test_version(self):
        for args in (("--version",), ("-V",)):
            res = self.recheck(*args)
            self.assertRc(res, 0)
            self.assertRegex(res.stdout, r"^recheck \d+\.\d+\.\d+\n$")
        res = self.recheck("--version", "-v")
        self.assertRc(res, 0)
        for lib in ("libpcap", "libcurl", "libyaml", "PCRE2", "OpenSSL", "Build type", "Features"):
            self.assertIn(lib, res.stdout)
        res = self.recheck("--version", "--bogus")
        self.assertRc(res, 2)


if __name__ == "__main__":
    harness.main()
