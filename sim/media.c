/*
 * media.c — the sparse durable image.
 *
 * Two levels: a directory of 2 MiB chunks, each an array of 512 page
 * pointers, each page 4 KiB.  Reads of unwritten pages return zeros
 * without allocating.
 *
 * Pages are handed out, in the order they are first written, from slabs
 * of fresh anonymous memory (already zero): 64 KiB first, each slab
 * twice the last, up to 2 MiB slabs on huge pages where the kernel
 * allows them.  A slab's untouched pages cost no memory (without huge
 * pages) or at most the one 2 MiB slab being filled (with them).  Why:
 * a page of its own from calloc() was a page fault per page written
 * (16,000 for the 64 MiB region of cache_bench()'s stream: 0.02-0.25 s
 * of system time in a 20 M-access replay of ~0.9 s, depending on the
 * load), and a TLB miss per media write at random; docs/performance.md,
 * "Cache model: 32-bit tags, ..." (helper-27).
 */
#include "media.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_SHIFT	21
#define PAGES_PER_CHUNK	(1u << (CHUNK_SHIFT - MEDIA_PAGE_SHIFT))
#define MEDIA_MAX	(1ull << 40)
#define SLAB_FIRST	(64u << 10)	/* the first slab's bytes */
#define SLAB_MAX	(2u << 20)	/* a huge page */

struct media_chunk {
	uint8_t *page[PAGES_PER_CHUNK];
	uint64_t stamp[PAGES_PER_CHUNK];	/* media_stamp(); 0: never written */
};

/* Stamps come from one counter for every media of the process, so equal
 * stamps mean equal contents even across clones and distinct images. */
static uint64_t media_clock;

struct media {
	uint64_t size;
	uint64_t nchunks;
	struct media_chunk **chunk;	/* nchunks entries, NULL until written */
	uint64_t written;		/* bytes passed to media_write */
	uint8_t *slab_next;		/* the current slab's next free page */
	size_t slab_left;		/* its free bytes */
	struct media_slab *slab;	/* every slab, for media_destroy */
	size_t nslab, slab_cap;
};

struct media_slab {
	void *base;
	size_t bytes;
};

/* A zeroed slab of BYTES (a multiple of the page size); a 2 MiB one
 * 2 MiB-aligned and on a huge page if the kernel allows.  NULL if out of
 * memory. */
