"""Shared helpers for recheck's integration tests.

Everything runs on 127.0.0.1 with free ports. Every process a test starts is recorded by PID and stopped
by PID (never by name) when the test ends, even when it fails. Every wait is bounded in time.

Environment (set by CTest, see tests/CMakeLists.txt):
  RECHECK_SOURCE_DIR  the source tree
  RECHECK_BUILD_DIR   the build tree
  RECHECK_BIN         the recheck binary
  RECHECKD_BIN        the recheckd binary (once it exists)
"""
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("RECHECK_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("RECHECK_BUILD_DIR", os.path.join(SRC, "build"))
RECHECK = os.environ.get("RECHECK_BIN", os.path.join(BUILD, "recheck"))
RECHECKD = os.environ.get("RECHECKD_BIN", os.path.join(BUILD, "recheckd"))
# The scripted misbehaving server (tests/fixtures/scriptsrv.c), built with the tests.
SCRIPTSRV = os.path.join(BUILD, "tests", "scriptsrv")
# The synthetic capture generator (tests/gen/pcapgen.py).
PCAPGEN = os.path.join(SRC, "tests", "gen", "pcapgen.py")
SAMPLES = os.path.join(SRC, "samples")


# HAProxy configuration.txt §8.2.2, "TCP log format":
#   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
# with %t = date formatted as 10/Oct/2000:13:55:36.123 and %ts two characters. Unanchored at the start:
# match() reads a bare line (recheckd on stderr), search() one behind a syslog header (HAProxy over UDP).
TCPLOG = re.compile(
    r"(?P<client_ip>[0-9a-fA-F.:]+):(?P<client_port>\d+) "
    r"\[(?P<accept_date>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] "
    r"(?P<frontend_name>\S+) (?P<backend_name>[^/\s]+)/(?P<server_name>\S+) "
    r"(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tt>\+?\d+) (?P<bytes_read>\+?\d+) (?P<termination_state>[-A-Za-z]{2}) "
    r"(?P<actconn>\d+)/(?P<feconn>\d+)/(?P<beconn>\d+)/(?P<srv_conn>\d+)/(?P<retries>\+?\d+) "
    r"(?P<srv_queue>\d+)/(?P<backend_queue>\d+)$")


def sample_recipes():
    """Every recipe under samples/ (daemon configs, named recheckd*.yaml, are not recipes)."""
    import glob
    found = glob.glob(os.path.join(SAMPLES, "**", "*.yaml"), recursive=True)
    return sorted(p for p in found if not os.path.basename(p).startswith("recheckd"))


def which(name, *extra_dirs):
    """Path of an executable, also looking in sbin directories that a non-root PATH may lack."""
    path = shutil.which(name)
    if path:
        return path
    for d in extra_dirs + ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


# Ports handed out by free_port(): below the kernel's ephemeral range (32768-60999 by default), so an
# outgoing connection of a parallel test (test_stress makes tens of thousands) cannot take one between
# free_port() and the server's bind().
_PORT_LO, _PORT_HI = 20000, 32767
_given = set()  # never the same port twice in one test process: two free_port() calls may precede any bind



def user_exists(name):
    """Whether the system knows a user of that name."""
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    """Whether the system knows a group of that name."""
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False

def free_port():
    """A TCP port that is free on 127.0.0.1 right now, outside the ephemeral range, not handed out before
    by this process."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(_PORT_LO, _PORT_HI)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _given.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10.0):
    """Waits until something accepts on host:port; raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with socket.create_connection((host, port), timeout=0.5):
                return
        time.sleep(0.05)
    raise TimeoutError("nothing listens on %s:%d after %.1fs" % (host, port, timeout))


# The `defaults` section the HAProxy configurations of the tests start from: TCP mode, short timeouts.
HAPROXY_TCP_DEFAULTS = """
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout check 2s
"""

# HAProxy's check reasons as its log spells them ("reason: Layer7 timeout") -> our status names.
HAPROXY_REASONS = {
    "Layer7 check passed": "L7OK", "Layer7 invalid response": "L7RSP", "Layer7 timeout": "L7TOUT",
    "Socket error": "SOCKERR", "Layer4 connection problem": "L4CON", "Layer7 wrong status": "L7STS",
    "Layer4 check passed": "L4OK", "Layer4 timeout": "L4TOUT",
}
_HAPROXY_CHECK_LINE = re.compile(r'Health check for server (\w+)/s (?:succeeded|failed), reason: ([^,]+),'
                                 r'(?: code: \d+,)?(?: info: "([^"]*)",)? check duration')


def haproxy_first_results(proc, count, timeout):
    """The first health-check result a haproxy we started (option log-health-checks, servers named s in
    backends named after the case) logged for each backend: {backend: (status, info)} once count backends
    have one; raises after timeout seconds."""
    def results():
        got = {}
        for m in _HAPROXY_CHECK_LINE.finditer(Procs.log(proc)):
            got.setdefault(m.group(1), (HAPROXY_REASONS.get(m.group(2), m.group(2)), (m.group(3) or "").strip()))
        return got if len(got) == count else None
    return wait_for(results, timeout, interval=0.2, what="a first check result for every server")


def recv_exact(sock, n):
    """n bytes from sock, or fewer when the peer closes first."""
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def tcp_recipe(name, steps, protocol=None):
    """The text of a `kind: tcp` recipe called name (for protocol, when given) whose steps are the YAML
    lines steps."""
    head = "version: 1\nname: %s\n" % name + ("protocol: %s\n" % protocol if protocol else "")
    return head + "kind: tcp\nsteps:\n" + steps


def recv_until(sock, done=lambda out: False, limit=1 << 20, size=65536):
    """What sock receives, size bytes a recv at most, until done(what came so far) is true, the peer
    closes, or about limit bytes have come. Uses sock's own timeout."""
    out = b""
    while len(out) < limit and not done(out):
        chunk = sock.recv(size)
        if not chunk:
            break
        out += chunk
    return out


def recv_until_eof(sock, limit=1 << 20, timeout=10.0):
    """What sock receives until the peer closes (at most about limit bytes; each recv waits at most
    timeout seconds)."""
    sock.settimeout(timeout)
    return recv_until(sock, limit=limit)


def asan_built(path):
    """True when the binary carries AddressSanitizer's runtime (a sanitizer build)."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def proc_fds(pid):
    """How many file descriptors process pid holds now."""
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_rss_kib(pid):
    """Resident set size of process pid (VmRSS), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned), or raises after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError("%s not reached after %.1fs (last: %r)" % (what, timeout, last))


