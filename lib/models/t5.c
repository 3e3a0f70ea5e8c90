/*
 * t5.c - the T5 encoder forward (transformers' T5EncoderModel; see t5.h for
 * the maths and the key names).
 *
 * Layout: activations are feature-major, X^T[features][B*T] (one column per
 * token), and every linear layer is one BLIS GEMM W . X^T over all B*T
 * tokens (see lin() for why this orientation); the residual adds of the
 * attention output and of the feed-forward are folded into their GEMMs
 * (beta = 1).  The embedding rows are gathered token-major into the
 * caller's output and transposed in; the final RMSNorm is transposed back
 * out.  Attention: per (batch, head) pair S = Q K^T (one small GEMM), S +=
 * the relative-position bias (kept as one vector of 2T-1 values per head,
 * since it depends on key - query only), masked keys -inf, softmax over
 * all rows of a chunk of pairs at once, then O^T = V^T P^T; chunks of pairs
 * keep the score buffer under 64 MB.  Weights: resolved at open into
 * tensor pointers; at encode time an f32 tensor is used in place, any other
 * is converted (in parallel) into one reusable f32 buffer just before its
 * single use.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "t5.h"
#include "../io/safetensors.h"
#include "../ops/ops.h"

/* ---- per-block weights ------------------------------------------------------ */

enum { W_LN0, W_Q, W_K, W_V, W_O, W_LN1, W_WI0, W_WI1, W_WO, W_NF };

#define MAX_T 16384
#define SCORE_FLOATS ((size_t)16 << 20)   /* attention score chunk: 64 MB */

struct wspec {
	const char *suffix;
	int rank;
	int64_t shape[2];
};

/* Block tensor `f` of the config's shape; suffix NULL if the block has none. */
static struct wspec block_spec(const struct dc_t5_config *c, int f)
{
	int64_t D = c->d_model, I = (int64_t)c->heads * c->d_kv, F = c->d_ff;
	switch (f) {
	case W_LN0: return (struct wspec){ "layer.0.layer_norm.weight", 1, { D, 0 } };
	case W_Q: return (struct wspec){ "layer.0.SelfAttention.q.weight", 2, { I, D } };
	case W_K: return (struct wspec){ "layer.0.SelfAttention.k.weight", 2, { I, D } };
	case W_V: return (struct wspec){ "layer.0.SelfAttention.v.weight", 2, { I, D } };
	case W_O: return (struct wspec){ "layer.0.SelfAttention.o.weight", 2, { D, I } };
	case W_LN1: return (struct wspec){ "layer.1.layer_norm.weight", 1, { D, 0 } };
	case W_WI0:
		return (struct wspec){ c->gated ? "layer.1.DenseReluDense.wi_0.weight"
		                                : "layer.1.DenseReluDense.wi.weight", 2, { F, D } };
	case W_WI1:
		return (struct wspec){ c->gated ? "layer.1.DenseReluDense.wi_1.weight" : NULL, 2,
		                       { F, D } };
	default: return (struct wspec){ "layer.1.DenseReluDense.wo.weight", 2, { D, F } };
	}
}

static size_t spec_numel(const struct wspec *s)
{
	return (size_t)s->shape[0] * (s->rank == 2 ? (size_t)s->shape[1] : 1);
}

struct dc_t5 {
	struct dc_t5_config cfg;
	struct dc_model *model;                 /* NULL for synthetic */
	const struct dc_st_tensor **tens;       /* [layers][W_NF] (model) */
	const struct dc_st_tensor *emb_t;       /* the embedding tensor (model) */
	float **own;                            /* [layers][W_NF] (synthetic) */
	float *emb_own;                         /* [vocab][d_model] (synthetic) */
	float *rel;                             /* [buckets][heads], owned */
	float *final_ln;                        /* [d_model], owned */
	int need_conv;                          /* some block tensor is not f32 in place */
};

/* ---- small helpers ------------------------------------------------------------ */

/* Threads for a loop over `work` elements: one below 32k. */
static int nthr(size_t work)
{
	return work < (1u << 15) ? 1 : dc_threads();
}

static int f32_in_place(const struct dc_st_tensor *t)
{
	return t->dtype == DC_F32 && ((uintptr_t)t->data & 3) == 0;
}


/* Layer l's vector f (a layer norm) as f32: owned, in place, or converted
 * into tmp. */
