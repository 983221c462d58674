#!/usr/bin/env python3
"""The fault test: recheckd and a real HAProxy 2.6 (`retries 3` + `option redispatch`) in front of the
same six backends, with the same checks (connect, inter 1s, fall 2, rise 1), the same clients and the same
faults at the same moments (tests/lib/faults.py): a backend killed and restarted every 3 s, one hung
(SIGSTOP) for 1.5 s, under load from 220 source addresses, about 15 s.

Asserted:
- no wrong byte, through either;
- recheckd loses no more client connections than HAProxy (a session already relayed to a backend when
  it is SIGKILLed is lost by both; a small slack absorbs that noise, see LOST_SLACK), and none of its
  losses is a connect failure (stats.json: no connection error, no "no server");
- no reset reaches recheckd's clients where HAProxy's got none (it closes with a FIN);
- the clients that need a redispatch (probes sent right after each kill from addresses that hash to the
  killed server) get their first byte back sooner through recheckd than through HAProxy (median), which
  waits 1 s before its retries;
- recheckd's fd count and RSS come back to their baseline afterwards.
"""
import json
import os
import statistics
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import BUILD, RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

PEER = os.path.join(BUILD, "tests", "relay_peer")
NAMES = ["s1", "s2", "s3", "s4", "s5", "s6"]
DURATION = 15.0
# Sessions cut by a SIGKILL are lost through any balancer; with ~1 in flight per kill, the two counts
# differ by chance by a few.
LOST_SLACK = 3


def fault_run(case, duration=DURATION, workers=12):
    """Starts the backends, recheckd and HAProxy, runs the load and the faults. Returns (tallies,
    recheckd process, stats port, baseline (fds, rss))."""
    ports = {n: free_port() for n in NAMES}
    backends = faults.Backends(PEER, NAMES, [ports[n] for n in NAMES], case.procs.start)
    hport, rport, sport = free_port(), free_port(), free_port()
    _, sock = case.start_haproxy(faults.haproxy_cfg(hport, ports), "haproxy-faults")
    case.write("connect-only.yaml", faults.CONNECT_ONLY)
    path = case.write("recheckd.yaml", faults.recheckd_cfg(rport, sport, ports))
    p = case.procs.start([RECHECKD, "-f", path], "recheckd")
    wait_for(lambda: "ready" in case.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
    case.assertIsNone(p.poll(), "recheckd exited:\n" + case.procs.log(p))
    wait_port(hport)
    wait_port(sport)
    wait_for(lambda: all(case.haproxy_status(sock, "pool", n)[0] == "UP" for n in NAMES), 10, what="HAProxy UP")
    wait_for(lambda: all(s["status"] == "UP" for s in stats(sport)["servers"]), 10, what="recheckd UP")

    addrs = lbparity.source_addresses(220, seed=5)
    probes = faults.probes_by_asking(rport, addrs, NAMES, per_server=4)
    # the same clients reach the same servers through HAProxy (balance source parity)
    for n, srcs in probes.items():
        case.assertEqual([faults.ask_name(hport, a) for a in srcs], [n] * len(srcs))
    balancers = {"recheckd": rport, "haproxy": hport}
    # warm up (pools, allocator), then the baseline
    faults.run(balancers, addrs, backends, [], {}, workers=workers, duration=1.5)
    wait_for(lambda: stats(sport)["connections"]["current"] == 0, 5, what="warm-up sessions ended")
    base = (harness.proc_fds(p.pid), harness.proc_rss_kib(p.pid) * 1024)
    plan = faults.default_plan(NAMES, duration)
    tallies = faults.run(balancers, addrs, backends, plan, probes, workers=workers, duration=duration)
    return tallies, p, sport, base


def stats(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % port, timeout=5) as r:
        return json.loads(r.read())["listeners"][0]


class Faults(harness.Case):
    def test_side_by_side_with_haproxy(self):
        tallies, p, sport, (fds0, rss0) = fault_run(self)
        rc, ha = tallies["recheckd"].summary(), tallies["haproxy"].summary()
        report = "recheckd %r\nhaproxy  %r" % (rc, ha)
        sys.stderr.write(report + "\n")
        self.assertGreater(rc["total"], 1000, report)
        self.assertGreater(ha["total"], 1000, report)
        for t in (rc, ha):
            self.assertEqual(t["outcomes"].get("wrong", 0) + t["probe_outcomes"].get("wrong", 0), 0, report)
        self.assertLessEqual(rc["lost"], ha["lost"] + LOST_SLACK, report)
        self.assertLessEqual(rc["outcomes"].get("reset", 0), ha["outcomes"].get("reset", 0), report)
        self.assertEqual(rc["probe_outcomes"].get("reset", 0), 0, report)
        st = stats(sport)
        self.assertEqual(sum(s["connections"]["errors"] for s in st["servers"]), 0, json.dumps(st))
        self.assertEqual(st["connections"]["no_server"], 0)
        self.assertGreater(st["connections"]["redispatches"], 0)
        # every probe of recheckd is served, and sooner than HAProxy's (median time to the first byte)
        self.assertEqual(rc["probe_outcomes"].get("ok", 0), sum(rc["probe_outcomes"].values()), report)
        self.assertIsNotNone(ha["probe_median_ttfb"], report)
        self.assertLess(rc["probe_median_ttfb"], ha["probe_median_ttfb"], report)
        self.assertLess(rc["probe_median_ttfb"], 0.2, report)
        # back to the baseline: sessions gone, their fds closed, memory returned
        wait_for(lambda: stats(sport)["connections"]["current"] == 0, 10, what="sessions ended")
        wait_for(lambda: harness.proc_fds(p.pid) <= fds0, 5, what="fds back to %d" % fds0)
        rss = harness.proc_rss_kib(p.pid) * 1024
        self.assertLessEqual(rss, rss0 * 1.25 + (1 << 20), "RSS %d after, %d before" % (rss, rss0))
        sys.stderr.write("fds %d -> %d, RSS %d -> %d\n" % (fds0, harness.proc_fds(p.pid), rss0, rss))
        med = statistics.median(tallies["recheckd"].ttfb) if tallies["recheckd"].ttfb else 0
        sys.stderr.write("recheckd median ttfb (all) %.4f\n" % med)


if __name__ == "__main__":
    main()
