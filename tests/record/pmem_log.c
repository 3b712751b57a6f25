/*
 * pmem_log.c — a small libpmem program: append records to a log in a pmem
 * file and publish each by storing the new count in the header.
 *
 *   pmem_log FILE N [bug]   write N records; with "bug", the record data is
 *                           not persisted before the count that publishes it
 *   pmem_log --check FILE   the application's checker: exit 0 if every
 *                           published record is intact, 1 if not
 */
#include <libpmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL	(64 * 1024)
#define RECSZ	256

struct rec { uint64_t seq; uint64_t sum; char text[RECSZ - 16]; };
struct hdr { uint64_t count; char pad[56]; };

static uint64_t checksum(const struct rec *r)
{
	uint64_t s = r->seq * 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < sizeof(r->text); i++)
		s = (s ^ (unsigned char)r->text[i]) * 0x100000001b3ULL;
	return s;
}

static int check(const char *path)
{
	size_t len;
	int is_pmem;
	char *base = pmem_map_file(path, 0, 0, 0, &len, &is_pmem);
	if (!base) {
		perror(path);
		return 2;
	}
	struct hdr *h = (struct hdr *)base;
	struct rec *recs = (struct rec *)(base + sizeof(struct hdr));
	if (h->count > (POOL - sizeof(struct hdr)) / RECSZ) {
		printf("bad count %llu\n", (unsigned long long)h->count);
		return 1;
	}
	for (uint64_t i = 0; i < h->count; i++)
		if (recs[i].seq != i + 1 || recs[i].sum != checksum(&recs[i])) {
			printf("record %llu of %llu is not intact\n", (unsigned long long)i,
			       (unsigned long long)h->count);
			return 1;
		}
	pmem_unmap(base, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check(argv[2]);
	if (argc < 3) {
		fprintf(stderr, "usage: pmem_log FILE N [bug] | --check FILE\n");
		return 2;
	}
	int bug = argc > 3 && !strcmp(argv[3], "bug");
	long n = atol(argv[2]);
	size_t len;
	int is_pmem;
	char *base = pmem_map_file(argv[1], POOL, PMEM_FILE_CREATE, 0644, &len, &is_pmem);
	if (!base) {
		perror(argv[1]);
		return 2;
	}
	struct hdr *h = (struct hdr *)base;
	struct rec *recs = (struct rec *)(base + sizeof(struct hdr));
	for (long i = 0; i < n; i++) {
		struct rec r;
		memset(&r, 0, sizeof(r));
		r.seq = (uint64_t)i + 1;
		snprintf(r.text, sizeof(r.text), "record %ld: the quick brown fox", i);
		r.sum = checksum(&r);
		struct rec *slot = &recs[h->count];
		if (bug)
			memcpy(slot, &r, sizeof(r));		/* BUG: never persisted */
		else
			pmem_memcpy_persist(slot, &r, sizeof(r));
		h->count++;
		pmem_persist(&h->count, sizeof(h->count));	/* publish */
	}
	pmem_unmap(base, len);
	return 0;
}
