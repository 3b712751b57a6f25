/*
 * bq_crash.c — what the device could hold if the power failed now: the
 * block queue's side of sim/crash.h.
 *
 * Method.  One volatile group per atomic unit that some pending write
 * touches (I1).  Its choices are the distinct images the unit can have
 * after a power cut, built from the unit's pre-image (I2) and its pending
 * versions:
 *
 *   - A unit's media content is the cache's content at its last destage
 *     (B1), and the cache receives whole versions in some order (B8), so
 *     an image is the pre-image with a *prefix* of an arrival order laid
 *     over it: a set S of versions, closed under "precedes" (I3) — a
 *     version cannot have landed unless everything that had completed
 *     before it was submitted (under B5: before a barrier let it go) had
 *     landed too — applied in any order that
 *     respects "precedes".  Two concurrent versions that overlap give two
 *     images, one per order (B4).  Without a cache (B7) the same holds:
 *     the drive writes versions in some order and the power cut stops it
 *     after some prefix.
 *   - S must contain every DURABLE version; it never contains a HELD one
 *     (I4).
 *
 * Why groups are independent: every rule that ties two units together
 * (B2's "covered writes before the flagged data", B5's barrier) is carried
 * out in time by the step function (bq_queue.c): while it matters, one
 * side is HELD and has no choice but "absent".  Nothing else orders two
 * units: a cache destages in any order (B1), in-flight bios are unordered
 * (B4), and a write tears between units (B8).
 *
 * Folding keeps groups few and small: when the durable versions and
 * everything before them form one image that every later version lands on
 * top of, that image becomes the pre-image and the media (I2), and those
 * versions are dropped.  A unit with nothing pending leaves the list.
 *
 * Cost: the enumeration is a depth-first walk over arrival orders, at most
 * BQ_ENUM_MAX_NODES per unit, run only when a unit changed (bq_publish,
 * before each crash point).  ngroups, nchoices and apply are O(1) reads of
 * what it left: apply emits one precomputed unit image.  A `powercut run`
 * needs none of it, only the media at choice 0 (I2): canon_only().
 */
#include "bq_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/media.h"

void bq_unit_touch(struct bq_queue *q, struct bq_unit *u)
{
	u->dirty = true;
	if (u->on_dirty)
		return;
	if (q->ndirty == q->cap_dirty) {
		size_t c = q->cap_dirty ? q->cap_dirty * 2 : 64;
		struct bq_unit **d = realloc(q->dirty, c * sizeof(*d));
		if (!d)
			abort();	/* out of memory mid-model: no way on */
		q->dirty = d;
		q->cap_dirty = c;
	}
	q->dirty[q->ndirty++] = u;
	u->on_dirty = true;
}

/* I3 */
static inline bool precedes(const struct bq_version *a, const struct bq_version *b)
{
	return a->arrive_tick < b->order_tick;
}

static inline bool overlaps(const struct bq_version *a, const struct bq_version *b)
{
	return a->lo < b->hi && b->lo < a->hi;
}

static inline void lay(uint8_t *img, const struct bq_version *v)
{
	memcpy(img + v->lo, v->data + v->lo, v->hi - v->lo);
}

/* U's pre-image, read from the media if a run has not yet (I6). */
static uint8_t *pre_load(struct bq_queue *q, struct bq_unit *u)
{
	if (u->pre_unread) {
		media_read(q->env.media, u->index << q->unit_shift, u->pre, q->unit);
		u->pre_unread = false;
	}
	return u->pre;
}

/* Drop the versions in MASK from U (they are folded or gone). */
static void drop_versions(struct bq_queue *q, struct bq_unit *u, uint32_t mask)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < u->nver; i++) {
		struct bq_version *v = u->ver[i];
		if (!(mask & (1u << i))) {
			u->ver[k++] = v;
			continue;
		}
		if (v->state == BQ_V_CACHED)
			q->ncached--;
		if (v->state == BQ_V_ACKED)
			q->nacked--;
		q->durable_gen++;
		bq_version_free(q, v);
	}
	u->nver = k;
}

/* Is the overlap of concurrent versions A and B overwritten by a member of
 * SET that both precede? */
