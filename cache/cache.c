/*
 * cache.c — the CPU cache hierarchy, its buffers, the memory controller's
 * write-pending queue (WPQ) and the pmem media behind them.
 *
 * Method.  The model answers one question exactly: if the power failed
 * now, what could the pmem media hold?  It answers it with the rules
 * below, taken from the brief and from their sources, and nothing else.
 * Every rule has a number; the code cites it; docs/semantics.md lists the
 * rules with their sources and the litmus tests (tests/litmus/cpu/) and
 * unit tests (tests/check_cache.c) that check them.
 *
 * Sources:
 *   [SDM]   Intel 64 and IA-32 Architectures Software Developer's Manual:
 *           vol. 2 entries CLFLUSH, CLFLUSHOPT, CLWB, SFENCE, MFENCE,
 *           MOVNTI/MOVNTDQ, WBINVD, LOCK; vol. 3 8.2 (memory ordering),
 *           11.3.1 (write-combining buffers).
 *   [PCM]   Intel, "Deprecating the PCOMMIT Instruction" (2016), and the
 *           ISA Extensions Programming Reference rev. 22 (PCOMMIT).
 *   [PX86]  Raad, Wickerson, Neiger, Vafeiadis, "Persistency Semantics of
 *           the Intel-x86 Architecture", POPL 2020.
 *   [PMDK]  PMDK, libpmem(7): pmem_flush(), pmem_drain(), and the
 *           persistence-domain notes (ADR, eADR).
 *
 * The rules.
 *
 *   C1  A store is durable only once it reaches the persistence domain:
 *       the WPQ on an adr machine, the caches on eadr, the media after
 *       pcommit + fence on a pcommit machine.  [brief; PMDK]
 *   C2  A dirty line may be written back at any moment, so it may persist
 *       before any flush, as any prefix of the stores made to it since it
 *       was last written back: stores to one line persist in program
 *       order.  Each line with such stores is one crash group whose
 *       choices are those prefixes.  [brief; PX86]
 *   C3  Stores to different lines persist in any order unless flushes and
 *       fences order them: line groups are independent.  [brief; PX86]
 *   C4  clflush is ordered with older stores, other clflush, locked
 *       operations and fences.  The model completes its write-back within
 *       the instruction: after a clflush the line's stores so far are
 *       durable (the state before it is the crash point before it),
 *       also those an unfenced clflushopt or clwb of any CPU already took
 *       out of the caches (do_flush).  PMDK relies on this: pmem_drain()
 *       is empty after CLFLUSH.  A clean line is only invalidated.
 *       [SDM CLFLUSH; PMDK; PX86]
 *   C5  clflushopt and clwb are ordered only with fences, locked
 *       operations and older stores to the same line.  Until a fence on
 *       their CPU completes them they may or may not have written back;
 *       "done" persists a prefix that C2 already offers, so an unfenced
 *       flush adds no crash state: the model records (line, store number)
 *       and lets the fence apply it (C6).  clflushopt invalidates the
 *       line; clwb keeps it, clean.  A flush of a line whose stores an
 *       earlier unfenced flush took out of the caches is recorded all the
 *       same: in Px86 a flush persists every earlier write to its line.
 *       [SDM CLFLUSHOPT, CLWB; PX86]
 *   C6  sfence, mfence and locked operations (rmw) complete the issuing
 *       CPU's earlier clflushopt, clwb and non-temporal stores before any
 *       later store: at the fence each recorded flush makes the line's
 *       stores older than it durable, and the CPU's NT stores reach the
 *       persistence domain.  A fence on one CPU completes nothing of
 *       another: of another CPU's NT pieces only those older than its
 *       own in the same chunk go with them (C8).  [SDM SFENCE, MFENCE,
 *       LOCK; PX86]
 *   C7  Aligned 8-byte stores are failure-atomic; wider or unaligned
 *       stores may tear at 8-byte granularity.  A store's part in a line
 *       that touches m aligned 8-byte chunks has, beside the prefix that
 *       ends before it and the one that ends after it, the 2^m - 2 states
 *       in which some of its chunks persisted and the others did not.  A
 *       store spanning lines tears at the line boundary by C3.  [brief]
 *   C8  Non-temporal stores bypass the caches through write-combining
 *       buffers and reach the persistence domain by the next fence on
 *       their CPU; before it any subset may have.  WC buffers are written
 *       out in 8-byte partial writes in no guaranteed order [SDM 11.3.1],
 *       so each 8-byte chunk of a line persists a prefix of the NT pieces
 *       written into it, and chunks are independent.  [brief; SDM MOVNTI]
 *   C9  Same-line order between cached and NT stores: an NT store to a
 *       line with cached stores still volatile first writes that line back
 *       and evicts it [SDM MOVNTI: "if the line is cached, it is evicted"];
 *       a cached store to a line with NT pieces pending first drains them.
 *       So a line's NT pieces are always younger than all its history.
 *   C10 wbinvd is serializing (it completes the CPU's flushes and NT
 *       stores like a fence, C6), then writes back every dirty line of
 *       every cache, and every line another CPU's unfenced clflushopt
 *       took out of them, and invalidates every cache.  [brief; SDM
 *       WBINVD]
 *   C11 On a pcommit machine write-backs and NT stores stop in the WPQ,
 *       which is volatile and writes a line's entries out in the order
 *       they came: a line's WPQ entries and cached stores form one history
 *       that persists as a prefix (C2).  NT pieces reach the WPQ from the
 *       WC buffers by themselves, each chunk's in order, and at their
 *       CPU's fence at the latest, so a drain appends them to the history
 *       in drain order, marked with the line's NT epoch (ntd; each piece
 *       has the epoch it was stored in, nte), and the pieces between two
 *       cached stores persist as the down-sets of "older in the chunk or
 *       drained before the other was stored" (cache_crash.c, "NT
 *       segments").  pcommit followed by a fence on the same CPU makes
 *       durable what was in the WPQ when pcommit executed (through the
 *       entry that was its newest); what entered it later is not covered.
 *       pcommit is a no-op elsewhere.  [brief; PCM; SDM 11.3.1]
 *   C12 On an eadr machine the caches are in the persistence domain: a
 *       cached store is durable when it executes, and flushes change
 *       nothing durable.  Non-temporal stores in WC buffers are still
 *       volatile until a fence (C8).  [brief; PMDK]
 *   C13 The model's own evictions are real: a dirty line the hierarchy
 *       evicts from its last level is written back then (durable on adr).
 *       With an inclusive LLC its evictions back-invalidate the private
 *       copies.  A dirty LLC copy evicted while a private copy is dirtier
 *       persists nothing (its data is an older prefix): conservative.
 *   C14 A crash point lies between events: every event has executed
 *       (store buffers are drained: TSO drains them in program order, so
 *       the state a fuller buffer would give is the crash point before),
 *       and an event's side effects (C4's write-back, C9's eviction and
 *       drain) are done.  A side effect that precedes the event's own
 *       effect is reported to the explorer as a step of its own, before
 *       any of the event's own effect (do_store).
 *   C15 History limits: a line with cache.history stores since its last
 *       write-back, or any store when cache.history-total are kept, is
 *       written back first (the hardware may, by C2); a line whose NT
 *       pieces would give more than 2^16 combinations has them drained
 *       (a WC buffer may be written out at any time, C8) -- on a pcommit
 *       machine, where a drain leaves the combinations as they were, the
 *       WPQ writes the line out too, as it does before a drain that would
 *       pass cache.history entries or wrap the line's 16-bit NT epoch.
 *       All bound memory and crash states; all are counted in the
 *       report.
 *   C16 rmw, a locked read-modify-write, is a fence (C6) and then a store
 *       (C2, C7).  [SDM LOCK; PX86]
 *
 * Notes:
 *   - Persistence domain: c->machine (adr, eadr, pcommit), C1.
 *   - Failure-atomic unit: an aligned 8-byte chunk (C7); torn-write
 *     granularity 8 bytes, within a line; lines are independent (C3).
 *   - Coherence is write-invalidate: a store invalidates the other CPUs'
 *     private copies.  A line's stores from every CPU form one history in
 *     trace order (the coherence order).
 *   - Not modelled: store buffers as a separate place (C14), prefetchers,
 *     instruction fetches, DRAM, the WPQ draining by itself on a pcommit
 *     machine (only pcommit + fence makes it durable, C11), the media's
 *     internal 256-byte write unit, hyper-threads.
 *   - Timing is cycle-approximate: an access costs the latency of the
 *     level that hit (a store its read-for-ownership); write-backs occupy
 *     the WPQ (acceptance latency, one slot per line, drained at wpq.drain
 *     cycles per line) and stall only the fences and clflush waiting for
 *     them.  One clock for all CPUs: an event costs its CPU's cycles.
 */
#include "cache_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../sim/media.h"
#include "../sim/models.h"

/* ---------------------------------------------------------------------
 * Line records: the volatile state, found by line number.
 * ------------------------------------------------------------------- */

/*
 * The record table is the records themselves: 128-byte slots in one
 * array, open addressing by line number with linear probing, load at
 * most 1/2, backward-shift deletion (no tombstones).  A record holds the
 * first CACHE_INL_WR stores of its line's history in its own second host
 * line; a longer history moves to a heap buffer that stays with the slot
 * (h.heap), as do the rare parts (x: the wide-store byte log, the
 * no-history mode's closed segments) and the NT array, so records come
 * and go without malloc.  A record moves only when the table grows or a
 * deletion shifts it back; rec_move() carries its history pointer along.
 *
 * Why (docs/performance.md, "Cache model redesign"): the previous layout
 * was a hash of 16-byte slots, a 64-byte record array and a history array
 * per record: a store to a line in no host cache missed three times
 * (slot, record, history tail), and a cold dirty line about seven times
 * over its life.  Here a lookup reads the record's first host line, a
 * short history is in its second (fetched with it by the adjacent-line
 * prefetcher), and a cold line's life is its slot plus its media page.
 */
static inline uint64_t rec_hash_of(const struct cache_model *m, uint64_t line)
{
	return (line * 0x9e3779b97f4a7c15ULL) >> 17 & (m->nrec - 1);
}

/* The slot of LINE, or the empty slot where it would go. */
static inline struct cache_rec *rec_slot(struct cache_model *m, uint64_t line)
{
	uint64_t h = rec_hash_of(m, line), mask = m->nrec - 1;

	while (m->rec[h].nline != ~line && m->rec[h].nline)
		h = (h + 1) & mask;
	return &m->rec[h];
}

/* The record of LINE or NULL.  O(1) expected. */
static inline struct cache_rec *rec_find(struct cache_model *m, uint64_t line)
{
	struct cache_rec *r = rec_slot(m, line);

	return r->nline == ~line ? r : NULL;
}

struct cache_rec *cache_rec_find(struct cache_model *m, uint64_t line)
{
	return rec_find(m, line);
}

/* An empty slot: nothing volatile, its spare buffers kept. */
static inline void rec_clear(struct cache_rec *r)
{
	r->nline = 0;
	r->wr = r->u.inl;
	r->nwr = r->nwpq = r->nnt = 0;
	r->hchoices = 1;
}

/* Move the record in slot S into the empty slot D, swapping their spare
 * buffers: S is left empty with D's. */
static void rec_move(struct cache_rec *d, struct cache_rec *s, bool nohist)
{
	struct cache_wr *dnt = d->nt;
	struct cache_rext *dx = d->x;
	uint32_t dntcap = d->nt_cap;
	bool inl = s->wr == s->u.inl;

	if (!nohist) {
		struct cache_wr *dheap = d->h.heap;
		uint32_t dcap = d->heap_cap;
		*d = *s;
		s->h.heap = dheap;
		s->heap_cap = dcap;
	} else {
		*d = *s;
	}
	d->wr = inl ? d->u.inl : d->h.heap;
	s->nt = dnt;
	s->nt_cap = dntcap;
	s->x = dx;
	rec_clear(s);
}

static void rec_free_spares(struct cache_model *m, struct cache_rec *r)
{
	if (!m->nohist)
		free(r->h.heap);
	free(r->nt);
	if (r->x) {
		free(r->x->bytes);
		free(r->x->seg);
		free(r->x->segs);
		free(r->x->rows);
		free(r->x);
	}
}

/* A table of NSLOTS empty slots, or NULL: fresh anonymous memory, whose
 * zero pages are empty slots, so a table costs no initializing pass (a
 * memset of each new table was half the host cache misses of a 2 M
 * cache_bench(): cachegrind), and huge pages where the kernel allows
 * them (the table is probed at random). */
static struct cache_rec *rec_table(uint32_t nslots)
{
	void *t = mmap(NULL, (size_t)nslots * sizeof(struct cache_rec), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if ((size_t)nslots * sizeof(struct cache_rec) >= (2u << 20))
		madvise(t, (size_t)nslots * sizeof(struct cache_rec), MADV_HUGEPAGE);
#endif
	return t;
}

static void rec_table_free(struct cache_rec *t, uint32_t nslots)
{
	if (t)
		munmap(t, (size_t)nslots * sizeof(*t));
}

/* Twice the slots; the live records move to their new home slots, the
 * spare buffers of the empty ones are freed.  Aborts on out of memory:
 * the model cannot continue without its volatile state. */
static void rec_grow(struct cache_model *m)
{
	uint32_t n = m->nrec * 2;
	struct cache_rec *old = m->rec, *t = rec_table(n);
	uint32_t oldn = m->nrec;

	if (!t || n < m->nrec)
		abort();
	m->rec = t;
	m->nrec = n;
	for (uint32_t i = 0; i < oldn; i++) {
		if (old[i].nline)
			rec_move(rec_slot(m, cache_rec_line(&old[i])), &old[i], m->nohist);
		rec_free_spares(m, &old[i]);	/* a moved record's: none */
	}
	rec_table_free(old, oldn);
}

/* The record of LINE, made if absent.  May move every record (the table
 * grows): callers re-find records they held. */
static struct cache_rec *rec_get(struct cache_model *m, uint64_t line)
{
	struct cache_rec *r = rec_slot(m, line);

