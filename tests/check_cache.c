/*
 * check_cache.c — unit tests of cache/: the hierarchy (hits, misses,
 * evictions with tiny caches), the replacement policies, every persistency
 * rule C1-C16 of cache/cache.c through the crash-state interface with the
 * exact set of states, cycles, and the edge checks.
 *
 * The crash-state tests enumerate every state of the model's groups (the
 * product of their choices), lay each state's emitted bytes over a copy
 * of the base region, and compare the sorted set of distinct region
 * contents with the set the rule allows, written out by hand.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "cache/cache_int.h"
#include "sim/config.h"
#include "sim/crash.h"
#include "sim/media.h"
#include "sim/model.h"
#include "traces/trace.h"

/* ---- a machine with only the cache model ---- */

struct h {
	struct sim_config cfg;
	struct sim_clock clock;
	struct media *media;
	struct sim_err err;
	struct sim_env env;
	void *m;
	unsigned steps;
};

static void count_step(void *ctx, const char *what)
{
	(void)what;
	((struct h *)ctx)->steps++;
}

/* SETTINGS: "key=value key=value", machine as "machine=eadr". */
static struct h *mk(const char *settings)
{
	struct h *h = calloc(1, sizeof(*h));
	char buf[512], err[256], *save = NULL;

	ck_assert_ptr_nonnull(h);
	sim_config_init(&h->cfg);
	ck_assert_int_eq(sim_config_set(&h->cfg, "pmem.size", "1M", SIM_FROM_FLAG, err, sizeof(err)), 0);
	snprintf(buf, sizeof(buf), "%s", settings ? settings : "");
	for (char *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		if (sim_config_set(&h->cfg, kv, eq + 1, SIM_FROM_FLAG, err, sizeof(err)))
			ck_abort_msg("%s", err);
	}
	ck_assert_int_eq(media_create(&h->media, sim_param(&h->cfg, "pmem.size")), 0);
	h->env = (struct sim_env){ .cfg = &h->cfg, .clock = &h->clock, .media = h->media,
				   .err = &h->err, .step = count_step, .step_ctx = h };
	if (cache_model_create(&h->m, &h->env))
		ck_abort_msg("create: %s", h->err.msg);
	return h;
}

static void done(struct h *h)
{
	const char *why = cache_check_invariants(h->m);
	if (why)
		ck_abort_msg("invariant: %s", why);
	cache_model_ops.destroy(h->m);
	media_destroy(h->media);
	free(h);
}

static int ev_full(struct h *h, enum trace_op op, uint32_t cpu, uint64_t addr,
		   uint64_t len, enum trace_payload_kind kind, uint64_t arg)
{
	struct trace_event ev;
	const char *why;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.op = op;
	ev.cpu = cpu;
	ev.line = 1;
	ev.fields = TRACE_F_CPU;
	if (op == TRACE_STORE || op == TRACE_NTSTORE || op == TRACE_LOAD || op == TRACE_RMW) {
		ev.fields |= TRACE_F_ADDR | TRACE_F_LEN;
		ev.addr = addr;
		ev.len = len;
	} else if (op == TRACE_CLFLUSH || op == TRACE_CLFLUSHOPT || op == TRACE_CLWB) {
		ev.fields |= TRACE_F_ADDR;
		ev.addr = addr;
	}
	if (kind != TRACE_PAYLOAD_NONE) {
		ev.fields |= kind == TRACE_PAYLOAD_VAL ? TRACE_F_VAL : TRACE_F_DATA;
		ev.data.kind = kind;
		ev.data.len = len;
		ev.data.arg = arg;
	}
	rc = cache_model_ops.event(h->m, &ev);
	why = cache_check_invariants(h->m);
	if (why)
		ck_abort_msg("invariant after %s: %s", trace_op_name(op), why);
	return rc;
}

/* store / ntstore / rmw of LEN <= 8 bytes of value V, or a fill for more. */
static void st(struct h *h, uint32_t cpu, uint64_t a, uint64_t len, uint64_t v)
{
	ck_assert_int_eq(ev_full(h, TRACE_STORE, cpu, a, len,
				 len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, v), 0);
}
static void nt(struct h *h, uint32_t cpu, uint64_t a, uint64_t len, uint64_t v)
{
	ck_assert_int_eq(ev_full(h, TRACE_NTSTORE, cpu, a, len,
				 len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, v), 0);
}
static void rmw(struct h *h, uint32_t cpu, uint64_t a, uint64_t len, uint64_t v)
{
	ck_assert_int_eq(ev_full(h, TRACE_RMW, cpu, a, len, TRACE_PAYLOAD_VAL, v), 0);
}
static void ld(struct h *h, uint32_t cpu, uint64_t a, uint64_t len)
{
	ck_assert_int_eq(ev_full(h, TRACE_LOAD, cpu, a, len, TRACE_PAYLOAD_NONE, 0), 0);
}
static void op(struct h *h, enum trace_op o, uint32_t cpu, uint64_t a)
{
	ck_assert_int_eq(ev_full(h, o, cpu, a, 0, TRACE_PAYLOAD_NONE, 0), 0);
}

/* ---- enumerating crash states ---- */

struct region {
	uint64_t off;
	uint8_t *buf;
	size_t n;
};

