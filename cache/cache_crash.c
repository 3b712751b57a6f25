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
 * same trace gives the same group numbers.  The sorted view is rebuilt
 * lazily, the first time a crash query comes after the model changed
 * (O(V log V) for V volatile lines); between changes the explorer's
 * queries cost O(1) (ngroups, nchoices) and O(history of the line)
 * (apply): a replay into a line-sized stack buffer, then one emit per
 * run of touched bytes.  No allocation per state.
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
	free(v->rec);
	free(v->nchoices);
	free(v->key);
	free(v->tmp);
	free(v);
}

/*
 * Sort K[0, N) by line (distinct keys), using T as scratch: a radix sort,
 * 11 bits a pass, as many passes as the largest line needs.  The view is
 * rebuilt at every crash point whose model changed, and a qsort through
 * the records (an indirect comparison, a host cache miss each) was half
 * of a point's time with 16,000 volatile lines (a pcommit machine's WPQ
 * after a 1 MiB copy; tests/fuzz_sim.c).  Returns K or T, whichever holds
 * the result.
 */
static struct cache_view_key *sort_keys(struct cache_view_key *k, struct cache_view_key *t,
					size_t n)
{
	uint64_t max = 0;

	for (size_t i = 0; i < n; i++)
		max |= k[i].line;
	for (unsigned shift = 0; shift < 64 && max >> shift; shift += 11) {
		size_t count[2048 + 1] = { 0 };
		struct cache_view_key *x;
		for (size_t i = 0; i < n; i++)
			count[(k[i].line >> shift & 2047) + 1]++;
		for (size_t d = 1; d <= 2048; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			t[count[k[i].line >> shift & 2047]++] = k[i];
		x = k;
		k = t;
		t = x;
	}
	return k;
}

/* Per-chunk NT piece counts of R. */
static void nt_counts(const struct cache_rec *r, uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK])
{
	memset(cnt, 0, sizeof(uint32_t) * (CACHE_MAX_LINE / CACHE_CHUNK));
	for (uint32_t i = 0; i < r->nnt; i++)
		cnt[r->nt[i].chunk0]++;
}

static uint32_t rec_nchoices(const struct cache_rec *r)
{
	uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK];
	uint64_t p = 1;

	nt_counts(r, cnt);
	for (int c = 0; c < CACHE_MAX_LINE / CACHE_CHUNK; c++)
		p *= cnt[c] + 1;
	assert(r->hchoices + p - 1 <= UINT32_MAX);	/* C15 bounds both */
	return (uint32_t)(r->hchoices + p - 1);
}

