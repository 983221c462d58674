"""holdsrv: a backend that holds every connection until the test releases it (per-server maxconn and
queue tests: test_recheckd_queue, test_recheckd_slowstart), and the client that talks to it."""
import socket
import threading
import time


class Holder:
    """A backend that holds each connection until released: it reads the client's id line at accept (so
    `seen` is the order in which connections reached it), and a release answers "ok ID" and closes."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.held = []
        self.seen = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        deadline = time.time() + 120
        while not self.stop and time.time() < deadline:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(5)
            line = b""
            try:
                while not line.endswith(b"\n") and len(line) < 64:
                    b = c.recv(64 - len(line))
                    if not b:
                        break
                    line += b
            except OSError:
                pass
            if not line.strip():
                c.close()  # a port probe, not a client of the test
                continue
            with self.lock:
                self.seen.append(line.decode().strip())
                self.held.append((line.decode().strip(), c))

    def release(self, n=1):
        with self.lock:
            out, self.held = self.held[:n], self.held[n:]
        for ident, c in out:
            try:
                c.sendall(b"ok " + ident.encode() + b"\n")
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.release(len(self.held))
        self.ls.close()
        self.t.join(5)


def client(port, ident=None, src=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0) if src else None)
    if ident:
        s.sendall(ident.encode() + b"\n")
    return s
