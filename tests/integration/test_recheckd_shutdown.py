#!/usr/bin/env python3
"""recheckd's `on_marked_down: shutdown-sessions` (HAProxy's `on-marked-down shutdown-sessions`).

Two backends, A and B, are echo servers in this process whose listening socket can be closed while the
sessions they already accepted keep echoing: that makes A's health check fail (L4CON, connection refused)
while A's established session would go on working. A connection's first four bytes "WHO\\n" are answered
with the backend's name and a session number (so a client knows where it landed, and the test which
session the backend saw end); anything else is echoed, which is what the tcp check (send "PING\\n",
expect "PING") relies on.

- with shutdown-sessions (listener-wide, or on server A only): once /stats.json shows A DOWN, recheckd
  closes A's client session within a bounded time (EOF or RST on the client) and its server side too;
  B's session stays open and echoing;
- without it (the default): the same sequence leaves A's session open and still echoing.
"""
import json
import os
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RECHECKD, Case, free_port, main, recv_until, wait_for, wait_port  # noqa: E402

INTER_MS, FALL, RISE, TIMEOUT_MS = 200, 1, 1, 500
# after /stats.json shows DOWN, how long recheckd may take to close the session (it is one mailbox post)
KILL_BOUND_S = 2.0
# without the option, how long the session is watched after DOWN (several check intervals)
SURVIVE_S = 1.0
SOURCES = ["127.0.0.%d" % i for i in range(2, 40)]


class EchoBackend:
    """A TCP echo server (threads of this process) whose listening socket can be closed on its own."""

    def __init__(self, name):
        self.name = name
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.ls.settimeout(0.1)
        self.port = self.ls.getsockname()[1]
        self.stop_listening_ev = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.conns = []          # accepted sockets, closed at stop()
        self.who = 0             # "WHO" sessions numbered so far
        self.ended = set()       # numbers of "WHO" sessions whose server side saw EOF or an error
        self.handlers = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        deadline = time.monotonic() + 120
        while not self.stop_listening_ev.is_set() and not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.ls.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.1)
            with self.lock:
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.handlers.append(t)
        # closing the listening socket: new connections are refused (the check fails with L4CON), the
        # accepted ones keep being served
        self.ls.close()

    def _serve(self, conn):
        deadline = time.monotonic() + 120
        head, who = b"", None
        try:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                if len(head) < 4:
                    take = 4 - len(head)
                    head += data[:take]
                    data = data[take:]
                    if len(head) < 4:
                        continue
                    if head == b"WHO\n":
                        with self.lock:
                            self.who += 1
                            who = self.who
                        conn.sendall(("%s %d\n" % (self.name, who)).encode())
                    else:
                        conn.sendall(head)
                if data:
                    conn.sendall(data)
        except OSError:
            pass
        # the peer ended (EOF after its half-close, or an error): end our side too, as an echo server does,
        # so recheckd's relay finishes sessions the test gave up on
        conn.close()
        if who is not None:
            with self.lock:
                self.ended.add(who)

    def stop_listening(self):
        self.stop_listening_ev.set()
        self.thread.join(5)

    def session_ended(self, num):
        with self.lock:
            return num in self.ended

    def stop(self):
        self.stopping.set()
        self.stop_listening_ev.set()
        self.thread.join(5)
        for t in self.handlers:
            t.join(5)
        with self.lock:
            for c in self.conns:
                c.close()


def recv_line(s, limit=256):
    return recv_until(s, lambda out: out.endswith(b"\n"), limit, 1)


