/*
 * cache_int.h — the cache model's private structures, shared by the cache/ sources
 * and the module's tests (tests/check_cache.c).  Nothing outside cache/
 * and its tests includes this file.
 *
 * Invariants (checked by cache_check_invariants() in the tests):
 *   I1  Every byte of pmem has one newest value.  It is, from newest to
 *       oldest: in a pending non-temporal piece of its line record
 *       (rec->nt), in a store of its line record's history (rec->wr), or
 *       in the media.  cache_read_current() overlays them in that order.
 *   I2  A line record exists iff it holds something volatile: rec->nwr > 0
 *       or rec->nnt > 0.  Records are the slots of an open-addressing
 *       table (m->rec, linear probing, no gap between a line's home slot
 *       and its record); an empty slot has nline 0.  rec->wr
 *       is rec->u.inl or rec->h.heap (no history: neither is used).
 *   I3  History order is program (coherence) order: rec->wr[i].seq rises,
 *       but for a pcommit machine's runs of drained NT pieces (ntd != 0),
 *       which are in drain order: ntd does not fall along a run, each
 *       chunk's pieces are in program order, and every piece of a run is
 *       newer than the entries before the run and older than those after
 *       it.  The first rec->nwpq entries are in the WPQ (pcommit machine
 *       only; 0 elsewhere), the rest in the caches.
 *   I4  While a record has pending NT pieces its history is entirely in
 *       the WPQ (nwpq == nwr): an ntstore first writes the cached part back
 *       (C9), and a cached store first drains the line's NT pieces (C9).
 *   I5  On an eadr machine no record has history (caches are durable, C12).
 *   I6  A cache word is (line number << 1) | dirty, or CACHE_INVALID.  In
 *       an LRU set the ranks of the ways (lv->rank) are a permutation of
 *       0..ways-1, the valid words ranked in recency order (0 the most
 *       recent) and the free ways (CACHE_INVALID) ranked after all of
 *       them, so an insertion fills a free way before it evicts.
 *   I7  A level is compact when every line's tag (line >> set_shift)
 *       fits in 31 bits below all ones (decided when the model is made,
 *       from pmem.size, cache.line and the level's sets): it keeps a
 *       32-bit tag per way, (line >> set_shift) << 1 | dirty or
 *       CACHE_TAG_INVALID, in lv->tag, and lv->word is NULL.  Otherwise
 *       it is wide: 64-bit words in lv->word, lv->tag NULL.  Both say
 *       the same thing; cache_word_at() and cache_word_put() convert.
 */
#ifndef POWERCUT_CACHE_INT_H
#define POWERCUT_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache.h"
#include "../sim/crash.h"

#define CACHE_INVALID	UINT64_MAX
#define CACHE_TAG_INVALID UINT32_MAX
#define CACHE_TAG_MAX	0x7ffffffeu	/* tag << 1 | 1 stays below all ones */
#define CACHE_MAX_WAYS	32
#define CACHE_MAX_LINE	128		/* 16 tear units: 2^16-2 tears */
#define CACHE_CHUNK	8		/* C7: the failure-atomic unit */
#define CACHE_MAX_HCHOICES (1u << 24)	/* history choices per line */
#define CACHE_MAX_NTCHOICES (1u << 16)	/* NT-piece choices per line */

enum cache_level_id { CACHE_L1D, CACHE_L2, CACHE_LLC, CACHE_NLEVELS };

enum cache_policy_id { CACHE_POLICY_LRU, CACHE_POLICY_PLRU, CACHE_POLICY_RANDOM };

struct cache_level;

