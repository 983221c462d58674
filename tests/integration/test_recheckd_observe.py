#!/usr/bin/env python3
"""recheckd's passive health: `observe: layer4`, `error_limit`, `on_error` (HAProxy 2.6's observe layer4).

The checks are far apart (inter 60s: after the first one, none runs during a test unless passive health
brings it forward), rise 2, fall 3 (health 0..4, UP from 2). The one server is killed (its port refuses);
each client is then one refused connect (retries: 0). With error_limit 3, every third client applies
on_error, and the stats show what HAProxy's health counter would:
- fail-check: one failed check per trigger: UP for two triggers, DOWN at the third (fall 3);
- sudden-death: the first trigger leaves the server one failed check from DOWN, the second marks it DOWN;
- mark-down: DOWN at the first trigger;
- fastinter: the health is untouched, but the next check comes after fastinter (200ms) instead of
  60s, so the checks themselves mark the server DOWN within about a second;
- a successful connect clears the run of errors (two errors, a success, two errors: no trigger).
The same configuration exported (`recheck export --config`) runs on HAProxy 2.6 and, read back, on
recheckd (`recheckd -f haproxy.cfg`): all three show the same status, health and hanafail after every
third refused client, for fail-check, sudden-death and mark-down.
"""
import csv
import json
import os
import socket
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

CONNECT_ONLY = "version: 1\nname: connect-only\nkind: tcp\nsteps:\n  - connect: {}\n"


