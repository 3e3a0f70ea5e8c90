/*
 * autoformer.c - Autoformer (Wu et al., NeurIPS 2021) as in
 * Time-Series-Library models/Autoformer.py with layers/Autoformer_EncDec.py,
 * layers/AutoCorrelation.py and layers/Embed.py, forward and backward.
 *
 *   decomp(x) = (x - trend, trend), trend = AvgPool1d(k, stride 1) over x
 *   padded with (k-1)/2 copies of its first and last step (k odd).
 *   Decoder start: seasonal_init = [seasonal(x)[-S:], 0 (H steps)],
 *   trend_init = [trend(x)[-S:], mean_t x (H steps)].
 *   Embedding (DataEmbedding_wo_pos): circular Conv1d(C, d, 3, no bias)
 *   + Linear(M, d, no bias) of the time features, dropout.
 *   Encoder layer: x = season(x + drop(AC(x, x))); x = season(x + FFN(x)),
 *   FFN = drop(conv2(drop(act(conv1 x)))) with k=1 convs without bias;
 *   encoder.norm = my_Layernorm (LayerNorm, minus its mean over time).
 *   Decoder layer: x, t1 = decomp(x + drop(AC(x, x)));
 *   x, t2 = decomp(x + drop(AC(x, enc))); x, t3 = decomp(x + FFN(x));
 *   trend += circular Conv1d(d, C, 3, no bias)(t1 + t2 + t3).
 *   Output: last H steps of trend + Linear(d, C)(my_Layernorm(x)).
 *
 * AutoCorrelation (Q from the query input, K and V zero-padded or
 * truncated to the query length Lq, projections as in attention): the mean
 * over heads and channels of corr = irfft(rfft(Q) conj(rfft(K))), i.e.
 *   mv[b][tau] = 1/di sum_c sum_t Q[b][(t+tau) % Lq][c] K[b][t][c],
 * computed with kissfft (the channel spectra are summed, one inverse per
 * sample).  For an odd Lq, torch.fft.irfft without n gives Lq - 1 lags;
 * that quirk is reproduced (see ac_corr).  top_k = int(factor ln Lq) delays: in training
 * (time_delay_agg_training) the top-k of the batch mean of mv, shared by
 * the batch; in evaluation (time_delay_agg_inference) per sample.
 * w[b] = softmax(mv[b][delays]); out[b][t] = sum_i w[b][i] V[b][(t + delay_i) % Lq].
 * Backward: the delays are piecewise constant (no gradient); the gradient
 * reaches V through the rolled copies and Q, K through the selected mv
 * values (mv is bilinear in Q and K, so only the k selected lags matter).
 * Heads only split the channels; the mean over them makes the result
 * independent of n_heads (except for d_model % n_heads channels dropped).
 *
 * Hyperparameters (TSLib names, defaults from the ETTh1 script
 * scripts/long_term_forecast/ETT_script/Autoformer_ETTh1.sh and run.py):
 * d_model 512, n_heads 8, e_layers 2, d_layers 1, d_ff 2048, factor 3,
 * moving_avg 25 (odd), dropout 0.1, activation "gelu".  label_len >= 1.
 *
 * Dropout streams: 0 encoder embedding, 1 decoder embedding, 16 + 4*l (..+2)
 * encoder layer l, 1024 + 4*l (..+3) decoder layer l.  The dropout of
 * TSLib's AutoCorrelation module is never applied there, nor here.
 */
#include "forecast.h"
#include "fc_encoder.h"
#include "../ops/ops.h"

#include <kiss_fft.h>
#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AF_MAX_LAYERS 16
#define AF_NT_AC 8 /* tensors per AutoCorrelationLayer */

/* ---- parameters ---------------------------------------------------------- */

struct ac_w { float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; };
struct enc_w { struct ac_w a; float *w1, *w2; };
struct dec_w { struct ac_w sa, ca; float *w1, *w2, *wp; };

/* activations of one AutoCorrelationLayer call */
struct ac_cache {
	float *q, *k, *v;   /* [B][Lq][di], [B][Lk][di] x2 */
	float *agg;         /* [B][Lq][di]: input of out_projection */
	float *p;           /* [B][K] softmax weights */
	int *delay;         /* [B][K] */
};
struct enc_cache { struct ac_cache ac; float *x1, *h, *g, *out; };
struct dec_cache { struct ac_cache sa, ca; float *x1, *x2, *h, *g, *out, *rt; };

struct af_state {
	int d, di, H, E, Dl, F, kavg, relu, Ke, Kd;
	float p, factor;
	int L, S, Ld;                        /* encoder length, label_len, decoder length */
	/* tensor offsets */
	size_t o_etok, o_etmp, o_dtok, o_dtmp, o_enw, o_enb, o_dnw, o_dnb, o_pw, o_pb;
	size_t o_enc[AF_MAX_LAYERS][AF_NT_AC + 2];
	size_t o_dec[AF_MAX_LAYERS][2 * AF_NT_AC + 3];
	/* activations for batch capacity bcap */
	int bcap, last_b, last_train;
	uint64_t last_seed;
	float *mem;
	float *sinit, *emark, *dmark, *ecol, *dcol, *eemb, *demb;
	float *enc_out, *emean, *erstd, *dec_z, *dmean, *drstd;
	struct enc_cache ec[AF_MAX_LAYERS];
	struct dec_cache dc[AF_MAX_LAYERS];
	/* work (shared by forward and backward) */
	float *t0, *t1, *t2, *t3, *f1, *wcol, *wr, *dwr, *mv, *yfull;
	float *dagg, *dq, *dk, *dv, *denc, *gA, *gB;
};

static size_t a16(size_t n) { return (n + 15) & ~(size_t)15; }

/* bump allocation over one block; with base NULL only counts */
struct cursor { float *base; size_t n; };
static float *take(struct cursor *c, size_t n)
{
	float *r = c->base ? c->base + c->n : NULL;
	c->n += a16(n);
	return r;
}

/* ---- series decomposition ------------------------------------------------ */

/* season = x - trend, trend (may be NULL) = replicate-padded moving average
 * of x[B][L][D] over time, kernel k (odd); season must not alias x. */
static void decomp_forward(float *season, float *trend, const float *x, int B, int L, int D, int k)
{
	int p = (k - 1) / 2, nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * D * k >= 65536)
	for (long r = 0; r < (long)B * L; r++) {
		int b = (int)(r / L), t = (int)(r % L);
		const float *xb = x + (size_t)b * L * D;
		float *acc = season + (size_t)r * D;
		for (int c = 0; c < D; c++)
			acc[c] = 0.0f;
		for (int j = -p; j <= p; j++) {
			int u = t + j < 0 ? 0 : t + j >= L ? L - 1 : t + j;
			const float *xr = xb + (size_t)u * D;
#pragma omp simd
			for (int c = 0; c < D; c++)
				acc[c] += xr[c];
		}
		const float *xr = x + (size_t)r * D;
		float *tr = trend ? trend + (size_t)r * D : NULL;
		for (int c = 0; c < D; c++) {
			float m = acc[c] / (float)k;
			if (tr)
				tr[c] = m;
			acc[c] = xr[c] - m;
		}
	}
}

/* dx[B][L][D] += d/dx given the gradients of season (ds) and trend (dt),
 * either may be NULL: dx += ds + A^T (dt - ds), A the moving average. */
