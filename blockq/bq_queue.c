/*
 * bq_queue.c — bios, the request queue, and how a PREFLUSH/FUA bio is
 * sequenced down to a device.
 *
 * Method.  A submitter (a trace's `bio` events, or fs_model/) submits bios
 * and waits for them.  What the device may hold after a power cut is
 * decided by the rules below and nothing else; the request queue's depth
 * and dispatch order only decide cycles (see "Timing").  The rules come
 * from three sources: the kernel's Documentation/block/
 * writeback_cache_control.rst (the FLUSH/FUA contract since 2.6.37),
 * block/blk-flush.c (how the block layer carries it out for a given
 * device), and the pre-2.6.37 Documentation/block/barrier.txt (the older
 * barrier contract).  docs/semantics.md repeats them with their tests.
 *
 *   B1. A write that completed on a device with a volatile write cache
 *       may reach the media at any later moment, in any order with other
 *       writes, or be lost, until a flush covers it.  (rst, Introduction)
 *   B2. PREFLUSH: every write that completed before the flagged bio was
 *       submitted is durable before the flagged bio's data starts.  Writes
 *       still in flight get no promise.  An empty bio with PREFLUSH
 *       (op=flush) is just that flush.  (rst, "Explicit cache flushes")
 *   B3. FUA: the bio completes only once its own data is durable; it
 *       promises nothing about any other write.  (rst, "Forced Unit
 *       Access")
 *   B4. Bios in flight are not ordered with each other, not even two
 *       writes to the same sector: any of them may reach the media first,
 *       or not at all.  A submitter orders bio A before bio B only by
 *       waiting for A before submitting B.  (rst: "previously *completed*
 *       write requests"; blk-flush.c never orders data requests)
 *   B5. Barrier (--block-semantics barrier; barrier.txt): a barrier bio —
 *       op=flush, or any bio with PREFLUSH or FUA — is dispatched only
 *       after every bio submitted before it has completed and is durable
 *       (drain, then a pre-flush), no bio submitted after it is dispatched
 *       before it completes, and it completes only once its own data is
 *       durable (FUA or a post-flush).  The submitter need not wait.
 *       A bio the drain completed is complete for the submitter too: its
 *       wait returns at once, and its id is taken until that wait.
 *   B6. Sequencing (blk-flush.c): a flagged bio becomes up to three steps,
 *       PREFLUSH -> DATA -> POSTFLUSH, by what the driver advertised.  No
 *       write cache: both flags are stripped and an empty flush completes
 *       at once (the device never sees it).  A write cache with native
 *       FUA: PREFLUSH is a flush command before the data, FUA goes down
 *       with the data.  A write cache without FUA: FUA becomes a
 *       POSTFLUSH.  Each step starts only when the one before completed.
 *   B7. Without a volatile cache (disk-wt, and any driver that does not
 *       advertise one) a write is durable when it completes; while in
 *       flight any of its atomic units may or may not be on the media.
 *   B8. Atomic write unit (disk.atomic_unit): each aligned unit of a
 *       write reaches the media whole or not at all; a write tears only
 *       between units.  A write smaller than the unit is merged into it
 *       (the cache or the drive's read-modify-write holds whole units).
 *   B9. The cache holds disk.cache_size bytes.  When a completed write
 *       does not fit, the device first destages its oldest cached unit
 *       (the one that completed first), which is then durable.
 *
 * The devices (bq_device.c, bq_pmem.c) add their own promises: disk-wc
 * honours FLUSH and FUA (native FUA unless disk.fua=off), disk-wt has no
 * cache (B7); pmem copies with non-temporal stores and a fence before
 * completing, so a flush has nothing to do (B10); pmem-wb copies through
 * the CPU cache and writes lines back with clwb + sfence only for
 * PREFLUSH and FUA (B11).  The faults (--fault, F1..F4 in bq_device.c)
 * break one promise each, as real drivers and devices have.
 *
 * When do things happen?  L1: a step that makes something durable — a
 * flush, a FUA write, a barrier's drain — runs when the submitter waits
 * for its bio, not earlier; a plain write's data "arrives" (completes) at
 * the wait too.  Until then the write is in flight and may or may not be
 * on the media (B4), and a PREFLUSH bio's own data is held back (B2) —
 * unless nothing needs flushing, when it is in flight at once.  This is
 * one schedule the rules allow — the slowest device — and it is the one
 * that never shows more durable than promised: at the crash point after
 * a `bio` event, what the submitter did not wait for is not promised.
 * The faster schedules' states appear at the crash points inside the
 * `wait` that completes the bio (one after each step below), so the union
 * over crash points (`--at all`, `check`) holds every state of every
 * schedule — except those of a flagged bio the trace never waits for,
 * and (the L1 gap, docs/semantics.md) under B2 those in which a PREFLUSH
 * bio's data landed before a write on another unit that a flush, a FUA
 * write or a `wait all` made durable before the submitter's wait ran the
 * pre-flush: a tie between units that the per-unit groups cannot hold.
 * On one unit bq_crash.c's fold keeps the held data's order open.
 *
 * Each bio's progress is a bitmask of steps done (seq) within the steps
 * it needs (policy), as in blk-flush.c; bq_bio_step() runs the lowest
 * step not done, one per call, and names a crash point after it:
 *
 *     DRAIN      barrier only: complete every earlier bio (B5)
 *     PREFLUSH   a flush command: the writes it covers become durable
 *                (B2; under B5 all earlier writes); the bio's held data
 *                is released
 *     DATA       the write command: each unit's version goes where the
 *                device puts it (cache B1, media B7/FUA B3, late F3)
 *     POSTFLUSH  a flush command after the data (emulated FUA, B6)
 *     DONE       completion reported; under B5, later bios released
 *
 * Crash states (bq_crash.c) are per atomic unit: every pending version of
 * a unit, and in which order they landed, in one group.  Units are
 * independent under B1/B4/B7/B8: nothing orders the destaging of two
 * units, and every cross-unit order a rule imposes (B2, B5) is carried
 * out by steps in time — the held data cannot land before its flush step
 * has made the covered writes durable — never by a constraint between
 * groups.
 *
 * Timing (cycles only; never what is durable).  Each bio is timed when
 * submitted: a tag among bq.depth (the submitter stalls while all are
 * busy), the bus transfer at disk.bandwidth, the command latency
 * disk.latency, flushes at disk.flush_latency plus the cached bytes at
 * disk.media_bandwidth.  A `wait` advances the submitter's clock to the
 * bio's completion.  bq.order=random retires a `wait all`'s bios in a
 * seeded order, which changes the order of its crash points, not the
 * states the rules allow.
 *
 * Notes:
 *   - Persistence domain: the disk's media (env->media); for pmem devices,
 *     whatever cache/ says (the pmem drivers only issue CPU operations).
 *   - Failure-atomic unit: disk.atomic_unit (default 512 bytes); torn
 *     writes tear between units, never inside one.
 *   - Reads are not modelled as requests (bq_read() answers at once).
 *   - A discard is modelled as a write of zeros (a device that reads
 *     zeros after trim).  Whether unmapped data may come back is not
 *     modelled.  PREFLUSH/FUA on a discard are honoured as on a write,
 *     though Linux 6.3 and later fail such a bio (commit b4a6bb3a67aa,
 *     "block: add a sanity check for non-write flush/fua bios").
 *   - Errors (media errors, failed flushes) are not modelled: every
 *     request succeeds.  barrier.txt's error-handling caveat is out of
 *     scope.
 *   - At most 8 pending versions per atomic unit and 64 distinct images
 *     of one unit; beyond that the event is refused with a message.
 *   - B9's "oldest first" is this model's choice; a real cache may keep
 *     any unit longer.
 */
