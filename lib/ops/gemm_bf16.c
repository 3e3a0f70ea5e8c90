/*
 * gemm_bf16.c - inference GEMM with bf16 operands and f32 accumulation:
 *   C[m][n] (+)= A[m][k] . W[n][k]^T + bias[n]
 * A is f32 (the activations), rounded to bf16 (nearest even) while it is
 * packed; W (torch nn.Linear layout) is packed once, at model load, into
 * bf16 panels, or stored as int8 with one f32 scale per output row and
 * widened to bf16 panels while the GEMM runs.
 *
 * Packed weights (struct dc_wpack, NR = 64 rows of W per panel, kp = the
 * number of k pairs, ceil(k/2)):
 *   bf16: uint16 data[panel][p][c][2] = bf16(W[panel*64 + c][2p + h])
 *   int8: int8   data[panel][p][c][2] = q, W[n][k] ~ scale[n] * q,
 *         scale[n] = max_k |W[n][k]| / 127, q = round(W / scale) (nearest
 *         even), |q| <= 127; the kernel uses bf16(scale[n] * q)
 * Rows past n and the odd-k pad hold 0.  One k pair of 64 rows is one
 * 128-byte line: the B operand of a vdpbf16ps row x 64 columns.
 *
 * Blocking: a job is a block of at most MCG_MAX = 16 groups of MR = 6 rows
 * of C by at most NP_MAX = 12 W panels (768 columns), with at least 4 jobs
 * a thread (more, smaller blocks when M allows, else more N ranges) and a
 * multiple of the thread count where it can.  For each chunk of KC = 256 k
 * a job packs its A block (bf16 pairs, row-major, 48 KiB on the stack),
 * then for each W panel runs the 6 x 64 micro-kernel over its row groups,
 * so the W micro-panel (KC x 64 x 2 bytes = 32 KiB) stays in L1 while the
 * A rows stream from L2; the job's C block (288 KiB) is read and written
 * once per chunk from L2.  Jobs are shared by dc_threads() OpenMP
 * threads (dynamic schedule); each C element is computed by one job with a
 * fixed k order, so results do not depend on the thread count.  On the Zen
 * 5 build machine the micro-kernel alone runs at 527 GFLOP/s a core (96%
 * of the vdpbf16ps throughput, 550 a core) and whole GEMMs at 75-90% of
 * it: 949 GFLOP/s on 2 threads at 4096x4608x1152, 2.1x BLIS sgemm.
 *
 * Kernels: the AVX512-BF16 micro-kernel keeps 24 zmm accumulators (6 rows x
 * 4 vectors of 16 columns) and 4 W vectors, the A pairs broadcast from
 * memory; it is compiled with a target attribute and chosen at run time
 * (cpuid), so the library still builds and runs on CPUs without the
 * instruction, where portable C computes the same sums in the same order
 * (each vdpbf16ps lane adds the odd product, then the even one; bf16
 * products are exact in f32).  The hardware conversions treat subnormal
 * inputs as zero; the portable ones keep them.
 */
#include "ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 9 : __GNUC__ >= 10)
#define DC_HAVE_BF16_KERNEL 1
#include <cpuid.h>
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

#define NR 64          /* W rows (C columns) per panel */
#define MR 6           /* A rows per micro-kernel call */
#define KC 256         /* k per chunk (even) */
#define KCP (KC / 2)   /* k pairs per chunk: the packed A row stride in dwords */
#define MCG_MAX 16     /* MR-row groups per M block */
#define NP_MAX 12      /* W panels per job: its C block (96 x 768 f32) stays in L2 */

/* ---- CPU dispatch ------------------------------------------------------------- */

static int hw_detected = -1;   /* -1: not yet asked */
static int hw_allowed = 1;

#ifdef DC_HAVE_BF16_KERNEL
static int cpu_has_bf16(void)
{
	unsigned a, b, c, d, a1, b1, c1, d1;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1))   /* OSXSAVE */
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xe6) != 0xe6)    /* XMM, YMM, opmask, ZMM state enabled by the OS */
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	if (!(b >> 16 & 1) || !(b >> 30 & 1) || !(b >> 31 & 1) || a < 1)   /* F, BW, VL */
		return 0;
	__cpuid_count(7, 1, a1, b1, c1, d1);
	return a1 >> 5 & 1;         /* AVX512_BF16 */
}
#endif

