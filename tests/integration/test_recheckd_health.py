#!/usr/bin/env python3
"""recheckd's health checks against real SOCKS5 proxies (microsocks) on 127.0.0.1.

Three primaries and a backup, each a microsocks whose outgoing connections are bound to its own
address (-b 127.0.0.1X), behind recheckd with hash_type consistent and a SOCKS5 recipe that fetches
/generate_204 from the local origin (inter 200ms, rise 2, fall 2, timeout 1s). A SOCKS5 client bound to
many 127.x.y.z source addresses asks a "whoami" server through recheckd, which answers with the address
the connection came from: that names the proxy each client went through.

- traffic through recheckd reaches the origin (curl -x socks5h://...);
- stopping a primary marks it DOWN within fall x inter + timeout (+ margin) and moves its clients, and
  only its clients (consistent hashing);
- stopping every primary moves every client to the backup;
- restarting them brings every client back to its first server after rise checks;
- /stats.json and /metrics show each transition with the failing step (L4CON at step 1, connect) and
  the counters move.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import (RECHECKD, Case, free_port, main, recv_exact, recv_until_eof, wait_for, wait_port,  # noqa: E402
                     which)
from tcpserver import TcpServer  # noqa: E402

INTER_MS, RISE, FALL, TIMEOUT_MS = 200, 2, 2, 1000
MARGIN_S = 1.0
PRIMARIES = ["s1", "s2", "s3"]
BIND = {"s1": "127.0.0.11", "s2": "127.0.0.12", "s3": "127.0.0.13", "b1": "127.0.0.14"}
NAME_OF = {v: k for k, v in BIND.items()}


class WhoAmI(TcpServer):
    """Answers every connection with the peer's address and closes it (a thread of this process)."""

    def __init__(self):
        super().__init__(backlog=256)

    def serve(self, conn, peer):
        with conn:
            conn.sendall((peer[0] + "\n").encode())


