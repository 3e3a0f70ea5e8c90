/*
 * test_attention.c - dc_attention_forward against a naive double-precision
 * reference that builds the full score matrix, over odd sizes (N, M not
 * multiples of the tiles, M = 1, D = 64 and 72, H = 1 and 16), additive
 * masks, key padding masks (all keys masked -> zeros), the self-attention
 * layout from one [N][3C] buffer, cross-attention to 120 tokens, thread-count
 * independence, the vectorised exp against libm, and golden vectors made by
 * PyTorch (tests/golden/make_attention.py).
 */
#include "test.h"

#include <math.h>
#include <stdint.h>

#include "core/core.h"
#include "ops/ops.h"
#include "ops/vexp.h"

static uint64_t rng_state = 88172645463325252ull;

static float frand(void)   /* uniform in [-1, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static float *rand_buf(size_t n, float amp)
{
	float *p = malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++)
		p[i] = amp * frand();
	return p;
}

/* naive reference in double: full N x M scores per head */
static void ref_attention(float *out, int ldo, const float *q, int ldq,
                          const float *k, int ldk, const float *v, int ldv,
                          int N, int M, int H, int D, float scale,
                          const float *mask, const unsigned char *kv)
{
	double sc = scale > 0 ? scale : 1.0 / sqrt((double)D);
	double *s = malloc((size_t)(M > 0 ? M : 1) * sizeof *s);
	for (int h = 0; h < H; h++)
		for (int i = 0; i < N; i++) {
			double mx = -INFINITY;
			for (int j = 0; j < M; j++) {
				double a = 0;
				for (int d = 0; d < D; d++)
					a += (double)q[(size_t)i * ldq + h * D + d] *
					     k[(size_t)j * ldk + h * D + d];
				a *= (float)sc;
				if (mask)
					a += mask[(size_t)i * M + j];
				if (kv && !kv[j])
					a = -INFINITY;
				s[j] = a;
				if (a > mx)
					mx = a;
			}
			double l = 0;
			for (int j = 0; j < M; j++) {
				s[j] = mx == -INFINITY ? 0 : exp(s[j] - mx);
				l += s[j];
			}
			for (int d = 0; d < D; d++) {
				double o = 0;
				for (int j = 0; j < M; j++)
					o += s[j] * v[(size_t)j * ldv + h * D + d];
				out[(size_t)i * ldo + h * D + d] = l > 0 ? (float)(o / l) : 0.0f;
			}
		}
	free(s);
}

/* run ours and the reference on random data in separate q/k/v buffers with
 * padded strides; returns the max abs difference */
static double run_case(int N, int M, int H, int D, float amp, int with_mask,
                       int with_kv, float scale)
{
	int C = H * D, pad = 5;
	int ld = C + pad;
	float *q = rand_buf((size_t)N * ld, amp);
	float *k = rand_buf((size_t)M * ld, amp);
	float *v = rand_buf((size_t)M * ld, 1.0f);
	float *mask = NULL;
	unsigned char *kv = NULL;
	if (with_mask) {
		mask = rand_buf((size_t)N * M, 2.0f);
		for (size_t i = 0; i < (size_t)N * M; i++)
			if (frand() > 0.6f)
				mask[i] = -INFINITY;
		for (int j = 0; j < M; j++)   /* row 0 sees nothing */
			mask[j] = -INFINITY;
	}
	if (with_kv) {
		kv = malloc((size_t)M);
		for (int j = 0; j < M; j++)
			kv[j] = frand() > -0.5f;
		kv[M - 1] = 1;
	}
	float *o = rand_buf((size_t)N * ld, 100.0f);   /* garbage to overwrite */
	float *r = malloc((size_t)N * ld * sizeof *r);
	memcpy(r, o, (size_t)N * ld * sizeof *r);
	dc_attention_forward(o, ld, q, ld, k, ld, v, ld, N, M, H, D, scale, mask, kv);
	ref_attention(r, ld, q, ld, k, ld, v, ld, N, M, H, D, scale, mask, kv);
	double worst = 0;
	for (int i = 0; i < N; i++) {
		double d = max_abs_diff(o + (size_t)i * ld, r + (size_t)i * ld, (size_t)C);
		if (d > worst || d != d)
			worst = d;
	}
	/* the padding columns must be untouched */
	for (int i = 0; i < N; i++)
		for (int c = C; c < ld; c++)
			if (o[(size_t)i * ld + c] != r[(size_t)i * ld + c] && worst < 1e9)
				worst = 1e9;
	free(q); free(k); free(v); free(mask); free(kv); free(o); free(r);
	return worst;
}

