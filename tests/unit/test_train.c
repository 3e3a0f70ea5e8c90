/*
 * test_train.c - lib/train: Adam against torch.optim.Adam (6 steps with
 * gradients of very different scales), TSLib's adjust_learning_rate
 * schedules, the MSE loss and its gradient (all channels and MS), early
 * stopping, and the training loop end to end on a small synthetic series
 * (the loss falls, the best checkpoint is kept, same seed => same bits).
 * Goldens from tests/golden/make_dlinear.py.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"
#include "train/train.h"
#include "test.h"

extern const struct dc_fc_model dc_fc_dlinear;

#define MAXT 8
struct golden {
	int n;
	struct dc_tensor t[MAXT];
};

static int golden_load(struct golden *g, const char *name)
{
	char path[1024];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/dlinear/%s.npy", top ? top : ".", name);
	memset(g, 0, sizeof *g);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	while (g->n < MAXT && dc_npy_read(fp, &g->t[g->n]) == DC_OK)
		g->n++;
	fclose(fp);
	return 0;
}

static void golden_free(struct golden *g)
{
	for (int i = 0; i < g->n; i++)
		dc_tensor_release(&g->t[i]);
}

TEST(adam_matches_torch)
{
	struct golden g;
	if (golden_load(&g, "adam") || g.n != 3) {
		CHECK(0);
		return;
	}
	size_t n = (size_t)g.t[0].shape[0];
	float *p = malloc(n * 4);
	memcpy(p, g.t[0].data, n * 4);
	struct dc_adam a;
	CHECK_EQ_INT(dc_adam_init(&a, n, 3e-3), DC_OK);
	int steps = (int)g.t[1].shape[0];
	for (int s = 0; s < steps; s++) {
		dc_adam_step(&a, p, (const float *)g.t[1].data + (size_t)s * n);
		CHECK_CLOSE(p, (const float *)g.t[2].data + (size_t)s * n, n, 1e-6, 1e-5);
	}
	/* a plain SGD-like step would not match: the test can fail */
	CHECK(fabsf(p[0] - ((const float *)g.t[0].data)[0]) > 1e-4f);
	dc_adam_release(&a);
	free(p);
	golden_free(&g);
}

TEST(lr_schedules_match_tslib)
{
	struct golden g;
	if (golden_load(&g, "lr") || g.n != 1) {
		CHECK(0);
		return;
	}
	const double *r = g.t[0].data;
	const char *names[4] = { "type1", "type2", "type3", "cosine" };
	for (int k = 0; k < 4; k++) {
		double got[12];
		for (int e = 0; e < 12; e++)
			got[e] = dc_lr_at(names[k], 1e-3, e + 1, 10);
		CHECK_CLOSE(got, r + 12 * k, 12, 1e-15, 1e-9);
	}
	CHECK(dc_lr_at("constant", 0.1, 7, 10) == 0.1);
	CHECK(dc_lr_at("bogus", 0.1, 1, 10) < 0);
	golden_free(&g);
}

TEST(mse_loss_and_gradient)
{
	float p[6] = { 1, 2, 3, 4, 5, 6 }, t[6] = { 0, 2, 5, 4, 4, 9 }, d[6];
	/* all channels: errors 1,0,-2,0,1,-3 -> (1+4+1+9)/6 */
	CHECK(fabs(dc_mse_loss(p, t, 2, 3, 0, d) - 15.0 / 6) < 1e-12);
	float want[6] = { 2.f / 6, 0, -4.f / 6, 0, 2.f / 6, -6.f / 6 };
	CHECK_CLOSE(d, want, 6, 1e-7, 0);
	/* MS: only the last channel (errors -2, -3) */
	CHECK(fabs(dc_mse_loss(p, t, 2, 3, 2, d) - 6.5) < 1e-12);
	float want2[6] = { 0, 0, -2, 0, 0, -3 };
	CHECK_CLOSE(d, want2, 6, 1e-7, 0);
	double se = 0, ae = 0;
	dc_error_sums(p, t, 2, 3, 0, &se, &ae);
	CHECK(se == 15 && ae == 7);
}

