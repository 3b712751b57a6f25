/*
 * cache_bench.c — the cache model's speed, in accesses per second, on a
 * fixed synthetic stream (docs/performance.md records the figures), or on
 * the CPU events of a trace (a real program's, e.g. from `powercut import
 * lackey`).
 *
 * The stream is built before the clock starts, so only the model is
 * timed: 70% 8-byte loads and 30% 8-byte stores, cpu 0; addresses 80% in
 * a 16 KiB hot region (L1D hits), 15% in 512 KiB (L2), 5% in 64 MiB
 * (LLC and pmem misses), drawn by splitmix64 with a fixed seed; one clwb
 * + sfence per 1000 accesses.  Default configuration (adr, 1 CPU).
 * The stream is kept compact (op, address: 16 bytes per access) and one
 * struct trace_event is refilled per access, as the event loop does: a
 * full trace_event is over 1 KiB, and an array of them measured page
 * faults, not the model (2.5 M/s, 2.4 GB resident for 2 M accesses).
 *
 * Each stream is replayed twice through fresh models: without histories
 * (cache_keep_history(false), what `powercut run` needs: the line
 * labelled "run only, no crash states") and with them (what outcomes and
 * check need: the last line, the figure make bench records).
 *
 * The synthetic stream is a stress case, not a typical program: its lines
 * are uniformly random within each region and its stores are never
 * flushed, so every warm line keeps a full history (cache.history) and
 * the model's state outgrows the host's caches.  It is kept as it was so
 * that figures stay comparable; docs/performance.md sets a real
 * program's stream (cache_bench_trace()) beside it.
 *
 * Where its time goes, each region alone (5 M accesses with 30% stores,
 * thread CPU time, medians of 5 rounds, 2-vCPU VM at load ~5,
 * 2026-11-24, after helper-29's leaner entry, store and fill path): the
 * 16 KiB region 94.6 M/s, the 512 KiB one 25.3, the 64 MiB one 5.6; the
 * mix 28.7.  Weighted 80/15/5 the regions' figures give 8.5 + 5.9 + 8.9
 * = 23.3 ns an access; the mix measures 35 (50 M/s is 20): the regions
 * evict each other's state from the host's caches, the 64 MiB region
 * most (it touches some 9 host lines an access over ~100 MiB: its LLC
 * set, the victim's record and media line, the stored line's record),
 * and the hot lines' history buffers (512 KiB, each written through once
 * per 64 stores) do not survive it.  Histories themselves: the 16 KiB
 * and 512 KiB regions mixed 84/16 run at 65 M/s without them and 47
 * with them (a store to a line outside the host's caches appends to that
 * line's history buffer, one of 16 MiB of them).  Instructions (callgrind,
 * cache_bench() of 2 M): 265 an access; the hot region's load hit ~100,
 * a store ~150, the 64 MiB region ~850.  docs/performance.md has the
 * measurements and what was tried.
 */
#include "cache_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sim/media.h"

struct bench_access {
	uint64_t addr;
	uint32_t len;
	uint16_t cpu;
	uint8_t op;			/* enum trace_op */
	uint8_t wide;			/* payload: fill:0 (len > 8), else val= */
};

