/*
 * jfs_dax.c — DAX: file data in persistent memory, reached through the
 * CPU cache model; no page cache.
 *
 * Method.  With the `dax` mount option (only on a pmem or pmem-wb device,
 * never with data=journal: ext4 refuses "both data=journal and dax") the
 * pmem namespace is the device, and a file block B lives at namespace
 * byte B * jfs.block_size.  Metadata and the journal go through blockq/
 * (the pmem driver) exactly as without DAX; file data never does: every
 * byte of it is a CPU operation this file issues to the cache model
 * (cache.h, cache_model_ops.event with a struct trace_event it builds, as
 * blockq/bq_pmem.c does), so what is volatile — dirty lines, unfenced
 * non-temporal stores, the WPQ on a pcommit machine — is the cache
 * model's to describe (its rules C1..C16).  The rules, cited as Fn and
 * listed with sources and tests in docs/semantics.md ("Filesystem"):
 *
 *   F22 No page cache and no delayed allocation for DAX files (ext4 sets
 *       ext4_dax_aops, never the delalloc ones), and no ordered data: a
 *       DAX inode never joins a transaction's ordered list (F4), because
 *       F25 makes its new blocks safe to expose before the commit.
 *   F23 write()/pwrite() — O_DIRECT, O_SYNC and O_DSYNC alike, DAX
 *       ignores O_DIRECT — first maps the range, allocating each hole
 *       (F25), then copies every piece with non-temporal stores and ends
 *       with one fence: sfence, and pcommit + sfence on a pcommit machine
 *       (dax_iomap_actor -> memcpy_flushcache; 4.5's dax_io ->
 *       copy_from_iter_pmem then wmb_pmem).  Then i_size and i_disksize
 *       grow in the running transaction.  write() tags no page dirty:
 *       its data is durable when it returns.
 *   F24 mmap stores (store, ntstore, rmw in a file trace, inside a shared
 *       mapping) go to the cache model at the pmem address of the file
 *       block: they dirty CPU lines.  The first store to a page since its
 *       last write-back (F26) is a write fault: the page is tagged dirty
 *       (the radix-tree tag of dax_insert_entry), the inode's mtime
 *       changes in the running transaction (file_update_time), and a hole
 *       or an unwritten extent gets a written block zeroed by F25.  With
 *       MAP_SYNC a write fault that finds data-relevant metadata
 *       uncommitted first runs fdatasync over the page and commits
 *       (dax_finish_sync_fault), so the page's metadata is durable before
 *       the store.  Loads and clflush/clflushopt/clwb of a mapped page go
 *       to the cache at the block's address; of a hole, nowhere (the zero
 *       page).  Fences, wbinvd and pcommit go to the cache as they are.
 *   F25 A block newly allocated for DAX (a hole written or faulted, an
 *       unwritten extent converted) is zeroed with non-temporal stores and
 *       fenced inside the event that allocates it, before any commit can
 *       carry the allocation (ext4_map_blocks with
 *       EXT4_GET_BLOCKS_CREATE_ZERO): a recovered file never shows a
 *       reused block's stale content.  Partial blocks zeroed by truncate,
 *       punch or zero-range are zeroed the same way (dax_zero_page_range:
 *       clear_pmem then wmb_pmem).
 *   F26 fsync, fdatasync, msync(MS_SYNC) and sync write dirty lines back
 *       by dax_flush, then commit as F10:
 *         tracked  every line of each page tagged dirty in the range gets
 *                  a clwb, then one fence, then the tags are cleared and
 *                  the pages write-protected, so the next store faults
 *                  again (dax_writeback_mapping_range, dax_writeback_one:
 *                  wb_cache_pmem, wmb_pmem; the tag clearing is Linux
 *                  4.10's, 4.5 kept the tags and flushed them every time);
 *         hammer   every line of the whole namespace gets a clwb, then one
 *                  fence (the brute force of the 2015 discussion);
 *         none     nothing (Linux before 4.5: DAX fsync wrote nothing
 *                  back).
 *       The mount option dax_flush= wins over the parameter jfs.dax_flush.
 *   F27 Crash points: one after each group of CPU operations and one
 *       after each fence (env->step), never one per line.  A write-back
 *       loop is one group: its clwbs are unfenced until the fence, and an
 *       unfenced clwb adds no crash state (C5: "done" persists a prefix of
 *       the line's history that C2 already offers, and a dirty line may be
 *       written back at any moment anyway), so the states at every point
 *       inside the loop are exactly the states at the point after it (and
 *       before it).  Likewise a copy of many lines with non-temporal
 *       stores: at a point inside it each issued chunk is persisted or
 *       not (C8) and the chunks not yet issued are not; the point after
 *       the whole copy offers every such combination (those chunks "not
 *       yet persisted").
 *
 * Notes:
 *   - Every kernel operation runs on cpu 0, except a write fault's
 *     zeroing, which runs on the faulting store's CPU.  A fence completes
 *     only its own CPU's non-temporal stores and flushes (C6), as in Linux.
 *   - A page's tag is the inode's (the address_space's), not the
 *     mapping's: munmap keeps it, and a new mapping of a tagged page does
 *     not fault again.
 *   - tracked fences only when it wrote some page back (4.5 fenced
 *     whenever the mapping had DAX entries at all).
 *   - memcpy_flushcache writes an unaligned head or tail with ordinary
 *     stores and a clwb; here the whole copy is non-temporal: after the
 *     fence both are durable, before it both may persist any subset of
 *     8-byte chunks.
 *   - hammer costs a clwb per line of pmem.size (16 M for the default
 *     1 GiB): that is its point, and its cost in cycles.  Only the lines
 *     that can be cached are sent to the cache model; see hammer().
 */
