#!/usr/bin/env python3
"""TLS checks (the recipe step 'tls'), live: a local CA made with openssl, a TLS origin that answers
/generate_204 (tests/lib/origin.py --tls) directly and behind microsocks, dante and tinyproxy CONNECT.

- recorded https:// recipes pass `recheck replay` through each proxy and keep a recheckd server UP;
- a wrong name, an untrusted CA, an expired certificate and a plain-TCP origin each fail (L6RSP) with
  their own reason, in replay's message and in recheckd's /stats.json;
- recheckd marks the server DOWN when the origin's certificate expires and back UP once it is fixed;
- a direct TLS check exported as `tcp-check connect ssl sni ...` is marked UP by a real HAProxy;
- TLS inside a tunnel is refused by export (exit 3, naming the step);
- a TLS peer that stalls, resets mid-handshake or answers garbage gives a clean verdict (L6TOUT / L6RSP)
  in replay and recheckd, and recheckd exits cleanly (under the sanitizers: nothing reported, no leak).
"""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import RECHECKD, Case, free_port, main, wait_for, wait_port, which  # noqa: E402
from tcpserver import TcpServer  # noqa: E402

ORIGIN = os.path.join(harness.SRC, "tests", "lib", "origin.py")
NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "recording needs root (CAP_NET_RAW) for the capture")
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
SAN = "subjectAltName=DNS:origin.test,DNS:localhost,IP:127.0.0.1"


def ossl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """A CA; certificates for origin.test signed by it (good), for other.test (wrong name), expired in
    2020 (expired, through `openssl ca` for the dates), and a self-signed one (untrusted)."""
    ossl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=recheck test CA",
         cwd=d)
    for name, cn, san in (("good", "origin.test", SAN), ("wrong", "other.test", "subjectAltName=DNS:other.test")):
        ossl("req", *EC, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(san + "\n")
        ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", name + ".pem", "-days", "30", "-extfile", name + ".ext", cwd=d)
    ossl("req", "-x509", *EC, "-keyout", "self.key", "-out", "self.pem", "-days", "30", "-subj", "/CN=origin.test",
         "-addext", SAN, cwd=d)
    os.mkdir(os.path.join(d, "db"))
    open(os.path.join(d, "db", "index.txt"), "w").close()
    with open(os.path.join(d, "db", "serial"), "w") as f:
        f.write("01\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = db/index.txt\nserial = db/serial\nnew_certs_dir = db\n"
                "default_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n"
                "[p]\ncommonName = supplied\n")
    ossl("req", *EC, "-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=origin.test", "-addext", SAN,
         cwd=d)
    ossl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "expired.csr",
         "-out", "expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", cwd=d)
    # recheck record runs curl as an unprivileged user: the CA must be readable by anyone
    os.chmod(d, 0o755)
    for n in os.listdir(d):
        os.chmod(os.path.join(d, n), 0o755 if os.path.isdir(os.path.join(d, n)) else 0o644)


def direct_recipe(path, ca, sni="origin.test", verify=True):
    with open(path, "w") as f:
        f.write("version: 1\nname: direct-tls\nprotocol: https\nsteps:\n  - connect: {}\n"
                "  - tls: {sni: %s%s%s}\n"
                '  - send: "GET /generate_204 HTTP/1.1\\r\\nHost: origin.test\\r\\n\\r\\n"\n'
                '  - expect: {rstring: "^HTTP/1\\\\.[01] 204", min-recv: 13}\n'
                % (sni, ", ca: %s" % ca if verify else "", "" if verify else ", verify: false"))
    return path


class BadPeer(TcpServer):
    """A TLS 'server' of this process that misbehaves once the client hello arrives: 'stall' (never
    answers, holds the connection), 'reset' (RST mid-handshake) or 'garbage' (random bytes, then a
    malformed handshake record, then close)."""

    def __init__(self, mode):
        self.mode = mode
        self.held = []
        self.accepted = 0
        self.rng = random.Random(14)
        super().__init__(lifetime=120)

    def serve(self, c, peer):
        self.accepted += 1
        try:
            c.settimeout(2)
            c.recv(4096)                       # the client hello
            if self.mode == "stall":
                self.held.append(c)
                return
            if self.mode == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.accepted % 2:
                c.sendall(bytes(self.rng.randrange(256) for _ in range(300)))
            else:                              # a handshake record whose message is cut short
                c.sendall(b"\x16\x03\x03\x00\x08\x02\x00\x00\x46\x03\x03\x00\x01")
        except OSError:
            pass
        if c not in self.held:
            c.close()

    def close(self):
        super().close()
        for c in self.held:
            c.close()


