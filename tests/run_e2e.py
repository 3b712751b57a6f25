#!/usr/bin/python3
"""End-to-end tests of the powercut command.

Runs, in order:
  bad      every tests/bad/*.trace: exit 2, nothing on stdout, and exactly the
           one-line message of its `# expect: LINE: message` comment
  usage    bad command lines: exit 2 and a one-line message
  outcomes the summary of outcomes names its states policy
  help     every --help exits 0 and says what it must
  golden   tests/golden/NAME.cmd (arguments) against NAME.stdout, NAME.stderr
           (if present) and NAME.status (if present; default 0)
  litmus   tests/litmus/**/NAME.trace: its first `# observe: ARGS` line gives
           the outcomes arguments; stdout must equal NAME.expected exactly
  examples every traces/examples/*.trace and tests/regress/*.trace replays
           with exit 0; a regress trace with a `# check: ARGS` line also
           passes `check TRACE ARGS` (exit 0, no violation)
  determinism  outcomes twice give identical bytes
  check    check's reports, -j, shards, merge, replay (an application checker)
  jobs     a -j run stopped by a signal leaves no job directory behind
  reduce   the reduced exhaustive enumeration finds what judging every
           state finds; -j, shards and replay on a file trace
  report   powercut report: the HTML page of a check report, its bad inputs
  paths    relative paths in a trace's config lines resolve against the
           trace's directory, on the command line against the current one
  checker-fs  an application checker on a file trace: the recovered tree it
           is given, its verdicts (reduced = one by one, -j 2 = -j 1), one
           run per distinct tree
  streaming    a generated 1,000,000-event trace replays in bounded memory
  mutation     mutated example traces never crash powercut (exit 0 or 2)

Prints one line per failure and a closing "N passed, N failed" line.
"""

import argparse
import glob
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

passed = 0
failed = 0


def ok(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s%s" % (what, ("\n  " + detail.replace("\n", "\n  ")) if detail else ""))


def run(args, stdin=None, timeout=120, env=None):
    p = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=timeout,
                       input=stdin, env=None if env is None else dict(os.environ, **env))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_bad(pc):
    files = sorted(glob.glob("tests/bad/*.trace", root_dir=ROOT))
    ok(len(files) >= 30, "bad: at least 30 bad-input traces", "found %d" % len(files))
    for f in files:
        text = open(os.path.join(ROOT, f), "rb").read().decode("utf-8", "replace")
        m = re.search(r"^# expect: (.*)$", text, re.M)
        if not m:
            ok(False, "bad: %s has no '# expect:' line" % f)
            continue
        want = "powercut: %s:%s\n" % (f, m.group(1))
        for cmd in (["run", f], ["outcomes", f, "--observe", "blk:0:512"]):
            rc, out, err = run([pc] + cmd)
            ok(rc == 2 and out == "" and err == want,
               "bad: %s %s" % (cmd[0], f),
               "status %d, stdout %r\nstderr %r\nwant   %r" % (rc, out[:200], err, want))


USAGE = [
    (["run"], "powercut: run: no TRACE given (see powercut run --help)"),
    (["version", "2"], "powercut: version: no arguments, not '2'"),
    (["frobnicate"], "powercut: unknown command 'frobnicate' (see powercut --help)"),
    (["run", "traces/examples/pmem-publish.trace", "--bogus"],
     "powercut: run: unknown option '--bogus' (see powercut run --help)"),
    (["run", "traces/examples/pmem-publish.trace", "--device", "floppy"],
     "powercut: --device: device: expected disk-wc|disk-wt|pmem|pmem-wb or a PLUGIN.so, not 'floppy'"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "adrr"],
     "powercut: --machine: machine: expected adr|eadr|pcommit or a machine file, not 'adrr'"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "/nonexistent/m.conf"],
     "powercut: --machine: machine file /nonexistent/m.conf: No such file or directory"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "tests/bad/machine/nul.machine"],
     "powercut: --machine: tests/bad/machine/nul.machine:1: a NUL byte: not a machine file"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "tests/bad/machine/line.machine"],
     "powercut: --machine: tests/bad/machine/line.machine:3: cache.line=63 is not a power of two"),
    # a machine file holds domain= and model parameters, nothing else
    (["check", "traces/examples/append-fsync.trace", "--machine", "tests/bad/machine/run-option.machine"],
     "powercut: --machine: tests/bad/machine/run-option.machine:4: fs-opts: not a machine setting "
     "(a machine file holds domain= and model parameters; give --fs-opts as a flag or a trace's config line)"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "tests/bad/machine/unknown.machine"],
     "powercut: --machine: tests/bad/machine/unknown.machine:2: unknown machine setting 'l1d.sise' "
     "(domain= or a model parameter: powercut run --help lists them)"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "tests/bad"],
     "powercut: --machine: tests/bad:1: read error: Is a directory"),
    (["run", "traces/examples/pmem-publish.trace", "--fault", "melt"],
     "powercut: --fault: unknown fault 'melt' (ignore-flush, ignore-fua, early-complete, reorder-across-flush, none)"),
    (["run", "traces/examples/pmem-publish.trace", "--set", "pmem.size=12"],
     "powercut: --set: pmem.size=12 out of range [4096, 1099511627776]"),
    (["run", "traces/examples/pmem-publish.trace", "--set", "nope"],
     "powercut: --set: set: expected KEY=VALUE, not 'nope'"),
    (["run", "traces/examples/pmem-publish.trace", "--fs-opts", "dax_flush=none"],
     "powercut: --fs-opts: dax_flush= needs the dax option"),
    (["run", "traces/examples/pmem-publish.trace", "--fs-opts", "dax,dax_flush=sometimes"],
     "powercut: --fs-opts: unknown or malformed fs option 'dax_flush=sometimes'"),
    (["run", "traces/examples/pmem-publish.trace", "--set", "jfs.dax_flush=always"],
     "powercut: --set: jfs.dax_flush: expected tracked|hammer|none, not 'always'"),
    (["run", "traces/examples/pmem-publish.trace", "--background", "maybe"],
     "powercut: --background: background: expected on or off, not 'maybe'"),
    (["run", "traces/examples/pmem-publish.trace", "extra"],
     "powercut: run: unexpected argument 'extra'"),
    (["run", "traces/examples/pmem-publish.trace", "--states", "all"],
     "powercut: run does not take --states"),
    (["run", "/nonexistent.trace"],
     "powercut: /nonexistent.trace: cannot open: No such file or directory"),
    # an error that a flag causes names the flag, not the trace's first
    # event (the settings it clashes with may come from the trace)
    (["check", "traces/examples/append-fsync.trace", "--fs-opts", "dax"],
     "powercut: --fs-opts: fs option dax needs a pmem device (--device pmem or pmem-wb), not disk-wc"),
    (["run", "traces/examples/append-fsync.trace", "--device", "/nonexistent/p.so"],
     "powercut: --device: device plugin /nonexistent/p.so: No such file or directory"),
    (["check", "traces/examples/append-fsync.trace", "--set", "disk.size=8K"],
     "powercut: --set: the filesystem (jfs.blocks=4096 x jfs.block_size=4096) does not fit the 8192-byte device (disk.size)"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0", "--set", "l1d.size=1000"],
     "powercut: --set: cache: l1d.size=1000 is not a multiple of cache.line x l1d.ways (512)"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0", "--set", "cache.policy=plru",
      "--set", "l2.ways=3", "--set", "l2.size=192K"],
     "powercut: --set: cache: l2.ways=3: tree-PLRU needs a power of two"),
    (["run", "traces/examples/pmem-publish.trace", "--machine", "tests/bad/machine/geometry.machine"],
     "powercut: tests/bad/machine/geometry.machine:2: cache: l1d.size=1000 is not a multiple of cache.line x l1d.ways (512)"),
    (["check", "traces/examples/jbd2-commit.trace", "--base-image", "/nonexistent/img"],
     "powercut: --base-image: /nonexistent/img: No such file or directory"),
    (["check", "traces/examples/jbd2-commit.trace", "--base-image", "tests/bad"],
     "powercut: --base-image: tests/bad: Is a directory"),
    (["check", "traces/examples/append-fsync.trace", "--base-image", "tests/bad/nul-byte.trace"],
     "powercut: --base-image: applies to block traces only, not to the file trace traces/examples/append-fsync.trace"),
    (["check", "traces/examples/append-fsync.trace", "--at", "1", "--state", "junk"],
     "powercut: traces/examples/append-fsync.trace: --state: malformed state 'junk' (expected base or g1=2,g5=1...)"),
    (["check", "traces/examples/append-fsync.trace", "--at", "1", "--state", "g9=1"],
     "powercut: traces/examples/append-fsync.trace: --state: state g9=1: group g9 does not exist at this point (it has 1)"),
    (["outcomes", "traces/examples/pmem-publish.trace"],
     "powercut: outcomes: --observe SPEC[,SPEC...] is required"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "reg:rax"],
     "powercut: --observe: unknown observation 'reg:rax' (mem:ADDR:LEN, u64:ADDR, blk:OFF:LEN or file:PATH)"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0x1000,,u64:0x1040"],
     "powercut: --observe: an empty observation in 'u64:0x1000,,u64:0x1040' (expected SPEC[,SPEC...])"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "mem:0x10"],
     "powercut: --observe: malformed observation 'mem:0x10'"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0", "--states", "some"],
     "powercut: --states: expected exhaustive, bounded:K or sample:K, not 'some'"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0", "--at", "mark:nowhere"],
     "powercut: traces/examples/pmem-publish.trace: no crash point matched --at mark:nowhere"),
    (["check", "traces/examples/append-fsync.trace", "--points", "mark:nowhere"],
     "powercut: traces/examples/append-fsync.trace: --points mark:nowhere: no crash point is at a mark of that name"),
    (["check", "traces/examples/append-fsync.trace", "--points", "mark:nowhere", "-j", "2",
      "--shard", "2/3"],
     "powercut: traces/examples/append-fsync.trace: --points mark:nowhere: no crash point is at a mark of that name"),
    (["check", "traces/examples/append-fsync.trace", "--points", "54-60"],
     "powercut: traces/examples/append-fsync.trace: --points 54-60: no such crash point (the trace has 54, numbered from 0)"),
    # an unwritable report is found before the run: nothing on stdout
    (["check", "traces/examples/append-fsync.trace", "--json", "/nonexistent/r.json"],
     "powercut: --json: /nonexistent/r.json: cannot create: No such file or directory"),
    (["check", "traces/examples/append-fsync.trace", "-j", "2", "--junit", "/nonexistent/r.xml"],
     "powercut: --junit: /nonexistent/r.xml: cannot create: No such file or directory"),
    (["check", "tests/bad/unknown-event.trace", "--json", "tests/regress"],
     "powercut: --json: tests/regress: cannot write: Is a directory"),
    (["check", "traces/examples/append-fsync.trace", "--progress=1"],
     "powercut: check: option --progress takes no value"),
    (["check", "traces/examples/append-fsync.trace", "--json"],
     "powercut: check: option --json needs a value"),
    (["check", "traces/examples/append-fsync.trace", "--junit="],
     "powercut: check: option --junit needs a file name"),
    (["check", "tests/regress/no-events.trace", "--checker", "true"],
     "powercut: tests/regress/no-events.trace: the trace has no CPU, block or file events: nothing to check"),
    (["check", "tests/regress/no-events.trace", "-j", "2"],
     "powercut: tests/regress/no-events.trace: the trace has no CPU, block or file events: nothing to check"),
    (["check", "-", "-j", "2"],
     "powercut: check: -j 2 replays the trace in every job; standard input can be read once: give TRACE as a file"),
    (["outcomes", "traces/examples/pmem-publish.trace", "--observe", "u64:0x3ffffffc"],
     "powercut: --observe: observation 'u64:0x3ffffffc' reaches past the end of the 1073741824-byte pmem namespace"),
    (["outcomes", "traces/examples/jbd2-commit.trace", "--observe", "u64:0"],
     "powercut: --observe: observation 'u64:0' reads pmem, but the device is disk-wc (use blk:)"),
]


