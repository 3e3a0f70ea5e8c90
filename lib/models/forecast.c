/*
 * forecast.c - the forecaster registry and the parameter bookkeeping shared
 * by every model (see forecast.h).
 *
 * Models register by defining a `const struct dc_fc_model dc_fc_<name>`
 * and adding it to the list below (strong references: with a static
 * libdiffcore.a a weak one would not pull the model's object file in).
 */
#include "forecast.h"
#include "../ops/ops.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const struct dc_fc_model dc_fc_dlinear, dc_fc_nlinear;
extern const struct dc_fc_model dc_fc_itransformer, dc_fc_patchtst;
extern const struct dc_fc_model dc_fc_autoformer;
extern const struct dc_fc_model dc_fc_informer;

static const struct dc_fc_model *registry(int i)
{
	const struct dc_fc_model *all[] = {
		&dc_fc_dlinear, &dc_fc_nlinear, &dc_fc_itransformer, &dc_fc_patchtst,
		&dc_fc_autoformer, &dc_fc_informer,
	};
	int k = 0;
	for (size_t j = 0; j < sizeof all / sizeof *all; j++)
		if (k++ == i)
			return all[j];
	return NULL;
}

const struct dc_fc_model *dc_fc_model_at(int i)
{
	return i < 0 ? NULL : registry(i);
}

int dc_fc_model_has_hp(const struct dc_fc_model *kind, const char *key)
{
	for (const char *const *k = kind->hp_keys; k && *k; k++)
		if (strcmp(*k, key) == 0)
			return 1;
	return 0;
}

const struct dc_fc_model *dc_fc_model_find(const char *name)
{
	const struct dc_fc_model *m;
	for (int i = 0; (m = registry(i)); i++)
		if (strcasecmp(m->name, name) == 0)
			return m;
	return NULL;
}

enum dc_status dc_fc_create(struct dc_forecaster *f, const struct dc_fc_model *kind,
                            const struct dc_fc_dims *dims, const struct dc_config *hp, uint64_t seed)
{
	memset(f, 0, sizeof *f);
	if (!kind)
		return dc_fail(DC_EINVAL, "no model");
	if (dims->seq_len <= 0 || dims->pred_len <= 0 || dims->n_vars <= 0 ||
	    dims->label_len < 0 || dims->n_marks < 0 || dims->label_len > dims->seq_len)
		return dc_fail(DC_EINVAL, "invalid dimensions (seq_len %d, label_len %d, pred_len %d, %d variables)",
		               dims->seq_len, dims->label_len, dims->pred_len, dims->n_vars);
	f->kind = kind;
	f->dims = *dims;
	enum dc_status st = kind->init(f, hp, seed);
	if (st) {
		dc_fc_release(f);
		return st;
	}
	return DC_OK;
}

void dc_fc_release(struct dc_forecaster *f)
{
	if (f->kind && f->kind->release)
		f->kind->release(f);
	dc_free(f->params);
	dc_free(f->grads);
	memset(f, 0, sizeof *f);
}

size_t dc_fc_add_tensor(struct dc_forecaster *f, const char *name, int rank, const int64_t *shape)
{
	size_t n;
	if (f->n_tensors >= DC_FC_MAX_TENSORS || rank < 0 || rank > 4 || strlen(name) >= DC_FC_NAME_MAX ||
	    dc_shape_numel(rank, shape, &n))
		return (size_t)-1;
	struct dc_fc_tensor *t = &f->tensors[f->n_tensors++];
	strcpy(t->name, name);
	t->rank = rank;
	memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
	/* keep every tensor 16-float (64-byte) aligned inside the buffer */
	t->offset = (f->n_params + 15) & ~(size_t)15;
	f->n_params = t->offset + n;
	return t->offset;
}

enum dc_status dc_fc_alloc_params(struct dc_forecaster *f)
{
	f->params = dc_calloc(f->n_params ? f->n_params : 1, sizeof(float));
	f->grads = dc_calloc(f->n_params ? f->n_params : 1, sizeof(float));
	if (!f->params || !f->grads)
		return dc_fail(DC_ENOMEM, "cannot allocate %zu parameters", f->n_params);
	return DC_OK;
}

static struct dc_fc_tensor *find_tensor(struct dc_forecaster *f, const char *name)
{
	for (int i = 0; i < f->n_tensors; i++)
		if (strcmp(f->tensors[i].name, name) == 0)
			return &f->tensors[i];
	return NULL;
}

float *dc_fc_param(struct dc_forecaster *f, const char *name)
{
	struct dc_fc_tensor *t = find_tensor(f, name);
	return t && f->params ? f->params + t->offset : NULL;
}

float *dc_fc_grad(struct dc_forecaster *f, const char *name)
{
	struct dc_fc_tensor *t = find_tensor(f, name);
	return t && f->grads ? f->grads + t->offset : NULL;
}

void dc_fc_zero_grad(struct dc_forecaster *f)
{
	if (f->grads)
		dc_vzero(f->grads, f->n_params);
}

void dc_fc_init_uniform(float *w, size_t n, float bound, uint64_t seed, uint64_t stream)
{
	dc_rng_uniform(seed, stream, 0, w, n);
	for (size_t i = 0; i < n; i++)
		w[i] = (2.0f * w[i] - 1.0f) * bound;
}
