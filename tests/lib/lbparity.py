"""Reusable parts of the `balance source` parity tests: recheck must pick the same server as a real
HAProxy 2.6 for the same client address (docs/haproxy-semantics.md §5).

- CONFIGS: backend descriptions (servers with weight/backup/id/down, hash-type, allbackups).
- start_backends(case, conf): a name server (thread) on one port per live server; each connection
  gets the server's name and is closed. Down servers get a port that refuses connections.
- haproxy_listen(conf, bind_port, ports) / start_haproxy(case, conf, ports): the equivalent HAProxy
  `listen` section, started and waited for until its stats socket shows every server's expected state.
- source_addresses(): distinct client addresses in 127.0.0.0/8 (loopback accepts any of them).
- collect(port, addrs): connects once from each address (the socket is bound to it before connect)
  and records which server answered ("-" when the connection closed without a name).
- lbpick(conf, addrs): what recheck's balancer picks (tests/fixtures/lbpick.c).
- diff(addrs, want, got): readable mismatch lines.
- picks_through(case, c, addrs, start_frontend): the whole round for one frontend (backends up,
  frontend started by start_frontend(case, c, ports) -> port, every address asked, all stopped), so a
  daemon parity test is picks_through(..., start_haproxy) == picks_through(..., start_recheckd).

Note for configs generated for recheckd: HAProxy's bare `hash-type consistent` means sdbm + avalanche
(c["hash_type"] == "consistent"); "consistent sdbm" means no avalanche (hash.h hash_type_parse()).

Run as a program (`python3 lbparity.py serve NAME=PORT...`) it is the name server itself.
"""
import os
import random
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def srv(name, weight=1, backup=False, id=None, down=False):
    return {"name": name, "weight": weight, "backup": backup, "id": id, "down": down}


def conf(name, servers, hash_type="", allbackups=False, v4mapped=False):
    """A backend. v4mapped: the frontend listens on an IPv6 socket bound to ::ffff:127.0.0.1
    (dual-stack), so IPv4 clients reach it as ::ffff:a.b.c.d and their key is 0x0000FFFF ^ a.b.c.d."""
    return {"name": name, "servers": servers, "hash_type": hash_type, "allbackups": allbackups,
            "v4mapped": v4mapped}


CONFIGS = [
    conf("map-equal", [srv("s1"), srv("s2"), srv("s3")]),
    conf("map-123", [srv("s1", 1), srv("s2", 2), srv("s3", 3)], "map-based"),
    conf("map-gcd", [srv("s1", 10), srv("s2", 20), srv("s3", 30)]),
    conf("map-31", [srv("s1", 3), srv("s2", 1)]),
    conf("map-one-down", [srv("s1"), srv("s2", down=True), srv("s3"), srv("s4")]),
    conf("map-unequal-down", [srv("s1", 2), srv("s2", 5), srv("s3", 3, down=True), srv("s4", 7)]),
    conf("map-avalanche", [srv("s1", 1), srv("s2", 2), srv("s3", 1)], "map-based sdbm avalanche"),
    conf("map-backup-unused", [srv("s1"), srv("s2"), srv("b1", backup=True)]),
    conf("map-backup-first", [srv("s1", down=True), srv("b1", backup=True), srv("b2", backup=True)]),
    conf("map-backup-quirk", [srv("s1", down=True), srv("b1", 2, backup=True), srv("b2", 5, backup=True)]),
    conf("map-allbackups", [srv("s1", down=True), srv("b1", 1, backup=True), srv("b2", 2, backup=True)],
         allbackups=True),
    conf("chash-equal", [srv("s1"), srv("s2"), srv("s3")], "consistent"),
    conf("chash-unequal", [srv("s1", 1), srv("s2", 2), srv("s3", 3)], "consistent"),
    conf("chash-one-down", [srv("s1"), srv("s2", down=True), srv("s3"), srv("s4")], "consistent"),
    conf("chash-ids", [srv("s1", id=7), srv("s2", id=3), srv("s3"), srv("s4", 2)], "consistent"),
    conf("chash-ids-next", [srv("s1"), srv("s2", id=1), srv("s3"), srv("s4", id=3)], "consistent"),
    conf("chash-backup-first", [srv("s1", down=True), srv("b1", backup=True, down=True), srv("b2", backup=True),
                                srv("b3", backup=True)], "consistent"),
    conf("chash-allbackups", [srv("s1", down=True), srv("b1", 1, backup=True), srv("b2", 2, backup=True)],
         "consistent", allbackups=True),
    conf("chash-noaval", [srv("s1"), srv("s2"), srv("s3")], "consistent sdbm"),
    conf("map-v4mapped", [srv("s1", 1), srv("s2", 2), srv("s3", 3)], v4mapped=True),
    conf("chash-v4mapped", [srv("s1"), srv("s2"), srv("s3", 2)], "consistent", v4mapped=True),
]


