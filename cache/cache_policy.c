/*
 * cache_policy.c — replacement policies: LRU, tree-PLRU, seeded random.
 *
 * A set is `ways` consecutive words, each (line << 1) | dirty or
 * CACHE_INVALID (kept as 32-bit tags in a compact level, cache_int.h I7;
 * cache_word_at() and cache_word_put() read and write either layout).
 * The policies differ in where a word lives:
 *
 *   LRU     words stay in their way; a rank per way (cache_int.h, I6)
 *           orders them by recency, 0 the most recent, free ways
 *           (CACHE_INVALID) ranked after every valid word.  A use ranks
 *           its way 0 and moves the ranks below it up one; insertion
 *           fills the way ranked last (a free way while there is one,
 *           else the least recently used line, the victim); a flush
 *           frees its way and ranks it last.  Exactly LRU, with the
 *           victims of Cachegrind's recency-ordered sets (cg_sim.c),
 *           which this model used until 2026-11-24: the words no longer
 *           move, and a set is searched without a branch per way.
 *   PLRU    words stay in their way; a binary tree of ways-1 bits per set
 *           points at the victim (bit i is node i of a heap-ordered tree;
 *           bit set = the victim is in the right half).  Touching a way
 *           points every node on its path away from it.  Ways must be a
 *           power of two (checked when the model is made).
 *   random  words stay in their way; the victim is a free way, else one
 *           drawn by xorshift64 seeded from cache.seed: reproducible.
 *
 * PLRU and random remember the way of the last hit in each set (hint[])
 * and test it first (an MRU-first trick; LRU compares every way at
 * once instead).
 */
#include "cache_int.h"

#include <assert.h>

int cache_wide_find(const struct cache_level *lv, uint64_t set, uint64_t line)
{
	return cache_set_search(lv->word + set * lv->ways, false, lv->ways, line << 1);
}

/* ---- LRU ---- */

static bool lru_touch(struct cache_level *lv, uint64_t set, uint64_t line,
		      uint64_t dirty)
{
	return cache_lru_touch(lv, set, line, dirty);
}

static uint64_t lru_insert(struct cache_level *lv, uint64_t set, uint64_t word)
{
	return cache_lru_insert(lv, set, word);
}

static uint64_t lru_remove(struct cache_level *lv, uint64_t set, uint64_t line)
{
	return cache_lru_remove(lv, set, line);
}

const struct cache_policy cache_policy_lru = {
	.name = "lru",
	.touch = lru_touch,
	.insert = lru_insert,
	.remove = lru_remove,
};

/* ---- shared by PLRU and random: fixed ways, a hint per set ---- */

static inline int fixed_find(struct cache_level *lv, uint64_t set, uint64_t line)
{
	uint32_t h = lv->hint[set];
	uint64_t w = cache_word_at(lv, set, h);

	if ((w >> 1) == line && w != CACHE_INVALID)
		return (int)h;
	return cache_set_find(lv, set, line);
}

static inline int fixed_free_way(struct cache_level *lv, uint64_t set)
{
	for (uint32_t i = 0; i < lv->ways; i++)
		if (cache_word_at(lv, set, i) == CACHE_INVALID)
			return (int)i;
	return -1;
}

static uint64_t fixed_remove(struct cache_level *lv, uint64_t set, uint64_t line)
{
	int i = fixed_find(lv, set, line);
	uint64_t old;

	if (i < 0)
		return CACHE_INVALID;
	old = cache_word_at(lv, set, (uint32_t)i);
	cache_word_put(lv, set, (uint32_t)i, CACHE_INVALID);
	return old;
}

/* ---- tree-PLRU ---- */

static void plru_point_away(struct cache_level *lv, uint64_t set, uint32_t way)
{
	uint32_t bits = lv->plru[set], node = 1, lo = 0, size = lv->ways;

	while (size > 1) {
		uint32_t half = size >> 1;
		if (way < lo + half) {
			bits |= 1u << node;		/* victim to the right */
			node = 2 * node;
		} else {
			bits &= ~(1u << node);		/* victim to the left */
			lo += half;
			node = 2 * node + 1;
		}
		size = half;
	}
	lv->plru[set] = bits;
}

static uint32_t plru_victim(const struct cache_level *lv, uint64_t set)
{
	uint32_t bits = lv->plru[set], node = 1, lo = 0, size = lv->ways;

	while (size > 1) {
		uint32_t half = size >> 1;
		if (bits & (1u << node)) {
			lo += half;
			node = 2 * node + 1;
		} else {
			node = 2 * node;
		}
		size = half;
	}
	return lo;
}

static bool plru_touch(struct cache_level *lv, uint64_t set, uint64_t line,
		       uint64_t dirty)
{
	int i = fixed_find(lv, set, line);

	if (i < 0)
		return false;
	cache_word_or(lv, set, (uint32_t)i, dirty);
	lv->hint[set] = (uint8_t)i;
	plru_point_away(lv, set, (uint32_t)i);
	return true;
}

static uint64_t plru_insert(struct cache_level *lv, uint64_t set, uint64_t word)
{
	int f = fixed_free_way(lv, set);
	uint32_t way = f >= 0 ? (uint32_t)f : plru_victim(lv, set);
	uint64_t victim = cache_word_at(lv, set, way);

	cache_word_put(lv, set, way, word);
	lv->hint[set] = (uint8_t)way;
	plru_point_away(lv, set, way);
	return victim;
}

const struct cache_policy cache_policy_plru = {
	.name = "plru",
	.touch = plru_touch,
	.insert = plru_insert,
	.remove = fixed_remove,
};

/* ---- seeded random ---- */

static bool random_touch(struct cache_level *lv, uint64_t set, uint64_t line,
			 uint64_t dirty)
{
	int i = fixed_find(lv, set, line);

	if (i < 0)
		return false;
	cache_word_or(lv, set, (uint32_t)i, dirty);
	lv->hint[set] = (uint8_t)i;
	return true;
}

static uint64_t random_insert(struct cache_level *lv, uint64_t set, uint64_t word)
{
	int f = fixed_free_way(lv, set);
	uint32_t way;
	uint64_t victim;

	if (f >= 0) {
		way = (uint32_t)f;
	} else {
		uint64_t x = lv->rng;		/* xorshift64 (Marsaglia 2003) */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		lv->rng = x;
		way = (uint32_t)(x % lv->ways);
	}
	victim = cache_word_at(lv, set, way);
	cache_word_put(lv, set, way, word);
	lv->hint[set] = (uint8_t)way;
	return victim;
}

const struct cache_policy cache_policy_random = {
	.name = "random",
	.touch = random_touch,
	.insert = random_insert,
	.remove = fixed_remove,
};

const struct cache_policy *cache_policy_by_id(enum cache_policy_id id)
{
	switch (id) {
	case CACHE_POLICY_LRU:
		return &cache_policy_lru;
	case CACHE_POLICY_PLRU:
		return &cache_policy_plru;
	case CACHE_POLICY_RANDOM:
		return &cache_policy_random;
	}
	assert(0);
	return &cache_policy_lru;
}
