/*
 * train.c - Adam, MSE, learning-rate schedules, early stopping and the
 * forecasting train/score loops (see train.h).
 */
#define _GNU_SOURCE   /* asprintf */
#include "train.h"
#include "../io/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Adam ------------------------------------------------------------------ */

enum dc_status dc_adam_init(struct dc_adam *a, size_t n, double lr)
{
	memset(a, 0, sizeof *a);
	a->lr = lr;
	a->beta1 = 0.9;
	a->beta2 = 0.999;
	a->eps = 1e-8;
	a->n = n;
	a->m = dc_calloc(n ? n : 1, sizeof *a->m);
	a->v = dc_calloc(n ? n : 1, sizeof *a->v);
	if (!a->m || !a->v) {
		dc_adam_release(a);
		return dc_fail(DC_ENOMEM, "cannot allocate optimiser state for %zu parameters", n);
	}
	return DC_OK;
}

void dc_adam_step(struct dc_adam *a, float *params, const float *grads)
{
	a->t++;
	const float b1 = (float)a->beta1, b2 = (float)a->beta2;
	const float omb1 = (float)(1 - a->beta1), omb2 = (float)(1 - a->beta2);
	const double bc1 = 1 - pow(a->beta1, (double)a->t), bc2 = 1 - pow(a->beta2, (double)a->t);
	const float step = (float)(a->lr / bc1), bc2s = (float)sqrt(bc2), eps = (float)a->eps;
	const float wd = (float)a->weight_decay;
	float *m = a->m, *v = a->v;
	size_t n = a->n;
#pragma omp parallel for schedule(static) if (n > (1 << 20)) num_threads(dc_threads())
	for (size_t i = 0; i < n; i++) {
		float g = grads[i];
		if (wd != 0)
			g += wd * params[i];
		m[i] = m[i] * b1 + omb1 * g;
		v[i] = v[i] * b2 + omb2 * g * g;
		float denom = sqrtf(v[i]) / bc2s + eps;
		params[i] -= step * (m[i] / denom);
	}
}

void dc_adam_release(struct dc_adam *a)
{
	dc_free(a->m);
	dc_free(a->v);
	a->m = a->v = NULL;
}

/* ---- loss ---------------------------------------------------------------------- */

double dc_mse_loss(const float *pred, const float *target, size_t N, int C, int c0, float *dpred)
{
	size_t cnt = N * (size_t)(C - c0);
	double s = 0;
	float scale = cnt ? 2.0f / (float)cnt : 0;
	for (size_t i = 0; i < N; i++)
		for (int c = 0; c < C; c++) {
			size_t k = i * (size_t)C + (size_t)c;
			if (c < c0) {
				if (dpred)
					dpred[k] = 0;
				continue;
			}
			float d = pred[k] - target[k];
			s += (double)d * d;
			if (dpred)
				dpred[k] = scale * d;
		}
	return cnt ? s / (double)cnt : 0;
}

void dc_error_sums(const float *pred, const float *target, size_t N, int C, int c0,
                   double *sse, double *sae)
{
	double s = 0, a = 0;
	for (size_t i = 0; i < N; i++)
		for (int c = c0; c < C; c++) {
			double d = (double)pred[i * (size_t)C + (size_t)c] - target[i * (size_t)C + (size_t)c];
			s += d * d;
			a += fabs(d);
		}
	*sse += s;
	*sae += a;
}

/* ---- learning-rate schedules ---------------------------------------------------- */

