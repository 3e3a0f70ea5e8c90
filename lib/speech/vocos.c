/*
 * vocos.c - the Vocos generator of vocos.h in f32: ConvNeXt backbone on
 * time-major activations [T][C] (so every pointwise layer is one BLIS
 * GEMM over all frames), then the ISTFT head with kissfft's real inverse
 * FFT (kiss_fftri reads only the real parts of the DC and Nyquist bins,
 * as torch.fft.irfft does).
 *
 * At open the weights are converted to f32 into one block and rearranged
 * once for the time-major layout: the embedding conv W[dim][n_mels][7] to
 * [dim][7][n_mels] (so that a frame's 7-frame window of mel rows, which
 * is contiguous, is one GEMM row), the depthwise kernels [dim][1][7] to
 * [7][dim], and each block's layer scale gamma folded into pwconv2
 * (gamma * (W x + b) = (gamma W) x + gamma b, equal up to rounding).
 *
 * dc_vocos_synth_range (dc_vocos_synth is the whole range): the frames
 * whose windows overlap the samples asked for, plus the backbone's
 * receptive field each side, go through the backbone (rows near a cut
 * are wrong but never reach the frames used); the embedding as an
 * im2col GEMM, per block the depthwise conv (vectorised over channels),
 * LayerNorm, Linear + GELU,
 * and a GEMM accumulating straight into the residual stream; the head
 * Linear; then per frame exp/clip, polar -> cartesian, inverse real FFT
 * and window, written over the frame's own row of the head output; and
 * the overlap-add, computed per output sample (frames summed in ascending
 * order, divided by the summed squared window), so that the result does
 * not depend on which thread computes which sample.  The two paddings
 * differ only in where the output starts in the overlap-added signal:
 * (n_fft - hop)/2 samples in for "same", n_fft/2 for "center" (which
 * then has one hop fewer at the end).
 */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kiss_fftr.h>

#include "vocos.h"
#include "../io/safetensors.h"
#include "../ops/ops.h"
#include "../signal/signal.h"

#define LN_EPS 1e-6f
#define KW 7                   /* conv kernel width (embed and depthwise) */
#define MAG_MAX 100.0f         /* torch.exp(mag).clip(max=1e2) */
#define MAX_LAYERS 256

struct block_w {
	const float *dw_w, *dw_b;      /* [KW][dim] (rearranged), [dim] */
	const float *ln_w, *ln_b;      /* [dim] */
	const float *w1, *b1;          /* [inter][dim], [inter] */
	const float *w2, *b2;          /* gamma-scaled: [dim][inter], [dim] */
	const float *gamma;            /* [dim] as loaded (folded into w2, b2) */
};

struct dc_vocos {
	struct dc_vocos_config cfg;
	float *block;                  /* every weight, f32 */
	size_t used, cap;
	const float *emb_w, *emb_b;    /* [dim][KW][n_mels] (rearranged), [dim] */
	const float *norm_w, *norm_b;
	struct block_w *blk;           /* [num_layers] */
	const float *fin_w, *fin_b;
	const float *out_w, *out_b;    /* [n_fft+2][dim], [n_fft+2] */
	float *win;                    /* [n_fft] periodic Hann / n_fft */
	float *win2;                   /* [n_fft] Hann squared */
};

/* ---- loading ---------------------------------------------------------------- */

struct loader {
	struct dc_vocos *v;
	struct dc_f32_block b;   /* lib/io: check and count, then load */
};

/* Tensor `name` (printf format) of the given shape; pass 0 checks and counts. */
#define wget(L, ...) dc_f32_block_get(&(L)->b, __VA_ARGS__)

#define SH(...) ((const int64_t[]){ __VA_ARGS__ })

