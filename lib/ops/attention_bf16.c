/*
 * attention_bf16.c - multi-head attention with both products in bf16
 * (vdpbf16ps, f32 accumulation), the softmax in f32: the flash-attention
 * tiling of attention.c (64 queries in the lanes of 4 zmm registers, keys in
 * tiles of FA_BK, online softmax per lane), with
 *   St[j][i]  = sum_dp K2[j][dp] . Q2[dp][i]    K2 = bf16 pairs of k rows,
 *                                               Q2 = bf16(scale q) pairs, lanes i
 *   P = exp(St - m) (f32), l += sum P (f32), P2[jp][i] = bf16 pairs (P[2jp][i], P[2jp+1][i])
 *   Ot[d][i] += sum_jp V2[d][jp] . P2[jp][i]    V2 = bf16 pairs of v columns
 * and out[i][d] = Ot[d][i] / l[i].  K2 and V2 (k rows and v^T, bf16 pairs,
 * per head) are converted once per call into the caller's scratch
 * (dc_attention_bf16_scratch bytes), so the tasks share them; Q2, St, P2
 * and Ot live on the task's stack (about 100 KiB).
 *
 * The AVX512-BF16 kernel needs AVX-512F at compile time (for vexp.h) and
 * the instruction at run time; elsewhere, or for D > 128, or without
 * scratch, dc_attention_forward (f32) runs instead.  Each task's arithmetic
 * does not depend on the thread count.  On the Zen 5 build machine (H 16, D
 * 72, one core): 380 GFLOP/s at N = M = 4096 (1.75x the f32 kernel), 330
 * at 1024 (1.5x), 180-195 for 120 keys (1.3x); the softmax (exp, about 8
 * instructions per 16 scores) now costs about as much as the two products.
 */
#include "ops.h"
#include "vexp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__x86_64__) && \
    (defined(__clang__) ? __clang_major__ >= 9 : __GNUC__ >= 10)
#define DC_ATT_BF16 1
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

#define FA_BQ 64      /* queries per task (4 x 16 lanes) */
#define FA_BK 132     /* keys per tile: even, a multiple of the 6-row block */
#define FA_DMAX 128

/* scratch layout: K2 [H][M][Dp] dwords, then V2 [H][D][Mp] dwords,
 * Dp = ceil(D/2), Mp = ceil(M/2) */
size_t dc_attention_bf16_scratch(int M, int H, int D)
{
	size_t dp, mp, a, b, t;
	if (M < 1 || H < 1 || D < 1)
		return 0;
	dp = ((size_t)D + 1) / 2;
	mp = ((size_t)M + 1) / 2;
	if (dc_mul_size((size_t)H * (size_t)M, dp, &a) || dc_mul_size((size_t)H * (size_t)D, mp, &b) ||
	    dc_add_size(a, b, &t) || dc_mul_size(t, 4, &t) || dc_add_size(t, 64, &t))
		return 0;
	return t;
}

