/*
 * models.h — which model plays which role in a simulated machine.
 *
 * A machine has up to three models, made in this order because each may
 * stand on the one before: the CPU cache hierarchy and pmem (role CACHE),
 * the block queue and its device (role BLOCKQ), the filesystem (role FS).
 * The simulator makes the roles a trace needs (sim.c: a CPU trace needs
 * CACHE; a block trace BLOCKQ, and CACHE on a pmem device; a file trace
 * all three) from the kinds registered in sim_model_kinds[].  A role with
 * no registered kind leaves its events counted but not simulated, and
 * `powercut run` says so.
 */
#ifndef POWERCUT_MODELS_H
#define POWERCUT_MODELS_H

#include <stddef.h>

#include "model.h"

enum sim_role {
	SIM_ROLE_CACHE,
	SIM_ROLE_BLOCKQ,
	SIM_ROLE_FS,
	SIM_ROLE_COUNT
};

struct sim_model_kind {
	const char *name;
	enum sim_role role;
	/* Make the model.  0, or -1 with env->err set. */
	int (*create)(void **self, const struct sim_env *env);
	const struct sim_model_ops *ops;
};

extern const struct sim_model_kind *const sim_model_kinds[];
extern const size_t sim_model_nkinds;

/* The registered kind for ROLE, or NULL. */
const struct sim_model_kind *sim_model_kind_for(enum sim_role role);

#endif
