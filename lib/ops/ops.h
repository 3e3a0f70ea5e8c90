/*
 * ops.h - numerical kernels: GEMM (BLIS), softmax, norms, activations,
 * attention, convolutions.
 *
 * Conventions (llm.c style): all tensors are f32, row-major, contiguous;
 * outputs are passed in and never allocated by the kernel (scratch space, if
 * any, is passed in too); dimensions are explicit ints.  Every kernel is
 * parallelised with OpenMP over dc_threads() threads and may be called from
 * one thread at a time per output buffer.  `out` may alias `x` where stated.
 *
 * Dimension legend: N tokens / rows, C channels / features, H heads,
 * D head dim (C = H*D), M key/value tokens, K reduction.
 */
#ifndef DC_OPS_H
#define DC_OPS_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- GEMM ------------------------------------------------------------------ */

/*
 * C[m][n] = alpha * op(A)[m][k] . op(B)[k][n] + beta * C[m][n]
 * op(X) = X or X^T per trans flag; lda/ldb/ldc are row strides (row-major).
 * Runs BLIS with an explicit per-call thread count `nthreads` (<= 0 means
 * dc_threads()); call with nthreads = 1 from inside a parallel region.
 */
void dc_sgemm(int trans_a, int trans_b, int m, int n, int k,
              float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc, int nthreads);

/* y[N][OC] = x[N][IC] . W^T + b, W stored [OC][IC] like torch nn.Linear;
 * b may be NULL. */
void dc_linear_forward(float *y, const float *x, const float *W, const float *b,
                       int N, int IC, int OC);

/* ---- elementwise / normalisation ------------------------------------------------ */

/* Row-wise softmax over the last dim of x[N][C]; out may alias x. */
void dc_softmax_forward(float *out, const float *x, int N, int C);

/* LayerNorm over C for x[N][C]; w,b may be NULL (no affine). out may alias x. */
void dc_layernorm_forward(float *out, const float *x, const float *w, const float *b,
                          int N, int C, float eps);
/* RMSNorm (T5 style: x / sqrt(mean(x^2)+eps) * w); w may be NULL. */
void dc_rmsnorm_forward(float *out, const float *x, const float *w, int N, int C, float eps);
/* GroupNorm on x[B][C][S] (S = spatial size), G groups; w,b per channel, may be NULL. */
void dc_groupnorm_forward(float *out, const float *x, const float *w, const float *b,
                          int B, int C, int S, int G, float eps);

/* Activations, in place allowed (out may alias x), n elements. */
void dc_gelu_forward(float *out, const float *x, size_t n);       /* erf form */
void dc_gelu_tanh_forward(float *out, const float *x, size_t n);  /* tanh approximation */
/* dx = dy * gelu'(x) (erf form; dx may alias dy or x) */
void dc_gelu_backward(float *dx, const float *dy, const float *x, size_t n);
void dc_silu_forward(float *out, const float *x, size_t n);

/* a[n] = 0; dst[n] = src[n] (non-overlapping, or dst == src); a[n] += b[n].
 * Parallel for large n, the same result on any thread count. */
void dc_vzero(float *a, size_t n);
void dc_vcopy(float *dst, const float *src, size_t n);
void dc_vadd(float *a, const float *b, size_t n);

/* ---- attention ------------------------------------------------------------------ */

/*
 * Multi-head scaled dot-product attention, memory O(N*D) (tiled online
 * softmax, no N*M score matrix):
 *   out[N][H*D] = softmax(q . k^T * scale + mask) . v   per head
 * q[N][ldq], k[M][ldk], v[M][ldv] with head h at column offset h*D; out has
 * row stride ldo.  mask is NULL or an additive float mask [N][M] shared by
 * all heads (use -INFINITY to mask); key_valid is NULL or M bytes (0 = key
 * masked out for every query, as a padding mask).  scale <= 0 means
 * 1/sqrt(D).  Rows whose keys are all masked give zeros.
 * Self-attention is q,k,v from one [N][3C] buffer: ldq = ldk = ldv = 3C.
 */
void dc_attention_forward(float *out, int ldo,
                          const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv,
                          int N, int M, int H, int D, float scale,
                          const float *mask, const unsigned char *key_valid);

/* ---- convolution ------------------------------------------------------------------ */

/*
 * conv1d: x[B][IC][L] -> y[B][OC][Lout], W[OC][IC/groups][K], b[OC] or NULL.
 * Lout = (L + 2*pad - dil*(K-1) - 1)/stride + 1.  Zero padding.
 */
void dc_conv1d_forward(float *y, const float *x, const float *W, const float *b,
                       int B, int IC, int L, int OC, int K,
                       int stride, int pad, int dil, int groups);
/* Scratch floats dc_conv2d_forward needs (im2col) for one image. */
size_t dc_conv2d_scratch(int IC, int OH, int OW, int KH, int KW, int groups);
/*
 * conv2d: x[B][IC][H][W] -> y[B][OC][OH][OW], W[OC][IC/groups][KH][KW].
 * OH = (H + 2*ph - dh*(KH-1) - 1)/sh + 1 (likewise OW).  `scratch` holds
 * dc_conv2d_scratch(...) floats, or NULL to let the kernel fall back to a
 * direct (slower, allocation-free) loop.
 */
