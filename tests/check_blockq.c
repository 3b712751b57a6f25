/*
 * check_blockq.c — unit tests of blockq/: the rules B1-B11 and faults
 * F1-F4 through the submitter API (blockq.h) and the crash-state interface
 * (sim/crash.h), the example plugin against the built-in devices it
 * imitates, the plugin loader's checks, the errors, bq_read, and the map.
 *
 * The crash-state tests enumerate every state (the product of the groups'
 * choices), lay each state's bytes over a copy of the base, and compare
 * the sorted set of distinct contents of the first sectors — each written
 * with one repeated byte, printed as "11,22" — with the set the rule
 * allows, written out by hand.  With `each step` the set is the union over
 * every crash point the model reported, as `outcomes --at all` takes it.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockq/blockq.h"
#include "blockq/bq_int.h"
#include "cache/cache.h"
#include "sim/config.h"
#include "sim/crash.h"
#include "sim/media.h"
#include "sim/model.h"

/* the example plugin, linked in (the loader is tested with the .so) */
#include "blockq/plugins/bbwc.c"

#define NSEC 3			/* sectors observed */

struct h {
	struct sim_config cfg;
	struct sim_clock clock;
	struct media *media;
	struct sim_err err;
	struct sim_env env;
	void *cache;
	struct bq_queue *q;
	unsigned steps;
	bool collect;		/* union the outcomes at every step */
	char seen[256][NSEC * 3];
	unsigned nseen;
	uint64_t *trail;	/* run_mode_same_media: the media at each step */
	unsigned ntrail;
};

static void collect_now(struct h *h);
static void trail_now(struct h *h);

/* the explorer's crash point at an internal step */
static void on_step(void *ctx, const char *what)
{
	struct h *h = ctx;
	(void)what;
	h->steps++;
	if (h->collect)
		collect_now(h);
	if (h->trail)
		trail_now(h);
}

/* RUN: the model is told no one asks for crash states (`powercut run`). */
static struct h *mk_mode(const char *settings, bool run)
{
	struct h *h = calloc(1, sizeof(*h));
	char buf[512], err[256], *save = NULL;
	bool pmem;