static bool covered_later(const struct bq_unit *u, uint32_t set,
			  const struct bq_version *a, const struct bq_version *b)
{
	uint32_t lo = a->lo > b->lo ? a->lo : b->lo;
	uint32_t hi = a->hi < b->hi ? a->hi : b->hi;

	for (uint32_t k = 0; k < u->nver; k++) {
		const struct bq_version *z = u->ver[k];
		if ((set & (1u << k)) && precedes(a, z) && precedes(b, z) &&
		    z->lo <= lo && z->hi >= hi)
			return true;
	}
	return false;
}

/*
 * Fold what is settled into the pre-image: the durable versions and all
 * that precede them (all arrived, I3), when every other version that can
 * still land lands after all of them and they give one image.
 */
static void fold(struct bq_queue *q, struct bq_unit *u)
{
	uint32_t req = 0, set, order[BQ_UNIT_MAX_VERSIONS], n = 0, dead = 0, first;

	/* A version that precedes a durable version covering all its bytes
	 * can never show again: it lands before that one (I3), which is on
	 * the media.  Dropping the dead first keeps a unit rewritten by
	 * concurrent pairs from filling up (BQ_UNIT_MAX_VERSIONS). */
	for (uint32_t i = 0; i < u->nver; i++)
		for (uint32_t k = 0; k < u->nver; k++) {
			const struct bq_version *v = u->ver[i], *z = u->ver[k];
			if (k != i && z->state == BQ_V_DURABLE && precedes(v, z) &&
			    z->lo <= v->lo && z->hi >= v->hi) {
				dead |= 1u << i;
				break;
			}
		}
	if (dead) {
		drop_versions(q, u, dead);
		u->dirty = true;
	}

	for (uint32_t i = 0; i < u->nver; i++)
		if (u->ver[i]->state == BQ_V_DURABLE)
			req |= 1u << i;
	if (!req)
		return;
	set = req;
	for (uint32_t i = 0; i < u->nver; i++)
		for (uint32_t r = 0; r < u->nver; r++)
			if ((req & (1u << r)) && precedes(u->ver[i], u->ver[r]))
				set |= 1u << i;
	for (uint32_t i = 0; i < u->nver; i++) {
		const struct bq_version *w = u->ver[i];
		if (set & (1u << i)) {
			/* one image: two concurrent overlapping members are fine
			 * only when a later member, preceded by both, covers their
			 * overlap (their order no longer shows).  Without that, two
			 * concurrent writes to a unit kept it from ever folding, and
			 * a long trace hit BQ_UNIT_MAX_VERSIONS. */
			for (uint32_t j = i + 1; j < u->nver; j++)
				if ((set & (1u << j)) && overlaps(w, u->ver[j]) &&
				    !precedes(w, u->ver[j]) && !precedes(u->ver[j], w) &&
				    !covered_later(u, set, w, u->ver[j]))
					return;
			continue;
		}
		/* Under B5 a HELD version lands after everything durable
		 * now (a barrier holds it; I3 orders it from its release).
		 * B2's hold is the slowest device's: a faster one ran the
		 * pre-flush at submission, so the flagged data may have
		 * landed before a concurrent write made durable since (a
		 * flush or FUA before the submitter's wait): no fold. */
		if (w->state == BQ_V_HELD && q->barrier_mode)
			continue;
		for (uint32_t j = 0; j < u->nver; j++)
			if ((set & (1u << j)) && !precedes(u->ver[j], w))
				return;
	}
	/* lay them in arrival order (all arrived) */
	for (uint32_t i = 0; i < u->nver; i++)
		if (set & (1u << i))
			order[n++] = i;
	for (uint32_t a = 1; a < n; a++)
		for (uint32_t b = a; b > 0 &&
		     u->ver[order[b]]->arrive_tick < u->ver[order[b - 1]]->arrive_tick; b--) {
			uint32_t t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	first = 0;
	if (u->pre_unread) {
		/* from the last version that covers the whole unit, if one
		 * does: what lies under it does not show */
		for (uint32_t a = n; a-- > 0;)
			if (u->ver[order[a]]->lo == 0 && u->ver[order[a]]->hi == q->unit) {
				first = a;
				u->pre_unread = false;
				break;
			}
		pre_load(q, u);
	}
	for (uint32_t a = first; a < n; a++)
		lay(u->pre, u->ver[order[a]]);
	u->pre_on_media = false;
	drop_versions(q, u, set);
}

/* ---- enumeration ---- */

struct walk {
	struct bq_queue *q;
	struct bq_unit *u;
	uint32_t eligible;		/* non-HELD versions */
	uint32_t req;			/* DURABLE versions */
	uint32_t pred[BQ_UNIT_MAX_VERSIONS];
	uint64_t hash[BQ_UNIT_MAX_CHOICES];
	uint8_t order[BQ_UNIT_MAX_VERSIONS];
	uint64_t nodes;
	bool overflow;
};

/* FNV-1a over 8-byte words (N, a unit's size, is a multiple of 8): a
 * filter before memcmp, so any hash gives the same choices.  Byte by
 * byte it was 95% of a walk over 4 KiB units (a 7-version unit: 4,096
 * multiplies per image). */
static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	return h;
}

