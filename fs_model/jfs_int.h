/*
 * jfs_int.h — the filesystem model's private structures, shared by
 * the fs_model/ sources and tests/check_fs_model.c.  Nothing else includes it.
 *
 * The on-media format (all integers little-endian; F-rules cite
 * docs/semantics.md, "Filesystem"):
 *
 *   block 0                 superblock (JFS_SB_*)
 *   bbm_start ..            block allocation bitmap, one bit per block
 *   ibm_start ..            inode allocation bitmap, one bit per inode
 *   it_start ..             inode table, JFS_INODE_SIZE bytes per inode
 *   j_start .. +j_blocks    the journal: block 0 its superblock (JFS_JSB_*),
 *                           blocks 1 .. j_blocks-1 a circular log of
 *                           descriptor, revoke, journaled and commit blocks
 *   data_start ..           data: file blocks, directory blocks, indirect
 *                           blocks, xattr blocks, symlink targets
 *
 * Metadata is every block outside the data area plus directory, indirect,
 * xattr and symlink blocks inside it; it is journaled.  File data is
 * journaled only under data=journal (F9); under DAX it never goes through
 * the block device at all (F22).
 *
 * Invariants of the in-memory model (asserted where cheap):
 *   M1  Every metadata block the model ever touched has exactly one buffer
 *       (buf_of_blk[blk] != 0) whose data is its current contents; the
 *       filesystem never reads metadata from the device after mkfs.
 *   M2  A buffer or a data=journal page is in the running transaction iff
 *       its jtid equals run.tid; then it appears once in run.jb[].
 *   M3  A page exists for every byte of a regular file below i_size that
 *       was ever written since mkfs; pages are never evicted.  A page is
 *       dirty iff its contents may differ from its block on the device.
 *       Under DAX no file has pages: its blocks' newest bytes are the
 *       cache model's (cache_read_current), F22.
 *   M4  A block freed by transaction T is not reallocated before T
 *       commits (busy[] holds T's tid), so uncommitted frees never let new
 *       data overwrite blocks the durable metadata still references.
 *   M5  cp_of_blk[blk] != 0 iff a committed, not yet checkpointed
 *       transaction journaled blk; the image is what that commit logged.
 *   M6  DAX: a page tagged dirty (jfs_inode.dax_tag) has a written,
 *       mapped block; every written block a DAX file maps was zeroed
 *       durably before the transaction that allocated it (or converted
 *       its unwritten extent) could commit (F25).
 *   M7  A page's history (jfs_page.hist) is empty unless the page is
 *       dirty and its block allocated and written, or (data=writeback)
 *       dirty and in need of allocation (F18); it holds one record per
 *       change of its bytes since then (struct jfs_pgrec).  Under
 *       env->no_crash_states (`powercut run`) no page has one, and M8
 *       keeps none: no one asks for page versions, and they grew with
 *       the trace (575 MB at 1M events of gen_trace --kind file).
 *   M8  A page cleaned by a write the device may still lose (F15: the
 *       write-back, ordered data or O_DIRECT bio just submitted) keeps its
 *       history, with one entry in fs->uns (the bio, the version it
 *       wrote); the history goes on through later changes and cleanings.
 *       Once blockq/ says an entry's write can no longer be lost
 *       (bq_write_may_be_lost), the versions up to the one it wrote are
 *       dropped (jfs_hist_settle), as are older entries of that page; a
 *       page with no entry left and clean has no history.  Before that,
 *       a unit the write (or a later entry's) already made durable
 *       offers no version older than the newest durable one
 *       (m8_unit_floors: asked per unit).  Only with --background on
 *       (nothing else reads a history).
 *   M9  The background gap (jfs_model.c, "Notes"; docs/semantics.md F15,
 *       "Not explored"): gap_start != 0 iff some event boundary since the
 *       last commit that every background history makes too (sync, or an
 *       fsync whose inode is the only one changed since) offered a
 *       background commit; gap_open iff, since gap_start, a page that
 *       such a commit's metadata could reach (dirty, or on a block
 *       allocated before the current event) changed, or a DAX write or
 *       store reached such a block.  ev_alloc has a bit set exactly for
 *       the blocks in ev_allocs.  gap_ever iff some boundary ever offered
 *       a commit; with gap_lossy (the device may lose a completed
 *       commit's writes) every point from then on is unexplored.
 */
#ifndef POWERCUT_JFS_INT_H
#define POWERCUT_JFS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jfs.h"
#include "jfs_opts.h"
#include "../sim/latency.h"
#include "../sim/model.h"

/* ---- on-media format ---- */

#define JFS_MAGIC	0x53464350u	/* "PCFS" */
#define JFS_VERSION	1u
#define JFS_JMAGIC	0xc03b3998u	/* jbd2's JBD2_MAGIC_NUMBER */