#include "bq_int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/media.h"

/* ---- errors and crash points ---- */

int bq_fail(struct bq_queue *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->env.err->msg, sizeof(q->env.err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Publish the crash state (I5), then let the explorer cut the power.
 * The description is formatted only for a listener (sim/model.h). */
void bq_step(struct bq_queue *q, const char *fmt, ...)
{
	va_list ap;

	bq_publish(q);
	if (q->env.no_crash_states) {
		q->env.step(q->env.step_ctx, NULL);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(q->what, sizeof(q->what), fmt, ap);
	va_end(ap);
	q->env.step(q->env.step_ctx, q->what);
}

/* ---- pools ---- */

static struct bq_bio *bio_alloc(struct bq_queue *q)
{
	struct bq_bio *b = q->free_bios;

	if (b)
		q->free_bios = b->next;
	else if (!(b = malloc(sizeof(*b))))
		return NULL;
	memset(b, 0, sizeof(*b));
	return b;
}

static void bio_free(struct bq_queue *q, struct bq_bio *b)
{
	b->next = q->free_bios;
	q->free_bios = b;
}

static struct bq_version *ver_alloc(struct bq_queue *q)
{
	struct bq_version *v = q->free_vers;

	if (v) {
		q->free_vers = v->next_in_bio;
	} else {
		/* the version and its unit-sized buffer in one block */
		v = malloc(sizeof(*v) + q->unit);
		if (!v)
			return NULL;
	}
	uint8_t *data = (uint8_t *)(v + 1);
	memset(v, 0, sizeof(*v));
	v->data = data;
	v->arrive_tick = UINT64_MAX;
	return v;
}

void bq_version_free(struct bq_queue *q, struct bq_version *v)
{
	v->next_in_bio = q->free_vers;
	q->free_vers = v;
}

/* ---- units ---- */

static int active_insert(struct bq_queue *q, struct bq_unit *u)
{
	size_t lo = 0, hi = q->nactive;

	if (q->nactive == q->cap_active) {
		size_t c = q->cap_active ? q->cap_active * 2 : 64;
		struct bq_unit **a = realloc(q->active, c * sizeof(*a));
		if (!a)
			return -ENOMEM;
		q->active = a;
		q->cap_active = c;
	}
	/* writes mostly ascend: try the end first */
	if (q->nactive && q->active[q->nactive - 1]->index < u->index) {
		lo = q->nactive;
	} else {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (q->active[mid]->index < u->index)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	memmove(q->active + lo + 1, q->active + lo, (q->nactive - lo) * sizeof(*q->active));
	q->active[lo] = u;
	q->nactive++;
	q->groups_stale = true;
	return 0;
}

static struct bq_unit *unit_get(struct bq_queue *q, uint64_t index)
{
	struct bq_unit *u = bq_map_get(&q->units, index);

	if (u)
		return u;
	if ((u = q->free_units)) {
		uint8_t *pre = u->pre, *img = u->img;
		uint32_t cap = u->cap_img;
		q->free_units = u->next_free;
		memset(u, 0, offsetof(struct bq_unit, choice));
		u->pre = pre;
		u->img = img;
		u->cap_img = cap;
	} else {
		u = calloc(1, sizeof(*u));
		if (!u)
			return NULL;
		u->pre = malloc(q->unit);
		u->img = malloc((size_t)q->unit * 2);
		u->cap_img = 2;
		if (!u->pre || !u->img) {
			free(u->pre);
			free(u->img);
			free(u);
			return NULL;
		}
	}
	u->index = index;
	if (bq_map_put(&q->units, index, u) || active_insert(q, u)) {
		bq_map_del(&q->units, index);
		u->next_free = q->free_units;
		q->free_units = u;
		return NULL;
	}
	if (q->env.no_crash_states)
		u->pre_unread = true;	/* I6: read when needed (bq_crash.c) */
	else
		media_read(q->env.media, index << q->unit_shift, u->pre, q->unit);
	u->pre_on_media = true;
	u->nchoice = 1;		/* the media's, which apply() does not emit */
	return u;
}

/* ---- version transitions (each marks its unit for bq_publish) ---- */

static void ver_set(struct bq_queue *q, struct bq_version *v, enum bq_ver_state s)
{
	if (v->state == BQ_V_CACHED)
		q->ncached--;
	if (v->state == BQ_V_ACKED)
		q->nacked--;
	v->state = s;
	if (s == BQ_V_DURABLE) {
		q->durable_gen++;
		/* its bytes reached the media, whatever the image held */
		media_add_written(q->env.media, v->hi - v->lo);
	}
	if (s == BQ_V_CACHED)
		q->ncached++;
	if (s == BQ_V_ACKED)
		q->nacked++;
	bq_unit_touch(q, v->unit);
}

/* The version KEY names, if it is still pending and in state S. */
static struct bq_version *keyed_version(const struct bq_queue *q, const struct bq_vkey *key,
					enum bq_ver_state s)
{
	const struct bq_unit *u = bq_map_get(&q->units, key->unit);

	for (uint32_t j = 0; u && j < u->nver; j++)
		if (u->ver[j]->submit_tick == key->submit)
			return u->ver[j]->state == s ? u->ver[j] : NULL;
	return NULL;
}

/* V just entered state S: the newest of queue KQ.  A full queue first
 * drops what left S, then doubles if still half full, so each key costs
 * O(1) amortized. */
static void keyq_push(struct bq_queue *q, struct bq_keyq *kq, const struct bq_version *v,
		      enum bq_ver_state s)
{
	if (kq->lost)
		return;
	if (kq->n == kq->cap) {
		size_t m = 0;
		for (size_t i = kq->head; i < kq->n; i++)
			if (keyed_version(q, &kq->k[i], s))
				kq->k[m++] = kq->k[i];
		kq->head = 0;
		kq->n = m;
		if (2 * m >= kq->cap) {
			size_t cap = kq->cap ? 2 * kq->cap : 64;
			struct bq_vkey *n = realloc(kq->k, cap * sizeof(*n));
			if (!n) {
				kq->lost = true;
				return;
			}
			kq->k = n;
			kq->cap = cap;
		}
	}
	kq->k[kq->n++] = (struct bq_vkey){ .unit = v->unit->index, .submit = v->submit_tick };
}

/* The version reaches the device with fate F (B1, B3, B7, F3). */
static void ver_arrive(struct bq_queue *q, struct bq_version *v, enum bq_fate f)
{
	switch (f) {
	case BQ_FATE_MEDIA:
		v->arrive_tick = ++q->tick;
		ver_set(q, v, BQ_V_DURABLE);
		break;
	case BQ_FATE_CACHE:
		v->arrive_tick = ++q->tick;
		ver_set(q, v, BQ_V_CACHED);
		keyq_push(q, &q->cached, v, BQ_V_CACHED);
		break;
	case BQ_FATE_LATE:
		v->ack_tick = ++q->tick;
		ver_set(q, v, BQ_V_ACKED);
		keyq_push(q, &q->acked, v, BQ_V_ACKED);
		break;
	}
}

/* Apply FN to every pending version, units by index, versions by
 * submission.  O(pending versions). */
#define FOR_EACH_VERSION(q, v)						\
	for (size_t i_ = 0; i_ < (q)->nactive; i_++)			\
		for (uint32_t j_ = 0; j_ < (q)->active[i_]->nver; j_++)	\
			if (((v) = (q)->active[i_]->ver[j_]), 1)

/*
 * A flush command issued for bio B (its PREFLUSH or POSTFLUSH, or B
 * itself when empty).  The writes it covers become durable: under B2 the
 * ones that completed before B was submitted (a flush issued later covers
 * at least those; L1 takes no more); under B5 every earlier one.  OWN:
 * B's own data too (a POSTFLUSH).  Returns how many became durable.
 */
static uint64_t flush_covered(struct bq_queue *q, const struct bq_bio *b, bool own)
{
	struct bq_version *v;
	uint64_t n = 0;

	q->st.flush_cmds++;
	if (bq_device_flush(q, b->id) == BQ_FLUSH_NOOP) {
		q->st.flushes_dropped++;
		return 0;
	}
	FOR_EACH_VERSION(q, v) {
		bool covered;
		if (v->state != BQ_V_CACHED)
			continue;
		if (own && v->bio_id == b->id && v->submit_tick == b->submit_tick)
			covered = true;
		else if (q->barrier_mode)
			covered = v->submit_tick < b->submit_tick;
		else
			covered = v->arrive_tick < b->submit_tick;
		if (covered) {
			ver_set(q, v, BQ_V_DURABLE);
			n++;
		}
	}
	return n;
}

/*
 * Let B's held data go to the device.  Under B5 whatever arrived before
 * now -- the bios a barrier drained, the barrier a later bio waited
 * behind -- lands before it (I3: order_tick), though it was not complete
 * when B was submitted.  B2's hold orders nothing: a faster device could
 * have run the pre-flush at submission, so only what completed before
 * then precedes the flagged data.
 */
static void release(struct bq_queue *q, struct bq_bio *b)
{
	uint64_t now;

	if (!b->held)
		return;
	now = q->barrier_mode ? ++q->tick : 0;
	b->held = false;
	for (struct bq_version *v = b->vers; v; v = v->next_in_bio) {
		if (v->state != BQ_V_HELD)
			continue;
		if (q->barrier_mode)
			v->order_tick = now;
		ver_set(q, v, BQ_V_INFLIGHT);
	}
}

/* B9: destage cached version OLD, a crash point. */
static void destage(struct bq_queue *q, struct bq_version *old)
{
	ver_set(q, old, BQ_V_DURABLE);
	q->st.destages++;
	bq_step(q, "cache full: unit %" PRIu64 " (bio %" PRIu64 ") destaged",
		old->unit->index, old->bio_id);
}

/*
 * B9: make room for completed writes by destaging the oldest.  The oldest
 * cached version is the first of the arrival queue (q->cached, filled by
 * ver_arrive, the only place a version becomes CACHED, in arrive_tick
 * order) that is still there and cached; the others are skipped for good.
 * O(1) amortized a destage: a scan of every pending version per destage
 * made 20,000 4 KiB writes waited for together take 93 s, and one 64 MiB
 * write into the default 32 MiB cache 147 s (0.4 s and 0.6 s now).
 * Without memory for the queue, the scan.
 */
static void cache_make_room(struct bq_queue *q)
{
	while (q->cache_units && q->ncached > q->cache_units) {
		struct bq_version *v, *old = NULL;
		while (!q->cached.lost && !old && q->cached.head < q->cached.n)
			old = keyed_version(q, &q->cached.k[q->cached.head++], BQ_V_CACHED);
		if (!old)
			FOR_EACH_VERSION(q, v)
				if (v->state == BQ_V_CACHED &&
				    (!old || v->arrive_tick < old->arrive_tick))
					old = v;
		assert(old);
		destage(q, old);
	}
}

static int vkey_cmp(const void *a, const void *b)
{
	const struct bq_vkey *x = a, *y = b;

	if (x->unit != y->unit)
		return x->unit < y->unit ? -1 : 1;
	return (x->submit > y->submit) - (x->submit < y->submit);
}

/* The ACKED versions acknowledged before BEFORE_TICK, in FOR_EACH_VERSION
 * order (units by index, versions by submission) into *OUT: they are the
 * front of the ack queue, since ack_tick grows along it.  Returns how
 * many, or -1 without the queue or memory (the caller scans). */
static ptrdiff_t acked_before(struct bq_queue *q, uint64_t before_tick, struct bq_vkey **out)
{
	struct bq_keyq *kq = &q->acked;
	size_t m = 0;
	struct bq_vkey *k;

	if (kq->lost || !(k = malloc((kq->n - kq->head + 1) * sizeof(*k))))
		return -1;
	for (; kq->head < kq->n; kq->head++) {
		const struct bq_version *v = keyed_version(q, &kq->k[kq->head], BQ_V_ACKED);
		if (!v)
			continue;
		if (v->ack_tick >= before_tick)
			break;
		k[m++] = kq->k[kq->head];
	}
	qsort(k, m, sizeof(*k), vkey_cmp);
	*out = k;
	return (ptrdiff_t)m;
}

/* F3: early-completed data reaches the device by the submitter's next
 * wait; it lands after any flush that wait ran, so none covered it.
 * Found through the ack queue: a scan of every pending version at every
 * wait made 20,000 writes in flight, each then waited for, take 71 s. */
static void late_arrivals(struct bq_queue *q, uint64_t before_tick)
{
	struct bq_version *v;
	struct bq_vkey *k = NULL;
	ptrdiff_t n;
	bool any = false;

	if (!q->nacked)
		return;
	if ((n = acked_before(q, before_tick, &k)) >= 0) {
		for (ptrdiff_t i = 0; i < n; i++) {
			if (!(v = keyed_version(q, &k[i], BQ_V_ACKED)))
				continue;
			ver_arrive(q, v, (enum bq_fate)v->landing);
			q->st.late_arrivals++;
			any = true;
		}
		free(k);
	} else {
		FOR_EACH_VERSION(q, v) {
			if (v->state != BQ_V_ACKED || v->ack_tick >= before_tick)
				continue;
			/* it lands where the device would have put it */
			ver_arrive(q, v, (enum bq_fate)v->landing);
			q->st.late_arrivals++;
			any = true;
		}
	}
	if (any) {
		bq_step(q, "early-completed data reached the device");
		cache_make_room(q);
	}
}

/* ---- the step function ---- */

static struct bq_bio *find_bio(const struct bq_queue *q, uint64_t id)
{
	return id == UINT64_MAX ? NULL : bq_map_get(&q->bios, id);
}

static int complete_bio(struct bq_queue *q, struct bq_bio *b);

/* B5: a barrier completed bio ID before the submitter waited for it.  Its
 * id stays taken until the submitter's wait, which then returns at once
 * (as on pmem, whose bios complete inside their submission). */
static int note_unwaited(struct bq_queue *q, uint64_t id)
{
	return bq_map_put(&q->unwaited, id, q) ? bq_fail(q, "out of memory") : 0;
}

static void retire(struct bq_queue *q, struct bq_bio *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		q->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		q->tail = b->prev;
	q->nflight--;
	bq_map_del(&q->bios, b->id);
}

/* B5: release the bios after barrier B, up to the next barrier. */
static void release_after_barrier(struct bq_queue *q, struct bq_bio *b)
{
	for (struct bq_bio *n = b->next; n; n = n->next) {
		if (n->barrier) {
			/* its drain still holds its own data */
			break;
		}
		release(q, n);
	}
}

/* B's bytes in one buffer, for a plugin's write(); NULL for the built-in
 * devices, which do not look.  The buffer grows, never shrinks. */
static const uint8_t *bio_bytes(struct bq_queue *q, const struct bq_bio *b)
{
	if (q->dev.builtin || !b->len)
		return NULL;
	if (q->cap_req < b->len) {
		uint8_t *p = realloc(q->reqbuf, b->len);
		if (!p)
			return NULL;
		q->reqbuf = p;
		q->cap_req = b->len;
	}
	for (const struct bq_version *v = b->vers; v; v = v->next_in_bio)
		memcpy(q->reqbuf + (v->unit->index << q->unit_shift) + v->lo - b->off,
		       v->data + v->lo, v->hi - v->lo);
	return q->reqbuf;
}

/* One step of bio B's sequence (B6).  Returns 1 when B is done. */
static int bq_bio_step(struct bq_queue *q, struct bq_bio *b)
{
	uint32_t todo = b->policy & ~b->seq;
	uint32_t step = todo & -todo;	/* the lowest unset bit */

	switch (step) {
	case BQ_SEQ_DRAIN:
		/* B5: every earlier bio completes first */
		while (q->head != b) {
			uint64_t id = q->head->id;
			int rc = complete_bio(q, q->head);
			if (rc || (rc = note_unwaited(q, id)))
				return rc;
		}
		b->seq |= BQ_SEQ_DRAIN;
		/* B7: without a pre-flush (no cache) the data goes now, so
		 * the crash point sees it in flight, each unit on the media
		 * or not, before the DATA step makes it durable */
		if (!(b->policy & BQ_SEQ_PREFLUSH))
			release(q, b);
		bq_step(q, "bio %" PRIu64 ": queue drained", b->id);
		return 0;
	case BQ_SEQ_PREFLUSH:
		flush_covered(q, b, false);
		b->seq |= BQ_SEQ_PREFLUSH;
		release(q, b);
		bq_step(q, "bio %" PRIu64 ": preflush done", b->id);
		return 0;
	case BQ_SEQ_DATA: {
		bool late = false;
		enum bq_fate f;
		release(q, b);	/* whatever held it (B2, B5) is done */
		f = bq_device_write(q, b, bio_bytes(q, b), &late);
		if (b->fua_native)
			q->st.fua_cmds++;
		for (struct bq_version *v = b->vers; v; v = v->next_in_bio) {
			v->landing = (uint8_t)f;
			ver_arrive(q, v, late ? BQ_FATE_LATE : f);
		}
		b->vers = NULL;		/* the units own them now (I1) */
		b->seq |= BQ_SEQ_DATA;
		bq_step(q, "bio %" PRIu64 ": data %s", b->id,
			late ? "reported done, not yet on the device" :
			f == BQ_FATE_MEDIA ? "on media" : "in device cache");
		cache_make_room(q);
		return 0;
	}
	case BQ_SEQ_POSTFLUSH:
		flush_covered(q, b, true);
		b->seq |= BQ_SEQ_POSTFLUSH;
		bq_step(q, "bio %" PRIu64 ": postflush done", b->id);
		return 0;
	case BQ_SEQ_DONE:
		b->seq |= BQ_SEQ_DONE;
		retire(q, b);
		if (q->barrier_mode && b->barrier)
			release_after_barrier(q, b);
		bq_step(q, "bio %" PRIu64 " completed", b->id);
		bio_free(q, b);
		return 1;
	default:
		assert(!"bq_bio_step: no step left");
		return -1;
	}
}

/* Run B's sequence to completion (L1: the submitter waits for it). */
static int complete_bio(struct bq_queue *q, struct bq_bio *b)
{
	int rc;

	/* B5: a bio behind an unfinished barrier waits for it */
	if (q->barrier_mode && !b->barrier && b->held) {
		struct bq_bio *p = b->prev;
		while (p && !p->barrier)
			p = p->prev;
		if (p) {
			uint64_t id = p->id;
			if ((rc = complete_bio(q, p)) || (rc = note_unwaited(q, id)))
				return rc;
		}
	}
	while ((rc = bq_bio_step(q, b)) == 0)
		;
	return rc < 0 ? rc : 0;
}

/* ---- timing ---- */

static uint64_t xfer_cycles(uint64_t bytes, uint64_t bw)
{
	return bw ? (bytes * 1000 + bw - 1) / bw : 0;
}

static uint64_t cmd_cycles(struct bq_queue *q, const struct bq_bio *b,
			   enum bq_req_op op, uint64_t def)
{
	if (q->dev.ops->cycles) {
		struct bq_request rq = {
			.bio_id = b->id, .op = op, .sector = b->off >> 9,
			.len = op == BQ_REQ_FLUSH ? 0 : b->len,
			.flags = (op == BQ_REQ_WRITE && b->fua_native) ? BQ_REQ_FUA : 0,
		};
		return q->dev.ops->cycles(q->dev.priv, &rq);
	}
	return def;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void time_bio(struct bq_queue *q, struct bq_bio *b)
{
	uint64_t *now = &q->env.clock->now, t0 = *now;
	uint32_t k = 0, i;
	uint64_t t;

	*now += q->submit_cycles;
	for (i = 1; i < q->depth; i++)
		if (q->slot_free[i] < q->slot_free[k])
			k = i;
	if (q->slot_free[k] > *now) {
		q->st.stall_cycles += q->slot_free[k] - *now;
		*now = q->slot_free[k];
	}
	t = *now;
	if (b->policy & (BQ_SEQ_DRAIN | BQ_SEQ_PREFLUSH))
		t = max64(t, q->dev_free);
	if (b->policy & BQ_SEQ_PREFLUSH)
		t += cmd_cycles(q, b, BQ_REQ_FLUSH, q->flush_cycles) +
		     xfer_cycles(q->ncached * q->unit, q->media_bw);
	if (b->policy & BQ_SEQ_DATA) {
		t = max64(t, q->bus_free) + xfer_cycles(b->len, q->bus_bw);
		q->bus_free = t;
		t += cmd_cycles(q, b, BQ_REQ_WRITE, q->cmd_cycles);
		if (!(q->features & BQ_FEAT_WRITE_CACHE) || b->fua_native)
			t += xfer_cycles(b->len, q->media_bw);
	}
	if (b->policy & BQ_SEQ_POSTFLUSH)
		t = max64(t, q->dev_free) + cmd_cycles(q, b, BQ_REQ_FLUSH, q->flush_cycles) +
		    xfer_cycles(q->ncached * q->unit + b->len, q->media_bw);
	if (b->policy & (BQ_SEQ_PREFLUSH | BQ_SEQ_POSTFLUSH | BQ_SEQ_DRAIN))
		q->dev_free = t;
	q->slot_free[k] = t;
	b->t_done = t;
	lat_add(&q->st.lat[bq_lat_kind(b->op, b->flags)], t - t0);
}

static void time_wait(struct bq_queue *q, uint64_t t_done)
{
	uint64_t *now = &q->env.clock->now;

	if (t_done > *now) {
		q->st.wait_cycles += t_done - *now;
		*now = t_done;
	}
}

/* ---- submission ---- */

/* What blk-flush.c would make of B on this device (B5, B6, B7). */
static void plan(struct bq_queue *q, struct bq_bio *b)
{
	bool wc = q->features & BQ_FEAT_WRITE_CACHE;
	bool fua_ok = wc && (q->features & BQ_FEAT_FUA);
	bool data = b->op != TRACE_BIO_FLUSH;

	b->policy = BQ_SEQ_DONE | (data ? BQ_SEQ_DATA : 0);
	b->barrier = q->barrier_mode &&
		(b->op == TRACE_BIO_FLUSH || (b->flags & (TRACE_BIO_PREFLUSH | TRACE_BIO_FUA)));
	if (b->barrier) {
		/* B5 with barrier.txt's DRAIN_FLUSH / DRAIN_FUA / DRAIN */
		b->policy |= BQ_SEQ_DRAIN;
		if (wc) {
			b->policy |= BQ_SEQ_PREFLUSH;
			if (data && fua_ok)
				b->fua_native = true;
			else if (data)
				b->policy |= BQ_SEQ_POSTFLUSH;
		}
		return;
	}
	if (!wc)
		return;		/* B6: flags stripped, empty flush done at once */
	if (b->op == TRACE_BIO_FLUSH || (b->flags & TRACE_BIO_PREFLUSH))
		b->policy |= BQ_SEQ_PREFLUSH;
	if (data && (b->flags & TRACE_BIO_FUA)) {
		if (fua_ok)
			b->fua_native = true;
		else
			b->policy |= BQ_SEQ_POSTFLUSH;
	}
}

/* Whether B's data must be held at submission (B2, B5, F4). */
static bool must_hold(struct bq_queue *q, struct bq_bio *b)
{
	struct bq_version *v;

	if (q->faults & SIM_FAULT_REORDER_ACROSS_FLUSH)
		return false;	/* F4: nothing keeps data behind a flush */
	if (q->barrier_mode) {
		/* behind an unfinished barrier, or a barrier with work
		 * to drain */
		for (struct bq_bio *p = q->head; p; p = p->next)
			if (p->barrier || b->barrier)
				return true;
		if (!b->barrier)
			return false;
		FOR_EACH_VERSION(q, v)
			if (v->state != BQ_V_DURABLE)
				return true;
		return false;
	}
	if (!(b->policy & BQ_SEQ_PREFLUSH))
		return false;
	/* B2: held only if the preflush has something to do */
	FOR_EACH_VERSION(q, v)
		if (v->state == BQ_V_CACHED && v->arrive_tick < b->submit_tick)
			return true;
	return false;
}

static int submit(struct bq_queue *q, const struct bq_bio_desc *d,
		  bq_read_fn *read, const void *src)
{
	struct bq_bio *b;
	struct bq_version **link;
	uint64_t off = d->sector << 9, end;
	int rc;

	if (d->id == UINT64_MAX)
		return bq_fail(q, "bio id=%" PRIu64 " is reserved", d->id);
	if (find_bio(q, d->id) || bq_map_get(&q->unwaited, d->id))
		return bq_fail(q, "bio id=%" PRIu64 " is already in flight", d->id);
	if (d->len % 512)
		return bq_fail(q, "bio id=%" PRIu64 ": len %" PRIu64
			       " is not a multiple of 512", d->id, d->len);
	if (d->op != TRACE_BIO_FLUSH &&
	    (d->sector > (q->size >> 9) || d->len > q->size - off || d->len == 0))
		return bq_fail(q, "bio id=%" PRIu64 ": bytes %" PRIu64 "..%" PRIu64
			       " are beyond the device (%" PRIu64 " bytes, disk.size)",
			       d->id, off, off + d->len, q->size);
	if (q->pmem) {
		uint64_t t0 = q->env.clock->now;

		if ((rc = bq_pmem_submit(q, d, read, src)))
			return rc;
		/* completed within its submission (B10, B11) */
		lat_add(&q->st.lat[bq_lat_kind(d->op, d->flags)], q->env.clock->now - t0);
		return 0;
	}

	/* versions first: a unit that is full refuses the bio whole */
	end = d->op == TRACE_BIO_FLUSH ? off : off + d->len;
	for (uint64_t u = off >> q->unit_shift; off < end && u <= (end - 1) >> q->unit_shift; u++) {
		struct bq_unit *un = bq_map_get(&q->units, u);
		if (un && un->nver >= BQ_UNIT_MAX_VERSIONS)
			return bq_fail(q, "bio id=%" PRIu64 ": the atomic unit at byte %"
				       PRIu64 " already has %d pending writes (the most "
				       "the model tracks): wait for some first",
				       d->id, u << q->unit_shift, BQ_UNIT_MAX_VERSIONS);
	}
	if (!(b = bio_alloc(q)))
		return bq_fail(q, "out of memory");
	b->id = d->id;
	b->line = d->line;
	b->op = d->op;
	b->flags = d->flags;
	b->off = off;
	b->len = d->op == TRACE_BIO_FLUSH ? 0 : d->len;
	b->submit_tick = ++q->tick;
	plan(q, b);
	b->held = must_hold(q, b);

	link = &b->vers;
	for (uint64_t at = off; at < end;) {
		uint64_t ui = at >> q->unit_shift;
		uint64_t ustart = ui << q->unit_shift;
		uint64_t uend = ustart + q->unit < end ? ustart + q->unit : end;
		struct bq_unit *un = unit_get(q, ui);
		struct bq_version *v = un ? ver_alloc(q) : NULL;
		if (!v) {
			bio_free(q, b);
			return bq_fail(q, "out of memory");
		}
		v->unit = un;
		v->bio_id = b->id;
		v->line = b->line;
		v->submit_tick = b->submit_tick;
		v->order_tick = b->submit_tick;
		v->lo = (uint32_t)(at - ustart);
		v->hi = (uint32_t)(uend - ustart);
		v->state = b->held ? BQ_V_HELD : BQ_V_INFLIGHT;
		if (read)
			read(src, at - off, v->data + v->lo, v->hi - v->lo);
		else
			memset(v->data + v->lo, 0, v->hi - v->lo);
		un->ver[un->nver++] = v;
		if (un->empty) {
			un->empty = false;
			q->nempty--;
		}
		bq_unit_touch(q, un);
		*link = v;
		link = &v->next_in_bio;
		at = uend;
	}

	/* in flight */
	b->prev = q->tail;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	if (bq_map_put(&q->bios, b->id, b)) {
		retire(q, b);
		return bq_fail(q, "out of memory");
	}
	q->nflight++;
	if (q->nflight > q->st.max_in_flight)
		q->st.max_in_flight = q->nflight;

	q->st.bios++;
	switch (d->op) {
	case TRACE_BIO_WRITE: q->st.writes++; q->st.bytes += d->len; break;
	case TRACE_BIO_DISCARD: q->st.discards++; q->st.bytes += d->len; break;
	case TRACE_BIO_FLUSH: q->st.flush_bios++; break;
	}
	if (d->flags & TRACE_BIO_PREFLUSH)
		q->st.preflush++;
	if (d->flags & TRACE_BIO_FUA)
		q->st.fua++;
	time_bio(q, b);
	bq_publish(q);
	return 0;
}

/* A unit past the enumeration limits (bq_crash.c) fails the call. */
static int settle(struct bq_queue *q, int rc)
{
	if (!rc && q->overflow_unit != UINT64_MAX)
		rc = bq_fail(q, "the atomic unit at byte %" PRIu64 " has more possible "
			     "contents than the model enumerates (%d): wait for its "
			     "writes before issuing more", q->overflow_unit,
			     BQ_UNIT_MAX_CHOICES);
	return rc;
}

static void read_mem(const void *src, uint64_t off, void *dst, size_t n)
{
	memcpy(dst, (const uint8_t *)src + off, n);
}

static void read_payload(const void *src, uint64_t off, void *dst, size_t n)
{
	trace_payload_read(src, off, dst, n);
}

int bq_submit(struct bq_queue *q, const struct bq_bio_desc *d)
{
	return settle(q, submit(q, d, d->op == TRACE_BIO_WRITE ? read_mem : NULL, d->data));
}

int bq_submit_event(struct bq_queue *q, const struct trace_event *ev)
{
	struct bq_bio_desc d = {
		.id = ev->id, .op = ev->bio_op, .flags = ev->flags,
		.sector = ev->sector, .len = ev->op == TRACE_BIO && ev->bio_op != TRACE_BIO_FLUSH ?
			ev->len : 0,
		.line = ev->line,
	};

	return settle(q, submit(q, &d, d.op == TRACE_BIO_WRITE ? read_payload : NULL,
				&ev->data));
}

/* ---- waiting ---- */

int bq_wait(struct bq_queue *q, uint64_t id)
{
	struct bq_bio *b = find_bio(q, id);
	uint64_t t, before = q->tick + 1;
	int rc;

	if (q->pmem && id != UINT64_MAX)
		return bq_pmem_wait(q, id);
	if (!b && id != UINT64_MAX && bq_map_get(&q->unwaited, id)) {
		/* B5: a barrier completed it already */
		bq_map_del(&q->unwaited, id);
		late_arrivals(q, before);
		bq_publish(q);
		return settle(q, 0);
	}
	if (!b)
		return bq_fail(q, "wait id=%" PRIu64 ": bio %" PRIu64 " is not in flight (never "
			       "submitted, or already waited for)", id, id);
	t = b->t_done;
	if ((rc = complete_bio(q, b)))
		return rc;
	time_wait(q, t);
	late_arrivals(q, before);
	bq_publish(q);
	return settle(q, 0);
}

int bq_wait_all(struct bq_queue *q)
{
	uint64_t before = q->tick + 1, t = 0;
	int rc;

	if (q->pmem)
		return bq_pmem_wait(q, UINT64_MAX);
	for (struct bq_bio *b = q->head; b; b = b->next)
		t = max64(t, b->t_done);
	while (q->head) {
		struct bq_bio *b = q->head;
		if (q->order_random && q->nflight > 1) {
			/* bq.order=random: a seeded pick among those in flight */
			uint64_t k = trace_splitmix64(&q->rng) % q->nflight;
			while (k--)
				b = b->next;
		}
		if ((rc = complete_bio(q, b)))
			return rc;
	}
	if (q->unwaited.n) {
		/* every bio is waited for now, those a barrier completed too */
		bq_map_fini(&q->unwaited);
		if (bq_map_init(&q->unwaited, 16))
			return bq_fail(q, "out of memory");
	}
	time_wait(q, t);
	late_arrivals(q, before);
	bq_publish(q);
	return settle(q, 0);
}

/* ---- reading ---- */

void bq_read(const struct bq_queue *q, uint64_t off, void *buf, size_t n)
{
	uint8_t *d = buf;

	assert(off <= q->size && n <= q->size - off);
	if (q->pmem) {
		bq_pmem_read(q, off, buf, n);
		return;
	}
	media_read(q->env.media, off, buf, n);
	/* every pending version in submission order, over the pre-image */
	for (uint64_t ui = off >> q->unit_shift; n && ui <= (off + n - 1) >> q->unit_shift; ui++) {
		const struct bq_unit *u = bq_map_get(&q->units, ui);
		uint64_t ustart = ui << q->unit_shift;
		uint64_t lo = ustart > off ? ustart : off;
		uint64_t hi = ustart + q->unit < off + n ? ustart + q->unit : off + n;
		if (!u)
			continue;
		if (!u->pre_unread)	/* else the media read above holds it */
			memcpy(d + (lo - off), u->pre + (lo - ustart), hi - lo);
		for (uint32_t k = 0; k < u->nver; k++) {
			const struct bq_version *v = u->ver[k];
			uint64_t a = ustart + v->lo > lo ? ustart + v->lo : lo;
			uint64_t z = ustart + v->hi < hi ? ustart + v->hi : hi;
			if (a < z)
				memcpy(d + (a - off), v->data + (a - ustart), z - a);
		}
	}
}

uint64_t bq_device_size(const struct bq_queue *q)
{
	return q->size;
}

size_t bq_in_flight(const struct bq_queue *q)
{
	return q->nflight;
}

bool bq_write_may_be_lost(const struct bq_queue *q, uint64_t id, uint64_t off, uint64_t len)
{
	if (!len)
		return false;
	if (q->pmem)
		return bq_pmem_may_be_lost(q, id, off, len);	/* B12 */
	for (uint64_t ui = off >> q->unit_shift; ui <= (off + len - 1) >> q->unit_shift; ui++) {
		const struct bq_unit *u = bq_map_get(&q->units, ui);
		for (uint32_t k = 0; u && k < u->nver; k++)
			if (u->ver[k]->bio_id == id && u->ver[k]->state != BQ_V_DURABLE)
				return true;
	}
	return false;
}

uint64_t bq_durable_gen(const struct bq_queue *q)
{
	return q->pmem ? bq_pmem_durable_gen(q) : q->durable_gen;	/* B12 */
}

/* ---- life ---- */

int bq_queue_init(struct bq_queue *q, const struct sim_env *env)
{
	const struct sim_config *c = env->cfg;
	int rc;

	memset(q, 0, sizeof(*q));
	q->env = *env;
	q->kind = c->device;
	q->barrier_mode = c->block_semantics == SIM_BLOCK_BARRIER;
	q->faults = c->faults;
	q->pmem = c->device == SIM_DEVICE_PMEM || c->device == SIM_DEVICE_PMEM_WB;
	q->unit = (uint32_t)sim_param(c, "disk.atomic_unit");
	for (q->unit_shift = 0; (1u << q->unit_shift) < q->unit; q->unit_shift++)
		;
	q->size = env->media ? media_size(env->media) : sim_param(c, "disk.size");
	q->cache_units = sim_param(c, "disk.cache_size") >> q->unit_shift;
	if (!q->cache_units)
		q->cache_units = 1;
	q->depth = (uint32_t)sim_param(c, "bq.depth");
	q->order_random = sim_param(c, "bq.order") == 1;
	q->seed = sim_param(c, "bq.seed");
	q->rng = q->seed;
	q->overflow_unit = UINT64_MAX;
	q->submit_cycles = sim_param(c, "bq.submit_cycles");
	q->cmd_cycles = sim_param(c, "disk.latency");
	q->flush_cycles = sim_param(c, "disk.flush_latency");
	q->bus_bw = sim_param(c, "disk.bandwidth");
	q->media_bw = sim_param(c, "disk.media_bandwidth");
	q->slot_free = calloc(q->depth, sizeof(*q->slot_free));
	if (!q->slot_free || bq_map_init(&q->bios, 64) || bq_map_init(&q->unwaited, 16) ||
	    bq_map_init(&q->units, 256) ||
	    (q->pmem && bq_map_init(&q->pw_ids, 64)))
		goto nomem;
	q->pw_prune = 64;
	if (!env->media)
		return bq_fail(q, "no device image");
	if ((rc = bq_device_open(q)))
		return rc;
	q->features = q->pmem ? 0 : q->dev.ops->features(q->dev.priv);
	return 0;
nomem:
	return bq_fail(q, "out of memory");
}

void bq_queue_fini(struct bq_queue *q)
{
	struct bq_bio *b, *nb;
	struct bq_version *v, *nv;

	for (b = q->head; b; b = nb) {
		nb = b->next;
		free(b);
	}
	for (b = q->free_bios; b; b = nb) {
		nb = b->next;
		free(b);
	}
	for (size_t i = 0; i < q->nactive; i++) {
		struct bq_unit *u = q->active[i];
		for (uint32_t k = 0; k < u->nver; k++)
			free(u->ver[k]);
		free(u->pre);
		free(u->img);
		free(u);
	}
	for (struct bq_unit *u = q->free_units, *nu; u; u = nu) {
		nu = u->next_free;
		free(u->pre);
		free(u->img);
		free(u);
	}
	for (v = q->free_vers; v; v = nv) {
		nv = v->next_in_bio;
		free(v);
	}
	free(q->active);
	free(q->dirty);
	free(q->groups);
	free(q->scratch);
	free(q->slot_free);
	free(q->wb_lines);
	free(q->reqbuf);
	free(q->cached.k);
	free(q->acked.k);
	free(q->pw);
	bq_map_fini(&q->pw_ids);
	bq_map_fini(&q->bios);
	bq_map_fini(&q->unwaited);
	bq_map_fini(&q->units);
	for (int k = 0; k < BQ_LAT_KINDS; k++)
		lat_free(&q->st.lat[k]);
	bq_device_close(q);
}
