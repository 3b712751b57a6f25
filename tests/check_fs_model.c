/*
 * check_fs_model.c — unit tests of fs_model/: mkfs and recovery of the
 * real image, the namespace events, fsync/commit, revoke, checkpoint and
 * wrap-around, checksums, fsck, the background crash groups, DAX (write
 * faults, zeroing before the allocation commits, write-back per
 * dax_flush), and the litmus traces of tests/litmus/fs/ (each run here
 * through a machine of cache/ (pmem devices) + blockq/ + fs_model/ with
 * its own small `outcomes`, a second implementation beside the
 * simulator's).
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockq/blockq.h"
#include "cache/cache.h"
#include "fs_model/jfs.h"
#include "fs_model/jfs_int.h"
#include "sim/config.h"
#include "sim/crc32.h"
#include "sim/explore.h"
#include "sim/media.h"
#include "traces/trace.h"

/* ---- a machine: media, the cache (pmem devices), blockq (optional),
 * fs_model ---- */

#define MAX_PATHS 8

struct mach {
	struct sim_config cfg;
	struct sim_clock clock;
	struct sim_err err;
	struct media *media;
	struct sim_env env;
	void *cache;			/* with blockq on a pmem device */
	void *bq;
	void *fs;
	bool use_bq;
	struct sim_explorer *x;
	struct jfs_view *view;
	const char *paths[MAX_PATHS];	/* file: observations, in order */
	unsigned npaths;
	struct sim_range mem[MAX_PATHS];	/* or mem:ADDR:LEN ones */
	unsigned nmem;
	bool at_all;
	const char *at_mark;		/* --at mark:NAME */
	bool collect;			/* explore at crash points */
	void (*on_step)(struct mach *m, const char *what);	/* test hook */
	char **lines;
	size_t nlines, cap;
	uint64_t states;
	unsigned fsck_bad;		/* states whose image failed fsck */
	char fsck_first[300];
	uint64_t points;
};

static void add_line(struct mach *m, const char *l)
{
	for (size_t i = 0; i < m->nlines; i++)
		if (!strcmp(m->lines[i], l))
			return;
	if (m->nlines == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->lines = realloc(m->lines, m->cap * sizeof(*m->lines));
	}
	m->lines[m->nlines++] = strdup(l);
}

static void img_read(const void *img, uint64_t off, void *dst, size_t n)
{
	sim_image_read(img, off, dst, n);
}

static void first_problem(void *ctx, const char *p)
{
	struct mach *m = ctx;
	if (!m->fsck_first[0])
		snprintf(m->fsck_first, sizeof(m->fsck_first), "%s", p);
}

static int on_state(void *ctx, const struct sim_state *st)
{
	struct mach *m = ctx;
	char line[1024] = "", val[64];

	m->states++;
	for (unsigned i = 0; i < m->nmem; i++) {
		uint8_t b[64];
		ck_assert_uint_le(m->mem[i].len, sizeof(b));
		sim_image_read(st->image, m->mem[i].off, b, m->mem[i].len);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%smem:0x%" PRIx64
			 ":%" PRIu64 "=", i ? " " : "", m->mem[i].off, m->mem[i].len);
		for (uint64_t k = 0; k < m->mem[i].len; k++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%02x", b[k]);
	}
	if (m->nmem) {
		add_line(m, line);
		return 0;
	}
	jfs_view_load(m->view, img_read, st->image, sim_image_size(st->image));
	for (unsigned i = 0; i < m->npaths; i++) {
		ck_assert_int_gt(jfs_view_lookup(m->view, m->paths[i], val, sizeof(val)), 0);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%sfile:%s=%s",
			 i ? " " : "", m->paths[i], val);
	}
	add_line(m, line);
	if (jfs_view_fsck(m->view, first_problem, m))
		m->fsck_bad++;
	return 0;
}

static void explore_here(struct mach *m)
{
	struct sim_crash_source src[3];
	size_t n = 0;
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE, .max_states = 1000000 };
	struct sim_point_result res;
	char err[256];

	if (m->nmem) {			/* byte observations: explore.h `only` */
		pol.only = m->mem;
		pol.nonly = m->nmem;
	}
	if (m->cache)
		src[n++] = (struct sim_crash_source){ cache_model_ops.crash, m->cache };
	if (m->bq && bq_model_kind.ops->crash)
		src[n++] = (struct sim_crash_source){ bq_model_kind.ops->crash, m->bq };
	if (m->fs)
		src[n++] = (struct sim_crash_source){ jfs_model_ops.crash, m->fs };
	ck_assert_msg(sim_explore(m->x, m->media, src, n, &pol, m->points, on_state, m, &res,
				  err, sizeof(err)) == 0, "%s", err);
}

static void on_step(void *ctx, const char *what)
{
	struct mach *m = ctx;

	if (m->on_step)
		m->on_step(m, what);
	m->points++;
	if (m->collect && m->at_all)
		explore_here(m);
}

static void mach_init(struct mach *m)
{
	memset(m, 0, sizeof(*m));
	sim_config_init(&m->cfg);
	m->use_bq = true;
	ck_assert_int_eq(sim_explorer_create(&m->x), 0);
	ck_assert_int_eq(jfs_view_create(&m->view), 0);
}

static void mach_set(struct mach *m, const char *k, const char *v)
{
	char err[256];
	ck_assert_msg(sim_config_set(&m->cfg, k, v, SIM_FROM_FLAG, err, sizeof(err)) == 0,
		      "%s=%s: %s", k, v, err);
}

/* Make the models; returns 0, or -1 with m->err set. */
static int mach_start(struct mach *m)
{
	char err[256];

	bool pmem = m->cfg.device == SIM_DEVICE_PMEM || m->cfg.device == SIM_DEVICE_PMEM_WB;

	ck_assert_msg(sim_config_check(&m->cfg, err, sizeof(err), NULL) == 0, "%s", err);
	ck_assert_int_eq(media_create(&m->media, sim_param(&m->cfg, pmem ? "pmem.size" :
							    "disk.size")), 0);
	m->env = (struct sim_env){ .cfg = &m->cfg, .clock = &m->clock, .media = m->media,
				   .err = &m->err, .step = on_step, .step_ctx = m };
	if (m->use_bq && pmem) {	/* the pmem drivers stand on the cache model */
		ck_assert_msg(cache_model_kind.create(&m->cache, &m->env) == 0, "%s", m->err.msg);
		m->env.cache = m->cache;
	}
	if (m->use_bq) {
		ck_assert_msg(bq_model_kind.create(&m->bq, &m->env) == 0, "%s", m->err.msg);
		m->env.blockq = m->bq;
	}
	if (jfs_model_kind.create(&m->fs, &m->env))
		return -1;
	if (m->collect && m->at_all)
		explore_here(m);		/* point 0: the fresh filesystem */
	return 0;
}

static void mach_fini(struct mach *m)
{
	if (m->fs)
		jfs_model_ops.destroy(m->fs);
	if (m->bq)
		bq_model_kind.ops->destroy(m->bq);
	if (m->cache)
		cache_model_ops.destroy(m->cache);
	media_destroy(m->media);
	sim_explorer_destroy(m->x);
	jfs_view_destroy(m->view);
	for (size_t i = 0; i < m->nlines; i++)
		free(m->lines[i]);
	free(m->lines);
}

