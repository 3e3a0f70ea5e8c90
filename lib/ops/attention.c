/*
 * attention.c - multi-head scaled dot-product attention with memory
 * O(N*D): flash-attention style tiling with an online softmax.
 *
 * Work is split into (head, block of ATT_BQ queries) tasks run in parallel
 * over dc_threads() OpenMP threads (dynamic schedule).  A task walks the keys
 * in tiles, keeping per query a running max m and sum l:
 *   S = scale * Q_tile . K_tile^T (+ mask; key_valid == 0 -> -inf)
 *   m' = max(m, rowmax S); P = exp(S - m'); l = l*exp(m - m') + rowsum P;
 *   O = O*exp(m - m') + P . V_tile
 * and finally O /= l; rows with l == 0 (every key masked) give zeros.
 *
 * Two implementations of a task:
 *  - AVX-512 (compiled with AVX-512F and D <= FA_DMAX = 128): hand-written
 *    6x64 FMA micro-kernels with 64 queries in the lanes of 4 zmm registers
 *    (see attn_task_avx512); ~210 GFLOP/s per core on the Zen 5 build
 *    machine, about 75% of its AVX-512 FMA peak.
 *  - portable: dc_sgemm (BLIS, 1 thread) for both products, the score tile
 *    ATT_BQ x ATT_BK and O accumulated in the task's own block of `out`.
 * Scratch lives on the thread's stack (at most ~100 KiB), so the kernel never
 * allocates.  `out` must not overlap q, k or v.  Each task's arithmetic is
 * independent of the thread count, so results are bitwise identical for any
 * dc_threads().
 */
#include "ops.h"
#include "vexp.h"

#include <math.h>
#include <string.h>

#define ATT_BQ 64    /* query rows per task */
#define ATT_BK 256   /* keys per inner tile */

/* max of s[0..n), -INFINITY for an all -inf row (NaNs are skipped) */
static float row_max(const float *s, int n)
{
	int j = 0;
	float m = -INFINITY;
#ifdef __AVX512F__
	__m512 vm = _mm512_set1_ps(-INFINITY);
	for (; j + 16 <= n; j += 16)
		vm = _mm512_max_ps(_mm512_loadu_ps(s + j), vm);
	if (j < n) {
		__mmask16 k = (__mmask16)((1u << (n - j)) - 1);
		vm = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, s + j), vm);
		j = n;
	}
	m = _mm512_reduce_max_ps(vm);
#endif
	for (; j < n; j++)
		if (s[j] > m)
			m = s[j];
	return m;
}

/* s[j] = exp(s[j] - m) for j < n; returns the sum of the new s */
static float row_exp_sum(float *s, int n, float m)
{
	int j = 0;
	float sum = 0.0f;
#ifdef __AVX512F__
	__m512 vm = _mm512_set1_ps(m), acc = _mm512_setzero_ps();
	for (; j + 16 <= n; j += 16) {
		__m512 e = dc_vexp_avx512(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm));
		_mm512_storeu_ps(s + j, e);
		acc = _mm512_add_ps(acc, e);
	}
	if (j < n) {
		__mmask16 k = (__mmask16)((1u << (n - j)) - 1);
		__m512 e = dc_vexp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), vm));
		e = _mm512_maskz_mov_ps(k, e);
		_mm512_mask_storeu_ps(s + j, k, e);
		acc = _mm512_add_ps(acc, e);
		j = n;
	}
	sum = _mm512_reduce_add_ps(acc);
#endif
	for (; j < n; j++) {
		s[j] = dc_vexp_scalar(s[j] - m);
		sum += s[j];
	}
	return sum;
}

static void row_scale(float *o, int n, float a)
{
	for (int j = 0; j < n; j++)
		o[j] *= a;
}

