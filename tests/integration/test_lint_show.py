#!/usr/bin/env python3
"""recheck lint and recheck show on the shipped samples and on broken recipes: every sample is valid and
lists cleanly, every broken file exits 3 with FILE:LINE:COLUMN and the reason, warnings do not fail
unless --strict."""
import binascii
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SAMPLES = harness.sample_recipes()

BROKEN = {
    # file body -> (line, column, words the message must hold)
    "version: 1\nsteps:\n  - sned: x\n": (3, 5, "step 1: unknown key 'sned'"),
    "version: 1\nsteps:\n  - connect: {}\n  - send-binary: \"05010\"\n": (4, 18, "even number of hex digits"),
    "version: 1\nsteps:\n  - send: x\n  - expect: {rstring: \"(\"}\n": (4, 5, "invalid regex at offset 1"),
    "version: 1\nsteps:\n  - connect: {port: \"80\"}\n": (3, 21, "'port' must be an integer"),
    "version: 1\nsteps: [\n": (3, 1, "YAML syntax error"),
    "version: 2\nsteps:\n  - send: x\n": (1, 10, "'version' must be 1"),
    "version: 1\nkind: http\nexpect:\n  - {status: \"2xx\"}\n": (4, 5, "expect 1: status '2xx'"),
    "version: 1\nname: &a x\nsteps:\n  - send: *a\n": (2, 7, "anchors"),
}


def run_local_sample(path, port, timeout=5.0):
    """Runs a local tcp sample against 127.0.0.1:port the way HAProxy's tcp-check does (each send clears
    what was read; an expect waits until its pattern matches what arrived since the last send). The
    samples are simple enough to read without a YAML library: one action a line, JSON-compatible
    double-quoted strings. Returns None when every step passed, or a description of the failing step."""
    steps = []
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for line in lines:
        m = re.match(r'\s*- (send|send-binary): (".*")\s*$', line)
        if m:
            data = json.loads(m.group(2))
            steps.append(("send", binascii.unhexlify(data) if m.group(1) == "send-binary" else data.encode()))
            continue
        m = re.match(r'\s*- expect: \{(binary|rbinary|rstring): (".*")\}\s*$', line)
        if m:
            steps.append((m.group(1), json.loads(m.group(2))))
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        got = b""
        for i, (kind, arg) in enumerate(steps, 2):  # step 1 is the connect
            if kind == "send":
                got = b""
                s.sendall(arg)
                continue
            while True:
                if kind == "binary" and binascii.unhexlify(arg) in got:
                    break
                if kind == "rbinary" and re.search(arg, binascii.hexlify(got).decode().upper()):
                    break
                if kind == "rstring" and re.search(arg.encode(), got):
                    break
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    chunk = b""
                if not chunk:
                    return "step %d (expect %s %r) failed on %r" % (i, kind, arg, got)
                got += chunk
    return None


