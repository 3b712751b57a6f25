/*
 * bq_pmem.c — the two persistent-memory block drivers, built on cache/.
 *
 * Both are synchronous, as Linux's drivers/nvdimm/pmem.c is: the copy
 * happens inside the submission and the bio completes before it returns,
 * so a wait has nothing left to do.  Neither keeps any volatile state of
 * its own: every byte goes through the cache model as CPU operations the
 * driver issues (cache.h), and what is volatile — dirty lines, unfenced
 * non-temporal stores, the WPQ on a pcommit machine — is the cache
 * model's to describe.  The namespace is the device: byte offset = pmem
 * address.
 *
 *   B10. pmem: each write is copied with non-temporal stores, then an
 *        sfence — and on a pcommit machine pcommit + sfence — before the
 *        bio completes.  Completion means durable, so a flush has nothing
 *        to do and PREFLUSH/FUA add nothing.  (The 2015 DAX discussion's
 *        "fully synchronous" driver; pmem.c with memcpy_flushcache.)
 *   B11. pmem-wb: each write is copied with ordinary stores, through the
 *        CPU cache.  The driver remembers the lines it dirtied.  PREFLUSH
 *        (and an empty flush) writes every remembered line back with clwb
 *        and fences (+ pcommit + sfence where the machine needs it) before
 *        the data is copied; FUA writes the bio's own lines back the same
 *        way after the copy.  Nothing else writes them back, except the
 *        cache itself, whenever it likes (cache.c C2).  (The brief: "a
 *        driver whose I/O path leaves data in CPU caches must write those
 *        lines back when it receives them".)
 *   B12. What a write may still lose (bq_write_may_be_lost; fs_model/'s
 *        M8 asks).  The drivers keep no volatile state, but for each bio
 *        that completes with its copy possibly still volatile -- pmem-wb
 *        unless a FUA wrote its lines back and fenced; pmem under F3 --
 *        they record the number the cache model gave the copy's store
 *        (cache_next_store: one number for the whole copy).  The write
 *        may be lost while some line of its range still holds, volatile,
 *        a store numbered that or lower (cache_volatile_upto) -- the
 *        copy's own, or an older one, behind which the copy's is volatile
 *        too -- and no longer once every such line was written back after
 *        the copy: by a PREFLUSH, another bio's FUA, an eviction (C13), a
 *        history limit (C15), wbinvd, a fence completing NT stores or
 *        another path's clwb -- even if a later write dirtied the line
 *        again.  Exact, not a bound: a line's volatile stores are always
 *        its newest (cache.h).  Entries found durable are dropped when the
 *        table has doubled since the last pruning, so it holds about the
 *        writes still volatile.  bq_durable_gen is the cache model's count
 *        of stores made durable (cache_durable_gen).
 *
 * Faults: F1 ignore-flush drops pmem-wb's PREFLUSH write-back; F2
 * ignore-fua drops its FUA write-back; F3 early-complete completes the bio
 * without its closing fence (pmem: the non-temporal stores are still in
 * the write-combining buffers; pmem-wb: a FUA write-back not yet
 * finished), so the data is durable only at the next fence on cpu 0 (on
 * pmem the driver then issues none: another path's, DAX's, or C9's and
 * C15's drains; on pmem-wb the next PREFLUSH's); F4
 * reorder-across-flush omits the fence between pmem-wb's PREFLUSH
 * write-back and the copy, so the new data may persist before the old.
 * An empty flush (op=flush) has no copy to reorder with its write-back:
 * F4 leaves it whole, as it leaves a disk's flush command (F4 reorders,
 * it drops nothing).  On pmem, F1, F2 and F4 have nothing to act on.
 *
 * Notes:
 *   - All CPU operations run on cpu 0, the submitter's.
 *   - Barrier semantics (B5): every bio has completed before the next is
 *     submitted, so the drain is done already.  On pmem completion means
 *     durable, so nothing is added; on pmem-wb a barrier -- a flush, or a
 *     write with PREFLUSH or FUA -- writes every remembered line back
 *     before its copy and its own lines after it (barrier.txt's pre-flush
 *     and FUA or post-flush), as if it carried both flags.  Without that a
 *     FUA barrier left the writes before it in the cache (found by running
 *     check over tests/fuzz_sim.c's corpus).
 *   - A crash point follows each CPU operation group (copy, write-back,
 *     fence), so the states between them are explored.
 */
#include "bq_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/cache.h"

static int cpu_op(struct bq_queue *q, enum trace_op op, uint64_t addr,
		  uint64_t len, const uint8_t *bytes, uint64_t line)
{
	return cache_cpu_op(q->env.cache, op, 0, addr, len, bytes, line);
}

static int fence(struct bq_queue *q, uint64_t line)
{
	return cache_persist_fence(q->env.cache, 0, line);
}

