#!/usr/bin/python3
"""Write NAME.expected for the block litmus traces from their reasoning.

Each trace states its allowed outcomes in `# expect:` comment lines, as
tuples of fill bytes, one per `blk:OFF:LEN` observation of its `# observe:`
line, e.g. `# expect: 11,00 11,22` (sector 0 holds 0x11 and sector 1 zeros,
or sector 0 0x11 and sector 1 0x22).  Every observed range is written with
a single repeated byte, so its crc32 follows from the byte alone.  This
script only does the arithmetic; the sets are the reasoning in the trace.
A trace that observes anything but blk: (the `-words` traces' u64:) has
its NAME.expected written by hand and is left alone.

With --plugin it also (re)writes the plugin copies: every trace whose
observe line has `# plugin: ARGS` is copied to plugin-bbwc-NAME.trace with
`--device build/plugins/bbwc.so ARGS` replacing its --device.

    python3 tests/litmus/block/expected.py [--plugin]
"""
import glob
import os
import re
import shlex
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def expected(path):
    text = open(path).read()
    first = text.splitlines()[0]
    m = re.match(r"# observe: (.*)$", first)
    args = shlex.split(m.group(1))
    specs = args[0].split(",")
    if not all(s.startswith("blk:") for s in specs):
        return None     # u64:/mem: observations: NAME.expected by hand
    lens = []
    for s in specs:
        k, off, ln = s.split(":")
        assert k == "blk"
        lens.append(int(ln, 0))
    outs = set()
    for line in re.findall(r"^# expect:(.*)$", text, re.M):
        for tup in line.split():
            bs = [int(b, 16) for b in tup.split(",")]
            assert len(bs) == len(specs), (path, tup)
            outs.add(" ".join("%s=crc32=%08x" % (s, zlib.crc32(bytes([b]) * n))
                              for s, b, n in zip(specs, bs, lens)))
    assert outs, path
    return "".join(o + "\n" for o in sorted(outs))


def plugin_copies():
    for path in sorted(glob.glob(os.path.join(HERE, "*.trace"))):
        name = os.path.basename(path)
        if name.startswith("plugin-"):
            continue
        text = open(path).read()
        m = re.search(r"^# plugin: (.*)$", text, re.M)
        if not m:
            continue
        lines = text.splitlines(True)
        args = shlex.split(lines[0][len("# observe: "):])
        out, skip = [], False
        for a in args:
            if skip:
                skip = False
                continue
            if a == "--device":
                skip = True
                continue
            out.append(a)
        out += ["--device", "build/plugins/bbwc.so"] + shlex.split(m.group(1))
        lines[0] = "# observe: " + " ".join(shlex.quote(a) for a in out) + "\n"
        lines.insert(1, "# A copy of %s on the example plugin (expected.py --plugin):\n"
                        "# the plugin must give the built-in device's outcomes.\n" % name)
        open(os.path.join(HERE, "plugin-bbwc-" + name), "w").write("".join(lines))


if __name__ == "__main__":
    if "--plugin" in sys.argv:
        plugin_copies()
    for path in sorted(glob.glob(os.path.join(HERE, "*.trace"))):
        want = expected(path)
        if want is not None:
            open(path[:-len(".trace")] + ".expected", "w").write(want)
