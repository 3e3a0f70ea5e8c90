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
#include <unistd.h>

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
	struct dc_fc_train_opts o = { .epochs = 4, .batch_size = 16, .patience = 3, .lr = 5e-3,
	                              .lr_schedule = "type1", .seed = seed, .features = DC_TS_M };
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
	struct dc_fc_train_opts o = { .epochs = 1, .batch_size = 16, .patience = 3, .lr = 5e-3,
	                              .lr_schedule = "type1", .seed = 1, .features = DC_TS_M };
	struct dc_fc_train_log log;
	CHECK(dc_fc_train(&f, &ts, &sp, &o, &log) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "too few rows") != NULL);
	dc_fc_release(&f);
	dc_ts_release(&ts);
}

/* ---- checkpoints: interrupted and resumed runs end bit-identical ---- */

extern const struct dc_fc_model dc_fc_informer;

struct stopper {
	int at, n;   /* stop after `at` steps of this run (0: never) */
};

static int stop_after(void *ctx)
{
	struct stopper *s = ctx;
	return s->at && ++s->n >= s->at;
}

/* One dc_fc_train on the sine series; the model is created with init seed
 * `init` (a resumed run must not depend on it). */
static enum dc_status ck_run(const struct dc_fc_model *k, const char *cfg_js, uint64_t init, const char *ckpt,
                             double every, int stop_at, double lr, float *params, size_t *np,
                             struct dc_fc_train_log *log)
{
	struct dc_ts ts;
	make_ts(&ts, 500);
	struct dc_ts_split sp;
	CHECK_EQ_INT(dc_ts_split_ratio(&sp, ts.rows, 0.7, 0.1, 0.2, 48), DC_OK);
	struct dc_fc_dims d = { 48, 24, 12, 3, 0 };
	struct dc_config *cfg = NULL;
	if (cfg_js)
		CHECK_EQ_INT(dc_config_parse(&cfg, cfg_js, strlen(cfg_js)), DC_OK);
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, k, &d, cfg, init), DC_OK);
	dc_config_free(cfg);
	struct stopper sto = { stop_at, 0 };
	struct dc_fc_train_opts o = { .epochs = 4, .batch_size = 16, .patience = 3, .lr = lr,
		                      .lr_schedule = "type1", .seed = 7, .features = DC_TS_M,
		                      .checkpoint = ckpt, .fingerprint = k->name, .checkpoint_seconds = every,
		                      .stop = stop_after, .ctx = &sto };
	enum dc_status st = dc_fc_train(&f, &ts, &sp, &o, log);
	memcpy(params, f.params, f.n_params * sizeof(float));
	*np = f.n_params;
	dc_fc_release(&f);
	dc_ts_release(&ts);
	return st;
}

