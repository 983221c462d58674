#!/usr/bin/env python3
"""The PROXY protocol against the real HAProxy 2.6, both ways.

- recheckd sends (send_proxy: v1 / v2) to an HAProxy `bind ... accept-proxy`: HAProxy's own log shows the
  original client address (each client binds a distinct 127/8 address), and check_send_proxy makes the
  checks pass through the same accept-proxy bind (a check without it is refused there).
- HAProxy sends (send-proxy-v2, and send-proxy) to a recheckd listener with accept_proxy: true: recheckd
  picks, for each of 220 source addresses, the server HAProxy's `balance source` would pick for the
  original client (lbpick, which the parity tests hold equal to HAProxy's choice).
- Malformed, truncated and slow headers close their own connection, are counted in stats.json, and a
  good client before, between and after them is served.
"""
import json
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

EXPECT_N1 = harness.tcp_recipe("expect-n1", '  - connect: {}\n  - expect: {string: "n1"}\n'
                               '    comment: "the origin behind HAProxy\'s accept-proxy bind says its name"\n')


def v2_header(src, sport, dst, dport):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return b"\r\n\r\n\x00\r\nQUIT\n" + b"\x21\x11" + len(body).to_bytes(2, "big") + body


class Proxy(harness.Case):
    def start_recheckd(self, text, name):
        if os.geteuid() == 0:
            text = "allow_root: true\n" + text
        path = self.write(name + ".yaml", text)
        p = self.procs.start([RECHECKD, "-f", path, "-d"], name)
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(p.poll(), "recheckd exited:\n" + self.procs.log(p))
        return p

    @staticmethod
    def stats(port):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % port, timeout=5) as r:
            return json.loads(r.read())

    def test_haproxy_receives(self):
        origin = lbparity.NameServer(["n1"])
        self.addCleanup(origin.stop)
        syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(syslog.close)
        syslog.bind(("127.0.0.1", 0))
        hport = free_port()
        self.start_haproxy("""
defaults
    mode tcp
    log 127.0.0.1:%d local0
    option tcplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen pp
    bind 127.0.0.1:%d accept-proxy
    server n1 127.0.0.1:%d
""" % (syslog.getsockname()[1], hport, origin.ports["n1"]))
        wait_port(hport)
        self.write("expect-n1.yaml", EXPECT_N1)
        sport = free_port()
        ports = {"v1": free_port(), "v2": free_port(), "plain": free_port()}
        lines = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % sport, "listeners:"]
        for name, send, chk in (("v1", "v1", "true"), ("v2", "v2", "true"), ("plain", "v2", "false")):
            lines += ["  - name: %s" % name, '    bind: "127.0.0.1:%d"' % ports[name],
                      "    check: {recipe: expect-n1.yaml, inter: 200ms, rise: 1, fall: 1, timeout: 1s}",
                      "    servers:",
                      '      - {name: ha, address: "127.0.0.1:%d", send_proxy: %s, check_send_proxy: %s}' % (
                          hport, send, chk)]
        p = self.start_recheckd("\n".join(lines) + "\n", "recheckd-send")
        wait_port(sport)

        def status(li):
            return [x for x in self.stats(sport)["listeners"] if x["name"] == li][0]["servers"][0]

        # check_send_proxy: the checks pass through HAProxy's accept-proxy bind; without it they cannot
        wait_for(lambda: status("v1")["status"] == "UP" and status("v2")["status"] == "UP", 10, what="UP")
        wait_for(lambda: status("plain")["check"]["counts"]["failed"] >= 2, 10, what="plain checks failing")
        self.assertEqual(status("plain")["status"], "DOWN")

        syslog.settimeout(0.2)
        seen = []
        for name, src in (("v1", "127.3.4.5"), ("v2", "127.6.7.8")):
            self.assertEqual(lbparity.ask(ports[name], src, 3.0), "n1", name)

            def logged():
                # the checks log a line every 200 ms too: read what is there, a bounded number at a time
                for _ in range(50):
                    try:
                        seen.append(syslog.recv(4096).decode("utf-8", "replace"))
                    except socket.timeout:
                        break
                # HAProxy's tcplog: "client_ip:port [date] frontend backend/server ..."
                return any(" %s:" % src in line and " pp pp/n1 " in line for line in seen)
            wait_for(logged, 10, what="HAProxy logs %s for %s" % (src, name))
        self.assertIsNone(p.poll())

        # the same settings exported (`recheck export --config`) and run by HAProxy itself: its checks of
        # a check_send_proxy server pass through the accept-proxy bind (HAProxy sends the header only on
        # a "default" connect, which the export writes), and without check_send_proxy they cannot; a
        # recipe whose connect has send_proxy gets check-send-proxy on its server lines
        self.write("expect-n1-pp.yaml", harness.tcp_recipe(
            "expect-n1-pp", '  - connect: {send_proxy: v1}\n  - expect: {string: "n1"}\n'))
        lines = ["listeners:"]
        for name, opts, recipe in (("xsend", ", send_proxy: v2, check_send_proxy: true", "expect-n1"),
                                   ("xplain", "", "expect-n1"), ("xrecipe", "", "expect-n1-pp")):
            lines += ["  - name: %s" % name, '    bind: "127.0.0.1:%d"' % free_port(),
                      "    check: {recipe: %s.yaml, inter: 200ms, rise: 1, fall: 1, timeout: 1s}" % recipe,
                      "    servers:",
                      '      - {name: ha, address: "127.0.0.1:%d"%s}' % (hport, opts)]
        res = self.recheck("export", "--config", self.write("x.yaml", "\n".join(lines) + "\n"))
        self.assertRc(res, 0)
        _, hsock = self.start_haproxy(res.stdout, "haproxy-export")
        # HAProxy starts its servers UP: the check status says whether a check passed
        wait_for(lambda: self.haproxy_status(hsock, "xsend", "ha")[:2] == ("UP", "L7OK")
                 and self.haproxy_status(hsock, "xrecipe", "ha")[:2] == ("UP", "L7OK")
                 and self.haproxy_status(hsock, "xplain", "ha")[0] == "DOWN", 10, what="exported checks")

    def test_haproxy_sends(self):
        addrs = lbparity.source_addresses(220, seed=9)
        c = lbparity.conf("chash-unequal", [lbparity.srv("s1", 1), lbparity.srv("s2", 2), lbparity.srv("s3", 3)],
                          "consistent")
        ns = lbparity.NameServer(["s1", "s2", "s3"])
        self.addCleanup(ns.stop)
        rport, sport = free_port(), free_port()
        lines = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % sport, "listeners:", "  - name: behind",
                 '    bind: "127.0.0.1:%d"' % rport, "    accept_proxy: true", '    hash_type: "consistent"',
                 "    servers:"]
        for s in c["servers"]:
            lines.append('      - {name: %s, address: "127.0.0.1:%d", weight: %d}' % (s["name"], ns.ports[s["name"]],
                                                                                       s["weight"]))
        self.start_recheckd("\n".join(lines) + "\n", "recheckd-accept")
        want = lbparity.lbpick(c, addrs)
        self.assertGreater(len(set(want)), 2)
        for kw in ("send-proxy-v2", "send-proxy"):
            fport = free_port()
            self.start_haproxy("""
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen front
    bind 127.0.0.1:%d
    server r 127.0.0.1:%d %s
""" % (fport, rport, kw), "haproxy-" + kw)
            wait_port(fport)
            got = lbparity.collect(fport, addrs)
            self.assertEqual(lbparity.diff(addrs, want, got), [], kw)
        st = self.stats(sport)["listeners"][0]
        self.assertEqual(st["connections"]["proxy_errors"], 0)

    def test_bad_headers(self):
        ns = lbparity.NameServer(["s1"])
        self.addCleanup(ns.stop)
        rport, sport = free_port(), free_port()
        self.start_recheckd("\n".join([
            "threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % sport, "listeners:", "  - name: behind",
            '    bind: "127.0.0.1:%d"' % rport, "    accept_proxy: true",
            "    timeouts: {client: 1500ms, server: 5s, connect: 1s}", "    servers:",
            '      - {name: s1, address: "127.0.0.1:%d"}' % ns.ports["s1"]]) + "\n", "recheckd-bad")
        wait_port(sport)

        def good():
            with socket.create_connection(("127.0.0.1", rport), timeout=3) as s:
                s.sendall(v2_header("10.0.0.1", 5000, "10.0.0.2", 80) + b"hello")
                self.assertEqual(s.recv(100), b"s1\n")

        def closed(payload, half_close=False, wait=False):
            """Sends payload; the connection must end (a FIN or a reset, never a byte of a server)."""
            s = socket.create_connection(("127.0.0.1", rport), timeout=5)
            t0 = time.monotonic()
            s.sendall(payload)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            s.close()
            self.assertEqual(data, b"", payload)
            return time.monotonic() - t0

        good()
        self.assertLess(closed(b"GET / HTTP/1.0\r\n\r\n"), 1.0)                       # malformed
        self.assertLess(closed(b"PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\r"), 1.0)         # bad line end
        self.assertLess(closed(b"\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x0c" + b"x" * 12), 1.0)  # v2, bad version
        good()
        self.assertLess(closed(b"PROXY TCP4 10.0.0.1", half_close=True), 1.0)         # truncated
        took = closed(b"PROXY TCP4 10.0.0.1 10.0", wait=True)                         # slow: timeouts.client
        self.assertGreater(took, 1.4)
        self.assertLess(took, 4.0)
        good()
        # the last session ends when recheckd has read both FINs, which may be after good() returns
        def ended():
            li = self.stats(sport)["listeners"][0]
            return li if li["connections"]["current"] == 0 else None

        st = wait_for(ended, 10, what="every session ended")
        self.assertEqual(st["connections"]["proxy_errors"], 5)
        self.assertEqual(st["servers"][0]["connections"]["total"], 3)


if __name__ == "__main__":
    main()