def test_usage(pc):
    for args, want in USAGE:
        rc, out, err = run([pc] + args)
        ok(rc == 2 and out == "" and err == want + "\n", "usage: %s" % " ".join(args),
           "status %d\nstderr %r\nwant   %r" % (rc, err, want + "\n"))


def test_help(pc):
    rc, out, _ = run([pc, "--help"])
    ok(rc == 0 and "Commands:" in out and "outcomes" in out, "help: powercut --help")
    rc, out, _ = run([pc, "run", "--help"])
    ok(rc == 0 and "pmem.size" in out and "disk.size" in out and "--machine" in out,
       "help: run --help lists parameters and options")
    rc, out, _ = run([pc, "outcomes", "--help"])
    ok(rc == 0 and "--observe" in out and "--at" in out, "help: outcomes --help")
    rc, out, err = run([pc])
    ok(rc == 2 and "usage" in err, "help: no command is a usage error")
    rc, out, _ = run([pc, "version"])
    ok(rc == 0 and out.startswith("powercut "), "help: version")
    # the man page (make install) has every command and every option the
    # commands' --help name
    man = open(os.path.join(ROOT, "docs", "powercut.1")).read()
    _, out, _ = run([pc, "--help"])
    cmds = re.findall(r"^  ([a-z]+) ", out.split("Commands:")[1], re.M)
    ok(len(cmds) >= 8 and all((".B powercut " + c) in man for c in cmds),
       "help: the man page's synopsis has every command",
       str([c for c in cmds if (".B powercut " + c) not in man]))
    plain = man.replace("\\-", "-")
    for cmd in ("run", "outcomes", "check", "merge", "import", "record"):
        _, out, _ = run([pc, cmd, "--help"])
        missing = sorted(set(o for o in re.findall(r"(?<![\w-])--[a-z][a-z-]*", out)
                             if o not in plain))
        ok(not missing, "help: the man page has every option of %s --help" % cmd, str(missing))


def test_golden(pc):
    for cmdf in sorted(glob.glob("tests/golden/*.cmd", root_dir=ROOT)):
        base = cmdf[:-4]
        args = shlex.split(open(os.path.join(ROOT, cmdf)).read())
        rc, out, err = run([pc] + args)
        want_out = open(os.path.join(ROOT, base + ".stdout")).read()
        want_rc = 0
        if os.path.exists(os.path.join(ROOT, base + ".status")):
            want_rc = int(open(os.path.join(ROOT, base + ".status")).read())
        good = rc == want_rc and out == want_out
        if os.path.exists(os.path.join(ROOT, base + ".stderr")):
            good = good and err == open(os.path.join(ROOT, base + ".stderr")).read()
        ok(good, "golden: %s" % base,
           "status %d (want %d)\n--- got stdout\n%s--- stderr\n%s" % (rc, want_rc, out, err))


def test_litmus(pc):
    files = sorted(glob.glob("tests/litmus/**/*.trace", root_dir=ROOT, recursive=True))
    for f in files:
        first = open(os.path.join(ROOT, f)).readline()
        m = re.match(r"# observe: (.*)$", first.strip())
        if not m:
            ok(False, "litmus: %s: first line must be '# observe: ARGS'" % f)
            continue
        args = shlex.split(m.group(1))
        if not args[0].startswith("-"):
            args = ["--observe"] + args
        exp = f[:-len(".trace")] + ".expected"
        if not os.path.exists(os.path.join(ROOT, exp)):
            ok(False, "litmus: %s has no %s" % (f, exp))
            continue
        want = open(os.path.join(ROOT, exp)).read()
        rc, out, err = run([pc, "outcomes", f] + args)
        ok(rc == 0 and out == want, "litmus: %s" % f,
           "status %d\n--- got\n%s--- want\n%s--- stderr\n%s" % (rc, out, want, err))


