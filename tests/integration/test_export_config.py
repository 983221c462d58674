#!/usr/bin/env python3
"""`recheck export --config`: a recheckd YAML configuration written as a complete HAProxy configuration.
The real haproxy accepts the file (`haproxy -c`) and runs it, recheckd runs it too, and both mark the
same servers UP and DOWN as recheckd running the YAML (a SOCKS5 check against microsocks: one live
server, one refused port), and send every client to the same server."""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402


def yaml_conf(port, stats_port, live, dead, recipe):
    return """threads: 2
allow_root: true
stats: {bind: "127.0.0.1:%d"}
listeners:
  - name: socks
    bind: "127.0.0.1:%d"
    hash_type: consistent
    timeouts: {client: 5s, server: 5s, connect: 1s, queue: 2s}
    check: {recipe: %s, inter: 200ms, rise: 1, fall: 1, timeout: 1s}
    servers:
      - {name: live, address: "127.0.0.1:%d", weight: 2, maxconn: 100, maxqueue: 10}
      - {name: dead, address: "127.0.0.1:%d"}
      - {name: spare, address: "127.0.0.1:%d", backup: true, check: false}
""" % (stats_port, port, recipe, live, dead, live)


class ExportConfig(harness.Case):
    def states(self, engine, stats_port):
        if engine == "haproxy":
            with urllib.request.urlopen("http://127.0.0.1:%d/;csv" % stats_port, timeout=5) as r:
                lines = r.read().decode().splitlines()
            head = lines[0].lstrip("# ").split(",")
            rows = [dict(zip(head, ln.split(","))) for ln in lines[1:] if ln.startswith("socks,")]
            return {r["svname"]: r["status"].split()[0] for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % stats_port, timeout=5) as r:
            doc = json.loads(r.read())
        return {s["name"]: s["status"] for s in doc["listeners"][0]["servers"]}

    def run_engine(self, engine, path, stats_port, port, addrs):
        exe = harness.which("haproxy") if engine == "haproxy" else RECHECKD
        argv = [exe, "-db", "-f", path] if engine == "haproxy" else [exe, "-f", path]
        check = subprocess.run([exe, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, "%s -c refused %s:\n%s" % (engine, path, check.stdout + check.stderr))
        p = self.procs.start(argv, engine)
        wait_port(stats_port)
        want = {"live": "UP", "dead": "DOWN", "spare": "no"}
        got = wait_for(lambda: (lambda st: st if all(st.get(k, "").startswith(v) for k, v in want.items())
                                else None)(self.states(engine, stats_port)), 10, 0.05,
                       "%s: live UP, dead DOWN" % engine)
        wait_port(port)
        picks = lbparity.collect(port, addrs)
        self.procs.stop(p)
        return {k: v.split()[0] for k, v in got.items()}, picks

    def test_exported_config_runs_the_same(self):
        self.write("connect-only.yaml", "version: 1\nname: connect-only\nkind: tcp\nsteps:\n  - connect: {}\n")
        names = lbparity.NameServer(["live"])
        self.addCleanup(names.stop)
        dead = lbparity.closed_port(self.addCleanup)
        port, stats_port = free_port(), free_port()
        yml = self.write("r.yaml", yaml_conf(port, stats_port, names.ports["live"], dead, "connect-only.yaml"))
        res = self.recheck("export", "--config", yml, "-o", self.path("r.cfg"))
        self.assertRc(res, 0)
        with open(self.path("r.cfg")) as f:
            text = f.read()
        self.assertIn("listen socks", text)
        self.assertIn("server dead 127.0.0.1:%d weight 1 check inter 200ms rise 1 fall 1" % dead, text)
        # the server's slots and queue, and timeout queue, as HAProxy keywords (haproxy -c runs below)
        self.assertIn("server live 127.0.0.1:%d weight 2 maxconn 100 maxqueue 10 check" % names.ports["live"], text)
        self.assertIn("    timeout queue 2s\n", text)
        addrs = lbparity.source_addresses(30, seed=5)
        results = {}
        for engine, path in (("recheckd", yml), ("haproxy", self.path("r.cfg")), ("recheckd", self.path("r.cfg"))):
            results[(engine, path)] = self.run_engine(engine, path, stats_port, port, addrs)
        first = results[("recheckd", yml)]
        self.assertEqual(set(first[1]), {"live"})
        for key, got in results.items():
            self.assertEqual(got, first, "%s on %s" % key)

    def test_refuses_what_haproxy_cannot_hold(self):
        self.write("a.yaml", "version: 1\nname: a\nkind: tcp\nsteps:\n  - connect: {}\n")
        self.write("b.yaml", "version: 1\nname: b\nkind: tcp\nsteps:\n  - connect: {linger: true}\n")
        yml = self.write("two.yaml", """listeners:
  - name: l
    bind: "127.0.0.1:%d"
    check: {recipe: a.yaml}
    servers:
      - {name: s1, address: "127.0.0.1:1"}
      - {name: s2, address: "127.0.0.1:2", check: {recipe: b.yaml}}
""" % free_port())
        res = self.recheck("export", "--config", yml)
        self.assertRc(res, 3)
        self.assertIn("server s2 replays b.yaml", res.stderr)


if __name__ == "__main__":
    main()
