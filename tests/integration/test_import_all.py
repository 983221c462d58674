#!/usr/bin/env python3
"""recheck import --all: one recipe per checked listen/backend section, the same bytes as
--section NAME gives; sections without checks are skipped; one section that cannot be imported means
nothing is written; --all refuses --section and -o."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SEEDS = (("socks5", "seed-socks5-generate-204.yaml", "tcp"), ("web", "seed-http-generate-204.yaml", "http"))


class ImportAll(harness.Case):
    def config(self, extra=""):
        """An HAProxy configuration with the seed's two checks as two listen sections, a backend without
        checks and a frontend."""
        parts = ["global\n    maxconn 100\n\ndefaults\n    mode tcp\n    timeout connect 5s\n"
                 "    timeout client 5s\n    timeout server 5s\n\nfrontend fe\n    bind 127.0.0.1:1\n"
                 "    default_backend plain\n\nbackend plain\n    server p 127.0.0.1:2\n\n"]
        for name, recipe, _ in SEEDS:
            res = self.recheck("export", os.path.join(harness.SAMPLES, recipe), "--listen", name, "--bind",
                               "127.0.0.1:%d" % harness.free_port(), "--server", "s1=127.0.0.1:3")
            self.assertRc(res, 0)
            parts.append(res.stdout + "\n")
        return self.write("haproxy.cfg", "".join(parts) + extra)

    def test_one_recipe_per_checked_section(self):
        cfg = self.config()
        out = self.path("out")
        os.mkdir(out)
        res = self.recheck("import", cfg, "--all", "--output-dir", out)
        self.assertRc(res, 0)
        self.assertEqual(sorted(os.listdir(out)), sorted(n + ".yaml" for n, _, _ in SEEDS))
        for name, _, kind in SEEDS:
            self.assertIn("wrote %s/%s.yaml (section '%s', %s check)" % (out, name, name, kind), res.stderr)
            one = self.recheck("import", cfg, "--section", name)
            self.assertRc(one, 0)
            with open(os.path.join(out, name + ".yaml")) as f:
                self.assertEqual(f.read(), one.stdout)
            self.assertRc(self.recheck("lint", os.path.join(out, name + ".yaml")), 0)
        # without --all the same file asks for a choice, as before
        res = self.recheck("import", cfg)
        self.assertRc(res, 3)
        self.assertIn("--section", res.stderr)

    def test_haproxy_format_and_default_dir(self):
        cfg = self.config()
        res = subprocess_run_in(self, self.tmp, ["import", cfg, "--all", "-f", "haproxy"])
        self.assertRc(res, 0)
        for name, _, _ in SEEDS:
            with open(os.path.join(self.tmp, name + ".cfg")) as f:
                self.assertIn("option", f.read())

    def test_one_bad_section_writes_nothing(self):
        cfg = self.config("listen broken\n    bind 127.0.0.1:4\n    option tcp-check\n"
                          "    tcp-check send-lf x\n    server b 127.0.0.1:5\n")
        out = self.path("out")
        os.mkdir(out)
        res = self.recheck("import", cfg, "--all", "--output-dir", out)
        self.assertRc(res, 3)
        self.assertIn("nothing written", res.stderr)
        self.assertTrue(res.stderr.startswith("recheck import: "), res.stderr)
        self.assertEqual(os.listdir(out), [])

    def test_no_checked_section(self):
        cfg = self.write("plain.cfg", "backend plain\n    server p 127.0.0.1:2\n")
        res = self.recheck("import", cfg, "--all", "--output-dir", self.tmp)
        self.assertRc(res, 3)
        self.assertIn("no listen or backend section has", res.stderr)

    def test_usage(self):
        cfg = self.config()
        for args in (("--all", "--section", "web"), ("--all", "-o", "x.yaml"), ("--output-dir", "d")):
            res = self.recheck("import", cfg, *args)
            self.assertRc(res, 2, " ".join(args))
            self.assertEqual(len(res.stderr.splitlines()), 1)
            self.assertIn("(see recheck import --help)", res.stderr)


def subprocess_run_in(case, cwd, args):
    import subprocess
    return subprocess.run([harness.RECHECK] + args, capture_output=True, text=True, timeout=60, cwd=cwd)


if __name__ == "__main__":
    harness.main()