#define DECOMP_BLK 256
static void decomp_backward(float *dx, const float *ds, const float *dt, int B, int L, int D, int k)
{
	int p = (k - 1) / 2, nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * D * k >= 65536)
	for (int b = 0; b < B; b++) {
		float *dxb = dx + (size_t)b * L * D;
		size_t o = (size_t)b * L * D;
		if (ds)
			for (size_t i = 0; i < (size_t)L * D; i++)
				dxb[i] += ds[o + i];
		for (int t = 0; t < L; t++) {
			const float *dsr = ds ? ds + o + (size_t)t * D : NULL;
			const float *dtr = dt ? dt + o + (size_t)t * D : NULL;
			if (!dsr && !dtr)
				break;
			// g = (dt - ds) / k for row t, once per row rather than once
			// per tap (the same values, added in the same order)
			for (int c0 = 0; c0 < D; c0 += DECOMP_BLK) {
				int nc = D - c0 < DECOMP_BLK ? D - c0 : DECOMP_BLK;
				float g[DECOMP_BLK];
				if (dsr && dtr)
					for (int c = 0; c < nc; c++)
						g[c] = (dtr[c0 + c] - dsr[c0 + c]) / (float)k;
				else if (dtr)
					for (int c = 0; c < nc; c++)
						g[c] = dtr[c0 + c] / (float)k;
				else
					for (int c = 0; c < nc; c++)
						g[c] = -(dsr[c0 + c] / (float)k);
				for (int j = -p; j <= p; j++) {
					int u = t + j < 0 ? 0 : t + j >= L ? L - 1 : t + j;
					float *dr = dxb + (size_t)u * D + c0;
#pragma omp simd
					for (int c = 0; c < nc; c++)
						dr[c] += g[c];
				}
			}
		}
	}
}

/* ---- my_Layernorm -------------------------------------------------------- */

/*
 * o[t][c] = g[t][c] - mean_t g[t][c] for one series g[L][D] (o may alias g).
 * Columns in blocks of MYLN_BLK, the rows summed in order, so the sums are
 * those of a per-column loop, read row by row.
 */
#define MYLN_BLK 128
static void sub_time_mean(float *o, const float *g, int L, int D)
{
	for (int c0 = 0; c0 < D; c0 += MYLN_BLK) {
		int nc = D - c0 < MYLN_BLK ? D - c0 : MYLN_BLK;
		float m[MYLN_BLK];
		for (int c = 0; c < nc; c++)
			m[c] = 0.0f;
		for (int t = 0; t < L; t++) {
			const float *r = g + (size_t)t * D + c0;
#pragma omp simd
			for (int c = 0; c < nc; c++)
				m[c] += r[c];
		}
		for (int c = 0; c < nc; c++)
			m[c] /= (float)L;
		for (int t = 0; t < L; t++) {
			const float *r = g + (size_t)t * D + c0;
			float *w = o + (size_t)t * D + c0;
#pragma omp simd
			for (int c = 0; c < nc; c++)
				w[c] = r[c] - m[c];
		}
	}
}

static void myln_forward(float *y, float *mean, float *rstd, const float *x, const float *w,
                         const float *bias, int B, int L, int D)
{
	dc_nn_layernorm_forward(y, mean, rstd, x, w, bias, B * L, D, 1e-5f);
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * D >= 65536)
	for (int b = 0; b < B; b++)
		sub_time_mean(y + (size_t)b * L * D, y + (size_t)b * L * D, L, D);
}

/* dx += ...; tmp [B][L][D] scratch */
static void myln_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *mean, const float *rstd, const float *w, float *tmp,
                          int B, int L, int D)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * D >= 65536)
	for (int b = 0; b < B; b++)
		sub_time_mean(tmp + (size_t)b * L * D, dy + (size_t)b * L * D, L, D);
	dc_nn_layernorm_backward(dx, dw, db, tmp, x, mean, rstd, w, B * L, D);
}

/* ---- circular Conv1d, kernel 3, padding 1, no bias (im2col) -------------- */

/* col[B*L][3*IC]: col[t][j*IC + c] = x[(t + j - 1) mod L][c] */
static void circ_im2col(float *col, const float *x, int B, int L, int IC)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * IC >= 16384)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < L; t++)
			for (int j = 0; j < 3; j++) {
				int u = (t + j - 1 + L) % L;
				memcpy(col + ((size_t)b * L + t) * 3 * IC + (size_t)j * IC,
				       x + ((size_t)b * L + u) * IC, (size_t)IC * sizeof(float));
			}
}

/* dx[B][L][IC] += col2im(dcol) */
static void circ_col2im_acc(float *dx, const float *dcol, int B, int L, int IC)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * IC >= 16384)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < L; t++)
			for (int j = 0; j < 3; j++) {
				int u = (t + j - 1 + L) % L;
				float *d = dx + ((size_t)b * L + u) * IC;
				const float *s = dcol + ((size_t)b * L + t) * 3 * IC + (size_t)j * IC;
				for (int c = 0; c < IC; c++)
					d[c] += s[c];
			}
}

/* Wr[OC][3][IC] from torch's W[OC][IC][3] */
static void circ_wr(float *Wr, const float *W, int OC, int IC)
{
	for (int o = 0; o < OC; o++)
		for (int c = 0; c < IC; c++)
			for (int j = 0; j < 3; j++)
				Wr[((size_t)o * 3 + j) * IC + c] = W[((size_t)o * IC + c) * 3 + j];
}

/* gW[OC][IC][3] += dWr[OC][3][IC] */
static void circ_dw_acc(float *gW, const float *dWr, int OC, int IC)
{
	for (int o = 0; o < OC; o++)
		for (int c = 0; c < IC; c++)
			for (int j = 0; j < 3; j++)
				gW[((size_t)o * IC + c) * 3 + j] += dWr[((size_t)o * 3 + j) * IC + c];
}

/* ---- AutoCorrelation ------------------------------------------------------ */

/*
 * mv[b][tau] = 1/di sum_c circular cross-correlation of q[b][.][c] and the
 * padded/truncated k[b][.][c] (Lk rows), with kissfft.  For an odd Lq
 * TSLib's torch.fft.irfft (no n given) returns Lq - 1 lags: the Lq-point
 * spectrum's (Lq+1)/2 bins read as the half spectrum of an (Lq-1)-point
 * signal.  That is reproduced: mv has corr_len(Lq) entries.
 */
static int corr_len(int Lq) { return Lq % 2 ? Lq - 1 : Lq; }