class ShutdownCase(Case):
    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            return json.loads(r.read().decode("utf-8"))

    def servers(self):
        return {s["name"]: s for s in self.stats()["listeners"][0]["servers"]}

    def wait_status(self, want, timeout):
        wait_for(lambda: all(self.servers()[n]["status"] == st for n, st in want.items()), timeout, 0.02,
                 "statuses %s" % want)

    def start(self, listener_opt=None, server_a_opt=None):
        self.backends = {n: EchoBackend(n) for n in ("A", "B")}
        for b in self.backends.values():
            self.addCleanup(b.stop)
        recipe = self.write("echo.yaml", "version: 1\nname: echo\nkind: tcp\nsteps:\n"
                            "  - send: \"PING\\n\"\n    comment: \"ask the echo server\"\n"
                            "  - expect: {string: \"PING\"}\n    comment: \"it echoes\"\n")
        self.lport, self.stats_port = free_port(), free_port()
        conf = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port, "drain_timeout: 2s"]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        conf += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % self.lport]
        if listener_opt:
            conf.append("    on_marked_down: %s" % listener_opt)
        conf += ["    check: {recipe: %s, inter: %dms, rise: %d, fall: %d, timeout: %dms}" % (
            os.path.basename(recipe), INTER_MS, RISE, FALL, TIMEOUT_MS), "    servers:"]
        a = '      - {name: A, address: "127.0.0.1:%d"' % self.backends["A"].port
        if server_a_opt:
            a += ", on_marked_down: %s" % server_a_opt
        conf += [a + "}", '      - {name: B, address: "127.0.0.1:%d"}' % self.backends["B"].port]
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        chk = self.procs.start([RECHECKD, "-c", "-f", path], "recheckd-check")
        chk.wait(30)
        self.assertEqual(chk.returncode, 0, self.procs.log(chk))
        self.d = self.procs.start([RECHECKD, "-d", "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(self.d) or self.d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(self.d.poll(), self.procs.log(self.d))
        wait_port(self.stats_port)
        self.wait_status({"A": "UP", "B": "UP"}, 5)

    def session_on(self, want):
        """A client session through recheckd that landed on backend `want` (source addresses are tried
        in turn: `balance source` decides). Returns the connected socket and the backend's number for
        the session."""
        for src in SOURCES:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.bind((src, 0))
            s.connect(("127.0.0.1", self.lport))
            s.sendall(b"WHO\n")
            name, _, num = recv_line(s).strip().decode("ascii", "replace").partition(" ")
            if name == want:
                self.addCleanup(s.close)
                return s, int(num)
            s.close()
        self.fail("no source address in %s..%s lands on %s" % (SOURCES[0], SOURCES[-1], want))

    def assert_echoes(self, s, payload):
        s.settimeout(5)
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, payload, "the session no longer echoes\n" + self.procs.log(self.d)[-3000:])

    def assert_closed_soon(self, s, bound):
        """recv on s returns EOF or a reset within bound seconds; returns how long it took."""
        t0 = time.monotonic()
        s.settimeout(bound)
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            self.fail("the session is still open %.1fs after the server went DOWN\n%s" % (
                bound, self.procs.log(self.d)[-3000:]))
        self.assertEqual(data, b"", "expected EOF/RST, got data")
        return time.monotonic() - t0

    def mark_a_down(self, a_sess, b_sess):
        """Both sessions echo; A stops listening (its session keeps working); waits for A DOWN."""
        self.assert_echoes(a_sess, b"before-" + os.urandom(8).hex().encode())
        self.assert_echoes(b_sess, b"before-" + os.urandom(8).hex().encode())
        self.backends["A"].stop_listening()
        self.wait_status({"A": "DOWN"}, (FALL * INTER_MS + TIMEOUT_MS) / 1000 + 3)
        sv = self.servers()
        self.assertEqual(sv["A"]["check"]["status"], "L4CON", sv["A"])
        self.assertEqual(sv["B"]["status"], "UP")

    def shutdown_case(self, listener_opt, server_a_opt):
        self.start(listener_opt, server_a_opt)
        (a_sess, a_num), (b_sess, b_num) = self.session_on("A"), self.session_on("B")
        self.mark_a_down(a_sess, b_sess)
        took = self.assert_closed_soon(a_sess, KILL_BOUND_S)
        # the server side of the session is closed too, not only the client's
        wait_for(lambda: self.backends["A"].session_ended(a_num), KILL_BOUND_S, what="A's side of the session closed")
        # only A's sessions: B's stays open and echoing
        time.sleep(SURVIVE_S)
        self.assert_echoes(b_sess, b"after-" + os.urandom(8).hex().encode())
        self.assertFalse(self.backends["B"].session_ended(b_num), "B's side of its session was closed")
        wait_for(lambda: self.servers()["A"]["connections"]["current"] == 0, 2, what="A's connections at 0")
        self.assertEqual(self.servers()["B"]["connections"]["current"], 1)
        b_sess.close()
        log = self.clean_exit(self.d, rc=0)
        self.assertIn("pool/A: session shut down (server marked down, shutdown-sessions)", log)
        self.assertNotIn("pool/B: session shut down", log)
        return took

    def test_shutdown_sessions_listener(self):
        self.shutdown_case("shutdown-sessions", None)

    def test_shutdown_sessions_server_override(self):
        # the listener says none, server A overrides it
        self.shutdown_case("none", "shutdown-sessions")

    def test_default_keeps_sessions(self):
        self.start()
        (a_sess, a_num), (b_sess, b_num) = self.session_on("A"), self.session_on("B")
        self.mark_a_down(a_sess, b_sess)
        time.sleep(SURVIVE_S)
        self.assertEqual(self.servers()["A"]["status"], "DOWN")
        self.assert_echoes(a_sess, b"after-" + os.urandom(8).hex().encode())
        self.assert_echoes(b_sess, b"after-" + os.urandom(8).hex().encode())
        self.assertFalse(self.backends["A"].session_ended(a_num), "A's side of its session was closed")
        self.assertFalse(self.backends["B"].session_ended(b_num), "B's side of its session was closed")
        sv = self.servers()
        self.assertEqual((sv["A"]["connections"]["current"], sv["B"]["connections"]["current"]), (1, 1))
        a_sess.close()
        b_sess.close()
        log = self.clean_exit(self.d, rc=0)
        self.assertNotIn("session shut down", log)


if __name__ == "__main__":
    main()
