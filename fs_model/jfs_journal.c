/*
 * jfs_journal.c — the jbd2-like journal: the running transaction, the
 * commit as a step function, revoke records, checkpointing and the tail.
 *
 * Method (fs/jbd2/commit.c, jbd2_journal_commit_transaction).  There is
 * one global running transaction; every metadata change of every file
 * joins it (F5).  A commit moves it through these states, one case of
 * jfs_commit_step() each, calling env->step after every bio so a power
 * cut can land between any two:
 *
 *   LOCKED       no new handles; the log position is fixed (t_log_start)
 *   FLUSH        F4: data=ordered submits the dirty, allocated pages of
 *                the transaction's ordered inodes (journal_submit_data_
 *                buffers; no allocation here, as in jbd2)
 *   LOGGING      revoke blocks, then descriptor blocks each followed by
 *                the metadata blocks it tags (escaped when they begin with
 *                the journal magic), all plain writes
 *   WAIT_DATA    wait for the ordered data (journal_finish_inode_data_
 *                buffers; data=writeback waits for nothing, F18) — and,
 *                with journal_async_commit, submit the commit block now,
 *                without PREFLUSH/FUA (F8)
 *   WAIT_LOG     wait for the journal blocks
 *   COMMIT_RECORD  without journal_async_commit: the commit block with
 *                PREFLUSH|FUA (plain with nobarrier, F16), waited for;
 *                with it: wait, then one flush (only with barrier)
 *   COMMITTED    the blocks become checkpoint images (M5), blocks freed
 *                by the transaction become allocatable (M4)
 *   FINISHED
 *
 * F6: checkpointing writes every checkpoint image to its home, waits,
 * flushes the device (unless nobarrier) and only then writes the journal
 * superblock with the new tail (FUA unless nobarrier), as
 * jbd2_cleanup_journal_tail.  It runs when the next commit would not fit
 * in the free log space (jbd2_log_wait_for_space); the log is circular.
 *
 * F20: the commit timer is armed when the running transaction gets its
 * first block or revoke (txn_join), as jbd2_get_transaction sets
 * t_expires when a handle creates the running transaction; jfs_model.c
 * fires it.
 *
 * Notes:
 *   - A commit runs to completion inside the event that started it: no
 *     trace event can run while a transaction commits, so jbd2's frozen
 *     buffer copies are not needed.
 *   - A transaction holds at most a quarter of the log (jbd2's
 *     j_max_transaction_buffers); a handle that would overflow it commits
 *     the running transaction first, as start_this_handle waits for one.
 *   - The checkpoint writes every image at once and moves the tail to the
 *     head; jbd2 may checkpoint a prefix only.
 *   - WAIT_DATA waits for the write-back in flight of the inodes on the
 *     transaction's list, whole files; jbd2 since Linux 5.10 waits only
 *     for each inode's range written in the transaction (i_dirty_start,
 *     i_dirty_end): more waiting here, fewer crash states, never a state
 *     jbd2 forbids.
 */
#include "jfs_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "../sim/crc32.h"

uint32_t jfs_tag_csum(uint32_t seq, const uint8_t *blk, uint32_t bsize)
{
	uint8_t s[4];

	jfs_put32(s, seq);
	return crc32_update(crc32_update(0, s, 4), blk, bsize);
}

void jfs_patches_add(struct jfs_patches *p, uint64_t off, const void *data, uint32_t len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->p = realloc(p->p, p->cap * sizeof(*p->p));
		if (!p->p)
			abort();
	}
	if (p->nbytes + len > p->bcap) {
		while (p->nbytes + len > p->bcap)
			p->bcap = p->bcap ? p->bcap * 2 : 65536;
		p->bytes = realloc(p->bytes, p->bcap);
		if (!p->bytes)
			abort();
	}
	/* a later patch of the same block replaces the earlier one, so no
	 * group ever emits one byte twice */
	for (uint32_t i = p->base; i < p->n; i++)
		if (p->p[i].off == off && p->p[i].len == len) {
			memcpy(p->bytes + p->p[i].at, data, len);
			return;
		}
	p->p[p->n].off = off;
	p->p[p->n].len = len;
	p->p[p->n].at = (uint32_t)p->nbytes;
	memcpy(p->bytes + p->nbytes, data, len);
	p->nbytes += len;
	p->n++;
}

/* ---- block output ---- */

