/*
 * bq_device.c — the devices under the queue: the built-in disks as
 * struct bq_plugin tables (the same ops a driver plugin fills in), the
 * plugin loader, and the faults a driver author can turn on.
 *
 * Devices.
 *   disk-wc  A disk with a volatile write cache that honours FLUSH and FUA:
 *            it advertises a write cache, and native FUA unless
 *            disk.fua=off (then the block layer emulates FUA with a
 *            post-flush, B6).  Writes land in the cache (B1); a FUA write
 *            lands on the media (B3); a flush empties the cache (B2).
 *   disk-wt  No volatile cache: it advertises none, so the block layer
 *            strips PREFLUSH and FUA (B6) and every write is durable when
 *            it completes (B7).
 *
 * Faults (--fault; each may be combined; they apply to plugins too).
 *   F1. ignore-flush: a flush command completes without writing the cache
 *       back.  Real misbehaviour: drives and USB/SATA bridges that
 *       acknowledge FLUSH CACHE / SYNCHRONIZE CACHE at once; virtual disks
 *       configured to drop flushes (QEMU cache=unsafe); a stacking driver
 *       that forgets to pass REQ_PREFLUSH down (writeback_cache_control.rst:
 *       "a global flush needs to be implemented for bios with the
 *       REQ_PREFLUSH bit set").
 *   F2. ignore-fua: a FUA write sent natively lands in the volatile cache
 *       like any other.  Real misbehaviour: SATA drives that advertise FUA
 *       and do not honour it — the reason libata long kept FUA off by
 *       default (libata.fua=0).  With disk.fua=off the block layer never
 *       sends FUA, so this fault changes nothing there: the post-flush
 *       does the work.
 *   F3. early-complete: the driver reports completion before the data
 *       reached the device's cache or media; the data gets there by the
 *       time the submitter's next wait returns, after any flush that wait
 *       ran, so no flush submitted before then covers it, and a FUA
 *       write's completion promises nothing.  Real misbehaviour: a driver
 *       that calls bio_endio() when it has queued the request to an
 *       asynchronous backend (a network block device acknowledging on
 *       send, a virtual disk backend acknowledging before its own write),
 *       or before the DMA finished.
 *   F4. reorder-across-flush: the device does not keep later commands
 *       behind a flush.  The data of a PREFLUSH bio may reach the media
 *       before its pre-flush has made the earlier writes durable; under
 *       barrier semantics the bios after a barrier, and the barrier's own
 *       data, are dispatched without waiting.  Real misbehaviour: NVMe
 *       executes the commands of a queue in any order, so a driver that
 *       issues the write without waiting for the flush command's
 *       completion reorders them; barrier.txt notes the same of SCSI
 *       simple (not ordered) tags, which the midlayer could reorder.
 *
 * Notes:
 *   - A fault changes what a device does, never what the block layer
 *     asks: blk-flush sequencing (B6) is the same with or without it.
 *   - A plugin answers for one request at a time and cannot see others;
 *     what it may do is in bq_plugin.h.
 */
#include "bq_int.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- disk-wc, disk-wt (priv is the queue) ---- */

static uint32_t disk_wc_features(void *priv)
{
	const struct bq_queue *q = priv;
	return BQ_FEAT_WRITE_CACHE |
		(sim_param(q->env.cfg, "disk.fua") ? BQ_FEAT_FUA : 0);
}

static enum bq_fate disk_wc_write(void *priv, const struct bq_request *rq)
{
	(void)priv;
	return (rq->flags & BQ_REQ_FUA) ? BQ_FATE_MEDIA : BQ_FATE_CACHE;
}

static enum bq_flush_fate disk_flush(void *priv, const struct bq_request *rq)
{
	(void)priv;
	(void)rq;
	return BQ_FLUSH_CACHE;
}

static uint32_t disk_wt_features(void *priv)
{
	(void)priv;
	return 0;
}

static enum bq_fate disk_wt_write(void *priv, const struct bq_request *rq)
{
	(void)priv;
	(void)rq;
	return BQ_FATE_MEDIA;
}

const struct bq_plugin bq_disk_wc = {
	.api_version = BQ_PLUGIN_API_VERSION,
	.name = "disk-wc",
	.description = "a disk with a volatile write cache that honours FLUSH and FUA",
	.features = disk_wc_features,
	.write = disk_wc_write,
	.flush = disk_flush,
};

const struct bq_plugin bq_disk_wt = {
	.api_version = BQ_PLUGIN_API_VERSION,
	.name = "disk-wt",
	.description = "a disk without a volatile cache: completion means durable",
	.features = disk_wt_features,
	.write = disk_wt_write,
	.flush = disk_flush,
};

/* ---- opening ---- */

static const struct bq_plugin *forced;

void bq_device_force(const struct bq_plugin *ops)
{
	forced = ops;
}

