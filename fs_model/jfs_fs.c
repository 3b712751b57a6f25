/*
 * jfs_fs.c — the filesystem proper: mkfs, metadata buffers, block and
 * inode allocation, block maps, directories, the page cache, write-back,
 * and every file event of the trace format.
 *
 * How an event becomes durable.  An event changes metadata only through
 * jfs_meta_write(), which puts the block in the running transaction (F5);
 * it changes file data only in pages (M3).  Nothing reaches the device
 * here except write-back (F11: delayed allocation happens there) and
 * O_DIRECT; the journal (jfs_journal.c) makes metadata durable.  Under
 * DAX file data takes jfs_dax.c's path instead: no pages, CPU operations
 * on pmem (F22-F27).  The rules cited below are listed in the essay of
 * jfs_model.c.
 *
 * Notes:
 *   - Pages are blocks: the page size is the block size (jfs.block_size).
 *   - Symbolic links in the middle of a path are not followed, and open()
 *     of a symlink fails with ELOOP, as with O_NOFOLLOW.
 *   - "." and ".." are not stored in directory blocks; a directory's
 *     inode records its parent (JFS_I_PARENT), and its link count is
 *     2 + its subdirectories, as ext4's.
 *   - The filesystem never runs out of anything silently: a full
 *     filesystem or inode table is an input error naming the parameter to
 *     raise, not a simulated ENOSPC.
 */
#include "jfs_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "../sim/media.h"
#include "../traces/trace.h"

/* ---- growable arrays ---- */

void jfs_u32v_push(struct jfs_u32v *v, uint32_t x)
{
	if (v->n == v->cap) {
		uint32_t nc = v->cap ? v->cap * 2 : 16;
		uint32_t *nv = realloc(v->v, nc * sizeof(*nv));
		if (!nv)
			abort();
		v->v = nv;
		v->cap = nc;
	}
	v->v[v->n++] = x;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();		/* the model cannot go on without memory */
	return q;
}

/* ---- geometry ---- */

int jfs_geom_decode(struct jfs_geom *g, const uint8_t *sb, uint64_t dev_bytes)
{
	const uint32_t w = JFS_SB_NWORDS;
	uint32_t v[JFS_SB_NWORDS];

	for (uint32_t i = 0; i < w; i++)
		v[i] = jfs_get32(sb + 4 * i);
	if (v[JFS_SB_MAGIC] != JFS_MAGIC || v[JFS_SB_VERSION] != JFS_VERSION)
		return -1;
	g->bsize = v[JFS_SB_BSIZE];
	g->nblocks = v[JFS_SB_NBLOCKS];
	g->ninodes = v[JFS_SB_NINODES];
	g->bbm_start = v[JFS_SB_BBM_START];
	g->bbm_blocks = v[JFS_SB_BBM_BLOCKS];
	g->ibm_start = v[JFS_SB_IBM_START];
	g->ibm_blocks = v[JFS_SB_IBM_BLOCKS];
	g->it_start = v[JFS_SB_IT_START];
	g->it_blocks = v[JFS_SB_IT_BLOCKS];
	g->j_start = v[JFS_SB_J_START];
	g->j_blocks = v[JFS_SB_J_BLOCKS];
	g->data_start = v[JFS_SB_DATA_START];
	g->features = v[JFS_SB_FEATURES];
	if (g->bsize < 1024 || g->bsize > 65536 || (g->bsize & (g->bsize - 1)) ||
	    (uint64_t)g->nblocks * g->bsize > dev_bytes || g->data_start >= g->nblocks ||
	    g->j_start + g->j_blocks > g->data_start || g->j_blocks < 8 ||
	    g->it_start + g->it_blocks > g->j_start || g->ninodes < 2 ||
	    (uint64_t)(g->ninodes + 1) * JFS_INODE_SIZE > (uint64_t)g->it_blocks * g->bsize ||
	    g->nblocks > JFS_BLKMASK)
		return -1;
	return 0;
}

static void geom_encode(const struct jfs_geom *g, uint8_t *sb)
{
	uint32_t v[JFS_SB_NWORDS] = {
		[JFS_SB_MAGIC] = JFS_MAGIC, [JFS_SB_VERSION] = JFS_VERSION,
		[JFS_SB_BSIZE] = g->bsize, [JFS_SB_NBLOCKS] = g->nblocks,
		[JFS_SB_NINODES] = g->ninodes, [JFS_SB_BBM_START] = g->bbm_start,
		[JFS_SB_BBM_BLOCKS] = g->bbm_blocks, [JFS_SB_IBM_START] = g->ibm_start,
		[JFS_SB_IBM_BLOCKS] = g->ibm_blocks, [JFS_SB_IT_START] = g->it_start,
		[JFS_SB_IT_BLOCKS] = g->it_blocks, [JFS_SB_J_START] = g->j_start,
		[JFS_SB_J_BLOCKS] = g->j_blocks, [JFS_SB_DATA_START] = g->data_start,
		[JFS_SB_ROOT] = JFS_ROOT_INO, [JFS_SB_FEATURES] = g->features,
	};
	for (uint32_t i = 0; i < JFS_SB_NWORDS; i++)
		jfs_put32(sb + 4 * i, v[i]);
}

/* ---- buffers (M1) ---- */

static uint32_t buf_make(struct jfs_fs *fs, uint32_t blk)
{
	uint32_t i;

	if (fs->free_bufs.n) {
		i = fs->free_bufs.v[--fs->free_bufs.n];
	} else {
		if (fs->nbufs == fs->bufcap) {
			fs->bufcap = fs->bufcap ? fs->bufcap * 2 : 64;
			fs->bufs = xrealloc(fs->bufs, fs->bufcap * sizeof(*fs->bufs));
		}
		i = fs->nbufs++;
		fs->bufs[i].data = xrealloc(NULL, fs->g.bsize);
	}
	fs->bufs[i].blk = blk;
	fs->bufs[i].jtid = 0;
	memset(fs->bufs[i].data, 0, fs->g.bsize);
	fs->buf_of_blk[blk] = i;
	return i;
}

static uint32_t buf_idx(struct jfs_fs *fs, uint32_t blk)
{
	if (blk >= fs->g.nblocks)
		abort();			/* a corrupt pointer: a model bug */
	if (!fs->buf_of_blk[blk])
		return buf_make(fs, blk);	/* a block never touched reads as zeros (M1) */
	return fs->buf_of_blk[blk];
}

static uint8_t *shadow_get(struct jfs_fs *fs, uint32_t blk, bool create)
{
	uint32_t s = fs->shadow_of_blk[blk];

	if (s)
		return fs->shadow[s - 1];
	if (!create)
		return NULL;
	if (fs->nshadow == fs->shadow_cap) {
		uint32_t nc = fs->shadow_cap ? fs->shadow_cap * 2 : 16;
		fs->shadow = xrealloc(fs->shadow, nc * sizeof(*fs->shadow));
		fs->shadow_blk = xrealloc(fs->shadow_blk, nc * sizeof(*fs->shadow_blk));
		for (uint32_t i = fs->shadow_cap; i < nc; i++)
			fs->shadow[i] = xrealloc(NULL, fs->g.bsize);
		fs->shadow_cap = nc;
	}
	s = fs->nshadow++;
	fs->shadow_blk[s] = blk;
	memcpy(fs->shadow[s], fs->bufs[buf_idx(fs, blk)].data, fs->g.bsize);
	fs->shadow_of_blk[blk] = s + 1;
	return fs->shadow[s];
}

const uint8_t *jfs_meta_read(struct jfs_fs *fs, uint32_t blk)
{
	if (fs->dry) {
		uint8_t *s = shadow_get(fs, blk, false);
		if (s)
			return s;
	}
	return fs->bufs[buf_idx(fs, blk)].data;
}

uint8_t *jfs_meta_write(struct jfs_fs *fs, uint32_t blk)
{
	uint32_t i;

	if (fs->dry)
		return shadow_get(fs, blk, true);
	i = buf_idx(fs, blk);
	jfs_journal_buf(fs, i);			/* F5 */
	return fs->bufs[i].data;
}

static uint8_t *meta_new(struct jfs_fs *fs, uint32_t blk)
{
	uint8_t *p = jfs_meta_write(fs, blk);
	memset(p, 0, fs->g.bsize);
	return p;
}

static uint32_t ino_blk(const struct jfs_fs *fs, uint32_t ino, uint32_t *off)
{
	uint64_t b = (uint64_t)ino * JFS_INODE_SIZE;
	*off = (uint32_t)(b % fs->g.bsize);
	return fs->g.it_start + (uint32_t)(b / fs->g.bsize);
}

const uint8_t *jfs_inode_read(struct jfs_fs *fs, uint32_t ino)
{
	uint32_t off, blk = ino_blk(fs, ino, &off);
	return jfs_meta_read(fs, blk) + off;
}

uint8_t *jfs_inode_write(struct jfs_fs *fs, uint32_t ino)
{
	uint32_t off, blk = ino_blk(fs, ino, &off);
	uint8_t *p = jfs_meta_write(fs, blk) + off;

	if (!fs->dry) {
		fs->ino[ino].sync_tid = fs->run->tid;
		jfs_gap_touch(fs, ino);		/* M9 */
	}
	return p;
}

/* ---- bitmaps and allocation (M4) ---- */

static bool bit_get(struct jfs_fs *fs, uint32_t start, uint32_t bit)
{
	uint32_t per = fs->g.bsize * 8;
	const uint8_t *b = jfs_meta_read(fs, start + bit / per);
	return b[(bit % per) / 8] >> (bit % 8) & 1;
}

static void bit_set(struct jfs_fs *fs, uint32_t start, uint32_t bit, bool on)
{
	uint32_t per = fs->g.bsize * 8;
	uint8_t *b = jfs_meta_write(fs, start + bit / per);
	if (on)
		b[(bit % per) / 8] |= (uint8_t)(1u << (bit % 8));
	else
		b[(bit % per) / 8] &= (uint8_t)~(1u << (bit % 8));
}

static int alloc_block(struct jfs_fs *fs, uint32_t *out)
{
	uint32_t n = fs->g.nblocks - fs->g.data_start;

	if (fs->dry && fs->bg_fix == JFS_BGFIX_REPLAY) {
		/* F18: the block the write-back of every file gave this
		 * allocation.  One file's write-back makes the same calls
		 * whatever other files did (its pages and block map are its
		 * own), and the recorded blocks were free and are distinct */
		uint32_t b;
		if (fs->bg_fix_next >= fs->bg_fix_end)
			abort();		/* a model bug: see jfs_model.c bg_canon */
		b = fs->bg_alloc.v[fs->bg_fix_next++];
		bit_set(fs, fs->g.bbm_start, b, true);
		*out = b;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t b = fs->alloc_goal + i;
		if (b >= fs->g.nblocks)
			b -= n;
		if (fs->busy[b] || bit_get(fs, fs->g.bbm_start, b))
			continue;
		bit_set(fs, fs->g.bbm_start, b, true);
		fs->alloc_goal = b + 1 >= fs->g.nblocks ? fs->g.data_start : b + 1;
		if (fs->dax.touched)		/* hammer's shortcut (jfs_dax.c) */
			fs->dax.touched[b / 8] |= (uint8_t)(1u << (b % 8));
		if (fs->dry && fs->bg_fix == JFS_BGFIX_RECORD)
			jfs_u32v_push(&fs->bg_alloc, b);
		if (!fs->dry)
			jfs_gap_alloc(fs, b);	/* M9 */
		*out = b;
		return 0;
	}
	return jfs_errf(fs, "the filesystem is full (%" PRIu32 " blocks of %" PRIu32
			" bytes; raise jfs.blocks)", fs->g.nblocks, fs->g.bsize);
}