static void record(struct walk *w, const uint8_t *img, uint32_t depth)
{
	struct bq_unit *u = w->u;
	size_t us = w->q->unit;
	uint64_t h = fnv(img, us);

	for (uint32_t c = 0; c < u->nchoice; c++)
		if (w->hash[c] == h && !memcmp(u->img + c * us, img, us))
			return;
	if (u->nchoice == BQ_UNIT_MAX_CHOICES) {
		w->overflow = true;
		return;
	}
	if (u->nchoice == u->cap_img) {
		uint32_t c = u->cap_img * 2;
		uint8_t *p = realloc(u->img, c * us);
		if (!p)
			abort();	/* out of memory mid-model */
		u->img = p;
		u->cap_img = c;
	}
	memcpy(u->img + u->nchoice * us, img, us);
	w->hash[u->nchoice] = h;
	u->choice[u->nchoice].n = (uint8_t)depth;
	memcpy(u->choice[u->nchoice].order, w->order, depth);
	u->nchoice++;
}

/* Images reachable from IMG (the versions in CHOSEN laid, in order). */
static void walk(struct walk *w, uint32_t chosen, uint32_t depth)
{
	struct bq_unit *u = w->u;
	uint8_t *img = w->q->scratch + (size_t)depth * w->q->unit;
	uint8_t *next = img + w->q->unit;

	if (w->overflow || ++w->nodes > BQ_ENUM_MAX_NODES) {
		w->overflow = true;
		return;
	}
	if ((chosen & w->req) == w->req)
		record(w, img, depth);
	for (uint32_t i = 0; i < u->nver; i++) {
		uint32_t bit = 1u << i;
		if (!(w->eligible & bit) || (chosen & bit) ||
		    (w->pred[i] & chosen) != w->pred[i])
			continue;
		memcpy(next, img, w->q->unit);
		lay(next, u->ver[i]);
		w->order[depth] = (uint8_t)i;
		walk(w, chosen | bit, depth + 1);
	}
}

/* Recompute U's choices; keep the media at choice 0 (I2). */
static void enumerate(struct bq_queue *q, struct bq_unit *u)
{
	struct walk w = { .q = q, .u = u };
	uint64_t off = u->index << q->unit_shift;
	size_t len = off + q->unit <= q->size ? q->unit : (size_t)(q->size - off);

	for (uint32_t i = 0; i < u->nver; i++) {
		const struct bq_version *v = u->ver[i];
		if (v->state != BQ_V_HELD)
			w.eligible |= 1u << i;
		if (v->state == BQ_V_DURABLE)
			w.req |= 1u << i;
		for (uint32_t j = 0; j < u->nver; j++)
			if (j != i && u->ver[j]->state != BQ_V_HELD && precedes(u->ver[j], v))
				w.pred[i] |= 1u << j;
	}
	pre_load(q, u);
	u->nchoice = 0;
	if (!u->nver) {
		/* settled: only the pre-image */
		memcpy(u->img, u->pre, q->unit);
		u->choice[0].n = 0;
		u->nchoice = 1;
		goto media;
	}
	if (u->nver == 1 && w.eligible && !w.req) {
		/* the common case, one write in flight or cached: the
		 * pre-image and the pre-image with it (if it changes it) */
		const struct bq_version *v = u->ver[0];
		memcpy(u->img, u->pre, q->unit);
		u->choice[0].n = 0;
		u->nchoice = 1;
		if (memcmp(u->pre + v->lo, v->data + v->lo, v->hi - v->lo)) {
			memcpy(u->img + q->unit, u->pre, q->unit);
			lay(u->img + q->unit, v);
			u->choice[1].n = 1;
			u->choice[1].order[0] = 0;
			u->nchoice = 2;
		}
		goto media;
	}
	memcpy(q->scratch, u->pre, q->unit);
	walk(&w, 0, 0);
	if (w.overflow)
		q->overflow_unit = off;
	assert(u->nchoice >= 1);
media:
	/* I2: the media holds choice 0 */
	if (media_cmp(q->env.media, off, u->img, len))
		media_write_image(q->env.media, off, u->img, len);
	u->pre_on_media = false;	/* not known; canon_only compares */
}

