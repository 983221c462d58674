#!/usr/bin/env python3
"""`balance source` parity through the daemon: for the configurations of the HAProxy parity test
(tests/lib/lbparity.py: map-based and consistent, equal and unequal weights, a server down, explicit
ids, backups with and without allbackups, avalanche on and off), clients from 220 different
127.x.y.z addresses reach the same server through recheckd as through a real HAProxy 2.6 started in
the same test with the equivalent config. Down servers are found by recheckd's own health checks (a
connect-only recipe), as HAProxy finds them with `check`.

The v4-mapped configurations are left out: they depend on HAProxy's `v4v6` bind keyword, which
recheckd's listeners (IPV6_V6ONLY) do not offer.
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

CONNECT_ONLY = """version: 1
name: connect-only
kind: tcp
steps:
  - connect: {}
    comment: "the name server accepts"
"""

N_ADDRS = 220


def recheckd_conf(c, port, stats_port, ports):
    lines = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % stats_port]
    if os.geteuid() == 0:
        lines.append("allow_root: true")
    lines += ["listeners:", "  - name: %s" % c["name"], '    bind: "127.0.0.1:%d"' % port, "    balance: source"]
    if c["hash_type"]:
        lines.append('    hash_type: "%s"' % c["hash_type"])
    lines.append("    allbackups: %s" % ("true" if c["allbackups"] else "false"))
    lines.append("    check: {recipe: connect-only.yaml, inter: 100ms, rise: 1, fall: 1, timeout: 1s}")
    lines.append("    servers:")
    for s in c["servers"]:
        spec = ['name: %s' % s["name"], 'address: "127.0.0.1:%d"' % ports[s["name"]], "weight: %d" % s["weight"]]
        if s["backup"]:
            spec.append("backup: true")
        if s["id"] is not None:
            spec.append("id: %d" % s["id"])
        lines.append("      - {%s}" % ", ".join(spec))
    return "\n".join(lines) + "\n"


def start_recheckd(case, c, ports):
    """Starts recheckd for c and waits until its checks show every server in its expected state.
    Returns the listening port."""
    port, stats_port = free_port(), free_port()
    case.write("connect-only.yaml", CONNECT_ONLY)
    path = case.write("recheckd-%s.yaml" % c["name"], recheckd_conf(c, port, stats_port, ports))
    p = case.procs.start([RECHECKD, "-f", path], "recheckd-" + c["name"])
    wait_for(lambda: "ready" in case.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
    case.assertIsNone(p.poll(), "recheckd exited:\n" + case.procs.log(p))
    wait_port(stats_port)

    def ready():
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % stats_port, timeout=5) as r:
            st = {s["name"]: s["status"] for s in json.loads(r.read())["listeners"][0]["servers"]}
        return all(st[s["name"]] == ("DOWN" if s["down"] else "UP") for s in c["servers"])
    wait_for(ready, 10, 0.05, "recheckd's servers of %s in their expected states" % c["name"])
    return port


class RecheckdParity(harness.Case):
    def test_same_pick_as_haproxy(self):
        addrs = lbparity.source_addresses(N_ADDRS, seed=7)
        configs = [c for c in lbparity.CONFIGS if not c.get("v4mapped")]
        self.assertGreaterEqual(len(configs), 15)
        for c in configs:
            with self.subTest(config=c["name"]):
                want = lbparity.picks_through(self, c, addrs, lbparity.start_haproxy)
                got = lbparity.picks_through(self, c, addrs, start_recheckd)
                live = {s["name"] for s in c["servers"] if not s["down"]}
                self.assertTrue(set(want) <= live, "%s: haproxy answered %s" % (c["name"], sorted(set(want) - live)))
                if not c["name"].endswith("noaval") and not c["name"].startswith(("map-backup-first", "map-backup-quirk",
                                                                                  "chash-backup-first")):
                    self.assertGreater(len(set(want)), 1, "%s: every client went to one server" % c["name"])
                bad = ["%s: haproxy %s, recheckd %s" % (a, w, g) for a, w, g in zip(addrs, want, got) if w != g]
                self.assertEqual(len(bad), 0, "%s: %d of %d addresses differ\n%s" % (c["name"], len(bad), len(addrs),
                                                                           "\n".join(bad[:20])))


if __name__ == "__main__":
    main()