	ck_assert_ptr_nonnull(h);
	sim_config_init(&h->cfg);
	ck_assert_int_eq(sim_config_set(&h->cfg, "disk.size", "1M", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set(&h->cfg, "pmem.size", "1M", SIM_FROM_FLAG, err, sizeof(err)), 0);
	snprintf(buf, sizeof(buf), "%s", settings ? settings : "");
	for (char *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		if (sim_config_set(&h->cfg, kv, eq + 1, SIM_FROM_FLAG, err, sizeof(err)))
			ck_abort_msg("%s", err);
	}
	pmem = h->cfg.device == SIM_DEVICE_PMEM || h->cfg.device == SIM_DEVICE_PMEM_WB;
	ck_assert_int_eq(media_create(&h->media, 1 << 20), 0);
	h->env = (struct sim_env){ .cfg = &h->cfg, .clock = &h->clock, .media = h->media,
				   .err = &h->err, .step = on_step, .step_ctx = h,
				   .no_crash_states = run };
	if (pmem && cache_model_create(&h->cache, &h->env))
		ck_abort_msg("cache: %s", h->err.msg);
	h->env.cache = h->cache;
	if (bq_model_kind.create((void **)&h->q, &h->env))
		ck_abort_msg("create: %s", h->err.msg);
	return h;
}

static struct h *mk(const char *settings)
{
	return mk_mode(settings, false);
}

static void done(struct h *h)
{
	bq_model_kind.ops->destroy(h->q);
	if (h->cache)
		cache_model_ops.destroy(h->cache);
	media_destroy(h->media);
	free(h);
}

/* ---- submitting ---- */

static int bio(struct h *h, uint64_t id, enum trace_bio_op op, uint64_t sector,
	       uint64_t len, uint32_t flags, uint8_t fill)
{
	static uint8_t data[1 << 16];
	struct bq_bio_desc d = { .id = id, .op = op, .flags = flags, .sector = sector,
				 .len = op == TRACE_BIO_FLUSH ? 0 : len,
				 .data = op == TRACE_BIO_WRITE ? data : NULL };
	int rc;

	memset(data, fill, sizeof(data));
	rc = bq_submit(h->q, &d);
	if (!rc && h->collect)
		collect_now(h);		/* the loop's point after the event */
	return rc;
}

static void wait_for(struct h *h, uint64_t id, bool all)
{
	if (all ? bq_wait_all(h->q) : bq_wait(h->q, id))
		ck_abort_msg("%s", h->err.msg);
	if (h->collect)
		collect_now(h);
}

#define W(h, id, sec, fill)	ck_assert_int_eq(bio(h, id, TRACE_BIO_WRITE, sec, 512, 0, fill), 0)
#define WF(h, id, sec, fl, fill) ck_assert_int_eq(bio(h, id, TRACE_BIO_WRITE, sec, 512, fl, fill), 0)
#define FLUSH(h, id)		ck_assert_int_eq(bio(h, id, TRACE_BIO_FLUSH, 0, 0, 0, 0), 0)
#define WAIT(h, id)		wait_for(h, id, false)
#define WAITALL(h)		wait_for(h, 0, true)
enum { PF = TRACE_BIO_PREFLUSH, FUA = TRACE_BIO_FUA };

/* ---- enumerating ---- */

struct img {
	uint8_t b[NSEC * 512];
};

static void emit_into(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct img *im = ctx;
	for (size_t i = 0; i < n; i++)
		if (off + i < sizeof(im->b))
			im->b[off + i] = ((const uint8_t *)bytes)[i];
}

static void add_seen(struct h *h, const char *s)
{
	for (unsigned i = 0; i < h->nseen; i++)
		if (!strcmp(h->seen[i], s))
			return;
	ck_assert_uint_lt(h->nseen, 256);
	strcpy(h->seen[h->nseen++], s);
}

/* Every state's first NSEC sectors, as "11,22,00". */
static void collect_now(struct h *h)
{
	const struct sim_crash_ops *ops;
	const void *self;
	struct img base, im;
	size_t ng;
	uint32_t c[64] = { 0 };

	if (h->cache) {
		ops = cache_model_ops.crash;
		self = h->cache;
	} else {
		ops = bq_model_kind.ops->crash;
		self = h->q;
	}
	ng = ops->ngroups(self);
	ck_assert_uint_le(ng, 16);
	media_read(h->media, 0, base.b, sizeof(base.b));
	for (;;) {
		char s[16];
		im = base;
		for (size_t g = 0; g < ng; g++)
			ops->apply(self, g, c[g], emit_into, &im);
		for (int k = 0; k < NSEC; k++) {
			for (int i = 1; i < 512; i++)
				ck_assert_msg(im.b[k * 512 + i] == im.b[k * 512],
					      "sector %d torn inside", k);
			snprintf(s + 3 * k, 4, "%02x,", im.b[k * 512]);
		}
		s[NSEC * 3 - 1] = '\0';
		add_seen(h, s);
		size_t g = 0;
		while (g < ng && ++c[g] == ops->nchoices(self, g))
			c[g++] = 0;
		if (g == ng)
			break;
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The outcomes as "x|y|z", sorted. */
static const char *outcomes(struct h *h)
{
	static char out[4096];
	size_t o = 0;

	collect_now(h);
	qsort(h->seen, h->nseen, sizeof(h->seen[0]), cmp);
	out[0] = '\0';
	for (unsigned i = 0; i < h->nseen; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "|" : "", h->seen[i]);
	h->nseen = 0;
	return out;
}

#define EXPECT(h, want) ck_assert_str_eq(outcomes(h), want)

/* ---- the rules ---- */

START_TEST(b1_completed_write_is_volatile)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	EXPECT(h, "00,00,00|11,00,00");
	done(h);
}
END_TEST

START_TEST(b2_flush_covers_completed_only)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	W(h, 2, 1, 0x22);	/* in flight when the flush is submitted */
	FLUSH(h, 3);
	WAIT(h, 3);
	WAIT(h, 2);
	EXPECT(h, "11,00,00|11,22,00");
	done(h);
}
END_TEST

START_TEST(b2_preflush_orders_at_every_point)
{
	struct h *h = mk("device=disk-wc");
	h->collect = true;
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	WF(h, 2, 1, PF, 0x22);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|11,00,00|11,22,00");
	done(h);
}
END_TEST

START_TEST(b2_preflush_nothing_to_flush_not_held)
{
	struct h *h = mk("device=disk-wc");
	WF(h, 1, 0, PF, 0x11);	/* nothing completed: data in flight at once */
	EXPECT(h, "00,00,00|11,00,00");
	done(h);
}
END_TEST

START_TEST(b3_fua_own_data_only)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	WF(h, 2, 1, FUA, 0x22);
	WAIT(h, 2);
	EXPECT(h, "00,22,00|11,22,00");
	done(h);
}
END_TEST

START_TEST(b4_same_sector_unordered)
{
	struct h *h = mk("device=disk-wt");
	W(h, 1, 0, 0x11);
	W(h, 2, 0, 0x22);
	EXPECT(h, "00,00,00|11,00,00|22,00,00");
	WAITALL(h);
	EXPECT(h, "11,00,00|22,00,00");
	done(h);
}
END_TEST

START_TEST(b4_three_way_concurrency)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	W(h, 2, 0, 0x22);
	W(h, 3, 0, 0x33);
	WAITALL(h);
	FLUSH(h, 4);
	WAIT(h, 4);
	/* all three durable, in an order nobody fixed */
	EXPECT(h, "11,00,00|22,00,00|33,00,00");
	done(h);
}
END_TEST

START_TEST(b4_wait_orders)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	W(h, 2, 0, 0x22);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|11,00,00|22,00,00");
	FLUSH(h, 3);
	WAIT(h, 3);
	EXPECT(h, "22,00,00");
	ck_assert_uint_eq(h->q->active[0]->nver, 0);	/* folded away */
	ck_assert_uint_eq(bq_model_kind.ops->crash->ngroups(h->q), 0);
	done(h);
}
END_TEST

START_TEST(b4_durable_then_concurrent_overlap)
{
	/* bio 2 in flight while bio 1 becomes durable: either order */
	struct h *h = mk("device=disk-wc");
	W(h, 2, 0, 0x22);
	WF(h, 1, 0, FUA, 0x11);
	WAIT(h, 1);
	EXPECT(h, "11,00,00|22,00,00");
	done(h);
}
END_TEST

START_TEST(b5_barrier_drain_and_hold)
{
	struct h *h = mk("device=disk-wc block-semantics=barrier");
	h->collect = true;
	W(h, 1, 0, 0x11);
	WF(h, 2, 1, FUA, 0x22);
	W(h, 3, 2, 0x33);
	WAITALL(h);
	/* never bio 2 without bio 1, never bio 3 without bio 2 */
	EXPECT(h, "00,00,00|11,00,00|11,22,00|11,22,33");
	done(h);
}
END_TEST