static enum dc_status vget(const struct dc_t5 *t5, int l, int f, float *tmp, const float **w)
{
	size_t i = (size_t)l * W_NF + f;
	if (t5->own) {
		*w = t5->own[i];
		return DC_OK;
	}
	const struct dc_st_tensor *t = t5->tens[i];
	if (f32_in_place(t)) {
		*w = t->data;
		return DC_OK;
	}
	*w = tmp;
	return dc_model_read_f32(t5->model, t->name, 0, tmp, t->numel);
}

/* Rows of W per GEMM chunk: at most about 8 MB of f32 (a converted chunk
 * stays in cache for the GEMM that reads it), at least 4 chunks per thread
 * (dynamic balance), a multiple of 32 (BLIS's m blocking). */
static int chunk_rows(int OC, int IC, int nt)
{
	int r = ((1 << 21) / IC) & ~31;
	int p = (OC + 4 * nt - 1) / (4 * nt);
	p = (p + 31) & ~31;
	r = r < p ? r : p;
	return r < 32 ? 32 : r;
}

/* Floats of conversion buffer one thread needs at reduction length IC:
 * an upper bound of chunk_rows() * IC. */
static size_t chunk_floats(int IC)
{
	int r = ((1 << 21) / IC) & ~31;
	return (size_t)(r < 32 ? 32 : r) * IC;
}

/*
 * yT[OC][N] (= or +=) W[OC][IC] . xT[IC][N], W layer l's matrix f.
 * Activations are feature-major, X^T[features][N] (token n = b*T + t a
 * column), so that BLIS runs with the weight's OC rows as its long m
 * dimension: about 1.4x faster at N = 120 than x . W^T with N as m (the
 * shape torch's F.linear hands to its BLAS).  The OC rows are split into
 * chunks of chunk_rows(), spread over the threads, one single-threaded
 * GEMM each (no barrier inside BLIS; measured as fast as BLIS's own
 * threading, and far less sensitive to a loaded machine).  A weight that
 * is not f32 in the file is converted chunk by chunk into the thread's
 * part of cbuf (chunk_floats(IC) floats for each of nthreads threads)
 * right before its GEMM.
 */
static enum dc_status linw(const struct dc_t5 *t5, int l, int f, float *yT, const float *xT,
                           int OC, int IC, int N, int accumulate, float *cbuf, int nthreads)
{
	size_t i = (size_t)l * W_NF + f;
	const struct dc_st_tensor *t = t5->own ? NULL : t5->tens[i];
	const float *W = t5->own ? t5->own[i] : f32_in_place(t) ? t->data : NULL;
	int nt = (size_t)N * OC * IC < (1u << 20) ? 1 : nthreads;
	int R = chunk_rows(OC, IC, nt), nc = (OC + R - 1) / R;
	nt = nt < nc ? nt : nc;
	size_t isz = W ? 4 : dc_dtype_size(t->dtype);
	int aligned = W || (uintptr_t)t->data % isz == 0;
	float beta = accumulate ? 1.0f : 0.0f;
	enum dc_status st = DC_OK;
	#pragma omp parallel num_threads(nt)
	{
		int me = 0;
#ifdef _OPENMP
		me = omp_get_thread_num();
#endif
		float *buf = cbuf ? cbuf + (size_t)me * chunk_floats(IC) : NULL;
		#pragma omp for schedule(dynamic, 1)
		for (int c = 0; c < nc; c++) {
			int o0 = c * R, m = OC - o0 < R ? OC - o0 : R;
			size_t first = (size_t)o0 * IC, n = (size_t)m * IC;
			const float *w = W ? W + first : buf;
			if (!W) {
				if (aligned) {
					dc_convert_to_f32(buf, (const unsigned char *)t->data + first * isz,
					                  t->dtype, n);
				} else {
					enum dc_status e = dc_model_read_f32(t5->model, t->name, first, buf, n);
					if (e) {
						#pragma omp critical(dc_t5_linw)
						st = e;
						continue;
					}
				}
			}
			dc_sgemm(0, 0, m, N, IC, 1.0f, w, IC, xT, N, beta, yT + (size_t)o0 * N, N, 1);
		}
	}
	return st;
}

/* ---- relative position buckets ---------------------------------------------------- */