	if (r->nline == ~line)
		return r;
	if ((m->nlive + 1) * 2 > m->nrec) {
		rec_grow(m);
		r = rec_slot(m, line);
	}
	m->nlive++;
	r->nline = ~line;		/* its spare buffers are reused */
	r->wr = r->u.inl;		/* a fresh slot is all zeros */
	r->nwr = r->nwpq = r->nnt = 0;
	r->hchoices = 1;
	if (r->x)
		r->x->nbytes = 0;
	if (m->nohist)
		r->h.mask = 0;
	return r;
}

/* Forget R when nothing volatile is left (I2): backward-shift deletion
 * keeps linear probing tombstone-free; the records shifted keep their
 * order along the probe sequence. */
static void rec_put(struct cache_model *m, struct cache_rec *r)
{
	uint64_t h, j, mask = m->nrec - 1;

	if (r->nwr || r->nnt)
		return;
	h = (uint64_t)(r - m->rec);
	rec_clear(r);
	for (j = (h + 1) & mask; m->rec[j].nline; j = (j + 1) & mask) {
		uint64_t home = rec_hash_of(m, cache_rec_line(&m->rec[j]));
		/* move j back to h if h lies cyclically in [home, j) */
		if (((j - home) & mask) >= ((j - h) & mask)) {
			rec_move(&m->rec[h], &m->rec[j], m->nohist);
			h = j;
		}
	}
	m->nlive--;
}

static struct cache_rext *rec_ext(struct cache_rec *r)
{
	if (!r->x && !(r->x = calloc(1, sizeof(*r->x))))
		abort();
	return r->x;
}

/* Room for N more bytes in R's log (pieces wider than 8 bytes, all in
 * wr[], in log order): compact the live bytes down first if that frees
 * enough, else grow.  Amortized O(1) per byte. */
static void rec_bytes_room(struct cache_rec *r, uint32_t n)
{
	struct cache_rext *x = rec_ext(r);
	uint32_t live = 0, at = 0;

	for (uint32_t k = 0; k < r->nwr; k++)
		if (r->wr[k].len > CACHE_CHUNK)
			live += r->wr[k].len;
	if (live + n <= x->bytes_cap / 2 + n && live + n <= x->bytes_cap) {
		/* moving down in ascending order never overwrites unread
		 * bytes */
		for (uint32_t k = 0; k < r->nwr; k++) {
			struct cache_wr *w = &r->wr[k];
			if (w->len <= CACHE_CHUNK)
				continue;
			memmove(x->bytes + at, x->bytes + w->b.at, w->len);
			w->b.at = at;
			at += w->len;
		}
		x->nbytes = at;
	} else {
		uint32_t ncap = x->bytes_cap ? x->bytes_cap : 64;
		uint8_t *nb;
		while (ncap < x->nbytes + n)
			ncap *= 2;
		nb = realloc(x->bytes, ncap);
		if (!nb)
			abort();
		x->bytes = nb;
		x->bytes_cap = ncap;
	}
}

/* The fast path inline, the rare compaction or growth out of line. */
static inline uint8_t *rec_bytes(struct cache_rec *r, uint32_t n)
{
	struct cache_rext *x = r->x;

	if (__builtin_expect(!x || x->nbytes + n > x->bytes_cap, 0)) {
		rec_bytes_room(r, n);
		x = r->x;
	}
	x->nbytes += n;
	return x->bytes + x->nbytes - n;
}

static void wr_grow(struct cache_wr **a, uint32_t *cap)
{
	uint32_t ncap = *cap ? *cap * 2 : 8;
	struct cache_wr *na = realloc(*a, ncap * sizeof(*na));

	if (!na)
		abort();
	*a = na;
	*cap = ncap;
}

/* R's history outgrows its inline entries or its heap buffer. */
static __attribute__((noinline)) void hist_grow(struct cache_rec *r)
{
	if (r->wr == r->u.inl) {
		if (r->heap_cap < 2 * CACHE_INL_WR)
			wr_grow(&r->h.heap, &r->heap_cap);
		memcpy(r->h.heap, r->u.inl, sizeof(r->u.inl));
		r->wr = r->h.heap;
		return;
	}
	wr_grow(&r->h.heap, &r->heap_cap);
	r->wr = r->h.heap;
}

/* One more history entry of R, inline; growth out of line. */
static inline struct cache_wr *hist_push(struct cache_rec *r)
{
	uint32_t cap = r->wr == r->u.inl ? CACHE_INL_WR : r->heap_cap;

	if (__builtin_expect(r->nwr == cap, 0))
		hist_grow(r);
	return &r->wr[r->nwr++];
}

/* One more entry at the end of *A, inline; growth out of line.  As calls,
 * wr_push and rec_bytes cost 93 Ir per store.  With payload_read()'s
 * move: 340 -> 311 Ir per access (callgrind, cache_bench() of 2 M). */
static inline struct cache_wr *wr_push(struct cache_wr **a, uint32_t *n, uint32_t *cap)
{
	if (__builtin_expect(*n == *cap, 0))
		wr_grow(a, cap);
	return &(*a)[(*n)++];
}

/* Bits [lo, hi) of a 64-bit mask (0 <= lo <= hi <= 64). */
static inline uint64_t bits_of(uint32_t lo, uint32_t hi)
{
	uint64_t below_hi = hi >= 64 ? ~0ull : (1ull << hi) - 1;
	uint64_t below_lo = lo >= 64 ? ~0ull : (1ull << lo) - 1;

	return below_hi & ~below_lo;
}

/* Mark bytes [off, off+n) of a line (at most 128 bytes) in MASK; return
 * whether any was marked already. */
static inline bool mask_add(uint64_t mask[2], uint32_t off, uint32_t n)
{
	uint32_t end = off + n;

	if (end <= 64) {		/* the usual piece: in the low word */
		uint64_t a = (n >= 64 ? ~0ull : (1ull << n) - 1) << off;
		bool seen = mask[0] & a;
		mask[0] |= a;
		return seen;
	}
	uint64_t a = off < 64 ? bits_of(off, end < 64 ? end : 64) : 0;
	uint64_t b = end > 64 ? bits_of(off > 64 ? off - 64 : 0, end - 64) : 0;
	bool seen = (mask[0] & a) | (mask[1] & b);

	mask[0] |= a;
	mask[1] |= b;
	return seen;
}

/* One media_write per run of marked bytes of the line at BASE composed
 * in LB.  A run across the two mask words is written as two runs: the
 * bytes that reach the media, and their count, are the same. */
static void write_runs(struct cache_model *m, uint64_t base, const uint8_t *lb,
		       const uint64_t mask[2])
{
	for (uint32_t k = 0; k < 2; k++) {
		uint64_t w = mask[k];
		while (w) {
			uint32_t from = (uint32_t)__builtin_ctzll(w);
			uint64_t rest = ~w & (~0ull << from);
			uint32_t to = rest ? (uint32_t)__builtin_ctzll(rest) : 64;
			media_write(m->media, base + 64 * k + from, lb + 64 * k + from, to - from);
			w = to >= 64 ? 0 : w & (~0ull << to);	/* the runs after */
		}
	}
}

/* ---------------------------------------------------------------------
 * No history: `powercut run` without crash states (cache_keep_history()).
 * ------------------------------------------------------------------- */

/*
 * When no one will ask for crash states, a line's stores need not be kept
 * one by one: what the model must still get exactly right is what each
 * write-back writes (the bytes, and so media.bytes) and the counts that
 * decide C15 (nwr, hchoices, history_total).  A write-back of the whole
 * history writes, per byte touched, the newest value: the line's newest
 * bytes (u.img) and the mask of those touched (h.mask) are enough.  The
 * one write-back of part of a history is a fence completing a clwb or
 * clflushopt (C5, C6): it persists the stores older than the flush.  So a
 * flush that will be completed later closes the line's open segment (a
 * struct cache_seg in x->seg: its mask, bytes and counts); the fence
 * persists the closed segments older than its flush.  Segments are
 * folded in order, so every byte gets the value of the newest store
 * before the cut, as replaying the stores one by one would give.
 *
 * Only for lines of at most 64 bytes on adr and eadr (a pcommit machine's
 * WPQ entries are partial write-backs of another kind): elsewhere the
 * model keeps its histories whatever the caller says.
 */

/* Bytes of IMG where M says, into LB; M into *MASK. */
static inline void nh_fold(uint8_t *lb, uint64_t *mask, const uint8_t *img, uint64_t m)
{
	*mask |= m;
	while (m) {
		uint32_t from = (uint32_t)__builtin_ctzll(m);
		uint64_t rest = ~m & (~0ull << from);
		uint32_t to = rest ? (uint32_t)__builtin_ctzll(rest) : 64;
		memcpy(lb + from, img + from, to - from);
		m = to >= 64 ? 0 : m & (~0ull << to);
	}
}

/* Make R's first N closed segments durable, and with ALL its open one too
 * (media_write per run of the bytes they touched, as rec_persist_prefix()
 * writes a composed history). */
static void nh_persist(struct cache_model *m, struct cache_rec *r, uint32_t n, bool all)
{
	struct cache_rext *x = r->x;
	uint32_t cnwr = x ? x->seg_nwr : 0, chc = x ? x->seg_hc : 0;
	uint32_t k = 0, hc = 0;
	uint64_t mask[2] = { 0, 0 };
	uint8_t lb[64];

	for (uint32_t i = 0; i < n; i++) {
		const struct cache_seg *g = &x->seg[i];
		nh_fold(lb, &mask[0], g->img, g->mask);
		k += g->nwr;
		hc += g->hc;
	}
	if (n) {
		x->nseg -= n;
		memmove(x->seg, x->seg + n, x->nseg * sizeof(*x->seg));
		x->seg_nwr -= k;
		x->seg_hc -= hc;
	}
	if (all) {
		nh_fold(lb, &mask[0], r->u.img, r->h.mask);
		k += r->nwr - cnwr;
		hc += r->hchoices - 1 - chc;
		r->h.mask = 0;
	}
	if (!k)
		return;
	write_runs(m, cache_rec_line(r) << m->line_shift, lb, mask);
	r->nwr -= k;
	r->hchoices -= hc;
	m->history_total -= k;
	cache_rec_changed(m, r);
	m->durable_gen++;
}

/* A flush of R's line will be completed by a later fence: close the open
 * segment (if it has stores) at store number SEQ. */
static void nh_close(struct cache_rec *r, uint64_t seq)
{
	struct cache_rext *x;
	struct cache_seg *g;

	if (!r->h.mask)
		return;
	x = rec_ext(r);
	if (x->nseg == x->seg_cap) {
		uint32_t ncap = x->seg_cap ? x->seg_cap * 2 : 4;
		struct cache_seg *ns = realloc(x->seg, ncap * sizeof(*ns));
		if (!ns)
			abort();
		x->seg = ns;
		x->seg_cap = ncap;
	}
	g = &x->seg[x->nseg++];
	g->seq_end = seq;
	g->mask = r->h.mask;
	g->nwr = r->nwr - x->seg_nwr;
	g->hc = r->hchoices - 1 - x->seg_hc;
	memcpy(g->img, r->u.img, sizeof(g->img));
	x->seg_nwr += g->nwr;
	x->seg_hc += g->hc;
	r->h.mask = 0;
}

/* Closed segments of R older than store number SEQ. */
static uint32_t nh_count_before(const struct cache_rec *r, uint64_t seq)
{
	uint32_t n = 0;

	while (r->x && n < r->x->nseg && r->x->seg[n].seq_end <= seq)
		n++;
	return n;
}

/* ---------------------------------------------------------------------
 * Write-backs
 * ------------------------------------------------------------------- */

/* rec_persist_prefix() of K > 1 entries of a line of at most 64 bytes:
 * the line composed in program order (C2), the touched bytes in one mask
 * word, each entry's bits and choices without a branch (0 < len, off +
 * len <= 64), then one media_write per run of touched bytes, as in the
 * general loop below.  Measured (callgrind, the synthetic stream's 16 KiB
 * region, where every 64th store to a line writes it back, C15): 2,526
 * -> 1,760 Ir per 64-entry write-back (mask_add() computed whether a
 * byte was seen and tested for 64-byte pieces, and hchoices was updated
 * in memory per entry). */
static void compose_prefix64(struct cache_model *m, struct cache_rec *r, uint32_t k)
{
	uint8_t lb[64];
	uint64_t mask[2] = { 0, 0 };
	uint32_t hc = 0;

	for (uint32_t i = 0; i < k; i++) {
		const struct cache_wr *w = &r->wr[i];
		cache_copy_piece(lb + w->off, NULL, cache_wr_data(r, w), w->len);
		mask[0] |= (~0ull >> (64 - w->len)) << w->off;
		hc += 1 + tears_of(w->nchunk);
	}
	r->hchoices -= hc;
	write_runs(m, cache_rec_line(r) << m->line_shift, lb, mask);
}

/* Make the first K history entries of R durable (media_write in program
 * order, C2) and drop them.  No history: K is all of them. */
static void rec_persist_prefix(struct cache_model *m, struct cache_rec *r, uint32_t k)
{
	uint64_t base = cache_rec_line(r) << m->line_shift;

	assert(k <= r->nwr);
	if (!k)
		return;
	if (r->x && r->x->nnthist)	/* drained NT pieces among them */
		for (uint32_t i = 0; i < k; i++)
			r->x->nnthist -= r->wr[i].ntd != 0;
	if (m->nohist) {
		assert(k == r->nwr);
		nh_persist(m, r, r->x ? r->x->nseg : 0, true);
		return;
	}
	if (k == 1) {
		const struct cache_wr *w = &r->wr[0];
		media_write(m->media, base + w->off, cache_wr_data(r, w), w->len);
		r->hchoices -= 1 + tears_of(w->nchunk);
	} else if (m->line_size <= 64) {
		compose_prefix64(m, r, k);
	} else {
		/* compose the line, then one media_write per run of touched
		 * bytes: a 64-store history costs 1-2 page lookups, not 64
		 * (measured with the val= inline read and the direct LRU call:
		 * 22.4 -> 25.8 M accesses/s on 30% stores, L1-resident).  The
		 * runs come from a bit mask of the touched bytes, not a byte
		 * array scanned byte by byte: 513 -> 290 Ir per call with its
		 * media writes (callgrind, `powercut run` of a 1M-event
		 * gen_trace trace). */
		uint8_t lb[CACHE_MAX_LINE];
		uint64_t mask[2] = { 0, 0 };
		for (uint32_t i = 0; i < k; i++) {
			const struct cache_wr *w = &r->wr[i];
			cache_copy_piece(lb + w->off, NULL, cache_wr_data(r, w), w->len);
			mask_add(mask, w->off, w->len);
			r->hchoices -= 1 + tears_of(w->nchunk);
		}
		write_runs(m, base, lb, mask);
	}
	r->nwr -= k;
	if (r->nwr)
		memmove(r->wr, r->wr + k, r->nwr * sizeof(*r->wr));
	else
		r->wr = r->u.inl;	/* the next stores go inline again */
	r->nwpq = r->nwpq > k ? r->nwpq - k : 0;
	m->history_total -= k;
	if (!r->nwr && !r->nnt && r->x)
		r->x->nbytes = 0;
	cache_rec_changed(m, r);
	m->durable_gen++;
}

/* Entries of R older than store number SEQ: a prefix (I3), up to the
 * first newer one.  A run of drained NT pieces is in drain order (I3),
 * so the count may stop inside it; the pcommit FLUSH that asks only
 * raises nwpq, which covers the run already (I4). */
static uint32_t rec_count_before(const struct cache_rec *r, uint64_t seq)
{
	uint32_t k = 0;

	while (k < r->nwr && r->wr[k].seq < seq)
		k++;
	return k;
}

/* The line's cached stores leave the caches (C2, C13, C4): durable on adr,
 * into the WPQ on a pcommit machine (C11).  Returns true if something
 * became durable. */
static bool rec_write_back(struct cache_model *m, struct cache_rec *r)
{
	if (r->nwpq == r->nwr)
		return false;
	if (m->machine == SIM_MACHINE_PCOMMIT) {
		r->nwpq = r->nwr;
		cache_rec_changed(m, r);
		return false;
	}
	rec_persist_prefix(m, r, r->nwr);
	return true;
}

/* ---------------------------------------------------------------------
 * The WPQ: timing only (durability is the records' business).
 * ------------------------------------------------------------------- */

/* A line sent at time T: when it is accepted (one slot per line, slots
 * freed at wpq.drain cycles per line).  O(1). */
static uint64_t wpq_accept(struct cache_model *m, uint64_t t)
{
	uint64_t arrive = t + m->wpq_latency;
	uint64_t full = (uint64_t)(m->wpq_entries - 1) * m->wpq_drain;

	if (m->wpq_drain_done > full && arrive < m->wpq_drain_done - full)
		arrive = m->wpq_drain_done - full;	/* wait for a slot */
	m->wpq_drain_done = (m->wpq_drain_done > arrive ? m->wpq_drain_done : arrive)
			    + m->wpq_drain;
	return arrive;
}

static inline uint64_t now(const struct cache_model *m)
{
	return m->clock->now;
}

static inline void step(struct cache_model *m, const char *what)
{
	m->env->step(m->env->step_ctx, what);
}

/* ---------------------------------------------------------------------
 * NT pieces (C8, C9)
 * ------------------------------------------------------------------- */

/* Drain into the persistence domain -- the media, or the WPQ part of the
 * history on a pcommit machine (C11) -- the first LIM[c] NT pieces of
 * each chunk c of R (a chunk's pieces leave in order, C8), in program
 * order; the others stay, in order. */
static void rec_drain_nt_chunks(struct cache_model *m, struct cache_rec *r,
				const uint32_t lim[CACHE_MAX_LINE / CACHE_CHUNK])
{
	uint64_t base = cache_rec_line(r) << m->line_shift;
	uint32_t seen[CACHE_MAX_LINE / CACHE_CHUNK] = { 0 };
	uint32_t i, k = 0, kept = 0;

	if (!r->nnt)
		return;
	assert(r->nwpq == r->nwr);		/* I4 */
	if (m->machine == SIM_MACHINE_PCOMMIT) {
		/* into the WPQ part of the history, marked with the line's
		 * next NT epoch (cache_crash.c, "NT segments") */
		struct cache_rext *x = rec_ext(r);
		if (x->ntepoch == UINT16_MAX || r->nwr + r->nnt > m->history_max ||
		    m->history_total + r->nnt > m->history_total_max) {
			/* (all of them a bound of the pieces drained: the
			 * exact count only here) */
			for (i = 0; i < r->nnt; i++)
				k += seen[r->nt[i].chunk0]++ < lim[r->nt[i].chunk0];
			memset(seen, 0, sizeof(seen));
			if (k && (x->ntepoch == UINT16_MAX || r->nwr + k > m->history_max ||
				  m->history_total + k > m->history_total_max)) {
				/* C15: the epochs would wrap, or the WPQ part
				 * of the history pass its limits.  The WPQ
				 * writes the history out first (it may, C11);
				 * the pending pieces, all stored before any
				 * later drain, may restart at 0. */
				m->st.capacity_writebacks++;
				rec_persist_prefix(m, r, r->nwr);
				for (i = 0; i < r->nnt; i++)
					r->nt[i].nte = 0;
				x->ntepoch = 0;
			}
			k = 0;
		}
		for (i = 0; i < r->nnt; i++) {
			struct cache_wr *w;
			if (seen[r->nt[i].chunk0]++ >= lim[r->nt[i].chunk0])
				continue;
			w = hist_push(r);
			*w = r->nt[i];
			w->ntd = x->ntepoch + 1u;
			r->hchoices += 1;	/* one chunk: no tears */
			k++;
		}
		if (k)
			x->ntepoch++;
		x->nnthist += k;
		r->nwpq = r->nwr;
		m->history_total += k;
	} else {
		/* Disjoint pieces (an ntstore of a whole line is 8) are
		 * composed and written in runs: the same bytes reach the
		 * media, and media_bytes_written() counts the same, with one
		 * page lookup instead of one per piece.  Overlapping pieces
		 * are written one by one, in program order, as each counts. */
		uint8_t lb[CACHE_MAX_LINE];
		uint64_t mask[2] = { 0, 0 };
		bool overlap = false;
		for (i = 0; i < r->nnt && !overlap; i++) {
			const struct cache_wr *w = &r->nt[i];
			if (seen[w->chunk0]++ >= lim[w->chunk0])
				continue;
			overlap = mask_add(mask, w->off, w->len);
			cache_copy_piece(lb + w->off, NULL, w->b.in, w->len);
			k++;
		}
		memset(seen, 0, sizeof(seen));
		if (!overlap) {
			write_runs(m, base, lb, mask);
		} else {
			for (i = 0, k = 0; i < r->nnt; i++) {
				const struct cache_wr *w = &r->nt[i];
				if (seen[w->chunk0]++ >= lim[w->chunk0])
					continue;
				media_write(m->media, base + w->off, w->b.in, w->len);
				k++;
			}
		}
		m->durable_gen++;
	}
	if (!k)
		return;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < r->nnt; i++)
		if (seen[r->nt[i].chunk0]++ >= lim[r->nt[i].chunk0])
			r->nt[kept++] = r->nt[i];
	r->nnt = kept;
	m->st.nt_lines++;
	wpq_accept(m, now(m));
	if (!r->nwr && !r->nnt && r->x)
		r->x->nbytes = 0;
	cache_rec_changed(m, r);
}

