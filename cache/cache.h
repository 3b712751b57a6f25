/*
 * cache.h — the CPU cache hierarchy and the persistent memory behind it.
 *
 * What the module promises (the rules themselves, C1..Cn, are in the essay
 * at the top of cache/cache.c and in docs/semantics.md):
 *   - It takes every CPU event of the trace format (store, ntstore, load,
 *     clflush, clflushopt, clwb, sfence, mfence, rmw, wbinvd, pcommit, each
 *     on cpu=C) through cache_model_ops.event.  Other models (pmem drivers,
 *     the DAX filesystem) issue CPU operations the same way, with a struct
 *     trace_event they build themselves (line 0 is fine).
 *   - Addresses are offsets in the pmem namespace (parameter "pmem.size",
 *     the size of env->media); an access beyond it is rejected with a
 *     message in env->err and -1.
 *   - Everything durable is in env->media.  Everything volatile (dirty cache
 *     lines, unfenced non-temporal stores and flushes, the WPQ on a pcommit
 *     machine) is described by cache_model_ops.crash, a struct
 *     sim_crash_ops: choice 0 of every group is "nothing beyond the base".
 *   - It calls env->step after every internal step that changes what is
 *     durable (a line written back, a fence retiring flushes or NT stores,
 *     a pcommit draining the WPQ).
 *   - It advances env->clock->now by the cycles each event costs the CPU
 *     that issued it.
 *
 * Invariant: every byte of pmem has exactly one newest value, which is in
 * at most one of: a dirty cache line (of one CPU's private levels or the
 * LLC), a write-combining buffer entry (an unfenced ntstore), the WPQ (on a
 * pcommit machine), or else the media.  cache_read_current() returns it.
 */
#ifndef POWERCUT_CACHE_H
#define POWERCUT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../sim/config.h"
#include "../sim/model.h"

/* Make a cache model for env->cfg (parameters from cache_params[]) over
 * env->media.  0, or -1 with env->err set.  *self is then passed to every
 * cache_model_ops function. */
int cache_model_create(void **self, const struct sim_env *env);

/* event, report, destroy, crash (the crash-state interface). */
extern const struct sim_model_ops cache_model_ops;

/* The registration of this model (role SIM_ROLE_CACHE) for sim/models.c. */
struct sim_model_kind;
extern const struct sim_model_kind cache_model_kind;

/* Copy the newest (coherent) contents of [addr, addr+n) into buf, as a load
 * on any CPU would see them, wherever they are: a cache, a buffer, the WPQ
 * or the media.  addr + n <= pmem.size (asserted).  No side effects: no
 * cycles, no statistics, no change to any cache.  O(n / line size). */
void cache_read_current(void *self, uint64_t addr, void *buf, size_t n);

/*
 * A CPU operation a driver or the filesystem issues itself (blockq/'s
 * pmem drivers, fs_model/'s DAX path), not read from a trace: OP on CPU at
 * ADDR; stores, non-temporal stores and rmw carry LEN bytes of BYTES,
 * loads LEN, flushes only ADDR, fences nothing.  LINE is the trace line it
 * is charged to.  As cache_model_ops.event: 0, or -1 with env->err set.
 */
int cache_cpu_op(void *self, enum trace_op op, uint32_t cpu, uint64_t addr, uint64_t len,
		 const uint8_t *bytes, uint64_t line);

/* A persistence fence on CPU: sfence, and pcommit + sfence where the WPQ
 * is volatile (C11) -- Linux 4.5's arch_wmb_pmem().  0 or -1. */
int cache_persist_fence(void *self, uint32_t cpu, uint64_t line);

/*
 * M8's question (blockq/'s pmem drivers, bq_write_may_be_lost): may the
 * power failing now still lose some byte of a store?
 *
 * cache_next_store() is the number the next store will get: store,
 * ntstore and rmw events are numbered one per event (however many lines
 * it writes), on any CPU, in trace order.  O(1).
 *
 * cache_volatile_upto(): whether some line that [addr, addr+len) overlaps
 * holds a store numbered SEQ or lower that has not reached the
 * persistence domain: in the line's cached history, in the WPQ (pcommit
 * machine, C11) or as a pending non-temporal piece (C8).  A line's
 * volatile stores are always the newest of its stores (C2's write-backs
 * take a prefix; C9 and C11 keep the cached, WPQ and NT parts in program
 * order), so a line that still holds an older store still holds every
 * later one, and a line written back after the store and dirtied again
 * holds only higher numbers.  Hence, for the store numbered SEQ that
 * wrote every line of the range: true iff some byte it wrote may still
 * be lost.  (Without histories, cache_keep_history(false), a line's
 * cached store numbers are not kept: any cached store counts.)
 * O(lines of the range); no side effects.
 *
 * cache_durable_gen() changes whenever some store reaches the persistence
 * domain (a write-back, a fence completing flushes or NT stores, a
 * pcommit's fence, an eviction, wbinvd): while it holds still, no answer
 * of cache_volatile_upto() changes from true to false.  O(1).
 */
uint64_t cache_next_store(const void *self);
bool cache_volatile_upto(void *self, uint64_t addr, uint64_t len, uint64_t seq);
uint64_t cache_durable_gen(const void *self);

/*
 * Whether anyone will ask this model for crash states.  A caller that
 * never will (`powercut run` without crash options) may say so, before
 * the first event, with KEEP false: the model then folds each dirty
 * line's stores into its newest bytes instead of keeping them one by one,
 * and its crash interface must not be used (it aborts).  Everything else
 * is as with histories: every figure of report(), every byte written to
 * the media, cache_read_current().  A pcommit machine and lines wider
 * than 64 bytes keep their histories regardless.  Returns whether
 * histories are kept.
 */
bool cache_keep_history(void *self, bool keep);

/* Benchmark (make bench, docs/performance.md): replay N synthetic loads
 * and stores (0: 20 million) through a default model, first without
 * histories (cache_keep_history(false): `powercut run`'s case), then with
 * them (crash states: outcomes, check), print both rates to OUT, the one
 * with histories last, and store that one in *per_second.  0 or -1. */
int cache_bench(FILE *out, uint64_t n, double *per_second);

/* The same on the CPU events of the trace at PATH (its `config` lines
 * applied; payloads replaced by val=/fill:0, which cost the same), e.g. a
 * real program's from `powercut import lackey`.  0 or -1. */
int cache_bench_trace(FILE *out, const char *path, double *per_second);

/* The module's parameters (registered in sim/params.c), NULL-terminated. */
extern const struct sim_param cache_params[];

#endif