class LintShow(harness.Case):
    def test_samples_exist(self):
        names = {os.path.relpath(p, harness.SAMPLES) for p in SAMPLES}
        self.assertGreaterEqual(len(SAMPLES), 7)
        for want in ("seed-socks5-generate-204.yaml", "seed-http-generate-204.yaml", "socks5-generate-204.yaml",
                     "http-proxy-generate-204.yaml", "local/socks5-local-204.yaml",
                     "local/http-proxy-local-204.yaml", "local/http-local-204.yaml"):
            self.assertIn(want, names)

    def test_lint_every_sample_ok(self):
        res = self.recheck("lint", *SAMPLES)
        self.assertRc(res, 0)
        for p in SAMPLES:
            self.assertRegex(res.stdout, re.escape(p) + r": ok \(")
        self.assertIn("socks5-generate-204.yaml: ok (7 steps, protocol socks5+http)\n", res.stdout)
        # the seed pins the SOCKS5 bound address: a warning, not an error
        self.assertRegex(res.stdout, r"seed-socks5-generate-204\.yaml:\d+: warning: step 5: expect binary pins")
        self.assertEqual(res.stderr, "")

    def test_lint_broken_files(self):
        paths = []
        for i, (body, (line, col, words)) in enumerate(sorted(BROKEN.items())):
            p = self.write("broken%d.yaml" % i, body)
            paths.append(p)
            res = self.recheck("lint", p)
            self.assertRc(res, 3, body)
            self.assertIn("%s:%d:%d: " % (p, line, col), res.stderr, body)
            self.assertIn(words, res.stderr, body)
            self.assertEqual(res.stdout, "")
        # one bad file among good ones: the good ones are still reported, the exit code is 3
        good = os.path.join(harness.SAMPLES, "socks5-generate-204.yaml")
        res = self.recheck("lint", good, paths[0], good)
        self.assertRc(res, 3)
        self.assertEqual(res.stdout.count(": ok ("), 2)
        self.assertEqual(len(res.stderr.splitlines()), 1)

    def test_lint_unreadable_and_usage(self):
        res = self.recheck("lint", self.path("missing.yaml"))
        self.assertRc(res, 3)
        self.assertIn("missing.yaml: No such file or directory", res.stderr)
        self.assertRc(self.recheck("lint"), 2)
        self.assertRc(self.recheck("lint", "--frobnicate", "x"), 2)
        res = self.recheck("lint", "--help")
        self.assertRc(res, 0)
        self.assertIn("usage: recheck lint", res.stdout)
        self.assertIn("Exit codes", res.stdout)

    def test_lint_warnings_and_strict(self):
        p = self.write("fragile.yaml", "version: 1\nprotocol: socks5\nsteps:\n  - connect: {}\n"
                       "  - expect: {binary: \"0500\"}\n  - send-binary: \"050100\"\n"
                       "  - expect: {rbinary: \"^05ff\"}\n  - send: x\n")
        res = self.recheck("lint", p)
        self.assertRc(res, 0)
        self.assertIn("%s:5: warning: step 2: expect right after connect" % p, res.stdout)
        self.assertIn("%s:7: warning: step 4: rbinary runs on the UPPERCASE hex" % p, res.stdout)
        self.assertIn("%s:8: warning: step 5: the recipe ends with a send" % p, res.stdout)
        self.assertIn("ok (5 steps, protocol socks5) with warnings", res.stdout)
        res = self.recheck("lint", "--strict", p)
        self.assertRc(res, 3)
        self.assertIn("3 warnings (--strict)", res.stderr)
        h = self.write("lax.yaml", "version: 1\nkind: http\nrequest: {method: GET}\nexpect:\n"
                       "  - {status: 200-399}\n")
        res = self.recheck("lint", h)
        self.assertRc(res, 0)
        self.assertIn("%s:5: warning: expect 1: status 200-399 is HAProxy's implicit default" % h, res.stdout)
        # the fixed samples are clean
        res = self.recheck("lint", "--strict", os.path.join(harness.SAMPLES, "socks5-generate-204.yaml"),
                           os.path.join(harness.SAMPLES, "local", "http-local-204.yaml"))
        self.assertRc(res, 0)

    def test_show_every_sample(self):
        for p in SAMPLES:
            res = self.recheck("show", p)
            self.assertRc(res, 0, p)
            self.assertTrue(res.stdout.startswith(p + "\n"), res.stdout)
            self.assertRegex(res.stdout, r"\nname: +\S+")
            self.assertIn("\nstep\n", res.stdout)
            self.assertRegex(res.stdout, r"\n +1  (connect|send)")

    def show(self, name, text, *opts):
        """`recheck show [opts]` of a recipe file name holding text: asserts exit 0, returns its stdout."""
        res = self.recheck("show", *opts, self.write(name, text))
        self.assertRc(res, 0)
        return res.stdout

    def test_show_content(self):
        res = self.recheck("show", os.path.join(harness.SAMPLES, "seed-socks5-generate-204.yaml"))
        self.assertRc(res, 0)
        out = res.stdout
        self.assertIn("kind:          tcp (option tcp-check), 11 steps\n", out)
        self.assertIn("   2  send-binary, 4 bytes\n        05020001  |....|\n", out)
        self.assertIn("   5  expect binary, 10 bytes anywhere in the reply\n        050000010000000006b5", out)
        self.assertIn("   6  send, 28 bytes\n        \"GET /generate_204 HTTP/1.1\\r\\n\"\n", out)
        self.assertIn("  11  expect rstring, regex over the reply\n        \"^HTTP/1.1 204\"\n", out)
        # no connect step: HAProxy's implicit step 0 is shown; negation and min-recv too
        out = self.show("implicit.yaml", "version: 1\nsteps:\n  - send: \"PING\\r\\n\"\n"
                        "  - expect: {string: ERR, negate: true, min-recv: 0}\n    comment: no error\n")
        self.assertIn("   0  connect (implicit", out)
        self.assertIn("   2  expect NOT string, min-recv 0, 3 bytes anywhere in the reply\n", out)
        self.assertIn("      # no error\n", out)
        # free text keeps UTF-8 but cannot send escape sequences to the terminal
        out = self.show("esc.yaml", 'version: 1\nname: "a\\eb"\nsteps:\n  - send: x\n    comment: "caf\\xe9 \\e[31m"\n')
        self.assertNotIn("\x1b", out)
        self.assertIn("name:          a\\x1bb\n", out)
        self.assertIn("      # caf\u00e9 \\x1b[31m\n", out)
        http = self.recheck("show", os.path.join(harness.SAMPLES, "seed-http-generate-204.yaml"))
        self.assertRc(http, 0)
        self.assertIn("   1  send GET http://client3.google.com/generate_204 HTTP/1.1", http.stdout)
        self.assertIn("        Proxy-Authorization: Basic ${PROXY_AUTH}\n", http.stdout)
        self.assertIn("   2  expect status \"204\"", http.stdout)

    def test_show_hides_recorded_secrets(self):
        text = ("version: 1\nprotocol: socks5\nsteps:\n  - send-binary: \"0105616c69636506733363726574\"\n"
                "    secret: true\n  - expect: {binary: \"0100\"}\n")
        out = self.show("secret.yaml", text)
        self.assertIn("<recorded credential, 14 bytes, hidden", out)
        self.assertNotIn("alice", out)
        self.assertIn("secrets:       yes", out)
        self.assertIn("|..alice.s3cret|", self.show("secret.yaml", text, "--show-secrets"))

    def test_show_errors_and_usage(self):
        p = self.write("bad.yaml", "version: 1\nsteps:\n  - expect: {binary: \"zz\"}\n")
        res = self.recheck("show", p)
        self.assertRc(res, 3)
        self.assertIn("%s:3:22: step 1: 'binary': a hex digit is expected" % p, res.stderr)
        self.assertEqual(res.stdout, "")
        self.assertRc(self.recheck("show"), 2)
        self.assertRc(self.recheck("show", "a.yaml", "b.yaml"), 2)
        res = self.recheck("show", "--help")
        self.assertRc(res, 0)
        self.assertIn("usage: recheck show", res.stdout)

    def test_local_samples_pass_through_real_proxies(self):
        """The local samples' bytes are right: the SOCKS5 one passes through microsocks and dante (whose
        CONNECT replies differ), the HTTP-proxy one through tinyproxy, and both fail when the origin's
        port is wrong."""
        origin = self.start_origin()
        socks = self.path("socks5.yaml")
        harness.sample_for_port("local/socks5-local-204.yaml", origin, socks)
        for port in (self.start_microsocks(), self.start_dante()):
            self.assertIsNone(run_local_sample(socks, port))
        proxy = self.path("http-proxy.yaml")
        harness.sample_for_port("local/http-proxy-local-204.yaml", origin, proxy)
        tiny = self.start_tinyproxy()
        self.assertIsNone(run_local_sample(proxy, tiny))
        dead = harness.free_port()
        harness.sample_for_port("local/socks5-local-204.yaml", dead, socks)
        self.assertIn("step 5 (expect rbinary", run_local_sample(socks, self.start_microsocks(), timeout=3))
        harness.sample_for_port("local/http-proxy-local-204.yaml", dead, proxy)
        self.assertIn("step 3 (expect rstring", run_local_sample(proxy, tiny, timeout=3))

    def test_sample_for_port(self):
        port = 40000 + os.getpid() % 20000
        dest = harness.sample_for_port("local/socks5-local-204.yaml", port, self.path("s.yaml"))
        self.assertEqual(dest, self.path("s.yaml"))
        with open(dest) as f:
            text = f.read()
        self.assertNotIn("18204", text)
        self.assertNotIn("471c", text)
        self.assertIn("050100017f000001%04x" % port, text)
        self.assertIn("Host: 127.0.0.1:%d\\r\\n" % port, text)
        res = self.recheck("lint", "--strict", dest)
        self.assertRc(res, 0)
        res = self.recheck("show", dest)
        self.assertIn("050100017f000001%04x" % port, res.stdout)
        for rel in ("local/http-proxy-local-204.yaml", "local/http-local-204.yaml"):
            d = harness.sample_for_port(rel, port, self.path(os.path.basename(rel)))
            with open(d) as f:
                self.assertIn(str(port), f.read())
            self.assertRc(self.recheck("lint", d), 0)


if __name__ == "__main__":
    harness.main()
