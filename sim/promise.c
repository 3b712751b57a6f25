/*
 * promise.c — following the block layer's durability contract (promise.h,
 * P1-P5) and judging crash images by it.
 *
 * Bookkeeping: every write bio gets a submission sequence number; each
 * 512-byte sector it covers gets a version (that number, a 64-bit hash of
 * the bytes, the bio and its line).  Bios in flight are kept by id; when a
 * wait completes one it gets a completion tick.  When a flush/PREFLUSH or
 * FUA bio completes, the writes it covers have each of their sectors'
 * promise raised to that write's version.  Judging reads each promised
 * sector from the image and looks its hash up among the versions from the
 * promised one on (P5), and the older ones that may land after it (P7).
 * Bios are kept for good, in submission order: bio[seq - 1] is the bio of
 * submission seq.
 */
#include "promise.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"

#define SECTOR 512u

struct pver {
	uint64_t seq;			/* submission order of the bio */
	uint64_t hash;			/* of the sector's 512 bytes */
	uint64_t bio, line;
	uint8_t *bytes;			/* the 512 bytes (P8 only), or NULL */
};

struct psector {
	uint64_t sector;
	struct pver *v;			/* in seq order */
	uint32_t n, cap;
	uint64_t promised_seq;		/* 0: nothing promised */
	uint64_t promised_bio, promised_line;	/* the write promised */
	uint64_t by_bio, by_line;	/* the flush/FUA bio whose completion promised */
	uint64_t wait_line;		/* the wait that completed it */
	bool listed;			/* in promised[] */
	bool used;			/* the slot is taken */
};

struct pbio {
	uint64_t id, seq, line;
	uint64_t sector, nsect;
	enum trace_bio_op op;
	uint32_t flags;
	uint64_t submit_tick, complete_tick;
	bool completed, promised;
};

struct sim_promises {
	bool barrier;
	bool words;			/* P8: sectors tear at 8 bytes */
	uint64_t tick, seq;
	uint64_t early_line;		/* P9: the bio event applied early, 0 none */
	/* sectors: open addressing on sector number */
	struct psector *sec;
	size_t sec_cap, nsec;
	size_t *promised;		/* indexes into sec[] */
	size_t npromised, cap_promised;
	/* bios, in submission order; completed ones are kept until promised
	 * or superseded */
	struct pbio *bio;
	size_t nbio, cap_bio;
	uint8_t buf[SECTOR];
};

static uint64_t hash_sector(const uint8_t *b)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;

	for (unsigned i = 0; i < SECTOR; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 31;
	}
	return h;
}

int sim_promises_create(struct sim_promises **out, bool barrier_semantics, bool word_tearing)
{
	struct sim_promises *p = calloc(1, sizeof(*p));

	*out = p;
	if (!p)
		return -ENOMEM;
	p->barrier = barrier_semantics;
	p->words = word_tearing;
	return 0;
}

void sim_promises_destroy(struct sim_promises *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->sec_cap; i++) {
		for (uint32_t k = 0; p->sec[i].used && k < p->sec[i].n; k++)
			free(p->sec[i].v[k].bytes);
		free(p->sec[i].v);
	}
	free(p->sec);
	free(p->promised);
	free(p->bio);
	free(p);
}

uint64_t sim_promises_count(const struct sim_promises *p)
{
	return p->npromised;
}

