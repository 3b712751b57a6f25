/*
 * bench_cache — the cache model alone, for make bench: replays a synthetic
 * stream of loads and stores through a default model (cache_bench(), see
 * cache/cache_bench.c for the stream) and prints the rate.
 *
 *   bench_cache [N]       N synthetic accesses (default 20 million)
 *   bench_cache TRACE     the CPU events of TRACE (cache_bench_trace()),
 *                         e.g. a real program's from powercut import lackey
 */
#include <stdio.h>
#include <stdlib.h>

#include "../cache/cache.h"

int main(int argc, char **argv)
{
	double rate;
	char *end;
	uint64_t n = 0;

	if (argc > 1) {
		n = strtoull(argv[1], &end, 0);
		if (*end || end == argv[1])
			return cache_bench_trace(stdout, argv[1], &rate) ? 1 : 0;
	}
	if (cache_bench(stdout, n, &rate))
		return 1;
	return 0;
}