int dc_t5_bucket(int rel, int buckets, int max_distance)
{
	int half = buckets / 2, max_exact = half / 2;
	int b = rel > 0 ? half : 0;
	/* |rel| as unsigned: INT_MIN stays representable */
	unsigned n = rel < 0 ? 0u - (unsigned)rel : (unsigned)rel;
	if (n < (unsigned)max_exact)
		return b + (int)n;
	/* torch: log(n.float() / max_exact) / math.log(max_distance / max_exact)
	 * * (num_buckets - max_exact), all float32 (the double divisor rounded
	 * to float), truncated toward zero, capped at half - 1 */
	float v = logf((float)n / (float)max_exact);
	v = v / (float)log((double)max_distance / (double)max_exact);
	v = v * (float)(half - max_exact);
	if (!(v < (float)(half - max_exact)))
		return b + half - 1;
	if (!(v >= 0))   /* max_distance <= max_exact: outside the contract; no UB */
		v = 0;
	return b + max_exact + (int)v;
}

/* ---- configuration ------------------------------------------------------------- */

static enum dc_status cfg_int(const struct dc_model *m, const char *key, int64_t def,
                              int64_t lo, int64_t hi, int *out)
{
	int64_t v;
	enum dc_status s = dc_model_config_int(m, key, &v);
	if (s == DC_ENOTFOUND)
		v = def;
	else if (s)
		return dc_fail(s, "config: '%s' is not an integer", key);
	if (v < lo || v > hi)
		return dc_fail(DC_EFORMAT, "config: '%s' = %lld is out of range [%lld, %lld]", key,
		               (long long)v, (long long)lo, (long long)hi);
	*out = (int)v;
	return DC_OK;
}

static int parse_act(const char *name, int *act)
{
	static const struct { const char *n; int a; } t[] = {
		{ "relu", DC_T5_RELU }, { "gelu_new", DC_T5_GELU_TANH },
		{ "gelu_pytorch_tanh", DC_T5_GELU_TANH }, { "gelu", DC_T5_GELU },
		{ "silu", DC_T5_SILU }, { "swish", DC_T5_SILU },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(name, t[i].n)) {
			*act = t[i].a;
			return 0;
		}
	return -1;
}

static enum dc_status check_cfg(const struct dc_t5_config *c)
{
	if (c->vocab < 1 || c->d_model < 1 || c->d_kv < 1 || c->heads < 1 || c->d_ff < 1 ||
	    c->layers < 1 || c->vocab > (1 << 24) || c->d_model > (1 << 16) ||
	    c->d_ff > (1 << 18) || c->layers > 4096 || (int64_t)c->heads * c->d_kv > (1 << 16))
		return dc_fail(DC_EFORMAT, "t5: bad sizes (vocab %d, d_model %d, %d heads x %d, "
		               "d_ff %d, %d layers)", c->vocab, c->d_model, c->heads, c->d_kv,
		               c->d_ff, c->layers);
	if (c->buckets < 4 || c->buckets > (1 << 16) || c->max_distance <= c->buckets / 4 ||
	    c->max_distance > (1 << 30))
		return dc_fail(DC_EFORMAT, "t5: %d relative-attention buckets with max distance %d "
		               "(need >= 4 buckets and max distance > buckets / 4)", c->buckets,
		               c->max_distance);
	if (!(c->eps >= 0) || c->act < DC_T5_RELU || c->act > DC_T5_SILU)
		return dc_fail(DC_EFORMAT, "t5: bad layer_norm_epsilon or activation");
	return DC_OK;
}

