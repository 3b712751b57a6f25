#!/usr/bin/python3
"""An independent reference model of the block layer's durability rules.

Brute force, standard library only, written from the brief ("Semantics to
model" / "Block layer", "Crash model"), the kernel's
Documentation/block/writeback_cache_control.rst and the B-rules of
docs/semantics.md -- never from blockq/'s code.  tests/test_ref_block.py
runs it against `powercut outcomes` on random traces.

Method.  The trace runs as a nondeterministic transition system: the
submitter takes the trace's events in order, and between any two of its
steps the device may take any number of its own steps, in any order the
rules allow.  Every state reachable is explored (breadth first, with a
set of seen states); `--at all` prints the media of every reachable state
(a power cut can fall at any moment, the initial one included), `--at
end` that of every state reachable once the submitter has done its last
event.  Nothing is "the slowest schedule" here: a device may complete a
bio before the submitter waits for it, destage its cache whenever it
likes, run a flush as soon as it may.

The device (per atomic unit u; a unit's content is a tuple of sector
bytes, every write being `fill:0xNN`):

  media[u]    what survives a power cut
  cache[u]    disk-wc only: the unit's newest image not yet on the media,
              or None (the cache holds whole units, B8: one image per
              unit, the latest to arrive, as a real write cache does)
  arr[u]      how many write images have arrived at unit u; each arrival
              is numbered, and midx[u] is the number of the arrival the
              media holds (0: the initial content).  "Write W is durable
              on u" means midx[u] >= W's arrival number on u: the media
              holds W's image or one that arrived after it (laid over it).

Device steps:

  ARRIVE(W, u)  a write's data for one of its units reaches the device
                (B4: units and bios in any order; B7/B8: a unit whole):
                the new image is W's sectors merged over the unit's newest
                image (cache, else media) -- so a write smaller than the
                unit carries with it every write that arrived before it
                (B8).  disk-wc: into the cache; disk-wt: onto the media.
                Allowed: linux, a PREFLUSH bio only once every write that
                completed before it was submitted is durable (B2: its data
                is held until then); barrier, a barrier bio only once
                every earlier bio is complete and durable (B5 drain), and
                no bio while an earlier barrier is not complete (B5 hold).
  DESTAGE(u)    disk-wc: the cache's image of u goes to the media (B1: at
                any moment, in any order between units).
  POSTFLUSH(W)  disk-wc with disk.fua=off: a FUA write whose data all
                arrived issues its flush; it covers the writes complete by
                then, and W itself (B6).
  COMPLETE(B)   a bio completes: a write once all its units arrived and,
                disk-wc linux with FUA, they are durable (B3; emulated:
                once its POSTFLUSH's writes are durable); a flush once
                the writes complete at its submission are durable (B2).
                barrier: a barrier bio once dispatched (above) and its own
                data durable (B5).  disk-wt: no cache, flags stripped (B6,
                B7): complete when arrived; an empty flush at once, under
                barrier once dispatched (drain only).

Submitter steps: `bio` submits (a PREFLUSH bio or flush records, per
unit, the newest arrival of the writes complete now: what B2 covers);
`wait id=N` needs bio N complete; `wait all` every bio submitted.

Limits, each the model's own documented choice or a scope cut (the
driver generates only traces inside them):
  - L1 (docs/semantics.md, bq_queue.c "When do things happen?"): a
    flagged bio the trace never waits for never shows its "already
    flushed" states in powercut.  Here such a bio does run.  The driver
    therefore makes every PREFLUSH bio and flush (under barrier: every
    barrier bio) waited for before the trace ends.
  - B9 (cache capacity, "oldest first" is the model's choice): this cache
    is unbounded.  A bounded cache only adds durability, so with a small
    disk.cache_size the driver checks powercut's set is a subset.
  - A discard is a write of zeros (the model's choice, bq_queue.c
    Notes: a device that reads zeros after trim), PREFLUSH/FUA honoured.
  - Not modelled: faults (--fault), pmem devices, plugins, payloads
    other than fill:0xNN, bio ids reused.

    ref_block.py TRACE --observe blk:OFF:LEN[,...] [--at end|all]
        [--device disk-wc|disk-wt] [--block-semantics linux|barrier]
        [--set disk.atomic_unit=N] [--set disk.fua=on|off]

prints what `powercut outcomes` prints on standard output: one line per
distinct observation, sorted.
"""