#include "jfs_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../cache/cache.h"
#include "../sim/media.h"

/* ---- CPU operations through the cache model ---- */

static int cpu_op(struct jfs_fs *fs, enum trace_op op, uint32_t cpu, uint64_t addr,
		  uint64_t len, const uint8_t *bytes)
{
	return cache_cpu_op(fs->env->cache, op, cpu, addr, len, bytes, fs->dax.line);
}

/* sfence, and pcommit + sfence where the WPQ is volatile (C11): the
 * arch_wmb_pmem() of Linux 4.5. */
static int dax_fence(struct jfs_fs *fs, uint32_t cpu)
{
	fs->dax.fences++;
	return cache_persist_fence(fs->env->cache, cpu, fs->dax.line);
}

/* ---- tags (F24, F26) ---- */

static bool tag_get(const struct jfs_inode *in, uint64_t pg)
{
	return pg < (uint64_t)in->dax_tagw * 64 && (in->dax_tag[pg / 64] >> (pg % 64) & 1);
}

static void tag_set(struct jfs_inode *in, uint64_t pg)
{
	if (pg >= (uint64_t)in->dax_tagw * 64) {
		uint32_t nw = in->dax_tagw ? in->dax_tagw : 4;
		uint64_t *t;
		while ((uint64_t)nw * 64 <= pg)
			nw *= 2;
		t = realloc(in->dax_tag, nw * sizeof(*t));
		if (!t)
			abort();		/* the model cannot go on without memory */
		memset(t + in->dax_tagw, 0, (nw - in->dax_tagw) * sizeof(*t));
		in->dax_tag = t;
		in->dax_tagw = nw;
	}
	if (!tag_get(in, pg)) {
		in->dax_tag[pg / 64] |= 1ull << (pg % 64);
		in->dax_ntag++;
	}
}

static void tag_clear(struct jfs_inode *in, uint64_t pg)
{
	if (tag_get(in, pg)) {
		in->dax_tag[pg / 64] &= ~(1ull << (pg % 64));
		in->dax_ntag--;
	}
}

void jfs_dax_forget(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint64_t end = (uint64_t)in->dax_tagw * 64;

	for (uint64_t pg = a; in->dax_ntag && pg < b && pg < end; pg++)
		tag_clear(in, pg);
	jfs_inode_cleaned(in);
}

/* ---- F25: zeroing ---- */

/* Zero [off, off+len) of device block BLK with non-temporal stores and
 * fence, on CPU.  Two crash points: after the stores, after the fence. */
