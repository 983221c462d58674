#!/usr/bin/env python3
"""The .deb, end to end on this machine: cpack -G DEB builds recheck_VERSION_ARCH.deb, lintian reports no
error, dpkg -i installs it (the recheckd user is created, the unit enabled the Debian way, /etc/recheck
holds conffiles), the installed configuration passes recheckd -c, systemd-analyze verifies the installed
unit and rates it 2.5 or better offline, the installed recheckd runs as the created user with the unit's
restrictions that do not need systemd and relays one request, and dpkg --purge leaves nothing behind.

systemd is not PID 1 in the test containers, so the service is not started through systemctl: the test
reads ExecStart=, User=, Group=, NoNewPrivileges= and CapabilityBoundingSet= from the installed unit and
runs that command with setpriv as that user (the namespace, seccomp and file system settings only systemd
applies are checked offline by systemd-analyze). $NOTIFY_SOCKET is a socket of the test, so the READY=1
that Type=notify waits for is checked too. The machine is restored whatever happens: the package is purged
and a recheckd user this test created is removed (CI runs as root on a shared machine)."""
import contextlib
import grp
import http.client
import os
import pwd
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

PKG = "recheck"
USER_GECOS = "recheckd health checks and relay"
UNIT = "/lib/systemd/system/recheckd.service"
CONF = "/etc/recheck/recheckd.yaml"
# What the maintainer scripts and deb-systemd-helper create outside the package's own file list.
STATE_PATHS = [
    "/etc/recheck",
    "/etc/systemd/system/recheckd.service",
    "/etc/systemd/system/multi-user.target.wants/recheckd.service",
    "/var/lib/systemd/deb-systemd-helper-enabled/recheckd.service.dsh-also",
    "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/recheckd.service",
    "/var/lib/systemd/deb-systemd-helper-masked/recheckd.service",
]
MAX_EXPOSURE = 2.5