/* One (head, query tile) task: out block o[nq][D] (row stride ldo). */
static __attribute__((noinline)) void
attn_task_blas(float *o, int ldo, const float *q, int ldq,
               const float *k, int ldk, const float *v, int ldv,
               int nq, int M, int D, float scale,
               const float *mask, const unsigned char *key_valid)
{
	float S[ATT_BQ * ATT_BK];
	float mrow[ATT_BQ], lrow[ATT_BQ];

	for (int i = 0; i < nq; i++) {
		memset(o + (size_t)i * ldo, 0, (size_t)D * sizeof(float));
		mrow[i] = -INFINITY;
		lrow[i] = 0.0f;
	}
	for (int j0 = 0; j0 < M; j0 += ATT_BK) {
		int nk = M - j0 < ATT_BK ? M - j0 : ATT_BK;
		const unsigned char *kv = key_valid ? key_valid + j0 : NULL;
		if (kv) {
			int any = 0;
			for (int j = 0; j < nk && !any; j++)
				any = kv[j] != 0;
			if (!any)
				continue;
		}
		dc_sgemm(0, 1, nq, nk, D, scale, q, ldq, k + (size_t)j0 * ldk, ldk,
		         0.0f, S, ATT_BK, 1);
		for (int i = 0; i < nq; i++) {
			float *s = S + (size_t)i * ATT_BK;
			if (mask) {
				const float *mr = mask + (size_t)i * M + j0;
				for (int j = 0; j < nk; j++)
					s[j] += mr[j];
			}
			if (kv)
				for (int j = 0; j < nk; j++)
					if (!kv[j])
						s[j] = -INFINITY;
			float mx = row_max(s, nk);
			if (mx == -INFINITY) {   /* nothing visible in this tile */
				memset(s, 0, (size_t)nk * sizeof(float));
				continue;
			}
			float mold = mrow[i], mnew = mx > mold ? mx : mold;
			float sum = row_exp_sum(s, nk, mnew);
			if (mnew != mold) {
				float a = expf(mold - mnew);
				lrow[i] *= a;
				if (lrow[i] != 0.0f)
					row_scale(o + (size_t)i * ldo, D, a);
				mrow[i] = mnew;
			}
			lrow[i] += sum;
		}
		dc_sgemm(0, 0, nq, D, nk, 1.0f, S, ATT_BK, v + (size_t)j0 * ldv, ldv,
		         1.0f, o, ldo, 1);
	}
	for (int i = 0; i < nq; i++) {
		float *orow = o + (size_t)i * ldo;
		if (lrow[i] > 0.0f)
			row_scale(orow, D, 1.0f / lrow[i]);
		else
			memset(orow, 0, (size_t)D * sizeof(float));
	}
}

#ifdef __AVX512F__
/*
 * AVX-512 path (D <= FA_DMAX).  A task handles FA_BQ = 64 queries as the 16
 * lanes of 4 zmm registers, so every per-query quantity (running max, sum,
 * rescale) is a vector and nothing is transposed in the inner loops:
 *   Qt[d][i]  = scale * q[i][d]           packed once per task, zero padded
 *   St[j][i]  = sum_d k[j][d] Qt[d][i]    mk_tile: broadcast k, 6 x 64 block
 *   St        = exp(St - m)               online softmax, per lane
 *   Ot[d][i] += sum_j v[j][d] St[j][i]    mk_tile: broadcast v, 6 x 64 block
 * and out[i][d] = Ot[d][i] / l[i] at the end.  Scratch: Qt and Ot
 * (FA_DMAX x 64 floats each) and St (FA_BK x 64) on the stack, 96 KiB.
 */
#define FA_BQ 64
#define FA_BK 132     /* keys per tile, a multiple of the 6-row block */
#define FA_DMAX 128

/* c[r][0:64] (=|+=) sum_{p<K} a[r*rs + p*ps] * b[p][0:64], r < R <= 6;
 * if mx, also mx[0..3] = max(mx, c[r][16*i..]) over the rows */
