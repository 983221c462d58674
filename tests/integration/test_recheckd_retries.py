#!/usr/bin/env python3
"""recheckd's `retries` and `redispatch` (HAProxy's `retries` / `option redispatch`), deterministically.

- With checks far apart (inter 60s: the checks never see the failure during the test), a server is
  killed. Every client that hashes to it is redispatched at once (no pause: the connect was refused),
  and always to the same server: the one it gets once the dead server is marked DOWN (what lbpick, the
  balancer's own table, says with that server down), for map-based and consistent hashing, over 200+
  source addresses, twice. stats.json counts the redispatches (wredis) and no connection error.
- Without redispatch, a refused connect is retried on the same server after HAProxy's pause
  (min(1 s, timeout connect)); a server that comes back during the retries serves the client; when every
  retry fails the client sees a clean close (FIN, never a reset) and the counters say retries and one
  connection error (HAProxy wretr / econ).
"""
import json
import os
import re
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402

CONNECT_ONLY = "version: 1\nname: connect-only\nkind: tcp\nsteps:\n  - connect: {}\n"
N_ADDRS = 220


class Retries(harness.Case):
    def start_recheckd(self, name, servers, listener_extra, hash_type=None, check=True):
        port, stats_port = free_port(), free_port()
        self.write("connect-only.yaml", CONNECT_ONLY)
        self.sock = self.path("%s.sock" % name)
        lines = ["threads: 2", 'stats: {bind: "127.0.0.1:%d", socket: "%s"}' % (stats_port, self.sock)]
        if os.geteuid() == 0:
            lines.append("allow_root: true")
        lines += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % port, "    balance: source"]
        if hash_type:
            lines.append('    hash_type: "%s"' % hash_type)
        lines += listener_extra
        if check:
            lines.append("    check: {recipe: connect-only.yaml, inter: 60s, rise: 1, fall: 1, timeout: 1s}")
        lines.append("    servers:")
        for n, p in servers:
            lines.append('      - {name: %s, address: "127.0.0.1:%d"}' % (n, p))
        path = self.write("%s.yaml" % name, "\n".join(lines) + "\n")
        p = self.procs.start([RECHECKD, "-f", path, "-d"], "recheckd-" + name)
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 10, what="recheckd ready")
        self.assertIsNone(p.poll(), "recheckd exited:\n" + self.procs.log(p))
        wait_port(stats_port)
        self.stats_port = stats_port
        return p, port

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % self.stats_port, timeout=5) as r:
            return json.loads(r.read())["listeners"][0]

    def show_stat(self):
        """The runtime API's `show stat` (asked as of haproxy's socket), as {svname: row}."""
        lines = self.haproxy_cmd(self.sock, "show stat").splitlines()
        cols = lines[0].lstrip("# ").split(",")
        return {r[1]: dict(zip(cols, r)) for r in (l.split(",") for l in lines[1:] if l)}

    def test_redispatch_is_immediate_and_stable(self):
        addrs = lbparity.source_addresses(N_ADDRS, seed=11)
        names = ["s1", "s2", "s3", "s4"]
        for hash_type in ("map-based", "consistent"):
            with self.subTest(hash_type=hash_type):
                ns = {n: lbparity.NameServer([n]) for n in names}
                for n in names:
                    self.addCleanup(ns[n].stop)
                servers = [(n, ns[n].ports[n]) for n in names]
                p, port = self.start_recheckd(hash_type, servers, ["    retries: 3", "    redispatch: true"],
                                              hash_type=hash_type)
                wait_for(lambda: all(s["status"] == "UP" for s in self.stats()["servers"]), 10, what="all UP")
                c = lbparity.conf(hash_type, [lbparity.srv(n) for n in names], hash_type)
                self.assertEqual(lbparity.collect(port, addrs), lbparity.lbpick(c, addrs))

                ns["s2"].stop()  # killed: its port refuses connections; the checks will not run again
                c_down = lbparity.conf(hash_type, [lbparity.srv(n, down=(n == "s2")) for n in names], hash_type)
                before, after = lbparity.lbpick(c, addrs), lbparity.lbpick(c_down, addrs)
                # the clients of s2 go where they will go once s2 is DOWN; the others stay where they were
                want = [b if a == "s2" else a for a, b in zip(before, after)]
                moved = before.count("s2")
                self.assertGreater(moved, 20, "too few clients hash to s2 for the test to mean anything")
                for rnd in range(2):
                    t0 = time.monotonic()
                    got = lbparity.collect(port, addrs)
                    took = time.monotonic() - t0
                    self.assertEqual(lbparity.diff(addrs, want, got), [], "round %d" % rnd)
                    # no pause anywhere: HAProxy would have waited 1 s per client of s2
                    self.assertLess(took, 0.3 * moved, "round %d took %.2fs" % (rnd, took))
                st = self.stats()
                s2 = [s for s in st["servers"] if s["name"] == "s2"][0]
                self.assertEqual(s2["status"], "UP", "the checks must not have run: the test is about retries")
                self.assertEqual(s2["connections"]["redispatches"], 2 * moved)
                self.assertEqual(s2["connections"]["retries"], 0)
                self.assertEqual(s2["connections"]["errors"], 0)
                self.assertEqual(st["connections"]["redispatches"], 2 * moved)
                rows = self.show_stat()  # HAProxy's columns say the same
                self.assertEqual((rows["s2"]["wretr"], rows["s2"]["wredis"]), ("0", str(2 * moved)))
                self.assertEqual(rows["BACKEND"]["wredis"], str(2 * moved))
                self.assertIn("pool/s2: connect failed (Connection refused); retry 1/3 on ", self.procs.log(p))
                # the connection log (HAProxy tcplog) names the server each redispatched client reached and
                # its retries as "+1" (one retry, redispatched)
                redisp = re.findall(r"^\S+ \[[^\]]+\] pool pool/(\S+) \S+ \d+ \S\S \d+/\d+/\d+/\d+/\+(\d+) ",
                                    self.procs.log(p), re.M)
                self.assertEqual(len(redisp), 2 * moved)
                self.assertEqual({r for r in redisp if r[0] == "s2" or r[1] != "1"}, set())
                self.procs.stop(p)

    def test_retry_same_server_then_clean_close(self):
        dead = free_port()  # nothing listens
        p, port = self.start_recheckd("noredisp", [("only", dead)],
                                      ["    retries: 2", "    timeouts: {connect: 300ms, client: 5s, server: 5s}"],
                                      check=False)
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"hello, nobody\n" * 100)  # unread bytes: a careless close() would send a RST
        t0 = time.monotonic()
        s.settimeout(5)
        data = s.recv(100)  # a reset raises ConnectionResetError and fails the test
        took = time.monotonic() - t0
        s.close()
        self.assertEqual(data, b"")
        # two pauses of min(1 s, timeout connect) = 300 ms before giving up
        self.assertGreater(took, 0.55)
        self.assertLess(took, 2.0)
        wait_for(lambda: self.stats()["servers"][0]["connections"]["errors"] == 1, 5, what="errors == 1")
        sv = self.stats()["servers"][0]["connections"]
        self.assertEqual((sv["retries"], sv["redispatches"], sv["total"]), (2, 0, 3))
        rows = self.show_stat()
        self.assertEqual((rows["only"]["wretr"], rows["only"]["wredis"]), ("2", "0"))
        self.assertEqual(rows["BACKEND"]["wretr"], "2")
        self.assertIn("cannot connect to 127.0.0.1:%d: Connection refused (retries exhausted)" % dead,
                      self.procs.log(p))

        # the server comes back during the pauses: the retry reaches it and the client is served
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"x")
        time.sleep(0.1)
        ns = lbparity.NameServer(["only"], [dead])
        self.addCleanup(ns.stop)
        self.assertEqual(lbparity.ask(port, "127.0.0.1", 3.0), "only")
        s.settimeout(3)
        self.assertEqual(s.recv(100), b"only\n")
        s.close()


if __name__ == "__main__":
    main()
