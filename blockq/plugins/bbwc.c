/*
 * bbwc.c — an example powercut driver plugin: a RAID controller with a
 * battery-backed write cache (BBWC).
 *
 * The controller puts every write in its cache and completes it at once.
 * While the battery is healthy the cache survives a power cut, so the
 * cache is not volatile: the driver tells the block layer "no volatile
 * write cache" (as Linux drivers do with blk_queue_write_cache(q, false,
 * false)), the block layer strips PREFLUSH and FUA, and every completed
 * write is durable.  It then behaves exactly like powercut's disk-wt.
 *
 * When the battery has failed (--set plugin.arg=1), the cache is as
 * volatile as any disk's.  A correct driver then advertises a volatile
 * cache with FUA, honours FUA by writing through, and empties the cache
 * on a flush: it behaves exactly like disk-wc.  tests/check_blockq.c runs
 * the block litmus tests (tests/litmus/block/) on this plugin and on the
 * built-in device it imitates and requires the same outcomes.
 *
 * Build with -DBBWC_FORGET_BATTERY for the bug docs/driver-guide.md
 * finds: a driver that reads the battery state for the data path but
 * keeps advertising "no volatile cache", so the block layer never sends
 * a flush and FUA is stripped.  Real controllers have shipped this: the
 * fix is to re-advertise the cache (or switch to write-through) when the
 * battery fails.
 *
 * Build (the Makefile's rule does the same):
 *     cc -shared -fPIC -I. -o build/rel/plugins/bbwc.so blockq/plugins/bbwc.c
 */
#include "blockq/bq_plugin.h"

#include <stdlib.h>

struct bbwc {
	int battery_failed;		/* plugin.arg bit 0 */
};

static int bbwc_create(void **priv, const struct bq_plugin_env *env, const char **msg)
{
	struct bbwc *c;

	if (env->arg > 1) {
		*msg = "plugin.arg must be 0 (battery healthy) or 1 (battery failed)";
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		*msg = "out of memory";
		return -1;
	}
	c->battery_failed = (int)(env->arg & 1);
	*priv = c;
	return 0;
}

static void bbwc_destroy(void *priv)
{
	free(priv);
}

static uint32_t bbwc_features(void *priv)
{
	const struct bbwc *c = priv;

#ifdef BBWC_FORGET_BATTERY
	(void)c;
	return 0;		/* BUG: the cache may be volatile now */
#else
	return c->battery_failed ? BQ_FEAT_WRITE_CACHE | BQ_FEAT_FUA : 0;
#endif
}

static enum bq_fate bbwc_write(void *priv, const struct bq_request *rq)
{
	const struct bbwc *c = priv;

	if (!c->battery_failed)
		return BQ_FATE_MEDIA;	/* the battery keeps the cache */
	return (rq->flags & BQ_REQ_FUA) ? BQ_FATE_MEDIA : BQ_FATE_CACHE;
}

static enum bq_flush_fate bbwc_flush(void *priv, const struct bq_request *rq)
{
	(void)priv;
	(void)rq;
	return BQ_FLUSH_CACHE;
}

const struct bq_plugin bq_plugin_entry = {
	.api_version = BQ_PLUGIN_API_VERSION,
	.name = "bbwc",
	.description = "RAID controller with a battery-backed write cache "
		       "(plugin.arg=1: battery failed)",
	.create = bbwc_create,
	.destroy = bbwc_destroy,
	.features = bbwc_features,
	.write = bbwc_write,
	.flush = bbwc_flush,
};