static int zero_durably(struct jfs_fs *fs, uint32_t blk, uint32_t off, uint32_t len,
			uint32_t cpu)
{
	uint64_t addr = (uint64_t)blk * fs->g.bsize + off;

	assert(!fs->dry && off + len <= fs->g.bsize);
	if (cpu_op(fs, TRACE_NTSTORE, cpu, addr, len, fs->dax.zero))
		return -1;
	fs->dax.zeroed_bytes += len;
	jfs_step(fs, "dax: block %" PRIu32 " zeroed with non-temporal stores (%" PRIu32
		 " bytes)", blk, len);
	if (dax_fence(fs, cpu))
		return -1;
	jfs_step(fs, "dax: zeroing of block %" PRIu32 " fenced", blk);
	return 0;
}

/* The written block under LBLK of INO, allocating a hole or converting an
 * unwritten extent, whose content is then zeroed durably (F25). */
static int map_for_write(struct jfs_fs *fs, uint32_t ino, uint64_t lblk, uint32_t cpu,
			 uint32_t *pblk)
{
	uint32_t b;

	if (jfs_bmap(fs, ino, lblk, false, false, &b))
		return -1;
	if (b && !(b & JFS_UNWRITTEN)) {
		*pblk = b;
		return 0;
	}
	if (!b) {
		if (jfs_bmap(fs, ino, lblk, true, false, &b))
			return -1;
	} else {
		jfs_bmap_set_written(fs, ino, lblk);
		b &= JFS_BLKMASK;
	}
	fs->dax.blocks_zeroed++;
	if (zero_durably(fs, b, 0, fs->g.bsize, cpu))
		return -1;
	*pblk = b;
	return 0;
}

int jfs_dax_zero_range(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len)
{
	uint32_t bs = fs->g.bsize, b;

	assert(len && off / bs == (off + len - 1) / bs);
	if (jfs_bmap(fs, ino, off / bs, false, false, &b))
		return -1;
	if (!b || (b & JFS_UNWRITTEN))
		return 0;			/* reads as zeros already */
	jfs_gap_block_write(fs, b);		/* M9 */
	return zero_durably(fs, b, (uint32_t)(off % bs), (uint32_t)len, 0);
}

/* ---- F23: write() ---- */

int jfs_dax_write(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len,
		  const struct trace_payload *p)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t bs = fs->g.bsize;
	uint64_t done;

	assert(!fs->dry);
	if (!len)
		return 0;
	/*
	 * ext4_iomap_begin: map the whole range first, zeroing new blocks.
	 * One handle for the mapping and the size below: a commit between
	 * them would make blocks durable beyond i_disksize, which ext4
	 * prevents by putting an extending DAX write's inode on the orphan
	 * list (ext4_dax_write_iter) and this model by keeping both in one
	 * transaction (found by tests/fuzz_sim.c: a 64 KiB write with
	 * jfs.journal_blocks=32 committed each block's allocation alone).
	 */
	if (jfs_handle_start(fs, 8))
		return -1;
	for (uint64_t lb = off / bs; lb <= (off + len - 1) / bs; lb++) {
		uint32_t b;
		if (map_for_write(fs, ino, lb, 0, &b))
			return -1;
	}
	/* dax_iomap_actor: copy with non-temporal stores, one fence */
	for (done = 0; done < len;) {
		uint64_t pos = off + done;
		uint32_t in_pg = (uint32_t)(pos % bs), b;
		uint64_t n = bs - in_pg < len - done ? bs - in_pg : len - done;

		if (jfs_bmap(fs, ino, pos / bs, false, false, &b))
			return -1;
		assert(b && !(b & JFS_UNWRITTEN));
		jfs_gap_block_write(fs, b);	/* M9 */
		trace_payload_read(p, done, fs->dax.buf, (size_t)n);
		if (cpu_op(fs, TRACE_NTSTORE, 0, (uint64_t)b * bs + in_pg, n, fs->dax.buf))
			return -1;
		done += n;
	}
	fs->dax.write_bytes += len;
	jfs_step(fs, "dax write: %" PRIu64 " bytes copied with non-temporal stores", len);
	if (dax_fence(fs, 0))
		return -1;
	jfs_step(fs, "dax write: fenced");
	/* ext4_dax_write_iter: the size follows at once (no delalloc), in
	 * the transaction of the mapping */
	if (off + len > in->size) {
		in->size = off + len;
		jfs_set_disksize(fs, ino, in->size);
	}
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
	return 0;
}