/* A replacement policy (STYLE 4).  Words are (line << 1) | dirty. */
struct cache_policy {
	const char *name;
	/* If LINE is in SET: make it most recent, OR DIRTY into its word,
	 * return true.  The hot path: O(ways), MRU way first. */
	bool (*touch)(struct cache_level *lv, uint64_t set, uint64_t line,
		      uint64_t dirty);
	/* Put WORD (absent from SET) in as most recent; return the word it
	 * evicted, or CACHE_INVALID if a way was free.  O(ways). */
	uint64_t (*insert)(struct cache_level *lv, uint64_t set, uint64_t word);
	/* Take LINE out of SET; return its word or CACHE_INVALID.  O(ways). */
	uint64_t (*remove)(struct cache_level *lv, uint64_t set, uint64_t line);
};

extern const struct cache_policy cache_policy_lru;
extern const struct cache_policy cache_policy_plru;
extern const struct cache_policy cache_policy_random;

struct cache_level {
	const struct cache_policy *pol;
	uint32_t *tag;		/* compact (I7): sets * ways tags, set-major,
				   then CACHE_WORD_PAD CACHE_TAG_INVALID */
	uint64_t *word;		/* wide (tag NULL): sets * ways words, then
				   CACHE_WORD_PAD words CACHE_INVALID */
	uint32_t set_shift;	/* log2(sets) */
	uint8_t *rank;		/* LRU: sets * ways recency ranks, then
				   CACHE_RANK_PAD bytes (I6) */
	uint8_t lane_in[32];	/* 0xff in [0, ways), 0 after */
	uint32_t *plru;		/* PLRU: tree bits per set (node i = bit i) */
	uint8_t *hint;		/* PLRU, random: way of the last hit per set */
	uint64_t set_mask;	/* sets - 1 (sets is a power of two) */
	uint32_t ways;
	uint32_t latency;	/* load-to-use cycles on a hit here */
	uint64_t rng;		/* random: xorshift64 state */
	bool present;		/* size 0 means no such level */
	uint64_t hits, misses, wmisses;	/* wmisses: misses of stores */
};

/*
 * LRU as recency ranks (I6).  Each way keeps its word where it was put;
 * rank[set * ways + i] is way i's place in the recency order, 0 the most
 * recent.  A set's ranks are a permutation of 0..ways-1 and its free ways
 * (CACHE_INVALID) hold the highest ranks, so the way ranked ways-1 is the
 * one to fill: a free way while there is one, else the least recently
 * used line.  That is exactly the old recency-ordered set (words shifted
 * down on each use, Cachegrind's cg_sim.c), with the same victims; only
 * the words no longer move.
 *
 * Why: on a random stream the old set search was a loop whose exit was
 * mispredicted about once an access, and a hit at way i moved i words:
 * the way search and shifts were ~60 Ir per access of the synthetic
 * stream (callgrind, cache_bench() of 2 M).  Here a search compares
 * every way of the set at once, with no branch per way (SSE2: 8 ways in
 * 4 compares and 3 packs), and a use updates the ranks with 3 vector
 * operations per 16 ways.  More instructions (289 -> 307 Ir per access),
 * no mispredicted loop exits: the synthetic stream's 16 KiB region
 * alone 49 -> 80 M/s, the whole stream 1.11x (thread CPU time, medians
 * of A/B rounds; docs/performance.md, "Cache model: LRU sets as ranks").
 */
#define CACHE_WORD_PAD	8	/* a search reads whole groups of 8 words */
#define CACHE_RANK_PAD	32	/* a rank update reads whole 16-byte groups */

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Which of the 8 words W[0, 8) hold KEY = line << 1, dirty or not: bit
 * 2i (and 2i+1) for word i.  (w | 1) == (key | 1) as two 32-bit halves
 * (SSE2: 8 ways in 4 compares and 3 packs); CACHE_INVALID | 1 is all
 * ones, which no key | 1 is (a line number has < 63 bits). */
static inline uint32_t cache_match8_words(const uint64_t *w, uint64_t key)
{
#if defined(__SSE2__)
	const __m128i k = _mm_set1_epi64x((long long)(key | 1));
	const __m128i one = _mm_set1_epi64x(1);
	const __m128i *p = (const __m128i *)(const void *)w;
	__m128i a = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p), one), k);
	__m128i b = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p + 1), one), k);
	__m128i c = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p + 2), one), k);
	__m128i d = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p + 3), one), k);
	/* two bytes per way, then bit 2i set iff both halves of way i
	 * matched */
	uint32_t bits = (uint32_t)_mm_movemask_epi8(
		_mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d)));

	return bits & bits >> 1 & 0x5555;
