#!/usr/bin/env python3
"""recheck export / import against the real haproxy 2.6: every sample passes `haproxy -c`, the escaping
puts exactly the intended bytes on the wire (every byte value), the seed's two configurations survive
import -> export byte for byte on the wire, and an exported SOCKS5 recipe marks a real microsocks UP
(and DOWN when it expects the wrong status)."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

HAPROXY = harness.which("haproxy")
FIXTURE = os.path.join(harness.BUILD, "tests", "haproxy_bytes")

DEFAULTS = harness.HAPROXY_TCP_DEFAULTS


class ScriptedServer:
    """A TCP server on 127.0.0.1 that records what the first connection sends. script is a list of
    (wait_for, reply): wait until wait_for (an int: that many bytes in total; bytes: that marker) has
    arrived, then send reply. After the script it reads until EOF/RST or 2 s of silence."""

    def __init__(self, script=(), close_after=False):
        self.script = list(script)
        self.close_after = close_after
        self.received = b""
        self.connections = 0
        self.done = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(15)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            self.done.set()
            return
        self.connections += 1
        conn.settimeout(2)
        data = b""
        try:
            for wait_for, reply in self.script:
                while not (len(data) >= wait_for if isinstance(wait_for, int) else wait_for in data):
                    chunk = conn.recv(65536)
                    if not chunk:
                        raise ConnectionError
                    data += chunk
                conn.sendall(reply)
            if self.close_after:
                conn.shutdown(socket.SHUT_WR)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        finally:
            self.received = data
            conn.close()
            self.done.set()

    def wait(self, timeout=15):
        if not self.done.wait(timeout):
            raise TimeoutError("no check connection reached the scripted server on port %d" % self.port)
        return self.received

    def close(self):
        self.sock.close()


class HaproxyExport(harness.Case):
    def setUp(self):
        super().setUp()
        if not HAPROXY:
            self.fail("haproxy is not installed (apt-get install haproxy)")

    def haproxy_c(self, cfg_text, name):
        path = self.write(name, cfg_text)
        res = subprocess.run([HAPROXY, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, "haproxy -c refused %s:\n%s\n%s" % (name, cfg_text, res.stdout + res.stderr))
        return res.stdout + res.stderr

    def server(self, *args, **kw):
        s = ScriptedServer(*args, **kw)
        self.addCleanup(s.close)
        return s

    def export(self, recipe, *args):
        res = self.recheck("export", recipe, *args)
        self.assertRc(res, 0, "export %s" % recipe)
        return res.stdout

    def listen_args(self, server_port, name="chk", extra=()):
        return ["--listen", name, "--bind", "127.0.0.1:%d" % harness.free_port(),
                "--server", "s1=127.0.0.1:%d" % server_port, "--inter", "10s", "--rise", "1", "--fall", "1"] + list(extra)

    # --- every sample is a configuration haproxy accepts -------------------------------------------------

    def test_every_sample_passes_haproxy_c(self):
        samples = harness.sample_recipes()
        self.assertTrue(samples, "no samples found in %s" % harness.SAMPLES)
        for sample in samples:
            with self.subTest(sample=os.path.relpath(sample, harness.SAMPLES)):
                for extra in ([], ["--legacy-httpchk"]):
                    out = self.export(sample, "--listen", "chk", "--bind", "127.0.0.1:%d" % harness.free_port(),
                                      "--server", "a=127.0.0.1:%d" % harness.free_port(),
                                      "--server", "b=127.0.0.1:%d,backup,slowstart=4s" % harness.free_port(),
                                      "--hash-type", "consistent", "--inter", "2s", "--rise", "2", "--fall", "3",
                                      "--timeout", "5s", *extra)
                    self.assertIn("listen chk\n", out)
                    self.assertRegex(out, r"server b 127\.0\.0\.1:\d+ check backup slowstart 4s")
                    self.haproxy_c(out, "sample.cfg")

    # --- the escaping, proven on the real lexer ---------------------------------------------------------

    def fixture(self, mode, name):
        """Runs tests/haproxy_bytes MODE into the file name: (the tcp-check lines it prints, the bytes it
        wrote)."""
        path = self.path(name)
        res = subprocess.run([FIXTURE, mode, path], capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(path, "rb") as f:
            return res.stdout.decode("ascii"), f.read()

    @staticmethod
    def listen(name, lines, server):
        """A listen section after DEFAULTS with lines (one a line) and the server line server."""
        body = DEFAULTS + "listen %s\n    bind 127.0.0.1:%d\n" % (name, harness.free_port())
        body += "".join("    " + line + "\n" for line in lines.splitlines())
        return body + "    " + server + "\n"

    def test_every_byte_value_reaches_the_wire(self):
        lines, expected = self.fixture("send", "expected.bin")
        self.assertEqual(set(expected), set(range(256)))
        srv = self.server()
        self.start_haproxy(self.listen("be", lines, "server s1 127.0.0.1:%d check inter 10s" % srv.port))
        got = srv.wait()
        self.assertEqual(got, expected, "first difference at byte %d" % next(
            (i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected))))

    def test_every_byte_value_matches_in_expect_string(self):
        lines, reply = self.fixture("expect", "reply.bin")
        for name, answer, want in (("good", reply, "UP"), ("bad", reply[:-1] + b"?", "DOWN")):
            srv = self.server([(b"go", answer)], close_after=True)
            _, sock = self.start_haproxy(self.listen(
                name, lines, "server s1 127.0.0.1:%d check inter 10s rise 1 fall 1" % srv.port), name=name)
            srv.wait()
            harness.wait_for(lambda: self.haproxy_status(sock, name, "s1")[0] == want, 10,
                             what="%s/s1 %s" % (name, want))

    def test_regex_backslashes_reach_pcre_unchanged(self):
        # Single-quoted YAML: every backslash is part of the regex. "a\\b" (a literal backslash) that lost
        # a backslash on the way would be "a\b" (a word boundary) and fail; the negated "x\\\\y" (two
        # literal backslashes) that lost two would match the reply "x\y" and fail.
        recipe = self.write("rx.yaml", r"""version: 1