static int check_ops(struct bq_queue *q, const char *path, const struct bq_plugin *p)
{
	if (p->api_version != BQ_PLUGIN_API_VERSION)
		return bq_fail(q, "device plugin %.200s: plugin API version %" PRIu32
			       ", this powercut speaks version %u (rebuild it against "
			       "its bq_plugin.h)", path, p->api_version, BQ_PLUGIN_API_VERSION);
	if (!p->name || !p->features || !p->write || !p->flush)
		return bq_fail(q, "device plugin %.200s: bq_plugin_entry lacks %s", path,
			       !p->name ? "name" : !p->features ? "features()" :
			       !p->write ? "write()" : "flush()");
	return 0;
}

int bq_device_open(struct bq_queue *q)
{
	const struct sim_config *c = q->env.cfg;
	const char *path = c->device_path;
	char local[SIM_PATH_MAX + 2];
	struct bq_device *d = &q->dev;
	const struct bq_plugin *p;

	memset(d, 0, sizeof(*d));
	if (forced) {
		p = forced;
		path = p->name ? p->name : "(forced)";
	} else {
		switch (c->device) {
		case SIM_DEVICE_DISK_WC:
			d->ops = &bq_disk_wc;
			d->priv = q;
			d->builtin = true;
			return 0;
		case SIM_DEVICE_DISK_WT:
			d->ops = &bq_disk_wt;
			d->priv = q;
			d->builtin = true;
			return 0;
		case SIM_DEVICE_PMEM:
		case SIM_DEVICE_PMEM_WB:
			return 0;	/* bq_pmem.c: no device policy */
		case SIM_DEVICE_PLUGIN:
			break;
		}
		/* a file, never a name for the library search path: dlopen
		 * looks a name without a slash up in LD_LIBRARY_PATH and the
		 * system's directories, not in the current directory (where
		 * sim_config_check found it) */
		if (!strchr(path, '/')) {
			snprintf(local, sizeof(local), "./%s", path);
			path = local;
		}
		dlerror();
		d->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!d->dl) {
			const char *e = dlerror();
			bq_fail(q, "device plugin %.200s: %.250s", path, e ? e : "cannot load");
			goto fail;
		}
		p = dlsym(d->dl, BQ_PLUGIN_SYMBOL);
		if (!p) {
			bq_fail(q, "device plugin %.200s: no symbol %s (is it built against "
				"powercut/bq_plugin.h?)", path, BQ_PLUGIN_SYMBOL);
			goto fail;
		}
	}
	if (check_ops(q, path, p))
		goto fail;
	d->ops = p;
	if (p->create) {
		struct bq_plugin_env env = {
			.device_bytes = q->size,
			.atomic_unit = q->unit,
			.arg = sim_param(c, "plugin.arg"),
		};
		const char *msg = NULL;
		if (p->create(&d->priv, &env, &msg)) {
			bq_fail(q, "device plugin %.200s: %.250s", path,
				msg ? msg : "create() refused");
			d->ops = NULL;
			goto fail;
		}
	}
	return 0;
fail:
	q->env.err->blame[0] = "device";	/* the plugin the user named */
	if (d->dl)
		dlclose(d->dl);
	d->dl = NULL;
	return -1;
}

void bq_device_close(struct bq_queue *q)
{
	struct bq_device *d = &q->dev;

	if (d->ops && !d->builtin && d->ops->destroy)
		d->ops->destroy(d->priv);
	if (d->dl)
		dlclose(d->dl);
	memset(d, 0, sizeof(*d));
}

/* ---- requests, with the faults on top ---- */

enum bq_fate bq_device_write(struct bq_queue *q, const struct bq_bio *b,
			     const uint8_t *data, bool *late)
{
	struct bq_request rq = {
		.bio_id = b->id,
		.op = b->op == TRACE_BIO_DISCARD ? BQ_REQ_DISCARD : BQ_REQ_WRITE,
		.flags = b->fua_native ? BQ_REQ_FUA : 0,
		.sector = b->off >> 9,
		.len = b->len,
		.data = data,
	};
	enum bq_fate f = q->dev.ops->write(q->dev.priv, &rq);
	bool wc = q->features & BQ_FEAT_WRITE_CACHE;

	*late = false;
	if (f == BQ_FATE_LATE) {
		/* the driver's own early completion: the data lands where
		 * the device puts such a write */
		*late = true;
		f = wc && !b->fua_native ? BQ_FATE_CACHE : BQ_FATE_MEDIA;
	}
	if ((q->faults & SIM_FAULT_IGNORE_FUA) && wc && b->fua_native && f == BQ_FATE_MEDIA)
		f = BQ_FATE_CACHE;	/* F2 */
	if (q->faults & SIM_FAULT_EARLY_COMPLETE)
		*late = true;		/* F3 */
	return f;
}

enum bq_flush_fate bq_device_flush(struct bq_queue *q, uint64_t bio_id)
{
	struct bq_request rq = { .bio_id = bio_id, .op = BQ_REQ_FLUSH };
	enum bq_flush_fate f = q->dev.ops->flush(q->dev.priv, &rq);

	if (q->faults & SIM_FAULT_IGNORE_FLUSH)
		f = BQ_FLUSH_NOOP;	/* F1 */
	return f;
}
