#!/usr/bin/env python3
"""recheck flows / from-pcap on captures written by tests/gen/pcapgen.py (every link type, IPv4/IPv6,
wrapped, out-of-order, retransmitted, overlapping segments, missing handshake, RST, gaps, snaplen cuts,
damaged files), and on real tcpdump captures of curl through microsocks when running as root."""
import os
import re
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


PROTO = {"socks5": "SOCKS5", "socks5h": "SOCKS5", "socks5-auth": "SOCKS5", "socks4": "SOCKS4",
         "socks4a": "SOCKS4", "http": "HTTP", "connect": "CONNECT", "connect-tls": "CONNECT", "raw": "?"}
SERVER_PORT = {"socks5": 1080, "socks5h": 1080, "socks5-auth": 1080, "socks4": 1080, "socks4a": 1080,
               "http": 3128, "connect": 3128, "connect-tls": 3128, "raw": 7000}

# (conversation, generator options, state `recheck flows` must show)
CASES = [(c, [], "complete") for c in PROTO] + [
    # each link type, IPv4 and IPv6 alternating (test_decode covers every combination)
    ("socks5h", ["--link", link] + (["--ipv6"] if i % 2 else []), "complete")
    for i, link in enumerate(("en10mb", "null", "loop", "sll", "sll2", "raw", "ipv4", "en10mb"))
] + [
    ("socks5h", ["--vlan", "--noise"], "complete"),
    ("socks5-auth", ["--isn-wrap", "--mss", "5"], "complete"),
    ("http", ["--isn-wrap", "--mss", "7", "--ooo"], "complete"),
    ("connect", ["--mss", "9", "--retrans"], "complete"),
    ("socks5h", ["--mss", "6", "--overlap", "--ipv6", "--link", "sll2"], "complete"),
    ("socks4a", ["--mss", "4", "--ooo", "--retrans", "--overlap", "--isn-wrap", "--link", "null"], "complete"),
    ("socks5", ["--no-handshake"], "mid-flow"),
    ("socks5", ["--no-handshake", "--isn-wrap", "--mss", "3", "--retrans"], "mid-flow"),
    ("socks5h", ["--no-handshake", "--mss", "4", "--ooo", "--overlap", "--link", "sll2"], "mid-flow"),
    ("socks5", ["--rst"], "reset"),
]


def flow_rows(listing):
    """The conversation rows of `recheck flows` output, split into words."""
    return [ln.split() for ln in listing.splitlines() if re.match(r"^\s*\d+\s+\S+ -> ", ln)]