/* T5Config's parse: defaults for absent keys, then the activation. */
static enum dc_status read_config(const struct dc_model *m, struct dc_t5_config *c)
{
	enum dc_status s;
	double d;
	memset(c, 0, sizeof *c);
	if ((s = cfg_int(m, "vocab_size", 32128, 1, 1 << 24, &c->vocab)) ||
	    (s = cfg_int(m, "d_model", 512, 1, 1 << 16, &c->d_model)) ||
	    (s = cfg_int(m, "d_kv", 64, 1, 1 << 16, &c->d_kv)) ||
	    (s = cfg_int(m, "num_heads", 8, 1, 1 << 16, &c->heads)) ||
	    (s = cfg_int(m, "d_ff", 2048, 1, 1 << 18, &c->d_ff)) ||
	    (s = cfg_int(m, "num_layers", 6, 1, 4096, &c->layers)) ||
	    (s = cfg_int(m, "relative_attention_num_buckets", 32, 4, 1 << 16, &c->buckets)) ||
	    (s = cfg_int(m, "relative_attention_max_distance", 128, 1, 1 << 30,
	                 &c->max_distance)))
		return s;
	c->eps = 1e-6f;
	if ((s = dc_model_config_double(m, "layer_norm_epsilon", &d)) == DC_OK)
		c->eps = (float)d;
	else if (s != DC_ENOTFOUND)
		return dc_fail(s, "config: 'layer_norm_epsilon' is not a number");
	/* feed_forward_proj: "[gated-]act"; "gated-gelu" means gelu_new */
	const char *ffp = "relu", *an;
	if (dc_model_config_string(m, "feed_forward_proj", &ffp) != DC_OK)
		ffp = "relu";
	const char *dash = strchr(ffp, '-');
	char act[64];
	if (dash && (strncmp(ffp, "gated-", 6) || strchr(dash + 1, '-')))
		return dc_fail(DC_EUNSUPPORTED, "config: feed_forward_proj '%s' is not "
		               "'[gated-]ACT'", ffp);
	c->gated = dash != NULL;
	snprintf(act, sizeof act, "%s", dash ? dash + 1 : ffp);
	if (!strcmp(ffp, "gated-gelu"))
		snprintf(act, sizeof act, "gelu_new");
	int b;
	if (dc_model_config_string(m, "dense_act_fn", &an) == DC_OK)
		snprintf(act, sizeof act, "%s", an);
	if (dc_model_config_bool(m, "is_gated_act", &b) == DC_OK)
		c->gated = b;
	if (parse_act(act, &c->act))
		return dc_fail(DC_EUNSUPPORTED, "config: activation '%s' (feed_forward_proj '%s') "
		               "is not supported (relu, gelu, gelu_new, silu)", act, ffp);
	return check_cfg(c);
}

/* ---- open / free --------------------------------------------------------------- */

enum dc_status dc_t5_open(struct dc_t5 **out, const char *path)
{
	*out = NULL;
	struct dc_t5 *t5 = calloc(1, sizeof *t5);
	if (!t5)
		return dc_fail(DC_ENOMEM, "t5: out of memory");
	enum dc_status s = dc_model_open(&t5->model, path);
	if (s)
		goto fail;
	const struct dc_model *m = t5->model;
	struct dc_t5_config *c = &t5->cfg;
	if ((s = read_config(m, c)))
		goto fail;
	int64_t D = c->d_model;

	/* embedding: either half of the tied pair */
	const char *en = dc_model_find(m, "shared.weight") ? "shared.weight"
	                                                   : "encoder.embed_tokens.weight";
	int64_t esh[2] = { c->vocab, D };
	if (!dc_model_find(m, en)) {
		s = dc_fail(DC_ENOTFOUND, "no tensor 'shared.weight' or 'encoder.embed_tokens.weight'");
		goto fail;
	}
	if ((s = dc_model_find_checked(m, en, 2, esh, &t5->emb_t)))
		goto fail;

	/* small tensors, copied to f32 */
	const struct dc_st_tensor *t;
	int64_t rsh[2] = { c->buckets, c->heads }, fsh[1] = { D };
	const char *rn = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
	const char *fn = "encoder.final_layer_norm.weight";
	t5->rel = dc_alloc((size_t)c->buckets * c->heads * sizeof(float));
	t5->final_ln = dc_alloc((size_t)D * sizeof(float));
	if (!t5->rel || !t5->final_ln) {
		s = dc_fail(DC_ENOMEM, "t5: out of memory");
		goto fail;
	}
	if ((s = dc_model_find_checked(m, rn, 2, rsh, &t)) ||
	    (s = dc_model_get_f32(m, rn, t5->rel, (size_t)c->buckets * c->heads)) ||
	    (s = dc_model_find_checked(m, fn, 1, fsh, &t)) ||
	    (s = dc_model_get_f32(m, fn, t5->final_ln, (size_t)D)))
		goto fail;