int jfs_out_block(struct jfs_fs *fs, uint64_t off, const void *data, uint32_t flags,
		  struct jfs_u32v *ios, const char *what)
{
	uint64_t id;

	if (fs->dry) {
		jfs_patches_add(fs->out, off, data, fs->g.bsize);
		return 0;
	}
	id = fs->next_bio++;
	if (fs->dev.submit(fs->dev.ctx, id, TRACE_BIO_WRITE, flags, off, fs->g.bsize, data,
			   fs->line))
		return -1;
	fs->bios++;
	fs->last_bio = id;
	if (ios)
		jfs_u32v_push(ios, (uint32_t)id);	/* ids start at 1: 2^32 bios is beyond any trace */
	jfs_step(fs, "%s bio %" PRIu64 " submitted%s%s", what, id,
		 flags & TRACE_BIO_PREFLUSH ? " PREFLUSH" : "",
		 flags & TRACE_BIO_FUA ? " FUA" : "");
	return 0;
}

int jfs_wait_ios(struct jfs_fs *fs, struct jfs_u32v *ios)
{
	if (fs->dry || !ios->n)
		return 0;
	for (uint32_t i = 0; i < ios->n; i++)
		if (fs->dev.wait(fs->dev.ctx, ios->v[i]))
			return -1;
	jfs_step(fs, "%" PRIu32 " bio%s completed", ios->n, ios->n == 1 ? "" : "s");
	ios->n = 0;
	return 0;
}

int jfs_wait_wb(struct jfs_fs *fs, uint32_t ino)
{
	struct jfs_u32v *w = &fs->wb_tmp;
	uint32_t k = 0;

	if (fs->dry)
		return 0;
	w->n = 0;
	for (uint32_t i = 0; i < fs->wb_ios.n; i++) {
		uint32_t o = fs->wb_ino.v[i];
		bool match = ino == 0 || o == ino ||
			     (ino == JFS_WB_COMMIT && (fs->ino[o].flags & JFS_IN_COMMIT_ORDERED));
		if (match) {
			jfs_u32v_push(w, fs->wb_ios.v[i]);
		} else {
			fs->wb_ios.v[k] = fs->wb_ios.v[i];
			fs->wb_ino.v[k++] = o;
		}
	}
	fs->wb_ios.n = fs->wb_ino.n = k;
	return jfs_wait_ios(fs, w);
}

int jfs_flush_dev(struct jfs_fs *fs)
{
	uint64_t id;

	if (!fs->o.barrier || fs->dry)
		return 0;
	id = fs->next_bio++;
	if (fs->dev.submit(fs->dev.ctx, id, TRACE_BIO_FLUSH, TRACE_BIO_PREFLUSH, 0, 0, NULL,
			   fs->line))
		return -1;
	fs->bios++;
	jfs_step(fs, "flush bio %" PRIu64 " submitted", id);
	if (fs->dev.wait(fs->dev.ctx, id))
		return -1;
	jfs_step(fs, "flush bio %" PRIu64 " completed", id);
	return 0;
}

/* ---- the running transaction ---- */

bool jfs_txn_empty(const struct jfs_txn *t)
{
	return t->njb == 0 && t->revoke.n == 0;
}

static void jb_push(struct jfs_txn *t, uint32_t blk, uint32_t src, bool data)
{
	if (t->njb == t->jbcap) {
		t->jbcap = t->jbcap ? t->jbcap * 2 : 64;
		t->jb = realloc(t->jb, t->jbcap * sizeof(*t->jb));
		if (!t->jb)
			abort();
	}
	t->jb[t->njb++] = (struct jfs_jb){ .blk = blk, .src = src, .data = data };
}

/* jbd2_journal_cancel_revoke: a block journaled again is not revoked by
 * the same transaction. */
static void cancel_revoke(struct jfs_txn *t, uint32_t blk)
{
	for (uint32_t i = 0; i < t->revoke.n; i++)
		if (t->revoke.v[i] == blk) {
			t->revoke.v[i] = t->revoke.v[--t->revoke.n];
			return;
		}
}

/* F20: jbd2 arms the commit timer when it creates the running
 * transaction, at the first handle after a commit (jbd2_get_transaction:
 * t_expires = jiffies + j_commit_interval), so the timer counts from the
 * moment the running transaction stops being empty, not from the last
 * commit.  run_start_clock holds that moment. */
static void txn_join(struct jfs_fs *fs)
{
	if (jfs_txn_empty(fs->run))
		fs->run_start_clock = fs->env->clock->now;
}

