/*
 * train.h - training: Adam, MSE loss, learning-rate schedules, early
 * stopping with the best checkpoint kept, and the forecasting loop of
 * Time-Series-Library's Exp_Long_Term_Forecast (train on the train windows
 * in shuffled mini-batches, validate each epoch, stop after `patience`
 * epochs without improvement, reload the best parameters, score the test
 * windows).
 *
 * Everything is deterministic for a given seed and thread count: the batch
 * order comes from Philox (seed, epoch) and dropout masks from
 * (seed, epoch, step); reductions run in a fixed order.
 *
 * Objects are owned by the caller; not thread-safe per object.
 */
#ifndef DC_TRAIN_H
#define DC_TRAIN_H

#include "../core/core.h"
#include "../models/forecast.h"
#include "../ts/ts.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Adam (torch.optim.Adam, amsgrad off) ------------------------------- */

struct dc_adam {
	double lr, beta1, beta2, eps, weight_decay;
	int64_t t;          /* steps taken */
	size_t n;
	float *m, *v;       /* [n] moments, owned */
};

/* torch defaults: beta 0.9/0.999, eps 1e-8, no weight decay. */
enum dc_status dc_adam_init(struct dc_adam *a, size_t n, double lr);
/* One step: p -= lr * mhat / (sqrt(vhat) + eps), exactly torch's formula
 * (bias corrections 1 - beta^t, denominator sqrt(v)/sqrt(bc2) + eps). */
void dc_adam_step(struct dc_adam *a, float *params, const float *grads);
void dc_adam_release(struct dc_adam *a);

/* ---- loss --------------------------------------------------------------- */

/*
 * Mean squared error over the channels [c0, C) of pred/target [N][C]
 * (c0 = C-1 for features MS, else 0).  If dpred is not NULL it receives
 * d loss / d pred ([N][C], zero on the channels not scored).
 */
double dc_mse_loss(const float *pred, const float *target, size_t N, int C, int c0, float *dpred);
/* Sums of squared and absolute errors over channels [c0, C) (for metrics). */
void dc_error_sums(const float *pred, const float *target, size_t N, int C, int c0,
                   double *sse, double *sae);

/* ---- learning rate ---------------------------------------------------------- */

/*
 * TSLib utils/tools.py adjust_learning_rate, which Exp_Long_Term_Forecast
 * calls after each epoch with the 1-based number of the epoch just run, k:
 *   type1   lr * 0.5^(k-1)
 *   type2   fixed table {2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8}
 *           (other k leave the rate as it is)
 *   type3   lr for k < 3, then lr * 0.9^(k-3)
 *   cosine  lr/2 * (1 + cos(pi * k / epochs))
 *   constant lr
 * dc_lr_at returns the rate used in (1-based) epoch `epoch`, i.e. the value
 * set after epoch-1: type1 runs epochs 1 and 2 at lr, epoch 3 at lr/2, ...
 * Returns a negative value for an unknown name.
 */
double dc_lr_at(const char *schedule, double lr, int epoch, int epochs);

/* ---- early stopping ----------------------------------------------------------- */

struct dc_early_stop {
	int patience, counter, stop, best_epoch;
	double best;        /* lowest validation loss so far (INFINITY at first) */
	size_t n;
	float *best_params; /* [n], owned */
};

enum dc_status dc_early_stop_init(struct dc_early_stop *es, int patience, size_t n);
/* TSLib EarlyStopping(delta 0): an improvement (val < best) saves params
 * and resets the counter; otherwise counter++ and stop once it reaches
 * patience.  Returns 1 on improvement. */
int dc_early_stop_update(struct dc_early_stop *es, double val, const float *params, int epoch);
void dc_early_stop_release(struct dc_early_stop *es);

/* ---- the forecasting loop ------------------------------------------------------ */

struct dc_fc_train_log;

struct dc_fc_train_opts {
	int epochs, batch_size, patience;
	double lr;
	const char *lr_schedule;     /* "type1" ... */
	uint64_t seed;
	enum dc_ts_features features;
	/* Called after every batch and after each validation; may be NULL. */
	void (*progress)(void *ctx, int epoch, int epochs, size_t step, size_t steps,
	                 double train_loss, double val_loss);
	void *ctx;
	/*
	 * Resumable training (all optional).  With `checkpoint` set, the whole
	 * training state -- parameters, Adam moments and step count, the
	 * early-stopping state and best parameters, the epoch, the step within
	 * it and the loss log -- is written to that file (a safetensors file,
	 * replaced atomically through "FILE.part") after every epoch, when
	 * `stop` asks to stop, and mid-epoch whenever `checkpoint_seconds` (> 0)
	 * have passed since the last write.  If the file exists when training
	 * starts, training continues from it.  It must come from the same run:
	 * `fingerprint` (the caller's description of the model), the parameter
	 * count, seed, epochs, batch size, patience, learning rate and schedule,
	 * features, the split and the scaled data of the training and
	 * validation parts must all match (DC_EINVAL otherwise).  Shuffling,
	 * dropout and sampling depend on (seed, epoch, step) alone, so a resumed
	 * run ends with the same parameters as an uninterrupted one on the same
	 * thread count.
	 */
	const char *checkpoint, *fingerprint;
	double checkpoint_seconds;
	/* Polled after every step; nonzero: write the checkpoint (if any) and
	 * return DC_OK with log->interrupted set (the parameters are then the
	 * current ones, not the best). */
	int (*stop)(void *ctx);
	/* Called after each epoch's validation (and checkpoint), with the log so
	 * far: best_epoch and best_val are the best up to that epoch; may be NULL. */
	void (*epoch_done)(void *ctx, const struct dc_fc_train_log *log);
};

struct dc_fc_train_log {
	int epochs_run, best_epoch;
	double best_val, last_train;
	double train_loss[64], val_loss[64];  /* per epoch (first 64) */
	int interrupted;                      /* stopped by opts.stop */
	int resumed_epoch;                    /* 0, or the epoch a checkpoint resumed in */
	size_t resumed_step;                  /* and the steps of it already done */
};

/*
 * Train f on the windows of split part 0, early stopping on part 1 (if it
 * has windows; else on the training loss), then load the best parameters.
 * ts must be scaled.  DC_EINVAL if part 0 has no window.
 */
enum dc_status dc_fc_train(struct dc_forecaster *f, const struct dc_ts *ts, const struct dc_ts_split *sp,
                           const struct dc_fc_train_opts *o, struct dc_fc_train_log *log);

/*
 * Predict every window of rows [begin, end) (stride 1, none dropped) in
 * batches; for each calls `visit` with the batch's predictions [B][H][C]
 * and truths [B][H][C] (scaled) and the index of its first window.
 */
enum dc_status dc_fc_predict_windows(struct dc_forecaster *f, const struct dc_ts *ts, size_t begin,
                                     size_t end, int batch_size,
                                     void (*visit)(void *ctx, size_t first, int B, const float *pred,
                                                   const float *truth),
                                     void *ctx);

/* MSE and MAE (scaled) over every window of rows [begin, end), channels as
 * features; *n_windows receives the count. */
enum dc_status dc_fc_score(struct dc_forecaster *f, const struct dc_ts *ts, size_t begin, size_t end,
                           int batch_size, enum dc_ts_features features, double *mse, double *mae,
                           size_t *n_windows);

#ifdef __cplusplus
}
#endif
#endif /* DC_TRAIN_H */
