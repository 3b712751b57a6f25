/*
 * sim.c — the event loop.
 *
 * Method.  The loop is deliberately thin: it validates nothing the reader
 * already validated, owns the clock only for `think`, and knows the models
 * only through sim_model_ops.  Its own decisions are three:
 *
 *   W1. The world.  The first file, block or CPU event fixes what the
 *       trace is about, and with it the durable media (the pmem namespace,
 *       "pmem.size", for CPU traces and pmem devices; a disk of
 *       "disk.size" otherwise) and the models made, in role order CACHE,
 *       BLOCKQ, FS, each given the ones before it.  A CPU trace may go on
 *       with block events on a pmem device (both address the namespace);
 *       it may not go on with file events: its stores already addressed
 *       the raw namespace that a filesystem would have to own.
 *   W2. Routing.  File events go to FS.  CPU events go to FS in a file
 *       trace (only it knows the mmap ranges), else to CACHE.  Block
 *       events go to BLOCKQ.  A role with no registered model counts its
 *       events and says so in the report: nothing is invented.
 *   W3. Crash points.  Point 0 is the initial state, reported when the
 *       world is fixed (the media and models exist, the first event is not
 *       applied yet); then one after every event and one at every internal
 *       step a model reports through env->step.  Before the world is fixed
 *       (only header, mark or think events so far) there is nothing to
 *       lose and no crash point.  The callback runs with the machine
 *       stopped there.
 *
 * Notes:
 *   - One clock for the whole machine: events are applied in trace order
 *     and each advances sim_clock.now by what it costs its submitter; CPUs
 *     are not simulated in parallel.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media.h"

struct sim_slot {
	const struct sim_model_kind *kind;
	void *self;
	bool needed;			/* the world needs this role */
	uint64_t unsimulated;		/* events counted with no model */
};

struct sim {
	struct sim_config *cfg;
	struct sim_clock clock;
	struct sim_err err;		/* models write their messages here */
	char msg[800];			/* "FILE:LINE: what is wrong" */
	char *trace_name;
	char *base_image;		/* --base-image, or NULL */
	enum sim_world world;
	struct media *media;
	struct sim_slot slot[SIM_ROLE_COUNT];
	struct sim_env env;
	struct sim_stats stats;
	sim_point_fn *point_fn;
	void *point_ctx;
	sim_observe_fn *observe_fn;
	void *observe_ctx;
	int point_rc;			/* first non-zero callback status */
	const struct trace_event *cur;	/* the event being applied */
	uint8_t layer[TRACE_OP_COUNT];	/* trace_op_layer(), by table */
};

static void sim_step(void *ctx, const char *what);

