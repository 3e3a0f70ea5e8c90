/*
 * test_informer.c - the Informer forecaster (lib/models/informer.c):
 * state_dict names and the parameter count of the TSLib ETTh1 config,
 * forward parity with Time-Series-Library on a tiny random-weight config
 * in eval mode with ProbSparse attention's sampled keys replayed from the
 * reference (tests/golden/make_informer.py), train-mode parity (batch
 * statistics in the distilling BatchNorm, running-statistic update,
 * gradients of every tensor vs torch autograd), whole-model backward vs
 * finite differences with dropout on, determinism over thread counts.
 * INFORMER_BENCH=1 also times forward + backward of the ETTh1 config.
 */
#include "test.h"
#include "fc_state.h"
#include "io/safetensors.h"
#include "models/informer.h"
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

#define G_B 3
#define G_L 24
#define G_S 12
#define G_H 12
#define G_T (G_S + G_H)
#define G_C 5
#define G_M 4

static int create_tiny(struct dc_forecaster *f, float dropout, int marks, uint64_t seed)
{
	char js[256];
	struct dc_config *cfg = NULL;
	snprintf(js, sizeof js,
	         "{\"d_model\": 16, \"n_heads\": 2, \"e_layers\": 2, \"d_layers\": 1, \"d_ff\": 32,"
	         " \"factor\": 3, \"dropout\": %g, \"activation\": \"gelu\"}", dropout);
	if (dc_config_parse(&cfg, js, strlen(js))) {
		T_FAILED("config: %s", dc_errmsg());
		return -1;
	}
	struct dc_fc_dims dims = { G_L, G_S, G_H, G_C, marks ? G_M : 0 };
	enum dc_status st = dc_fc_create(f, &dc_fc_informer, &dims, cfg, seed);
	dc_config_free(cfg);
	if (st) {
		T_FAILED("create Informer: %s", dc_errmsg());
		return -1;
	}
	return 0;
}

TEST(registry_and_counts)
{
	CHECK(dc_fc_model_find("informer") == &dc_fc_informer);
	CHECK(dc_fc_informer.uses_marks && dc_fc_informer.uses_decoder);
	// research/ts.md 3.7: TSLib Informer, d_model 512, e_layers 2, d_layers 1,
	// d_ff 2048, one distilling conv, 7 channels, timeF 'h': 11,328,007 for every H
	int H[4] = { 96, 192, 336, 720 };
	for (int i = 0; i < 4; i++) {
		struct dc_forecaster f;
		struct dc_fc_dims dims = { 96, 48, H[i], 7, 4 };
		CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_informer, &dims, NULL, 1), DC_OK);
		CHECK_EQ_INT(fc_count_params(&f), 11328007);
		if (i == 0) {
			CHECK(dc_fc_param(&f, "encoder.conv_layers.0.downConv.weight") != NULL);
			CHECK(dc_fc_param(&f, "encoder.conv_layers.0.norm.running_var")[5] == 1.0f);
			CHECK(dc_fc_param(&f, "decoder.layers.0.cross_attention.key_projection.bias") != NULL);
			CHECK(dc_fc_param(&f, "decoder.projection.weight") != NULL);
			CHECK(dc_fc_param(&f, "encoder.attn_layers.2.conv1.weight") == NULL);
			// ETTh1 sample counts: encoder 96 and 49 tokens (factor 3: U 15 and 12),
			// decoder 144 steps (U 15), cross-attention onto 49 (U 12)
			CHECK_EQ_INT(dc_informer_sample_count(&f), 96 * 15 + 49 * 12 + 144 * 15 + 144 * 12);
			// kaiming_normal std sqrt(2/21) for the token convolution
			float *w = dc_fc_param(&f, "enc_embedding.value_embedding.tokenConv.weight");
			double ss = 0;
			for (int j = 0; j < 512 * 21; j++)
				ss += (double)w[j] * w[j];
			CHECK(fabs(sqrt(ss / (512 * 21)) - sqrt(2.0 / 21)) < 0.01);
		}
		dc_fc_release(&f);
	}
	// distil off: no conv layers, two full-length encoder layers
	struct dc_config *cfg = NULL;
	const char *js = "{\"distil\": 0, \"d_model\": 8, \"n_heads\": 2, \"d_ff\": 8}";
	CHECK_EQ_INT(dc_config_parse(&cfg, js, strlen(js)), DC_OK);
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 96, 48, 96, 7, 4 };
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_informer, &dims, cfg, 1), DC_OK);
	CHECK(dc_fc_param(&f, "encoder.conv_layers.0.downConv.weight") == NULL);
	CHECK_EQ_INT(dc_informer_sample_count(&f), 2 * 96 * 15 + 144 * 15 + 144 * 15);
	// sample hook validation
	int32_t bad[4] = { 0, 1, 2, 3 };
	CHECK_EQ_INT(dc_informer_set_samples(&f, bad, 4), DC_EINVAL);
	dc_fc_release(&f);
	dc_config_free(cfg);
	// d_model not a multiple of n_heads
	js = "{\"d_model\": 10, \"n_heads\": 3}";
	CHECK_EQ_INT(dc_config_parse(&cfg, js, strlen(js)), DC_OK);
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_informer, &dims, cfg, 1), DC_EINVAL);
	dc_config_free(cfg);
}

