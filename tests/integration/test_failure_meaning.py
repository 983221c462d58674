#!/usr/bin/env python3
"""What the failing bytes mean, wherever a failure is reported: a SOCKS5 proxy that is up but whose site
refuses (REP 05), a proxy that refuses every method (05 FF), a wrong RFC 1929 password (real microsocks
with -u/-P) and an HTTP proxy's 502 — through `recheck replay`, recheckd's `check L/S` on the runtime
API, /stats.json, the stats page and the DOWN log line."""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RECHECKD, Case, free_port, main, recv_exact, tcp_recipe, wait_for, wait_port, which  # noqa: E402
from tcpserver import TcpServer  # noqa: E402

SOCKS5 = tcp_recipe("socks5-connect", protocol="socks5+http", steps="""  - connect: {}
  - send-binary: "050100"
    comment: "greeting: no authentication"
  - expect: {binary: "0500"}
  - send-binary: "050100017f0000010050"
    comment: "CONNECT 127.0.0.1:80"
  - expect: {rbinary: "^050000"}
    comment: "succeeded"
""")

SOCKS5_AUTH = tcp_recipe("socks5-auth", protocol="socks5", steps="""  - connect: {}
  - send-binary: "050102"
  - expect: {binary: "0502"}
  - send-binary: "01037573720577726f6e67"
    comment: "RFC 1929: usr / wrong"
  - expect: {binary: "0100"}
""")

HTTP = tcp_recipe("http-connect", protocol="http-connect", steps="""  - connect: {}
  - send: "CONNECT 127.0.0.1:80 HTTP/1.1\\r\\nHost: 127.0.0.1:80\\r\\n\\r\\n"
  - expect: {rstring: "^HTTP/1\\\\.[01] 200"}
""")


class Fake(TcpServer):
    """A scripted server: for each connection, reads then answers each (read size, answer) in turn."""

    def __init__(self, script):
        self.script = script
        super().__init__(threaded=True)

    def serve(self, c, peer):
        try:
            c.settimeout(5)
            for want, answer in self.script:
                if len(recv_exact(c, want)) < want:
                    return
                c.sendall(answer)
            c.recv(100)
        except OSError:
            pass
        finally:
            c.close()


class Meaning(Case):
    def fake(self, script):
        f = Fake(script)
        self.addCleanup(f.close)
        return f.port

    def replay(self, recipe_text, port):
        r = self.write("r-%d.yaml" % port, recipe_text)
        return self.recheck("replay", r, "--server", "127.0.0.1:%d" % port, "--timeout", "2s", "-v")

    def test_replay_says_what_the_bytes_mean(self):
        refused = self.fake([(3, b"\x05\x00"), (10, b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")])
        res = self.replay(SOCKS5, refused)
        self.assertRc(res, 1)
        self.assertIn("meaning:  SOCKS5 REP 05: connection refused \u2014 the proxy is up, the site behind it "
                      "refused the connection", res.stdout)
        nomethod = self.fake([(3, b"\x05\xff")])
        res = self.replay(SOCKS5, nomethod)
        self.assertIn("SOCKS5 method FF: no acceptable method", res.stdout)
        bad_gw = self.fake([(40, b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")])
        res = self.replay(HTTP, bad_gw)
        self.assertIn("meaning:  HTTP 502 Bad Gateway \u2014 the proxy is up, the site behind it failed", res.stdout)
        # a real microsocks refusing a wrong RFC 1929 password
        port = free_port()
        self.procs.start([which("microsocks"), "-i", "127.0.0.1", "-p", str(port), "-u", "usr", "-P", "right"],
                         "microsocks")
        wait_port(port)
        res = self.replay(SOCKS5_AUTH, port)
        self.assertIn("RFC 1929 status", res.stdout)
        self.assertIn("authentication failed", res.stdout)

    def test_recheckd_reports_it_everywhere(self):
        refused = self.fake([(3, b"\x05\x00"), (10, b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")])
        ok_port = free_port()
        self.procs.start([which("microsocks"), "-i", "127.0.0.1", "-p", str(ok_port)], "microsocks")
        wait_port(ok_port)
        self.write("r.yaml", SOCKS5)
        sport, sock = free_port(), self.path("admin.sock")
        conf = self.write("d.yaml", """%sstats: {bind: "127.0.0.1:%d", socket: "%s"}
listeners:
  - name: pool
    bind: "127.0.0.1:%d"
    check: {recipe: r.yaml, inter: 300ms, rise: 1, fall: 1}
    servers:
      - {name: bad, address: "127.0.0.1:%d"}
""" % ("allow_root: true\n" if os.geteuid() == 0 else "", sport, sock, free_port(), refused))
        d = self.procs.start([RECHECKD, "-f", conf], "recheckd")
        self.addCleanup(self.clean_exit, d)
        wait_for(lambda: "is DOWN" in self.procs.log(d) or d.poll() is not None, 10, what="bad DOWN")
        want = "SOCKS5 REP 05: connection refused"
        # the DOWN log line
        down = [l for l in self.procs.log(d).splitlines() if "is DOWN" in l][0]
        self.assertIn(want, down)
        # /stats.json and the page
        js = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5))
        self.assertIn(want, js["listeners"][0]["servers"][0]["check"]["explanation"])
        page = urllib.request.urlopen("http://127.0.0.1:%d/" % sport, timeout=5).read().decode()
        self.assertIn(want, page)
        # check L/S: the trace and the report, as replay -v prints them
        out = subprocess.run(["socat", "-", "UNIX-CONNECT:" + sock], input="check pool/bad\n", capture_output=True,
                             text=True, timeout=15).stdout
        self.assertIn("check pool/bad (127.0.0.1:%d)" % refused, out)
        self.assertRegex(out, r"\nFAIL L7(RSP|TOUT) ")
        self.assertIn("  step 4: send-binary passed", out)  # the trace, as replay -v
        self.assertIn("meaning:  " + want, out)
        self.assertRegex(out, r"received: 10 bytes")
        # the daemon still answers on the socket afterwards, and a passing check reads OK
        self.assertIn("Name: recheckd", subprocess.run(["socat", "-", "UNIX-CONNECT:" + sock], input="show info\n",
                                                       capture_output=True, text=True, timeout=10).stdout)
        self.assertIn("No such server.", subprocess.run(["socat", "-", "UNIX-CONNECT:" + sock],
                                                        input="check pool/nope\n", capture_output=True, text=True,
                                                        timeout=10).stdout)
        self.assertIsNone(d.poll())


if __name__ == "__main__":
    main()
