#!/usr/bin/python3
"""Random differential: `powercut outcomes` against tests/ref_block.py.

Generates --count small random block traces from --seed (four 512-byte
sectors; writes of 512 or 1024 bytes with fill:0xNN payloads, PREFLUSH
and FUA flags, empty flushes, discards, `wait id=N`, `wait all`), and
for each runs both models under every combination of --device
disk-wc|disk-wt, --block-semantics linux|barrier and --at end|all, with
the trace's atomic unit (512 or 1024) and, on disk-wc, native or
emulated FUA (disk.fua).  Every sector is observed (blk:OFF:512 each);
the two sets of outcomes must be equal.

Traces stay inside the reference's limits (tests/ref_block.py, "Limits"):
every PREFLUSH bio and flush (under barrier, every barrier bio) is waited
for before the trace ends (L1), ids are not reused, no faults.  With
--cache-size N (B9: a bounded cache, whose "oldest first" destaging is
the model's choice) powercut's set need only be a subset of the
reference's unbounded one, and must still hold the initial image under
--at all.

With --free-waits a PREFLUSH bio or flush is waited for anywhere later
(or by a `wait all`), which meets the L1 gap (docs/semantics.md, block
layer: powercut lacks states a device that ran the pre-flush at once
leaves); such differences -- linux, disk-wc, powercut's set a strict
subset, a PREFLUSH bio not waited for at once -- are counted apart and
shown with -v.

Prints each disagreement with its trace and command, then one summary
line; exit 1 if any.

    tests/test_ref_block.py [--powercut ./powercut] [--count 300] [--seed 1]
        [--device D] [--semantics S] [--free-waits] [--cache-size N]
        [--sectors N] [--max-bios N] [--plugin SO] [--keep DIR] [-v]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_block  # noqa: E402

NSECTORS = 4        # --sectors
MAX_BIOS = 5        # --max-bios
FLAGS = ["", "", "", "PREFLUSH", "FUA", "PREFLUSH|FUA"]


def gen_trace(rng, barrier_waits, free_waits):
    """A valid random trace.  barrier_waits: also wait for every FUA
    write (a barrier bio under --block-semantics barrier).  Unless
    free_waits, every PREFLUSH bio and flush is waited for at once (the
    L1 gap: docs/semantics.md, block notes)."""
    lines, submitted, unwaited = [], [], set()
    flagged = {}
    nbio = 0
    for _ in range(rng.randint(2, MAX_BIOS + 3)):
        r = rng.random()
        if nbio < MAX_BIOS and (r < 0.5 or not submitted):
            nbio += 1
            bid = nbio
            if rng.random() < 0.2:
                pf = rng.random() < 0.5
                lines.append("bio id=%d op=flush%s" % (bid, " flags=PREFLUSH" if pf else ""))
                flagged[bid] = True
            else:
                nsec = rng.choice([1, 1, 2])
                sec = rng.randint(0, NSECTORS - nsec)
                fl = rng.choice(FLAGS)
                if rng.random() < 0.1:  # a write of zeros in both models
                    lines.append("bio id=%d op=discard sector=%d len=%d%s"
                                 % (bid, sec, nsec * 512, " flags=" + fl if fl else ""))
                else:
                    lines.append("bio id=%d op=write sector=%d len=%d%s data=fill:0x%02x"
                                 % (bid, sec, nsec * 512, " flags=" + fl if fl else "", bid * 0x11))
                flagged[bid] = "PREFLUSH" in fl or (barrier_waits and "FUA" in fl)
            submitted.append(bid)
            if not free_waits and (lines[-1].find("PREFLUSH") > 0 or "op=flush" in lines[-1]):
                lines.append("wait id=%d" % bid)
            else:
                unwaited.add(bid)
        elif unwaited and r < 0.85:
            bid = rng.choice(sorted(unwaited))
            lines.append("wait id=%d" % bid)
            unwaited.discard(bid)
        else:
            lines.append("wait all")
            unwaited.clear()
    left = sorted(b for b in unwaited if flagged[b])
    if left and rng.random() < 0.3:
        lines.append("wait all")
    else:
        rng.shuffle(left)
        lines += ["wait id=%d" % b for b in left]
    return "".join(x + "\n" for x in lines)


def late_preflush(trace):
    """Does a PREFLUSH bio or flush have another event before its wait?
    (The L1 gap needs one: docs/semantics.md, block layer.)"""
    lines = trace.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("bio ") and ("PREFLUSH" in ln or "op=flush" in ln):
            bid = ln.split()[1]
            if i + 1 >= len(lines) or lines[i + 1] != "wait " + bid:
                return True
    return False


def decode(line):
    """An outcomes line -> tuple of sector bytes (each sector one fill)."""
    out = []
    for part in line.split():
        crc = part.rsplit("=", 1)[1]
        out.append(CRC.get(crc, crc))
    return tuple(out)


CRC = {"%08x" % zlib.crc32(bytes([b]) * 512): "%02x" % b for b in range(256)}


def main():
    global NSECTORS, MAX_BIOS
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(os.path.dirname(HERE), "powercut"))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-size", type=int, default=None)
    ap.add_argument("--device", action="append", default=None)
    ap.add_argument("--semantics", action="append", default=None)
    ap.add_argument("--sectors", type=int, default=NSECTORS)
    ap.add_argument("--max-bios", type=int, default=MAX_BIOS)
    ap.add_argument("--plugin", default=None,
                    help="run powercut on this bbwc-like plugin instead: plugin.arg=1 for "
                         "disk-wc, 0 for disk-wt (docs/driver-guide.md)")
    ap.add_argument("--free-waits", action="store_true",
                    help="wait for PREFLUSH bios and flushes anywhere later (shows the L1 gap)")
    ap.add_argument("--keep", default=None, help="write each failing trace here")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    NSECTORS, MAX_BIOS = a.sectors, a.max_bios
    devices = a.device or ["disk-wc", "disk-wt"]
    semantics = a.semantics or ["linux", "barrier"]
    rng = random.Random(a.seed)
    specs = ",".join("blk:%d:512" % (i * 512) for i in range(NSECTORS))
    tmp = tempfile.mkdtemp(prefix="ref_block.")
    path = os.path.join(tmp, "t.trace")
    runs = fails = gaps = 0
    for n in range(a.count):
        barrier_ok = rng.random() < 0.7
        trace = gen_trace(rng, barrier_ok, a.free_waits)
        unit = rng.choice([512, 1024])
        fua = rng.choice(["on", "on", "off"])
        if a.plugin:
            fua = "on"          # bbwc advertises native FUA itself
        with open(path, "w") as f:
            f.write(trace)
        events, _ = ref_block.parse_trace(trace)
        for dev in devices:
            for sem in semantics:
                if sem == "barrier" and not barrier_ok:
                    continue    # a barrier bio left unwaited (L1)
                for at in ("end", "all"):
                    sets = ["disk.atomic_unit=%d" % unit]
                    if dev == "disk-wc":
                        sets.append("disk.fua=" + fua)
                    if a.cache_size is not None:
                        sets.append("disk.cache_size=%d" % a.cache_size)
                    cmd = [a.powercut, "outcomes", path, "--observe", specs, "--at", at,
                           "--device", a.plugin or dev, "--block-semantics", sem]
                    if a.plugin:
                        sets.append("plugin.arg=%d" % (dev == "disk-wc"))
                    for s in sets:
                        cmd += ["--set", s]
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    runs += 1
                    m = ref_block.Model(events, dev, sem, unit,
                                        dev != "disk-wc" or fua == "on", NSECTORS)
                    want = {tuple("%02x" % x for x in img) for img in m.outcomes(at)}
                    got = {decode(x) for x in p.stdout.splitlines()}
                    if a.cache_size is None:
                        good = p.returncode == 0 and got == want
                    else:
                        good = (p.returncode == 0 and got <= want
                                and (at == "end" or ("00",) * NSECTORS in got))
                    if good:
                        continue
                    if (a.free_waits and sem == "linux" and dev == "disk-wc"
                            and p.returncode == 0 and got < want and late_preflush(trace)):
                        gaps += 1       # the L1 gap: docs/semantics.md
                        if not a.v:
                            continue
                        print("L1 gap (known), not counted:")
                    else:
                        fails += 1
                    shown = " ".join(cmd[:2] + ["T.trace"] + cmd[3:])
                    print("DIFF trace %d (seed %d): %s" % (n, a.seed, shown))
                    print("  " + trace.rstrip().replace("\n", "\n  "))
                    if p.returncode:
                        print("  powercut exit %d: %s" % (p.returncode, p.stderr.strip()))
                    print("  powercut only: %s" % " ".join(",".join(t) for t in sorted(got - want)))
                    print("  reference only: %s" % " ".join(",".join(t) for t in sorted(want - got)))
                    if a.keep:
                        os.makedirs(a.keep, exist_ok=True)
                        with open(os.path.join(a.keep, "s%d-t%d.trace" % (a.seed, n)), "w") as f:
                            f.write("# %s\n%s" % (shown, trace))
        if a.v and n % 100 == 99:
            print("%d traces, %d runs, %d differences" % (n + 1, runs, fails), flush=True)
    os.unlink(path)
    os.rmdir(tmp)
    print("ref_block: %d traces (seed %d), %d outcomes runs, %d differences%s"
          % (a.count, a.seed, runs, fails,
             ", %d more of the known L1 gap" % gaps if a.free_waits else ""))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