def run(argv, timeout=300, check=True, **kw):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise AssertionError("%s: exit %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(argv), res.returncode, res.stdout, res.stderr))
    return res


def dpkg(*args):
    """dpkg, retried while another dpkg or apt holds the lock (other jobs install packages too)."""
    deadline = time.monotonic() + 120
    while True:
        res = run(["dpkg"] + list(args), check=False)
        locked = "lock" in res.stderr and res.returncode != 0
        if not locked or time.monotonic() > deadline:
            return res
        time.sleep(1)


def installed():
    res = run(["dpkg-query", "-W", "-f=${Status}", PKG], check=False)
    return res.returncode == 0 and "installed" in res.stdout.split()


def our_user():
    try:
        return pwd.getpwnam("recheckd").pw_gecos == USER_GECOS
    except KeyError:
        return False


def unit_values(text, key):
    return [line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith(key + "=")]


class PackageDeb(harness.Case):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest_skip("needs root: installs and purges the package on this machine")
        for tool in ("cpack", "dpkg", "dpkg-shlibdeps", "lintian", "systemd-analyze", "setpriv", "fakeroot", "strace"):
            if not harness.which(tool):
                raise AssertionError("%s is missing (tests/deps.sh installs it)" % tool)
        if installed() or harness.user_exists("recheckd"):
            if not installed() and not our_user():
                raise AssertionError("a recheckd user that this package did not create exists: not touching it")
            sys.stderr.write("purging a recheck package or user left by an earlier run\n")
            cls.restore()

    @classmethod
    def restore(cls):
        if installed() or os.path.exists("/var/lib/dpkg/info/%s.list" % PKG):
            dpkg("--purge", PKG)
        if our_user():
            run(["userdel", "recheckd"], check=False)
        if harness.group_exists("recheckd") and not harness.user_exists("recheckd") and not grp.getgrnam("recheckd").gr_mem:
            run(["groupdel", "recheckd"], check=False)

    def stop_and_restore(self):
        # cleanups run last-registered first: stop what runs as recheckd before its user is deleted
        self.procs.stop_all()
        self.restore()

    def build_deb(self):
        """A Release build with prefix /usr, kept under the build directory so later runs rebuild only what
        changed. Returns the path of the .deb."""
        bdir = os.path.join(harness.BUILD, "pkg-deb")
        run(["cmake", "-S", harness.SRC, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_INSTALL_PREFIX=/usr",
             "-DRECHECK_TESTS=OFF"])
        run(["cmake", "--build", bdir, "-j2"], timeout=600)
        for old in os.listdir(bdir):
            if old.endswith(".deb"):
                os.unlink(os.path.join(bdir, old))
        res = run(["cpack", "-G", "DEB"], cwd=bdir)
        debs = [f for f in os.listdir(bdir) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, res.stdout)
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        with open(os.path.join(harness.SRC, "CMakeLists.txt")) as f:
            ver = re.search(r"project\(recheck VERSION ([0-9.]+)", f.read())
        self.assertEqual(debs[0], "recheck_%s_%s.deb" % (ver.group(1), arch))
        return os.path.join(bdir, debs[0])

    def test_deb_install_run_purge(self):
        before = {p: os.path.lexists(p) for p in STATE_PATHS}
        self.assertFalse(any(before.values()), "left from before: %r" % before)
        self.assertFalse(harness.user_exists("recheckd"))
        self.assertFalse(harness.group_exists("recheckd"))
        deb = self.build_deb()
        self.addCleanup(self.stop_and_restore)

        # The control data: dependencies from shlibdeps, conffiles, maintainer scripts.
        info = run(["dpkg-deb", "-I", deb]).stdout
        depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
        for lib in ("libc6", "libcurl4", "libpcap0.8", "libpcre2-8-0", "libyaml-0-2", "libssl3"):
            self.assertIn(lib, depends)
        self.assertEqual(run(["dpkg-deb", "-f", deb, "Package"]).stdout.strip(), PKG)
        ctl = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", deb, ctl])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(ctl, script), os.X_OK), script)
        with open(os.path.join(ctl, "conffiles")) as f:
            self.assertEqual(sorted(f.read().split()), sorted([CONF, "/etc/recheck/socks5-generate-204.yaml"]))
        files = [line.split()[-1].lstrip(".") for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines()
                 if not line.startswith("d")]
        for f in ("/usr/bin/recheck", "/usr/sbin/recheckd", UNIT, CONF, "/etc/recheck/socks5-generate-204.yaml",
                  "/usr/lib/sysusers.d/recheckd.conf", "/usr/share/man/man1/recheck.1.gz",
                  "/usr/share/man/man5/recipe.5.gz", "/usr/share/man/man8/recheckd.8.gz",
                  "/usr/share/doc/recheck/copyright", "/usr/share/doc/recheck/examples/recheckd.yaml"):
            self.assertIn(f, files)

        # lintian: no error (warnings are printed for the log).
        res = run(["lintian", "--tag-display-limit", "0", deb], check=False)
        sys.stderr.write("lintian:\n%s%s" % (res.stdout, res.stderr))
        errors = [line for line in res.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [])

        # Install.
        res = dpkg("-i", deb)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertTrue(installed())
        self.assertTrue(our_user(), "postinst did not create the recheckd user")
        pw = pwd.getpwnam("recheckd")
        self.assertLess(pw.pw_uid, 1000, "not a system user")
        self.assertTrue(harness.group_exists("recheckd"))
        self.assertTrue(os.path.islink("/etc/systemd/system/multi-user.target.wants/recheckd.service"),
                        "the unit is not enabled")
        conf_list = run(["dpkg-query", "-W", "-f=${Conffiles}", PKG]).stdout
        self.assertIn(CONF, conf_list)
        self.assertIn("/etc/recheck/socks5-generate-204.yaml", conf_list)
        for f in files:
            self.assertTrue(os.path.lexists(f), f)

        # The installed configuration checks, as root and as the user the unit runs as.
        with open(UNIT) as f:
            unit = f.read()
        start = shlex.split(unit_values(unit, "ExecStart")[0])
        self.assertEqual(start[0], "/usr/sbin/recheckd")
        res = run(["/usr/sbin/recheckd", "-c", "-f", CONF])
        self.assertIn("configuration is valid", res.stdout)
        user = unit_values(unit, "User")[0]
        group = unit_values(unit, "Group")[0]
        self.assertEqual((user, group), ("recheckd", "recheckd"))
        as_user = ["setpriv", "--reuid", user, "--regid", group, "--init-groups"]
        run(as_user + [start[0], "-c", "-f", CONF])
        for pre in unit_values(unit, "ExecStartPre"):
            run(as_user + shlex.split(pre))

        # The installed unit, offline.
        # --man=no: verify would look the Documentation= pages up in man-db's index, which the man-db
        # trigger may not have updated yet (it skips a directory whose mtime it has seen this second);
        # the pages are checked by path instead.
        res = run(["systemd-analyze", "verify", "--man=no", UNIT], check=False)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertNotIn("recheckd.service:", res.stdout + res.stderr)
        docs = " ".join(unit_values(unit, "Documentation")).split()
        self.assertEqual(len(docs), 3, docs)
        for doc in docs:
            m = re.fullmatch(r"man:([a-z-]+)\(([1-8])\)", doc)
            self.assertIsNotNone(m, doc)
            page = "/usr/share/man/man%s/%s.%s.gz" % (m.group(2), m.group(1), m.group(2))
            self.assertIn(page, files)
            res = run(["man", "-l", page], env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
            self.assertIn(m.group(1).upper(), res.stdout)
        res = run(["systemd-analyze", "security", "--offline=yes", UNIT], check=False)
        m = re.search(r"Overall exposure level for recheckd\.service: ([0-9.]+)", res.stdout)
        self.assertIsNotNone(m, res.stdout + res.stderr)
        sys.stderr.write("systemd-analyze security: %s\n" % m.group(0))
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE)

        self.relay_as_unit_user(unit, start)

        # Purge: nothing the package or its scripts made is left.
        res = dpkg("--purge", PKG)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertFalse(installed())
        left = [f for f in files if os.path.lexists(f)]
        self.assertEqual(left, [])
        for d in ("/etc/recheck", "/usr/share/doc/recheck", "/usr/lib/sysusers.d/recheckd.conf"):
            self.assertFalse(os.path.lexists(d), d)
        self.assertEqual({p: os.path.lexists(p) for p in STATE_PATHS}, before)
        self.assertFalse(harness.user_exists("recheckd"))
        self.assertFalse(harness.group_exists("recheckd"))
        self.assertFalse(os.path.exists("/var/lib/dpkg/info/%s.list" % PKG))

    def relay_as_unit_user(self, unit, start):
        """Runs the unit's ExecStart as its User= with NoNewPrivileges and the capability bounding set, on a
        configuration of this test (the shipped one relays to a proxy this machine does not have), under
        strace: waits for READY=1 on a notify socket of the test, lets a health check (an HTTP recipe)
        mark the server UP, relays one HTTP request, reloads with SIGHUP, stops with SIGTERM; then every
        system call recheckd made must be one the unit's SystemCallFilter= allows."""
        self.assertEqual(unit_values(unit, "NoNewPrivileges"), ["yes"])
        caps = unit_values(unit, "CapabilityBoundingSet")
        self.assertEqual(caps, ["CAP_NET_BIND_SERVICE"])
        origin = self.start_origin()
        lport, sport = harness.free_port(), harness.free_port()
        sdir = os.path.join(self.tmp, "svc")
        os.mkdir(sdir)
        os.chmod(self.tmp, 0o755)
        os.chmod(sdir, 0o755)
        harness.sample_for_port(os.path.join("local", "http-local-204.yaml"), origin, os.path.join(sdir, "check.yaml"))
        os.chmod(os.path.join(sdir, "check.yaml"), 0o644)
        conf = os.path.join(sdir, "recheckd.yaml")
        with open(conf, "w") as f:
            f.write("user: recheckd\nthreads: 2\nstats: {bind: \"127.0.0.1:%d\"}\nlisteners:\n  - name: it\n"
                    "    bind: \"127.0.0.1:%d\"\n    check: {recipe: check.yaml, inter: 200ms, rise: 1}\n"
                    "    servers:\n      - {name: origin, address: \"127.0.0.1:%d\"}\n" % (sport, lport, origin))
        os.chmod(conf, 0o644)
        argv = list(start)
        argv[argv.index("-f") + 1] = conf
        nsock_path = os.path.join(sdir, "notify")
        nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(nsock.close)
        nsock.bind(nsock_path)
        os.chmod(nsock_path, 0o666)
        nsock.settimeout(0.5)
        env = dict(os.environ, NOTIFY_SOCKET=nsock_path)
        trace = os.path.join(sdir, "strace.txt")
        with open(trace, "w"):
            pass
        os.chown(trace, pwd.getpwnam("recheckd").pw_uid, grp.getgrnam("recheckd").gr_gid)
        p = self.procs.start(["setpriv", "--reuid", "recheckd", "--regid", "recheckd", "--init-groups",
                              "--no-new-privs", "--bounding-set", "-all,+net_bind_service", "--inh-caps", "-all",
                              "strace", "-f", "-qq", "-c", "-U", "name", "-o", trace] + argv, "recheckd", env=env)
        notes = []

        def notified(what):
            with contextlib.suppress(socket.timeout):
                notes.append(nsock.recv(4096))
            return any(what in n for n in notes) or p.poll() is not None

        harness.wait_for(lambda: notified(b"READY=1"), timeout=15, what="READY=1")
        self.assertIsNone(p.poll(), self.procs.log(p))
        pid = int(run(["pgrep", "-P", str(p.pid), "-x", "recheckd"]).stdout.split()[0])
        uid = pwd.getpwnam("recheckd").pw_uid
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        self.assertRegex(status, r"Uid:\s+%d\s+%d\s+%d\s+%d" % (uid, uid, uid, uid))
        self.assertRegex(status, r"NoNewPrivs:\s+1")
        self.assertRegex(status, r"CapBnd:\s+0000000000000400")  # CAP_NET_BIND_SERVICE only

        def metric_up():
            with contextlib.suppress(OSError):
                c = http.client.HTTPConnection("127.0.0.1", sport, timeout=2)
                c.request("GET", "/metrics")
                body = c.getresponse().read().decode()
                c.close()
                return re.search(r'recheck_server_up\{[^}]*server="origin"[^}]*\} 1', body)
            return None

        harness.wait_for(metric_up, timeout=15, what="the health check marks the server UP")
        conn = http.client.HTTPConnection("127.0.0.1", lport, timeout=10)
        conn.request("GET", "/generate_204")
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 204, self.procs.log(p))
        conn.request("GET", "/bytes/%d" % (4 << 20))  # bulk: spliced through the kernel
        resp = conn.getresponse()
        self.assertEqual((resp.status, len(resp.read())), (200, 4 << 20))
        conn.close()
        notes.clear()
        os.kill(pid, signal.SIGHUP)
        harness.wait_for(lambda: notified(b"READY=1"), timeout=15, what="READY=1 after the reload")
        os.kill(pid, signal.SIGTERM)  # recheckd itself: strace exits with its status and writes the summary
        p.wait(30)
        self.assertEqual(p.returncode, 0, self.procs.log(p))

        with open(trace) as f:
            used = {line.strip() for line in f if line.strip() and not line.startswith(("%", "-", "syscall"))}
        used = {u.split()[0] for u in used if u.split()[0] != "total"}
        allowed, denied = set(), set()
        for flt in unit_values(unit, "SystemCallFilter"):
            names = set()
            for item in flt.lstrip("~").split():
                names |= syscall_set(item)
            (denied if flt.startswith("~") else allowed).update(names)
        self.assertGreater(len(used), 20, used)
        self.assertIn("splice", used)
        sys.stderr.write("recheckd made %d distinct system calls\n" % len(used))
        self.assertEqual(sorted(u for u in used if u not in allowed or u in denied), [],
                         "system calls the unit's SystemCallFilter= would refuse")


_SYSCALL_SETS = {}


def syscall_set(item):
    """The system call names of a systemd filter item (a name, or a @group expanded recursively)."""
    if not item.startswith("@"):
        return {item}
    if item not in _SYSCALL_SETS:
        out = run(["systemd-analyze", "syscall-filter", item]).stdout
        names = set()
        for line in out.splitlines()[1:]:
            w = line.strip()
            if not w or w.startswith("#"):
                continue
            names |= syscall_set(w)
        _SYSCALL_SETS[item] = names
    return _SYSCALL_SETS[item]


def unittest_skip(why):
    import unittest
    return unittest.SkipTest(why)


if __name__ == "__main__":
    harness.main()
