#!/usr/bin/env python3
"""Per-server `maxconn`, the server's FIFO queue and `timeout queue`, side by side with real HAProxy 2.6.

One haproxy.cfg (ports and socket paths aside) runs through haproxy and through `recheckd -f`. Behind each
listener a backend that holds every connection until the test releases it (Holder), `maxconn 2`:
- `fifo` (no `timeout queue`: HAProxy's default, `timeout connect`): 5 clients; both engines serve 2 and
  queue 3 (show stat through each one's runtime socket: qcur, scur, qmax, slim on the server row, the
  BACKEND row's qcur; recheckd's /stats.json says the same), and each slot freed goes to the oldest waiter: the backend sees the clients in the
  order they connected. The tcplog lines agree field by field where they are deterministic
  (termination state, server, srv_queue, backend_queue; Tw > 0 for the queued clients).
- `short` (`timeout queue 400ms`): 2 served, 2 waiting are closed after the timeout (sQ, Tc -1, econ 2), and
  a client that leaves while waiting is logged CQ; the served ones end normally.
- `redisp` (`option redispatch`): clients waiting for s1 when it is put in maintenance pick again (s2), in
  both engines with the same wredis, lbtot and log lines.
- `srvfin` (`maxconn 1`): the server answers and closes while its client keeps its socket open. Both engines
  forward the bytes and a FIN at once, and keep the slot (scur 1, qcur 2) until that client closes; then
  the next waiter is served (scur 1, qcur 1). Same log lines.
"""
import json
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import RECHECKD, TCPLOG, free_port, main, recv_until_eof, wait_for, which  # noqa: E402
from holdsrv import Holder, client  # noqa: E402

CFG = """global
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    log 127.0.0.1:{syslog} local0
    option tcplog
    timeout connect 5s
    timeout client 20s
    timeout server 20s
listen stats
    bind 127.0.0.1:{stats}
    mode http
    stats enable
    stats uri /
listen fifo
    bind 127.0.0.1:{fifo}
    balance source
    server s1 127.0.0.1:{b_fifo} maxconn 2
listen short
    bind 127.0.0.1:{short}
    balance source
    timeout queue 400ms
    server s1 127.0.0.1:{b_short} maxconn 2
listen full
    bind 127.0.0.1:{full}
    balance source
    server s1 127.0.0.1:{b_full} maxconn 1 maxqueue 1
listen redisp
    bind 127.0.0.1:{redisp}
    balance source
    option redispatch
    server s1 127.0.0.1:{b_r1} maxconn 1
    server s2 127.0.0.1:{b_r2}
listen srvfin
    bind 127.0.0.1:{srvfin}
    balance source
    server s1 127.0.0.1:{b_srvfin} maxconn 1
"""


class Engine:
    """One balancer under test: its ports, its runtime socket, its tcplog lines by client port."""

    def __init__(self, case, name):
        self.case, self.name = case, name
        self.fifo, self.short, self.redisp, self.stats_port = free_port(), free_port(), free_port(), free_port()
        self.full, self.srvfin = free_port(), free_port()
        self.b_fifo, self.b_short, self.b_r1, self.b_r2 = Holder(), Holder(), Holder(), Holder()
        self.b_full, self.b_srvfin = Holder(), Holder()
        for h in (self.b_fifo, self.b_short, self.b_r1, self.b_r2, self.b_full, self.b_srvfin):
            case.addCleanup(h.close)
        self.sock = case.path(name + ".sock")

    def stat(self, px, sv):
        out = harness.Case.haproxy_cmd(self.sock, "show stat")
        lines = out.splitlines()
        head = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            cols = line.split(",")
            if len(cols) > 2 and cols[0] == px and cols[1] == sv:
                return dict(zip(head, cols))
        raise KeyError("%s/%s in %s's show stat" % (px, sv, self.name))

    def qcur(self, px):
        return int(self.stat(px, "s1")["qcur"] or 0)