void dc_conv2d_forward(float *y, const float *x, const float *W, const float *b,
                       int B, int IC, int H, int Wd, int OC, int KH, int KW,
                       int sh, int sw, int ph, int pw, int dh, int dw, int groups,
                       float *scratch);

/* ---- bf16 / int8 packed-weight GEMM and bf16 attention (gemm_bf16.c, attention_bf16.c) */

/*
 * Reduced-precision inference GEMM: weights W[n][k] (nn.Linear layout) are
 * packed once into bf16 panels, or int8 with one f32 scale per row (W[r][:]
 * ~ scale[r] * q, scale = max|W[r][:]| / 127, symmetric, round to nearest);
 * activations stay f32 in memory and are rounded to bf16 (nearest even, as
 * torch) inside the GEMM; products accumulate in f32.  Uses AVX512-BF16
 * (vdpbf16ps) when the CPU has it, else portable C with the same sums.
 */
enum dc_precision { DC_PREC_F32 = 0, DC_PREC_BF16 = 1, DC_PREC_INT8 = 2 };

struct dc_wpack {
	enum dc_precision prec;  /* DC_PREC_BF16 or DC_PREC_INT8 */
	int n, k;                /* logical W[n][k] */
	int kp, np;              /* k pairs ceil(k/2); 64-row panels ceil(n/64) */
	void *data;              /* owned: packed panels (layout in gemm_bf16.c) */
	float *scale;            /* owned, int8 only: [np*64] per-row scales */
};

/* Bytes of packed data for an n x k matrix (0 on bad arguments or overflow). */
size_t dc_wpack_bytes(enum dc_precision prec, int n, int k);
/* Allocate a zeroed pack (DC_EINVAL, DC_EOVERFLOW, DC_ENOMEM); release it
 * with dc_wpack_release (also safe on a zeroed or released struct). */
enum dc_status dc_wpack_init(struct dc_wpack *w, enum dc_precision prec, int n, int k);
void dc_wpack_release(struct dc_wpack *w);
/*
 * Fill rows row0..row0+nrows-1 from src[nrows][ld] (f32, or bf16 bits that
 * may be unaligned, e.g. in a mapped checkpoint: copied exactly into a bf16
 * pack).  int8 rows are quantised here (a non-finite weight: DC_EINVAL).
 * Different calls may fill different rows; one call at a time per pack.
 */
enum dc_status dc_wpack_set_f32(struct dc_wpack *w, int row0, int nrows, const float *src,
                                size_t ld);
enum dc_status dc_wpack_set_bf16(struct dc_wpack *w, int row0, int nrows, const void *src,
                                 size_t ld);
/* The weights row `row` stands for, dst[k] (bf16 value, or scale * q). */
void dc_wpack_get_f32(const struct dc_wpack *w, int row, float *dst);

/*
 * C[m][n] = (accumulate ? C : 0) + bf16(A)[m][k] . W^T + bias[n]
 * A has row stride lda, C ldc (C must not overlap A); bias is NULL or [n].
 * nthreads <= 0 means dc_threads(); results do not depend on it.
 */
void dc_gemm_wpack(float *C, int ldc, const float *A, int lda, const struct dc_wpack *W,
                   const float *bias, int m, int accumulate, int nthreads);

/* 1 if dc_gemm_wpack runs the AVX512-BF16 kernel, 0 for portable C.
 * dc_bf16_allow_hw(0) forces portable C (tests, comparisons), (1) restores
 * detection; do not call it while a GEMM runs. */
int dc_bf16_hw(void);
void dc_bf16_allow_hw(int allow);

/*
 * dc_attention_forward (same arguments and result, up to rounding) with
 * q.k^T and P.v in bf16 (inputs rounded to nearest even, f32 sums; the
 * softmax stays f32) on AVX512-BF16 CPUs (attention_bf16.c).  `scratch`
 * holds dc_attention_bf16_scratch(M, H, D) bytes (bf16 copies of k and
 * v^T; any alignment); with scratch NULL, D > 128 or no AVX512-BF16 it
 * runs dc_attention_forward in f32.  dc_attention_bf16_hw(D) says which.
 */
size_t dc_attention_bf16_scratch(int M, int H, int D);   /* 0 on overflow */
int dc_attention_bf16_hw(int D);
void dc_attention_forward_bf16(float *out, int ldo,
                               const float *q, int ldq, const float *k, int ldk,
                               const float *v, int ldv,
                               int N, int M, int H, int D, float scale,
                               const float *mask, const unsigned char *key_valid,
                               void *scratch);

/* ---- end of bf16 / int8 GEMM and bf16 attention --------------------------------- */

#ifdef __cplusplus
}
#endif
#endif /* DC_OPS_H */
