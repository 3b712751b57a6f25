#!/usr/bin/python3
"""diffcheck.py — the same `check` results from two powercut binaries.

A differential test for changes that must not change any result (memos,
indexes, faster paths: docs/semantics.md K6).  Every trace is checked by
both binaries under every configuration; the exit status, standard
output, standard error and the `--json` report (its `elapsed_s` value
blanked) must be byte-identical.

    tools/diffcheck.py --old OLD/powercut --new ./powercut [-j 2] [TRACE...]

Without TRACE arguments the traces are: traces/examples, tests/litmus/fs
and tests/litmus/block, tests/regress, tests/unexplored, ~40 CrashMonkey
seq-1 workloads (every 8th of ../shared/corpus/crashmonkey-seq1, imported
by `powercut import jlang`; the two binaries' imports are compared too)
and the doubling traces of tools/bench_check.py (64 and 256 rounds under
every configuration, 1,024 under the default).  Configurations
(--configs): default; --device pmem; --device pmem-wb; each of those
two with --machine pcommit (pmem-pcommit, pmem-wb-pcommit); --fs-opts
nobarrier; --fs-opts data=journal; --fs-opts data=writeback; and "own":
a trace's `# check: ARGS` line, or its `# observe:` line's options (the
observation and --at left out), where it has one.

Prints every difference as it is found (the command and the first
differing line), every command that timed out (not compared), then how
many were compared; exit 1 if any differ, 0 otherwise.  --sets picks
sets of the default traces (e.g. two runs on disjoint sets share the
machine better).
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "crashmonkey-seq1")
sys.path.insert(0, os.path.join(ROOT, "tools"))

CONFIGS = {
    "default": [],
    "pmem": ["--device", "pmem"],
    "pmem-wb": ["--device", "pmem-wb"],
    "pmem-pcommit": ["--device", "pmem", "--machine", "pcommit"],
    "pmem-wb-pcommit": ["--device", "pmem-wb", "--machine", "pcommit"],
    "nobarrier": ["--fs-opts", "nobarrier"],
    "data=journal": ["--fs-opts", "data=journal"],
    "data=writeback": ["--fs-opts", "data=writeback"],
}


def own_args(path):
    """A trace's own check options, or None."""
    try:
        text = open(path, errors="replace").read(8192)
    except OSError:
        return None
    m = re.search(r"^# check:(.*)$", text, re.M)
    if m:
        return shlex.split(m.group(1))
    m = re.match(r"# observe: (.*)$", text.splitlines()[0] if text else "")
    if not m:
        return None
    words = shlex.split(m.group(1))[1:]	# the observation left out
    out, i = [], 0
    while i < len(words):
        if words[i] == "--at":
            i += 2
            continue
        w = words[i]
        if w.startswith("build/plugins/"):
            w = os.path.join(ROOT, w)
            if not os.path.exists(w):
                return None		# the plugin is not built
        out.append(w)
        i += 1
    return out


def corpus_workloads(step):
    names = sorted(os.listdir(CORPUS), key=lambda n: (len(n), n)) if os.path.isdir(CORPUS) else []
    return [os.path.join(CORPUS, n) for n in names if n.startswith("j-lang")][::step]


SETS = {
    "examples": "traces/examples/*.trace",
    "fs": "tests/litmus/fs/*.trace",
    "block": "tests/litmus/block/*.trace",
    "regress": "tests/regress/*.trace",
    "unexplored": "tests/unexplored/*.trace",
    "corpus": None,
    "doubling": None,
}


def default_traces(tmp, old, new, step, sets, problems):
    """[(trace, [config names])]"""
    six = list(CONFIGS)
    out = []
    for name, pat in SETS.items():
        if pat is None or name not in sets:
            continue
        for t in sorted(glob.glob(os.path.join(ROOT, pat))):
            out.append((os.path.relpath(t, ROOT), six + (["own"] if own_args(t) else [])))
    for w in corpus_workloads(step) if "corpus" in sets else []:
        name = os.path.basename(w)
        tn, to = os.path.join(tmp, name + ".trace"), os.path.join(tmp, name + ".old.trace")
        a = subprocess.run([new, "import", "jlang", w, "-o", tn], capture_output=True, text=True)
        b = subprocess.run([old, "import", "jlang", w, "-o", to], capture_output=True, text=True)
        if (a.returncode, a.stdout, a.stderr) != (b.returncode, b.stdout, b.stderr) or \
                (a.returncode == 0 and open(tn, "rb").read() != open(to, "rb").read()):
            problems.append("import jlang %s: the binaries' imports differ" % name)
        if a.returncode == 0:
            out.append((tn, six))
    from bench_check import doubling_trace
    for n, cfgs in ((64, six), (256, six), (1024, ["default"])) if "doubling" in sets else ():
        t = os.path.join(tmp, "d%d.trace" % n)
        doubling_trace(t, n)
        out.append((t, cfgs))
    return out


