/*
 * explore.c — enumerating the crash states at one point (explore.h).
 *
 * Each global group has a slot holding the bytes its current choice emits.
 * The odometer advances group 0 fastest; only slots whose choice changed
 * are re-emitted.  Slots, their patch arrays and byte buffers are kept
 * across points and grown, never shrunk: no allocation per state once
 * warm.
 */
#include "explore.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

struct patch {
	uint64_t off;
	size_t len;
	size_t at;			/* offset in the slot's bytes */
};

struct slot {
	/* reduced enumeration: every byte any choice can emit, merged */
	struct sim_range *fp;
	size_t nfp, fp_cap;
	const struct sim_crash_ops *ops;
	const void *self;
	size_t local;			/* the group's index in its model */
	uint32_t n;			/* choices */
	uint64_t h[2];			/* hash of its bytes that differ from the base */
	bool inert;			/* every byte it writes holds the media's value
					 * and no other group writes there (choice_sig) */
	struct patch *patch;
	size_t npatch, patch_cap;
	uint8_t *bytes;
	size_t nbytes, bytes_cap;
};

/* The ranges one judgement read (reduced enumeration). */
struct rlog {
	bool on;
	unsigned sep;			/* the unit of the reads now; 0: none */
	unsigned unit;			/* the largest unit this judgement used */
	struct sim_range *r, *s;	/* not separable; separable */
	size_t nr, r_cap, ns, s_cap;
};

struct sim_image {
	struct rlog *log;		/* NULL: reads are not recorded */
	const struct media *base;
	const struct slot *slot;
	size_t nslot;
	/* bit g set iff slot g emits something (npatch > 0): reads walk
	 * these, in slot order, not every slot (a point with 4,096 page
	 * groups per 8-byte unit has one or two emitting in most states) */
	uint64_t *live;
	uint64_t sum[2];		/* the slots' h, added up: the diff hash */
	/* reduced enumeration, for sim_image_block_stamps (sorted, merged):
	 * every byte some choice of some group can emit, and every byte
	 * some choice can change (emit other than the base's) */
	const struct sim_range *wfp, *cfp;
	size_t nwfp, ncfp;
};

/* A group's open choices in the reduced enumeration: x->cls[at ..
 * at+n), ascending, or every choice 0 .. n-1 (at == GS_ALL).  The group's
 * current choice is always the first. */
struct gset {
	uint32_t at, n;
};
#define GS_ALL UINT32_MAX

struct sim_explorer {
	struct slot *slot;
	size_t nslot, slot_cap;
	uint32_t *choice;
	size_t choice_cap;
	size_t *active;			/* bounded: which groups are non-zero */
	size_t active_cap;
	struct sim_image image;
	size_t live_cap;		/* image.live's words */
	/* reduced enumeration */
	struct rlog log;
	struct gset *gs;		/* per group: the choices still open */
	size_t gs_cap;
	uint32_t *cls;			/* arena of choice lists (a stack) */
	size_t ncls, cls_cap;
	struct sig { uint64_t h0, h1; uint32_t c; } *sig;
	size_t sig_cap;
	struct slot tmp;		/* one choice's patches, for signatures */
	uint8_t *sbuf;			/* signature scratch */
	size_t sbuf_cap;
	size_t *cand, *uf, *oidx;
	size_t cand_cap, uf_cap, oidx_cap;
	size_t *open;			/* a leaf's other groups with open choices */
	size_t open_cap;
	struct word { uint64_t lo, hi; size_t c; } *words;
	size_t words_cap;
	size_t *member;
	size_t member_cap;
	struct sim_range *leafr;	/* the leaf's non-separable reads */
	size_t nleafr, leafr_cap;
	struct sim_range *cw;		/* a cluster's separable words */
	size_t ncw, cw_cap;
	struct pkey { uint64_t h0, h1; } *seen;	/* (word, value) pairs judged */
	size_t seen_cap, nseen;
	struct sim_range *rtmp;		/* sort_ranges' scratch */
	size_t rtmp_cap;
	struct sim_range *wfp, *cfp;	/* the image's wfp, cfp (footprints()) */
	size_t nwfp, wfp_cap, ncfp, cfp_cap;
	struct sim_range *ofp;		/* bytes two groups' footprints meet */
	size_t nofp, ofp_cap;
	uint8_t *bbuf;			/* choice_sig's base bytes */
	size_t bbuf_cap;
};

int sim_states_parse(const char *s, struct sim_states_policy *p)
{
	const char *arg = NULL;
	char *end;

	if (!strcmp(s, "exhaustive")) {
		p->mode = SIM_STATES_EXHAUSTIVE;
		return 0;
	}
	if (!strncmp(s, "bounded:", 8)) {
		p->mode = SIM_STATES_BOUNDED;
		arg = s + 8;
	} else if (!strncmp(s, "sample:", 7)) {
		p->mode = SIM_STATES_SAMPLE;
		arg = s + 7;
	} else {
		return -1;
	}
	if (*arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	p->k = strtoull(arg, &end, 10);
	if (errno || *end || (p->mode == SIM_STATES_SAMPLE && p->k == 0))
		return -1;
	return 0;
}

int sim_explorer_create(struct sim_explorer **x)
{
	*x = calloc(1, sizeof(**x));
	return *x ? 0 : -ENOMEM;
}

void sim_explorer_destroy(struct sim_explorer *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->slot_cap; i++) {
		free(x->slot[i].patch);
		free(x->slot[i].bytes);
		free(x->slot[i].fp);
	}
	free(x->log.r);
	free(x->log.s);
	free(x->gs);
	free(x->cls);
	free(x->sig);
	free(x->tmp.patch);
	free(x->tmp.bytes);
	free(x->sbuf);
	free(x->oidx);
	free(x->leafr);
	free(x->cw);
	free(x->seen);
	free(x->rtmp);
	free(x->wfp);
	free(x->ofp);
	free(x->bbuf);
	free(x->cfp);
	free(x->cand);
	free(x->image.live);
	free(x->open);
	free(x->uf);
	free(x->words);
	free(x->member);
	free(x->slot);
	free(x->choice);
	free(x->active);
	free(x);
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return p;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(p, ncap * elem);
	if (!np)
		abort();		/* out of memory mid-exploration */
	*cap = ncap;
	return np;
}

static void slot_emit(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct slot *sl = ctx;

	sl->patch = grow(sl->patch, &sl->patch_cap, sl->npatch + 1, sizeof(*sl->patch));
	sl->bytes = grow(sl->bytes, &sl->bytes_cap, sl->nbytes + n, 1);
	memcpy(sl->bytes + sl->nbytes, bytes, n);
	sl->patch[sl->npatch++] = (struct patch){ .off = off, .len = n, .at = sl->nbytes };
	sl->nbytes += n;
}

static inline void hash_mix(uint64_t h[2], uint64_t v);

static const uint8_t zero_page[MEDIA_PAGE_SIZE];

/* Do the N bytes B equal the base's at OFF (N within one media page)? */
static inline bool piece_same(const struct media *base, uint64_t off, const uint8_t *b, size_t n)
{
	const uint8_t *pg = media_page(base, off);

	return !memcmp(pg ? pg + (off & (MEDIA_PAGE_SIZE - 1)) : zero_page, b, n);
}

/* Do the N bytes B equal the base's at OFF? */
static bool same_as_base(const struct media *base, uint64_t off, const uint8_t *b, size_t n)
{
	while (n) {
		size_t k = MEDIA_PAGE_SIZE - (size_t)(off & (MEDIA_PAGE_SIZE - 1));
		if (k > n)
			k = n;
		if (!piece_same(base, off, b, k))
			return false;
		off += k;
		b += k;
		n -= k;
	}
	return true;
}

/*
 * Set slot SL to choice C: re-emit its bytes and its hash.  The image's
 * diff hash is the sum of the slots' hashes, so changing one slot costs
 * O(its bytes), not O(every slot's): hashing every slot per state took 73%
 * of a block check (65,536 states in 0.96 s, perf, 2026-11-23).
 */