static enum dc_status load_all(struct loader *L)
{
	struct dc_vocos *v = L->v;
	const struct dc_vocos_config *c = &v->cfg;
	int d = c->dim, I = c->intermediate_dim, O = c->n_fft + 2;
	enum dc_status s;
	if ((s = wget(L, &v->emb_w, 3, SH(d, c->n_mels, KW), "backbone.embed.weight")) ||
	    (s = wget(L, &v->emb_b, 1, SH(d), "backbone.embed.bias")) ||
	    (s = wget(L, &v->norm_w, 1, SH(d), "backbone.norm.weight")) ||
	    (s = wget(L, &v->norm_b, 1, SH(d), "backbone.norm.bias")))
		return s;
	for (int i = 0; i < c->num_layers; i++) {
		struct block_w *b = &v->blk[i];
#define G(dst, r, sh, suf) \
	if ((s = wget(L, &b->dst, r, sh, "backbone.convnext.%d.%s", i, suf))) return s
		G(dw_w, 3, SH(d, 1, KW), "dwconv.weight");
		G(dw_b, 1, SH(d), "dwconv.bias");
		G(ln_w, 1, SH(d), "norm.weight");
		G(ln_b, 1, SH(d), "norm.bias");
		G(w1, 2, SH(I, d), "pwconv1.weight");
		G(b1, 1, SH(I), "pwconv1.bias");
		G(w2, 2, SH(d, I), "pwconv2.weight");
		G(b2, 1, SH(d), "pwconv2.bias");
		G(gamma, 1, SH(d), "gamma");
#undef G
	}
	if ((s = wget(L, &v->fin_w, 1, SH(d), "backbone.final_layer_norm.weight")) ||
	    (s = wget(L, &v->fin_b, 1, SH(d), "backbone.final_layer_norm.bias")) ||
	    (s = wget(L, &v->out_w, 2, SH(O, d), "head.out.weight")) ||
	    (s = wget(L, &v->out_b, 1, SH(O), "head.out.bias")))
		return s;
	return DC_OK;
}

static enum dc_status cfg_int(const struct dc_model *m, const char *key, int *out, int lo, int hi)
{
	int64_t x;
	if (dc_model_config_int(m, key, &x))
		return dc_fail(DC_EFORMAT, "vocos: config.json: '%s' missing or not an integer", key);
	if (x < lo || x > hi)
		return dc_fail(DC_EFORMAT, "vocos: config.json: '%s' = %lld out of range [%d, %d]",
		               key, (long long)x, lo, hi);
	*out = (int)x;
	return DC_OK;
}

static enum dc_status read_config(struct dc_vocos_config *c, const struct dc_model *m)
{
	const char *type;
	enum dc_status s;
	const int BIG = 1 << 16;
	if (dc_model_config_string(m, "model_type", &type) || strcmp(type, "vocos"))
		return dc_fail(DC_EFORMAT, "vocos: config.json: 'model_type' is not \"vocos\"");
	if ((s = cfg_int(m, "n_mels", &c->n_mels, 1, BIG)) ||
	    (s = cfg_int(m, "dim", &c->dim, 1, BIG)) ||
	    (s = cfg_int(m, "intermediate_dim", &c->intermediate_dim, 1, BIG)) ||
	    (s = cfg_int(m, "num_layers", &c->num_layers, 0, MAX_LAYERS)) ||
	    (s = cfg_int(m, "n_fft", &c->n_fft, 2, 1 << 20)) ||
	    (s = cfg_int(m, "hop_length", &c->hop, 1, 1 << 20)) ||
	    (s = cfg_int(m, "sampling_rate", &c->sample_rate, 1, 1 << 24)))
		return s;
	c->center = 0;
	if (dc_config_has(dc_model_config(m), "padding")) {
		const char *pad;
		if (dc_model_config_string(m, "padding", &pad) ||
		    (strcmp(pad, "same") && strcmp(pad, "center")))
			return dc_fail(DC_EFORMAT,
			               "vocos: config.json: 'padding' must be \"same\" or \"center\"");
		c->center = !strcmp(pad, "center");
	}
	if (c->n_fft % 2)
		return dc_fail(DC_EFORMAT, "vocos: config.json: n_fft %d must be even", c->n_fft);
	if (c->hop >= c->n_fft)
		return dc_fail(DC_EFORMAT, "vocos: config.json: hop_length %d must be below n_fft %d",
		               c->hop, c->n_fft);
	if (!c->center && (c->n_fft - c->hop) % 2)
		return dc_fail(DC_EFORMAT,
		               "vocos: config.json: hop_length %d must be below n_fft %d with n_fft - hop_length even for \"same\" padding",
		               c->hop, c->n_fft);
	return DC_OK;
}