static int sim_fail(struct sim *s, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sim_fail(struct sim *s, uint64_t line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->msg, sizeof(s->msg), "%s:%" PRIu64 ": ",
			 s->trace_name ? s->trace_name : "-", line);

	if (n < 0 || (size_t)n >= sizeof(s->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(s->msg + n, sizeof(s->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error caused by the command line or the configuration, not by an
 * event: "powercut: --base-image: ..." (no FILE:LINE of its own). */
static int sim_fail_plain(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int sim_fail_plain(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A configuration error MSG where BLAME says it was written (a flag, a
 * config line), else at LINE, the event that needed the configuration. */
static int sim_fail_config(struct sim *s, const struct sim_blame *blame, uint64_t line,
			   const char *msg)
{
	char where[512];

	sim_blame_format(blame, s->trace_name, where, sizeof(where));
	if (!where[0])
		return sim_fail(s, line, "%s", msg);
	return sim_fail_plain(s, "%s%s", where, msg);
}

int sim_create(struct sim **out, struct sim_config *cfg, char *err, size_t errlen)
{
	struct sim *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->env.cfg = cfg;
	s->env.clock = &s->clock;
	s->env.err = &s->err;
	s->env.step = sim_step;
	s->env.step_ctx = s;
	for (int op = 0; op < TRACE_OP_COUNT; op++)
		s->layer[op] = (uint8_t)trace_op_layer((enum trace_op)op);
	*out = s;
	return 0;
}

void sim_destroy(struct sim *s)
{
	if (!s)
		return;
	for (int r = SIM_ROLE_COUNT - 1; r >= 0; r--)
		if (s->slot[r].self)
			s->slot[r].kind->ops->destroy(s->slot[r].self);
	media_destroy(s->media);
	free(s->trace_name);
	free(s->base_image);
	free(s);
}

void sim_set_trace_name(struct sim *s, const char *name)
{
	free(s->trace_name);
	s->trace_name = strdup(name);
}

void sim_set_base_image(struct sim *s, const char *path)
{
	free(s->base_image);
	s->base_image = strdup(path);
}

/* Load the base image into the fresh media: only non-zero pages. */
static int load_base_image(struct sim *s, FILE *f)
{
	static uint8_t buf[1 << 16];
	static const uint8_t zero[MEDIA_PAGE_SIZE];
	uint64_t off = 0;
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (size_t i = 0; i < n; i += MEDIA_PAGE_SIZE) {
			size_t k = n - i < MEDIA_PAGE_SIZE ? n - i : MEDIA_PAGE_SIZE;
			if (memcmp(buf + i, zero, k))
				media_write(s->media, off + i, buf + i, k);
		}
		off += n;
	}
	if (ferror(f))
		return sim_fail_plain(s, "--base-image: %s: read error", s->base_image);
	return 0;
}

const char *sim_error(const struct sim *s)
{
	return s->msg;
}

void sim_set_observer(struct sim *s, sim_observe_fn *fn, void *ctx)
{
	s->observe_fn = fn;
	s->observe_ctx = ctx;
}

void sim_set_crash_point(struct sim *s, sim_point_fn *fn, void *ctx)
{
	s->point_fn = fn;
	s->point_ctx = ctx;
}

enum sim_world sim_world(const struct sim *s) { return s->world; }
const struct sim_stats *sim_stats(const struct sim *s) { return &s->stats; }
const struct sim_clock *sim_clock(const struct sim *s) { return &s->clock; }
const struct sim_config *sim_config(const struct sim *s) { return s->cfg; }
struct media *sim_media(const struct sim *s) { return s->media; }

void *sim_model(const struct sim *s, enum sim_role role)
{
	return s->slot[role].self;
}

const struct sim_model_ops *sim_model_ops(const struct sim *s, enum sim_role role)
{
	return s->slot[role].self ? s->slot[role].kind->ops : NULL;
}

/* W3 */
static void crash_point_at(struct sim *s, const char *what, const struct trace_event *ev)
{
	if (s->world == SIM_WORLD_NONE)
		return;		/* no media yet: nothing could be lost */
	if (s->point_fn && !s->point_rc) {
		struct sim_point p = {
			.index = s->stats.points,
			.line = ev ? ev->line : 0,
			.op = ev ? ev->op : TRACE_OP_NONE,
			.what = what,
			.mark = ev && ev->op == TRACE_MARK && !what ? ev->name.s : NULL,
			.ev = ev,
		};
		s->stats.points++;
		s->point_rc = s->point_fn(s->point_ctx, s, &p);
		return;
	}
	s->stats.points++;
}

static void crash_point(struct sim *s, const char *what)
{
	crash_point_at(s, what, s->cur);
}

static void sim_step(void *ctx, const char *what)
{
	crash_point(ctx, what ? what : "step");
}

int sim_start(struct sim *s)
{
	s->point_rc = 0;
	return 0;
}

static bool pmem_device(const struct sim_config *c)
{
	return c->device == SIM_DEVICE_PMEM || c->device == SIM_DEVICE_PMEM_WB;
}

static int make_role(struct sim *s, enum sim_role role, uint64_t line)
{
	struct sim_slot *sl = &s->slot[role];

	sl->needed = true;
	if (sl->self || sl->kind)
		return 0;
	sl->kind = sim_model_kind_for(role);
	if (!sl->kind)
		return 0;		/* W2: counted, not simulated */
	s->err.msg[0] = '\0';
	memset(s->err.blame, 0, sizeof(s->err.blame));
	s->env.no_crash_states = !s->point_fn;
	if (sl->kind->create(&sl->self, &s->env)) {
		struct sim_blame blame = { SIM_FROM_DEFAULT, 0, NULL };
		char msg[sizeof(s->err.msg) + 64];
		sl->self = NULL;
		if (s->err.blame[0])
			sim_config_blame(s->cfg, s->err.blame, &blame);
		snprintf(msg, sizeof(msg), "%s: %s", sl->kind->name,
			 s->err.msg[0] ? s->err.msg : "cannot start the model");
		return sim_fail_config(s, &blame, line, msg);
	}
	if (role == SIM_ROLE_CACHE)
		s->env.cache = sl->self;
	else if (role == SIM_ROLE_BLOCKQ)
		s->env.blockq = sl->self;
	return 0;
}

/* W1 */
static int enter_world(struct sim *s, enum sim_world w, uint64_t line)
{
	char err[512];
	uint64_t size;
	int rc;

	if (s->world == w)
		return 0;
	if (s->world == SIM_WORLD_NONE) {
		struct sim_blame blame;
		if (sim_config_check(s->cfg, err, sizeof(err), &blame) ||
		    (w == SIM_WORLD_FILE && sim_config_check_fs(s->cfg, err, sizeof(err), &blame)))
			return sim_fail_config(s, &blame, line, err);
		FILE *base = NULL;
		struct stat st;
		size = (w == SIM_WORLD_CPU || pmem_device(s->cfg)) ?
			sim_param(s->cfg, "pmem.size") : sim_param(s->cfg, "disk.size");
		if (s->base_image) {
			long end;
			if (w != SIM_WORLD_BLOCK)
				return sim_fail_plain(s, "--base-image: applies to block traces "
						      "only, not to the %s trace %s",
						      w == SIM_WORLD_FILE ? "file" : "CPU",
						      s->trace_name ? s->trace_name : "-");
			if (!(base = fopen(s->base_image, "rb")) ||
			    (!fstat(fileno(base), &st) && S_ISDIR(st.st_mode) && (errno = EISDIR))) {
				int e = errno;
				if (base)
					fclose(base);
				return sim_fail_plain(s, "--base-image: %s: %s", s->base_image,
						      strerror(e));
			}
			if (fseek(base, 0, SEEK_END) || (end = ftell(base)) < 0 ||
			    fseek(base, 0, SEEK_SET)) {
				fclose(base);
				return sim_fail_plain(s, "--base-image: %s: cannot seek",
						      s->base_image);
			}
			if ((uint64_t)end > size)
				size = ((uint64_t)end + MEDIA_PAGE_SIZE - 1) & ~(uint64_t)(MEDIA_PAGE_SIZE - 1);
		}
		rc = media_create(&s->media, size);
		if (rc) {
			if (base)
				fclose(base);
			return sim_fail(s, line, "cannot make a %" PRIu64 "-byte image: %s",
					size, strerror(-rc));
		}
		s->env.media = s->media;
		if (base) {
			rc = load_base_image(s, base);
			fclose(base);
			if (rc)
				return rc;
		}
	} else if (s->world == SIM_WORLD_CPU && w == SIM_WORLD_BLOCK) {
		if (!pmem_device(s->cfg))
			return sim_fail(s, line, "block event after CPU events: CPU stores "
					"address the pmem namespace, so block events must go to "
					"a pmem device (--device pmem or pmem-wb)");
	} else if (s->world == SIM_WORLD_BLOCK && w == SIM_WORLD_CPU) {
		if (!pmem_device(s->cfg))
			return sim_fail(s, line, "CPU event in a block trace on %s: there is "
					"no pmem to store to (use --device pmem or pmem-wb)",
					sim_device_name(s->cfg->device));
		return make_role(s, SIM_ROLE_CACHE, line);
	} else if (s->world == SIM_WORLD_FILE && w == SIM_WORLD_CPU) {
		return 0;		/* W2: the filesystem maps them */
	} else {
		return sim_fail(s, line, "file event after CPU events that addressed the raw "
				"pmem namespace: a trace with file events must start with them");
	}

	switch (w) {
	case SIM_WORLD_CPU:
		if ((rc = make_role(s, SIM_ROLE_CACHE, line)))
			return rc;
		break;
	case SIM_WORLD_BLOCK:
		if (pmem_device(s->cfg) && (rc = make_role(s, SIM_ROLE_CACHE, line)))
			return rc;
		if ((rc = make_role(s, SIM_ROLE_BLOCKQ, line)))
			return rc;
		break;
	case SIM_WORLD_FILE:
		if (pmem_device(s->cfg) && (rc = make_role(s, SIM_ROLE_CACHE, line)))
			return rc;
		if ((rc = make_role(s, SIM_ROLE_BLOCKQ, line)) ||
		    (rc = make_role(s, SIM_ROLE_FS, line)))
			return rc;
		break;
	case SIM_WORLD_NONE:
		break;
	}
	if (s->world == SIM_WORLD_NONE) {
		/* W3: point 0, the initial state, once there is media to lose */
		s->world = w;
		crash_point_at(s, NULL, NULL);
		return 0;
	}
	s->world = w;
	return 0;
}

static int apply_config(struct sim *s, const struct trace_event *ev)
{
	char err[512];

	for (unsigned i = 0; i < ev->nkv; i++)
		if (sim_config_set_in(s->cfg, ev->kv[i].key.s, ev->kv[i].value.s,
				      SIM_FROM_TRACE, s->trace_name, ev->line, err, sizeof(err)))
			return sim_fail(s, ev->line, "config: %s", err);
	return 0;
}

static int dispatch(struct sim *s, enum sim_role role, const struct trace_event *ev)
{
	struct sim_slot *sl = &s->slot[role];

	if (!sl->self) {
		sl->unsimulated++;
		return 0;
	}
	s->err.msg[0] = '\0';
	if (sl->kind->ops->event(sl->self, ev))
		return sim_fail(s, ev->line, "%s",
				s->err.msg[0] ? s->err.msg : "the model rejected this event");
	return 0;
}

/* W2's common case, a CPU event of a CPU trace with a cache model: what
 * sim_feed() does for it, without the world and role decisions.  The
 * general path (sim_feed, enter_world, dispatch, crash_point_at and a
 * call to trace_op_layer) cost ~128 Ir per event (callgrind, `powercut
 * run` of a 1M-event gen_trace CPU trace); this ~40. */
static int feed_cpu(struct sim *s, const struct trace_event *ev)
{
	const struct sim_slot *sl = &s->slot[SIM_ROLE_CACHE];
	int rc = 0;

	s->err.msg[0] = '\0';
	if (sl->kind->ops->event(sl->self, ev))
		rc = sim_fail(s, ev->line, "%s",
			      s->err.msg[0] ? s->err.msg : "the model rejected this event");
	else if (s->observe_fn && s->observe_fn(s->observe_ctx, ev))
		rc = sim_fail(s, ev->line, "out of memory following the trace");
	if (rc) {
		s->cur = NULL;
		return rc;
	}
	if (s->point_fn)
		crash_point(s, NULL);
	else
		s->stats.points++;	/* W3: the world is fixed here */
	s->cur = NULL;
	return s->point_rc;
}

int sim_feed(struct sim *s, const struct trace_event *ev)
{
	int rc = 0;

	s->cur = ev;
	s->stats.events++;
	s->stats.by_op[ev->op]++;
	if (s->layer[ev->op] == TRACE_LAYER_CPU && s->world == SIM_WORLD_CPU &&
	    s->slot[SIM_ROLE_CACHE].self)
		return feed_cpu(s, ev);
	switch (s->layer[ev->op]) {
	case TRACE_LAYER_HEADER:
		if (ev->op == TRACE_CONFIG)
			rc = apply_config(s, ev);
		/* header lines are not crash points */
		s->cur = NULL;
		return rc;
	case TRACE_LAYER_ANY:
		if (ev->op == TRACE_THINK) {
			s->clock.now += ev->cycles;
			s->stats.think_cycles += ev->cycles;
		} else {
			s->stats.marks++;
		}
		break;
	case TRACE_LAYER_FILE:
		if (!(rc = enter_world(s, SIM_WORLD_FILE, ev->line)))
			rc = dispatch(s, SIM_ROLE_FS, ev);
		break;
	case TRACE_LAYER_BLOCK:
		if (!(rc = enter_world(s, SIM_WORLD_BLOCK, ev->line)))
			rc = dispatch(s, SIM_ROLE_BLOCKQ, ev);
		break;
	case TRACE_LAYER_CPU:
		rc = enter_world(s, SIM_WORLD_CPU, ev->line);
		if (!rc)
			rc = dispatch(s, s->world == SIM_WORLD_FILE ? SIM_ROLE_FS :
				      SIM_ROLE_CACHE, ev);
		break;
	}
	if (!rc && s->observe_fn && s->observe_fn(s->observe_ctx, ev))
		rc = sim_fail(s, ev->line, "out of memory following the trace");
	if (rc) {
		s->cur = NULL;
		return rc;
	}
	crash_point(s, NULL);
	s->cur = NULL;
	return s->point_rc;
}

static const char *const role_what[SIM_ROLE_COUNT] = {
	[SIM_ROLE_CACHE] = "CPU events (no cache model is registered in this build)",
	[SIM_ROLE_BLOCKQ] = "block events (no block-queue model is registered in this build)",
	[SIM_ROLE_FS] = "file events (no filesystem model is registered in this build)",
};

void sim_report(const struct sim *s, FILE *out)
{
	static const char *const world[] = { "none", "cpu", "block", "file" };

	fprintf(out, "world: %s\n", world[s->world]);
	fprintf(out, "events: %" PRIu64 "\n", s->stats.events);
	for (int op = TRACE_OP_NONE + 1; op < TRACE_OP_COUNT; op++)
		if (s->stats.by_op[op])
			fprintf(out, "  %-12s %" PRIu64 "\n", trace_op_name((enum trace_op)op),
				s->stats.by_op[op]);
	fprintf(out, "crash points: %" PRIu64 "\n", s->stats.points);
	fprintf(out, "simulated cycles: %" PRIu64 "\n", s->clock.now);
	if (s->stats.think_cycles)
		fprintf(out, "  think cycles: %" PRIu64 "\n", s->stats.think_cycles);
	if (s->media)
		fprintf(out, "bytes that reached media: %" PRIu64 "\n",
			media_bytes_written(s->media));
	for (int r = 0; r < SIM_ROLE_COUNT; r++) {
		const struct sim_slot *sl = &s->slot[r];
		if (sl->self && sl->kind->ops->report) {
			fprintf(out, "[%s]\n", sl->kind->name);
			sl->kind->ops->report(sl->self, out);
		}
	}
	for (int r = 0; r < SIM_ROLE_COUNT; r++) {
		const struct sim_slot *sl = &s->slot[r];
		if (sl->needed && !sl->self)
			fprintf(out, "not simulated: %" PRIu64 " %s\n", sl->unsimulated,
				role_what[r]);
	}
}
