#!/usr/bin/env python3
"""Scenarios of HAProxy 2.6's health-check regression tests (reg-tests/checks: redis-check, pgsql-check,
smtp-check (with the QUIT exchange 2.6.12 added), tcp-check_min-recv, tcp-check_multiple_ports, http-check-expect, 4be_1srv_health_checks),
and the server keywords that move the check elsewhere (port, addr, socks4 + check-via-socks4 through a
real dante-server, on tcp-check and on HTTP checks, which speaks SOCKS4 and refuses with CD 5B what its `socks block` rules name),
check-send-proxy (v1, and v2 with send-proxy-v2) to servers behind a real haproxy `bind ... accept-proxy`,
rewritten here with our own scripted servers (tests/fixtures/scriptsrv.c) and our own expectations.

One configuration file holds every scenario as a `listen` section. It runs unchanged through:
  - the real haproxy 2.6 (option log-health-checks: the first result of each server),
  - `recheck import --section NAME` + `recheck replay` against the same server,
  - `recheckd -f` on the same file (each server's first check result in /stats.json),
and all three must agree on pass/fail and status, and on the failing step wherever HAProxy's log
names one ("at step N"; the protocol checks log the server's reply instead)."""
import json
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


HTTP200 = "recv; send HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n; hang"
HTTP500 = "recv; send HTTP/1.1 500 Internal\\r\\ncontent-length: 0\\r\\n\\r\\n; hang"

