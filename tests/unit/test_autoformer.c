/*
 * test_autoformer.c - the Autoformer forecaster (lib/models/autoformer.c):
 * state_dict names and the parameter count of the reference ETTh1 config,
 * forward parity with Time-Series-Library on a tiny random-weight config in
 * three length variants (decoder as long as, longer than and shorter than
 * the encoder), eval mode (per-sample delays) and train mode (batch-shared
 * delays) with gradients vs torch autograd (goldens from
 * tests/golden/make_autoformer.py), whole-model backward vs finite
 * differences, determinism over thread counts.
 */
#include "test.h"
#include "fc_state.h"
#include "io/safetensors.h"
#include "models/forecast.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct dc_fc_model dc_fc_autoformer;

#define G_B 3
#define G_L 24
#define G_C 5
#define G_M 4

struct variant { const char *tag; int S, H; };
static const struct variant VAR[3] = { { "base", 12, 12 }, { "pad", 12, 13 }, { "trunc", 6, 8 } };

/* tests/golden/autoformer/[<tag>_]<what>.f32 */
static float *golden_f32(const char *tag, const char *what, size_t n)
{
	char file[256];
	snprintf(file, sizeof file, "%s%s%s.f32", tag ? tag : "", tag ? "_" : "", what);
	return fc_golden_read("autoformer", file, n);
}

static int create_tiny(struct dc_forecaster *f, int S, int H, int M, float dropout, double factor)
{
	char js[256];
	struct dc_config *cfg = NULL;
	snprintf(js, sizeof js,
	         "{\"d_model\": 16, \"n_heads\": 2, \"e_layers\": 2, \"d_layers\": 1, \"d_ff\": 32,"
	         " \"moving_avg\": 5, \"factor\": %g, \"dropout\": %g, \"activation\": \"gelu\"}",
	         factor, dropout);
	if (dc_config_parse(&cfg, js, strlen(js))) {
		T_FAILED("config: %s", dc_errmsg());
		return -1;
	}
	struct dc_fc_dims dims = { G_L, S, H, G_C, M };
	enum dc_status st = dc_fc_create(f, &dc_fc_autoformer, &dims, cfg, 42);
	dc_config_free(cfg);
	if (st) {
		T_FAILED("create: %s", dc_errmsg());
		return -1;
	}
	return 0;
}

TEST(registry_and_counts)
{
	CHECK(dc_fc_model_find("autoformer") == &dc_fc_autoformer);
	CHECK(dc_fc_autoformer.uses_marks && dc_fc_autoformer.uses_decoder);
	// research/ts.md 3.7: ETTh1 (7 channels, 4 timeF marks), d_model 512,
	// e_layers 2, d_layers 1, d_ff 2048: 10,535,943 for every horizon
	int H[4] = { 96, 192, 336, 720 };
	for (int i = 0; i < 4; i++) {
		struct dc_forecaster f;
		struct dc_fc_dims dims = { 96, 48, H[i], 7, 4 };
		CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_autoformer, &dims, NULL, 1), DC_OK);
		CHECK_EQ_INT(fc_count_params(&f), 10535943);
		if (i == 0) {
			CHECK_EQ_INT(f.n_tensors, 49);
			CHECK(dc_fc_param(&f, "decoder.layers.0.cross_attention.key_projection.bias") != NULL);
			CHECK(dc_fc_param(&f, "encoder.attn_layers.1.conv2.weight") != NULL);
			CHECK(dc_fc_param(&f, "encoder.attn_layers.1.conv2.bias") == NULL);
			CHECK(dc_fc_param(&f, "decoder.layers.1.conv1.weight") == NULL);
			CHECK(dc_fc_param(&f, "encoder.norm.layernorm.weight")[7] == 1.0f);
			CHECK(dc_fc_param(&f, "decoder.norm.layernorm.bias")[7] == 0.0f);
			// tokenConv: kaiming_normal (fan_in 21, leaky_relu): std sqrt(2/21)
			float *w = dc_fc_param(&f, "enc_embedding.value_embedding.tokenConv.weight");
			double s2 = 0;
			for (int j = 0; j < 512 * 21; j++)
				s2 += (double)w[j] * w[j];
			double sd = sqrt(s2 / (512 * 21));
			CHECK(fabs(sd - sqrt(2.0 / 21)) < 0.02);
			// projection Conv1d(512, 7, 3): U(+-1/sqrt(1536))
			w = dc_fc_param(&f, "decoder.layers.0.projection.weight");
			float mx = 0;
			for (int j = 0; j < 7 * 512 * 3; j++)
				mx = fmaxf(mx, fabsf(w[j]));
			CHECK(mx <= 1.0f / sqrtf(1536.0f) && mx > 0.95f / sqrtf(1536.0f));
		}
		dc_fc_release(&f);
	}
	// invalid: even moving average, no label_len, heads > d_model
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 96, 48, 96, 7, 4 };
	const char *bad[2] = { "{\"moving_avg\": 24}", "{\"d_model\": 4, \"n_heads\": 8}" };
	for (int i = 0; i < 2; i++) {
		struct dc_config *cfg = NULL;
		CHECK_EQ_INT(dc_config_parse(&cfg, bad[i], strlen(bad[i])), DC_OK);
		CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_autoformer, &dims, cfg, 1), DC_EINVAL);
		dc_config_free(cfg);
	}
	dims.label_len = 0;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_autoformer, &dims, NULL, 1), DC_EINVAL);
}

