#!/usr/bin/env python3
"""recheckd's runtime API (stats.socket) driven with socat as an operator does, against real microsocks
backends, and compared with real HAProxy 2.6's answers.

Each microsocks binds its outgoing connections to its own loopback address (-b 127.0.0.1N), and the
origin behind them answers with the address it sees: a client then knows which backend really relayed
it, independently of recheckd's own counters.
"""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RECHECKD, Case, free_port, main, wait_for, which  # noqa: E402
from socksorigin import GREETING_RECIPE, socks_connect, start_socks_backends  # noqa: E402


BACKENDS = {"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13"}
CLIENTS = ["127.0.%d.%d" % (i, (7 * i + 3) % 250 + 2) for i in range(1, 40)]


class RuntimeApi(Case):
    def setUp(self):
        super().setUp()
        if not which("socat"):
            self.fail("socat is not installed (apt-get install socat)")
        self.origin, self.ports = start_socks_backends(self, BACKENDS)
        self.write("r.yaml", GREETING_RECIPE)
        self.lport, self.mport, self.sport = free_port(), free_port(), free_port()
        self.sock = self.path("admin.sock")
        servers = "".join('      - {name: %s, address: "127.0.0.1:%d"}\n' % (n, p) for n, p in self.ports.items())
        self.conf = self.write("recheckd.yaml", """threads: 2
%sstats: {bind: "127.0.0.1:%d", socket: "%s"}
log: {format: json}
listeners:
  - name: pool
    bind: "127.0.0.1:%d"
    hash_type: consistent
    check: {recipe: r.yaml, inter: 300ms, rise: 1, fall: 1}
    servers:
%s  - name: pm
    bind: "127.0.0.1:%d"
    servers:
      - {name: a, address: "127.0.0.1:%d", weight: 2}
""" % ("allow_root: true\n" if os.geteuid() == 0 else "", self.sport, self.sock, self.lport, servers, self.mport,
       self.ports["a"]))
        self.d = self.procs.start([RECHECKD, "-f", self.conf], "recheckd")
        self.addCleanup(self.clean_exit, self.d)
        wait_for(lambda: os.path.exists(self.sock) or self.d.poll() is not None, 10, what="runtime API socket")
        self.assertIsNone(self.d.poll(), self.procs.log(self.d))
        wait_for(lambda: all(self.status("pool", n) == "UP" for n in BACKENDS), 10, what="every server UP")

    def start_haproxy_pool(self):
        """Real HAProxy 2.6 with the same servers as recheckd's pool (balance source, consistent hashing).
        Returns its port and its runtime API socket."""
        hport = free_port()
        _, hsock = self.start_haproxy("""defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen pool
    bind 127.0.0.1:%d
    balance source
    hash-type consistent
%s""" % (hport, "".join("    server %s 127.0.0.1:%d check inter 300ms rise 1 fall 1\n" % (n, p)
                        for n, p in self.ports.items())))
        return hport, hsock

    def cli(self, cmd):
        res = subprocess.run(["socat", "-", "UNIX-CONNECT:" + self.sock], input=cmd + "\n", capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout

    def stat_rows(self):
        lines = self.cli("show stat").splitlines()
        head = lines[0][2:].split(",")
        return [dict(zip(head, l.split(","))) for l in lines[1:] if l]

    def row(self, px, sv):
        for r in self.stat_rows():
            if r["pxname"] == px and r["svname"] == sv:
                return r
        raise KeyError(px + "/" + sv)

    def status(self, px, sv):
        return self.row(px, sv)["status"]

    def served_by(self, src):
        s, ip = socks_connect(self.lport, src, self.origin.port)
        s.close()
        names = [n for n, b in BACKENDS.items() if b == ip]
        self.assertEqual(len(names), 1, "origin saw %r" % ip)
        return names[0]

    def pick(self, src):
        out = self.cli("show pick pool %s" % src)
        self.assertTrue(out.startswith("server: "), out)
        return out.splitlines()[0].split(": ", 1)[1]

    def assertPicksTrue(self):
        """show pick names, for every client address, the backend that really relays it."""
        for src in CLIENTS[:12]:
            self.assertEqual(self.pick(src), self.served_by(src), "client %s" % src)

    # --- tests ------------------------------------------------------------------------------------

    def test_socket_and_basic_answers(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())
        self.assertIn("The following commands are valid at this level:", self.cli("help"))
        info = dict(l.split(": ", 1) for l in self.cli("show info").splitlines() if ": " in l)
        for k in ("Name", "Version", "Release_date", "Nbthread", "Pid", "Uptime", "Uptime_sec", "Maxconn",
                  "CurrConns", "CumConns"):
            self.assertIn(k, info)
        self.assertEqual(info["Pid"], str(self.d.pid))
        self.assertEqual(info["Nbthread"], "2")
        # unknown and malformed commands: HAProxy's one-line answers, and the socket keeps serving
        self.assertTrue(self.cli("bogus").startswith("Unknown command, but maybe one of the following"))
        self.assertEqual(self.cli("set server pool/a state bogus"),
                         "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n")
        self.assertEqual(self.cli("set server pool/zz state drain"), "No such server.\n\n")
        self.assertEqual(self.cli("get weight pool"), "Require 'backend/server'.\n\n")
        self.assertEqual(self.cli("show servers state nope"), "Can't find backend.\n\n")
        self.assertEqual(self.cli("set server pool/a health bogus"),
                         "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n\n")
        # several commands on one line, each answer ending with an empty line
        self.assertEqual(self.cli("get weight pool/a;get weight pm/a"), "1 (initial 1)\n\n2 (initial 2)\n\n")
        # interactive mode
        out = self.cli("prompt\nget weight pool/b\nquit")
        self.assertEqual(out, "\n> 1 (initial 1)\n\n> ")

    def test_pick_drain_shutdown(self):
        self.assertPicksTrue()
        src = CLIENTS[0]
        victim = self.served_by(src)
        held, ip = socks_connect(self.lport, src, self.origin.port)
        self.assertEqual(ip, BACKENDS[victim])
        self.assertEqual(self.cli("set server pool/%s state drain" % victim), "\n")
        self.assertEqual(self.status("pool", victim), "DRAIN")
        # new clients avoid it, show pick agrees with the relay, the held session continues
        for c in CLIENTS[:12]:
            self.assertNotEqual(self.served_by(c), victim)
        self.assertPicksTrue()
        held.sendall(b"still here")
        self.assertEqual(held.recv(100), b"still here")
        js = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.sport, timeout=5))
        srv = [s for l in js["listeners"] if l["name"] == "pool" for s in l["servers"] if s["name"] == victim][0]
        self.assertEqual(srv["status"], "DRAIN")
        # checks go on while draining
        before = int(self.row("pool", victim)["chkfail"] or 0), self.row("pool", victim)["check_status"]
        self.assertEqual(before[1], "L7OK")
        self.assertIn("%s DRAIN" % victim, self.cli("show pick pool %s" % src).split("skipped:")[1])
        # shutdown sessions ends the held one
        self.assertEqual(self.cli("shutdown sessions server pool/%s" % victim), "\n")
        held.settimeout(5)
        try:
            self.assertEqual(held.recv(100), b"", "the session was not shut down")
        except ConnectionResetError:
            pass
        held.close()
        self.assertEqual(self.cli("set server pool/%s state ready" % victim), "\n")
        self.assertEqual(self.status("pool", victim), "UP")
        self.assertEqual(self.served_by(src), victim)

    def test_maint_weight_health_reload(self):
        src = CLIENTS[1]
        victim = self.served_by(src)
        held, _ = socks_connect(self.lport, src, self.origin.port)
        self.assertEqual(self.cli("disable server pool/%s" % victim), "\n")
        self.assertEqual(self.status("pool", victim), "MAINT")
        self.assertNotEqual(self.served_by(src), victim)
        self.assertPicksTrue()
        # MAINT stops the checks: the count of checks does not move
        js = lambda: json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.sport, timeout=5))
        checks = lambda: [s for l in js()["listeners"] if l["name"] == "pool"
                          for s in l["servers"] if s["name"] == victim][0]["check"]
        n0 = checks()["counts"]["passed"]
        other = [n for n in BACKENDS if n != victim][0]
        o0 = [s for l in js()["listeners"] if l["name"] == "pool" for s in l["servers"] if s["name"] == other][0]
        wait_for(lambda: [s for l in js()["listeners"] if l["name"] == "pool" for s in l["servers"]
                          if s["name"] == other][0]["check"]["counts"]["passed"] >= o0["check"]["counts"]["passed"] + 2, 5,
                 what="other checks")
        self.assertEqual(checks()["counts"]["passed"], n0, "a server in MAINT was checked")
        # MAINT in HAProxy leaves established sessions alone
        held.sendall(b"x")
        self.assertEqual(held.recv(10), b"x")
        held.close()
        self.assertEqual(self.cli("enable server pool/%s" % victim), "\n")
        wait_for(lambda: self.status("pool", victim) == "UP", 5, what="back UP")
        self.assertEqual(self.served_by(src), victim)

        # weights: consistent hashing takes any weight; 0 takes the server out of balancing
        self.assertEqual(self.cli("set weight pool/%s 0" % victim), "\n")
        self.assertEqual(self.cli("get weight pool/%s" % victim), "0 (initial 1)\n\n")
        for c in CLIENTS[:12]:
            self.assertNotEqual(self.served_by(c), victim)
        self.assertPicksTrue()
        self.assertEqual(self.cli("set server pool/%s weight 100%%" % victim), "\n")
        self.assertEqual(self.served_by(src), victim)
        self.assertEqual(self.cli("set weight pool/a 20"), "\n")
        self.assertEqual(self.row("pool", "a")["weight"], "20")
        wins = sum(self.served_by(c) == "a" for c in CLIENTS)
        self.assertGreater(wins, len(CLIENTS) // 2, "weight 20 of 22 should win most clients")
        self.assertPicksTrue()
        self.assertEqual(self.cli("set weight pool/a 300"),
                         "Absolute weight can only be between 0 and 256 inclusive.\n\n")
        # map-based is static, as in HAProxy: only 0 and 100%
        self.assertEqual(self.cli("set weight pm/a 3"),
                         "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n\n")
        self.assertEqual(self.cli("set weight pm/a 0"), "\n")
        self.assertEqual(self.cli("get weight pm/a"), "0 (initial 2)\n\n")

        # forced health and paused checks
        self.assertEqual(self.cli("disable health pool/b"), "\n")
        self.assertEqual(self.cli("set server pool/b health down"), "\n")
        self.assertEqual(self.status("pool", "b"), "DOWN")
        state = self.cli("show servers state pool").splitlines()
        row_b = [l.split() for l in state[2:] if l and l.split()[3] == "b"][0]
        self.assertEqual(row_b[5], "0")   # srv_op_state STOPPED
        self.assertEqual(row_b[13], "2")  # srv_check_state: configured, not enabled
        for c in CLIENTS[:12]:
            self.assertNotEqual(self.served_by(c), "b")
        self.assertEqual(self.cli("enable health pool/b"), "\n")
        wait_for(lambda: self.status("pool", "b") == "UP", 5, what="checks bring b back")

        # admin states and runtime weights survive SIGHUP
        self.cli("set server pool/c state maint")
        os.kill(self.d.pid, signal.SIGHUP)
        wait_for(lambda: "Reloads: 1" in self.cli("show info"), 5, what="reload")
        self.assertEqual(self.status("pool", "c"), "MAINT")
        self.assertEqual(self.cli("get weight pool/a"), "20 (initial 1)\n\n")
        self.assertEqual(self.cli("get weight pm/a"), "0 (initial 2)\n\n")
        metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.sport, timeout=5).read().decode()
        self.assertIn('recheck_server_weight{listener="pool",server="a"} 20', metrics)

    def test_shape_matches_haproxy(self):
        """show stat's header and row shape, and show servers state's header, as real HAProxy 2.6 prints."""
        _, hsock = self.start_haproxy_pool()
        wait_for(lambda: self.haproxy_status(hsock, "pool", "c")[0] == "UP", 10, what="haproxy servers UP")
        ours, theirs = self.cli("show stat").splitlines(), self.haproxy_cmd(hsock, "show stat").splitlines()
        self.assertEqual(ours[0], theirs[0], "show stat header")
        head = theirs[0][2:].split(",")
        for mine, ref in ((ours, theirs),):
            kinds = lambda lines: [(l.split(",")[1] if l.split(",")[1] in ("FRONTEND", "BACKEND") else "srv",
                                    len(l.split(","))) for l in lines[1:] if l.startswith("pool,")]
            self.assertEqual(kinds(mine), kinds(ref))
        for line in ours[1:]:
            if not line:
                continue
            cols = line.split(",")
            self.assertEqual(len(cols), len(head), line)
            row = dict(zip(head, cols))
            self.assertEqual(row["type"], {"FRONTEND": "0", "BACKEND": "1"}.get(row["svname"], "2"))
        a_ours = dict(zip(head, [l for l in ours if l.startswith("pool,a,")][0].split(",")))
        a_ref = dict(zip(head, [l for l in theirs if l.startswith("pool,a,")][0].split(",")))
        for k in ("pxname", "svname", "status", "weight", "act", "bck", "type", "check_rise", "check_fall",
                  "check_health", "addr", "mode"):
            self.assertEqual(a_ours[k], a_ref[k], k)
        so = self.cli("show servers state pool").splitlines()
        st = self.haproxy_cmd(hsock, "show servers state pool").splitlines()
        self.assertEqual(so[:2], st[:2])
        self.assertEqual(len(so[2].split()), len(st[2].split()))
        # the same server, compared field by field where the meaning is the same
        mo = [l.split() for l in so[2:] if l and l.split()[3] == "a"][0]
        mt = [l.split() for l in st[2:] if l and l.split()[3] == "a"][0]
        for i in (1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 18):
            self.assertEqual(mo[i], mt[i], "show servers state column %d" % i)

    def test_changes_move_clients_as_haproxy(self):
        """The same runtime commands on real HAProxy 2.6 and on recheckd (same servers, same order, balance
        source + consistent hashing): every client is relayed by the same backend on both, after each one."""
        hport, hsock = self.start_haproxy_pool()
        wait_for(lambda: all(self.haproxy_status(hsock, "pool", n)[0] == "UP" for n in BACKENDS), 10,
                 what="haproxy servers UP")

        def via_haproxy(src):
            s, ip = socks_connect(hport, src, self.origin.port)
            s.close()
            return [n for n, b in BACKENDS.items() if b == ip][0]

        def compare(what):
            for c in CLIENTS[:16]:
                self.assertEqual(self.served_by(c), via_haproxy(c), "%s: client %s" % (what, c))

        compare("start")
        for cmd in ("set server pool/b state drain", "set weight pool/a 5", "set server pool/b state ready",
                    "set weight pool/c 0", "disable server pool/a", "set server pool/c weight 100%",
                    "enable server pool/a", "set server pool/a weight 50%"):
            self.assertEqual(self.haproxy_cmd(hsock, cmd), "\n", cmd)
            self.assertEqual(self.cli(cmd), "\n", cmd)
            compare(cmd)
            # the same weights are reported
            for n in BACKENDS:
                self.assertEqual(self.cli("get weight pool/%s" % n), self.haproxy_cmd(hsock, "get weight pool/%s" % n))

    def test_slowloris_cli(self):
        """2,000 half-sent command lines do not lock an operator out."""
        import time
        held = []
        for _ in range(2000):
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.sock)
            s.sendall(b"show in")
            held.append(s)
        t = time.monotonic()
        out = self.cli("show info")
        self.assertLess(time.monotonic() - t, 1.0)
        self.assertIn("Name: recheckd", out)
        for s in held:
            s.close()


if __name__ == "__main__":
    main()
