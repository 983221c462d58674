#!/usr/bin/env python3
"""Property (issue 15, class 5): every recipe `recheck from-pcap` builds from the golden captures, the
fuzz corpus captures, the samples and the wild conversations of tests/gen passes (exit 0, L7OK) against a
server that replays the recorded conversation with its recorded segmentation: it reads as many bytes as
each recorded client turn held, and writes each captured server segment as its own write, in capture
order (so early tunnel bytes that came in the segment of a CONNECT 200 come in that same write, and a
reply the capture shows in several segments arrives in several reads).

The segmentation comes from `recheck from-pcap --turns` (its last column: the payload length of each
captured segment of a turn). A write alone does not make a read: the kernel coalesces what the reader has
not read yet. So after each segment the server waits (bounded) until the segment has left its send queue
and the reader's receive queue is empty again (both read from /proc/net/tcp), or the reader is gone.

RECHECK_BIN (tests/lib/harness.py) runs the property against another recheck binary (an older build); an
older build may not print segments with --turns, so RECHECK_TURNS_BIN names the binary that reads the
segmentation (default: the same one)."""
import glob
import os
import shlex
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

GEN = os.path.join(harness.SRC, "tests", "gen", "pcapgen.py")
WILD = ["http-origin", "http-keepalive", "socks5-auth-late --no-handshake", "tls", "connect-early",
        "connect-early --mss 40", "socks5 --gap-last --mss 20", "socks5-auth --ipfrag 16", "connect --mss 24",
        "socks5h --mss 7"]
# what --redact needs to replay the recorded credentials
ENV = {"RECHECK_SOCKS_USER": "user", "RECHECK_SOCKS_PASS": "s3cret", "RECHECK_COOKIE": "session=0123456789abcdef"}
DRAIN_WAIT = 3.0        # seconds a segment may stay unread before the next is written anyway (counted)
ESTABLISHED = "01"


def tcp_queues(local_port, remote_port):
    """(state, tx_queue, rx_queue) of the IPv4 socket 127.0.0.1:local_port -> 127.0.0.1:remote_port, or
    None when the kernel no longer lists it."""
    want = "0100007F:%04X 0100007F:%04X" % (local_port, remote_port)
    with open("/proc/net/tcp") as f:
        for ln in f:
            cols = ln.split()
            if len(cols) > 4 and cols[1] + " " + cols[2] == want:
                tx, rx = cols[4].split(":")
                return cols[3], int(tx, 16), int(rx, 16)
    return None


class Replayer:
    """A TCP server on 127.0.0.1 replaying the recorded conversation to every connection, segment by
    segment."""

    def __init__(self, turns):
        self.turns = turns
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.segments = 0       # server segments written
        self.undrained = 0      # of which the reader had not read within DRAIN_WAIT
        self.confirmed = 0      # of which /proc/net/tcp showed the reader had read it before the next write
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def drained(self, c):
        """Waits until what was written left our send queue and the reader read it all."""
        peer = c.getpeername()[1]
        deadline = time.monotonic() + DRAIN_WAIT
        for _ in range(100000):
            ours, theirs = tcp_queues(self.port, peer), tcp_queues(peer, self.port)
            if theirs is None or theirs[0] != ESTABLISHED:
                return          # the reader closed: nothing more will be read
            if ours and ours[1] == 0 and theirs[2] == 0:
                self.confirmed += 1
                return
            if time.monotonic() > deadline:
                self.undrained += 1
                return
            time.sleep(0.0005)  # a poll interval, not a synchronisation

    def serve(self, c):
        c.settimeout(5)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for who, data, segs in self.turns:
                if who == "s":
                    off = 0
                    for n in segs:
                        c.sendall(data[off:off + n])
                        off += n
                        self.segments += 1
                        self.drained(c)
                    continue
                got = 0
                while got < len(data):
                    b = c.recv(65536)
                    if not b:
                        return
                    got += len(b)
            # like the recorded server (a proxy, an SSH server), stay up until the client closes: a recipe
            # that waits for bytes that will not come fails with L7TOUT, as against the real thing
            for _ in range(100000):
                if not c.recv(65536):
                    break
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.t.join(2)
        self.sock.close()


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
        r = subprocess.run([os.environ.get("RECHECK_TURNS_BIN", harness.RECHECK), "from-pcap", "--turns", pcap] +
                           list(args), capture_output=True, text=True, timeout=60)
        if r.returncode:
            return None
        out = []
        for ln in r.stdout.splitlines()[:-1]:
            _, who, n, hx, segs = ln.split(" ")
            data, segs = bytes.fromhex(hx), [int(x) for x in segs.split(",")]
            self.assertEqual((len(data), sum(segs)), (int(n), int(n)), ln)
            out.append((who[0], data, segs))
        return out

    def test_every_recipe_passes_against_its_recorded_server(self):
        env = dict(os.environ, **ENV)
        checked = segments = undrained = split = confirmed = 0
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
                turns = None
                out = self.path("r.yaml")
                for redact in ([], ["--redact"]):
                    if redact and os.stat(out).st_mode & 0o077:
                        break         # no recorded credentials (not 0600): --redact builds the same recipe
                    if os.path.exists(out):
                        os.unlink(out)
                    r = self.recheck("from-pcap", pcap, "-o", out, *(extra + redact))
                    if r.returncode != 0:
                        break         # not a conversation a recipe is made from (damaged, gap, several)
                    if turns is None:
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
                    segments += srv.segments
                    undrained += srv.undrained
                    confirmed += srv.confirmed
                    split += any(who == "s" and len(segs) > 1 for who, _, segs in turns)
                    with open(out) as f:
                        recipe = f.read()
                    self.assertRc(r, 0, "%s %s: the recipe fails against the recorded server\n%s" % (
                        name, " ".join(redact), recipe))
                    checked += 1
        sys.stderr.write("%d recipes, %d server segments written one by one (%d read before the next write; "
                         "%d with replies in several segments), %d not read within %.0f s\n" % (
                             checked, segments, confirmed, split, undrained, DRAIN_WAIT))
        self.assertGreater(checked, 20)
        self.assertGreater(split, 3)    # the segmentation is exercised, not only whole turns
        self.assertGreater(confirmed, segments // 2)    # and the wait for the reader works (/proc/net/tcp)


if __name__ == "__main__":
    harness.main()
