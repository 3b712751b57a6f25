/*
 * cache_crash.c — what the pmem media could hold if the power failed now:
 * the cache model's crash-state interface (sim/crash.h).
 *
 * Method.  The base is the media.  Everything volatile belongs to one
 * line record (cache_int.h), and one line is one group: C3 makes lines
 * independent, and within a line C2, C7, C8, C9 and C11 tie the history
 * and the NT pieces together, so they are folded into one group whose
 * choices are exactly the allowed combinations.  A line with history
 * h[0..n) (cached stores and, on a pcommit machine, WPQ entries, in
 * program order) and NT pieces grouped by 8-byte chunk (p_c pieces in
 * chunk c, program order within the chunk) has these choices, in order:
 *
 *   0                      nothing beyond the base;
 *   then for j = 0..n-1:   first the 2^m_j - 2 tears of h[j] (h[0..j)
 *                          whole and a proper, non-empty subset of h[j]'s
 *                          m_j chunks, subset number 1..2^m_j-2 as a
 *                          bit mask over its chunks, C7), then h[0..j]
 *                          whole (C2);
 *   then, if NT pieces:    the whole history and, per chunk, a prefix of
 *                          its pieces, not all empty (C8, C9): a mixed-
 *                          radix number over the chunks that have pieces,
 *                          lowest chunk fastest, digit = pieces taken.
 *
 * So nchoices = 1 + sum_j (2^m_j - 1) + prod_c (p_c + 1) - 1.  On an adr
 * or eadr machine a line with NT pieces has no history (I4, I5).
 *
 * Groups are the records with something volatile, sorted by line: the
 * same trace gives the same group numbers.  The sorted view (struct
 * cache_view, cache_int.h: each group's line and nchoices, and its slot
 * as a hint) is kept across crash points and brought up to date by the
 * first crash query after a change, from the lines cache.c marked as
 * their records changed (cache_rec_changed: a record became volatile,
 * gained or lost history entries or NT pieces, moved entries to the WPQ,
 * or stopped being volatile).  The update sorts the C marked lines, finds
 * each one's group by binary search and its record by line (records move
 * in the table, lines do not): a line still volatile gets its nchoices
 * anew in place; the lines that came or went are merged in by one pass
 * over the groups from the first of them on.  So a point costs O(C log V)
 * for V groups, plus that pass when a line came or went (a copy of the
 * groups above it: none when the new line is the highest, as in a forward
 * copy), where rebuilding and sorting every volatile record at every
 * point cost O(slots + V) (docs/performance.md, "The crash view kept
 * across points").  The view is rebuilt from the record table only at the
 * first query, and when more lines were marked than twice the live
 * records (a run that asks for no crash states keeps O(records) of marks,
 * not O(events)).  Between changes the explorer's queries cost O(1)
 * (ngroups, nchoices) and O(history of the line) (apply): a replay into a
 * line-sized stack buffer, then one emit per run of touched bytes.  No
 * allocation per state.
 */
#include "cache_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cache_view_free(struct cache_view *v)
{
	if (!v)
		return;
	free(v->line);
	free(v->nchoices);
	free(v->rec);
	free(v->dirty);
	free(v->ksort);
	free(v->ktmp);
	free(v->kidx);
	free(v->mline);
	free(v->mnc);
	free(v->mrec);
	free(v->ntev);
	free(v);
}

/* CAP grown (doubled, from 256) to hold at least N. */
static size_t view_cap(size_t cap, size_t n)
{
	size_t ncap = cap ? cap : 256;

	while (ncap < n)
		ncap *= 2;
	return ncap;
}

/* *P reallocated to N elements of SIZE bytes; aborts on out of memory (the
 * view is part of the model's volatile state, as in rec_grow). */
static void *view_realloc(void *p, size_t n, size_t size)
{
	if (!(p = realloc(p, n * size)))
		abort();
	return p;
}

/*
 * The dirty list is full (cache_rec_changed): grow it while it is shorter
 * than twice the live records, else give it up and mark the view stale:
 * past that, rebuilding from the record table at the next query costs
 * less than sorting the list, and a run that asks for no crash states
 * keeps O(records) of list, not O(events).
 */
void cache_view_overflow(struct cache_model *m, uint64_t line)
{
	struct cache_view *v = m->view;
	size_t cap;

	if (v->ndirty >= 4096 && v->ndirty >= 2 * (size_t)m->nlive) {
		v->stale = true;
		v->ndirty = 0;
		return;
	}
	cap = view_cap(v->dirty_cap, v->ndirty + 1);
	v->dirty = view_realloc(v->dirty, cap, sizeof(*v->dirty));
	v->dirty_cap = cap;
	v->dirty[v->ndirty++] = line;
}

