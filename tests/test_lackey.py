#!/usr/bin/python3
"""powercut import lackey, and the cache model against cachegrind.

  rules     a hand-written lackey log converts by rules K1-K6
            (docs/import-lackey.md); bad lines fail with FILE:LINE, exit 2
  agree     real programs (a small C program compiled here, /bin/ls) run
            under `valgrind --tool=lackey --trace-mem=yes` and under
            `valgrind --tool=cachegrind --cache-sim=yes` with one D1/LL
            geometry; the lackey log is imported and replayed with
            `powercut run` and the matching --set parameters (no L2, LRU,
            write-allocate); the model's D1 and LL misses must be within
            1% of cachegrind's data misses, D1mr+D1mw and DLmr+DLmw

Needs valgrind and a C compiler.  Prints one line per check and a closing
"lackey: N passed, N failed" line; exits non-zero on any failure.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

passed = 0
failed = 0

# Data misses at every level: a row-major fill, a transpose (column
# stores), and a random walk over 1 MiB.
PROG = r"""
#include <stdio.h>
#define N 512
static double a[N][N], b[N][N];
static int arr[1 << 18];
int main(void)
{
	unsigned long x = 88172645463325252UL, sum = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			a[i][j] = i * N + j;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			b[j][i] = a[i][j];
	for (int k = 0; k < 200000; k++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		arr[x % (1 << 18)] += k;
		sum += arr[(x >> 20) % (1 << 18)];
	}
	printf("%lu %f\n", sum, b[3][7]);
	return 0;
}
"""

# K1-K5 on every line form; the expected events, in order.
LOG = """==123== Lackey, an example Valgrind tool
==123== Command: ./x
--123-- a warning
I  0401ab70,3
 L 1fff000718,8
 S 00001000,4

 M 0000103c,8
 S 00002000,16
==123== Exit code:       0
"""
LOG_EVENTS = [
    "load addr=0x1fff000718 len=8",
    "store addr=0x1000 len=4 val=0x0",
    "load addr=0x103c len=8",
    "store addr=0x103c len=8 val=0x0",
    "store addr=0x2000 len=16 data=fill:0x00",
]
BAD = [
    ("I  0401ab70,3\n L xyz,4\n", 2, "bad address"),
    (" L 1000,4\n S 1000\n", 2, "expected ADDR,SIZE"),
    (" L 1000,0\n", 1, "size 0"),
    (" L 10000000000,8\n", 1, "beyond 1 TiB"),
    ("hello world\n", 1, "not a lackey --trace-mem line"),
    ("==1== only messages\n", 1, "no access"),
]


def ok(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s%s" % (what, (": " + detail) if detail else ""))
    else:
        failed += 1
        print("FAIL %s%s" % (what, ("\n  " + detail.replace("\n", "\n  ")) if detail else ""))


def run(args, cwd=ROOT, timeout=120):
    p = subprocess.run(args, cwd=cwd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def events(text):
    return [l for l in text.splitlines()
            if l and not l.startswith("#") and not l.startswith("version")
            and not l.startswith("config")]


def test_rules(pc, d):
    src = os.path.join(d, "rules.log")
    with open(src, "w") as f:
        f.write(LOG)
    rc, out, err = run([pc, "import", "lackey", src, "-o", "-"])
    ok(rc == 0 and events(out) == LOG_EVENTS, "rules: K1-K5 (lackey)",
       "" if rc == 0 and events(out) == LOG_EVENTS else "exit %d\n%s%s" % (rc, out, err))
    cfg = [l for l in out.splitlines() if l.startswith("config")]
    ok(cfg == ["config pmem.size=137423224832"], "rules: K6 pmem.size covers the highest byte",
       " ".join(cfg))
    rc, out, err = run([pc, "import", "lackey-fetch", src, "-o", "-"])
    evs = events(out)
    ok(rc == 0 and evs[:1] == ["load addr=0x401ab70 len=3 cpu=1"] and evs[1:] == LOG_EVENTS
       and "config pmem.size=137423224832 cpus=2" in out,
       "rules: K2 lackey-fetch keeps fetches on cpu 1", "" if rc == 0 else err)
    for i, (text, line, msg) in enumerate(BAD):
        src = os.path.join(d, "bad%d.log" % i)
        with open(src, "w") as f:
            f.write(text)
        rc, out, err = run([pc, "import", "lackey", src, "-o", os.path.join(d, "bad.trace")])
        want = "%s:%d:" % (src, line)
        good = (rc == 2 and out == "" and len(err.splitlines()) == 1 and want in err
                and msg in err and not os.path.exists(os.path.join(d, "bad.trace")))
        ok(good, "rules: bad input %d (%s) exits 2 with FILE:LINE" % (i, msg),
           "" if good else "exit %d, stderr %r" % (rc, err))


def cachegrind_data_misses(outfile):
    """D1 and LL data misses from a cachegrind.out file's summary line."""
    names = vals = None
    with open(outfile) as f:
        for l in f:
            if l.startswith("events:"):
                names = l.split()[1:]
            elif l.startswith("summary:"):
                vals = [int(v) for v in l.split()[1:]]
    s = dict(zip(names, vals))
    return s["D1mr"] + s["D1mw"], s["DLmr"] + s["DLmw"]


