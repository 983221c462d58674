#!/usr/bin/env python3
"""recheck record when the proxy refuses (issue 15, classes 7 and 8): the proxy's answer is in the
message, exit 1, one rule for every refusal; the wrong protocol is named; no output file is written.
Real microsocks and tinyproxy on 127.0.0.1; needs root (live capture)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "record captures live traffic: run as root")


@NEED_ROOT
class RecordFailures(harness.Case):
    def record(self, proxy, url, *extra, rc):
        path = self.path("recipe.yaml")
        res = self.recheck("record", "--proxy", proxy, "--url", url, "-o", path, "--timeout", "5s", *extra,
                           timeout=30)
        self.assertRc(res, rc, "recheck record %s %s" % (proxy, url))
        self.assertFalse(os.path.exists(path))
        self.assertNotIn("0 packets, 0 bytes", res.stderr)
        return res

    def test_socks5_without_credentials_gets_the_answer_and_a_hint(self):
        o = self.start_origin()
        s = self.start_microsocks("bob", "pw")
        res = self.record("socks5h://127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn("05 FF", res.stderr)
        self.assertIn("requires a user name and password", res.stderr)

    def test_socks5_wrong_password_is_named(self):
        o = self.start_origin()
        s = self.start_microsocks("bob", "pw")
        res = self.record("socks5h://bob:nope@127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn("refused the RFC 1929 user name and password of user 'bob'", res.stderr)

    def test_connect_wrong_password_is_not_told_to_give_credentials(self):
        o = self.start_origin()
        t = self.start_tinyproxy("bob", "pw", connect_ports=(o,))
        res = self.record("http://bob:nope@127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o, "--tunnel",
                          rc=1)
        self.assertRegex(res.stderr, r'"HTTP/1\.[01] 40[17] ')  # tinyproxy says 401 to a bad CONNECT login
        self.assertIn("refused the credentials that were given", res.stderr)
        self.assertNotIn("give them", res.stderr)

    def test_forward_without_credentials_is_refused_with_the_status_line(self):
        o = self.start_origin()
        t = self.start_tinyproxy("bob", "pw", connect_ports=(o,))
        res = self.record("http://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn('"HTTP/1.0 407', res.stderr)
        self.assertIn("requires credentials", res.stderr)

    def test_wrong_protocol_is_named(self):
        o = self.start_origin()
        s = self.start_microsocks()
        t = self.start_tinyproxy(connect_ports=(o,))
        res = self.record("http://127.0.0.1:%d" % s, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn("socks5h://", res.stderr)
        # tinyproxy waits for the end of a request line that SOCKS bytes never bring: curl times out, and the
        # capture shows the greeting sent and nothing back
        res = self.record("socks5h://127.0.0.1:%d" % t, "http://127.0.0.1:%d/generate_204" % o, "--timeout", "1s",
                          rc=4)
        self.assertRegex(res.stderr, r"the proxy socks5h://127\.0\.0\.1:%d did not answer the SOCKS5 greeting: it "
                                     r"accepted the connection, got the \d+-byte greeting \(05 0\d( 0\d)+\) and sent "
                                     r"nothing back in \d+\.\d s \(curl: [^)]*timed out[^)]*\); it is probably an "
                                     r"HTTP proxy" % t)
        self.assertNotIn("0 packets, 0 bytes", res.stderr)
        self.assertIn("record with --proxy http://127.0.0.1:%d\n" % t, res.stderr)

    def test_hints_bracket_ipv6_addresses(self):
        o = self.start_origin()
        s = self.start_microsocks(host="::1")
        t = self.start_tinyproxy(connect_ports=(o,), host="::1")
        res = self.record("http://[::1]:%d" % s, "http://127.0.0.1:%d/generate_204" % o, rc=1)
        self.assertIn("it is a SOCKS proxy; record with --proxy socks5h://[::1]:%d\n" % s, res.stderr)
        res = self.record("socks5h://[::1]:%d" % t, "http://127.0.0.1:%d/generate_204" % o, "--timeout", "1s", rc=4)
        self.assertIn("did not answer the SOCKS5 greeting", res.stderr)
        self.assertIn("record with --proxy http://[::1]:%d\n" % t, res.stderr)
        self.assertNotIn("::1:%d" % t, res.stderr.replace("[::1]:%d" % t, ""))


if __name__ == "__main__":
    harness.main()