enum {					/* superblock, u32 words */
	JFS_SB_MAGIC, JFS_SB_VERSION, JFS_SB_BSIZE, JFS_SB_NBLOCKS,
	JFS_SB_NINODES, JFS_SB_BBM_START, JFS_SB_BBM_BLOCKS, JFS_SB_IBM_START,
	JFS_SB_IBM_BLOCKS, JFS_SB_IT_START, JFS_SB_IT_BLOCKS, JFS_SB_J_START,
	JFS_SB_J_BLOCKS, JFS_SB_DATA_START, JFS_SB_ROOT, JFS_SB_FEATURES,
	JFS_SB_NWORDS
};

enum {					/* journal superblock, u32 words */
	JFS_JSB_MAGIC, JFS_JSB_TYPE, JFS_JSB_SEQ, JFS_JSB_BSIZE,
	JFS_JSB_MAXLEN, JFS_JSB_FIRST, JFS_JSB_SEQUENCE, JFS_JSB_START,
	JFS_JSB_FEATURES
};

#define JFS_FEAT_CSUM	1u		/* journal_checksum */
#define JFS_FEAT_ASYNC	2u		/* journal_async_commit */

enum jfs_jtype {			/* journal block types, as jbd2's */
	JFS_JT_DESC = 1,
	JFS_JT_COMMIT = 2,
	JFS_JT_SB = 4,
	JFS_JT_REVOKE = 5,
};

/* Journal block header: magic, type, sequence (3 u32), then per type:
 * descriptor: u32 ntags, tags from byte 16 {u64 blk, u32 flags, u32 csum};
 * revoke: u32 count, u64 block numbers from byte 16;
 * commit: u32 csum_type (0 none, 1 crc32), u32 csum, u32 nblocks. */
#define JFS_JHDR	16u
#define JFS_TAG_SIZE	16u
#define JFS_TAG_ESCAPE	1u		/* first 4 bytes were JFS_JMAGIC */
#define JFS_TAG_LAST	8u

/* Inodes: JFS_INODE_SIZE bytes at it_start * bsize + ino * size. */
#define JFS_INODE_SIZE	128u
#define JFS_NDIRECT	12u
enum {					/* byte offsets in an inode */
	JFS_I_MODE = 0,			/* u16: JFS_T_* (0 = free) */
	JFS_I_LINKS = 2,		/* u16 */
	JFS_I_FLAGS = 4,		/* u32 */
	JFS_I_SIZE = 8,			/* u64: i_disksize */
	JFS_I_BLOCK = 16,		/* u32[12] direct */
	JFS_I_IND = 64,			/* u32 single indirect */
	JFS_I_DIND = 68,		/* u32 double indirect */
	JFS_I_XATTR = 72,		/* u32 xattr block */
	JFS_I_PARENT = 76,		/* u32 parent directory (directories) */
	JFS_I_MTIME = 80,		/* u64 modification time (cycles) */
	JFS_I_GEN = 88,			/* u32 generation: which file of this number
					   (ext4's i_generation, F1) */
};
enum { JFS_T_NONE, JFS_T_REG, JFS_T_DIR, JFS_T_LNK };
#define JFS_UNWRITTEN	0x80000000u	/* block pointer flag: reads as zeros */
#define JFS_BLKMASK	0x7fffffffu
#define JFS_ROOT_INO	1u

/* Directory blocks: fixed entries {u32 ino, u16 name_len, u8 type, pad,
 * name[256]}; ino 0 is a free slot. */
#define JFS_DIRENT	264u
#define JFS_NAME_MAX	255u

/* xattr block: u32 count, then {u8 name_len, u16 value_len, name, value}. */

static inline uint16_t jfs_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t jfs_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t jfs_get64(const uint8_t *p)
{
	return (uint64_t)jfs_get32(p) | (uint64_t)jfs_get32(p + 4) << 32;
}
static inline void jfs_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void jfs_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void jfs_put64(uint8_t *p, uint64_t v) { jfs_put32(p, (uint32_t)v); jfs_put32(p + 4, (uint32_t)(v >> 32)); }

/* The geometry, as the superblock records it. */
struct jfs_geom {
	uint32_t bsize;			/* bytes per block */
	uint32_t nblocks;
	uint32_t ninodes;
	uint32_t bbm_start, bbm_blocks;
	uint32_t ibm_start, ibm_blocks;
	uint32_t it_start, it_blocks;
	uint32_t j_start, j_blocks;
	uint32_t data_start;
	uint32_t features;		/* JFS_FEAT_* */
};

/* Decode a superblock; 0, or -1 if it is not one of ours. */
int jfs_geom_decode(struct jfs_geom *g, const uint8_t *sb, uint64_t dev_bytes);