/* ---- F24: CPU events at mapped addresses ---- */

/* The write fault of page LBLK of M's inode, by a store on CPU. */
static int write_fault(struct jfs_fs *fs, const struct jfs_map *m, uint64_t lblk,
		       uint32_t cpu)
{
	uint32_t ino = m->ino, b;
	struct jfs_inode *in = &fs->ino[ino];

	fs->env->clock->now += fs->dax.fault_cycles;
	fs->dax.faults++;
	if (jfs_handle_start(fs, 8) || map_for_write(fs, ino, lblk, cpu, &b))
		return -1;
	/* file_update_time() of ext4_dax_huge_fault */
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
	if ((m->flags & TRACE_MAP_SYNC) && in->datasync_tid > fs->last_committed &&
	    !jfs_txn_empty(fs->run)) {
		/* dax_finish_sync_fault: fdatasync of the page, then the PTE */
		fs->dax.sync_faults++;
		if (jfs_fsync_range(fs, ino, true, lblk * fs->g.bsize,
				    (lblk + 1) * fs->g.bsize))
			return -1;
	}
	if (!tag_get(in, lblk))
		fs->dax.pages_tagged++;
	tag_set(in, lblk);
	jfs_inode_dirtied(fs, in);
	return 0;
}

int jfs_dax_cpu(struct jfs_fs *fs, const struct trace_event *ev)
{
	uint32_t bs = fs->g.bsize;
	const struct jfs_map *m;
	uint64_t len, off, done;
	bool store;

	switch (ev->op) {
	case TRACE_SFENCE:
	case TRACE_MFENCE:
	case TRACE_WBINVD:
	case TRACE_PCOMMIT:
		return cpu_op(fs, ev->op, ev->cpu, 0, 0, NULL);
	case TRACE_STORE:
	case TRACE_NTSTORE:
	case TRACE_RMW:
		store = true;
		len = ev->len;
		break;
	case TRACE_LOAD:
		store = false;
		len = ev->len;
		break;
	case TRACE_CLFLUSH:
	case TRACE_CLFLUSHOPT:
	case TRACE_CLWB:
		store = false;
		len = 1;
		break;
	default:
		return 0;
	}
	m = jfs_map_of(fs, ev->addr, len);
	if (!m) {
		if (store)
			return jfs_errf(fs, "store to 0x%" PRIx64 " (%" PRIu64 " bytes) is not "
					"inside one live shared mmap range", ev->addr, len);
		return jfs_errf(fs, "address 0x%" PRIx64 " is not in any live mmap range",
				ev->addr);
	}
	off = m->off + (ev->addr - m->addr);
	if (store && off + len > fs->ino[m->ino].size)
		return jfs_errf(fs, "store to 0x%" PRIx64 " is beyond the end of the mapped "
				"file (SIGBUS)", ev->addr);
	/* one CPU operation per page: file pages are not contiguous in pmem */
	for (done = 0; done < len;) {
		uint64_t pos = off + done, lblk = pos / bs;
		uint32_t in_pg = (uint32_t)(pos % bs), b;
		uint64_t n = bs - in_pg < len - done ? bs - in_pg : len - done;

		if (store && !tag_get(&fs->ino[m->ino], lblk) &&
		    write_fault(fs, m, lblk, ev->cpu))
			return -1;
		if (jfs_bmap(fs, m->ino, lblk, false, false, &b))
			return -1;
		if (!b || (b & JFS_UNWRITTEN)) {
			assert(!store);
			done += n;		/* the zero page: no pmem access */
			continue;
		}
		if (store) {
			jfs_gap_block_write(fs, b);	/* M9 */
			trace_payload_read(&ev->data, done, fs->dax.buf, (size_t)n);
		}
		if (cpu_op(fs, ev->op, ev->cpu, (uint64_t)b * bs + in_pg, n,
			   store ? fs->dax.buf : NULL))
			return -1;
		done += n;
	}
	return 0;
}

