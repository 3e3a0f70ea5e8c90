/*
 * bench_block.c - one PixArt-alpha transformer block forward (batch 1, f32)
 * on libdiffcore kernels, timed with dc_time(), for tests/bench/run.
 *
 * The block (adaLN-single, as diffusers' BasicTransformerBlock with
 * norm_type "ada_norm_single"): shift/scale/gate vectors given,
 *   h = LN(x) * (1 + scale_msa) + shift_msa
 *   x = x + gate_msa * proj(selfattn(qkv(h)))          qkv 1152 -> 3456, 16 x 72
 *   x = x + proj2(crossattn(q(x), kv(cond)))           cond [120][1152]
 *   h = LN(x) * (1 + scale_mlp) + shift_mlp
 *   x = x + gate_mlp * fc2(gelu_tanh(fc1(h)))          1152 -> 4608 -> 1152
 * LayerNorm without affine, eps 1e-6; every linear layer has a bias.
 *
 * Usage: bench_block [-p] [-t threads] [-r runs] [-l label] [N...]
 * (default: 2 threads, 5 runs, label "ours", N = 1024 4096 unless -p).
 * Prints "RESULT label N min_ms median_ms GFLOP", the BLIS kernel set in
 * use and a time breakdown (linear / attention / rest); -p adds the
 * measured peaks ("RESULT peak ..." for BLIS sgemm at 2048^3 and
 * 4096x4608x1152, and a register-only AVX-512 FMA loop) for the table
 * tests/bench/run prints.
 * Timings are reported, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>   /* only to name the kernel set BLIS picked */

#include "core/core.h"
#include "ops/ops.h"

#define C 1152
#define HEADS 16
#define HD 72
#define CT 120      /* text tokens */
#define FF 4608

struct block {
	float *Wqkv, *bqkv, *Wo, *bo;          /* self-attention */
	float *Wq, *bq, *Wkv, *bkv, *Wo2, *bo2; /* cross-attention */
	float *W1, *b1, *W2, *b2;              /* MLP */
	float *mod;                            /* 6 x C: shift/scale/gate msa, mlp */
};

struct acts {
	float *x, *h, *qkv, *att, *o, *q, *kv, *cond, *ff;
};

struct times { double lin, att, rest; };

static const char *label = "ours";

static float *randn(size_t n, float sd, uint64_t stream)
{
	float *p = dc_alloc(n * sizeof *p);
	if (!p) {
		fprintf(stderr, "bench_block: out of memory\n");
		exit(1);
	}
	dc_rng_normal(42, stream, 0, p, n);
	for (size_t i = 0; i < n; i++)
		p[i] *= sd;
	return p;
}

static void modulate(float *h, const float *shift, const float *scale, int N)
{
#pragma omp parallel for num_threads(dc_threads())
	for (int i = 0; i < N; i++)
		for (int c = 0; c < C; c++)
			h[(size_t)i * C + c] = h[(size_t)i * C + c] * (1.0f + scale[c]) + shift[c];
}

static void residual(float *x, const float *gate, const float *h, int N)
{
#pragma omp parallel for num_threads(dc_threads())
	for (int i = 0; i < N; i++)
		for (int c = 0; c < C; c++)
			x[(size_t)i * C + c] += (gate ? gate[c] : 1.0f) * h[(size_t)i * C + c];
}

#define LAP(field) do { double t_ = dc_time(); tm->field += t_ - t0; t0 = t_; } while (0)

static void block_forward(const struct block *w, struct acts *a, int N, struct times *tm)
{
	const float *shift_msa = w->mod, *scale_msa = w->mod + C, *gate_msa = w->mod + 2 * C;
	const float *shift_mlp = w->mod + 3 * C, *scale_mlp = w->mod + 4 * C;
	const float *gate_mlp = w->mod + 5 * C;
	double t0 = dc_time();

	dc_layernorm_forward(a->h, a->x, NULL, NULL, N, C, 1e-6f);
	modulate(a->h, shift_msa, scale_msa, N);
	LAP(rest);
	dc_linear_forward(a->qkv, a->h, w->Wqkv, w->bqkv, N, C, 3 * C);
	LAP(lin);
	dc_attention_forward(a->att, C, a->qkv, 3 * C, a->qkv + C, 3 * C, a->qkv + 2 * C, 3 * C,
	                     N, N, HEADS, HD, 0.0f, NULL, NULL);
	LAP(att);
	dc_linear_forward(a->o, a->att, w->Wo, w->bo, N, C, C);
	LAP(lin);
	residual(a->x, gate_msa, a->o, N);
	LAP(rest);

	dc_linear_forward(a->q, a->x, w->Wq, w->bq, N, C, C);
	dc_linear_forward(a->kv, a->cond, w->Wkv, w->bkv, CT, C, 2 * C);
	LAP(lin);
	dc_attention_forward(a->att, C, a->q, C, a->kv, 2 * C, a->kv + C, 2 * C,
	                     N, CT, HEADS, HD, 0.0f, NULL, NULL);
	LAP(att);
	dc_linear_forward(a->o, a->att, w->Wo2, w->bo2, N, C, C);
	LAP(lin);
	residual(a->x, NULL, a->o, N);

	dc_layernorm_forward(a->h, a->x, NULL, NULL, N, C, 1e-6f);
	modulate(a->h, shift_mlp, scale_mlp, N);
	LAP(rest);
	dc_linear_forward(a->ff, a->h, w->W1, w->b1, N, C, FF);
	LAP(lin);
	dc_gelu_tanh_forward(a->ff, a->ff, (size_t)N * FF);
	LAP(rest);
	dc_linear_forward(a->o, a->ff, w->W2, w->b2, N, FF, C);
	LAP(lin);
	residual(a->x, gate_mlp, a->o, N);
	LAP(rest);
}

