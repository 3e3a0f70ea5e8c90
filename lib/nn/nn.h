/*
 * nn.h - neural-network layers with forward AND backward passes, llm.c
 * style, for the models that train in C (ts-forecast's iTransformer and
 * PatchTST).  Each layer is a pair of plain functions side by side:
 * `_forward` computes the output and whatever the backward pass needs
 * (the caller keeps those buffers), `_backward` turns the output gradient
 * into input and parameter gradients.
 *
 * Conventions: f32, row-major, contiguous; the caller passes every buffer
 * (the functions never allocate).  Parameter gradients (dW, db, dw, ...)
 * are ACCUMULATED (+=), so a training step zeroes them once and several
 * uses of one weight add up.  Input gradients: documented per function
 * ("dx +=" accumulates, useful for residual branches; "dx =" overwrites).
 * Weight layouts follow PyTorch: nn.Linear W[OC][IC]; a Conv1d with
 * kernel size 1, W[OC][IC][1], is the same matrix and uses the linear
 * functions on x[N][IC] (the Transformer FFN of Time-Series-Library).
 *
 * Threads: every function parallelises over dc_threads() (OpenMP, and
 * BLIS through dc_sgemm on the stacked [rows][features] matrices).  No
 * reduction is split across threads in a thread-count-dependent way:
 * column sums run per column block over all rows in row order, so results
 * are bit-identical for any thread count.  Dropout masks come from Philox
 * (seed, stream, element index), never from a sequential generator.
 *
 * Not thread-safe on shared output buffers; call from one thread.
 */
#ifndef DC_NN_H
#define DC_NN_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- linear (and Conv1d with kernel size 1) ----------------------------- */

/* y[N][OC] = x[N][IC] . W[OC][IC]^T + b[OC] (b may be NULL). */
void dc_nn_linear_forward(float *y, const float *x, const float *W, const float *b,
                          int N, int IC, int OC);
/* dx[N][IC] += dy[N][OC] . W (dx may be NULL); dW[OC][IC] += dy^T . x;
 * db[OC] += column sums of dy (db may be NULL). */
void dc_nn_linear_backward(float *dx, float *dW, float *db, const float *dy,
                           const float *x, const float *W, int N, int IC, int OC);

/* ---- LayerNorm over the last dim ------------------------------------------ */

/* y[N][C] = (x - mean) * rstd * w + b per row; saves mean[N], rstd[N]
 * (rstd = 1/sqrt(var_biased + eps)).  w, b may be NULL (no affine). */
void dc_nn_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                             const float *w, const float *b, int N, int C, float eps);
/* dx[N][C] += ...; dw[C] += sum dy*xhat, db[C] += sum dy (each may be
 * NULL, as w may). */
void dc_nn_layernorm_backward(float *dx, float *dw, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *w, int N, int C);

/* ---- BatchNorm1d over rows (features C, statistics over the N rows) ------- */

/*
 * Training mode, as torch.nn.BatchNorm1d on x[N][C] (TSLib's
 * Transpose-BatchNorm1d-Transpose applies it to tokens [B*P][d_model]):
 * statistics over the N rows, normalised with the biased variance; saves
 * mean[C], rstd[C]; when run_mean/run_var are not NULL they are updated
 * with momentum m: r = (1-m) r + m s, the variance term unbiased
 * (var * N/(N-1)).  w, b may be NULL.  N >= 2.
 */
void dc_nn_batchnorm_forward_train(float *y, float *mean, float *rstd, float *run_mean,
                                   float *run_var, const float *x, const float *w,
                                   const float *b, int N, int C, float eps, float momentum);
/* Evaluation mode: normalise with the running statistics. */
void dc_nn_batchnorm_forward_eval(float *y, const float *x, const float *w, const float *b,
                                  const float *run_mean, const float *run_var,
                                  int N, int C, float eps);
/* Backward of the training-mode forward: dx[N][C] += ...; dw, db += (may
 * be NULL).  The running statistics are buffers, not parameters: they
 * get no gradient. */
void dc_nn_batchnorm_backward(float *dx, float *dw, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *w, int N, int C);

/* ---- activations ------------------------------------------------------------ */