/* TSLib's lr_adjust value for adjust_learning_rate(optimizer, k, args). */
static double tslib_adjust(const char *schedule, double lr, int k, int epochs, double cur)
{
	if (strcmp(schedule, "type1") == 0)
		return lr * pow(0.5, k - 1);
	if (strcmp(schedule, "type2") == 0) {
		static const int ep[] = { 2, 4, 6, 8, 10, 15, 20 };
		static const double v[] = { 5e-5, 1e-5, 5e-6, 1e-6, 5e-7, 1e-7, 5e-8 };
		for (int i = 0; i < 7; i++)
			if (k == ep[i])
				return v[i];
		return cur; /* not a key: the rate stays */
	}
	if (strcmp(schedule, "type3") == 0)
		return k < 3 ? lr : lr * pow(0.9, k - 3);
	if (strcmp(schedule, "cosine") == 0)
		return lr / 2 * (1 + cos((double)k / epochs * M_PI));
	return lr;
}

double dc_lr_at(const char *schedule, double lr, int epoch, int epochs)
{
	if (strcmp(schedule, "type1") && strcmp(schedule, "type2") && strcmp(schedule, "type3") &&
	    strcmp(schedule, "cosine") && strcmp(schedule, "constant"))
		return -1;
	/* the loop calls adjust_learning_rate(epoch_index + 1) after each epoch,
	 * so epoch e (1-based) runs at the rate set after epoch e-1 */
	double cur = lr;
	for (int k = 1; k < epoch; k++)
		cur = tslib_adjust(schedule, lr, k, epochs, cur);
	return cur;
}

/* ---- early stopping -------------------------------------------------------------- */

enum dc_status dc_early_stop_init(struct dc_early_stop *es, int patience, size_t n)
{
	memset(es, 0, sizeof *es);
	es->patience = patience;
	es->best = INFINITY;
	es->n = n;
	if (!(es->best_params = dc_alloc((n ? n : 1) * sizeof(float))))
		return dc_fail(DC_ENOMEM, "cannot allocate a checkpoint of %zu parameters", n);
	return DC_OK;
}

int dc_early_stop_update(struct dc_early_stop *es, double val, const float *params, int epoch)
{
	if (es->best_epoch == 0 || val < es->best) {
		es->best = val;
		es->best_epoch = epoch;
		es->counter = 0;
		memcpy(es->best_params, params, es->n * sizeof(float));
		return 1;
	}
	if (++es->counter >= es->patience)
		es->stop = 1;
	return 0;
}

void dc_early_stop_release(struct dc_early_stop *es)
{
	dc_free(es->best_params);
	es->best_params = NULL;
}

/* ---- forecasting loops ------------------------------------------------------------- */

struct batch_buf {
	float *x, *xm, *y, *ym, *pred, *truth, *dpred;
	size_t *start;
};

static void batch_free(struct batch_buf *b)
{
	dc_free(b->x);
	dc_free(b->xm);
	dc_free(b->y);
	dc_free(b->ym);
	dc_free(b->pred);
	dc_free(b->truth);
	dc_free(b->dpred);
	dc_free(b->start);
	memset(b, 0, sizeof *b);
}

static enum dc_status batch_alloc(struct batch_buf *b, const struct dc_fc_dims *d, int C, int M, int B)
{
	size_t L = (size_t)d->seq_len, SH = (size_t)d->label_len + (size_t)d->pred_len;
	size_t H = (size_t)d->pred_len, nb = (size_t)B, c = (size_t)C, m = (size_t)M;
	size_t a, bb;
	memset(b, 0, sizeof *b);
	if (dc_mul_size(nb * SH, c + m, &a) || dc_mul_size(nb * L, c + m, &bb))
		return dc_fail(DC_EOVERFLOW, "batch too large");
	b->x = dc_alloc(nb * L * c * sizeof(float));
	b->xm = dc_alloc((nb * L * m + 1) * sizeof(float));
	b->y = dc_alloc(nb * SH * c * sizeof(float));
	b->ym = dc_alloc((nb * SH * m + 1) * sizeof(float));
	b->pred = dc_alloc(nb * H * c * sizeof(float));
	b->truth = dc_alloc(nb * H * c * sizeof(float));
	b->dpred = dc_alloc(nb * H * c * sizeof(float));
	b->start = dc_alloc(nb * sizeof(size_t));
	if (!b->x || !b->xm || !b->y || !b->ym || !b->pred || !b->truth || !b->dpred || !b->start) {
		batch_free(b);
		return dc_fail(DC_ENOMEM, "cannot allocate a batch of %d windows", B);
	}
	return DC_OK;
}