TEST(checkpoint_resume_is_bit_identical)
{
	static const struct {
		const struct dc_fc_model *k;
		const char *cfg;
	} M[] = {
		{ &dc_fc_dlinear, NULL },
		/* dropout and ProbAttention's sampled keys: both from (seed, epoch, step) */
		{ &dc_fc_informer, "{\"d_model\": 16, \"n_heads\": 2, \"e_layers\": 2, \"d_layers\": 1, \"d_ff\": 32,"
		                   " \"dropout\": 0.1}" },
	};
	char dir[] = "/tmp/dc_ckpt_XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/run.ckpt", dir);
	size_t cap = 1 << 20, n0, n;
	float *ref = malloc(cap * 4), *got = malloc(cap * 4);
	for (size_t m = 0; m < sizeof M / sizeof *M; m++) {
		struct dc_fc_train_log lr0, l1, l2, l3, l4;
		/* 500 rows: 291 training windows, 19 steps an epoch */
		CHECK_EQ_INT(ck_run(M[m].k, M[m].cfg, 1, NULL, 0, 0, 5e-3, ref, &n0, &lr0), DC_OK);
		CHECK(n0 < cap);
		remove(path);
		/* stopped after 5 steps; then, saving after every step, 21 more
		 * (epoch 2, step 7); then to the end */
		CHECK_EQ_INT(ck_run(M[m].k, M[m].cfg, 1, path, 0, 5, 5e-3, got, &n, &l1), DC_OK);
		CHECK(l1.interrupted && l1.resumed_epoch == 0);
		CHECK_EQ_INT(ck_run(M[m].k, M[m].cfg, 99, path, 1e-9, 21, 5e-3, got, &n, &l2), DC_OK);
		CHECK(l2.interrupted && l2.resumed_epoch == 1 && l2.resumed_step == 5);
		CHECK_EQ_INT(ck_run(M[m].k, M[m].cfg, 98, path, 0, 0, 5e-3, got, &n, &l3), DC_OK);
		CHECK(!l3.interrupted && l3.resumed_epoch == 2 && l3.resumed_step == 7);
		CHECK(n == n0 && memcmp(ref, got, n * sizeof(float)) == 0);
		CHECK_EQ_INT(l3.best_epoch, lr0.best_epoch);
		CHECK_EQ_INT(l3.epochs_run, lr0.epochs_run);
		CHECK(l3.best_val == lr0.best_val);
		CHECK(memcmp(l3.val_loss, lr0.val_loss, (size_t)lr0.epochs_run * sizeof(double)) == 0);
		CHECK(memcmp(l3.train_loss, lr0.train_loss, (size_t)lr0.epochs_run * sizeof(double)) == 0);
		/* a finished run's checkpoint: nothing left to train, the best parameters */
		CHECK_EQ_INT(ck_run(M[m].k, M[m].cfg, 97, path, 0, 0, 5e-3, got, &n, &l4), DC_OK);
		CHECK(l4.resumed_epoch == lr0.epochs_run + 1 && l4.best_epoch == lr0.best_epoch);
		CHECK(memcmp(ref, got, n * sizeof(float)) == 0);
		/* another learning rate: another run */
		CHECK(ck_run(M[m].k, M[m].cfg, 1, path, 0, 0, 1e-3, got, &n, &l4) == DC_EINVAL);
		CHECK(strstr(dc_errmsg(), "is from another run") != NULL);
		printf("#   %s: resumed at epoch 2 step 7, same %zu parameters, best epoch %d of %d\n", M[m].k->name,
		       n, l3.best_epoch, l3.epochs_run);
	}
	/* the other model's checkpoint, and a file that is none */
	CHECK(ck_run(&dc_fc_dlinear, NULL, 1, path, 0, 0, 5e-3, got, &n, &(struct dc_fc_train_log){ 0 }) ==
	      DC_EINVAL);
	FILE *fp = fopen(path, "wb");
	fputs("not a checkpoint", fp);
	fclose(fp);
	CHECK(ck_run(&dc_fc_dlinear, NULL, 1, path, 0, 0, 5e-3, got, &n, &(struct dc_fc_train_log){ 0 }) != DC_OK);
	CHECK(strncmp(dc_errmsg(), "checkpoint '", 12) == 0);
	/* a folder that cannot be written: DC_EIO, nothing left behind */
	char bad[96];
	snprintf(bad, sizeof bad, "%s/nodir/run.ckpt", dir);
	CHECK(ck_run(&dc_fc_dlinear, NULL, 1, bad, 0, 0, 5e-3, got, &n, &(struct dc_fc_train_log){ 0 }) == DC_EIO);
	remove(path);
	CHECK(rmdir(dir) == 0);
	free(ref);
	free(got);
}

int main(void)
{
	RUN(adam_matches_torch);
	RUN(lr_schedules_match_tslib);
	RUN(mse_loss_and_gradient);
	RUN(early_stopping_keeps_the_best);
	RUN(train_loop_learns_and_is_deterministic);
	RUN(train_refuses_too_few_rows);
	RUN(checkpoint_resume_is_bit_identical);
	return test_summary();
}
