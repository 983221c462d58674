#!/usr/bin/env python3
"""`balance source` parity: for each configuration in lbparity.CONFIGS (map-based and consistent,
equal and unequal weights, a server down, backups with and without allbackups, explicit ids,
avalanche on and off), a real HAProxy 2.6 and recheck's balancer (the lbpick fixture) must choose the
same server for every one of 250 client addresses in 127/8."""
import os
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

    def test_no_usable_server_closes(self):
        c = lbparity.conf("none-up", [lbparity.srv("s1", down=True), lbparity.srv("b1", backup=True, down=True)])
        ports = lbparity.start_backends(self, c)
        port = lbparity.start_haproxy(self, c, ports)
        addrs = lbparity.source_addresses(5)
        self.assertEqual(lbparity.collect(port, addrs), ["-"] * 5)
        self.assertEqual(lbparity.lbpick(c, addrs), ["-"] * 5)


if __name__ == "__main__":
    harness.main()