static inline __attribute__((always_inline)) void
mk_tile(int R, float *restrict c, const float *restrict a, size_t rs, size_t ps,
        const float *restrict b, int K, int acc, __m512 *mx)
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
	for (int p = 0; p < K; p++) {
		const float *bp = b + (size_t)p * 64;
		__m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
		__m512 b2 = _mm512_loadu_ps(bp + 32), b3 = _mm512_loadu_ps(bp + 48);
		const float *ap = a + (size_t)p * ps;
#pragma GCC unroll 6
		for (int r = 0; r < 6; r++)
			if (r < R) {
				__m512 av = _mm512_set1_ps(ap[r * rs]);
				c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
				c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
				c2[r] = _mm512_fmadd_ps(av, b2, c2[r]);
				c3[r] = _mm512_fmadd_ps(av, b3, c3[r]);
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

/* c[nr][64] over all rows, in blocks of 6 (one switch for the tail) */
static inline __attribute__((always_inline)) void
mk_rows(int nr, float *c, const float *a, size_t rs, size_t ps,
        const float *b, int K, int acc, __m512 *mx)
{
	int r = 0;
	for (; r + 6 <= nr; r += 6)
		mk_tile(6, c + (size_t)r * 64, a + r * rs, rs, ps, b, K, acc, mx);
	c += (size_t)r * 64;
	a += r * rs;
	switch (nr - r) {
	case 5: mk_tile(5, c, a, rs, ps, b, K, acc, mx); break;
	case 4: mk_tile(4, c, a, rs, ps, b, K, acc, mx); break;
	case 3: mk_tile(3, c, a, rs, ps, b, K, acc, mx); break;
	case 2: mk_tile(2, c, a, rs, ps, b, K, acc, mx); break;
	case 1: mk_tile(1, c, a, rs, ps, b, K, acc, mx); break;
	default: break;
	}
}

static __attribute__((noinline)) void
attn_task_avx512(float *o, int ldo, const float *q, int ldq,
                 const float *k, int ldk, const float *v, int ldv,
                 int nq, int M, int D, float scale,
                 const float *mask, const unsigned char *key_valid)
{
	float Qt[FA_DMAX * FA_BQ] __attribute__((aligned(64)));
	float Ot[FA_DMAX * FA_BQ] __attribute__((aligned(64)));
	float St[FA_BK * FA_BQ] __attribute__((aligned(64)));
	const __m512 ninf = _mm512_set1_ps(-INFINITY);
	__m512 m[4], l[4];

	for (int d = 0; d < D; d++)
		for (int i = 0; i < FA_BQ; i++)
			Qt[d * FA_BQ + i] = i < nq ? q[(size_t)i * ldq + d] * scale : 0.0f;
	memset(Ot, 0, (size_t)D * FA_BQ * sizeof(float));
	for (int c = 0; c < 4; c++) {
		m[c] = ninf;
		l[c] = _mm512_setzero_ps();
	}
	for (int j0 = 0; j0 < M; j0 += FA_BK) {
		int nk = M - j0 < FA_BK ? M - j0 : FA_BK;
		const unsigned char *kv = key_valid ? key_valid + j0 : NULL;
		if (kv) {
			int any = 0;
			for (int j = 0; j < nk && !any; j++)
				any = kv[j] != 0;
			if (!any)
				continue;
		}
		/* St[j][i] = sum_d k[j0+j][d] * Qt[d][i] */
		__m512 mt[4] = { ninf, ninf, ninf, ninf }, ms[4], sum[4];
		mk_rows(nk, St, k + (size_t)j0 * ldk, (size_t)ldk, 1, Qt, D, 0,
		        mask || kv ? NULL : mt);
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
		/* online softmax, 64 queries in 4 vectors */
		if (mask || kv)   /* else the micro-kernel took the max */
			for (int j = 0; j < nk; j++)
				for (int c = 0; c < 4; c++)
					mt[c] = _mm512_max_ps(_mm512_loadu_ps(St + j * FA_BQ + c * 16),
					                      mt[c]);
		for (int c = 0; c < 4; c++) {
			__m512 mn = _mm512_max_ps(mt[c], m[c]);
			/* lanes that have seen nothing yet subtract 0, not -inf */
			ms[c] = _mm512_mask_mov_ps(mn, _mm512_cmp_ps_mask(mn, ninf, _CMP_EQ_OQ),
			                           _mm512_setzero_ps());
			__m512 alpha = dc_vexp_avx512(_mm512_sub_ps(m[c], ms[c]));
			l[c] = _mm512_mul_ps(l[c], alpha);
			for (int d = 0; d < D; d++) {
				float *op = Ot + d * FA_BQ + c * 16;
				_mm512_store_ps(op, _mm512_mul_ps(_mm512_load_ps(op), alpha));
			}
			m[c] = mn;
			sum[c] = _mm512_setzero_ps();
		}
		for (int j = 0; j < nk; j++)
			for (int c = 0; c < 4; c++) {
				float *sp = St + j * FA_BQ + c * 16;
				__m512 e = dc_vexp_avx512_nonpos(_mm512_sub_ps(_mm512_load_ps(sp), ms[c]));
				_mm512_store_ps(sp, e);
				sum[c] = _mm512_add_ps(sum[c], e);
			}
		for (int c = 0; c < 4; c++)
			l[c] = _mm512_add_ps(l[c], sum[c]);
		/* Ot[d][i] += sum_j v[j0+j][d] * St[j][i] */
		mk_rows(D, Ot, v + (size_t)j0 * ldv, 1, (size_t)ldv, St, nk, 1, NULL);
	}
	float inv[FA_BQ] __attribute__((aligned(64)));
	for (int c = 0; c < 4; c++) {
		__mmask16 pos = _mm512_cmp_ps_mask(l[c], _mm512_setzero_ps(), _CMP_GT_OQ);
		_mm512_store_ps(inv + c * 16,
		                _mm512_maskz_div_ps(pos, _mm512_set1_ps(1.0f), l[c]));
	}
	for (int i = 0; i < nq; i++) {
		float *orow = o + (size_t)i * ldo;
		for (int d = 0; d < D; d++)
			orow[d] = Ot[d * FA_BQ + i] * inv[i];
	}
}
#endif

/* One (head, query tile) task; the query tile is ATT_BQ rows. */
static void attn_task(float *o, int ldo, const float *q, int ldq,
                      const float *k, int ldk, const float *v, int ldv,
                      int nq, int M, int D, float scale,
                      const float *mask, const unsigned char *key_valid)
{
#ifdef __AVX512F__
	if (D <= FA_DMAX) {
		for (int i0 = 0; i0 < nq; i0 += FA_BQ) {
			int n = nq - i0 < FA_BQ ? nq - i0 : FA_BQ;
			attn_task_avx512(o + (size_t)i0 * ldo, ldo, q + (size_t)i0 * ldq, ldq,
			                 k, ldk, v, ldv, n, M, D, scale,
			                 mask ? mask + (size_t)i0 * M : NULL, key_valid);
		}
		return;
	}
#endif
	attn_task_blas(o, ldo, q, ldq, k, ldk, v, ldv, nq, M, D, scale, mask, key_valid);
}

void dc_attention_forward(float *out, int ldo,
                          const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv,
                          int N, int M, int H, int D, float scale,
                          const float *mask, const unsigned char *key_valid)
{
	if (N <= 0 || H <= 0 || D <= 0)
		return;
	if (!(scale > 0.0f))
		scale = 1.0f / sqrtf((float)D);
	int nqt = (N + ATT_BQ - 1) / ATT_BQ;
	long ntask = (long)H * nqt;

#pragma omp parallel for num_threads(dc_threads()) schedule(dynamic, 1)
	for (long t = 0; t < ntask; t++) {
		int h = (int)(t / nqt), i0 = (int)(t % nqt) * ATT_BQ;
		int nq = N - i0 < ATT_BQ ? N - i0 : ATT_BQ;
		size_t hc = (size_t)h * D;
		attn_task(out + (size_t)i0 * ldo + hc, ldo,
		          q + (size_t)i0 * ldq + hc, ldq, k + hc, ldk, v + hc, ldv,
		          nq, M, D, scale, mask ? mask + (size_t)i0 * M : NULL, key_valid);
	}
}
