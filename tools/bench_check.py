#!/usr/bin/python3
"""bench_check.py — the brief's `check` figures, each beside its command.

  check.fs_states_per_s   states covered per second, exhaustively, on the
                          example filesystem traces (-j 2), with the number
                          of judgements behind them (docs/semantics.md K6)
  check.fs_plain_per_s    the same with --no-reduce: every state recovered,
                          fsck'd and judged one by one
  check.corpus_s          the 328 CrashMonkey seq-1 workloads imported and
                          checked exhaustively at every crash point
  check.doubling          check time as a trace's length doubles

Wall-clock figures on a shared machine are noisy: each is the best of
--repeat runs.  Usage: tools/bench_check.py [--powercut PATH] [--repeat N]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "crashmonkey-seq1")
EXAMPLES = ["append-fsync", "rename-replace", "link-fdatasync"]


def timed(cmd, repeat):
    best = None
    for _ in range(repeat):
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        dt = time.time() - t0
        if p.returncode not in (0, 1):
            sys.exit("bench_check: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
        best = dt if best is None or dt < best else best
    return best


def check_json(pc, trace, words, d, repeat):
    js = os.path.join(d, "r.json")
    cmd = [pc, "check", trace] + words + ["-j", "2", "--no-progress", "--json", js]
    dt = timed(cmd, repeat)
    st = json.load(open(js))["states"]
    return dt, st["checked"], st["images_judged"], cmd


def doubling_trace(path, n):
    """N rounds of: append a record and fsync; every 4th round replace a
    file by rename (the pattern of the examples)."""
    with open(path, "w") as f:
        f.write("version 1\nopen fd=3 path=/log flags=O_CREAT|O_WRONLY|O_APPEND\n")
        for i in range(n):
            f.write("write fd=3 len=100 data=rand:%d\nfsync fd=3\n" % (i + 1))
            if i % 4 == 3:
                f.write("open fd=4 path=/c.tmp flags=O_CREAT|O_WRONLY|O_TRUNC\n"
                        "write fd=4 len=64 data=fill:0x%02x\nfsync fd=4\nclose fd=4\n"
                        "rename from=/c.tmp to=/c\n" % (i & 0xff))
        f.write("close fd=3\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(ROOT, "powercut"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pc = os.path.abspath(a.powercut)
    print("# bench_check %s, powercut %s" % (time.strftime("%Y-%m-%d"), pc))
    with tempfile.TemporaryDirectory() as d:
        for cfg, words in (("disk-wc", ["--device", "disk-wc"]),
                           ("nobarrier disk-wc", ["--device", "disk-wc", "--fs-opts", "nobarrier"])):
            tot_t = tot_s = tot_j = 0
            for ex in EXAMPLES:
                tr = os.path.join(ROOT, "traces", "examples", ex + ".trace")
                dt, states, judged, cmd = check_json(pc, tr, words, d, a.repeat)
                tot_t += dt
                tot_s += states
                tot_j += judged
                print("check %-18s %-15s %12d states %8d judgements %7.3f s   %s"
                      % (cfg, ex, states, judged, dt, " ".join(cmd[1:])))
            print("check.fs_states_per_s[%s]: %.0f states/s (%.0f judgements/s; %d states, "
                  "%.3f s, -j 2)" % (cfg, tot_s / tot_t, tot_j / tot_t, tot_s, tot_t))
        tr = os.path.join(ROOT, "traces", "examples", "append-fsync.trace")
        words = ["--device", "disk-wc", "--fs-opts", "nobarrier", "--no-reduce"]
        dt, states, judged, cmd = check_json(pc, tr, words, d, a.repeat)
        print("check.fs_plain_per_s: %.0f states/s, every state judged (%d states, %.3f s)   %s"
              % (states / dt, states, dt, " ".join(cmd[1:])))

        wl = sorted(glob.glob(os.path.join(CORPUS, "j-lang*")))
        if wl:
            def one(f):
                out = os.path.join(d, os.path.basename(f) + ".trace")
                subprocess.run([pc, "import", "jlang", f, "-o", out], check=True,
                               stdout=subprocess.DEVNULL)
                p = subprocess.run([pc, "check", out, "--no-progress"], stdout=subprocess.PIPE,
                                   text=True)
                return p.returncode
            best = None
            for _ in range(a.repeat):
                t0 = time.time()
                with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                    rcs = list(pool.map(one, wl))
                dt = time.time() - t0
                best = dt if best is None or dt < best else best
            print("check.corpus_s: %.2f s for %d workloads imported and checked exhaustively "
                  "at every crash point (%d clean; two at a time)   powercut import jlang W -o T; "
                  "powercut check T" % (best, len(wl), rcs.count(0)))

        prev = None
        for n in (64, 128, 256, 512, 1024, 2048):
            tr = os.path.join(d, "dbl%d.trace" % n)
            doubling_trace(tr, n)
            dt = timed([pc, "check", tr, "--no-progress"], a.repeat)
            lines = sum(1 for _ in open(tr))
            print("check.doubling: %4d rounds, %5d lines: %.3f s%s"
                  % (n, lines, dt, "" if prev is None else "  (x%.2f)" % (dt / prev)))
            prev = dt


if __name__ == "__main__":
    main()
