/*
 * jfs.h — the ext4/jbd2-like filesystem model: what it promises the
 * simulator and the oracle.
 *
 * The model (jfs_model_kind, role SIM_ROLE_FS) takes every file event of
 * the trace format and, in a file trace, every CPU event (addresses inside
 * its mmap ranges).  Its rules, F1..Fn, are in the essay at the top of
 * fs_model/jfs_model.c and in docs/semantics.md ("Filesystem").
 *
 *   - Everything it writes to its device goes through blockq/ when that
 *     model is made (env->blockq), else through a built-in write-through
 *     device (F17) -- except, with the dax option, file data, which it
 *     reads and writes as CPU operations on the pmem namespace through
 *     the cache model (env->cache, F22-F27).  The durable image is a real
 *     byte image in the on-media format of jfs_int.h: a crash image is
 *     recovered by reading it, never from the model's memory.
 *   - Its own volatility — the commit timer and the page write-back the
 *     kernel may do between any two events (--background on) — is a set of
 *     independent crash groups (F15), sim_crash_ops in jfs_model_ops.
 *   - After each internal step (a bio submitted, waited for, a commit
 *     block completing) it calls env->step.
 *
 * The oracle's half: a jfs_view recovers a crash image (jbd2's scan,
 * revoke and replay passes, F13, then orphan cleanup) into an overlay,
 * without touching the image, answers path lookups and runs fsck.
 */
#ifndef POWERCUT_JFS_H
#define POWERCUT_JFS_H

#include <stddef.h>
#include <stdint.h>

#include "../sim/config.h"
#include "../sim/models.h"

struct lat_rec;

extern const struct sim_model_kind jfs_model_kind;
extern const struct sim_model_ops jfs_model_ops;

/* Parameters (jfs.*), registered in sim/params.c. */
extern const struct sim_param jfs_params[];

/* ---- recovered views of crash images ---- */

/* Reads N bytes at byte offset OFF of an image. */
typedef void jfs_read_fn(const void *img, uint64_t off, void *dst, size_t n);
/* A stamp of bytes [OFF, OFF+N) of IMG, which counts as reading them:
 * equal non-zero stamps mean equal bytes; 0 means unknown. */
typedef uint64_t jfs_stamp_fn(const void *img, uint64_t off, size_t n);
/* Stamps of the NBLK blocks of BSIZE bytes at byte offset OFF of IMG into
 * OUT[0..NBLK): equal stamps of a block mean equal bytes, and true counts
 * as reading them all.  False (OUT undefined, nothing read) when they are
 * unknown or could change between the images the caller's result must
 * hold for. */
typedef bool jfs_bstamps_fn(const void *img, uint64_t off, uint32_t bsize, uint32_t nblk,
			    uint64_t *out);

struct jfs_view;

/* An empty view.  0 or -ENOMEM.  Reuse it for many images: after the
 * first few, loading allocates nothing. */
int jfs_view_create(struct jfs_view **v);
void jfs_view_destroy(struct jfs_view *v);

/*
 * Recover the image read by READ(IMG, ...) of IMG_BYTES bytes: decode the
 * superblock, run jbd2's three passes over the journal into an overlay
 * (the image itself is never written), then free orphan inodes (links 0)
 * in the overlay as ext4's orphan cleanup would.  Returns 0, or -1 when
 * the image holds no filesystem of ours (lookups then say "absent" and
 * fsck reports the reason).  O(journal + replayed blocks).
 */
int jfs_view_load(struct jfs_view *v, jfs_read_fn *read, const void *img,
		  uint64_t img_bytes);

/*
 * Look PATH (absolute) up in the recovered view, as lstat would (no
 * symlink followed), and write what is there to OUT: "absent"; a regular
 * file's "SIZE:XXXXXXXX" (decimal size, crc32 of the whole content,
 * lowercase hex); a directory's "dir:N:XXXXXXXX" (its N live entries, the
 * crc32 of their names sorted bytewise, each followed by a NUL byte); a
 * symlink's "symlink:LEN:XXXXXXXX" (its target's length and crc32).  A
 * trailing slash names a directory only: after anything else, "absent".
 * Returns the characters written, or -1 if OUTLEN is too small.
 * O(path depth * directory size + file or directory size).
 */
int jfs_view_lookup(struct jfs_view *v, const char *path, char *out, size_t outlen);

/* Reads the content of PATH into BUF (at most N bytes); returns the file's
 * size, or -1 if absent.  For the oracle's expected-content checks. */
int64_t jfs_view_read_file(struct jfs_view *v, const char *path, void *buf, size_t n);

