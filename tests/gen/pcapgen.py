#!/usr/bin/env python3
"""pcapgen: writes pcap files of scripted TCP conversations, for recheck's reassembly tests.

Python 3 standard library only. Every byte of every test capture comes from this script (no hand-edited
binary blobs): the conversations are the ones curl has with a proxy, with realistic bytes, and the
options below bend the TCP layer the way real captures do.

  pcapgen.py CONV -o FILE [options]
  pcapgen.py --list

Conversations (CONV):
  socks5         curl --socks5 (local name resolution): greeting, CONNECT to an IPv4 target, GET /generate_204
  socks5h        curl --socks5-hostname: CONNECT with a domain name target
  socks5-auth    RFC 1929 username/password, then a domain CONNECT
  socks5-cut     socks5h, then a tunnelled GET cut inside its head (nothing answered)
  socks4         SOCKS4 CONNECT to an IPv4 target
  socks4a        SOCKS4a CONNECT with a host name
  http           an HTTP forward proxy GET (absolute URI)
  connect        HTTP CONNECT, then plain HTTP inside the tunnel
  connect-tls    HTTP CONNECT, then a TLS ClientHello inside the tunnel
  raw            an unknown protocol: a banner exchange
  http-origin    plain HTTP to an origin (origin-form), Cookie and Set-Cookie
  http-keepalive three GETs on one connection, the last answered 304
  http-post      a POST through a forward proxy
  socks5-auth-late  RFC 1929, CONNECT, GET: a capture that missed the greeting (with --no-handshake)
  tls            a bare TLS ClientHello / ServerHello
  connect-smtp   HTTP CONNECT, then an SMTP session that sends a mail
  connect-early  HTTP CONNECT whose 200 comes in one segment with the tunnel's first bytes (SSH)
  socks5-noacc, socks5-authfail, socks5-refused, connect-400   recorded failures

TCP options: --link, --ipv6, --isn-wrap, --mss, --ooo, --retrans, --overlap, --no-handshake, --gap,
--gap-last, --rst, --snaplen, --flows, --noise, --vlan. IP fragments: --ipfrag N, --ipfrag-order, --ipfrag-dup,
--ipfrag-overlap. File damage: --corrupt empty|magic|header|packet|reclen.
--expect FILE writes the turns recheck must reproduce (JSON: [[dir, hex], ...]) for the tests.
"""
import argparse
import json
import struct
import sys

T0 = 1700000000  # fixed capture start: output is byte-for-byte reproducible

DLT = {"en10mb": 1, "null": 0, "loop": 108, "sll": 113, "sll2": 276, "raw": 101, "ipv4": 228, "ipv6": 229}

HOST = b"origin.test"
UA = b"curl/7.88.1"


def http_get(target, host):
    return (b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: " + UA +
            b"\r\nAccept: */*\r\n\r\n")


