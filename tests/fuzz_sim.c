/*
 * fuzz_sim.c — libFuzzer target for the simulator itself: the models, the
 * event loop, the crash-state explorer, recovery, fsck and the judges.
 *
 * fuzz_trace checks that the reader returns only valid events; this target
 * feeds what it returns to the machine.  A trace that parses can still be
 * strange (a write to an fd never opened, msync over a range never mapped,
 * a rename of a directory into itself, a store past the namespace, a wait
 * on a bio never submitted, a wide unaligned store, offsets near 2^64...):
 * every such input must end in success or in one clean error line.
 *
 * The input.  The first byte chooses the configuration (`pick_config`):
 * bits 0-2 a preset of device, filesystem options and machine (preset 0
 * sets none of them, so that the trace's own `config` lines decide), bits
 * 3-4 check's --states policy, bit 5 --background off, bit 6 a fault or
 * barrier semantics, bit 7 two CPUs and random replacement.  Model sizes
 * are always set, as flags, which win over the trace's `config` lines:
 * a 1 MiB namespace and disk, a filesystem of 128 blocks of 1 KiB, tiny
 * caches, short line histories -- so that every input runs in
 * milliseconds, and a slow input is a finding, not a configuration.  The
 * rest is the trace, given to powercut through a memfd (/proc/self/fd/N).
 *
 * What runs.  `powercut run` exactly as sim/main.c's cmd_run does it
 * (cli_parse, sim_create, cli_replay, sim_report).  Then, for inputs of
 * at most CHECK_MAX bytes, a crash-state pass:
 *   - file and block traces: `powercut check` through sim_check_main()
 *     with the chosen --states policy (bounded:1 mostly), so that every
 *     state is built, recovered, fsck'd and judged;
 *   - CPU traces, which check refuses (nothing judges a raw namespace
 *     without --checker): the explorer, driven as `outcomes --at all`
 *     drives it; the first states of each point are also described and
 *     replayed from their printed IDs (oracle 4).
 * The pass is bounded by configuration, not by a time limit: at most
 * MAX_STATES states per point (a point with more is refused by the
 * explorer, and the pass is run again with FALLBACK, sample:4), and at
 * most MAX_POINTS points (every Nth, --shard 1/N, N from run's count).
 *
 * Oracles, each an abort() so libFuzzer keeps the input:
 *   1. Nothing crashes, leaks, hangs (-timeout) or trips a sanitizer.
 *   2. run exits 0 or 2; check exits 0, 1 or 2.  A 0 (or 1) leaves nothing
 *      on standard error; a 2 leaves exactly one line,
 *      "powercut: TRACE:LINE: what is wrong", LINE at least 1, or
 *      "powercut: --FLAG: what is wrong" when a flag of pick_config()
 *      clashes with the trace's config lines (dax on its device, ...).
 *   3. run and the crash-state pass agree: the trace's events are the
 *      same whether or not anyone asks for crash states, so the pass fails
 *      on bad input exactly when run does, with the same message.  Two
 *      refusals name no line, being about the command, not the input, and
 *      are handled as above: the explorer's "powercut: TRACE: crash point
 *      N has ..." (MAX_STATES), and check's "nothing can judge this trace"
 *      for a trace that starts with CPU events (then the explorer runs).
 *   4. A state's printed ID replays (sim_explore_one) to the same image.
 *
 * Run: make fuzz FUZZ_SECONDS=600 (seeds in tests/fuzz-seeds-sim/, made by
 * tools/fuzz_seeds_sim.py from the litmus, example and regression traces,
 * plus hand-*.trace; the words of the format in tests/fuzz_sim.dict).  A
 * finding replays with build/fuzz/fuzz_sim FILE; its trace is FILE without
 * the first byte, and the flags are those pick_config() gives that byte.
 */
#define _GNU_SOURCE		/* memfd_create, open_memstream */
#include "sim/check.h"
#include "sim/cli.h"
#include "sim/explore.h"
#include "sim/sim.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* check costs a replay per input plus the states of every point: only for
 * inputs this small (most seeds are) */