/* crc32 of a journal tag: sequence then the block (F8). */
uint32_t jfs_tag_csum(uint32_t seq, const uint8_t *blk, uint32_t bsize);

/* ---- the block device under the filesystem ---- */

/*
 * Everything the filesystem does to its device goes through this table, so
 * that plugging in blockq/ is one file (jfs_bdev.c).  Bios are numbered by
 * the filesystem.  submit copies DATA.
 */
struct jfs_bdev {
	const char *name;
	/* LINE: the trace line of the event that sends it, for descriptions */
	int (*submit)(void *ctx, uint64_t id, enum trace_bio_op op, uint32_t flags,
		      uint64_t off, uint64_t len, const void *data, uint64_t line);
	int (*wait)(void *ctx, uint64_t id);
	int (*wait_all)(void *ctx);
	/* M8: may the device still lose write ID at [off, off+len)?  NULL:
	 * never (the built-in device: submitted = durable, F17). */
	bool (*may_lose)(void *ctx, uint64_t id, uint64_t off, uint64_t len);
	/* changes whenever some write becomes durable (bq_durable_gen) */
	uint64_t (*durable_gen)(void *ctx);
	void *ctx;
};

/* The device for ENV: blockq/ when it is registered and made, else the
 * built-in write-through device (completion = durable, F17). */
void jfs_bdev_init(struct jfs_bdev *b, const struct sim_env *env);

/* ---- in-memory model ---- */

struct jfs_buf {			/* a metadata buffer (M1) */
	uint32_t blk;
	uint32_t jtid;			/* running txn that holds it, or 0 (M2) */
	uint8_t *data;
};

enum {					/* jfs_page.flags */
	JFS_PG_DIRTY = 1u << 0,		/* newer than its block */
	JFS_PG_TRIMMED = 1u << 1,	/* scratch of jfs_hist_settle */
};

struct jfs_page {
	uint32_t ino;
	uint32_t pgno;
	uint32_t flags;
	uint32_t jtid;			/* data=journal: running txn holding it */
	uint8_t *data;
	uint32_t hist;			/* M7: newest history record + 1, 0 none */
	uint32_t nhist;			/* records in its history */
	uint32_t nclean;		/* M8: its entries in fs->uns */
	uint32_t settle_to;		/* M8: scratch of jfs_hist_settle */
	uint64_t dirty_ev;		/* M9: the event in which it last became dirty */
};

/* M8: a write that cleaned page PAGE (its version VER then current) and
 * that the device may still lose. */
struct jfs_unsettled {
	uint64_t bio, off;
	uint32_t page, ver;
};

/*
 * M7, the page history (F15): a dirty page whose block is allocated and
 * written keeps one record per change of its bytes since it became dirty
 * (or since its block became written, whichever is later), newest first:
 * the range the change wrote and the bytes it replaced (an undo log).
 * Under data=writeback a dirty page that needs allocation (a hole or an
 * unwritten extent) keeps one too, since it became dirty (F18: the
 * flusher may have written any version to the block a background
 * commit's write-back gives it).  Version k of n (k = n: the current
 * bytes) is the page with records n down to k+1 undone; record 1 is never
 * undone, so it keeps no bytes (len 0).  The records live in one arena
 * (struct jfs_hist); a page's records are garbage once it is cleaned or
 * dropped, and the arena is compacted when garbage passes half of it, so
 * a steady state allocates nothing.
 */
struct jfs_pgrec {
	uint32_t prev;			/* older record + 1, 0 none */
	uint32_t off, len;		/* the range the change wrote (len 0:
					 * record 1, never undone) */
	size_t at;			/* its old bytes in jfs_hist.b */
};

struct jfs_hist {
	struct jfs_pgrec *r;
	uint32_t nr, rcap;
	uint8_t *b;
	size_t nb, bcap;
	uint32_t live_r;		/* records some page still holds */
	size_t live_b;
	struct jfs_pgrec *r2;		/* compaction targets, swapped with r, b */
	uint32_t r2cap;
	uint8_t *b2;
	size_t b2cap;
	uint8_t *ver;			/* one block: a version being rebuilt */
	uint32_t pending;		/* page slot jfs_hist_save saved for */
	uint64_t records, compactions;	/* statistics */
};

enum {					/* jfs_inode.flags */
	JFS_IN_DA_ALLOC_CLOSE = 1u << 0,	/* F12: allocate on close */
	JFS_IN_ORDERED = 1u << 1,	/* in run.ordered[] */
	JFS_IN_COMMIT_ORDERED = 1u << 2, /* in the committing txn's ordered[] */
};