static void emit_region(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct region *r = ctx;
	const uint8_t *b = bytes;

	for (size_t i = 0; i < n; i++)
		if (off + i >= r->off && off + i < r->off + r->n)
			r->buf[off + i - r->off] = b[i];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every distinct content of the bytes at the WORDS u64 addresses (decimal,
 * comma-separated per state), one state per line, sorted: "0,0\n1,0\n".
 * Returned string is static.
 */
static const char *states(struct h *h, const uint64_t *addr, size_t nw)
{
	static char out[1 << 16];
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	size_t ng = ops->ngroups(h->m), nstates = 1, nlines = 0, o = 0;
	uint32_t *ch = calloc(ng + 1, sizeof(*ch));
	char **lines;

	for (size_t g = 0; g < ng; g++) {
		uint32_t n = ops->nchoices(h->m, g);
		ck_assert_uint_ge(n, 1);
		nstates *= n;
		ck_assert_uint_le(nstates, 1u << 16);
	}
	lines = calloc(nstates, sizeof(*lines));
	for (size_t s = 0; s < nstates; s++) {
		char line[512];
		size_t lo = 0;
		for (size_t w = 0; w < nw; w++) {
			uint8_t b[8];
			uint64_t v = 0;
			struct region r = { .off = addr[w], .buf = b, .n = 8 };
			media_read(h->media, addr[w], b, 8);
			for (size_t g = 0; g < ng; g++)
				ops->apply(h->m, g, ch[g], emit_region, &r);
			for (int i = 7; i >= 0; i--)
				v = v << 8 | b[i];
			lo += (size_t)snprintf(line + lo, sizeof(line) - lo, "%s%" PRIu64,
					       w ? "," : "", v);
		}
		lines[nlines++] = strdup(line);
		/* odometer */
		for (size_t g = 0; g < ng; g++) {
			if (++ch[g] < ops->nchoices(h->m, g))
				break;
			ch[g] = 0;
		}
	}
	qsort(lines, nlines, sizeof(*lines), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < nlines; i++) {
		if (i && !strcmp(lines[i], lines[i - 1]))
			continue;
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", lines[i]);
	}
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(ch);
	return out;
}

static const char *states1(struct h *h, uint64_t a)
{
	return states(h, &a, 1);
}

static const char *states2(struct h *h, uint64_t a, uint64_t b)
{
	uint64_t w[2] = { a, b };
	return states(h, w, 2);
}

static uint64_t durable_u64(struct h *h, uint64_t a)
{
	uint8_t b[8];
	uint64_t v = 0;

	media_read(h->media, a, b, 8);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint64_t current_u64(struct h *h, uint64_t a)
{
	uint8_t b[8];
	uint64_t v = 0;

	cache_read_current(h->m, a, b, 8);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static struct cache_model *M(struct h *h)
{
	return h->m;
}

/* ---- the hierarchy ---- */

/* L1D of 2 sets x 2 ways, no L2, LLC of 4 sets x 2 ways: lines 0, 2, 4
 * share L1 set 0. */
#define TINY "l1d.size=256 l1d.ways=2 l2.size=0 llc.size=512 llc.ways=2"

START_TEST(hier_hits_misses_lru)
{
	struct h *h = mk(TINY);
	struct cache_model *m = M(h);

	ld(h, 0, 0, 8);			/* line 0: miss, miss */
	ld(h, 0, 8, 8);			/* hit */
	ld(h, 0, 128, 8);		/* line 2: L1 set 0 way 2 */
	ld(h, 0, 0, 8);			/* hit, line 0 now MRU */
	ld(h, 0, 256, 8);		/* line 4: evicts line 2 (LRU) */
	ld(h, 0, 0, 8);			/* hit */
	ld(h, 0, 128, 8);		/* miss in L1, hit in LLC */
	ck_assert_uint_eq(m->cpu[0].lv[CACHE_L1D].hits, 3);
	ck_assert_uint_eq(m->cpu[0].lv[CACHE_L1D].misses, 4);
	ck_assert_uint_eq(m->llc.hits, 1);
	ck_assert_uint_eq(m->llc.misses, 3);
	done(h);
}
END_TEST

START_TEST(hier_straddle_counts_two_lines)
{
	struct h *h = mk(TINY);

	ld(h, 0, 60, 8);			/* lines 0 and 1 */
	ck_assert_uint_eq(M(h)->cpu[0].lv[CACHE_L1D].misses, 2);
	done(h);
}
END_TEST

START_TEST(hier_plru)
{
	/* 4 ways, 1 set: fill 0..3, touch 0 then 2; PLRU's victim is then in
	 * the half not touched last at each node: ways 0,1 | 2,3 -> root
	 * points left (2 touched last) ... -> way 1 (line 1). */
	struct h *h = mk("l1d.size=256 l1d.ways=4 l2.size=0 llc.size=0 cache.policy=plru");
	struct cache_model *m = M(h);

	for (int i = 0; i < 4; i++)
		ld(h, 0, (uint64_t)i * 64, 1);
	ld(h, 0, 0, 1);
	ld(h, 0, 128, 1);
	ld(h, 0, 256, 1);			/* line 4 evicts line 1 */
	ld(h, 0, 0, 1);				/* hit */
	ld(h, 0, 128, 1);			/* hit */
	ld(h, 0, 192, 1);			/* hit (line 3) */
	ck_assert_uint_eq(m->cpu[0].lv[0].hits, 5);
	ld(h, 0, 64, 1);			/* miss: line 1 was the victim */
	ck_assert_uint_eq(m->cpu[0].lv[0].misses, 6);
	done(h);
}
END_TEST

START_TEST(hier_lru_vs_plru_differ)
{
	/* LRU evicts line 0 here (order 1,2,3,0 used: 0 is LRU after 1,2,3 touched) */
	struct h *h = mk("l1d.size=256 l1d.ways=4 l2.size=0 llc.size=0");

	for (int i = 0; i < 4; i++)
		ld(h, 0, (uint64_t)i * 64, 1);
	ld(h, 0, 64, 1);
	ld(h, 0, 128, 1);
	ld(h, 0, 192, 1);
	ld(h, 0, 256, 1);			/* evicts line 0 */
	ld(h, 0, 64, 1);
	ck_assert_uint_eq(M(h)->cpu[0].lv[0].hits, 4);
	ld(h, 0, 0, 1);
	ck_assert_uint_eq(M(h)->cpu[0].lv[0].misses, 6);
	done(h);
}
END_TEST

START_TEST(hier_random_seeded)
{
	uint64_t a, b, c;
	struct h *h;

	for (int run = 0; run < 3; run++) {
		h = mk(run < 2 ? "l1d.size=512 l1d.ways=8 l2.size=0 llc.size=0 cache.policy=random"
			       : "l1d.size=512 l1d.ways=8 l2.size=0 llc.size=0 cache.policy=random cache.seed=99");
		uint64_t x = 7;
		for (int i = 0; i < 2000; i++)
			ld(h, 0, (trace_splitmix64(&x) % 12) * 64, 1);
		if (run == 0)
			a = M(h)->cpu[0].lv[0].misses;
		else if (run == 1)
			b = M(h)->cpu[0].lv[0].misses;
		else
			c = M(h)->cpu[0].lv[0].misses;
		done(h);
	}
	ck_assert_uint_eq(a, b);		/* same seed, same result */
	ck_assert_uint_gt(a, 0);
	(void)c;
}
END_TEST

START_TEST(hier_bad_geometry)
{
	struct sim_config cfg;
	struct sim_clock clk = { 0 };
	struct sim_err err;
	struct media *med;
	struct sim_env env;
	char e[256];
	void *m;

	sim_config_init(&cfg);
	ck_assert_int_eq(sim_config_set(&cfg, "l1d.size", "96K", SIM_FROM_FLAG, e, sizeof(e)), 0);
	ck_assert_int_eq(media_create(&med, 1 << 20), 0);
	env = (struct sim_env){ .cfg = &cfg, .clock = &clk, .media = med, .err = &err,
				.step = count_step, .step_ctx = NULL };
	ck_assert_int_eq(cache_model_create(&m, &env), -1);
	ck_assert_str_eq(err.msg, "l1d: 192 sets (size / (line x ways)) is not a power of two");
	sim_config_init(&cfg);
	ck_assert_int_eq(sim_config_set(&cfg, "l1d.ways", "6", SIM_FROM_FLAG, e, sizeof(e)), 0);
	ck_assert_int_eq(sim_config_set(&cfg, "l1d.size", "24K", SIM_FROM_FLAG, e, sizeof(e)), 0);
	ck_assert_int_eq(sim_config_set(&cfg, "cache.policy", "plru", SIM_FROM_FLAG, e, sizeof(e)), 0);
	ck_assert_int_eq(cache_model_create(&m, &env), -1);
	ck_assert_str_eq(err.msg, "l1d.ways=6: tree-PLRU needs a power of two");
	media_destroy(med);
}
END_TEST

START_TEST(edge_bad_address_and_cpu)
{
	struct h *h = mk(NULL);

	ck_assert_int_eq(ev_full(h, TRACE_STORE, 0, (1 << 20) - 4, 8, TRACE_PAYLOAD_VAL, 1), -1);
	ck_assert_str_eq(h->err.msg, "address 0xffffc is outside the pmem namespace (pmem.size=1048576)");
	ck_assert_int_eq(ev_full(h, TRACE_CLWB, 0, 1 << 20, 0, TRACE_PAYLOAD_NONE, 0), -1);
	ck_assert_int_eq(ev_full(h, TRACE_STORE, 1, 0, 8, TRACE_PAYLOAD_VAL, 1), -1);
	ck_assert_str_eq(h->err.msg, "cpu=1 but the machine has 1 CPUs (set cpus=N)");
	done(h);
}
END_TEST

/* ---- persistency rules, through the crash interface ---- */

START_TEST(c2_same_line_prefixes)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	st(h, 0, 8, 8, 2);
	st(h, 0, 0, 8, 3);
	/* prefixes of (a=1, b=2, a=3): 0,0 1,0 1,2 3,2 -- never 3,0 nor 0,2 */
	ck_assert_str_eq(states2(h, 0, 8), "0,0\n1,0\n1,2\n3,2\n");
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 1);
	ck_assert_uint_eq(cache_model_ops.crash->nchoices(h->m, 0), 4);
	ck_assert_uint_eq(current_u64(h, 0), 3);
	ck_assert_uint_eq(durable_u64(h, 0), 0);
	done(h);
}
END_TEST

START_TEST(c3_lines_independent)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	st(h, 0, 64, 8, 2);
	ck_assert_str_eq(states2(h, 0, 64), "0,0\n0,2\n1,0\n1,2\n");
	done(h);
}
END_TEST

