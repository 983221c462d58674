#!/usr/bin/env python3
"""The real peers the suite depends on start and carry a request: a failure here points at the test
environment (a missing package, a changed config format), not at recheck."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


def curl(*args):
    return subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"] + list(args),
                          capture_output=True, text=True, timeout=20)


class Peers(harness.Case):
    def test_origin_answers_204(self):
        o = self.start_origin()
        self.assertEqual(curl("http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        self.assertEqual(curl("http://127.0.0.1:%d/nothing" % o).stdout, "404")

    def test_microsocks(self):
        o = self.start_origin()
        s = self.start_microsocks()
        self.assertEqual(curl("-x", "socks5h://127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        a = self.start_microsocks("alice", "s3cret")
        self.assertEqual(curl("-x", "socks5://alice:s3cret@127.0.0.1:%d" % a,
                              "http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        self.assertNotEqual(curl("-x", "socks5://alice:wrong@127.0.0.1:%d" % a,
                                 "http://127.0.0.1:%d/generate_204" % o).stdout, "204")

    def test_dante(self):
        o = self.start_origin()
        d = self.start_dante()
        r = curl("-x", "socks5://127.0.0.1:%d" % d, "http://127.0.0.1:%d/generate_204" % o)
        self.assertEqual(r.stdout, "204", r.stderr + harness.Procs.log(self.procs.procs[-1]))

    def test_tinyproxy(self):
        o = self.start_origin()
        t = self.start_tinyproxy(connect_ports=(o,))
        self.assertEqual(curl("-x", "http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        self.assertEqual(curl("-p", "-x", "http://127.0.0.1:%d" % t,
                              "http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        b = self.start_tinyproxy("bob", "pw", connect_ports=(o,))
        self.assertEqual(curl("-x", "http://bob:pw@127.0.0.1:%d" % b, "http://127.0.0.1:%d/generate_204" % o).stdout, "204")
        self.assertEqual(curl("-x", "http://127.0.0.1:%d" % b, "http://127.0.0.1:%d/generate_204" % o).stdout, "407")

    def test_haproxy_marks_origin_up(self):
        o = self.start_origin()
        _, sock = self.start_haproxy(harness.HAPROXY_TCP_DEFAULTS + """listen be
    bind 127.0.0.1:%d
    option httpchk GET /generate_204
    http-check expect status 204
    server s1 127.0.0.1:%d check inter 200ms
""" % (harness.free_port(), o))
        harness.wait_for(lambda: self.haproxy_status(sock, "be", "s1")[0] == "UP", 10, what="s1 UP")


if __name__ == "__main__":
    harness.main()