def test_examples(pc, build):
    for f in sorted(glob.glob("tests/regress/*.trace", root_dir=ROOT)):
        rc, out, err = run([pc, "run", f])
        ok(rc == 0, "regress: run %s" % f, err)
        # `# check: ARGS`: check with ARGS must find no violation either
        m = re.search(r"^# check:(.*)$", open(os.path.join(ROOT, f)).read(), re.M)
        if m:
            rc, out, err = run([pc, "check", f, "--no-progress"] + shlex.split(m.group(1)))
            ok(rc == 0 and err == "", "regress: check %s%s" % (f, m.group(1)),
               "status %d\n%s%s" % (rc, out[-2000:], err))
    # O8: the file oracle streams recovered files; a sparse 2 GiB file
    # (one byte at 2^31) was a 2 GiB buffer per judgement (2.1 GB peak)
    for args, want in (([], 0), (["--set", "jfs.block_size=4K", "--fs-opts", "nobarrier"], 1)):
        f = "tests/regress/sparse-2g-file.trace"
        pid = os.fork()
        if pid == 0:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(ROOT)
            os.execv(pc, [pc, "check", f, "--no-progress"] + args)
        _, status, ru = os.wait4(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        # sanitizers' shadow memory is not the oracle's
        bound = 256 * 1024 if "san" not in build else 1 << 40
        ok(rc == want and ru.ru_maxrss < bound,
           "regress: sparse-2g-file %s: exit %d, peak RSS under 256 MiB" % (" ".join(args), want),
           "status %d, peak RSS %d KiB" % (rc, ru.ru_maxrss))
    files = sorted(glob.glob("traces/examples/*.trace", root_dir=ROOT))
    ok(len(files) >= 4, "examples: at least four example traces")
    for f in files:
        rc, out, err = run([pc, "run", f])
        ok(rc == 0 and out.startswith("trace: ") and "events:" in out,
           "examples: run %s" % f, err)


def report_value(out, key):
    m = re.search(r"^%s: (\S+)" % re.escape(key), out, re.M)
    return m.group(1) if m else None


def test_dax(pc):
    # DAX (docs/semantics.md F22-F27): the example replays, its counters
    # say what the model did, and the three dax_flush strategies cost what
    # they should, in the fsync/msync latencies too.
    f = "traces/examples/dax-mmap-msync.trace"
    rc, out, err = run([pc, "run", f])
    ok(rc == 0 and report_value(out, "dax flush") == "tracked"
       and report_value(out, "dax write faults") == "3"
       and report_value(out, "dax blocks zeroed at allocation") == "2"
       and report_value(out, "dax pages written back") == "3"
       and report_value(out, "dax lines written back (clwb)") == "192"
       and report_value(out, "dax bytes written (non-temporal copies)") == "16"
       and report_value(out, "fsync/fdatasync/msync calls") == "2",
       "dax: run the example (tracked: 3 faults, 2 blocks zeroed, 3 pages written back)",
       out + err)
    cost = {}
    lat = {}
    for fl in ("tracked", "hammer", "none"):
        rc, out, err = run([pc, "run", f, "--fs-opts", "dax,dax_flush=" + fl])
        cost[fl] = int(report_value(out, "dax write-back cycles") or -1)
        lat[fl] = int(report_value(out, "fsync/msync latency p99") or -1)
        ok(rc == 0 and report_value(out, "dax flush") == fl, "dax: run with dax_flush=" + fl,
           out + err)
    ok(cost["hammer"] > 100 * cost["tracked"] > 0 and cost["none"] == 0
       and lat["hammer"] > lat["tracked"] > lat["none"] > 0,
       "dax: write-back cycles hammer >> tracked > none = 0, and in the fsync/msync p99",
       "write-back cycles %r, p99 %r" % (cost, lat))
    rc, out, err = run([pc, "run", f, "--set", "jfs.dax_flush=hammer"])
    ok(rc == 0 and report_value(out, "dax flush") == "hammer",
       "dax: the parameter jfs.dax_flush chooses when the mount option does not", out + err)
    rc, out, err = run([pc, "run", f, "--set", "jfs.dax_flush=hammer",
                        "--fs-opts", "dax,dax_flush=none"])
    ok(rc == 0 and report_value(out, "dax flush") == "none",
       "dax: the mount option dax_flush= wins over jfs.dax_flush", out + err)
    # impossible configurations: one line, exit 2
    for args, want in (
            # the flag that clashes with the trace's config line is named
            (["--device", "disk-wc"], "powercut: --device: fs option dax needs a pmem device "
             "(--device pmem or pmem-wb), not disk-wc\n"),
            (["--device", "build/plugins/bbwc.so"], "powercut: --device: fs option dax "
             "needs a pmem device (--device pmem or pmem-wb), not plugin\n"),
            (["--fs-opts", "dax,data=journal"], "powercut: --fs-opts: dax cannot be used with "
             "data=journal (ext4: \"can't mount with both data=journal and dax\")\n")):
        rc, out, err = run([pc, "run", f] + args)
        ok(rc == 2 and out == "" and err == want, "dax: refused: %s" % " ".join(args),
           "status %d\nstderr %r\nwant   %r" % (rc, err, want))
    # the brief's verdicts on the example (tests/test_verdicts.py runs them
    # on every example): dax_flush=none loses the mmap stores on adr
    rc, out, err = run([pc, "check", f, "--states", "bounded:1", "--no-progress",
                        "--fs-opts", "dax,dax_flush=none"])
    ok(rc == 1 and "[sync-promise]" in out and "[referenced-data]" not in out,
       "dax: dax_flush=none on adr breaks the msync/fsync promises", out[-800:] + err)
    rc, out, err = run([pc, "check", f, "--states", "bounded:1", "--no-progress",
                        "--fs-opts", "dax,dax_flush=none", "--machine", "eadr"])
    ok(rc == 0 and "violations: 0" in out, "dax: dax_flush=none on eadr is safe", out + err)


def test_outcomes_summary(pc):
    # the summary names the policy with its K and seed, as check does
    t = "traces/examples/append-fsync.trace"
    for extra, want in ((["--states", "bounded:1"], "states: 200 (bounded:1: only states with "
                         "at most 1 volatile groups off their base choice)\n"),
                        (["--states", "sample:2", "--seed", "3"],
                         "states: 108 (sample:2 per point, seed 3: not exhaustive)\n"),
                        ([], "states: 1514 (exhaustive)\n")):
        rc, out, err = run([pc, "outcomes", t, "--observe", "file:/log", "--at", "all"] + extra)
        ok(rc == 0 and err.startswith("outcomes: 4 distinct; crash points: 54; ")
           and err.endswith(want), "outcomes: summary of %s" % " ".join(extra or ["exhaustive"]),
           err)
    # --max-states N refuses a point of more states; 0 sets no limit
    for n, want_rc in (("1", 2), ("0", 0)):
        for cmd in (["outcomes", t, "--observe", "file:/log", "--at", "all"],
                    ["check", t, "--no-progress"]):
            rc, out, err = run([pc] + cmd + ["--max-states", n])
            ok(rc == want_rc, "outcomes: %s --max-states %s exits %d" % (cmd[0], n, want_rc),
               "status %d %s" % (rc, err[-300:]))


def test_determinism(pc):
    args = [pc, "outcomes", "traces/examples/pmem-publish-bug.trace",
            "--observe", "u64:0x1000,u64:0x1040", "--at", "all"]
    a = run(args)
    b = run(args)
    ok(a == b and a[0] == 0, "determinism: outcomes twice give the same bytes")
    a = run([pc, "run", "traces/examples/jbd2-commit.trace"])
    b = run([pc, "run", "traces/examples/jbd2-commit.trace"])
    ok(a == b and a[0] == 0, "determinism: run twice gives the same bytes")


def test_streaming(pc, build):
    gen = os.path.join(ROOT, build, "tools", "gen_trace")
    with tempfile.TemporaryDirectory() as d:
        # both past the models' warm-up (the cache model's line table
        # reaches its working set by ~1M events of gen_trace), so that
        # what is compared is growth with the trace's length.  File
        # traces: `run` kept every dirty page's versions (M7) for crash
        # states no one asks it for, 575 MB at 1M events.  fsyncs: every
        # call's latency was kept for the p50/p99 (8 bytes a call, 16 MB
        # at 2M fsyncs), a bounded histogram now (sim/latency.h).
        for kind, n in (("cpu", 300000), ("block", 300000), ("file", 100000),
                        ("fsync", 200000)):
            small = os.path.join(d, "small-%s.trace" % kind)
            big = os.path.join(d, "big-%s.trace" % kind)
            for f, k in ((small, n), (big, 10 * n)):
                if kind == "fsync":
                    with open(f, "w") as t:
                        t.write("open fd=3 path=/a flags=O_CREAT|O_RDWR\n")
                        t.write("fsync fd=3\n" * k)
                else:
                    subprocess.run([gen, "--events", str(k), "--kind", kind, "-o", f],
                                   check=True)
            rss = [0, 0]
            # fork+wait4 to read each run's own peak RSS
            for i, f in enumerate((small, big)):
                pid = os.fork()
                if pid == 0:
                    fd = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(fd, 1)
                    os.execv(pc, [pc, "run", f])
                _, status, ru = os.wait4(pid, 0)
                rss[i] = ru.ru_maxrss  # KiB
                ok(os.waitstatus_to_exitcode(status) == 0,
                   "streaming: run %s" % os.path.basename(f))
            ok(rss[1] < rss[0] + 8 * 1024,
               "streaming: memory does not grow with a %s trace's length" % kind,
               "%d events: %d KiB, %d events: %d KiB" % (n, rss[0], 10 * n, rss[1]))
        # B9: one 64 MiB write, or 20,000 4 KiB writes waited for together,
        # into the default 32 MiB disk cache destage 65,536 and 94,464
        # units; a scan of every pending version per destage took 147 s and
        # 93 s (quadratic), the arrival queue under a second.  A bound far
        # above that, not a benchmark.
        big_bio = ("bio id=1 op=write sector=0 len=64M data=fill:0x11\nwait id=1\n"
                   "bio id=2 op=flush\nwait id=2\n")
        many = "".join("bio id=%d op=write sector=%d len=4K data=fill:0x11\n" % (i, 8 * i)
                       for i in range(1, 20001)) + "wait all\n"
        # F3: 20,000 writes in flight, then each waited for, with
        # early-complete: a scan of every pending version at every wait for
        # the late arrivals took 71 s, the ack queue under a second.
        each = "".join("bio id=%d op=write sector=%d len=4K data=fill:0x11\n" % (i, 8 * i)
                       for i in range(1, 20001)) + \
            "".join("wait id=%d\n" % i for i in range(1, 20001))
        for name, text, args, want in (
                ("a 64 MiB bio through the 32 MiB disk cache (B9)", big_bio, [],
                 ["bq.destages: 65536", "bytes that reached media: 67108864"]),
                ("20,000 bios through the 32 MiB disk cache (B9)", many, [],
                 ["bq.destages: 94464"]),
                ("20,000 bios waited one by one, early-complete (F3)", each,
                 ["--fault", "early-complete"], ["bq.late-arrivals: 159992"])):
            w = os.path.join(d, "big.trace")
            with open(w, "w") as f:
                f.write(text)
            try:
                rc, out, err = run([pc, "run", w] + args, timeout=60)
            except subprocess.TimeoutExpired:
                rc, out, err = -1, "", "timed out after 60 s"
            ok(rc == 0 and all(x in out for x in want), "streaming: %s in time" % name,
               out + err)


def test_check(pc):
    import json
    import xml.etree.ElementTree as ET
    t = "traces/examples/pmem-publish-bug.trace"
    args = ["--set", "pmem.size=64K", "--checker", "tests/checkers/pmem-publish.sh"]
    with tempfile.TemporaryDirectory() as d:
        def j(name):
            return os.path.join(d, name)
        rc, out, err = run([pc, "check", t] + args + ["--json", j("1.json"), "--junit", j("1.xml")])
        ok(rc == 1 and "violations: 2" in out, "check: a publication without a fence is found",
           out + err)
        rep = json.load(open(j("1.json")))
        ok(set(rep) >= {"powercut", "trace", "config", "crash_points", "states", "violations",
                        "elapsed_s"} and rep["states"]["exhaustive"] is True
           and rep["states"]["checked"] == rep["states"]["total"],
           "check: the JSON report has the brief's fields", json.dumps(rep)[:500])
        v = rep["violations"][0]
        ok(set(v) >= {"invariant", "point", "line", "event", "state", "path", "expected",
                      "actual", "explanation", "replay"} and v["invariant"] == "checker"
           and "flag set but data=0" in v["actual"], "check: a violation has every field", str(v))
        root = ET.parse(j("1.xml")).getroot()
        fails = root.findall(".//failure")
        ok(len(fails) == 1 and "checker" in fails[0].get("message"), "check: JUnit report")
        # a test case per invariant something judged: no model judges a CPU
        # trace, so only the checker's; a block trace's contract is one
        cases = [t.get("classname") for t in root.iter("testcase")]
        ok(cases == ["powercut.checker"] and root.find("testsuite").get("tests") == "1",
           "check: JUnit has only the judged invariants (CPU trace, --checker)", str(cases))
        rc, out, err = run([pc, "check", "traces/examples/jbd2-commit.trace", "-j", "2",
                            "--junit", j("b.xml")])
        cases = [t.get("classname") for t in ET.parse(j("b.xml")).getroot().iter("testcase")]
        ok(rc == 0 and cases == ["powercut.sync-promise"],
           "check: JUnit of a block trace, -j 2: sync-promise only", str(cases) + err)
        # the replay command reproduces exactly that violation
        rc, out, err = run([pc] + shlex.split(v["replay"])[1:])
        ok(rc == 1 and "flag set but data=0" in out and ("state " + v["state"]) in out,
           "check: the replay command reproduces the violation", out + err)
        # a replay's report does not claim the point's every state
        rc, out, err = run([pc] + shlex.split(v["replay"])[1:] + ["--json", j("r.json")])
        st = json.load(open(j("r.json")))["states"] if rc == 1 else {}
        ok(st.get("checked") == 1 and st.get("exhaustive") is False and st.get("total", 0) is None,
           "check: a replay's --json: one state checked, not exhaustive, total unknown",
           str(st) + err)
        # -j and shards give the same report
        def strip(path):
            return re.sub(r'"elapsed_s": [0-9.]+', "", open(path).read())
        run([pc, "check", t] + args + ["-j", "2", "--json", j("2.json")])
        run([pc, "check", t] + args + ["-j", "3", "--json", j("3.json")])
        run([pc, "check", t] + args + ["--shard", "1/2", "--json", j("s1.json")])
        run([pc, "check", t] + args + ["--shard", "2/2", "--json", j("s2.json")])
        rc, out, err = run([pc, "merge", j("s2.json"), j("s1.json"), "-o", j("m.json")])
        ok(rc == 0, "merge: two shards", err)
        ok(strip(j("1.json")) == strip(j("2.json")) == strip(j("3.json")),
           "check: -j 2 and -j 3 equal -j 1")
        ok(strip(j("1.json")) == strip(j("m.json")), "merge: merged shards equal the whole")
        rc, out, err = run([pc, "merge", j("s1.json"), "-o", j("bad.json")])
        ok(rc == 2 and err == "powercut: merge: shard 2/2 is missing\n" and
           not os.path.exists(j("bad.json")), "merge: a missing shard is an error", err)
        rc, out, err = run([pc, "merge", j("s1.json"), j("s1.json"), "-o", j("bad.json")])
        ok(rc == 2 and "given twice" in err, "merge: a repeated shard is an error", err)
        # a count that is not one is refused, not added as 0
        for where, key in ((None, "points_checked"), ("states", "checked"),
                           ("states", "images_judged")):
            r = json.load(open(j("s2.json")))
            (r[where] if where else r)[key] = "x"
            json.dump(r, open(j("s2x.json"), "w"))
            rc, out, err = run([pc, "merge", j("s1.json"), j("s2x.json"), "-o", j("bad.json")])
            ok(rc == 2 and err == 'powercut: %s:1: "%s" is not a count\n' % (j("s2x.json"), key)
               and not os.path.exists(j("bad.json")), "merge: %s not a count" % key, err)
        # a sample depends on its seed: the report says it, and shards drawn
        # with different seeds are not one run
        a = "traces/examples/append-fsync.trace"
        smp = ["--fs-opts", "nobarrier", "--states", "sample:3"]
        run([pc, "check", a] + smp + ["--seed", "5", "--json", j("sw.json")])
        run([pc, "check", a] + smp + ["--seed", "5", "--shard", "1/2", "--json", j("sa.json")])
        run([pc, "check", a] + smp + ["--seed", "5", "--shard", "2/2", "--json", j("sb.json")])
        run([pc, "check", a] + smp + ["--seed", "6", "--shard", "2/2", "--json", j("sc.json")])
        ok(json.load(open(j("sw.json")))["states"].get("seed") == 5
           and json.load(open(j("1.json")))["states"].get("seed", 0) is None,
           "check: the report's states.seed (a sample's seed, else null)")
        # and what it drew from: the points' exhaustive count
        rc, out, err = run([pc, "check", a, "--fs-opts", "nobarrier", "--json", j("sx1.json")])
        whole = json.load(open(j("sx1.json")))["states"]
        samp = json.load(open(j("sw.json")))["states"]
        ok(whole.get("all") == whole["total"] == 103626 and samp.get("all") == 103626
           and samp["total"] == samp["checked"] == 156,
           "check: states.all, what a sample drew from (= total when exhaustive)",
           str(whole) + str(samp))
        rc, out, err = run([pc, "check", a] + smp + ["--seed", "5"])
        ok("states: 156 checked of 156 (sample:3 per point, seed 5: not exhaustive; "
           "103626 states in all)\n" in out, "check: the summary of a sample says what it drew from",
           out)
        rc, out, err = run([pc, "merge", j("sa.json"), j("sb.json"), "-o", j("sm.json")])
        ok(rc == 0 and strip(j("sm.json")) == strip(j("sw.json")),
           "merge: sampled shards of one seed equal the whole", err)
        rc, out, err = run([pc, "merge", j("sa.json"), j("sc.json"), "-o", j("sx.json")])
        ok(rc == 2 and "differs" in err and not os.path.exists(j("sx.json")),
           "merge: sampled shards of different seeds are refused", err)
        # a selection that names points, none of them in this shard: a
        # clean, empty shard (merge needs it); one that names none at all
        # is refused in every shard, before any report is written
        a = "traces/examples/append-fsync.trace"
        rc, out, err = run([pc, "check", a, "--points", "3", "--shard", "1/2", "--json", j("e.json")])
        ok(rc == 0 and "checked 0, this shard" in out and os.path.exists(j("e.json")),
           "check: a shard without any of the named points is clean", out + err)
        rc, out, err = run([pc, "check", a, "--points", "mark:rec9", "--json", j("n.json")])
        ok(rc == 2 and not os.path.exists(j("n.json")),
           "check: --points naming no point writes no report", out + err)
        # the summary names each point by its own line and event; the line a
        # violation is about (a promise, a write) follows where it differs
        r = "traces/examples/rename-replace.trace"
        rc, out, err = run([pc, "check", r, "--fs-opts", "nobarrier", "--points", "24",
                            "--junit", j("24.xml")])
        rc2, out2, err2 = run([pc, "check", r, "--fs-opts", "nobarrier", "--points", "24",
                               "-j", "2"])
        fails = [f.text for f in ET.parse(j("24.xml")).getroot().iter("failure")]
        ok(any(t.startswith("point 24 (line 11: sync), during commit block bio 7 submitted, "
                            "state g0=1,g2=1,g4=1,g5=1, written at line 9: ") for t in fails)
           and not any("point 24 line 9" in t for t in fails),
           "check: a JUnit failure names the point as the summary does", "\n".join(fails))
        ok(rc == 1 and "  [referenced-data] point 24 (line 11: sync), during commit block "
           "bio 7 submitted, state g0=1,g2=1,g4=1,g5=1, written at line 9\n" in out
           and "(line 9: sync)" not in out and out2 == out,
           "check: a violation's summary line: the point's line, then the write's (-j 2 too)",
           out + err + out2 + err2)
        rc, out, err = run([pc, "check", t, "--set", "pmem.size=64K", "--checker", "exit 3",
                            "--points", "0"])
        ok(rc == 1 and "  [checker] point 0 (initial state), state base\n" in out,
           "check: a violation at point 0 is at the initial state", out + err)
        # a checker that cannot run is one error line (exit 2), whatever
        # -j: not a verdict on every image
        noexec = j("noexec.sh")
        with open(noexec, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(noexec, 0o644)
        for cmd, why in (([noexec], "Permission denied"), (["./nonexistent-checker.sh"], "not found"),
                         ([noexec, "-j", "3"], "Permission denied"),
                         (["./nonexistent-checker.sh", "-j", "3"], "not found")):
            rc, out, err = run([pc, "check", t, "--checker"] + cmd)
            ok(rc == 2 and out == "" and err.count("\n") == 1 and "cannot run: " in err
               and err.rstrip().endswith(why),
               "check: a checker that cannot run: %s" % " ".join(cmd[1:] + [why]), out + err)
        rc, out, err = run([pc, "check", t, "--checker", " "])
        ok(rc == 2 and err == "powercut: check: option --checker needs a command\n",
           "check: an empty --checker is refused", out + err)
        # the reports are written before the summary: a reader that stops
        # early (| head) does not cost them
        # (standard output a pipe nobody reads: the first write is SIGPIPE)
        rfd, wfd = os.pipe()
        os.close(rfd)
        p = subprocess.run([pc, "check", "traces/examples/rename-replace.trace", "--fs-opts",
                            "nobarrier", "--json", j("h.json"), "--junit", j("h.xml")],
                           cwd=ROOT, stdout=wfd, stderr=subprocess.PIPE)
        os.close(wfd)
        ok(p.returncode == -13 and os.path.exists(j("h.json")) and os.path.exists(j("h.xml"))
           and len(json.load(open(j("h.json")))["violations"]) == 429,
           "check: a closed standard output does not cost the --json and --junit reports",
           "status %d %s" % (p.returncode, p.stderr.decode()))
        # the correct program: no violation
        rc, out, err = run([pc, "check", "traces/examples/pmem-publish.trace"] + args)
        ok(rc == 0 and "violations: 0" in out, "check: the fenced publication is clean", out + err)
        # nothing to judge: refused, not a silent pass
        rc, out, err = run([pc, "check", "traces/examples/pmem-publish.trace", "--json", j("x.json")])
        ok(rc == 2 and "nothing can judge this trace" in err and not os.path.exists(j("x.json")),
           "check: no judge is an error, and no report is written", err)
        rc, out, err = run([pc, "check", t] + args + ["--at", "99", "--state", "base"])
        ok(rc == 2 and err == "powercut: %s: --at 99: no such crash point (the trace has 7, "
           "numbered from 0)\n" % t, "check: replaying a point that does not exist", err)
        rc, out, err = run([pc, "check", t] + args + ["--at", "3", "--state", "g9=1"])
        ok(rc == 2 and "group g9 does not exist" in err and out == "",
           "check: replaying a state that does not exist (nothing on stdout)", out + err)
        rc, out, err = run([pc, "check", t] + args + ["--at", "3", "--state", "g1=5"])
        ok(rc == 2 and "group g1 has choices 1 to 1, not 5" in err and out == "",
           "check: replaying a choice that does not exist (nothing on stdout)", out + err)


CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "crashmonkey-seq1")


# K6: the reduced enumeration must find exactly the (point, invariant,
# path) violations that judging every state one by one finds, over the
# same exact count of states.  Cases: every kind of violation the file
# oracle reports, block contracts broken by faults, and clean ones.
REDUCE_CASES = [
    ("traces/examples/append-fsync.trace", ["--fs-opts", "nobarrier", "--device", "disk-wc"]),
    ("traces/examples/append-fsync.trace", ["--device", "disk-wc", "--fault", "ignore-flush"]),
    ("traces/examples/append-fsync.trace", ["--fs-opts", "data=ordered,journal_async_commit",
                                            "--device", "disk-wc"]),
    ("traces/examples/rename-replace.trace", ["--fs-opts", "data=ordered,journal_async_commit",
                                              "--device", "disk-wc"]),
    ("traces/examples/link-fdatasync.trace", ["--device", "disk-wc"]),
    ("traces/examples/rename-replace.trace", ["--fs-opts", "data=journal", "--device", "disk-wc"]),
    ("tests/litmus/fs/f16-nobarrier-disk-wc-commit-before-data.trace", []),
    ("tests/litmus/fs/f8-nojournal-checksum-torn-commit-replays.trace", []),
    ("tests/litmus/fs/f8-journal-checksum-torn-commit.trace", []),
    ("tests/litmus/block/f3-early-complete-next-flush.trace", ["--fault", "ignore-flush"]),
    ("tests/litmus/block/b4-wait-orders-wc.trace", ["--fault", "early-complete"]),
    ("tests/litmus/block/b11-pmemwb-fua.trace", ["--fault", "ignore-fua"]),
    ("tests/litmus/block/f2-pmemwb-ignore-fua-words.trace", ["--fault", "ignore-fua"]),
    ("tests/litmus/block/plugin-bbwc-f3-early-complete-next-flush.trace",
     ["--fault", "ignore-flush"]),
]


def test_jobs_signal(pc):
    """K4: a -j run stopped by a signal leaves no job directory ($TMPDIR)."""
    import signal
    import time
    t = "traces/examples/append-fsync.trace"
    with tempfile.TemporaryDirectory() as d:
        for sig in (signal.SIGTERM, signal.SIGINT):
            # a check that runs long enough to be stopped (minutes):
            # ten million sampled states a point
            p = subprocess.Popen([pc, "check", t, "--fs-opts", "nobarrier", "--states",
                                  "sample:10000000", "-j", "2", "--no-progress"], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=dict(os.environ, TMPDIR=d))
            seen = []
            for _ in range(100):
                seen = os.listdir(d)
                if seen and os.listdir(os.path.join(d, seen[0])):
                    break
                time.sleep(0.05)
            p.send_signal(sig)
            rc = p.wait(timeout=60)
            ok(seen and rc == -sig and os.listdir(d) == [],
               "jobs: -j 2 stopped by %s removes its job directory" % sig.name,
               "seen %s, status %s, left %s" % (seen, rc, os.listdir(d)))


def test_reduce(pc):
    import json
    with tempfile.TemporaryDirectory() as d:
        def report(t, args, name):
            js = os.path.join(d, name)
            rc, out, err = run([pc, "check", t] + args + ["--json", js, "--no-progress"])
            if rc not in (0, 1) or not os.path.exists(js):
                return rc, None, None, err
            r = json.load(open(js))
            return rc, {(v["point"], v["invariant"], v["path"]) for v in r["violations"]}, r, err
        for t, args in REDUCE_CASES:
            if not os.path.exists(os.path.join(ROOT, t)):
                ok(False, "reduce: %s exists" % t)
                continue
            rc1, v1, r1, e1 = report(t, args, "r.json")
            rc2, v2, r2, e2 = report(t, args + ["--no-reduce"], "p.json")
            ok(v1 is not None and v2 is not None and rc1 == rc2 and v1 == v2
               and r1["states"]["checked"] == r2["states"]["checked"]
               and r1["states"]["reduced"] and not r2["states"]["reduced"],
               "reduce: %s %s: the same violations as judging every state" % (t, " ".join(args)),
               "%s %s | only reduced %s | only plain %s" % (e1, e2,
                   sorted(v1 - v2)[:3] if v1 and v2 is not None else "",
                   sorted(v2 - v1)[:3] if v2 and v1 is not None else ""))
        # one file case end to end: -j, shards, replay, more states than 2^64
        t = "traces/examples/append-fsync.trace"
        args = ["--fs-opts", "nobarrier", "--device", "disk-wc"]
        def strip(path):
            return re.sub(r'"elapsed_s": [0-9.]+', "", open(path).read())
        for extra, name in ((["-j", "2"], "j2.json"), (["--shard", "1/2"], "s1.json"),
                            (["--shard", "2/2"], "s2.json"), ([], "j1.json")):
            run([pc, "check", t] + args + extra + ["--json", os.path.join(d, name)])
        run([pc, "merge", os.path.join(d, "s1.json"), os.path.join(d, "s2.json"),
             "-o", os.path.join(d, "m.json")])
        ok(strip(os.path.join(d, "j1.json")) == strip(os.path.join(d, "j2.json"))
           == strip(os.path.join(d, "m.json")),
           "reduce: -j 2 and two merged shards equal -j 1")
        r = json.load(open(os.path.join(d, "j1.json")))
        ok(0 < r["states"]["violating"] <= r["states"]["images_judged"],
           "reduce: the judgements that found violations are counted once each",
           str(r["states"]))
        v = [x for x in r["violations"] if x["invariant"] == "referenced-data"][0]
        rc, out, err = run([pc] + shlex.split(v["replay"])[1:])
        ok(rc == 1 and ("state " + v["state"]) in out and "[referenced-data]" in out
           and v["path"] in out, "reduce: a reported state replays to its violation",
           v["replay"] + "\n" + out[-800:] + err)
        ok(re.search(r"bio [1-9][0-9]* \(line [1-9][0-9]*, ", out) and "(line 0," not in out,
           "reduce: the replayed state names the filesystem's bios by number and trace line",
           out[:800])
        wl = os.path.join(CORPUS, "j-lang176")
        if os.path.exists(wl):
            tr = os.path.join(d, "w.trace")
            run([pc, "import", "jlang", wl, "-o", tr])
            rc, out, err = run([pc, "check", tr, "--no-progress"])
            ok(rc == 0 and "states: every one of more than 18446744073709551615 checked" in out,
               "reduce: a CrashMonkey workload with more than 2^64 states at a point, "
               "exhaustively", out + err)
        # S2: a point whose reduced enumeration needs more judgements than
        # the default limit is refused in seconds, saying what was covered
        # (on pmem under early-complete no fence ever follows the driver's
        # non-temporal copies, so replayed log blocks tear at 8 bytes: more
        # than 1e11 judgements at a point; the old limit of 1e8 ran for hours)
        try:
            rc, out, err = run([pc, "check", t, "--device", "pmem", "--fault", "early-complete",
                                "--no-progress"], timeout=90)
        except subprocess.TimeoutExpired:
            rc, out, err = None, "", "timed out after 90 s"
        ok(rc == 2 and err.count("\n") == 1 and "needs more than 100000 judgements" in err
           and "those judgements covered" in err and "--max-states" in err,
           "reduce: a point needing more judgements than the default limit is refused, "
           "not enumerated for hours", "status %s: %s" % (rc, err[-600:]))
        # ... but only at a point of more states than --max-states (that
        # rule: check_sim explore_judgement_limit).  This trace needed
        # 206,554 judgements at a point of 393,216 states until O5 left
        # out the identities a path's recovered size rules out
        rc, out, err = run([pc, "check", "tests/litmus/fs/m8-pmemwb-written-back-in-part.trace",
                            "--no-progress"])
        ok(rc == 0 and "judgements: 9965" in out,
           "reduce: m8-pmemwb-written-back-in-part, 393,216 states at a point, clean",
           "status %s: %s%s" % (rc, out[-300:], err[-300:]))
        # thousands of groups at a point, a few emitting in each state: a
        # 32 KiB data=writeback file on pmem has a page group per 8-byte
        # unit (4,096 a point) and each unit's stale value is a violation
        # of its own.  A judgement once walked every group per read and
        # every candidate per group (180 s, the same 29,399 judgements);
        # 60 s is the hang guard, the count the exact check
        f18 = "tests/litmus/fs/f18-data-writeback-size-before-data.trace"
        for dev in ("pmem", "pmem-wb"):
            js = os.path.join(d, "f18.json")
            try:
                rc, out, err = run([pc, "check", f18, "--device", dev, "--json", js,
                                    "--no-progress"], timeout=60)
            except subprocess.TimeoutExpired:
                rc, out, err = None, "", "timed out after 60 s"
            r = json.load(open(js)) if rc == 1 else None
            ok(r is not None and r["states"]["images_judged"] == (29399 if dev == "pmem" else 29548)
               and {v["invariant"] for v in r["violations"]} == {"referenced-data"}
               and {v["path"] for v in r["violations"]} == {"/o1", "/o2", "/a"},
               "reduce: %s on %s: 4,096 page groups a point, every stale unit found" % (f18, dev),
               "status %s: %s%s %s" % (rc, out[-300:], err[-300:], r and r["states"]))
        # O4 for a promise none of whose names stands: the paths it ever
        # had that the promise's size rules out are no candidates, so one
        # path is left and the check is per word again.  f10 renames /s
        # over /t with /s's write-back in flight, torn per 8 bytes on pmem:
        # refused at point 105 (more than 100,000 judgements) before
        f10 = "tests/litmus/fs/f10-fdatasync-waits-own-file-only.trace"
        for dev, n in (("pmem", 4765), ("pmem-wb", 14099)):
            js = os.path.join(d, "f10.json")
            rc, out, err = run([pc, "check", f10, "--device", dev, "--json", js,
                                "--no-progress"], timeout=60)
            r = json.load(open(js)) if rc == 0 else None
            ok(r is not None and r["states"]["images_judged"] == n and not r["violations"],
               "reduce: %s on %s: a promise's paths narrowed by its size" % (f10, dev),
               "status %s: %s%s" % (rc, out[-300:], err[-300:]))
        # O5: of a path's identities only the recovered inode's explains
        # its data, so a same-size file renamed over another is judged per
        # word again: refused at point 37 on pmem-wb before (more than
        # 100,000 judgements; the rename's write-back tears per 8 bytes)
        f12 = "tests/litmus/fs/f12-auto-da-alloc-replace-never-empty.trace"
        js = os.path.join(d, "f12.json")
        rc, out, err = run([pc, "check", f12, "--device", "pmem-wb", "--json", js,
                            "--no-progress"], timeout=60)
        r = json.load(open(js)) if rc == 0 else None
        ok(r is not None and r["states"]["images_judged"] == 610 and not r["violations"],
           "reduce: %s on pmem-wb: a path's identities narrowed by its inode" % f12,
           "status %s: %s%s" % (rc, out[-300:], err[-300:]))
        # F8 on pmem: a log block in flight tears at 8 bytes (64 lines of
        # 256 choices).  The scan once read every block it sums whole, and
        # the copy's unchanged zeros split every line's choices: refused
        # at the first such point (more than 100,000 judgements).  Now a
        # summed block is compared word by word with what the filesystem
        # wrote there, and bytes written with the media's own value where
        # no other group writes split nothing (choice_sig).  Exact counts,
        # exit status and violations (a 3,000-state sample of each, judged
        # plainly, finds nothing these do not)
        for name, dev, n, rc0, viol in (
                ("f8-journal-checksum-torn-commit", "pmem", 595, 0, set()),
                ("f8-journal-checksum-torn-commit", "pmem-wb", 5449, 1, {("sync-promise", "/a")}),
                ("f8-async-commit-checksum-rejects-partial-log", "pmem", 597, 0, set()),
                ("f8-async-commit-checksum-rejects-partial-log", "pmem-wb", 4338, 0, set()),
                ("f8-async-commit-ordered-data", "pmem-wb", 2637, 1, {("referenced-data", "/a")})):
            js = os.path.join(d, "f8.json")
            try:
                rc, out, err = run([pc, "check", "tests/litmus/fs/%s.trace" % name, "--device", dev,
                                    "--json", js, "--no-progress"], timeout=60)
            except subprocess.TimeoutExpired:
                rc, out, err = None, "", "timed out after 60 s"
            r = json.load(open(js)) if rc in (0, 1) else None
            ok(rc == rc0 and r is not None and r["states"]["images_judged"] == n
               and {(v["invariant"], v["path"]) for v in r["violations"]} == viol,
               "reduce: %s on %s: torn checksummed log blocks judged per word" % (name, dev),
               "status %s: %s%s %s" % (rc, out[-300:], err[-300:], r and r["states"]))
        # P8, P9 on pmem block traces.  The block oracle's verdict on a
        # sector is per 8-byte word there, so its reads are separable by
        # word, not by sector: a rewrite of a promised sector torn in the
        # CPU cache (8 lines of 256 choices) was refused.  And a point
        # inside a bio's own event (the pmem driver copies as it submits)
        # sees that bio submitted: the rewrite's data was "data no write
        # of the trace put there" (concurrent-rewrites on pmem, point 14,
        # the base state alone)
        for t, args, rc0, viol in (
                ("tests/regress/concurrent-rewrites.trace", ["--device", "pmem"], 0, set()),
                ("tests/regress/concurrent-rewrites.trace", ["--device", "pmem-wb"], 0, set()),
                ("tests/regress/pmem-wb-sector-rewrite.trace", [], 0, set()),
                ("tests/litmus/block/f1-pmemwb-ignore-flush-words.trace",
                 ["--fault", "ignore-flush"], 1, {("sync-promise", "bio 1 (line 8)")})):
            js = os.path.join(d, "p8.json")
            try:
                rc, out, err = run([pc, "check", t] + args + ["--json", js, "--no-progress"],
                                   timeout=60)
            except subprocess.TimeoutExpired:
                rc, out, err = None, "", "timed out after 60 s"
            r = json.load(open(js)) if rc in (0, 1) else None
            ok(rc == rc0 and r is not None and r["states"]["exhaustive"]
               and {(v["invariant"], v["path"]) for v in r["violations"]} == viol,
               "reduce: %s %s: exhaustive, per-word sectors (P8, P9)" % (t, " ".join(args)),
               "status %s: %s%s" % (rc, out[-300:], err[-300:]))
        rc, out, err = run([pc, "check", "tests/regress/concurrent-rewrites.trace", "--device",
                            "pmem", "--at", "14", "--state", "base"])
        ok(rc == 0 and "bio 4: fenced" in out and "sync-promise" not in out,
           "reduce: a point inside a bio's event on pmem sees the bio submitted (P9)",
           "status %s: %s%s" % (rc, out[-400:], err[-300:]))




def test_report(pc):
    """powercut report: a check report as one HTML page (sim/report.c)."""
    import html as htmlmod
    t = "traces/examples/append-fsync.trace"
    with tempfile.TemporaryDirectory() as d:
        j = lambda n: os.path.join(d, n)
        rc, _, _ = run([pc, "check", t, "--fs-opts", "nobarrier", "--no-progress",
                        "--json", j("bad.json")])
        rep = json.load(open(j("bad.json")))
        ok(rc == 1 and rep["violations"], "report: a violating check to draw")
        rc, out, err = run([pc, "report", j("bad.json"), "-o", j("bad.html")])
        page = open(j("bad.html")).read() if rc == 0 else ""
        n = len(rep["violations"])
        ok(rc == 0 and out == "" and err == "" and page.startswith("<!DOCTYPE html>")
           and page.rstrip().endswith("</html>") and "<script" not in page
           and "%d violations</p>" % n in page and "<h2>Violations (%d)</h2>" % n in page,
           "report: the page of a violating check", "status %d: %s" % (rc, err))
        # every violation is a mark on the timeline (its point in the
        # tooltip) and a table with its replay command, HTML-escaped
        marks = re.findall(r'<a href="#v(\d+)"><rect [^>]*><title>#\d+ point (\d+),', page)
        ok(len(marks) == n and all(int(p) == v["point"] for (i, p), v in
                                   zip(marks, rep["violations"])),
           "report: one timeline mark per violation, at its point", str(marks[:3]))
        ok(all(htmlmod.escape(v["replay"], quote=True) in page for v in rep["violations"]),
           "report: every violation's replay command")
        ok('class="unx"' in page and "points %d-%d" % tuple(rep["states"]["unexplored_ranges"][0])
           in page, "report: the points not explored shaded (K7)")
        # latency: the trace replayed with the report's configuration
        rc, out, _ = run([pc, "run", t, "--fs-opts", "nobarrier"])
        p50 = re.search(r"latency p50: (\d+) cycles", out).group(1)
        ok("2 calls; p50 %s cycles" % p50 in page and 'class="hist"' in page,
           "report: the latency histogram, as run measures it", p50)
        # deterministic
        run([pc, "report", j("bad.json"), "-o", j("bad2.html")])
        ok(open(j("bad2.html")).read() == page, "report: the same page twice")
        # a clean check, and a report whose trace is not here
        run([pc, "check", t, "--no-progress", "--json", j("ok.json")])
        rc, _, err = run([pc, "report", j("ok.json"), "-o", j("ok.html")])
        page = open(j("ok.html")).read() if rc == 0 else ""
        ok(rc == 0 and "No violation</p>" in page and "<h2>Violations (0)</h2>" in page,
           "report: the page of a clean check", err)
        gone = dict(json.load(open(j("ok.json"))), trace=j("moved.trace"))
        json.dump(gone, open(j("gone.json"), "w"))
        rc, _, err = run([pc, "report", j("gone.json"), "-o", j("gone.html")])
        page = open(j("gone.html")).read() if rc == 0 else ""
        ok(rc == 0 and "cannot be read here" in page, "report: a trace not here is a note",
           err)
        # a check run where its trace is (a relative path in the report),
        # the report read from elsewhere: the trace is found beside it
        shutil.copy(os.path.join(ROOT, t), j("here.trace"))
        subprocess.run([pc, "check", "here.trace", "--no-progress", "--json", "here.json"],
                       cwd=d, capture_output=True)
        rc, _, err = run([pc, "report", j("here.json"), "-o", j("here.html")])
        page = open(j("here.html")).read() if rc == 0 else ""
        ok(rc == 0 and "2 calls; p50" in page and "cannot be read" not in page,
           "report: a relative trace found beside the report", err)
        os.rename(j("here.trace"), j("there.trace"))
        rc, _, err = run([pc, "report", j("here.json"), "-o", j("here.html")])
        page = open(j("here.html")).read() if rc == 0 else ""
        ok(rc == 0 and "cannot be read here" in page and "nor beside the report as" in page,
           "report: a relative trace neither here nor beside the report is a note", err)
        # a stream is written, not replaced (a rename over /dev/stdout as
        # root once turned the link into a regular file holding a report)
        rc, out, err = run([pc, "report", j("bad.json"), "-o", "/dev/stdout"])
        ok(rc == 0 and out.startswith("<!DOCTYPE html>") and os.path.islink("/dev/stdout"),
           "report: -o /dev/stdout writes the page there", err)
        rc, out, err = run([pc, "check", t, "--no-progress", "--json", "/dev/stdout"])
        ok(rc == 0 and out.startswith("{") and "check: " in out
           and json.loads(out[:out.index("check: ")])["crash_points"] > 0
           and os.path.islink("/dev/stdout"), "report: check --json /dev/stdout, the report "
           "then the summary, and /dev/stdout still a link", out[:200] + err)
        # bad input: one line, exit 2, no output file
        open(j("notjson"), "w").write("version 1\n")
        json.dump({"a": 1}, open(j("other.json"), "w"))
        for args, want in (([j("none.json"), "-o", j("x.html")], "cannot read"),
                           ([j("notjson"), "-o", j("x.html")], "notjson:1:"),
                           ([j("other.json"), "-o", j("x.html")], "not a powercut check report"),
                           ([j("bad.json")], "usage: powercut report"),
                           ([j("bad.json"), "-o", "/nonexistent/x.html"], "/nonexistent"),
                           ([j("bad.json"), j("ok.json"), "-o", j("x.html")], "one REPORT.json")):
            rc, out, err = run([pc, "report"] + args)
            ok(rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("powercut: ")
               and want in err and not os.path.exists(j("x.html")),
               "report: %s" % want, "status %d: %s" % (rc, err))


def test_import(pc):
    wl = sorted(glob.glob(os.path.join(CORPUS, "j-lang*")))
    ok(len(wl) == 328, "import: the CrashMonkey seq-1 corpus has 328 workloads", CORPUS)
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for f in wl:
            out = os.path.join(d, os.path.basename(f) + ".trace")
            rc, _, err = run([pc, "import", "jlang", f, "-o", out])
            if rc != 0:
                bad.append("import %s: %s" % (f, err))
                continue
            rc, _, err = run([pc, "run", out])
            if rc != 0:
                bad.append("run %s: %s" % (out, err))
        ok(not bad, "import: all 328 workloads import and replay", "\n".join(bad[:5]))
        # the system calls of j-lang1, checked by hand against the C++ ACE generates
        rc, out, err = run([pc, "import", "jlang", os.path.join(CORPUS, "j-lang1"), "-o", "-"])
        body = [l for l in out.splitlines() if not l.startswith("#")]
        ok(rc == 0 and body == ["version 1", "open fd=3 path=/foo flags=O_RDWR|O_CREAT",
                                "open fd=4 path=/ flags=O_DIRECTORY", "fsync fd=4",
                                "mark name=checkpoint-1", "close fd=3", "close fd=4"],
           "import: j-lang1 becomes open, opendir, fsync, checkpoint, close, close", out + err)
        # dwrite: close, reopen O_DIRECT|O_SYNC, one pwrite of the d-pattern, close
        rc, out, err = run([pc, "import", "jlang", os.path.join(CORPUS, "j-lang160"), "-o", "-"])
        body = [l for l in out.splitlines() if not l.startswith("#")]
        pat = b"ddddddddddklmnopqrstuvwxyz123456" * 1024
        ok(rc == 0 and body[2:6] == ["close fd=3", "open fd=3 path=/foo flags=O_RDWR|O_DIRECT|O_SYNC",
                                     "pwrite fd=3 off=0 len=32768 data=hex:" + pat.hex(),
                                     "close fd=3"],
           "import: dwrite is close, O_DIRECT|O_SYNC open, pwrite, close", "\n".join(body[:8])[:600])
        # write: the WriteData() split at 4 KiB boundaries, bytes by file offset
        src = os.path.join(d, "w.jl")
        open(src, "w").write("# define\nfoo\n# run\nopen foo O_RDWR|O_CREAT 0777\n"
                             "write foo 1000 8000\nclose foo\n")
        rc, out, err = run([pc, "import", "jlang", src, "-o", "-"])
        pw = [l.split() for l in out.splitlines() if l.startswith("pwrite")]
        w = b"abcdefghijklmnopqrstuvwxyz123456"
        want = [(1000, 3096), (4096, 4096), (8192, 808)]
        good = rc == 0 and [(int(p[2][4:]), int(p[3][4:])) for p in pw] == want
        for p, (o, n) in zip(pw, want):
            good = good and p[4] == "data=hex:" + bytes(w[(o + i) % 32] for i in range(n)).hex()
        ok(good, "import: WriteData splits 1000+8000 as 3096, 4096, 808 with offset-keyed bytes",
           out[:400] + err)
        # bad input: one line, exit 2, no output file
        open(src, "w").write("# define\nfoo\n# run\nopen foo O_RDWR|O_BOGUS 0777\n")
        out_path = os.path.join(d, "never.trace")
        rc, out, err = run([pc, "import", "jlang", src, "-o", out_path])
        ok(rc == 2 and err == "powercut: %s:4: unknown open flag 'O_BOGUS'\n" % src
           and not os.listdir(d) == [] and not os.path.exists(out_path)
           and not [f for f in os.listdir(d) if f.startswith("never")],
           "import: bad j-lang is one error line and leaves no file", err)
        rc, out, err = run([pc, "import", "pcap", src, "-o", out_path])
        ok(rc == 2 and "unknown format 'pcap'" in err, "import: unknown format", err)


def test_mutation(pc):
    rnd = random.Random(1)
    seeds = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(ROOT, "traces/examples/*.trace")))]
    seeds += [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(ROOT, "tests/bad/*.trace")))]
    alphabet = b" =\"\\#\n\t0x:|,KMG-" + bytes(range(32, 127)) + b"\x00\xff"
    crashes = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.trace")
        for i in range(300):
            data = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 8)):
                if not data:
                    break
                pos = rnd.randrange(len(data))
                op = rnd.random()
                if op < 0.4:
                    data[pos] = rnd.choice(alphabet)
                elif op < 0.7:
                    del data[pos:pos + rnd.randint(1, 8)]
                else:
                    data[pos:pos] = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 8)))
            open(path, "wb").write(data)
            for cmd in (["run", path], ["outcomes", path, "--observe", "blk:0:512", "--at", "all",
                                        "--max-states", "20000"]):
                rc, out, err = run([pc] + cmd)
                if rc not in (0, 2) or (rc == 2 and (err.count("\n") != 1 or not err.startswith("powercut: "))):
                    crashes.append((bytes(data), cmd[0], rc, err[:300]))
    ok(not crashes, "mutation: 300 mutated traces, no crash, one-line errors",
       "\n".join("%s status %d: %r\n  input %r" % (c, rc, e, dat[:200]) for dat, c, rc, e in crashes[:5]))


