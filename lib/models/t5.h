/*
 * t5.h - the T5 encoder (transformers' T5EncoderModel), forward only, as
 * PixArt uses T5 v1.1-XXL for its captions:
 *
 *   x = shared[ids]                          (no scaling, no absolute positions)
 *   bias[h][i][j] = rel_bias[bucket(j - i)][h]   (block 0's table, used by all blocks;
 *                                             bidirectional buckets, max_distance)
 *   per block:
 *     x += O( softmax(Q K^T + bias + mask) V )    (no 1/sqrt(d_kv); no biases anywhere)
 *          over RMSNorm(x) * w   (x * rsqrt(mean(x^2) + eps), no mean subtraction)
 *     x += Wo( gelu_tanh(Wi0 h) * (Wi1 h) ),  h = RMSNorm(x) * w     (gated-gelu, v1.1)
 *       or Wo( relu(Wi h) )                                           (relu, original T5)
 *   out = RMSNorm(x) * final_layer_norm.weight
 *
 * Keys (transformers): shared.weight or encoder.embed_tokens.weight,
 * encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight,
 * encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight,
 * encoder.block.{i}.layer.0.layer_norm.weight,
 * encoder.block.{i}.layer.1.DenseReluDense.{wi_0,wi_1,wo}.weight (or wi),
 * encoder.block.{i}.layer.1.layer_norm.weight, encoder.final_layer_norm.weight;
 * decoder.* and lm_head.* of a full T5ForConditionalGeneration are ignored.
 *
 * Weights stay in the mmapped checkpoint: f32 tensors are used in place,
 * bf16/f16 ones are converted to f32 a chunk of rows at a time (about 8 MB
 * per thread, reused), each right before the GEMM that reads it, so a bf16
 * T5-XXL (9.5 GB) is never expanded whole.  Embedding rows are converted
 * per token.  Only the relative-attention-bias table and the final norm
 * are copied at open.
 *
 * Thread safety: dc_t5_encode only reads the object, so several encodes may
 * run on one object at once; open/free belong to one thread.  The kernels
 * inside use dc_threads() threads.  Errors through dc_fail().
 */
#ifndef DC_T5_H
#define DC_T5_H

#include <stdint.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The feed-forward activation (transformers' dense_act_fn). */
enum dc_t5_act {
	DC_T5_RELU = 0,      /* "relu" */
	DC_T5_GELU_TANH,     /* "gelu_new", "gelu_pytorch_tanh" (what "gated-gelu" means) */
	DC_T5_GELU,          /* "gelu" (erf form) */
	DC_T5_SILU           /* "silu", "swish" */
};

/* The architecture, from config.json (transformers key names). */
struct dc_t5_config {
	int vocab;          /* vocab_size (32128) */
	int d_model;        /* 4096 */
	int d_kv;           /* 64 */
	int heads;          /* num_heads (64) */
	int d_ff;           /* 10240 */
	int layers;         /* num_layers (24) */
	int buckets;        /* relative_attention_num_buckets (32) */
	int max_distance;   /* relative_attention_max_distance (128) */
	float eps;          /* layer_norm_epsilon (1e-6) */
	int gated;          /* feed_forward_proj: 1 "gated-gelu", 0 "relu" */
	int act;            /* enum dc_t5_act: "gated-gelu" -> GELU_TANH, "relu" -> RELU,
	                       "gated-silu" -> SILU, "gelu" -> GELU (transformers' parse of
	                       feed_forward_proj; dense_act_fn / is_gated_act, when in
	                       config.json, override it as they do in transformers) */
};

struct dc_t5;

/*
 * Open a transformers `text_encoder/` folder (config.json + model.safetensors
 * or a sharded index) or anything dc_model_open() takes.  Config keys absent
 * from config.json take T5Config's defaults.  Every tensor is checked
 * against the config; a missing key or a wrong shape fails with a message
 * naming the key (DC_ENOTFOUND, DC_EFORMAT); an activation other than
 * relu / gelu / gelu_new / silu DC_EUNSUPPORTED.  Free with dc_t5_free().
 */
enum dc_status dc_t5_open(struct dc_t5 **out, const char *path);

/*
 * A model of the given shape whose weights are set by a formula (for
 * benchmarks), f32, owned: with i the flat element index of each tensor,
 * every matrix W[OC][IC] (and the embedding [vocab][d_model], IC = d_model)
 * holds sin(0.7 i) / sqrt(IC), layer-norm weights 1 + 0.1 sin(0.7 i), the
 * relative-attention-bias table [buckets][heads] 0.5 sin(0.7 i).  Every
 * field of cfg is used (vocab, d_model, d_kv, heads, d_ff, layers, buckets,
 * max_distance, eps, gated, act).  DC_EINVAL for a bad config.
 */
enum dc_status dc_t5_new_synthetic(struct dc_t5 **out, const struct dc_t5_config *cfg);

void dc_t5_free(struct dc_t5 *t5);                 /* NULL is a no-op */
const struct dc_t5_config *dc_t5_config(const struct dc_t5 *t5);

/*
 * out[B][T][d_model] = last_hidden_state for ids[B][T] (each in [0, vocab),
 * else DC_EINVAL) and mask[B][T] (nonzero = a real token; NULL = all real).
 * Masked keys get no attention; outputs at masked positions are computed
 * as transformers computes them (queries at padding still attend to the
 * real keys; a row with no real token at all attends uniformly to all T
 * tokens, which is what torch.finfo.min added to every key gives).
 * 1 <= B, 1 <= T <= 16384 (DC_EINVAL, DC_ELIMIT).  Allocates its
 * activations per call (B*T*(2 d_model + 4 heads*d_kv + 2 d_ff) floats, 21
 * MB for T5-XXL at B*T = 120, plus the attention scores of up to 64 MB):
 * DC_ENOMEM; a converted weight that cannot be read: the read error.
 * `out` is used as scratch too; on error its contents are undefined.
 */
enum dc_status dc_t5_encode(struct dc_t5 *t5, int B, int T, const int32_t *ids,
                            const unsigned char *mask, float *out);

/*
 * transformers' T5Attention._relative_position_bucket(rel, bidirectional=True,
 * num_buckets, max_distance) for rel = key_pos - query_pos, evaluated in the
 * same float32 arithmetic as torch (the log rounds exactly as there).
 * Requires buckets >= 4 and max_distance > buckets / 4 (what dc_t5_open
 * checks); thread-safe.
 */
int dc_t5_bucket(int rel, int buckets, int max_distance);

#ifdef __cplusplus
}
#endif
#endif /* DC_T5_H */
