#!/usr/bin/python3
"""tests/test_record.py — `powercut record` on real programs.

Builds the small programs of tests/record/ (a libpmem log that persists
correctly and one that forgets pmem_persist before publishing, AVX/AVX-512
non-temporal stores and rep movs/stos, a thread and a fork, runs of stores
and read-modify-writes the recorder performs itself, file I/O with
openat/pwritev/renameat2), records them, checks the traces, checks the
recorder's instruction-length decoder against capstone, and for the
libpmem pair runs `powercut check --checker ... --checker-file ...`: exit 1
for the buggy program, 0 for the correct one.

The recorder is `./powercut record` when it is wired; until then a driver
built from tools/record/*.c (tests/record/driver.c) stands in for it.

    /usr/bin/python3 tests/test_record.py [--powercut ./powercut]
Prints `record: N passed, N failed`; exits 1 on any failure.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "record")
passed = failed = 0


def ok(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (("\n     " + detail.replace("\n", "\n     ")) if detail else ""))


def run(cmd, cwd=None, env=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, universal_newlines=True)
    return p.returncode, p.stdout, p.stderr


def events(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            w = line.split()
            fields = dict(x.split("=", 1) for x in w[1:] if "=" in x)
            out.append((w[0], fields))
    return out


def build(work, cc):
    exe = {}
    progs = [("pmem_log", ["-lpmem"]), ("vec_store", []), ("threads", ["-pthread"]),
             ("file_io", []), ("runs", ["-pthread"])]
    for name, libs in progs:
        exe[name] = os.path.join(work, name)
        rc, _, err = run([cc, "-O2", "-g", "-o", exe[name], os.path.join(SRC, name + ".c")] + libs)
        if rc:
            ok(False, "build " + name, err)
            return None
    return exe


def recorder(powercut, work, cc):
    """The command prefix that runs `powercut record`."""
    if powercut and os.path.exists(powercut):
        rc, out, _ = run([powercut, "record", "--help"])
        if rc == 0 and "--pmem" in out:
            return [powercut, "record"]
    drv = os.path.join(work, "record-driver")
    srcs = [os.path.join(SRC, "driver.c")] + \
        [os.path.join(ROOT, "tools", "record", f) for f in sorted(os.listdir(os.path.join(ROOT, "tools", "record"))) if f.endswith(".c")] + \
        [os.path.join(ROOT, "sim", "json.c"), os.path.join(ROOT, "traces", "trace.c")]
    rc, _, err = run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE", "-O2", "-g",
                      "-I" + ROOT, "-o", drv] + srcs + ["-lelf", "-lcapstone", "-lm"])
    if rc:
        ok(False, "build the record driver", err)
        return None
    return [drv]


def test_pmem_pair(rec, exe, powercut, work, env_extra, label, flush_op):
    env = {"PMEM_IS_PMEM_FORCE": "1"}
    env.update(env_extra)
    traces = {}
    for kind in ("good", "bug"):
        pool = os.path.join(work, "pool-%s-%s" % (label, kind))
        trace = os.path.join(work, "log-%s-%s.trace" % (label, kind))
        if os.path.exists(pool):
            os.unlink(pool)
        args = [exe["pmem_log"], pool, "4"] + (["bug"] if kind == "bug" else [])
        rc, _, err = run(rec + ["-o", trace, "--pmem", pool, "--"] + args, env=env)
        ok(rc == 0 and os.path.exists(trace), "%s: record the %s libpmem log" % (label, kind), err)
        if rc:
            return
        evs = events(trace)
        ops = [e[0] for e in evs]
        cfg = [e for e in evs if e[0] == "config"]
        ok(cfg and cfg[0][1].get("pmem.size") == "65536",
           "%s/%s: config pmem.size is the pool's size" % (label, kind), str(cfg))
        pub = [e for e in evs if e[0] in ("store", "rmw") and e[1].get("addr") == "0x0"]
        ok(len(pub) == 4 and all(e[1].get("sym", "").startswith("main+") for e in pub),
           "%s/%s: four publishing stores to the header, sym=main+..." % (label, kind), str(pub[:2]))
        if kind == "good":
            ok(flush_op in ops, "%s: libpmem's %s is recorded" % (label, flush_op), str(sorted(set(ops))))
            ok("sfence" in ops, "%s: sfence recorded" % label)
            stored = sum(int(e[1]["len"], 0) for e in evs if e[0] in ("store", "ntstore")
                         and int(e[1]["addr"], 0) >= 64)
            ok(stored == 4 * 256, "%s: every byte of the four records is stored (%d)" % (label, stored))
            ok(all("sym" in e[1] for e in evs if e[0] in ("store", "ntstore", flush_op, "sfence")),
               "%s: every CPU event has sym=" % label)
        traces[kind] = trace
    if not powercut or not os.path.exists(powercut):
        ok(False, "powercut binary for check", powercut or "")
        return
    checker = exe["pmem_log"] + " --check"
    for kind, want in (("good", 0), ("bug", 1)):
        rc, out, err = run([powercut, "check", traces[kind], "--states", "bounded:1",
                            "--checker", checker, "--checker-file", os.path.join(work, "pool")])
        ok(rc == want, "%s: powercut check --checker on the %s program exits %d (got %d)"
           % (label, kind, want, rc), (out + err)[-1500:])
        if kind == "bug" and rc == 1:
            ok(re.search(r"store addr=0x0 len=8 val=0x1 sym=main\+", out) is not None,
               "%s: the violation points at the publishing store in main" % label, out[:800])


def test_vec(rec, exe, work):
    pool = os.path.join(work, "vpool")
    trace = os.path.join(work, "vec.trace")
    rc, out, err = run(rec + ["-o", trace, "--pmem", pool, "--", exe["vec_store"], pool])
    ok(rc == 0 and out.strip() == "11 55 66", "vec_store runs correctly under the recorder", out + err)
    if rc:
        return
    evs = [(op, f) for op, f in events(trace) if op not in ("version", "config")]
    want = [("ntstore", "0x0", "32"), ("ntstore", "0x40", "64"), ("ntstore", "0x80", "8"),
            ("sfence", None, None), ("store", "0xc0", "16"), ("store", "0x100", "300"),
            ("store", "0x400", "128"), ("rmw", "0x800", "8"), ("clflushopt", "0xc0", None),
            ("clwb", "0x100", None), ("sfence", None, None)]
    got = [(op, f.get("addr"), f.get("len")) for op, f in evs]
    ok(sorted(got[:3]) == sorted(want[:3]) and got[3:] == want[3:],
       "AVX/AVX-512 ntstores, movnti, SSE, rep movsb, rep stosq, lock add, clflushopt, clwb, sfence",
       "got  %s\nwant %s" % (got, want))
    data = {f.get("addr"): f.get("data", f.get("val")) for op, f in evs if op in ("store", "ntstore")}
    ok(data.get("0x100") == "hex:" + "55" * 300 and data.get("0x400") == "hex:" + "66" * 128 and
       data.get("0x40") == "hex:" + "22" * 64, "the bytes of rep movsb, rep stosq and vmovntdq zmm")


def test_threads(rec, exe, work):
    pool = os.path.join(work, "tpool")
    trace = os.path.join(work, "threads.trace")
    rc, out, err = run(rec + ["-o", trace, "--pmem", pool, "--", exe["threads"], pool])
    ok(rc == 0 and out.strip() == "aaaa bbbb cccc", "threads runs under the recorder", out + err)
    if rc:
        return
    evs = events(trace)
    stores = {(f["addr"], f.get("cpu", "0")) for op, f in evs if op == "store"}
    ok(stores == {("0x0", "0"), ("0x40", "1"), ("0x80", "2")},
       "the main thread, the thread and the forked child store, each on its own cpu=", str(stores))
    ok(any(op == "config" and f.get("cpus") == "3" for op, f in evs), "config cpus=3")


def test_runs(rec, exe, work):
    """Stores performed several to a stop (the run), read-modify-writes
    performed by the recorder, a second thread (tests/record/runs.c)."""
    pool = os.path.join(work, "rpool")
    trace = os.path.join(work, "runs.trace")
    rc, native, err = run([exe["runs"], pool])
    ok(rc == 0, "runs runs natively", err)
    os.unlink(pool)
    rc, out, err = run(rec + ["-o", trace, "--pmem", pool, "--", exe["runs"], pool])
    ok(rc == 0 and out == native,
       "runs prints the same under the recorder as natively (ALU results and flags, SIGSEGV)",
       "native:\n%s\nrecorded:\n%s%s" % (native, out, err))
    if rc:
        return
    with open(trace) as f:
        head = f.read(2000)
    m = re.search(r"done in runs (\d+)", head)
    ok(m and int(m.group(1)) > 0, "the recorder performed stores in runs", head[:600])
    evs = [(op, f) for op, f in events(trace) if op not in ("version", "config")]
    got = [(op, f.get("addr"), f.get("len"), f.get("val", f.get("data"))) for op, f in evs[:14]]
    a, b = "0x1111111111111111", "0x2222222222222222"
    want = [("store", "0x0", "8", a), ("store", "0x8", "8", "0x22"),
            ("store", "0x20", "32", "hex:" + "33" * 32), ("clwb", "0x0", None, None),
            ("store", "0x40", "4", "0x11111111"), ("sfence", None, None, None),
            ("store", "0x8", "8", "0x27"),
            ("store", "0x80", "8", a), ("store", "0x88", "8", b),
            ("store", "0xffc", "8", a), ("store", "0x1ffc", "8", b),
            ("store", "0xc0", "8", a), ("store", "0xfa0", "200", "hex:" + "5a" * 200),
            ("rmw", "0x100", "8", "0x3")]
    ok(got == want, "a run with clwb and sfence inside, a store to ordinary memory in a run, "
       "stores across a page boundary, rep stosb across one, lock add",
       "got  %s\nwant %s" % (got, want))
    e14 = evs[14] if len(evs) > 14 else ("", {})
    ok(e14[0] == "store" and e14[1].get("addr") == "0x108" and e14[1].get("val") == a,
       "the store right after a displaced step", str(e14))
    # every ALU result in the trace is the value the program printed
    lines = [l.split() for l in out.splitlines() if re.match(r"(add|sub|and|or|xor|inc|dec)[bwlq] ", l)]
    printed = [int(x.split("/")[0], 16) for l in lines for x in l[1:]]
    alu = [e for e in evs if e[1].get("sym", "").startswith("alu_")]
    results = [int(f["val"], 16) for op, f in alu[1::2]]
    ok(len(lines) == 28 and results == printed,
       "each add/sub/and/or/xor/inc/dec on pmem is recorded with its result (%d)" % len(results))
    seq = {}
    for op, f in evs:
        if op == "store" and f["addr"] in ("0x2000", "0x2040", "0x2048"):
            seq.setdefault(f["addr"], []).append((f.get("cpu", "0"), int(f["val"], 16)))
    whole = all(len({c for c, v in seq.get(x, [])}) == 1 and
                [v for c, v in seq.get(x, [])] == list(range(1, 201))
                for x in ("0x2000", "0x2040", "0x2048"))
    ok(whole and seq["0x2000"][0][0] != seq["0x2040"][0][0],
       "two threads storing to one page: all 3 x 200 stores, in order, each on its cpu=",
       str({k: (len(v), v[:3]) for k, v in seq.items()}))
    last = [(op, f.get("addr")) for op, f in evs[-2:]]
    ok(out.endswith("read-only: SIGSEGV\n") and last[-1] == ("store", "0x140") and
       not any(f.get("addr") == "0x1008" for op, f in evs),
       "a run stops at a store to a read-only mapping: the program gets SIGSEGV", str(last))


def test_lencheck(exe, work, cc, powercut):
    """rec_insn_len() against capstone over whole libraries."""
    lc = os.path.join(work, "lencheck")
    srcs = [os.path.join(SRC, "lencheck.c"), os.path.join(ROOT, "tools", "record", "rec_code.c")]
    rc, _, err = run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE", "-O2",
                      "-Wall", "-Wextra", "-Werror", "-I" + ROOT, "-I/usr/include/capstone",
                      "-o", lc] + srcs + ["-lelf", "-lcapstone"])
    ok(rc == 0, "build lencheck", err)
    if rc:
        return
    rc, out, _ = run(["ldd", exe["pmem_log"]])
    files = [w for line in out.splitlines() for w in line.split()
             if w.startswith("/") and re.search(r"/(libc|libpmem|ld-linux[^/]*)\.so", w)]
    if powercut and os.path.exists(powercut):
        files.append(powercut)
    rc, out, err = run([lc] + sorted(set(files)))
    ok(rc == 0 and len(files) >= 3 and out.count(" 0 disagreements") == len(set(files)),
       "the fast instruction-length decoder agrees with capstone on %d files" % len(set(files)),
       out[-2000:] + err)


def test_unbound(rec, exe, work):
    """--cpu-unbound records the same events."""
    env = {"PMEM_IS_PMEM_FORCE": "1"}
    got = []
    for extra in ([], ["--cpu-unbound"]):
        pool = os.path.join(work, "upool")
        trace = os.path.join(work, "unbound.trace")
        if os.path.exists(pool):
            os.unlink(pool)
        rc, _, err = run(rec + ["-o", trace, "--pmem", pool] + extra + ["--", exe["pmem_log"], pool, "3"],
                         env=env)
        if rc:
            ok(False, "record %s" % " ".join(extra), err)
            return
        got.append(events(trace))
    ok(got[0] == got[1] and len(got[0]) > 20, "--cpu-unbound records the same events")
    # by default the program shares one CPU with the recorder
    ncpu = len(os.sched_getaffinity(0))
    outs = []
    for extra in ([], ["--cpu-unbound"]):
        rc, out, err = run(rec + ["-o", os.path.join(work, "nproc.trace")] + extra + ["--", "nproc"],
                           cwd=work)
        outs.append(out.strip() if rc == 0 else err)
    ok(outs == ["1", str(ncpu)], "the program runs on one CPU, or on all with --cpu-unbound",
       "%s (this machine: %d)" % (outs, ncpu))


def test_file_io(rec, exe, powercut, work):
    d = os.path.join(work, "fio")
    os.mkdir(d)
    trace = os.path.join(work, "file_io.trace")
    rc, _, err = run(rec + ["-o", trace, "--", exe["file_io"]], cwd=d)
    ok(rc == 0, "file_io records", err)
    if rc:
        return
    got = [(op, f.get("path", f.get("from", "")), f.get("off", ""), f.get("data", ""))
           for op, f in events(trace) if op not in ("version", "config")]
    want = [("mkdir", "/d", "", ""), ("open", "/d", "", ""), ("open", "/d/tmp", "", ""),
            ("pwrite", "", "0", "hex:68656c6c6f20776f726c640a"), ("pwrite", "", "100", "hex:7461696c"),
            ("fsync", "", "", ""), ("close", "", "", ""), ("rename", "/d/tmp", "", ""),
            ("fsync", "", "", ""), ("open", "/d/junk", "", ""), ("close", "", "", ""),
            ("unlink", "/d/junk", "", ""), ("close", "", "", "")]
    ok(got == want, "openat/pwritev/lseek+write/dup/fsync/renameat2/unlinkat as file events",
       "got  %s\nwant %s" % (got, want))
    if powercut and os.path.exists(powercut):
        rc, out, err = run([powercut, "run", trace])
        ok(rc == 0, "powercut run replays the recorded file trace", out[-500:] + err)


def test_usage(rec, work):
    t = os.path.join(work, "never.trace")
    rc, _, err = run(rec + ["--pmem", "x", "--", "true"])
    ok(rc == 2 and err.count("\n") == 1 and err.startswith("powercut: "), "missing -o: one line, exit 2", err)
    rc, _, err = run(rec + ["-o", t, "--", "/nonexistent/prog"])
    ok(rc == 2 and not os.path.exists(t) and err.startswith("powercut: "),
       "a missing program: exit 2, no trace", err)
    rc, _, err = run(rec + ["-o", t, "--layer", "cpu", "--", "true"])
    ok(rc == 2 and not os.path.exists(t), "--layer cpu without --pmem: exit 2", err)
    rc, _, err = run(rec + ["-o", t, "--", "sh", "-c", "exit 3"])
    ok(rc == 3 and os.path.exists(t), "the program's exit status is returned (3)", err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(ROOT, "powercut"))
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    powercut = os.path.abspath(a.powercut) if a.powercut else None
    work = tempfile.mkdtemp(prefix="powercut-record-")
    try:
        exe = build(work, a.cc)
        rec = recorder(powercut, work, a.cc) if exe else None
        if exe and rec:
            test_usage(rec, work)
            test_pmem_pair(rec, exe, powercut, work, {}, "default", "clwb")
            test_pmem_pair(rec, exe, powercut, work, {"PMEM_NO_CLWB": "1"}, "clflushopt", "clflushopt")
            test_pmem_pair(rec, exe, powercut, work,
                           {"PMEM_NO_CLWB": "1", "PMEM_NO_CLFLUSHOPT": "1"}, "clflush", "clflush")
            test_pmem_pair(rec, exe, powercut, work, {"PMEM_NO_MOVNT": "1"}, "no-movnt", "clwb")
            test_pmem_pair(rec, exe, powercut, work, {"PMEM_AVX512F": "1"}, "avx512f", "clwb")
            test_vec(rec, exe, work)
            test_threads(rec, exe, work)
            test_runs(rec, exe, work)
            test_unbound(rec, exe, work)
            test_lencheck(exe, work, a.cc, powercut)
            test_file_io(rec, exe, powercut, work)
    finally:
        if a.keep:
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("record: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
