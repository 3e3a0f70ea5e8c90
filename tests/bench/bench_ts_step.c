/*
 * bench_ts_step.c - one training step of a ts-forecast model, timed: the
 * forward in training mode (dropout on), the MSE gradient, the backward and
 * the Adam update, on a batch of random windows of the ETTh1 shape (7
 * channels, 4 time features, lookback 96, label 48).  The peer is
 * tests/bench/ts_step_torch.py (Time-Series-Library's own model class in
 * PyTorch, the same step); tests/bench/ts_step.sh runs both.
 *
 *   bench_ts_step MODEL HORIZON RUNS THREADS [JSON]
 *
 * JSON holds the hyperparameters (TSLib names), e.g. {"d_model":256}.
 * Prints: ours MODEL H params min_ms median_ms loss, where params counts
 * the trainable ones (not BatchNorm's running statistics) and loss is the
 * first step's MSE against zeros (a check that the step ran, not a parity
 * number: the weights are ours, not torch's).
 */
#include "models/forecast.h"
#include "nn/nn.h"
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: bench_ts_step MODEL HORIZON RUNS THREADS [JSON]\n");
		return 2;
	}
	const struct dc_fc_model *kind = dc_fc_model_find(argv[1]);
	int H = atoi(argv[2]), R = atoi(argv[3]), T = atoi(argv[4]);
	const char *js = argc > 5 ? argv[5] : "{}";
	if (!kind || H <= 0 || R <= 0 || T <= 0) {
		fprintf(stderr, "bench_ts_step: bad model, horizon, runs or threads\n");
		return 2;
	}
	dc_set_threads(T);
	struct dc_config *cfg = NULL;
	struct dc_forecaster f;
	int L = 96, S = kind->uses_decoder ? 48 : 0, C = 7, M = 4, B = 32;
	struct dc_fc_dims dims = { L, S, H, C, kind->uses_marks ? M : 0 };
	struct dc_adam opt;
	if (dc_config_parse(&cfg, js, strlen(js)) || dc_fc_create(&f, kind, &dims, cfg, 2021) ||
	    dc_adam_init(&opt, f.n_params, 1e-4)) {
		fprintf(stderr, "bench_ts_step: %s\n", dc_errmsg());
		return 1;
	}
	dc_config_free(cfg);
	size_t nx = (size_t)B * L * C, ny = (size_t)B * H * C;
	size_t nxm = (size_t)B * L * M, nym = (size_t)B * (S + H) * M;
	float *x = dc_alloc(nx * 4), *xm = dc_alloc(nxm * 4), *ym = dc_alloc(nym * 4);
	float *y = dc_alloc(ny * 4), *dy = dc_alloc(ny * 4), *zero = dc_calloc(ny, 4);
	double *t = malloc((size_t)R * sizeof *t), loss0 = 0;
	if (!x || !xm || !ym || !y || !dy || !zero || !t) {
		fprintf(stderr, "bench_ts_step: out of memory\n");
		return 1;
	}
	dc_rng_normal(7, 0, 0, x, nx);
	dc_rng_uniform(7, 1, 0, xm, nxm);
	dc_rng_uniform(7, 2, 0, ym, nym);
	for (int i = 0; i <= R; i++) {  // step 0 warms up (allocates the caches)
		double t0 = dc_time();
		dc_fc_zero_grad(&f);
		const float *a = kind->uses_marks ? xm : NULL, *b = kind->uses_marks ? ym : NULL;
		if (kind->forward(&f, B, x, a, b, y, 1, (uint64_t)i)) {
			fprintf(stderr, "bench_ts_step: %s\n", dc_errmsg());
			return 1;
		}
		double l = dc_nn_mse(dy, y, zero, ny);
		if (i == 0)
			loss0 = l;
		kind->backward(&f, B, dy);
		dc_adam_step(&opt, f.params, f.grads);
		if (i > 0)
			t[i - 1] = dc_time() - t0;
	}
	qsort(t, (size_t)R, sizeof *t, cmp_double);
	size_t trainable = 0, n;
	for (int i = 0; i < f.n_tensors; i++)
		if (!strstr(f.tensors[i].name, "running_") && !strstr(f.tensors[i].name, "num_batches_tracked") &&
		    !dc_shape_numel(f.tensors[i].rank, f.tensors[i].shape, &n))
			trainable += n;
	printf("ours\t%s\t%d\t%zu\t%.1f\t%.1f\t%.6g\n", kind->name, H, trainable, 1e3 * t[0],
	       1e3 * t[R / 2], loss0);
	dc_adam_release(&opt);
	dc_fc_release(&f);
	dc_free(x); dc_free(xm); dc_free(ym); dc_free(y); dc_free(dy); dc_free(zero);
	free(t);
	return 0;
}