/*
 * I2 alone, for a `powercut run` (env.no_crash_states: no one lists the
 * groups).  Choice 0 is the first image enumerate()'s walk records: the
 * walk is depth first, trying versions by increasing index, and records a
 * node once it holds every DURABLE version, so the first record is on its
 * leftmost path — from the pre-image, lay the lowest-indexed version
 * whose predecessors are laid, until the DURABLE ones are.  What else the
 * walk leaves (the other choices, their images and order) only the
 * crash interface reads.  The walk can refuse a unit (settle(): more than
 * BQ_UNIT_MAX_CHOICES images) only with 4 or more versions that may land
 * (3 give at most 1 + 3 + 6 + 6 = 16 nodes); those still take the whole
 * walk, so a run refuses what it refused before.  O(versions^2 + unit
 * size) instead of the walk's copy, hash and compare per image; on
 * `gen_trace --kind block` this was 40% of `run`'s instructions (docs/
 * performance.md, "`run` on block and file traces").  With no DURABLE
 * version choice 0 is pre[], and when the media is known to hold it (I6)
 * there is nothing to do: O(versions), the common case of a unit touched
 * by a submission or an arrival in its device's cache.
 */
static inline bool more_than_three(uint32_t x)
{
	x &= x - 1;		/* each clears the lowest bit set */
	x &= x - 1;
	x &= x - 1;
	return x != 0;
}

static void canon_only(struct bq_queue *q, struct bq_unit *u)
{
	uint64_t off = u->index << q->unit_shift;
	size_t len = off + q->unit <= q->size ? q->unit : (size_t)(q->size - off);
	uint32_t eligible = 0, req = 0, chosen = 0, pred[BQ_UNIT_MAX_VERSIONS] = { 0 };
	const uint8_t *img = u->pre;

	for (uint32_t i = 0; i < u->nver; i++) {
		const struct bq_version *v = u->ver[i];
		if (v->state != BQ_V_HELD)
			eligible |= 1u << i;
		if (v->state == BQ_V_DURABLE)
			req |= 1u << i;
	}
	if (more_than_three(eligible)) {
		enumerate(q, u);
		return;
	}
	if (!req && u->pre_on_media)
		return;
	pre_load(q, u);
	if (req) {
		for (uint32_t i = 0; i < u->nver; i++)
			for (uint32_t j = 0; j < u->nver; j++)
				if (j != i && (eligible & (1u << j)) &&
				    precedes(u->ver[j], u->ver[i]))
					pred[i] |= 1u << j;
		memcpy(q->scratch, u->pre, q->unit);
		while ((chosen & req) != req) {
			uint32_t i = 0;
			while (i < u->nver && (!(eligible & (1u << i)) || (chosen & (1u << i)) ||
					       (pred[i] & chosen) != pred[i]))
				i++;
			assert(i < u->nver);	/* I3 orders versions: no cycle */
			lay(q->scratch, u->ver[i]);
			chosen |= 1u << i;
		}
		img = q->scratch;
	}
	if (media_cmp(q->env.media, off, img, len))
		media_write_image(q->env.media, off, img, len);
	u->pre_on_media = img == u->pre;
}

/* Back to the pool (unit_get takes from it): no allocation per unit in a
 * steady stream of writes. */
static void unit_release(struct bq_queue *q, struct bq_unit *u)
{
	bq_map_del(&q->units, u->index);
	u->next_free = q->free_units;
	q->free_units = u;
}

/* Drop the units with nothing pending from active[] (amortized: only
 * when they are half of it).  O(active units). */
static void compact(struct bq_queue *q)
{
	size_t k = 0;

	for (size_t i = 0; i < q->nactive; i++) {
		struct bq_unit *u = q->active[i];
		if (u->empty && !u->on_dirty)
			unit_release(q, u);
		else
			q->active[k++] = u;
	}
	q->nactive = k;
	q->nempty = 0;
	q->groups_stale = true;
}