/* Drain R's first K NT pieces (per chunk, a prefix: C8). */
static void rec_drain_nt(struct cache_model *m, struct cache_rec *r, uint32_t k)
{
	uint32_t lim[CACHE_MAX_LINE / CACHE_CHUNK] = { 0 };

	if (!k)
		return;
	for (uint32_t i = 0; i < k; i++)
		lim[r->nt[i].chunk0]++;
	rec_drain_nt_chunks(m, r, lim);
}

/* Per-chunk NT piece counts of R into CNT; returns the choices they
 * give, the product over chunks of (pieces + 1) (C8). */
static uint64_t nt_count(const struct cache_rec *r, uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK])
{
	uint64_t p = 1;

	memset(cnt, 0, sizeof(uint32_t) * (CACHE_MAX_LINE / CACHE_CHUNK));
	for (uint32_t i = 0; i < r->nnt; i++)
		cnt[r->nt[i].chunk0]++;
	for (uint32_t c = 0; c < CACHE_MAX_LINE / CACHE_CHUNK; c++)
		p *= cnt[c] + 1;
	return p;
}

/* Where nt_seg_count() and do_ntstore() stop counting: past the C15
 * limit divided by any chunk's pieces + 1 (2^17 at most). */
#define NT_BOUND_MAX (1ull << 40)

/* nt_count() over R's NT segment on a pcommit machine: the drained
 * pieces of history entries [J0, nwr) and the pending ones. */
static uint64_t nt_seg_count(const struct cache_rec *r, uint32_t j0,
			     uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK])
{
	uint64_t p = 1;

	if (j0 == r->nwr)
		return nt_count(r, cnt);	/* pending only: C15 keeps it small */
	nt_count(r, cnt);
	for (uint32_t j = j0; j < r->nwr; j++)
		cnt[r->wr[j].chunk0]++;
	for (uint32_t c = 0; c < CACHE_MAX_LINE / CACHE_CHUNK; c++)
		if (__builtin_mul_overflow(p, (uint64_t)cnt[c] + 1, &p) || p > NT_BOUND_MAX)
			return NT_BOUND_MAX;
	return p;
}

/* ---------------------------------------------------------------------
 * The hierarchy
 * ------------------------------------------------------------------- */

static inline struct cache_level *level_of(struct cache_model *m, uint32_t cpu, int id)
{
	return id == CACHE_LLC ? &m->llc : &m->cpu[cpu].lv[id];
}

/* A level's touch and insert with LRU's inlined (the ops table stays the
 * interface).  Measured on L1D-hit loads: 49.7 -> 51.3 M/s for the L1D
 * touch (cache_int.h).  For L2 and LLC too, with cache_event()'s fast
 * path: 311 -> 286 Ir per access (callgrind, cache_bench() of 2 M). */
static inline __attribute__((always_inline)) bool
level_touch(struct cache_level *lv, uint64_t line, uint64_t dirty)
{
	uint64_t set = line & lv->set_mask;

	if (lv->pol == &cache_policy_lru)
		return cache_lru_touch(lv, set, line, dirty);
	return lv->pol->touch(lv, set, line, dirty);
}

static inline uint64_t level_insert(struct cache_level *lv, uint64_t word)
{
	uint64_t set = (word >> 1) & lv->set_mask;

	if (lv->pol == &cache_policy_lru)
		return cache_lru_insert(lv, set, word);
	return lv->pol->insert(lv, set, word);
}

/* OR DIRTY into LINE's word without touching recency (a write-back from
 * the level above is not a use: Cachegrind's counts stay comparable).
 * Returns false if LINE is absent.  O(ways). */
static inline bool level_mark(struct cache_level *lv, uint64_t line, uint64_t dirty)
{
	uint64_t set = line & lv->set_mask;
	int i = cache_set_find(lv, set, line);	/* any policy */

	if (i < 0)
		return false;
	cache_word_or(lv, set, (uint32_t)i, dirty);
	return true;
}

/* Clear LINE's dirty bit; return whether it was dirty.  O(ways). */
static bool level_clean(struct cache_level *lv, uint64_t line)
{
	uint64_t set = line & lv->set_mask;
	int i = cache_set_find(lv, set, line);	/* any policy */
	uint64_t w;

	if (i < 0)
		return false;
	w = cache_word_at(lv, set, (uint32_t)i);
	cache_word_put(lv, set, (uint32_t)i, w & ~(uint64_t)1);
	return w & 1;
}

static inline uint64_t level_remove(struct cache_level *lv, uint64_t line)
{
	if (lv->pol == &cache_policy_lru)
		return cache_lru_remove(lv, line & lv->set_mask, line);
	return lv->pol->remove(lv, line & lv->set_mask, line);
}

