/*
 * test_gemm_bf16.c - the bf16 / int8 packed-weight GEMM (lib/ops/gemm_bf16.c)
 * and PixArt's reduced-precision blocks (dc_pixart_set_precision).
 *
 * GEMM: against a double-precision reference over odd sizes (M, N, K not
 * multiples of the 6 x 64 tile or the 256-k chunk, K odd, strided A and C,
 * bias, accumulate).  The reference sums the bf16-rounded operands, so the
 * only error left is f32 summation: |d| <= (K+2) 2^-24 (sum|a w| + |c0| +
 * |bias|), the textbook bound for recursive summation (bf16 products are
 * exact in f32).  Rounding is checked against torch's bf16 conversion (a
 * table of torch 1.13 results: round to nearest even, overflow to inf),
 * int8 against its definition (|w - s q| <= s/2, s = max|w|/127), the
 * portable C path against the AVX512-BF16 kernel, and thread counts
 * against each other (bitwise).
 *
 * PixArt: the golden models of tests/golden/pixart (make_pixart.py, float64
 * reference) run in bf16 and int8 (linear layers and attention products);
 * tolerances, from the measured errors (bf16: max |d| 0.21-0.50% of max
 * |ref|, RMS 0.18-0.36% of RMS(ref); int8: 0.78-1.10%, 0.45-0.83%) with
 * 2.4x headroom or more: max |d| <= 1.5% (bf16) / 3% (int8) of max |ref|
 * and RMS(d) <= 1% / 2% of RMS(ref).  Blocks stored bf16 in the checkpoint
 * pack bit for bit like the f32 ones rounded, and the control blocks run
 * packed too.
 *
 * bf16 attention: against a double reference, max |d| <= 1% of max |ref|
 * (measured 0.2-0.5%: bf16 q, k, v and probabilities), and it must differ
 * from the f32 kernel by more than 4x the f32 kernel's own error, so that
 * the test cannot pass on the f32 fallback where bf16 is claimed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "ops/ops.h"
#include "models/pixart.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float urand(void)   /* uniform [-1, 1) */
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

static double bfd(float x)
{
	return dc_bf16_to_f32(dc_f32_to_bf16(x));
}

/*
 * One GEMM case: C0 guard-filled, C = (acc ? C0 : 0) + A . W^T + bias with
 * lda = k + 3, ldc = n + 5.  Checks the bound above and that the padding
 * columns of C are untouched.  Returns max |d| / (sum|a w| + ...) in *rel
 * and fills *out (m x n, compact) when asked.
 */
static void gemm_case(enum dc_precision prec, int m, int n, int k, int acc, int use_bias,
                      int nthreads, float *out)
{
	int lda = k + 3, ldc = n + 5;
	float *A = malloc((size_t)m * lda * sizeof *A), *W = malloc((size_t)n * k * sizeof *W);
	float *C = malloc((size_t)m * ldc * sizeof *C), *C0 = malloc((size_t)m * ldc * sizeof *C0);
	float *bias = malloc((size_t)n * sizeof *bias), *wq = malloc((size_t)k * sizeof *wq);
	double *Wd = malloc((size_t)n * k * sizeof *Wd);
	for (size_t i = 0; i < (size_t)m * lda; i++)
		A[i] = urand();
	for (int r = 0; r < n; r++)   /* rows of very different scale */
		for (int c = 0; c < k; c++)
			W[(size_t)r * k + c] = urand() * (float)(1 + r % 7) * 0.25f;
	for (int j = 0; j < n; j++)
		bias[j] = urand();
	for (size_t i = 0; i < (size_t)m * ldc; i++)
		C0[i] = (i % ldc) < (size_t)n ? urand() : 12345.0f;
	memcpy(C, C0, (size_t)m * ldc * sizeof *C);
	struct dc_wpack w;
	if (dc_wpack_init(&w, prec, n, k) || dc_wpack_set_f32(&w, 0, n, W, k)) {
		T_FAILED("pack: %s", dc_errmsg());
		goto out;
	}
	for (int r = 0; r < n; r++) {
		dc_wpack_get_f32(&w, r, wq);
		for (int c = 0; c < k; c++)
			Wd[(size_t)r * k + c] = prec == DC_PREC_BF16 ? wq[c] : bfd(wq[c]);
	}
	dc_gemm_wpack(C, ldc, A, lda, &w, use_bias ? bias : NULL, m, acc, nthreads);
	double worst = 0, worst_f32 = 0;
	size_t bad = 0, guard = 0;
	for (int i = 0; i < m; i++) {
		for (int j = 0; j < n; j++) {
			double s = 0, sa = 0, sf = 0;
			for (int c = 0; c < k; c++) {
				double p = bfd(A[(size_t)i * lda + c]) * Wd[(size_t)j * k + c];
				s += p;
				sa += fabs(p);
				sf += (double)A[(size_t)i * lda + c] * W[(size_t)j * k + c];
			}
			double c0 = acc ? C0[(size_t)i * ldc + j] : 0, b = use_bias ? bias[j] : 0;
			s += c0 + b;
			sf += c0 + b;
			sa += fabs(c0) + fabs(b);
			double got = C[(size_t)i * ldc + j], d = fabs(got - s);
			if (!(d <= (k + 2) * ldexp(1.0, -24) * sa))
				bad++;
			if (d / sa > worst || d != d)
				worst = d / sa;
			if (fabs(got - sf) / sa > worst_f32)
				worst_f32 = fabs(got - sf) / sa;
			if (out)
				out[(size_t)i * n + j] = (float)got;
		}
		for (int j = n; j < ldc; j++)
			guard += C[(size_t)i * ldc + j] != 12345.0f;
	}
	printf("# %s %dx%dx%d acc %d bias %d threads %d: max |d|/sum|aw| %.3g vs the bf16 "
	       "operands (bound %.3g), %.3g vs f32\n", prec == DC_PREC_BF16 ? "bf16" : "int8", m,
	       n, k, acc, use_bias, nthreads, worst, (k + 2) * ldexp(1.0, -24), worst_f32);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(guard, 0);
	/* it really is reduced precision: f32 would be within ~k 2^-24 */
	if (k >= 8)
		CHECK(worst_f32 > 1e-5);
out:
	dc_wpack_release(&w);
	free(A); free(W); free(C); free(C0); free(bias); free(wq); free(Wd);
}