/* B5: a bio the barrier's drain completed is complete for the submitter:
 * its wait returns at once (it was refused), and its id is taken until
 * that wait, as on pmem (b10_pmem_sync). */
START_TEST(b5_wait_after_drain)
{
	struct h *h = mk("device=disk-wc block-semantics=barrier");
	W(h, 1, 0, 0x11);
	FLUSH(h, 2);
	WAIT(h, 2);
	EXPECT(h, "11,00,00");
	ck_assert_int_eq(bio(h, 1, TRACE_BIO_WRITE, 1, 512, 0, 0x22), -1);
	ck_assert_str_eq(h->err.msg, "bio id=1 is already in flight");
	WAIT(h, 1);
	ck_assert_int_eq(bq_wait(h->q, 1), -1);
	W(h, 1, 1, 0x22);
	WAITALL(h);
	EXPECT(h, "11,00,00|11,22,00");
	done(h);
}
END_TEST

START_TEST(b6_emulated_fua_postflush)
{
	struct h *h = mk("device=disk-wc disk.fua=off");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	WF(h, 2, 1, FUA, 0x22);
	WAIT(h, 2);
	EXPECT(h, "11,22,00");
	ck_assert_uint_eq(h->q->st.flush_cmds, 1);
	ck_assert_uint_eq(h->q->st.fua_cmds, 0);
	done(h);
}
END_TEST

START_TEST(b7_b8_torn_and_atomic)
{
	struct h *h = mk("device=disk-wt");
	ck_assert_int_eq(bio(h, 1, TRACE_BIO_WRITE, 0, 1024, 0, 0x11), 0);
	EXPECT(h, "00,00,00|00,11,00|11,00,00|11,11,00");
	done(h);
	h = mk("device=disk-wt disk.atomic_unit=1024");
	ck_assert_int_eq(bio(h, 1, TRACE_BIO_WRITE, 0, 1024, 0, 0x11), 0);
	EXPECT(h, "00,00,00|11,11,00");
	done(h);
}
END_TEST

START_TEST(b8_subunit_merge)
{
	struct h *h = mk("device=disk-wc disk.atomic_unit=1024");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	W(h, 2, 1, 0x22);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|11,00,00|11,22,00");
	done(h);
}
END_TEST

START_TEST(b9_cache_full_destages_oldest)
{
	struct h *h = mk("device=disk-wc disk.cache_size=512");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	W(h, 2, 1, 0x22);
	WAIT(h, 2);
	EXPECT(h, "11,00,00|11,22,00");
	ck_assert_uint_eq(h->q->st.destages, 1);
	done(h);
}
END_TEST

/* B9 with several destages at once (cache_make_room's arrival queue): a
 * three-unit write completes into a one-unit cache; its first two units
 * (arrived first) are destaged, the third stays cached.  Then three late
 * arrivals (F3) at one wait overflow it by two: the two older go. */
START_TEST(b9_destages_several_oldest_first)
{
	struct h *h = mk("device=disk-wc disk.cache_size=512");
	ck_assert_int_eq(bio(h, 1, TRACE_BIO_WRITE, 0, 1536, 0, 0x11), 0);
	WAIT(h, 1);
	ck_assert_uint_eq(h->q->st.destages, 2);
	EXPECT(h, "11,11,00|11,11,11");
	done(h);
	h = mk("device=disk-wc disk.cache_size=512 fault=early-complete");
	W(h, 1, 2, 0x11);
	W(h, 2, 1, 0x22);
	W(h, 3, 0, 0x33);
	WAITALL(h);		/* completed, not yet on the device */
	W(h, 4, 5, 0x44);
	WAIT(h, 4);		/* the three arrive, by unit: 3, 2, 1 */
	ck_assert_uint_eq(h->q->st.destages, 2);
	EXPECT(h, "33,22,00|33,22,11");
	done(h);
}
END_TEST

START_TEST(discard_reads_zero)
{
	struct h *h = mk("device=disk-wt");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	ck_assert_int_eq(bio(h, 2, TRACE_BIO_DISCARD, 0, 512, 0, 0), 0);
	WAIT(h, 2);
	EXPECT(h, "00,00,00");
	done(h);
}
END_TEST

/* run's bio latencies (bq_model_report): each bio in its class, from
 * submission to completion in the timing model: a plain write costs the
 * submission, the bus transfer and the write command; an empty flush the
 * submission, the flush command and destaging what is cached. */
START_TEST(bio_latency_classes)
{
	struct h *h = mk("device=disk-wc bq.submit_cycles=1000 disk.latency=30000 "
			 "disk.flush_latency=300000 disk.bandwidth=1000 disk.media_bandwidth=512");
	struct bq_stats *s = &h->q->st;

	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	FLUSH(h, 2);
	WAIT(h, 2);
	WF(h, 3, 1, FUA, 0x22);
	WAIT(h, 3);
	ck_assert_int_eq(bio(h, 4, TRACE_BIO_DISCARD, 2, 512, 0, 0), 0);
	WAIT(h, 4);
	ck_assert_uint_eq(s->lat[BQ_LAT_WRITE].n, 1);
	ck_assert_uint_eq(lat_p50(&s->lat[BQ_LAT_WRITE]), 1000 + 512 + 30000);
	ck_assert_uint_eq(s->lat[BQ_LAT_FLUSH].n, 1);
	ck_assert_uint_eq(lat_p50(&s->lat[BQ_LAT_FLUSH]), 1000 + 300000 + 1000);
	ck_assert_uint_eq(s->lat[BQ_LAT_FLAGGED].n, 1);
	ck_assert_uint_eq(lat_p99(&s->lat[BQ_LAT_FLAGGED]), 1000 + 512 + 30000 + 1000);
	ck_assert_uint_eq(s->lat[BQ_LAT_DISCARD].n, 1);
	done(h);
}
END_TEST

