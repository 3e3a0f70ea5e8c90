/*
 * ts_train_dump.c - the training loop of `ts-forecast eval` (dc_fc_train:
 * batch order, Adam, learning-rate schedule, validation) on a real dataset,
 * written out for tests/bench/ts_train_parity.py to replay step by step in
 * Time-Series-Library's PyTorch model from the same initial weights, on the
 * same batches.  ts_parity_full.sh checks one forward and backward; this
 * checks the hundreds of steps after it.  With dropout 0 both sides compute
 * the same function, so the losses must track each other step by step.
 *
 *   ts_train_dump MODEL DATA.csv HORIZON THREADS JSON EPOCHS OUT.safetensors [SEED]
 *
 * DATA.csv: an ETTh file (split "ett", scaled on its training part, as
 * eval; hourly time features, as TSLib's defaults); JSON: the hyperparameters (TSLib names) with "dropout": 0; batch
 * 32, lr 1e-4, type1, seed 2021 unless given.  OUT holds the initial
 * parameters (state_dict names), "order" (the training windows of each
 * epoch in batch order, [EPOCHS][n_train], as offsets into the training
 * part: TSLib's dataset index), "loss" (each step's training MSE) and
 * "val" (the validation MSE after each epoch, every window).  EPOCHS 0:
 * only the initial parameters, for ts_reference.py's TS_INIT (TSLib's own
 * training from ts-forecast's initial weights).
 */
#include "models/forecast.h"
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXE (DC_FC_MAX_TENSORS + 4)

struct rec {
	double *loss, prev;
	size_t steps, n;
};

static void progress(void *ctx, int epoch, int epochs, size_t step, size_t steps, double tl, double vl)
{
	struct rec *r = ctx;
	(void)epochs;
	if (vl == vl)  // the validation call, not a step
		return;
	// the loop reports the running mean of the epoch's losses: undo it
	size_t k = (size_t)(epoch - 1) * steps + step - 1;
	double sum = tl * (double)step, loss = step == 1 ? sum : sum - r->prev;
	r->prev = sum;
	if (k < r->n)
		r->loss[k] = loss;
	r->steps = steps;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: ts_train_dump MODEL DATA.csv HORIZON THREADS JSON EPOCHS OUT [SEED]\n");
		return 2;
	}
	const struct dc_fc_model *kind = dc_fc_model_find(argv[1]);
	int H = atoi(argv[3]), T = atoi(argv[4]), E = atoi(argv[6]);
	uint64_t seed = argc > 8 ? strtoull(argv[8], NULL, 10) : 2021;
	if (!kind || H <= 0 || T <= 0 || E < 0 || E > 64) {
		fprintf(stderr, "ts_train_dump: bad model, horizon, threads or epochs\n");
		return 2;
	}
	dc_set_threads(T);
	FILE *fp = fopen(argv[2], "r");
	struct dc_csv csv;
	struct dc_ts ts;
	struct dc_ts_split sp;
	if (!fp || dc_csv_read(fp, &csv) || dc_ts_from_csv(&ts, &csv, DC_TS_M, "OT", 'h') ||
	    dc_ts_split_ett(&sp, ts.rows, ts.step, 96) || dc_ts_fit_scaler(&ts, sp.begin[0], sp.end[0])) {
		fprintf(stderr, "ts_train_dump: %s: %s\n", argv[2], dc_errmsg());
		return 1;
	}
	fclose(fp);
	struct dc_config *cfg = NULL;
	struct dc_forecaster f;
	struct dc_fc_dims dims = { 96, 48, H, ts.cols, ts.n_marks };
	if (dc_config_parse(&cfg, argv[5], strlen(argv[5])) || dc_fc_create(&f, kind, &dims, cfg, seed)) {
		fprintf(stderr, "ts_train_dump: %s\n", dc_errmsg());
		return 1;
	}
	dc_config_free(cfg);
	size_t n_train = dc_ts_windows(&sp, 0, 96, H), bs = 32, steps = (n_train + bs - 1) / bs;
	size_t Ea = E > 0 ? (size_t)E : 1;  // buffers are never empty
	float *p0 = dc_alloc(f.n_params * 4), *order = dc_alloc(Ea * n_train * 4);
	float *val = dc_alloc(Ea * 4);
	size_t *idx = dc_alloc(n_train * sizeof *idx);
	struct rec r = { dc_alloc(Ea * steps * sizeof(double)), 0, 0, (size_t)E * steps };
	float *lossf = dc_alloc(Ea * steps * 4);
	if (!p0 || !order || !val || !idx || !r.loss || !lossf)
		return 1;
	memcpy(p0, f.params, f.n_params * 4);
	for (int e = 1; e <= E; e++) {  // the loop's own shuffle, repeated here for the replay
		for (size_t i = 0; i < n_train; i++)
			idx[i] = i;
		dc_ts_shuffle(idx, n_train, seed, 0x5348554646ULL + (uint64_t)e);
		for (size_t i = 0; i < n_train; i++)
			order[(size_t)(e - 1) * n_train + i] = (float)idx[i];
	}
	struct dc_fc_train_opts o = { .epochs = E, .batch_size = (int)bs, .patience = 100, .lr = 1e-4,
		                      .lr_schedule = "type1", .seed = seed, .features = DC_TS_M,
		                      .progress = progress, .ctx = &r };
	struct dc_fc_train_log log = { 0 };
	double t0 = dc_time();
	if (E > 0 && dc_fc_train(&f, &ts, &sp, &o, &log)) {
		fprintf(stderr, "ts_train_dump: %s\n", dc_errmsg());
		return 1;
	}
	for (int e = 0; e < E; e++)
		val[e] = (float)log.val_loss[e];
	for (size_t k = 0; k < r.n; k++)
		lossf[k] = (float)r.loss[k];
	fprintf(stderr, "ts_train_dump: %zu windows, %zu steps an epoch, %.1f s; val", n_train, steps,
	        dc_time() - t0);
	for (int e = 0; e < E; e++)
		fprintf(stderr, " %.6f", val[e]);
	fprintf(stderr, "\n");
	static struct dc_st_write_entry ent[MAXE];
	size_t n = 0;
	for (int i = 0; i < f.n_tensors; i++) {
		const struct dc_fc_tensor *t = &f.tensors[i];
		ent[n++] = (struct dc_st_write_entry){ t->name, DC_F32, t->rank, t->shape, p0 + t->offset };
	}
	int64_t so[2] = { E, (int64_t)n_train }, sl[1] = { (int64_t)r.n }, sv[1] = { E };
	if (E > 0) {
		ent[n++] = (struct dc_st_write_entry){ "order", DC_F32, 2, so, order };
		ent[n++] = (struct dc_st_write_entry){ "loss", DC_F32, 1, sl, lossf };
		ent[n++] = (struct dc_st_write_entry){ "val", DC_F32, 1, sv, val };
	}
	char hs[16];
	snprintf(hs, sizeof hs, "%d", H);
	struct dc_st_kv meta[3] = { { "model", kind->name }, { "config", argv[5] }, { "horizon", hs } };
	FILE *out = fopen(argv[7], "wb");
	if (!out || dc_safetensors_write(out, ent, n, meta, 3) || fclose(out)) {
		fprintf(stderr, "ts_train_dump: cannot write '%s'\n", argv[7]);
		return 1;
	}
	return 0;
}
