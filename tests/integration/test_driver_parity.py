#!/usr/bin/env python3
"""One socket driver (src/check_io.c): the same scripted misbehaving servers (tests/fixtures/scriptsrv.c)
checked by `recheck replay` (checknet.c's poll() loop) and by recheckd (runner/health.c on its epoll
loop) give the same verdict: the same status (L4CON, L7RSP, L7TOUT, ...), the same failing step and
description, and the same timing class (ended early, in the middle of the timeout, or at the deadline).

Every case also has its expected status and class, so a driver that drifted in both programs at once
still fails. recheckd runs one server per case, with the case's recipe and the same timeout as replay;
its first result per server is read from /stats.json.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import RECHECKD, free_port, wait_for, wait_port  # noqa: E402

SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")

TIMEOUT_MS = 1500
# Timing classes, from the check's own duration: "early" well before anything the scripts delay,
# "middle" for answers the scripts hold back 700 ms, "deadline" for the one deadline of the run.
EARLY_MS, DEADLINE_MS = 400, int(TIMEOUT_MS * 0.9)

S5 = "local/socks5-local-204.yaml"      # SOCKS5 greeting, CONNECT, HTTP GET through the tunnel
HP = "local/http-proxy-local-204.yaml"  # absolute-URI GET through an HTTP forward proxy
HC = "local/http-local-204.yaml"        # kind: http (http-check expect status 204)
TWO_SENDS = """version: 1
name: two-sends
kind: tcp
steps:
  - connect: {}
  - send: "PING"
  - send: "PONG"
  - expect: {string: "OK"}
    comment: "both sends arrived"
