#!/usr/bin/env python3
"""recheck from-pcap on captures as they come from the wild (issue 15), each written by
tests/gen/pcapgen.py: TCP carried in IPv4/IPv6 fragments (any order, duplicates, overlaps), labels from
the request form, recorded failures refused by one rule."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

GEN = os.path.join(harness.SRC, "tests", "gen", "pcapgen.py")


class Wild(harness.Case):
    def gen(self, conv, opts, name="c.pcap"):
        pcap = self.path(name)
        exp = self.path(name + ".json")
        r = subprocess.run([sys.executable, GEN, conv, "-o", pcap, "--expect", exp] + opts,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(exp) as f:
            return pcap, [(d, bytes.fromhex(h)) for d, h in json.load(f)]

    def turns(self, *args):
        r = self.recheck("from-pcap", "--turns", *args)
        self.assertRc(r, 0)
        out = []
        for ln in r.stdout.splitlines()[:-1]:
            _, who, _, hx = (ln.split(" ") + [""])[:4]
            out.append((who[0], bytes.fromhex(hx)))
        return out

    # --- class 1: IP fragments ------------------------------------------------------------------

    def test_ip_fragments_are_reassembled(self):
        for opts in ([], ["--ipv6"], ["--ipfrag-order", "reverse", "--ipfrag-dup"],
                     ["--ipv6", "--ipfrag-order", "last-first", "--ipfrag-dup", "--link", "sll2"],
                     ["--mss", "100", "--ooo", "--link", "null"]):
            with self.subTest(opts=" ".join(opts)):
                pcap, expect = self.gen("socks5-auth", ["--ipfrag", "16"] + opts)
                r = self.recheck("flows", pcap)
                self.assertRc(r, 0)
                self.assertIn("complete  SOCKS5", r.stdout)
                self.assertRegex(r.stdout, r"\d+ IP fragments: \d+ datagrams reassembled, 0 dropped")
                self.assertEqual(self.turns(pcap), expect)
                r = self.recheck("from-pcap", pcap)
                self.assertRc(r, 0)
                self.assertIn("protocol: socks5+http", r.stdout)

    def test_overlapping_fragments_drop_the_datagram(self):
        for opts in ([], ["--ipv6"]):
            with self.subTest(opts=" ".join(opts)):
                pcap, _ = self.gen("socks5", ["--ipfrag", "16", "--ipfrag-overlap"] + opts)
                r = self.recheck("flows", pcap)
                self.assertRc(r, 0)
                self.assertIn("overlaps another fragment of its datagram", r.stdout)
                self.assertIn("1 dropped or never completed", r.stdout)
                r = self.recheck("from-pcap", pcap)
                self.assertRc(r, 3)
                self.assertIn("RFC 5722", r.stderr)
                self.assertIn("could not be reassembled", r.stderr)

    # --- class 3: labels from the request form ------------------------------------------------------

    def test_origin_form_is_plain_http(self):
        pcap, _ = self.gen("http-origin", [])
        r = self.recheck("from-pcap", pcap)
        self.assertRc(r, 0)
        self.assertIn("protocol: http\n", r.stdout)
        self.assertIn("origin-form request-target (/generate_204): plain HTTP to the origin", r.stderr)
        pcap, _ = self.gen("http", [], name="p.pcap")
        r = self.recheck("from-pcap", pcap)
        self.assertRc(r, 0)
        self.assertIn("protocol: http-proxy\n", r.stdout)
        self.assertIn("absolute-form request-target", r.stderr)

    # --- class 7: a recorded failure is refused, one rule -------------------------------------------

    def test_recorded_failures_are_refused_with_the_answer(self):
        for conv, said in (("socks5-noacc", "05 FF"), ("socks5-authfail", "answered 01 01"),
                           ("socks5-refused", "REP 05 (connection refused)"),
                           ("connect-400", '"HTTP/1.1 400 Bad Request"')):
            with self.subTest(conv=conv):
                pcap, _ = self.gen(conv, [])
                out = self.path("r.yaml")
                r = self.recheck("from-pcap", pcap, "-o", out)
                self.assertRc(r, 1)
                self.assertIn("the recorded conversation failed, so it cannot become a check", r.stderr)
                self.assertIn(said, r.stderr)
                self.assertIn("record again", r.stderr)
                self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    harness.main()