/* GELU, erf form (torch F.gelu default); y may alias x. */
void dc_nn_gelu_forward(float *y, const float *x, size_t n);
/* dx = dy * gelu'(x) (overwrites; dx may alias dy). */
void dc_nn_gelu_backward(float *dx, const float *dy, const float *x, size_t n);
/* ReLU; backward dx = dy where x > 0 else 0 (x = the forward input). */
void dc_nn_relu_forward(float *y, const float *x, size_t n);
void dc_nn_relu_backward(float *dx, const float *dy, const float *x, size_t n);

/* ---- dropout ---------------------------------------------------------------- */

/*
 * Inverted dropout: y[i] = x[i] * keep(offset + i), where keep(k) is 0
 * (dropped) or 1/(1-p).  The mask is counter-based Philox4x32-10
 * (dc_philox): element k uses 16 bits of block k >> 3 under (seed,
 * stream) -- bits 16*(k & 1).. of word (k >> 1) & 3 -- and is dropped
 * when they are < round(p * 65536); so it depends only on (seed, stream,
 * k), never on the thread count or the chunking.  p <= 0 copies (or does
 * nothing in place); y may alias x.  The backward pass is the same call on
 * dy with the same (seed, stream, offset): dropout is linear for a fixed
 * mask.
 */
void dc_nn_dropout(float *y, const float *x, size_t n, float p,
                   uint64_t seed, uint64_t stream, uint64_t offset);

/* The multipliers keep(offset + i), i < n, of the mask above (p in [0, 1]). */
void dc_nn_dropout_mask(float *keep, size_t n, float p, uint64_t seed, uint64_t stream,
                        uint64_t offset);

/* ---- multi-head self-attention core ------------------------------------- */

/*
 * TSLib FullAttention (no mask) on projected q, k, v [B][N][H*D], head h
 * at columns h*D..h*D+D-1:
 *   P = softmax(q_h k_h^T * scale)   saved in prob[B][H][N][N]
 *   A = dropout(P) (p, seed, stream; mask index = position in prob)
 *   out[B][N][H*D] = A v_h
 * scale <= 0 means 1/sqrt(D).  An explicit N x N matrix per head: meant
 * for the few hundred tokens of iTransformer / PatchTST.
 */
void dc_nn_attention_forward(float *out, float *prob, const float *q, const float *k,
                             const float *v, int B, int N, int H, int D, float scale,
                             float p, uint64_t seed, uint64_t stream);
/*
 * Gradients of the above: dq, dk, dv [B][N][H*D] are OVERWRITTEN.
 * scratch holds B*H*N*N floats.
 */
void dc_nn_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                              const float *dout, const float *prob, const float *q,
                              const float *k, const float *v, int B, int N, int H, int D,
                              float scale, float p, uint64_t seed, uint64_t stream);

/* ---- instance normalisation (Non-stationary Transformer / RevIN) ---------- */

/*
 * Per sample b and channel c over time: mean[b][c] = mean_t x[b][t][c],
 * std[b][c] = sqrt(var_biased + eps); xn = (x - mean) / std.  x[B][L][C].
 * This is TSLib's forecast() normalisation with eps = 1e-5.
 */
void dc_nn_revin_forward(float *xn, float *mean, float *std, const float *x,
                         int B, int L, int C, float eps);
/*
 * dx[B][L][C] = gradient w.r.t. x given dxn, with TSLib's semantics: the
 * mean is detached (.detach()), the standard deviation is not.  (Training
 * never needs it -- x is data -- but it completes the layer.)
 */
void dc_nn_revin_backward(float *dx, const float *dxn, const float *xn, const float *std,
                          int B, int L, int C);
/* y[B][T][C] = yn * std + mean (de-normalisation; y may alias yn). */
void dc_nn_revin_denorm_forward(float *y, const float *yn, const float *mean,
                                const float *std, int B, int T, int C);
/* dyn = dy * std (the gradient to the network output; y may alias).  The
 * gradient that flows into std (and so to x) is not computed. */
void dc_nn_revin_denorm_backward(float *dyn, const float *dy, const float *std,
                                 int B, int T, int C);