#define CHECK_MAX 2048
/* The states judged at one point, at most: a point with more is refused by
 * the explorer ("crash point N has ...": the one message that names no
 * line), and the input is checked again with FALLBACK, a fixed number of
 * states per point.  A write of a few hundred KiB on DAX has a volatile
 * group per line; bounded:1 would judge each of them at each point. */
#define MAX_STATES "24"
#define FALLBACK "sample:4"
/* Crash points checked, at most: check takes every Nth of them (--shard
 * 1/N), N from the number of points run counted.  The reduced exhaustive
 * enumeration costs ~5 ms per point of a hundred groups even when it
 * stops at MAX_STATES judgements (its footprints come first): fewer. */
#define MAX_POINTS 100
#define MAX_POINTS_EXHAUSTIVE 12

static FILE *real_stderr;

static void die(const char *what, const char *detail)
{
	fprintf(real_stderr ? real_stderr : stderr, "fuzz_sim: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
	abort();
}

/* The configuration flags chosen by the first byte. */
struct choice {
	const char *argv[64];
	int argc;
	const char *states;		/* check's --states */
	const char *max_states;		/* its --max-states */
	uint64_t max_points;		/* MAX_POINTS or MAX_POINTS_EXHAUSTIVE */
};

static void add(struct choice *c, const char *a, const char *b)
{
	c->argv[c->argc++] = a;
	if (b)
		c->argv[c->argc++] = b;
}

static void pick_config(struct choice *c, uint8_t sel)
{
	static const char *const sizes[][2] = {
		{ "--set", "pmem.size=1M" }, { "--set", "disk.size=1M" },
		{ "--set", "jfs.blocks=128" }, { "--set", "jfs.journal_blocks=32" },
		/* 1 KiB blocks: a file's block map reaches 64 MiB, not 4 GiB.
		 * check's file oracle streams a recovered file 4 KiB at a
		 * time (sim/fs_promise.c, O8), holes too, and keeps about 90
		 * bytes per 4 KiB of file: a sparse file of 2 GiB needs
		 * ~57 MB (0.2 s for its whole check), multiplied here by
		 * every input that makes one.  The OOM this setting first
		 * avoided, a 2 GiB buffer per judgement, is fixed
		 * (tests/regress/sparse-2g-file.trace) */
		{ "--set", "jfs.block_size=1K" },
		{ "--set", "jfs.inodes=32" }, { "--set", "jfs.bg_subset_inodes=3" },
		{ "--set", "l1d.size=512" }, { "--set", "l1d.ways=2" },
		{ "--set", "l2.size=1K" }, { "--set", "l2.ways=2" },
		{ "--set", "llc.size=4K" }, { "--set", "llc.ways=4" },
		{ "--set", "cache.history=8" }, { "--set", "cache.history-total=1024" },
		{ "--set", "bq.depth=4" }, { "--set", "disk.cache_size=64K" },
		{ "--set", "wpq.entries=8" },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		add(c, sizes[i][0], sizes[i][1]);
	switch (sel & 7) {
	case 0:		/* the trace's config lines decide */
		break;
	case 1:
		add(c, "--device", "disk-wc");
		add(c, "--fs-opts", "data=ordered");
		break;
	case 2:
		add(c, "--device", "disk-wt");
		add(c, "--fs-opts", "data=journal,nodelalloc");
		break;
	case 3:
		add(c, "--device", "disk-wc");
		add(c, "--fs-opts", "data=writeback,nobarrier,noauto_da_alloc");
		break;
	case 4:
		add(c, "--device", "pmem");
		add(c, "--fs-opts", "dax");
		add(c, "--machine", "adr");
		break;
	case 5:
		add(c, "--device", "pmem-wb");
		add(c, "--fs-opts", "dax,dax_flush=hammer");
		add(c, "--machine", "pcommit");
		break;
	case 6:
		add(c, "--device", "pmem");
		add(c, "--fs-opts", "data=ordered,journal_async_commit,journal_checksum");
		add(c, "--machine", "eadr");
		break;
	case 7:
		add(c, "--device", "pmem-wb");
		add(c, "--fs-opts", "dax,dax_flush=none,commit=1");
		add(c, "--machine", "eadr");
		break;
	}
	switch ((sel >> 3) & 3) {
	case 0:
	case 1:
		c->states = "bounded:1";
		c->max_states = MAX_STATES;
		break;
	case 2:
		c->states = "sample:3";
		c->max_states = MAX_STATES;
		break;
	case 3:		/* reduced: --max-states bounds the judgements */
		c->states = "exhaustive";
		c->max_states = MAX_STATES;
		break;
	}
	c->max_points = ((sel >> 3) & 3) == 3 ? MAX_POINTS_EXHAUSTIVE : MAX_POINTS;
	if (sel & 0x20)
		add(c, "--background", "off");
	if (sel & 0x40) {
		if (sel & 1)
			add(c, "--fault", "early-complete,reorder-across-flush");
		else
			add(c, "--block-semantics", "barrier");
	}
	if (sel & 0x80) {
		add(c, "--set", "cpus=2");
		add(c, "--set", "cache.policy=random");
	}
}

/*
 * A trace may name a machine file or a device plugin in its config lines;
 * powercut would read (or dlopen) whatever file that is.  Not here: if the
 * trace could, the flags fix the machine and the device first (flags win,
 * so the trace's lines are still parsed and checked, just not applied).
 */
static void guard_files(struct choice *c, const uint8_t *t, size_t n, uint8_t sel)
{
	bool machine = false, device = false;

	for (size_t i = 0; i + 3 <= n; i++) {
		if (!memcmp(t + i, ".so", 3))
			device = true;
		if (i + 8 <= n && !memcmp(t + i, "machine", 7)) {
			const uint8_t *v = t + i + 7;
			size_t k = n - i - 7;
			bool named = (k >= 4 && !memcmp(v, "=adr", 4)) ||
				     (k >= 5 && !memcmp(v, "=eadr", 5)) ||
				     (k >= 8 && !memcmp(v, "=pcommit", 8));
			if (!named)
				machine = true;
		}
	}
	if (device && (sel & 7) == 0)
		add(c, "--device", "disk-wc");
	if (machine && (sel & 7) < 4)
		add(c, "--machine", "adr");
}

/* The trace's bytes behind a path, for cli_replay().  One memfd, rewritten
 * for each input. */
static const char *trace_path(const uint8_t *t, size_t n)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz_sim", 0);
		if (fd < 0)
			die("memfd_create failed", NULL);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (n && pwrite(fd, t, n, 0) != (ssize_t)n))
		die("writing the memfd failed", NULL);
	return path;
}

