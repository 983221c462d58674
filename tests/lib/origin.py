#!/usr/bin/env python3
"""A local HTTP origin for the tests: answers /generate_204 with 204 (as client3.google.com does),
/status/NNN with that status, /bytes/N with N bytes, anything else with 404. Listens on 127.0.0.1.

usage: origin.py PORT [--ready-file PATH] [--tls CERT KEY]

--tls serves HTTPS (HTTP/1.1 over TLS, ALPN http/1.1) with the PEM certificate chain CERT and key KEY.
"""
import http.server
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "recheck-test-origin/1"

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        pass

    def _answer(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path
        if path.startswith("http://") or path.startswith("https://"):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        if path == "/generate_204":
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.startswith("/status/") and path[8:].isdigit():
            self._answer(int(path[8:]), b"status\n")
        elif path.startswith("/bytes/") and path[7:].isdigit():
            self._answer(200, b"x" * min(int(path[7:]), 64 << 20))
        else:
            self._answer(404, b"not found\n")

    do_HEAD = do_GET
    do_OPTIONS = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(sys.argv[1])
    srv = Server(("127.0.0.1", port), Handler)
    if "--tls" in sys.argv:
        import ssl
        i = sys.argv.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[i + 1], sys.argv[i + 2])
        ctx.set_alpn_protocols(["http/1.1"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if "--ready-file" in sys.argv:
        with open(sys.argv[sys.argv.index("--ready-file") + 1], "w") as f:
            f.write("ready\n")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