/* eval and train mode against TSLib, with gradients, for variant v */
static void check_variant(const struct variant *v)
{
	struct dc_forecaster f, ft;
	int S = v->S, H = v->H;
	size_t ny = (size_t)G_B * H * G_C;
	if (create_tiny(&f, S, H, G_M, 0.1f, 3) || create_tiny(&ft, S, H, G_M, 0.0f, 3))
		return;
	struct dc_safetensors *st = fc_golden_open("autoformer", "state.safetensors");
	char name[128];
	snprintf(name, sizeof name, "%s_grad.safetensors", v->tag);
	struct dc_safetensors *gs = fc_golden_open("autoformer", name);
	float *x = golden_f32(NULL, "x", G_B * G_L * G_C), *xm = golden_f32(NULL, "xmark", G_B * G_L * G_M);
	float *ym = golden_f32(v->tag, "ymark", (size_t)G_B * (S + H) * G_M);
	float *want = golden_f32(v->tag, "y", ny), *want_t = golden_f32(v->tag, "train_y", ny);
	float *tgt = golden_f32(v->tag, "target", ny);
	float *y = dc_calloc(ny, sizeof *y), *dy = dc_calloc(ny, sizeof *dy);
	if (st && gs && x && xm && ym && want && want_t && tgt && load_state(&f, st) == 0 &&
	    load_state(&ft, st) == 0) {
		double ymax = 0;
		for (size_t i = 0; i < ny; i++)
			ymax = fmax(ymax, fabs(want[i]));
		// eval mode: per-sample delays
		CHECK_EQ_INT(f.kind->forward(&f, G_B, x, xm, ym, y, 0, 1), DC_OK);
		double md = max_abs_diff(y, want, ny);
		printf("# %s (S %d, H %d) eval forward vs TSLib: max |diff| %.3g (|y| up to %.3g)\n",
		       v->tag, S, H, md, ymax);
		CHECK(md <= 1e-5);
		// one sample alone gives the same rows (eval delays are per sample)
		float *y1 = dc_calloc((size_t)H * G_C, sizeof *y1);
		CHECK_EQ_INT(f.kind->forward(&f, 1, x + G_L * G_C, xm + G_L * G_M, ym + (S + H) * G_M, y1,
		                             0, 1), DC_OK);
		CHECK_CLOSE(y1, y + H * G_C, (size_t)H * G_C, 1e-5, 1e-6);
		dc_free(y1);
		// train mode, dropout 0: delays shared by the batch
		dc_fc_zero_grad(&ft);
		CHECK_EQ_INT(ft.kind->forward(&ft, G_B, x, xm, ym, y, 1, 5), DC_OK);
		md = max_abs_diff(y, want_t, ny);
		printf("# %s train forward vs TSLib: max |diff| %.3g\n", v->tag, md);
		CHECK(md <= 1e-5);
		dc_nn_mse(dy, y, tgt, ny);
		CHECK_EQ_INT(ft.kind->backward(&ft, G_B, dy), DC_OK);
		size_t ng = dc_safetensors_count(gs);
		CHECK_EQ_INT(ng, ft.n_tensors);
		fc_check_grads(&ft, gs, v->tag);
	}
	dc_safetensors_close(st);
	dc_safetensors_close(gs);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(want); dc_free(want_t); dc_free(tgt);
	dc_free(y); dc_free(dy);
	dc_fc_release(&f);
	dc_fc_release(&ft);
}

TEST(parity_tslib_base) { check_variant(&VAR[0]); }
TEST(parity_tslib_pad) { check_variant(&VAR[1]); }
TEST(parity_tslib_trunc) { check_variant(&VAR[2]); }

static double model_loss(struct dc_forecaster *f, int B, const float *x, const float *xm,
                         const float *ym, const float *r, float *y)
{
	if (f->kind->forward(f, B, x, xm, ym, y, 1, 9))
		return NAN;
	double s = 0;
	for (size_t i = 0; i < (size_t)B * f->dims.pred_len * f->dims.n_vars; i++)
		s += (double)y[i] * r[i];
	return s;
}

/* Whole-model backward against central differences (five-point stencil)
 * on ncoord random coordinates, loss sum(y * r), dropout 0.1 (fixed masks).
 * factor 100 selects every lag (top_k = L), so no top-k boundary can be
 * crossed by a step; factor 3 is the reference selection (smaller step). */