START_TEST(c4_clflush_synchronous)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLFLUSH, 0, 0);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	st(h, 0, 64, 8, 2);
	ck_assert_str_eq(states2(h, 0, 64), "1,0\n1,2\n");
	/* a clean line: nothing to write back */
	op(h, TRACE_CLFLUSH, 0, 128);
	ck_assert_uint_eq(M(h)->st.writebacks, 1);
	done(h);
}
END_TEST

START_TEST(c5_unfenced_clwb_adds_nothing)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	st(h, 0, 64, 8, 2);
	op(h, TRACE_CLFLUSHOPT, 0, 64);
	ck_assert_str_eq(states2(h, 0, 64), "0,0\n0,2\n1,0\n1,2\n");
	ck_assert_uint_eq(durable_u64(h, 0), 0);
	done(h);
}
END_TEST

START_TEST(c5_c6_fence_completes_prefix)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	st(h, 0, 0, 8, 2);			/* after the clwb: not covered */
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_str_eq(states1(h, 0), "1\n2\n");
	op(h, TRACE_CLFLUSHOPT, 0, 0);
	op(h, TRACE_MFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "2\n");
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 0);
	done(h);
}
END_TEST

START_TEST(c6_fence_is_per_cpu)
{
	struct h *h = mk("cpus=2");

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	op(h, TRACE_SFENCE, 1, 0);		/* another CPU's fence */
	ck_assert_str_eq(states1(h, 0), "0\n1\n");
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "1\n");
	done(h);
}
END_TEST

START_TEST(c7_tearing)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 16, 0x11);			/* fill: two chunks, may tear */
	ck_assert_str_eq(states2(h, 0, 8),
			 "0,0\n0,1229782938247303441\n1229782938247303441,0\n"
			 "1229782938247303441,1229782938247303441\n");
	ck_assert_uint_eq(cache_model_ops.crash->nchoices(h->m, 0), 4);
	done(h);
	h = mk(NULL);
	st(h, 0, 64, 8, 0x0102030405060708ull);	/* aligned 8: atomic */
	ck_assert_str_eq(states1(h, 64), "0\n72623859790382856\n");
	done(h);
	h = mk(NULL);
	st(h, 0, 4, 8, 0xaaaaaaaabbbbbbbbull);	/* unaligned: tears at 8 */
	ck_assert_str_eq(states2(h, 0, 8),
			 "0,0\n0,2863311530\n13527612317570695168,0\n"
			 "13527612317570695168,2863311530\n");
	done(h);
	h = mk(NULL);
	st(h, 0, 60, 8, 0x1111111122222222ull);	/* across lines: by C3 */
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 2);
	done(h);
}
END_TEST

START_TEST(c7_tear_of_next_store_only)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	st(h, 0, 0, 16, 0x22);
	/* prefix 0: 0,0; prefix 1: 1,0; tears of store 2: (22..,0) (1,22..);
	 * prefix 2: 22..,22.. */
	ck_assert_str_eq(states2(h, 0, 8),
			 "0,0\n1,0\n1,2459565876494606882\n2459565876494606882,0\n"
			 "2459565876494606882,2459565876494606882\n");
	ck_assert_uint_eq(cache_model_ops.crash->nchoices(h->m, 0), 1 + 1 + 3);
	done(h);
}
END_TEST

START_TEST(c8_nt_subsets_and_fence)
{
	struct h *h = mk(NULL);

	nt(h, 0, 0, 8, 1);
	nt(h, 0, 8, 8, 2);
	nt(h, 0, 0, 8, 3);
	/* chunk 0: prefix of (1, 3); chunk 1: prefix of (2): 3 x 2 */
	ck_assert_str_eq(states2(h, 0, 8), "0,0\n0,2\n1,0\n1,2\n3,0\n3,2\n");
	ck_assert_uint_eq(current_u64(h, 0), 3);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states2(h, 0, 8), "3,2\n");
	done(h);
}
END_TEST

START_TEST(c8_nt_other_cpu_fence)
{
	struct h *h = mk("cpus=2");

	nt(h, 1, 0, 8, 5);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "0\n5\n");
	op(h, TRACE_SFENCE, 1, 0);
	ck_assert_str_eq(states1(h, 0), "5\n");
	done(h);
}
END_TEST

START_TEST(c9_nt_after_store_writes_line_back)
{
	struct h *h = mk(NULL);
	unsigned s0;

	st(h, 0, 0, 8, 1);
	s0 = h->steps;
	nt(h, 0, 8, 8, 2);
	ck_assert_uint_eq(durable_u64(h, 0), 1);	/* evicted, written back */
	ck_assert_uint_eq(h->steps, s0 + 1);		/* reported as a step */
	ck_assert_str_eq(states2(h, 0, 8), "1,0\n1,2\n");
	st(h, 0, 16, 8, 3);				/* drains the NT piece first */
	ck_assert_uint_eq(durable_u64(h, 8), 2);
	ck_assert_str_eq(states2(h, 8, 16), "2,0\n2,3\n");
	done(h);
}
END_TEST

START_TEST(c10_wbinvd)
{
	struct h *h = mk("cpus=2");

	st(h, 0, 0, 8, 1);
	st(h, 1, 64, 8, 2);
	nt(h, 1, 128, 8, 3);			/* cpu 1's: not completed */
	st(h, 0, 192, 8, 4);
	op(h, TRACE_CLWB, 0, 192);
	st(h, 0, 256, 8, 5);
	op(h, TRACE_WBINVD, 0, 0);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_uint_eq(durable_u64(h, 64), 2);
	ck_assert_uint_eq(durable_u64(h, 192), 4);
	ck_assert_uint_eq(durable_u64(h, 256), 5);
	ck_assert_str_eq(states1(h, 128), "0\n3\n");
	/* every cache is empty: the next load misses everywhere */
	ld(h, 0, 0, 1);
	ck_assert_uint_eq(M(h)->llc.misses, 4 + 1);	/* the ntstore bypassed it */
	done(h);
}
END_TEST

