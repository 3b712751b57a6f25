/*
 * blockq.h — the block layer: bios, the request queue, PREFLUSH/FUA
 * sequencing, and the device under it (disk-wc, disk-wt, pmem, pmem-wb,
 * or a driver plugin, bq_plugin.h).
 *
 * Two ways in.  The simulator hands it the block events of a trace
 * (`bio`, `wait`) through bq_model_kind; the filesystem model (fs_model/)
 * is a submitter too and calls the functions below on env->blockq.  Both
 * paths go through the same code and the same rules (B1..B9, blockq/
 * bq_queue.c and docs/semantics.md).
 *
 * What the module promises a submitter:
 *   - bq_submit() never blocks on the device: the bio is in flight when it
 *     returns, and nothing is promised about it (B4) until the submitter
 *     waits for it.  The data is copied: the caller may reuse its buffer.
 *   - bq_wait() returns once the bio completed, with the promises of its
 *     flags: PREFLUSH (B2), FUA (B3), or a barrier's (B5) — unless a
 *     fault (--fault) or a driver breaks them, which is the point.
 *   - Completion is what orders bios: a write counts as completed for a
 *     later PREFLUSH only if the submitter waited for it before submitting
 *     the flagged bio (B4).
 *   - bq_read() returns what a read would: every submitted write applied
 *     in submission order over the durable image.  No side effects.
 *   - What is durable is in env->media (a disk) or reached through the
 *     cache model (pmem devices); everything volatile is described by the
 *     model's crash interface (sim/crash.h), one group per atomic write
 *     unit that some pending write touches.
 *
 * Errors: functions return 0, or -1 with a one-line message (without
 * FILE:LINE) in env->err: a bio id already in flight, a wait on an id not
 * in flight, a range beyond the device, a length not a multiple of 512.
 *
 * Cost: bq_submit O(units of the bio); bq_wait O(steps of the bios it
 * completes + volatile units when a flush runs).  No allocation once the
 * pools are warm.
 */
#ifndef POWERCUT_BLOCKQ_H
#define POWERCUT_BLOCKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sim/config.h"
#include "../sim/models.h"
#include "../traces/trace.h"

/* The block-queue model, registered in sim/models.c.  Its self is a
 * struct bq_queue *, handed to fs_model/ as env->blockq. */
extern const struct sim_model_kind bq_model_kind;

/* Parameters (bq.*, disk.*, plugin.*), registered in sim/params.c. */
extern const struct sim_param bq_params[];

struct bq_queue;

/* A bio as a submitter describes it. */
struct bq_bio_desc {
	uint64_t id;			/* unique among the bios in flight */
	enum trace_bio_op op;		/* TRACE_BIO_WRITE, _FLUSH, _DISCARD */
	uint32_t flags;			/* TRACE_BIO_PREFLUSH | TRACE_BIO_FUA */
	uint64_t sector;		/* 512-byte sectors (not for a flush) */
	uint64_t len;			/* bytes, a multiple of 512 (0 for a flush) */
	const void *data;		/* len bytes for a write; NULL otherwise */
	uint64_t line;			/* trace line, for descriptions; 0 if none */
};

/* Submit.  0, or -1 with env->err set. */
int bq_submit(struct bq_queue *q, const struct bq_bio_desc *b);

/* Wait for bio ID (B4: this is what orders it before later bios). */
int bq_wait(struct bq_queue *q, uint64_t id);

/* Wait for every bio in flight. */
int bq_wait_all(struct bq_queue *q);

/* What a read of [off, off+n) would return now.  off + n <= device size
 * (asserted).  O(n + pending versions in the range). */
void bq_read(const struct bq_queue *q, uint64_t off, void *buf, size_t n);

/* The device's size in bytes. */
uint64_t bq_device_size(const struct bq_queue *q);

/* Bios in flight now. */
size_t bq_in_flight(const struct bq_queue *q);

/*
 * Whether the device may still lose write bio ID, submitted for bytes
 * [off, off+len): some of its data is not yet durable -- held (B2, B5),
 * in flight (B4, B7), reported done before it arrived (F3), or in the
 * volatile cache (B1) with no flush yet covering it (or only flushes a
 * fault or plugin dropped).  False once every piece of it is durable, or
 * gone because a durable later write covers it; false for an id no
 * pending write in the range has.  What it says is blockq/'s own state,
 * so --fault, a plugin and the device kind are all accounted for.  On
 * pmem devices (B12, bq_pmem.c) the cache model says: true while some
 * line of the range still holds, not yet in the persistence domain, the
 * store that copied the write (dirty in a cache, in a pcommit machine's
 * WPQ, or an unfenced non-temporal store); false once each was written
 * back after the copy, even if a later write dirtied it again.  A
 * submitter that reuses ids gets the answer for every pending write with
 * that id in the range.  O(units of the range x pending writes per
 * unit); on pmem O(lines of the range x writes with that id still
 * volatile).
 */
bool bq_write_may_be_lost(const struct bq_queue *q, uint64_t id, uint64_t off, uint64_t len);

/* A counter that changes whenever some pending write becomes durable or
 * is dropped (on pmem devices: whenever some store reaches the
 * persistence domain, cache_durable_gen): while it holds still, no
 * answer of bq_write_may_be_lost changes from true to false.  O(1). */
uint64_t bq_durable_gen(const struct bq_queue *q);

#endif
