/*
 * promise.h — the sync-promise oracle of a block trace: what the block
 * layer's contract promised to be durable, followed from the trace's own
 * bio and wait events, and judged against crash images.
 *
 * It is a reference, deliberately independent of blockq/: it never asks
 * the device model what is durable, so a device, driver or fault that
 * breaks the contract shows up as a violation instead of being trusted.
 *
 * The contract (docs/semantics.md, P1-P5):
 *   P1  A write counts as completed when the submitter has waited for it
 *       (wait id=N, wait all): that is the only completion it can rely on.
 *   P2  linux: when a bio with PREFLUSH (or an empty flush) completes,
 *       every write that completed before that bio was submitted is
 *       promised durable.
 *   P3  linux: when a write with FUA completes, its own data is promised
 *       durable.
 *   P4  barrier: when a barrier (a bio with PREFLUSH or FUA, or a flush)
 *       completes, every bio submitted before it, and its own data, are
 *       promised durable.
 *   P5  A promised sector must hold the promised data or the data of a
 *       write to it submitted later (which may or may not have reached the
 *       media).  A discard ends the promises of its sectors (what a
 *       discarded sector reads is up to the device).
 *   P6  A CPU store (store, ntstore, rmw: a block trace on a pmem device
 *       may have them, both address the namespace) ends the promises of
 *       the sectors it touches, as a discard does: what they hold then is
 *       the CPU caches' business (cache/), not the block contract's.
 *       Without it every such store was a violation of the sector's
 *       promise (found by tests/fuzz_sim.c).
 *   P7  "Later" in P5 is the device's order, not the submission order: a
 *       write submitted before the promised one but not waited for before
 *       it was submitted was in flight with it, unordered (B4), and may
 *       land after it -- unless, with barrier semantics, a barrier came
 *       between them (P4).  Its data is as good as a later write's.
 *       Without it two concurrent writes to a sector, both flushed, were a
 *       violation whenever the first submitted landed last
 *       (tests/regress/concurrent-rewrites.trace; found by running check
 *       over tests/fuzz_sim.c's corpus).
 *   P8  On a pmem device (pmem, pmem-wb: no BTT) a sector is not atomic:
 *       a write in flight, or written back through the CPU cache, reaches
 *       the media 8 bytes at a time (cache/, C-rules).  So each 8-byte
 *       word of a promised sector must be the word of some version P5 and
 *       P7 allow, not the whole sector one version.  Versions then keep
 *       their bytes.
 *   P9  A crash point inside a bio's own event (a pmem driver copies the
 *       data as it submits: "data copied with non-temporal stores",
 *       "fenced") sees the bio submitted: its data is a later write's
 *       (P5) there.  Without it a rewrite of a promised sector on pmem
 *       was a violation at those points ("data no write of the trace put
 *       there": tests/regress/concurrent-rewrites.trace on pmem).
 *
 * Memory: one entry per 512-byte sector ever written, with a hash per
 * version (and, P8, its 512 bytes).
 */
#ifndef POWERCUT_PROMISE_H
#define POWERCUT_PROMISE_H

#include <stdbool.h>

#include "../traces/trace.h"
#include "oracle.h"

struct sim_promises;

/* WORD_TEARING: the device is pmem (P8). */
int sim_promises_create(struct sim_promises **p, bool barrier_semantics, bool word_tearing);
void sim_promises_destroy(struct sim_promises *p);

/* Follow one trace event (only bio, wait and CPU stores matter).  0, or -1 on an
 * internal failure (out of memory). */
int sim_promises_event(struct sim_promises *p, const struct trace_event *ev);

/* A crash point falls inside EV, which the model is applying (P9): a bio
 * counts as submitted from then on; the event's own call to
 * sim_promises_event() then does nothing.  0, or -1 out of memory. */
int sim_promises_event_early(struct sim_promises *p, const struct trace_event *ev);

/* Judge a crash image: a violation per promised sector that holds neither
 * the promised data nor a later write's. */
int sim_promises_judge(const struct sim_promises *p, const struct sim_image *im,
		       sim_violation_fn *report, void *ctx);

/* Sectors promised durable so far (tests, reports). */
uint64_t sim_promises_count(const struct sim_promises *p);

#endif