/* p[A][B][C] -> p[A][C][B] through tmp[B*C]. */
static void swap_last2(float *p, int A, int B, int C, float *tmp)
{
	size_t bc = (size_t)B * C;
	for (int a = 0; a < A; a++) {
		float *q = p + (size_t)a * bc;
		memcpy(tmp, q, bc * sizeof(float));
		for (int b = 0; b < B; b++)
			for (int k = 0; k < C; k++)
				q[(size_t)k * B + b] = tmp[(size_t)b * C + k];
	}
}

/* The rearrangements of the file comment; the weights are in the block. */
static enum dc_status rearrange(struct dc_vocos *v)
{
	const struct dc_vocos_config *c = &v->cfg;
	int d = c->dim, I = c->intermediate_dim;
	size_t tn = (size_t)c->n_mels * KW > (size_t)d * KW ? (size_t)c->n_mels * KW : (size_t)d * KW;
	float *tmp = dc_alloc(tn * sizeof(float));
	if (!tmp)
		return dc_fail(DC_ENOMEM, "vocos: out of memory");
	swap_last2((float *)v->emb_w, d, c->n_mels, KW, tmp);
	for (int i = 0; i < c->num_layers; i++) {
		struct block_w *b = &v->blk[i];
		swap_last2((float *)b->dw_w, 1, d, KW, tmp);      /* [d][7] -> [7][d] */
		float *w2 = (float *)b->w2, *b2 = (float *)b->b2;
		for (int o = 0; o < d; o++) {
			float g = b->gamma[o];
			for (int k = 0; k < I; k++)
				w2[(size_t)o * I + k] *= g;
			b2[o] *= g;
		}
	}
	dc_free(tmp);
	return DC_OK;
}

enum dc_status dc_vocos_open(struct dc_vocos **out, const char *dir)
{
	*out = NULL;
	struct dc_model *m;
	enum dc_status s = dc_model_open(&m, dir);
	if (s)
		return dc_fail_prefixed(s, "vocos");
	struct dc_vocos *v = dc_calloc(1, sizeof *v);
	if (!v) {
		dc_model_free(m);
		return dc_fail(DC_ENOMEM, "vocos: out of memory");
	}
	struct loader L = { v, { .m = m, .who = "vocos" } };
	if ((s = read_config(&v->cfg, m)))
		goto fail;
	int n_fft = v->cfg.n_fft;
	if (!(v->blk = dc_calloc((size_t)v->cfg.num_layers + 1, sizeof *v->blk)) ||
	    !(v->win = dc_alloc((size_t)n_fft * sizeof(float))) ||
	    !(v->win2 = dc_alloc((size_t)n_fft * sizeof(float)))) {
		s = dc_fail(DC_ENOMEM, "vocos: out of memory");
		goto fail;
	}
	if ((s = load_all(&L)))
		goto fail;
	v->cap = L.b.cap;
	if (!(v->block = dc_calloc(v->cap, sizeof(float)))) {
		s = dc_fail(DC_ENOMEM, "vocos: out of memory for %zu weights", v->cap);
		goto fail;
	}
	L.b.block = v->block;
	L.b.pass = 1;
	if ((s = load_all(&L)) || (s = rearrange(v)))
		goto fail;
	v->used = L.b.used;
	v->cfg.n_params = v->used;
	dc_window_hann(v->win2, n_fft, 1);
	for (int i = 0; i < n_fft; i++) {
		float w = v->win2[i];
		v->win[i] = w / (float)n_fft;
		v->win2[i] = w * w;
	}
	dc_model_free(m);
	*out = v;
	return DC_OK;
fail:
	dc_model_free(m);
	dc_vocos_free(v);
	return s;
}

