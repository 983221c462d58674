#!/usr/bin/env python3
"""The harness's exit status, which CTest reads: a file whose every test skipped exits 77
(SKIP_RETURN_CODE, reported "Not Run"), a failure exits 1, anything else that ran exits 0."""
import os
import subprocess
import sys
import tempfile
import unittest

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
sys.path.insert(0, LIB)
import harness  # noqa: E402

HEAD = "import sys\nsys.path.insert(0, %r)\nimport unittest\nimport harness\n\n" % LIB
BODIES = {
    "all_skip": "class T(unittest.TestCase):\n"
                "    def test_a(self):\n        self.skipTest('no peer')\n"
                "    def test_b(self):\n        self.skipTest('no peer')\n",
    "none": "class T(unittest.TestCase):\n    pass\n",
    "some_skip": "class T(unittest.TestCase):\n"
                 "    def test_a(self):\n        self.skipTest('no peer')\n"
                 "    def test_b(self):\n        self.assertEqual(1, 1)\n",
    "fails": "class T(unittest.TestCase):\n"
             "    def test_a(self):\n        self.skipTest('no peer')\n"
             "    def test_b(self):\n        self.assertEqual(1, 2)\n",
    "errors": "class T(unittest.TestCase):\n    def test_a(self):\n        raise RuntimeError('boom')\n",
}


class ExitStatus(unittest.TestCase):
    def run_body(self, name):
        with tempfile.TemporaryDirectory(prefix="recheck-harness-") as d:
            path = os.path.join(d, "test_%s.py" % name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(HEAD + BODIES[name] + "\nif __name__ == '__main__':\n    harness.main()\n")
            return subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=60)

    def test_every_test_skipped_is_77(self):
        res = self.run_body("all_skip")
        self.assertEqual(res.returncode, harness.EXIT_SKIPPED, res.stdout + res.stderr)
        self.assertEqual(harness.EXIT_SKIPPED, 77)
        self.assertIn("every test skipped (2)", res.stdout)

    def test_no_tests_is_77(self):
        self.assertEqual(self.run_body("none").returncode, 77)

    def test_one_ran_is_0(self):
        res = self.run_body("some_skip")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_failure_and_error_are_1(self):
        self.assertEqual(self.run_body("fails").returncode, 1)
        self.assertEqual(self.run_body("errors").returncode, 1)


if __name__ == "__main__":
    harness.main()
