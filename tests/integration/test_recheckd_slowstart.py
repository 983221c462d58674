#!/usr/bin/env python3
"""`slowstart` against real HAProxy 2.6: the same configuration file run by haproxy and by recheckd -f.

Three servers (weight 100, `slowstart 4s`, checks every 200 ms, rise 1 fall 1). One backend is killed;
once both engines mark it DOWN it is restarted on the same port, and both engines' `show stat` rows for
it are sampled through their runtime sockets every few tens of milliseconds:
- consistent hashing (a dynamic algorithm): both ramp the weight column through the same values
  (HAProxy's eweight steps: 7, 32, 57, 82 of 100, with the throttle column 6, 31, 56, 81 %), take about
  the slowstart to reach the full weight, end within a second of each other, and at any moment are at
  most one step apart. Meanwhile the share of 200 source addresses that recheckd's `show pick` sends to
  the returning server grows with each step, to its full share.
- map-based hashing (static): neither ramps the weight; both show throttle 100 % while warming up.
- per-server maxconn during a warm-up (HAProxy's srv_dynamic_maxconn, maxconn * 100 e / slowstart %, at
  least 1): `maxconn 4 slowstart 4s`, the server leaves MAINT (`set server ... state ready`) and five
  clients arrive at once: both engines serve one and queue four; once the warm-up is over, the next
  session that ends frees the full four slots (a rising ramp alone frees no waiter, in both).
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from holdsrv import Holder, client  # noqa: E402  (a backend that holds connections)

NAMES = ["s1", "s2", "s3"]
RAMP = [7, 32, 57, 82, 100]  # ceil(100 * w / 16) for w = 1, 5, 9, 13 (slowstart 4s), then full


def cfg(sock, port, ports, hash_type):
    lines = ["global", "    stats socket %s mode 600 level admin" % sock,
             "defaults", "    mode tcp", "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
             "listen pool", "    bind 127.0.0.1:%d" % port, "    balance source", "    hash-type %s" % hash_type,
             "    default-server check inter 200ms rise 1 fall 1 slowstart 4s weight 100"]
    lines += ["    server %s 127.0.0.1:%d" % (n, ports[n]) for n in NAMES]
    return "\n".join(lines) + "\n"


def cli(sock, cmd):
    return harness.Case.haproxy_cmd(sock, cmd)  # HAProxy's runtime API: the same client for both engines


def row(sock, server):
    lines = cli(sock, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        cols = line.split(",")
        if len(cols) > 2 and cols[0] == "pool" and cols[1] == server:
            return dict(zip(head, cols))
    raise KeyError(server)


class Slowstart(harness.Case):
    def start_both(self, hash_type):
        ns = {n: lbparity.NameServer([n]) for n in NAMES}
        for n in NAMES:
            self.addCleanup(lambda n=n: ns[n].stop())
        ports = {n: ns[n].ports[n] for n in NAMES}
        _, hsock = self.start_haproxy(cfg(self.path("unused.sock"), free_port(), ports, hash_type)
                                      .split("\n", 2)[2])  # start_haproxy adds its own global + socket
        rsock = self.path("recheckd.sock")
        path = self.write("recheckd.cfg", cfg(rsock, free_port(), ports, hash_type))
        p = self.procs.start([RECHECKD, "-f", path, "-d"], "recheckd")
        wait_for(lambda: os.path.exists(rsock) or p.poll() is not None, 10, what="recheckd socket")
        self.assertIsNone(p.poll(), "recheckd exited:\n" + self.procs.log(p))
        self.rd = p
        # at start-up every server is UP at once (no warm-up: slowstart applies to a server coming back)
        wait_for(lambda: all(row(s, n)["status"] == "UP" for s in (hsock, rsock) for n in NAMES), 10, what="all UP")
        return ns, ports, hsock, rsock

    def kill_and_restart(self, ns, ports, hsock, rsock):
        ns["s3"].stop()
        wait_for(lambda: all(row(s, "s3")["status"] == "DOWN" for s in (hsock, rsock)), 10, what="s3 DOWN in both")
        ns["s3"] = lbparity.NameServer(["s3"], ports=[ports["s3"]])

    def sample(self, hsock, rsock, until, limit=12.0):
        """(t, haproxy row, recheckd row) every ~30 ms until until(samples) or limit seconds."""
        samples, t0 = [], time.monotonic()
        while time.monotonic() - t0 < limit:
            samples.append((time.monotonic() - t0, row(hsock, "s3"), row(rsock, "s3")))
            if until(samples):
                break
            time.sleep(0.03)
        return samples

    def test_consistent_ramps_like_haproxy(self):
        ns, ports, hsock, rsock = self.start_both("consistent")
        addrs = lbparity.source_addresses(200, seed=12)

        def share():
            n = 0
            for a in addrs:
                out = cli(rsock, "show pick pool %s" % a)
                n += out.startswith("server: s3\n")
            return n

        full_share = share()
        self.assertGreater(full_share, 30, "s3 must own a fair part of the addresses for the test to mean anything")
        self.kill_and_restart(ns, ports, hsock, rsock)
        shares = {}  # recheckd weight -> share of the 200 addresses picked while at that weight
        explain = []  # show pick's text at each step

        def until(samples):
            _, h, r = samples[-1]
            if r["status"] == "UP" and r["weight"] not in shares and int(r["weight"]) < 100:
                shares[r["weight"]] = share()
                explain.append(cli(rsock, "show pick pool 127.0.0.1"))
            ups = [s for s in samples if s[1]["status"] == "UP" and s[2]["status"] == "UP"]
            return len(ups) > 1 and all(s[1]["weight"] == "100" and s[2]["weight"] == "100"
                                        for s in samples[-5:])

        samples = self.sample(hsock, rsock, until)
        log = "\n".join("%.2f haproxy %s %s/%s recheckd %s %s/%s" % (
            t, h["status"], h["weight"], h["throttle"], r["status"], r["weight"], r["throttle"]) for t, h, r in samples)
        for who, i in (("haproxy", 1), ("recheckd", 2)):
            up = [s for s in samples if s[i]["status"] == "UP"]
            self.assertTrue(up, "%s never came back:\n%s" % (who, log))
            seen = []
            for s in up:
                w = int(s[i]["weight"])
                if not seen or seen[-1] != w:
                    seen.append(w)
                # the throttle column is set exactly while warming up
                self.assertEqual(s[i]["throttle"] != "", w != 100, "%s: %s\n%s" % (who, s[i], log))
            self.assertEqual(seen, RAMP, "%s ramp:\n%s" % (who, log))
            first = up[0][0]
            full = [s[0] for s in up if s[i]["weight"] == "100"][0]
            self.assertTrue(3.3 < full - first < 5.2, "%s took %.2fs to full weight:\n%s" % (who, full - first, log))
        # the same throttle values (6, 31, 56, 81 %) at the same weights
        pairs = {(s[i]["weight"], s[i]["throttle"]) for s in samples for i in (1, 2) if s[i]["status"] == "UP"}
        self.assertEqual(sorted(pairs, key=lambda p: int(p[0])),
                         [("7", "6"), ("32", "31"), ("57", "56"), ("82", "81"), ("100", "")], log)
        ends = [[s[0] for s in samples if s[i]["weight"] == "100" and s[i]["status"] == "UP"][0] for i in (1, 2)]
        self.assertLess(abs(ends[0] - ends[1]), 1.0, log)
        for t, h, r in samples:
            if h["status"] == "UP" and r["status"] == "UP":
                self.assertLessEqual(abs(RAMP.index(int(h["weight"])) - RAMP.index(int(r["weight"]))), 1,
                                     "%.2f: more than one step apart\n%s" % (t, log))
        # recheckd sends a growing share of the clients to the returning server, back to its full share
        got = [shares[str(w)] for w in RAMP[:-1] if str(w) in shares]
        self.assertGreaterEqual(len(got), 3, "%s\n%s" % (shares, log))
        self.assertEqual(got, sorted(got), shares)
        self.assertLess(got[0], full_share / 3, shares)
        self.assertEqual(share(), full_share)
        self.assertRegex(explain[0], r"warm-up: s3 slowstart 4s, [01]s in: weight 7 of 100 \(throttle 6%, step 1/16\), "
                                     r"100 of 1600 ring points")
        out = cli(rsock, "show pick pool 127.0.0.1")
        self.assertNotIn("warm-up:", out)
        self.assertIn("is UP, reason: end of slowstart", self.procs.log(self.rd))
        self.clean_exit(self.rd)

    def test_map_based_does_not_ramp(self):
        ns, ports, hsock, rsock = self.start_both("map-based")
        self.kill_and_restart(ns, ports, hsock, rsock)
        pick = []

        def until(samples):
            _, h, r = samples[-1]
            if r["throttle"] and not pick:
                pick.append(cli(rsock, "show pick pool 127.0.0.9"))
            warmed = [s for s in samples if s[1]["throttle"] and s[2]["throttle"]]
            return warmed and not samples[-1][1]["throttle"] and not samples[-1][2]["throttle"]

        samples = self.sample(hsock, rsock, until)
        log = "\n".join("%.2f haproxy %s %s/%s recheckd %s %s/%s" % (
            t, h["status"], h["weight"], h["throttle"], r["status"], r["weight"], r["throttle"]) for t, h, r in samples)
        for who, i in (("haproxy", 1), ("recheckd", 2)):
            warming = [s for s in samples if s[i]["throttle"]]
            self.assertTrue(warming, "%s never warmed up:\n%s" % (who, log))
            self.assertEqual({(s[i]["status"], s[i]["weight"], s[i]["throttle"]) for s in warming},
                             {("UP", "100", "100")}, "%s:\n%s" % (who, log))
            span = warming[-1][0] - warming[0][0]
            self.assertTrue(2.8 < span < 5.2, "%s warmed up for %.2fs:\n%s" % (who, span, log))
        self.assertTrue(pick and "map-based hashing is static: full weight 100" in pick[0], pick)
        self.clean_exit(self.rd)

    def test_maxconn_ramps_like_haproxy(self):
        holders = {k: Holder() for k in ("haproxy", "recheckd")}
        for h in holders.values():
            self.addCleanup(h.close)
        ports = {k: free_port() for k in holders}

        def conf(sock, k):
            return "\n".join([
                "global", "    stats socket %s mode 600 level admin" % sock, "defaults", "    mode tcp",
                "    timeout connect 5s", "    timeout client 20s", "    timeout server 20s", "listen pool",
                "    bind 127.0.0.1:%d" % ports[k], "    balance source",
                "    server s1 127.0.0.1:%d maxconn 4 slowstart 4s" % holders[k].port]) + "\n"

        _, hsock = self.start_haproxy(conf("unused", "haproxy").split("\n", 2)[2])
        rsock = self.path("recheckd.sock")
        p = self.procs.start([RECHECKD, "-f", self.write("recheckd.cfg", conf(rsock, "recheckd"))], "recheckd")
        wait_for(lambda: os.path.exists(rsock) or p.poll() is not None, 10, what="recheckd socket")
        self.assertIsNone(p.poll(), self.procs.log(p))
        got, socks, t0 = {}, {}, {}
        engines = (("haproxy", hsock), ("recheckd", rsock))
        for k, sock in engines:  # both at once: the warm-ups overlap, the test takes one of them
            cli(sock, "set server pool/s1 state maint")
            cli(sock, "set server pool/s1 state ready")
            t0[k] = time.monotonic()
            socks[k] = [client(ports[k], "c%d" % i) for i in range(5)]
        for k, sock in engines:
            # within the first two seconds of the warm-up the limit is max(1, 4 * 0 or 25 %) = 1
            wait_for(lambda: (row(sock, "s1")["scur"], row(sock, "s1")["qcur"]) == ("1", "4"), 5,
                     what="%s: one served, four queued (%s)" % (k, row(sock, "s1")))
            self.assertLess(time.monotonic() - t0[k], 2.0, "%s: too slow to see the first step" % k)
            r = row(sock, "s1")
            got[k] = (r["status"], r["weight"], r["throttle"], r["slim"])
        for k, sock in engines:
            wait_for(lambda: row(sock, "s1")["throttle"] == "", 8, what="%s: warm-up over" % k)
            first = holders[k].seen[0]
            holders[k].release(1)  # a session ends (its client closes too): the full limit serves every waiter
            self.assertEqual(harness.recv_until_eof(socks[k][int(first[1:])]), ("ok %s\n" % first).encode())
            socks[k][int(first[1:])].close()
            wait_for(lambda: (row(sock, "s1")["scur"], row(sock, "s1")["qcur"]) == ("4", "0"), 5,
                     what="%s: four served after the warm-up (%s)" % (k, row(sock, "s1")))
            wait_for(lambda: len(holders[k].seen) == 5, 5, what="%s: every client reached the server" % k)
            holders[k].release(4)
            for c in socks[k]:
                c.close()
        self.assertEqual(got["recheckd"], got["haproxy"])
        self.assertEqual(got["recheckd"], ("no check", "1", "100", "4"))  # status, weight, throttle, slim
        self.clean_exit(p)


if __name__ == "__main__":
    main()
