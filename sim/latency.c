/*
 * latency.c — the latency recorder (latency.h, L1-L3).
 */
#include "latency.h"

#include <stdlib.h>
#include <string.h>

static unsigned log2_u64(uint64_t v)
{
	return v > 1 ? 63u - (unsigned)__builtin_clzll(v) : 0;
}

/* L2: values below 2^LAT_SUB have a bucket each; above, bucket width
 * 2^s where s = log2(v) - LAT_SUB, numbered on from there. */
static uint32_t bucket_of(uint64_t v)
{
	unsigned s;

	if (v < (1ull << LAT_SUB))
		return (uint32_t)v;
	s = log2_u64(v) - LAT_SUB;
	return ((s + 1) << LAT_SUB) + (uint32_t)((v >> s) - (1ull << LAT_SUB));
}

static unsigned octave_of_bucket(uint32_t b)
{
	return b < (1u << LAT_SUB) ? log2_u64(b) : (b >> LAT_SUB) - 1 + LAT_SUB;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	return p;
}

static void bucket_add(struct lat_rec *l, uint64_t v)
{
	uint32_t b = bucket_of(v);

	l->count[b]++;
	if (v > l->top[b])
		l->top[b] = v;
}

void lat_add(struct lat_rec *l, uint64_t v)
{
	l->n++;
	if (v > l->max)
		l->max = v;
	if (l->count) {
		bucket_add(l, v);
		return;
	}
	if (l->nval < LAT_EXACT) {
		if (l->nval == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->val = realloc(l->val, l->cap * sizeof(*l->val));
			if (!l->val)
				abort();
		}
		l->val[l->nval++] = v;
		l->sorted = false;
		return;
	}
	/* spill: the kept values into the histogram, then this one */
	l->count = xcalloc(LAT_NBUCKET, sizeof(*l->count));
	l->top = xcalloc(LAT_NBUCKET, sizeof(*l->top));
	for (uint32_t i = 0; i < l->nval; i++)
		bucket_add(l, l->val[i]);
	free(l->val);
	l->val = NULL;
	l->nval = l->cap = 0;
	bucket_add(l, v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t lat_rank(struct lat_rec *l, uint64_t rank)
{
	uint64_t seen = 0;

	if (!l->count) {
		if (!l->sorted) {
			qsort(l->val, l->nval, sizeof(*l->val), cmp_u64);
			l->sorted = true;
		}
		return l->val[rank];
	}
	for (uint32_t b = 0; b < LAT_NBUCKET; b++) {
		seen += l->count[b];
		if (seen > rank)
			return l->top[b];
	}
	return l->max;
}

void lat_log2_counts(struct lat_rec *l, uint64_t count[64])
{
	memset(count, 0, 64 * sizeof(*count));
	if (!l->count) {
		for (uint32_t i = 0; i < l->nval; i++)
			count[log2_u64(l->val[i])]++;
		return;
	}
	for (uint32_t b = 0; b < LAT_NBUCKET; b++)
		count[octave_of_bucket(b)] += l->count[b];
}

void lat_free(struct lat_rec *l)
{
	free(l->val);
	free(l->count);
	free(l->top);
	memset(l, 0, sizeof(*l));
}
