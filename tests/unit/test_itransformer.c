/*
 * test_itransformer.c - the iTransformer forecaster (lib/models/
 * itransformer.c): state_dict names and parameter counts of the reference
 * configs, forward parity with Time-Series-Library on a tiny random-weight
 * config (eval and train mode, gradients vs torch autograd; goldens from
 * tests/golden/make_tslib.py), whole-model backward vs finite
 * differences, determinism over thread counts.
 */
#include "fc_check.h"

extern const struct dc_fc_model dc_fc_itransformer;

TEST(registry_and_counts)
{
	CHECK(dc_fc_model_find("itransformer") == &dc_fc_itransformer);
	// research/ts.md 3.7: ETTh1 (7 channels + 4 timeF marks), L 96,
	// e_layers 2, d_model = d_ff = 256 (H 96, 192) / 512 (H 336, 720)
	int H[4] = { 96, 192, 336, 720 };
	size_t want[4] = { 841568, 866240, 3379024, 3576016 };
	for (int i = 0; i < 4; i++) {
		struct dc_forecaster f;
		struct dc_fc_dims dims = { 96, 0, H[i], 7, 4 };
		CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_itransformer, &dims, NULL, 1), DC_OK);
		CHECK_EQ_INT(fc_count_params(&f), want[i]);
		if (i == 0) {
			CHECK(dc_fc_param(&f, "encoder.attn_layers.1.conv1.weight") != NULL);
			CHECK(dc_fc_param(&f, "projection.bias") != NULL);
			CHECK(dc_fc_param(&f, "encoder.attn_layers.2.conv1.weight") == NULL);
			// PyTorch default init: LayerNorm ones, Linear U(+-1/sqrt(fan_in))
			CHECK(dc_fc_param(&f, "encoder.norm.weight")[5] == 1.0f);
			float *w = dc_fc_param(&f, "enc_embedding.value_embedding.weight");
			float mx = 0;
			for (int j = 0; j < 256 * 96; j++)
				mx = fmaxf(mx, fabsf(w[j]));
			CHECK(mx <= 1.0f / sqrtf(96.0f) && mx > 0.9f / sqrtf(96.0f));
		}
		dc_fc_release(&f);
	}
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 96, 0, 96, 7, 4 };
	struct dc_config *cfg = NULL;
	const char *js = "{\"d_model\": 30, \"n_heads\": 8}";
	CHECK_EQ_INT(dc_config_parse(&cfg, js, strlen(js)), DC_OK);
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_itransformer, &dims, cfg, 1), DC_EINVAL);
	dc_config_free(cfg);
}

TEST(forward_parity_tslib)
{
	double md = check_forward_parity(&dc_fc_itransformer, "itransformer", 1);
	CHECK(md >= 0 && md <= 1e-5);
}

TEST(train_parity_tslib)
{
	check_train_parity(&dc_fc_itransformer, "itransformer", 1, 0);
}

TEST(backward_finite_differences)
{
	check_model_fd(&dc_fc_itransformer, 1, 40);
}

TEST(no_marks_and_thread_independence)
{
	// M = 0 (no time features): C tokens only; dropout masks and sums do
	// not depend on the thread count
	struct dc_forecaster f;
	struct dc_fc_dims dims = { G_L, 0, G_H, G_C, 0 };
	struct dc_config *cfg = tiny_config(0.1f);
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_itransformer, &dims, cfg, 7), DC_OK);
	dc_config_free(cfg);
	int B = 4;
	size_t nx = (size_t)B * G_L * G_C, ny = (size_t)B * G_H * G_C;
	float *x = dc_alloc(nx * 4), *y1 = dc_alloc(ny * 4), *y2 = dc_alloc(ny * 4);
	dc_rng_normal(5, 0, 0, x, nx);
	fc_check_threads(&f, B, x, NULL, NULL, y1);
	// another seed gives other dropout masks; eval mode ignores the seed
	CHECK_EQ_INT(f.kind->forward(&f, B, x, NULL, NULL, y2, 1, 34), DC_OK);
	CHECK(memcmp(y1, y2, ny * 4) != 0);
	CHECK_EQ_INT(f.kind->forward(&f, B, x, NULL, NULL, y1, 0, 1), DC_OK);
	CHECK_EQ_INT(f.kind->forward(&f, B, x, NULL, NULL, y2, 0, 2), DC_OK);
	CHECK(memcmp(y1, y2, ny * 4) == 0);
	// backward after an eval forward is refused
	CHECK_EQ_INT(f.kind->backward(&f, B, y1), DC_EINVAL);
	dc_free(x); dc_free(y1); dc_free(y2);
	dc_fc_release(&f);
}

int main(void)
{
	RUN(registry_and_counts);
	RUN(forward_parity_tslib);
	RUN(train_parity_tslib);
	RUN(backward_finite_differences);
	RUN(no_marks_and_thread_independence);
	return test_summary();
}