/* Free BLK; META says it held metadata (or data=journal data). */
static void free_block(struct jfs_fs *fs, uint32_t blk, bool meta)
{
	blk &= JFS_BLKMASK;
	bit_set(fs, fs->g.bbm_start, blk, false);
	if (fs->dry)
		return;
	fs->busy[blk] = fs->run->tid;		/* M4 */
	jfs_u32v_push(&fs->run->freed, blk);
	jfs_journal_forget(fs, blk, meta);	/* F7 */
}

static int alloc_inode(struct jfs_fs *fs, uint32_t type, uint32_t parent, uint32_t *out)
{
	for (uint32_t i = JFS_ROOT_INO + 1; i <= fs->g.ninodes; i++) {
		uint8_t *p;
		if (bit_get(fs, fs->g.ibm_start, i))
			continue;
		bit_set(fs, fs->g.ibm_start, i, true);
		p = jfs_inode_write(fs, i);
		memset(p, 0, JFS_INODE_SIZE);
		jfs_put16(p + JFS_I_MODE, (uint16_t)type);
		jfs_put16(p + JFS_I_LINKS, type == JFS_T_DIR ? 2 : 1);
		jfs_put32(p + JFS_I_PARENT, parent);
		jfs_put32(p + JFS_I_GEN, ++fs->next_gen);
		fs->ino[i].size = 0;
		fs->ino[i].flags = 0;
		fs->ino[i].datasync_tid = fs->run->tid;
		*out = i;
		return 0;
	}
	return jfs_errf(fs, "the inode table is full (%" PRIu32 " inodes; raise jfs.inodes)",
			fs->g.ninodes);
}

/* ---- block maps ---- */

/* Pointer slot for LBLK: its block and byte offset; allocating indirect
 * blocks on the way when ALLOC.  *blk = 0 when absent. */
static int bmap_slot(struct jfs_fs *fs, uint32_t ino, uint64_t lblk, bool alloc,
		     uint32_t *sblk, uint32_t *soff)
{
	uint32_t P = fs->pperblk, ioff, iblk = ino_blk(fs, ino, &ioff);
	uint32_t ptr_off, ind;
	uint64_t l = lblk;

	if (l < JFS_NDIRECT) {
		*sblk = iblk;
		*soff = ioff + JFS_I_BLOCK + 4 * (uint32_t)l;
		return 0;
	}
	l -= JFS_NDIRECT;
	if (l < P) {
		ptr_off = ioff + JFS_I_IND;
	} else {
		l -= P;
		if (l >= (uint64_t)P * P)
			return jfs_errf(fs, "file too large for the block map (%" PRIu64
					" blocks; raise jfs.block_size)", lblk);
		ptr_off = ioff + JFS_I_DIND;
	}
	ind = jfs_get32(jfs_meta_read(fs, iblk) + ptr_off);
	if (!ind) {
		if (!alloc) {
			*sblk = 0;
			return 0;
		}
		if (alloc_block(fs, &ind))
			return -1;
		meta_new(fs, ind);
		jfs_put32(jfs_inode_write(fs, ino) + (ptr_off - ioff), ind);
	}
	if (ptr_off == ioff + JFS_I_DIND) {
		uint32_t o = 4 * (uint32_t)(l / P), ind2 = jfs_get32(jfs_meta_read(fs, ind) + o);
		if (!ind2) {
			if (!alloc) {
				*sblk = 0;
				return 0;
			}
			if (alloc_block(fs, &ind2))
				return -1;
			meta_new(fs, ind2);
			jfs_put32(jfs_meta_write(fs, ind) + o, ind2);
		}
		ind = ind2;
		l %= P;
	}
	*sblk = ind;
	*soff = 4 * (uint32_t)l;
	return 0;
}

int jfs_bmap(struct jfs_fs *fs, uint32_t ino, uint64_t lblk, bool alloc, bool unwritten,
	     uint32_t *pblk)
{
	uint32_t sblk, soff, b;

	*pblk = 0;
	if (bmap_slot(fs, ino, lblk, alloc, &sblk, &soff))
		return -1;
	if (!sblk)
		return 0;
	b = jfs_get32(jfs_meta_read(fs, sblk) + soff);
	if (!b && alloc) {
		if (alloc_block(fs, &b))
			return -1;
		if (unwritten)
			b |= JFS_UNWRITTEN;
		jfs_put32(jfs_meta_write(fs, sblk) + soff, b);
		if (sblk == ino_blk(fs, ino, &soff) && !fs->dry)
			fs->ino[ino].sync_tid = fs->run->tid;
		if (!fs->dry) {
			fs->ino[ino].datasync_tid = fs->run->tid;
			jfs_gap_touch(fs, ino);	/* M9 */
		}
	}
	*pblk = b;
	return 0;
}

void jfs_bmap_set_written(struct jfs_fs *fs, uint32_t ino, uint64_t lblk)
{
	uint32_t sblk, soff, b;

	if (bmap_slot(fs, ino, lblk, false, &sblk, &soff) || !sblk)
		return;
	b = jfs_get32(jfs_meta_read(fs, sblk) + soff);
	if (b & JFS_UNWRITTEN) {
		jfs_put32(jfs_meta_write(fs, sblk) + soff, b & JFS_BLKMASK);
		if (!fs->dry) {
			fs->ino[ino].datasync_tid = fs->run->tid;
			jfs_gap_touch(fs, ino);	/* M9 */
			jfs_gap_alloc(fs, b & JFS_BLKMASK);
		}
	}
}

/* Free mapped blocks of logical range [a, b) (b = UINT64_MAX: to the end,
 * with the indirect blocks that become wholly unused). */
static void free_range(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b)
{
	uint32_t P = fs->pperblk, ioff, iblk = ino_blk(fs, ino, &ioff);
	bool to_end = b == UINT64_MAX;
	uint32_t ind, dind, t = jfs_get16(jfs_inode_read(fs, ino) + JFS_I_MODE);
	bool meta = t == JFS_T_DIR || t == JFS_T_LNK || fs->o.data == JFS_DATA_JOURNAL;

	for (uint64_t l = a; l < JFS_NDIRECT && l < b; l++) {
		uint32_t o = ioff + JFS_I_BLOCK + 4 * (uint32_t)l;
		uint32_t x = jfs_get32(jfs_meta_read(fs, iblk) + o);
		if (x) {
			jfs_put32(jfs_inode_write(fs, ino) + (o - ioff), 0);
			free_block(fs, x, meta);
		}
	}
	/* single indirect: logical JFS_NDIRECT .. +P */
	ind = jfs_get32(jfs_inode_read(fs, ino) + JFS_I_IND);
	if (ind && b > JFS_NDIRECT) {
		uint64_t lo = a > JFS_NDIRECT ? a - JFS_NDIRECT : 0;
		uint64_t hi = b - JFS_NDIRECT < P ? b - JFS_NDIRECT : P;
		for (uint64_t i = lo; i < hi; i++) {
			uint32_t x = jfs_get32(jfs_meta_read(fs, ind) + 4 * i);
			if (x) {
				jfs_put32(jfs_meta_write(fs, ind) + 4 * i, 0);
				free_block(fs, x, meta);
			}
		}
		if (to_end && a <= JFS_NDIRECT) {
			jfs_put32(jfs_inode_write(fs, ino) + JFS_I_IND, 0);
			free_block(fs, ind, true);
		}
	}
	dind = jfs_get32(jfs_inode_read(fs, ino) + JFS_I_DIND);
	if (dind && b > JFS_NDIRECT + (uint64_t)P) {
		uint64_t base = JFS_NDIRECT + (uint64_t)P;
		for (uint32_t j = 0; j < P; j++) {
			uint64_t s = base + (uint64_t)j * P, e = s + P;
			uint32_t i2 = jfs_get32(jfs_meta_read(fs, dind) + 4 * j);
			if (!i2 || e <= a || s >= b)
				continue;
			for (uint64_t l = s > a ? s : a; l < e && l < b; l++) {
				uint32_t x = jfs_get32(jfs_meta_read(fs, i2) + 4 * (l - s));
				if (x) {
					jfs_put32(jfs_meta_write(fs, i2) + 4 * (l - s), 0);
					free_block(fs, x, meta);
				}
			}
			if (to_end && a <= s) {
				jfs_put32(jfs_meta_write(fs, dind) + 4 * j, 0);
				free_block(fs, i2, true);
			}
		}
		if (to_end && a <= base) {
			jfs_put32(jfs_inode_write(fs, ino) + JFS_I_DIND, 0);
			free_block(fs, dind, true);
		}
	}
}

/* ---- pages (M3) ---- */

static uint32_t page_find(struct jfs_fs *fs, uint32_t ino, uint64_t pg)
{
	struct jfs_inode *in = &fs->ino[ino];
	return pg < in->npages ? in->pages[pg] : 0;
}

static uint32_t page_get(struct jfs_fs *fs, uint32_t ino, uint64_t pg)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t s;

	if (pg > UINT32_MAX / 2)
		abort();
	if (pg >= in->npages) {
		uint32_t nc = in->npages ? in->npages : 8;
		while (nc <= pg)
			nc *= 2;
		in->pages = xrealloc(in->pages, nc * sizeof(*in->pages));
		memset(in->pages + in->npages, 0, (nc - in->npages) * sizeof(*in->pages));
		in->npages = nc;
	}
	if (in->pages[pg])
		return in->pages[pg];
	if (fs->free_pages.n) {
		s = fs->free_pages.v[--fs->free_pages.n];
	} else {
		if (fs->npages == fs->pagecap) {
			fs->pagecap = fs->pagecap ? fs->pagecap * 2 : 64;
			fs->pages = xrealloc(fs->pages, fs->pagecap * sizeof(*fs->pages));
		}
		s = fs->npages++;
		fs->pages[s].data = xrealloc(NULL, fs->g.bsize);
	}
	fs->pages[s].ino = ino;
	fs->pages[s].pgno = (uint32_t)pg;
	fs->pages[s].flags = 0;
	fs->pages[s].jtid = 0;
	fs->pages[s].hist = 0;
	fs->pages[s].nhist = 0;
	fs->pages[s].nclean = 0;
	fs->pages[s].settle_to = 0;
	memset(fs->pages[s].data, 0, fs->g.bsize);
	in->pages[pg] = s;
	return s;
}

/* ---- page history (M7, M8, F15) ---- */

/* Forget page S's records (not its M8 entries). */
static void hist_free(struct jfs_fs *fs, uint32_t s)
{
	struct jfs_hist *h = &fs->hist;
	struct jfs_page *p = &fs->pages[s];

	for (uint32_t i = p->hist; i; i = h->r[i - 1].prev) {
		h->live_r--;
		h->live_b -= h->r[i - 1].len;
	}
	p->hist = 0;
	p->nhist = 0;
	if (h->pending == s)
		h->pending = 0;
}

void jfs_hist_reset(struct jfs_fs *fs, uint32_t s)
{
	struct jfs_page *p = &fs->pages[s];

	hist_free(fs, s);
	if (p->nclean) {			/* M8: its entries go too */
		uint32_t k = 0;
		for (uint32_t i = 0; i < fs->nuns; i++)
			if (fs->uns[i].page != s)
				fs->uns[k++] = fs->uns[i];
		fs->nuns = k;
		p->nclean = 0;
	}
}

/* M8: drop the T oldest versions of page S (they lie under a write that
 * is durable now); the oldest kept record becomes record 1, never undone. */
static void hist_trim(struct jfs_fs *fs, uint32_t s, uint32_t t)
{
	struct jfs_hist *h = &fs->hist;
	struct jfs_page *p = &fs->pages[s];
	uint32_t i = p->hist;

	if (t >= p->nhist) {
		hist_free(fs, s);
		return;
	}
	for (uint32_t k = p->nhist - t; k > 1; k--)
		i = h->r[i - 1].prev;
	{
		struct jfs_pgrec *r = &h->r[i - 1];
		uint32_t old = r->prev;
		h->live_b -= r->len;
		r->len = 0;
		r->prev = 0;
		for (; old; old = h->r[old - 1].prev) {
			h->live_r--;
			h->live_b -= h->r[old - 1].len;
		}
	}
	p->nhist -= t;
}