class Queue(harness.Case):
    def setUp(self):
        super().setUp()
        if not which("haproxy"):
            self.skipTest("haproxy is not installed")
        self.syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.syslog.bind(("127.0.0.1", 0))
        self.syslog.settimeout(0.05)
        self.addCleanup(self.syslog.close)
        self.udp_lines = []

    def cfg(self, e):
        return CFG.format(sock=e.sock, syslog=self.syslog.getsockname()[1], fifo=e.fifo, short=e.short,
                          b_fifo=e.b_fifo.port, b_short=e.b_short.port, redisp=e.redisp, b_r1=e.b_r1.port,
                          b_r2=e.b_r2.port, stats=e.stats_port, full=e.full, b_full=e.b_full.port,
                          srvfin=e.srvfin, b_srvfin=e.b_srvfin.port)

    def start_engines(self):
        ha, rd = Engine(self, "haproxy"), Engine(self, "recheckd")
        body = self.cfg(ha).split("\n", 2)[2]  # start_haproxy adds the global section and socket itself
        self.start_haproxy(body)  # ready once its runtime socket exists
        path = self.write("recheckd.cfg", self.cfg(rd))
        self.rd = self.procs.start([RECHECKD, "-f", path], "recheckd")
        self.addCleanup(self.clean_exit, self.rd)  # stopped by PID; no sanitizer report (leaks show at exit)
        wait_for(lambda: "ready" in self.procs.log(self.rd) or self.rd.poll() is not None, 10, what="ready")
        self.assertIsNone(self.rd.poll(), self.procs.log(self.rd))
        wait_for(lambda: os.path.exists(rd.sock), 10, what="recheckd socket")
        ha.logs = self.haproxy_logs
        rd.logs = self.recheckd_logs
        return ha, rd

    def haproxy_logs(self):
        for _ in range(200):
            try:
                self.udp_lines.append(self.syslog.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                break
        return self.parse(self.udp_lines)

    def recheckd_logs(self):
        return self.parse(self.procs.log(self.rd).splitlines())

    @staticmethod
    def parse(lines):
        out = {}
        for line in lines:
            m = TCPLOG.search(line.strip())
            if m:
                out[int(m.group("client_port"))] = m.groupdict()
        return out

    # --- the scenario, run on each engine -----------------------------------------------------------

    def fifo_run(self, e):
        ports, socks = {}, {}
        for i in range(2):  # one at a time: the backend holds them in this order
            socks["c%d" % i] = client(e.fifo, "c%d" % i)
            wait_for(lambda: len(e.b_fifo.seen) == i + 1, 10, what="%s: the first two served" % e.name)
        for i in range(2, 5):
            socks["c%d" % i] = client(e.fifo, "c%d" % i)
            wait_for(lambda: e.qcur("fifo") == i - 1, 10, what="%s: c%d queued" % (e.name, i))
        for k, s in socks.items():
            ports[s.getsockname()[1]] = k
        row, be = e.stat("fifo", "s1"), e.stat("fifo", "BACKEND")
        snap = {k: row[k] for k in ("qcur", "qmax", "scur", "slim", "qlimit")}
        snap["be_qcur"] = be["qcur"]
        if e.name == "recheckd":  # the same queue in /stats.json
            with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % e.stats_port, timeout=5) as r:
                li = [x for x in json.loads(r.read())["listeners"] if x["name"] == "fifo"][0]
            q = li["servers"][0]["queue"]
            self.assertEqual((q["maxconn"], q["maxqueue"], q["current"], q["max"]), (2, 0, 3, 3))
            self.assertEqual(li["connections"]["queued"], 3)
        self.assertEqual(e.b_fifo.seen, ["c0", "c1"], e.name)
        # each freed slot (a session over: the server answered and closed, then the client) goes to the
        # oldest waiter
        for n in range(5):
            k = "c%d" % n
            e.b_fifo.release(1)
            self.assertEqual(recv_until_eof(socks[k]), ("ok %s\n" % k).encode(), "%s: %s's answer" % (e.name, k))
            socks[k].close()
            if n < 3:
                wait_for(lambda: len(e.b_fifo.seen) == n + 3, 10, what="%s: slot %d handed on" % (e.name, n))
        self.assertEqual(e.b_fifo.seen, ["c0", "c1", "c2", "c3", "c4"], "%s: FIFO order" % e.name)
        wait_for(lambda: all(p in e.logs() for p in ports), 10, what="%s: fifo log lines" % e.name)
        logs = e.logs()
        return snap, {k: logs[p] for p, k in ports.items()}

    def short_run(self, e):
        ports, socks = {}, {}
        for i in range(2):  # one at a time: the backend holds them in this order
            socks["d%d" % i] = client(e.short, "d%d" % i)
            wait_for(lambda: len(e.b_short.seen) == i + 1, 10, what="%s: two served" % e.name)
        t0 = time.monotonic()
        for i in range(2, 4):
            socks["d%d" % i] = client(e.short, "d%d" % i)
        for k, s in socks.items():
            ports[s.getsockname()[1]] = k
        wait_for(lambda: e.qcur("short") == 2, 10, what="%s: two queued" % e.name)
        # a client that leaves while it waits (a FIN with nothing sent): CQ
        leaver = client(e.short)
        ports[leaver.getsockname()[1]] = "leaver"
        wait_for(lambda: e.qcur("short") == 3, 10, what="%s: the leaver queued" % e.name)
        leaver.close()
        for k in ("d2", "d3"):
            self.assertEqual(recv_until_eof(socks[k]), b"", "%s: %s closed by timeout queue" % (e.name, k))
        waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, 0.35, "%s: closed before timeout queue" % e.name)
        row = e.stat("short", "s1")
        snap = {k: row[k] for k in ("qcur", "qmax", "scur", "econ", "stot", "lbtot")}
        e.b_short.release(2)
        for k in ("d0", "d1"):
            self.assertEqual(recv_until_eof(socks[k]), ("ok %s\n" % k).encode(), "%s: %s" % (e.name, k))
            socks[k].close()
        self.assertEqual(e.b_short.seen, ["d0", "d1"], "%s: the timed-out never reached the server" % e.name)
        for s in socks.values():
            s.close()
        wait_for(lambda: all(p in e.logs() for p in ports), 10, what="%s: short log lines" % e.name)
        logs = e.logs()
        return snap, {k: logs[p] for p, k in ports.items()}

    def answer(self, holder, sock, ident):
        """The oldest held connection is answered and closed by its server; its client reads it all, closes."""
        holder.release(1)
        self.assertEqual(recv_until_eof(sock), ("ok %s\n" % ident).encode())
        sock.close()

    def full_run(self, e):
        """maxqueue 1: one served, one waiting, the next one closed at once (SQ, econ)."""
        socks = {"f0": client(e.full, "f0")}
        wait_for(lambda: len(e.b_full.seen) == 1, 10, what="%s: f0 served" % e.name)
        socks["f1"] = client(e.full, "f1")
        wait_for(lambda: e.qcur("full") == 1, 10, what="%s: f1 queued" % e.name)
        socks["f2"] = client(e.full, "f2")
        ports = {s.getsockname()[1]: k for k, s in socks.items()}
        self.assertEqual(recv_until_eof(socks["f2"]), b"", "%s: f2 refused" % e.name)
        row = e.stat("full", "s1")
        snap = {k: row[k] for k in ("qcur", "qmax", "qlimit", "econ")}
        self.answer(e.b_full, socks["f0"], "f0")
        wait_for(lambda: len(e.b_full.seen) == 2, 10, what="%s: f1 served" % e.name)
        self.answer(e.b_full, socks["f1"], "f1")
        for s in socks.values():
            s.close()
        wait_for(lambda: all(p in e.logs() for p in ports), 10, what="%s: full log lines" % e.name)
        logs = e.logs()
        return snap, {k: logs[p] for p, k in ports.items()}

    def test_maxqueue_like_haproxy(self):
        ha, rd = self.start_engines()
        got = {e.name: self.full_run(e) for e in (ha, rd)}
        (ha_snap, ha_lines), (rd_snap, rd_lines) = got["haproxy"], got["recheckd"]
        self.assertEqual(ha_snap, {"qcur": "1", "qmax": "1", "qlimit": "1", "econ": "1"})
        self.assertEqual(rd_snap, ha_snap)
        fields = ("server_name", "termination_state", "retries", "srv_queue", "backend_queue")
        for k in ("f0", "f1", "f2"):
            self.assertEqual({f: ha_lines[k][f] for f in fields}, {f: rd_lines[k][f] for f in fields}, k)
            self.assertEqual(ha_lines[k]["Tc"] == "-1", rd_lines[k]["Tc"] == "-1", k)  # times vary, -1 does not
        self.assertEqual(rd_lines["f2"]["termination_state"], "SQ")

    def srvfin_run(self, e):
        """maxconn 1: the server answers a and closes while a keeps its socket open; b and c wait. Within
        `timeout queue` (here `timeout connect`, 5 s): the whole case takes about 1.5 s."""
        socks = {"a": client(e.srvfin, "a")}
        wait_for(lambda: len(e.b_srvfin.seen) == 1, 10, what="%s: a served" % e.name)
        for n, k in enumerate(("b", "c")):
            socks[k] = client(e.srvfin, k)
            wait_for(lambda: e.qcur("srvfin") == n + 1, 10, what="%s: %s queued" % (e.name, k))
        ports = {s.getsockname()[1]: k for k, s in socks.items()}
        e.b_srvfin.release(1)  # "ok a", then the server closes; a does not
        t0 = time.monotonic()
        self.assertEqual(recv_until_eof(socks["a"], timeout=5), b"ok a\n", "%s: a gets every byte, then a FIN" % e.name)
        self.assertLess(time.monotonic() - t0, 2, "%s: the FIN follows the server's at once" % e.name)
        # the slot stays a's while a's client side is open: watched for 1 s (bounded), b must not move
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self.assertEqual(e.b_srvfin.seen, ["a"], "%s: b served while a is still open" % e.name)
            time.sleep(0.05)
        row = e.stat("srvfin", "s1")
        held = {k: row[k] for k in ("qcur", "scur")}
        # a may still write (its direction is open): no reset comes back, only the FIN already there
        socks["a"].sendall(b"late\n")
        self.assertEqual(socks["a"].recv(10), b"", "%s: a after the FIN" % e.name)
        socks["a"].close()  # now the session is over: the slot goes to b
        wait_for(lambda: len(e.b_srvfin.seen) == 2, 10, what="%s: b served once a closed" % e.name)
        wait_for(lambda: e.qcur("srvfin") == 1, 10, what="%s: c still waiting" % e.name)
        row = e.stat("srvfin", "s1")
        moved = {k: row[k] for k in ("qcur", "scur")}
        self.answer(e.b_srvfin, socks["b"], "b")
        wait_for(lambda: len(e.b_srvfin.seen) == 3, 10, what="%s: c served" % e.name)
        self.answer(e.b_srvfin, socks["c"], "c")
        wait_for(lambda: all(p in e.logs() for p in ports), 10, what="%s: srvfin log lines" % e.name)
        logs = e.logs()
        return (held, moved), {k: logs[p] for p, k in ports.items()}

    def test_server_close_keeps_slot_until_client_closes(self):
        """The server closing its side does not end the session: HAProxy 2.6.12 forwards the FIN to the
        client and keeps the server's slot (scur) until the client closes too; recheckd does the same."""
        ha, rd = self.start_engines()
        got = {e.name: self.srvfin_run(e) for e in (ha, rd)}
        (ha_snap, ha_lines), (rd_snap, rd_lines) = got["haproxy"], got["recheckd"]
        self.assertEqual(ha_snap, ({"qcur": "2", "scur": "1"}, {"qcur": "1", "scur": "1"}))
        self.assertEqual(rd_snap, ha_snap)
        fields = ("server_name", "termination_state", "retries", "srv_queue", "backend_queue", "bytes_read")
        for k in ("a", "b", "c"):
            self.assertEqual({f: ha_lines[k][f] for f in fields}, {f: rd_lines[k][f] for f in fields}, k)
        self.assertEqual(rd_lines["a"]["termination_state"], "--")
        self.assertGreaterEqual(int(rd_lines["b"]["Tw"]), 1000, "b waited for a's client, not for a's server")

    def redisp_run(self, e):
        """Clients waiting for s1 when it goes into maintenance pick again (option redispatch): s2."""
        socks, ports = {}, {}
        src = None
        for n in range(2, 40):  # a source address that hashes to s1 (both engines pick alike)
            a = "127.0.0.%d" % n
            s = client(e.redisp, "p%d" % n, a)
            wait_for(lambda: len(e.b_r1.seen) + len(e.b_r2.seen) == len(socks) + 1, 10, what="%s: pick" % e.name)
            socks["p%d" % n] = s
            if e.b_r1.seen:
                src = a
                break
        self.assertIsNotNone(src)
        for k in ("w1", "w2"):
            socks[k] = client(e.redisp, k, src)
            wait_for(lambda: e.qcur("redisp") == int(k[1]), 10, what="%s: %s queued" % (e.name, k))
            ports[socks[k].getsockname()[1]] = k
        r2_before = len(e.b_r2.seen)
        harness.Case.haproxy_cmd(e.sock, "disable server redisp/s1")
        wait_for(lambda: len(e.b_r2.seen) == r2_before + 2, 10, what="%s: the waiters moved to s2" % e.name)
        self.assertEqual(sorted(e.b_r2.seen[r2_before:]), ["w1", "w2"])
        self.assertEqual(e.qcur("redisp"), 0)
        row = e.stat("redisp", "s1")
        snap = {k: row[k] for k in ("qcur", "qmax", "wredis", "status")}
        lbtot = {sv: e.stat("redisp", sv)["lbtot"] for sv in ("s1", "s2", "BACKEND")}
        e.b_r1.release(10)
        e.b_r2.release(10)
        for s in socks.values():
            recv_until_eof(s)
            s.close()
        wait_for(lambda: all(p in e.logs() for p in ports), 10, what="%s: redisp log lines" % e.name)
        logs = e.logs()
        return (snap, lbtot), {k: logs[p] for p, k in ports.items()}

    def test_redispatch_waiters(self):
        ha, rd = self.start_engines()
        got = {e.name: self.redisp_run(e) for e in (ha, rd)}
        ((ha_snap, ha_lbtot), ha_lines), ((rd_snap, rd_lbtot), rd_lines) = got["haproxy"], got["recheckd"]
        self.assertEqual(ha_snap, {"qcur": "0", "qmax": "2", "wredis": "2", "status": "MAINT"})
        self.assertEqual(rd_snap, ha_snap)
        # lbtot: every pick counts where it landed, a move to another server counts there and in the backend
        self.assertEqual(rd_lbtot, ha_lbtot)
        fields = ("server_name", "termination_state", "retries", "srv_queue", "backend_queue")
        for k in ("w1", "w2"):
            self.assertEqual({f: ha_lines[k][f] for f in fields}, {f: rd_lines[k][f] for f in fields}, k)
            self.assertEqual(rd_lines[k]["server_name"], "s2")
        self.assertEqual(rd_lines["w1"]["retries"][0], "+", "the move is logged as a redispatch")

    def test_queue_like_haproxy(self):
        ha, rd = self.start_engines()
        got = {}
        for e in (ha, rd):
            got[e.name] = (self.fifo_run(e), self.short_run(e))
        (ha_fifo, ha_short), (rd_fifo, rd_short) = got["haproxy"], got["recheckd"]
        # show stat: the queue as HAProxy shows it, with the numbers this scenario fixes
        self.assertEqual(ha_fifo[0], {"qcur": "3", "qmax": "3", "scur": "2", "slim": "2", "qlimit": "",
                                      "be_qcur": "0"})
        self.assertEqual(rd_fifo[0], ha_fifo[0])
        # the two that timed out and the leaver were assigned (lbtot) but never connected (stot)
        self.assertEqual(ha_short[0], {"qcur": "0", "qmax": "3", "scur": "2", "econ": "2", "stot": "2", "lbtot": "5"})
        self.assertEqual(rd_short[0], ha_short[0])
        # the log lines, field by field where the scenario fixes them
        fields = ("frontend_name", "backend_name", "server_name", "termination_state", "retries", "srv_queue",
                  "backend_queue")
        for ha_lines, rd_lines in ((ha_fifo[1], rd_fifo[1]), (ha_short[1], rd_short[1])):
            self.assertEqual(set(ha_lines), set(rd_lines))
            for k in sorted(ha_lines):
                h, r = ha_lines[k], rd_lines[k]
                self.assertEqual({f: h[f] for f in fields}, {f: r[f] for f in fields}, "client %s" % k)
                self.assertEqual(h["Tc"] == "-1", r["Tc"] == "-1", "client %s: Tc %s vs %s" % (k, h["Tc"], r["Tc"]))
        # Tw: HAProxy 2.6 logs the queue time + 1 in TCP mode (its t_request is -1), so 1 when not queued
        for k in ("c0", "c1"):
            self.assertEqual(rd_fifo[1][k]["Tw"], "1", k)
            self.assertLessEqual(int(ha_fifo[1][k]["Tw"]), 10, k)  # 1 on a quiet machine
        for k in ("d0", "d1"):
            self.assertEqual(rd_short[1][k]["Tw"], "1", k)
        for k in ("c2", "c3", "c4"):
            self.assertEqual(rd_fifo[1][k]["termination_state"], "--")
            self.assertGreater(int(rd_fifo[1][k]["Tw"]), 1, k)
            tc, tw = int(rd_fifo[1][k]["Tc"]), int(rd_fifo[1][k]["Tw"])
            self.assertTrue(0 <= tc < tw - 1, k)  # counted from the slot, not from the accept
        self.assertEqual([rd_fifo[1][k]["srv_queue"] for k in ("c0", "c1", "c2", "c3", "c4")],
                         ["0", "0", "1", "2", "3"])
        for k in ("d2", "d3"):
            for lines in (ha_short[1], rd_short[1]):
                self.assertEqual(lines[k]["termination_state"], "sQ")
                self.assertGreaterEqual(int(lines[k]["Tw"]), 400, k)
                self.assertLessEqual(abs(int(lines[k]["Tw"]) - (int(lines[k]["Tt"]) + 1)), 2, k)  # Tw = Tt + 1
                self.assertEqual(lines[k]["Tc"], "-1")
                self.assertEqual(lines[k]["srv_conn"], "2", k)  # the two served sessions
        self.assertEqual(rd_short[1]["leaver"]["termination_state"], "CQ")


if __name__ == "__main__":
    main()
