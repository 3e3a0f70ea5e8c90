/*
 * layers.c - linear, LayerNorm, BatchNorm1d, GELU/ReLU, dropout, instance
 * normalisation, sinusoidal positions and MSE, forward and backward side
 * by side (see nn.h for the contracts).
 *
 * Column sums (bias and norm-weight gradients, BatchNorm statistics) are
 * computed per block of columns over all rows in row order, so the
 * floating-point summation order -- and the result -- does not depend on
 * the number of threads.
 */
#include "nn.h"
#include "../ops/ops.h"

#include <math.h>
#include <string.h>

#define COLBLK 32     /* columns per task in column reductions */
#define PAR_MIN 16384 /* elements below which loops stay on one thread */

/* ---- linear ------------------------------------------------------------------ */

void dc_nn_linear_forward(float *y, const float *x, const float *W, const float *b,
                          int N, int IC, int OC)
{
	// y[N][OC] = x[N][IC] . W[OC][IC]^T + b
	dc_linear_forward(y, x, W, b, N, IC, OC);
}

/* acc[C] += column sums of a[N][C] (row order within each column) */
static void colsum_acc(float *acc, const float *a, int N, int C)
{
	int nt = dc_threads();
	int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN && nblk > 1)
	for (int blk = 0; blk < nblk; blk++) {
		int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
		float s[COLBLK] = { 0 };
		for (int n = 0; n < N; n++) {
			const float *r = a + (size_t)n * C;
#pragma omp simd
			for (int c = c0; c < c1; c++)
				s[c - c0] += r[c];
		}
		for (int c = c0; c < c1; c++)
			acc[c] += s[c - c0];
	}
}

void dc_nn_linear_backward(float *dx, float *dW, float *db, const float *dy,
                           const float *x, const float *W, int N, int IC, int OC)
{
	if (N <= 0)
		return;
	// dx[N][IC] += dy[N][OC] . W[OC][IC]
	if (dx)
		dc_sgemm(0, 0, N, IC, OC, 1.0f, dy, OC, W, IC, 1.0f, dx, IC, 0);
	// dW[OC][IC] += dy^T . x
	if (dW)
		dc_sgemm(1, 0, OC, IC, N, 1.0f, dy, OC, x, IC, 1.0f, dW, IC, 0);
	if (db)
		colsum_acc(db, dy, N, OC);
}

/* ---- LayerNorm ------------------------------------------------------------ */

void dc_nn_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                             const float *w, const float *b, int N, int C, float eps)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C;
		float *yr = y + (size_t)n * C;
		float m = 0;
		for (int c = 0; c < C; c++)
			m += xr[c];
		m /= C;
		float v = 0;
		for (int c = 0; c < C; c++) {
			float d = xr[c] - m;
			v += d * d;
		}
		v /= C;
		float rs = 1.0f / sqrtf(v + eps);
		mean[n] = m;
		rstd[n] = rs;
		for (int c = 0; c < C; c++) {
			float h = (xr[c] - m) * rs;
			yr[c] = h * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
		}
	}
}

void dc_nn_layernorm_backward(float *dx, float *dw, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *w, int N, int C)
{
	int nt = dc_threads();
	// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * w
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C, *gr = dy + (size_t)n * C;
		float *dxr = dx + (size_t)n * C;
		float m = mean[n], rs = rstd[n];
		float sg = 0, sgx = 0;
		for (int c = 0; c < C; c++) {
			float g = gr[c] * (w ? w[c] : 1.0f);
			sg += g;
			sgx += g * (xr[c] - m) * rs;
		}
		sg /= C;
		sgx /= C;
		for (int c = 0; c < C; c++) {
			float g = gr[c] * (w ? w[c] : 1.0f);
			float h = (xr[c] - m) * rs;
			dxr[c] += rs * (g - sg - h * sgx);
		}
	}
	if (!dw && !db)
		return;
	int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN && nblk > 1)
	for (int blk = 0; blk < nblk; blk++) {
		int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
		float sw[COLBLK] = { 0 }, sb[COLBLK] = { 0 };
		for (int n = 0; n < N; n++) {
			const float *xr = x + (size_t)n * C, *gr = dy + (size_t)n * C;
			float m = mean[n], rs = rstd[n];
#pragma omp simd
			for (int c = c0; c < c1; c++) {
				sw[c - c0] += gr[c] * (xr[c] - m) * rs;
				sb[c - c0] += gr[c];
			}
		}
		for (int c = c0; c < c1; c++) {
			if (dw)
				dw[c] += sw[c - c0];
			if (db)
				db[c] += sb[c - c0];
		}
	}
}

