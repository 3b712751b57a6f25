/*
 * sim.h — the simulator: one machine (config, clock, durable media, the
 * models of its layers) and the loop that feeds it a trace.
 *
 * The flow of one event (docs/design.md): trace_next() returns a valid
 * event; sim_feed() counts it, applies it if it is a header line, picks
 * the machine's world on the first layer-defining event, and hands it to
 * the model that owns its layer:
 *
 *     file events  -> fs_model/     (role FS)
 *     CPU events   -> fs_model/ in a file trace (it maps mmap addresses),
 *                     else cache/   (role CACHE)
 *     block events -> blockq/       (role BLOCKQ)
 *     mark, think  -> the simulator itself
 *
 * After every event, and whenever a model reports an internal step, the
 * simulator calls its crash-point callback (sim_set_crash_point()): that
 * is where `outcomes` and `check` cut the power.
 */
#ifndef POWERCUT_SIM_H
#define POWERCUT_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../traces/trace.h"
#include "config.h"
#include "crash.h"
#include "model.h"
#include "models.h"

struct media;
struct sim;

/* What the trace's events are about; fixed by its first file, block or
 * CPU event. */
enum sim_world {
	SIM_WORLD_NONE,		/* only header, mark or think events so far */
	SIM_WORLD_CPU,		/* stores to the raw pmem namespace */
	SIM_WORLD_BLOCK,	/* bios to a device */
	SIM_WORLD_FILE,		/* system calls to a filesystem */
};

/* A crash point: where the power can be cut. */
struct sim_point {
	uint64_t index;			/* 0 = the initial state */
	uint64_t line;			/* trace line of the current event, 0 before any */
	enum trace_op op;		/* its operation (TRACE_OP_NONE initially) */
	const char *what;		/* the internal step, or NULL after an event */
	const char *mark;		/* the mark's name when the event is a mark */
	const struct trace_event *ev;	/* the current event, NULL initially */
};

typedef int sim_point_fn(void *ctx, struct sim *s, const struct sim_point *p);

struct sim_stats {
	uint64_t events;
	uint64_t by_op[TRACE_OP_COUNT];
	uint64_t points;		/* crash points passed, initial included */
	uint64_t marks;
	uint64_t think_cycles;
};

/* A machine for CFG (validated with sim_config_check() first; CFG must
 * outlive the simulator).  0, or -1 with a message in err. */
int sim_create(struct sim **s, struct sim_config *cfg, char *err, size_t errlen);
void sim_destroy(struct sim *s);

/*
 * Called at every crash point with the machine stopped there; a positive
 * return stops the run (sim_feed() returns it; negative values are
 * sim_feed()'s own errors, so callbacks must not return them).  The
 * initial state is point 0, reported when the first file, block or CPU
 * event fixes the world, before that event applies; there are no points
 * before it (nothing durable exists yet).
 */
void sim_set_crash_point(struct sim *s, sim_point_fn *fn, void *ctx);

/* Called for every event after the model owning it applied it and before
 * the crash point after it (check's block-layer contract follows the
 * trace this way).  A non-zero return is an internal failure. */
typedef int sim_observe_fn(void *ctx, const struct trace_event *ev);
void sim_set_observer(struct sim *s, sim_observe_fn *fn, void *ctx);

/* Call once, after setting the callback, before the first event.
 * Returns 0. */
int sim_start(struct sim *s);

/*
 * Feed one event.  Header events (version, config) apply to the
 * configuration, with origin "trace", so they only work before the
 * machine's world is fixed.  Returns 0; -1 with the message
 * "FILE:LINE: what is wrong" in sim_error() (FILE is the trace name given
 * to sim_set_trace_name()) -- or, for a configuration error whose setting
 * came from a flag, "--FLAG: what is wrong" (struct sim_blame); or the
 * crash-point callback's non-zero status.
 */
int sim_feed(struct sim *s, const struct trace_event *ev);

void sim_set_trace_name(struct sim *s, const char *name);

/* Start a block trace's device from the image in PATH instead of zeros
 * (its size is the larger of the file's and "disk.size").  The file is
 * read when the world is fixed; errors are reported then. */
void sim_set_base_image(struct sim *s, const char *path);
const char *sim_error(const struct sim *s);

enum sim_world sim_world(const struct sim *s);
const struct sim_stats *sim_stats(const struct sim *s);
const struct sim_clock *sim_clock(const struct sim *s);
const struct sim_config *sim_config(const struct sim *s);
/* The durable image, NULL before the world is fixed. */
struct media *sim_media(const struct sim *s);
/* The model in ROLE, and its ops; NULL if none. */
void *sim_model(const struct sim *s, enum sim_role role);
const struct sim_model_ops *sim_model_ops(const struct sim *s, enum sim_role role);

/* `powercut run`'s statistics: events by kind, cycles, each model's
 * report, and what was not simulated. */
void sim_report(const struct sim *s, FILE *out);

#endif
