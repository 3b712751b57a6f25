/*
 * explore.h — the crash states at one crash point.
 *
 * At a crash point every model with a crash interface (crash.h) lists its
 * independent volatile groups; the simulator's groups are theirs,
 * concatenated in role order (CACHE, BLOCKQ, FS).  A crash state is one
 * choice per group, so it is a vector of small numbers: printed as
 * "g3=2,g7=1" (groups at choice 0 omitted; "base" when all are 0), it can
 * be parsed back and replayed (sim_state_parse()).
 *
 * Policies (--states):
 *   exhaustive   every state: the product of the groups' choice counts;
 *   bounded:K    every state in which at most K groups leave choice 0 (a
 *                bound on how many volatile items went their own way, as
 *                CrashMonkey bounds reorderings); its count is exact;
 *   sample:K     K states drawn uniformly (each group's choice uniform),
 *                seeded by --seed and the point index: deterministic.
 *
 * Reduced exhaustive enumeration (`check`, pol->reduce, no checker).  The
 * judge is a deterministic function of the image bytes it reads, so two
 * states that agree on every byte a judgement read get the same verdict.
 * The explorer records the ranges each judgement reads (sim_image_read)
 * and walks a decision tree over each group's open choices (first all;
 * its current choice is the lowest open one): judge the current state;
 * take the lowest group whose open choices disagree on the bytes read
 * (which of them each choice emits, and their values) and branch on it,
 * one child per class of choices that agree, the class of the current
 * choice first (this judgement is its judgement); a deeper judgement that
 * reads more may split a class again.  Where no group's open choices
 * disagree, that one judgement decides every completion (their count is
 * the product of the open-choice counts).  Reads the oracle marks
 * *separable* (sim_image_separable) are treated apart: the oracle
 * promises that what they decide is a conjunction of independent
 * predicates over aligned units (8-byte words of a file's data against
 * the versions allowed for each; 512-byte sectors of a block trace's
 * promised sectors), so at a leaf the groups with open choices that emit
 * into separable units are gathered into clusters (groups sharing a
 * unit), and each cluster's combinations are walked with every other
 * group at its current choice, judging a combination only when it shows
 * some unit a value no judgement of the cluster showed it: the
 * violations of a state are the union of its units' values' violations.
 * Each such judgement is checked to read nothing new that a group with
 * open choices could emit; if one does, the leaf falls back to judging
 * every combination of its separable groups.  Exact: the set of
 * (invariant, path) violations per point is the one plain enumeration
 * finds (tests/run_e2e.py compares them with --no-reduce), and every
 * state it reports is a real state that replays.  The count reported is
 * the product, not the judgements.
 *
 * The image of a state is the base media with each group's emitted bytes
 * laid over it.  Moving from one state to the next re-emits only the
 * groups whose choice changed (an odometer: the first group changes every
 * step, the last rarely), so building a state costs O(changed groups), not
 * O(image).
 */
#ifndef POWERCUT_EXPLORE_H
#define POWERCUT_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

enum sim_states_mode {
	SIM_STATES_EXHAUSTIVE,
	SIM_STATES_BOUNDED,
	SIM_STATES_SAMPLE,
};

/* A byte range of the image. */
struct sim_range {
	uint64_t off, len;
};

/* S2: check's default limit of judgements at one point when reduced (K6),
 * where --max-states is not given, for a point with more states than
 * --max-states (a point of fewer keeps --max-states as its limit, as
 * before: the judgements there are at most about its states, a state
 * judged twice only where a node falls back to no separability): at
 * some 25,000 judgements a second on the examples, seconds before a
 * point that needs more is refused (the test suite's largest point
 * takes 6,058 judgements; plain enumeration's 1e8 was an hour a point,
 * append-fsync on pmem with early-complete). */
#define SIM_MAX_JUDGEMENTS	100000u