RESP_204 = (b"HTTP/1.1 204 No Content\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            b"Server: origin/1.0\r\nContent-Length: 0\r\n\r\n")


def conversation(name):
    """The messages of a conversation: a list of (dir, bytes), dir 'c' (client) or 's' (server),
    and the server port."""
    get_rel = http_get(b"/generate_204", b"origin.test:8080")
    if name == "socks5":
        # curl built with GSS-API (Debian's) offers no-auth and GSS-API: 05 02 00 01
        return [("c", bytes([5, 2, 0, 1])), ("s", bytes([5, 0])),
                ("c", bytes([5, 1, 0, 1, 127, 0, 0, 1]) + struct.pack(">H", 8080)),
                ("s", bytes([5, 0, 0, 1, 127, 0, 0, 1]) + struct.pack(">H", 51234)),
                ("c", http_get(b"/generate_204", b"127.0.0.1:8080")), ("s", RESP_204)], 1080
    if name == "socks5h":
        return [("c", bytes([5, 2, 0, 1])), ("s", bytes([5, 0])),
                ("c", bytes([5, 1, 0, 3, len(HOST)]) + HOST + struct.pack(">H", 8080)),
                ("s", bytes([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])),
                ("c", get_rel), ("s", RESP_204)], 1080
    if name == "socks5-cut":
        # the capture stops inside the tunnelled request head (the rest of it, and the answer, were lost)
        return [("c", bytes([5, 2, 0, 1])), ("s", bytes([5, 0])),
                ("c", bytes([5, 1, 0, 3, len(HOST)]) + HOST + struct.pack(">H", 8080)),
                ("s", bytes([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])),
                ("c", get_rel[:30])], 1080
    if name == "socks5-auth":
        # with credentials curl adds user/password: 05 03 00 01 02
        return [("c", bytes([5, 3, 0, 1, 2])), ("s", bytes([5, 2])),
                ("c", bytes([1, 4]) + b"user" + bytes([6]) + b"s3cret"), ("s", bytes([1, 0])),
                ("c", bytes([5, 1, 0, 3, len(HOST)]) + HOST + struct.pack(">H", 8080)),
                ("s", bytes([5, 0, 0, 1, 10, 0, 0, 7]) + struct.pack(">H", 40001)),
                ("c", get_rel), ("s", RESP_204)], 1080
    if name == "socks4":
        return [("c", bytes([4, 1]) + struct.pack(">H", 8080) + bytes([127, 0, 0, 1]) + b"\0"),
                ("s", bytes([0, 0x5a]) + bytes(6)),
                ("c", http_get(b"/generate_204", b"127.0.0.1:8080")), ("s", RESP_204)], 1080
    if name == "socks4a":
        return [("c", bytes([4, 1]) + struct.pack(">H", 8080) + bytes([0, 0, 0, 1]) + b"\0" + HOST + b"\0"),
                ("s", bytes([0, 0x5a]) + bytes(6)),
                ("c", get_rel), ("s", RESP_204)], 1080
    if name == "http":
        req = (b"GET http://origin.test:8080/generate_204 HTTP/1.1\r\nHost: origin.test:8080\r\n"
               b"User-Agent: " + UA + b"\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n")
        resp = (b"HTTP/1.1 204 No Content\r\nVia: 1.1 tinyproxy (tinyproxy/1.11.1)\r\n"
                b"Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: origin/1.0\r\nContent-Length: 0\r\n\r\n")
        return [("c", req), ("s", resp)], 3128
    if name in ("connect", "connect-tls"):
        req = (b"CONNECT origin.test:8080 HTTP/1.1\r\nHost: origin.test:8080\r\nUser-Agent: " + UA +
               b"\r\nProxy-Connection: Keep-Alive\r\n\r\n")
        resp = b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"
        conv = [("c", req), ("s", resp)]
        if name == "connect":
            conv += [("c", get_rel), ("s", RESP_204)]
        else:
            hello = bytes([0x16, 3, 1, 0, 0x2f, 1, 0, 0, 0x2b, 3, 3]) + bytes(range(32)) + bytes([0, 0, 2, 0x13, 1, 1, 0])
            conv += [("c", hello)]
        return conv, 3128
    if name == "raw":
        return [("s", b"+OK hello\r\n"), ("c", b"PING\r\n"), ("s", b"+PONG\r\n")], 7000
    # --- captures as they come from the wild (issue 15) ---
    if name == "http-origin":
        # plain HTTP to an origin (origin-form), with a cookie both ways
        req = (b"GET /generate_204 HTTP/1.1\r\nHost: origin.test\r\nUser-Agent: " + UA +
               b"\r\nCookie: session=0123456789abcdef\r\n\r\n")
        resp = (b"HTTP/1.1 204 No Content\r\nSet-Cookie: session=fedcba9876543210; Path=/\r\n"
                b"Content-Length: 0\r\n\r\n")
        return [("c", req), ("s", resp)], 80
    if name == "http-keepalive":
        conv = []
        for i in range(3):
            req = (b"GET /page%d HTTP/1.1\r\nHost: origin.test\r\nUser-Agent: " % i + UA + b"\r\n" +
                   (b"If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT\r\n" if i == 2 else b"") + b"\r\n")
            if i == 2:
                resp = b"HTTP/1.1 304 Not Modified\r\nDate: Tue, 14 Nov 2023 22:13:21 GMT\r\n\r\n"
            else:
                resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            conv += [("c", req), ("s", resp)]
        return conv, 80
    if name == "http-post":
        body = b"name=value"
        req = (b"POST http://origin.test/form HTTP/1.1\r\nHost: origin.test\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
        return [("c", req), ("s", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")], 3128
    if name == "socks5-auth-late":
        # the capture starts after the greeting: RFC 1929 first, then CONNECT and HTTP (use --no-handshake)
        return [("c", bytes([1, 4]) + b"user" + bytes([6]) + b"s3cret"), ("s", bytes([1, 0])),
                ("c", bytes([5, 1, 0, 3, len(HOST)]) + HOST + struct.pack(">H", 8080)),
                ("s", bytes([5, 0, 0, 1, 10, 0, 0, 7]) + struct.pack(">H", 40001)),
                ("c", get_rel), ("s", RESP_204)], 1080
    if name == "tls":
        def record(hs_type, body):
            hs = bytes([hs_type]) + struct.pack(">I", len(body))[1:] + body
            return bytes([0x16, 3, 1 if hs_type == 1 else 3]) + struct.pack(">H", len(hs)) + hs
        hello = record(1, bytes([3, 3]) + bytes(range(32)) + bytes([0, 0, 2, 0x13, 1, 1, 0]))
        shello = record(2, bytes([3, 3]) + bytes(range(100, 132)) + bytes([0, 0x13, 1, 0]))
        return [("c", hello), ("s", shello)], 443
    if name == "connect-smtp":
        req = b"CONNECT mail.test:25 HTTP/1.1\r\nHost: mail.test:25\r\n\r\n"
        return [("c", req), ("s", b"HTTP/1.1 200 Connection established\r\n\r\n"),
                ("s", b"220 mx1.mail.test ESMTP Postfix\r\n"), ("c", b"EHLO client.test\r\n"),
                ("s", b"250-mx1.mail.test\r\n250 8BITMIME\r\n"), ("c", b"MAIL FROM:<a@client.test>\r\n"),
                ("s", b"250 2.1.0 Ok\r\n"), ("c", b"RCPT TO:<b@mail.test>\r\n"), ("s", b"250 2.1.5 Ok\r\n"),
                ("c", b"DATA\r\n"), ("s", b"354 End data with <CR><LF>.<CR><LF>\r\n"),
                ("c", b"Subject: hi\r\n\r\nhello\r\n.\r\n"), ("s", b"250 2.0.0 Ok: queued\r\n"),
                ("c", b"QUIT\r\n"), ("s", b"221 2.0.0 Bye\r\n")], 3128
    if name == "connect-early":
        # the proxy sends the tunnel's first bytes (an SSH banner) in the segment of its 200
        req = b"CONNECT ssh.test:22 HTTP/1.1\r\nHost: ssh.test:22\r\n\r\n"
        return [("c", req), ("s", b"HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
                ("c", b"SSH-2.0-OpenSSH_9.2p1\r\n"), ("s", bytes([0, 0, 1, 0x14, 10, 20]) + bytes(16))], 3128
    if name == "socks5-noacc":
        return [("c", bytes([5, 1, 0])), ("s", bytes([5, 0xff]))], 1080
    if name == "socks5-authfail":
        return [("c", bytes([5, 1, 2])), ("s", bytes([5, 2])),
                ("c", bytes([1, 4]) + b"user" + bytes([5]) + b"wrong"), ("s", bytes([1, 1]))], 1080
    if name == "socks5-refused":
        return [("c", bytes([5, 1, 0])), ("s", bytes([5, 0])),
                ("c", bytes([5, 1, 0, 1, 127, 0, 0, 1]) + struct.pack(">H", 8080)),
                ("s", bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]))], 1080
    if name == "connect-400":
        req = b"CONNECT origin.test:8080 HTTP/1.1\r\nHost: origin.test:8080\r\n\r\n"
        return [("c", req), ("s", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")], 3128
    raise SystemExit("pcapgen: unknown conversation %r (see --list)" % name)


CONVS = ["socks5", "socks5h", "socks5-cut", "socks5-auth", "socks4", "socks4a", "http", "connect", "connect-tls", "raw",
         "http-origin", "http-keepalive", "http-post", "socks5-auth-late", "tls", "connect-smtp", "connect-early",
         "socks5-noacc", "socks5-authfail", "socks5-refused", "connect-400"]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


class Endpoint:
    def __init__(self, addr, port, isn):
        self.addr, self.port, self.isn = addr, port, isn
        self.seq = isn  # next sequence number to send


class Gen:
    def __init__(self, a):
        self.a = a
        self.frames = []  # (ts_us, bytes)
        self.t = 0
        self.frag_id = 0x4000
        self.overlap_done = False
        if a.ipv6:
            self.caddr = bytes(15) + b"\1"
            self.saddr = bytes(15) + b"\1"
        else:
            self.caddr = bytes([127, 0, 0, 1])
            self.saddr = bytes([127, 0, 0, 1])

    def ip(self, src, dst, tcp):
        if self.a.ipv6:
            pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
            tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
            return struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + src + dst + tcp
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x1234, 0x4000, 64, 6, 0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + tcp

    def link(self, ip):
        k = self.a.link
        v6 = self.a.ipv6
        if k == "en10mb":
            et = struct.pack("!H", 0x86dd if v6 else 0x0800)
            vlan = struct.pack("!HH", 0x8100, 42) if self.a.vlan else b""
            return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + vlan + et + ip
        if k == "null":
            return struct.pack("<I", 30 if v6 else 2) + ip
        if k == "loop":
            return struct.pack(">I", 28 if v6 else 2) + ip
        if k == "sll":
            return struct.pack("!HHH8sH", 0, 772, 6, bytes(8), 0x86dd if v6 else 0x0800) + ip
        if k == "sll2":
            return struct.pack("!HHIHBB8s", 0x86dd if v6 else 0x0800, 0, 1, 772, 0, 6, bytes(8)) + ip
        return ip

    def seg(self, src, dst, flags, payload=b"", seq=None, ack=None, syn_opts=False):
        if syn_opts:  # MSS, SACK permitted, timestamps, NOP, window scale: what Linux sends
            opts = (struct.pack("!BBH", 2, 4, 65495) + bytes([4, 2, 8, 10]) + struct.pack("!II", 1000, 0) +
                    bytes([1, 3, 3, 7]))
        else:  # NOP NOP timestamps
            opts = bytes([1, 1, 8, 10]) + struct.pack("!II", 1000 + self.t, 1000)
        doff = (20 + len(opts)) // 4
        s = src.seq if seq is None else seq
        a = dst.seq if ack is None else ack
        tcp = struct.pack("!HHIIBBHHH", src.port, dst.port, s & 0xffffffff, a & 0xffffffff, doff << 4, flags,
                          65483, 0, 0) + opts + payload
        for pkt in self.fragments(self.ip(src.addr, dst.addr, tcp), len(payload)):
            self.emit(self.link(pkt))

    def fragments(self, pkt, plen):
        """The IP packet as sent: whole, or (--ipfrag N) as IP fragments of N payload bytes when it
        carries TCP data, bent by --ipfrag-order / --ipfrag-dup / --ipfrag-overlap."""
        a = self.a
        if not a.ipfrag or not plen:
            return [pkt]
        self.frag_id += 1
        if a.ipv6:
            hdr, body = pkt[:40], pkt[40:]
        else:
            hdr, body = pkt[:20], pkt[20:]
        size = max(8, a.ipfrag - a.ipfrag % 8)
        parts = [(o, body[o:o + size]) for o in range(0, len(body), size)]
        if len(parts) < 2:
            return [pkt]

        def frag(off, data, more):
            if a.ipv6:
                fh = struct.pack("!BBHI", 6, 0, off | (1 if more else 0), self.frag_id)
                return (struct.pack("!IHBB", 6 << 28, len(fh) + len(data), 44, 64) + hdr[8:40] + fh + data)
            h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), self.frag_id & 0xffff,
                            (0x2000 if more else 0) | (off // 8), 64, 6, 0, hdr[12:16], hdr[16:20])
            return h[:10] + struct.pack("!H", csum(h)) + h[12:] + data

        out = [frag(o, d, i + 1 < len(parts)) for i, (o, d) in enumerate(parts)]
        if a.ipfrag_order == "reverse":
            out.reverse()
        elif a.ipfrag_order == "last-first":
            out = out[-1:] + out[:-1]
        if a.ipfrag_dup:
            out.insert(2, out[1])  # an exact duplicate: ignored
        if a.ipfrag_overlap and not self.overlap_done and len(parts) >= 2:
            # Once: a fragment straddling the first two with other bytes (the teardrop/RFC 5722 case).
            self.overlap_done = True
            o = size - 8
            out.insert(1, frag(o, b"X" * 16, True))
        return out

    def emit(self, frame):
        self.t += 1
        self.frames.append((T0 * 1000000 + self.t * 1000, frame))

    def pieces(self, data):
        mss = self.a.mss
        return [(o, data[o:o + mss]) for o in range(0, len(data), mss)]

    def message(self, src, dst, data, may_gap):
        """Sends one message as segments, bent by the options; returns the bytes the capture lost."""
        a = self.a
        base = src.seq
        segs = self.pieces(data)
        if a.overlap and len(segs) >= 2:
            # Each later segment starts up to 3 bytes early, re-sending the end of the previous one.
            segs = [segs[0]] + [(o - min(3, a.mss - 1), data[o - min(3, a.mss - 1):o + len(p)])
                                for o, p in segs[1:]]
        order = list(range(len(segs)))
        if a.ooo and len(segs) >= 2:
            order[0], order[1] = order[1], order[0]
        dropped = None
        if may_gap and len(segs) >= 3:
            dropped = 1
        for i in order:
            if i == dropped:
                continue
            o, p = segs[i]
            self.seg(src, dst, 0x18, p, seq=base + o)
        if a.retrans:
            o, p = segs[0]
            self.seg(src, dst, 0x18, p, seq=base + o)
        src.seq = base + len(data)
        self.seg(dst, src, 0x10)  # the receiver acknowledges everything
        if dropped is not None:
            o, p = segs[dropped]
            return (o, o + len(p))
        return None

    def flow(self, idx, conv, sport):
        a = self.a
        cisn = 0xfffffff0 if a.isn_wrap else 1000000 + idx * 7919
        sisn = 0xffffff00 if a.isn_wrap else 2000000 + idx * 104729
        c = Endpoint(self.caddr, 40000 + idx, cisn)
        s = Endpoint(self.saddr, sport, sisn)
        expect = []
        if a.no_handshake:
            c.seq += 1
            s.seq += 1
        else:
            self.seg(c, s, 0x02, ack=0, syn_opts=True)
            c.seq += 1
            self.seg(s, c, 0x12, syn_opts=True)
            s.seq += 1
            self.seg(c, s, 0x10)
        gap_done = False
        for n, (d, data) in enumerate(conv):
            src, dst = (c, s) if d == "c" else (s, c)
            last_s = max(i for i, (dd, _) in enumerate(conv) if dd == "s")
            may_gap = (a.gap and not gap_done and d == "s") or (a.gap_last and n == last_s)
            lost = self.message(src, dst, data, may_gap)
            if expect and expect[-1][0] == d:
                expect[-1][1] += data
            else:
                expect.append([d, data])
            if lost:
                gap_done = True
                # What recheck keeps stops at the hole: it must refuse the flow, not deliver garbage.
                expect[-1][1] = expect[-1][1][:len(expect[-1][1]) - len(data) + lost[0]]
            if a.rst and d == "s":
                self.seg(s, c, 0x14)
                return expect, None
        self.seg(c, s, 0x11)
        c.seq += 1
        self.seg(s, c, 0x11)
        s.seq += 1
        self.seg(c, s, 0x10)
        return expect, None

    def noise(self):
        if self.a.link != "en10mb":
            return
        arp = bytes([0xff] * 6 + [2, 0, 0, 0, 0, 1]) + struct.pack("!H", 0x0806) + bytes(28)
        self.emit(arp)

    def pcap(self):
        a = self.a
        out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, a.snaplen, DLT[a.link])]
        for ts, f in self.frames:
            cap = f[:a.snaplen]
            out.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(cap), len(f)) + cap)
        data = b"".join(out)
        c = a.corrupt
        if c == "empty":
            return b""
        if c == "magic":
            return b"this is not a pcap file at all\n" + data[24:]
        if c == "header":
            return data[:10]
        if c == "packet":
            return data[:-7]
        if c == "reclen":
            return data + struct.pack("<IIII", T0 + 9, 0, 0x7fffffff, 0x7fffffff) + b"\0" * 16
        return data


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("conv", nargs="?", help="conversation (see --list)")
    ap.add_argument("-o", "--output", help="pcap file to write")
    ap.add_argument("--list", action="store_true", help="list the conversations")
    ap.add_argument("--link", choices=sorted(DLT), default="en10mb")
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--vlan", action="store_true", help="802.1Q tag (en10mb)")
    ap.add_argument("--isn-wrap", action="store_true", help="ISNs just below 2^32: sequence numbers wrap")
    ap.add_argument("--mss", type=int, default=1460, help="segment payload size")
    ap.add_argument("--ooo", action="store_true", help="swap the first two segments of each message")
    ap.add_argument("--retrans", action="store_true", help="retransmit the first segment of each message")
    ap.add_argument("--overlap", action="store_true", help="later segments re-send 3 bytes of the previous")
    ap.add_argument("--no-handshake", action="store_true", help="the capture starts after the handshake")
    ap.add_argument("--gap", action="store_true", help="the capture loses a middle segment of a server reply")
    ap.add_argument("--gap-last", action="store_true",
                    help="the capture loses a middle segment of the last server message")
    ap.add_argument("--rst", action="store_true", help="the server resets after its first reply")
    ap.add_argument("--snaplen", type=int, default=262144)
    ap.add_argument("--flows", type=int, default=1, help="repeat the conversation from N client ports")
    ap.add_argument("--stray-close", action="store_true",
                    help="first, the FIN/ACK tail of an earlier data-less connection to the server")
    ap.add_argument("--noise", action="store_true", help="add a non-IP frame (en10mb)")
    ap.add_argument("--ipfrag", type=int, default=0,
                    help="send each data segment as IP fragments of N payload bytes (rounded down to 8)")
    ap.add_argument("--ipfrag-order", choices=["in", "reverse", "last-first"], default="in")
    ap.add_argument("--ipfrag-dup", action="store_true", help="repeat the second fragment of each datagram")
    ap.add_argument("--ipfrag-overlap", action="store_true",
                    help="the first fragmented datagram gets a fragment overlapping two others (dropped)")
    ap.add_argument("--corrupt", choices=["empty", "magic", "header", "packet", "reclen"])
    ap.add_argument("--expect", help="write the expected turns of the first flow as JSON here")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CONVS))
        return 0
    if not a.conv or not a.output:
        ap.error("CONV and -o FILE are required")
    if a.mss < 1:
        ap.error("--mss must be at least 1")
    conv, sport = conversation(a.conv)
    g = Gen(a)
    if a.noise:
        g.noise()
    if a.stray_close:
        # The tail of an earlier connection to the server (a port probe that the server closes late):
        # its FIN and the last ACK, no handshake, no data, captured before the conversation.
        c = Endpoint(g.caddr, 39999, 5000)
        s = Endpoint(g.saddr, sport, 6000)
        g.seg(s, c, 0x11)
        s.seq += 1
        g.seg(c, s, 0x10)
    first = []
    for i in range(a.flows):
        exp, _ = g.flow(i, conv, sport)
        if i == 0:
            first = exp
    with open(a.output, "wb") as f:
        f.write(g.pcap())
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump([[d, b.hex()] for d, b in first], f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
