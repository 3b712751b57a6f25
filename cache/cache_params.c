/*
 * cache_params.c — every parameter of the cache model (--set KEY=VALUE),
 * with its default and where the default comes from.
 *
 * The defaults describe one core of a Skylake-SP / Cascade Lake Xeon with
 * Intel Optane DC persistent memory (App Direct mode, 2.1 GHz nominal, so
 * 1 ns ~ 2.1 cycles).  Sources (docs/semantics.md and docs/performance.md
 * repeat them):
 *   [OPT]  Intel 64 and IA-32 Architectures Optimization Reference Manual,
 *          "Skylake Server microarchitecture": L1D 32 KiB 8-way, 4-5 cycles;
 *          L2 1 MiB 16-way, 14 cycles; LLC 1.375 MiB/core, 11-way,
 *          non-inclusive, 50-70 cycles.
 *   [IZR]  Izraelevitz et al., "Basic Performance Measurements of the Intel
 *          Optane DC Persistent Memory Module", arXiv:1903.05714 (2019):
 *          random read latency 305 ns; store + clwb + fence ~90-100 ns;
 *          write bandwidth ~2.3 GB/s per DIMM (64 B per ~28 ns).
 *   [AGN]  Agner Fog, "Instruction tables" (Skylake): SFENCE ~6, MFENCE ~33,
 *          LOCK ADD ~18 cycles; MOVNTI throughput 1 per cycle.
 * The LLC is rounded to 16 MiB 16-way (the model needs power-of-two sets);
 * the WPQ depth is not published: 64 entries is an assumption.
 */
#include "cache.h"

static const char *const policy_names[] = { "lru", "plru", "random", NULL };

#define SZ(n, d, lo, hi, h) { .name = n, .kind = SIM_PARAM_SIZE, .def = d, \
	.min = lo, .max = hi, .unit = "bytes", .help = h }
#define NUM(n, d, lo, hi, u, h) { .name = n, .kind = SIM_PARAM_UINT, .def = d, \
	.min = lo, .max = hi, .unit = u, .help = h }

const struct sim_param cache_params[] = {
	NUM("cpus", 1, 1, 64, "cpus", "CPUs, each with private L1D and L2 (cpu=0..cpus-1)"),
	{ .name = "cache.line", .kind = SIM_PARAM_SIZE, .def = 64, .min = 16,
	  .max = 128, .unit = "bytes", .pow2 = true,
	  .help = "cache line size (SDM vol. 3 11.1) [64]" },
	{ .name = "cache.policy", .kind = SIM_PARAM_CHOICE, .def = 0,
	  .choices = policy_names,
	  .help = "replacement policy of every level: lru, tree-plru or seeded random" },
	NUM("cache.seed", 1, 0, UINT64_MAX, "", "seed of the random replacement policy"),
	{ .name = "cache.inclusive", .kind = SIM_PARAM_BOOL, .def = 0,
	  .help = "LLC inclusive of L1D and L2 (evictions back-invalidate); Skylake-SP is not [OPT]" },
	SZ("l1d.size", 32 << 10, 0, 1ull << 30, "L1D size per CPU [OPT: 32K]"),
	NUM("l1d.ways", 8, 1, 32, "ways", "L1D associativity [OPT: 8]"),
	NUM("l1d.latency", 5, 0, 1 << 20, "cycles", "L1D hit latency [OPT: 4-5]"),
	SZ("l2.size", 1 << 20, 0, 1ull << 30, "L2 size per CPU, 0 for none [OPT: 1M]"),
	NUM("l2.ways", 16, 1, 32, "ways", "L2 associativity [OPT: 16]"),
	NUM("l2.latency", 14, 0, 1 << 20, "cycles", "L2 hit latency [OPT: 14]"),
	SZ("llc.size", 16 << 20, 0, 1ull << 34, "shared LLC size, 0 for none [OPT: 1.375M/core, rounded]"),
	NUM("llc.ways", 16, 1, 32, "ways", "LLC associativity [OPT: 11, rounded to 16]"),
	NUM("llc.latency", 50, 0, 1 << 20, "cycles", "LLC hit latency [OPT: 50-70]"),
	NUM("pmem.read-latency", 640, 0, 1 << 24, "cycles", "pmem load latency on an LLC miss [IZR: 305 ns]"),
	NUM("wpq.entries", 64, 1, 1 << 20, "lines", "write-pending queue depth (assumed)"),
	NUM("wpq.latency", 200, 0, 1 << 24, "cycles", "from write-back issue to WPQ acceptance [IZR: ~95 ns]"),
	NUM("wpq.drain", 58, 0, 1 << 24, "cycles/line", "WPQ drain time per line to the media [IZR: 2.3 GB/s]"),
	NUM("wc.latency", 1, 0, 1 << 20, "cycles", "issue cost of a non-temporal store per line [AGN]"),
	NUM("flush.latency", 4, 0, 1 << 20, "cycles", "issue cost of clflush, clflushopt, clwb"),
	NUM("sfence.latency", 6, 0, 1 << 20, "cycles", "sfence cost without stall [AGN: 6]"),
	NUM("mfence.latency", 33, 0, 1 << 20, "cycles", "mfence cost without stall [AGN: 33]"),
	NUM("rmw.latency", 18, 0, 1 << 20, "cycles", "locked read-modify-write cost beyond the access [AGN: 18]"),
	NUM("wbinvd.latency", 2000, 0, 1 << 30, "cycles", "wbinvd fixed cost, beside its write-backs (assumed)"),
	NUM("pcommit.latency", 100, 0, 1 << 24, "cycles", "pcommit issue cost (assumed)"),
	NUM("cache.history", 64, 1, 4096, "stores",
	    "stores kept per dirty line before it is written back (C2 allows it; more = more crash states)"),
	NUM("cache.history-total", 1 << 20, 1024, 1ull << 28, "stores",
	    "stores kept over all dirty lines before the line stored to is written back"),
	{ .name = NULL }
};