static void check_fd(int S, int H, int M, double factor, float h, int ncoord, double tol)
{
	struct dc_forecaster f;
	if (create_tiny(&f, S, H, M, 0.1f, factor))
		return;
	int B = 2;
	size_t nx = (size_t)B * G_L * G_C, nm = (size_t)B * G_L * G_M, ny = (size_t)B * H * G_C;
	size_t nym = (size_t)B * (S + H) * G_M;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc(nm * 4), *ym = dc_alloc(nym * 4);
	float *r = dc_alloc(ny * 4), *y = dc_alloc(ny * 4);
	dc_rng_normal(3, 1, 0, x, nx);
	dc_rng_uniform(3, 2, 0, xm, nm);
	dc_rng_uniform(3, 5, 0, ym, nym);
	dc_rng_normal(3, 3, 0, r, ny);
	const float *pxm = M ? xm : NULL, *pym = M ? ym : NULL;
	dc_fc_zero_grad(&f);
	model_loss(&f, B, x, pxm, pym, r, y);
	CHECK_EQ_INT(f.kind->backward(&f, B, r), DC_OK);
	double worst = 0, gmax = 0;
	int checked = 0;
	float u[2];
	for (int k = 0; checked < ncoord && k < 50 * ncoord; k++) {
		dc_rng_uniform(17, 4, 2 * (uint64_t)k, u, 2);
		const struct dc_fc_tensor *t = &f.tensors[(int)(u[0] * f.n_tensors)];
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		size_t i = t->offset + (size_t)(u[1] * n);
		float keep = f.params[i];
		double l[4];
		const float step[4] = { h, -h, 2 * h, -2 * h };
		for (int j = 0; j < 4; j++) {
			f.params[i] = keep + step[j];
			l[j] = model_loss(&f, B, x, pxm, pym, r, y);
		}
		f.params[i] = keep;
		double num = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12.0 * h);
		double d = fabs(num - f.grads[i]);
		if (getenv("FC_FD_VERBOSE") || d > tol * fmax(fabs(num), 0.1))
			printf("#   %s[%zu]: analytic %g numeric %g\n", t->name, i - t->offset, f.grads[i], num);
		worst = fmax(worst, d / fmax(fabs(num), 0.1));
		gmax = fmax(gmax, fabs(num));
		checked++;
	}
	printf("# finite differences (S %d, H %d, M %d, factor %g, h %g): %d coordinates, worst relative"
	       " error %.3g\n", S, H, M, factor, h, checked, worst);
	CHECK(checked == ncoord);
	CHECK(worst < tol);
	CHECK(gmax > 0);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(r); dc_free(y);
	dc_fc_release(&f);
}

TEST(backward_fd_all_lags)
{
	check_fd(12, 12, G_M, 100, 5e-2f, 40, 1e-3);
	check_fd(12, 13, 0, 100, 5e-2f, 25, 1e-3);   // padded cross, no marks
	check_fd(6, 8, G_M, 100, 5e-2f, 25, 1e-3);   // truncated cross
}

TEST(backward_fd_topk)
{
	// h 1e-2 keeps the steps inside the top-k boundaries; its float noise is
	// about 2e-4 absolute (observed worst relative 1.9e-3)
	check_fd(12, 12, G_M, 3, 1e-2f, 40, 5e-3);
}

TEST(thread_independence)
{
	struct dc_forecaster f;
	if (create_tiny(&f, 12, 12, G_M, 0.1f, 3))
		return;
	int B = 4;
	size_t nx = (size_t)B * G_L * G_C, ny = (size_t)B * 12 * G_C;
	size_t nm = (size_t)B * G_L * G_M, nym = (size_t)B * 24 * G_M;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc(nm * 4), *ym = dc_alloc(nym * 4);
	float *y1 = dc_alloc(ny * 4), *y2 = dc_alloc(ny * 4);
	dc_rng_normal(5, 0, 0, x, nx);
	dc_rng_uniform(5, 1, 0, xm, nm);
	dc_rng_uniform(5, 2, 0, ym, nym);
	fc_check_threads(&f, B, x, xm, ym, y1);
	// another seed: other dropout masks; eval mode ignores the seed
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, ym, y2, 1, 34), DC_OK);
	CHECK(memcmp(y1, y2, ny * 4) != 0);
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, ym, y1, 0, 1), DC_OK);
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, ym, y2, 0, 2), DC_OK);
	CHECK(memcmp(y1, y2, ny * 4) == 0);
	CHECK_EQ_INT(f.kind->backward(&f, B, y1), DC_EINVAL);
	// marks are required when n_marks > 0
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, NULL, y2, 0, 2), DC_EINVAL);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(y1); dc_free(y2);
	dc_fc_release(&f);
}

int main(void)
{
	RUN(registry_and_counts);
	RUN(parity_tslib_base);
	RUN(parity_tslib_pad);
	RUN(parity_tslib_trunc);
	RUN(backward_fd_all_lags);
	RUN(backward_fd_topk);
	RUN(thread_independence);
	return test_summary();
}