/* ---- faults ---- */

START_TEST(f1_ignore_flush)
{
	struct h *h = mk("device=disk-wc fault=ignore-flush");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	FLUSH(h, 2);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|11,00,00");
	ck_assert_uint_eq(h->q->st.flushes_dropped, 1);
	done(h);
}
END_TEST

/* bq_write_may_be_lost (the fs model's M8): true until the write is
 * durable -- on disk-wc a flush after its completion; on disk-wt its
 * completion; never with ignore-flush; on pmem at its completion (B12 below)
 * -- and the durable counter moves whenever an answer can turn false. */
START_TEST(write_may_be_lost_follows_durability)
{
	struct h *h = mk("device=disk-wc");
	uint64_t g;

	W(h, 1, 0, 0x11);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 9, 0, 512));	/* no such write */
	ck_assert(!bq_write_may_be_lost(h->q, 1, 512, 512));	/* not in the range */
	WAIT(h, 1);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));	/* cached (B1) */
	g = bq_durable_gen(h->q);
	FLUSH(h, 2);
	WAIT(h, 2);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert_uint_ne(bq_durable_gen(h->q), g);
	done(h);

	h = mk("device=disk-wt");
	W(h, 1, 0, 0x11);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));	/* in flight (B7) */
	WAIT(h, 1);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);

	h = mk("device=disk-wc fault=ignore-flush");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	g = bq_durable_gen(h->q);
	FLUSH(h, 2);
	WAIT(h, 2);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));	/* F1 */
	ck_assert_uint_eq(bq_durable_gen(h->q), g);
	done(h);

	h = mk("device=pmem");
	W(h, 1, 0, 0x11);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);
}
END_TEST

/* Write back the lines of [off, off+len) as another path would (DAX's
 * clwb loop), then fence: sfence only, or the persist fence (+ pcommit). */
static void clwb_range(struct h *h, uint64_t off, uint64_t len, bool persist)
{
	for (uint64_t a = off; a < off + len; a += 64)
		ck_assert_int_eq(cache_cpu_op(h->cache, TRACE_CLWB, 0, a, 0, NULL, 0), 0);
	if (persist)
		ck_assert_int_eq(cache_persist_fence(h->cache, 0, 0), 0);
	else
		ck_assert_int_eq(cache_cpu_op(h->cache, TRACE_SFENCE, 0, 0, 0, NULL, 0), 0);
}

/* B12: on the pmem drivers a write may be lost exactly while some line
 * of its range still holds its copy's store (or an older one) in the CPU
 * cache, the WPQ of a pcommit machine, or a WC buffer -- not once the
 * line was written back after the copy, even if a later write dirtied
 * it again -- and bq_durable_gen moves whenever a store became durable. */
