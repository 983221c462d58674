#!/usr/bin/env python3
"""make_corpus: (re)writes the seed corpora in tests/fuzz/corpus/<target>/ from the repository's own
samples, golden files and pcapgen.py conversations. Stdlib only; deterministic output.

  make_corpus.py RECHECK_BIN     (the built recheck binary, used for `recheck export`)
"""
import glob
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "gen"))
import pcapgen  # noqa: E402

CONVS = ["socks5", "socks5h", "socks5-auth", "socks4", "socks4a", "http", "connect", "connect-tls", "raw"]


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcaps():
    variants = [[], ["--link", "sll2", "--ipv6"], ["--ooo", "--retrans", "--mss", "64"],
                ["--no-handshake"], ["--gap"], ["--rst", "--overlap"], ["--snaplen", "80"],
                ["--link", "null", "--vlan"], ["--isn-wrap", "--link", "raw"], ["--corrupt", "reclen"]]
    out = os.path.join(HERE, "corpus", "pcap")
    os.makedirs(out, exist_ok=True)
    for i, conv in enumerate(CONVS):
        for j, opts in enumerate(variants):
            if (i + j) % 3:  # a spread of combinations, not all 90
                continue
            path = os.path.join(out, "%s%s.pcap" % (conv, "".join(o.replace("-", "_") for o in opts)))
            subprocess.run([sys.executable, os.path.join(SRC, "tests", "gen", "pcapgen.py"), conv, "-o",
                            path] + opts, check=True)
    for p in glob.glob(os.path.join(SRC, "samples", "pcap", "*.pcap")):
        with open(p, "rb") as f:
            put("pcap", "sample-" + os.path.basename(p), f.read())


def turns(conv):
    msgs, _port = pcapgen.conversation(conv)
    return msgs


def dissect():
    for conv in CONVS:
        for opt in (0, 2, 0x0c):
            b = bytes([opt])
            for d, data in turns(conv):
                b += bytes([0 if d == "c" else 1]) + struct.pack(">H", len(data)) + data
            put("dissect", "%s-%02x" % (conv, opt), b)


def http1():
    for conv in ("http", "connect", "socks5"):
        for d, data in turns(conv):
            if data[:4] in (b"GET ", b"CONN", b"HTTP"):
                put("http1", "%s-%s-%d" % (conv, d, len(data)), data)
    put("http1", "lf-only", b"GET / HTTP/1.0\nHost: a\n\n")
    put("http1", "resp-502", b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nX: \t y \r\n\r\n")


def recipes():
    files = glob.glob(os.path.join(SRC, "samples", "*.yaml")) + \
        glob.glob(os.path.join(SRC, "samples", "local", "*.yaml")) + \
        glob.glob(os.path.join(SRC, "tests", "golden", "*.yaml"))
    for p in sorted(files):
        with open(p, "rb") as f:
            data = f.read()
        if b"listeners:" in data:  # the recheckd sample
            put("conf", os.path.basename(p), data)
        else:
            put("recipe_yaml", os.path.basename(p), data)
    return [p for p in files if "recheckd" not in p]


def haproxy(bin_, recipe_files):
    for p in sorted(glob.glob(os.path.join(SRC, "tests", "golden", "*.haproxy"))):
        with open(p, "rb") as f:
            put("haproxy_import", os.path.basename(p) + ".cfg", b"backend b\n" + f.read())
    for p in recipe_files:
        for extra in ([], ["--legacy-httpchk"]):
            r = subprocess.run([bin_, "export", p, "--listen", "l", "--bind", "127.0.0.1:1080", "--server",
                                "s1=127.0.0.1:1081", "--inter", "2s", "--rise", "2", "--fall", "3"] + extra,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                put("haproxy_import", os.path.basename(p) + "".join(extra) + ".cfg", r.stdout)


def check():
    # see fuzz_check.c for the encoding
    def rule(c, payload=b""):
        return bytes([c, len(payload)]) + payload
    socks = bytes([4 << 1]) + rule(1, b"\x05\x01\x00") + rule(2 | 1 << 2, b"\x05\x00") + \
        rule(1, b"\x05\x01\x00\x01\x7f\x00\x00\x01\x1f\x90") + rule(2 | 2 << 2 | 1 << 5, b"^\x05\x00")
    ev = bytes([0, 0, 0, 2, b"\x05\x00"[0]]) + b"\x00" + bytes([0, 0, 10]) + b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50"
    put("check", "socks5-pass", socks + b"\x00\x00\x00\x02\x05\x00\x00\x00\x0a\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50")
    put("check", "socks5-eof", socks + b"\x00\x00\x00\x01\x05\x02")
    put("check", "socks5-refused", socks + b"\x03")
    put("check", "socks5-events", socks + ev)
    text = bytes([3 << 1]) + rule(0 | 1 << 3) + rule(1, b"PING\r\n") + rule(2, b"+PONG") + rule(2 | 3 << 2, b"^2B50")
    put("check", "tcp-text", text + b"\x00\x00\x01\x07+PONG\r\n\x00\x00\x01\x03xyz")
    http = bytes([1 | 3 << 1]) + rule(0, b"204") + rule(2 | 1 << 2, b"error") + rule(1, b"^2")
    put("check", "http-204", http + b"\x00\x00\x01\x26HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n\x02")
    put("check", "http-chunked", http + b"\x00\x00\x01\x40HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\x02")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pcaps()
    dissect()
    http1()
    rf = recipes()
    haproxy(sys.argv[1], rf)
    check()


if __name__ == "__main__":
    main()