START_TEST(c11_pcommit)
{
	struct h *h = mk("machine=pcommit");

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);		/* in the WPQ: still volatile */
	ck_assert_str_eq(states1(h, 0), "0\n1\n");
	st(h, 0, 0, 8, 2);
	ck_assert_str_eq(states1(h, 0), "0\n1\n2\n");
	op(h, TRACE_PCOMMIT, 0, 0);
	ck_assert_str_eq(states1(h, 0), "0\n1\n2\n");
	op(h, TRACE_SFENCE, 0, 0);		/* pcommit + fence: 1 durable */
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_str_eq(states1(h, 0), "1\n2\n");
	done(h);
}
END_TEST

START_TEST(c11_pcommit_covers_only_wpq_at_pcommit)
{
	struct h *h = mk("machine=pcommit");

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	op(h, TRACE_PCOMMIT, 0, 0);		/* the clwb is not ordered before it */
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "0\n1\n");
	op(h, TRACE_PCOMMIT, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "1\n");
	/* NT stores stop in the WPQ too */
	nt(h, 0, 64, 8, 7);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 64), "0\n7\n");
	op(h, TRACE_PCOMMIT, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 64), "7\n");
	done(h);
}
END_TEST

START_TEST(c11_nt_pieces_reach_the_wpq_in_any_order)
{
	struct h *h = mk("machine=pcommit cache.history=4096");

	nt(h, 0, 0, 8, 1);
	nt(h, 0, 8, 8, 2);
	op(h, TRACE_SFENCE, 0, 0);	/* in the WPQ, in no guaranteed order */
	ck_assert_str_eq(states2(h, 0, 8), "0,0\n0,2\n1,0\n1,2\n");
	{
		char buf[256];
		cache_model_ops.crash->describe(h->m, 0, 3, buf, sizeof(buf));
		ck_assert_str_eq(buf, "line 0x0: nt: 0x0 0 of 1, 0x8 1 of 1; 2 in the WPQ");
	}
	nt(h, 0, 0, 8, 3);		/* stored after both were drained */
	nt(h, 0, 8, 8, 4);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states2(h, 0, 8), "0,0\n0,2\n1,0\n1,2\n1,4\n3,2\n3,4\n");
	/* rounds of a whole line: each adds 2^8 - 1 down-sets, not 256^k */
	for (int k = 0; k < 10; k++) {
		nt(h, 0, 64, 64, (uint64_t)k);	/* a fill of byte k */
		op(h, TRACE_SFENCE, 0, 0);
	}
	ck_assert_uint_eq(cache_model_ops.crash->nchoices(h->m, 1), 1 + 10 * 255);
	ck_assert_uint_eq(M(h)->st.capacity_writebacks, 0);
	op(h, TRACE_PCOMMIT, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states2(h, 0, 8), "3,4\n");
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 0);
	done(h);
}
END_TEST

START_TEST(c11_fence_leaves_other_cpus_nt_in_wc)
{
	struct h *h = mk("machine=pcommit cpus=2");

	nt(h, 1, 8, 8, 2);		/* older, another chunk, cpu 1 */
	nt(h, 0, 0, 8, 1);
	op(h, TRACE_SFENCE, 0, 0);	/* cpu 0's piece only */
	nt(h, 0, 16, 8, 3);		/* after it: 3 only with 1 */
	{
		uint64_t w[3] = { 0, 8, 16 };
		ck_assert_str_eq(states(h, w, 3),
				 "0,0,0\n0,2,0\n1,0,0\n1,0,3\n1,2,0\n1,2,3\n");
	}
	op(h, TRACE_SFENCE, 0, 0);
	op(h, TRACE_PCOMMIT, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);	/* commits 1 and 3, not cpu 1's 2 */
	ck_assert_str_eq(states2(h, 0, 8), "1,0\n1,2\n");
	ck_assert_uint_eq(durable_u64(h, 16), 3);
	op(h, TRACE_SFENCE, 1, 0);
	op(h, TRACE_PCOMMIT, 1, 0);
	op(h, TRACE_SFENCE, 1, 0);
	ck_assert_str_eq(states2(h, 0, 8), "1,2\n");
	done(h);
}
END_TEST

static int cmp_line(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

/* Each choice of a line with NT segments is a different state: with a
 * value of its own in every piece, two choices that take different
 * pieces leave different bytes (random pcommit traces of one line). */
START_TEST(c11_nt_segment_choices_distinct)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
	struct h *h = mk("machine=pcommit cpus=2 cache.history=24");
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	static uint8_t img[1 << 16][64];

	for (int e = 0; e < 40; e++) {
		uint32_t cpu, x;
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		x = (uint32_t)(rng >> 33);
		cpu = x >> 20 & 1;
		switch (x % 10) {
		case 0: case 1: case 2: case 3: case 4:
			nt(h, cpu, (x >> 8 & 3) * 8, 8, 100 + (uint64_t)e);
			break;
		case 5:
			nt(h, cpu, 0, 32, (uint64_t)(e + 1));	/* fill */
			break;
		case 6: case 7:
			op(h, TRACE_SFENCE, cpu, 0);
			break;
		case 8:
			if (x >> 12 & 1)
				st(h, cpu, (x >> 8 & 3) * 8, 8, 200 + (uint64_t)e);
			else
				op(h, TRACE_PCOMMIT, cpu, 0);
			break;
		default:
			op(h, TRACE_CLWB, cpu, 0);
			break;
		}
		for (size_t g = 0; g < ops->ngroups(h->m); g++) {
			uint32_t n = ops->nchoices(h->m, g);
			ck_assert_uint_le(n, 1u << 16);
			uint32_t same = 0;
			for (uint32_t c = 0; c < n; c++) {
				struct region r = { .off = 0, .buf = img[c], .n = 64 };
				media_read(h->media, 0, img[c], 64);
				ops->apply(h->m, g, c, emit_region, &r);
			}
			qsort(img, n, sizeof(img[0]), cmp_line);
			for (uint32_t c = 1; c < n; c++)
				same += !memcmp(img[c], img[c - 1], 64);
			ck_assert_msg(!same, "event %d: %u of %u choices repeat a state", e, same, n);
		}
	}
	done(h);
}
END_TEST

START_TEST(c15_pcommit_nt_limits)
{
	struct h *h = mk("machine=pcommit");

	/* 3 pending pieces in each chunk: 4^8 down-sets, the limit */
	for (int k = 1; k <= 3; k++)
		nt(h, 0, 0, 64, (uint64_t)k);
	ck_assert_uint_eq(cache_model_ops.crash->nchoices(h->m, 0), 1u << 16);
	ck_assert_uint_eq(M(h)->st.capacity_writebacks, 0);
	nt(h, 0, 0, 8, 9);		/* past it: the line is written out */
	ck_assert_uint_eq(M(h)->st.capacity_writebacks, 1);
	ck_assert_uint_eq(durable_u64(h, 0), 0x0303030303030303ull);
	ck_assert_str_eq(states1(h, 0), "217020518514230019\n9\n");
	done(h);

	/* the line's NT epochs wrap: the WPQ writes the line out first
	 * (tiny caches: the invariants after each event check every way) */
	h = mk(TINY " machine=pcommit cache.history=1");
	{
		int bad = 0;	/* one ck_assert: each call logs its place */
		for (uint64_t k = 1; k <= 70000; k++) {
			bad |= ev_full(h, TRACE_NTSTORE, 0, 0, 8, TRACE_PAYLOAD_VAL, k);
			bad |= ev_full(h, TRACE_SFENCE, 0, 0, 0, TRACE_PAYLOAD_NONE, 0);
		}
		ck_assert_int_eq(bad, 0);
	}
	ck_assert_str_eq(states1(h, 0), "69999\n70000\n");
	ck_assert_uint_ge(M(h)->st.capacity_writebacks, 69999);
	done(h);
}
END_TEST