	/* block tensors */
	t5->tens = calloc((size_t)c->layers * W_NF, sizeof *t5->tens);
	if (!t5->tens) {
		s = dc_fail(DC_ENOMEM, "t5: out of memory");
		goto fail;
	}
	char name[160];
	for (int l = 0; l < c->layers; l++)
		for (int f = 0; f < W_NF; f++) {
			struct wspec sp = block_spec(c, f);
			if (!sp.suffix)
				continue;
			snprintf(name, sizeof name, "encoder.block.%d.%s", l, sp.suffix);
			if ((s = dc_model_find_checked(m, name, sp.rank, sp.shape,
			                               &t5->tens[(size_t)l * W_NF + f])))
				goto fail;
			if (!f32_in_place(t5->tens[(size_t)l * W_NF + f]))
				t5->need_conv = 1;
		}
	*out = t5;
	return DC_OK;
fail:
	dc_t5_free(t5);
	return s;
}

/* w[i] = scale * sin(0.7 i), then + offset in a second pass (so no FMA
 * contraction: the values match torch's two rounded operations). */
static void synth_fill(float *w, size_t n, float scale, float offset)
{
	#pragma omp parallel for num_threads(nthr(n)) schedule(static)
	for (size_t i = 0; i < n; i++)
		w[i] = scale * (float)sin(0.7 * (double)i);
	if (offset != 0) {
		#pragma omp parallel for num_threads(nthr(n)) schedule(static)
		for (size_t i = 0; i < n; i++)
			w[i] += offset;
	}
}

enum dc_status dc_t5_new_synthetic(struct dc_t5 **out, const struct dc_t5_config *cfg)
{
	*out = NULL;
	if (check_cfg(cfg)) {
		char why[256];
		snprintf(why, sizeof why, "%s", dc_errmsg());
		return dc_fail(DC_EINVAL, "%s (synthetic config)", why);
	}
	struct dc_t5 *t5 = calloc(1, sizeof *t5);
	if (!t5)
		return dc_fail(DC_ENOMEM, "t5: out of memory");
	const struct dc_t5_config *c = &t5->cfg;
	t5->cfg = *cfg;
	size_t D = (size_t)c->d_model;
	t5->own = calloc((size_t)c->layers * W_NF, sizeof *t5->own);
	t5->emb_own = dc_alloc((size_t)c->vocab * D * sizeof(float));
	t5->rel = dc_alloc((size_t)c->buckets * c->heads * sizeof(float));
	t5->final_ln = dc_alloc(D * sizeof(float));
	if (!t5->own || !t5->emb_own || !t5->rel || !t5->final_ln)
		goto oom;
	synth_fill(t5->emb_own, (size_t)c->vocab * D, 1.0f / sqrtf((float)D), 0);
	synth_fill(t5->rel, (size_t)c->buckets * c->heads, 0.5f, 0);
	synth_fill(t5->final_ln, D, 0.1f, 1.0f);
	for (int l = 0; l < c->layers; l++)
		for (int f = 0; f < W_NF; f++) {
			struct wspec sp = block_spec(c, f);
			if (!sp.suffix)
				continue;
			size_t n = spec_numel(&sp);
			float *w = dc_alloc(n * sizeof(float));
			if (!w)
				goto oom;
			t5->own[(size_t)l * W_NF + f] = w;
			if (sp.rank == 1)
				synth_fill(w, n, 0.1f, 1.0f);
			else
				synth_fill(w, n, 1.0f / sqrtf((float)sp.shape[1]), 0);
		}
	*out = t5;
	return DC_OK;
oom:
	dc_t5_free(t5);
	return dc_fail(DC_ENOMEM, "t5: out of memory for synthetic weights");
}

void dc_t5_free(struct dc_t5 *t5)
{
	if (!t5)
		return;
	if (t5->own) {
		for (size_t i = 0; i < (size_t)t5->cfg.layers * W_NF; i++)
			dc_free(t5->own[i]);
		free(t5->own);
	}
	free(t5->tens);
	dc_free(t5->emb_own);
	dc_free(t5->rel);
	dc_free(t5->final_ln);
	dc_model_free(t5->model);
	free(t5);
}

const struct dc_t5_config *dc_t5_config(const struct dc_t5 *t5)
{
	return &t5->cfg;
}

/* ---- kernels ------------------------------------------------------------------------ */

/* hT[D][N] = RMSNorm of each column of xT, times w[D]; the sum of squares
 * in f32, in feature order, per token (T5LayerNorm). */
