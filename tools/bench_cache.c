/*
 * bench_cache — the cache model alone, for make bench: replays a synthetic
 * stream of loads and stores through a default model (cache_bench(), see
 * cache/cache_bench.c for the stream) and prints the rate.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../cache/cache.h"

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
	double rate;

	if (cache_bench(stdout, n, &rate))
		return 1;
	return 0;
}
