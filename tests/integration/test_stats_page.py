#!/usr/bin/env python3
"""recheckd's HTML stats page renders in headless Chromium (Debian's `chromium`), and the rendered DOM
lists the listeners, their servers, their states, and the failing step of a DOWN server.

Also checks the plain HTTP behaviour of the stats listener (404, 405, HEAD, oversized request heads)
and that /stats.json and /metrics parse.

Set RECHECK_STATS_SCREENSHOT=path.png to keep a screenshot of the page.
"""
import html.parser
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import lbparity  # noqa: E402
from harness import RECHECKD, Case, free_port, main, recv_until_eof, wait_for, wait_port  # noqa: E402

RECIPE = """version: 1
name: connect-then-hello
kind: tcp
steps:
  - connect: {}
    comment: "open the TCP connection"
  - expect: {string: "s1"}
    comment: "the name server says its name"
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Rows(html.parser.HTMLParser):
    """Collects the text of every table row, with the row's class attribute."""

    def __init__(self):
        super().__init__()
        self.rows, self.cur, self.cell, self.h2 = [], None, None, []
        self.in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.cur = {"class": dict(attrs).get("class", ""), "cells": []}
        elif tag in ("td", "th") and self.cur is not None:
            self.cell = []
        elif tag == "h2":
            self.in_h2 = True
            self.h2.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cur is not None and self.cell is not None:
            self.cur["cells"].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.cur is not None:
            self.rows.append(self.cur)
            self.cur = None
        elif tag == "h2":
            self.in_h2 = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.in_h2:
            self.h2[-1] += data