/*
 * I5, in two halves.  The eager half, here, runs before every crash point:
 * it folds and enumerates the units that changed and keeps the media at
 * their choice 0 (I2) — O(changed units x their enumeration).  The list of
 * groups is rebuilt only when the explorer asks (groups_list), so a
 * `powercut run`, whose crash points only count, never pays O(active
 * units) per step: that rebuild made run 10x slower on a 200,000-bio
 * trace with 500 units in flight.
 */
void bq_publish(struct bq_queue *q)
{
	if (!q->scratch) {
		q->scratch = malloc((size_t)q->unit * (BQ_UNIT_MAX_VERSIONS + 1));
		if (!q->scratch)
			abort();
	}
	for (size_t i = 0; i < q->ndirty; i++) {
		struct bq_unit *u = q->dirty[i];
		uint32_t before = u->nchoice;
		u->on_dirty = false;
		if (!u->dirty)
			continue;
		u->dirty = false;
		fold(q, u);
		if (q->env.no_crash_states)
			canon_only(q, u);
		else
			enumerate(q, u);
		if ((before > 1) != (u->nchoice > 1))
			q->groups_stale = true;
		if (!u->nver && !u->empty) {
			u->empty = true;
			q->nempty++;
		}
	}
	q->ndirty = 0;
	if (q->nempty > 64 && q->nempty * 2 > q->nactive)
		compact(q);
}

/* The groups (I5), rebuilt if stale.  Logically const: a cache of what
 * bq_publish left. */
static struct bq_queue *groups_list(const void *self)
{
	struct bq_queue *q = (struct bq_queue *)self;

	if (!q->groups_stale)
		return q;
	if (q->cap_groups < q->nactive) {
		struct bq_unit **g = realloc(q->groups, q->nactive * sizeof(*g));
		if (!g)
			abort();
		q->groups = g;
		q->cap_groups = q->nactive;
	}
	q->ngroups = 0;
	for (size_t i = 0; i < q->nactive; i++)
		if (q->active[i]->nchoice > 1)
			q->groups[q->ngroups++] = q->active[i];
	q->groups_stale = false;
	return q;
}

/* ---- sim_crash_ops ---- */

static size_t bq_ngroups(const void *self)
{
	return groups_list(self)->ngroups;
}

static uint32_t bq_nchoices(const void *self, size_t g)
{
	const struct bq_queue *q = groups_list(self);
	assert(g < q->ngroups);
	return q->groups[g]->nchoice;
}

static void bq_apply(const void *self, size_t g, uint32_t c,
		     sim_emit_fn *emit, void *ctx)
{
	const struct bq_queue *q = groups_list(self);
	const struct bq_unit *u = q->groups[g];
	uint64_t off = u->index << q->unit_shift;
	size_t len = off + q->unit <= q->size ? q->unit : (size_t)(q->size - off);

	assert(c < u->nchoice);
	if (c == 0)
		return;		/* the media already holds it (I2) */
	emit(ctx, off, u->img + (size_t)c * q->unit, len);
}

static int bq_describe(const void *self, size_t g, uint32_t c, char *buf, size_t len)
{
	const struct bq_queue *q = groups_list(self);
	const struct bq_unit *u = q->groups[g];
	const struct bq_choice *ch = &u->choice[c];
	uint64_t off = u->index << q->unit_shift;
	int n;

	n = snprintf(buf, len, "device bytes %" PRIu64 "..%" PRIu64 ": ", off,
		     off + q->unit - 1);
	if (ch->n == 0)
		return n + snprintf(buf + n, len > (size_t)n ? len - (size_t)n : 0,
				    "none of its %u pending writes persisted", u->nver);
	for (uint32_t i = 0; i < ch->n; i++) {
		const struct bq_version *v = u->ver[ch->order[i]];
		size_t o = (size_t)n < len ? (size_t)n : len;
		n += snprintf(buf + o, len - o, "%sbio %" PRIu64 " (line %" PRIu64 ", %s)",
			      i ? " then " : "", v->bio_id, v->line,
			      v->state == BQ_V_DURABLE ? "durable" :
			      v->state == BQ_V_CACHED ? "destaged from the cache" :
			      "in flight, landed");
	}
	if ((size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " persisted");
	return n;
}

const struct sim_crash_ops bq_crash_ops = {
	.ngroups = bq_ngroups,
	.nchoices = bq_nchoices,
	.apply = bq_apply,
	.describe = bq_describe,
};
