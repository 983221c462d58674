"""A side-by-side fault run: the same clients and the same backend faults, at the same moments, for several
balancers at once (recheckd and HAProxy in front of the same backends). Used by
tests/integration/test_recheckd_faults.py and by tests/bench (measurement 8).

- Backends: relay_peer processes (tests/fixtures/relay_peer.c) that can be killed (SIGKILL), restarted on
  the same port, and hung (SIGSTOP / SIGCONT). spawn(argv, name) starts one and returns its Popen (the
  caller's process list, so that everything is stopped by PID whatever happens).
- run(): for each balancer, `workers` client loops: connect from a random 127/8 source address, send
  "ECHO\\n" + 32 random bytes, read them back, half-close, read to EOF. Meanwhile the fault plan kills,
  restarts, stops and resumes backends, and right after each kill sends probe clients whose address hashes
  to the killed server (the clients that need a redispatch) to every balancer. Every wait is bounded.

Outcome of a client connection: ok, or lost as "reset" (a RST reached the client), "eof" (closed before all
its bytes came back: a FIN), "timeout", "refused" (the balancer itself refused), "wrong" (a byte differed).
"""
import asyncio
import os
import random
import signal
import socket
import statistics
import time

from harness import recv_until_eof, wait_port

PAYLOAD = 32


class Backends:
    """relay_peer processes, one per name, on fixed ports so that a restart comes back on the same one."""

    def __init__(self, peer, names, ports, spawn):
        self.peer, self.names, self.ports, self.spawn = peer, list(names), dict(zip(names, ports)), spawn
        self.procs = {}
        for n in self.names:
            self.start(n)
        for n in self.names:
            wait_port(self.ports[n])

    def start(self, name):
        self.procs[name] = self.spawn([self.peer, str(self.ports[name]), name], "peer-" + name)

    def kill(self, name):
        p = self.procs[name]
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)

    def restart(self, name):
        self.start(name)

    def pause(self, name):
        os.kill(self.procs[name].pid, signal.SIGSTOP)

    def resume(self, name):
        os.kill(self.procs[name].pid, signal.SIGCONT)


class Tally:
    def __init__(self):
        self.outcomes = {}
        self.ttfb = []          # seconds from connect() to the first byte back, for ok connections
        self.probe_ttfb = []    # the same for the probe clients (a redispatch was needed)
        self.probe_outcomes = {}

    def add(self, outcome, ttfb, probe):
        d = self.probe_outcomes if probe else self.outcomes
        d[outcome] = d.get(outcome, 0) + 1
        if outcome == "ok":
            (self.probe_ttfb if probe else self.ttfb).append(ttfb)

    @property
    def total(self):
        return sum(self.outcomes.values())

    @property
    def lost(self):
        return self.total - self.outcomes.get("ok", 0)

    def summary(self):
        med = statistics.median(self.probe_ttfb) if self.probe_ttfb else None
        return {"total": self.total, "lost": self.lost, "outcomes": dict(self.outcomes),
                "probe_outcomes": dict(self.probe_outcomes), "probe_median_ttfb": med,
                "probe_ttfb": sorted(round(t, 3) for t in self.probe_ttfb)}


async def session(port, src, timeout):
    """One client connection; returns (outcome, ttfb)."""
    payload = os.urandom(PAYLOAD)
    t0 = time.monotonic()
    w = None
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), timeout)
        w.write(b"ECHO\n" + payload)
        left = timeout - (time.monotonic() - t0)
        first = await asyncio.wait_for(r.read(1), max(left, 0.01))
        if not first:
            return "eof", None
        ttfb = time.monotonic() - t0
        left = timeout - (time.monotonic() - t0)
        rest = await asyncio.wait_for(r.readexactly(PAYLOAD - 1), max(left, 0.01))
        if first + rest != payload:
            return "wrong", None
        w.write_eof()
        left = timeout - (time.monotonic() - t0)
        tail = await asyncio.wait_for(r.read(64), max(left, 0.01))
        if tail:
            return "wrong", None
        return "ok", ttfb
    except asyncio.IncompleteReadError:
        return "eof", None
    except ConnectionResetError:
        return "reset", None
    except ConnectionRefusedError:
        return "refused", None
    except (asyncio.TimeoutError, TimeoutError):
        return "timeout", None
    except OSError as e:
        return "error:%s" % e.__class__.__name__, None
    finally:
        if w is not None:
            w.close()


