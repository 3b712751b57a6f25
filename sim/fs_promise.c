/*
 * fs_promise.c — the filesystem oracle: a POSIX-level reference that
 * follows a file trace, and the judge of crash images (fs_promise.h).
 *
 * Method.
 *
 *   The reference.  Every file event the model applied is applied again
 *   here, to a small model of what POSIX promises a reader: file
 *   descriptors; inodes (regular files, directories, symlinks) with link
 *   counts, sizes, contents in 4 KiB blocks, xattr names; directories as
 *   lists of entries; shared mappings.  A call fails here exactly when the
 *   documented semantics say it fails (docs/semantics.md F21: ENOENT,
 *   EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EBADF, EINVAL, ELOOP, ENODATA,
 *   ENAMETOOLONG), and then changes nothing.  Every operation that changes
 *   something gets a sequence number; an inode remembers the last one that
 *   changed it (lastchg) and the last one that changed what fdatasync
 *   needs, its creation or size (lastdchg); a directory entry remembers the
 *   one that made it.
 *
 *   O1  Persistence points.  When fsync(fd) completes, the file's current
 *       size and content are promised; fdatasync and an O_DSYNC write the
 *       same (size changes are what fdatasync must commit); an O_SYNC
 *       write is an fsync; msync(MS_SYNC) promises the blocks of each
 *       mapped file the range overlaps; fsync of a directory promises
 *       each of its current entries (name and type); sync() promises every
 *       file's content and every entry.
 *   O2  Names.  ext4 (jbd2) has one running transaction: a commit makes
 *       every earlier metadata operation durable, and fsync waits for the
 *       commit that holds the inode's last change (ext4_sync_file: the
 *       inode's i_sync_tid; fdatasync: i_datasync_tid).  So a completed
 *       fsync(F) makes durable every operation up to lastchg(F) — among
 *       them the transaction that created F, and its entries — and
 *       fdatasync every operation up to lastdchg(F).  The largest such
 *       bound so far is the durable floor.  A path of F is promised when
 *       every directory entry along it was made at or before the floor.
 *       A path whose ancestors changed later (a directory renamed after
 *       F's last change, never fsynced) is not promised: ext4 does not
 *       promise it either.
 *   O3  Retirement.  A promise stands until a later operation changes what
 *       it covers: a write, store, truncate or fallocate retires the
 *       blocks it touches (a size change retires the exact size; a shrink
 *       lowers the least size promised); a rename, unlink, rmdir or link
 *       at a promised path or one of its ancestors retires that name; the
 *       last unlink retires the file.  The state right after the
 *       persistence point is what is checked, as CrashMonkey checks at a
 *       checkpoint; a later change that was never promised can never be a
 *       false alarm.  What this misses: a change made after the promise
 *       and then lost together with the promised data is not blamed on the
 *       promise (only what was not changed since is checked), and a file
 *       whose promised names were all retired is checked at any path it
 *       ever had (see O4).
 *   O4  Judging a file promise: each promised name still standing must be
 *       a regular file whose size is the promised one (at least the least
 *       size, once the size was changed) and whose bytes, in every block
 *       not retired, equal the promised ones.  If no promised name is
 *       standing, some path the file ever had must hold them.
 *   O5  referenced-data.  Per file and 4 KiB block, the reference keeps
 *       every logical content the block had (deduplicated), each with the
 *       file size at that moment: a new version after every change of its
 *       bytes, and after every size change that moves the end of file
 *       across it (so zeros of an extension over a hole, of fallocate, of
 *       a punched or truncated range are versions too).  The block a
 *       shrink cuts also gets versions with the old size, for its zeroed
 *       tail and for every later write to it until the file's size is
 *       synced: ext4 writes that page back in place, apart from the
 *       truncating transaction, so the old size can come back over the
 *       new bytes.  In a recovered
 *       image, every block of every regular file within its recovered size
 *       that recovered metadata references (mapped and written: a hole or
 *       an unwritten extent reads as zeros and references nothing, so
 *       unsynced delalloc data lost under a size that fallocate raised is
 *       not blamed; ext4 does that) must equal, where referenced, over its
 *       visible range, a version of that block of a
 *       file that once had that path, and that version's size must cover
 *       the range.  The stale contents of a freed block, zeros never
 *       written (when the recovered size says they were), and garbage
 *       fail it.  One file's blocks must all come from one identity.
 *   O6  journal-atomicity (fs_model/jfs.h): every block recovery replayed
 *       for transaction T must be one T logged, with the content logged
 *       for it; a block skipped for a bad tag checksum also breaks T.  A
 *       transaction has several admissible versions when background
 *       commits (F15) could log it at this point.
 *   O7  fsck: the problems jfs_view_fsck finds, one violation per image
 *       listing the first three.
 *   O8  Memory: the namespace, the promises standing (a new promise
 *       replaces older ones over the same file or path), and one 4 KiB copy
 *       per distinct block content, at most FP_MAX_CONTENTS (128 MiB): a
 *       trace that needs more is refused (exit 2) rather than judged in
 *       part.  A promise holds a content id per block, never the bytes; a
 *       hole is content 0, zeros.  Judging never holds a recovered file
 *       whole: its data is streamed 4 KiB at a time (jfs_view_stream_file,
 *       read_data), a hole as zeros the view hands over block by block,
 *       and compared as it comes against the promised content (O4) and
 *       against every identity the path had at once (O5).  What a
 *       judgement keeps grows with a file's blocks, not its bytes: a byte
 *       per filesystem block (which are referenced), 20 bytes per 4 KiB
 *       block for the memo's layout, at most FP_UBUF_MAX blocks' bytes.
 *
 * Cost.  A judgement compares file data twice, against each promise (O4)
 *   and against the versions (O5).  Read whole, that cost grew with the
 *   files: at 2,048 rounds of append and fsync (a 200 KB file) reading and
 *   comparing it was a third of `check`.  A memo of comparisons that held
 *   makes it O(blocks a crash choice could write + blocks that changed)
 *   plus O(blocks) of pointer work.  A judgement asks the view where each
 *   4 KiB block of the file comes from (jfs_view_file_blocks), stamps the
 *   image blocks in one call (sim_image_blocks_stamps: refused where a
 *   patch meets a block or, reduced, some group's choice could change it,
 *   K6; a background commit's choice rewrites every page of its files,
 *   most of them with the bytes the media holds, and leaves those
 *   stamped), and compares a block only if the memo does not hold that
 *   block, with that
 *   stamp, as equal to that expectation: for O4 the content id, over at
 *   least as many bytes from the block's start; for O5 the identity, its
 *   4 KiB block and the bytes within the file's size (which versions count
 *   depends on it).  An O5 entry stays true as versions are appended (they
 *   never change or go): a version that explained the bytes, or each word,
 *   still does.  A block replayed into recovery's overlay (data=journal)
 *   or without a stamp is read and compared every time.  Any mismatch
 *   falls back to reading the whole file as before, so reports are
 *   unchanged; and with or without the memo a judgement reads, or stamps,
 *   the same bytes with the same separability (every data block the whole
 *   read reads), so the reduced enumeration branches as before.  The memo
 *   is direct-mapped by (block, kind), at most FP_MEMO_MAX entries; once
 *   warm a judgement allocates nothing.  Only 4 KiB filesystem blocks (the
 *   oracle's block) are memoized; other sizes are read as before.
 *   Measured (tools/bench_check.py's doubling trace, -j1, best of 3):
 *   1,024 rounds 2.28 -> 1.86 s, 2,048 rounds 5.81 -> 4.12 s.
 *   The whole-file comparison streams (O8): a sparse file of 2 GiB (one
 *   byte at 2^31, tests/regress/sparse-2g-file.trace) was a 2 GiB buffer
 *   per judgement, 2.1 GB of peak RSS; now 57 MB, of which the reference's
 *   per-block records (a version per block of the hole, about 90 bytes
 *   per 4 KiB of file) are most.
 *
 * Notes:
 *   - Blocks are 4 KiB here whatever jfs.block_size is: what the reference
 *     models is what a reader sees, not the filesystem's layout.
 *   - Symlinks' targets, xattr values and timestamps are not judged.
 *   - The image is recovered once per distinct image (check.c, K2), and
 *     all four invariants read that one recovered view.
 */
#include "fs_promise.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fs_model/jfs.h"
#include "crc32.h"
#include "explore.h"
#include "observe.h"
#include "sim.h"

#define FP_BLK		4096u
#define FP_MAX_FD	1024u
#define FP_NAME_MAX	255u
#define FP_MAX_CONTENTS	32768u		/* O8: 128 MiB of distinct blocks */
#define FP_MAX_NAMES	16u		/* promised names per file promise */
#define FP_ROOT		1u
#define FP_MEMO_MAX	(1u << 16)	/* memo entries at most (2 MiB) */
#define FP_UBUF_MAX	256u		/* blocks kept read by layout_load (1 MiB) */

enum { FT_NONE = 0, FT_REG = JFS_VIEW_REG, FT_DIR = JFS_VIEW_DIR, FT_LNK = JFS_VIEW_LNK };

/* ---- the reference's state ---- */

struct fp_ver {				/* one logical content of a block (O5) */
	uint32_t cid;			/* content id, 0 = zeros */
	uint64_t size;			/* the file's size then */
	uint64_t line;			/* the event that made it */
};

struct fp_blk {
	uint32_t cur;			/* current content id */
	struct fp_ver *v;
	uint32_t n, cap;
	struct fp_widx *wx;		/* O5: its words' values, once it has
					   FP_WIDX_MIN versions (widx_of) */
};

/* O5's word index of a block with many versions: for each 8-byte word,
 * the distinct values its versions give it, each with the largest file
 * size of a version that gives it.  "Some version whose size covers E
 * holds these bytes at word W" is then a scan of the word's few distinct
 * values, not of every version: a mmap'd page stored to 1,024 times (a
 * CrashMonkey workload under DAX) has 1,024 versions, and a torn block
 * compared whole against each of them, then per word against each, was
 * 80% of a check that ran for minutes. */
#define FP_WIDX_MIN	16u
#define FP_WORDS	(FP_BLK / 8)
struct fp_wval {
	uint64_t val, maxsize;
};
struct fp_widx {
	uint32_t nver;			/* versions indexed: v[0 .. nver) */
	uint32_t n[FP_WORDS], cap[FP_WORDS];
	struct fp_wval *w[FP_WORDS];
};

struct fp_dent {
	char *name;
	uint32_t ino;
	uint64_t seq;			/* the operation that made the entry */
};

struct fp_ino {
	unsigned type;			/* FT_*; FT_NONE: free */
	uint32_t nlink;
	uint64_t size;
	struct fp_blk *b;		/* per 4 KiB block */
	uint64_t nb;			/* blocks with a record */
	uint64_t lastchg, lastdchg;	/* O2 */
	uint64_t shrunk_from;		/* O5: a size a shrink left durable, maybe */
	uint64_t shrunk_blk;		/* the block its new end of file cuts */
	uint32_t parent;		/* directories */
	struct fp_dent *ent;
	uint32_t nent, entcap;
	char **xa;			/* xattr names */
	uint32_t *xalen;		/* their value lengths */
	uint32_t nxa;
	uint32_t *paths;		/* path ids it ever had (O4, O5) */
	uint32_t npaths, pathcap;
	uint32_t mino, mgen;		/* O5: the model's inode number (0 unknown)
					   and generation */
};

struct fp_fd {
	bool open;
	uint32_t ino;
	uint32_t flags;
	uint64_t pos;
};

struct fp_map {
	uint64_t addr, len, off;
	uint32_t ino;
};

enum { P_FILE, P_NAME };

struct fp_prom {
	unsigned kind;
	const char *what;		/* "fsync", "fdatasync", ... */
	uint64_t line;
	uint32_t ino;
	/* P_NAME */
	char *path;
	unsigned type;
	/* P_FILE */
	char *names[FP_MAX_NAMES];
	bool name_ok[FP_MAX_NAMES];
	uint32_t nnames;
	uint64_t size, min_size;
	bool exact;
	uint64_t b0, nblk;		/* promised blocks [b0, b0 + nblk) */
	uint32_t *cid;
	uint8_t *retired;
	bool whole;			/* all of the file (not an msync range) */
	char origin[300];		/* the path named in messages */
};

struct fp_content {
	uint64_t hash;
	uint8_t *bytes;
};

enum { MEMO_KEEPS, MEMO_EXPLAINED };

struct fp_memo {			/* a comparison of an image block that held */
	uint64_t stamp;			/* the block's stamp then; 0: empty */
	uint32_t blk;			/* the physical block */
	uint32_t what;			/* MEMO_KEEPS: content id; _EXPLAINED: identity */
	uint32_t k;			/* MEMO_EXPLAINED: its 4 KiB block */
	uint32_t len;			/* bytes compared, from the block's start */
	uint32_t kind;			/* MEMO_* */
};

struct fp_path {			/* an interned path */
	char *s;
	uint64_t hash;
	uint32_t *inos;			/* identities that ever had it */
	uint32_t n, cap;
	uint32_t hint;			/* O5: the one that last explained it */
};