name: rx
kind: tcp
steps:
  - send: "go"
  - expect: {rstring: '^a\\b\.c\ \d{3}\s'}
  - expect: {rstring: '[^\\]+\\$'}
  - expect: {rstring: 'x\\\\y', negate: true}
  - expect: {rstring: '\x41\t#\x27\x22'}
  - expect: {rbinary: '^615C62'}
""")
        lines = self.export(recipe)
        self.assertIn(r"tcp-check expect rstring ^a\\\b\.c\\\ \d{3}\s", lines)
        self.assertIn(r"tcp-check expect ! rstring x\\\\\\\y", lines)
        good = b"a\\b.c 204 x\\y A\t#'\"end\\"
        for reply, want in ((good, "UP"), (good.replace(b"a\\b", b"ab"), "DOWN")):
            name = "rx" + want
            srv = self.server([(b"go", reply)], close_after=True)
            _, sock = self.start_haproxy(self.listen(
                name, lines, "server s1 127.0.0.1:%d check inter 10s rise 1 fall 1" % srv.port), name=name)
            srv.wait()
            st = harness.wait_for(lambda: (lambda s: s if s[0] == want and not s[1].startswith("*") else None)(
                self.haproxy_status(sock, name, "s1")), 10, what="%s/s1 %s" % (name, want))
            self.assertEqual(st[1], "L7OK" if want == "UP" else "L7RSP", st)

    # --- the seed's configurations: import -> export is the same check ----------------------------------

    def seed_bytes(self, section_body, script, extra_export=()):
        """Runs the seed section (original) and its import -> export form against scripted servers and
        returns (original bytes, re-exported bytes, re-exported config text)."""
        srv = self.server(script)
        orig = "listen seed\n    bind 127.0.0.1:%d\n%s    server xxx1 127.0.0.1:%d check inter 10s\n" % (
            harness.free_port(), section_body, srv.port)
        cfg = self.write("seed.cfg", "global\n" + DEFAULTS + orig)
        self.haproxy_c("global\n" + DEFAULTS + orig, "seed-check.cfg")
        res = self.recheck("import", cfg, "-o", self.path("seed.yaml"))
        self.assertRc(res, 0)
        srv2 = self.server(script)
        again = self.export(self.path("seed.yaml"), *self.listen_args(srv2.port, "seed", extra_export))
        self.haproxy_c(DEFAULTS + again, "again-check.cfg")
        self.start_haproxy(DEFAULTS + orig, name="orig")
        first = srv.wait()
        self.start_haproxy(DEFAULTS + again, name="again")
        second = srv2.wait()
        return first, second, again

    def test_seed_socks5_roundtrip(self):
        section = r"""    option tcp-check
    tcp-check connect
    tcp-check send-binary 05020001
    tcp-check expect binary 0500
    tcp-check send-binary 0501000312636c69656e74332e676f6f676c652e636f6d0050
    tcp-check expect binary 050000010000000006b5
    #tcp-check send-binary 474554202f67656e65726174655f32303420485454502f312e310d0a
    tcp-check send GET\ /generate_204\ HTTP/1.1\r\n
    tcp-check send Host:\ client3.google.com\r\n
    tcp-check send User-Agent:\ curl/7.54.0\r\n
    tcp-check send Accept:\ */*\r\n
    tcp-check send \r\n
    tcp-check expect rstring ^HTTP/1.1\ 204
    balance source
    hash-type consistent # optional
"""
        script = [(4, bytes.fromhex("0500")), (4 + 25, bytes.fromhex("050000010000000006b5")),
                  (b"\r\n\r\n", b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")]
        first, second, again = self.seed_bytes(section, script)
        self.assertTrue(first.startswith(bytes.fromhex("05020001")), first)
        self.assertIn(b"User-Agent: curl/7.54.0\r\nAccept: */*\r\n\r\n", first)
        self.assertEqual(first, second)
        self.assertIn("tcp-check expect rstring ^HTTP/1.1\\ 204", again)
        self.assertIn("tcp-check send-binary 0501000312636c69656e74332e676f6f676c652e636f6d0050", again)

    def test_seed_http_roundtrip(self):
        section = (r"    option httpchk GET http://client3.google.com/generate_204 HTTP/1.1\r\nHost:\ client3.google.com"
                   r"\r\nProxy-Authorization:\ Basic\ xxxx\r\nProxy-Connection:\ Keep-Alive" "\n    balance source\n")
        script = [(b"\r\n\r\n", b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")]
        for extra in ([], ["--legacy-httpchk"]):
            with self.subTest(form=extra or "http-check send"):
                first, second, again = self.seed_bytes(section, script, extra)
                self.assertTrue(first.startswith(b"GET http://client3.google.com/generate_204 HTTP/1.1\r\n"), first)
                self.assertIn(b"proxy-authorization: Basic xxxx\r\n", first)
                self.assertEqual(first, second)
                self.assertIn("option httpchk GET" if extra else "http-check send meth GET", again)
                self.procs.stop_all()

    # --- the command line -----------------------------------------------------------------------------

    def test_cli_exit_codes_and_files(self):
        seed_http = os.path.join(harness.SAMPLES, "seed-http-generate-204.yaml")
        for cmd in ("export", "import"):
            res = self.recheck(cmd, "--help")
            self.assertRc(res, 0)
            self.assertIn("usage: recheck %s" % cmd, res.stdout)
            self.assertRc(self.recheck(cmd), 2)
            self.assertRc(self.recheck(cmd, "--bogus", "x"), 2)
            self.assertRc(self.recheck(cmd, self.path("missing")), 3)
        self.assertRc(self.recheck("export", seed_http, "--server", "a=127.0.0.1:1"), 2)
        self.assertRc(self.recheck("export", seed_http, "--listen", "x", "--bind", ":1", "--server", "nope"), 2)
        # a recipe with a credential is written 0600, atomically
        out = self.path("out.cfg")
        self.assertRc(self.recheck("export", seed_http, "-o", out), 0)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        with open(out) as f:
            self.assertIn('hdr Proxy-Authorization "Basic ${PROXY_AUTH}"', f.read())
        # the secret stays a reference: HAProxy fills it from its environment
        bad = self.write("bad.cfg", "backend b\n    option tcp-check\n    tcp-check send-lf %[src]\n")
        res = self.recheck("import", bad, "-o", out)
        self.assertRc(res, 3)
        self.assertIn("bad.cfg:3: tcp-check step 1: 'send-lf' is not supported", res.stderr)
        with open(out) as f:
            self.assertIn("Basic ${PROXY_AUTH}", f.read(), "a failed import clobbered the output file")
        two = self.write("two.cfg", "listen a\n    option tcp-check\n    tcp-check send A\n"
                                    "backend b\n    option httpchk GET /\n")
        res = self.recheck("import", two)
        self.assertRc(res, 3)
        self.assertIn("listen a (line 1), backend b (line 4)", res.stderr)
        res = self.recheck("import", two, "--section", "b", "--format", "haproxy")
        self.assertRc(res, 0)
        self.assertIn("option httpchk\nhttp-check send meth GET uri /\n", res.stdout)
        res = self.recheck("import", two, "--section", "a")
        self.assertRc(res, 0)
        self.assertIn("kind: tcp", res.stdout)

    # --- an exported SOCKS5 recipe against a real microsocks ---------------------------------------------

    def socks5_recipe(self, origin_port, status=b"204"):
        with open(os.path.join(harness.SAMPLES, "local", "socks5-local-204.yaml"), "rb") as f:
            text = f.read()
        text = text.replace(b"471c", b"%04x" % origin_port).replace(b"18204", b"%d" % origin_port)
        text = text.replace(b"[01] 204", b"[01] " + status)
        self.assertIn(b"%04x" % origin_port, text)
        return self.write("socks5-%s.yaml" % status.decode(), text.decode())

    def test_socks5_recipe_marks_microsocks_up_and_down(self):
        origin = self.start_origin()
        socks = self.start_microsocks()
        for status, want in ((b"204", "UP"), (b"404", "DOWN")):
            with self.subTest(status=status):
                cfg = self.export(self.socks5_recipe(origin, status),
                                  *self.listen_args(socks, "socks" + status.decode(), ["--inter", "500ms"]))
                self.assertIn("tcp-check send-binary 050100017f000001%04x" % origin, cfg)
                name = "socks" + status.decode()
                _, sock = self.start_haproxy(DEFAULTS + cfg, name=name)
                st = harness.wait_for(lambda: (lambda s: s if s[0] == want and not s[1].startswith("*") else None)(
                    self.haproxy_status(sock, name, "s1")), 15, what="%s/s1 %s" % (name, want))
                self.assertEqual(st[1], "L7OK" if want == "UP" else st[1])
                if want == "DOWN":
                    self.assertIn(st[1], ("L7RSP", "L7TOUT"))


if __name__ == "__main__":
    harness.main()