void jfs_journal_buf(struct jfs_fs *fs, uint32_t i)
{
	struct jfs_buf *b = &fs->bufs[i];

	if (b->jtid == fs->run->tid)
		return;
	txn_join(fs);
	b->jtid = fs->run->tid;
	jb_push(fs->run, b->blk, i, false);
	cancel_revoke(fs->run, b->blk);
}

void jfs_journal_page(struct jfs_fs *fs, uint32_t s, uint32_t blk)
{
	struct jfs_page *p = &fs->pages[s];

	if (p->jtid == fs->run->tid)
		return;
	txn_join(fs);
	p->jtid = fs->run->tid;
	jb_push(fs->run, blk, s, true);
	cancel_revoke(fs->run, blk);
}

void jfs_journal_forget(struct jfs_fs *fs, uint32_t blk, bool meta)
{
	uint32_t i = fs->buf_of_blk[blk];
	struct jfs_txn *t = fs->run;

	if (i && fs->bufs[i].jtid == t->tid) {
		fs->bufs[i].jtid = 0;
		for (uint32_t k = 0; k < t->njb; k++)
			if (!t->jb[k].data && t->jb[k].src == i) {
				t->jb[k] = t->jb[--t->njb];
				break;
			}
	}
	if (meta) {				/* F7 */
		for (uint32_t k = 0; k < t->revoke.n; k++)
			if (t->revoke.v[k] == blk)
				return;
		txn_join(fs);
		jfs_u32v_push(&t->revoke, blk);
	}
}

void jfs_journal_add_ordered(struct jfs_fs *fs, uint32_t ino)
{
	if (fs->ino[ino].flags & JFS_IN_ORDERED)
		return;
	fs->ino[ino].flags |= JFS_IN_ORDERED;
	jfs_u32v_push(&fs->run->ordered, ino);
}

/* ---- log space ---- */

static uint32_t tags_per_desc(const struct jfs_fs *fs)
{
	return (fs->g.bsize - JFS_JHDR) / JFS_TAG_SIZE;
}

static uint32_t revokes_per_block(const struct jfs_fs *fs)
{
	return (fs->g.bsize - JFS_JHDR) / 8;
}

static uint32_t log_need(const struct jfs_fs *fs, uint32_t njb, uint32_t nrev)
{
	uint32_t td = tags_per_desc(fs), rb = revokes_per_block(fs);
	return njb + (njb + td - 1) / td + (nrev + rb - 1) / rb + 1;
}

static uint32_t log_free(const struct jfs_fs *fs)
{
	uint32_t len = fs->g.j_blocks - 1;
	uint32_t used = (fs->head + len - fs->tail) % len;
	return len - used;
}

int jfs_handle_start(struct jfs_fs *fs, uint32_t nblk)
{
	if (fs->dry)
		return 0;
	if (fs->run->njb + nblk > fs->max_txn)
		return jfs_commit_and_wait(fs);
	return 0;
}

/* ---- what each transaction logged (O6, for the oracle) ---- */

/* Eight bytes per step, in four independent lanes (a byte-wise FNV here
 * was a quarter of `check` on CrashMonkey workloads, perf 2026-11-24). */
uint64_t jfs_block_hash(const void *blk, size_t n)
{
	const uint8_t *b = blk;
	uint64_t h[4] = { 0xcbf29ce484222325ULL, 0x9e3779b97f4a7c15ULL,
			  0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL };
	size_t i = 0;

	for (; i + 32 <= n; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t w;
			memcpy(&w, b + i + 8 * k, 8);
			h[k] = (h[k] ^ w) * 0xff51afd7ed558ccdULL;
			h[k] ^= h[k] >> 32;
		}
	for (; i < n; i++)
		h[0] = (h[0] ^ b[i]) * 0x100000001b3ULL;
	h[0] ^= h[1] * 0xc4ceb9fe1a85ec53ULL ^ (h[2] >> 7) ^ (h[3] * 0x9e3779b97f4a7c15ULL);
	h[0] ^= (uint64_t)n;
	return h[0] ^ (h[0] >> 29);
}

