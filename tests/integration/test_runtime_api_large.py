#!/usr/bin/env python3
"""recheckd's runtime API with answers far larger than one buffer: 40,000 servers (40 listeners of 1,000),
about 10 MB of `show stat` (the old limit cut it silently at 8 MB). HAProxy streams answers of any size; recheckd streams them one listener at a
time (runner/cli.h), so every row must arrive: the test counts the rows of `show stat` and
`show servers state` against the server count, checks that the commands after a streamed answer on the
same line (and on the next lines of an interactive session) still run, in order, and that a session that
stops reading does not stop the daemon from answering others.

The servers have no checks and nothing connects to them: only the answers are under test."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RECHECKD, Case, free_port, main, wait_for  # noqa: E402

LISTENERS = 40
PER_LISTENER = 1000
SERVERS = LISTENERS * PER_LISTENER


def name(k):
    return "s%d" % k


def lname(i):
    return "listener-%02d-of-a-configuration-with-very-many-servers-in-it" % i


class RuntimeApiLarge(Case):
    def setUp(self):
        super().setUp()
        self.sock = self.path("admin.sock")
        # HAProxy's format, the most compact one recheckd reads (a configuration file is at most 1 MiB):
        # long listener names make long rows at no cost per server
        self.binds = [free_port() for _ in range(LISTENERS)]
        self.conf = self.write_conf(PER_LISTENER)
        self.d = self.procs.start([RECHECKD, "-f", self.conf], "recheckd")
        wait_for(lambda: os.path.exists(self.sock) or self.d.poll() is not None, 30, what="runtime API socket")
        self.assertIsNone(self.d.poll(), self.procs.log(self.d))

    def write_conf(self, per_listener):
        lines = ["global", "    nbthread 1", "    stats socket %s" % self.sock]
        if os.geteuid() == 0:
            lines.append("    user root")
        lines += ["defaults", "    mode tcp", "    balance source"]
        for i in range(LISTENERS):
            lines += ["listen %s" % lname(i), "bind 127.0.0.1:%d" % self.binds[i]]
            lines += ["server %s 127.0.0.1:9" % name(k) for k in range(per_listener)]
        return self.write("haproxy.cfg", "\n".join(lines) + "\n")

    def read_all(self, s, deadline=60):
        chunks = []
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            b = s.recv(1 << 16)
            if not b:
                return b"".join(chunks).decode()
            chunks.append(b)
        self.fail("no end of answer within %d s (%d bytes so far)" % (deadline, sum(map(len, chunks))))

    def tearDown(self):
        self.assertIsNone(self.d.poll(), "recheckd died:\n" + self.procs.log(self.d))
        self.procs.stop(self.d)
        log = self.procs.log(self.d)
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(mark, log)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.sock)
        return s

    def ask(self, text, deadline=60):
        """Sends text, reads until recheckd closes (bounded in time), returns the whole answer."""
        s = self.connect()
        chunks = []
        end = time.monotonic() + deadline
        try:
            s.sendall(text.encode())
            while time.monotonic() < end:
                b = s.recv(1 << 16)
                if not b:
                    return b"".join(chunks).decode()
                chunks.append(b)
        finally:
            s.close()
        self.fail("no end of answer within %d s (%d bytes so far)" % (deadline, sum(map(len, chunks))))

    def stat_rows(self, csv):
        kinds = {"FRONTEND": 0, "BACKEND": 0, "server": 0}
        for ln in csv.splitlines():
            if ln and not ln.startswith("#"):
                sv = ln.split(",", 2)[1]
                kinds[sv if sv in ("FRONTEND", "BACKEND") else "server"] += 1
        return kinds

    def part_show_stat_every_row(self):
        ans = self.ask("show stat\n")
        self.assertGreater(len(ans), 8 << 20, "the answer is expected to exceed the old 8 MB cut")
        self.assertTrue(ans.startswith("# pxname,svname,"), ans[:200])
        self.assertTrue(ans.endswith("\n\n"), "the answer ends with its empty line: %r" % ans[-200:])
        self.assertEqual(self.stat_rows(ans), {"FRONTEND": LISTENERS, "BACKEND": LISTENERS, "server": SERVERS})
        # every server once, in order: listener by listener, server by server
        names = [tuple(r.split(",", 2)[:2]) for r in ans.splitlines() if r and not r.startswith("#")]
        names = [n for n in names if n[1] not in ("FRONTEND", "BACKEND")]
        self.assertEqual(names, [(lname(i), name(k)) for i in range(LISTENERS) for k in range(PER_LISTENER)])

    def part_servers_state_and_the_rest_of_the_line(self):
        ans = self.ask("show servers state; show info; get weight %s/%s" % (lname(LISTENERS - 1), name(999)) + "\n")
        state, rest = ans.split("\n\n", 1)
        rows = [ln for ln in state.splitlines()[1:] if not ln.startswith("#")]
        self.assertEqual(len(rows), SERVERS)
        self.assertEqual(rows[-1].split()[1:4:2], [lname(LISTENERS - 1), name(999)])
        self.assertIn("Name: recheckd\n", rest)
        self.assertTrue(rest.endswith("1 (initial 1)\n\n"), rest[-200:])
        # a filter streams one listener
        one = self.ask("show servers state %s\n" % lname(7))
        self.assertEqual(len([ln for ln in one.splitlines()[1:] if ln and not ln.startswith("#")]), PER_LISTENER)

    def part_stalled_interactive_session(self):
        # an interactive session sends three lines at once and then does not read: the daemon holds its
        # streamed answer (the lines after it wait) and meanwhile answers another client
        stalled = self.connect()
        self.addCleanup(stalled.close)
        stalled.sendall(b"prompt\nshow stat\nshow info\nquit\n")
        wait_for(lambda: "Name: recheckd" in self.ask("show info\n"), 10, what="show info beside a stalled reader")
        ans = self.read_all(stalled)
        self.assertTrue(ans.startswith("\n> "), ans[:100])  # `prompt` answers an empty line, then the prompt
        stat, info = ans[3:].split("\n\n> ", 1)
        self.assertEqual(self.stat_rows(stat)["server"], SERVERS)
        self.assertTrue(info.startswith("Name: recheckd\n"), info[:200])
        self.assertTrue(info.endswith("\n\n> "), info[-100:])  # `quit` answers nothing

    def part_reload_during_an_answer(self):
        # a reload in the middle of a streamed answer ends it with a line that says so, never silently
        stalled = self.connect()
        self.addCleanup(stalled.close)
        stalled.sendall(b"show stat\n")
        wait_for(lambda: "Name: recheckd" in self.ask("show info\n"), 10, what="show info beside a stalled reader")
        self.write_conf(1)  # a small configuration reloads fast
        os.kill(self.d.pid, signal.SIGHUP)
        wait_for(lambda: "\nReloads: 1\n" in self.ask("show info\n"), 20, what="the reload")
        ans = self.read_all(stalled)
        end = "\nConfiguration reloaded during this answer: it is incomplete.\n\n"
        self.assertTrue(ans.endswith(end), ans[-200:])
        self.assertLess(self.stat_rows(ans[:-len(end)])["server"], SERVERS)
        self.assertEqual(self.stat_rows(self.ask("show stat\n"))["server"], LISTENERS)

    def test_large_answers(self):
        # one daemon (building 40,000 servers takes a moment) for every part
        for part in ("show_stat_every_row", "servers_state_and_the_rest_of_the_line", "stalled_interactive_session",
                     "reload_during_an_answer"):
            with self.subTest(part):
                getattr(self, "part_" + part)()


if __name__ == "__main__":
    main()
