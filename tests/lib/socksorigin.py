"""A TCP origin that tells each client the address it sees, and a SOCKS5 CONNECT helper: with every
microsocks backend binding its outgoing connections to its own loopback address (-b), a client learns
which backend really relayed it, independently of recheckd's counters."""
import socket
import struct

from harness import free_port, wait_port, which
from tcpserver import TcpServer

# The health check both recheckd test files run against microsocks: the SOCKS5 greeting, no-auth chosen.
GREETING_RECIPE = """version: 1
name: socks5-greeting
kind: tcp
steps:
  - connect: {}
  - send-binary: "050100"
  - expect: {binary: "0500"}
"""


class Origin(TcpServer):
    """Answers every connection with the peer address it sees, then echoes."""

    def __init__(self):
        super().__init__(backlog=256, threaded=True)

    @staticmethod
    def serve(c, peer):
        try:
            c.sendall(peer[0].encode() + b"\n")
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()


def socks_connect(port, src, origin_port, timeout=5):
    """A SOCKS5 session from src through the listener to the origin. Returns (socket, backend ip)."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise AssertionError("no SOCKS5 method choice")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", origin_port))
    rep = b""
    while len(rep) < 10:
        d = s.recv(10 - len(rep))
        if not d:
            raise AssertionError("SOCKS5 reply cut short")
        rep += d
    if rep[1] != 0:
        raise AssertionError("SOCKS5 REP %d" % rep[1])
    line = b""
    while not line.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            break
        line += d
    return s, line.decode().strip()


def start_socks_backends(case, backends):
    """An Origin (closed at the end of the test) and one microsocks per backend, name -> the loopback
    address it binds its outgoing connections to, started by the test case's process list. Returns the
    Origin and {name: port} once every microsocks accepts."""
    origin = Origin()
    case.addCleanup(origin.close)
    ports = {}
    for name, ip in backends.items():
        ports[name] = free_port()
        case.procs.start([which("microsocks"), "-i", "127.0.0.1", "-p", str(ports[name]), "-b", ip], "ms-" + name)
    for port in ports.values():
        wait_port(port)
    return origin, ports