void jfs_tlog_begin(struct jfs_fs *fs, uint32_t tid)
{
	struct jfs_tlog_idx **idx = fs->dry ? &fs->didx : &fs->tidx;
	size_t *n = fs->dry ? &fs->ndidx : &fs->ntidx, *cap = fs->dry ? &fs->didxcap : &fs->tidxcap;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*idx = realloc(*idx, *cap * sizeof(**idx));
		if (!*idx)
			abort();
	}
	(*idx)[(*n)++] = (struct jfs_tlog_idx){ .tid = tid,
		.first = fs->dry ? fs->ndlog : fs->ntlog };
}

/* Transaction being logged: home block BLK gets content C (unescaped). */
static void tlog_add(struct jfs_fs *fs, uint32_t blk, const uint8_t *c)
{
	struct jfs_logged **v = fs->dry ? &fs->dlog : &fs->tlog;
	size_t *n = fs->dry ? &fs->ndlog : &fs->ntlog, *cap = fs->dry ? &fs->dlogcap : &fs->tlogcap;
	struct jfs_tlog_idx *last = fs->dry ? &fs->didx[fs->ndidx - 1] : &fs->tidx[fs->ntidx - 1];

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = realloc(*v, *cap * sizeof(**v));
		if (!*v)
			abort();
	}
	(*v)[(*n)++] = (struct jfs_logged){ .blk = blk, .hash = jfs_block_hash(c, fs->g.bsize) };
	last->n++;
}

/* ---- writing the log ---- */

struct jfs_logctx {
	uint32_t *head;			/* fs->head, or a dry copy */
	uint32_t crc;			/* F8: over every log block */
	uint32_t nlog;
	uint32_t tid;
};

static uint64_t log_off(const struct jfs_fs *fs, uint32_t lb)
{
	return ((uint64_t)fs->g.j_start + lb) * fs->g.bsize;
}

/* F8 with checksums: log block LB now holds BLK for sequence SEQ -- the
 * last real write of each log block, among the last JFS_LCONT_MAX log
 * writes, or one of this point's dry commits' -- for the scan's
 * comparison (jfs_model_log_contents; a log block it no longer knows is
 * summed whole). */
static void logc_note(struct jfs_fs *fs, uint32_t lb, uint32_t seq, const uint8_t *blk)
{
	size_t bs = fs->g.bsize;

	if (!fs->dry) {
		uint32_t k;
		if (!fs->lcont) {
			fs->nlcont = fs->g.j_blocks < JFS_LCONT_MAX ? fs->g.j_blocks : JFS_LCONT_MAX;
			fs->lcont = malloc(fs->nlcont * bs);
			fs->lcont_seq = malloc(fs->nlcont * sizeof(*fs->lcont_seq));
			fs->lcont_of = calloc(fs->g.j_blocks, sizeof(*fs->lcont_of));
			if (!fs->lcont || !fs->lcont_seq || !fs->lcont_of)
				abort();
		}
		k = fs->lcont_next;
		fs->lcont_next = (k + 1) % fs->nlcont;
		if (k < fs->nlcont_used) {	/* the oldest write: its block forgets it */
			uint32_t ob = fs->lcont_seq[k].lb;
			if (fs->lcont_of[ob] == k + 1)
				fs->lcont_of[ob] = 0;
		} else {
			fs->nlcont_used++;
		}
		memcpy(fs->lcont + (size_t)k * bs, blk, bs);
		fs->lcont_seq[k] = (struct jfs_lcseq){ .lb = lb, .seq = seq };
		fs->lcont_of[lb] = k + 1;
		return;
	}
	if (fs->ndlc == fs->dlccap) {
		fs->dlccap = fs->dlccap ? fs->dlccap * 2 : 16;
		fs->dlc = realloc(fs->dlc, fs->dlccap * sizeof(*fs->dlc));
		if (!fs->dlc)
			abort();
	}
	if ((fs->ndlc + 1) * bs > fs->dlcbcap) {
		fs->dlcbcap = (fs->ndlc + 1) * bs * 2;
		fs->dlcb = realloc(fs->dlcb, fs->dlcbcap);
		if (!fs->dlcb)
			abort();
	}
	memcpy(fs->dlcb + fs->ndlc * bs, blk, bs);
	fs->dlc[fs->ndlc] = (struct jfs_dlc){ .lb = lb, .seq = seq, .at = fs->ndlc * bs };
	fs->ndlc++;
}