static void rms_cols(float *hT, const float *xT, const float *w, int D, int N, float eps)
{
	enum { TB = 64 };
	int nb = (N + TB - 1) / TB;
	#pragma omp parallel for num_threads(nthr((size_t)D * N) < nb ? nthr((size_t)D * N) : nb) schedule(static)
	for (int blk = 0; blk < nb; blk++) {
		int n0 = blk * TB, m = N - n0 < TB ? N - n0 : TB;
		float s[TB];
		for (int j = 0; j < m; j++)
			s[j] = 0.0f;
		for (int d = 0; d < D; d++) {
			const float *xr = xT + (size_t)d * N + n0;
			#pragma omp simd
			for (int j = 0; j < m; j++)
				s[j] += xr[j] * xr[j];
		}
		for (int j = 0; j < m; j++)
			s[j] = 1.0f / sqrtf(s[j] / (float)D + eps);
		for (int d = 0; d < D; d++) {
			const float *xr = xT + (size_t)d * N + n0;
			float *hr = hT + (size_t)d * N + n0;
			float wd = w[d];
			#pragma omp simd
			for (int j = 0; j < m; j++)
				hr[j] = xr[j] * s[j] * wd;
		}
	}
}

/* dst[C][R] = src[R][C]^T, in 32x32 tiles. */
static void transpose(float *dst, const float *src, int R, int C)
{
	enum { TL = 32 };
	int tr = (R + TL - 1) / TL;
	#pragma omp parallel for num_threads(nthr((size_t)R * C)) schedule(static)
	for (int bi = 0; bi < tr; bi++)
		for (int c0 = 0; c0 < C; c0 += TL) {
			int r0 = bi * TL, r1 = r0 + TL < R ? r0 + TL : R, c1 = c0 + TL < C ? c0 + TL : C;
			for (int c = c0; c < c1; c++)
				for (int r = r0; r < r1; r++)
					dst[(size_t)c * R + r] = src[(size_t)r * C + c];
		}
}

/* a = act(a) (* b when gated), n elements. */
static void ff_act(float *a, const float *b, size_t n, int act)
{
	switch (act) {
	case DC_T5_GELU_TANH: dc_gelu_tanh_forward(a, a, n); break;
	case DC_T5_GELU: dc_gelu_forward(a, a, n); break;
	case DC_T5_SILU: dc_silu_forward(a, a, n); break;
	default:
		#pragma omp parallel for simd num_threads(nthr(n)) schedule(static)
		for (size_t i = 0; i < n; i++)
			a[i] = a[i] < 0 ? 0.0f : a[i];   /* relu; NaN stays NaN, as in torch */
		break;
	}
	if (b) {
		#pragma omp parallel for simd num_threads(nthr(n)) schedule(static)
		for (size_t i = 0; i < n; i++)
			a[i] *= b[i];
	}
}

struct fwd {
	int B, T, H, Dk, N;
	const float *qT, *kT, *vT;     /* [I][N] */
	float *attT;                   /* [I][N] */
	const float *bias;             /* [H][2T-1], index T-1 + (j - i) */
	const unsigned char *mask;     /* [B][T] or NULL */
	const unsigned char *any;      /* [B]: row b has a real token */
	float *S;                      /* [chunk][T][T] */
	int chunk;
};

