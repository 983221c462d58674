#!/usr/bin/env python3
"""recheck and recheckd under valgrind (issue 6, "Sanitizers and leaks"): replay through a real
microsocks to the local origin, from-pcap on a generated capture, export and import, and a short
recheckd run that checks a server and relays a connection. Each run must end with zero valgrind errors:
no invalid read or write, no use of uninitialised memory, no definite or indirect leak
(--errors-for-leak-kinds=definite,indirect; "still reachable" blocks of libraries are not errors).

Skips when valgrind is not installed, or when the binaries were built with AddressSanitizer (valgrind
cannot run those; the sanitizer build checks the same things itself).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import (PCAPGEN, RECHECK, RECHECKD, Case, asan_built, free_port, main, sample_for_port,  # noqa: E402
                     wait_for, wait_port)

VALGRIND = shutil.which("valgrind")
VG_ARGS = ["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
           "--show-leak-kinds=definite,indirect", "--track-origins=no", "--num-callers=30"]


def skip_reason():
    if not VALGRIND:
        return "valgrind is not installed (apt-get install valgrind)"
    if asan_built(RECHECK):  # valgrind cannot run a sanitizer build
        return "the binaries are built with AddressSanitizer; valgrind cannot run them"
    return None


class Valgrind(Case):

    def setUp(self):
        why = skip_reason()
        if why:
            self.skipTest(why)
        super().setUp()

    def vg(self, *args, timeout=60, binary=RECHECK):
        log = self.path("vg-%d.log" % len(os.listdir(self.tmp)))
        res = subprocess.run([VALGRIND, "--log-file=" + log] + VG_ARGS + [binary] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=timeout)
        with open(log, encoding="utf-8", errors="replace") as f:
            res.vglog = f.read()
        return res

    def assertClean(self, res, code, what):
        self.assertNotEqual(res.returncode, 99, "%s: valgrind found errors:\n%s" % (what, res.vglog[-8000:]))
        self.assertIn("ERROR SUMMARY: 0 errors", res.vglog, "%s:\n%s" % (what, res.vglog[-8000:]))
        self.assertEqual(res.returncode, code, "%s: exit %d\nstdout:\n%s\nstderr:\n%s" % (
            what, res.returncode, res.stdout[-3000:], res.stderr[-3000:]))

    def test_replay_through_microsocks(self):
        origin = self.start_origin()
        socks = self.start_microsocks()
        recipe = sample_for_port(os.path.join("local", "socks5-local-204.yaml"), origin, self.path("r.yaml"))
        res = self.vg("replay", recipe, "--server", "127.0.0.1:%d" % socks, "--timeout", "10s", "-v")
        self.assertClean(res, 0, "replay (pass)")
        self.assertIn("L7OK", res.stdout + res.stderr)
        # a failing check (wrong expected status) and an unreachable server: other code paths
        with open(recipe, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("1\\\\.[01] 204", text)
        bad = self.write("bad.yaml", text.replace("1\\\\.[01] 204", "1\\\\.[01] 299"))
        res = self.vg("replay", bad, "--server", "127.0.0.1:%d" % socks, "--timeout", "10s")
        self.assertClean(res, 1, "replay (check fails)")
        res = self.vg("replay", recipe, "--server", "127.0.0.1:%d" % free_port(), "--timeout", "5s")
        self.assertClean(res, 4, "replay (refused)")

    def test_from_pcap_export_import(self):
        cap = self.path("s.pcap")
        subprocess.run([sys.executable, PCAPGEN, "socks5-auth", "-o", cap, "--ooo", "--retrans"], check=True)
        res = self.vg("flows", cap)
        self.assertClean(res, 0, "flows")
        out = self.path("from.yaml")
        res = self.vg("from-pcap", cap, "--redact", "-o", out)
        self.assertClean(res, 0, "from-pcap")
        self.assertTrue(os.path.exists(out))
        res = self.vg("from-pcap", cap, "--format", "haproxy")
        self.assertClean(res, 0, "from-pcap --format haproxy")
        cfg = self.path("export.cfg")
        res = self.vg("export", out, "--listen", "l", "--bind", "127.0.0.1:1080", "--server",
                      "s1=127.0.0.1:1081", "-o", cfg)
        self.assertClean(res, 0, "export")
        back = self.path("import.yaml")
        res = self.vg("import", cfg, "-o", back)
        self.assertClean(res, 0, "import")
        res = self.vg("show", back)
        self.assertClean(res, 0, "show")
        res = self.vg("lint", back)
        self.assertClean(res, 0, "lint")
        # a damaged capture: the error path frees what it built
        bad = self.path("bad.pcap")
        subprocess.run([sys.executable, PCAPGEN, "socks5", "-o", bad, "--corrupt", "packet"], check=True)
        res = self.vg("from-pcap", bad)
        self.assertClean(res, 3, "from-pcap (truncated)")

    def test_recheckd_short_run(self):
        if not os.path.exists(RECHECKD):
            self.skipTest("recheckd is not built")
        origin = self.start_origin()
        socks = self.start_microsocks()
        sample_for_port(os.path.join("local", "socks5-local-204.yaml"), origin, self.path("r.yaml"))
        port = free_port()
        conf = ["threads: 2", "drain_timeout: 2s"]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        conf += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % port,
                 "    check: {recipe: r.yaml, inter: 300ms, rise: 1, fall: 1, timeout: 5s}",
                 "    servers:", '      - {name: s1, address: "127.0.0.1:%d"}' % socks]
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        log = self.path("vg-recheckd.log")
        p = self.procs.start([VALGRIND, "--log-file=" + log] + VG_ARGS + [RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 30, what="recheckd ready")
        self.assertIsNone(p.poll(), self.procs.log(p))
        wait_port(port, timeout=10)
        # relay a SOCKS5 greeting to s1 and back (checks of s1 run meanwhile when the daemon has them)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"\x05\x01\x00")
            s.settimeout(10)
            self.assertEqual(s.recv(2), b"\x05\x00")
        time.sleep(1.0)  # a few more check runs of s1
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        with open(log, encoding="utf-8", errors="replace") as f:
            vglog = f.read()
        self.assertNotEqual(rc, 99, "recheckd: valgrind found errors:\n%s" % vglog[-8000:])
        self.assertIn("ERROR SUMMARY: 0 errors", vglog, vglog[-8000:])
        self.assertEqual(rc, 0, self.procs.log(p)[-3000:])


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print("test_valgrind: skipped: " + why)
    main()