static const int sizes[][3] = {
	{ 1, 1, 1 }, { 7, 65, 33 }, { 13, 130, 257 }, { 6, 64, 256 }, { 50, 64, 300 },
	{ 97, 200, 515 }, { 130, 129, 1 }, { 31, 3, 1031 }, { 200, 70, 64 },
};

TEST(gemm_vs_double_reference)
{
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		gemm_case(DC_PREC_BF16, sizes[i][0], sizes[i][1], sizes[i][2], (int)(i & 1),
		          (int)(i % 3 != 0), 0, NULL);
	/* the large-M path: many jobs over both threads */
	gemm_case(DC_PREC_BF16, 301, 190, 77, 1, 1, 2, NULL);
}

TEST(int8_gemm_vs_double_reference)
{
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		gemm_case(DC_PREC_INT8, sizes[i][0], sizes[i][1], sizes[i][2], (int)(i & 1),
		          (int)(i % 2 == 0), 0, NULL);
}

/* torch 1.13: torch.from_numpy(np.array(bits, np.uint32).view(np.float32)).bfloat16() */
static const struct { uint32_t in; uint16_t out; } torch_bf16[] = {
	{ 0x3f808000, 0x3f80 }, { 0x3f818000, 0x3f82 }, { 0x3f808001, 0x3f81 },
	{ 0xbf808000, 0xbf80 }, { 0xbf818000, 0xbf82 }, { 0x3fffc000, 0x4000 },
	{ 0x3e2aaaab, 0x3e2b }, { 0x447a0000, 0x447a }, { 0x3f7fffff, 0x3f80 },
	{ 0x7f7fffff, 0x7f80 }, { 0xc0490fdb, 0xc049 }, { 0x3c23d70a, 0x3c24 },
	{ 0x00800000, 0x0080 }, { 0x3f80ffff, 0x3f81 }, { 0x3f817fff, 0x3f81 },
	{ 0x3f818001, 0x3f82 },
};