/* Standard output goes nowhere; standard error into a buffer, so that the
 * message can be judged.  libFuzzer and the sanitizers write to file
 * descriptor 2 and are not affected. */
struct captured {
	char *err;
	size_t len;
	FILE *saved_out, *saved_err;
};

static FILE *devnull;

static void capture_begin(struct captured *cap)
{
	FILE *m;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		die("cannot open /dev/null", NULL);
	cap->err = NULL;
	cap->len = 0;
	if (!(m = open_memstream(&cap->err, &cap->len)))
		die("open_memstream failed", NULL);
	cap->saved_out = stdout;
	cap->saved_err = stderr;
	stdout = devnull;
	stderr = m;
}

static void capture_end(struct captured *cap)
{
	fflush(stdout);
	fclose(stderr);
	stdout = cap->saved_out;
	stderr = cap->saved_err;
}

/* Oracle 2: "powercut: PATH:LINE: what is wrong\n" (or "powercut: --FLAG:
 * what is wrong\n"), one line. */
static void check_message(const char *msg, size_t len, const char *path, const char *cmd)
{
	size_t pl = strlen(path);
	const char *p = msg;

	if (len == 0)
		die("exit status 2 without a message", cmd);
	if (strlen(msg) != len || msg[len - 1] != '\n' || memchr(msg, '\n', len) != msg + len - 1)
		die("message not exactly one line", msg);
	if (!strncmp(p, "powercut: --", 12)) {
		p += 12 + strspn(p + 12, "abcdefghijklmnopqrstuvwxyz-");
		if (p == msg + 12 || p[0] != ':' || p[1] != ' ' || p[2] == '\n')
			die("message of a flag with no flag name or no text", msg);
		return;
	}
	if (strncmp(p, "powercut: ", 10) || strncmp(p + 10, path, pl) || p[10 + pl] != ':')
		die("message not of the form 'powercut: TRACE:LINE: ...'", msg);
	p += 10 + pl + 1;
	if (*p < '1' || *p > '9')
		die("message without a line number, or line 0", msg);
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != ':' || p[1] != ' ' || p[2] == '\n')
		die("message with a malformed line number or no text", msg);
}

