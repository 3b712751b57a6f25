#!/usr/bin/python3
"""timer-histories.py — check the histories in which the kernel's
background work (jbd2's commit timer, the flusher) ran earlier, by
rewriting the trace.

`powercut check` enumerates a background commit as a choice at each crash
point, but not what follows one: a history in which the timer committed
at an earlier event and the trace then wrote file data in place is
reported as not explored (docs/semantics.md K7, F15 "Not explored").
This tool makes such histories real.  For a set S of events, it writes a
copy of the trace with a pause -- a `think` -- before each event of S,
as if the program had stopped there for a while:

  timer  `think cycles=C`, C the commit interval: F20's timer fires and
         commits the running transaction, writing back no delayed page;
  long   `think cycles=10^15`: the timer, the flusher's write-back of
         every dirty file (F28: delayed pages allocated) and the timer
         again, so what the program wrote is committed.

Each copy is checked by an ordinary `powercut check` (or `outcomes`), so
its violations carry replay commands that work as they are, on the copy
the tool keeps.

The search starts from the trace as written and extends a history S
with one more pause after S's last only while S's check still reports
points not explored: a history whose check reports none covers every
history that extends it (K7); nor is a history whose copy has no crash
point beyond its parent's but the think's own (nothing to commit or
write back: its extensions are its parent's).  It stops at --depth
pauses or at --max-histories copies, and says which.

What it does not cover: histories beyond the bounds, and a flusher that
wrote back only some of the dirty files before a commit (a long pause
writes back all of them; a pause of a length between two files' ages is
a history too).  So "complete" below means: every history of those
pauses; docs/user-guide.md has the details.

    tools/timer-histories.py [--pause timer|long|both] [--depth K]
                             [--max-histories N] [-j N] [--keep DIR]
                             [--powercut PATH] check|outcomes TRACE [ARGS...]

ARGS go to every powercut run (--device, --fs-opts, --observe, ...).
Exit status: check's (1 when any history has a violation, else 0);
2 for bad usage or a powercut error, with powercut's message.
"""
import argparse
import concurrent.futures
import signal
import json
import os
import shutil
import subprocess
import sys
import tempfile

LONG = 10 ** 15
REFUSED = ("--json", "--junit", "--state", "--shard", "--points")
# the options `powercut run` shares with check and outcomes (they set the
# configuration), each with its value
CONFIG_OPTS = ("--machine", "--device", "--fault", "--block-semantics", "--fs-opts",
               "--background", "--set")


def die(msg):
    print("timer-histories: " + msg, file=sys.stderr)
    sys.exit(2)


def event_lines(lines):
    """Indexes of the lines before which the timer may fire: every event
    but the first (an empty journal has no timer running) and marks
    (they cost nothing: firing before a mark is firing before the next
    event)."""
    ev = []
    for i, line in enumerate(lines):
        word = line.split(None, 1)[0] if line.strip() else ""
        if not word or word.startswith("#") or word in ("version", "config"):
            continue
        if word != "mark":
            ev.append(i)
    return ev[1:]


def config_args(args):
    """The configuration options among ARGS, for `powercut run`."""
    out = []
    i = 0
    while i < len(args):
        name = args[i].split("=", 1)[0]
        if name in CONFIG_OPTS:
            take = 1 if "=" in args[i] else 2
            out += args[i:i + take]
            i += take
        else:
            i += 1
    return out


def timers(pc, trace, args):
    """The commit interval and dirty_expire, in cycles, as powercut run
    reports them for TRACE with ARGS' configuration."""
    r = subprocess.run([pc, "run", trace] + config_args(args), capture_output=True,
                       text=True)
    if r.returncode != 0:
        die(r.stderr.strip() or "powercut run %s: exit status %d" % (trace, r.returncode))
    got = {}
    for line in r.stdout.splitlines():
        for key in ("commit interval", "dirty expire"):
            if line.startswith(key + ": ") and line.endswith(" cycles"):
                got[key] = int(line[len(key) + 2:-len(" cycles")])
    if len(got) != 2:
        die("%s: not a file trace (no filesystem model ran): nothing for the timer or the "
            "flusher to do" % trace)
    return got["commit interval"], got["dirty expire"]


