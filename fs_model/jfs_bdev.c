/*
 * jfs_bdev.c — the filesystem's block device: blockq/ when the simulator
 * made one (env->blockq), else a built-in write-through device.
 *
 * F17: the built-in device is what a machine without a block-queue model
 * gets (the Check suite's unit tests use it too): a bio is durable in the
 * media when it is submitted and complete at once, so flushes and FUA do
 * nothing; each bio costs jfs.bio_cycles, each flush jfs.flush_cycles.
 * With blockq/, the bio's fate, its cost and every crash state of the
 * device are blockq/'s (rules B1..B9), and so is whether a write it sent
 * may still be lost (M8, bq_write_may_be_lost).
 */
#include "jfs_int.h"

#include "../blockq/blockq.h"
#include "../sim/media.h"

struct jfs_direct {
	const struct sim_env *env;
	uint64_t bio_cycles, flush_cycles;
};

static int bq_sub(void *ctx, uint64_t id, enum trace_bio_op op, uint32_t flags,
		  uint64_t off, uint64_t len, const void *data, uint64_t line)
{
	struct bq_bio_desc d = {
		.id = id, .op = op, .flags = flags, .sector = off >> 9, .len = len,
		.data = data, .line = line,
	};
	return bq_submit(ctx, &d);
}

static int bq_wt(void *ctx, uint64_t id)
{
	return bq_wait(ctx, id);
}

static int bq_wt_all(void *ctx)
{
	return bq_wait_all(ctx);
}

static bool bq_lost(void *ctx, uint64_t id, uint64_t off, uint64_t len)
{
	return bq_write_may_be_lost(ctx, id, off, len);
}

static uint64_t bq_gen(void *ctx)
{
	return bq_durable_gen(ctx);
}

static int direct_sub(void *ctx, uint64_t id, enum trace_bio_op op, uint32_t flags,
		      uint64_t off, uint64_t len, const void *data, uint64_t line)
{
	struct jfs_fs *fs = ctx;

	(void)id;
	(void)flags;
	(void)line;
	if (op == TRACE_BIO_WRITE) {
		media_write(fs->env->media, off, data, (size_t)len);
		fs->env->clock->now += fs->bio_cycles;
	} else if (op == TRACE_BIO_FLUSH) {
		fs->env->clock->now += fs->flush_cycles;
	}
	return 0;
}

static int direct_wait(void *ctx, uint64_t id)
{
	(void)ctx;
	(void)id;
	return 0;
}

static int direct_wait_all(void *ctx)
{
	(void)ctx;
	return 0;
}

void jfs_bdev_init(struct jfs_bdev *b, const struct sim_env *env)
{
	if (env->blockq) {
		*b = (struct jfs_bdev){ .name = "blockq", .submit = bq_sub, .wait = bq_wt,
					.wait_all = bq_wt_all, .may_lose = bq_lost,
					.durable_gen = bq_gen, .ctx = env->blockq };
	} else {
		/* ctx is set by the caller to the filesystem itself */
		*b = (struct jfs_bdev){ .name = "write-through", .submit = direct_sub,
					.wait = direct_wait, .wait_all = direct_wait_all };
	}
}