static int grow(void **a, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *na;

	if (need <= *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 64;
	while (ncap < need)
		ncap *= 2;
	na = realloc(*a, ncap * elem);
	if (!na)
		return -1;
	*a = na;
	*cap = ncap;
	return 0;
}

/* The sector's slot, made if absent (or NULL when out of memory). */
static struct psector *sector_get(struct sim_promises *p, uint64_t s, bool make)
{
	size_t i;

	if (make && 2 * (p->nsec + 1) > p->sec_cap) {
		size_t ncap = p->sec_cap ? 2 * p->sec_cap : 1024;
		struct psector *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return NULL;
		for (size_t j = 0; j < p->sec_cap; j++) {
			if (!p->sec[j].used)
				continue;
			for (i = (p->sec[j].sector * 0x9e3779b97f4a7c15ULL) & (ncap - 1);
			     ns[i].used; i = (i + 1) & (ncap - 1))
				;
			ns[i] = p->sec[j];
		}
		free(p->sec);
		p->sec = ns;
		p->sec_cap = ncap;
		if (grow((void **)&p->promised, &p->cap_promised, p->npromised + 1,
			 sizeof(*p->promised)))
			return NULL;
		/* promised[] holds indexes: rebuild it */
		p->npromised = 0;
		for (size_t j = 0; j < ncap; j++)
			if (ns[j].listed)
				p->promised[p->npromised++] = j;
	}
	if (!p->sec_cap)
		return NULL;
	for (i = (s * 0x9e3779b97f4a7c15ULL) & (p->sec_cap - 1); p->sec[i].used;
	     i = (i + 1) & (p->sec_cap - 1))
		if (p->sec[i].sector == s)
			return &p->sec[i];
	if (!make)
		return NULL;
	p->sec[i].used = true;
	p->sec[i].sector = s;
	p->nsec++;
	return &p->sec[i];
}

static struct pbio *bio_find(struct sim_promises *p, uint64_t id)
{
	for (size_t i = p->nbio; i-- > 0;)
		if (p->bio[i].id == id && !p->bio[i].completed)
			return &p->bio[i];
	return NULL;
}

static int add_versions(struct sim_promises *p, const struct trace_event *ev, uint64_t seq)
{
	for (uint64_t k = 0; k < ev->len / SECTOR; k++) {
		struct psector *s = sector_get(p, ev->sector + k, true);
		if (!s)
			return -1;
		if (ev->bio_op == TRACE_BIO_DISCARD) {
			/* P5: what a discarded sector reads is the device's choice */
			s->promised_seq = 0;
			continue;
		}
		trace_payload_read(&ev->data, k * SECTOR, p->buf, SECTOR);
		if (s->n == s->cap) {
			uint32_t ncap = s->cap ? 2 * s->cap : 4;
			struct pver *nv = realloc(s->v, ncap * sizeof(*nv));
			if (!nv)
				return -1;
			s->v = nv;
			s->cap = ncap;
		}
		s->v[s->n] = (struct pver){ .seq = seq, .hash = hash_sector(p->buf),
					    .bio = ev->id, .line = ev->line };
		if (p->words) {
			if (!(s->v[s->n].bytes = malloc(SECTOR)))
				return -1;
			memcpy(s->v[s->n].bytes, p->buf, SECTOR);
		}
		s->n++;
	}
	return 0;
}

/* Raise the promise of every sector of write W (P2-P4). */
static int promise_write(struct sim_promises *p, struct pbio *w, const struct pbio *by,
			 uint64_t wait_line)
{
	if (w->op != TRACE_BIO_WRITE || w->promised)
		return 0;
	w->promised = true;
	for (uint64_t k = 0; k < w->nsect; k++) {
		struct psector *s = sector_get(p, w->sector + k, false);
		if (!s || s->promised_seq > w->seq)
			continue;
		s->promised_seq = w->seq;
		s->promised_bio = w->id;
		s->promised_line = w->line;
		s->by_bio = by->id;
		s->by_line = by->line;
		s->wait_line = wait_line;
		if (!s->listed) {
			if (grow((void **)&p->promised, &p->cap_promised, p->npromised + 1,
				 sizeof(*p->promised)))
				return -1;
			p->promised[p->npromised++] = (size_t)(s - p->sec);
			s->listed = true;
		}
	}
	return 0;
}

/* A bio just completed (P1); apply what its completion promises. */
static int complete(struct sim_promises *p, struct pbio *b, uint64_t wait_line)
{
	bool flushes, fua;

	b->completed = true;
	b->complete_tick = ++p->tick;
	flushes = b->op == TRACE_BIO_FLUSH || (b->flags & TRACE_BIO_PREFLUSH);
	fua = b->op == TRACE_BIO_WRITE && (b->flags & TRACE_BIO_FUA);
	if (p->barrier) {
		if (!flushes && !(b->flags & TRACE_BIO_FUA))
			return 0;
		/* P4: everything submitted before the barrier, and itself */
		for (size_t i = 0; i < p->nbio; i++)
			if (p->bio[i].seq <= b->seq && promise_write(p, &p->bio[i], b, wait_line))
				return -1;
		return 0;
	}
	if (flushes)		/* P2 */
		for (size_t i = 0; i < p->nbio; i++) {
			struct pbio *w = &p->bio[i];
			if (w != b && w->completed && w->complete_tick < b->submit_tick &&
			    promise_write(p, w, b, wait_line))
				return -1;
		}
	if (fua && promise_write(p, b, b, wait_line))	/* P3 */
		return -1;
	return 0;
}

int sim_promises_event(struct sim_promises *p, const struct trace_event *ev)
{
	if (ev->op == TRACE_STORE || ev->op == TRACE_NTSTORE || ev->op == TRACE_RMW) {
		/* P6: a CPU store to the namespace of a pmem device */
		for (uint64_t k = ev->addr / SECTOR; k <= (ev->addr + ev->len - 1) / SECTOR; k++) {
			struct psector *s = sector_get(p, k, false);
			if (s)
				s->promised_seq = 0;
		}
		return 0;
	}
	if (ev->op == TRACE_BIO) {
		struct pbio *b;
		if (p->early_line && p->early_line == ev->line) {
			p->early_line = 0;	/* P9: applied at a point inside it */
			return 0;
		}
		if (grow((void **)&p->bio, &p->cap_bio, p->nbio + 1, sizeof(*p->bio)))
			return -1;
		b = &p->bio[p->nbio++];
		memset(b, 0, sizeof(*b));
		b->id = ev->id;
		b->seq = ++p->seq;
		b->line = ev->line;
		b->op = ev->bio_op;
		b->flags = ev->flags;
		b->sector = ev->sector;
		b->nsect = ev->len / SECTOR;
		b->submit_tick = ++p->tick;
		if (ev->bio_op != TRACE_BIO_FLUSH && add_versions(p, ev, b->seq))
			return -1;
		return 0;
	}
	if (ev->op == TRACE_WAIT) {
		if (ev->fields & TRACE_F_ALL) {
			for (size_t i = 0; i < p->nbio; i++)
				if (!p->bio[i].completed && complete(p, &p->bio[i], ev->line))
					return -1;
		} else {
			struct pbio *b = bio_find(p, ev->id);
			if (b && complete(p, b, ev->line))
				return -1;
		}
	}
	return 0;
}

int sim_promises_event_early(struct sim_promises *p, const struct trace_event *ev)
{
	int rc;

	if (ev->op != TRACE_BIO || (p->early_line && p->early_line == ev->line))
		return 0;
	rc = sim_promises_event(p, ev);
	p->early_line = ev->line;
	return rc;
}

/* P7: may the write of submission VSEQ, older than the promised PSEQ,
 * still land after it?  Yes unless the submitter waited for it before
 * submitting the promised write, or (barrier) a barrier came between. */
static bool may_land_after(const struct sim_promises *p, uint64_t vseq, uint64_t pseq)
{
	const struct pbio *v = &p->bio[vseq - 1], *w = &p->bio[pseq - 1];

	assert(v->seq == vseq && w->seq == pseq);
	if (v->completed && v->complete_tick < w->submit_tick)
		return false;
	if (p->barrier)
		for (uint64_t q = vseq + 1; q <= pseq; q++) {
			const struct pbio *b = &p->bio[q - 1];
			if (b->op == TRACE_BIO_FLUSH || (b->flags & (TRACE_BIO_PREFLUSH | TRACE_BIO_FUA)))
				return false;
		}
	return true;
}

/* P8: is each 8-byte word of BUF, sector S's bytes, the word of a version
 * the promise allows (P5, P7)? */
static bool words_of_versions(const struct sim_promises *p, const struct psector *s,
			      const uint8_t *buf)
{
	for (unsigned w = 0; w < SECTOR; w += 8) {
		bool found = false;
		for (uint32_t i = 0; i < s->n && !found; i++)
			found = (s->v[i].seq >= s->promised_seq ||
				 may_land_after(p, s->v[i].seq, s->promised_seq)) &&
				!memcmp(s->v[i].bytes + w, buf + w, 8);
		if (!found)
			return false;
	}
	return true;
}

int sim_promises_judge(const struct sim_promises *p, const struct sim_image *im,
		       sim_violation_fn *report, void *ctx)
{
	uint8_t buf[SECTOR];
	uint64_t reported[64];		/* bios already reported for this image */
	size_t nrep = 0;

	for (size_t k = 0; k < p->npromised; k++) {
		const struct psector *s = &p->sec[p->promised[k]];
		const struct pver *held = NULL, *promised = NULL;
		uint64_t h;
		bool ok = false;
		int rc;

		if (!s->promised_seq)
			continue;	/* discarded since */
		/* each promised sector is judged alone: separable by sector
		 * (explore.h), whatever groups share it; on pmem (P8) by
		 * 8-byte word, since a sector holds when each of its words
		 * is the word of an allowed version (words_of_versions: a
		 * whole allowed version passes that too) */
		{
			unsigned was = sim_image_separable(im, p->words ? 8 : SECTOR);
			sim_image_read(im, s->sector * SECTOR, buf, SECTOR);
			sim_image_separable(im, was);
		}
		h = hash_sector(buf);
		for (uint32_t i = 0; i < s->n; i++) {
			if (s->v[i].seq == s->promised_seq)
				promised = &s->v[i];
			if (s->v[i].hash == h) {
				if (s->v[i].seq >= s->promised_seq ||
				    may_land_after(p, s->v[i].seq, s->promised_seq))
					ok = true;
				else
					held = &s->v[i];
			}
		}
		if (!ok && p->words)
			ok = words_of_versions(p, s, buf);
		if (ok)
			continue;
		bool seen = false;
		for (size_t r = 0; r < nrep && !seen; r++)
			seen = reported[r] == s->promised_bio;
		if (seen)
			continue;	/* one violation per promised bio: its first sector */
		if (nrep < 64)
			reported[nrep++] = s->promised_bio;
		struct sim_violation v = { .invariant = SIM_INV_SYNC_PROMISE, .line = s->wait_line };
		snprintf(v.path, sizeof(v.path), "bio %" PRIu64 " (line %" PRIu64 ")",
			 s->promised_bio, s->promised_line);
		snprintf(v.expected, sizeof(v.expected), "the data of bio %" PRIu64 " (line %" PRIu64
			 ") or of a later write", s->promised_bio, s->promised_line);
		if (held)
			snprintf(v.actual, sizeof(v.actual), "sector %" PRIu64 " holds the older "
				 "data of bio %" PRIu64 " (line %" PRIu64 ")", s->sector, held->bio,
				 held->line);
		else {
			bool zero = true;
			for (unsigned i = 0; i < SECTOR && zero; i++)
				zero = buf[i] == 0;
			snprintf(v.actual, sizeof(v.actual), "sector %" PRIu64 " holds %s",
				 s->sector, zero ? "zeros: no write to it reached the media" :
				 "data no write of the trace put there");
		}
		if (p->barrier && s->by_bio == s->promised_bio)
			snprintf(v.explanation, sizeof(v.explanation),
				 "Bio %" PRIu64 " (line %" PRIu64 ") is a barrier and its completion "
				 "was waited for (line %" PRIu64 "); under barrier semantics a "
				 "barrier completes only once its own data is durable, so it had "
				 "to be; in this state it is not.", s->promised_bio,
				 s->promised_line, s->wait_line);
		else if (p->barrier)	/* P4: submitted before, not completed before */
			snprintf(v.explanation, sizeof(v.explanation),
				 "Bio %" PRIu64 " (line %" PRIu64 ") was submitted before the barrier "
				 "bio %" PRIu64 " (line %" PRIu64 "), whose completion was waited for "
				 "(line %" PRIu64 "); under barrier semantics a barrier completes only "
				 "after every earlier bio is durable, so bio %" PRIu64 " had to be; "
				 "in this state sector %" PRIu64 " is not.", s->promised_bio,
				 s->promised_line, s->by_bio, s->by_line, s->wait_line,
				 s->promised_bio, s->sector);
		else if (s->by_bio == s->promised_bio)
			snprintf(v.explanation, sizeof(v.explanation),
				 "Bio %" PRIu64 " (line %" PRIu64 ") was written with FUA and its "
				 "completion was waited for (line %" PRIu64 "), so its data had to be "
				 "durable; in this state it is not.", s->promised_bio,
				 s->promised_line, s->wait_line);
		else
			snprintf(v.explanation, sizeof(v.explanation),
				 "Bio %" PRIu64 " (line %" PRIu64 ") completed before %s bio %" PRIu64
				 " (line %" PRIu64 ") was submitted, and that bio's completion was "
				 "waited for (line %" PRIu64 "), so bio %" PRIu64 " had to be durable; "
				 "in this state sector %" PRIu64 " is not.", s->promised_bio,
				 s->promised_line, "the flushing", s->by_bio, s->by_line,
				 s->wait_line, s->promised_bio, s->sector);
		(void)promised;
		if ((rc = report(ctx, &v)))
			return rc;
	}
	return 0;
}
