/*
 * bq_model.c — the block queue as a simulator model (sim/model.h): trace
 * events in, `powercut run` figures out, and the parameters it reads.
 *
 * The events are the trace's block layer: `bio` submits (bq_queue.c),
 * `wait id=N` and `wait all` wait.  Everything else is not ours and is
 * ignored.  Parameters are read once, when the model is made (STYLE 6).
 */
#include "bq_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "../sim/media.h"

static const char *const order_names[] = { "fifo", "random", NULL };

const struct sim_param bq_params[] = {
	{ .name = "bq.depth", .kind = SIM_PARAM_UINT, .def = 32, .min = 1, .max = 4096,
	  .unit = "bios", .help = "request queue depth: bios the device holds at once "
	  "(a submitter stalls while all tags are busy)" },
	{ .name = "bq.order", .kind = SIM_PARAM_CHOICE, .def = 0, .choices = order_names,
	  .help = "order in which a `wait all` retires the bios in flight" },
	{ .name = "bq.seed", .kind = SIM_PARAM_UINT, .def = 0, .min = 0, .max = UINT64_MAX,
	  .help = "seed of bq.order=random" },
	{ .name = "bq.submit_cycles", .kind = SIM_PARAM_UINT, .def = 1000, .min = 0,
	  .max = 1ull << 32, .unit = "cycles", .help = "CPU cost of submitting one bio" },
	{ .name = "disk.cache_size", .kind = SIM_PARAM_SIZE, .def = 32ull << 20, .min = 512,
	  .max = 1ull << 40, .unit = "bytes",
	  .help = "disk-wc volatile write cache (when full, the oldest unit is destaged)" },
	{ .name = "disk.atomic_unit", .kind = SIM_PARAM_SIZE, .def = 512, .min = 512,
	  .max = 65536, .unit = "bytes", .pow2 = true,
	  .help = "failure-atomic write unit: writes tear only between units" },
	{ .name = "disk.fua", .kind = SIM_PARAM_BOOL, .def = 1,
	  .help = "disk-wc handles FUA natively (off: the block layer emulates it "
	  "with a post-flush)" },
	{ .name = "disk.latency", .kind = SIM_PARAM_UINT, .def = 30000, .min = 0,
	  .max = 1ull << 40, .unit = "cycles", .help = "device time per write command" },
	{ .name = "disk.flush_latency", .kind = SIM_PARAM_UINT, .def = 300000, .min = 0,
	  .max = 1ull << 40, .unit = "cycles",
	  .help = "device time per flush command, before the cached bytes" },
	{ .name = "disk.bandwidth", .kind = SIM_PARAM_UINT, .def = 1000, .min = 1,
	  .max = 1ull << 32, .unit = "B/kcycle",
	  .help = "host-to-device transfer rate, bytes per 1000 cycles" },
	{ .name = "disk.media_bandwidth", .kind = SIM_PARAM_UINT, .def = 300, .min = 1,
	  .max = 1ull << 32, .unit = "B/kcycle",
	  .help = "cache-to-media (and write-through) rate, bytes per 1000 cycles" },
	{ .name = "plugin.arg", .kind = SIM_PARAM_UINT, .def = 0, .min = 0,
	  .max = UINT64_MAX, .help = "a number handed to a device plugin "
	  "(bq_plugin_env.arg)" },
	{ .name = NULL }
};

static int bq_model_create(void **self, const struct sim_env *env)
{
	struct bq_queue *q = calloc(1, sizeof(*q));

	*self = NULL;
	if (!q) {
		snprintf(env->err->msg, sizeof(env->err->msg), "out of memory");
		return -1;
	}
	if (bq_queue_init(q, env)) {
		bq_queue_fini(q);
		free(q);
		return -1;
	}
	if (q->pmem && !env->cache) {
		snprintf(env->err->msg, sizeof(env->err->msg),
			 "the %s driver needs the cache model", sim_device_name(q->kind));
		bq_queue_fini(q);
		free(q);
		return -1;
	}
	*self = q;
	return 0;
}

