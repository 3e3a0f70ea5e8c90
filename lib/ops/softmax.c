/*
 * softmax.c - numerically stable row-wise softmax over the last dim of
 * x[N][C]: out = exp(x - max) / sum(exp(x - max)), out may alias x.
 * Rows are spread over dc_threads() threads; each row is reduced by one
 * thread in a fixed order, so results do not depend on the thread count.
 * exp is dc_vexpf (vmath.h, ~2 ulp).  A row whose entries are all -inf
 * (fully masked) gives zeros (torch gives NaN); NaN inputs give NaN.
 */
#include "ops.h"
#include "vmath.h"

#include <math.h>

static void softmax_row(float *o, const float *x, int C)
{
	/* max in 16 lanes (vectorises under gcc and clang alike); NaN is
	 * skipped here but still reaches the sum below */
	float mv[16], m = -INFINITY;
	int j0 = 0;
	for (int l = 0; l < 16; l++)
		mv[l] = -INFINITY;
	for (; j0 + 16 <= C; j0 += 16)
		for (int l = 0; l < 16; l++)
			mv[l] = x[j0 + l] > mv[l] ? x[j0 + l] : mv[l];
	for (int l = 0; l < 16; l++)
		m = mv[l] > m ? mv[l] : m;
	for (int j = j0; j < C; j++)
		m = x[j] > m ? x[j] : m;
	if (m == -INFINITY) {
		for (int j = 0; j < C; j++)
			o[j] = x[j] != x[j] ? x[j] : 0.0f;
		return;
	}
	float s = 0.0f;
#pragma omp simd reduction(+:s)
	for (int j = 0; j < C; j++) {
		float e = dc_vexpf(x[j] - m);
		o[j] = e;
		s += e;
	}
	float inv = 1.0f / s;
#pragma omp simd
	for (int j = 0; j < C; j++)
		o[j] *= inv;
}

void dc_softmax_forward(float *out, const float *x, int N, int C)
{
	if (N <= 0 || C <= 0)
		return;
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * C >= 16384 && N > 1)
	for (int i = 0; i < N; i++)
		softmax_row(out + (size_t)i * C, x + (size_t)i * C, C);
}
