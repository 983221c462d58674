#!/usr/bin/env python3
"""recheckd's check intervals by server state, as HAProxy 2.6's inter / fastinter / downinter:
inter while fully UP, fastinter while changing state (going up through rise), downinter while fully
DOWN. inter 5s, fastinter 150ms, downinter 600ms, rise 2, fall 2; measured on the checks' own counters.
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

CONNECT_ONLY = "version: 1\nname: connect-only\nkind: tcp\nsteps:\n  - connect: {}\n"


class Intervals(harness.Case):
    def server(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            return json.loads(r.read())["listeners"][0]["servers"][0]

    def count(self, what):
        return self.server()["check"]["counts"][what]

    def test_inter_fastinter_downinter(self):
        srv_port = free_port()  # nothing listens yet
        port, self.stats_port = free_port(), free_port()
        self.write("connect-only.yaml", CONNECT_ONLY)
        lines = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port]
        if os.geteuid() == 0:
            lines.append("allow_root: true")
        lines += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % port,
                  "    check: {recipe: connect-only.yaml, inter: 5s, fastinter: 150ms, downinter: 600ms, "
                  "rise: 2, fall: 2, timeout: 1s}",
                  "    servers:", '      - {name: s1, address: "127.0.0.1:%d"}' % srv_port]
        path = self.write("r.yaml", "\n".join(lines) + "\n")
        p = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        wait_port(self.stats_port)

        # fully DOWN: checks every downinter (600ms), not fastinter (150ms) nor inter (5s)
        wait_for(lambda: self.server()["status"] == "DOWN", 5, what="DOWN")
        f0, t0 = self.count("failed"), time.monotonic()
        wait_for(lambda: self.count("failed") >= f0 + 3, 5, 0.02, "3 more failed checks")
        per = (time.monotonic() - t0) / 3
        self.assertGreater(per, 0.45, "downinter 600ms: %.3fs per check" % per)
        self.assertLess(per, 0.9, "downinter 600ms: %.3fs per check" % per)

        # the server comes back: the first pass (after at most downinter) starts the rise; the second
        # comes fastinter (150ms) later and the server is UP
        ns = lbparity.NameServer(["s1"], [srv_port])
        self.addCleanup(ns.stop)
        wait_for(lambda: self.count("passed") >= 1, 3, 0.01, "a passing check")
        t1 = time.monotonic()
        wait_for(lambda: self.server()["status"] == "UP", 3, 0.01, "UP")
        rise = time.monotonic() - t1
        self.assertLess(rise, 0.45, "fastinter 150ms: UP %.3fs after the first pass" % rise)
        self.assertGreater(rise, 0.08, "fastinter 150ms: UP %.3fs after the first pass" % rise)

        # fully UP: the next check waits inter (5s): nothing runs in the next 1.5s
        n = self.count("passed") + self.count("failed")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            self.assertEqual(self.count("passed") + self.count("failed"), n, "a check ran within inter")
            time.sleep(0.05)
        self.clean_exit(p)


if __name__ == "__main__":
    main()
