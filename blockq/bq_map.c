/*
 * bq_map.c — a u64 -> pointer hash map for blockq/ (bios by id, atomic
 * units by index): open addressing, linear probing, backward-shift
 * deletion (no tombstones, so a long run never degrades).  The table
 * doubles at 1/2 load; lookups are O(1) expected.  Allocation happens only
 * when the table grows.
 */
#include "bq_int.h"

#include <errno.h>
#include <stdlib.h>

#define EMPTY	UINT64_MAX	/* a key no bio id or unit index takes */

static inline size_t slot_of(const struct bq_map *m, uint64_t key)
{
	/* Fibonacci hashing: ids and unit indexes are dense and sequential,
	 * and the multiply spreads them over the table. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (m->cap - 1);
}

int bq_map_init(struct bq_map *m, size_t cap)
{
	size_t c = 16;

	while (c < cap)
		c <<= 1;
	m->key = malloc(c * sizeof(*m->key));
	m->val = malloc(c * sizeof(*m->val));
	if (!m->key || !m->val) {
		free(m->key);
		free(m->val);
		m->key = NULL;
		m->val = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < c; i++)
		m->key[i] = EMPTY;
	m->cap = c;
	m->n = 0;
	return 0;
}

void bq_map_fini(struct bq_map *m)
{
	free(m->key);
	free(m->val);
	m->key = NULL;
	m->val = NULL;
	m->cap = m->n = 0;
}

void *bq_map_get(const struct bq_map *m, uint64_t key)
{
	for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->key[i] == key)
			return m->val[i];
		if (m->key[i] == EMPTY)
			return NULL;
	}
}

static int grow(struct bq_map *m)
{
	struct bq_map b;
	int rc = bq_map_init(&b, m->cap * 2);

	if (rc)
		return rc;
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i] != EMPTY)
			bq_map_put(&b, m->key[i], m->val[i]);
	bq_map_fini(m);
	*m = b;
	return 0;
}

/* KEY must not be EMPTY (UINT64_MAX); the caller makes sure. */
int bq_map_put(struct bq_map *m, uint64_t key, void *val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	for (i = slot_of(m, key); m->key[i] != EMPTY && m->key[i] != key;
	     i = (i + 1) & (m->cap - 1))
		;
	if (m->key[i] == EMPTY)
		m->n++;
	m->key[i] = key;
	m->val[i] = val;
	return 0;
}

void bq_map_del(struct bq_map *m, uint64_t key)
{
	size_t i = slot_of(m, key), j;

	while (m->key[i] != key) {
		if (m->key[i] == EMPTY)
			return;
		i = (i + 1) & (m->cap - 1);
	}
	/* Backward shift: move later members of the run into the hole when
	 * their home slot is not between the hole and them. */
	j = i;
	for (;;) {
		size_t home;
		j = (j + 1) & (m->cap - 1);
		if (m->key[j] == EMPTY)
			break;
		home = slot_of(m, m->key[j]);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->key[i] = m->key[j];
			m->val[i] = m->val[j];
			i = j;
		}
	}
	m->key[i] = EMPTY;
	m->n--;
}