void jfs_hist_settle(struct jfs_fs *fs)
{
	uint64_t gen;
	uint32_t k = 0;

	if (!fs->nuns)
		return;
	gen = fs->dev.durable_gen(fs->dev.ctx);
	if (gen == fs->uns_gen)
		return;			/* nothing became durable since */
	fs->uns_gen = gen;
	fs->uns_pages.n = 0;
	/* the newest durable write of each page */
	for (uint32_t i = 0; i < fs->nuns; i++) {
		const struct jfs_unsettled *e = &fs->uns[i];
		struct jfs_page *p = &fs->pages[e->page];
		if (fs->dev.may_lose(fs->dev.ctx, e->bio, e->off, fs->g.bsize))
			continue;
		if (!p->settle_to)
			jfs_u32v_push(&fs->uns_pages, e->page);
		if (e->ver > p->settle_to)
			p->settle_to = e->ver;
	}
	if (!fs->uns_pages.n)
		return;
	/* its versions and every older entry of the page go; the newer
	 * entries' versions move down */
	for (uint32_t i = 0; i < fs->nuns; i++) {
		struct jfs_unsettled e = fs->uns[i];
		struct jfs_page *p = &fs->pages[e.page];
		uint32_t t = p->settle_to;
		if (t && !(p->flags & JFS_PG_TRIMMED)) {
			hist_trim(fs, e.page, t);
			p->flags |= JFS_PG_TRIMMED;
		}
		if (t && e.ver <= t) {
			p->nclean--;
			continue;
		}
		e.ver -= t;
		fs->uns[k++] = e;
	}
	fs->nuns = k;
	for (uint32_t i = 0; i < fs->uns_pages.n; i++) {
		struct jfs_page *p = &fs->pages[fs->uns_pages.v[i]];
		p->settle_to = 0;
		p->flags &= ~JFS_PG_TRIMMED;
		if (!p->nclean && !(p->flags & JFS_PG_DIRTY))
			hist_free(fs, fs->uns_pages.v[i]);	/* M7 */
	}
}

/* Copy every page's records into the spare arrays, oldest first and
 * each page's together, then swap: garbage (records of pages since
 * cleaned) disappears.  Capacities only grow, so a steady state
 * allocates nothing. */
static void hist_compact(struct jfs_fs *fs)
{
	struct jfs_hist *h = &fs->hist;
	uint32_t nr = 0;
	size_t nb = 0;

	if (h->r2cap < h->rcap) {
		h->r2 = xrealloc(h->r2, h->rcap * sizeof(*h->r2));
		h->r2cap = h->rcap;
	}
	if (h->b2cap < h->bcap) {
		h->b2 = xrealloc(h->b2, h->bcap);
		h->b2cap = h->bcap;
	}
	for (uint32_t s = 1; s < fs->npages; s++) {
		struct jfs_page *p = &fs->pages[s];
		uint32_t j = p->nhist;
		size_t bytes = 0, at;

		if (!p->hist)
			continue;
		for (uint32_t i = p->hist; i; i = h->r[i - 1].prev)
			bytes += h->r[i - 1].len;
		at = nb + bytes;
		for (uint32_t i = p->hist; i; i = h->r[i - 1].prev) {
			const struct jfs_pgrec *r = &h->r[i - 1];
			j--;
			at -= r->len;
			memcpy(h->b2 + at, h->b + r->at, r->len);
			h->r2[nr + j] = (struct jfs_pgrec){ .prev = j ? nr + j : 0, .off = r->off,
							    .len = r->len, .at = at };
		}
		p->hist = nr + p->nhist;
		nr += p->nhist;
		nb += bytes;
	}
	{
		struct jfs_pgrec *tr = h->r;
		uint8_t *tb = h->b;
		uint32_t trc = h->rcap;
		size_t tbc = h->bcap;
		h->r = h->r2;
		h->rcap = h->r2cap;
		h->r2 = tr;
		h->r2cap = trc;
		h->b = h->b2;
		h->bcap = h->b2cap;
		h->b2 = tb;
		h->b2cap = tbc;
	}
	h->nr = nr;
	h->nb = nb;
	h->compactions++;
}

/* Room for one more record of LEN bytes. */
static void hist_reserve(struct jfs_fs *fs, uint32_t len)
{
	struct jfs_hist *h = &fs->hist;

	if (h->nr < h->rcap && h->nb + len <= h->bcap)
		return;
	if ((h->nr - h->live_r) * 2 >= h->nr || (h->nb - h->live_b) * 2 >= h->nb)
		hist_compact(fs);
	if (h->nr >= h->rcap) {
		uint32_t nc = h->rcap ? h->rcap : 64;
		while (nc <= h->nr)
			nc *= 2;
		h->r = xrealloc(h->r, nc * sizeof(*h->r));
		h->rcap = nc;
	}
	if (h->nb + len > h->bcap) {
		size_t nc = h->bcap ? h->bcap : 65536;
		while (nc < h->nb + len)
			nc *= 2;
		h->b = xrealloc(h->b, nc);
		h->bcap = nc;
	}
}

void jfs_hist_save(struct jfs_fs *fs, uint32_t s, uint32_t off, uint32_t len)
{
	struct jfs_hist *h = &fs->hist;
	struct jfs_page *p = &fs->pages[s];

	h->pending = 0;
	if (fs->env->no_crash_states)
		return;		/* `run`: no one asks for page versions (M7) */
	if (fs->gap_start && !fs->gap_open && !fs->dry && fs->o.data != JFS_DATA_JOURNAL && len)
		jfs_gap_page_change(fs, s);	/* M9 */
	if (fs->dry || fs->o.data == JFS_DATA_JOURNAL || !len)
		return;				/* no page write-back to explore */
	if (!(p->flags & JFS_PG_DIRTY) && !p->nclean)
		jfs_hist_reset(fs, s);		/* M7: a clean page has none (M8) */
	hist_reserve(fs, len);
	h->r[h->nr] = (struct jfs_pgrec){ .prev = p->hist, .off = off, .len = len,
					   .at = h->nb };
	memcpy(h->b + h->nb, p->data + off, len);
	h->nb += len;
	p->hist = ++h->nr;
	p->nhist++;
	h->live_r++;
	h->live_b += len;
	h->records++;
	h->pending = s;
}

void jfs_hist_done(struct jfs_fs *fs, uint32_t s, bool written)
{
	struct jfs_hist *h = &fs->hist;
	struct jfs_page *p = &fs->pages[s];

	if (h->pending != s)
		return;
	h->pending = 0;
	{
		struct jfs_pgrec *r = &h->r[p->hist - 1];
		if (!memcmp(h->b + r->at, p->data + r->off, r->len)) {
			/* the bytes did not change: no new version (the record
			 * is the arena's last: pop it) */
			h->nr--;
			h->nb -= r->len;
			h->live_r--;
			h->live_b -= r->len;
			h->records--;
			p->hist = r->prev;
			p->nhist--;
		} else if (!r->prev) {
			/* the page's oldest record is never undone (version 1
			 * is the page after it): drop its bytes, the arena's
			 * last */
			h->nb -= r->len;
			h->live_b -= r->len;
			r->len = 0;
		}
	}
	/* a version the page held before its block was allocated and
	 * written cannot be on that block (M7) -- except under
	 * data=writeback, where a background write-back of a page that
	 * needs allocation may have written any version to the block the
	 * commit at the crash point gives it (F18) */
	if (!written && fs->o.data != JFS_DATA_WRITEBACK)
		jfs_hist_reset(fs, s);
}

const uint8_t *jfs_hist_version(struct jfs_fs *fs, uint32_t s, uint32_t k)
{
	struct jfs_hist *h = &fs->hist;
	const struct jfs_page *p = &fs->pages[s];
	uint32_t i = p->hist;

	if (!k)
		abort();			/* version 0 is on the device, not here */
	if (!i || k >= p->nhist)
		return p->data;
	memcpy(h->ver, p->data, fs->g.bsize);
	for (uint32_t j = p->nhist; j > k; j--) {
		const struct jfs_pgrec *r = &h->r[i - 1];
		memcpy(h->ver + r->off, h->b + r->at, r->len);
		i = r->prev;
	}
	return h->ver;
}

static void page_set_dirty(struct jfs_fs *fs, uint32_t s, bool dirty)
{
	struct jfs_page *p = &fs->pages[s];
	struct jfs_inode *in = &fs->ino[p->ino];

	if (dirty && !(p->flags & JFS_PG_DIRTY)) {
		p->flags |= JFS_PG_DIRTY;
		p->dirty_ev = fs->ev_seq;	/* M9 */
		in->ndirty++;
		fs->ndirty++;
		jfs_inode_dirtied(fs, in);
	} else if (!dirty && (p->flags & JFS_PG_DIRTY)) {
		p->flags &= ~JFS_PG_DIRTY;
		in->ndirty--;
		fs->ndirty--;
		jfs_inode_cleaned(in);
		jfs_hist_reset(fs, s);		/* M7 */
	}
}

/* F28: IN got its first dirty page (or DAX tag) since it was clean: it
 * joins the flusher's list now (__mark_inode_dirty sets dirtied_when only
 * when the inode was clean). */
void jfs_inode_dirtied(struct jfs_fs *fs, struct jfs_inode *in)
{
	if (in->wb_dirty)
		return;
	in->wb_dirty = true;
	in->dirtied_when = fs->env->clock->now;
	if (in->dirtied_when < fs->wb_oldest)
		fs->wb_oldest = in->dirtied_when;
}

/* F28: nothing of IN is dirty any more: off the list, and a later
 * dirtying starts a new age. */
void jfs_inode_cleaned(struct jfs_inode *in)
{
	if (!in->ndirty && !in->dax_ntag)
		in->wb_dirty = false;
}

void jfs_page_clean(struct jfs_fs *fs, uint32_t s, uint64_t off)
{
	struct jfs_page *p = &fs->pages[s];
	struct jfs_inode *in = &fs->ino[p->ino];

	/* M8: the write just sent may be lost, and the block then hold an
	 * older version the flusher may have written back before it; keep
	 * the history if it has one besides the version that write carries */
	if (!(p->flags & JFS_PG_DIRTY) || !fs->dev.may_lose || !fs->env->cfg->background ||
	    fs->env->no_crash_states ||
	    (p->nhist < 2 && !p->nclean) ||
	    !fs->dev.may_lose(fs->dev.ctx, fs->last_bio, off, fs->g.bsize)) {
		page_set_dirty(fs, s, false);
		return;
	}
	p->flags &= ~JFS_PG_DIRTY;
	in->ndirty--;
	fs->ndirty--;
	jfs_inode_cleaned(in);
	if (fs->nuns == fs->unscap) {
		fs->unscap = fs->unscap ? fs->unscap * 2 : 16;
		fs->uns = xrealloc(fs->uns, fs->unscap * sizeof(*fs->uns));
	}
	fs->uns[fs->nuns++] = (struct jfs_unsettled){ .bio = fs->last_bio, .off = off,
						     .page = s, .ver = p->nhist };
	p->nclean++;
}

