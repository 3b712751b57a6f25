#!/usr/bin/python3
"""Make tests/fuzz-seeds-sim/: the seeds of tests/fuzz_sim.c.

Each seed is one configuration byte (tests/fuzz_sim.c, pick_config) and a
trace from tests/litmus/, traces/examples/ or tests/regress/.  The byte's
preset is 0 (the trace's config lines decide), and the configuration
flags of a litmus trace's `# observe:` line (--device, --machine, --fault,
--fs-opts, --block-semantics, --background, --set), other than files, become a `config` line,
so that each seed runs as its test does.  Bits 3-4 (check's --states)
cycle over the seeds so that every policy has some.

The seeds named hand-*.trace are written by hand (odd but valid traces:
fds never opened, offsets near 2^64, a directory renamed into itself, CPU
stores in a block trace, ...) and are kept as they are.

Run from the top of the tree: tools/fuzz_seeds_sim.py (it replaces the
other seeds).
"""
import glob
import os
import shlex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fuzz-seeds-sim")
KEYS = {"--device": "device", "--machine": "machine", "--fault": "fault",
        "--fs-opts": "fs-opts", "--block-semantics": "block-semantics",
        "--background": "background", "--set": "set"}


def config_line(first):
    """A config line for the flags of a '# observe:' line, or None."""
    if not first.startswith("# observe:"):
        return None
    args = shlex.split(first[len("# observe:"):])
    out = []
    for i, a in enumerate(args[:-1]):
        if a not in KEYS:
            continue
        v = args[i + 1]
        if "/" in v or v.endswith(".so") or v.endswith(".machine"):
            continue            # files: not in the fuzz target
        out.append("%s=%s" % (KEYS[a], v))
    return "config " + " ".join(out) + "\n" if out else None


def with_config(text, cfg):
    lines = text.splitlines(keepends=True)
    at = 0
    for i, line in enumerate(lines):
        w = line.split("#", 1)[0].split()
        if not w:
            continue
        if w[0] in ("version", "config"):
            at = i + 1
            continue
        break
    return "".join(lines[:at] + [cfg] + lines[at:])


def main():
    files = sorted(glob.glob("tests/litmus/**/*.trace", root_dir=ROOT, recursive=True) +
                   glob.glob("traces/examples/*.trace", root_dir=ROOT) +
                   glob.glob("tests/regress/*.trace", root_dir=ROOT))
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if not old.startswith("hand-"):  # the generated ones
            os.remove(os.path.join(OUT, old))
    for n, f in enumerate(files):
        text = open(os.path.join(ROOT, f), encoding="utf-8").read()
        cfg = config_line(text.split("\n", 1)[0])
        if cfg:
            text = with_config(text, cfg)
        # states policy: bounded:1 (0, 1), sample:3 (2), exhaustive (3)
        sel = (n % 4) << 3
        name = f.replace("/", "-")
        with open(os.path.join(OUT, name), "wb") as o:
            o.write(bytes([sel]) + text.encode("utf-8"))
        # a trace that names no device runs under a preset too (1-7, in
        # turn), so that the corpus starts with every configuration
        if "device=" not in text:
            sel |= 1 + n % 7
            with open(os.path.join(OUT, "preset-" + name), "wb") as o:
                o.write(bytes([sel]) + text.encode("utf-8"))
    print("%d seeds in %s" % (len(os.listdir(OUT)), os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    main()