void cache_view_forget(struct cache_model *m)
{
	m->view->stale = true;
	m->view->ndirty = 0;
}

/*
 * Sort the lines K[0, N), each with its slot in I[0, N) when I is not
 * NULL, using T (and, with I, J) as scratch: a radix sort, 11 bits a
 * pass, as many passes as the largest line needs.  A rebuild sorts every
 * volatile line, and a qsort through the records (an indirect
 * comparison, a host cache miss each) was half of a point's time with
 * 16,000 volatile lines (a pcommit machine's WPQ after a 1 MiB copy;
 * tests/fuzz_sim.c).  Returns which of the pair (K, I) or (T, J) holds
 * the result: false for the first.
 */
static bool sort_lines(uint64_t *k, uint32_t *i, uint64_t *t, uint32_t *j, size_t n)
{
	uint64_t max = 0;
	bool swapped = false;

	for (size_t x = 0; x < n; x++)
		max |= k[x];
	for (unsigned shift = 0; shift < 64 && max >> shift; shift += 11) {
		size_t count[2048 + 1] = { 0 };
		uint64_t *xk;
		uint32_t *xi;
		for (size_t x = 0; x < n; x++)
			count[(k[x] >> shift & 2047) + 1]++;
		for (size_t d = 1; d <= 2048; d++)
			count[d] += count[d - 1];
		for (size_t x = 0; x < n; x++) {
			size_t to = count[k[x] >> shift & 2047]++;
			t[to] = k[x];
			if (i)
				j[to] = i[x];
		}
		xk = k;
		k = t;
		t = xk;
		xi = i;
		i = j;
		j = xi;
		swapped = !swapped;
	}
	return swapped;
}

/* Per-chunk NT piece counts of R. */
static void nt_counts(const struct cache_rec *r, uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK])
{
	memset(cnt, 0, sizeof(uint32_t) * (CACHE_MAX_LINE / CACHE_CHUNK));
	for (uint32_t i = 0; i < r->nnt; i++)
		cnt[r->nt[i].chunk0]++;
}

/*
 * NT segments (a pcommit machine, C8 + C11).  On a pcommit machine a
 * line's NT pieces reach the volatile WPQ, which writes a line's entries
 * to the media in the order they came; they come from the WC buffers by
 * themselves, at any moment, each chunk's pieces in order, and by the
 * fence on their CPU at the latest.  So the media may hold any set D of
 * the line's NT pieces closed under "q before p": q is older in p's chunk
 * (C8), or q was drained (by a fence, C6; C9; C15) before p was stored
 * (ntd(q) <= nte(p), the line's NT epoch counting the drains).  The
 * pieces between two cached stores of the line (C9 keeps them apart: the
 * segment) are a run of drained pieces in the history and, for the last
 * segment, the pending ones; their choices are the down-sets of that
 * order.  Counted by the newest epoch E of a piece in D: D holds, in each
 * chunk c, a prefix of k_c pieces with L_c(E) <= k_c <= U_c(E), where L_c
 * counts the pieces of c drained by E and U_c those stored by E, and at
 * least one piece stored in E; so E contributes prod (U_c - L_c + 1) -
 * prod (U'_c - L_c + 1), U'_c counting those stored before E.  The events
 * (stored at, drained at) are sorted by epoch and swept once.
 */
static int ntev_cmp(const void *a, const void *b)
{
	const struct cache_ntev *x = a, *y = b;

	return (x->ep > y->ep) - (x->ep < y->ep);
}

#define NCH (CACHE_MAX_LINE / CACHE_CHUNK)
#define NT_SAT (1ull << 40)

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return a && b > NT_SAT / a ? NT_SAT : a * b;
}

/* The segment's events, sorted, in V's scratch; returns how many. */
static size_t seg_events(struct cache_view *v, const struct cache_rec *r, uint32_t j0,
			 uint32_t j1, bool pend, int xc, uint32_t xe)
{
	size_t n = 2 * (size_t)(j1 - j0) + (pend ? r->nnt : 0) + 1, k = 0;

	if (n > v->ntev_cap) {
		v->ntev_cap = view_cap(v->ntev_cap, n);
		v->ntev = view_realloc(v->ntev, v->ntev_cap, sizeof(*v->ntev));
	}
	for (uint32_t j = j0; j < j1; j++) {
		const struct cache_wr *w = &r->wr[j];
		v->ntev[k++] = (struct cache_ntev){ .ep = w->nte, .ch = w->chunk0 };
		v->ntev[k++] = (struct cache_ntev){ .ep = w->ntd, .ch = w->chunk0, .drained = 1 };
	}
	for (uint32_t i = 0; pend && i < r->nnt; i++)
		v->ntev[k++] = (struct cache_ntev){ .ep = r->nt[i].nte, .ch = r->nt[i].chunk0 };
	if (xc >= 0)
		v->ntev[k++] = (struct cache_ntev){ .ep = xe, .ch = (uint8_t)xc };
	qsort(v->ntev, k, sizeof(*v->ntev), ntev_cmp);
	return k;
}