/* attT = (softmax(Q K^T + bias + mask) V)^T for every (batch, head). */
static void attention(const struct fwd *f)
{
	int T = f->T, H = f->H, Dk = f->Dk, N = f->N, P = f->B * H;
	size_t TT = (size_t)T * T;
	for (int p0 = 0; p0 < P; p0 += f->chunk) {
		int np = P - p0 < f->chunk ? P - p0 : f->chunk;
		#pragma omp parallel for num_threads(nthr((size_t)np * TT * Dk)) schedule(dynamic, 1)
		for (int pp = 0; pp < np; pp++) {
			int b = (p0 + pp) / H, h = (p0 + pp) % H;
			size_t off = (size_t)h * Dk * N + (size_t)b * T;   /* rows of head h, columns of b */
			float *S = f->S + (size_t)pp * TT;
			/* S[T][T] = (Q_bh^T)^T K_bh^T */
			dc_sgemm(1, 0, T, T, Dk, 1.0f, f->qT + off, N, f->kT + off, N, 0.0f, S, T, 1);
			const unsigned char *mk = f->mask ? f->mask + (size_t)b * T : NULL;
			if (mk && !f->any[b]) {
				/* every key gets finfo.min: softmax is uniform over all T */
				for (size_t i = 0; i < TT; i++)
					S[i] = 0.0f;
				continue;
			}
			const float *bv = f->bias + (size_t)h * (2 * T - 1);
			for (int i = 0; i < T; i++) {
				float *r = S + (size_t)i * T;
				const float *bi = bv + (T - 1 - i);   /* bi[j] = bias(j - i) */
				#pragma omp simd
				for (int j = 0; j < T; j++)
					r[j] += bi[j];
				if (mk)
					for (int j = 0; j < T; j++)
						if (!mk[j])
							r[j] = -INFINITY;
			}
		}
		dc_softmax_forward(f->S, f->S, np * T, T);
		#pragma omp parallel for num_threads(nthr((size_t)np * TT * Dk)) schedule(dynamic, 1)
		for (int pp = 0; pp < np; pp++) {
			int b = (p0 + pp) / H, h = (p0 + pp) % H;
			size_t off = (size_t)h * Dk * N + (size_t)b * T;
			/* O_bh^T[Dk][T] = V_bh^T . P^T */
			dc_sgemm(0, 1, Dk, T, T, 1.0f, f->vT + off, N, f->S + (size_t)pp * TT, T, 0.0f,
			         f->attT + off, N, 1);
		}
	}
}

/* ---- encode --------------------------------------------------------------------------- */

static float *afl(struct dc_arena *a, size_t n)
{
	return dc_arena_alloc(a, n * sizeof(float));
}