static int log_write(struct jfs_fs *fs, struct jfs_logctx *lc, const uint8_t *blk,
		     uint32_t flags, struct jfs_u32v *ios, const char *what)
{
	uint32_t lb = *lc->head;

	*lc->head = lb + 1 >= fs->g.j_blocks ? 1 : lb + 1;
	if (fs->g.features & JFS_FEAT_CSUM) {
		lc->crc = crc32_update(lc->crc, blk, fs->g.bsize);
		logc_note(fs, lb, lc->tid, blk);
	}
	lc->nlog++;
	if (!fs->dry)
		fs->journal_blocks++;
	return jfs_out_block(fs, log_off(fs, lb), blk, flags, ios, what);
}

static void jhdr(uint8_t *b, uint32_t type, uint32_t seq, uint32_t bsize)
{
	memset(b, 0, bsize);
	jfs_put32(b, JFS_JMAGIC);
	jfs_put32(b + 4, type);
	jfs_put32(b + 8, seq);
}

/* The content of the I-th block the transaction journals. */
static const uint8_t *jb_content(struct jfs_fs *fs, const struct jfs_txn *t, uint32_t i,
				 uint32_t *blk)
{
	if (i < t->njb) {
		*blk = t->jb[i].blk;
		if (t->jb[i].data)
			return fs->pages[t->jb[i].src].data;
		return jfs_meta_read(fs, t->jb[i].blk);
	}
	*blk = fs->dry_jb[i - t->njb];
	return jfs_meta_read(fs, *blk);
}

/* Revoke blocks, then descriptors with their blocks (LOGGING).  NEXTRA
 * blocks of fs->dry_jb follow t's own (dry commits only). */
static int log_txn(struct jfs_fs *fs, const struct jfs_txn *t, uint32_t nextra,
		   struct jfs_logctx *lc)
{
	uint32_t bs = fs->g.bsize, td = tags_per_desc(fs), rb = revokes_per_block(fs);
	uint32_t n = t->njb + nextra;
	uint8_t *d = fs->scratch, *e = fs->scratch2;

	for (uint32_t i = 0; i < t->revoke.n; i += rb) {
		uint32_t k = t->revoke.n - i < rb ? t->revoke.n - i : rb;
		jhdr(d, JFS_JT_REVOKE, lc->tid, bs);
		jfs_put32(d + 12, k);
		for (uint32_t j = 0; j < k; j++)
			jfs_put64(d + JFS_JHDR + 8 * j, t->revoke.v[i + j]);
		if (log_write(fs, lc, d, 0, &fs->log_ios, "revoke block"))
			return -1;
	}
	for (uint32_t i = 0; i < n; i += td) {
		uint32_t k = n - i < td ? n - i : td;
		jhdr(d, JFS_JT_DESC, lc->tid, bs);
		jfs_put32(d + 12, k);
		for (uint32_t j = 0; j < k; j++) {
			uint32_t blk, fl = 0;
			const uint8_t *c = jb_content(fs, t, i + j, &blk);
			uint8_t *tag = d + JFS_JHDR + JFS_TAG_SIZE * j;
			memcpy(e, c, bs);
			if (jfs_get32(e) == JFS_JMAGIC) {
				memset(e, 0, 4);	/* escaped, as jbd2 */
				fl |= JFS_TAG_ESCAPE;
			}
			if (j == k - 1)
				fl |= JFS_TAG_LAST;
			jfs_put64(tag, blk);
			jfs_put32(tag + 8, fl);
			if (fs->g.features & JFS_FEAT_CSUM)
				jfs_put32(tag + 12, jfs_tag_csum(lc->tid, e, bs));
		}
		if (log_write(fs, lc, d, 0, &fs->log_ios, "journal descriptor"))
			return -1;
		for (uint32_t j = 0; j < k; j++) {
			uint32_t blk;
			const uint8_t *c = jb_content(fs, t, i + j, &blk);
			tlog_add(fs, blk, c);
			memcpy(e, c, bs);
			if (jfs_get32(e) == JFS_JMAGIC)
				memset(e, 0, 4);
			if (log_write(fs, lc, e, 0, &fs->log_ios, "journal block"))
				return -1;
		}
	}
	return 0;
}

static int log_commit_block(struct jfs_fs *fs, struct jfs_logctx *lc, uint32_t flags,
			    struct jfs_u32v *ios)
{
	uint8_t *c = fs->scratch;
	uint32_t crc = lc->crc;

	jhdr(c, JFS_JT_COMMIT, lc->tid, fs->g.bsize);
	if (fs->g.features & JFS_FEAT_CSUM) {
		jfs_put32(c + 12, 1);
		jfs_put32(c + 16, crc);
	}
	jfs_put32(c + 20, lc->nlog);
	return log_write(fs, lc, c, flags, ios, "commit block");
}

