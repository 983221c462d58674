#!/usr/bin/env python3
"""Retries, redispatch, the PROXY protocol and server names map to HAProxy 2.6's keywords and back:

- `recheck export --listen` writes retries / option redispatch / accept-proxy / send-proxy[-v2] /
  check-send-proxy / init-addr for names; the real haproxy accepts the section (`haproxy -c`);
- `recheck export --config` writes a recheckd YAML configuration's retries, redispatch, accept_proxy,
  send_proxy, check_send_proxy, DNS names (init-addr last,libc,none) and nameservers/resolve_interval (a
  `resolvers` section); haproxy -c accepts it, recheckd -f reads it back (the way back from HAProxy), and
  exporting what it read gives the same configuration again.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import RECHECKD, SAMPLES, main  # noqa: E402

RECIPE = os.path.join(SAMPLES, "http-proxy-generate-204.yaml")


class ExportResilience(harness.Case):
    def haproxy_ok(self, path):
        res = subprocess.run([harness.which("haproxy"), "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def recheckd_ok(self, path):
        res = subprocess.run([RECHECKD, "-c", "-f", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_export_listen(self):
        res = self.recheck("export", RECIPE, "--listen", "pool", "--bind", "127.0.0.1:11000", "--hash-type",
                           "consistent", "--retries", "2", "--redispatch", "--accept-proxy",
                           "--timeout-queue", "3s",
                           "--server", "a=127.0.0.1:11001,send-proxy-v2,check-send-proxy,maxconn=7,maxqueue=20",
                           "--server", "b=no-such-name.invalid:11002,backup,send-proxy")
        self.assertRc(res, 0)
        out = res.stdout
        for line in ("    bind 127.0.0.1:11000 accept-proxy\n", "    retries 2\n", "    option redispatch\n",
                     "    timeout queue 3s\n",
                     "    server a 127.0.0.1:11001 check send-proxy-v2 check-send-proxy maxconn 7 maxqueue 20\n",
                     "    server b no-such-name.invalid:11002 check backup send-proxy init-addr last,libc,none\n"):
            self.assertIn(line, out)
        cfg = self.write("listen.cfg", "global\n    log stderr local0\ndefaults\n    mode tcp\n" + out)
        self.haproxy_ok(cfg)
        self.recheckd_ok(cfg)
        back = self.recheck("export", "--config", cfg)
        self.assertRc(back, 0)
        for words in ("accept-proxy", "retries 2", "option redispatch", "timeout queue 3s",
                      "server a 127.0.0.1:11001 weight 1 maxconn 7 maxqueue 20 send-proxy-v2",
                      "server b no-such-name.invalid:11002 weight 1 backup init-addr last,libc,none send-proxy"):
            self.assertIn(words, back.stdout)
        res = self.recheck("export", RECIPE, "--listen", "p", "--bind", ":1", "--server", "a=1.2.3.4:5,sendproxy")
        self.assertRc(res, 2)
        res = self.recheck("export", RECIPE, "--retries", "2")
        self.assertRc(res, 2)
        for bad in ("a=1.2.3.4:5,maxconn=-1", "a=1.2.3.4:5,maxqueue=", "a=1.2.3.4:5,maxconn=x"):
            res = self.recheck("export", RECIPE, "--listen", "p", "--bind", ":1", "--server", bad)
            self.assertRc(res, 2, bad)

    def test_export_config_round_trip(self):
        import shutil
        shutil.copy(RECIPE, self.path("r.yaml"))
        yaml = self.write("c.yaml", """allow_root: true
resolve_interval: 5s
nameservers: ["127.0.0.1:5353", "127.0.0.2"]
listeners:
  - name: p
    bind: "127.0.0.1:11000"
    retries: 2
    redispatch: true
    accept_proxy: true
    timeouts: {queue: 1500ms}
    check: {recipe: r.yaml}
    servers:
      - {name: a, address: "127.0.0.1:11001", send_proxy: v2, check_send_proxy: true, maxconn: 3}
      - {name: b, address: "no-such-name.invalid:11002"}
      - {name: c, address: "127.0.0.1:11003", check_send_proxy: true}
""")
        res = self.recheck("export", "--config", yaml)
        self.assertRc(res, 0)
        out = res.stdout
        for words in ("resolvers recheck\n    nameserver ns1 127.0.0.1:5353\n    nameserver ns2 127.0.0.2:53\n"
                      "    hold valid 5s\n", "bind 127.0.0.1:11000 accept-proxy", "retries 2", "option redispatch",
                      "timeout queue 1500ms", "server a 127.0.0.1:11001 weight 1 maxconn 3 send-proxy-v2 check",
                      "server b no-such-name.invalid:11002 weight 1 init-addr last,libc,none resolvers recheck check",
                      "server c 127.0.0.1:11003 weight 1 check-send-proxy check"):
            self.assertIn(words, out)
        cfg = self.write("out.cfg", out)
        self.haproxy_ok(cfg)
        self.recheckd_ok(cfg)
        again = self.recheck("export", "--config", cfg)
        self.assertRc(again, 0)
        strip = lambda t: "\n".join(l for l in t.splitlines() if not l.strip().startswith("#"))  # noqa: E731
        self.assertEqual(strip(again.stdout), strip(out))


if __name__ == "__main__":
    main()