def test_unexplored(pc):
    """K7, M9 (docs/semantics.md F15 "Not explored"): a history with an
    earlier background commit followed by an in-place data write is not
    enumerated; check and outcomes say at which points, and only there."""
    import json
    import xml.etree.ElementTree as ET
    gap = "tests/unexplored/f15-odirect-after-background-commit.trace"
    real = "tests/unexplored/f15-odirect-after-timer-commit.trace"
    line = "file:/a=4096:85d9260d file:/b=absent"
    obs = ["--observe", "file:/a,file:/b"]
    rc, out, err = run([pc, "outcomes", real] + obs)
    ok(rc == 0 and line in out.splitlines(),
       "unexplored: the history with the timer's commit before the O_DIRECT write shows "
       + line, out + err)
    rc, out, err = run([pc, "outcomes", gap] + obs + ["--at", "all"])
    ok(rc == 0 and line not in out.splitlines() and
       "not explored: at 5 of 10 crash points (points 5-9 of the trace)" in err,
       "unexplored: without the think the line is missing and outcomes says where", out + err)
    with tempfile.TemporaryDirectory() as d:
        def j(name):
            return os.path.join(d, name)
        rc, out, err = run([pc, "check", gap, "--no-progress", "--json", j("1.json"),
                            "--junit", j("1.xml")])
        ok(rc == 0 and "not explored: at 5 of 10 crash points checked (points 5-9 of the "
           "trace)" in out and "docs/semantics.md, F15" in out,
           "unexplored: check names the 5 points of the O_DIRECT write", out + err)
        rep = json.load(open(j("1.json")))
        ok(rep["states"]["unexplored_points"] == 5 and
           rep["states"]["unexplored_ranges"] == [[5, 9]],
           "unexplored: --json states.unexplored_points and unexplored_ranges",
           json.dumps(rep["states"]))
        ok("(points 5-9 of the trace)" in
           " ".join(x.text or "" for x in ET.parse(j("1.xml")).getroot().iter("system-out")),
           "unexplored: --junit system-out names the points")
        props = ET.parse(j("1.xml")).getroot().findall(".//property")
        ok([(p.get("name"), p.get("value")) for p in props] ==
           [("powercut.unexplored_points", "5")], "unexplored: --junit property")
        rc, out, err = run([pc, "check", gap, "--no-progress", "--points", "0-4"])
        ok(rc == 0 and "not explored" not in out, "unexplored: not before the O_DIRECT write",
           out)

        def strip(path):
            return re.sub(r'"elapsed_s": [0-9.]+', "", open(path).read())
        run([pc, "check", gap, "--no-progress", "-j", "2", "--json", j("2.json")])
        run([pc, "check", gap, "--no-progress", "--shard", "1/2", "--json", j("s1.json")])
        run([pc, "check", gap, "--no-progress", "--shard", "2/2", "--json", j("s2.json")])
        run([pc, "merge", j("s1.json"), j("s2.json"), "-o", j("m.json")])
        ok(strip(j("1.json")) == strip(j("2.json")) == strip(j("m.json")),
           "unexplored: -j 2 and merged shards count the same points")
        rep = json.load(open(j("s1.json")))
        ok(rep["states"]["unexplored_points"] == 2 and
           rep["states"]["unexplored_ranges"] == [[5, 9]],
           "unexplored: a shard counts its own points and names the trace's",
           json.dumps(rep["states"]))
        rc, out, err = run([pc, "check", gap, "--no-progress", "--points", "7-9", "--json",
                            j("p.json")])
        ok("not explored: at 3 of 3 crash points checked (points 7-9 of the trace)" in out
           and json.load(open(j("p.json")))["states"]["unexplored_ranges"] == [[7, 9]],
           "unexplored: --points names only the selected points", out)
        # no in-place write after the boundaries: covered (F15 item 2)
        t = "tests/litmus/fs/f20-background-commit-earlier-covered.trace"
        rc, out, err = run([pc, "check", t, "--no-progress", "--json", j("c.json"),
                            "--junit", j("c.xml")])
        rep = json.load(open(j("c.json")))
        ok(rc == 0 and "not explored" not in out and rep["states"]["unexplored_points"] == 0
           and rep["states"]["unexplored_ranges"] == []
           and not ET.parse(j("c.xml")).getroot().findall(".//property"),
           "unexplored: nothing said when every history is covered", out)
    rc, out, err = run([pc, "check", gap, "--no-progress", "--background", "off"])
    ok(rc == 0 and "not explored" not in out,
       "unexplored: --background off has no background history to miss", out)
    # a sync is a commit every history makes: nothing left after it
    with tempfile.TemporaryDirectory() as d:
        t = os.path.join(d, "s.trace")
        with open(os.path.join(ROOT, gap)) as f:
            open(t, "w").write(f.read() + "sync\nopen fd=6 path=/c flags=O_CREAT|O_WRONLY\n")
        rc, out, err = run([pc, "check", t, "--no-progress", "--json", os.path.join(d, "s.json")])
        rep = json.load(open(os.path.join(d, "s.json")))
        n = rep["crash_points"]
        rc2, out2, err2 = run([pc, "check", t, "--no-progress", "--points",
                               "%d-%d" % (n - 2, n - 1)])
        ok(rep["states"]["unexplored_points"] > 5 and "not explored" not in out2,
           "unexplored: the window closes at the end of sync", out + out2)
    # a device that may lose a completed commit's writes: any earlier
    # commit makes a history of its own, reported from the first boundary
    lossy = "tests/unexplored/lossy-nobarrier-earlier-commit.trace"
    twin = "tests/unexplored/lossy-nobarrier-timer-commit.trace"
    obs = ["--observe", "file:/a,file:/b"]
    line = "file:/a=4096:e67e931f file:/b=absent"
    rc, out, err = run([pc, "outcomes", twin] + obs)
    ok(rc == 0 and line in out.splitlines(),
       "unexplored: nobarrier, the timer's earlier commit leaves /b uncommitted: " + line,
       out + err)
    rc, out, err = run([pc, "outcomes", lossy] + obs)
    ok(rc == 0 and line not in out.splitlines() and
       "not explored: at 1 of 1 crash points (point 29 of the trace)" in err
       and "nobarrier" in err,
       "unexplored: nobarrier, without the think the line is missing and outcomes says so",
       out + err)
    rc, out, err = run([pc, "check", lossy, "--no-progress"])
    ok("not explored: at 27 of 29 crash points checked (points 2-28 of the trace)" in out,
       "unexplored: nobarrier on disk-wc, every point from the first commit choice", out + err)
    for cfg in (["--device", "disk-wt"], ["--fs-opts", "nodelalloc"]):
        rc, out, err = run([pc, "check", lossy, "--no-progress"] + cfg)
        ok(rc == 0 and "not explored" not in out,
           "unexplored: nothing lost after completion with %s" % " ".join(cfg), out + err)
    rc, out, err = run([pc, "check", lossy, "--no-progress", "--fs-opts", "nodelalloc",
                        "--fault", "ignore-flush"])
    ok("not explored: at" in out, "unexplored: --fault ignore-flush drops the flushes", out + err)