# name: (server script, section lines, expected HAProxy status). {port2} is a second server's port
# (SECOND below), {closed} a port that refuses connections.
SCENARIOS = {
    # redis-check.vtc: +PONG passes, an error reply is "Layer7 wrong status"
    "redis_ok": ("expect 14; send +PONG\\r\\n; close", ["option redis-check"], "L7OK"),
    "redis_err": ("expect 14; send -Error message\\r\\n; close", ["option redis-check"], "L7STS"),
    # pgsql-check.vtc: authentication ok passes; an error packet is an invalid response; anything else
    # a wrong status
    "pgsql_ok": ("expect 23; sendhex 520000000800000000; close", ["option pgsql-check user postgres"], "L7OK"),
    "pgsql_err": ("expect 23; sendhex 450000000B53464154414C00; close", ["option pgsql-check user postgres"],
                  "L7RSP"),
    "pgsql_other": ("expect 23; send Not a PostgreSQL response; close", ["option pgsql-check user postgres"],
                    "L7STS"),
    # smtp-check.vtc: greeting, HELO/EHLO, 250 (multi-line too); a non-SMTP banner, 421 and 512 fail
    "smtp_ok": ("send 220 smtp-check SMTP Server\\r\\n; expect 16; send 250 smtp-check\\r\\n; expect 6; send 221 bye\\r\\n; close",
                ["option smtpchk"], "L7OK"),
    "smtp_ehlo": ("send 220 smtp-check SMTP Server\\r\\n; expect 17; send 250-smtp-check\\r\\n; "
                  "send 250-KEYWORD\\r\\n; send 250 LAST KEYWORD\\r\\n; expect 6; send 221 bye\\r\\n; close",
                  ["option smtpchk EHLO domain.tld"], "L7OK"),
    "smtp_notsmtp": ("send I'm not a SMTP server\\r\\n; close", ["option smtpchk"], "L7RSP"),
    "smtp_421": ("send 421 Try again later\\r\\n; close", ["option smtpchk"], "L7STS"),
    "smtp_512": ("send 220 smtp-check SMTP Server\\r\\n; expect 16; send 512 DNS error\\r\\n; close",
                 ["option smtpchk EHLO domain.tld"], "L7STS"),
    # smtp-check against servers that stay open (2.6.12's expansion: the EHLO rule takes the whole
    # multi-line reply, then QUIT and a 2xx): a 221 passes; no answer to QUIT times out, also when the
    # EHLO reply came in pieces (its last lines are not QUIT's reply)
    "smtp_open": ("send 220 smtp-check SMTP Server\\r\\n; expect 16; send 250 smtp-check\\r\\n; expect 6; "
                  "send 221 bye\\r\\n; hang", ["option smtpchk"], "L7OK"),
    "smtp_noquit": ("send 220 smtp-check SMTP Server\\r\\n; expect 17; send 250-smtp-check\\r\\n; "
                    "sleep 20; send 250-KEYWORD\\r\\n; sleep 20; send 250 LAST KEYWORD\\r\\n; hang",
                    ["option smtpchk EHLO domain.tld"], "L7TOUT"),
    # tcp-check_min-recv.vtc: a negative regex with no min-recv waits on "valid" (no match is not final
    # while the connection is open) and times out at its step; with min-recv 5 it concludes on "valid"
    # and the check passes. A full buffer or the peer's close ends the wait: the rule then passes.
    "minrecv_none": ("send valid; hang",
                     ["option tcp-check", "tcp-check connect",
                      "tcp-check expect !rstring ^error comment negative\\ check",
                      "tcp-check expect string valid comment positive\\ check",
                      "tcp-check send 0123456789", "tcp-check expect string valid"], "L7TOUT"),
    "minrecv_full": ("junk 20000; hang", ["option tcp-check", "tcp-check connect", "tcp-check expect !rstring ^error"],
                     "L7OK"),
    "minrecv_closed": ("send valid; close",
                       ["option tcp-check", "tcp-check expect !rstring ^error",
                        "tcp-check expect string valid", "tcp-check send 0123456789",
                        "tcp-check expect string valid"], "L7RSP"),
    "minrecv_5": ("send valid; expect 10; send valid; hang",
                  ["option tcp-check", "tcp-check connect",
                   "tcp-check expect min-recv 5 !rstring ^error comment negative\\ check",
                   "tcp-check expect string valid comment positive\\ check",
                   "tcp-check send 0123456789", "tcp-check expect string valid"], "L7OK"),
    # tcp-check_multiple_ports.vtc: connect rules to other ports; a refused one fails at its step
    "ports_ok": ("recv; send OK1; hang",
                 ["option tcp-check", "tcp-check connect", "tcp-check send A", "tcp-check expect string OK1",
                  "tcp-check connect port {port2}", "tcp-check send B", "tcp-check expect string OK2"], "L7OK"),
    "ports_refused": ("recv; send OK1; hang",
                      ["option tcp-check", "tcp-check connect", "tcp-check send A",
                       "tcp-check expect string OK1", "tcp-check connect port {closed}", "tcp-check send B"],
                      "L4CON"),
    # the server's `port`: the check goes to another port than the traffic (here a refused one)
    "server_port": (None, ["option tcp-check", "tcp-check send A", "tcp-check expect string OK2",
                           "#server-extra port {port2}"], "L7OK"),
    # the server's `addr`: the checks go to another address (here the same host's second listener, on
    # addr's port), never to the server's own port, which answers otherwise
    "server_addr": ("recv; send BAD; hang", ["option tcp-check", "tcp-check send A", "tcp-check expect string OK2",
                                             "#server-extra addr 127.0.0.1:{port2}"], "L7OK"),
    # addr without a port: the server's port on addr's host; the server's own host (127.0.0.2) refuses,
    # so only a check that went to addr (127.0.0.1) passes
    "server_addr_ip": ("recv; send OK2; hang", ["option tcp-check", "tcp-check send A", "tcp-check expect string OK2",
                                                "#server-host 127.0.0.2", "#server-extra addr 127.0.0.1"], "L7OK"),
    # socks4 + check-via-socks4 through a real dante: the proxy's 8-byte reply is consumed (the banner
    # expect anchors at ^), a connect-only check passes at L4, and a request dante refuses (5B) is
    # HAProxy's socket error "SOCKS4 Proxy deny the request"
    "socks4_ok": ("send 220 socks4-check\\r\\n; hang", ["option tcp-check", "tcp-check expect rstring ^220",
                                                   "#server-extra socks4 {socks4} check-via-socks4"], "L7OK"),
    "socks4_connect_only": ("hang", ["#server-extra socks4 {socks4} check-via-socks4"], "L4OK"),
    "socks4_deny": ("send 220 socks4-check\\r\\n; hang", ["option tcp-check", "tcp-check expect rstring ^220",
                                                     "#server-extra socks4 {socks4} check-via-socks4"], "SOCKERR"),
    # socks4 alone carries the traffic only: the check goes direct (to a port dante would refuse)
    "socks4_traffic_only": ("send 220 socks4-check\\r\\n; hang",
                            ["option tcp-check", "tcp-check expect rstring ^220", "#server-extra socks4 {socks4}"],
                            "L7OK"),
    # the same server keywords on HTTP checks (the recipe's top-level connect): the server's own port
    # answers 500, the check goes where port / addr send it (a second server answering 200), or through
    # dante, which refuses (5B) the port of http_socks4_deny
    "http_port": (HTTP500, ["option httpchk GET /", "#server-extra port {http200}"], "L7OK"),
    "http_addr": (HTTP500, ["option httpchk GET /", "#server-extra addr 127.0.0.1:{http200}"], "L7OK"),
    # the same through HAProxy's own rule, which export writes: `http-check connect`, its port winning
    "http_connect_rule": (HTTP500, ["option httpchk GET /", "http-check connect port {http200} linger",
                                    "#server-extra port {port2}"], "L7OK"),
    "http_addr_ip": (HTTP200, ["option httpchk GET /", "http-check expect status 200", "#server-host 127.0.0.2",
                               "#server-extra addr 127.0.0.1"], "L7OK"),
    "http_socks4_ok": (HTTP200, ["option httpchk GET /", "#server-extra socks4 {socks4} check-via-socks4"], "L7OK"),
    "http_socks4_deny": (HTTP200, ["option httpchk GET /", "#server-extra socks4 {socks4} check-via-socks4"],
                         "SOCKERR"),
    # check-send-proxy: the servers sit behind a real haproxy `bind ... accept-proxy` (FRONTS below), which
    # relays only after a valid PROXY header; HAProxy's check header is v1 UNKNOWN, v2 LOCAL with
    # send-proxy-v2. Without check-send-proxy the front waits for a header that never comes (a timeout),
    # or resets a request that is not one (HAProxy 2.6.12: a socket error)
    "pp_v1": ("@pp_tcp", ["option tcp-check", "tcp-check expect rstring ^220", "#server-extra check-send-proxy"], "L7OK"),
    "pp_v2": ("@pp_tcp", ["option tcp-check", "tcp-check expect rstring ^220",
                          "#server-extra send-proxy-v2 check-send-proxy"], "L7OK"),
    "pp_default": ("@pp_tcp", ["option tcp-check", "tcp-check connect default", "tcp-check expect rstring ^220",
                               "#server-extra check-send-proxy"], "L7OK"),
    "pp_none": ("@pp_tcp", ["option tcp-check", "tcp-check expect rstring ^220"], "L7TOUT"),
    # HAProxy's per-rule header: `tcp-check connect send-proxy`, in the server's version (v1 here)
    "pp_rule": ("@pp_tcp", ["option tcp-check", "tcp-check connect send-proxy", "tcp-check expect rstring ^220"],
                "L7OK"),
    "http_pp_v1": ("@pp_http", ["option httpchk GET /", "#server-extra check-send-proxy"], "L7OK"),
    "http_pp_v2": ("@pp_http", ["option httpchk GET /", "#server-extra check-send-proxy send-proxy-v2"], "L7OK"),
    "http_pp_none": ("@pp_http", ["option httpchk GET /"], "SOCKERR"),
    # 4be_1srv_health_checks.vtc: a connect-only check, with and without option tcp-check, and refused
    "connect_only": ("hang", ["option tcp-check"], "L4OK"),
    "plain_check": ("hang", [], "L4OK"),
    "plain_refused": (None, [], "L4CON"),
    # http-check-expect.vtc: status lists and a wrong status
    "http_status": ("recv; send HTTP/1.1 203 Non-Authoritative\\r\\ncontent-length: 0\\r\\n\\r\\n; hang",
                    ["option httpchk", "http-check send meth GET uri /x ver HTTP/1.1 hdr Host example",
                     "http-check expect status 200-202,203"], "L7OK"),
    "http_wrong": ("recv; send HTTP/1.1 503 Busy\\r\\ncontent-length: 0\\r\\n\\r\\n; hang",
                   ["option httpchk GET /x", "http-check expect status 200"], "L7STS"),
    "http_body": ("recv; send HTTP/1.1 200 OK\\r\\ncontent-length: 11\\r\\n\\r\\nhello world; hang",
                  ["option httpchk GET /x", "http-check expect ! string error"], "L7OK"),
    # http-check-expect.vtc's header rules: name methods, comma-list values, fhdr's whole value
    "http_hdr": ("recv; send HTTP/1.1 202 Accepted\\r\\nx-test1: true, next value\\r\\n"
                 "x-test2: true, begin-value, value-end, value-sub-string, value-reg-123ABC\\r\\n"
                 "x-begin-test: 1\\r\\nx-test-end: 1\\r\\nx-sub-test: 1\\r\\nx-reg-test1: 1\\r\\n"
                 "content-length: 0\\r\\n\\r\\n; hang",
                 ["option httpchk", "http-check expect hdr name x-test1",
                  "http-check expect hdr name -m str X-Test2",
                  "http-check expect hdr name -m beg X-Begin-", "http-check expect hdr name -m end -End",
                  "http-check expect hdr name -m sub -Sub-",
                  "http-check expect hdr name -m reg ^[a-z]+-reg-[a-z]+[0-9]$",
                  "http-check expect fhdr name x-test1 value \"true, next value\"",
                  "http-check expect fhdr name x-test1 value -m sub \"e, n\"",
                  "http-check expect hdr name x-test2 value -m str true",
                  "http-check expect hdr name x-test2 value -m beg begin-",
                  "http-check expect hdr name x-test2 value -m end -end",
                  "http-check expect hdr name x-test2 value -m sub -sub-",
                  "http-check expect hdr name x-test2 value -m reg ^value-reg-[A-Z0-9]+$",
                  "http-check expect ! hdr name x-absent",
                  "http-check expect ! hdr name x-test1 value \"true, next value\""], "L7OK"),
    # a comma-list element never matches across the comma; the failing rule is a wrong status
    "http_hdr_list": ("recv; send HTTP/1.1 200 OK\\r\\nx-test1: true, next value\\r\\ncontent-length: 0\\r\\n\\r\\n; hang",
                      ["option httpchk", "http-check expect hdr name x-test1",
                       "http-check expect hdr name x-test1 value \"true, next value\""], "L7STS"),
    "http_hdr_missing": ("recv; send HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n; hang",
                         ["option httpchk", "http-check expect status 200", "http-check expect hdr name x-test1"],
                         "L7STS"),
}
SECOND = "recv; send OK2; hang"
# the servers of the check-send-proxy scenarios ("@name"), each behind a haproxy accept-proxy listener
FRONTS = {"pp_tcp": "send 220 pp-check\\r\\n; hang", "pp_http": HTTP200}