#ifdef DC_ATT_BF16
/* bf16 pairs of n f32 values (n odd: the last pair's high half 0) */
static BF16_TARGET void row_pairs(uint32_t *d, const float *s, int n)
{
	int kk = 0;
	for (; kk + 32 <= n; kk += 32) {
		__m512 lo = _mm512_loadu_ps(s + kk), hi = _mm512_loadu_ps(s + kk + 16);
		_mm512_storeu_si512(d + kk / 2, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
	}
	if (kk < n) {
		int rem = n - kk;
		__mmask16 ml = (__mmask16)(rem >= 16 ? 0xffff : (1u << rem) - 1);
		__mmask16 mh = (__mmask16)(rem > 16 ? (1u << (rem - 16)) - 1 : 0);
		__m512 lo = _mm512_maskz_loadu_ps(ml, s + kk);
		__m512 hi = _mm512_maskz_loadu_ps(mh, s + kk + 16);
		_mm512_mask_storeu_epi32(d + kk / 2, (__mmask16)((1u << ((rem + 1) / 2)) - 1),
		                         (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
	}
}

/* 16 dwords (bf16(a[i]) | bf16(b[i]) << 16) */
static inline BF16_TARGET __m512i interleave(__m512 a, __m512 b)
{
	const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
	                                     25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
	                                     18, 2, 17, 1, 16, 0);
	return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

/*
 * exp(s - m) for the probabilities, which are rounded to bf16 (relative
 * error 2^-9) right after: 2^t, t = s log2e - m log2e, as 2^n p(t - n) with
 * a cubic p fitted to 2^f on [-1/2, 1/2] (relative error 7.5e-5, about 1/26
 * of the bf16 rounding), 8 instructions instead of vexp.h's 14.  mlg =
 * -m log2e.  t is clamped at -200, so s = -inf gives exactly 0; NaN stays.
 */
static inline BF16_TARGET __m512 exp_lite(__m512 s, __m512 mlg)
{
	__m512 t = _mm512_fmadd_ps(s, _mm512_set1_ps(1.44269504088896341f), mlg);
	t = _mm512_max_ps(_mm512_set1_ps(-200.0f), t);
	__m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 f = _mm512_sub_ps(t, n);
	__m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.05517172813415527f), f,
	                           _mm512_set1_ps(0.24261118471622467f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6932609677314758f));
	p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.9999280571937561f));
	return _mm512_scalef_ps(p, n);
}

/* K2, V2 for every head: one job per (head, 64-key block) */
static BF16_TARGET void convert_kv(uint32_t *K2, uint32_t *V2, const float *k, int ldk,
                                   const float *v, int ldv, int M, int H, int D)
{
	size_t Dp = ((size_t)D + 1) / 2, Mp = ((size_t)M + 1) / 2;
	int nb = (M + 63) / 64;
	long jobs = (long)H * nb;
	#pragma omp parallel for num_threads((size_t)M * H * D >= (1u << 16) ? dc_threads() : 1) \
		schedule(static)
	for (long t = 0; t < jobs; t++) {
		int h = (int)(t / nb), j0 = (int)(t % nb) * 64, j1 = j0 + 64 < M ? j0 + 64 : M;
		for (int j = j0; j < j1; j++)
			row_pairs(K2 + ((size_t)h * M + j) * Dp, k + (size_t)j * ldk + (size_t)h * D, D);
		/* V2[h][d][jp] = (v[2jp][d], v[2jp+1][d]), 16 d at a time, then
		 * stored by column jp */
		for (int j = j0; j < j1; j += 2) {
			const float *r0 = v + (size_t)j * ldv + (size_t)h * D;
			const float *r1 = j + 1 < M ? r0 + ldv : NULL;
			uint32_t *dst = V2 + (size_t)h * D * Mp + (size_t)(j / 2);
			for (int d = 0; d < D; d += 16) {
				__mmask16 m = (__mmask16)(D - d >= 16 ? 0xffff : (1u << (D - d)) - 1);
				__m512 a = _mm512_maskz_loadu_ps(m, r0 + d);
				__m512 b = r1 ? _mm512_maskz_loadu_ps(m, r1 + d) : _mm512_setzero_ps();
				uint32_t tmp[16] __attribute__((aligned(64)));
				_mm512_store_si512(tmp, interleave(a, b));
				int nd = D - d < 16 ? D - d : 16;
				for (int i = 0; i < nd; i++)
					dst[(size_t)(d + i) * Mp] = tmp[i];
			}
		}
	}
}

/* c[r][0:64] (=|+=) sum_{p<kp} a[r*as + p] . b[p][0:64] (dword pairs), r < R <= 6;
 * if mx, mx[0..3] = max(mx, rows) */
