/*
 * act.c - elementwise activations: GELU (erf form and tanh approximation)
 * and SiLU, f32, in place allowed.  Parallel over dc_threads() threads for
 * large n; each element is computed independently, so results do not
 * depend on the thread count.
 *
 * Accuracy (vs a double-precision reference, see tests/unit/test_ops.c):
 *   gelu(x)      = x * Phi(x), computed as x*(1 - erfc(z)/2) for x >= 0 and
 *                  x*erfc(-z)/2 for x < 0, z = |x|/sqrt(2), with dc_verfcf
 *                  (vmath.h), so the negative tail keeps relative accuracy
 *                  (~1e-6) rather than only absolute.
 *   gelu_tanh(x) = 0.5x(1 + tanh(u)) = x / (1 + exp(-2u)),
 *                  u = sqrt(2/pi)(x + 0.044715x^3)  (torch approximate='tanh')
 *   silu(x)      = x / (1 + exp(-x))
 * All three give -0 at x = -inf (the limit; torch gives NaN), +inf at +inf,
 * NaN for NaN.
 */
#include "ops.h"
#include "vmath.h"

#include <float.h>
#include <string.h>

/* below this many elements one thread is faster than waking the team */
#define ACT_PAR_MIN 32768

void dc_gelu_forward(float *out, const float *x, size_t n)
{
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= ACT_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float a = fabsf(v);
		a = a > 20.0f ? 20.0f : a;               /* erfc(20/sqrt2) is 0 in f32 */
		float z = a * 0.70710678118654752f;
		float vv = a * a;                        /* z^2 = a^2/2 exactly */
		float h = 0.5f * dc_verfcf2_(z, 0.5f * vv, 0.5f * fmaf(a, a, -vv));
		float vc = v < -FLT_MAX ? -FLT_MAX : v;  /* gelu(-inf) = -0, not NaN */
		out[i] = vc * (v >= 0.0f ? 1.0f - h : h);
	}
}

void dc_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	/* gelu'(x) = Phi(x) + x phi(x); Phi as in dc_gelu_forward, phi from
	 * exp(-a^2/2) with a^2 = vv + lo split (exp(-lo/2) ~ 1 - lo/2) */
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= ACT_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float a = fabsf(v);
		a = a > 20.0f ? 20.0f : a;               /* beyond: Phi is 0 or 1, x phi(x) 0 */
		float z = a * 0.70710678118654752f;
		float vv = a * a, lo = fmaf(a, a, -vv);
		float h = 0.5f * dc_verfcf2_(z, 0.5f * vv, 0.5f * lo);
		float cdf = v >= 0.0f ? 1.0f - h : h;
		float pdf = 0.39894228040143268f * dc_vexpf(-0.5f * vv) * (1.0f - 0.5f * lo);
		float vc = v >= 0.0f ? a : -a;
		dx[i] = dy[i] * fmaf(vc, pdf, cdf);
	}
}

void dc_gelu_tanh_forward(float *out, const float *x, size_t n)
{
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= ACT_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		float v = x[i] < -FLT_MAX ? -FLT_MAX : x[i];  /* -inf -> -0 */
		float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
		out[i] = v / (1.0f + dc_vexpf(-2.0f * u));
	}
}

void dc_silu_forward(float *out, const float *x, size_t n)
{
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= ACT_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		float v = x[i] < -FLT_MAX ? -FLT_MAX : x[i];  /* -inf -> -0 */
		out[i] = v / (1.0f + dc_vexpf(-v));
	}
}

/* ---- plain vector helpers ------------------------------------------------------------- */

/*
 * A training step zeroes, copies and adds whole activation tensors many
 * times; one thread doing that while the others wait is what keeps a
 * 16-thread fit from scaling (Amdahl).  Each element is independent, so the
 * results are the same on any thread count.  Below VEC_PAR_MIN elements the
 * team is not woken.
 */
#define VEC_PAR_MIN 65536

/* dst[n] = src[n], or 0 when src is NULL; in nt contiguous blocks */
static void vfill(float *dst, const float *src, size_t n)
{
	int nt = dc_threads();
	if (n < VEC_PAR_MIN || nt < 2)
		nt = 1;
	size_t blk = (n + (size_t)nt - 1) / (size_t)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
	for (int t = 0; t < nt; t++) {
		size_t i0 = (size_t)t * blk, len = i0 < n ? (n - i0 < blk ? n - i0 : blk) : 0;
		if (len && src)
			memcpy(dst + i0, src + i0, len * sizeof *dst);
		else if (len)
			memset(dst + i0, 0, len * sizeof *dst);
	}
}

void dc_vzero(float *a, size_t n)
{
	vfill(a, NULL, n);
}

void dc_vcopy(float *dst, const float *src, size_t n)
{
	if (dst != src)
		vfill(dst, src, n);
}

void dc_vadd(float *a, const float *b, size_t n)
{
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= VEC_PAR_MIN)
	for (size_t i = 0; i < n; i++)
		a[i] += b[i];
}