START_TEST(c11_pcommit_noop_on_adr)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_PCOMMIT, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 0), "0\n1\n");
	done(h);
}
END_TEST

START_TEST(c12_eadr)
{
	struct h *h = mk("machine=eadr");

	st(h, 0, 0, 8, 1);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 0);
	nt(h, 0, 64, 8, 2);
	ck_assert_str_eq(states1(h, 64), "0\n2\n");
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states1(h, 64), "2\n");
	done(h);
}
END_TEST

START_TEST(c13_eviction_writes_back)
{
	/* one L1 set of 2 ways, nothing below: the third line evicts the first */
	struct h *h = mk("l1d.size=128 l1d.ways=2 l2.size=0 llc.size=0");
	unsigned s0;

	st(h, 0, 0, 8, 1);
	st(h, 0, 64, 8, 2);
	s0 = h->steps;
	st(h, 0, 128, 8, 3);
	ck_assert_uint_eq(h->steps, s0 + 1);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_str_eq(states2(h, 64, 128), "0,0\n0,3\n2,0\n2,3\n");
	done(h);
}
END_TEST

START_TEST(c13_dirty_passes_down_not_out)
{
	/* L1 1 set x 1 way over an LLC: an L1 eviction lands in the LLC */
	struct h *h = mk("l1d.size=64 l1d.ways=1 l2.size=0 llc.size=256 llc.ways=4");

	st(h, 0, 0, 8, 1);
	st(h, 0, 64, 8, 2);
	ck_assert_uint_eq(durable_u64(h, 0), 0);
	ck_assert_str_eq(states1(h, 0), "0\n1\n");
	done(h);
}
END_TEST

START_TEST(c13_inclusive_back_invalidates)
{
	/* an inclusive 1-way LLC: a second line evicts the first from the
	 * LLC and from the L1 above it, dirty: written back */
	struct h *h = mk("l1d.size=128 l1d.ways=2 l2.size=0 llc.size=64 llc.ways=1 cache.inclusive=on");

	st(h, 0, 0, 8, 1);
	ld(h, 0, 64, 1);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	done(h);
	h = mk("l1d.size=128 l1d.ways=2 l2.size=0 llc.size=64 llc.ways=1");
	st(h, 0, 0, 8, 1);
	ld(h, 0, 64, 1);
	ck_assert_uint_eq(durable_u64(h, 0), 0);	/* still dirty in L1 */
	done(h);
}
END_TEST

START_TEST(c15_history_limit)
{
	struct h *h = mk("cache.history=2");

	st(h, 0, 0, 8, 1);
	st(h, 0, 0, 8, 2);
	st(h, 0, 0, 8, 3);			/* writes 1, 2 back first */
	ck_assert_uint_eq(durable_u64(h, 0), 2);
	ck_assert_str_eq(states1(h, 0), "2\n3\n");
	ck_assert_uint_eq(M(h)->st.capacity_writebacks, 1);
	done(h);
}
END_TEST

START_TEST(c16_rmw_is_a_fence)
{
	struct h *h = mk(NULL);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLFLUSHOPT, 0, 0);
	nt(h, 0, 64, 8, 2);
	rmw(h, 0, 128, 8, 3);
	ck_assert_uint_eq(durable_u64(h, 0), 1);
	ck_assert_uint_eq(durable_u64(h, 64), 2);
	ck_assert_str_eq(states1(h, 128), "0\n3\n");
	done(h);
}
END_TEST

START_TEST(coherence_store_moves_line)
{
	/* cpu 0 dirties a line, cpu 1 stores to it: one history, in trace
	 * order; a clwb by either CPU writes back both stores */
	struct h *h = mk("cpus=2");

	st(h, 0, 0, 8, 1);
	st(h, 1, 8, 8, 2);
	ck_assert_str_eq(states2(h, 0, 8), "0,0\n1,0\n1,2\n");
	op(h, TRACE_CLWB, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_str_eq(states2(h, 0, 8), "1,2\n");
	done(h);
}
END_TEST

START_TEST(crash_describe_and_apply_runs)
{
	struct h *h = mk(NULL);
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	char buf[256];

	st(h, 0, 0x40, 8, 1);
	st(h, 0, 0x40, 16, 0x22);
	ck_assert_int_gt(ops->describe(h->m, 0, 2, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "line 0x40: stores 1-1 of 2, store 2 torn (chunks 0x40 of 2) (trace lines 1, 1)");
	ops->describe(h->m, 0, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "line 0x40: none of 2 stores");
	done(h);
}
END_TEST

/* footprint_matches_choices: the (byte, value) pairs a group's choices
 * emit between them, from apply() over every choice or from footprint() */
struct fp_pairs {
	uint64_t line;
	uint8_t seen[128][256];
};

static void emit_pairs(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct fp_pairs *p = ctx;
	const uint8_t *b = bytes;

	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_ge(off + i, p->line);
		ck_assert_uint_lt(off + i, p->line + 128);
		p->seen[off + i - p->line][b[i]] = 1;
	}
}

START_TEST(footprint_matches_choices)
{
	/* every kind of history C2-C8 and C13 can leave in a line: narrow and
	 * wide (torn) stores, rewrites of the same bytes, rmw, NT stores over
	 * and beside cached data, a flushed-then-rewritten line; on a
	 * 64-byte and a 128-byte line (its own model) */
	for (int pass = 0; pass < 2; pass++) {
		struct h *h = mk(pass ? "cpus=2 cache.line=128 cache.history=3" : "cpus=2");
		const struct sim_crash_ops *ops = cache_model_ops.crash;
		size_t ng;

		st(h, 0, 0x40, 8, 1);
		st(h, 0, 0x40, 32, 0x22);
		st(h, 0, 0x48, 8, 3);
		rmw(h, 0, 0x50, 8, 4);
		st(h, 0, 0x1000, 64, 0x55);
		st(h, 1, 0x1010, 8, 6);
		nt(h, 0, 0x2000, 8, 7);
		nt(h, 0, 0x2000, 8, 8);
		nt(h, 1, 0x2018, 16, 0x99);
		st(h, 0, 0x3000, 8, 9);
		op(h, TRACE_CLWB, 0, 0x3000);
		st(h, 0, 0x3000, 16, 0x0a);
		st(h, 0, 0x3008, 8, 0x0b);
		nt(h, 0, 0x3020, 8, 0x0c);
		ng = ops->ngroups(h->m);
		ck_assert_uint_ge(ng, 4);
		for (size_t g = 0; g < ng; g++) {
			static struct fp_pairs a, b;
			char d[256];
			ops->describe(h->m, g, 0, d, sizeof(d));
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			a.line = b.line = strtoull(d + 5, NULL, 16);	/* "line 0x..." */
			for (uint32_t c = 1; c < ops->nchoices(h->m, g); c++)
				ops->apply(h->m, g, c, emit_pairs, &a);
			ck_assert_ptr_nonnull(ops->footprint);
			ops->footprint(h->m, g, emit_pairs, &b);
			if (memcmp(&a, &b, sizeof(a)))
				ck_abort_msg("pass %d, %s: footprint() differs from the choices", pass, d);
		}
		done(h);
	}
}
END_TEST

/* The view's radix sort (cache_crash.c sort_keys): 3,000 lines stored in
 * a scrambled order across the whole namespace (three passes of 11 bits)
 * come out as groups in address order, each once. */
START_TEST(groups_sorted_many_lines)
{
	struct h *h = mk("pmem.size=1G l1d.size=64M l1d.ways=16 l2.size=0 llc.size=0");
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	const uint64_t n = 3000, lines = (1ull << 30) / 64;
	uint64_t prev = 0;
	char buf[128];

	for (uint64_t i = 0; i < n; i++)		/* i * an odd constant mod 2^24: distinct */
		if (ev_full(h, TRACE_STORE, 0, (i * 0x9e3779b1ull % lines) * 64, 8,
			    TRACE_PAYLOAD_VAL, i + 1))
			ck_abort_msg("store %" PRIu64 ": %s", i, h->err.msg);
	ck_assert_uint_eq(ops->ngroups(h->m), n);
	for (size_t g = 0; g < n; g++) {
		uint64_t line;
		ops->describe(h->m, g, 0, buf, sizeof(buf));
		line = strtoull(buf + 5, NULL, 16);
		if (g)
			ck_assert_uint_gt(line, prev);
		prev = line;
	}
	done(h);
}
END_TEST

START_TEST(groups_sorted_by_address)
{
	struct h *h = mk(NULL);
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	char buf[128];

	st(h, 0, 0x1000, 8, 1);
	st(h, 0, 0x40, 8, 1);
	st(h, 0, 0x800, 8, 1);
	ck_assert_uint_eq(ops->ngroups(h->m), 3);
	ops->describe(h->m, 0, 0, buf, sizeof(buf));
	ck_assert(strncmp(buf, "line 0x40:", 10) == 0);
	ops->describe(h->m, 2, 0, buf, sizeof(buf));
	ck_assert(strncmp(buf, "line 0x1000:", 12) == 0);
	done(h);
}
END_TEST

/*
 * view_incremental_matches_rebuild: the crash view kept up to date from
 * the lines marked as their records change (cache_crash.c) against the
 * view rebuilt from the record table (cache_view_forget), over long
 * random event sequences on adr, eadr and pcommit machines with tiny
 * caches (evictions, WPQ entries, C15 write-backs, record table growth
 * and backward-shift deletions).  At random crash points and between
 * events the groups are compared: each one's line, nchoices, and the
 * bytes each choice emits (every choice of a group of up to 600, else
 * 600 spread over them) and its footprint.  Between comparisons the view
 * is brought up to date at some points and not at others, so that the
 * marks of many events meet in one update, and sometimes the list of
 * marks overflows into a rebuild.
 */
struct view_digest {
	uint64_t line;
	uint32_t nchoices;
	uint64_t h;
};

struct view_cmp {
	struct h *h;
	uint64_t rng;
	struct view_digest *a, *b;
	size_t cap;
	unsigned compared, updated;
};

static void emit_digest(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	uint64_t *d = ctx;
	const uint8_t *b = bytes;

	*d = (*d ^ off) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++)
		*d = (*d ^ b[i]) * 0x100000001b3ULL;
	*d ^= *d >> 29;
}