/* ---- BatchNorm1d ------------------------------------------------------------- */

void dc_nn_batchnorm_forward_train(float *y, float *mean, float *rstd, float *run_mean,
                                   float *run_var, const float *x, const float *w,
                                   const float *b, int N, int C, float eps, float momentum)
{
	int nt = dc_threads();
	int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN && nblk > 1)
	for (int blk = 0; blk < nblk; blk++) {
		int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
		double s[COLBLK] = { 0 }, s2[COLBLK] = { 0 };
		for (int n = 0; n < N; n++) {
			const float *xr = x + (size_t)n * C;
			for (int c = c0; c < c1; c++)
				s[c - c0] += xr[c];
		}
		for (int c = c0; c < c1; c++)
			s[c - c0] /= N;
		for (int n = 0; n < N; n++) {
			const float *xr = x + (size_t)n * C;
			for (int c = c0; c < c1; c++) {
				double d = xr[c] - s[c - c0];
				s2[c - c0] += d * d;
			}
		}
		for (int c = c0; c < c1; c++) {
			double var = s2[c - c0] / N;
			mean[c] = (float)s[c - c0];
			rstd[c] = (float)(1.0 / sqrt(var + eps));
			if (run_mean)
				run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * (float)s[c - c0];
			if (run_var)
				run_var[c] = (1.0f - momentum) * run_var[c] +
				             momentum * (float)(N > 1 ? s2[c - c0] / (N - 1) : var);
		}
	}
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C;
		float *yr = y + (size_t)n * C;
		for (int c = 0; c < C; c++)
			yr[c] = (xr[c] - mean[c]) * rstd[c] * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
	}
}

void dc_nn_batchnorm_forward_eval(float *y, const float *x, const float *w, const float *b,
                                  const float *run_mean, const float *run_var,
                                  int N, int C, float eps)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C;
		float *yr = y + (size_t)n * C;
		for (int c = 0; c < C; c++) {
			float rs = 1.0f / sqrtf(run_var[c] + eps);
			yr[c] = (xr[c] - run_mean[c]) * rs * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
		}
	}
}

void dc_nn_batchnorm_backward(float *dx, float *dw, float *db, const float *dy,
                              const float *x, const float *mean, const float *rstd,
                              const float *w, int N, int C)
{
	// per column c: g = dy*w; dx = rstd * (g - mean_n(g) - xhat * mean_n(g*xhat))
	int nt = dc_threads();
	int nblk = (C + COLBLK - 1) / COLBLK;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= PAR_MIN && nblk > 1)
	for (int blk = 0; blk < nblk; blk++) {
		int c0 = blk * COLBLK, c1 = c0 + COLBLK < C ? c0 + COLBLK : C;
		float sb[COLBLK] = { 0 }, sw[COLBLK] = { 0 };
		for (int n = 0; n < N; n++) {
			const float *xr = x + (size_t)n * C, *gr = dy + (size_t)n * C;
#pragma omp simd
			for (int c = c0; c < c1; c++) {
				sb[c - c0] += gr[c];
				sw[c - c0] += gr[c] * (xr[c] - mean[c]) * rstd[c];
			}
		}
		for (int n = 0; n < N; n++) {
			const float *xr = x + (size_t)n * C, *gr = dy + (size_t)n * C;
			float *dxr = dx + (size_t)n * C;
			for (int c = c0; c < c1; c++) {
				float wc = w ? w[c] : 1.0f;
				float h = (xr[c] - mean[c]) * rstd[c];
				dxr[c] += wc * rstd[c] * (gr[c] - sb[c - c0] / N - h * sw[c - c0] / N);
			}
		}
		for (int c = c0; c < c1; c++) {
			if (dw)
				dw[c] += sw[c - c0];
			if (db)
				db[c] += sb[c - c0];
		}
	}
}

