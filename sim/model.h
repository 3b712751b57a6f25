/*
 * model.h — the narrow interface between the simulator's event loop and
 * the models (cache/, blockq/, fs_model/).
 *
 * A model owns the events of one layer (trace_op_layer()).  The loop reads
 * an event, counts it, and hands it to the owner of its layer through
 * sim_model_ops.event; it knows nothing else about the model.  A new model
 * plugs in by adding one entry to sim_model_kinds[] (sim/models.c): the
 * loop does not change.
 *
 * What every model promises:
 *   - event() validates what only the model can judge (an fd that is not
 *     open, a bio id in use, an address outside the namespace) and returns
 *     -1 with a message in sim_errbuf (no FILE:LINE prefix: the loop adds
 *     it).  After a -1 the run stops; the model need not stay consistent.
 *   - The model advances sim_clock.now by the cycles the event costs the
 *     submitting thread.
 *   - Everything durable is in the struct media it was given; everything
 *     volatile it describes through its crash interface (crash.h).
 *   - report() prints "name: value" lines of what it measured, nothing
 *     it did not.
 */
#ifndef POWERCUT_MODEL_H
#define POWERCUT_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "../traces/trace.h"

struct sim_config;
struct media;
struct sim_crash_ops;
struct sim_oracle_ops;

struct sim_clock {
	uint64_t now;			/* simulated cycles since the start */
};

/* Where a model puts a message for the loop. */
struct sim_err {
	char msg[512];
	/* create(): the settings (option or parameter names) an error is
	 * about, NULL-ended, so that the message points where they were set
	 * (a flag, a config line) rather than at the first event */
	const char *blame[4];
};

/*
 * A crash-point hook.  A model calls env->step(env->step_ctx, what) after
 * each internal step that changes what is durable or volatile (a bio
 * submitted or completed, a journal block written, a line written back, a
 * fence retiring flushes), so the explorer can cut the power there; the
 * loop calls it after every event as well.  WHAT is a short description
 * ("bio 17 completed").  During `powercut run` it only counts, and WHAT
 * is not read: under env->no_crash_states a model may pass NULL instead
 * of formatting one (a description per step cost `run` ~10% of its
 * instructions on a file trace).
 */
typedef void sim_step_fn(void *ctx, const char *what);

/* Everything a model is given when it is made. */
struct sim_env {
	const struct sim_config *cfg;	/* validated configuration */
	struct sim_clock *clock;
	struct media *media;		/* the durable image (pmem or disk) */
	struct sim_err *err;
	void *cache;			/* the cache model, for models on pmem
					   (pmem drivers, DAX); NULL if none */
	void *blockq;			/* the block queue, for fs_model/ */
	sim_step_fn *step;		/* never NULL */
	void *step_ctx;
	bool no_crash_states;		/* no one will ask a model for crash
					   states (`run`): models may keep less,
					   and step() ignores its WHAT */
};

struct sim_model_ops {
	const char *name;
	/* One event of the model's layer.  0, or -1 with env->err set. */
	int (*event)(void *self, const struct trace_event *ev);
	/* "key: value" lines for `powercut run`. */
	void (*report)(void *self, FILE *out);
	void (*destroy)(void *self);
	/* How to enumerate what is volatile now; NULL if nothing ever is. */
	const struct sim_crash_ops *crash;
	/* How to judge a crash image (oracle.h); NULL if the model makes no
	 * promises of its own. */
	const struct sim_oracle_ops *oracle;
};

#endif