/* ---- F26: write-back at fsync, msync, sync ---- */

/* clwb every line of block BLK. */
static int clwb_block(struct jfs_fs *fs, uint32_t blk)
{
	uint64_t a = (uint64_t)blk * fs->g.bsize, e = a + fs->g.bsize;

	for (; a < e; a += fs->dax.line_size)
		if (cpu_op(fs, TRACE_CLWB, 0, a, 0, NULL))
			return -1;
	fs->dax.lines_written_back += fs->g.bsize / fs->dax.line_size;
	return 0;
}

/* tracked: the tagged pages of INO in pages [a, b).  Adds to *npages. */
static int writeback_tagged(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b,
			    uint64_t *npages)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint64_t end = (uint64_t)in->dax_tagw * 64;

	for (uint64_t pg = a; in->dax_ntag && pg < b && pg < end; pg++) {
		uint32_t blk;
		if (!tag_get(in, pg))
			continue;
		if (jfs_bmap(fs, ino, pg, false, false, &blk))
			return -1;
		assert(blk && !(blk & JFS_UNWRITTEN));
		if (clwb_block(fs, blk))
			return -1;
		tag_clear(in, pg);		/* dax_writeback_one: mkclean, untag */
		(*npages)++;
	}
	jfs_inode_cleaned(in);
	return 0;
}

/*
 * hammer: clwb every line of the namespace.  Only the lines of blocks some
 * CPU operation may have touched go to the cache model: the metadata area
 * (the journal and the rest, written by the pmem drivers) and every data
 * block ever allocated.  No other line of the namespace was ever stored
 * to -- a file trace has no CPU event outside its mappings, and the
 * drivers write only the filesystem's blocks -- so none can be in any
 * cache, and a clwb of it changes nothing but the clock: each costs what
 * the first of them costs, measured on the cache model (a clean line's
 * clwb costs the same whatever the line).  Same crash states, same
 * cycles; cache.clwb counts only the clwbs issued.  Measured: 16 M cache
 * events per write-back of the default 1 GiB namespace took 1 to 3.5 s of
 * replay; the 1036 always-touched blocks of the default filesystem are
 * 66304 events, a few milliseconds.
 */
static int hammer(struct jfs_fs *fs)
{
	uint64_t bs = fs->g.bsize, ls = fs->dax.line_size, skipped = 0, first = UINT64_MAX;
	uint64_t fs_end = (uint64_t)fs->g.nblocks * bs, t0;

	for (uint32_t b = 0; b < fs->g.nblocks; b++) {
		if (b >= fs->g.data_start && !(fs->dax.touched[b / 8] >> (b % 8) & 1)) {
			if (first == UINT64_MAX)
				first = (uint64_t)b * bs;
			skipped += bs / ls;
			continue;
		}
		for (uint64_t a = (uint64_t)b * bs; a < (uint64_t)(b + 1) * bs; a += ls)
			if (cpu_op(fs, TRACE_CLWB, 0, a, 0, NULL))
				return -1;
	}
	if (fs_end < fs->dax.pmem_size) {
		if (first == UINT64_MAX)
			first = fs_end;
		skipped += (fs->dax.pmem_size - fs_end) / ls;
	}
	if (!skipped)
		return 0;
	t0 = fs->env->clock->now;
	if (cpu_op(fs, TRACE_CLWB, 0, first, 0, NULL))
		return -1;
	fs->env->clock->now += (fs->env->clock->now - t0) * (skipped - 1);
	return 0;
}