static void *slab_map(size_t bytes)
{
	size_t extra = bytes >= SLAB_MAX ? SLAB_MAX : 0;
	uint8_t *p = mmap(NULL, bytes + extra, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	if (!extra)
		return p;
	a = (uint8_t *)(((uintptr_t)p + SLAB_MAX - 1) & ~(uintptr_t)(SLAB_MAX - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + bytes < p + bytes + extra)
		munmap(a + bytes, (size_t)(p + bytes + extra - (a + bytes)));
#ifdef MADV_HUGEPAGE
	madvise(a, bytes, MADV_HUGEPAGE);
#endif
	return a;
}

/* A zeroed page of M's, from its slabs.  Aborts on out of memory (as
 * calloc's failure did: the caller cannot go on). */
static uint8_t *page_alloc(struct media *m)
{
	uint8_t *p;

	if (!m->slab_left) {
		size_t bytes = m->nslab ? m->slab[m->nslab - 1].bytes * 2 : SLAB_FIRST;
		void *b;
		if (bytes > SLAB_MAX)
			bytes = SLAB_MAX;
		if (m->nslab == m->slab_cap) {
			size_t ncap = m->slab_cap ? m->slab_cap * 2 : 8;
			struct media_slab *ns = realloc(m->slab, ncap * sizeof(*ns));
			if (!ns)
				abort();
			m->slab = ns;
			m->slab_cap = ncap;
		}
		b = slab_map(bytes);
		if (!b)
			abort();
		m->slab[m->nslab++] = (struct media_slab){ .base = b, .bytes = bytes };
		m->slab_next = b;
		m->slab_left = bytes;
	}
	p = m->slab_next;
	m->slab_next += MEDIA_PAGE_SIZE;
	m->slab_left -= MEDIA_PAGE_SIZE;
	return p;
}

int media_create(struct media **out, uint64_t size)
{
	struct media *m;

	*out = NULL;
	if (size == 0 || size > MEDIA_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->size = size;
	m->nchunks = (size + (1ull << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT;
	m->chunk = calloc(m->nchunks, sizeof(*m->chunk));
	if (!m->chunk) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void media_destroy(struct media *m)
{
	if (!m)
		return;
	for (uint64_t c = 0; c < m->nchunks; c++)
		free(m->chunk[c]);
	for (size_t i = 0; i < m->nslab; i++)
		munmap(m->slab[i].base, m->slab[i].bytes);
	free(m->slab);
	free(m->chunk);
	free(m);
}

uint64_t media_size(const struct media *m)
{
	return m->size;
}

uint64_t media_bytes_written(const struct media *m)
{
	return m->written;
}

static const uint8_t *page_get(const struct media *m, uint64_t pg)
{
	const struct media_chunk *c = m->chunk[pg / PAGES_PER_CHUNK];
	return c ? c->page[pg % PAGES_PER_CHUNK] : NULL;
}

static uint8_t *page_make(struct media *m, uint64_t pg)
{
	struct media_chunk **cp = &m->chunk[pg / PAGES_PER_CHUNK];
	uint8_t **pp;

	if (!*cp) {
		*cp = calloc(1, sizeof(**cp));
		if (!*cp)
			abort();	/* out of memory mid-model: no way on */
	}
	pp = &(*cp)->page[pg % PAGES_PER_CHUNK];
	if (!*pp)
		*pp = page_alloc(m);
	return *pp;
}

void media_add_written(struct media *m, uint64_t n)
{
	m->written += n;
}

void media_write(struct media *m, uint64_t off, const void *src, size_t n)
{
	m->written += n;
	media_write_image(m, off, src, n);
}

void media_write_image(struct media *m, uint64_t off, const void *src, size_t n)
{
	const uint8_t *s = src;

	while (n > 0) {
		uint64_t pg = off >> MEDIA_PAGE_SHIFT;
		size_t in = (size_t)(off & (MEDIA_PAGE_SIZE - 1));
		size_t k = MEDIA_PAGE_SIZE - in < n ? MEDIA_PAGE_SIZE - in : n;
		memcpy(page_make(m, pg) + in, s, k);
		m->chunk[pg / PAGES_PER_CHUNK]->stamp[pg % PAGES_PER_CHUNK] = ++media_clock;
		s += k;
		off += k;
		n -= k;
	}
}

void media_read(const struct media *m, uint64_t off, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n > 0) {
		uint64_t pg = off >> MEDIA_PAGE_SHIFT;
		size_t in = (size_t)(off & (MEDIA_PAGE_SIZE - 1));
		size_t k = MEDIA_PAGE_SIZE - in < n ? MEDIA_PAGE_SIZE - in : n;
		const uint8_t *p = page_get(m, pg);
		if (p)
			memcpy(d, p + in, k);
		else
			memset(d, 0, k);
		d += k;
		off += k;
		n -= k;
	}
}

int media_cmp(const struct media *m, uint64_t off, const void *buf, size_t n)
{
	static const uint8_t zero[MEDIA_PAGE_SIZE];
	const uint8_t *b = buf;

	while (n > 0) {
		uint64_t pg = off >> MEDIA_PAGE_SHIFT;
		size_t in = (size_t)(off & (MEDIA_PAGE_SIZE - 1));
		size_t k = MEDIA_PAGE_SIZE - in < n ? MEDIA_PAGE_SIZE - in : n;
		const uint8_t *p = page_get(m, pg);
		if (memcmp(b, p ? p + in : zero, k))
			return 1;
		b += k;
		off += k;
		n -= k;
	}
	return 0;
}

void media_prefetch(const struct media *m, uint64_t off)
{
	uint64_t pg = off >> MEDIA_PAGE_SHIFT;
	const struct media_chunk *c = m->chunk[pg / PAGES_PER_CHUNK];

	if (c && c->page[pg % PAGES_PER_CHUNK]) {
		__builtin_prefetch(c->page[pg % PAGES_PER_CHUNK] + (off & (MEDIA_PAGE_SIZE - 1)), 1);
		__builtin_prefetch(&c->stamp[pg % PAGES_PER_CHUNK], 1);
	}
}

uint64_t media_stamp(const struct media *m, uint64_t off)
{
	uint64_t pg = off >> MEDIA_PAGE_SHIFT;
	const struct media_chunk *c = m->chunk[pg / PAGES_PER_CHUNK];

	return (c ? c->stamp[pg % PAGES_PER_CHUNK] : 0) + 1;
}

const uint8_t *media_page(const struct media *m, uint64_t off)
{
	return page_get(m, off >> MEDIA_PAGE_SHIFT);
}

int media_clone(struct media **out, const struct media *m)
{
	struct media *c;
	int rc = media_create(&c, m->size);

	*out = NULL;
	if (rc)
		return rc;
	for (uint64_t i = 0; i < m->nchunks; i++) {
		if (!m->chunk[i])
			continue;
		c->chunk[i] = calloc(1, sizeof(*c->chunk[i]));
		if (!c->chunk[i])
			goto nomem;
		for (unsigned p = 0; p < PAGES_PER_CHUNK; p++) {
			if (!m->chunk[i]->page[p])
				continue;
			c->chunk[i]->page[p] = page_alloc(c);
			memcpy(c->chunk[i]->page[p], m->chunk[i]->page[p], MEDIA_PAGE_SIZE);
			c->chunk[i]->stamp[p] = m->chunk[i]->stamp[p];
		}
	}
	c->written = m->written;
	*out = c;
	return 0;
nomem:
	media_destroy(c);
	return -ENOMEM;
}

void media_for_each_page(const struct media *m,
			 void (*fn)(void *ctx, uint64_t off, const uint8_t *page),
			 void *ctx)
{
	for (uint64_t i = 0; i < m->nchunks; i++) {
		if (!m->chunk[i])
			continue;
		for (unsigned p = 0; p < PAGES_PER_CHUNK; p++)
			if (m->chunk[i]->page[p])
				fn(ctx, ((i * PAGES_PER_CHUNK) + p) << MEDIA_PAGE_SHIFT,
				   m->chunk[i]->page[p]);
	}
}
