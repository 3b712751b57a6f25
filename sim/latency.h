/*
 * latency.h — a latency recorder of bounded memory for `powercut run`'s
 * percentiles (fsync/fdatasync/msync calls, bios).
 *
 * L1. The first LAT_EXACT values are kept as they are, so a trace with
 *     fewer calls than that gets exact percentiles.
 * L2. Past that, every value goes into a log-linear histogram: 2^LAT_SUB
 *     buckets per power of two, so a bucket's values differ by less than
 *     1/2^LAT_SUB of the smallest (0.4% with LAT_SUB 8), and each bucket
 *     keeps the largest value it saw.  A percentile is then that largest
 *     value of the bucket its rank falls in: exact when the bucket's
 *     values are equal (a cost model repeats itself), otherwise at most
 *     0.4% above the value of that rank.  Memory: 512 KiB of values,
 *     then 228 KiB of buckets, whatever the count; none per value.
 * L3. Ranks: p50 is the lower median (rank (n - 1) / 2, 0-based), p99
 *     the nearest rank ceil(0.99 n) - 1; the maximum is exact.
 */
#ifndef POWERCUT_LATENCY_H
#define POWERCUT_LATENCY_H

#include <stdbool.h>
#include <stdint.h>

#define LAT_EXACT	65536u
#define LAT_SUB		8u
#define LAT_NBUCKET	((64u - LAT_SUB + 1) << LAT_SUB)

struct lat_rec {
	uint64_t n, max;
	uint64_t *val;			/* L1: the first values, until spilled */
	uint32_t nval, cap;
	bool sorted;
	uint64_t *count, *top;		/* L2: per bucket, once spilled */
};

/* Record V; aborts when memory runs out (as the models' xmalloc). */
void lat_add(struct lat_rec *l, uint64_t v);

/* The value of 0-based RANK among the N recorded (L2, L3); RANK < n. */
uint64_t lat_rank(struct lat_rec *l, uint64_t rank);

static inline uint64_t lat_p50(struct lat_rec *l)
{
	return lat_rank(l, (l->n - 1) / 2);
}

static inline uint64_t lat_p99(struct lat_rec *l)
{
	return lat_rank(l, (l->n * 99 + 99) / 100 - 1);
}

/* How many values lie in [2^k, 2^(k+1)) for each k (0 counts 0 and 1),
 * into COUNT[64]. */
void lat_log2_counts(struct lat_rec *l, uint64_t count[64]);

void lat_free(struct lat_rec *l);

#endif