class Observe(harness.Case):
    def start(self, on_error, extra="", engine="recheckd", cfg=None):
        self.ns = lbparity.NameServer(["s1"])
        self.addCleanup(lambda: self.ns.stop())
        self.srv_port = self.ns.ports["s1"]
        port, stats_port = free_port(), free_port()
        self.engine = engine
        self.write("connect-only.yaml", CONNECT_ONLY)
        lines = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % stats_port]
        if os.geteuid() == 0:
            lines.append("allow_root: true")
        lines += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % port, "    retries: 0",
                  "    check: {recipe: connect-only.yaml, inter: 60s, rise: 2, fall: 3, timeout: 1s, "
                  "observe: layer4, error_limit: 3, on_error: %s%s}" % (on_error, extra),
                  "    servers:", '      - {name: s1, address: "127.0.0.1:%d"}' % self.srv_port]
        path = self.write("%s.yaml" % on_error, "\n".join(lines) + "\n")
        if engine != "recheckd" or cfg:
            cfgpath = self.path("%s.cfg" % on_error)
            self.assertRc(self.recheck("export", "--config", path, "-o", cfgpath), 0)
            with open(cfgpath) as f:
                text = f.read()
            self.assertIn("observe layer4 error-limit 3%s" % ("" if on_error == "fail-check" else
                                                               " on-error " + on_error), text)
            path = cfgpath
        if engine == "haproxy":
            exe = harness.which("haproxy")
            chk = subprocess.run([exe, "-c", "-f", path], capture_output=True, text=True, timeout=30)
            self.assertEqual(chk.returncode, 0, chk.stdout + chk.stderr)
            p = self.procs.start([exe, "-db", "-f", path], "haproxy-" + on_error)
            wait_port(port)
        else:
            p = self.procs.start([RECHECKD, "-f", path], "recheckd-" + on_error)
            self.addCleanup(self.clean_exit, p)
            wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(p.poll(), "%s exited:\n%s" % (engine, self.procs.log(p)))
        wait_port(stats_port)
        self.stats_port, self.port, self.p = stats_port, port, p
        # the first check (at once) brings the server fully UP
        wait_for(lambda: self.server()["check"]["health"] == 4, 10, what="health 4/4")
        return p

    def server(self):
        if self.engine == "haproxy":
            with urllib.request.urlopen("http://127.0.0.1:%d/;csv" % self.stats_port, timeout=5) as r:
                lines = r.read().decode().splitlines()
            head = lines[0].lstrip("# ").split(",")
            # check_desc holds commas ("Detected 3 consecutive errors, last one ..."): HAProxy quotes it
            row = [dict(zip(head, r)) for r in csv.reader(lines[1:]) if r[:2] == ["pool", "s1"]][0]
            return {"status": row["status"], "check": {"health": int(row["check_health"] or 0)},
                    "passive_health": {"triggered": int(row["hanafail"] or 0)}}
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            return json.loads(r.read())["listeners"][0]["servers"][0]

    def client(self):
        """One client; returns what it read (b"s1\\n" when served, b"" when closed unserved)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.settimeout(5)
            data = b""
            while True:
                chunk = s.recv(64)
                if not chunk:
                    return data
                data += chunk

    def refuse(self, n):
        for _ in range(n):
            self.assertEqual(self.client(), b"")

    def expect(self, health, status, triggered):
        wait_for(lambda: self.server()["passive_health"]["triggered"] == triggered, 5,
                 what="passive health triggered %d times" % triggered)
        sv = self.server()
        self.assertEqual((sv["check"]["health"], sv["status"]), (health, status), json.dumps(sv))

    def test_fail_check(self):
        self.start("fail-check")
        self.ns.stop()
        self.refuse(2)
        self.assertEqual(self.server()["passive_health"]["consecutive_errors"], 2)
        self.refuse(1)
        self.expect(3, "UP 2/3", 1)
        self.refuse(3)
        self.expect(2, "UP 1/3", 2)
        self.refuse(3)
        self.expect(0, "DOWN", 3)
        self.assertIn("Server pool/s1 is DOWN, reason: Health analyze, info: \"Detected 3 consecutive errors, "
                      "last one was: L4 unsuccessful connection\"", self.procs.log(self.p))
        self.assertEqual(self.server()["check"]["status"], "L4OK", "no real check ran after the first")

    def test_sudden_death(self):
        self.start("sudden-death")
        self.ns.stop()
        self.refuse(3)
        self.expect(2, "UP 1/3", 1)
        self.refuse(3)
        self.expect(0, "DOWN", 2)

    def test_mark_down(self):
        self.start("mark-down")
        self.ns.stop()
        self.refuse(3)
        self.expect(0, "DOWN", 1)
        rec = self.server()["transitions"]["recent"][0]
        self.assertEqual((rec["from"], rec["to"], rec["kind"]), ("UP", "DOWN", "HANA"), json.dumps(rec))
        self.assertIn("Detected 3 consecutive errors", rec["description"])
        # no server left: the next client is closed at once without a connect
        self.assertEqual(self.client(), b"")
        self.assertEqual(self.server()["passive_health"]["triggered"], 1)

    def test_fastinter(self):
        self.start("fastinter", ", fastinter: 200ms")
        self.ns.stop()
        self.refuse(3)
        # the checks, brought forward to fastinter, find the server dead: DOWN after fall (3) of them
        wait_for(lambda: self.server()["status"] == "DOWN", 3, what="DOWN by checks at fastinter")
        sv = self.server()
        self.assertEqual(sv["passive_health"]["triggered"], 1)
        self.assertEqual(sv["check"]["status"], "L4CON")

    def test_same_as_haproxy(self):
        if not harness.which("haproxy"):
            self.skipTest("haproxy is not installed")
        for on_error in ("fail-check", "sudden-death", "mark-down"):
            seen = {}
            for engine, cfg in (("recheckd", None), ("haproxy", True), ("recheckd", True)):
                with self.subTest(on_error=on_error, engine=engine, cfg=cfg):
                    p = self.start(on_error, engine=engine, cfg=cfg)
                    self.ns.stop()
                    got = []
                    while len(got) < 3 and not (got and got[-1][0] == "DOWN"):  # DOWN: no more connects
                        self.refuse(3)
                        n = len(got) + 1
                        wait_for(lambda: self.server()["passive_health"]["triggered"] == n, 5,
                                 what="%s: triggered %d" % (engine, n))
                        sv = self.server()
                        got.append((sv["status"], sv["check"]["health"]))
                    seen[(engine, cfg)] = got
                    self.procs.stop(p)
            want = {"fail-check": [("UP 2/3", 3), ("UP 1/3", 2), ("DOWN", 0)],
                    "sudden-death": [("UP 1/3", 2), ("DOWN", 0)],
                    "mark-down": [("DOWN", 0)]}[on_error]
            for k, v in seen.items():
                self.assertEqual(v, want, "%s on %s: %s" % (on_error, k, seen))

    def test_success_clears_the_run(self):
        self.start("mark-down")
        self.ns.stop()
        self.refuse(2)
        self.ns = lbparity.NameServer(["s1"], [self.srv_port])
        self.assertEqual(self.client(), b"s1\n")
        self.assertEqual(self.server()["passive_health"]["consecutive_errors"], 0)
        self.ns.stop()
        self.refuse(2)
        sv = self.server()
        self.assertEqual((sv["status"], sv["passive_health"]["triggered"], sv["passive_health"]["consecutive_errors"]),
                         ("UP", 0, 2))
        self.refuse(1)
        self.expect(0, "DOWN", 1)


if __name__ == "__main__":
    main()
