#!/usr/bin/env python3
"""`balance source` parity through the daemon: for the configurations of the HAProxy parity test
(tests/lib/lbparity.py: map-based and consistent, equal and unequal weights, a server down, explicit
ids, backups with and without allbackups, avalanche on and off), clients from 220 different
127.x.y.z addresses reach the same server through recheckd as through a real HAProxy 2.6 started in
the same test with the equivalent config. Down servers are found by recheckd's own health checks (a
connect-only recipe), as HAProxy finds them with `check`.

test_same_cfg_file runs one HAProxy configuration file, unchanged, through the real haproxy and through
`recheckd -f` (runner/conf_haproxy.c): the same server for every source address and the same check
verdicts (UP/DOWN and check status of every server, read from each one's stats page). So does
test_seed_sections with the seed's two `listen` sections and local addresses.

The v4-mapped configurations are left out: they depend on HAProxy's `v4v6` bind keyword, which
recheckd's listeners (IPV6_V6ONLY) do not offer.
"""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

CONNECT_ONLY = harness.tcp_recipe("connect-only", '  - connect: {}\n    comment: "the name server accepts"\n')

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


def stats_listen(stats_port):
    """A stats section both engines read: HAProxy's page (CSV at /;csv), recheckd's stats listener."""
    return "listen stats\n    bind 127.0.0.1:%d\n    mode http\n    stats enable\n    stats uri /\n" % stats_port


def haproxy_states(stats_port, listener):
    with urllib.request.urlopen("http://127.0.0.1:%d/;csv" % stats_port, timeout=5) as r:
        lines = r.read().decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(head, ln.split(","))) for ln in lines[1:] if ln.startswith(listener + ",")]
    return {r["svname"]: (r["status"], r["check_status"].lstrip("* "))
            for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}


def recheckd_states(stats_port, listener):
    with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % stats_port, timeout=5) as r:
        doc = json.loads(r.read())
    li = [x for x in doc["listeners"] if x["name"] == listener][0]
    return {s["name"]: (s["status"], s["check"]["status"] if s["check"]["enabled"] else "")
            for s in li["servers"]}


def settled(states, want):
    """The states when every server is in its wanted UP/DOWN state with a check result, else None."""
    if all(states.get(n, ("", ""))[0] == st and states[n][1] not in ("", "INI") for n, st in want.items()):
        return states
    return None