struct sim_states_policy {
	enum sim_states_mode mode;
	uint64_t k;			/* bounded:K, sample:K */
	uint64_t seed;			/* --seed */
	uint64_t max_states;		/* refuse exhaustive/bounded above this */
	uint64_t max_judgements;	/* reduced, a point of more states: 0 = max_states */
	/*
	 * Relevance (outcomes of mem:, u64:, blk: observations): when set,
	 * a group none of whose choices writes a byte of these ranges is held
	 * at choice 0.  The observations cannot tell its choices apart, so
	 * the set of distinct observations is unchanged, and exact.
	 */
	const struct sim_range *only;
	size_t nonly;
	/*
	 * Reduction (check, exhaustive; see "Reduced exhaustive enumeration"
	 * below).  `reduce` asks for it; `no_reduce` (--no-reduce) forbids
	 * it, so every state is judged one by one.
	 */
	bool reduce, no_reduce;
};

/* Parse "exhaustive", "bounded:K" or "sample:K".  0 or -1. */
int sim_states_parse(const char *s, struct sim_states_policy *p);

/* The durable image of one crash state. */
struct sim_image;
void sim_image_read(const struct sim_image *im, uint64_t off, void *dst, size_t n);
/* The same bytes, not counted as read (K6): for a reader that then reads,
 * through sim_image_read, exactly the part its result depends on. */
void sim_image_peek(const struct sim_image *im, uint64_t off, void *dst, size_t n);
uint64_t sim_image_size(const struct sim_image *im);

/* A stamp of bytes [OFF, OFF+N) of the image, read (and recorded) as
 * sim_image_read would: non-zero when the range lies in one media page
 * that no volatile group's current choice writes, so that equal stamps
 * mean equal bytes (media_stamp); 0 when no stamp can tell.  For memos of
 * what a judgement computed from bytes that did not change. */
uint64_t sim_image_stamp(const struct sim_image *im, uint64_t off, size_t n);
/* The stamps of NBLK blocks of BSIZE bytes from OFF (each within one media
 * page) into OUT, as sim_image_stamp's; true counts the whole run as read.
 * False when a block spans pages, or a patch meets the run, or (reduced
 * enumeration) any choice of any group could write into it: then the
 * caller must read what it needs, so that a judgement depends only on the
 * bytes it looked at (nothing is recorded).  O(log ranges) reduced (the
 * footprints are gathered once per point), O(patches) otherwise. */
bool sim_image_block_stamps(const struct sim_image *im, uint64_t off, uint32_t bsize,
			    uint32_t nblk, uint64_t *out);

/* The stamps of NBLK blocks of BSIZE bytes at offsets OFF[0..NBLK) (each
 * within one media page; any order) into OUT, each on its own, for a
 * caller that reads every block it gets no stamp for, whole: 0 for such a
 * block, where a patch meets it or (reduced enumeration) some choice of
 * some group could *change* its bytes, i.e. emit one other than the
 * base's.  A choice that writes only the bytes the base holds leaves
 * every image's block as the base's, and the judgement records the same
 * reads either way (a stamped block counts as read; adjacent ones as one
 * range), so the reduction branches as if it had read them.  Returns how
 * many were stamped.  OUT may be OFF.  O(NBLK log ranges) reduced,
 * O(NBLK x patches) otherwise. */
size_t sim_image_blocks_stamps(const struct sim_image *im, const uint64_t *off, size_t nblk,
			       uint32_t bsize, uint64_t *out);

/* The reads that follow are separable in aligned units of UNIT bytes (a
 * power of two >= 8), or not (0): see above.  Returns the previous
 * setting.  The clusters of a judgement use the largest unit it named.
 * Outside a reduced enumeration it does nothing. */
unsigned sim_image_separable(const struct sim_image *im, unsigned unit);