static int run_like_cmd_run(struct choice *c, const char *path, struct captured *cap,
			    enum sim_world *world, uint64_t *points)
{
	struct cmdline cl;
	struct sim *s;
	char err[512];
	int rc, cb = 0;
	const char *argv[72];
	int argc = 0;

	argv[argc++] = "run";
	argv[argc++] = path;
	for (int i = 0; i < c->argc; i++)
		argv[argc++] = c->argv[i];
	argv[argc] = NULL;
	capture_begin(cap);
	/* sim/main.c cmd_run */
	if ((rc = cli_parse(argc, (char **)argv, CLI_RUN, &cl)))
		goto out;
	if (sim_create(&s, &cl.cfg, err, sizeof(err))) {
		rc = cli_usage_error("%s", err);
		goto out;
	}
	rc = cli_replay(s, cl.trace, &cb);
	if (!rc) {
		printf("trace: %s\n", cl.trace);
		sim_report(s, stdout);
	}
	*world = sim_world(s);
	*points = sim_stats(s)->points;
	sim_destroy(s);
out:
	capture_end(cap);
	return rc;
}

static int run_check(struct choice *c, const char *path, struct captured *cap,
		     uint64_t points)
{
	const char *argv[80];
	char shard[32];
	int argc = 0, rc;

	argv[argc++] = "check";
	argv[argc++] = path;
	argv[argc++] = "--no-progress";
	argv[argc++] = "--states";
	argv[argc++] = c->states;
	argv[argc++] = "--max-states";
	argv[argc++] = c->max_states;
	if (points > c->max_points) {
		snprintf(shard, sizeof(shard), "1/%llu",
			 (unsigned long long)((points + c->max_points - 1) / c->max_points));
		argv[argc++] = "--shard";
		argv[argc++] = shard;
	}
	for (int i = 0; i < c->argc; i++)
		argv[argc++] = c->argv[i];
	argv[argc] = NULL;
	capture_begin(cap);
	rc = sim_check_main(argc, (char **)argv);
	capture_end(cap);
	return rc;
}

/*
 * CPU traces: check refuses them (no model makes promises about a raw
 * namespace without an application --checker), so the explorer is driven
 * directly, as `outcomes --at all` does: at every crash point every state
 * of the policy is built and hashed, the first few are described (through
 * the models' describe()) and replayed from their printed IDs by a second
 * explorer, which must build the same image (oracle 4: a crash state is
 * data that replays).
 */
struct explore_ctx {
	struct sim *s;
	struct sim_explorer *x, *replay;
	struct sim_states_policy pol;
	uint64_t want[2];		/* the image being replayed */
	uint64_t every;			/* explore every Nth point (MAX_POINTS) */
	bool replayed;
	char err[512];
};

static int replayed_state(void *ctx, const struct sim_state *st)
{
	struct explore_ctx *e = ctx;
	uint64_t h[2];

	sim_image_hash(st->image, h);
	if (h[0] != e->want[0] || h[1] != e->want[1])
		die("a state replayed from its ID builds another image", NULL);
	e->replayed = true;
	return 0;
}