START_TEST(pmem_write_may_be_lost_follows_the_cache)
{
	struct h *h = mk("device=pmem-wb");
	uint64_t g;

	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));	/* dirty lines (B11) */
	ck_assert(bq_write_may_be_lost(h->q, 1, 448, 8));
	ck_assert(!bq_write_may_be_lost(h->q, 9, 0, 512));	/* no such write */
	ck_assert(!bq_write_may_be_lost(h->q, 1, 512, 512));	/* not in the range */
	g = bq_durable_gen(h->q);
	W(h, 2, 1, 0x22);
	ck_assert_uint_eq(bq_durable_gen(h->q), g);		/* nothing durable */
	FLUSH(h, 3);						/* PREFLUSH (B11) */
	WAIT(h, 3);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 2, 512, 512));
	ck_assert_uint_ne(bq_durable_gen(h->q), g);

	/* FUA writes its own lines back: durable at completion, and an
	 * older write to those lines with it */
	W(h, 4, 2, 0x44);
	WAIT(h, 4);
	WF(h, 5, 2, FUA, 0x55);
	WAIT(h, 5);
	ck_assert(!bq_write_may_be_lost(h->q, 5, 1024, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 4, 1024, 512));
	/* written back, then dirtied again by a later write: the older
	 * write is durable, the later one may be lost */
	W(h, 6, 2, 0x66);
	WAIT(h, 6);
	ck_assert(!bq_write_may_be_lost(h->q, 4, 1024, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 5, 1024, 512));
	ck_assert(bq_write_may_be_lost(h->q, 6, 1024, 512));

	/* another path's clwb + fence (DAX, or an eviction) writes lines
	 * back too, line by line: the write is durable where they were */
	W(h, 7, 3, 0x77);
	WAIT(h, 7);
	g = bq_durable_gen(h->q);
	clwb_range(h, 1536, 64, true);
	ck_assert_uint_ne(bq_durable_gen(h->q), g);
	ck_assert(bq_write_may_be_lost(h->q, 7, 1536, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 7, 1536, 64));
	ck_assert(bq_write_may_be_lost(h->q, 7, 1600, 64));
	clwb_range(h, 1600, 448, true);
	ck_assert(!bq_write_may_be_lost(h->q, 7, 1536, 512));
	W(h, 8, 3, 0x88);
	WAIT(h, 8);
	ck_assert(!bq_write_may_be_lost(h->q, 7, 1536, 512));
	ck_assert(bq_write_may_be_lost(h->q, 8, 1536, 512));
	/* a reused id: every pending write with that id in the range */
	W(h, 1, 4, 0x99);
	WAIT(h, 1);
	ck_assert(bq_write_may_be_lost(h->q, 1, 2048, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);

	/* many writes: the table is pruned, the answers stay */
	h = mk("device=pmem-wb");
	for (uint64_t i = 0; i < 300; i++) {
		W(h, 100 + i, i, (uint8_t)i);
		WAIT(h, 100 + i);
		if (i % 3 == 0)
			clwb_range(h, i * 512, 512, true);
	}
	for (uint64_t i = 0; i < 300; i++)
		ck_assert(bq_write_may_be_lost(h->q, 100 + i, i * 512, 512) == (i % 3 != 0));
	ck_assert_uint_lt(h->q->npw, 300);
	done(h);

	/* pcommit machine: clwb + sfence reach only the volatile WPQ (C11);
	 * the driver's PREFLUSH fences with pcommit */
	h = mk("device=pmem-wb machine=pcommit");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	clwb_range(h, 0, 512, false);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	FLUSH(h, 2);
	WAIT(h, 2);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);

	/* eadr: the caches are durable (C12) */
	h = mk("device=pmem-wb machine=eadr");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);

	/* F3 on pmem-wb: FUA's clwb without its fence guarantees nothing
	 * (C5) until the next PREFLUSH's fence */
	h = mk("device=pmem-wb fault=early-complete");
	WF(h, 1, 0, FUA, 0x11);
	WAIT(h, 1);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	FLUSH(h, 2);
	WAIT(h, 2);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	done(h);

	/* F1 on pmem-wb: the PREFLUSH writes nothing back */
	h = mk("device=pmem-wb fault=ignore-flush");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	g = bq_durable_gen(h->q);
	FLUSH(h, 2);
	WAIT(h, 2);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert_uint_eq(bq_durable_gen(h->q), g);
	done(h);

	/* pmem (B10): fenced inside the submission */
	h = mk("device=pmem");
	W(h, 1, 0, 0x11);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert_uint_eq(h->q->npw, 0);
	done(h);

	/* F3 on pmem: the non-temporal stores wait in the WC buffers for the
	 * driver's next fence (C8), which never comes: the next fence on
	 * cpu 0, whoever issues it, makes them durable.  A later write's
	 * pieces to the same lines do not hide the earlier ones. */
	h = mk("device=pmem fault=early-complete");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	W(h, 2, 0, 0x22);
	ck_assert(bq_write_may_be_lost(h->q, 1, 0, 512));
	g = bq_durable_gen(h->q);
	ck_assert_int_eq(cache_persist_fence(h->cache, 0, 0), 0);
	ck_assert_uint_ne(bq_durable_gen(h->q), g);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert(!bq_write_may_be_lost(h->q, 2, 0, 512));
	W(h, 3, 0, 0x33);
	ck_assert(!bq_write_may_be_lost(h->q, 1, 0, 512));
	ck_assert(bq_write_may_be_lost(h->q, 3, 0, 512));
	done(h);
}
END_TEST

START_TEST(f2_ignore_fua)
{
	struct h *h = mk("device=disk-wc fault=ignore-fua");
	WF(h, 1, 0, FUA, 0x11);
	WAIT(h, 1);
	EXPECT(h, "00,00,00|11,00,00");
	done(h);
}
END_TEST

START_TEST(f3_early_complete)
{
	struct h *h = mk("device=disk-wc fault=early-complete");
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	FLUSH(h, 2);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|11,00,00");
	FLUSH(h, 3);
	WAIT(h, 3);
	EXPECT(h, "11,00,00");
	ck_assert_uint_eq(h->q->st.late_arrivals, 1);
	done(h);
}
END_TEST

START_TEST(f4_reorder_across_flush)
{
	struct h *h = mk("device=disk-wc fault=reorder-across-flush");
	h->collect = true;
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	WF(h, 2, 1, PF, 0x22);
	WAIT(h, 2);
	EXPECT(h, "00,00,00|00,22,00|11,00,00|11,22,00");
	done(h);
}
END_TEST

/* ---- pmem drivers ---- */

START_TEST(b10_pmem_sync)
{
	struct h *h = mk("device=pmem");
	uint8_t b[512];
	W(h, 1, 0, 0x11);
	EXPECT(h, "11,00,00");
	bq_read(h->q, 0, b, sizeof(b));
	ck_assert_uint_eq(b[0], 0x11);
	WAIT(h, 1);
	ck_assert_int_eq(bq_wait(h->q, 1), -1);
	done(h);
}
END_TEST

START_TEST(b11_pmemwb_flush_and_fua)
{
	struct h *h = mk("device=pmem-wb");
	uint8_t b[512];
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	media_read(h->media, 0, b, sizeof(b));
	ck_assert_uint_eq(b[0], 0x00);		/* still in the CPU cache */
	bq_read(h->q, 0, b, sizeof(b));
	ck_assert_uint_eq(b[0], 0x11);		/* but a read sees it */
	FLUSH(h, 2);
	WAIT(h, 2);
	EXPECT(h, "11,00,00");
	WF(h, 3, 1, FUA, 0x22);
	WAIT(h, 3);
	EXPECT(h, "11,22,00");
	done(h);
}
END_TEST