static void page_drop(struct jfs_fs *fs, uint32_t ino, uint64_t pg)
{
	uint32_t s = page_find(fs, ino, pg);

	if (!s)
		return;
	page_set_dirty(fs, s, false);
	jfs_hist_reset(fs, s);
	if (fs->pages[s].jtid && fs->pages[s].jtid == fs->run->tid) {
		/* a data=journal page leaving the running txn */
		for (uint32_t i = 0; i < fs->run->njb; i++)
			if (fs->run->jb[i].data && fs->run->jb[i].src == s) {
				fs->run->jb[i] = fs->run->jb[--fs->run->njb];
				break;
			}
		fs->pages[s].jtid = 0;
	}
	fs->ino[ino].pages[pg] = 0;
	jfs_u32v_push(&fs->free_pages, s);
}

/* ---- sizes ---- */

static uint64_t disksize(struct jfs_fs *fs, uint32_t ino)
{
	return jfs_get64(jfs_inode_read(fs, ino) + JFS_I_SIZE);
}

void jfs_set_disksize(struct jfs_fs *fs, uint32_t ino, uint64_t sz)
{
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_SIZE, sz);
	if (!fs->dry)
		fs->ino[ino].datasync_tid = fs->run->tid;	/* M9: jfs_inode_write touched */
}

static uint32_t itype(struct jfs_fs *fs, uint32_t ino)
{
	return jfs_get16(jfs_inode_read(fs, ino) + JFS_I_MODE);
}

/* ---- write-back (F11) ---- */

bool jfs_inode_needs_alloc(struct jfs_fs *fs, uint32_t ino)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint64_t end = (in->size + fs->g.bsize - 1) / fs->g.bsize;

	if (!in->ndirty)
		return false;
	for (uint64_t pg = 0; pg < in->npages && pg < end; pg++) {
		uint32_t s = in->pages[pg], b;
		if (!s || !(fs->pages[s].flags & JFS_PG_DIRTY))
			continue;
		if (jfs_bmap(fs, ino, pg, false, false, &b) || !b || (b & JFS_UNWRITTEN))
			return true;
	}
	return false;
}

bool jfs_inode_has_delayed(struct jfs_fs *fs, uint32_t ino)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint64_t end = (in->size + fs->g.bsize - 1) / fs->g.bsize;

	if (!in->ndirty || !fs->o.delalloc)
		return false;
	for (uint64_t pg = 0; pg < in->npages && pg < end; pg++) {
		uint32_t s = in->pages[pg], b;
		if (!s || !(fs->pages[s].flags & JFS_PG_DIRTY))
			continue;
		if (jfs_bmap(fs, ino, pg, false, false, &b) || !b)
			return true;
	}
	return false;
}

/* F12: ext4_alloc_da_blocks -- filemap_flush (write-back of every dirty
 * page of the file, no wait) only when the file has blocks reserved for
 * delayed allocation (i_reserved_data_blocks); an unwritten extent
 * written over reserves none, nor does an allocated page. */
static int alloc_da_blocks(struct jfs_fs *fs, uint32_t ino)
{
	if (!jfs_inode_has_delayed(fs, ino))
		return 0;
	return jfs_writeback_inode(fs, ino, false);
}

int jfs_writeback_inode(struct jfs_fs *fs, uint32_t ino, bool wait)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint64_t end = (in->size + fs->g.bsize - 1) / fs->g.bsize;
	uint32_t bs = fs->g.bsize;

	if (!in->ndirty)
		return wait ? jfs_wait_wb(fs, ino) : 0;
	for (uint64_t pg = 0; pg < in->npages; pg++) {
		uint32_t s = in->pages[pg], b;
		bool newly = false;

		if (!s || !(fs->pages[s].flags & JFS_PG_DIRTY))
			continue;
		if (pg >= end) {		/* beyond EOF: nothing to write */
			if (!fs->dry)
				page_set_dirty(fs, s, false);
			continue;
		}
		if (!fs->dry && jfs_handle_start(fs, 8))
			return -1;
		if (jfs_bmap(fs, ino, pg, false, false, &b))
			return -1;
		if (!b) {			/* F11: delayed allocation happens now */
			if (jfs_bmap(fs, ino, pg, true, false, &b))
				return -1;
			newly = true;
		} else if (b & JFS_UNWRITTEN) {	/* unwritten extent conversion */
			jfs_bmap_set_written(fs, ino, pg);
			b &= JFS_BLKMASK;
			newly = true;
		}
		if (newly) {
			uint64_t e = (pg + 1) * bs < in->size ? (pg + 1) * bs : in->size;
			if (e > disksize(fs, ino))
				jfs_set_disksize(fs, ino, e);
			if (!fs->dry && fs->o.data == JFS_DATA_ORDERED)
				jfs_journal_add_ordered(fs, ino);
		}
		if (jfs_out_block(fs, (uint64_t)b * bs, fs->pages[s].data, 0, &fs->wb_ios,
				  "write-back bio"))
			return -1;
		if (!fs->dry) {
			jfs_u32v_push(&fs->wb_ino, ino);
			jfs_page_clean(fs, s, (uint64_t)b * bs);
		}
	}
	/* filemap_write_and_wait_range: this file's write-back only */
	return wait ? jfs_wait_wb(fs, ino) : 0;
}

static int writeback_all(struct jfs_fs *fs, bool wait)
{
	for (uint32_t i = 1; i <= fs->g.ninodes; i++)
		if (fs->ino[i].ndirty && jfs_writeback_inode(fs, i, false))
			return -1;
	return wait ? jfs_wait_wb(fs, 0) : 0;
}

/* ---- file contents ---- */

/*
 * The block map's reach (ext4's s_maxbytes): a file's blocks are
 * [0, max_blocks).  Every call that sets a size or names a range to write
 * or allocate is checked against it at its edge, before any side effect:
 * a size beyond it made later writes and punches work page by page near
 * 2^64 (an abort in the page cache, a loop that never ended), and a call
 * refused half-way had already reached crash points that showed it to the
 * judges (found by tests/fuzz_sim.c).
 */
static uint64_t max_blocks(const struct jfs_fs *fs)
{
	uint64_t P = fs->pperblk;
	return JFS_NDIRECT + P + P * P;
}

static int too_large(struct jfs_fs *fs, uint64_t blocks)
{
	return jfs_errf(fs, "file too large for the block map (%" PRIu64
			" blocks; raise jfs.block_size)", blocks);
}

static int fs_full(struct jfs_fs *fs)
{
	return jfs_errf(fs, "the filesystem is full (%" PRIu32 " blocks of %" PRIu32
			" bytes; raise jfs.blocks)", fs->g.nblocks, fs->g.bsize);
}

/* Could the holes of INO in [OFF, OFF+LEN) (within reach) ever get a block
 * each?  Not if there are more of them than the filesystem has data
 * blocks: such a write or fallocate is refused before it starts, as ext4
 * refuses to reserve or map the blocks, instead of at the block where
 * the space ran out -- by then it had reached crash points, and the
 * judges had followed it whole, gigabytes of it (tests/fuzz_sim.c).
 * O(blocks of the range), at most one more than the data blocks. */
static int check_space(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len)
{
	uint64_t data = fs->g.nblocks - fs->g.data_start, holes = 0;
	uint32_t b;

	for (uint64_t lb = off / fs->g.bsize; len && lb <= (off + len - 1) / fs->g.bsize; lb++) {
		if (jfs_bmap(fs, ino, lb, false, false, &b))
			return -1;
		if (!b && ++holes > data)
			return fs_full(fs);
	}
	return 0;
}

/* [OFF, OFF+LEN) (not wrapping) within reach?  0, or -1 with the message
 * bmap gives for the first block out of reach. */
static int check_reach(struct jfs_fs *fs, uint64_t off, uint64_t len)
{
	uint64_t first = off / fs->g.bsize, max = max_blocks(fs);

	if (!len || (off + len - 1) / fs->g.bsize < max)
		return 0;
	return too_large(fs, first > max ? first : max);
}

/* Copy LEN bytes of payload P (from POFF) into INO at OFF (F10, F11). */
static int file_write(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len,
		      const struct trace_payload *p, uint64_t poff, bool extend)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t bs = fs->g.bsize;
	uint64_t done = 0;

	while (done < len) {
		uint64_t pos = off + done, pg = pos / bs;
		uint32_t in_pg = (uint32_t)(pos % bs);
		uint64_t n = bs - in_pg;
		uint32_t s, b;
		bool written;

		if (n > len - done)
			n = len - done;
		if (jfs_handle_start(fs, 8))
			return -1;
		s = page_get(fs, ino, pg);
		jfs_hist_save(fs, s, in_pg, (uint32_t)n);	/* M7 */
		trace_payload_read(p, poff + done, fs->pages[s].data + in_pg, (size_t)n);
		fs->env->clock->now += fs->copy_cycles * ((n + 4095) / 4096);
		if (jfs_bmap(fs, ino, pg, false, false, &b))
			return -1;
		if (fs->o.data == JFS_DATA_JOURNAL) {
			/* F9: data journaled with the metadata */
			if (!b && jfs_bmap(fs, ino, pg, true, false, &b))
				return -1;
			if (b & JFS_UNWRITTEN)
				jfs_bmap_set_written(fs, ino, pg);
			jfs_journal_page(fs, s, b & JFS_BLKMASK);
			written = true;
		} else {
			if (!b && !fs->o.delalloc) {
				/* F11: nodelalloc allocates at write time */
				if (jfs_bmap(fs, ino, pg, true, false, &b))
					return -1;
				if (fs->o.data == JFS_DATA_ORDERED)
					jfs_journal_add_ordered(fs, ino);
			} else if (!b && !(fs->pages[s].flags & JFS_PG_DIRTY) &&
				   fs->ndirty >= fs->g.nblocks - fs->g.data_start) {
				/* F11: delalloc reserves a block per new dirty
				 * page (ext4_da_reserve_space).  Counted loosely
				 * -- every dirty page against every data block --
				 * so it refuses only what ext4 refuses; without
				 * it a write of gigabytes filled the page cache of
				 * a filesystem of kilobytes (tests/fuzz_sim.c) */
				return fs_full(fs);
			}
			page_set_dirty(fs, s, true);
			written = b && !(b & JFS_UNWRITTEN);
			jfs_hist_done(fs, s, written);		/* M7 */
		}
		if (extend && pos + n > in->size)
			in->size = pos + n;
		if (written) {
			/* the block is there: i_disksize follows i_size now
			 * (ext4_da_should_update_i_disksize) */
			uint64_t e = (pg + 1) * bs < in->size ? (pg + 1) * bs : in->size;
			if (e > disksize(fs, ino)) {
				jfs_set_disksize(fs, ino, e);
				/* a larger i_disksize over dirty data: order it, or a
				 * commit would expose the block's old tail (ext4
				 * 06bd3c36a733, "fix data exposure after a crash") */
				if (fs->o.data == JFS_DATA_ORDERED)
					jfs_journal_add_ordered(fs, ino);
			}
		}
		done += n;
	}
	/* file_update_time(): the inode is dirtied in the running txn */
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
	return 0;
}

