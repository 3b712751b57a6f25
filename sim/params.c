/*
 * params.c — every registered parameter table, and the simulator's own.
 */
#include "params.h"

#include "../blockq/blockq.h"
#include "../cache/cache.h"
#include "../fs_model/jfs.h"

const struct sim_param sim_core_params[] = {
	{ .name = "pmem.size", .kind = SIM_PARAM_SIZE, .def = 1ull << 30,
	  .min = 4096, .max = 1ull << 40, .unit = "bytes",
	  .help = "size of the persistent-memory namespace (CPU addresses are offsets in it)" },
	{ .name = "disk.size", .kind = SIM_PARAM_SIZE, .def = 1ull << 30,
	  .min = 4096, .max = 1ull << 40, .unit = "bytes",
	  .help = "size of a disk device (disk-wc, disk-wt)" },
	{ .name = NULL }
};

const struct sim_param *const sim_param_tables[] = {
	sim_core_params,
	cache_params,
	bq_params,
	jfs_params,
};
const size_t sim_param_ntables = sizeof(sim_param_tables) / sizeof(sim_param_tables[0]);