static const struct cache_view *view(const struct cache_model *m)
{
	struct cache_view *v = m->view;
	size_t n = 0;

	if (m->nohist) {
		/* cache_keep_history(false): the caller promised not to ask */
		fprintf(stderr, "powercut: internal error: crash states of a cache model "
			"that keeps no history\n");
		abort();
	}
	if (v->gen == m->gen)
		return v;
	if (v->cap < m->nrec) {
		size_t ncap = m->nrec;
		uint32_t *a = realloc(v->rec, ncap * sizeof(*a));
		uint32_t *b = a ? realloc(v->nchoices, ncap * sizeof(*b)) : NULL;
		struct cache_view_key *k = b ? realloc(v->key, ncap * sizeof(*k)) : NULL;
		struct cache_view_key *t = k ? realloc(v->tmp, ncap * sizeof(*t)) : NULL;
		if (!a || !b || !k || !t)
			abort();
		v->rec = a;
		v->nchoices = b;
		v->key = k;
		v->tmp = t;
		v->cap = ncap;
	}
	for (uint32_t i = 0; i < m->nrec; i++)
		if (m->rec[i].nwr || m->rec[i].nnt)
			v->key[n++] = (struct cache_view_key){ cache_rec_line(&m->rec[i]), i };
	if (n) {
		const struct cache_view_key *k = sort_keys(v->key, v->tmp, n);
		for (size_t g = 0; g < n; g++)
			v->rec[g] = k[g].rec;
	}
	for (size_t g = 0; g < n; g++)
		v->nchoices[g] = rec_nchoices(&m->rec[v->rec[g]]);
	v->n = n;
	v->gen = m->gen;
	return v;
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

/* What choice C of record R means. */
struct cache_choice {
	uint32_t whole;		/* history entries persisted whole */
	uint32_t torn_mask;	/* if non-zero: chunks of wr[whole] persisted */
	bool nt;		/* NT digits below apply (whole == nwr) */
	uint32_t digit[CACHE_MAX_LINE / CACHE_CHUNK];	/* NT pieces per chunk */
};

static void decode(const struct cache_rec *r, uint32_t c, struct cache_choice *ch)
{
	memset(ch, 0, sizeof(*ch));
	if (c < r->hchoices) {
		uint32_t rem = c;
		for (uint32_t j = 0; j < r->nwr && rem; j++) {
			uint32_t t = (1u << r->wr[j].nchunk) - 2;
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
		ch->whole = r->nwr;
		ch->nt = true;
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

/* Replay choice CH of R into BUF/TOUCHED (one line). */
static void replay(const struct cache_rec *r, const struct cache_choice *ch,
		   uint8_t *buf, uint8_t *touched)
{
	for (uint32_t j = 0; j < ch->whole; j++) {
		const struct cache_wr *w = &r->wr[j];
		cache_copy_piece(buf + w->off, touched + w->off, cache_wr_data(r, w), w->len);
	}
	if (ch->torn_mask) {
		const struct cache_wr *w = &r->wr[ch->whole];
		for (uint32_t b = 0; b < w->len; b++) {
			uint32_t k = (w->off + b) / CACHE_CHUNK - w->chunk0;
			if (ch->torn_mask >> k & 1) {
				buf[w->off + b] = cache_wr_data(r, w)[b];
				touched[w->off + b] = 1;
			}
		}
	}
	if (ch->nt) {
		uint32_t taken[CACHE_MAX_LINE / CACHE_CHUNK] = { 0 };
		for (uint32_t i = 0; i < r->nnt; i++) {
			const struct cache_wr *w = &r->nt[i];
			if (taken[w->chunk0]++ >= ch->digit[w->chunk0])
				continue;
			cache_copy_piece(buf + w->off, touched + w->off,
					 cache_wr_data(r, w), w->len);
		}
	}
}

static void crash_apply(const void *self, size_t g, uint32_t c,
			sim_emit_fn *emit, void *ctx)
{
	const struct cache_model *m = self;
	const struct cache_view *v = view(m);
	const struct cache_rec *r;
	struct cache_choice ch;
	uint8_t buf[CACHE_MAX_LINE], touched[CACHE_MAX_LINE];
	uint64_t base;

	assert(g < v->n && c < v->nchoices[g]);
	if (!c)
		return;
	r = &m->rec[v->rec[g]];
	base = cache_rec_line(r) << m->line_shift;
	decode(r, c, &ch);
	memset(touched, 0, m->line_size);
	replay(r, &ch, buf, touched);
	for (uint32_t i = 0; i < m->line_size;) {
		uint32_t j;
		if (!touched[i]) {
			i++;
			continue;
		}
		for (j = i; j < m->line_size && touched[j]; j++)
			;
		emit(ctx, base + i, buf + i, j - i);
		i = j;
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
				      a[i].tline);
	}
	return o;
}

static int crash_describe(const void *self, size_t g, uint32_t c, char *buf, size_t len)
{
	const struct cache_model *m = self;
	const struct cache_view *v = view(m);
	const struct cache_rec *r;
	struct cache_choice ch;
	size_t o = 0;
	char tl[128];

	assert(g < v->n && c < v->nchoices[g]);
	r = &m->rec[v->rec[g]];
	decode(r, c, &ch);
#define PUT(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
	PUT("line 0x%" PRIx64 ": ", cache_rec_line(r) << m->line_shift);
	if (r->nwr) {
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
		if (r->nwpq)
			PUT(" [%u in the WPQ]", r->nwpq);
	}
	if (r->nnt) {
		uint32_t cnt[CACHE_MAX_LINE / CACHE_CHUNK];
		int first = 1;
		nt_counts(r, cnt);
		PUT("%snt:", r->nwr ? "; " : "");
		for (int k = 0; k < CACHE_MAX_LINE / CACHE_CHUNK; k++) {
			if (!cnt[k])
				continue;
			PUT("%s 0x%" PRIx64 " %u of %u", first ? "" : ",",
			    (cache_rec_line(r) << m->line_shift) + (uint64_t)k * CACHE_CHUNK,
			    ch.nt ? ch.digit[k] : 0, cnt[k]);
			first = 0;
		}
	}
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
	const struct cache_view *v = view(m);
	const struct cache_rec *r;
	uint64_t base;

	assert(g < v->n);
	r = &m->rec[v->rec[g]];
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