/* ---- Transformer encoder layer (TSLib layers/Transformer_EncDec.py) ------- */

/*
 * EncoderLayer(AttentionLayer(FullAttention)), post-norm:
 *   x  = x + drop(out_proj(attn(q_proj x, k_proj x, v_proj x)))
 *   x1 = norm1(x)
 *   y  = drop(conv2(drop(act(conv1(x1)))))       conv k=1 == linear
 *   out = norm2(x1 + y)
 * Pointers to one layer's parameters (or, for gradients, to where they
 * accumulate), in TSLib's state_dict order; shapes [d][d], [d], [F][d],
 * [F], [d][F], [d], LayerNorm [d].
 */
struct dc_nn_enc_params {
	float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
	float *w1, *b1, *w2, *b2;
	float *ln1w, *ln1b, *ln2w, *ln2b;
};

/* Shape of a layer call: B sequences of N tokens, width d, H heads, FFN
 * width F, dropout p (training only), activation gelu (0) or relu (1). */
struct dc_nn_enc_shape {
	int B, N, d, H, F;
	float p;
	int relu;
};

/* Activations one layer keeps for its backward pass (all owned by the
 * caller; dc_nn_enc_cache_floats gives the total, dc_nn_enc_cache_bind
 * carves them out of one block). */
struct dc_nn_enc_cache {
	const float *x;              /* layer input [R][d] (R = B*N), caller's */
	float *q, *k, *v, *o;        /* [R][d] */
	float *prob;                 /* [B][H][N][N] */
	float *r1, *x1, *r2, *out;   /* [R][d] */
	float *mean1, *rstd1, *mean2, *rstd2;  /* [R] */
	float *h, *g;                /* [R][F]: pre-activation, dropped activation */
};
/* Scratch for one backward call, shared by all layers. */
struct dc_nn_enc_work {
	float *d1, *d2, *d3, *d4, *dq, *dk, *dv;  /* [R][d] */
	float *dg;                   /* [R][F] */
	float *datt;                 /* [B][H][N][N] */
};

/* Floats needed for a cache (or a work area); 0 on overflow. */
size_t dc_nn_enc_cache_floats(const struct dc_nn_enc_shape *s);
size_t dc_nn_enc_work_floats(const struct dc_nn_enc_shape *s);
/* Point the cache's (work's) buffers into `mem` (that many floats, 64-byte
 * aligned pieces). */
void dc_nn_enc_cache_bind(struct dc_nn_enc_cache *c, float *mem, const struct dc_nn_enc_shape *s);
void dc_nn_enc_work_bind(struct dc_nn_enc_work *w, float *mem, const struct dc_nn_enc_shape *s);

/* Forward of x[R][d] into c->out; dropout masks from (seed, stream ..
 * stream+3) and only when train is set (p ignored otherwise). */
void dc_nn_enc_forward(struct dc_nn_enc_cache *c, const float *x, const struct dc_nn_enc_params *w,
                       const struct dc_nn_enc_shape *s, int train, uint64_t seed, uint64_t stream);
/* Backward: dx[R][d] = (overwritten) gradient w.r.t. the layer input,
 * given dout[R][d]; parameter gradients accumulate into g.  dx may alias
 * dout. */
void dc_nn_enc_backward(float *dx, const float *dout, const struct dc_nn_enc_cache *c,
                        const struct dc_nn_enc_params *w, const struct dc_nn_enc_params *g,
                        struct dc_nn_enc_work *wk, const struct dc_nn_enc_shape *s,
                        uint64_t seed, uint64_t stream);

/* ---- misc ---------------------------------------------------------------------- */

/* TSLib PositionalEmbedding table pe[N][D]: pe[t][2i] = sin(t*w_i),
 * pe[t][2i+1] = cos(t*w_i), w_i = exp(2i * -ln(10000)/D), in f32 as torch. */
void dc_nn_sinusoid(float *pe, int N, int D);

/* Mean squared error over n elements (accumulated in double); when dy is
 * not NULL it receives d loss / d y = 2 (y - t) / n. */
double dc_nn_mse(float *dy, const float *y, const float *t, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DC_NN_H */
