/*
 * bench_dit.c - one whole PixArt-alpha DiT forward (lib/models/pixart.c,
 * batch 1, f32) at the PixArt-XL-2 shape: hidden 1152, 16 heads x 72,
 * 28 layers, MLP 4608, patch 2, caption 4096 -> 1152 with 120 text tokens,
 * micro-conditions on; for tests/bench/dit.sh.
 *
 * Weights come from dc_pixart_new_synthetic() (each tensor
 * W[i] = sin(0.7 i)/sqrt(fan_in), vectors 0.02 sin(0.7 i); 28 distinct
 * blocks, 2.4 GB f32), which tests/bench/dit_torch.py rebuilds bit for bit;
 * inputs likewise: latents[i] = sin(0.3 i), text[i] = 0.5 sin(0.11 i),
 * t = 500, resolution = image size, aspect 1, all 120 tokens kept.
 *
 * Usage: bench_dit [-p] [-t threads] [-r runs] [-l label] [-P precs] [SIDE...]
 * SIDE is the image side in pixels (default 512 1024; latent = SIDE/8,
 * tokens = (SIDE/16)^2).  Prints "RESULT label tokens min_ms median_ms GFLOP",
 * "CHECK label tokens mean|out| out[0] out[1]" (to compare with the peer),
 * and with -p "RESULT peak label GFLOP/s" for dc_sgemm at 4096x4608x1152.
 * -P is a comma list of block precisions (f32, bf16, int8; default f32;
 * dc_pixart_set_precision): each runs every SIDE, labelled label-bf16 etc.
 * (f32 keeps `label`), and every reduced one prints "ERR label tokens
 * max|d|/max|f32| rms(d)/rms(f32)" against the f32 output of the same run
 * (so f32 must come first to get ERR lines) and "PACK label seconds MB".
 * With -p and a reduced precision also "RESULT peak-bf16 label GFLOP/s"
 * (dc_gemm_wpack, bf16 weights, same shape) and, on AVX512-BF16 CPUs,
 * "RESULT peak-dp label GFLOP/s": vdpbf16ps throughput from registers (24
 * independent accumulators a thread, no memory), the instruction peak.
 * Timings are reported, never asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ops/ops.h"
#include "models/pixart.h"

#define T_TOK 120

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double flops(const struct dc_pixart_config *c, double N)
{
	double D = c->hidden, F = c->ff, T = T_TOK, L = c->layers;
	double blk = N * (2 * 4 * D * D + 2 * 2 * D * D + 2 * 2 * D * F)   /* linears */
	           + 2 * T * 2 * D * D                                      /* cross k, v */
	           + 4 * N * N * D + 4 * N * T * D;                         /* attention */
	return L * blk + T * 2 * (c->caption_channels * D + D * D)
	       + N * 2 * (D * 16 + D * 32);
}

static void peak(const char *label, int T)
{
	int m = 4096, n = 4608, k = 1152;
	float *A = dc_alloc((size_t)m * k * 4), *B = dc_alloc((size_t)n * k * 4),
	      *C = dc_alloc((size_t)m * n * 4);
	if (!A || !B || !C)
		exit(1);
	for (size_t i = 0; i < (size_t)m * k; i++) A[i] = (float)sin(0.1 * i);
	for (size_t i = 0; i < (size_t)n * k; i++) B[i] = (float)sin(0.2 * i);
	double best = 1e9;
	for (int r = 0; r < 4; r++) {
		double t0 = dc_time();
		dc_sgemm(0, 1, m, n, k, 1, A, k, B, k, 0, C, n, T);
		double t = dc_time() - t0;
		if (t < best) best = t;
	}
	printf("RESULT peak %s %.1f\n", label, 2.0 * m * n * k / best * 1e-9);
	dc_free(A); dc_free(B); dc_free(C);
}

/* 24 chains of vdpbf16ps per thread, from registers: the instruction peak */
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 10)
#include <immintrin.h>
__attribute__((target("avx512f,avx512bf16"), noinline)) static float dp_loop(long iters, float seed)
{
	__m512 acc[24];
	/* pairs of 1.0 and 2^-20: normal numbers, the sums stay small */
	__m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x35803580);
	for (int i = 0; i < 24; i++)
		acc[i] = _mm512_set1_ps(seed * i);
	for (long it = 0; it < iters; it++) {
		__asm__ volatile("" : "+v"(a), "+v"(b));
#pragma GCC unroll 24
		for (int i = 0; i < 24; i++)
			acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
	}
	__m512 s = acc[0];
	for (int i = 1; i < 24; i++)
		s = _mm512_add_ps(s, acc[i]);
	return _mm512_reduce_add_ps(s);
}