static void bench_step(void *ctx, const char *what)
{
	(void)what;
	(*(uint64_t *)ctx)++;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Replay ACC[0, N) through a model made for CFG, keeping histories (crash
 * states) or not (cache_keep_history()), and time it.  0 or -1. */
static int bench_replay(FILE *out, const struct sim_config *cfg, const char *what,
			const struct bench_access *acc, uint64_t n, bool keep,
			double *per_second)
{
	struct sim_clock clk = { 0 };
	struct sim_err err;
	struct media *med = NULL;
	struct sim_env env;
	struct trace_event ev;
	uint64_t steps = 0;
	void *m = NULL;
	double t0, t1;
	int rc = -1;

	memset(&ev, 0, sizeof(ev));
	if (media_create(&med, sim_param(cfg, "pmem.size"))) {
		fprintf(out, "cache bench: cannot make a %" PRIu64 "-byte media\n",
			sim_param(cfg, "pmem.size"));
		goto out;
	}
	env = (struct sim_env){ .cfg = cfg, .clock = &clk, .media = med, .err = &err,
				.step = bench_step, .step_ctx = &steps };
	if (cache_model_create(&m, &env)) {
		fprintf(out, "cache bench: %s\n", err.msg);
		goto out;
	}
	cache_keep_history(m, keep);
	t0 = seconds();
	for (uint64_t i = 0; i < n; i++) {
		ev.op = (enum trace_op)acc[i].op;
		ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_CPU;
		ev.addr = acc[i].addr;
		ev.len = acc[i].len;
		ev.cpu = acc[i].cpu;
		ev.data.kind = acc[i].wide ? TRACE_PAYLOAD_FILL : TRACE_PAYLOAD_VAL;
		ev.data.len = acc[i].len;
		ev.data.arg = acc[i].wide ? 0 : i;
		if (cache_model_ops.event(m, &ev)) {
			fprintf(out, "cache bench: access %" PRIu64 ": %s\n", i, err.msg);
			goto out;
		}
	}
	t1 = seconds();
	*per_second = (double)n / (t1 - t0);
	fprintf(out, "cache model%s: %.1f M accesses/s (%" PRIu64 " accesses in %.3f s)%s%s%s\n",
		keep ? "" : " (run only, no crash states)", *per_second / 1e6, n, t1 - t0,
		keep ? ", crash states kept" : "", what ? ", " : "", what ? what : "");
	rc = 0;
out:
	if (m)
		cache_model_ops.destroy(m);
	media_destroy(med);
	return rc;
}

int cache_bench(FILE *out, uint64_t naccesses, double *per_second)
{
	struct sim_config cfg;
	struct bench_access *acc;
	uint64_t x = 12345, n = naccesses ? naccesses : 20000000;
	double nohist;
	int rc;

	sim_config_init(&cfg);
	acc = calloc(n, sizeof(*acc));
	if (!acc) {
		fprintf(out, "cache bench: out of memory\n");
		return -1;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = trace_splitmix64(&x), p = r % 100, a;
		if (p < 80)
			a = (r >> 8) % (16 << 10);
		else if (p < 95)
			a = (r >> 8) % (512 << 10);
		else
			a = (r >> 8) % (64 << 20);
		acc[i].addr = a & ~7ull;
		acc[i].len = 8;
		acc[i].op = (r >> 40) % 10 < 3 ? TRACE_STORE : TRACE_LOAD;
		if (i % 1000 == 998)
			acc[i].op = TRACE_CLWB;
		else if (i % 1000 == 999)
			acc[i].op = TRACE_SFENCE;
	}
	rc = bench_replay(out, &cfg, NULL, acc, n, false, &nohist);
	if (!rc)
		rc = bench_replay(out, &cfg, NULL, acc, n, true, per_second);
	free(acc);
	return rc;
}

int cache_bench_trace(FILE *out, const char *path, double *per_second)
{
	struct sim_config cfg;
	struct trace_reader *tr = NULL;
	struct trace_event ev;
	struct bench_access *acc = NULL;
	uint64_t n = 0, cap = 0;
	char msg[256], what[512];
	double nohist;
	int rc = -1, got;

	sim_config_init(&cfg);
	if (trace_open(&tr, path)) {
		fprintf(out, "cache bench: %s\n", trace_open_error());
		return -1;
	}
	while ((got = trace_next(tr, &ev)) > 0) {
		if (ev.op == TRACE_CONFIG) {
			for (unsigned k = 0; k < ev.nkv; k++)
				if (sim_config_set(&cfg, ev.kv[k].key.s, ev.kv[k].value.s,
						   SIM_FROM_TRACE, msg, sizeof(msg))) {
					fprintf(out, "cache bench: %s:%" PRIu64 ": %s\n", path,
						ev.line, msg);
					goto out;
				}
			continue;
		}
		if (ev.op < TRACE_STORE || ev.op > TRACE_PCOMMIT)
			continue;		/* marks, think, file and block events */
		if (n == cap) {
			uint64_t ncap = cap ? cap * 2 : 1 << 16;
			struct bench_access *na = realloc(acc, ncap * sizeof(*na));
			if (!na) {
				fprintf(out, "cache bench: out of memory\n");
				goto out;
			}
			acc = na;
			cap = ncap;
		}
		acc[n] = (struct bench_access){
			.addr = ev.addr, .len = (uint32_t)ev.len, .cpu = (uint16_t)ev.cpu,
			.op = (uint8_t)ev.op, .wide = ev.len > 8,
		};
		if (!(ev.fields & TRACE_F_LEN))
			acc[n].len = 1;		/* flushes: the model reads addr only */
		n++;
	}
	if (got < 0) {
		fprintf(out, "cache bench: %s\n", trace_reader_error(tr));
		goto out;
	}
	snprintf(what, sizeof(what), "%s", path);
	rc = bench_replay(out, &cfg, what, acc, n, false, &nohist);
	if (!rc)
		rc = bench_replay(out, &cfg, what, acc, n, true, per_second);
out:
	trace_close(tr);
	free(acc);
	return rc;
}