/* Feed a trace.  Returns 0, or -1 with the message in m->err. */
static int mach_run(struct mach *m, const char *name, const char *text)
{
	struct trace_reader *r;
	struct trace_event ev;
	int rc;

	ck_assert_int_eq(trace_open_mem(&r, name, text, strlen(text)), 0);
	while ((rc = trace_next(r, &ev)) == 1) {
		enum trace_layer l = trace_op_layer(ev.op);
		char err[256];
		if (l == TRACE_LAYER_HEADER) {
			for (unsigned i = 0; i < ev.nkv; i++)
				ck_assert_int_eq(sim_config_set(&m->cfg, ev.kv[i].key.s,
								ev.kv[i].value.s, SIM_FROM_TRACE,
								err, sizeof(err)), 0);
			continue;
		}
		if (!m->fs && mach_start(m)) {
			trace_close(r);
			return -1;
		}
		if (l == TRACE_LAYER_FILE || l == TRACE_LAYER_CPU) {
			m->err.msg[0] = '\0';
			if (jfs_model_ops.event(m->fs, &ev)) {
				snprintf(m->err.msg + strlen(m->err.msg),
					 sizeof(m->err.msg) - strlen(m->err.msg), " (line %" PRIu64 ")",
					 ev.line);
				trace_close(r);
				return -1;
			}
		} else if (ev.op == TRACE_THINK) {
			m->clock.now += ev.cycles;
		}
		m->points++;
		if (m->collect && (m->at_all || (m->at_mark && ev.op == TRACE_MARK &&
						 !strcmp(ev.name.s, m->at_mark))))
			explore_here(m);
	}
	ck_assert_msg(rc == 0, "%s", trace_reader_error(r));
	trace_close(r);
	if (!m->fs)
		ck_assert_int_eq(mach_start(m), 0);
	if (m->collect && !m->at_all && !m->at_mark)
		explore_here(m);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The current durable image (no volatile choice) recovered. */
static void view_base(struct mach *m)
{
	jfs_view_load(m->view, jfs_read_media, m->media, media_size(m->media));
}

static const char *lookup(struct mach *m, const char *path)
{
	static char buf[64];
	jfs_view_lookup(m->view, path, buf, sizeof(buf));
	return buf;
}

static void fsck_print(void *ctx, const char *p)
{
	(void)ctx;
	fprintf(stderr, "fsck: %s\n", p);
}

static char *crcval(uint64_t len, int fill)
{
	static char buf[64];
	uint8_t *b = malloc(len ? len : 1);
	memset(b, fill, len);
	snprintf(buf, sizeof(buf), "%" PRIu64 ":%08" PRIx32, len, crc32_update(0, b, len));
	free(b);
	return buf;
}

/* ---- unit tests ---- */

START_TEST(mkfs_recovers_clean)
{
	struct mach m;

	mach_init(&m);
	m.use_bq = false;
	ck_assert_int_eq(mach_run(&m, "t", "sync\n"), 0);
	view_base(&m);
	ck_assert_uint_eq(jfs_view_fsck(m.view, fsck_print, NULL), 0);
	ck_assert_str_eq(lookup(&m, "/nothing"), "absent");
	ck_assert_str_eq(lookup(&m, "/"), "dir:0:00000000");	/* no entries */
	mach_fini(&m);
}
END_TEST

START_TEST(namespace_events)
{
	struct mach m;
	const char *t =
		"open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
		"write fd=3 len=5000 data=fill:0x41\n"
		"mkdir path=/d\n"
		"mkdir path=/d/e\n"
		"link from=/a to=/d/a2\n"
		"symlink from=/a to=/s\n"
		"open fd=4 path=/d/f flags=O_CREAT|O_RDWR\n"
		"pwrite fd=4 off=8192 len=10 data=fill:0x42\n"
		"ftruncate fd=4 len=100\n"
		"setxattr fd=4 name=user.k len=3 data=fill:0x7a\n"
		"fallocate fd=4 off=4096 len=8192 mode=KEEP_SIZE\n"
		"rename from=/d/e to=/e\n"
		"rmdir path=/e\n"
		"unlink path=/a\n"
		"open fd=5 path=/missing\n"		/* ENOENT: recorded, not an error */
		"sync\n";

	mach_init(&m);
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	view_base(&m);
	ck_assert_uint_eq(jfs_view_fsck(m.view, fsck_print, NULL), 0);
	ck_assert_str_eq(lookup(&m, "/a"), "absent");
	ck_assert_str_eq(lookup(&m, "/d/a2"), crcval(5000, 0x41));
	ck_assert_str_eq(lookup(&m, "/d/f"), crcval(100, 0));
	ck_assert_str_eq(lookup(&m, "/e"), "absent");
	/* a symlink as itself, told apart from a file of its target's bytes */
	ck_assert_str_eq(lookup(&m, "/s"), "symlink:2:69707b5c");	/* "/a" */
	/* a directory: its entries' count and the crc32 of their sorted
	 * names, each ended by a NUL ("a2\0f\0", "d\0s\0") */
	ck_assert_str_eq(lookup(&m, "/d"), "dir:2:0bf555eb");
	ck_assert_str_eq(lookup(&m, "/d/"), "dir:2:0bf555eb");
	ck_assert_str_eq(lookup(&m, "/"), "dir:2:9112957d");
	/* a trailing slash names a directory only (ENOTDIR otherwise) */
	ck_assert_str_eq(lookup(&m, "/d/f/"), "absent");
	ck_assert_str_eq(lookup(&m, "/s/"), "absent");
	ck_assert_str_eq(lookup(&m, "/s/x"), "absent");
	mach_fini(&m);
}
END_TEST

START_TEST(bad_input_is_an_error)
{
	struct mach m;

	mach_init(&m);
	ck_assert_int_eq(mach_run(&m, "t", "write fd=9 len=1 data=fill:1\n"), -1);
	ck_assert_str_eq(m.err.msg, "fd 9 is not open (line 1)");
	mach_fini(&m);
	mach_init(&m);
	ck_assert_int_eq(mach_run(&m, "t", "mkdir path=/d\nopen fd=3 path=/d flags=O_DIRECTORY\n"
				  "write fd=3 len=1 data=fill:1\n"), -1);
	ck_assert_ptr_nonnull(strstr(m.err.msg, "is a directory"));
	mach_fini(&m);
	/* DAX needs the cache model of a pmem device (F22); the simulator
	 * refuses other devices earlier (sim_config_check); the model, a pmem
	 * device without the cache model */
	mach_init(&m);
	m.use_bq = false;		/* no blockq, so no cache model */
	mach_set(&m, "fs-opts", "dax");
	mach_set(&m, "device", "pmem");
	ck_assert_int_eq(mach_run(&m, "t", "sync\n"), -1);
	ck_assert_str_eq(m.err.msg, "fs option dax needs the CPU cache model of a pmem device");
	mach_fini(&m);
	{
		struct jfs_opts o;
		char err[256];
		jfs_opts_default(&o);
		ck_assert_int_eq(jfs_opts_parse("dax,data=journal", &o, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "dax cannot be used with data=journal (ext4: \"can't mount "
				 "with both data=journal and dax\")");
	}
}
END_TEST

/* fsync commits the whole running transaction (F5) and an fsync'ed
 * file survives whatever the device does afterwards (every crash state at
 * the end). */
START_TEST(fsync_durable_every_state)
{
	struct mach m;

	mach_init(&m);
	m.collect = true;
	m.paths[m.npaths++] = "/a";
	m.paths[m.npaths++] = "/b";
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "write fd=3 len=4096 data=fill:0x11\n"
				  "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
				  "fsync fd=3\n"), 0);
	ck_assert_uint_eq(m.fsck_bad, 0);
	ck_assert_uint_eq(m.nlines, 1);
	{
		char want[200];
		snprintf(want, sizeof(want), "file:/a=%s file:/b=0:00000000", crcval(4096, 0x11));
		ck_assert_str_eq(m.lines[0], want);
	}
	mach_fini(&m);
}
END_TEST

/* A tiny journal: commits wrap around the log and force checkpoints;
 * every crash point's every state recovers and passes fsck. */
START_TEST(journal_wraps_and_checkpoints)
{
	struct mach m;
	char t[8192] = "";

	mach_init(&m);
	m.use_bq = false;		/* the write-through device: every point */
	m.collect = true;
	m.at_all = true;
	m.paths[m.npaths++] = "/f";
	mach_set(&m, "jfs.journal_blocks", "16");
	mach_set(&m, "background", "off");
	strcat(t, "open fd=3 path=/f flags=O_CREAT|O_WRONLY|O_APPEND\n");
	for (int i = 0; i < 12; i++) {
		char l[128];
		snprintf(l, sizeof(l), "write fd=3 len=100 data=fill:%d\nmkdir path=/d%d\nfsync fd=3\n",
			 i + 1, i);
		strcat(t, l);
	}
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	ck_assert_msg(m.fsck_bad == 0, "%u bad states; first: %s", m.fsck_bad, m.fsck_first);
	ck_assert_uint_gt(((struct jfs_fs *)m.fs)->checkpoints, 1);
	ck_assert_uint_eq(m.nlines, 14);	/* absent, empty, then 1..12 records */
	view_base(&m);
	/* F10: the last fsync found /f's changes committed (the tiny journal
	 * made mkdir's handle commit them) and only flushed: /d11 is still in
	 * the running transaction */
	ck_assert_str_eq(lookup(&m, "/d10"), "dir:0:00000000");
	ck_assert_str_eq(lookup(&m, "/d11"), "absent");
	mach_fini(&m);
}
END_TEST

/* F7: a directory block journaled, freed (revoked) and reused for file
 * data must not be overwritten by replaying the old transaction. */
START_TEST(revoke_protects_reused_block)
{
	struct mach m;
	const char *t =
		"mkdir path=/d\n"
		"open fd=3 path=/d/x flags=O_CREAT|O_WRONLY\n"
		"close fd=3\n"
		"sync\n"
		"unlink path=/d/x\n"
		"rmdir path=/d\n"
		"sync\n"
		"open fd=4 path=/h flags=O_CREAT|O_WRONLY\n"
		"write fd=4 len=4096 data=fill:0x77\n"
		"fsync fd=4\n";

	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "fs-opts", "nodelalloc");
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	view_base(&m);
	ck_assert_uint_ge(jfs_view_replayed(m.view, NULL), 3);
	ck_assert_str_eq(lookup(&m, "/h"), crcval(4096, 0x77));
	ck_assert_uint_eq(jfs_view_fsck(m.view, fsck_print, NULL), 0);
	mach_fini(&m);
}
END_TEST

/* Two transactions, each creating a file and committed by its fsync,
 * written through no block queue. */
static void two_transactions(struct mach *m, const char *opts)
{
	mach_init(m);
	m->use_bq = false;
	mach_set(m, "fs-opts", opts);
	ck_assert_int_eq(mach_run(m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "fsync fd=3\n"
				  "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
				  "fsync fd=4\n"), 0);
}

/* F8, F13: with journal_checksum a corrupted journal block makes its
 * transaction's commit checksum fail: the log ends there. */
START_TEST(bad_checksum_ends_the_log)
{
	struct mach m;
	struct jfs_fs *fs;
	struct media *copy;
	uint8_t b[4096];
	uint32_t lb;

	two_transactions(&m, "journal_checksum,nodelalloc");
	fs = m.fs;
	view_base(&m);
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 2);
	ck_assert_str_eq(lookup(&m, "/b"), "0:00000000");
	/* flip a byte of the second transaction's first journaled block:
	 * the log block after its descriptor, two before the head's commit */
	ck_assert_int_eq(media_clone(&copy, m.media), 0);
	lb = fs->head;				/* next free log block */
	/* walk back to the second transaction's descriptor: it is the block
	 * right after the first commit; find it by type */
	for (uint32_t i = 1; i < fs->g.j_blocks; i++) {
		media_read(copy, ((uint64_t)fs->g.j_start + i) * 4096, b, sizeof(b));
		if (jfs_get32(b) == JFS_JMAGIC && jfs_get32(b + 4) == JFS_JT_DESC &&
		    jfs_get32(b + 8) == 2) {
			lb = i + 1;
			break;
		}
	}
	media_read(copy, ((uint64_t)fs->g.j_start + lb) * 4096, b, sizeof(b));
	b[100] ^= 0xff;
	media_write(copy, ((uint64_t)fs->g.j_start + lb) * 4096, b, sizeof(b));
	jfs_view_load(m.view, jfs_read_media, copy, media_size(copy));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 1);
	ck_assert_str_eq(lookup(&m, "/a"), "0:00000000");
	ck_assert_str_eq(lookup(&m, "/b"), "absent");
	ck_assert_uint_eq(jfs_view_fsck(m.view, fsck_print, NULL), 0);
	media_destroy(copy);
	mach_fini(&m);
}
END_TEST

static uint64_t stamp_media(const void *img, uint64_t off, size_t n)
{
	(void)n;
	return media_stamp(img, off);
}

/* The hash replay recorded (O6) for journal block JBLK; 0 if none. */
static uint64_t replayed_hash(struct jfs_view *v, uint32_t jblk)
{
	const struct jfs_replayed *e;
	size_t n = jfs_view_replay_log(v, &e);

	for (size_t i = 0; i < n; i++)
		if (e[i].jblk == jblk)
			return e[i].hash;
	return 0;
}

/* Recovery's memo (jfs_view_set_stamp) follows a journal block that
 * changed between loads, and a block that did not keeps its result. */