struct jfs_inode {			/* the in-memory half of an inode */
	uint64_t size;			/* i_size (the on-disk field is i_disksize) */
	uint32_t nopen;			/* open file descriptions */
	uint32_t nmap;			/* live mappings */
	uint32_t flags;			/* JFS_IN_* */
	uint32_t sync_tid;		/* last txn that changed the inode */
	uint32_t datasync_tid;		/* last txn that changed what data needs */
	uint32_t *pages;		/* page slot + 1 by page number; 0 none */
	uint32_t npages;		/* capacity of pages[] */
	uint32_t ndirty;		/* dirty pages */
	uint64_t *dax_tag;		/* DAX: pages tagged dirty (bits, F24) */
	uint32_t dax_tagw;		/* words of dax_tag[] */
	uint32_t dax_ntag;		/* bits set in it */
	bool wb_dirty;			/* F28: on the flusher's dirty list */
	uint64_t dirtied_when;		/* F28: clock when it got there */
};

struct jfs_fd {
	bool open;
	uint32_t ino;
	uint32_t flags;			/* TRACE_O_* */
	uint64_t pos;
};

struct jfs_map {
	bool live;
	uint64_t addr, len, off;
	uint32_t ino;
	uint32_t flags;			/* TRACE_MAP_* (MAP_SYNC, F24) */
};

struct jfs_jb {				/* one block a transaction journals */
	uint32_t blk;
	uint32_t src;			/* buffer index, or page slot (data) */
	bool data;			/* data=journal page */
};

/* F3: a transaction's life, one state per case of jfs_commit_step(). */
enum jfs_tstate {
	JFS_T_RUNNING,			/* handles add blocks */
	JFS_T_LOCKED,			/* no new handles; log position fixed */
	JFS_T_FLUSH,			/* ordered data submitted */
	JFS_T_LOGGING,			/* revoke, descriptor, metadata blocks */
	JFS_T_WAIT_DATA,		/* wait for ordered data */
	JFS_T_WAIT_LOG,			/* wait for the journal blocks */
	JFS_T_COMMIT_RECORD,		/* commit block written and waited */
	JFS_T_COMMITTED,		/* durable (modulo the device) */
	JFS_T_FINISHED,			/* bookkeeping done; awaits checkpoint */
};

struct jfs_u32v {			/* a growable array of u32 */
	uint32_t *v;
	uint32_t n, cap;
};

struct jfs_txn {
	uint32_t tid;
	enum jfs_tstate state;
	struct jfs_jb *jb;		/* blocks to journal, in order */
	uint32_t njb, jbcap;
	struct jfs_u32v revoke;		/* blocks revoked (F7) */
	struct jfs_u32v ordered;	/* inodes whose data goes first (F4) */
	struct jfs_u32v freed;		/* blocks busy until commit (M4) */
	uint32_t log_start;		/* first log block */
	uint32_t crc;			/* F8: running crc32 of its log blocks */
	uint32_t nlog;			/* log blocks written so far */
	uint64_t commit_id;		/* bio id of the commit block */
};

/* Where jfs_out_block sends a block: the device, or a patch list (what a
 * background action would have made durable, F15). */
struct jfs_patch {
	uint64_t off;			/* byte offset on the device */
	uint32_t len;
	uint32_t at;			/* offset in jfs_patches.bytes */
};

struct jfs_patches {
	struct jfs_patch *p;
	uint32_t n, cap;
	uint32_t base;			/* patches before it belong to others */
	uint8_t *bytes;
	size_t nbytes, bcap;
};

/* A background group (F15). */
enum jfs_bg_kind {
	JFS_BG_COMMIT,			/* the commit timer after a write-back subset */
	JFS_BG_PAGE,			/* an atomic unit of an allocated dirty page:
					 * its versions (M7) */
	JFS_BG_DELAYED,			/* F18: a unit of a page that needs allocation,
					 * its data at the block every subset gives it */
};

struct jfs_bg_group {
	uint32_t kind;			/* enum jfs_bg_kind */
	uint32_t nchoices;
	uint32_t first;			/* commit: index of choice 1 in bg_choice;
					 * write-back: of choice 1's version in bgv */
	uint32_t page;			/* write-back: page slot */
	uint64_t off;			/* write-back: device offset of the unit */
	uint32_t uoff, ulen;		/* write-back: the unit in the page (F15) */
};

struct jfs_bg_choice {			/* patches [p0, p1) of bg_patches */
	uint32_t p0, p1;
	uint32_t subset;		/* delalloc inodes written back (bits) */
};

/* At most this many files needing allocation take part in the background
 * commit's write-back subsets (the rest are never written back by it). */
#define JFS_BG_MAX_FILES 32u

/* How alloc_block serves a dry write-back (F15, F18). */
enum jfs_bg_fix {
	JFS_BGFIX_OFF,			/* allocate from the goal, as the real one */
	JFS_BGFIX_RECORD,		/* allocate so, and append to bg_alloc */
	JFS_BGFIX_REPLAY,		/* hand out bg_alloc[bg_fix_next ..] */
};