static float fbits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static void rounding_case(void)
{
	int n = (int)(sizeof torch_bf16 / sizeof *torch_bf16);
	/* activations: A[i][0] x W = 1 gives bf16(A[i][0]) exactly */
	float A[64], C[64], one = 1.0f;
	for (int i = 0; i < n; i++)
		A[i] = fbits(torch_bf16[i].in);
	struct dc_wpack w;
	if (dc_wpack_init(&w, DC_PREC_BF16, 1, 1) || dc_wpack_set_f32(&w, 0, 1, &one, 1)) {
		T_FAILED("pack: %s", dc_errmsg());
		return;
	}
	dc_gemm_wpack(C, 1, A, 1, &w, NULL, n, 0, 1);
	dc_wpack_release(&w);
	int bad = 0;
	for (int i = 0; i < n; i++)
		if (bits(C[i]) != (uint32_t)torch_bf16[i].out << 16) {
			printf("#   activation %08x -> %08x, torch %04x0000\n", torch_bf16[i].in,
			       bits(C[i]), torch_bf16[i].out);
			bad++;
		}
	CHECK_EQ_INT(bad, 0);
	/* weights: W[i][0] packed */
	float Wt[64], got;
	for (int i = 0; i < n; i++)
		Wt[i] = A[i];
	if (dc_wpack_init(&w, DC_PREC_BF16, n, 1) || dc_wpack_set_f32(&w, 0, n, Wt, 1)) {
		T_FAILED("pack: %s", dc_errmsg());
		return;
	}
	bad = 0;
	for (int i = 0; i < n; i++) {
		dc_wpack_get_f32(&w, i, &got);
		bad += bits(got) != (uint32_t)torch_bf16[i].out << 16;
	}
	dc_wpack_release(&w);
	CHECK_EQ_INT(bad, 0);
	/* many random values (normal range, ties included) against dc_f32_to_bf16 */
	enum { R = 4099 };
	float *a = malloc(R * sizeof *a), *c = malloc(R * sizeof *c);
	for (int i = 0; i < R; i++) {
		a[i] = urand() * 1000.0f;
		if (i % 3 == 0)   /* an exact tie */
			a[i] = fbits((bits(a[i]) & 0xffff0000u) | 0x8000u);
	}
	if (dc_wpack_init(&w, DC_PREC_BF16, 1, 1) == DC_OK && dc_wpack_set_f32(&w, 0, 1, &one, 1) == DC_OK)
		dc_gemm_wpack(c, 1, a, 1, &w, NULL, R, 0, 0);
	dc_wpack_release(&w);
	bad = 0;
	for (int i = 0; i < R; i++)
		bad += bits(c[i]) != (uint32_t)dc_f32_to_bf16(a[i]) << 16;
	CHECK_EQ_INT(bad, 0);
	free(a);
	free(c);
}

TEST(bf16_rounding_matches_torch)
{
	rounding_case();
	if (dc_bf16_hw()) {   /* and the portable conversion */
		dc_bf16_allow_hw(0);
		rounding_case();
		dc_bf16_allow_hw(1);
	}
}

TEST(int8_quantisation_bound)
{
	int n = 70, k = 301;
	float *W = malloc((size_t)n * k * sizeof *W), *row = malloc((size_t)k * sizeof *row);
	for (int r = 0; r < n; r++)
		for (int c = 0; c < k; c++)
			W[(size_t)r * k + c] = r == 5 ? 0.0f : urand() * powf(10.0f, (float)(r % 5 - 2));
	struct dc_wpack w;
	if (dc_wpack_init(&w, DC_PREC_INT8, n, k) || dc_wpack_set_f32(&w, 0, n, W, k)) {
		T_FAILED("pack: %s", dc_errmsg());
		goto out;
	}
	double worst = 0;
	int bad = 0, full = 0;
	for (int r = 0; r < n; r++) {
		float amax = 0;
		for (int c = 0; c < k; c++)
			amax = fmaxf(amax, fabsf(W[(size_t)r * k + c]));
		float s = w.scale[r];
		bad += s != amax / 127.0f;
		dc_wpack_get_f32(&w, r, row);
		for (int c = 0; c < k; c++) {
			double d = fabs((double)row[c] - W[(size_t)r * k + c]);
			if (!(d <= 0.5 * s * (1 + 1e-5)))
				bad++;
			if (s > 0 && d / s > worst)
				worst = d / s;
			full += fabsf(row[c]) == amax && amax > 0;
		}
	}
	printf("# int8: max |w - s q| = %.4f s (bound 0.5 s), %d entries at |q| = 127\n", worst, full);
	CHECK_EQ_INT(bad, 0);
	CHECK(full >= n - 1);
	CHECK(worst > 0.4);
	CHECK(w.scale[5] == 0.0f);
	/* non-finite weights are refused for int8 */
	W[3] = NAN;
	CHECK(dc_wpack_set_f32(&w, 0, 1, W, k) == DC_EINVAL);
	printf("# NaN weight: %s\n", dc_errmsg());
out:
	dc_wpack_release(&w);
	free(W);
	free(row);
}