/*
 * jfs_view_read_file without the copy: the same reads, in the same order,
 * each block (holes and unwritten extents as zeros) handed to FN as it is
 * read: the file's SIZE, the bytes [OFF, OFF+N) of its content (N is the
 * block size, less at the end), valid only during the call.  Returns the
 * size, or -1 if absent (FN is not called).  O(file size) time, O(block)
 * memory: what judges a file of any size, holes included.
 */
typedef void jfs_data_fn(void *ctx, uint64_t size, uint64_t off, const uint8_t *d, size_t n);
int64_t jfs_view_stream_file(struct jfs_view *v, const char *path, jfs_data_fn *fn, void *ctx);

/* Which of PATH's blocks recovered metadata references: MAPPED[l] = 1 for
 * a mapped, written block l, 0 for a hole or an unwritten extent (reads
 * as zeros), for the first N blocks; *BSIZE the block size.  Returns the
 * number of blocks below the file's size, or -1 if absent.  O(blocks). */
int64_t jfs_view_file_map(struct jfs_view *v, const char *path, uint8_t *mapped, size_t n,
			  uint32_t *bsize);

/*
 * Where the content of PATH comes from, block by block, as
 * jfs_view_read_file reads it: the same reads of the image (lookup,
 * inode, indirect blocks) but none of the data blocks'.  BLK[l], for the
 * first N of its ceil(size / *BSIZE) blocks: 0 when block l reads as
 * zeros without a read (a hole, an unwritten extent, a pointer outside
 * the filesystem or the image); else the block it reads, with
 * JFS_VIEW_REPLAYED set when recovery wrote it to its overlay (replayed
 * from the journal: its home block's bytes, and stamps, say nothing of
 * it).  Returns the size jfs_view_read_file would (0 for a directory),
 * or -1 if absent.  O(blocks), each indirect block read once.
 */
#define JFS_VIEW_REPLAYED	0x80000000u
int64_t jfs_view_file_blocks(struct jfs_view *v, const char *path, uint32_t *blk, size_t n,
			     uint32_t *bsize);

/* Block BLK (a jfs_view_file_blocks code) as recovered: the overlay's
 * copy, or the image's bytes read into BUF (block size bytes).  Valid
 * until the next call on V.  O(block size). */
const uint8_t *jfs_view_block(struct jfs_view *v, uint32_t blk, uint8_t *buf);

/* The stamps of image blocks [BLK, BLK+NBLK) through the view's
 * jfs_bstamps_fn (jfs_view_set_block_stamps) into OUT: true counts them
 * as read; false (nothing read, OUT undefined) when there is no such
 * function, the run leaves the image, or the function refuses (a crash
 * choice could write into it).  The overlay is not consulted: pass only
 * blocks jfs_view_file_blocks did not mark JFS_VIEW_REPLAYED. */
bool jfs_view_block_stamps(struct jfs_view *v, uint32_t blk, uint32_t nblk, uint64_t *out);

/* Called once per problem fsck finds, with a one-line description. */
typedef void jfs_problem_fn(void *ctx, const char *problem);

/*
 * fsck (F14) of the recovered view: bitmaps agree with references, no
 * block referenced twice or outside the data area, directory entries name
 * live inodes, link counts match entries, sizes cover mapped written
 * blocks.  Returns the number of problems (0 = consistent), calling FN
 * (may be NULL) for each.  O(inodes + blocks).
 */
unsigned jfs_view_fsck(struct jfs_view *v, jfs_problem_fn *fn, void *ctx);

/* Transactions the last load replayed, and blocks it wrote to the overlay. */
unsigned jfs_view_replayed(const struct jfs_view *v, unsigned *blocks);

/* The type and size of PATH in the recovered view (JFS_VIEW_REG, _DIR,
 * _LNK).  0, or -1 if absent.  O(path depth * directory size). */
enum { JFS_VIEW_REG = 1, JFS_VIEW_DIR = 2, JFS_VIEW_LNK = 3 };
int jfs_view_stat(struct jfs_view *v, const char *path, unsigned *type, uint64_t *size);

/* Let later loads ask FN for stamps of the image's blocks, so that
 * recovery reuses what it computed from journal blocks that did not
 * change between loads (NULL: never). */
void jfs_view_set_stamp(struct jfs_view *v, jfs_stamp_fn *fn);

/*
 * With journal checksums (F8): what the filesystem wrote at log block LB
 * for sequence SEQ -- up to MAX contents into OUT (each a whole block as
 * written); returns how many there are, 0 when nothing is known.
 */