START_TEST(replay_memo_follows_changed_blocks)
{
	struct mach m;
	struct jfs_fs *fs;
	struct media *copy;
	uint8_t b[4096];
	uint32_t jb = 0;
	uint64_t h0;

	two_transactions(&m, "nodelalloc");
	fs = m.fs;
	jfs_view_set_stamp(m.view, stamp_media);
	for (uint32_t i = 1; i < fs->g.j_blocks && !jb; i++) {
		media_read(m.media, ((uint64_t)fs->g.j_start + i) * 4096, b, sizeof(b));
		if (jfs_get32(b) == JFS_JMAGIC && jfs_get32(b + 4) == JFS_JT_DESC &&
		    jfs_get32(b + 8) == 2)
			jb = fs->g.j_start + i + 1;	/* its first journaled block */
	}
	ck_assert_uint_ne(jb, 0);
	view_base(&m);
	h0 = replayed_hash(m.view, jb);
	ck_assert_uint_ne(h0, 0);
	ck_assert_int_eq(media_clone(&copy, m.media), 0);
	media_read(copy, (uint64_t)jb * 4096, b, sizeof(b));
	b[100] ^= 0xff;
	media_write(copy, (uint64_t)jb * 4096, b, sizeof(b));
	jfs_view_load(m.view, jfs_read_media, copy, media_size(copy));
	ck_assert_uint_eq(replayed_hash(m.view, jb), jfs_block_hash(b, sizeof(b)));
	ck_assert_uint_ne(replayed_hash(m.view, jb), h0);
	view_base(&m);				/* the unchanged image again */
	ck_assert_uint_eq(replayed_hash(m.view, jb), h0);
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 2);
	media_destroy(copy);
	mach_fini(&m);
}
END_TEST

static bool bstamps_media(const void *img, uint64_t off, uint32_t bsize, uint32_t nblk,
			  uint64_t *out)
{
	for (uint32_t b = 0; b < nblk; b++, off += bsize) {
		if (off >> MEDIA_PAGE_SHIFT != (off + bsize - 1) >> MEDIA_PAGE_SHIFT)
			return false;
		out[b] = media_stamp(img, off);
	}
	return true;
}

/* Does V's last load's replay log equal W's? */
static bool same_replay(struct jfs_view *v, struct jfs_view *w)
{
	const struct jfs_replayed *a, *b;
	size_t na = jfs_view_replay_log(v, &a), nb = jfs_view_replay_log(w, &b);
	unsigned ta, tb, ba, bb;

	ta = jfs_view_replayed(v, &ba);
	tb = jfs_view_replayed(w, &bb);
	if (na != nb || ta != tb || ba != bb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].seq != b[i].seq || a[i].blk != b[i].blk || a[i].jblk != b[i].jblk ||
		    a[i].csum_bad != b[i].csum_bad || a[i].hash != b[i].hash)
			return false;
	return true;
}

/* The log block of transaction SEQ's block of TYPE (its first), or 0. */
static uint32_t find_log_block(struct mach *m, uint32_t type, uint32_t seq)
{
	struct jfs_fs *fs = m->fs;
	uint8_t b[16];

	for (uint32_t i = 1; i < fs->g.j_blocks; i++) {
		media_read(m->media, ((uint64_t)fs->g.j_start + i) * 4096, b, sizeof(b));
		if (jfs_get32(b) == JFS_JMAGIC && jfs_get32(b + 4) == type && jfs_get32(b + 8) == seq)
			return i;
	}
	return 0;
}

/* The scan's memo (jfs_view_set_block_stamps) takes the transactions an
 * earlier load found only while their blocks keep their stamps: a later
 * commit block broken, or a journaled block changed, on another image
 * is seen; the result always equals a load without the memo. */
START_TEST(scan_memo_follows_changed_transactions)
{
	struct mach m;
	struct jfs_view *plain;
	struct media *copy;
	uint8_t b[4096];
	struct jfs_fs *fs;
	uint32_t commit2, desc2;
	uint64_t at;

	two_transactions(&m, "journal_checksum,nodelalloc");
	fs = m.fs;
	ck_assert_int_eq(jfs_view_create(&plain), 0);
	jfs_view_set_stamp(m.view, stamp_media);
	jfs_view_set_block_stamps(m.view, bstamps_media);
	commit2 = find_log_block(&m, JFS_JT_COMMIT, 2);
	desc2 = find_log_block(&m, JFS_JT_DESC, 2);
	ck_assert_uint_ne(commit2, 0);
	ck_assert_uint_ne(desc2, 0);
	for (int round = 0; round < 2; round++) {	/* builds the memo, then takes it */
		view_base(&m);
		jfs_view_load(plain, jfs_read_media, m.media, media_size(m.media));
		ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 2);
		ck_assert(same_replay(m.view, plain));
		ck_assert_str_eq(lookup(&m, "/b"), "0:00000000");
	}
	/* the second commit block broken on a copy: the log ends after the
	 * first transaction */
	ck_assert_int_eq(media_clone(&copy, m.media), 0);
	at = ((uint64_t)fs->g.j_start + commit2) * 4096;
	media_read(copy, at, b, sizeof(b));
	b[0] ^= 0xff;
	media_write(copy, at, b, sizeof(b));
	jfs_view_load(m.view, jfs_read_media, copy, media_size(copy));
	jfs_view_load(plain, jfs_read_media, copy, media_size(copy));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 1);
	ck_assert(same_replay(m.view, plain));
	ck_assert_str_eq(lookup(&m, "/b"), "absent");
	media_destroy(copy);
	/* a journaled block of the second transaction changed: its tag
	 * checksum fails (journal_checksum), as without the memo */
	view_base(&m);
	ck_assert_int_eq(media_clone(&copy, m.media), 0);
	at = ((uint64_t)fs->g.j_start + desc2 + 1) * 4096;
	media_read(copy, at, b, sizeof(b));
	b[100] ^= 0xff;
	media_write(copy, at, b, sizeof(b));
	jfs_view_load(m.view, jfs_read_media, copy, media_size(copy));
	jfs_view_load(plain, jfs_read_media, copy, media_size(copy));
	ck_assert(same_replay(m.view, plain));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 1);
	/* and the unchanged image again */
	view_base(&m);
	jfs_view_load(plain, jfs_read_media, m.media, media_size(m.media));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 2);
	ck_assert(same_replay(m.view, plain));
	media_destroy(copy);
	jfs_view_destroy(plain);
	mach_fini(&m);
}
END_TEST

/* F8, log_sum_read: with what the model wrote at each log block
 * (jfs_model_log_contents), the scan compares a block it sums with those
 * contents and stops reading it at the first 8-byte word none shares: a
 * torn block fails the checksum after one word of difference, not after a
 * read of the whole block; the result is the same as summing it whole.  A
 * read function that notes how far into one block the loads read. */
struct far_read {
	const struct media *m;
	uint64_t lo, hi;		/* the block watched */
	uint64_t end;			/* the furthest byte read in it + 1 */
};

static void far_read_fn(const void *img, uint64_t off, void *dst, size_t n)
{
	struct far_read *f = (struct far_read *)img;

	media_read(f->m, off, dst, n);
	if (off < f->hi && off + n > f->lo && off + n - f->lo > f->end)
		f->end = (off + n < f->hi ? off + n : f->hi) - f->lo;
}

static void far_peek_fn(const void *img, uint64_t off, void *dst, size_t n)
{
	media_read(((const struct far_read *)img)->m, off, dst, n);
}

START_TEST(log_contents_compare)
{
	struct mach m;
	struct jfs_view *plain;
	struct media *copy;
	struct far_read f;
	uint8_t b[4096];
	const uint8_t *c[4];
	uint32_t desc2;
	uint64_t at;

	two_transactions(&m, "journal_checksum,nodelalloc");
	desc2 = find_log_block(&m, JFS_JT_DESC, 2);
	ck_assert_uint_ne(desc2, 0);
	at = ((uint64_t)((struct jfs_fs *)m.fs)->g.j_start + desc2 + 1) * 4096;
	/* the model knows what it wrote there, for transaction 2 only */
	ck_assert_uint_eq(jfs_model_log_contents(m.fs, desc2 + 1, 2, c, 4), 1);
	media_read(m.media, at, b, sizeof(b));
	ck_assert(!memcmp(c[0], b, sizeof(b)));
	ck_assert_uint_eq(jfs_model_log_contents(m.fs, desc2 + 1, 1, c, 4), 0);
	ck_assert_int_eq(jfs_view_create(&plain), 0);
	jfs_view_set_log_contents(m.view, jfs_model_log_contents, m.fs, far_peek_fn);
	/* whole: both transactions replayed, the block read whole */
	f = (struct far_read){ .m = m.media, .lo = at, .hi = at + 4096 };
	jfs_view_load(m.view, far_read_fn, &f, media_size(m.media));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 2);
	ck_assert_uint_eq(f.end, 4096);
	ck_assert_str_eq(lookup(&m, "/b"), "0:00000000");
	/* torn at word 100: the log ends after transaction 1, as when the
	 * block is summed whole, and the load read it up to that word */
	ck_assert_int_eq(media_clone(&copy, m.media), 0);
	b[800] ^= 0x40;
	media_write(copy, at, b, sizeof(b));
	f = (struct far_read){ .m = copy, .lo = at, .hi = at + 4096 };
	jfs_view_load(m.view, far_read_fn, &f, media_size(copy));
	jfs_view_load(plain, jfs_read_media, copy, media_size(copy));
	ck_assert_uint_eq(jfs_view_replayed(m.view, NULL), 1);
	ck_assert(same_replay(m.view, plain));
	ck_assert_uint_eq(f.end, 808);
	ck_assert_str_eq(lookup(&m, "/b"), "absent");
	media_destroy(copy);
	jfs_view_destroy(plain);
	mach_fini(&m);
}
END_TEST

/* jfs_model_log_contents keeps the last JFS_LCONT_MAX log writes only: in
 * a journal of more blocks than that, a log block written earlier is not
 * known (the scan then sums it whole, exactly), and every block it does
 * know is as the last write left it (here, after sync, the media's). */