/* ---- checkpoint (F6) ---- */

static void cp_drop(struct jfs_fs *fs, uint32_t blk)
{
	uint32_t c = fs->cp_of_blk[blk];

	if (!c)
		return;
	fs->cp_of_blk[blk] = 0;
	for (uint32_t i = 0; i < fs->cp_list.n; i++)
		if (fs->cp_list.v[i] == c - 1) {
			fs->cp_list.v[i] = fs->cp_list.v[--fs->cp_list.n];
			break;
		}
	jfs_u32v_push(&fs->cp_free, c - 1);
}

static void cp_set(struct jfs_fs *fs, uint32_t blk, const uint8_t *img)
{
	uint32_t c = fs->cp_of_blk[blk];

	if (!c) {
		if (fs->cp_free.n) {
			c = fs->cp_free.v[--fs->cp_free.n] + 1;
		} else {
			if (fs->cp_list.n + fs->cp_free.n >= fs->cp_cap) {
				uint32_t nc = fs->cp_cap ? fs->cp_cap * 2 : 32;
				fs->cp_img = realloc(fs->cp_img, nc * sizeof(*fs->cp_img));
				fs->cp_blk = realloc(fs->cp_blk, nc * sizeof(*fs->cp_blk));
				if (!fs->cp_img || !fs->cp_blk)
					abort();
				for (uint32_t i = fs->cp_cap; i < nc; i++) {
					fs->cp_img[i] = malloc(fs->g.bsize);
					if (!fs->cp_img[i])
						abort();
				}
				fs->cp_cap = nc;
			}
			c = fs->cp_list.n + fs->cp_free.n + 1;
		}
		jfs_u32v_push(&fs->cp_list, c - 1);
		fs->cp_of_blk[blk] = c;
		fs->cp_blk[c - 1] = blk;
	}
	memcpy(fs->cp_img[c - 1], img, fs->g.bsize);
}

static void jsb_build(struct jfs_fs *fs, uint8_t *jsb, uint32_t start, uint32_t seq)
{
	memset(jsb, 0, fs->g.bsize);
	jfs_put32(jsb + 4 * JFS_JSB_MAGIC, JFS_JMAGIC);
	jfs_put32(jsb + 4 * JFS_JSB_TYPE, JFS_JT_SB);
	jfs_put32(jsb + 4 * JFS_JSB_BSIZE, fs->g.bsize);
	jfs_put32(jsb + 4 * JFS_JSB_MAXLEN, fs->g.j_blocks);
	jfs_put32(jsb + 4 * JFS_JSB_FIRST, 1);
	jfs_put32(jsb + 4 * JFS_JSB_SEQUENCE, seq);
	jfs_put32(jsb + 4 * JFS_JSB_START, start);
	jfs_put32(jsb + 4 * JFS_JSB_FEATURES, fs->g.features);
}

/* Write every checkpoint image home; in dry mode only emit them. */
static int cp_write_all(struct jfs_fs *fs, struct jfs_u32v *ios)
{
	for (uint32_t i = 0; i < fs->cp_list.n; i++) {
		uint32_t c = fs->cp_list.v[i];
		if (jfs_out_block(fs, (uint64_t)fs->cp_blk[c] * fs->g.bsize, fs->cp_img[c], 0,
				  ios, "checkpoint write"))
			return -1;
	}
	return 0;
}

int jfs_checkpoint(struct jfs_fs *fs)
{
	struct jfs_u32v *ios = &fs->cp_ios;
	uint32_t flags = fs->o.barrier ? TRACE_BIO_FUA : 0;

	if (cp_write_all(fs, ios) || jfs_wait_ios(fs, ios))
		return -1;
	if (jfs_flush_dev(fs))			/* F6: the tail moves after a flush */
		return -1;
	jsb_build(fs, fs->scratch, fs->head, fs->run->tid);
	if (jfs_out_block(fs, (uint64_t)fs->g.j_start * fs->g.bsize, fs->scratch, flags, ios,
			  "journal superblock") || jfs_wait_ios(fs, ios))
		return -1;
	while (fs->cp_list.n)
		cp_drop(fs, fs->cp_blk[fs->cp_list.v[fs->cp_list.n - 1]]);
	fs->tail = fs->head;
	fs->tail_seq = fs->run->tid;
	fs->checkpoints++;
	return 0;
}