/* A dirty line leaves the hierarchy: C13. */
static void line_leaves_dirty(struct cache_model *m, uint64_t line, bool inner)
{
	struct cache_rec *r;

	m->st.writebacks++;
	wpq_accept(m, now(m));
	r = rec_find(m, line);
	if (r && rec_write_back(m, r)) {
		rec_put(m, r);
		if (inner)
			step(m, "line written back (eviction)");
	}
}

/* Is LINE dirty in some CPU's private level? */
static bool private_dirty(struct cache_model *m, uint64_t line)
{
	for (uint32_t c = 0; c < m->ncpu; c++)
		for (int l = CACHE_L1D; l <= CACHE_L2; l++) {
			struct cache_level *lv = &m->cpu[c].lv[l];
			uint64_t set = line & lv->set_mask;
			int i;
			if (!lv->present)
				continue;
			i = cache_set_find(lv, set, line);
			if (i >= 0 && (cache_word_at(lv, set, (uint32_t)i) & 1))
				return true;
		}
	return false;
}

static void insert_into(struct cache_model *m, uint32_t cpu, int id, uint64_t word);

/* The word an insertion into LINE's set of LV would replace, if LV is
 * LRU (the way ranked last), else CACHE_INVALID: a prediction for
 * prefetching, no side effects.  O(ways). */
static inline uint64_t lru_victim(const struct cache_level *lv, uint64_t line)
{
	uint64_t set = line & lv->set_mask;

	if (lv->pol != &cache_policy_lru)
		return CACHE_INVALID;
	return cache_word_at(lv, set, cache_rank_last(lv->rank + set * lv->ways, lv->ways,
						      lv->lane_in));
}

/* Start fetching LINE's set of LV (its words and ranks) into the host's
 * caches.  No side effects. */
static inline void level_prefetch(const struct cache_level *lv, uint64_t line)
{
	uint64_t set = line & lv->set_mask;

	if (lv->tag) {
		for (uint32_t k = 0; k < lv->ways; k += 16)
			__builtin_prefetch(lv->tag + set * lv->ways + k);
	} else {
		for (uint32_t k = 0; k < lv->ways; k += 8)
			__builtin_prefetch(lv->word + set * lv->ways + k);
	}
	if (lv->rank)
		__builtin_prefetch(lv->rank + set * lv->ways);
}

/* WORD was evicted from level ID of CPU: pass it down (write-back) or
 * out of the hierarchy. */
static void evicted(struct cache_model *m, uint32_t cpu, int id, uint64_t word)
{
	uint64_t line = word >> 1;
	bool dirty = word & 1;

	if (word == CACHE_INVALID)
		return;
	if (id == CACHE_LLC) {
		if (m->inclusive) {
			/* back-invalidate the private copies */
			for (uint32_t c = 0; c < m->ncpu; c++)
				for (int l = CACHE_L1D; l <= CACHE_L2; l++)
					if (m->cpu[c].lv[l].present) {
						uint64_t w = level_remove(&m->cpu[c].lv[l], line);
						if (w != CACHE_INVALID)
							dirty |= w & 1;
					}
		} else if (dirty && private_dirty(m, line)) {
			/* C13: an older prefix goes out; nothing is claimed */
			m->st.writebacks++;
			wpq_accept(m, now(m));
			return;
		}
		if (dirty)
			line_leaves_dirty(m, line, true);
		return;
	}
	if (!dirty)
		return;
	/* the next present level down */
	for (int next = id + 1; next < CACHE_NLEVELS; next++) {
		struct cache_level *lv = level_of(m, cpu, next);
		if (!lv->present)
			continue;
		if (!level_mark(lv, line, 1))
			insert_into(m, cpu, next, word);
		return;
	}
	line_leaves_dirty(m, line, true);
}

static void insert_into(struct cache_model *m, uint32_t cpu, int id, uint64_t word)
{
	evicted(m, cpu, id, level_insert(level_of(m, cpu, id), word));
}

/* A store by CPU invalidates the other CPUs' private copies (write-
 * invalidate coherence).  A dirty copy's data moves with the line: the
 * writer's copy becomes the dirty one, so nothing is written back. */
static void invalidate_others(struct cache_model *m, uint32_t cpu, uint64_t line)
{
	for (uint32_t c = 0; c < m->ncpu; c++) {
		if (c == cpu)
			continue;
		for (int l = CACHE_L1D; l <= CACHE_L2; l++)
			if (m->cpu[c].lv[l].present)
				level_remove(&m->cpu[c].lv[l], line);
	}
}

/* insert_into() of LINE (DIRTY 0 or 1) into the L1D of a model with
 * m->fast (one CPU, an LRU L1D of 32-bit tags): the same insertion
 * (cache_lru_insert()) on the tags themselves, and a clean victim (or a
 * free way) needs no call to evicted(), and a dirty one is marked in
 * the L2 (or put in) as evicted() does, without its loop over the levels.
 * Measured (callgrind, 500 K accesses of the synthetic stream's 512 KiB
 * region, where nearly every access fills the L1D): 440 -> 377 Ir per
 * access. */
static inline void l1_fill(struct cache_model *m, uint64_t line, uint64_t dirty)
{
	struct cache_level *l1 = &m->cpu[0].lv[CACHE_L1D];
	uint64_t set = line & l1->set_mask;
	uint32_t *tags = l1->tag + set * l1->ways;
	uint8_t *rk = l1->rank + set * l1->ways;
	uint32_t v = cache_rank_last(rk, l1->ways, l1->lane_in), old = tags[v];

	tags[v] = (uint32_t)(line >> l1->set_shift) << 1 | (uint32_t)dirty;
	cache_rank_use(rk, l1->ways, v, l1->lane_in);
	if (old != CACHE_TAG_INVALID && (old & 1)) {
		/* evicted() of a dirty L1D line: marked in the L2, or put in */
		uint64_t victim = (uint64_t)(old >> 1) << l1->set_shift | set;
		struct cache_level *l2 = &m->cpu[0].lv[CACHE_L2];
		if (!l2->present)
			evicted(m, 0, CACHE_L1D, victim << 1 | 1);
		else if (!level_mark(l2, victim, 1))
			insert_into(m, 0, CACHE_L2, victim << 1 | 1);
	}
}

/* The slow path of an access: L1D missed.  Returns the latency.  Kept
 * out of the L1D-hit path of its callers (no spills of the registers the
 * miss path needs): with do_load()'s one-line case, 286 -> 281 Ir per
 * access (callgrind, cache_bench() of 2 M).  Inline in the fast paths'
 * out-of-line parts, a call elsewhere (access_miss()). */
static inline __attribute__((always_inline)) uint32_t
access_miss_in(struct cache_model *m, uint32_t cpu, uint64_t line, uint64_t dirty)
{
	struct cache_cpu *c = &m->cpu[cpu];
	struct cache_level *l2 = &c->lv[CACHE_L2];
	uint32_t lat;

	if (l2->present && level_touch(l2, line, 0)) {
		l2->hits++;
		lat = l2->latency;
	} else {
		if (l2->present) {
			l2->misses++;
			l2->wmisses += dirty;
			/* the L2's victim, if dirty, will be marked in (or put
			 * into) its LLC set: start fetching that set now, while
			 * this line's LLC set is searched */
			if (m->llc.present) {
				uint64_t v = lru_victim(l2, line);
				if (v != CACHE_INVALID && (v & 1))
					level_prefetch(&m->llc, v >> 1);
			}
		}
		if (m->llc.present && level_touch(&m->llc, line, 0)) {
			m->llc.hits++;
			c->llc_hits++;
			lat = m->llc.latency;
		} else {
			if (m->llc.present) {
				uint64_t v = lru_victim(&m->llc, line);
				/* a dirty victim leaves the hierarchy: its record
				 * and its media line are fetched in parallel,
				 * not one after the other */
				if (v != CACHE_INVALID && (v & 1)) {
					__builtin_prefetch(&m->rec[rec_hash_of(m, v >> 1)]);
					media_prefetch(m->media, (v >> 1) << m->line_shift);
				}
				m->llc.misses++;
				m->llc.wmisses += dirty;
				c->llc_misses++;
				insert_into(m, cpu, CACHE_LLC, line << 1);
			}
			lat = m->mem_latency;
		}
		if (l2->present)
			insert_into(m, cpu, CACHE_L2, line << 1);
	}
	if (m->fast)
		l1_fill(m, line, dirty);
	else
		insert_into(m, cpu, CACHE_L1D, line << 1 | dirty);
	return lat;
}

/* access_miss_in() as a call, for the general paths (cache_access());
 * the fast paths, access_rest() and store_fast(), have it inline: a
 * frame less per L1D miss, 370.7 -> 362.0 Ir per access of the 512 KiB
 * region, 855 -> 847 of the 64 MiB one (callgrind, 500 K accesses). */
static __attribute__((noinline)) uint32_t access_miss(struct cache_model *m, uint32_t cpu,
						      uint64_t line, uint64_t dirty)
{
	return access_miss_in(m, cpu, line, dirty);
}

/* One access to LINE by CPU: the hot path.  Returns the latency.  LRU's
 * touch is called directly, not through the table (cache_int.h has the
 * measurement). */
static inline uint32_t cache_access(struct cache_model *m, uint32_t cpu,
				    uint64_t line, uint64_t dirty)
{
	struct cache_level *l1 = &m->cpu[cpu].lv[CACHE_L1D];

	if (dirty && m->ncpu > 1)
		invalidate_others(m, cpu, line);
	if (level_touch(l1, line, dirty)) {
		l1->hits++;
		return l1->latency;
	}
	l1->misses++;
	l1->wmisses += dirty;
	return access_miss(m, cpu, line, dirty);
}

/* Take LINE out of every cache (INVALIDATE) or clean it everywhere;
 * return whether some copy was dirty. */
static bool line_purge(struct cache_model *m, uint64_t line, bool invalidate)
{
	bool dirty = false;

	for (uint32_t c = 0; c < m->ncpu; c++)
		for (int l = CACHE_L1D; l <= CACHE_L2; l++) {
			struct cache_level *lv = &m->cpu[c].lv[l];
			if (!lv->present)
				continue;
			if (invalidate) {
				uint64_t w = level_remove(lv, line);
				dirty |= w != CACHE_INVALID && (w & 1);
			} else {
				dirty |= level_clean(lv, line);
			}
		}
	if (m->llc.present) {
		if (invalidate) {
			uint64_t w = level_remove(&m->llc, line);
			dirty |= w != CACHE_INVALID && (w & 1);
		} else {
			dirty |= level_clean(&m->llc, line);
		}
	}
	return dirty;
}

/* ---------------------------------------------------------------------
 * Fences and pending flushes (C5, C6, C11)
 * ------------------------------------------------------------------- */

static void pend_push(struct cache_model *m, uint32_t cpu, enum cache_pend_kind k,
		      uint64_t line, uint64_t seq, uint8_t chunk)
{
	struct cache_cpu *c = &m->cpu[cpu];

	if (c->npend && c->pend[c->npend - 1].kind == k &&
	    c->pend[c->npend - 1].line == line && k == CACHE_PEND_NT)
		return;			/* one NT entry per run of pieces */
	if (c->npend == c->pend_cap) {
		size_t ncap = c->pend_cap ? c->pend_cap * 2 : 16;
		struct cache_pend *np = realloc(c->pend, ncap * sizeof(*np));
		if (!np)
			abort();
		c->pend = np;
		c->pend_cap = ncap;
	}
	c->pend[c->npend++] = (struct cache_pend){ .line = line, .seq = seq, .kind = k,
						   .chunk = chunk };
}

/* C6: complete CPU's pending flushes, pcommits and NT stores.  Returns the
 * cycles the fence waits for outstanding write-backs. */
static uint64_t fence(struct cache_model *m, uint32_t cpu)
{
	struct cache_cpu *c = &m->cpu[cpu];
	uint64_t stall = 0;

	for (size_t i = 0; i < c->npend; i++) {
		const struct cache_pend *p = &c->pend[i];
		struct cache_rec *r = rec_find(m, p->line);
		uint32_t k;

		if (!r)
			continue;
		switch (p->kind) {
		case CACHE_PEND_COMMIT: {	/* C11 */
			/* through the entry that was the WPQ's newest at the
			 * pcommit, if it is still volatile: entries only
			 * ever leave as a prefix and join at the end */
			for (k = r->nwr; k; k--)
				if (r->wr[k - 1].seq == p->seq && r->wr[k - 1].chunk0 == p->chunk)
					break;
			rec_persist_prefix(m, r, k);
			break;
		}
		case CACHE_PEND_FLUSH:		/* C5, C6 */
			if (m->nohist) {
				nh_persist(m, r, nh_count_before(r, p->seq), false);
				break;
			}
			k = rec_count_before(r, p->seq);
			if (m->machine == SIM_MACHINE_PCOMMIT) {
				if (k > r->nwpq) {
					r->nwpq = k;
					cache_rec_changed(m, r);
				}
			} else {
				rec_persist_prefix(m, r, k);
			}
			break;
		case CACHE_PEND_NT: {
			/* C8: in each chunk, up to this CPU's last piece there
			 * (with the older pieces of other CPUs before it, a
			 * chunk's pieces leaving in order); another CPU's
			 * pieces in other chunks stay (C6) */
			uint32_t lim[CACHE_MAX_LINE / CACHE_CHUNK] = { 0 };
			uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK] = { 0 };
			for (uint32_t j = 0; j < r->nnt; j++) {
				uint32_t ch = r->nt[j].chunk0;
				cnt[ch]++;
				if (r->nt[j].cpu == cpu)
					lim[ch] = cnt[ch];
			}
			rec_drain_nt_chunks(m, r, lim);
			break;
		}
		default:
			assert(0);
		}
		rec_put(m, r);
	}
	c->npend = 0;
	if (c->busy_until > now(m))
		stall = c->busy_until - now(m);
	m->st.fence_stall += stall;
	return stall;
}

