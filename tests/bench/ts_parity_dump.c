/*
 * ts_parity_dump.c - one training-mode forward and backward of a
 * ts-forecast model at full size, written out for tests/bench/
 * ts_parity_full.py to repeat in Time-Series-Library's PyTorch model.  The
 * unit tests check every model against TSLib on tiny configurations; this
 * checks the kernel paths that only the published sizes take (d_model 512,
 * head widths 32 to 256, thousands of tokens, blocked and threaded GEMMs).
 *
 *   ts_parity_dump MODEL HORIZON THREADS JSON OUT.safetensors [BATCH [RUNS]]
 *
 * JSON: the hyperparameters (TSLib names); use "dropout": 0, so that both
 * sides compute the same function.  With RUNS > 0 (and a dropout above 0)
 * it writes instead, for the dropout's statistics, the per-element mean
 * and standard deviation of y over RUNS training forwards with seeds 1 ..
 * RUNS (y_mean, y_std; no gradients): a dropout site missing or extra, or
 * wrongly scaled, moves them away from the reference's.  Batch (default 8) of random windows of
 * the ETTh1 shape (7 channels, 4 time features, lookback 96, label 48).
 * OUT holds the initial parameters under their state_dict names, the
 * inputs (x, x_mark, y_mark, target), the output y and, under "grad.NAME",
 * the gradient of the MSE loss against target.
 */
#include "models/forecast.h"
#include "nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXE (2 * DC_FC_MAX_TENSORS + 8)

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: ts_parity_dump MODEL HORIZON THREADS JSON OUT [BATCH [RUNS]]\n");
		return 2;
	}
	const struct dc_fc_model *kind = dc_fc_model_find(argv[1]);
	int H = atoi(argv[2]), T = atoi(argv[3]), B = argc > 6 ? atoi(argv[6]) : 8;
	int runs = argc > 7 ? atoi(argv[7]) : 0;
	if (!kind || H <= 0 || T <= 0 || B <= 0 || runs < 0) {
		fprintf(stderr, "ts_parity_dump: bad model, horizon, threads or batch\n");
		return 2;
	}
	dc_set_threads(T);
	int L = 96, S = kind->uses_decoder ? 48 : 0, C = 7, M = kind->uses_marks ? 4 : 0;
	struct dc_fc_dims dims = { L, S, H, C, M };
	struct dc_config *cfg = NULL;
	struct dc_forecaster f;
	if (dc_config_parse(&cfg, argv[4], strlen(argv[4])) || dc_fc_create(&f, kind, &dims, cfg, 2021)) {
		fprintf(stderr, "ts_parity_dump: %s\n", dc_errmsg());
		return 1;
	}
	dc_config_free(cfg);
	size_t nx = (size_t)B * L * C, ny = (size_t)B * H * C;
	size_t nxm = (size_t)B * L * (M ? M : 1), nym = (size_t)B * (S + H) * (M ? M : 1);
	float *p0 = dc_alloc(f.n_params * 4), *x = dc_alloc(nx * 4), *xm = dc_alloc(nxm * 4);
	float *ym = dc_alloc(nym * 4), *tg = dc_alloc(ny * 4), *y = dc_alloc(ny * 4), *dy = dc_alloc(ny * 4);
	if (!p0 || !x || !xm || !ym || !tg || !y || !dy) {
		fprintf(stderr, "ts_parity_dump: out of memory\n");
		return 1;
	}
	memcpy(p0, f.params, f.n_params * 4);  // before the forward moves BatchNorm's statistics
	dc_rng_normal(11, 0, 0, x, nx);
	dc_rng_uniform(11, 1, 0, xm, nxm);
	dc_rng_uniform(11, 2, 0, ym, nym);
	dc_rng_normal(11, 3, 0, tg, ny);
	for (size_t i = 0; i < nxm; i++)
		xm[i] -= 0.5f;  // TSLib's timeF features lie in [-0.5, 0.5]
	for (size_t i = 0; i < nym; i++)
		ym[i] -= 0.5f;
	double *s1 = runs ? calloc(ny, sizeof *s1) : NULL, *s2 = runs ? calloc(ny, sizeof *s2) : NULL;
	if (runs && (!s1 || !s2))
		return 1;
	for (int r = 1; r <= runs; r++) {  // dropout statistics: y (mean) and dy (std) hold them
		if (kind->forward(&f, B, x, M ? xm : NULL, M ? ym : NULL, y, 1, (uint64_t)r)) {
			fprintf(stderr, "ts_parity_dump: %s\n", dc_errmsg());
			return 1;
		}
		for (size_t i = 0; i < ny; i++) {
			s1[i] += y[i];
			s2[i] += (double)y[i] * y[i];
		}
	}
	for (size_t i = 0; runs && i < ny; i++) {
		double m = s1[i] / runs, v = s2[i] / runs - m * m;
		y[i] = (float)m;
		dy[i] = (float)sqrt(v > 0 ? v * runs / (runs > 1 ? runs - 1 : 1) : 0);
	}
	dc_fc_zero_grad(&f);
	if (!runs && (kind->forward(&f, B, x, M ? xm : NULL, M ? ym : NULL, y, 1, 1) ||
	              kind->backward(&f, B, (dc_nn_mse(dy, y, tg, ny), dy)))) {
		fprintf(stderr, "ts_parity_dump: %s\n", dc_errmsg());
		return 1;
	}
	static struct dc_st_write_entry e[MAXE];
	static char gname[DC_FC_MAX_TENSORS][DC_FC_NAME_MAX + 8];
	size_t n = 0;
	for (int i = 0; i < f.n_tensors; i++) {
		const struct dc_fc_tensor *t = &f.tensors[i];
		e[n++] = (struct dc_st_write_entry){ t->name, DC_F32, t->rank, t->shape, p0 + t->offset };
		snprintf(gname[i], sizeof gname[i], "grad.%s", t->name);
		if (!runs)
			e[n++] = (struct dc_st_write_entry){ gname[i], DC_F32, t->rank, t->shape, f.grads + t->offset };
	}
	int64_t sx[3] = { B, L, C }, sxm[3] = { B, L, M }, sym[3] = { B, S + H, M }, sy[3] = { B, H, C };
	e[n++] = (struct dc_st_write_entry){ "x", DC_F32, 3, sx, x };
	if (M) {
		e[n++] = (struct dc_st_write_entry){ "x_mark", DC_F32, 3, sxm, xm };
		e[n++] = (struct dc_st_write_entry){ "y_mark", DC_F32, 3, sym, ym };
	}
	e[n++] = (struct dc_st_write_entry){ "target", DC_F32, 3, sy, tg };
	e[n++] = (struct dc_st_write_entry){ runs ? "y_mean" : "y", DC_F32, 3, sy, y };
	if (runs)
		e[n++] = (struct dc_st_write_entry){ "y_std", DC_F32, 3, sy, dy };
	char rs[16];
	snprintf(rs, sizeof rs, "%d", runs);
	struct dc_st_kv meta[3] = { { "model", kind->name }, { "config", argv[4] }, { "runs", rs } };
	FILE *out = fopen(argv[5], "wb");
	if (!out || dc_safetensors_write(out, e, n, meta, 3) || fclose(out)) {
		fprintf(stderr, "ts_parity_dump: cannot write '%s'\n", argv[5]);
		return 1;
	}
	dc_fc_release(&f);
	free(s1);
	free(s2);
	dc_free(p0); dc_free(x); dc_free(xm); dc_free(ym); dc_free(tg); dc_free(y); dc_free(dy);
	return 0;
}
