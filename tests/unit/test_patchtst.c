/*
 * test_patchtst.c - the PatchTST forecaster (lib/models/patchtst.c):
 * state_dict names and parameter counts of the TSLib ETTh1 configs,
 * forward parity with Time-Series-Library on a tiny random-weight config
 * in eval mode (BatchNorm running statistics) and in train mode (batch
 * statistics, running-statistic update, gradients vs torch autograd;
 * goldens from tests/golden/make_tslib.py), whole-model backward vs
 * finite differences, determinism over thread counts.
 */
#include "fc_check.h"

extern const struct dc_fc_model dc_fc_patchtst;

TEST(registry_and_counts)
{
	CHECK(dc_fc_model_find("patchtst") == &dc_fc_patchtst);
	// research/ts.md 3.7: TSLib PatchTST, L 96, e_layers 1, d_model 512,
	// d_ff 2048, 12 patches (trainable parameters; buffers not counted)
	int H[4] = { 96, 192, 336, 720 };
	size_t want[4] = { 3751520, 4341440, 5226320, 7586000 };
	for (int i = 0; i < 4; i++) {
		struct dc_forecaster f;
		struct dc_fc_dims dims = { 96, 0, H[i], 7, 4 };
		CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_patchtst, &dims, NULL, 1), DC_OK);
		CHECK_EQ_INT(fc_count_params(&f), want[i]);
		if (i == 0) {
			float *rv = dc_fc_param(&f, "encoder.norm.1.running_var");
			CHECK(rv && rv[0] == 1.0f && dc_fc_param(&f, "encoder.norm.1.running_mean")[3] == 0.0f);
			CHECK(dc_fc_param(&f, "encoder.norm.1.num_batches_tracked") != NULL);
			CHECK(dc_fc_param(&f, "head.linear.weight") != NULL);
			CHECK(dc_fc_param(&f, "encoder.attn_layers.1.conv1.weight") == NULL);
		}
		dc_fc_release(&f);
	}
	// patch longer than the padded input is refused
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 4, 0, 8, 2, 0 };
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_patchtst, &dims, NULL, 1), DC_EINVAL);
}

TEST(forward_parity_tslib)
{
	double md = check_forward_parity(&dc_fc_patchtst, "patchtst", 0);
	CHECK(md >= 0 && md <= 1e-5);
}

TEST(train_parity_tslib)
{
	check_train_parity(&dc_fc_patchtst, "patchtst", 0, 1);
}

TEST(backward_finite_differences)
{
	check_model_fd(&dc_fc_patchtst, 0, 40);
}

TEST(thread_independence)
{
	struct dc_forecaster f;
	struct dc_fc_dims dims = { G_L, 0, G_H, G_C, 0 };
	struct dc_config *cfg = tiny_config(0.1f);
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_patchtst, &dims, cfg, 7), DC_OK);
	dc_config_free(cfg);
	int B = 4;
	size_t nx = (size_t)B * G_L * G_C, ny = (size_t)B * G_H * G_C;
	float *x = dc_alloc(nx * 4), *y1 = dc_alloc(ny * 4), *y2 = dc_alloc(ny * 4);
	dc_rng_normal(5, 0, 0, x, nx);
	fc_check_threads(&f, B, x, NULL, NULL, y1);
	// two training forwards moved the running statistics and the counter
	CHECK(*dc_fc_param(&f, "encoder.norm.1.num_batches_tracked") == 2.0f);
	CHECK(dc_fc_param(&f, "encoder.norm.1.running_var")[0] != 1.0f);
	dc_free(x); dc_free(y1); dc_free(y2);
	dc_fc_release(&f);
}

int main(void)
{
	RUN(registry_and_counts);
	RUN(forward_parity_tslib);
	RUN(train_parity_tslib);
	RUN(backward_finite_differences);
	RUN(thread_independence);
	return test_summary();
}