struct sim_fs_promises {
	struct sim *s;
	uint64_t seq;			/* operations so far */
	uint64_t floor;			/* O2: the durable floor */
	struct fp_ino *ino;		/* index 0 unused, 1 the root */
	uint32_t nino, inocap;
	struct fp_fd fd[FP_MAX_FD];
	struct fp_map *map;
	uint32_t nmap, mapcap;
	/* content store (O8) */
	struct fp_content *ct;		/* index 0: zeros */
	uint32_t nct, ctcap;
	uint32_t *cth;			/* hash table of content ids */
	uint32_t cthcap;
	/* paths */
	struct fp_path *pt;
	uint32_t npt, ptcap;
	uint32_t *pth;			/* hash table of path ids + 1 */
	uint32_t pthcap;
	/* promises */
	struct fp_prom **pr;
	size_t npr, prcap;
	/* judging */
	struct jfs_view *view;
	uint8_t win[FP_BLK];		/* a recovered file's 4 KiB block, gathered */
	uint64_t *rf_k, *rf_nw;		/* O5 per identity: first block not explained, */
	uint8_t *rf_zero;		/* ... its newest version's line, all zeros? */
	uint32_t *rf_ino;		/* O5: the identities with the recovered number */
	size_t rfcap;
	uint8_t blk[FP_BLK];
	uint8_t *mapped;		/* the recovered file's referenced blocks */
	size_t mappedcap;
	uint64_t nmap_blk, mbs;		/* how many, of how many bytes */
	uint32_t *lay;			/* its blocks (jfs_view_file_blocks) */
	uint64_t *lst;			/* their stamps; 0: unstable or not the image's */
	const uint8_t **lbytes;		/* their bytes, when known without a stamp */
	uint64_t *loff;			/* layout_stamp's scratch */
	size_t laycap;
	uint8_t *ubuf;			/* the bytes of its blocks without a stamp */
	size_t ubufcap;			/* in blocks */
	uint64_t lay_n;			/* its size */
	uint64_t judged, lay_judged;	/* judgements; the one the layout is of */
	char *lay_path;			/* ... the path it is of */
	size_t lay_pathcap;
	bool lay_sep;			/* ... read separably */
	struct fp_memo *memo;		/* direct-mapped by (block, kind) */
	uint32_t memocap;		/* a power of two, or 0 */
	uint8_t dblk[FP_BLK];		/* one recovered data block */
	char *walk;			/* recovered regular files: path\0... */
	size_t nwalk, walkcap;
	bool failed;
	uint64_t early_line;		/* the event applied early (O9), or 0 */
	bool no_promise;		/* applying early: make no promise */
};

static const uint8_t zeros[FP_BLK];

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

/* ---- content store (O8) ---- */

static const uint8_t *ct_bytes(const struct sim_fs_promises *p, uint32_t cid)
{
	return cid ? p->ct[cid].bytes : zeros;
}

/* The id of the 4 KiB block B (interned).  UINT32_MAX when full. */
static uint32_t ct_intern(struct sim_fs_promises *p, const uint8_t *b)
{
	uint64_t h;
	uint32_t i;

	if (!memcmp(b, zeros, FP_BLK))
		return 0;
	h = hash_bytes(b, FP_BLK);
	if (2 * (p->nct + 1) > p->cthcap) {
		uint32_t nc = p->cthcap ? 2 * p->cthcap : 1024;
		free(p->cth);
		p->cth = xrealloc(NULL, nc * sizeof(*p->cth));
		memset(p->cth, 0, nc * sizeof(*p->cth));
		p->cthcap = nc;
		for (uint32_t c = 1; c < p->nct; c++) {
			for (i = (uint32_t)p->ct[c].hash & (nc - 1); p->cth[i]; i = (i + 1) & (nc - 1))
				;
			p->cth[i] = c;
		}
	}
	for (i = (uint32_t)h & (p->cthcap - 1); p->cth[i]; i = (i + 1) & (p->cthcap - 1)) {
		uint32_t c = p->cth[i];
		if (p->ct[c].hash == h && !memcmp(p->ct[c].bytes, b, FP_BLK))
			return c;
	}
	if (p->nct > FP_MAX_CONTENTS)
		return UINT32_MAX;
	if (p->nct == p->ctcap) {
		p->ctcap = p->ctcap ? 2 * p->ctcap : 256;
		p->ct = xrealloc(p->ct, p->ctcap * sizeof(*p->ct));
	}
	p->ct[p->nct].hash = h;
	p->ct[p->nct].bytes = xrealloc(NULL, FP_BLK);
	memcpy(p->ct[p->nct].bytes, b, FP_BLK);
	p->cth[i] = p->nct;
	return p->nct++;
}

/* ---- paths ---- */

static uint32_t path_id(struct sim_fs_promises *p, const char *s)
{
	uint64_t h = hash_bytes(s, strlen(s));
	uint32_t i;

	if (2 * (p->npt + 1) > p->pthcap) {
		uint32_t nc = p->pthcap ? 2 * p->pthcap : 256;
		free(p->pth);
		p->pth = xrealloc(NULL, nc * sizeof(*p->pth));
		memset(p->pth, 0, nc * sizeof(*p->pth));
		p->pthcap = nc;
		for (uint32_t k = 0; k < p->npt; k++) {
			for (i = (uint32_t)p->pt[k].hash & (nc - 1); p->pth[i]; i = (i + 1) & (nc - 1))
				;
			p->pth[i] = k + 1;
		}
	}
	for (i = (uint32_t)h & (p->pthcap - 1); p->pth[i]; i = (i + 1) & (p->pthcap - 1)) {
		struct fp_path *e = &p->pt[p->pth[i] - 1];
		if (e->hash == h && !strcmp(e->s, s))
			return p->pth[i] - 1;
	}
	if (p->npt == p->ptcap) {
		p->ptcap = p->ptcap ? 2 * p->ptcap : 256;
		p->pt = xrealloc(p->pt, p->ptcap * sizeof(*p->pt));
	}
	memset(&p->pt[p->npt], 0, sizeof(p->pt[p->npt]));
	p->pt[p->npt].s = xstrdup(s);
	p->pt[p->npt].hash = h;
	p->pth[i] = p->npt + 1;
	return p->npt++;
}

static const struct fp_path *path_find(const struct sim_fs_promises *p, const char *s)
{
	uint64_t h = hash_bytes(s, strlen(s));

	if (!p->pthcap)
		return NULL;
	for (uint32_t i = (uint32_t)h & (p->pthcap - 1); p->pth[i]; i = (i + 1) & (p->pthcap - 1)) {
		const struct fp_path *e = &p->pt[p->pth[i] - 1];
		if (e->hash == h && !strcmp(e->s, s))
			return e;
	}
	return NULL;
}

/* Identity INO has (had) path S. */
static void path_note(struct sim_fs_promises *p, uint32_t ino, const char *s)
{
	uint32_t id = path_id(p, s);
	struct fp_path *e = &p->pt[id];
	struct fp_ino *in = &p->ino[ino];

	for (uint32_t k = 0; k < e->n; k++)
		if (e->inos[k] == ino)
			return;
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 2;
		e->inos = xrealloc(e->inos, e->cap * sizeof(*e->inos));
	}
	e->inos[e->n++] = ino;
	if (in->npaths == in->pathcap) {
		in->pathcap = in->pathcap ? 2 * in->pathcap : 2;
		in->paths = xrealloc(in->paths, in->pathcap * sizeof(*in->paths));
	}
	in->paths[in->npaths++] = id;
}

/* ---- inodes ---- */

static uint32_t ino_new(struct sim_fs_promises *p, unsigned type, uint32_t parent)
{
	struct fp_ino *in;

	if (p->nino >= p->inocap) {
		p->inocap = p->inocap ? 2 * p->inocap : 64;
		p->ino = xrealloc(p->ino, p->inocap * sizeof(*p->ino));
	}
	in = &p->ino[p->nino];
	memset(in, 0, sizeof(*in));
	in->type = type;
	in->nlink = 1;
	in->parent = parent;
	in->lastchg = in->lastdchg = p->seq;
	return p->nino++;
}

static struct fp_dent *dent_find(struct fp_ino *d, const char *name, size_t len)
{
	for (uint32_t i = 0; i < d->nent; i++)
		if (strlen(d->ent[i].name) == len && !memcmp(d->ent[i].name, name, len))
			return &d->ent[i];
	return NULL;
}

static void dent_add(struct sim_fs_promises *p, uint32_t dir, const char *name, size_t len,
		     uint32_t ino)
{
	struct fp_ino *d = &p->ino[dir];

	if (d->nent == d->entcap) {
		d->entcap = d->entcap ? 2 * d->entcap : 8;
		d->ent = xrealloc(d->ent, d->entcap * sizeof(*d->ent));
	}
	d->ent[d->nent].name = xrealloc(NULL, len + 1);
	memcpy(d->ent[d->nent].name, name, len);
	d->ent[d->nent].name[len] = '\0';
	d->ent[d->nent].ino = ino;
	d->ent[d->nent].seq = p->seq;
	d->nent++;
	d->lastchg = p->seq;
}

static void dent_remove(struct sim_fs_promises *p, uint32_t dir, struct fp_dent *e)
{
	struct fp_ino *d = &p->ino[dir];

	free(e->name);
	*e = d->ent[--d->nent];		/* order is not observable */
	d->lastchg = p->seq;
}

/* ---- lookups, as the model's (F21) ---- */

enum { LK_FOUND, LK_LAST_MISSING, LK_ENOENT, LK_ENOTDIR };

struct fp_lk {
	uint32_t dir, ino;
	const char *name;
	size_t len;
};

static int lookup(struct sim_fs_promises *p, const char *path, struct fp_lk *lk)
{
	const char *s = path;
	uint32_t cur = FP_ROOT;

	lk->dir = lk->ino = FP_ROOT;
	lk->name = "";
	lk->len = 0;
	for (;;) {
		const char *e;
		size_t n;
		uint32_t next = 0;

		while (*s == '/')
			s++;
		if (!*s)
			return LK_FOUND;
		for (e = s; *e && *e != '/'; e++)
			;
		n = (size_t)(e - s);
		if (p->ino[cur].type != FT_DIR)
			return LK_ENOTDIR;
		lk->dir = cur;
		lk->name = s;
		lk->len = n;
		if (n == 1 && s[0] == '.') {
			next = cur;
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			next = p->ino[cur].parent;
		} else if (n <= FP_NAME_MAX) {
			struct fp_dent *d = dent_find(&p->ino[cur], s, n);
			next = d ? d->ino : 0;
		}
		s = e;
		while (*s == '/')
			s++;
		if (!next)
			return *s ? LK_ENOENT : LK_LAST_MISSING;
		cur = next;
		lk->ino = cur;
	}
}

/* ---- current paths and O2 ---- */

struct fp_pathcb {
	uint32_t target;
	uint64_t floor;			/* entries after it: not promised */
	char **out;
	uint32_t n, max;
	bool all;			/* collect every path (sync) */
};

static void paths_of(struct sim_fs_promises *p, uint32_t dir, char *buf, size_t len,
		     bool covered, struct fp_pathcb *cb, unsigned depth)
{
	struct fp_ino *d = &p->ino[dir];

	if (depth > 64)
		return;
	for (uint32_t i = 0; i < d->nent && cb->n < cb->max; i++) {
		const struct fp_dent *e = &d->ent[i];
		size_t nl = strlen(e->name);
		bool cov = covered && e->seq <= cb->floor;
		if (len + 1 + nl >= 4096)
			continue;
		buf[len] = '/';
		memcpy(buf + len + 1, e->name, nl + 1);
		if (e->ino == cb->target && cov)
			cb->out[cb->n++] = xstrdup(buf);
		if (p->ino[e->ino].type == FT_DIR && (cov || cb->all))
			paths_of(p, e->ino, buf, len + 1 + nl, cov, cb, depth + 1);
		buf[len] = '\0';
	}
}

/* The promised paths of INO under FLOOR (O2).  The root is "/". */
static uint32_t covered_paths(struct sim_fs_promises *p, uint32_t ino, uint64_t floor,
			      char **out, uint32_t max)
{
	char buf[4096] = "";
	struct fp_pathcb cb = { .target = ino, .floor = floor, .out = out, .max = max };

	if (ino == FP_ROOT) {
		out[0] = xstrdup("/");
		return 1;
	}
	paths_of(p, FP_ROOT, buf, 0, true, &cb, 0);
	return cb.n;
}

/* Visit every entry under directory DIR, depth first, with BUF holding
 * its path (BUF holds DIR's path, LEN bytes, on entry and on return). */
typedef void fp_visit_fn(struct sim_fs_promises *p, uint32_t ino, const char *path,
			 void *ctx);

