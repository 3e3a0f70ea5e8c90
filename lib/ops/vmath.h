/*
 * vmath.h - branch-free float exp and erfc that gcc vectorises inside
 * `#pragma omp simd` loops (libm's expf/erff are scalar calls and would cap
 * softmax/GELU far below memory bandwidth).  Private to lib/ops.
 *
 * dc_vexpf(x): Cephes-style range reduction x = n*ln2 + r (ln2 split in two
 * parts), degree-6 polynomial in r, 2^n applied as two exact power-of-two
 * factors so n = 128 does not overflow the exponent field.  Results below
 * exp(-87.33) (the smallest normal float) are flushed to 0, exp(-inf) = 0,
 * exp(+inf) = inf, NaN stays NaN.  Max relative error vs libm ~2 ulp
 * (tests/unit/test_ops.c checks < 4e-7).
 *
 * dc_verfcf(z), z >= 0: the Numerical Recipes Chebyshev fit
 * erfc(z) = t*exp(-z^2 - 1.26551223 + t*P(t)), t = 1/(1+z/2), fractional
 * error < 1.2e-7 over all z >= 0 (so relative, not just absolute, accuracy
 * in the tail, which is what GELU(x) for x << 0 needs).  z^2 is formed
 * with an FMA remainder so large z loses no accuracy to its rounding.
 */
#ifndef DC_OPS_VMATH_H
#define DC_OPS_VMATH_H

#include <math.h>
#include <stdint.h>

static inline float dc_pow2i_(int32_t n)
{
	union { uint32_t u; float f; } b;
	b.u = ((uint32_t)n + 127u) << 23;    /* unsigned: garbage n (NaN) is not UB */
	return b.f;
}

/* exp(x + xlo), |xlo| <= ulp(x): xlo joins the reduced argument r, so the
 * result is as accurate as if x + xlo were exact. */
static inline float dc_vexp2f_(float x, float xlo)
{
	const float hi = 88.7228394f, lo = -87.3365479f;
	float xc = x > hi ? hi : x;
	xc = xc < lo ? lo : xc;
	/* n = round(x / ln2) by the 1.5*2^23 trick (exact for |v| < 2^22) */
	float v = xc * 1.44269504088896341f + 12582912.0f;
	union { float f; uint32_t u; } nb = { v };
	float n = v - 12582912.0f;
	int32_t ni = (int32_t)(nb.u - 0x4B400000u);
	float r = xc - n * 0.693359375f;
	r = r - n * -2.12194440e-4f + xlo;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	float y = p * (r * r) + r + 1.0f;
	int32_t n1 = ni >> 1;
	y = y * dc_pow2i_(n1) * dc_pow2i_(ni - n1);
	y = x > hi ? INFINITY : y;      /* +inf (and huge) -> inf */
	y = x < lo ? 0.0f : y;          /* -inf and tiny -> 0 */
	return x != x ? x : y;          /* keep NaN */
}

static inline float dc_vexpf(float x)
{
	return dc_vexp2f_(x, 0.0f);
}

/* erfc(z) for z >= 0 given z and z^2 = zz + zz_lo (zz_lo the exact
 * remainder): the exp argument's sensitivity to z is 2z^2, so callers that
 * know z^2 better than z (GELU: z^2 = x^2/2 exactly) pass it in. */
static inline float dc_verfcf2_(float z, float zz, float zz_lo)
{
	float t = 1.0f / (1.0f + 0.5f * z);
	float p = 0.17087277f;
	p = p * t + -0.82215223f;
	p = p * t + 1.48851587f;
	p = p * t + -1.13520398f;
	p = p * t + 0.27886807f;
	p = p * t + -0.18628806f;
	p = p * t + 0.09678418f;
	p = p * t + 0.37409196f;
	p = p * t + 1.00002368f;
	p = p * t - 1.26551223f;
	/* p - zz - zz_lo with the rounding error of p - zz kept (TwoSum) */
	float s = p - zz, bb = s - p;
	float err = (p - (s - bb)) + (-zz - bb);
	return t * dc_vexp2f_(s, err - zz_lo);
}

/* erfc(z) for z >= 0 (z may be +inf: result 0). */
static inline float dc_verfcf(float z)
{
	float zz = z * z;
	return dc_verfcf2_(z, zz, fmaf(z, z, -zz));
}

#endif /* DC_OPS_VMATH_H */
