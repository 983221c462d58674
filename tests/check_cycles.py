#!/usr/bin/env python3
"""check_cycles.py OBJECT_DIR SOURCE_DIR: fails when the modules of src/ call each other in a circle (issue 10).

A module is one src/*.c file. Module A depends on module B when A's object file uses a symbol (a
function or a table) that B's defines; the graph is read from the compiled objects with nm, so it sees
calls, not includes (a header may declare what its users define, as dissect_priv.h does). Every strongly
connected set of more than one module is a circle and is reported with the symbols that close it.
No circle is allowed. The layers this keeps honest are written down in the README (Layout): the check
engine one way down, the socket driver check_io_tls.c -> check_io.c (TLS reached back through the
transport table), the balancer lb.c -> lb_map.c / lb_chash.c -> lb_table.c, and the recorder's dissection
dissect.c -> dissect_*.c -> dx.c.
Objects whose source is gone from SOURCE_DIR (a file renamed since the last build) are not read.
usage: tests/check_cycles.py BUILD_DIR/CMakeFiles/recheck_core.dir/src SRC_DIR
"""
import os
import subprocess
import sys

def module_of(path):
    name = os.path.basename(path)
    return name[:-len(".c.o")] if name.endswith(".c.o") else os.path.splitext(name)[0]


def read_symbols(objs):
    """{module: (defined set, undefined set)} from one nm run over every object."""
    out = subprocess.run(["nm", "-A", "-g", "--no-sort"] + objs, check=True, capture_output=True,
                         text=True).stdout
    mods = {module_of(o): (set(), set()) for o in objs}
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) < 2:
            continue
        kind, sym = parts[-2], parts[-1]
        d, u = mods[module_of(path)]
        (u if kind == "U" else d).add(sym)
    return mods


def circles(edges):
    """Tarjan's strongly connected components of size > 1, iteratively (no recursion limit)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 3 or not os.path.isdir(sys.argv[1]) or not os.path.isdir(sys.argv[2]):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    objs = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1])
                  if f.endswith(".c.o") and os.path.exists(os.path.join(sys.argv[2], f[:-2])))
    if len(objs) < 10:
        print("check_cycles: %d object files in %s: not a build of src/" % (len(objs), sys.argv[1]),
              file=sys.stderr)
        return 2
    mods = read_symbols(objs)
    owner = {}
    for m, (d, _) in mods.items():
        for s in d:
            owner[s] = m
    edges = {m: set() for m in mods}
    why = {}
    for m, (_, u) in mods.items():
        for s in u:
            b = owner.get(s)
            if b and b != m:
                edges[m].add(b)
                why.setdefault((m, b), []).append(s)
    found = circles(edges)
    for comp in found:
        print("check_cycles: circle among src/%s:" % ", src/".join(c + ".c" for c in comp))
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    print("  %s.c -> %s.c (%s)" % (a, b, ", ".join(sorted(why[(a, b)])[:5])))
    if found:
        return 1
    print("check_cycles: %d modules, %d dependencies, no circle" % (len(mods), sum(len(e) for e in edges.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