/* One state: its image and its choices (ngroups entries). */
struct sim_state {
	const struct sim_image *image;
	const uint32_t *choice;
	size_t ngroups;
	uint64_t index;			/* 0-based, in enumeration order */
	bool must_judge;		/* reduced: the explorer needs this state's
					   reads, so it may not be skipped as an
					   image already judged */
};

typedef int sim_state_fn(void *ctx, const struct sim_state *st);

struct sim_explorer;

int sim_explorer_create(struct sim_explorer **x);
void sim_explorer_destroy(struct sim_explorer *x);

struct sim_point_result {
	uint64_t checked;		/* states covered: passed to the callback,
					   or (reduced) decided by a judgement */
	bool reduced;			/* the reduced enumeration ran */
	uint64_t total;			/* states the policy covers ... */
	bool total_known;		/* ... if it could be counted */
	uint64_t all_states;		/* the exhaustive count (saturated) */
	bool all_known;			/* false if it overflowed 64 bits */
	size_t groups, held;		/* volatile groups; held at 0 by `only` */
};

/* A model's crash interface and the model. */
struct sim_crash_source {
	const struct sim_crash_ops *ops;
	const void *self;
};

/*
 * Enumerate the states over BASE and the volatile groups of SRC[0..NSRC)
 * (in that order) under POL, calling FN for each.  POINT_INDEX seeds
 * sampling.  Returns 0, FN's first non-zero status, or -1 with a message in
 * err (too many states for the policy).
 */
int sim_explore(struct sim_explorer *x, const struct media *base,
		const struct sim_crash_source *src, size_t nsrc,
		const struct sim_states_policy *pol, uint64_t point_index,
		sim_state_fn *fn, void *ctx, struct sim_point_result *res,
		char *err, size_t errlen);

/*
 * The same for the models of S at its current point (role order).  POINT_INDEX seeds sampling.  Returns 0, FN's first non-zero
 * status, or -1 with a message in err (too many states for the policy).
 */
int sim_explore_point(struct sim_explorer *x, struct sim *s,
		      const struct sim_states_policy *pol, uint64_t point_index,
		      sim_state_fn *fn, void *ctx, struct sim_point_result *res,
		      char *err, size_t errlen);

/*
 * Replay one state: gather S's groups at its current point, set the
 * choices printed as ID by sim_state_format(), and call FN once.  Returns
 * FN's status, or -1 with a message in err (a group or choice that does
 * not exist here).
 */
int sim_explore_one(struct sim_explorer *x, struct sim *s, const char *id,
		    sim_state_fn *fn, void *ctx, char *err, size_t errlen);

/* A 128-bit hash of what the state changes over the base: the (offset,
 * byte) pairs of every emitted byte that differs from the base, in group
 * order.  Equal hashes at one crash point mean equal images. */
void sim_image_diff_hash(const struct sim_image *im, uint64_t h[2]);

/*
 * Call FN for every 4 KiB page of the image that is not all zeros, in
 * address order, with its final contents (base with the state's bytes
 * laid over).  Returns the first non-zero status of FN.  With
 * sim_image_hash(), this is how images are materialized and compared
 * across crash points.
 */
int sim_image_for_each_page(const struct sim_image *im,
			    int (*fn)(void *ctx, uint64_t off, const uint8_t *page),
			    void *ctx);

/* A 128-bit hash of the whole image (its non-zero pages and offsets). */
void sim_image_hash(const struct sim_image *im, uint64_t h[2]);

/* Does some model of S say that the rules allow states at its current
 * point that its groups do not offer (crash.h, `unexplored`)? */
bool sim_point_unexplored(struct sim *s);

/* Print a state's choices ("base" or "g3=2,g7=1"). */
void sim_state_format(const uint32_t *choice, size_t ngroups, char *buf, size_t len);

/* Describe each non-zero choice of a state in one line per group (through
 * the models' describe()). */
void sim_state_describe(struct sim *s, const uint32_t *choice, size_t ngroups,
			FILE *out);

#endif