typedef unsigned jfs_logc_fn(const void *ctx, uint32_t lb, uint32_t seq, const uint8_t **out,
			     unsigned max);

/* Let the scan compare the log blocks it sums with what FN (given CTX)
 * says was written there, reading the image through PEEK (not counted as
 * read) to find how far a block agrees with one of them; NULL: it reads
 * every block it sums whole (docs/semantics.md F8, "Torn log blocks"). */
void jfs_view_set_log_contents(struct jfs_view *v, jfs_logc_fn *fn, const void *ctx,
			       jfs_read_fn *peek);

/* Let later loads ask FN for the stamps of runs of journal blocks, so that
 * the scan reuses the complete transactions at the front of the log that
 * did not change since an earlier load (NULL: never).  Clears that memo. */
void jfs_view_set_block_stamps(struct jfs_view *v, jfs_bstamps_fn *fn);

/* The inode number PATH names in the recovered view (an inode in use), or
 * 0 if absent: hard links name one.  O(path depth * directory size). */
uint32_t jfs_view_inode(struct jfs_view *v, const char *path);

/* The generation of inode INO of the recovered view (F1; 0 for a file
 * made before generations were kept).  INO must be in range. */
uint32_t jfs_view_generation(struct jfs_view *v, uint32_t ino);

/* Call FN for every object reachable from the root of the recovered view
 * (the root itself excluded), depth first, entries in directory order,
 * with its absolute path, type and size.  Each directory is entered once
 * (a corrupt image cannot loop).  O(inodes + directory blocks). */
typedef void jfs_walk_fn(void *ctx, const char *path, unsigned type, uint64_t size);
void jfs_view_walk(struct jfs_view *v, jfs_walk_fn *fn, void *ctx);

/*
 * Journal atomicity (docs/semantics.md O6).  The model records, for every
 * transaction it logs, the home block and a hash (jfs_block_hash) of the
 * content it logged for it; the view records every block the last load
 * replayed, with the hash of what it wrote home.  A transaction replayed
 * with a block whose content differs from what was logged for it (its
 * commit block reached the media while one of its journal blocks did
 * not), or with a block skipped for a bad tag checksum, recovered in part.
 */
uint64_t jfs_block_hash(const void *blk, size_t n);

struct jfs_replayed {			/* one block the last load replayed */
	uint32_t seq;			/* its transaction */
	uint32_t blk;			/* home block */
	uint32_t jblk;			/* the journal block it came from */
	uint32_t csum_bad;		/* 1: skipped, its tag checksum failed */
	uint64_t hash;			/* jfs_block_hash of what was replayed */
};
/* The blocks the last load replayed (and skipped), in replay order. */
size_t jfs_view_replay_log(const struct jfs_view *v, const struct jfs_replayed **e);

struct jfs_logged {			/* one block a transaction logged */
	uint32_t blk;			/* home block */
	uint64_t hash;			/* jfs_block_hash of the logged content */
};
/*
 * What transaction SEQ logged, as seen by the model MODEL (a jfs_model
 * instance, sim_model(s, SIM_ROLE_FS)) at the current crash point.  A
 * transaction has one version if the model really logged it, and one per
 * background-commit choice (F15) that would log it at this point; returns
 * how many versions there are (0: the model never logged SEQ) and sets
 * *B, *N to version ALT's blocks.  O(log transactions + blocks).
 */
unsigned jfs_model_txn_logged(const void *model, uint32_t seq, unsigned alt,
			      const struct jfs_logged **b, size_t *n);

/*
 * A jfs_logc_fn over the model MODEL at the current crash point: the last
 * content it really wrote at each log block (with the sequence it was
 * written for), and the log blocks of this point's background-commit
 * choices (F15).  Nothing without journal_checksum.  O(this point's
 * background log blocks).
 */
unsigned jfs_model_log_contents(const void *model, uint32_t lb, uint32_t seq, const uint8_t **out,
				unsigned max);

/* The latencies, in cycles, of every fsync, fdatasync and msync the model
 * MODEL ran so far (`powercut report`, R3; sim/latency.h). */
struct lat_rec *jfs_model_latencies(void *model);

/* The inode number of the model MODEL's open file descriptor FD, 0 if FD
 * is not open, and its generation in *GEN (the oracle's O5 tells a path's
 * files apart by them). */
uint32_t jfs_model_fd_ino(const void *model, uint32_t fd, uint32_t *gen);

/* Convenience: a jfs_read_fn over a struct media (the live durable image). */
void jfs_read_media(const void *media, uint64_t off, void *dst, size_t n);

#endif
