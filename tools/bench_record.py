#!/usr/bin/python3
"""tools/bench_record.py — the recorder's overhead (make bench,
docs/performance.md): a realistic libpmem program (tests/record/pmem_log.c:
a checksummed 256-byte record appended with pmem_memcpy_persist, then an
8-byte count published with pmem_persist, N times) run natively and under
`powercut record`, side by side in one run; prints

    record.overhead  <ratio>x  <command>

The recorder is `POWERCUT record` if wired, else the driver the test builds
(tests/record/driver.c).  Best of --repeat runs each.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import test_record  # noqa: E402  (build helpers)


def best(cmd, env, repeat, pool):
    t = None
    for _ in range(repeat):
        if os.path.exists(pool):
            os.unlink(pool)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode:
            sys.exit("bench_record: %s failed: %s" % (" ".join(cmd), p.stderr.decode()[-400:]))
        t = dt if t is None else min(t, dt)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(ROOT, "powercut"))
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="powercut-bench-record-")
    exe = test_record.build(work, a.cc)
    rec = test_record.recorder(os.path.abspath(a.powercut), work, a.cc) if exe else None
    if not exe or not rec:
        sys.exit("bench_record: cannot build the program or the recorder")
    pool = os.path.join(work, "pool")
    trace = os.path.join(work, "bench.trace")
    env = dict(os.environ, PMEM_IS_PMEM_FORCE="1")
    prog = [exe["pmem_log"], pool, str(a.records)]
    native = best(prog, env, a.repeat, pool)
    recorded = best(rec + ["-o", trace, "--pmem", pool, "--"] + prog, env, a.repeat, pool)
    with open(trace) as f:
        nev = sum(1 for line in f if line.strip() and not line.startswith("#"))
    shown = "powercut record -o T --pmem POOL -- pmem_log POOL %d" % a.records
    print("record.native    %.4fs  pmem_log POOL %d" % (native, a.records))
    print("record.recorded  %.4fs  %s  (%d events)" % (recorded, shown, nev))
    print("record.overhead  %.1fx  %s" % (recorded / native, shown))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