/* Every group of the view as it is now, into D; returns how many. */
static size_t view_snapshot(struct view_cmp *vc, struct view_digest **d)
{
	const struct sim_crash_ops *ops = cache_model_ops.crash;
	void *m = vc->h->m;
	size_t ng = ops->ngroups(m);
	char buf[256];

	if (ng > vc->cap) {
		vc->cap = ng * 2;
		vc->a = realloc(vc->a, vc->cap * sizeof(*vc->a));
		vc->b = realloc(vc->b, vc->cap * sizeof(*vc->b));
		ck_assert(vc->a && vc->b);
	}
	for (size_t g = 0; g < ng; g++) {
		uint32_t n = ops->nchoices(m, g), step = n > 600 ? n / 600 : 1;
		uint64_t h = 0xcbf29ce484222325ULL;
		ops->describe(m, g, 0, buf, sizeof(buf));
		(*d)[g].line = strtoull(buf + 5, NULL, 16);	/* "line 0x..." */
		(*d)[g].nchoices = n;
		for (uint32_t c = 1; c < n; c += step) {
			emit_digest(&h, c, NULL, 0);
			ops->apply(m, g, c, emit_digest, &h);
		}
		emit_digest(&h, n - 1, NULL, 0);
		ops->apply(m, g, n - 1, emit_digest, &h);
		ops->footprint(m, g, emit_digest, &h);
		(*d)[g].h = h;
	}
	return ng;
}

/* Compare the incremental view with a rebuilt one. */
static void view_compare(struct view_cmp *vc)
{
	size_t na = view_snapshot(vc, &vc->a), nb;

	cache_view_forget(vc->h->m);
	nb = view_snapshot(vc, &vc->b);
	if (na != nb)
		ck_abort_msg("after %u comparisons: %zu groups kept, %zu rebuilt", vc->compared,
			     na, nb);
	for (size_t g = 0; g < na; g++)
		if (vc->a[g].line != vc->b[g].line || vc->a[g].nchoices != vc->b[g].nchoices ||
		    vc->a[g].h != vc->b[g].h)
			ck_abort_msg("after %u comparisons, group %zu of %zu: line 0x%" PRIx64
				     ", %u choices kept; line 0x%" PRIx64 ", %u choices rebuilt%s",
				     vc->compared, g, na, vc->a[g].line, vc->a[g].nchoices,
				     vc->b[g].line, vc->b[g].nchoices,
				     vc->a[g].h != vc->b[g].h ? " (and other bytes)" : "");
	vc->compared++;
}

/* A crash point or the end of an event: compare (1 in 8), bring the view
 * up to date (3 in 8) or leave it be. */
static void view_visit(struct view_cmp *vc)
{
	uint64_t r = trace_splitmix64(&vc->rng) % 8;

	if (r == 0)
		view_compare(vc);
	else if (r < 4) {
		cache_model_ops.crash->ngroups(vc->h->m);
		vc->updated++;
	}
}

static void view_step(void *ctx, const char *what)
{
	(void)what;
	view_visit(ctx);
}

