#!/usr/bin/python3
"""ref_px86: a reference enumerator of the durable outcomes of a CPU trace.

Written from the brief ("Semantics to model: CPU and pmem") and the rule
text C1-C16 of docs/semantics.md, not from cache/: it exists to be
compared with `powercut outcomes` (tests/test_ref_cpu.py).  Python 3
standard library only.

    ref_px86.py TRACE --observe mem:A:L[,u64:A...] [--at end|all|mark:NAME]
                [--machine adr|eadr|pcommit]

prints the same lines as `powercut outcomes` with the same arguments.

Method.  Not the model's method (one group per line, choices = prefixes
of the line's history): an operational machine whose volatile parts
leave by themselves at any moment, explored breadth first over the set
of every state it can be in.  A state is

    mem     the coherent memory: every executed store applied, cached or
            non-temporal (what a load would return)
    media   the durable bytes (adr, eadr: the media and the WPQ; pcommit:
            the media only)
    dirty   the lines whose cached copy differs from what was last
            written back (their content is mem's)
    wc      pending non-temporal pieces, one FIFO per 8-byte chunk
    flush   pending clflushopt/clwb, as (cpu, line)
    wpq     pcommit only: per line, the FIFO of writes in the volatile
            write-pending queue (a line image or an NT piece)
    pcm     pcommit only: per CPU, how many entries of each line's WPQ
            FIFO its unfenced pcommit covers

Between any two micro-steps the machine may, any number of times and in
any order (close()):

    W  write back a dirty line: media (WPQ on pcommit) gets its content
       (C2: a dirty line may be written back at any moment, whole, with
       every store made to it so far; C3: lines independently)
    F  perform a pending clflushopt/clwb: W of its line if dirty, else
       nothing (C5: its write-back happens at some moment after the
       instruction, before its CPU's next fence)
    N  move the oldest pending NT piece of a chunk to the media (WPQ on
       pcommit) (C8: each chunk a prefix of its pieces, chunks free;
       on pcommit the pieces a fence sends to the WPQ so arrive there in
       any order, chunk by chunk, and may be on the media before it)
    Q  pcommit: move the oldest WPQ write of a line to the media
       (C11: the WPQ is volatile but keeps each line's program order)

An instruction with a deadline ("X is complete before this") keeps only
the states in which X has happened: since X could happen at any earlier
moment, the states kept are exactly those of every timing that meets
it.  That is how fences (C6), clflush (C4), wbinvd (C10), the NT/cached
hand-overs (C9) and pcommit (C11) are written below.

A store is applied one 8-byte chunk at a time, the chunks in any order,
with the machine free to act between them, so a line written back in
the middle of a store holds a prefix of the line's stores plus some of
the next store's chunks (C7).  A crash point is between two events
(C14): the durable outcomes at a point are media (eadr: media with every
dirty line's content) over every state; `--at all` is the union over
the initial point and the point after each event.

What is not modelled, and why the traces compared must avoid it:
  C13  cache capacity: evictions of a small or inclusive hierarchy.  With
       the default 32 KiB 8-way L1D a trace touching at most eight lines
       never evicts; config lines that change the geometry are refused.
  C15  history limits (cache.history = 64 stores per line, 2^16 NT piece
       combinations per line): the compared traces are far shorter.
  the cycle costs, loads (no persistency effect here), marks and think.
"""

import argparse
import sys

LINE = 64
CHUNK = 8
MACHINES = ("adr", "eadr", "pcommit")

# The multi-CPU order of NT pieces in one chunk: "global" -- one FIFO per
# chunk, in trace order (C8: "each 8-byte chunk persists a prefix of the
# NT pieces written into it") -- or "percpu", a FIFO per CPU and chunk.
WC_ORDER = "global"



class TraceError(Exception):
    pass


# ---------------------------------------------------------------------
# The trace (the CPU subset of docs/trace-format.md)

def parse_num(s):
    mult = 1
    if s and s[-1] in "KMG":
        mult = 1024 ** ("KMG".index(s[-1]) + 1)
        s = s[:-1]
    return int(s, 0) * mult


def splitmix64_bytes(seed, n):
    out = bytearray()
    x = seed & (2**64 - 1)
    m = 2**64 - 1
    while len(out) < n:
        x = (x + 0x9e3779b97f4a7c15) & m
        z = x
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & m
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & m
        z = z ^ (z >> 31)
        out += z.to_bytes(8, "little")
    return bytes(out[:n])