/* ---- the example plugin against what it imitates ---- */

static void scenario(struct h *h)
{
	h->collect = true;
	W(h, 1, 0, 0x11);
	WAIT(h, 1);
	WF(h, 2, 1, PF | FUA, 0x22);
	W(h, 3, 2, 0x33);
	WAIT(h, 2);
	FLUSH(h, 4);
	WAIT(h, 4);
	WAITALL(h);
}

static void same_as(const char *builtin, const char *plugin_settings)
{
	char a[4096];
	struct h *h = mk(builtin);
	scenario(h);
	snprintf(a, sizeof(a), "%s", outcomes(h));
	done(h);
	bq_device_force(&bq_plugin_entry);
	h = mk(plugin_settings);
	bq_device_force(NULL);
	scenario(h);
	ck_assert_str_eq(outcomes(h), a);
	done(h);
}

START_TEST(plugin_bbwc_imitates)
{
	same_as("device=disk-wt", "plugin.arg=0");
	same_as("device=disk-wc", "plugin.arg=1");
	same_as("device=disk-wc fault=ignore-flush", "plugin.arg=1 fault=ignore-flush");
	same_as("device=disk-wc fault=early-complete", "plugin.arg=1 fault=early-complete");
	same_as("device=disk-wc block-semantics=barrier", "plugin.arg=1 block-semantics=barrier");
}
END_TEST

START_TEST(plugin_loader_checks)
{
	struct bq_plugin bad = bq_plugin_entry;
	struct h *h = calloc(1, sizeof(*h));
	char err[256];
	void *q = NULL;

	sim_config_init(&h->cfg);
	ck_assert_int_eq(media_create(&h->media, 1 << 20), 0);
	h->env = (struct sim_env){ .cfg = &h->cfg, .clock = &h->clock, .media = h->media,
				   .err = &h->err, .step = on_step, .step_ctx = h };
	bad.api_version = 99;
	bq_device_force(&bad);
	ck_assert_int_eq(bq_model_kind.create(&q, &h->env), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "API version 99"));
	bad = bq_plugin_entry;
	bad.write = NULL;
	ck_assert_int_eq(bq_model_kind.create(&q, &h->env), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "write()"));
	bq_device_force(&bq_plugin_entry);
	ck_assert_int_eq(sim_config_set(&h->cfg, "plugin.arg", "7", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(bq_model_kind.create(&q, &h->env), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "plugin.arg"));
	bq_device_force(NULL);

	/* the real loader, on the built plugin when there is one */
	if (access("build/plugins/bbwc.so", R_OK) == 0) {
		ck_assert_int_eq(sim_config_set(&h->cfg, "plugin.arg", "1", SIM_FROM_FLAG, err, sizeof(err)), 0);
		ck_assert_int_eq(sim_config_set(&h->cfg, "device", "build/plugins/bbwc.so", SIM_FROM_FLAG, err, sizeof(err)), 0);
		if (bq_model_kind.create(&q, &h->env))
			ck_abort_msg("%s", h->err.msg);
		ck_assert_str_eq(((struct bq_queue *)q)->dev.ops->name, "bbwc");
		bq_model_kind.ops->destroy(q);
	} else {
		fprintf(stderr, "check_blockq: build/plugins/bbwc.so not built; dlopen path untested\n");
	}
	ck_assert_int_eq(sim_config_set(&h->cfg, "device", "./no-such-plugin.so", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(bq_model_kind.create(&q, &h->env), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "no-such-plugin.so"));
	media_destroy(h->media);
	free(h);
}
END_TEST

/* ---- edges ---- */

START_TEST(errors)
{
	struct h *h = mk("device=disk-wc");
	W(h, 1, 0, 0x11);
	ck_assert_int_eq(bio(h, 1, TRACE_BIO_WRITE, 1, 512, 0, 0x22), -1);
	ck_assert_str_eq(h->err.msg, "bio id=1 is already in flight");
	ck_assert_int_eq(bq_wait(h->q, 9), -1);
	ck_assert_str_eq(h->err.msg, "wait id=9: bio 9 is not in flight (never submitted, "
			 "or already waited for)");
	ck_assert_int_eq(bio(h, 2, TRACE_BIO_WRITE, 2048, 512, 0, 0x22), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "beyond the device"));
	ck_assert_int_eq(bio(h, 3, TRACE_BIO_WRITE, 0, 100, 0, 0x22), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "multiple of 512"));
	for (int i = 0; i < BQ_UNIT_MAX_VERSIONS - 1; i++)
		W(h, 10 + i, 0, 0x20);
	ck_assert_int_eq(bio(h, 99, TRACE_BIO_WRITE, 0, 512, 0, 0x22), -1);
	ck_assert_ptr_nonnull(strstr(h->err.msg, "pending writes"));
	done(h);
}
END_TEST

