#!/usr/bin/env python3
"""Parity with HAProxy 2.6: the same rules against the same scripted server (tests/fixtures/scriptsrv.c)
give the same status and description in a real haproxy (option log-health-checks) and in
`recheck replay`. Each case is one row of docs/haproxy-semantics.md §2.4-2.6 or §3."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


# name: (server script, rules); a rule is ("send", hex) or ("expect", kind, pattern, negate, min_recv)
TCP_CASES = {
    "substring": ("recv; send xxHELLOyy; hang", [("expect", "string", "HELLO", False, -1)]),
    "split": ("recv; send HEL; sleep 200; send LO; hang", [("expect", "string", "HELLO", False, -1)]),
    "mismatch_close": ("recv; send HEXYZ; close", [("expect", "string", "HELLO", False, -1)]),
    "mismatch_open": ("recv; send HEXYZ; hang", [("expect", "string", "HELLO", False, -1)]),
    "minrecv0": ("recv; send HEXYZ; hang", [("expect", "string", "HELLO", False, 0)]),
    "minrecv6": ("recv; send xxAB; sleep 200; send yy; hang", [("expect", "string", "AB", False, 6)]),
    "neg_open": ("recv; send OK; hang", [("expect", "string", "ERR", True, -1)]),
    "neg_min0": ("recv; send OKAY; hang", [("expect", "string", "ERR", True, 0)]),
    "neg_empty": ("recv; close", [("expect", "string", "ERR", True, -1)]),
    "consecutive": ("recv; send AAAABBBB; hang", [("expect", "string", "BBBB", False, -1),
                                                  ("expect", "string", "AAAA", False, -1)]),
    "send_clears": ("recv; send AAAA; recv; send BBBB; hang", [("expect", "string", "AAAA", False, -1),
                                                               ("send", "58"),
                                                               ("expect", "string", "AAAA", False, -1)]),
    "rbinary_lower": ("recv; sendhex 05ff00; close", [("expect", "rbinary", "^05ff", False, -1)]),
    "rbinary_upper": ("recv; sendhex 05ff00; hang", [("expect", "rbinary", "^05FF", False, -1)]),
    "binary_nul": ("recv; sendhex 6100ff0062; hang", [("expect", "binary", "00ff00", False, -1)]),
    "rstring_nul": ("recv; sendhex 7800790048454c4c4f; hang", [("expect", "rstring", "HEL+O", False, -1)]),
    "reset": ("recv; reset", [("expect", "string", "HELLO", False, -1)]),
    "flood": ("recv; junk 1048576; hang", [("expect", "string", "HELLO", False, -1)]),
    "flood_rbinary": ("recv; junk 1048576; hang", [("expect", "rbinary", "4$", False, -1)]),
    "chain_head": ("recv; send OK; sleep 200; send ERR; hang", [("expect", "string", "OK", False, -1),
                                                                ("expect", "string", "ERR", True, -1),
                                                                ("expect", "string", "END", False, -1)]),
    "send_only": ("hang", []),
    "dribble": ("recv; drip 30 HTTP/1.1 204 No Content\\r\\n\\r\\n; hang",
                [("expect", "rstring", "^HTTP/1\\.[01] 204", False, -1)]),
}

HTTP_CASES = {  # name: (server script, http-check expect kind, pattern)
    "http_204": ("recv; send HTTP/1.1 204 No Content\\r\\ncontent-length: 0\\r\\n\\r\\n; hang", "status", "204"),
    "http_404": ("recv; send HTTP/1.1 404 Not Found\\r\\ncontent-length: 0\\r\\n\\r\\n; hang", "status", "200-399"),
    "http_garbage": ("recv; send SSH-2.0-OpenSSH_9.2\\r\\n; hang", "status", "200-399"),
    "http_chunked": ("recv; send HTTP/1.1 200 OK\\r\\ntransfer-encoding: chunked\\r\\n\\r\\n6\\r\\nhello \\r\\n; "
                     "sleep 200; send 5\\r\\nworld\\r\\n0\\r\\n\\r\\n; hang", "string", "world"),
    "http_body_miss": ("recv; send HTTP/1.1 200 OK\\r\\ncontent-length: 5\\r\\n\\r\\nhello; hang", "string", "world"),
    "http_body_close": ("recv; send HTTP/1.0 200 OK\\r\\n\\r\\nhello; sleep 200; send  world; close", "rstring",
                        "o w"),
}


def haproxy_rule(rule):
    if rule[0] == "send":
        return "tcp-check send-binary %s" % rule[1]
    _, kind, pat, neg, min_recv = rule
    return "tcp-check expect %s%s%s %s" % ("min-recv %d " % min_recv if min_recv != -1 else "",
                                           "! " if neg else "", kind, pat.replace(" ", "\\ "))


def yaml_rule(rule):
    if rule[0] == "send":
        return '  - send-binary: "%s"' % rule[1]
    _, kind, pat, neg, min_recv = rule
    opts = ""
    if neg:
        opts += ", negate: true"
    if min_recv != -1:
        opts += ", min-recv: %d" % min_recv
    return '  - expect: {%s: "%s"%s}' % (kind, pat.replace("\\", "\\\\"), opts)


class Parity(harness.Case):
    def test_same_verdicts_as_haproxy(self):
        self.assertTrue(os.access(harness.SCRIPTSRV, os.X_OK), "build the fixtures first: %s" % harness.SCRIPTSRV)
        cfg = ["    log stdout format raw local0",
               "defaults", "    mode tcp", "    log global", "    option log-health-checks",
               "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
               "    timeout check 1s"]
        recipes = {}
        for name, (script, rules) in TCP_CASES.items():
            port = self.scriptsrv_port(script)
            rules = [("send", "50494e47")] + rules  # PING first, as every case's server reads first
            cfg += ["listen %s" % name, "    bind 127.0.0.1:%d" % harness.free_port(), "    option tcp-check"]
            cfg += ["    " + haproxy_rule(r) for r in rules]
            cfg.append("    server s 127.0.0.1:%d check inter 2s" % port)
            recipes[name] = (self.write(name + ".yaml", "version: 1\nname: %s\nkind: tcp\nsteps:\n%s\n" % (
                name, "\n".join(yaml_rule(r) for r in rules))), port)
        for name, (script, kind, pat) in HTTP_CASES.items():
            port = self.scriptsrv_port(script)
            cfg += ["listen %s" % name, "    bind 127.0.0.1:%d" % harness.free_port(),
                    "    option httpchk GET /x", "    http-check expect %s %s" % (kind, pat.replace(" ", "\\ ")),
                    "    server s 127.0.0.1:%d check inter 2s" % port]
            recipes[name] = (self.write(name + ".yaml", "version: 1\nname: %s\nkind: http\nrequest:\n"
                                        "  method: GET\n  uri: /x\nexpect:\n  - {%s: \"%s\"}\n" % (name, kind, pat)),
                             port)
        closed = harness.free_port()
        cfg += ["listen refused", "    bind 127.0.0.1:%d" % harness.free_port(), "    option tcp-check",
                "    tcp-check send PING", "    server s 127.0.0.1:%d check inter 2s" % closed]
        recipes["refused"] = (self.write("refused.yaml", "version: 1\nname: refused\nkind: tcp\nsteps:\n"
                                         "  - send: \"PING\"\n"), closed)

        hp, _ = self.start_haproxy("\n".join(cfg) + "\n")
        # recheck replay of every case, in parallel while haproxy runs its first checks
        runs = {name: subprocess.Popen([harness.RECHECK, "replay", path, "--server", "127.0.0.1:%d" % port,
                                        "--timeout", "1s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
                for name, (path, port) in recipes.items()}
        ours = {}
        for name, p in runs.items():
            out, err = p.communicate(timeout=20)
            m = re.match(r"(OK|FAIL) (\w+) [0-9.]+ms: ?(.*)", out)
            self.assertTrue(m, "%s: unexpected replay output:\n%s%s" % (name, out, err))
            ours[name] = (m.group(2), out.splitlines()[0])

        got = harness.haproxy_first_results(hp, len(recipes), 10)

        mismatches = []
        for name in recipes:
            st, info = got[name]
            if ours[name][0] != st:
                mismatches.append("%s: haproxy %s (%s), recheck: %s" % (name, st, info, ours[name][1]))
            elif ours[name][1].startswith("FAIL") and info and info not in ours[name][1]:
                mismatches.append("%s: haproxy info %r not in recheck's %r" % (name, info, ours[name][1]))
        self.assertEqual(mismatches, [], "\n".join(mismatches))


if __name__ == "__main__":
    harness.main()
