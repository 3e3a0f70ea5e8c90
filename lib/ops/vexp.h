/*
 * vexp.h - fast single-precision exp for softmax-like kernels (internal to
 * lib/ops).  Cody-Waite range reduction x = n*ln2 + r, |r| <= ln2/2, and the
 * Cephes expf polynomial on r; the result is scaled by 2^n through the
 * exponent bits.  Max relative error about 1.2e-7 (a couple of ulp) against
 * libm over [-87.3, 88.7]; inputs below -87.33 (and -INFINITY) give 0,
 * inputs above 88.72 give +INFINITY, NaN stays NaN.  This is the explicit
 * AVX-512 (16-lane __m512) form of vmath.h's dc_vexpf, for kernels written
 * with intrinsics; dc_vexp() falls back to dc_vexpf where the compiler does
 * not target AVX-512F.  Header-only, static inline, thread-safe.
 */
#ifndef DC_VEXP_H
#define DC_VEXP_H

#include <math.h>
#include <stddef.h>

#include "vmath.h"
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#define DC_VEXP_LO (-87.33654f)   /* below: 0 (would be subnormal) */
#define DC_VEXP_HI 88.72283f      /* above: +inf */
#define DC_VEXP_LOG2E 1.44269504088896341f
#define DC_VEXP_LN2HI 0.693359375f
#define DC_VEXP_LN2LO (-2.12194440e-4f)
#define DC_VEXP_P0 1.9875691500e-4f
#define DC_VEXP_P1 1.3981999507e-3f
#define DC_VEXP_P2 8.3334519073e-3f
#define DC_VEXP_P3 4.1665795894e-2f
#define DC_VEXP_P4 1.6666665459e-1f
#define DC_VEXP_P5 5.0000001201e-1f

/* the scalar twin: vmath.h's dc_vexpf (same reduction and polynomial) */
static inline float dc_vexp_scalar(float x)
{
	return dc_vexpf(x);
}

#ifdef __AVX512F__
static inline __m512 dc_vexp_avx512(__m512 x)
{
	__mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(DC_VEXP_LO), _CMP_GE_OQ);
	__mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(DC_VEXP_HI), _CMP_GT_OQ);
	__mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
	__m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(DC_VEXP_LO)),
	                          _mm512_set1_ps(DC_VEXP_HI));
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(DC_VEXP_LOG2E)),
	                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DC_VEXP_LN2HI), xc);
	r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DC_VEXP_LN2LO), r);
	__m512 p = _mm512_set1_ps(DC_VEXP_P0);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P1));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P2));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P3));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P4));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P5));
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
	p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
	/* scalef multiplies by 2^n exactly and handles n = 128 (-> inf) */
	__m512 y = _mm512_scalef_ps(p, n);
	y = _mm512_maskz_mov_ps(keep, y);
	y = _mm512_mask_mov_ps(y, big, _mm512_set1_ps(INFINITY));
	return _mm512_mask_mov_ps(y, nan, x);
}

/*
 * exp for softmax arguments (x <= 0 or -inf, x = s - max): no masks, so about
 * a third fewer instructions.  x is clamped below at -110 (exp underflows to
 * exactly 0 through scalef there, -inf included); NaN propagates (it is the
 * second operand of the max).  Not for x > 88.7.
 */
static inline __m512 dc_vexp_avx512_nonpos(__m512 x)
{
	__m512 xc = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
	__m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(DC_VEXP_LOG2E)),
	                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DC_VEXP_LN2HI), xc);
	r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DC_VEXP_LN2LO), r);
	__m512 p = _mm512_set1_ps(DC_VEXP_P0);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P1));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P2));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P3));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P4));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DC_VEXP_P5));
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
	p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, n);
}
#endif

/* y[i] = exp(x[i]) for n floats; y may alias x. */
static inline void dc_vexp(float *y, const float *x, size_t n)
{
	size_t i = 0;
#ifdef __AVX512F__
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, dc_vexp_avx512(_mm512_loadu_ps(x + i)));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(y + i, m, dc_vexp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
		return;
	}
#endif
	for (; i < n; i++)
		y[i] = dc_vexp_scalar(x[i]);
}

#endif /* DC_VEXP_H */
