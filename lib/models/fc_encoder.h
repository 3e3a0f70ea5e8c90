/*
 * fc_encoder.h - internal helpers shared by the Transformer forecasters
 * (itransformer.c, patchtst.c): register one TSLib EncoderLayer's tensors
 * under its state_dict names, initialise them as PyTorch does, bind
 * parameter / gradient pointers, run the layer stack forward and backward,
 * read hyperparameters with defaults.
 * Not part of the public API.
 */
#ifndef DC_FC_ENCODER_H
#define DC_FC_ENCODER_H

#include "forecast.h"
#include "../nn/nn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FC_ENC_NT 16  /* tensors per encoder layer */

/* Register encoder.attn_layers.<i>.* (16 tensors); offsets into off[]. */
static inline enum dc_status fc_enc_add(struct dc_forecaster *f, int i, int d, int F, size_t *off)
{
	static const char *const nm[FC_ENC_NT] = {
		"attention.query_projection.weight", "attention.query_projection.bias",
		"attention.key_projection.weight", "attention.key_projection.bias",
		"attention.value_projection.weight", "attention.value_projection.bias",
		"attention.out_projection.weight", "attention.out_projection.bias",
		"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
		"norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
	};
	for (int t = 0; t < FC_ENC_NT; t++) {
		char name[DC_FC_NAME_MAX];
		int64_t shape[3];
		int rank;
		if (t < 8) {
			rank = t % 2 ? 1 : 2;
			shape[0] = d;
			shape[1] = d;
		} else if (t == 8 || t == 10) {
			rank = 3;
			shape[0] = t == 8 ? F : d;
			shape[1] = t == 8 ? d : F;
			shape[2] = 1;
		} else if (t == 9 || t == 11) {
			rank = 1;
			shape[0] = t == 9 ? F : d;
		} else {
			rank = 1;
			shape[0] = d;
		}
		snprintf(name, sizeof name, "encoder.attn_layers.%d.%s", i, nm[t]);
		off[t] = dc_fc_add_tensor(f, name, rank, shape);
		if (off[t] == (size_t)-1)
			return dc_fail(DC_ELIMIT, "too many tensors");
	}
	return DC_OK;
}

static inline void fc_enc_bind(struct dc_nn_enc_params *p, float *base, const size_t *off)
{
	float **slot[FC_ENC_NT] = {
		&p->wq, &p->bq, &p->wk, &p->bk, &p->wv, &p->bv, &p->wo, &p->bo,
		&p->w1, &p->b1, &p->w2, &p->b2, &p->ln1w, &p->ln1b, &p->ln2w, &p->ln2b,
	};
	for (int t = 0; t < FC_ENC_NT; t++)
		*slot[t] = base + off[t];
}

/* The stack of E encoder layers, as both forecasters run it: layer l
 * reads the previous layer's output (the first reads x), keeps its
 * activations in cache[l] and draws dropout from streams 16 + 8*l.
 * Returns the last layer's output. */
static inline const float *fc_enc_stack_forward(struct dc_nn_enc_cache *cache, const float *x,
                                                float *P, const size_t (*off)[FC_ENC_NT], int E,
                                                const struct dc_nn_enc_shape *sh, int train,
                                                uint64_t seed)
{
	for (int l = 0; l < E; l++) {
		struct dc_nn_enc_params w;
		fc_enc_bind(&w, P, off[l]);
		dc_nn_enc_forward(&cache[l], x, &w, sh, train, seed, 16 + 8 * (uint64_t)l);
		x = cache[l].out;
	}
	return x;
}

/* Backward through the stack, last layer first: d (the gradient at the
 * last output) becomes the gradient at the stack's input, in place;
 * parameter gradients accumulate into G. */
static inline void fc_enc_stack_backward(float *d, const struct dc_nn_enc_cache *cache, float *P,
                                         float *G, const size_t (*off)[FC_ENC_NT], int E,
                                         struct dc_nn_enc_work *wk,
                                         const struct dc_nn_enc_shape *sh, uint64_t seed)
{
	for (int l = E - 1; l >= 0; l--) {
		struct dc_nn_enc_params w, g;
		fc_enc_bind(&w, P, off[l]);
		fc_enc_bind(&g, G, off[l]);
		dc_nn_enc_backward(d, d, &cache[l], &w, &g, wk, sh, seed, 16 + 8 * (uint64_t)l);
	}
}

/* PyTorch defaults: Linear/Conv1d weight and bias U(+-1/sqrt(fan_in)),
 * LayerNorm weight 1, bias 0.  Streams stream..stream+15. */
static inline void fc_enc_init(float *base, const size_t *off, int d, int F, uint64_t seed,
                               uint64_t stream)
{
	for (int t = 0; t < FC_ENC_NT; t++) {
		float *w = base + off[t];
		if (t < 8) {
			dc_fc_init_uniform(w, t % 2 ? (size_t)d : (size_t)d * d, 1.0f / sqrtf((float)d), seed,
			                   stream + t);
		} else if (t < 12) {
			int fan_in = t < 10 ? d : F;
			size_t n = t == 8 || t == 10 ? (size_t)d * F : (size_t)(t == 9 ? F : d);
			dc_fc_init_uniform(w, n, 1.0f / sqrtf((float)fan_in), seed, stream + t);
		} else {
			for (int c = 0; c < d; c++)
				w[c] = t % 2 ? 0.0f : 1.0f;
		}
	}
}

/* Hyperparameter getters: absent key -> default; wrong type or out of
 * range -> DC_EINVAL naming the key. */
static inline enum dc_status fc_hp_int(const struct dc_config *hp, const char *key, int def,
                                       int lo, int hi, int *out)
{
	int64_t v = def;
	if (hp && dc_config_has(hp, key)) {
		enum dc_status st = dc_config_int(hp, key, &v);
		if (st)
			return st;
	}
	if (v < lo || v > hi)
		return dc_fail(DC_EINVAL, "%s = %lld is out of range [%d, %d]", key, (long long)v, lo, hi);
	*out = (int)v;
	return DC_OK;
}

static inline enum dc_status fc_hp_float(const struct dc_config *hp, const char *key, double def,
                                         double lo, double hi, float *out)
{
	double v = def;
	if (hp && dc_config_has(hp, key)) {
		enum dc_status st = dc_config_double(hp, key, &v);
		if (st)
			return st;
	}
	if (!(v >= lo && v <= hi))
		return dc_fail(DC_EINVAL, "%s = %g is out of range [%g, %g]", key, v, lo, hi);
	*out = (float)v;
	return DC_OK;
}

/* A switch: true/false (the reference's command-line flags) or 0/1. */
static inline enum dc_status fc_hp_flag(const struct dc_config *hp, const char *key, int def, int *out)
{
	*out = def;
	if (!hp || !dc_config_has(hp, key) || dc_config_bool(hp, key, out) == DC_OK)
		return DC_OK;
	int64_t v;
	if (dc_config_int(hp, key, &v) || (v != 0 && v != 1))
		return dc_fail(DC_EINVAL, "%s must be true or false", key);
	*out = (int)v;
	return DC_OK;
}

/* activation: "gelu" (default) or "relu", as TSLib (anything but relu is gelu) */
static inline enum dc_status fc_hp_relu(const struct dc_config *hp, int *relu)
{
	const char *a = "gelu";
	*relu = 0;
	if (hp && dc_config_has(hp, "activation")) {
		enum dc_status st = dc_config_string(hp, "activation", &a);
		if (st)
			return st;
	}
	*relu = strcmp(a, "relu") == 0;
	return DC_OK;
}

#endif