def source_addresses(n=250, seed=4):
    """n distinct client addresses in 127/8 (deterministic), 127.0.0.1 first."""
    rnd = random.Random(seed)
    out, seen = ["127.0.0.1"], {"127.0.0.1"}
    while len(out) < n:
        a = "127.%d.%d.%d" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def lbpick_path():
    for p in (os.path.join(harness.BUILD, "tests", "lbpick"), os.path.join(harness.BUILD, "lbpick")):
        if os.access(p, os.X_OK):
            return p
    raise FileNotFoundError("lbpick is not built (looked in %s/tests and %s)" % (harness.BUILD, harness.BUILD))


def lbpick_argv(c):
    argv = [lbpick_path()]
    if c["hash_type"]:
        argv += ["-t", c["hash_type"]]
    if c["allbackups"]:
        argv.append("-a")
    for s in c["servers"]:
        spec = [s["name"], "weight=%d" % s["weight"]]
        if s["backup"]:
            spec.append("backup")
        if s["id"] is not None:
            spec.append("id=%d" % s["id"])
        if s["down"]:
            spec.append("down")
        argv.append(",".join(spec))
    return argv


def client_addresses(c, addrs):
    """The addresses the frontend sees for clients bound to addrs (v4-mapped on a v4v6 socket)."""
    return ["::ffff:" + a for a in addrs] if c.get("v4mapped") else list(addrs)