async def _run(balancers, addrs, backends, plan, probes, workers, think, timeout, duration):
    tallies = {b: Tally() for b in balancers}
    stop = asyncio.Event()
    rnd = random.Random(7)
    pending = set()

    async def worker(name, port):
        while not stop.is_set():
            outcome, ttfb = await session(port, rnd.choice(addrs), timeout)
            tallies[name].add(outcome, ttfb, False)
            await asyncio.sleep(think * (0.5 + rnd.random()))

    async def probe(name, port, src):
        outcome, ttfb = await session(port, src, timeout)
        tallies[name].add(outcome, ttfb, True)

    async def faults():
        t0 = time.monotonic()
        for at, action, server in plan:
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            if action == "kill":
                backends.kill(server)
                for name, port in balancers.items():
                    for src in probes.get(server, []):
                        pending.add(asyncio.ensure_future(probe(name, port, src)))
            elif action == "restart":
                backends.restart(server)
            elif action == "stop":
                backends.pause(server)
            elif action == "cont":
                backends.resume(server)
        await asyncio.sleep(max(0.0, t0 + duration - time.monotonic()))
        stop.set()

    tasks = [asyncio.ensure_future(worker(n, p)) for n, p in balancers.items() for _ in range(workers)]
    await faults()
    await asyncio.wait_for(asyncio.gather(*tasks, *pending), timeout + 5)
    return tallies


def default_plan(names, duration):
    """Every 3 s one backend is killed and restarted 1.5 s later; one is hung (SIGSTOP) for 1.5 s once."""
    plan, t, i = [], 1.0, 0
    while t + 2.0 < duration:
        victim = names[i % len(names)]
        plan += [(t, "kill", victim), (t + 1.5, "restart", victim)]
        if i == 1:
            hung = names[(i + 3) % len(names)]
            plan += [(t + 0.7, "stop", hung), (t + 2.2, "cont", hung)]
        t += 3.0
        i += 1
    plan.sort(key=lambda x: x[0])
    return plan


def run(balancers, addrs, backends, plan, probes, workers=12, think=0.04, timeout=6.0, duration=15.0):
    """Runs the load and the fault plan; returns {balancer: Tally}. probes: {server: [source addresses]}."""
    return asyncio.run(_run(balancers, addrs, backends, plan, probes, workers, think, timeout, duration))


def ask_name(port, src, timeout=3.0):
    """The backend name a client at src reaches through the balancer at port (relay_peer's NAME)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"NAME\n")
        data = recv_until_eof(s, limit=128, timeout=timeout)
    return data.decode("ascii", "replace").strip()


def probes_by_asking(port, addrs, names, per_server=4):
    """{server: up to per_server addresses of addrs that the balancer at port sends to it}, asked through
    the balancer itself while every server is up."""
    out = {n: [] for n in names}
    for a in addrs:
        n = ask_name(port, a)
        if n in out and len(out[n]) < per_server:
            out[n].append(a)
        if all(len(v) >= per_server for v in out.values()):
            break
    return out


# The configurations of the side-by-side run: the same checks (connect, inter 1s, fall 2, rise 1), the same
# timeouts, `balance source` with consistent hashing (HAProxy 2.6 redispatches to another server only
# with consistent hashing), retries 3 + redispatch.
HAPROXY_CFG = """defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 1s
    retries 3
    option redispatch
listen pool
    bind 127.0.0.1:%d
    balance source
    hash-type consistent
%s
"""

CONNECT_ONLY = "version: 1\nname: connect-only\nkind: tcp\nsteps:\n  - connect: {}\n"


def haproxy_cfg(port, ports):
    """ports: {name: port} of the backends, in order."""
    return HAPROXY_CFG % (port, "\n".join("    server %s 127.0.0.1:%d check inter 1s fall 2 rise 1" % (n, p)
                                          for n, p in ports.items()))


def recheckd_cfg(port, stats_port, ports, recipe="connect-only.yaml"):
    lines = ["threads: 2", 'stats: {bind: "127.0.0.1:%d"}' % stats_port]
    if os.geteuid() == 0:
        lines.append("allow_root: true")
    lines += ["listeners:", "  - name: pool", '    bind: "127.0.0.1:%d"' % port, "    balance: source",
              "    hash_type: consistent", "    retries: 3", "    redispatch: true",
              "    timeouts: {connect: 1s, client: 10s, server: 10s}",
              "    check: {recipe: %s, inter: 1s, rise: 1, fall: 2, timeout: 1s}" % recipe, "    servers:"]
    for n, p in ports.items():
        lines.append('      - {name: %s, address: "127.0.0.1:%d"}' % (n, p))
    return "\n".join(lines) + "\n"
