#!/usr/bin/env python3
"""Security (issue 6): recheckd refuses to keep root unless told, the stats listener stays on loopback
by default, secrets never show in logs, stats, metrics or replay output, and every fd is close-on-exec
(recheckd and recheck replay, read from /proc/PID/fdinfo while they hold connections)."""
import binascii
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

O_CLOEXEC = 0o2000000
SECRET = "c2VjcmV0LXVzZXI6aHVudGVyMg"   # base64 of "secret-user:hunter2"
SECRET_ENV = "RECHECK_IT_PROXY_AUTH"

TCP_SECRET = harness.tcp_recipe("tcp-secret", """  - send: "GET http://127.0.0.1:18204/generate_204 HTTP/1.1\\r\\nHost: 127.0.0.1:18204\\r\\nProxy-Authorization: Basic ${%s}\\r\\n\\r\\n"
    env: true
    secret: true
    comment: "authenticated GET through the proxy"
  - expect: {rstring: "^HTTP/1\\\\.[01] 204"}
    comment: "204"
""" % SECRET_ENV)

HTTP_SECRET = """version: 1
name: http-secret
kind: http
request:
  method: GET
  uri: "http://127.0.0.1:18204/generate_204"
  version: HTTP/1.1
  headers:
    - {name: Host, value: "127.0.0.1:18204"}
    - {name: Proxy-Authorization, value: "Basic ${%s}"}
  env: true
  secret: true
expect:
  - {status: "204"}
""" % SECRET_ENV

SERVERS = {
    "mirror": "echo; close",                                                  # sends the request back
    "auth407": "recv; send HTTP/1.1 407 Proxy Authentication Required\\r\\nContent-Length: 0\\r\\n\\r\\n; close",
    "ok204": "recv; send HTTP/1.1 204 No Content\\r\\n\\r\\n; close",
}


def leaks(text):
    """Whether text shows the secret: as is, in hex (any case, any spacing) or in a hex dump's text
    column split over lines."""
    if SECRET in text:
        return True
    hexs = binascii.hexlify(SECRET.encode()).decode()
    squeezed = re.sub(r"[\s\[\]]", "", text).lower()
    if hexs in squeezed:
        return True
    column = "".join(re.findall(r"\|([^|\n]*)\|", text))
    return SECRET in column


