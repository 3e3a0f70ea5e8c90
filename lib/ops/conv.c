/*
 * conv.c - 1-D and 2-D convolution forward (cross-correlation, as torch),
 * f32, zero padding, stride, dilation, groups (depthwise included).
 *
 * conv1d: when a group's GEMM is big enough, y += W[:, :, k] . shift_k(x)
 * for each tap k, one BLIS GEMM per (batch, group, tap) on strided views of
 * W and x (BLIS takes general row/column strides, so neither im2col nor
 * scratch is needed; padding just narrows each tap's output range).
 * Otherwise (depthwise, tiny groups) a direct loop over (batch, channel).
 *
 * conv2d: with scratch, im2col of one group of one image into
 * scratch[(IC/groups)*KH*KW][OH*OW] and a BLIS GEMM (1x1/stride-1/no-pad
 * kernels skip im2col and multiply x directly); without scratch, or for
 * depthwise-like groups, a direct loop over (batch, channel) whose inner
 * loop runs over contiguous output columns.
 *
 * Threads: GEMMs get dc_threads() threads when called one at a time, or 1
 * thread each inside an OpenMP loop over (batch, group) when there are at
 * least as many of those as threads.  Each output element's sum is formed
 * in the same order whatever the thread count (BLIS does not split the
 * reduction dimension), so results do not depend on the thread count.
 */
#include "ops.h"

#include <stdint.h>
/* blis.h trips -Wextra (static helpers, unsigned compares); not ours */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <blis.h>
#pragma GCC diagnostic pop

/* C = A . B + beta C with general strides; A m x k, B k x n, C m x n. */
static void gemm_gs(int m, int n, int k, const float *A, inc_t rsa, inc_t csa,
                    const float *B, inc_t rsb, inc_t csb, float beta,
                    float *C, inc_t rsc, int nthreads)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;
	float one = 1.0f;
	if (m <= 0 || n <= 0 || k <= 0)
		return;
	bli_rntm_set_num_threads(nthreads, &rntm);
	bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one,
	             (float *)A, rsa, csa, (float *)B, rsb, csb, &beta, C, rsc, 1,
	             NULL, &rntm);
}

/* Output positions t in [*lo, *hi] whose input t*stride + off lies in
 * [0, len_in); empty when *lo > *hi. */
static void tap_range(int off, int stride, int len_in, int len_out, int *lo, int *hi)
{
	*lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
	*hi = len_in - 1 - off < 0 ? -1 : (len_in - 1 - off) / stride;
	if (*hi > len_out - 1)
		*hi = len_out - 1;
}

static void fill_bias(float *y, const float *b, int rows, size_t len)
{
	for (int r = 0; r < rows; r++) {
		float v = b ? b[r] : 0.0f;
		float *yr = y + (size_t)r * len;
#pragma omp simd
		for (size_t t = 0; t < len; t++)
			yr[t] = v;
	}
}

/* ---- conv1d ------------------------------------------------------------------ */

static void conv1d_direct_row(float *yo, const float *xb, const float *wr, float bias,
                              int icg, int L, int Lout, int K, int stride, int pad, int dil)
{
	for (int t = 0; t < Lout; t++)
		yo[t] = bias;
	for (int ic = 0; ic < icg; ic++) {
		const float *xr = xb + (size_t)ic * L;
		const float *wk = wr + (size_t)ic * K;
		for (int k = 0; k < K; k++) {
			int off = k * dil - pad, t0, t1;
			float wv = wk[k];
			tap_range(off, stride, L, Lout, &t0, &t1);
			if (t0 > t1)
				continue;
			if (stride == 1) {
				const float *xs = xr + (t0 + off);   /* in bounds: t0 + off >= 0 */
				float *ys = yo + t0;
				int len = t1 - t0 + 1;
#pragma omp simd
				for (int t = 0; t < len; t++)
					ys[t] += wv * xs[t];
			} else {
				for (int t = t0; t <= t1; t++)
					yo[t] += wv * xr[(ptrdiff_t)t * stride + off];
			}
		}
	}
}

/* one (batch, group) slice by per-tap GEMMs */
static void conv1d_gemm_group(float *yg, const float *xg, const float *Wg, const float *bg,
                              int icg, int ocg, int L, int Lout, int K,
                              int stride, int pad, int dil, int nthreads)
{
	fill_bias(yg, bg, ocg, (size_t)Lout);
	for (int k = 0; k < K; k++) {
		int off = k * dil - pad, t0, t1;
		tap_range(off, stride, L, Lout, &t0, &t1);
		if (t0 > t1)
			continue;
		/* yg[:, t0..t1] += Wg[:, :, k] . xg[:, t0*stride+off : stride] */
		gemm_gs(ocg, t1 - t0 + 1, icg, Wg + k, (inc_t)icg * K, K,
		        xg + (ptrdiff_t)t0 * stride + off, L, stride, 1.0f,
		        yg + t0, Lout, nthreads);
	}
}

