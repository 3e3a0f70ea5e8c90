/*
 * fc_check.h - shared checks for the Transformer forecasters' unit tests
 * (test_itransformer.c, test_patchtst.c): load TSLib golden tensors made
 * by tests/golden/make_tslib.py, load a reference state_dict by name,
 * forward parity, train-mode parity with gradients, and a whole-model
 * finite-difference check of backward.
 */
#ifndef DC_FC_CHECK_H
#define DC_FC_CHECK_H

#include "test.h"
#include "fc_state.h"
#include "io/safetensors.h"
#include "models/forecast.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

/* golden config: see make_tslib.py */
#define G_B 3
#define G_L 24
#define G_H 12
#define G_C 5
#define G_M 4

/* n floats from tests/golden/tslib/<name>.f32, or NULL (test failure) */
static float *golden_f32(const char *name, size_t n)
{
	char file[256];
	snprintf(file, sizeof file, "%s.f32", name);
	return fc_golden_read("tslib", file, n);
}

static struct dc_safetensors *golden_st(const char *name)
{
	return fc_golden_open("tslib", name);
}

static struct dc_config *tiny_config(float dropout)
{
	char js[256];
	struct dc_config *cfg = NULL;
	snprintf(js, sizeof js,
	         "{\"d_model\": 16, \"n_heads\": 2, \"e_layers\": 2, \"d_ff\": 32, \"dropout\": %g,"
	         " \"activation\": \"gelu\"}", dropout);
	if (dc_config_parse(&cfg, js, strlen(js)))
		T_FAILED("config: %s", dc_errmsg());
	return cfg;
}

static int create_tiny(struct dc_forecaster *f, const struct dc_fc_model *kind, float dropout,
                       int marks)
{
	struct dc_fc_dims dims = { G_L, 0, G_H, G_C, marks ? G_M : 0 };
	struct dc_config *cfg = tiny_config(dropout);
	enum dc_status st = dc_fc_create(f, kind, &dims, cfg, 42);
	dc_config_free(cfg);
	if (st) {
		T_FAILED("create %s: %s", kind->name, dc_errmsg());
		return -1;
	}
	return 0;
}

/* Eval-mode forward parity against <tag>_y; returns max |diff| (or -1). */
static double check_forward_parity(const struct dc_fc_model *kind, const char *tag, int marks)
{
	char name[128];
	struct dc_forecaster f;
	double md = -1;
	if (create_tiny(&f, kind, 0.1f, marks))
		return -1;
	snprintf(name, sizeof name, "%s.safetensors", tag);
	struct dc_safetensors *st = golden_st(name);
	snprintf(name, sizeof name, "%s_x", tag);
	float *x = golden_f32(name, G_B * G_L * G_C);
	snprintf(name, sizeof name, "%s_xmark", tag);
	float *xm = golden_f32(name, G_B * G_L * G_M);
	snprintf(name, sizeof name, "%s_y", tag);
	float *want = golden_f32(name, G_B * G_H * G_C);
	float *y = dc_calloc(G_B * G_H * G_C, sizeof *y);
	if (st && x && xm && want && load_state(&f, st) == 0) {
		enum dc_status s = f.kind->forward(&f, G_B, x, marks ? xm : NULL, NULL, y, 0, 1);
		CHECK_EQ_INT(s, DC_OK);
		md = max_abs_diff(y, want, G_B * G_H * G_C);
		double ym = 0;
		for (size_t i = 0; i < G_B * G_H * G_C; i++)
			ym = fmax(ym, fabs(want[i]));
		printf("# %s eval forward vs TSLib: max |diff| %.3g (|y| up to %.3g)\n", tag, md, ym);
		CHECK(md <= 1e-5);
		// one batch of 1 gives the same rows as the batch of 3
		float y1[G_H * G_C];
		s = f.kind->forward(&f, 1, x + G_L * G_C, marks ? xm + G_L * G_M : NULL, NULL, y1, 0, 1);
		CHECK_EQ_INT(s, DC_OK);
		CHECK_CLOSE(y1, y + G_H * G_C, G_H * G_C, 1e-5, 1e-6);
	}
	dc_safetensors_close(st);
	dc_free(x); dc_free(xm); dc_free(want); dc_free(y);
	dc_fc_release(&f);
	return md;
}

/* Train-mode (dropout 0) forward and MSE gradients against TSLib's
 * autograd.  For models with buffers, <tag>_after.safetensors holds them
 * after the step. */