TEST(portable_matches_kernel)
{
	if (!dc_bf16_hw()) {
		printf("# no AVX512-BF16 on this CPU: only the portable path runs\n");
		return;
	}
	static const int sz[][3] = { { 97, 200, 515 }, { 13, 130, 257 }, { 64, 192, 1152 } };
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 3; i++) {
			int m = sz[i][0], n = sz[i][1], k = sz[i][2];
			float *h = malloc((size_t)m * n * sizeof *h), *c = malloc((size_t)m * n * sizeof *c);
			uint64_t save = rng;
			gemm_case(p ? DC_PREC_INT8 : DC_PREC_BF16, m, n, k, 1, 1, 0, h);
			rng = save;
			dc_bf16_allow_hw(0);
			CHECK_EQ_INT(dc_bf16_hw(), 0);
			gemm_case(p ? DC_PREC_INT8 : DC_PREC_BF16, m, n, k, 1, 1, 0, c);
			dc_bf16_allow_hw(1);
			size_t diff = 0;
			double md = 0;
			for (size_t j = 0; j < (size_t)m * n; j++) {
				diff += bits(h[j]) != bits(c[j]);
				md = fmax(md, fabs((double)h[j] - c[j]));
			}
			printf("# %s %dx%dx%d: portable vs AVX512-BF16: %zu of %zu differ, max |d| %.3g\n",
			       p ? "int8" : "bf16", m, n, k, diff, (size_t)m * n, md);
			/* both meet the bound (checked in gemm_case); same order of summation */
			CHECK_EQ_INT(diff, 0);
			free(h);
			free(c);
		}
}

TEST(threads_do_not_change_results)
{
	int m = 301, n = 190, k = 300;
	float *c[3];
	for (int t = 0; t < 3; t++) {
		c[t] = malloc((size_t)m * n * sizeof *c[t]);
		uint64_t save = rng;
		gemm_case(DC_PREC_BF16, m, n, k, 0, 1, t + 1, c[t]);
		rng = save;
	}
	CHECK(memcmp(c[0], c[1], (size_t)m * n * sizeof(float)) == 0);
	CHECK(memcmp(c[0], c[2], (size_t)m * n * sizeof(float)) == 0);
	for (int t = 0; t < 3; t++)
		free(c[t]);
}

TEST(bad_arguments_and_bf16_source)
{
	struct dc_wpack w;
	CHECK(dc_wpack_init(&w, DC_PREC_BF16, 0, 5) == DC_EINVAL);
	CHECK(dc_wpack_init(&w, DC_PREC_BF16, 5, 0) == DC_EINVAL);
	CHECK(dc_wpack_init(&w, DC_PREC_F32, 5, 5) == DC_EINVAL);
	printf("# %s\n", dc_errmsg());
	CHECK_EQ_INT(dc_wpack_bytes(DC_PREC_BF16, 65, 3), 128 * 4 * 2);
	CHECK_EQ_INT(dc_wpack_bytes(DC_PREC_INT8, 64, 4), 64 * 4);
	dc_wpack_release(&w);   /* zeroed by the failed init: a no-op */
	float src[3 * 7] = { 0 };
	CHECK(dc_wpack_init(&w, DC_PREC_BF16, 3, 7) == DC_OK);
	CHECK(dc_wpack_set_f32(&w, 1, 3, src, 7) == DC_EINVAL);
	CHECK(dc_wpack_set_f32(&w, 0, 3, src, 6) == DC_EINVAL);
	CHECK(dc_wpack_set_f32(&w, -1, 1, src, 7) == DC_EINVAL);
	printf("# %s\n", dc_errmsg());
	/* bf16 bits from an odd address are copied exactly */
	unsigned char raw[2 * 3 * 7 + 1];
	uint16_t h[21];
	for (int i = 0; i < 21; i++) {
		h[i] = dc_f32_to_bf16(urand());
		memcpy(raw + 1 + 2 * i, &h[i], 2);
	}
	CHECK(dc_wpack_set_bf16(&w, 0, 3, raw + 1, 7) == DC_OK);
	int bad = 0;
	float row[7];
	for (int r = 0; r < 3; r++) {
		dc_wpack_get_f32(&w, r, row);
		for (int c = 0; c < 7; c++)
			bad += bits(row[c]) != (uint32_t)h[r * 7 + c] << 16;
	}
	CHECK_EQ_INT(bad, 0);
	dc_wpack_release(&w);
	dc_wpack_release(&w);   /* twice is fine */
}

/* ---- bf16 attention ---------------------------------------------------------------- */