START_TEST(view_incremental_matches_rebuild)
{
	static const char *const machines[] = {
		"machine=adr", "machine=eadr", "machine=pcommit",
		"machine=pcommit cpus=2 cache.policy=random cache.history=3",
		"machine=adr cpus=2 cache.line=128 cache.history-total=1024",
	};
	const char *tiny = "l1d.size=512 l1d.ways=2 l2.size=1K l2.ways=2 llc.size=4K "
			   "llc.ways=4 wpq.entries=8";

	for (size_t k = 0; k < sizeof(machines) / sizeof(machines[0]); k++) {
		char settings[256];
		struct view_cmp vc = { .rng = 0x5eed + k };
		struct h *h;
		uint32_t ncpu = strstr(machines[k], "cpus=2") ? 2 : 1;
		uint64_t line = strstr(machines[k], "line=128") ? 128 : 64;

		snprintf(settings, sizeof(settings), "%s %s", tiny, machines[k]);
		h = mk(settings);
		vc.h = h;
		h->env.step = view_step;	/* every crash point in an event */
		h->env.step_ctx = &vc;
		for (int i = 0; i < (k == 2 ? 12000 : 6000); i++) {
			uint64_t x = trace_splitmix64(&vc.rng);
			uint32_t cpu = (uint32_t)(x >> 60) % ncpu;
			/* 512 lines in three runs, most stores to the first */
			uint64_t l = x % 4 ? x >> 8 & 127 : 128 + (x >> 8 & 383);
			uint64_t a = l * line + (x >> 20 & (line - 1));
			uint64_t len = x >> 32 & 1 ? 8 : 1 + (x >> 33 & 63);
			int rc = 0;
			/* no query for 500 events in 1,500, and on the third
			 * machine for 4,500 more, which overflows the marks */
			bool quiet = i % 1500 >= 1000 || (k == 2 && i >= 6000 && i < 10500);
			if (quiet != (h->env.step == count_step)) {
				if (!quiet && k == 2 && i == 10500)
					ck_assert(((struct cache_model *)h->m)->view->stale);
				h->env.step = quiet ? count_step : view_step;
				h->env.step_ctx = quiet ? (void *)h : (void *)&vc;
			}
			if (a + len > (1u << 20))
				len = 8;
			switch (x >> 40 & 15) {
			case 0: case 1: case 2: case 3: case 4: case 5:
				rc = ev_full(h, TRACE_STORE, cpu, a, len,
					     len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, x);
				break;
			case 6: case 7:
				rc = ev_full(h, TRACE_NTSTORE, cpu, a, len,
					     len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, x);
				break;
			case 8:
				rc = ev_full(h, TRACE_RMW, cpu, a & ~7ull, 8, TRACE_PAYLOAD_VAL, x);
				break;
			case 9:
				rc = ev_full(h, TRACE_LOAD, cpu, a, len, TRACE_PAYLOAD_NONE, 0);
				break;
			case 10:
				rc = ev_full(h, TRACE_CLWB, cpu, a, 0, TRACE_PAYLOAD_NONE, 0);
				break;
			case 11:
				rc = ev_full(h, x >> 45 & 1 ? TRACE_CLFLUSH : TRACE_CLFLUSHOPT, cpu, a,
					     0, TRACE_PAYLOAD_NONE, 0);
				break;
			case 12: case 13:
				rc = ev_full(h, x >> 45 & 1 ? TRACE_SFENCE : TRACE_MFENCE, cpu, 0, 0,
					     TRACE_PAYLOAD_NONE, 0);
				break;
			case 14:
				rc = ev_full(h, TRACE_PCOMMIT, cpu, 0, 0, TRACE_PAYLOAD_NONE, 0);
				break;
			default:
				if ((x >> 50 & 15) == 0)
					rc = ev_full(h, TRACE_WBINVD, cpu, 0, 0, TRACE_PAYLOAD_NONE, 0);
				break;
			}
			if (rc)
				ck_abort_msg("%s, event %d: %s", machines[k], i, h->err.msg);
			if (h->env.step == view_step)
				view_visit(&vc);
		}
		view_compare(&vc);
		ck_assert_uint_gt(vc.compared, 100);
		ck_assert_uint_gt(vc.updated, 300);
		free(vc.a);
		free(vc.b);
		done(h);
	}
}
END_TEST

START_TEST(many_lines_and_reuse)
{
	/* thousands of lines through records, hash growth and deletion */
	struct h *h = mk("l1d.size=1K l1d.ways=2 l2.size=0 llc.size=4K llc.ways=4");
	uint64_t x = 1;

	for (int i = 0; i < 20000; i++) {
		uint64_t a = (trace_splitmix64(&x) % 4096) * 64;
		st(h, 0, a, 8, (uint64_t)i);
		if (i % 7 == 0)
			op(h, TRACE_CLWB, 0, a);
		if (i % 13 == 0)
			op(h, TRACE_SFENCE, 0, 0);
		ck_assert_uint_eq(current_u64(h, a), (uint64_t)i);
	}
	op(h, TRACE_WBINVD, 0, 0);
	ck_assert_uint_eq(cache_model_ops.crash->ngroups(h->m), 0);
	done(h);
}
END_TEST

/* ---- cycles ---- */

START_TEST(cycles_latencies)
{
	struct h *h = mk("l1d.latency=4 l2.latency=12 llc.latency=40 pmem.read-latency=300");

	ld(h, 0, 0, 8);
	ck_assert_uint_eq(h->clock.now, 300);
	ld(h, 0, 0, 8);
	ck_assert_uint_eq(h->clock.now, 304);
	done(h);
}
END_TEST

START_TEST(cycles_fence_stall)
{
	struct h *h = mk("l1d.latency=4 pmem.read-latency=100 flush.latency=2 "
			 "wpq.latency=50 sfence.latency=6 wpq.drain=10");
	uint64_t t;

	st(h, 0, 0, 8, 1);			/* 100 */
	op(h, TRACE_CLWB, 0, 0);		/* 2: accepted at 100+2+50 */
	t = h->clock.now;
	ck_assert_uint_eq(t, 102);
	op(h, TRACE_SFENCE, 0, 0);		/* 6 + stall 50 */
	ck_assert_uint_eq(h->clock.now, 102 + 6 + 50);
	ck_assert_uint_eq(M(h)->st.fence_stall, 50);
	op(h, TRACE_SFENCE, 0, 0);		/* nothing outstanding */
	ck_assert_uint_eq(h->clock.now, 102 + 6 + 50 + 6);
	done(h);
}
END_TEST

START_TEST(cycles_wpq_backpressure)
{
	/* a WPQ of 1 entry draining 100 cycles per line: the second clwb's
	 * line waits for the first to drain */
	struct h *h = mk("pmem.read-latency=0 l1d.latency=0 flush.latency=0 wpq.entries=1 "
			 "wpq.latency=10 wpq.drain=100 sfence.latency=0");

	st(h, 0, 0, 8, 1);
	st(h, 0, 64, 8, 1);
	op(h, TRACE_CLWB, 0, 0);		/* accepted at 10, drained at 110 */
	op(h, TRACE_CLWB, 0, 64);		/* accepted at 110 */
	op(h, TRACE_SFENCE, 0, 0);
	ck_assert_uint_eq(h->clock.now, 110);
	done(h);
}
END_TEST

