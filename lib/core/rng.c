/*
 * rng.c - counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11).
 *
 * Output is a pure function of (seed, stream, counter), so a fill can be
 * split across any number of threads and still give the same bytes.  Each
 * Philox call yields four 32-bit words; element i of a fill uses counter
 * (offset + i) / 4 and word (offset + i) % 4 for uniforms, and for normals
 * a Box-Muller pair taken from counter (offset + i) / 2.
 */
#include "core.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void dc_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
	uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
	uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
	for (int r = 0; r < 10; r++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static inline float u24(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

void dc_rng_uniform(uint64_t seed, uint64_t stream, uint64_t offset, float *out, size_t n)
{
	#pragma omp parallel for schedule(static) num_threads(dc_threads()) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		uint64_t idx = offset + i;
		uint32_t w[4];
		dc_philox(seed, stream, idx >> 2, w);
		out[i] = u24(w[idx & 3]);
	}
}

void dc_rng_normal(uint64_t seed, uint64_t stream, uint64_t offset, float *out, size_t n)
{
	#pragma omp parallel for schedule(static) num_threads(dc_threads()) if (n > 32768)
	for (size_t i = 0; i < n; i++) {
		uint64_t idx = offset + i;
		uint32_t w[4];
		dc_philox(seed, stream, idx >> 1, w);
		/* u1 in (0,1], u2 in [0,1): two 32-bit words each for precision */
		double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967296.0);
		double u2 = (double)w[1] * (1.0 / 4294967296.0);
		double r = sqrt(-2.0 * log(u1));
		out[i] = (float)(idx & 1 ? r * sin(2.0 * M_PI * u2) : r * cos(2.0 * M_PI * u2));
	}
}
