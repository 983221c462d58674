#!/usr/bin/env python3
"""Misbehaving servers (issue 6): `recheck replay` and recheckd's health checks against the scripted
server (tests/fixtures/scriptsrv.c) in every fault scenario, and a listener whose backlog is full.

For each scenario: replay reaches the right verdict (status name and exit code) inside the elapsed-time
bound the timeout sets, with no signal and no sanitizer report; recheckd, with one server per scenario,
reaches the right state (UP/DOWN and the check status in /stats.json), does not crash, and neither its
fd count nor its RSS grows over ~50 check rounds at inter 100ms.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import proc_fds, proc_rss_kib  # noqa: E402

SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")

S5 = "local/socks5-local-204.yaml"       # SOCKS5 greeting, CONNECT, HTTP GET through the tunnel
HP = "local/http-proxy-local-204.yaml"   # absolute-URI GET through an HTTP forward proxy
HC = "local/http-local-204.yaml"         # kind: http (http-check expect status 204)

# The good SOCKS5 conversation, dripped one byte every 100 ms: 2 + 10 + 12 bytes, about 2.4 s.
DRIP = ("expect 3; drip 100 \\x05\\x00; expect 10; drip 100 \\x05\\x00\\x00\\x01\\x7f\\x00\\x00\\x01\\x47\\x1c; "
        "recv; drip 100 HTTP/1.1 204\\r\\n; hang")

# name: (scriptsrv script or None for the full-backlog listener, recipe, replay timeout in s,
#        accepted statuses, exit code, min elapsed s, max elapsed s, text the replay output must contain)
SCENARIOS = {
    "silent":           ("hang", S5, 1.0, {"L7TOUT"}, 1, 1.0, 2.0, "received: nothing"),
    # The server closes with the greeting unread, so the kernel answers with a RST: a socket error,
    # or the empty-response L7RSP when the FIN is read before the RST arrives.
    "close_at_once":    ("close", S5, 2.0, {"SOCKERR", "L7RSP"}, 1, 0.0, 1.5, "step 3"),
    "close_after_read": ("expect 3; close", S5, 2.0, {"L7RSP"}, 1, 0.0, 1.5, "TCPCHK got an empty response at step 3"),
    "reset_mid_reply":  ("expect 3; sendhex 0500; expect 10; sendhex 050000; sleep 50; reset", S5, 2.0, {"L7RSP"},
                         1, 0.0, 1.5, "step 5:   expect rbinary"),
    "reset_before_reply": ("expect 3; sendhex 0500; expect 10; reset", S5, 2.0, {"SOCKERR"}, 1, 0.0, 1.5,
                           "Connection reset by peer at step 5"),
    "garbage_close":    ("expect 3; send \\x00\\xffGARBAGE\\r\\n; close", S5, 2.0, {"L7RSP"}, 1, 0.0, 1.5,
                         "first difference at offset 0"),
    "garbage_open":     ("expect 3; send \\x00\\xffGARBAGE\\r\\n; hang", S5, 1.0, {"L7TOUT"}, 1, 1.0, 2.0,
                         "first difference at offset 0"),
    "drip_inside":      (DRIP, S5, 5.0, {"L7OK"}, 0, 2.0, 4.5, "OK L7OK"),
    "after_timeout":    ("expect 3; sleep 2000; sendhex 0500; hang", S5, 1.0, {"L7TOUT"}, 1, 1.0, 2.0,
                         "received: nothing"),
    "junk_1mib":        ("expect 3; junk 1048576; hang", S5, 5.0, {"L7RSP"}, 1, 0.0, 2.0,
                         "received: 16384 bytes (first 4096 shown)"),
    "socks_rep4":       ("expect 3; sendhex 0500; expect 10; sendhex 05040001000000000000; close", S5, 2.0,
                         {"L7RSP"}, 1, 0.0, 1.5, "05 [04]"),
    "socks_rep5":       ("expect 3; sendhex 0500; expect 10; sendhex 05050001000000000000; close", S5, 2.0,
                         {"L7RSP"}, 1, 0.0, 1.5, "05 [05]"),
    # HAProxy semantics: a wrong answer on a connection kept open waits for more, then times out.
    "socks_rep4_open":  ("expect 3; sendhex 0500; expect 10; sendhex 05040001000000000000; hang", S5, 1.0,
                         {"L7TOUT"}, 1, 1.0, 2.0, "step 5"),
    "proxy_502":        ("recv; send HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n; close",
                         HP, 2.0, {"L7RSP"}, 1, 0.0, 1.5, "HTTP/1.1 502 Bad"),
    "httpchk_502":      ("recv; send HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n; close",
                         HC, 2.0, {"L7STS"}, 1, 0.0, 1.5, "HTTP:     status 502"),
    "backlog_full":     (None, S5, 1.5, {"L4TOUT"}, 4, 1.5, 2.5, "step 1:   connect"),
}


def is_sanitized(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


class Base(harness.Case):
    def start_scenario(self, name, port=0):
        script = SCENARIOS[name][0]
        if script is None:
            return self.full_backlog(port)
        return self.start_scriptsrv(script, port)[1]

    def recipe(self, rel):
        dest = self.path(os.path.basename(rel))
        if not os.path.exists(dest):
            harness.sample_for_port(rel, 18204, dest)
        return dest

    def replay(self, recipe, port, timeout_s):
        """Runs recheck replay; returns (returncode, stdout, stderr, elapsed s)."""
        t0 = time.monotonic()
        p = subprocess.Popen([harness.RECHECK, "replay", recipe, "--server", "127.0.0.1:%d" % port,
                              "--timeout", "%dms" % int(timeout_s * 1000)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=timeout_s + 30)
        took = time.monotonic() - t0
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), took


class Replay(Base):
    def check_replay(self, name):
        script, rel, tmo, statuses, rc, lo, hi, text = SCENARIOS[name]
        port = self.start_scenario(name)
        code, out, err, took = self.replay(self.recipe(rel), port, tmo)
        msg = "%s: exit %d in %.2fs\nstdout:\n%s\nstderr:\n%s" % (name, code, took, out, err)
        self.assertGreaterEqual(code, 0, "killed by a signal: " + msg)
        self.assertIsNone(SANITIZER.search(err), "sanitizer report: " + msg)
        self.assertEqual(code, rc, msg)
        m = re.match(r"^(OK|FAIL) (\w+) ", out)
        self.assertTrue(m, msg)
        self.assertIn(m.group(2), statuses, msg)
        self.assertIn(text, out, msg)
        self.assertGreaterEqual(took, lo, msg)
        self.assertLess(took, hi, msg)
        sys.stderr.write("replay %-18s %s exit %d in %.2fs (timeout %.1fs)\n" % (name, m.group(2), code, took, tmo))

    def test_replay_silent(self):
        self.check_replay("silent")

    def test_replay_close_at_once(self):
        self.check_replay("close_at_once")

    def test_replay_close_after_read(self):
        self.check_replay("close_after_read")

    def test_replay_reset_mid_socks5_reply(self):
        self.check_replay("reset_mid_reply")
        self.check_replay("reset_before_reply")

    def test_replay_garbage(self):
        self.check_replay("garbage_close")
        self.check_replay("garbage_open")

    def test_replay_drip_inside_timeout_passes(self):
        self.check_replay("drip_inside")

    def test_replay_answer_after_timeout(self):
        self.check_replay("after_timeout")

    def test_replay_socks5_rep_4_and_5(self):
        self.check_replay("socks_rep4")
        self.check_replay("socks_rep5")
        self.check_replay("socks_rep4_open")

    def test_replay_http_502(self):
        self.check_replay("proxy_502")
        self.check_replay("httpchk_502")

    def test_replay_backlog_full(self):
        self.check_replay("backlog_full")

    def test_replay_1mib_junk_memory_is_bounded(self):
        self.check_replay("junk_1mib")
        # Max RSS of one replay against the flood vs one against a silent port: the 1 MiB must not be
        # buffered (the engine keeps 16 KiB, like HAProxy's tune.bufsize). Each measured in a fresh
        # child of a fresh Python so RUSAGE_CHILDREN is that one run.
        def maxrss(port):
            code = ("import resource,subprocess,sys;"
                    "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
            res = subprocess.run([sys.executable, "-c", code, harness.RECHECK, "replay", self.recipe(S5),
                                  "--server", "127.0.0.1:%d" % port, "--timeout", "1s"],
                                 capture_output=True, text=True, timeout=30)
            return int(res.stdout.strip())
        flood = maxrss(self.start_scriptsrv(SCENARIOS["junk_1mib"][0])[1])
        quiet = maxrss(self.start_scriptsrv("expect 3; close")[1])
        sys.stderr.write("replay max RSS: 1 MiB flood %d KiB, empty answer %d KiB\n" % (flood, quiet))
        self.assertLess(flood - quiet, 1024, "the flood grew replay's RSS by %d KiB" % (flood - quiet))


# --- recheckd ---------------------------------------------------------------------------------------

class Daemon(Base):
    ROUNDS = int(os.environ.get("RECHECK_MISBEHAVING_ROUNDS", "50"))

    def stats(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % port, timeout=5) as r:
            return json.loads(r.read().decode())

    def servers(self, port):
        out = {}
        for li in self.stats(port)["listeners"]:
            for s in li["servers"]:
                out[s["name"]] = s
        return out

    def test_recheckd_reaches_each_state_without_growth(self):
        if not os.access(harness.RECHECKD, os.X_OK):
            self.skipTest("no recheckd")
        names = list(SCENARIOS)
        ports = {n: harness.free_port() for n in names}
        stats_port, lport_s5, lport_hp, lport_hc = (harness.free_port() for _ in range(4))
        for rel in (S5, HP, HC):
            self.recipe(rel)
        lines = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % stats_port, "drain_timeout: 1s"]
        if os.geteuid() == 0:
            lines.append("allow_root: true")
        lines.append("listeners:")
        for lname, lport, rel in (("s5", lport_s5, S5), ("hp", lport_hp, HP), ("hc", lport_hc, HC)):
            lines += ["  - name: %s" % lname, '    bind: "127.0.0.1:%d"' % lport,
                      "    check: {recipe: %s, inter: 100ms, timeout: 300ms, rise: 1, fall: 1}"
                      % os.path.basename(rel), "    servers:"]
            for n in names:
                if SCENARIOS[n][1] != rel:
                    continue
                extra = ", check: {timeout: 4s}" if n == "drip_inside" else ""
                lines.append('      - {name: %s, address: "127.0.0.1:%d"%s}' % (n, ports[n], extra))
        conf = self.write("recheckd.yaml", "\n".join(lines) + "\n")
        d = self.procs.start([harness.RECHECKD, "-f", conf, "-d"], "recheckd")
        harness.wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(d.poll(), self.procs.log(d))

        # Baseline: nothing listens yet, every check is a quick L4CON and no check socket stays open.
        harness.wait_for(lambda: all(s["check"]["status"] == "L4CON" for s in self.servers(stats_port).values()),
                         10, what="every server L4CON")
        time.sleep(0.5)
        base_fds = min(proc_fds(d.pid) for _ in range(20) if time.sleep(0.01) is None)
        base_rss = proc_rss_kib(d.pid)

        for n in names:
            self.start_scenario(n, ports[n])
        start_counts = {n: s["check"]["counts"]["failed"] + s["check"]["counts"]["passed"]
                        for n, s in self.servers(stats_port).items()}

        def reached():
            srv = self.servers(stats_port)
            for n in names:
                want_up = SCENARIOS[n][3] == {"L7OK"}
                st = srv[n]
                if st["check"]["status"] not in SCENARIOS[n][3] or st["up"] != want_up:
                    return None
            return srv
        srv = harness.wait_for(reached, 15, 0.1, what="every scenario's state")
        for n in names:
            sys.stderr.write("recheckd %-18s %-4s %s\n" % (n, srv[n]["status"], srv[n]["check"]["status"]))
        self.assertEqual(srv["drip_inside"]["status"], "UP")

        # ~ROUNDS check rounds of the quick scenarios (the slow ones run as many as their timeout allows)
        quick = [n for n in names if SCENARIOS[n][5] == 0.0]  # fail at once, no deadline involved

        def rounds_done():
            srv = self.servers(stats_port)
            done = min(srv[n]["check"]["counts"]["failed"] + srv[n]["check"]["counts"]["passed"] - start_counts[n]
                       for n in quick)
            return done >= self.ROUNDS
        harness.wait_for(rounds_done, self.ROUNDS * 0.6 + 10, 0.2, what="%d check rounds" % self.ROUNDS)
        self.assertIsNone(d.poll(), "recheckd died:\n" + self.procs.log(d))
        mid_rss = proc_rss_kib(d.pid)

        # Stop every scenario server: checks go back to quick L4CON and every check socket must be gone.
        for p in list(self.procs.procs):
            if p.name == "scriptsrv":
                self.procs.stop(p)
        self.close_backlog()
        harness.wait_for(lambda: all(s["check"]["status"] == "L4CON" and not s["check"]["running"]
                                     for s in self.servers(stats_port).values()), 10, what="back to L4CON")
        time.sleep(0.5)
        end_fds = min(proc_fds(d.pid) for _ in range(20) if time.sleep(0.01) is None)
        end_rss = proc_rss_kib(d.pid)
        sys.stderr.write("recheckd fds %d -> %d, VmRSS %d KiB -> %d KiB (after the rounds) -> %d KiB\n"
                         % (base_fds, end_fds, base_rss, mid_rss, end_rss))
        self.assertEqual(end_fds, base_fds, "fd count")
        limit = 64 * 1024 if is_sanitized(harness.RECHECKD) else 4 * 1024
        self.assertLess(end_rss - base_rss, limit, "RSS growth %d KiB" % (end_rss - base_rss))

        log = self.procs.log(d)
        self.assertIsNone(SANITIZER.search(log), log[-4000:])
        self.procs.stop(d)
        self.assertEqual(d.returncode, 0, "recheckd exit status %r\n%s" % (d.returncode, log[-4000:]))


if __name__ == "__main__":
    harness.main()