int dc_bf16_hw(void)
{
	int d = __atomic_load_n(&hw_detected, __ATOMIC_RELAXED);
	if (d < 0) {
#ifdef DC_HAVE_BF16_KERNEL
		d = cpu_has_bf16();
#else
		d = 0;
#endif
		__atomic_store_n(&hw_detected, d, __ATOMIC_RELAXED);
	}
	return d && __atomic_load_n(&hw_allowed, __ATOMIC_RELAXED);
}

void dc_bf16_allow_hw(int allow)
{
	__atomic_store_n(&hw_allowed, allow != 0, __ATOMIC_RELAXED);
}

/* ---- packed weights ------------------------------------------------------------ */

/* dc_f32_to_bf16, inline: round to nearest even, NaN kept quiet */
static inline uint16_t to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)(u >> 16 | 0x40);
	return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);
}

static size_t elem_bytes(enum dc_precision prec)
{
	return prec == DC_PREC_BF16 ? 2 : 1;
}

size_t dc_wpack_bytes(enum dc_precision prec, int n, int k)
{
	size_t np, e, b;
	if (n < 1 || k < 1 || (prec != DC_PREC_BF16 && prec != DC_PREC_INT8))
		return 0;
	np = ((size_t)n + NR - 1) / NR;
	if (dc_mul_size(np * NR, ((size_t)k + 1) / 2 * 2, &e) ||
	    dc_mul_size(e, elem_bytes(prec), &b))
		return 0;
	return b;
}

enum dc_status dc_wpack_init(struct dc_wpack *w, enum dc_precision prec, int n, int k)
{
	memset(w, 0, sizeof *w);
	size_t bytes = dc_wpack_bytes(prec, n, k);
	if (!bytes)
		return n < 1 || k < 1 || (prec != DC_PREC_BF16 && prec != DC_PREC_INT8)
		       ? dc_fail(DC_EINVAL, "wpack: bad shape %dx%d or precision %d", n, k, (int)prec)
		       : dc_fail(DC_EOVERFLOW, "wpack: %dx%d overflows", n, k);
	w->prec = prec;
	w->n = n;
	w->k = k;
	w->kp = (k + 1) / 2;
	w->np = (n + NR - 1) / NR;
	w->data = dc_calloc(bytes, 1);
	if (prec == DC_PREC_INT8)
		w->scale = dc_calloc((size_t)w->np * NR, sizeof(float));
	if (!w->data || (prec == DC_PREC_INT8 && !w->scale)) {
		dc_wpack_release(w);
		return dc_fail(DC_ENOMEM, "wpack: out of memory (%zu bytes)", bytes);
	}
	return DC_OK;
}

void dc_wpack_release(struct dc_wpack *w)
{
	if (!w)
		return;
	dc_free(w->data);
	dc_free(w->scale);
	memset(w, 0, sizeof *w);
}

/* flat index of element (row r, column kk) */
static size_t wpack_at(const struct dc_wpack *w, int r, int kk)
{
	return (((size_t)(r / NR) * w->kp + (size_t)(kk >> 1)) * NR + (size_t)(r % NR)) * 2 +
	       (size_t)(kk & 1);
}

/* Store one row from f32 values; returns 0, or -1 for a non-finite int8 input. */
static int put_row_f32(struct dc_wpack *w, int r, const float *x)
{
	size_t base = wpack_at(w, r, 0);
	if (w->prec == DC_PREC_BF16) {
		uint16_t *d = (uint16_t *)w->data + base;
		for (int kk = 0; kk < w->k; kk++)
			d[(size_t)(kk >> 1) * NR * 2 + (kk & 1)] = to_bf16(x[kk]);
		return 0;
	}
	float amax = 0.0f;
	for (int kk = 0; kk < w->k; kk++) {
		if (!isfinite(x[kk]))
			return -1;
		amax = fmaxf(amax, fabsf(x[kk]));
	}
	float s = amax / 127.0f;
	int8_t *d = (int8_t *)w->data + base;
	w->scale[r] = s;
	for (int kk = 0; kk < w->k; kk++) {
		float q = s > 0 ? nearbyintf(x[kk] / s) : 0.0f;
		q = q > 127 ? 127 : q < -127 ? -127 : q;
		d[(size_t)(kk >> 1) * NR * 2 + (kk & 1)] = (int8_t)q;
	}
	return 0;
}