/* Truncate or extend INO to SIZE (ftruncate, O_TRUNC). */
static int file_set_size(struct jfs_fs *fs, uint32_t ino, uint64_t size)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t bs = fs->g.bsize;
	uint64_t keep = size / bs + (size % bs != 0);	/* no wrap near 2^64 */

	if (keep > max_blocks(fs))
		return too_large(fs, keep);
	if (jfs_handle_start(fs, 16))
		return -1;
	if (size < in->size) {
		/* truncate_pagecache waits for pages under write-back before
		 * the blocks are freed (the whole file's here) */
		if (jfs_wait_wb(fs, ino))
			return -1;
		for (uint64_t pg = keep; pg < in->npages; pg++)
			page_drop(fs, ino, pg);
		if (fs->o.dax) {
			/* F25: dax_zero_page_range of the last block's tail */
			if (size % bs && jfs_dax_zero_range(fs, ino, size, bs - size % bs))
				return -1;
			jfs_dax_forget(fs, ino, keep, UINT64_MAX);
		} else if (size % bs) {
			uint32_t s = page_find(fs, ino, size / bs);
			if (s) {	/* zero the tail of the last page */
				uint32_t b;
				if (jfs_bmap(fs, ino, size / bs, false, false, &b))
					return -1;
				jfs_hist_save(fs, s, (uint32_t)(size % bs),
					      (uint32_t)(bs - size % bs));	/* M7 */
				memset(fs->pages[s].data + size % bs, 0, bs - size % bs);
				if (fs->o.data == JFS_DATA_JOURNAL) {
					if (b)
						jfs_journal_page(fs, s, b & JFS_BLKMASK);
				} else {
					page_set_dirty(fs, s, true);
					jfs_hist_done(fs, s, b && !(b & JFS_UNWRITTEN));
				}
			}
		}
		free_range(fs, ino, keep, UINT64_MAX);
	}
	in->size = size;
	jfs_set_disksize(fs, ino, size);
	if (size == 0 && fs->o.auto_da_alloc && fs->o.delalloc)
		in->flags |= JFS_IN_DA_ALLOC_CLOSE;	/* F12 */
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
	return 0;
}

/* ---- inodes: free ---- */

static void inode_free(struct jfs_fs *fs, uint32_t ino)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t x;

	for (uint64_t pg = 0; pg < in->npages; pg++)
		page_drop(fs, ino, pg);
	jfs_dax_forget(fs, ino, 0, UINT64_MAX);
	free_range(fs, ino, 0, UINT64_MAX);
	x = jfs_get32(jfs_inode_read(fs, ino) + JFS_I_XATTR);
	if (x)
		free_block(fs, x, true);
	memset(jfs_inode_write(fs, ino), 0, JFS_INODE_SIZE);
	bit_set(fs, fs->g.ibm_start, ino, false);
	in->size = 0;
	in->flags = 0;
	in->ndirty = 0;
	in->wb_dirty = false;
}

/* ---- directories ---- */

struct jfs_dpos {
	uint32_t blk;			/* directory block */
	uint32_t off;			/* entry offset in it */
};

static uint32_t dir_nblocks(struct jfs_fs *fs, uint32_t dir)
{
	return (uint32_t)(disksize(fs, dir) / fs->g.bsize);
}

static uint32_t dir_find(struct jfs_fs *fs, uint32_t dir, const char *name, size_t len,
			 struct jfs_dpos *pos)
{
	uint32_t nb = dir_nblocks(fs, dir), per = fs->g.bsize / JFS_DIRENT;

	for (uint32_t i = 0; i < nb; i++) {
		uint32_t b;
		const uint8_t *d;
		if (jfs_bmap(fs, dir, i, false, false, &b) || !b)
			continue;
		d = jfs_meta_read(fs, b);
		for (uint32_t k = 0; k < per; k++) {
			const uint8_t *e = d + k * JFS_DIRENT;
			uint32_t ino = jfs_get32(e);
			if (ino && jfs_get16(e + 4) == len && !memcmp(e + 8, name, len)) {
				if (pos) {
					pos->blk = b;
					pos->off = k * JFS_DIRENT;
				}
				return ino;
			}
		}
	}
	return 0;
}

static bool dir_empty(struct jfs_fs *fs, uint32_t dir)
{
	uint32_t nb = dir_nblocks(fs, dir), per = fs->g.bsize / JFS_DIRENT;

	for (uint32_t i = 0; i < nb; i++) {
		uint32_t b;
		if (jfs_bmap(fs, dir, i, false, false, &b) || !b)
			continue;
		for (uint32_t k = 0; k < per; k++)
			if (jfs_get32(jfs_meta_read(fs, b) + k * JFS_DIRENT))
				return false;
	}
	return true;
}

static int dir_add(struct jfs_fs *fs, uint32_t dir, const char *name, size_t len,
		   uint32_t ino, uint32_t type)
{
	uint32_t nb = dir_nblocks(fs, dir), per = fs->g.bsize / JFS_DIRENT;
	uint32_t b = 0, off = 0;
	uint8_t *e;

	for (uint32_t i = 0; i < nb && !b; i++) {
		uint32_t x;
		if (jfs_bmap(fs, dir, i, false, false, &x) || !x)
			continue;
		for (uint32_t k = 0; k < per; k++)
			if (!jfs_get32(jfs_meta_read(fs, x) + k * JFS_DIRENT)) {
				b = x;
				off = k * JFS_DIRENT;
				break;
			}
	}
	if (!b) {				/* a new directory block */
		if (jfs_bmap(fs, dir, nb, true, false, &b))
			return -1;
		meta_new(fs, b);
		jfs_set_disksize(fs, dir, (uint64_t)(nb + 1) * fs->g.bsize);
		fs->ino[dir].size = (uint64_t)(nb + 1) * fs->g.bsize;
		off = 0;
	}
	e = jfs_meta_write(fs, b) + off;
	memset(e, 0, JFS_DIRENT);
	jfs_put32(e, ino);
	jfs_put16(e + 4, (uint16_t)len);
	e[6] = (uint8_t)type;
	memcpy(e + 8, name, len);
	fs->ino[dir].sync_tid = fs->run->tid;
	jfs_gap_touch(fs, dir);			/* M9 */
	return 0;
}

static void dir_remove(struct jfs_fs *fs, uint32_t dir, const struct jfs_dpos *pos)
{
	memset(jfs_meta_write(fs, pos->blk) + pos->off, 0, JFS_DIRENT);
	fs->ino[dir].sync_tid = fs->run->tid;
	jfs_gap_touch(fs, dir);			/* M9 */
}

static void dir_set(struct jfs_fs *fs, uint32_t dir, const struct jfs_dpos *pos,
		    uint32_t ino, uint32_t type)
{
	uint8_t *e = jfs_meta_write(fs, pos->blk) + pos->off;
	jfs_put32(e, ino);
	e[6] = (uint8_t)type;
	fs->ino[dir].sync_tid = fs->run->tid;
	jfs_gap_touch(fs, dir);			/* M9 */
}

/* ---- paths ---- */

enum { LK_FOUND, LK_LAST_MISSING, LK_ENOENT, LK_ENOTDIR };

struct jfs_lk {
	uint32_t dir;			/* the parent directory */
	uint32_t ino;			/* the object, if found */
	const char *name;		/* the last component */
	size_t len;
};

static int lookup(struct jfs_fs *fs, const char *path, struct jfs_lk *lk)
{
	const char *p = path;
	uint32_t cur = JFS_ROOT_INO;

	lk->dir = JFS_ROOT_INO;
	lk->ino = JFS_ROOT_INO;
	lk->name = "";
	lk->len = 0;
	for (;;) {
		const char *e;
		size_t n;
		uint32_t next;

		while (*p == '/')
			p++;
		if (!*p)
			return LK_FOUND;
		e = p;
		while (*e && *e != '/')
			e++;
		n = (size_t)(e - p);
		if (itype(fs, cur) != JFS_T_DIR)
			return LK_ENOTDIR;
		lk->dir = cur;
		lk->name = p;
		lk->len = n;
		if (n == 1 && p[0] == '.')
			next = cur;
		else if (n == 2 && p[0] == '.' && p[1] == '.')
			next = jfs_get32(jfs_inode_read(fs, cur) + JFS_I_PARENT);
		else
			next = n <= JFS_NAME_MAX ? dir_find(fs, cur, p, n, NULL) : 0;
		p = e;
		while (*p == '/')
			p++;
		if (!next)
			return *p ? LK_ENOENT : LK_LAST_MISSING;
		cur = next;
		lk->ino = cur;
	}
}

/* ---- failed calls ---- */

enum { FE_ENOENT, FE_EEXIST, FE_ENOTDIR, FE_EISDIR, FE_ENOTEMPTY, FE_EBADF,
       FE_EINVAL, FE_OTHER };

static int call_failed(struct jfs_fs *fs, int which)
{
	fs->failed_calls++;
	fs->failed_by_errno[which]++;
	return 1;
}

static int lk_failed(struct jfs_fs *fs, int r)
{
	return call_failed(fs, r == LK_ENOTDIR ? FE_ENOTDIR : FE_ENOENT);
}

/* ---- sync paths ---- */

/* F10: fsync/fdatasync of INO (ext4_sync_file); the byte range matters
 * only to DAX's write-back (F26): the page cache is written back whole. */
int jfs_fsync_range(struct jfs_fs *fs, uint32_t ino, bool datasync, uint64_t a, uint64_t b)
{
	struct jfs_inode *in = &fs->ino[ino];
	uint32_t need;

	if (fs->o.data == JFS_DATA_JOURNAL) {
		/* ext4_force_commit for data=journal: it commits whatever
		 * runs, in every background history too (M9) */
		if (!jfs_txn_empty(fs->run)) {
			if (jfs_commit_and_wait(fs))
				return -1;
			jfs_gap_converged(fs, 0);
			return 0;
		}
		return jfs_flush_dev(fs);
	}
	if (fs->o.dax ? jfs_dax_writeback(fs, ino, a, b) : jfs_writeback_inode(fs, ino, true))
		return -1;
	need = datasync ? in->datasync_tid : in->sync_tid;
	if (need > fs->last_committed && need == fs->run->tid && !jfs_txn_empty(fs->run)) {
		if (jfs_commit_and_wait(fs))
			return -1;
		jfs_gap_converged(fs, ino);	/* M9 */
		return 0;
	}
	/* nothing to commit: the data written in place must still be made
	 * durable (needs_barrier in ext4_sync_file) */
	return jfs_flush_dev(fs);
}

static int do_fsync(struct jfs_fs *fs, uint32_t ino, bool datasync)
{
	return jfs_fsync_range(fs, ino, datasync, 0, UINT64_MAX);
}

static int do_sync(struct jfs_fs *fs)
{
	if (fs->o.dax ? jfs_dax_writeback(fs, 0, 0, UINT64_MAX) : writeback_all(fs, true))
		return -1;
	if (!jfs_txn_empty(fs->run) ? jfs_commit_and_wait(fs) : jfs_flush_dev(fs))
		return -1;
	/* M9: every background history commits what still runs in it (or
	 * has nothing left to commit): its metadata is the model's again */
	jfs_gap_converged(fs, 0);
	return 0;
}

/* ---- events ---- */

static int need_fd(struct jfs_fs *fs, const struct trace_event *ev, struct jfs_fd **f)
{
	if (ev->fd >= JFS_MAX_FD || !fs->fd[ev->fd].open)
		return jfs_errf(fs, "fd %" PRIu32 " is not open", ev->fd);
	*f = &fs->fd[ev->fd];
	return 0;
}

static bool path_ok(struct jfs_fs *fs, const struct trace_str *p, const char *what)
{
	if (!p->s || p->s[0] != '/') {
		jfs_errf(fs, "%s '%.200s' is not an absolute path", what, p->s ? p->s : "");
		return false;
	}
	return true;
}

/* The last link and the last open file gone: the inode is evicted.
 * truncate_inode_pages_final waits for its pages under write-back first,
 * so no write to a block it frees is in flight once the block is free. */
static int release_inode(struct jfs_fs *fs, uint32_t ino)
{
	struct jfs_inode *in = &fs->ino[ino];

	if (!in->nopen && !in->nmap &&
	    jfs_get16(jfs_inode_read(fs, ino) + JFS_I_MODE) != JFS_T_NONE &&
	    jfs_get16(jfs_inode_read(fs, ino) + JFS_I_LINKS) == 0) {
		if (jfs_wait_wb(fs, ino))
			return -1;
		inode_free(fs, ino);
	}
	return 0;
}