void dc_vocos_free(struct dc_vocos *v)
{
	if (!v)
		return;
	dc_free(v->block);
	dc_free(v->blk);
	dc_free(v->win);
	dc_free(v->win2);
	dc_free(v);
}

const struct dc_vocos_config *dc_vocos_config(const struct dc_vocos *m)
{
	return &m->cfg;
}

/* ---- forward ------------------------------------------------------------------ */

/* y[T][C] = b + depthwise conv (k7, pad 3) of x[T][C], weights w[KW][C]. */
static void dwconv_forward(float *y, const float *x, const float *w, const float *b, int T, int C,
                           int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if (T > 1 && (size_t)T * C >= 16384)
	for (int t = 0; t < T; t++) {
		float *yt = y + (size_t)t * C;
#pragma omp simd
		for (int c = 0; c < C; c++)
			yt[c] = b[c];
		for (int k = 0; k < KW; k++) {
			long s = (long)t + k - KW / 2;
			if (s < 0 || s >= T)
				continue;
			const float *xs = x + (size_t)s * C, *wk = w + (size_t)k * C;
#pragma omp simd
			for (int c = 0; c < C; c++)
				yt[c] += wk[c] * xs[c];
		}
	}
}

/* h[T][C] += b (broadcast over rows). */
static void add_rows(float *h, const float *b, int T, int C, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if (T > 1 && (size_t)T * C >= 65536)
	for (int t = 0; t < T; t++) {
		float *ht = h + (size_t)t * C;
#pragma omp simd
		for (int c = 0; c < C; c++)
			ht[c] += b[c];
	}
}

/* The ISTFT head's per-frame part: row t of s ([T][n_fft+2] head
 * outputs) becomes its windowed inverse FFT (first n_fft floats). */
__attribute__((optimize("no-math-errno")))
static void frames_inverse(const struct dc_vocos *v, float *s, int T, kiss_fftr_cfg cfg,
                           kiss_fft_cpx *X, float *buf)
{
	const int n_fft = v->cfg.n_fft, F = n_fft / 2 + 1;
	const size_t row = (size_t)n_fft + 2;
#pragma omp for schedule(static)
	for (int t = 0; t < T; t++) {
		float *st = s + (size_t)t * row;
		const float *ph = st + F;
		for (int f = 0; f < F; f++) {
			float mag = expf(st[f]);
			mag = mag > MAG_MAX ? MAG_MAX : mag;
			X[f].r = mag * cosf(ph[f]);
			X[f].i = mag * sinf(ph[f]);
		}
		kiss_fftri(cfg, X, buf);
		const float *w = v->win;
#pragma omp simd
		for (int i = 0; i < n_fft; i++)
			st[i] = buf[i] * w[i];
	}
}

/* Where the output starts in the overlap-added signal. */
static size_t out_pad(const struct dc_vocos_config *c)
{
	return c->center ? (size_t)c->n_fft / 2 : (size_t)(c->n_fft - c->hop) / 2;
}

/* audio[i], i in [0, count*hop): sample first*hop + i of the whole
 * output, the overlap-add over padded position j = first*hop + i +
 * out_pad() of the windowed frames (rows of s, frame lo in row 0) over
 * the summed squared window; frames clipped to [0, T).  *tiny is set
 * where that window sum is below 1e-11 (torch.istft's NOLA check; the
 * sample is then left as computed). */
static void overlap_add(const struct dc_vocos *v, float *audio, const float *s, int T, int lo,
                        int first, int count, int *tiny)
{
	const size_t n_fft = (size_t)v->cfg.n_fft, hop = (size_t)v->cfg.hop, row = n_fft + 2;
	const size_t pad = out_pad(&v->cfg), n = (size_t)count * hop, j0 = (size_t)first * hop + pad;
	int bad = 0;
	const float *w2 = v->win2;
#pragma omp for schedule(static)
	for (size_t i = 0; i < n; i++) {
		size_t j = j0 + i;
		size_t t_lo = j >= n_fft ? (j - n_fft) / hop + 1 : 0;
		size_t t_hi = j / hop;
		if (t_hi > (size_t)T - 1)
			t_hi = (size_t)T - 1;
		float acc = 0.0f, env = 0.0f;
		for (size_t t = t_lo; t <= t_hi; t++) {
			size_t o = j - t * hop;
			acc += s[(t - (size_t)lo) * row + o];
			env += w2[o];
		}
		bad |= !(env >= 1e-11f);
		audio[i] = acc / env;
	}
	if (bad) {
#pragma omp atomic write
		*tiny = 1;
	}
}