def test_progress(pc):
    """K5: --progress draws a line on standard error; counts past 2^64 are
    said so, with the judgements' rate, never as a wrapped number."""
    t = "traces/examples/append-fsync.trace"
    rc, out, err = run([pc, "check", t, "--progress"])
    last = err.split("\r")[-1]
    ok(rc == 0 and re.match(r"check: \d+ points, \d+ states, \d+ states/s, 0 violations",
                            last) is not None,
       "progress: points, states, states per second", err)
    rc, out, err = run([pc, "check", t, "--progress", "--device", "pmem"])
    last = err.split("\r")[-1]
    ok(rc == 0 and re.match(r"check: 63 points, more than 2\^64 states, 1624 judgements, "
                            r"\d+ judgements/s, 0 violations", last) is not None
       and "18446744073709551615" not in err,
       "progress: more than 2^64 states, the judgements' rate", err)
    rc, out, err = run([pc, "check", t, "--no-progress"])
    ok(rc == 0 and err == "", "progress: --no-progress draws nothing", err)
    # -j N: the parent draws the jobs' sums while they run (a 2 s check)
    r = "traces/examples/rename-replace.trace"
    rc, out, err = run([pc, "check", r, "--fs-opts", "nobarrier", "--progress", "-j", "2"])
    lines = [x for x in err.split("\r") if x.startswith("check: ")]
    ok(rc == 1 and len(lines) >= 3 and any(re.match(r"check: [1-9]\d* points, [1-9]\d* states", x)
                                           for x in lines[:-1])
       and lines[-1].startswith("check: 81 points, 13347405 states, ")
       and lines[-1].endswith(" 429 violations   \n"),
       "progress: -j 2 draws the jobs' progress while they run, then the whole", err[-600:])


