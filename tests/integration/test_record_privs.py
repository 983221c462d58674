#!/usr/bin/env python3
"""recheck record gives up root before it runs libcurl or parses a captured byte.

The proof does not trust anything recheck says about itself. The recording goes through a gate: a relay
in front of a real microsocks that accepts curl's connection and holds it. While curl waits there, the
test looks the process up in /proc: the process that owns curl's TCP socket (found by its local port in
/proc/net/tcp) must also own the packet socket of the capture (in /proc/net/packet), must have every uid
and gid equal to the target user, no supplementary group but the target's, no capability and
NoNewPrivs set; its parent (the monitor, still root, which writes the output file) must hold no packet
socket at all. Then the gate opens and the recording must still succeed."""
import glob
import os
import select
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NEED_ROOT = unittest.skipUnless(os.geteuid() == 0, "needs root: it checks how root is given up")


class Gate:
    """Relays one connection to 127.0.0.1:upstream, but only once release is set."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.ls.settimeout(20)
        self.port = self.ls.getsockname()[1]
        self.peer_port = None
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            c, addr = self.ls.accept()
        except OSError:
            return
        self.peer_port = addr[1]
        self.accepted.set()
        self.release.wait(20)
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
        except OSError:
            c.close()
            return
        socks = [c, u]
        for _ in range(10000):                      # bounded: a few hundred bytes each way
            r, _, _ = select.select(socks, [], [], 10)
            if not r:
                break
            done = False
            for s in r:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                (u if s is c else c).sendall(data)
            if done:
                break
        c.close()
        u.close()

    def close(self):
        self.release.set()
        self.ls.close()
        self.t.join(10)


def socket_inodes(table, lport, rport):
    """Inodes of the sockets in /proc/net/tcp{,6} with that local and remote port."""
    out = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if int(cols[1].split(":")[1], 16) == lport and int(cols[2].split(":")[1], 16) == rport:
                    out.add(cols[9])
    return out


def packet_inodes():
    with open("/proc/net/packet") as f:
        return {line.split()[-1] for line in f.readlines()[1:]}


def fd_inodes(pid):
    out = set()
    for fd in glob.glob("/proc/%d/fd/*" % pid):
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def owner_of(inodes):
    for d in glob.glob("/proc/[0-9]*"):
        pid = int(d.rsplit("/", 1)[1])
        if fd_inodes(pid) & inodes:
            return pid
    return None


@NEED_ROOT
class Privileges(harness.Case):
    def gated_record(self, *extra, env=None):
        """Records through a gate; returns (/proc status of the worker, of its parent, worker pid,
        the recheck exit code, stderr)."""
        o = self.start_origin()
        s = self.start_microsocks()
        gate = Gate(s)
        self.addCleanup(gate.close)
        out = self.path("r.yaml")
        err = open(self.path("record.err"), "w+")
        self.addCleanup(err.close)
        p = subprocess.Popen([harness.RECHECK, "record", "-v", "-x", "socks5h://127.0.0.1:%d" % gate.port,
                              "--url", "http://127.0.0.1:%d/generate_204" % o, "-o", out] + list(extra),
                             stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            self.assertTrue(gate.accepted.wait(15), "curl never connected to the gate")
            inodes = harness.wait_for(lambda: socket_inodes("tcp", gate.peer_port, gate.port), 5,
                                      what="curl's socket in /proc/net/tcp")
            worker = owner_of(inodes)
            self.assertIsNotNone(worker, "no process owns curl's socket")
            wst = status(worker)
            pst = status(int(wst["PPid"][0]))
            self.assertTrue(fd_inodes(worker) & packet_inodes(),
                            "the process that runs curl does not hold the capture's packet socket")
            self.assertFalse(fd_inodes(int(wst["PPid"][0])) & packet_inodes(),
                             "the privileged monitor holds a packet socket")
            self.assertEqual(int(wst["PPid"][0]), p.pid, "the worker is not recheck's child")
        finally:
            gate.release.set()
            rc = p.wait(30)
        err.seek(0)
        return wst, pst, worker, rc, err.read()

    def assertDropped(self, st, uid, gid):
        self.assertEqual(st["Uid"], [str(uid)] * 4, "real, effective, saved and fs uid")
        self.assertEqual(st["Gid"], [str(gid)] * 4, "real, effective, saved and fs gid")
        self.assertEqual(st.get("Groups", []), [str(gid)], "supplementary groups")
        for k in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            self.assertEqual(int(st[k][0], 16), 0, k)
        self.assertEqual(st["NoNewPrivs"], ["1"])

    def test_worker_is_nobody_and_monitor_stays_root(self):
        env = dict(os.environ)
        env.pop("SUDO_USER", None)
        wst, pst, worker, rc, err = self.gated_record(env=env)
        self.assertDropped(wst, 65534, 65534)
        self.assertEqual(pst["Uid"][0], "0", "the monitor writes the outputs as the invoking user")
        self.assertEqual(rc, 0, err)
        # what -v says agrees with what /proc showed
        self.assertIn("pid %d runs curl and parses packets as nobody" % worker, err)
        self.assertIn("uid=65534 euid=65534 suid=65534", err)
        self.assertTrue(os.path.exists(self.path("r.yaml")))

    def test_user_option(self):
        wst, _, _, rc, err = self.gated_record("--user", "daemon")
        self.assertDropped(wst, 1, 1)
        self.assertEqual(rc, 0, err)

    def test_sudo_user_is_the_default(self):
        os.chown(self.tmp, 2, 2)                    # the sudo user's own directory
        wst, _, _, rc, err = self.gated_record(env=dict(os.environ, SUDO_USER="bin"))
        self.assertDropped(wst, 2, 2)
        self.assertEqual(rc, 0, err)
        self.assertIn("SUDO_USER", err)
        st = os.stat(self.path("r.yaml"))           # written as, and owned by, the user behind sudo
        self.assertEqual((st.st_uid, st.st_gid), (2, 2))

    def test_sudo_user_cannot_write_where_they_could_not(self):
        o = self.start_origin()
        s = self.start_microsocks()
        os.chmod(self.tmp, 0o755)                   # root's directory: bin may not create files here
        out = self.path("r.yaml")
        res = self.recheck("record", "-x", "socks5h://127.0.0.1:%d" % s, "--url", "http://127.0.0.1:%d/generate_204" % o,
                           "-o", out, env=dict(os.environ, SUDO_USER="bin"))
        self.assertRc(res, 5)
        self.assertIn("Permission denied", res.stderr)
        self.assertFalse(os.path.exists(out))

    def test_sudo_from_root_still_drops(self):
        wst, _, _, rc, err = self.gated_record(env=dict(os.environ, SUDO_USER="root"))
        self.assertDropped(wst, 65534, 65534)
        self.assertEqual(rc, 0, err)

    def test_unprivileged_without_capability_says_how(self):
        o = self.start_origin()
        s = self.start_microsocks()
        out = self.path("r.yaml")
        os.chmod(self.tmp, 0o777)
        res = subprocess.run([harness.RECHECK, "record", "-x", "socks5h://127.0.0.1:%d" % s,
                              "--url", "http://127.0.0.1:%d/generate_204" % o, "-o", out],
                             capture_output=True, text=True, timeout=30, user=65534, group=65534, extra_groups=[])
        self.assertRc(res, 5)
        self.assertIn("sudo", res.stderr)
        self.assertIn("CAP_NET_RAW", res.stderr)
        self.assertFalse(os.path.exists(out))

    def test_capability_instead_of_root(self):
        """setcap cap_net_raw on the binary: no root at all, and the capability is cleared as soon as
        the capture is open."""
        setcap = harness.which("setcap")
        if not setcap:
            self.skipTest("setcap (libcap2-bin) is not installed")
        os.chmod(self.tmp, 0o777)
        exe = self.path("recheck-cap")
        with open(harness.RECHECK, "rb") as src, open(exe, "wb") as dst:
            dst.write(src.read())
        os.chmod(exe, 0o755)
        r = subprocess.run([setcap, "cap_net_raw,cap_net_admin=eip", exe], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("setcap refused here: %s" % r.stderr.strip())
        o = self.start_origin()
        s = self.start_microsocks()
        out = self.path("r.yaml")
        res = subprocess.run([exe, "record", "-v", "-x", "socks5h://127.0.0.1:%d" % s,
                              "--url", "http://127.0.0.1:%d/generate_204" % o, "-o", out],
                             capture_output=True, text=True, timeout=30, user=65534, group=65534, extra_groups=[])
        self.assertRc(res, 0)
        self.assertIn("as the invoking user (not root): uid=65534", res.stderr)
        self.assertIn("caps=none", res.stderr)
        self.assertEqual(os.stat(out).st_uid, 65534)


if __name__ == "__main__":
    harness.main()