def write_copy(lines, history, think, path):
    """HISTORY: (line index, pause kind) pairs."""
    at = dict(history)
    out = []
    for i, line in enumerate(lines):
        if i in at:
            out.append("think cycles=%d" % think[at[i]])
        out.append(line)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def run_one(pc, cmd, trace, args, jpath):
    """One history: powercut's exit status, output, and report (check)."""
    argv = [pc, cmd, trace] + args
    if cmd == "check":
        argv += ["--no-progress", "--json", jpath]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        die(r.stderr.strip() or "%s: exit status %d" % (" ".join(argv), r.returncode))
    rep = json.load(open(jpath)) if cmd == "check" else None
    return r.returncode, r.stdout, r.stderr, rep


def points_of(cmd, err, rep):
    """The crash points of a history's trace."""
    if cmd == "check":
        return rep["crash_points"]
    for line in err.splitlines():
        if line.startswith("outcomes: ") and "crash points: " in line:
            return int(line.split("crash points: ", 1)[1].split(";")[0])
    return -1


def unexplored(cmd, err, rep):
    if cmd == "check":
        return rep["states"]["unexplored_points"]
    for line in err.splitlines():
        if "not explored: at " in line:
            return int(line.split("not explored: at ", 1)[1].split()[0])
    return 0


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(
        prog="timer-histories.py",
        description="check the histories in which the commit timer or the flusher ran "
        "earlier (docs/semantics.md K7), by rewriting the trace")
    ap.add_argument("--pause", choices=("timer", "long", "both"), default="both",
                    help="the pauses tried before an event: timer (the commit timer "
                    "fires), long (timer, flusher, timer), or both (default)")
    ap.add_argument("--depth", type=int, default=2,
                    help="at most this many pauses in a history (default 2)")
    ap.add_argument("--max-histories", type=int, default=1000,
                    help="at most this many histories, the trace as written included "
                    "(default 1000)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="histories checked at once (default: the CPUs)")
    ap.add_argument("--keep", metavar="DIR",
                    help="keep every history's trace (and report) in DIR; by default only "
                    "those with violations are kept, in ./timer-histories.d")
    ap.add_argument("--powercut", default=None, help="the powercut binary (default: ./powercut "
                    "beside this tool's tree, else powercut on PATH)")
    ap.add_argument("cmd", choices=("check", "outcomes"))
    ap.add_argument("trace")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.depth < 0 or a.max_histories < 1 or a.jobs < 1:
        die("--depth must be >= 0, --max-histories and --jobs >= 1")
    for i, x in enumerate(a.args):
        at = a.args[i + 1] if i + 1 < len(a.args) else ""
        if x == "--at" and (a.cmd == "check" or at == "all"):
            die("--at %s is not for this tool: the histories' crash points differ; "
                "outcomes takes --at end or --at mark:NAME" % at)
        if x.split("=", 1)[0] in REFUSED:
            die("%s is not for this tool: each history is checked whole; replay a "
                "violation with the command it prints" % x.split("=", 1)[0])
    pc = a.powercut
    if not pc:
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "powercut")
        pc = here if os.path.exists(here) else shutil.which("powercut")
    if not pc:
        die("no powercut binary: build it (make) or give --powercut")
    try:
        lines = open(a.trace).read().split("\n")
    except OSError as e:
        die("%s: %s" % (a.trace, e.strerror))
    if lines and lines[-1] == "":
        lines.pop()
    events = event_lines(lines)
    interval, expire = timers(pc, a.trace, a.args)
    think = {"t": interval, "l": max(LONG, 2 * interval + expire + 1)}
    kinds = {"timer": "t", "long": "l", "both": "tl"}[a.pause]
    word = {"t": "timer pause", "l": "long pause"}
    work = tempfile.mkdtemp(prefix="timer-histories.")
    keep = a.keep or "timer-histories.d"
    kept = []
    try:
        frontier = [()]
        seen = 0
        bounded = None
        judged = 0
        violating = []
        shown = {}
        union = set()
        left = []               # histories whose deeper ones were not tried
        depth = 0
        idle = 0
        npoints = {}

        def one(hist):
            name = "h" + ("-".join("%d%s" % (i + 1, k) for i, k in hist) if hist else "0")
            path = os.path.join(work, name + ".trace")
            if hist:
                write_copy(lines, hist, think, path)
            return (path,) + run_one(pc, a.cmd, path if hist else a.trace, a.args,
                                     path + ".json")

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs)
        while frontier:
            nxt = []
            todo = frontier[:max(0, a.max_histories - seen)]
            if len(todo) < len(frontier):
                bounded = "--max-histories %d" % a.max_histories
                left += frontier[len(todo):]
            for hist, (path, rc, out, err, rep) in zip(todo, pool.map(one, todo)):
                seen += 1
                n = unexplored(a.cmd, err, rep)
                npoints[hist] = points_of(a.cmd, err, rep)
                if rep:
                    judged += rep["states"].get("images_judged", 0)
                if a.cmd == "outcomes":
                    union.update(x for x in out.splitlines()
                                 if x and not x.startswith("outcomes:") and
                                 not x.startswith("  "))
                if (rc == 1 or a.keep) and hist:
                    kept.append((hist, path))
                elif rc == 1:
                    shown[hist] = (a.trace, rep)
                if rc == 1:
                    violating.append(hist)
                if hist and npoints[hist] == npoints[hist[:-1]] + 1:
                    # the think's own point and nothing else: nothing to
                    # commit or write back, and this history's extensions
                    # are its parent's
                    idle += 1
                    continue
                if n == 0:
                    continue
                if depth >= a.depth:
                    bounded = bounded or "--depth %d" % a.depth
                    left.append(hist)
                    continue
                last = hist[-1][0] if hist else -1
                nxt += [hist + ((e, k),) for e in events if e > last for k in kinds]
            frontier = nxt
            depth += 1
        pool.shutdown()
        if kept:
            os.makedirs(keep, exist_ok=True)
        for hist, path in kept:
            dst = os.path.join(keep, os.path.basename(path))
            shutil.copyfile(path, dst)
            if a.cmd == "check":
                with open(path + ".json") as f:
                    text = f.read().replace(path, dst)
                with open(dst + ".json", "w") as f:
                    f.write(text)
                shown[hist] = (dst, json.loads(text))
        print("timer-histories: %s, %d events a pause may come before (%s: %s)" %
              (a.trace, len(events), a.pause, ", ".join(
                  "%s think cycles=%d" % (word[k], think[k]) for k in kinds)))
        print("histories: %d checked (the trace as written, and %d with pauses before "
              "chosen events; in %d of those the last pause found nothing to commit or "
              "write back, and their extensions are not tried)" % (seen, seen - 1, idle))
        if left:
            print("complete: no, bounded by %s: %d histories still report points not "
                  "explored, or were not reached" % (bounded, len(left)))
        else:
            print("complete: yes, for %s (not a flusher that wrote back some files only: "
                  "docs/user-guide.md)" % {"timer": "timer pauses", "long": "long pauses",
                                            "both": "timer and long pauses"}[a.pause])
        if a.cmd == "check":
            print("distinct images judged: %d (summed over the histories)" % judged)
            first = {}
            for hist in violating:
                dst, rep = shown[hist]
                for v in rep["violations"]:
                    first.setdefault((v["invariant"], v["path"]), (hist, dst, v))
            print("violations: %d (invariant, path) pairs, in %d of %d histories" %
                  (len(first), len(violating), seen))
            for (inv, path), (hist, dst, v) in first.items():
                where = (", ".join("%s before line %d" % (word[k], i + 1) for i, k in hist) +
                         ": " + dst) if hist else "the trace as written"
                print("  [%s] %s, first in %s" % (inv, path, where))
                print("    point %s (line %s of that trace: %s), state %s" %
                      (v["point"], v["line"], v["event"], v["state"]))
                print("    replay: %s" % v["replay"])
        else:
            print("outcomes: %d distinct over every history" % len(union))
            for x in sorted(union):
                print(x)
        return 1 if violating and a.cmd == "check" else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