def test_checker_fs(pc):
    """--checker on a file trace: the model's recovered filesystem, written
    out as a tree (sim/check.c tree_write), judged by the application."""
    import hashlib
    import json
    man = "tests/checkers/tree-manifest.sh"
    with tempfile.TemporaryDirectory() as d:
        def j(name):
            return os.path.join(d, name)
        # every kind of object, as the trace left it (all durable by sync)
        rc, out, err = run([pc, "check", "tests/checkers/tree.trace", "--checker", man,
                            "--points", "mark:end"], env={"MANIFEST": j("m.txt")})
        f = bytes(b"a" * 5000 + bytes(15000) + b"b" * 10)
        want = ("== cwd: fs\n./d/\n./d/e/\n./d/e/g 20010 2 %s\n./d/f 20010 2 %s\n"
                "./empty 0 1 %s\n./s -> /d/f\n" % (hashlib.md5(f).hexdigest(),
                                                   hashlib.md5(f).hexdigest(),
                                                   hashlib.md5(b"").hexdigest()))
        got = open(j("m.txt")).read() if os.path.exists(j("m.txt")) else ""
        ok(rc == 0 and got == want, "checker-fs: the tree holds every object as recovered",
           "status %d %s\ngot  %r\nwant %r" % (rc, err, got, want))
        # one checker run per distinct tree, across every point and state
        rc, out, err = run([pc, "check", "tests/checkers/tree.trace", "--checker", man],
                           env={"MANIFEST": j("all.txt")})
        runs = open(j("all.txt")).read().split("== ")[1:] if os.path.exists(j("all.txt")) else []
        ok(rc == 0 and len(runs) > 5 and len(runs) == len(set(runs)) and
           ("cwd: fs\n" + want.split("\n", 1)[1]) in runs,
           "checker-fs: one run per distinct recovered tree",
           "status %d, %d runs, %d distinct %s" % (rc, len(runs), len(set(runs)), err))
        # the application's verdicts: replace-by-rename without fsync is
        # safe under auto_da_alloc (F12), leaves an empty file without it
        t = "tests/checkers/replace.trace"
        args = ["--checker", "tests/checkers/replace-never-empty.sh", "--checker-file", "/f",
                "--no-progress"]
        rc, out, err = run([pc, "check", t] + args)
        ok(rc == 0 and "violations: 0" in out, "checker-fs: auto_da_alloc keeps /f whole",
           out + err)
        vs = {}
        for name, extra in (("1", []), ("2", ["-j", "2"]), ("plain", ["--no-reduce"])):
            rc, out, err = run([pc, "check", t, "--fs-opts", "noauto_da_alloc",
                                "--json", j(name + ".json")] + args + extra)
            vs[name] = (rc, json.load(open(j(name + ".json")))["violations"]
                        if os.path.exists(j(name + ".json")) else None)
        rc, v = vs["1"]
        ok(rc == 1 and v and all(x["invariant"] == "checker" and x["path"] == "/f" and
                                 "size 0" in x["actual"] and x["line"] in (20, 21) for x in v),
           "checker-fs: noauto_da_alloc can leave /f empty after the rename", str(vs["1"])[:600])
        ok(vs["1"] == vs["2"], "checker-fs: -j 2 equals -j 1")
        strip = [dict(x, replay="") for x in v or []]
        ok([dict(x, replay="") for x in vs["plain"][1] or []] == strip,
           "checker-fs: the reduced run finds what judging every state finds",
           "%s\n%s" % (str(vs["plain"])[:400], str(strip)[:400]))
        # a replay reproduces the state, and the checker's words
        if v:
            rc, out, err = run([pc] + shlex.split(v[0]["replay"])[1:])
            ok(rc == 1 and "size 0, byte values: none" in out,
               "checker-fs: the replay command reproduces the violation", out + err)
        rc, out, err = run([pc, "check", t, "--checker", "true", "--checker-file", "f"])
        ok(rc == 2 and err == "powercut: --checker-file: on a file trace it names a file "
           "of the recovered filesystem: an absolute path, not 'f'\n",
           "checker-fs: a relative --checker-file is refused", err)