def socks5_whoami(proxy_port, src, dst_port, timeout=2.0):
    """Through the SOCKS5 proxy at 127.0.0.1:proxy_port, from source address src, asks the whoami
    server on 127.0.0.1:dst_port. Returns the server name the proxy connected from, or "-"."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.bind((src, 0))
            s.connect(("127.0.0.1", proxy_port))
            s.sendall(b"\x05\x01\x00")
            if recv_exact(s, 2) != b"\x05\x00":
                return "-"
            s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", dst_port))
            rep = recv_exact(s, 10)
            if len(rep) < 2 or rep[1] != 0:
                return "-"
            data = recv_until_eof(s, limit=64, timeout=timeout)
            return NAME_OF.get(data.decode("ascii", "replace").strip(), "?")
    except OSError:
        return "-"


class HealthCase(Case):
    def start_proxy(self, name, port):
        exe = which("microsocks")
        if not exe:
            self.fail("microsocks is not installed (apt-get install microsocks)")
        p = self.procs.start([exe, "-i", "127.0.0.1", "-p", str(port), "-b", BIND[name]], "microsocks-" + name)
        wait_port(port)
        return p

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            self.assertEqual(r.headers.get("Content-Type"), "application/json")
            return json.loads(r.read().decode("utf-8"))

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.stats_port, timeout=5) as r:
            self.assertIn("version=0.0.4", r.headers.get("Content-Type"))
            return r.read().decode("utf-8")

    def servers(self):
        return {s["name"]: s for s in self.stats()["listeners"][0]["servers"]}

    def wait_status(self, want, timeout):
        """Waits until every server named in want shows that status; returns the seconds it took."""
        t0 = time.monotonic()
        wait_for(lambda: all(self.servers()[n]["status"] == st for n, st in want.items()), timeout, 0.02,
                 "statuses %s" % want)
        return time.monotonic() - t0

    @staticmethod
    def metric(text, name, **labels):
        want = ",".join('%s="%s"' % kv for kv in labels.items())
        for line in text.splitlines():
            if line.startswith(name + "{") and line.split("{", 1)[1].split("}", 1)[0] == want:
                return float(line.rsplit(" ", 1)[1])
        raise KeyError("%s{%s} not in metrics" % (name, want))

    def test_failover_and_back(self):
        origin = self.start_origin()
        who = WhoAmI()
        self.addCleanup(who.close)
        ports = {n: free_port() for n in PRIMARIES + ["b1"]}
        procs = {n: self.start_proxy(n, ports[n]) for n in ports}
        recipe = harness.sample_for_port("local/socks5-local-204.yaml", origin, self.path("socks5.yaml"))
        lport, self.stats_port = free_port(), free_port()
        conf = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port]
        if os.geteuid() == 0:
            conf.append("allow_root: true")
        conf += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % lport, "    hash_type: consistent",
                 "    check: {recipe: %s, inter: %dms, rise: %d, fall: %d, timeout: %dms}" % (
                     os.path.basename(recipe), INTER_MS, RISE, FALL, TIMEOUT_MS),
                 "    servers:"]
        for n in PRIMARIES:
            conf.append('      - {name: %s, address: "127.0.0.1:%d"}' % (n, ports[n]))
        conf.append('      - {name: b1, address: "127.0.0.1:%d", backup: true}' % ports["b1"])
        path = self.write("recheckd.yaml", "\n".join(conf) + "\n")
        d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(d.poll(), self.procs.log(d))
        wait_port(self.stats_port)
        self.wait_status({n: "UP" for n in ports}, 5)

        # traffic reaches the origin through recheckd
        res = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                              "-x", "socks5h://127.0.0.1:%d" % lport, "http://127.0.0.1:%d/generate_204" % origin],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(res.stdout, "204", res.stderr + self.procs.log(d))

        addrs = lbparity.source_addresses(90, seed=11)
        ask = lambda: [socks5_whoami(lport, a, who.port) for a in addrs]  # noqa: E731
        first = ask()
        self.assertTrue(set(first) <= set(PRIMARIES), first)
        self.assertEqual(set(first), set(PRIMARIES), "every primary should get clients: %s" % first)

        # a primary stops: DOWN within fall x inter + timeout; only its clients move
        self.procs.stop(procs["s1"])
        took = self.wait_status({"s1": "DOWN"}, 10)
        self.assertLess(took, (FALL * INTER_MS + TIMEOUT_MS) / 1000 + MARGIN_S, "s1 marked DOWN too late")
        second = ask()
        for a, x, y in zip(addrs, first, second):
            if x == "s1":
                self.assertIn(y, ("s2", "s3"), "client %s of s1 went to %s" % (a, y))
            else:
                self.assertEqual(y, x, "client %s of %s moved to %s though its server is up" % (a, x, y))
        s1 = self.servers()["s1"]
        self.assertEqual(s1["check"]["status"], "L4CON")
        self.assertEqual(s1["check"]["step"], 1)
        self.assertEqual(s1["check"]["kind"], "connect")
        self.assertIn("at step 1", s1["check"]["description"])
        self.assertGreaterEqual(s1["check"]["counts"]["failed"], FALL)
        tr = s1["transitions"]["recent"][0]
        self.assertEqual((tr["from"], tr["to"], tr["check"], tr["step"], tr["kind"]), ("UP", "DOWN", "L4CON", 1, "connect"))
        m = self.metrics()
        self.assertEqual(self.metric(m, "recheck_server_up", listener="pool", server="s1"), 0)
        self.assertEqual(self.metric(m, "recheck_server_up", listener="pool", server="s2"), 1)
        self.assertEqual(self.metric(m, "recheck_server_check_failed_step", listener="pool", server="s1"), 1)
        self.assertEqual(self.metric(m, "recheck_server_transitions_total", listener="pool", server="s1", to="down"), 1)
        self.assertGreaterEqual(self.metric(m, "recheck_checks_total", listener="pool", server="s1", result="failed"), FALL)
        self.assertGreater(self.metric(m, "recheck_server_connections_total", listener="pool", server="s2"), 0)
        self.assertGreater(self.metric(m, "recheck_server_bytes_total", listener="pool", server="s2", direction="out"), 0)
        self.assertIn("DOWN", self.procs.log(d))

        # every primary stops: all traffic to the backup
        self.procs.stop(procs["s2"])
        self.procs.stop(procs["s3"])
        self.wait_status({"s2": "DOWN", "s3": "DOWN"}, 10)
        self.assertEqual(set(ask()), {"b1"})
        m = self.metrics()
        self.assertGreater(self.metric(m, "recheck_server_connections_total", listener="pool", server="b1"), 0)
        self.assertEqual(self.metric(m, "recheck_listener_servers_usable", listener="pool", group="active"), 0)

        # back: UP after rise checks, every client on its first server again
        for n in PRIMARIES:
            procs[n] = self.start_proxy(n, ports[n])
        took = self.wait_status({n: "UP" for n in PRIMARIES}, 10)
        self.assertLess(took, (RISE * INTER_MS + TIMEOUT_MS) / 1000 + MARGIN_S, "primaries came back too late")
        self.assertEqual(ask(), first)
        srv = self.servers()
        for n in PRIMARIES:
            self.assertEqual(srv[n]["transitions"]["to_up"], 1, n)
            self.assertEqual(srv[n]["transitions"]["recent"][0]["to"], "UP")
            self.assertEqual(srv[n]["check"]["status"], "L7OK")
            self.assertIsNone(srv[n]["check"]["step"])
        m = self.metrics()
        self.assertEqual(self.metric(m, "recheck_server_transitions_total", listener="pool", server="s1", to="up"), 1)
        self.assertGreater(self.metric(m, "recheck_check_duration_seconds_count", listener="pool", server="s1"), 0)
        self.clean_exit(d, rc=0)

    def test_reload_keeps_health_of_kept_servers(self):
        """SIGHUP with a changed server list: a kept server keeps its state, counters and transitions;
        a removed one stops being checked; a new one starts checking."""
        ns = lbparity.NameServer(["s1", "gone", "fresh"])
        self.addCleanup(ns.stop)
        dead = lbparity.closed_port(self.addCleanup)
        self.write("connect.yaml", "version: 1\nname: connect\nkind: tcp\nsteps:\n  - connect: {}\n")
        self.stats_port = free_port()
        head = ["threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % self.stats_port]
        if os.geteuid() == 0:
            head.append("allow_root: true")
        head += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % free_port(),
                 "    check: {recipe: connect.yaml, inter: 100ms, rise: 1, fall: 1, timeout: 500ms}", "    servers:"]

        def conf(names):
            addr = {"dead": dead, "s1": ns.ports["s1"], "gone": ns.ports["gone"], "fresh": ns.ports["fresh"]}
            return "\n".join(head + ['      - {name: %s, address: "127.0.0.1:%d"}' % (n, addr[n]) for n in names]) + "\n"
        path = self.write("recheckd.yaml", conf(["dead", "s1", "gone"]))
        d = self.procs.start([RECHECKD, "-f", path], "recheckd")
        wait_for(lambda: "ready" in self.procs.log(d) or d.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(d.poll(), self.procs.log(d))
        wait_port(self.stats_port)
        self.wait_status({"dead": "DOWN", "s1": "UP", "gone": "UP"}, 5)
        time.sleep(0.3)
        before = self.servers()
        self.write("recheckd.yaml", conf(["dead", "s1", "fresh"]))
        t_reload = time.monotonic()
        d.send_signal(1)  # SIGHUP
        wait_for(lambda: self.stats()["generation"] == 2, 5, 0.05, "configuration 2")
        self.wait_status({"fresh": "UP"}, 5)
        time.sleep(0.3)
        after = self.servers()
        since_reload_ms = (time.monotonic() - t_reload) * 1000
        self.assertEqual(set(after), {"dead", "s1", "fresh"})
        # the kept DOWN server did not start over: same transition, older than the reload; counts went on
        self.assertEqual(after["dead"]["status"], "DOWN")
        self.assertEqual(after["dead"]["transitions"]["to_down"], 1)
        self.assertGreater(after["dead"]["transitions"]["recent"][0]["age_ms"], since_reload_ms)
        self.assertGreater(after["dead"]["check"]["counts"]["failed"], before["dead"]["check"]["counts"]["failed"])
        self.assertGreater(after["s1"]["check"]["counts"]["passed"], before["s1"]["check"]["counts"]["passed"])
        self.assertEqual(after["fresh"]["check"]["status"], "L4OK")
        self.assertIn("stopped (server removed or check disabled)", self.procs.log(d))
        self.clean_exit(d, rc=0)


if __name__ == "__main__":
    main()