def payload(f, n, where):
    if "val" in f:
        if n > 8:
            raise TraceError("%s: val= needs len <= 8" % where)
        return parse_num(f["val"]).to_bytes(n, "little")
    d = f.get("data")
    if d is None:
        raise TraceError("%s: no payload" % where)
    if d.startswith("hex:"):
        b = bytes.fromhex(d[4:])
    elif d.startswith("fill:"):
        b = bytes([parse_num(d[5:])]) * n
    elif d.startswith("rand:"):
        b = splitmix64_bytes(parse_num(d[5:]), n)
    else:
        raise TraceError("%s: bad data %s" % (where, d))
    if len(b) != n:
        raise TraceError("%s: data is %d bytes, len %d" % (where, len(b), n))
    return b


CPU_OPS = ("store", "ntstore", "load", "clflush", "clflushopt", "clwb",
           "sfence", "mfence", "rmw", "wbinvd", "pcommit")


def parse_trace(text, name="trace"):
    """Return (events, config): events are dicts with op, cpu, addr,
    data (bytes) as the op needs; config the `config` key/values."""
    events, config = [], {}
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = "%s:%d" % (name, no)
        words = line.split()
        op, f = words[0], {}
        for w in words[1:]:
            if "=" not in w:
                if op == "wait":
                    continue
                raise TraceError("%s: bad field %s" % (where, w))
            k, v = w.split("=", 1)
            f[k] = v
        if op == "version":
            continue
        if op == "config":
            config.update(f)
            continue
        if op in ("mark", "think"):
            events.append({"op": op, "cpu": parse_num(f.get("cpu", "0")),
                           "name": f.get("name")})
            continue
        if op not in CPU_OPS:
            raise TraceError("%s: not a CPU event: %s" % (where, op))
        ev = {"op": op, "cpu": parse_num(f.get("cpu", "0")), "line": no}
        if op in ("store", "ntstore", "load", "rmw", "clflush",
                  "clflushopt", "clwb"):
            ev["addr"] = parse_num(f["addr"])
        if op in ("store", "ntstore", "rmw"):
            n = parse_num(f["len"])
            if n < 1:
                raise TraceError("%s: len 0" % where)
            if op == "rmw" and n > 8:
                raise TraceError("%s: rmw len > 8" % where)
            ev["data"] = payload(f, n, where)
        events.append(ev)
    return events, config


# ---------------------------------------------------------------------
# The machine

def pieces(addr, data, unit):
    """Split a write into its parts per `unit`-aligned block: a list of
    (addr, bytes)."""
    out, i = [], 0
    while i < len(data):
        a = addr + i
        n = min(len(data) - i, unit - a % unit)
        out.append((a, bytes(data[i:i + n])))
        i += n
    return out


def put(buf, addr, data):
    b = bytearray(buf)
    b[addr:addr + len(data)] = data
    return bytes(b)


class StateLimit(Exception):
    """More states at one point than the caller allowed."""