static enum dc_status check_rows(const struct dc_wpack *w, int row0, int nrows, size_t ld)
{
	if (!w->data || row0 < 0 || nrows < 0 || row0 > w->n - nrows || ld < (size_t)w->k)
		return dc_fail(DC_EINVAL, "wpack: rows %d..%d (stride %zu) do not fit %dx%d", row0,
		               row0 + nrows, ld, w->n, w->k);
	return DC_OK;
}

static enum dc_status set_rows(struct dc_wpack *w, int row0, int nrows, const void *src,
                               size_t ld, int is_bf16)
{
	enum dc_status s = check_rows(w, row0, nrows, ld);
	if (s)
		return s;
	int bad = 0;
	size_t K = (size_t)w->k;
	/* by panel, so that threads write disjoint lines; each thread converts
	 * one row at a time into its own buffer */
	int p0 = row0 / NR, p1 = nrows ? (row0 + nrows - 1) / NR + 1 : p0;
	#pragma omp parallel num_threads((size_t)nrows * K >= (1u << 18) ? dc_threads() : 1)
	{
		float *row = dc_alloc(K * sizeof(float));
		if (!row)
			__atomic_store_n(&bad, 2, __ATOMIC_RELAXED);
		#pragma omp for schedule(dynamic, 1)
		for (int p = p0; p < p1; p++) {
			int a = p * NR > row0 ? p * NR : row0;
			int b = (p + 1) * NR < row0 + nrows ? (p + 1) * NR : row0 + nrows;
			for (int r = a; r < b && row; r++) {
				const unsigned char *sr = (const unsigned char *)src +
				                          (size_t)(r - row0) * ld * (is_bf16 ? 2 : 4);
				if (is_bf16 && w->prec == DC_PREC_BF16) {
					uint16_t *d = (uint16_t *)w->data + wpack_at(w, r, 0);
					for (size_t kk = 0; kk < K; kk++)
						memcpy(&d[(kk >> 1) * NR * 2 + (kk & 1)], sr + 2 * kk, 2);
					continue;
				}
				if (is_bf16) {
					for (size_t kk = 0; kk < K; kk++) {
						uint16_t h;
						memcpy(&h, sr + 2 * kk, 2);
						row[kk] = dc_bf16_to_f32(h);
					}
				} else {
					memcpy(row, sr, K * sizeof(float));
				}
				if (put_row_f32(w, r, row))
					__atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
			}
		}
		dc_free(row);
	}
	if (bad == 2)
		return dc_fail(DC_ENOMEM, "wpack: out of memory");
	if (bad)
		return dc_fail(DC_EINVAL, "wpack: a weight in rows %d..%d is not finite (int8 "
		               "needs finite weights)", row0, row0 + nrows - 1);
	return DC_OK;
}

enum dc_status dc_wpack_set_f32(struct dc_wpack *w, int row0, int nrows, const float *src,
                                size_t ld)
{
	return set_rows(w, row0, nrows, src, ld, 0);
}

enum dc_status dc_wpack_set_bf16(struct dc_wpack *w, int row0, int nrows, const void *src,
                                 size_t ld)
{
	return set_rows(w, row0, nrows, src, ld, 1);
}

void dc_wpack_get_f32(const struct dc_wpack *w, int row, float *dst)
{
	for (int kk = 0; kk < w->k; kk++) {
		size_t i = wpack_at(w, row, kk);
		if (w->prec == DC_PREC_BF16)
			dst[kk] = dc_bf16_to_f32(((const uint16_t *)w->data)[i]);
		else
			dst[kk] = w->scale[row] * (float)((const int8_t *)w->data)[i];
	}
}

/* ---- portable kernels ------------------------------------------------------------- */

/* A rows [r0, r0+nr) x k [k0, k0+kc) -> bf16 pairs a[r][p] (stride KCP
 * dwords), rows nr..nrows-1 zero. */
