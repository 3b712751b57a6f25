#!/usr/bin/python3
"""tools/bench_record.py — the recorder's overhead (make bench,
docs/performance.md): a realistic libpmem program (tests/record/pmem_log.c:
a checksummed 256-byte record appended with pmem_memcpy_persist, then an
8-byte count published with pmem_persist, N times) run natively and under
`powercut record`; prints

    record.native    <best>s  (median <m>s)  pmem_log POOL N
    record.recorded  <best>s  (median <m>s)  powercut record ... (E events)
    record.overhead  <ratio>x  (best of R each; medians: <ratio>x)  <command>

Both runs get the same environment (PMEM_IS_PMEM_FORCE=1) and the same
pool path, created afresh by the program each time.  After one untimed
run of each, the two are timed alternately, --repeat times, so that both
see the same load on a shared machine.  The ratio is best recorded over
best native; the ratio of the medians follows it.

The recorder is `POWERCUT record` if wired, else the driver the test builds
(tests/record/driver.c).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import test_record  # noqa: E402  (build helpers)


def timed(cmd, env, pool):
    if os.path.exists(pool):
        os.unlink(pool)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode:
        sys.exit("bench_record: %s failed: %s" % (" ".join(cmd), p.stderr.decode()[-400:]))
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(ROOT, "powercut"))
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=7)
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
    recorded_cmd = rec + ["-o", trace, "--pmem", pool, "--"] + prog
    timed(prog, env, pool)
    timed(recorded_cmd, env, pool)
    native, recorded = [], []
    for _ in range(max(1, a.repeat)):
        native.append(timed(prog, env, pool))
        recorded.append(timed(recorded_cmd, env, pool))
    with open(trace) as f:
        nev = sum(1 for line in f if line.strip() and not line.startswith("#"))
    shown = "powercut record -o T --pmem POOL -- pmem_log POOL %d" % a.records
    print("record.native    %.4fs  (median %.4fs)  pmem_log POOL %d"
          % (min(native), statistics.median(native), a.records))
    print("record.recorded  %.4fs  (median %.4fs)  %s  (%d events)"
          % (min(recorded), statistics.median(recorded), shown, nev))
    print("record.overhead  %.1fx  (best of %d each; medians: %.1fx)  %s"
          % (min(recorded) / min(native), len(native),
             statistics.median(recorded) / statistics.median(native), shown))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