/* Room for N more of the N0 elements of size SIZE at *P (capacity *CAP),
 * doubled from 2: a record's tables are small (most segments have one
 * epoch row), and thousands of records may have them (a 1 MiB NT copy
 * fenced: 16,384 lines). */
static void *seg_room(void *p, uint32_t *cap, uint32_t n0, uint32_t n, size_t size)
{
	uint32_t ncap = *cap ? *cap : 2;

	if (n0 + n <= *cap)
		return p;
	while (ncap < n0 + n)
		ncap *= 2;
	*cap = ncap;
	return view_realloc(p, ncap, size);
}

/*
 * Sweep the segment's epochs: return its down-sets, the empty one
 * included.  With X (R's extension), also append one row per epoch in
 * which pieces were stored to X's rows.
 */
static uint64_t seg_sweep(const struct cache_model *m, const struct cache_rec *r,
			  uint32_t j0, uint32_t j1, bool pend, int xc, uint32_t xe,
			  struct cache_rext *x)
{
	struct cache_view *v = m->view;
	uint32_t lo[NCH] = { 0 }, up[NCH] = { 0 }, add[NCH], nch = 0;
	uint64_t total = 1;
	size_t n = seg_events(v, r, j0, j1, pend, xc, xe);

	for (size_t i = 0; i < n; i++)
		if (v->ntev[i].ch >= nch)
			nch = v->ntev[i].ch + 1u;
	for (size_t i = 0; i < n;) {
		uint32_t ep = v->ntev[i].ep;
		uint64_t all = 1, old = 1;
		bool stored = false;
		memset(add, 0, sizeof(add));
		for (; i < n && v->ntev[i].ep == ep; i++) {
			if (v->ntev[i].drained) {
				lo[v->ntev[i].ch]++;
			} else {
				add[v->ntev[i].ch]++;
				stored = true;
			}
		}
		if (!stored)
			continue;
		for (int c = 0; c < NCH; c++) {
			all = mul_sat(all, up[c] + add[c] - lo[c] + 1);
			old = mul_sat(old, up[c] - lo[c] + 1);
		}
		if (x) {
			struct cache_ntrow *w;
			x->rows = seg_room(x->rows, &x->rows_cap, x->nrows, 1, sizeof(*x->rows));
			w = &x->rows[x->nrows++];
			w->before = total - 1;
			w->nch = nch;
			memcpy(w->lo, lo, sizeof(lo));
			memcpy(w->up, up, sizeof(up));
			memcpy(w->add, add, sizeof(add));
		}
		total = total + (all - old) > NT_SAT ? NT_SAT : total + (all - old);
		for (int c = 0; c < NCH; c++)
			up[c] += add[c];
	}
	return total;
}

uint64_t cache_nt_downsets(const struct cache_model *m, const struct cache_rec *r,
			   uint32_t j0, uint32_t j1, bool pend, int xc, uint32_t xe)
{
	return seg_sweep(m, r, j0, j1, pend, xc, xe, NULL);
}

/*
 * K[c], the pieces of each chunk in the Y-th (from 0) non-empty down-set
 * of the segment S of X: the row of the newest epoch E it takes a piece
 * of, found by binary search, then the (Y - before)-th vector of the box
 * [lo, up + add] with some chunk above up, counted by the lowest such
 * chunk j (those below it at most up, j above, the rest any).
 */