static enum dc_status ac_corr(float *mv, const float *q, const float *k, int B, int Lq, int Lk,
                              int di)
{
	int nt = dc_threads(), fail = 0, nf = Lq / 2 + 1, even = Lq % 2 == 0, n = corr_len(Lq);
	int Lm = Lk < Lq ? Lk : Lq;
	if (n < 2) {
		for (int i = 0; i < B * Lq; i++)
			mv[i] = 0.0f;
		return DC_OK;
	}
#pragma omp parallel num_threads(nt) if (B > 1)
	{
		kiss_fftr_cfg fr = NULL, ir = kiss_fftr_alloc(n, 1, NULL, NULL);
		kiss_fft_cfg fc = NULL;
		size_t ncpx = even ? (size_t)3 * nf : (size_t)4 * Lq;
		kiss_fft_cpx *cb = malloc(ncpx * sizeof *cb);
		float *rb = malloc((size_t)Lq * sizeof *rb);
		if (even)
			fr = kiss_fftr_alloc(Lq, 0, NULL, NULL);
		else
			fc = kiss_fft_alloc(Lq, 0, NULL, NULL);
		int ok = cb && rb && ir && (even ? fr != NULL : fc != NULL);
		if (!ok) {
#pragma omp atomic write
			fail = 1;
		}
		{
			// every thread reaches the worksharing loop; one without buffers skips
#pragma omp for schedule(static)
			for (int b = 0; b < B; b++) {
				if (!ok)
					continue;
				const float *qb = q + (size_t)b * Lq * di, *kb = k + (size_t)b * Lk * di;
				float *out = mv + (size_t)b * Lq;
				kiss_fft_cpx *X = cb, *Q = cb + (even ? 0 : Lq), *K = Q + (even ? nf : Lq);
				kiss_fft_cpx *S = K + (even ? nf : Lq);
				memset(S, 0, (size_t)nf * sizeof *S);
				for (int c = 0; c < di; c++) {
					if (even) {
						for (int t = 0; t < Lq; t++)
							rb[t] = qb[(size_t)t * di + c];
						kiss_fftr(fr, rb, Q);
						for (int t = 0; t < Lq; t++)
							rb[t] = t < Lm ? kb[(size_t)t * di + c] : 0.0f;
						kiss_fftr(fr, rb, K);
					} else {
						for (int t = 0; t < Lq; t++) {
							X[t].r = qb[(size_t)t * di + c];
							X[t].i = 0;
						}
						kiss_fft(fc, X, Q);
						for (int t = 0; t < Lq; t++) {
							X[t].r = t < Lm ? kb[(size_t)t * di + c] : 0.0f;
							X[t].i = 0;
						}
						kiss_fft(fc, X, K);
					}
					for (int f = 0; f < nf; f++) {
						S[f].r += Q[f].r * K[f].r + Q[f].i * K[f].i;
						S[f].i += Q[f].i * K[f].r - Q[f].r * K[f].i;
					}
				}
				kiss_fftri(ir, S, rb);
				float sc = 1.0f / ((float)n * (float)di);
				for (int t = 0; t < n; t++)
					out[t] = rb[t] * sc;
			}
		}
		free(cb);
		free(rb);
		kiss_fft_free(fr);
		kiss_fft_free(ir);
		kiss_fft_free(fc);
	}
	if (fail)
		return dc_fail(DC_ENOMEM, "cannot allocate FFT buffers of length %d", Lq);
	return DC_OK;
}

/*
 * Odd Lq: gradients of mv (above) w.r.t. q and k given dw[i] = dL/dmv at
 * lag dl[i] (1/di included).  With n = Lq - 1, c_f = 1 for f = 0, n/2 and
 * 2 otherwise, G(f) = c_f/n sum_i dw_i e^{2 pi i f dl_i / n}:
 *   dq_c[s] = Re sum_{f <= n/2} G(f) conj(K_c(f)) e^{-2 pi i f s / Lq}
 *   dk_c[t] = Re sum_{f <= n/2} G(f) Q_c(f) e^{+2 pi i f t / Lq}   (t < Lm)
 * dq, dk are overwritten.  buf holds 5 * Lq complex values.
 */
static void ac_qk_grad_odd(float *dq, float *dk, const float *q, const float *k, const float *dw,
                           const int *dl, int K, int Lq, int Lk, int di, kiss_fft_cfg fw,
                           kiss_fft_cfg iv, kiss_fft_cpx *buf)
{
	int n = Lq - 1, nf = Lq / 2 + 1, Lm = Lk < Lq ? Lk : Lq;
	kiss_fft_cpx *G = buf, *X = buf + Lq, *Qc = buf + 2 * Lq, *Kc = buf + 3 * Lq, *Y = buf + 4 * Lq;
	for (int f = 0; f < nf; f++) {
		double gr = 0, gi = 0, cf = (f == 0 || f == n / 2) ? 1.0 : 2.0;
		for (int i = 0; i < K; i++) {
			double ang = 2.0 * M_PI * (double)f * (double)dl[i] / (double)n;
			gr += dw[i] * cos(ang);
			gi += dw[i] * sin(ang);
		}
		G[f].r = (float)(gr * cf / n);
		G[f].i = (float)(gi * cf / n);
	}
	memset(dk + (size_t)Lm * di, 0, (size_t)(Lk - Lm) * di * sizeof(float));
	for (int c = 0; c < di; c++) {
		for (int t = 0; t < Lq; t++) {
			X[t].r = q[(size_t)t * di + c];
			X[t].i = 0;
		}
		kiss_fft(fw, X, Qc);
		for (int t = 0; t < Lq; t++) {
			X[t].r = t < Lm ? k[(size_t)t * di + c] : 0.0f;
			X[t].i = 0;
		}
		kiss_fft(fw, X, Kc);
		for (int f = 0; f < Lq; f++) {
			if (f < nf) {
				// X = G conj(Kc), Y = G Qc
				X[f].r = G[f].r * Kc[f].r + G[f].i * Kc[f].i;
				X[f].i = G[f].i * Kc[f].r - G[f].r * Kc[f].i;
				Y[f].r = G[f].r * Qc[f].r - G[f].i * Qc[f].i;
				Y[f].i = G[f].r * Qc[f].i + G[f].i * Qc[f].r;
			} else {
				X[f].r = X[f].i = Y[f].r = Y[f].i = 0;
			}
		}
		kiss_fft(fw, X, Qc);
		kiss_fft(iv, Y, Kc);
		for (int t = 0; t < Lq; t++)
			dq[(size_t)t * di + c] = Qc[t].r;
		for (int t = 0; t < Lm; t++)
			dk[(size_t)t * di + c] = Kc[t].r;
	}
}

/* the K largest of v[n] (descending, ties to the lower index) */
static void topk(int *idx, const float *v, int n, int K)
{
	for (int i = 0; i < K; i++) {
		int best = -1;
		for (int t = 0; t < n; t++) {
			int used = 0;
			for (int j = 0; j < i; j++)
				used |= idx[j] == t;
			if (!used && (best < 0 || v[t] > v[best]))
				best = t;
		}
		idx[i] = best;
	}
}

/*
 * out[B][Lq][d] = AutoCorrelationLayer(xq[B][Lq][d], xkv[B][Lk][d]);
 * mv is [B + 1][Lq] scratch.
 */
static enum dc_status ac_forward(float *out, struct ac_cache *c, float *mv, const float *xq,
                                 const float *xkv, const struct ac_w *w, int B, int Lq, int Lk,
                                 int d, int di, int K, int train)
{
	dc_nn_linear_forward(c->q, xq, w->wq, w->bq, B * Lq, d, di);
	dc_nn_linear_forward(c->k, xkv, w->wk, w->bk, B * Lk, d, di);
	dc_nn_linear_forward(c->v, xkv, w->wv, w->bv, B * Lk, d, di);
	enum dc_status st = ac_corr(mv, c->q, c->k, B, Lq, Lk, di);
	if (st)
		return st;
	if (K > 0 && train) {
		// time_delay_agg_training: delays from the batch mean, shared
		int n = corr_len(Lq);
		float *mb = mv + (size_t)B * Lq;  /* the spare row of mv */
		for (int t = 0; t < n; t++) {
			float s = 0;
			for (int b = 0; b < B; b++)
				s += mv[(size_t)b * Lq + t];
			mb[t] = s / (float)B;
		}
		topk(c->delay, mb, n, K);
		for (int b = 1; b < B; b++)
			memcpy(c->delay + (size_t)b * K, c->delay, (size_t)K * sizeof(int));
	} else if (K > 0) {
		for (int b = 0; b < B; b++)
			topk(c->delay + (size_t)b * K, mv + (size_t)b * Lq, corr_len(Lq), K);
	}
	for (int b = 0; b < B; b++) {
		float *p = c->p + (size_t)b * K, mx = -INFINITY, s = 0;
		const int *dl = c->delay + (size_t)b * K;
		for (int i = 0; i < K; i++) {
			p[i] = mv[(size_t)b * Lq + dl[i]];
			mx = fmaxf(mx, p[i]);
		}
		for (int i = 0; i < K; i++)
			s += (p[i] = expf(p[i] - mx));
		for (int i = 0; i < K; i++)
			p[i] /= s;
	}
	int Lm = Lk < Lq ? Lk : Lq, nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * Lq * di * K >= 65536)
	for (long r = 0; r < (long)B * Lq; r++) {
		int b = (int)(r / Lq), t = (int)(r % Lq);
		float *o = c->agg + (size_t)r * di;
		for (int e = 0; e < di; e++)
			o[e] = 0.0f;
		for (int i = 0; i < K; i++) {
			int u = (t + c->delay[(size_t)b * K + i]) % Lq;
			if (u >= Lm)
				continue;
			float wgt = c->p[(size_t)b * K + i];
			const float *vr = c->v + ((size_t)b * Lk + u) * di;
#pragma omp simd
			for (int e = 0; e < di; e++)
				o[e] += vr[e] * wgt;
		}
	}
	dc_nn_linear_forward(out, c->agg, w->wo, w->bo, B * Lq, di, d);
	return DC_OK;
}