static int drop_link(struct jfs_fs *fs, uint32_t ino)
{
	uint8_t *p = jfs_inode_write(fs, ino);
	uint16_t l = jfs_get16(p + JFS_I_LINKS);
	uint32_t t = jfs_get16(p + JFS_I_MODE);

	if (t == JFS_T_DIR)
		l = 0;				/* rmdir'd or replaced: gone */
	else if (l)
		l--;
	jfs_put16(p + JFS_I_LINKS, l);
	return release_inode(fs, ino);
}

static void dir_links(struct jfs_fs *fs, uint32_t dir, int delta)
{
	uint8_t *p = jfs_inode_write(fs, dir);
	jfs_put16(p + JFS_I_LINKS, (uint16_t)(jfs_get16(p + JFS_I_LINKS) + delta));
}

static int ev_open(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_lk lk;
	uint32_t fl = ev->flags, ino;
	bool wr = fl & (TRACE_O_WRONLY | TRACE_O_RDWR);
	int r;

	if (!path_ok(fs, &ev->path, "open"))
		return -1;
	if (ev->fd >= JFS_MAX_FD)
		return jfs_errf(fs, "fd %" PRIu32 " is too large (at most %u)", ev->fd,
				JFS_MAX_FD - 1);
	if (fs->fd[ev->fd].open)
		return jfs_errf(fs, "fd %" PRIu32 " is already open", ev->fd);
	r = lookup(fs, ev->path.s, &lk);
	if (r == LK_FOUND) {
		uint32_t t;
		ino = lk.ino;
		t = itype(fs, ino);
		if ((fl & TRACE_O_CREAT) && (fl & TRACE_O_EXCL))
			return call_failed(fs, FE_EEXIST);
		if (t == JFS_T_LNK)
			return call_failed(fs, FE_OTHER);	/* ELOOP */
		if ((fl & TRACE_O_DIRECTORY) && t != JFS_T_DIR)
			return call_failed(fs, FE_ENOTDIR);
		if (t == JFS_T_DIR && (wr || (fl & TRACE_O_TRUNC)))
			return call_failed(fs, FE_EISDIR);
		if ((fl & TRACE_O_TRUNC) && t == JFS_T_REG && file_set_size(fs, ino, 0))
			return -1;
	} else if (r == LK_LAST_MISSING && (fl & TRACE_O_CREAT) && !(fl & TRACE_O_DIRECTORY)) {
		if (lk.len > JFS_NAME_MAX)
			return call_failed(fs, FE_OTHER);	/* ENAMETOOLONG */
		if (jfs_handle_start(fs, 8) || alloc_inode(fs, JFS_T_REG, lk.dir, &ino) ||
		    dir_add(fs, lk.dir, lk.name, lk.len, ino, JFS_T_REG))
			return -1;
	} else {
		return lk_failed(fs, r);
	}
	fs->fd[ev->fd].open = true;
	fs->fd[ev->fd].ino = ino;
	fs->fd[ev->fd].flags = fl;
	fs->fd[ev->fd].pos = 0;
	fs->ino[ino].nopen++;
	return 0;
}

static int ev_close(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint32_t ino;

	if (need_fd(fs, ev, &f))
		return -1;
	ino = f->ino;
	f->open = false;
	if (fs->ino[ino].flags & JFS_IN_DA_ALLOC_CLOSE) {
		/* F12: ext4_release_file -> ext4_alloc_da_blocks (no wait) */
		fs->ino[ino].flags &= ~JFS_IN_DA_ALLOC_CLOSE;
		if (alloc_da_blocks(fs, ino))
			return -1;
	}
	fs->ino[ino].nopen--;
	return release_inode(fs, ino);
}

static int ev_write(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint64_t off;
	uint32_t ino;

	if (need_fd(fs, ev, &f))
		return -1;
	ino = f->ino;
	if (itype(fs, ino) == JFS_T_DIR)
		return jfs_errf(fs, "fd %" PRIu32 " is a directory: it cannot be written", ev->fd);
	if (!(f->flags & (TRACE_O_WRONLY | TRACE_O_RDWR)))
		return call_failed(fs, FE_EBADF);
	if (f->flags & TRACE_O_APPEND)
		off = fs->ino[ino].size;	/* pwrite too, as Linux does */
	else
		off = ev->op == TRACE_PWRITE ? ev->off : f->pos;
	if (off + ev->len < off)
		return jfs_errf(fs, "write past the largest file offset");
	if (check_reach(fs, off, ev->len) || check_space(fs, ino, off, ev->len))
		return -1;
	if (fs->o.dax) {
		/* F23: O_DIRECT is no different under DAX */
		if (jfs_dax_write(fs, ino, off, ev->len, &ev->data))
			return -1;
		if (ev->op == TRACE_WRITE)
			f->pos = off + ev->len;
		if (f->flags & (TRACE_O_SYNC | TRACE_O_DSYNC))	/* generic_write_sync */
			return jfs_fsync_range(fs, ino, !(f->flags & TRACE_O_SYNC), off,
					       off + ev->len);
		return 0;
	}
	if (file_write(fs, ino, off, ev->len, &ev->data, 0, true))
		return -1;
	if (ev->op == TRACE_WRITE)
		f->pos = off + ev->len;
	if (f->flags & TRACE_O_DIRECT) {
		/* direct I/O: the data is on the device (completed, not
		 * flushed) when write returns; the metadata is not committed */
		if (jfs_writeback_inode(fs, ino, true))
			return -1;
	}
	if (f->flags & (TRACE_O_SYNC | TRACE_O_DSYNC))
		return do_fsync(fs, ino, !(f->flags & TRACE_O_SYNC));	/* generic_write_sync */
	return 0;
}

static void latency(struct jfs_fs *fs, uint64_t t0)
{
	lat_add(&fs->lat, fs->env->clock->now - t0);
}

static int ev_fallocate(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint32_t ino, bs = fs->g.bsize;
	uint64_t a, b;
	bool keep = ev->flags & TRACE_FALLOC_KEEP_SIZE;

	if (need_fd(fs, ev, &f))
		return -1;
	ino = f->ino;
	if (itype(fs, ino) != JFS_T_REG)
		return call_failed(fs, itype(fs, ino) == JFS_T_DIR ? FE_EISDIR : FE_EINVAL);
	if (ev->len == 0 || ev->off + ev->len < ev->off)
		return call_failed(fs, FE_EINVAL);
	if (!(ev->flags & TRACE_FALLOC_PUNCH_HOLE) &&
	    (check_reach(fs, ev->off, ev->len) || check_space(fs, ino, ev->off, ev->len)))
		return -1;
	a = ev->off;
	b = ev->off + ev->len;
	if (ev->flags & (TRACE_FALLOC_PUNCH_HOLE | TRACE_FALLOC_ZERO_RANGE)) {
		uint64_t end = fs->ino[ino].size;
		/* zero partial pages, drop and free whole ones */
		for (uint64_t pos = a; pos < b && pos < end;) {
			uint64_t pg = pos / bs, pe = (pg + 1) * bs;
			uint64_t e = pe < b ? pe : b;
			uint32_t s = page_find(fs, ino, pg), blk;
			if (jfs_handle_start(fs, 16))
				return -1;
			if (pos == pg * bs && e == pe) {
				/* truncate_pagecache_range waits for write-back */
				if (jfs_wait_wb(fs, ino))
					return -1;
				page_drop(fs, ino, pg);
				jfs_dax_forget(fs, ino, pg, pg + 1);
				free_range(fs, ino, pg, pg + 1);
			} else if (fs->o.dax) {
				if (jfs_dax_zero_range(fs, ino, pos, e - pos))	/* F25 */
					return -1;
			} else {
				if (!s) {
					s = page_get(fs, ino, pg);
				}
				if (jfs_bmap(fs, ino, pg, false, false, &blk))
					return -1;
				jfs_hist_save(fs, s, (uint32_t)(pos % bs),
					      (uint32_t)(e - pos));		/* M7 */
				memset(fs->pages[s].data + pos % bs, 0, (size_t)(e - pos));
				if (fs->o.data == JFS_DATA_JOURNAL && blk) {
					jfs_journal_page(fs, s, blk & JFS_BLKMASK);
				} else {
					page_set_dirty(fs, s, true);
					jfs_hist_done(fs, s, blk && !(blk & JFS_UNWRITTEN));
				}
			}
			pos = e;
		}
		if (!(ev->flags & TRACE_FALLOC_ZERO_RANGE)) {
			jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
			return 0;
		}
	}
	/* allocate unwritten blocks for the holes of [a, b) */
	for (uint64_t pg = a / bs; pg < (b + bs - 1) / bs; pg++) {
		uint32_t blk;
		if (jfs_handle_start(fs, 8) || jfs_bmap(fs, ino, pg, false, false, &blk))
			return -1;
		if (!blk && !(page_find(fs, ino, pg) &&
			      (fs->pages[page_find(fs, ino, pg)].flags & JFS_PG_DIRTY)) &&
		    jfs_bmap(fs, ino, pg, true, true, &blk))
			return -1;
	}
	if (!keep && b > fs->ino[ino].size) {
		fs->ino[ino].size = b;
		jfs_set_disksize(fs, ino, b);
	}
	jfs_put64(jfs_inode_write(fs, ino) + JFS_I_MTIME, fs->env->clock->now);
	return 0;
}

static int ev_rename(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_lk from, to;
	struct jfs_dpos fpos, tpos;
	uint32_t fino, ftype, tino = 0;
	int r;

	if (!path_ok(fs, &ev->from, "rename source") || !path_ok(fs, &ev->to, "rename target"))
		return -1;
	if ((r = lookup(fs, ev->from.s, &from)) != LK_FOUND)
		return lk_failed(fs, r);
	if (from.ino == JFS_ROOT_INO)
		return call_failed(fs, FE_OTHER);		/* EBUSY */
	r = lookup(fs, ev->to.s, &to);
	if (r != LK_FOUND && r != LK_LAST_MISSING)
		return lk_failed(fs, r);
	if (to.len > JFS_NAME_MAX)
		return call_failed(fs, FE_OTHER);
	fino = from.ino;
	ftype = itype(fs, fino);
	if (r == LK_FOUND) {
		tino = to.ino;
		if (tino == fino)
			return 0;			/* same file: nothing */
		if (tino == JFS_ROOT_INO)
			return call_failed(fs, FE_OTHER);
		if (itype(fs, tino) == JFS_T_DIR && ftype != JFS_T_DIR)
			return call_failed(fs, FE_EISDIR);
		if (itype(fs, tino) != JFS_T_DIR && ftype == JFS_T_DIR)
			return call_failed(fs, FE_ENOTDIR);
		if (itype(fs, tino) == JFS_T_DIR && !dir_empty(fs, tino))
			return call_failed(fs, FE_ENOTEMPTY);
	}
	if (ftype == JFS_T_DIR) {		/* no moving a directory into itself */
		for (uint32_t d = to.dir; d != JFS_ROOT_INO;
		     d = jfs_get32(jfs_inode_read(fs, d) + JFS_I_PARENT))
			if (d == fino)
				return call_failed(fs, FE_EINVAL);
	}
	/* F12: replace-by-rename starts write-back of the source first, if
	 * it has delayed blocks */
	if (tino && ftype == JFS_T_REG && fs->o.auto_da_alloc && fs->o.delalloc &&
	    alloc_da_blocks(fs, fino))
		return -1;
	if (jfs_handle_start(fs, 16))
		return -1;
	dir_find(fs, from.dir, from.name, from.len, &fpos);
	if (tino) {
		dir_find(fs, to.dir, to.name, to.len, &tpos);
		dir_set(fs, to.dir, &tpos, fino, ftype);
		if (itype(fs, tino) == JFS_T_DIR)
			dir_links(fs, to.dir, -1);
		if (drop_link(fs, tino))
			return -1;
		/* the entry moved: find the source again (same block maybe) */
		dir_find(fs, from.dir, from.name, from.len, &fpos);
	} else if (dir_add(fs, to.dir, to.name, to.len, fino, ftype)) {
		return -1;
	}
	dir_remove(fs, from.dir, &fpos);
	if (ftype == JFS_T_DIR && from.dir != to.dir) {
		jfs_put32(jfs_inode_write(fs, fino) + JFS_I_PARENT, to.dir);
		dir_links(fs, from.dir, -1);
		dir_links(fs, to.dir, +1);
	}
	jfs_put64(jfs_inode_write(fs, fino) + JFS_I_MTIME, fs->env->clock->now);
	return 0;
}

