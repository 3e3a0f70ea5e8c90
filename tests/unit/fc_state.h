/*
 * fc_state.h - shared by the forecaster unit tests: load a reference
 * state_dict (a safetensors file written by the golden scripts) into a
 * forecaster's parameters by name.
 */
#ifndef DC_FC_STATE_H
#define DC_FC_STATE_H

#include "test.h"
#include "io/safetensors.h"
#include "models/forecast.h"

/* Load every tensor of f by name from st; each must be present with the
 * same element count, and every tensor of st must be one of f's. */
static int load_state(struct dc_forecaster *f, const struct dc_safetensors *st)
{
	for (int i = 0; i < f->n_tensors; i++) {
		const struct dc_fc_tensor *t = &f->tensors[i];
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		if (dc_safetensors_get_f32(st, t->name, f->params + t->offset, n)) {
			T_FAILED("tensor %s: %s", t->name, dc_errmsg());
			return -1;
		}
	}
	for (size_t i = 0; i < dc_safetensors_count(st); i++) {
		const char *name = dc_safetensors_at(st, i)->name;
		if (!dc_fc_param(f, name)) {
			T_FAILED("reference tensor %s has no counterpart", name);
			return -1;
		}
	}
	return 0;
}

#endif