static void slot_set_in(struct sim_image *im, struct slot *sl, uint32_t c)
{
	uint8_t base[256];
	size_t g = (size_t)(sl - im->slot);

	im->sum[0] -= sl->h[0];
	im->sum[1] -= sl->h[1];
	sl->npatch = 0;
	sl->nbytes = 0;
	sl->h[0] = sl->h[1] = 0;
	im->live[g / 64] &= ~(1ull << (g % 64));
	if (!c)
		return;
	sl->ops->apply(sl->self, sl->local, c, slot_emit, sl);
	if (sl->npatch)
		im->live[g / 64] |= 1ull << (g % 64);
	sl->h[0] = 0xcbf29ce484222325ULL;
	sl->h[1] = 0x6a09e667f3bcc909ULL;
	/* Word by word: each aligned 8-byte word the patch touches, as the
	 * patch leaves it over the base, is hashed with its offset when it
	 * differs from the base word.  Where groups emit disjoint bytes the
	 * sum over groups is a function of the image alone.  Where they
	 * overlap (crash.h) two images could share a sum only if their
	 * groups emitted equal multisets of (word, value) in swapped roles;
	 * no model here has two groups that can emit each other's values to
	 * one word.  (Byte by byte this loop was 37% of a block check; words
	 * cut it about 6x.) */
	for (size_t i = 0; i < sl->npatch; i++) {
		const struct patch *p = &sl->patch[i];
		uint64_t first = p->off & ~7ull, end = p->off + p->len;
		/* a patch of the base's own bytes changes no word (a commit
		 * choice writes every page of its files, most of them as the
		 * media holds them: comparing whole pieces first took
		 * slot_set_in from 101 M to 80 M Ir on the 512-round
		 * doubling trace, 46,340 judgements, callgrind) */
		if (same_as_base(im->base, p->off, sl->bytes + p->at, p->len))
			continue;
		for (uint64_t w0 = first; w0 < end; w0 += sizeof(base)) {
			size_t n = end - w0 + 7 < sizeof(base) ? (size_t)((end - w0 + 7) & ~7ull) :
				sizeof(base);
			uint8_t fin[256];
			media_read(im->base, w0, base, n);
			memcpy(fin, base, n);
			uint64_t lo = p->off > w0 ? p->off : w0, hi = end < w0 + n ? end : w0 + n;
			memcpy(fin + (lo - w0), sl->bytes + p->at + (lo - p->off), (size_t)(hi - lo));
			for (size_t k = 0; k < n; k += 8) {
				uint64_t a, b;
				memcpy(&a, fin + k, 8);
				memcpy(&b, base + k, 8);
				if (a != b) {
					hash_mix(sl->h, w0 + k);
					hash_mix(sl->h, a);
				}
			}
		}
	}
	im->sum[0] += sl->h[0];
	im->sum[1] += sl->h[1];
}

static void log_add(struct rlog *l, uint64_t off, size_t n)
{
	if (l->sep) {
		l->s = grow(l->s, &l->s_cap, l->ns + 1, sizeof(*l->s));
		l->s[l->ns++] = (struct sim_range){ .off = off, .len = n };
	} else {
		l->r = grow(l->r, &l->r_cap, l->nr + 1, sizeof(*l->r));
		l->r[l->nr++] = (struct sim_range){ .off = off, .len = n };
	}
}

unsigned sim_image_separable(const struct sim_image *im, unsigned unit)
{
	unsigned was;

	if (!im->log)
		return 0;
	was = im->log->sep;
	im->log->sep = unit;
	if (unit > im->log->unit)
		im->log->unit = unit;
	return was;
}

/* The next slot at or after G that emits something, in slot order; NSLOT
 * if none. */
static size_t live_next(const struct sim_image *im, size_t g)
{
	size_t w = g / 64, nw = (im->nslot + 63) / 64;
	uint64_t bits;

	if (g >= im->nslot)
		return im->nslot;
	bits = im->live[w] & (~0ull << (g % 64));
	while (!bits) {
		if (++w >= nw)
			return im->nslot;
		bits = im->live[w];
	}
	return w * 64 + (size_t)__builtin_ctzll(bits);
}

#define FOR_EACH_LIVE(im, g) \
	for (size_t g = live_next(im, 0); g < (im)->nslot; g = live_next(im, g + 1))

void sim_image_read(const struct sim_image *im, uint64_t off, void *dst, size_t n)
{
	if (im->log && im->log->on && n)
		log_add(im->log, off, n);
	sim_image_peek(im, off, dst, n);
}

void sim_image_peek(const struct sim_image *im, uint64_t off, void *dst, size_t n)
{
	uint8_t *d = dst;

	media_read(im->base, off, dst, n);
	FOR_EACH_LIVE(im, g) {
		const struct slot *sl = &im->slot[g];
		for (size_t i = 0; i < sl->npatch; i++) {
			const struct patch *p = &sl->patch[i];
			uint64_t lo = p->off > off ? p->off : off;
			uint64_t hi = p->off + p->len < off + n ? p->off + p->len : off + n;
			if (lo < hi)
				memcpy(d + (lo - off), sl->bytes + p->at + (lo - p->off),
				       (size_t)(hi - lo));
		}
	}
}

uint64_t sim_image_stamp(const struct sim_image *im, uint64_t off, size_t n)
{
	if (im->log && im->log->on && n)
		log_add(im->log, off, n);
	if (!n || off >> MEDIA_PAGE_SHIFT != (off + n - 1) >> MEDIA_PAGE_SHIFT)
		return 0;
	FOR_EACH_LIVE(im, g) {
		const struct slot *sl = &im->slot[g];
		for (size_t i = 0; i < sl->npatch; i++) {
			const struct patch *p = &sl->patch[i];
			if (p->off < off + n && off < p->off + p->len)
				return 0;
		}
	}
	return media_stamp(im->base, off);
}

/* Does a patch of the current state meet [OFF, OFF+N)? */
static bool patches_meet(const struct sim_image *im, uint64_t off, uint64_t n)
{
	FOR_EACH_LIVE(im, g) {
		const struct slot *sl = &im->slot[g];
		for (size_t i = 0; i < sl->npatch; i++) {
			const struct patch *p = &sl->patch[i];
			if (p->off < off + n && off < p->off + p->len)
				return true;
		}
	}
	return false;
}

/* Does [OFF, OFF+N) meet any of R[0..NR) (sorted, merged)?  O(log NR). */
static bool ranges_meet(const struct sim_range *r, size_t nr, uint64_t off, uint64_t n)
{
	size_t a = 0, b = nr;

	while (a < b) {			/* the first range ending after OFF */
		size_t m = a + (b - a) / 2;
		if (r[m].off + r[m].len <= off)
			a = m + 1;
		else
			b = m;
	}
	return a < nr && r[a].off < off + n;
}

bool sim_image_block_stamps(const struct sim_image *im, uint64_t off, uint32_t bsize,
			    uint32_t nblk, uint64_t *out)
{
	uint64_t n = (uint64_t)bsize * nblk, at = off;

	if (!n || off + n > media_size(im->base))
		return false;
	if (im->log) {
		/* Reduced: a run some choice could write would make every
		 * such group relevant to this judgement, where reading only
		 * what the caller needs may not.  The footprints of every
		 * choice (the current ones among them) are gathered once per
		 * point (footprints()): O(log ranges) per call, not
		 * O(groups x patches). */
		if (ranges_meet(im->wfp, im->nwfp, off, n))
			return false;
	} else if (patches_meet(im, off, n)) {
		return false;
	}
	for (uint32_t b = 0; b < nblk; b++, at += bsize) {
		if (at >> MEDIA_PAGE_SHIFT != (at + bsize - 1) >> MEDIA_PAGE_SHIFT)
			return false;
		out[b] = media_stamp(im->base, at);
	}
	if (im->log && im->log->on)
		log_add(im->log, off, n);
	return true;
}