static void seg_unrank(const struct cache_rext *x, const struct cache_ntseg *s, uint64_t y,
		       uint32_t k[NCH])
{
	uint32_t a = s->row, b = s->row + s->nrow;
	const struct cache_ntrow *w;
	int j;

	while (b - a > 1) {
		uint32_t mid = a + (b - a) / 2;
		if (x->rows[mid].before <= y)
			a = mid;
		else
			b = mid;
	}
	w = &x->rows[a];
	y -= w->before;
	{
		/* the count for j: prod_{c<j} low(c) * add[j] * suffix[j+1],
		 * suffix[c] = prod_{c'>=c} all(c'), in one pass each way */
		uint64_t suffix[NCH + 1], prefix = 1;
		suffix[w->nch] = 1;
		for (int c = (int)w->nch - 1; c >= 0; c--)
			suffix[c] = suffix[c + 1] * (w->up[c] + w->add[c] - w->lo[c] + 1);
		for (j = 0; j < (int)w->nch; j++) {
			uint64_t cj = prefix * w->add[j] * suffix[j + 1];
			if (y < cj)
				break;
			y -= cj;
			prefix *= w->up[j] - w->lo[j] + 1;
		}
	}
	assert(j < (int)w->nch);
	for (int c = 0; c < (int)w->nch; c++) {
		uint32_t base = c == j ? w->up[c] + 1 : w->lo[c];
		uint32_t radix = c < j ? w->up[c] - w->lo[c] + 1 :
				 c == j ? w->add[c] : w->up[c] + w->add[c] - w->lo[c] + 1;
		k[c] = base + (uint32_t)(y % radix);
		y /= radix;
	}
	assert(y == 0);
}

/* The end of the run of drained NT pieces that starts at J. */
static uint32_t run_end(const struct cache_rec *r, uint32_t j)
{
	while (j < r->nwr && r->wr[j].ntd)
		j++;
	return j;
}

/* Whether R's choices need the NT segments: drained NT pieces in its
 * history (a pcommit machine).  Otherwise the NT pieces are all pending
 * and after the whole history (I4), and their down-sets are the product
 * of per-chunk prefixes. */
static inline bool rec_segments(const struct cache_rec *r)
{
	return r->x && r->x->nnthist;
}

/* Append to X the segment [J0, J1) (+ pending if PEND) of R and its rows. */
static uint64_t seg_add(const struct cache_model *m, const struct cache_rec *r,
			struct cache_rext *x, uint32_t j0, uint32_t j1, bool pend)
{
	struct cache_ntseg *s;

	x->segs = seg_room(x->segs, &x->segs_cap, x->nsegs, 1, sizeof(*x->segs));
	s = &x->segs[x->nsegs++];
	s->j0 = j0;
	s->j1 = j1;
	s->pend = pend;
	s->row = x->nrows;
	s->nonempty = seg_sweep(m, r, j0, j1, pend, -1, 0, x) - 1;
	s->nrow = x->nrows - s->row;
	return s->nonempty;
}

/*
 * R's choices.  A record with NT segments (rec_segments()) gets its
 * segments' tables rebuilt here: the crash view counts the choices of
 * every record that changed before it answers a query (view_update,
 * view_rebuild), so decode() finds them up to date.
 */
static uint32_t rec_nchoices(const struct cache_model *m, const struct cache_rec *r)
{
	uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK];
	uint64_t p = 1;

	if (rec_segments(r)) {
		struct cache_rext *x = r->x;
		uint64_t n = 1;
		x->nsegs = x->nrows = 0;
		for (uint32_t j = 0; j < r->nwr;) {
			uint32_t j1;
			if (!r->wr[j].ntd) {
				n += 1 + tears_of(r->wr[j].nchunk);
				j++;
				continue;
			}
			j1 = run_end(r, j);
			n += seg_add(m, r, x, j, j1, j1 == r->nwr && r->nnt);
			j = j1;
		}
		if (r->nnt && !r->wr[r->nwr - 1].ntd)
			n += seg_add(m, r, x, r->nwr, r->nwr, true);
		assert(n <= UINT32_MAX);	/* C15 bounds each part */
		return (uint32_t)n;
	}
	nt_counts(r, cnt);
	for (int c = 0; c < CACHE_MAX_LINE / CACHE_CHUNK; c++)
		p *= cnt[c] + 1;
	assert(r->hchoices + p - 1 <= UINT32_MAX);	/* C15 bounds both */
	return (uint32_t)(r->hchoices + p - 1);
}

static inline bool rec_volatile(const struct cache_rec *r)
{
	return r && (r->nwr || r->nnt);
}

/* Room for N groups in the view's arrays and in the merge's. */
static void view_groups_room(struct cache_view *v, size_t n)
{
	size_t cap;

	if (n <= v->cap && v->line)	/* allocated even for none */
		return;
	cap = view_cap(v->cap, n);
	v->line = view_realloc(v->line, cap, sizeof(*v->line));
	v->nchoices = view_realloc(v->nchoices, cap, sizeof(*v->nchoices));
	v->rec = view_realloc(v->rec, cap, sizeof(*v->rec));
	v->mline = view_realloc(v->mline, cap, sizeof(*v->mline));
	v->mnc = view_realloc(v->mnc, cap, sizeof(*v->mnc));
	v->mrec = view_realloc(v->mrec, cap, sizeof(*v->mrec));
	v->cap = cap;
}