static int bq_model_event(void *self, const struct trace_event *ev)
{
	struct bq_queue *q = self;

	switch (ev->op) {
	case TRACE_BIO:
		return bq_submit_event(q, ev);
	case TRACE_WAIT:
		return (ev->fields & TRACE_F_ALL) ? bq_wait_all(q) : bq_wait(q, ev->id);
	default:
		return 0;
	}
}

static void bq_model_report(void *self, FILE *out)
{
	static const char *const lat_name[BQ_LAT_KINDS] = {
		[BQ_LAT_WRITE] = "write", [BQ_LAT_FLAGGED] = "flagged-write",
		[BQ_LAT_FLUSH] = "flush", [BQ_LAT_DISCARD] = "discard",
	};
	struct bq_queue *q = self;
	struct bq_stats *s = &q->st;

	fprintf(out, "bq.device: %s\n", q->pmem ? sim_device_name(q->kind) : q->dev.ops->name);
	fprintf(out, "bq.semantics: %s\n", q->barrier_mode ? "barrier" : "linux");
	fprintf(out, "bq.bios: %" PRIu64 "\n", s->bios);
	fprintf(out, "bq.writes: %" PRIu64 "\n", s->writes);
	fprintf(out, "bq.discards: %" PRIu64 "\n", s->discards);
	fprintf(out, "bq.flush-bios: %" PRIu64 "\n", s->flush_bios);
	fprintf(out, "bq.preflush-bios: %" PRIu64 "\n", s->preflush);
	fprintf(out, "bq.fua-bios: %" PRIu64 "\n", s->fua);
	fprintf(out, "bq.bytes: %" PRIu64 "\n", s->bytes);
	fprintf(out, "bq.flush-commands: %" PRIu64 "\n", s->flush_cmds);
	fprintf(out, "bq.flushes-dropped: %" PRIu64 "\n", s->flushes_dropped);
	fprintf(out, "bq.fua-commands: %" PRIu64 "\n", s->fua_cmds);
	fprintf(out, "bq.destages: %" PRIu64 "\n", s->destages);
	fprintf(out, "bq.late-arrivals: %" PRIu64 "\n", s->late_arrivals);
	fprintf(out, "bq.wait-cycles: %" PRIu64 "\n", s->wait_cycles);
	fprintf(out, "bq.stall-cycles: %" PRIu64 "\n", s->stall_cycles);
	fprintf(out, "bq.max-in-flight: %" PRIu64 "\n", s->max_in_flight);
	fprintf(out, "bq.in-flight-at-end: %zu\n", q->nflight);
	for (int k = 0; k < BQ_LAT_KINDS; k++) {
		struct lat_rec *l = &s->lat[k];

		if (!l->n)
			continue;
		fprintf(out, "bq.%s-latency-p50: %" PRIu64 "\n", lat_name[k], lat_p50(l));
		fprintf(out, "bq.%s-latency-p99: %" PRIu64 "\n", lat_name[k], lat_p99(l));
		fprintf(out, "bq.%s-latency-max: %" PRIu64 "\n", lat_name[k], l->max);
	}
	if (!q->pmem)
		fprintf(out, "disk.bytes: %" PRIu64 "\n", media_bytes_written(q->env.media));
}

static void bq_model_destroy(void *self)
{
	struct bq_queue *q = self;

	if (!q)
		return;
	bq_queue_fini(q);
	free(q);
}

static const struct sim_model_ops bq_model_ops = {
	.name = "blockq",
	.event = bq_model_event,
	.report = bq_model_report,
	.destroy = bq_model_destroy,
	.crash = &bq_crash_ops,
};

const struct sim_model_kind bq_model_kind = {
	.name = "blockq",
	.role = SIM_ROLE_BLOCKQ,
	.create = bq_model_create,
	.ops = &bq_model_ops,
};