size_t sim_image_blocks_stamps(const struct sim_image *im, const uint64_t *off, size_t nblk,
			       uint32_t bsize, uint64_t *out)
{
	uint64_t run = 0, len = 0, size = media_size(im->base);
	bool rec = im->log && im->log->on;
	size_t got = 0;

	for (size_t i = 0; i < nblk; i++) {
		uint64_t o = off[i];
		out[i] = 0;
		if (!bsize || o > size || bsize > size - o ||
		    o >> MEDIA_PAGE_SHIFT != (o + bsize - 1) >> MEDIA_PAGE_SHIFT)
			continue;
		/* reduced: only a choice that changes the block refuses */
		if (im->log ? ranges_meet(im->cfp, im->ncfp, o, bsize) : patches_meet(im, o, bsize))
			continue;
		out[i] = media_stamp(im->base, o);
		got++;
		if (!rec)
			continue;
		if (len && run + len == o) {	/* adjacent blocks: one range */
			len += bsize;
			continue;
		}
		if (len)
			log_add(im->log, run, len);
		run = o;
		len = bsize;
	}
	if (len)
		log_add(im->log, run, len);
	return got;
}

uint64_t sim_image_size(const struct sim_image *im)
{
	return media_size(im->base);
}

/* Collect every source's groups into slots. */
static void gather(struct sim_explorer *x, const struct media *base,
		   const struct sim_crash_source *src, size_t nsrc)
{
	size_t n = 0;

	for (size_t i = 0; i < nsrc; i++) {
		const struct sim_crash_ops *ops = src[i].ops;
		size_t k = ops->ngroups(src[i].self);

		if (n + k > x->slot_cap) {
			size_t old = x->slot_cap;
			x->slot = grow(x->slot, &x->slot_cap, n + k, sizeof(*x->slot));
			memset(x->slot + old, 0, (x->slot_cap - old) * sizeof(*x->slot));
		}
		for (size_t g = 0; g < k; g++) {
			struct slot *sl = &x->slot[n + g];
			sl->ops = ops;
			sl->self = src[i].self;
			sl->local = g;
			sl->n = ops->nchoices(src[i].self, g);
			sl->npatch = sl->nbytes = 0;
			sl->h[0] = sl->h[1] = 0;
		}
		n += k;
	}
	x->nslot = n;
	x->choice = grow(x->choice, &x->choice_cap, n + 1, sizeof(*x->choice));
	memset(x->choice, 0, (n + 1) * sizeof(*x->choice));
	x->image.base = base;
	x->image.slot = x->slot;
	x->image.nslot = n;
	x->image.live = grow(x->image.live, &x->live_cap, n / 64 + 1, sizeof(*x->image.live));
	memset(x->image.live, 0, (n / 64 + 1) * sizeof(*x->image.live));
	x->image.sum[0] = x->image.sum[1] = 0;
}

/* The crash sources of S's models, in role order. */
static size_t sim_sources(struct sim *s, struct sim_crash_source *src)
{
	size_t n = 0;

	for (int r = 0; r < SIM_ROLE_COUNT; r++) {
		const struct sim_model_ops *ops = sim_model_ops(s, (enum sim_role)r);
		if (ops && ops->crash)
			src[n++] = (struct sim_crash_source){
				.ops = ops->crash, .self = sim_model(s, (enum sim_role)r) };
	}
	return n;
}

struct touch {
	const struct sim_range *r;
	size_t n;
	bool hit;
};

static void touch_emit(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct touch *t = ctx;

	(void)bytes;
	for (size_t i = 0; i < t->n && !t->hit; i++)
		if (off < t->r[i].off + t->r[i].len && t->r[i].off < off + n)
			t->hit = true;
}

/* Hold at choice 0 every group that cannot write the policy's ranges.
 * Once per point: O(bytes of every group) through the group's footprint
 * (crash.h: its ranges are exactly the union of its choices'), else
 * O(choices x bytes), a choice at a time.  (Applying every choice was
 * 1.4 s of a 2 s `outcomes --at all` over a 1 MiB NT copy fenced on a
 * pcommit machine, 16,384 lines of 256 choices.) */
static size_t hold_irrelevant(struct sim_explorer *x, const struct sim_states_policy *pol)
{
	size_t held = 0;

	if (!pol->only)
		return 0;
	for (size_t g = 0; g < x->nslot; g++) {
		struct slot *sl = &x->slot[g];
		struct touch t = { .r = pol->only, .n = pol->nonly };
		if (sl->ops->footprint && sl->n > 1)
			sl->ops->footprint(sl->self, sl->local, touch_emit, &t);
		else
			for (uint32_t c = 1; c < sl->n && !t.hit; c++)
				sl->ops->apply(sl->self, sl->local, c, touch_emit, &t);
		if (!t.hit && sl->n > 1) {
			sl->n = 1;
			held++;
		}
	}
	return held;
}

static uint64_t sat_mul(uint64_t a, uint64_t b, bool *ovf)
{
	if (a && b > UINT64_MAX / a) {
		*ovf = true;
		return UINT64_MAX;
	}
	return a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b, bool *ovf)
{
	if (a > UINT64_MAX - b) {
		*ovf = true;
		return UINT64_MAX;
	}
	return a + b;
}

/* States with at most K groups off choice 0: the coefficients up to x^K of
 * prod(1 + (n_i - 1) x). */
static uint64_t bounded_count(const struct sim_explorer *x, uint64_t k, bool *ovf)
{
	uint64_t c[65] = { 1 }, sum = 0;
	size_t kk = k > 64 ? 64 : (size_t)k;

	if (k > 64 && x->nslot > 64) {
		*ovf = true;		/* not counted beyond 64 deviations */
		return UINT64_MAX;
	}
	for (size_t g = 0; g < x->nslot; g++) {
		uint64_t m = x->slot[g].n - 1;
		for (size_t j = kk; j >= 1; j--)
			c[j] = sat_add(c[j], sat_mul(c[j - 1], m, ovf), ovf);
	}
	for (size_t j = 0; j <= kk; j++)
		sum = sat_add(sum, c[j], ovf);
	return sum;
}

static int visit(struct sim_explorer *x, sim_state_fn *fn, void *ctx, uint64_t *count)
{
	struct sim_state st = {
		.image = &x->image, .choice = x->choice, .ngroups = x->nslot,
		.index = *count,
	};

	(*count)++;
	return fn(ctx, &st);
}