START_TEST(log_contents_ring)
{
	struct mach m;
	struct jfs_fs *fs;
	size_t cap = 1u << 20, len = 0;
	char *t = malloc(cap);
	uint8_t b[4096];
	uint32_t known = 0, head;

	ck_assert_ptr_nonnull(t);
	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "background", "off");
	mach_set(&m, "fs-opts", "journal_checksum,nodelalloc");
	mach_set(&m, "jfs.journal_blocks", "5000");
	mach_set(&m, "jfs.blocks", "16384");
	len += (size_t)snprintf(t + len, cap - len, "open fd=3 path=/f flags=O_CREAT|O_WRONLY\n");
	for (int i = 0; i < 2200; i++)	/* a descriptor, an inode block, a commit each */
		len += (size_t)snprintf(t + len, cap - len, "pwrite fd=3 off=0 len=8 data=fill:%d\n"
					"fsync fd=3\n", i % 250 + 1);
	snprintf(t + len, cap - len, "sync\n");
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	fs = m.fs;
	ck_assert_uint_gt(fs->journal_blocks, JFS_LCONT_MAX + 1000);
	head = fs->head;
	for (uint32_t lb = 1; lb < fs->g.j_blocks; lb++) {
		const uint8_t *c[2];
		uint32_t seq;
		media_read(m.media, ((uint64_t)fs->g.j_start + lb) * 4096, b, sizeof(b));
		seq = jfs_get32(b + 8);
		if (jfs_get32(b) != JFS_JMAGIC)
			continue;		/* a journaled (data) block: no header */
		if (jfs_model_log_contents(fs, lb, seq, c, 2) == 1) {
			ck_assert(!memcmp(c[0], b, sizeof(b)));
			known++;
		}
	}
	/* the blocks of the last 4096 writes, the headed ones among them */
	ck_assert_uint_gt(known, JFS_LCONT_MAX / 3);
	ck_assert_uint_le(known, JFS_LCONT_MAX);
	/* the block just before the head was written last: known; the one
	 * JFS_LCONT_MAX + 10 writes back is not */
	{
		const uint8_t *c[2];
		uint32_t lb = head > 1 ? head - 1 : fs->g.j_blocks - 1;
		uint32_t old = (head + fs->g.j_blocks - 1 - JFS_LCONT_MAX - 10) % fs->g.j_blocks;
		media_read(m.media, ((uint64_t)fs->g.j_start + lb) * 4096, b, sizeof(b));
		ck_assert_uint_eq(jfs_model_log_contents(fs, lb, jfs_get32(b + 8), c, 2), 1);
		media_read(m.media, ((uint64_t)fs->g.j_start + old) * 4096, b, sizeof(b));
		if (old && jfs_get32(b) == JFS_JMAGIC)
			ck_assert_uint_eq(jfs_model_log_contents(fs, old, jfs_get32(b + 8), c, 2), 0);
	}
	free(t);
	mach_fini(&m);
}
END_TEST

/* What a real transaction logged, found by its tid
 * (jfs_model_txn_logged, O6): each logged tid gives its own entry, a tid
 * never logged none.  The model's tids follow one another, which the
 * lookup uses (the entry at tid minus the first's); with an entry taken
 * out, the tids after the gap must still find theirs (the lookup checks
 * the tid there and falls back to a binary search). */
START_TEST(txn_logged_by_tid)
{
	struct mach m;
	struct jfs_fs *fs;
	const struct jfs_logged *b;
	size_t n, k;
	uint32_t gone;
	char t[4096] = "open fd=3 path=/f flags=O_CREAT|O_WRONLY|O_APPEND\n";

	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "background", "off");
	for (int i = 0; i < 12; i++) {
		char l[128];
		snprintf(l, sizeof(l), "write fd=3 len=100 data=fill:%d\nmkdir path=/d%d\n"
			 "fsync fd=3\n", i + 1, i);
		strcat(t, l);
	}
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	fs = m.fs;
	ck_assert_uint_ge(fs->ntidx, 12);
	ck_assert_uint_eq(fs->ndidx, 0);
	for (size_t i = 0; i < fs->ntidx; i++) {
		ck_assert_uint_eq(fs->tidx[i].tid, fs->tidx[0].tid + i);	/* consecutive */
		ck_assert_uint_eq(jfs_model_txn_logged(fs, fs->tidx[i].tid, 0, &b, &n), 1);
		ck_assert_ptr_eq(b, fs->tlog + fs->tidx[i].first);
		ck_assert_uint_eq(n, fs->tidx[i].n);
		ck_assert_uint_gt(n, 0);
	}
	ck_assert_uint_eq(jfs_model_txn_logged(fs, fs->tidx[fs->ntidx - 1].tid + 1, 0, &b, &n), 0);
	ck_assert_ptr_null(b);
	/* a gap: the tids after it are no longer at tid minus the first's */
	k = fs->ntidx / 2;
	gone = fs->tidx[k].tid;
	memmove(fs->tidx + k, fs->tidx + k + 1, (fs->ntidx - k - 1) * sizeof(*fs->tidx));
	fs->ntidx--;
	ck_assert_uint_eq(jfs_model_txn_logged(fs, gone, 0, &b, &n), 0);
	for (size_t i = 0; i < fs->ntidx; i++) {
		ck_assert_uint_eq(jfs_model_txn_logged(fs, fs->tidx[i].tid, 0, &b, &n), 1);
		ck_assert_ptr_eq(b, fs->tlog + fs->tidx[i].first);
		ck_assert_uint_eq(n, fs->tidx[i].n);
	}
	mach_fini(&m);
}
END_TEST

/* Run TRACE (nodelalloc, no block queue: it must end with sync), write
 * every inode-table block home as the model holds it, and read the first
 * one into B (4 KiB), for a test to corrupt and write back (it_put). */
static uint64_t it_off(const struct mach *m)
{
	const struct jfs_fs *fs = m->fs;

	return (uint64_t)fs->g.it_start * 4096;
}

static void it_get(struct mach *m, const char *trace, uint8_t *b)
{
	mach_init(m);
	m->use_bq = false;
	mach_set(m, "fs-opts", "nodelalloc");
	ck_assert_int_eq(mach_run(m, "t", trace), 0);
	jfs_checkpoint(m->fs);
	media_read(m->media, it_off(m), b, 4096);
}

/* Write B back as the first inode-table block, and recover the media. */
static void it_put(struct mach *m, const uint8_t *b)
{
	media_write(m->media, it_off(m), b, 4096);
	view_base(m);
}

/* fsck finds a block referenced twice and a bitmap disagreement. */
START_TEST(fsck_finds_problems)
{
	struct mach m;
	uint8_t b[4096];
	uint32_t ia = 2, ib = 3;

	it_get(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
		   "write fd=3 len=4096 data=fill:1\n"
		   "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
		   "write fd=4 len=4096 data=fill:2\n"
		   "sync\n", b);
	/* make /b's first block pointer equal /a's */
	jfs_put32(b + ib * JFS_INODE_SIZE + JFS_I_BLOCK,
		  jfs_get32(b + ia * JFS_INODE_SIZE + JFS_I_BLOCK));
	it_put(&m, b);
	ck_assert_uint_ge(jfs_view_fsck(m.view, NULL, NULL), 2);	/* twice + leak */
	mach_fini(&m);
}
END_TEST

/* A size recovery left as garbage (2^60 on a file, on the root
 * directory) is walked only as far as the block map reaches: fsck says
 * so, and lookups, the walk, reading and fsck return at once (they walked
 * 2^48 blocks: a hang found by tests/fuzz_sim.c). */
struct walk_count {
	unsigned n;
	uint64_t size;
};

static void walk_count(void *ctx, const char *path, unsigned type, uint64_t size)
{
	struct walk_count *w = ctx;

	(void)path;
	(void)type;
	w->n++;
	w->size = size;
}

static void problem_has(void *ctx, const char *problem)
{
	if (strstr(problem, "is beyond the largest its block map can address"))
		(*(unsigned *)ctx)++;
}

START_TEST(garbage_size_walked_to_the_map)
{
	struct mach m;
	uint8_t b[4096];
	const uint64_t P = 1024, most = (JFS_NDIRECT + P + P * P) * 4096;
	struct walk_count w = { 0 };
	unsigned beyond = 0;
	char out[64];
	uint64_t sz = 0;
	unsigned type = 0;

	it_get(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
		   "write fd=3 len=4096 data=fill:1\n"
		   "sync\n", b);
	jfs_put64(b + 2 * JFS_INODE_SIZE + JFS_I_SIZE, 1ull << 60);		/* /a */
	it_put(&m, b);
	jfs_view_walk(m.view, walk_count, &w);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_uint_eq(w.size, most);
	ck_assert_int_eq(jfs_view_stat(m.view, "/a", &type, &sz), 0);
	ck_assert_uint_eq(sz, most);
	ck_assert_int_gt(jfs_view_lookup(m.view, "/a", out, sizeof(out)), 0);
	ck_assert_uint_ge(jfs_view_fsck(m.view, problem_has, &beyond), 1);
	ck_assert_uint_eq(beyond, 1);
	/* the root directory's size too: its entries are still found */
	jfs_put64(b + JFS_ROOT_INO * JFS_INODE_SIZE + JFS_I_SIZE, (1ull << 60) + 4096);
	it_put(&m, b);
	w.n = 0;
	jfs_view_walk(m.view, walk_count, &w);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_uint_eq(jfs_view_inode(m.view, "/a"), 2);
	beyond = 0;
	jfs_view_fsck(m.view, problem_has, &beyond);
	ck_assert_uint_eq(beyond, 2);
	mach_fini(&m);
}
END_TEST

/* The background groups at a point: a commit choice per subset of files
 * needing allocation, and one group per dirty allocated page. */
START_TEST(background_groups)
{
	struct mach m;
	const struct sim_crash_ops *c = jfs_model_ops.crash;

	mach_init(&m);
	m.use_bq = false;
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "write fd=3 len=10 data=fill:1\n"
				  "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
				  "write fd=4 len=10 data=fill:2\n"), 0);
	ck_assert_uint_eq(c->ngroups(m.fs), 1);
	ck_assert_uint_eq(c->nchoices(m.fs, 0), 1 + 4);	/* none + 4 subsets */
	mach_fini(&m);

	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "background", "off");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "write fd=3 len=10 data=fill:1\n"), 0);
	ck_assert_uint_eq(c->ngroups(m.fs), 0);
	mach_fini(&m);
}
END_TEST

/* The bytes choice C of page group G emits (one block). */
struct emitted {
	uint64_t off;
	uint8_t b[4096];
	unsigned n;
};

static void emit_one(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct emitted *e = ctx;
	ck_assert_uint_le(n, sizeof(e->b));
	e->off = off;
	memcpy(e->b, bytes, n);
	e->n++;
}