size_t dc_vocos_samples(const struct dc_vocos *v, int frames)
{
	int n = v->cfg.center ? frames - 1 : frames;
	return n > 0 ? (size_t)n * (size_t)v->cfg.hop : 0;
}

int dc_vocos_context(const struct dc_vocos *v)
{
	return KW / 2 * (v->cfg.num_layers + 1);
}

enum dc_status dc_vocos_synth_range(const struct dc_vocos *v, const float *mel, int frames,
                                    int first, int count, float *audio)
{
	const struct dc_vocos_config *c = &v->cfg;
	if (frames < 1)
		return dc_fail(DC_EINVAL, "vocos: %d frames (need at least 1)", frames);
	if (c->center && frames < 2)
		return dc_fail(DC_EINVAL, "vocos: %d frame (\"center\" padding needs at least 2)",
		               frames);
	const int avail = c->center ? frames - 1 : frames;    /* hops of output */
	if ((first < 0 || count < 1 || first > avail - count) && !c->center)
		return dc_fail(DC_EINVAL, "vocos: frames [%d, %d + %d) not within the %d frames", first,
		               first, count, frames);
	if (first < 0 || count < 1 || first > avail - count)
		return dc_fail(DC_EINVAL,
		               "vocos: hops [%d, %d + %d) not within the %d hops of %d \"center\"-padded frames",
		               first, first, count, avail, frames);
	const int T = frames, M = c->n_mels, C = c->dim, I = c->intermediate_dim;
	const int n_fft = c->n_fft, hop = c->hop, O = n_fft + 2, KM = KW * M;
	/* frames [lo, hi) overlap the samples asked for; the backbone runs on
	 * [a, b), context frames more each side, whose edge rows are wrong
	 * (zero padding inside the sequence) but do not reach [lo, hi) */
	const long pad = (long)out_pad(c), R = dc_vocos_context(v);
	long j0 = (long)first * hop + pad, j1 = ((long)first + count) * hop - 1 + pad;
	int lo = (int)(j0 >= n_fft ? (j0 - n_fft) / hop + 1 : 0);
	int hi = (int)(j1 / hop + 1 < T ? j1 / hop + 1 : T);
	int a = (int)(lo - R > 0 ? lo - R : 0), b = (int)(hi + R < T ? hi + R : T);
	const int Tw = b - a, Th = hi - lo;
	/* big: im2col [Tw][KW*M], then [Tw][I], then head outputs [Th][O] */
	size_t wmax = (size_t)KM;
	if ((size_t)I > wmax)
		wmax = (size_t)I;
	if ((size_t)O > wmax)
		wmax = (size_t)O;
	size_t nbig, nh;
	if (dc_mul_size((size_t)Tw, wmax, &nbig) || dc_mul_size((size_t)Tw, (size_t)C, &nh) ||
	    nbig > SIZE_MAX / sizeof(float) || nh > SIZE_MAX / sizeof(float) ||
	    wmax > (size_t)INT32_MAX)
		return dc_fail(DC_EOVERFLOW, "vocos: %d frames too many", frames);
	int nt = dc_threads();
	float *big = dc_alloc(nbig * sizeof(float));
	float *h = dc_alloc(nh * sizeof(float));
	float *y = dc_alloc(nh * sizeof(float));
	kiss_fftr_cfg *cfgs = dc_calloc((size_t)nt, sizeof *cfgs);
	kiss_fft_cpx *X = dc_calloc((size_t)nt * (size_t)(n_fft / 2 + 1), sizeof *X);
	float *buf = dc_calloc((size_t)nt * (size_t)n_fft, sizeof(float));
	enum dc_status s = DC_OK;
	if (!big || !h || !y || !cfgs || !X || !buf) {
		s = dc_fail(DC_ENOMEM, "vocos: out of memory for %d frames", Tw);
		goto out;
	}
	for (int i = 0; i < nt; i++)
		if (!(cfgs[i] = kiss_fftr_alloc(n_fft, 1, NULL, NULL))) {
			s = dc_fail(DC_ENOMEM, "vocos: out of memory for the FFT");
			goto out;
		}

	// embed: big[t] = mel rows t-3 .. t+3 (zero outside [a, b)), h = big . W^T + b
	{
		const float *mw = mel + (size_t)a * M;
		float *col = big;
#pragma omp parallel for num_threads(nt) schedule(static) if (Tw > 1 && nbig >= 65536)
		for (int t = 0; t < Tw; t++)
			for (int k = 0; k < KW; k++) {
				long src = (long)t + k - KW / 2;
				float *dst = col + (size_t)t * KM + (size_t)k * M;
				if (src < 0 || src >= Tw)
					memset(dst, 0, (size_t)M * sizeof(float));
				else
					memcpy(dst, mw + (size_t)src * M, (size_t)M * sizeof(float));
			}
		dc_linear_forward(h, col, v->emb_w, v->emb_b, Tw, KM, C);
		dc_layernorm_forward(h, h, v->norm_w, v->norm_b, Tw, C, LN_EPS);
	}
	// ConvNeXt blocks: h += gamma * pw2(gelu(pw1(ln(dw(h)))))  (gamma in pw2)
	for (int l = 0; l < c->num_layers; l++) {
		const struct block_w *bw = &v->blk[l];
		dwconv_forward(y, h, bw->dw_w, bw->dw_b, Tw, C, nt);
		dc_layernorm_forward(y, y, bw->ln_w, bw->ln_b, Tw, C, LN_EPS);
		dc_linear_forward(big, y, bw->w1, bw->b1, Tw, C, I);
		dc_gelu_forward(big, big, (size_t)Tw * I);
		add_rows(h, bw->b2, Tw, C, nt);
		dc_sgemm(0, 1, Tw, C, I, 1.0f, big, I, bw->w2, I, 1.0f, h, C, 0);
	}
	// head on frames [lo, hi): big[Th][n_fft+2] = log-magnitudes | phases
	float *hl = h + (size_t)(lo - a) * C;
	dc_layernorm_forward(hl, hl, v->fin_w, v->fin_b, Th, C, LN_EPS);
	dc_linear_forward(big, hl, v->out_w, v->out_b, Th, C, O);
	// inverse STFT
	int tiny = 0;
#pragma omp parallel num_threads(nt)
	{
		int me = omp_get_thread_num();
		frames_inverse(v, big, Th, cfgs[me], X + (size_t)me * (size_t)(n_fft / 2 + 1),
		               buf + (size_t)me * (size_t)n_fft);
		overlap_add(v, audio, big, T, lo, first, count, &tiny);
	}
	if (tiny)
		s = dc_fail(DC_EINVAL,
		            "vocos: the summed squared window is below 1e-11 somewhere (n_fft %d, hop %d: the NOLA condition fails)",
		            n_fft, hop);
out:
	if (cfgs)
		for (int i = 0; i < nt; i++)
			kiss_fftr_free(cfgs[i]);
	dc_free(cfgs);
	dc_free(X);
	dc_free(buf);
	dc_free(big);
	dc_free(h);
	dc_free(y);
	return s;
}

enum dc_status dc_vocos_synth(const struct dc_vocos *v, const float *mel, int frames,
                              float *audio)
{
	if (frames < 1)
		return dc_fail(DC_EINVAL, "vocos: %d frames (need at least 1)", frames);
	if (v->cfg.center && frames < 2)
		return dc_fail(DC_EINVAL, "vocos: %d frame (\"center\" padding needs at least 2)",
		               frames);
	return dc_vocos_synth_range(v, mel, frames, 0, v->cfg.center ? frames - 1 : frames, audio);
}