def test_config_paths(pc):
    """A relative path written inside a file (a trace's `config machine=`
    and `device=PLUGIN.so`) is relative to that file's directory; one on
    the command line, or in a trace read from standard input, to the
    current directory (docs/user-guide.md, "Configuration")."""
    plugin = os.path.join(ROOT, "build/plugins/bbwc.so")

    def run_in(cwd, args, stdin=None):
        p = subprocess.run(args, cwd=cwd, capture_output=True, timeout=120, input=stdin)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    with tempfile.TemporaryDirectory() as tmp:
        sub = os.path.join(tmp, "sub", "dir")
        os.makedirs(sub)
        shutil.copy(plugin, os.path.join(sub, "bbwc.so"))
        with open(os.path.join(sub, "m.machine"), "w") as f:
            f.write("domain=eadr\n")
        # a decoy of the same name where powercut is started
        with open(os.path.join(tmp, "m.machine"), "w") as f:
            f.write("domain=pcommit\n")
        with open(os.path.join(sub, "cpu.trace"), "w") as f:
            f.write("config machine=m.machine\nstore addr=0 len=8 val=1\n")
        with open(os.path.join(sub, "block.trace"), "w") as f:
            f.write("config device=bbwc.so\n"
                    "bio id=1 op=write sector=0 len=512 data=fill:0x11\nwait id=1\n")
        # eadr (the trace's m.machine): the store is durable at once
        want = "u64:0=1\n"
        for cwd, trace in ((tmp, "sub/dir/cpu.trace"), (sub, "cpu.trace"),
                           (ROOT, os.path.join(sub, "cpu.trace"))):
            rc, out, err = run_in(cwd, [pc, "outcomes", trace, "--observe", "u64:0"])
            ok(rc == 0 and out == want,
               "paths: config machine=m.machine is the trace's, from %s" % cwd,
               "status %d\nstdout %r\nwant   %r\nstderr %r" % (rc, out, want, err))
        rc, out, err = run_in(tmp, [pc, "check", "sub/dir/cpu.trace", "--checker", "true",
                                    "--no-progress", "--json", "r.json"])
        cfg = json.load(open(os.path.join(tmp, "r.json")))["config"] if rc == 0 else {}
        ok(rc == 0 and cfg.get("machine") == "eadr file=sub/dir/m.machine",
           "paths: the report names the machine file from the current directory",
           "status %d %r %s" % (rc, cfg.get("machine"), err))
        # the report of a run with a machine file replays (its parameters are in it)
        rc, out, err = run_in(tmp, [pc, "report", "r.json", "-o", "r.html"])
        ok(rc == 0 and err == "" and "cannot be read" not in open(os.path.join(tmp, "r.html")).read(),
           "paths: report of a run with a machine file", "status %d %s" % (rc, err))
        # standard input: the current directory's m.machine (pcommit: the store may be lost)
        rc, out, err = run_in(tmp, [pc, "outcomes", "-", "--observe", "u64:0"],
                              stdin=open(os.path.join(sub, "cpu.trace"), "rb").read())
        ok(rc == 0 and out == "u64:0=0\nu64:0=1\n",
           "paths: a trace on standard input resolves against the current directory",
           "status %d\nstdout %r\nstderr %r" % (rc, out, err))
        # a flag: the current directory
        rc, out, err = run_in(tmp, [pc, "outcomes", "sub/dir/cpu.trace", "--observe", "u64:0",
                                    "--machine", "m.machine"])
        ok(rc == 0 and out == "u64:0=0\nu64:0=1\n",
           "paths: --machine FILE is relative to the current directory",
           "status %d\nstdout %r\nstderr %r" % (rc, out, err))
        for cwd, trace in ((tmp, "sub/dir/block.trace"), (ROOT, os.path.join(sub, "block.trace"))):
            rc, out, err = run_in(cwd, [pc, "run", trace])
            ok(rc == 0 and "bbwc" in out,
               "paths: config device=bbwc.so is the trace's plugin, from %s" % cwd,
               "status %d\nstderr %r" % (rc, err))
        # a plugin named without a slash is the file in the current
        # directory, not a library name for dlopen's search path
        rc, out, err = run_in(sub, [pc, "run", "../../sub/dir/block.trace", "--device", "bbwc.so"])
        ok(rc == 0 and "bbwc" in out, "paths: --device bbwc.so in the current directory",
           "status %d\nstderr %r" % (rc, err))
        rc, out, err = run_in(tmp, [pc, "run", "sub/dir/block.trace", "--device", "bbwc.so"])
        ok(rc == 2 and out == "" and
           err == "powercut: --device: device plugin bbwc.so: No such file or directory\n",
           "paths: --device bbwc.so is not looked for beside the trace",
           "status %d\nstderr %r" % (rc, err))