void dc_conv1d_forward(float *y, const float *x, const float *W, const float *b,
                       int B, int IC, int L, int OC, int K,
                       int stride, int pad, int dil, int groups)
{
	if (B <= 0 || IC <= 0 || OC <= 0 || K <= 0 || stride <= 0 || dil <= 0 ||
	    groups <= 0 || IC % groups || OC % groups)
		return;
	int Lout = (L + 2 * pad - dil * (K - 1) - 1) / stride + 1;
	if (L + 2 * pad - dil * (K - 1) - 1 < 0 || Lout <= 0)
		return;
	int icg = IC / groups, ocg = OC / groups, nt = dc_threads();

	if (ocg >= 4 && icg * K >= 8) {
		int nbg = B * groups;
		if (nbg >= nt && nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
			for (int bg = 0; bg < nbg; bg++) {
				int bb = bg / groups, g = bg % groups;
				conv1d_gemm_group(y + ((size_t)bb * OC + (size_t)g * ocg) * Lout,
				                  x + ((size_t)bb * IC + (size_t)g * icg) * L,
				                  W + (size_t)g * ocg * icg * K, b ? b + (size_t)g * ocg : NULL,
				                  icg, ocg, L, Lout, K, stride, pad, dil, 1);
			}
		} else {
			for (int bg = 0; bg < nbg; bg++) {
				int bb = bg / groups, g = bg % groups;
				conv1d_gemm_group(y + ((size_t)bb * OC + (size_t)g * ocg) * Lout,
				                  x + ((size_t)bb * IC + (size_t)g * icg) * L,
				                  W + (size_t)g * ocg * icg * K, b ? b + (size_t)g * ocg : NULL,
				                  icg, ocg, L, Lout, K, stride, pad, dil, nt);
			}
		}
		return;
	}
	long nbo = (long)B * OC;
#pragma omp parallel for num_threads(nt) schedule(static) if (nbo > 1 && nbo * Lout * icg * K >= 16384)
	for (long bo = 0; bo < nbo; bo++) {
		int bb = (int)(bo / OC), oc = (int)(bo % OC), g = oc / ocg;
		conv1d_direct_row(y + (size_t)bo * Lout, x + ((size_t)bb * IC + (size_t)g * icg) * L,
		                  W + (size_t)oc * icg * K, b ? b[oc] : 0.0f,
		                  icg, L, Lout, K, stride, pad, dil);
	}
}

/* ---- conv2d ------------------------------------------------------------------ */

size_t dc_conv2d_scratch(int IC, int OH, int OW, int KH, int KW, int groups)
{
	size_t n;
	if (IC <= 0 || OH <= 0 || OW <= 0 || KH <= 0 || KW <= 0 || groups <= 0)
		return 0;
	if (dc_mul_size((size_t)(IC / groups), (size_t)KH * KW, &n) ||
	    dc_mul_size(n, (size_t)OH * OW, &n))
		return SIZE_MAX;       /* cannot be allocated: callers see ENOMEM */
	return n;
}

/* one output plane y[OH][OW] for channel oc of one image, direct */
static void conv2d_direct_plane(float *yp, const float *xb, const float *wr, float bias,
                                int icg, int H, int Wd, int OH, int OW, int KH, int KW,
                                int sh, int sw, int ph, int pw, int dh, int dw)
{
	size_t plane = (size_t)OH * OW;
	for (size_t t = 0; t < plane; t++)
		yp[t] = bias;
	for (int ic = 0; ic < icg; ic++) {
		const float *xp = xb + (size_t)ic * H * Wd;
		for (int kh = 0; kh < KH; kh++) {
			int offh = kh * dh - ph, oh0, oh1;
			tap_range(offh, sh, H, OH, &oh0, &oh1);
			for (int kw = 0; kw < KW; kw++) {
				int offw = kw * dw - pw, ow0, ow1;
				float wv = wr[((size_t)ic * KH + kh) * KW + kw];
				tap_range(offw, sw, Wd, OW, &ow0, &ow1);
				if (ow0 > ow1)
					continue;
				int len = ow1 - ow0 + 1;
				for (int oh = oh0; oh <= oh1; oh++) {
					/* first valid input of this row: never before xp */
					const float *xr = xp + (size_t)((ptrdiff_t)oh * sh + offh) * Wd +
					                  (size_t)((ptrdiff_t)ow0 * sw + offw);
					float *yr = yp + (size_t)oh * OW + ow0;
					if (sw == 1) {
#pragma omp simd
						for (int i = 0; i < len; i++)
							yr[i] += wv * xr[i];
					} else {
						for (int i = 0; i < len; i++)
							yr[i] += wv * xr[(ptrdiff_t)i * sw];
					}
				}
			}
		}
	}
}