STEP = re.compile(r"at step (\d+)")


class RegtestChecks(harness.Case):
    def dante_socks4(self, blocked):
        """A real dante-server accepting SOCKS4 from 127.0.0.0/8, refusing (CD 5B) connects to the
        ports in blocked. Returns its port."""
        exe = harness.which("danted", "/usr/sbin")
        self.assertTrue(exe, "danted is not installed (apt-get install dante-server)")
        port = harness.free_port()
        rules = "".join("socks block { from: 127.0.0.0/8 to: 127.0.0.1/32 port = %d }\n" % b for b in blocked)
        conf = self.write("danted-s4.conf", "logoutput: stderr\ninternal: 127.0.0.1 port = %d\n"
                          "external: 127.0.0.1\nsocksmethod: none\nclientmethod: none\n"
                          "user.privileged: root\nuser.unprivileged: nobody\n"
                          "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n%s"
                          "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n" % (port, rules))
        self.procs.start([exe, "-f", conf, "-N", "1", "-p", self.path("danted-s4.pid")], "danted")
        harness.wait_port(port)
        return port

    def accept_proxy_fronts(self):
        """A real haproxy with one `bind ... accept-proxy` listener per FRONTS server. Returns name: port."""
        ports, body = {}, ["defaults", "    mode tcp", "    timeout connect 1s", "    timeout client 5s",
                           "    timeout server 5s"]
        for name, script in FRONTS.items():
            ports[name] = harness.free_port()
            body += ["listen %s" % name, "    bind 127.0.0.1:%d accept-proxy" % ports[name],
                     "    server b 127.0.0.1:%d" % self.scriptsrv_port(script)]
        self.start_haproxy("\n".join(body) + "\n", "front")
        for port in ports.values():
            harness.wait_port(port)
        return ports

    def test_scenarios(self):
        self.assertTrue(os.access(harness.SCRIPTSRV, os.X_OK), "build the fixtures first: %s" % harness.SCRIPTSRV)
        port2 = self.scriptsrv_port(SECOND)
        http200 = self.scriptsrv_port(HTTP200)
        closed = harness.free_port()
        stats_port = harness.free_port()
        fronts = self.accept_proxy_fronts()
        ports = {name: fronts[script[1:]] if script and script.startswith("@") else
                 self.scriptsrv_port(script) if script else closed for name, (script, _, _) in SCENARIOS.items()}
        socks4 = "127.0.0.1:%d" % self.dante_socks4([ports["socks4_deny"], ports["socks4_traffic_only"],
                                                     ports["http_socks4_deny"]])
        host = {name: next((ln.split()[1] for ln in lines if ln.startswith("#server-host ")), "127.0.0.1")
                for name, (_, lines, _) in SCENARIOS.items()}
        cfg = ["global", "    log stdout format raw local0",
               "defaults", "    mode tcp", "    log global", "    option log-health-checks", "    balance source",
               "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s", "    timeout check 1s",
               "listen stats", "    bind 127.0.0.1:%d" % stats_port, "    mode http", "    stats enable",
               "    stats uri /"]
        for name, (script, lines, _) in SCENARIOS.items():
            cfg += ["listen %s" % name, "    bind 127.0.0.1:%d" % harness.free_port()]
            cfg += ["    " + ln.format(port2=port2, closed=closed, http200=http200) for ln in lines
                    if not ln.startswith("#")]
            extra = "".join(" " + ln[len("#server-extra "):].format(port2=port2, socks4=socks4, http200=http200)
                            for ln in lines
                            if ln.startswith("#server-extra "))
            cfg.append("    server s %s:%d check inter 3s rise 1 fall 1%s" % (host[name], ports[name], extra))
        path = self.write("regtests.cfg", "\n".join(cfg) + "\n")

        # recheck import + replay, one section at a time
        ours = {}
        for name in SCENARIOS:
            res = self.recheck("import", path, "--section", name, "-o", self.path(name + ".yaml"))
            self.assertRc(res, 0, name)
            # replay connects where the server line says; the recipe's connect rules carry `port`
            res = self.recheck("replay", self.path(name + ".yaml"), "--server", "%s:%d" % (host[name], ports[name]),
                               "--timeout", "1s", timeout=30)
            m = re.match(r"(OK|FAIL) (\w+) [0-9.]+ms: ?(.*)", res.stdout)
            self.assertTrue(m, "%s: replay said:\n%s%s" % (name, res.stdout, res.stderr))
            ours[name] = (m.group(2), m.group(3))

        # the real haproxy: the first logged result of each server
        hp = self.procs.start([harness.which("haproxy"), "-db", "-f", path], "haproxy")
        haproxy = harness.haproxy_first_results(hp, len(SCENARIOS), 15)
        self.procs.stop(hp)

        # recheckd on the same file: the first result of each server in /stats.json
        p = self.procs.start([harness.RECHECKD, "-f", path], "recheckd")
        harness.wait_port(stats_port)

        def daemon():
            with urllib.request.urlopen("http://127.0.0.1:%d/stats.json" % stats_port, timeout=5) as r:
                doc = json.loads(r.read())
            got = {}
            for li in doc["listeners"]:
                ck = li["servers"][0]["check"]
                if ck["status"] not in ("INI", "UNK", "") and (ck["counts"]["passed"] + ck["counts"]["failed"]) >= 1:
                    got[li["name"]] = (ck["status"], ck["description"] or "")
            return got if len(got) == len(SCENARIOS) else None
        recheckd = harness.wait_for(daemon, 15, interval=0.2, what="recheckd: a check result for every server")
        self.assertIsNone(p.poll(), harness.Procs.log(p))

        problems = []
        for name, (_, _, want) in SCENARIOS.items():
            hst, hinfo = haproxy[name]
            if hst != want:
                problems.append("%s: haproxy %s (%s), the scenario expects %s" % (name, hst, hinfo, want))
            for who, (st, desc) in (("replay", ours[name]), ("recheckd", recheckd[name])):
                if st != hst:
                    problems.append("%s: haproxy %s (%s), %s %s (%s)" % (name, hst, hinfo, who, st, desc))
                hs, os_ = STEP.search(hinfo), STEP.search(desc)
                if hs and (not os_ or hs.group(1) != os_.group(1)):
                    problems.append("%s: haproxy fails at step %s (%s), %s: %s" % (name, hs.group(1), hinfo, who,
                                                                                  desc))
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    harness.main()