/*
 * Backward of ac_forward given dout[B][Lq][d]: dxq[B][Lq][d] += and
 * dxkv[B][Lk][d] += (may be the same buffer when xq == xkv); parameter
 * gradients into g.  Scratch dagg, dq [B*Lq*di], dk, dv [B*Lk*di].
 */
static enum dc_status ac_backward(float *dxq, float *dxkv, const float *dout,
                                  const struct ac_cache *c, const float *xq, const float *xkv,
                                  const struct ac_w *w, const struct ac_w *g, float *dagg,
                                  float *dq, float *dk, float *dv, int B, int Lq, int Lk, int d,
                                  int di, int K)
{
	dc_vzero(dagg, (size_t)B * Lq * di);
	dc_nn_linear_backward(dagg, g->wo, g->bo, dout, c->agg, w->wo, B * Lq, di, d);
	int Lm = Lk < Lq ? Lk : Lq, nt = dc_threads();
	float inv = 1.0f / (float)di;
	int odd = Lq % 2, fail = 0;
#pragma omp parallel num_threads(nt) if (B > 1)
	{
	kiss_fft_cfg fw = NULL, iv = NULL;
	kiss_fft_cpx *fb = NULL;
	if (odd) {
		fw = kiss_fft_alloc(Lq, 0, NULL, NULL);
		iv = kiss_fft_alloc(Lq, 1, NULL, NULL);
		fb = malloc((size_t)5 * Lq * sizeof *fb);
		if (!fw || !iv || !fb) {
#pragma omp atomic write
			fail = 1;
		}
	}
#pragma omp for schedule(static)
	for (int b = 0; b < B; b++) {
		if (odd && (!fw || !iv || !fb))
			continue;
		const float *p = c->p + (size_t)b * K;
		const int *dl = c->delay + (size_t)b * K;
		const float *ga = dagg + (size_t)b * Lq * di;
		const float *vb = c->v + (size_t)b * Lk * di, *qb = c->q + (size_t)b * Lq * di;
		const float *kb = c->k + (size_t)b * Lk * di;
		float *dqb = dq + (size_t)b * Lq * di, *dkb = dk + (size_t)b * Lk * di;
		float *dvb = dv + (size_t)b * Lk * di;
		float dp[K > 0 ? K : 1], dw[K > 0 ? K : 1], sdp = 0;
		for (int i = 0; i < K; i++) {
			double s = 0;
			for (int t = 0; t < Lq; t++) {
				int u = (t + dl[i]) % Lq;
				if (u >= Lm)
					continue;
				const float *a = ga + (size_t)t * di, *vr = vb + (size_t)u * di;
				float s1 = 0;
#pragma omp simd reduction(+ : s1)
				for (int e = 0; e < di; e++)
					s1 += a[e] * vr[e];
				s += s1;
			}
			dp[i] = (float)s;
			sdp += p[i] * dp[i];
		}
		for (int i = 0; i < K; i++)
			dw[i] = p[i] * (dp[i] - sdp) * inv;
		memset(dqb, 0, (size_t)Lq * di * sizeof(float));
		memset(dkb, 0, (size_t)Lk * di * sizeof(float));
		memset(dvb, 0, (size_t)Lk * di * sizeof(float));
		if (odd)
			ac_qk_grad_odd(dqb, dkb, qb, kb, dw, dl, K, Lq, Lk, di, fw, iv, fb);
		for (int i = 0; i < K; i++) {
			for (int s = 0; !odd && s < Lq; s++) {
				// dq[s] += dw k'[(s - delay) mod Lq]
				int u = ((s - dl[i]) % Lq + Lq) % Lq;
				if (u < Lm) {
					const float *kr = kb + (size_t)u * di;
					float *o = dqb + (size_t)s * di;
#pragma omp simd
					for (int e = 0; e < di; e++)
						o[e] += dw[i] * kr[e];
				}
			}
			for (int s = 0; s < Lm; s++) {
				int u = (s + dl[i]) % Lq, r = ((s - dl[i]) % Lq + Lq) % Lq;
				const float *qr = qb + (size_t)u * di, *ar = ga + (size_t)r * di;
				float *ok = dkb + (size_t)s * di, *ov = dvb + (size_t)s * di;
#pragma omp simd
				for (int e = 0; e < di; e++) {
					ok[e] += odd ? 0.0f : dw[i] * qr[e];
					ov[e] += p[i] * ar[e];
				}
			}
		}
	}
	free(fb);
	kiss_fft_free(fw);
	kiss_fft_free(iv);
	}
	if (fail)
		return dc_fail(DC_ENOMEM, "cannot allocate FFT buffers of length %d", Lq);
	dc_nn_linear_backward(dxq, g->wq, g->bq, dq, xq, w->wq, B * Lq, d, di);
	dc_nn_linear_backward(dxkv, g->wk, g->bk, dk, xkv, w->wk, B * Lk, d, di);
	dc_nn_linear_backward(dxkv, g->wv, g->bv, dv, xkv, w->wv, B * Lk, d, di);
	return DC_OK;
}

/* ---- init / tensors ------------------------------------------------------ */

static void bind_ac(struct ac_w *a, float *base, const size_t *off)
{
	float **slot[AF_NT_AC] = { &a->wq, &a->bq, &a->wk, &a->bk, &a->wv, &a->bv, &a->wo, &a->bo };
	for (int t = 0; t < AF_NT_AC; t++)
		*slot[t] = base + off[t];
}

static void bind_enc(struct enc_w *w, float *base, const struct af_state *s, int l)
{
	bind_ac(&w->a, base, s->o_enc[l]);
	w->w1 = base + s->o_enc[l][AF_NT_AC];
	w->w2 = base + s->o_enc[l][AF_NT_AC + 1];
}

static void bind_dec(struct dec_w *w, float *base, const struct af_state *s, int l)
{
	bind_ac(&w->sa, base, s->o_dec[l]);
	bind_ac(&w->ca, base, s->o_dec[l] + AF_NT_AC);
	w->w1 = base + s->o_dec[l][2 * AF_NT_AC];
	w->w2 = base + s->o_dec[l][2 * AF_NT_AC + 1];
	w->wp = base + s->o_dec[l][2 * AF_NT_AC + 2];
}

/* init kinds: bound > 0 uniform, 0 ones, -1 zeros, < -1 normal with std -bound-1 */
struct reg { struct dc_forecaster *f; float bound[DC_FC_MAX_TENSORS]; int bad; };

static size_t reg_add(struct reg *r, const char *name, int rank, int64_t a, int64_t b, int64_t c,
                      float bound)
{
	int64_t sh[3] = { a, b, c };
	size_t off = dc_fc_add_tensor(r->f, name, rank, sh);
	if (off == (size_t)-1)
		r->bad = 1;
	else
		r->bound[r->f->n_tensors - 1] = bound;
	return off;
}

