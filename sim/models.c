/*
 * models.c — the registered models.  Adding a model is adding its kind
 * here; the event loop does not change.
 */
#include "models.h"

#include "../blockq/blockq.h"
#include "../cache/cache.h"
#include "../fs_model/jfs.h"

const struct sim_model_kind *const sim_model_kinds[] = {
	&cache_model_kind,
	&bq_model_kind,
	&jfs_model_kind,
	NULL			/* keeps the array non-empty */
};
const size_t sim_model_nkinds =
	sizeof(sim_model_kinds) / sizeof(sim_model_kinds[0]) - 1;

const struct sim_model_kind *sim_model_kind_for(enum sim_role role)
{
	for (size_t i = 0; i < sim_model_nkinds; i++)
		if (sim_model_kinds[i]->role == role)
			return sim_model_kinds[i];
	return NULL;
}