static int writeback_range(struct bq_queue *q, uint64_t off, uint64_t len, uint64_t line)
{
	uint64_t ls = sim_param(q->env.cfg, "cache.line");
	int rc = 0;

	for (uint64_t a = off & ~(ls - 1); !rc && a < off + len; a += ls)
		rc = cpu_op(q, TRACE_CLWB, a, 0, NULL, line);
	return rc;
}

/* pmem-wb: remember [off, off+len) for the next PREFLUSH. */
static int remember(struct bq_queue *q, uint64_t off, uint64_t len)
{
	if (q->nwb && q->wb_lines[q->nwb - 2] + q->wb_lines[q->nwb - 1] == off) {
		q->wb_lines[q->nwb - 1] += len;
		return 0;
	}
	if (q->nwb + 2 > q->cap_wb) {
		size_t c = q->cap_wb ? q->cap_wb * 2 : 64;
		uint64_t *p = realloc(q->wb_lines, c * sizeof(*p));
		if (!p)
			return bq_fail(q, "out of memory");
		q->wb_lines = p;
		q->cap_wb = c;
	}
	q->wb_lines[q->nwb++] = off;
	q->wb_lines[q->nwb++] = len;
	return 0;
}

/* B12: is entry W still volatile in [off, off+len)? */
static bool pw_volatile(const struct bq_queue *q, const struct bq_pwrite *w,
			uint64_t off, uint64_t len)
{
	uint64_t a = off > w->off ? off : w->off;
	uint64_t z = off + len < w->off + w->len ? off + len : w->off + w->len;

	return a < z && cache_volatile_upto(q->env.cache, a, z - a, w->seq);
}

/* B12: keep only the entries still volatile (they can never become so
 * again), re-linking the id chains.  O(entries x lines of each). */
static int pw_prune(struct bq_queue *q)
{
	size_t k = 0;

	bq_map_fini(&q->pw_ids);
	if (bq_map_init(&q->pw_ids, 64))
		return bq_fail(q, "out of memory");
	for (size_t i = 0; i < q->npw; i++) {
		struct bq_pwrite w = q->pw[i];
		if (!pw_volatile(q, &w, w.off, w.len))
			continue;
		w.older = (size_t)(uintptr_t)bq_map_get(&q->pw_ids, w.id);
		q->pw[k++] = w;
		if (bq_map_put(&q->pw_ids, w.id, (void *)(uintptr_t)k))
			return bq_fail(q, "out of memory");
	}
	q->npw = k;
	q->pw_prune = k * 2 > 64 ? k * 2 : 64;
	return 0;
}

/* B12: bio ID's copy of [off, off+len), store number SEQ, completed
 * volatile. */
static int pw_add(struct bq_queue *q, uint64_t id, uint64_t off, uint64_t len, uint64_t seq)
{
	int rc;

	if (q->npw >= q->pw_prune && (rc = pw_prune(q)))
		return rc;
	if (q->npw == q->cap_pw) {
		size_t c = q->cap_pw ? q->cap_pw * 2 : 64;
		struct bq_pwrite *p = realloc(q->pw, c * sizeof(*p));
		if (!p)
			return bq_fail(q, "out of memory");
		q->pw = p;
		q->cap_pw = c;
	}
	q->pw[q->npw] = (struct bq_pwrite){
		.id = id, .off = off, .len = len, .seq = seq,
		.older = (size_t)(uintptr_t)bq_map_get(&q->pw_ids, id),
	};
	q->npw++;
	if (bq_map_put(&q->pw_ids, id, (void *)(uintptr_t)q->npw))
		return bq_fail(q, "out of memory");
	return 0;
}

bool bq_pmem_may_be_lost(const struct bq_queue *q, uint64_t id, uint64_t off, uint64_t len)
{
	size_t i = (size_t)(uintptr_t)bq_map_get(&q->pw_ids, id);

	for (; i; i = q->pw[i - 1].older)
		if (pw_volatile(q, &q->pw[i - 1], off, len))
			return true;
	return false;
}

uint64_t bq_pmem_durable_gen(const struct bq_queue *q)
{
	return cache_durable_gen(q->env.cache);
}