/* Room for N lines to sort: ksort, ktmp, and kidx twice over (the slots
 * and their scratch, kidx + kcap). */
static void view_keys_room(struct cache_view *v, size_t n)
{
	size_t cap;

	if (n <= v->kcap && v->ksort)	/* allocated even for none */
		return;
	cap = view_cap(v->kcap, n);
	v->ksort = view_realloc(v->ksort, cap, sizeof(*v->ksort));
	v->ktmp = view_realloc(v->ktmp, cap, sizeof(*v->ktmp));
	v->kidx = view_realloc(v->kidx, 2 * cap, sizeof(*v->kidx));
	v->kcap = cap;
}

/* From scratch: every volatile record of the table, sorted by line.
 * O(slots + V). */
static void view_rebuild(const struct cache_model *m, struct cache_view *v)
{
	size_t n = 0;
	uint64_t *k;
	uint32_t *ix;

	view_keys_room(v, m->nlive);
	for (uint32_t i = 0; i < m->nrec; i++)
		if (rec_volatile(&m->rec[i])) {
			v->ksort[n] = cache_rec_line(&m->rec[i]);
			v->kidx[n++] = i;
		}
	k = v->ksort;
	ix = v->kidx;
	if (sort_lines(v->ksort, v->kidx, v->ktmp, v->kidx + v->kcap, n)) {
		k = v->ktmp;
		ix = v->kidx + v->kcap;
	}
	view_groups_room(v, n);
	for (size_t g = 0; g < n; g++) {
		v->line[g] = k[g];
		v->rec[g] = ix[g];
		v->nchoices[g] = rec_nchoices(m, &m->rec[ix[g]]);
	}
	v->n = n;
}