def lbpick(c, addrs):
    """recheck's picks for the clients at addrs, one name (or "-") per address."""
    res = subprocess.run(lbpick_argv(c), input="\n".join(client_addresses(c, addrs)) + "\n",
                         capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeError("lbpick failed (%d): %s" % (res.returncode, res.stderr))
    return res.stdout.split()


def closed_port(on_cleanup):
    """A port on 127.0.0.1 that refuses connections until on_cleanup's callbacks run: bound but not
    listening, so the kernel cannot hand it out again (say, as HAProxy's own bind port, which would
    make the "down" server answer)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    on_cleanup(s.close)
    return s.getsockname()[1]


def start_backends(case, c, cleanups=None):
    """Starts the name server for c's live servers (a thread of this process). Returns {name: port};
    down servers get a port that refuses connections (closed_port). What must be undone is appended
    to the list cleanups (run its callables in reverse), or registered with case.addCleanup."""
    def on_cleanup(fn):
        if cleanups is None:
            case.addCleanup(fn)
        else:
            cleanups.append(fn)
    ports = {s["name"]: closed_port(on_cleanup) if s["down"] else 0 for s in c["servers"]}
    live = [s["name"] for s in c["servers"] if not s["down"]]
    if live:
        ns = NameServer(live)
        on_cleanup(ns.stop)
        ports.update(ns.ports)
    return ports


def haproxy_listen(c, bind_port, ports, inter="100ms"):
    """The HAProxy listen section equivalent to c (every server checked, so down ones get marked)."""
    bind = "ipv6@::ffff:127.0.0.1:%d v4v6" % bind_port if c.get("v4mapped") else "127.0.0.1:%d" % bind_port
    lines = ["listen %s" % c["name"], "    bind %s" % bind, "    balance source"]
    if c["hash_type"]:
        lines.append("    hash-type %s" % c["hash_type"])
    if c["allbackups"]:
        lines.append("    option allbackups")
    for s in c["servers"]:
        line = "    server %s 127.0.0.1:%d weight %d check inter %s" % (s["name"], ports[s["name"]], s["weight"], inter)
        if s["backup"]:
            line += " backup"
        if s["id"] is not None:
            line += " id %d" % s["id"]
        lines.append(line)
    return "\n".join(lines) + "\n"


HAPROXY_DEFAULTS = """
defaults
    mode tcp
    timeout connect 1s
    timeout client 3s
    timeout server 3s
    timeout check 1s
"""


def wait_states(case, sock, c, timeout=10.0):
    """Waits until HAProxy shows every live server fully UP and every down one DOWN."""
    def ready():
        for s in c["servers"]:
            status = case.haproxy_status(sock, c["name"], s["name"])[0]
            if status != ("DOWN" if s["down"] else "UP"):
                return None
        return True
    harness.wait_for(ready, timeout, 0.05, "servers of %s in their expected states" % c["name"])


def start_haproxy(case, c, ports):
    """Starts a real HAProxy for c and waits for its servers' states. Returns the listening port."""
    port = harness.free_port()
    _, sock = case.start_haproxy(HAPROXY_DEFAULTS + haproxy_listen(c, port, ports), "haproxy-" + c["name"])
    harness.wait_port(port, timeout=5)
    wait_states(case, sock, c)
    return port


def ask(port, src, timeout=2.0):
    """Connects to 127.0.0.1:port from src and returns the name read until EOF ("-" when none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        try:
            s.connect(("127.0.0.1", port))
            data = harness.recv_until_eof(s, limit=256, timeout=timeout)
        except (ConnectionResetError, socket.timeout):
            data = b""
    return data.decode("ascii", "replace").strip() or "-"


def collect(port, addrs):
    return [ask(port, a) for a in addrs]


def picks_through(case, c, addrs, start_frontend):
    """Starts c's backends and a frontend (start_frontend(case, c, ports) returns its port on
    127.0.0.1), asks from every address, stops everything the case started, returns the answers."""
    cleanups = []
    try:
        ports = start_backends(case, c, cleanups)
        port = start_frontend(case, c, ports)
        return collect(port, addrs)
    finally:
        case.procs.stop_all()
        for fn in reversed(cleanups):
            fn()


def diff(addrs, want, got):
    """One line 'addr: lbpick X, haproxy Y' per mismatch (want is recheck's pick, got HAProxy's)."""
    return ["%s: lbpick %s, haproxy %s" % (a, w, g) for a, w, g in zip(addrs, want, got) if w != g]


class NameServer:
    """Listens on one free port per name on 127.0.0.1 and answers each connection with NAME\n, then
    closes it. Runs in a thread; the listening sockets are bound before the constructor returns."""

    def __init__(self, names, ports=None, host="127.0.0.1"):
        self.sel = selectors.DefaultSelector()
        self.ports = {}
        self.socks = []
        for i, name in enumerate(names):
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, ports[i] if ports else 0))
            ls.listen(512)
            ls.setblocking(False)
            self.socks.append(ls)
            self.ports[name] = ls.getsockname()[1]
            self.sel.register(ls, selectors.EVENT_READ, (name + "\n").encode())
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self, limit=600.0):
        deadline = time.monotonic() + limit  # never outlive a forgotten test by much
        while not self.stopping.is_set() and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.1):
                try:
                    conn, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                try:
                    conn.setblocking(True)
                    conn.settimeout(1.0)
                    conn.sendall(key.data)
                except OSError:
                    pass  # health checks reset the connection at once
                finally:
                    conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        for ls in self.socks:
            ls.close()
        self.sel.close()


def serve(specs):
    """Name server as a process: each NAME=PORT; runs until killed (at most 10 minutes)."""
    names = [spec.rsplit("=", 1)[0] for spec in specs]
    ports = [int(spec.rsplit("=", 1)[1]) for spec in specs]
    ns = NameServer(names, ports)
    ns.thread.join()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        sys.stderr.write("usage: lbparity.py serve NAME=PORT...\n")
        sys.exit(2)