static inline __attribute__((always_inline)) BF16_TARGET void
mk_tile(int R, float *restrict c, const uint32_t *restrict a, size_t as,
        const uint32_t *restrict b, int kp, int acc, __m512 *mx)
{
	__m512 c0[6], c1[6], c2[6], c3[6];
#pragma GCC unroll 6
	for (int r = 0; r < 6; r++)
		if (r < R) {
			if (acc) {
				c0[r] = _mm512_loadu_ps(c + r * 64);
				c1[r] = _mm512_loadu_ps(c + r * 64 + 16);
				c2[r] = _mm512_loadu_ps(c + r * 64 + 32);
				c3[r] = _mm512_loadu_ps(c + r * 64 + 48);
			} else {
				c0[r] = c1[r] = c2[r] = c3[r] = _mm512_setzero_ps();
			}
		}
	for (int p = 0; p < kp; p++) {
		const uint32_t *bp = b + (size_t)p * 64;
		__m512bh b0 = (__m512bh)_mm512_load_si512(bp), b1 = (__m512bh)_mm512_load_si512(bp + 16);
		__m512bh b2 = (__m512bh)_mm512_load_si512(bp + 32), b3 = (__m512bh)_mm512_load_si512(bp + 48);
#pragma GCC unroll 6
		for (int r = 0; r < 6; r++)
			if (r < R) {
				__m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * as + p]);
				c0[r] = _mm512_dpbf16_ps(c0[r], b0, x);
				c1[r] = _mm512_dpbf16_ps(c1[r], b1, x);
				c2[r] = _mm512_dpbf16_ps(c2[r], b2, x);
				c3[r] = _mm512_dpbf16_ps(c3[r], b3, x);
			}
	}
#pragma GCC unroll 6
	for (int r = 0; r < 6; r++)
		if (r < R) {
			_mm512_storeu_ps(c + r * 64, c0[r]);
			_mm512_storeu_ps(c + r * 64 + 16, c1[r]);
			_mm512_storeu_ps(c + r * 64 + 32, c2[r]);
			_mm512_storeu_ps(c + r * 64 + 48, c3[r]);
			if (mx) {
				mx[0] = _mm512_max_ps(c0[r], mx[0]);
				mx[1] = _mm512_max_ps(c1[r], mx[1]);
				mx[2] = _mm512_max_ps(c2[r], mx[2]);
				mx[3] = _mm512_max_ps(c3[r], mx[3]);
			}
		}
}

static inline __attribute__((always_inline)) BF16_TARGET void
mk_rows(int nr, float *c, const uint32_t *a, size_t as, const uint32_t *b, int kp, int acc,
        __m512 *mx)
{
	int r = 0;
	for (; r + 6 <= nr; r += 6)
		mk_tile(6, c + (size_t)r * 64, a + r * as, as, b, kp, acc, mx);
	c += (size_t)r * 64;
	a += r * as;
	switch (nr - r) {
	case 5: mk_tile(5, c, a, as, b, kp, acc, mx); break;
	case 4: mk_tile(4, c, a, as, b, kp, acc, mx); break;
	case 3: mk_tile(3, c, a, as, b, kp, acc, mx); break;
	case 2: mk_tile(2, c, a, as, b, kp, acc, mx); break;
	case 1: mk_tile(1, c, a, as, b, kp, acc, mx); break;
	default: break;
	}
}

