#!/usr/bin/python3
"""test_import.py -- `powercut import` strace, pmemcheck and dm-log-writes on
real input (tests/import/), bad input, and round trips through `run`/`check`.

    tests/test_import.py [--powercut ./powercut]

The fixtures are real logs (tests/import/README.md says how each was made).
When strace is installed the strace logs are also recorded live, from a
small C program (with cc) and from Python's sqlite3 module, and imported.
The last line is `import: N passed, N failed`; the exit status is 1 if any
test failed.
"""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "import")
passed = failed = 0


def ok(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def events(trace):
    """The trace's event lines (no comments), as (op, {key: value}) pairs."""
    out = []
    with open(trace) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = re.findall(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)|(\S+)', line)
            op = line.split()[0]
            if op == "version":
                continue
            out.append((op, {k: v.strip('"') for k, v, _ in words if k}))
    return out


def do_import(pc, fmt, src, tmp, name):
    out = os.path.join(tmp, name + ".trace")
    r = run([pc, "import", fmt, src, "-o", out])
    ok("%s: import %s exits 0" % (name, fmt), r.returncode == 0, r.stderr.strip())
    if r.returncode:
        return None
    r = run([pc, "run", out])
    ok("%s: run exits 0" % name, r.returncode == 0, r.stderr.strip()[-300:])
    return out


# ---- strace ----

def check_prog(ev, name):
    ops = [o for o, _ in ev]
    for op in ("mkdir", "open", "pwrite", "write", "ftruncate", "fallocate", "fsync",
               "fdatasync", "mmap", "msync", "munmap", "rename", "symlink", "link",
               "unlink", "sync", "close"):
        ok("%s: has %s" % (name, op), op in ops)
    pw = [f for o, f in ev if o == "pwrite" and f.get("len") == "8204"]
    ok("%s: pwritev of 12+8192 bytes at offset 0" % name, len(pw) == 1 and pw[0]["off"] == "0")
    if pw:
        d = pw[0]["data"]
        ok("%s: iovec bytes decoded (escapes)" % name,
           d.startswith("hex:686561643a092271220a01ff616263"), d[:40])
    ren = [f for o, f in ev if o == "rename"]
    ok("%s: renameat resolved through the directory fd" % name,
       len(ren) == 1 and ren[0]["from"].endswith("/d/f.tmp") and ren[0]["to"].endswith("/d/f"))
    dirs = [f for o, f in ev if o == "open" and "O_DIRECTORY" in f.get("flags", "")]
    ok("%s: the directory is opened O_DIRECTORY" % name, len(dirs) >= 1)
    ok("%s: three appends by the thread" % name,
       len([1 for o, f in ev if o == "write" and f.get("len") == "12"]) == 3)


def check_sqlite(ev, name, wal):
    paths = {f.get("path") for o, f in ev if o == "open"}
    db = [p for p in paths if p and p.endswith("/db.sqlite")]
    ok("%s: opens the database" % name, len(db) == 1, str(paths))
    ok("%s: fdatasync of the database" % name,
       any(o == "fdatasync" for o, _ in ev))
    jr = [p for p in paths if p and p.endswith("-journal")]
    ok("%s: rollback journal created" % name, bool(jr))
    ok("%s: journal unlinked after commit" % name,
       any(o == "unlink" and f["path"].endswith("-journal") for o, f in ev))
    dirsync = [f for o, f in ev if o == "open" and "O_DIRECTORY" in f.get("flags", "")]
    ok("%s: directory opened O_DIRECTORY for its fsync" % name, bool(dirsync))
    if wal:
        ok("%s: WAL file written" % name,
           any(p and p.endswith("-wal") for p in paths))
        ok("%s: -shm mapped shared" % name, any(o == "mmap" for o, _ in ev))
    ok("%s: setup makes the directories, then mark start" % name,
       ("mark", {"name": "start", "sym": "setup"}) in ev and ev[0][0] == "mkdir")


def test_strace(pc, tmp):
    d = os.path.join(FIX, "strace")
    for f in ("prog-default.txt", "prog-y-xx-s64.txt", "prog-y-s16-tt-T.txt"):
        t = do_import(pc, "strace", os.path.join(d, f), tmp, f)
        if t:
            check_prog(events(t), f)
    t = os.path.join(tmp, "prog-y-s16-tt-T.txt.trace")
    if os.path.exists(t):
        syms = [f.get("sym", "") for o, f in events(t) if o == "pwrite"]
        ok("strace -s 16: filler is declared", any("bytes 28-8203 filler" in s for s in syms), str(syms))
    for f, wal in (("sqlite-rollback.txt", False), ("sqlite-wal.txt", True)):
        t = do_import(pc, "strace", os.path.join(d, f), tmp, f)
        if t:
            check_sqlite(events(t), f, wal)

    if not shutil.which("strace"):
        print("note: strace is not installed: live recording skipped")
        return
    live = os.path.join(tmp, "live")
    os.mkdir(live)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    for mode in ("delete", "wal"):
        script = ("import sqlite3\nc=sqlite3.connect('db.sqlite')\n"
                  "c.execute('pragma journal_mode=%s')\nc.execute('create table t(x)')\n"
                  "c.execute('insert into t values (1)')\nc.commit()\nc.close()\n" % mode)
        for flags in ([], ["-y", "-xx"], ["-s", "4096", "-T"]):
            for x in os.listdir(live):
                os.remove(os.path.join(live, x))
            log = os.path.join(tmp, "live-%s-%d.txt" % (mode, len(flags)))
            r = run(["strace", "-f", "-o", log] + flags + [py, "-c", script], cwd=live)
            ok("live strace sqlite %s %s" % (mode, flags), r.returncode == 0, r.stderr[-200:])
            if r.returncode == 0:
                t = do_import(pc, "strace", log, tmp, os.path.basename(log))
                if t:
                    check_sqlite(events(t), "live %s %s" % (mode, flags), mode == "wal")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        exe = os.path.join(tmp, "prog")
        r = run([cc, "-O1", "-pthread", "-o", exe, os.path.join(d, "prog.c")])
        ok("prog.c compiles", r.returncode == 0, r.stderr[-200:])
        for flags in ([], ["-y", "-xx", "-s", "64"], ["-y", "-s", "16", "-tt", "-T"]):
            shutil.rmtree(os.path.join(live, "d"), ignore_errors=True)
            for x in os.listdir(live):
                p = os.path.join(live, x)
                os.remove(p) if os.path.isfile(p) or os.path.islink(p) else shutil.rmtree(p)
            log = os.path.join(tmp, "live-prog-%d.txt" % len(flags))
            r = run(["strace", "-f", "-o", log] + flags + [exe], cwd=live)
            ok("live strace prog %s" % flags, r.returncode == 0, r.stderr[-200:])
            t = do_import(pc, "strace", log, tmp, os.path.basename(log))
            if t:
                check_prog(events(t), "live prog %s" % flags)


# ---- pmemcheck ----

def test_pmemcheck(pc, tmp):
    d = os.path.join(FIX, "pmemcheck")
    for f in ("store_log.log", "store_log_verbose.log"):
        t = do_import(pc, "pmemcheck", os.path.join(d, f), tmp, f)
        if not t:
            continue
        ev = events(t)
        ops = [o for o, _ in ev]
        ok("%s: 8 stores" % f, ops.count("store") == 8)
        ok("%s: 6 clwb (one per line, none outside the pool)" % f, ops.count("clwb") == 6)
        ok("%s: 3 fences" % f, ops.count("sfence") == 3)
        ok("%s: pmreorder markers kept as marks" % f,
           [x["name"] for o, x in ev if o == "mark"] ==
           ["PMREORDER_PUBLISH.BEGIN", "PMREORDER_PUBLISH.END"])
        ok("%s: namespace = the file" % f, "config" in ops and
           open(t).read().count("config pmem.size=8192") == 1)
        st = [x for o, x in ev if o == "store"]
        ok("%s: addresses are file offsets" % f, st and st[0]["addr"] == "0x100")
        if "verbose" in f:
            ok("%s: sym is the first frame" % f, st and st[0].get("sym") == "publish (publish.c:21)",
               str(st[:1]))
        r = run([pc, "outcomes", t, "--observe", "u64:0x40,u64:0x118", "--at", "all"])
        lines = r.stdout.split()
        ok("%s: outcomes run" % f, r.returncode == 0, r.stderr)
        ok("%s: the flag never persists before the data it publishes" % f,
           "u64:0x40=1" not in " ".join(x for x in r.stdout.splitlines() if "u64:0x118=0" in x)
           and any("u64:0x40=1" in x for x in r.stdout.splitlines()), r.stdout)


# ---- dm-log-writes ----

def apply_writes(trace, img):
    """Apply every bio write of TRACE to the bytearray IMG, in order."""
    for op, f in events(trace):
        if op != "bio" or f.get("op") != "write":
            continue
        off, n, d = int(f["sector"]) * 512, int(f["len"]), f["data"]
        if d.startswith("fill:"):
            b = bytes([int(d[5:], 0)]) * n
        else:
            b = bytes.fromhex(d[4:])
        img[off:off + n] = b


def test_dmlog(pc, tmp):
    d = os.path.join(FIX, "dmlog")
    files = {}
    for f in ("base.img", "final.img", "kernel-dmlog.bin", "qemu-blklogwrites.log"):
        files[f] = os.path.join(tmp, f)
        with gzip.open(os.path.join(d, f + ".gz")) as g, open(files[f], "wb") as o:
            o.write(g.read())
    final = open(files["final.img"], "rb").read()
    for log in ("kernel-dmlog.bin", "qemu-blklogwrites.log"):
        t = do_import(pc, "dm-log-writes", files[log], tmp, log)
        if not t:
            continue
        ev = events(t)
        img = bytearray(open(files["base.img"], "rb").read())
        apply_writes(t, img)
        ok("%s: base image + the trace's writes = the device after the run" % log,
           bytes(img) == final)
        bios = [f for o, f in ev if o == "bio"]
        waits = [f for o, f in ev if o == "wait"]
        ok("%s: every bio is waited (rule D5)" % log, len(bios) == len(waits) and bios)
        ok("%s: flushes are PREFLUSH" % log,
           any(f["op"] == "flush" and f.get("flags") == "PREFLUSH" for f in bios))
        if log.startswith("kernel"):
            marks = [f["name"] for o, f in ev if o == "mark"]
            ok("kernel log: marks in order", marks == ["mounted", "data-fsynced", "renamed",
                                                      "appended-synced", "unmounted",
                                                      "dm-log-writes-end"], str(marks))
            ok("kernel log: FUA writes (jbd2 commit blocks)",
               sum(1 for f in bios if "FUA" in f.get("flags", "")) >= 5)
            ok("kernel log: REQ_META noted in sym",
               any("META" in f.get("sym", "") for f in bios))
    # e2fsck over crash images (tests/import/e2fsck-check.sh)
    t = os.path.join(tmp, "kernel-dmlog.bin.trace")
    if os.path.exists(t) and shutil.which("e2fsck"):
        chk = os.path.join(FIX, "e2fsck-check.sh")
        base = [pc, "check", t, "--base-image", files["base.img"], "--set", "disk.size=32M",
                "--checker", chk, "--no-progress", "-j", "2"]
        r = run(base + ["--set", "disk.atomic_unit=4096", "--states", "sample:3"])
        ok("e2fsck on sampled crash states, 4 KiB atomic writes: no violation",
           r.returncode == 0 and "violations: 0" in r.stdout, r.stdout[-600:] + r.stderr)
        m = re.search(r"distinct images judged: (\d+)", r.stdout)
        ok("e2fsck judged many distinct images", m and int(m.group(1)) >= 100, r.stdout[-300:])
        r = run(base + ["--set", "disk.atomic_unit=512", "--points", "124-126",
                        "--states", "sample:8"])
        ok("512-byte tearing of the superblock write is caught by e2fsck",
           r.returncode == 1 and "checker" in r.stdout, r.stdout[-600:] + r.stderr)


# ---- bad input ----

def test_bad(pc, tmp):
    d = os.path.join(FIX, "bad")
    cases = {
        "strace-garbage.txt": ("strace", r"strace-garbage.txt:2: "),
        "strace-bad-args.txt": ("strace", r"strace-bad-args.txt:2: pwrite64: bad offset"),
        "strace-fd-beyond.txt": ("strace", r"strace-fd-beyond.txt:1: .*descriptor 5000 is beyond the 4096"),
        "pmemcheck-store-size.log": ("pmemcheck", r"pmemcheck-store-size.log:3: store of 16 bytes"),
        "dmlog-bad-magic.bin": ("dm-log-writes", r"dmlog-bad-magic.bin:0: not a dm-log-writes log"),
        "dmlog-truncated.bin": ("dm-log-writes", r"dmlog-truncated.bin:512: entry 0: the log ends"),
        "dmlog-bad-flags.bin": ("dm-log-writes", r"dmlog-bad-flags.bin:512: entry 0: unknown flags"),
    }
    for f, (fmt, want) in sorted(cases.items()):
        out = os.path.join(tmp, "bad-" + f + ".trace")
        r = run([pc, "import", fmt, os.path.join(d, f), "-o", out])
        lines = r.stderr.strip().splitlines()
        ok("%s: exit 2" % f, r.returncode == 2, str(r.returncode))
        ok("%s: one-line error" % f, len(lines) == 1 and re.search(want, lines[0]), r.stderr)
        ok("%s: no output file" % f, not os.path.exists(out))
    # a flush over 2^40 bytes around two small files: their lines only,
    # in address order, the rest counted as dropped -- at once (one turn
    # per line was 2^34 turns: a hang found by tests/fuzz_import.c)
    p = os.path.join(tmp, "wide-flush.log")
    open(p, "w").write("START|REGISTER_FILE;/mnt/a;0x10000;0x80;0x0|"
                       "REGISTER_FILE;/mnt/b;0x20020;0x40;0x0|"
                       "FLUSH;0x0;0x10000000000|FLUSH;0xffffffffffffff00;0xff|STOP\n")
    out = os.path.join(tmp, "wide-flush.trace")
    r = run([pc, "import", "pmemcheck", p, "-o", out])
    ev = events(out) if r.returncode == 0 else []
    ok("pmemcheck: a flush of 2^40 bytes keeps the files' lines, in order",
       [x["addr"] for o, x in ev if o == "clwb"] == ["0x0", "0x40", "0x1040"],
       r.stderr + str(ev))
    # 2^34 lines less the 3 kept, and the 4 lines of the flush that ends at
    # 2^64 - 1 (it wrapped to address 0 and went on: another hang)
    ok("pmemcheck: ... and counts every other line as dropped",
       r.returncode == 0 and "# %d flushed cache lines outside every file were dropped"
       % ((1 << 34) - 3 + 4) in open(out).read(), r.stderr)
    # an empty pmemcheck log, a log with no START
    p = os.path.join(tmp, "nostart.log")
    open(p, "w").write("==1== hello\n")
    r = run([pc, "import", "pmemcheck", p, "-o", os.path.join(tmp, "x.trace")])
    ok("pmemcheck without START: exit 2", r.returncode == 2 and "no START" in r.stderr, r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default=os.path.join(os.path.dirname(HERE), "powercut"))
    a = ap.parse_args()
    pc = os.path.abspath(a.powercut)
    tmp = tempfile.mkdtemp(prefix="powercut-import-")
    try:
        for t in (test_strace, test_pmemcheck, test_dmlog, test_bad):
            try:
                t(pc, tmp)
            except Exception as e:  # a crash of the test is a failure, not an abort
                ok(t.__name__, False, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("import: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