/* Gather a batch and run the forward pass; truth gets y's last H rows. */
static enum dc_status batch_forward(struct dc_forecaster *f, const struct dc_ts *ts, struct batch_buf *b,
                                    int B, int train, uint64_t seed)
{
	const struct dc_fc_dims *d = &f->dims;
	size_t C = (size_t)ts->cols, H = (size_t)d->pred_len, S = (size_t)d->label_len;
	dc_ts_gather(ts, b->start, B, d->seq_len, d->label_len, d->pred_len, b->x, b->xm, b->y, b->ym);
	for (int i = 0; i < B; i++)
		memcpy(b->truth + (size_t)i * H * C, b->y + ((size_t)i * (S + H) + S) * C, H * C * sizeof(float));
	int marks = d->n_marks > 0;
	return f->kind->forward(f, B, b->x, marks ? b->xm : NULL, marks ? b->ym : NULL, b->pred, train, seed);
}

enum dc_status dc_fc_predict_windows(struct dc_forecaster *f, const struct dc_ts *ts, size_t begin,
                                     size_t end, int batch_size,
                                     void (*visit)(void *ctx, size_t first, int B, const float *pred,
                                                   const float *truth),
                                     void *ctx)
{
	const struct dc_fc_dims *d = &f->dims;
	struct dc_ts_split sp = { { 0, 0, begin }, { 0, 0, end } };
	size_t n = dc_ts_windows(&sp, 2, d->seq_len, d->pred_len);
	struct batch_buf b;
	enum dc_status st = batch_alloc(&b, d, ts->cols, ts->n_marks, batch_size);
	if (st)
		return st;
	for (size_t w = 0; w < n; w += (size_t)batch_size) {
		int B = (int)(n - w < (size_t)batch_size ? n - w : (size_t)batch_size);
		for (int i = 0; i < B; i++)
			b.start[i] = begin + w + (size_t)i;
		if ((st = batch_forward(f, ts, &b, B, 0, 0)))
			break;
		visit(ctx, w, B, b.pred, b.truth);
	}
	batch_free(&b);
	return st;
}

struct score_ctx {
	size_t HC;
	int C, c0;
	double sse, sae;
	size_t n;
};

static void score_visit(void *ctx, size_t first, int B, const float *pred, const float *truth)
{
	struct score_ctx *s = ctx;
	dc_error_sums(pred, truth, (size_t)B * s->HC / (size_t)s->C, s->C, s->c0, &s->sse, &s->sae);
	s->n += (size_t)B;
}

