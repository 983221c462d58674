#!/usr/bin/env python3
"""A scripted peer for the seed's two checks (tests/fixtures/seed-sections.cfg), one kind per process:

  socks5-ok   answers the SOCKS5 greeting, a CONNECT with the reply the seed expects byte for byte
              (05 00 00 01 0.0.0.0:1717), then the tunnelled GET with a 204
  socks5-bad  answers the greeting, then refuses the CONNECT (05 01)
  http-ok     answers the proxied GET with 204
  http-bad    answers it with 502

A connection that sends nothing for 150 ms is a relayed client (the balancing probe): it gets the kind
and a newline, then the close. Prints "listening PORT" once bound; exits after 10 minutes at most."""
import socket
import sys
import threading
import time

from harness import recv_exact


def read_until(conn, marker, limit=65536):
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def serve(conn, kind):
    try:
        conn.settimeout(0.15)
        try:
            first = conn.recv(4096)
        except socket.timeout:
            conn.sendall((kind + "\n").encode())
            return
        conn.settimeout(5)
        if kind.startswith("socks5"):
            # greeting 05 NMETHODS METHODS...
            while len(first) < 2 or len(first) < 2 + first[1]:
                more = conn.recv(4096)
                if not more:
                    return
                first += more
            conn.sendall(b"\x05\x00")
            req = recv_exact(conn, 5)
            if len(req) < 5:
                return
            rest = recv_exact(conn, req[4] + 2) if req[3] == 3 else recv_exact(conn, {1: 4, 4: 16}.get(req[3], 0) + 1)
            if not rest:
                return
            if kind == "socks5-bad":
                conn.sendall(bytes.fromhex("05010001000000000000"))
                return
            conn.sendall(bytes.fromhex("050000010000000006b5"))
            read_until(conn, b"\r\n\r\n")
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            if b"\r\n\r\n" not in first:
                first += read_until(conn, b"\r\n\r\n")
            if kind == "http-ok":
                conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
        time.sleep(0.05)
    except OSError:
        pass  # checks close with RST
    finally:
        conn.close()


def main():
    kind = sys.argv[1]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(256)
    ls.settimeout(1.0)
    print("listening %d" % ls.getsockname()[1], flush=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, kind), daemon=True).start()


if __name__ == "__main__":
    main()