class FromPcap(harness.Case):
    def turns(self, *args):
        r = self.recheck("from-pcap", "--turns", *args)
        self.assertRc(r, 0)
        lines = r.stdout.splitlines()
        out = []
        for ln in lines[:-1]:
            _, who, n, hx = (ln.split(" ") + [""])[:4]
            self.assertEqual(len(bytes.fromhex(hx)), int(n))
            out.append((who[0], bytes.fromhex(hx)))
        return out, lines[-1]

    def test_cases_reassemble_to_the_exact_turns(self):
        for conv, opts, state in CASES:
            with self.subTest(conv=conv, opts=" ".join(opts)):
                pcap, expect = self.gen_pcap(conv, opts)
                r = self.recheck("flows", pcap)
                self.assertRc(r, 0)
                rows = flow_rows(r.stdout)
                self.assertEqual(len(rows), 1, r.stdout)
                row = rows[0]
                self.assertEqual(row[0], "1")
                self.assertTrue(row[3].endswith(":%d" % SERVER_PORT[conv]), row)
                self.assertEqual(row[-2], state, r.stdout)
                self.assertEqual(row[-1], PROTO[conv], r.stdout)
                csum = sum(len(b) for d, b in expect if d == "c")
                ssum = sum(len(b) for d, b in expect if d == "s")
                self.assertEqual((int(row[5]), int(row[6])), (csum, ssum), r.stdout)
                got, end = self.turns(pcap)
                self.assertEqual(got, [(d, b) for d, b in expect])
                if state == "reset":
                    self.assertIn("reset", end)
                elif state == "complete":
                    self.assertEqual(end, "end client-fin server-fin")

    def test_mid_flow_uses_server_hint(self):
        pcap, expect = self.gen_pcap("socks5", ["--no-handshake"])
        r = self.recheck("flows", pcap)
        self.assertIn("guessed the client as the higher port", r.stdout)
        got, _ = self.turns(pcap, "--server", "127.0.0.1:1080")
        self.assertEqual(got, expect)
        r = self.recheck("from-pcap", "--turns", pcap, "--server", "127.0.0.1:1080")
        self.assertNotIn("higher port", r.stderr)
        self.assertIn("mid-flow", r.stderr)

    def test_gap_is_an_error_naming_the_range(self):
        pcap, _ = self.gen_pcap("http", ["--gap", "--mss", "20"])
        r = self.recheck("flows", pcap)
        self.assertRc(r, 0)
        self.assertIn(" gap ", r.stdout)
        self.assertIn("gap in the server to client stream: bytes 20-39 (20 bytes) were never captured", r.stdout)
        out = self.path("out.yaml")
        r = self.recheck("from-pcap", pcap, "-o", out)
        self.assertRc(r, 3)
        self.assertIn(pcap, r.stderr)
        self.assertIn("bytes 20-39 (20 bytes)", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_snaplen_cut_is_an_error(self):
        # The cut comes after the complete SOCKS5 exchange: that part is kept, with a warning (issue 15).
        pcap, _ = self.gen_pcap("socks5h", ["--snaplen", "90"])
        r = self.recheck("from-pcap", pcap)
        self.assertRc(r, 0)
        self.assertIn("snaplen", r.stderr)
        self.assertIn("the recipe keeps the exchanges that were complete before it", r.stderr)
        self.assertNotIn("GET ", r.stdout)

    def test_choosing_among_flows(self):
        pcap, expect = self.gen_pcap("socks4", ["--flows", "3"])
        r = self.recheck("flows", pcap)
        self.assertRc(r, 0)
        self.assertEqual(len(flow_rows(r.stdout)), 3)
        r = self.recheck("from-pcap", pcap)
        self.assertRc(r, 2)
        self.assertIn("--stream 3", r.stderr)
        got, _ = self.turns(pcap, "--stream", "2")
        self.assertEqual(got, expect)
        r = self.recheck("from-pcap", "--turns", pcap, "--server", "127.0.0.1:1080")
        self.assertRc(r, 0)
        self.assertIn("using the first (--stream 1)", r.stderr)
        r = self.recheck("from-pcap", pcap, "--stream", "4")
        self.assertRc(r, 3)
        self.assertIn("no conversation 4", r.stderr)
        r = self.recheck("from-pcap", pcap, "--server", "127.0.0.1:9")
        self.assertRc(r, 3)
        self.assertIn("no TCP conversation with the --server address", r.stderr)
        self.assertIn("--stream 1", r.stderr)
        for bad in (["--stream", "0"], ["--stream", "x"], ["--server", "nope"], ["--server", "1.2.3.4:0"],
                    ["--format", "xml"]):
            self.assertRc(self.recheck("from-pcap", pcap, *bad), 2, bad)

    def test_server_choice_scales_past_the_flow_table(self):
        # 5,000 conversations with one proxy, more than the flow table holds, then one with another:
        # with --server, the others take no slot, so the one asked for is still found.
        many, _ = self.gen_pcap("socks5", ["--flows", "5000"], "many.pcap")
        one, expect = self.gen_pcap("http", [], "one.pcap")
        with open(many, "rb") as a, open(one, "rb") as b:
            head, body = a.read(), b.read()
        self.assertEqual(head[20:24], body[20:24])  # same link type: records can be concatenated
        mixed = self.path("mixed.pcap")
        with open(mixed, "wb") as f:
            f.write(head + body[24:])
        r = self.recheck("flows", mixed)
        self.assertRc(r, 3)
        self.assertIn("flow table is full", r.stderr)
        got, _ = self.turns(mixed, "--server", "127.0.0.1:3128")
        self.assertEqual(got, expect)

    def test_damaged_files_exit_3_and_never_clobber(self):
        for kind, words in (("empty", "empty file"), ("magic", "unknown file format"),
                            ("header", "truncated"), ("packet", "truncated"), ("reclen", "capture length")):
            with self.subTest(kind=kind):
                pcap, _ = self.gen_pcap("socks5h", ["--corrupt", kind], name=kind + ".pcap")
                r = self.recheck("flows", pcap)
                self.assertRc(r, 3)
                self.assertIn(pcap, r.stderr)
                self.assertIn(words, r.stderr)
                out = self.write("keep.yaml", "old content\n")
                r = self.recheck("from-pcap", pcap, "-o", out)
                self.assertRc(r, 3)
                self.assertIn(pcap, r.stderr)
                self.assertIn(words, r.stderr)
                with open(out) as f:
                    self.assertEqual(f.read(), "old content\n")
                self.assertEqual(sorted(os.listdir(self.tmp)),
                                 sorted(x for x in os.listdir(self.tmp) if not x.startswith(".")))
        missing = self.path("missing.pcap")
        r = self.recheck("from-pcap", missing)
        self.assertRc(r, 3)
        self.assertIn("missing.pcap: No such file or directory", r.stderr)
        r = self.recheck("flows", self.tmp)
        self.assertRc(r, 3)
        self.assertIn("is a directory", r.stderr)

    def test_no_tcp_at_all(self):
        pcap, _ = self.gen_pcap("socks5", ["--flows", "0", "--noise"])
        r = self.recheck("flows", pcap)
        self.assertRc(r, 0)
        self.assertIn("no TCP conversation", r.stdout)
        r = self.recheck("from-pcap", pcap)
        self.assertRc(r, 3)
        self.assertIn("no TCP conversation", r.stderr)

    def test_help(self):
        for cmd in ("flows", "from-pcap"):
            r = self.recheck(cmd, "--help")
            self.assertRc(r, 0)
            self.assertIn("Exit codes", r.stdout)
            self.assertRc(self.recheck(cmd), 2)

    def test_recipe_output_and_secret_mode(self):
        pcap, _ = self.gen_pcap("socks5-auth", ["--mss", "4", "--ooo"])
        out = self.path("r.yaml")
        r = self.recheck("from-pcap", pcap, "-o", out, "--name", "auth")
        self.assertRc(r, 0)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        with open(out) as f:
            text = f.read()
        self.assertIn("name: auth", text)
        self.assertIn("secret: true", text)
        r = self.recheck("from-pcap", pcap, "-o", out, "--redact")
        self.assertRc(r, 0)
        with open(out) as f:
            self.assertNotIn("s3cret".encode().hex(), f.read())
        hap = self.path("r.cfg")
        r = self.recheck("from-pcap", pcap, "--format", "haproxy", "-o", self.path("plain.cfg"),
                         "--stream", "1")
        self.assertRc(r, 0)
        pcap2, _ = self.gen_pcap("socks5h", [], name="h.pcap")
        r = self.recheck("from-pcap", pcap2, "--format", "haproxy", "-o", hap)
        self.assertRc(r, 0)
        self.assertEqual(os.stat(hap).st_mode & 0o777, 0o644)
        with open(hap) as f:
            self.assertIn("tcp-check send-binary 050100", f.read())

    def tcpdump_capture(self, iface, host, proxy_url_fmt):
        """Captures curl through microsocks with the real tcpdump; returns the pcap path or skips."""
        if os.geteuid() != 0 or not harness.which("tcpdump"):
            self.skipTest("capturing needs root and tcpdump")
        o = self.start_origin()
        s = self.start_microsocks()
        pcap = self.path("live-%s.pcap" % iface)
        td = subprocess.Popen(["tcpdump", "-i", iface, "-Z", "root", "--immediate-mode", "-B", "16384", "-U",
                               "-s", "0", "-w", pcap, "tcp", "port", str(s)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # tcpdump says "listening on" once the capture is active.
            deadline = time.monotonic() + 10
            seen = b""
            while time.monotonic() < deadline and b"listening on" not in seen:
                rd, _, _ = select.select([td.stderr], [], [], 0.2)
                if rd:
                    chunk = os.read(td.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    seen += chunk
            if b"listening on" not in seen:
                self.skipTest("tcpdump did not start: %r" % seen)
            r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                "-x", proxy_url_fmt % s, "http://127.0.0.1:%d/generate_204" % o],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.stdout, "204", r.stderr)
            time.sleep(0.5)
        finally:
            td.terminate()
            try:
                _, rest = td.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                td.kill()
                _, rest = td.communicate()
            self.tcpdump_log = seen + (rest or b"")
        return pcap, s

    def test_real_tcpdump_capture(self):
        for iface in ("lo", "any"):
            with self.subTest(iface=iface):
                # A busy machine can make the kernel drop packets (tcpdump counts them): then recheck
                # rightly reports a gap, which is not what this test is about. Try again, then skip.
                for _ in range(3):
                    pcap, port = self.tcpdump_capture(iface, "127.0.0.1", "socks5h://127.0.0.1:%d")
                    m = re.search(rb"(\d+) packets dropped by kernel", self.tcpdump_log)
                    if not m or m.group(1) == b"0":
                        break
                else:
                    self.skipTest("the kernel dropped packets in every capture: %r" % self.tcpdump_log)
                r = self.recheck("flows", pcap)
                self.assertRc(r, 0)
                self.assertIn("complete  SOCKS5", r.stdout, self.tcpdump_log)
                got, end = self.turns(pcap, "--server", "127.0.0.1:%d" % port)
                self.assertEqual(got[0][0], "c")
                self.assertEqual(got[0][1][:1], b"\x05")
                self.assertEqual(got[1], ("s", bytes([5, 0])))
                self.assertTrue(got[-1][1].startswith(b"HTTP/1.1 204"), got[-1])
                r = self.recheck("from-pcap", pcap, "--server", "127.0.0.1:%d" % port)
                self.assertRc(r, 0)
                self.assertIn("socks5+http", r.stdout)


if __name__ == "__main__":
    harness.main()