enum dc_status dc_fc_score(struct dc_forecaster *f, const struct dc_ts *ts, size_t begin, size_t end,
                           int batch_size, enum dc_ts_features features, double *mse, double *mae,
                           size_t *n_windows)
{
	struct score_ctx s = { (size_t)f->dims.pred_len * (size_t)ts->cols, ts->cols,
		               features == DC_TS_MS ? ts->cols - 1 : 0, 0, 0, 0 };
	enum dc_status st = dc_fc_predict_windows(f, ts, begin, end, batch_size, score_visit, &s);
	if (st)
		return st;
	double cnt = (double)s.n * (double)f->dims.pred_len * (double)(s.C - s.c0);
	*mse = cnt > 0 ? s.sse / cnt : NAN;
	*mae = cnt > 0 ? s.sae / cnt : NAN;
	if (n_windows)
		*n_windows = s.n;
	return DC_OK;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- checkpoints ----------------------------------------------------------------- */

#define CKPT_FORMAT "ts-forecast checkpoint 1"

/* where training stands: resume in epoch `epoch` after `step` steps of it */
struct ckpt_pos {
	int epoch, finished;
	size_t step;
	double tsum;
};

/* FNV-1a over the scaled training and validation rows */
static uint64_t data_hash(const struct dc_ts *ts, const struct dc_ts_split *sp)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t r1 = sp->end[1] > sp->end[0] ? sp->end[1] : sp->end[0];
	const unsigned char *p = (const unsigned char *)(ts->data + sp->begin[0] * ts->cols);
	size_t n = (r1 - sp->begin[0]) * ts->cols * sizeof(float);
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static char *run_fingerprint(const struct dc_forecaster *f, const struct dc_ts *ts, const struct dc_ts_split *sp,
                             const struct dc_fc_train_opts *o)
{
	char *s = NULL;
	if (asprintf(&s, "%s|params %zu|seed %" PRIu64 "|epochs %d|batch %d|patience %d|lr %.17g|%s|features %d"
	                 "|split %zu-%zu %zu-%zu|data %016" PRIx64,
	             o->fingerprint ? o->fingerprint : "", f->n_params, o->seed, o->epochs, o->batch_size,
	             o->patience, o->lr, o->lr_schedule, (int)o->features, sp->begin[0], sp->end[0], sp->begin[1],
	             sp->end[1], data_hash(ts, sp)) < 0)
		return NULL;
	return s;
}

static enum dc_status ckpt_save(const char *path, const char *fp, const struct dc_forecaster *f,
                                const struct dc_adam *a, const struct dc_early_stop *es,
                                const struct dc_fc_train_log *log, const struct ckpt_pos *pos)
{
	char num[8][32], *losses[2] = { NULL, NULL }, *part = NULL;
	int ne = log->epochs_run < 64 ? log->epochs_run : 64;
	for (int k = 0; k < 2; k++) {
		const double *v = k ? log->val_loss : log->train_loss;
		if (!(losses[k] = malloc((size_t)ne * 26 + 1)))
			return dc_fail(DC_ENOMEM, "out of memory");
		char *q = losses[k];
		*q = 0;
		for (int e = 0; e < ne; e++)
			q += sprintf(q, e ? ",%.17g" : "%.17g", v[e]);
	}
	snprintf(num[0], 32, "%d", pos->epoch);
	snprintf(num[1], 32, "%zu", pos->step);
	snprintf(num[2], 32, "%.17g", pos->tsum);
	snprintf(num[3], 32, "%d", pos->finished);
	snprintf(num[4], 32, "%" PRId64, a->t);
	snprintf(num[5], 32, "%.17g", es->best);
	snprintf(num[6], 32, "%d %d %d", es->best_epoch, es->counter, es->stop);
	snprintf(num[7], 32, "%d", log->epochs_run);
	struct dc_st_kv meta[] = {
		{ "format", CKPT_FORMAT }, { "fingerprint", fp }, { "epoch", num[0] }, { "step", num[1] },
		{ "train_loss_sum", num[2] }, { "finished", num[3] }, { "adam_t", num[4] }, { "best_val", num[5] },
		{ "early_stop", num[6] }, { "epochs_run", num[7] }, { "train_loss", losses[0] },
		{ "val_loss", losses[1] },
	};
	int64_t shape[1] = { (int64_t)f->n_params };
	struct dc_st_write_entry e[] = {
		{ "params", DC_F32, 1, shape, f->params },
		{ "adam_m", DC_F32, 1, shape, a->m },
		{ "adam_v", DC_F32, 1, shape, a->v },
		{ "best_params", DC_F32, 1, shape, es->best_params },
	};
	enum dc_status st = DC_OK;
	FILE *fp_out = NULL;
	if (asprintf(&part, "%s.part", path) < 0) {
		st = dc_fail(DC_ENOMEM, "out of memory");
		goto out;
	}
	if (!(fp_out = fopen(part, "wb"))) {
		st = dc_fail(DC_EIO, "cannot write checkpoint '%s': %s", part, strerror(errno));
		goto out;
	}
	st = dc_safetensors_write(fp_out, e, 4, meta, sizeof meta / sizeof *meta);
	if (fclose(fp_out) != 0 && !st)
		st = dc_fail(DC_EIO, "cannot write checkpoint '%s': %s", part, strerror(errno));
	if (!st && rename(part, path) != 0)
		st = dc_fail(DC_EIO, "cannot write checkpoint '%s': %s", path, strerror(errno));
	if (st)
		remove(part);
out:
	free(part);
	free(losses[0]);
	free(losses[1]);
	return st;
}

/* a comma-separated list of up to 64 doubles */
static int parse_losses(const char *s, double *v, int n)
{
	for (int e = 0; e < n; e++) {
		char *end;
		v[e] = strtod(s, &end);
		if (end == s || (*end != ',' && *end != 0) || (*end == 0 && e != n - 1))
			return -1;
		s = end + (*end == ',');
	}
	return 0;
}

/* DC_ENOTFOUND (and nothing changed) when the file does not exist */
static enum dc_status ckpt_load(const char *path, const char *fp, struct dc_forecaster *f, struct dc_adam *a,
                                struct dc_early_stop *es, struct dc_fc_train_log *log, struct ckpt_pos *pos)
{
	FILE *probe = fopen(path, "rb");
	if (!probe) {
		if (errno == ENOENT)
			return DC_ENOTFOUND;
		return dc_fail(DC_EIO, "cannot read checkpoint '%s': %s", path, strerror(errno));
	}
	fclose(probe);
	struct dc_safetensors *st;
	enum dc_status s = dc_safetensors_open(&st, path);
	if (s)
		return dc_fail(s, "checkpoint '%s': %s", path, dc_errmsg());
	const char *fmt = dc_safetensors_meta(st, "format"), *fpr = dc_safetensors_meta(st, "fingerprint");
	const char *v[10] = { dc_safetensors_meta(st, "epoch"), dc_safetensors_meta(st, "step"),
		              dc_safetensors_meta(st, "train_loss_sum"), dc_safetensors_meta(st, "finished"),
		              dc_safetensors_meta(st, "adam_t"), dc_safetensors_meta(st, "best_val"),
		              dc_safetensors_meta(st, "early_stop"), dc_safetensors_meta(st, "epochs_run"),
		              dc_safetensors_meta(st, "train_loss"), dc_safetensors_meta(st, "val_loss") };
	if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
		s = dc_fail(DC_EFORMAT, "'%s' is not a ts-forecast checkpoint", path);
		goto out;
	}
	if (!fpr || strcmp(fpr, fp) != 0) {
		s = dc_fail(DC_EINVAL, "checkpoint '%s' is from another run (model, options or data differ)", path);
		goto out;
	}
	for (int k = 0; k < 10; k++)
		if (!v[k]) {
			s = dc_fail(DC_EFORMAT, "checkpoint '%s': incomplete metadata", path);
			goto out;
		}
	struct ckpt_pos p;
	int64_t t;
	int er, bep, cnt, stp;
	double best;
	if (sscanf(v[0], "%d", &p.epoch) != 1 || sscanf(v[1], "%zu", &p.step) != 1 ||
	    sscanf(v[2], "%lf", &p.tsum) != 1 || sscanf(v[3], "%d", &p.finished) != 1 ||
	    sscanf(v[4], "%" SCNd64, &t) != 1 || sscanf(v[5], "%lf", &best) != 1 ||
	    sscanf(v[6], "%d %d %d", &bep, &cnt, &stp) != 3 || sscanf(v[7], "%d", &er) != 1 || p.epoch < 1 ||
	    er < 0 || er >= p.epoch || t < 0) {
		s = dc_fail(DC_EFORMAT, "checkpoint '%s': bad metadata", path);
		goto out;
	}
	int ne = er < 64 ? er : 64;
	double tl[64], vl[64];
	if (ne && (parse_losses(v[8], tl, ne) || parse_losses(v[9], vl, ne))) {
		s = dc_fail(DC_EFORMAT, "checkpoint '%s': bad loss log", path);
		goto out;
	}
	if ((s = dc_safetensors_get_f32(st, "params", f->params, f->n_params)) ||
	    (s = dc_safetensors_get_f32(st, "adam_m", a->m, f->n_params)) ||
	    (s = dc_safetensors_get_f32(st, "adam_v", a->v, f->n_params)) ||
	    (s = dc_safetensors_get_f32(st, "best_params", es->best_params, f->n_params))) {
		s = dc_fail(s, "checkpoint '%s': %s", path, dc_errmsg());
		goto out;
	}
	a->t = t;
	es->best = best;
	es->best_epoch = bep;
	es->counter = cnt;
	es->stop = stp;
	log->epochs_run = er;
	memcpy(log->train_loss, tl, (size_t)ne * sizeof(double));
	memcpy(log->val_loss, vl, (size_t)ne * sizeof(double));
	*pos = p;
out:
	dc_safetensors_close(st);
	return s;
}