#else
	uint32_t bits = 0;

	for (uint32_t i = 0; i < 8; i++)
		bits |= (uint32_t)((w[i] ^ key) < 2) << 2 * i;
	return bits;
#endif
}

/* The same for 8 tags T[0, 8) of a compact level (I7) and KEY = tag << 1,
 * one bit per way (bit i): half the bytes, 8 ways in 2 compares. */
static inline uint32_t cache_match8_tags(const uint32_t *t, uint32_t key)
{
#if defined(__SSE2__)
	const __m128i k = _mm_set1_epi32((int)(key | 1));
	const __m128i one = _mm_set1_epi32(1);
	const __m128i *p = (const __m128i *)(const void *)t;
	__m128i a = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p), one), k);
	__m128i b = _mm_cmpeq_epi32(_mm_or_si128(_mm_loadu_si128(p + 1), one), k);

	return (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(a)) |
	       (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(b)) << 4;
#else
	uint32_t bits = 0;

	for (uint32_t i = 0; i < 8; i++)
		bits |= (uint32_t)((t[i] | 1) == (key | 1)) << i;
	return bits;
#endif
}

/* The way of a set holding KEY, or -1: words W (TAGS false, KEY = line
 * << 1) or tags (TAGS true, KEY = tag << 1).  Reads the set's entries
 * [0, ways rounded up to 8): the level's pad keeps that in bounds, and
 * an entry past the set (another set's line, or the pad's invalid ones)
 * cannot match below WAYS.  O(ways), branch-free per group of 8. */
static inline __attribute__((always_inline)) int
cache_set_search(const void *w, bool tags, uint32_t ways, uint64_t key)
{
	uint32_t j = 0;

	do {
		uint32_t bits = tags ? cache_match8_tags((const uint32_t *)w + j, (uint32_t)key)
				     : cache_match8_words((const uint64_t *)w + j, key);
		if (bits) {
			uint32_t i = j + (uint32_t)__builtin_ctz(bits) / (tags ? 1 : 2);
			return i < ways ? (int)i : -1;
		}
		j += 8;
	} while (j < ways);
	return -1;
}

/* cache_set_find() in a wide level (cache_policy.c): out of line, so
 * that the compact search inlined everywhere stays small. */
int cache_wide_find(const struct cache_level *lv, uint64_t set, uint64_t line);

/* The way of SET in LV holding LINE, or -1 (I7: either layout).  Forced
 * inline: as a call it cost 17 Ir per access of the hot region, with the
 * wide search inline too 6-19 (callgrind, cache_bench()'s regions). */
static inline __attribute__((always_inline)) int
cache_set_find(const struct cache_level *lv, uint64_t set, uint64_t line)
{
	if (__builtin_expect(!lv->tag, 0))
		return cache_wide_find(lv, set, line);
	return cache_set_search(lv->tag + set * lv->ways, true, lv->ways,
				(uint32_t)(line >> lv->set_shift) << 1);
}

/* Way I of SET as a word, (line << 1) | dirty or CACHE_INVALID. */
static inline uint64_t cache_word_at(const struct cache_level *lv, uint64_t set, uint32_t i)
{
	if (lv->tag) {
		uint32_t t = lv->tag[set * lv->ways + i];
		if (t == CACHE_TAG_INVALID)
			return CACHE_INVALID;
		return ((uint64_t)(t >> 1) << lv->set_shift | set) << 1 | (t & 1);
	}
	return lv->word[set * lv->ways + i];
}