static void reg_ac(struct reg *r, const char *prefix, int d, int di, size_t *off)
{
	static const char *const nm[4] = { "query", "key", "value", "out" };
	char name[DC_FC_NAME_MAX];
	for (int t = 0; t < 4; t++) {
		int in = t < 3 ? d : di, outc = t < 3 ? di : d;
		float bd = 1.0f / sqrtf((float)in);
		snprintf(name, sizeof name, "%s.%s_projection.weight", prefix, nm[t]);
		off[2 * t] = reg_add(r, name, 2, outc, in, 0, bd);
		snprintf(name, sizeof name, "%s.%s_projection.bias", prefix, nm[t]);
		off[2 * t + 1] = reg_add(r, name, 1, outc, 0, 0, bd);
	}
}

static enum dc_status af_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	struct af_state *s = calloc(1, sizeof *s);
	struct reg *r = calloc(1, sizeof *r);
	if (!s || !r) {
		free(s);
		free(r);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	f->state = s;
	enum dc_status st;
	if ((st = fc_hp_int(hp, "d_model", 512, 1, 65536, &s->d)) ||
	    (st = fc_hp_int(hp, "d_ff", 2048, 1, 1 << 20, &s->F)) ||
	    (st = fc_hp_int(hp, "n_heads", 8, 1, 1024, &s->H)) ||
	    (st = fc_hp_int(hp, "e_layers", 2, 1, AF_MAX_LAYERS, &s->E)) ||
	    (st = fc_hp_int(hp, "d_layers", 1, 1, AF_MAX_LAYERS, &s->Dl)) ||
	    (st = fc_hp_int(hp, "moving_avg", 25, 1, 100001, &s->kavg)) ||
	    (st = fc_hp_float(hp, "factor", 3.0, 0.0, 1e6, &s->factor)) ||
	    (st = fc_hp_float(hp, "dropout", 0.1, 0.0, 0.99, &s->p)) ||
	    (st = fc_hp_relu(hp, &s->relu))) {
		free(r);
		return st;
	}
	if (s->kavg % 2 == 0) {
		free(r);
		return dc_fail(DC_EINVAL, "moving_avg must be odd (got %d)", s->kavg);
	}
	if (s->d < s->H) {
		free(r);
		return dc_fail(DC_EINVAL, "d_model %d is smaller than n_heads %d", s->d, s->H);
	}
	s->L = f->dims.seq_len;
	s->S = f->dims.label_len;
	if (s->S < 1) {
		free(r);
		return dc_fail(DC_EINVAL, "Autoformer needs label_len >= 1");
	}
	if ((int64_t)s->S + f->dims.pred_len > (1 << 24)) {
		free(r);
		return dc_fail(DC_EINVAL, "label_len + pred_len is too large");
	}
	s->Ld = s->S + f->dims.pred_len;
	s->di = (s->d / s->H) * s->H;
	// top_k = int(factor * ln L), at most the number of lags
	double ke = floor((double)s->factor * log((double)s->L));
	double kd = floor((double)s->factor * log((double)s->Ld));
	int ne = corr_len(s->L), nd = corr_len(s->Ld);
	s->Ke = ke < 0 ? 0 : ke > ne ? ne : (int)ke;
	s->Kd = kd < 0 ? 0 : kd > nd ? nd : (int)kd;
	int d = s->d, di = s->di, F = s->F, C = f->dims.n_vars, M = f->dims.n_marks;
	float kn = -1.0f - sqrtf(2.0f / (3.0f * (float)C));  /* kaiming_normal, leaky_relu a=0 */
	r->f = f;
	char name[DC_FC_NAME_MAX], pre[64];
	s->o_etok = reg_add(r, "enc_embedding.value_embedding.tokenConv.weight", 3, d, C, 3, kn);
	s->o_etmp = M ? reg_add(r, "enc_embedding.temporal_embedding.embed.weight", 2, d, M, 0,
	                        1.0f / sqrtf((float)M)) : (size_t)-1;
	for (int l = 0; l < s->E; l++) {
		snprintf(pre, sizeof pre, "encoder.attn_layers.%d.attention", l);
		reg_ac(r, pre, d, di, s->o_enc[l]);
		snprintf(name, sizeof name, "encoder.attn_layers.%d.conv1.weight", l);
		s->o_enc[l][AF_NT_AC] = reg_add(r, name, 3, F, d, 1, 1.0f / sqrtf((float)d));
		snprintf(name, sizeof name, "encoder.attn_layers.%d.conv2.weight", l);
		s->o_enc[l][AF_NT_AC + 1] = reg_add(r, name, 3, d, F, 1, 1.0f / sqrtf((float)F));
	}
	s->o_enw = reg_add(r, "encoder.norm.layernorm.weight", 1, d, 0, 0, 0.0f);
	s->o_enb = reg_add(r, "encoder.norm.layernorm.bias", 1, d, 0, 0, -1.0f);
	s->o_dtok = reg_add(r, "dec_embedding.value_embedding.tokenConv.weight", 3, d, C, 3, kn);
	s->o_dtmp = M ? reg_add(r, "dec_embedding.temporal_embedding.embed.weight", 2, d, M, 0,
	                        1.0f / sqrtf((float)M)) : (size_t)-1;
	for (int l = 0; l < s->Dl; l++) {
		snprintf(pre, sizeof pre, "decoder.layers.%d.self_attention", l);
		reg_ac(r, pre, d, di, s->o_dec[l]);
		snprintf(pre, sizeof pre, "decoder.layers.%d.cross_attention", l);
		reg_ac(r, pre, d, di, s->o_dec[l] + AF_NT_AC);
		snprintf(name, sizeof name, "decoder.layers.%d.conv1.weight", l);
		s->o_dec[l][2 * AF_NT_AC] = reg_add(r, name, 3, F, d, 1, 1.0f / sqrtf((float)d));
		snprintf(name, sizeof name, "decoder.layers.%d.conv2.weight", l);
		s->o_dec[l][2 * AF_NT_AC + 1] = reg_add(r, name, 3, d, F, 1, 1.0f / sqrtf((float)F));
		snprintf(name, sizeof name, "decoder.layers.%d.projection.weight", l);
		s->o_dec[l][2 * AF_NT_AC + 2] = reg_add(r, name, 3, C, d, 3, 1.0f / sqrtf(3.0f * (float)d));
	}
	s->o_dnw = reg_add(r, "decoder.norm.layernorm.weight", 1, d, 0, 0, 0.0f);
	s->o_dnb = reg_add(r, "decoder.norm.layernorm.bias", 1, d, 0, 0, -1.0f);
	s->o_pw = reg_add(r, "decoder.projection.weight", 2, C, d, 0, 1.0f / sqrtf((float)d));
	s->o_pb = reg_add(r, "decoder.projection.bias", 1, C, 0, 0, 1.0f / sqrtf((float)d));
	if (r->bad) {
		free(r);
		return dc_fail(DC_ELIMIT, "too many tensors");
	}
	if ((st = dc_fc_alloc_params(f))) {
		free(r);
		return st;
	}
	for (int i = 0; i < f->n_tensors; i++) {
		const struct dc_fc_tensor *t = &f->tensors[i];
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		float *w = f->params + t->offset, bd = r->bound[i];
		if (bd > 0) {
			dc_fc_init_uniform(w, n, bd, seed, 100 + (uint64_t)i);
		} else if (bd < -1.0f) {
			dc_rng_normal(seed, 100 + (uint64_t)i, 0, w, n);
			for (size_t j = 0; j < n; j++)
				w[j] *= -bd - 1.0f;
		} else {
			for (size_t j = 0; j < n; j++)
				w[j] = bd == 0.0f ? 1.0f : 0.0f;
		}
	}
	free(r);
	return DC_OK;
}