static void check_train_parity(const struct dc_fc_model *kind, const char *tag, int marks,
                               int has_buffers)
{
	char name[128];
	struct dc_forecaster f;
	if (create_tiny(&f, kind, 0.0f, marks))
		return;
	snprintf(name, sizeof name, "%s.safetensors", tag);
	struct dc_safetensors *st = golden_st(name);
	snprintf(name, sizeof name, "%s_grad.safetensors", tag);
	struct dc_safetensors *gs = golden_st(name);
	snprintf(name, sizeof name, "%s_after.safetensors", tag);
	struct dc_safetensors *as = has_buffers ? golden_st(name) : NULL;
	snprintf(name, sizeof name, "%s_x", tag);
	float *x = golden_f32(name, G_B * G_L * G_C);
	snprintf(name, sizeof name, "%s_xmark", tag);
	float *xm = golden_f32(name, G_B * G_L * G_M);
	snprintf(name, sizeof name, "%s_train_y", tag);
	float *want = golden_f32(name, G_B * G_H * G_C);
	snprintf(name, sizeof name, "%s_target", tag);
	float *tgt = golden_f32(name, G_B * G_H * G_C);
	size_t ny = G_B * G_H * G_C;
	float *y = dc_calloc(ny, sizeof *y), *dy = dc_calloc(ny, sizeof *dy);
	if (st && gs && x && xm && want && tgt && (as || !has_buffers) && load_state(&f, st) == 0) {
		dc_fc_zero_grad(&f);
		CHECK_EQ_INT(f.kind->forward(&f, G_B, x, marks ? xm : NULL, NULL, y, 1, 5), DC_OK);
		double md = max_abs_diff(y, want, ny);
		printf("# %s train forward vs TSLib: max |diff| %.3g\n", tag, md);
		CHECK(md <= 1e-5);
		dc_nn_mse(dy, y, tgt, ny);
		CHECK_EQ_INT(f.kind->backward(&f, G_B, dy), DC_OK);
		size_t ng = dc_safetensors_count(gs);
		CHECK(ng >= (size_t)f.n_tensors - (has_buffers ? 3 : 0));
		fc_check_grads(&f, gs, tag);
		for (size_t i = 0; as && i < dc_safetensors_count(as); i++) {
			const struct dc_st_tensor *t = dc_safetensors_at(as, i);
			float *p = dc_fc_param(&f, t->name);
			float ref[4096];
			if (!p || t->numel > 4096 || dc_safetensors_get_f32(as, t->name, ref, t->numel)) {
				T_FAILED("buffer %s missing", t->name);
				continue;
			}
			double d = max_abs_diff(p, ref, t->numel);
			if (d > 1e-5)
				T_FAILED("buffer %s after a training step: max |diff| %g", t->name, d);
			float *g = dc_fc_grad(&f, t->name);
			for (size_t j = 0; j < t->numel; j++)
				if (g[j] != 0.0f) {
					T_FAILED("buffer %s got a gradient", t->name);
					break;
				}
		}
	}
	dc_safetensors_close(st);
	dc_safetensors_close(gs);
	dc_safetensors_close(as);
	dc_free(x); dc_free(xm); dc_free(want); dc_free(tgt); dc_free(y); dc_free(dy);
	dc_fc_release(&f);
}

static double model_loss(struct dc_forecaster *f, int B, const float *x, const float *xm,
                         const float *r, float *y)
{
	if (f->kind->forward(f, B, x, xm, NULL, y, 1, 9))
		return NAN;
	double s = 0;
	for (size_t i = 0; i < (size_t)B * f->dims.pred_len * f->dims.n_vars; i++)
		s += (double)y[i] * r[i];
	return s;
}

/* Whole-model backward against central differences on `ncoord` random
 * parameter coordinates (five-point stencil, h = 5e-2; skipping names containing "running" or
 * "num_batches"), loss sum(y * r), dropout on (fixed masks from the seed). */
static void check_model_fd(const struct dc_fc_model *kind, int marks, int ncoord)
{
	struct dc_forecaster f;
	if (create_tiny(&f, kind, 0.1f, marks))
		return;
	int B = 2;
	size_t nx = (size_t)B * G_L * G_C, nm = (size_t)B * G_L * G_M, ny = (size_t)B * G_H * G_C;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc(nm * 4), *r = dc_alloc(ny * 4), *y = dc_alloc(ny * 4);
	dc_rng_normal(3, 1, 0, x, nx);
	dc_rng_uniform(3, 2, 0, xm, nm);
	dc_rng_normal(3, 3, 0, r, ny);
	dc_fc_zero_grad(&f);
	model_loss(&f, B, x, marks ? xm : NULL, r, y);
	CHECK_EQ_INT(f.kind->backward(&f, B, r), DC_OK);
	double worst = 0, gmax = 0;
	int checked = 0;
	float u[2];
	for (int k = 0; checked < ncoord && k < 50 * ncoord; k++) {
		dc_rng_uniform(17, 4, 2 * (uint64_t)k, u, 2);
		int ti = (int)(u[0] * f.n_tensors);
		const struct dc_fc_tensor *t = &f.tensors[ti];
		if (strstr(t->name, "running") || strstr(t->name, "num_batches"))
			continue;
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		size_t i = t->offset + (size_t)(u[1] * n);
		// five-point stencil: (8(L(h) - L(-h)) - (L(2h) - L(-2h))) / 12h
		float keep = f.params[i], h = 5e-2f;
		double l[4];
		const float step[4] = { h, -h, 2 * h, -2 * h };
		for (int j = 0; j < 4; j++) {
			f.params[i] = keep + step[j];
			l[j] = model_loss(&f, B, x, marks ? xm : NULL, r, y);
		}
		f.params[i] = keep;
		double num = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12.0 * h);
		double d = fabs(num - f.grads[i]);
		if (getenv("FC_FD_VERBOSE") || d > 1e-3 * fmax(fabs(num), 0.1))
			printf("#   %s[%zu]: analytic %g numeric %g\n", t->name, i - t->offset, f.grads[i], num);
		worst = fmax(worst, d / fmax(fabs(num), 0.1));
		gmax = fmax(gmax, fabs(num));
		checked++;
	}
	printf("# %s whole-model backward vs finite differences: %d coordinates, worst relative error %.3g\n",
	       kind->name, checked, worst);
	CHECK(checked == ncoord);
	CHECK(worst < 1e-3);
	CHECK(gmax > 0);
	dc_free(x); dc_free(xm); dc_free(r); dc_free(y);
	dc_fc_release(&f);
}

#endif