static void pack_a_c(uint32_t *a, const float *A, int lda, int r0, int nr, int nrows,
                     int k0, int kc)
{
	int kcp = (kc + 1) / 2;
	for (int r = 0; r < nrows; r++) {
		uint32_t *d = a + (size_t)r * KCP;
		if (r >= nr) {
			memset(d, 0, (size_t)kcp * 4);
			continue;
		}
		const float *s = A + (size_t)(r0 + r) * lda + k0;
		for (int p = 0; p < kcp; p++) {
			uint32_t lo = to_bf16(s[2 * p]);
			uint32_t hi = 2 * p + 1 < kc ? to_bf16(s[2 * p + 1]) : 0;
			d[p] = lo | hi << 16;
		}
	}
}

/* int8 panel chunk (kcp pairs from pair p0) -> bf16(scale * q) */
static void widen_c(uint16_t *b, const int8_t *q, const float *scale, int kcp)
{
	for (int p = 0; p < kcp; p++)
		for (int c = 0; c < NR; c++)
			for (int h = 0; h < 2; h++)
				b[(p * NR + c) * 2 + h] =
					to_bf16(scale[c] * (float)q[(p * NR + c) * 2 + h]);
}

static float bf(uint32_t h)
{
	return dc_bf16_to_f32((uint16_t)h);
}

/*
 * c[mr][nr] (ldc) = (load_c ? c : 0) + (bias ? bias : 0) + a . b over kcp
 * pairs; a: MR rows of packed pairs (stride KCP), b: [kcp][NR][2].
 */
static void ukr_c(int kcp, const uint32_t *a, const uint16_t *b, float *c, int ldc, int mr,
                  int nr, const float *bias, int load_c)
{
	float acc[MR][NR];
	for (int r = 0; r < MR; r++)
		for (int j = 0; j < NR; j++)
			acc[r][j] = (load_c && r < mr && j < nr ? c[(size_t)r * ldc + j] : 0.0f) +
			            (bias && j < nr ? bias[j] : 0.0f);
	for (int p = 0; p < kcp; p++) {
		const uint16_t *bp = b + (size_t)p * NR * 2;
		for (int r = 0; r < MR; r++) {
			uint32_t ap = a[(size_t)r * KCP + p];
			float a0 = bf(ap & 0xffff), a1 = bf(ap >> 16);
			for (int j = 0; j < NR; j++) {
				float t = acc[r][j] + a1 * bf(bp[2 * j + 1]);
				acc[r][j] = t + a0 * bf(bp[2 * j]);
			}
		}
	}
	for (int r = 0; r < mr; r++)
		for (int j = 0; j < nr; j++)
			c[(size_t)r * ldc + j] = acc[r][j];
}

/* ---- AVX512-BF16 kernels ---------------------------------------------------------- */

#ifdef DC_HAVE_BF16_KERNEL
BF16_TARGET static void pack_a_hw(uint32_t *a, const float *A, int lda, int r0, int nr,
                                  int nrows, int k0, int kc)
{
	int kcp = (kc + 1) / 2;
	for (int r = 0; r < nrows; r++) {
		uint32_t *d = a + (size_t)r * KCP;
		if (r >= nr) {
			memset(d, 0, (size_t)kcp * 4);
			continue;
		}
		const float *s = A + (size_t)(r0 + r) * lda + k0;
		int kk = 0;
		for (; kk + 32 <= kc; kk += 32) {
			__m512 lo = _mm512_loadu_ps(s + kk), hi = _mm512_loadu_ps(s + kk + 16);
			_mm512_storeu_si512(d + kk / 2, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
		}
		if (kk < kc) {
			int rem = kc - kk;
			__mmask16 ml = (__mmask16)(rem >= 16 ? 0xffff : (1u << rem) - 1);
			__mmask16 mh = (__mmask16)(rem > 16 ? (1u << (rem - 16)) - 1 : 0);
			__m512 lo = _mm512_maskz_loadu_ps(ml, s + kk);
			__m512 hi = _mm512_maskz_loadu_ps(mh, s + kk + 16);
			int np = (rem + 1) / 2;
			_mm512_mask_storeu_epi32(d + kk / 2, (__mmask16)((1u << np) - 1),
			                         (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
		}
	}
}

BF16_TARGET static void widen_hw(uint16_t *b, const int8_t *q, const float *scale, int kcp)
{
	/* one pair line: 128 int8 = columns c 0..63 x 2; 16 int8 = 8 columns */
	__m512 sv[8];
	for (int v = 0; v < 8; v++) {
		__m256 s8 = _mm256_loadu_ps(scale + 8 * v);
		/* s0 s0 s1 s1 ... s7 s7 */
		__m512 s16 = _mm512_castps256_ps512(s8);
		sv[v] = _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2,
		                                               1, 1, 0, 0), s16);
	}
	for (int p = 0; p < kcp; p++) {
		const int8_t *qp = q + (size_t)p * NR * 2;
		uint16_t *bp = b + (size_t)p * NR * 2;
		for (int v = 0; v < 8; v += 2) {
			__m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
				_mm_loadu_si128((const __m128i *)(qp + 16 * v))));
			__m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
				_mm_loadu_si128((const __m128i *)(qp + 16 * v + 16))));
			lo = _mm512_mul_ps(lo, sv[v]);
			hi = _mm512_mul_ps(hi, sv[v + 1]);
			_mm512_store_si512(bp + 16 * v, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
		}
	}
}