/* DAX (jfs_dax.c, F22-F27): the state beside the per-inode tags. */
struct jfs_dax {
	enum jfs_dax_flush flush;	/* F26, from dax_flush= or jfs.dax_flush */
	uint64_t line_size;		/* cache.line */
	uint64_t pmem_size;		/* the namespace (hammer's range) */
	uint64_t fault_cycles;		/* jfs.fault_cycles */
	uint64_t line;			/* trace line of the event being applied */
	uint8_t *zero;			/* one block of zeros */
	uint8_t *buf;			/* one block: a payload piece */
	uint8_t *touched;		/* data blocks ever allocated (bits) */
	/* statistics */
	uint64_t write_bytes, faults, sync_faults, pages_tagged, blocks_zeroed;
	uint64_t zeroed_bytes, writebacks, pages_written_back, lines_written_back;
	uint64_t writeback_cycles, fences;
};

#define JFS_MAX_FD	1024u
#define JFS_MAX_MAPS	256u

struct jfs_tlog_idx {			/* one logged transaction (O6) */
	uint32_t tid;
	size_t first, n;		/* its entries in tlog (or dlog) */
};

struct jfs_fs {
	const struct sim_env *env;
	struct jfs_opts o;
	struct jfs_geom g;
	struct jfs_bdev dev;
	uint64_t dev_bytes;
	uint32_t pperblk;		/* block pointers per block */

	/* buffers (M1) */
	struct jfs_buf *bufs;		/* index 0 unused */
	uint32_t nbufs, bufcap;
	uint32_t *buf_of_blk;		/* nblocks entries */
	struct jfs_u32v free_bufs;

	/* pages (M3) */
	struct jfs_page *pages;		/* index 0 unused */
	uint32_t npages, pagecap;
	uint64_t ndirty;		/* dirty pages of every file (F11) */
	struct jfs_u32v free_pages;
	struct jfs_hist hist;		/* M7 */
	struct jfs_unsettled *uns;	/* M8, in the order the writes were sent */
	uint32_t nuns, unscap;
	uint64_t uns_gen;		/* dev.durable_gen at the last settle */
	struct jfs_u32v uns_pages;	/* scratch of jfs_hist_settle and
					   m8_unit_floors */
	uint64_t last_bio;		/* the id jfs_out_block last sent */

	struct jfs_inode *ino;		/* ninodes entries */
	uint32_t *busy;			/* M4: tid that freed the block, 0 */
	uint32_t alloc_goal;		/* next block to try */
	uint32_t next_gen;		/* the last inode generation given */
	struct jfs_fd fd[JFS_MAX_FD];
	struct jfs_map map[JFS_MAX_MAPS];

	/* the journal */
	struct jfs_txn txn[2];
	struct jfs_txn *run;		/* the running transaction */
	struct jfs_txn *commit;		/* the committing one, or NULL */
	uint32_t head;			/* next log block (1 .. j_blocks-1) */
	uint32_t tail;			/* oldest live log block (jsb s_start) */
	uint32_t tail_seq;		/* its sequence (jsb s_sequence) */
	uint32_t last_committed;	/* highest committed tid */
	uint32_t max_txn;		/* blocks a transaction may journal */
	uint32_t *cp_of_blk;		/* M5: checkpoint image index + 1 */
	uint8_t **cp_img;		/* images by index */
	uint32_t *cp_blk;		/* home block by index */
	struct jfs_u32v cp_list;	/* indexes in use */
	struct jfs_u32v cp_free;
	uint32_t cp_cap;
	struct jfs_u32v data_ios;	/* ids of ordered-data bios in flight */
	struct jfs_u32v log_ios;	/* ids of journal bios in flight */
	struct jfs_u32v wb_ios;		/* ids of write-back bios in flight */
	struct jfs_u32v wb_ino;		/* the inode of each, by index */
	struct jfs_u32v wb_tmp;		/* the ones being waited for */
	struct jfs_u32v cp_ios;		/* checkpoint and superblock bios */
	uint64_t next_bio;
	uint64_t line;			/* trace line of the event being applied */
	uint8_t *scratch;		/* one block */
	uint8_t *scratch2;		/* one block */
	uint64_t run_start_clock;	/* F20: when the running transaction got its
				 * first block or revoke (the commit timer
				 * counts from it; meaningless while empty) */
	uint64_t commit_interval;	/* cycles */
	uint64_t dirty_expire;		/* F28: cycles */
	uint64_t wb_oldest;		/* F28: no inode on the flusher's list
					 * was dirtied before (a lower bound) */
	uint64_t flusher_writebacks;	/* F28: files the flusher wrote back */