/* ---------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------- */

/* trace_payload_read(), with val= (the common case) inline.  On a
 * little-endian host the value's bytes are its memory image: one move.
 * Measured (callgrind, cache_bench 2M): the byte loop was 60 Ir per store;
 * the move is 3. */
static inline void payload_read(const struct trace_payload *p, uint64_t off,
				uint8_t *dst, uint32_t len)
{
	if (p->kind == TRACE_PAYLOAD_VAL) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* a store of 1, 2, 4 or 8 bytes (the trace reader checked
		 * that the value fits): its first LEN bytes (the byte loop
		 * was ~20 Ir per store of 1-4 bytes, callgrind, `powercut
		 * run` of a 1M-event gen_trace trace) */
		if (off == 0) {
			switch (len) {
			case 8: memcpy(dst, &p->arg, 8); return;
			case 4: memcpy(dst, &p->arg, 4); return;
			case 2: memcpy(dst, &p->arg, 2); return;
			case 1: dst[0] = (uint8_t)p->arg; return;
			}
		}
#endif
		for (uint32_t i = 0; i < len; i++)
			dst[i] = (uint8_t)(p->arg >> 8 * (off + i));
		return;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (p->kind == TRACE_PAYLOAD_RAND && len == 8 && off % 8 == 0) {
		/* word k of rand:SEED is splitmix64's output k (trace.h):
		 * an ntstore's chunk, without the call (8 per line) */
		uint64_t x = p->arg + off / 8 * 0x9e3779b97f4a7c15ULL;
		uint64_t z = trace_splitmix64(&x);
		memcpy(dst, &z, 8);
		return;
	}
#endif
	trace_payload_read(p, off, dst, len);
}

/* Before appending to R: enforce C15.  R may be written back. */
static struct cache_rec *history_room(struct cache_model *m, struct cache_rec *r,
				      uint32_t nchunk)
{
	if (r->nwr < m->history_max && m->history_total < m->history_total_max &&
	    (uint64_t)r->hchoices + 1 + tears_of(nchunk) <= CACHE_MAX_HCHOICES)
		return r;
	m->st.capacity_writebacks++;
	rec_persist_prefix(m, r, r->nwr);	/* WPQ part too: C15 */
	step(m, "line written back (history limit)");
	return r;
}

/* W, a history entry or NT piece: a store by EV numbered SEQ to bytes
 * [off, off+len) of the line (its bytes are the caller's business). */
static inline void wr_set(struct cache_wr *w, const struct trace_event *ev, uint64_t seq,
			  uint32_t off, uint32_t len)
{
	uint32_t c0 = off / CACHE_CHUNK;

	w->seq = seq;
	w->tline = ev->line;
	w->ntd = 0;
	w->nte = 0;
	w->cpu = (uint8_t)ev->cpu;
	w->off = (uint8_t)off;
	w->len = (uint8_t)len;
	w->chunk0 = (uint8_t)c0;
	w->nchunk = (uint8_t)((off + len - 1) / CACHE_CHUNK - c0 + 1);
}

/* W, R's newest history entry, whose bytes are in place: the rest of a
 * store by EV numbered SEQ to bytes [off, off+len) of the line, and its
 * counts (hchoices, C15's total). */
static inline void hist_fill(struct cache_model *m, struct cache_rec *r, struct cache_wr *w,
			     const struct trace_event *ev, uint64_t seq, uint32_t off,
			     uint32_t len)
{
	wr_set(w, ev, seq, off, len);
	r->hchoices += 1 + tears_of(w->nchunk);
	m->history_total++;
	cache_rec_changed(m, r);
}

/* store_piece()'s common case inline: a piece of at most 8 bytes
 * appended to the history of R, a record with no NT pieces and room
 * under C15's limits, on a machine that keeps histories of cached stores
 * (not eadr, C12; not the no-history mode).  Returns false, having done
 * nothing, when the piece is not such a case.  Measured with
 * store_fast(): cache_event() has the figure. */
static inline bool hist_append(struct cache_model *m, struct cache_rec *r,
			       const struct trace_event *ev, uint64_t seq,
			       uint32_t off, uint32_t len)
{
	uint32_t nchunk = (off + len - 1) / CACHE_CHUNK - off / CACHE_CHUNK + 1;
	uint32_t hc = 1 + tears_of(nchunk);
	struct cache_wr *w;

	if (!r || r->nnt || len > CACHE_CHUNK || m->nohist || m->machine == SIM_MACHINE_EADR ||
	    r->nwr >= m->history_max || m->history_total >= m->history_total_max ||
	    (uint64_t)r->hchoices + hc > CACHE_MAX_HCHOICES)
		return false;
	w = hist_push(r);
	payload_read(&ev->data, 0, w->b.in, len);
	hist_fill(m, r, w, ev, seq, off, len);
	return true;
}

/* A cached store's part in one line (C2, C7, C9, C12).  R is LINE's
 * record or NULL (do_store() looked it up). */
static void store_piece(struct cache_model *m, const struct trace_event *ev,
			uint64_t seq, uint64_t line, uint32_t off, uint32_t len,
			uint64_t payload_off, struct cache_rec *r)
{
	struct cache_wr *w;
	uint32_t c0 = off / CACHE_CHUNK, nchunk = (off + len - 1) / CACHE_CHUNK - c0 + 1;

	if (r && r->nnt) {			/* C9: NT pieces go first */
		rec_drain_nt(m, r, r->nnt);
		rec_put(m, r);
		step(m, "WC buffer drained (store to its line)");
		r = rec_find(m, line);
	}
	if (m->machine == SIM_MACHINE_EADR) {	/* C12 */
		uint8_t buf[CACHE_MAX_LINE];
		trace_payload_read(&ev->data, payload_off, buf, len);
		media_write(m->media, (line << m->line_shift) + off, buf, len);
		return;
	}
	if (!r)
		r = rec_get(m, line);
	r = history_room(m, r, nchunk);
	if (m->nohist) {		/* the newest bytes only */
		payload_read(&ev->data, payload_off, r->u.img + off, len);
		r->h.mask |= (len >= 64 ? ~0ull : (1ull << len) - 1) << off;
		r->nwr++;
		r->hchoices += 1 + tears_of(nchunk);
		m->history_total++;
		cache_rec_changed(m, r);
		return;
	}
	if (len <= CACHE_CHUNK) {
		w = hist_push(r);
		payload_read(&ev->data, payload_off, w->b.in, len);
	} else {
		/* the bytes before the entry: rec_bytes() may compact the
		 * log, moving the bytes of every entry in wr[] */
		uint8_t *dst = rec_bytes(r, len);
		payload_read(&ev->data, payload_off, dst, len);
		w = hist_push(r);
		w->b.at = (uint32_t)(dst - r->x->bytes);
	}
	hist_fill(m, r, w, ev, seq, off, len);
}

/* store and rmw: access each line, then record its part.  A store across
 * lines first drains the NT pieces of every line it touches (C9): a drain
 * is a step (C14), and one between two parts would be a crash point
 * inside the store (on eadr, its first part durable and not the next). */
static uint64_t do_store(struct cache_model *m, const struct trace_event *ev)
{
	uint64_t seq = m->seq++, cost = 0, done = 0;
	uint64_t addr = ev->addr, end = ev->addr + ev->len;
	uint64_t first = addr >> m->line_shift, last = (end - 1) >> m->line_shift;

	for (uint64_t line = first; first < last && line <= last; line++) {
		struct cache_rec *r = rec_find(m, line);
		if (r && r->nnt) {
			rec_drain_nt(m, r, r->nnt);
			rec_put(m, r);
			step(m, "WC buffer drained (store to its line)");
		}
	}
	while (addr < end) {
		uint64_t line = addr >> m->line_shift;
		uint64_t lend = (line + 1) << m->line_shift;
		uint32_t len = (uint32_t)((end < lend ? end : lend) - addr);
		struct cache_rec *r;

		/* The record's home slot is where the lookup will miss;
		 * fetch it while the caches are searched (with the old hash
		 * slot: A/B median 10.4 -> 11.2 M accesses/s). */
		__builtin_prefetch(&m->rec[rec_hash_of(m, line)]);
		cost += cache_access(m, ev->cpu, line, 1);
		r = rec_find(m, line);
		store_piece(m, ev, seq, line, (uint32_t)(addr & (m->line_size - 1)), len, done, r);
		done += len;
		addr += len;
	}
	return cost;
}

static inline uint64_t do_load(struct cache_model *m, const struct trace_event *ev)
{
	uint64_t first = ev->addr >> m->line_shift;
	uint64_t last = (ev->addr + ev->len - 1) >> m->line_shift;
	uint64_t cost = 0;

	if (first == last)			/* the common case: one line */
		return cache_access(m, ev->cpu, first, 0);
	for (uint64_t line = first; line <= last; line++)
		cost += cache_access(m, ev->cpu, line, 0);
	return cost;
}

/* ntstore: per line, C9's write-back of the cached stores, then one piece
 * per 8-byte chunk (C8). */
static uint64_t do_ntstore(struct cache_model *m, const struct trace_event *ev)
{
	uint64_t seq = m->seq++, cost = 0, done = 0;
	uint64_t addr = ev->addr, end = ev->addr + ev->len;

	while (addr < end) {
		uint64_t line = addr >> m->line_shift;
		uint64_t lend = (line + 1) << m->line_shift;
		uint64_t pend = end < lend ? end : lend;
		struct cache_rec *r;
		bool dirty = line_purge(m, line, true);	/* evicted: C9 */

		if (dirty) {
			m->st.writebacks++;
			wpq_accept(m, now(m));
		}
		r = rec_get(m, line);
		if (r->nwr > r->nwpq && (dirty || m->machine != SIM_MACHINE_EADR)) {
			/* C9: cached stores (dirty, or flushed but unfenced)
			 * persist before the NT store */
			if (rec_write_back(m, r))
				step(m, "line written back (ntstore to it)");
		}
		/* The choices of the line's NT pieces, kept up to date piece
		 * by piece (a product over 16 chunks per piece was 780 Ir per
		 * ntstore of a line, callgrind, `powercut run` of a 1M-event
		 * gen_trace trace).  On a pcommit machine the product over
		 * the whole NT segment (the drained run at the end of the
		 * history too) bounds its choices, the down-sets
		 * (cache_crash.c), counted exactly only past the limit. */
		bool pc = m->machine == SIM_MACHINE_PCOMMIT;
		uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK];
		uint32_t j0 = r->nwr;
		uint64_t choices;
		if (pc) {
			struct cache_rext *x = rec_ext(r);
			if (!x->nnthist && !r->nnt)
				x->ntepoch = 0;		/* a new segment */
			else
				j0 = cache_nt_run_start(r);
			choices = nt_seg_count(r, j0, cnt);
		} else {
			choices = nt_count(r, cnt);
		}
		while (addr < pend) {
			uint64_t cend = (addr | (CACHE_CHUNK - 1)) + 1;
			uint32_t off = (uint32_t)(addr & (m->line_size - 1));
			uint32_t len = (uint32_t)((pend < cend ? pend : cend) - addr);
			uint32_t c = off / CACHE_CHUNK;
			struct cache_wr *w;

			if (choices / (cnt[c] + 1) * (cnt[c] + 2) > CACHE_MAX_NTCHOICES &&
			    (!pc || cache_nt_downsets(m, r, j0, r->nwr, true, (int)c,
						      r->x->ntepoch) > CACHE_MAX_NTCHOICES)) {
				m->st.capacity_writebacks++;	/* C15 */
				rec_drain_nt(m, r, r->nnt);
				if (pc) {
					/* a drain leaves the down-sets as
					 * they were: the WPQ writes the
					 * line out (it may, C11) */
					rec_persist_prefix(m, r, r->nwr);
					step(m, "WC buffer and WPQ written (limit)");
					j0 = r->nwr;
				} else {
					step(m, "WC buffer drained (limit)");
				}
				choices = nt_count(r, cnt);
			}
			choices = choices / (cnt[c] + 1) * (cnt[c] + 2);
			if (choices > NT_BOUND_MAX)
				choices = NT_BOUND_MAX;
			cnt[c]++;
			w = wr_push(&r->nt, &r->nnt, &r->nt_cap);
			wr_set(w, ev, seq, off, len);		/* chunk c, nchunk 1 */
			if (pc)
				w->nte = r->x->ntepoch;
			payload_read(&ev->data, done, w->b.in, len);	/* len <= 8 */
			done += len;
			addr += len;
		}
		cache_rec_changed(m, r);
		pend_push(m, ev->cpu, CACHE_PEND_NT, line, 0, 0);
		{
			uint64_t t = wpq_accept(m, now(m) + cost);
			struct cache_cpu *c = &m->cpu[ev->cpu];
			if (t > c->busy_until)
				c->busy_until = t;
		}
		cost += m->wc_latency;
		rec_put(m, r);
	}
	return cost;
}