TEST(early_stopping_keeps_the_best)
{
	struct dc_early_stop es;
	CHECK_EQ_INT(dc_early_stop_init(&es, 2, 1), DC_OK);
	float p;
	p = 1;
	CHECK(dc_early_stop_update(&es, 0.5, &p, 1) == 1);
	p = 2;
	CHECK(dc_early_stop_update(&es, 0.4, &p, 2) == 1);
	p = 3;
	CHECK(dc_early_stop_update(&es, 0.4, &p, 3) == 0); /* equal is no improvement (delta 0) */
	CHECK(!es.stop);
	p = 4;
	CHECK(dc_early_stop_update(&es, 0.6, &p, 4) == 0);
	CHECK(es.stop);
	CHECK(es.best_params[0] == 2 && es.best_epoch == 2);
	dc_early_stop_release(&es);
}

/* a noisy daily sine, 3 channels, hourly */
static void make_ts(struct dc_ts *ts, size_t rows)
{
	memset(ts, 0, sizeof *ts);
	ts->rows = rows;
	ts->cols = 3;
	ts->n_marks = 0;
	ts->data = dc_alloc(rows * 3 * sizeof(float));
	float *noise = malloc(rows * 3 * sizeof(float));
	dc_rng_normal(1, 0, 0, noise, rows * 3);
	for (size_t i = 0; i < rows; i++)
		for (int c = 0; c < 3; c++)
			ts->data[i * 3 + c] = (float)sin(2 * M_PI * (double)i / 24 + c) + 0.1f * noise[i * 3 + c];
	free(noise);
}

static void train_once(uint64_t seed, float *out_params, double *first, double *last, int *best_epoch)
{
	struct dc_ts ts;
	make_ts(&ts, 500);
	struct dc_ts_split sp;
	CHECK_EQ_INT(dc_ts_split_ratio(&sp, ts.rows, 0.7, 0.1, 0.2, 48), DC_OK);
	struct dc_fc_dims d = { 48, 24, 12, 3, 0 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_dlinear, &d, NULL, seed), DC_OK);
	struct dc_fc_train_opts o = { 4, 16, 3, 5e-3, "type1", seed, DC_TS_M, NULL, NULL };
	struct dc_fc_train_log log;
	CHECK_EQ_INT(dc_fc_train(&f, &ts, &sp, &o, &log), DC_OK);
	*first = log.val_loss[0];
	*last = log.best_val;
	*best_epoch = log.best_epoch;
	double mse, mae;
	size_t nw;
	CHECK_EQ_INT(dc_fc_score(&f, &ts, sp.begin[1], sp.end[1], 7, DC_TS_M, &mse, &mae, &nw), DC_OK);
	CHECK(fabs(mse - log.best_val) < 1e-9 * (1 + mse)); /* best checkpoint reloaded; batch size irrelevant */
	CHECK_EQ_INT(nw, dc_ts_windows(&sp, 1, 48, 12));
	memcpy(out_params, f.params, f.n_params * sizeof(float));
	dc_fc_release(&f);
	dc_ts_release(&ts);
}

TEST(train_loop_learns_and_is_deterministic)
{
	float a[4096], b[4096], c[4096];
	double f1, l1, f2, l2, f3, l3;
	int e1, e2, e3;
	train_once(7, a, &f1, &l1, &e1);
	train_once(7, b, &f2, &l2, &e2);
	train_once(8, c, &f3, &l3, &e3);
	printf("#   val mse epoch 1 %.4f -> best %.4f (epoch %d)\n", f1, l1, e1);
	CHECK(l1 <= f1 && l1 < 0.1);
	size_t n = 2 * (12 * 48 + 12) + 32;
	CHECK(memcmp(a, b, n * sizeof(float)) == 0);
	CHECK(memcmp(a, c, n * sizeof(float)) != 0);
}

TEST(train_refuses_too_few_rows)
{
	struct dc_ts ts;
	make_ts(&ts, 60);
	struct dc_ts_split sp = { { 0, 0, 0 }, { 50, 60, 60 } };
	struct dc_fc_dims d = { 48, 24, 12, 3, 0 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_dlinear, &d, NULL, 1), DC_OK);
	struct dc_fc_train_opts o = { 1, 16, 3, 5e-3, "type1", 1, DC_TS_M, NULL, NULL };
	struct dc_fc_train_log log;
	CHECK(dc_fc_train(&f, &ts, &sp, &o, &log) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "too few rows") != NULL);
	dc_fc_release(&f);
	dc_ts_release(&ts);
}

int main(void)
{
	RUN(adam_matches_torch);
	RUN(lr_schedules_match_tslib);
	RUN(mse_loss_and_gradient);
	RUN(early_stopping_keeps_the_best);
	RUN(train_loop_learns_and_is_deterministic);
	RUN(train_refuses_too_few_rows);
	return test_summary();
}