static int ev_link(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_lk from, to;
	int r;
	uint8_t *p;

	if (!path_ok(fs, &ev->from, "link source") || !path_ok(fs, &ev->to, "link target"))
		return -1;
	if ((r = lookup(fs, ev->from.s, &from)) != LK_FOUND)
		return lk_failed(fs, r);
	if (itype(fs, from.ino) == JFS_T_DIR)
		return call_failed(fs, FE_OTHER);		/* EPERM */
	r = lookup(fs, ev->to.s, &to);
	if (r == LK_FOUND)
		return call_failed(fs, FE_EEXIST);
	if (r != LK_LAST_MISSING)
		return lk_failed(fs, r);
	if (to.len > JFS_NAME_MAX)
		return call_failed(fs, FE_OTHER);
	if (jfs_handle_start(fs, 8) ||
	    dir_add(fs, to.dir, to.name, to.len, from.ino, itype(fs, from.ino)))
		return -1;
	p = jfs_inode_write(fs, from.ino);
	jfs_put16(p + JFS_I_LINKS, (uint16_t)(jfs_get16(p + JFS_I_LINKS) + 1));
	return 0;
}

static int ev_unlink(struct jfs_fs *fs, const struct trace_event *ev, bool rmdir)
{
	struct jfs_lk lk;
	struct jfs_dpos pos;
	uint32_t t;
	int r;

	if (!path_ok(fs, &ev->path, rmdir ? "rmdir" : "unlink"))
		return -1;
	if ((r = lookup(fs, ev->path.s, &lk)) != LK_FOUND)
		return lk_failed(fs, r);
	if (lk.ino == JFS_ROOT_INO)
		return call_failed(fs, FE_OTHER);		/* EBUSY */
	t = itype(fs, lk.ino);
	if (rmdir && t != JFS_T_DIR)
		return call_failed(fs, FE_ENOTDIR);
	if (!rmdir && t == JFS_T_DIR)
		return call_failed(fs, FE_EISDIR);
	if (rmdir && !dir_empty(fs, lk.ino))
		return call_failed(fs, FE_ENOTEMPTY);
	if (jfs_handle_start(fs, 16))
		return -1;
	dir_find(fs, lk.dir, lk.name, lk.len, &pos);
	dir_remove(fs, lk.dir, &pos);
	if (rmdir)
		dir_links(fs, lk.dir, -1);
	return drop_link(fs, lk.ino);
}

static int ev_mkdir(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_lk lk;
	uint32_t ino;
	int r;

	if (!path_ok(fs, &ev->path, "mkdir"))
		return -1;
	r = lookup(fs, ev->path.s, &lk);
	if (r == LK_FOUND)
		return call_failed(fs, FE_EEXIST);
	if (r != LK_LAST_MISSING)
		return lk_failed(fs, r);
	if (lk.len > JFS_NAME_MAX)
		return call_failed(fs, FE_OTHER);
	if (jfs_handle_start(fs, 16) || alloc_inode(fs, JFS_T_DIR, lk.dir, &ino) ||
	    dir_add(fs, lk.dir, lk.name, lk.len, ino, JFS_T_DIR))
		return -1;
	dir_links(fs, lk.dir, +1);
	return 0;
}

static int ev_symlink(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_lk lk;
	uint32_t ino, b;
	uint8_t *d;
	int r;

	if (!path_ok(fs, &ev->to, "symlink"))
		return -1;
	if (ev->from.len == 0 || ev->from.len > fs->g.bsize)
		return call_failed(fs, FE_OTHER);		/* ENAMETOOLONG */
	r = lookup(fs, ev->to.s, &lk);
	if (r == LK_FOUND)
		return call_failed(fs, FE_EEXIST);
	if (r != LK_LAST_MISSING)
		return lk_failed(fs, r);
	if (lk.len > JFS_NAME_MAX)
		return call_failed(fs, FE_OTHER);
	if (jfs_handle_start(fs, 16) || alloc_inode(fs, JFS_T_LNK, lk.dir, &ino) ||
	    jfs_bmap(fs, ino, 0, true, false, &b))
		return -1;
	d = meta_new(fs, b);
	memcpy(d, ev->from.s, ev->from.len);
	jfs_set_disksize(fs, ino, ev->from.len);
	fs->ino[ino].size = ev->from.len;
	return dir_add(fs, lk.dir, lk.name, lk.len, ino, JFS_T_LNK);
}

/* xattrs: one block per inode, {u8 nlen, u16 vlen, name, value}... */
static int ev_xattr(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint32_t ino, xb, cnt, bs = fs->g.bsize;
	uint8_t *blk = fs->scratch2, *d;
	size_t used = 4, at = 0;
	bool found = false;
	size_t nlen = ev->name.len;

	if (need_fd(fs, ev, &f))
		return -1;
	ino = f->ino;
	if (nlen == 0 || nlen > 255)
		return call_failed(fs, FE_OTHER);		/* ERANGE */
	xb = jfs_get32(jfs_inode_read(fs, ino) + JFS_I_XATTR);
	memset(blk, 0, bs);
	if (xb)
		memcpy(blk, jfs_meta_read(fs, xb), bs);
	/* rebuild the block without NAME */
	cnt = jfs_get32(blk);
	{
		uint8_t *out = fs->scratch;
		uint32_t ocnt = 0;
		size_t o = 4, i = 4;
		memset(out, 0, bs);
		for (uint32_t k = 0; k < cnt && i + 3 <= bs; k++) {
			size_t nl = blk[i], vl = jfs_get16(blk + i + 1), sz = 3 + nl + vl;
			if (i + sz > bs)
				break;
			if (nl == nlen && !memcmp(blk + i + 3, ev->name.s, nl)) {
				found = true;
			} else {
				memcpy(out + o, blk + i, sz);
				o += sz;
				ocnt++;
			}
			i += sz;
		}
		jfs_put32(out, ocnt);
		used = o;
		memcpy(blk, out, bs);
		cnt = ocnt;
	}
	if (ev->op == TRACE_REMOVEXATTR && !found)
		return call_failed(fs, FE_OTHER);		/* ENODATA */
	if (ev->op == TRACE_SETXATTR) {
		size_t vl = (size_t)ev->len;
		if (ev->len > bs || used + 3 + nlen + vl > bs)	/* no wrap */
			return call_failed(fs, FE_OTHER);	/* ENOSPC/E2BIG */
		at = used;
		blk[at] = (uint8_t)nlen;
		jfs_put16(blk + at + 1, (uint16_t)vl);
		memcpy(blk + at + 3, ev->name.s, nlen);
		trace_payload_read(&ev->data, 0, blk + at + 3 + nlen, vl);
		jfs_put32(blk, cnt + 1);
		cnt++;
	}
	if (jfs_handle_start(fs, 8))
		return -1;
	if (cnt == 0) {
		if (xb) {
			jfs_put32(jfs_inode_write(fs, ino) + JFS_I_XATTR, 0);
			free_block(fs, xb, true);
		}
		return 0;
	}
	if (!xb) {
		if (alloc_block(fs, &xb))
			return -1;
		jfs_put32(jfs_inode_write(fs, ino) + JFS_I_XATTR, xb);
	}
	d = jfs_meta_write(fs, xb);
	memcpy(d, blk, bs);
	jfs_inode_write(fs, ino);		/* ctime */
	return 0;
}

/* ---- mmap (stores into the page cache; under DAX, jfs_dax.c) ---- */

static int ev_mmap(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint32_t i;

	if (need_fd(fs, ev, &f))
		return -1;
	if (itype(fs, f->ino) != JFS_T_REG)
		return call_failed(fs, FE_EINVAL);
	if (ev->len == 0 || ev->addr + ev->len < ev->addr)
		return call_failed(fs, FE_EINVAL);
	for (i = 0; i < JFS_MAX_MAPS; i++) {
		struct jfs_map *m = &fs->map[i];
		if (m->live && ev->addr < m->addr + m->len && m->addr < ev->addr + ev->len)
			return jfs_errf(fs, "mmap at 0x%" PRIx64 " overlaps a live mapping at 0x%"
					PRIx64, ev->addr, m->addr);
	}
	if (ev->flags & TRACE_MAP_PRIVATE)
		return 0;			/* stores never reach the file */
	for (i = 0; i < JFS_MAX_MAPS && fs->map[i].live; i++)
		;
	if (i == JFS_MAX_MAPS)
		return jfs_errf(fs, "more than %u live mappings", JFS_MAX_MAPS);
	fs->map[i] = (struct jfs_map){ .live = true, .addr = ev->addr, .len = ev->len,
				       .off = ev->off, .ino = f->ino, .flags = ev->flags };
	fs->ino[f->ino].nmap++;
	return 0;
}

static int ev_munmap(struct jfs_fs *fs, const struct trace_event *ev)
{
	for (uint32_t i = 0; i < JFS_MAX_MAPS; i++) {
		struct jfs_map *m = &fs->map[i];
		if (m->live && m->addr >= ev->addr && m->addr + m->len <= ev->addr + ev->len) {
			m->live = false;
			fs->ino[m->ino].nmap--;
			if (release_inode(fs, m->ino))
				return -1;
		}
	}
	return 0;
}

const struct jfs_map *jfs_map_of(struct jfs_fs *fs, uint64_t addr, uint64_t len)
{
	for (uint32_t i = 0; i < JFS_MAX_MAPS; i++) {
		struct jfs_map *m = &fs->map[i];
		if (m->live && addr >= m->addr && addr - m->addr + len <= m->len)
			return m;
	}
	return NULL;
}

static int ev_msync(struct jfs_fs *fs, const struct trace_event *ev)
{
	uint64_t t0 = fs->env->clock->now;

	if (!(ev->flags & TRACE_MS_SYNC))
		return 0;			/* MS_ASYNC does nothing since 2.6.19 */
	for (uint32_t i = 0; i < JFS_MAX_MAPS; i++) {
		struct jfs_map *m = &fs->map[i];
		uint64_t a, b;
		if (!m->live || m->addr >= ev->addr + ev->len || ev->addr >= m->addr + m->len)
			continue;
		/* vfs_fsync_range over the file bytes the range maps */
		a = (ev->addr > m->addr ? ev->addr : m->addr) - m->addr + m->off;
		b = (ev->addr + ev->len < m->addr + m->len ? ev->addr + ev->len :
		     m->addr + m->len) - m->addr + m->off;
		if (jfs_fsync_range(fs, m->ino, true, a, b))
			return -1;
	}
	latency(fs, t0);
	return 0;
}