START_TEST(read_current_and_describe)
{
	struct h *h = mk("device=disk-wc");
	const struct sim_crash_ops *ops = bq_model_kind.ops->crash;
	uint8_t b[1024];
	char d[256];

	W(h, 1, 1, 0x11);
	W(h, 2, 0, 0x22);
	W(h, 3, 1, 0x33);
	bq_read(h->q, 0, b, sizeof(b));
	ck_assert_uint_eq(b[0], 0x22);
	ck_assert_uint_eq(b[600], 0x33);	/* submission order */
	ck_assert_uint_eq(bq_in_flight(h->q), 3);
	ck_assert_uint_eq(ops->ngroups(h->q), 2);
	ck_assert_uint_eq(ops->nchoices(h->q, 0), 2);
	ck_assert_uint_eq(ops->nchoices(h->q, 1), 3);	/* base, 11, 33 */
	ops->describe(h->q, 1, 1, d, sizeof(d));
	ck_assert_ptr_nonnull(strstr(d, "device bytes 512..1023"));
	ck_assert_ptr_nonnull(strstr(d, "bio 1"));
	ops->describe(h->q, 0, 0, d, sizeof(d));
	ck_assert_ptr_nonnull(strstr(d, "none of"));
	done(h);
}
END_TEST

START_TEST(report_and_cycles)
{
	struct h *h = mk("device=disk-wc bq.depth=1");
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	W(h, 1, 0, 0x11);
	W(h, 2, 1, 0x22);	/* depth 1: stalls for bio 1's tag */
	ck_assert_uint_gt(h->q->st.stall_cycles, 0);
	WAITALL(h);
	ck_assert_uint_gt(h->clock.now, 60000);
	f = open_memstream(&buf, &len);
	bq_model_kind.ops->report(h->q, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "bq.bios: 2\n"));
	ck_assert_ptr_nonnull(strstr(buf, "bq.device: disk-wc\n"));
	free(buf);
	ck_assert_uint_ge(h->steps, 4);
	done(h);
}
END_TEST

START_TEST(random_order_same_outcomes)
{
	char a[4096];
	struct h *h = mk("device=disk-wc");
	scenario(h);
	snprintf(a, sizeof(a), "%s", outcomes(h));
	done(h);
	h = mk("device=disk-wc bq.order=random bq.seed=7");
	scenario(h);
	ck_assert_str_eq(outcomes(h), a);
	done(h);
}
END_TEST

/* The media's first 16 KiB (FNV-1a over words) and the bytes written so far, at
 * each step. */
#define TRAIL_MAX 20000
static void trail_now(struct h *h)
{
	static uint64_t b[16384 / 8];
	uint64_t x = 0xcbf29ce484222325ull;

	media_read(h->media, 0, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b) / 8; i++)
		x = (x ^ b[i]) * 0x100000001b3ull;
	ck_assert_uint_lt(h->ntrail + 1, TRAIL_MAX);
	h->trail[h->ntrail++] = x;
	h->trail[h->ntrail++] = media_bytes_written(h->media);
}

/* A seeded stream of writes (some of 512 bytes inside larger units, so
 * that four or more versions of a unit may land), flushes, PREFLUSH and
 * FUA, discards and waits over the first 16 KiB (NARROW: single sectors
 * of the first 4 KiB, after seed % 8 concurrent writes to sectors 0, 1,
 * ...), applied to M up to the
 * first call refused (as `run` stops there).  Returns 1 if one was, its
 * message in M->err, else 0. */
static unsigned random_stream(struct h *m, uint64_t seed, bool narrow)
{
	uint64_t x = seed, inflight[8], id = 1;
	unsigned n = 0;

	/* NARROW starts with seed % 8 concurrent writes to the first
	 * sectors: from 4 of them canon_only() hands the unit to the walk
	 * (a unit of 4 KiB: 7 give 128 images, refused) */
	for (; narrow && id <= seed % 8; id++) {
		if (bio(m, id, TRACE_BIO_WRITE, id - 1, 512, 0, (uint8_t)id))
			return 1;
		inflight[n++] = id;
	}
	for (; id < 400; id++) {
		uint64_t r = trace_splitmix64(&x);
		unsigned k = (unsigned)(r % 100);
		int rc = 0;
		if (k < 60 && n < 8) {
			uint32_t fl = (r >> 8) % 5 == 0 ? PF : (r >> 8) % 5 == 1 ? FUA :
				      (r >> 8) % 5 == 2 ? (PF | FUA) : 0;
			uint64_t sec = (r >> 16) % (narrow ? 8 : 32);
			uint64_t len = narrow ? 512 : 512 * (1 + (r >> 24) % 4);
			enum trace_bio_op op = (r >> 32) % 10 == 0 ? TRACE_BIO_FLUSH :
					       (r >> 32) % 10 == 1 ? TRACE_BIO_DISCARD :
					       TRACE_BIO_WRITE;
			if (op == TRACE_BIO_FLUSH)
				fl = PF;
			if (sec * 512 + len > 16384)
				len = 16384 - sec * 512;
			rc = bio(m, id, op, sec, len, fl, (uint8_t)(r >> 40));
			if (!rc)
				inflight[n++] = id;
		} else if (k < 85 && n) {
			unsigned i = (unsigned)((r >> 8) % n);
			rc = bq_wait(m->q, inflight[i]);
			inflight[i] = inflight[--n];
		} else {
			rc = bq_wait_all(m->q);
			n = 0;
		}
		if (rc)
			return 1;
	}
	return 0;
}

/*
 * Under env.no_crash_states (`powercut run`) blockq keeps only each
 * unit's choice 0 on the media (bq_crash.c, canon_only) instead of
 * enumerating every choice: at every step the media, the bytes written
 * to it and each refusal must be what the full enumeration gives.
 */
