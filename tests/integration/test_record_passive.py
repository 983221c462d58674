#!/usr/bin/env python3
"""recheck record --passive (issue 15): while it waits, a client someone else runs (curl, a Python SOCKS5
client) talks to a real proxy (microsocks, tinyproxy); the recipe built from that conversation replays on
the proxy. And the timeout message when nobody comes. Needs root (live capture on lo)."""
import os
import select
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "record captures live traffic: run as root")


def socks5_get(port, target_port, path="/generate_204"):
    """A minimal RFC 1928 client: no-auth, CONNECT 127.0.0.1:target_port, one HTTP GET; returns the reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", target_port))
        rep = harness.recv_exact(s, 10)
        assert rep[:2] == b"\x05\x00", rep
        s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (path.encode(), target_port))
        return harness.recv_until_eof(s)
    finally:
        s.close()


@NEED_ROOT
class RecordPassive(harness.Case):
    def start_passive(self, server_port, *extra):
        out = self.path("passive.yaml")
        p = subprocess.Popen([harness.RECHECK, "record", "--passive", "--server", "127.0.0.1:%d" % server_port,
                              "-o", out] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        seen = b""
        deadline = time.monotonic() + 10
        while b"waiting on" not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([p.stderr], [], [], 0.2)
            if r:
                chunk = os.read(p.stderr.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        self.assertIn(b"waiting on lo for the next complete conversation with 127.0.0.1:%d" % server_port, seen)
        return p, out, seen

    def finish(self, p, seen, rc=0):
        _, rest = p.communicate(timeout=30)
        err = (seen + rest).decode(errors="replace")
        self.assertEqual(p.returncode, rc, err)
        return err

    def replay(self, recipe, port):
        r = self.recheck("replay", recipe, "--server", "127.0.0.1:%d" % port, "--timeout", "3s")
        self.assertRc(r, 0)

    def test_curl_through_microsocks(self):
        o = self.start_origin()
        s = self.start_microsocks()
        p, out, seen = self.start_passive(s, "--timeout", "20s")
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                            "-x", "socks5h://127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.stdout, "204", r.stderr)
        err = self.finish(p, seen)
        self.assertIn("complete", err)
        with open(out) as f:
            text = f.read()
        self.assertIn("protocol: socks5+http", text)
        self.assertIn("record --passive", text)
        self.replay(out, s)

    def test_python_socks5_client_through_microsocks(self):
        o = self.start_origin()
        s = self.start_microsocks()
        p, out, seen = self.start_passive(s, "--timeout", "20s")
        self.assertIn(b"204", socks5_get(s, o).split(b"\r\n")[0])
        self.finish(p, seen)
        with open(out) as f:
            text = f.read()
        self.assertIn('send-binary: "050100"', text)
        self.replay(out, s)

    def test_curl_through_tinyproxy(self):
        o = self.start_origin()
        t = self.start_tinyproxy(connect_ports=(o,))
        p, out, seen = self.start_passive(t, "--timeout", "20s")
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                            "-x", "http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.stdout, "204", r.stderr)
        self.finish(p, seen)
        with open(out) as f:
            self.assertIn("protocol: http-proxy", f.read())
        self.replay(out, t)

    def test_a_post_is_refused_as_a_side_effect(self):
        o = self.start_origin()
        t = self.start_tinyproxy(connect_ports=(o,))
        p, out, seen = self.start_passive(t, "--timeout", "20s")
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "-d", "a=b",
                        "-x", "http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o],
                       capture_output=True, text=True, timeout=20)
        err = self.finish(p, seen, rc=3)
        self.assertIn("has side effects", err)
        self.assertIn("--allow-side-effects", err)
        self.assertFalse(os.path.exists(out))

    def test_timeout_says_what_it_saw(self):
        s = self.start_microsocks()
        t0 = time.monotonic()
        p, out, seen = self.start_passive(s, "--timeout", "1s")
        err = self.finish(p, seen, rc=4)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn("no complete conversation with 127.0.0.1:%d on lo within 1.0 s" % s, err)
        self.assertIn("longer --timeout", err)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    harness.main()
