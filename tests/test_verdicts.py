#!/usr/bin/python3
"""test_verdicts.py — the brief's "Expected verdicts" table, end to end.

Each row of the table is a configuration and what `powercut check` must
find on the bundled example traces with fsyncs, renames and appends:
"nothing" rows must exit 0 with zero violations over an exhaustive run
(every state at every crash point); "violations" rows must exit 1, with
violations of the named invariant where the brief names one.  The DAX rows
run on the same examples (their write()s take the DAX path) and on
traces/examples/dax-mmap-msync.trace, the one with mmap stores, msync and
fsync; the dax_flush=none violation row only on that one (without mmap
stores there is nothing for it to lose).  Then every CrashMonkey seq-1 workload of
../shared/corpus/crashmonkey-seq1 is imported (`powercut import jlang`)
and must check clean on the default configuration, exhaustively.

Usage: tests/test_verdicts.py [--no-corpus] [--corpus-only] [-v]
Environment: POWERCUT (the binary, default ./powercut at the top of the
tree), POWERCUT_CORPUS (the j-lang directory).

The last line is `verdicts: N passed, N failed`; the exit status is 1 if
anything failed.
"""
import collections
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PC = os.environ.get("POWERCUT", os.path.join(ROOT, "powercut"))
CORPUS = os.environ.get("POWERCUT_CORPUS", os.path.normpath(
    os.path.join(ROOT, "..", "shared", "corpus", "crashmonkey-seq1")))
EX = os.path.join(ROOT, "traces", "examples")

# The example traces the table is judged on (each says in its comments
# what it exercises).
EXAMPLES = [
    "append-fsync.trace",
    "rename-replace.trace",
    "link-fdatasync.trace",
]

# Every "nothing" row, pmem and DAX included, is exhaustive.  pmem and
# pmem-wb copy every 4 KiB block through 64 cache lines, each of which may
# tear at 8-byte granularity (cache/ C4): a single block in flight is more
# than 2^512 crash states.  The reduced enumeration (K6) covers them with a
# few judgements per point: recovery reads a journal block's header before
# its body, a branch is taken per class of a group's choices that differ on
# the bytes read, and a separable cluster is judged once per (word, value).
#
# The one row not run exhaustively is a "violations" row, pmem-wb with
# flushes ignored: finding its violations is all the row asks, and there
# the violating journal states defeat the reduction (over 10 minutes for
# append-fsync).  It runs with every state in which at most one volatile
# group left its base choice, and says so.
VIOLATIONS_BOUND = {"--device pmem-wb --fault ignore-flush": "bounded:1"}

# The disk rows, "nothing" and "violations" alike, are exhaustive: the
# reduced enumeration (explore.h, docs/semantics.md K6) covers every state
# of every point -- 13 million at one point of rename-replace without
# barriers -- with one judgement per group of states that agree on every
# byte recovery and the oracle read.
# (configuration words, expected, invariant or None)
ROWS = [
    ("--device disk-wc", "nothing", None),
    ("--device disk-wt", "nothing", None),
    ("--device pmem", "nothing", None),
    ("--device pmem-wb", "nothing", None),
    ("--fs-opts data=journal --device disk-wc", "nothing", None),
    ("--fs-opts data=journal --device disk-wt", "nothing", None),
    ("--fs-opts data=journal --device pmem", "nothing", None),
    ("--fs-opts data=journal --device pmem-wb", "nothing", None),
    ("--fs-opts nobarrier --device disk-wt", "nothing", None),
    ("--fs-opts nobarrier --device disk-wc", "violations", None),
    ("--fs-opts data=ordered,journal_async_commit --device disk-wc", "violations",
     "referenced-data"),
    ("--device disk-wc --fault ignore-flush", "violations", None),
    ("--device pmem-wb --fault ignore-flush", "violations", None),
]