/* One (head, <= 64 queries) task; K2h = K2 of the head [M][Dp], V2h [D][Mp]. */
static __attribute__((noinline)) BF16_TARGET void
task_bf16(float *o, int ldo, const float *q, int ldq, const uint32_t *K2h,
          const uint32_t *V2h, int nq, int M, int D, float scale, const float *mask,
          const unsigned char *key_valid)
{
	uint32_t Q2[FA_DMAX / 2 * FA_BQ] __attribute__((aligned(64)));
	uint32_t P2[FA_BK / 2 * FA_BQ] __attribute__((aligned(64)));
	float Ot[FA_DMAX * FA_BQ] __attribute__((aligned(64)));
	float St[FA_BK * FA_BQ] __attribute__((aligned(64)));
	const __m512 ninf = _mm512_set1_ps(-INFINITY);
	size_t Dp = ((size_t)D + 1) / 2, Mp = ((size_t)M + 1) / 2;
	__m512 m[4], l[4], mlg[4];

	/* Q2[dp][i] = pair(scale q[i][2dp], scale q[i][2dp+1]); lanes past nq 0:
	 * each row scaled and paired (in Ot, free until below), then transposed */
	{
		uint32_t *rows = (uint32_t *)Ot;   /* [64][Dp] */
		for (int i = 0; i < FA_BQ; i++) {
			float t[FA_DMAX] __attribute__((aligned(64)));
			for (int d = 0; d < D; d++)
				t[d] = i < nq ? q[(size_t)i * ldq + d] * scale : 0.0f;
			row_pairs(rows + (size_t)i * Dp, t, D);
		}
		for (size_t dp = 0; dp < Dp; dp++)
			for (int i = 0; i < FA_BQ; i++)
				Q2[dp * FA_BQ + i] = rows[(size_t)i * Dp + dp];
	}
	memset(Ot, 0, (size_t)D * FA_BQ * sizeof(float));
	for (int c = 0; c < 4; c++) {
		m[c] = ninf;
		l[c] = _mm512_setzero_ps();
	}
	for (int j0 = 0; j0 < M; j0 += FA_BK) {
		int nk = M - j0 < FA_BK ? M - j0 : FA_BK, nkp = (nk + 1) / 2;
		const unsigned char *kv = key_valid ? key_valid + j0 : NULL;
		if (kv) {
			int any = 0;
			for (int j = 0; j < nk && !any; j++)
				any = kv[j] != 0;
			if (!any)
				continue;
		}
		__m512 mt[4] = { ninf, ninf, ninf, ninf }, ms[4], sum[4];
		mk_rows(nk, St, K2h + (size_t)j0 * Dp, Dp, Q2, (int)Dp, 0, mask || kv ? NULL : mt);
		if (mask)
			for (int i = 0; i < nq; i++) {
				const float *mr = mask + (size_t)i * M + j0;
				for (int j = 0; j < nk; j++)
					St[j * FA_BQ + i] += mr[j];
			}
		if (kv)
			for (int j = 0; j < nk; j++)
				if (!kv[j])
					for (int c = 0; c < 4; c++)
						_mm512_storeu_ps(St + j * FA_BQ + c * 16, ninf);
		if (mask || kv)
			for (int j = 0; j < nk; j++)
				for (int c = 0; c < 4; c++)
					mt[c] = _mm512_max_ps(_mm512_loadu_ps(St + j * FA_BQ + c * 16), mt[c]);
		for (int c = 0; c < 4; c++) {
			__m512 mn = _mm512_max_ps(mt[c], m[c]);
			ms[c] = _mm512_mask_mov_ps(mn, _mm512_cmp_ps_mask(mn, ninf, _CMP_EQ_OQ),
			                           _mm512_setzero_ps());
			__m512 alpha = dc_vexp_avx512(_mm512_sub_ps(m[c], ms[c]));
			l[c] = _mm512_mul_ps(l[c], alpha);
			/* alpha is exactly 1 where the max did not move: no rescale */
			if (_mm512_cmp_ps_mask(alpha, _mm512_set1_ps(1.0f), _CMP_NEQ_UQ))
				for (int d = 0; d < D; d++) {
					float *op = Ot + d * FA_BQ + c * 16;
					_mm512_store_ps(op, _mm512_mul_ps(_mm512_load_ps(op), alpha));
				}
			m[c] = mn;
			mlg[c] = _mm512_mul_ps(ms[c], _mm512_set1_ps(-1.44269504088896341f));
			sum[c] = _mm512_setzero_ps();
		}
		/* P = exp(St - m) in f32 (summed), stored as bf16 pairs of keys */
		for (int jp = 0; jp < nkp; jp++)
			for (int c = 0; c < 4; c++) {
				int j = 2 * jp;
				__m512 e0 = exp_lite(_mm512_load_ps(St + j * FA_BQ + c * 16), mlg[c]);
				__m512 e1 = j + 1 < nk
				            ? exp_lite(_mm512_load_ps(St + (j + 1) * FA_BQ + c * 16), mlg[c])
				            : _mm512_setzero_ps();
				sum[c] = _mm512_add_ps(sum[c], _mm512_add_ps(e0, e1));
				_mm512_store_si512(P2 + jp * FA_BQ + c * 16, interleave(e0, e1));
			}
		for (int c = 0; c < 4; c++)
			l[c] = _mm512_add_ps(l[c], sum[c]);
		/* Ot[d][i] += sum_jp V2[d][j0/2 + jp] . P2[jp][i] */
		mk_rows(D, Ot, V2h + j0 / 2, Mp, P2, nkp, 1, NULL);
	}
	float inv[FA_BQ] __attribute__((aligned(64)));
	for (int c = 0; c < 4; c++) {
		__mmask16 pos = _mm512_cmp_ps_mask(l[c], _mm512_setzero_ps(), _CMP_GT_OQ);
		_mm512_store_ps(inv + c * 16, _mm512_maskz_div_ps(pos, _mm512_set1_ps(1.0f), l[c]));
	}
	for (int i = 0; i < nq; i++) {
		float *orow = o + (size_t)i * ldo;
		for (int d = 0; d < D; d++)
			orow[d] = Ot[d * FA_BQ + i] * inv[i];
	}
}
#endif