/* F15, M7: a dirty page's group offers every version since it became
 * dirty with a written block, oldest first, the current one last; a clean
 * page has no history; a delayed page (no block) has none either. */
START_TEST(page_history_versions)
{
	struct mach m;
	const struct sim_crash_ops *c = jfs_model_ops.crash;
	struct jfs_fs *fs;
	struct emitted e;
	uint32_t s;

	mach_init(&m);
	m.use_bq = false;
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "pwrite fd=3 off=0 len=4096 data=fill:0x11\n"
				  "fsync fd=3\n"
				  "pwrite fd=3 off=0 len=8 data=fill:0x22\n"
				  "pwrite fd=3 off=0 len=8 data=fill:0x22\n"	/* same bytes */
				  "pwrite fd=3 off=8 len=8 data=fill:0x33\n"
				  "pwrite fd=3 off=0 len=4 data=fill:0x44\n"
				  "pwrite fd=3 off=4096 len=10 data=fill:0x55\n"), 0);
	fs = m.fs;
	/* page 0: 3 versions; page 1 is delayed (no block): no group of its
	 * own, only the commit's */
	ck_assert_uint_eq(c->ngroups(fs), 2);
	ck_assert_uint_eq(fs->bg[0].kind, 1);
	ck_assert_uint_eq(c->nchoices(fs, 0), 1 + 3);
	s = fs->bg[0].page;
	ck_assert_uint_eq(fs->pages[s].nhist, 3);
	ck_assert_uint_eq(fs->pages[fs->ino[fs->pages[s].ino].pages[1]].nhist, 0);
	for (uint32_t k = 1; k <= 3; k++) {
		uint8_t want[4096];
		memset(want, 0x11, sizeof(want));
		memset(want, 0x22, 8);
		if (k >= 2)
			memset(want + 8, 0x33, 8);
		if (k >= 3)
			memset(want, 0x44, 4);
		memset(&e, 0, sizeof(e));
		c->apply(fs, 0, k, emit_one, &e);
		ck_assert_uint_eq(e.n, 1);
		ck_assert_uint_eq(e.off, fs->bg[0].off);
		ck_assert_msg(!memcmp(e.b, want, sizeof(want)), "version %u", k);
	}
	{
		char d[128];
		c->describe(fs, 0, 2, d, sizeof(d));
		ck_assert_str_eq(d, "background write-back of inode 2 page 0: version 2 of 3");
	}
	mach_fini(&m);

	/* cleaned by fsync: no history is left; many dirty-clean rounds over
	 * a few pages compact the arena without losing live records */
	mach_init(&m);
	m.use_bq = false;
	{
		char *t = malloc(1 << 16);
		size_t n = 0;
		n += (size_t)snprintf(t + n, 128, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				      "pwrite fd=3 off=0 len=16384 data=fill:0x01\nfsync fd=3\n");
		for (int r = 0; r < 200; r++) {
			n += (size_t)snprintf(t + n, 128, "pwrite fd=3 off=%d len=4096 data=fill:0x%02x\n",
					      (r % 4) * 4096, (r + 2) & 0xff);
			if (r % 7 == 6)
				n += (size_t)snprintf(t + n, 64, "fsync fd=3\n");
		}
		n += (size_t)snprintf(t + n, 128, "pwrite fd=3 off=4096 len=1 data=fill:0xee\n");
		ck_assert_int_eq(mach_run(&m, "t", t), 0);
		free(t);
	}
	fs = m.fs;
	ck_assert_uint_gt(fs->hist.compactions, 0);
	/* 200 = 28 * 7 + 4: rounds 196-199 after the last fsync wrote pages
	 * 0-3 once each (0x c6..c9), then page 1 got one byte more */
	{
		uint32_t s1 = fs->ino[2].pages[1];
		uint32_t live = 0;
		ck_assert_uint_eq(fs->pages[s1].nhist, 2);
		ck_assert_uint_eq(jfs_hist_version(fs, s1, 1)[0], 0xc7);
		ck_assert_uint_eq(jfs_hist_version(fs, s1, 1)[1], 0xc7);
		ck_assert_uint_eq(jfs_hist_version(fs, s1, 2)[0], 0xee);
		ck_assert_uint_eq(jfs_hist_version(fs, s1, 2)[1], 0xc7);
		for (uint32_t i = 1; i < fs->npages; i++)
			live += fs->pages[i].nhist;
		ck_assert_uint_eq(live, fs->hist.live_r);
		ck_assert_uint_eq(live, 5);
	}
	ck_assert_int_eq(mach_run(&m, "t2", "fsync fd=3\n"), 0);
	ck_assert_uint_eq(fs->hist.live_r, 0);
	ck_assert_uint_eq(fs->hist.live_b, 0);
	ck_assert_uint_eq(c->ngroups(fs), 0);
	mach_fini(&m);
}
END_TEST

/* F15: on a device with 512-byte atomic units a dirty page's write-back
 * is one group per unit; a unit's choices are "not done" and the
 * versions that differ on it (version k only where change k+1 wrote),
 * each emitting that unit of the version.  On pmem the unit is 8 bytes. */
START_TEST(page_groups_per_unit)
{
	struct mach m;
	const struct sim_crash_ops *c = jfs_model_ops.crash;
	struct jfs_fs *fs;
	struct emitted e;
	char d[160];

	mach_init(&m);
	mach_set(&m, "device", "disk-wc");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "pwrite fd=3 off=0 len=4096 data=fill:0x11\n"
				  "fsync fd=3\n"
				  "pwrite fd=3 off=0 len=8 data=fill:0x22\n"
				  "pwrite fd=3 off=1020 len=8 data=fill:0x33\n"), 0);
	fs = m.fs;
	ck_assert_uint_eq(fs->bg_unit, 512);
	/* 8 unit groups (then the commit of the mtime change) */
	ck_assert_uint_ge(c->ngroups(fs), 8);
	for (unsigned g = 0; g < 8; g++) {
		ck_assert_uint_eq(fs->bg[g].kind, JFS_BG_PAGE);
		ck_assert_uint_eq(fs->bg[g].uoff, g * 512);
		ck_assert_uint_eq(fs->bg[g].ulen, 512);
		ck_assert_uint_eq(fs->bg[g].off % 4096, g * 512);
	}
	/* change 2 wrote bytes 1020-1027 (units 1 and 2), so versions 1 and
	 * 2 agree on every other unit: those offer version 2 only, units 1
	 * and 2 versions 1 and 2 */
	ck_assert_uint_eq(c->nchoices(fs, 0), 2);
	ck_assert_uint_eq(c->nchoices(fs, 1), 3);
	ck_assert_uint_eq(c->nchoices(fs, 2), 3);
	ck_assert_uint_eq(c->nchoices(fs, 3), 2);
	memset(&e, 0, sizeof(e));
	c->apply(fs, 1, 1, emit_one, &e);		/* unit 1, version 1 */
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(e.off, fs->bg[1].off);
	ck_assert_uint_eq(e.b[508], 0x11);
	ck_assert_uint_eq(e.b[511], 0x11);
	memset(&e, 0, sizeof(e));
	c->apply(fs, 1, 2, emit_one, &e);		/* unit 1, version 2 */
	ck_assert_uint_eq(e.b[507], 0x11);
	ck_assert_uint_eq(e.b[508], 0x33);
	ck_assert_uint_eq(e.b[511], 0x33);
	memset(&e, 0, sizeof(e));
	c->apply(fs, 2, 2, emit_one, &e);		/* unit 2, version 2 */
	ck_assert_uint_eq(e.b[0], 0x33);
	ck_assert_uint_eq(e.b[3], 0x33);
	ck_assert_uint_eq(e.b[4], 0x11);
	memset(&e, 0, sizeof(e));
	c->apply(fs, 0, 1, emit_one, &e);		/* unit 0: version 2 */
	ck_assert_uint_eq(e.b[0], 0x22);
	c->describe(fs, 1, 1, d, sizeof(d));
	ck_assert_str_eq(d, "background write-back of inode 2 page 0 bytes 512-1023: "
			    "version 1 of 2");
	mach_fini(&m);

	mach_init(&m);
	mach_set(&m, "device", "pmem");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "pwrite fd=3 off=0 len=4096 data=fill:0x11\n"
				  "fsync fd=3\n"
				  "pwrite fd=3 off=0 len=8 data=fill:0x22\n"), 0);
	fs = m.fs;
	ck_assert_uint_eq(fs->bg_unit, 8);
	ck_assert_uint_ge(c->ngroups(fs), 512);
	ck_assert_uint_eq(fs->bg[511].uoff, 4088);
	mach_fini(&m);
}
END_TEST

/* Counts what a choice emits into [lo, hi) of the device. */
struct emit_range {
	uint64_t lo, hi;
	unsigned n;
};

static void emit_count(void *ctx, uint64_t off, const void *bytes, size_t n)
{
	struct emit_range *r = ctx;
	(void)bytes;
	if (off < r->hi && off + n > r->lo)
		r->n++;
}

/* F18: under data=writeback the commit's choices emit no file data; each
 * page that needs allocation is a group of its own (not durable /
 * durable) at a block of its own, the same in every write-back subset:
 * the commit choice that writes back the page's file points the page at
 * that block. */
START_TEST(background_writeback_page_groups)
{
	struct mach m;
	const struct sim_crash_ops *c = jfs_model_ops.crash;
	struct jfs_fs *fs;
	uint64_t off[3];
	char d[160];

	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "fs-opts", "data=writeback");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
				  "write fd=3 len=8192 data=fill:1\n"
				  "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
				  "write fd=4 len=10 data=fill:2\n"), 0);
	fs = m.fs;
	ck_assert_uint_eq(c->ngroups(fs), 3 + 1);
	for (unsigned g = 0; g < 3; g++) {
		struct emitted e;
		uint32_t blk;
		ck_assert_uint_eq(fs->bg[g].kind, JFS_BG_DELAYED);
		ck_assert_uint_eq(c->nchoices(fs, g), 2);
		off[g] = fs->bg[g].off;
		blk = (uint32_t)(off[g] / fs->g.bsize);
		ck_assert_uint_ge(blk, fs->g.data_start);
		ck_assert_uint_eq(fs->busy[blk], 0);
		for (unsigned h = 0; h < g; h++)
			ck_assert_uint_ne(off[h], off[g]);
		memset(&e, 0, sizeof(e));
		c->apply(fs, g, 1, emit_one, &e);
		ck_assert_uint_eq(e.n, 1);
		ck_assert_uint_eq(e.off, off[g]);
		ck_assert_uint_eq(e.b[0], g < 2 ? 1 : 2);
	}
	c->describe(fs, 2, 1, d, sizeof(d));
	ck_assert_msg(strstr(d, "inode 3 page 0 to block") && strstr(d, ": version 1 of 1"), "%s", d);
	/* not done, then the subsets {}, {a}, {b}, {a, b}: none emits a byte
	 * of the three data blocks */
	ck_assert_uint_eq(fs->bg[3].kind, JFS_BG_COMMIT);
	ck_assert_uint_eq(c->nchoices(fs, 3), 1 + 4);
	for (uint32_t ch = 1; ch < 5; ch++)
		for (unsigned g = 0; g < 3; g++) {
			struct emit_range r = { off[g], off[g] + fs->g.bsize, 0 };
			c->apply(fs, 3, ch, emit_count, &r);
			ck_assert_uint_eq(r.n, 0);
		}
	mach_fini(&m);
}
END_TEST