/* Way I of SET := WORD (a line of SET, or CACHE_INVALID). */
static inline void cache_word_put(struct cache_level *lv, uint64_t set, uint32_t i, uint64_t word)
{
	if (lv->tag)
		lv->tag[set * lv->ways + i] = word == CACHE_INVALID ? CACHE_TAG_INVALID :
			(uint32_t)((word >> 1 >> lv->set_shift) << 1 | (word & 1));
	else
		lv->word[set * lv->ways + i] = word;
}

/* OR DIRTY (0 or 1) into way I of SET, a valid way. */
static inline void cache_word_or(struct cache_level *lv, uint64_t set, uint32_t i, uint64_t dirty)
{
	if (lv->tag)
		lv->tag[set * lv->ways + i] |= (uint32_t)dirty;
	else
		lv->word[set * lv->ways + i] |= dirty;
}

/* Make way I of the set with ranks RK the most recent: every rank below
 * its rank goes up one.  Branch-free; reads and writes RK[0, ways rounded
 * up to 16) but changes only RK[0, ways) (LANE_IN: the level's
 * lane_in[], 0xff below ways: a loaded mask, where building it cost ~5
 * Ir a call). */
static inline void cache_rank_use(uint8_t *rk, uint32_t ways, uint32_t i,
				  const uint8_t *lane_in)
{
	uint8_t r = rk[i];
#if defined(__SSE2__)
	const __m128i rv = _mm_set1_epi8((char)r);
	uint32_t j = 0;

	do {
		__m128i *p = (__m128i *)(void *)(rk + j);
		__m128i v = _mm_loadu_si128(p);
		__m128i in = _mm_loadu_si128((const __m128i *)(const void *)(lane_in + j));
		__m128i lt = _mm_and_si128(_mm_cmplt_epi8(v, rv), in);
		_mm_storeu_si128(p, _mm_sub_epi8(v, lt));	/* -(-1): +1 */
		j += 16;
	} while (j < ways);
#else
	(void)lane_in;
	for (uint32_t j = 0; j < ways; j++)
		rk[j] += rk[j] < r;
#endif
	rk[i] = 0;
}

/* The opposite: way I becomes the least recent (a flush freed it): every
 * rank above its rank goes down one. */
static inline void cache_rank_drop(uint8_t *rk, uint32_t ways, uint32_t i)
{
	uint8_t r = rk[i];

	for (uint32_t j = 0; j < ways; j++)
		rk[j] -= rk[j] > r;
	rk[i] = (uint8_t)(ways - 1);
}

/* The way ranked ways-1: the free way to fill or the victim.  O(ways).
 * LANE_IN is the level's lane_in[]: a lane past the set may hold ways-1
 * too, and the mask keeps the first match below ways (a loaded mask, where
 * building it from ways - j was ~7 Ir a call, 5 calls an access of the
 * synthetic stream's 64 MiB region: callgrind, helper-29). */
static inline uint32_t cache_rank_last(const uint8_t *rk, uint32_t ways, const uint8_t *lane_in)
{
#if defined(__SSE2__)
	const __m128i last = _mm_set1_epi8((char)(ways - 1));
	uint32_t j = 0;

	do {
		uint32_t bits = (uint32_t)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(rk + j)), last),
			_mm_loadu_si128((const __m128i *)(const void *)(lane_in + j))));
		if (bits)
			return j + (uint32_t)__builtin_ctz(bits);
		j += 16;
	} while (j < ways);
	return 0;			/* not reached: the ranks are a permutation */
#else
	(void)lane_in;
	for (uint32_t j = 0; j < ways; j++)
		if (rk[j] == ways - 1)
			return j;
	return 0;
#endif
}

/* LRU's touch, inlined into the hot path (cache.c calls it directly when
 * the policy is LRU; the ops table stays the interface; measured with
 * the old recency-ordered sets on L1D-hit loads: 49.7 -> 51.3 M/s): if
 * LINE is in SET, make it the most recent, OR DIRTY into its word,
 * return true.  No MRU-first test: a hint per set tested first gained
 * 1.09x on `ls` but lost 0.92x on the synthetic stream (A/B). */