/* The first group whose line is at least LINE, searching from FROM. */
static size_t view_lower_bound(const struct cache_view *v, size_t from, uint64_t line)
{
	size_t a = from, b = v->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (v->line[mid] < line)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

/*
 * Bring the view up to date from the dirty lines: sort them (C of them,
 * repeats dropped), then for each find its group by binary search and its
 * record by line.  A line still volatile and still a group only gets its
 * nchoices anew; the lines that became volatile or stopped being so are
 * merged in, in one pass over the groups from the first of them on.
 * O(C log V) plus that pass (none when no group came or went; short when
 * the new lines are the highest, as a forward copy makes them).
 */
static void view_update(struct cache_model *m, struct cache_view *v)
{
	size_t nd = v->ndirty, nedit = 0, first = v->n, at = 0;
	uint64_t *d = v->dirty, prev = 0;

	view_keys_room(v, nd);
	memcpy(v->ksort, d, nd * sizeof(*d));
	d = sort_lines(v->ksort, NULL, v->ktmp, NULL, nd) ? v->ktmp : v->ksort;
	v->ndirty = 0;
	/* pass 1: update in place; compact the edits (lines that came or
	 * went) to the front of d[], ascending, each once */
	for (size_t i = 0; i < nd; i++) {
		const struct cache_rec *r;
		bool live, had;
		if (i && d[i] == prev)
			continue;
		prev = d[i];
		r = cache_rec_find(m, d[i]);
		live = rec_volatile(r);
		at = view_lower_bound(v, at, d[i]);
		had = at < v->n && v->line[at] == d[i];
		if (live && had) {
			v->nchoices[at] = rec_nchoices(m, r);
			v->rec[at] = (uint32_t)(r - m->rec);
		} else if (live != had) {
			if (!nedit)
				first = at;
			d[nedit++] = d[i];
		}
	}
	if (!nedit)
		return;
	/* pass 2: merge groups [first, n) with the edits into the scratch,
	 * then copy it back over them */
	view_groups_room(v, v->n + nedit);
	{
		size_t o = 0, g = first, e = 0;
		while (g < v->n || e < nedit) {
			if (e < nedit && (g == v->n || d[e] <= v->line[g])) {
				const struct cache_rec *r;
				if (g < v->n && d[e] == v->line[g]) {
					g++;		/* gone */
					e++;
					continue;
				}
				r = cache_rec_find(m, d[e]);	/* came */
				v->mline[o] = d[e];
				v->mnc[o] = rec_nchoices(m, r);
				v->mrec[o++] = (uint32_t)(r - m->rec);
				e++;
			} else {
				v->mline[o] = v->line[g];
				v->mnc[o] = v->nchoices[g];
				v->mrec[o++] = v->rec[g++];
			}
		}
		memcpy(v->line + first, v->mline, o * sizeof(*v->line));
		memcpy(v->nchoices + first, v->mnc, o * sizeof(*v->nchoices));
		memcpy(v->rec + first, v->mrec, o * sizeof(*v->rec));
		v->n = first + o;
	}
}

static struct cache_view *view(const struct cache_model *m)
{
	struct cache_view *v = m->view;

	if (m->nohist) {
		/* cache_keep_history(false): the caller promised not to ask */
		fprintf(stderr, "powercut: internal error: crash states of a cache model "
			"that keeps no history\n");
		abort();
	}
	if (v->stale) {
		view_rebuild(m, v);
		v->stale = false;
		v->ndirty = 0;
	} else if (v->ndirty) {
		view_update((struct cache_model *)m, v);
	}
	return v;
}

/* The record of group G.  The slot remembered is checked: records move
 * (rec_grow, rec_put's backward shift), lines do not. */
static const struct cache_rec *group_rec(const struct cache_model *m, struct cache_view *v,
					 size_t g)
{
	const struct cache_rec *r = &m->rec[v->rec[g] & (m->nrec - 1)];

	if (r->nline != ~v->line[g]) {
		r = cache_rec_find((struct cache_model *)m, v->line[g]);
		assert(r);		/* a group's line has its record */
		v->rec[g] = (uint32_t)(r - m->rec);
	}
	return r;
}

static size_t crash_ngroups(const void *self)
{
	return view(self)->n;
}

static uint32_t crash_nchoices(const void *self, size_t g)
{
	const struct cache_view *v = view(self);

	assert(g < v->n);
	return v->nchoices[g];
}

/* What choice C of record R means: history entries [0, whole) whole;
 * if torn_mask, those chunks of entry whole; if seg, in each chunk c the
 * first digit[c] NT pieces of the segment made of entries [whole,
 * seg_end) and, if pend, the pending pieces. */
struct cache_choice {
	uint32_t whole;
	uint32_t torn_mask;
	bool seg, pend;
	uint32_t seg_end;
	uint32_t digit[NCH];
};

/* decode() of a record with NT segments (rec_segments()), from the
 * tables rec_nchoices() built. */
static void decode_segments(const struct cache_rec *r, uint32_t c, struct cache_choice *ch)
{
	const struct cache_rext *x = r->x;
	uint64_t rem = c;
	uint32_t si = 0;

	for (uint32_t j = 0; j < r->nwr && rem;) {
		const struct cache_ntseg *s;
		if (!r->wr[j].ntd) {
			uint32_t t = tears_of(r->wr[j].nchunk);
			if (rem <= t) {
				ch->whole = j;
				ch->torn_mask = (uint32_t)rem;
				return;
			}
			rem -= t + 1;
			ch->whole = ++j;
			continue;
		}
		s = &x->segs[si++];
		assert(si <= x->nsegs && s->j0 == j);
		if (rem <= s->nonempty) {
			ch->whole = j;
			ch->seg = true;
			ch->seg_end = s->j1;
			ch->pend = s->pend;
			seg_unrank(x, s, rem - 1, ch->digit);
			return;
		}
		rem -= s->nonempty;
		ch->whole = j = s->j1;
	}
	if (!rem)
		return;
	assert(si + 1 == x->nsegs && x->segs[si].pend && ch->whole == r->nwr);
	ch->seg = ch->pend = true;
	ch->seg_end = r->nwr;
	seg_unrank(x, &x->segs[si], rem - 1, ch->digit);
}

static void decode(const struct cache_rec *r, uint32_t c,
		   struct cache_choice *ch)
{
	memset(ch, 0, sizeof(*ch));
	if (rec_segments(r)) {
		decode_segments(r, c, ch);
	} else if (c < r->hchoices) {
		uint32_t rem = c;
		for (uint32_t j = 0; j < r->nwr && rem; j++) {
			uint32_t t = tears_of(r->wr[j].nchunk);
			if (rem <= t) {
				ch->whole = j;
				ch->torn_mask = rem;
				return;
			}
			rem -= t;
			ch->whole = j + 1;
			rem--;
		}
		assert(rem == 0);
		return;
	} else {
		uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK];
		uint64_t v = (uint64_t)c - r->hchoices + 1;
		ch->whole = ch->seg_end = r->nwr;
		ch->seg = ch->pend = true;
		nt_counts(r, cnt);
		for (int k = 0; k < CACHE_MAX_LINE / CACHE_CHUNK; k++) {
			if (!cnt[k])
				continue;
			ch->digit[k] = (uint32_t)(v % (cnt[k] + 1));
			v /= cnt[k] + 1;
		}
		assert(v == 0);
	}
}

