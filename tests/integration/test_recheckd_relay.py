"""recheckd's relay, config check, reload and stop, against real sockets on 127.0.0.1.

Peers are tests/fixtures/relay_peer (C, fast enough for hundreds of megabytes): its first line picks
ECHO / COUNT / HOLD / NAME (see the file). recheckd runs as the test user; when that is root, the configs
say allow_root: true.
"""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import BUILD, RECHECKD, SAMPLES, Case, free_port, main, recv_exact, recv_until_eof, wait_for, wait_port  # noqa: E402

PEER = os.path.join(BUILD, "tests", "relay_peer")
MB = 1 << 20
BIG = int(os.environ.get("RECHECK_RELAY_MB", "200"))


def conf_text(listen_port, servers, relay="splice", threads=2, extra="", listener_extra=""):
    lines = ["threads: %d" % threads, "relay: %s" % relay, "drain_timeout: 5s"]
    if os.geteuid() == 0:
        lines.append("allow_root: true")
    lines.append(extra)
    lines += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % listen_port, listener_extra,
              "    servers:"]
    for name, port in servers:
        lines.append('      - {name: %s, address: "127.0.0.1:%d"}' % (name, port))
    return "\n".join(l for l in lines if l) + "\n"


class RelayCase(Case):
    def start_peer(self, name="a"):
        port = free_port()
        self.procs.start([PEER, str(port), name], "peer-" + name)
        wait_port(port)
        return port

    def start_recheckd(self, text, name="recheckd.yaml"):
        path = self.write(name, text)
        self.listen = None
        p = self.procs.start([RECHECKD, "-f", path, "-d"], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(p.poll(), "recheckd exited:\n" + self.procs.log(p))
        return p, path

    def connect(self, port, mode):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(mode + b"\n")
        return s

    @staticmethod
    def fds(p):
        return len(os.listdir("/proc/%d/fd" % p.pid))

    def echo_roundtrip(self, s, payload=b"ping"):
        s.sendall(payload)
        s.settimeout(5)
        return recv_exact(s, len(payload))

    # --- transfers ----------------------------------------------------------------------------------

    def transfer(self, relay):
        peer = self.start_peer()
        lport = free_port()
        # one thread, so the pipe pool's idle pipes after the session are exactly known
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)], relay=relay, threads=1))
        time.sleep(0.1)
        base = self.fds(p)
        block = os.urandom(MB)
        sent, got = hashlib.sha256(), hashlib.sha256()
        received = [0]
        s = self.connect(lport, b"ECHO")
        s.settimeout(60)

        def rx():
            while True:
                chunk = s.recv(MB)
                if not chunk:
                    break
                got.update(chunk)
                received[0] += len(chunk)

        t = threading.Thread(target=rx)
        t.start()
        for i in range(BIG):
            # vary each block so a reordered or repeated block changes the digest
            b = i.to_bytes(4, "big") + block[4:]
            s.sendall(b)
            sent.update(b)
        s.shutdown(socket.SHUT_WR)
        t.join(60)
        self.assertFalse(t.is_alive(), "the echo did not finish")
        s.close()
        self.assertEqual(received[0], BIG * MB)
        self.assertEqual(sent.hexdigest(), got.hexdigest(), "%s relay corrupted the stream" % relay)
        # the log counts the 5 bytes of "ECHO\n" on the way in
        # every fd of the session is gone again; splice keeps its two pipes (4 fds) in the pool for reuse
        want = base + (4 if relay == "splice" else 0)
        wait_for(lambda: self.fds(p) == want, 5, what="fd count back to %d" % want)
        self.assertIn("session ended (done), %d bytes in, %d bytes out" % (BIG * MB + 5, BIG * MB), self.procs.log(p))

    def test_transfer_splice(self):
        self.transfer("splice")

    def test_transfer_copy(self):
        self.transfer("copy")

    # --- half-close, idle timeout, maxconn ------------------------------------------------------------

    def test_half_close_both_modes(self):
        peer = self.start_peer()
        for relay in ("splice", "copy"):
            lport = free_port()
            p, _ = self.start_recheckd(conf_text(lport, [("a", peer)], relay=relay), name=relay + ".yaml")
            s = self.connect(lport, b"COUNT")
            s.sendall(b"x" * 300000)
            s.shutdown(socket.SHUT_WR)  # the peer answers only after our FIN reached it
            self.assertEqual(recv_until_eof(s), b"300000\n", relay)
            s.close()
            self.procs.stop(p)

    def test_idle_timeout(self):
        peer = self.start_peer()
        lport = free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)],
                                             listener_extra="    timeouts: {client: 400ms, server: 10s}"))
        s = self.connect(lport, b"HOLD")
        t0 = time.monotonic()
        s.settimeout(5)
        try:
            data = s.recv(10)
        except ConnectionResetError:
            data = b""
        took = time.monotonic() - t0
        self.assertEqual(data, b"")
        self.assertGreater(took, 0.3)
        self.assertLess(took, 3.0)
        s.close()
        wait_for(lambda: "session ended (client timeout)" in self.procs.log(p), 5, what="timeout logged")
        # an active session is not cut by the same timeout
        e = self.connect(lport, b"ECHO")
        for _ in range(8):
            self.assertEqual(self.echo_roundtrip(e), b"ping")
            time.sleep(0.15)
        e.close()

    def test_connect_failures(self):
        """The relay starts before the server connect completes: a refused or timed-out connect still
        closes the client, counts as a server connection error and is logged as one, as before."""
        refused = free_port()  # nothing listens there
        stalled = self.full_backlog()
        lport, slport, sport = free_port(), free_port(), free_port()
        # retries: 0: one attempt, as before retries existed (test_recheckd_retries covers retries)
        text = conf_text(lport, [("dead", refused)], extra='stats: {bind: "127.0.0.1:%d"}' % sport,
                         listener_extra="    retries: 0")
        text += ("  - name: slow\n    bind: \"127.0.0.1:%d\"\n    retries: 0\n"
                 "    timeouts: {connect: 300ms, client: 10s, server: 10s}\n"
                 "    servers:\n      - {name: stalled, address: \"127.0.0.1:%d\"}\n" % (slport, stalled))
        p, _ = self.start_recheckd(text)
        wait_port(sport)

        def errors():
            with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5) as r:
                st = json.load(r)
            return {sv["name"]: sv["connections"]["errors"] for li in st["listeners"] for sv in li["servers"]}

        def send_and_wait_close(port, payload):
            """Sends payload, waits for the session to end; returns how long that took (no byte may come back)."""
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(payload)
            t0 = time.monotonic()
            try:
                data = recv_until_eof(s, timeout=5)
            except ConnectionResetError:
                data = b""
            took = time.monotonic() - t0
            s.close()
            self.assertEqual(data, b"")
            return took

        # refused: the client sees the session end at once, with what it sent dropped
        for n in range(1, 4):
            self.assertLess(send_and_wait_close(lport, b"GET / HTTP/1.0\r\n\r\n"), 2.0)
            wait_for(lambda: errors().get("dead") == n, 5, what="errors == %d" % n)
        self.assertIn("dead: cannot connect to 127.0.0.1:%d: Connection refused" % refused, self.procs.log(p))
        # a client that says nothing and closes at once is also counted (the FIN waits for the connect)
        s = socket.create_connection(("127.0.0.1", lport), timeout=5)
        s.close()
        wait_for(lambda: errors().get("dead") == 4, 5, what="errors == 4")
        # timed out: the server never completes the handshake; the client is closed after timeouts.connect
        took = send_and_wait_close(slport, b"hello")
        self.assertGreater(took, 0.25)
        self.assertLess(took, 3.0)
        wait_for(lambda: errors().get("stalled") == 1, 5, what="stalled errors == 1")
        self.assertIn("stalled: cannot connect to 127.0.0.1:%d: connect timeout" % stalled, self.procs.log(p))
        # a connected but silent session outlives timeouts.connect
        peer = self.start_peer()
        p2port, s2port = free_port(), free_port()
        self.procs.stop(p)
        p, _ = self.start_recheckd(conf_text(p2port, [("a", peer)], extra='stats: {bind: "127.0.0.1:%d"}' % s2port,
                                             listener_extra="    timeouts: {connect: 200ms, client: 10s, server: 10s}"),
                                   name="quiet.yaml")
        e = socket.create_connection(("127.0.0.1", p2port), timeout=5)
        time.sleep(0.6)
        e.sendall(b"ECHO\n")
        self.assertEqual(self.echo_roundtrip(e), b"ping")
        e.close()
        self.assertNotIn("cannot connect", self.procs.log(p))

    def test_maxconn(self):
        peer = self.start_peer()
        lport = free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)], listener_extra="    maxconn: 2"))
        a = self.connect(lport, b"ECHO")
        b = self.connect(lport, b"ECHO")
        self.assertEqual(self.echo_roundtrip(a), b"ping")
        self.assertEqual(self.echo_roundtrip(b), b"ping")
        c = self.connect(lport, b"ECHO")  # completes in the kernel backlog, but is not accepted
        c.sendall(b"wait")
        c.settimeout(0.7)
        with self.assertRaises(socket.timeout):
            c.recv(10)
        a.close()  # one slot frees: the waiting connection is accepted and relayed
        c.settimeout(5)
        self.assertEqual(c.recv(10), b"wait")
        self.assertEqual(self.echo_roundtrip(b), b"ping")
        b.close()
        c.close()

    # --- config check -------------------------------------------------------------------------------------

    def test_check_config(self):
        res = subprocess.run([RECHECKD, "-c", "-f", os.path.join(SAMPLES, "recheckd.yaml")], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("configuration is valid", res.stdout)
        bad = self.write("bad.yaml", conf_text(free_port(), [("a", 1)]) + "    colour: red\n")
        res = subprocess.run([RECHECKD, "-c", "-f", bad], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 3)
        self.assertRegex(res.stderr, r"bad\.yaml:10:5: listener: unknown key 'colour'")
        missing = self.write("missing.yaml", conf_text(free_port(), [("a", 1)],
                                                       listener_extra="    check: {recipe: nowhere.yaml}"))
        res = subprocess.run([RECHECKD, "-c", "-f", missing], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 3)
        self.assertRegex(res.stderr, r"missing\.yaml:\d+:\d+: listener\.check\.recipe: .*nowhere\.yaml")
        res = subprocess.run([RECHECKD], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 2)
        res = subprocess.run([RECHECKD, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0)
        self.assertIn("SIGHUP", res.stdout)

    # --- reload and stop -----------------------------------------------------------------------------------

    def name_of(self, port):
        with self.connect(port, b"NAME") as s:
            return recv_until_eof(s).strip().decode()

    def test_reload(self):
        pa, pb = self.start_peer("a"), self.start_peer("b")
        lport = free_port()
        p, path = self.start_recheckd(conf_text(lport, [("a", pa)]))
        self.assertEqual(self.name_of(lport), "a")
        held = self.connect(lport, b"ECHO")
        self.assertEqual(self.echo_roundtrip(held), b"ping")
        base = self.fds(p)
        # a changed server list: a leaves, b arrives
        with open(path, "w") as f:
            f.write(conf_text(lport, [("b", pb)]))
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: "configuration 2 loaded" in self.procs.log(p), 5, what="reload")
        wait_for(lambda: self.name_of(lport) == "b", 5, what="new connections reach b")
        self.assertEqual(self.echo_roundtrip(held, b"still here"), b"still here")
        # a broken config is refused with file:line and the running one keeps serving
        with open(path, "w") as f:
            f.write(conf_text(lport, [("b", pb)]) + "    weight: heavy\n")
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: "reload refused" in self.procs.log(p), 5, what="refusal logged")
        self.assertRegex(self.procs.log(p), r"reload refused, the running configuration stays: .*recheckd\.yaml:\d+:\d+: ")
        self.assertEqual(self.name_of(lport), "b")
        self.assertEqual(self.echo_roundtrip(held, b"and now"), b"and now")
        self.assertIsNone(p.poll())
        held.close()
        wait_for(lambda: self.fds(p) <= base, 5, what="fds back to baseline")

    def test_sigterm_drains(self):
        peer = self.start_peer()
        lport = free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)]))
        held = self.connect(lport, b"ECHO")
        self.assertEqual(self.echo_roundtrip(held), b"ping")
        os.kill(p.pid, signal.SIGTERM)
        wait_for(lambda: "stopping" in self.procs.log(p), 5, what="drain start")

        def refused():
            try:
                socket.create_connection(("127.0.0.1", lport), timeout=1).close()
                return False
            except OSError:
                return True

        wait_for(refused, 5, what="listener closed")
        self.assertEqual(self.echo_roundtrip(held, b"draining"), b"draining")
        self.assertIsNone(p.poll())
        held.close()
        self.assertEqual(p.wait(5), 0)
        self.assertIn("all sessions ended", self.procs.log(p))

    def test_drain_deadline(self):
        peer = self.start_peer()
        lport = free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)]).replace("drain_timeout: 5s", "drain_timeout: 300ms"))
        held = self.connect(lport, b"HOLD")
        time.sleep(0.2)
        os.kill(p.pid, signal.SIGTERM)
        self.assertEqual(p.wait(5), 0)
        self.assertIn("drain timeout: closing 1 remaining sessions", self.procs.log(p))
        self.assertEqual(recv_until_eof(held, timeout=5), b"")
        held.close()

    def test_one_accept_queue(self):
        """With two threads the listener is one socket (one accept queue), so a connection waits for
        whichever thread is free rather than the one a SO_REUSEPORT hash picked; and it survives a reload."""
        peer = self.start_peer()
        lport = free_port()
        p, path = self.start_recheckd(conf_text(lport, [("a", peer)], threads=2))

        def listening():
            n = 0
            with open("/proc/net/tcp") as f:
                for line in f.readlines()[1:]:
                    local, state = line.split()[1], line.split()[3]
                    if state == "0A" and int(local.split(":")[1], 16) == lport:
                        n += 1
            return n
        self.assertEqual(listening(), 1)
        for _ in range(20):
            s = self.connect(lport, b"ECHO")
            self.assertEqual(self.echo_roundtrip(s), b"ping")
            s.close()
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: "configuration 2 loaded" in self.procs.log(p), 10, what="reload done")
        self.assertEqual(listening(), 1)
        s = self.connect(lport, b"ECHO")
        self.assertEqual(self.echo_roundtrip(s), b"ping")
        s.close()

    def test_accept_balance(self):
        """A burst of keep-alive clients is spread over the threads. recheckd is stopped while 64 clients
        connect, so on resume every connection is already waiting in the one accept queue and the first
        thread to wake could take them all: the busier thread must hand connections to the idle one."""
        peer = self.start_peer()
        lport, sport = free_port(), free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)], threads=2,
                                             extra='stats: {bind: "127.0.0.1:%d"}' % sport))
        wait_port(sport)
        n = 64
        os.kill(p.pid, signal.SIGSTOP)
        socks = []
        try:
            for _ in range(n):
                socks.append(self.connect(lport, b"ECHO"))
        finally:
            os.kill(p.pid, signal.SIGCONT)
        try:
            for s in socks:
                self.assertEqual(self.echo_roundtrip(s), b"ping")

            def workers():
                with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5) as r:
                    w = json.load(r)["workers"]
                return w if sum(x["sessions"] for x in w) == n else None
            w = wait_for(workers, 10, what="%d sessions in /stats.json" % n)
            self.assertEqual(len(w), 2)
            loads = sorted(x["sessions"] for x in w)
            # Without the accept balance one thread often took them all (63/1 seen); with it, the busier
            # thread hands over until the other is within the margin. Hand-overs are not asserted: when
            # the kernel happens to wake both threads in turn, the split is even without any.
            self.assertGreaterEqual(loads[0], n // 4, "sessions per thread: %s" % w)
            for s in socks:
                self.assertEqual(self.echo_roundtrip(s, b"pong"), b"pong")
        finally:
            for s in socks:
                s.close()

    def test_pick_by_source(self):
        """The same source address always reaches the same server; many sources spread over both."""
        pa, pb = self.start_peer("a"), self.start_peer("b")
        lport = free_port()
        self.start_recheckd(conf_text(lport, [("a", pa), ("b", pb)]))
        seen = {}
        for i in range(1, 25):
            src = "127.0.%d.%d" % (i, 7 * i % 250 + 1)
            names = set()
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", lport), timeout=5, source_address=(src, 0)) as s:
                    s.sendall(b"NAME\n")
                    names.add(recv_until_eof(s).strip().decode())
            self.assertEqual(len(names), 1, "%s reached %s" % (src, names))
            seen[src] = names.pop()
        self.assertEqual(set(seen.values()), {"a", "b"})

    def test_systemd_notify(self):
        peer = self.start_peer()
        lport = free_port()
        sock_path = self.path("notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(ns.close)
        ns.bind(sock_path)
        ns.settimeout(5)
        path = self.write("recheckd.yaml", conf_text(lport, [("a", peer)]))
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        p = self.procs.start([RECHECKD, "-f", path], "recheckd", env=env)
        self.assertIn(b"READY=1\nMAINPID=%d" % p.pid, ns.recv(256))
        os.kill(p.pid, signal.SIGHUP)
        self.assertTrue(ns.recv(256).startswith(b"RELOADING=1\nMONOTONIC_USEC="))
        self.assertTrue(ns.recv(256).startswith(b"READY=1"))
        os.kill(p.pid, signal.SIGTERM)
        self.assertEqual(ns.recv(256), b"STOPPING=1")
        self.assertEqual(p.wait(5), 0)

    def test_idle_memory(self):
        """User-space memory per idle relayed connection stays well under HAProxy's ~3.4 KB."""
        peer = self.start_peer()
        lport = free_port()
        p, _ = self.start_recheckd(conf_text(lport, [("a", peer)], threads=1))

        def rss():
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
            return 0

        warm = [self.connect(lport, b"HOLD") for _ in range(50)]
        wait_for(lambda: self.fds(p) >= 50 * 2, 5, what="warm-up sessions")
        for s in warm:
            s.close()
        time.sleep(0.3)
        before = rss()
        n = 300
        held = [self.connect(lport, b"ECHO") for _ in range(n)]
        for s in held[::50]:
            self.assertEqual(self.echo_roundtrip(s), b"ping")
        wait_for(lambda: self.fds(p) >= n * 2, 5, what="%d sessions" % n)
        per = (rss() - before) / n
        for s in held:
            s.close()
        sys.stderr.write("[%.0f bytes of RSS per idle relayed connection] " % per)
        self.assertLess(per, 1700, "%.0f bytes of RSS per idle connection" % per)


if __name__ == "__main__":
    main()