/* ---- the commit (F3) ---- */

static void txn_reset(struct jfs_txn *t, uint32_t tid)
{
	t->tid = tid;
	t->state = JFS_T_RUNNING;
	t->njb = 0;
	t->revoke.n = 0;
	t->ordered.n = 0;
	t->freed.n = 0;
	t->crc = 0;
	t->nlog = 0;
}

/* Submit the ordered data of T's inodes: dirty pages with written blocks
 * below EOF (F4). */
static int submit_ordered(struct jfs_fs *fs, const struct jfs_u32v *ordered,
			  struct jfs_u32v *ios)
{
	uint32_t bs = fs->g.bsize;

	for (uint32_t k = 0; k < ordered->n; k++) {
		uint32_t ino = ordered->v[k];
		struct jfs_inode *in = &fs->ino[ino];
		uint64_t end = (in->size + bs - 1) / bs;

		for (uint64_t pg = 0; pg < in->npages && pg < end && (in->ndirty || fs->dry); pg++) {
			uint32_t s = in->pages[pg], b;
			/* a dry commit also emits clean pages: their write-back
			 * may still be in flight, and the real commit would wait
			 * for it and flush */
			if (!s || (!fs->dry && !(fs->pages[s].flags & JFS_PG_DIRTY)))
				continue;
			if (jfs_bmap(fs, ino, pg, false, false, &b) || !b || (b & JFS_UNWRITTEN))
				continue;	/* delayed: not jbd2's to allocate */
			if (jfs_out_block(fs, (uint64_t)b * bs, fs->pages[s].data, 0, ios,
					  "ordered data"))
				return -1;
			if (!fs->dry)
				jfs_page_clean(fs, s, (uint64_t)b * bs);
		}
	}
	return 0;
}

static int commit_state(struct jfs_fs *fs, struct jfs_txn *t, struct jfs_logctx *lc);

int jfs_commit_step(struct jfs_fs *fs)
{
	struct jfs_txn *t = fs->commit;
	struct jfs_logctx lc = { .head = &fs->head, .crc = t->crc, .nlog = t->nlog,
				 .tid = t->tid };
	int r = commit_state(fs, t, &lc);

	t->crc = lc.crc;
	t->nlog = lc.nlog;
	return r;
}

static int commit_state(struct jfs_fs *fs, struct jfs_txn *t, struct jfs_logctx *lc)
{
	bool async = fs->g.features & JFS_FEAT_ASYNC;

	switch (t->state) {
	case JFS_T_LOCKED:
		t->log_start = fs->head;
		t->crc = lc->crc = 0;
		t->nlog = lc->nlog = 0;
		t->state = JFS_T_FLUSH;
		return 0;
	case JFS_T_FLUSH:
		if (fs->o.data == JFS_DATA_ORDERED &&
		    submit_ordered(fs, &t->ordered, &fs->data_ios))
			return -1;
		t->state = JFS_T_LOGGING;
		return 0;
	case JFS_T_LOGGING:
		jfs_tlog_begin(fs, t->tid);
		if (log_txn(fs, t, 0, lc))
			return -1;
		t->state = JFS_T_WAIT_DATA;
		return 0;
	case JFS_T_WAIT_DATA:
		/* journal_finish_inode_data_buffers: the inodes on the
		 * transaction's list, also their pages whose write-back
		 * started earlier (wb_ios); other files' write-back in flight
		 * stays in flight, and the commit block's PREFLUSH does not
		 * cover it (B2).  F18: data=writeback puts no inode on the
		 * list, so jbd2 waits for no data at all. */
		if (jfs_wait_ios(fs, &fs->data_ios) ||
		    (fs->o.data != JFS_DATA_WRITEBACK && jfs_wait_wb(fs, JFS_WB_COMMIT)))
			return -1;
		for (uint32_t i = 0; i < t->ordered.n; i++)
			fs->ino[t->ordered.v[i]].flags &= ~JFS_IN_COMMIT_ORDERED;
		if (async && log_commit_block(fs, lc, 0, &fs->log_ios))
			return -1;	/* F8: no PREFLUSH, no FUA, no wait */
		t->state = JFS_T_WAIT_LOG;
		return 0;
	case JFS_T_WAIT_LOG:
		if (jfs_wait_ios(fs, &fs->log_ios))
			return -1;
		t->state = JFS_T_COMMIT_RECORD;
		return 0;
	case JFS_T_COMMIT_RECORD:
		if (!async) {
			uint32_t fl = fs->o.barrier ? TRACE_BIO_PREFLUSH | TRACE_BIO_FUA : 0;
			if (log_commit_block(fs, lc, fl, &fs->log_ios) ||
			    jfs_wait_ios(fs, &fs->log_ios))
				return -1;
		} else if (jfs_flush_dev(fs)) {
			return -1;
		}
		t->state = JFS_T_COMMITTED;
		return 0;
	case JFS_T_COMMITTED:
		fs->last_committed = t->tid;
		for (uint32_t i = 0; i < t->freed.n; i++) {
			uint32_t b = t->freed.v[i];
			cp_drop(fs, b);		/* jbd2: forgotten buffers */
			if (fs->busy[b] == t->tid)
				fs->busy[b] = 0;	/* M4 */
		}
		for (uint32_t i = 0; i < t->njb; i++) {
			uint32_t blk;
			const uint8_t *c = jb_content(fs, t, i, &blk);
			cp_set(fs, blk, c);	/* M5 */
		}
		fs->commits++;
		t->state = JFS_T_FINISHED;
		return 0;
	case JFS_T_RUNNING:
	case JFS_T_FINISHED:
	default:
		abort();			/* not a committing state */
	}
}