def test_histories(pc):
    """tools/timer-histories.py (K7): the histories check does not explore,
    made real by rewriting the trace, bounded and said so."""
    tool = [sys.executable, os.path.join(ROOT, "tools", "timer-histories.py"), "--powercut", pc]
    gap = "tests/unexplored/f15-odirect-after-background-commit.trace"
    line = "file:/a=4096:85d9260d file:/b=absent"
    obs = ["--observe", "file:/a,file:/b"]
    rc, out, err = run([pc, "outcomes", gap] + obs)
    ok("their outcomes may be missing (tools/timer-histories.py adds some, bounded)"
       in err, "histories: outcomes names the tool", err)
    timer = ["--pause", "timer"]
    rc, out, err = run(tool + timer + ["--depth", "1", "outcomes", gap] + obs)
    ok(rc == 0 and line in out.splitlines() and
       "(timer: timer pause think cycles=15000000000)" in out and
       "histories: 5 checked (the trace as written, and 4 with pauses before chosen events; "
       "in 0 of those the last pause found nothing" in out and
       "complete: no, bounded by --depth 1" in out,
       "histories: depth 1 finds the outcome the trace as written lacks: " + line, out + err)
    rc, out, err = run(tool + timer + ["--depth", "5", "check", gap])
    ok(rc == 0 and "histories: 16 checked" in out and "complete: yes, for timer pauses" in out
       and "in 4 of those the last pause found nothing to commit or write back, and their "
       "extensions are not tried" in out and
       "violations: 0 (invariant, path) pairs, in 0 of 16 histories" in out,
       "histories: every subset of the 4 events, then complete", out + err)
    rc, out, err = run(tool + ["--depth", "5", "check", gap])
    ok(rc == 0 and "histories: 81 checked" in out and
       "complete: yes, for timer and long pauses" in out and
       "violations: 0 (invariant, path) pairs, in 0 of 81 histories" in out,
       "histories: both pauses (the default), every history of them, then complete",
       out + err)
    # F28: a long pause has the flusher write a delayed page back and the
    # timer commit it, so a later overwrite goes in place
    lp = "tests/unexplored/f28-overwrite-after-long-pause.trace"
    new = ["file:/a=4096:a8795c0b file:/b=0:00000000", "file:/a=4096:6f36362f file:/b=absent"]
    rc, out, err = run([pc, "outcomes", lp] + obs)
    ok(rc == 0 and not set(new) & set(out.splitlines()) and "not explored: at 1 of 1" in err,
       "histories: an overwrite after a delayed write, not explored as written", out + err)
    for pause, want in (("timer", False), ("long", True), ("both", True)):
        rc, out, err = run(tool + ["--pause", pause, "--depth", "1", "outcomes", lp] + obs)
        ok(rc == 0 and all((x in out.splitlines()) == want for x in new),
           "histories: --pause %s %s the overwrite in place after the flusher's write-back"
           % (pause, "finds" if want else "cannot find"), out + err)
    rc, out, err = run(tool + ["--max-histories", "3", "check", gap])
    ok(rc == 0 and "histories: 3 checked" in out and
       "complete: no, bounded by --max-histories 3" in out,
       "histories: --max-histories bounds the search and says so", out + err)
    lossy = "tests/unexplored/lossy-nobarrier-no-fsync.trace"
    rc, out, err = run([pc, "check", lossy, "--no-progress"])
    ok(rc == 0 and "violations: 0" in out and "not explored: at 2 of 4" in out and
       "(tools/timer-histories.py checks some, bounded)\n" in out,
       "histories: nobarrier without fsync, the trace as written is clean but not explored",
       out + err)
    with tempfile.TemporaryDirectory() as d:
        rc, out, err = run(tool + timer + ["--depth", "1", "--keep", d, "check", lossy])
        m = re.search(r"\[journal-atomicity\] block 2, first in timer pause before line 13: "
                      r"(\S+)\n.*\n    replay: (.*)", out)
        ok(rc == 1 and m and "in 2 of 3 histories" in out and
           "[referenced-data] /a, first in timer pause before line 14" in out,
           "histories: the timer's commit without a flush breaks journal atomicity", out + err)
        if m:
            rc, out, err = run([pc] + shlex.split(m.group(2))[1:])
            ok( "[journal-atomicity] block 2" in out and
               os.path.exists(m.group(1)) and m.group(1).startswith(d),
               "histories: the replay command works on the kept copy", out + err)
    for args, what in ((["check", gap, "--json", "x.json"], "--json"),
                       (["outcomes", gap, "--at", "all"], "--at all"),
                       (["check", "tests/nonexistent.trace"], "No such file"),
                       (["check", gap, "--device", "floppy"], "powercut: --device")):
        rc, out, err = run(tool + args)
        ok(rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and what in err,
           "histories: bad usage %s, one line, exit 2" % " ".join(args[2:] or args), err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--powercut", default="./powercut")
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--only", default=None, help="run only this group")
    a = ap.parse_args()
    pc = os.path.abspath(os.path.join(ROOT, a.powercut))
    groups = [("bad", lambda: test_bad(pc)), ("usage", lambda: test_usage(pc)),
              ("outcomes", lambda: test_outcomes_summary(pc)),
              ("help", lambda: test_help(pc)), ("golden", lambda: test_golden(pc)),
              ("litmus", lambda: test_litmus(pc)), ("examples", lambda: test_examples(pc, a.build)),
              ("dax", lambda: test_dax(pc)),
              ("progress", lambda: test_progress(pc)),
              ("determinism", lambda: test_determinism(pc)),
              ("check", lambda: test_check(pc)),
              ("reduce", lambda: test_reduce(pc)),
              ("jobs", lambda: test_jobs_signal(pc)),
              ("checker-fs", lambda: test_checker_fs(pc)),
              ("unexplored", lambda: test_unexplored(pc)),
              ("histories", lambda: test_histories(pc)),
              ("import", lambda: test_import(pc)),
              ("report", lambda: test_report(pc)),
              ("paths", lambda: test_config_paths(pc)),
              ("streaming", lambda: test_streaming(pc, a.build)),
              ("mutation", lambda: test_mutation(pc))]
    for name, fn in groups:
        if a.only and name != a.only:
            continue
        fn()
    print("e2e: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