class Ref:
    def __init__(self, machine, ncpus, size, limit=None):
        if machine not in MACHINES:
            raise TraceError("machine %s: not adr, eadr or pcommit" % machine)
        if size % LINE:
            raise TraceError("size %d: not whole lines" % size)
        self.machine = machine
        self.ncpus = ncpus
        self.size = size
        self.nlines = size // LINE
        self.limit = limit

    # A state: (mem, media, dirty, wc, flush, wpq, pcm).
    #   dirty  frozenset of line numbers
    #   wc     tuple of (key, fifo) sorted by key; key = chunk number
    #          (global) or (chunk, cpu) (percpu); fifo = tuple of
    #          (seq, cpu, addr, bytes), oldest first; seq = (event
    #          number, addr): program order
    #   flush  frozenset of (cpu, line)
    #   wpq    tuple per line of tuples of (addr, bytes), oldest first
    #   pcm    tuple per CPU: None, or a tuple per line of covered counts
    def initial(self):
        zero = bytes(self.size)
        return (zero, zero, frozenset(), (), frozenset(),
                ((),) * self.nlines, (None,) * self.ncpus)

    def durable(self, s):
        """The images the media may hold if the power fails in state S."""
        mem, media, dirty = s[0], s[1], s[2]
        b = bytearray(media)
        if self.machine == "eadr":
            for ln in dirty:   # C12: the caches are in the domain
                b[ln * LINE:(ln + 1) * LINE] = mem[ln * LINE:(ln + 1) * LINE]
        return {bytes(b)}

    # ----- the moves the machine makes by itself

    def _to_domain(self, s, addr, data):
        """A write leaves the caches or a WC buffer: durable on adr and
        eadr, into the line's WPQ FIFO on pcommit."""
        mem, media, dirty, wc, flush, wpq, pcm = s
        if self.machine == "pcommit":
            ln = addr // LINE
            wpq = wpq[:ln] + (wpq[ln] + ((addr, data),),) + wpq[ln + 1:]
        else:
            media = put(media, addr, data)
        return (mem, media, dirty, wc, flush, wpq, pcm)

    def _writeback(self, s, ln):                                  # W
        mem, media, dirty, wc, flush, wpq, pcm = s
        s = (mem, media, dirty - {ln}, wc, flush, wpq, pcm)
        return self._to_domain(s, ln * LINE, mem[ln * LINE:(ln + 1) * LINE])

    def moves(self, s):
        mem, media, dirty, wc, flush, wpq, pcm = s
        for ln in dirty:
            yield self._writeback(s, ln)
        for f in flush:                                           # F
            t = (mem, media, dirty, wc, flush - {f}, wpq, pcm)
            yield self._writeback(t, f[1]) if f[1] in dirty else t
        for i, (key, fifo) in enumerate(wc):                      # N
            _, cpu, addr, data = fifo[0]
            rest = fifo[1:]
            nwc = wc[:i] + (((key, rest),) if rest else ()) + wc[i + 1:]
            t = (mem, media, dirty, nwc, flush, wpq, pcm)
            yield self._to_domain(t, addr, data)
        for ln in range(self.nlines):                             # Q
            if not wpq[ln]:
                continue
            addr, data = wpq[ln][0]
            nwpq = wpq[:ln] + (wpq[ln][1:],) + wpq[ln + 1:]
            npcm = tuple(None if c is None else
                         self._pcm_norm(c[:ln] + (max(0, c[ln] - 1),) + c[ln + 1:])
                         for c in pcm)
            yield (mem, put(media, addr, data), dirty, wc, flush, nwpq, npcm)

    @staticmethod
    def _pcm_norm(c):
        return c if any(c) else None

    def close(self, states):
        seen = set(states)
        work = list(seen)
        while work:
            s = work.pop()
            for t in self.moves(s):
                if t not in seen:
                    seen.add(t)
                    work.append(t)
            if self.limit and len(seen) > self.limit:
                raise StateLimit("more than %d states" % self.limit)
        return seen

    # ----- deadlines: keep the states in which something has happened

    def _fenced(self, s, cpu):
        """C6: cpu's clflushopt/clwb and NT stores are complete; C11: so
        is its pcommit, whose covered WPQ writes are on the media."""
        mem, media, dirty, wc, flush, wpq, pcm = s
        if any(f[0] == cpu for f in flush):
            return False
        if any(p[1] == cpu for _, fifo in wc for p in fifo):
            return False
        return pcm[cpu] is None

    def fence(self, S, cpu):
        return {s for s in S if self._fenced(s, cpu)}

    def clean(self, S, lines):
        return {s for s in S if not (s[2] & lines)}

    def no_nt(self, S, lines):
        return {s for s in S
                if not any(p[2] // LINE in lines for _, fifo in s[3] for p in fifo)}

    # ----- events

    def lines_of(self, addr, n):
        return frozenset(range(addr // LINE, (addr + n - 1) // LINE + 1))

    def store(self, S, addr, data):
        """C2, C7: a cached store, applied a chunk at a time in any order,
        the machine free to move between chunks."""
        S = self.no_nt(S, self.lines_of(addr, len(data)))         # C9
        parts = pieces(addr, data, CHUNK)
        cur = {(s, frozenset(range(len(parts)))) for s in S}
        done = set()
        while cur:
            by_rest = {}
            for s, rest in cur:
                for i in rest:
                    a, d = parts[i]
                    mem, media, dirty, wc, flush, wpq, pcm = s
                    t = (put(mem, a, d), media, dirty | {a // LINE}, wc,
                         flush, wpq, pcm)
                    by_rest.setdefault(rest - {i}, set()).add(t)
            cur = set()
            for rest, T in by_rest.items():
                T = self.close(T)
                if rest:
                    cur |= {(t, rest) for t in T}
                else:
                    done |= T
        return done

    def ntstore(self, S, cpu, addr, data, seq):
        """C8: one piece per chunk into the WC buffer; C9: a dirty line
        is written back (and evicted) first."""
        S = self.clean(S, self.lines_of(addr, len(data)))
        parts = pieces(addr, data, CHUNK)
        out = set()
        for s in S:
            mem, media, dirty, wc, flush, wpq, pcm = s
            mem = put(mem, addr, data)
            w = dict(wc)
            for a, d in parts:
                key = a // CHUNK if WC_ORDER == "global" else (a // CHUNK, cpu)
                w[key] = w.get(key, ()) + (((seq, a), cpu, a, d),)
            out.add((mem, media, dirty, tuple(sorted(w.items())), flush,
                     wpq, pcm))
        return self.close(out)

    def step(self, S, ev, seq=0):
        op, cpu = ev["op"], ev["cpu"]
        if cpu >= self.ncpus:
            raise TraceError("line %d: cpu %d, but cpus=%d"
                             % (ev.get("line", 0), cpu, self.ncpus))
        if "addr" in ev:
            n = len(ev["data"]) if "data" in ev else 1
            if ev["addr"] + n > self.size:
                raise TraceError("line %d: beyond the %d bytes modelled"
                                 % (ev.get("line", 0), self.size))
        if op == "store":
            return self.store(S, ev["addr"], ev["data"])
        if op == "rmw":                                           # C16
            return self.store(self.fence(S, cpu), ev["addr"], ev["data"])
        if op == "ntstore":
            return self.ntstore(S, cpu, ev["addr"], ev["data"], seq)
        if op == "clflush":                                       # C4
            return self.clean(S, frozenset([ev["addr"] // LINE]))
        if op in ("clflushopt", "clwb"):                          # C5
            f = (cpu, ev["addr"] // LINE)
            return self.close({s[:4] + (s[4] | {f},) + s[5:] for s in S})
        if op in ("sfence", "mfence"):                            # C6
            return self.fence(S, cpu)
        if op == "wbinvd":                                        # C10
            return self.clean(self.fence(S, cpu), frozenset(range(self.nlines)))
        if op == "pcommit":                                       # C11
            if self.machine != "pcommit":
                return S
            out = set()
            for s in S:
                c = self._pcm_norm(tuple(len(q) for q in s[5]))
                pcm = s[6][:cpu] + (c,) + s[6][cpu + 1:]
                out.add(s[:6] + (pcm,))
            return self.close(out)
        return S                                   # load, mark, think

    def outcomes(self, events, ats=("end",)):
        """For each of ATS, the set of durable images (bytes of the whole
        modelled space): at the end (end), over every crash point (all),
        or at each `mark name=NAME` (mark:NAME)."""
        S = {self.initial()}
        seen = {at: set() for at in ats}
        if "all" in seen:
            seen["all"] |= self.durable(self.initial())
        for i, ev in enumerate(events):
            S = self.step(S, ev, i)
            assert S, "no state left after %r" % ev
            now = set()
            for s in S:
                now |= self.durable(s)
            for at in seen:
                if at == "all" or (ev["op"] == "mark" and at == "mark:%s" % ev["name"]):
                    seen[at] |= now
            if "end" in seen and i == len(events) - 1:
                seen["end"] = now
        return seen


# ---------------------------------------------------------------------
# Observations, as `powercut outcomes` prints them

def parse_observe(spec):
    obs = []
    for one in spec.split(","):
        p = one.split(":")
        if p[0] == "mem" and len(p) == 3:
            obs.append(("mem", parse_num(p[1]), parse_num(p[2]), one))
        elif p[0] == "u64" and len(p) == 2:
            obs.append(("u64", parse_num(p[1]), 8, one))
        else:
            raise TraceError("observe %s: only mem:A:L and u64:A" % one)
    return obs


def observe_lines(images, obs):
    out = set()
    for img in images:
        words = []
        for kind, a, n, name in obs:
            b = img[a:a + n]
            v = b.hex() if kind == "mem" else str(int.from_bytes(b, "little"))
            words.append("%s=%s" % (name, v))
        out.add(" ".join(words))
    return sorted(out, key=lambda x: x.encode())


def run(text, machine=None, at="end", observe="mem:0:192", ncpus=None,
        size=None, name="trace", limit=None):
    """The lines `powercut outcomes` prints for TEXT; AT a string, or a
    tuple of them for a dict of their lines (one pass)."""
    events, config = parse_trace(text, name)
    for k in config:
        if k not in ("cpus", "machine"):
            raise TraceError("config %s: not modelled by the reference" % k)
    machine = machine or config.get("machine", "adr")
    ncpus = ncpus or int(config.get("cpus", "1"), 0)
    obs = parse_observe(observe)
    if size is None:
        end = max([a + n for _, a, n, _ in obs] +
                  [e["addr"] + len(e.get("data", b"x")) for e in events
                   if "addr" in e])
        size = (end + LINE - 1) // LINE * LINE
    ref = Ref(machine, ncpus, size, limit)
    if isinstance(at, str):
        return observe_lines(ref.outcomes(events, (at,))[at], obs)
    return {k: observe_lines(v, obs) for k, v in ref.outcomes(events, at).items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--observe", required=True)
    ap.add_argument("--at", default="end", help="end, all or mark:NAME")
    ap.add_argument("--machine", choices=MACHINES)
    a = ap.parse_args()
    try:
        with open(a.trace) as f:
            text = f.read()
        for line in run(text, a.machine, a.at, a.observe, name=a.trace):
            print(line)
    except (TraceError, OSError, KeyError, ValueError) as e:
        print("ref_px86: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