int bq_pmem_submit(struct bq_queue *q, const struct bq_bio_desc *d,
		   bq_read_fn *read, const void *src)
{
	bool wb = q->kind == SIM_DEVICE_PMEM_WB;
	bool data = d->op != TRACE_BIO_FLUSH;
	bool barrier = q->barrier_mode &&
		(!data || (d->flags & (TRACE_BIO_PREFLUSH | TRACE_BIO_FUA)));	/* B5 */
	uint64_t off = d->sector << 9, seq;
	int rc;

	if (d->id == UINT64_MAX)
		return bq_fail(q, "bio id=%" PRIu64 " is reserved", d->id);
	if (bq_map_get(&q->bios, d->id))
		return bq_fail(q, "bio id=%" PRIu64 " is already in flight", d->id);
	if (bq_map_put(&q->bios, d->id, q))
		return bq_fail(q, "out of memory");
	q->nflight++;
	if (q->nflight > q->st.max_in_flight)
		q->st.max_in_flight = q->nflight;
	q->st.bios++;
	if (d->op == TRACE_BIO_WRITE)
		q->st.writes++;
	else if (d->op == TRACE_BIO_DISCARD)
		q->st.discards++;
	else
		q->st.flush_bios++;
	if (d->flags & TRACE_BIO_PREFLUSH)
		q->st.preflush++;
	if (d->flags & TRACE_BIO_FUA)
		q->st.fua++;
	q->env.clock->now += q->submit_cycles;

	/* B11: PREFLUSH (or an empty flush) writes the remembered lines back */
	if (wb && (!data || (d->flags & TRACE_BIO_PREFLUSH) || barrier)) {
		q->st.flush_cmds++;
		if (q->faults & SIM_FAULT_IGNORE_FLUSH) {
			q->st.flushes_dropped++;		/* F1 */
		} else {
			for (size_t i = 0; i < q->nwb; i += 2)
				if ((rc = writeback_range(q, q->wb_lines[i], q->wb_lines[i + 1], d->line)))
					return rc;
			q->nwb = 0;
			/* F4 drops the fence between the write-back and the
			 * copy; an empty flush has no copy to reorder, and its
			 * completion is the flush's */
			if ((!data || !(q->faults & SIM_FAULT_REORDER_ACROSS_FLUSH)) &&
			    (rc = fence(q, d->line)))
				return rc;
			bq_step(q, "bio %" PRIu64 ": preflush: lines written back", d->id);
		}
	}
	if (data) {
		if (q->cap_req < d->len) {
			uint8_t *p = realloc(q->reqbuf, d->len);
			if (!p)
				return bq_fail(q, "out of memory");
			q->reqbuf = p;
			q->cap_req = d->len;
		}
		if (read)
			read(src, 0, q->reqbuf, d->len);
		else
			memset(q->reqbuf, 0, d->len);
		q->st.bytes += d->len;
		seq = cache_next_store(q->env.cache);		/* B12 */
		if ((rc = cpu_op(q, wb ? TRACE_STORE : TRACE_NTSTORE, off, d->len,
				 q->reqbuf, d->line)))
			return rc;
		bq_step(q, "bio %" PRIu64 ": data copied%s", d->id,
			wb ? " through the cache" : " with non-temporal stores");
		if (wb && (rc = remember(q, off, d->len)))
			return rc;
		if (!wb && !(q->faults & SIM_FAULT_EARLY_COMPLETE)) {	/* F3 */
			if ((rc = fence(q, d->line)))
				return rc;
			bq_step(q, "bio %" PRIu64 ": fenced", d->id);
		}
		/* B11: FUA writes the bio's own lines back */
		if (wb && ((d->flags & TRACE_BIO_FUA) || barrier)) {
			q->st.fua_cmds++;
			if (!(q->faults & SIM_FAULT_IGNORE_FUA)) {		/* F2 */
				if ((rc = writeback_range(q, off, d->len, d->line)))
					return rc;
				if (!(q->faults & SIM_FAULT_EARLY_COMPLETE) &&	/* F3 */
				    (rc = fence(q, d->line)))
					return rc;
				bq_step(q, "bio %" PRIu64 ": FUA: lines written back", d->id);
			}
		}
		/* B12: a copy that may still be volatile (pmem: only F3's) */
		if ((wb || (q->faults & SIM_FAULT_EARLY_COMPLETE)) &&
		    cache_volatile_upto(q->env.cache, off, d->len, seq) &&
		    (rc = pw_add(q, d->id, off, d->len, seq)))
			return rc;
	}
	bq_step(q, "bio %" PRIu64 " completed", d->id);
	return 0;
}

int bq_pmem_wait(struct bq_queue *q, uint64_t id)
{
	if (id == UINT64_MAX) {
		/* wait all: every bio has completed already */
		bq_map_fini(&q->bios);
		q->nflight = 0;
		return bq_map_init(&q->bios, 64) ? bq_fail(q, "out of memory") : 0;
	}
	if (!bq_map_get(&q->bios, id))
		return bq_fail(q, "wait id=%" PRIu64 ": bio %" PRIu64 " is not in flight (never "
			       "submitted, or already waited for)", id, id);
	bq_map_del(&q->bios, id);
	q->nflight--;
	return 0;
}

void bq_pmem_read(const struct bq_queue *q, uint64_t off, void *buf, size_t n)
{
	cache_read_current(q->env.cache, off, buf, n);
}