ELAPSED = re.compile(r'("elapsed_s":\s*)[-0-9.eE+]+')


def run_one(pc, trace, args, tmp, tag, timeout, ignore=()):
    js = os.path.join(tmp, "r-%s.json" % tag)
    if os.path.exists(js):
        os.unlink(js)
    cmd = [pc, "check", trace] + args + ["--no-progress", "--json", js]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    rep = ELAPSED.sub(r"\g<1>0", open(js).read()) if os.path.exists(js) else "(no report)"
    # a parameter one build has and the other not: its line in "config"
    for name in ignore:
        rep = re.sub(r'\n *"%s": "[^"]*",?' % re.escape(name), "", rep)
    return {"exit": str(p.returncode), "stdout": p.stdout, "stderr": p.stderr, "json": rep}


def first_diff(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "(end)"
        y = lb[i] if i < len(lb) else "(end)"
        if x != y:
            return "line %d: old %r, new %r" % (i + 1, x[:200], y[:200])
    return "(equal lines, different bytes)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="the reference powercut binary")
    ap.add_argument("--new", required=True, help="the powercut binary under test")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="commands run at once")
    ap.add_argument("--configs", default=",".join(list(CONFIGS) + ["own"]),
                    help="configuration names, comma-separated")
    ap.add_argument("--corpus-step", type=int, default=8,
                    help="every Nth CrashMonkey workload (default 8: 41 of 328)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds per command (a command that times out is listed, not compared)")
    ap.add_argument("--sets", default=",".join(SETS),
                    help="without TRACE arguments, which sets of traces: " + ", ".join(SETS))
    ap.add_argument("--progress", action="store_true", help="progress on standard error")
    ap.add_argument("--ignore-param", action="append", default=[], metavar="NAME",
                    help="leave the model parameter NAME out of both reports' config "
                    "(a parameter the new build added); repeatable")
    ap.add_argument("traces", nargs="*")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    want = set(a.configs.split(","))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        if a.traces:
            traces = [(os.path.abspath(t), list(CONFIGS) + (["own"] if own_args(t) else []))
                      for t in a.traces]
        else:
            traces = default_traces(tmp, old, new, a.corpus_step, set(a.sets.split(",")),
                                    problems)
        jobs = []
        for t, cfgs in traces:
            for c in cfgs:
                if c in want:
                    jobs.append((t, c, own_args(t) if c == "own" else CONFIGS[c]))

        def work(i):
            t, c, args = jobs[i]
            r_old = run_one(old, t, args, tmp, "%d-old" % i, a.timeout, a.ignore_param)
            r_new = run_one(new, t, args, tmp, "%d-new" % i, a.timeout,
                            a.ignore_param) if r_old else None
            return i, r_old, r_new

        compared = done = 0
        timedout = []
        for p in problems:
            print("  " + p, flush=True)
        with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
            for f in concurrent.futures.as_completed([ex.submit(work, i)
                                                      for i in range(len(jobs))]):
                i, r_old, r_new = f.result()
                t, c, args = jobs[i]
                what = "check %s %s" % (t, " ".join(args))
                done += 1
                if a.progress and (done % 50 == 0 or done == len(jobs)):
                    print("diffcheck: %d of %d" % (done, len(jobs)), file=sys.stderr, flush=True)
                if r_old is None or r_new is None:
                    timedout.append("%s: the %s binary timed out: not compared" %
                                    (what, "old" if r_old is None else "new"))
                    print("  " + timedout[-1], flush=True)
                    continue
                compared += 1
                for k in ("exit", "stdout", "stderr", "json"):
                    if r_old[k] != r_new[k]:
                        problems.append("%s: %s differs: %s" %
                                        (what, k, first_diff(r_old[k], r_new[k])))
                        print("  " + problems[-1], flush=True)
    print("diffcheck: %d commands compared (%d traces), %d differences, %d timed out" %
          (compared, len(traces), len(problems), len(timedout)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