/* FLOPs: 2mnk per GEMM, 4*N*M*C for each attention (two matmuls) */
static double block_flops(double N, double *lin, double *att)
{
	*lin = 2 * N * C * 3 * C + 2 * N * C * C            /* qkv, proj */
	     + 2 * N * C * C + 2.0 * CT * C * 2 * C + 2 * N * C * C  /* q, kv, proj */
	     + 2 * 2 * N * C * FF;                          /* fc1, fc2 */
	*att = 4 * N * N * C + 4 * N * CT * C;
	return *lin + *att;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_n(const struct block *w, int N, int runs)
{
	struct acts a;
	a.x = randn((size_t)N * C, 1.0f, 100);
	a.cond = randn((size_t)CT * C, 1.0f, 101);
	a.h = randn((size_t)N * C, 0, 102);
	a.qkv = randn((size_t)N * 3 * C, 0, 103);
	a.att = randn((size_t)N * C, 0, 104);
	a.o = randn((size_t)N * C, 0, 105);
	a.q = randn((size_t)N * C, 0, 106);
	a.kv = randn((size_t)CT * 2 * C, 0, 107);
	a.ff = randn((size_t)N * FF, 0, 108);
	float *x0 = randn((size_t)N * C, 1.0f, 100);

	struct times warm = { 0, 0, 0 }, tsum = { 0, 0, 0 };
	block_forward(w, &a, N, &warm);
	double *t = malloc((size_t)runs * sizeof *t);
	for (int r = 0; r < runs; r++) {
		memcpy(a.x, x0, (size_t)N * C * sizeof(float));
		struct times tm = { 0, 0, 0 };
		double t0 = dc_time();
		block_forward(w, &a, N, &tm);
		t[r] = dc_time() - t0;
		tsum.lin += tm.lin; tsum.att += tm.att; tsum.rest += tm.rest;
	}
	double chk = 0;
	for (size_t i = 0; i < (size_t)N * C; i++)
		chk += a.x[i];
	qsort(t, (size_t)runs, sizeof *t, cmp_double);
	double lin, att, fl = block_flops(N, &lin, &att);
	double tot = tsum.lin + tsum.att + tsum.rest;
	printf("RESULT %s %d %.1f %.1f %.2f\n", label, N, t[0] * 1e3, t[runs / 2] * 1e3, fl * 1e-9);
	printf("# %s N=%d: min %.1f ms, median %.1f ms, %.1f GFLOP/s (checksum %.4g)\n",
	       label, N, t[0] * 1e3, t[runs / 2] * 1e3, fl / t[0] * 1e-9, chk);
	printf("#   breakdown (mean): linear %.1f ms (%.0f%%, %.1f GFLOP/s), attention %.1f ms "
	       "(%.0f%%, %.1f GFLOP/s), rest %.1f ms (%.0f%%)\n",
	       tsum.lin / runs * 1e3, 100 * tsum.lin / tot, lin / (tsum.lin / runs) * 1e-9,
	       tsum.att / runs * 1e3, 100 * tsum.att / tot, att / (tsum.att / runs) * 1e-9,
	       tsum.rest / runs * 1e3, 100 * tsum.rest / tot);
	printf("RESULT breakdown %s %d %.1f %.1f %.1f\n", label, N, tsum.lin / runs * 1e3,
	       tsum.att / runs * 1e3, tsum.rest / runs * 1e3);
	fflush(stdout);
	free(t);
	dc_free(a.x); dc_free(a.cond); dc_free(a.h); dc_free(a.qkv); dc_free(a.att);
	dc_free(a.o); dc_free(a.q); dc_free(a.kv); dc_free(a.ff); dc_free(x0);
}

static void bench_sgemm(int m, int n, int k, int runs)
{
	float *A = randn((size_t)m * k, 1, 1), *B = randn((size_t)k * n, 1, 2);
	float *Cm = randn((size_t)m * n, 0, 3);
	double best = 1e30;
	for (int r = 0; r < runs + 1; r++) {
		double t0 = dc_time();
		dc_sgemm(0, 0, m, n, k, 1.0f, A, k, B, n, 0.0f, Cm, n, 0);
		double t = dc_time() - t0;
		if (r > 0 && t < best)
			best = t;
	}
	printf("RESULT peak %s sgemm_%dx%dx%d %.1f\n", label, m, n, k, 2.0 * m * n * k / best * 1e-9);
	printf("# BLIS sgemm %dx%dx%d: %.1f ms, %.1f GFLOP/s\n", m, n, k, best * 1e3,
	       2.0 * m * n * k / best * 1e-9);
	dc_free(A); dc_free(B); dc_free(Cm);
}

#ifdef __AVX512F__
#include <immintrin.h>
/* register-only FMA throughput: 12 independent chains per thread */
static void bench_fma_peak(void)
{
	long iters = 20000000;
	double best = 1e30;
	for (int r = 0; r < 3; r++) {
		double t0 = dc_time(), sink = 0;
#pragma omp parallel num_threads(dc_threads()) reduction(+:sink)
		{
			__m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
			for (int i = 0; i < 12; i++)
				a[i] = _mm512_set1_ps((float)i);
			for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
				for (int i = 0; i < 12; i++)
					a[i] = _mm512_fmadd_ps(a[i], m, c);
			for (int i = 0; i < 12; i++)
				sink += _mm512_reduce_add_ps(a[i]);
		}
		double t = dc_time() - t0;
		if (t < best)
			best = t;
		if (sink == 12345.0)
			printf("#\n");
	}
	double fl = 2.0 * 16 * 12 * iters * dc_threads();
	printf("RESULT peak %s fma512 %.1f\n", label, fl / best * 1e-9);
	printf("# AVX-512 FMA loop (registers only, %d threads): %.1f GFLOP/s\n",
	       dc_threads(), fl / best * 1e-9);
}
#endif

int main(int argc, char **argv)
{
	int threads = 2, runs = 5, ns[8], nn = 0, peaks = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-p"))
			peaks = 1;
		else if (!strcmp(argv[i], "-l") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (nn < 8 && atoi(argv[i]) > 0)
			ns[nn++] = atoi(argv[i]);
		else {
			fprintf(stderr, "usage: bench_block [-p] [-t threads] [-r runs] [-l label] [N...]\n");
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	if (nn == 0 && !peaks) {
		ns[nn++] = 1024;
		ns[nn++] = 4096;
	}
	dc_set_threads(threads);
	printf("# bench_block: %d threads, %d runs\n", dc_threads(), runs);

	struct block w;
	w.Wqkv = randn((size_t)3 * C * C, 0.02f, 1); w.bqkv = randn(3 * C, 0.02f, 2);
	w.Wo = randn((size_t)C * C, 0.02f, 3);       w.bo = randn(C, 0.02f, 4);
	w.Wq = randn((size_t)C * C, 0.02f, 5);       w.bq = randn(C, 0.02f, 6);
	w.Wkv = randn((size_t)2 * C * C, 0.02f, 7);  w.bkv = randn(2 * C, 0.02f, 8);
	w.Wo2 = randn((size_t)C * C, 0.02f, 9);      w.bo2 = randn(C, 0.02f, 10);
	w.W1 = randn((size_t)FF * C, 0.02f, 11);     w.b1 = randn(FF, 0.02f, 12);
	w.W2 = randn((size_t)C * FF, 0.02f, 13);     w.b2 = randn(C, 0.02f, 14);
	w.mod = randn(6 * C, 0.1f, 15);

	float one = 1.0f, out = 0.0f;
	dc_sgemm(0, 0, 1, 1, 1, 1.0f, &one, 1, &one, 1, 0.0f, &out, 1, 1);   /* inits BLIS */
	printf("RESULT blis_arch %s %s\n", label, bli_arch_string(bli_arch_query_id()));
	printf("# BLIS %s, kernel set '%s' (BLIS_ARCH_TYPE=%s)\n", bli_info_get_version_str(),
	       bli_arch_string(bli_arch_query_id()),
	       getenv("BLIS_ARCH_TYPE") ? getenv("BLIS_ARCH_TYPE") : "unset");
	fflush(stdout);
	for (int i = 0; i < nn; i++)
		bench_n(&w, ns[i], runs);
	if (peaks) {
		bench_sgemm(2048, 2048, 2048, 3);
		bench_sgemm(4096, 4608, 1152, 3);
#ifdef __AVX512F__
		bench_fma_peak();
#endif
	}
	return 0;
}