/* out[N][H*D] in double from q, k, v at stride ld (self: one buffer) */
static void attn_ref(double *out, const float *q, const float *k, const float *v, int ld,
                     int N, int M, int H, int D, const float *mask, const unsigned char *kv)
{
	double *s = malloc((size_t)M * sizeof *s);
	for (int h = 0; h < H; h++)
		for (int i = 0; i < N; i++) {
			double mx = -INFINITY, l = 0;
			for (int j = 0; j < M; j++) {
				double t = 0;
				for (int d = 0; d < D; d++)
					t += (double)q[(size_t)i * ld + h * D + d] * k[(size_t)j * ld + h * D + d];
				t /= sqrt((double)D);
				if (mask)
					t += mask[(size_t)i * M + j];
				if (kv && !kv[j])
					t = -INFINITY;
				s[j] = t;
				mx = fmax(mx, t);
			}
			for (int d = 0; d < D; d++)
				out[(size_t)i * H * D + h * D + d] = 0;
			if (mx == -INFINITY)
				continue;
			for (int j = 0; j < M; j++)
				l += s[j] = exp(s[j] - mx);
			for (int j = 0; j < M; j++)
				for (int d = 0; d < D; d++)
					out[(size_t)i * H * D + h * D + d] += s[j] / l * v[(size_t)j * ld + h * D + d];
		}
	free(s);
}

static void attn_case(int N, int M, int H, int D, int use_mask, int use_kv)
{
	int C = H * D, ld = 3 * C, R = N > M ? N : M;
	float *buf = malloc((size_t)R * ld * sizeof *buf), *o = malloc((size_t)N * C * sizeof *o);
	float *o32 = malloc((size_t)N * C * sizeof *o32), *mask = NULL;
	double *ref = malloc((size_t)N * C * sizeof *ref);
	unsigned char *kv = NULL;
	for (size_t i = 0; i < (size_t)R * ld; i++)
		buf[i] = 2.0f * urand();
	if (use_mask) {
		mask = malloc((size_t)N * M * sizeof *mask);
		for (size_t i = 0; i < (size_t)N * M; i++)
			mask[i] = (i * 7) % 11 == 0 ? -INFINITY : urand();
	}
	if (use_kv) {
		kv = malloc((size_t)M);
		for (int j = 0; j < M; j++)
			kv[j] = j % 3 != 1 && j < 140;   /* keys past 140 all masked: a whole tile skipped */
	}
	size_t sb = dc_attention_bf16_scratch(M, H, D);
	void *scr = malloc(sb + 1);
	const float *q = buf, *k = buf + C, *v = buf + 2 * C;
	dc_attention_forward_bf16(o, C, q, ld, k, ld, v, ld, N, M, H, D, 0, mask, kv,
	                          (char *)scr + 1);   /* any alignment */
	dc_attention_forward(o32, C, q, ld, k, ld, v, ld, N, M, H, D, 0, mask, kv);
	attn_ref(ref, q, k, v, ld, N, M, H, D, mask, kv);
	double mx = 0, md = 0, md32 = 0;
	for (size_t i = 0; i < (size_t)N * C; i++) {
		mx = fmax(mx, fabs(ref[i]));
		md = fmax(md, fabs(o[i] - ref[i]) + (o[i] != o[i]));
		md32 = fmax(md32, fabs(o32[i] - ref[i]));
	}
	printf("# attention bf16 N %d M %d H %d D %d mask %d key_valid %d: max |d| %.3g of max "
	       "|ref| %.3g (f32 kernel %.3g)\n", N, M, H, D, use_mask, use_kv, md / mx, mx, md32 / mx);
	CHECK(md <= 0.01 * mx);
	if (dc_attention_bf16_hw(D))
		CHECK(md > 4 * md32);   /* it ran in bf16 */
	else
		CHECK(memcmp(o, o32, (size_t)N * C * sizeof *o) == 0);
	/* no scratch: the f32 kernel, bit for bit */
	dc_attention_forward_bf16(o, C, q, ld, k, ld, v, ld, N, M, H, D, 0, mask, kv, NULL);
	CHECK(memcmp(o, o32, (size_t)N * C * sizeof *o) == 0);
	free(buf); free(o); free(o32); free(mask); free(ref); free(kv); free(scr);
}

TEST(attention_bf16_vs_double_reference)
{
	printf("# bf16 attention kernel: %s\n", dc_attention_bf16_hw(72) ? "yes" : "no (f32)");
	attn_case(64, 64, 1, 16, 0, 0);
	attn_case(130, 133, 2, 72, 0, 0);    /* odd M, partial query and key tiles */
	attn_case(70, 7, 3, 9, 0, 1);        /* odd D, few keys, padding mask */
	attn_case(65, 300, 2, 24, 1, 1);     /* additive mask with -inf, masked tile */
	attn_case(5, 1, 1, 128, 0, 0);       /* one key, D at the kernel's limit */
	attn_case(9, 20, 1, 130, 0, 0);      /* D > 128: f32 */
	CHECK_EQ_INT(dc_attention_bf16_scratch(0, 1, 1), 0);
}

