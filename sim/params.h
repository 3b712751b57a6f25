/*
 * params.h — the list of modules' parameter tables (sim/params.c).  Each
 * table is terminated by an entry with a NULL name.  A module that adds
 * parameters adds its table to sim_param_tables[]; nothing else changes.
 */
#ifndef POWERCUT_PARAMS_H
#define POWERCUT_PARAMS_H

#include <stddef.h>

#include "config.h"

extern const struct sim_param *const sim_param_tables[];
extern const size_t sim_param_ntables;

/* The simulator's own parameters. */
extern const struct sim_param sim_core_params[];

#endif