START_TEST(run_mode_same_media)
{
	static const char *const cfg[] = {
		"device=disk-wc", "device=disk-wc disk.atomic_unit=4096",
		"device=disk-wc disk.atomic_unit=2048 disk.cache_size=4096",
		"device=disk-wc fault=early-complete", "device=disk-wc block-semantics=barrier",
		"device=disk-wc fault=reorder-across-flush disk.atomic_unit=4096",
		"device=disk-wt",
	};
	unsigned refused = 0, enumerated = 0, steps = 0;

	for (unsigned c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++)
		for (uint64_t seed = 1; seed <= 16; seed++) {
			struct h *a = mk_mode(cfg[c], false), *b = mk_mode(cfg[c], true);
			unsigned na, nb;
			a->trail = calloc(TRAIL_MAX, sizeof(*a->trail));
			b->trail = calloc(TRAIL_MAX, sizeof(*b->trail));
			bool narrow = seed % 2 == 0;
			na = random_stream(a, seed, narrow);
			nb = random_stream(b, seed, narrow);
			ck_assert_uint_eq(na, nb);
			ck_assert_str_eq(a->err.msg, b->err.msg);
			ck_assert_uint_eq(a->ntrail, b->ntrail);
			steps += a->ntrail / 2;
			for (unsigned i = 0; i < a->ntrail; i++)
				ck_assert_msg(a->trail[i] == b->trail[i], "%s seed %" PRIu64
					      ": step %u differs", cfg[c], seed, i / 2);
			refused += na;
			enumerated += a->q->overflow_unit != UINT64_MAX;
			free(a->trail);
			free(b->trail);
			a->trail = b->trail = NULL;
			done(a);
			done(b);
		}
	ck_assert_uint_gt(steps, 20000);
	ck_assert_uint_gt(refused, 0);	/* the refusals were exercised too */
	ck_assert_uint_gt(enumerated, 0);	/* and the walk's own refusal */
}
END_TEST

START_TEST(map_put_get_del)
{
	struct bq_map m;
	uint64_t x = 1;
	ck_assert_int_eq(bq_map_init(&m, 4), 0);
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_int_eq(bq_map_put(&m, i * 7, (void *)(uintptr_t)(i + 1)), 0);
	for (uint64_t i = 0; i < 5000; i += 2)
		bq_map_del(&m, i * 7);
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_ptr_eq(bq_map_get(&m, i * 7), i % 2 ? (void *)(uintptr_t)(i + 1) : NULL);
	ck_assert_uint_eq(m.n, 2500);
	for (int i = 0; i < 10000; i++) {
		uint64_t k = trace_splitmix64(&x) % 3000;
		if (i % 3)
			bq_map_put(&m, k, &m);
		else
			bq_map_del(&m, k);
	}
	bq_map_fini(&m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("blockq");
	TCase *rules = tcase_create("rules"), *faults = tcase_create("faults");
	TCase *dev = tcase_create("devices"), *edge = tcase_create("edges");
	TCase *run = tcase_create("run");

	tcase_add_test(rules, b1_completed_write_is_volatile);
	tcase_add_test(rules, b2_flush_covers_completed_only);
	tcase_add_test(rules, b2_preflush_orders_at_every_point);
	tcase_add_test(rules, b2_preflush_nothing_to_flush_not_held);
	tcase_add_test(rules, b3_fua_own_data_only);
	tcase_add_test(rules, b4_same_sector_unordered);
	tcase_add_test(rules, b4_three_way_concurrency);
	tcase_add_test(rules, b4_wait_orders);
	tcase_add_test(rules, b4_durable_then_concurrent_overlap);
	tcase_add_test(rules, b5_barrier_drain_and_hold);
	tcase_add_test(rules, b5_wait_after_drain);
	tcase_add_test(rules, b6_emulated_fua_postflush);
	tcase_add_test(rules, b7_b8_torn_and_atomic);
	tcase_add_test(rules, b8_subunit_merge);
	tcase_add_test(rules, b9_cache_full_destages_oldest);
	tcase_add_test(rules, b9_destages_several_oldest_first);
	tcase_add_test(rules, discard_reads_zero);
	tcase_add_test(rules, bio_latency_classes);
	suite_add_tcase(s, rules);
	tcase_add_test(faults, f1_ignore_flush);
	tcase_add_test(faults, f2_ignore_fua);
	tcase_add_test(faults, f3_early_complete);
	tcase_add_test(faults, f4_reorder_across_flush);
	tcase_add_test(faults, write_may_be_lost_follows_durability);
	suite_add_tcase(s, faults);
	tcase_add_test(dev, b10_pmem_sync);
	tcase_add_test(dev, b11_pmemwb_flush_and_fua);
	tcase_add_test(dev, pmem_write_may_be_lost_follows_the_cache);
	tcase_add_test(dev, plugin_bbwc_imitates);
	tcase_add_test(dev, plugin_loader_checks);
	suite_add_tcase(s, dev);
	tcase_add_test(edge, errors);
	tcase_add_test(edge, read_current_and_describe);
	tcase_add_test(edge, report_and_cycles);
	tcase_add_test(edge, random_order_same_outcomes);
	tcase_add_test(edge, map_put_get_del);
	suite_add_tcase(s, edge);
	/* the walk over 4 KiB units of 4-7 versions: ~2 s, more under SAN */
	tcase_add_test(run, run_mode_same_media);
	tcase_set_timeout(run, 300);
	suite_add_tcase(s, run);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? 1 : 0;
}