/* ---- PixArt ----------------------------------------------------------------------- */

#define GOLD "tests/golden/pixart"

static char top[4096];
static struct dc_safetensors *io;

static const char *path(const char *rel)
{
	static char buf[4][4200];
	static int k;
	k = (k + 1) & 3;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static float *get(const char *name, size_t n)
{
	const struct dc_st_tensor *t = dc_safetensors_find(io, name);
	float *p = t && t->numel == n ? malloc(n * sizeof *p) : NULL;
	if (p && dc_safetensors_get_f32(io, name, p, n)) {
		free(p);
		p = NULL;
	}
	if (!p)
		printf("# golden tensor '%s' missing or of the wrong size\n", name);
	return p;
}

struct pcase {
	struct dc_pixart_input in;
	float *lat, *text, *maskf, *res, *ar, *ts, *ref, *ctl, *scale;
	unsigned char mask[64];
	size_t nout;
};

static void pcase_free(struct pcase *c)
{
	free(c->lat); free(c->text); free(c->maskf); free(c->res); free(c->ar); free(c->ts);
	free(c->ref); free(c->ctl); free(c->scale);
}

/* case "a" (2x4x8x8, T 6) or "b" (2x4x8x12, T 5, micro-conditions), or "c"
 * (model b + the control) */
static int pcase_load(struct pcase *c, char key)
{
	memset(c, 0, sizeof *c);
	int b = key != 'a', Hh = 8, Ww = b ? 12 : 8, T = b ? 5 : 6;
	size_t nl = (size_t)2 * 4 * Hh * Ww;
	c->nout = 2 * nl;
	const char *k = b ? "b" : "a";
	char n[64];
#define G(dst, nm, cnt) do { snprintf(n, sizeof n, "%s.%s", k, nm); \
	if (!(dst = get(n, cnt))) return -1; } while (0)
	G(c->lat, "latents", nl);
	G(c->text, "text", (size_t)2 * T * 16);
	G(c->maskf, "mask", (size_t)2 * T);
	G(c->ts, "timestep", 1);
	G(c->ref, "out", c->nout);
	if (b) {
		G(c->res, "resolution", 4);
		G(c->ar, "aspect", 2);
	}
	if (key == 'c') {
		k = "c";
		free(c->ref);
		G(c->ref, "out", c->nout);
		G(c->ctl, "control", nl);
		G(c->scale, "scale", 1);
	}
#undef G
	for (int i = 0; i < 2 * T; i++)
		c->mask[i] = c->maskf[i] != 0;
	c->in = (struct dc_pixart_input){ .batch = 2, .height = Hh, .width = Ww, .latents = c->lat,
	                                  .timestep = c->ts[0], .text_len = T, .text = c->text,
	                                  .text_mask = c->mask, .resolution = c->res,
	                                  .aspect_ratio = c->ar, .control_latents = c->ctl,
	                                  .control_scale = c->scale ? c->scale[0] : 0 };
	return 0;
}

/* max |d| / max |ref| and rms(d) / rms(ref); checks the stated tolerance */
static void perr(const char *what, const float *o, const float *ref, size_t n,
                 enum dc_precision prec)
{
	double mx = 0, md = 0, sd = 0, sr = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)o[i] - ref[i]);
		mx = fmax(mx, fabs(ref[i]));
		if (d > md || d != d)
			md = d;
		sd += d * d;
		sr += (double)ref[i] * ref[i];
	}
	double rmax = md / mx, rrms = sqrt(sd / sr);
	printf("# %s %s: max |d| %.3g (%.3g of max |ref|), rms %.3g of rms(ref)\n", what,
	       prec == DC_PREC_BF16 ? "bf16" : "int8", md, rmax, rrms);
	double tmax = prec == DC_PREC_BF16 ? 0.015 : 0.03, trms = prec == DC_PREC_BF16 ? 0.01 : 0.02;
	CHECK(rmax <= tmax);
	CHECK(rrms <= trms);
	CHECK(rrms > 1e-5);   /* reduced precision really ran */
}