BF16_TARGET static void ukr_hw(int kcp, const uint32_t *a, const uint16_t *b, float *c, int ldc,
                               int mr, int nr, const float *bias, int load_c)
{
	__m512 acc[MR][4];
	__mmask16 mk[4];
	for (int v = 0; v < 4; v++) {
		int left = nr - 16 * v;
		mk[v] = (__mmask16)(left >= 16 ? 0xffff : left <= 0 ? 0 : (1u << left) - 1);
	}
	__m512 bv[4];
	for (int v = 0; v < 4; v++)
		bv[v] = bias ? _mm512_maskz_loadu_ps(mk[v], bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
		for (int v = 0; v < 4; v++)
			acc[r][v] = load_c && r < mr
			            ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], c + (size_t)r * ldc + 16 * v), bv[v])
			            : bv[v];
	const uint32_t *a0 = a, *a1 = a + KCP, *a2 = a + 2 * KCP, *a3 = a + 3 * KCP,
	               *a4 = a + 4 * KCP, *a5 = a + 5 * KCP;
	for (int p = 0; p < kcp; p++) {
		const uint16_t *bp = b + (size_t)p * NR * 2;
		__m512bh b0 = (__m512bh)_mm512_load_si512(bp);
		__m512bh b1 = (__m512bh)_mm512_load_si512(bp + 32);
		__m512bh b2 = (__m512bh)_mm512_load_si512(bp + 64);
		__m512bh b3 = (__m512bh)_mm512_load_si512(bp + 96);
#define ROW(r, ap) do { \
		__m512bh x = (__m512bh)_mm512_set1_epi32((int)ap[p]); \
		acc[r][0] = _mm512_dpbf16_ps(acc[r][0], b0, x); \
		acc[r][1] = _mm512_dpbf16_ps(acc[r][1], b1, x); \
		acc[r][2] = _mm512_dpbf16_ps(acc[r][2], b2, x); \
		acc[r][3] = _mm512_dpbf16_ps(acc[r][3], b3, x); } while (0)
		ROW(0, a0); ROW(1, a1); ROW(2, a2); ROW(3, a3); ROW(4, a4); ROW(5, a5);
#undef ROW
	}
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++)
		if (r < mr)
#pragma GCC unroll 4
			for (int v = 0; v < 4; v++)
				_mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, mk[v], acc[r][v]);
}
#endif

/* ---- the GEMM ------------------------------------------------------------------------ */

struct plan {
	int m, n, k, mg, mb, nb;
};