def listen_addrs(pid):
    """(address, port) of every listening TCP socket the process holds."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    out = []
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:   # TCP_LISTEN
                    addr, port = cols[1].split(":")
                    if len(addr) == 8:
                        ip = ".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0))
                    else:
                        ip = addr
                    out.append((ip, int(port, 16)))
    return out


def fds_without_cloexec(pid):
    """[(fd, target, flags)] of every fd above 2 that lacks O_CLOEXEC, and the count inspected."""
    bad, seen = [], 0
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        if int(fd) <= 2:
            continue
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                flags = int(re.search(r"^flags:\s*([0-7]+)", f.read(), re.M).group(1), 8)
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except (OSError, AttributeError):
            continue   # closed meanwhile
        seen += 1
        if not flags & O_CLOEXEC:
            bad.append((int(fd), target, oct(flags)))
    return bad, seen


class Security(harness.Case):
    def recheckd(self, text, expect_ready=True, env=None):
        path = self.write("recheckd.yaml", text)
        d = self.procs.start([harness.RECHECKD, "-f", path, "-d"], "recheckd", env=env)
        if expect_ready:
            harness.wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="ready")
            self.assertIsNone(d.poll(), self.procs.log(d))
        return d, path

    def conf(self, listeners, stats=None, root_line=True):
        lines = []
        if stats:
            lines.append("stats: %s" % stats)
        if root_line and os.geteuid() == 0:
            lines.append("allow_root: true")
        lines.append("listeners:")
        for name, port, check, servers in listeners:
            lines += ["  - name: %s" % name, '    bind: "127.0.0.1:%d"' % port]
            if check:
                lines.append("    check: %s" % check)
            lines.append("    servers:")
            lines += ['      - {name: %s, address: "127.0.0.1:%d"}' % s for s in servers]
        return "\n".join(lines) + "\n"

    def setUp(self):
        super().setUp()
        if not os.access(harness.RECHECKD, os.X_OK):
            self.skipTest("no recheckd")

    # --- root -------------------------------------------------------------------------------------------

    def test_refuses_to_keep_root_without_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to test dropping root")
        text = self.conf([("pool", harness.free_port(), None, [("a", 1)])], root_line=False)
        path = self.write("root.yaml", text)
        res = subprocess.run([harness.RECHECKD, "-f", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(res.returncode, 3, res.stderr)
        self.assertIn("refusing to run as root", res.stderr)
        self.assertIn("root.yaml", res.stderr)
        self.assertIn("user:", res.stderr)
        self.assertIn("allow_root: true", res.stderr)
        # told which user to become: it drops every id and supplementary group after binding
        d, _ = self.recheckd("user: nobody\n" + text)
        with open("/proc/%d/status" % d.pid) as f:
            st = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", st, re.M).group(1).split()
        groups = re.search(r"^Groups:\s*(.*)$", st, re.M).group(1).split()
        self.assertTrue(all(u != "0" for u in uids), st)
        self.assertTrue(all(g != "0" for g in gids), st)
        self.assertNotIn("0", groups, st)
        self.assertIn("running as nobody", self.procs.log(d))

    # --- stats listener -----------------------------------------------------------------------------------

    def test_stats_listener_is_loopback_by_default(self):
        sport, lport = harness.free_port(), harness.free_port()
        d, _ = self.recheckd(self.conf([("pool", lport, None, [("a", 1)])], stats='{bind: ":%d"}' % sport))
        addrs = listen_addrs(d.pid)
        self.assertIn(("127.0.0.1", sport), addrs, addrs)
        self.assertNotIn(("0.0.0.0", sport), addrs, addrs)
        self.procs.stop(d)
        # `stats: {}` means 127.0.0.1:8404 (only tested when that port is free here)
        if self._port_free(8404):
            d, _ = self.recheckd(self.conf([("pool", lport, None, [("a", 1)])], stats="{}"))
            addrs = listen_addrs(d.pid)
            self.assertIn(("127.0.0.1", 8404), addrs, addrs)
            self.assertEqual([a for a in addrs if a[1] == 8404], [("127.0.0.1", 8404)])

    @staticmethod
    def _port_free(port):
        import socket
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
                return True
            except OSError:
                return False

    # --- secrets -------------------------------------------------------------------------------------------

    def test_secrets_stay_out_of_logs_stats_metrics_and_replay(self):
        env = dict(os.environ, **{SECRET_ENV: SECRET})
        tcp = self.write("tcp-secret.yaml", TCP_SECRET)
        http = self.write("http-secret.yaml", HTTP_SECRET)
        ports = {n: self.start_scriptsrv(s)[1] for n, s in SERVERS.items()}

        # recheck replay: plain, -v and -vv, against each server, both recipe kinds
        for recipe in (tcp, http):
            for n, port in ports.items():
                for verbose in ([], ["-v"], ["-vv"]):
                    res = self.recheck("replay", recipe, "--server", "127.0.0.1:%d" % port, "--timeout", "2s",
                                       *verbose, env=env)
                    out = res.stdout + res.stderr
                    self.assertEqual(res.returncode, 0 if n == "ok204" else 1, out)
                    self.assertFalse(leaks(out), "replay %s against %s %s printed the secret:\n%s"
                                     % (os.path.basename(recipe), n, verbose, out))
                    if n == "mirror":
                        flat = out.replace("\n", "").lower()
                        self.assertIn("proxy-a", flat, "the mirror's dump is shown")
                        self.assertIn("sic ****", flat, "the mirror's dump is redacted")
        # a missing variable names it, never a value
        bad = dict(env)
        del bad[SECRET_ENV]
        res = self.recheck("replay", tcp, "--server", "127.0.0.1:%d" % ports["ok204"], env=bad)
        self.assertEqual(res.returncode, 3, res.stderr)
        self.assertIn(SECRET_ENV, res.stderr)

        # recheckd: a listener per recipe kind, a server per behaviour, checked every 100 ms
        sport = harness.free_port()
        servers = [(n, p) for n, p in ports.items()]
        text = self.conf([("tcp", harness.free_port(), "{recipe: tcp-secret.yaml, inter: 100ms, rise: 1, fall: 1}",
                           servers),
                          ("http", harness.free_port(), "{recipe: http-secret.yaml, inter: 100ms, rise: 1, fall: 1}",
                           servers)], stats='{bind: "127.0.0.1:%d"}' % sport)
        d, _ = self.recheckd(text, env=env)
        time.sleep(1.0)
        pages = {}
        for page in ("/", "/stats.json", "/metrics"):
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (sport, page), timeout=5) as r:
                pages[page] = r.read().decode("utf-8", "replace")
        self.assertIn('"status":"L7OK"', pages["/stats.json"].replace(" ", ""))
        self.assertIn("L7RSP", pages["/stats.json"])
        self.assertIn("L7STS", pages["/stats.json"])
        self.procs.stop(d)
        pages["log"] = self.procs.log(d)
        self.assertIn("is DOWN", pages["log"])
        for name, text in pages.items():
            self.assertFalse(leaks(text), "recheckd %s shows the secret:\n%s" % (name, text[-3000:]))

    # --- close-on-exec ---------------------------------------------------------------------------------

    def test_every_fd_of_recheckd_is_close_on_exec(self):
        _, hang = self.start_scriptsrv("hang")
        sport, lport = harness.free_port(), harness.free_port()
        self.write("hello.yaml", "version: 1\nname: hello\nkind: tcp\nsteps:\n"
                   "  - send: \"PING\\r\\n\"\n  - expect: {string: PONG}\n")
        d, _ = self.recheckd(self.conf([("pool", lport, "{recipe: hello.yaml, inter: 100ms, timeout: 2s}",
                                         [("a", hang)])], stats='{bind: "127.0.0.1:%d"}' % sport))
        # a client session (client socket, server socket, splice pipes once bytes flow) and a running check
        import socket
        c = socket.create_connection(("127.0.0.1", lport), timeout=5)
        self.addCleanup(c.close)
        c.sendall(b"x" * 1000)
        stats = urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5)
        self.addCleanup(stats.close)
        time.sleep(0.3)
        bad, seen = fds_without_cloexec(d.pid)
        self.assertEqual(bad, [], "recheckd fds without O_CLOEXEC")
        self.assertGreaterEqual(seen, 6, "too few fds inspected to mean anything")
        sys.stderr.write("recheckd: %d fds above 2 inspected, all O_CLOEXEC\n" % seen)

    def test_every_fd_of_replay_is_close_on_exec(self):
        srv, hang = self.start_scriptsrv("hang")
        recipe = self.write("hello.yaml", "version: 1\nname: hello\nkind: tcp\nsteps:\n"
                            "  - send: \"PING\\r\\n\"\n  - expect: {string: PONG}\n")
        p = subprocess.Popen([harness.RECHECK, "replay", recipe, "--server", "127.0.0.1:%d" % hang,
                              "--timeout", "3s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            harness.wait_for(lambda: "recv" in harness.Procs.log(srv), 5, what="replay connected and sent")
            bad, seen = fds_without_cloexec(p.pid)
        finally:
            p.kill()
            p.communicate(timeout=10)
        self.assertEqual(bad, [], "replay fds without O_CLOEXEC")
        self.assertGreaterEqual(seen, 1, "the check socket was not seen")
        sys.stderr.write("replay: %d fds above 2 inspected, all O_CLOEXEC\n" % seen)


if __name__ == "__main__":
    harness.main()
