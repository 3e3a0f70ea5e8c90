/*
 * attention.c - multi-head softmax attention with an explicit N x N
 * probability matrix per head, forward and backward (TSLib FullAttention
 * with attention dropout; the q/k/v/out projections are dc_nn_linear).
 *
 * Work is split over (batch, head) pairs; each pair writes only its own
 * rows and columns, so no reduction crosses threads.  Dropout on the
 * probabilities uses the dc_nn_dropout mask at index ((b*H + h)*N + i)*N + j.
 */
#include "nn.h"

#include <math.h>
#include <string.h>

#define MCHUNK 256

/* keep[j] = dropout multiplier of row element j (j0 <= j < j0+len) */
static void row_keep(float *keep, size_t len, float p, uint64_t seed, uint64_t stream,
                     uint64_t index)
{
	if (p <= 0.0f) {
		for (size_t j = 0; j < len; j++)
			keep[j] = 1.0f;
		return;
	}
	dc_nn_dropout_mask(keep, len, p, seed, stream, index);
}

void dc_nn_attention_forward(float *out, float *prob, const float *q, const float *k,
                             const float *v, int B, int N, int H, int D, float scale,
                             float p, uint64_t seed, uint64_t stream)
{
	int C = H * D;
	if (scale <= 0.0f)
		scale = 1.0f / sqrtf((float)D);
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * H * N * N * D >= 65536)
	for (int bh = 0; bh < B * H; bh++) {
		int b = bh / H, h = bh % H;
		const float *qb = q + (size_t)b * N * C + (size_t)h * D;
		const float *kb = k + (size_t)b * N * C + (size_t)h * D;
		const float *vb = v + (size_t)b * N * C + (size_t)h * D;
		float *ob = out + (size_t)b * N * C + (size_t)h * D;
		float *P = prob + (size_t)bh * N * N;
		float keep[MCHUNK];
		for (int i = 0; i < N; i++) {
			const float *qi = qb + (size_t)i * C;
			float *Pi = P + (size_t)i * N;
			float mx = -INFINITY;
			for (int j = 0; j < N; j++) {
				const float *kj = kb + (size_t)j * C;
				float s = 0;
#pragma omp simd reduction(+ : s)
				for (int e = 0; e < D; e++)
					s += qi[e] * kj[e];
				s *= scale;
				Pi[j] = s;
				mx = s > mx ? s : mx;
			}
			float sum = 0;
			for (int j = 0; j < N; j++) {
				Pi[j] = expf(Pi[j] - mx);
				sum += Pi[j];
			}
			float inv = 1.0f / sum;
			for (int j = 0; j < N; j++)
				Pi[j] *= inv;
			float *oi = ob + (size_t)i * C;
			memset(oi, 0, (size_t)D * sizeof *oi);
			for (int j0 = 0; j0 < N; j0 += MCHUNK) {
				int len = N - j0 < MCHUNK ? N - j0 : MCHUNK;
				row_keep(keep, (size_t)len, p, seed, stream,
				         ((uint64_t)bh * N + i) * N + j0);
				for (int jj = 0; jj < len; jj++) {
					float a = Pi[j0 + jj] * keep[jj];
					if (a == 0.0f)
						continue;
					const float *vj = vb + (size_t)(j0 + jj) * C;
#pragma omp simd
					for (int e = 0; e < D; e++)
						oi[e] += a * vj[e];
				}
			}
		}
	}
}

void dc_nn_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                              const float *dout, const float *prob, const float *q,
                              const float *k, const float *v, int B, int N, int H, int D,
                              float scale, float p, uint64_t seed, uint64_t stream)
{
	int C = H * D;
	if (scale <= 0.0f)
		scale = 1.0f / sqrtf((float)D);
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * H * N * N * D >= 65536)
	for (int bh = 0; bh < B * H; bh++) {
		int b = bh / H, h = bh % H;
		size_t off = (size_t)b * N * C + (size_t)h * D;
		const float *qb = q + off, *kb = k + off, *vb = v + off, *gb = dout + off;
		float *dqb = dq + off, *dkb = dk + off, *dvb = dv + off;
		const float *P = prob + (size_t)bh * N * N;
		float *dS = scratch + (size_t)bh * N * N;
		float keep[MCHUNK];
		for (int i = 0; i < N; i++) {
			memset(dqb + (size_t)i * C, 0, (size_t)D * sizeof(float));
			memset(dkb + (size_t)i * C, 0, (size_t)D * sizeof(float));
			memset(dvb + (size_t)i * C, 0, (size_t)D * sizeof(float));
		}
		for (int i = 0; i < N; i++) {
			const float *gi = gb + (size_t)i * C, *Pi = P + (size_t)i * N;
			float *dSi = dS + (size_t)i * N;
			// dA_ij = dout_i . v_j ; dv_j += A_ij dout_i ; dP_ij = keep_ij dA_ij
			for (int j0 = 0; j0 < N; j0 += MCHUNK) {
				int len = N - j0 < MCHUNK ? N - j0 : MCHUNK;
				row_keep(keep, (size_t)len, p, seed, stream,
				         ((uint64_t)bh * N + i) * N + j0);
				for (int jj = 0; jj < len; jj++) {
					int j = j0 + jj;
					const float *vj = vb + (size_t)j * C;
					float *dvj = dvb + (size_t)j * C;
					float s = 0;
#pragma omp simd reduction(+ : s)
					for (int e = 0; e < D; e++)
						s += gi[e] * vj[e];
					dSi[j] = s * keep[jj];
					float a = Pi[j] * keep[jj];
#pragma omp simd
					for (int e = 0; e < D; e++)
						dvj[e] += a * gi[e];
				}
			}
			// softmax backward: dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)
			float dot = 0;
			for (int j = 0; j < N; j++)
				dot += Pi[j] * dSi[j];
			for (int j = 0; j < N; j++)
				dSi[j] = Pi[j] * (dSi[j] - dot) * scale;
			// dq_i = sum_j dS_ij k_j ; dk_j += dS_ij q_i
			float *dqi = dqb + (size_t)i * C;
			const float *qi = qb + (size_t)i * C;
			for (int j = 0; j < N; j++) {
				float s = dSi[j];
				const float *kj = kb + (size_t)j * C;
				float *dkj = dkb + (size_t)j * C;
#pragma omp simd
				for (int e = 0; e < D; e++) {
					dqi[e] += s * kj[e];
					dkj[e] += s * qi[e];
				}
			}
		}
	}
}