/* ---- activation memory ------------------------------------------------- */

static void layout_ac(struct ac_cache *c, struct cursor *cu, int B, int Lq, int Lk, int di, int K)
{
	c->q = take(cu, (size_t)B * Lq * di);
	c->k = take(cu, (size_t)B * Lk * di);
	c->v = take(cu, (size_t)B * Lk * di);
	c->agg = take(cu, (size_t)B * Lq * di);
	c->p = take(cu, (size_t)B * (K > 0 ? K : 1));
	c->delay = (int *)take(cu, (size_t)B * (K > 0 ? K : 1));
}

static void layout(struct af_state *s, struct cursor *cu, int B, int C, int M)
{
	int d = s->d, di = s->di, F = s->F, L = s->L, Ld = s->Ld;
	size_t R = (size_t)B * L, Rd = (size_t)B * Ld, Rm = R > Rd ? R : Rd;
	s->sinit = take(cu, Rd * C);
	s->emark = take(cu, R * M);
	s->dmark = take(cu, Rd * M);
	s->ecol = take(cu, R * 3 * C);
	s->dcol = take(cu, Rd * 3 * C);
	s->eemb = take(cu, R * d);
	s->demb = take(cu, Rd * d);
	s->enc_out = take(cu, R * d);
	s->emean = take(cu, R);
	s->erstd = take(cu, R);
	s->dec_z = take(cu, Rd * d);
	s->dmean = take(cu, Rd);
	s->drstd = take(cu, Rd);
	for (int l = 0; l < s->E; l++) {
		struct enc_cache *c = &s->ec[l];
		layout_ac(&c->ac, cu, B, L, L, di, s->Ke);
		c->x1 = take(cu, R * d);
		c->h = take(cu, R * F);
		c->g = take(cu, R * F);
		c->out = take(cu, R * d);
	}
	for (int l = 0; l < s->Dl; l++) {
		struct dec_cache *c = &s->dc[l];
		layout_ac(&c->sa, cu, B, Ld, Ld, di, s->Kd);
		layout_ac(&c->ca, cu, B, Ld, L, di, s->Kd);
		c->x1 = take(cu, Rd * d);
		c->x2 = take(cu, Rd * d);
		c->h = take(cu, Rd * F);
		c->g = take(cu, Rd * F);
		c->out = take(cu, Rd * d);
		c->rt = take(cu, Rd * d);
	}
	s->t0 = take(cu, Rm * d);
	s->t1 = take(cu, Rm * d);
	s->t2 = take(cu, Rm * d);
	s->t3 = take(cu, Rm * d);
	s->f1 = take(cu, Rm * F);
	s->wcol = take(cu, Rd * 3 * (size_t)(d > C ? d : C));
	s->wr = take(cu, (size_t)3 * d * C);
	s->dwr = take(cu, (size_t)3 * d * C);
	s->mv = take(cu, Rm + (size_t)(L > Ld ? L : Ld));
	s->yfull = take(cu, Rd * C);
	s->dagg = take(cu, Rm * di);
	s->dq = take(cu, Rm * di);
	s->dk = take(cu, Rm * di);
	s->dv = take(cu, Rm * di);
	s->denc = take(cu, R * d);
	s->gA = take(cu, Rm * d);
	s->gB = take(cu, Rm * d);
}

static enum dc_status af_reserve(struct dc_forecaster *f, int B)
{
	struct af_state *s = f->state;
	int C = f->dims.n_vars;
	// bound the largest single product (rows x widest row) before counting
	size_t wid = (size_t)s->F + 3 * (size_t)(s->d > C ? s->d : C) + 4, rows;
	if (dc_mul_size((size_t)B, (size_t)(s->Ld > s->L ? s->Ld : s->L), &rows) ||
	    rows > ((size_t)1 << 40) / wid / (size_t)(8 * (s->E + 2 * s->Dl) + 32))
		return dc_fail(DC_EOVERFLOW, "batch of %d is too large", B);
	if (B > s->bcap) {
		struct cursor cu = { NULL, 0 };
		layout(s, &cu, B, C, f->dims.n_marks);
		float *m = dc_alloc(cu.n * sizeof(float));
		if (!m)
			return dc_fail(DC_ENOMEM, "cannot allocate activations for a batch of %d", B);
		dc_free(s->mem);
		s->mem = m;
		s->bcap = B;
	}
	struct cursor cu = { s->mem, 0 };
	layout(s, &cu, B, C, f->dims.n_marks);
	return DC_OK;
}

/* ---- layers ---------------------------------------------------------------- */

/* FFN on x[R][d]: y (out, [R][d]) = drop(conv2(drop(act(conv1 x)))); h, g cached */
static void ffn_forward(float *y, float *h, float *g, const float *x, const float *w1,
                        const float *w2, size_t R, const struct af_state *s, int train,
                        uint64_t seed, uint64_t stream)
{
	dc_nn_linear_forward(h, x, w1, NULL, (int)R, s->d, s->F);
	if (s->relu)
		dc_nn_relu_forward(g, h, R * s->F);
	else
		dc_nn_gelu_forward(g, h, R * s->F);
	if (train)
		dc_nn_dropout(g, g, R * s->F, s->p, seed, stream, 0);
	dc_nn_linear_forward(y, g, w2, NULL, (int)R, s->F, s->d);
	if (train)
		dc_nn_dropout(y, y, R * s->d, s->p, seed, stream + 1, 0);
}

/* dx += backward of ffn_forward given dy (dy is overwritten) */
static void ffn_backward(float *dx, float *dy, const float *h, const float *g, const float *x,
                         const float *w1, const float *w2, float *gw1, float *gw2, float *df,
                         size_t R, const struct af_state *s, uint64_t seed, uint64_t stream)
{
	dc_nn_dropout(dy, dy, R * s->d, s->p, seed, stream + 1, 0);
	dc_vzero(df, R * s->F);
	dc_nn_linear_backward(df, gw2, NULL, dy, g, w2, (int)R, s->F, s->d);
	dc_nn_dropout(df, df, R * s->F, s->p, seed, stream, 0);
	if (s->relu)
		dc_nn_relu_backward(df, df, h, R * s->F);
	else
		dc_nn_gelu_backward(df, df, h, R * s->F);
	dc_nn_linear_backward(dx, gw1, NULL, df, x, w1, (int)R, s->d, s->F);
}

static enum dc_status enc_forward(struct af_state *s, struct enc_cache *c, const float *x,
                                  const struct enc_w *w, int B, int train, uint64_t seed,
                                  uint64_t stream)
{
	int L = s->L, d = s->d;
	size_t R = (size_t)B * L;
	float *a = s->t0;
	enum dc_status st = ac_forward(a, &c->ac, s->mv, x, x, &w->a, B, L, L, d, s->di, s->Ke, train);
	if (st)
		return st;
	if (train)
		dc_nn_dropout(a, a, R * d, s->p, seed, stream, 0);
	dc_vadd(a, x, R * d);
	decomp_forward(c->x1, NULL, a, B, L, d, s->kavg);
	ffn_forward(a, c->h, c->g, c->x1, w->w1, w->w2, R, s, train, seed, stream + 1);
	dc_vadd(a, c->x1, R * d);
	decomp_forward(c->out, NULL, a, B, L, d, s->kavg);
	return DC_OK;
}

