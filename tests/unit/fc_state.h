/*
 * fc_state.h - shared by the forecaster unit tests: read the golden files
 * the scripts in tests/golden write, load a reference state_dict into a
 * forecaster's parameters by name, count its parameters.
 */
#ifndef DC_FC_STATE_H
#define DC_FC_STATE_H

#include "test.h"
#include "io/safetensors.h"
#include "models/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/golden/<dir>/<name>, under $DC_TOP (default: the current folder) */
static inline void fc_golden_path(char *buf, size_t cap, const char *dir, const char *name)
{
	const char *top = getenv("DC_TOP");
	snprintf(buf, cap, "%s/tests/golden/%s/%s", top ? top : ".", dir, name);
}

/* exactly n 4-byte values (float or int32) of tests/golden/<dir>/<name>,
 * or NULL and a test failure */
static inline void *fc_golden_read(const char *dir, const char *name, size_t n)
{
	char path[1024];
	fc_golden_path(path, sizeof path, dir, name);
	FILE *fp = fopen(path, "rb");
	float *v = dc_alloc(n * 4 + 4);
	size_t got = fp ? fread(v, 4, n + 1, fp) : 0;
	if (fp)
		fclose(fp);
	if (got != n) {
		T_FAILED("cannot read %zu values from %s", n, path);
		dc_free(v);
		return NULL;
	}
	return v;
}

/* tests/golden/<dir>/<name> opened as safetensors, or NULL and a test failure */
static inline struct dc_safetensors *fc_golden_open(const char *dir, const char *name)
{
	char path[1024];
	struct dc_safetensors *st = NULL;
	fc_golden_path(path, sizeof path, dir, name);
	if (dc_safetensors_open(&st, path)) {
		T_FAILED("cannot open %s: %s", path, dc_errmsg());
		return NULL;
	}
	return st;
}

/* trainable parameters: every tensor but BatchNorm's running statistics
 * and batch counter */
static inline size_t fc_count_params(const struct dc_forecaster *f)
{
	size_t total = 0, n;
	for (int i = 0; i < f->n_tensors; i++) {
		if (strstr(f->tensors[i].name, "running") || strstr(f->tensors[i].name, "num_batches"))
			continue;
		dc_shape_numel(f->tensors[i].rank, f->tensors[i].shape, &n);
		total += n;
	}
	return total;
}

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

/* f's gradients against the reference autograd's in gs (every tensor of
 * gs), each relative to its own largest reference gradient, or to 1e-2 of
 * the largest anywhere where it is (near) zero in exact arithmetic (key
 * biases under softmax, the affine of a LayerNorm feeding BatchNorm, a
 * constant shift of Q or K in auto-correlation).  Fails a tensor above
 * 1e-4; prints and returns the worst. */
static inline double fc_check_grads(struct dc_forecaster *f, const struct dc_safetensors *gs,
                                    const char *tag)
{
	size_t ng = dc_safetensors_count(gs);
	double gall = 0, worst = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ng; i++) {
			const struct dc_st_tensor *t = dc_safetensors_at(gs, i);
			float *ref = dc_calloc(t->numel, sizeof *ref), *g = dc_fc_grad(f, t->name);
			if (!g || dc_safetensors_get_f32(gs, t->name, ref, t->numel)) {
				if (pass)
					T_FAILED("%s gradient %s missing", tag, t->name);
			} else if (pass == 0) {
				for (size_t j = 0; j < t->numel; j++)
					gall = fmax(gall, fabs(ref[j]));
			} else {
				double gm = 0;
				for (size_t j = 0; j < t->numel; j++)
					gm = fmax(gm, fabs(ref[j]));
				double d = max_abs_diff(g, ref, t->numel) / fmax(gm, 1e-2 * gall);
				worst = fmax(worst, d);
				if (d > 1e-4)
					T_FAILED("%s gradient %s: relative max |diff| %g", tag, t->name, d);
			}
			dc_free(ref);
		}
	printf("# %s gradients vs TSLib autograd: worst relative max |diff| %.3g over %zu tensors\n",
	       tag, worst, ng);
	return worst;
}

/* A training forward (dropout seed 33) and backward of the batch at 1 and
 * at 2 threads give bit-identical outputs and gradients; y gets the
 * output. */
static inline void fc_check_threads(struct dc_forecaster *f, int B, const float *x, const float *xm,
                                    const float *ym, float *y)
{
	size_t ny = (size_t)B * f->dims.pred_len * f->dims.n_vars;
	float *y2 = dc_alloc(ny * 4), *g1 = dc_alloc(f->n_params * 4);
	dc_set_threads(1);
	dc_fc_zero_grad(f);
	CHECK_EQ_INT(f->kind->forward(f, B, x, xm, ym, y, 1, 33), DC_OK);
	CHECK_EQ_INT(f->kind->backward(f, B, y), DC_OK);
	memcpy(g1, f->grads, f->n_params * 4);
	dc_set_threads(2);
	dc_fc_zero_grad(f);
	CHECK_EQ_INT(f->kind->forward(f, B, x, xm, ym, y2, 1, 33), DC_OK);
	CHECK_EQ_INT(f->kind->backward(f, B, y2), DC_OK);
	dc_set_threads(0);
	CHECK(memcmp(y, y2, ny * 4) == 0);
	CHECK(memcmp(g1, f->grads, f->n_params * 4) == 0);
	dc_free(y2);
	dc_free(g1);
}

#endif