static inline bool cache_lru_touch(struct cache_level *lv, uint64_t set,
				   uint64_t line, uint64_t dirty)
{
	int i = cache_set_find(lv, set, line);

	if (i < 0)
		return false;
	cache_word_or(lv, set, (uint32_t)i, dirty);
	cache_rank_use(lv->rank + set * lv->ways, lv->ways, (uint32_t)i, lv->lane_in);
	return true;
}

/* LRU's insert: WORD (absent from SET) goes into the way ranked last and
 * becomes the most recent.  Returns the word it replaced: the victim, or
 * CACHE_INVALID if the way was free (I6: free ways are ranked last, so
 * no line is evicted while one is free).  cache_policy.c's lru_insert
 * calls it. */
static inline uint64_t cache_lru_insert(struct cache_level *lv, uint64_t set,
					uint64_t word)
{
	uint8_t *rk = lv->rank + set * lv->ways;
	uint32_t v = cache_rank_last(rk, lv->ways, lv->lane_in);
	uint64_t victim = cache_word_at(lv, set, v);

	cache_word_put(lv, set, v, word);
	cache_rank_use(rk, lv->ways, v, lv->lane_in);
	return victim;
}

/* LRU's remove: take LINE out of SET, leaving its way free and ranked
 * last (I6), return its word or CACHE_INVALID.  Every flush purges the
 * line from every level (perf, `powercut run` of a 10M-event gen_trace
 * CPU trace: line_purge + lru_remove through the table 6.9% -> 5.7%). */
static inline uint64_t cache_lru_remove(struct cache_level *lv, uint64_t set,
					uint64_t line)
{
	int i = cache_set_find(lv, set, line);
	uint64_t old;

	if (i < 0)
		return CACHE_INVALID;
	old = cache_word_at(lv, set, (uint32_t)i);
	cache_word_put(lv, set, (uint32_t)i, CACHE_INVALID);
	cache_rank_drop(lv->rank + set * lv->ways, lv->ways, (uint32_t)i);
	return old;
}

/* Copy a store's piece (and mark it touched).  Most pieces are 8 bytes:
 * a constant-size memcpy is one move, where the variable one compiled to
 * `rep movsq` (perf: rec_persist_prefix took 27% of the store bench, all
 * on that instruction).  Measured: 25.8 -> 27.4 M accesses/s on 30%
 * stores to an L1-resident region. */
static inline void cache_copy_piece(uint8_t *dst, uint8_t *touched,
				    const uint8_t *src, uint32_t n)
{
	if (n == 8) {
		uint64_t x, one = 0x0101010101010101ULL;
		memcpy(&x, src, 8);
		memcpy(dst, &x, 8);
		if (touched)
			memcpy(touched, &one, 8);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		dst[i] = src[i];
		if (touched)
			touched[i] = 1;
	}
}

/* One store's piece in one line, or one NT piece (within one 8-byte
 * chunk).  A piece of at most 8 bytes (every NT piece, and nearly every
 * store) keeps its bytes in the entry; a wider one in the record's byte
 * log.  cache_wr_data() finds them.  Measured (cache_bench(), perf): the
 * store path's misses were on the history entry and on the separate byte
 * log; inline bytes drop the second, with no growth of the entry (32
 * bytes either way), and the log's growth and compaction: 281 -> 270 Ir
 * per access (callgrind, cache_bench() of 2 M). */
struct cache_wr {
	uint64_t seq;		/* global store number: program order */
	uint64_t tline : 48;	/* trace line (describe()) */
	uint64_t ntd : 16;	/* a drained NT piece in the history of a
				   pcommit machine: the line's NT epoch
				   after its drain (>= 1); 0 otherwise */
	union {
		uint8_t in[CACHE_CHUNK];	/* len <= CACHE_CHUNK: the bytes */
		uint32_t at;		/* len > CACHE_CHUNK: offset in the log */
	} b;
	uint16_t nte;		/* an NT piece on a pcommit machine: the
				   line's NT epoch when it was stored */
	uint8_t cpu;
	uint8_t off, len;	/* bytes [off, off+len) of the line */
	uint8_t nchunk;		/* 8-byte chunks touched: C7 tear units */
	uint8_t chunk0;		/* first chunk touched */
};
_Static_assert(sizeof(struct cache_wr) == 32, "a history entry is 32 bytes");