/*
 * clflush (C4), clflushopt and clwb (C5).  A line that is clean in every
 * cache may still have cached stores that are volatile: those an unfenced
 * clflushopt or clwb (of any CPU) took out of the caches, which may not
 * have been written back yet.  They are the line's stores older than this
 * flush all the same, so a clflush writes them back and a clflushopt or
 * clwb records itself for its own CPU's fence (Px86: a flush persists
 * every earlier write to its line, whoever flushed it before).
 */
static uint64_t do_flush(struct cache_model *m, const struct trace_event *ev)
{
	uint64_t line = ev->addr >> m->line_shift;
	bool keep = ev->op == TRACE_CLWB;
	bool dirty = line_purge(m, line, !keep);
	uint64_t cost = m->flush_latency, t = now(m);
	struct cache_rec *r = rec_find(m, line);

	if (!dirty && !(r && r->nwr > r->nwpq))
		return cost;
	if (dirty) {
		m->st.writebacks++;
		t = wpq_accept(m, now(m) + cost);
	}
	if (ev->op == TRACE_CLFLUSH) {
		if (dirty)
			cost = t - now(m);	/* C4: waits for acceptance */
		if (r) {
			rec_write_back(m, r);
			rec_put(m, r);
		}
		return cost;
	}
	if (m->machine != SIM_MACHINE_EADR) {
		pend_push(m, ev->cpu, CACHE_PEND_FLUSH, line, m->seq, 0);
		if (m->nohist && r)
			nh_close(r, m->seq);
	}
	if (t > m->cpu[ev->cpu].busy_until)
		m->cpu[ev->cpu].busy_until = t;
	return cost;
}

/* The word index of the (I % ways)-th most recent way of I's set, in an
 * LRU level.  O(ways). */
static uint64_t level_by_rank(const struct cache_level *lv, uint64_t i)
{
	uint64_t base = i - i % lv->ways;

	for (uint32_t j = 0; j < lv->ways; j++)
		if (lv->rank[base + j] == i % lv->ways)
			return base + j;
	assert(0);			/* I6: the ranks are a permutation */
	return i;
}

/* C10: serializing, then every dirty line of every cache out. */
static uint64_t do_wbinvd(struct cache_model *m, uint32_t cpu)
{
	uint64_t cost = m->wbinvd_latency + fence(m, cpu), last = now(m);

	for (uint32_t c = 0; c <= m->ncpu; c++)
		for (int l = CACHE_L1D; l < CACHE_NLEVELS; l++) {
			struct cache_level *lv;
			uint64_t n;
			if (c == m->ncpu ? l != CACHE_LLC : l == CACHE_LLC)
				continue;
			lv = c == m->ncpu ? &m->llc : &m->cpu[c].lv[l];
			if (!lv->present)
				continue;
			n = (lv->set_mask + 1) * lv->ways;
			for (uint64_t i = 0; i < n; i++) {
				/* an LRU set in recency order (the order its
				 * words had when they moved, kept so that the
				 * media's write order stays as it was) */
				uint64_t k = lv->rank ? level_by_rank(lv, i) : i;
				uint64_t w = cache_word_at(lv, k / lv->ways, (uint32_t)(k % lv->ways));
				if (w != CACHE_INVALID && (w & 1)) {
					struct cache_rec *r = rec_find(m, w >> 1);
					m->st.writebacks++;
					last = wpq_accept(m, now(m));
					if (r) {
						rec_write_back(m, r);
						rec_put(m, r);
					}
				}
			}
			/* every way free; the ranks stay a permutation (I6) */
			if (lv->tag)
				memset(lv->tag, 0xff, n * sizeof(*lv->tag));
			else
				memset(lv->word, 0xff, n * sizeof(*lv->word));
			if (lv->plru)
				memset(lv->plru, 0, (lv->set_mask + 1) * sizeof(*lv->plru));
		}
	/*
	 * The lines that are in no cache but still have volatile cached
	 * stores: another CPU's unfenced clflushopt took them out (do_flush).
	 * Every line's stores so far leave with wbinvd.  Written back in a
	 * first pass and forgotten in a second: rec_put() shifts records
	 * back into the slot it frees, so that slot is looked at again.
	 */
	for (uint32_t i = 0; i < m->nrec; i++)
		if (m->rec[i].nline && m->rec[i].nwr > m->rec[i].nwpq)
			rec_write_back(m, &m->rec[i]);
	for (uint32_t i = 0; i < m->nrec; i++)
		while (m->rec[i].nline && !m->rec[i].nwr && !m->rec[i].nnt)
			rec_put(m, &m->rec[i]);
	return cost + (last > now(m) ? last - now(m) : 0);
}

/* C11 */
static uint64_t do_pcommit(struct cache_model *m, uint32_t cpu)
{
	if (m->machine != SIM_MACHINE_PCOMMIT)
		return 0;			/* a no-op elsewhere */
	for (uint32_t i = 0; i < m->nrec; i++) {
		struct cache_rec *r = &m->rec[i];
		if (r->nwpq)
			pend_push(m, cpu, CACHE_PEND_COMMIT, cache_rec_line(r),
				  r->wr[r->nwpq - 1].seq, r->wr[r->nwpq - 1].chunk0);
	}
	if (m->wpq_drain_done > m->cpu[cpu].busy_until)
		m->cpu[cpu].busy_until = m->wpq_drain_done;
	return m->pcommit_latency;
}

static int bad(struct cache_model *m, const char *fmt, uint64_t a, uint64_t b)
{
	snprintf(m->env->err->msg, sizeof(m->env->err->msg), fmt, a, b);
	return -1;
}

/* Every event but the fast path's: the edge checks and the switch. */
static __attribute__((noinline)) int cache_event_slow(struct cache_model *m,
						      const struct trace_event *ev)
{
	uint64_t cost = 0;

	/* CPU ops are contiguous in enum trace_op: no call into trace.c */
	if (ev->op >= TRACE_STORE && ev->op <= TRACE_PCOMMIT) {
		/* validate once, at the edge (STYLE 6) */
		uint64_t len = (ev->fields & TRACE_F_LEN) ? ev->len : 1;
		if (ev->cpu >= m->ncpu)
			return bad(m, "cpu=%" PRIu64 " but the machine has %" PRIu64
				   " CPUs (set cpus=N)", ev->cpu, m->ncpu);
		if ((ev->fields & TRACE_F_ADDR) &&
		    (ev->addr >= m->pmem_size || len > m->pmem_size - ev->addr))
			return bad(m, "address 0x%" PRIx64 " is outside the pmem namespace "
				   "(pmem.size=%" PRIu64 ")", ev->addr, m->pmem_size);
		if ((ev->fields & TRACE_F_LEN) && ev->len == 0)
			return bad(m, "len=%" PRIu64 " at 0x%" PRIx64 ": nothing to access",
				   0, ev->addr);
	}
	switch (ev->op) {
	case TRACE_STORE:
		m->st.stores++;
		cost = do_store(m, ev);
		break;
	case TRACE_RMW:				/* C16 */
		m->st.rmws++;
		cost = fence(m, ev->cpu) + m->rmw_latency;
		cost += do_store(m, ev);
		break;
	case TRACE_NTSTORE:
		m->st.ntstores++;
		cost = do_ntstore(m, ev);
		break;
	case TRACE_LOAD:
		m->st.loads++;
		cost = do_load(m, ev);
		break;
	case TRACE_CLFLUSH:
		m->st.clflush++;
		cost = do_flush(m, ev);
		break;
	case TRACE_CLFLUSHOPT:
		m->st.clflushopt++;
		cost = do_flush(m, ev);
		break;
	case TRACE_CLWB:
		m->st.clwb++;
		cost = do_flush(m, ev);
		break;
	case TRACE_SFENCE:
		m->st.sfence++;
		cost = m->sfence_latency + fence(m, ev->cpu);
		break;
	case TRACE_MFENCE:
		m->st.mfence++;
		cost = m->mfence_latency + fence(m, ev->cpu);
		break;
	case TRACE_WBINVD:
		m->st.wbinvd++;
		cost = do_wbinvd(m, ev->cpu);
		break;
	case TRACE_PCOMMIT:
		m->st.pcommit++;
		cost = do_pcommit(m, ev->cpu);
		break;
	case TRACE_THINK:
		cost = ev->cycles;
		break;
	case TRACE_MARK:
		break;
	default:
		snprintf(m->env->err->msg, sizeof(m->env->err->msg),
			 "%s is not a CPU event", trace_op_name(ev->op));
		return -1;
	}
	m->clock->now += cost;
	m->st.cycles += cost;
	return 0;
}

/* A store's part in its one line, after the line's access: the record
 * side of do_store() for a store within one line (nearly every store). */
static inline void store_one_line(struct cache_model *m, const struct trace_event *ev,
				  uint64_t line)
{
	uint64_t seq = m->seq++;
	uint32_t off = (uint32_t)(ev->addr & (m->line_size - 1)), len = (uint32_t)ev->len;
	struct cache_rec *r = rec_find(m, line);

	if (!hist_append(m, r, ev, seq, off, len))
		store_piece(m, ev, seq, line, off, len, 0, r);
}

/* The rest of a one-line load or store whose L1D access is done (COST
 * its latency, MISSED whether the L1D missed): the miss path, a store's
 * record, the counts and the clock. */
static __attribute__((noinline)) int access_rest(struct cache_model *m,
						 const struct trace_event *ev,
						 uint64_t line, uint64_t dirty,
						 uint64_t cost, bool missed)
{
	if (missed) {
		struct cache_level *l1 = &m->cpu[ev->cpu].lv[CACHE_L1D];
		l1->misses++;
		l1->wmisses += dirty;
		cost = access_miss_in(m, (uint32_t)ev->cpu, line, dirty);
	}
	if (dirty) {
		m->st.stores++;
		store_one_line(m, ev, line);
	} else {
		m->st.loads++;
	}
	m->clock->now += cost;
	m->st.cycles += cost;
	return 0;
}

/* Every load and store the fast path does not finish itself. */
static __attribute__((noinline)) int access_full(struct cache_model *m,
						 const struct trace_event *ev)
{
	const uint32_t need = TRACE_F_ADDR | TRACE_F_LEN;
	uint64_t cost, line, dirty;

	if (!((ev->op == TRACE_LOAD || ev->op == TRACE_STORE) &&
	      (ev->fields & need) == need && ev->cpu < m->ncpu &&
	      ev->addr < m->pmem_size && ev->len - 1 < m->pmem_size - ev->addr))
		return cache_event_slow(m, ev);
	dirty = ev->op == TRACE_STORE;
	line = ev->addr >> m->line_shift;
	if (((ev->addr + ev->len - 1) >> m->line_shift) != line) {
		if (dirty) {
			m->st.stores++;
			cost = do_store(m, ev);
		} else {
			m->st.loads++;
			cost = do_load(m, ev);
		}
		m->clock->now += cost;
		m->st.cycles += cost;
		return 0;
	}
	if (dirty) {
		/* as in do_store(): fetch the record's home slot while the
		 * caches are searched */
		__builtin_prefetch(&m->rec[rec_hash_of(m, line)]);
		if (m->ncpu > 1)
			invalidate_others(m, ev->cpu, line);
	}
	{
		struct cache_level *l1 = &m->cpu[ev->cpu].lv[CACHE_L1D];
		if (level_touch(l1, line, dirty)) {
			l1->hits++;
			return access_rest(m, ev, line, dirty, l1->latency, false);
		}
	}
	return access_rest(m, ev, line, dirty, 0, true);
}

/* A store by the fast path (cache_event()): the rest of its L1D access
 * (WAY: the way that holds LINE, or -1), the miss path, its record and
 * the counts.  The same steps in the same order as access_rest() after
 * level_touch(), with the store's record side in store_one_line(). */
static __attribute__((noinline)) int store_fast(struct cache_model *m,
						const struct trace_event *ev,
						uint64_t line, int way)
{
	struct cache_level *l1 = &m->cpu[0].lv[CACHE_L1D];
	uint64_t cost;

	if (way >= 0) {
		uint64_t set = line & l1->set_mask;
		l1->tag[set * l1->ways + (uint32_t)way] |= 1;
		cache_rank_use(l1->rank + set * l1->ways, l1->ways, (uint32_t)way, l1->lane_in);
		l1->hits++;
		cost = l1->latency;
	} else {
		/* as in do_store(): fetch the record's home slot while the
		 * levels below are searched (after an L1D hit the lookup
		 * comes too soon for a prefetch to help: 6 Ir a store) */
		__builtin_prefetch(&m->rec[rec_hash_of(m, line)]);
		l1->misses++;
		l1->wmisses++;
		cost = access_miss_in(m, 0, line, 1);
	}
	m->st.stores++;
	store_one_line(m, ev, line);
	m->clock->now += cost;
	m->st.cycles += cost;
	return 0;
}

/*
 * The fast path: a load or a store within one line, on a one-CPU machine
 * whose L1D is LRU with 32-bit tags (m->fast, decided when the model is
 * made), in a line wholly inside pmem (m->fast_end), that passes the edge
 * checks of cache_event_slow() (one compound test: len - 1 wraps for
 * len=0), does its L1D search right here; a load that hits is done here
 * too, with nothing kept in callee-saved registers (no prologue).  A
 * store goes on in store_fast(), a load that missed in access_rest();
 * everything else (wider accesses, more CPUs, other policies and
 * layouts, other events, bad input) in access_full() and
 * cache_event_slow().  Measured (callgrind, cache_bench() of 2 M): the
 * checks, the switch and the prologue saving registers for the inlined
 * rare cases were ~50 Ir per event; the prologue this path still had, 18
 * Ir per access (docs/performance.md, helper-27).  With the tests that
 * m->fast and m->fast_end fold (one CPU, LRU, compact; the line inside
 * pmem), the store's part moved to store_fast() and its common case to
 * hist_append() (no store_piece() frame): the 16 KiB region 197.4 ->
 * 165.3 Ir per access (callgrind, 1 M accesses; helper-29).
 */
