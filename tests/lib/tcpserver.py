"""TcpServer: the base of the tests' small hand-written TCP peers. It listens on 127.0.0.1 (a free port,
in .port) and accepts in a daemon thread; a subclass's serve(conn, peer) answers one connection and owns
it (closes it, or keeps it open on purpose). With threaded=True each connection is served in a thread of
its own, else in the accept loop, one at a time. close() stops the loop and closes the listener; the loop
also ends by itself after `lifetime` seconds, so a server a test forgot cannot outlive the test run.
A subclass sets the attributes serve() reads before calling TcpServer.__init__, which starts the loop."""
import socket
import threading
import time


class TcpServer:
    def __init__(self, backlog=64, threaded=False, lifetime=300.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.threaded = threaded
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + lifetime
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return  # the listener was closed
            if self.threaded:
                threading.Thread(target=self._serve, args=(conn, peer), daemon=True).start()
            else:
                self._serve(conn, peer)

    def _serve(self, conn, peer):
        try:
            self.serve(conn, peer)
        except OSError:
            conn.close()

    def serve(self, conn, peer):
        raise NotImplementedError

    def close(self):
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the loop's accept() at once (Linux)
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()
