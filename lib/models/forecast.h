/*
 * forecast.h - the interface every forecaster of ts-forecast(1) implements
 * (DLinear, NLinear, iTransformer, PatchTST, Informer, Autoformer), so that
 * one training loop, one model-file format and one CLI serve them all.
 *
 * llm.c style: a model's parameters live in ONE flat f32 buffer (and its
 * gradients in another of the same size); `tensors` names the pieces with
 * the reference implementation's state_dict keys (Time-Series-Library), so a
 * model file is a safetensors file whose tensors are exactly those pieces,
 * and a reference checkpoint converts by name.  Hyperparameters come as a
 * JSON object (struct dc_config, see io/safetensors.h) with the reference's
 * argument names (d_model, n_heads, e_layers, d_ff, dropout, patch_len,
 * stride, moving_avg, factor, ...); a key that is absent takes the
 * reference default.  The same JSON is stored in the model file's metadata.
 *
 * Shapes: B batch, L seq_len (lookback), H pred_len (horizon), C n_vars
 * (channels), M n_marks (time features per step), S label_len (decoder
 * start tokens, Informer/Autoformer only).
 *
 * Not thread-safe per forecaster: one forward/backward at a time; kernels
 * inside parallelise over dc_threads().
 */
#ifndef DC_FORECAST_H
#define DC_FORECAST_H

#include "../core/core.h"
#include "../io/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_fc_dims {
	int seq_len;    /* L */
	int label_len;  /* S (0 for encoder-only models) */
	int pred_len;   /* H */
	int n_vars;     /* C: enc_in = dec_in = c_out (features M or S) */
	int n_marks;    /* M: time features per step (0 when none) */
};

#define DC_FC_MAX_TENSORS 512
#define DC_FC_NAME_MAX 96

struct dc_fc_tensor {
	char name[DC_FC_NAME_MAX];  /* reference state_dict key */
	int rank;
	int64_t shape[4];
	size_t offset;              /* in floats, into params/grads */
};

struct dc_forecaster {
	const struct dc_fc_model *kind;
	struct dc_fc_dims dims;
	size_t n_params;
	float *params;              /* [n_params], 64-byte aligned, owned */
	float *grads;               /* [n_params], owned; zero with dc_fc_zero_grad */
	int n_tensors;
	struct dc_fc_tensor tensors[DC_FC_MAX_TENSORS];
	void *state;                /* model-private: hyperparameters, activation cache */
};

struct dc_fc_model {
	const char *name;           /* as given to --model: "DLinear", "iTransformer", ... */
	int uses_marks;             /* reads x_mark / y_mark */
	int uses_decoder;           /* needs label_len (generative decoder) */
	/* The hyperparameters init reads from hp, by their reference names
	 * (NULL-terminated); a key not listed has no effect on this model. */
	const char *const *hp_keys;
	/*
	 * Set f->tensors/n_tensors/n_params, allocate params and grads
	 * (dc_fc_alloc_params) and initialise the parameters as the reference
	 * does under PyTorch's default initialisers, drawing from dc_rng_*
	 * with `seed`.  hp may be NULL (all defaults).  f->dims is set by the
	 * caller before init.
	 */
	enum dc_status (*init)(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed);
	/*
	 * y[B][H][C] = model(x[B][L][C], x_mark[B][L][M], y_mark[B][S+H][M]).
	 * x_mark/y_mark are NULL when M == 0.  `train` enables dropout, whose
	 * masks come from (seed, position), so the result is the same for any
	 * thread count.  With train set, caches what backward needs (memory
	 * for batch size B is allocated on first use and kept).
	 */
	enum dc_status (*forward)(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
	                          const float *y_mark, float *y, int train, uint64_t seed);
	/* Given dy[B][H][C] for the last forward (train set), ACCUMULATE the
	 * parameter gradients into f->grads. */
	enum dc_status (*backward)(struct dc_forecaster *f, int B, const float *dy);
	/* Free f->state (not params/grads; dc_fc_release does those). */
	void (*release)(struct dc_forecaster *f);
};

/* The registry: models compiled into this library, by --model name
 * (case-insensitive); NULL if unknown.  dc_fc_model_at(i) iterates. */
const struct dc_fc_model *dc_fc_model_find(const char *name);
const struct dc_fc_model *dc_fc_model_at(int i);
/* Whether `key` is one of kind's hp_keys. */
int dc_fc_model_has_hp(const struct dc_fc_model *kind, const char *key);

/* Create: set dims, call kind->init.  On failure nothing is left allocated. */
enum dc_status dc_fc_create(struct dc_forecaster *f, const struct dc_fc_model *kind,
                            const struct dc_fc_dims *dims, const struct dc_config *hp, uint64_t seed);
void dc_fc_release(struct dc_forecaster *f);

/* For init functions: append a named tensor, returning its float offset
 * (or (size_t)-1 when DC_FC_MAX_TENSORS is exceeded). */
size_t dc_fc_add_tensor(struct dc_forecaster *f, const char *name, int rank, const int64_t *shape);
/* For init functions: allocate params and grads (zeroed) for n_params. */
enum dc_status dc_fc_alloc_params(struct dc_forecaster *f);
/* Pointer to the named tensor's parameters (or gradients); NULL if absent. */
float *dc_fc_param(struct dc_forecaster *f, const char *name);
float *dc_fc_grad(struct dc_forecaster *f, const char *name);
void dc_fc_zero_grad(struct dc_forecaster *f);

/* PyTorch's default initialisers, from dc_rng_uniform(seed, stream, ...):
 * nn.Linear/Conv weight and bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void dc_fc_init_uniform(float *w, size_t n, float bound, uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif
#endif /* DC_FORECAST_H */