	/* the dry mode of background what-ifs (F15): metadata writes go to
	 * shadow copies, data writes and journal blocks to a patch list */
	bool dry;
	struct jfs_patches *out;	/* dry: where blocks go */
	uint32_t *shadow_of_blk;	/* shadow index + 1 */
	uint8_t **shadow;		/* shadow images */
	uint32_t *shadow_blk;
	uint32_t nshadow, shadow_cap;
	uint32_t *dry_jb;		/* dry commit: extra metadata blocks */

	/* journal atomicity (O6): what each transaction logged, for the
	 * oracle; tlog entries are grouped by transaction in log order */
	struct jfs_logged *tlog;	/* every real transaction's blocks */
	size_t ntlog, tlogcap;
	struct jfs_tlog_idx *tidx;	/* per transaction: tid, first, count */
	size_t ntidx, tidxcap;
	struct jfs_tlog_idx *didx;	/* dry commits of this point's choices */
	size_t ndidx, didxcap;
	struct jfs_logged *dlog;
	size_t ndlog, dlogcap;

	/* F8 with checksums: what the log holds, for the scan's comparison
	 * (jfs_model_log_contents): the last real write of each log block
	 * and the sequence it was for, among the last JFS_LCONT_MAX log
	 * writes (a ring: memory does not grow with the journal), and the
	 * log blocks of this point's dry commits (reset with dlog) */
	uint8_t *lcont;			/* nlcont blocks, from the first write */
	struct jfs_lcseq { uint32_t lb, seq; } *lcont_seq;	/* per ring slot */
	uint32_t *lcont_of;		/* per log block: ring slot + 1, 0 none */
	uint32_t nlcont, nlcont_used, lcont_next;
	struct jfs_dlc { uint32_t lb, seq; size_t at; } *dlc;	/* at: in dlcb */
	size_t ndlc, dlccap;
	uint8_t *dlcb;
	size_t dlcbcap;

	/* background crash groups (F15), rebuilt when gen changes */
	bool in_event;
	uint64_t gen, bg_gen;
	struct jfs_bg_group *bg;
	uint32_t nbg, bgcap;
	struct jfs_bg_choice *bgc;
	uint32_t nbgc, bgccap;
	struct jfs_patches bgp;
	uint32_t max_subset_inodes;
	/* F15: a write-back group is one atomic unit of a page (bg_unit
	 * bytes: the device's); its choices' versions, oldest first, are
	 * bgv.v[first ..] */
	uint32_t bg_unit;
	struct jfs_u32v bgv;
	uint32_t *bg_ucount;		/* scratch: three per unit of a block */
	uint32_t bgver_page, bgver_k;	/* the version bgver_ptr holds */
	const uint8_t *bgver_ptr;
	/* F18: under data=writeback every write-back subset gives each
	 * page the block one write-back of every file gives it (bg_canon
	 * in jfs_model.c): file d[i] of bg_build allocates, in order, the
	 * blocks bg_alloc.v[bg_alloc_at[i] .. bg_alloc_at[i+1]) */
	enum jfs_bg_fix bg_fix;
	struct jfs_u32v bg_alloc;
	uint32_t bg_alloc_at[JFS_BG_MAX_FILES + 1];
	uint32_t bg_fix_next, bg_fix_end;	/* REPLAY: the current file's */

	/* M9: histories the background groups do not cover (F15, "Not
	 * explored"): an earlier background commit, then an in-place data
	 * write.  Kept only with --background on. */
	uint64_t ev_seq;		/* events applied; the current one's number */
	uint64_t gap_start;		/* 0, or the first event after a boundary
					 * whose commit group had a choice, since
					 * the last commit every such history makes */
	bool gap_open;			/* a write e's metadata can see since then */
	uint32_t gap_ino;		/* the one inode changed since gap_start */
	bool gap_multi;			/* more than one */
	bool gap_lossy;			/* the device may lose a commit's writes
					 * after it completed: no flush reaches a
					 * volatile cache (nobarrier, a flush
					 * fault) or completion is early */
	bool gap_ever;			/* some boundary offered a commit */
	uint8_t *ev_alloc;		/* bits: blocks allocated (or converted)
					 * during the current event */
	struct jfs_u32v ev_allocs;	/* the same, to clear them */

	/* costs and statistics */
	uint64_t syscall_cycles, copy_cycles, bio_cycles, flush_cycles;
	struct lat_rec lat;		/* fsync/fdatasync/msync latencies */
	uint64_t commits, checkpoints, bios, journal_blocks, failed_calls;
	uint64_t failed_by_errno[8];
	struct jfs_dax dax;		/* with o.dax */
	char ename[128];		/* scratch for step descriptions */
};

/* ---- jfs_fs.c: buffers, allocation, inodes, directories, pages ---- */