def run_cfg(case, path, engine, listeners, want):
    """Starts engine ('haproxy' or 'recheckd') on the file at path, waits until the servers of each
    listener settle in their wanted states ({listener: {server: UP|DOWN}}), returns
    {listener: {server: (status, check status)}} and leaves the process running."""
    stats_port = case.stats_port
    if engine == "haproxy":
        check = subprocess.run([harness.which("haproxy"), "-c", "-f", path], capture_output=True, text=True,
                               timeout=30)
        case.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        p = case.procs.start([harness.which("haproxy"), "-db", "-f", path], "haproxy")
        states_of = haproxy_states
    else:
        check = subprocess.run([RECHECKD, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        case.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        p = case.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in case.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        case.assertIsNone(p.poll(), "recheckd exited:\n" + case.procs.log(p))
        states_of = recheckd_states
    wait_port(stats_port)
    case.engine = p
    out, last = {}, {}

    def poll(li, w):
        last[li] = states_of(stats_port, li)
        return settled(last[li], w)
    for li, w in want.items():
        try:
            out[li] = wait_for(lambda: poll(li, w), 10, 0.05, "%s: servers of %s in %s" % (engine, li, w))
        except TimeoutError as e:
            raise AssertionError("%s; last states %r; log:\n%s" % (e, last.get(li), case.procs.log(p)))
    return out


def norm(states):
    """HAProxy's status column says 'UP' / 'DOWN' once settled; the check status names are shared."""
    return {li: {n: (st.split()[0], cs) for n, (st, cs) in srv.items()} for li, srv in states.items()}


class SameFile(harness.Case):
    def test_same_cfg_file(self):
        addrs = lbparity.source_addresses(100, seed=11)
        configs = [c for c in lbparity.CONFIGS if not c.get("v4mapped")]
        for c in configs:
            with self.subTest(config=c["name"]):
                cleanups = []
                try:
                    ports = lbparity.start_backends(self, c, cleanups)
                    port, self.stats_port = free_port(), free_port()
                    path = self.write("%s.cfg" % c["name"], lbparity.HAPROXY_DEFAULTS + stats_listen(self.stats_port)
                                      + lbparity.haproxy_listen(c, port, ports))
                    want = {c["name"]: {s["name"]: "DOWN" if s["down"] else "UP" for s in c["servers"]}}
                    verdicts, picks = {}, {}
                    for engine in ("haproxy", "recheckd"):
                        verdicts[engine] = norm(run_cfg(self, path, engine, [c["name"]], want))
                        wait_port(port)
                        picks[engine] = lbparity.collect(port, addrs)
                        self.procs.stop_all()
                finally:
                    self.procs.stop_all()
                    for fn in reversed(cleanups):
                        fn()
                self.assertEqual(verdicts["haproxy"], verdicts["recheckd"])
                live = {s["name"] for s in c["servers"] if not s["down"]}
                self.assertTrue(set(picks["haproxy"]) <= live, picks["haproxy"])
                bad = ["%s: haproxy %s, recheckd %s" % (a, w, g)
                       for a, w, g in zip(addrs, picks["haproxy"], picks["recheckd"]) if w != g]
                self.assertEqual(bad, [], "%s: %d of %d addresses differ" % (c["name"], len(bad), len(addrs)))

    def test_seed_sections(self):
        """The seed's two listen sections, unchanged but for local addresses (its `xxxx` ports and
        server addresses): a SOCKS5 pair and an HTTP-proxy pair whose first server answers the check
        and whose second does not. HAProxy and recheckd mark the same servers UP and DOWN, with the
        same check status, and send every client to the same server."""
        seed = os.path.join(harness.SRC, "tests", "fixtures", "seed-sections.cfg")
        with open(seed) as f:
            text = f.read()
        socks_ok, socks_bad, http_ok, http_bad = (self.start_seed_peer(kind) for kind in
                                                  ("socks5-ok", "socks5-bad", "http-ok", "http-bad"))
        port5, porth = free_port(), free_port()
        self.stats_port = free_port()
        text = (text.replace("127.0.0.1:xxxx", "127.0.0.1:%d" % port5).replace(":::xxxx", ":::%d" % porth)
                .replace("127.0.0.1:11110", "127.0.0.1:%d" % socks_ok).replace("127.0.0.1:11111", "127.0.0.1:%d" % socks_bad)
                .replace("127.0.0.1:11120", "127.0.0.1:%d" % http_ok).replace("127.0.0.1:11121", "127.0.0.1:%d" % http_bad))
        path = self.write("seed.cfg", lbparity.HAPROXY_DEFAULTS.replace("timeout check 1s", "timeout check 1s\n"
                                                                        "    default-server inter 200ms")
                          + stats_listen(self.stats_port) + text)
        want = {"ha-socks5": {"xxx1": "UP", "xxx2": "DOWN"}, "ha-http": {"xxx1": "UP", "xxx2": "DOWN"}}
        verdicts = {}
        addrs = lbparity.source_addresses(16, seed=3)
        picks = {}
        for engine in ("haproxy", "recheckd"):
            verdicts[engine] = norm(run_cfg(self, path, engine, list(want), want))
            picks[engine] = [lbparity.ask(port5, a) for a in addrs]
            self.procs.stop(self.engine)
        self.assertEqual(verdicts["haproxy"], verdicts["recheckd"])
        self.assertEqual(picks["haproxy"], picks["recheckd"])
        self.assertEqual(set(picks["haproxy"]), {"socks5-ok"})

    def test_socks4_and_disabled(self):
        """One file through both engines: a server behind a real dante SOCKS4 proxy (socks4 +
        check-via-socks4) is checked through it and its traffic goes through it (a second listener's
        server is reachable directly but dante refuses it: no answer reaches the client in either
        engine), and a `disabled` server stays in MAINT, unchecked and never picked."""
        scriptsrv = os.path.join(harness.BUILD, "tests", "scriptsrv")
        ok, blocked = self.start_scriptsrv(scriptsrv, "send via-socks4; close"), self.start_scriptsrv(scriptsrv, "send direct; close")
        dante = self.start_dante_s4(blocked)
        p1, p2 = free_port(), free_port()
        self.stats_port = free_port()
        cfg = (lbparity.HAPROXY_DEFAULTS + stats_listen(self.stats_port)
               + "listen s4ok\n    bind 127.0.0.1:%d\n    balance source\n" % p1
               + "    server a 127.0.0.1:%d socks4 127.0.0.1:%d check-via-socks4 check inter 200ms rise 1 fall 1\n" % (ok, dante)
               + "    server b 127.0.0.1:%d check inter 200ms rise 1 fall 1 disabled\n" % ok
               + "listen s4blocked\n    bind 127.0.0.1:%d\n    balance source\n    retries 0\n" % p2
               + "    server c 127.0.0.1:%d socks4 127.0.0.1:%d\n" % (blocked, dante))
        path = self.write("socks4.cfg", cfg)
        want = {"s4ok": {"a": "UP"}}
        got = {}
        for engine in ("haproxy", "recheckd"):
            states = run_cfg(self, path, engine, list(want), want)["s4ok"]
            wait_port(p1)
            got[engine] = (states["a"], states["b"][0].split()[0], lbparity.ask(p1, "127.0.0.1"),
                           lbparity.ask(p2, "127.0.0.1"))
            self.procs.stop(self.engine)
        self.assertEqual(got["haproxy"], (("UP", "L4OK"), "MAINT", "via-socks4", "-"), got)
        self.assertEqual(got["recheckd"][1:], got["haproxy"][1:])
        self.assertEqual(got["recheckd"][0][0], "UP")
        self.assertEqual(got["recheckd"][0][1], got["haproxy"][0][1])

    def start_scriptsrv(self, exe, script):
        p = self.procs.start([exe, "0", script], "scriptsrv")

        def port():
            for line in harness.Procs.log(p).splitlines():
                if line.startswith("listening "):
                    return int(line.split()[1])
            return None
        return wait_for(port, 10, what="scriptsrv listening")

    def start_dante_s4(self, blocked):
        """dante-server speaking SOCKS4 (and 5) on 127.0.0.1, refusing connects to port blocked (CD 5B)."""
        exe = harness.which("danted", "/usr/sbin")
        self.assertTrue(exe, "danted is not installed (apt-get install dante-server)")
        port = free_port()
        conf = self.write("danted-s4.conf", "logoutput: stderr\ninternal: 127.0.0.1 port = %d\n"
                          "external: 127.0.0.1\nsocksmethod: none\nclientmethod: none\n"
                          "user.privileged: root\nuser.unprivileged: nobody\n"
                          "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                          "socks block { from: 127.0.0.0/8 to: 127.0.0.1/32 port = %d }\n"
                          "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n" % (port, blocked))
        self.procs.start([exe, "-f", conf, "-N", "1", "-p", self.path("danted-s4.pid")], "danted")
        wait_port(port)
        return port

    def start_seed_peer(self, kind):
        """A scripted peer for the seed's checks: socks5-ok answers the SOCKS5 dialogue and a 204
        through it, socks5-bad refuses the CONNECT; http-ok answers the proxied GET with 204, http-bad
        with 502. Each also writes its kind on a client connection that sends nothing (the relay probe)."""
        p = self.procs.start([sys.executable, os.path.join(harness.SRC, "tests", "lib", "seedpeer.py"), kind],
                             kind)

        def port():
            for line in harness.Procs.log(p).splitlines():
                if line.startswith("listening "):
                    return int(line.split()[1])
            return None
        return wait_for(port, 10, what="%s listening" % kind)


if __name__ == "__main__":
    main()