TEST(forward_parity_tslib)
{
	struct dc_forecaster f;
	if (create_tiny(&f, 0.1f, 1, 42))
		return;
	size_t nidx = dc_informer_sample_count(&f);
	CHECK_EQ_INT(nidx, 909);
	struct dc_safetensors *st = fc_golden_open("informer", "informer.safetensors");
	float *x = fc_golden_read("informer", "informer_x.f32", G_B * G_L * G_C);
	float *xm = fc_golden_read("informer", "informer_xmark.f32", G_B * G_L * G_M);
	float *ym = fc_golden_read("informer", "informer_ymark.f32", G_B * G_T * G_M);
	float *want = fc_golden_read("informer", "informer_y.f32", G_B * G_H * G_C);
	int32_t *idx = fc_golden_read("informer", "informer_idx.i32", nidx);
	float *y = dc_calloc(G_B * G_H * G_C, sizeof *y);
	if (st && x && xm && ym && want && idx && load_state(&f, st) == 0) {
		CHECK_EQ_INT(dc_informer_set_samples(&f, idx, nidx), DC_OK);
		CHECK_EQ_INT(f.kind->forward(&f, G_B, x, xm, ym, y, 0, 1), DC_OK);
		double md = max_abs_diff(y, want, G_B * G_H * G_C), ym_ = 0;
		for (size_t i = 0; i < G_B * G_H * G_C; i++)
			ym_ = fmax(ym_, fabs(want[i]));
		printf("# Informer eval forward vs TSLib: max |diff| %.3g (|y| up to %.3g)\n", md, ym_);
		CHECK(md <= 1e-5);
		// one sequence alone gives the same rows (samples are per call, not per batch)
		float y1[G_H * G_C];
		CHECK_EQ_INT(f.kind->forward(&f, 1, x + G_L * G_C, xm + G_L * G_M, ym + G_T * G_M, y1, 0, 1),
		             DC_OK);
		CHECK_CLOSE(y1, y + G_H * G_C, G_H * G_C, 1e-5, 1e-6);
		// drawing our own samples instead changes the output (the hook is live)
		CHECK_EQ_INT(dc_informer_set_samples(&f, NULL, 0), DC_OK);
		CHECK_EQ_INT(f.kind->forward(&f, G_B, x, xm, ym, y, 0, 1), DC_OK);
		CHECK(max_abs_diff(y, want, G_B * G_H * G_C) > 1e-4);
	}
	dc_safetensors_close(st);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(want); dc_free(idx); dc_free(y);
	dc_fc_release(&f);
}

