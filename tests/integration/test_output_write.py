#!/usr/bin/env python3
"""Every recheck command that writes a recipe goes through cmd_write_recipe()/cmd_write_output():
a full standard output (/dev/full: the flush fails) or an output file that cannot be created is a
local failure, exit 5, one line naming it, and no temporary file is left behind."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

RECIPE = os.path.join(harness.SAMPLES, "socks5-generate-204.yaml")
PCAP = os.path.join(harness.SAMPLES, "pcap", "socks5h.pcap")


class OutputWrite(harness.Case):
    def run_to_full(self, *args):
        with open("/dev/full", "w") as full:
            return subprocess.run([harness.RECHECK] + list(args), stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=60)

    def test_full_stdout_is_exit_5(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        res = self.recheck("export", RECIPE, "--listen", "ha", "--bind", "127.0.0.1:1", "--server", "a=127.0.0.1:2")
        self.assertRc(res, 0)
        cfg = self.write("h.cfg", res.stdout)
        for args in (("export", RECIPE), ("export", RECIPE, "--format", "yaml"), ("from-pcap", PCAP),
                     ("import", cfg, "--section", "ha")):
            with self.subTest(args=args):
                res = self.run_to_full(*args)
                self.assertEqual(res.returncode, 5, res.stderr)
                self.assertIn("recheck %s: standard output: write failed" % args[0], res.stderr)

    def test_unwritable_file_is_exit_5_and_leaves_nothing(self):
        d = self.path("out")
        os.mkdir(d)
        missing = os.path.join(d, "no-such-dir", "out.yaml")
        for args in (("export", RECIPE, "-o", missing), ("from-pcap", PCAP, "-o", missing)):
            with self.subTest(args=args):
                res = self.recheck(*args)
                self.assertEqual(res.returncode, 5, res.stderr)
                self.assertIn(missing, res.stderr)
                self.assertFalse(os.path.exists(os.path.dirname(missing)))
        ok = os.path.join(d, "ok.yaml")
        res = self.recheck("from-pcap", PCAP, "-o", ok)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("wrote %s" % ok, res.stderr)
        self.assertEqual(sorted(os.listdir(d)), ["ok.yaml"])

    def test_dash_is_standard_output(self):
        d = self.path("cwd")
        os.mkdir(d)
        res = self.recheck("export", RECIPE, "--listen", "ha", "--bind", "127.0.0.1:1", "--server", "a=127.0.0.1:2")
        self.assertRc(res, 0)
        cfg = self.write("h.cfg", res.stdout)
        for args in (("export", RECIPE), ("from-pcap", PCAP), ("import", cfg, "--section", "ha")):
            with self.subTest(args=args):
                plain = subprocess.run([harness.RECHECK] + list(args), cwd=d, capture_output=True, text=True,
                                       timeout=60)
                dash = subprocess.run([harness.RECHECK] + list(args) + ["-o", "-"], cwd=d, capture_output=True,
                                      text=True, timeout=60)
                self.assertEqual(dash.returncode, 0, dash.stderr)
                self.assertTrue(dash.stdout)
                self.assertEqual(dash.stdout, plain.stdout)
                self.assertEqual(os.listdir(d), [])


if __name__ == "__main__":
    harness.main()