TEST(pixart_bf16_int8_vs_goldens)
{
	for (int mdl = 0; mdl < 2; mdl++) {
		struct dc_pixart *p;
		struct pcase c;
		const char *dir = mdl ? GOLD "/b" : GOLD "/a";
		if (dc_pixart_open(&p, path(dir))) {
			T_FAILED("open %s: %s", dir, dc_errmsg());
			continue;
		}
		if (pcase_load(&c, mdl ? 'b' : 'a')) {
			T_FAILED("golden");
			pcase_free(&c);
			dc_pixart_free(p);
			continue;
		}
		float *o = calloc(c.nout, sizeof *o), *f = calloc(c.nout, sizeof *f);
		CHECK(dc_pixart_precision(p) == DC_PREC_F32);
		CHECK(dc_pixart_forward(p, &c.in, f, NULL) == DC_OK);
		for (int q = DC_PREC_BF16; q <= DC_PREC_INT8; q++) {
			CHECK(dc_pixart_set_precision(p, (enum dc_precision)q) == DC_OK);
			CHECK(dc_pixart_precision(p) == (enum dc_precision)q);
			struct dc_arena ar;
			CHECK(dc_arena_init(&ar, dc_pixart_scratch_bytes(p, 2, 8, mdl ? 12 : 8, mdl ? 5 : 6, 0)) == DC_OK);
			if (dc_pixart_forward(p, &c.in, o, &ar) == DC_OK)
				perr(mdl ? "model b (micro-conditions, 8x12)" : "model a", o, c.ref, c.nout,
				     (enum dc_precision)q);
			else
				T_FAILED("forward: %s", dc_errmsg());
			CHECK_EQ_INT(ar.used, 0);
			dc_arena_release(&ar);
		}
		/* and back to f32: the f32 forward again, bit for bit */
		CHECK(dc_pixart_set_precision(p, DC_PREC_F32) == DC_OK);
		CHECK(dc_pixart_forward(p, &c.in, o, NULL) == DC_OK);
		CHECK(memcmp(o, f, c.nout * sizeof *o) == 0);
		CHECK(dc_pixart_set_precision(p, (enum dc_precision)7) == DC_EINVAL);
		CHECK(dc_pixart_precision(p) == DC_PREC_F32);
		free(o);
		free(f);
		pcase_free(&c);
		dc_pixart_free(p);
	}
}

/* model b's checkpoint rewritten into dir (with its config), the blocks'
 * linear weights in bf16, the rest (biases, tables, embedders) still f32 */
static int rewrite_blocks_bf16(const char *dir)
{
	struct dc_safetensors *st;
	if (dc_safetensors_open(&st, path(GOLD "/b/diffusion_pytorch_model.safetensors")))
		return -1;
	size_t n = dc_safetensors_count(st);
	struct dc_st_write_entry *e = calloc(n, sizeof *e);
	void **bufs = calloc(n, sizeof *bufs);
	int64_t (*shapes)[DC_MAX_RANK] = calloc(n, sizeof *shapes);
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		size_t ln = strlen(t->name);
		enum dc_dtype dt = !strncmp(t->name, "transformer_blocks.", 19) && ln > 7 &&
		                   !strcmp(t->name + ln - 7, ".weight") ? DC_BF16 : DC_F32;
		float *f = malloc(t->numel * sizeof *f + 8);
		dc_safetensors_get_f32(st, t->name, f, t->numel);
		bufs[i] = malloc(t->numel * 4 + 8);
		dc_convert_from_f32(bufs[i], dt, f, t->numel);
		free(f);
		memcpy(shapes[i], t->shape, sizeof shapes[i]);
		e[i] = (struct dc_st_write_entry){ t->name, dt, t->rank, shapes[i], bufs[i] };
	}
	char fn[4300];
	snprintf(fn, sizeof fn, "%s/diffusion_pytorch_model.safetensors", dir);
	FILE *f = fopen(fn, "wb");
	int rc = f && dc_safetensors_write(f, e, n, NULL, 0) == DC_OK ? 0 : -1;
	if (f)
		fclose(f);
	snprintf(fn, sizeof fn, "cp '%s' '%s/config.json'", path(GOLD "/b/config.json"), dir);
	if (system(fn))
		rc = -1;
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs); free(e); free(shapes);
	dc_safetensors_close(st);
	return rc;
}