int jfs_dax_writeback(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b)
{
	uint64_t t0 = fs->env->clock->now, n = 0;
	uint32_t bs = fs->g.bsize;

	assert(!fs->dry);
	switch (fs->dax.flush) {
	case JFS_DAX_FLUSH_NONE:
		return 0;
	case JFS_DAX_FLUSH_HAMMER:
		if (hammer(fs))
			return -1;
		n = fs->dax.pmem_size / fs->dax.line_size;
		fs->dax.lines_written_back += n;
		jfs_step(fs, "dax write-back (hammer): clwb of all %" PRIu64
			 " lines of the namespace", n);
		break;
	case JFS_DAX_FLUSH_TRACKED:
		if (ino) {
			/* the pages [a, b) touches; b / bs rounded up
			 * without b + bs - 1, which wrapped near 2^64 */
			if (writeback_tagged(fs, ino, a / bs, b == UINT64_MAX ? UINT64_MAX :
					     b / bs + (b % bs != 0), &n))
				return -1;
		} else {
			for (uint32_t i = 1; i <= fs->g.ninodes; i++)
				if (fs->ino[i].dax_ntag &&
				    writeback_tagged(fs, i, 0, UINT64_MAX, &n))
					return -1;
		}
		if (!n)
			return 0;
		fs->dax.pages_written_back += n;
		jfs_step(fs, "dax write-back (tracked): clwb of %" PRIu64 " lines of %" PRIu64
			 " pages tagged dirty", n * (bs / fs->dax.line_size), n);
		break;
	}
	if (dax_fence(fs, 0))
		return -1;
	fs->dax.writebacks++;
	jfs_step(fs, "dax write-back: fenced");
	fs->dax.writeback_cycles += fs->env->clock->now - t0;
	return 0;
}

/* ---- setup and report ---- */

const char *const jfs_dax_flush_names[] = { "tracked", "hammer", "none", NULL };

int jfs_dax_init(struct jfs_fs *fs)
{
	const struct sim_config *c = fs->env->cfg;

	if (c->device != SIM_DEVICE_PMEM && c->device != SIM_DEVICE_PMEM_WB)
		return jfs_errf(fs, "fs option dax needs a pmem device (--device pmem or "
				"pmem-wb), not %s", sim_device_name(c->device));
	if (!fs->env->cache)
		return jfs_errf(fs, "fs option dax needs the CPU cache model of a pmem device");
	fs->dax.flush = fs->o.dax_flush_given ? fs->o.dax_flush :
		(enum jfs_dax_flush)sim_param(c, "jfs.dax_flush");
	fs->o.dax_flush = fs->dax.flush;
	fs->dax.line_size = sim_param(c, "cache.line");
	fs->dax.pmem_size = media_size(fs->env->media);
	fs->dax.fault_cycles = sim_param(c, "jfs.fault_cycles");
	fs->dax.zero = calloc(1, fs->g.bsize);
	fs->dax.buf = malloc(fs->g.bsize);
	fs->dax.touched = calloc(fs->g.nblocks / 8 + 1, 1);
	if (!fs->dax.zero || !fs->dax.buf || !fs->dax.touched)
		return jfs_errf(fs, "out of memory");
	return 0;
}

void jfs_dax_free(struct jfs_fs *fs)
{
	free(fs->dax.zero);
	free(fs->dax.buf);
	free(fs->dax.touched);
}

void jfs_dax_report(const struct jfs_fs *fs, FILE *out)
{
	const struct jfs_dax *d = &fs->dax;

	fprintf(out, "dax flush: %s\n", jfs_dax_flush_names[d->flush]);
	fprintf(out, "dax bytes written (non-temporal copies): %" PRIu64 "\n", d->write_bytes);
	fprintf(out, "dax write faults: %" PRIu64 "\n", d->faults);
	fprintf(out, "dax MAP_SYNC faults that committed: %" PRIu64 "\n", d->sync_faults);
	fprintf(out, "dax pages tagged dirty: %" PRIu64 "\n", d->pages_tagged);
	fprintf(out, "dax blocks zeroed at allocation: %" PRIu64 "\n", d->blocks_zeroed);
	fprintf(out, "dax bytes zeroed: %" PRIu64 "\n", d->zeroed_bytes);
	fprintf(out, "dax write-backs: %" PRIu64 "\n", d->writebacks);
	fprintf(out, "dax pages written back: %" PRIu64 "\n", d->pages_written_back);
	fprintf(out, "dax lines written back (clwb): %" PRIu64 "\n", d->lines_written_back);
	fprintf(out, "dax write-back cycles: %" PRIu64 "\n", d->writeback_cycles);
	fprintf(out, "dax fences: %" PRIu64 "\n", d->fences);
}