"""

SOCKS_OK = "sendhex 050000017f000001471c"  # CONNECT reply: succeeded, bound to 127.0.0.1:18204

# name: (scriptsrv script, or "refused" / "backlog" for a closed port / a full listen queue;
#        recipe; expected status; expected class)
CASES = {
    "silent":             ("hang", S5, "L7TOUT", "deadline"),
    "close_after_read":   ("expect 3; close", S5, "L7RSP", "early"),
    "reset_before_reply": ("expect 3; sendhex 0500; expect 10; reset", S5, "SOCKERR", "early"),
    "reset_mid_reply":    ("expect 3; sendhex 0500; expect 10; sendhex 050000; sleep 50; reset", S5, "L7RSP",
                           "early"),
    "garbage_close":      ("expect 3; send \\x00\\xffGARBAGE\\r\\n; close", S5, "L7RSP", "early"),
    "garbage_open":       ("expect 3; send \\x00\\xffGARBAGE\\r\\n; hang", S5, "L7TOUT", "deadline"),
    "socks_rep4":         ("expect 3; sendhex 0500; expect 10; sendhex 05040001000000000000; close", S5, "L7RSP",
                           "early"),
    "junk_1mib":          ("expect 3; junk 1048576; hang", S5, "L7RSP", "early"),
    "slow_greeting_ok":   ("expect 3; sleep 700; sendhex 0500; expect 10; %s; recv; "
                           "send HTTP/1.1 204 No Content\\r\\n\\r\\n; hang" % SOCKS_OK, S5, "L7OK", "middle"),
    "stalls_mid_tunnel":  ("expect 3; sendhex 0500; expect 10; %s; recv; hang" % SOCKS_OK, S5, "L7TOUT",
                           "deadline"),
    "proxy_502":          ("recv; send HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n; close", HP,
                           "L7RSP", "early"),
    "httpchk_502":        ("recv; send HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n; close", HC,
                           "L7STS", "early"),
    "httpchk_late_204":   ("recv; sleep 700; send HTTP/1.1 204 No Content\\r\\n\\r\\n; hang", HC, "L7OK", "middle"),
    "httpchk_silent":     ("recv; hang", HC, "L7TOUT", "deadline"),
    "two_sends":          ("expect 8; send OK; hang", "two-sends", "L7OK", "early"),
    "refused":            ("refused", S5, "L4CON", "early"),
    "backlog_full":       ("backlog", S5, "L4TOUT", "deadline"),
}


def timing_class(ms):
    if ms < EARLY_MS:
        return "early"
    if ms >= DEADLINE_MS:
        return "deadline"
    return "middle"


class DriverParity(harness.Case):
    def server_port(self, script):
        if script == "refused":
            return free_port()
        if script == "backlog":
            return self.full_backlog()
        return self.scriptsrv_port(script)

    def recipe(self, rel):
        if rel == "two-sends":
            return self.write("two-sends.yaml", TWO_SENDS)
        dest = self.path(os.path.basename(rel))
        if not os.path.exists(dest):
            harness.sample_for_port(rel, 18204, dest)
        return dest

    def replay(self, recipe, port):
        return subprocess.Popen([harness.RECHECK, "replay", recipe, "--server", "127.0.0.1:%d" % port,
                                 "--timeout", "%dms" % TIMEOUT_MS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    @staticmethod
    def parse_replay(name, p):
        """(status, failing step or None, description or None, duration ms) from replay's output."""
        out, err = p.communicate(timeout=TIMEOUT_MS / 1000 + 30)
        msg = "%s: replay exit %d\nstdout:\n%s\nstderr:\n%s" % (name, p.returncode, out, err)
        if p.returncode < 0 or SANITIZER.search(err):
            raise AssertionError("replay crashed or sanitizer report: " + msg)
        m = re.match(r"^(OK|FAIL) (\w+) ([0-9.]+)ms(?:: (.*))?$", out.splitlines()[0] if out else "")
        if not m:
            raise AssertionError("unexpected replay output: " + msg)
        if m.group(1) == "OK":
            return m.group(2), None, None, float(m.group(3))
        step = re.search(r"^  step (\d+):", out, re.M)
        return m.group(2), int(step.group(1)) if step else None, m.group(4), float(m.group(3))

    def start_recheckd(self, servers):
        """servers: [(name, port, recipe path)]. Returns (process, stats port)."""
        lport, sport = free_port(), free_port()
        conf = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % sport]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        # inter under 1 s: the first checks start spread over it; the next ones come inter after the end
        conf += ["listeners:", "  - name: parity", '    bind: "127.0.0.1:%d"' % lport,
                 "    check: {recipe: %s, inter: 900ms, rise: 1, fall: 1, timeout: %dms}" % (
                     os.path.basename(servers[0][2]), TIMEOUT_MS),
                 "    servers:"]
        for name, port, recipe in servers:
            conf.append('      - {name: %s, address: "127.0.0.1:%d", check: {recipe: %s}}' % (
                name, port, os.path.basename(recipe)))
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(d.poll(), self.procs.log(d))
        wait_port(sport)
        return d, sport

    def test_replay_and_recheckd_agree(self):
        self.assertTrue(os.access(harness.SCRIPTSRV, os.X_OK), "build the fixtures first: %s" % harness.SCRIPTSRV)
        servers = []
        for name, (script, rel, _, _) in CASES.items():
            servers.append((name, self.server_port(script), self.recipe(rel)))
        d, sport = self.start_recheckd(servers)
        first = {}

        def collect():
            if d.poll() is not None:
                raise AssertionError("recheckd exited:\n" + self.procs.log(d))
            with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5) as r:
                for s in json.loads(r.read().decode())["listeners"][0]["servers"]:
                    c = s["check"]
                    if s["name"] not in first and c["status"] not in ("INI", ""):
                        first[s["name"]] = (c["status"], c["step"], c["description"], float(c["duration_ms"]))
            return len(first) == len(CASES)
        wait_for(collect, 20, 0.03, "a first check result for every server")
        # one replay at a time, so that the machine's load does not blur the timing classes
        ours = {name: self.parse_replay(name, self.replay(recipe, port)) for name, port, recipe in servers}

        rows, bad = [], []
        for name, (_, _, want_st, want_cls) in CASES.items():
            r_st, r_step, r_desc, r_ms = ours[name]
            d_st, d_step, d_desc, d_ms = first[name]
            r_cls, d_cls = timing_class(r_ms), timing_class(d_ms)
            rows.append("%-19s replay %-7s step %-4s %6.0fms %-8s | recheckd %-7s step %-4s %6.0fms %-8s" % (
                name, r_st, r_step, r_ms, r_cls, d_st, d_step, d_ms, d_cls))
            if (r_st, r_step, r_cls) != (d_st, d_step, d_cls):
                bad.append("%s: replay %s step %s %s (%.0f ms), recheckd %s step %s %s (%.0f ms)" % (
                    name, r_st, r_step, r_cls, r_ms, d_st, d_step, d_cls, d_ms))
            elif r_desc is not None and r_desc != d_desc:
                bad.append("%s: descriptions differ: replay %r, recheckd %r" % (name, r_desc, d_desc))
            if (r_st, r_cls) != (want_st, want_cls):
                bad.append("%s: expected %s %s, both gave %s %s" % (name, want_st, want_cls, r_st, r_cls))
        sys.stderr.write("\n".join(rows) + "\n")
        self.assertEqual(bad, [], "\n".join(bad))
        self.procs.stop(d)
        self.assertEqual(d.returncode, 0, self.procs.log(d)[-3000:])
        self.assertIsNone(SANITIZER.search(self.procs.log(d)), self.procs.log(d)[-3000:])


if __name__ == "__main__":
    harness.main()