class Procs:
    """Processes started by one test, stopped by PID in reverse order."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, argv, name=None, env=None, stdin=subprocess.DEVNULL):
        name = name or os.path.basename(argv[0])
        log = open(os.path.join(self.workdir, "%s.%d.log" % (name, len(self.procs))), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=stdin, env=env,
                             start_new_session=True)
        p.log_path = log.name
        p.log_file = log
        p.name = name
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=5.0):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
                p.wait(5)
        p.log_file.close()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)
        self.procs = []

    @staticmethod
    def log(p):
        with open(p.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Case(unittest.TestCase):
    """Base class: a temporary directory and a process list per test, cleaned up whatever happens."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="recheck-it-")
        self.procs = Procs(self.tmp)
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.procs.stop_all()
        if os.environ.get("RECHECK_KEEP_TMP"):
            sys.stderr.write("kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def clean_exit(self, p, rc=None):
        """Stops a process we started (recheckd) by PID and fails on any sanitizer report in its log (leaks
        included); with rc, also unless it exited with that code (SIGTERM drains, then exits 0). Returns
        the log."""
        self.procs.stop(p)
        log = self.procs.log(p)
        if rc is not None:
            self.assertEqual(p.returncode, rc, log[-3000:])
        for mark in ("Sanitizer", "runtime error"):
            self.assertNotIn(mark, log)
        return log

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    # --- peers -----------------------------------------------------------------------------------

    def start_origin(self):
        """The local HTTP origin (tests/lib/origin.py). Returns its port."""
        port = free_port()
        self.procs.start([sys.executable, os.path.join(SRC, "tests", "lib", "origin.py"), str(port)], "origin")
        wait_port(port)
        return port

    def gen_pcap(self, conv, opts, name="c.pcap"):
        """tests/gen/pcapgen.py's conversation conv with options opts, written to name in the test's
        directory. Returns the capture's path and the turns it must reassemble to: [(direction, bytes)]."""
        pcap = self.path(name)
        exp = self.path(name + ".json")
        r = subprocess.run([sys.executable, PCAPGEN, conv, "-o", pcap, "--expect", exp] + opts,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(exp) as f:
            return pcap, [(d, bytes.fromhex(h)) for d, h in json.load(f)]

    def start_scriptsrv(self, script, port=0):
        """scriptsrv playing script on 127.0.0.1:port (0: any free port). Returns (process, port) once it
        listens; fails at once if it exits first (a script it refused)."""
        self.assertTrue(os.access(SCRIPTSRV, os.X_OK), "build the fixtures first: %s" % SCRIPTSRV)
        p = self.procs.start([SCRIPTSRV, str(port), script], "scriptsrv")

        def bound():
            if p.poll() is not None:
                raise AssertionError("scriptsrv exited: " + Procs.log(p))
            m = re.search(r"^listening (\d+)$", Procs.log(p), re.M)
            return int(m.group(1)) if m else None
        return p, wait_for(bound, 10, what="scriptsrv listening")

    def scriptsrv_port(self, script):
        """start_scriptsrv() on any free port; returns the port."""
        return self.start_scriptsrv(script)[1]

    def full_backlog(self, port=0):
        """A listener with listen(fd, 0) that never accepts, its queue filled by held connections: a new
        connect to it stays in SYN-SENT (a connect timeout on loopback). Returns its port; the sockets
        live until close_backlog() or the end of the test."""
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.backlog_socks = [lsock]
        self.addCleanup(self.close_backlog)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", port))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.backlog_socks.append(c)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        time.sleep(0.2)
        return port

    def close_backlog(self):
        for s in getattr(self, "backlog_socks", []):
            s.close()
        self.backlog_socks = []

    def start_microsocks(self, user=None, password=None, host="127.0.0.1"):
        """A real microsocks SOCKS5 server on host (127.0.0.1, or ::1). Returns its port."""
        exe = which("microsocks")
        if not exe:
            self.fail("microsocks is not installed (apt-get install microsocks)")
        port = free_port()
        argv = [exe, "-i", host, "-p", str(port)]
        if user:
            argv += ["-u", user, "-P", password]
        self.procs.start(argv, "microsocks")
        wait_port(port, host)
        return port

    def start_dante(self, user=None):
        """A real dante-server (danted) SOCKS5 server on 127.0.0.1. Returns its port.
        With user, it requires RFC 1929 username/password checked against the system's users."""
        exe = which("danted", "/usr/sbin")
        if not exe:
            self.fail("danted is not installed (apt-get install dante-server)")
        port = free_port()
        method = "username" if user else "none"
        conf = self.write("danted-%d.conf" % port, """
logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
socksmethod: %s
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
""" % (port, method))
        self.procs.start([exe, "-f", conf, "-N", "1", "-p", self.path("danted-%d.pid" % port)], "danted")
        wait_port(port)
        return port

    def start_tinyproxy(self, user=None, password=None, connect_ports=(), host="127.0.0.1"):
        """A real tinyproxy HTTP proxy on host (127.0.0.1, or ::1; forward and CONNECT). Returns its port."""
        exe = which("tinyproxy", "/usr/bin", "/usr/sbin")
        if not exe:
            self.fail("tinyproxy is not installed (apt-get install tinyproxy)")
        port = free_port()
        lines = ["Port %d" % port, "Listen %s" % host, "Timeout 30", "MaxClients 50",
                 "Allow %s" % host, "LogLevel Info", "DisableViaHeader No"]
        for cp in connect_ports:
            lines.append("ConnectPort %d" % cp)
        if user:
            lines.append("BasicAuth %s %s" % (user, password))
        conf = self.write("tinyproxy-%d.conf" % port, "\n".join(lines) + "\n")
        self.procs.start([exe, "-d", "-c", conf], "tinyproxy")
        wait_port(port, host)
        return port

    def start_haproxy(self, cfg_body, name="haproxy"):
        """A real haproxy with the given config body (global/defaults/listen sections are the caller's,
        but a stats socket is added to global). Returns (process, stats socket path)."""
        exe = which("haproxy")
        if not exe:
            self.fail("haproxy is not installed (apt-get install haproxy)")
        sock = self.path("%s.sock" % name)
        cfg = "global\n    stats socket %s mode 600 level admin\n%s" % (sock, cfg_body)
        path = self.write("%s.cfg" % name, cfg)
        check = subprocess.run([exe, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, "haproxy -c refused the config:\n%s\n%s" % (cfg, check.stdout + check.stderr))
        p = self.procs.start([exe, "-db", "-f", path], name)
        wait_for(lambda: os.path.exists(sock), 10, what="haproxy stats socket")
        return p, sock

    @staticmethod
    def haproxy_cmd(sock, cmd):
        """Sends one command to a haproxy stats socket and returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(sock)
            s.sendall(cmd.encode() + b"\n")
            return recv_until_eof(s, timeout=5).decode()

    @classmethod
    def haproxy_status(cls, sock, backend, server):
        """The status column (UP, DOWN, 'UP 1/3', ...) and check_status of one server."""
        out = cls.haproxy_cmd(sock, "show stat")
        lines = out.splitlines()
        head = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            cols = line.split(",")
            if len(cols) > 1 and cols[0] == backend and cols[1] == server:
                row = dict(zip(head, cols))
                return row["status"], row.get("check_status", ""), row.get("last_chk", "")
        raise KeyError("%s/%s not in show stat" % (backend, server))

    # --- recheck -------------------------------------------------------------------------------

    def recheck(self, *args, timeout=60, env=None, input=None):
        """Runs the recheck binary; returns CompletedProcess with text stdout/stderr."""
        return subprocess.run([RECHECK] + [str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, env=env, input=input)

    def assertRc(self, res, code, msg=""):
        self.assertEqual(res.returncode, code, "%s\nexit %d, expected %d\nstdout:\n%s\nstderr:\n%s" % (
            msg, res.returncode, code, res.stdout, res.stderr))

    def from_pcap_keeps_complete(self, pcap, out, warning):
        """`recheck from-pcap pcap -o out` of a capture cut after a complete exchange: asserts exit 0 and a
        warning that contains warning and says the complete exchanges are kept; returns the recipe text."""
        res = self.recheck("from-pcap", pcap, "-o", out)
        self.assertRc(res, 0)
        self.assertIn(warning, res.stderr)
        self.assertIn("the recipe keeps the exchanges that were complete before it", res.stderr)
        with open(out) as f:
            return f.read()


def sample_for_port(relpath, port, dest):
    """Copies samples/<relpath> (a local-origin sample written for 127.0.0.1:18204) to dest with the
    origin port replaced by port: the text "18204" and its big-endian hex "471c" (in send-binary and
    binary patterns, either case). Returns dest."""
    if not 0 < port < 65536:
        raise ValueError("port %r out of range" % port)
    with open(os.path.join(SAMPLES, relpath), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("18204", str(port))
    text = text.replace("471c", "%04x" % port).replace("471C", "%04X" % port)
    with open(dest, "w", encoding="utf-8") as f:
        f.write(text)
    return dest


# CTest's SKIP_RETURN_CODE (tests/CMakeLists.txt): a file whose every test skipped is reported "Not Run",
# never "Passed", so a missing peer cannot turn a whole file green.
EXIT_SKIPPED = 77


def main():
    """Runs the calling file's tests. Exit status: 1 when any failed or errored, EXIT_SKIPPED when
    every test that ran was skipped (or there were none), 0 otherwise."""
    prog = unittest.main(verbosity=2, exit=False)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun == len(res.skipped):
        print("%s: every test skipped (%d)" % (os.path.basename(sys.argv[0]), len(res.skipped)))
        sys.exit(EXIT_SKIPPED)
    sys.exit(0)
