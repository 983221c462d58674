#!/usr/bin/env python3
"""cmake --install (into a DESTDIR, with the build's prefix): binaries, man pages, docs, the unit with the
prefix's paths, the sysusers.d entry, and a configuration that passes recheckd -c as installed with its
recipe beside it; a second install keeps an edited configuration. (test_package_deb covers the .deb.)"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


def cache_value(key):
    with open(os.path.join(harness.BUILD, "CMakeCache.txt")) as f:
        m = re.search(r"^%s:[A-Z]+=(.*)$" % re.escape(key), f.read(), re.M)
    return m.group(1) if m else None


def remove_user():
    subprocess.run(["userdel", "recheckd"], capture_output=True, timeout=60)
    subprocess.run(["groupdel", "recheckd"], capture_output=True, timeout=60)


class InstallCmake(harness.Case):
    def install(self, dest):
        res = subprocess.run(["cmake", "--install", harness.BUILD], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, DESTDIR=dest))
        self.assertRc(res, 0)
        return res

    def test_install_layout_and_configuration(self):
        prefix = cache_value("CMAKE_INSTALL_PREFIX")
        self.assertTrue(prefix and prefix.startswith("/"), prefix)
        sysconf = "/etc" if prefix == "/usr" else prefix + "/etc"
        dest = self.path("root")
        self.install(dest)
        root = dest + prefix

        for f in ("bin/recheck", "sbin/recheckd"):
            self.assertTrue(os.access(os.path.join(root, f), os.X_OK), f)
        for f in ("share/man/man1/recheck.1.gz", "share/man/man5/recipe.5.gz", "share/man/man8/recheckd.8.gz",
                  "share/doc/recheck/README.md", "share/doc/recheck/recipe.md",
                  "share/doc/recheck/examples/recheckd.yaml", "lib/sysusers.d/recheckd.conf"):
            self.assertTrue(os.path.isfile(os.path.join(root, f)), f)
        for md in os.listdir(os.path.join(harness.SRC, "docs")):
            if md.endswith(".md"):
                self.assertTrue(os.path.isfile(os.path.join(root, "share/doc/recheck", md)), md)
        with open(os.path.join(root, "lib/sysusers.d/recheckd.conf")) as f:
            self.assertRegex(f.read(), r"(?m)^u recheckd - ")

        unit_path = os.path.join(root, "lib/systemd/system/recheckd.service") if prefix != "/usr" else \
            os.path.join(dest, "lib/systemd/system/recheckd.service")
        with open(unit_path) as f:
            unit = f.read()
        conf = sysconf + "/recheck/recheckd.yaml"
        self.assertIn("ExecStart=%s/sbin/recheckd -f %s\n" % (prefix, conf), unit)
        self.assertIn("ExecStartPre=%s/sbin/recheckd -c -f %s\n" % (prefix, conf), unit)
        self.assertIn("ReadOnlyPaths=%s/recheck\n" % sysconf, unit)
        self.assertNotIn("@", re.sub(r"(?m)^#.*$", "", unit.replace("multi-user", "")).replace("@system-service", "")
                         .replace("@privileged", "").replace("@resources", ""))
        res = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit_path], capture_output=True,
                             text=True, timeout=60)
        m = re.search(r"Overall exposure level for recheckd\.service: ([0-9.]+)", res.stdout)
        self.assertIsNotNone(m, res.stdout + res.stderr)
        self.assertLessEqual(float(m.group(1)), 2.5)

        # The installed configuration and the example pass recheckd -c where they were installed: the
        # recipes are found relative to each file. -c checks that the configuration's user exists, so
        # first the step README gives: systemd-sysusers with the installed entry (undone afterwards).
        if not harness.user_exists("recheckd"):
            if os.geteuid() != 0:
                self.skipTest("the recheckd user does not exist and creating it needs root")
            self.addCleanup(remove_user)
            res = subprocess.run(["systemd-sysusers", os.path.join(root, "lib/sysusers.d/recheckd.conf")],
                                 capture_output=True, text=True, timeout=60)
            self.assertRc(res, 0)
            self.assertTrue(harness.user_exists("recheckd"))
        etc = dest + sysconf + "/recheck"
        self.assertEqual(sorted(os.listdir(etc)), ["recheckd.yaml", "socks5-generate-204.yaml"])
        for cfg in (os.path.join(etc, "recheckd.yaml"), os.path.join(root, "share/doc/recheck/examples/recheckd.yaml")):
            res = subprocess.run([os.path.join(root, "sbin/recheckd"), "-c", "-f", cfg], capture_output=True,
                                 text=True, timeout=30)
            self.assertRc(res, 0, cfg)
            self.assertIn("configuration is valid", res.stdout)
        with open(os.path.join(etc, "recheckd.yaml")) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^user: recheckd$")
        self.assertNotIn("@RECHECK_", text)
        self.assertIn(conf, text)

        # A second install keeps the operator's edits.
        with open(os.path.join(etc, "recheckd.yaml"), "a") as f:
            f.write("# edited\n")
        res = self.install(dest)
        self.assertIn("Keeping: ", res.stdout)
        with open(os.path.join(etc, "recheckd.yaml")) as f:
            self.assertTrue(f.read().endswith("# edited\n"))


if __name__ == "__main__":
    harness.main()