/* ---- activations ---------------------------------------------------------------- */

void dc_nn_gelu_forward(float *y, const float *x, size_t n)
{
	dc_gelu_forward(y, x, n);
}

void dc_nn_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	dc_gelu_backward(dx, dy, x, n);
}

void dc_nn_relu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void dc_nn_relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

/* ---- dropout ------------------------------------------------------------------------ */

#define DROP_CHUNK 1024

/* dc_philox for the 16 counters ctr0..ctr0+15 at once (the same words,
 * laid out for SIMD): w[word][lane] */
static void philox16(uint64_t seed, uint64_t stream, uint64_t ctr0, uint32_t w[4][16])
{
	uint32_t c0[16], c1[16], c2[16], c3[16];
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
	for (int l = 0; l < 16; l++) {
		c0[l] = (uint32_t)(ctr0 + l);
		c1[l] = (uint32_t)((ctr0 + l) >> 32);
		c2[l] = (uint32_t)stream;
		c3[l] = (uint32_t)(stream >> 32);
	}
	for (int r = 0; r < 10; r++) {
#pragma omp simd
		for (int l = 0; l < 16; l++) {
			uint64_t p0 = (uint64_t)0xD2511F53u * c0[l], p1 = (uint64_t)0xCD9E8D57u * c2[l];
			uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
			uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
			c1[l] = (uint32_t)p1;
			c3[l] = (uint32_t)p0;
			c0[l] = n0;
			c2[l] = n2;
		}
		k0 += 0x9E3779B9u;
		k1 += 0xBB67AE85u;
	}
	memcpy(w[0], c0, sizeof c0);
	memcpy(w[1], c1, sizeof c1);
	memcpy(w[2], c2, sizeof c2);
	memcpy(w[3], c3, sizeof c3);
}

void dc_nn_dropout_mask(float *keep, size_t n, float p, uint64_t seed, uint64_t stream,
                        uint64_t offset)
{
	// element k = offset + i: Philox block k >> 3, 16-bit half k & 7 of it;
	// dropped when that half < round(p * 65536).  Blocks are made 16 at a
	// time (128 elements per group).
	float pc = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
	uint32_t thr = (uint32_t)lrintf(pc * 65536.0f);
	float scale = thr < 65536 ? 1.0f / (1.0f - pc) : 0.0f;
	uint64_t end = offset + n;
	for (uint64_t g = offset >> 7; (g << 7) < end; g++) {
		uint32_t w[4][16];
		philox16(seed, stream, g << 4, w);
		uint64_t k0 = g << 7 > offset ? g << 7 : offset, k1 = (g + 1) << 7 < end ? (g + 1) << 7 : end;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (k0 == g << 7 && k1 == (g + 1) << 7) {
			// a whole group, vectorised and branch-free (a dropped element
			// is a coin toss the branch predictor loses): words in element
			// order (block l's word q at 4 l + q), read as 16-bit halves,
			// low half first
			uint32_t t[64];
			uint16_t h[128];
			for (int l = 0; l < 16; l++)
				for (int q = 0; q < 4; q++)
					t[l * 4 + q] = w[q][l];
			memcpy(h, t, sizeof h);
			float *o = keep + (k0 - offset);
			for (int i = 0; i < 128; i++)
				o[i] = (float)(h[i] >= thr) * scale;
			continue;
		}
#endif
		for (uint64_t k = k0; k < k1; k++) {
			unsigned l = (unsigned)(k >> 3) & 15, j = (unsigned)k & 7;
			uint32_t u = (w[j >> 1][l] >> ((j & 1) * 16)) & 0xffffu;
			keep[k - offset] = u >= thr ? scale : 0.0f;
		}
	}
}

