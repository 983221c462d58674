#!/usr/bin/env python3
"""Property (issue 15, class 5): every recipe `recheck from-pcap` builds from the golden captures, the
fuzz corpus captures, the samples and the wild conversations of tests/gen passes (exit 0, L7OK) against a
server that replays the recorded server turns: it reads as many bytes as each recorded client turn held,
then writes each recorded server turn as recorded (a turn is the segments one side sent back to back, so
early tunnel bytes that came with a CONNECT 200 come in the same write)."""
import glob
import os
import shlex
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

GEN = os.path.join(harness.SRC, "tests", "gen", "pcapgen.py")
WILD = ["http-origin", "http-keepalive", "socks5-auth-late --no-handshake", "tls", "connect-early",
        "socks5 --gap-last --mss 20", "socks5-auth --ipfrag 16"]
# what --redact needs to replay the recorded credentials
ENV = {"RECHECK_SOCKS_USER": "user", "RECHECK_SOCKS_PASS": "s3cret", "RECHECK_COOKIE": "session=0123456789abcdef"}


class Replayer:
    """A TCP server on 127.0.0.1 replaying the recorded turns to every connection."""

    def __init__(self, turns):
        self.turns = turns
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(5)
        try:
            for who, data in self.turns:
                if who == "s":
                    c.sendall(data)
                    continue
                got = 0
                while got < len(data):
                    b = c.recv(65536)
                    if not b:
                        return
                    got += len(b)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()
        self.t.join(2)


class ReplayRecorded(harness.Case):
    def captures(self):
        out = []
        with open(os.path.join(harness.SRC, "tests", "golden", "TESTLIST")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    cols = [c.strip() for c in line.split("|")]
                    out.append(("golden " + cols[0], cols[1], cols[2]))
        for w in WILD:
            out.append(("wild " + w, w, ""))
        for p in sorted(glob.glob(os.path.join(harness.SRC, "tests", "fuzz", "corpus", "pcap", "*.pcap")) +
                        glob.glob(os.path.join(harness.SRC, "samples", "pcap", "*.pcap"))):
            out.append((os.path.basename(p), p, ""))
        return out

    def turns_of(self, pcap, args):
        r = self.recheck("from-pcap", "--turns", pcap, *args)
        if r.returncode:
            return None
        out = []
        for ln in r.stdout.splitlines()[:-1]:
            _, who, _, hx = (ln.split(" ") + [""])[:4]
            out.append((who[0], bytes.fromhex(hx)))
        return out

    def test_every_recipe_passes_against_its_recorded_server(self):
        env = dict(os.environ, **ENV)
        checked = 0
        for name, src, args in self.captures():
            with self.subTest(capture=name):
                if os.path.isabs(src):
                    pcap = src
                else:
                    g = shlex.split(src)
                    pcap = self.path("c.pcap")
                    r = subprocess.run([sys.executable, GEN, g[0], "-o", pcap] + g[1:], capture_output=True,
                                       timeout=30)
                    self.assertEqual(r.returncode, 0, r.stderr)
                extra = shlex.split(args)
                for redact in ([], ["--redact"]):
                    out = self.path("r.yaml")
                    if os.path.exists(out):
                        os.unlink(out)
                    r = self.recheck("from-pcap", pcap, "-o", out, *(extra + redact))
                    if r.returncode != 0:
                        continue      # not a conversation a recipe is made from (damaged, gap, several)
                    pick = [a for a in extra if a != "--raw"]
                    turns = self.turns_of(pcap, pick)
                    if turns is None:
                        turns = self.turns_of(pcap, ["--stream", "1"] + pick)
                    self.assertIsNotNone(turns, name)
                    srv = Replayer(turns)
                    try:
                        r = self.recheck("replay", out, "--server", "127.0.0.1:%d" % srv.port, "--timeout", "3s",
                                         env=env)
                    finally:
                        srv.close()
                    with open(out) as f:
                        recipe = f.read()
                    self.assertRc(r, 0, "%s %s: the recipe fails against the recorded server\n%s" % (
                        name, " ".join(redact), recipe))
                    checked += 1
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    harness.main()