static int explored_state(void *ctx, const struct sim_state *st)
{
	struct explore_ctx *e = ctx;
	char id[4096], err[512];
	uint64_t h[2];

	sim_image_diff_hash(st->image, h);
	if (st->index > 2)
		return 0;
	sim_image_hash(st->image, e->want);
	sim_state_format(st->choice, st->ngroups, id, sizeof(id));
	if (strlen(id) >= sizeof(id) - 1)
		return 0;		/* cut: cannot be parsed back */
	sim_state_describe(e->s, st->choice, st->ngroups, stdout);
	e->replayed = false;
	if (sim_explore_one(e->replay, e->s, id, replayed_state, e, err, sizeof(err)) ||
	    !e->replayed)
		die("a state's printed ID does not replay", err);
	return 0;
}

static int explore_point(void *ctx, struct sim *s, const struct sim_point *p)
{
	struct explore_ctx *e = ctx;
	struct sim_point_result res;

	if (!sim_media(s) || p->index % e->every)
		return 0;
	e->s = s;
	(void)sim_point_unexplored(s);
	if (sim_explore_point(e->x, s, &e->pol, p->index, explored_state, e, &res,
			      e->err, sizeof(e->err)))
		return 1;
	return 0;
}

/* Returns 0, or 2 with the message in cap (as cli_replay gives it), or 3
 * when the explorer refused a point (message in e.err). */
static int run_explore(struct choice *c, const char *path, struct captured *cap,
		       uint64_t points)
{
	struct explore_ctx e = { .pol = { .mode = SIM_STATES_EXHAUSTIVE } };
	struct cmdline cl;
	struct sim *s = NULL;
	char err[512];
	int rc, cb = 0;
	const char *argv[72];
	int argc = 0;

	argv[argc++] = "outcomes";
	argv[argc++] = path;
	for (int i = 0; i < c->argc; i++)
		argv[argc++] = c->argv[i];
	argv[argc] = NULL;
	if (sim_states_parse(c->states, &e.pol))
		die("bad states policy", c->states);
	e.pol.max_states = strtoull(c->max_states, NULL, 10);
	e.every = (points + c->max_points - 1) / c->max_points;
	if (!e.every)
		e.every = 1;
	capture_begin(cap);
	if ((rc = cli_parse(argc, (char **)argv, CLI_OUTCOMES, &cl)))
		goto out;
	if (sim_create(&s, &cl.cfg, err, sizeof(err)) || sim_explorer_create(&e.x) ||
	    sim_explorer_create(&e.replay))
		die("out of memory", NULL);
	sim_set_crash_point(s, explore_point, &e);
	rc = cli_replay(s, cl.trace, &cb);
	if (!rc && cb)
		rc = 3;
out:
	capture_end(cap);
	sim_explorer_destroy(e.x);
	sim_explorer_destroy(e.replay);
	sim_destroy(s);
	if (rc == 3) {
		free(cap->err);
		cap->err = strdup(e.err);
		cap->len = strlen(e.err);
	}
	return rc;
}

/* The explorer's refusal of a point with too many states (MAX_STATES). */
static bool refused(const struct captured *cap, const char *path, bool from_check)
{
	char head[96];

	if (from_check)
		snprintf(head, sizeof(head), "powercut: %s: crash point ", path);
	else
		snprintf(head, sizeof(head), "crash point ");
	if (!cap->err || strncmp(cap->err, head, strlen(head)))
		return false;
	if (from_check && memchr(cap->err, '\n', cap->len) != cap->err + cap->len - 1)
		die("refusal not exactly one line", cap->err);
	return true;
}

/* check's refusal of a trace that starts as a CPU trace (check.c, K3:
 * nothing judges a raw namespace without --checker).  It names no line:
 * it is about the command, not about a line of the input. */
static bool cpu_refusal(const struct captured *cap, const char *path)
{
	char want[256];

	snprintf(want, sizeof(want), "powercut: %s: nothing can judge this trace: no model in "
		 "this build makes promises about CPU traces, and no --checker was given\n", path);
	return cap->err && !strcmp(cap->err, want);
}

/* Oracles 2 and 3 for a crash-state pass (check, or the explorer) that
 * exited RC after run exited RC_RUN. */