static void dp_peak(const char *label, int T)
{
	long iters = 4000000;
	double best = 1e9;
	volatile float sink = 0;
	for (int r = 0; r < 3; r++) {
		double t0 = dc_time();
		#pragma omp parallel num_threads(T)
		{
			float v = dp_loop(iters, 1.0f);
			#pragma omp atomic
			sink += v;
		}
		double t = dc_time() - t0;
		if (t < best) best = t;
	}
	printf("RESULT peak-dp %s %.1f\n", label, 24.0 * 64 * iters * T / best * 1e-9);
}
#else
static void dp_peak(const char *label, int T) { (void)label; (void)T; }
#endif

static void peak_bf16(const char *label, int T)
{
	int m = 4096, n = 4608, k = 1152;
	float *A = dc_alloc((size_t)m * k * 4), *B = dc_alloc((size_t)n * k * 4),
	      *C = dc_alloc((size_t)m * n * 4);
	struct dc_wpack w;
	if (!A || !B || !C)
		exit(1);
	for (size_t i = 0; i < (size_t)m * k; i++) A[i] = (float)sin(0.1 * i);
	for (size_t i = 0; i < (size_t)n * k; i++) B[i] = (float)sin(0.2 * i);
	if (dc_wpack_init(&w, DC_PREC_BF16, n, k) || dc_wpack_set_f32(&w, 0, n, B, k)) {
		fprintf(stderr, "bench_dit: %s\n", dc_errmsg());
		exit(1);
	}
	double best = 1e9;
	for (int r = 0; r < 4; r++) {
		double t0 = dc_time();
		dc_gemm_wpack(C, n, A, k, &w, NULL, m, 0, T);
		double t = dc_time() - t0;
		if (t < best) best = t;
	}
	printf("RESULT peak-bf16 %s %.1f\n", label, 2.0 * m * n * k / best * 1e-9);
	dc_wpack_release(&w);
	dc_free(A); dc_free(B); dc_free(C);
	if (dc_bf16_hw())
		dp_peak(label, T);
}

static const char *prec_name[] = { "f32", "bf16", "int8" };

