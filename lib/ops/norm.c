/*
 * norm.c - LayerNorm, RMSNorm (T5) and GroupNorm forward, f32, out may
 * alias x.  Rows (LayerNorm, RMSNorm) or (batch, group) pairs (GroupNorm)
 * are spread over dc_threads() threads; each is reduced by one thread in a
 * fixed order, so results do not depend on the thread count.
 *
 *   layernorm: y = (x - mean) / sqrt(var + eps) * w + b, biased variance,
 *              two-pass: mean summed in double and subtracted as a
 *              two-float (hi + lo) value, variance in f32 vector partials.
 *   rmsnorm:   y = x / sqrt(mean(x^2) + eps) * w   (T5LayerNorm: no mean
 *              subtraction, no bias, variance in f32).
 *   groupnorm: x[B][C][S], channels split into G groups of C/G; mean and
 *              biased variance over (C/G)*S elements accumulated in double
 *              (groups can hold millions of elements), per-channel affine.
 *              C must be a multiple of G (the caller's contract).
 */
#include "ops.h"

#include <math.h>

#define ROW_PAR_MIN 16384   /* elements below which one thread is used */

static void layernorm_row(float *o, const float *x, const float *w, const float *b,
                          int C, float eps)
{
	/* mean in double, applied as mh + ml so x - mean keeps its low bits
	 * when the row's spread is small next to its offset */
	double s = 0.0;
#pragma omp simd reduction(+:s)
	for (int j = 0; j < C; j++)
		s += x[j];
	double md = s / C;
	float mh = (float)md, ml = (float)(md - mh);
	float v = 0.0f;
#pragma omp simd reduction(+:v)
	for (int j = 0; j < C; j++) {
		float d = (x[j] - mh) - ml;
		v += d * d;
	}
	float rstd = 1.0f / sqrtf(v / (float)C + eps);
	if (w && b) {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = ((x[j] - mh) - ml) * rstd * w[j] + b[j];
	} else if (w) {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = ((x[j] - mh) - ml) * rstd * w[j];
	} else if (b) {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = ((x[j] - mh) - ml) * rstd + b[j];
	} else {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = ((x[j] - mh) - ml) * rstd;
	}
}

void dc_layernorm_forward(float *out, const float *x, const float *w, const float *b,
                          int N, int C, float eps)
{
	if (N <= 0 || C <= 0)
		return;
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= ROW_PAR_MIN && N > 1)
	for (int i = 0; i < N; i++)
		layernorm_row(out + (size_t)i * C, x + (size_t)i * C, w, b, C, eps);
}

static void rmsnorm_row(float *o, const float *x, const float *w, int C, float eps)
{
	float s = 0.0f;
#pragma omp simd reduction(+:s)
	for (int j = 0; j < C; j++)
		s += x[j] * x[j];
	float rstd = 1.0f / sqrtf(s / (float)C + eps);
	if (w) {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = x[j] * rstd * w[j];
	} else {
#pragma omp simd
		for (int j = 0; j < C; j++)
			o[j] = x[j] * rstd;
	}
}

void dc_rmsnorm_forward(float *out, const float *x, const float *w, int N, int C, float eps)
{
	if (N <= 0 || C <= 0)
		return;
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= ROW_PAR_MIN && N > 1)
	for (int i = 0; i < N; i++)
		rmsnorm_row(out + (size_t)i * C, x + (size_t)i * C, w, C, eps);
}

void dc_groupnorm_forward(float *out, const float *x, const float *w, const float *b,
                          int B, int C, int S, int G, float eps)
{
	if (B <= 0 || C <= 0 || S <= 0 || G <= 0 || C % G)
		return;
	int cg = C / G;
	size_t gsize = (size_t)cg * S;
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * C * S >= ROW_PAR_MIN && B * G > 1)
	for (int bg = 0; bg < B * G; bg++) {
		int g = bg % G;
		const float *xg = x + (size_t)bg * gsize;
		float *og = out + (size_t)bg * gsize;
		double s = 0.0;
#pragma omp simd reduction(+:s)
		for (size_t j = 0; j < gsize; j++)
			s += xg[j];
		double mean = s / (double)gsize;
		double v = 0.0;
#pragma omp simd reduction(+:v)
		for (size_t j = 0; j < gsize; j++) {
			double d = xg[j] - mean;
			v += d * d;
		}
		float rstd = (float)(1.0 / sqrt(v / (double)gsize + eps));
		float mh = (float)mean, ml = (float)(mean - mh);
		for (int c = 0; c < cg; c++) {
			int ch = g * cg + c;
			float sc = w ? rstd * w[ch] : rstd;
			float sh = b ? b[ch] : 0.0f;
			const float *xc = xg + (size_t)c * S;
			float *oc = og + (size_t)c * S;
#pragma omp simd
			for (int j = 0; j < S; j++)
				oc[j] = ((xc[j] - mh) - ml) * sc + sh;
		}
	}
}