int jfs_fs_init(struct jfs_fs *fs, const struct sim_env *env, const struct jfs_opts *o,
		uint32_t bsize, uint32_t nblocks, uint32_t ninodes, uint32_t jblocks);
void jfs_fs_free(struct jfs_fs *fs);
/* Write the formatted image straight to media (before the trace). */
void jfs_mkfs_write(struct jfs_fs *fs, struct media *m);

const uint8_t *jfs_meta_read(struct jfs_fs *fs, uint32_t blk);
/* Get write access to metadata block BLK in the running txn (F5). */
uint8_t *jfs_meta_write(struct jfs_fs *fs, uint32_t blk);
uint8_t *jfs_inode_write(struct jfs_fs *fs, uint32_t ino);
const uint8_t *jfs_inode_read(struct jfs_fs *fs, uint32_t ino);

/* The block mapped at logical block LBLK (with JFS_UNWRITTEN), 0 a hole.
 * With ALLOC, allocate a missing one (UNWRITTEN gives it that flag). */
int jfs_bmap(struct jfs_fs *fs, uint32_t ino, uint64_t lblk, bool alloc,
	     bool unwritten, uint32_t *pblk);
/* Clear the unwritten flag of LBLK. */
void jfs_bmap_set_written(struct jfs_fs *fs, uint32_t ino, uint64_t lblk);

/* F8: how many of the last log writes the model keeps (jfs_model_log_contents) */
#define JFS_LCONT_MAX 4096u

/* M7: page S is about to change [off, off+len): save the bytes it
 * replaces.  Then jfs_hist_done once the change is made, with WRITTEN
 * true when the page's block is allocated and written. */
void jfs_hist_save(struct jfs_fs *fs, uint32_t s, uint32_t off, uint32_t len);
void jfs_hist_done(struct jfs_fs *fs, uint32_t s, bool written);
/* M7: forget page S's history (it is clean, dropped, or its block is not
 * written). */
void jfs_hist_reset(struct jfs_fs *fs, uint32_t s);
/* M7: version K (1 .. nhist) of page S, in fs->hist.ver; the current
 * bytes when K = nhist or the page has no history. */
const uint8_t *jfs_hist_version(struct jfs_fs *fs, uint32_t s, uint32_t k);
/* Page S is clean: its contents were handed to the bio jfs_out_block
 * just sent, at device offset OFF (M8 keeps its history while the device
 * may lose that write). */
void jfs_page_clean(struct jfs_fs *fs, uint32_t s, uint64_t off);
/* M8: drop the versions that writes now durable make impossible. */
void jfs_hist_settle(struct jfs_fs *fs);

/* F28: IN became dirty (its first dirty page or DAX tag) / may have
 * become clean: the flusher's list and dirtied_when. */
void jfs_inode_dirtied(struct jfs_fs *fs, struct jfs_inode *in);
void jfs_inode_cleaned(struct jfs_inode *in);

/* Write back INO's dirty pages (allocating delayed ones, F11).  WAIT
 * waits for the bios.  In dry mode, to fs->out. */
int jfs_writeback_inode(struct jfs_fs *fs, uint32_t ino, bool wait);
/* INO has a dirty page below EOF without a written block (a hole: a
 * delayed allocation; or an unwritten extent to convert). */
bool jfs_inode_needs_alloc(struct jfs_fs *fs, uint32_t ino);
/* INO has a dirty page below EOF over a hole: blocks reserved for delayed
 * allocation (ext4's i_reserved_data_blocks != 0; F12). */
bool jfs_inode_has_delayed(struct jfs_fs *fs, uint32_t ino);

/* The namespace events.  0, 1 (the call failed with an errno the trace
 * recorded, counted in the report), or -1 with env->err set. */
int jfs_do_event(struct jfs_fs *fs, const struct trace_event *ev);

/* i_disksize of INO := SZ in the running transaction. */
void jfs_set_disksize(struct jfs_fs *fs, uint32_t ino, uint64_t sz);
/* The live shared mapping holding [addr, addr+len), or NULL. */
const struct jfs_map *jfs_map_of(struct jfs_fs *fs, uint64_t addr, uint64_t len);
/* F10 (and F26 under DAX): fsync (DATASYNC: fdatasync) of INO; under DAX
 * the dirty lines of byte range [a, b) are written back first. */
int jfs_fsync_range(struct jfs_fs *fs, uint32_t ino, bool datasync, uint64_t a, uint64_t b);

/* ---- jfs_dax.c: DAX (F22-F27) ---- */

extern const char *const jfs_dax_flush_names[];	/* by enum jfs_dax_flush */
/* Check the device (a pmem one, with the cache model) and take the
 * parameters.  0, or -1 with env->err set. */