enum dc_status dc_fc_train(struct dc_forecaster *f, const struct dc_ts *ts, const struct dc_ts_split *sp,
                           const struct dc_fc_train_opts *o, struct dc_fc_train_log *log)
{
	const struct dc_fc_dims *d = &f->dims;
	enum dc_status st;
	memset(log, 0, sizeof *log);
	if (!ts->data)
		return dc_fail(DC_EINVAL, "dataset not scaled");
	if (d->n_vars != ts->cols)
		return dc_fail(DC_EINVAL, "model has %d variables, data %d", d->n_vars, ts->cols);
	if (o->batch_size <= 0 || o->epochs <= 0)
		return dc_fail(DC_EINVAL, "invalid batch size or epochs");
	size_t n_train = dc_ts_windows(sp, 0, d->seq_len, d->pred_len);
	size_t n_val = dc_ts_windows(sp, 1, d->seq_len, d->pred_len);
	if (n_train == 0)
		return dc_fail(DC_EINVAL, "too few rows: the training part has %zu rows, seq_len + horizon = %d",
		               sp->end[0] - sp->begin[0], d->seq_len + d->pred_len);
	if (dc_lr_at(o->lr_schedule, o->lr, 1, o->epochs) < 0)
		return dc_fail(DC_EINVAL, "unknown learning-rate schedule '%s'", o->lr_schedule);
	int C = ts->cols, c0 = o->features == DC_TS_MS ? C - 1 : 0;
	size_t HC = (size_t)d->pred_len * (size_t)C;
	struct batch_buf b;
	struct dc_adam adam = { 0 };
	struct dc_early_stop es = { 0 };
	char *fp = NULL;
	size_t *idx = dc_alloc(n_train * sizeof *idx);
	if (!idx)
		return dc_fail(DC_ENOMEM, "out of memory");
	if ((st = batch_alloc(&b, d, C, ts->n_marks, o->batch_size))) {
		dc_free(idx);
		return st;
	}
	if ((st = dc_adam_init(&adam, f->n_params, o->lr)) ||
	    (st = dc_early_stop_init(&es, o->patience, f->n_params)))
		goto done;
	size_t steps = (n_train + (size_t)o->batch_size - 1) / (size_t)o->batch_size;
	struct ckpt_pos pos = { 1, 0, 0, 0 };
	if (o->checkpoint) {
		if (!(fp = run_fingerprint(f, ts, sp, o))) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto done;
		}
		st = ckpt_load(o->checkpoint, fp, f, &adam, &es, log, &pos);
		if (st == DC_ENOTFOUND)
			st = DC_OK;
		else if (st)
			goto done;
		else {
			if (pos.epoch > o->epochs + 1 || pos.step > steps) {
				st = dc_fail(DC_EFORMAT, "checkpoint '%s': bad position", o->checkpoint);
				goto done;
			}
			log->resumed_epoch = pos.epoch;
			log->resumed_step = pos.step;
		}
	}
	double last_save = dc_time();
	for (int epoch = pos.epoch; !pos.finished && epoch <= o->epochs; epoch++) {
		adam.lr = dc_lr_at(o->lr_schedule, o->lr, epoch, o->epochs);
		for (size_t i = 0; i < n_train; i++)
			idx[i] = i;
		dc_ts_shuffle(idx, n_train, o->seed, 0x5348554646ULL + (uint64_t)epoch);
		int first = epoch == pos.epoch;
		double tsum = first ? pos.tsum : 0;
		for (size_t s = first ? pos.step : 0; s < steps; s++) {
			size_t w = s * (size_t)o->batch_size;
			int B = (int)(n_train - w < (size_t)o->batch_size ? n_train - w : (size_t)o->batch_size);
			for (int i = 0; i < B; i++)
				b.start[i] = sp->begin[0] + idx[w + (size_t)i];
			dc_fc_zero_grad(f);
			uint64_t dseed = mix64(o->seed ^ mix64(((uint64_t)epoch << 40) ^ s));
			if ((st = batch_forward(f, ts, &b, B, 1, dseed)))
				goto done;
			double loss = dc_mse_loss(b.pred, b.truth, (size_t)B * HC / (size_t)C, C, c0, b.dpred);
			if (!isfinite(loss)) {
				st = dc_fail(DC_EINVAL, "training diverged (loss %g in epoch %d)", loss, epoch);
				goto done;
			}
			tsum += loss;
			if ((st = f->kind->backward(f, B, b.dpred)))
				goto done;
			dc_adam_step(&adam, f->params, f->grads);
			if (o->progress)
				o->progress(o->ctx, epoch, o->epochs, s + 1, steps, tsum / (double)(s + 1), NAN);
			int stop = o->stop && o->stop(o->ctx);
			if (o->checkpoint && (stop || (o->checkpoint_seconds > 0 && s + 1 < steps &&
			                               dc_time() - last_save >= o->checkpoint_seconds))) {
				struct ckpt_pos at = { epoch, 0, s + 1, tsum };
				if ((st = ckpt_save(o->checkpoint, fp, f, &adam, &es, log, &at)))
					goto done;
				last_save = dc_time();
			}
			if (stop) {
				log->interrupted = 1;
				goto done;
			}
		}
		double tl = tsum / (double)steps, vl = tl;
		if (n_val > 0) {
			double mae;
			if ((st = dc_fc_score(f, ts, sp->begin[1], sp->end[1], o->batch_size, o->features, &vl, &mae,
			                      NULL)))
				goto done;
		}
		if (epoch <= 64) {
			log->train_loss[epoch - 1] = tl;
			log->val_loss[epoch - 1] = vl;
		}
		log->epochs_run = epoch;
		log->last_train = tl;
		dc_early_stop_update(&es, vl, f->params, epoch);
		if (o->progress)
			o->progress(o->ctx, epoch, o->epochs, steps, steps, tl, vl);
		if (o->checkpoint) {
			struct ckpt_pos at = { epoch + 1, es.stop || epoch == o->epochs, 0, 0 };
			if ((st = ckpt_save(o->checkpoint, fp, f, &adam, &es, log, &at)))
				goto done;
			last_save = dc_time();
		}
		if (o->epoch_done) {
			log->best_epoch = es.best_epoch;
			log->best_val = es.best;
			o->epoch_done(o->ctx, log);
		}
		if (es.stop)
			break;
	}
	memcpy(f->params, es.best_params, f->n_params * sizeof(float));
	log->best_epoch = es.best_epoch;
	log->best_val = es.best;
done:
	free(fp);
	dc_early_stop_release(&es);
	dc_adam_release(&adam);
	batch_free(&b);
	dc_free(idx);
	return st;
}
