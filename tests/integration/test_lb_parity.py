#!/usr/bin/env python3
"""`balance source` parity: for each configuration in lbparity.CONFIGS (map-based and consistent,
equal and unequal weights, a server down, backups with and without allbackups, explicit ids,
avalanche on and off), a real HAProxy 2.6 and recheck's balancer (the lbpick fixture) must choose the
same server for every one of 250 client addresses in 127/8."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402

# What must hold in HAProxy's answers, so a broken harness (everything "-") cannot pass.
EXPECT_ONLY = {
    "map-backup-first": {"b1"},
    "map-backup-quirk": {"b2"},
    "map-allbackups": {"b1", "b2"},
    "map-backup-unused": {"s1", "s2"},
    "chash-backup-first": {"b2"},
    "chash-allbackups": {"b1", "b2"},
}


class LbParity(harness.Case):
    def test_parity_with_haproxy(self):
        addrs = lbparity.source_addresses(250)
        for c in lbparity.CONFIGS:
            with self.subTest(config=c["name"]):
                got = lbparity.picks_through(self, c, addrs, lbparity.start_haproxy)
                want = lbparity.lbpick(c, addrs)
                self.assertEqual(len(want), len(addrs))
                live = {s["name"] for s in c["servers"] if not s["down"]}
                self.assertTrue(set(got) <= live, "%s: haproxy answered %s" % (c["name"], sorted(set(got) - live)))
                if c["name"] in EXPECT_ONLY:
                    self.assertEqual(set(got), EXPECT_ONLY[c["name"]], c["name"])
                elif not c["name"].endswith("noaval"):
                    self.assertGreater(len(set(got)), 1, "%s: every client went to one server" % c["name"])
                bad = lbparity.diff(addrs, want, got)
                self.assertEqual(len(bad), 0, "%s: %d of %d addresses differ\n%s" % (c["name"], len(bad), len(addrs),
                                                                           "\n".join(bad[:20])))

    def test_v4mapped_key_differs(self):
        """The v4-mapped configs only prove something if their keys pick differently from IPv4."""
        c = next(c for c in lbparity.CONFIGS if c["name"] == "map-v4mapped")
        addrs = lbparity.source_addresses(50)
        plain = dict(c, v4mapped=False)
        self.assertNotEqual(lbparity.lbpick(c, addrs), lbparity.lbpick(plain, addrs))

    def test_lbpick_file_and_errors(self):
        addrs = lbparity.source_addresses(40)
        c = next(c for c in lbparity.CONFIGS if c["name"] == "chash-ids")
        desc = self.write("be.txt", "# a backend\nhash-type consistent\n"
                          "server s1 weight 1 id 7\nserver s2 id 3  # comment\nserver s3\nserver s4 weight 2\n")
        res = subprocess.run([lbparity.lbpick_path(), "-f", desc], input="\n".join(addrs) + "\n",
                                     capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.split(), lbparity.lbpick(c, addrs))
        bad = self.write("bad.txt", "server s1\nserver s2 weight 300\n")
        res = subprocess.run([lbparity.lbpick_path(), "-f", bad], input="", capture_output=True,
                                     text=True, timeout=30)
        self.assertEqual(res.returncode, 2)
        self.assertIn("bad.txt:2:", res.stderr)
        self.assertIn("weight", res.stderr)
        res = subprocess.run([lbparity.lbpick_path(), "s1", "s2"], input="127.0.0.1\nnot-an-ip\n",
                                     capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 3)
        self.assertEqual(res.stdout.split(), ["s2"])
        self.assertIn("stdin:2:", res.stderr)

    def test_no_usable_server_closes(self):
        c = lbparity.conf("none-up", [lbparity.srv("s1", down=True), lbparity.srv("b1", backup=True, down=True)])
        ports = lbparity.start_backends(self, c)
        port = lbparity.start_haproxy(self, c, ports)
        addrs = lbparity.source_addresses(5)
        self.assertEqual(lbparity.collect(port, addrs), ["-"] * 5)
        self.assertEqual(lbparity.lbpick(c, addrs), ["-"] * 5)


if __name__ == "__main__":
    harness.main()