static int cache_event(void *self, const struct trace_event *ev)
{
	struct cache_model *m = self;
	const uint32_t need = TRACE_F_ADDR | TRACE_F_LEN;
	struct cache_level *l1 = &m->cpu[0].lv[CACHE_L1D];
	uint64_t addr = ev->addr, off = addr & (m->line_size - 1);
	uint64_t line, set, lat;
	int i;

	if (__builtin_expect(!(m->fast && (ev->op == TRACE_LOAD || ev->op == TRACE_STORE) &&
			       (ev->fields & need) == need && ev->cpu == 0 &&
			       addr < m->fast_end && ev->len - 1 < m->line_size - off), 0))
		return access_full(m, ev);
	line = addr >> m->line_shift;
	set = line & l1->set_mask;
	i = cache_set_search(l1->tag + set * l1->ways, true, l1->ways,
			     (uint32_t)(line >> l1->set_shift) << 1);
	if (ev->op == TRACE_STORE)
		return store_fast(m, ev, line, i);
	if (i < 0)
		return access_rest(m, ev, line, 0, 0, true);
	cache_rank_use(l1->rank + set * l1->ways, l1->ways, (uint32_t)i, l1->lane_in);
	l1->hits++;
	m->st.loads++;
	lat = l1->latency;
	m->clock->now += lat;
	m->st.cycles += lat;
	return 0;
}

/* ---------------------------------------------------------------------
 * Reading the newest contents (I1)
 * ------------------------------------------------------------------- */

/* Lay R's whole history, then its NT pieces, over BUF (one line),
 * marking TOUCHED bytes. */
void cache_rec_overlay(const struct cache_model *m, const struct cache_rec *r,
		       uint8_t *buf, uint8_t *touched)
{
	if (m->nohist) {
		for (uint32_t i = 0; i <= (r->x ? r->x->nseg : 0); i++) {
			bool open = !r->x || i == r->x->nseg;
			uint64_t mk = open ? r->h.mask : r->x->seg[i].mask;
			const uint8_t *img = open ? r->u.img : r->x->seg[i].img;
			for (uint32_t b = 0; b < 64; b++)
				if (mk >> b & 1) {
					buf[b] = img[b];
					touched[b] = 1;
				}
		}
	}
	for (uint32_t i = 0; i < r->nwr && !m->nohist; i++)
		cache_copy_piece(buf + r->wr[i].off, touched + r->wr[i].off,
				 cache_wr_data(r, &r->wr[i]), r->wr[i].len);
	for (uint32_t i = 0; i < r->nnt; i++)
		cache_copy_piece(buf + r->nt[i].off, touched + r->nt[i].off,
				 r->nt[i].b.in, r->nt[i].len);
}

void cache_read_current(void *self, uint64_t addr, void *buf, size_t n)
{
	struct cache_model *m = self;
	uint8_t *out = buf;

	assert(addr <= m->pmem_size && n <= m->pmem_size - addr);
	media_read(m->media, addr, buf, n);
	if (!n)
		return;
	for (uint64_t line = addr >> m->line_shift;
	     line <= (addr + n - 1) >> m->line_shift; line++) {
		struct cache_rec *r = rec_find(m, line);
		uint8_t lb[CACHE_MAX_LINE], touched[CACHE_MAX_LINE] = { 0 };
		uint64_t base = line << m->line_shift;

		if (!r)
			continue;
		cache_rec_overlay(m, r, lb, touched);
		for (uint32_t i = 0; i < m->line_size; i++)
			if (touched[i] && base + i >= addr && base + i < addr + n)
				out[base + i - addr] = lb[i];
	}
}

uint64_t cache_next_store(const void *self)
{
	const struct cache_model *m = self;

	return m->seq;
}

bool cache_volatile_upto(void *self, uint64_t addr, uint64_t len, uint64_t seq)
{
	struct cache_model *m = self;

	if (!len)
		return false;
	for (uint64_t line = addr >> m->line_shift;
	     line <= (addr + len - 1) >> m->line_shift; line++) {
		const struct cache_rec *r = rec_find(m, line);
		if (!r)
			continue;		/* nothing volatile (I2) */
		/* the oldest of each kind: its first WPQ or cached entry,
		 * its first NT piece (I3: program order) -- or, if the
		 * history begins with a run of drained NT pieces (drain
		 * order, I3), the oldest of the run */
		if (r->nwr && (m->nohist || r->wr[0].seq <= seq))
			return true;
		for (uint32_t j = 0; j < r->nwr && r->wr[j].ntd; j++)
			if (r->wr[j].seq <= seq)
				return true;
		if (r->nnt && r->nt[0].seq <= seq)
			return true;
	}
	return false;
}

uint64_t cache_durable_gen(const void *self)
{
	const struct cache_model *m = self;

	return m->durable_gen;
}

/* ---------------------------------------------------------------------
 * Making, reporting, destroying
 * ------------------------------------------------------------------- */

static const char *const level_name[CACHE_NLEVELS] = { "l1d", "l2", "llc" };
/* the parameters a level's geometry error is about (sim_err.blame) */
static const char *const level_size[CACHE_NLEVELS] = { "l1d.size", "l2.size", "llc.size" };
static const char *const level_ways[CACHE_NLEVELS] = { "l1d.ways", "l2.ways", "llc.ways" };

static int geometry_error(struct cache_model *m, int id, const char *other)
{
	const char **b = m->env->err->blame;

	b[0] = level_size[id];
	b[1] = level_ways[id];
	b[2] = other;
	return -1;
}

/* Check one level's geometry (STYLE 6: once, up front). */
static int level_geometry(struct cache_model *m, int id, uint64_t *sets,
			  uint32_t *ways, uint32_t *lat, bool *present)
{
	const struct sim_config *cfg = m->env->cfg;
	char key[32];
	uint64_t size;

	snprintf(key, sizeof(key), "%s.size", level_name[id]);
	size = sim_param(cfg, key);
	snprintf(key, sizeof(key), "%s.ways", level_name[id]);
	*ways = (uint32_t)sim_param(cfg, key);
	snprintf(key, sizeof(key), "%s.latency", level_name[id]);
	*lat = (uint32_t)sim_param(cfg, key);
	*present = size != 0;
	*sets = 0;
	if (!size) {
		if (id == CACHE_L1D) {
			snprintf(m->env->err->msg, sizeof(m->env->err->msg),
				 "l1d.size=0: the L1D cannot be absent");
			return geometry_error(m, id, NULL);
		}
		return 0;
	}
	if (size % ((uint64_t)m->line_size * *ways)) {
		snprintf(m->env->err->msg, sizeof(m->env->err->msg),
			 "%s.size=%" PRIu64 " is not a multiple of cache.line x %s.ways (%" PRIu64 ")",
			 level_name[id], size, level_name[id], (uint64_t)m->line_size * *ways);
		return geometry_error(m, id, "cache.line");
	}
	*sets = size / ((uint64_t)m->line_size * *ways);
	if (*sets & (*sets - 1)) {
		snprintf(m->env->err->msg, sizeof(m->env->err->msg),
			 "%s: %" PRIu64 " sets (size / (line x ways)) is not a power of two",
			 level_name[id], *sets);
		return geometry_error(m, id, "cache.line");
	}
	if (sim_param(cfg, "cache.policy") == CACHE_POLICY_PLRU && (*ways & (*ways - 1))) {
		snprintf(m->env->err->msg, sizeof(m->env->err->msg),
			 "%s.ways=%u: tree-PLRU needs a power of two", level_name[id], *ways);
		return geometry_error(m, id, "cache.policy");
	}
	return 0;
}

/* A level's tag, word or rank array: 64-byte aligned, so that a 16-way
 * set of tags is one host line (of words two: malloc's 16-byte alignment
 * made a 16-way set straddle three host lines half the time), and on
 * huge pages where the kernel allows them (the LLC's 1 MiB of tags, 2 MiB
 * of words, are searched at random).  NULL on out of memory. */
