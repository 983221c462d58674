#!/usr/bin/env python3
"""Server names resolved late, through a local dnsmasq the test starts (a hosts file it rewrites, SIGHUP
to reload it), asked through `nameservers:`.

- A name that does not resolve at start does not fail the configuration: the server waits in
  "MAINT (resolution)" with a warning, and comes up when the name resolves.
- An address change is followed (resolve_interval).
- Without `nameservers:`, names go to the system's resolver (net_resolve_all(), as every other lookup of
  the project): "localhost" resolves to the first address getaddrinfo gives, a name that does not exist
  is reported once with the resolver's reason.
- The event loop keeps relaying while the resolver is slow: with a name server that never answers, every
  relayed request of a steady stream is answered at once (its slowest one is measured) while lookups are
  in flight (the silent name server counts them).
"""
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import lbparity  # noqa: E402
from harness import RECHECKD, free_port, main, wait_for, wait_port  # noqa: E402


class Dns(harness.Case):
    def start_recheckd(self, text, name):
        if os.geteuid() == 0:
            text = "allow_root: true\n" + text
        path = self.write(name + ".yaml", text)
        p = self.procs.start([RECHECKD, "-f", path, "-d"], name)
        wait_for(lambda: "ready" in self.procs.log(p) or p.poll() is not None, 15, what="recheckd ready")
        self.assertIsNone(p.poll(), "recheckd exited:\n" + self.procs.log(p))
        return p

    def servers(self, sport):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % sport, timeout=5) as r:
            return {s["name"]: s for s in json.loads(r.read())["listeners"][0]["servers"]}

    def start_dnsmasq(self, hosts):
        exe = harness.which("dnsmasq", "/usr/sbin")
        if not exe:
            self.fail("dnsmasq is not installed (apt-get install dnsmasq-base)")
        port = free_port()
        self.hosts = self.write("hosts", hosts)
        p = self.procs.start([exe, "-k", "-C", "/dev/null", "--port=%d" % port, "--listen-address=127.0.0.1",
                              "--bind-interfaces", "--no-resolv", "--no-hosts", "--addn-hosts=%s" % self.hosts,
                              "--local-ttl=0", "--log-facility=-", "-u", "root" if os.geteuid() == 0 else "nobody",
                              "--pid-file="], "dnsmasq")
        wait_for(lambda: "started" in self.procs.log(p) or p.poll() is not None, 10, what="dnsmasq started")
        self.assertIsNone(p.poll(), self.procs.log(p))
        return p, port

    def test_late_names_and_changes(self):
        pa, pb = free_port(), free_port()
        old = lbparity.NameServer(["alpha-old"], [pa], host="127.0.0.2")
        new = lbparity.NameServer(["alpha-new"], [pa], host="127.0.0.3")
        beta = lbparity.NameServer(["beta"], [pb], host="127.0.0.4")
        for ns in (old, new, beta):
            self.addCleanup(ns.stop)
        dns, dport = self.start_dnsmasq("127.0.0.2 alpha.test\n")
        lport, sport = free_port(), free_port()
        p = self.start_recheckd("\n".join([
            "threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % sport, "resolve_interval: 300ms",
            'nameservers: ["127.0.0.1:%d"]' % dport, "listeners:", "  - name: pool",
            '    bind: "127.0.0.1:%d"' % lport, "    servers:",
            '      - {name: alpha, address: "alpha.test:%d"}' % pa,
            '      - {name: beta, address: "beta.test:%d"}' % pb]) + "\n", "recheckd-dns")
        wait_port(sport)
        st = self.servers(sport)
        self.assertEqual(st["alpha"]["status"], "no check")  # resolved at start: up from the first client
        self.assertEqual(st["beta"]["status"], "MAINT (resolution)")
        self.assertIn("pool/beta: cannot resolve 'beta.test'", self.procs.log(p))
        addrs = lbparity.source_addresses(40, seed=3)
        self.assertEqual(set(lbparity.collect(lport, addrs)), {"alpha-old"})

        # the names change: beta appears, alpha moves
        with open(self.hosts, "w") as f:
            f.write("127.0.0.3 alpha.test\n127.0.0.4 beta.test\n")
        os.kill(dns.pid, signal.SIGHUP)
        wait_for(lambda: self.servers(sport)["beta"]["status"] == "no check", 10, what="beta up")
        wait_for(lambda: set(lbparity.collect(lport, addrs)) == {"alpha-new", "beta"}, 10,
                 what="clients reach the new alpha and beta")
        log = self.procs.log(p)
        self.assertIn("pool/alpha: 'alpha.test' now resolves to 127.0.0.3:%d (was 127.0.0.2:%d)" % (pa, pa), log)
        self.assertIn("Server pool/beta is leaving maintenance (address resolved)", log)

        # the name disappears: the last address is kept (HAProxy's behaviour)
        with open(self.hosts, "w") as f:
            f.write("127.0.0.4 beta.test\n")
        os.kill(dns.pid, signal.SIGHUP)
        wait_for(lambda: "cannot resolve 'alpha.test'" in self.procs.log(p).split("now resolves to 127.0.0.3")[-1],
                 10, what="alpha's failure logged")
        self.assertEqual(set(lbparity.collect(lport, addrs)), {"alpha-new", "beta"})

    def test_system_resolver(self):
        first = socket.getaddrinfo("localhost", None, socket.AF_UNSPEC, socket.SOCK_STREAM)[0]
        ns = lbparity.NameServer(["lo"])
        self.addCleanup(ns.stop)
        port = ns.ports["lo"]
        want = ("%s:%d" if first[0] == socket.AF_INET else "[%s]:%d") % (first[4][0], port)
        lport, sport = free_port(), free_port()
        p = self.start_recheckd("\n".join([
            "threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % sport, "listeners:", "  - name: pool",
            '    bind: "127.0.0.1:%d"' % lport, "    servers:",
            '      - {name: lo, address: "localhost:%d"}' % port,
            '      - {name: gone, address: "no-such-host.invalid:1"}']) + "\n", "recheckd-system")
        wait_port(sport)
        st = self.servers(sport)
        self.assertEqual(st["lo"]["status"], "no check")
        self.assertEqual(st["gone"]["status"], "MAINT (resolution)")
        log = self.procs.log(p)
        self.assertIn("pool/lo: 'localhost' resolves to %s" % want, log)
        # the resolver's reason, named once by the caller (not "cannot resolve ...: cannot resolve ...")
        line = [ln for ln in log.splitlines() if "pool/gone: cannot resolve 'no-such-host.invalid': " in ln]
        self.assertEqual(len(line), 1, log)
        self.assertEqual(line[0].count("cannot resolve"), 1, line[0])
        if first[0] == socket.AF_INET:  # the name server listens on 127.0.0.1 only
            self.assertEqual(lbparity.ask(lport, "127.0.0.1", 2.0), "lo")

    def test_slow_resolver_does_not_stall_relaying(self):
        # a name server that takes every query and never answers
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        queries = [0]
        stop = threading.Event()

        def count():
            silent.settimeout(0.2)
            while not stop.is_set():
                try:
                    silent.recv(1500)
                    queries[0] += 1
                except socket.timeout:
                    pass
                except OSError:
                    return
        t = threading.Thread(target=count, daemon=True)
        t.start()
        self.addCleanup(stop.set)
        ns = lbparity.NameServer(["ip"])
        self.addCleanup(ns.stop)
        lport, sport = free_port(), free_port()
        self.start_recheckd("\n".join([
            "threads: 1", 'stats: {bind: "127.0.0.1:%d"}' % sport, "resolve_interval: 200ms",
            'nameservers: ["127.0.0.1:%d"]' % silent.getsockname()[1], "listeners:", "  - name: pool",
            '    bind: "127.0.0.1:%d"' % lport, "    servers:",
            '      - {name: ip, address: "127.0.0.1:%d"}' % ns.ports["ip"],
            '      - {name: late, address: "never.test:1"}']) + "\n", "recheckd-slow")
        wait_port(sport)
        self.assertEqual(self.servers(sport)["late"]["status"], "MAINT (resolution)")
        q0 = queries[0]
        worst, n, t0 = 0.0, 0, time.monotonic()
        while time.monotonic() - t0 < 3.0:
            a = time.monotonic()
            self.assertEqual(lbparity.ask(lport, "127.0.0.1", 2.0), "ip")
            worst = max(worst, time.monotonic() - a)
            n += 1
        sys.stderr.write("%d requests relayed during slow lookups, slowest %.1f ms, %d queries unanswered\n" % (
            n, worst * 1000, queries[0] - q0))
        self.assertGreater(queries[0] - q0, 0, "no lookup was in flight: the test proves nothing")
        self.assertGreater(n, 50)
        self.assertLess(worst, 0.25)
        # the stats page (the main loop, where answers are applied) answers too
        a = time.monotonic()
        self.servers(sport)
        self.assertLess(time.monotonic() - a, 0.5)


if __name__ == "__main__":
    main()