TEST(pixart_bf16_checkpoint_packs_directly)
{
	char dir[] = "/tmp/dc_gemm_bf16_XXXXXX";
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	struct pcase c;
	struct dc_pixart *p32 = NULL, *p16 = NULL;
	if (pcase_load(&c, 'b') || rewrite_blocks_bf16(dir) || dc_pixart_open(&p32, path(GOLD "/b")) ||
	    dc_pixart_open(&p16, dir)) {
		T_FAILED("setup: %s", dc_errmsg());
		goto out;
	}
	float *a = calloc(c.nout, sizeof *a), *b = calloc(c.nout, sizeof *b);
	float *f = calloc(c.nout, sizeof *f);
	CHECK(dc_pixart_forward(p16, &c.in, f, NULL) == DC_OK);   /* f32, per-block conversion */
	/* bf16 blocks from the f32 file (rounded here) and from the bf16 file
	 * (copied): the same weights, the same answer bit for bit */
	CHECK(dc_pixart_set_precision(p32, DC_PREC_BF16) == DC_OK);
	CHECK(dc_pixart_set_precision(p16, DC_PREC_BF16) == DC_OK);
	CHECK(dc_pixart_forward(p32, &c.in, a, NULL) == DC_OK);
	CHECK(dc_pixart_forward(p16, &c.in, b, NULL) == DC_OK);
	size_t d = 0;
	for (size_t i = 0; i < c.nout; i++)
		d += bits(a[i]) != bits(b[i]);
	printf("# bf16 from a bf16 checkpoint vs from f32: %zu of %zu outputs differ\n", d, c.nout);
	CHECK_EQ_INT(d, 0);
	/* int8 from the bf16 file: within the int8 tolerance of the golden */
	CHECK(dc_pixart_set_precision(p16, DC_PREC_INT8) == DC_OK);
	CHECK(dc_pixart_forward(p16, &c.in, b, NULL) == DC_OK);
	perr("model b from a bf16 checkpoint", b, c.ref, c.nout, DC_PREC_INT8);
	/* back to f32: the block buffer comes back, the same f32 answer */
	CHECK(dc_pixart_set_precision(p16, DC_PREC_F32) == DC_OK);
	CHECK(dc_pixart_forward(p16, &c.in, b, NULL) == DC_OK);
	CHECK(memcmp(b, f, c.nout * sizeof *f) == 0);
	free(a);
	free(b);
	free(f);
out:
	dc_pixart_free(p32);
	dc_pixart_free(p16);
	pcase_free(&c);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
}

TEST(pixart_control_packed)
{
	struct dc_pixart *p = NULL;
	struct dc_pixart_control *ctl = NULL;
	struct pcase c;
	if (pcase_load(&c, 'c') || dc_pixart_open(&p, path(GOLD "/b")) ||
	    dc_pixart_control_open(&ctl, p, path(GOLD "/control_official.safetensors"))) {
		T_FAILED("setup: %s", dc_errmsg());
		goto out;
	}
	c.in.control = ctl;
	float *o = calloc(c.nout, sizeof *o);
	for (int q = DC_PREC_BF16; q <= DC_PREC_INT8; q++) {
		CHECK(dc_pixart_set_precision(p, (enum dc_precision)q) == DC_OK);
		CHECK(dc_pixart_control_set_precision(ctl, (enum dc_precision)q) == DC_OK);
		if (dc_pixart_forward(p, &c.in, o, NULL) == DC_OK)
			perr("model b + control (official keys)", o, c.ref, c.nout, (enum dc_precision)q);
		else
			T_FAILED("forward: %s", dc_errmsg());
	}
	/* a packed base with an f32 control (converted per block) works too */
	CHECK(dc_pixart_control_set_precision(ctl, DC_PREC_F32) == DC_OK);
	CHECK(dc_pixart_set_precision(p, DC_PREC_BF16) == DC_OK);
	if (dc_pixart_forward(p, &c.in, o, NULL) == DC_OK)
		perr("model b bf16 + control f32", o, c.ref, c.nout, DC_PREC_BF16);
	free(o);
out:
	dc_pixart_control_free(ctl);
	dc_pixart_free(p);
	pcase_free(&c);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	printf("# AVX512-BF16 kernel: %s\n", dc_bf16_hw() ? "yes" : "no (portable C)");
	RUN(gemm_vs_double_reference);
	RUN(int8_gemm_vs_double_reference);
	RUN(bf16_rounding_matches_torch);
	RUN(int8_quantisation_bound);
	RUN(portable_matches_kernel);
	RUN(threads_do_not_change_results);
	RUN(bad_arguments_and_bf16_source);
	RUN(attention_bf16_vs_double_reference);
	if (dc_safetensors_open(&io, path(GOLD "/io.safetensors"))) {
		printf("not ok %d - cannot open golden io: %s\n", t_num + 1, dc_errmsg());
		return 1;
	}
	RUN(pixart_bf16_int8_vs_goldens);
	RUN(pixart_bf16_checkpoint_packs_directly);
	RUN(pixart_control_packed);
	dc_safetensors_close(io);
	return test_summary();
}