enum dc_status dc_t5_encode(struct dc_t5 *t5, int B, int T, const int32_t *ids,
                            const unsigned char *mask, float *out)
{
	const struct dc_t5_config *c = &t5->cfg;
	if (B < 1 || T < 1 || !ids || !out)
		return dc_fail(DC_EINVAL, "t5: bad arguments (batch %d, %d tokens)", B, T);
	if (T > MAX_T)
		return dc_fail(DC_ELIMIT, "t5: %d tokens exceed the limit of %d", T, MAX_T);
	size_t N, D = (size_t)c->d_model, I = (size_t)c->heads * c->d_kv, F = (size_t)c->d_ff;
	size_t TT = (size_t)T * T, P = (size_t)B * c->heads;
	if (dc_mul_size((size_t)B, (size_t)T, &N) || N > INT32_MAX / 8 ||
	    N * (D > F ? (D > I ? D : I) : (F > I ? F : I)) > ((size_t)1 << 40))
		return dc_fail(DC_EOVERFLOW, "t5: sizes overflow (batch %d, %d tokens)", B, T);
	for (size_t i = 0; i < N; i++)
		if (ids[i] < 0 || ids[i] >= c->vocab)
			return dc_fail(DC_EINVAL, "t5: token id %ld at [%zu][%zu] is outside [0, %d)",
			               (long)ids[i], i / (size_t)T, i % (size_t)T, c->vocab);
	size_t chunk = SCORE_FLOATS / TT;
	chunk = chunk < 1 ? 1 : chunk > P ? P : chunk;

	/* activations, feature-major: x h [D][N], q k v att [I][N], ff [F][N]
	 * (x2 gated), the bias vectors, one chunk of scores, a layer norm and
	 * the per-thread weight-conversion chunks */
	int nt = dc_threads();
	size_t nx = N * D, nq = N * I, nf = N * F, nb = (size_t)c->heads * (2 * T - 1);
	size_t ns = chunk * TT, nc = 0, bytes = 0;
	if (t5->need_conv) {
		nc = chunk_floats(c->d_model);
		nc = chunk_floats((int)I) > nc ? chunk_floats((int)I) : nc;
		nc = chunk_floats(c->d_ff) > nc ? chunk_floats(c->d_ff) : nc;
		nc *= (size_t)nt;
	}
	size_t parts[] = { nx, nx, nq, nq, nq, nq, nf, c->gated ? nf : 0, nb, ns, D, nc };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		bytes += (parts[i] * sizeof(float) + 63) / 64 * 64;
	bytes += (size_t)B + 64;
	struct dc_arena a;
	enum dc_status s = dc_arena_init(&a, bytes);
	if (s)
		return s;
	float *x = afl(&a, nx), *h = afl(&a, nx), *q = afl(&a, nq), *k = afl(&a, nq);
	float *v = afl(&a, nq), *att = afl(&a, nq), *f0 = afl(&a, nf);
	float *f1 = c->gated ? afl(&a, nf) : NULL, *bias = afl(&a, nb), *S = afl(&a, ns);
	float *lnbuf = afl(&a, D), *cbuf = nc ? afl(&a, nc) : NULL;
	unsigned char *any = dc_arena_alloc(&a, (size_t)B);
	if (!x || !h || !q || !k || !v || !att || !f0 || (c->gated && !f1) || !bias || !S ||
	    !lnbuf || (nc && !cbuf) || !any) {
		s = dc_fail(DC_ENOMEM, "t5: out of memory for activations");
		goto done;
	}

	/* 1. embedding rows into out (token-major scratch), then x = out^T */
	if (t5->emb_own || f32_in_place(t5->emb_t)) {
		const float *E = t5->emb_own ? t5->emb_own : (const float *)t5->emb_t->data;
		#pragma omp parallel for num_threads(nthr(nx)) schedule(static)
		for (size_t i = 0; i < N; i++)
			memcpy(out + i * D, E + (size_t)ids[i] * D, D * sizeof(float));
	} else {
		for (size_t i = 0; i < N; i++)
			if ((s = dc_model_read_f32(t5->model, t5->emb_t->name, (size_t)ids[i] * D,
			                           out + i * D, D)))
				goto done;
	}
	transpose(x, out, (int)N, (int)D);

	/* 2. relative-position bias per head, and which rows have a real token */
	for (int r = -(T - 1); r <= T - 1; r++) {
		int bk = dc_t5_bucket(r, c->buckets, c->max_distance);
		for (int hh = 0; hh < c->heads; hh++)
			bias[(size_t)hh * (2 * T - 1) + (size_t)(T - 1 + r)] =
				t5->rel[(size_t)bk * c->heads + hh];
	}
	for (int b = 0; b < B; b++) {
		any[b] = 1;
		if (mask) {
			any[b] = 0;
			for (int j = 0; j < T; j++)
				any[b] |= mask[(size_t)b * T + j] != 0;
		}
	}
	int n = (int)N, d = (int)D, ii = (int)I, ff = (int)F;
	struct fwd fw = { .B = B, .T = T, .H = c->heads, .Dk = c->d_kv, .N = n, .qT = q,
	                  .kT = k, .vT = v, .attT = att, .bias = bias, .mask = mask, .any = any,
	                  .S = S, .chunk = (int)chunk };

	/* 3. blocks (nt, read once, sizes cbuf) */
	for (int l = 0; l < c->layers; l++) {
		const float *w;
		if ((s = vget(t5, l, W_LN0, lnbuf, &w)))
			goto done;
		rms_cols(h, x, w, d, n, c->eps);
		if ((s = linw(t5, l, W_Q, q, h, ii, d, n, 0, cbuf, nt)) ||
		    (s = linw(t5, l, W_K, k, h, ii, d, n, 0, cbuf, nt)) ||
		    (s = linw(t5, l, W_V, v, h, ii, d, n, 0, cbuf, nt)))
			goto done;
		attention(&fw);
		if ((s = linw(t5, l, W_O, x, att, d, ii, n, 1, cbuf, nt)))
			goto done;

		if ((s = vget(t5, l, W_LN1, lnbuf, &w)))
			goto done;
		rms_cols(h, x, w, d, n, c->eps);
		if ((s = linw(t5, l, W_WI0, f0, h, ff, d, n, 0, cbuf, nt)) ||
		    (c->gated && (s = linw(t5, l, W_WI1, f1, h, ff, d, n, 0, cbuf, nt))))
			goto done;
		ff_act(f0, f1, nf, c->act);
		if ((s = linw(t5, l, W_WO, x, f0, d, ff, n, 1, cbuf, nt)))
			goto done;
	}

	/* 4. final norm, back to token-major */
	rms_cols(h, x, t5->final_ln, d, n, c->eps);
	transpose(out, h, d, n);
	s = DC_OK;
done:
	dc_arena_release(&a);
	return s;
}
