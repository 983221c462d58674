#!/usr/bin/env python3
"""recheck record, live: real curl requests through real proxies (microsocks, dante, tinyproxy) to the
local origin, captured on loopback. Each recipe must pass `recheck replay` against the proxy it was
recorded from, export to lines that `haproxy -c` accepts and that a real HAProxy uses to mark the proxy
UP, and fail (replay exit 1, HAProxy DOWN) once the origin is stopped.

Needs root (the capture); the suite runs as root in CI."""
import os
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "recording needs root (CAP_NET_RAW) for the capture")


def steps_of(text):
    """The steps part of a recipe in YAML (the metadata before it names the time and the source)."""
    i = text.find("\nsteps:")
    return text[i:] if i >= 0 else text


@NEED_ROOT
class Record(harness.Case):
    # --- helpers ---------------------------------------------------------------------------------

    def origin(self):
        port = self.start_origin()
        return port, self.procs.procs[-1]

    def record(self, proxy, url, *extra, out="recipe.yaml", rc=0):
        path = self.path(out)
        res = self.recheck("record", "--proxy", proxy, "--url", url, "-o", path, *extra, timeout=30)
        self.assertRc(res, rc, "recheck record %s %s" % (proxy, url))
        if rc == 0:
            with open(path) as f:
                return path, f.read(), res
        return path, None, res

    def replay(self, recipe, port, rc=0, env=None):
        res = self.recheck("replay", recipe, "--server", "127.0.0.1:%d" % port, "--timeout", "3s", env=env,
                           timeout=30)
        self.assertRc(res, rc, "recheck replay %s against port %d" % (recipe, port))
        return res

    def export_listen(self, recipe, port):
        res = self.recheck("export", recipe, "--listen", "px", "--bind", "127.0.0.1:%d" % harness.free_port(),
                           "--server", "s1=127.0.0.1:%d" % port, "--inter", "200ms", "--rise", "2", "--fall", "2",
                           "--timeout", "2s")
        self.assertRc(res, 0, "recheck export --listen")
        return res.stdout

    def haproxy_up(self, recipe, port):
        """Starts a real HAProxy with the recipe's export and waits until it has checked the proxy UP
        (a passed check, not merely the initial state)."""
        cfg = self.export_listen(recipe, port)
        _, sock = self.start_haproxy("defaults\n    mode tcp\n" + cfg)
        harness.wait_for(lambda: self._st(sock)[:2] == ("UP", "L7OK"), 10, what="px/s1 UP after a passed check")
        return sock

    def _st(self, sock):
        return self.haproxy_status(sock, "px", "s1")

    def wait_down(self, sock):
        st = harness.wait_for(lambda: self._st(sock)[0] == "DOWN" and self._st(sock), 10, what="px/s1 DOWN")
        self.assertNotEqual(st[1], "L7OK")

    def full_cycle(self, recipe, proxy_port, origin_proc):
        """replay passes, HAProxy UP; the origin stops: replay fails with the check verdict, HAProxy DOWN."""
        self.replay(recipe, proxy_port)
        sock = self.haproxy_up(recipe, proxy_port)
        self.procs.stop(origin_proc)
        self.replay(recipe, proxy_port, rc=1)
        self.wait_down(sock)

    # --- SOCKS5 ----------------------------------------------------------------------------------

    def test_microsocks_socks5h(self):
        o, op = self.origin()
        s = self.start_microsocks()
        # socks5h: the proxy resolves the name, so the CONNECT carries it (ATYP 03, "localhost")
        path, text, res = self.record("socks5h://127.0.0.1:%d" % s, "http://localhost:%d/generate_204" % o)
        self.assertIn("protocol: socks5", text)
        self.assertIn('"0501000309%s%04x"' % (b"localhost".hex(), o), text)
        self.assertIn("detected socks5", res.stderr)          # the summary
        self.assertIn("not matched", res.stderr)              # what was generalized, and why
        self.assertIn("HTTP 204", res.stderr)                 # the status curl saw
        self.assertNotIn("secret", text)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)
        self.full_cycle(path, s, op)

    def test_dante_socks4(self):
        o, op = self.origin()
        d = self.start_dante()
        path, text, res = self.record("socks4://127.0.0.1:%d" % d, "http://127.0.0.1:%d/generate_204" % o)
        self.assertIn("protocol: socks4", text)
        self.full_cycle(path, d, op)

    def test_microsocks_socks5_ipv6_proxy(self):
        o, op = self.origin()
        exe = harness.which("microsocks")
        port = harness.free_port()
        self.procs.start([exe, "-i", "::1", "-p", str(port)], "microsocks6")
        harness.wait_port(port, host="::1")
        path, text, _ = self.record("socks5://[::1]:%d" % port, "http://127.0.0.1:%d/generate_204" % o)
        self.assertIn("send-binary: \"050100017f000001", text)  # CONNECT to the origin's IPv4, kept exact
        # the recipe is portable: the same checks pass against an IPv4 SOCKS5 server
        self.replay(path, self.start_microsocks())

    def test_microsocks_user_password_is_secret(self):
        o, op = self.origin()
        s = self.start_microsocks("alice", "s3cret")
        path, text, res = self.record("socks5://alice:s3cret@127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertIn("secret: true", text)
        self.assertIn("credentials", res.stderr)
        self.assertIn("--redact", res.stderr)
        self.full_cycle(path, s, op)

    def test_microsocks_redact(self):
        o, _ = self.origin()
        s = self.start_microsocks("alice", "s3cret")
        path, text, res = self.record("socks5://alice:s3cret@127.0.0.1:%d" % s,
                                      "http://127.0.0.1:%d/generate_204" % o, "--redact")
        self.assertNotIn("s3cret", text)
        self.assertNotIn("alice", text)
        self.assertIn("${RECHECK_SOCKS_USER}", text)
        self.assertIn("${RECHECK_SOCKS_PASS}", text)
        env = dict(os.environ, RECHECK_SOCKS_USER="alice", RECHECK_SOCKS_PASS="s3cret")
        self.replay(path, s, env=env)
        wrong = dict(env, RECHECK_SOCKS_PASS="wrong!")
        self.replay(path, s, rc=1, env=wrong)
        # HAProxy fills the references from its own environment; the secret is never in its config
        cfg = self.export_listen(path, s)
        self.assertNotIn("s3cret", cfg)
        for k in ("RECHECK_SOCKS_USER", "RECHECK_SOCKS_PASS"):
            self.addCleanup(os.environ.pop, k, None)
            os.environ[k] = env[k]
        self.haproxy_up(path, s)

    def test_dante_and_portability(self):
        o, op = self.origin()
        d = self.start_dante()
        m = self.start_microsocks()
        dpath, _, _ = self.record("socks5://127.0.0.1:%d" % d, "http://127.0.0.1:%d/generate_204" % o, out="dante.yaml")
        mpath, _, _ = self.record("socks5h://127.0.0.1:%d" % m, "http://127.0.0.1:%d/generate_204" % o,
                                  out="microsocks.yaml")
        # each passes against the other implementation: the volatile reply bytes are not matched
        self.replay(dpath, m)
        self.replay(mpath, d)
        # what generalization buys: the same conversation kept byte for byte (--raw) fails against
        # dante, whose reply carries the real bound address where microsocks sends zeros
        rpath, rtext, _ = self.record("socks5h://127.0.0.1:%d" % m, "http://127.0.0.1:%d/generate_204" % o, "--raw",
                                      out="raw.yaml")
        self.assertIn('binary: "05000001000000000000"', rtext)
        self.replay(rpath, d, rc=1)
        self.full_cycle(dpath, d, op)

    # --- HTTP proxies ----------------------------------------------------------------------------

    def test_tinyproxy_forward(self):
        o, op = self.origin()
        t = self.start_tinyproxy()
        path, text, _ = self.record("http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o)
        self.assertIn("protocol: http-proxy", text)
        self.full_cycle(path, t, op)

    def test_tinyproxy_connect(self):
        o, op = self.origin()
        t = self.start_tinyproxy(connect_ports=(o,))
        path, text, res = self.record("http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o, "--tunnel")
        self.assertIn("protocol: http-connect", text)
        self.assertIn("CONNECT 127.0.0.1:%d" % o, text)
        self.assertIn("CONNECT answered 200", res.stderr)
        self.full_cycle(path, t, op)

    def test_tinyproxy_basic_auth(self):
        o, op = self.origin()
        t = self.start_tinyproxy("bob", "pw", connect_ports=(o,))
        path, text, _ = self.record("http://bob:pw@127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertIn("Proxy-Authorization: Basic Ym9iOnB3", text)
        self.full_cycle(path, t, op)

    def test_tinyproxy_without_credentials_is_407(self):
        o, _ = self.origin()
        t = self.start_tinyproxy("bob", "pw", connect_ports=(o,))
        # a recorded refusal: exit 1 with the proxy's answer (issue 15's one rule)
        path, _, res = self.record("http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn("407", res.stderr)
        self.assertFalse(os.path.exists(path))

    def test_https_through_connect_is_checked_inside_tls(self):
        openssl = harness.which("openssl")
        if not openssl:
            self.skipTest("openssl is not installed")
        key, cert = self.path("k.pem"), self.path("c.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=30)
        tls = harness.free_port()
        tlsp = self.procs.start([openssl, "s_server", "-quiet", "-www", "-accept", str(tls), "-cert", cert,
                                 "-key", key], "s_server")
        harness.wait_port(tls)
        t = self.start_tinyproxy(connect_ports=(tls,))
        path, text, res = self.record("http://127.0.0.1:%d" % t, "https://127.0.0.1:%d/" % tls, "--tunnel", "-k")
        self.assertIn("TLS", res.stderr)                      # the summary says what happens to TLS
        self.assertIn("CONNECT 127.0.0.1:%d" % tls, text)
        self.assertIn("- tls: {sni: 127.0.0.1, verify: false, alpn: [http/1.1]}", text)   # -k
        self.assertIn("GET / HTTP/1.1", text)                 # the request inside TLS
        self.replay(path, t)
        # TLS inside the tunnel has no HAProxy form: export says so (tests/integration/test_tls.py has more)
        exp = self.recheck("export", path)
        self.assertRc(exp, 3)
        self.assertIn("tls inside the tunnel", exp.stderr)
        self.procs.stop(tlsp)
        self.replay(path, t, rc=1)

    # --- failures and outputs --------------------------------------------------------------------

    def test_silent_proxy_times_out(self):
        import socket
        o, _ = self.origin()
        hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(hole.close)
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)                                        # accepts the handshake, never answers
        port = hole.getsockname()[1]
        path = self.write("recipe.yaml", "precious\n")
        t0 = time.monotonic()
        res = self.recheck("record", "-x", "socks5h://127.0.0.1:%d" % port, "--url", "http://127.0.0.1:%d/" % o,
                           "-o", path, "--timeout", "500ms", timeout=30)
        self.assertRc(res, 4)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("timed out", res.stderr.lower())
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_dead_proxy_leaves_output_untouched(self):
        o, _ = self.origin()
        dead = harness.free_port()
        path = self.write("recipe.yaml", "precious\n")
        pcap = self.write("keep.pcap", "old\n")
        res = self.recheck("record", "--proxy", "socks5h://127.0.0.1:%d" % dead, "--url",
                           "http://127.0.0.1:%d/generate_204" % o, "-o", path, "--save-pcap", pcap, timeout=30)
        self.assertRc(res, 4)
        self.assertIn("socks5h://127.0.0.1:%d" % dead, res.stderr)   # names the proxy
        self.assertIn("curl:", res.stderr)                             # and curl's message
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")
        with open(pcap) as f:
            self.assertEqual(f.read(), "old\n")
        self.assertEqual(sorted(os.listdir(self.tmp)).count("recipe.yaml"), 1)
        self.assertFalse([n for n in os.listdir(self.tmp) if ".tmp." in n], "temporary files left behind")

    def test_stdout_and_haproxy_format(self):
        o, _ = self.origin()
        s = self.start_microsocks()
        res = self.recheck("record", "-x", "socks5h://localhost:%d" % s, "http://127.0.0.1:%d/generate_204" % o,
                           "--format", "haproxy", "-o", "-", timeout=30)
        self.assertRc(res, 0)
        self.assertIn("tcp-check send-binary 05", res.stdout)
        self.assertIn("tcp-check expect", res.stdout)
        self.assertNotIn("recording", res.stdout)       # progress goes to stderr only
        self.assertIn("recording: done", res.stderr)
        self.assertIn("through socks5h://localhost:%d" % s, res.stderr)   # a proxy given by name

    def test_save_pcap_gives_the_same_recipe(self):
        o, _ = self.origin()
        s = self.start_microsocks("alice", "s3cret")
        pcap = self.path("rec.pcap")
        path, text, _ = self.record("socks5://alice:s3cret@127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o,
                                    "--save-pcap", pcap)
        self.assertEqual(stat.S_IMODE(os.stat(pcap).st_mode), 0o600)
        with open(pcap, "rb") as f:
            self.assertEqual(f.read(4), b"\xd4\xc3\xb2\xa1")
        again = self.path("again.yaml")
        res = self.recheck("from-pcap", pcap, "--server", "127.0.0.1:%d" % s, "-o", again)
        self.assertRc(res, 0, "recheck from-pcap of the saved capture")
        with open(again) as f:
            self.assertEqual(steps_of(f.read()), steps_of(text))

    def test_interface_choice(self):
        o, _ = self.origin()
        s = self.start_microsocks()
        url = "http://127.0.0.1:%d/generate_204" % o
        _, _, res = self.record("socks5h://127.0.0.1:%d" % s, url, "--iface", "lo", "-v")
        self.assertIn("capturing on lo", res.stderr)
        # the "any" pseudo-device: another link type (LINUX_SLL), in the live capture and the saved one
        pcap = self.path("any.pcap")
        apath, atext, res = self.record("socks5h://127.0.0.1:%d" % s, url, "--iface", "any", "-v", "--save-pcap", pcap,
                                        out="any.yaml")
        self.assertIn("link type LINUX_SLL", res.stderr)
        res = self.recheck("from-pcap", pcap, "--server", "127.0.0.1:%d" % s)
        self.assertRc(res, 0)
        self.assertEqual(steps_of(res.stdout), steps_of(atext))
        _, _, res = self.record("socks5h://127.0.0.1:%d" % s, url, "--iface", "nosuchif0", rc=5)
        self.assertIn("nosuchif0", res.stderr)
        # a proxy on one of the host's own non-loopback addresses is reached over lo, not over the
        # interface that holds the address: the automatic choice must know it
        ipcmd = harness.which("ip")
        if not ipcmd:
            return
        ip = subprocess.run([ipcmd, "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                            text=True).stdout.split()
        addrs = [ip[i + 1].split("/")[0] for i, w in enumerate(ip[:-1]) if w == "inet"]
        if not addrs:
            return
        port = harness.free_port()
        self.procs.start([harness.which("microsocks"), "-i", addrs[0], "-p", str(port)], "microsocks-global")
        harness.wait_port(port, host=addrs[0])
        path, _, res = self.record("socks5h://%s:%d" % (addrs[0], port), url, "-v", out="global.yaml")
        self.assertIn("capturing on lo", res.stderr)
        self.replay(path, s)

    def test_usage_errors(self):
        for args, why in (((), "--proxy is required"),
                          (("-x", "socks5://127.0.0.1:1"), "--url is required"),
                          (("-x", "127.0.0.1:1080", "--url", "http://a/"), "no scheme"),
                          (("-x", "https://127.0.0.1:1", "--url", "http://a/"), "not supported"),
                          (("-x", "socks5://127.0.0.1:1", "--url", "http://a/", "--tunnel"), "--tunnel"),
                          (("-x", "socks5://127.0.0.1:1", "--url", "ftp://a/"), "http://"),
                          (("-x", "socks5://127.0.0.1:1", "--url", "http://a/", "-t", "soon"), "--timeout"),
                          (("-x", "socks5://127.0.0.1:1", "--url", "http://a/", "--format", "xml"), "--format"),
                          (("-x", "socks5://127.0.0.1:1", "--url", "http://a/", "--user", "root"), "root")):
            res = self.recheck("record", *args)
            self.assertRc(res, 2, " ".join(args))
            self.assertIn(why, res.stderr)
        res = self.recheck("record", "--help")
        self.assertRc(res, 0)
        for opt in ("--proxy", "--url", "--tunnel", "--output", "--format", "--iface", "--save-pcap", "--timeout",
                    "--name", "--raw", "--redact", "--user", "-v", "Example"):
            self.assertIn(opt, res.stdout)


if __name__ == "__main__":
    harness.main()