static void walk_subtree(struct sim_fs_promises *p, uint32_t dir, char *buf, size_t len,
			 unsigned depth, fp_visit_fn *visit, void *ctx)
{
	struct fp_ino *d = &p->ino[dir];

	if (depth > 64)
		return;
	for (uint32_t i = 0; i < d->nent; i++) {
		size_t nl = strlen(d->ent[i].name);
		uint32_t c = d->ent[i].ino;
		if (len + 1 + nl >= 4096)
			continue;
		buf[len] = '/';
		memcpy(buf + len + 1, d->ent[i].name, nl + 1);
		visit(p, c, buf, ctx);
		if (p->ino[c].type == FT_DIR)
			walk_subtree(p, c, buf, len + 1 + nl, depth + 1, visit, ctx);
		buf[len] = '\0';
	}
}

/* Record the new path of one entry (walk_subtree). */
static void note_visit(struct sim_fs_promises *p, uint32_t ino, const char *path, void *ctx)
{
	(void)ctx;
	path_note(p, ino, path);
}

/* The canonical path of entry NAME in directory DIR (any one). */
static void note_entry(struct sim_fs_promises *p, uint32_t dir, const char *name, size_t len,
		       uint32_t ino)
{
	char *paths[1], buf[4096];
	uint32_t n = covered_paths(p, dir, UINT64_MAX, paths, 1);

	if (!n)
		return;
	snprintf(buf, sizeof(buf), "%s%s%.*s", strcmp(paths[0], "/") ? paths[0] : "",
		 "/", (int)len, name);
	free(paths[0]);
	path_note(p, ino, buf);
	if (p->ino[ino].type == FT_DIR)
		walk_subtree(p, ino, buf, strlen(buf), 0, note_visit, NULL);
}

/* ---- promises ---- */

static void prom_free(struct fp_prom *r)
{
	if (!r)
		return;
	free(r->path);
	for (uint32_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->cid);
	free(r->retired);
	free(r);
}

static void prom_push(struct sim_fs_promises *p, struct fp_prom *r)
{
	/* O8: a new promise replaces older ones over the same file or path */
	for (size_t i = 0; i < p->npr; i++) {
		struct fp_prom *o = p->pr[i];
		bool same = (r->kind == P_FILE && o->kind == P_FILE && r->whole &&
			     o->ino == r->ino) ||
			    (r->kind == P_NAME && o->kind == P_NAME && !strcmp(o->path, r->path));
		if (same) {
			prom_free(o);
			p->pr[i] = p->pr[--p->npr];
			i--;
		}
	}
	if (p->npr == p->prcap) {
		p->prcap = p->prcap ? 2 * p->prcap : 64;
		p->pr = xrealloc(p->pr, p->prcap * sizeof(*p->pr));
	}
	p->pr[p->npr++] = r;
}

