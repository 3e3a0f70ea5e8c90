/*
 * bench_t5.c - the T5 encoder (lib/models/t5.c, f32) at the T5 v1.1-XXL
 * layer shape PixArt uses: d_model 4096, 64 heads x 64, d_ff 10240
 * (gated-gelu), 32 buckets / max distance 128; for tests/bench/t5.sh.
 *
 * Weights come from dc_t5_new_synthetic() (matrices sin(0.7 i)/sqrt(fan_in),
 * layer norms 1 + 0.1 sin(0.7 i), bias table 0.5 sin(0.7 i)), which
 * tests/bench/t5_torch.py rebuilds bit for bit.  BENCH_LAYERS (default 2)
 * distinct layers; the vocabulary is cut to 4096 rows (the embedding is a
 * row gather, its size costs nothing but memory).  Input: batch B (-b,
 * default 1) of T tokens, ids[i] = (7 i + 3) mod 4096, no padding.
 *
 * Usage: bench_t5 [-p] [-t threads] [-r runs] [-b batch] [-l label] [T...]
 * (T default 120).  Prints "RESULT label T min_ms median_ms GFLOP" for one
 * encode (embedding + BENCH_LAYERS layers + final norm), "CHECK label T
 * mean|out| out[0] out[1]" to compare with the peer, and with -p
 * "RESULT peak label GFLOP/s" (dc_sgemm 2048x4096x4096) and
 * "RESULT gemm label GFLOP/s" (dc_sgemm at a layer's widest GEMM,
 * 120 x 10240 x 4096).  Timings are reported, never asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ops/ops.h"
#include "models/t5.h"

#define VOCAB 4096

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double flops(const struct dc_t5_config *c, double B, double T)
{
	double N = B * T, D = c->d_model, I = (double)c->heads * c->d_kv, F = c->d_ff;
	double blk = N * 2 * D * I * 4 + N * 2 * D * F * (c->gated ? 3 : 2) + B * 4 * T * T * I;
	return c->layers * blk;
}

static double gemm_rate(int m, int n, int k, int T)
{
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
	dc_free(A); dc_free(B); dc_free(C);
	return 2.0 * m * n * k / best * 1e-9;
}

int main(int argc, char **argv)
{
	int threads = 2, runs = 3, do_peak = 0, batch = 1, toks[8], nt = 0;
	const char *label = "ours";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p")) do_peak = 1;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-b") && i + 1 < argc) batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-l") && i + 1 < argc) label = argv[++i];
		else if (nt < 8) toks[nt++] = atoi(argv[i]);
	}
	if (runs < 1 || runs > 100) runs = 3;
	if (batch < 1 || batch > 64) batch = 1;
	dc_set_threads(threads);
	if (do_peak) {
		printf("RESULT peak %s %.1f\n", label, gemm_rate(2048, 4096, 4096, threads));
		printf("RESULT gemm %s %.1f\n", label, gemm_rate(120, 10240, 4096, threads));
		fflush(stdout);
		if (!nt) return 0;
	}
	if (!nt) { toks[0] = 120; nt = 1; }

	struct dc_t5_config cfg = { .vocab = VOCAB, .d_model = 4096, .d_kv = 64, .heads = 64,
	                            .d_ff = 10240, .layers = 2, .buckets = 32,
	                            .max_distance = 128, .eps = 1e-6f, .gated = 1,
	                            .act = DC_T5_GELU_TANH };
	const char *L = getenv("BENCH_LAYERS");
	if (L && atoi(L) > 0) cfg.layers = atoi(L);
	struct dc_t5 *t5;
	double t0 = dc_time();
	if (dc_t5_new_synthetic(&t5, &cfg)) {
		fprintf(stderr, "bench_t5: %s\n", dc_errmsg());
		return 1;
	}
	fprintf(stderr, "# %s: synthetic weights (%d layers) in %.1f s\n", label, cfg.layers,
	        dc_time() - t0);
	for (int ti = 0; ti < nt; ti++) {
		int T = toks[ti];
		size_t n = (size_t)batch * T, no = n * cfg.d_model;
		int32_t *ids = malloc(n * sizeof *ids);
		float *out = malloc(no * sizeof *out);
		if (!ids || !out || T < 1) return 1;
		for (size_t i = 0; i < n; i++) ids[i] = (int32_t)((7 * i + 3) % VOCAB);
		double ts[100];
		if (dc_t5_encode(t5, batch, T, ids, NULL, out)) {   /* warm-up */
			fprintf(stderr, "bench_t5: %s\n", dc_errmsg());
			return 1;
		}
		for (int r = 0; r < runs; r++) {
			double s = dc_time();
			dc_t5_encode(t5, batch, T, ids, NULL, out);
			ts[r] = dc_time() - s;
		}
		qsort(ts, runs, sizeof *ts, cmp);
		double m = 0;
		for (size_t i = 0; i < no; i++) m += fabs(out[i]);
		printf("RESULT %s %d %.1f %.1f %.2f\n", label, T, ts[0] * 1e3, ts[runs / 2] * 1e3,
		       flops(&cfg, batch, T) * 1e-9);
		printf("CHECK %s %d %.6g %.6g %.6g\n", label, T, m / no, out[0], out[1]);
		fflush(stdout);
		free(ids);
		free(out);
	}
	dc_t5_free(t5);
	return 0;
}