/* F3, F4, F10, F12, F18: a commit waits for the write-back in flight of
 * the inodes on its ordered list (data=ordered), for none under
 * data=writeback; sync waits for all of it. */
static const char commit_wait_trace[] =
	"config device=disk-wc\n"
	"open fd=3 path=/s flags=O_CREAT|O_WRONLY\n"
	"pwrite fd=3 off=0 len=4096 data=fill:0x11\n"
	"fsync fd=3\n"
	"open fd=4 path=/t flags=O_CREAT|O_WRONLY\n"
	"open fd=5 path=/c flags=O_CREAT|O_WRONLY\n"
	"fsync fd=5\n"
	/* page 0 in place, page 1 delayed */
	"pwrite fd=3 off=0 len=4096 data=fill:0x22\n"
	"pwrite fd=3 off=4096 len=10 data=fill:0x33\n"
	/* F12: /s has a delayed block, so the rename starts its
	 * write-back (both pages) without waiting */
	"rename from=/s to=/t\n";

START_TEST(commit_waits_for_its_own_inodes)
{
	struct mach m;
	struct jfs_fs *fs;
	uint32_t s_ino;

	/* data=ordered: page 1's allocation puts /s on the running
	 * transaction's ordered list; the commit that /c's fsync makes
	 * waits for both of /s's bios */
	mach_init(&m);
	ck_assert_int_eq(mach_run(&m, "t", commit_wait_trace), 0);
	fs = m.fs;
	s_ino = fs->fd[3].ino;
	ck_assert_uint_eq(fs->wb_ios.n, 2);
	ck_assert_uint_eq(fs->wb_ino.v[0], s_ino);
	ck_assert_uint_eq(fs->wb_ino.v[1], s_ino);
	ck_assert_uint_ne(fs->ino[s_ino].flags & JFS_IN_ORDERED, 0);
	ck_assert_int_eq(mach_run(&m, "t2",
				  "pwrite fd=5 off=0 len=10 data=fill:0x66\n"
				  "fsync fd=5\n"), 0);
	ck_assert_uint_eq(fs->last_committed, fs->run->tid - 1);
	ck_assert_uint_eq(fs->wb_ios.n, 0);
	ck_assert_uint_eq(fs->ino[s_ino].flags & (JFS_IN_ORDERED | JFS_IN_COMMIT_ORDERED), 0);
	mach_fini(&m);

	/* data=writeback: no ordered list; /c's fsync waits for its own
	 * write-back and commits, /s's bios stay in flight */
	mach_init(&m);
	mach_set(&m, "fs-opts", "data=writeback");
	ck_assert_int_eq(mach_run(&m, "t", commit_wait_trace), 0);
	fs = m.fs;
	s_ino = fs->fd[3].ino;
	ck_assert_uint_eq(fs->wb_ios.n, 2);
	ck_assert_uint_eq(fs->ino[s_ino].flags & JFS_IN_ORDERED, 0);
	ck_assert_int_eq(mach_run(&m, "t2",
				  "pwrite fd=5 off=0 len=10 data=fill:0x66\n"
				  "fsync fd=5\n"), 0);
	ck_assert_uint_eq(fs->last_committed, fs->run->tid - 1);
	ck_assert_uint_eq(fs->wb_ios.n, 2);
	ck_assert_uint_eq(fs->wb_ino.v[0], s_ino);
	ck_assert_uint_eq(fs->wb_ino.v[1], s_ino);
	/* sync waits for everything */
	ck_assert_int_eq(mach_run(&m, "t3", "sync\n"), 0);
	ck_assert_uint_eq(fs->wb_ios.n, 0);
	mach_fini(&m);
}
END_TEST

/* ---- DAX (F22-F27) ---- */

static unsigned steps_dax_wb, steps_dax_write;

static void count_dax_steps(struct mach *m, const char *what)
{
	(void)m;
	if (!strncmp(what, "dax write-back", 14))
		steps_dax_wb++;
	if (!strncmp(what, "dax write:", 10))
		steps_dax_write++;
}

static void dax_mach(struct mach *m, const char *flush)
{
	char opts[64];

	mach_init(m);
	mach_set(m, "device", "pmem");
	mach_set(m, "pmem.size", "16M");	/* hammer: 262144 lines */
	snprintf(opts, sizeof(opts), "dax,dax_flush=%s", flush);
	mach_set(m, "fs-opts", opts);
	m->on_step = count_dax_steps;
	steps_dax_wb = steps_dax_write = 0;
}

/* The durable bytes [off, off+n) of file block LBLK of the file open as FD. */
static void dax_durable(struct mach *m, uint32_t fd, uint64_t lblk, uint32_t off, void *buf,
			size_t n)
{
	struct jfs_fs *fs = m->fs;
	uint32_t b;

	ck_assert(fs->fd[fd].open);
	ck_assert_int_eq(jfs_bmap(fs, fs->fd[fd].ino, lblk, false, false, &b), 0);
	ck_assert_uint_ne(b, 0);
	ck_assert_uint_eq(b & JFS_UNWRITTEN, 0);
	media_read(m->media, (uint64_t)b * fs->g.bsize + off, buf, n);
}

/* F23: write() zeroes each new block durably, copies with non-temporal
 * stores and fences once: durable when it returns, no fsync, no tag. */
/* M9, K7: the background gap.  A point is reported (crash ops
 * `unexplored`) once, since a boundary whose commit group had a choice, a
 * page that boundary's commit could see changed (or a DAX write reached an
 * older block); a commit that every history makes closes the window. */
static bool gap(struct mach *m, const char *ev)
{
	ck_assert_int_eq(mach_run(m, "t", ev), 0);
	return jfs_model_ops.crash->unexplored(m->fs);
}

START_TEST(background_gap_window)
{
	struct mach m;
	struct jfs_fs *fs;

	/* tests/unexplored/f15-odirect-after-background-commit.trace */
	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "fs-opts", "nodelalloc");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"));
	fs = m.fs;
	ck_assert_uint_eq(fs->gap_start, 0);		/* the boundary before it was empty */
	ck_assert(!gap(&m, "pwrite fd=3 off=0 len=4096 data=fill:0x11\n"));
	ck_assert_uint_eq(fs->gap_start, 2);		/* the create may commit before it */
	ck_assert(!gap(&m, "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"));
	ck_assert(!gap(&m, "pwrite fd=4 off=0 len=4096 data=fill:0x55\n"));	/* a new block */
	ck_assert(!gap(&m, "open fd=5 path=/a flags=O_WRONLY|O_DIRECT\n"));
	ck_assert(gap(&m, "pwrite fd=5 off=0 len=4096 data=fill:0x22\n"));	/* in place */
	ck_assert(gap(&m, "close fd=5\n"));
	ck_assert(!gap(&m, "sync\n"));			/* every history commits */
	ck_assert_uint_eq(fs->gap_start, 0);
	mach_fini(&m);

	/* fsync: closes the window only when its inode is the only one
	 * changed since it opened */
	mach_init(&m);
	m.use_bq = false;
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
			   "pwrite fd=3 off=0 len=4096 data=fill:0x11\n"
			   "fsync fd=3\n"));
	fs = m.fs;
	ck_assert_uint_eq(fs->gap_start, 0);		/* only /a changed since the create */
	ck_assert(!gap(&m, "pwrite fd=3 off=0 len=8 data=fill:0x33\n"));	/* no window yet */
	ck_assert(!gap(&m, "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"));
	ck_assert(!gap(&m, "fsync fd=3\n"));
	ck_assert_uint_ne(fs->gap_start, 0);		/* a history that committed /a's
							 * write only flushes: /b stays
							 * uncommitted there */
	ck_assert(gap(&m, "pwrite fd=3 off=0 len=8 data=fill:0x44\n"));
	mach_fini(&m);

	/* delalloc: a page dirty at the boundary may have been written back
	 * and committed there (F15's subsets); a change after it is a gap */
	mach_init(&m);
	m.use_bq = false;
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
			   "pwrite fd=3 off=0 len=100 data=fill:0x11\n"));
	ck_assert(gap(&m, "pwrite fd=3 off=100 len=100 data=fill:0x12\n"));
	mach_fini(&m);

	/* nobarrier on a write-back cache: a completed commit's writes may
	 * still be lost, so any earlier commit is a history of its own --
	 * reported from the first boundary with a choice, no write needed */
	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "fs-opts", "nobarrier");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"));
	ck_assert(gap(&m, "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"));
	ck_assert(gap(&m, "sync\n"));			/* no commit every history makes */
	mach_fini(&m);
	mach_init(&m);				/* the same on a write-through disk */
	m.use_bq = false;
	mach_set(&m, "fs-opts", "nobarrier");
	mach_set(&m, "device", "disk-wt");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
			   "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"));
	mach_fini(&m);
	mach_init(&m);				/* a fault that drops flushes */
	m.use_bq = false;
	mach_set(&m, "fault", "ignore-flush");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"));
	ck_assert(gap(&m, "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"));
	mach_fini(&m);

	/* --background off: nothing to explore, nothing kept */
	mach_init(&m);
	m.use_bq = false;
	mach_set(&m, "background", "off");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
			   "pwrite fd=3 off=0 len=100 data=fill:0x11\n"
			   "pwrite fd=3 off=0 len=100 data=fill:0x12\n"));
	ck_assert_ptr_null(((struct jfs_fs *)m.fs)->ev_alloc);
	mach_fini(&m);

	/* DAX: a write into a block allocated in the same event is not seen
	 * by any earlier commit; into an older one it is */
	dax_mach(&m, "tracked");
	ck_assert(!gap(&m, "open fd=3 path=/a flags=O_CREAT|O_RDWR\n"
			   "pwrite fd=3 off=0 len=8 data=fill:0x11\n"));
	ck_assert(gap(&m, "pwrite fd=3 off=8 len=8 data=fill:0x12\n"));
	mach_fini(&m);
}
END_TEST

