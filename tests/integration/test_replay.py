#!/usr/bin/env python3
"""recheck replay against real peers: microsocks + the local 204 origin, the origin directly, and the
scripted server (tests/fixtures/scriptsrv.c) for closed ports, silent and dribbling servers."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SAMPLE_PORT = 18204  # the origin port written in samples/local/*.yaml

TCP_HELLO = """version: 1
name: hello
kind: tcp
steps:
  - send: "PING\\r\\n"
    comment: "say hello"
  - expect: {rstring: "^HTTP/1\\\\.[01] 204"}
    comment: "the status line"
"""


class Replay(harness.Case):
    def sample(self, relpath, port, dest):
        """A samples/ recipe with the origin port 18204 (text and big-endian hex) replaced by port."""
        helper = getattr(harness, "sample_for_port", None)
        if helper:
            return helper(relpath, port, self.path(dest))
        with open(os.path.join(harness.SAMPLES, relpath)) as f:
            text = f.read()
        text = text.replace("%04x" % SAMPLE_PORT, "%04x" % port).replace(str(SAMPLE_PORT), str(port))
        return self.write(dest, text)

    def replay(self, recipe, server, *args, timeout=30):
        t0 = time.monotonic()
        res = self.recheck("replay", recipe, "--server", server, *args, timeout=timeout)
        return res, time.monotonic() - t0

    # --- SOCKS5 through a real microsocks -------------------------------------------------------

    def test_socks5_passes(self):
        origin = self.start_origin()
        socks = self.start_microsocks()
        recipe = self.sample("local/socks5-local-204.yaml", origin, "socks5.yaml")
        res, _ = self.replay(recipe, "127.0.0.1:%d" % socks, "--timeout", "5s")
        self.assertRc(res, 0)
        self.assertRegex(res.stdout, r"^OK L7OK [0-9.]+ms: connect 1 [0-9.]+ms, send 2 [0-9.]+ms, expect 3 ")
        self.assertEqual(len(res.stdout.splitlines()), 1)

        res, _ = self.replay(recipe, "localhost:%d" % socks, "-v", "--count", "2")
        self.assertRc(res, 0)
        self.assertIn("step 7: expect rstring passed", res.stdout)
        self.assertEqual(res.stdout.count("OK L7OK"), 2)

    def test_socks5_without_origin_fails_with_diff(self):
        origin = self.start_origin()
        socks = self.start_microsocks()
        self.procs.stop(self.procs.procs[0])  # the origin: microsocks now gets "connection refused"
        recipe = self.sample("local/socks5-local-204.yaml", origin, "socks5.yaml")
        res, _ = self.replay(recipe, "127.0.0.1:%d" % socks, "--timeout", "3s")
        self.assertRc(res, 1)
        out = res.stdout
        self.assertIn("FAIL L7RSP", out)
        self.assertIn("step 5:   expect rbinary - reply succeeded", out)   # number, kind, comment
        self.assertIn("expected: regex over the UPPERCASE hex of the bytes '^050000", out)
        self.assertIn("first difference at offset 1", out)
        self.assertRegex(out, r"0000 +05 \[0[1-8]\]")                      # REP != 0 is marked
        self.assertIn("verdict:  L7RSP (Layer7 invalid response)", out)

    # --- Layer 4 -----------------------------------------------------------------------------------

    def test_closed_port_is_l4con_quickly(self):
        port = harness.free_port()
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, took = self.replay(recipe, "127.0.0.1:%d" % port, "--timeout", "10s")
        self.assertRc(res, 4)
        self.assertIn("FAIL L4CON", res.stdout)
        self.assertIn("Connection refused at initial connection step of tcp-check", res.stdout)
        # refused at once, not after the 10 s timeout (the margin covers a loaded, sanitized run)
        self.assertLess(took, 5.0)

    def test_unresolvable_name_is_unreachable(self):
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, _ = self.replay(recipe, "no-such-host.invalid:80")
        self.assertRc(res, 4)
        self.assertIn("cannot resolve", res.stdout)

    def test_usage_and_bad_recipe(self):
        recipe = self.write("hello.yaml", TCP_HELLO)
        self.assertRc(self.recheck("replay", recipe), 2)
        self.assertRc(self.recheck("replay", recipe, "--server", "127.0.0.1"), 2)
        self.assertRc(self.recheck("replay", recipe, "--server", "127.0.0.1:1", "--timeout", "soon"), 2)
        res = self.recheck("replay", "--help")
        self.assertRc(res, 0)
        self.assertIn("Exit codes", res.stdout)
        bad = self.write("bad.yaml", TCP_HELLO.replace("rstring", "rstrin"))
        res = self.recheck("replay", bad, "--server", "127.0.0.1:1")
        self.assertRc(res, 3)
        self.assertIn("bad.yaml:", res.stderr)

    # --- silent, dribbling and flooding servers --------------------------------------------------

    def test_silent_server_is_l7tout_at_the_deadline(self):
        port = self.scriptsrv_port("hang")
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, took = self.replay(recipe, "127.0.0.1:%d" % port, "--timeout", "800ms")
        self.assertRc(res, 1)
        self.assertIn("FAIL L7TOUT", res.stdout)
        self.assertIn("at step 2 of tcp-check (expect regex) comment: 'the status line'", res.stdout)
        self.assertIn("received: nothing", res.stdout)
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 3.5)

    def test_dribbling_server_inside_the_timeout_passes(self):
        port = self.scriptsrv_port("recv; drip 20 HTTP/1.1 204 No Content\\r\\n\\r\\n; hang")
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, _ = self.replay(recipe, "127.0.0.1:%d" % port, "--timeout", "3s")
        self.assertRc(res, 0)
        self.assertIn("OK L7OK", res.stdout)

    def test_dribbling_server_cannot_stretch_the_deadline(self):
        # 27 bytes at one per 300 ms would take 8.1 s; the one deadline ends the check at 1 s
        port = self.scriptsrv_port("recv; drip 300 HTTP/1.1 204 No Content\\r\\n\\r\\n; hang")
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, took = self.replay(recipe, "127.0.0.1:%d" % port, "--timeout", "1s")
        self.assertRc(res, 1)
        self.assertIn("FAIL L7TOUT", res.stdout)
        self.assertLess(took, 4.5)

    def test_flood_fills_the_buffer_and_concludes(self):
        port = self.scriptsrv_port("recv; junk 1048576; hang")
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, took = self.replay(recipe, "127.0.0.1:%d" % port, "--timeout", "10s")
        self.assertRc(res, 1)
        self.assertIn("FAIL L7RSP", res.stdout)
        self.assertIn("received: 16384 bytes (first 4096 shown)", res.stdout)
        self.assertLess(took, 5.0)

    def test_reset_without_answer_is_sockerr(self):
        port = self.scriptsrv_port("recv; reset")
        recipe = self.write("hello.yaml", TCP_HELLO)
        res, _ = self.replay(recipe, "127.0.0.1:%d" % port)
        self.assertRc(res, 1)
        self.assertIn("FAIL SOCKERR", res.stdout)
        self.assertIn("Connection reset by peer", res.stdout)

    # --- HTTP recipes against the origin directly ----------------------------------------------

    def test_http_recipe_against_origin(self):
        origin = self.start_origin()
        recipe = self.sample("local/http-local-204.yaml", origin, "http.yaml")
        res, _ = self.replay(recipe, "127.0.0.1:%d" % origin)
        self.assertRc(res, 0)
        self.assertRegex(res.stdout, r"^OK L7OK [0-9.]+ms: connect [0-9.]+ms, request [0-9.]+ms, response ")

        with open(recipe) as f:
            text = f.read()
        r404 = self.write("http404.yaml", text.replace("uri: /generate_204", "uri: /status/404"))
        res, _ = self.replay(r404, "127.0.0.1:%d" % origin)
        self.assertRc(res, 1)
        self.assertIn("FAIL L7STS", res.stdout)
        self.assertIn("HTTP:     status 404", res.stdout)
        self.assertIn("verdict:  L7STS (Layer7 wrong status)", res.stdout)


if __name__ == "__main__":
    harness.main()