def report_value(text, key):
    m = re.search(r"^%s: (\d+)$" % re.escape(key), text, re.M)
    return int(m.group(1)) if m else None


def test_agree(pc, d, name, argv, fmt, d1, ll):
    """d1, ll: (size, ways, line) as cachegrind's --D1/--LL take them."""
    log = os.path.join(d, name + ".lackey")
    trace = os.path.join(d, name + "." + fmt + ".trace")
    cgout = os.path.join(d, name + ".cg")
    geo = lambda g: "%d,%d,%d" % g
    if not os.path.exists(log):
        rc, _, err = run(["valgrind", "--tool=lackey", "--trace-mem=yes", "--log-file=" + log]
                         + argv, cwd=d)
        if rc != 0:
            ok(False, "agree %s: lackey run" % name, err[-2000:])
            return
    # I1 = D1: with lackey-fetch the model's CPU 1 L1D is the I1, and
    # every L1D has one geometry.  Without it I1 only changes which
    # instruction lines compete for cachegrind's LL.
    rc, _, err = run(["valgrind", "--tool=cachegrind", "--cache-sim=yes",
                      "--I1=" + geo(d1), "--D1=" + geo(d1), "--LL=" + geo(ll),
                      "--cachegrind-out-file=" + cgout] + argv, cwd=d)
    if rc != 0:
        ok(False, "agree %s: cachegrind run" % name, err[-2000:])
        return
    cg_d1, cg_ll = cachegrind_data_misses(cgout)
    rc, _, err = run([pc, "import", fmt, log, "-o", trace])
    if rc != 0:
        ok(False, "agree %s: import %s" % (name, fmt), err)
        return
    sets = ["cache.line=%d" % d1[2], "cache.policy=lru", "cache.inclusive=0",
            "l1d.size=%d" % d1[0], "l1d.ways=%d" % d1[1], "l2.size=0",
            "llc.size=%d" % ll[0], "llc.ways=%d" % ll[1]]
    args = [pc, "run", trace]
    for s in sets:
        args += ["--set", s]
    rc, out, err = run(args)
    if rc != 0:
        ok(False, "agree %s: powercut run" % name, err)
        return
    rep = out + err
    pre = "cpu0." if fmt == "lackey-fetch" else ""
    m_d1, m_ll = report_value(rep, pre + "l1d.misses"), report_value(rep, pre + "llc.misses")
    for level, m, c in (("D1", m_d1, cg_d1), ("LL", m_ll, cg_ll)):
        dev = abs(m - c) / c if c else (0.0 if m == 0 else 1.0)
        ok(m is not None and dev <= 0.01,
           "agree %s (%s, D1 %s, LL %s): %s misses within 1%%" % (name, fmt, geo(d1), geo(ll), level),
           "powercut %d, cachegrind %d (%+.2f%%)" % (m, c, 100.0 * (m - c) / c if c else 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default="./powercut")
    a = ap.parse_args()
    pc = os.path.abspath(os.path.join(ROOT, a.powercut))
    with tempfile.TemporaryDirectory() as d:
        test_rules(pc, d)
        if not shutil.which("valgrind"):
            ok(False, "agree: valgrind is not installed (apt-get install valgrind)")
        else:
            cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
            src = os.path.join(d, "prog.c")
            with open(src, "w") as f:
                f.write(PROG)
            rc, _, err = run([cc, "-O1", "-o", os.path.join(d, "prog"), src], cwd=d)
            ok(rc == 0, "agree: compile the test program", err)
            if rc == 0:
                # Data misses dominate: the dropped fetches do not matter.
                test_agree(pc, d, "prog", ["./prog"], "lackey",
                           (32768, 8, 64), (262144, 8, 64))
                test_agree(pc, d, "prog", ["./prog"], "lackey-fetch",
                           (16384, 4, 64), (131072, 16, 64))
            # A small LL that instruction lines compete for: the I-side
            # (lackey-fetch) is needed to agree.
            test_agree(pc, d, "ls", ["/bin/ls", "-l", "/usr/lib"], "lackey-fetch",
                       (16384, 4, 64), (131072, 16, 64))
            test_agree(pc, d, "ls", ["/bin/ls", "-l", "/usr/lib"], "lackey-fetch",
                       (32768, 8, 64), (1 << 20, 16, 64))
    print("lackey: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