TEST(odd_sizes)
{
	static const int cases[][4] = {   /* N, M, H, D */
		{ 1, 1, 1, 72 }, { 37, 1, 2, 72 }, { 1, 300, 1, 64 }, { 65, 257, 1, 64 },
		{ 63, 255, 3, 72 }, { 130, 600, 2, 72 }, { 200, 513, 1, 8 }, { 17, 33, 16, 72 },
		{ 5, 7, 2, 1 }, { 70, 90, 1, 200 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		double d = run_case(cases[c][0], cases[c][1], cases[c][2], cases[c][3],
		                    1.0f, 0, 0, 0.0f);
		if (!(d < 2e-5))
			T_FAILED("N=%d M=%d H=%d D=%d: max diff %g", cases[c][0], cases[c][1],
			         cases[c][2], cases[c][3], d);
	}
}

/* large scores: the running max must rise over several key tiles */
TEST(large_scores_online_softmax)
{
	double d = run_case(100, 1000, 2, 64, 4.0f, 0, 0, 0.0f);
	CHECK(d < 5e-5);
	d = run_case(64, 700, 1, 72, 1.0f, 0, 0, 3.0f);   /* explicit scale */
	CHECK(d < 5e-5);
}

TEST(additive_mask)
{
	double d = run_case(70, 300, 2, 72, 1.0f, 1, 0, 0.0f);
	CHECK(d < 2e-5);
	d = run_case(129, 600, 1, 64, 1.0f, 1, 1, 0.0f);
	CHECK(d < 2e-5);
}

TEST(key_valid)
{
	double d = run_case(90, 520, 3, 72, 1.0f, 0, 1, 0.0f);
	CHECK(d < 2e-5);
	d = run_case(10, 1, 1, 64, 1.0f, 0, 1, 0.0f);
	CHECK(d < 2e-5);
}

TEST(all_keys_masked_gives_zeros)
{
	int N = 70, M = 300, H = 2, D = 72, C = H * D;
	float *q = rand_buf((size_t)N * C, 1), *k = rand_buf((size_t)M * C, 1);
	float *v = rand_buf((size_t)M * C, 1), *o = rand_buf((size_t)N * C, 5);
	unsigned char *kv = calloc((size_t)M, 1);
	dc_attention_forward(o, C, q, C, k, C, v, C, N, M, H, D, 0, NULL, kv);
	int nonzero = 0;
	for (size_t i = 0; i < (size_t)N * C; i++)
		nonzero += o[i] != 0.0f;
	CHECK_EQ_INT(nonzero, 0);
	/* an all -inf mask does the same */
	float *mask = malloc((size_t)N * M * sizeof *mask);
	for (size_t i = 0; i < (size_t)N * M; i++)
		mask[i] = -INFINITY;
	for (size_t i = 0; i < (size_t)N * C; i++)
		o[i] = 7.0f;
	dc_attention_forward(o, C, q, C, k, C, v, C, N, M, H, D, 0, mask, NULL);
	nonzero = 0;
	for (size_t i = 0; i < (size_t)N * C; i++)
		nonzero += o[i] != 0.0f;
	CHECK_EQ_INT(nonzero, 0);
	/* M = 0: no keys at all */
	dc_attention_forward(o, C, q, C, k, C, v, C, N, 0, H, D, 0, NULL, NULL);
	nonzero = 0;
	for (size_t i = 0; i < (size_t)N * C; i++)
		nonzero += o[i] != 0.0f;
	CHECK_EQ_INT(nonzero, 0);
	free(q); free(k); free(v); free(o); free(kv); free(mask);
}

/* q, k, v from one [N][3C] buffer, as after the fused qkv projection */
TEST(self_attention_layout)
{
	int N = 150, H = 16, D = 72, C = H * D;
	float *qkv = rand_buf((size_t)N * 3 * C, 1.0f);
	float *o = rand_buf((size_t)N * C, 1), *r = rand_buf((size_t)N * C, 1);
	dc_attention_forward(o, C, qkv, 3 * C, qkv + C, 3 * C, qkv + 2 * C, 3 * C,
	                     N, N, H, D, 0, NULL, NULL);
	ref_attention(r, C, qkv, 3 * C, qkv + C, 3 * C, qkv + 2 * C, 3 * C,
	              N, N, H, D, 0, NULL, NULL);
	CHECK_CLOSE(o, r, (size_t)N * C, 2e-5, 1e-4);
	free(qkv); free(o); free(r);
}

/* image tokens attending to 120 text tokens, k/v from one [120][2C] buffer */
TEST(cross_attention_120)
{
	int N = 260, M = 120, H = 16, D = 72, C = H * D;
	float *q = rand_buf((size_t)N * C, 1.0f), *kv = rand_buf((size_t)M * 2 * C, 1.0f);
	unsigned char valid[120];
	for (int j = 0; j < M; j++)
		valid[j] = j < 77;   /* padded caption */
	float *o = rand_buf((size_t)N * C, 1), *r = rand_buf((size_t)N * C, 1);
	dc_attention_forward(o, C, q, C, kv, 2 * C, kv + C, 2 * C, N, M, H, D, 0, NULL, valid);
	ref_attention(r, C, q, C, kv, 2 * C, kv + C, 2 * C, N, M, H, D, 0, NULL, valid);
	CHECK_CLOSE(o, r, (size_t)N * C, 2e-5, 1e-4);
	free(q); free(kv); free(o); free(r);
}

TEST(thread_count_independent)
{
	int N = 200, M = 333, H = 3, D = 72, C = H * D;
	float *q = rand_buf((size_t)N * C, 1), *k = rand_buf((size_t)M * C, 1);
	float *v = rand_buf((size_t)M * C, 1);
	float *o1 = malloc((size_t)N * C * sizeof(float)), *o2 = malloc((size_t)N * C * sizeof(float));
	float *o3 = malloc((size_t)N * C * sizeof(float));
	dc_set_threads(1);
	dc_attention_forward(o1, C, q, C, k, C, v, C, N, M, H, D, 0, NULL, NULL);
	dc_set_threads(2);
	dc_attention_forward(o2, C, q, C, k, C, v, C, N, M, H, D, 0, NULL, NULL);
	dc_set_threads(3);
	dc_attention_forward(o3, C, q, C, k, C, v, C, N, M, H, D, 0, NULL, NULL);
	dc_set_threads(0);
	CHECK(memcmp(o1, o2, (size_t)N * C * sizeof(float)) == 0);
	CHECK(memcmp(o1, o3, (size_t)N * C * sizeof(float)) == 0);
	free(q); free(k); free(v); free(o1); free(o2); free(o3);
}

TEST(vexp_vs_libm)
{
	/* a dense sweep over the whole finite range, through the vector path */
	size_t n = 2000003;
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	for (size_t i = 0; i < n; i++)
		x[i] = -87.3f + (float)((88.7 + 87.3) * (double)i / (double)(n - 1));
	dc_vexp(y, x, n);
	double worst = 0, worst_s = 0;
	for (size_t i = 0; i < n; i++) {
		double e = exp((double)x[i]);
		double rel = fabs(y[i] - e) / e;
		if (rel > worst || rel != rel)
			worst = rel;
		double rs = fabs(dc_vexp_scalar(x[i]) - e) / e;
		if (rs > worst_s || rs != rs)
			worst_s = rs;
	}
	printf("# vexp max rel error %.3g (vector), %.3g (scalar)\n", worst, worst_s);
	CHECK(worst < 2.5e-7);
	CHECK(worst_s < 2.5e-7);
	/* specials, also through the masked tail */
	float sx[7] = { -INFINITY, -100.0f, -87.4f, 0.0f, 1.0f, 89.0f, INFINITY }, sy[7];
	dc_vexp(sy, sx, 7);
	CHECK(sy[0] == 0.0f && sy[1] == 0.0f && sy[2] == 0.0f);
	CHECK(sy[3] == 1.0f);
	CHECK(fabsf(sy[4] - 2.7182817f) < 1e-6f);
	CHECK(isinf(sy[5]) && sy[5] > 0 && isinf(sy[6]));
	float nx = NAN, ny;
	dc_vexp(&ny, &nx, 1);
	CHECK(ny != ny);
	CHECK(dc_vexp_scalar(NAN) != dc_vexp_scalar(NAN));
	CHECK(isinf(dc_vexp_scalar(INFINITY)) && dc_vexp_scalar(-INFINITY) == 0.0f);
	CHECK(fabs(dc_vexp_scalar(88.72f) - exp((double)88.72f)) / exp((double)88.72f) < 3e-7);
#ifdef __AVX512F__
	/* the softmax-only form used inside the kernel: x <= 0 */
	double wn = 0;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		float xs[16], ys[16];
		for (int j = 0; j < 16; j++)
			xs[j] = -110.0f * (float)(i + j) / (float)n;
		_mm512_storeu_ps(ys, dc_vexp_avx512_nonpos(_mm512_loadu_ps(xs)));
		for (int j = 0; j < 16; j++) {
			double e = exp((double)xs[j]);
			double err = e > 1.1754944e-38 ? fabs(ys[j] - e) / e : fabs(ys[j] - e);
			if (err > wn || err != err)
				wn = err;
		}
	}
	printf("# vexp (x <= 0 form) max rel error %.3g\n", wn);
	CHECK(wn < 2.5e-7);
	float sp[16] = { -INFINITY, -200.0f, -110.0f, -104.0f, -87.4f, 0.0f, -0.5f, NAN };
	float so[16];
	_mm512_storeu_ps(so, dc_vexp_avx512_nonpos(_mm512_loadu_ps(sp)));
	CHECK(so[0] == 0.0f && so[1] == 0.0f && so[2] == 0.0f);
	CHECK(so[3] >= 0.0f && so[3] < 1e-44f);
	CHECK(fabs(so[4] - exp((double)-87.4f)) < 1e-44);
	CHECK(so[5] == 1.0f && fabsf(so[6] - 0.60653066f) < 1e-7f);
	CHECK(so[7] != so[7]);
#endif
	free(x); free(y);
}