# DAX rows (docs/semantics.md F22-F27): (words, expected, invariant,
# examples).  Exhaustive, as the pmem rows (a block zeroed or copied with
# non-temporal stores before its fence is 512 independent 8-byte chunks).
# hammer writes back every line of the namespace at each fsync and msync
# (16 M clwbs on the default 1 GiB).
DAX_EXAMPLE = "dax-mmap-msync.trace"
DAX_ROWS = [
    ("--device pmem --fs-opts dax,dax_flush=none --machine adr", "violations",
     "sync-promise", [DAX_EXAMPLE]),
    ("--device pmem-wb --fs-opts dax,dax_flush=none --machine adr", "violations",
     "sync-promise", [DAX_EXAMPLE]),
    ("--device pmem --fs-opts dax,dax_flush=none --machine eadr", "nothing", None,
     EXAMPLES + [DAX_EXAMPLE]),
    ("--device pmem --fs-opts dax,dax_flush=tracked --machine adr", "nothing", None,
     EXAMPLES + [DAX_EXAMPLE]),
    ("--device pmem --fs-opts dax,dax_flush=hammer --machine adr", "nothing", None,
     EXAMPLES + [DAX_EXAMPLE]),
    ("--device pmem-wb --fs-opts dax,dax_flush=tracked --machine adr", "nothing", None,
     EXAMPLES + [DAX_EXAMPLE]),
    ("--device pmem --fs-opts dax,dax_flush=tracked --machine pcommit", "nothing", None,
     [DAX_EXAMPLE]),
]


def run_check(trace, words, states):
    """Returns (rc, counts by invariant, states checked, exhaustive, secs, err)."""
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "r.json")
        cmd = [PC, "check", trace] + words.split() + ["--states", states, "--json", js,
                                                     "--no-progress", "-j", "2"]
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        secs = time.time() - t0
        if p.returncode == 2 or not os.path.exists(js):
            return p.returncode, {}, 0, False, secs, p.stderr.strip() or p.stdout[-300:]
        with open(js) as f:
            r = json.load(f)
        counts = collections.Counter(v["invariant"] for v in r["violations"])
        st = r["states"]
        return p.returncode, dict(counts), st["checked"], st["exhaustive"], secs, ""


def table(verbose):
    passed = failed = 0
    print("Expected verdicts (brief), on %s (DAX rows also on %s)"
          % (", ".join(EXAMPLES), DAX_EXAMPLE))
    rows = [(w, e, i, EXAMPLES) for w, e, i in ROWS] + DAX_ROWS
    for words, expect, inv, examples in rows:
        states = VIOLATIONS_BOUND.get(words, "exhaustive") if expect != "nothing" else \
            "exhaustive"
        for ex in examples:
            rc, counts, checked, exh, secs, err = run_check(os.path.join(EX, ex), words, states)
            if expect == "nothing":
                ok = rc == 0 and not counts and exh
            else:
                ok = rc == 1 and sum(counts.values()) > 0 and (inv is None or inv in counts)
            by = ", ".join("%s %d" % kv for kv in sorted(counts.items())) or "none"
            note = "" if exh else "  [%s, NOT exhaustive]" % states
            print("%s %-62s %-22s expect %-10s exit %s, violations: %s; states %d, %.1fs%s%s"
                  % ("PASS" if ok else "FAIL", words, ex, expect + ("(" + inv + ")" if inv else ""),
                     rc, by, checked, secs, note, ("; " + err) if err else ""))
            if ok:
                passed += 1
            else:
                failed += 1
    return passed, failed


def corpus(verbose):
    files = sorted(glob.glob(os.path.join(CORPUS, "j-lang*")))
    if not files:
        print("FAIL corpus: no j-lang workloads in %s (the CrashMonkey seq-1 corpus "
              "belongs in ../shared/corpus beside the tree; POWERCUT_CORPUS=DIR names "
              "another place)" % CORPUS)
        return 0, 1
    passed = failed = 0
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        def one(f):
            out = os.path.join(d, os.path.basename(f) + ".trace")
            p = subprocess.run([PC, "import", "jlang", f, "-o", out], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if p.returncode:
                return f, p.returncode, "import: " + p.stderr.strip()
            p = subprocess.run([PC, "check", out, "--states", "exhaustive", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            msg = p.stderr.strip()
            if p.returncode == 1:
                msg = "\n".join(l for l in p.stdout.splitlines() if l.startswith("  ["))[:400]
            return f, p.returncode, msg

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for f, rc, msg in pool.map(one, files):
                if rc == 0:
                    passed += 1
                    if verbose:
                        print("PASS corpus %s" % os.path.basename(f))
                else:
                    failed += 1
                    print("FAIL corpus %s: exit %d %s" % (os.path.basename(f), rc, msg))
    print("corpus: %d workloads, %d clean, %d not, exhaustive at every crash point, %.1fs"
          % (len(files), passed, failed, time.time() - t0))
    return (1, 0) if failed == 0 else (0, 1)


def main():
    verbose = "-v" in sys.argv
    passed = failed = 0
    if "--corpus-only" not in sys.argv:
        p, f = table(verbose)
        passed += p
        failed += f
    if "--no-corpus" not in sys.argv:
        p, f = corpus(verbose)
        passed += p
        failed += f
    print("verdicts: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