/* dx (overwritten) from dout; uses t0..t3, f1 */
static enum dc_status enc_backward(struct af_state *s, float *dx, const float *dout,
                         const struct enc_cache *c, const float *x, const struct enc_w *w,
                         const struct enc_w *g, int B, uint64_t seed, uint64_t stream)
{
	int L = s->L, d = s->d;
	size_t R = (size_t)B * L, n = R * d;
	dc_vzero(s->t1, n);
	decomp_backward(s->t1, dout, NULL, B, L, d, s->kavg);   // d(x1 + y)
	dc_vcopy(s->t3, s->t1, n);
	ffn_backward(s->t1, s->t3, c->h, c->g, c->x1, w->w1, w->w2, g->w1, g->w2, s->f1, R, s, seed,
	             stream + 1);                                // t1 = d x1
	dc_vzero(dx, n);
	decomp_backward(dx, s->t1, NULL, B, L, d, s->kavg);     // d(x + drop(a))
	dc_nn_dropout(s->t3, dx, n, s->p, seed, stream, 0);
	return ac_backward(dx, dx, s->t3, &c->ac, x, x, &w->a, &g->a, s->dagg, s->dq, s->dk, s->dv, B,
	                   L, L, d, s->di, s->Ke);
}

/* circular conv k3 (no bias) of x[B][L][IC] by W[OC][IC][3] into y[B][L][OC] */
static void circ_forward(struct af_state *s, float *y, float *col, const float *x,
                         const float *W, int B, int L, int IC, int OC)
{
	circ_im2col(col, x, B, L, IC);
	circ_wr(s->wr, W, OC, IC);
	dc_nn_linear_forward(y, col, s->wr, NULL, B * L, 3 * IC, OC);
}

/* gW += ..., dx += ... (dx may be NULL); col holds im2col(x), and is
 * clobbered when dx is set */
static void circ_backward(struct af_state *s, float *dx, float *gW, const float *dy, float *col,
                          const float *W, int B, int L, int IC, int OC)
{
	size_t nw = (size_t)3 * IC * OC;
	memset(s->dwr, 0, nw * sizeof(float));
	dc_nn_linear_backward(NULL, s->dwr, NULL, dy, col, NULL, B * L, 3 * IC, OC);
	circ_dw_acc(gW, s->dwr, OC, IC);
	if (dx) {
		circ_wr(s->wr, W, OC, IC);
		dc_vzero(col, (size_t)B * L * 3 * IC);
		dc_nn_linear_backward(col, NULL, NULL, dy, NULL, s->wr, B * L, 3 * IC, OC);
		circ_col2im_acc(dx, col, B, L, IC);
	}
}

static enum dc_status dec_forward(struct af_state *s, struct dec_cache *c, const float *x,
                                  const float *cross, const struct dec_w *w, float *trend,
                                  int B, int C, int train, uint64_t seed, uint64_t stream)
{
	int Ld = s->Ld, d = s->d;
	size_t R = (size_t)B * Ld, n = R * d;
	float *a = s->t0, *tr = s->t1;
	enum dc_status st;
	st = ac_forward(a, &c->sa, s->mv, x, x, &w->sa, B, Ld, Ld, d, s->di, s->Kd, train);
	if (st)
		return st;
	if (train)
		dc_nn_dropout(a, a, n, s->p, seed, stream, 0);
	dc_vadd(a, x, n);
	decomp_forward(c->x1, c->rt, a, B, Ld, d, s->kavg);
	st = ac_forward(a, &c->ca, s->mv, c->x1, cross, &w->ca, B, Ld, s->L, d, s->di, s->Kd, train);
	if (st)
		return st;
	if (train)
		dc_nn_dropout(a, a, n, s->p, seed, stream + 1, 0);
	dc_vadd(a, c->x1, n);
	decomp_forward(c->x2, tr, a, B, Ld, d, s->kavg);
	dc_vadd(c->rt, tr, n);
	ffn_forward(a, c->h, c->g, c->x2, w->w1, w->w2, R, s, train, seed, stream + 2);
	dc_vadd(a, c->x2, n);
	decomp_forward(c->out, tr, a, B, Ld, d, s->kavg);
	dc_vadd(c->rt, tr, n);
	// trend += projection(rt)
	circ_forward(s, s->t2, s->wcol, c->rt, w->wp, B, Ld, d, C);
	dc_vadd(trend, s->t2, R * C);
	return DC_OK;
}

/* dx (overwritten) from dout (the seasonal output) and dtr [B][Ld][C]
 * (the trend gradient); dcross [B][L][d] +=.  dout is clobbered. */
static enum dc_status dec_backward(struct af_state *s, float *dx, float *dout, const float *dtr,
                         float *dcross, const struct dec_cache *c, const float *x,
                         const float *cross, const struct dec_w *w, const struct dec_w *g,
                         int B, int C, uint64_t seed, uint64_t stream)
{
	int Ld = s->Ld, d = s->d;
	size_t R = (size_t)B * Ld, n = R * d;
	float *drt = s->t0;
	circ_im2col(s->wcol, c->rt, B, Ld, d);
	dc_vzero(drt, n);
	circ_backward(s, drt, g->wp, dtr, s->wcol, w->wp, B, Ld, d, C);
	// decomp3: dr3 = ds + A^T(dt - ds)
	dc_vzero(s->t1, n);
	decomp_backward(s->t1, dout, drt, B, Ld, d, s->kavg);
	dc_vcopy(s->t3, s->t1, n);
	ffn_backward(s->t1, s->t3, c->h, c->g, c->x2, w->w1, w->w2, g->w1, g->w2, s->f1, R, s, seed,
	             stream + 2);                               // t1 = d x2
	dc_vzero(s->t2, n);
	decomp_backward(s->t2, s->t1, drt, B, Ld, d, s->kavg);  // t2 = d r2 = d x1 (direct part)
	dc_nn_dropout(s->t3, s->t2, n, s->p, seed, stream + 1, 0);
	enum dc_status st = ac_backward(s->t2, dcross, s->t3, &c->ca, c->x1, cross, &w->ca, &g->ca,
	                                s->dagg, s->dq, s->dk, s->dv, B, Ld, s->L, d, s->di, s->Kd);
	if (st)
		return st;
	dc_vzero(dx, n);
	decomp_backward(dx, s->t2, drt, B, Ld, d, s->kavg);
	dc_nn_dropout(s->t3, dx, n, s->p, seed, stream, 0);
	return ac_backward(dx, dx, s->t3, &c->sa, x, x, &w->sa, &g->sa, s->dagg, s->dq, s->dk, s->dv,
	                   B, Ld, Ld, d, s->di, s->Kd);
}

/* ---- model ----------------------------------------------------------------- */

static void embed_forward(struct af_state *s, float *emb, float *col, const float *x,
                          const float *mark, const float *Wtok, const float *Wtmp, int B, int L,
                          int C, int M, int train, uint64_t seed, uint64_t stream)
{
	circ_forward(s, emb, col, x, Wtok, B, L, C, s->d);
	if (M > 0 && mark)
		dc_sgemm(0, 1, B * L, s->d, M, 1.0f, mark, M, Wtmp, M, 1.0f, emb, s->d, 0);
	if (train)
		dc_nn_dropout(emb, emb, (size_t)B * L * s->d, s->p, seed, stream, 0);
}

static void embed_backward(struct af_state *s, float *demb, float *col, const float *mark,
                           float *gtok, float *gtmp, int B, int L, int C, int M, uint64_t seed,
                           uint64_t stream)
{
	dc_nn_dropout(demb, demb, (size_t)B * L * s->d, s->p, seed, stream, 0);
	circ_backward(s, NULL, gtok, demb, col, NULL, B, L, C, s->d);
	if (M > 0 && mark)
		dc_nn_linear_backward(NULL, gtmp, NULL, demb, mark, NULL, B * L, M, s->d);
}