/* ---- golden vectors from PyTorch ----------------------------------------------- */

static float *read_f32(const char *name, size_t n)
{
	char path[512];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/attention/%s", top ? top : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	float *p = malloc(n * sizeof *p);
	size_t got = fread(p, sizeof *p, n, f);
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (got != n || extra) {
		free(p);
		return NULL;
	}
	return p;
}

/* case files: <name>_{q,k,v,mask,out}.f32, shapes in make_attention.py */
static void golden_case(const char *name, int N, int M, int H, int D, int with_mask, int self)
{
	char fn[128];
	int C = H * D;
	size_t nq = (size_t)N * (self ? 3 * C : C), nk = (size_t)M * C;
	snprintf(fn, sizeof fn, "%s_q.f32", name);
	float *q = read_f32(fn, nq), *k = NULL, *v = NULL, *mask = NULL;
	if (!self) {
		snprintf(fn, sizeof fn, "%s_k.f32", name);
		k = read_f32(fn, nk);
		snprintf(fn, sizeof fn, "%s_v.f32", name);
		v = read_f32(fn, nk);
	}
	if (with_mask) {
		snprintf(fn, sizeof fn, "%s_mask.f32", name);
		mask = read_f32(fn, (size_t)N * M);
	}
	snprintf(fn, sizeof fn, "%s_out.f32", name);
	float *want = read_f32(fn, (size_t)N * C);
	CHECK(q && want && (self || (k && v)) && (!with_mask || mask));
	if (q && want && (self || (k && v)) && (!with_mask || mask)) {
		float *o = malloc((size_t)N * C * sizeof *o);
		if (self)
			dc_attention_forward(o, C, q, 3 * C, q + C, 3 * C, q + 2 * C, 3 * C,
			                     N, M, H, D, 0, mask, NULL);
		else
			dc_attention_forward(o, C, q, C, k, C, v, C, N, M, H, D, 0, mask, NULL);
		CHECK_CLOSE(o, want, (size_t)N * C, 3e-5, 1e-4);
		printf("# golden %s: max |diff| %.3g\n", name, max_abs_diff(o, want, (size_t)N * C));
		free(o);
	}
	free(q); free(k); free(v); free(mask); free(want);
}

TEST(golden_torch)
{
	golden_case("self", 64, 64, 2, 72, 0, 1);
	golden_case("cross", 77, 120, 2, 64, 0, 0);
	golden_case("masked", 40, 300, 1, 72, 1, 0);
}

int main(void)
{
	RUN(vexp_vs_libm);
	RUN(odd_sizes);
	RUN(large_scores_online_softmax);
	RUN(additive_mask);
	RUN(key_valid);
	RUN(all_keys_masked_gives_zeros);
	RUN(self_attention_layout);
	RUN(cross_attention_120);
	RUN(thread_count_independent);
	RUN(golden_torch);
	return test_summary();
}