/* O1: the content of INO's blocks [b0, b0+nblk) as now, under FLOOR. */
static void promise_file(struct sim_fs_promises *p, uint32_t ino, uint64_t floor,
			 const char *what, uint64_t line, uint64_t b0, uint64_t nblk, bool whole)
{
	struct fp_ino *in = &p->ino[ino];
	struct fp_prom *r;

	if (in->type != FT_REG || in->nlink == 0)
		return;
	r = xrealloc(NULL, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->kind = P_FILE;
	r->what = what;
	r->line = line;
	r->ino = ino;
	r->nnames = covered_paths(p, ino, floor, r->names, FP_MAX_NAMES);
	for (uint32_t i = 0; i < r->nnames; i++)
		r->name_ok[i] = true;
	r->size = r->min_size = in->size;
	r->exact = whole;
	if (!whole && b0 * FP_BLK < in->size) {
		uint64_t e = (b0 + nblk) * FP_BLK;
		r->min_size = e < in->size ? e : in->size;
	}
	r->whole = whole;
	r->b0 = b0;
	r->nblk = nblk;
	r->cid = xrealloc(NULL, (nblk ? nblk : 1) * sizeof(*r->cid));
	r->retired = xrealloc(NULL, nblk ? nblk : 1);
	memset(r->retired, 0, nblk ? nblk : 1);
	for (uint64_t k = 0; k < nblk; k++)
		r->cid[k] = b0 + k < in->nb ? in->b[b0 + k].cur : 0;
	if (r->nnames)
		snprintf(r->origin, sizeof(r->origin), "%s", r->names[0]);
	else if (in->npaths)
		snprintf(r->origin, sizeof(r->origin), "%s", p->pt[in->paths[in->npaths - 1]].s);
	if (!r->nnames && !in->npaths) {
		prom_free(r);
		return;
	}
	prom_push(p, r);
}

/* O1: entry PATH of type TYPE exists. */
static void promise_name(struct sim_fs_promises *p, const char *path, uint32_t ino,
			 const char *what, uint64_t line)
{
	struct fp_prom *r = xrealloc(NULL, sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->kind = P_NAME;
	r->what = what;
	r->line = line;
	r->ino = ino;
	r->path = xstrdup(path);
	r->type = p->ino[ino].type;
	snprintf(r->origin, sizeof(r->origin), "%s", path);
	prom_push(p, r);
}

/* fsync/fdatasync of INO (O1, O2). */
static void sync_inode(struct sim_fs_promises *p, uint32_t ino, bool datasync,
		       const char *what, uint64_t line)
{
	struct fp_ino *in = &p->ino[ino];
	uint64_t bound = datasync ? in->lastdchg : in->lastchg;

	if (p->no_promise)
		return;
	if (bound > p->floor)
		p->floor = bound;
	in->shrunk_from = 0;		/* the size is durable now */
	if (in->type == FT_REG) {
		promise_file(p, ino, p->floor, what, line, 0,
			     (in->size + FP_BLK - 1) / FP_BLK, true);
	} else if (in->type == FT_DIR) {
		char *dp[FP_MAX_NAMES], buf[4096];
		uint32_t n = covered_paths(p, ino, p->floor, dp, FP_MAX_NAMES);
		for (uint32_t k = 0; k < n; k++) {
			for (uint32_t i = 0; i < in->nent; i++) {
				snprintf(buf, sizeof(buf), "%s/%s", strcmp(dp[k], "/") ? dp[k] : "",
					 in->ent[i].name);
				promise_name(p, buf, in->ent[i].ino, what, line);
			}
			free(dp[k]);
		}
	}
}

/* sync(): everything (O1); CTX points at the trace line. */
static void sync_visit(struct sim_fs_promises *p, uint32_t c, const char *path, void *ctx)
{
	uint64_t line = *(const uint64_t *)ctx;

	if (p->ino[c].type == FT_REG)
		p->ino[c].shrunk_from = 0;
	if (p->ino[c].type == FT_REG)
		promise_file(p, c, p->floor, "sync", line, 0,
			     (p->ino[c].size + FP_BLK - 1) / FP_BLK, true);
	else
		promise_name(p, path, c, "sync", line);
}

/* O3: a namespace change at PATH retires the names at or under it. */
static void retire_path(struct sim_fs_promises *p, const char *path)
{
	char canon[4096];
	size_t n;

	/* canonical form: no repeated or trailing slashes */
	{
		size_t o = 0;
		for (const char *s = path; *s && o < sizeof(canon) - 2; s++)
			if (*s != '/' || (o && canon[o - 1] != '/') || !o)
				canon[o++] = *s;
		while (o > 1 && canon[o - 1] == '/')
			o--;
		canon[o] = '\0';
	}
	n = strlen(canon);
	for (size_t i = 0; i < p->npr; i++) {
		struct fp_prom *r = p->pr[i];
		if (r->kind == P_NAME) {
			if (!strncmp(r->path, canon, n) && (r->path[n] == '\0' || r->path[n] == '/')) {
				prom_free(r);
				p->pr[i] = p->pr[--p->npr];
				i--;
			}
			continue;
		}
		for (uint32_t k = 0; k < r->nnames; k++)
			if (r->name_ok[k] && !strncmp(r->names[k], canon, n) &&
			    (r->names[k][n] == '\0' || r->names[k][n] == '/'))
				r->name_ok[k] = false;
	}
}

/* O3: INO's blocks [k0, k1) changed; its size went OLD -> NEW. */
static void retire_content(struct sim_fs_promises *p, uint32_t ino, uint64_t k0, uint64_t k1,
			   uint64_t old, uint64_t new)
{
	for (size_t i = 0; i < p->npr; i++) {
		struct fp_prom *r = p->pr[i];
		if (r->kind != P_FILE || r->ino != ino)
			continue;
		for (uint64_t k = k0; k < k1; k++)
			if (k >= r->b0 && k < r->b0 + r->nblk)
				r->retired[k - r->b0] = 1;
		if (new != old) {
			r->exact = false;
			if (new < r->min_size)
				r->min_size = new;
			for (uint64_t k = new / FP_BLK; new < old && k < r->b0 + r->nblk; k++)
				if (k >= r->b0)
					r->retired[k - r->b0] = 1;
		}
	}
}

static void retire_file(struct sim_fs_promises *p, uint32_t ino)
{
	for (size_t i = 0; i < p->npr; i++)
		if (p->pr[i]->kind == P_FILE && p->pr[i]->ino == ino) {
			prom_free(p->pr[i]);
			p->pr[i] = p->pr[--p->npr];
			i--;
		}
}

/* ---- contents (O5) ---- */

static int blk_grow(struct fp_ino *in, uint64_t nb)
{
	if (nb <= in->nb)
		return 0;
	if (nb > (1ull << 28))
		return -1;
	in->b = xrealloc(in->b, nb * sizeof(*in->b));
	memset(in->b + in->nb, 0, (nb - in->nb) * sizeof(*in->b));
	in->nb = nb;
	return 0;
}

/* Append a version of block K: its current content with file size SIZE. */
static void snap_sized(struct fp_ino *in, uint64_t k, uint64_t size, uint64_t line)
{
	struct fp_blk *b = &in->b[k];

	for (uint32_t i = b->n; i-- > 0 && i + 8 >= b->n;)
		if (b->v[i].cid == b->cur && b->v[i].size >= size)
			return;			/* dominated */
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 2;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = (struct fp_ver){ .cid = b->cur, .size = size, .line = line };
}

/* Append a version of block K (its current content, the current size). */
static void snap(struct sim_fs_promises *p, struct fp_ino *in, uint64_t k, uint64_t line)
{
	(void)p;
	snap_sized(in, k, in->size, line);
}

/* Set INO's size to NEW: zero what lies beyond it, version the blocks the
 * end of file crosses (O5), retire what it changes (O3). */
static int set_size(struct sim_fs_promises *p, uint32_t ino, uint64_t new, uint64_t line)
{
	struct fp_ino *in = &p->ino[ino];
	uint64_t old = in->size, lo, hi;

	if (new == old)
		return 0;
	lo = (new < old ? new : old) / FP_BLK;
	hi = (new > old ? new : old) / FP_BLK + ((new > old ? new : old) % FP_BLK != 0);
	if (blk_grow(in, hi))
		return -1;
	if (new < old) {
		for (uint64_t k = lo; k < hi; k++) {
			if (k * FP_BLK >= new) {
				in->b[k].cur = 0;
			} else if (in->b[k].cur) {
				memcpy(p->blk, ct_bytes(p, in->b[k].cur), FP_BLK);
				memset(p->blk + new % FP_BLK, 0, FP_BLK - new % FP_BLK);
				if ((in->b[k].cur = ct_intern(p, p->blk)) == UINT32_MAX)
					return -1;
			}
		}
	}
	in->size = new;
	in->lastdchg = p->seq;
	retire_content(p, ino, new < old ? lo : 0, new < old ? hi : 0, old, new);
	for (uint64_t k = lo; k < hi; k++)
		snap(p, in, k, line);
	/* O5: the zeroed tail of the last page may be written back while the
	 * old size is still the durable one (ext4 writes the page back
	 * independently of the truncating transaction); so may every later
	 * write to that page, until the file's size is synced */
	if (new < old && new % FP_BLK) {
		snap_sized(in, new / FP_BLK, old, line);
		if (old > in->shrunk_from)
			in->shrunk_from = old;
		in->shrunk_blk = new / FP_BLK;
	}
	return 0;
}

/* Write LEN bytes of payload D (from DOFF) at OFF; EXTEND grows the size. */
static int write_bytes(struct sim_fs_promises *p, uint32_t ino, uint64_t off, uint64_t len,
		       const struct trace_payload *d, uint64_t doff, bool extend, uint64_t line)
{
	struct fp_ino *in = &p->ino[ino];
	uint64_t end = off + len, k0 = off / FP_BLK;
	uint64_t k1 = end / FP_BLK + (end % FP_BLK != 0);	/* no wrap near 2^64 */

	in->lastchg = p->seq;
	if (!len)
		return 0;
	if (blk_grow(in, k1))
		return -1;
	if (extend && end > in->size) {
		uint64_t old = in->size;
		in->size = end;
		in->lastdchg = p->seq;
		retire_content(p, ino, 0, 0, old, end);
		for (uint64_t k = old / FP_BLK; k < k0; k++)
			snap(p, in, k, line);	/* the hole before: zeros */
	}
	for (uint64_t k = k0; k < k1; k++) {
		uint64_t a = k * FP_BLK > off ? k * FP_BLK : off;
		uint64_t b = (k + 1) * FP_BLK < end ? (k + 1) * FP_BLK : end;
		memcpy(p->blk, ct_bytes(p, in->b[k].cur), FP_BLK);
		trace_payload_read(d, doff + (a - off), p->blk + (a - k * FP_BLK), (size_t)(b - a));
		if ((in->b[k].cur = ct_intern(p, p->blk)) == UINT32_MAX)
			return -1;
		snap(p, in, k, line);
		if (in->shrunk_from > in->size && k == in->shrunk_blk)
			snap_sized(in, k, in->shrunk_from, line);	/* O5, set_size */
	}
	retire_content(p, ino, k0, k1, in->size, in->size);
	return 0;
}

/* Zero [a, b) of INO (within its size). */
static int zero_range(struct sim_fs_promises *p, uint32_t ino, uint64_t a, uint64_t b,
		      uint64_t line)
{
	struct fp_ino *in = &p->ino[ino];
	struct trace_payload z = { .kind = TRACE_PAYLOAD_FILL, .arg = 0 };

	if (b > in->size)
		b = in->size;
	if (a >= b)
		return 0;
	z.len = b - a;
	return write_bytes(p, ino, a, b - a, &z, 0, false, line);
}

/* ---- events ---- */

static bool writable(uint32_t fl)
{
	return fl & (TRACE_O_WRONLY | TRACE_O_RDWR);
}

/* The last link of INO went away. */
static void unlinked(struct sim_fs_promises *p, uint32_t ino)
{
	if (p->ino[ino].nlink == 0)
		retire_file(p, ino);
}

static int ev_open(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_lk lk;
	uint32_t fl = ev->flags, ino;
	int r;

	if (ev->fd >= FP_MAX_FD || p->fd[ev->fd].open)
		return 0;			/* the model refused it (exit 2) */
	r = lookup(p, ev->path.s, &lk);
	if (r == LK_FOUND) {
		unsigned t;
		ino = lk.ino;
		t = p->ino[ino].type;
		if ((fl & TRACE_O_CREAT) && (fl & TRACE_O_EXCL))
			return 0;
		if (t == FT_LNK)
			return 0;		/* ELOOP */
		if ((fl & TRACE_O_DIRECTORY) && t != FT_DIR)
			return 0;
		if (t == FT_DIR && (writable(fl) || (fl & TRACE_O_TRUNC)))
			return 0;
		if ((fl & TRACE_O_TRUNC) && t == FT_REG) {
			p->ino[ino].lastchg = p->seq;
			if (set_size(p, ino, 0, ev->line))
				return -1;
		}
	} else if (r == LK_LAST_MISSING && (fl & TRACE_O_CREAT) && !(fl & TRACE_O_DIRECTORY)) {
		if (lk.len > FP_NAME_MAX)
			return 0;
		ino = ino_new(p, FT_REG, lk.dir);
		dent_add(p, lk.dir, lk.name, lk.len, ino);
		note_entry(p, lk.dir, lk.name, lk.len, ino);
	} else {
		return 0;
	}
	p->fd[ev->fd] = (struct fp_fd){ .open = true, .ino = ino, .flags = fl, .pos = 0 };
	return 0;
}

static int ev_write(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_fd *f;
	uint64_t off;

	if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
		return 0;
	f = &p->fd[ev->fd];
	if (p->ino[f->ino].type != FT_REG || !writable(f->flags))
		return 0;			/* EBADF (a directory: exit 2) */
	if (f->flags & TRACE_O_APPEND)
		off = p->ino[f->ino].size;
	else
		off = ev->op == TRACE_PWRITE ? ev->off : f->pos;
	if (off + ev->len < off)
		return 0;
	if (write_bytes(p, f->ino, off, ev->len, &ev->data, 0, true, ev->line))
		return -1;
	if (ev->op == TRACE_WRITE)
		f->pos = off + ev->len;
	if (f->flags & (TRACE_O_SYNC | TRACE_O_DSYNC))
		sync_inode(p, f->ino, !(f->flags & TRACE_O_SYNC),
			   f->flags & TRACE_O_SYNC ? "O_SYNC write" : "O_DSYNC write", ev->line);
	return 0;
}

static int ev_fallocate(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_fd *f;
	uint32_t ino;
	uint64_t a = ev->off, b = ev->off + ev->len;

	if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
		return 0;
	f = &p->fd[ev->fd];
	ino = f->ino;
	if (p->ino[ino].type != FT_REG || ev->len == 0 || b < a)
		return 0;
	p->ino[ino].lastchg = p->seq;
	if (ev->flags & (TRACE_FALLOC_PUNCH_HOLE | TRACE_FALLOC_ZERO_RANGE)) {
		if (zero_range(p, ino, a, b, ev->line))
			return -1;
		if (!(ev->flags & TRACE_FALLOC_ZERO_RANGE))
			return 0;
	}
	if (!(ev->flags & TRACE_FALLOC_KEEP_SIZE) && b > p->ino[ino].size)
		return set_size(p, ino, b, ev->line);
	return 0;
}

/* A directory D may not move under itself. */
static bool under(struct sim_fs_promises *p, uint32_t dir, uint32_t d)
{
	for (unsigned n = 0; dir != FP_ROOT && n < 4096; n++, dir = p->ino[dir].parent)
		if (dir == d)
			return true;
	return false;
}

static int ev_rename(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_lk from, to;
	uint32_t fino, tino = 0;
	unsigned ft;
	int r;

	if (lookup(p, ev->from.s, &from) != LK_FOUND || from.ino == FP_ROOT)
		return 0;
	r = lookup(p, ev->to.s, &to);
	if ((r != LK_FOUND && r != LK_LAST_MISSING) || to.len > FP_NAME_MAX)
		return 0;
	fino = from.ino;
	ft = p->ino[fino].type;
	if (r == LK_FOUND) {
		tino = to.ino;
		if (tino == fino)
			return 0;
		if (tino == FP_ROOT)
			return 0;
		if (p->ino[tino].type == FT_DIR && ft != FT_DIR)
			return 0;
		if (p->ino[tino].type != FT_DIR && ft == FT_DIR)
			return 0;
		if (p->ino[tino].type == FT_DIR && p->ino[tino].nent)
			return 0;
	}
	if (ft == FT_DIR && (to.dir == fino || under(p, to.dir, fino)))
		return 0;
	retire_path(p, ev->from.s);
	retire_path(p, ev->to.s);
	if (tino) {
		struct fp_dent *e = dent_find(&p->ino[to.dir], to.name, to.len);
		e->ino = fino;
		e->seq = p->seq;
		p->ino[to.dir].lastchg = p->seq;
		p->ino[tino].lastchg = p->seq;
		if (p->ino[tino].type == FT_DIR)
			p->ino[tino].nlink = 0;
		else
			p->ino[tino].nlink--;
		unlinked(p, tino);
	} else {
		dent_add(p, to.dir, to.name, to.len, fino);
	}
	dent_remove(p, from.dir, dent_find(&p->ino[from.dir], from.name, from.len));
	if (ft == FT_DIR)
		p->ino[fino].parent = to.dir;
	p->ino[fino].lastchg = p->seq;
	note_entry(p, to.dir, to.name, to.len, fino);
	return 0;
}

static int ev_link(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_lk from, to;

	if (lookup(p, ev->from.s, &from) != LK_FOUND || p->ino[from.ino].type == FT_DIR)
		return 0;
	if (lookup(p, ev->to.s, &to) != LK_LAST_MISSING || to.len > FP_NAME_MAX)
		return 0;
	retire_path(p, ev->to.s);
	dent_add(p, to.dir, to.name, to.len, from.ino);
	p->ino[from.ino].nlink++;
	p->ino[from.ino].lastchg = p->seq;
	note_entry(p, to.dir, to.name, to.len, from.ino);
	return 0;
}

static int ev_unlink(struct sim_fs_promises *p, const struct trace_event *ev, bool rmdir)
{
	struct fp_lk lk;
	unsigned t;

	if (lookup(p, ev->path.s, &lk) != LK_FOUND || lk.ino == FP_ROOT)
		return 0;
	t = p->ino[lk.ino].type;
	if (rmdir != (t == FT_DIR))
		return 0;
	if (rmdir && p->ino[lk.ino].nent)
		return 0;
	retire_path(p, ev->path.s);
	dent_remove(p, lk.dir, dent_find(&p->ino[lk.dir], lk.name, lk.len));
	p->ino[lk.ino].lastchg = p->seq;
	if (t == FT_DIR)
		p->ino[lk.ino].nlink = 0;
	else
		p->ino[lk.ino].nlink--;
	unlinked(p, lk.ino);
	return 0;
}

static int ev_create(struct sim_fs_promises *p, const struct trace_event *ev, unsigned type)
{
	const struct trace_str *path = type == FT_LNK ? &ev->to : &ev->path;
	struct fp_lk lk;
	uint32_t ino;

	if (type == FT_LNK && (ev->from.len == 0 || ev->from.len > 4096))
		return 0;
	if (lookup(p, path->s, &lk) != LK_LAST_MISSING || lk.len > FP_NAME_MAX)
		return 0;
	retire_path(p, path->s);
	ino = ino_new(p, type, lk.dir);
	if (type == FT_LNK)
		p->ino[ino].size = ev->from.len;
	dent_add(p, lk.dir, lk.name, lk.len, ino);
	note_entry(p, lk.dir, lk.name, lk.len, ino);
	return 0;
}

static int ev_xattr(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_ino *in;
	size_t used = 4;
	int found = -1;

	if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
		return 0;
	in = &p->ino[p->fd[ev->fd].ino];
	if (ev->name.len == 0 || ev->name.len > 255)
		return 0;
	for (uint32_t i = 0; i < in->nxa; i++) {
		if (!strcmp(in->xa[i], ev->name.s))
			found = (int)i;
		else
			used += 3 + strlen(in->xa[i]) + in->xalen[i];
	}
	if (ev->op == TRACE_REMOVEXATTR && found < 0)
		return 0;			/* ENODATA */
	if (ev->op == TRACE_SETXATTR && used + 3 + ev->name.len + ev->len > 4096)
		return 0;			/* ENOSPC (xattrs share one block) */
	if (found >= 0) {
		free(in->xa[found]);
		in->xa[found] = in->xa[in->nxa - 1];
		in->xalen[found] = in->xalen[in->nxa - 1];
		in->nxa--;
	}
	if (ev->op == TRACE_SETXATTR) {
		in->xa = xrealloc(in->xa, (in->nxa + 1) * sizeof(*in->xa));
		in->xalen = xrealloc(in->xalen, (in->nxa + 1) * sizeof(*in->xalen));
		in->xa[in->nxa] = xstrdup(ev->name.s);
		in->xalen[in->nxa++] = (uint32_t)ev->len;
	}
	in->lastchg = p->seq;
	return 0;
}

static int ev_mmap(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_fd *f;

	if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
		return 0;
	f = &p->fd[ev->fd];
	if (p->ino[f->ino].type != FT_REG || ev->len == 0 || ev->addr + ev->len < ev->addr ||
	    (ev->flags & TRACE_MAP_PRIVATE))
		return 0;
	if (p->nmap == p->mapcap) {
		p->mapcap = p->mapcap ? 2 * p->mapcap : 8;
		p->map = xrealloc(p->map, p->mapcap * sizeof(*p->map));
	}
	p->map[p->nmap++] = (struct fp_map){ .addr = ev->addr, .len = ev->len, .off = ev->off,
					     .ino = f->ino };
	return 0;
}

static int ev_munmap(struct sim_fs_promises *p, const struct trace_event *ev)
{
	for (uint32_t i = 0; i < p->nmap; i++) {
		struct fp_map *m = &p->map[i];
		if (m->addr >= ev->addr && m->addr + m->len <= ev->addr + ev->len) {
			p->map[i--] = p->map[--p->nmap];
		}
	}
	return 0;
}

static int ev_msync(struct sim_fs_promises *p, const struct trace_event *ev)
{
	if (!(ev->flags & TRACE_MS_SYNC) || p->no_promise)
		return 0;
	for (uint32_t i = 0; i < p->nmap; i++) {
		struct fp_map *m = &p->map[i];
		uint64_t a, b;
		struct fp_ino *in = &p->ino[m->ino];
		if (!(m->addr < ev->addr + ev->len && ev->addr < m->addr + m->len))
			continue;
		a = (ev->addr > m->addr ? ev->addr : m->addr) - m->addr + m->off;
		b = (ev->addr + ev->len < m->addr + m->len ? ev->addr + ev->len : m->addr + m->len) -
			m->addr + m->off;
		if (in->lastdchg > p->floor)
			p->floor = in->lastdchg;
		if (b > in->size)
			b = in->size;
		if (a < b)
			promise_file(p, m->ino, p->floor, "msync(MS_SYNC)", ev->line, a / FP_BLK,
				     (b + FP_BLK - 1) / FP_BLK - a / FP_BLK, false);
	}
	return 0;
}

static int ev_store(struct sim_fs_promises *p, const struct trace_event *ev)
{
	for (uint32_t i = 0; i < p->nmap; i++) {
		struct fp_map *m = &p->map[i];
		if (ev->addr >= m->addr && ev->addr - m->addr + ev->len <= m->len) {
			uint64_t off = m->off + (ev->addr - m->addr);
			if (off + ev->len > p->ino[m->ino].size)
				return 0;	/* SIGBUS: the model refused it */
			return write_bytes(p, m->ino, off, ev->len, &ev->data, 0, false, ev->line);
		}
	}
	return 0;
}

static int apply_event(struct sim_fs_promises *p, const struct trace_event *ev);

/* O9: the event being applied when a crash point falls inside it (an
 * O_SYNC write's commit, a commit forced by a full transaction) already
 * shows in the image: apply its changes now, its promise at completion. */
int sim_fs_promises_event_early(struct sim_fs_promises *p, const struct trace_event *ev)
{
	int rc;

	if (p->early_line == ev->line || trace_op_layer(ev->op) == TRACE_LAYER_ANY)
		return 0;
	p->no_promise = true;
	rc = apply_event(p, ev);
	p->no_promise = false;
	p->early_line = ev->line;
	return rc;
}

/* The promise half of an event applied early. */
static int promise_event(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_fd *f;

	switch (ev->op) {
	case TRACE_WRITE:
	case TRACE_PWRITE:
		if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
			return 0;
		f = &p->fd[ev->fd];
		if (p->ino[f->ino].type == FT_REG && writable(f->flags) &&
		    (f->flags & (TRACE_O_SYNC | TRACE_O_DSYNC)))
			sync_inode(p, f->ino, !(f->flags & TRACE_O_SYNC),
				   f->flags & TRACE_O_SYNC ? "O_SYNC write" : "O_DSYNC write",
				   ev->line);
		return 0;
	case TRACE_FSYNC:
	case TRACE_FDATASYNC:
	case TRACE_SYNC:
	case TRACE_MSYNC:
		p->seq--;			/* apply_event counts it again */
		return apply_event(p, ev);
	default:
		return 0;
	}
}

/* O5: the model's number of the file ev opened, once the model has
 * opened it (after the event, even when it was applied early, O9). */
static void learn_inode(struct sim_fs_promises *p, const struct trace_event *ev)
{
	const void *model = sim_model(p->s, SIM_ROLE_FS);
	struct fp_ino *in;

	if (ev->op != TRACE_OPEN || !model || ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
		return;
	in = &p->ino[p->fd[ev->fd].ino];
	if (in->type == FT_REG && !in->mino)
		in->mino = jfs_model_fd_ino(model, (uint32_t)ev->fd, &in->mgen);
}

int sim_fs_promises_event(struct sim_fs_promises *p, const struct trace_event *ev)
{
	int rc;

	if (p->failed)
		return -1;
	if (p->early_line && p->early_line == ev->line) {
		p->early_line = 0;
		rc = promise_event(p, ev);
	} else {
		p->early_line = 0;
		rc = apply_event(p, ev);
	}
	if (!rc)
		learn_inode(p, ev);
	return rc;
}

static int apply_event(struct sim_fs_promises *p, const struct trace_event *ev)
{
	struct fp_fd *f;
	int rc = 0;

	p->seq++;
	switch (ev->op) {
	case TRACE_OPEN:
		rc = ev_open(p, ev);
		break;
	case TRACE_CLOSE:
		if (ev->fd < FP_MAX_FD)
			p->fd[ev->fd].open = false;
		break;
	case TRACE_WRITE:
	case TRACE_PWRITE:
		rc = ev_write(p, ev);
		break;
	case TRACE_FSYNC:
	case TRACE_FDATASYNC:
		if (ev->fd < FP_MAX_FD && p->fd[ev->fd].open)
			sync_inode(p, p->fd[ev->fd].ino, ev->op == TRACE_FDATASYNC,
				   ev->op == TRACE_FSYNC ? "fsync" : "fdatasync", ev->line);
		break;
	case TRACE_SYNC: {
		char buf[4096] = "";
		if (p->no_promise)
			break;
		p->floor = p->seq;
		walk_subtree(p, FP_ROOT, buf, 0, 0, sync_visit, (void *)&ev->line);
		break;
	}
	case TRACE_FTRUNCATE:
		if (ev->fd >= FP_MAX_FD || !p->fd[ev->fd].open)
			break;
		f = &p->fd[ev->fd];
		if (p->ino[f->ino].type != FT_REG || !writable(f->flags))
			break;
		p->ino[f->ino].lastchg = p->seq;
		rc = set_size(p, f->ino, ev->len, ev->line);
		break;
	case TRACE_FALLOCATE:
		rc = ev_fallocate(p, ev);
		break;
	case TRACE_RENAME:
		rc = ev_rename(p, ev);
		break;
	case TRACE_LINK:
		rc = ev_link(p, ev);
		break;
	case TRACE_UNLINK:
	case TRACE_RMDIR:
		rc = ev_unlink(p, ev, ev->op == TRACE_RMDIR);
		break;
	case TRACE_MKDIR:
		rc = ev_create(p, ev, FT_DIR);
		break;
	case TRACE_SYMLINK:
		rc = ev_create(p, ev, FT_LNK);
		break;
	case TRACE_SETXATTR:
	case TRACE_REMOVEXATTR:
		rc = ev_xattr(p, ev);
		break;
	case TRACE_MMAP:
		rc = ev_mmap(p, ev);
		break;
	case TRACE_MUNMAP:
		rc = ev_munmap(p, ev);
		break;
	case TRACE_MSYNC:
		rc = ev_msync(p, ev);
		break;
	case TRACE_STORE:
	case TRACE_NTSTORE:
	case TRACE_RMW:
		rc = ev_store(p, ev);
		break;
	default:
		break;
	}
	if (rc)
		p->failed = true;
	return rc;
}

/* ---- create, destroy ---- */

int sim_fs_promises_create(struct sim_fs_promises **out, struct sim *s)
{
	struct sim_fs_promises *p = calloc(1, sizeof(*p));

	*out = p;
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->nino = 1;			/* 0 unused */
	p->inocap = 0;
	ino_new(p, FT_DIR, FP_ROOT);	/* the root, as mkfs made it */
	p->ino[FP_ROOT].nlink = 2;
	p->nct = 1;			/* 0: zeros */
	p->ctcap = 256;
	p->ct = xrealloc(NULL, p->ctcap * sizeof(*p->ct));
	memset(&p->ct[0], 0, sizeof(p->ct[0]));
	if (jfs_view_create(&p->view)) {
		free(p->ct);
		free(p->ino);
		free(p);
		*out = NULL;
		return -ENOMEM;
	}
	jfs_view_set_stamp(p->view, sim_obs_stamp_image);
	jfs_view_set_block_stamps(p->view, sim_obs_block_stamps_image);
	if (sim_model(s, SIM_ROLE_FS))		/* F8: what the log holds */
		jfs_view_set_log_contents(p->view, jfs_model_log_contents,
					  sim_model(s, SIM_ROLE_FS), sim_obs_peek_image);
	return 0;
}

void sim_fs_promises_destroy(struct sim_fs_promises *p)
{
	if (!p)
		return;
	for (uint32_t i = 1; i < p->nino; i++) {
		struct fp_ino *in = &p->ino[i];
		for (uint64_t k = 0; k < in->nb; k++) {
			free(in->b[k].v);
			if (in->b[k].wx)
				for (uint32_t w = 0; w < FP_WORDS; w++)
					free(in->b[k].wx->w[w]);
			free(in->b[k].wx);
		}
		free(in->b);
		for (uint32_t e = 0; e < in->nent; e++)
			free(in->ent[e].name);
		free(in->ent);
		for (uint32_t x = 0; x < in->nxa; x++)
			free(in->xa[x]);
		free(in->xa);
		free(in->xalen);
		free(in->paths);
	}
	free(p->ino);
	free(p->map);
	for (uint32_t c = 1; c < p->nct; c++)
		free(p->ct[c].bytes);
	free(p->ct);
	free(p->cth);
	for (uint32_t i = 0; i < p->npt; i++) {
		free(p->pt[i].s);
		free(p->pt[i].inos);
	}
	free(p->pt);
	free(p->pth);
	for (size_t i = 0; i < p->npr; i++)
		prom_free(p->pr[i]);
	free(p->pr);
	jfs_view_destroy(p->view);
	free(p->rf_k);
	free(p->rf_nw);
	free(p->rf_zero);
	free(p->rf_ino);
	free(p->walk);
	free(p->mapped);
	free(p->lay);
	free(p->lst);
	free(p->lbytes);
	free(p->loff);
	free(p->ubuf);
	free(p->lay_path);
	free(p->memo);
	free(p);
}

size_t sim_fs_promises_standing(const struct sim_fs_promises *p)
{
	return p->npr;
}

/* ---- judging ---- */

/* The recovered block map of PATH into p->mapped (O5).  Its reads (the
 * inode, indirect blocks) are metadata: made before the separable data
 * reads, so that what those decide never depends on a byte read only
 * separably (explore.h). */
static void load_map(struct sim_fs_promises *p, const char *path)
{
	uint32_t bs = FP_BLK;
	int64_t m = jfs_view_file_map(p->view, path, p->mapped, p->mappedcap, &bs);

	if (m > (int64_t)p->mappedcap) {
		p->mappedcap = (size_t)m;
		p->mapped = xrealloc(p->mapped, p->mappedcap);
		m = jfs_view_file_map(p->view, path, p->mapped, p->mappedcap, &bs);
	}
	p->nmap_blk = m > 0 ? (uint64_t)m : 0;
	p->mbs = bs;
	p->lay_judged = 0;		/* p->mapped is another file's */
}

/* A 4 KiB block K of a recovered file of SIZE bytes: its first LEN bytes
 * (the rest lie beyond the size). */
typedef void fp_block_fn(struct sim_fs_promises *p, void *ctx, uint64_t size, uint64_t k,
			 const uint8_t *got, uint32_t len);

struct fp_stream {
	struct sim_fs_promises *p;
	fp_block_fn *fn;
	void *ctx;
};

/* jfs_data_fn: the view's blocks, of any size, regrouped into the
 * oracle's 4 KiB blocks (p->win gathers the pieces of one). */
static void stream_data(void *ctx, uint64_t size, uint64_t off, const uint8_t *d, size_t n)
{
	struct fp_stream *st = ctx;
	struct sim_fs_promises *p = st->p;

	while (n) {
		uint64_t k = off / FP_BLK;
		uint32_t at = (uint32_t)(off % FP_BLK);
		size_t m = FP_BLK - at < n ? FP_BLK - at : n;
		bool last = at + m == FP_BLK || off + m == size;
		if (!at && last) {
			st->fn(p, st->ctx, size, k, d, (uint32_t)m);
		} else {
			memcpy(p->win + at, d, m);
			if (last)
				st->fn(p, st->ctx, size, k, p->win, at + (uint32_t)m);
		}
		off += m;
		d += m;
		n -= m;
	}
}

/* The recovered content of PATH, 4 KiB block by block to FN: the reads
 * of reading it whole (jfs_view_read_file), its data reads marked
 * separable when SEP: what the caller decides from them is, per aligned
 * 8-byte word of the file, whether that word holds a value allowed for
 * it (explore.h, "separable").  The map (load_map) first, not separable.
 * Holes stream as zeros, one block at a time: O(block) memory whatever
 * the size.  Returns the size, or -1 if absent. */
static int64_t read_data(struct sim_fs_promises *p, const char *path, const struct sim_image *im,
			 bool sep, fp_block_fn *fn, void *ctx)
{
	struct fp_stream st = { .p = p, .fn = fn, .ctx = ctx };
	int64_t n;
	unsigned was;

	load_map(p, path);
	was = sim_image_separable(im, sep ? 8 : 0);
	n = jfs_view_stream_file(p->view, path, stream_data, &st);
	sim_image_separable(im, was);
	return n;
}

/* ---- the memo of data comparisons (see "Cost" above) ---- */

static struct fp_memo *memo_slot(struct sim_fs_promises *p, uint32_t blk, uint32_t kind)
{
	/* a multiplicative hash is a bijection modulo the capacity: a file's
	 * consecutive blocks take distinct slots */
	return &p->memo[(uint32_t)((2 * (uint64_t)blk + kind) * 2654435761u) & (p->memocap - 1)];
}

/* Did comparing image block BLK, when its stamp was STAMP, hold for
 * (KIND, WHAT, K) over LEN bytes?  A content held over more bytes holds
 * over fewer; whether a block is explained depends on the file's size
 * (LEN), so that must be equal. */
static bool memo_has(struct sim_fs_promises *p, uint32_t kind, uint32_t blk, uint64_t stamp,
		     uint32_t what, uint32_t k, uint32_t len)
{
	const struct fp_memo *e = memo_slot(p, blk, kind);

	return e->stamp == stamp && e->blk == blk && e->kind == kind && e->what == what &&
	       e->k == k && (kind == MEMO_KEEPS ? e->len >= len : e->len == len);
}

static void memo_put(struct sim_fs_promises *p, uint32_t kind, uint32_t blk, uint64_t stamp,
		     uint32_t what, uint32_t k, uint32_t len)
{
	*memo_slot(p, blk, kind) = (struct fp_memo){ .stamp = stamp, .blk = blk, .what = what,
						     .k = k, .len = len, .kind = kind };
}

/* Room for two kinds of entry per block of a file of NB blocks, twice
 * over, up to FP_MEMO_MAX entries: allocated as files grow, never per
 * judgement once warm. */
static void memo_fit(struct sim_fs_promises *p, uint64_t nb)
{
	uint32_t cap = p->memocap ? p->memocap : 1024;

	while (cap < FP_MEMO_MAX && cap < 4 * nb)
		cap *= 2;
	if (cap == p->memocap)
		return;
	free(p->memo);
	p->memo = xrealloc(NULL, cap * sizeof(*p->memo));
	memset(p->memo, 0, cap * sizeof(*p->memo));
	p->memocap = cap;
}

/* Stamp the layout's blocks that are read from the image into p->lst,
 * in one call (sim_image_blocks_stamps): 0 for a block a crash choice
 * could change, which layout_load then reads whole.  (One call per run of
 * adjacent blocks, each through the view, halving refused runs, was an
 * eighth of a judgement on a 2,048-round trace whose file is a run per
 * block, and grew with the file, callgrind.) */
static void layout_stamp(struct sim_fs_promises *p, const struct sim_image *im, uint64_t nb)
{
	size_t m = 0;

	for (uint64_t l = 0; l < nb; l++)
		if (p->lay[l] && !(p->lay[l] & JFS_VIEW_REPLAYED))
			p->loff[m++] = (uint64_t)p->lay[l] * FP_BLK;
	sim_image_blocks_stamps(im, p->loff, m, FP_BLK, p->loff);	/* in place */
	m = 0;
	for (uint64_t l = 0; l < nb; l++)
		p->lst[l] = p->lay[l] && !(p->lay[l] & JFS_VIEW_REPLAYED) ? p->loff[m++] : 0;
}

/*
 * PATH's layout for the memo (p->lay, p->lst, p->lbytes, p->lay_n):
 * read_data's reads, but the data blocks' are stamps where no crash
 * choice can change them (sim_image_blocks_stamps: that counts as reading
 * them) and reads elsewhere, made here once whatever the checks then
 * need, and kept (p->lbytes: zeros, the overlay's copy, or p->ubuf).  The
 * caller has made load_map's reads and set the separable unit as
 * read_data does, so a judgement reads the same bytes, the same way, as
 * without the memo.  Returns the file's size, or -1: absent, or blocks of
 * other than FP_BLK bytes (no memo).
 */
static int64_t layout_load(struct sim_fs_promises *p, const char *path,
			   const struct sim_image *im)
{
	uint32_t bs = 0;
	int64_t n = jfs_view_file_blocks(p->view, path, p->lay, p->laycap, &bs);
	uint64_t nb, nu = 0;

	if (n < 0 || bs != FP_BLK)
		return -1;
	nb = ((uint64_t)n + FP_BLK - 1) / FP_BLK;
	if (nb > p->laycap) {
		p->laycap = 2 * nb;
		p->lay = xrealloc(p->lay, p->laycap * sizeof(*p->lay));
		p->lst = xrealloc(p->lst, p->laycap * sizeof(*p->lst));
		p->lbytes = xrealloc(p->lbytes, p->laycap * sizeof(*p->lbytes));
		p->loff = xrealloc(p->loff, p->laycap * sizeof(*p->loff));
		n = jfs_view_file_blocks(p->view, path, p->lay, p->laycap, &bs);
	}
	memo_fit(p, nb);
	layout_stamp(p, im, nb);	/* zeros and the overlay's: no stamp */
	/* the bytes of every block without a stamp: read (or taken from the
	 * overlay) once, as read_data would */
	for (uint64_t l = 0; l < nb; l++)
		nu += p->lay[l] && !p->lst[l] && !(p->lay[l] & JFS_VIEW_REPLAYED);
	if (nu > FP_UBUF_MAX)
		nu = FP_UBUF_MAX;	/* the rest are read again when needed */
	if (nu > p->ubufcap) {
		p->ubufcap = nu > 2 * p->ubufcap ? nu : 2 * p->ubufcap;
		p->ubuf = xrealloc(p->ubuf, p->ubufcap * FP_BLK);
	}
	for (uint64_t l = 0, u = 0; l < nb; l++) {
		if (!p->lay[l])
			p->lbytes[l] = zeros;
		else if (p->lay[l] & JFS_VIEW_REPLAYED)
			p->lbytes[l] = jfs_view_block(p->view, p->lay[l], p->dblk);
		else if (!p->lst[l] && u < nu)
			p->lbytes[l] = jfs_view_block(p->view, p->lay[l], p->ubuf + u++ * FP_BLK);
		else if (!p->lst[l])		/* read (it counts), not kept */
			p->lbytes[l] = (jfs_view_block(p->view, p->lay[l], p->dblk), NULL);
		else
			p->lbytes[l] = NULL;	/* stamped: read if the memo cannot tell */
	}
	p->lay_n = (uint64_t)n;
	return n;
}

/* Block B of the layout as recovered: known, or read now (a block with a
 * stamp, which the memo did not vouch for, or one read by layout_load
 * beyond FP_UBUF_MAX: the same range, read again). */
static const uint8_t *layout_bytes(struct sim_fs_promises *p, uint64_t b)
{
	return p->lbytes[b] ? p->lbytes[b] : jfs_view_block(p->view, p->lay[b], p->dblk);
}

/* file_keeps over the layout: compares the promised blocks that the memo
 * does not hold as kept.  True when R is kept; false when it may not be
 * (the caller then judges the whole content as before, which also finds
 * the offset its report names). */
/* The end of the bytes of file block B that R promised and a file of
 * SIZE bytes holds (at most B's start: none). */
static uint64_t prom_blk_end(const struct fp_prom *r, uint64_t b, uint64_t size)
{
	uint64_t e = (b + 1) * FP_BLK;

	if (e > r->size)
		e = r->size;
	return e < size ? e : size;
}

static bool layout_keeps(struct sim_fs_promises *p, const struct fp_prom *r)
{
	uint64_t size = p->lay_n;

	if (r->exact ? size != r->size : size < r->min_size)
		return false;
	for (uint64_t k = 0; k < r->nblk; k++) {
		uint64_t b = r->b0 + k, a = b * FP_BLK, e = prom_blk_end(r, b, size), st;
		uint32_t code, len;
		if (r->retired[k])
			continue;
		if (a >= e)
			continue;
		len = (uint32_t)(e - a);
		code = p->lay[b];
		st = p->lst[b];
		if (st && memo_has(p, MEMO_KEEPS, code, st, r->cid[k], 0, len))
			continue;
		if (memcmp(layout_bytes(p, b), ct_bytes(p, r->cid[k]), len))
			return false;
		if (st)
			memo_put(p, MEMO_KEEPS, code, st, r->cid[k], 0, len);
	}
	return true;
}

/*
 * PATH's map (load_map) and layout, read as read_data reads with the
 * separable unit of SEP, which stays set for the caller's comparisons
 * (*WAS: the unit before).  Within one judgement a second request for the
 * same path, read the same way, takes what the first read: the image,
 * and so every byte and stamp, is the same, and re-reading would add
 * nothing to what the judgement read (O4 then O5 of one file).  False
 * when there is no memo for PATH (absent, or not 4 KiB blocks).
 */
static bool layout_get(struct sim_fs_promises *p, const char *path, const struct sim_image *im,
		       bool sep, unsigned *was)
{
	size_t n = strlen(path) + 1;

	if (p->lay_judged == p->judged && p->lay_sep == sep && !strcmp(p->lay_path, path)) {
		*was = sim_image_separable(im, sep ? 8 : 0);
		return true;
	}
	load_map(p, path);
	*was = sim_image_separable(im, sep ? 8 : 0);
	if (p->mbs != FP_BLK || layout_load(p, path, im) < 0)
		return false;
	if (n > p->lay_pathcap) {
		p->lay_pathcap = 2 * n;
		p->lay_path = xrealloc(p->lay_path, p->lay_pathcap);
	}
	memcpy(p->lay_path, path, n);
	p->lay_sep = sep;
	p->lay_judged = p->judged;
	return true;
}

/* O4 through the memo: does PATH hold what R promises?  True: it does,
 * as read_data and file_keeps would find; false: not known. */
static bool data_keeps(struct sim_fs_promises *p, const struct fp_prom *r, const char *path,
		       const struct sim_image *im, bool sep)
{
	unsigned was;
	bool ok = layout_get(p, path, im, sep, &was) && layout_keeps(p, r);

	sim_image_separable(im, was);
	return ok;
}

static const char *type_name(unsigned t)
{
	return t == FT_REG ? "a regular file" : t == FT_DIR ? "a directory" :
	       t == FT_LNK ? "a symlink" : "nothing";
}

static void state_words(struct sim_fs_promises *p, char *out, size_t n)
{
	unsigned blocks, tx = jfs_view_replayed(p->view, &blocks);

	if (tx)
		snprintf(out, n, "in this state recovery replayed %u journal transaction%s "
			 "(%u block%s)", tx, tx == 1 ? "" : "s", blocks, blocks == 1 ? "" : "s");
	else
		snprintf(out, n, "in this state recovery replayed no journal transaction");
}

struct keeps {
	const struct fp_prom *r;
	uint64_t at;			/* the first differing offset ... */
	bool diff;			/* ... if any */
};

/* fp_block_fn: does block K keep what R promised for it? */
static void keeps_block(struct sim_fs_promises *p, void *ctx, uint64_t size, uint64_t k,
			const uint8_t *got, uint32_t len)
{
	struct keeps *c = ctx;
	const struct fp_prom *r = c->r;
	uint64_t a = k * FP_BLK, e = prom_blk_end(r, k, size);
	const uint8_t *want;

	(void)len;
	if (c->diff || k < r->b0 || k - r->b0 >= r->nblk || r->retired[k - r->b0])
		return;
	if (a >= e)
		return;
	want = ct_bytes(p, r->cid[k - r->b0]);
	if (memcmp(got, want, (size_t)(e - a))) {
		for (uint64_t i = 0; i < e - a; i++)
			if (got[i] != want[i]) {
				c->at = a + i;
				break;
			}
		c->diff = true;
	}
}

/* Does the recovered content of PATH keep promise R?  *N: its size (-1:
 * absent).  On a mismatch, *AT is the first differing offset (UINT64_MAX:
 * the size); absent, *AT is left as it was. */
static bool file_keeps(struct sim_fs_promises *p, const struct fp_prom *r, const char *path,
		       const struct sim_image *im, bool sep, int64_t *n, uint64_t *at)
{
	struct keeps c = { .r = r };
	uint64_t size;

	*n = read_data(p, path, im, sep, keeps_block, &c);
	if (*n < 0)
		return false;
	size = (uint64_t)*n;
	if (r->exact ? size != r->size : size < r->min_size) {
		*at = UINT64_MAX;
		return false;
	}
	if (c.diff) {
		*at = c.at;
		return false;
	}
	return true;
}

/* Is the recovered inode INO (0: none) the file IN: its inode number and
 * generation, as the model gave them (O4)?  False if never learnt. */
static bool is_file(struct sim_fs_promises *p, uint32_t ino, const struct fp_ino *in)
{
	return ino && ino == in->mino && jfs_view_generation(p->view, ino) == in->mgen;
}

static int judge_file_promise(struct sim_fs_promises *p, const struct fp_prom *r,
			      const struct sim_image *im, sim_violation_fn *report, void *ctx)
{
	struct sim_violation v = { .invariant = SIM_INV_SYNC_PROMISE, .line = r->line };
	const struct fp_ino *in = &p->ino[r->ino];
	char st[160], got[200] = "", expect[200];
	bool any_name = false;
	uint64_t at = 0;
	const char *bad = NULL;

	if (r->whole)
		snprintf(expect, sizeof(expect), "%s%" PRIu64 " bytes as at line %" PRIu64,
			 r->exact ? "" : "at least ", r->exact ? r->size : r->min_size, r->line);
	else
		snprintf(expect, sizeof(expect), "bytes %" PRIu64 "-%" PRIu64 " as at line %"
			 PRIu64, r->b0 * FP_BLK, (r->b0 + r->nblk) * FP_BLK - 1, r->line);
	/* O4: every standing promised name */
	for (uint32_t i = 0; i < r->nnames; i++) {
		unsigned t;
		uint64_t sz;
		int64_t n;
		if (!r->name_ok[i])
			continue;
		any_name = true;
		if (jfs_view_stat(p->view, r->names[i], &t, &sz) || t != FT_REG) {
			bad = r->names[i];
			snprintf(got, sizeof(got), "%s", jfs_view_stat(p->view, r->names[i], &t, &sz) ?
				 "absent" : type_name(t));
			break;
		}
		/* O4 per byte of each block not retired: separable */
		if (data_keeps(p, r, r->names[i], im, true))
			continue;
		if (!file_keeps(p, r, r->names[i], im, true, &n, &at)) {
			bad = r->names[i];
			if (at == UINT64_MAX)
				snprintf(got, sizeof(got), "%" PRId64 " bytes", n);
			else
				snprintf(got, sizeof(got), "%" PRId64 " bytes, differing from "
					 "offset %" PRIu64, n, at);
			break;
		}
	}
	if (!any_name) {
		/* O4: no promised name stands: some path it ever had holds them
		 * all.  Where every such path that exists names one recovered
		 * inode (hard links), they read one content and the check is
		 * per word again (separable); else "some path holds all of
		 * them" is not separable.  A path that is no regular file, or
		 * whose recovered size the promise rules out, fails file_keeps
		 * whatever its bytes, so it is left out of that count (the
		 * size is read before the data, not separably).  Where one of
		 * them names the file itself (its inode number and generation,
		 * as for O5), only those do: another file at a path it once had
		 * holds another file's data, whatever its bytes -- and the check
		 * is per word again, where a file renamed over another would
		 * leave two recovered inodes to try. */
		uint32_t one = 0, first = 0;
		bool several = false, own = false;
		for (uint32_t i = 0; in->mino && i < in->npaths && !own; i++)
			own = is_file(p, jfs_view_inode(p->view, p->pt[in->paths[i]].s), in);
		for (uint32_t i = 0; i < in->npaths && !several; i++) {
			const char *path = p->pt[in->paths[i]].s;
			uint32_t ino = jfs_view_inode(p->view, path);
			unsigned t;
			uint64_t sz;
			if (own && !is_file(p, ino, in))
				continue;
			if (ino && (jfs_view_stat(p->view, path, &t, &sz) || t != FT_REG ||
				    (r->exact ? sz != r->size : sz < r->min_size)))
				continue;
			if (ino && !one) {
				one = ino;
				first = i;
			}
			several = ino && ino != one;
		}
		if (!several && one) {
			const char *path = p->pt[in->paths[first]].s;
			int64_t n;
			if (data_keeps(p, r, path, im, true))
				return 0;
			if (file_keeps(p, r, path, im, true, &n, &at))
				return 0;
		}
		for (uint32_t i = 0; several && i < in->npaths; i++) {
			const char *path = p->pt[in->paths[i]].s;
			int64_t n;
			if (data_keeps(p, r, path, im, false))
				return 0;
			if (file_keeps(p, r, path, im, false, &n, &at))
				return 0;
		}
		bad = r->origin;
		snprintf(got, sizeof(got), "no path it ever had holds them");
	}
	if (!bad)
		return 0;
	state_words(p, st, sizeof(st));
	snprintf(v.path, sizeof(v.path), "%.250s", bad);
	snprintf(v.expected, sizeof(v.expected), "%s", expect);
	snprintf(v.actual, sizeof(v.actual), "%s", got);
	snprintf(v.explanation, sizeof(v.explanation),
		 "%s of %.80s (line %" PRIu64 ") completed, so %s had to survive; %.110s, "
		 "and %.80s recovered as %.80s.", r->what, r->origin, r->line,
		 r->whole ? "its size and content" : "the synced range", st, bad, got);
	return report(ctx, &v);
}

static int judge_name_promise(struct sim_fs_promises *p, const struct fp_prom *r,
			      sim_violation_fn *report, void *ctx)
{
	struct sim_violation v = { .invariant = SIM_INV_SYNC_PROMISE, .line = r->line };
	unsigned t = 0;
	uint64_t sz;
	char st[160];
	bool absent = jfs_view_stat(p->view, r->path, &t, &sz) != 0;

	if (!absent && t == r->type)
		return 0;
	state_words(p, st, sizeof(st));
	snprintf(v.path, sizeof(v.path), "%.250s", r->path);
	snprintf(v.expected, sizeof(v.expected), "%s", type_name(r->type));
	snprintf(v.actual, sizeof(v.actual), "%s", absent ? "absent" : type_name(t));
	snprintf(v.explanation, sizeof(v.explanation),
		 "%s (line %" PRIu64 ") completed while %.150s was %s, so that entry had "
		 "to survive; %.150s, and it is %s.", r->what, r->line, r->path, type_name(r->type),
		 st, absent ? "absent" : type_name(t));
	return report(ctx, &v);
}

/* Do the referenced bytes of [A, E) (p->map: the recovered file's
 * mapped blocks of p->mbs bytes), GOT (the bytes from A on), equal WANT
 * (the bytes from A on)? */
static bool referenced_equal(const struct sim_fs_promises *p, uint64_t a, uint64_t e,
			     const uint8_t *got, const uint8_t *want)
{
	for (uint64_t x = a; x < e;) {
		uint64_t l = x / p->mbs, y = (l + 1) * p->mbs < e ? (l + 1) * p->mbs : e;
		if (l < p->nmap_blk && p->mapped[l] &&
		    memcmp(got + (x - a), want + (x - a), (size_t)(y - x)))
			return false;
		x = y;
	}
	return true;
}

/* Is any of [A, E) referenced by recovered metadata? */
static bool referenced_any(const struct sim_fs_promises *p, uint64_t a, uint64_t e)
{
	for (uint64_t l = a / p->mbs; l * p->mbs < e; l++)
		if (l < p->nmap_blk && p->mapped[l])
			return true;
	return false;
}

/* O5: does block K of identity INO explain the recovered bytes GOT (of
 * block K) of a file of SIZE bytes, where recovered metadata references
 * them (a hole or an unwritten extent reads as zeros and references
 * nothing)?  *NEWEST: the line of its newest version. */
/* B's word index brought up to its versions (they are only ever
 * appended), or NULL while it has fewer than FP_WIDX_MIN. */
static const struct fp_widx *widx_of(const struct sim_fs_promises *p, struct fp_blk *b)
{
	struct fp_widx *x = b->wx;

	if (b->n < FP_WIDX_MIN)
		return NULL;
	if (!x && !(x = b->wx = calloc(1, sizeof(*x))))
		abort();
	for (; x->nver < b->n; x->nver++) {
		const struct fp_ver *ver = &b->v[x->nver];
		const uint8_t *c = ct_bytes(p, ver->cid);
		for (uint32_t w = 0; w < FP_WORDS; w++) {
			uint64_t val;
			uint32_t i;
			memcpy(&val, c + 8 * w, 8);
			for (i = 0; i < x->n[w] && x->w[w][i].val != val; i++)
				;
			if (i < x->n[w]) {
				if (ver->size > x->w[w][i].maxsize)
					x->w[w][i].maxsize = ver->size;
				continue;
			}
			if (x->n[w] == x->cap[w]) {
				x->cap[w] = x->cap[w] ? 2 * x->cap[w] : 4;
				x->w[w] = xrealloc(x->w[w], x->cap[w] * sizeof(*x->w[w]));
			}
			x->w[w][x->n[w]++] = (struct fp_wval){ val, ver->size };
		}
	}
	return x;
}

/* Does a version of B with a size >= E hold the N (<= 8) bytes GOT at
 * byte OFF (a multiple of 8) of the block?  Through its word index X when
 * it has one, newest version first otherwise. */
static bool word_explained(const struct sim_fs_promises *p, const struct fp_blk *b,
			   const struct fp_widx *x, uint64_t off, const uint8_t *got, size_t n,
			   uint64_t e)
{
	if (x) {
		uint32_t w = (uint32_t)(off / 8);
		for (uint32_t i = 0; i < x->n[w]; i++)
			if (x->w[w][i].maxsize >= e && !memcmp(&x->w[w][i].val, got, n))
				return true;
		return false;
	}
	for (uint32_t i = b->n; i-- > 0;)
		if (b->v[i].size >= e && !memcmp(got, ct_bytes(p, b->v[i].cid) + off, n))
			return true;
	return false;
}

/* How many of B's newest versions block_explained and versions_explain
 * compare whole before they go word by word: all of them without a word
 * index, a few with one (the word test finds every block they would). */
static uint32_t whole_tries(const struct fp_blk *b, const struct fp_widx *x)
{
	return x ? 4 : b->n;
}

static bool block_explained(struct sim_fs_promises *p, struct fp_ino *in, uint64_t k,
			    uint64_t size, const uint8_t *got, uint64_t *newest)
{
	uint64_t a = k * FP_BLK, e = (k + 1) * FP_BLK < size ? (k + 1) * FP_BLK : size;

	struct fp_blk *b;
	const struct fp_widx *x;

	*newest = 0;
	if (!referenced_any(p, a, e))
		return true;
	if (k >= in->nb)
		return false;
	b = &in->b[k];
	x = widx_of(p, b);
	if (b->n)
		*newest = b->v[b->n - 1].line;
	for (uint32_t i = b->n, t = whole_tries(b, x); i-- > 0 && t--;) {
		const struct fp_ver *ver = &b->v[i];
		if (ver->size >= e && referenced_equal(p, a, e, got, ct_bytes(p, ver->cid)))
			return true;
	}
	/* a write-back in flight may tear (8 bytes on pmem, the atomic unit
	 * on disks): each referenced 8-byte word from any covering version */
	for (uint64_t w = a; w < e; w += 8) {
		uint64_t we = w + 8 < e ? w + 8 : e;
		if (referenced_any(p, w, we) &&
		    !word_explained(p, b, x, w - a, got + (w - a), (size_t)(we - w), e))
			return false;
	}
	return true;
}

/* block_explained for a block of FP_BLK bytes that recovered metadata
 * references and whose first LEN bytes GOT holds, the file's size
 * reaching E within it: one version of B with size >= E holds them all,
 * or each 8-byte word one (a torn write-back). */
static bool versions_explain(const struct sim_fs_promises *p, struct fp_blk *b, uint64_t e,
			     const uint8_t *got, uint32_t len)
{
	const struct fp_widx *x = widx_of(p, b);

	for (uint32_t i = b->n, t = whole_tries(b, x); i-- > 0 && t--;)
		if (b->v[i].size >= e && !memcmp(got, ct_bytes(p, b->v[i].cid), len))
			return true;
	for (uint32_t w = 0; w < len; w += 8) {
		uint32_t n = len - w < 8 ? len - w : 8;
		if (!word_explained(p, b, x, w, got + w, n, e))
			return false;
	}
	return true;
}

/* judge_referenced's test of one path over the layout (p->mapped says
 * what metadata references): is every block explained by one identity
 * PE had?  A block the memo holds as explained for an identity stays
 * explained: a block's versions are only ever appended, and a version
 * that explained its bytes, or each of its words, still does. */
static bool layout_referenced(struct sim_fs_promises *p, struct fp_path *pe)
{
	uint64_t n = p->lay_n, nb = (n + FP_BLK - 1) / FP_BLK, got_k = UINT64_MAX;
	const uint8_t *got = NULL;

	/* which identity explains them does not matter here: the one that
	 * did last is tried first (a path replaced by rename every few
	 * operations has as many identities), then the others in order */
	for (uint32_t t = 0; t < pe->n; t++) {
		uint32_t c = !t ? pe->hint : t - 1 < pe->hint ? t - 1 : t, ino = pe->inos[c];
		const struct fp_ino *in = &p->ino[ino];
		uint64_t k;
		for (k = 0; k < nb; k++) {
			uint64_t a = k * FP_BLK, e = a + FP_BLK < n ? a + FP_BLK : n, st = p->lst[k];
			uint32_t len = (uint32_t)(e - a), code = p->lay[k];
			if (k >= p->nmap_blk || !p->mapped[k])
				continue;	/* not referenced: reads as zeros */
			if (k >= in->nb)
				break;
			if (st && memo_has(p, MEMO_EXPLAINED, code, st, ino, (uint32_t)k, len))
				continue;
			if (got_k != k) {	/* read once for every identity */
				got = layout_bytes(p, k);
				got_k = k;
			}
			if (!versions_explain(p, &in->b[k], e, got, len))
				break;
			if (st)
				memo_put(p, MEMO_EXPLAINED, code, st, ino, (uint32_t)k, len);
		}
		if (k == nb) {
			pe->hint = c;
			return true;
		}
	}
	return false;
}

/* O5 through the memo: true when PATH passes, as read_data and
 * block_explained would find; false: not known. */
static bool data_referenced(struct sim_fs_promises *p, const char *path, struct fp_path *pe,
			    const struct sim_image *im, bool sep)
{
	unsigned was;
	bool ok = layout_get(p, path, im, sep, &was) && layout_referenced(p, pe);

	sim_image_separable(im, was);
	return ok;
}

static void walk_note(void *ctx, const char *path, unsigned type, uint64_t size)
{
	struct sim_fs_promises *p = ctx;
	size_t n = strlen(path) + 1;

	(void)size;
	if (type != FT_REG)
		return;
	if (p->nwalk + n > p->walkcap) {
		p->walkcap = 2 * (p->nwalk + n) + 4096;
		p->walk = xrealloc(p->walk, p->walkcap);
	}
	memcpy(p->walk + p->nwalk, path, n);
	p->nwalk += n;
}

/* fp_block_fn for judge_referenced: block K against each identity CTX
 * (a struct fp_path) had that explained every block before it; the
 * first block one does not explain is noted (p->rf_k), with its newest
 * version's line and whether the block read all zeros. */
static void explained_block(struct sim_fs_promises *p, void *ctx, uint64_t size, uint64_t k,
			    const uint8_t *got, uint32_t len)
{
	const struct fp_path *pe = ctx;

	for (uint32_t c = 0; pe && c < pe->n; c++) {
		uint64_t nw;
		bool zero = true;
		if (p->rf_k[c] != UINT64_MAX ||
		    block_explained(p, &p->ino[pe->inos[c]], k, size, got, &nw))
			continue;
		for (uint32_t i = 0; i < len && zero; i++)
			zero = got[i] == 0;
		p->rf_k[c] = k;
		p->rf_nw[c] = nw;
		p->rf_zero[c] = zero;
	}
}

/*
 * O5 for PATH, which had the identities PE: can at most one of them
 * explain its recovered data at all?  block_explained fails block K for an
 * identity that has no version of K with a size reaching the block's end
 * (the recovered size cut at the block), whatever the bytes, wherever
 * metadata references K; so an identity that lacks one for some
 * referenced block explains nothing, and "one identity explains every
 * block" is then the one left's test alone: per referenced word, a
 * conjunction (separable; with none left, false whatever the bytes).
 * What decides it -- the size, the block map, the reference -- is read
 * before the data, not separably.  Sizes tell a path's identities apart
 * where a file was renamed over another of another size (a rename over
 * a file on pmem, whose write-back tears per word, was 2^64 and more
 * judgements a point before).
 */
static bool one_identity_left(struct sim_fs_promises *p, const char *path, const struct fp_path *pe)
{
	unsigned type;
	uint64_t size;
	uint32_t left = 0;

	if (jfs_view_stat(p->view, path, &type, &size) || type != FT_REG)
		return false;
	load_map(p, path);
	for (uint32_t c = 0; c < pe->n; c++) {
		const struct fp_ino *in = &p->ino[pe->inos[c]];
		bool can = true;
		for (uint64_t k = 0; can && k * FP_BLK < size; k++) {
			uint64_t a = k * FP_BLK, e = a + FP_BLK < size ? a + FP_BLK : size;
			if (!referenced_any(p, a, e))
				continue;
			can = false;
			for (uint32_t i = 0; k < in->nb && i < in->b[k].n && !can; i++)
				can = in->b[k].v[i].size >= e;
		}
		if (can && ++left > 1)
			return false;
	}
	return true;
}

/* Room in the per-identity arrays of O5 for N identities. */
static void rf_grow(struct sim_fs_promises *p, size_t n)
{
	if (n <= p->rfcap)
		return;
	p->rfcap = 2 * n;
	p->rf_k = xrealloc(p->rf_k, p->rfcap * sizeof(*p->rf_k));
	p->rf_nw = xrealloc(p->rf_nw, p->rfcap * sizeof(*p->rf_nw));
	p->rf_zero = xrealloc(p->rf_zero, p->rfcap);
	p->rf_ino = xrealloc(p->rf_ino, p->rfcap * sizeof(*p->rf_ino));
}

/*
 * O5: of the identities PE had, those whose inode number and generation
 * (the model's, learnt when each was opened) are the ones recovered
 * metadata gives PATH: a file holds the data written to it, so a block
 * that only another file's data explains is stale there, whatever path
 * that file once had.  They are metadata, read before the data, not
 * separably.  With one left the test is per word (separable): a
 * same-size file renamed over another on pmem was refused (2^64 and more
 * states a point, none separable), and so was a replace-by-rename that
 * reused the number of the file an earlier one replaced (the lowest free
 * inode is taken: the generation tells them apart).  PE itself where
 * none has them (never learnt) or all do (one file).
 */
static const struct fp_path *same_inode(struct sim_fs_promises *p, const char *path,
					const struct fp_path *pe, struct fp_path *sub)
{
	uint32_t ino, gen = 0, m = 0;

	if (!pe || pe->n < 2)
		return pe;
	ino = jfs_view_inode(p->view, path);
	if (ino)
		gen = jfs_view_generation(p->view, ino);
	rf_grow(p, pe->n);
	for (uint32_t c = 0; ino && c < pe->n; c++)
		if (p->ino[pe->inos[c]].mino == ino && p->ino[pe->inos[c]].mgen == gen)
			p->rf_ino[m++] = pe->inos[c];
	if (!m || m == pe->n)
		return pe;
	*sub = *pe;
	sub->inos = p->rf_ino;
	sub->n = m;
	sub->hint = 0;
	return sub;
}

static int judge_referenced(struct sim_fs_promises *p, const struct sim_image *im,
			    sim_violation_fn *report, void *ctx)
{
	p->nwalk = 0;
	jfs_view_walk(p->view, walk_note, p);
	for (size_t off = 0; off < p->nwalk; off += strlen(p->walk + off) + 1) {
		const char *path = p->walk + off;
		struct fp_path sub;
		const struct fp_path *pe = same_inode(p, path, path_find(p, path), &sub);
		struct sim_violation v = { .invariant = SIM_INV_REFERENCED_DATA };
		/* O5 per referenced word, when the path had one identity
		 * (block_explained), or one that can explain it at all;
		 * "all from one identity" of several: not separable */
		bool sep = !pe || pe->n == 1 || one_identity_left(p, path, pe);
		int64_t n;
		uint64_t bad_k = 0, newest = 0;
		uint32_t bad_ino = 0;
		bool ok = false, zero = true;
		char st[160];

		if (pe) {
			rf_grow(p, pe->n);
			for (uint32_t c = 0; c < pe->n; c++)
				p->rf_k[c] = UINT64_MAX;
		}
		if (pe && data_referenced(p, path, (struct fp_path *)pe, im, sep))
			continue;
		n = read_data(p, path, im, sep, explained_block, (void *)pe);
		if (n < 0)
			continue;
		for (uint32_t c = 0; pe && c < pe->n && !ok; c++) {
			if (p->rf_k[c] == UINT64_MAX) {
				ok = true;
			} else if (!bad_ino || p->rf_k[c] > bad_k) {
				bad_ino = pe->inos[c];
				bad_k = p->rf_k[c];
				newest = p->rf_nw[c];
				zero = p->rf_zero[c];
			}
		}
		if (ok)
			continue;
		state_words(p, st, sizeof(st));
		snprintf(v.path, sizeof(v.path), "%.250s", path);
		v.line = newest;
		if (!pe) {
			snprintf(v.expected, sizeof(v.expected), "no file at %.200s", path);
			snprintf(v.actual, sizeof(v.actual), "a file of %" PRId64 " bytes", n);
			snprintf(v.explanation, sizeof(v.explanation),
				 "No operation of the trace ever created %.200s, yet recovered "
				 "metadata names a file there; %.150s.", path, st);
		} else {
			uint64_t a = bad_k * FP_BLK, e = a + FP_BLK < (uint64_t)n ? a + FP_BLK :
				(uint64_t)n;
			snprintf(v.expected, sizeof(v.expected), "bytes %" PRIu64 "-%" PRIu64
				 " as some write left them while the file was %" PRIu64
				 " bytes long", a, e - 1, e);
			snprintf(v.actual, sizeof(v.actual), "%s (file size %" PRId64 ")",
				 zero ? "zeros never written there" :
				 "bytes never written there (stale or garbage)", n);
			if (newest)
				snprintf(v.explanation, sizeof(v.explanation),
					 "%.120s recovered with size %" PRId64 ", so its block %" PRIu64
					 " is referenced, but it holds %s: the data written by line "
					 "%" PRIu64 " never reached the media before the metadata "
					 "that references it; %.150s.", path, n, bad_k,
					 zero ? "zeros" : "bytes no write put there", newest, st);
			else
				snprintf(v.explanation, sizeof(v.explanation),
					 "%.150s recovered with size %" PRId64 ", but no write ever "
					 "reached its block %" PRIu64 " while the file was that long; "
					 "%.150s.", path, n, bad_k, st);
		}
		{
			int rc = report(ctx, &v);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static bool txn_version_ok(const struct jfs_replayed *e, size_t n, const struct jfs_logged *b,
			   size_t nb, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		if (!e[i].csum_bad)
			for (size_t j = 0; j < nb && !ok; j++)
				ok = b[j].blk == e[i].blk && b[j].hash == e[i].hash;
		if (!ok) {
			*bad = i;
			return false;
		}
	}
	return true;
}

static int judge_atomicity(struct sim_fs_promises *p, sim_violation_fn *report, void *ctx)
{
	const struct jfs_replayed *e;
	size_t n = jfs_view_replay_log(p->view, &e);
	const void *model = sim_model(p->s, SIM_ROLE_FS);

	if (!model)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, bad = 0;
		const struct jfs_logged *b;
		size_t nb;
		unsigned nalt;
		bool ok = false;

		while (j < n && e[j].seq == e[i].seq)
			j++;
		nalt = jfs_model_txn_logged(model, e[i].seq, 0, &b, &nb);
		for (unsigned a = 0; a < nalt && !ok; a++) {
			size_t bd;
			jfs_model_txn_logged(model, e[i].seq, a, &b, &nb);
			ok = txn_version_ok(e + i, j - i, b, nb, &bd);
			if (!a)
				bad = bd;
		}
		if (!ok) {
			struct sim_violation v = { .invariant = SIM_INV_JOURNAL_ATOMICITY };
			const struct jfs_replayed *x = &e[i + bad];
			snprintf(v.path, sizeof(v.path), "block %" PRIu32, x->blk);
			if (!nalt) {
				snprintf(v.expected, sizeof(v.expected), "no transaction %" PRIu32,
					 x->seq);
				snprintf(v.actual, sizeof(v.actual), "transaction %" PRIu32
					 " replayed (%zu blocks)", x->seq, j - i);
				snprintf(v.explanation, sizeof(v.explanation),
					 "Recovery replayed transaction %" PRIu32 ", which the "
					 "filesystem never logged: stale journal blocks passed for "
					 "a committed transaction.", x->seq);
			} else {
				snprintf(v.expected, sizeof(v.expected), "home block %" PRIu32
					 " as transaction %" PRIu32 " logged it", x->blk, x->seq);
				snprintf(v.actual, sizeof(v.actual), "%s (journal block %" PRIu32 ")",
					 x->csum_bad ? "skipped: its tag checksum failed" :
					 "other content", x->jblk);
				snprintf(v.explanation, sizeof(v.explanation),
					 "The commit block of transaction %" PRIu32 " reached the "
					 "media while its journal block %" PRIu32 " (home block %"
					 PRIu32 ") did not, so recovery replayed the transaction "
					 "in part: %zu of its blocks were replayed, one of them "
					 "not as logged.", x->seq, x->jblk, x->blk, j - i);
			}
			{
				int rc = report(ctx, &v);
				if (rc)
					return rc;
			}
		}
		i = j;
	}
	return 0;
}

struct fsck_words {
	char text[400];
	unsigned n;
};

static void fsck_note(void *ctx, const char *problem)
{
	struct fsck_words *w = ctx;
	size_t l = strlen(w->text);

	if (w->n++ < 3)
		snprintf(w->text + l, sizeof(w->text) - l, "%s%s", l ? "; " : "", problem);
}

struct jfs_view *sim_fs_promises_view(const struct sim_fs_promises *p)
{
	return p->view;
}

int sim_fs_promises_judge(struct sim_fs_promises *p, const struct sim_image *im,
			  sim_violation_fn *report, void *ctx)
{
	struct fsck_words w = { .text = "" };
	int rc;

	p->judged++;
	jfs_view_load(p->view, sim_obs_read_image, im, sim_image_size(im));
	/* O7 */
	if (jfs_view_fsck(p->view, fsck_note, &w)) {
		struct sim_violation v = { .invariant = SIM_INV_FSCK };
		char st[160];
		state_words(p, st, sizeof(st));
		snprintf(v.path, sizeof(v.path), "/");
		snprintf(v.expected, sizeof(v.expected), "a consistent filesystem");
		snprintf(v.actual, sizeof(v.actual), "%u problem%s: %.200s", w.n,
			 w.n == 1 ? "" : "s", w.text);
		snprintf(v.explanation, sizeof(v.explanation),
			 "fsck of the recovered image found %u problem%s (%.300s); %.150s.", w.n,
			 w.n == 1 ? "" : "s", w.text, st);
		if ((rc = report(ctx, &v)))
			return rc;
	}
	/* O6 */
	if ((rc = judge_atomicity(p, report, ctx)))
		return rc;
	/* O1-O4 */
	for (size_t i = 0; i < p->npr; i++) {
		const struct fp_prom *r = p->pr[i];
		rc = r->kind == P_FILE ? judge_file_promise(p, r, im, report, ctx) :
					 judge_name_promise(p, r, report, ctx);
		if (rc)
			return rc;
	}
	/* O5 */
	return judge_referenced(p, im, report, ctx);
}