TEST(train_parity_tslib)
{
	struct dc_forecaster f;
	if (create_tiny(&f, 0.0f, 1, 42))
		return;
	size_t nidx = dc_informer_sample_count(&f), ny = G_B * G_H * G_C;
	struct dc_safetensors *st = fc_golden_open("informer", "informer.safetensors");
	struct dc_safetensors *gs = fc_golden_open("informer", "informer_grad.safetensors");
	struct dc_safetensors *as = fc_golden_open("informer", "informer_after.safetensors");
	float *x = fc_golden_read("informer", "informer_x.f32", G_B * G_L * G_C);
	float *xm = fc_golden_read("informer", "informer_xmark.f32", G_B * G_L * G_M);
	float *ym = fc_golden_read("informer", "informer_ymark.f32", G_B * G_T * G_M);
	float *want = fc_golden_read("informer", "informer_train_y.f32", ny);
	float *tgt = fc_golden_read("informer", "informer_target.f32", ny);
	int32_t *idx = fc_golden_read("informer", "informer_train_idx.i32", nidx);
	float *y = dc_calloc(ny, sizeof *y), *dy = dc_calloc(ny, sizeof *dy);
	if (st && gs && as && x && xm && ym && want && tgt && idx && load_state(&f, st) == 0) {
		CHECK_EQ_INT(dc_informer_set_samples(&f, idx, nidx), DC_OK);
		dc_fc_zero_grad(&f);
		CHECK_EQ_INT(f.kind->forward(&f, G_B, x, xm, ym, y, 1, 5), DC_OK);
		double md = max_abs_diff(y, want, ny);
		printf("# Informer train forward vs TSLib: max |diff| %.3g\n", md);
		CHECK(md <= 1e-5);
		dc_nn_mse(dy, y, tgt, ny);
		CHECK_EQ_INT(f.kind->backward(&f, G_B, dy), DC_OK);
		size_t ng = dc_safetensors_count(gs);
		CHECK_EQ_INT(ng, (size_t)f.n_tensors - 3);  // all but the BatchNorm buffers
		fc_check_grads(&f, gs, "Informer");
		for (size_t i = 0; i < dc_safetensors_count(as); i++) {
			const struct dc_st_tensor *t = dc_safetensors_at(as, i);
			float *p = dc_fc_param(&f, t->name), ref[64];
			if (!p || t->numel > 64 || dc_safetensors_get_f32(as, t->name, ref, t->numel)) {
				T_FAILED("buffer %s missing", t->name);
				continue;
			}
			if (max_abs_diff(p, ref, t->numel) > 1e-5)
				T_FAILED("buffer %s after a training step: max |diff| %g", t->name,
				         max_abs_diff(p, ref, t->numel));
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
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(want); dc_free(tgt); dc_free(idx);
	dc_free(y); dc_free(dy);
	dc_fc_release(&f);
}

static double model_loss(struct dc_forecaster *f, int B, const float *x, const float *xm,
                         const float *ym, const float *r, float *y)
{
	if (f->kind->forward(f, B, x, xm, ym, y, 1, 9))
		return NAN;
	double s = 0;
	for (size_t i = 0; i < (size_t)B * G_H * G_C; i++)
		s += (double)y[i] * r[i];
	return s;
}

/* Whole-model backward against central differences (five-point stencil),
 * dropout on, loss sum(y * r).  ProbSparse's top-u choice and the max-pool
 * argmax are piecewise constant: backward treats them as constants, so
 * the differences are taken with them frozen at the base point's choices
 * (dc_informer_freeze); the sampled keys and dropout masks are fixed by
 * the seed.  ELU's kink remains: a coordinate whose step crosses one shows
 * as disagreeing h and 2h differences and is skipped (and counted); the
 * analytic gradient never enters that test. */
TEST(backward_finite_differences)
{
	struct dc_forecaster f;
	if (create_tiny(&f, 0.1f, 1, 42))
		return;
	int B = 2, ncoord = 60;
	size_t nx = (size_t)B * G_L * G_C, ny = (size_t)B * G_H * G_C;
	size_t nxm = (size_t)B * G_L * G_M, nym = (size_t)B * G_T * G_M;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc(nxm * 4), *ym = dc_alloc(nym * 4);
	float *r = dc_alloc(ny * 4), *y = dc_alloc(ny * 4);
	dc_rng_normal(3, 1, 0, x, nx);
	dc_rng_uniform(3, 2, 0, xm, nxm);
	dc_rng_uniform(3, 5, 0, ym, nym);
	dc_rng_normal(3, 3, 0, r, ny);
	dc_fc_zero_grad(&f);
	model_loss(&f, B, x, xm, ym, r, y);
	CHECK_EQ_INT(f.kind->backward(&f, B, r), DC_OK);
	CHECK_EQ_INT(dc_informer_freeze(&f, 1), DC_OK);
	double worst = 0, gmax = 0;
	int checked = 0, skipped = 0;
	float u[2];
	for (int k = 0; checked < ncoord && k < 50 * ncoord; k++) {
		dc_rng_uniform(17, 4, 2 * (uint64_t)k, u, 2);
		const struct dc_fc_tensor *t = &f.tensors[(int)(u[0] * f.n_tensors)];
		if (strstr(t->name, "running") || strstr(t->name, "num_batches"))
			continue;
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		size_t i = t->offset + (size_t)(u[1] * n);
		float keep = f.params[i], h = 5e-2f;
		double l[4];
		const float step[4] = { h, -h, 2 * h, -2 * h };
		for (int j = 0; j < 4; j++) {
			f.params[i] = keep + step[j];
			l[j] = model_loss(&f, B, x, xm, ym, r, y);
		}
		f.params[i] = keep;
		double c1 = (l[0] - l[1]) / (2.0 * h), c2 = (l[2] - l[3]) / (4.0 * h);
		double num = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12.0 * h);
		if (fabs(c1 - c2) > 2e-2 * fmax(fabs(num), 0.1)) {
			skipped++;
			continue;
		}
		double d = fabs(num - f.grads[i]);
		if (getenv("FC_FD_VERBOSE") || d > 1e-3 * fmax(fabs(num), 0.1))
			printf("#   %s[%zu]: analytic %g numeric %g\n", t->name, i - t->offset, f.grads[i], num);
		worst = fmax(worst, d / fmax(fabs(num), 0.1));
		gmax = fmax(gmax, fabs(num));
		checked++;
	}
	CHECK_EQ_INT(dc_informer_freeze(&f, 0), DC_OK);
	printf("# Informer whole-model backward vs finite differences: %d coordinates (%d skipped at a"
	       " switch), worst relative error %.3g\n", checked, skipped, worst);
	CHECK(checked == ncoord);
	CHECK(skipped <= ncoord / 4);
	CHECK(worst < 1e-3);
	CHECK(gmax > 0);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(r); dc_free(y);
	dc_fc_release(&f);
}

TEST(thread_independence_and_no_marks)
{
	struct dc_forecaster f;
	if (create_tiny(&f, 0.1f, 1, 7))
		return;
	int B = 4;
	size_t nx = (size_t)B * G_L * G_C, ny = (size_t)B * G_H * G_C;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc((size_t)B * G_L * G_M * 4);
	float *ym = dc_alloc((size_t)B * G_T * G_M * 4), *y1 = dc_alloc(ny * 4), *y2 = dc_alloc(ny * 4);
	dc_rng_normal(5, 0, 0, x, nx);
	dc_rng_uniform(5, 1, 0, xm, (size_t)B * G_L * G_M);
	dc_rng_uniform(5, 2, 0, ym, (size_t)B * G_T * G_M);
	fc_check_threads(&f, B, x, xm, ym, y1);
	CHECK(*dc_fc_param(&f, "encoder.conv_layers.0.norm.num_batches_tracked") == 2.0f);
	// another seed draws other samples and dropout masks
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, ym, y2, 1, 34), DC_OK);
	CHECK(max_abs_diff(y1, y2, ny) > 1e-4);
	// backward needs a matching training forward
	CHECK_EQ_INT(f.kind->forward(&f, B, x, xm, ym, y2, 0, 34), DC_OK);
	CHECK_EQ_INT(f.kind->backward(&f, B, y2), DC_EINVAL);
	dc_fc_release(&f);
	// a model without time features
	if (create_tiny(&f, 0.1f, 0, 7) == 0) {
		CHECK(dc_fc_param(&f, "enc_embedding.temporal_embedding.embed.weight") == NULL);
		dc_fc_zero_grad(&f);
		CHECK_EQ_INT(f.kind->forward(&f, B, x, NULL, NULL, y1, 1, 3), DC_OK);
		CHECK_EQ_INT(f.kind->backward(&f, B, y1), DC_OK);
		CHECK(isfinite(y1[0]) && isfinite(y1[ny - 1]));
		dc_fc_release(&f);
	}
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(y1); dc_free(y2);
}