int main(int argc, char **argv)
{
	int threads = 2, runs = 3, do_peak = 0, sides[8], ns = 0, precs[3] = { 0 }, np = 0;
	const char *label = "ours", *plist = "f32";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p")) do_peak = 1;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-l") && i + 1 < argc) label = argv[++i];
		else if (!strcmp(argv[i], "-P") && i + 1 < argc) plist = argv[++i];
		else if (ns < 8) sides[ns++] = atoi(argv[i]);
	}
	if (runs < 1 || runs > 100) runs = 3;
	for (const char *q = plist; *q && np < 3; ) {
		size_t len = strcspn(q, ",");
		int k = -1;
		for (int j = 0; j < 3; j++)
			if (strlen(prec_name[j]) == len && !strncmp(q, prec_name[j], len)) k = j;
		if (k < 0) {
			fprintf(stderr, "bench_dit: -P: unknown precision in '%s'\n", plist);
			return 2;
		}
		precs[np++] = k;
		q += len + (q[len] == ',');
	}
	dc_set_threads(threads);
	if (do_peak) {
		peak(label, threads);
		for (int j = 0; j < np; j++)
			if (precs[j]) { peak_bf16(label, threads); break; }
		if (!ns) return 0;
	}
	if (!ns) { sides[0] = 512; sides[1] = 1024; ns = 2; }

	struct dc_pixart_config cfg = { .heads = 16, .head_dim = 72, .in_channels = 4,
	                                .out_channels = 8, .layers = 28, .patch = 2,
	                                .sample_size = 128, .caption_channels = 4096,
	                                .micro_conditions = 1, .interpolation_scale = 2,
	                                .norm_eps = 1e-6f };
	const char *L = getenv("BENCH_LAYERS");
	if (L && atoi(L) > 0) cfg.layers = atoi(L);
	struct dc_pixart *p;
	double t0 = dc_time();
	if (dc_pixart_new_synthetic(&p, &cfg)) {
		fprintf(stderr, "bench_dit: %s\n", dc_errmsg());
		return 1;
	}
	fprintf(stderr, "# %s: synthetic weights (%d layers) in %.1f s\n", label, cfg.layers,
	        dc_time() - t0);
	float *text = malloc((size_t)T_TOK * 4096 * sizeof *text);
	for (size_t i = 0; i < (size_t)T_TOK * 4096; i++) text[i] = 0.5f * (float)sin(0.11 * i);
	float *ref[8] = { 0 };   /* f32 output per side */
	for (int pi = 0; pi < np; pi++) {
		char lab[96];
		int prec = precs[pi];
		snprintf(lab, sizeof lab, prec ? "%s-%s" : "%s", label, prec_name[prec]);
		if (prec) {
			t0 = dc_time();
			if (dc_pixart_set_precision(p, (enum dc_precision)prec)) {
				fprintf(stderr, "bench_dit: %s\n", dc_errmsg());
				return 1;
			}
			/* the packed bytes: 7 matrices a block, from dc_wpack_bytes */
			double D = cfg.heads * cfg.head_dim, mb = 0;
			int shp[7][2] = { { 3, 1 }, { 1, 1 }, { 1, 1 }, { 2, 1 }, { 1, 1 }, { 4, 1 }, { 1, 4 } };
			for (int j = 0; j < 7; j++)
				mb += (double)dc_wpack_bytes((enum dc_precision)prec, (int)(shp[j][0] * D),
				                             (int)(shp[j][1] * D)) +
				      (prec == DC_PREC_INT8 ? 4.0 * shp[j][0] * D : 0);
			printf("PACK %s %.2f %.0f\n", lab, dc_time() - t0, mb * cfg.layers / 1e6);
		}
		for (int si = 0; si < ns; si++) {
			int side = sides[si], lat = side / 8, N = (lat / 2) * (lat / 2);
			size_t nl = (size_t)4 * lat * lat, no = (size_t)8 * lat * lat;
			float *x = malloc(nl * sizeof *x), *out = malloc(no * sizeof *out);
			for (size_t i = 0; i < nl; i++) x[i] = (float)sin(0.3 * i);
			float res[2] = { (float)side, (float)side }, ar[1] = { 1.0f };
			struct dc_pixart_input in = { .batch = 1, .height = lat, .width = lat, .latents = x,
			                              .timestep = 500, .text_len = T_TOK, .text = text,
			                              .resolution = res, .aspect_ratio = ar };
			struct dc_arena a;
			if (dc_arena_init(&a, dc_pixart_scratch_bytes(p, 1, lat, lat, T_TOK, 0))) return 1;
			double ts[100];
			if (dc_pixart_forward(p, &in, out, &a)) {   /* warm-up (pos cache, page-in) */
				fprintf(stderr, "bench_dit: %s\n", dc_errmsg());
				return 1;
			}
			for (int r = 0; r < runs; r++) {
				double s = dc_time();
				dc_pixart_forward(p, &in, out, &a);
				ts[r] = dc_time() - s;
			}
			qsort(ts, runs, sizeof *ts, cmp);
			double m = 0;
			for (size_t i = 0; i < no; i++) m += fabs(out[i]);
			printf("RESULT %s %d %.1f %.1f %.2f\n", lab, N, ts[0] * 1e3, ts[runs / 2] * 1e3,
			       flops(dc_pixart_config(p), N) * 1e-9);
			printf("CHECK %s %d %.6g %.6g %.6g\n", lab, N, m / no, out[0], out[1]);
			if (!prec && !ref[si]) {
				ref[si] = out;
				out = NULL;
			} else if (prec && ref[si]) {
				double mx = 0, md = 0, sd = 0, sr = 0;
				for (size_t i = 0; i < no; i++) {
					double d = fabs((double)out[i] - ref[si][i]);
					mx = fmax(mx, fabs(ref[si][i]));
					md = d > md || d != d ? d : md;
					sd += d * d;
					sr += (double)ref[si][i] * ref[si][i];
				}
				printf("ERR %s %d %.3g %.3g\n", lab, N, md / mx, sqrt(sd / sr));
			}
			fflush(stdout);
			dc_arena_release(&a);
			free(x);
			free(out);
		}
	}
	for (int si = 0; si < ns; si++)
		free(ref[si]);
	free(text);
	dc_pixart_free(p);
	return 0;
}