class StatsPage(Case):
    def setUp(self):
        super().setUp()
        ns = lbparity.NameServer(["s1"])
        self.addCleanup(ns.stop)
        dead = lbparity.closed_port(self.addCleanup)
        # accepts (through the kernel backlog) but never answers: the check's one deadline must end it
        mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        mute.bind(("127.0.0.1", 0))
        mute.listen(64)
        self.addCleanup(mute.close)
        self.stats_port = free_port()
        self.write("hello.yaml", RECIPE)
        conf = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        conf += ["listeners:",
                 "  - name: ha-socks5", '    bind: "127.0.0.1:%d"' % free_port(), "    hash_type: consistent",
                 "    check: {recipe: hello.yaml, inter: 100ms, rise: 1, fall: 1, timeout: 1s}",
                 "    servers:",
                 '      - {name: s1, address: "127.0.0.1:%d"}' % ns.ports["s1"],
                 '      - {name: dead, address: "127.0.0.1:%d", weight: 3}' % dead,
                 '      - {name: spare, address: "127.0.0.1:%d", backup: true}' % ns.ports["s1"],
                 '      - {name: mute, address: "127.0.0.1:%d"}' % mute.getsockname()[1],
                 "  - name: plain", '    bind: "127.0.0.1:%d"' % free_port(),
                 "    servers:",
                 '      - {name: nocheck1, address: "127.0.0.1:%d"}' % ns.ports["s1"]]
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        self.d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(self.d) or self.d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(self.d.poll(), self.procs.log(self.d))
        wait_port(self.stats_port)
        self.url = "http://127.0.0.1:%d/" % self.stats_port

        def settled():
            st = {s["name"]: s for s in self.json()["listeners"][0]["servers"]}
            return st["dead"]["status"] == "DOWN" and st["s1"]["check"]["status"] == "L7OK" and st
        self.servers = wait_for(settled, 10, 0.05, "dead DOWN and s1 checked")

    def json(self):
        with urllib.request.urlopen(self.url + "stats.json", timeout=5) as r:
            return json.loads(r.read().decode("utf-8"))

    def raw(self, request):
        with socket.create_connection(("127.0.0.1", self.stats_port), timeout=5) as s:
            s.sendall(request)
            return recv_until_eof(s, timeout=5)

    def test_chromium_renders_the_page(self):
        exe = chromium()
        if not exe:
            self.skipTest("chromium is not installed (apt-get install chromium); the page cannot be rendered")
        profile = self.path("chromium-profile")
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile]
        res = subprocess.run(argv + ["--dump-dom", self.url], capture_output=True, text=True, timeout=90)
        self.assertEqual(res.returncode, 0, res.stderr[-2000:])
        dom = res.stdout
        self.assertIn("<title>recheckd stats</title>", dom)
        p = Rows()
        p.feed(dom)
        self.assertEqual([h.split()[0] for h in p.h2], ["ha-socks5", "plain"])
        rows = {r["cells"][0]: r for r in p.rows if r["cells"] and r["cells"][0] != "server"}
        self.assertEqual(set(rows), {"s1", "dead", "spare", "mute", "nocheck1"})
        # columns: server, address, status, since, weight, backup, last check, latency, ...
        self.assertEqual(rows["s1"]["cells"][2], "UP")
        self.assertIn("up", rows["s1"]["class"].split())
        self.assertEqual(rows["dead"]["cells"][2], "DOWN")
        self.assertIn("down", rows["dead"]["class"].split())
        self.assertEqual(rows["dead"]["cells"][4], "3")
        check = rows["dead"]["cells"][6]
        self.assertIn("L4CON", check)
        self.assertIn("at step 1 (connect)", check)
        self.assertIn("open the TCP connection", check)
        self.assertEqual(rows["spare"]["cells"][5], "yes")
        self.assertEqual(rows["nocheck1"]["cells"][2], "no check")
        self.assertIn("L7OK", rows["s1"]["cells"][6])
        shot = os.environ.get("RECHECK_STATS_SCREENSHOT")
        if shot:
            res = subprocess.run(argv + ["--window-size=1500,650", "--screenshot=" + os.path.abspath(shot), self.url],
                                 capture_output=True, text=True, timeout=90)
            self.assertEqual(res.returncode, 0, res.stderr[-2000:])

    def test_http_behaviour(self):
        with urllib.request.urlopen(self.url, timeout=5) as r:
            self.assertEqual(r.headers.get("Content-Type"), "text/html; charset=utf-8")
            self.assertEqual(r.headers.get("Connection"), "close")
            body = r.read().decode("utf-8")
        self.assertIn('http-equiv="refresh"', body)
        self.assertNotIn("<script", body)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(self.url + "nope", timeout=5)
        self.assertEqual(cm.exception.code, 404)
        self.assertTrue(self.raw(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405 "))
        self.assertTrue(self.raw(b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431 "))
        self.assertTrue(self.raw(b"GET nothing\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        head = self.raw(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
        self.assertTrue(head.endswith(b"\r\n\r\n"), "HEAD must not carry a body")
        # a query string is ignored
        with urllib.request.urlopen(self.url + "stats.json?x=1", timeout=5) as r:
            doc = json.loads(r.read())
        names = [li["name"] for li in doc["listeners"]]
        self.assertEqual(names, ["ha-socks5", "plain"])
        dead = next(s for s in doc["listeners"][0]["servers"] if s["name"] == "dead")
        self.assertEqual((dead["check"]["status"], dead["check"]["step"], dead["check"]["comment"]),
                         ("L4CON", 1, "open the TCP connection"))
        nocheck = doc["listeners"][1]["servers"][0]
        self.assertEqual(nocheck["status"], "no check")
        self.assertFalse(nocheck["check"]["enabled"])
        # the mute server: connected, then nothing until the deadline (timeout 1s) ends the check
        def mute_timed_out():
            s = next(s for s in self.json()["listeners"][0]["servers"] if s["name"] == "mute")
            return s if s["check"]["status"] == "L7TOUT" else None
        mute = wait_for(mute_timed_out, 5, 0.05, "mute L7TOUT")
        self.assertEqual((mute["check"]["step"], mute["check"]["kind"]), (2, "expect string"))
        self.assertGreaterEqual(mute["check"]["duration_ms"], 950)
        self.assertLess(mute["check"]["duration_ms"], 1500)
        self.assertEqual(mute["status"], "DOWN")
        # the process keeps answering after all that, and stops cleanly (no sanitizer report)
        self.assertEqual(self.d.poll(), None)
        self.procs.stop(self.d)
        log = self.procs.log(self.d)
        self.assertEqual(self.d.returncode, 0, log[-3000:])
        self.assertNotIn("Sanitizer", log)


if __name__ == "__main__":
    main()