static void *level_array(size_t bytes)
{
	void *p = NULL;

	if (posix_memalign(&p, bytes >= (2u << 20) ? (2u << 20) : 64, bytes))
		return NULL;
#ifdef MADV_HUGEPAGE
	if (bytes >= (2u << 20))
		madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

static int level_init(struct cache_model *m, struct cache_level *lv, int id, uint64_t seed)
{
	uint64_t sets, n;
	enum cache_policy_id pol = (enum cache_policy_id)sim_param(m->env->cfg, "cache.policy");

	memset(lv, 0, sizeof(*lv));
	if (level_geometry(m, id, &sets, &lv->ways, &lv->latency, &lv->present))
		return -1;
	if (!lv->present)
		return 0;
	lv->pol = cache_policy_by_id(pol);
	lv->set_mask = sets - 1;
	lv->rng = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (!lv->rng)
		lv->rng = 1;
	lv->set_shift = (uint32_t)__builtin_ctzll(sets);
	/* I7: compact when the highest line's tag fits (all ones: free) */
	n = sets * lv->ways + CACHE_WORD_PAD;
	if (((m->pmem_size - 1) >> m->line_shift >> lv->set_shift) <= CACHE_TAG_MAX) {
		if ((lv->tag = level_array(n * sizeof(*lv->tag))))
			memset(lv->tag, 0xff, n * sizeof(*lv->tag));
	} else if ((lv->word = level_array(n * sizeof(*lv->word)))) {
		memset(lv->word, 0xff, n * sizeof(*lv->word));
	}
	lv->hint = calloc(sets, 1);
	if (pol == CACHE_POLICY_LRU)
		lv->rank = level_array(sets * lv->ways + CACHE_RANK_PAD);
	if (pol == CACHE_POLICY_PLRU)
		lv->plru = calloc(sets, sizeof(*lv->plru));
	if ((!lv->word && !lv->tag) || !lv->hint || (pol == CACHE_POLICY_LRU && !lv->rank) ||
	    (pol == CACHE_POLICY_PLRU && !lv->plru)) {
		snprintf(m->env->err->msg, sizeof(m->env->err->msg),
			 "%s: out of memory for %" PRIu64 " sets", level_name[id], sets);
		return -1;
	}
	for (uint32_t i = 0; i < sizeof(lv->lane_in); i++)
		lv->lane_in[i] = i < lv->ways ? 0xff : 0;
	if (lv->rank) {			/* I6: any permutation of a free set */
		for (uint64_t i = 0; i < sets * lv->ways; i++)
			lv->rank[i] = (uint8_t)(i % lv->ways);
		memset(lv->rank + sets * lv->ways, 0, CACHE_RANK_PAD);
	}
	return 0;
}

static void level_free(struct cache_level *lv)
{
	free(lv->tag);
	free(lv->word);
	free(lv->hint);
	free(lv->rank);
	free(lv->plru);
}

static void cache_destroy(void *self)
{
	struct cache_model *m = self;

	if (!m)
		return;
	if (m->cpu) {
		for (uint32_t c = 0; c < m->ncpu; c++) {
			level_free(&m->cpu[c].lv[0]);
			level_free(&m->cpu[c].lv[1]);
			free(m->cpu[c].pend);
		}
		free(m->cpu);
	}
	level_free(&m->llc);
	for (uint32_t i = 0; m->rec && i < m->nrec; i++)
		rec_free_spares(m, &m->rec[i]);
	rec_table_free(m->rec, m->nrec);
	cache_view_free(m->view);
	free(m);
}

int cache_model_create(void **self, const struct sim_env *env)
{
	const struct sim_config *cfg = env->cfg;
	struct cache_model *m = calloc(1, sizeof(*m));
	uint64_t seed;

	*self = NULL;
	if (!m) {
		snprintf(env->err->msg, sizeof(env->err->msg), "cache: out of memory");
		return -1;
	}
	m->env = env;
	m->media = env->media;
	m->machine = cfg->machine;
	m->pmem_size = media_size(env->media);
	m->line_size = (uint32_t)sim_param(cfg, "cache.line");
	m->line_shift = (uint32_t)__builtin_ctz(m->line_size);
	m->ncpu = (uint32_t)sim_param(cfg, "cpus");
	m->inclusive = sim_param(cfg, "cache.inclusive") != 0;
	m->mem_latency = (uint32_t)sim_param(cfg, "pmem.read-latency");
	m->wc_latency = (uint32_t)sim_param(cfg, "wc.latency");
	m->flush_latency = (uint32_t)sim_param(cfg, "flush.latency");
	m->sfence_latency = (uint32_t)sim_param(cfg, "sfence.latency");
	m->mfence_latency = (uint32_t)sim_param(cfg, "mfence.latency");
	m->rmw_latency = (uint32_t)sim_param(cfg, "rmw.latency");
	m->wbinvd_latency = (uint32_t)sim_param(cfg, "wbinvd.latency");
	m->pcommit_latency = (uint32_t)sim_param(cfg, "pcommit.latency");
	m->wpq_entries = (uint32_t)sim_param(cfg, "wpq.entries");
	m->wpq_latency = (uint32_t)sim_param(cfg, "wpq.latency");
	m->wpq_drain = (uint32_t)sim_param(cfg, "wpq.drain");
	m->history_max = (uint32_t)sim_param(cfg, "cache.history");
	m->history_total_max = sim_param(cfg, "cache.history-total");
	seed = sim_param(cfg, "cache.seed");
	m->cpu = calloc(m->ncpu, sizeof(*m->cpu));
	m->nrec = 1024;
	m->rec = rec_table(m->nrec);
	m->view = calloc(1, sizeof(*m->view));
	if (!m->cpu || !m->rec || !m->view) {
		snprintf(env->err->msg, sizeof(env->err->msg), "cache: out of memory");
		goto out_free;
	}
	m->view->stale = true;
	for (uint32_t c = 0; c < m->ncpu; c++)
		if (level_init(m, &m->cpu[c].lv[CACHE_L1D], CACHE_L1D, seed + 3 * c) ||
		    level_init(m, &m->cpu[c].lv[CACHE_L2], CACHE_L2, seed + 3 * c + 1))
			goto out_free;
	if (level_init(m, &m->llc, CACHE_LLC, seed + 3 * m->ncpu + 2))
		goto out_free;
	m->clock = env->clock;
	m->fast_end = m->pmem_size & ~(uint64_t)(m->line_size - 1);
	m->fast = m->ncpu == 1 && m->cpu[0].lv[CACHE_L1D].pol == &cache_policy_lru &&
		  m->cpu[0].lv[CACHE_L1D].tag;
	if (env->no_crash_states)
		cache_keep_history(m, false);
	*self = m;
	return 0;
out_free:
	cache_destroy(m);
	return -1;
}

static void cache_report(void *self, FILE *out)
{
	struct cache_model *m = self;
	const struct cache_stats *s = &m->st;
	uint64_t h[CACHE_NLEVELS] = { 0 }, mi[CACHE_NLEVELS] = { 0 };

	for (uint32_t c = 0; c < m->ncpu; c++)
		for (int l = CACHE_L1D; l <= CACHE_L2; l++) {
			h[l] += m->cpu[c].lv[l].hits;
			mi[l] += m->cpu[c].lv[l].misses;
		}
	h[CACHE_LLC] = m->llc.hits;
	mi[CACHE_LLC] = m->llc.misses;
	fprintf(out, "cache.cycles: %" PRIu64 "\n", s->cycles);
	fprintf(out, "cache.loads: %" PRIu64 "\n", s->loads);
	fprintf(out, "cache.stores: %" PRIu64 "\n", s->stores);
	fprintf(out, "cache.ntstores: %" PRIu64 "\n", s->ntstores);
	fprintf(out, "cache.rmws: %" PRIu64 "\n", s->rmws);
	for (int l = CACHE_L1D; l < CACHE_NLEVELS; l++) {
		if (!(l == CACHE_LLC ? m->llc.present : m->cpu[0].lv[l].present))
			continue;
		fprintf(out, "%s.hits: %" PRIu64 "\n", level_name[l], h[l]);
		fprintf(out, "%s.misses: %" PRIu64 "\n", level_name[l], mi[l]);
	}
	for (uint32_t c = 0; m->ncpu > 1 && c < m->ncpu; c++) {
		/* per CPU (import lackey-fetch puts an I-side on cpu 1) */
		for (int l = CACHE_L1D; l <= CACHE_L2; l++) {
			const struct cache_level *lv = &m->cpu[c].lv[l];
			if (!lv->present)
				continue;
			fprintf(out, "cpu%u.%s.hits: %" PRIu64 "\n", c, level_name[l], lv->hits);
			fprintf(out, "cpu%u.%s.misses: %" PRIu64 "\n", c, level_name[l], lv->misses);
		}
		if (m->llc.present) {
			fprintf(out, "cpu%u.llc.hits: %" PRIu64 "\n", c, m->cpu[c].llc_hits);
			fprintf(out, "cpu%u.llc.misses: %" PRIu64 "\n", c, m->cpu[c].llc_misses);
		}
	}
	fprintf(out, "cache.flushes: %" PRIu64 "\n", s->clflush + s->clflushopt + s->clwb);
	fprintf(out, "cache.clflush: %" PRIu64 "\n", s->clflush);
	fprintf(out, "cache.clflushopt: %" PRIu64 "\n", s->clflushopt);
	fprintf(out, "cache.clwb: %" PRIu64 "\n", s->clwb);
	fprintf(out, "cache.fences: %" PRIu64 "\n", s->sfence + s->mfence + s->rmws);
	fprintf(out, "cache.fence-stall-cycles: %" PRIu64 "\n", s->fence_stall);
	fprintf(out, "cache.wbinvd: %" PRIu64 "\n", s->wbinvd);
	fprintf(out, "cache.pcommit: %" PRIu64 "\n", s->pcommit);
	fprintf(out, "cache.writebacks: %" PRIu64 "\n", s->writebacks);
	fprintf(out, "cache.nt-lines: %" PRIu64 "\n", s->nt_lines);
	fprintf(out, "cache.capacity-writebacks: %" PRIu64 "\n", s->capacity_writebacks);
	fprintf(out, "media.bytes: %" PRIu64 "\n", media_bytes_written(m->media));
}

bool cache_keep_history(void *self, bool keep)
{
	struct cache_model *m = self;

	assert(m->seq == 0 && m->nlive == 0);	/* before the first event */
	m->nohist = !keep && m->line_size <= 64 && m->machine != SIM_MACHINE_PCOMMIT;
	return !m->nohist;
}

int cache_cpu_op(void *self, enum trace_op op, uint32_t cpu, uint64_t addr, uint64_t len,
		 const uint8_t *bytes, uint64_t line)
{
	struct trace_event ev = { .op = op, .line = line, .cpu = cpu };

	switch (op) {
	case TRACE_STORE:
	case TRACE_NTSTORE:
	case TRACE_RMW:
		ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_DATA;
		ev.len = len;
		ev.data.kind = TRACE_PAYLOAD_HEX;
		ev.data.len = len;
		ev.data.bytes = bytes;
		break;
	case TRACE_LOAD:
		ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
		ev.len = len;
		break;
	case TRACE_CLWB:
	case TRACE_CLFLUSH:
	case TRACE_CLFLUSHOPT:
		ev.fields = TRACE_F_ADDR;
		break;
	default:
		break;
	}
	if (ev.fields)
		ev.addr = addr;
	return cache_event(self, &ev);
}

int cache_persist_fence(void *self, uint32_t cpu, uint64_t line)
{
	const struct cache_model *m = self;
	int rc = cache_cpu_op(self, TRACE_SFENCE, cpu, 0, 0, NULL, line);

	if (!rc && m->machine == SIM_MACHINE_PCOMMIT &&
	    !(rc = cache_cpu_op(self, TRACE_PCOMMIT, cpu, 0, 0, NULL, line)))
		rc = cache_cpu_op(self, TRACE_SFENCE, cpu, 0, 0, NULL, line);
	return rc;
}

const struct sim_model_ops cache_model_ops = {
	.name = "cache",
	.event = cache_event,
	.report = cache_report,
	.destroy = cache_destroy,
	.crash = &cache_crash_ops,
};

const struct sim_model_kind cache_model_kind = {
	.name = "cache",
	.role = SIM_ROLE_CACHE,
	.create = cache_model_create,
	.ops = &cache_model_ops,
};

/* ---------------------------------------------------------------------
 * Invariants (tests)
 * ------------------------------------------------------------------- */

/* I6 for an LRU level: each set's ranks are a permutation of
 * 0..ways-1 with every free way ranked after every valid one. */
static bool lru_ranks_ok(const struct cache_level *lv)
{
	if (!lv->present || lv->pol != &cache_policy_lru)
		return true;
	for (uint64_t set = 0; set <= lv->set_mask; set++) {
		const uint8_t *rk = lv->rank + set * lv->ways;
		uint64_t seen = 0;
		uint32_t valid = 0;
		for (uint32_t i = 0; i < lv->ways; i++) {
			if (rk[i] >= lv->ways || (seen >> rk[i] & 1))
				return false;
			seen |= 1ull << rk[i];
			valid += cache_word_at(lv, set, i) != CACHE_INVALID;
		}
		for (uint32_t i = 0; i < lv->ways; i++)
			if ((cache_word_at(lv, set, i) != CACHE_INVALID) != (rk[i] < valid))
				return false;
	}
	return true;
}

/* I3 for R's history and NT pieces, and the NT epochs' bookkeeping. */
static const char *history_order(const struct cache_model *m, const struct cache_rec *r)
{
	uint64_t last[CACHE_MAX_LINE / CACHE_CHUNK];	/* newest seq + 1 per chunk */
	uint64_t before = 0, newest = 0;	/* the cached entries' bounds */
	uint32_t nnthist = 0, epoch = r->x ? r->x->ntepoch : 0;
	bool run = false;

	memset(last, 0, sizeof(last));
	for (uint32_t k = 0; k < r->nwr; k++) {
		const struct cache_wr *w = &r->wr[k];
		if (!w->ntd) {
			if (w->seq < newest)
				return "I3: history out of program order";
			before = newest = w->seq + 1;
			run = false;
			continue;
		}
		if (m->machine != SIM_MACHINE_PCOMMIT)
			return "I3: a drained NT piece in the history of a machine without a WPQ to hold it";
		if (w->seq < before || w->seq + 1 <= last[w->chunk0] ||
		    (run && w->ntd < r->wr[k - 1].ntd))
			return "I3: a run of drained NT pieces out of order";
		if (w->nte >= w->ntd || w->ntd > epoch)
			return "I3: an NT piece drained before it was stored, or after the line's epoch";
		if (!run)
			memset(last, 0, sizeof(last));
		last[w->chunk0] = w->seq + 1;
		if (w->seq + 1 > newest)
			newest = w->seq + 1;
		nnthist++;
		run = true;
	}
	if (nnthist != (r->x ? r->x->nnthist : 0))
		return "nnthist out of date";
	if (!run)
		memset(last, 0, sizeof(last));
	for (uint32_t i = 0; i < r->nnt; i++) {
		const struct cache_wr *w = &r->nt[i];
		if (w->seq + 1 <= last[w->chunk0] || w->seq < before ||
		    (i && w->seq < r->nt[i - 1].seq))
			return "I3: NT pieces out of program order";
		if (w->nte > epoch || (m->machine != SIM_MACHINE_PCOMMIT && w->nte))
			return "I3: an NT piece stored after the line's epoch";
		last[w->chunk0] = w->seq + 1;
	}
	return NULL;
}

const char *cache_check_invariants(const struct cache_model *m)
{
	uint32_t live = 0;

	for (uint32_t i = 0; i < m->nrec; i++) {
		const struct cache_rec *r = &m->rec[i];
		uint32_t hc = 1;
		if (!r->nline) {
			if (r->nwr || r->nnt)
				return "I2: volatile state in a free record";
			continue;
		}
		if (!r->nwr && !r->nnt)
			return "I2: a record with nothing volatile";
		if (cache_rec_find((struct cache_model *)m, cache_rec_line(r)) != r)
			return "I2: a record its line does not find";
		live++;
		if (r->wr != (r->wr == r->u.inl ? r->u.inl : r->h.heap) ||
		    (r->wr == r->u.inl && r->nwr > CACHE_INL_WR && !m->nohist))
			return "I2: history pointer neither inline nor the heap buffer";
		if (m->nohist) {
			const struct cache_rext *x = r->x;
			uint32_t nwr = 0, shc = 0;
			for (uint32_t k = 0; x && k < x->nseg; k++) {
				if (!x->seg[k].nwr || !x->seg[k].mask)
					return "no history: an empty closed segment";
				if (k && x->seg[k].seq_end <= x->seg[k - 1].seq_end)
					return "I3: segments out of program order";
				nwr += x->seg[k].nwr;
				shc += x->seg[k].hc;
			}
			if (x && (nwr != x->seg_nwr || shc != x->seg_hc))
				return "no history: segment sums out of date";
			if ((r->nwr > nwr) != (r->h.mask != 0) || r->nwr < nwr ||
			    r->hchoices < 1 + shc)
				return "no history: open segment and counts disagree";
			hc = r->hchoices;
		}
		if (!m->nohist) {
			const char *e = history_order(m, r);
			if (e)
				return e;
		}
		for (uint32_t k = 0; k < r->nwr && !m->nohist; k++)
			hc += 1 + tears_of(r->wr[k].nchunk);
		if (hc != r->hchoices)
			return "hchoices out of date";
		if (r->nwpq > r->nwr)
			return "I3: nwpq > nwr";
		if (m->machine != SIM_MACHINE_PCOMMIT && r->nwpq)
			return "I3: WPQ entries on a machine whose WPQ is durable";
		if (r->nnt && r->nwpq != r->nwr)
			return "I4: NT pieces behind cached stores";
		if (m->machine == SIM_MACHINE_EADR && r->nwr)
			return "I5: history on eadr";
	}
	if (live != m->nlive)
		return "I2: table and live count disagree";
	for (uint32_t c = 0; c < m->ncpu; c++)
		if (!lru_ranks_ok(&m->cpu[c].lv[CACHE_L1D]) ||
		    !lru_ranks_ok(&m->cpu[c].lv[CACHE_L2]))
			return "I6: LRU ranks not a permutation, or a free way ranked before a valid one";
	if (!lru_ranks_ok(&m->llc))
		return "I6: LRU ranks not a permutation, or a free way ranked before a valid one";
	return NULL;
}