int dc_attention_bf16_hw(int D)
{
#ifdef DC_ATT_BF16
	return D >= 1 && D <= FA_DMAX && dc_bf16_hw();
#else
	(void)D;
	return 0;
#endif
}

void dc_attention_forward_bf16(float *out, int ldo,
                               const float *q, int ldq, const float *k, int ldk,
                               const float *v, int ldv,
                               int N, int M, int H, int D, float scale,
                               const float *mask, const unsigned char *key_valid,
                               void *scratch)
{
	if (N <= 0 || H <= 0 || D <= 0)
		return;
	if (!scratch || M <= 0 || !dc_attention_bf16_hw(D)) {
		dc_attention_forward(out, ldo, q, ldq, k, ldk, v, ldv, N, M, H, D, scale, mask,
		                     key_valid);
		return;
	}
#ifdef DC_ATT_BF16
	if (!(scale > 0.0f))
		scale = 1.0f / sqrtf((float)D);
	uint32_t *K2 = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
	uint32_t *V2 = K2 + (size_t)H * M * (((size_t)D + 1) / 2);
	convert_kv(K2, V2, k, ldk, v, ldv, M, H, D);
	size_t Dp = ((size_t)D + 1) / 2, Mp = ((size_t)M + 1) / 2;
	int nqt = (N + FA_BQ - 1) / FA_BQ;
	long ntask = (long)H * nqt;
	#pragma omp parallel for num_threads(dc_threads()) schedule(dynamic, 1)
	for (long t = 0; t < ntask; t++) {
		int h = (int)(t / nqt), i0 = (int)(t % nqt) * FA_BQ;
		int nq = N - i0 < FA_BQ ? N - i0 : FA_BQ;
		size_t hc = (size_t)h * D;
		task_bf16(out + (size_t)i0 * ldo + hc, ldo, q + (size_t)i0 * ldq + hc, ldq,
		          K2 + (size_t)h * M * Dp, V2 + (size_t)h * D * Mp, nq, M, D, scale,
		          mask ? mask + (size_t)i0 * M : NULL, key_valid);
	}
#endif
}