/* col[(ic*KH+kh)*KW+kw][oh*OW+ow] = x[ic][oh*sh-ph+kh*dh][ow*sw-pw+kw*dw] or 0 */
static void im2col(float *col, const float *xg, int icg, int H, int Wd, int OH, int OW,
                   int KH, int KW, int sh, int sw, int ph, int pw, int dh, int dw, int nt)
{
	int rows = icg * KH * KW;
	size_t plane = (size_t)OH * OW;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && (size_t)rows * plane >= 32768)
	for (int r = 0; r < rows; r++) {
		int ic = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW;
		int offh = kh * dh - ph, offw = kw * dw - pw, oh0, oh1, ow0, ow1;
		const float *xp = xg + (size_t)ic * H * Wd;
		float *cr = col + (size_t)r * plane;
		tap_range(offh, sh, H, OH, &oh0, &oh1);
		tap_range(offw, sw, Wd, OW, &ow0, &ow1);
		for (int oh = 0; oh < OH; oh++) {
			float *c = cr + (size_t)oh * OW;
			if (oh < oh0 || oh > oh1 || ow0 > ow1) {
				for (int ow = 0; ow < OW; ow++)
					c[ow] = 0.0f;
				continue;
			}
			const float *xr = xp + (size_t)((ptrdiff_t)oh * sh + offh) * Wd +
			                  (size_t)((ptrdiff_t)ow0 * sw + offw);
			int len = ow1 - ow0 + 1;
			for (int ow = 0; ow < ow0; ow++)
				c[ow] = 0.0f;
			if (sw == 1) {
#pragma omp simd
				for (int i = 0; i < len; i++)
					c[ow0 + i] = xr[i];
			} else {
				for (int i = 0; i < len; i++)
					c[ow0 + i] = xr[(ptrdiff_t)i * sw];
			}
			for (int ow = ow1 + 1; ow < OW; ow++)
				c[ow] = 0.0f;
		}
	}
}

void dc_conv2d_forward(float *y, const float *x, const float *W, const float *b,
                       int B, int IC, int H, int Wd, int OC, int KH, int KW,
                       int sh, int sw, int ph, int pw, int dh, int dw, int groups,
                       float *scratch)
{
	if (B <= 0 || IC <= 0 || OC <= 0 || KH <= 0 || KW <= 0 || sh <= 0 || sw <= 0 ||
	    dh <= 0 || dw <= 0 || groups <= 0 || IC % groups || OC % groups)
		return;
	int eh = H + 2 * ph - dh * (KH - 1) - 1, ew = Wd + 2 * pw - dw * (KW - 1) - 1;
	if (eh < 0 || ew < 0)
		return;
	int OH = eh / sh + 1, OW = ew / sw + 1;
	int icg = IC / groups, ocg = OC / groups, nt = dc_threads();
	size_t plane = (size_t)OH * OW, inplane = (size_t)H * Wd;
	int kk = icg * KH * KW;

	if (scratch && ocg >= 4 && kk >= 4) {
		int pointwise = KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
		for (int bb = 0; bb < B; bb++) {
			for (int g = 0; g < groups; g++) {
				const float *xg = x + ((size_t)bb * IC + (size_t)g * icg) * inplane;
				float *yg = y + ((size_t)bb * OC + (size_t)g * ocg) * plane;
				const float *Wg = W + (size_t)g * ocg * kk;
				const float *bg = b ? b + (size_t)g * ocg : NULL;
				const float *col = xg;
				if (!pointwise) {
					im2col(scratch, xg, icg, H, Wd, OH, OW, KH, KW, sh, sw,
					       ph, pw, dh, dw, nt);
					col = scratch;
				}
				/* yg[ocg][plane] = Wg[ocg][kk] . col[kk][plane] + bias */
				if (bg)
					fill_bias(yg, bg, ocg, plane);
				gemm_gs(ocg, (int)plane, kk, Wg, kk, 1, col, (inc_t)plane, 1,
				        bg ? 1.0f : 0.0f, yg, (inc_t)plane, nt);
			}
		}
		return;
	}
	long nbo = (long)B * OC;
#pragma omp parallel for num_threads(nt) schedule(static) if (nbo > 1 && (size_t)nbo * plane * kk >= 16384)
	for (long bo = 0; bo < nbo; bo++) {
		int bb = (int)(bo / OC), oc = (int)(bo % OC), g = oc / ocg;
		conv2d_direct_plane(y + (size_t)bo * plane,
		                    x + ((size_t)bb * IC + (size_t)g * icg) * inplane,
		                    W + (size_t)oc * kk, b ? b[oc] : 0.0f,
		                    icg, H, Wd, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw);
	}
}
