#!/usr/bin/python3
"""The cache model against an independent reference, on random traces.

Generates --count small random CPU traces from --seed (stores and NT
stores of 1-32 bytes, aligned, unaligned and across lines; clflush,
clflushopt, clwb, sfence, mfence, rmw, wbinvd, pcommit, load, mark; one
to three CPUs; two or three 64-byte lines), and for each machine (adr,
eadr, pcommit) and each of --at end and --at all compares the lines of
`powercut outcomes TRACE --observe mem:0:SIZE` with those of
tests/ref_px86.py, an enumerator written from the rule text alone
(docs/semantics.md, C1-C16).  The traces stay far inside the default
cache geometry and history limits, so the capacity rules (C13, C15)
never act (ref_px86.py's notes).

A trace whose reference passes --limit states at a point is skipped, and
counted.

Prints each disagreement with its trace and both sides' extra lines,
then "ref-cpu: N passed, N failed, N traces skipped ..."; exits non-zero
on any failure.  --keep DIR writes each disagreeing trace there.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_px86  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gen_payload(rng, n, tag):
    """Bytes that differ from store to store and from chunk to chunk, and
    are never 0 (the initial contents)."""
    return bytes(((tag * 29 + i * 7) % 251) + 1 for i in range(n))


def gen_access(rng, size, wide_ok=True):
    """(addr, len) inside [0, size)."""
    r = rng.random()
    if r < 0.55:                        # aligned, within a chunk
        n = rng.choice((8, 8, 8, 4, 2, 1))
        addr = rng.randrange(0, size // 8) * 8 + rng.randrange(0, 8 // n) * n
    elif r < 0.75 and wide_ok:          # wide, chunk-aligned (C7, C8)
        n = rng.choice((16, 16, 24, 32))
        addr = rng.randrange(0, (size - n) // 8 + 1) * 8
    else:                               # unaligned, maybe across chunks/lines
        n = rng.randrange(2, 17 if wide_ok else 9)
        if size > 64 and rng.random() < 0.4:   # straddle a line boundary
            b = rng.randrange(1, size // 64) * 64
            addr = b - rng.randrange(1, n)
        else:
            addr = rng.randrange(0, size - n + 1)
    return addr, n


def gen_trace(rng, machine, max_events):
    nlines = rng.choice((2, 3))
    size = nlines * 64
    ncpus = rng.choice((1, 1, 2, 3))
    weights = {
        "store": 30, "ntstore": 14, "clflush": 5, "clflushopt": 6,
        "clwb": 8, "sfence": 8, "mfence": 3, "rmw": 4, "wbinvd": 1,
        "pcommit": 8 if machine == "pcommit" else 1, "load": 2, "mark": 1,
    }
    span = size
    if rng.random() < 0.25:     # NT stores and fences of CPUs, in one line
        weights.update(ntstore=30, sfence=14, store=12)
        ncpus = rng.choice((2, 3))
        span = 64
    ops = list(weights)
    w = [weights[o] for o in ops]
    out = []
    if ncpus > 1:
        out.append("config cpus=%d" % ncpus)
    nev = rng.randint(1, max_events)
    for k in range(nev):
        op = rng.choices(ops, w)[0]
        while k == 0 and op == "mark":  # a trace needs a CPU event
            op = rng.choices(ops, w)[0]
        cpu = rng.randrange(ncpus)
        c = " cpu=%d" % cpu if cpu or rng.random() < 0.1 else ""
        if op in ("store", "ntstore"):
            addr, n = gen_access(rng, span)
            out.append("%s addr=%d len=%d data=hex:%s%s"
                       % (op, addr, n, gen_payload(rng, n, k + 1).hex(), c))
        elif op == "rmw":
            addr, n = gen_access(rng, span, wide_ok=False)
            out.append("rmw addr=%d len=%d val=%d%s"
                       % (addr, n, int.from_bytes(gen_payload(rng, n, k + 1),
                                                  "little"), c))
        elif op == "load":
            addr, n = gen_access(rng, size)
            out.append("load addr=%d len=%d%s" % (addr, n, c))
        elif op in ("clflush", "clflushopt", "clwb"):
            out.append("%s addr=%d%s" % (op, rng.randrange(span), c))
        elif op == "mark":
            out.append("mark name=m%d" % k)
        else:
            out.append(op + c)
    return size, "\n".join(out) + "\n"


def powercut_outcomes(pc, path, machine, at, observe):
    p = subprocess.run([pc, "outcomes", path, "--machine", machine,
                        "--at", at, "--observe", observe],
                       capture_output=True, text=True)
    return p.returncode, p.stdout.splitlines(), p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--powercut", default=os.path.join(ROOT, "powercut"))
    ap.add_argument("--count", type=int, default=300,
                    help="traces per machine (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--machine", action="append", choices=ref_px86.MACHINES,
                    help="only this machine (repeatable; default all three)")
    ap.add_argument("--max-events", type=int, default=8)
    ap.add_argument("--limit", type=int, default=50000,
                    help="skip a trace whose reference exceeds this many "
                    "states at a point (default 50000)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write each disagreeing trace to DIR")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    machines = a.machine or list(ref_px86.MACHINES)
    passed = failed = 0
    skipped = {m: 0 for m in machines}
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="ref-cpu-") as tmp:
        for machine in machines:
            rng = random.Random("%d/%s" % (a.seed, machine))
            for i in range(a.count):
                size, text = gen_trace(rng, machine, a.max_events)
                path = os.path.join(tmp, "t.trace")
                with open(path, "w") as f:
                    f.write(text)
                observe = "mem:0:%d" % size
                try:
                    ref = ref_px86.run(text, machine, ("end", "all"), observe,
                                       size=size, limit=a.limit)
                except ref_px86.StateLimit:
                    skipped[machine] += 1
                    continue
                for at in ("end", "all"):
                    want = ref[at]
                    rc, got, err = powercut_outcomes(a.powercut, path,
                                                     machine, at, observe)
                    if rc == 0 and got == want:
                        passed += 1
                        continue
                    failed += 1
                    name = "%s-%d-%s" % (machine, i, at)
                    print("FAIL %s (seed %d): powercut outcomes --machine %s "
                          "--at %s --observe %s" % (name, a.seed, machine, at,
                                                    observe))
                    print(text, end="")
                    if rc != 0:
                        print("--- powercut exit %d: %s" % (rc, err.strip()))
                    only_pc = sorted(set(got) - set(want))
                    only_ref = sorted(set(want) - set(got))
                    for line in only_pc:
                        print("--- only powercut: %s" % line)
                    for line in only_ref:
                        print("--- only ref: %s" % line)
                    if a.keep:
                        os.makedirs(a.keep, exist_ok=True)
                        with open(os.path.join(a.keep, name + ".trace"), "w") as f:
                            f.write("# observe: %s --machine %s --at %s\n%s"
                                    % (observe, machine, at, text))
                if a.verbose and (i + 1) % 100 == 0:
                    print("%s: %d traces, %d failed, %.0f s"
                          % (machine, i + 1, failed, time.time() - t0),
                          file=sys.stderr)
    print("ref-cpu: %d passed, %d failed; traces skipped over the state limit: "
          "%s (%d traces per machine, --at end and all, seed %d, %.1f s)"
          % (passed, failed, ", ".join("%s %d" % kv for kv in skipped.items()),
             a.count, a.seed, time.time() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
