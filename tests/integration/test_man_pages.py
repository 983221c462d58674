#!/usr/bin/env python3
"""The man pages stay true: every option that `recheck CMD --help` lists appears in that command's section
of recheck(1), every option of `recheckd --help` and every configuration key recheckd accepts (the key
tables of runner/conf.c and runner/conf_server.c) in recheckd(8), every recipe key (the tables of
src/recipe_yaml.c) in recipe(5); each page formats without a groff warning."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

DOCS = os.path.join(harness.SRC, "docs")
COMMANDS = ("record", "from-pcap", "flows", "replay", "export", "import", "show", "lint")
# An option definition line of a --help text: indented, starting with -x or --long.
OPT_LINE = re.compile(r"^\s{1,10}(-[A-Za-z0-9]|--[a-z])")
LONG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SHORT = re.compile(r"(?<![\w-])(-[A-Za-z0-9])(?![\w-])")


def page(name):
    """The page source with roff escapes undone, enough to search for option names and keys."""
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("\\-", "-").replace("\\e", "\\")
    return re.sub(r"\\f(\[[A-Z]*\]|[BIRP])", "", text)


def help_options(argv):
    res = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res
    opts = set()
    # the usage lines (up to the first blank line) name options too, some only there
    for line in res.stdout.split("\n\n")[0].splitlines():
        opts.update(LONG.findall(line))
    for line in res.stdout.splitlines():
        if OPT_LINE.match(line):
            # the definition part only (before the description, which is two or more spaces away)
            head = re.split(r"\s{2,}", line.strip())[0]
            opts.update(LONG.findall(head))
            opts.update(SHORT.findall(head))
    return opts


def conf_keys(path):
    with open(os.path.join(harness.SRC, path), encoding="utf-8") as f:
        src = f.read()
    keys = set()
    # either a list of names or a table of KEY_*("name", ...) entries
    for body in re.findall(r"static const (?:char \*const|struct key) \w+_keys\[\] = \{(.*?)\n?\};", src, re.S):
        keys.update(re.findall(r'"([a-z_-]+)"', body))
    return keys


def has(text, word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


class ManPages(harness.Case):
    def test_recheck_1_lists_every_option_of_every_command(self):
        text = page("recheck.1")
        sections = re.split(r'^\.SS "recheck ', text, flags=re.M)
        by_cmd = {}
        for s in sections[1:]:
            by_cmd[s.split()[0]] = s
        self.assertEqual(sorted(by_cmd), sorted(COMMANDS))
        for cmd in COMMANDS:
            opts = help_options([harness.RECHECK, cmd])
            self.assertIn("--help", opts, cmd)
            self.assertGreater(len(opts), 1, cmd)
            missing = sorted(o for o in opts - {"-h", "--help"} if not has(by_cmd[cmd], o))
            self.assertEqual(missing, [], "recheck %s --help lists these, recheck(1) does not" % cmd)
        top = help_options([harness.RECHECK])
        for o in top | {"--version", "-V", "-v"}:
            self.assertTrue(has(text, o), o)

    def test_recheckd_8_lists_every_option_and_key(self):
        text = page("recheckd.8")
        opts = help_options([harness.RECHECKD])
        self.assertIn("--config", opts)
        missing = sorted(o for o in opts if not has(text, o))
        self.assertEqual(missing, [], "recheckd --help lists these, recheckd(8) does not")
        keys = conf_keys("runner/conf.c") | conf_keys("runner/conf_server.c")
        for k in ("drain_timeout", "threads", "address", "spread", "client"):
            self.assertIn(k, keys)
        missing = sorted(k for k in keys if not has(text, k))
        self.assertEqual(missing, [], "runner/conf*.c accept these keys, recheckd(8) does not describe them")

    def test_recipe_5_lists_every_key(self):
        text = page("recipe.5")
        keys = conf_keys("src/recipe_yaml.c")
        self.assertIn("send-binary", keys)
        missing = sorted(k for k in keys if not has(text, k))
        self.assertEqual(missing, [], "src/recipe_yaml.c accepts these keys, recipe(5) does not describe them")

    def test_pages_format_cleanly(self):
        groff = harness.which("groff")
        if not groff:
            self.fail("groff is missing (man-db depends on groff-base)")
        for name in ("recheck.1", "recipe.5", "recheckd.8"):
            res = subprocess.run([groff, "-man", "-ww", "-z", "-Tutf8", os.path.join(DOCS, name)],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual((res.returncode, res.stderr), (0, ""), name)
            with open(os.path.join(DOCS, name), encoding="utf-8") as f:
                self.assertTrue(f.read().startswith(".TH %s %s " % (name.split(".")[0].upper(), name[-1])), name)


if __name__ == "__main__":
    harness.main()