/* Mark bytes [OFF, OFF+N) of a line (N >= 1, OFF+N <= 128) in T. */
static inline void touch(uint64_t t[2], uint32_t off, uint32_t n)
{
	uint32_t end = off + n;

	if (off < 64)
		t[0] |= (end >= 64 ? ~0ull : (1ull << end) - 1) & ~0ull << off;
	if (end > 64)
		t[1] |= (end >= 128 ? ~0ull : (1ull << (end - 64)) - 1) &
			~0ull << (off > 64 ? off - 64 : 0);
}

/* Copy W's bytes [A, B) of the line (within W) into BUF and mark them. */
static inline void replay_piece(const struct cache_rec *r, const struct cache_wr *w,
				uint32_t a, uint32_t b, uint8_t *buf, uint64_t t[2])
{
	cache_copy_piece(buf + a, NULL, cache_wr_data(r, w) + (a - w->off), b - a);
	touch(t, a, b - a);
}

/* Replay choice CH of R into BUF, marking the bytes it writes in T (one
 * line).  Marks, not a byte per byte: an apply of a 64-byte line was a
 * 64-byte memset and a byte-by-byte scan for runs. */
static void replay(const struct cache_rec *r, const struct cache_choice *ch,
		   uint8_t *buf, uint64_t t[2])
{
	for (uint32_t j = 0; j < ch->whole; j++) {
		const struct cache_wr *w = &r->wr[j];
		replay_piece(r, w, w->off, w->off + w->len, buf, t);
	}
	if (ch->torn_mask) {
		const struct cache_wr *w = &r->wr[ch->whole];
		for (uint32_t k = 0; k < w->nchunk; k++) {
			uint32_t a = (w->chunk0 + k) * CACHE_CHUNK, b = a + CACHE_CHUNK;
			if (!(ch->torn_mask >> k & 1))
				continue;
			replay_piece(r, w, a > w->off ? a : w->off,
				     b < w->off + w->len ? b : w->off + w->len, buf, t);
		}
	}
	if (ch->seg) {
		/* a chunk's pieces, drained then pending, in program order */
		uint32_t taken[NCH] = { 0 };
		for (uint32_t j = ch->whole; j < ch->seg_end; j++) {
			const struct cache_wr *w = &r->wr[j];
			if (taken[w->chunk0]++ < ch->digit[w->chunk0])
				replay_piece(r, w, w->off, w->off + w->len, buf, t);
		}
		for (uint32_t i = 0; ch->pend && i < r->nnt; i++) {
			const struct cache_wr *w = &r->nt[i];
			if (taken[w->chunk0]++ < ch->digit[w->chunk0])
				replay_piece(r, w, w->off, w->off + w->len, buf, t);
		}
	}
}

/* The first byte at or after I (< 128) whose mark in T is B, or 128. */
static inline uint32_t next_mark(const uint64_t t[2], uint32_t i, bool b)
{
	for (; i < 128; i = (i | 63) + 1) {
		uint64_t w = (b ? t[i >> 6] : ~t[i >> 6]) >> (i & 63);
		if (w)
			return i + (uint32_t)__builtin_ctzll(w);
	}
	return 128;
}

static void crash_apply(const void *self, size_t g, uint32_t c,
			sim_emit_fn *emit, void *ctx)
{
	const struct cache_model *m = self;
	struct cache_view *v = view(m);
	const struct cache_rec *r;
	struct cache_choice ch;
	uint8_t buf[CACHE_MAX_LINE];
	uint64_t base, t[2] = { 0, 0 };

	assert(g < v->n && c < v->nchoices[g]);
	if (!c)
		return;
	r = group_rec(m, v, g);
	base = cache_rec_line(r) << m->line_shift;
	decode(r, c, &ch);
	replay(r, &ch, buf, t);
	/* one emit per run of marked bytes, a run across the two words
	 * included (the line's bytes past line_size are never marked) */
	for (uint32_t i = next_mark(t, 0, true); i < m->line_size;) {
		uint32_t j = next_mark(t, i, false);
		emit(ctx, base + i, buf + i, j - i);
		i = next_mark(t, j, true);
	}
}