import argparse
import re
import sys
import zlib

SECTOR = 512


class Bio:
    """One `bio` event, fixed by the trace."""

    def __init__(self, bid, op, sector, nsec, flags, fill):
        self.id = bid
        self.op = op            # "write" or "flush"
        self.sector = sector
        self.nsec = nsec
        self.preflush = "PREFLUSH" in flags or op == "flush"
        self.fua = "FUA" in flags
        self.fill = fill
        self.units = ()         # the atomic units it touches, ascending


def parse_num(s):
    m = re.fullmatch(r"(0x[0-9a-fA-F]+|\d+)([KMG]?)", s)
    if not m:
        raise ValueError("bad number %r" % s)
    n = int(m.group(1), 0)
    return n << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def parse_trace(text):
    """Events: ("bio", Bio), ("wait", id) or ("wait", None) for all."""
    events, config = [], []
    for ln in text.splitlines():
        ln = ln.split("#", 1)[0].split()
        if not ln:
            continue
        op, kv = ln[0], {}
        for w in ln[1:]:
            if "=" in w:
                k, v = w.split("=", 1)
                kv[k] = v
            else:
                kv[w] = None
        if op == "version":
            continue
        if op == "config":
            config.append(kv)
            continue
        if op in ("mark", "think"):
            continue
        if op == "bio":
            kind = kv["op"]
            flags = kv.get("flags", "").split("|") if kv.get("flags") else []
            if kind == "write":
                m = re.fullmatch(r"fill:(0x[0-9a-fA-F]{1,2}|\d+)", kv["data"])
                if not m:
                    raise ValueError("only fill: payloads: %s" % kv["data"])
                ln_ = parse_num(kv["len"])
                assert ln_ % SECTOR == 0 and ln_ > 0
                b = Bio(parse_num(kv["id"]), "write", parse_num(kv["sector"]),
                        ln_ // SECTOR, flags, int(m.group(1), 0))
            elif kind == "flush":
                b = Bio(parse_num(kv["id"]), "flush", 0, 0, flags, 0)
            elif kind == "discard":
                # the model's choice (bq_queue.c Notes, docs/semantics.md
                # block notes): a write of zeros, flags and all
                b = Bio(parse_num(kv["id"]), "write", parse_num(kv["sector"]),
                        parse_num(kv["len"]) // SECTOR, flags, 0)
            else:
                raise ValueError("op=%s not modelled" % kind)
            events.append(("bio", b))
        elif op == "wait":
            events.append(("wait", None if "all" in kv else parse_num(kv["id"])))
        else:
            raise ValueError("event %s not modelled" % op)
    return events, config


class Model:
    def __init__(self, events, device, semantics, unit, fua, nsectors):
        assert device in ("disk-wc", "disk-wt")
        assert semantics in ("linux", "barrier")
        assert unit % SECTOR == 0
        self.events = events
        self.wc = device == "disk-wc"
        self.barrier = semantics == "barrier"
        self.native_fua = fua
        self.spu = unit // SECTOR                   # sectors per unit
        self.bios = [b for k, b in events if k == "bio"]
        ids = [b.id for b in self.bios]
        assert len(set(ids)) == len(ids), "bio ids must be unique"
        self.index = {b.id: i for i, b in enumerate(self.bios)}
        end = max([nsectors] + [b.sector + b.nsec for b in self.bios])
        self.nunits = -(-end // self.spu)
        for b in self.bios:
            if b.op == "write":
                first = b.sector // self.spu
                last = (b.sector + b.nsec - 1) // self.spu
                b.units = tuple(range(first, last + 1))
        # bios submitted before event i (the submitter's position)
        self.nsub = []
        n = 0
        for k, _ in events:
            self.nsub.append(n)
            n += k == "bio"
        self.nsub.append(n)

    # A state is a tuple:
    #   (pc, media, midx, arr, cache, bios)
    # media, midx, arr, cache: per unit; bios: per submitted bio, in
    # submission order, (arrived, complete, req, post):
    #   arrived  per unit of the bio, its arrival number or 0
    #   complete True once completed
    #   req      PREFLUSH/flush (wc, linux): per unit, the newest arrival
    #            of the writes complete at submission (B2); else None
    #   post     emulated FUA: None until its POSTFLUSH issued, then the
    #            per-unit arrivals it covers (B6)

    def is_barrier(self, b):
        return self.barrier and (b.op == "flush" or b.preflush or b.fua)

    @staticmethod
    def durable(midx, req):
        return all(m >= r for m, r in zip(midx, req))

    def covered(self, bios):
        """Per unit, the newest arrival of the writes complete now."""
        req = [0] * self.nunits
        for i, st in enumerate(bios):
            b = self.bios[i]
            if st[1] and b.op == "write":
                for u, a in zip(b.units, st[0]):
                    req[u] = max(req[u], a)
        return tuple(req)

    def own_durable(self, b, st, midx):
        return all(midx[u] >= a for u, a in zip(b.units, st[0]))

    def dispatched(self, i, bios, midx):
        """May bio i act on the device at all (B5 under barrier)?"""
        if not self.barrier:
            return True
        for j in range(i):
            if self.is_barrier(self.bios[j]) and not bios[j][1]:
                return False        # B5: held behind an earlier barrier
        if self.is_barrier(self.bios[i]):
            for j in range(i):      # B5: drain, then pre-flush
                st, b = bios[j], self.bios[j]
                if not st[1]:
                    return False
                if b.op == "write" and not self.own_durable(b, st, midx):
                    return False
        return True

    def initial(self):
        zero = tuple((0,) * self.spu for _ in range(self.nunits))
        n = self.nunits
        return (0, zero, (0,) * n, (0,) * n, (None,) * n, ())

    def successors(self, s):
        pc, media, midx, arr, cache, bios = s
        out = []
        # -- the submitter
        if pc < len(self.events):
            kind, x = self.events[pc]
            if kind == "bio":
                req = None
                if self.wc and not self.barrier and x.preflush:
                    req = self.covered(bios)
                arrived = (0,) * len(x.units)
                out.append((pc + 1, media, midx, arr, cache,
                            bios + ((arrived, False, req, None),)))
            elif x is None:
                if all(st[1] for st in bios):
                    out.append((pc + 1,) + s[1:])
            elif bios[self.index[x]][1]:
                out.append((pc + 1,) + s[1:])
        # -- the device
        for i, st in enumerate(bios):
            b = self.bios[i]
            arrived, complete, req, post = st
            if complete:
                continue
            if not self.dispatched(i, bios, midx):
                continue
            if b.op == "write":
                held = req is not None and not self.durable(midx, req)
                for k, u in enumerate(b.units):
                    if arrived[k] or held:
                        continue
                    out.append(self.arrive(s, i, k, u))
                if not all(arrived):
                    continue
                if self.wc and not self.barrier and b.fua and not self.native_fua:
                    if post is None:    # B6: issue the POSTFLUSH
                        cov = list(self.covered(bios))
                        for u, a in zip(b.units, arrived):
                            cov[u] = max(cov[u], a)
                        nst = (arrived, False, req, tuple(cov))
                        out.append(s[:5] + (bios[:i] + (nst,) + bios[i + 1:],))
                        continue
                    if not self.durable(midx, post):
                        continue
                elif self.wc and (b.fua or self.is_barrier(b)):
                    if not self.own_durable(b, st, midx):
                        continue
            else:   # flush
                if req is not None and not self.durable(midx, req):
                    continue
            nst = (arrived, True, req, post)
            out.append(s[:5] + (bios[:i] + (nst,) + bios[i + 1:],))
        if self.wc:
            for u in range(self.nunits):
                if cache[u] is not None:
                    out.append((pc, media[:u] + (cache[u],) + media[u + 1:],
                                midx[:u] + (arr[u],) + midx[u + 1:], arr,
                                cache[:u] + (None,) + cache[u + 1:], bios))
        return out

    def arrive(self, s, i, k, u):
        pc, media, midx, arr, cache, bios = s
        b = self.bios[i]
        img = list(cache[u] if cache[u] is not None else media[u])
        for sec in range(b.sector, b.sector + b.nsec):
            if sec // self.spu == u:
                img[sec % self.spu] = b.fill
        img = tuple(img)
        n = arr[u] + 1
        arr = arr[:u] + (n,) + arr[u + 1:]
        if self.wc:
            cache = cache[:u] + (img,) + cache[u + 1:]
        else:
            media = media[:u] + (img,) + media[u + 1:]
            midx = midx[:u] + (n,) + midx[u + 1:]
        st = bios[i]
        nst = (st[0][:k] + (n,) + st[0][k + 1:],) + st[1:]
        return (pc, media, midx, arr, cache, bios[:i] + (nst,) + bios[i + 1:])

    def outcomes(self, at):
        """The distinct media images (tuples of sector bytes)."""
        start = self.initial()
        seen = {start}
        todo = [start]
        images = set()
        while todo:
            s = todo.pop()
            if at == "all" or s[0] == len(self.events):
                images.add(s[1])
            for t in self.successors(s):
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        self.nstates = len(seen)
        return {tuple(x for unit in m for x in unit) for m in images}


def observe(image, specs):
    """outcomes' line for one image (a tuple of per-sector bytes)."""
    out = []
    for spec in specs:
        _, off, ln = spec.split(":")
        off, ln = parse_num(off), parse_num(ln)
        data = bytearray()
        for pos in range(off, off + ln):
            sec = pos // SECTOR
            data.append(image[sec] if sec < len(image) else 0)
        out.append("%s=crc32=%08x" % (spec, zlib.crc32(bytes(data))))
    return " ".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--observe", required=True)
    ap.add_argument("--at", default="end", choices=["end", "all"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--block-semantics", default=None)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--states", action="store_true",
                    help="print the number of states explored to stderr")
    a = ap.parse_args(argv)
    events, config = parse_trace(open(a.trace).read())
    opts = {"device": "disk-wc", "block-semantics": "linux"}
    sets = {"disk.atomic_unit": "512", "disk.fua": "on"}
    for kv in config:           # config lines, then flags (flags win)
        for k, v in kv.items():
            if k == "set":
                sets.update([v.split("=", 1)])
            else:
                opts[k] = v
    if a.device:
        opts["device"] = a.device
    if a.block_semantics:
        opts["block-semantics"] = a.block_semantics
    for kv in a.set:
        k, v = kv.split("=", 1)
        sets[k] = v
    for k in sets:
        if k not in ("disk.atomic_unit", "disk.fua", "disk.cache_size"):
            sys.exit("ref_block.py: --set %s not modelled" % k)
    specs = a.observe.split(",")
    for sp in specs:
        if not sp.startswith("blk:"):
            sys.exit("ref_block.py: only blk: observations")
    top = max(parse_num(sp.split(":")[1]) + parse_num(sp.split(":")[2]) for sp in specs)
    m = Model(events, opts["device"], opts["block-semantics"],
              parse_num(sets["disk.atomic_unit"]), sets["disk.fua"] == "on",
              -(-top // SECTOR))
    lines = sorted({observe(img, specs) for img in m.outcomes(a.at)})
    sys.stdout.write("".join(x + "\n" for x in lines))
    if a.states:
        sys.stderr.write("ref_block: %d states\n" % m.nstates)


if __name__ == "__main__":
    main()