/* F28: a file dirty for jfs.dirty_expire cycles is written back at the
 * next event, after the timer's commit if that fell due first; its age
 * starts again at its next dirtying; a DAX file under dax_flush=none
 * leaves the flusher's list though nothing is written (no endless pass). */
START_TEST(flusher_writes_back_expired)
{
	static const struct {
		const char *think1, *think2, *think3;
		uint64_t passes, commits;
		uint32_t ndirty;	/* /a's dirty pages at the end */
	} c[] = {
		/* 20 s: the timer only (5 s), page 0 still delayed */
		{ "60000000000", "0", "0", 0, 1, 2 },
		/* 31 s: timer at 5 s, flusher at 30 s (page 0), its
		 * transaction not due; then page 1 dirtied */
		{ "93000000000", "0", "0", 1, 1, 1 },
		/* 100 s: timer, flusher, timer again */
		{ "300000000000", "0", "0", 1, 2, 1 },
		/* then 25 s: page 1's age starts at its write, not expired
		 * (the flusher's transaction commits); 6 s more: it is */
		{ "93000000000", "75000000000", "0", 1, 2, 1 },
		{ "93000000000", "75000000000", "18000000000", 2, 3, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct mach m;
		char t[512];
		struct jfs_fs *fs;
		struct jfs_inode *in;

		mach_init(&m);
		snprintf(t, sizeof(t),
			 "open fd=3 path=/a flags=O_CREAT|O_WRONLY\n"
			 "write fd=3 len=4096 data=fill:0xab\n"
			 "think cycles=%s\n"
			 "open fd=4 path=/b flags=O_CREAT|O_WRONLY\n"
			 "pwrite fd=3 off=4096 len=4096 data=fill:0xcd\n"
			 "think cycles=%s\n"
			 "open fd=5 path=/c flags=O_CREAT|O_WRONLY\n"
			 "think cycles=%s\n"
			 "close fd=5\n", c[i].think1, c[i].think2, c[i].think3);
		ck_assert_int_eq(mach_run(&m, "t", t), 0);
		fs = m.fs;
		in = &fs->ino[fs->fd[3].ino];
		ck_assert_msg(fs->flusher_writebacks == c[i].passes && fs->commits ==
			      c[i].commits && in->wb_dirty == (c[i].ndirty > 0) && in->ndirty ==
			      c[i].ndirty, "case %zu: %" PRIu64 " passes, %" PRIu64 " commits, "
			      "wb_dirty %d, %u dirty pages", i, fs->flusher_writebacks,
			      fs->commits, in->wb_dirty, in->ndirty);
		mach_fini(&m);
	}
	for (int k = 0; k < 2; k++) {
		struct mach m;
		struct jfs_fs *fs;
		struct jfs_inode *in;

		dax_mach(&m, k ? "tracked" : "none");
		ck_assert_int_eq(mach_run(&m, "t",
					  "open fd=3 path=/a flags=O_CREAT|O_RDWR\n"
					  "ftruncate fd=3 len=4096\n"
					  "mmap fd=3 addr=0x10000000 len=4096 off=0 flags=MAP_SHARED\n"
					  "store addr=0x10000000 len=8 val=1\n"
					  "think cycles=300000000000\n"
					  "close fd=3\n"), 0);
		fs = m.fs;
		in = &fs->ino[fs->fd[3].ino];
		ck_assert_uint_eq(fs->flusher_writebacks, 1);
		ck_assert(!in->wb_dirty);
		ck_assert_uint_eq(in->dax_ntag, k ? 0 : 1);
		ck_assert_uint_eq(fs->dax.writebacks, k);
		mach_fini(&m);
	}
}
END_TEST

START_TEST(dax_write_durable_at_return)
{
	struct mach m;
	struct jfs_fs *fs;
	uint8_t b[8];

	dax_mach(&m, "tracked");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_RDWR|O_DIRECT\n"
				  "pwrite fd=3 off=4092 len=8 data=hex:0102030405060708\n"), 0);
	fs = m.fs;
	ck_assert_uint_eq(fs->dax.blocks_zeroed, 2);
	ck_assert_uint_eq(fs->dax.fences, 3);		/* two zeroings, one copy */
	ck_assert_uint_eq(fs->dax.write_bytes, 8);
	ck_assert_uint_eq(fs->dax.pages_tagged, 0);
	ck_assert_uint_eq(steps_dax_write, 2);		/* copied; fenced */
	ck_assert_uint_eq(fs->ino[fs->fd[3].ino].size, 4100);
	dax_durable(&m, 3, 0, 4092, b, 4);
	ck_assert_mem_eq(b, "\x01\x02\x03\x04", 4);
	dax_durable(&m, 3, 1, 0, b, 4);
	ck_assert_mem_eq(b, "\x05\x06\x07\x08", 4);
	ck_assert_uint_eq(fs->bios, 0);		/* metadata waits for a commit */
	mach_fini(&m);
}
END_TEST

/* F24, F26: faults, tags and write-back per dax_flush mode; a write-back
 * is two crash points whatever its number of lines (F27). */
static const char dax_wb_trace[] =
	"open fd=3 path=/a flags=O_CREAT|O_RDWR\n"
	"ftruncate fd=3 len=8192\n"
	"mmap fd=3 addr=0x10000000 len=8192 off=0 flags=MAP_SHARED\n"
	"store addr=0x10000000 len=8 val=0x1111111111111111\n"	/* fault: page 0 */
	"store addr=0x10000008 len=8 val=0x2222222222222222\n"	/* no fault */
	"store addr=0x10000ffc len=8 val=0x3333333333333333\n"	/* spans: fault page 1 */
	"fsync fd=3\n"
	"store addr=0x10000040 len=8 val=0x4444444444444444\n"	/* tracked: faults again */
	"fsync fd=3\n";

START_TEST(dax_writeback_per_mode)
{
	static const struct {
		const char *flush;
		uint64_t faults, wbs, pages_wb, lines, fences;
		unsigned wb_steps;
		bool durable;
	} mode[] = {
		{ "tracked", 3, 2, 3, 3 * 64, 2 + 2, 4, true },
		{ "hammer", 2, 2, 0, 2 * 262144, 2 + 2, 4, true },
		{ "none", 2, 0, 0, 0, 2, 0, false },
	};

	for (size_t i = 0; i < sizeof(mode) / sizeof(mode[0]); i++) {
		struct mach m;
		struct jfs_fs *fs;
		uint8_t b[16];

		dax_mach(&m, mode[i].flush);
		ck_assert_int_eq(mach_run(&m, "t", dax_wb_trace), 0);
		fs = m.fs;
		ck_assert_msg(fs->dax.faults == mode[i].faults, "%s: %" PRIu64 " faults",
			      mode[i].flush, fs->dax.faults);
		ck_assert_uint_eq(fs->dax.pages_tagged, mode[i].faults);
		ck_assert_uint_eq(fs->dax.blocks_zeroed, 2);
		ck_assert_uint_eq(fs->dax.writebacks, mode[i].wbs);
		ck_assert_uint_eq(fs->dax.pages_written_back, mode[i].pages_wb);
		ck_assert_uint_eq(fs->dax.lines_written_back, mode[i].lines);
		ck_assert_uint_eq(fs->dax.fences, mode[i].fences);
		ck_assert_uint_eq(steps_dax_wb, mode[i].wb_steps);
		ck_assert_uint_eq(fs->ino[fs->fd[3].ino].dax_ntag,
				  !strcmp(mode[i].flush, "tracked") ? 0 : 2);
		/* after the fsyncs: the stores are durable iff written back */
		dax_durable(&m, 3, 0, 0, b, 16);
		ck_assert_int_eq(!memcmp(b, "\x11\x11\x11\x11\x11\x11\x11\x11"
					 "\x22\x22\x22\x22\x22\x22\x22\x22", 16), mode[i].durable);
		dax_durable(&m, 3, 0, 0x40, b, 8);
		ck_assert_int_eq(!memcmp(b, "\x44\x44\x44\x44\x44\x44\x44\x44", 8),
				 mode[i].durable);
		dax_durable(&m, 3, 1, 0, b, 4);		/* the spanning store's tail */
		ck_assert_int_eq(!memcmp(b, "\x33\x33\x33\x33", 4), mode[i].durable);
		ck_assert_uint_gt(fs->dax.writeback_cycles + !mode[i].wbs, 0);
		mach_fini(&m);
	}
}
END_TEST

/* F25: a fault reusing a freed block whose content is 0xee zeroes it
 * durably before the allocation commits -- here within the same event,
 * the commit of a MAP_SYNC fault (F24). */
static uint32_t stale_blk;
static unsigned zero_checks, commit_checks;

static void check_zeroed(struct mach *m, const char *what)
{
	struct jfs_fs *fs = m->fs;
	uint8_t b[4096], z[4096] = { 0 };
	bool zeroing = !strncmp(what, "dax: zeroing of block", 21);
	bool commit = !strncmp(what, "commit block", 12);
	uint32_t blk;

	if (!fs || !fs->fd[4].open || (!zeroing && !commit))
		return;
	if (jfs_bmap(fs, fs->fd[4].ino, 0, false, false, &blk) || !blk)
		return;
	ck_assert_uint_eq(blk, stale_blk);
	media_read(m->media, (uint64_t)blk * 4096, b, sizeof(b));
	ck_assert_msg(!memcmp(b, z, sizeof(b)), "%s: block %u not durably zero", what, blk);
	zero_checks += zeroing;
	commit_checks += commit;
}