/* Trace lines of entries [a, b) of A, abbreviated. */
static size_t lines_of(char *buf, size_t len, const struct cache_wr *a, uint32_t from,
		       uint32_t to)
{
	size_t o = 0;

	for (uint32_t i = from; i < to && o < len; i++) {
		if (i - from == 8) {
			o += (size_t)snprintf(buf + o, len - o, ", ...");
			break;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%" PRIu64, i > from ? ", " : "",
				      (uint64_t)a[i].tline);
	}
	return o;
}

static int crash_describe(const void *self, size_t g, uint32_t c, char *buf, size_t len)
{
	const struct cache_model *m = self;
	struct cache_view *v = view(m);
	const struct cache_rec *r;
	struct cache_choice ch;
	size_t o = 0;
	char tl[128];

	assert(g < v->n && c < v->nchoices[g]);
	r = group_rec(m, v, g);
	decode(r, c, &ch);
#define PUT(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
	PUT("line 0x%" PRIx64 ": ", cache_rec_line(r) << m->line_shift);
	if (r->nwr && !(ch.seg && !ch.whole)) {	/* (a segment at 0 says it all) */
		tl[0] = '\0';
		lines_of(tl, sizeof(tl), r->wr, 0, ch.whole + (ch.torn_mask != 0));
		if (!ch.whole && !ch.torn_mask)
			PUT("none of %u stores", r->nwr);
		else if (ch.whole)
			PUT("stores 1-%u of %u", ch.whole, r->nwr);
		if (ch.torn_mask) {
			const struct cache_wr *w = &r->wr[ch.whole];
			PUT("%sstore %u torn (chunks", ch.whole ? ", " : "", ch.whole + 1);
			for (uint32_t k = 0; k < w->nchunk; k++)
				if (ch.torn_mask >> k & 1)
					PUT(" 0x%" PRIx64, (cache_rec_line(r) << m->line_shift) +
					    (w->chunk0 + k) * CACHE_CHUNK);
			PUT(" of %u)", w->nchunk);
		}
		if (tl[0])
			PUT(" (trace lines %s)", tl);
		PUT("; ");
	}
	if (ch.seg || r->nnt) {
		/* the NT pieces of the segment chosen, or the pending ones */
		uint32_t cnt[NCH] = { 0 };
		int first = 1;
		for (uint32_t j = ch.whole; ch.seg && j < ch.seg_end; j++)
			cnt[r->wr[j].chunk0]++;
		for (uint32_t i = 0; (!ch.seg || ch.pend) && i < r->nnt; i++)
			cnt[r->nt[i].chunk0]++;
		PUT("nt:");
		for (int k = 0; k < NCH; k++) {
			if (!cnt[k])
				continue;
			PUT("%s 0x%" PRIx64 " %u of %u", first ? "" : ",",
			    (cache_rec_line(r) << m->line_shift) + (uint64_t)k * CACHE_CHUNK,
			    ch.seg ? ch.digit[k] : 0, cnt[k]);
			first = 0;
		}
		PUT("; ");
	}
	if (r->nwpq)
		PUT("%u in the WPQ; ", r->nwpq);
	if (o >= 2 && o < len && buf[o - 2] == ';')
		buf[o -= 2] = '\0';			/* the last "; " */
#undef PUT
	return (int)o;
}

/* What the choices of group G emit between them (crash.h): each entry of
 * the line's history and each non-temporal piece, whole.  Exact: a choice
 * only replays entries (whole, or chunks of one, C3), so each byte and
 * value it emits is an entry's; and each entry is emitted whole, last, by
 * the choice that persists the history up to it (or the NT pieces of its
 * chunk up to it, C8). */
static void crash_footprint(const void *self, size_t g, sim_emit_fn *emit, void *ctx)
{
	const struct cache_model *m = self;
	struct cache_view *v = view(m);
	const struct cache_rec *r;
	uint64_t base;

	assert(g < v->n);
	r = group_rec(m, v, g);
	base = cache_rec_line(r) << m->line_shift;
	for (uint32_t j = 0; j < r->nwr; j++)
		emit(ctx, base + r->wr[j].off, cache_wr_data(r, &r->wr[j]), r->wr[j].len);
	for (uint32_t i = 0; i < r->nnt; i++)
		emit(ctx, base + r->nt[i].off, cache_wr_data(r, &r->nt[i]), r->nt[i].len);
}

const struct sim_crash_ops cache_crash_ops = {
	.ngroups = crash_ngroups,
	.nchoices = crash_nchoices,
	.apply = crash_apply,
	.describe = crash_describe,
	.footprint = crash_footprint,
};