/* The rare parts of a record, allocated the first time its slot needs
 * them and kept with the slot: the byte log of stores wider than 8 bytes
 * and, in the no-history mode, the closed segments. */
struct cache_seg;
struct cache_rext {
	uint8_t *bytes;		/* byte log of wr[] pieces wider than 8 bytes */
	uint32_t nbytes, bytes_cap;
	struct cache_seg *seg;	/* no-history mode: closed segments, oldest first */
	uint32_t nseg, seg_cap;
	uint32_t seg_nwr, seg_hc;	/* their entries and history choices */
	uint32_t nnthist;	/* pcommit: drained NT pieces in wr[] (ntd != 0) */
	uint16_t ntepoch;	/* pcommit: the line's NT epoch, raised by each
				   drain of its NT pieces (cache.c, C11) */
	/* pcommit, nnthist != 0: the NT segments' tables, rebuilt when the
	 * crash view counts the record's choices (cache_crash.c) */
	struct cache_ntseg *segs;
	uint32_t nsegs, segs_cap;
	struct cache_ntrow *rows;
	uint32_t nrows, rows_cap;
};

/* One NT segment of a record (cache_crash.c, "NT segments"): history
 * entries [j0, j1) and, if pend, the pending pieces; its non-empty
 * down-sets, and its rows [row, row + nrow). */
struct cache_ntseg {
	uint32_t j0, j1;
	bool pend;
	uint32_t row, nrow;
	uint64_t nonempty;
};

/* One epoch E in which pieces of a segment were stored: the non-empty
 * down-sets of the epochs before it, and per chunk (below nch) the pieces
 * drained by E (lo), stored before E (up) and stored in E (add). */
struct cache_ntrow {
	uint64_t before;
	uint32_t nch;		/* chunks [0, nch) hold the segment's pieces */
	uint32_t lo[CACHE_MAX_LINE / CACHE_CHUNK];
	uint32_t up[CACHE_MAX_LINE / CACHE_CHUNK];
	uint32_t add[CACHE_MAX_LINE / CACHE_CHUNK];
};

/* A closed segment of the no-history mode (cache.c, "No history"): the
 * stores to a line between two flushes whose fence has not come yet,
 * folded into the bytes they leave. */
struct cache_seg {
	uint64_t seq_end;	/* its stores are older than this store number */
	uint64_t mask;		/* bytes they touched */
	uint32_t nwr, hc;	/* how many, and their share of hchoices */
	uint8_t img[64];	/* the newest of them, where mask says */
};

/* The volatile state of one line (I2): 128 bytes, one slot of the record
 * table (cache.c, "Line records"), the first CACHE_INL_WR stores of its
 * history inline.  In the no-history mode the inline area holds the
 * line's newest bytes instead. */
#define CACHE_INL_WR	2
struct cache_rec {
	uint64_t nline;		/* ~(line number): 0 in an empty slot, so
				   that fresh zero pages are empty slots */
	struct cache_wr *wr;	/* history since the last durable point:
				   u.inl, or h.heap once it outgrew it */
	union {
		struct cache_wr *heap;	/* history buffer, kept with the slot */
		uint64_t mask;		/* no history: bytes in u.img */
	} h;
	struct cache_wr *nt;	/* pending NT pieces, program order */
	struct cache_rext *x;	/* NULL until needed; kept with the slot */
	uint32_t nwr, heap_cap;
	uint32_t nwpq;		/* wr[0, nwpq) are in the WPQ (pcommit) */
	uint32_t nnt, nt_cap;
	uint32_t hchoices;	/* 1 + sum over wr of (1 + tears) */
	union {
		struct cache_wr inl[CACHE_INL_WR];
		uint8_t img[64];	/* no history: the newest bytes */
	} u;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct cache_rec) == 128, "a record is two host cache lines");