void dc_nn_dropout(float *y, const float *x, size_t n, float p,
                   uint64_t seed, uint64_t stream, uint64_t offset)
{
	if (p <= 0.0f) {
		if (y != x)
			memmove(y, x, n * sizeof *y);
		return;
	}
	size_t nchunk = (n + DROP_CHUNK - 1) / DROP_CHUNK;
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= PAR_MIN)
	for (size_t ch = 0; ch < nchunk; ch++) {
		float keep[DROP_CHUNK];
		size_t i0 = ch * DROP_CHUNK, len = n - i0 < DROP_CHUNK ? n - i0 : DROP_CHUNK;
		dc_nn_dropout_mask(keep, len, p, seed, stream, offset + i0);
#pragma omp simd
		for (size_t i = 0; i < len; i++)
			y[i0 + i] = x[i0 + i] * keep[i];
	}
}

/* ---- instance normalisation ----------------------------------------------------------- */

void dc_nn_revin_forward(float *xn, float *mean, float *std, const float *x,
                         int B, int L, int C, float eps)
{
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * L * C >= PAR_MIN)
	for (int b = 0; b < B; b++) {
		const float *xb = x + (size_t)b * L * C;
		float *ob = xn + (size_t)b * L * C;
		for (int c = 0; c < C; c++) {
			double m = 0, v = 0;
			for (int t = 0; t < L; t++)
				m += xb[(size_t)t * C + c];
			m /= L;
			float mf = (float)m;
			for (int t = 0; t < L; t++) {
				double d = (double)(xb[(size_t)t * C + c] - mf);
				v += d * d;
			}
			v /= L;
			float sd = (float)sqrt(v + eps);
			mean[(size_t)b * C + c] = mf;
			std[(size_t)b * C + c] = sd;
			for (int t = 0; t < L; t++)
				ob[(size_t)t * C + c] = (xb[(size_t)t * C + c] - mf) / sd;
		}
	}
}

void dc_nn_revin_backward(float *dx, const float *dxn, const float *xn, const float *std,
                          int B, int L, int C)
{
	// xn = (x - m)/s, m detached, s = sqrt(var(x) + eps):
	// dx_t = dxn_t / s - xn_t * mean_u(dxn_u * xn_u) / s
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++) {
			size_t base = (size_t)b * L * C + c;
			float s = std[(size_t)b * C + c];
			double a = 0;
			for (int t = 0; t < L; t++)
				a += (double)dxn[base + (size_t)t * C] * xn[base + (size_t)t * C];
			float af = (float)(a / L);
			for (int t = 0; t < L; t++) {
				size_t i = base + (size_t)t * C;
				dx[i] = (dxn[i] - xn[i] * af) / s;
			}
		}
}

void dc_nn_revin_denorm_forward(float *y, const float *yn, const float *mean,
                                const float *std, int B, int T, int C)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			for (int c = 0; c < C; c++) {
				size_t i = ((size_t)b * T + t) * C + c;
				y[i] = yn[i] * std[(size_t)b * C + c] + mean[(size_t)b * C + c];
			}
}

void dc_nn_revin_denorm_backward(float *dyn, const float *dy, const float *std,
                                 int B, int T, int C)
{
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			for (int c = 0; c < C; c++) {
				size_t i = ((size_t)b * T + t) * C + c;
				dyn[i] = dy[i] * std[(size_t)b * C + c];
			}
}

/* ---- misc -------------------------------------------------------------------------------- */

void dc_nn_sinusoid(float *pe, int N, int D)
{
	for (int i = 0; 2 * i < D; i++) {
		// as torch: float32 div_term = exp(float(2i) * float(-ln(10000)/D))
		float e = (float)(2 * i) * (float)(-log(10000.0) / D);
		float w = (float)exp((double)e);
		for (int t = 0; t < N; t++) {
			float a = (float)t * w;
			pe[(size_t)t * D + 2 * i] = (float)sin((double)a);
			if (2 * i + 1 < D)
				pe[(size_t)t * D + 2 * i + 1] = (float)cos((double)a);
		}
	}
}

double dc_nn_mse(float *dy, const float *y, const float *t, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)y[i] - t[i];
		s += d * d;
		if (dy)
			dy[i] = (float)(2.0 * d / (double)n);
	}
	return n ? s / (double)n : 0.0;
}
