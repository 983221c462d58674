#!/usr/bin/env python3
"""http-check send-state: the same .cfg through the real haproxy 2.6, `recheckd -f` and `recheck import` +
`recheck replay`; a capturing HTTP server records each check request. haproxy and recheckd must send the
same x-haproxy-server-state headers for their first checks ("UP 1/3" for a server that starts just up,
then "UP" once fully up), and replay the header docs/haproxy.md describes for a single run."""
import os
import re
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
from tcpserver import TcpServer  # noqa: E402


class Capture(TcpServer):
    """Answers every request with 200 and keeps the request heads."""

    def __init__(self):
        self.heads = []
        self.lock = threading.Lock()
        super().__init__(backlog=16)

    def serve(self, c, peer):
        c.settimeout(2)
        d = b""
        try:
            while b"\r\n\r\n" not in d and len(d) < 65536:
                x = c.recv(4096)
                if not x:
                    break
                d += x
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()
        with self.lock:
            self.heads.append(d)

    def states(self, n):
        with self.lock:
            got = [re.search(rb"\r\nx-haproxy-server-state: ([^\r]*)\r\n", h) for h in self.heads]
        if len(got) < n:
            return None
        return [m.group(1).decode() if m else None for m in got[:n]]


class SendState(harness.Case):
    def cfg(self, port):
        return "\n".join([
            "defaults", "    mode tcp", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s", "    balance source",
            "listen bck", "    bind 127.0.0.1:%d" % harness.free_port(), "    option httpchk GET /h",
            "    http-check send-state", "    http-check expect status 200",
            "    server srv2 127.0.0.1:%d check inter 200 rise 2 fall 3 weight 1" % port]) + "\n"

    def run_with(self, argv_of):
        cap = Capture()
        self.addCleanup(cap.close)
        path = self.write("ss-%d.cfg" % cap.port, self.cfg(cap.port))
        p = self.procs.start(argv_of(path), os.path.basename(argv_of(path)[0]))
        states = harness.wait_for(lambda: cap.states(3), 10, interval=0.05, what="three check requests")
        self.procs.stop(p)
        return states, cap.port

    def test_haproxy_and_recheckd_agree(self):
        node = socket.gethostname()
        theirs, hport = self.run_with(lambda path: [harness.which("haproxy"), "-db", "-f", path])
        ours, oport = self.run_with(lambda path: [harness.RECHECKD, "-f", path])
        want = "%s; address=127.0.0.1; port={port}; name=bck/srv2; node=" + node + "; weight=1/1; scur=0/0; qcur=0"
        self.assertEqual(theirs, [(want % s).format(port=hport) for s in ("UP 1/3", "UP", "UP")], theirs)
        self.assertEqual(ours, [(want % s).format(port=oport) for s in ("UP 1/3", "UP", "UP")], ours)

    def test_import_export_replay(self):
        cap = Capture()
        self.addCleanup(cap.close)
        path = self.write("ss.cfg", self.cfg(cap.port))
        res = self.recheck("import", path, "-o", self.path("ss.yaml"))
        self.assertRc(res, 0)
        with open(self.path("ss.yaml")) as f:
            self.assertIn("send-state: true", f.read())
        res = self.recheck("export", self.path("ss.yaml"))
        self.assertRc(res, 0)
        self.assertIn("\nhttp-check send-state\n", res.stdout)
        res = self.recheck("replay", self.path("ss.yaml"), "--server", "127.0.0.1:%d" % cap.port, "--timeout", "1s")
        self.assertRc(res, 0, res.stdout + res.stderr)
        got = harness.wait_for(lambda: cap.states(1), 5, what="the replayed request")
        self.assertEqual(got, ["UP; address=127.0.0.1; port=%d; name=bck/127.0.0.1; node=%s; weight=1/1; "
                               "scur=0/0; qcur=0" % (cap.port, socket.gethostname())])


if __name__ == "__main__":
    harness.main()