/* bounded: choose groups i > from to deviate, up to `left` more. */
static int bounded_rec(struct sim_explorer *x, size_t from, uint64_t left,
		       sim_state_fn *fn, void *ctx, uint64_t *count)
{
	int rc;

	if ((rc = visit(x, fn, ctx, count)))
		return rc;
	if (!left)
		return 0;
	for (size_t g = from; g < x->nslot; g++) {
		struct slot *sl = &x->slot[g];
		for (uint32_t c = 1; c < sl->n; c++) {
			x->choice[g] = c;
			slot_set_in(&x->image, sl, c);
			rc = bounded_rec(x, g + 1, left - 1, fn, ctx, count);
			if (rc)
				break;
		}
		x->choice[g] = 0;
		slot_set_in(&x->image, sl, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the reduced enumeration (explore.h) ---- */

/*
 * Sort R[0..N) by offset.  A judgement's reads come as a few ascending
 * runs (the log scan, the replay, the inode table, each file), so this is
 * a natural merge sort: O(n log runs), and O(n) for sorted input (qsort
 * here was a quarter of a long check, perf, 2026-11-24).
 */
static void sort_ranges(struct sim_explorer *x, struct sim_range *r, size_t n)
{
	struct sim_range *a = r, *b, *t;
	bool sorted = true;
	size_t runs;

	for (size_t i = 1; i < n && sorted; i++)
		sorted = r[i - 1].off <= r[i].off;
	if (sorted)
		return;
	x->rtmp = grow(x->rtmp, &x->rtmp_cap, n, sizeof(*x->rtmp));
	b = x->rtmp;
	do {
		size_t i = 0, o = 0;
		runs = 0;
		while (i < n) {
			/* two ascending runs a[i..m) and a[m..e), merged into b */
			size_t m = i + 1, e, p, q;
			while (m < n && a[m - 1].off <= a[m].off)
				m++;
			e = m < n ? m + 1 : n;
			while (e < n && a[e - 1].off <= a[e].off)
				e++;
			for (p = i, q = m; p < m && q < e;)
				b[o++] = a[q].off < a[p].off ? a[q++] : a[p++];
			while (p < m)
				b[o++] = a[p++];
			while (q < e)
				b[o++] = a[q++];
			i = e;
			runs++;
		}
		t = a;
		a = b;
		b = t;
	} while (runs > 1);
	if (a != r)
		memcpy(r, a, n * sizeof(*r));
}

/* Sort and merge N ranges in place; returns how many remain. */
static size_t merge_ranges(struct sim_explorer *x, struct sim_range *r, size_t n)
{
	size_t k = 0;

	if (n < 2)
		return n;
	sort_ranges(x, r, n);
	for (size_t i = 1; i < n; i++) {
		if (r[i].off <= r[k].off + r[k].len) {
			uint64_t e = r[i].off + r[i].len;
			if (e > r[k].off + r[k].len)
				r[k].len = e - r[k].off;
		} else {
			r[++k] = r[i];
		}
	}
	return k + 1;
}

/* Does any of FP[0..NFP) meet any of R[0..NR) (both sorted, merged)? */
static bool meets(const struct sim_range *fp, size_t nfp, const struct sim_range *r, size_t nr)
{
	size_t j = 0;

	for (size_t i = 0; i < nfp && j < nr; i++) {
		uint64_t lo = fp[i].off, hi = fp[i].off + fp[i].len;
		/* skip reads that end before this footprint range */
		size_t a = j, b = nr;
		while (a < b) {
			size_t m = a + (b - a) / 2;
			if (r[m].off + r[m].len <= lo)
				a = m + 1;
			else
				b = m;
		}
		j = a;
		if (j < nr && r[j].off < hi)
			return true;
	}
	return false;
}

struct fp_ctx {
	struct sim_explorer *x;
	struct slot *sl;
};

static void fp_emit(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct fp_ctx *f = ctx;
	struct sim_explorer *x = f->x;
	struct slot *sl = f->sl;
	const uint8_t *b = bytes;

	if (!n)
		return;
	sl->fp = grow(sl->fp, &sl->fp_cap, sl->nfp + 1, sizeof(*sl->fp));
	sl->fp[sl->nfp++] = (struct sim_range){ .off = off, .len = n };
	/* the pieces (one per media page) whose bytes differ from the base */
	while (n) {
		size_t in = (size_t)(off & (MEDIA_PAGE_SIZE - 1));
		size_t k = MEDIA_PAGE_SIZE - in < n ? MEDIA_PAGE_SIZE - in : n;
		if (!piece_same(x->image.base, off, b, k)) {
			struct sim_range *last = x->ncfp ? &x->cfp[x->ncfp - 1] : NULL;
			sl->inert = false;
			if (last && last->off + last->len == off) {
				last->len += k;
			} else {
				x->cfp = grow(x->cfp, &x->cfp_cap, x->ncfp + 1, sizeof(*x->cfp));
				x->cfp[x->ncfp++] = (struct sim_range){ .off = off, .len = k };
			}
		}
		off += k;
		b += k;
		n -= k;
	}
}

/* Every group's footprint: each byte some choice of it can emit; and the
 * image's unions of them (sim_image_block_stamps): every byte any choice
 * can emit, and every byte any choice can change.  O(bytes the choices
 * emit), once per point. */
static void footprints(struct sim_explorer *x)
{
	x->nwfp = x->ncfp = 0;
	for (size_t g = 0; g < x->nslot; g++) {
		struct slot *sl = &x->slot[g];
		struct fp_ctx f = { x, sl };
		sl->nfp = 0;
		sl->inert = true;
		if (sl->ops->footprint && sl->n > 1)
			sl->ops->footprint(sl->self, sl->local, fp_emit, &f);
		else
			for (uint32_t c = 1; c < sl->n; c++)
				sl->ops->apply(sl->self, sl->local, c, fp_emit, &f);
		sl->nfp = merge_ranges(x, sl->fp, sl->nfp);
		x->wfp = grow(x->wfp, &x->wfp_cap, x->nwfp + sl->nfp, sizeof(*x->wfp));
		if (sl->nfp)
			memcpy(x->wfp + x->nwfp, sl->fp, sl->nfp * sizeof(*x->wfp));
		x->nwfp += sl->nfp;
	}
	/* where two groups' footprints meet (each group's are merged, so an
	 * overlap among them is between groups): choice_sig */
	sort_ranges(x, x->wfp, x->nwfp);
	x->nofp = 0;
	for (size_t i = 1, far = 0; i < x->nwfp; i++) {
		uint64_t end = x->wfp[far].off + x->wfp[far].len;
		uint64_t e = x->wfp[i].off + x->wfp[i].len;
		if (x->wfp[i].off < end) {
			x->ofp = grow(x->ofp, &x->ofp_cap, x->nofp + 1, sizeof(*x->ofp));
			x->ofp[x->nofp++] = (struct sim_range){ .off = x->wfp[i].off,
				.len = (e < end ? e : end) - x->wfp[i].off };
		}
		if (e > end)
			far = i;
	}
	x->nofp = merge_ranges(x, x->ofp, x->nofp);
	x->nwfp = merge_ranges(x, x->wfp, x->nwfp);
	/* a group that writes only the media's own bytes, where no other
	 * group writes, shows every choice alike (choice_sig) */
	for (size_t g = 0; g < x->nslot; g++) {
		struct slot *sl = &x->slot[g];
		if (sl->inert && x->nofp)
			sl->inert = !meets(sl->fp, sl->nfp, x->ofp, x->nofp);
	}
	x->ncfp = merge_ranges(x, x->cfp, x->ncfp);
	x->image.wfp = x->wfp;
	x->image.nwfp = x->nwfp;
	x->image.cfp = x->cfp;
	x->image.ncfp = x->ncfp;
}

struct lazy {
	sim_state_fn *fn;
	void *ctx;
	uint64_t judged, covered, max;
	bool ovf, nosep, over;
};

/* Judge the current state, recording what it reads. */
static int lazy_judge(struct sim_explorer *x, struct lazy *lz)
{
	struct sim_state st = {
		.image = &x->image, .choice = x->choice, .ngroups = x->nslot,
		.index = lz->judged, .must_judge = true,
	};
	int rc;

	if (lz->max && lz->judged >= lz->max) {
		lz->over = true;
		return -1;
	}
	lz->judged++;
	x->log.nr = x->log.ns = 0;
	x->log.sep = x->log.unit = 0;
	x->log.on = true;
	rc = lz->fn(lz->ctx, &st);
	x->log.on = false;
	x->log.sep = 0;
	if (lz->nosep) {		/* every read counts as not separable */
		for (size_t i = 0; i < x->log.ns; i++) {
			x->log.r = grow(x->log.r, &x->log.r_cap, x->log.nr + 1, sizeof(*x->log.r));
			x->log.r[x->log.nr++] = x->log.s[i];
		}
		x->log.ns = 0;
	}
	x->log.nr = merge_ranges(x, x->log.r, x->log.nr);
	x->log.ns = merge_ranges(x, x->log.s, x->log.ns);
	return rc;
}

/* The I-th open choice of group G. */
static inline uint32_t gs_member(const struct sim_explorer *x, size_t g, uint32_t i)
{
	return x->gs[g].at == GS_ALL ? i : x->cls[x->gs[g].at + i];
}

/* Lay the bytes SL's patches write in [LO, HI) into VAL (from LO), and
 * mark them in MSK. */
static void lay_written(const struct slot *sl, uint64_t lo, uint64_t hi, uint8_t *val,
			uint8_t *msk)
{
	for (size_t i = 0; i < sl->npatch; i++) {
		const struct patch *p = &sl->patch[i];
		uint64_t a = p->off > lo ? p->off : lo;
		uint64_t b = p->off + p->len < hi ? p->off + p->len : hi;
		if (a < b) {
			memcpy(val + (a - lo), sl->bytes + p->at + (a - p->off), (size_t)(b - a));
			memset(msk + (a - lo), 0xff, (size_t)(b - a));
		}
	}
}

/* Mix N8 bytes (a multiple of 8) of written values and their mask into H. */
static void hash_written(uint64_t h[2], const uint8_t *val, const uint8_t *msk, size_t n8)
{
	for (size_t i = 0; i < n8; i += 8) {
		uint64_t w, m;
		memcpy(&w, val + i, 8);
		memcpy(&m, msk + i, 8);
		hash_mix(h, w);
		hash_mix(h, m);
	}
}

/* The bytes of word V that equal B's, as 0xff (SWAR: the zero bytes of
 * V ^ B, found exactly). */
static inline uint64_t equal_bytes(uint64_t v, uint64_t b)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t x = v ^ b, z = ~(((x & lo7) + lo7) | x | lo7);	/* 0x80 where 0 */

	return (z >> 7) * 0xff;
}

/* hash_written of what remains when the bytes VAL writes with BASE's
 * values are unmarked (unwrite_base where no other group writes). */
static void hash_unwritten(uint64_t h[2], const uint8_t *val, const uint8_t *msk,
			   const uint8_t *base, size_t n8)
{
	for (size_t i = 0; i < n8; i += 8) {
		uint64_t w, m, b, eq;
		memcpy(&w, val + i, 8);
		memcpy(&m, msk + i, 8);
		if (m) {
			memcpy(&b, base + i, 8);
			eq = equal_bytes(w, b);
			m &= ~eq;
			w &= ~eq;
		}
		hash_mix(h, w);
		hash_mix(h, m);
	}
}

/* Unmark bytes [I, END) of VAL that equal BASE's, a word at a time. */
static void unwrite_equal(uint8_t *val, uint8_t *msk, const uint8_t *base, size_t i, size_t end)
{
	for (; i < end && (i & 7); i++)
		if (val[i] == base[i])
			msk[i] = val[i] = 0;
	for (; i + 8 <= end; i += 8) {
		uint64_t v, b, m, eq;
		memcpy(&m, msk + i, 8);
		if (!m)
			continue;
		memcpy(&v, val + i, 8);
		memcpy(&b, base + i, 8);
		eq = equal_bytes(v, b);
		m &= ~eq;
		v &= ~eq;
		memcpy(msk + i, &m, 8);
		memcpy(val + i, &v, 8);
	}
	for (; i < end; i++)
		if (val[i] == base[i])
			msk[i] = val[i] = 0;
}

/* A byte that no other group's footprint reaches shows the media's value
 * whether or not G writes that value there: unmark, in [LO, HI), the bytes
 * VAL writes with the media's value outside x->ofp. */
static void unwrite_base(struct sim_explorer *x, uint64_t lo, uint64_t hi, uint8_t *val,
			 uint8_t *msk, const uint8_t *base)
{
	size_t a = 0, b = x->nofp;
	uint64_t at = lo;

	while (a < b) {				/* the first overlap ending after LO */
		size_t m = a + (b - a) / 2;
		if (x->ofp[m].off + x->ofp[m].len <= lo)
			a = m + 1;
		else
			b = m;
	}
	while (at < hi) {
		uint64_t stop = hi, next = hi;
		if (a < x->nofp && x->ofp[a].off < hi) {
			stop = x->ofp[a].off > at ? x->ofp[a].off : at;
			next = x->ofp[a].off + x->ofp[a].len;
			a++;
		}
		unwrite_equal(val, msk, base, (size_t)(at - lo), (size_t)(stop - lo));
		at = next < hi ? next : hi;
	}
}

/*
 * The signature of choice C of group G over the ranges R[0..NR) (sorted,
 * merged): a hash of which bytes of R C emits and their values.  Two
 * choices with equal signatures write the same bytes there, so whatever
 * the other groups lay over or under them (groups are laid in order and
 * may overlap, crash.h), the image shows the same bytes in R: a judgement
 * that read only R cannot tell them apart.  Where no other group can
 * write, a byte written with the media's own value counts as not written
 * (unwrite_base): a block copied whole over equal bytes (the zeros of a
 * journal block's unused end) does not split a torn line's choices there.
 */
static void choice_sig(struct sim_explorer *x, size_t g, uint32_t c, const struct sim_range *r,
		       size_t nr, bool read_base, uint64_t h[2])
{
	const struct slot *sl = &x->slot[g];
	struct slot *t = &x->tmp;
	size_t j = 0, bo = 0;

	t->npatch = t->nbytes = 0;
	if (c)
		sl->ops->apply(sl->self, sl->local, c, slot_emit, t);
	h[0] = 0xcbf29ce484222325ULL;
	h[1] = 0x6a09e667f3bcc909ULL;
	for (size_t f = 0; f < sl->nfp; f++) {
		uint64_t flo = sl->fp[f].off, fhi = flo + sl->fp[f].len;
		while (j < nr && r[j].off + r[j].len <= flo)
			j++;
		for (size_t k = j; k < nr && r[k].off < fhi; k++) {
			uint64_t lo = r[k].off > flo ? r[k].off : flo;
			uint64_t hi = r[k].off + r[k].len < fhi ? r[k].off + r[k].len : fhi;
			size_t n = (size_t)(hi - lo), n8 = (n + 7) & ~(size_t)7;
			uint8_t *val, *msk;
			x->sbuf = grow(x->sbuf, &x->sbuf_cap, 2 * n8, 1);
			val = x->sbuf;
			msk = x->sbuf + n8;
			memset(x->sbuf, 0, 2 * n8);
			lay_written(t, lo, hi, val, msk);
			if (read_base) {	/* the same pieces for every choice */
				x->bbuf = grow(x->bbuf, &x->bbuf_cap, bo + n8, 1);
				media_read(x->image.base, lo, x->bbuf + bo, n);
				memset(x->bbuf + bo + n, 0, n8 - n);
			}
			hash_mix(h, lo);
			hash_mix(h, n);
			if (ranges_meet(x->ofp, x->nofp, lo, n)) {
				unwrite_base(x, lo, hi, val, msk, x->bbuf + bo);
				hash_written(h, val, msk, n8);
			} else {
				hash_unwritten(h, val, msk, x->bbuf + bo, n8);
			}
			bo += n8;
		}
	}
}

static int cmp_sig(const void *a, const void *b)
{
	const struct sig *x = a, *y = b;

	if (x->h0 != y->h0)
		return x->h0 < y->h0 ? -1 : 1;
	if (x->h1 != y->h1)
		return x->h1 < y->h1 ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

/* Sort G's open choices into x->sig by their signature over R; returns
 * the number of classes (choices with one signature). */
static uint32_t split(struct sim_explorer *x, size_t g, const struct sim_range *r, size_t nr)
{
	uint32_t n = x->gs[g].n, classes = 1;

	x->sig = grow(x->sig, &x->sig_cap, n, sizeof(*x->sig));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t h[2];
		uint32_t c = gs_member(x, g, i);
		choice_sig(x, g, c, r, nr, i == 0, h);
		x->sig[i] = (struct sig){ h[0], h[1], c };
	}
	qsort(x->sig, n, sizeof(*x->sig), cmp_sig);
	for (uint32_t i = 1; i < n; i++)
		classes += x->sig[i].h0 != x->sig[i - 1].h0 || x->sig[i].h1 != x->sig[i - 1].h1;
	return classes;
}

/* The lowest group from FROM on whose open choices disagree on a byte the
 * last judgement read (not separably), its classes in x->sig; x->nslot
 * if none.  Inert groups never do. */
static size_t first_relevant(struct sim_explorer *x, size_t from)
{
	for (size_t g = from; g < x->nslot; g++) {
		const struct slot *sl = &x->slot[g];
		if (x->gs[g].n > 1 && !sl->inert && meets(sl->fp, sl->nfp, x->log.r, x->log.nr) &&
		    split(x, g, x->log.r, x->log.nr) > 1)
			return g;
	}
	return x->nslot;
}

static size_t uf_find(size_t *uf, size_t i)
{
	while (uf[i] != i)
		i = uf[i] = uf[uf[i]];
	return i;
}

static int cmp_word(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int lazy_rec(struct sim_explorer *x, struct lazy *lz, bool have_log, size_t from);

/* Put the leaf's candidate groups back at their first open choice. */
static void reset_cands(struct sim_explorer *x, size_t ncand)
{
	for (size_t i = 0; i < ncand; i++) {
		size_t g = x->cand[i];
		uint32_t c = gs_member(x, g, 0);
		if (x->choice[g] != c) {
			x->choice[g] = c;
			slot_set_in(&x->image, &x->slot[g], c);
		}
	}
}

/* The slot of K in TAB (open addressing, CAP a power of two): its own,
 * or the empty one where it goes.  An empty slot is all zeros. */
static struct pkey *seen_slot(struct pkey *tab, size_t cap, struct pkey k)
{
	size_t i = k.h0 & (cap - 1);

	while ((tab[i].h0 | tab[i].h1) && (tab[i].h0 != k.h0 || tab[i].h1 != k.h1))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Add K (not all zeros) to the pairs judged; whether it was new. */
static bool seen_add(struct sim_explorer *x, struct pkey k)
{
	struct pkey *e;

	if ((x->nseen + 1) * 2 > x->seen_cap) {		/* at most half full */
		size_t ocap = x->seen_cap, ncap = ocap ? ocap * 2 : 256;
		struct pkey *old = x->seen;
		x->seen = calloc(ncap, sizeof(*x->seen));
		if (!x->seen)
			abort();
		x->seen_cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].h0 | old[i].h1)
				*seen_slot(x->seen, ncap, old[i]) = old[i];
		free(old);
	}
	e = seen_slot(x->seen, x->seen_cap, k);
	if (e->h0 | e->h1)
		return false;
	*e = k;
	x->nseen++;
	return true;
}

/*
 * Record the (word, value) pairs of the cluster's separable words (x->cw,
 * UNIT bytes each) for the members' current choices; returns whether any
 * was new.  Within the cluster only the NM members change; a word's key
 * is which of its bytes each member writes and their values (members in
 * group order), so equal keys mean equal bytes in the image whatever the
 * other groups lay there.
 */
static bool pairs_new(struct sim_explorer *x, size_t nm, uint64_t unit)
{
	bool fresh = false;

	x->sbuf = grow(x->sbuf, &x->sbuf_cap, 2 * unit, 1);
	for (size_t w = 0; w < x->ncw; w++)
		for (uint64_t u = x->cw[w].off; u < x->cw[w].off + x->cw[w].len; u += unit) {
			uint64_t h[2] = { 0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL };
			uint8_t *val = x->sbuf, *msk = x->sbuf + unit;
			/* the members in group order (x->member ascends), a later
			 * one's bytes over an earlier one's, as in the image */
			memset(x->sbuf, 0, 2 * unit);
			for (size_t m = 0; m < nm; m++)
				lay_written(&x->slot[x->member[m]], u, u + unit, val, msk);
			hash_mix(h, u);
			hash_written(h, val, msk, (size_t)unit);
			fresh |= seen_add(x, (struct pkey){ h[0] | !(h[0] | h[1]), h[1] });
		}
	return fresh;
}

/*
 * A leaf: no group's open choices disagree on what was read not
 * separably.  For each cluster of the groups that emit into separable
 * words, walk every combination of their open choices (the others at
 * their first) and judge each one that shows some word a value no
 * judgement of this cluster saw: a separable verdict is a conjunction
 * over words, so the violations of a state are the union of its words',
 * and judging every (word, value) pair once finds them all.  Returns 1
 * if a judgement read something new (the caller then explores this node
 * treating every read as not separable).
 */
static int lazy_leaf(struct sim_explorer *x, struct lazy *lz, int *rc)
{
	size_t ncand = 0, nw = 0, nopen = 0;
	uint64_t unit = x->log.unit > 8 ? x->log.unit : 8;

	/* the groups with open choices: candidates (they emit into what was
	 * read separably) and the others, both listed once, for each
	 * judgement below checks them (a search of the candidates per group
	 * made that check groups x candidates, 4,096 x 4,096 a judgement for
	 * a 32 KiB file on pmem, whose page groups are per 8-byte unit) */
	for (size_t g = 0; g < x->nslot; g++) {
		const struct slot *sl = &x->slot[g];
		if (x->gs[g].n < 2)
			continue;
		if (meets(sl->fp, sl->nfp, x->log.s, x->log.ns)) {
			x->cand = grow(x->cand, &x->cand_cap, ncand + 1, sizeof(*x->cand));
			x->cand[ncand++] = g;
		} else {
			x->open = grow(x->open, &x->open_cap, nopen + 1, sizeof(*x->open));
			x->open[nopen++] = g;
		}
	}
	if (!ncand)
		return 0;
	x->leafr = grow(x->leafr, &x->leafr_cap, x->log.nr, sizeof(*x->leafr));
	if (x->log.nr)
		memcpy(x->leafr, x->log.r, x->log.nr * sizeof(*x->leafr));
	x->nleafr = x->log.nr;
	/* clusters: candidates that emit into one separable word */
	x->uf = grow(x->uf, &x->uf_cap, ncand, sizeof(*x->uf));
	for (size_t i = 0; i < ncand; i++) {
		const struct slot *sl = &x->slot[x->cand[i]];
		x->uf[i] = i;
		for (size_t f = 0; f < sl->nfp; f++)
			for (size_t j = 0; j < x->log.ns; j++) {
				uint64_t lo = sl->fp[f].off > x->log.s[j].off ? sl->fp[f].off :
					x->log.s[j].off;
				uint64_t a = sl->fp[f].off + sl->fp[f].len, b = x->log.s[j].off +
					x->log.s[j].len, hi = a < b ? a : b;
				if (lo >= hi)
					continue;
				x->words = grow(x->words, &x->words_cap, nw + 1, sizeof(*x->words));
				x->words[nw++] = (struct word){ lo / unit * unit,
								(hi + unit - 1) / unit * unit, i };
			}
	}
	qsort(x->words, nw, sizeof(*x->words), cmp_word);
	for (size_t i = 1; i < nw; i++) {
		/* words sorted by start: overlap with the previous run joins it */
		if (x->words[i].lo < x->words[i - 1].hi) {
			size_t a = uf_find(x->uf, x->words[i].c), b = uf_find(x->uf, x->words[i - 1].c);
			if (a != b)
				x->uf[a] = b;
			if (x->words[i].hi < x->words[i - 1].hi)
				x->words[i].hi = x->words[i - 1].hi;
		}
	}
	x->oidx = grow(x->oidx, &x->oidx_cap, ncand, sizeof(*x->oidx));
	/* each cluster, in order of its lowest group */
	for (size_t root = 0; root < ncand; root++) {
		size_t nm = 0;
		if (uf_find(x->uf, root) != root)
			continue;
		for (size_t i = 0; i < ncand; i++)
			if (uf_find(x->uf, i) == root) {
				x->member = grow(x->member, &x->member_cap, nm + 1, sizeof(*x->member));
				x->member[nm] = x->cand[i];
				x->oidx[nm++] = 0;
			}
		x->ncw = 0;
		for (size_t i = 0; i < nw; i++)
			if (uf_find(x->uf, x->words[i].c) == root) {
				x->cw = grow(x->cw, &x->cw_cap, x->ncw + 1, sizeof(*x->cw));
				x->cw[x->ncw++] = (struct sim_range){ x->words[i].lo,
					x->words[i].hi - x->words[i].lo };
			}
		x->ncw = merge_ranges(x, x->cw, x->ncw);
		if (x->seen_cap)
			memset(x->seen, 0, x->seen_cap * sizeof(*x->seen));
		x->nseen = 0;
		pairs_new(x, nm, unit);		/* the leaf's own judgement */
		for (;;) {
			size_t k;
			/* odometer over the members' open choices, skipping the
			 * first of each (the leaf's state) */
			for (k = 0; k < nm; k++) {
				size_t g = x->member[k];
				struct slot *sl = &x->slot[g];
				if (++x->oidx[k] < x->gs[g].n) {
					x->choice[g] = gs_member(x, g, (uint32_t)x->oidx[k]);
					slot_set_in(&x->image, sl, x->choice[g]);
					break;
				}
				x->oidx[k] = 0;
				x->choice[g] = gs_member(x, g, 0);
				slot_set_in(&x->image, sl, x->choice[g]);
			}
			if (k == nm)
				break;
			if (!pairs_new(x, nm, unit))
				continue;	/* every word's value judged already */
			if ((*rc = lazy_judge(x, lz)))
				goto reset;
			/* the promise of separability, checked: nothing new read
			 * (not separably by any group with open choices, nor
			 * separably by one outside the clusters) */
			bool same_r = x->log.nr == x->nleafr &&
				(!x->nleafr || !memcmp(x->log.r, x->leafr, x->nleafr * sizeof(*x->leafr)));
			for (size_t i = 0; !same_r && i < ncand; i++) {
				const struct slot *sl = &x->slot[x->cand[i]];
				if (meets(sl->fp, sl->nfp, x->log.r, x->log.nr))
					goto fallback;
			}
			for (size_t i = 0; i < nopen; i++) {
				const struct slot *sl = &x->slot[x->open[i]];
				if ((!same_r && meets(sl->fp, sl->nfp, x->log.r, x->log.nr)) ||
				    meets(sl->fp, sl->nfp, x->log.s, x->log.ns))
					goto fallback;
			}
		}
	}
	return 0;
fallback:
	reset_cands(x, ncand);
	return 1;
reset:
	reset_cands(x, ncand);
	return 0;
}

/*
 * One node of the decision tree.  Branch on the first group whose open
 * choices disagree on the bytes the node's judgement read: one child per
 * class of choices that agree on them, the class holding the current
 * choice first (its judgement is this one: HAVE_LOG, and the groups
 * before FROM, the parent's, are known to agree on what it read).
 */
static int lazy_rec(struct sim_explorer *x, struct lazy *lz, bool have_log, size_t from)
{
	size_t g;
	int rc = 0;

	if (!have_log && (rc = lazy_judge(x, lz)))
		return rc;
	g = first_relevant(x, have_log ? from : 0);
	if (g < x->nslot) {
		struct slot *sl = &x->slot[g];
		struct gset saved = x->gs[g];
		uint32_t n = saved.n, first = x->choice[g], nclass = 0;
		size_t top = x->ncls, mem, bnd;

		/* the classes into the arena: members (each class ascending,
		 * classes by their lowest member), then the class bounds */
		x->cls = grow(x->cls, &x->cls_cap, top + 2 * (size_t)n + 1, sizeof(*x->cls));
		mem = top;
		bnd = top + n;
		for (uint32_t i = 0; i < n; i++)
			if (!i || x->sig[i].h0 != x->sig[i - 1].h0 || x->sig[i].h1 != x->sig[i - 1].h1)
				x->cls[bnd + nclass++] = i;	/* start in x->sig */
		x->cls[bnd + nclass] = n;
		/* classes by lowest member: a class's first entry in x->sig is
		 * its lowest choice (sorted by signature, then choice) */
		for (uint32_t a = 1; a < nclass; a++)
			for (uint32_t b = a; b > 0 && x->sig[x->cls[bnd + b]].c <
			     x->sig[x->cls[bnd + b - 1]].c; b--) {
				uint32_t t = x->cls[bnd + b];
				x->cls[bnd + b] = x->cls[bnd + b - 1];
				x->cls[bnd + b - 1] = t;
			}
		{
			/* lay the members out class by class; each bound, read
			 * once, becomes its class's arena offset */
			uint32_t at = 0;
			for (uint32_t k = 0; k < nclass; k++) {
				uint32_t s0 = x->cls[bnd + k], i = s0;
				x->cls[bnd + k] = (uint32_t)(mem + at);
				while (i < n && x->sig[i].h0 == x->sig[s0].h0 &&
				       x->sig[i].h1 == x->sig[s0].h1)
					x->cls[mem + at++] = x->sig[i++].c;
			}
			x->cls[bnd + nclass] = (uint32_t)(mem + at);
		}
		x->ncls = bnd + nclass + 1;
		for (uint32_t k = 0; k < nclass && !rc; k++) {
			uint32_t lo = x->cls[bnd + k], hi = x->cls[bnd + k + 1];
			x->gs[g] = (struct gset){ lo, hi - lo };
			if (k == 0) {
				/* this very state: the groups before G still agree
				 * on what it read, and G's class does */
				rc = lazy_rec(x, lz, true, g + 1);
			} else {
				x->choice[g] = x->cls[lo];
				slot_set_in(&x->image, sl, x->choice[g]);
				rc = lazy_rec(x, lz, false, 0);
			}
		}
		if (x->choice[g] != first) {
			x->choice[g] = first;
			slot_set_in(&x->image, sl, first);
		}
		x->gs[g] = saved;
		x->ncls = top;
		return rc;
	}
	if (!lz->nosep && lazy_leaf(x, lz, &rc) == 1) {
		/* a judgement read something new: no separability here */
		lz->nosep = true;
		rc = lazy_rec(x, lz, false, 0);
		lz->nosep = false;
		return rc;
	}
	if (rc)
		return rc;
	{
		uint64_t prod = 1;
		for (size_t k = 0; k < x->nslot; k++)
			prod = sat_mul(prod, x->gs[k].n, &lz->ovf);
		lz->covered = sat_add(lz->covered, prod, &lz->ovf);
	}
	return 0;
}

int sim_explore_point(struct sim_explorer *x, struct sim *s,
		      const struct sim_states_policy *pol, uint64_t point_index,
		      sim_state_fn *fn, void *ctx, struct sim_point_result *res,
		      char *err, size_t errlen)
{
	struct sim_crash_source src[SIM_ROLE_COUNT];
	size_t n = sim_sources(s, src);

	return sim_explore(x, sim_media(s), src, n, pol, point_index, fn, ctx,
			   res, err, errlen);
}

int sim_explore(struct sim_explorer *x, const struct media *base,
		const struct sim_crash_source *src, size_t nsrc,
		const struct sim_states_policy *pol, uint64_t point_index,
		sim_state_fn *fn, void *ctx, struct sim_point_result *res,
		char *err, size_t errlen)
{
	bool ovf = false;
	uint64_t count = 0, all = 1;
	int rc = 0;

	gather(x, base, src, nsrc);
	memset(res, 0, sizeof(*res));
	res->groups = x->nslot;
	res->held = hold_irrelevant(x, pol);
	for (size_t g = 0; g < x->nslot; g++)
		all = sat_mul(all, x->slot[g].n, &ovf);
	res->all_states = all;
	res->all_known = !ovf;

	if (pol->mode == SIM_STATES_EXHAUSTIVE && pol->reduce && !pol->no_reduce) {
		struct lazy lz = { .fn = fn, .ctx = ctx, .max = pol->max_states };
		/* S2: a point of no more states than max_states needs no more
		 * judgements; one of more is refused after max_judgements */
		if (pol->max_judgements && (ovf || all > pol->max_states))
			lz.max = pol->max_judgements;
		footprints(x);
		x->gs = grow(x->gs, &x->gs_cap, x->nslot + 1, sizeof(*x->gs));
		for (size_t g = 0; g < x->nslot; g++)
			x->gs[g] = (struct gset){ GS_ALL, x->slot[g].n };
		x->ncls = 0;
		x->image.log = &x->log;
		rc = lazy_rec(x, &lz, false, 0);
		x->image.log = NULL;
		if (lz.over) {
			snprintf(err, errlen, "crash point %" PRIu64 " needs more than %" PRIu64
				 " judgements to cover its %s%" PRIu64 " crash states (%zu volatile "
				 "groups; those judgements covered %s%" PRIu64 "); raise "
				 "--max-states, or use --states bounded:K or sample:K", point_index,
				 lz.max, ovf ? "more than " : "", all, x->nslot,
				 lz.ovf ? "more than " : "", lz.covered);
			return -1;
		}
		res->reduced = true;
		res->checked = lz.covered;
		res->total = all;
		res->total_known = !ovf && !lz.ovf;
		return rc;
	}
	switch (pol->mode) {
	case SIM_STATES_EXHAUSTIVE:
		if (ovf || (pol->max_states && all > pol->max_states)) {
			snprintf(err, errlen, "crash point %" PRIu64 " has %s%" PRIu64
				 " crash states (%zu volatile groups): more than the "
				 "exhaustive limit of %" PRIu64 "; use --states bounded:K "
				 "or sample:K", point_index, ovf ? "more than " : "", all,
				 x->nslot, pol->max_states);
			return -1;
		}
		res->total = all;
		res->total_known = true;
		for (;;) {
			size_t g;
			if ((rc = visit(x, fn, ctx, &count)))
				break;
			/* odometer: bump the first group that does not wrap */
			for (g = 0; g < x->nslot; g++) {
				struct slot *sl = &x->slot[g];
				if (++x->choice[g] < sl->n) {
					slot_set_in(&x->image, sl, x->choice[g]);
					break;
				}
				x->choice[g] = 0;
				slot_set_in(&x->image, sl, 0);
			}
			if (g == x->nslot)
				break;
		}
		break;
	case SIM_STATES_BOUNDED: {
		bool bovf = false;
		uint64_t total = bounded_count(x, pol->k, &bovf);
		if (bovf || (pol->max_states && total > pol->max_states)) {
			snprintf(err, errlen, "crash point %" PRIu64 " has %s%" PRIu64
				 " states within bounded:%" PRIu64 ": more than the limit of %"
				 PRIu64 "; lower K or use sample:K", point_index,
				 bovf ? "more than " : "", total, pol->k, pol->max_states);
			return -1;
		}
		res->total = total;
		res->total_known = true;
		rc = bounded_rec(x, 0, pol->k, fn, ctx, &count);
		break;
	}
	case SIM_STATES_SAMPLE: {
		uint64_t rng = pol->seed ^ (point_index * 0xd1b54a32d192ed03ULL);
		res->total = pol->k;
		res->total_known = true;
		for (uint64_t i = 0; i < pol->k && !rc; i++) {
			for (size_t g = 0; g < x->nslot; g++) {
				struct slot *sl = &x->slot[g];
				uint32_t c = sl->n > 1 ?
					(uint32_t)(trace_splitmix64(&rng) % sl->n) : 0;
				if (c != x->choice[g] || i == 0) {
					x->choice[g] = c;
					slot_set_in(&x->image, sl, c);
				}
			}
			rc = visit(x, fn, ctx, &count);
		}
		for (size_t g = 0; g < x->nslot; g++) {
			x->choice[g] = 0;
			slot_set_in(&x->image, &x->slot[g], 0);
		}
		break;
	}
	}
	res->checked = count;
	return rc;
}

int sim_explore_one(struct sim_explorer *x, struct sim *s, const char *id,
		    sim_state_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct sim_crash_source src[SIM_ROLE_COUNT];
	size_t nsrc = sim_sources(s, src);
	uint64_t count = 0;
	const char *p = id;
	int rc;

	gather(x, sim_media(s), src, nsrc);
	if (strcmp(id, "base") != 0) {
		while (*p) {
			unsigned long long g, c;
			char *e;
			if (*p != 'g')
				goto bad;
			errno = 0;
			g = strtoull(p + 1, &e, 10);
			if (errno || e == p + 1 || *e != '=')
				goto bad;
			p = e + 1;
			c = strtoull(p, &e, 10);
			if (errno || e == p || (*e && *e != ','))
				goto bad;
			if (g >= x->nslot) {
				snprintf(err, errlen, "state %s: group g%llu does not exist at this "
					 "point (it has %zu)", id, g, x->nslot);
				goto reset;
			}
			if (c >= x->slot[g].n || c == 0) {
				snprintf(err, errlen, "state %s: group g%llu has choices 1 to %u, "
					 "not %llu", id, g, x->slot[g].n - 1, c);
				goto reset;
			}
			x->choice[g] = (uint32_t)c;
			slot_set_in(&x->image, &x->slot[g], (uint32_t)c);
			p = *e ? e + 1 : e;
		}
	}
	rc = visit(x, fn, ctx, &count);
	for (size_t g = 0; g < x->nslot; g++)
		if (x->choice[g]) {
			x->choice[g] = 0;
			slot_set_in(&x->image, &x->slot[g], 0);
		}
	return rc;
bad:
	snprintf(err, errlen, "malformed state '%s' (expected base or g1=2,g5=1...)", id);
reset:
	for (size_t g = 0; g < x->nslot; g++)
		if (x->choice[g]) {
			x->choice[g] = 0;
			slot_set_in(&x->image, &x->slot[g], 0);
		}
	return -1;
}

/* 128-bit FNV-style mixing of (offset, bytes) runs; two independent lanes. */
static inline void hash_mix(uint64_t h[2], uint64_t v)
{
	h[0] = (h[0] ^ v) * 0x100000001b3ULL;
	h[1] = (h[1] ^ (v * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	h[1] ^= h[1] >> 29;
}

void sim_image_diff_hash(const struct sim_image *im, uint64_t h[2])
{
	h[0] = im->sum[0];
	h[1] = im->sum[1];
}

struct page_list {
	uint64_t *pg;
	size_t n, cap;
};

static void collect_base_page(void *ctx, uint64_t off, const uint8_t *page)
{
	struct page_list *l = ctx;
	(void)page;
	l->pg = grow(l->pg, &l->cap, l->n + 1, sizeof(*l->pg));
	l->pg[l->n++] = off;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int sim_image_for_each_page(const struct sim_image *im,
			    int (*fn)(void *ctx, uint64_t off, const uint8_t *page),
			    void *ctx)
{
	struct page_list l = { 0 };
	uint8_t page[MEDIA_PAGE_SIZE];
	static const uint8_t zero[MEDIA_PAGE_SIZE];
	int rc = 0;

	media_for_each_page(im->base, collect_base_page, &l);
	FOR_EACH_LIVE(im, g) {
		const struct slot *sl = &im->slot[g];
		for (size_t i = 0; i < sl->npatch; i++) {
			uint64_t first = sl->patch[i].off & ~(uint64_t)(MEDIA_PAGE_SIZE - 1);
			uint64_t last = (sl->patch[i].off + sl->patch[i].len - 1) &
					~(uint64_t)(MEDIA_PAGE_SIZE - 1);
			for (uint64_t pg = first; pg <= last; pg += MEDIA_PAGE_SIZE) {
				l.pg = grow(l.pg, &l.cap, l.n + 1, sizeof(*l.pg));
				l.pg[l.n++] = pg;
			}
		}
	}
	if (l.n)
		qsort(l.pg, l.n, sizeof(*l.pg), cmp_u64);
	for (size_t i = 0; i < l.n && !rc; i++) {
		if (i && l.pg[i] == l.pg[i - 1])
			continue;
		sim_image_read(im, l.pg[i], page, MEDIA_PAGE_SIZE);
		if (memcmp(page, zero, sizeof(page)))
			rc = fn(ctx, l.pg[i], page);
	}
	free(l.pg);
	return rc;
}

static int hash_page(void *ctx, uint64_t off, const uint8_t *page)
{
	uint64_t *h = ctx;
	uint64_t w;

	hash_mix(h, off);
	for (size_t i = 0; i < MEDIA_PAGE_SIZE; i += 8) {
		memcpy(&w, page + i, 8);
		hash_mix(h, w);
	}
	return 0;
}

void sim_image_hash(const struct sim_image *im, uint64_t h[2])
{
	h[0] = 0xcbf29ce484222325ULL;
	h[1] = 0x6a09e667f3bcc909ULL;
	sim_image_for_each_page(im, hash_page, h);
	hash_mix(h, media_size(im->base));
}

bool sim_point_unexplored(struct sim *s)
{
	struct sim_crash_source src[SIM_ROLE_COUNT];
	size_t nsrc = sim_sources(s, src);

	for (size_t i = 0; i < nsrc; i++)
		if (src[i].ops->unexplored && src[i].ops->unexplored(src[i].self))
			return true;
	return false;
}

void sim_state_format(const uint32_t *choice, size_t ngroups, char *buf, size_t len)
{
	size_t o = 0;
	bool any = false;

	buf[0] = '\0';
	for (size_t g = 0; g < ngroups && o < len; g++) {
		if (!choice[g])
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%sg%zu=%" PRIu32,
				      any ? "," : "", g, choice[g]);
		any = true;
	}
	if (!any)
		snprintf(buf, len, "base");
}

void sim_state_describe(struct sim *s, const uint32_t *choice, size_t ngroups,
			FILE *out)
{
	struct sim_crash_source src[SIM_ROLE_COUNT];
	size_t nsrc = sim_sources(s, src), base = 0;
	char line[512];

	for (size_t i = 0; i < nsrc; i++) {
		size_t k = src[i].ops->ngroups(src[i].self);
		for (size_t g = 0; g < k && base + g < ngroups; g++) {
			if (!choice[base + g])
				continue;
			line[0] = '\0';
			src[i].ops->describe(src[i].self, g, choice[base + g], line, sizeof(line));
			fprintf(out, "  g%zu=%" PRIu32 ": %s\n", base + g, choice[base + g], line);
		}
		base += k;
	}
}
