/*
 * gemm.c - single-precision GEMM through BLIS, with an explicit per-call
 * thread count (an rntm_t), so that calls made from inside an OpenMP
 * parallel region do not oversubscribe the cores; and nn.Linear on top.
 */
#include "ops.h"

/* blis.h trips -Wextra (static helpers, unsigned compares); not ours */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <blis.h>
#pragma GCC diagnostic pop

#include <stdlib.h>

/*
 * Debian's BLIS 0.9 does not recognise newer AVX-512 CPUs (AMD family 26,
 * "Zen 5") and falls back to its portable "generic" kernels: about 42
 * GFLOP/s a core instead of about 208 with its Skylake-X kernels, measured
 * on 2048^3.  BLIS reads BLIS_ARCH_TYPE once, at its first call, so at
 * library load time (single-threaded, before any BLIS call) we select the
 * AVX-512 kernels (arch id 0, BLIS_ARCH_SKX) when the CPU has AVX-512F and
 * the user has not chosen an architecture.  DIFFCORE_BLIS_AUTO=0 disables
 * this.
 */
__attribute__((constructor)) static void dc_blis_pick_arch(void)
{
	const char *off = getenv("DIFFCORE_BLIS_AUTO");
	if (off && off[0] == '0')
		return;
	if (getenv("BLIS_ARCH_TYPE"))
		return;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
		setenv("BLIS_ARCH_TYPE", "0", 0);
}

/*
 * Below GEMM_PAR_MIN multiply-adds (m n k; about 100^3) a product runs on one
 * thread: its threads' start and barriers cost more than they save, and on
 * a machine busy with other work each barrier waits for a time slice (a
 * small iTransformer fit on 2 threads beside another 2-thread job: 1.6 s,
 * 0.47 s with this).  BLIS splits only m and n among threads, never k, so
 * the result is the same bit for bit on any thread count.
 */
#ifndef GEMM_PAR_MIN
#define GEMM_PAR_MIN 1048576.0
#endif

void dc_sgemm(int trans_a, int trans_b, int m, int n, int k,
              float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc, int nthreads)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	if (m <= 0 || n <= 0)
		return;
	if (nthreads <= 0)
		nthreads = dc_threads();
	if ((double)m * n * k < GEMM_PAR_MIN)
		nthreads = 1;
	bli_rntm_set_num_threads(nthreads, &rntm);
	/* row-major: row stride = ld, column stride = 1 */
	bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
	             trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
	             m, n, k, &alpha, (float *)A, lda, 1, (float *)B, ldb, 1,
	             &beta, C, ldc, 1, NULL, &rntm);
}

void dc_linear_forward(float *y, const float *x, const float *W, const float *b,
                       int N, int IC, int OC)
{
	// y[N][OC] = x[N][IC] . W[OC][IC]^T (+ b[OC])
	if (N <= 0 || OC <= 0)
		return;
	if (b) {
		int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)N * OC >= 65536 && N > 1)
		for (int i = 0; i < N; i++) {
			float *yi = y + (size_t)i * OC;
#pragma omp simd
			for (int o = 0; o < OC; o++)
				yi[o] = b[o];
		}
	}
	dc_sgemm(0, 1, N, OC, IC, 1.0f, x, IC, W, IC, b ? 1.0f : 0.0f, y, OC, 0);
}