/* The tears of a history entry touching NCHUNK 8-byte chunks (C7). */
static inline uint32_t tears_of(uint32_t nchunk)
{
	return (1u << nchunk) - 2;
}

/* The line number of a live record. */
static inline uint64_t cache_rec_line(const struct cache_rec *r)
{
	return ~r->nline;
}

/* The bytes of W, an entry of R's wr[] or nt[]. */
static inline const uint8_t *cache_wr_data(const struct cache_rec *r,
					   const struct cache_wr *w)
{
	return w->len <= CACHE_CHUNK ? w->b.in : r->x->bytes + w->b.at;
}

/* A flush, NT drain or pcommit waiting for this CPU's next fence. */
enum cache_pend_kind { CACHE_PEND_FLUSH, CACHE_PEND_NT, CACHE_PEND_COMMIT };
struct cache_pend {
	uint64_t line;
	uint64_t seq;		/* FLUSH: entries with seq < this; COMMIT:
				   the seq of the newest WPQ entry ... */
	enum cache_pend_kind kind;
	uint8_t chunk;		/* ... COMMIT: and its chunk0 */
};

struct cache_cpu {
	struct cache_level lv[2];	/* L1D, L2: private */
	struct cache_pend *pend;
	size_t npend, pend_cap;
	uint64_t busy_until;	/* outstanding write-backs accepted by then */
	uint64_t llc_hits, llc_misses;	/* this CPU's lookups in the shared LLC */
};

/* The crash view (cache_crash.c): the groups, one per volatile record,
 * sorted by line, kept up to date from the lines marked when their
 * records change (cache_rec_changed).  Invariant, whenever a crash query
 * has just brought it up to date: line[0, n) are exactly the lines whose
 * records hold something volatile (I2), ascending, and nchoices[g] is
 * line[g]'s choice count. */
struct cache_view {
	uint64_t *line;		/* group g's line, ascending */
	uint32_t *nchoices;	/* group g's choices */
	uint32_t *rec;		/* group g's slot when last seen (a hint: a
				   record moves when the table grows or a
				   deletion shifts it back) */
	size_t n, cap;
	uint64_t *dirty;	/* lines changed since, in marking order,
				   repeats allowed */
	size_t ndirty, dirty_cap;
	bool stale;		/* rebuild from the record table: at first,
				   and when dirty outgrew the records */
	uint64_t *ksort, *ktmp;	/* radix sort scratch, kcap each */
	uint32_t *kidx;		/* the rebuild's slots, 2 * kcap */
	size_t kcap;
	uint64_t *mline;	/* the merge's scratch, cap of each */
	uint32_t *mnc, *mrec;
	struct cache_ntev *ntev;	/* cache_nt_downsets()'s scratch */
	size_t ntev_cap;
};

/* An event of a pcommit machine's NT segment (cache_crash.c, "NT
 * segments"): at epoch EP a piece of chunk CH was stored (DRAINED 0) or
 * drained into the WPQ (DRAINED 1). */
struct cache_ntev {
	uint32_t ep;
	uint8_t ch, drained;
};

/* The start of R's trailing run of drained NT pieces (the history entries
 * with ntd != 0 at its end): nwr if there is none. */
static inline uint32_t cache_nt_run_start(const struct cache_rec *r)
{
	uint32_t j = r->nwr;

	while (j && r->wr[j - 1].ntd)
		j--;
	return j;
}

struct cache_model;

/* The down-sets (the empty one included) of the NT segment made of R's
 * history entries [J0, J1), all drained NT pieces, and, if PEND, its
 * pending NT pieces, and, if XC >= 0, one more pending piece in chunk XC
 * stored at epoch XE: a pcommit machine's choices for it (cache_crash.c).
 * Saturates at 2^40. */