class Tls(Case):
    @classmethod
    def setUpClass(cls):
        if not which("openssl"):
            raise unittest.SkipTest("openssl is not installed")
        cls.pki = tempfile.mkdtemp(prefix="recheck-pki-")
        make_pki(cls.pki)
        cls.ca = os.path.join(cls.pki, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------------

    def tls_origin(self, cert="good", port=None):
        port = port or free_port()
        args = [sys.executable, ORIGIN, str(port)]
        if cert:
            args += ["--tls", os.path.join(self.pki, cert + ".pem"), os.path.join(self.pki, cert + ".key")]
        p = self.procs.start(args, "origin-" + (cert or "plain"))
        wait_port(port)
        return port, p

    def replay(self, recipe, port, rc=0, timeout="3s"):
        res = self.recheck("replay", recipe, "--server", "127.0.0.1:%d" % port, "--timeout", timeout, timeout=30)
        self.assertRc(res, rc, "recheck replay %s against port %d" % (recipe, port))
        return res

    def record(self, proxy, url, *extra):
        path = self.path("rec-%d.yaml" % free_port())
        res = self.recheck("record", "--proxy", proxy, "--url", url, "-o", path, *extra, timeout=60)
        self.assertRc(res, 0, "recheck record %s %s" % (proxy, url))
        with open(path) as f:
            return path, f.read()

    def recheckd(self, recipe, port, inter_ms=200, timeout_ms=1000, rise=1, fall=1):
        self.stats_port = free_port()
        conf = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        conf += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % free_port(),
                 "    check: {recipe: %s, inter: %dms, rise: %d, fall: %d, timeout: %dms}" % (
                     recipe, inter_ms, rise, fall, timeout_ms),
                 "    servers:", '      - {name: s1, address: "127.0.0.1:%d"}' % port]
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(d.poll(), self.procs.log(d))
        wait_port(self.stats_port)
        return d

    def server(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            return json.loads(r.read().decode("utf-8"))["listeners"][0]["servers"][0]

    def wait_server(self, want, timeout=10, **check):
        def ok():
            s = self.server()
            return s if s["status"] == want and all(s["check"].get(k) == v for k, v in check.items()) else None
        return wait_for(ok, timeout, 0.05, "server %s %s" % (want, check))

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.stats_port, timeout=5) as r:
            return r.read().decode("utf-8")

    # --- direct TLS: the verdict of each broken origin -----------------------------------------------

    def test_direct_reasons(self):
        recipe = direct_recipe(self.path("direct.yaml"), self.ca)
        good, _ = self.tls_origin("good")
        res = self.replay(recipe, good)
        self.assertIn("OK L7OK", res.stdout)
        expected = {"wrong": "name mismatch", "self": "untrusted", "expired": "expired", None: "not TLS"}
        seen = set()
        for cert, reason in expected.items():
            port, _ = self.tls_origin(cert)
            res = self.replay(recipe, port, rc=1)
            self.assertIn("FAIL L6RSP", res.stdout)
            self.assertIn("SSL handshake failure: %s (" % reason, res.stdout)
            self.assertIn("at step 2 of tcp-check (tls sni origin.test)", res.stdout)
            seen.add(res.stdout.split("SSL handshake failure: ", 1)[1].split(" (", 1)[0])
        self.assertEqual(len(seen), 4, seen)  # four origins, four different reasons
        # verify: false accepts the untrusted and the wrong-name certificates (and lint says so)
        loose = direct_recipe(self.path("loose.yaml"), None, verify=False)
        for cert in ("self", "wrong"):
            port, _ = self.tls_origin(cert)
            self.replay(loose, port)
        lint = self.recheck("lint", loose)
        self.assertRc(lint, 0)
        self.assertIn("verify: false accepts any certificate", lint.stdout)
        show = self.recheck("show", recipe)
        self.assertRc(show, 0)
        self.assertIn("tls sni origin.test, verify the chain (%s) and the name" % self.ca, show.stdout)

    # --- through proxies ---------------------------------------------------------------------------

    @NEED_ROOT
    def test_recorded_through_microsocks_dante_tinyproxy(self):
        o, _ = self.tls_origin("good")
        url = "https://127.0.0.1:%d/generate_204" % o
        m, d = self.start_microsocks(), self.start_dante()
        t = self.start_tinyproxy(connect_ports=(o,))
        for proxy, port, proto in (("socks5h://127.0.0.1:%d", m, "socks5+https"),
                                   ("socks5://127.0.0.1:%d", d, "socks5+https"),
                                   ("http://127.0.0.1:%d", t, "http-connect+https")):
            path, text = self.record(proxy % port, url, "--cacert", self.ca)
            self.assertIn("protocol: %s" % proto, text)
            self.assertIn("- tls: {sni: 127.0.0.1, alpn: [http/1.1], ca: %s}" % self.ca, text)
            self.assertIn('GET /generate_204 HTTP/1.1\\r\\nHost: 127.0.0.1:%d' % o, text)
            self.assertIn('^HTTP/1\\\\.[01] 204', text)
            self.assertIn("OK L7OK", self.replay(path, port).stdout)
            # TLS inside a tunnel has no HAProxy form: export refuses and names the step
            exp = self.recheck("export", path)
            self.assertRc(exp, 3)
            self.assertRegex(exp.stderr, r"step \d+: tls inside the tunnel")
        # --insecure records verify: false, which passes a self-signed origin
        so, _ = self.tls_origin("self")
        path, text = self.record("socks5h://127.0.0.1:%d" % m, "https://127.0.0.1:%d/generate_204" % so, "-k")
        self.assertIn("verify: false", text)
        self.replay(path, m)

    @NEED_ROOT
    def test_recheckd_down_and_back_up_with_the_certificate(self):
        o, op = self.tls_origin("good")
        m = self.start_microsocks()
        path, _ = self.record("socks5h://127.0.0.1:%d" % m, "https://127.0.0.1:%d/generate_204" % o,
                              "--cacert", self.ca)
        d = self.recheckd(path, m)
        s = self.wait_server("UP", status="L7OK")
        delay = s["check"]["delay"]
        self.assertGreater(delay["tls_ms"], 0)
        self.assertGreater(delay["connect_ms"], 0)
        self.assertGreater(delay["first_byte_ms"], 0)
        self.assertIsNone(s["check"]["tls_reason"])
        self.assertIn('recheck_check_delay_seconds{listener="pool",server="s1",phase="tls"}', self.metrics())
        # the origin's certificate expires: DOWN, with the reason
        self.procs.stop(op)
        self.tls_origin("expired", port=o)
        s = self.wait_server("DOWN", status="L6RSP")
        self.assertEqual(s["check"]["tls_reason"], "expired")
        self.assertIn("SSL handshake failure: expired (certificate has expired)", s["check"]["description"])
        self.assertEqual(s["check"]["kind"], "tls")
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.stats_port, timeout=5) as r:
            self.assertIn("SSL handshake failure: expired (certificate has expired)", r.read().decode("utf-8"))
        # fixed: back UP
        self.procs.stop(self.procs.procs[-1])
        self.tls_origin("good", port=o)
        self.wait_server("UP", status="L7OK")
        self.clean_exit(d, rc=0)

    # --- HAProxy -----------------------------------------------------------------------------------

    def test_direct_check_exported_to_haproxy(self):
        o, op = self.tls_origin("good")
        recipe = direct_recipe(self.path("direct.yaml"), self.ca)
        res = self.recheck("export", recipe, "--listen", "px", "--bind", "127.0.0.1:%d" % free_port(),
                           "--server", "s1=127.0.0.1:%d" % o, "--inter", "200ms", "--rise", "1", "--fall", "1",
                           "--timeout", "2s")
        self.assertRc(res, 0)
        self.assertIn("tcp-check connect ssl sni origin.test\n", res.stdout)
        self.assertIn("verify required ca-file %s verifyhost origin.test" % self.ca, res.stdout)
        _, sock = self.start_haproxy("defaults\n    mode tcp\n" + res.stdout)
        wait_for(lambda: self.haproxy_status(sock, "px", "s1")[:2] == ("UP", "L7OK"), 15,
                 what="HAProxy marks px/s1 UP after a TLS check")
        # and HAProxy agrees on the expired certificate: DOWN at layer 6
        self.procs.stop(op)
        self.tls_origin("expired", port=o)
        wait_for(lambda: self.haproxy_status(sock, "px", "s1")[:2] == ("DOWN", "L6RSP"), 15,
                 what="HAProxy marks px/s1 DOWN with L6RSP")

    # --- misbehaving TLS peers ---------------------------------------------------------------------

    def test_stall_reset_garbage(self):
        recipe = direct_recipe(self.path("direct.yaml"), self.ca)
        peers = {m: BadPeer(m) for m in ("stall", "reset", "garbage")}
        for p in peers.values():
            self.addCleanup(p.close)
        res = self.replay(recipe, peers["stall"].port, rc=1, timeout="500ms")
        self.assertIn("FAIL L6TOUT", res.stdout)
        self.assertIn("SSL handshake timeout at step 2", res.stdout)
        res = self.replay(recipe, peers["reset"].port, rc=1)
        self.assertIn("FAIL L6RSP", res.stdout)
        self.assertIn("SSL handshake failure: handshake failure (Connection reset by peer", res.stdout)
        for _ in range(2):                               # random bytes, then a cut handshake record
            res = self.replay(recipe, peers["garbage"].port, rc=1)
            self.assertIn("FAIL L6RSP", res.stdout)
        # recheckd runs several checks against each and exits cleanly
        for mode, status in (("stall", "L6TOUT"), ("reset", "L6RSP"), ("garbage", "L6RSP")):
            d = self.recheckd(recipe, peers[mode].port, inter_ms=100, timeout_ms=300)
            before = peers[mode].accepted
            self.wait_server("DOWN", status=status)
            wait_for(lambda: peers[mode].accepted >= before + 3, 10, what="three checks against %s" % mode)
            self.clean_exit(d, rc=0)


if __name__ == "__main__":
    main()
