/*
 * media.c — the sparse durable image.
 *
 * Two levels: a directory of 2 MiB chunks, each an array of 512 page
 * pointers, each page 4 KiB.  Reads of unwritten pages return zeros
 * without allocating.
 */
#include "media.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SHIFT	21
#define PAGES_PER_CHUNK	(1u << (CHUNK_SHIFT - MEDIA_PAGE_SHIFT))
#define MEDIA_MAX	(1ull << 40)

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
};

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
	for (uint64_t c = 0; c < m->nchunks; c++) {
		if (!m->chunk[c])
			continue;
		for (unsigned p = 0; p < PAGES_PER_CHUNK; p++)
			free(m->chunk[c]->page[p]);
		free(m->chunk[c]);
	}
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
	if (!*pp) {
		*pp = calloc(1, MEDIA_PAGE_SIZE);
		if (!*pp)
			abort();
	}
	return *pp;
}

void media_write(struct media *m, uint64_t off, const void *src, size_t n)
{
	const uint8_t *s = src;

	m->written += n;
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
			c->chunk[i]->page[p] = malloc(MEDIA_PAGE_SIZE);
			if (!c->chunk[i]->page[p])
				goto nomem;
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