uint64_t cache_nt_downsets(const struct cache_model *m, const struct cache_rec *r,
			   uint32_t j0, uint32_t j1, bool pend, int xc, uint32_t xe);

struct cache_stats {
	uint64_t loads, stores, ntstores, rmws;
	uint64_t clflush, clflushopt, clwb, sfence, mfence, wbinvd, pcommit;
	uint64_t fence_stall;		/* cycles fences waited */
	uint64_t writebacks;		/* dirty lines sent to the memory controller */
	uint64_t capacity_writebacks;	/* C2 write-backs forced by history limits */
	uint64_t nt_lines;		/* NT pieces' lines sent to the WPQ */
	uint64_t cycles;		/* cycles charged by this model */
};

struct cache_model {
	const struct sim_env *env;
	struct media *media;
	enum sim_machine machine;
	uint64_t pmem_size;
	uint32_t line_shift, line_size, ncpu;
	bool inclusive;
	struct cache_cpu *cpu;
	struct cache_level llc;
	int last;			/* the last present level, CACHE_* */

	/* latencies and costs (cycles) */
	uint32_t mem_latency, wc_latency, flush_latency;
	uint32_t sfence_latency, mfence_latency, rmw_latency;
	uint32_t wbinvd_latency, pcommit_latency;
	uint32_t wpq_entries, wpq_latency, wpq_drain;
	uint64_t wpq_drain_done;	/* the WPQ is empty from then on */

	/* volatile state */
	uint64_t seq;			/* next store number */
	uint32_t history_max;		/* per line (cache.history) */
	uint64_t history_total_max, history_total;
	bool nohist;			/* no crash states: histories folded */
	struct cache_rec *rec;		/* the record table: rec[0, nrec) */
	uint32_t nrec;			/* slots, a power of two */
	uint32_t nlive;			/* live records (at most nrec / 2) */
	uint64_t durable_gen;		/* bumped when a store becomes durable
					   (cache_durable_gen) */
	struct cache_view *view;

	/* cache_event()'s fast path (cache.c): */
	struct sim_clock *clock;	/* env->clock, one load nearer */
	uint64_t fast_end;		/* pmem_size rounded down to a line */
	bool fast;			/* one CPU, an LRU L1D of 32-bit tags */

	struct cache_stats st;
};

/* cache.c */
struct cache_rec *cache_rec_find(struct cache_model *m, uint64_t line);
void cache_rec_overlay(const struct cache_model *m, const struct cache_rec *r,
		       uint8_t *buf, uint8_t *touched);
/* cache_crash.c */
extern const struct sim_crash_ops cache_crash_ops;
void cache_view_free(struct cache_view *v);
void cache_view_overflow(struct cache_model *m, uint64_t line);
/* Test hook: the next crash query rebuilds the view from the record
 * table (what the incremental view must equal). */
void cache_view_forget(struct cache_model *m);

/* R's volatile contents changed (it became volatile, gained or lost
 * entries or NT pieces, or stopped being volatile): mark its line for the
 * crash view.  O(1): consecutive marks of one line are one entry, and a
 * full list hands over to cache_view_overflow(). */
static inline void cache_rec_changed(struct cache_model *m, const struct cache_rec *r)
{
	struct cache_view *v = m->view;
	uint64_t line = cache_rec_line(r);

	if (m->nohist || v->stale || (v->ndirty && v->dirty[v->ndirty - 1] == line))
		return;
	if (__builtin_expect(v->ndirty == v->dirty_cap, 0)) {
		cache_view_overflow(m, line);
		return;
	}
	v->dirty[v->ndirty++] = line;
}
/* cache_policy.c */
const struct cache_policy *cache_policy_by_id(enum cache_policy_id id);
/* Test hook: check I1-I6; returns NULL or what is broken. */
const char *cache_check_invariants(const struct cache_model *m);

#endif