int jfs_commit_and_wait(struct jfs_fs *fs)
{
	struct jfs_txn *t = fs->run, *next = t == &fs->txn[0] ? &fs->txn[1] : &fs->txn[0];

	if (fs->dry || jfs_txn_empty(t))
		return 0;
	if (log_need(fs, t->njb, t->revoke.n) >= log_free(fs) && jfs_checkpoint(fs))
		return -1;
	if (log_need(fs, t->njb, t->revoke.n) >= log_free(fs))
		return jfs_errf(fs, "a transaction of %" PRIu32 " blocks does not fit the "
				"journal (raise jfs.journal_blocks)", t->njb);
	for (uint32_t i = 0; i < t->ordered.n; i++) {
		fs->ino[t->ordered.v[i]].flags &= ~JFS_IN_ORDERED;
		fs->ino[t->ordered.v[i]].flags |= JFS_IN_COMMIT_ORDERED;
	}
	txn_reset(next, t->tid + 1);
	fs->run = next;
	fs->commit = t;
	t->state = JFS_T_LOCKED;
	while (t->state != JFS_T_FINISHED)
		if (jfs_commit_step(fs)) {
			for (uint32_t i = 0; i < t->ordered.n; i++)
				fs->ino[t->ordered.v[i]].flags &= ~JFS_IN_COMMIT_ORDERED;
			fs->commit = NULL;
			return -1;
		}
	fs->commit = NULL;
	return 0;
}

/* ---- dry commit (F15) ---- */

int jfs_dry_commit(struct jfs_fs *fs)
{
	struct jfs_txn *t = fs->run;
	uint32_t nextra = 0, head = fs->head;
	struct jfs_logctx lc = { .head = &head, .tid = t->tid };

	/* shadow blocks the running txn does not journal yet */
	fs->dry_jb = realloc(fs->dry_jb, (fs->nshadow + 1) * sizeof(*fs->dry_jb));
	if (!fs->dry_jb)
		abort();
	for (uint32_t i = 0; i < fs->nshadow; i++) {
		uint32_t b = fs->shadow_blk[i], bi = fs->buf_of_blk[b];
		if (!bi || fs->bufs[bi].jtid != t->tid)
			fs->dry_jb[nextra++] = b;
	}
	if (jfs_txn_empty(t) && nextra == 0)
		return 0;
	if (fs->o.data == JFS_DATA_ORDERED && submit_ordered(fs, &t->ordered, NULL))
		return -1;
	if (log_need(fs, t->njb + nextra, t->revoke.n) >= log_free(fs)) {
		/* the commit would have checkpointed first */
		if (cp_write_all(fs, NULL))
			return -1;
		jsb_build(fs, fs->scratch, fs->head, t->tid);
		jfs_patches_add(fs->out, (uint64_t)fs->g.j_start * fs->g.bsize, fs->scratch,
				fs->g.bsize);
	}
	jfs_tlog_begin(fs, t->tid);
	if (log_txn(fs, t, nextra, &lc) || log_commit_block(fs, &lc, 0, NULL))
		return -1;
	return 0;
}