START_TEST(report_lines)
{
	struct h *h = mk(NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	st(h, 0, 0, 8, 1);
	op(h, TRACE_CLWB, 0, 0);
	op(h, TRACE_SFENCE, 0, 0);
	cache_model_ops.report(h->m, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "l1d.misses: 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "cache.flushes: 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "cache.fences: 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "media.bytes: 8\n"));
	free(buf);
	done(h);
}
END_TEST

/* ---- the no-history mode (cache_keep_history) ---- */

/* Everything `powercut run` sees of a model: its report, the clock, the
 * steps, the media and the coherent contents of REGION bytes. */
static void same_as_history(struct h *a, struct h *b, uint64_t region, uint64_t i)
{
	char *ra = NULL, *rb = NULL;
	size_t la = 0, lb = 0;
	FILE *fa = open_memstream(&ra, &la), *fb = open_memstream(&rb, &lb);
	static uint8_t ma[8192], mb[8192];

	cache_model_ops.report(a->m, fa);
	cache_model_ops.report(b->m, fb);
	fclose(fa);
	fclose(fb);
	if (strcmp(ra, rb))
		ck_abort_msg("event %" PRIu64 ": reports differ:\n%s---\n%s", i, ra, rb);
	free(ra);
	free(rb);
	ck_assert_uint_eq(a->clock.now, b->clock.now);
	ck_assert_uint_eq(a->steps, b->steps);
	media_read(a->media, 0, ma, region);
	media_read(b->media, 0, mb, region);
	if (memcmp(ma, mb, region))
		ck_abort_msg("event %" PRIu64 ": media differ", i);
	cache_read_current(a->m, 0, ma, region);
	cache_read_current(b->m, 0, mb, region);
	if (memcmp(ma, mb, region))
		ck_abort_msg("event %" PRIu64 ": current contents differ", i);
}

/* Random CPU events through a model that keeps histories and one that
 * does not, side by side: the same report, clock, steps, media and
 * contents after every event (cache.c, "No history"), on every machine
 * and line size (pcommit and 128-byte lines keep histories anyway). */
START_TEST(nohist_same_as_history)
{
	static const char *const cfgs[] = {
		"",
		"machine=eadr",
		"machine=pcommit",
		"cache.line=128",
		"cache.line=16 l1d.size=64 l1d.ways=2 l2.size=0 llc.size=256 llc.ways=4",
		"l1d.size=256 l1d.ways=2 l2.size=0 llc.size=512 llc.ways=2 cpus=2",
		"l1d.size=256 l1d.ways=2 l2.size=512 l2.ways=2 llc.size=1K llc.ways=4 "
		"cache.inclusive=1 cpus=3 cache.history=3",
		"l1d.size=128 l1d.ways=1 l2.size=0 llc.size=256 llc.ways=2 cache.policy=random "
		"cache.history=2",
	};
	const char *cfg = cfgs[_i];
	struct h *a = mk(cfg), *b = mk(cfg);
	uint32_t ncpu = (uint32_t)sim_param(&a->cfg, "cpus");
	uint64_t x = 77 + (uint64_t)_i, region = 4096;
	bool kept = cache_keep_history(b->m, false);

	ck_assert(cache_keep_history(a->m, true));
	ck_assert(kept == (strstr(cfg, "pcommit") || strstr(cfg, "line=128")));
	for (uint64_t i = 0; i < 6000; i++) {
		uint64_t r = trace_splitmix64(&x), k = r % 100;
		uint32_t cpu = (uint32_t)(r >> 8) % ncpu;
		uint64_t addr = (r >> 16) % (region - 128), len;
		enum trace_op o;

		if (k < 40)
			o = TRACE_STORE;
		else if (k < 48)
			o = TRACE_NTSTORE;
		else if (k < 60)
			o = TRACE_LOAD;
		else if (k < 70)
			o = TRACE_CLWB;
		else if (k < 76)
			o = TRACE_CLFLUSHOPT;
		else if (k < 79)
			o = TRACE_CLFLUSH;
		else if (k < 88)
			o = TRACE_SFENCE;
		else if (k < 91)
			o = TRACE_RMW;
		else if (k < 92)
			o = TRACE_WBINVD;
		else if (k < 94)
			o = TRACE_PCOMMIT;
		else
			o = TRACE_MFENCE;
		len = (r >> 40) % 4 == 0 ? 1 + (r >> 44) % 100 : 8;
		if ((r >> 50) % 2)
			addr &= ~7ull;
		if (o == TRACE_RMW && len > 8)
			len = 8;
		ck_assert_int_eq(ev_full(a, o, cpu, addr, len,
					 len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, i & 0xff), 0);
		ck_assert_int_eq(ev_full(b, o, cpu, addr, len,
					 len <= 8 ? TRACE_PAYLOAD_VAL : TRACE_PAYLOAD_FILL, i & 0xff), 0);
		same_as_history(a, b, region, i);
	}
	done(a);
	done(b);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *hier = tcase_create("hierarchy");
	TCase *rules = tcase_create("rules");
	TCase *cyc = tcase_create("cycles");
	TCase *nohist = tcase_create("no history");

	tcase_add_test(hier, hier_hits_misses_lru);
	tcase_add_test(hier, hier_straddle_counts_two_lines);
	tcase_add_test(hier, hier_plru);
	tcase_add_test(hier, hier_lru_vs_plru_differ);
	tcase_add_test(hier, hier_random_seeded);
	tcase_add_test(hier, hier_bad_geometry);
	tcase_add_test(hier, edge_bad_address_and_cpu);
	suite_add_tcase(s, hier);

	tcase_add_test(rules, c2_same_line_prefixes);
	tcase_add_test(rules, c3_lines_independent);
	tcase_add_test(rules, c4_clflush_synchronous);
	tcase_add_test(rules, c5_unfenced_clwb_adds_nothing);
	tcase_add_test(rules, c5_c6_fence_completes_prefix);
	tcase_add_test(rules, c6_fence_is_per_cpu);
	tcase_add_test(rules, c7_tearing);
	tcase_add_test(rules, c7_tear_of_next_store_only);
	tcase_add_test(rules, c8_nt_subsets_and_fence);
	tcase_add_test(rules, c8_nt_other_cpu_fence);
	tcase_add_test(rules, c9_nt_after_store_writes_line_back);
	tcase_add_test(rules, c10_wbinvd);
	tcase_add_test(rules, c11_pcommit);
	tcase_add_test(rules, c11_pcommit_covers_only_wpq_at_pcommit);
	tcase_add_test(rules, c11_pcommit_noop_on_adr);
	tcase_add_test(rules, c11_nt_pieces_reach_the_wpq_in_any_order);
	tcase_add_test(rules, c11_fence_leaves_other_cpus_nt_in_wc);
	tcase_add_loop_test(rules, c11_nt_segment_choices_distinct, 0, 16);
	tcase_add_test(rules, c15_pcommit_nt_limits);
	tcase_add_test(rules, c12_eadr);
	tcase_add_test(rules, c13_eviction_writes_back);
	tcase_add_test(rules, c13_dirty_passes_down_not_out);
	tcase_add_test(rules, c13_inclusive_back_invalidates);
	tcase_add_test(rules, c15_history_limit);
	tcase_add_test(rules, c16_rmw_is_a_fence);
	tcase_add_test(rules, coherence_store_moves_line);
	tcase_add_test(rules, crash_describe_and_apply_runs);
	tcase_add_test(rules, footprint_matches_choices);
	tcase_add_test(rules, groups_sorted_many_lines);
	tcase_add_test(rules, groups_sorted_by_address);
	tcase_add_test(rules, many_lines_and_reuse);
	tcase_add_test(rules, view_incremental_matches_rebuild);
	tcase_set_timeout(rules, 60);
	suite_add_tcase(s, rules);

	tcase_add_test(cyc, cycles_latencies);
	tcase_add_test(cyc, cycles_fence_stall);
	tcase_add_test(cyc, cycles_wpq_backpressure);
	tcase_add_test(cyc, report_lines);
	suite_add_tcase(s, cyc);

	tcase_add_loop_test(nohist, nohist_same_as_history, 0, 8);
	tcase_set_timeout(nohist, 120);
	suite_add_tcase(s, nohist);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