static int ev_cpu(struct jfs_fs *fs, const struct trace_event *ev)
{
	const struct jfs_map *m;
	uint64_t off;

	if (fs->o.dax)
		return jfs_dax_cpu(fs, ev);		/* F24 */
	switch (ev->op) {
	case TRACE_STORE:
	case TRACE_NTSTORE:
	case TRACE_RMW:
		break;
	case TRACE_LOAD:
	case TRACE_CLFLUSH:
	case TRACE_CLFLUSHOPT:
	case TRACE_CLWB:
		if (!jfs_map_of(fs, ev->addr, ev->op == TRACE_LOAD ? ev->len : 1))
			return jfs_errf(fs, "address 0x%" PRIx64 " is not in any live mmap "
					"range", ev->addr);
		return 0;
	default:
		return 0;			/* fences, wbinvd, pcommit: page cache only */
	}
	m = jfs_map_of(fs, ev->addr, ev->len);
	if (!m)
		return jfs_errf(fs, "store to 0x%" PRIx64 " (%" PRIu64 " bytes) is not inside "
				"one live shared mmap range", ev->addr, ev->len);
	off = m->off + (ev->addr - m->addr);
	if (off + ev->len > fs->ino[m->ino].size)
		return jfs_errf(fs, "store to 0x%" PRIx64 " is beyond the end of the mapped "
				"file (SIGBUS)", ev->addr);
	/* page_mkwrite: delalloc reserves, nodelalloc allocates (F11) */
	return file_write(fs, m->ino, off, ev->len, &ev->data, 0, false);
}

int jfs_do_event(struct jfs_fs *fs, const struct trace_event *ev)
{
	struct jfs_fd *f = NULL;
	uint64_t t0 = fs->env->clock->now;
	int r;

	fs->env->clock->now += fs->syscall_cycles;
	switch (ev->op) {
	case TRACE_OPEN:
		return ev_open(fs, ev);
	case TRACE_CLOSE:
		return ev_close(fs, ev);
	case TRACE_WRITE:
	case TRACE_PWRITE:
		return ev_write(fs, ev);
	case TRACE_FSYNC:
	case TRACE_FDATASYNC:
		if (need_fd(fs, ev, &f))
			return -1;
		r = do_fsync(fs, f->ino, ev->op == TRACE_FDATASYNC);
		latency(fs, t0);
		return r;
	case TRACE_SYNC:
		return do_sync(fs);
	case TRACE_FTRUNCATE:
		if (need_fd(fs, ev, &f))
			return -1;
		if (itype(fs, f->ino) != JFS_T_REG ||
		    !(f->flags & (TRACE_O_WRONLY | TRACE_O_RDWR)))
			return call_failed(fs, FE_EINVAL);
		return file_set_size(fs, f->ino, ev->len);
	case TRACE_FALLOCATE:
		return ev_fallocate(fs, ev);
	case TRACE_RENAME:
		return ev_rename(fs, ev);
	case TRACE_LINK:
		return ev_link(fs, ev);
	case TRACE_UNLINK:
		return ev_unlink(fs, ev, false);
	case TRACE_RMDIR:
		return ev_unlink(fs, ev, true);
	case TRACE_MKDIR:
		return ev_mkdir(fs, ev);
	case TRACE_SYMLINK:
		return ev_symlink(fs, ev);
	case TRACE_SETXATTR:
	case TRACE_REMOVEXATTR:
		return ev_xattr(fs, ev);
	case TRACE_MMAP:
		return ev_mmap(fs, ev);
	case TRACE_MUNMAP:
		return ev_munmap(fs, ev);
	case TRACE_MSYNC:
		return ev_msync(fs, ev);
	default:
		if (trace_op_layer(ev->op) == TRACE_LAYER_CPU)
			return ev_cpu(fs, ev);
		return jfs_errf(fs, "%s is not a file event", trace_op_name(ev->op));
	}
}

/* ---- mkfs ---- */

int jfs_fs_init(struct jfs_fs *fs, const struct sim_env *env, const struct jfs_opts *o,
		uint32_t bsize, uint32_t nblocks, uint32_t ninodes, uint32_t jblocks)
{
	struct jfs_geom *g = &fs->g;
	uint32_t per = bsize * 8;
	uint8_t *root;

	fs->env = env;
	fs->o = *o;
	g->bsize = bsize;
	g->nblocks = nblocks;
	g->ninodes = ninodes;
	g->bbm_start = 1;
	g->bbm_blocks = (nblocks + per - 1) / per;
	g->ibm_start = g->bbm_start + g->bbm_blocks;
	g->ibm_blocks = (ninodes + 1 + per - 1) / per;
	g->it_start = g->ibm_start + g->ibm_blocks;
	g->it_blocks = (uint32_t)(((uint64_t)(ninodes + 1) * JFS_INODE_SIZE + bsize - 1) / bsize);
	g->j_start = g->it_start + g->it_blocks;
	g->j_blocks = jblocks;
	g->data_start = g->j_start + jblocks;
	/* journal_async_commit implies the checksum feature, whatever
	 * nojournal_checksum says (ext4's set_journal_csum_feature_set) */
	g->features = (o->journal_checksum || o->journal_async_commit ? JFS_FEAT_CSUM : 0) |
		      (o->journal_async_commit ? JFS_FEAT_ASYNC : 0);
	if (g->data_start + 16 > nblocks)
		return jfs_errf(fs, "jfs.blocks=%" PRIu32 " leaves no data area (metadata and "
				"journal take %" PRIu32 " blocks)", nblocks, g->data_start);
	fs->pperblk = bsize / 4;
	fs->buf_of_blk = calloc(nblocks, sizeof(uint32_t));
	fs->busy = calloc(nblocks, sizeof(uint32_t));
	fs->cp_of_blk = calloc(nblocks, sizeof(uint32_t));
	fs->shadow_of_blk = calloc(nblocks, sizeof(uint32_t));
	fs->ino = calloc(ninodes + 1, sizeof(*fs->ino));
	fs->scratch = calloc(1, bsize);
	fs->scratch2 = calloc(1, bsize);
	if (!fs->buf_of_blk || !fs->busy || !fs->cp_of_blk || !fs->shadow_of_blk || !fs->ino ||
	    !fs->scratch || !fs->scratch2)
		return jfs_errf(fs, "out of memory");
	fs->nbufs = 1;				/* index 0 means "none" */
	fs->bufcap = 64;
	fs->bufs = xrealloc(NULL, fs->bufcap * sizeof(*fs->bufs));
	fs->bufs[0].data = NULL;
	fs->npages = 1;
	fs->pagecap = 64;
	fs->pages = xrealloc(NULL, fs->pagecap * sizeof(*fs->pages));
	fs->pages[0].data = NULL;
	fs->pages[0].hist = 0;
	fs->pages[0].nhist = 0;
	fs->hist.ver = calloc(1, bsize);
	if (!fs->hist.ver)
		return jfs_errf(fs, "out of memory");
	fs->alloc_goal = g->data_start;

	/* the journal must exist before the first metadata write */
	fs->txn[0].tid = 1;
	fs->txn[0].state = JFS_T_RUNNING;
	fs->run = &fs->txn[0];
	fs->head = 1;
	fs->tail = 1;
	fs->tail_seq = 1;
	fs->max_txn = jblocks / 4;

	/* format: superblock, bitmaps, root; mkfs's blocks are not journaled */
	geom_encode(g, fs->bufs[buf_make(fs, 0)].data);
	for (uint32_t b = 0; b < g->data_start; b++) {
		uint8_t *bm;
		if (!fs->buf_of_blk[g->bbm_start + b / per])
			buf_make(fs, g->bbm_start + b / per);
		bm = fs->bufs[fs->buf_of_blk[g->bbm_start + b / per]].data;
		bm[(b % per) / 8] |= (uint8_t)(1u << (b % 8));
	}
	for (uint32_t i = 0; i < g->ibm_blocks; i++)
		if (!fs->buf_of_blk[g->ibm_start + i])
			buf_make(fs, g->ibm_start + i);
	fs->bufs[fs->buf_of_blk[g->ibm_start]].data[0] |= 3;	/* inode 0, root */
	for (uint32_t i = 0; i < g->it_blocks; i++)
		buf_make(fs, g->it_start + i);
	{
		uint32_t off, blk = ino_blk(fs, JFS_ROOT_INO, &off);
		root = fs->bufs[fs->buf_of_blk[blk]].data + off;
		jfs_put16(root + JFS_I_MODE, JFS_T_DIR);
		jfs_put16(root + JFS_I_LINKS, 2);
		jfs_put32(root + JFS_I_PARENT, JFS_ROOT_INO);
	}
	return 0;
}

void jfs_mkfs_write(struct jfs_fs *fs, struct media *m)
{
	uint8_t *jsb = fs->scratch;

	for (uint32_t i = 1; i < fs->nbufs; i++)
		media_write(m, (uint64_t)fs->bufs[i].blk * fs->g.bsize, fs->bufs[i].data,
			    fs->g.bsize);
	/* the journal superblock as jbd2 leaves it after mount: s_start at
	 * the first log block, expecting transaction 1 */
	memset(jsb, 0, fs->g.bsize);
	jfs_put32(jsb + 4 * JFS_JSB_MAGIC, JFS_JMAGIC);
	jfs_put32(jsb + 4 * JFS_JSB_TYPE, JFS_JT_SB);
	jfs_put32(jsb + 4 * JFS_JSB_BSIZE, fs->g.bsize);
	jfs_put32(jsb + 4 * JFS_JSB_MAXLEN, fs->g.j_blocks);
	jfs_put32(jsb + 4 * JFS_JSB_FIRST, 1);
	jfs_put32(jsb + 4 * JFS_JSB_SEQUENCE, fs->tail_seq);
	jfs_put32(jsb + 4 * JFS_JSB_START, fs->tail);
	jfs_put32(jsb + 4 * JFS_JSB_FEATURES, fs->g.features);
	media_write(m, (uint64_t)fs->g.j_start * fs->g.bsize, jsb, fs->g.bsize);
}

void jfs_fs_free(struct jfs_fs *fs)
{
	for (uint32_t i = 1; i < fs->nbufs; i++)
		free(fs->bufs[i].data);
	free(fs->bufs);
	for (uint32_t i = 1; i < fs->npages; i++)
		free(fs->pages[i].data);
	free(fs->pages);
	free(fs->hist.r);
	free(fs->hist.r2);
	free(fs->hist.b);
	free(fs->hist.b2);
	free(fs->hist.ver);
	free(fs->uns);
	free(fs->uns_pages.v);
	if (fs->ino)
		for (uint32_t i = 0; i <= fs->g.ninodes; i++) {
			free(fs->ino[i].pages);
			free(fs->ino[i].dax_tag);
		}
	jfs_dax_free(fs);
	free(fs->ino);
	free(fs->buf_of_blk);
	free(fs->busy);
	free(fs->cp_of_blk);
	for (uint32_t i = 0; i < fs->cp_cap; i++)
		free(fs->cp_img[i]);
	free(fs->cp_img);
	free(fs->cp_blk);
	free(fs->shadow_of_blk);
	for (uint32_t i = 0; i < fs->shadow_cap; i++)
		free(fs->shadow[i]);
	free(fs->shadow);
	free(fs->shadow_blk);
	free(fs->dry_jb);
	free(fs->tlog);
	free(fs->tidx);
	free(fs->lcont);
	free(fs->lcont_seq);
	free(fs->lcont_of);
	free(fs->dlc);
	free(fs->dlcb);
	free(fs->dlog);
	free(fs->didx);
	for (int t = 0; t < 2; t++) {
		free(fs->txn[t].jb);
		free(fs->txn[t].revoke.v);
		free(fs->txn[t].ordered.v);
		free(fs->txn[t].freed.v);
	}
	free(fs->free_bufs.v);
	free(fs->free_pages.v);
	free(fs->cp_list.v);
	free(fs->cp_free.v);
	free(fs->data_ios.v);
	free(fs->log_ios.v);
	free(fs->wb_ios.v);
	free(fs->wb_ino.v);
	free(fs->wb_tmp.v);
	free(fs->cp_ios.v);
	free(fs->scratch);
	free(fs->scratch2);
	free(fs->bg);
	free(fs->bgv.v);
	free(fs->bg_ucount);
	free(fs->bgc);
	free(fs->bgp.p);
	free(fs->bgp.bytes);
	free(fs->bg_alloc.v);
	lat_free(&fs->lat);
}
