#!/usr/bin/env python3
"""Golden tests of `recheck from-pcap`: runs every case of TESTLIST and diffs its YAML and HAProxy output
against the committed files next to this script.

  run_golden.py            run, exit 1 on any difference (a unified diff is printed)
  run_golden.py --update   rewrite the expected files from the current output
  run_golden.py CASE...    only these cases

Environment: RECHECK_BIN (the recheck binary), RECHECK_SOURCE_DIR (the source tree), as CTest sets them.
"""
import difflib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("RECHECK_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
RECHECK = os.path.abspath(os.environ.get("RECHECK_BIN", os.path.join(SRC, "build", "recheck")))
GEN = os.path.join(SRC, "tests", "gen", "pcapgen.py")


def cases():
    with open(os.path.join(HERE, "TESTLIST")) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cols = [c.strip() for c in line.split("|")]
            if len(cols) != 5:
                raise SystemExit("TESTLIST:%d: expected 5 columns separated by '|', got %d" % (n, len(cols)))
            yield n, cols


def run(argv, cwd):
    return subprocess.run(argv, cwd=cwd, capture_output=True, timeout=60)


def main():
    update = "--update" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    failed = 0
    total = 0
    tmp = tempfile.mkdtemp(prefix="recheck-golden-")
    try:
        for n, (case, gen, args, yml, hap) in cases():
            if only and case not in only:
                continue
            total += 1
            pcap = case + ".pcap"
            g = shlex.split(gen)
            r = run([sys.executable, GEN, g[0], "-o", pcap] + g[1:], tmp)
            if r.returncode:
                print("FAIL %s: pcapgen: %s" % (case, r.stderr.decode()))
                failed += 1
                continue
            for fmt, expected in (("yaml", yml), ("haproxy", hap)):
                r = run([RECHECK, "from-pcap", pcap, "--format", fmt] + shlex.split(args), tmp)
                if r.returncode:
                    print("FAIL %s (%s): recheck exited %d:\n%s" % (case, fmt, r.returncode, r.stderr.decode()))
                    failed += 1
                    continue
                path = os.path.join(HERE, expected)
                if update:
                    with open(path, "wb") as f:
                        f.write(r.stdout)
                    continue
                try:
                    with open(path, "rb") as f:
                        want = f.read()
                except OSError as e:
                    print("FAIL %s (%s): %s (run with --update to create it)" % (case, fmt, e))
                    failed += 1
                    continue
                if want != r.stdout:
                    failed += 1
                    print("FAIL %s (%s): output differs from %s (TESTLIST:%d)" % (case, fmt, expected, n))
                    sys.stdout.writelines(difflib.unified_diff(
                        want.decode(errors="replace").splitlines(True),
                        r.stdout.decode(errors="replace").splitlines(True), expected, "recheck output"))
                else:
                    print("ok   %s (%s)" % (case, fmt))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not total:
        print("no case matched")
        return 1
    print("%d case(s), %d failure(s)%s" % (total, failed, " (expected files updated)" if update else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
