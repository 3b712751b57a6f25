#!/usr/bin/python3
"""make bench: the performance figures of docs/performance.md.

Each figure is printed beside the command that produced it.  Wall-clock
times are the best of --repeat runs (default 3), so a busy machine makes a
figure worse, never better.  Traces are generated deterministically by
build/*/tools/gen_trace into a temporary directory.

Figures:
  run.cpu_events_per_s     powercut run on a generated 10M-event CPU trace
  run.block_events_per_s   the same on a 10M-event block trace
  run.file_events_per_s    the same on a 10M-event file trace
  run.1gib_peak_rss_mib    peak RSS replaying a generated trace of >= 1 GiB
  cache.accesses_per_s     the cache model alone on bench_cache's synthetic
                           stream (a stress case: cache/cache_bench.c),
                           keeping what crash states need
  cache.run_accesses_per_s the same without crash states (as `run`)
  cache.gzip_accesses_per_s  the cache model alone on a real program's data
                           accesses: gzip -9 of a fixed 64 KiB input under
                           valgrind lackey, imported (needs valgrind, gzip)
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, repeat):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            sys.exit("bench: %s failed: %s" % (" ".join(cmd), p.stderr.decode()))
        best = dt if best is None else min(best, dt)
    return best


def peak_rss_kib(cmd):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench: %s failed" % " ".join(cmd))
    return ru.ru_maxrss


def figure(name, value, unit, cmd):
    print("%-28s %14s %-10s %s" % (name, value, unit, cmd), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default="./powercut")
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--skip-1gib", action="store_true")
    a = ap.parse_args()
    pc = os.path.abspath(os.path.join(ROOT, a.powercut))
    gen = os.path.join(ROOT, a.build, "tools", "gen_trace")
    print("powercut bench, %s, %d cores" % (time.strftime("%Y-%m-%d"), os.cpu_count()))
    print("%-28s %14s %-10s %s" % ("figure", "value", "unit", "command"))
    with tempfile.TemporaryDirectory() as d:
        for kind in ("cpu", "block", "file"):
            # the filesystem journals every fsync: a million events is enough
            n = a.events if kind != "file" else min(a.events, 1_000_000)
            path = os.path.join(d, "%s.trace" % kind)
            subprocess.run([gen, "--events", str(n), "--kind", kind, "-o", path], check=True)
            cmd = [pc, "run", path]
            dt = timed(cmd, a.repeat if kind == "cpu" else 1)
            figure("run.%s_events_per_s" % kind, "%.0f" % (n / dt), "events/s",
                   "gen_trace --events %d --kind %s; powercut run TRACE  (%.2f s)" % (n, kind, dt))
            os.unlink(path)
        if not a.skip_1gib:
            path = os.path.join(d, "big.trace")
            n = 40_000_000
            subprocess.run([gen, "--events", str(n), "--kind", "cpu", "-o", path], check=True)
            size = os.path.getsize(path)
            rss = peak_rss_kib([pc, "run", path])
            figure("run.1gib_peak_rss_mib", "%.1f" % (rss / 1024), "MiB",
                   "gen_trace --events %d (%.2f GiB); powercut run TRACE" % (n, size / 2**30))
            os.unlink(path)
        # check: crash states judged per second, one process, at the
        # heaviest point of the block example (three 4 KiB writes in flight:
        # 24 independent 512-byte units, 16,777,216 states)
        cmd = [pc, "check", "traces/examples/jbd2-commit.trace", "--points", "10",
               "--no-progress", "--json", os.path.join(d, "c.json")]
        dt = timed(cmd, 1)
        import json
        rep = json.load(open(os.path.join(d, "c.json")))
        n = rep["states"]["checked"]
        figure("check.states_per_s", "%.0f" % (n / dt), "states/s",
               "powercut check traces/examples/jbd2-commit.trace --points 10  "
               "(%d states, %.2f s)" % (n, dt))
        bench_cache = os.path.join(ROOT, a.build, "tools", "bench_cache")
        if os.path.exists(bench_cache):
            rate, out = cache_rate([bench_cache], a.repeat)
            figure("cache.accesses_per_s", "%.0f" % rate, "accesses/s",
                   "bench_cache  (synthetic stress stream, crash states kept, best of %d: %s)"
                   % (a.repeat, out))
            rate, out = cache_rate([bench_cache], a.repeat, "run only")
            figure("cache.run_accesses_per_s", "%.0f" % rate, "accesses/s",
                   "bench_cache  (the same stream, no crash states as in `run`, best of %d: %s)"
                   % (a.repeat, out))
            gz = gzip_trace(pc, gen, d)
            if gz:
                rate, out = cache_rate([bench_cache, gz], a.repeat)
                figure("cache.gzip_accesses_per_s", "%.0f" % rate, "accesses/s",
                       "valgrind --tool=lackey gzip -9; powercut import lackey; "
                       "bench_cache TRACE  (best of %d: %s)" % (a.repeat, out))
            else:
                print("cache.gzip_accesses_per_s    skipped: needs valgrind and gzip")


def cache_rate(cmd, repeat, which=None):
    """bench_cache's rate, best of REPEAT runs, and its line: the last one
    (crash states kept), or the first holding WHICH."""
    best, line = 0.0, ""
    for _ in range(repeat):
        out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode()
        lines = out.strip().splitlines()
        line = next((x for x in lines if which in x), lines[-1]) if which else lines[-1]
        m = re.search(r"([0-9.]+) M accesses/s", line)
        if m and float(m.group(1)) * 1e6 > best:
            best = float(m.group(1)) * 1e6
    return best, line


def gzip_trace(pc, gen, d):
    """A real program's data accesses as a trace: gzip -9 of a fixed input
    (the first 64 KiB of a generated CPU trace) recorded by valgrind lackey
    and imported (docs/import-lackey.md).  None without valgrind or gzip."""
    if not shutil.which("valgrind") or not shutil.which("gzip"):
        return None
    src = os.path.join(d, "gz.in")
    log = os.path.join(d, "gz.log")
    trace = os.path.join(d, "gz.trace")
    subprocess.run([gen, "--events", "4000", "--kind", "cpu", "-o", src], check=True)
    with open(src, "r+b") as f:
        f.truncate(64 << 10)
    with open(os.devnull, "wb") as null:
        subprocess.run(["valgrind", "--tool=lackey", "--trace-mem=yes", "--log-file=" + log,
                        "gzip", "-9", "-c", src], stdout=null, stderr=null, check=True)
    subprocess.run([pc, "import", "lackey", log, "-o", trace], check=True,
                   stdout=subprocess.DEVNULL)
    os.unlink(log)
    return trace


if __name__ == "__main__":
    main()