static void run_job(const struct plan *pl, int job, float *C, int ldc, const float *A, int lda,
                    const struct dc_wpack *W, const float *bias, int accumulate, int hw)
{
	uint32_t abuf[MCG_MAX * MR * KCP] __attribute__((aligned(64)));
	uint16_t bbuf[KCP * NR * 2] __attribute__((aligned(64)));
	int ib = job / pl->nb, jb = job % pl->nb;
	int g0 = (int)((long)ib * pl->mg / pl->mb), g1 = (int)((long)(ib + 1) * pl->mg / pl->mb);
	int p0 = (int)((long)jb * W->np / pl->nb), p1 = (int)((long)(jb + 1) * W->np / pl->nb);
	int r0 = g0 * MR, rows = (g1 - g0) * MR;
	int nr_valid = pl->m - r0 < rows ? pl->m - r0 : rows;
	for (int k0 = 0; k0 < pl->k; k0 += KC) {
		int kc = pl->k - k0 < KC ? pl->k - k0 : KC, kcp = (kc + 1) / 2;
#ifdef DC_HAVE_BF16_KERNEL
		if (hw)
			pack_a_hw(abuf, A, lda, r0, nr_valid, rows, k0, kc);
		else
#endif
			pack_a_c(abuf, A, lda, r0, nr_valid, rows, k0, kc);
		for (int pn = p0; pn < p1; pn++) {
			size_t off = ((size_t)pn * W->kp + (size_t)(k0 / 2)) * NR * 2;
			const uint16_t *bp;
			if (W->prec == DC_PREC_BF16) {
				bp = (const uint16_t *)W->data + off;
			} else {
				const int8_t *q = (const int8_t *)W->data + off;
#ifdef DC_HAVE_BF16_KERNEL
				if (hw)
					widen_hw(bbuf, q, W->scale + (size_t)pn * NR, kcp);
				else
#endif
					widen_c(bbuf, q, W->scale + (size_t)pn * NR, kcp);
				bp = bbuf;
			}
			int nr = pl->n - pn * NR < NR ? pl->n - pn * NR : NR;
			const float *bb = bias && k0 == 0 ? bias + (size_t)pn * NR : NULL;
			int load_c = accumulate || k0 > 0;
			for (int g = g0; g < g1; g++) {
				int mr = pl->m - g * MR < MR ? pl->m - g * MR : MR;
				const uint32_t *ap = abuf + (size_t)(g - g0) * MR * KCP;
				float *cp = C + (size_t)g * MR * ldc + (size_t)pn * NR;
#ifdef DC_HAVE_BF16_KERNEL
				if (hw)
					ukr_hw(kcp, ap, bp, cp, ldc, mr, nr, bb, load_c);
				else
#endif
					ukr_c(kcp, ap, bp, cp, ldc, mr, nr, bb, load_c);
			}
		}
	}
}

void dc_gemm_wpack(float *C, int ldc, const float *A, int lda, const struct dc_wpack *W,
                   const float *bias, int m, int accumulate, int nthreads)
{
	if (m <= 0 || !W || !W->data)
		return;
	struct plan pl = { .m = m, .n = W->n, .k = W->k };
	int nt = nthreads > 0 ? nthreads : dc_threads();
	if ((double)m * W->n * W->k < (double)(1 << 21))
		nt = 1;
	pl.mg = (m + MR - 1) / MR;
	pl.mb = (pl.mg + MCG_MAX - 1) / MCG_MAX;
	pl.nb = (W->np + NP_MAX - 1) / NP_MAX;
	if (nt > 1) {
		/* at least 4 jobs a thread: smaller M blocks, then more N ranges */
		int want = 4 * nt;
		if (pl.mb * pl.nb < want) {
			int mb = (want + pl.nb - 1) / pl.nb;
			pl.mb = mb < pl.mg ? mb : pl.mg;
		}
		if (pl.mb * pl.nb < want) {
			int nb = (want + pl.mb - 1) / pl.mb;
			pl.nb = nb < W->np ? nb : W->np;
		}
		/* a multiple of the threads, so that equal jobs split evenly */
		for (int mb = pl.mb; mb <= pl.mg && mb < pl.mb + nt; mb++)
			if (mb * pl.nb % nt == 0) {
				pl.mb = mb;
				break;
			}
	}
	int hw = dc_bf16_hw(), jobs = pl.mb * pl.nb;
	if (nt > jobs)
		nt = jobs;
	#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
	for (int j = 0; j < jobs; j++)
		run_job(&pl, j, C, ldc, A, lda, W, bias, accumulate, hw);
}