/* INFORMER_BENCH=1: forward + backward of the TSLib ETTh1 config, batch 32 */
static void bench(void)
{
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 96, 48, 96, 7, 4 };
	if (dc_fc_create(&f, &dc_fc_informer, &dims, NULL, 1)) {
		T_FAILED("create: %s", dc_errmsg());
		return;
	}
	int B = 32, reps = atoi(getenv("INFORMER_BENCH")) > 1 ? atoi(getenv("INFORMER_BENCH")) : 3;
	size_t nx = (size_t)B * 96 * 7, ny = (size_t)B * 96 * 7;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc((size_t)B * 96 * 4 * 4);
	float *ym = dc_alloc((size_t)B * 144 * 4 * 4), *y = dc_alloc(ny * 4);
	dc_rng_normal(1, 0, 0, x, nx);
	dc_rng_uniform(1, 1, 0, xm, (size_t)B * 96 * 4);
	dc_rng_uniform(1, 2, 0, ym, (size_t)B * 144 * 4);
	double best = 1e30, bestf = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = dc_time();
		f.kind->forward(&f, B, x, xm, ym, y, 1, (uint64_t)r);
		double t1 = dc_time();
		f.kind->backward(&f, B, y);
		double t2 = dc_time();
		best = fmin(best, t2 - t0);
		bestf = fmin(bestf, t1 - t0);
	}
	// ETTh1 train split: 8545 rows, 8545 - 96 - 96 + 1 = 8354 windows
	double batches = ceil(8354.0 / B);
	printf("# Informer ETTh1 config, batch %d, %d threads: forward %.3f s, forward+backward %.3f s"
	       " (best of %d); 10 epochs of %.0f batches: %.0f s of training steps\n",
	       B, dc_threads(), bestf, best, reps, batches, 10 * batches * best);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(y);
	dc_fc_release(&f);
}

int main(void)
{
	RUN(registry_and_counts);
	RUN(forward_parity_tslib);
	RUN(train_parity_tslib);
	RUN(backward_finite_differences);
	RUN(thread_independence_and_no_marks);
	if (getenv("INFORMER_BENCH"))
		bench();
	return test_summary();
}