static void judge_pass(const char *what, int rc, struct captured *cap, int rc_run,
		       const struct captured *run, const char *path)
{
	if (rc < 0 || rc > 2)
		die("exit status neither 0, 1 nor 2", what);
	if (rc != 2 && cap->len)
		die("success with something on standard error", cap->err);
	if (rc == 2)
		check_message(cap->err, cap->len, path, what);
	if ((rc_run == 2) != (rc == 2) || (rc_run == 2 && strcmp(run->err, cap->err))) {
		fprintf(real_stderr, "fuzz_sim: run: %d %s\nfuzz_sim: %s: %d %s\n", rc_run,
			run->err ? run->err : "", what, rc, cap->err ? cap->err : "");
		die("run and the crash-state pass disagree about the input", what);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct choice c = { .argc = 0 };
	struct captured run, chk;
	enum sim_world world = SIM_WORLD_NONE;
	const char *path;
	int rc_run, rc;
	uint64_t points = 0;
	bool cpu;

	if (!real_stderr)
		real_stderr = stderr;
	if (size < 1)
		return 0;
	pick_config(&c, data[0]);
	guard_files(&c, data + 1, size - 1, data[0]);
	path = trace_path(data + 1, size - 1);

	rc_run = run_like_cmd_run(&c, path, &run, &world, &points);
	if (rc_run != 0 && rc_run != 2)
		die("run exited with neither 0 nor 2", run.err);
	if (rc_run == 0 && run.len)
		die("run succeeded but wrote to standard error", run.err);
	if (rc_run == 2)
		check_message(run.err, run.len, path, "run");
	if (size > CHECK_MAX) {
		free(run.err);
		return 0;
	}
	/* no CPU, block or file event: check refuses it, naming no line
	 * (check.c: an empty trace must not pass as clean) */
	if (rc_run == 0 && world == SIM_WORLD_NONE) {
		char want[256];
		rc = run_check(&c, path, &chk, points);
		snprintf(want, sizeof(want), "powercut: %s: the trace has no CPU, block or file "
			 "events: nothing to check\n", path);
		if (rc != 2 || !chk.err || strcmp(chk.err, want))
			die("check of a trace without events is not refused", chk.err);
		free(chk.err);
		free(run.err);
		return 0;
	}
	/* CPU traces: the explorer (check refuses them, see run_explore) */
	cpu = world == SIM_WORLD_CPU;
	rc = cpu ? run_explore(&c, path, &chk, points) : run_check(&c, path, &chk, points);
	if (!cpu && cpu_refusal(&chk, path)) {
		/* a trace whose CPU events came first, then block events on a
		 * pmem device: check decides at point 0, in a CPU world */
		free(chk.err);
		cpu = true;
		rc = run_explore(&c, path, &chk, points);
	}
	if (cpu ? rc == 3 : refused(&chk, path, true)) {
		if (cpu && !refused(&chk, path, false))
			die("the explorer failed", chk.err);
		free(chk.err);
		c.states = FALLBACK;
		rc = cpu ? run_explore(&c, path, &chk, points) : run_check(&c, path, &chk, points);
		if (cpu ? rc == 3 : refused(&chk, path, true))
			die("the fallback policy was refused", chk.err);
	}
	judge_pass(cpu ? "explore" : "check", rc, &chk, rc_run, &run, path);
	free(chk.err);
	free(run.err);
	return 0;
}

/*
 * Mutation by lines.  Most of libFuzzer's byte mutations break a line's
 * syntax, and the trace then stops at the reader; the models see little.
 * Half of the mutations here work on whole lines instead -- delete, copy
 * or swap lines, or put an interesting number (0, 1, page and line
 * boundaries, 2^32, 2^63, 2^64-1, ...) in place of one of a line's numbers
 * -- so that valid traces become strange valid traces.  The first byte
 * (the configuration) is kept, or changed on its own.
 */
static uint64_t mut_rng(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The lines of T[0..N) as [start, end) offsets (end past the '\n'). */
static size_t mut_lines(const uint8_t *t, size_t n, size_t *start, size_t *end, size_t max)
{
	size_t k = 0, a = 0;

	for (size_t i = 0; i < n && k < max; i++)
		if (t[i] == '\n' || i == n - 1) {
			start[k] = a;
			end[k++] = i + 1;
			a = i + 1;
		}
	return k;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static const char *const numbers[] = {
		"0", "1", "7", "8", "63", "64", "65", "511", "512", "4095", "4096", "4097",
		"8K", "1M", "0xfffff", "0x100000", "4294967295", "4294967296",
		"0x7fffffffffffffff", "0x8000000000000000", "0xffffffffffffffff",
		"0xfffffffffffff000", "2147483647", "65535",
	};
	static uint8_t tmp[(1 << 16) + 64];	/* a swap may add two line ends */
	size_t st[512], en[512], nl, o = 0, a, b, c;
	uint64_t x = seed;
	uint8_t *t = data + 1;
	size_t n = size ? size - 1 : 0;

	if (size < 2 || max_size > (1 << 16) || mut_rng(&x) % 2)
		return LLVMFuzzerMutate(data, size, max_size);
	if (mut_rng(&x) % 16 == 0) {
		data[0] = (uint8_t)mut_rng(&x);
		return size;
	}
	nl = mut_lines(t, n, st, en, 512);
	if (!nl)
		return LLVMFuzzerMutate(data, size, max_size);
	a = mut_rng(&x) % nl;
	b = mut_rng(&x) % nl;
	tmp[o++] = data[0];
	switch (mut_rng(&x) % 4) {
	case 0:		/* delete line a */
		for (size_t i = 0; i < nl; i++)
			if (i != a) {
				memcpy(tmp + o, t + st[i], en[i] - st[i]);
				o += en[i] - st[i];
			}
		break;
	case 1:		/* copy line a before line b */
		if (size + (en[a] - st[a]) + 1 > max_size)
			return LLVMFuzzerMutate(data, size, max_size);
		for (size_t i = 0; i < nl; i++) {
			if (i == b) {
				memcpy(tmp + o, t + st[a], en[a] - st[a]);
				o += en[a] - st[a];
				if (tmp[o - 1] != '\n')
					tmp[o++] = '\n';
			}
			memcpy(tmp + o, t + st[i], en[i] - st[i]);
			o += en[i] - st[i];
		}
		break;
	case 2:		/* swap lines a and b */
		for (size_t i = 0; i < nl; i++) {
			size_t j = i == a ? b : i == b ? a : i;
			memcpy(tmp + o, t + st[j], en[j] - st[j]);
			o += en[j] - st[j];
			if (j != i && tmp[o - 1] != '\n')
				tmp[o++] = '\n';
		}
		break;
	default: {	/* a number of line a: an interesting one */
		const char *num = numbers[mut_rng(&x) % (sizeof(numbers) / sizeof(numbers[0]))];
		size_t cand[64], nc = 0, e;
		for (size_t i = st[a]; i < en[a] && nc < 64; i++)
			if (t[i] == '=' && i + 1 < en[a] && t[i + 1] >= '0' && t[i + 1] <= '9')
				cand[nc++] = i + 1;
		if (!nc)
			return LLVMFuzzerMutate(data, size, max_size);
		c = cand[mut_rng(&x) % nc];
		for (e = c; e < en[a] && ((t[e] >= '0' && t[e] <= '9') || (t[e] >= 'a' && t[e] <= 'f') ||
					 t[e] == 'x' || t[e] == 'K' || t[e] == 'M' || t[e] == 'G'); e++)
			;
		if (size - (e - c) + strlen(num) > max_size)
			return LLVMFuzzerMutate(data, size, max_size);
		memcpy(tmp + o, t, c);
		o += c;
		memcpy(tmp + o, num, strlen(num));
		o += strlen(num);
		memcpy(tmp + o, t + e, n - e);
		o += n - e;
		break;
	}
	}
	if (o > max_size)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(data, tmp, o);
	return o;
}