START_TEST(dax_zeroed_before_allocation_commits)
{
	struct mach m;
	struct jfs_fs *fs;
	uint8_t b[4096];

	dax_mach(&m, "tracked");
	mach_set(&m, "jfs.blocks", "96");
	mach_set(&m, "jfs.journal_blocks", "64");
	mach_set(&m, "jfs.inodes", "8");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/old flags=O_CREAT|O_RDWR\n"
				  "pwrite fd=3 off=0 len=106496 data=fill:0xee\n"), 0);
	fs = m.fs;
	ck_assert_int_eq(jfs_bmap(fs, fs->fd[3].ino, 0, false, false, &stale_blk), 0);
	media_read(m.media, (uint64_t)stale_blk * 4096, b, sizeof(b));
	ck_assert_uint_eq(b[0], 0xee);
	ck_assert_uint_eq(b[4095], 0xee);
	m.on_step = check_zeroed;
	zero_checks = commit_checks = 0;
	ck_assert_int_eq(mach_run(&m, "t",
				  "close fd=3\n"
				  "unlink path=/old\n"
				  "open fd=4 path=/new flags=O_CREAT|O_RDWR\n"
				  "ftruncate fd=4 len=4096\n"
				  "fsync fd=4\n"
				  "mmap fd=4 addr=0x10000000 len=4096 off=0 flags=MAP_SHARED|MAP_SYNC\n"
				  "store addr=0x10000000 len=8 val=0x1111111111111111\n"), 0);
	ck_assert_uint_eq(zero_checks, 1);
	ck_assert_uint_eq(commit_checks, 1);		/* the sync fault's commit */
	ck_assert_uint_eq(fs->dax.sync_faults, 1);
	ck_assert_uint_eq(fs->last_committed, fs->run->tid - 1);
	mach_fini(&m);
}
END_TEST

/* F24: what CPU events at mapped addresses do, and what is refused. */
START_TEST(dax_cpu_events)
{
	struct mach m;
	struct jfs_fs *fs;
	const char *setup =
		"open fd=3 path=/a flags=O_CREAT|O_RDWR\n"
		"ftruncate fd=3 len=4096\n"
		"mmap fd=3 addr=0x10000000 len=8192 off=0 flags=MAP_SHARED\n";
	char t[1024];

	dax_mach(&m, "tracked");
	snprintf(t, sizeof(t), "%s%s", setup,
		 "load addr=0x10000000 len=8\n"		/* a hole: the zero page */
		 "clwb addr=0x10000000\n"
		 "sfence\n");
	ck_assert_int_eq(mach_run(&m, "t", t), 0);
	fs = m.fs;
	ck_assert_uint_eq(fs->dax.faults, 0);
	ck_assert_uint_eq(fs->dax.blocks_zeroed, 0);
	mach_fini(&m);

	dax_mach(&m, "tracked");
	snprintf(t, sizeof(t), "%s%s", setup, "store addr=0x10000ffc len=8 val=1\n");
	ck_assert_int_eq(mach_run(&m, "t", t), -1);
	ck_assert_str_eq(m.err.msg, "store to 0x10000ffc is beyond the end of the mapped file "
			 "(SIGBUS) (line 4)");
	mach_fini(&m);

	dax_mach(&m, "tracked");
	snprintf(t, sizeof(t), "%s%s", setup, "clwb addr=0x20000000\n");
	ck_assert_int_eq(mach_run(&m, "t", t), -1);
	ck_assert_str_eq(m.err.msg, "address 0x20000000 is not in any live mmap range (line 4)");
	mach_fini(&m);

	/* MAP_PRIVATE stores never reach the file: not a shared mapping */
	dax_mach(&m, "tracked");
	ck_assert_int_eq(mach_run(&m, "t",
				  "open fd=3 path=/a flags=O_CREAT|O_RDWR\n"
				  "ftruncate fd=3 len=4096\n"
				  "mmap fd=3 addr=0x10000000 len=4096 off=0 flags=MAP_PRIVATE\n"
				  "store addr=0x10000000 len=8 val=1\n"), -1);
	ck_assert_ptr_nonnull(strstr(m.err.msg, "is not inside one live shared mmap range"));
	mach_fini(&m);
}
END_TEST

/* ---- litmus traces: tests/litmus/fs/NAME.trace vs NAME.expected ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char litmus_paths[MAX_PATHS][256];
static char litmus_mark[256];

/* "# observe: file:/a,file:/b --fs-opts X --device Y --at all ..."; the
 * specs are all file: or all mem:ADDR:LEN (LEN <= 64). */
static void litmus_options(struct mach *m, char *line)
{
	char *save = NULL, *tok = strtok_r(line, " \t\n", &save);

	ck_assert_ptr_nonnull(tok);
	{
		char *s2 = NULL, *spec = strtok_r(tok, ",", &s2);
		for (; spec; spec = strtok_r(NULL, ",", &s2)) {
			if (!strncmp(spec, "mem:", 4)) {
				char *e;
				m->mem[m->nmem].off = strtoull(spec + 4, &e, 0);
				ck_assert_int_eq(*e, ':');
				m->mem[m->nmem++].len = strtoull(e + 1, NULL, 0);
				continue;
			}
			ck_assert_msg(!strncmp(spec, "file:", 5), "only file: and mem: specs here");
			snprintf(litmus_paths[m->npaths], 256, "%s", spec + 5);
			m->paths[m->npaths] = litmus_paths[m->npaths];
			m->npaths++;
		}
		ck_assert_msg(!m->nmem || !m->npaths, "file: and mem: specs do not mix here");
	}
	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		char *arg = strtok_r(NULL, " \t\n", &save);
		ck_assert_ptr_nonnull(arg);
		if (!strcmp(tok, "--at")) {
			m->at_all = !strcmp(arg, "all");
			if (!strncmp(arg, "mark:", 5)) {
				snprintf(litmus_mark, sizeof(litmus_mark), "%s", arg + 5);
				m->at_mark = litmus_mark;
			} else {
				ck_assert_msg(m->at_all || !strcmp(arg, "end"), "--at %s", arg);
			}
		} else if (!strcmp(tok, "--set")) {
			char *eq = strchr(arg, '=');
			*eq = '\0';
			mach_set(m, arg, eq + 1);
		} else {
			ck_assert_msg(!strncmp(tok, "--", 2), "bad option %s", tok);
			mach_set(m, tok + 2, arg);
		}
	}
}

static void run_litmus(const char *dir, const char *name)
{
	char path[512], *text, *exp, *obs, *e;
	struct mach m;
	size_t n = 0;
	char got[8192] = "";

	snprintf(path, sizeof(path), "%s/%s.trace", dir, name);
	text = slurp(path);
	ck_assert_ptr_nonnull(text);
	snprintf(path, sizeof(path), "%s/%s.expected", dir, name);
	exp = slurp(path);
	ck_assert_msg(exp != NULL, "%s has no .expected", name);
	obs = strstr(text, "# observe: ");
	ck_assert_ptr_nonnull(obs);
	e = strchr(obs, '\n');
	obs = strndup(obs + 11, (size_t)(e - obs - 11));
	mach_init(&m);
	m.collect = true;
	litmus_options(&m, obs);
	ck_assert_msg(mach_run(&m, name, text) == 0, "%s: %s", name, m.err.msg);
	qsort(m.lines, m.nlines, sizeof(*m.lines), cmp_str);
	for (size_t i = 0; i < m.nlines; i++) {
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s\n", m.lines[i]);
	}
	ck_assert_msg(!strcmp(got, exp), "litmus %s:\n--- expected\n%s--- got\n%s", name, exp, got);
	/* every state passes fsck, unless the trace says "# fsck: may fail"
	 * (a litmus that shows what breaks without a protection) */
	ck_assert_msg(m.fsck_bad == 0 || strstr(text, "\n# fsck: may fail"),
		      "litmus %s: %u states fail fsck; first: %s", name, m.fsck_bad,
		      m.fsck_first);
	ck_assert_msg(m.states > 0, "litmus %s: no crash point was observed", name);
	mach_fini(&m);
	free(obs);
	free(text);
	free(exp);
}

START_TEST(litmus_fs)
{
	const char *dir = "tests/litmus/fs";
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char name[256];
		if (l < 7 || strcmp(de->d_name + l - 6, ".trace"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 6), de->d_name);
		run_litmus(dir, name);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 3);
}
END_TEST

/* Every example file trace replays; at its end every crash state
 * recovers and passes fsck. */
START_TEST(examples_replay_and_fsck)
{
	const char *dir = "traces/examples";
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[512], *text;
		struct mach m;
		size_t l = strlen(de->d_name);

		if (l < 7 || strcmp(de->d_name + l - 6, ".trace"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = slurp(path);
		if (!strstr(text, "\nopen ")) {
			free(text);	/* not a file trace */
			continue;
		}
		mach_init(&m);
		m.collect = true;
		m.paths[m.npaths++] = "/";
		ck_assert_msg(mach_run(&m, de->d_name, text) == 0, "%s: %s", de->d_name, m.err.msg);
		ck_assert_msg(m.fsck_bad == 0, "%s: %u states fail fsck; first: %s", de->d_name,
			      m.fsck_bad, m.fsck_first);
		mach_fini(&m);
		free(text);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 1);
}
END_TEST

static Suite *fs_suite(void)
{
	Suite *s = suite_create("fs_model");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mkfs_recovers_clean);
	tcase_add_test(tc, namespace_events);
	tcase_add_test(tc, bad_input_is_an_error);
	tcase_add_test(tc, fsync_durable_every_state);
	tcase_add_test(tc, journal_wraps_and_checkpoints);
	tcase_add_test(tc, revoke_protects_reused_block);
	tcase_add_test(tc, bad_checksum_ends_the_log);
	tcase_add_test(tc, log_contents_compare);
	tcase_add_test(tc, log_contents_ring);
	tcase_add_test(tc, replay_memo_follows_changed_blocks);
	tcase_add_test(tc, scan_memo_follows_changed_transactions);
	tcase_add_test(tc, txn_logged_by_tid);
	tcase_add_test(tc, fsck_finds_problems);
	tcase_add_test(tc, garbage_size_walked_to_the_map);
	tcase_add_test(tc, background_groups);
	tcase_add_test(tc, page_history_versions);
	tcase_add_test(tc, page_groups_per_unit);
	tcase_add_test(tc, background_writeback_page_groups);
	tcase_add_test(tc, commit_waits_for_its_own_inodes);
	tcase_add_test(tc, dax_write_durable_at_return);
	tcase_add_test(tc, dax_writeback_per_mode);
	tcase_add_test(tc, dax_zeroed_before_allocation_commits);
	tcase_add_test(tc, dax_cpu_events);
	tcase_add_test(tc, background_gap_window);
	tcase_add_test(tc, flusher_writes_back_expired);
	tcase_add_test(tc, litmus_fs);
	tcase_add_test(tc, examples_replay_and_fsck);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
