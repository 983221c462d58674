#!/usr/bin/env python3
"""recheckd operated as an HAProxy operator would: the connection log line (tcplog parsed with a pattern
built from HAProxy's documented format, JSON, UDP syslog in both RFC forms), `recheckd -c` refusing what
start-up refuses, recorded reload failures, RLIMIT_NOFILE, and a stats listener that survives a slowloris.
"""
import json
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RECHECKD, SRC, TCPLOG, Case, free_port, main, wait_for, wait_port  # noqa: E402
from socksorigin import GREETING_RECIPE, Origin, socks_connect, start_socks_backends  # noqa: E402


BACKENDS = {"a": "127.0.0.11", "b": "127.0.0.12"}


def root_prefix():
    return "allow_root: true\n" if os.geteuid() == 0 else ""


class Ops(Case):
    def start_backends(self):
        self.origin, self.ports = start_socks_backends(self, BACKENDS)

    def conf(self, log="", extra_servers="", stats=True, listener_extra=""):
        self.write("r.yaml", GREETING_RECIPE)
        self.lport, self.sport = free_port(), free_port()
        servers = "".join('      - {name: %s, address: "127.0.0.1:%d"}\n' % (n, p) for n, p in self.ports.items())
        return """threads: 2
%s%s%s
listeners:
  - name: pool
    bind: "127.0.0.1:%d"
    check: {recipe: r.yaml, inter: 300ms, rise: 1, fall: 1}
%s    servers:
%s%s""" % (root_prefix(), 'stats: {bind: "127.0.0.1:%d"}\n' % self.sport if stats else "", log, self.lport,
           listener_extra, servers, extra_servers)

    def start(self, text):
        path = self.write("recheckd.yaml", text)
        self.d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        self.addCleanup(self.clean_exit, self.d)
        wait_for(lambda: "ready" in self.procs.log(self.d) or self.d.poll() is not None, 10, what="ready")
        self.assertIsNone(self.d.poll(), self.procs.log(self.d))
        return path

    def wait_up(self, names):
        def up():
            js = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.sport, timeout=5))
            return all(s["status"] == "UP" for s in js["listeners"][0]["servers"] if s["name"] in names)
        wait_for(up, 10, what="servers UP")

    def log_lines(self, pattern=TCPLOG):
        out = []
        for line in self.procs.log(self.d).splitlines():
            m = pattern.match(line)
            if m:
                out.append(m.groupdict())
        return out

    # --- the connection log -------------------------------------------------------------------------

    def test_tcplog(self):
        self.start_backends()
        refused = free_port()  # nothing listens there and it is not checked
        self.start(self.conf(extra_servers='      - {name: dead, address: "127.0.0.1:%d", check: false, backup: true}\n'
                             % refused, listener_extra=""))
        self.wait_up(set(BACKENDS))
        # a normal close: the client sends, reads the echo, closes; the server side closes in turn
        s, ip = socks_connect(self.lport, "127.0.3.4", self.origin.port)
        served = [n for n, b in BACKENDS.items() if b == ip][0]
        s.sendall(b"hello")
        self.assertEqual(s.recv(5), b"hello")
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        self.assertEqual(s.recv(10), b"")
        s.close()
        # the bytes the client read: 2 (method) + 10 (reply) + len("127.0.0.1N\n") + 5 (echo)
        read = 2 + 10 + len(ip) + 1 + 5
        wait_for(lambda: len(self.log_lines()) >= 1, 5, what="the first log line")
        first = self.log_lines()[0]
        self.assertEqual(first["client_ip"], "127.0.3.4")
        self.assertEqual(first["frontend_name"], "pool")
        self.assertEqual(first["backend_name"], "pool")
        self.assertEqual(first["server_name"], served, "the line names the server the bytes went through")
        self.assertEqual(first["termination_state"], "--")
        self.assertEqual(int(first["bytes_read"]), read)
        self.assertEqual(first["Tw"], "1")  # HAProxy 2.6's TCP Tw: queue time + 1 (t_request is -1)
        self.assertGreaterEqual(int(first["Tc"]), 0)
        self.assertGreaterEqual(int(first["Tt"]), int(first["Tc"]))
        self.assertEqual(first["retries"], "0")
        # a client abort (RST) in the middle of the session
        s, ip2 = socks_connect(self.lport, "127.0.5.6", self.origin.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        wait_for(lambda: len(self.log_lines()) >= 2, 5, what="the abort's line")
        abort = self.log_lines()[1]
        self.assertEqual(abort["client_ip"], "127.0.5.6")
        self.assertEqual(abort["server_name"], [n for n, b in BACKENDS.items() if b == ip2][0])
        self.assertEqual(abort["termination_state"], "CD")
        # a server refusal: the live servers go DOWN, so only the backup `dead` (refusing) serves
        for n in BACKENDS:
            self.cli_less_maint(n)
        c = socket.create_connection(("127.0.0.1", self.lport), timeout=5)
        c.settimeout(5)
        self.assertEqual(c.recv(10), b"")
        c.close()
        wait_for(lambda: any(l["server_name"] == "dead" for l in self.log_lines()), 5, what="the refusal's line")
        ref = [l for l in self.log_lines() if l["server_name"] == "dead"][0]
        self.assertEqual(ref["termination_state"], "SC")
        self.assertEqual(ref["Tc"], "-1")
        self.assertEqual(ref["bytes_read"], "0")

    def cli_less_maint(self, name):
        """MAINT through the checks: a server whose backend is gone goes DOWN (no runtime socket here)."""
        self.procs.stop([p for p in self.procs.procs if p.name == "ms-" + name][0])
        def down():
            js = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.sport, timeout=5))
            return [s for s in js["listeners"][0]["servers"] if s["name"] == name][0]["status"] == "DOWN"
        wait_for(down, 10, what="%s DOWN" % name)

    def test_json_and_syslog(self):
        self.start_backends()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(5)
        self.addCleanup(udp.close)
        uport = udp.getsockname()[1]
        path = self.start(self.conf(log='log: {format: json, target: "udp://127.0.0.1:%d", facility: local3}\n'
                                    % uport))
        self.wait_up(set(BACKENDS))
        s, ip = socks_connect(self.lport, "127.0.7.8", self.origin.port)
        s.close()
        msg = udp.recv(4096).decode()
        # RFC 3164 as HAProxy sends it: <PRI>Mmm dd hh:mm:ss tag[pid]: message; local3.info = 19*8+6
        m = re.match(r"^<158>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} recheckd\[(\d+)\]: (\{.*\})$", msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m.group(1)), self.d.pid)
        obj = json.loads(m.group(2))
        self.assertEqual(obj["client_ip"], "127.0.7.8")
        self.assertEqual(obj["listener"], "pool")
        self.assertEqual(obj["server"], [n for n, b in BACKENDS.items() if b == ip][0])
        self.assertEqual(obj["termination_state"], "--")
        for k in ("client_port", "accept_date", "Tw", "Tc", "Tt", "bytes_read", "bytes_uploaded", "actconn",
                  "feconn", "beconn", "srv_conn", "retries", "redispatched", "srv_queue", "backend_queue"):
            self.assertIn(k, obj)
        # RFC 5424 after a reload, tcplog inside
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("format: json,", "format: tcplog, syslog_format: rfc5424,"))
        os.kill(self.d.pid, signal.SIGHUP)
        wait_for(lambda: "configuration 2 loaded" in self.procs.log(self.d), 5, what="reload")
        s, _ = socks_connect(self.lport, "127.0.7.9", self.origin.port)
        s.close()
        msg = udp.recv(4096).decode()
        m = re.match(r"^<158>1 \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z \S+ recheckd (\d+) - - (.*)$", msg)
        self.assertIsNotNone(m, msg)
        self.assertIsNotNone(TCPLOG.match(m.group(2)), m.group(2))
        self.assertTrue(m.group(2).startswith("127.0.7.9:"))

    def test_log_never_blocks(self):
        """stderr is a pipe nobody reads: once it is full, lines are dropped and counted, and every client
        is still served at once."""
        origin = Origin()
        self.addCleanup(origin.close)
        lport, sport = free_port(), free_port()
        path = self.write("nb.yaml", """%sstats: {bind: "127.0.0.1:%d"}
listeners:
  - name: pool
    bind: "127.0.0.1:%d"
    servers: [{name: o, address: "127.0.0.1:%d"}]
""" % (root_prefix(), sport, lport, origin.port))
        r, w = os.pipe()
        d = subprocess.Popen([RECHECKD, "-f", path], stdout=subprocess.DEVNULL, stderr=w, start_new_session=True)
        os.close(w)
        self.addCleanup(os.close, r)
        self.addCleanup(lambda: (d.poll() is None and d.terminate(), d.wait(10)))
        wait_port(sport)
        t0 = time.monotonic()
        n = 1500  # ~90 bytes a line: well past a 64 KB pipe
        for i in range(n):
            c = socket.create_connection(("127.0.0.1", lport), timeout=5)
            c.settimeout(5)
            self.assertTrue(c.recv(64).startswith(b"127.0.0.1"), "connection %d was not relayed" % i)
            c.close()
        took = time.monotonic() - t0
        metrics = lambda: urllib.request.urlopen("http://127.0.0.1:%d/metrics" % sport, timeout=5).read().decode()
        wait_for(lambda: re.search(r"^recheck_log_dropped_total [1-9]", metrics(), re.M), 5, what="drops counted")
        m = re.search(r"^recheck_log_dropped_total (\d+)", metrics(), re.M)
        self.assertGreater(int(m.group(1)), 0)
        self.assertLess(int(m.group(1)), n)
        self.assertLess(took, 30.0)
        # what did get through is whole lines
        os.set_blocking(r, False)
        data = os.read(r, 1 << 20).decode("utf-8", "replace")
        lines = [l for l in data.splitlines() if l.startswith("127.0.0.1:")]
        self.assertTrue(lines)
        for l in lines:
            self.assertIsNotNone(TCPLOG.match(l), l)

    # --- -c and start-up refuse the same things -----------------------------------------------------

    def check(self, text, **kw):
        path = self.write("c.yaml", text)
        return subprocess.run([RECHECKD, "-c", "-f", path], capture_output=True, text=True, timeout=30, **kw)

    def test_check_refuses_what_start_refuses(self):
        base = """listeners:
  - name: a
    bind: "127.0.0.1:%d"
    servers: [{name: s, address: "127.0.0.1:9"}]
""" % free_port()
        cases = [
            ("unknown user", "user: no-such-user-i11\n" + base, "user 'no-such-user-i11' does not exist"),
            ("unknown group", "user: nobody\ngroup: no-such-group-i11\n" + base,
             "group 'no-such-group-i11' does not exist"),
            ("two listeners on one address", root_prefix() + base + base.replace("- name: a", "- name: b")
             .replace("listeners:\n", ""), "already"),
        ]
        if os.geteuid() == 0:
            cases.append(("root without user", base, "refusing to run as root"))
        else:
            # as another user, naming a user recheckd cannot switch to is refused the same way
            cases.append(("cannot switch user", "user: root\n" + base, "cannot switch"))
        for label, text, why in cases:
            with self.subTest(label):
                res = self.check(text)
                self.assertEqual(res.returncode, 3, "%s: %s%s" % (label, res.stdout, res.stderr))
                self.assertIn(why, res.stderr)
                # start-up refuses it with the same exit code and message
                path = self.write("s.yaml", text)
                p = subprocess.run([RECHECKD, "-f", path], capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn(why, p.stderr)
        ok = self.check(root_prefix() + base)
        self.assertEqual(ok.returncode, 0, ok.stderr)

    def test_fd_limit(self):
        base = root_prefix() + """listeners:
  - name: a
    bind: "127.0.0.1:%d"
%s    servers: [{name: s, address: "127.0.0.1:9"}]
"""
        def low():
            resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
        res = self.check(base % (free_port(), "    maxconn: 5000\n"), preexec_fn=low)
        self.assertEqual(res.returncode, 3, res.stdout + res.stderr)
        m = re.search(r"need (\d+) file descriptors but RLIMIT_NOFILE is 128", res.stderr)
        self.assertIsNotNone(m, res.stderr)
        self.assertGreater(int(m.group(1)), 10000)
        # the default maxconn fits itself to the limit, as HAProxy's
        res = self.check(base % (free_port(), ""), preexec_fn=low)
        self.assertEqual(res.returncode, 0, res.stderr)
        # raised when the hard limit allows it
        def soft():
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard == resource.RLIM_INFINITY or hard > 12000:
            path = self.write("fd.yaml", (base % (free_port(), "    maxconn: 5000\n")).replace(
                "listeners:", 'stats: {socket: "%s"}\nlisteners:' % self.path("fd.sock")))
            p = subprocess.Popen([RECHECKD, "-f", path], stderr=subprocess.PIPE, preexec_fn=soft)
            self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
            wait_for(lambda: os.path.exists(self.path("fd.sock")) or p.poll() is not None, 10, what="socket")
            with open("/proc/%d/limits" % p.pid) as f:
                lim = [l for l in f if l.startswith("Max open files")][0].split()
            self.assertGreaterEqual(int(lim[3]), 10000, lim)

    # --- reloads ------------------------------------------------------------------------------------

    def test_reload_failure_recorded(self):
        self.start_backends()
        sock = self.path("admin.sock")
        path = self.start(self.conf().replace('stats: {bind: "127.0.0.1:%d"}' % self.sport,
                                              'stats: {bind: "127.0.0.1:%d", socket: "%s"}' % (self.sport, sock)))
        with open(path) as f:
            good = f.read()
        with open(path, "w") as f:
            f.write(good.replace("inter: 300ms", "inter: soon"))
        os.kill(self.d.pid, signal.SIGHUP)
        metrics = lambda: urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.sport, timeout=5).read().decode()
        wait_for(lambda: "recheck_reload_failures_total 1" in metrics(), 5, what="the failure counted")
        js = json.load(urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.sport, timeout=5))
        self.assertEqual(js["reload"]["last_result"], "refused")
        self.assertIn("inter", js["reload"]["last_error"])
        self.assertEqual(js["reload"]["failures"], 1)
        self.assertIn("recheck_last_reload_success 0", metrics())
        info = subprocess.run(["socat", "-", "UNIX-CONNECT:" + sock], input="show info\n", capture_output=True,
                              text=True, timeout=10).stdout
        self.assertIn("Reload_failures: 1", info)
        self.assertIn("Last_reload_result: refused", info)
        page = urllib.request.urlopen("http://127.0.0.1:%d/" % self.sport, timeout=5).read().decode()
        self.assertIn("last reload refused", page)
        with open(path, "w") as f:
            f.write(good)
        os.kill(self.d.pid, signal.SIGHUP)
        wait_for(lambda: "recheck_reloads_total 1" in metrics(), 5, what="the good reload")
        self.assertIn("recheck_last_reload_success 1", metrics())
        self.assertIn("recheck_reload_failures_total 1", metrics())
        # the shipped unit checks before it signals
        with open(os.path.join(SRC, "dist", "recheckd.service.in")) as f:
            unit = f.read()
        reloads = [l for l in unit.splitlines() if l.startswith("ExecReload=")]
        self.assertEqual(len(reloads), 2, unit)
        self.assertIn("recheckd -c -f", reloads[0])
        self.assertIn("kill -HUP", reloads[1])

    # --- slowloris ----------------------------------------------------------------------------------

    def test_stats_slowloris(self):
        """2,000 half-sent requests on the stats listener; /metrics is still answered within a second."""
        self.ports = {"a": 9}
        self.start(self.conf().replace("    check: {recipe: r.yaml, inter: 300ms, rise: 1, fall: 1}\n", ""))
        held = []
        for _ in range(2000):
            s = socket.create_connection(("127.0.0.1", self.sport), timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        self.addCleanup(lambda: [s.close() for s in held])
        t = time.monotonic()
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.sport, timeout=5).read().decode()
        took = time.monotonic() - t
        self.assertIn("recheck_uptime_seconds", body)
        self.assertLess(took, 1.0, "/metrics took %.2f s under a slowloris" % took)
        self.assertIsNone(self.d.poll())


if __name__ == "__main__":
    main()
