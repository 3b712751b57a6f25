/*
 * crash.h — how a model describes what the media could hold if the power
 * failed now.
 *
 * Method.  At any point the durable image is the struct media the model
 * writes (the base) plus a set of independent *volatile groups*.  A group
 * is one unit of nondeterminism the rules allow: one dirty cache line
 * (which prefix of its stores since its last write-back reached the
 * persistence domain, and how the next store tore), one unfenced
 * non-temporal store (done or not), one atomic write unit of a disk's
 * write cache (which of its cached versions, if any, was destaged).  Each
 * group has nchoices >= 1 choices; choice 0 is always "nothing more than
 * the base persisted".  A crash state is one choice per group: the set of
 * states is the product, so a state is a mixed-radix number and can be
 * printed, hashed, compared and replayed from its printed form (STYLE 9).
 *
 * Groups must be independent: any combination of choices is a state the
 * rules allow.  A model whose rules tie two items together (a line whose
 * write-back is ordered after another's) folds them into one group with
 * only the allowed combinations as choices.  Groups are listed in a
 * deterministic order (by address), so equal traces give equal state IDs.
 *
 * apply() does not touch the base: it emits the bytes that choice makes
 * durable, and the explorer lays them over the base in group order: where
 * two groups emit the same byte (the filesystem's page write-back groups
 * and its commit group, which writes the newest page), the later group's
 * byte is the one on the media.
 *
 * Cost: ngroups O(1); nchoices and apply O(size of the group).  The
 * explorer calls them millions of times per second: no allocation.
 */
#ifndef POWERCUT_CRASH_H
#define POWERCUT_CRASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receives the bytes a choice makes durable at OFF. */
typedef void sim_emit_fn(void *ctx, uint64_t off, const void *bytes, size_t n);

struct sim_crash_ops {
	/* Independent volatile groups now. */
	size_t (*ngroups)(const void *self);
	/* Choices of group G (>= 1; 0 = nothing beyond the base). */
	uint32_t (*nchoices)(const void *self, size_t g);
	/* Emit what choice C of group G makes durable. */
	void (*apply)(const void *self, size_t g, uint32_t c,
		      sim_emit_fn *emit, void *ctx);
	/* One line for humans: what group G is and what choice C means,
	 * e.g. "line 0x1040: stores 1-2 of 3 (trace lines 7, 9)". */
	int (*describe)(const void *self, size_t g, uint32_t c,
			char *buf, size_t len);
	/* Optional: emit, in O(size of the group), exactly the bytes and
	 * values the choices C >= 1 of group G emit between them -- every
	 * range some choice emits lies in the union of what this emits, every
	 * (byte, value) it emits some choice emits, and every (byte, value)
	 * some choice emits it emits -- in pieces of its own choosing.  The
	 * explorer's footprints (reduced enumeration) use it instead of
	 * applying every choice: a torn line has hundreds of choices, a
	 * group of them millions (a 1 MiB bio on pmem-wb: 16,384 lines of
	 * 256). */
	void (*footprint)(const void *self, size_t g, sim_emit_fn *emit, void *ctx);
	/* Optional: true when the rules allow states at this point that the
	 * groups do not offer (histories the model knows it does not
	 * enumerate; the filesystem's background gap, docs/semantics.md
	 * F15, "Not explored").  Reported, never hidden. */
	bool (*unexplored)(const void *self);
};

#endif