int jfs_dax_init(struct jfs_fs *fs);
void jfs_dax_free(struct jfs_fs *fs);
/* F23: write LEN bytes of payload P at OFF of INO (i_size grows). */
int jfs_dax_write(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len,
		  const struct trace_payload *p);
/* F24: a CPU event of the trace (mmap addresses, fences). */
int jfs_dax_cpu(struct jfs_fs *fs, const struct trace_event *ev);
/* F25: zero [off, off+len) of INO (within one block) durably, if mapped. */
int jfs_dax_zero_range(struct jfs_fs *fs, uint32_t ino, uint64_t off, uint64_t len);
/* F26: write back by dax_flush the dirty lines of INO's byte range [a, b)
 * (b = UINT64_MAX: to the end; INO 0: every inode, as sync). */
int jfs_dax_writeback(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b);
/* Drop INO's tags of pages [a, b) (their blocks are freed). */
void jfs_dax_forget(struct jfs_fs *fs, uint32_t ino, uint64_t a, uint64_t b);
void jfs_dax_report(const struct jfs_fs *fs, FILE *out);

/* ---- jfs_journal.c ---- */

/* Make a block journaled in the running transaction (M2, F5). */
void jfs_journal_buf(struct jfs_fs *fs, uint32_t bufidx);
void jfs_journal_page(struct jfs_fs *fs, uint32_t slot, uint32_t blk);
/* A block was freed: revoke it if it was journaled (F7), mark it busy. */
void jfs_journal_forget(struct jfs_fs *fs, uint32_t blk, bool meta);
void jfs_journal_add_ordered(struct jfs_fs *fs, uint32_t ino);
/* Before a handle that may journal up to NBLK blocks (start_this_handle). */
int jfs_handle_start(struct jfs_fs *fs, uint32_t nblk);
bool jfs_txn_empty(const struct jfs_txn *t);

/* F3: one step of the committing transaction's state machine. */
int jfs_commit_step(struct jfs_fs *fs);
/* Commit the running transaction and wait for it (fsync, sync). */
int jfs_commit_and_wait(struct jfs_fs *fs);
/* F6: write back every checkpoint image, flush, move the tail. */
int jfs_checkpoint(struct jfs_fs *fs);
/* An empty flush bio (barrier only), waited for. */
int jfs_flush_dev(struct jfs_fs *fs);

/* Write one block (device offset OFF, BSIZE bytes) to the device (a bio,
 * id returned in *id when id != NULL) or to the dry patch list. */
int jfs_out_block(struct jfs_fs *fs, uint64_t off, const void *data, uint32_t flags,
		  struct jfs_u32v *ios, const char *what);
int jfs_wait_ios(struct jfs_fs *fs, struct jfs_u32v *ios);
/* Wait for the write-back bios in flight of inode INO (0: every inode;
 * JFS_WB_COMMIT: the committing transaction's ordered inodes). */
#define JFS_WB_COMMIT UINT32_MAX
int jfs_wait_wb(struct jfs_fs *fs, uint32_t ino);

/* Dry commit of the running txn plus shadow blocks (F15). */
int jfs_dry_commit(struct jfs_fs *fs);

void jfs_u32v_push(struct jfs_u32v *v, uint32_t x);
/* Start recording what transaction TID logs (real or dry), O6. */
void jfs_tlog_begin(struct jfs_fs *fs, uint32_t tid);
void jfs_patches_add(struct jfs_patches *p, uint64_t off, const void *data, uint32_t len);

/* ---- M9: the background gap (jfs_model.c) ---- */

/* Inode INO's metadata changed (not in dry mode). */
static inline void jfs_gap_touch(struct jfs_fs *fs, uint32_t ino)
{
	if (!fs->gap_start || fs->gap_multi || fs->gap_ino == ino)
		return;
	if (fs->gap_ino)
		fs->gap_multi = true;
	else
		fs->gap_ino = ino;
}
/* Block BLK was allocated, or its unwritten extent converted, now. */
void jfs_gap_alloc(struct jfs_fs *fs, uint32_t blk);
/* Page S is about to change its bytes (buffered write, truncate, a
 * non-DAX mmap store); not in dry mode. */
void jfs_gap_page_change(struct jfs_fs *fs, uint32_t s);
/* DAX: block BLK's bytes are written in place now. */
void jfs_gap_block_write(struct jfs_fs *fs, uint32_t blk);
/* A commit every background history makes too has completed: INO is the
 * inode whose fsync made it, or 0 for sync (and data=journal's forced
 * commit), which commits everything in every history. */
void jfs_gap_converged(struct jfs_fs *fs, uint32_t ino);

/* ---- jfs_model.c ---- */
int jfs_errf(struct jfs_fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A crash point after an internal step; the description, printf-style,
 * is formatted only for a listener (sim/model.h). */
void jfs_step(struct jfs_fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