static enum dc_status af_forward(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
                                 const float *y_mark, float *y, int train, uint64_t seed)
{
	struct af_state *s = f->state;
	int L = s->L, S = s->S, Ld = s->Ld, C = f->dims.n_vars, M = f->dims.n_marks;
	int Hp = f->dims.pred_len, d = s->d;
	if (B <= 0)
		return dc_fail(DC_EINVAL, "batch size %d", B);
	if (M > 0 && (!x_mark || !y_mark))
		return dc_fail(DC_EINVAL, "Autoformer needs the time features x_mark and y_mark");
	enum dc_status st = af_reserve(f, B);
	if (st)
		return st;
	float *P = f->params;
	s->last_train = 0;
	// decomposition of the input and the decoder's start
	float *xs = s->t0, *xt = s->t1, *tinit = s->yfull;
	decomp_forward(xs, xt, x, B, L, C, s->kavg);
	for (int b = 0; b < B; b++) {
		for (int c = 0; c < C; c++) {
			float m = 0;
			for (int t = 0; t < L; t++)
				m += x[((size_t)b * L + t) * C + c];
			m /= (float)L;
			for (int t = 0; t < Ld; t++) {
				size_t o = ((size_t)b * Ld + t) * C + c;
				if (t < S) {
					size_t i = ((size_t)b * L + (L - S + t)) * C + c;
					s->sinit[o] = xs[i];
					tinit[o] = xt[i];
				} else {
					s->sinit[o] = 0.0f;
					tinit[o] = m;
				}
			}
		}
	}
	if (M > 0) {
		memcpy(s->emark, x_mark, (size_t)B * L * M * sizeof(float));
		memcpy(s->dmark, y_mark, (size_t)B * Ld * M * sizeof(float));
	}
	// encoder
	embed_forward(s, s->eemb, s->ecol, x, s->emark, P + s->o_etok, M ? P + s->o_etmp : NULL, B, L,
	              C, M, train, seed, 0);
	const float *h = s->eemb;
	for (int l = 0; l < s->E; l++) {
		struct enc_w w;
		bind_enc(&w, P, s, l);
		if ((st = enc_forward(s, &s->ec[l], h, &w, B, train, seed, 16 + 4 * (uint64_t)l)))
			return st;
		h = s->ec[l].out;
	}
	myln_forward(s->enc_out, s->emean, s->erstd, h, P + s->o_enw, P + s->o_enb, B, L, d);
	// decoder (trend accumulates in tinit = yfull)
	embed_forward(s, s->demb, s->dcol, s->sinit, s->dmark, P + s->o_dtok, M ? P + s->o_dtmp : NULL,
	              B, Ld, C, M, train, seed, 1);
	h = s->demb;
	for (int l = 0; l < s->Dl; l++) {
		struct dec_w w;
		bind_dec(&w, P, s, l);
		if ((st = dec_forward(s, &s->dc[l], h, s->enc_out, &w, tinit, B, C, train, seed,
		                      1024 + 4 * (uint64_t)l)))
			return st;
		h = s->dc[l].out;
	}
	myln_forward(s->dec_z, s->dmean, s->drstd, h, P + s->o_dnw, P + s->o_dnb, B, Ld, d);
	float *seas = s->t2;
	dc_nn_linear_forward(seas, s->dec_z, P + s->o_pw, P + s->o_pb, B * Ld, d, C);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			for (int c = 0; c < C; c++) {
				size_t o = ((size_t)b * Ld + S + t) * C + c;
				y[((size_t)b * Hp + t) * C + c] = tinit[o] + seas[o];
			}
	s->last_b = B;
	s->last_train = train;
	s->last_seed = seed;
	return DC_OK;
}

static enum dc_status af_backward(struct dc_forecaster *f, int B, const float *dy)
{
	struct af_state *s = f->state;
	int L = s->L, S = s->S, Ld = s->Ld, C = f->dims.n_vars, M = f->dims.n_marks;
	int Hp = f->dims.pred_len, d = s->d;
	if (!s->last_train || B != s->last_b)
		return dc_fail(DC_EINVAL, "backward without a matching training forward");
	uint64_t seed = s->last_seed;
	float *P = f->params, *G = f->grads;
	size_t Rd = (size_t)B * Ld, R = (size_t)B * L;
	// gradient of the trend and seasonal parts: dy on the last H steps
	float *yf = s->yfull;
	dc_vzero(yf, Rd * C);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			memcpy(yf + ((size_t)b * Ld + S + t) * C, dy + ((size_t)b * Hp + t) * C,
			       (size_t)C * sizeof(float));
	float *dz = s->gB, *gA = s->gA, *gB = s->gB;
	dc_vzero(dz, Rd * d);
	dc_nn_linear_backward(dz, G + s->o_pw, G + s->o_pb, yf, s->dec_z, P + s->o_pw, (int)Rd, d, C);
	const float *hlast = s->Dl ? s->dc[s->Dl - 1].out : s->demb;
	dc_vzero(gA, Rd * d);
	myln_backward(gA, G + s->o_dnw, G + s->o_dnb, dz, hlast, s->dmean, s->drstd, P + s->o_dnw,
	              s->t0, B, Ld, d);
	dc_vzero(s->denc, R * d);
	for (int l = s->Dl - 1; l >= 0; l--) {
		struct dec_w w, g;
		bind_dec(&w, P, s, l);
		bind_dec(&g, G, s, l);
		const float *xin = l ? s->dc[l - 1].out : s->demb;
		enum dc_status st = dec_backward(s, gB, gA, yf, s->denc, &s->dc[l], xin, s->enc_out, &w,
		                                 &g, B, C, seed, 1024 + 4 * (uint64_t)l);
		if (st)
			return st;
		float *t = gA; gA = gB; gB = t;
	}
	embed_backward(s, gA, s->dcol, s->dmark, G + s->o_dtok, M ? G + s->o_dtmp : NULL, B, Ld, C, M,
	               seed, 1);
	// encoder
	dc_vzero(gA, R * d);
	myln_backward(gA, G + s->o_enw, G + s->o_enb, s->denc, s->ec[s->E - 1].out, s->emean, s->erstd,
	              P + s->o_enw, s->t0, B, L, d);
	for (int l = s->E - 1; l >= 0; l--) {
		struct enc_w w, g;
		bind_enc(&w, P, s, l);
		bind_enc(&g, G, s, l);
		const float *xin = l ? s->ec[l - 1].out : s->eemb;
		enum dc_status st = enc_backward(s, gB, gA, &s->ec[l], xin, &w, &g, B, seed,
		                                 16 + 4 * (uint64_t)l);
		if (st)
			return st;
		float *t = gA; gA = gB; gB = t;
	}
	embed_backward(s, gA, s->ecol, s->emark, G + s->o_etok, M ? G + s->o_etmp : NULL, B, L, C, M,
	               seed, 0);
	return DC_OK;
}

static void af_release(struct dc_forecaster *f)
{
	struct af_state *s = f->state;
	if (!s)
		return;
	dc_free(s->mem);
	free(s);
	f->state = NULL;
}

static const char *const af_keys[] = { "d_model",    "d_ff",   "n_heads", "e_layers",   "d_layers",
	                                "moving_avg", "factor", "dropout", "activation", NULL };

const struct dc_fc_model dc_fc_autoformer = {
	.name = "Autoformer",
	.uses_marks = 1,
	.uses_decoder = 1,
	.hp_keys = af_keys,
	.init = af_init,
	.forward = af_forward,
	.backward = af_backward,
	.release = af_release,
};
